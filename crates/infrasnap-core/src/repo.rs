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
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
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
    /// Names the repository's fingerprint key outside it (secrets.rs). Repositories created
    /// before it existed use an id derived from `created_at` and `created_by`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
}

impl RepoConfig {
    fn id(&self) -> String {
        self.id.clone().unwrap_or_else(|| {
            let h = blake3::hash(
                format!(
                    "infrasnap repository {} {}",
                    self.created_at.to_rfc3339(),
                    self.created_by
                )
                .as_bytes(),
            );
            h.to_hex().as_str()[..32].to_string()
        })
    }
}

/// The id of the repository whose `.infrasnap` folder is `meta_dir` (names its fingerprint key).
/// A folder without `repo.json` (tests of parts) gets an id derived from its path.
pub fn repository_id(meta_dir: &Path) -> Result<String> {
    let p = meta_dir.join("repo.json");
    match fs::read(&p) {
        Ok(raw) => {
            let cfg: RepoConfig = serde_json::from_slice(&raw).map_err(|e| CoreError::Parse {
                path: p.clone(),
                line: e.line(),
                message: e.to_string(),
            })?;
            Ok(cfg.id())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let abs = std::path::absolute(meta_dir).unwrap_or_else(|_| meta_dir.to_path_buf());
            let h = blake3::hash(abs.to_string_lossy().as_bytes());
            Ok(h.to_hex().as_str()[..32].to_string())
        }
        Err(e) => Err(CoreError::io("read", &p, e)),
    }
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
            create_private_dir_all(&meta)?;
            let cfg = RepoConfig {
                format_version: FORMAT_VERSION,
                created_at: chrono::Utc::now(),
                created_by: format!("infrasnap {}", env!("CARGO_PKG_VERSION")),
                id: Some(random_suffix()[..24].to_string()),
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
        check_private(root)?;
        check_private(&meta)?;
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
            .mode(0o600)
            .custom_flags(libc_flags::NOFOLLOW)
            .open(&path)
            .ctx("open lock file (a symbolic link is refused)", &path)?;
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

    /// Every snapshot folder, including damaged ones, oldest first (damaged ones whose metadata
    /// is unreadable come last, by name). A folder counts as a snapshot when it holds its
    /// metadata, its seal, `MANIFEST.md` or `index/`: a snapshot whose metadata was deleted or
    /// cut short never vanishes. The check is cheap: the metadata parses, and matches the seal
    /// where the snapshot has one (`verify` checks the rest).
    pub fn entries(&self) -> Result<Vec<SnapshotEntry>> {
        let mut good = Vec::new();
        let mut bad = Vec::new();
        for e in fs::read_dir(&self.root).ctx("read repository", &self.root)? {
            let e = e.ctx("read repository", &self.root)?;
            let name = e.file_name().to_string_lossy().to_string();
            let dir = e.path();
            if name.starts_with('.') || !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let looks_like_snapshot = ["snapshot_metadata.json", crate::seal::SEAL_FILE]
                .iter()
                .chain(&["MANIFEST.md", "index", "catalog"])
                .any(|f| dir.join(f).exists());
            if !looks_like_snapshot {
                continue;
            }
            let meta_path = dir.join("snapshot_metadata.json");
            let meta = if meta_path.exists() {
                read_metadata(&meta_path).map_err(|e| e.to_string())
            } else {
                Err("its snapshot_metadata.json is missing".to_string())
            };
            let seal = crate::seal::Seal::read(&dir);
            let damage = match (&meta, &seal) {
                (Err(why), _) => Some(why.clone()),
                (Ok(_), Ok(seal)) => match seal.check_file(&dir, "snapshot_metadata.json") {
                    crate::seal::FileCheck::Intact => None,
                    _ => Some("its snapshot_metadata.json differs from its seal".to_string()),
                },
                (Ok(m), Err(crate::seal::SealError::Missing)) if m.seal.is_none() => None,
                (Ok(_), Err(e)) => Some(e.to_string()),
            };
            match meta {
                Ok(m) => good.push(SnapshotEntry {
                    name,
                    meta: Some(m),
                    damage,
                }),
                Err(_) => bad.push(SnapshotEntry {
                    name,
                    meta: None,
                    damage,
                }),
            }
        }
        good.sort_by(|a, b| {
            let (a, b) = (
                a.meta.as_ref().expect("good"),
                b.meta.as_ref().expect("good"),
            );
            (a.started_at, &a.name).cmp(&(b.started_at, &b.name))
        });
        bad.sort_by(|a, b| a.name.cmp(&b.name));
        good.extend(bad);
        Ok(good)
    }

    /// Which of the parent snapshot's index and catalog files a new run may trust for reuse:
    /// each is checked against the parent's seal before anything is linked from it. A file that
    /// differs from the seal, or that the seal does not name, is untrusted (its objects are
    /// downloaded again); a parent whose seal is missing or damaged is untrusted whole. A parent
    /// written before seals existed is trusted as before (`unsealed`).
    pub fn trusted_parent_index(&self, name: &str) -> Result<ParentTrust> {
        let dir = self.root.join(name);
        let sealed_by_meta = read_metadata(&dir.join("snapshot_metadata.json"))
            .map(|m| m.seal.is_some())
            .unwrap_or(true);
        let seal = match crate::seal::Seal::read(&dir) {
            Ok(s) => s,
            Err(crate::seal::SealError::Missing) if !sealed_by_meta => {
                return Ok(ParentTrust {
                    dir,
                    sealed: false,
                    all_untrusted: None,
                    untrusted: Vec::new(),
                })
            }
            Err(e) => {
                return Ok(ParentTrust {
                    dir,
                    sealed: false,
                    all_untrusted: Some(e.to_string()),
                    untrusted: Vec::new(),
                })
            }
        };
        let mut untrusted = Vec::new();
        for rel in crate::seal::sealable_files(&dir)? {
            if !(rel.starts_with("index/") || rel.starts_with("catalog/")) {
                continue;
            }
            if seal.check_file(&dir, &rel) != crate::seal::FileCheck::Intact {
                untrusted.push(rel);
            }
        }
        Ok(ParentTrust {
            dir,
            sealed: true,
            all_untrusted: None,
            untrusted,
        })
    }

    /// Whether the index or catalog file `rel` of the published snapshot folder `dir` may be
    /// reused, by the same rule as [`trusted_parent_index`](Self::trusted_parent_index): the
    /// snapshot's seal is intact and names the file with its present bytes, or the snapshot was
    /// written before seals existed. `Err` says why not. Used for the older snapshots a run falls
    /// back to when its parent did not cover a container.
    pub fn index_trusted(dir: &Path, rel: &str) -> std::result::Result<(), String> {
        let sealed_by_meta = read_metadata(&dir.join("snapshot_metadata.json"))
            .map(|m| m.seal.is_some())
            .unwrap_or(true);
        match crate::seal::Seal::read(dir) {
            Ok(seal) => match seal.check_file(dir, rel) {
                crate::seal::FileCheck::Intact => Ok(()),
                crate::seal::FileCheck::NotSealed => Err("its seal does not name it".into()),
                crate::seal::FileCheck::Missing => Err("it cannot be read".into()),
                crate::seal::FileCheck::Damaged(why) => {
                    Err(format!("it differs from the seal: {why}"))
                }
            },
            Err(crate::seal::SealError::Missing) if !sealed_by_meta => Ok(()),
            Err(e) => Err(e.to_string()),
        }
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
        create_private_dir_all(&dir)?;
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

/// One snapshot folder as [`Repository::entries`] finds it.
#[derive(Debug, Clone)]
pub struct SnapshotEntry {
    /// The folder name.
    pub name: String,
    /// `None` when the metadata is missing or unreadable.
    pub meta: Option<SnapshotMetadata>,
    /// Why the snapshot is damaged (metadata or seal), from the cheap check.
    pub damage: Option<String>,
}

/// The outcome of [`Repository::trusted_parent_index`].
#[derive(Debug, Clone)]
pub struct ParentTrust {
    pub dir: PathBuf,
    /// The parent has an intact seal.
    pub sealed: bool,
    /// Why nothing of the parent may be reused (its seal is missing or damaged).
    pub all_untrusted: Option<String>,
    /// Index and catalog files (relative) that differ from the seal or that it does not name.
    pub untrusted: Vec<String>,
}

impl ParentTrust {
    /// True when the parent's index file `rel` may be reused.
    pub fn trusts(&self, rel: &str) -> bool {
        self.all_untrusted.is_none() && !self.untrusted.iter().any(|u| u == rel)
    }

    /// A line for the snapshot's notes when anything was distrusted.
    pub fn note(&self) -> Option<String> {
        let name = self
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(why) = &self.all_untrusted {
            return Some(format!(
                "the parent snapshot `{name}` was not reused: {why}; its data was taken from older intact snapshots or downloaded \
                 again (run `infrasnap verify {name}`)"
            ));
        }
        if !self.untrusted.is_empty() {
            return Some(format!(
                "index files of the parent snapshot `{name}` differ from its seal and were not \
                 reused ({}); their objects were taken from older intact snapshots or downloaded \
                 again (run `infrasnap verify {name}`)",
                self.untrusted.join(", ")
            ));
        }
        None
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
    /// The seal is written last (`snapshot_seal.json`): it lists the index, catalog, metadata,
    /// MANIFEST.md and `manifest.json` with their hashes, and the metadata names it.
    pub fn publish(
        mut self,
        meta: &SnapshotMetadata,
        manifest: &str,
        data: &crate::manifest::ManifestData,
    ) -> Result<PathBuf> {
        drop(self.flusher.take());
        let mut meta = meta.clone();
        meta.seal = Some(crate::seal::SEAL_FILE.to_string());
        write_manifest(&self.dir, manifest, data)?;
        write_atomic(
            &self.dir.join("snapshot_metadata.json"),
            serde_json::to_vec_pretty(&meta)
                .expect("serialisable")
                .as_slice(),
        )?;
        crate::seal::Seal::compute(&self.dir, &meta.name)?.write(&self.dir)?;
        sync_filesystem(&self.dir);
        fs::rename(&self.dir, &self.final_dir).ctx("publish snapshot", &self.final_dir)?;
        sync_filesystem(&self.final_dir);
        for old in self.repo.abandoned_stagings(&self.dir) {
            let _ = remove_tree(&old);
        }
        Ok(self.final_dir)
    }
}

/// MANIFEST.md for people and `manifest.json`, its sections as data, for the report.
fn write_manifest(dir: &Path, markdown: &str, data: &crate::manifest::ManifestData) -> Result<()> {
    write_atomic(&dir.join("MANIFEST.md"), markdown.as_bytes())?;
    write_atomic(
        &dir.join(crate::manifest::MANIFEST_DATA_FILE),
        serde_json::to_vec_pretty(data)
            .expect("serialisable")
            .as_slice(),
    )
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
    pub fn into_scratch(
        mut self,
        meta: &SnapshotMetadata,
        manifest: &str,
        data: &crate::manifest::ManifestData,
    ) -> Result<Scratch> {
        drop(self.flusher.take());
        write_manifest(&self.dir, manifest, data)?;
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

/// Write a small file completely or not at all: an owner-only (0600) temporary file with an
/// unpredictable name, created exclusively without following symbolic links, then renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let (tmp, mut f) = create_temp_beside(path, 0o600)?;
    let done = f
        .write_all(bytes)
        .ctx("write", &tmp)
        .and_then(|()| f.sync_all().ctx("sync", &tmp));
    drop(f);
    if let Err(e) = done.and_then(|()| fs::rename(&tmp, path).ctx("rename into place", path)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// Open flags this module adds (Linux and macOS both have `O_NOFOLLOW`).
mod libc_flags {
    pub const NOFOLLOW: i32 = rustix::fs::OFlags::NOFOLLOW.bits() as i32;
}

/// An unpredictable suffix for temporary names.
pub fn random_suffix() -> String {
    let mut b = [0u8; 12];
    if getrandom::fill(&mut b).is_err() {
        // No OS randomness: still unique (exclusive creation refuses any collision).
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        b[..12].copy_from_slice(&n.to_le_bytes()[..12]);
    }
    hex::encode(b)
}

/// Create a new file next to `path` (same folder) with an unpredictable name, exclusively
/// (`O_CREAT|O_EXCL`, so a planted file or symbolic link is never written through), with `mode`.
pub fn create_temp_beside(path: &Path, mode: u32) -> Result<(PathBuf, File)> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", random_suffix()));
    let tmp = path.with_file_name(name);
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc_flags::NOFOLLOW)
        .open(&tmp)
        .ctx("create", &tmp)?;
    // The umask may have narrowed the mode; never widened it. Set it exactly.
    f.set_permissions(fs::Permissions::from_mode(mode))
        .ctx("set permissions", &tmp)?;
    Ok((tmp, f))
}

/// `create_dir_all` with every folder it creates owner-only (0700), whatever the umask.
pub fn create_private_dir_all(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .ctx("create folder", dir)
}

/// Refuse a folder someone else could change: not owned by this user, or writable by the group
/// or the world. (A folder that is missing is not refused here.)
pub fn check_private(dir: &Path) -> Result<()> {
    let Ok(m) = fs::symlink_metadata(dir) else {
        return Ok(());
    };
    let me = rustix::process::geteuid().as_raw();
    let m = if m.file_type().is_symlink() {
        // A repository reached through a link of one's own is fine; check what it points to.
        match fs::metadata(dir) {
            Ok(t) if m.uid() == me => t,
            _ => {
                return Err(CoreError::Unsafe {
                    path: dir.to_path_buf(),
                    why: "it is a symbolic link owned by another user".into(),
                })
            }
        }
    } else {
        m
    };
    if m.uid() != me && me != 0 {
        return Err(CoreError::Unsafe {
            path: dir.to_path_buf(),
            why: format!(
                "it is owned by user id {}, not by you (user id {me}); another user could read                  or change what infrasnap stores there. Use a folder of your own",
                m.uid()
            ),
        });
    }
    if m.mode() & 0o022 != 0 {
        return Err(CoreError::Unsafe {
            path: dir.to_path_buf(),
            why: format!(
                "it is writable by the group or by everyone (mode {:o}); run `chmod go-w {}`",
                m.mode() & 0o7777,
                dir.display()
            ),
        });
    }
    Ok(())
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

    fn meta(name: &str) -> SnapshotMetadata {
        serde_json::from_value(serde_json::json!({
            "tool": "infrasnap", "tool_version": "0", "format_version": 2, "name": name,
            "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:00:00Z",
            "duration_seconds": 0.0, "status": "complete", "regions": [],
            "totals": {"objects": 0, "bytes": 0, "bytes_new": 0, "blobs_new": 0, "errors": 0},
            "collectors": {}, "errors": []
        }))
        .unwrap()
    }

    #[test]
    fn a_parents_index_is_trusted_only_as_its_seal_says() {
        let d = tempfile::tempdir().unwrap();
        let repo = Repository::open_or_init(&d.path().join("r")).unwrap();
        let l = repo.lock(None).unwrap();
        let st = repo.begin(&"p".parse().unwrap(), &l).unwrap();
        fs::create_dir_all(st.dir().join("index/s3_buckets")).unwrap();
        fs::write(st.dir().join("index/s3_buckets/a.jsonl"), "{}\n").unwrap();
        fs::write(st.dir().join("index/s3_buckets/b.jsonl"), "{}\n").unwrap();
        let dir = st
            .publish(&meta("p"), "# p\n", &Default::default())
            .unwrap();
        let t = repo.trusted_parent_index("p").unwrap();
        assert!(
            t.sealed && t.untrusted.is_empty() && t.note().is_none(),
            "{t:?}"
        );
        // Owner-only files and folders, whatever the umask.
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("snapshot_seal.json")), 0o600);
        assert_eq!(mode(&dir.join("MANIFEST.md")), 0o600);

        // An edited index, and one the seal does not name, are not trusted.
        let a = dir.join("index/s3_buckets/a.jsonl");
        fs::write(&a, "{\"swapped\": 1}\n").unwrap();
        fs::write(dir.join("index/s3_buckets/planted.jsonl"), "{}\n").unwrap();
        let t = repo.trusted_parent_index("p").unwrap();
        assert_eq!(
            t.untrusted,
            ["index/s3_buckets/a.jsonl", "index/s3_buckets/planted.jsonl"]
        );
        assert!(!t.trusts("index/s3_buckets/a.jsonl"));
        assert!(t.trusts("index/s3_buckets/b.jsonl"));
        assert!(t.note().unwrap().contains("differ from its seal"));

        // A missing seal, with metadata that names one: nothing is trusted.
        fs::remove_file(dir.join("snapshot_seal.json")).unwrap();
        let t = repo.trusted_parent_index("p").unwrap();
        assert!(t.all_untrusted.is_some() && !t.trusts("index/s3_buckets/b.jsonl"));
        let entries = repo.entries().unwrap();
        assert_eq!(entries.len(), 1);
        assert!(entries[0].damage.as_deref().unwrap().contains("missing"));
    }

    #[test]
    fn a_group_writable_repository_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("r");
        Repository::open_or_init(&root).unwrap();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o775)).unwrap();
        let err = Repository::open(&root).unwrap_err();
        assert!(err.to_string().contains("chmod go-w"), "{err}");
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        Repository::open(&root).unwrap();
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
        let scratch = st.into_scratch(&m, "# x\n", &Default::default()).unwrap();
        assert!(scratch.dir().join("snapshot_metadata.json").exists());
        assert!(!repo.snapshot_dir(&"v2".parse().unwrap()).exists());
        drop(scratch);
        assert!(!meta_dir.exists());
    }
}
