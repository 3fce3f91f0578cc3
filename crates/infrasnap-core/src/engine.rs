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

use crate::catalog::{self, CatalogRecord, CatalogState, Coverage, CoverageState, PartRef};
use crate::error::{CoreError, Result};
use crate::ids::{BlobId, ResourceId};
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
    /// Published snapshots older than the parent, newest first ([`with_older`](Self::with_older)):
    /// where a container the parent did not cover (an `--only` or `--bucket` run) was last seen.
    older: Vec<PathBuf>,
    /// How far reused blobs are checked before they are linked again.
    reverify: crate::store::Reverify,
    /// Damaged blobs moved to quarantine by this run.
    quarantined: std::sync::atomic::AtomicU64,
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
    /// The catalog being gathered (written by `finish`).
    catalog: Mutex<CatalogState>,
    /// Earlier index files that differ from their snapshot's seal: never reused.
    untrusted: HashSet<PathBuf>,
    /// Set when the fingerprint key had to be made although the repository has snapshots.
    key_note: Option<String>,
    /// With `--keep-secrets`: encrypts the originals of redacted values ([`keep_values`](Self::keep_values)).
    keeper: Option<Arc<dyn crate::kept::Encrypter>>,
    /// Older snapshots' index files not reused because they differ from their seal.
    older_notes: Mutex<Vec<String>>,
    /// Objects whose bytes this run already knows ([`with_known`](Self::with_known)).
    known: Option<Arc<KnownContent>>,
}

/// S3 objects whose bytes are already in the store, with the MD5 the server confirmed when they
/// were written: what a restore has just uploaded. The capture that reads them back (restore's
/// verification) then proves each one's content by its ETag and reads only its headers and
/// tags, instead of downloading every byte it has just sent.
#[derive(Debug, Default)]
pub struct KnownContent {
    objects: Mutex<std::collections::HashMap<(String, String), Known>>,
}

/// One object in [`KnownContent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub size: u64,
    /// The ETag the server gave exactly these bytes, lower-case hex, without quotes: the
    /// content's MD5 for a single-part upload without KMS; for a multipart one, the MD5 of its
    /// parts' MD5s and `-<parts>` (each part sent with its `Content-MD5`, so the server checked it).
    pub md5: String,
    pub blob: BlobId,
}

impl KnownContent {
    /// Record that `bucket`/`key` now holds the bytes of `blob`.
    pub fn insert(&self, bucket: &str, key: &str, known: Known) {
        self.objects
            .lock()
            .expect("known content")
            .insert((bucket.to_string(), key.to_string()), known);
    }

    /// What is known of `bucket`/`key`.
    pub fn get(&self, bucket: &str, key: &str) -> Option<Known> {
        self.objects
            .lock()
            .expect("known content")
            .get(&(bucket.to_string(), key.to_string()))
            .cloned()
    }

