//! DynamoDB API values as JSON: the table description split into what only the user changes
//! (`table.json`) and what DynamoDB changes on its own (`stats.json`), and items as DynamoDB JSON
//! lines, the format of DynamoDB's own export to S3.
//!
//! Field names are the API's (PascalCase, as `aws dynamodb describe-table` prints them); enums
//! are their wire value; dates are RFC 3339 UTC. Missing fields and empty lists are left out.
//! Object keys are written in alphabetical order, and lists whose order carries no meaning
//! (attribute definitions, indexes, replicas, tags, set members) are sorted, so that the same
//! table always gives the same bytes.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, ContinuousBackupsDescription, KeySchemaElement, OnDemandThroughput, Projection,
    ProvisionedThroughputDescription, TableDescription, Tag, TimeToLiveDescription,
};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use base64::Engine;
use serde_json::{Map, Value};

/// A JSON object under construction that leaves out what has no value.
#[derive(Default)]
pub struct Obj(Map<String, Value>);

impl Obj {
    pub fn new() -> Self {
        Obj(Map::new())
    }

    /// Set `k` when `v` is present.
    pub fn opt<V: Into<Value>>(mut self, k: &str, v: Option<V>) -> Self {
        if let Some(v) = v {
            self.0.insert(k.to_string(), v.into());
        }
        self
    }

    pub fn val<V: Into<Value>>(mut self, k: &str, v: V) -> Self {
        self.0.insert(k.to_string(), v.into());
        self
    }

    /// Set `k` to a nested object when it is present and not empty.
    pub fn obj(mut self, k: &str, v: Option<Obj>) -> Self {
        if let Some(v) = v.filter(|o| !o.is_empty()) {
            self.0.insert(k.to_string(), Value::Object(v.0));
        }
        self
    }

    /// Set `k` to a list when it is not empty.
    pub fn arr(mut self, k: &str, v: Vec<Value>) -> Self {
        if !v.is_empty() {
            self.0.insert(k.to_string(), Value::Array(v));
        }
        self
    }

