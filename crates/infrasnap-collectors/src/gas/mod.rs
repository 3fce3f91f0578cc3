//! Google Apps Script projects: metadata, HEAD content in clasp's layout, recent versions,
//! deployments. One resource per project, kind `gas.project`, id the script id, labelled with
//! the config's `name` (else the project's title); the catalog places it in
//! `gas_projects/<label>_<script id>/`:
//!
//! ```text
//! project.json          the document: projects.get (title, parentId, create/update times, ...)
//! .clasp.json           part: {"scriptId": ...}: `clasp push` works from a copy of the folder
//! .claspignore          part: clasp's default rules plus `versions/**`, so clasp pushes the
//!                       current files only (layout::CLASP_IGNORE)
//! appsscript.json       parts: the manifest, then every file by name: Code.gs, lib/util.gs, ...
//! versions.json         part: every version (projects.versions.list)
//! versions/<n>/...      parts: the most recent `[gas] versions` versions, same layout (each
//!                       with its `.clasp.json`: a copy of the folder pushes that version)
//! deployments.json      part: projects.deployments.list
//! redactions.json       part: secrets found and replaced (file, line, kind; never the value)
//! ```
//!
//! Projects are those of `[gas] projects` plus, with `discover = true`, the standalone projects the
//! credentials can list through Drive. Every file goes through the blob store, so an unchanged
//! project adds nothing to the repository. A failure is recorded against its project with what to
//! do about it, and the run goes on. The coverage of `gas.project` is failed when the projects
//! could not all be listed or read (credentials, Drive discovery, a project's metadata).

pub(crate) mod api;
pub(crate) mod auth;
mod layout;
mod redact;

use infrasnap_core::manifest::Table;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{stream, StreamExt};
use infrasnap_core::config::GasConfig;
use infrasnap_core::engine::{BoxFuture, Collector, CollectorReport, ErrorSink, RunContext};
use infrasnap_core::ids::ResourceId;
use infrasnap_core::metadata::{RecordedError, Status};
use infrasnap_core::progress::CollectorProgress;
use serde::Serialize;
use serde_json::{json, Value};

use api::{Api, ApiError, Service};
use auth::Auth;
use layout::FilePlacer;
use redact::Redactor;

pub use api::ENABLE_API_GUIDANCE;
pub use auth::TOKEN_ENV;
pub use layout::CLASP_IGNORE;

pub const DEFAULT_SCRIPT_ENDPOINT: &str = "https://script.googleapis.com";
pub const DEFAULT_DRIVE_ENDPOINT: &str = "https://www.googleapis.com";
/// The Drive query that finds standalone Apps Script projects.
pub const DRIVE_QUERY: &str = "mimeType='application/vnd.google-apps.script' and trashed=false";
/// The kind of a project in the catalog.
pub const KIND: &str = "gas.project";
/// Projects worked on at once.
const PROJECT_CONCURRENCY: usize = 4;
/// Version contents fetched at once, per project.
const VERSION_CONCURRENCY: usize = 3;

pub struct GasCollector {
    pub cfg: GasConfig,
    pub home: Option<PathBuf>,
}

impl GasCollector {
    pub fn new(cfg: GasConfig, home: Option<PathBuf>) -> Self {
        GasCollector { cfg, home }
    }
}

impl Collector for GasCollector {
    fn name(&self) -> &'static str {
        "gas"
    }
    fn run(self: Arc<Self>, cx: Arc<RunContext>) -> BoxFuture<'static, CollectorReport> {
        Box::pin(async move {
            let progress = cx.progress.collector("gas");
            let report = self.run_inner(&cx, &progress).await;
            progress.finished.store(true, Ordering::Relaxed);
            report
        })
    }
}

/// Where a project to capture came from.
#[derive(Debug, Clone)]
struct Target {
    script_id: String,
    /// The config's name for it.
    name: Option<String>,
}

/// What one project gave, for the summary and the manifest.
#[derive(Debug, Default, Clone)]
struct Tally {
    /// The project's label (config name, else title), or its script id.
    name: String,
    script_id: String,
    files: u64,
    versions_listed: Option<u64>,
    versions_captured: u64,
    deployments: Option<u64>,
    updated: String,
    bytes: u64,
    bytes_new: u64,
    blobs_new: u64,
    redactions: u64,
    errors: u64,
}