    pub fn len(&self) -> usize {
        self.objects.lock().expect("known content").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether an ETag (quoted or not) is the MD5 `md5` (lower-case hex).
pub fn etag_is_md5(etag: &str, md5: &str) -> bool {
    etag.trim_matches('"').eq_ignore_ascii_case(md5)
}

/// The MD5 an ETag states, when it is one: 32 hex digits, not a multipart ETag (`...-N`).
/// Only for an object stored without KMS or a customer key, whose ETag is its MD5.
pub fn md5_of_etag(etag: &str) -> Option<String> {
    let e = etag.trim_matches('"');
    (e.len() == 32 && e.bytes().all(|b| b.is_ascii_hexdigit())).then(|| e.to_ascii_lowercase())
}

/// Plain bytes overwritten when dropped.
struct Plain(Vec<u8>);
impl Drop for Plain {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(|b| *b = 0);
    }
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
        let meta_dir = repo.root().join(".infrasnap");
        let config_home = crate::secrets::config_home();
        let (fingerprinter, origin) =
            crate::secrets::Fingerprinter::open(&meta_dir, config_home.as_deref())?;
        // A repository that has snapshots but whose key is not here (a copy on another machine,
        // a new user): new fingerprints cannot be compared with the old ones. Say so.
        let key_note = (origin == crate::secrets::KeyOrigin::Created
            && !repo.snapshots().unwrap_or_default().is_empty())
        .then(|| {
            let place = crate::secrets::KeyPlace::of(&meta_dir, config_home.as_deref())
                .map(|p| p.file.display().to_string())
                .unwrap_or_default();
            format!(
                "this repository's fingerprint key was not found, so a new one was made \
                 ({place}): secret fingerprints in this snapshot cannot be compared with those \
                 of earlier snapshots. Bring the old key with `infrasnap key import` (exported \
                 with `infrasnap key export` where it is) to compare them again."
            )
        });
        Ok(RunContext {
            repo,
            staging: staging.to_path_buf(),
            previous,
            older: Vec::new(),
            reverify: crate::store::Reverify::default(),
            quarantined: std::sync::atomic::AtomicU64::new(0),
            progress,
            transfers: Arc::new(Semaphore::new(jobs.max(1))),
            jobs: Arc::new(Semaphore::new(jobs.clamp(1, OTHER_JOBS_MAX))),
            jobs_count: jobs.clamp(1, OTHER_JOBS_MAX),
            cancelled: AtomicBool::new(false),
            files: Mutex::new(Some(files)),
            fingerprinter,
            dirs: Mutex::new(HashSet::new()),
            catalog: Mutex::new(CatalogState::default()),
            untrusted: HashSet::new(),
            key_note,
            keeper: None,
            older_notes: Mutex::new(Vec::new()),
            known: None,
        })
    }

    /// Keep the originals of redacted values, encrypted by `keeper` (`--keep-secrets`).
    pub fn with_keeper(mut self, keeper: Arc<dyn crate::kept::Encrypter>) -> Self {
        self.keeper = Some(keeper);
        self
    }

    /// Whether this run keeps secret originals (collectors read values they would otherwise only
    /// fingerprint only when it does).
    pub fn keeps_secrets(&self) -> bool {
        self.keeper.is_some()
    }

    /// With `--keep-secrets`: store `values` (the originals of the markers and fingerprints in
    /// the document of `id`) encrypted, as its part [`crate::kept::KEPT_PART`]. Nothing without
    /// a keeper or without values.
    pub fn keep_values(
        &self,
        id: &ResourceId,
        label: Option<&str>,
        values: &crate::kept::KeptValues,
    ) -> Result<()> {
        let Some(keeper) = &self.keeper else {
            return Ok(());
        };
        if values.is_empty() {
            return Ok(());
        }
        let plain = Plain(values.to_bytes());
        let enc = keeper
            .encrypt(&plain.0)
            .map_err(|e| CoreError::InvalidName {
                name: format!("{id} {}", crate::kept::KEPT_PART),
                why: format!("cannot keep its secret values: {e}"),
            })?;
        self.put_part(id, label, crate::kept::KEPT_PART, &enc)?;
        Ok(())
    }

    /// Why fingerprints of this run cannot be compared with earlier ones, if they cannot.
    pub fn key_note(&self) -> Option<&str> {
        self.key_note.as_deref()
    }

