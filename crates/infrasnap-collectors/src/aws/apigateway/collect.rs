//! Capturing API Gateway, per region of the account scope: REST APIs (v1, rest.rs), HTTP and
//! WebSocket APIs (v2, http.rs), and the region's custom domain names, usage plans and API keys.
//!
//! Every resource is handed to the catalog (`RunContext::put_resource`), which places it
//! (docs/FORMAT.md section 20; kinds in `infrasnap-core/src/catalog/kinds.rs`):
//! - `aws.apigateway.rest_api` (id: the REST API id): `api.json`, the API, its stages
//!   (variables as fingerprint markers; with `--keep-secrets` their values encrypted, part
//!   `kept.age`), deployments, resources with their methods and
//!   integrations, authorizers, request validators, models, gateway responses, and which export
//!   format each stage gave back; parts `export_<stage>.json`: GetExport (`oas30` with the API
//!   Gateway extensions), as the service returned it (a server may answer Swagger 2.0:
//!   `api.json` says);
//! - `aws.apigatewayv2.api` (id: the API id): `api.json`, an HTTP or WebSocket API, its routes
//!   (and route responses), integrations (and integration responses), stages, authorizers,
//!   deployments, models; part `export.json`: ExportApi (OAS30, with extensions), where
//!   available;
//! - member kinds, shown in the region's views: `aws.apigateway.domain_name` (id: the domain
//!   name; one resource holds both the v1 view with base path mappings and the v2 view with API
//!   mappings), `aws.apigateway.usage_plan` (id: the plan id; with its keys' ids),
//!   `aws.apigateway.api_key` (id: the key id; never a value).
//!
//! Every listing is reported as coverage, per region: complete, or failed with the recorded
//! error. A resource part of which could not be read (an `unreadable` entry) is marked
//! incomplete. Every document is pretty JSON with sorted keys and lists sorted by id (or name),
//! redacted by `redact_json`, so an unchanged API gives byte-identical files. Every call goes
//! through the account's API Gateway rate limiter; GetResources and the exports also through a
//! slower one. A failed call is recorded with the IAM action (`apigateway:GET`) and the
//! resource's ARN (`arn:aws:apigateway:<region>::/restapis/<id>/...`), and the rest goes on.

use infrasnap_core::manifest::{Blocks, Table};
use std::collections::BTreeMap;
use std::sync::Arc;

use infrasnap_core::engine::{CollectorReport, ErrorSink, RunContext};
use infrasnap_core::ids::ResourceId;
use infrasnap_core::kept::KeptValues;
use infrasnap_core::metadata::RecordedError;
use infrasnap_core::secrets::{redact_json, redact_text, Fingerprinter};
use serde_json::{Map, Value};

use super::json::sort_by_key;
use super::ApiGatewayCollector;
use crate::aws::kit::Run;
use crate::aws::ratelimit::RateLimiter;
use crate::aws::sdk_error::{ApiFailure, CollectError};

pub(super) const SERVICE: &str = "apigateway";
/// The IAM action of every read: API Gateway authorizes by HTTP method and resource path.
pub(super) const READ_ACTION: &str = "apigateway:GET";
/// APIs worked on at once per region; the rate limiters bound the calls.
pub(super) const API_CONCURRENCY: usize = 4;
/// GetResources and the exports are throttled harder by AWS than the other GETs.
const SLOW_PER_SECOND: f64 = 2.0;

/// The catalog's kinds (`infrasnap-core/src/catalog/kinds.rs`).
pub(super) const REST_API: &str = "aws.apigateway.rest_api";
pub(super) const V2_API: &str = "aws.apigatewayv2.api";
pub(super) const DOMAIN_NAME: &str = "aws.apigateway.domain_name";
pub(super) const USAGE_PLAN: &str = "aws.apigateway.usage_plan";
pub(super) const API_KEY: &str = "aws.apigateway.api_key";

/// One region being captured.
pub(super) struct RegionCx {
    pub account: String,
    pub region: String,
    pub cx: Arc<RunContext>,
    pub errors: Arc<ErrorSink>,
    pub slow: Arc<RateLimiter>,
    pub v1: aws_sdk_apigateway::Client,
    pub v2: aws_sdk_apigatewayv2::Client,
}

impl RegionCx {
    pub fn fp(&self) -> &Fingerprinter {
        self.cx.fingerprinter()
    }

    /// `arn:aws:apigateway:<region>::<path>`: what an IAM policy names for a call on `path`.
    pub fn arn(&self, path: &str) -> String {
        format!("arn:aws:apigateway:{}::{path}", self.region)
    }

