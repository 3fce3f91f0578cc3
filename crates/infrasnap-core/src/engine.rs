//! What every collector gets to do its work: the [`RunContext`] (where the snapshot is being
//! built, the blob store, earlier indexes to reuse, progress, the global concurrency budget,
//! cancellation) and the [`Collector`] trait. A collector decides what to capture; the context
//! decides how it lands on disk.

use std::collections::HashSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::Semaphore;

use crate::error::{CoreError, IoContext, Result};
use crate::ids::BlobId;
use crate::index::IndexWriter;
use crate::keypath::is_contained;
use crate::metadata::{CollectorSummary, RecordedError};
use crate::progress::Progress;
use crate::repo::Repository;
use crate::store::Stored;

/// The most Lambda code downloads, DynamoDB scan pages and Apps Script calls at once.
pub const OTHER_JOBS_MAX: usize = 32;

/// Shared by all collectors of one run.
pub struct RunContext {
    pub repo: Repository,
    staging: PathBuf,
    /// Snapshot folders whose indexes may be reused, oldest first: the parent snapshot, then the
    /// staging folders of killed runs (newer, so they win).
    pub previous: Vec<PathBuf>,
    pub progress: Progress,
    /// Bound on S3 object transfers at once across all buckets and accounts (`--jobs`).
    pub transfers: Arc<Semaphore>,
    /// Bound on other bulk calls at once (Lambda code downloads, DynamoDB scan pages, Apps
    /// Script calls): `--jobs`, at most [`OTHER_JOBS_MAX`], since those APIs throttle sooner.
    pub jobs: Arc<Semaphore>,
    pub jobs_count: usize,
    cancelled: AtomicBool,
    files: Mutex<Option<IndexWriter>>,
    fingerprinter: crate::secrets::Fingerprinter,
    /// Tree folders made so far (saves a `create_dir_all` per linked file).
    dirs: Mutex<HashSet<PathBuf>>,
}

/// Index record of a tree file that is not an object of a bucket (configs, exports).
#[derive(Serialize)]
struct FileRecord<'a> {
    path: &'a str,
    blob: BlobId,
    size: u64,
}

impl RunContext {
    pub fn new(
        repo: Repository,
        staging: &Path,
        previous: Vec<PathBuf>,
        progress: Progress,
        jobs: usize,
    ) -> Result<Self> {
        let files = IndexWriter::create(&staging.join("index").join("files.jsonl"))?;
        let fingerprinter =
            crate::secrets::Fingerprinter::for_repository(&repo.root().join(".infrasnap"))?;
        Ok(RunContext {
            repo,
            staging: staging.to_path_buf(),
            previous,
            progress,
            transfers: Arc::new(Semaphore::new(jobs.max(1))),
            jobs: Arc::new(Semaphore::new(jobs.clamp(1, OTHER_JOBS_MAX))),
            jobs_count: jobs.clamp(1, OTHER_JOBS_MAX),
            cancelled: AtomicBool::new(false),
            files: Mutex::new(Some(files)),
            fingerprinter,
            dirs: Mutex::new(HashSet::new()),
        })
    }

    /// The repository's keyed fingerprinter: every secret value becomes its marker
    /// (`fp.marker(value)`) before anything is written or logged.
    pub fn fingerprinter(&self) -> &crate::secrets::Fingerprinter {
        &self.fingerprinter
    }

    pub fn staging(&self) -> &Path {
        &self.staging
    }

    /// Absolute path of a tree entry; refuses anything that would leave the snapshot folder.
    pub fn tree_path(&self, rel: &str) -> Result<PathBuf> {
        if !is_contained(rel) {
            return Err(CoreError::InvalidName {
                name: rel.to_string(),
                why: "refusing a path outside the snapshot folder".into(),
            });
        }
        Ok(self.staging.join(rel))
    }

    /// The earlier index files for `rel` (relative to a snapshot folder), oldest first.
    pub fn previous_indexes(&self, rel: &str) -> Vec<PathBuf> {
        self.previous.iter().map(|d| d.join(rel)).collect()
    }

