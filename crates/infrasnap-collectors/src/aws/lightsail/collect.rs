//! Capturing Lightsail, per region of the account scope.
//!
//! First GetRegions (once, in a region the SDK knows to offer Lightsail) tells which of the
//! scope's regions offer Lightsail at all; the others are skipped with a note, not an error, and
//! get no call and no coverage (nothing was listed there). When GetRegions cannot be read, every
//! region is tried, and a region the SDK does not list as a Lightsail region whose endpoint does
//! not answer at all (on AWS the name `lightsail.<region>.amazonaws.com` does not resolve there)
//! is skipped the same way, after [`PROBE_ATTEMPTS`] attempts.
//!
//! In each region, a few regions at once, every call after the account's Lightsail rate limiter:
//! GetInstances, GetDisks, GetStaticIps, GetInstanceSnapshots, GetDiskSnapshots, each paged
//! (`pageToken`). Each item is kept as Lightsail sent it (the API's member names), made stable
//! by `wire::normalise`, and handed to the catalog by its name (docs/FORMAT.md section 21):
//! - `aws.lightsail.instance`: a document each, `instances/<name>.json` (blueprint, bundle,
//!   `state`, hardware with its attached disks, networking with its open ports, IPs,
//!   `isStaticIp`, add-ons, tags);
//! - member kinds `aws.lightsail.disk`, `.static_ip`, `.instance_snapshot`, `.disk_snapshot`,
//!   shown in the region's views `disks.json`, `static_ips.json`, `instance_snapshots.json`,
//!   `disk_snapshots.json`;
//! - with `--lightsail-snapshot`, `aws.lightsail.created_snapshots` (`created_snapshots.json`,
//!   see `native.rs`).
//!
//! Every listing is reported as coverage of its kind in the region: complete, or failed with the
//! recorded error (also when it stopped part way: what was read is kept). A failed call is
//! recorded with its IAM action (`lightsail:GetInstances`) and the resource, and the rest goes
//! on.

use infrasnap_core::manifest::Table;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_sdk_lightsail::error::SdkError;
use aws_sdk_lightsail::types::RegionName;
use aws_sdk_lightsail::Client;
use futures::{stream, StreamExt};
use infrasnap_core::engine::{Collector, CollectorReport, ErrorSink, RunContext, Tally};
use infrasnap_core::ids::ResourceId;
use infrasnap_core::metadata::RecordedError;
use infrasnap_core::secrets::redact_json;
use serde_json::Value;

use super::native::NativeSnapshot;
use super::wire::{normalise, Capture};
use super::LightsailCollector;
use crate::aws::kit::{listing, Run, Service};
use crate::aws::sdk_error::{describe, ApiFailure};

pub(super) const ERR: Service = Service("lightsail");

/// The catalog's kind (and id) of the record of native snapshots a run made in a region.
const CREATED_KIND: &str = "aws.lightsail.created_snapshots";
const CREATED_ID: &str = "created_snapshots";
/// Regions worked on at once (the rate limiter is the real bound).
const REGION_CONCURRENCY: usize = 4;
/// Attempts of the first call in a region not known to offer Lightsail (when GetRegions could
/// not be read): a missing endpoint should not cost the full retry budget.
const PROBE_ATTEMPTS: u32 = 2;

/// The listings of one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Instances,
    Disks,
    StaticIps,
    InstanceSnapshots,
    DiskSnapshots,
}