    /// Record a failed call (`op` names the API operation; the message is redacted); the
    /// recorded error, for coverage.
    pub fn record(&self, op: &str, path: &str, f: &ApiFailure) -> RecordedError {
        let e = rec_err(self.fp(), op, &self.arn(path), f);
        self.errors.record(e.clone());
        e
    }

    /// The id of a resource of `kind` in this region.
    pub fn id(&self, kind: &str, id: &str) -> ResourceId {
        ResourceId::new(kind, self.account.as_str(), self.region.as_str(), id)
    }

    /// Report the listing of `kind` in this region: complete, or failed with `error`.
    pub fn cover(&self, kind: &str, error: Option<&RecordedError>) {
        self.cx.cover(kind, &self.account, &self.region, error);
    }

    /// Redact, then hand `value` over as the document of `id`, counting it into `stats`.
    pub fn put(&self, id: &ResourceId, mut value: Value, stats: &mut Stats) -> bool {
        redact_json(&mut value, self.fp());
        match self.cx.put_resource(id, None, &value) {
            Ok(st) => {
                stats.add(&st);
                true
            }
            Err(e) => {
                self.errors.record(local_err(&id.to_string(), e));
                false
            }
        }
    }

    /// With `--keep-secrets`: keep the originals of `id`'s stage variables, encrypted (part
    /// `kept.age`; nothing without a keeper or without values).
    pub fn keep(&self, id: &ResourceId, kept: &KeptValues) {
        if let Err(e) = self.cx.keep_values(id, None, kept) {
            self.errors.record(local_err(
                &format!("{id} {}", infrasnap_core::kept::KEPT_PART),
                e,
            ));
        }
    }

    /// The originals of these stages' variables and canary overrides, when secrets are kept.
    pub fn kept_vars<'s>(
        &self,
        vars: impl IntoIterator<Item = Option<&'s std::collections::HashMap<String, String>>>,
    ) -> KeptValues {
        let mut kept = KeptValues::default();
        if self.cx.keeps_secrets() {
            for m in vars {
                super::json::keep_vars(m, self.fp(), &mut kept);
            }
        }
        kept
    }

    /// Redact, then store `value` as pretty JSON as part `part` of `id`, counting it.
    pub fn put_part(
        &self,
        id: &ResourceId,
        part: &str,
        mut value: Value,
        stats: &mut Stats,
    ) -> bool {
        redact_json(&mut value, self.fp());
        match self.cx.put_part_json(id, None, part, &value) {
            Ok(st) => {
                stats.add(&st);
                true
            }
            Err(e) => {
                self.errors
                    .record(local_err(&format!("{id} part {part}"), e));
                false
            }
        }
    }
}

/// A recorded error: the IAM action, the resource's ARN, the code, and the operation with the
/// service's message (secrets redacted: a message must never carry a value).
pub(super) fn rec_err(fp: &Fingerprinter, op: &str, arn: &str, f: &ApiFailure) -> RecordedError {
    let e = f.of(SERVICE, READ_ACTION, arn);
    let code = e
        .code
        .clone()
        .or_else(|| f.status.map(|s| format!("HTTP {s}")));
    let message = format!("{op}: {}", redact_text(&f.message, fp).0);
    e.with_code(code).with_message(message).into()
}

fn local_err(what: &str, e: impl std::fmt::Display) -> RecordedError {
    CollectError::local(SERVICE, what, e).into()
}

/// An entry of an `unreadable` list: what could not be read, by which operation, and why.
pub(super) fn unreadable(field: &str, op: &str, f: &ApiFailure, pascal: bool) -> Value {
    let key = |k: &str| {
        if pascal {
            let mut c = k.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        } else {
            k.to_string()
        }
    };
    let mut m = Map::new();
    m.insert(key("field"), field.into());
    m.insert(key("operation"), op.into());
    m.insert(key("action"), READ_ACTION.into());
    if let Some(c) = &f.code {
        m.insert(key("code"), c.clone().into());
    } else if let Some(s) = f.status {
        m.insert(key("code"), format!("HTTP {s}").into());
    }
    Value::Object(m)
}

/// An `api.json` being built: its fields, and what could not be read.
pub(super) struct Doc {
    pub map: Map<String, Value>,
    unread: Vec<Value>,
    /// PascalCase field names (v2 files) rather than camelCase (v1 files).
    pascal: bool,
}

impl Doc {
    pub fn new(pascal: bool) -> Self {
        Doc {
            map: Map::new(),
            unread: Vec::new(),
            pascal,
        }
    }

    pub fn insert(&mut self, k: &str, v: impl Into<Value>) {
        self.map.insert(k.to_string(), v.into());
    }

