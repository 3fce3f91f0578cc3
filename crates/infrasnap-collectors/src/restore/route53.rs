//! Route53 writer: record sets of an existing zone, an UPSERT (create, update) or DELETE change
//! per step, grouped into change batches within the service's limits ([`batches`]; the grouping
//! itself is `infrasnap_core::restore::batch`), one request at a time (Route53 refuses a change
//! to a zone while another is being applied, and allows 5 requests a second).

use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, GeoLocation, ResourceRecord, ResourceRecordSet,
    ResourceRecordSetFailover, ResourceRecordSetRegion, RrType,
};
use aws_sdk_route53::Client;
use infrasnap_core::restore::{Action, Step};
use tokio::sync::Mutex;

use super::{Context, WriteError};
use crate::aws::route53::model::RecordSet;

/// The kinds this writer restores.
pub const KINDS: &[&str] = &["aws.route53.record_set"];

/// One change at a time, across the apply.
static ONE_AT_A_TIME: std::sync::LazyLock<Mutex<()>> = std::sync::LazyLock::new(|| Mutex::new(()));

fn client(cx: &Context) -> Client {
    let conf = aws_sdk_route53::config::Builder::from(&cx.sdk)
        .region(aws_sdk_route53::config::Region::new("us-east-1"))
        .build();
    Client::from_conf(conf)
}

/// The SDK's record set for the captured one.
pub fn to_sdk(r: &RecordSet) -> Result<ResourceRecordSet, WriteError> {
    let bad = |e: aws_sdk_route53::error::BuildError| {
        WriteError::new(format!("record set {} {}: {e}", r.name, r.rr_type))
    };
    let mut b = ResourceRecordSet::builder()
        .name(&r.name)
        .r#type(RrType::from(r.rr_type.as_str()))
        .set_set_identifier(r.set_identifier.clone())
        .set_weight(r.weight)
        .set_region(r.region.as_deref().map(ResourceRecordSetRegion::from))
        .set_failover(r.failover.as_deref().map(ResourceRecordSetFailover::from))
        .set_multi_value_answer(r.multi_value_answer)
        .set_ttl(r.ttl)
        .set_health_check_id(r.health_check_id.clone())
        .set_traffic_policy_instance_id(r.traffic_policy_instance_id.clone());
    if let Some(g) = &r.geo_location {
        b = b.geo_location(
            GeoLocation::builder()
                .set_continent_code(g.continent_code.clone())
                .set_country_code(g.country_code.clone())
                .set_subdivision_code(g.subdivision_code.clone())
                .build(),
        );
    }
    for rr in r.resource_records.iter().flatten() {
        b = b.resource_records(
            ResourceRecord::builder()
                .value(&rr.value)
                .build()
                .map_err(bad)?,
        );
    }
    if let Some(a) = &r.alias_target {
        b = b.alias_target(
            AliasTarget::builder()
                .hosted_zone_id(&a.hosted_zone_id)
                .dns_name(&a.dns_name)
                .evaluate_target_health(a.evaluate_target_health)
                .build()
                .map_err(bad)?,
        );
    }
    b.build().map_err(bad)
}

/// The zone id of a record set id (`<zone id>/<name>/<type>[/<set identifier>]`).
fn zone_of(id: &str) -> &str {
    id.split('/').next().unwrap_or(id)
}

/// Whether `apply` sends this step in a change batch with others ([`batches`]).
pub fn batched(step: &Step) -> bool {
    step.target.kind == "aws.route53.record_set"
}

/// Record set steps grouped into `ChangeResourceRecordSets` requests, as
/// [`infrasnap_core::restore::batch::change_batches`] decides: per zone, within Route53's limits
/// (1,000 records, 32,000 characters of values, an UPSERT counting twice), changes to one name
/// together. A batch is atomic: its steps are done, or none is.
pub struct Batch<'a> {
    pub steps: Vec<&'a Step>,
    zone: String,
    /// The changes to send, or why they cannot be made.
    changes: Result<Vec<Change>, WriteError>,
}

