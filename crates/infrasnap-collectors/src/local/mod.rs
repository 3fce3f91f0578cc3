//! Local ops files: git repositories (bundle of every ref plus the uncommitted working state),
//! plain folders, and scheduled agents (LaunchAgents, systemd user units, crontab).
//!
//! Resources (the catalog places every file; `infrasnap_core::catalog::kinds`):
//! - git (git.rs): `local.git:::<name>`, document `local_repos/<name>/state.json`; parts
//!   `repo.bundle`, `staged.patch`, `unstaged.patch`, `RESTORE.md`, and the folders
//!   `untracked/<path>`, `conflicted/<path>`;
//! - folder (folder.rs): `local.folder:::<name>`, document `local_repos/<name>/folder.json`;
//!   the folder `files/<path>`;
//! - both: `secrets_manifest.json`, `redactions.json`, and with `--keep-secrets`
//!   `kept_secrets/<path>.age`;
//! - agents (agents.rs): one `local.agent` per agent file (`launchd:<file>`, `systemd:<unit>`,
//!   `crontab`), its file at `local_repos/agents/LaunchAgents/*.plist`, `.../systemd/<unit>`,
//!   `.../crontab`, its document in `local_repos/agents/agents.json`.
//!
//! Every tree file of a git or folder source is listed in its own index
//! `index/local/<name>.jsonl` (one [`LocalRecord`] per file: `path`, `blob`, `size`, `kind`, and
//! for files of the source their `rel`ative path, `mode` and `mtime`); documents and agents'
//! files are in `index/files.jsonl`. Symlinks are recorded, never followed and never created:
//! the tree file holds the link's target (as git stores links) and the record says
//! `kind: "symlink"`, `link_target`. Nothing outside the snapshot folder is ever written (every
//! tree path goes through `RunContext::tree_path`), and the sources are only read: git runs with
//! optional locks off, so not even the index of a captured repository is refreshed.
//!
//! Coverage: `local.git` and `local.folder` are complete unless a configured source of that kind
//! could not be read at all (then it is failed, and the source leaves nothing in the snapshot);
//! `local.agent` is failed when an agents folder or `crontab -l` could not be read. A source
//! read only in part is marked incomplete.
//!
//! Secrets (shield.rs): files whose names say they hold secrets are withheld (name, size and a
//! keyed fingerprint go to `secrets_manifest.json`, or the agent's document); secret-looking
//! values in other text files are replaced with markers in the copy and listed in
//! `redactions.json` (or the agent's document); with `--keep-secrets` the originals are stored
//! encrypted to the configured age recipient under `kept_secrets/`.
//!
//! Incremental: file content goes through the blob store (unchanged files cost no new blob); an
//! unchanged bundle (same refs) and an unchanged kept secret (same fingerprint, same recipient)
//! are linked from the previous snapshot instead of being made again (age encryption is
//! randomised), so a second snapshot of unchanged sources adds no blob.

mod agents;
mod folder;
mod git;
mod patch;
mod shield;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::Metadata;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use infrasnap_core::catalog::Catalog;
use infrasnap_core::config::{expand_home, LocalKind, LocalSource, SecretsConfig};
use infrasnap_core::engine::{BoxFuture, Collector, CollectorReport, ErrorSink, RunContext};
use infrasnap_core::ids::{BlobId, ResourceId};
use infrasnap_core::index::{read_all, IndexWriter};
use infrasnap_core::manifest::{human_bytes, Blocks, Table};
use infrasnap_core::metadata::{RecordedError, Status};
use infrasnap_core::secrets::Fingerprinter;
use serde::{Deserialize, Serialize};

pub use shield::Keeper;

/// The age crate, for callers (tests) that need to decrypt what `--keep-secrets` stored.
pub use age;

/// Folder of the snapshot tree that holds every local source.
pub const LOCAL_DIR: &str = "local_repos";
/// Folder name (under [`LOCAL_DIR`]) of the agents source.
pub const AGENTS_DIR: &str = "agents";

pub struct LocalCollector {
    pub sources: Vec<LocalSource>,
    pub home: Option<PathBuf>,
    /// Whether to keep originals of secrets (encrypted) and the recipient to encrypt them to.
    pub secrets: SecretsConfig,
}

impl LocalCollector {
    pub fn new(sources: Vec<LocalSource>, home: Option<PathBuf>) -> Self {
        LocalCollector {
            sources,
            home,
            secrets: SecretsConfig::default(),
        }
    }

