//! Capturing Route53 (a global service): every hosted zone, public and private, with its
//! delegation set or VPCs, tags, DNSSEC status and query logging configuration; every record set,
//! paged; each zone as a BIND master file; every health check with its tags.
//!
//! Calls, each after the account's Route53 rate limiter (about 5 requests/s):
//! - ListHostedZones (paged), ListQueryLoggingConfigs (once for the account, paged, grouped by
//!   zone), ListTagsForResources (hostedzone, 10 ids a call);
//! - per zone, a few zones at once: GetHostedZone, GetDNSSEC (public zones), and
//!   ListResourceRecordSets paged by StartRecordName/Type/Identifier. A server that answers a
//!   page request with a cursor it was already asked for would repeat pages for ever: the listing
//!   stops there, keeps what it has, and records "the server repeated a page of records";
//! - ListHealthChecks (paged), ListTagsForResources (healthcheck, 10 ids a call).
//!
//! A failed call is recorded with its IAM action and resource, and the rest goes on.
//!
//! What is handed to the catalog (the core decides where it lands, docs/FORMAT.md section 11):
//! - `aws.route53.zone` `<account>::<zone id>`, labelled with the zone name: its document is
//!   `zone.json`; parts `records.json` and the BIND file `<zone name>.zone`;
//! - `aws.route53.record_set` `<account>::<zone id>/<name>/<type>[/<set identifier>]`: each record
//!   set as in `records.json`, a member kind with no file of its own (the zone's `records.json`
//!   shows them);
//! - `aws.route53.health_check` `<account>::<health check id>`: each health check with its tags,
//!   shown in the view `health_checks.json`.
//!
//! Coverage: ListHostedZones covers the zones; the record listings of every zone cover the record
//! sets (one that stops early fails it, and marks its zone incomplete); ListHealthChecks covers
//! the health checks. All account-wide (region "").

use infrasnap_core::manifest::Table;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use aws_sdk_route53::types::{RrType, TagResourceType};
use aws_sdk_route53::Client;
use futures::{stream, StreamExt};
use infrasnap_core::catalog;
use infrasnap_core::engine::{Collector, CollectorReport, ErrorSink, RunContext, Tally};
use infrasnap_core::ids::ResourceId;
use infrasnap_core::metadata::RecordedError;
use infrasnap_core::progress::CollectorProgress;
use infrasnap_core::store::Stored;

use super::bind::{self, ZoneInfo};
use super::model::{
    bare_id, record_order, tags_from_sdk, DelegationSet, Dnssec, HealthCheck, HealthCheckEntry,
    HostedZone, PartError, QueryLoggingConfig, RecordSet, RecordsFile, Tag, Vpc, ZoneFile,
};
use super::Route53Collector;
use crate::aws::kit::{listing, marker_if, sdk_pages, Run, Service};
use crate::aws::sdk_error::{describe, ApiFailure};

const ERR: Service = Service("route53");

/// Zones worked on at once (the rate limiter is the real bound).
const ZONE_CONCURRENCY: usize = 4;
/// ListTagsForResources takes at most 10 ids.
const TAG_BATCH: usize = 10;
/// The kinds this collector hands to the catalog (catalog/kinds.rs).
pub const ZONE: &str = "aws.route53.zone";
pub const RECORD_SET: &str = "aws.route53.record_set";
pub const HEALTH_CHECK: &str = "aws.route53.health_check";
/// GetDNSSEC answers that mean "DNSSEC does not apply to this zone", not a failure.
const DNSSEC_ABSENT: &[&str] = &["InvalidArgument", "InvalidInput", "DNSSECNotFound"];
/// The message recorded when a server repeats a page of records.
pub const REPEATED_PAGE: &str = "the server repeated a page of records";

fn part_err(e: &RecordedError) -> PartError {
    PartError {
        action: e.action.clone(),
        code: e.code.clone(),
        message: e.message.clone(),
    }
}

/// What one zone contributes to the report.
struct ZoneOutcome {
    /// The zone name (its label in the catalog).
    label: String,
    id: String,
    private: bool,
    records: u64,
    dnssec: String,
    errors: usize,
    tally: Tally,
}

/// Account-wide facts about the zones, read before the zones themselves.
struct Shared {
    tags: HashMap<String, Result<Vec<Tag>, PartError>>,
    query_logging: Result<HashMap<String, Vec<QueryLoggingConfig>>, PartError>,
}

