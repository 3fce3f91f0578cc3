//! The content-addressed blob store shared by every snapshot of a repository.
//!
//! A blob lives at `.infrasnap/blobs/<first two hex>/<64 hex BLAKE3>`, read-only. Tree files in
//! snapshots are hard links to blobs (a copy where a link is impossible), so an unchanged object
//! costs no new bytes. Blobs are written to a temporary file while they are hashed and renamed into
//! place only once complete: a killed run leaves at worst a stray temporary file, never a blob
//! whose name does not match its content.
//!
//! What must not live here: anything that knows about S3 or any other source.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use md5::{Digest, Md5};

use crate::error::{IoContext, Result};
use crate::ids::BlobId;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// How a tree file was made from its blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    HardLink,
    Copy,
}

#[derive(Debug, Clone)]
pub struct BlobStore {
    blobs: PathBuf,
    incoming: PathBuf,
    /// Fan-out folders known to exist (saves a `create_dir_all` per new blob).
    made: Arc<Mutex<HashSet<PathBuf>>>,
}

/// The result of storing one blob.
#[derive(Debug, Clone, Copy)]
pub struct Stored {
    pub id: BlobId,
    pub size: u64,
    /// MD5 of the content, for checking S3 ETags.
    pub md5: [u8; 16],
    /// False when the store already had this content (nothing new was kept).
    pub new: bool,
}

impl BlobStore {
    /// `blobs` is the folder of blobs; `incoming` a folder on the same filesystem for temporaries.
    pub fn open(blobs: PathBuf, incoming: PathBuf) -> Result<Self> {
        fs::create_dir_all(&blobs).ctx("create blob folder", &blobs)?;
        fs::create_dir_all(&incoming).ctx("create folder", &incoming)?;
        Ok(BlobStore {
            blobs,
            incoming,
            made: Arc::default(),
        })
    }

    pub fn path(&self, id: &BlobId) -> PathBuf {
        let hex = id.to_hex();
        self.blobs.join(&hex[..2]).join(hex)
    }

    pub fn contains(&self, id: &BlobId) -> bool {
        self.path(id).is_file()
    }

    /// Start writing a new blob; bytes are hashed as they are written.
    pub fn writer(&self) -> Result<BlobWriter> {
        self.writer_sized(None)
    }

    /// [`writer`](Self::writer) for a blob of about `size` bytes: a small blob gets a small
    /// write buffer (one allocation less per tiny object).
    pub fn writer_sized(&self, size: Option<u64>) -> Result<BlobWriter> {
        const BUF: usize = 256 * 1024;
        let cap = size.map_or(BUF, |s| (s as usize).clamp(4096, BUF));
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .incoming
            .join(format!("blob-{}-{}.tmp", std::process::id(), n));
        let file = File::create(&tmp).ctx("create temporary blob", &tmp)?;
        Ok(BlobWriter {
            store: self.clone(),
            tmp,
            file: Some(io::BufWriter::with_capacity(cap, file)),
            blake: blake3::Hasher::new(),
            md5: Md5::new(),
            size: 0,
        })
    }

