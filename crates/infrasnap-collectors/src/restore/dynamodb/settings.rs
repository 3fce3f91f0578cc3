//! The settings of a live table put back, field by field as the plan's update lists them
//! (`infrasnap_core::restore::plan::table`): provisioned capacity and billing mode in one
//! UpdateTable, the stream (disabled first when its view type changes), TTL (disabled first when
//! its attribute changes), point-in-time recovery, tags (TagResource / UntagResource), and each
//! Application Auto Scaling target with its policies. Each UpdateTable waits for the table to be
//! ACTIVE again before the next call. Also the autoscaling of a table created anew.

use std::time::Duration;

use aws_sdk_applicationautoscaling as aas;
use aws_sdk_dynamodb::types::{
    BillingMode, GlobalSecondaryIndexUpdate, PointInTimeRecoverySpecification,
    ProvisionedThroughput, StreamSpecification, StreamViewType, TableDescription, Tag,
    TimeToLiveSpecification, UpdateGlobalSecondaryIndexAction,
};
use aws_sdk_dynamodb::Client;
use infrasnap_core::restore::plan::table::{
    self, BILLING_MODE, GSI_PREFIX, PITR, SCALING_PREFIX, STREAM, TAGS, THROUGHPUT, TTL,
};
use infrasnap_core::restore::{FieldValues, Step};
use serde_json::Value;

use super::super::{Context, WriteError};

fn built<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, WriteError> {
    r.map_err(|e| WriteError::new(e.to_string()))
}

/// Wait until the table and its indexes are ACTIVE (at most five minutes); its description.
pub(super) async fn wait_active(c: &Client, name: &str) -> Result<TableDescription, WriteError> {
    let mut last = None;
    for _ in 0..300 {
        let d = c
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("dynamodb:DescribeTable {name}"), &e))?;
        if let Some(t) = d.table {
            let active = t.table_status().map(|s| s.as_str()) == Some("ACTIVE")
                && t.global_secondary_indexes()
                    .iter()
                    .all(|g| g.index_status().is_none_or(|s| s.as_str() == "ACTIVE"));
            if active {
                return Ok(t);
            }
            last = Some(t);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    last.ok_or_else(|| WriteError::new(format!("dynamodb:DescribeTable {name}: no table")))
}

/// A StreamSpecification from its JSON (`{"StreamEnabled": .., "StreamViewType": ..}`).
pub(super) fn stream_spec(v: &Value) -> Result<StreamSpecification, WriteError> {
    let on = v.get("StreamEnabled").and_then(Value::as_bool) == Some(true);
    built(
        StreamSpecification::builder()
            .stream_enabled(on)
            .set_stream_view_type(
                v.get("StreamViewType")
                    .and_then(Value::as_str)
                    .filter(|_| on)
                    .map(StreamViewType::from),
            )
            .build(),
    )
}

fn aas_client(cx: &Context, region: &str) -> aas::Client {
    let conf = aas::config::Builder::from(&cx.sdk)
        .region(aas::config::Region::new(region.to_string()))
        .build();
    aas::Client::from_conf(conf)
}

/// The scalable target of `key` as the snapshot's document has it (for its role).
fn raw_target<'a>(doc: &'a Value, key: &str) -> Option<&'a Value> {
    doc.get("AutoScaling")
        .and_then(Value::as_array)?
        .iter()
        .find(|t| {
            let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or_default();
            table::scaling_key(s("ResourceId"), s("ScalableDimension")).as_deref() == Some(key)
        })
}

