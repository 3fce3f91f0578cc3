//! Capturing Lambda: per region of the account scope, every function (ListFunctions, paged), read
//! as the API answers it (the raw JSON of each call, so fields this code does not know yet are
//! kept), its code, its layers, and everything attached to it.
//!
//! Resources handed to the catalog (paths from `catalog/kinds.rs`, docs/FORMAT.md section 22):
//! - `aws.lambda.function`, id = the function name. Its document is GetFunction's
//!   `Configuration` (environment values replaced by markers), `Code` (without the presigned
//!   `Location`), `CodeSha256`, `Layers` (version ARNs), `Tags`, `ReservedConcurrentExecutions`,
//!   `ProvisionedConcurrencyConfigs`, `Versions`, `Aliases`, `Policy` (decoded),
//!   `EventSourceMappings`, `FunctionUrlConfigs`, `CodeSigningConfig`, and `Unreadable` for calls
//!   that failed. Keys sorted, lists sorted, volatile fields left out: an unchanged function gives
//!   a byte-identical document. Parts: `code.zip` (the deployment package, byte for byte, checked
//!   against `CodeSha256`; container-image functions have none) and `env.json` (the environment
//!   variable names, each value replaced by its keyed fingerprint marker; values are never
//!   written anywhere).
//! - `aws.lambda.layer_version`: every layer version a function uses, once; id
//!   `<layer name>:<version>` for the account's own layers, the layer version ARN for another
//!   account's. Its document is GetLayerVersion's answer; part `code.zip`.
//!
//! The zip is downloaded from the presigned `Code.Location` right after GetFunction (the URL
//! expires), streamed into the blob store while its SHA-256 is computed, and kept only when it
//! matches `CodeSha256` (one retry, then an error). A zip or layer whose `CodeSha256` an earlier
//! snapshot already holds is linked, not downloaded: each zip has a line with its `code_sha256`
//! in its resource's index file (the kind's `index` template), and the next run reads the index
//! files of every function and layer version the earlier snapshots' catalogs list (and, for
//! format-1 snapshots, their per-region index files).
//!
//! Coverage: ListFunctions, per region. Layer versions are not listed (only those in use are
//! captured), so their kind has no coverage: one that is gone is "not comparable", never
//! "removed".
//!
//! Every Lambda API call waits for the Lambda rate limiter. A failed call is recorded with its IAM
//! action and the function's ARN, and the rest goes on.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_lambda::Client;
use base64::Engine;
use futures::{stream, StreamExt};
use infrasnap_core::catalog::Catalog;
use infrasnap_core::engine::{CollectorReport, ErrorSink, RunContext};
use infrasnap_core::ids::{BlobId, ResourceId};
use infrasnap_core::index::read_all;
use infrasnap_core::kept::KeptValues;
use infrasnap_core::manifest::{human_bytes, Table};
use infrasnap_core::progress::CollectorProgress;
use infrasnap_core::secrets::{redact_env_map, redact_json, Fingerprinter};
use infrasnap_core::store::Stored;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::LambdaCollector;
use crate::aws::kit::{all_pages, Run, Service};
use crate::aws::sdk_error::{describe, ApiFailure};
use sha2::{Digest, Sha256};

/// The kinds this collector hands to the catalog.
pub const FUNCTION: &str = "aws.lambda.function";
pub const LAYER_VERSION: &str = "aws.lambda.layer_version";
/// Functions (and layer versions) worked on at once; the rate limiter is the real bound.
const CONCURRENCY: usize = 4;
/// Attempts per code download (a checksum mismatch or a broken transfer is retried once).
const DOWNLOAD_ATTEMPTS: usize = 2;

use crate::aws::capture::RawAnswer as Capture;

const ERR: Service = Service("lambda");

/// One Lambda API call: wait for the rate limiter, send with a [`Capture`], and give back the
/// answer's JSON (or the failure).
macro_rules! call {
    ($me:expr, $builder:expr) => {{
        $me.limits.lambda.acquire().await;
        let cap = Capture::default();
        match $builder.customize().interceptor(cap.clone()).send().await {
            Ok(_) => cap.json(),
            Err(e) => Err(describe(&e)),
        }
    }};
}

/// A paged Lambda listing (`Marker`/`NextMarker`) of the items under `$key`, through
/// [`LambdaCollector::paged`].
macro_rules! pages {
    ($me:expr, $key:expr, |$m:ident| $builder:expr) => {
        $me.paged($key, |$m| {
            let cap = Capture::default();
            let fut = $builder.customize().interceptor(cap.clone()).send();
            async move {
                fut.await.map_err(|e| describe(&e))?;
                cap.json()
            }
        })
    };
}

/// The endpoint does not know the call (an emulator answers an HTML 404 for operations it lacks;
/// a real "no such resource" carries an AWS error code).
fn unsupported(f: &ApiFailure) -> bool {
    (f.status == Some(404) && f.code.is_none())
        || f.code_in(&["UnknownOperationException", "NotImplemented"])
}

fn not_found(f: &ApiFailure) -> bool {
    f.code_in(&["ResourceNotFoundException"])
}

/// Why a part is missing from the file, in the file.
fn unavailable(action: &str, f: &ApiFailure) -> Value {
    json!({
        "Unavailable": format!(
            "{action} answered {}: not offered by this endpoint",
            match (&f.code, f.status) {
                (Some(c), _) => c.clone(),
                (None, Some(s)) => format!("HTTP {s}"),
                (None, None) => "nothing".into(),
            }
        )
    })
}