    /// The secrets policy: `keep` (the config's `[secrets] keep` or `--keep-secrets`) and the
    /// age `recipient` to encrypt kept originals to.
    pub fn with_secrets(mut self, secrets: SecretsConfig) -> Self {
        self.secrets = secrets;
        self
    }
}

impl Collector for LocalCollector {
    fn name(&self) -> &'static str {
        "local"
    }
    fn run(self: Arc<Self>, cx: Arc<RunContext>) -> BoxFuture<'static, CollectorReport> {
        Box::pin(async move {
            let me = self.clone();
            let cx2 = cx.clone();
            match tokio::task::spawn_blocking(move || me.run_blocking(&cx2)).await {
                Ok(r) => r,
                Err(e) => {
                    let mut r = CollectorReport::default();
                    r.summary.status = Some(Status::Failed);
                    r.summary
                        .errors
                        .push(error("local", "*", format!("crashed: {e}")));
                    r
                }
            }
        })
    }
}

/// An error of this collector, as recorded in the snapshot metadata.
pub(crate) fn error(action: &str, resource: &str, message: impl Into<String>) -> RecordedError {
    RecordedError {
        service: "local".into(),
        action: action.into(),
        resource: resource.into(),
        code: None,
        message: message.into(),
    }
}

/// Index record of one tree file under `local_repos/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalRecord {
    /// Tree path, from the snapshot folder.
    pub path: String,
    pub blob: BlobId,
    pub size: u64,
    /// `file` (a file of the source), `symlink` (the tree file holds the link's target, as git
    /// stores links), `bundle`, `patch`, `generated` (state.json, RESTORE.md, reports) or
    /// `kept_secret` (an original encrypted to the age recipient).
    pub kind: String,
    /// Path relative to the source (files, links, kept secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel: Option<String>,
    /// Permission bits, octal (`0755`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Modification time, RFC 3339 UTC with nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_target: Option<String>,
    /// The copy has secret-looking values replaced with markers (see redactions.json).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
    /// Bundles: digest of the refs they hold (lets the next run reuse an unchanged bundle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refs_digest: Option<String>,
    /// Kept secrets: keyed fingerprint of the original and the recipient it is encrypted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
}

impl LocalRecord {
    fn new(kind: &str) -> Self {
        LocalRecord {
            path: String::new(),
            blob: BlobId::of(b""),
            size: 0,
            kind: kind.into(),
            rel: None,
            mode: None,
            mtime: None,
            link_target: None,
            redacted: false,
            refs_digest: None,
            fingerprint: None,
            recipient: None,
        }
    }

    /// A record for a file of the source, with its mode and mtime.
    fn of_source(kind: &str, rel: &str, meta: &Metadata) -> Self {
        LocalRecord {
            rel: Some(rel.to_string()),
            mode: Some(format!("{:04o}", meta.permissions().mode() & 0o7777)),
            mtime: Some(mtime_of(meta)),
            ..LocalRecord::new(kind)
        }
    }
}

pub(crate) fn mtime_of(meta: &Metadata) -> String {
    let t = chrono::DateTime::from_timestamp(meta.mtime(), meta.mtime_nsec() as u32)
        .unwrap_or_default();
    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// What one source added up to.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tally {
    /// Files of the source captured (copied or redacted; not generated files).
    files: u64,
    bytes: u64,
    bytes_new: u64,
    blobs_new: u64,
    secrets_withheld: u64,
    redactions: u64,
    /// Tree files placed other than the reports (files, links, bundle, patches, kept secrets).
    entries: u64,
}

/// The kinds of the local sources in the catalog.
pub const GIT_KIND: &str = "local.git";
pub const FOLDER_KIND: &str = "local.folder";
pub const AGENT_KIND: &str = "local.agent";

/// Parts of a git or folder source that are folders of files (placed by the source, below the
/// folder the catalog gives the part, and listed in the source's own index), rather than files.
const FOLDER_PARTS: &[&str] = &["files", "untracked", "conflicted", "kept_secrets"];