/// Prepare the record set steps of a stage: each one's change (the snapshot's record set for an
/// UPSERT, the live one for a DELETE), then the batches.
pub async fn batches<'a>(cx: &Context, steps: Vec<&'a Step>) -> Vec<Batch<'a>> {
    use infrasnap_core::restore::batch::{change_batches, Limits, RecordChange};
    let c = client(cx);
    let mut ready: Vec<(&Step, Change, RecordChange)> = Vec::new();
    let mut out = Vec::new();
    for step in steps {
        let zone = zone_of(&step.target.id).to_string();
        match change_of(cx, &c, step).await {
            Ok(Some((kind, change))) => {
                let set = change.resource_record_set();
                let rc = RecordChange {
                    zone,
                    name: set.map(|s| s.name().to_string()).unwrap_or_default(),
                    kind,
                    records: set.map(|s| s.resource_records().len()).unwrap_or(0),
                    chars: set
                        .map(|s| s.resource_records().iter().map(|r| r.value().len()).sum())
                        .unwrap_or(0),
                };
                ready.push((step, change, rc));
            }
            // Already gone (a delete): nothing to send, the step is done.
            Ok(None) => out.push(Batch {
                steps: vec![step],
                zone,
                changes: Ok(Vec::new()),
            }),
            Err(e) => out.push(Batch {
                steps: vec![step],
                zone,
                changes: Err(e),
            }),
        }
    }
    let sizes: Vec<RecordChange> = ready.iter().map(|r| r.2.clone()).collect();
    for b in change_batches(&sizes, Limits::default()) {
        out.push(Batch {
            steps: b.changes.iter().map(|&i| ready[i].0).collect(),
            zone: b.zone,
            changes: Ok(b.changes.iter().map(|&i| ready[i].1.clone()).collect()),
        });
    }
    out
}

/// The change a step makes; `None`: a delete of a record set already gone.
async fn change_of(
    cx: &Context,
    c: &Client,
    step: &Step,
) -> Result<Option<(infrasnap_core::restore::batch::ChangeKind, Change)>, WriteError> {
    use infrasnap_core::restore::batch::ChangeKind;
    let (kind, action, set) = match &step.action {
        Action::Delete => (
            ChangeKind::Delete,
            ChangeAction::Delete,
            live_set(c, &step.target.id).await?,
        ),
        _ => {
            let doc = cx.document(step)?;
            let r: RecordSet = serde_json::from_value(doc)
                .map_err(|e| WriteError::new(format!("the captured record set: {e}")))?;
            (ChangeKind::Upsert, ChangeAction::Upsert, Some(to_sdk(&r)?))
        }
    };
    let Some(set) = set else {
        return Ok(None);
    };
    let change = Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
        .map_err(|e| WriteError::new(e.to_string()))?;
    Ok(Some((kind, change)))
}

/// Send one batch (one request; nothing for a batch without changes).
pub async fn send(cx: &Context, batch: &Batch<'_>) -> Result<(), WriteError> {
    let changes = match &batch.changes {
        Ok(c) if c.is_empty() => return Ok(()),
        Ok(c) => c.clone(),
        Err(e) => return Err(WriteError::new(e.message.clone())),
    };
    let zone = &batch.zone;
    let n = changes.len();
    let batch = ChangeBatch::builder()
        .comment("infrasnap restore")
        .set_changes(Some(changes))
        .build()
        .map_err(|e| WriteError::new(e.to_string()))?;
    let _one = ONE_AT_A_TIME.lock().await;
    client(cx)
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(batch)
        .send()
        .await
        .map_err(|e| {
            WriteError::sdk(
                &format!("route53:ChangeResourceRecordSets on {zone} ({n} changes, sent together)"),
                &e,
            )
        })?;
    Ok(())
}

/// Write one record set step (a batch of one).
pub async fn write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    for b in batches(cx, vec![step]).await {
        send(cx, &b).await?;
    }
    Ok(())
}

/// The live record set with this id, for a DELETE (which must name it exactly).
async fn live_set(c: &Client, id: &str) -> Result<Option<ResourceRecordSet>, WriteError> {
    let mut parts = id.splitn(4, '/');
    let (zone, name, ty, set) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next(),
    );
    let resp = c
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .start_record_name(name)
        .start_record_type(RrType::from(ty))
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("route53:ListResourceRecordSets on {zone}"), &e))?;
    Ok(resp
        .resource_record_sets()
        .iter()
        .find(|r| {
            r.name().eq_ignore_ascii_case(name)
                && r.r#type().as_str() == ty
                && r.set_identifier() == set
        })
        .cloned())
}