/// `value` with every object's keys in sorted order (whatever serde_json's map keeps), and
/// members whose value is null left out (absent and null mean the same in Lambda's answers).
fn canonical(value: Value) -> Value {
    match value {
        Value::Object(m) => {
            let sorted: BTreeMap<String, Value> = m
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, canonical(v)))
                .collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(canonical).collect()),
        other => other,
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn remove_at(v: &mut Value, parent: &str, key: &str) {
    if let Some(Value::Object(m)) = v.pointer_mut(parent) {
        m.remove(key);
    }
}

fn sort_by_str(items: &mut [Value], pointer: &str) {
    items.sort_by(|a, b| {
        let ka = a
            .pointer(pointer)
            .map(|v| v.to_string())
            .unwrap_or_default();
        let kb = b
            .pointer(pointer)
            .map(|v| v.to_string())
            .unwrap_or_default();
        ka.cmp(&kb)
    });
}

/// Replace the values of `Environment.Variables` in a function configuration by their markers;
/// gives back the redacted map (names and markers), if the function has variables.
fn redact_environment(config: &mut Value, fp: &Fingerprinter) -> Option<BTreeMap<String, String>> {
    let vars = config
        .pointer_mut("/Environment/Variables")?
        .as_object_mut()?;
    let mut map: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect();
    redact_env_map(&mut map, fp);
    *vars = map
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    Some(map)
}

/// A layer version ARN: `arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LayerRef {
    /// The layer's ARN without the version.
    pub layer_arn: String,
    pub account: String,
    pub name: String,
    pub version: i64,
}

pub(crate) fn parse_layer_arn(arn: &str) -> Option<LayerRef> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() != 8 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "layer" {
        return None;
    }
    let version: i64 = parts[7].parse().ok()?;
    let name = parts[6];
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !ok(name) || !parts[4].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(LayerRef {
        layer_arn: parts[..7].join(":"),
        account: parts[4].to_string(),
        name: name.to_string(),
        version,
    })
}

/// One line of a function's or layer version's index file (and of the per-region index files of
/// format-1 snapshots): a zip in the tree.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CodeRecord {
    pub path: String,
    pub blob: BlobId,
    pub size: u64,
    /// Lambda's `CodeSha256` (base64) of the content.
    pub code_sha256: String,
    /// The function or layer version the zip belongs to.
    pub arn: String,
}

/// Bytes and blobs this collector wrote (the kit's tally), and how code was obtained.
#[derive(Default, Debug, Clone, Copy)]
struct Tally {
    store: infrasnap_core::engine::Tally,
    downloaded: u64,
    linked: u64,
}

impl Tally {
    fn add(&mut self, st: &Stored) {
        self.store.add(st);
    }
    fn merge(&mut self, o: Tally) {
        self.store.merge(o.store);
        self.downloaded += o.downloaded;
        self.linked += o.linked;
    }
}

/// How a zip ended up in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodeState {
    Downloaded,
    Linked,
    Image,
    Missing,
}

impl CodeState {
    fn as_str(self) -> &'static str {
        match self {
            CodeState::Downloaded => "downloaded",
            CodeState::Linked => "linked",
            CodeState::Image => "image",
            CodeState::Missing => "not captured",
        }
    }
}

#[derive(Debug)]
struct FunctionOutcome {
    region: String,
    name: String,
    runtime: String,
    code: CodeState,
    code_size: u64,
    layers: Vec<String>,
    versions: u64,
    aliases: u64,
    tally: Tally,
}

#[derive(Debug)]
struct LayerOutcome {
    region: String,
    arn: String,
    code: CodeState,
    size: u64,
    tally: Tally,
}

/// What every task of one run shares.
struct Shared {
    cx: Arc<RunContext>,
    http: reqwest::Client,
    errors: Arc<ErrorSink>,
    progress: Arc<CollectorProgress>,
    /// `CodeSha256` -> a stored blob with that content (earlier snapshots, then this run).
    known: Mutex<HashMap<String, (BlobId, u64)>>,
    /// Index files (relative to a snapshot folder) whose earlier copies were read into `known`.
    learned: Mutex<HashSet<String>>,
}

impl Shared {
    fn known_blob(&self, sha: &str) -> Option<(BlobId, u64)> {
        let k = self.known.lock().expect("known lock").get(sha).copied()?;
        self.cx.repo.store().contains(&k.0).then_some(k)
    }

    /// Read the earlier snapshots' copies of the index file `rel` into `known` (once per run).
    fn learn(&self, rel: &str) {
        if !self
            .learned
            .lock()
            .expect("learned lock")
            .insert(rel.to_string())
        {
            return;
        }
        let mut known = self.known.lock().expect("known lock");
        for p in self.cx.previous_indexes(rel) {
            if let Ok(recs) = read_all::<CodeRecord>(&p) {
                for r in recs {
                    known.insert(r.code_sha256, (r.blob, r.size));
                }
            }
        }
    }

    /// Read the earlier index file of resource `id`, if its kind has one.
    fn learn_resource(&self, id: &ResourceId) {
        if let Ok(Some(rel)) = self.cx.resource_index_path(id) {
            self.learn(&rel);
        }
    }
}

impl LambdaCollector {
    fn key_name(&self) -> String {
        use infrasnap_core::engine::Collector;
        self.key()
    }

    fn function_id(&self, region: &str, name: &str) -> ResourceId {
        ResourceId::new(FUNCTION, &self.scope.account_id, region, name)
    }

