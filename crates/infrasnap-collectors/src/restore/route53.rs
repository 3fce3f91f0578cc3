//! Route53 writer: record sets of an existing zone, an UPSERT (create, update) or DELETE change
//! per step, grouped into change batches within the service's limits ([`batches`]; the grouping
//! itself is `infrasnap_core::restore::batch`), one request at a time (Route53 refuses a change
//! to a zone while another is being applied, and allows 5 requests a second).
//!
//! Hosted zones ([`zone_write`]): a deleted zone is created again under a new id, with a caller
//! reference that names the snapshot's zone id (`infrasnap_core::restore::zone`), so the record
//! steps, which carry the snapshot's zone id, find it ([`live_zone`]).

use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, GeoLocation, ResourceRecord, ResourceRecordSet,
    ResourceRecordSetFailover, ResourceRecordSetRegion, RrType,
};
use aws_sdk_route53::Client;
use infrasnap_core::restore::{Action, Step};
use tokio::sync::Mutex;

use super::{Context, WriteError};
use crate::aws::route53::model::{bare_id, RecordSet, ZoneFile};
use infrasnap_core::restore::zone;

/// The kinds this writer restores.
pub const KINDS: &[&str] = &["aws.route53.record_set", "aws.route53.zone"];

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

/// Write one Route53 step: a zone, or a record set (a batch of one; `apply` batches them).
pub async fn write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    if step.target.kind == zone::ZONE {
        return zone_write(cx, step).await;
    }
    for b in batches(cx, vec![step]).await {
        send(cx, &b).await?;
    }
    Ok(())
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
    // The snapshot's zone id → the live zone (itself, or the one restore re-created from it).
    let mut zones: std::collections::HashMap<String, Result<String, String>> =
        std::collections::HashMap::new();
    for step in steps {
        let old = zone::zone_of(&step.target.id).to_string();
        if !zones.contains_key(&old) {
            let z = match live_zone(&c, &old).await {
                Ok(Some(id)) => Ok(id),
                Ok(None) => Err(format!(
                    "hosted zone {old} does not exist: restore the zone too (--kind \
                     aws.route53.zone)"
                )),
                Err(e) => Err(e.message),
            };
            zones.insert(old.clone(), z);
        }
        let zone = match &zones[&old] {
            Ok(id) => id.clone(),
            Err(e) => {
                out.push(Batch {
                    steps: vec![step],
                    zone: old,
                    changes: Err(WriteError::new(e.clone())),
                });
                continue;
            }
        };
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
            let mut r: RecordSet = serde_json::from_value(doc)
                .map_err(|e| WriteError::new(format!("the captured record set: {e}")))?;
            // A health check restore made again has a new id: name that one.
            if let Some(old) = r.health_check_id.clone() {
                r.health_check_id = Some(
                    super::route53_health::live_id(c, &old)
                        .await?
                        .unwrap_or(old),
                );
            }
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

/// Whether a Route53 error is `NoSuchHostedZone`.
fn no_such_zone<E: aws_sdk_route53::error::ProvideErrorMetadata>(
    e: &aws_sdk_route53::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    e.as_service_error().and_then(|s| s.code()) == Some("NoSuchHostedZone")
}

/// The live zone that stands for the snapshot's zone `old`: itself when it exists, else the
/// newest zone restore re-created from it (its caller reference names `old`), else `None`.
pub async fn live_zone(c: &Client, old: &str) -> Result<Option<String>, WriteError> {
    match c.get_hosted_zone().id(old).send().await {
        Ok(_) => return Ok(Some(old.to_string())),
        Err(e) if no_such_zone(&e) => {}
        Err(e) => return Err(WriteError::sdk(&format!("route53:GetHostedZone {old}"), &e)),
    }
    let mut found: Option<(String, String)> = None;
    let mut marker = None;
    loop {
        let r = c
            .list_hosted_zones()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| WriteError::sdk("route53:ListHostedZones", &e))?;
        for z in r.hosted_zones() {
            if zone::restored_from(z.caller_reference()) == Some(old)
                && found
                    .as_ref()
                    .is_none_or(|(_, cr)| z.caller_reference() > cr.as_str())
            {
                found = Some((
                    bare_id(z.id()).to_string(),
                    z.caller_reference().to_string(),
                ));
            }
        }
        match (r.is_truncated, r.next_marker) {
            (true, Some(m)) => marker = Some(m),
            _ => break,
        }
    }
    Ok(found.map(|(id, _)| id))
}