    /// Record a failed call and note the field as unreadable.
    pub fn failed(&mut self, r: &RegionCx, field: &str, op: &str, path: &str, f: &ApiFailure) {
        r.record(op, path, f);
        self.unread.push(unreadable(field, op, f, self.pascal));
    }

    pub fn has_unreadable(&self) -> bool {
        !self.unread.is_empty()
    }

    /// Put a list read by `op` at `field`, sorted by `key`; or record why it could not be
    /// read. A resource deleted since it was listed gives an empty list.
    pub fn list(
        &mut self,
        r: &RegionCx,
        field: &str,
        (op, path): (&str, &str),
        res: Result<Vec<Value>, ApiFailure>,
        key: &str,
    ) {
        match res {
            Ok(v) => self.insert(field, sort_by_key(v, key)),
            Err(f) if gone(&f) => self.insert(field, Value::Array(Vec::new())),
            Err(f) => self.failed(r, field, op, path, &f),
        }
    }

    pub fn finish(mut self) -> Value {
        if !self.unread.is_empty() {
            let k = if self.pascal {
                "Unreadable"
            } else {
                "unreadable"
            };
            self.map
                .insert(k.into(), std::mem::take(&mut self.unread).into());
        }
        Value::Object(self.map)
    }
}

/// True when the resource was deleted since it was listed.
pub(super) fn gone(f: &ApiFailure) -> bool {
    f.code_in(&["NotFoundException"])
}

/// Which document format an export is: `("openapi", "3.0.1")`, `("swagger", "2.0")`.
pub(super) fn export_format(doc: &Value) -> (String, Option<String>) {
    for k in ["openapi", "swagger"] {
        if let Some(v) = doc.get(k) {
            return (k.to_string(), v.as_str().map(str::to_string));
        }
    }
    ("unknown".into(), None)
}

/// Bytes written: the collector kit's tally.
pub(super) type Stats = infrasnap_core::engine::Tally;

/// One API, for the counts and the MANIFEST table.
#[derive(Debug, Default)]
pub(super) struct ApiRow {
    pub region: String,
    /// `REST`, `HTTP` or `WEBSOCKET`.
    pub kind: String,
    pub id: String,
    pub name: String,
    pub stages: Vec<String>,
    /// What the export gave: `openapi 3.0.1`, `swagger 2.0`, `not available`, `-`.
    pub export: String,
    pub exports: u64,
    pub stats: Stats,
}

/// One region, for the counts and the MANIFEST table.
#[derive(Debug, Default)]
pub(super) struct RegionRow {
    pub region: String,
    /// None when the listing failed.
    pub rest_apis: Option<Vec<ApiRow>>,
    pub http_apis: Option<Vec<ApiRow>>,
    pub domain_names: Option<u64>,
    pub usage_plans: Option<u64>,
    pub api_keys: Option<u64>,
    pub stats: Stats,
}

impl ApiGatewayCollector {
    fn key_name(&self) -> String {
        use infrasnap_core::engine::Collector;
        self.key()
    }

    pub(super) async fn run_inner(self: Arc<Self>, cx: Arc<RunContext>) -> CollectorReport {
        let run = Run::start(&cx, &self.key_name());
        let (progress, errors) = (run.progress.clone(), run.errors.clone());
        let slow = Arc::new(RateLimiter::new(SLOW_PER_SECOND));
        let mut report = CollectorReport::default();
        let mut regions = self.scope.regions.clone();
        regions.sort();
        regions.dedup();
        progress.add(&progress.units_total, regions.len() as u64);

        let mut rows: Vec<RegionRow> = Vec::new();
        for region in &regions {
            if cx.is_cancelled() {
                break;
            }
            let conf = self.scope.in_region(region);
            let r = RegionCx {
                account: self.scope.account_id.clone(),
                region: region.clone(),
                cx: cx.clone(),
                errors: errors.clone(),
                slow: slow.clone(),
                v1: aws_sdk_apigateway::Client::new(&conf),
                v2: aws_sdk_apigatewayv2::Client::new(&conf),
            };
            rows.push(self.region(&r).await);
            progress.add(&progress.units_done, 1);
        }

        let s = &mut report.summary;
        let all = |f: fn(&RegionRow) -> &Option<Vec<ApiRow>>| {
            rows.iter()
                .filter_map(|r| f(r).as_ref())
                .flatten()
                .collect::<Vec<&ApiRow>>()
        };
        let rest = all(|r| &r.rest_apis);
        let http = all(|r| &r.http_apis);
        let sum = |f: fn(&RegionRow) -> Option<u64>| rows.iter().filter_map(f).sum::<u64>();
        s.counts.insert("rest_apis".into(), rest.len() as u64);
        s.counts.insert("http_apis".into(), http.len() as u64);
        s.counts.insert(
            "stages".into(),
            rest.iter()
                .chain(http.iter())
                .map(|a| a.stages.len() as u64)
                .sum(),
        );
        s.counts.insert(
            "exports".into(),
            rest.iter().chain(http.iter()).map(|a| a.exports).sum(),
        );
        s.counts
            .insert("domain_names".into(), sum(|r| r.domain_names));
        s.counts
            .insert("usage_plans".into(), sum(|r| r.usage_plans));
        s.counts.insert("api_keys".into(), sum(|r| r.api_keys));
        for r in &rows {
            r.stats.add_to(s);
        }
        let listed = rows
            .iter()
            .filter(|r| r.rest_apis.is_some() || r.http_apis.is_some())
            .count();
        run.finish(s, listed == 0 && !regions.is_empty());
        report.regions = regions;
        report.manifest = manifest(&rows);
        report
    }