impl Kind {
    /// The member holding the items in the answer.
    fn key(self) -> &'static str {
        match self {
            Kind::Instances => "instances",
            Kind::Disks => "disks",
            Kind::StaticIps => "staticIps",
            Kind::InstanceSnapshots => "instanceSnapshots",
            Kind::DiskSnapshots => "diskSnapshots",
        }
    }
    fn action(self) -> &'static str {
        match self {
            Kind::Instances => "lightsail:GetInstances",
            Kind::Disks => "lightsail:GetDisks",
            Kind::StaticIps => "lightsail:GetStaticIps",
            Kind::InstanceSnapshots => "lightsail:GetInstanceSnapshots",
            Kind::DiskSnapshots => "lightsail:GetDiskSnapshots",
        }
    }
    /// The resource type in Lightsail ARNs.
    fn arn_type(self) -> &'static str {
        match self {
            Kind::Instances => "Instance",
            Kind::Disks => "Disk",
            Kind::StaticIps => "StaticIp",
            Kind::InstanceSnapshots => "InstanceSnapshot",
            Kind::DiskSnapshots => "DiskSnapshot",
        }
    }
    /// The catalog's kind (`infrasnap-core/src/catalog/kinds.rs`).
    fn catalog(self) -> &'static str {
        match self {
            Kind::Instances => "aws.lightsail.instance",
            Kind::Disks => "aws.lightsail.disk",
            Kind::StaticIps => "aws.lightsail.static_ip",
            Kind::InstanceSnapshots => "aws.lightsail.instance_snapshot",
            Kind::DiskSnapshots => "aws.lightsail.disk_snapshot",
        }
    }
    /// The name in the summary's counts.
    fn count(self) -> &'static str {
        match self {
            Kind::Instances => "instances",
            Kind::Disks => "disks",
            Kind::StaticIps => "static_ips",
            Kind::InstanceSnapshots => "instance_snapshots",
            Kind::DiskSnapshots => "disk_snapshots",
        }
    }
}

const KINDS: [Kind; 5] = [
    Kind::Instances,
    Kind::Disks,
    Kind::StaticIps,
    Kind::InstanceSnapshots,
    Kind::DiskSnapshots,
];

/// How a paged listing ended.
enum Listed {
    /// Every item (maybe with an error that stopped the listing part way).
    Items(Vec<Value>, Option<ApiFailure>),
    /// The first page failed.
    Failed(ApiFailure),
    /// Nothing answered at all, in a region not known to offer Lightsail.
    NotOffered(ApiFailure),
}

/// One row of the manifest's instance table.
#[derive(Debug, Clone)]
pub(super) struct InstanceRow {
    pub name: String,
    pub arn: String,
    pub blueprint: String,
    pub bundle: String,
    pub state: String,
    pub public_ip: String,
    pub static_ip: Option<String>,
    pub disks: Vec<String>,
    pub auto_snapshot: Option<String>,
}

/// What one region gave.
pub(super) struct RegionResult {
    pub region: String,
    /// Why it was skipped (Lightsail not offered there).
    pub skipped: Option<String>,
    /// At least one listing was read.
    pub read_any: bool,
    pub rows: Vec<InstanceRow>,
    pub counts: BTreeMap<&'static str, u64>,
    pub tally: Tally,
    pub client: Option<Client>,
    pub created: Vec<NativeSnapshot>,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

impl LightsailCollector {
    pub(super) async fn limit(&self) {
        self.limits.lightsail.acquire().await;
    }

    /// The id of a resource of `kind` (a catalog kind) in `region`.
    pub(super) fn id(&self, kind: &str, region: &str, id: &str) -> ResourceId {
        ResourceId::new(kind, self.scope.account_id.as_str(), region, id)
    }

    /// `arn:aws:lightsail:<region>:<account>:<Type>/*`: what a listing covers.
    pub(super) fn arn_all(&self, region: &str, arn_type: &str) -> String {
        format!(
            "arn:aws:lightsail:{region}:{}:{arn_type}/*",
            self.scope.account_id
        )
    }

    /// Redact and hand over the document of `id`.
    pub(super) fn put(
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
            Err(e) => errors.record(ERR.local(&id.to_string(), e)),
        }
    }

    /// Report the listing of `kind` in `region`: complete, or failed with `error`.
    fn cover(&self, cx: &RunContext, kind: Kind, region: &str, error: Option<&RecordedError>) {
        cx.cover(kind.catalog(), &self.scope.account_id, region, error);
    }

    /// The regions offering Lightsail, from GetRegions, asked in a region the SDK knows to offer
    /// it (the first such region of the scope, else the home region, else us-east-1).
    async fn offered_regions(&self) -> Result<BTreeSet<String>, ApiFailure> {
        let known = RegionName::values();
        let at = self
            .scope
            .regions
            .iter()
            .find(|r| known.contains(&r.as_str()))
            .cloned()
            .unwrap_or_else(|| {
                if known.contains(&self.scope.home_region.as_str()) {
                    self.scope.home_region.clone()
                } else {
                    "us-east-1".to_string()
                }
            });
        let client = Client::new(&self.scope.in_region(&at));
        self.limit().await;
        let r = client
            .get_regions()
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let names: BTreeSet<String> = r
            .regions()
            .iter()
            .filter_map(|x| x.name().map(|n| n.as_str().to_string()))
            .collect();
        if names.is_empty() {
            return Err(ApiFailure::message("GetRegions listed no region"));
        }
        Ok(names)
    }