/// One secret replaced in a source file (never the value).
#[derive(Debug, Clone, Serialize)]
struct RedactionRecord {
    file: String,
    /// Line of a source file.
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    /// JSON pointer of a value in a JSON document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pointer: Option<String>,
    kind: String,
}

impl RedactionRecord {
    fn json(file: &str, pointer: String) -> Self {
        RedactionRecord {
            file: file.into(),
            line: None,
            pointer: Some(pointer),
            kind: "secret_value".into(),
        }
    }
}

fn err(action: &str, resource: &str, e: &ApiError) -> RecordedError {
    RecordedError {
        service: "gas".into(),
        action: action.into(),
        resource: resource.into(),
        code: e.code.clone(),
        message: e.message.clone(),
    }
}

fn plain_err(action: &str, resource: &str, message: String) -> RecordedError {
    RecordedError {
        service: "gas".into(),
        action: action.into(),
        resource: resource.into(),
        code: None,
        message,
    }
}

fn trim_slash(s: &str) -> &str {
    s.trim_end_matches('/')
}

/// Percent-encode a script id for a URL path (ids are URL-safe base64; anything else is escaped).
pub(crate) fn path_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Run {
    cx: Arc<RunContext>,
    api: Api,
    script: String,
    versions: u32,
    errors: ErrorSink,
    redactor: Redactor,
    progress: Arc<CollectorProgress>,
    /// Projects whose metadata could not be read: (config name, script id, error code).
    failed: std::sync::Mutex<Vec<(String, String, String)>>,
}

/// Report the listing of `gas.project` failed, and record why.
fn listing_failed(cx: &RunContext, errors: &ErrorSink, e: RecordedError) {
    cx.cover(KIND, "", "", Some(&e));
    errors.record(e);
}

impl GasCollector {
    async fn run_inner(
        &self,
        cx: &Arc<RunContext>,
        progress: &Arc<CollectorProgress>,
    ) -> CollectorReport {
        let started = Instant::now();
        let mut report = CollectorReport::default();
        let errors = ErrorSink::default();
        let finish = |mut report: CollectorReport, errors: &ErrorSink, status: Status| {
            report.summary.errors = errors.take();
            report.summary.status = Some(status);
            report.summary.duration_seconds = started.elapsed().as_secs_f64();
            report
        };

        if self.cfg.projects.is_empty() && !self.cfg.discover {
            tracing::warn!(
                "[gas] lists no projects and discover is off: no Apps Script project to capture"
            );
            report.manifest.text(
                "No project configured: list them under `[[gas.projects]]`, or set \
                 `discover = true` in `[gas]`.",
            );
            return finish(report, &errors, Status::Complete);
        }
        let env = |k: &str| std::env::var(k).ok();
        let found = match auth::load(self.cfg.credentials.as_deref(), self.home.as_deref(), &env) {
            Ok(f) => f,
            Err(message) => {
                listing_failed(cx, &errors, plain_err("credentials", "gas", message));
                return finish(report, &errors, Status::Failed);
            }
        };
        let http = match reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("infrasnap/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                listing_failed(cx, &errors, plain_err("http client", "gas", e.to_string()));
                return finish(report, &errors, Status::Failed);
            }
        };
        let auth = Arc::new(Auth::new(
            http.clone(),
            found.credential,
            self.cfg.token_endpoint.as_deref(),
        ));
        // Find out now whether the credentials work at all: one clear error beats one per call.
        if let Err(e) = auth.token().await {
            let e = RecordedError {
                service: "gas".into(),
                action: "oauth2.token".into(),
                resource: found.origin.clone(),
                code: e.code,
                message: e.message,
            };
            listing_failed(cx, &errors, e);
            return finish(report, &errors, Status::Failed);
        }
        let (redactor, key_problem) = Redactor::for_run(cx);
        if let Some(message) = key_problem {
            errors.record(plain_err("fingerprint key", "gas", message));
        }
        let run = Arc::new(Run {
            cx: cx.clone(),
            api: Api::new(http, auth, cx.jobs.clone()),
            script: format!(
                "{}/v1",
                trim_slash(
                    self.cfg
                        .script_endpoint
                        .as_deref()
                        .unwrap_or(DEFAULT_SCRIPT_ENDPOINT)
                )
            ),
            versions: self.cfg.versions,
            errors,
            redactor,
            progress: progress.clone(),
            failed: Default::default(),
        });