    /// Store a whole buffer.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Stored> {
        let id = BlobId::of(bytes);
        let md5: [u8; 16] = Md5::digest(bytes).into();
        if self.contains(&id) {
            return Ok(Stored {
                id,
                size: bytes.len() as u64,
                md5,
                new: false,
            });
        }
        let mut w = self.writer()?;
        w.write_all(bytes)?;
        w.finish()
    }

    /// Make `dest` a read-only file with the blob's content: a hard link, or a copy where the
    /// filesystem refuses a link (too many links to one blob, another filesystem).
    pub fn link_to(&self, id: &BlobId, dest: &Path) -> Result<LinkKind> {
        let src = self.path(id);
        match fs::hard_link(&src, dest) {
            Ok(()) => Ok(LinkKind::HardLink),
            Err(e) if e.kind() == io::ErrorKind::NotFound && !src.exists() => {
                Err(crate::error::CoreError::io("link missing blob", &src, e))
            }
            Err(_) => {
                fs::copy(&src, dest).ctx("copy blob to", dest)?;
                set_read_only(dest)?;
                Ok(LinkKind::Copy)
            }
        }
    }

    /// Re-hash a stored blob.
    pub fn hash_file(path: &Path) -> Result<(BlobId, u64)> {
        let mut f = File::open(path).ctx("open", path)?;
        let mut h = blake3::Hasher::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut size = 0u64;
        loop {
            let n = f.read(&mut buf).ctx("read", path)?;
            if n == 0 {
                break;
            }
            size += n as u64;
            h.update(&buf[..n]);
        }
        Ok((BlobId::from_hash(h.finalize()), size))
    }

    /// Remove temporaries left by killed runs. Call only while holding the repository lock.
    pub fn clean_incoming(&self) {
        if let Ok(rd) = fs::read_dir(&self.incoming) {
            for e in rd.flatten() {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

pub fn set_read_only(path: &Path) -> Result<()> {
    let mut perm = fs::metadata(path).ctx("stat", path)?.permissions();
    perm.set_readonly(true);
    fs::set_permissions(path, perm).ctx("make read-only", path)
}

/// A blob being written. Dropped without [`BlobWriter::finish`], it removes its temporary file.
pub struct BlobWriter {
    store: BlobStore,
    tmp: PathBuf,
    file: Option<io::BufWriter<File>>,
    blake: blake3::Hasher,
    md5: Md5,
    size: u64,
}

impl BlobWriter {
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        self.blake.update(bytes);
        self.md5.update(bytes);
        self.size += bytes.len() as u64;
        self.file
            .as_mut()
            .expect("writer is open until finish")
            .write_all(bytes)
            .ctx("write temporary blob", &self.tmp)
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The hashes so far, without finishing: lets a caller check an ETag before keeping the blob.
    pub fn md5_so_far(&self) -> [u8; 16] {
        self.md5.clone().finalize().into()
    }

    /// Close the file and move it into the store under its hash.
    pub fn finish(mut self) -> Result<Stored> {
        let file = self.file.take().expect("finish once");
        let file = file
            .into_inner()
            .map_err(|e| e.into_error())
            .ctx("flush temporary blob", &self.tmp)?;
        let id = BlobId::from_hash(self.blake.finalize());
        let md5: [u8; 16] = self.md5.clone().finalize().into();
        let dest = self.store.path(&id);
        let stored = Stored {
            id,
            size: self.size,
            md5,
            new: false,
        };
        if dest.exists() {
            drop(file);
            let _ = fs::remove_file(&self.tmp);
            return Ok(stored);
        }
        // Read-only through the open handle (fstat + fchmod: no path lookups).
        let mut perm = file.metadata().ctx("stat", &self.tmp)?.permissions();
        perm.set_readonly(true);
        file.set_permissions(perm)
            .ctx("make read-only", &self.tmp)?;
        drop(file);
        let parent = dest.parent().expect("blob path has a parent");
        if !self.store.made.lock().expect("made").contains(parent) {
            fs::create_dir_all(parent).ctx("create blob folder", parent)?;
            self.store
                .made
                .lock()
                .expect("made")
                .insert(parent.to_path_buf());
        }
        fs::rename(&self.tmp, &dest).ctx("move blob into store", &dest)?;
        Ok(Stored {
            new: true,
            ..stored
        })
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if self.file.is_some() {
            self.file = None;
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Open a file for appending, creating it (used by index writers).
pub fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .ctx("open for writing", path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, BlobStore) {
        let d = tempfile::tempdir().unwrap();
        let s = BlobStore::open(d.path().join("blobs"), d.path().join("tmp")).unwrap();
        (d, s)
    }

    #[test]
    fn same_content_is_stored_once() {
        let (_d, s) = store();
        let a = s.put_bytes(b"hello").unwrap();
        let b = s.put_bytes(b"hello").unwrap();
        assert!(a.new && !b.new);
        assert_eq!(a.id, b.id);
        assert_eq!(std::fs::read(s.path(&a.id)).unwrap(), b"hello");
        assert!(std::fs::metadata(s.path(&a.id))
            .unwrap()
            .permissions()
            .readonly());
    }

    #[test]
    fn streamed_write_matches_whole_write_and_md5() {
        let (_d, s) = store();
        let mut w = s.writer().unwrap();
        w.write_all(b"hel").unwrap();
        w.write_all(b"lo").unwrap();
        let st = w.finish().unwrap();
        assert_eq!(st.id, BlobId::of(b"hello"));
        assert_eq!(hex::encode(st.md5), "5d41402abc4b2a76b9719d911017c592");
    }

    #[test]
    fn abandoned_writer_leaves_nothing() {
        let (d, s) = store();
        let mut w = s.writer().unwrap();
        w.write_all(b"partial").unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(d.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn link_makes_a_read_only_tree_file() {
        let (d, s) = store();
        let st = s.put_bytes(b"x").unwrap();
        let dest = d.path().join("tree-file");
        assert_eq!(s.link_to(&st.id, &dest).unwrap(), LinkKind::HardLink);
        assert_eq!(std::fs::read(&dest).unwrap(), b"x");
        assert!(std::fs::metadata(&dest).unwrap().permissions().readonly());
    }
}