    pub fn time(self, k: &str, t: Option<&DateTime>) -> Self {
        self.opt(k, t.and_then(fmt_time))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn done(self) -> Value {
        Value::Object(self.0)
    }
}

pub fn fmt_time(t: &DateTime) -> Option<String> {
    t.fmt(Format::DateTime).ok()
}

fn key_schema(k: &[KeySchemaElement]) -> Vec<Value> {
    k.iter()
        .map(|e| {
            Obj::new()
                .val("AttributeName", e.attribute_name())
                .val("KeyType", e.key_type().as_str())
                .done()
        })
        .collect()
}

fn projection(p: Option<&Projection>) -> Option<Obj> {
    p.map(|p| {
        let mut nk: Vec<String> = p.non_key_attributes().to_vec();
        nk.sort();
        Obj::new()
            .opt("ProjectionType", p.projection_type().map(|t| t.as_str()))
            .arr(
                "NonKeyAttributes",
                nk.into_iter().map(Value::from).collect(),
            )
    })
}

fn on_demand(o: Option<&OnDemandThroughput>) -> Option<Obj> {
    o.map(|o| {
        Obj::new()
            .opt("MaxReadRequestUnits", o.max_read_request_units())
            .opt("MaxWriteRequestUnits", o.max_write_request_units())
    })
}

/// The configured part of a provisioned throughput description.
fn throughput_config(p: Option<&ProvisionedThroughputDescription>) -> Option<Obj> {
    p.map(|p| {
        Obj::new()
            .opt("ReadCapacityUnits", p.read_capacity_units())
            .opt("WriteCapacityUnits", p.write_capacity_units())
    })
}

/// The part of a provisioned throughput description that changes by itself.
fn throughput_stats(p: Option<&ProvisionedThroughputDescription>) -> Option<Obj> {
    p.map(|p| {
        Obj::new()
            .time("LastIncreaseDateTime", p.last_increase_date_time())
            .time("LastDecreaseDateTime", p.last_decrease_date_time())
            .opt("NumberOfDecreasesToday", p.number_of_decreases_today())
    })
}

fn named(mut v: Vec<(String, Value)>) -> Vec<Value> {
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v.into_iter().map(|(_, v)| v).collect()
}

/// DescribeTable's `Table`, split: the configuration (`table.json`) and the volatile rest
/// (`stats.json`: counts, sizes, statuses, throughput change history, warm throughput).
pub fn table_description(t: &TableDescription) -> (Obj, Obj) {
    let mut defs: Vec<(String, Value)> = t
        .attribute_definitions()
        .iter()
        .map(|d| {
            (
                d.attribute_name().to_string(),
                Obj::new()
                    .val("AttributeName", d.attribute_name())
                    .val("AttributeType", d.attribute_type().as_str())
                    .done(),
            )
        })
        .collect();
    defs.sort_by(|a, b| a.0.cmp(&b.0));

    let lsis = t.local_secondary_indexes();
    let lsi_conf = named(
        lsis.iter()
            .map(|i| {
                let name = i.index_name().unwrap_or_default().to_string();
                let v = Obj::new()
                    .opt("IndexName", i.index_name())
                    .arr("KeySchema", key_schema(i.key_schema()))
                    .obj("Projection", projection(i.projection()))
                    .opt("IndexArn", i.index_arn())
                    .done();
                (name, v)
            })
            .collect(),
    );
    let lsi_stats = named(
        lsis.iter()
            .map(|i| {
                let name = i.index_name().unwrap_or_default().to_string();
                let v = Obj::new()
                    .opt("IndexName", i.index_name())
                    .opt("ItemCount", i.item_count())
                    .opt("IndexSizeBytes", i.index_size_bytes())
                    .done();
                (name, v)
            })
            .collect(),
    );

    let gsis = t.global_secondary_indexes();
    let gsi_conf = named(
        gsis.iter()
            .map(|i| {
                let name = i.index_name().unwrap_or_default().to_string();
                let v = Obj::new()
                    .opt("IndexName", i.index_name())
                    .arr("KeySchema", key_schema(i.key_schema()))
                    .obj("Projection", projection(i.projection()))
                    .obj(
                        "ProvisionedThroughput",
                        throughput_config(i.provisioned_throughput()),
                    )
                    .obj("OnDemandThroughput", on_demand(i.on_demand_throughput()))
                    .opt("IndexArn", i.index_arn())
                    .done();
                (name, v)
            })
            .collect(),
    );
    let gsi_stats = named(
        gsis.iter()
            .map(|i| {
                let name = i.index_name().unwrap_or_default().to_string();
                let warm = i.warm_throughput().map(|w| {
                    Obj::new()
                        .opt("ReadUnitsPerSecond", w.read_units_per_second())
                        .opt("WriteUnitsPerSecond", w.write_units_per_second())
                        .opt("Status", w.status().map(|s| s.as_str()))
                });
                let v = Obj::new()
                    .opt("IndexName", i.index_name())
                    .opt("IndexStatus", i.index_status().map(|s| s.as_str()))
                    .opt("Backfilling", i.backfilling())
                    .opt("ItemCount", i.item_count())
                    .opt("IndexSizeBytes", i.index_size_bytes())
                    .obj(
                        "ProvisionedThroughput",
                        throughput_stats(i.provisioned_throughput()),
                    )
                    .obj("WarmThroughput", warm)
                    .done();
                (name, v)
            })
            .collect(),
    );

    let vis = t.vector_indexes();
    let vi_conf = named(
        vis.iter()
            .map(|i| {
                let name = i.index_name().unwrap_or_default().to_string();
                let schema: Vec<Value> = i
                    .search_schema()
                    .iter()
                    .map(|s| {
                        Obj::new()
                            .val("AttributeName", s.attribute_name())
                            .val(
                                "SearchSchemaElementType",
                                s.search_schema_element_type().as_str(),
                            )
                            .done()
                    })
                    .collect();
                let v = Obj::new()
                    .opt("IndexName", i.index_name())
                    .arr("SearchSchema", schema)
                    .obj("Projection", projection(i.projection()))
                    .obj(
                        "VectorAttribute",
                        i.vector_attribute()
                            .map(|a| Obj::new().val("AttributeName", a.attribute_name())),
                    )
                    .opt("Dimensions", i.dimensions())
                    .opt(
                        "DistanceFunction",
                        i.distance_function().map(|d| d.as_str()),
                    )
                    .opt("IndexArn", i.index_arn())
                    .done();
                (name, v)
            })
            .collect(),
    );
    let vi_stats = named(
        vis.iter()
            .map(|i| {
                let name = i.index_name().unwrap_or_default().to_string();
                let v = Obj::new()
                    .opt("IndexName", i.index_name())
                    .opt("IndexStatus", i.index_status().map(|s| s.as_str()))
                    .opt("Backfilling", i.backfilling())
                    .opt("ItemCount", i.item_count())
                    .opt("IndexSizeBytes", i.index_size_bytes())
                    .done();
                (name, v)
            })
            .collect(),
    );

    let replicas = t.replicas();
    let replica_conf = named(
        replicas
            .iter()
            .map(|r| {
                let name = r.region_name().unwrap_or_default().to_string();
                let gsis = named(
                    r.global_secondary_indexes()
                        .iter()
                        .map(|g| {
                            (
                                g.index_name().unwrap_or_default().to_string(),
                                Obj::new()
                                    .opt("IndexName", g.index_name())
                                    .obj(
                                        "ProvisionedThroughputOverride",
                                        g.provisioned_throughput_override().map(|p| {
                                            Obj::new()
                                                .opt("ReadCapacityUnits", p.read_capacity_units())
                                        }),
                                    )
                                    .obj(
                                        "OnDemandThroughputOverride",
                                        g.on_demand_throughput_override().map(|p| {
                                            Obj::new().opt(
                                                "MaxReadRequestUnits",
                                                p.max_read_request_units(),
                                            )
                                        }),
                                    )
                                    .done(),
                            )
                        })
                        .collect(),
                );
                let v = Obj::new()
                    .opt("RegionName", r.region_name())
                    .opt("ReplicaArn", r.replica_arn())
                    .opt("KMSMasterKeyId", r.kms_master_key_id())
                    .obj(
                        "ProvisionedThroughputOverride",
                        r.provisioned_throughput_override()
                            .map(|p| Obj::new().opt("ReadCapacityUnits", p.read_capacity_units())),
                    )
                    .obj(
                        "OnDemandThroughputOverride",
                        r.on_demand_throughput_override().map(|p| {
                            Obj::new().opt("MaxReadRequestUnits", p.max_read_request_units())
                        }),
                    )
                    .arr("GlobalSecondaryIndexes", gsis)
                    .obj(
                        "ReplicaTableClassSummary",
                        r.replica_table_class_summary().map(|c| {
                            Obj::new()
                                .opt("TableClass", c.table_class().map(|c| c.as_str()))
                                .time("LastUpdateDateTime", c.last_update_date_time())
                        }),
                    )
                    .opt(
                        "GlobalTableSettingsReplicationMode",
                        r.global_table_settings_replication_mode()
                            .map(|m| m.as_str()),
                    )
                    .done();
                (name, v)
            })
            .collect(),
    );
    let replica_stats = named(
        replicas
            .iter()
            .map(|r| {
                let name = r.region_name().unwrap_or_default().to_string();
                let v = Obj::new()
                    .opt("RegionName", r.region_name())
                    .opt("ReplicaStatus", r.replica_status().map(|s| s.as_str()))
                    .opt("ReplicaStatusDescription", r.replica_status_description())
                    .opt(
                        "ReplicaStatusPercentProgress",
                        r.replica_status_percent_progress(),
                    )
                    .time(
                        "ReplicaInaccessibleDateTime",
                        r.replica_inaccessible_date_time(),
                    )
                    .obj(
                        "WarmThroughput",
                        r.warm_throughput().map(|w| {
                            Obj::new()
                                .opt("ReadUnitsPerSecond", w.read_units_per_second())
                                .opt("WriteUnitsPerSecond", w.write_units_per_second())
                                .opt("Status", w.status().map(|s| s.as_str()))
                        }),
                    )
                    .done();
                (name, v)
            })
            .collect(),
    );
    let witnesses = t.global_table_witnesses();
    let witness_conf = named(
        witnesses
            .iter()
            .map(|w| {
                let name = w.region_name().unwrap_or_default().to_string();
                (name, Obj::new().opt("RegionName", w.region_name()).done())
            })
            .collect(),
    );
    let witness_stats = named(
        witnesses
            .iter()
            .map(|w| {
                let name = w.region_name().unwrap_or_default().to_string();
                let v = Obj::new()
                    .opt("RegionName", w.region_name())
                    .opt("WitnessStatus", w.witness_status().map(|s| s.as_str()))
                    .done();
                (name, v)
            })
            .collect(),
    );

    let conf = Obj::new()
        .opt("TableName", t.table_name())
        .opt("TableArn", t.table_arn())
        .opt("TableId", t.table_id())
        .time("CreationDateTime", t.creation_date_time())
        .arr(
            "AttributeDefinitions",
            defs.into_iter().map(|d| d.1).collect(),
        )
        .arr("KeySchema", key_schema(t.key_schema()))
        .obj(
            "BillingModeSummary",
            t.billing_mode_summary().map(|b| {
                Obj::new()
                    .opt("BillingMode", b.billing_mode().map(|m| m.as_str()))
                    .time(
                        "LastUpdateToPayPerRequestDateTime",
                        b.last_update_to_pay_per_request_date_time(),
                    )
            }),
        )
        .obj(
            "ProvisionedThroughput",
            throughput_config(t.provisioned_throughput()),
        )
        .obj("OnDemandThroughput", on_demand(t.on_demand_throughput()))
        .arr("LocalSecondaryIndexes", lsi_conf)
        .arr("GlobalSecondaryIndexes", gsi_conf)
        .arr("VectorIndexes", vi_conf)
        .obj(
            "StreamSpecification",
            t.stream_specification().map(|s| {
                Obj::new()
                    .val("StreamEnabled", s.stream_enabled())
                    .opt("StreamViewType", s.stream_view_type().map(|v| v.as_str()))
            }),
        )
        .opt("LatestStreamLabel", t.latest_stream_label())
        .opt("LatestStreamArn", t.latest_stream_arn())
        .opt("GlobalTableVersion", t.global_table_version())
        .arr("Replicas", replica_conf)
        .arr("GlobalTableWitnesses", witness_conf)
        .opt(
            "GlobalTableSettingsReplicationMode",
            t.global_table_settings_replication_mode()
                .map(|m| m.as_str()),
        )
        .opt(
            "MultiRegionConsistency",
            t.multi_region_consistency().map(|m| m.as_str()),
        )
        .obj(
            "RestoreSummary",
            t.restore_summary().map(|r| {
                Obj::new()
                    .opt("SourceBackupArn", r.source_backup_arn())
                    .opt("SourceTableArn", r.source_table_arn())
                    .time("RestoreDateTime", Some(r.restore_date_time()))
            }),
        )
        .obj(
            "SSEDescription",
            t.sse_description().map(|s| {
                Obj::new()
                    .opt("Status", s.status().map(|v| v.as_str()))
                    .opt("SSEType", s.sse_type().map(|v| v.as_str()))
                    .opt("KMSMasterKeyArn", s.kms_master_key_arn())
            }),
        )
        .obj(
            "ArchivalSummary",
            t.archival_summary().map(|a| {
                Obj::new()
                    .time("ArchivalDateTime", a.archival_date_time())
                    .opt("ArchivalReason", a.archival_reason())
                    .opt("ArchivalBackupArn", a.archival_backup_arn())
            }),
        )
        .obj(
            "TableClassSummary",
            t.table_class_summary().map(|c| {
                Obj::new()
                    .opt("TableClass", c.table_class().map(|c| c.as_str()))
                    .time("LastUpdateDateTime", c.last_update_date_time())
            }),
        )
        .opt("DeletionProtectionEnabled", t.deletion_protection_enabled())
        .opt(
            "DisassociationProtectionEnabled",
            t.disassociation_protection_enabled(),
        );

    let stats = Obj::new()
        .opt("TableStatus", t.table_status().map(|s| s.as_str()))
        .opt("ItemCount", t.item_count())
        .opt("TableSizeBytes", t.table_size_bytes())
        .obj(
            "ProvisionedThroughput",
            throughput_stats(t.provisioned_throughput()),
        )
        .obj(
            "WarmThroughput",
            t.warm_throughput().map(|w| {
                Obj::new()
                    .opt("ReadUnitsPerSecond", w.read_units_per_second())
                    .opt("WriteUnitsPerSecond", w.write_units_per_second())
                    .opt("Status", w.status().map(|s| s.as_str()))
            }),
        )
        .arr("LocalSecondaryIndexes", lsi_stats)
        .arr("GlobalSecondaryIndexes", gsi_stats)
        .arr("VectorIndexes", vi_stats)
        .arr("Replicas", replica_stats)
        .arr("GlobalTableWitnesses", witness_stats)
        .obj(
            "SSEDescription",
            t.sse_description().map(|s| {
                Obj::new().time(
                    "InaccessibleEncryptionDateTime",
                    s.inaccessible_encryption_date_time(),
                )
            }),
        )
        .obj(
            "RestoreSummary",
            t.restore_summary()
                .map(|r| Obj::new().val("RestoreInProgress", r.restore_in_progress())),
        );
    (conf, stats)
}

/// DescribeTimeToLive's `TimeToLiveDescription`.
pub fn time_to_live(t: Option<&TimeToLiveDescription>) -> Obj {
    match t {
        Some(t) => Obj::new()
            .opt(
                "TimeToLiveStatus",
                t.time_to_live_status().map(|s| s.as_str()),
            )
            .opt("AttributeName", t.attribute_name()),
        None => Obj::new(),
    }
}

/// DescribeContinuousBackups' `ContinuousBackupsDescription`, split into configuration and the
/// restorable window (which moves by itself).
pub fn continuous_backups(c: &ContinuousBackupsDescription) -> (Obj, Obj) {
    let pitr = c.point_in_time_recovery_description();
    let conf = Obj::new()
        .val(
            "ContinuousBackupsStatus",
            c.continuous_backups_status().as_str(),
        )
        .obj(
            "PointInTimeRecoveryDescription",
            pitr.map(|p| {
                Obj::new()
                    .opt(
                        "PointInTimeRecoveryStatus",
                        p.point_in_time_recovery_status().map(|s| s.as_str()),
                    )
                    .opt("RecoveryPeriodInDays", p.recovery_period_in_days())
            }),
        );
    let stats = Obj::new().obj(
        "PointInTimeRecoveryDescription",
        pitr.map(|p| {
            Obj::new()
                .time(
                    "EarliestRestorableDateTime",
                    p.earliest_restorable_date_time(),
                )
                .time("LatestRestorableDateTime", p.latest_restorable_date_time())
        }),
    );
    (conf, stats)
}

/// Tags as `[{"Key","Value"}]`, sorted by key.
pub fn tags(mut t: Vec<Tag>) -> Vec<Value> {
    t.sort_by(|a, b| a.key().cmp(b.key()));
    t.iter()
        .map(|t| {
            Obj::new()
                .val("Key", t.key())
                .val("Value", t.value())
                .done()
        })
        .collect()
}

/// An attribute type this version cannot write (the SDK's `Unknown`: a type newer than it).
#[derive(Debug)]
pub struct UnknownType(pub String);

/// Append one item as a line of DynamoDB JSON: `{"Item":{"attr":{"S":"..."},...}}\n`.
/// On an attribute of unknown type, `out` is left as it was.
pub fn write_item(
    out: &mut Vec<u8>,
    item: &HashMap<String, AttributeValue>,
) -> Result<(), UnknownType> {
    let start = out.len();
    out.extend_from_slice(b"{\"Item\":");
    if let Err(e) = write_map(out, item) {
        out.truncate(start);
        return Err(e);
    }
    out.extend_from_slice(b"}\n");
    Ok(())
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("a string always serialises");
}

fn write_map(out: &mut Vec<u8>, m: &HashMap<String, AttributeValue>) -> Result<(), UnknownType> {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    out.push(b'{');
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, k);
        out.push(b':');
        write_value(out, &m[k]).map_err(|e| UnknownType(format!("{k}.{}", e.0)))?;
    }
    out.push(b'}');
    Ok(())
}