        // What to capture: the configured projects, then what Drive finds.
        let mut targets: Vec<Target> = Vec::new();
        let mut seen = HashSet::new();
        for p in &self.cfg.projects {
            let id = p.script_id.trim().to_string();
            if id.is_empty() || !seen.insert(id.clone()) {
                continue;
            }
            targets.push(Target {
                script_id: id,
                name: p.name.clone(),
            });
        }
        if self.cfg.discover {
            let drive = format!(
                "{}/drive/v3/files",
                trim_slash(
                    self.cfg
                        .drive_endpoint
                        .as_deref()
                        .unwrap_or(DEFAULT_DRIVE_ENDPOINT)
                )
            );
            let q = [
                ("q", DRIVE_QUERY),
                ("fields", "nextPageToken,files(id,name,modifiedTime)"),
                ("pageSize", "1000"),
                ("supportsAllDrives", "true"),
                ("includeItemsFromAllDrives", "true"),
            ];
            match run.api.get_all(Service::Drive, &drive, &q, "files").await {
                Ok(files) => {
                    let mut found: Vec<(String, String)> = files
                        .iter()
                        .filter_map(|f| {
                            let id = f["id"].as_str()?.to_string();
                            Some((f["name"].as_str().unwrap_or("").to_string(), id))
                        })
                        .filter(|(_, id)| !seen.contains(id))
                        .collect();
                    found.sort();
                    for (_, id) in found {
                        if seen.insert(id.clone()) {
                            targets.push(Target {
                                script_id: id,
                                name: None,
                            });
                        }
                    }
                }
                Err(e) => listing_failed(cx, &run.errors, err("drive.files.list", "drive", &e)),
            }
        }
        progress.add(&progress.units_total, targets.len() as u64);

        // Each project: its metadata, then everything else. Its folder depends on nothing but
        // itself (label and script id), so projects are independent of each other.
        let attempted = targets.len();
        let tallies: Vec<Tally> = stream::iter(targets)
            .map(|t| {
                let run = run.clone();
                let fut = async move {
                    let url = format!("{}/projects/{}", run.script, path_segment(&t.script_id));
                    let meta = match run.api.get(Service::Script, &url, &[]).await {
                        Ok(v) => v,
                        Err(e) => {
                            run.failed.lock().expect("failed list").push((
                                t.name.clone().unwrap_or_default(),
                                t.script_id.clone(),
                                e.code.clone().unwrap_or_else(|| "error".into()),
                            ));
                            // A project that could not be read is absent, not gone.
                            listing_failed(
                                &run.cx,
                                &run.errors,
                                err("script.projects.get", &t.script_id, &e),
                            );
                            run.progress.add(&run.progress.units_done, 1);
                            run.progress.add(&run.progress.errors, 1);
                            return None;
                        }
                    };
                    let label = t
                        .name
                        .as_deref()
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .or_else(|| meta["title"].as_str().filter(|n| !n.trim().is_empty()))
                        .map(str::to_string);
                    let tally = run.project(&t.script_id, label.as_deref(), meta).await;
                    run.progress.add(&run.progress.units_done, 1);
                    Some(tally)
                };
                async move { tokio::spawn(fut).await.ok().flatten() }
            })
            .buffered(PROJECT_CONCURRENCY)
            .filter_map(|t| async move { t })
            .collect()
            .await;
        cx.cover(KIND, "", "", None);

        let s = &mut report.summary;
        s.counts.insert("projects".into(), tallies.len() as u64);
        s.counts
            .insert("files".into(), tallies.iter().map(|t| t.files).sum::<u64>());
        s.counts.insert(
            "versions".into(),
            tallies.iter().map(|t| t.versions_captured).sum::<u64>(),
        );
        s.counts.insert(
            "deployments".into(),
            tallies.iter().filter_map(|t| t.deployments).sum::<u64>(),
        );
        let redactions: u64 = tallies.iter().map(|t| t.redactions).sum();
        if redactions > 0 {
            s.counts.insert("redactions".into(), redactions);
        }
        s.bytes_total = tallies.iter().map(|t| t.bytes).sum();
        s.bytes_new = tallies.iter().map(|t| t.bytes_new).sum();
        s.blobs_new = tallies.iter().map(|t| t.blobs_new).sum();