    /// Never reuse these earlier index files (absolute paths): they differ from their
    /// snapshot's seal ([`Repository::trusted_parent_index`]).
    pub fn distrust(&mut self, paths: impl IntoIterator<Item = PathBuf>) {
        self.untrusted.extend(paths);
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
    /// Files that differ from their snapshot's seal are left out.
    pub fn previous_indexes(&self, rel: &str) -> Vec<PathBuf> {
        self.previous
            .iter()
            .map(|d| d.join(rel))
            .filter(|p| !self.untrusted.contains(p))
            .collect()
    }

    /// Set the published snapshots older than the parent, newest first.
    pub fn with_older(mut self, older: Vec<PathBuf>) -> Self {
        self.older = older;
        self
    }

    /// Objects whose bytes are known already (restore's read-back of what it uploaded).
    pub fn with_known(mut self, known: Option<Arc<KnownContent>>) -> Self {
        self.known = known;
        self
    }

    /// What is known of object `key` in `bucket` ([`KnownContent`]).
    pub fn known(&self, bucket: &str, key: &str) -> Option<Known> {
        self.known.as_ref()?.get(bucket, key)
    }

    /// Set how reused blobs are checked.
    pub fn with_reverify(mut self, reverify: crate::store::Reverify) -> Self {
        self.reverify = reverify;
        self
    }

    /// The earlier index files for `rel` to reuse, oldest first: those of
    /// [`previous_indexes`](Self::previous_indexes), and, when the parent snapshot has no such
    /// file (it did not cover that container), first the one of the newest older snapshot that
    /// has it. So a run after an `--only lambda` run still links every unchanged S3 object.
    pub fn reuse_indexes(&self, rel: &str) -> Vec<PathBuf> {
        let mut out = self.previous_indexes(rel);
        let parent_has_it = out.first().is_some_and(|p| p.is_file());
        if !parent_has_it {
            // The older snapshot's file is checked against that snapshot's seal, as the parent's
            // is: a damaged one is passed over (an intact one further back may serve).
            let trusted = self.older.iter().find_map(|d| {
                let p = d.join(rel);
                if !p.is_file() {
                    return None;
                }
                match Repository::index_trusted(d, rel) {
                    Ok(()) => Some(p),
                    Err(why) => {
                        let name = d.file_name().unwrap_or_default().to_string_lossy();
                        let note = format!(
                            "`{rel}` of the older snapshot `{name}` was not reused: {why}; its \
                             objects were taken from an older intact snapshot or downloaded \
                             again (run `infrasnap verify {name}`)"
                        );
                        tracing::warn!("{note}");
                        let mut notes = self.older_notes.lock().expect("notes");
                        if !notes.contains(&note) {
                            notes.push(note);
                        }
                        None
                    }
                }
            });
            if let Some(p) = trusted {
                out.insert(0, p);
            }
        }
        out
    }

    /// Why index files of older snapshots were passed over by
    /// [`reuse_indexes`](Self::reuse_indexes), for the snapshot's notes.
    pub fn older_notes(&self) -> Vec<String> {
        self.older_notes.lock().expect("notes").clone()
    }

    /// Whether the stored blob `id` may be linked again for content of `size` bytes: it exists,
    /// has that size and, when this run re-verifies it (`--reverify`, or its turn in the rotating
    /// share), hashes to its name. A blob that fails is moved to quarantine, so the caller
    /// downloads the content again and stores it afresh. `Err` only for a quarantine that failed.
    pub fn reusable(&self, id: &BlobId, size: u64) -> Result<crate::store::ReuseCheck> {
        let store = self.repo.store();
        let check = store.check(id, size, self.reverify.covers(id));
        if let crate::store::ReuseCheck::Damaged(why) = &check {
            if store.intact(id) {
                // The blob holds what its name says: the record lies (an index whose hashes
                // were swapped), so only this reuse is refused; the blob stays.
                tracing::warn!(
                    "blob {} does not match its record ({why}); the object is downloaded again",
                    id.to_hex()
                );
                return Ok(check);
            }
            let to = store.quarantine(id)?;
            self.quarantined.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                "blob {} is damaged ({why}); moved to {} and downloaded again",
                id.to_hex(),
                to.display()
            );
        }
        Ok(check)
    }

    /// How many damaged blobs this run has moved to quarantine so far.
    pub fn quarantined(&self) -> u64 {
        self.quarantined.load(Ordering::Relaxed)
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
        crate::repo::create_private_dir_all(p)?;
        self.dirs.lock().expect("dirs").insert(p.to_path_buf());
        Ok(())
    }