/// The readable name of a zone, its catalog label (and so part of its folder name): the zone name
/// without its final dot, lower-case, Route53's `\NNN` escapes decoded. The catalog escapes what
/// a path cannot hold; the zone id beside it keeps two zones of one name apart.
pub fn zone_label(zone_name: &str) -> String {
    bind::parse_name(zone_name)
        .iter()
        .map(|l| String::from_utf8_lossy(&l.to_ascii_lowercase()).into_owned())
        .collect::<Vec<_>>()
        .join(".")
}

/// The part name of a zone's BIND file: `<zone name>.zone`. A `/` in the name (Route53's `\057`)
/// stays written that way, so the part is one file, not a folder.
pub fn zone_file_part(label: &str) -> String {
    format!("{}.zone", label.replace('/', "\\057"))
}

/// The catalog id of a record set within its account: `<zone id>/<name>/<type>[/<set
/// identifier>]`, the name as Route53 gives it (final dot and `\NNN` escapes kept, lower-case).
pub fn record_set_id(zone_id: &str, r: &RecordSet) -> String {
    let (name, ty, set) = r.identity();
    match set {
        Some(set) => format!("{zone_id}/{name}/{ty}/{set}"),
        None => format!("{zone_id}/{name}/{ty}"),
    }
}

impl Route53Collector {
    fn client(&self) -> Client {
        let region = if self.scope.home_region.is_empty() {
            "us-east-1"
        } else {
            self.scope.home_region.as_str()
        };
        Client::new(&self.scope.in_region(region))
    }

    async fn limit(&self) {
        self.limits.route53.acquire().await;
    }

    fn account(&self) -> &str {
        &self.scope.account_id
    }

    /// Count what a catalog call stored, or record why it could not.
    fn stored(
        &self,
        r: infrasnap_core::error::Result<Stored>,
        what: &ResourceId,
        tally: &mut Tally,
        errors: &ErrorSink,
    ) {
        match r {
            Ok(st) => tally.add(&st),
            Err(e) => errors.record(write_err(&what.to_string(), e)),
        }
    }

    pub(super) async fn run_inner(self: Arc<Self>, cx: Arc<RunContext>) -> CollectorReport {
        let run = Run::start(&cx, &self.key());
        let (progress, errors) = (run.progress.clone(), run.errors.clone());
        let client = self.client();
        let mut report = CollectorReport::default();
        let mut tally = Tally::default();

        let account = self.account().to_string();
        let zones = match self.list_zones(&client).await {
            (z, None) => {
                cx.cover(ZONE, &account, "", None);
                // Each zone's record listing reports its own failure (a failure wins).
                cx.cover(RECORD_SET, &account, "", None);
                Some(z)
            }
            (z, Some(f)) => {
                let re = ERR.api("route53:ListHostedZones", "*", &f);
                // The record sets of zones not listed are not listed either.
                cx.cover(ZONE, &account, "", Some(&re));
                cx.cover(RECORD_SET, &account, "", Some(&re));
                errors.record(re);
                // A listing that failed at once lists nothing; one that failed later, some.
                (!z.is_empty()).then_some(z)
            }
        };
        let mut outcomes: Vec<ZoneOutcome> = Vec::new();
        if let Some(zones) = &zones {
            progress.add(&progress.units_total, zones.len() as u64);
            let shared = Arc::new(Shared {
                tags: self.zone_tags(&client, zones, &errors).await,
                query_logging: if zones.is_empty() {
                    Ok(HashMap::new())
                } else {
                    self.query_logging(&client, &errors).await
                },
            });
            outcomes = stream::iter(zones.iter().cloned())
                .map(|zone| {
                    let me = self.clone();
                    let cx = cx.clone();
                    let client = client.clone();
                    let shared = shared.clone();
                    let errors = errors.clone();
                    let progress = progress.clone();
                    async move {
                        let r = me
                            .zone(&cx, &client, zone, &shared, &errors, &progress)
                            .await;
                        progress.add(&progress.units_done, 1);
                        r
                    }
                })
                .buffer_unordered(ZONE_CONCURRENCY)
                .filter_map(|r| async move { r })
                .collect()
                .await;
            outcomes.sort_by(|a, b| (&a.label, &a.id).cmp(&(&b.label, &b.id)));
        }
        let health_checks = self.health_checks(&cx, &client, &errors, &mut tally).await;

        for o in &outcomes {
            tally.merge(o.tally);
        }
        let records: u64 = outcomes.iter().map(|o| o.records).sum();
        let s = &mut report.summary;
        s.counts.insert("zones".into(), outcomes.len() as u64);
        s.counts.insert("records".into(), records);
        s.counts
            .insert("health_checks".into(), health_checks.unwrap_or(0) as u64);
        tally.add_to(s);
        run.finish(
            s,
            !errors.is_empty() && zones.is_none() && health_checks.is_none(),
        );

        let mut t = Table::new(&["Zone", "Id", "Visibility", "Records", "DNSSEC", "Errors"]);
        for o in &outcomes {
            t.row(vec![
                o.label.to_string(),
                o.id.to_string(),
                if o.private { "private" } else { "public" }.into(),
                o.records.to_string(),
                o.dnssec.to_string(),
                o.errors.to_string(),
            ]);
        }
        report.manifest.table(t);
        let view = catalog::view_path(&ResourceId::new(HEALTH_CHECK, &account, "", "-"));
        report.manifest.text(match (health_checks, view) {
            (Some(n), Some(view)) if n > 0 => format!("Health checks: {n} (`{view}`)."),
            (Some(_), _) => "Health checks: none.".into(),
            (None, _) => "Health checks: could not be listed.".into(),
        });
        report
    }

