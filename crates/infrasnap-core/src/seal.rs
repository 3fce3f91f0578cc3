//! The seal of a snapshot: `snapshot_seal.json`, written last at publish, lists each of the
//! snapshot's own files (everything under `index/` and `catalog/`, `MANIFEST.md`,
//! `snapshot_metadata.json`) with its size and BLAKE3 hash. Tree files are proven by the index
//! lines that name their blobs; the index is proven by the seal. The seal carries a digest of its
//! own listing, so a damaged seal is told apart from the files it names.
//!
//! A snapshot written before seals existed (format 1, and format 2 before this build) has no seal
//! and no `seal` field in its metadata: it is *unsealed (older)*, not damaged. A snapshot whose
//! metadata names a seal that is missing or damaged is damaged.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{IoContext, Result};
use crate::ids::BlobId;
use crate::store::BlobStore;

/// The seal's file name, at the top of the snapshot folder.
pub const SEAL_FILE: &str = "snapshot_seal.json";
/// The folders whose every file the seal lists (with `MANIFEST.md` and the metadata).
pub const SEALED_DIRS: &[&str] = &["index", "catalog"];
/// Top-level files the seal lists.
pub const SEALED_FILES: &[&str] = &["MANIFEST.md", "manifest.json", "snapshot_metadata.json"];

/// One sealed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedFile {
    pub size: u64,
    pub blake3: BlobId,
}

/// `snapshot_seal.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seal {
    pub seal_version: u32,
    pub snapshot: String,
    /// Relative `/`-separated path -> size and hash, sorted by path.
    pub files: BTreeMap<String, SealedFile>,
    /// BLAKE3 of the listing (see [`Seal::listing_digest`]): a damaged seal is one problem.
    pub digest: BlobId,
}

impl Seal {
    fn listing_digest(snapshot: &str, files: &BTreeMap<String, SealedFile>) -> BlobId {
        let mut h = blake3::Hasher::new();
        h.update(snapshot.as_bytes());
        h.update(b"\n");
        for (p, f) in files {
            h.update(p.as_bytes());
            h.update(b"\0");
            h.update(f.size.to_string().as_bytes());
            h.update(b"\0");
            h.update(f.blake3.to_hex().as_bytes());
            h.update(b"\n");
        }
        BlobId::from_hash(h.finalize())
    }

    /// Hash the files of the snapshot folder `dir` that a seal lists.
    pub fn compute(dir: &Path, snapshot: &str) -> Result<Seal> {
        let mut files = BTreeMap::new();
        for rel in sealable_files(dir)? {
            let (blake3, size) = BlobStore::hash_file(&dir.join(&rel))?;
            files.insert(rel, SealedFile { size, blake3 });
        }
        let digest = Seal::listing_digest(snapshot, &files);
        Ok(Seal {
            seal_version: 1,
            snapshot: snapshot.to_string(),
            files,
            digest,
        })
    }

    /// Read and check the seal of `dir`: it parses and its digest matches its listing.
    pub fn read(dir: &Path) -> std::result::Result<Seal, SealError> {
        let p = dir.join(SEAL_FILE);
        let raw = match fs::read(&p) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(SealError::Missing),
            Err(e) => return Err(SealError::Damaged(format!("cannot read it: {e}"))),
        };
        let seal: Seal = serde_json::from_slice(&raw)
            .map_err(|e| SealError::Damaged(format!("it does not parse: {e}")))?;
        if Seal::listing_digest(&seal.snapshot, &seal.files) != seal.digest {
            return Err(SealError::Damaged(
                "its listing does not match its own digest (edited or damaged)".into(),
            ));
        }
        if seal.files.keys().any(|p| !crate::keypath::is_contained(p)) {
            return Err(SealError::Damaged(
                "it names a path that leaves the snapshot folder".into(),
            ));
        }
        Ok(seal)
    }

    /// Write the seal into `dir` (the last file of a snapshot).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("serialisable");
        bytes.push(b'\n');
        crate::repo::write_atomic(&dir.join(SEAL_FILE), &bytes)
    }

    /// Check one sealed file against the disk.
    pub fn check_file(&self, dir: &Path, rel: &str) -> FileCheck {
        let Some(want) = self.files.get(rel) else {
            return FileCheck::NotSealed;
        };
        match BlobStore::hash_file(&dir.join(rel)) {
            Ok((h, size)) if h == want.blake3 && size == want.size => FileCheck::Intact,
            Ok((_, size)) if size != want.size => FileCheck::Damaged(format!(
                "{size} bytes where the seal recorded {}",
                want.size
            )),
            Ok(_) => FileCheck::Damaged("its content differs from what was sealed".into()),
            Err(_) => FileCheck::Missing,
        }
    }
}

