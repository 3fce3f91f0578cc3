//! DynamoDB writer: a table (CreateTable from the captured definition: keys, attributes,
//! billing, indexes, stream; then TTL, point-in-time recovery, tags and Application Auto Scaling
//! targets and policies), the settings of a live table (each field of the plan's update put back
//! with its own call: UpdateTable, UpdateTimeToLive, UpdateContinuousBackups, Tag/UntagResource,
//! Register/DeregisterScalableTarget, Put/DeleteScalingPolicy), and its items (BatchWriteItem,
//! 25 at a time, unprocessed items sent again with backoff; with `--delete-extra`, a key-only
//! scan and BatchWriteItem deletes of the live items the snapshot lacks).

use std::collections::{BTreeSet, HashMap};
use std::io::BufRead;
use std::time::Duration;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, DeleteRequest, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, LocalSecondaryIndex, PointInTimeRecoverySpecification, Projection,
    ProjectionType, ProvisionedThroughput, PutRequest, ScalarAttributeType, Tag,
    TimeToLiveSpecification, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use base64::Engine;
use infrasnap_core::restore::{Action, Step, Subject};
use serde_json::Value;

use super::{Context, WriteError};

mod settings;

/// The kinds this writer restores.
pub const KINDS: &[&str] = &["aws.dynamodb.table"];

/// Items per BatchWriteItem (the service's limit).
const BATCH: usize = 25;

fn client(cx: &Context, region: &str) -> Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(&cx.sdk)
        .region(aws_sdk_dynamodb::config::Region::new(region.to_string()))
        .build();
    Client::from_conf(conf)
}

/// Write one table or items step.
pub async fn write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    let c = client(cx, &step.target.region);
    match (&step.subject, &step.action) {
        (Subject::Resource, Action::Update { fields, .. }) => {
            settings::update(cx, &c, step, fields).await
        }
        (Subject::Resource, _) => create_table(cx, &c, step).await,
        (
            Subject::Items {
                parts,
                key,
                delete_extra,
                ..
            },
            _,
        ) => items(cx, &c, &step.target.id, parts, key, *delete_extra).await,
        _ => Err(WriteError::new("not a table step")),
    }
}

fn s(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn key_schema(v: &Value) -> Result<Vec<KeySchemaElement>, WriteError> {
    v.get("KeySchema")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(s(k, "AttributeName"))
                .key_type(KeyType::from(s(k, "KeyType").as_str()))
                .build()
                .map_err(|e| WriteError::new(e.to_string()))
        })
        .collect()
}

