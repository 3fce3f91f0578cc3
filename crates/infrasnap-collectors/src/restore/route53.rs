//! Route53 writer: record sets of an existing zone, one UPSERT (create, update) or DELETE
//! change per step, sent one at a time (Route53 refuses a change to a zone while another is
//! being applied, and allows 5 requests a second).

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

/// Write one record set step.
pub async fn write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    let zone = zone_of(&step.target.id).to_string();
    let c = client(cx);
    let (action, set) = match &step.action {
        Action::Delete => (ChangeAction::Delete, live_set(&c, &step.target.id).await?),
        _ => {
            let doc = cx.document(step)?;
            let r: RecordSet = serde_json::from_value(doc)
                .map_err(|e| WriteError::new(format!("the captured record set: {e}")))?;
            (ChangeAction::Upsert, Some(to_sdk(&r)?))
        }
    };
    let Some(set) = set else {
        return Ok(()); // already gone
    };
    let batch = ChangeBatch::builder()
        .comment("infrasnap restore")
        .changes(
            Change::builder()
                .action(action)
                .resource_record_set(set)
                .build()
                .map_err(|e| WriteError::new(e.to_string()))?,
        )
        .build()
        .map_err(|e| WriteError::new(e.to_string()))?;
    let _one = ONE_AT_A_TIME.lock().await;
    c.change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(batch)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("route53:ChangeResourceRecordSets on {zone}"), &e))?;
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
