//! Route53 health checks in a restore plan. A health check created again gets a new id from
//! Route53; restore creates it with a caller reference that names the snapshot's id
//! (`infrasnap-restore/<old id>/<time>`, as for zones: [`super::zone::caller_reference`]), so:
//! - the record sets that name the old `HealthCheckId` are written with the new one (the writer
//!   resolves it at apply, through the caller reference); a record set the plan would leave alone
//!   (unchanged live, still naming the old id) gets a step of its own ([`link_records`]);
//! - restore compares a record set naming a re-created health check as naming the one it came
//!   from ([`record_hash`]), so verification and the next plan see it restored.
//!
//! Pure: no SDK. The writer is `infrasnap-collectors` `restore/route53_health.rs`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::plan::{resource_hash, stage};
use super::zone::{restored_from, CALLER_PREFIX, RECORD_SET};
use super::{value_hash, Action, FieldValues, IdRef, RestoreError, Step, Subject};
use crate::catalog::{kinds, normalize, CatalogRecord};
use crate::diff::Side;
use crate::ids::ResourceId;

/// The kind of a health check.
pub const HEALTH_CHECK: &str = "aws.route53.health_check";

/// Members a health check created again gets anew: left out of restore's hash.
pub const IDENTITY: &[&str] = &["/HealthCheck/Id", "/HealthCheck/CallerReference"];

/// Whether `side` holds any health check (a cheap test: the catalog is sorted by kind first).
fn has_health_checks(side: &Side) -> bool {
    let r = &side.catalog.records;
    let i = r.partition_point(|x| x.id.kind.as_str() < HEALTH_CHECK);
    r.get(i).is_some_and(|x| x.id.kind == HEALTH_CHECK)
}

/// The health checks of `side` re-created by restore from an id `side` does not hold: new id →
/// the snapshot's id.
pub fn aliases(side: &Side) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if !has_health_checks(side) {
        return out;
    }
    for r in side
        .catalog
        .records
        .iter()
        .filter(|r| r.id.kind == HEALTH_CHECK)
    {
        let Ok(doc) = side.doc(r) else { continue };
        let Some(old) = doc
            .pointer("/HealthCheck/CallerReference")
            .and_then(Value::as_str)
            .and_then(restored_from)
        else {
            continue;
        };
        let old_id = ResourceId::new(HEALTH_CHECK, r.id.account.clone(), "", old);
        if side.catalog.get(&old_id).is_none() {
            out.insert(r.id.id.clone(), old.to_string());
        }
    }
    out
}

/// The restore hash of a record set that names a health check restore re-created, computed as
/// if it named the snapshot's health check; `None` for any other record (its digest serves).
pub fn record_hash(side: &Side, rec: &CatalogRecord) -> Result<Option<String>, RestoreError> {
    if rec.id.kind != RECORD_SET || !has_health_checks(side) {
        return Ok(None);
    }
    let mut doc = side.doc(rec)?;
    let Some(id) = doc.get("HealthCheckId").and_then(Value::as_str) else {
        return Ok(None);
    };
    let Some(old) = aliases(side).get(id).cloned() else {
        return Ok(None);
    };
    doc["HealthCheckId"] = Value::String(old);
    Ok(Some(value_hash(&normalize::canonical(
        kinds::spec(RECORD_SET),
        &doc,
    ))))
}

/// Record sets of the selection that name a health check the plan creates again: their step
/// gets an [`IdRef`] to it and a note; one the plan leaves alone (unchanged live, so naming the
/// old id) gets an update step, written with the new id. Returns how many steps it added (each
/// a record set that was counted unchanged).
pub fn link_records(
    steps: &mut Vec<Step>,
    snapshot: &Side,
    live: &Side,
    selected: &[&CatalogRecord],
) -> Result<u64, RestoreError> {
    let mut added = 0;
    let created: Vec<ResourceId> = steps
        .iter()
        .filter(|s| s.target.kind == HEALTH_CHECK && matches!(s.action, Action::Create { .. }))
        .map(|s| s.target.clone())
        .collect();
    if created.is_empty() {
        return Ok(0);
    }
    for rec in selected.iter().filter(|r| r.id.kind == RECORD_SET) {
        let doc = snapshot.doc(rec)?;
        let Some(hc) = doc.get("HealthCheckId").and_then(Value::as_str) else {
            continue;
        };
        let Some(hid) = created
            .iter()
            .find(|c| c.id == hc && c.account == rec.id.account)
        else {
            continue;
        };
        let r = IdRef {
            id: hid.clone(),
            name: format!("{CALLER_PREFIX}{hc}"),
            step: None,
        };
        let note = format!(
            "names health check {hc}, which this plan creates again under a new id: the record \
             set is written with the new id"
        );
        if let Some(s) = steps
            .iter_mut()
            .find(|s| s.source == rec.id && s.subject == Subject::Resource)
        {
            if s.writes() {
                s.refs.push(r);
                s.note.get_or_insert(note);
            }
            continue;
        }
        let Some(l) = live.catalog.get(&rec.id) else {
            continue;
        };
        steps.push(Step {
            n: 0,
            stage: stage(RECORD_SET, &Subject::Resource),
            source: rec.id.clone(),
            target: rec.id.clone(),
            subject: Subject::Resource,
            action: Action::Update {
                blob: Some(rec.blob),
                fields: vec![FieldValues {
                    field: "/HealthCheckId".into(),
                    live: Some(Value::String(hc.to_string())),
                    snapshot: Some(Value::String(format!("the new id of health check {hc}"))),
                }],
            },
            live: Some(resource_hash(live, l)?),
            want: Some(resource_hash(snapshot, rec)?),
            parts: BTreeMap::new(),
            refs: vec![r],
            note: Some(note),
            rewrites: Vec::new(),
            found_by_name: None,
            key_file: None,
        });
        added += 1;
    }
    Ok(added)
}
