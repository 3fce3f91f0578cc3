//! infrasnap's collectors: the code that talks to each source (AWS services through the official
//! SDK, Google Apps Script through its REST API, local files) and hands what it reads to the
//! core's store and index. One folder per source; each AWS service behind a Cargo feature.

pub mod aws;
pub mod driver;
pub mod gas;
pub mod local;
pub mod registry;
pub mod restore;
