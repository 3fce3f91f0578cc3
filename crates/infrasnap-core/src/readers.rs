//! The commands reading snapshots right now, so that `forget` never removes a snapshot in use.
//!
//! A reader (verify, diff, log, show) registers the snapshots it reads: a file
//! `<repo>/.infrasnap/readers/<pid>-<n>.json` that it holds an OS file lock on for as long as it
//! reads, and removes when done. The kernel releases the lock however the reader ends, so a file
//! whose lock is free belongs to a process that is gone: [`active`] ignores it and removes it.
//!
//! `forget` moves a snapshot out of the way first ([`crate::retention`] decided), looks at the
//! readers again, and puts the snapshot back if one registered for it meanwhile; a reader
//! registers before it opens the snapshot folder. So either the reader sees the snapshot whole,
//! or it does not find it.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::{IoContext, Result};

/// One running reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reader {
    pub pid: u32,
    /// What it is: `verify`, `diff`, ...
    pub command: String,
    pub snapshots: Vec<String>,
}

impl Reader {
    /// `verify (pid 42)`.
    pub fn who(&self) -> String {
        format!("{} (pid {})", self.command, self.pid)
    }
}

/// Held while a command reads snapshots; dropping it unregisters.
#[derive(Debug)]
pub struct ReaderGuard {
    _file: File,
    path: PathBuf,
}

impl Drop for ReaderGuard {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn dir(repo_root: &Path) -> PathBuf {
    repo_root.join(".infrasnap").join("readers")
}

/// Register `command` as reading `snapshots` of the repository at `repo_root`.
pub fn register(repo_root: &Path, command: &str, snapshots: &[String]) -> Result<ReaderGuard> {
    static N: AtomicU64 = AtomicU64::new(0);
    let d = dir(repo_root);
    fs::create_dir_all(&d).ctx("create folder", &d)?;
    let path = d.join(format!(
        "{}-{}.json",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .ctx("create", &path)?;
    file.lock().ctx("lock", &path)?;
    let me = Reader {
        pid: std::process::id(),
        command: command.to_string(),
        snapshots: snapshots.to_vec(),
    };
    file.write_all(&serde_json::to_vec(&me).expect("serialisable"))
        .ctx("write", &path)?;
    file.flush().ctx("write", &path)?;
    Ok(ReaderGuard { _file: file, path })
}

/// The readers running now. Files of readers that are gone are removed.
pub fn active(repo_root: &Path) -> Vec<Reader> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(dir(repo_root)) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(mut f) = OpenOptions::new().read(true).write(true).open(&p) else {
            continue;
        };
        match f.try_lock() {
            // Nobody holds it: its reader is gone.
            Ok(()) => {
                let _ = fs::remove_file(&p);
            }
            Err(fs::TryLockError::WouldBlock) => {
                // A reader that has just taken the lock may not have written yet: look again.
                for _ in 0..20 {
                    let mut text = String::new();
                    if f.read_to_string(&mut text).is_ok() {
                        if let Ok(r) = serde_json::from_str::<Reader>(&text) {
                            out.push(r);
                            break;
                        }
                    }
                    let _ = std::io::Seek::rewind(&mut f);
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
            }
            Err(fs::TryLockError::Error(_)) => {}
        }
    }
    out
}

/// Who reads snapshot `name` right now, if anyone.
pub fn reading(readers: &[Reader], name: &str) -> Option<String> {
    let who: Vec<String> = readers
        .iter()
        .filter(|r| r.snapshots.iter().any(|s| s == name))
        .map(Reader::who)
        .collect();
    (!who.is_empty()).then(|| who.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_reader_is_seen_until_dropped_and_a_dead_one_is_cleared() {
        let d = tempfile::tempdir().unwrap();
        let g = register(d.path(), "verify", &["v1".into(), "v2".into()]).unwrap();
        let now = active(d.path());
        assert_eq!(now.len(), 1);
        assert_eq!(
            reading(&now, "v2").unwrap(),
            format!("verify (pid {})", std::process::id())
        );
        assert!(reading(&now, "v3").is_none());
        drop(g);
        assert!(active(d.path()).is_empty());
        // A file left by a killed reader (no lock held) is ignored and removed.
        let stale = dir(d.path()).join("999999-0.json");
        fs::write(
            &stale,
            br#"{"pid":999999,"command":"diff","snapshots":["v1"]}"#,
        )
        .unwrap();
        assert!(active(d.path()).is_empty());
        assert!(!stale.exists());
    }
}