    async fn region(&self, r: &RegionCx) -> RegionRow {
        let mut row = RegionRow {
            region: r.region.clone(),
            ..Default::default()
        };
        let (rest, http) = futures::join!(self.rest_apis(r), self.http_apis(r));
        for a in rest.iter().chain(http.iter()).flatten() {
            row.stats.merge(a.stats);
        }
        row.rest_apis = rest;
        row.http_apis = http;

        let mut stats = Stats::default();
        row.domain_names = self.domain_names(r, &mut stats).await;
        row.usage_plans = self.usage_plans(r, &mut stats).await;
        row.api_keys = self.api_keys(r, &mut stats).await;
        row.stats.merge(stats);
        row
    }

    /// The region's custom domain names, one `aws.apigateway.domain_name` each, holding the v1
    /// view (with base path mappings) and the v2 view (with API mappings) of it. None when
    /// neither view could be listed.
    async fn domain_names(&self, r: &RegionCx, stats: &mut Stats) -> Option<u64> {
        let (v1, v2) = futures::join!(self.v1_domain_names(r), self.v2_domain_names(r));
        let mut halves: DomainHalves = BTreeMap::new();
        let mut unread: Vec<Value> = Vec::new();
        let mut listed = false;
        for (half, res) in [("v1", v1), ("v2", v2)] {
            match res {
                Ok(list) => {
                    r.cover(DOMAIN_NAME, None);
                    listed = true;
                    for d in list {
                        let slot = halves.entry(domain_id(&d)).or_default();
                        if half == "v1" {
                            slot.0 = Some(d);
                        } else {
                            slot.1 = Some(d);
                        }
                    }
                }
                Err(f) => {
                    let e = r.record("GetDomainNames", "/domainnames", &f);
                    r.cover(DOMAIN_NAME, Some(&e));
                    unread.push(unreadable(half, "GetDomainNames", &f, false));
                }
            }
        }
        if !listed {
            return None;
        }
        let n = halves.len() as u64;
        for (id, (v1, v2)) in halves {
            let name = v1
                .as_ref()
                .and_then(|d| d.get("domainName"))
                .or_else(|| v2.as_ref().and_then(|d| d.get("DomainName")))
                .cloned()
                .unwrap_or_else(|| Value::from(id.as_str()));
            // Its mappings could not be read (noted in the half): not the whole domain name.
            let half_unread = v1.as_ref().is_some_and(|d| d.get("unreadable").is_some())
                || v2.as_ref().is_some_and(|d| d.get("Unreadable").is_some());
            let mut doc = Map::new();
            doc.insert("domainName".into(), name);
            if let Some(d) = v1 {
                doc.insert("v1".into(), d);
            }
            if let Some(d) = v2 {
                doc.insert("v2".into(), d);
            }
            let rid = r.id(DOMAIN_NAME, &id);
            if half_unread {
                r.cx.mark_incomplete(&rid);
            }
            if !unread.is_empty() {
                // One half could not be listed: what is here is not the whole domain name.
                doc.insert("unreadable".into(), unread.clone().into());
                r.cx.mark_incomplete(&rid);
            }
            r.put(&rid, Value::Object(doc), stats);
        }
        Some(n)
    }
}

/// Domain name id → (its v1 view, its v2 view).
type DomainHalves = BTreeMap<String, (Option<Value>, Option<Value>)>;