fn write_strings(out: &mut Vec<u8>, mut v: Vec<&str>) {
    v.sort_unstable();
    out.push(b'[');
    for (i, s) in v.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, s);
    }
    out.push(b']');
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn write_value(out: &mut Vec<u8>, v: &AttributeValue) -> Result<(), UnknownType> {
    match v {
        AttributeValue::S(s) => {
            out.extend_from_slice(b"{\"S\":");
            write_str(out, s);
        }
        AttributeValue::N(n) => {
            out.extend_from_slice(b"{\"N\":");
            write_str(out, n);
        }
        AttributeValue::B(b) => {
            out.extend_from_slice(b"{\"B\":");
            write_str(out, &b64(b.as_ref()));
        }
        AttributeValue::Ss(v) => {
            out.extend_from_slice(b"{\"SS\":");
            write_strings(out, v.iter().map(String::as_str).collect());
        }
        AttributeValue::Ns(v) => {
            out.extend_from_slice(b"{\"NS\":");
            write_strings(out, v.iter().map(String::as_str).collect());
        }
        AttributeValue::Bs(v) => {
            // Sorted by the bytes, then base64-encoded.
            let mut raw: Vec<&[u8]> = v.iter().map(|b| b.as_ref()).collect();
            raw.sort_unstable();
            let enc: Vec<String> = raw.into_iter().map(b64).collect();
            out.extend_from_slice(b"{\"BS\":");
            write_strings_in_order(out, &enc);
        }
        AttributeValue::M(m) => {
            out.extend_from_slice(b"{\"M\":");
            write_map(out, m)?;
        }
        AttributeValue::L(l) => {
            out.extend_from_slice(b"{\"L\":[");
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, e).map_err(|e| UnknownType(format!("[{i}]{}", e.0)))?;
            }
            out.push(b']');
        }
        AttributeValue::Null(b) => {
            out.extend_from_slice(if *b {
                b"{\"NULL\":true"
            } else {
                b"{\"NULL\":false"
            });
        }
        AttributeValue::Bool(b) => {
            out.extend_from_slice(if *b {
                b"{\"BOOL\":true"
            } else {
                b"{\"BOOL\":false"
            });
        }
        _ => return Err(UnknownType(String::new())),
    }
    out.push(b'}');
    Ok(())
}

