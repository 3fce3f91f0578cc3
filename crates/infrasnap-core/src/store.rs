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
use crate::md5lanes::Md5Stream;

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
        crate::repo::create_private_dir_all(&blobs)?;
        crate::repo::create_private_dir_all(&incoming)?;
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

    /// [`writer`](Self::writer) for a blob of about `size` bytes. A blob of up to
    /// [`IN_MEMORY_MAX`] bytes is gathered in memory and written once, straight into its fan-out
    /// folder, when it is complete; a larger one streams through a temporary file.
    pub fn writer_sized(&self, size: Option<u64>) -> Result<BlobWriter> {
        let (sink, md5) = match size {
            Some(s) if s > IN_MEMORY_MAX as u64 => (self.spill_file(&[])?, Some(Md5Stream::new())),
            Some(s) => (Sink::Memory(Vec::with_capacity(s as usize)), None),
            None => (Sink::Memory(Vec::with_capacity(16 * 1024)), None),
        };
        Ok(BlobWriter {
            store: self.clone(),
            sink: Some(sink),
            blake: blake3::Hasher::new(),
            md5,
            digest: None,
            size: 0,
        })
    }

    /// A fresh temporary file in `incoming`, created exclusively (owner-only, unpredictable
    /// name, no symbolic link followed); the next writing run deletes leftovers there.
    fn temp_file(&self) -> Result<(PathBuf, File)> {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        crate::repo::create_temp_beside(
            &self
                .incoming
                .join(format!("blob-{}-{n}.tmp", std::process::id())),
            0o600,
        )
    }

    /// A temporary file in `incoming`, starting with `head`.
    fn spill_file(&self, head: &[u8]) -> Result<Sink> {
        // Chunks of at least this size (most of a large body) are written without a copy.
        const BUF: usize = 64 * 1024;
        let (tmp, file) = self.temp_file()?;
        let mut file = io::BufWriter::with_capacity(BUF, file);
        file.write_all(head).ctx("write temporary blob", &tmp)?;
        Ok(Sink::File { tmp, file })
    }

    /// Make sure the fan-out folder of `dest` exists (once per folder per process).
    fn fan_out_folder(&self, dest: &Path) -> Result<()> {
        let parent = dest.parent().expect("blob path has a parent");
        if !self.made.lock().expect("made").contains(parent) {
            crate::repo::create_private_dir_all(parent)?;
            self.made.lock().expect("made").insert(parent.to_path_buf());
        }
        Ok(())
    }

    /// Write a complete blob held in memory at `dest`, read-only, so that the name appears only
    /// with all its bytes. False when the blob was already there.
    fn write_whole(&self, dest: &Path, bytes: &[u8]) -> Result<bool> {
        self.fan_out_folder(dest)?;
        #[cfg(target_os = "linux")]
        if let Some(new) = write_unnamed_then_link(dest, bytes)? {
            return Ok(new);
        }
        if dest.exists() {
            return Ok(false);
        }
        // Elsewhere (or where the filesystem has no unnamed files): a temporary name in the
        // same folder, renamed into place.
        let (tmp, mut file) = self.temp_file()?;
        let done = file
            .write_all(bytes)
            .ctx("write temporary blob", &tmp)
            .and_then(|()| read_only_handle(&file, &tmp));
        drop(file);
        if let Err(e) = done.and_then(|()| fs::rename(&tmp, dest).ctx("move blob into store", dest))
        {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(true)
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
    /// filesystem refuses a link for a reason a copy cures (`EMLINK`: too many links to one
    /// blob; `EXDEV`: another filesystem; `EPERM`: a filesystem without hard links). The copy is
    /// written to a new temporary file beside `dest` and renamed into place without replacing
    /// anything: nothing is ever written through an existing file, so a `dest` that exists
    /// (`EEXIST`) is an error, never a copy onto a blob shared by every snapshot.
    pub fn link_to(&self, id: &BlobId, dest: &Path) -> Result<LinkKind> {
        let src = self.path(id);
        match fs::hard_link(&src, dest) {
            Ok(()) => Ok(LinkKind::HardLink),
            Err(e) if e.kind() == io::ErrorKind::NotFound && !src.exists() => {
                Err(crate::error::CoreError::io("link missing blob", &src, e))
            }
            Err(e) if copy_cures(&e) => {
                self.copy_to(&src, dest)?;
                Ok(LinkKind::Copy)
            }
            Err(e) => Err(crate::error::CoreError::io("link blob to", dest, e)),
        }
    }

    /// The fallback of [`link_to`](Self::link_to): a read-only copy, renamed into place only
    /// where nothing is.
    fn copy_to(&self, src: &Path, dest: &Path) -> Result<()> {
        let (tmp, mut out) = crate::repo::create_temp_beside(dest, 0o600)?;
        let done = File::open(src)
            .ctx("open blob", src)
            .and_then(|mut f| io::copy(&mut f, &mut out).ctx("copy blob to", &tmp))
            .and_then(|_| read_only_handle(&out, &tmp))
            .and_then(|()| rename_no_replace(&tmp, dest));
        drop(out);
        if let Err(e) = done {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(())
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

    /// Check a stored blob before it is reused for content of `size` bytes: present, of that
    /// size, and (with `rehash`) hashing to its own name.
    pub fn check(&self, id: &BlobId, size: u64, rehash: bool) -> ReuseCheck {
        let path = self.path(id);
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(_) => return ReuseCheck::Missing,
        };
        if !meta.is_file() {
            return ReuseCheck::Damaged("not a file".into());
        }
        if meta.len() != size {
            return ReuseCheck::Damaged(format!("{} bytes where {size} were stored", meta.len()));
        }
        if rehash {
            match Self::hash_file(&path) {
                Ok((got, _)) if got == *id => {}
                Ok((got, _)) => {
                    return ReuseCheck::Damaged(format!("its content hashes to {}", got.to_hex()))
                }
                Err(e) => return ReuseCheck::Damaged(format!("unreadable: {e}")),
            }
        }
        ReuseCheck::Intact
    }

    /// Whether the stored blob hashes to its own name (false when it is missing or unreadable).
    pub fn intact(&self, id: &BlobId) -> bool {
        matches!(Self::hash_file(&self.path(id)), Ok((got, _)) if got == *id)
    }

    /// The folder damaged blobs are moved to (`.infrasnap/quarantine/`, beside `blobs/`).
    pub fn quarantine_dir(&self) -> PathBuf {
        self.blobs
            .parent()
            .unwrap_or(&self.blobs)
            .join("quarantine")
    }

    /// Move a damaged blob out of the store, into [`quarantine_dir`](Self::quarantine_dir), so
    /// that it is never linked again and its content is stored afresh. Returns where it went.
    pub fn quarantine(&self, id: &BlobId) -> Result<PathBuf> {
        let dir = self.quarantine_dir();
        fs::create_dir_all(&dir).ctx("create quarantine folder", &dir)?;
        let to = dir.join(format!(
            "{}.{}",
            id.to_hex(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        let from = self.path(id);
        match fs::rename(&from, &to) {
            Ok(()) => Ok(to),
            // Already moved by another task of this run.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(to),
            Err(e) => Err(crate::error::CoreError::io("quarantine blob", &from, e)),
        }
    }

    /// After a download whose content the store already has: the stored blob must really hold
    /// it, or it is quarantined. True when the blob must be written again.
    fn replace_if_damaged(&self, id: &BlobId, size: u64) -> Result<bool> {
        match self.check(id, size, true) {
            ReuseCheck::Intact => Ok(false),
            // Gone in the meantime: written again.
            ReuseCheck::Missing => Ok(true),
            ReuseCheck::Damaged(why) => {
                let to = self.quarantine(id)?;
                tracing::warn!(
                    "blob {} is damaged ({why}); moved to {} and stored again",
                    id.to_hex(),
                    to.display()
                );
                Ok(true)
            }
        }
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

/// Owner read-only (0400): blobs and tree files are readable by their owner alone.
pub fn set_read_only(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o400)).ctx("make read-only", path)
}

/// Link failures a copy cures. Anything else (`EEXIST` above all) is an error.
fn copy_cures(e: &io::Error) -> bool {
    use rustix::io::Errno;
    matches!(
        e.raw_os_error().map(Errno::from_raw_os_error),
        Some(Errno::MLINK | Errno::XDEV | Errno::PERM)
    )
}

/// Rename `tmp` to `dest` only if `dest` does not exist (`renameat2(RENAME_NOREPLACE)` on
/// Linux; elsewhere a hard link, which fails on an existing name, then the temporary's removal).
fn rename_no_replace(tmp: &Path, dest: &Path) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        match renameat_with(CWD, tmp, CWD, dest, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {}
            Err(e) => {
                return Err(crate::error::CoreError::io(
                    "move copy into place",
                    dest,
                    e.into(),
                ))
            }
        }
    }
    fs::hard_link(tmp, dest).ctx("move copy into place", dest)?;
    let _ = fs::remove_file(tmp);
    Ok(())
}

/// What [`BlobStore::check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReuseCheck {
    Intact,
    Missing,
    /// Present but not what was stored: why.
    Damaged(String),
}

/// Which reused blobs a run re-hashes before linking them again (`snapshot --reverify`,
/// `--reverify-share`). Sizes are always compared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reverify {
    #[default]
    Off,
    /// Every reused blob.
    All,
    /// A rotating share: blobs whose hash falls in this run's window of `per_10k` in 10,000;
    /// the window moves on by its width with every `turn` (one a snapshot), so every blob is
    /// re-hashed once in each `10000 / per_10k` runs.
    Share { per_10k: u32, turn: u64 },
}

impl Reverify {
    /// `--reverify-share 5%` (also `5`, `0.5%`): the share of 10,000, for run number `turn`.
    pub fn share(text: &str, turn: u64) -> std::result::Result<Self, String> {
        let t = text.trim();
        let n: f64 = t
            .strip_suffix('%')
            .unwrap_or(t)
            .trim()
            .parse()
            .map_err(|_| format!("--reverify-share {text:?}: give a percentage such as 5%"))?;
        if !(n > 0.0 && n <= 100.0) {
            return Err(format!(
                "--reverify-share {text:?}: the share must be more than 0% and at most 100%"
            ));
        }
        let per_10k = ((n * 100.0).round() as u32).clamp(1, 10_000);
        Ok(if per_10k == 10_000 {
            Reverify::All
        } else {
            Reverify::Share { per_10k, turn }
        })
    }

    /// Whether this run re-hashes blob `id` before reusing it.
    pub fn covers(&self, id: &BlobId) -> bool {
        match *self {
            Reverify::Off => false,
            Reverify::All => true,
            Reverify::Share { per_10k, turn } => {
                let per = u64::from(per_10k);
                let h =
                    u64::from_le_bytes(id.as_bytes()[..8].try_into().expect("8 bytes")) % 10_000;
                let start = turn.wrapping_mul(per) % 10_000;
                (h + 10_000 - start) % 10_000 < per
            }
        }
    }
}

/// Blobs up to this size are gathered in memory and written once when complete (bounds memory:
/// this x transfers at once).
pub const IN_MEMORY_MAX: usize = 1024 * 1024;

/// Where a blob's bytes go while it is written.
enum Sink {
    Memory(Vec<u8>),
    File {
        tmp: PathBuf,
        file: io::BufWriter<File>,
    },
}

/// A blob being written. Dropped without [`BlobWriter::finish`], it leaves nothing behind.
pub struct BlobWriter {
    store: BlobStore,
    sink: Option<Sink>,
    blake: blake3::Hasher,
    /// The MD5 of a blob written through a file, computed side by side with other large blobs
    /// ([`Md5Stream`]); a blob held in memory is hashed in one go when complete.
    md5: Option<Md5Stream>,
    digest: Option<[u8; 16]>,
    size: u64,
}

impl BlobWriter {
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        assert!(self.digest.is_none(), "no writes after md5_so_far");
        self.blake.update(bytes);
        if let Some(m) = &mut self.md5 {
            m.update(bytes);
        }
        self.size += bytes.len() as u64;
        match self.sink.as_mut().expect("writer is open until finish") {
            Sink::Memory(buf) if buf.len() + bytes.len() <= IN_MEMORY_MAX => {
                buf.extend_from_slice(bytes);
                Ok(())
            }
            Sink::Memory(buf) => {
                let head = std::mem::take(buf);
                let mut m = Md5Stream::new();
                m.update(&head);
                m.update(bytes);
                self.md5 = Some(m);
                let mut spilled = self.store.spill_file(&head)?;
                let r = match &mut spilled {
                    Sink::File { tmp, file } => {
                        file.write_all(bytes).ctx("write temporary blob", tmp)
                    }
                    Sink::Memory(_) => unreachable!("spill_file gives a file"),
                };
                self.sink = Some(spilled);
                r
            }
            Sink::File { tmp, file } => file.write_all(bytes).ctx("write temporary blob", tmp),
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The MD5 of every byte written, before finishing: lets a caller check an ETag before
    /// keeping the blob. No more writes after it.
    pub fn md5_so_far(&mut self) -> [u8; 16] {
        if let Some(d) = self.digest {
            return d;
        }
        let d = match (self.md5.take(), &self.sink) {
            (Some(m), _) => m.finish(),
            (None, Some(Sink::Memory(buf))) => Md5::digest(buf).into(),
            (None, _) => unreachable!("a blob in a file has an Md5Stream"),
        };
        self.digest = Some(d);
        d
    }

    /// Put the blob into the store under its hash.
    pub fn finish(mut self) -> Result<Stored> {
        let md5 = self.md5_so_far();
        let sink = self.sink.take().expect("finish once");
        let id = BlobId::from_hash(self.blake.finalize());
        let dest = self.store.path(&id);
        let stored = Stored {
            id,
            size: self.size,
            md5,
            new: false,
        };
        let (tmp, file) = match sink {
            Sink::Memory(buf) => {
                let mut new = self.store.write_whole(&dest, &buf)?;
                if !new && self.store.replace_if_damaged(&id, self.size)? {
                    new = self.store.write_whole(&dest, &buf)?;
                }
                return Ok(Stored { new, ..stored });
            }
            Sink::File { tmp, file } => (tmp, file),
        };
        let file = match file.into_inner() {
            Ok(f) => f,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(crate::error::CoreError::io(
                    "flush temporary blob",
                    &tmp,
                    e.into_error(),
                ));
            }
        };
        if dest.exists() && !self.store.replace_if_damaged(&id, self.size)? {
            drop(file);
            let _ = fs::remove_file(&tmp);
            return Ok(stored);
        }
        let done = read_only_handle(&file, &tmp);
        drop(file);
        let done = done
            .and_then(|()| self.store.fan_out_folder(&dest))
            .and_then(|()| fs::rename(&tmp, &dest).ctx("move blob into store", &dest));
        if let Err(e) = done {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(Stored {
            new: true,
            ..stored
        })
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if let Some(Sink::File { tmp, .. }) = self.sink.take() {
            let _ = fs::remove_file(&tmp);
        }
    }
}

/// Owner read-only (0400) through the open handle (fchmod: no path lookups).
fn read_only_handle(file: &File, path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o400))
        .ctx("make read-only", path)
}

