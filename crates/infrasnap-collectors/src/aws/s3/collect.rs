//! Capturing S3: every bucket's settings and every current object, byte exact, incrementally.
//!
//! Each bucket is one resource of kind `aws.s3.bucket`, id `aws.s3.bucket:<account>::<bucket>`
//! (a global kind: bucket names are unique across accounts, so its paths carry neither account
//! nor region; the bucket's region is in its document). Its document is the [`S3BucketRecord`],
//! its objects are the part `objects` (a folder) listed in the bucket's own index; where each
//! lands is the catalog's business (`catalog/kinds.rs`), not this module's.
//!
//! Per bucket: its region (GetBucketLocation), its settings (bucket_config.rs), then its objects:
//! the listing streams through a bounded queue; each key is placed in the tree in listing order
//! (keypath); an object whose key, version id or ETag, size and last-modified match the previous
//! snapshot's index is linked to the blob already stored; any other is downloaded, hashed while it
//! streams to disk, checked against its ETag (MD5, single-part without KMS) and the SDK's
//! checksum validation, and stored. Index lines are written in listing order.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::types::{BucketVersioningStatus, ChecksumMode, EncodingType};
use aws_sdk_s3::Client;
use aws_smithy_types::date_time::Format;
use futures::future::Either;
use futures::{stream, StreamExt};
use infrasnap_core::engine::{BoxFuture, Collector, CollectorReport, ErrorSink, RunContext};
use infrasnap_core::ids::{BlobId, ResourceId};
use infrasnap_core::index::PrevIndex;
use infrasnap_core::keypath::KeyMapper;
use infrasnap_core::manifest::{human_bytes, Table};
use infrasnap_core::metadata::{RecordedError, Status};
use infrasnap_core::model::s3::{
    same_second, Checksum, ConfigValue, ListedObject, ListingStamp, ObjectLock, S3BucketRecord,
    S3ObjectRecord, SseCKey, SseCKeyRing, SseCustomer,
};
use infrasnap_core::progress::CollectorProgress;
use infrasnap_core::store::{ReuseCheck, Stored};
use tokio::sync::{mpsc, Semaphore};
use tracing::Instrument;

use super::bucket_config::{not_implemented, read_bucket_config};
use crate::aws::kit::Pages;
use crate::aws::sdk_error::{describe, ApiFailure};

/// Objects at least this large are fetched as parallel ranged GETs.
pub const LARGE_OBJECT: u64 = 16 * 1024 * 1024;
/// Size of one ranged GET.
pub const PART_SIZE: u64 = 8 * 1024 * 1024;
/// Ranged GETs in flight per large object.
const PARTS_IN_FLIGHT: usize = 4;
/// Large objects downloading at once (bounds memory: this x PARTS_IN_FLIGHT x PART_SIZE).
const LARGE_IN_FLIGHT: usize = 4;
/// How far processing may run ahead of the oldest unfinished object (index lines stay in order).
const WINDOW: usize = 2048;
/// Objects of a bucket handled on the bucket's own task; the rest each get a task of their own.
const OWN_TASK_AFTER: usize = 1000;
/// Attempts per object, on top of the SDK's own retries of each request.
const OBJECT_ATTEMPTS: u32 = 6;
/// The resource kind of a bucket (catalog/kinds.rs).
pub const BUCKET_KIND: &str = "aws.s3.bucket";

/// Options of the S3 collector.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// Region used for ListBuckets and for buckets whose location cannot be read.
    pub default_region: String,
    /// Path-style addressing (for IP/localhost endpoints and S3-compatible servers).
    pub path_style: bool,
    /// Buckets worked on at once.
    pub bucket_concurrency: usize,
    /// Capture only these buckets (empty: all).
    pub buckets: Vec<String>,
    /// The account id (from STS): the `account` of every bucket's resource id.
    pub account: String,
    /// The account id, when the snapshot holds several accounts (names the collector instance).
    pub instance: Option<String>,
    /// Customer keys (SSE-C) to read objects with.
    pub sse_c: Arc<SseCKeyRing>,
    /// Capture noncurrent versions and delete markers of every versioned bucket.
    pub all_versions: bool,
    /// ... or of these buckets.
    pub versions_buckets: Vec<String>,
    /// Read tags and legal hold of unchanged objects again.
    pub recheck_tags: bool,
}

pub struct S3Collector {
    sdk: aws_config::SdkConfig,
    opts: S3Options,
    clients: Mutex<HashMap<String, Client>>,
    large: Arc<Semaphore>,
    /// Bucket settings the server answered `501 NotImplemented`: setting -> (IAM action, how
    /// many buckets). Said once per setting in the notes, not as an error per bucket.
    unsupported: Mutex<BTreeMap<&'static str, (&'static str, u64)>>,
}

impl S3Collector {
    pub fn new(sdk: aws_config::SdkConfig, opts: S3Options) -> Self {
        S3Collector {
            sdk,
            opts,
            clients: Mutex::new(HashMap::new()),
            large: Arc::new(Semaphore::new(LARGE_IN_FLIGHT)),
            unsupported: Mutex::new(BTreeMap::new()),
        }
    }

    /// The resource id of bucket `name`.
    fn bucket_id(&self, name: &str) -> ResourceId {
        ResourceId::new(BUCKET_KIND, &self.opts.account, "", name)
    }

    fn client(&self, region: &str) -> Client {
        let mut m = self.clients.lock().expect("client cache");
        m.entry(region.to_string())
            .or_insert_with(|| {
                let conf = aws_sdk_s3::config::Builder::from(&self.sdk)
                    .region(aws_sdk_s3::config::Region::new(region.to_string()))
                    .force_path_style(self.opts.path_style)
                    .build();
                Client::from_conf(conf)
            })
            .clone()
    }
}

/// One listed object, keys already decoded.
#[derive(Debug, Clone)]
struct Listed {
    key: String,
    version_id: Option<String>,
    size: u64,
    etag: Option<String>,
    last_modified: Option<String>,
    storage_class: Option<String>,
}

impl Listed {
    fn as_listed(&self) -> ListedObject<'_> {
        ListedObject {
            version_id: self.version_id.as_deref(),
            size: self.size,
            etag: self.etag.as_deref(),
            last_modified: self.last_modified.as_deref(),
        }
    }
}

/// Per-bucket tallies.
#[derive(Default, Debug, Clone)]
struct BucketTally {
    objects: u64,
    bytes: u64,
    downloaded: u64,
    bytes_new: u64,
    blobs_new: u64,
    escaped: u64,
    errors: u64,
    /// Entries of the versions view (versions and delete markers).
    versions: u64,
}

fn fmt_time(t: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(Format::DateTime).ok())
}

/// Decode a key S3 sent with `encoding-type=url` (`+` is a space; `%2B` a plus).
pub fn decode_url_key(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn rec_err(action: &str, resource: &str, f: &ApiFailure) -> RecordedError {
    RecordedError {
        service: "s3".into(),
        action: action.into(),
        resource: resource.into(),
        code: f.code.clone(),
        message: f.message.clone(),
    }
}

impl Collector for S3Collector {
    fn name(&self) -> &'static str {
        "s3"
    }

    fn instance(&self) -> Option<String> {
        self.opts.instance.clone()
    }

    fn run(self: Arc<Self>, cx: Arc<RunContext>) -> BoxFuture<'static, CollectorReport> {
        Box::pin(async move { self.run_inner(cx).await })
    }
}

