//! S3: every bucket's configuration and every object, byte exact.

pub mod bucket_config;
pub mod collect;

pub use collect::{S3Collector, S3Options};