    /// Make a folder in the tree (for folder markers).
    pub fn make_dir(&self, rel: &str) -> Result<()> {
        let dest = self.tree_path(rel)?;
        crate::repo::create_private_dir_all(&dest)
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

    // ---- The catalog: collectors hand over resources, the core decides where they land ----

    /// Hand over the document of resource `id`: the kind's sensitive members are replaced by
    /// markers (the one choke point, on top of each collector's shape detection), the document is
    /// stored and placed where its kind says (or kept for its view, for member kinds), and the
    /// resource gets its catalog record. `label` is a readable name some kinds put in their paths
    /// (a zone's name); pass the same one for every call about one resource.
    pub fn put_resource(
        &self,
        id: &ResourceId,
        label: Option<&str>,
        doc: &serde_json::Value,
    ) -> Result<Stored> {
        let spec = catalog::check_id(id)?;
        let mut doc = doc.clone();
        if !spec.sensitive.is_empty() {
            redact_pointers(
                &mut doc,
                spec.sensitive,
                &self.fingerprinter,
                &mut Vec::new(),
            );
        }
        if !spec.scan.is_empty() {
            scan_pointers(&mut doc, spec.scan, &self.fingerprinter, &mut Vec::new());
        }
        let mut bytes = serde_json::to_vec_pretty(&doc).expect("serialisable");
        bytes.push(b'\n');
        let path = spec.doc.map(|t| catalog::render(t, id, label, None));
        let st = match &path {
            Some(p) => self.put_file(p, &bytes)?,
            None => self.repo.store().put_bytes(&bytes)?,
        };
        let digest = catalog::normalize::digest(Some(spec), &doc);
        // `-v`: one step per resource, for every service (every resource passes here).
        let kind = id.kind.strip_prefix("aws.").unwrap_or(&id.kind);
        let (service, what) = kind.split_once('.').unwrap_or((kind, "resource"));
        match (id.account.is_empty(), id.region.is_empty()) {
            (true, _) => tracing::info!("{service}: {what} {} captured", id.id),
            (false, true) => {
                tracing::info!("{service}: {what} {} ({}) captured", id.id, id.account)
            }
            (false, false) => tracing::info!(
                "{service}: {what} {} ({} {}) captured",
                id.id,
                id.account,
                id.region
            ),
        }
        let mut cat = self.catalog.lock().expect("catalog lock");
        if let Some(v) = catalog::view_path(id) {
            let list = cat.views.entry(v).or_default();
            list.retain(|(other, _)| other != id);
            list.push((id.clone(), doc));
        }
        cat.insert(CatalogRecord {
            id: id.clone(),
            label: label.map(str::to_string),
            path,
            blob: st.id,
            size: st.size,
            digest,
            parts: Default::default(),
            index: None,
            incomplete: false,
        });
        Ok(st)
    }

    /// Where part `part` of `id` goes (for collectors that place a part themselves, streaming it
    /// into the store; they then call [`record_part`](Self::record_part)).
    pub fn part_path(&self, id: &ResourceId, label: Option<&str>, part: &str) -> Result<String> {
        catalog::part_path(id, label, part)
    }

    /// Store `bytes` as part `part` of `id`, placed where its kind says and listed in
    /// `index/files.jsonl`.
    pub fn put_part(
        &self,
        id: &ResourceId,
        label: Option<&str>,
        part: &str,
        bytes: &[u8],
    ) -> Result<Stored> {
        let rel = catalog::part_path(id, label, part)?;
        // Kinds whose parts are settings people write values into (DNS records) have their text
        // parts redacted like their documents.
        let redacted = catalog::check_id(id)?
            .scan_parts
            .then(|| std::str::from_utf8(bytes).ok())
            .flatten()
            .map(|text| crate::secrets::redact_text(text, &self.fingerprinter))
            .filter(|(_, findings)| !findings.is_empty())
            .map(|(text, _)| text.into_bytes());
        let st = self.put_file(&rel, redacted.as_deref().unwrap_or(bytes))?;
        self.record_part(id, part, &rel, Some(st.id), st.size);
        Ok(st)
    }

    /// [`put_part`](Self::put_part) of `value` as pretty JSON.
    pub fn put_part_json<T: Serialize>(
        &self,
        id: &ResourceId,
        label: Option<&str>,
        part: &str,
        value: &T,
    ) -> Result<Stored> {
        let mut bytes = serde_json::to_vec_pretty(value).expect("serialisable");
        bytes.push(b'\n');
        self.put_part(id, label, part, &bytes)
    }

    /// Place a stored blob as part `part` of `id`, listed in `index/files.jsonl`.
    pub fn link_part(
        &self,
        id: &ResourceId,
        label: Option<&str>,
        part: &str,
        blob: &BlobId,
        size: u64,
    ) -> Result<String> {
        let rel = catalog::part_path(id, label, part)?;
        self.link_blob(blob, &rel)?;
        {
            let mut w = self.files.lock().expect("files index lock");
            let w = w.as_mut().ok_or_else(|| CoreError::InvalidName {
                name: rel.clone(),
                why: "the run has finished; nothing more can be added".into(),
            })?;
            w.append(&FileRecord {
                path: &rel,
                blob: *blob,
                size,
            })?;
        }
        self.record_part(id, part, &rel, Some(*blob), size);
        Ok(rel)
    }

    /// Record in the catalog a part the collector placed (and indexed) itself at `rel`; `blob`
    /// is `None` for a folder (a bucket's objects).
    pub fn record_part(
        &self,
        id: &ResourceId,
        part: &str,
        rel: &str,
        blob: Option<BlobId>,
        size: u64,
    ) {
        self.catalog.lock().expect("catalog lock").add_part(
            id,
            part,
            PartRef {
                path: rel.to_string(),
                blob,
                size,
            },
        );
    }

    /// Open the resource's own index file (its kind's `index` template), recorded in its catalog
    /// record. Returns the path relative to the snapshot folder, and the writer.
    pub fn open_resource_index(&self, id: &ResourceId) -> Result<(String, IndexWriter)> {
        let rel = catalog::index_path(id)?.ok_or_else(|| CoreError::InvalidName {
            name: id.to_string(),
            why: "this kind declares no index file (catalog/kinds.rs)".into(),
        })?;
        let w = IndexWriter::create(&self.tree_path(&rel)?)?;
        self.catalog
            .lock()
            .expect("catalog lock")
            .set_index(id, rel.clone());
        Ok((rel, w))
    }

    /// The resource's index path (relative), without opening it: to read earlier snapshots'.
    pub fn resource_index_path(&self, id: &ResourceId) -> Result<Option<String>> {
        catalog::index_path(id)
    }

    /// Part of the resource's content could not be read: a content diff of it is not comparable.
    pub fn mark_incomplete(&self, id: &ResourceId) {
        self.catalog
            .lock()
            .expect("catalog lock")
            .mark_incomplete(id);
    }

    /// Record the listing of `kind` in `account` and `region` (empty where the kind has none):
    /// complete, or failed with `error`. Every listing a collector attempts is reported, so a
    /// diff can tell a resource that is gone from one whose listing failed.
    pub fn cover(&self, kind: &str, account: &str, region: &str, error: Option<&RecordedError>) {
        self.catalog.lock().expect("catalog lock").cover(Coverage {
            kind: kind.to_string(),
            account: account.to_string(),
            region: region.to_string(),
            state: if error.is_some() {
                CoverageState::Failed
            } else {
                CoverageState::Complete
            },
            error: error.cloned(),
        });
    }

    /// Write the views of member kinds and the catalog files.
    fn finish_catalog(&self) -> Result<()> {
        // Parts handed over for a resource whose document never came: give it an empty one, so
        // nothing placed is left out of the catalog.
        let orphans: Vec<ResourceId> = {
            let cat = self.catalog.lock().expect("catalog lock");
            cat.pending
                .keys()
                .filter(|id| !cat.records.contains_key(*id))
                .cloned()
                .collect()
        };
        for id in orphans {
            self.put_resource(&id, None, &serde_json::json!({}))?;
        }
        let mut cat = std::mem::take(&mut *self.catalog.lock().expect("catalog lock"));
        for (path, mut items) in std::mem::take(&mut cat.views) {
            items.sort_by(|a, b| a.0.cmp(&b.0));
            let docs: Vec<serde_json::Value> = items.into_iter().map(|(_, d)| d).collect();
            self.put_json(&path, &serde_json::json!({ "Items": docs }))?;
        }
        let mut w = IndexWriter::create(&self.staging.join(catalog::RESOURCES))?;
        for rec in cat.records.values() {
            w.append(rec)?;
        }
        w.finish()?;
        let mut w = IndexWriter::create(&self.staging.join(catalog::COVERAGE))?;
        for c in cat.coverage.values() {
            w.append(c)?;
        }
        w.finish()
    }

    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Write the catalog and flush the shared index. Called once after all collectors finished.
    pub fn finish(&self) -> Result<()> {
        self.finish_catalog()?;
        match self.files.lock().expect("files index lock").take() {
            Some(w) => w.finish(),
            None => Ok(()),
        }
    }
}

/// Run the subtrees at `patterns` (JSON pointers, `*` for any token; `""` the whole document)
/// through the secret detector.
fn scan_pointers(
    v: &mut serde_json::Value,
    patterns: &[&str],
    fp: &crate::secrets::Fingerprinter,
    path: &mut Vec<String>,
) {
    if patterns
        .iter()
        .any(|p| catalog::normalize::pattern_matches(p, path))
    {
        crate::secrets::redact_json(v, fp);
        return;
    }
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                path.push(k.clone());
                scan_pointers(child, patterns, fp, path);
                path.pop();
            }
        }
        serde_json::Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                scan_pointers(child, patterns, fp, path);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Replace the string values at `patterns` (JSON pointers, `*` for any token) by their markers.