impl S3Collector {
    async fn run_inner(self: Arc<Self>, cx: Arc<RunContext>) -> CollectorReport {
        let started = Instant::now();
        let progress = cx.progress.collector(&self.key());
        let errors = Arc::new(ErrorSink::default());
        let mut report = CollectorReport::default();

        let buckets = match self.list_buckets().await {
            Ok(b) => b,
            Err(f) => {
                let e = rec_err("s3:ListAllMyBuckets", "*", &f);
                cx.cover(BUCKET_KIND, &self.opts.account, "", Some(&e));
                errors.record(e);
                report.summary.status = Some(Status::Failed);
                report.summary.errors = errors.take();
                report.summary.duration_seconds = started.elapsed().as_secs_f64();
                progress.finished.store(true, Ordering::Relaxed);
                return report;
            }
        };
        let buckets: Vec<(String, Option<String>)> = if self.opts.buckets.is_empty() {
            cx.cover(BUCKET_KIND, &self.opts.account, "", None);
            buckets
        } else {
            // `--bucket`: the listing was read whole, but only the named buckets are captured,
            // so the kind is not covered: a bucket left out is "not comparable", not "removed".
            for wanted in &self.opts.buckets {
                if !buckets.iter().any(|(b, _)| b == wanted) {
                    errors.record(RecordedError {
                        service: "s3".into(),
                        action: "s3:ListAllMyBuckets".into(),
                        resource: wanted.clone(),
                        code: Some("NoSuchBucket".into()),
                        message: format!(
                            "--bucket {wanted}: no such bucket in this account (check the name, or the --profile)"
                        ),
                    });
                }
            }
            buckets
                .into_iter()
                .filter(|(b, _)| self.opts.buckets.contains(b))
                .collect()
        };
        progress.add(&progress.units_total, buckets.len() as u64);

        let results: Vec<(S3BucketRecord, BucketTally)> = stream::iter(buckets)
            .map(|(name, created)| {
                let me = self.clone();
                let cx = cx.clone();
                let errors = errors.clone();
                let progress = progress.clone();
                let span = tracing::info_span!("s3_bucket", bucket = %name);
                let fut = async move {
                    tracing::info!("s3: bucket {name}: listing and capturing");
                    let r = me.bucket(&cx, &name, created, &errors, &progress).await;
                    progress.add(&progress.units_done, 1);
                    tracing::info!("s3: bucket {name}: done, {} objects", r.1.objects);
                    r
                };
                async move { tokio::spawn(fut.instrument(span)).await.ok() }
            })
            .buffer_unordered(self.opts.bucket_concurrency.max(1))
            .filter_map(|r| async move { r })
            .collect()
            .await;

        let mut results = results;
        results.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        let mut regions: Vec<String> = results.iter().map(|(b, _)| b.region.clone()).collect();
        regions.sort();
        regions.dedup();

        let s = &mut report.summary;
        s.counts.insert("buckets".into(), results.len() as u64);
        for (_, t) in &results {
            *s.counts.entry("objects".into()).or_default() += t.objects;
            s.bytes_total += t.bytes;
            s.bytes_new += t.bytes_new;
            s.objects_downloaded += t.downloaded;
            s.blobs_new += t.blobs_new;
        }
        s.counts.entry("objects".into()).or_default();
        let versions: u64 = results.iter().map(|(_, t)| t.versions).sum();
        if versions > 0 {
            s.counts.insert("versions".into(), versions);
        }
        let quarantined = cx.quarantined();
        if quarantined > 0 {
            s.counts.insert("quarantined".into(), quarantined);
        }
        s.errors = errors.take();
        s.status = Some(if s.errors.is_empty() {
            Status::Complete
        } else {
            Status::Partial
        });
        s.duration_seconds = started.elapsed().as_secs_f64();
        report.regions = regions;

        let mut t = Table::new(&[
            "Bucket",
            "Region",
            "Objects",
            "Size",
            "Downloaded",
            "Versioning",
            "Website",
            "Escaped keys",
            "Errors",
        ]);
        for (b, tally) in &results {
            let versioning = match b.config.get("versioning") {
                Some(ConfigValue::Present { value }) => value
                    .get("Status")
                    .and_then(|v| v.as_str())
                    .unwrap_or("-")
                    .to_string(),
                Some(ConfigValue::Error { .. }) => "?".into(),
                _ => "off".into(),
            };
            let website = match b.config.get("website") {
                Some(ConfigValue::Present { .. }) => "yes",
                Some(ConfigValue::Error { .. }) => "?",
                _ => "no",
            };
            t.row(vec![
                b.name.clone(),
                b.region.clone(),
                tally.objects.to_string(),
                human_bytes(tally.bytes),
                tally.downloaded.to_string(),
                versioning,
                website.into(),
                tally.escaped.to_string(),
                tally.errors.to_string(),
            ]);
        }
        report.manifest.table(t);
        let unsupported = std::mem::take(&mut *self.unsupported.lock().expect("unsupported"));
        let mut lines = Vec::new();
        for (setting, (action, n)) in unsupported {
            let line = format!(
                "s3{}: this server does not implement {} (501 NotImplemented): the `{setting}` \
                 setting of {n} bucket(s) is not captured (not supported by this server)",
                self.opts
                    .instance
                    .as_deref()
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default(),
                action.trim_start_matches("s3:")
            );
            tracing::info!("{line}");
            lines.push(line.clone());
            report.notes.push(line);
        }
        report.manifest.list(lines);
        if quarantined > 0 {
            report.manifest.text(format!(
                "{quarantined} stored blob(s) no longer held what was stored (wrong size, or \
                 content that no longer hashes to its name): moved to `.infrasnap/quarantine/` \
                 and the objects downloaded again."
            ));
        }
        progress.finished.store(true, Ordering::Relaxed);
        report
    }

