//! A snapshot repository on local disk: published snapshots, the shared blob store, staging
//! folders for runs in progress, and the lock that keeps two writers apart.
//!
//! ```text
//! <repo>/
//!   <snapshot name>/           one folder per published snapshot (never modified again)
//!   .infrasnap/repo.json       format version, creation time
//!   .infrasnap/blobs/          content-addressed store (see store.rs)
//!   .infrasnap/tmp/incoming/   blobs being written
//!   .infrasnap/tmp/staging-*/  snapshots being built; published by one rename
//!   .infrasnap/lock            OS file lock held by the one writing run
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, IoContext, Result};
use crate::ids::SnapshotName;
use crate::metadata::SnapshotMetadata;
use crate::store::BlobStore;

/// Version of the on-disk format written by this build. See docs/FORMAT.md. Version 2 added the
/// resource catalog (`catalog/`) and account-qualified paths; this build reads version 1
/// snapshots too (list, show, verify; diff compares their S3 data).
pub const FORMAT_VERSION: u32 = 2;

const META_DIR: &str = ".infrasnap";

#[derive(Debug, Serialize, Deserialize)]
struct RepoConfig {
    format_version: u32,
    created_at: chrono::DateTime<chrono::Utc>,
    created_by: String,
}

#[derive(Debug, Clone)]
pub struct Repository {
    root: PathBuf,
    store: BlobStore,
}

impl Repository {
    /// Open the repository at `root`, creating it if the folder is missing or empty.
    pub fn open_or_init(root: &Path) -> Result<Self> {
        let meta = root.join(META_DIR);
        if !meta.join("repo.json").exists() {
            if root.exists() {
                let non_empty = fs::read_dir(root)
                    .ctx("read folder", root)?
                    .flatten()
                    .any(|e| e.file_name() != META_DIR);
                if non_empty {
                    return Err(CoreError::InvalidName {
                        name: root.display().to_string(),
                        why: "this folder is not empty and is not an infrasnap repository; \
                              pass --repo with a new or empty folder"
                            .into(),
                    });
                }
            }
            fs::create_dir_all(&meta).ctx("create repository", &meta)?;
            let cfg = RepoConfig {
                format_version: FORMAT_VERSION,
                created_at: chrono::Utc::now(),
                created_by: format!("infrasnap {}", env!("CARGO_PKG_VERSION")),
            };
            write_atomic(
                &meta.join("repo.json"),
                serde_json::to_vec_pretty(&cfg)
                    .expect("serialisable")
                    .as_slice(),
            )?;
        }
        Self::open(root)
    }

