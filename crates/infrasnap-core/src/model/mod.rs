//! Source-specific records, SDK-free: what the index stores per resource, so that diff and
//! restore can work without any SDK. One file per source.

pub mod s3;