/// Where one source's files go. A git or folder source is one resource (`local.git`,
/// `local.folder`, id the source's name) whose files are listed in its own index
/// (`index/local/<name>.jsonl`); the agents source is one resource per agent file
/// (`local.agent`), each handed over with [`SourceOut::begin`] / [`SourceOut::end_agent`].
/// Every path comes from the catalog (`RunContext::part_path`).
pub(crate) struct SourceOut<'a> {
    pub cx: &'a RunContext,
    /// The source's name.
    pub name: String,
    /// The resource whose parts are being placed.
    id: ResourceId,
    /// git, folder: whether parts go to the resource's own index (agents: to the shared one).
    indexed: bool,
    /// The resource's own index, opened with the first file placed: a source that cannot be read
    /// at all leaves nothing behind.
    index: Option<IndexWriter>,
    /// Folder parts used so far: name -> (tree path, bytes placed below it).
    folders: BTreeMap<String, (String, u64)>,
    /// Agents: the records of the files placed for the agent at hand (its document is made from
    /// them).
    records: Vec<LocalRecord>,
    pub tally: Tally,
    pub shield: shield::Shield<'a>,
    /// The previous snapshots' records of this source, by tree path (later runs win).
    prev: HashMap<String, LocalRecord>,
    placed: HashSet<String>,
}

/// Whole files up to this size are read into memory to be scanned for secrets; larger ones are
/// streamed into the store unscanned (and listed as such in redactions.json).
pub(crate) const SCAN_LIMIT: u64 = 64 * 1024 * 1024;

/// How far the secret reports of a source had got when an agent began: what follows is the
/// agent's.
#[derive(Clone, Copy)]
pub(crate) struct Mark {
    withheld: usize,
    redactions: usize,
    kept: usize,
    unscanned: usize,
}

impl<'a> SourceOut<'a> {
    /// A git or folder source: resource `kind:::<name>`, its files in its own index.
    fn open(
        cx: &'a RunContext,
        kind: &str,
        name: &str,
        fp: &'a Fingerprinter,
        keeper: Option<&'a Keeper>,
    ) -> Self {
        let id = ResourceId::new(kind, "", "", name);
        let mut prev = HashMap::new();
        if let Ok(Some(index_rel)) = cx.resource_index_path(&id) {
            for p in cx.previous_indexes(&index_rel) {
                if let Ok(recs) = read_all::<LocalRecord>(&p) {
                    for r in recs {
                        prev.insert(r.path.clone(), r);
                    }
                }
            }
        }
        SourceOut {
            cx,
            name: name.to_string(),
            id,
            indexed: true,
            index: None,
            folders: BTreeMap::new(),
            records: Vec::new(),
            tally: Tally::default(),
            shield: shield::Shield::new(fp, keeper),
            prev,
            placed: HashSet::new(),
        }
    }

    /// The agents source: one `local.agent` resource per agent file. The kept secrets of the
    /// previous snapshot's agents (from its catalog) may be reused.
    fn open_agents(
        cx: &'a RunContext,
        name: &str,
        fp: &'a Fingerprinter,
        keeper: Option<&'a Keeper>,
    ) -> Self {
        let mut prev = HashMap::new();
        if keeper.is_some() {
            for dir in &cx.previous {
                for r in previous_kept_agent_secrets(cx, dir) {
                    prev.insert(r.path.clone(), r);
                }
            }
        }
        SourceOut {
            cx,
            name: name.to_string(),
            id: ResourceId::new(AGENT_KIND, "", "", "crontab"),
            indexed: false,
            index: None,
            folders: BTreeMap::new(),
            records: Vec::new(),
            tally: Tally::default(),
            shield: shield::Shield::new(fp, keeper),
            prev,
            placed: HashSet::new(),
        }
    }

    /// The resource whose parts are being placed.
    pub fn id(&self) -> &ResourceId {
        &self.id
    }

    /// Tree path of `rel` (a part name, or a file below a folder part): where the catalog puts it.
    pub fn tree_rel(&self, rel: &str) -> Result<String, String> {
        if self.indexed {
            if let Some((top, rest)) = rel.split_once('/') {
                if FOLDER_PARTS.contains(&top) {
                    let base = self
                        .cx
                        .part_path(&self.id, None, top)
                        .map_err(|e| e.to_string())?;
                    return Ok(format!("{base}/{rest}"));
                }
            }
        }
        self.cx
            .part_path(&self.id, None, rel)
            .map_err(|e| e.to_string())
    }

    /// The previous snapshot's record of the tree file `rel`, if its blob is still stored.
    pub fn previous(&self, rel: &str) -> Option<&LocalRecord> {
        self.prev
            .get(&self.tree_rel(rel).ok()?)
            .filter(|r| self.cx.repo.store().contains(&r.blob))
    }

