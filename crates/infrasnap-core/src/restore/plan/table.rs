//! A DynamoDB table as restore compares it: what restore can put back in place (billing mode,
//! provisioned throughput of the table and its global secondary indexes, the stream, TTL,
//! point-in-time recovery, tags, Application Auto Scaling targets and policies), what DynamoDB
//! cannot change in place (key schema, local secondary indexes, a global secondary index's keys
//! and projection), and what is left to people (global table replicas, other members).
//!
//! Pure: the plan computes the fields of a table's update here, and the writer executes them by
//! field ([`BILLING_MODE`], [`THROUGHPUT`], ...). The state is independent of the table's name,
//! so a table restored under another name (`--to-table`) compares with the one it came from.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::restore::{value_hash, FieldValues};

/// Update fields, one per setting the writer puts back (JSON pointers into [`state`]).
pub const BILLING_MODE: &str = "/BillingMode";
pub const THROUGHPUT: &str = "/ProvisionedThroughput";
/// `/GlobalSecondaryIndexes/<index>/ProvisionedThroughput`.
pub const GSI_PREFIX: &str = "/GlobalSecondaryIndexes/";
pub const STREAM: &str = "/StreamSpecification";
pub const TTL: &str = "/TimeToLive";
pub const PITR: &str = "/PointInTimeRecovery";
pub const TAGS: &str = "/Tags";
/// `/AutoScaling/<key>`, the key of one scalable target ([`scaling_key`]).
pub const SCALING_PREFIX: &str = "/AutoScaling/";

/// Members of a table document that name or stamp one table, never compared.
const IDENTITY: &[&str] = &[
    "TableName",
    "TableArn",
    "TableId",
    "CreationDateTime",
    "IndexArn",
    "LatestStreamArn",
    "LatestStreamLabel",
    "RestoreSummary",
    "LastUpdateToPayPerRequestDateTime",
    "Unreadable",
];

/// Top-level members [`state`] covers, or that are left to people on purpose (replicas).
const COVERED: &[&str] = &[
    "AttributeDefinitions",
    "KeySchema",
    "LocalSecondaryIndexes",
    "GlobalSecondaryIndexes",
    "BillingModeSummary",
    "ProvisionedThroughput",
    "StreamSpecification",
    "TimeToLive",
    "ContinuousBackups",
    "Tags",
    "AutoScaling",
    "Replicas",
    "GlobalTableVersion",
];

/// The key of a scalable target: its dimension, and `@index` for an index
/// (`dynamodb:index:ReadCapacityUnits@by-date`). None for a resource id of no table.
pub fn scaling_key(resource_id: &str, dimension: &str) -> Option<String> {
    let rest = resource_id.strip_prefix("table/")?;
    Some(match rest.split_once("/index/") {
        Some((_, index)) => format!("{dimension}@{index}"),
        None => dimension.to_string(),
    })
}

/// The resource id and dimension of a scalable target key, for the table `table`.
pub fn scaling_target(table: &str, key: &str) -> (String, String) {
    match key.split_once('@') {
        Some((dim, index)) => (format!("table/{table}/index/{index}"), dim.to_string()),
        None => (format!("table/{table}"), key.to_string()),
    }
}

fn key_schema(v: &Value, types: &BTreeMap<String, String>) -> Value {
    let mut out: Vec<(bool, String)> = v
        .get("KeySchema")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|k| {
            let name = k.get("AttributeName")?.as_str()?;
            let kt = k.get("KeyType")?.as_str()?;
            let ty = types.get(name).map(String::as_str).unwrap_or("?");
            Some((kt != "HASH", format!("{name} {ty} {kt}")))
        })
        .collect();
    out.sort();
    Value::Array(out.into_iter().map(|(_, s)| Value::String(s)).collect())
}