/// Linux: write the bytes to an unnamed read-only file in `dest`'s folder (`O_TMPFILE`) and give
/// it its name with one `linkat`. No temporary name exists, so a killed run leaves nothing, and
/// creating files takes no lock shared by every blob. `None` when the filesystem or `/proc` does
/// not allow it (the caller falls back to a temporary name, and so does every later blob).
#[cfg(target_os = "linux")]
fn write_unnamed_then_link(dest: &Path, bytes: &[u8]) -> Result<Option<bool>> {
    use rustix::fs::{AtFlags, Mode, OFlags, CWD};
    use std::sync::atomic::AtomicBool;
    static UNAVAILABLE: AtomicBool = AtomicBool::new(false);
    if UNAVAILABLE.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let dir = dest.parent().expect("blob path has a parent");
    let fd = match rustix::fs::openat(
        CWD,
        dir,
        OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o400),
    ) {
        Ok(fd) => fd,
        Err(_) => {
            UNAVAILABLE.store(true, Ordering::Relaxed);
            return Ok(None);
        }
    };
    let mut file = File::from(fd);
    file.write_all(bytes).ctx("write blob", dest)?;
    let proc_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&file));
    match rustix::fs::linkat(CWD, proc_path.as_str(), CWD, dest, AtFlags::SYMLINK_FOLLOW) {
        Ok(()) => Ok(Some(true)),
        Err(rustix::io::Errno::EXIST) => Ok(Some(false)),
        Err(_) => {
            UNAVAILABLE.store(true, Ordering::Relaxed);
            Ok(None)
        }
    }
}