fn projection(v: &Value) -> Projection {
    let p = v.get("Projection").cloned().unwrap_or_default();
    let nk: Vec<String> = p
        .get("NonKeyAttributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    Projection::builder()
        .projection_type(ProjectionType::from(
            p.get("ProjectionType")
                .and_then(Value::as_str)
                .unwrap_or("ALL"),
        ))
        .set_non_key_attributes((!nk.is_empty()).then_some(nk))
        .build()
}

fn throughput(v: &Value) -> Result<Option<ProvisionedThroughput>, WriteError> {
    let Some(p) = v.get("ProvisionedThroughput") else {
        return Ok(None);
    };
    let n = |k: &str| p.get(k).and_then(Value::as_i64).unwrap_or(0);
    if n("ReadCapacityUnits") == 0 && n("WriteCapacityUnits") == 0 {
        return Ok(None);
    }
    ProvisionedThroughput::builder()
        .read_capacity_units(n("ReadCapacityUnits").max(1))
        .write_capacity_units(n("WriteCapacityUnits").max(1))
        .build()
        .map(Some)
        .map_err(|e| WriteError::new(e.to_string()))
}

async fn create_table(cx: &Context, c: &Client, step: &Step) -> Result<(), WriteError> {
    let name = &step.target.id;
    let doc = cx.document(step)?;
    let on_demand = doc
        .pointer("/BillingModeSummary/BillingMode")
        .and_then(Value::as_str)
        == Some("PAY_PER_REQUEST")
        || throughput(&doc)?.is_none();
    let mut req = c
        .create_table()
        .table_name(name)
        .set_key_schema(Some(key_schema(&doc)?))
        .billing_mode(if on_demand {
            BillingMode::PayPerRequest
        } else {
            BillingMode::Provisioned
        });
    for d in doc
        .get("AttributeDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(s(d, "AttributeName"))
                .attribute_type(ScalarAttributeType::from(s(d, "AttributeType").as_str()))
                .build()
                .map_err(|e| WriteError::new(e.to_string()))?,
        );
    }
    if !on_demand {
        req = req.set_provisioned_throughput(throughput(&doc)?);
    }
    for g in doc
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut b = GlobalSecondaryIndex::builder()
            .index_name(s(g, "IndexName"))
            .set_key_schema(Some(key_schema(g)?))
            .projection(projection(g));
        if !on_demand {
            b = b.set_provisioned_throughput(throughput(g)?);
        }
        req = req.global_secondary_indexes(b.build().map_err(|e| WriteError::new(e.to_string()))?);
    }
    for l in doc
        .get("LocalSecondaryIndexes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        req = req.local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name(s(l, "IndexName"))
                .set_key_schema(Some(key_schema(l)?))
                .projection(projection(l))
                .build()
                .map_err(|e| WriteError::new(e.to_string()))?,
        );
    }
    if let Some(spec) = doc
        .get("StreamSpecification")
        .filter(|v| v.get("StreamEnabled") == Some(&Value::Bool(true)))
    {
        req = req.stream_specification(settings::stream_spec(spec)?);
    }
    match req.send().await {
        Ok(_) => {}
        Err(e)
            if crate::aws::sdk_error::describe(&e).code.as_deref()
                == Some("ResourceInUseException") => {} // created by an earlier, killed run
        Err(e) => return Err(WriteError::sdk(&format!("dynamodb:CreateTable {name}"), &e)),
    }
    let arn = settings::wait_active(c, name)
        .await?
        .table_arn()
        .map(str::to_string);
    if doc
        .pointer("/TimeToLive/TimeToLiveStatus")
        .and_then(Value::as_str)
        == Some("ENABLED")
    {
        let attr = doc
            .pointer("/TimeToLive/AttributeName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        c.update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(attr)
                    .build()
                    .map_err(|e| WriteError::new(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("dynamodb:UpdateTimeToLive {name}"), &e))?;
    }
    let pitr = doc.pointer("/ContinuousBackups/PointInTimeRecoveryDescription");
    if pitr
        .and_then(|p| p.get("PointInTimeRecoveryStatus"))
        .and_then(Value::as_str)
        == Some("ENABLED")
    {
        c.update_continuous_backups()
            .table_name(name)
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .set_recovery_period_in_days(
                        pitr.and_then(|p| p.get("RecoveryPeriodInDays"))
                            .and_then(Value::as_i64)
                            .map(|d| d as i32),
                    )
                    .build()
                    .map_err(|e| WriteError::new(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| {
                WriteError::sdk(&format!("dynamodb:UpdateContinuousBackups {name}"), &e)
            })?;
    }
    let tags: Vec<Tag> = doc
        .get("Tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Tag::builder()
                .key(s(t, "Key"))
                .value(s(t, "Value"))
                .build()
                .ok()
        })
        .collect();
    if let (Some(arn), false) = (arn, tags.is_empty()) {
        c.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("dynamodb:TagResource {name}"), &e))?;
    }
    settings::scaling_of_new_table(cx, step, &doc).await
}

/// An attribute value from DynamoDB JSON (`{"S": "x"}`, `{"M": {...}}`, ...).
pub fn attr(v: &Value) -> Result<AttributeValue, WriteError> {
    let bad = || WriteError::new(format!("not a DynamoDB JSON value: {v}"));
    let (t, x) = v
        .as_object()
        .and_then(|m| m.iter().next())
        .ok_or_else(bad)?;
    let b64 = |s: &Value| -> Result<Blob, WriteError> {
        let text = s.as_str().ok_or_else(bad)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(Blob::new)
            .map_err(|e| WriteError::new(format!("binary attribute: {e}")))
    };
    let strings = |x: &Value| -> Result<Vec<String>, WriteError> {
        x.as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|s| s.as_str().map(str::to_string).ok_or_else(bad))
            .collect()
    };
    Ok(match t.as_str() {
        "S" => AttributeValue::S(x.as_str().ok_or_else(bad)?.to_string()),
        "N" => AttributeValue::N(x.as_str().ok_or_else(bad)?.to_string()),
        "B" => AttributeValue::B(b64(x)?),
        "BOOL" => AttributeValue::Bool(x.as_bool().ok_or_else(bad)?),
        "NULL" => AttributeValue::Null(x.as_bool().unwrap_or(true)),
        "SS" => AttributeValue::Ss(strings(x)?),
        "NS" => AttributeValue::Ns(strings(x)?),
        "BS" => AttributeValue::Bs(
            x.as_array()
                .ok_or_else(bad)?
                .iter()
                .map(b64)
                .collect::<Result<_, _>>()?,
        ),
        "L" => AttributeValue::L(
            x.as_array()
                .ok_or_else(bad)?
                .iter()
                .map(attr)
                .collect::<Result<_, _>>()?,
        ),
        "M" => AttributeValue::M(item(x)?),
        _ => return Err(bad()),
    })
}