    /// One page of a listing, as JSON. The error says whether any answer arrived.
    async fn page(
        &self,
        client: &Client,
        kind: Kind,
        token: Option<String>,
        probe: bool,
    ) -> Result<Value, (ApiFailure, bool)> {
        let cap = Capture::default();
        let probe_conf = || {
            aws_sdk_lightsail::config::Builder::default()
                .retry_config(RetryConfig::standard().with_max_attempts(PROBE_ATTEMPTS))
        };
        macro_rules! send {
            ($req:expr) => {{
                let mut c = $req
                    .set_page_token(token)
                    .customize()
                    .interceptor(cap.clone());
                if probe {
                    c = c.config_override(probe_conf());
                }
                c.send().await.map(|_| ()).map_err(|e| {
                    let no_answer = matches!(e, SdkError::DispatchFailure(_));
                    (describe(&e), no_answer)
                })
            }};
        }
        match kind {
            Kind::Instances => send!(client.get_instances()),
            Kind::Disks => send!(client.get_disks()),
            Kind::StaticIps => send!(client.get_static_ips()),
            Kind::InstanceSnapshots => send!(client.get_instance_snapshots()),
            Kind::DiskSnapshots => send!(client.get_disk_snapshots()),
        }?;
        cap.json().map_err(|f| (f, false))
    }

    /// Every item of a paged listing (the kit's paging, inside Lightsail's rate limit).
    async fn list_all(&self, client: &Client, kind: Kind, probe: bool) -> Listed {
        // Whether the first page got no answer at all (an endpoint without Lightsail).
        let no_answer = AtomicBool::new(false);
        let what = format!("Lightsail {}", kind.key());
        let l = listing(what, &self.limits.lightsail, |token| {
            let first = token.is_none();
            let no_answer = &no_answer;
            async move {
                let mut page = match self.page(client, kind, token, probe && first).await {
                    Ok(p) => p,
                    Err((f, none)) => {
                        no_answer.store(first && none, Ordering::Relaxed);
                        return Err(f);
                    }
                };
                let items = match page.get_mut(kind.key()).map(Value::take) {
                    Some(Value::Array(a)) => a,
                    _ => Vec::new(),
                };
                let next = page.get("nextPageToken").and_then(Value::as_str);
                Ok((items, next.map(str::to_string)))
            }
        })
        .await;
        match l.failure {
            None => Listed::Items(l.items, None),
            Some(f) if l.pages == 0 && probe && no_answer.into_inner() => Listed::NotOffered(f),
            Some(f) if l.pages == 0 => Listed::Failed(f),
            Some(f) => Listed::Items(l.items, Some(f)),
        }
    }