    /// Every hosted zone, in a stable order; when the listing stops early, what it had and why.
    async fn list_zones(&self, client: &Client) -> (Vec<HostedZone>, Option<ApiFailure>) {
        let l = listing("Route53 zones", &self.limits.route53, |m| {
            let sent = client.list_hosted_zones().set_marker(m).send();
            async move {
                let r = sent.await.map_err(|e| describe(&e))?;
                let zones = r.hosted_zones().iter().map(HostedZone::from_sdk).collect();
                Ok((zones, marker_if(r.is_truncated, r.next_marker)))
            }
        })
        .await;
        let (mut out, failure) = (l.items, l.failure);
        // One entry per zone, in a stable order.
        let mut seen = HashSet::new();
        out.retain(|z| seen.insert(z.id.clone()));
        out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        (out, failure)
    }

    /// Tags of the given resources, 10 ids a call. A failed call leaves its ids with the error.
    async fn tags_for(
        &self,
        client: &Client,
        kind: TagResourceType,
        ids: &[String],
        errors: &ErrorSink,
    ) -> HashMap<String, Result<Vec<Tag>, PartError>> {
        let mut out = HashMap::new();
        for batch in ids.chunks(TAG_BATCH) {
            self.limit().await;
            match client
                .list_tags_for_resources()
                .resource_type(kind.clone())
                .set_resource_ids(Some(batch.to_vec()))
                .send()
                .await
            {
                Ok(resp) => {
                    for set in resp.resource_tag_sets() {
                        if let Some(id) = set.resource_id() {
                            out.insert(bare_id(id).to_string(), Ok(tags_from_sdk(set.tags())));
                        }
                    }
                    // An id the answer left out has no tags.
                    for id in batch {
                        out.entry(id.clone()).or_insert_with(|| Ok(Vec::new()));
                    }
                }
                Err(e) => {
                    let re = ERR.api(
                        "route53:ListTagsForResources",
                        &format!("{}/{}", kind.as_str(), batch.join(",")),
                        &describe(&e),
                    );
                    for id in batch {
                        out.insert(id.clone(), Err(part_err(&re)));
                    }
                    errors.record(re);
                }
            }
        }
        out
    }

    async fn zone_tags(
        &self,
        client: &Client,
        zones: &[HostedZone],
        errors: &ErrorSink,
    ) -> HashMap<String, Result<Vec<Tag>, PartError>> {
        let ids: Vec<String> = zones.iter().map(|z| z.bare_id().to_string()).collect();
        self.tags_for(client, TagResourceType::Hostedzone, &ids, errors)
            .await
    }