    /// Link a stored blob at `rel` and list it in the index.
    pub fn place(
        &mut self,
        rel: &str,
        id: BlobId,
        size: u64,
        new: bool,
        mut rec: LocalRecord,
    ) -> Result<(), String> {
        let path = self.tree_rel(rel)?;
        if !self.placed.insert(path.to_lowercase()) {
            return Err(format!(
                "{path}: placed twice (names differing only in case?)"
            ));
        }
        if self.indexed {
            self.cx.link_blob(&id, &path).map_err(|e| e.to_string())?;
            match rel.split_once('/') {
                Some((top, _)) if FOLDER_PARTS.contains(&top) => {
                    let base = self.tree_rel(top)?;
                    self.folders.entry(top.to_string()).or_insert((base, 0)).1 += size;
                }
                _ => self.cx.record_part(&self.id, rel, &path, Some(id), size),
            }
        } else {
            self.cx
                .link_part(&self.id, None, rel, &id, size)
                .map_err(|e| e.to_string())?;
        }
        if matches!(rec.kind.as_str(), "file" | "symlink") {
            self.tally.files += 1;
        }
        if rec.kind != "generated" {
            self.tally.entries += 1;
        }
        self.tally.bytes += size;
        if new {
            self.tally.blobs_new += 1;
            self.tally.bytes_new += size;
        }
        rec.path = path;
        rec.blob = id;
        rec.size = size;
        if !self.indexed {
            self.records.push(rec);
            return Ok(());
        }
        if self.index.is_none() {
            let (_, w) = self
                .cx
                .open_resource_index(&self.id)
                .map_err(|e| e.to_string())?;
            self.index = Some(w);
        }
        let index = self.index.as_mut().expect("opened above");
        index.append(&rec).map_err(|e| e.to_string())
    }

    /// Hand over the resource's document.
    pub fn put_doc(&mut self, doc: &serde_json::Value) -> Result<(), String> {
        let st = self
            .cx
            .put_resource(&self.id, None, doc)
            .map_err(|e| e.to_string())?;
        self.tally.bytes += st.size;
        if st.new {
            self.tally.blobs_new += 1;
            self.tally.bytes_new += st.size;
        }
        Ok(())
    }

    /// Agents: start the agent `id`; returns where the secret reports stand.
    pub fn begin(&mut self, id: ResourceId) -> Mark {
        self.id = id;
        self.records.clear();
        Mark {
            withheld: self.shield.withheld.len(),
            redactions: self.shield.redactions.len(),
            kept: self.shield.kept.len(),
            unscanned: self.shield.unscanned.len(),
        }
    }

    /// Agents: hand over the document of the agent begun at `mark`: what it is and where it came
    /// from, its file's mode and mtime, and what the secret checks did to it.
    pub fn end_agent(
        &mut self,
        mark: Mark,
        agent: &str,
        file: &str,
        source: &str,
    ) -> Result<(), String> {
        let main = self
            .records
            .iter()
            .find(|r| matches!(r.kind.as_str(), "file" | "symlink"));
        let kept = self.records.iter().find(|r| r.kind == "kept_secret");
        let mut doc = serde_json::json!({
            "agent": agent,
            "file": file,
            "source": source,
        });
        let d = doc.as_object_mut().expect("an object");
        if let Some(m) = main {
            for (k, v) in [
                ("mode", &m.mode),
                ("mtime", &m.mtime),
                ("link_target", &m.link_target),
            ] {
                if let Some(v) = v {
                    d.insert(k.into(), v.clone().into());
                }
            }
        }
        let redactions: Vec<serde_json::Value> = self.shield.redactions[mark.redactions..]
            .iter()
            .map(|r| serde_json::json!({"line": r.line, "kind": r.kind}))
            .collect();
        if !redactions.is_empty() {
            d.insert("redactions".into(), redactions.into());
        }
        if let Some(w) = self.shield.withheld[mark.withheld..].first() {
            d.insert(
                "withheld".into(),
                serde_json::to_value(w).expect("serialisable"),
            );
        }
        if let (Some(k), Some(r)) = (self.shield.kept[mark.kept..].first(), kept) {
            d.insert(
                "kept".into(),
                serde_json::json!({
                    "part": kept_part(r.rel.as_deref().unwrap_or_default()),
                    "what": k.what,
                    "fingerprint": r.fingerprint,
                    "recipient": r.recipient,
                }),
            );
        }
        if self.shield.unscanned.len() > mark.unscanned {
            d.insert("not_scanned".into(), true.into());
        }
        self.put_doc(&doc)
    }