/// Open a file for appending, creating it owner-only (0600), never through a symbolic link.
pub fn open_append(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
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
    fn large_blobs_stream_through_a_temporary_file_and_small_ones_through_memory() {
        let (d, s) = store();
        let big: Vec<u8> = (0..IN_MEMORY_MAX as u32 * 2 + 7).map(|i| i as u8).collect();
        let small = b"small blob".to_vec();
        for (sized, content) in [(true, &big), (false, &big), (true, &small), (false, &small)] {
            let mut w = s
                .writer_sized(sized.then_some(content.len() as u64))
                .unwrap();
            for piece in content.chunks(100_000) {
                w.write_all(piece).unwrap();
            }
            let st = w.finish().unwrap();
            assert_eq!(st.id, BlobId::of(content));
            assert_eq!(st.size, content.len() as u64);
            assert_eq!(st.md5, <[u8; 16]>::from(Md5::digest(content)));
            assert_eq!(std::fs::read(s.path(&st.id)).unwrap(), *content);
            assert!(std::fs::metadata(s.path(&st.id))
                .unwrap()
                .permissions()
                .readonly());
            // The second write of the same content keeps nothing new.
            let mut w = s.writer_sized(Some(content.len() as u64)).unwrap();
            w.write_all(content).unwrap();
            assert!(!w.finish().unwrap().new);
        }
        // Nothing is left in the temporary folder; the fan-out folders hold only blobs.
        assert_eq!(std::fs::read_dir(d.path().join("tmp")).unwrap().count(), 0);
        let mut names = Vec::new();
        for fan in std::fs::read_dir(d.path().join("blobs")).unwrap() {
            for f in std::fs::read_dir(fan.unwrap().path()).unwrap() {
                names.push(f.unwrap().file_name().to_string_lossy().to_string());
            }
        }
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.iter().all(|n| n.len() == 64), "{names:?}");
        // An abandoned large writer removes its temporary file.
        let mut w = s.writer_sized(Some(big.len() as u64)).unwrap();
        w.write_all(&big).unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(d.path().join("tmp")).unwrap().count(), 0);
    }

    /// Make a stored blob writable and replace its bytes (a test damaging the store).
    fn damage(s: &BlobStore, id: &BlobId, bytes: &[u8]) {
        let p = s.path(id);
        let mut perm = std::fs::metadata(&p).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perm.set_readonly(false);
        std::fs::set_permissions(&p, perm).unwrap();
        std::fs::write(&p, bytes).unwrap();
    }

    #[test]
    fn a_reused_blob_is_checked_by_size_always_and_by_hash_when_asked() {
        let (d, s) = store();
        let content = b"0123456789".repeat(100);
        let st = s.put_bytes(&content).unwrap();
        assert_eq!(s.check(&st.id, 1000, false), ReuseCheck::Intact);
        assert_eq!(s.check(&st.id, 1000, true), ReuseCheck::Intact);
        assert_eq!(
            s.check(&BlobId::of(b"absent"), 6, false),
            ReuseCheck::Missing
        );
        // A size other than the record's.
        assert!(matches!(
            s.check(&st.id, 999, false),
            ReuseCheck::Damaged(_)
        ));
        // One flipped byte: same size, only a re-hash sees it.
        let mut flipped = content.clone();
        flipped[500] ^= 1;
        damage(&s, &st.id, &flipped);
        assert_eq!(s.check(&st.id, 1000, false), ReuseCheck::Intact);
        assert!(matches!(
            s.check(&st.id, 1000, true),
            ReuseCheck::Damaged(_)
        ));
        // Quarantined: out of the store, kept aside.
        let to = s.quarantine(&st.id).unwrap();
        assert!(to.starts_with(d.path().join("quarantine")));
        assert_eq!(std::fs::read(&to).unwrap(), flipped);
        assert_eq!(s.check(&st.id, 1000, false), ReuseCheck::Missing);
    }

    #[test]
    fn a_download_onto_a_damaged_blob_replaces_it() {
        let (d, s) = store();
        let small = b"small content".to_vec();
        let big: Vec<u8> = (0..IN_MEMORY_MAX as u32 + 99)
            .map(|i| (i % 251) as u8)
            .collect();
        for content in [&small, &big] {
            let st = s.put_bytes(content).unwrap();
            let mut bad = content.clone();
            bad[3] ^= 0x40;
            damage(&s, &st.id, &bad);
            let mut w = s.writer_sized(Some(content.len() as u64)).unwrap();
            w.write_all(content).unwrap();
            let again = w.finish().unwrap();
            assert!(again.new, "the damaged blob was written afresh");
            assert_eq!(std::fs::read(s.path(&st.id)).unwrap(), *content);
        }
        assert_eq!(
            std::fs::read_dir(d.path().join("quarantine"))
                .unwrap()
                .count(),
            2
        );
    }

    #[test]
    fn a_rotating_share_rehashes_every_blob_once_per_cycle() {
        let ids: Vec<BlobId> = (0..2000u32).map(|i| BlobId::of(&i.to_le_bytes())).collect();
        let Reverify::Share { per_10k, .. } = Reverify::share("5%", 0).unwrap() else {
            panic!("a share")
        };
        assert_eq!(per_10k, 500);
        let mut hits = vec![0u32; ids.len()];
        for turn in 7..27 {
            let r = Reverify::Share { per_10k, turn };
            let mut n = 0;
            for (i, id) in ids.iter().enumerate() {
                if r.covers(id) {
                    hits[i] += 1;
                    n += 1;
                }
            }
            // About 5% each run.
            assert!((50..=150).contains(&n), "turn {turn}: {n}");
        }
        assert!(
            hits.iter().all(|&h| h == 1),
            "every blob exactly once in 20 runs"
        );
        assert_eq!(Reverify::share("100%", 3).unwrap(), Reverify::All);
        assert_eq!(
            Reverify::share("0.5", 0).unwrap(),
            Reverify::Share {
                per_10k: 50,
                turn: 0
            }
        );
        for bad in ["0%", "lots", "150%", "-5%"] {
            assert!(Reverify::share(bad, 0).is_err(), "{bad}");
        }
        assert!(!Reverify::Off.covers(&ids[0]) && Reverify::All.covers(&ids[0]));
    }

    #[test]
    fn the_link_fallback_never_writes_through_an_existing_file() {
        use std::os::unix::fs::PermissionsExt;
        let (d, s) = store();
        let shared = s.put_bytes(b"shared by every snapshot").unwrap();
        let other = s.put_bytes(b"other").unwrap();
        // A tree file that already exists and is a hard link to a shared blob (EEXIST): linking
        // another blob there is an error, and the shared blob is untouched.
        let dest = d.path().join("tree-file");
        s.link_to(&shared.id, &dest).unwrap();
        let err = s.link_to(&other.id, &dest).unwrap_err();
        assert!(err.to_string().contains("link blob to"), "{err}");
        assert_eq!(
            std::fs::read(s.path(&shared.id)).unwrap(),
            b"shared by every snapshot"
        );
        assert_eq!(std::fs::read(&dest).unwrap(), b"shared by every snapshot");
        // The copy (taken on EMLINK/EXDEV/EPERM) goes to a new file renamed into place, and
        // refuses an existing destination too.
        let err = s.copy_to(&s.path(&other.id), &dest).unwrap_err();
        assert!(err.to_string().contains("move copy into place"), "{err}");
        assert_eq!(
            std::fs::read(s.path(&shared.id)).unwrap(),
            b"shared by every snapshot"
        );
        let fresh = d.path().join("copied");
        s.copy_to(&s.path(&other.id), &fresh).unwrap();
        assert_eq!(std::fs::read(&fresh).unwrap(), b"other");
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o400);
        // No temporary is left beside it.
        let names: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(names.is_empty(), "{names:?}");
        // Only the failures a copy cures take the copy path.
        for (errno, cures) in [
            (rustix::io::Errno::MLINK, true),
            (rustix::io::Errno::XDEV, true),
            (rustix::io::Errno::PERM, true),
            (rustix::io::Errno::EXIST, false),
            (rustix::io::Errno::ACCESS, false),
        ] {
            let e = io::Error::from_raw_os_error(errno.raw_os_error());
            assert_eq!(copy_cures(&e), cures, "{errno:?}");
        }
    }

    #[test]
    fn blobs_and_their_folders_are_owner_only_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let (d, s) = store();
        let small = s.put_bytes(b"small").unwrap();
        let mut w = s.writer_sized(Some(2 * IN_MEMORY_MAX as u64)).unwrap();
        w.write_all(&vec![7u8; 2 * IN_MEMORY_MAX]).unwrap();
        let big = w.finish().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for id in [small.id, big.id] {
            assert_eq!(mode(&s.path(&id)), 0o400);
            assert_eq!(mode(s.path(&id).parent().unwrap()), 0o700);
        }
        assert_eq!(mode(&d.path().join("blobs")), 0o700);
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
