//! Capturing CloudFront (a global service, signed for us-east-1).
//!
//! Calls, each after the account's CloudFront rate limiter (a slow global API):
//! - ListDistributions (paged); per distribution, a few at once: GetDistribution (the full
//!   DistributionConfig with its ETag, status, domain name, ARN), GetDistributionConfig only when
//!   GetDistribution failed, ListTagsForResource;
//! - ListOriginAccessControls, ListCloudFrontOriginAccessIdentities, ListCachePolicies,
//!   ListOriginRequestPolicies and ListResponseHeadersPolicies (Type=custom), ListKeyGroups,
//!   ListPublicKeys: each paged, its summaries written whole;
//! - ListFunctions (paged), and GetFunction per function and stage listed (code, ETag).
//!
//! Every document is the service's own XML answer turned into API-shaped JSON (xml.rs), with
//! keys sorted, so an unchanged resource gives a byte-identical document. Origin custom header
//! values are replaced by their markers, then every document goes through `redact_json`. A failed
//! call is recorded with its IAM action and resource, and the rest goes on.
//!
//! Resources handed to the catalog (paths from `catalog/kinds.rs`, docs/FORMAT.md section 19),
//! all account-wide:
//! - `aws.cloudfront.distribution`, id = the distribution's Id; part `status.json` (the volatile
//!   fields: status, last modified time, invalidations in progress);
//! - `aws.cloudfront.distribution_summary`, id `distribution_summary`: the rows of
//!   `distribution_summary.csv` (its part);
//! - `aws.cloudfront.function`, id = the function's name; parts `code.js` (DEVELOPMENT, or LIVE
//!   when that is the only stage) and `live.js`;
//! - member kinds, shown through their views (`{"Items": [...]}` in id order): cache, origin
//!   request and response headers policies (by their Id), origin access controls and identities,
//!   key groups, public keys. A listing that answers HTTP 404 on its first page (a kind the
//!   endpoint does not offer) is covered as complete with nothing in it, and its view file says
//!   `{"Unavailable": "..."}`, with a note in the manifest; a complete listing with nothing in it
//!   gets the view `{"Items": []}`.
//!
//! Every listing is reported as coverage: complete, or failed with the recorded error (a listing
//! that stopped part way is failed; what it listed is still captured).

use infrasnap_core::manifest::Table;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::future::Future;
use std::sync::Arc;

use aws_sdk_cloudfront::types::{
    CachePolicyType, FunctionStage, OriginRequestPolicyType, ResponseHeadersPolicyType,
};
use aws_sdk_cloudfront::Client;
use futures::{stream, StreamExt};
use infrasnap_core::catalog::{doc_path, view_path};
use infrasnap_core::engine::{Collector, CollectorReport, ErrorSink, RunContext, Tally};
use infrasnap_core::ids::ResourceId;
use infrasnap_core::metadata::RecordedError;
use infrasnap_core::secrets::{find_secrets, is_marker, redact_json, Fingerprinter};
use serde_json::{json, Value};

use super::xml;
use super::CloudFrontCollector;
use crate::aws::kit::{listing, marker_if, Run, Service};
use crate::aws::sdk_error::{describe, ApiFailure};

/// The kinds this collector hands to the catalog.
pub const DISTRIBUTION: &str = "aws.cloudfront.distribution";
pub const DISTRIBUTION_SUMMARY: &str = "aws.cloudfront.distribution_summary";
pub const FUNCTION: &str = "aws.cloudfront.function";
/// The id of the one `aws.cloudfront.distribution_summary` of an account.
const SUMMARY_ID: &str = "distribution_summary";
/// Distributions and functions worked on at once (the rate limiter is the real bound).
const CONCURRENCY: usize = 4;

use crate::aws::capture::RawAnswer as Capture;

const ERR: Service = Service("cloudfront");

/// The answer kept by `cap` as JSON (its root element's content).
fn xml_answer(cap: &Capture) -> Result<Value, ApiFailure> {
    let raw = cap.take()?;
    xml::document(&raw)
}

