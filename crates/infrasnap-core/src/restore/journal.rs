//! What an apply has done, kept in the repository so a killed apply resumes and a rerun does
//! nothing twice:
//!
//! ```text
//! <repo>/.infrasnap/restore/<plan hash, 16 hex>/plan.json      the plan applied
//! <repo>/.infrasnap/restore/<plan hash, 16 hex>/journal.jsonl  one line per step done
//! <repo>/.infrasnap/restore/<plan hash, 16 hex>/receipt.json   written when the apply ends
//! ```
//!
//! A journal line is written with one `write` call after its step succeeded, so a process killed
//! at any point leaves whole lines, at worst a torn last one (ignored: that step runs again,
//! which puts the same thing back).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::plan::{Mismatch, Stale};
use crate::error::{CoreError, IoContext};
use crate::store::open_append;

/// The folder of a plan's journal and receipt.
pub fn folder(repo_root: &Path, short_hash: &str) -> PathBuf {
    repo_root
        .join(".infrasnap")
        .join("restore")
        .join(short_hash)
}

/// One step done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub n: u64,
    /// RFC 3339.
    pub at: String,
}

/// The journal of one plan's apply.
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    done: BTreeSet<u64>,
}

impl Journal {
    /// Open (or start) the journal in `dir`, reading the steps already done.
    pub fn open(dir: &Path) -> Result<Journal, CoreError> {
        std::fs::create_dir_all(dir).ctx("create restore journal folder", dir)?;
        let path = dir.join("journal.jsonl");
        let mut done = BTreeSet::new();
        if path.exists() {
            let f = File::open(&path).ctx("open journal", &path)?;
            for line in BufReader::new(f).lines() {
                let line = line.ctx("read journal", &path)?;
                // A torn last line: that step is done again.
                if let Ok(e) = serde_json::from_str::<Entry>(&line) {
                    done.insert(e.n);
                }
            }
        }
        let mut file = open_append(&path)?;
        // After a torn last line, start the next on a line of its own.
        let raw = std::fs::read(&path).ctx("read journal", &path)?;
        if raw.last().is_some_and(|b| *b != b'\n') {
            file.write_all(b"\n").ctx("write journal", &path)?;
        }
        Ok(Journal {
            path,
            file: Mutex::new(file),
            done,
        })
    }

    /// Steps done by earlier runs of this plan.
    pub fn done(&self) -> &BTreeSet<u64> {
        &self.done
    }

    /// Record that step `n` is done (one write of one whole line).
    pub fn record(&self, n: u64) -> Result<(), CoreError> {
        let mut line = serde_json::to_vec(&Entry {
            n,
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        })
        .expect("JSON");
        line.push(b'\n');
        let mut f = self.file.lock().expect("journal lock");
        f.write_all(&line).ctx("write journal", &self.path)
    }
}

/// How an apply ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// `"restore-receipt"`.
    pub receipt: String,
    pub plan_hash: String,
    pub snapshot: String,
    pub started_at: String,
    pub finished_at: String,
    /// Steps done by this run, and by earlier (killed) runs of the same plan.
    pub steps_done: u64,
    pub steps_done_before: u64,
    pub steps_skipped: u64,
    /// Steps that failed, with the error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<Failed>,
    /// Every touched resource read back and compared with the snapshot: empty when all match.
    pub final_diff: Vec<Mismatch>,
    /// True when nothing failed and the final diff is empty.
    pub ok: bool,
    /// What people must do now, read from the live state after apply: the new name servers of
    /// a re-created public zone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A step that failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failed {
    pub n: u64,
    pub what: String,
    pub error: String,
}

/// Why an apply was refused before it wrote anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    pub stale: Vec<Stale>,
}

/// Read the receipt in `dir`, if the plan was applied to the end.
pub fn read_receipt(dir: &Path) -> Result<Option<Receipt>, CoreError> {
    let p = dir.join("receipt.json");
    match std::fs::read(&p) {
        Ok(raw) => Ok(Some(serde_json::from_slice(&raw).map_err(|e| {
            CoreError::Parse {
                path: p.clone(),
                line: e.line(),
                message: e.to_string(),
            }
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CoreError::io("read receipt", &p, e)),
    }
}

/// Keep the receipt in `dir`.
pub fn write_receipt(dir: &Path, r: &Receipt) -> Result<(), CoreError> {
    crate::repo::write_atomic(
        &dir.join("receipt.json"),
        &serde_json::to_vec_pretty(r).expect("JSON"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_remembers_steps_and_ignores_a_torn_last_line() {
        let tmp = tempfile::tempdir().unwrap();
        let j = Journal::open(tmp.path()).unwrap();
        assert!(j.done().is_empty());
        j.record(1).unwrap();
        j.record(3).unwrap();
        drop(j);
        // A process killed in the middle of a line.
        let mut f = open_append(&tmp.path().join("journal.jsonl")).unwrap();
        f.write_all(b"{\"n\":4,\"at").unwrap();
        drop(f);
        let j = Journal::open(tmp.path()).unwrap();
        assert_eq!(j.done().iter().copied().collect::<Vec<_>>(), vec![1, 3]);
    }

    #[test]
    fn receipts_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(read_receipt(tmp.path()).unwrap().is_none());
        let r = Receipt {
            receipt: "restore-receipt".into(),
            plan_hash: "ab".into(),
            snapshot: "one".into(),
            started_at: "t0".into(),
            finished_at: "t1".into(),
            steps_done: 2,
            steps_done_before: 1,
            steps_skipped: 0,
            failed: vec![],
            final_diff: vec![],
            ok: true,
            notes: vec!["zone example.com. re-created".into()],
        };
        write_receipt(tmp.path(), &r).unwrap();
        assert_eq!(read_receipt(tmp.path()).unwrap(), Some(r));
    }
}