/// The id of a custom domain name: its name, as both APIs show it; a private custom domain name
/// (v1 only, which has a `domainNameId`) is `<name>+<domainNameId>`, as in its ARN, since a
/// public and a private one may share a name.
fn domain_id(d: &Value) -> String {
    let name = d
        .get("domainName")
        .or_else(|| d.get("DomainName"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    match d.get("domainNameId").and_then(Value::as_str) {
        Some(i) if !i.is_empty() => format!("{name}+{i}"),
        _ => name.to_string(),
    }
}

fn manifest(rows: &[RegionRow]) -> Blocks {
    let mut m = Blocks::default();
    let n = |v: &Option<Vec<ApiRow>>| {
        v.as_ref()
            .map(|v| v.len().to_string())
            .unwrap_or_else(|| "not listed".into())
    };
    let c = |v: Option<u64>| {
        v.map(|v| v.to_string())
            .unwrap_or_else(|| "not listed".into())
    };
    m.table(Table::with_rows(
        &[
            "Region",
            "REST APIs",
            "HTTP/WebSocket APIs",
            "Domain names",
            "Usage plans",
            "API keys",
        ],
        rows.iter()
            .map(|r| {
                vec![
                    r.region.clone(),
                    n(&r.rest_apis),
                    n(&r.http_apis),
                    c(r.domain_names),
                    c(r.usage_plans),
                    c(r.api_keys),
                ]
            })
            .collect(),
    ));
    let apis: Vec<&ApiRow> = rows
        .iter()
        .flat_map(|r| r.rest_apis.iter().chain(r.http_apis.iter()).flatten())
        .collect();
    if !apis.is_empty() {
        m.table(Table::with_rows(
            &["API", "Id", "Type", "Region", "Stages", "Export"],
            apis.iter()
                .map(|a| {
                    let stages = if a.stages.is_empty() {
                        "-".to_string()
                    } else {
                        a.stages.join(", ")
                    };
                    vec![
                        a.name.clone(),
                        a.id.clone(),
                        a.kind.to_string(),
                        a.region.clone(),
                        stages,
                        a.export.to_string(),
                    ]
                })
                .collect(),
        ));
    }
    m.text(
        "Stage variables are stored with their names and a `<redacted fp:...>` marker for each \
         value (equal within this repository exactly when the value is equal); API key values \
         are never read.",
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_messages_lose_secret_shapes_and_name_the_operation() {
        let fp = Fingerprinter::from_key([3; 32]);
        let key = format!("{}{}", "AKIA", "QWERTYUIOPASDFGH");
        let f = ApiFailure {
            code: Some("AccessDeniedException".into()),
            message: format!("not allowed for {key}"),
            status: Some(403),
        };
        let e = rec_err(
            &fp,
            "GetStages",
            "arn:aws:apigateway:eu-west-1::/restapis/a1/stages",
            &f,
        );
        assert_eq!(e.action, "apigateway:GET");
        assert_eq!(e.service, "apigateway");
        assert!(e.message.starts_with("GetStages: "), "{}", e.message);
        assert!(!e.message.contains(&key), "{}", e.message);
        let no_code = ApiFailure {
            code: None,
            message: "x".into(),
            status: Some(404),
        };
        assert_eq!(
            rec_err(&fp, "Op", "arn", &no_code).code.as_deref(),
            Some("HTTP 404")
        );
    }

    #[test]
    fn unreadable_entries_follow_the_file_case() {
        let f = ApiFailure {
            code: Some("AccessDeniedException".into()),
            message: String::new(),
            status: Some(403),
        };
        assert_eq!(
            unreadable("stages", "GetStages", &f, false),
            json!({"field": "stages", "operation": "GetStages", "action": "apigateway:GET", "code": "AccessDeniedException"})
        );
        assert_eq!(
            unreadable("Routes", "GetRoutes", &f, true),
            json!({"Field": "Routes", "Operation": "GetRoutes", "Action": "apigateway:GET", "Code": "AccessDeniedException"})
        );
    }

    #[test]
    fn domain_ids_are_the_name_or_name_plus_id_for_private_ones() {
        assert_eq!(
            domain_id(&json!({"domainName": "api.example.com"})),
            "api.example.com"
        );
        assert_eq!(
            domain_id(&json!({"DomainName": "api.example.com"})),
            "api.example.com"
        );
        assert_eq!(
            domain_id(&json!({"domainName": "p.example.com", "domainNameId": "abc123"})),
            "p.example.com+abc123"
        );
    }

    #[test]
    fn export_formats() {
        assert_eq!(
            export_format(&json!({"openapi": "3.0.1"})),
            ("openapi".to_string(), Some("3.0.1".to_string()))
        );
        assert_eq!(
            export_format(&json!({"swagger": "2.0"})),
            ("swagger".to_string(), Some("2.0".to_string()))
        );
        assert_eq!(export_format(&json!({})).0, "unknown");
    }
}