    /// Store `bytes` and place them at `rel`.
    pub fn put(&mut self, rel: &str, bytes: &[u8], rec: LocalRecord) -> Result<(), String> {
        let st = self
            .cx
            .repo
            .store()
            .put_bytes(bytes)
            .map_err(|e| e.to_string())?;
        self.place(rel, st.id, st.size, st.new, rec)
    }

    /// Store what `reader` yields, streaming, and place it at `rel`.
    pub fn put_reader(
        &mut self,
        rel: &str,
        reader: &mut dyn Read,
        rec: LocalRecord,
    ) -> Result<(), String> {
        let mut w = self.cx.repo.store().writer().map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("read: {e}")),
            };
            w.write_all(&buf[..n]).map_err(|e| e.to_string())?;
        }
        let st = w.finish().map_err(|e| e.to_string())?;
        self.place(rel, st.id, st.size, st.new, rec)
    }

    /// Pretty JSON, newline-terminated, as a generated file.
    pub fn put_json<T: Serialize>(&mut self, rel: &str, v: &T) -> Result<(), String> {
        let mut bytes = serde_json::to_vec_pretty(v).expect("serialisable");
        bytes.push(b'\n');
        self.put(rel, &bytes, LocalRecord::new("generated"))
    }

    /// Capture one regular file of the source at `tree_rel` (relative to this source's folder):
    /// withheld when its name says it holds secrets, redacted when secret-looking values are
    /// found in it, else copied byte for byte.
    pub fn capture_file(
        &mut self,
        abs: &Path,
        rel: &str,
        tree_rel: &str,
        meta: &Metadata,
    ) -> Result<(), String> {
        let rec = LocalRecord::of_source("file", rel, meta);
        if shield::is_secret_name(abs, rel) {
            let bytes = std::fs::read(abs).map_err(|e| format!("read: {e}"))?;
            return self.withhold(
                rel,
                &bytes,
                "the file's name says it holds secrets",
                Some(&rec),
            );
        }
        if meta.len() > SCAN_LIMIT {
            let mut f = std::fs::File::open(abs).map_err(|e| format!("open: {e}"))?;
            self.shield.unscanned.push(rel.to_string());
            return self.put_reader(tree_rel, &mut f, rec);
        }
        let bytes = std::fs::read(abs).map_err(|e| format!("read: {e}"))?;
        self.capture_bytes(rel, tree_rel, &bytes, rec)
    }

    /// Like [`capture_file`](Self::capture_file) for content already read (and already known
    /// not to be a secret-named file).
    pub fn capture_bytes(
        &mut self,
        rel: &str,
        tree_rel: &str,
        bytes: &[u8],
        mut rec: LocalRecord,
    ) -> Result<(), String> {
        if let Some(reason) = self.shield.binary_secrets(rel, bytes) {
            return self.withhold(rel, bytes, &reason, Some(&rec));
        }
        match self.shield.scan(rel, bytes) {
            None => self.put(tree_rel, bytes, rec),
            Some(redacted) => {
                rec.redacted = true;
                let src = rec.clone();
                self.put(tree_rel, &redacted, rec)?;
                self.keep(rel, bytes, "original", Some(&src))
            }
        }
    }

    /// Withhold a secret file: fingerprint it, keep it encrypted if asked. `src`: the file's
    /// record (its mode and mtime), when it is a file of the source.
    pub fn withhold(
        &mut self,
        rel: &str,
        bytes: &[u8],
        reason: &str,
        src: Option<&LocalRecord>,
    ) -> Result<(), String> {
        self.tally.secrets_withheld += 1;
        self.shield.withheld(rel, bytes, reason);
        self.keep(rel, bytes, "secret", src)
    }

    /// With `--keep-secrets`: store `bytes` encrypted at `kept_secrets/<rel>.age` (reusing the
    /// previous snapshot's ciphertext when the content and recipient are unchanged, so an
    /// unchanged secret adds no blob). The record carries the mode and mtime of `src` (the
    /// file's), so restore writes the original back as it was.
    pub fn keep(
        &mut self,
        rel: &str,
        bytes: &[u8],
        what: &str,
        src: Option<&LocalRecord>,
    ) -> Result<(), String> {
        let Some(keeper) = self.shield.keeper else {
            return Ok(());
        };
        let tree_rel = kept_part(rel);
        let fingerprint = self.shield.fingerprint(bytes);
        let rec = LocalRecord {
            rel: Some(rel.to_string()),
            mode: src.and_then(|s| s.mode.clone()),
            mtime: src.and_then(|s| s.mtime.clone()),
            fingerprint: Some(fingerprint.clone()),
            recipient: Some(keeper.recipient().to_string()),
            ..LocalRecord::new("kept_secret")
        };
        let reuse = self.previous(&tree_rel).and_then(|p| {
            (p.fingerprint.as_deref() == Some(&fingerprint)
                && p.recipient.as_deref() == Some(keeper.recipient()))
            .then_some((p.blob, p.size))
        });
        let result = match reuse {
            Some((id, size)) => self.place(&tree_rel, id, size, false, rec),
            None => {
                let enc = keeper.encrypt(bytes)?;
                self.put(&tree_rel, &enc, rec)
            }
        };
        if result.is_ok() {
            self.shield.kept.push(shield::Kept {
                file: rel.to_string(),
                what: what.to_string(),
                kept: self.tree_rel(&tree_rel)?,
            });
        }
        result
    }

    /// git, folder: write the secrets manifest and the redaction report, record the folder
    /// parts, and close the index. (Agents: each agent's document says what the secret checks
    /// did to it.)
    fn finish(mut self, note: &str) -> Result<Tally, String> {
        self.tally.redactions = self.shield.redactions.len() as u64;
        if !self.indexed {
            return Ok(self.tally);
        }
        let (manifest, report) = {
            let (m, r) = self.shield.reports(note);
            (
                serde_json::to_value(&m).expect("serialisable"),
                serde_json::to_value(&r).expect("serialisable"),
            )
        };
        self.put_json("secrets_manifest.json", &manifest)?;
        self.put_json("redactions.json", &report)?;
        for (name, (path, size)) in &self.folders {
            self.cx.record_part(&self.id, name, path, None, *size);
        }
        if let Some(index) = self.index.take() {
            index.finish().map_err(|e| e.to_string())?;
        }
        Ok(self.tally)
    }
}

