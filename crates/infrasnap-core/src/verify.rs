//! `verify`: re-hash every blob and tree file of a snapshot against its index.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::ids::{BlobId, SnapshotName};
use crate::index::{self, TreeEntry};
use crate::repo::Repository;
use crate::store::BlobStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The blob a file needs is not in the store.
    MissingBlob,
    /// A blob's content no longer matches its name (bit rot, or a tree file edited in place,
    /// which with hard links changes the blob too).
    CorruptBlob,
    /// A tree file listed in the index is gone.
    MissingFile,
    /// A tree file's content differs from its blob.
    ModifiedFile,
    /// An index or metadata file cannot be read.
    BadIndex,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob: Option<BlobId>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub snapshot: String,
    pub files_checked: u64,
    pub bytes_checked: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Blobs already hashed in this verify run: verifying several snapshots hashes each blob once.
#[derive(Default)]
pub struct BlobCache {
    seen: HashMap<BlobId, BlobState>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BlobState {
    Good,
    Missing,
    Corrupt,
}

fn check_blob(store: &BlobStore, id: &BlobId, cache: &mut BlobCache, bytes: &mut u64) -> BlobState {
    if let Some(s) = cache.seen.get(id) {
        return *s;
    }
    let p = store.path(id);
    let st = match BlobStore::hash_file(&p) {
        Ok((h, size)) => {
            *bytes += size;
            if h == *id {
                BlobState::Good
            } else {
                BlobState::Corrupt
            }
        }
        Err(_) => BlobState::Missing,
    };
    cache.seen.insert(*id, st);
    st
}

/// Verify one snapshot. `cache` may be shared across snapshots.
pub fn verify_snapshot(
    repo: &Repository,
    name: &SnapshotName,
    cache: &mut BlobCache,
    mut on_file: impl FnMut(u64),
) -> Result<VerifyReport> {
    let _ = repo.metadata(name)?; // exists and parses
    let dir = repo.snapshot_dir(name);
    let store = repo.store();
    let mut report = VerifyReport {
        snapshot: name.to_string(),
        files_checked: 0,
        bytes_checked: 0,
        problems: Vec::new(),
    };
    let mut reported_blobs = std::collections::HashSet::new();
    for file in index::index_files(&dir)? {
        let entries: Vec<TreeEntry> = match index::read_all(&file) {
            Ok(e) => e,
            Err(e) => {
                report.problems.push(Problem {
                    kind: ProblemKind::BadIndex,
                    path: rel(&dir, &file),
                    blob: None,
                    detail: e.to_string(),
                });
                continue;
            }
        };
        for e in entries {
            report.files_checked += 1;
            on_file(report.files_checked);
            let tree = dir.join(&e.path);
            if e.dir_marker {
                if !tree.is_dir() {
                    report.problems.push(Problem {
                        kind: ProblemKind::MissingFile,
                        path: e.path.clone(),
                        blob: None,
                        detail: "folder marker missing".into(),
                    });
                }
                continue;
            }
            let blob_state = check_blob(store, &e.blob, cache, &mut report.bytes_checked);
            if blob_state != BlobState::Good && reported_blobs.insert(e.blob) {
                report.problems.push(Problem {
                    kind: if blob_state == BlobState::Missing {
                        ProblemKind::MissingBlob
                    } else {
                        ProblemKind::CorruptBlob
                    },
                    path: e.path.clone(),
                    blob: Some(e.blob),
                    detail: if blob_state == BlobState::Missing {
                        "the blob is missing from the store".into()
                    } else {
                        "the blob's content no longer matches its hash (damaged on disk, or a tree \
                         file sharing it was edited in place)"
                            .into()
                    },
                });
            }
            let Ok(tm) = std::fs::metadata(&tree) else {
                report.problems.push(Problem {
                    kind: ProblemKind::MissingFile,
                    path: e.path.clone(),
                    blob: Some(e.blob),
                    detail: "the tree file is missing".into(),
                });
                continue;
            };
            let same_inode = std::fs::metadata(store.path(&e.blob))
                .map(|bm| bm.ino() == tm.ino() && bm.dev() == tm.dev())
                .unwrap_or(false);
            let content_ok = if same_inode {
                blob_state == BlobState::Good
            } else {
                matches!(BlobStore::hash_file(&tree), Ok((h, _)) if h == e.blob)
            };
            if !content_ok && (!same_inode || blob_state == BlobState::Good) {
                report.problems.push(Problem {
                    kind: ProblemKind::ModifiedFile,
                    path: e.path.clone(),
                    blob: Some(e.blob),
                    detail: "the tree file's content differs from what was captured".into(),
                });
            } else if !content_ok {
                report.problems.push(Problem {
                    kind: ProblemKind::ModifiedFile,
                    path: e.path.clone(),
                    blob: Some(e.blob),
                    detail: "the tree file shares storage with a damaged blob".into(),
                });
            }
        }
    }
    Ok(report)
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}