    /// Every query logging configuration of the account, by bare zone id: one paged listing
    /// instead of a call per zone.
    async fn query_logging(
        &self,
        client: &Client,
        errors: &ErrorSink,
    ) -> Result<HashMap<String, Vec<QueryLoggingConfig>>, PartError> {
        let listed = sdk_pages!(
            &self.limits.route53,
            "Route53 query logging configs",
            |t| client.list_query_logging_configs().set_next_token(t),
            |r| (r.query_logging_configs, r.next_token)
        )
        .await;
        let configs = match listed {
            Ok(c) => c,
            Err(f) => {
                let re = ERR.api("route53:ListQueryLoggingConfigs", "*", &f);
                let pe = part_err(&re);
                errors.record(re);
                return Err(pe);
            }
        };
        let mut out: HashMap<String, Vec<QueryLoggingConfig>> = HashMap::new();
        for q in &configs {
            let q = QueryLoggingConfig::from_sdk(q);
            out.entry(bare_id(&q.hosted_zone_id).to_string())
                .or_default()
                .push(q);
        }
        for v in out.values_mut() {
            v.sort();
            v.dedup();
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    async fn zone(
        &self,
        cx: &RunContext,
        client: &Client,
        listed: HostedZone,
        shared: &Shared,
        errors: &ErrorSink,
        progress: &CollectorProgress,
    ) -> Option<ZoneOutcome> {
        let id = listed.bare_id().to_string();
        let mut part_errors: Vec<PartError> = Vec::new();
        let fail = |re: RecordedError, parts: &mut Vec<PartError>| {
            parts.push(part_err(&re));
            progress.add(&progress.errors, 1);
            errors.record(re);
        };

        // GetHostedZone: the delegation set (public) or the VPCs (private).
        self.limit().await;
        let (hosted_zone, delegation_set, vpcs) =
            match client.get_hosted_zone().id(&listed.id).send().await {
                Ok(r) => {
                    let hz = r.hosted_zone().map(HostedZone::from_sdk).unwrap_or(listed);
                    let ds = r.delegation_set().map(DelegationSet::from_sdk);
                    let mut vpcs: Vec<Vpc> = r.vpcs().iter().map(Vpc::from_sdk).collect();
                    vpcs.sort();
                    // A private zone's VPC list is part of what it is: written even when empty.
                    let vpcs = (hz.is_private() || !vpcs.is_empty()).then_some(vpcs);
                    (hz, ds, vpcs)
                }
                Err(e) => {
                    let f = describe(&e);
                    if f.code_in(&["NoSuchHostedZone"]) {
                        // Deleted since it was listed: nothing to capture.
                        return None;
                    }
                    fail(ERR.api("route53:GetHostedZone", &id, &f), &mut part_errors);
                    (listed, None, None)
                }
            };
        let private = hosted_zone.is_private();

        // DNSSEC: public zones only (Route53 cannot sign a private zone).
        let mut dnssec_cell = "-".to_string();
        let dnssec = if private {
            None
        } else {
            self.limit().await;
            match client.get_dnssec().hosted_zone_id(&id).send().await {
                Ok(r) => {
                    let d = Dnssec::from_sdk(r.status(), r.key_signing_keys());
                    dnssec_cell = d.serve_signature().to_string();
                    Some(d)
                }
                Err(e) => {
                    let f = describe(&e);
                    if f.code_in(DNSSEC_ABSENT) {
                        tracing::debug!("route53 zone {id}: no DNSSEC ({f})");
                        dnssec_cell = "n/a".into();
                    } else {
                        dnssec_cell = "?".into();
                        fail(ERR.api("route53:GetDNSSEC", &id, &f), &mut part_errors);
                    }
                    None
                }
            }
        };

        // Record sets.
        let (mut records, listing_error) =
            self.records(client, &hosted_zone.id, &id, progress).await;
        records.sort_by(record_order);
        let incomplete = listing_error.is_some();
        let account = self.account();
        match listing_error {
            Some(re) => {
                cx.cover(RECORD_SET, account, "", Some(&re));
                fail(re, &mut part_errors);
            }
            None => cx.cover(RECORD_SET, account, "", None),
        }

        let tags = match shared.tags.get(&id) {
            Some(Ok(t)) => Some(t.clone()),
            Some(Err(pe)) => {
                part_errors.push(pe.clone());
                None
            }
            None => Some(Vec::new()),
        };
        let query_logging_configs = match &shared.query_logging {
            Ok(m) => Some(m.get(&id).cloned().unwrap_or_default()),
            Err(pe) => {
                part_errors.push(pe.clone());
                None
            }
        };

        let mut tally = Tally::default();
        let name_servers = delegation_set
            .as_ref()
            .map(|d| d.name_servers.clone())
            .unwrap_or_default();
        let zone_text = bind::render(
            &ZoneInfo {
                name: &hosted_zone.name,
                id: &id,
                private,
                name_servers: &name_servers,
                incomplete,
            },
            &records,
        );
        let n_records = records.len() as u64;
        let errors_here = part_errors.len();
        let zone_file = ZoneFile {
            hosted_zone: hosted_zone.clone(),
            delegation_set,
            vpcs,
            tags,
            dnssec,
            query_logging_configs,
            errors: part_errors,
        };
        let label = zone_label(&hosted_zone.name);
        let zid = ResourceId::new(ZONE, account, "", id.as_str());
        let lbl = Some(label.as_str());
        let doc = serde_json::to_value(&zone_file).expect("serialisable");
        self.stored(cx.put_resource(&zid, lbl, &doc), &zid, &mut tally, errors);
        // Whatever part could not be read (records, tags, DNSSEC, ...): not comparable as a whole.
        if incomplete || !zone_file.errors.is_empty() {
            cx.mark_incomplete(&zid);
        }
        // Each record set is its own resource, so that a diff compares them one by one.
        for r in &records {
            let rid = ResourceId::new(RECORD_SET, account, "", record_set_id(&id, r));
            let doc = serde_json::to_value(r).expect("serialisable");
            self.stored(cx.put_resource(&rid, None, &doc), &rid, &mut tally, errors);
        }
        let records_file = RecordsFile {
            hosted_zone_id: hosted_zone.id.clone(),
            resource_record_sets: records,
            is_truncated: incomplete,
        };
        self.stored(
            cx.put_part_json(&zid, lbl, "records.json", &records_file),
            &zid,
            &mut tally,
            errors,
        );
        self.stored(
            cx.put_part(&zid, lbl, &zone_file_part(&label), zone_text.as_bytes()),
            &zid,
            &mut tally,
            errors,
        );
        Some(ZoneOutcome {
            label,
            id,
            private,
            records: n_records,
            dnssec: dnssec_cell,
            errors: errors_here,
            tally,
        })
    }

    /// Every record set of a zone, de-duplicated by (name, type, set identifier). Returns what
    /// it could read and, when the listing stopped early, why.
    async fn records(
        &self,
        client: &Client,
        zone_id: &str,
        bare: &str,
        progress: &CollectorProgress,
    ) -> (Vec<RecordSet>, Option<RecordedError>) {
        type Cursor = Option<(String, String, Option<String>)>;
        let action = "route53:ListResourceRecordSets";
        let mut out: Vec<RecordSet> = Vec::new();
        let mut seen = HashSet::new();
        let mut asked: HashSet<Cursor> = HashSet::new();
        let mut start: Option<(String, RrType, Option<String>)> = None;
        asked.insert(None);
        loop {
            self.limit().await;
            let mut req = client.list_resource_record_sets().hosted_zone_id(zone_id);
            if let Some((name, ty, ident)) = &start {
                req = req
                    .start_record_name(name)
                    .start_record_type(ty.clone())
                    .set_start_record_identifier(ident.clone());
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => return (out, Some(ERR.api(action, bare, &describe(&e)))),
            };
            let mut new = 0u64;
            for r in resp.resource_record_sets() {
                let rs = RecordSet::from_sdk(r);
                if seen.insert(rs.identity()) {
                    out.push(rs);
                    new += 1;
                }
            }
            progress.add(&progress.items, new);
            if !resp.is_truncated() {
                return (out, None);
            }
            let (Some(name), Some(ty)) = (resp.next_record_name(), resp.next_record_type()) else {
                let f = ApiFailure::message(format!(
                    "the listing is truncated but names no next record; {} record sets captured",
                    out.len()
                ));
                return (out, Some(ERR.api(action, bare, &f)));
            };
            let ident = resp.next_record_identifier().map(str::to_string);
            let cursor: Cursor = Some((name.to_string(), ty.as_str().to_string(), ident.clone()));
            if new == 0 || !asked.insert(cursor) {
                let f = ApiFailure::message(format!(
                        "{REPEATED_PAGE} (next record {name} {}{}); listing stopped with {} record sets",
                        ty.as_str(),
                        ident.as_deref().map(|i| format!(" {i}")).unwrap_or_default(),
                        out.len()
                    ));
                return (out, Some(ERR.api(action, bare, &f)));
            }
            start = Some((name.to_string(), ty.clone(), ident));
        }
    }

    /// Every health check with its tags, each its own resource (shown in the view
    /// `health_checks.json`). Returns how many, or None when they could not be listed at all.
    async fn health_checks(
        &self,
        cx: &RunContext,
        client: &Client,
        errors: &ErrorSink,
        tally: &mut Tally,
    ) -> Option<usize> {
        let account = self.account();
        let l = listing("Route53 health checks", &self.limits.route53, |m| {
            let sent = client.list_health_checks().set_marker(m).send();
            async move {
                let r = sent.await.map_err(|e| describe(&e))?;
                let checks = r
                    .health_checks()
                    .iter()
                    .map(HealthCheck::from_sdk)
                    .collect();
                Ok((checks, marker_if(r.is_truncated, r.next_marker)))
            }
        })
        .await;
        let failure = l
            .failure
            .map(|f| ERR.api("route53:ListHealthChecks", "*", &f));
        cx.cover(HEALTH_CHECK, account, "", failure.as_ref());
        if let Some(re) = failure {
            errors.record(re);
            if l.pages == 0 {
                // Nothing listed at all.
                return None;
            }
        }
        let checks: BTreeMap<String, HealthCheck> =
            l.items.into_iter().map(|h| (h.id.clone(), h)).collect();
        let ids: Vec<String> = checks.keys().cloned().collect();
        let mut tags = self
            .tags_for(client, TagResourceType::Healthcheck, &ids, errors)
            .await;
        let n = checks.len();
        for h in checks.into_values() {
            let (tags, part_errors) = match tags.remove(&h.id) {
                Some(Ok(t)) => (Some(t), Vec::new()),
                Some(Err(pe)) => (None, vec![pe]),
                None => (Some(Vec::new()), Vec::new()),
            };
            let id = ResourceId::new(HEALTH_CHECK, account, "", h.id.as_str());
            let incomplete = !part_errors.is_empty();
            let entry = HealthCheckEntry {
                health_check: h,
                tags,
                errors: part_errors,
            };
            let doc = serde_json::to_value(&entry).expect("serialisable");
            self.stored(cx.put_resource(&id, None, &doc), &id, tally, errors);
            if incomplete {
                cx.mark_incomplete(&id);
            }
        }
        Some(n)
    }
}

/// A listing whose next cursor was already asked for: following it would loop.
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

    fn record(name: &str, ty: &str, set: Option<&str>) -> RecordSet {
        RecordSet {
            name: name.into(),
            rr_type: ty.into(),
            set_identifier: set.map(str::to_string),
            weight: None,
            region: None,
            geo_location: None,
            failover: None,
            multi_value_answer: None,
            ttl: None,
            resource_records: None,
            alias_target: None,
            health_check_id: None,
            traffic_policy_instance_id: None,
            cidr_routing_config: None,
            geo_proximity_location: None,
        }
    }

    #[test]
    fn zone_labels_are_the_lower_case_name_without_the_final_dot() {
        for (name, label) in [
            ("example.com.", "example.com"),
            ("Other.ORG", "other.org"),
            ("\\052odd name.net.", "*odd name.net"),
        ] {
            assert_eq!(zone_label(name), label, "{name}");
        }
        assert_eq!(zone_file_part("example.com"), "example.com.zone");
        assert_eq!(zone_file_part("a/b.example"), "a\\057b.example.zone");
    }

    #[test]
    fn record_set_ids_are_zone_name_type_and_set_identifier() {
        assert_eq!(
            record_set_id("Z1", &record("WWW.example.com.", "A", None)),
            "Z1/www.example.com./A"
        );
        assert_eq!(
            record_set_id("Z1", &record("api.example.com.", "A", Some("blue/1"))),
            "Z1/api.example.com./A/blue/1"
        );
        let id = ResourceId::new(RECORD_SET, "1", "", "Z1/\\052.example.com./A");
        assert!(catalog::check_id(&id).is_ok());
    }
}