    /// Capture one region; with `--lightsail-snapshot`, also start a native snapshot of each
    /// instance found.
    async fn region(
        &self,
        cx: &RunContext,
        region: &str,
        probe: bool,
        errors: &ErrorSink,
    ) -> RegionResult {
        let client = Client::new(&self.scope.in_region(region));
        let mut res = RegionResult {
            region: region.to_string(),
            skipped: None,
            read_any: false,
            rows: Vec::new(),
            counts: BTreeMap::new(),
            tally: Tally::default(),
            client: Some(client.clone()),
            created: Vec::new(),
        };
        let mut lists: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
        let mut instances_listed = false;
        let mut snapshots_listed: Option<Vec<Value>> = None;
        for kind in KINDS {
            let listed = self
                .list_all(&client, kind, probe && kind == Kind::Instances)
                .await;
            let (mut items, stopped) = match listed {
                Listed::NotOffered(f) => {
                    res.skipped = Some(format!(
                        "the Lightsail endpoint gave no answer ({}); taken as Lightsail not offered there",
                        f.message
                    ));
                    res.client = None;
                    return res;
                }
                Listed::Failed(f) => {
                    let e = ERR.api(kind.action(), &self.arn_all(region, kind.arn_type()), &f);
                    errors.record(e.clone());
                    self.cover(cx, kind, region, Some(&e));
                    continue;
                }
                Listed::Items(items, stopped) => (items, stopped),
            };
            res.read_any = true;
            items.iter_mut().for_each(normalise);
            match &stopped {
                // Stopped part way: what was read is kept, the listing is not whole.
                Some(f) => {
                    let e = ERR.api(kind.action(), &self.arn_all(region, kind.arn_type()), f);
                    errors.record(e.clone());
                    self.cover(cx, kind, region, Some(&e));
                    tracing::warn!(
                        "{region}: {} stopped part way: {f}; the listing is incomplete",
                        kind.action()
                    );
                }
                None => self.cover(cx, kind, region, None),
            }
            // The same resource twice (a listing that changed while paged): keep one.
            let mut seen = HashSet::new();
            items.retain(|v| seen.insert(text(v, "name")));
            res.counts.insert(kind.count(), items.len() as u64);
            for item in &items {
                let id = self.id(kind.catalog(), region, &text(item, "name"));
                self.put(cx, &id, item.clone(), &mut res.tally, errors);
            }
            match kind {
                Kind::Instances => instances_listed = stopped.is_none(),
                Kind::InstanceSnapshots if stopped.is_none() => {
                    snapshots_listed = Some(items.clone());
                }
                _ => {}
            }
            lists.insert(kind.key(), items);
        }

        // Rows for the manifest.
        let static_ips = lists.get("staticIps").cloned().unwrap_or_default();
        for inst in lists.get("instances").map(Vec::as_slice).unwrap_or(&[]) {
            let name = text(inst, "name");
            let mut disks: Vec<String> = inst
                .pointer("/hardware/disks")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter(|d| d.get("isSystemDisk").and_then(Value::as_bool) != Some(true))
                        .map(|d| text(d, "name"))
                        .collect()
                })
                .unwrap_or_default();
            disks.sort();
            let auto_snapshot = inst
                .get("addOns")
                .and_then(Value::as_array)
                .and_then(|a| {
                    a.iter().find(|x| {
                        text(x, "name") == "AutoSnapshot" && text(x, "status") == "Enabled"
                    })
                })
                .map(|x| text(x, "snapshotTimeOfDay"));
            res.rows.push(InstanceRow {
                arn: text(inst, "arn"),
                blueprint: text(inst, "blueprintId"),
                bundle: text(inst, "bundleId"),
                state: inst
                    .pointer("/state/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                public_ip: text(inst, "publicIpAddress"),
                static_ip: static_ips
                    .iter()
                    .find(|s| text(s, "attachedTo") == name)
                    .map(|s| text(s, "name")),
                disks,
                auto_snapshot,
                name,
            });
        }
        res.rows.sort_by(|a, b| a.name.cmp(&b.name));