/// How a paged listing ended.
enum Listed {
    /// Every item (maybe with an error that stopped the listing part way).
    Items(Vec<Value>, Option<ApiFailure>),
    /// The endpoint does not offer this kind (HTTP 404 on the first page).
    Unavailable(ApiFailure),
    /// The first page failed.
    Failed(ApiFailure),
}

/// One row of the summary CSV and the manifest.
struct DistRow {
    id: String,
    domain: String,
    aliases: Vec<String>,
    enabled: String,
    origins: Vec<String>,
    price_class: String,
    tally: Tally,
}

/// The strings of `v[ptr]` when it is an array (CloudFront `Items`).
fn strings_at(v: &Value, ptr: &str) -> Vec<String> {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn str_at(v: &Value, ptr: &str) -> String {
    match v.pointer(ptr) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Replace every origin custom header value by its marker: those headers are how an origin
/// tells CloudFront from the world (X-Origin-Verify, X-Api-Key, Authorization...).
pub fn redact_origin_headers(config: &mut Value, fp: &Fingerprinter) {
    let Some(origins) = config
        .pointer_mut("/Origins/Items")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for o in origins {
        let Some(headers) = o
            .pointer_mut("/CustomHeaders/Items")
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for h in headers {
            if let Some(Value::String(s)) = h.get_mut("HeaderValue") {
                if !is_marker(s) {
                    *s = fp.marker(s.as_bytes());
                }
            }
        }
    }
}

/// One CSV field, quoted as RFC 4180 says when it needs to be.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The first non-empty of several fields (the config, else the listing's summary).
fn first_of(v: &Value, ptrs: &[&str]) -> String {
    ptrs.iter()
        .map(|p| str_at(v, p))
        .find(|s| !s.is_empty())
        .unwrap_or_default()
}

fn sort_items(items: &mut [Value], key: &str) {
    items.sort_by_key(|v| str_at(v, key));
}

impl CloudFrontCollector {
    fn client(&self) -> Client {
        // CloudFront is global: its calls are signed for us-east-1 (cn-northwest-1 in China).
        let region = if self.scope.home_region.starts_with("cn-") {
            "cn-northwest-1"
        } else {
            "us-east-1"
        };
        Client::new(&self.scope.in_region(region))
    }

    async fn limit(&self) {
        self.limits.cloudfront.acquire().await;
    }

    /// The id of the account-wide resource `id` of `kind`.
    fn id(&self, kind: &str, id: &str) -> ResourceId {
        ResourceId::new(kind, &self.scope.account_id, "", id)
    }

    /// Redact `v` and hand it over as the document of `id`.
    fn put(
        &self,
        cx: &RunContext,
        id: &ResourceId,
        mut v: Value,
        tally: &mut Tally,
        errors: &ErrorSink,
    ) {
        redact_json(&mut v, cx.fingerprinter());
        match cx.put_resource(id, None, &v) {
            Ok(st) => tally.add(&st),
            Err(e) => errors.record(write_err(&id.to_string(), e)),
        }
    }

    /// Redact `v` and hand it over as part `part` of `id`.
    fn put_part_json(
        &self,
        cx: &RunContext,
        id: &ResourceId,
        part: &str,
        mut v: Value,
        tally: &mut Tally,
        errors: &ErrorSink,
    ) {
        redact_json(&mut v, cx.fingerprinter());
        match cx.put_part_json(id, None, part, &v) {
            Ok(st) => tally.add(&st),
            Err(e) => errors.record(write_err(&format!("{id} {part}"), e)),
        }
    }

    fn put_part(
        &self,
        cx: &RunContext,
        id: &ResourceId,
        part: &str,
        bytes: &[u8],
        tally: &mut Tally,
        errors: &ErrorSink,
    ) {
        match cx.put_part(id, None, part, bytes) {
            Ok(st) => tally.add(&st),
            Err(e) => errors.record(write_err(&format!("{id} {part}"), e)),
        }
    }

    /// The view file of member kind `kind` when the run hands over no member of it (the core
    /// writes views from members only): `{"Items": []}` for a complete empty listing, or
    /// `{"Unavailable": ...}`. Its path comes from the kind's `view` template.
    fn put_empty_view(
        &self,
        cx: &RunContext,
        kind: &str,
        v: Value,
        tally: &mut Tally,
        errors: &ErrorSink,
    ) {
        // A view's template has no `{id}`: any id of the kind renders it.
        let Some(rel) = view_path(&self.id(kind, "-")) else {
            return;
        };
        match cx.put_json(&rel, &v) {
            Ok(st) => tally.add(&st),
            Err(e) => errors.record(write_err(&rel, e)),
        }
    }

    /// Every item of a paged CloudFront listing (the kit's paging, inside CloudFront's rate
    /// limit). `call` sends one page request (marker) with the capture attached.
    async fn list_all<F, Fut>(&self, mut call: F) -> Listed
    where
        F: FnMut(Option<String>, Capture) -> Fut,
        Fut: Future<Output = Result<(), ApiFailure>>,
    {
        let l = listing("CloudFront items", &self.limits.cloudfront, |m| {
            let cap = Capture::default();
            let sent = call(m, cap.clone());
            async move {
                sent.await?;
                let mut page = xml_answer(&cap)?;
                let items = match page.get_mut("Items").map(Value::take) {
                    Some(Value::Array(a)) => a,
                    _ => Vec::new(),
                };
                let truncated = page.get("IsTruncated").and_then(Value::as_bool);
                let next = str_at(&page, "/NextMarker");
                Ok((items, marker_if(truncated.unwrap_or(true), Some(next))))
            }
        })
        .await;
        match l.failure {
            None => Listed::Items(l.items, None),
            Some(f) if l.pages == 0 && f.status == Some(404) && !f.is_denied() => {
                Listed::Unavailable(f)
            }
            Some(f) if l.pages == 0 => Listed::Failed(f),
            Some(f) => Listed::Items(l.items, Some(f)),
        }
    }

    pub(super) async fn run_inner(self: Arc<Self>, cx: Arc<RunContext>) -> CollectorReport {
        let run = Run::start(&cx, &self.key());
        let (progress, errors) = (run.progress.clone(), run.errors.clone());
        let client = self.client();
        let mut report = CollectorReport::default();
        let mut tally = Tally::default();
        let mut notes: Vec<String> = Vec::new();
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();

        // --- Distributions.
        let c = client.clone();
        let listed = self
            .list_all(|m, cap| {
                let c = c.clone();
                async move {
                    c.list_distributions()
                        .set_marker(m)
                        .customize()
                        .interceptor(cap)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| describe(&e))
                }
            })
            .await;
        let account = self.scope.account_id.clone();
        let summaries = match listed {
            Listed::Items(items, err) => {
                let e = err.map(|f| ERR.api("cloudfront:ListDistributions", "*", &f));
                for kind in [DISTRIBUTION, DISTRIBUTION_SUMMARY] {
                    cx.cover(kind, &account, "", e.as_ref());
                }
                if let Some(e) = e {
                    errors.record(e);
                }
                Some(items)
            }
            Listed::Unavailable(f) | Listed::Failed(f) => {
                let e = ERR.api("cloudfront:ListDistributions", "*", &f);
                for kind in [DISTRIBUTION, DISTRIBUTION_SUMMARY] {
                    cx.cover(kind, &account, "", Some(&e));
                }
                errors.record(e);
                None
            }
        };
        let mut rows: Vec<DistRow> = Vec::new();
        if let Some(summaries) = &summaries {
            let mut seen = HashSet::new();
            let summaries: Vec<Value> = summaries
                .iter()
                .filter(|s| seen.insert(str_at(s, "/Id")))
                .cloned()
                .collect();
            progress.add(&progress.units_total, summaries.len() as u64);
            rows = stream::iter(summaries)
                .map(|s| {
                    let me = self.clone();
                    let cx = cx.clone();
                    let client = client.clone();
                    let errors = errors.clone();
                    let progress = progress.clone();
                    async move {
                        let r = me.distribution(&cx, &client, s, &errors).await;
                        progress.add(&progress.units_done, 1);
                        r
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .filter_map(|r| async move { r })
                .collect()
                .await;
            rows.sort_by(|a, b| a.id.cmp(&b.id));
            // The summary: its rows as a document, and the CSV.
            let summary = self.id(DISTRIBUTION_SUMMARY, SUMMARY_ID);
            let doc: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({
                        "id": r.id,
                        "domain": r.domain,
                        "aliases": r.aliases,
                        "enabled": r.enabled,
                        "origins": r.origins,
                    })
                })
                .collect();
            self.put(&cx, &summary, json!({ "Rows": doc }), &mut tally, &errors);
            let mut csv = String::from("id,domain,aliases,enabled,origins\r\n");
            for r in &rows {
                csv.push_str(&format!(
                    "{},{},{},{},{}\r\n",
                    csv_field(&r.id),
                    csv_field(&r.domain),
                    csv_field(&r.aliases.join(";")),
                    csv_field(&r.enabled),
                    csv_field(&r.origins.join(";")),
                ));
            }
            self.put_part(
                &cx,
                &summary,
                "distribution_summary.csv",
                csv.as_bytes(),
                &mut tally,
                &errors,
            );
        }
        for r in &rows {
            tally.merge(r.tally);
        }
        counts.insert("distributions".into(), rows.len() as u64);

        // --- Account-wide kinds, each a file of summaries.
        struct Kind {
            kind: &'static str,
            file: &'static str,
            count: &'static str,
            action: &'static str,
            sort_key: &'static str,
        }
        let kinds = [
            Kind {
                kind: "aws.cloudfront.origin_access_control",
                file: "origin_access_controls.json",
                count: "origin_access_controls",
                action: "cloudfront:ListOriginAccessControls",
                sort_key: "/Id",
            },
            Kind {
                kind: "aws.cloudfront.origin_access_identity",
                file: "origin_access_identities.json",
                count: "origin_access_identities",
                action: "cloudfront:ListCloudFrontOriginAccessIdentities",
                sort_key: "/Id",
            },
            Kind {
                kind: "aws.cloudfront.cache_policy",
                file: "cache_policies.json",
                count: "cache_policies",
                action: "cloudfront:ListCachePolicies",
                sort_key: "/CachePolicy/Id",
            },
            Kind {
                kind: "aws.cloudfront.origin_request_policy",
                file: "origin_request_policies.json",
                count: "origin_request_policies",
                action: "cloudfront:ListOriginRequestPolicies",
                sort_key: "/OriginRequestPolicy/Id",
            },
            Kind {
                kind: "aws.cloudfront.response_headers_policy",
                file: "response_headers_policies.json",
                count: "response_headers_policies",
                action: "cloudfront:ListResponseHeadersPolicies",
                sort_key: "/ResponseHeadersPolicy/Id",
            },
            Kind {
                kind: "aws.cloudfront.key_group",
                file: "key_groups.json",
                count: "key_groups",
                action: "cloudfront:ListKeyGroups",
                sort_key: "/KeyGroup/Id",
            },
            Kind {
                kind: "aws.cloudfront.public_key",
                file: "public_keys.json",
                count: "public_keys",
                action: "cloudfront:ListPublicKeys",
                sort_key: "/Id",
            },
        ];
        let mut policies = 0u64;
        let mut kinds_read = 0usize;
        for k in &kinds {
            let c = client.clone();
            let listed = self
                .list_all(|m, cap| {
                    let c = c.clone();
                    let action = k.action;
                    async move {
                        macro_rules! send {
                            ($req:expr) => {
                                $req.set_marker(m)
                                    .customize()
                                    .interceptor(cap)
                                    .send()
                                    .await
                                    .map(|_| ())
                                    .map_err(|e| describe(&e))
                            };
                        }
                        match action {
                            "cloudfront:ListOriginAccessControls" => {
                                send!(c.list_origin_access_controls())
                            }
                            "cloudfront:ListCloudFrontOriginAccessIdentities" => {
                                send!(c.list_cloud_front_origin_access_identities())
                            }
                            "cloudfront:ListCachePolicies" => {
                                send!(c.list_cache_policies().r#type(CachePolicyType::Custom))
                            }
                            "cloudfront:ListOriginRequestPolicies" => send!(c
                                .list_origin_request_policies()
                                .r#type(OriginRequestPolicyType::Custom)),
                            "cloudfront:ListResponseHeadersPolicies" => send!(c
                                .list_response_headers_policies()
                                .r#type(ResponseHeadersPolicyType::Custom)),
                            "cloudfront:ListKeyGroups" => send!(c.list_key_groups()),
                            _ => send!(c.list_public_keys()),
                        }
                    }
                })
                .await;
            match listed {
                Listed::Items(mut items, err) => {
                    kinds_read += 1;
                    sort_items(&mut items, k.sort_key);
                    let n = items.len() as u64;
                    let e = err.map(|f| ERR.api(k.action, "*", &f));
                    cx.cover(k.kind, &account, "", e.as_ref());
                    let complete = e.is_none();
                    if let Some(e) = e {
                        errors.record(e);
                    }
                    for item in items {
                        let id = str_at(&item, k.sort_key);
                        if id.is_empty() {
                            errors.record(ERR.api(
                                k.action,
                                "*",
                                &ApiFailure::message(format!("an item without {}", k.sort_key)),
                            ));
                            continue;
                        }
                        self.put(&cx, &self.id(k.kind, &id), item, &mut tally, &errors);
                    }
                    if n == 0 && complete {
                        let empty = json!({ "Items": [] });
                        self.put_empty_view(&cx, k.kind, empty, &mut tally, &errors);
                    }
                    counts.insert(k.count.into(), n);
                    if k.count.ends_with("_policies") {
                        policies += n;
                    }
                }
                Listed::Unavailable(f) => {
                    kinds_read += 1;
                    let why = format!(
                        "{} answered HTTP 404{}: not offered by this endpoint",
                        k.action,
                        f.code
                            .as_deref()
                            .map(|c| format!(" ({c})"))
                            .unwrap_or_default()
                    );
                    notes.push(format!("`{}`: {why}.", k.file));
                    // Not offered: none of them there, so the listing is complete.
                    cx.cover(k.kind, &account, "", None);
                    let doc = json!({ "Unavailable": why });
                    self.put_empty_view(&cx, k.kind, doc, &mut tally, &errors);
                }
                Listed::Failed(f) => {
                    let e = ERR.api(k.action, "*", &f);
                    cx.cover(k.kind, &account, "", Some(&e));
                    errors.record(e);
                }
            }
        }
        counts.insert("policies".into(), policies);

        // --- CloudFront Functions.
        let functions = self
            .functions(&cx, &client, &errors, &mut tally, &mut notes)
            .await;
        counts.insert("functions".into(), functions.unwrap_or(0) as u64);

        let s = &mut report.summary;
        s.counts = counts;
        tally.add_to(s);
        run.finish(
            s,
            !errors.is_empty() && summaries.is_none() && functions.is_none() && kinds_read == 0,
        );

        let mut t = Table::new(&["Id", "Aliases", "Origins", "Enabled", "Price class"]);
        for r in &rows {
            t.row(vec![
                r.id.clone(),
                r.aliases.join(", "),
                r.origins.join(", "),
                r.enabled.to_string(),
                r.price_class.clone(),
            ]);
        }
        let m = &mut report.manifest;
        m.table(t);
        if summaries.is_none() {
            m.text("Distributions: could not be listed.");
        }
        m.text(match functions {
            Some(n) => format!("CloudFront Functions: {n}."),
            None => "CloudFront Functions: could not be listed.".into(),
        });
        for n in notes {
            m.text(format!("Note: {n}"));
        }
        report
    }

    /// One distribution into `<id>.json` and `<id>.status.json`. None when it vanished since it
    /// was listed.
    async fn distribution(
        &self,
        cx: &RunContext,
        client: &Client,
        summary: Value,
        errors: &ErrorSink,
    ) -> Option<DistRow> {
        let id = str_at(&summary, "/Id");
        let rid = self.id(DISTRIBUTION, &id);
        let mut part_errors: Vec<Value> = Vec::new();
        let mut fail = |re: RecordedError| {
            part_errors.push(json!({
                "Action": re.action,
                "Code": re.code,
                "Message": re.message,
            }));
            errors.record(re);
        };

        // GetDistribution: the config, its ETag, and the distribution's state.
        self.limit().await;
        let cap = Capture::default();
        let got = client
            .get_distribution()
            .id(&id)
            .customize()
            .interceptor(cap.clone())
            .send()
            .await;
        let (dist, etag) = match got {
            Ok(out) => match xml_answer(&cap) {
                Ok(v) => (Some(v), out.e_tag().map(str::to_string)),
                Err(f) => {
                    fail(ERR.api("cloudfront:GetDistribution", &id, &f));
                    (None, None)
                }
            },
            Err(e) => {
                let f = describe(&e);
                if f.code_in(&["NoSuchDistribution"]) {
                    return None;
                }
                fail(ERR.api("cloudfront:GetDistribution", &id, &f));
                (None, None)
            }
        };
        // Without GetDistribution, GetDistributionConfig may still be allowed.
        let (config, etag) = match &dist {
            Some(d) => (d.get("DistributionConfig").cloned(), etag),
            None => {
                self.limit().await;
                let cap = Capture::default();
                match client
                    .get_distribution_config()
                    .id(&id)
                    .customize()
                    .interceptor(cap.clone())
                    .send()
                    .await
                {
                    Ok(out) => match xml_answer(&cap) {
                        Ok(v) => (Some(v), out.e_tag().map(str::to_string)),
                        Err(f) => {
                            fail(ERR.api("cloudfront:GetDistributionConfig", &id, &f));
                            (None, None)
                        }
                    },
                    Err(e) => {
                        fail(ERR.api("cloudfront:GetDistributionConfig", &id, &describe(&e)));
                        (None, None)
                    }
                }
            }
        };
        let state = dist.as_ref().unwrap_or(&summary);
        let arn = str_at(state, "/ARN");

        // Tags.
        let tags = if arn.is_empty() {
            None
        } else {
            self.limit().await;
            let cap = Capture::default();
            match client
                .list_tags_for_resource()
                .resource(&arn)
                .customize()
                .interceptor(cap.clone())
                .send()
                .await
                .map_err(|e| describe(&e))
                .and_then(|_| xml_answer(&cap))
            {
                Ok(v) => {
                    let mut items = v
                        .pointer("/Items")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    sort_items(&mut items, "/Key");
                    Some(Value::Array(items))
                }
                Err(f) => {
                    fail(ERR.api("cloudfront:ListTagsForResource", &arn, &f));
                    None
                }
            }
        };

        let mut config = config;
        if let Some(c) = config.as_mut() {
            redact_origin_headers(c, cx.fingerprinter());
        }
        let src = config.as_ref().map(|c| json!({ "DistributionConfig": c }));
        let src = src.as_ref().unwrap_or(&summary);
        let row = DistRow {
            id: id.clone(),
            domain: str_at(state, "/DomainName"),
            aliases: strings_at(src, "/DistributionConfig/Aliases/Items")
                .into_iter()
                .chain(strings_at(src, "/Aliases/Items"))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            enabled: first_of(src, &["/DistributionConfig/Enabled", "/Enabled"]),
            origins: src
                .pointer("/DistributionConfig/Origins/Items")
                .or_else(|| src.pointer("/Origins/Items"))
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|o| str_at(o, "/DomainName")).collect())
                .unwrap_or_default(),
            price_class: first_of(src, &["/DistributionConfig/PriceClass", "/PriceClass"]),
            tally: Tally::default(),
        };

        let mut doc = serde_json::Map::new();
        doc.insert("Id".into(), Value::String(id.clone()));
        for k in [
            "ARN",
            "DomainName",
            "ActiveTrustedSigners",
            "ActiveTrustedKeyGroups",
            "AliasICPRecordals",
        ] {
            if let Some(v) = state.get(k) {
                doc.insert(k.into(), v.clone());
            }
        }
        if let Some(e) = etag {
            doc.insert("ETag".into(), Value::String(e));
        }
        if let Some(c) = config {
            doc.insert("DistributionConfig".into(), c);
        }
        if let Some(t) = tags {
            doc.insert("Tags".into(), json!({ "Items": t }));
        }
        if !part_errors.is_empty() {
            doc.insert("Errors".into(), Value::Array(part_errors));
        }
        let mut status = serde_json::Map::new();
        status.insert("Id".into(), Value::String(id.clone()));
        for k in [
            "Status",
            "LastModifiedTime",
            "InProgressInvalidationBatches",
        ] {
            if let Some(v) = state.get(k) {
                status.insert(k.into(), v.clone());
            }
        }
        let mut tally = Tally::default();
        self.put(cx, &rid, Value::Object(doc), &mut tally, errors);
        self.put_part_json(
            cx,
            &rid,
            "status.json",
            Value::Object(status),
            &mut tally,
            errors,
        );
        Some(DistRow { tally, ..row })
    }

    /// CloudFront Functions: each a document (the summary of every stage listed, with each
    /// stage's ETag), part `code.js` (DEVELOPMENT code; LIVE when that is the only stage) and part
    /// `live.js` (LIVE code). Returns how many functions, or None when they could not be listed.
    async fn functions(
        &self,
        cx: &RunContext,
        client: &Client,
        errors: &ErrorSink,
        tally: &mut Tally,
        notes: &mut Vec<String>,
    ) -> Option<usize> {
        let c = client.clone();
        let listed = self
            .list_all(|m, cap| {
                let c = c.clone();
                async move {
                    c.list_functions()
                        .set_marker(m)
                        .customize()
                        .interceptor(cap)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| describe(&e))
                }
            })
            .await;
        let account = &self.scope.account_id;
        let items = match listed {
            Listed::Items(items, err) => {
                let e = err.map(|f| ERR.api("cloudfront:ListFunctions", "*", &f));
                cx.cover(FUNCTION, account, "", e.as_ref());
                if let Some(e) = e {
                    errors.record(e);
                }
                items
            }
            Listed::Unavailable(f) | Listed::Failed(f) => {
                let e = ERR.api("cloudfront:ListFunctions", "*", &f);
                cx.cover(FUNCTION, account, "", Some(&e));
                errors.record(e);
                return None;
            }
        };
        // name -> stage -> summary
        let mut by_name: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
        for s in items {
            let name = str_at(&s, "/Name");
            let stage = match str_at(&s, "/FunctionMetadata/Stage") {
                st if st.is_empty() => "DEVELOPMENT".to_string(),
                st => st,
            };
            if !name.is_empty() {
                by_name.entry(name).or_default().insert(stage, s);
            }
        }
        let n = by_name.len();
        let mut done: Vec<(String, Tally, Vec<String>)> = stream::iter(by_name)
            .map(|(name, stages)| async move {
                let mut t = Tally::default();
                let n = self
                    .function(cx, client, &name, stages, errors, &mut t)
                    .await;
                (name, t, n)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        done.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, t, n) in done {
            tally.merge(t);
            notes.extend(n);
        }
        Some(n)
    }

    async fn function(
        &self,
        cx: &RunContext,
        client: &Client,
        name: &str,
        stages: BTreeMap<String, Value>,
        errors: &ErrorSink,
        tally: &mut Tally,
    ) -> Vec<String> {
        let mut notes = Vec::new();
        let id = self.id(FUNCTION, name);
        let only_live = !stages.contains_key("DEVELOPMENT");
        let mut doc = serde_json::Map::new();
        doc.insert("Name".into(), Value::String(name.to_string()));
        let mut stage_docs = serde_json::Map::new();
        for (stage, summary) in stages {
            let mut entry = summary;
            self.limit().await;
            let got = client
                .get_function()
                .name(name)
                .stage(FunctionStage::from(stage.as_str()))
                .send()
                .await;
            match got {
                Ok(out) => {
                    let code = out.function_code().map(|b| b.as_ref()).unwrap_or_default();
                    let part = if stage == "LIVE" && !only_live {
                        "live.js"
                    } else {
                        "code.js"
                    };
                    self.put_part(cx, &id, part, code, tally, errors);
                    let file = cx.part_path(&id, None, part).unwrap_or_default();
                    // Code is kept byte for byte (it is what a restore deploys); what looks
                    // like a secret in it is pointed out, not rewritten.
                    let found: Vec<Value> = std::str::from_utf8(code)
                        .map(find_secrets)
                        .unwrap_or_default()
                        .iter()
                        .map(|f| json!({"Line": f.line, "Kind": f.kind.as_str()}))
                        .collect();
                    if !found.is_empty() {
                        notes.push(format!(
                            "`{file}` holds {} value(s) shaped like secrets (kept as code, lines in `{}`).",
                            found.len(),
                            doc_path(&id, None).ok().flatten().unwrap_or_default()
                        ));
                    }
                    if let Value::Object(m) = &mut entry {
                        m.insert("CodeFile".into(), Value::String(file));
                        if let Some(e) = out.e_tag() {
                            m.insert("ETag".into(), Value::String(e.to_string()));
                        }
                        if let Some(ct) = out.content_type() {
                            m.insert("ContentType".into(), Value::String(ct.to_string()));
                        }
                        if !found.is_empty() {
                            m.insert("SecretsInCode".into(), Value::Array(found));
                        }
                    }
                }
                Err(e) => {
                    let re = ERR.api(
                        "cloudfront:GetFunction",
                        &format!("{name} ({stage})"),
                        &describe(&e),
                    );
                    if let Value::Object(m) = &mut entry {
                        m.insert(
                            "Error".into(),
                            json!({"Action": re.action, "Code": re.code, "Message": re.message}),
                        );
                    }
                    errors.record(re);
                }
            }
            stage_docs.insert(stage, entry);
        }
        doc.insert("Stages".into(), Value::Object(stage_docs));
        self.put(cx, &id, Value::Object(doc), tally, errors);
        notes
    }
}

/// A failed write (recorded without a code).
fn write_err(what: &str, e: infrasnap_core::error::CoreError) -> RecordedError {
    RecordedError {
        code: None,
        ..ERR.local(what, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn origin_header_values_become_markers() {
        let fp = Fingerprinter::from_key([7; 32]);
        let mut c = json!({"Origins": {"Quantity": 1, "Items": [{"Id": "o", "CustomHeaders": {
            "Quantity": 1, "Items": [{"HeaderName": "X-Origin-Verify", "HeaderValue": "s3cr3t-v4lue"}]
        }}]}});
        redact_origin_headers(&mut c, &fp);
        let v = c
            .pointer("/Origins/Items/0/CustomHeaders/Items/0/HeaderValue")
            .unwrap()
            .as_str()
            .unwrap()
            .to_string();
        assert!(is_marker(&v), "{v}");
        assert!(!c.to_string().contains("s3cr3t-v4lue"));
        let once = c.clone();
        redact_origin_headers(&mut c, &fp);
        assert_eq!(c, once, "redacting twice changes nothing");
    }
}