    /// Make the tree file `rel` from a stored blob.
    pub fn link_blob(&self, id: &BlobId, rel: &str) -> Result<()> {
        let dest = self.tree_path(rel)?;
        if let Some(p) = dest.parent() {
            self.ensure_dir(p)?;
        }
        self.repo.store().link_to(id, &dest)?;
        Ok(())
    }

    /// `create_dir_all`, once per folder per run.
    fn ensure_dir(&self, p: &Path) -> Result<()> {
        if self.dirs.lock().expect("dirs").contains(p) {
            return Ok(());
        }
        std::fs::create_dir_all(p).ctx("create folder", p)?;
        self.dirs.lock().expect("dirs").insert(p.to_path_buf());
        Ok(())
    }

    /// Make a folder in the tree (for folder markers).
    pub fn make_dir(&self, rel: &str) -> Result<()> {
        let dest = self.tree_path(rel)?;
        std::fs::create_dir_all(&dest).ctx("create folder", &dest)
    }

    /// Store `bytes` and place them at `rel`, listed in `index/files.jsonl`.
    pub fn put_file(&self, rel: &str, bytes: &[u8]) -> Result<Stored> {
        let st = self.repo.store().put_bytes(bytes)?;
        self.link_blob(&st.id, rel)?;
        let mut w = self.files.lock().expect("files index lock");
        let w = w.as_mut().ok_or_else(|| CoreError::InvalidName {
            name: rel.to_string(),
            why: "the run has finished; nothing more can be added".into(),
        })?;
        w.append(&FileRecord {
            path: rel,
            blob: st.id,
            size: st.size,
        })?;
        Ok(st)
    }

    /// Serialize `value` as pretty JSON and [`put_file`](Self::put_file) it.
    pub fn put_json<T: Serialize>(&self, rel: &str, value: &T) -> Result<Stored> {
        let mut bytes = serde_json::to_vec_pretty(value).expect("serialisable");
        bytes.push(b'\n');
        self.put_file(rel, &bytes)
    }

    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Flush the shared index. Called once after all collectors finished.
    pub fn finish(&self) -> Result<()> {
        match self.files.lock().expect("files index lock").take() {
            Some(w) => w.finish(),
            None => Ok(()),
        }
    }
}

/// Errors recorded by one collector, in the order they happened.
#[derive(Default)]
pub struct ErrorSink {
    errors: Mutex<Vec<RecordedError>>,
}

impl ErrorSink {
    pub fn record(&self, e: RecordedError) {
        tracing::warn!(
            "{} {} on {}: {}{}",
            e.service,
            e.action,
            e.resource,
            e.code
                .as_deref()
                .map(|c| format!("{c}: "))
                .unwrap_or_default(),
            e.message
        );
        self.errors.lock().expect("error sink").push(e);
    }
    pub fn len(&self) -> usize {
        self.errors.lock().expect("error sink").len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn take(&self) -> Vec<RecordedError> {
        std::mem::take(&mut *self.errors.lock().expect("error sink"))
    }
}

/// What a collector hands back.
#[derive(Debug, Default)]
pub struct CollectorReport {
    pub summary: CollectorSummary,
    /// Regions it touched.
    pub regions: Vec<String>,
    /// Markdown lines for its own MANIFEST.md section.
    pub manifest: Vec<String>,
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One source of resources.
pub trait Collector: Send + Sync {
    /// Short name: `s3`, `lambda`, ... (the key in snapshot_metadata.json).
    fn name(&self) -> &'static str;
    /// Which instance, when a source runs more than once in a run (the account id, for AWS
    /// sources in a several-account snapshot): the key becomes `name:instance`.
    fn instance(&self) -> Option<String> {
        None
    }
    /// The key of this collector in snapshot_metadata.json.
    fn key(&self) -> String {
        match self.instance() {
            Some(i) => format!("{}:{i}", self.name()),
            None => self.name().to_string(),
        }
    }
    fn run(self: Arc<Self>, cx: Arc<RunContext>) -> BoxFuture<'static, CollectorReport>;
}