/// An item from DynamoDB JSON (`{"attr": {"S": "x"}, ...}`).
pub fn item(v: &Value) -> Result<HashMap<String, AttributeValue>, WriteError> {
    v.as_object()
        .ok_or_else(|| WriteError::new("an item is a JSON object"))?
        .iter()
        .map(|(k, v)| Ok((k.clone(), attr(v)?)))
        .collect()
}

/// The key text of an item in DynamoDB JSON, as the plan computes it.
fn key_text(item: &Value, key: &[String]) -> String {
    if key.is_empty() {
        return item.to_string();
    }
    Value::Array(
        key.iter()
            .map(|a| item.get(a).cloned().unwrap_or(Value::Null))
            .collect(),
    )
    .to_string()
}

/// Send write requests 25 at a time; unprocessed ones again with backoff.
async fn batch_write(c: &Client, table: &str, reqs: Vec<WriteRequest>) -> Result<(), WriteError> {
    for chunk in reqs.chunks(BATCH) {
        let mut pending = chunk.to_vec();
        let mut delay = Duration::from_millis(50);
        for attempt in 0.. {
            let out = c
                .batch_write_item()
                .request_items(table, pending.clone())
                .send()
                .await
                .map_err(|e| WriteError::sdk(&format!("dynamodb:BatchWriteItem {table}"), &e))?;
            pending = out
                .unprocessed_items()
                .and_then(|m| m.get(table))
                .cloned()
                .unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            if attempt >= 10 {
                return Err(WriteError::new(format!(
                    "dynamodb:BatchWriteItem {table}: {} items still unprocessed after 10 \
                     attempts (throttled); run the apply again to resume",
                    pending.len()
                )));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }
    Ok(())
}

async fn items(
    cx: &Context,
    c: &Client,
    table: &str,
    parts: &[infrasnap_core::ids::BlobId],
    key: &[String],
    delete_extra: bool,
) -> Result<(), WriteError> {
    let mut puts = Vec::new();
    let mut keys = BTreeSet::new();
    for blob in parts {
        let p = cx.blob_path(blob);
        let f = std::fs::File::open(&p)
            .map_err(|e| WriteError::new(format!("open {}: {e}", p.display())))?;
        for line in std::io::BufReader::new(flate2::read::MultiGzDecoder::new(f)).lines() {
            let line = line.map_err(|e| WriteError::new(format!("read {}: {e}", p.display())))?;
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(&line)
                .map_err(|e| WriteError::new(format!("{}: {e}", p.display())))?;
            let it = v.get("Item").cloned().unwrap_or_default();
            keys.insert(key_text(&it, key));
            puts.push(
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item(&it)?))
                            .build()
                            .map_err(|e| WriteError::new(e.to_string()))?,
                    )
                    .build(),
            );
        }
    }
    batch_write(c, table, puts).await?;
    if delete_extra && !key.is_empty() {
        let names: HashMap<String, String> = key
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("#k{i}"), k.clone()))
            .collect();
        let projection = (0..key.len())
            .map(|i| format!("#k{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut deletes = Vec::new();
        let mut start = None;
        loop {
            let out = c
                .scan()
                .table_name(table)
                .projection_expression(&projection)
                .set_expression_attribute_names(Some(names.clone()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| WriteError::sdk(&format!("dynamodb:Scan {table}"), &e))?;
            for k in out.items() {
                let mut line = Vec::new();
                crate::aws::dynamodb::json::write_item(&mut line, k)
                    .map_err(|e| WriteError::new(format!("attribute type {}", e.0)))?;
                let v: Value = serde_json::from_slice(&line).unwrap_or_default();
                if !keys.contains(&key_text(&v["Item"], key)) {
                    deletes.push(
                        WriteRequest::builder()
                            .delete_request(
                                DeleteRequest::builder()
                                    .set_key(Some(k.clone()))
                                    .build()
                                    .map_err(|e| WriteError::new(e.to_string()))?,
                            )
                            .build(),
                    );
                }
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        batch_write(c, table, deletes).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dynamodb_json_becomes_attribute_values() {
        let it = item(&json!({
            "pk": {"S": "user#1"}, "n": {"N": "42"}, "b": {"B": "AAE="},
            "ok": {"BOOL": true}, "nil": {"NULL": true}, "ss": {"SS": ["a", "b"]},
            "l": {"L": [{"N": "1"}, {"M": {"x": {"S": "y"}}}]},
        }))
        .unwrap();
        assert_eq!(it["pk"], AttributeValue::S("user#1".into()));
        assert_eq!(it["b"], AttributeValue::B(Blob::new(vec![0, 1])));
        assert_eq!(it["ss"], AttributeValue::Ss(vec!["a".into(), "b".into()]));
        match &it["l"] {
            AttributeValue::L(l) => assert_eq!(l.len(), 2),
            other => panic!("{other:?}"),
        }
        assert!(attr(&json!({"X": 1})).is_err());
    }
}