        if self.options.create_snapshots && !res.rows.is_empty() {
            if !instances_listed {
                tracing::warn!(
                    "{region}: the instance list is incomplete; native snapshots are made of the instances listed"
                );
            }
            res.created = self
                .create_native(
                    &client,
                    region,
                    &res.rows,
                    snapshots_listed.as_deref(),
                    errors,
                )
                .await;
        }
        res
    }

    pub(super) async fn run_inner(self: Arc<Self>, cx: Arc<RunContext>) -> CollectorReport {
        let run = Run::start(&cx, &self.key());
        let (progress, errors) = (run.progress.clone(), run.errors.clone());
        let mut report = CollectorReport::default();
        let mut notes: Vec<String> = Vec::new();
        let regions = self.scope.regions.clone();
        progress.add(&progress.units_total, regions.len() as u64);

        // Which regions offer Lightsail.
        let offered = if regions.is_empty() {
            Ok(BTreeSet::new())
        } else {
            self.offered_regions().await
        };
        let known = RegionName::values();
        let mut plan: Vec<(String, bool)> = Vec::new();
        let mut results: Vec<RegionResult> = Vec::new();
        match &offered {
            Ok(set) => {
                for r in &regions {
                    if set.contains(r) {
                        plan.push((r.clone(), false));
                    } else {
                        results.push(RegionResult {
                            region: r.clone(),
                            skipped: Some("not listed by lightsail:GetRegions".into()),
                            read_any: false,
                            rows: Vec::new(),
                            counts: BTreeMap::new(),
                            tally: Tally::default(),
                            client: None,
                            created: Vec::new(),
                        });
                        progress.add(&progress.units_done, 1);
                    }
                }
            }
            Err(f) => {
                notes.push(format!(
                    "lightsail:GetRegions could not be read ({f}); every region was tried, and a \
                     region not known to offer Lightsail whose endpoint gave no answer was skipped."
                ));
                for r in &regions {
                    plan.push((r.clone(), !known.contains(&r.as_str())));
                }
            }
        }

        let captured: Vec<RegionResult> = stream::iter(plan)
            .map(|(region, probe)| {
                let me = self.clone();
                let cx = cx.clone();
                let errors = errors.clone();
                let progress = progress.clone();
                async move {
                    let r = me.region(&cx, &region, probe, &errors).await;
                    progress.add(&progress.units_done, 1);
                    r
                }
            })
            .buffer_unordered(REGION_CONCURRENCY)
            .collect()
            .await;
        results.extend(captured);
        results.sort_by(|a, b| a.region.cmp(&b.region));

        // Native snapshots: wait for them, then record them.
        if self.options.create_snapshots {
            if let Some(wait) = self.options.wait {
                self.wait_native(&cx, &mut results, wait, &errors).await;
            }
            for r in &mut results {
                if r.skipped.is_some() || r.client.is_none() {
                    continue;
                }
                let id = self.id(CREATED_KIND, &r.region, CREATED_ID);
                let doc = self.created_json(&r.created);
                let mut tally = r.tally;
                self.put(&cx, &id, doc, &mut tally, &errors);
                r.tally = tally;
            }
        }

        // Summary.
        let s = &mut report.summary;
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for k in KINDS {
            counts.insert(k.count().to_string(), 0);
        }
        let mut created = 0u64;
        let mut skipped: Vec<(&str, &str)> = Vec::new();
        for r in &results {
            for (k, v) in &r.counts {
                *counts.entry(k.to_string()).or_default() += v;
            }
            created += r.created.iter().filter(|c| c.created).count() as u64;
            s.bytes_total += r.tally.bytes_total;
            s.bytes_new += r.tally.bytes_new;
            s.blobs_new += r.tally.blobs_new;
            if let Some(why) = &r.skipped {
                skipped.push((&r.region, why));
            }
        }
        if self.options.create_snapshots {
            counts.insert("created_snapshots".into(), created);
        }
        if !skipped.is_empty() {
            counts.insert("regions_not_offered".into(), skipped.len() as u64);
        }
        s.counts = counts;
        let attempted: Vec<&RegionResult> =
            results.iter().filter(|r| r.skipped.is_none()).collect();
        let read_nothing = !attempted.is_empty() && attempted.iter().all(|r| !r.read_any);
        run.finish(s, !errors.is_empty() && read_nothing);
        report.regions = results
            .iter()
            .filter(|r| r.skipped.is_none())
            .map(|r| r.region.clone())
            .collect();

        // Manifest.
        let m = &mut report.manifest;
        let rows: Vec<(&str, &InstanceRow)> = results
            .iter()
            .flat_map(|r| r.rows.iter().map(move |row| (r.region.as_str(), row)))
            .collect();
        if rows.is_empty() {
            m.text("No Lightsail instances.");
        } else {
            let mut t = Table::new(&[
                "Region",
                "Instance",
                "Blueprint",
                "Bundle",
                "State",
                "Public IP",
                "Static IP",
                "Disks",
                "Automatic snapshots",
            ]);
            for (region, r) in &rows {
                t.row(vec![
                    region.to_string(),
                    r.name.clone(),
                    r.blueprint.clone(),
                    r.bundle.clone(),
                    r.state.clone(),
                    r.public_ip.clone(),
                    r.static_ip.clone().unwrap_or_else(|| "-".into()),
                    if r.disks.is_empty() {
                        "-".to_string()
                    } else {
                        r.disks.join(", ")
                    },
                    r.auto_snapshot
                        .as_deref()
                        .map(|t| format!("daily at {t} UTC"))
                        .unwrap_or_else(|| "off".into()),
                ]);
            }
            m.table(t);
        }
        if self.options.create_snapshots {
            self.manifest_native(m, &results);
        }
        for (region, why) in &skipped {
            m.text(format!(
                "Note: {region}: Lightsail is not offered there ({why}); skipped."
            ));
        }
        for n in notes {
            m.text(format!("Note: {n}"));
        }
        report
    }
}
