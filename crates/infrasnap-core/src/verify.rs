//! `verify`: prove a whole snapshot. Its seal first (seal.rs), then every file the seal lists
//! (index, catalog, metadata, MANIFEST.md), then every blob and tree file against the intact
//! index; files present that neither the seal nor the index names are reported as planted.
//! One damaged file is one problem.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::Serialize;

use crate::error::{CoreError, Result};
use crate::ids::{BlobId, SnapshotName};
use crate::index::{self, TreeEntry};
use crate::keypath::is_contained;
use crate::repo::Repository;
use crate::seal::{FileCheck, Seal, SealError, SEAL_FILE};
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
    /// `snapshot_metadata.json` is missing or unreadable (in a snapshot without a seal).
    BadMetadata,
    /// The seal (`snapshot_seal.json`) is missing or damaged.
    BadSeal,
    /// A file the seal lists (index, catalog, metadata, MANIFEST.md) is gone.
    MissingSealedFile,
    /// A file the seal lists differs from what was sealed (edited, cut short, swapped lines).
    ModifiedSealedFile,
    /// A file neither the seal nor the index names.
    PlantedFile,
    /// An index line names a path that leaves the snapshot folder (it is not followed).
    BadPath,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob: Option<BlobId>,
    pub detail: String,
    /// A tree file that still holds the intact bytes of a missing or damaged blob: the blob can
    /// be re-linked from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relink_from: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub snapshot: String,
    pub files_checked: u64,
    pub bytes_checked: u64,
    /// `sealed`, `unsealed` (written before seals existed), or `damaged` (its seal is).
    pub seal: SealState,
    pub problems: Vec<Problem>,
    /// What was not checked, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SealState {
    Sealed,
    Unsealed,
    Damaged,
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