    /// A layer version's id: `<layer name>:<version>` for the account's own layers, the layer
    /// version ARN for another account's (shared or public).
    fn layer_id(&self, region: &str, arn: &str, r: &LayerRef) -> ResourceId {
        let id = if r.account == self.scope.account_id {
            format!("{}:{}", r.name, r.version)
        } else {
            arn.to_string()
        };
        ResourceId::new(LAYER_VERSION, &self.scope.account_id, region, id)
    }

    /// Where earlier snapshots list their zips: the index files of the functions and layer
    /// versions of this account their catalogs list, and for format-1 snapshots (no catalog) the
    /// per-region index files, at the top or under `aws_accounts/<account>/`. Killed stagings
    /// have no catalog yet: the index files of the functions listed now are read on top.
    fn learn_previous(&self, shared: &Shared, regions: &[String]) {
        let account = &self.scope.account_id;
        for region in regions {
            shared.learn(&format!("index/lambda_functions/{region}.jsonl"));
            shared.learn(&format!(
                "index/aws_accounts/{account}/lambda_functions/{region}.jsonl"
            ));
        }
        for dir in &shared.cx.previous {
            let Ok(Some(catalog)) = Catalog::open(dir) else {
                continue;
            };
            for r in &catalog.records {
                let mine = (r.id.kind == FUNCTION || r.id.kind == LAYER_VERSION)
                    && &r.id.account == account;
                if let (true, Some(index)) = (mine, &r.index) {
                    shared.learn(index);
                }
            }
        }
    }

    pub(super) async fn run_inner(self: Arc<Self>, cx: Arc<RunContext>) -> CollectorReport {
        let run = Run::start(&cx, &self.key_name());
        let (progress, errors) = (run.progress.clone(), run.errors.clone());
        let mut report = CollectorReport::default();
        let regions = self.scope.regions.clone();

        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .user_agent(concat!("infrasnap/", env!("CARGO_PKG_VERSION")))
            .build();
        let http = match http {
            Ok(h) => h,
            Err(e) => {
                errors.record(ERR.local("http client", e));
                run.finish(&mut report.summary, true);
                return report;
            }
        };

        // Zips earlier snapshots hold, by CodeSha256 (later snapshots win).
        let shared = Arc::new(Shared {
            cx: cx.clone(),
            http,
            errors: errors.clone(),
            progress: progress.clone(),
            known: Mutex::new(HashMap::new()),
            learned: Mutex::new(HashSet::new()),
        });
        self.learn_previous(&shared, &regions);

        // Functions of every region.
        let mut work: Vec<(String, Client, String)> = Vec::new();
        let mut clients: HashMap<String, Client> = HashMap::new();
        let mut listed_regions = 0usize;
        for region in &regions {
            let client = Client::new(&self.scope.in_region(region));
            clients.insert(region.clone(), client.clone());
            let account = &self.scope.account_id;
            match self.list_functions(&client).await {
                Ok(names) => {
                    listed_regions += 1;
                    cx.cover(FUNCTION, account, region, None);
                    for n in names {
                        shared.learn_resource(&self.function_id(region, &n));
                        work.push((region.clone(), client.clone(), n));
                    }
                }
                Err(f) => {
                    let e = ERR.api(
                        "lambda:ListFunctions",
                        &format!("arn:aws:lambda:{region}:{account}:function:*"),
                        &f,
                    );
                    cx.cover(FUNCTION, account, region, Some(&e));
                    errors.record(e);
                }
            }
        }
        progress.add(&progress.units_total, work.len() as u64);

        let mut functions: Vec<FunctionOutcome> = stream::iter(work)
            .map(|(region, client, name)| {
                let me = self.clone();
                let shared = shared.clone();
                async move {
                    let r = me.function(&shared, &client, &region, &name).await;
                    shared.progress.add(&shared.progress.units_done, 1);
                    r
                }
            })
            .buffer_unordered(CONCURRENCY)
            .filter_map(|r| async move { r })
            .collect()
            .await;
        functions.sort_by(|a, b| (&a.region, &a.name).cmp(&(&b.region, &b.name)));

        // Every layer version in use, once.
        let mut used: BTreeMap<(String, String), u64> = BTreeMap::new();
        for f in &functions {
            for l in &f.layers {
                *used.entry((f.region.clone(), l.clone())).or_default() += 1;
            }
        }
        let mut layers: Vec<LayerOutcome> = stream::iter(used.keys().cloned().collect::<Vec<_>>())
            .map(|(region, arn)| {
                let me = self.clone();
                let shared = shared.clone();
                let client = clients.get(&region).cloned();
                async move {
                    let client = client?;
                    me.layer(&shared, &client, &region, &arn).await
                }
            })
            .buffer_unordered(CONCURRENCY)
            .filter_map(|r| async move { r })
            .collect()
            .await;
        layers.sort_by(|a, b| (&a.region, &a.arn).cmp(&(&b.region, &b.arn)));

        let mut tally = Tally::default();
        for f in &functions {
            tally.merge(f.tally);
        }
        for l in &layers {
            tally.merge(l.tally);
        }
        let s = &mut report.summary;
        s.counts.insert("functions".into(), functions.len() as u64);
        s.counts.insert("layers".into(), layers.len() as u64);
        s.counts.insert(
            "versions".into(),
            functions.iter().map(|f| f.versions).sum(),
        );
        s.counts
            .insert("aliases".into(), functions.iter().map(|f| f.aliases).sum());
        s.counts.insert("code_downloaded".into(), tally.downloaded);
        s.counts.insert("code_linked".into(), tally.linked);
        tally.store.add_to(s);
        s.objects_downloaded = tally.downloaded;
        report.regions = regions.clone();

        if functions.is_empty() {
            report.manifest.text("No functions.");
        } else {
            let mut t = Table::new(&[
                "Function", "Region", "Runtime", "Code", "Size", "Layers", "Versions", "Aliases",
            ]);
            for f in &functions {
                let size = match f.code {
                    CodeState::Image => "-".to_string(),
                    _ => human_bytes(f.code_size),
                };
                t.row(vec![
                    format!("`{}`", f.name),
                    f.region.to_string(),
                    f.runtime.to_string(),
                    f.code.as_str().to_string(),
                    size,
                    f.layers.len().to_string(),
                    f.versions.to_string(),
                    f.aliases.to_string(),
                ]);
            }
            report.manifest.table(t);
        }
        if !layers.is_empty() {
            let mut t = Table::new(&["Layer version", "Region", "Code", "Size", "Used by"]);
            for l in &layers {
                t.row(vec![
                    format!("`{}`", l.arn),
                    l.region.to_string(),
                    l.code.as_str().to_string(),
                    human_bytes(l.size),
                    used.get(&(l.region.clone(), l.arn.clone()))
                        .copied()
                        .unwrap_or(0)
                        .to_string(),
                ]);
            }
            report.manifest.table(t);
        }
        run.finish(
            &mut report.summary,
            listed_regions == 0 && !regions.is_empty(),
        );
        report
    }