/// Put one scalable target as `want` says (None: deregister it, with its policies), deleting
/// the policies `live` has that `want` lacks.
async fn put_scaling(
    a: &aas::Client,
    name: &str,
    key: &str,
    want: Option<&Value>,
    live: Option<&Value>,
    doc: &Value,
) -> Result<(), WriteError> {
    use aas::types::{
        MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
        SuspendedState, TargetTrackingScalingPolicyConfiguration,
    };
    let (rid, dim) = table::scaling_target(name, key);
    let what = format!("{rid} {dim}");
    let Some(want) = want else {
        a.deregister_scalable_target()
            .service_namespace(ServiceNamespace::Dynamodb)
            .resource_id(&rid)
            .scalable_dimension(ScalableDimension::from(dim.as_str()))
            .send()
            .await
            .map_err(|e| {
                WriteError::sdk(
                    &format!("application-autoscaling:DeregisterScalableTarget {what}"),
                    &e,
                )
            })?;
        return Ok(());
    };
    let int = |v: &Value, k: &str| v.get(k).and_then(Value::as_i64).map(|n| n as i32);
    let flag = |k: &str| want.pointer(&format!("/SuspendedState/{k}")) == Some(&Value::Bool(true));
    // The service-linked role is the one Application Auto Scaling uses without being told; a
    // role of the account's own is passed on.
    let role = raw_target(doc, key)
        .and_then(|t| t.get("RoleARN"))
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty() && !r.contains(":role/aws-service-role/"));
    a.register_scalable_target()
        .service_namespace(ServiceNamespace::Dynamodb)
        .resource_id(&rid)
        .scalable_dimension(ScalableDimension::from(dim.as_str()))
        .set_min_capacity(int(want, "MinCapacity"))
        .set_max_capacity(int(want, "MaxCapacity"))
        .set_role_arn(role.map(str::to_string))
        .set_suspended_state(want.get("SuspendedState").map(|_| {
            SuspendedState::builder()
                .dynamic_scaling_in_suspended(flag("DynamicScalingInSuspended"))
                .dynamic_scaling_out_suspended(flag("DynamicScalingOutSuspended"))
                .scheduled_scaling_suspended(flag("ScheduledScalingSuspended"))
                .build()
        }))
        .send()
        .await
        .map_err(|e| {
            WriteError::sdk(
                &format!("application-autoscaling:RegisterScalableTarget {what}"),
                &e,
            )
        })?;
    let empty = serde_json::Map::new();
    let policies = |v: Option<&Value>| -> serde_json::Map<String, Value> {
        v.and_then(|v| v.get("Policies"))
            .and_then(Value::as_object)
            .unwrap_or(&empty)
            .clone()
    };
    let (wp, lp) = (policies(Some(want)), policies(live));
    for (pname, p) in &wp {
        let tt = p
            .get("TargetTrackingScalingPolicyConfiguration")
            .cloned()
            .unwrap_or_default();
        let metric = tt
            .get("PredefinedMetricType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let conf = built(
            TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(
                    tt.get("TargetValue")
                        .and_then(Value::as_f64)
                        .unwrap_or(70.0),
                )
                .predefined_metric_specification(built(
                    PredefinedMetricSpecification::builder()
                        .predefined_metric_type(MetricType::from(metric))
                        .build(),
                )?)
                .set_scale_in_cooldown(int(&tt, "ScaleInCooldown"))
                .set_scale_out_cooldown(int(&tt, "ScaleOutCooldown"))
                .set_disable_scale_in(tt.get("DisableScaleIn").and_then(Value::as_bool))
                .build(),
        )?;
        a.put_scaling_policy()
            .policy_name(pname)
            .service_namespace(ServiceNamespace::Dynamodb)
            .resource_id(&rid)
            .scalable_dimension(ScalableDimension::from(dim.as_str()))
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(conf)
            .send()
            .await
            .map_err(|e| {
                WriteError::sdk(
                    &format!("application-autoscaling:PutScalingPolicy {pname} on {what}"),
                    &e,
                )
            })?;
    }
    for pname in lp.keys().filter(|n| !wp.contains_key(*n)) {
        a.delete_scaling_policy()
            .policy_name(pname)
            .service_namespace(ServiceNamespace::Dynamodb)
            .resource_id(&rid)
            .scalable_dimension(ScalableDimension::from(dim.as_str()))
            .send()
            .await
            .map_err(|e| {
                WriteError::sdk(
                    &format!("application-autoscaling:DeleteScalingPolicy {pname} on {what}"),
                    &e,
                )
            })?;
    }
    Ok(())
}

/// The autoscaling of a table created anew: every target of the snapshot, with its policies.
pub(super) async fn scaling_of_new_table(
    cx: &Context,
    step: &Step,
    doc: &Value,
) -> Result<(), WriteError> {
    let state = table::state(doc);
    let Some(targets) = state.get("AutoScaling").and_then(Value::as_object) else {
        return Ok(());
    };
    if targets.is_empty() {
        return Ok(());
    }
    let a = aas_client(cx, &step.target.region);
    for (key, t) in targets {
        put_scaling(&a, &step.target.id, key, Some(t), None, doc).await?;
    }
    Ok(())
}

/// The capacity `dim` for an UpdateTable: the plan's snapshot value; a dimension autoscaling
/// manages (left out of the plan) keeps its live value, or takes the snapshot's when there is
/// none live (an on-demand table made provisioned).
fn units(want: Option<&Value>, live: Option<i64>, snap: Option<&Value>, dim: &str) -> i64 {
    want.and_then(|w| w.get(dim))
        .and_then(Value::as_i64)
        .or(live.filter(|n| *n > 0))
        .or_else(|| {
            snap.and_then(|s| s.pointer(&format!("/ProvisionedThroughput/{dim}")))
                .and_then(Value::as_i64)
        })
        .unwrap_or(1)
        .max(1)
}

