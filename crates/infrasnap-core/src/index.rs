//! The machine-readable index of a snapshot: JSON lines under `<snapshot>/index/`, one record per
//! tree file. Every record has at least `path` and `blob` (verify relies on nothing else);
//! source-specific records add their own fields (model/).
//!
//! Also here: [`PrevIndex`], the lookup of earlier records by key that makes snapshots
//! incremental. It keeps a 64-bit key hash and a file position per key in memory (about 24-32
//! bytes with the map's overhead) and reads the record itself from the earlier
//! index file when asked, so a million-object bucket costs tens of megabytes.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, IoContext, Result};
use crate::ids::BlobId;

/// Appends records as JSON lines. Records reach the file in batches; a killed run leaves whole
/// lines plus at most one torn last line, which readers skip.
pub struct IndexWriter {
    path: PathBuf,
    out: BufWriter<File>,
    lines: u64,
    last_flush: std::time::Instant,
}

/// Records are handed to the OS at least this often, so that a killed run leaves an index the
/// next run can reuse (a flush is one write call; durability comes from the sync at publish).
const FLUSH_EVERY_LINES: u64 = 64;
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl IndexWriter {
    pub fn create(path: &Path) -> Result<Self> {
        if let Some(p) = path.parent() {
            crate::repo::create_private_dir_all(p)?;
        }
        // Owner-only, and never through a symbolic link planted at its name.
        let f = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                .open(path)
                .ctx("create index", path)?
        };
        Ok(IndexWriter {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(64 * 1024, f),
            lines: 0,
            last_flush: std::time::Instant::now(),
        })
    }

    pub fn append<T: Serialize>(&mut self, rec: &T) -> Result<()> {
        serde_json::to_writer(&mut self.out, rec)
            .map_err(|e| CoreError::io("write index", &self.path, std::io::Error::other(e)))?;
        self.out.write_all(b"\n").ctx("write index", &self.path)?;
        self.lines += 1;
        if self.lines.is_multiple_of(FLUSH_EVERY_LINES) || self.last_flush.elapsed() >= FLUSH_EVERY
        {
            self.out.flush().ctx("write index", &self.path)?;
            self.last_flush = std::time::Instant::now();
        }
        Ok(())
    }

    pub fn lines(&self) -> u64 {
        self.lines
    }

    pub fn finish(mut self) -> Result<()> {
        self.out.flush().ctx("write index", &self.path)
    }
}

/// The fields every index record has.
#[derive(Debug, Clone, Deserialize)]
pub struct TreeEntry {
    pub path: String,
    pub blob: BlobId,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub dir_marker: bool,
}

/// Read every record of an index file. A torn last line (from a killed run) is skipped; any other
/// bad line is an error.
pub fn read_all<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let f = File::open(path).ctx("open index", path)?;
    let mut out = Vec::new();
    let mut lines = BufReader::new(f).lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let line = line.ctx("read index", path)?;
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(v) => out.push(v),
            Err(_) if lines.peek().is_none() => break,
            Err(e) => {
                return Err(CoreError::Parse {
                    path: path.to_path_buf(),
                    line: i + 1,
                    message: e.to_string(),
                })
            }
        }
    }
    Ok(out)
}

/// All index files of a snapshot folder (`index/**/*.jsonl`).
pub fn index_files(snapshot_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let root = snapshot_dir.join("index");
    if !root.exists() {
        return Ok(out);
    }
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ctx("read folder", &d)? {
            let p = e.ctx("read folder", &d)?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "jsonl") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[derive(Deserialize)]
struct KeyOnly {
    key: String,
}

fn key_hash(key: &str) -> u64 {
    let h = blake3::hash(key.as_bytes());
    u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// Earlier records of one container (one bucket), looked up by exact key.
#[derive(Default)]
pub struct PrevIndex {
    files: Vec<File>,
    /// key hash -> (file, byte offset of the line). Later files win.
    at: HashMap<u64, (u32, u64)>,
}

impl PrevIndex {
    /// Load from index files, oldest first; a key in a later file replaces an earlier one.
    /// Missing files are skipped (the earlier snapshot did not have this container).
    pub fn load(paths: &[PathBuf]) -> Result<Self> {
        let mut me = PrevIndex::default();
        for p in paths {
            let Ok(f) = File::open(p) else { continue };
            let fi = me.files.len() as u32;
            let mut r = BufReader::with_capacity(256 * 1024, f.try_clone().ctx("open", p)?);
            let mut off = 0u64;
            let mut line = String::new();
            loop {
                line.clear();
                let n = r.read_line(&mut line).ctx("read index", p)?;
                if n == 0 {
                    break;
                }
                if let Ok(k) = serde_json::from_str::<KeyOnly>(&line) {
                    me.at.insert(key_hash(&k.key), (fi, off));
                }
                off += n as u64;
            }
            me.files.push(f);
        }
        Ok(me)
    }

    pub fn len(&self) -> usize {
        self.at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// The earlier record for exactly `key`, if any.
    pub fn get<T: DeserializeOwned + HasKey>(&self, key: &str) -> Option<T> {
        let (fi, off) = *self.at.get(&key_hash(key))?;
        let f = &self.files[fi as usize];
        let mut buf = Vec::with_capacity(1024);
        let mut chunk = [0u8; 4096];
        let mut pos = off;
        loop {
            let n = f.read_at(&mut chunk, pos).ok()?;
            if n == 0 {
                break;
            }
            if let Some(nl) = chunk[..n].iter().position(|&b| b == b'\n') {
                buf.extend_from_slice(&chunk[..nl]);
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            pos += n as u64;
        }
        let rec: T = serde_json::from_slice(&buf).ok()?;
        (rec.key() == key).then_some(rec)
    }
}

/// Records that are looked up by key.
pub trait HasKey {
    fn key(&self) -> &str;
}

impl HasKey for crate::model::s3::S3ObjectRecord {
    fn key(&self) -> &str {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Rec {
        key: String,
        n: u32,
    }
    impl HasKey for Rec {
        fn key(&self) -> &str {
            &self.key
        }
    }

    #[test]
    fn later_files_win_and_torn_lines_are_ignored() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.jsonl");
        let b = d.path().join("b.jsonl");
        let mut w = IndexWriter::create(&a).unwrap();
        for (k, n) in [("x", 1), ("y", 1), ("we\nird", 1)] {
            w.append(&Rec { key: k.into(), n }).unwrap();
        }
        w.finish().unwrap();
        std::fs::write(&b, "{\"key\":\"y\",\"n\":2}\n{\"key\":\"z\",\"n\"").unwrap();
        let p = PrevIndex::load(&[a.clone(), b.clone(), d.path().join("missing.jsonl")]).unwrap();
        assert_eq!(p.get::<Rec>("x").unwrap().n, 1);
        assert_eq!(p.get::<Rec>("y").unwrap().n, 2);
        assert_eq!(p.get::<Rec>("we\nird").unwrap().n, 1);
        assert!(p.get::<Rec>("z").is_none());
        assert!(p.get::<Rec>("nope").is_none());
        assert_eq!(read_all::<Rec>(&b).unwrap().len(), 1);
        assert_eq!(read_all::<Rec>(&a).unwrap().len(), 3);
    }
}
