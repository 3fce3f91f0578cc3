//! infrasnap-core: the SDK-free heart of infrasnap.
//!
//! What lives here: typed ids, the content-addressed blob store, the snapshot repository (staging,
//! atomic publication, the lock), the index, key-to-path mapping, snapshot metadata and the
//! MANIFEST.md renderer, verification, progress counters, the resource catalog, and the diff and
//! log of snapshots (`diff`), retention policies (`retention`), prune of unreferenced blobs
//! (`prune`), the registry of running readers (`readers`), restore plans (`restore`), findings
//! (`findings`) and the HTML report (`report`). What must not: any cloud SDK. Its tests run in
//! seconds.
//!
//! ```no_run
//! use infrasnap_core::{repo::Repository, ids::SnapshotName};
//! let repo = Repository::open_or_init(std::path::Path::new("snapshots"))?;
//! let lock = repo.lock(None)?;
//! let staging = repo.begin(&"v1.0".parse::<SnapshotName>()?, &lock)?;
//! let blob = repo.store().put_bytes(b"hello")?;
//! # Ok::<(), infrasnap_core::error::CoreError>(())
//! ```

pub mod catalog;
pub mod config;
pub mod diff;
pub mod engine;
pub mod error;
pub mod findings;
pub mod ids;
pub mod index;
pub mod kept;
pub mod keychain;
pub mod keypath;
pub mod manifest;
pub mod md5lanes;
pub mod metadata;
pub mod model;
pub mod progress;
pub mod prune;
pub mod readers;
pub mod region;
pub mod repo;
pub mod report;
pub mod restore;
pub mod retention;
pub mod schedule;
pub mod seal;
pub mod secrets;
pub mod store;
pub mod verify;