fn write_strings_in_order(out: &mut Vec<u8>, v: &[String]) {
    out.push(b'[');
    for (i, s) in v.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, s);
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::Blob;

    #[test]
    fn items_are_dynamodb_json_with_sorted_names_and_sets() {
        let mut inner = HashMap::new();
        inner.insert("z".to_string(), AttributeValue::Null(true));
        inner.insert("a".to_string(), AttributeValue::Bool(false));
        let mut item = HashMap::new();
        item.insert("pk".to_string(), AttributeValue::S("x\"y\n".into()));
        item.insert("n".to_string(), AttributeValue::N("-1.50".into()));
        item.insert(
            "b".to_string(),
            AttributeValue::B(Blob::new(vec![0u8, 255])),
        );
        item.insert(
            "ss".to_string(),
            AttributeValue::Ss(vec!["b".into(), "a".into()]),
        );
        item.insert(
            "ns".to_string(),
            AttributeValue::Ns(vec!["10".into(), "2".into()]),
        );
        item.insert(
            "bs".to_string(),
            AttributeValue::Bs(vec![Blob::new(vec![2u8]), Blob::new(vec![1u8])]),
        );
        item.insert("m".to_string(), AttributeValue::M(inner));
        item.insert(
            "l".to_string(),
            AttributeValue::L(vec![
                AttributeValue::N("1".into()),
                AttributeValue::S("".into()),
            ]),
        );
        let mut out = Vec::new();
        write_item(&mut out, &item).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            concat!(
                r#"{"Item":{"b":{"B":"AP8="},"bs":{"BS":["AQ==","Ag=="]},"l":{"L":[{"N":"1"},{"S":""}]},"#,
                r#""m":{"M":{"a":{"BOOL":false},"z":{"NULL":true}}},"n":{"N":"-1.50"},"ns":{"NS":["10","2"]},"#,
                r#""pk":{"S":"x\"y\n"},"ss":{"SS":["a","b"]}}}"#,
                "\n"
            )
        );
    }
}