    /// Open an existing repository.
    pub fn open(root: &Path) -> Result<Self> {
        let meta = root.join(META_DIR);
        let cfg_path = meta.join("repo.json");
        let raw = fs::read(&cfg_path).map_err(|_| CoreError::NotARepository {
            path: root.to_path_buf(),
        })?;
        let cfg: RepoConfig = serde_json::from_slice(&raw).map_err(|e| CoreError::Parse {
            path: cfg_path.clone(),
            line: e.line(),
            message: e.to_string(),
        })?;
        if cfg.format_version > FORMAT_VERSION {
            return Err(CoreError::UnsupportedFormat {
                path: root.to_path_buf(),
                found: cfg.format_version,
                supported: FORMAT_VERSION,
            });
        }
        let store = BlobStore::open(meta.join("blobs"), meta.join("tmp").join("incoming"))?;
        Ok(Repository {
            root: root.to_path_buf(),
            store,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A repository of an older format that gets a snapshot of this format says so in its
    /// `repo.json`, so an older infrasnap refuses it instead of mixing layouts. Earlier snapshots
    /// are not touched: their own metadata keeps their format version.
    fn upgrade_format(&self) -> Result<()> {
        let p = self.root.join(META_DIR).join("repo.json");
        let raw = fs::read(&p).ctx("read", &p)?;
        let mut cfg: RepoConfig = serde_json::from_slice(&raw).map_err(|e| CoreError::Parse {
            path: p.clone(),
            line: e.line(),
            message: e.to_string(),
        })?;
        if cfg.format_version < FORMAT_VERSION {
            cfg.format_version = FORMAT_VERSION;
            write_atomic(
                &p,
                serde_json::to_vec_pretty(&cfg)
                    .expect("serialisable")
                    .as_slice(),
            )?;
        }
        Ok(())
    }

    pub fn store(&self) -> &BlobStore {
        &self.store
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join(META_DIR).join("tmp")
    }

    pub fn snapshot_dir(&self, name: &SnapshotName) -> PathBuf {
        self.root.join(name.as_str())
    }

    /// Take the repository's write lock. `wait`: how long to wait for another run to finish
    /// (`None`: do not wait). The lock is an OS file lock, released by the kernel when its holder
    /// exits however it exits, so a killed run never leaves the repository locked.
    pub fn lock(&self, wait: Option<Duration>) -> Result<RepoLock> {
        let path = self.root.join(META_DIR).join("lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .ctx("open lock file", &path)?;
        let deadline = wait.map(|w| Instant::now() + w);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) => {
                    let now = Instant::now();
                    match deadline {
                        Some(d) if now < d => std::thread::sleep(Duration::from_millis(200)),
                        _ => {
                            let holder = read_holder(&mut file);
                            return Err(CoreError::Locked {
                                repo: self.root.clone(),
                                holder: if holder.is_empty() {
                                    "another infrasnap run".into()
                                } else {
                                    holder
                                },
                            });
                        }
                    }
                }
                Err(fs::TryLockError::Error(e)) => return Err(CoreError::io("lock", &path, e)),
            }
        }
        // A previous holder's details are stale now (its process is gone): replace them. Written
        // over the old text and then cut to length, so that a reader never finds the file empty
        // once any run has held it.
        let info = format!(
            "infrasnap pid {} on {} since {}",
            std::process::id(),
            hostname(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        );
        file.rewind().ctx("write lock file", &path)?;
        file.write_all(info.as_bytes())
            .ctx("write lock file", &path)?;
        file.set_len(info.len() as u64)
            .ctx("write lock file", &path)?;
        file.flush().ctx("write lock file", &path)?;
        Ok(RepoLock { _file: file })
    }

    /// Published snapshots, oldest first (by start time, then name). A snapshot whose metadata
    /// cannot be read is skipped with a warning (`verify` of it by name reports why).
    pub fn snapshots(&self) -> Result<Vec<SnapshotMetadata>> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.root).ctx("read repository", &self.root)? {
            let e = e.ctx("read repository", &self.root)?;
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue;
            }
            let meta = e.path().join("snapshot_metadata.json");
            if meta.is_file() {
                // One unreadable snapshot must not make the others unreachable.
                match read_metadata(&meta) {
                    Ok(m) => out.push(m),
                    Err(err) => tracing::warn!("skipping snapshot `{name}`: {err}"),
                }
            }
        }
        out.sort_by(|a, b| (a.started_at, &a.name).cmp(&(b.started_at, &b.name)));
        Ok(out)
    }

    pub fn metadata(&self, name: &SnapshotName) -> Result<SnapshotMetadata> {
        let p = self.snapshot_dir(name).join("snapshot_metadata.json");
        if !p.is_file() {
            return Err(CoreError::SnapshotNotFound {
                name: name.to_string(),
                repo: self.root.clone(),
            });
        }
        read_metadata(&p)
    }

    /// The snapshot a new run builds on: the latest that captured anything (not `failed`).
    pub fn parent_for_new_run(&self) -> Result<Option<SnapshotMetadata>> {
        Ok(self
            .snapshots()?
            .into_iter()
            .rev()
            .find(|m| m.status != crate::metadata::Status::Failed))
    }

    /// Start building a snapshot. Requires the lock; fails if the name is taken.
    pub fn begin(&self, name: &SnapshotName, _lock: &RepoLock) -> Result<Staging> {
        self.upgrade_format()?;
        if self.snapshot_dir(name).exists() {
            return Err(CoreError::SnapshotExists {
                name: name.to_string(),
                repo: self.root.clone(),
            });
        }
        self.store.clean_incoming();
        let dir = self.tmp_dir().join(format!(
            "staging-{}-{}",
            name,
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        fs::create_dir_all(&dir).ctx("create staging folder", &dir)?;
        Ok(Staging {
            flusher: Some(Flusher::start(dir.clone())),
            dir,
            final_dir: self.snapshot_dir(name),
            repo: self.clone(),
        })
    }

    /// Staging folders of runs that were killed before they published (only meaningful while the
    /// lock is held: then no other run is writing). Their indexes let the next run reuse what they
    /// already downloaded.
    pub fn abandoned_stagings(&self, except: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(self.tmp_dir())
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("staging-"))
                            && p != except
                    })
                    .collect()
            })
            .unwrap_or_default();
        // Oldest first, by the start time in the name's last part (later runs win lookups).
        v.sort_by_key(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.rsplit('-').next())
                .and_then(|t| t.parse::<i64>().ok())
                .unwrap_or(0)
        });
        v
    }
}

fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

fn read_metadata(p: &Path) -> Result<SnapshotMetadata> {
    let raw = fs::read(p).ctx("read", p)?;
    let m: SnapshotMetadata = serde_json::from_slice(&raw).map_err(|e| CoreError::Parse {
        path: p.to_path_buf(),
        line: e.line(),
        message: e.to_string(),
    })?;
    if m.format_version > FORMAT_VERSION {
        return Err(CoreError::UnsupportedFormat {
            path: p.to_path_buf(),
            found: m.format_version,
            supported: FORMAT_VERSION,
        });
    }
    Ok(m)
}

/// The holder's details from the lock file. A holder that has just taken the lock may not have
/// written them yet (the file of a new repository starts empty): look again for up to a second.
fn read_holder(file: &mut File) -> String {
    for _ in 0..20 {
        let mut text = String::new();
        if file.rewind().is_ok() && file.read_to_string(&mut text).is_ok() {
            let text = text.trim();
            if text.starts_with("infrasnap pid ") {
                return text.to_string();
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    String::new()
}

/// Held while a run writes to the repository.
#[derive(Debug)]
pub struct RepoLock {
    _file: File,
}

/// A snapshot under construction.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    final_dir: PathBuf,
    repo: Repository,
    flusher: Option<Flusher>,
}

/// Writes what the run has stored so far to disk every few seconds, while the run goes on, so
/// that the sync before publishing has little left to do (the kernel would otherwise keep
/// gigabytes of a large first snapshot in memory until that sync, and the run would wait for the
/// disk at its end instead of during the downloads).
#[derive(Debug)]
struct Flusher {
    stop: std::sync::mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flusher {
    const EVERY: Duration = Duration::from_secs(2);

    fn start(dir: PathBuf) -> Flusher {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("infrasnap-flush".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(Self::EVERY)
                {
                    sync_filesystem(&dir);
                }
            })
            .ok();
        Flusher { stop, thread }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        let _ = self.stop.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Staging {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Write the metadata and manifest, flush everything to disk, and publish the snapshot with
    /// one rename. Then remove staging folders of killed runs, whose blobs this run reused.
    pub fn publish(mut self, meta: &SnapshotMetadata, manifest: &str) -> Result<PathBuf> {
        drop(self.flusher.take());
        write_atomic(&self.dir.join("MANIFEST.md"), manifest.as_bytes())?;
        write_atomic(
            &self.dir.join("snapshot_metadata.json"),
            serde_json::to_vec_pretty(meta)
                .expect("serialisable")
                .as_slice(),
        )?;
        sync_filesystem(&self.dir);
        fs::rename(&self.dir, &self.final_dir).ctx("publish snapshot", &self.final_dir)?;
        sync_filesystem(&self.final_dir);
        for old in self.repo.abandoned_stagings(&self.dir) {
            let _ = remove_tree(&old);
        }
        Ok(self.final_dir)
    }
}

/// A snapshot captured to be compared, not kept (`infrasnap diff --live`): complete like a
/// published one (catalog, metadata, MANIFEST.md), left in its staging folder, and removed when
/// dropped. What it stored stays in the blob store for the next run to link.
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = remove_tree(&self.dir);
    }
}

impl Staging {
    /// Finish the snapshot as a [`Scratch`]: metadata and manifest written, nothing published.
    pub fn into_scratch(mut self, meta: &SnapshotMetadata, manifest: &str) -> Result<Scratch> {
        drop(self.flusher.take());
        write_atomic(&self.dir.join("MANIFEST.md"), manifest.as_bytes())?;
        write_atomic(
            &self.dir.join("snapshot_metadata.json"),
            serde_json::to_vec_pretty(meta)
                .expect("serialisable")
                .as_slice(),
        )?;
        Ok(Scratch {
            dir: self.dir.clone(),
        })
    }
}

/// Remove a tree whose files may be read-only.
pub fn remove_tree(p: &Path) -> std::io::Result<()> {
    fs::remove_dir_all(p)
}

/// Make what was written so far durable before the publishing rename.
fn sync_filesystem(p: &Path) {
    if let Ok(f) = File::open(p) {
        #[cfg(target_os = "linux")]
        let _ = rustix::fs::syncfs(&f);
        #[cfg(not(target_os = "linux"))]
        let _ = f.sync_all();
    }
}

/// Write a small file completely or not at all.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}-{n}", std::process::id()));
    let tmp = path.with_file_name(name);
    {
        let mut f = File::create(&tmp).ctx("create", &tmp)?;
        f.write_all(bytes).ctx("write", &tmp)?;
        f.sync_all().ctx("sync", &tmp)?;
    }
    fs::rename(&tmp, path).ctx("rename into place", path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_refuses_a_non_empty_foreign_folder() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("important.txt"), b"x").unwrap();
        let err = Repository::open_or_init(d.path()).unwrap_err();
        assert!(err.to_string().contains("not an infrasnap repository"));
    }

    #[test]
    fn open_of_a_missing_repository_says_how_to_fix_it() {
        let d = tempfile::tempdir().unwrap();
        let err = Repository::open(&d.path().join("nope")).unwrap_err();
        assert!(err.to_string().contains("--repo"), "{err}");
    }

    #[test]
    fn second_lock_fails_with_holder_and_is_free_after_drop() {
        let d = tempfile::tempdir().unwrap();
        let repo = Repository::open_or_init(&d.path().join("r")).unwrap();
        let l = repo.lock(None).unwrap();
        // flock locks belong to the open file description: a second open conflicts.
        let err = repo.lock(None).unwrap_err();
        assert!(err.to_string().contains("pid"), "{err}");
        drop(l);
        repo.lock(None).unwrap();
    }

    #[test]
    fn a_holder_that_has_not_yet_written_its_details_is_still_named() {
        let d = tempfile::tempdir().unwrap();
        let repo = Repository::open_or_init(&d.path().join("r")).unwrap();
        let path = repo.root().join(META_DIR).join("lock");
        let holder = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .unwrap();
        holder.try_lock().unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            (&holder)
                .write_all(b"infrasnap pid 42 on h since t")
                .unwrap();
            std::thread::sleep(Duration::from_millis(1500));
            drop(holder);
        });
        let err = repo.lock(None).unwrap_err();
        assert!(err.to_string().contains("infrasnap pid 42"), "{err}");
        writer.join().unwrap();
        // Once a run has held it, the details are replaced in place, never emptied.
        drop(repo.lock(None).unwrap());
        assert!(fs::read_to_string(&path)
            .unwrap()
            .starts_with("infrasnap pid "));
    }

    #[test]
    fn begin_refuses_an_existing_name() {
        let d = tempfile::tempdir().unwrap();
        let repo = Repository::open_or_init(&d.path().join("r")).unwrap();
        let l = repo.lock(None).unwrap();
        let name: SnapshotName = "v1".parse().unwrap();
        fs::create_dir_all(repo.snapshot_dir(&name)).unwrap();
        assert!(matches!(
            repo.begin(&name, &l).unwrap_err(),
            CoreError::SnapshotExists { .. }
        ));
    }

    #[test]
    fn a_format_1_repository_is_marked_format_2_by_its_first_new_run_only() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("r");
        Repository::open_or_init(&root).unwrap();
        let cfg_path = root.join(".infrasnap/repo.json");
        let text = fs::read_to_string(&cfg_path).unwrap();
        fs::write(
            &cfg_path,
            text.replace("\"format_version\": 2", "\"format_version\": 1"),
        )
        .unwrap();
        let repo = Repository::open(&root).unwrap();
        assert!(fs::read_to_string(&cfg_path)
            .unwrap()
            .contains("\"format_version\": 1"));
        let l = repo.lock(None).unwrap();
        let st = repo.begin(&"v2".parse().unwrap(), &l).unwrap();
        assert!(fs::read_to_string(&cfg_path)
            .unwrap()
            .contains("\"format_version\": 2"));
        // A scratch snapshot is removed when dropped and never published.
        let meta_dir = st.dir().to_path_buf();
        let m: SnapshotMetadata = serde_json::from_str(
            &serde_json::json!({
                "tool": "infrasnap", "tool_version": "0", "format_version": 2, "name": "v2",
                "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:00:00Z",
                "duration_seconds": 0.0, "status": "complete", "regions": [],
                "totals": {"objects": 0, "bytes": 0, "bytes_new": 0, "blobs_new": 0, "errors": 0},
                "collectors": {}, "errors": []
            })
            .to_string(),
        )
        .unwrap();
        let scratch = st.into_scratch(&m, "# x\n").unwrap();
        assert!(scratch.dir().join("snapshot_metadata.json").exists());
        assert!(!repo.snapshot_dir(&"v2".parse().unwrap()).exists());
        drop(scratch);
        assert!(!meta_dir.exists());
    }
}
