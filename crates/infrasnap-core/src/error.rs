//! Typed errors of the core. Each variant says what failed, where, and what to do about it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The cause is part of the message (not a separate `source`), so it is printed once.
    #[error("{op} `{}`: {err}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        err: std::io::Error,
    },

    #[error("invalid name `{name}`: {why}")]
    InvalidName { name: String, why: String },

    #[error(
        "the repository `{}` is locked by {holder}; wait for that run to finish, or pass --wait-lock to wait for it",
        repo.display()
    )]
    Locked { repo: PathBuf, holder: String },

    #[error("`{}` is not an infrasnap repository (no .infrasnap/repo.json); pass the right --repo, or run `infrasnap snapshot` to create one there", path.display())]
    NotARepository { path: PathBuf },

    #[error("the repository `{}` has format version {found}, this infrasnap reads version {supported}; upgrade infrasnap", path.display())]
    UnsupportedFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    #[error("a snapshot named `{name}` already exists in `{}`; choose another --label", repo.display())]
    SnapshotExists { name: String, repo: PathBuf },

    #[error("no snapshot named `{name}` in `{}`; `infrasnap list` shows the snapshots there", repo.display())]
    SnapshotNotFound { name: String, repo: PathBuf },

    /// A repository, `.infrasnap/` or key folder someone else could change.
    #[error("refusing `{}`: {why}", path.display())]
    Unsafe { path: PathBuf, why: String },

    #[error("cannot parse `{}` line {line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// Set once any write of this process found its disk full (ENOSPC, or a quota): the run driver
/// then publishes nothing, whatever the collectors made of their failed writes.
static STORAGE_FULL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// True when a write failed because the disk (or the user's quota) was full, since the last
/// [`reset_storage_full`].
pub fn storage_full_seen() -> bool {
    STORAGE_FULL.load(std::sync::atomic::Ordering::Relaxed)
}

/// Forget an earlier full disk (at the start of a run).
pub fn reset_storage_full() {
    STORAGE_FULL.store(false, std::sync::atomic::Ordering::Relaxed);
}

/// True for "no space left on device" and "disk quota exceeded".
pub fn is_storage_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

impl CoreError {
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        if is_storage_full(&source) {
            STORAGE_FULL.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        CoreError::Io {
            op,
            path: path.into(),
            err: source,
        }
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// Attach a path and an operation to an `io::Result`.
pub trait IoContext<T> {
    fn ctx(self, op: &'static str, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, op: &'static str, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| CoreError::io(op, path, e))
    }
}