/// Write one hosted zone step: create the zone again (a new id, caller reference
/// `infrasnap-restore/<old id>/<time>`, its comment, privacy and VPCs, its reusable delegation
/// set, its tags), or put back the comment, tags and VPC associations of a live one, or delete
/// it (`--delete-extra`; Route53 refuses while it holds records of its own).
pub async fn zone_write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    use aws_sdk_route53::types::{
        HostedZoneConfig, Tag as SdkTag, TagResourceType, Vpc as SdkVpc, VpcRegion,
    };
    let old = step.target.id.as_str();
    let c = client(cx);
    let call = |op: &str| format!("route53:{op} {old}");
    if matches!(step.action, Action::Delete) {
        c.delete_hosted_zone()
            .id(old)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("DeleteHostedZone"), &e))?;
        return Ok(());
    }
    let doc: ZoneFile = serde_json::from_value(cx.document(step)?)
        .map_err(|e| WriteError::new(format!("the captured zone {old}: {e}")))?;
    let vpc = |v: &crate::aws::route53::model::Vpc| {
        SdkVpc::builder()
            .set_vpc_id(v.vpc_id.clone())
            .set_vpc_region(v.vpc_region.as_deref().map(VpcRegion::from))
            .build()
    };
    let vpcs = doc.vpcs.clone().unwrap_or_default();
    let (id, created) = match live_zone(&c, old).await? {
        Some(id) => (id, false),
        None => {
            let nonce = chrono::Utc::now().format("%Y%m%dT%H%M%S%.9fZ").to_string();
            let private = doc.hosted_zone.is_private();
            let r = c
                .create_hosted_zone()
                .name(&doc.hosted_zone.name)
                .caller_reference(zone::caller_reference(old, &nonce))
                .hosted_zone_config(
                    HostedZoneConfig::builder()
                        .set_comment(
                            doc.hosted_zone
                                .config
                                .as_ref()
                                .and_then(|c| c.comment.clone()),
                        )
                        .private_zone(private)
                        .build(),
                )
                .set_vpc(vpcs.first().filter(|_| private).map(vpc))
                .set_delegation_set_id(doc.delegation_set.as_ref().and_then(|d| d.id.clone()))
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("CreateHostedZone"), &e))?;
            let id = r
                .hosted_zone()
                .map(|z| bare_id(z.id()).to_string())
                .ok_or_else(|| {
                    WriteError::new(format!("CreateHostedZone for {old} returned no zone"))
                })?;
            (id, true)
        }
    };
    if !created {
        c.update_hosted_zone_comment()
            .id(&id)
            .set_comment(
                doc.hosted_zone
                    .config
                    .as_ref()
                    .and_then(|c| c.comment.clone()),
            )
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("UpdateHostedZoneComment"), &e))?;
    }
    // Private zones: every VPC of the snapshot associated.
    if doc.hosted_zone.is_private() {
        let live = c
            .get_hosted_zone()
            .id(&id)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("GetHostedZone"), &e))?;
        let have: Vec<Option<String>> = live
            .vpcs()
            .iter()
            .map(|v| v.vpc_id().map(str::to_string))
            .collect();
        for v in vpcs.iter().filter(|v| !have.contains(&v.vpc_id)) {
            c.associate_vpc_with_hosted_zone()
                .hosted_zone_id(&id)
                .vpc(vpc(v))
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("AssociateVPCWithHostedZone"), &e))?;
        }
    }
    // Tags: exactly the snapshot's.
    let want = doc.tags.clone().unwrap_or_default();
    let live = c
        .list_tags_for_resource()
        .resource_type(TagResourceType::Hostedzone)
        .resource_id(&id)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&call("ListTagsForResource"), &e))?;
    let extra: Vec<String> = live
        .resource_tag_set()
        .map(|s| s.tags())
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t.key())
        .filter(|k| !want.iter().any(|w| w.key == *k))
        .map(str::to_string)
        .collect();
    if !want.is_empty() || !extra.is_empty() {
        c.change_tags_for_resource()
            .resource_type(TagResourceType::Hostedzone)
            .resource_id(&id)
            .set_add_tags((!want.is_empty()).then(|| {
                want.iter()
                    .map(|t| {
                        SdkTag::builder()
                            .key(&t.key)
                            .set_value(t.value.clone())
                            .build()
                    })
                    .collect()
            }))
            .set_remove_tag_keys((!extra.is_empty()).then_some(extra))
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("ChangeTagsForResource"), &e))?;
    }
    Ok(())
}