fn redact_pointers(
    v: &mut serde_json::Value,
    patterns: &[&str],
    fp: &crate::secrets::Fingerprinter,
    path: &mut Vec<String>,
) {
    if !path.is_empty()
        && patterns
            .iter()
            .any(|p| catalog::normalize::pattern_matches(p, path))
    {
        if let serde_json::Value::String(s) = v {
            if !crate::secrets::is_marker(s) {
                *s = fp.marker(s.as_bytes());
            }
            return;
        }
    }
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                path.push(k.clone());
                redact_pointers(child, patterns, fp, path);
                path.pop();
            }
        }
        serde_json::Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                redact_pointers(child, patterns, fp, path);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Bytes and blobs a collector (or one of its tasks) stored: one tally for every collector
/// instead of a copy each. `add` each [`Stored`], `merge` the tallies of tasks, and `add_to` the
/// collector's summary at the end.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub bytes_total: u64,
    pub bytes_new: u64,
    pub blobs_new: u64,
}

impl Tally {
    pub fn add(&mut self, st: &Stored) {
        self.bytes_total += st.size;
        if st.new {
            self.bytes_new += st.size;
            self.blobs_new += 1;
        }
    }

    pub fn merge(&mut self, o: Tally) {
        self.bytes_total += o.bytes_total;
        self.bytes_new += o.bytes_new;
        self.blobs_new += o.blobs_new;
    }