fn throughput(
    want: Option<&Value>,
    live: Option<&aws_sdk_dynamodb::types::ProvisionedThroughputDescription>,
    snap: Option<&Value>,
) -> Result<ProvisionedThroughput, WriteError> {
    built(
        ProvisionedThroughput::builder()
            .read_capacity_units(units(
                want,
                live.and_then(|l| l.read_capacity_units()),
                snap,
                "ReadCapacityUnits",
            ))
            .write_capacity_units(units(
                want,
                live.and_then(|l| l.write_capacity_units()),
                snap,
                "WriteCapacityUnits",
            ))
            .build(),
    )
}

/// Put back each field of a live table's update.
pub(super) async fn update(
    cx: &Context,
    c: &Client,
    step: &Step,
    fields: &[FieldValues],
) -> Result<(), WriteError> {
    let name = step.target.id.as_str();
    let doc = cx.document(step)?;
    let desc = wait_active(c, name).await?;
    let field = |at: &str| fields.iter().find(|f| f.field == at);
    // 1. Billing mode and provisioned capacity, in one UpdateTable.
    let gsi_fields: Vec<(&str, &FieldValues)> = fields
        .iter()
        .filter_map(|f| {
            let rest = f.field.strip_prefix(GSI_PREFIX)?;
            Some((rest.strip_suffix("/ProvisionedThroughput")?, f))
        })
        .collect();
    // Anything else is a field this writer does not know: say so rather than skip it.
    let known = |f: &FieldValues| {
        [BILLING_MODE, THROUGHPUT, STREAM, TTL, PITR, TAGS].contains(&f.field.as_str())
            || f.field.starts_with(SCALING_PREFIX)
            || gsi_fields.iter().any(|(_, g)| g.field == f.field)
    };
    if let Some(f) = fields.iter().find(|f| !known(f)) {
        return Err(WriteError::new(format!(
            "{}: this infrasnap cannot put back the table field `{}`",
            step.what(),
            f.field
        )));
    }
    let billing = field(BILLING_MODE);
    if billing.is_some() || field(THROUGHPUT).is_some() || !gsi_fields.is_empty() {
        let mode = billing
            .and_then(|f| f.snapshot.as_ref())
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                desc.billing_mode_summary()
                    .and_then(|b| b.billing_mode())
                    .map(|m| m.as_str().to_string())
            })
            .unwrap_or_else(|| "PROVISIONED".into());
        let mut req = c.update_table().table_name(name);
        if billing.is_some() {
            req = req.billing_mode(BillingMode::from(mode.as_str()));
        }
        if mode == "PROVISIONED" {
            let to_provisioned = billing.is_some();
            if to_provisioned || field(THROUGHPUT).is_some() {
                req = req.provisioned_throughput(throughput(
                    field(THROUGHPUT).and_then(|f| f.snapshot.as_ref()),
                    desc.provisioned_throughput(),
                    Some(&doc),
                )?);
            }
            // Made provisioned: every index needs its capacity too.
            for g in doc
                .get("GlobalSecondaryIndexes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let index = g.get("IndexName").and_then(Value::as_str).unwrap_or("?");
                let f = gsi_fields.iter().find(|(n, _)| *n == index).map(|x| x.1);
                if f.is_none() && !to_provisioned {
                    continue;
                }
                let live = desc
                    .global_secondary_indexes()
                    .iter()
                    .find(|l| l.index_name() == Some(index))
                    .and_then(|l| l.provisioned_throughput());
                req = req.global_secondary_index_updates(
                    GlobalSecondaryIndexUpdate::builder()
                        .update(built(
                            UpdateGlobalSecondaryIndexAction::builder()
                                .index_name(index)
                                .provisioned_throughput(throughput(
                                    f.and_then(|f| f.snapshot.as_ref()),
                                    live,
                                    Some(g),
                                )?)
                                .build(),
                        )?)
                        .build(),
                );
            }
        }
        req.send()
            .await
            .map_err(|e| WriteError::sdk(&format!("dynamodb:UpdateTable {name} (capacity)"), &e))?;
        wait_active(c, name).await?;
    }
    // 2. The stream: a view type cannot change while a stream is on, so it is turned off first.
    if let Some(f) = field(STREAM) {
        let want = f.snapshot.clone().unwrap_or_default();
        let live_on =
            f.live.as_ref().and_then(|l| l.get("StreamEnabled")) == Some(&Value::Bool(true));
        let want_on = want.get("StreamEnabled") == Some(&Value::Bool(true));
        if live_on {
            c.update_table()
                .table_name(name)
                .stream_specification(stream_spec(&serde_json::json!({"StreamEnabled": false}))?)
                .send()
                .await
                .map_err(|e| {
                    WriteError::sdk(&format!("dynamodb:UpdateTable {name} (stream off)"), &e)
                })?;
            wait_active(c, name).await?;
        }
        if want_on {
            c.update_table()
                .table_name(name)
                .stream_specification(stream_spec(&want)?)
                .send()
                .await
                .map_err(|e| {
                    WriteError::sdk(&format!("dynamodb:UpdateTable {name} (stream on)"), &e)
                })?;
            wait_active(c, name).await?;
        }
    }
    // 3. TTL: one attribute at a time, so a live one is turned off first.
    if let Some(f) = field(TTL) {
        let on = |v: Option<&Value>| {
            v.filter(|v| v.get("Enabled") == Some(&Value::Bool(true)))
                .and_then(|v| v.get("AttributeName"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let ttl = |enabled: bool, attr: String| {
            built(
                TimeToLiveSpecification::builder()
                    .enabled(enabled)
                    .attribute_name(attr)
                    .build(),
            )
        };
        if let Some(attr) = on(f.live.as_ref()) {
            c.update_time_to_live()
                .table_name(name)
                .time_to_live_specification(ttl(false, attr)?)
                .send()
                .await
                .map_err(|e| {
                    WriteError::sdk(&format!("dynamodb:UpdateTimeToLive {name} (off)"), &e)
                })?;
        }
        if let Some(attr) = on(f.snapshot.as_ref()) {
            c.update_time_to_live()
                .table_name(name)
                .time_to_live_specification(ttl(true, attr.clone())?)
                .send()
                .await
                .map_err(|e| {
                    WriteError::new(format!(
                        "{} (DynamoDB takes up to an hour to turn TTL off before it can be \
                         turned on again on `{attr}`: run the apply again later)",
                        WriteError::sdk(&format!("dynamodb:UpdateTimeToLive {name}"), &e).message
                    ))
                })?;
        }
    }
    // 4. Point-in-time recovery.
    if let Some(f) = field(PITR) {
        let want = f.snapshot.clone().unwrap_or_default();
        c.update_continuous_backups()
            .table_name(name)
            .point_in_time_recovery_specification(built(
                PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(want.get("Enabled") == Some(&Value::Bool(true)))
                    .set_recovery_period_in_days(
                        want.get("RecoveryPeriodInDays")
                            .and_then(Value::as_i64)
                            .map(|d| d as i32),
                    )
                    .build(),
            )?)
            .send()
            .await
            .map_err(|e| {
                WriteError::sdk(&format!("dynamodb:UpdateContinuousBackups {name}"), &e)
            })?;
    }
    // 5. Tags: made exactly the snapshot's.
    if let Some(f) = field(TAGS) {
        let arn = desc
            .table_arn()
            .ok_or_else(|| WriteError::new(format!("dynamodb:DescribeTable {name}: no ARN")))?;
        let empty = serde_json::Map::new();
        let map = |v: Option<&Value>| v.and_then(Value::as_object).unwrap_or(&empty).clone();
        let (want, live) = (map(f.snapshot.as_ref()), map(f.live.as_ref()));
        let gone: Vec<String> = live
            .keys()
            .filter(|k| !want.contains_key(*k))
            .cloned()
            .collect();
        if !gone.is_empty() {
            c.untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(gone))
                .send()
                .await
                .map_err(|e| WriteError::sdk(&format!("dynamodb:UntagResource {name}"), &e))?;
        }
        let put: Vec<Tag> = want
            .iter()
            .filter(|(k, v)| live.get(*k) != Some(v))
            .map(|(k, v)| {
                built(
                    Tag::builder()
                        .key(k)
                        .value(v.as_str().unwrap_or_default())
                        .build(),
                )
            })
            .collect::<Result<_, _>>()?;
        if !put.is_empty() {
            c.tag_resource()
                .resource_arn(arn)
                .set_tags(Some(put))
                .send()
                .await
                .map_err(|e| WriteError::sdk(&format!("dynamodb:TagResource {name}"), &e))?;
        }
    }
    // 6. Autoscaling, once the capacity is settled.
    let scaling: Vec<&FieldValues> = fields
        .iter()
        .filter(|f| f.field.starts_with(SCALING_PREFIX))
        .collect();
    if !scaling.is_empty() {
        let a = aas_client(cx, &step.target.region);
        for f in scaling {
            let key = &f.field[SCALING_PREFIX.len()..];
            put_scaling(&a, name, key, f.snapshot.as_ref(), f.live.as_ref(), &doc).await?;
        }
    }
    Ok(())
}