/// The part (relative to the source's folder) that holds the original of `rel`, encrypted.
fn kept_part(rel: &str) -> String {
    format!("kept_secrets/{rel}.age")
}

/// The kept secrets of the agents of the snapshot folder `dir`, as records keyed by tree path,
/// from its catalog (none when it has no catalog: the ciphertexts are then made again, once).
fn previous_kept_agent_secrets(cx: &RunContext, dir: &Path) -> Vec<LocalRecord> {
    let Ok(Some(cat)) = Catalog::open(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for r in cat.records.iter().filter(|r| r.id.kind == AGENT_KIND) {
        let Ok(bytes) = std::fs::read(cx.repo.store().path(&r.blob)) else {
            continue;
        };
        let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            continue;
        };
        let kept = &doc["kept"];
        let Some(part) = kept["part"].as_str().and_then(|p| r.parts.get(p)) else {
            continue;
        };
        let Some(blob) = part.blob else { continue };
        out.push(LocalRecord {
            path: part.path.clone(),
            blob,
            size: part.size,
            fingerprint: kept["fingerprint"].as_str().map(str::to_string),
            recipient: kept["recipient"].as_str().map(str::to_string),
            ..LocalRecord::new("kept_secret")
        });
    }
    out
}

/// What one source gave, for the report and the manifest.
struct SourceResult {
    name: String,
    kind: LocalKind,
    tally: Tally,
    /// Short state for the manifest (git: unpushed and uncommitted work).
    state: String,
    /// Listed under "needs attention" in the manifest (unpushed or uncommitted work).
    attention: bool,
    errors: usize,
}