/// Verify one snapshot. `cache` may be shared across snapshots. A snapshot whose metadata or
/// seal is missing or damaged is verified as far as it can be and reported damaged.
pub fn verify_snapshot(
    repo: &Repository,
    name: &SnapshotName,
    cache: &mut BlobCache,
    mut on_file: impl FnMut(u64),
) -> Result<VerifyReport> {
    let dir = repo.snapshot_dir(name);
    if !dir.is_dir() {
        return Err(CoreError::SnapshotNotFound {
            name: name.to_string(),
            repo: repo.root().to_path_buf(),
        });
    }
    let store = repo.store();
    let mut report = VerifyReport {
        snapshot: name.to_string(),
        files_checked: 0,
        bytes_checked: 0,
        seal: SealState::Sealed,
        problems: Vec::new(),
        notes: Vec::new(),
    };
    let problem = |kind, path: &str, detail: String| Problem {
        kind,
        path: path.to_string(),
        blob: None,
        detail,
        relink_from: None,
    };
    let meta_path = dir.join("snapshot_metadata.json");
    let meta = if meta_path.exists() {
        repo.metadata(name).map_err(|e| e.to_string())
    } else {
        Err("snapshot_metadata.json is missing".to_string())
    };
    let sealed_by_meta = meta.as_ref().map(|m| m.seal.is_some()).unwrap_or(true);
    let seal = match Seal::read(&dir) {
        Ok(s) => Some(s),
        Err(SealError::Missing) if !sealed_by_meta => {
            report.seal = SealState::Unsealed;
            report.notes.push(
                "unsealed (older): written before seals existed, so its index, catalog, metadata \
                 and MANIFEST.md are not proven and planted files are not looked for"
                    .into(),
            );
            None
        }
        Err(e) => {
            report.seal = SealState::Damaged;
            report
                .problems
                .push(problem(ProblemKind::BadSeal, SEAL_FILE, e.to_string()));
            None
        }
    };
    // The metadata: through the seal when there is one (one problem for one file).
    if let (Err(why), None) = (&meta, &seal) {
        report.problems.push(problem(
            ProblemKind::BadMetadata,
            "snapshot_metadata.json",
            why.clone(),
        ));
    }

    // Every sealed file, then the index files to read.
    let mut damaged_index = false;
    let index_files: Vec<String> = match &seal {
        Some(seal) => {
            let mut v = Vec::new();
            for rel in seal.files.keys() {
                match seal.check_file(&dir, rel) {
                    FileCheck::Intact => {
                        if rel.starts_with("index/") && rel.ends_with(".jsonl") {
                            v.push(rel.clone());
                        }
                    }
                    FileCheck::Missing => {
                        damaged_index |= rel.starts_with("index/");
                        report.problems.push(problem(
                            ProblemKind::MissingSealedFile,
                            rel,
                            "a file the seal lists is gone".into(),
                        ));
                    }
                    FileCheck::NotSealed => {}
                    FileCheck::Damaged(why) => {
                        damaged_index |= rel.starts_with("index/");
                        report.problems.push(problem(
                            ProblemKind::ModifiedSealedFile,
                            rel,
                            format!("differs from the seal: {why}"),
                        ));
                    }
                }
            }
            v
        }
        None => index::index_files(&dir)?
            .iter()
            .map(|p| rel(&dir, p))
            .collect(),
    };
    if damaged_index {
        report.notes.push(
            "a damaged index file is not read: the tree files it lists are not checked, and \
             files it would list are not reported as planted"
                .into(),
        );
    }

    let mut listed: HashSet<String> = HashSet::new();
    // Blob problems, reported once per blob, with a tree file to re-link from where one holds
    // the intact bytes.
    let mut blob_problems: BTreeMap<BlobId, Problem> = BTreeMap::new();
    for file_rel in &index_files {
        let file = dir.join(file_rel);
        let entries: Vec<TreeEntry> = match index::read_all(&file) {
            Ok(e) => e,
            Err(e) => {
                damaged_index = true;
                report
                    .problems
                    .push(problem(ProblemKind::BadIndex, file_rel, e.to_string()));
                continue;
            }
        };
        for e in entries {
            report.files_checked += 1;
            on_file(report.files_checked);
            if !is_contained(&e.path) {
                report.problems.push(problem(
                    ProblemKind::BadPath,
                    &e.path,
                    format!(
                        "{file_rel} names a path that leaves the snapshot; it was not followed"
                    ),
                ));
                continue;
            }
            listed.insert(e.path.clone());
            let tree = dir.join(&e.path);
            if e.dir_marker {
                if !tree.is_dir() {
                    report.problems.push(problem(
                        ProblemKind::MissingFile,
                        &e.path,
                        "folder marker missing".into(),
                    ));
                }
                continue;
            }
            let blob_state = check_blob(store, &e.blob, cache, &mut report.bytes_checked);
            if blob_state != BlobState::Good && !blob_problems.contains_key(&e.blob) {
                blob_problems.insert(
                    e.blob,
                    Problem {
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
                            "the blob's content no longer matches its hash (damaged on disk, or a \
                             tree file sharing it was edited in place)"
                                .into()
                        },
                        relink_from: None,
                    },
                );
            }
            // Never follow a symlink planted in place of a tree file.
            let Ok(tm) = std::fs::symlink_metadata(&tree) else {
                report.problems.push(Problem {
                    blob: Some(e.blob),
                    ..problem(
                        ProblemKind::MissingFile,
                        &e.path,
                        "the tree file is missing".into(),
                    )
                });
                continue;
            };
            let same_inode = std::fs::metadata(store.path(&e.blob))
                .map(|bm| bm.ino() == tm.ino() && bm.dev() == tm.dev())
                .unwrap_or(false);
            if same_inode {
                // One file on disk: the blob's problem (if any) is the only one.
                continue;
            }
            let tree_ok =
                tm.is_file() && matches!(BlobStore::hash_file(&tree), Ok((h, _)) if h == e.blob);
            if tree_ok {
                if let Some(p) = blob_problems.get_mut(&e.blob) {
                    if p.relink_from.is_none() {
                        p.relink_from = Some(e.path.clone());
                        p.detail.push_str(&format!(
                            "; the tree file `{}` still holds its intact bytes: the blob can be \
                             re-linked from it",
                            e.path
                        ));
                    }
                }
            } else {
                report.problems.push(Problem {
                    blob: Some(e.blob),
                    ..problem(
                        ProblemKind::ModifiedFile,
                        &e.path,
                        if tm.is_symlink() {
                            "the tree file was replaced by a symbolic link".into()
                        } else {
                            "the tree file's content differs from what was captured".into()
                        },
                    )
                });
            }
        }
    }
    report.problems.extend(blob_problems.into_values());

    // Planted files: present, but named by neither the seal nor an intact index.
    if let Some(seal) = &seal {
        for f in crate::seal::all_files(&dir)? {
            if f == SEAL_FILE || seal.files.contains_key(&f) || listed.contains(&f) {
                continue;
            }
            let in_index_folders = f.starts_with("index/") || f.starts_with("catalog/");
            if damaged_index && !in_index_folders {
                continue;
            }
            report.problems.push(problem(
                ProblemKind::PlantedFile,
                &f,
                "neither the seal nor the index names this file; it was not captured by \
                 infrasnap"
                    .into(),
            ));
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

/// What `infrasnap repair` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RepairReport {
    /// One line per blob or tree file put right.
    pub repaired: Vec<String>,
    /// What is still damaged after the repair, from a verify run after it.
    pub not_repaired: Vec<Problem>,
}

/// Write the blob `blob` again from `src` (intact bytes found elsewhere: a tree file, or the
/// live object), moving a damaged blob of that name aside to `.infrasnap/tmp/quarantine/` first
/// (never deleted). `Ok(false)` when `src` does not hash to `blob` (nothing is replaced then
/// but the damaged blob, which stays aside). Needs the repository's lock.
pub fn write_blob_again(
    repo: &Repository,
    blob: &BlobId,
    src: &mut dyn std::io::Read,
    size: Option<u64>,
) -> Result<bool> {
    let store = repo.store();
    let dest = store.path(blob);
    if std::fs::symlink_metadata(&dest).is_ok() {
        let q = repo.root().join(".infrasnap/tmp/quarantine");
        crate::repo::create_private_dir_all(&q)?;
        let aside = q.join(format!(
            "{}-{}",
            blob.to_hex(),
            crate::repo::random_suffix()
        ));
        std::fs::rename(&dest, &aside)
            .map_err(|e| CoreError::io("move damaged blob aside", &dest, e))?;
    }
    let mut w = store.writer_sized(size)?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = std::io::Read::read(src, &mut buf).map_err(|e| CoreError::io("read", &dest, e))?;
        if n == 0 {
            break;
        }
        w.write_all(&buf[..n])?;
    }
    Ok(w.finish()?.id == *blob)
}