fn projection(v: &Value) -> Value {
    let p = v.get("Projection").cloned().unwrap_or_default();
    let mut nk: Vec<&str> = p
        .get("NonKeyAttributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    nk.sort();
    let mut o = Map::new();
    o.insert(
        "ProjectionType".into(),
        p.get("ProjectionType").cloned().unwrap_or(json!("ALL")),
    );
    if !nk.is_empty() {
        o.insert("NonKeyAttributes".into(), json!(nk));
    }
    Value::Object(o)
}

fn capacity(v: &Value) -> Option<Value> {
    let p = v.get("ProvisionedThroughput")?;
    let r = p.get("ReadCapacityUnits").and_then(Value::as_i64)?;
    let w = p.get("WriteCapacityUnits").and_then(Value::as_i64)?;
    Some(json!({"ReadCapacityUnits": r, "WriteCapacityUnits": w}))
}

/// Whether restore can write this policy back: a target tracking policy on a predefined metric
/// (what the snapshot captures in full).
fn writable_policy(p: &Value) -> bool {
    p.get("PolicyType").and_then(Value::as_str) == Some("TargetTrackingScaling")
        && p.pointer("/TargetTrackingScalingPolicyConfiguration/PredefinedMetricType")
            .is_some()
}

fn scaling(doc: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for t in doc
        .get("AutoScaling")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or_default();
        let Some(key) = scaling_key(s("ResourceId"), s("ScalableDimension")) else {
            continue;
        };
        let mut o = Map::new();
        for k in ["MinCapacity", "MaxCapacity"] {
            o.insert(k.into(), t.get(k).cloned().unwrap_or(Value::Null));
        }
        // Only what is suspended: a service that reports `false` and one that reports nothing
        // say the same.
        let suspended: Map<String, Value> = t
            .get("SuspendedState")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(_, v)| v.as_bool() == Some(true))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !suspended.is_empty() {
            o.insert("SuspendedState".into(), Value::Object(suspended));
        }
        let policies: Map<String, Value> = t
            .get("Policies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|p| writable_policy(p))
            .map(|p| {
                let mut p = p.clone();
                let name = p
                    .as_object_mut()
                    .and_then(|m| m.remove("PolicyName"))
                    .and_then(|n| n.as_str().map(str::to_string))
                    .unwrap_or_default();
                (name, p)
            })
            .collect();
        o.insert("Policies".into(), Value::Object(policies));
        out.insert(key, Value::Object(o));
    }
    out
}

/// The scaling policies of a table that restore cannot write back (`<target key>/<policy>`).
pub fn unwritable_policies(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for t in doc
        .get("AutoScaling")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or_default();
        let key = scaling_key(s("ResourceId"), s("ScalableDimension")).unwrap_or_default();
        for p in t
            .get("Policies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|p| !writable_policy(p))
        {
            let name = p.get("PolicyName").and_then(Value::as_str).unwrap_or("?");
            out.push(format!("{key}/{name}"));
        }
    }
    out
}