        let mut t = Table::new(&[
            "Name",
            "Script id",
            "Files",
            "Versions",
            "Deployments",
            "Updated",
        ]);
        for tally in &tallies {
            t.row(vec![
                tally.name.clone(),
                format!("`{}`", tally.script_id),
                tally.files.to_string(),
                match tally.versions_listed {
                    Some(n) => format!("{} of {n}", tally.versions_captured),
                    None => "?".into(),
                },
                tally
                    .deployments
                    .map(|d| d.to_string())
                    .unwrap_or("?".into()),
                tally.updated.clone(),
            ]);
        }
        for (name, id, code) in run.failed.lock().expect("failed list").iter() {
            t.row(vec![
                name.clone(),
                format!("`{id}`"),
                format!("not captured: {code}"),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        if t.rows.is_empty() {
            t.row(vec![
                "(none)".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        report.manifest.table(t);

        let status = if run.errors.is_empty() {
            Status::Complete
        } else if attempted > 0 && tallies.is_empty() {
            Status::Failed
        } else {
            Status::Partial
        };
        finish(report, &run.errors, status)
    }
}

impl Run {
    /// Record an error of the project `tally` counts.
    fn fail(&self, tally: &mut Tally, e: RecordedError) {
        tally.errors += 1;
        self.errors.record(e);
    }

    fn record_write(
        &self,
        tally: &mut Tally,
        id: &ResourceId,
        part: &str,
        e: impl std::fmt::Display,
    ) {
        self.fail(
            tally,
            plain_err(
                "write",
                &id.id,
                format!("could not store {part} of {id}: {e}"),
            ),
        );
    }

    /// Store `v` as part `part` of the project.
    fn put_part_json(&self, p: &Project<'_>, tally: &mut Tally, part: &str, v: &Value) {
        match self.cx.put_part_json(&p.id, p.label, part, v) {
            Ok(st) => count(tally, &self.progress, st),
            Err(e) => self.record_write(tally, &p.id, part, e),
        }
    }

    async fn project(&self, id: &str, label: Option<&str>, mut meta: Value) -> Tally {
        let p = Project {
            id: ResourceId::new(KIND, "", "", id),
            label,
        };
        let mut tally = Tally {
            name: label.unwrap_or(id).to_string(),
            script_id: id.to_string(),
            updated: meta["updateTime"].as_str().unwrap_or("").to_string(),
            ..Default::default()
        };
        let mut redactions = Vec::new();
        let base = format!("{}/projects/{}", self.script, path_segment(id));

        for path in self.redactor.json(&mut meta) {
            redactions.push(RedactionRecord::json("project.json", path));
        }
        match self.cx.put_resource(&p.id, p.label, &meta) {
            Ok(st) => count(&mut tally, &self.progress, st),
            Err(e) => self.record_write(&mut tally, &p.id, "project.json", e),
        }

        let content_url = format!("{base}/content");
        match self.api.get(Service::Script, &content_url, &[]).await {
            Ok(content) => {
                tally.files += self.write_content(&p, &mut tally, "", &content, &mut redactions);
            }
            Err(e) => self.fail(&mut tally, err("script.projects.getContent", id, &e)),
        }

        match self
            .api
            .get_all(
                Service::Script,
                &format!("{base}/versions"),
                &[],
                "versions",
            )
            .await
        {
            Ok(mut versions) => {
                tally.versions_listed = Some(versions.len() as u64);
                let mut doc = json!({ "versions": versions.clone() });
                for path in self.redactor.json(&mut doc) {
                    redactions.push(RedactionRecord::json("versions.json", path));
                }
                self.put_part_json(&p, &mut tally, "versions.json", &doc);
                versions.sort_by_key(|v| std::cmp::Reverse(version_number(v)));
                let wanted: Vec<u64> = versions
                    .iter()
                    .filter_map(version_number)
                    .take(self.versions as usize)
                    .collect();
                let fetched: Vec<(u64, Result<Value, ApiError>)> = stream::iter(wanted)
                    .map(|n| {
                        let url = content_url.clone();
                        async move {
                            let v = n.to_string();
                            (
                                n,
                                self.api
                                    .get(Service::Script, &url, &[("versionNumber", &v)])
                                    .await,
                            )
                        }
                    })
                    .buffered(VERSION_CONCURRENCY)
                    .collect()
                    .await;
                for (n, r) in fetched {
                    match r {
                        Ok(content) => {
                            self.write_content(
                                &p,
                                &mut tally,
                                &format!("versions/{n}/"),
                                &content,
                                &mut redactions,
                            );
                            tally.versions_captured += 1;
                        }
                        Err(e) => self.fail(
                            &mut tally,
                            err("script.projects.getContent", &format!("{id}@{n}"), &e),
                        ),
                    }
                }
            }
            Err(e) => self.fail(&mut tally, err("script.projects.versions.list", id, &e)),
        }

        match self
            .api
            .get_all(
                Service::Script,
                &format!("{base}/deployments"),
                &[],
                "deployments",
            )
            .await
        {
            Ok(deployments) => {
                tally.deployments = Some(deployments.len() as u64);
                let mut doc = json!({ "deployments": deployments });
                for path in self.redactor.json(&mut doc) {
                    redactions.push(RedactionRecord::json("deployments.json", path));
                }
                self.put_part_json(&p, &mut tally, "deployments.json", &doc);
            }
            Err(e) => self.fail(&mut tally, err("script.projects.deployments.list", id, &e)),
        }

        if !redactions.is_empty() {
            tally.redactions = redactions.len() as u64;
            let v = serde_json::to_value(&redactions).expect("serialisable");
            self.put_part_json(&p, &mut tally, "redactions.json", &v);
        }
        if tally.errors > 0 {
            // Part of the project could not be read: a content diff of it is not comparable.
            self.cx.mark_incomplete(&p.id);
        }
        tally
    }

    /// Write one content listing (`{"files": [{name, type, source}]}`) in clasp's layout as
    /// parts named `<prefix><file>` (`prefix`: empty for HEAD, `versions/<n>/` for a version),
    /// with its `.clasp.json`. Returns the number of source files written.
    fn write_content(
        &self,
        p: &Project<'_>,
        tally: &mut Tally,
        prefix: &str,
        content: &Value,
        redactions: &mut Vec<RedactionRecord>,
    ) -> u64 {
        let id = p.id.id.as_str();
        let mut placer = FilePlacer::default();
        let mut written = 0;
        let top_level = prefix.is_empty();
        let empty = Vec::new();
        for f in content["files"].as_array().unwrap_or(&empty) {
            let name = f["name"].as_str().unwrap_or("");
            let kind = f["type"].as_str().unwrap_or("");
            let Some(rel) = layout::file_name(name, kind) else {
                self.fail(
                    tally,
                    plain_err(
                        "script.projects.getContent",
                        id,
                        format!("file `{name}` of unknown type `{kind}` not written"),
                    ),
                );
                continue;
            };
            if let Err(why) = placer.place(&rel, top_level) {
                self.fail(
                    tally,
                    plain_err(
                        "script.projects.getContent",
                        id,
                        format!("file `{}` not written: {why}", rel.escape_debug()),
                    ),
                );
                continue;
            }
            let source = f["source"].as_str().unwrap_or("");
            let (text, found) = self.redactor.text(source);
            for r in found {
                redactions.push(RedactionRecord {
                    file: format!("{prefix}{rel}"),
                    line: Some(r.line),
                    pointer: None,
                    kind: r.kind,
                });
            }
            let part = format!("{prefix}{rel}");
            match self.cx.put_part(&p.id, p.label, &part, text.as_bytes()) {
                Ok(st) => {
                    count(tally, &self.progress, st);
                    self.progress.add(&self.progress.items, 1);
                    written += 1;
                }
                Err(e) => self.record_write(tally, &p.id, &part, e),
            }
        }
        self.put_part_json(
            p,
            tally,
            &format!("{prefix}.clasp.json"),
            &json!({ "scriptId": id }),
        );
        if top_level {
            match self
                .cx
                .put_part(&p.id, p.label, ".claspignore", CLASP_IGNORE.as_bytes())
            {
                Ok(st) => count(tally, &self.progress, st),
                Err(e) => self.record_write(tally, &p.id, ".claspignore", e),
            }
        }
        written
    }
}

/// The project being captured: its catalog id and label.
struct Project<'a> {
    id: ResourceId,
    label: Option<&'a str>,
}

fn version_number(v: &Value) -> Option<u64> {
    let n = &v["versionNumber"];
    n.as_u64()
        .or_else(|| n.as_str().and_then(|s| s.parse().ok()))
}

fn count(tally: &mut Tally, progress: &CollectorProgress, st: infrasnap_core::store::Stored) {
    tally.bytes += st.size;
    progress.add(&progress.bytes, st.size);
    if st.new {
        tally.bytes_new += st.size;
        tally.blobs_new += 1;
        progress.add(&progress.bytes_downloaded, st.size);
    }
}