/// How one sealed file compares with the seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileCheck {
    Intact,
    Missing,
    Damaged(String),
    NotSealed,
}

/// Why a seal cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealError {
    Missing,
    Damaged(String),
}

impl std::fmt::Display for SealError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SealError::Missing => write!(f, "the seal ({SEAL_FILE}) is missing"),
            SealError::Damaged(why) => write!(f, "the seal ({SEAL_FILE}) is damaged: {why}"),
        }
    }
}

/// The files of `dir` a seal lists, relative and sorted: every regular file under `index/` and
/// `catalog/`, and `MANIFEST.md`, `manifest.json` and `snapshot_metadata.json` where present.
pub fn sealable_files(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for top in SEALED_FILES {
        if dir.join(top).is_file() {
            out.push(top.to_string());
        }
    }
    for top in SEALED_DIRS {
        let root = dir.join(top);
        if !root.is_dir() {
            continue;
        }
        let mut stack = vec![root];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).ctx("read folder", &d)? {
                let e = e.ctx("read folder", &d)?;
                let ft = e.file_type().ctx("stat", &e.path())?;
                if ft.is_dir() {
                    stack.push(e.path());
                } else {
                    out.push(rel(dir, &e.path()));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Every file (not folder) below `dir`, relative, `/`-separated; symlinks count as files.
pub fn all_files(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).ctx("read folder", &d)? {
            let e = e.ctx("read folder", &d)?;
            let ft = e.file_type().ctx("stat", &e.path())?;
            if ft.is_dir() {
                stack.push(e.path());
            } else {
                out.push(rel(dir, &e.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn rel(root: &Path, p: &Path) -> String {
    let r = p.strip_prefix(root).unwrap_or(p);
    r.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_lists_own_files_and_detects_each_change_once() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        fs::create_dir_all(dir.join("index/s3_buckets")).unwrap();
        fs::create_dir_all(dir.join("catalog")).unwrap();
        fs::create_dir_all(dir.join("s3_buckets/b")).unwrap();
        fs::write(dir.join("index/s3_buckets/b.jsonl"), "{}\n").unwrap();
        fs::write(dir.join("catalog/resources.jsonl"), "{}\n").unwrap();
        fs::write(dir.join("MANIFEST.md"), "# m\n").unwrap();
        fs::write(dir.join("snapshot_metadata.json"), "{}").unwrap();
        fs::write(dir.join("s3_buckets/b/tree-file"), "x").unwrap();
        let seal = Seal::compute(dir, "s").unwrap();
        assert_eq!(
            seal.files.keys().collect::<Vec<_>>(),
            [
                "MANIFEST.md",
                "catalog/resources.jsonl",
                "index/s3_buckets/b.jsonl",
                "snapshot_metadata.json"
            ]
        );
        seal.write(dir).unwrap();
        let back = Seal::read(dir).unwrap();
        assert_eq!(back, seal);
        assert_eq!(back.check_file(dir, "MANIFEST.md"), FileCheck::Intact);
        fs::write(dir.join("MANIFEST.md"), "# m\nappended\n").unwrap();
        assert!(matches!(
            back.check_file(dir, "MANIFEST.md"),
            FileCheck::Damaged(_)
        ));
        fs::remove_file(dir.join("catalog/resources.jsonl")).unwrap();
        assert_eq!(
            back.check_file(dir, "catalog/resources.jsonl"),
            FileCheck::Missing
        );
        // A seal whose listing was edited is damaged itself.
        let text = fs::read_to_string(dir.join(SEAL_FILE)).unwrap();
        let h = seal.files["MANIFEST.md"].blake3.to_hex();
        let flipped = text.replace(
            &h,
            &format!("{}{}", &h[..63], if h.ends_with('0') { "1" } else { "0" }),
        );
        fs::write(dir.join(SEAL_FILE), flipped).unwrap();
        assert!(matches!(Seal::read(dir), Err(SealError::Damaged(_))));
        fs::remove_file(dir.join(SEAL_FILE)).unwrap();
        assert_eq!(Seal::read(dir), Err(SealError::Missing));
    }
}