/// The table as restore compares it. Keys carry their attribute type (`pk S HASH`), so the
/// attribute definitions need no comparing of their own.
pub fn state(doc: &Value) -> Value {
    let types: BTreeMap<String, String> = doc
        .get("AttributeDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| {
            Some((
                d.get("AttributeName")?.as_str()?.to_string(),
                d.get("AttributeType")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let billing = doc
        .pointer("/BillingModeSummary/BillingMode")
        .and_then(Value::as_str)
        .unwrap_or("PROVISIONED");
    let provisioned = billing == "PROVISIONED";
    let mut o = Map::new();
    o.insert("KeySchema".into(), key_schema(doc, &types));
    for (member, global) in [
        ("LocalSecondaryIndexes", false),
        ("GlobalSecondaryIndexes", true),
    ] {
        let mut m = Map::new();
        for i in doc
            .get(member)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = i.get("IndexName").and_then(Value::as_str).unwrap_or("?");
            let mut x = Map::new();
            x.insert("KeySchema".into(), key_schema(i, &types));
            x.insert("Projection".into(), projection(i));
            if global && provisioned {
                if let Some(c) = capacity(i) {
                    x.insert("ProvisionedThroughput".into(), c);
                }
            }
            m.insert(name.to_string(), Value::Object(x));
        }
        o.insert(member.into(), Value::Object(m));
    }
    o.insert("BillingMode".into(), json!(billing));
    if provisioned {
        if let Some(c) = capacity(doc) {
            o.insert("ProvisionedThroughput".into(), c);
        }
    }
    let stream = match doc.get("StreamSpecification") {
        Some(s) if s.get("StreamEnabled") == Some(&Value::Bool(true)) => json!({
            "StreamEnabled": true,
            "StreamViewType": s.get("StreamViewType").cloned().unwrap_or(Value::Null),
        }),
        _ => json!({"StreamEnabled": false}),
    };
    o.insert("StreamSpecification".into(), stream);
    let unreadable = unreadable(doc);
    if !unreadable.iter().any(|f| f == "TimeToLive") {
        let on = matches!(
            doc.pointer("/TimeToLive/TimeToLiveStatus")
                .and_then(Value::as_str),
            Some("ENABLED" | "ENABLING")
        );
        o.insert(
            "TimeToLive".into(),
            if on {
                json!({"Enabled": true, "AttributeName": doc.pointer("/TimeToLive/AttributeName")})
            } else {
                json!({"Enabled": false})
            },
        );
    }
    if !unreadable.iter().any(|f| f == "ContinuousBackups") {
        let p = doc.pointer("/ContinuousBackups/PointInTimeRecoveryDescription");
        let on = p
            .and_then(|p| p.get("PointInTimeRecoveryStatus"))
            .and_then(Value::as_str)
            == Some("ENABLED");
        let mut x = Map::new();
        x.insert("Enabled".into(), json!(on));
        if let Some(d) = p.and_then(|p| p.get("RecoveryPeriodInDays")).filter(|_| on) {
            x.insert("RecoveryPeriodInDays".into(), d.clone());
        }
        o.insert("PointInTimeRecovery".into(), Value::Object(x));
    }
    if !unreadable.iter().any(|f| f == "Tags") {
        let tags: Map<String, Value> = doc
            .get("Tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some((
                    t.get("Key")?.as_str()?.to_string(),
                    t.get("Value").cloned().unwrap_or(json!("")),
                ))
            })
            .collect();
        o.insert("Tags".into(), Value::Object(tags));
    }
    if !unreadable.iter().any(|f| f == "AutoScaling") {
        o.insert("AutoScaling".into(), Value::Object(scaling(doc)));
    }
    Value::Object(o)
}