/// The S3 objects (current objects of `index/s3_buckets/<bucket>.jsonl`, in any snapshot) whose
/// content is one of `blobs`: `(bucket, record)`, the newest snapshot's record first, one per
/// blob. What `infrasnap repair` may fetch again from the live bucket.
pub fn s3_sources(
    repo: &Repository,
    blobs: &HashSet<BlobId>,
) -> Result<Vec<(String, crate::model::s3::S3ObjectRecord)>> {
    let mut out = Vec::new();
    let mut found: HashSet<BlobId> = HashSet::new();
    let mut names: Vec<String> = repo.entries()?.into_iter().map(|e| e.name).collect();
    names.reverse();
    for name in names {
        let dir = repo.root().join(&name);
        let Ok(files) = crate::seal::sealable_files(&dir) else {
            continue;
        };
        for rel in files {
            let Some(bucket) = rel
                .rsplit_once("index/s3_buckets/")
                .and_then(|(_, f)| f.strip_suffix(".jsonl"))
            else {
                continue;
            };
            let Ok(text) = std::fs::read_to_string(dir.join(&rel)) else {
                continue;
            };
            for line in text.lines() {
                let Ok(rec) = serde_json::from_str::<crate::model::s3::S3ObjectRecord>(line) else {
                    continue;
                };
                if blobs.contains(&rec.blob) && !rec.delete_marker && found.insert(rec.blob) {
                    out.push((bucket.to_string(), rec));
                }
            }
        }
    }
    Ok(out)
}