    async fn list_buckets(&self) -> Result<Vec<(String, Option<String>)>, ApiFailure> {
        let client = self.client(&self.opts.default_region);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = Pages::new("buckets");
        loop {
            let resp = client
                .list_buckets()
                .set_continuation_token(token.clone())
                .send()
                .await
                .map_err(|e| describe(&e))?;
            for b in resp.buckets() {
                if let Some(n) = b.name() {
                    out.push((n.to_string(), fmt_time(b.creation_date())));
                }
            }
            pages.read(resp.buckets().len());
            match pages.next(resp.continuation_token())? {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok(out)
    }

    async fn bucket_region(&self, name: &str, errors: &ErrorSink) -> String {
        let client = self.client(&self.opts.default_region);
        match client.get_bucket_location().bucket(name).send().await {
            Ok(r) => match r.location_constraint().map(|c| c.as_str()) {
                None | Some("") => "us-east-1".into(),
                Some("EU") => "eu-west-1".into(),
                Some(c) => c.to_string(),
            },
            Err(e) => {
                errors.record(rec_err("s3:GetBucketLocation", name, &describe(&e)));
                self.opts.default_region.clone()
            }
        }
    }

    async fn bucket(
        &self,
        cx: &Arc<RunContext>,
        name: &str,
        created: Option<String>,
        errors: &Arc<ErrorSink>,
        progress: &Arc<CollectorProgress>,
    ) -> (S3BucketRecord, BucketTally) {
        let errors_before = errors.len();
        let region = self.bucket_region(name, errors).await;
        let client = self.client(&region);
        let (config, failures) = read_bucket_config(&client, name).await;
        for (setting, action, f) in &failures {
            if not_implemented(f) {
                let mut u = self.unsupported.lock().expect("unsupported");
                u.entry(*setting).or_insert((*action, 0)).1 += 1;
            } else {
                errors.record(rec_err(action, name, f));
            }
        }
        let versioned = matches!(
            config.get("versioning"),
            Some(ConfigValue::Present { value }) if value.get("Status").and_then(|s| s.as_str()).is_some_and(|s| s == BucketVersioningStatus::Enabled.as_str() || s == BucketVersioningStatus::Suspended.as_str())
        );
        let listing = match versioned {
            false => Listing::Current,
            true if self.opts.all_versions
                || self.opts.versions_buckets.iter().any(|b| b == name) =>
            {
                Listing::EveryVersion
            }
            true => Listing::LatestVersions,
        };
        let mut tally = self
            .objects(cx, &client, name, listing, errors, progress)
            .await;
        tally.errors = (errors.len() - errors_before) as u64;
        let rec = S3BucketRecord {
            name: name.to_string(),
            region,
            creation_date: created,
            config,
            object_count: tally.objects,
            total_bytes: tally.bytes,
        };
        let id = self.bucket_id(name);
        let doc = serde_json::to_value(&rec).expect("a bucket record is JSON");
        if let Err(e) = cx.put_resource(&id, None, &doc) {
            errors.record(RecordedError {
                service: "s3".into(),
                action: "write".into(),
                resource: name.into(),
                code: None,
                message: e.to_string(),
            });
        }
        (rec, tally)
    }

    /// Stream the listing of one bucket into a bounded queue. `stopped` is set, before the queue
    /// closes, when the listing failed part way.
    fn spawn_lister(
        &self,
        client: Client,
        bucket: String,
        versioned: bool,
        every_version: Option<Arc<Mutex<Vec<VersionEntry>>>>,
        errors: Arc<ErrorSink>,
        stopped: Arc<AtomicBool>,
    ) -> mpsc::Receiver<Listed> {
        let (tx, rx) = mpsc::channel::<Listed>(4096);
        tokio::spawn(async move {
            let res = if versioned {
                list_versions(&client, &bucket, &tx, every_version.as_deref()).await
            } else {
                list_v2(&client, &bucket, &tx).await
            };
            if let Err((action, f)) = res {
                errors.record(rec_err(action, &bucket, &f));
                stopped.store(true, Ordering::Release);
            }
            drop(tx);
        });
        rx
    }

    async fn objects(
        &self,
        cx: &Arc<RunContext>,
        client: &Client,
        bucket: &str,
        listing: Listing,
        errors: &Arc<ErrorSink>,
        progress: &Arc<CollectorProgress>,
    ) -> BucketTally {
        let id = self.bucket_id(bucket);
        let versioned = listing != Listing::Current;
        let all_versions = listing == Listing::EveryVersion;
        let every_version = all_versions.then(|| Arc::new(Mutex::new(Vec::new())));
        // This run's current objects by version id: their blobs serve the versions view.
        let mut current: HashMap<(String, String), S3ObjectRecord> = HashMap::new();
        // Something of the bucket's objects could not be captured or indexed: its content is not
        // comparable with another snapshot's.
        let lost = |e: RecordedError| {
            cx.mark_incomplete(&id);
            errors.record(e);
        };
        let index_error = |e: infrasnap_core::error::CoreError| RecordedError {
            service: "s3".into(),
            action: "write index".into(),
            resource: bucket.into(),
            code: None,
            message: e.to_string(),
        };
        let prev = {
            let paths = self.previous_index_paths(cx, &id);
            tokio::task::spawn_blocking(move || PrevIndex::load(&paths))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default()
        };
        let prev = Arc::new(prev);
        let mut tally = BucketTally::default();
        let opened = cx
            .part_path(&id, None, "objects")
            .and_then(|folder| Ok((folder, cx.open_resource_index(&id)?.1)));
        let (folder, mut writer) = match opened {
            Ok(o) => o,
            Err(e) => {
                lost(index_error(e));
                return tally;
            }
        };
        cx.record_part(&id, "objects", &folder, None, 0);
        let stopped = Arc::new(AtomicBool::new(false));
        let mut rx = self.spawn_lister(
            client.clone(),
            bucket.to_string(),
            versioned,
            every_version.clone(),
            errors.clone(),
            stopped.clone(),
        );
        let listing = stream::poll_fn(move |c| rx.poll_recv(c));
        let mut mapper = KeyMapper::new();
        let mut seen = 0usize;
        let recheck = self
            .opts
            .recheck_tags
            .then(|| Arc::new(AtomicBool::new(false)));
        let mut results = listing
            .map(|l| {
                let placement = mapper.place(&l.key, l.size);
                let rel = format!("{folder}/{}", placement.rel);
                let job = ObjectJob {
                    bucket: bucket.to_string(),
                    listed: l,
                    rel,
                    escaped: placement.escaped,
                    dir_marker: placement.dir_marker,
                    keys: self.opts.sse_c.clone(),
                    recheck: recheck.clone(),
                };
                let cx = cx.clone();
                let prev = prev.clone();
                let client = client.clone();
                let large = self.large.clone();
                let progress = progress.clone();
                seen += 1;
                if seen <= OWN_TASK_AFTER || job.recheck.is_some() {
                    let fut = async move { job.run(&cx, &client, &prev, &large, &progress).await };
                    return Either::Left(Either::Left(fut));
                }
                // Past the first objects of a bucket, each object to download runs on a task of
                // its own, so that the per-object work (request, hashing, writing, linking) of
                // one large bucket runs on every core instead of on its bucket's task alone
                // (100k tiny objects: 18-20 s -> 12.7 s). Not from the start: a task per object
                // costs more CPU (wake-ups across threads), ~6% at seed scale, where 46 buckets
                // already keep the cores busy; and not for unchanged objects, which are only
                // linked. `buffered` still hands the results back in listing order.
                if let Some(linked) = job.link_unchanged(&cx, &prev, &progress) {
                    return Either::Left(Either::Right(futures::future::ready(linked)));
                }
                let resource = format!("{bucket}/{}", job.listed.key);
                let fut = async move { job.fetch(&cx, &client, &large, &progress).await };
                let handle = tokio::spawn(fut);
                Either::Right(async move {
                    handle.await.unwrap_or_else(|e| {
                        Err(RecordedError {
                            service: "s3".into(),
                            action: "s3:GetObject".into(),
                            resource,
                            code: None,
                            message: format!("the transfer stopped unexpectedly: {e}"),
                        })
                    })
                })
            })
            .buffered(WINDOW);
        while let Some(r) = results.next().await {
            match r {
                Ok(Some((rec, fetched, extra))) => {
                    if let Some(e) = extra {
                        progress.add(&progress.errors, 1);
                        lost(e);
                    }
                    tally.objects += 1;
                    tally.bytes += rec.size;
                    if rec.escaped {
                        tally.escaped += 1;
                    }
                    if let Some(st) = fetched {
                        tally.downloaded += 1;
                        if st.new {
                            tally.bytes_new += st.size;
                            tally.blobs_new += 1;
                        }
                    }
                    // User metadata and tags are settings people put values in: redacted
                    // like every other setting (keys and content stay exact).
                    let mut rec = rec;
                    let fp = cx.fingerprinter();
                    infrasnap_core::secrets::redact_named_map(&mut rec.metadata, fp);
                    infrasnap_core::secrets::redact_named_map(&mut rec.tags, fp);
                    if let Err(e) = writer.append(&rec) {
                        lost(index_error(e));
                    }
                    if all_versions {
                        if let Some(v) = &rec.version_id {
                            current.insert((rec.key.clone(), v.clone()), rec);
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    progress.add(&progress.errors, 1);
                    lost(e);
                }
            }
        }
        if let Err(e) = writer.finish() {
            lost(index_error(e));
        }
        if stopped.load(Ordering::Acquire) {
            cx.mark_incomplete(&id);
        }
        if let Some(all) = every_version {
            let entries = std::mem::take(&mut *all.lock().expect("versions"));
            self.versions(
                cx, client, bucket, entries, &current, errors, progress, &mut tally,
            )
            .await;
        }
        tally
    }

    /// The versions view of a bucket (`--all-versions`): every version and delete marker, in
    /// listing order (key, then newest first), each a file `<key>/<time>_<version id>` (a delete
    /// marker an empty `....delete-marker`) listed in `index/s3_versions/<bucket>.jsonl`. A
    /// version is immutable: one this run or an earlier one already stored is linked, never
    /// fetched again.
    #[allow(clippy::too_many_arguments)]
    async fn versions(
        &self,
        cx: &Arc<RunContext>,
        client: &Client,
        bucket: &str,
        entries: Vec<VersionEntry>,
        current: &HashMap<(String, String), S3ObjectRecord>,
        errors: &Arc<ErrorSink>,
        progress: &Arc<CollectorProgress>,
        tally: &mut BucketTally,
    ) {
        let id = self.bucket_id(bucket);
        let lost = |e: RecordedError| {
            cx.mark_incomplete(&id);
            errors.record(e);
        };
        let local = |action: &str, e: infrasnap_core::error::CoreError| RecordedError {
            service: "s3".into(),
            action: action.into(),
            resource: bucket.into(),
            code: None,
            message: e.to_string(),
        };
        let index_rel = format!("index/s3_versions/{bucket}.jsonl");
        let opened = cx.part_path(&id, None, "versions").and_then(|folder| {
            let w = infrasnap_core::index::IndexWriter::create(&cx.tree_path(&index_rel)?)?;
            Ok((folder, w))
        });
        let (folder, mut writer) = match opened {
            Ok(o) => o,
            Err(e) => return lost(local("write index", e)),
        };
        cx.record_part(&id, "versions", &folder, None, 0);
        // Earlier snapshots' versions, by key and version id (later wins).
        let mut earlier: HashMap<(String, String), S3ObjectRecord> = HashMap::new();
        for p in cx.reuse_indexes(&index_rel) {
            if let Ok(recs) = infrasnap_core::index::read_all::<S3ObjectRecord>(&p) {
                for r in recs {
                    if let Some(v) = r.version_id.clone() {
                        earlier.insert((r.key.clone(), v), r);
                    }
                }
            }
        }
        let earlier = Arc::new(earlier);
        let empty = match cx.repo.store().put_bytes(b"") {
            Ok(st) => st.id,
            Err(e) => return lost(local("write", e)),
        };
        let mut mapper = KeyMapper::new();
        let mut last: Option<(String, String, bool)> = None;
        let jobs = entries.into_iter().map(|v| {
            let (key_rel, escaped) = match &last {
                Some((k, rel, esc)) if *k == v.key => (rel.clone(), *esc),
                _ => {
                    let p = mapper.place(&v.key, 1);
                    last = Some((v.key.clone(), p.rel.clone(), p.escaped));
                    (p.rel, p.escaped)
                }
            };
            let rel = format!("{folder}/{key_rel}/{}", version_file_name(&v));
            let known = current
                .get(&(v.key.clone(), v.version_id.clone()))
                .cloned()
                .or_else(|| earlier.get(&(v.key.clone(), v.version_id.clone())).cloned());
            let cx = cx.clone();
            let client = client.clone();
            let large = self.large.clone();
            let progress = progress.clone();
            let keys = self.opts.sse_c.clone();
            let bucket = bucket.to_string();
            async move {
                let base = |blob: BlobId, size: u64, from: Option<S3ObjectRecord>| {
                    let mut rec = from
                        .unwrap_or_else(|| Attrs::default().into_record(&v.listed(), blob, &rel));
                    rec.path = rel.clone();
                    rec.blob = blob;
                    rec.size = size;
                    rec.escaped = escaped;
                    rec.dir_marker = false;
                    rec.is_latest = Some(v.is_latest);
                    rec.delete_marker = v.delete_marker;
                    rec.version_id = Some(v.version_id.clone());
                    rec
                };
                let io = |e: infrasnap_core::error::CoreError| RecordedError {
                    service: "s3".into(),
                    action: "write".into(),
                    resource: format!("{bucket}/{}?versionId={}", v.key, v.version_id),
                    code: None,
                    message: e.to_string(),
                };
                if v.delete_marker {
                    cx.link_blob(&empty, &rel).map_err(io)?;
                    return Ok::<_, RecordedError>(Some((base(empty, 0, None), None, None)));
                }
                if let Some(k) = known.filter(|k| k.size == v.size && !k.dir_marker) {
                    if matches!(cx.reusable(&k.blob, k.size), Ok(ReuseCheck::Intact)) {
                        cx.link_blob(&k.blob, &rel).map_err(io)?;
                        let (blob, size) = (k.blob, k.size);
                        return Ok(Some((base(blob, size, Some(k)), None, None)));
                    }
                }
                let job = ObjectJob {
                    bucket: bucket.clone(),
                    listed: v.listed(),
                    rel: rel.clone(),
                    escaped,
                    dir_marker: false,
                    keys,
                    recheck: None,
                };
                match job.download(&cx, &client, &large, &progress).await? {
                    Some((rec, st, extra)) => {
                        let (blob, size) = (rec.blob, rec.size);
                        Ok(Some((base(blob, size, Some(rec)), st, extra)))
                    }
                    None => Ok(None),
                }
            }
        });
        let mut results = stream::iter(jobs).buffered(32);
        while let Some(r) = results.next().await {
            match r {
                Ok(Some((rec, fetched, extra))) => {
                    if let Some(e) = extra {
                        lost(e);
                    }
                    tally.versions += 1;
                    if let Some(st) = fetched {
                        tally.downloaded += 1;
                        if st.new {
                            tally.bytes_new += st.size;
                            tally.blobs_new += 1;
                        }
                    }
                    if let Err(e) = writer.append(&rec) {
                        lost(local("write index", e));
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    progress.add(&progress.errors, 1);
                    lost(e);
                }
            }
        }
        if let Err(e) = writer.finish() {
            lost(local("write index", e));
        }
    }

    /// Earlier snapshots' index of bucket `id`, oldest first (later wins). In each folder: first
    /// where a format-1 snapshot of several accounts had it
    /// (`index/aws_accounts/<account>/s3_buckets/<bucket>.jsonl`), so that such a repository stays
    /// incremental, then where the catalog puts it (where a single-account format-1 snapshot had
    /// it too).
    fn previous_index_paths(&self, cx: &RunContext, id: &ResourceId) -> Vec<PathBuf> {
        let legacy = cx.reuse_indexes(&format!(
            "index/aws_accounts/{}/s3_buckets/{}.jsonl",
            self.opts.account, id.id
        ));
        let current = match cx.resource_index_path(id) {
            Ok(Some(rel)) => cx.reuse_indexes(&rel),
            _ => Vec::new(),
        };
        let mut out = Vec::with_capacity(legacy.len() + current.len());
        let mut current = current.into_iter();
        for old in legacy {
            out.push(old);
            out.extend(current.next());
        }
        out.extend(current);
        out
    }
}

async fn list_v2(
    client: &Client,
    bucket: &str,
    tx: &mpsc::Sender<Listed>,
) -> Result<(), (&'static str, ApiFailure)> {
    let mut token: Option<String> = None;
    loop {
        let resp = client
            .list_objects_v2()
            .bucket(bucket)
            .encoding_type(EncodingType::Url)
            .set_continuation_token(token.clone())
            .send()
            .await
            .map_err(|e| ("s3:ListBucket", describe(&e)))?;
        let url = resp.encoding_type().is_some();
        for o in resp.contents() {
            let Some(k) = o.key() else { continue };
            let key = if url {
                decode_url_key(k)
            } else {
                k.to_string()
            };
            let l = Listed {
                key,
                version_id: None,
                size: o.size().unwrap_or(0).max(0) as u64,
                etag: o.e_tag().map(str::to_string),
                last_modified: fmt_time(o.last_modified()),
                storage_class: o.storage_class().map(|s| s.as_str().to_string()),
            };
            if tx.send(l).await.is_err() {
                return Ok(());
            }
        }
        match (resp.is_truncated(), resp.next_continuation_token()) {
            (Some(true), Some(t)) if Some(t) != token.as_deref() => token = Some(t.to_string()),
            _ => return Ok(()),
        }
    }
}

/// How a bucket's objects are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    /// ListObjectsV2 (an unversioned bucket).
    Current,
    /// ListObjectVersions, current versions only (a versioned bucket).
    LatestVersions,
    /// ListObjectVersions, and every version and delete marker into the versions view
    /// (`--all-versions`).
    EveryVersion,
}

/// One entry of a versions listing: a version or a delete marker.
#[derive(Debug, Clone)]
struct VersionEntry {
    key: String,
    version_id: String,
    is_latest: bool,
    delete_marker: bool,
    size: u64,
    etag: Option<String>,
    last_modified: Option<String>,
    storage_class: Option<String>,
    /// For ordering: seconds and nanoseconds.
    at: (i64, u32),
}

impl VersionEntry {
    fn listed(&self) -> Listed {
        Listed {
            key: self.key.clone(),
            version_id: Some(self.version_id.clone()),
            size: self.size,
            etag: self.etag.clone(),
            last_modified: self.last_modified.clone(),
            storage_class: self.storage_class.clone(),
        }
    }
}

/// The file name of a version in the versions view: its time (without colons) and id.
fn version_file_name(v: &VersionEntry) -> String {
    let time = v
        .last_modified
        .as_deref()
        .unwrap_or("unknown-time")
        .replace(':', "-");
    let vid: String = v
        .version_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let suffix = if v.delete_marker {
        ".delete-marker"
    } else {
        ""
    };
    format!("{time}_{vid}{suffix}")
}

async fn list_versions(
    client: &Client,
    bucket: &str,
    tx: &mpsc::Sender<Listed>,
    every_version: Option<&Mutex<Vec<VersionEntry>>>,
) -> Result<(), (&'static str, ApiFailure)> {
    let mut key_marker: Option<String> = None;
    let mut vid_marker: Option<String> = None;
    loop {
        let resp = client
            .list_object_versions()
            .bucket(bucket)
            .encoding_type(EncodingType::Url)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(vid_marker.clone())
            .send()
            .await
            .map_err(|e| ("s3:ListBucketVersions", describe(&e)))?;
        let url = resp.encoding_type().is_some();
        let decode = |k: &str| {
            if url {
                decode_url_key(k)
            } else {
                k.to_string()
            }
        };
        if let Some(all) = every_version {
            let at = |t: Option<&aws_smithy_types::DateTime>| {
                t.map(|t| (t.secs(), t.subsec_nanos())).unwrap_or_default()
            };
            let mut page: Vec<VersionEntry> = resp
                .versions()
                .iter()
                .filter_map(|v| {
                    Some(VersionEntry {
                        key: decode(v.key()?),
                        version_id: v.version_id().unwrap_or("null").to_string(),
                        is_latest: v.is_latest() == Some(true),
                        delete_marker: false,
                        size: v.size().unwrap_or(0).max(0) as u64,
                        etag: v.e_tag().map(str::to_string),
                        last_modified: fmt_time(v.last_modified()),
                        storage_class: v.storage_class().map(|s| s.as_str().to_string()),
                        at: at(v.last_modified()),
                    })
                })
                .collect();
            page.extend(resp.delete_markers().iter().filter_map(|d| {
                Some(VersionEntry {
                    key: decode(d.key()?),
                    version_id: d.version_id().unwrap_or("null").to_string(),
                    is_latest: d.is_latest() == Some(true),
                    delete_marker: true,
                    size: 0,
                    etag: None,
                    last_modified: fmt_time(d.last_modified()),
                    storage_class: None,
                    at: at(d.last_modified()),
                })
            }));
            // S3 lists versions and delete markers apart; in order they are by key, newest
            // first (a stable sort keeps S3's order where times are equal).
            page.sort_by(|a, b| {
                a.key
                    .as_bytes()
                    .cmp(b.key.as_bytes())
                    .then(b.at.cmp(&a.at))
                    .then(b.is_latest.cmp(&a.is_latest))
            });
            all.lock().expect("versions").extend(page);
        }
        for v in resp.versions() {
            if v.is_latest() != Some(true) {
                continue;
            }
            let Some(k) = v.key() else { continue };
            let key = if url {
                decode_url_key(k)
            } else {
                k.to_string()
            };
            let l = Listed {
                key,
                version_id: v.version_id().map(str::to_string),
                size: v.size().unwrap_or(0).max(0) as u64,
                etag: v.e_tag().map(str::to_string),
                last_modified: fmt_time(v.last_modified()),
                storage_class: v.storage_class().map(|s| s.as_str().to_string()),
            };
            if tx.send(l).await.is_err() {
                return Ok(());
            }
        }
        let next = (
            resp.next_key_marker().map(str::to_string),
            resp.next_version_id_marker().map(str::to_string),
        );
        if resp.is_truncated() == Some(true)
            && next.0.is_some()
            && (next.0 != key_marker || next.1 != vid_marker)
        {
            key_marker = next.0.map(|k| if url { decode_url_key(&k) } else { k });
            vid_marker = next.1;
        } else {
            return Ok(());
        }
    }
}

/// One captured object: its record, the blob stored if it was downloaded, and an error about a
/// part of it that could not be read (its tags) while the rest was captured.
type Fetched = (S3ObjectRecord, Option<Stored>, Option<RecordedError>);

struct ObjectJob {
    bucket: String,
    listed: Listed,
    rel: String,
    escaped: bool,
    dir_marker: bool,
    keys: Arc<SseCKeyRing>,
    /// With --recheck-tags: set once the bucket says it has no Object Lock (no legal holds to
    /// read).
    recheck: Option<Arc<AtomicBool>>,
}

/// Why one fetch attempt failed.
enum FetchError {
    /// Worth another attempt (a broken stream, a checksum mismatch, a dropped connection).
    Retry(ApiFailure),
    /// Not worth retrying (denied, gone, SSE-C).
    Fatal(ApiFailure),
    /// The object was deleted after it was listed: nothing to capture.
    Vanished,
}

fn unchanged(prev: &S3ObjectRecord, l: &Listed) -> bool {
    prev.unchanged_since(&l.as_listed())
}

impl ObjectJob {
    async fn run(
        self,
        cx: &RunContext,
        client: &Client,
        prev: &PrevIndex,
        large: &Semaphore,
        progress: &CollectorProgress,
    ) -> Result<Option<Fetched>, RecordedError> {
        match self.link_unchanged(cx, prev, progress) {
            Some(Ok(Some((rec, None, None)))) if self.recheck.is_some() => {
                let (rec, e) = self.recheck(client, rec).await;
                Ok(Some((rec, None, e)))
            }
            Some(linked) => linked,
            None => self.fetch(cx, client, large, progress).await,
        }
    }

    /// `--recheck-tags`: an unchanged object's tags and legal hold, read again (they change
    /// without a new ETag or time). What cannot be read keeps its earlier value, with an error.
    async fn recheck(
        &self,
        client: &Client,
        mut rec: S3ObjectRecord,
    ) -> (S3ObjectRecord, Option<RecordedError>) {
        let version = rec.version_id.clone().filter(|v| v != "null");
        let resource = format!("{}/{}", self.bucket, rec.key);
        let mut error = None;
        match client
            .get_object_tagging()
            .bucket(&self.bucket)
            .key(&rec.key)
            .set_version_id(version.clone())
            .send()
            .await
        {
            Ok(t) => {
                rec.tags = t
                    .tag_set()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect();
            }
            Err(e) => {
                let f = describe(&e);
                error = Some(rec_err(
                    "s3:GetObjectTagging",
                    &resource,
                    &ApiFailure {
                        message: format!("the tags recorded earlier were kept: {}", f.message),
                        ..f
                    },
                ));
            }
        }
        let no_lock = self.recheck.as_ref().expect("recheck is on");
        if !no_lock.load(Ordering::Relaxed) {
            match client
                .get_object_legal_hold()
                .bucket(&self.bucket)
                .key(&rec.key)
                .set_version_id(version)
                .send()
                .await
            {
                Ok(h) => {
                    let status = h
                        .legal_hold()
                        .and_then(|h| h.status())
                        .map(|s| s.as_str().to_string());
                    set_legal_hold(&mut rec, status);
                }
                Err(e) => {
                    let f = describe(&e);
                    if f.code_in(&["NoSuchObjectLockConfiguration"]) || f.status == Some(404) {
                        set_legal_hold(&mut rec, None);
                    } else if f.code_in(&["InvalidRequest", "ObjectLockConfigurationNotFoundError"])
                    {
                        // The bucket has no Object Lock: no legal holds to read in it.
                        no_lock.store(true, Ordering::Relaxed);
                    } else if error.is_none() {
                        error = Some(rec_err(
                            "s3:GetObjectLegalHold",
                            &resource,
                            &ApiFailure {
                                message: format!(
                                    "the legal hold recorded earlier was kept: {}",
                                    f.message
                                ),
                                ..f
                            },
                        ));
                    }
                }
            }
        }
        (rec, error)
    }

    /// An object unchanged since an earlier snapshot whose blob is stored: its tree file is
    /// linked at once, without a transfer. `None`: it must be downloaded.
    fn link_unchanged(
        &self,
        cx: &RunContext,
        prev: &PrevIndex,
        progress: &CollectorProgress,
    ) -> Option<Result<Option<Fetched>, RecordedError>> {
        let l = &self.listed;
        let p = prev.get::<S3ObjectRecord>(&l.key)?;
        if !unchanged(&p, l) {
            return None;
        }
        // The stored blob must still be what was stored (its size always, its hash with
        // --reverify); a damaged one is quarantined and the object downloaded again.
        if !self.dir_marker {
            match cx.reusable(&p.blob, p.size) {
                Ok(ReuseCheck::Intact) => {}
                Ok(_) => return None,
                Err(e) => {
                    return Some(Err(RecordedError {
                        service: "s3".into(),
                        action: "quarantine".into(),
                        resource: format!("{}/{}", self.bucket, l.key),
                        code: None,
                        message: e.to_string(),
                    }))
                }
            }
        }
        let linked = if self.dir_marker {
            cx.make_dir(&self.rel)
        } else {
            cx.link_blob(&p.blob, &self.rel)
        };
        if let Err(e) = linked {
            return Some(Err(RecordedError {
                service: "s3".into(),
                action: "write".into(),
                resource: format!("{}/{}", self.bucket, l.key),
                code: None,
                message: e.to_string(),
            }));
        }
        progress.add(&progress.items, 1);
        progress.add(&progress.bytes, l.size);
        let rec = S3ObjectRecord {
            path: self.rel.clone(),
            escaped: self.escaped,
            dir_marker: self.dir_marker,
            storage_class: l.storage_class.clone().or(p.storage_class.clone()),
            ..p
        };
        Some(Ok(Some((rec, None, None))))
    }

    async fn download(
        self,
        cx: &RunContext,
        client: &Client,
        large: &Semaphore,
        progress: &CollectorProgress,
    ) -> Result<Option<Fetched>, RecordedError> {
        let l = &self.listed;
        let resource = format!("{}/{}", self.bucket, l.key);
        let io_err = |e: infrasnap_core::error::CoreError| RecordedError {
            service: "s3".into(),
            action: "write".into(),
            resource: resource.clone(),
            code: None,
            message: e.to_string(),
        };
        // The IAM action a GET needs: with a version id, S3 checks s3:GetObjectVersion.
        let get_action = if l.version_id.as_deref().is_some_and(|v| v != "null") {
            "s3:GetObjectVersion"
        } else {
            "s3:GetObject"
        };
        let _permit = cx.transfers.acquire().await.expect("semaphore open");
        let _large = if l.size >= LARGE_OBJECT {
            Some(large.acquire().await.expect("semaphore open"))
        } else {
            None
        };
        let mut last = None;
        // A key configured for this object is sent from the first request; the default key
        // (`--sse-c-key-file`) only once S3 says the object needs one.
        let mut key = self.keys.for_object(&self.bucket, &l.key).cloned();
        let mut attempt = 0;
        while attempt < OBJECT_ATTEMPTS {
            if attempt > 0 {
                let ms = 100u64 * (1 << attempt.min(6)) + (attempt as u64 * 37) % 100;
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            attempt += 1;
            match self.fetch_once(cx, client, progress, key.as_ref()).await {
                Ok((attrs, stored)) => {
                    if self.dir_marker {
                        cx.make_dir(&self.rel).map_err(io_err)?;
                    } else {
                        cx.link_blob(&stored.id, &self.rel).map_err(io_err)?;
                    }
                    progress.add(&progress.items, 1);
                    progress.add(&progress.bytes, stored.size);
                    let tag_error = self.tag_error(&attrs);
                    let mut rec = attrs.into_record(l, stored.id, &self.rel);
                    rec.sse_customer = key.as_ref().map(|k| SseCustomer {
                        algorithm: "AES256".into(),
                        key_fingerprint: k.fingerprint(cx.fingerprinter()),
                    });
                    rec.escaped = self.escaped;
                    rec.dir_marker = self.dir_marker;
                    return Ok(Some((rec, Some(stored), tag_error)));
                }
                Err(FetchError::Vanished) => return Ok(None),
                Err(FetchError::Fatal(f)) if key.is_none() && needs_customer_key(&f) => {
                    match self.keys.fallback() {
                        Some(k) => {
                            key = Some(k.clone());
                            attempt -= 1;
                        }
                        None => return Err(sse_c_error(get_action, &resource, &f, None, cx)),
                    }
                }
                Err(FetchError::Fatal(f)) if key.is_some() && f.status == Some(403) => {
                    return Err(sse_c_error(get_action, &resource, &f, key.as_ref(), cx));
                }
                Err(FetchError::Fatal(f)) => return Err(rec_err(get_action, &resource, &f)),
                Err(FetchError::Retry(f)) => {
                    tracing::debug!("retrying {resource}: {f}");
                    last = Some(f);
                }
            }
        }
        let f = last.expect("at least one attempt");
        Err(rec_err(
            "s3:GetObject",
            &resource,
            &ApiFailure {
                message: format!("gave up after {OBJECT_ATTEMPTS} attempts: {}", f.message),
                ..f
            },
        ))
    }

    async fn fetch_once(
        &self,
        cx: &RunContext,
        client: &Client,
        progress: &CollectorProgress,
        key: Option<&SseCKey>,
    ) -> Result<(Attrs, Stored), FetchError> {
        let l = &self.listed;
        let (sse_alg, sse_key, sse_md5) = match key {
            Some(k) => (
                Some("AES256".to_string()),
                Some(k.base64()),
                Some(k.md5_base64()),
            ),
            None => (None, None, None),
        };
        let version = l.version_id.clone().filter(|v| v != "null");
        let store = cx.repo.store();
        let mut w = store
            .writer_sized(Some(l.size))
            .map_err(|e| FetchError::Fatal(local_failure(e)))?;
        let attrs = if l.size >= LARGE_OBJECT {
            // The object may have changed since it was listed: ask for its current ETag and size,
            // and pin every range to that ETag, so the parts are of one and the same object.
            let head = client
                .head_object()
                .bucket(&self.bucket)
                .key(&l.key)
                .set_version_id(version.clone())
                .set_sse_customer_algorithm(sse_alg.clone())
                .set_sse_customer_key(sse_key.clone())
                .set_sse_customer_key_md5(sse_md5.clone())
                .send()
                .await
                .map_err(|e| {
                    let f = describe(&e);
                    if f.status == Some(404) && !f.code_in(&["NoSuchBucket"]) {
                        FetchError::Vanished
                    } else if f.status == Some(400) && key.is_none() {
                        // Most likely an SSE-C object read without its key.
                        FetchError::Fatal(f)
                    } else if f.status.is_some_and(|s| s >= 500)
                        || f.status.is_none()
                        // A HEAD answer has no body, so no error code: throttling (400/503) and
                        // other transient answers look alike. Retry within the object's budget.
                        || (f.code.is_none() && f.status != Some(403))
                    {
                        FetchError::Retry(f)
                    } else {
                        FetchError::Fatal(f)
                    }
                })?;
            let size = head.content_length().unwrap_or(0).max(0) as u64;
            let etag = head.e_tag().map(str::to_string).or_else(|| l.etag.clone());
            let parts: Vec<(u64, u64)> = (0..size)
                .step_by(PART_SIZE as usize)
                .map(|s| (s, (s + PART_SIZE).min(size) - 1))
                .collect();
            let mut first: Option<Attrs> = None;
            let mut fetched = stream::iter(parts)
                .map(|(s, e)| {
                    let req = client
                        .get_object()
                        .bucket(&self.bucket)
                        .key(&l.key)
                        .set_version_id(version.clone())
                        .set_sse_customer_algorithm(sse_alg.clone())
                        .set_sse_customer_key(sse_key.clone())
                        .set_sse_customer_key_md5(sse_md5.clone())
                        .set_if_match(etag.clone())
                        .range(format!("bytes={s}-{e}"));
                    async move {
                        let mut out = req.send().await.map_err(get_failure)?;
                        let body = std::mem::take(&mut out.body);
                        // Kept as the received segments: no copy into one contiguous buffer.
                        let bytes = body
                            .collect()
                            .await
                            .map_err(|e| FetchError::Retry(stream_failure(e)))?;
                        let got = bytes::Buf::remaining(&bytes) as u64;
                        if got != e - s + 1 {
                            return Err(FetchError::Retry(ApiFailure {
                                code: None,
                                message: format!("range {s}-{e} returned {got} bytes"),
                                status: None,
                            }));
                        }
                        Ok((Attrs::from_output(&out), bytes))
                    }
                })
                .buffered(PARTS_IN_FLIGHT);
            while let Some(part) = fetched.next().await {
                let (a, bytes) = part?;
                for seg in bytes.into_segments() {
                    w.write_all(&seg)
                        .map_err(|e| FetchError::Fatal(local_failure(e)))?;
                    progress.add(&progress.bytes_downloaded, seg.len() as u64);
                }
                first.get_or_insert(a);
            }
            let mut a = first.unwrap_or_default();
            a.content_length = Some(size);
            a
        } else {
            let mut out = client
                .get_object()
                .bucket(&self.bucket)
                .key(&l.key)
                .set_version_id(version.clone())
                .set_sse_customer_algorithm(sse_alg.clone())
                .set_sse_customer_key(sse_key.clone())
                .set_sse_customer_key_md5(sse_md5.clone())
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await
                .map_err(get_failure)?;
            let attrs = Attrs::from_output(&out);
            let mut body = std::mem::take(&mut out.body);
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| FetchError::Retry(stream_failure(e)))?;
                w.write_all(&chunk)
                    .map_err(|e| FetchError::Fatal(local_failure(e)))?;
                progress.add(&progress.bytes_downloaded, chunk.len() as u64);
            }
            attrs
        };
        let expected = attrs.content_length.unwrap_or(l.size);
        if w.size() != expected {
            return Err(FetchError::Retry(ApiFailure {
                code: None,
                message: format!("got {} bytes, expected {expected}", w.size()),
                status: None,
            }));
        }
        // The ETag of a single-part upload without KMS or SSE-C is the MD5 of the content.
        let etag = attrs.etag.clone().or_else(|| l.etag.clone());
        if let Some(etag) = etag.as_deref().map(|e| e.trim_matches('"')) {
            let kms = attrs
                .sse
                .as_deref()
                .is_some_and(|s| s.starts_with("aws:kms"));
            // Nor is it with a customer key (SSE-C).
            if !etag.contains('-') && etag.len() == 32 && !kms && key.is_none() {
                let md5 = hex::encode(w.md5_so_far());
                if !md5.eq_ignore_ascii_case(etag) {
                    return Err(FetchError::Retry(ApiFailure {
                        code: Some("ChecksumMismatch".into()),
                        message: format!("content MD5 {md5} does not match ETag {etag}"),
                        status: None,
                    }));
                }
            }
        }
        let stored = w
            .finish()
            .map_err(|e| FetchError::Fatal(local_failure(e)))?;
        let mut attrs = attrs;
        self.read_tags(client, version, &mut attrs).await;
        Ok((attrs, stored))
    }

    /// The object's tags, when its headers say it has some.
    async fn read_tags(&self, client: &Client, version: Option<String>, attrs: &mut Attrs) {
        if attrs.tag_count == 0 {
            return;
        }
        match client
            .get_object_tagging()
            .bucket(&self.bucket)
            .key(&self.listed.key)
            .set_version_id(version)
            .send()
            .await
        {
            Ok(t) => {
                for tag in t.tag_set() {
                    attrs
                        .tags
                        .insert(tag.key().to_string(), tag.value().to_string());
                }
            }
            Err(e) => {
                let f = describe(&e);
                attrs.tag_error = Some(ApiFailure {
                    message: format!("object captured without its tags: {}", f.message),
                    ..f
                });
            }
        }
    }

    /// The recorded error of tags that could not be read.
    fn tag_error(&self, attrs: &Attrs) -> Option<RecordedError> {
        let resource = format!("{}/{}", self.bucket, self.listed.key);
        attrs.tag_error.clone().map(|f| {
            rec_err(
                if self.listed.version_id.is_some() {
                    "s3:GetObjectVersionTagging"
                } else {
                    "s3:GetObjectTagging"
                },
                &resource,
                &f,
            )
        })
    }

    /// An object not linked from an earlier snapshot: read back by its headers when its bytes
    /// are known to the run ([`KnownContent`](infrasnap_core::engine::KnownContent)), else
    /// downloaded.
    async fn fetch(
        self,
        cx: &RunContext,
        client: &Client,
        large: &Semaphore,
        progress: &CollectorProgress,
    ) -> Result<Option<Fetched>, RecordedError> {
        if let Some(done) = self.read_back_known(cx, client, progress).await {
            return done;
        }
        self.download(cx, client, large, progress).await
    }

    /// An object whose bytes the run knows (a restore just uploaded them): HeadObject, and when
    /// the server's ETag is the MD5 of those bytes (a single-part object without KMS or a
    /// customer key) and the size matches, the stored blob is linked and the record made from
    /// the headers (and tags): the content is proven without a download. `None`: download it.
    async fn read_back_known(
        &self,
        cx: &RunContext,
        client: &Client,
        progress: &CollectorProgress,
    ) -> Option<Result<Option<Fetched>, RecordedError>> {
        let l = &self.listed;
        if self.dir_marker || self.keys.for_object(&self.bucket, &l.key).is_some() {
            return None;
        }
        let k = cx.known(&self.bucket, &l.key)?;
        if k.size != l.size
            || l.etag
                .as_deref()
                .is_some_and(|e| !infrasnap_core::engine::etag_is_md5(e, &k.md5))
        {
            return None;
        }
        let version = l.version_id.clone().filter(|v| v != "null");
        let _permit = cx.transfers.acquire().await.expect("semaphore open");
        let head = client
            .head_object()
            .bucket(&self.bucket)
            .key(&l.key)
            .set_version_id(version.clone())
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .ok()?;
        let mut attrs = Attrs::from_head(&head);
        let kms = attrs
            .sse
            .as_deref()
            .is_some_and(|s| s.starts_with("aws:kms"));
        let proven = !kms
            && attrs.content_length.unwrap_or(l.size) == k.size
            && attrs
                .etag
                .as_deref()
                .is_some_and(|e| infrasnap_core::engine::etag_is_md5(e, &k.md5));
        if !proven || !matches!(cx.reusable(&k.blob, k.size), Ok(ReuseCheck::Intact)) {
            return None;
        }
        if let Err(e) = cx.link_blob(&k.blob, &self.rel) {
            return Some(Err(RecordedError {
                service: "s3".into(),
                action: "write".into(),
                resource: format!("{}/{}", self.bucket, l.key),
                code: None,
                message: e.to_string(),
            }));
        }
        self.read_tags(client, version, &mut attrs).await;
        let tag_error = self.tag_error(&attrs);
        progress.add(&progress.items, 1);
        progress.add(&progress.bytes, k.size);
        let mut rec = attrs.into_record(l, k.blob, &self.rel);
        rec.escaped = self.escaped;
        Some(Ok(Some((rec, None, tag_error))))
    }
}

/// Record legal hold `status` (`ON`, `OFF`, none) in an object's lock record.
fn set_legal_hold(rec: &mut S3ObjectRecord, status: Option<String>) {
    match (&mut rec.object_lock, status) {
        (Some(l), s) => {
            l.legal_hold = s;
            if l.mode.is_none() && l.retain_until.is_none() && l.legal_hold.is_none() {
                rec.object_lock = None;
            }
        }
        (None, Some(s)) => {
            rec.object_lock = Some(ObjectLock {
                mode: None,
                retain_until: None,
                legal_hold: Some(s),
            })
        }
        (None, None) => {}
    }
}

/// S3's answer to a read of an SSE-C object without its key: 400 (InvalidRequest, "stored using a
/// form of Server Side Encryption"; a HEAD answer has no code).
fn needs_customer_key(f: &ApiFailure) -> bool {
    f.status == Some(400)
        && (f.code.is_none()
            || f.code_in(&["InvalidRequest"])
            || f.message.contains("Server Side Encryption"))
}

/// One recorded error for an SSE-C object that could not be read, with what to do about it.
fn sse_c_error(
    action: &str,
    resource: &str,
    f: &ApiFailure,
    tried: Option<&SseCKey>,
    cx: &RunContext,
) -> RecordedError {
    let message = match tried {
        None => format!(
            "the object is encrypted with a customer-provided key (SSE-C) and no key was given \
             for it: give it with --sse-c-key-file FILE, or for this bucket and prefix with an \
             [[s3.sse_c]] entry in infrasnap.toml (the rest of the bucket was captured). S3 \
             said: {}",
            f.message
        ),
        Some(k) => format!(
            "the SSE-C key from {} (fingerprint {}) is not this object's key: give the right \
             one for this bucket and prefix with an [[s3.sse_c]] entry in infrasnap.toml (the \
             rest of the bucket was captured). S3 said: {}",
            k.source,
            k.fingerprint(cx.fingerprinter()),
            f.message
        ),
    };
    RecordedError {
        service: "s3".into(),
        action: action.into(),
        resource: resource.into(),
        code: f.code.clone().or_else(|| f.status.map(|s| s.to_string())),
        message,
    }
}

fn local_failure(e: infrasnap_core::error::CoreError) -> ApiFailure {
    ApiFailure {
        code: Some("LocalWriteFailed".into()),
        message: e.to_string(),
        status: None,
    }
}

fn stream_failure(e: impl std::fmt::Display) -> ApiFailure {
    ApiFailure {
        code: None,
        message: format!("download interrupted: {e}"),
        status: None,
    }
}

fn get_failure<R>(
    e: aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::get_object::GetObjectError, R>,
) -> FetchError
where
    R: std::fmt::Debug + crate::aws::sdk_error::HasStatus,
{
    use aws_sdk_s3::error::SdkError;
    let f = describe(&e);
    if f.code_in(&["NoSuchKey", "NoSuchVersion"]) || (f.status == Some(404) && f.code.is_none()) {
        return FetchError::Vanished;
    }
    match &e {
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) | SdkError::TimeoutError(_) => {
            FetchError::Retry(f)
        }
        _ if f.code_in(&["PreconditionFailed"]) || f.status.is_some_and(|s| s >= 500) => {
            FetchError::Retry(f)
        }
        _ => FetchError::Fatal(f),
    }
}

/// What GetObject's headers tell about an object.
#[derive(Debug, Clone, Default)]
struct Attrs {
    content_length: Option<u64>,
    etag: Option<String>,
    version_id: Option<String>,
    last_modified: Option<String>,
    storage_class: Option<String>,
    content_type: Option<String>,
    content_encoding: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    expires: Option<String>,
    website_redirect_location: Option<String>,
    metadata: BTreeMap<String, String>,
    sse: Option<String>,
    sse_kms_key_id: Option<String>,
    bucket_key_enabled: Option<bool>,
    checksum: Option<Checksum>,
    object_lock: Option<ObjectLock>,
    tag_count: i32,
    tags: BTreeMap<String, String>,
    tag_error: Option<ApiFailure>,
}

/// [`Attrs`] from the headers of a GetObject or HeadObject answer (the SDK gives both the same
/// getters).
macro_rules! attrs_of {
    ($o:expr) => {{
        let o = $o;
        let ranged = o.content_range().is_some();
        let checksum = [
            ("CRC32", o.checksum_crc32()),
            ("CRC32C", o.checksum_crc32_c()),
            ("CRC64NVME", o.checksum_crc64_nvme()),
            ("SHA1", o.checksum_sha1()),
            ("SHA256", o.checksum_sha256()),
        ]
        .into_iter()
        .find_map(|(a, v)| {
            v.map(|v| Checksum {
                algorithm: a.into(),
                value: v.into(),
            })
        });
        let object_lock = (o.object_lock_mode().is_some()
            || o.object_lock_legal_hold_status().is_some())
        .then(|| ObjectLock {
            mode: o.object_lock_mode().map(|m| m.as_str().to_string()),
            retain_until: fmt_time(o.object_lock_retain_until_date()),
            legal_hold: o
                .object_lock_legal_hold_status()
                .map(|s| s.as_str().to_string()),
        });
        Attrs {
            // A ranged response's length is the range's, not the object's.
            content_length: if ranged {
                None
            } else {
                o.content_length().map(|n| n.max(0) as u64)
            },
            etag: o.e_tag().map(str::to_string),
            version_id: o.version_id().map(str::to_string),
            last_modified: fmt_time(o.last_modified()),
            storage_class: o.storage_class().map(|s| s.as_str().to_string()),
            content_type: o.content_type().map(str::to_string),
            content_encoding: o.content_encoding().map(str::to_string),
            content_disposition: o.content_disposition().map(str::to_string),
            content_language: o.content_language().map(str::to_string),
            cache_control: o.cache_control().map(str::to_string),
            expires: o.expires_string().map(str::to_string),
            website_redirect_location: o.website_redirect_location().map(str::to_string),
            metadata: o
                .metadata()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            sse: o.server_side_encryption().map(|s| s.as_str().to_string()),
            sse_kms_key_id: o.ssekms_key_id().map(str::to_string),
            bucket_key_enabled: o.bucket_key_enabled(),
            checksum: if ranged { None } else { checksum },
            object_lock,
            tag_count: o.tag_count().unwrap_or(0),
            tags: BTreeMap::new(),
            tag_error: None,
        }
    }};
}

impl Attrs {
    fn from_output(o: &GetObjectOutput) -> Attrs {
        attrs_of!(o)
    }

    fn from_head(o: &HeadObjectOutput) -> Attrs {
        attrs_of!(o)
    }

    fn into_record(self, l: &Listed, blob: BlobId, rel: &str) -> S3ObjectRecord {
        // Identity fields come from the listing when the object did not change in between, so
        // the next run compares like with like; otherwise from what was actually fetched. A
        // listing without ETags (some S3-compatible servers) is matched by size and time (to the
        // second: GetObject's date has no milliseconds); the record then holds GetObject's ETag
        // and keeps what the listing said beside it (`listed`).
        let size = self.content_length.unwrap_or(l.size);
        let same = match (&l.etag, &self.etag) {
            (Some(_), Some(_)) => self.etag == l.etag,
            (_, None) => true,
            (None, Some(_)) => {
                size == l.size
                    && match (&l.last_modified, &self.last_modified) {
                        (Some(a), Some(b)) => same_second(a, b),
                        _ => true,
                    }
            }
        };
        let etag = if same {
            l.etag.clone().or(self.etag)
        } else {
            self.etag
        };
        let last_modified = if same {
            l.last_modified.clone().or(self.last_modified)
        } else {
            self.last_modified
        };
        let listed =
            (same && (l.etag != etag || l.last_modified != last_modified)).then(|| ListingStamp {
                etag: l.etag.clone(),
                last_modified: l.last_modified.clone(),
            });
        S3ObjectRecord {
            key: l.key.clone(),
            version_id: if same {
                l.version_id.clone().or(self.version_id)
            } else {
                self.version_id
            },
            size,
            etag,
            last_modified,
            storage_class: l.storage_class.clone().or(self.storage_class),
            content_type: self.content_type,
            content_encoding: self.content_encoding,
            content_disposition: self.content_disposition,
            content_language: self.content_language,
            cache_control: self.cache_control,
            expires: self.expires,
            website_redirect_location: self.website_redirect_location,
            metadata: self.metadata,
            sse: self.sse,
            sse_kms_key_id: self.sse_kms_key_id,
            bucket_key_enabled: self.bucket_key_enabled,
            tags: self.tags,
            checksum: self.checksum,
            object_lock: self.object_lock,
            blob,
            path: rel.to_string(),
            escaped: false,
            dir_marker: false,
            listed,
            sse_customer: None,
            is_latest: None,
            delete_marker: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(etag: Option<&str>, time: &str) -> Listed {
        Listed {
            key: "k".into(),
            version_id: None,
            size: 3,
            etag: etag.map(str::to_string),
            last_modified: Some(time.into()),
            storage_class: None,
        }
    }

    fn got(etag: &str, time: &str) -> Attrs {
        Attrs {
            content_length: Some(3),
            etag: Some(etag.into()),
            last_modified: Some(time.into()),
            ..Attrs::default()
        }
    }

    #[test]
    fn a_record_keeps_what_a_listing_without_etags_said() {
        let blob = BlobId::of(b"abc");
        // Same object (same size, same second): GetObject's ETag and time, the listing's beside.
        let r = got("\"e\"", "2026-01-01T10:00:00Z").into_record(
            &listed(None, "2026-01-01T10:00:00.456Z"),
            blob,
            "p",
        );
        assert_eq!(r.etag.as_deref(), Some("\"e\""));
        assert_eq!(r.last_modified.as_deref(), Some("2026-01-01T10:00:00.456Z"));
        assert_eq!(
            r.listed,
            Some(ListingStamp {
                etag: None,
                last_modified: Some("2026-01-01T10:00:00.456Z".into())
            })
        );
        // Rewritten between listing and GET: what was fetched, and no stamp (the next run
        // compares again and downloads once more).
        let r = got("\"f\"", "2026-01-01T10:00:05Z").into_record(
            &listed(None, "2026-01-01T10:00:00.456Z"),
            blob,
            "p",
        );
        assert_eq!(r.last_modified.as_deref(), Some("2026-01-01T10:00:05Z"));
        assert_eq!(r.listed, None);
        // A listing with ETags: the listing's fields, no stamp, as before.
        let r = got("\"e\"", "2026-01-01T10:00:00Z").into_record(
            &listed(Some("\"e\""), "2026-01-01T10:00:00Z"),
            blob,
            "p",
        );
        assert_eq!(r.listed, None);
        assert!(r.unchanged_since(&listed(Some("\"e\""), "2026-01-01T10:00:00Z").as_listed()));
    }

    #[test]
    fn url_encoded_keys_decode_exactly() {
        assert_eq!(decode_url_key("a+b%2Bc"), "a b+c");
        assert_eq!(decode_url_key("ctl%01x%0A"), "ctl\u{1}x\n");
        assert_eq!(decode_url_key("caf%C3%A9"), "café");
        assert_eq!(decode_url_key("100%"), "100%");
        assert_eq!(decode_url_key("%zz"), "%zz");
    }
}