impl LocalCollector {
    fn run_blocking(&self, cx: &RunContext) -> CollectorReport {
        let started = Instant::now();
        let progress = cx.progress.collector("local");
        let errors = ErrorSink::default();
        let mut report = CollectorReport::default();
        progress.add(&progress.units_total, self.sources.len() as u64);

        let fp = match Fingerprinter::for_repository(&cx.repo.root().join(".infrasnap")) {
            Ok(f) => f,
            Err(e) => {
                errors.record(error("secrets key", ".infrasnap", e.to_string()));
                report.summary.status = Some(Status::Failed);
                report.summary.errors = errors.take();
                progress
                    .finished
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                return report;
            }
        };
        let keeper = if self.secrets.keep {
            match self.secrets.recipient.as_deref().map(Keeper::new) {
                Some(Ok(k)) => Some(k),
                Some(Err(e)) => {
                    errors.record(error(
                        "keep secrets",
                        "[secrets] recipient",
                        format!("{e}; secrets are withheld, not kept"),
                    ));
                    None
                }
                None => {
                    errors.record(error(
                        "keep secrets",
                        "[secrets] recipient",
                        "--keep-secrets needs `recipient = \"age1...\"` in the [secrets] section \
                         of the config; secrets are withheld, not kept",
                    ));
                    None
                }
            }
        } else {
            None
        };

        let mut results = Vec::new();
        let mut names = HashSet::new();
        for src in &self.sources {
            if cx.is_cancelled() {
                break;
            }
            let folder = match src.kind {
                LocalKind::Agents => AGENTS_DIR.to_string(),
                _ => src.name.clone(),
            };
            if !names.insert(folder.clone()) {
                let e = error(
                    "config",
                    &src.name,
                    format!(
                        "two [[local]] sources would both be written to {LOCAL_DIR}/{folder}/ \
                         (agents always go to {LOCAL_DIR}/{AGENTS_DIR}/); this one is skipped"
                    ),
                );
                cx.cover(kind_of(src.kind), "", "", Some(&e));
                errors.record(e);
                continue;
            }
            let before = errors.len();
            let span = tracing::info_span!("local", source = %src.name);
            let _g = span.enter();
            let (tally, (state, attention)) = self.source(cx, src, &fp, keeper.as_ref(), &errors);
            progress.add(&progress.units_done, 1);
            progress.add(&progress.items, tally.files);
            progress.add(&progress.bytes, tally.bytes);
            results.push(SourceResult {
                name: src.name.clone(),
                kind: src.kind,
                tally,
                state,
                attention,
                errors: errors.len() - before,
            });
        }

        let s = &mut report.summary;
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for k in [
            "repositories",
            "folders",
            "agents",
            "files",
            "secrets_withheld",
            "redactions",
        ] {
            counts.insert(k.into(), 0);
        }
        for r in &results {
            let k = match r.kind {
                LocalKind::Git => "repositories",
                LocalKind::Folder => "folders",
                LocalKind::Agents => "agents",
            };
            *counts.entry(k.into()).or_default() += 1;
            *counts.entry("files".into()).or_default() += r.tally.files;
            *counts.entry("secrets_withheld".into()).or_default() += r.tally.secrets_withheld;
            *counts.entry("redactions".into()).or_default() += r.tally.redactions;
            s.bytes_total += r.tally.bytes;
            s.bytes_new += r.tally.bytes_new;
            s.blobs_new += r.tally.blobs_new;
        }
        s.counts = counts;
        s.errors = errors.take();
        progress.add(&progress.errors, s.errors.len() as u64);
        // Failed: every source failed before capturing anything.
        s.status = Some(if s.errors.is_empty() {
            Status::Complete
        } else if !results.is_empty()
            && results.iter().all(|r| r.errors > 0 && r.tally.entries == 0)
        {
            Status::Failed
        } else {
            Status::Partial
        });
        s.duration_seconds = started.elapsed().as_secs_f64();
        report.manifest = manifest_section(&results, keeper.is_some());
        progress
            .finished
            .store(true, std::sync::atomic::Ordering::Relaxed);
        report
    }