/// Put right what `reports` (from [`verify_snapshot`], ideally of every snapshot) found, where
/// intact bytes exist in the repository: a missing or damaged blob is written again from a tree
/// file that still holds its intact bytes (in any snapshot verified); then every tree file whose
/// blob is intact but that is missing, or differs from it, is linked from the blob again. Needs
/// the repository's lock. A damaged blob is moved aside to `.infrasnap/tmp/quarantine/`, never
/// deleted. What cannot be repaired this way (no intact copy anywhere, damaged index or seal) is
/// listed; a new snapshot downloads again the objects whose blobs are missing.
pub fn repair(
    repo: &Repository,
    _lock: &crate::repo::RepoLock,
    reports: &[VerifyReport],
) -> Result<RepairReport> {
    let store = repo.store();
    let mut out = RepairReport::default();
    // 1. Blobs, from the first intact tree file found for each.
    let mut done: HashSet<BlobId> = HashSet::new();
    for r in reports {
        let dir = repo.root().join(&r.snapshot);
        for p in &r.problems {
            let (Some(blob), Some(from)) = (p.blob, &p.relink_from) else {
                continue;
            };
            if !matches!(p.kind, ProblemKind::MissingBlob | ProblemKind::CorruptBlob)
                || !done.insert(blob)
            {
                continue;
            }
            let src = dir.join(from);
            if !is_contained(from) || !matches!(BlobStore::hash_file(&src), Ok((h, _)) if h == blob)
            {
                done.remove(&blob);
                continue;
            }
            let mut f = std::fs::File::open(&src).map_err(|e| CoreError::io("open", &src, e))?;
            let size = f.metadata().map(|m| m.len()).ok();
            if write_blob_again(repo, &blob, &mut f, size)? {
                out.repaired.push(format!(
                    "blob {} written again from {}/{from}",
                    blob.to_hex(),
                    r.snapshot
                ));
            } else {
                done.remove(&blob);
            }
        }
    }
    // 2. Tree files, from their (now) intact blobs: verify again to find them, as a damaged
    // blob's hard links only show once the blob is whole again.
    let mut cache = BlobCache::default();
    for r in reports {
        let Ok(name) = r.snapshot.parse::<SnapshotName>() else {
            continue;
        };
        let again = verify_snapshot(repo, &name, &mut cache, |_| {})?;
        let dir = repo.snapshot_dir(&name);
        for p in &again.problems {
            let Some(blob) = p.blob else { continue };
            if !matches!(p.kind, ProblemKind::ModifiedFile | ProblemKind::MissingFile)
                || !is_contained(&p.path)
                || check_blob(store, &blob, &mut cache, &mut 0) != BlobState::Good
            {
                continue;
            }
            let tree = dir.join(&p.path);
            if std::fs::symlink_metadata(&tree).is_ok() {
                std::fs::remove_file(&tree).map_err(|e| CoreError::io("replace", &tree, e))?;
            }
            if let Some(parent) = tree.parent() {
                crate::repo::create_private_dir_all(parent)?;
            }
            store.link_to(&blob, &tree)?;
            out.repaired.push(format!(
                "{}/{} linked from its blob again",
                r.snapshot, p.path
            ));
        }
    }
    // 3. What is left.
    let mut cache = BlobCache::default();
    for r in reports {
        if let Ok(name) = r.snapshot.parse::<SnapshotName>() {
            let last = verify_snapshot(repo, &name, &mut cache, |_| {})?;
            out.not_repaired
                .extend(last.problems.into_iter().map(|mut p| {
                    p.path = format!("{}/{}", r.snapshot, p.path);
                    p
                }));
        }
    }
    Ok(out)
}