    /// Count it into a collector's summary.
    pub fn add_to(&self, s: &mut CollectorSummary) {
        s.bytes_total += self.bytes_total;
        s.bytes_new += self.bytes_new;
        s.blobs_new += self.blobs_new;
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
    /// Its own MANIFEST.md section, as data.
    pub manifest: crate::manifest::Blocks,
    /// Lines for the snapshot's notes: what the source could not offer at all (a setting an
    /// S3-compatible server does not implement), said once rather than as an error per resource.
    pub notes: Vec<String>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::ids::SnapshotName;

    #[test]
    fn a_container_the_parent_did_not_cover_is_reused_from_the_newest_older_snapshot() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Repository::open_or_init(&tmp.path().join("r")).unwrap();
        let lock = repo.lock(None).unwrap();
        let staging = repo
            .begin(&"t".parse::<SnapshotName>().unwrap(), &lock)
            .unwrap();
        let rel = "index/s3_buckets/www.jsonl";
        let dir = |n: &str, with: bool| {
            let d = tmp.path().join(n);
            std::fs::create_dir_all(d.join("index/s3_buckets")).unwrap();
            if with {
                std::fs::write(d.join(rel), "{}\n").unwrap();
            }
            // Published snapshots are sealed; the parent's own trust is the driver's business.
            crate::seal::Seal::compute(&d, n)
                .unwrap()
                .write(&d)
                .unwrap();
            d
        };
        let (parent, abandoned) = (dir("parent", false), dir("abandoned", true));
        let (newer, oldest) = (dir("newer", true), dir("oldest", true));
        let cx = RunContext::new(
            repo.clone(),
            staging.dir(),
            vec![parent.clone(), abandoned.clone()],
            Progress::default(),
            4,
        )
        .unwrap()
        .with_older(vec![newer.clone(), oldest]);
        // The parent (an `--only lambda` run) has no index of the bucket: the newest older one
        // that has it comes first, then the parent's place and the killed run's, as before.
        assert_eq!(
            cx.reuse_indexes(rel),
            vec![newer.join(rel), parent.join(rel), abandoned.join(rel)]
        );
        assert!(cx.older_notes().is_empty());
        // A parent that has it is all that is needed.
        std::fs::write(parent.join(rel), "{}\n").unwrap();
        assert_eq!(
            cx.reuse_indexes(rel),
            vec![parent.join(rel), abandoned.join(rel)]
        );
    }