    /// Capture one source; every failure is recorded and the run goes on. A source that cannot
    /// be read at all (a missing folder, not a git repository) leaves nothing in the snapshot and
    /// its kind's coverage failed; one read in part is marked incomplete in the catalog.
    fn source(
        &self,
        cx: &RunContext,
        src: &LocalSource,
        fp: &Fingerprinter,
        keeper: Option<&Keeper>,
        errors: &ErrorSink,
    ) -> (Tally, (String, bool)) {
        let kind = kind_of(src.kind);
        let path = src
            .path
            .as_deref()
            .map(|p| expand_home(p, self.home.as_deref()));
        let resource = path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| src.name.clone());
        let before = errors.len();
        let (out, captured) = match src.kind {
            LocalKind::Git => {
                let p = path.expect("config validation: git sources have a path");
                let mut out = SourceOut::open(cx, kind, &src.name, fp, keeper);
                let r = git::capture(&mut out, &p, errors).map(|st| st.summary());
                (out, r)
            }
            LocalKind::Folder => {
                let p = path.expect("config validation: folder sources have a path");
                let mut out = SourceOut::open(cx, kind, &src.name, fp, keeper);
                let r = folder::capture(&mut out, &p, errors).map(|()| (String::new(), false));
                (out, r)
            }
            LocalKind::Agents => {
                let root = path.or_else(|| self.home.clone());
                let mut out = SourceOut::open_agents(cx, &src.name, fp, keeper);
                // Agents are their own resources: a listing that failed fails the coverage, a
                // file that could not be read marks its agent incomplete.
                let failed = agents::capture(&mut out, root.as_deref(), errors);
                cx.cover(kind, "", "", failed.as_ref());
                return match out.finish("") {
                    Ok(t) => (t, (String::new(), false)),
                    Err(e) => {
                        errors.record(error("write", &resource, e));
                        (Tally::default(), (String::new(), false))
                    }
                };
            }
        };
        let state = match captured {
            Ok(state) => state,
            Err(e) => {
                cx.cover(kind, "", "", Some(&e));
                errors.record(e);
                let state = match src.kind {
                    LocalKind::Git => ("not captured".to_string(), false),
                    _ => (String::new(), false),
                };
                return (Tally::default(), state);
            }
        };
        cx.cover(kind, "", "", None);
        let note = match src.kind {
            LocalKind::Git => {
                "This covers the uncommitted state (patches, untracked files): committed files \
                 are kept as committed, in repo.bundle."
            }
            _ => "",
        };
        let id = out.id().clone();
        let tally = match out.finish(note) {
            Ok(t) => t,
            Err(e) => {
                errors.record(error("write", &resource, e));
                Tally::default()
            }
        };
        if errors.len() > before {
            cx.mark_incomplete(&id);
        }
        (tally, state)
    }
}

/// The catalog kind of a `[[local]]` source.
fn kind_of(kind: LocalKind) -> &'static str {
    match kind {
        LocalKind::Git => GIT_KIND,
        LocalKind::Folder => FOLDER_KIND,
        LocalKind::Agents => AGENT_KIND,
    }
}

fn manifest_section(results: &[SourceResult], kept: bool) -> Blocks {
    let mut m = Blocks::default();
    if results.is_empty() {
        return m;
    }
    let mut t = Table::new(&[
        "Source",
        "Kind",
        "Files",
        "Size",
        "Secrets withheld",
        "Redactions",
        "State",
        "Errors",
    ]);
    for r in results {
        let kind = match r.kind {
            LocalKind::Git => "git",
            LocalKind::Folder => "folder",
            LocalKind::Agents => "agents",
        };
        t.row(vec![
            r.name.clone(),
            kind.into(),
            r.tally.files.to_string(),
            human_bytes(r.tally.bytes),
            r.tally.secrets_withheld.to_string(),
            r.tally.redactions.to_string(),
            if r.state.is_empty() { "-" } else { &r.state }.to_string(),
            r.errors.to_string(),
        ]);
    }
    m.table(t);
    let attention: Vec<&SourceResult> = results.iter().filter(|r| r.attention).collect();
    if attention.is_empty() {
        m.text("No repository has unpushed commits or uncommitted changes.");
    } else {
        m.text("Repositories with unpushed commits or uncommitted changes:");
        m.list(
            attention
                .iter()
                .map(|r| {
                    format!(
                        "`{}`: {} (see `{LOCAL_DIR}/{}/state.json` and `RESTORE.md`)",
                        r.name, r.state, r.name
                    )
                })
                .collect(),
        );
    }
    m.text(format!(
        "Secrets: files whose names say they hold secrets are not copied (see each source's \
         `secrets_manifest.json`); secret-looking values in other files are replaced with markers \
         (`redactions.json`). {}",
        if kept {
            "Originals are kept encrypted to the configured age recipient under `kept_secrets/`."
        } else {
            "Originals are not kept (`--keep-secrets` keeps them, encrypted)."
        }
    ));
    m
}

/// Quote for a POSIX shell.
pub(crate) fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@=,".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// True when the first 8 KiB hold a NUL byte.
pub(crate) fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(8192)].contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(sh_quote("main"), "main");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote(""), "''");
    }
}