/// What the document says could not be read (`Unreadable[].Field`).
pub fn unreadable(doc: &Value) -> Vec<String> {
    doc.get("Unreadable")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|u| u.get("Field").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// A state without the provisioned capacity that autoscaling manages (it moves by itself): the
/// dimensions with a scalable target in `by`.
fn without_managed(mut s: Value, by: &Value) -> Value {
    let keys: Vec<String> = by
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for k in keys {
        let (dim, index) = match k.split_once('@') {
            Some((d, i)) => (d, Some(i)),
            None => (k.as_str(), None),
        };
        let unit = match dim.rsplit(':').next() {
            Some(u @ ("ReadCapacityUnits" | "WriteCapacityUnits")) => u,
            _ => continue,
        };
        let at = match index {
            Some(i) => format!(
                "/GlobalSecondaryIndexes/{}/ProvisionedThroughput",
                i.replace('~', "~0").replace('/', "~1")
            ),
            None => "/ProvisionedThroughput".into(),
        };
        if let Some(p) = s.pointer_mut(&at).and_then(Value::as_object_mut) {
            p.remove(unit);
        }
    }
    s
}

fn own_managed(s: Value) -> Value {
    let by = s.get("AutoScaling").cloned().unwrap_or_default();
    without_managed(s, &by)
}

/// The hash of a table as restore compares it ([`state`], without what autoscaling manages).
pub fn hash(doc: &Value) -> String {
    value_hash(&own_managed(state(doc)))
}

/// A live table compared with the snapshot's.
#[derive(Debug, Default, PartialEq)]
pub struct Comparison {
    /// What DynamoDB cannot change in place and differs: `/KeySchema`,
    /// `/LocalSecondaryIndexes`, `/GlobalSecondaryIndexes/<index>` (missing, extra, other keys
    /// or projection).
    pub structural: Vec<String>,
    /// The table's key schema itself differs: items cannot be written into it.
    pub keys_differ: bool,
    /// Each setting to put back: live value → wanted value.
    pub fields: Vec<FieldValues>,
    /// The hash the table has once the fields are put back.
    pub want: String,
    /// The live table's hash.
    pub live: String,
    /// Live scalable targets and policies the snapshot lacks, kept (no `--delete-extra`).
    pub kept: Vec<String>,
}

/// Compare a live table with the snapshot's. With `delete_extra`, live scalable targets and
/// scaling policies the snapshot lacks are removed; without, they are kept (and wanted).
pub fn compare(live_doc: &Value, snap_doc: &Value, delete_extra: bool) -> Comparison {
    let live = state(live_doc);
    let mut want = state(snap_doc);
    let mut out = Comparison {
        live: hash(live_doc),
        ..Default::default()
    };
    // Autoscaling: live targets and policies the snapshot lacks.
    if let (Some(l), Some(w)) = (
        live.get("AutoScaling").and_then(Value::as_object),
        want.get_mut("AutoScaling").and_then(Value::as_object_mut),
    ) {
        for (k, lt) in l {
            match w.get_mut(k) {
                None if !delete_extra => {
                    out.kept.push(format!("scalable target {k}"));
                    w.insert(k.clone(), lt.clone());
                }
                Some(wt) if !delete_extra => {
                    let lp = lt.get("Policies").and_then(Value::as_object);
                    let wp = wt.get_mut("Policies").and_then(Value::as_object_mut);
                    if let (Some(lp), Some(wp)) = (lp, wp) {
                        for (n, p) in lp {
                            if !wp.contains_key(n) {
                                out.kept.push(format!("scaling policy {n} of {k}"));
                                wp.insert(n.clone(), p.clone());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let by = want.get("AutoScaling").cloned().unwrap_or_default();
    let live = without_managed(live, &by);
    let want = without_managed(want, &by);
    out.want = value_hash(&want);
    // What cannot change in place.
    if live["KeySchema"] != want["KeySchema"] {
        out.structural.push("/KeySchema".into());
        out.keys_differ = true;
    }
    if live["LocalSecondaryIndexes"] != want["LocalSecondaryIndexes"] {
        out.structural.push("/LocalSecondaryIndexes".into());
    }
    let empty = Map::new();
    let gsis = |s: &Value| -> Map<String, Value> {
        s.get("GlobalSecondaryIndexes")
            .and_then(Value::as_object)
            .unwrap_or(&empty)
            .clone()
    };
    let (lg, wg) = (gsis(&live), gsis(&want));
    let mut names: Vec<&String> = lg.keys().chain(wg.keys()).collect();
    names.sort();
    names.dedup();
    let shape = |i: Option<&Value>| i.map(|i| (i["KeySchema"].clone(), i["Projection"].clone()));
    for n in &names {
        if shape(lg.get(*n)) != shape(wg.get(*n)) {
            out.structural.push(format!("/GlobalSecondaryIndexes/{n}"));
        }
    }
    // The settings.
    let mut field = |at: String, l: Option<&Value>, w: Option<&Value>| {
        if l != w {
            out.fields.push(FieldValues {
                field: at,
                live: l.cloned(),
                snapshot: w.cloned(),
            });
        }
    };
    for (at, k) in [
        (BILLING_MODE, "BillingMode"),
        (THROUGHPUT, "ProvisionedThroughput"),
    ] {
        field(at.into(), live.get(k), want.get(k));
    }
    for n in &names {
        if let (Some(l), Some(w)) = (lg.get(*n), wg.get(*n)) {
            field(
                format!("{GSI_PREFIX}{n}/ProvisionedThroughput"),
                l.get("ProvisionedThroughput"),
                w.get("ProvisionedThroughput"),
            );
        }
    }
    for (at, k) in [
        (STREAM, "StreamSpecification"),
        (TTL, "TimeToLive"),
        (PITR, "PointInTimeRecovery"),
        (TAGS, "Tags"),
    ] {
        // A setting the snapshot could not read is left as it is.
        if want.get(k).is_some() {
            field(at.into(), live.get(k), want.get(k));
        }
    }
    if let Some(w) = want.get("AutoScaling").and_then(Value::as_object) {
        let l = live
            .get("AutoScaling")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let mut keys: Vec<&String> = l.keys().chain(w.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            field(format!("{SCALING_PREFIX}{k}"), l.get(k), w.get(k));
        }
    }
    out
}

/// Members of the snapshot's table that differ live and that restore does not put back in
/// place (server-side encryption, table class, deletion protection, ...): their names.
pub fn others(live_doc: &Value, snap_doc: &Value) -> Vec<String> {
    let strip = |d: &Value| -> Map<String, Value> {
        let c = crate::catalog::normalize::canonical(crate::catalog::kinds::spec(super::TABLE), d);
        c.as_object()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| !IDENTITY.contains(&k.as_str()) && !COVERED.contains(&k.as_str()))
            .collect()
    };
    let (l, s) = (strip(live_doc), strip(snap_doc));
    let mut keys: Vec<&String> = l.keys().chain(s.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| l.get(*k) != s.get(*k))
        .map(|k| format!("/{k}"))
        .collect()
}

/// The regions of a table's global table replicas, other than `region` (its own).
pub fn replicas(doc: &Value, region: &str) -> Vec<String> {
    let mut out: Vec<String> = doc
        .get("Replicas")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("RegionName").and_then(Value::as_str))
        .filter(|r| *r != region)
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What to tell people about global table replicas: the snapshot's replicas the live table
/// (None: a table created anew) lacks, and those it has that the snapshot does not.
pub fn replica_note(
    name: &str,
    region: &str,
    snap_doc: &Value,
    live_doc: Option<&Value>,
) -> Option<String> {
    let want = replicas(snap_doc, region);
    let have = live_doc.map(|d| replicas(d, region)).unwrap_or_default();
    let missing: Vec<&String> = want.iter().filter(|r| !have.contains(r)).collect();
    let extra: Vec<&String> = have.iter().filter(|r| !want.contains(r)).collect();
    if missing.is_empty() && extra.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if !missing.is_empty() {
        let updates: Vec<String> = missing
            .iter()
            .map(|r| format!("{{\"Create\":{{\"RegionName\":\"{r}\"}}}}"))
            .collect();
        parts.push(format!(
            "the snapshot's table was a global table with replicas in {}, which restore does \
             not make (a replica is a table DynamoDB builds and fills in another region): once \
             the table is restored in {region}, add them with `aws dynamodb update-table \
             --region {region} --table-name {name} --replica-updates '[{}]'` (one replica at a \
             time if DynamoDB refuses several; the stream is turned on for them)",
            join(&missing),
            updates.join(",")
        ));
    }
    if !extra.is_empty() {
        parts.push(format!(
            "the live table has replicas the snapshot did not have, in {}: restore leaves them \
             (remove one with `aws dynamodb update-table --region {region} --table-name {name} \
             --replica-updates '[{{\"Delete\":{{\"RegionName\":\"REGION\"}}}}]'`)",
            join(&extra)
        ));
    }
    Some(parts.join("; "))
}

fn join(v: &[&String]) -> String {
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Value {
        json!({
            "TableName": "orders", "TableArn": "arn:aws:dynamodb:us-east-1:1:table/orders",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
                {"AttributeName": "day", "AttributeType": "S"}
            ],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}],
            "BillingModeSummary": {"BillingMode": "PROVISIONED"},
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 4},
            "GlobalSecondaryIndexes": [{
                "IndexName": "by-day", "IndexArn": "arn:x/index/by-day",
                "KeySchema": [{"AttributeName": "day", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 2}
            }],
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"},
            "LatestStreamArn": "arn:x/stream/1",
            "TimeToLive": {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"},
            "ContinuousBackups": {"ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "ENABLED"}},
            "Tags": [{"Key": "env", "Value": "prod"}],
            "AutoScaling": [{
                "ResourceId": "table/orders", "ScalableDimension": "dynamodb:table:ReadCapacityUnits",
                "MinCapacity": 5, "MaxCapacity": 50, "RoleARN": "arn:role",
                "SuspendedState": {"DynamicScalingInSuspended": false},
                "Policies": [{"PolicyName": "read", "PolicyType": "TargetTrackingScaling",
                    "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 70.0,
                        "PredefinedMetricType": "DynamoDBReadCapacityUtilization"}}]
            }]
        })
    }

    #[test]
    fn scaling_keys_name_the_dimension_and_the_index() {
        for (rid, dim, key) in [
            (
                "table/orders",
                "dynamodb:table:ReadCapacityUnits",
                "dynamodb:table:ReadCapacityUnits",
            ),
            (
                "table/orders/index/by-day",
                "dynamodb:index:WriteCapacityUnits",
                "dynamodb:index:WriteCapacityUnits@by-day",
            ),
        ] {
            assert_eq!(scaling_key(rid, dim).as_deref(), Some(key));
            let (r, d) = scaling_target("orders", key);
            assert_eq!((r.as_str(), d.as_str()), (rid, dim));
        }
        assert_eq!(scaling_key("keyspace/x", "d"), None);
    }

    #[test]
    fn the_same_table_under_another_name_and_with_other_stamps_compares_equal() {
        let mut other = table();
        other["TableName"] = json!("orders-copy");
        other["TableArn"] = json!("arn:other");
        other["LatestStreamArn"] = json!("arn:x/stream/2");
        other["AutoScaling"][0]["ResourceId"] = json!("table/orders-copy");
        other["AutoScaling"][0]["RoleARN"] = json!("");
        other["AutoScaling"][0]
            .as_object_mut()
            .unwrap()
            .remove("SuspendedState");
        // Autoscaling moved the read capacity: not a difference.
        other["ProvisionedThroughput"]["ReadCapacityUnits"] = json!(17);
        assert_eq!(hash(&other), hash(&table()));
        let c = compare(&other, &table(), false);
        assert_eq!(c.fields, vec![]);
        assert_eq!(c.structural, Vec::<String>::new());
        assert_eq!(c.want, c.live);
    }

    #[test]
    fn each_differing_setting_is_one_field() {
        let mut live = table();
        live["ProvisionedThroughput"]["WriteCapacityUnits"] = json!(9);
        live["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"]["ReadCapacityUnits"] = json!(1);
        live.as_object_mut().unwrap().remove("StreamSpecification");
        live["TimeToLive"] = json!({"TimeToLiveStatus": "DISABLED"});
        live["ContinuousBackups"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] =
            json!("DISABLED");
        live["Tags"] = json!([{"Key": "env", "Value": "dev"}, {"Key": "x", "Value": "1"}]);
        live.as_object_mut().unwrap().remove("AutoScaling");
        let c = compare(&live, &table(), false);
        let names: Vec<&str> = c.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            names,
            vec![
                THROUGHPUT,
                "/GlobalSecondaryIndexes/by-day/ProvisionedThroughput",
                STREAM,
                TTL,
                PITR,
                TAGS,
                "/AutoScaling/dynamodb:table:ReadCapacityUnits",
            ]
        );
        // The read capacity is autoscaling's in the snapshot: only the write capacity is put back.
        assert_eq!(c.fields[0].snapshot, Some(json!({"WriteCapacityUnits": 4})));
        assert_eq!(c.fields[0].live, Some(json!({"WriteCapacityUnits": 9})));
        assert_eq!(
            c.fields[3].snapshot,
            Some(json!({"Enabled": true, "AttributeName": "expires"}))
        );
        assert_eq!(
            c.fields[6].snapshot.as_ref().unwrap()["Policies"]["read"]["PolicyType"],
            "TargetTrackingScaling"
        );
        assert!(c.structural.is_empty());
        assert_eq!(c.want, hash(&table()));
    }

    #[test]
    fn live_autoscaling_the_snapshot_lacks_is_kept_unless_delete_extra() {
        let mut live = table();
        let mut extra = live["AutoScaling"][0].clone();
        extra["ResourceId"] = json!("table/orders/index/by-day");
        extra["ScalableDimension"] = json!("dynamodb:index:WriteCapacityUnits");
        live["AutoScaling"].as_array_mut().unwrap().push(extra);
        live["AutoScaling"][0]["Policies"]
            .as_array_mut()
            .unwrap()
            .push(
                json!({"PolicyName": "more", "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 50.0,
                    "PredefinedMetricType": "DynamoDBReadCapacityUtilization"}}),
            );
        let kept = compare(&live, &table(), false);
        assert_eq!(kept.fields, vec![]);
        assert_eq!(kept.kept.len(), 2, "{:?}", kept.kept);
        assert_eq!(kept.want, kept.live);
        let removed = compare(&live, &table(), true);
        let names: Vec<&str> = removed.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "/AutoScaling/dynamodb:index:WriteCapacityUnits@by-day",
                "/AutoScaling/dynamodb:table:ReadCapacityUnits",
            ]
        );
        assert_eq!(removed.fields[0].snapshot, None);
        assert!(removed.kept.is_empty());
    }

    #[test]
    fn keys_and_indexes_that_cannot_change_in_place_are_structural() {
        let mut live = table();
        live["KeySchema"] = json!([{"AttributeName": "pk", "KeyType": "HASH"}]);
        live["GlobalSecondaryIndexes"][0]["Projection"] = json!({"ProjectionType": "ALL"});
        live["LocalSecondaryIndexes"] = json!([{"IndexName": "l", "KeySchema": [],
            "Projection": {"ProjectionType": "ALL"}}]);
        let c = compare(&live, &table(), false);
        assert_eq!(
            c.structural,
            vec![
                "/KeySchema",
                "/LocalSecondaryIndexes",
                "/GlobalSecondaryIndexes/by-day"
            ]
        );
        assert!(c.keys_differ);
        // An attribute type is part of the key.
        let mut live = table();
        live["AttributeDefinitions"][1]["AttributeType"] = json!("S");
        assert!(compare(&live, &table(), false).keys_differ);
    }

    #[test]
    fn on_demand_tables_ignore_the_reported_capacity() {
        let mut a = table();
        a["BillingModeSummary"]["BillingMode"] = json!("PAY_PER_REQUEST");
        a["ProvisionedThroughput"] = json!({"ReadCapacityUnits": 0, "WriteCapacityUnits": 0});
        let mut b = a.clone();
        b.as_object_mut().unwrap().remove("ProvisionedThroughput");
        assert_eq!(hash(&a), hash(&b));
        let c = compare(&a, &table(), false);
        assert_eq!(c.fields[0].field, BILLING_MODE);
        assert_eq!(c.fields[1].field, THROUGHPUT);
        assert_eq!(c.fields[1].live, None);
    }

    #[test]
    fn other_members_and_replicas_are_named_for_people() {
        let mut live = table();
        live["SSEDescription"] = json!({"Status": "ENABLED"});
        live["Replicas"] = json!([{"RegionName": "us-east-1"}, {"RegionName": "ap-south-1"}]);
        assert_eq!(others(&live, &table()), vec!["/SSEDescription"]);
        let mut snap = table();
        snap["Replicas"] = json!([{"RegionName": "eu-west-1"}, {"RegionName": "us-east-1"}]);
        let n = replica_note("orders", "us-east-1", &snap, Some(&live)).unwrap();
        assert!(n.contains("replicas in eu-west-1"), "{n}");
        assert!(
            n.contains(r#"--replica-updates '[{"Create":{"RegionName":"eu-west-1"}}]'"#),
            "{n}"
        );
        assert!(n.contains("snapshot did not have, in ap-south-1"), "{n}");
        assert_eq!(replica_note("orders", "us-east-1", &table(), None), None);
    }
}