    #[test]
    fn an_older_snapshot_index_that_differs_from_its_seal_is_not_reused() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Repository::open_or_init(&tmp.path().join("r")).unwrap();
        let lock = repo.lock(None).unwrap();
        let staging = repo
            .begin(&"t".parse::<SnapshotName>().unwrap(), &lock)
            .unwrap();
        let rel = "index/s3_buckets/www.jsonl";
        let sealed = |n: &str| {
            let d = tmp.path().join(n);
            std::fs::create_dir_all(d.join("index/s3_buckets")).unwrap();
            std::fs::write(d.join(rel), "{\"key\":\"a\"}\n").unwrap();
            crate::seal::Seal::compute(&d, n)
                .unwrap()
                .write(&d)
                .unwrap();
            d
        };
        let (newer, oldest) = (sealed("newer"), sealed("oldest"));
        // One byte of the newer older snapshot's index changed after it was sealed (same size).
        std::fs::write(newer.join(rel), "{\"key\":\"b\"}\n").unwrap();
        let cx = RunContext::new(repo.clone(), staging.dir(), vec![], Progress::default(), 4)
            .unwrap()
            .with_older(vec![newer.clone(), oldest.clone()]);
        assert_eq!(cx.reuse_indexes(rel), vec![oldest.join(rel)]);
        let notes = cx.older_notes();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("`newer`") && notes[0].contains("differs from the seal"));
        // A seal that is gone (the metadata cannot say the snapshot was unsealed): nothing of it.
        std::fs::remove_file(oldest.join(crate::seal::SEAL_FILE)).unwrap();
        assert_eq!(cx.reuse_indexes(rel), Vec::<PathBuf>::new());
    }

    #[test]
    fn resources_land_where_their_kind_says_and_the_catalog_lists_them() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Repository::open_or_init(&tmp.path().join("r")).unwrap();
        let lock = repo.lock(None).unwrap();
        let staging = repo
            .begin(&"t".parse::<SnapshotName>().unwrap(), &lock)
            .unwrap();
        let cx =
            RunContext::new(repo.clone(), staging.dir(), vec![], Progress::default(), 4).unwrap();
        let f: ResourceId = "aws.lambda.function:111:eu-west-1:checkout"
            .parse()
            .unwrap();
        // A part before the document is kept.
        cx.put_part(&f, None, "code.zip", b"PK zip").unwrap();
        let doc = serde_json::json!({"Configuration": {"Timeout": 3,
            "Environment": {"Variables": {"DB_URL": "postgres://x"}}}});
        cx.put_resource(&f, None, &doc).unwrap();
        let p1: ResourceId = "aws.ssm.parameter:111:eu-west-1:/b".parse().unwrap();
        let p0: ResourceId = "aws.ssm.parameter:111:eu-west-1:/a".parse().unwrap();
        cx.put_resource(
            &p1,
            None,
            &serde_json::json!({"Name": "/b", "Value": "plain"}),
        )
        .unwrap();
        cx.put_resource(&p0, None, &serde_json::json!({"Name": "/a"}))
            .unwrap();
        cx.cover("aws.lambda.function", "111", "eu-west-1", None);
        cx.finish().unwrap();
        let dir = staging.dir();
        let cfg = std::fs::read_to_string(
            dir.join("lambda_functions/111/eu-west-1/function_config/checkout.json"),
        )
        .unwrap();
        assert!(
            !cfg.contains("postgres://x") && cfg.contains("<redacted fp:"),
            "{cfg}"
        );
        let view: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join("ssm_parameters/111/eu-west-1/parameters.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(view["Items"][0]["Name"], "/a");
        assert_eq!(view["Items"][1]["Name"], "/b");
        let cat = Catalog::open(dir).unwrap().unwrap();
        assert_eq!(cat.records.len(), 3);
        let r = cat.get(&f).unwrap();
        assert_eq!(
            r.parts["code.zip"].path,
            "lambda_functions/111/eu-west-1/function_code/checkout.zip"
        );
        assert!(cat.covers(&f));
        assert!(!cat.covers(&p0));
        let back = crate::catalog::read_doc(
            &tmp.path().join("r/.infrasnap/blobs"),
            &cat.get(&p0).unwrap().blob,
        )
        .unwrap();
        assert_eq!(back["Name"], "/a");
    }

    #[test]
    fn an_etag_states_an_md5_only_when_it_is_one() {
        let md5 = "9e107d9d372bb6826bd81d3542a419d6";
        assert_eq!(md5_of_etag(&format!("\"{md5}\"")).as_deref(), Some(md5));
        assert_eq!(
            md5_of_etag("\"9E107D9D372BB6826BD81D3542A419D6\"").as_deref(),
            Some(md5)
        );
        // A multipart ETag, a short one, one that is not hex: no MD5.
        assert_eq!(md5_of_etag(&format!("\"{md5}-3\"")), None);
        assert_eq!(md5_of_etag("\"abc\""), None);
        assert_eq!(md5_of_etag("\"zz107d9d372bb6826bd81d3542a419d6\""), None);
        assert!(etag_is_md5(&format!("\"{}\"", md5.to_uppercase()), md5));
        assert!(!etag_is_md5(&format!("\"{md5}-1\""), md5));
    }

    #[test]
    fn known_content_is_found_by_bucket_and_key() {
        let k = KnownContent::default();
        assert!(k.is_empty());
        let known = Known {
            size: 3,
            md5: "900150983cd24fb0d6963f7d28e17f72".into(),
            blob: BlobId::of(b"abc"),
        };
        k.insert("b", "a/key", known.clone());
        assert_eq!(k.get("b", "a/key"), Some(known));
        assert_eq!(k.get("b", "a/other"), None);
        assert_eq!(k.get("c", "a/key"), None);
        assert_eq!(k.len(), 1);
    }
}