    async fn list_functions(&self, client: &Client) -> Result<Vec<String>, ApiFailure> {
        let items = pages!(self, "Functions", |m| client.list_functions().set_marker(m)).await?;
        let mut names: Vec<String> = items
            .iter()
            .filter_map(|f| str_at(f, "/FunctionName").map(str::to_string))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Every item under `key` of a listing paged by `Marker`/`NextMarker`, through the kit's
    /// paging (a repeated marker fails the listing).
    async fn paged<F, Fut>(&self, key: &str, mut call: F) -> Result<Vec<Value>, ApiFailure>
    where
        F: FnMut(Option<String>) -> Fut,
        Fut: Future<Output = Result<Value, ApiFailure>>,
    {
        all_pages(format!("Lambda {key}"), &self.limits.lambda, |m| {
            let page = call(m);
            async move {
                let mut page = page.await?;
                let items = match page.get_mut(key).map(Value::take) {
                    Some(Value::Array(a)) => a,
                    _ => Vec::new(),
                };
                Ok((items, str_at(&page, "/NextMarker").map(str::to_string)))
            }
        })
        .await
    }

    async fn function(
        &self,
        shared: &Shared,
        client: &Client,
        region: &str,
        name: &str,
    ) -> Option<FunctionOutcome> {
        let cx = &shared.cx;
        let fp = cx.fingerprinter();
        let mut arn = format!(
            "arn:aws:lambda:{region}:{}:function:{name}",
            self.scope.account_id
        );
        let id = self.function_id(region, name);
        let mut tally = Tally::default();
        let mut unreadable: Vec<Value> = Vec::new();
        let mut fail = |field: &str, action: &str, resource: &str, f: &ApiFailure| {
            shared.errors.record(ERR.api(action, resource, f));
            unreadable.push(json!({
                "Field": field,
                "Action": action,
                "Code": f.code.clone().unwrap_or_else(|| "error".into()),
            }));
        };

        // GetFunction first: its Code.Location is presigned and expires, so the download follows
        // at once. Without GetFunction, GetFunctionConfiguration still gives the configuration.
        let mut got_function = false;
        let (mut config, mut code, tags, concurrency, tags_error) =
            match call!(self, client.get_function().function_name(name)) {
                Ok(mut v) => {
                    got_function = true;
                    let mut take = |k: &str| v.get_mut(k).map(Value::take);
                    (
                        take("Configuration"),
                        take("Code"),
                        take("Tags"),
                        take("Concurrency"),
                        take("TagsError"),
                    )
                }
                Err(f) if not_found(&f) => return None,
                Err(f) => {
                    fail("Code", "lambda:GetFunction", &arn, &f);
                    match call!(
                        self,
                        client.get_function_configuration().function_name(name)
                    ) {
                        Ok(v) => (Some(v), None, None, None, None),
                        Err(f) if not_found(&f) => return None,
                        Err(f) => {
                            fail("Configuration", "lambda:GetFunctionConfiguration", &arn, &f);
                            (None, None, None, None, None)
                        }
                    }
                }
            };
        if let Some(a) = config.as_ref().and_then(|c| str_at(c, "/FunctionArn")) {
            arn = a.to_string();
        }
        let field = |p: &str| {
            config
                .as_ref()
                .and_then(|c| str_at(c, p))
                .map(str::to_string)
        };
        let package = field("/PackageType").unwrap_or_else(|| "Zip".into());
        let sha = field("/CodeSha256");
        let runtime = field("/Runtime").unwrap_or_else(|| {
            if package == "Image" {
                "(image)".into()
            } else {
                "-".into()
            }
        });
        let code_size = config
            .as_ref()
            .and_then(|c| c.get("CodeSize"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let layers: Vec<String> = {
            let mut l: Vec<String> = config
                .as_ref()
                .and_then(|c| c.get("Layers"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| str_at(x, "/Arn").map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            l.sort();
            l.dedup();
            l
        };

        // The code, at once.
        let location = code
            .as_ref()
            .and_then(|c| str_at(c, "/Location"))
            .map(str::to_string);
        if let Some(c) = code.as_mut() {
            remove_at(c, "", "Location");
        }
        let mut code_state = CodeState::Missing;
        if package == "Image" {
            code_state = CodeState::Image;
        } else if got_function {
            match self
                .zip(
                    shared,
                    &id,
                    &arn,
                    "lambda:GetFunction",
                    sha.as_deref(),
                    location.as_deref(),
                    &mut tally,
                )
                .await
            {
                Ok(s) => code_state = s,
                Err((action, f)) => fail("Code", action, &arn, &f),
            }
        }

        // Environment: names and markers only, here and in every published version.
        // With --keep-secrets, their originals are kept encrypted (infrasnap_core::kept).
        let raw_env = cx
            .keeps_secrets()
            .then(|| config.as_ref().and_then(|c| c.get("Environment").cloned()))
            .flatten();
        let env = config.as_mut().and_then(|c| redact_environment(c, fp));
        let mut kept = KeptValues::default();
        if let (Some(raw), Some(red)) =
            (&raw_env, config.as_ref().and_then(|c| c.get("Environment")))
        {
            kept.markers(raw, red);
        }
        drop(raw_env);

        let versions = match pages!(self, "Versions", |m| client
            .list_versions_by_function()
            .function_name(name)
            .set_marker(m))
        .await
        {
            Ok(items) => {
                let mut out: Vec<Value> = items
                    .into_iter()
                    .filter(|v| v.get("Version").and_then(Value::as_str) != Some("$LATEST"))
                    .map(|mut v| {
                        redact_environment(&mut v, fp);
                        v
                    })
                    .collect();
                out.sort_by_key(|v| {
                    let n = v.get("Version").and_then(Value::as_str).unwrap_or("");
                    (n.parse::<u64>().unwrap_or(u64::MAX), n.to_string())
                });
                Some(out)
            }
            Err(f) => {
                fail("Versions", "lambda:ListVersionsByFunction", &arn, &f);
                None
            }
        };

        let aliases = match pages!(self, "Aliases", |m| client
            .list_aliases()
            .function_name(name)
            .set_marker(m))
        .await
        {
            Ok(mut items) => {
                sort_by_str(&mut items, "/Name");
                Some(items)
            }
            Err(f) => {
                fail("Aliases", "lambda:ListAliases", &arn, &f);
                None
            }
        };

        // The resource policy, decoded (Lambda sends it as a JSON string). None: no policy.
        let policy = match call!(self, client.get_policy().function_name(name)) {
            Ok(v) => v.get("Policy").map(|p| match p {
                Value::String(s) => {
                    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
                }
                other => other.clone(),
            }),
            Err(f) if not_found(&f) => None,
            Err(f) => {
                fail("Policy", "lambda:GetPolicy", &arn, &f);
                None
            }
        };

        let mappings = match pages!(self, "EventSourceMappings", |m| client
            .list_event_source_mappings()
            .function_name(name)
            .set_marker(m))
        .await
        {
            Ok(mut items) => {
                // The outcome of the last poll changes by itself: not configuration.
                for i in &mut items {
                    remove_at(i, "", "LastProcessingResult");
                }
                sort_by_str(&mut items, "/UUID");
                Some(Value::Array(items))
            }
            Err(f) => {
                fail(
                    "EventSourceMappings",
                    "lambda:ListEventSourceMappings",
                    &arn,
                    &f,
                );
                None
            }
        };

        let urls = match pages!(self, "FunctionUrlConfigs", |m| client
            .list_function_url_configs()
            .function_name(name)
            .set_marker(m))
        .await
        {
            Ok(mut items) => {
                sort_by_str(&mut items, "/FunctionArn");
                Some(Value::Array(items))
            }
            // An endpoint without the listing: the unqualified function's URL config.
            Err(f) if unsupported(&f) => {
                match call!(self, client.get_function_url_config().function_name(name)) {
                    Ok(v) => Some(json!([v])),
                    Err(f) if not_found(&f) => Some(json!([])),
                    Err(f) => {
                        fail(
                            "FunctionUrlConfigs",
                            "lambda:GetFunctionUrlConfig",
                            &arn,
                            &f,
                        );
                        None
                    }
                }
            }
            Err(f) => {
                fail(
                    "FunctionUrlConfigs",
                    "lambda:ListFunctionUrlConfigs",
                    &arn,
                    &f,
                );
                None
            }
        };

        // Reserved concurrency: part of GetFunction's answer; without it, its own call.
        let reserved = if got_function {
            concurrency.and_then(|c| c.get("ReservedConcurrentExecutions").cloned())
        } else {
            match call!(self, client.get_function_concurrency().function_name(name)) {
                Ok(v) => v.get("ReservedConcurrentExecutions").cloned(),
                Err(f) => {
                    fail(
                        "ReservedConcurrentExecutions",
                        "lambda:GetFunctionConcurrency",
                        &arn,
                        &f,
                    );
                    None
                }
            }
        }
        .filter(|v| !v.is_null());

        let provisioned = match pages!(self, "ProvisionedConcurrencyConfigs", |m| client
            .list_provisioned_concurrency_configs()
            .function_name(name)
            .set_marker(m))
        .await
        {
            Ok(mut items) => {
                sort_by_str(&mut items, "/FunctionArn");
                Some(Value::Array(items))
            }
            Err(f) if unsupported(&f) => Some(unavailable("ListProvisionedConcurrencyConfigs", &f)),
            Err(f) => {
                fail(
                    "ProvisionedConcurrencyConfigs",
                    "lambda:ListProvisionedConcurrencyConfigs",
                    &arn,
                    &f,
                );
                None
            }
        };

        // Tags: part of GetFunction's answer (when lambda:ListTags is allowed); without it,
        // ListTags.
        let tags = if got_function {
            if let Some(e) = tags_error {
                let f = ApiFailure {
                    code: str_at(&e, "/ErrorCode").map(str::to_string),
                    message: str_at(&e, "/Message").unwrap_or("").to_string(),
                    status: None,
                };
                fail("Tags", "lambda:ListTags", &arn, &f);
                None
            } else {
                Some(tags.unwrap_or_else(|| json!({})))
            }
        } else {
            match call!(self, client.list_tags().resource(&arn)) {
                Ok(mut v) => Some(v.get_mut("Tags").map(Value::take).unwrap_or(json!({}))),
                Err(f) => {
                    fail("Tags", "lambda:ListTags", &arn, &f);
                    None
                }
            }
        };

        let signing = match call!(
            self,
            client
                .get_function_code_signing_config()
                .function_name(name)
        ) {
            Ok(v) => match str_at(&v, "/CodeSigningConfigArn").map(str::to_string) {
                Some(csc) => match call!(
                    self,
                    client
                        .get_code_signing_config()
                        .code_signing_config_arn(&csc)
                ) {
                    Ok(mut c) => Some(c.get_mut("CodeSigningConfig").map(Value::take).unwrap_or(c)),
                    Err(f) if unsupported(&f) => {
                        let mut u = unavailable("GetCodeSigningConfig", &f);
                        u["CodeSigningConfigArn"] = Value::String(csc);
                        Some(u)
                    }
                    Err(f) => {
                        fail("CodeSigningConfig", "lambda:GetCodeSigningConfig", &csc, &f);
                        Some(json!({ "CodeSigningConfigArn": csc }))
                    }
                },
                None => None,
            },
            Err(f) if unsupported(&f) => None,
            Err(f) => {
                fail(
                    "CodeSigningConfig",
                    "lambda:GetFunctionCodeSigningConfig",
                    &arn,
                    &f,
                );
                None
            }
        };

        let n_versions = versions.as_ref().map(Vec::len).unwrap_or(0) as u64;
        let n_aliases = aliases.as_ref().map(Vec::len).unwrap_or(0) as u64;
        let mut doc = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                doc.insert(k.to_string(), v);
            }
        };
        put("Region", Some(json!(region)));
        put("FunctionName", Some(json!(name)));
        put("FunctionArn", Some(json!(arn)));
        put("PackageType", Some(json!(package)));
        put("CodeSha256", sha.clone().map(Value::String));
        put("Configuration", config);
        put("Code", code);
        put(
            "Layers",
            Some(Value::Array(
                layers.iter().cloned().map(Value::String).collect(),
            )),
        );
        put("Tags", tags);
        put("ReservedConcurrentExecutions", reserved);
        put("ProvisionedConcurrencyConfigs", provisioned);
        put("Versions", versions.map(Value::Array));
        put("Aliases", aliases.map(Value::Array));
        put("Policy", policy);
        put("EventSourceMappings", mappings);
        put("FunctionUrlConfigs", urls);
        put("CodeSigningConfig", signing);
        if !unreadable.is_empty() {
            put("Unreadable", Some(Value::Array(unreadable)));
        }
        let mut doc = canonical(Value::Object(doc));
        redact_json(&mut doc, fp);
        match cx.put_resource(&id, None, &doc) {
            Ok(st) => tally.add(&st),
            Err(e) => shared.errors.record(ERR.local(&arn, e)),
        }
        if let Err(e) = cx.keep_values(&id, None, &kept) {
            shared.errors.record(ERR.local(&arn, e));
        }
        if let Some(vars) = env {
            let doc = json!({
                "FunctionArn": arn,
                "FunctionName": name,
                "Region": region,
                "Variables": vars,
            });
            match cx.put_part_json(&id, None, "env.json", &doc) {
                Ok(st) => tally.add(&st),
                Err(e) => shared.errors.record(ERR.local(&arn, e)),
            }
        }
        Some(FunctionOutcome {
            region: region.to_string(),
            name: name.to_string(),
            runtime,
            code: code_state,
            code_size,
            layers,
            versions: n_versions,
            aliases: n_aliases,
            tally,
        })
    }

    /// One layer version: its description (the document) and its zip (part `code.zip`).
    async fn layer(
        &self,
        shared: &Shared,
        client: &Client,
        region: &str,
        arn: &str,
    ) -> Option<LayerOutcome> {
        let cx = &shared.cx;
        let Some(r) = parse_layer_arn(arn) else {
            shared.errors.record(ERR.api(
                "lambda:GetLayerVersion",
                arn,
                &ApiFailure::new("InvalidArn", "not a layer version ARN"),
            ));
            return None;
        };
        let id = self.layer_id(region, arn, &r);
        let mut out = LayerOutcome {
            region: region.to_string(),
            arn: arn.to_string(),
            code: CodeState::Missing,
            size: 0,
            tally: Tally::default(),
        };
        // By layer ARN and number: works for other accounts' layers too.
        let doc = match call!(
            self,
            client
                .get_layer_version()
                .layer_name(&r.layer_arn)
                .version_number(r.version)
        ) {
            Ok(mut v) => {
                let location = str_at(&v, "/Content/Location").map(str::to_string);
                remove_at(&mut v, "/Content", "Location");
                let sha = str_at(&v, "/Content/CodeSha256").map(str::to_string);
                out.size = v
                    .pointer("/Content/CodeSize")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                let mut tally = Tally::default();
                match self
                    .zip(
                        shared,
                        &id,
                        arn,
                        "lambda:GetLayerVersion",
                        sha.as_deref(),
                        location.as_deref(),
                        &mut tally,
                    )
                    .await
                {
                    Ok(s) => out.code = s,
                    Err((action, f)) => {
                        shared.errors.record(ERR.api(action, arn, &f));
                        v["Unreadable"] = json!([{
                            "Field": "Content",
                            "Action": action,
                            "Code": f.code.clone().unwrap_or_else(|| "error".into()),
                        }]);
                    }
                }
                out.tally = tally;
                v
            }
            // Deleted: functions that use it keep their copy, but it can no longer be read.
            Err(f) if not_found(&f) => json!({
                "LayerVersionArn": arn,
                "Unavailable": "GetLayerVersion: ResourceNotFoundException (the version was deleted; functions that use it keep a copy)",
            }),
            Err(f) => {
                shared
                    .errors
                    .record(ERR.api("lambda:GetLayerVersion", arn, &f));
                return Some(out);
            }
        };
        let mut doc = canonical(doc);
        redact_json(&mut doc, cx.fingerprinter());
        match cx.put_resource(&id, None, &doc) {
            Ok(st) => out.tally.add(&st),
            Err(e) => shared.errors.record(ERR.local(arn, e)),
        }
        Some(out)
    }

    /// Place the zip whose CodeSha256 is `sha` as part `code.zip` of `id`: linked when a stored
    /// blob has that CodeSha256, else downloaded from `location` and checked. Listed in the
    /// resource's index file with its CodeSha256.
    #[allow(clippy::too_many_arguments)]
    async fn zip(
        &self,
        shared: &Shared,
        id: &ResourceId,
        arn: &str,
        action: &'static str,
        sha: Option<&str>,
        location: Option<&str>,
        tally: &mut Tally,
    ) -> Result<CodeState, (&'static str, ApiFailure)> {
        let local = |e: String| ("write", ApiFailure::new("LocalWriteFailed", e));
        let cx = &shared.cx;
        let sha = sha.ok_or((
            action,
            ApiFailure::new(
                "ChecksumMissing",
                "the answer has no CodeSha256: the code cannot be checked and is not stored",
            ),
        ))?;
        let rel = cx
            .part_path(id, None, "code.zip")
            .map_err(|e| local(e.to_string()))?;
        shared.learn_resource(id);
        let (blob, size, state) = match shared.known_blob(sha) {
            Some((blob, size)) => {
                cx.link_blob(&blob, &rel)
                    .map_err(|e| local(e.to_string()))?;
                tally.store.bytes_total += size;
                tally.linked += 1;
                (blob, size, CodeState::Linked)
            }
            None => {
                let url = location.ok_or((
                    action,
                    ApiFailure::new("NoCodeLocation", "the answer has no code location"),
                ))?;
                let st = self
                    .download(shared, url, sha)
                    .await
                    .map_err(|f| (action, f))?;
                cx.link_blob(&st.id, &rel)
                    .map_err(|e| local(e.to_string()))?;
                tally.add(&st);
                tally.downloaded += 1;
                shared
                    .known
                    .lock()
                    .expect("known lock")
                    .insert(sha.to_string(), (st.id, st.size));
                (st.id, st.size, CodeState::Downloaded)
            }
        };
        let line = CodeRecord {
            path: rel.clone(),
            blob,
            size,
            code_sha256: sha.to_string(),
            arn: arn.to_string(),
        };
        let (_, mut w) = cx
            .open_resource_index(id)
            .map_err(|e| local(e.to_string()))?;
        w.append(&line)
            .and_then(|()| w.finish())
            .map_err(|e| local(e.to_string()))?;
        cx.record_part(id, "code.zip", &rel, Some(blob), size);
        let p = &shared.progress;
        p.add(&p.items, 1);
        p.add(&p.bytes, size);
        Ok(state)
    }

    /// Download `url` into the blob store, keeping it only if its SHA-256 is `sha_b64`.
    async fn download(
        &self,
        shared: &Shared,
        url: &str,
        sha_b64: &str,
    ) -> Result<Stored, ApiFailure> {
        let expected = base64::engine::general_purpose::STANDARD
            .decode(sha_b64)
            .ok()
            .filter(|d| d.len() == 32)
            .ok_or_else(|| {
                ApiFailure::new(
                    "ChecksumMissing",
                    "CodeSha256 is not a base64 SHA-256: the code cannot be checked and is not stored",
                )
            })?;
        let _permit = shared.cx.jobs.acquire().await.expect("semaphore open");
        let mut last = None;
        for attempt in 0..DOWNLOAD_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            match fetch(shared, url, &expected).await {
                Ok(st) => return Ok(st),
                Err((f, retry)) => {
                    last = Some(f);
                    if !retry {
                        break;
                    }
                }
            }
        }
        let f = last.expect("at least one attempt");
        Err(ApiFailure {
            message: format!("gave up after {DOWNLOAD_ATTEMPTS} attempts: {}", f.message),
            ..f
        })
    }
}

/// One download attempt; the flag says whether another attempt may help. Never puts the URL in a
/// message: a presigned URL is a credential while it lasts.
async fn fetch(shared: &Shared, url: &str, expected: &[u8]) -> Result<Stored, (ApiFailure, bool)> {
    let local = |e: infrasnap_core::error::CoreError| {
        (ApiFailure::new("LocalWriteFailed", e.to_string()), false)
    };
    let mut resp = shared.http.get(url).send().await.map_err(|e| {
        (
            ApiFailure::new(
                "DownloadFailed",
                format!("code download: {}", e.without_url()),
            ),
            true,
        )
    })?;
    let status = resp.status();
    if !status.is_success() {
        // Not an IAM denial even when 403 (an expired or refused presigned URL): no `status`.
        return Err((
            ApiFailure::new(
                "DownloadFailed",
                format!("code download answered HTTP {}", status.as_u16()),
            ),
            status.is_server_error(),
        ));
    }
    let mut w = shared.cx.repo.store().writer().map_err(local)?;
    let mut h = Sha256::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                h.update(&c);
                w.write_all(&c).map_err(local)?;
                let p = &shared.progress;
                p.add(&p.bytes_downloaded, c.len() as u64);
            }
            Ok(None) => break,
            Err(e) => {
                return Err((
                    ApiFailure::new(
                        "DownloadFailed",
                        format!("code download broke off: {}", e.without_url()),
                    ),
                    true,
                ))
            }
        }
    }
    if h.finalize()[..] != expected[..] {
        // Dropping the writer removes its temporary file: nothing is stored.
        return Err((
            ApiFailure::new(
                "ChecksumMismatch",
                "the downloaded code does not match its CodeSha256; not stored",
            ),
            true,
        ));
    }
    w.finish().map_err(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_arns_are_parsed() {
        assert_eq!(
            parse_layer_arn("arn:aws:lambda:us-east-1:123456789012:layer:shared-libs:2"),
            Some(LayerRef {
                layer_arn: "arn:aws:lambda:us-east-1:123456789012:layer:shared-libs".into(),
                account: "123456789012".into(),
                name: "shared-libs".into(),
                version: 2,
            })
        );
        assert!(parse_layer_arn("arn:aws:lambda:us-east-1:123456789012:layer:x").is_none());
        assert!(parse_layer_arn("arn:aws:lambda:us-east-1:123456789012:layer:../x:1").is_none());
        assert!(parse_layer_arn("arn:aws:lambda:us-east-1:123456789012:function:f:1").is_none());
    }

    #[test]
    fn environment_values_become_markers() {
        let fp = Fingerprinter::from_key([7; 32]);
        let mut c = json!({"Environment": {"Variables": {"A": "plain", "N": 5}}, "Runtime": "x"});
        let map = redact_environment(&mut c, &fp).unwrap();
        assert_eq!(map["A"], fp.marker(b"plain"));
        assert_eq!(map["N"], fp.marker(b"5"));
        assert_eq!(
            c["Environment"]["Variables"]["A"],
            json!(fp.marker(b"plain"))
        );
        assert!(!c.to_string().contains("plain"));
        // Twice changes nothing.
        let again = redact_environment(&mut c, &fp).unwrap();
        assert_eq!(again, map);
        assert!(redact_environment(&mut json!({"Runtime": "x"}), &fp).is_none());
    }

    #[test]
    fn redaction_keeps_lambda_identifiers() {
        // What redact_json must leave alone in a function's file: hashes, ids, ARNs.
        let fp = Fingerprinter::from_key([7; 32]);
        let v = json!({
            "CodeSha256": "BEOnuZisanb65ZY9UWSxS7Mg24UDhSaNNeO8KBU9YoQ=",
            "Configuration": {
                "CodeSha256": "BEOnuZisanb65ZY9UWSxS7Mg24UDhSaNNeO8KBU9YoQ=",
                "RevisionId": "0f7fe3ac-1c56-4a40-9c5d-4a3f0c4a2b11",
                "KMSKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "Role": "arn:aws:iam::123456789012:role/lambda-exec",
                "Layers": [{"Arn": "arn:aws:lambda:us-east-1:123456789012:layer:L:1", "CodeSize": 109}],
            },
            "EventSourceMappings": [{"UUID": "a1b2c3d4-5678-90ab-cdef-11111EXAMPLE"}],
        });
        let mut r = v.clone();
        let changed = redact_json(&mut r, &fp);
        assert!(changed.is_empty(), "{changed:?}");
        assert_eq!(r, v);
    }

    #[test]
    fn canonical_sorts_keys_and_drops_nulls_at_every_level() {
        let v = canonical(json!({"b": {"z": 1, "a": [{"y": 1, "x": 2, "n": null}]}, "a": 1}));
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"a":1,"b":{"a":[{"x":2,"y":1}],"z":1}}"#
        );
    }

    #[test]
    fn only_a_codeless_404_is_unsupported() {
        let f = |code: Option<&str>, status| ApiFailure {
            code: code.map(str::to_string),
            message: String::new(),
            status,
        };
        assert!(unsupported(&f(None, Some(404))));
        assert!(!unsupported(&f(
            Some("ResourceNotFoundException"),
            Some(404)
        )));
        assert!(!unsupported(&f(Some("AccessDeniedException"), Some(403))));
    }
}
