//! The S3 bucket settings whose API shapes are deep: lifecycle, notifications, replication,
//! logging and the ACL, and a website's routing rules. Each is rebuilt as the SDK's request type
//! from the JSON the collector captured (`aws/s3/bucket_config.rs`, the API's own shapes), by a
//! pure function ([`lifecycle`], [`notifications`], [`replication`], [`logging`], [`acl`],
//! [`routing_rules`]), and sent by [`write`]. The simpler settings stay in `s3.rs`, which hands
//! these names here.
//!
//! When each is written is the plan's business (`stage()` in infrasnap-core's `restore/plan.rs`):
//! the ACL after the ownership controls, logging and replication after the buckets they name
//! and their ACLs, policies and versioning, notifications after the Lambda functions they call.

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, AccessControlPolicy, AccessControlTranslation,
    BucketLifecycleConfiguration, BucketLoggingStatus, BucketLogsPermission, Condition,
    DeleteMarkerReplication, DeleteMarkerReplicationStatus, Destination, EncryptionConfiguration,
    Event, EventBridgeConfiguration, ExistingObjectReplication, ExistingObjectReplicationStatus,
    ExpirationStatus, FilterRule, FilterRuleName, Grant, Grantee, LambdaFunctionConfiguration,
    LifecycleExpiration, LifecycleRule, LifecycleRuleAndOperator, LifecycleRuleFilter,
    LoggingEnabled, Metrics, MetricsStatus, NoncurrentVersionExpiration,
    NoncurrentVersionTransition, NotificationConfiguration, NotificationConfigurationFilter, Owner,
    OwnerOverride, PartitionDateSource, PartitionedPrefix, Permission, Protocol,
    QueueConfiguration, Redirect, ReplicaModifications, ReplicaModificationsStatus,
    ReplicationConfiguration, ReplicationRule, ReplicationRuleAndOperator, ReplicationRuleFilter,
    ReplicationRuleStatus, ReplicationTime, ReplicationTimeStatus, ReplicationTimeValue,
    RoutingRule, S3KeyFilter, SimplePrefix, SourceSelectionCriteria, SseKmsEncryptedObjects,
    SseKmsEncryptedObjectsStatus, StorageClass, Tag, TargetGrant, TargetObjectKeyFormat,
    TopicConfiguration, Transition, TransitionDefaultMinimumObjectSize, TransitionStorageClass,
    Type,
};
use aws_sdk_s3::Client;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde_json::Value;

use super::WriteError;

/// The bucket settings written here (`s3.rs` lists them in its `SETTINGS` too).
pub const SETTINGS: &[&str] = &[
    "lifecycle",
    "notifications",
    "replication",
    "logging",
    "acl",
];

/// Why a captured value cannot become a request.
type Conv<T> = Result<T, String>;

/// Put one of [`SETTINGS`] back on `bucket` (or take it away, where the snapshot had none).
pub(super) async fn write(
    c: &Client,
    bucket: &str,
    name: &str,
    present: bool,
    v: &Value,
) -> Result<(), WriteError> {
    let call = |op: &str| format!("s3:{op} on {bucket}");
    let bad = |e: String| {
        WriteError::new(format!(
            "the snapshot's `{name}` setting cannot be sent back: {e}"
        ))
    };
    match (name, present) {
        ("lifecycle", true) => {
            let (conf, min_size) = lifecycle(v).map_err(bad)?;
            c.put_bucket_lifecycle_configuration()
                .bucket(bucket)
                .lifecycle_configuration(conf)
                .set_transition_default_minimum_object_size(min_size)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutBucketLifecycleConfiguration"), &e))?;
        }
        ("lifecycle", false) => {
            c.delete_bucket_lifecycle()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("DeleteBucketLifecycle"), &e))?;
        }
        // No Delete call: an empty configuration turns every notification off.
        ("notifications", _) => {
            let conf = notifications(present.then_some(v)).map_err(bad)?;
            c.put_bucket_notification_configuration()
                .bucket(bucket)
                .notification_configuration(conf)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutBucketNotificationConfiguration"), &e))?;
        }
        ("replication", true) => {
            c.put_bucket_replication()
                .bucket(bucket)
                .replication_configuration(replication(v).map_err(bad)?)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutBucketReplication"), &e))?;
        }
        ("replication", false) => {
            c.delete_bucket_replication()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("DeleteBucketReplication"), &e))?;
        }
        // No Delete call: an empty logging status turns logging off.
        ("logging", _) => {
            c.put_bucket_logging()
                .bucket(bucket)
                .bucket_logging_status(logging(present.then_some(v)).map_err(bad)?)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutBucketLogging"), &e))?;
        }
        ("acl", true) => {
            // The bucket's owner is whoever owns it now (its account): S3 never changes the
            // owner through an ACL, and the snapshot's owner is another account's canonical id
            // when the restore goes to another account.
            let live = c
                .get_bucket_acl()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("GetBucketAcl"), &e))?;
            let owner = live.owner().cloned().ok_or_else(|| {
                WriteError::new(format!(
                    "s3:GetBucketAcl on {bucket} named no owner: cannot write its ACL"
                ))
            })?;
            c.put_bucket_acl()
                .bucket(bucket)
                .access_control_policy(acl(v, &owner).map_err(bad)?)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutBucketAcl"), &e))?;
        }
        ("acl", false) => {
            return Err(WriteError::new(
                "every bucket has an ACL, and the snapshot recorded none for this one: nothing \
                 to put back",
            ))
        }
        (other, _) => {
            return Err(WriteError::new(format!(
                "no writer for the bucket setting `{other}`"
            )))
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reading the captured JSON
// ---------------------------------------------------------------------------------------------

fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

/// A string member that means something only when non-empty (a grantee's `ID` or `URI`: some
/// servers send `""` for the ones a grantee does not have).
fn nonempty(v: &Value, k: &str) -> Option<String> {
    text(v, k).filter(|s| !s.is_empty())
}

fn int(v: &Value, k: &str) -> Option<i32> {
    v.get(k)
        .and_then(Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())
}

fn long(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(Value::as_i64)
}

fn items<'a>(v: &'a Value, k: &str) -> impl Iterator<Item = &'a Value> {
    v.get(k).and_then(Value::as_array).into_iter().flatten()
}

fn strings(v: &Value, k: &str) -> Vec<String> {
    items(v, k)
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// A date as the capture writes it: RFC 3339, or epoch seconds.
fn date(v: &Value, k: &str) -> Conv<Option<DateTime>> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => DateTime::from_str(s, Format::DateTime)
            .map(Some)
            .map_err(|e| format!("`{k}` {s:?} is not an RFC 3339 date: {e}")),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(|s| Some(DateTime::from_secs(s)))
            .ok_or_else(|| format!("`{k}` {n} is not a date")),
        Some(other) => Err(format!("`{k}` {other} is not a date")),
    }
}

fn tag(v: &Value) -> Conv<Tag> {
    Tag::builder()
        .set_key(text(v, "Key"))
        .set_value(text(v, "Value"))
        .build()
        .map_err(|e| e.to_string())
}

fn tags(v: &Value, k: &str) -> Conv<Option<Vec<Tag>>> {
    match v.get(k) {
        None => Ok(None),
        Some(_) => items(v, k).map(tag).collect::<Conv<Vec<_>>>().map(Some),
    }
}

fn status<T: for<'a> From<&'a str>>(v: &Value) -> Option<T> {
    v.get("Status").and_then(Value::as_str).map(T::from)
}

// ---------------------------------------------------------------------------------------------
// JSON → request, one per setting
// ---------------------------------------------------------------------------------------------

/// `{"Rules":[...],"TransitionDefaultMinimumObjectSize":..}` → PutBucketLifecycleConfiguration's
/// body and header.
pub fn lifecycle(
    v: &Value,
) -> Conv<(
    BucketLifecycleConfiguration,
    Option<TransitionDefaultMinimumObjectSize>,
)> {
    let rules = items(v, "Rules")
        .map(lifecycle_rule)
        .collect::<Conv<Vec<_>>>()?;
    let conf = BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .map_err(|e| e.to_string())?;
    let min_size = v
        .get("TransitionDefaultMinimumObjectSize")
        .and_then(Value::as_str)
        .map(TransitionDefaultMinimumObjectSize::from);
    Ok((conf, min_size))
}

#[allow(deprecated)] // the rule-level `Prefix` is deprecated, but old rules still carry it
fn lifecycle_rule(r: &Value) -> Conv<LifecycleRule> {
    let filter = match r.get("Filter") {
        None => None,
        Some(f) => {
            let and = match f.get("And") {
                None => None,
                Some(a) => Some(
                    LifecycleRuleAndOperator::builder()
                        .set_prefix(text(a, "Prefix"))
                        .set_tags(tags(a, "Tags")?)
                        .set_object_size_greater_than(long(a, "ObjectSizeGreaterThan"))
                        .set_object_size_less_than(long(a, "ObjectSizeLessThan"))
                        .build(),
                ),
            };
            Some(
                LifecycleRuleFilter::builder()
                    .set_prefix(text(f, "Prefix"))
                    .set_tag(f.get("Tag").map(tag).transpose()?)
                    .set_object_size_greater_than(long(f, "ObjectSizeGreaterThan"))
                    .set_object_size_less_than(long(f, "ObjectSizeLessThan"))
                    .set_and(and)
                    .build(),
            )
        }
    };
    let expiration = match r.get("Expiration") {
        None => None,
        Some(x) => Some(
            LifecycleExpiration::builder()
                .set_date(date(x, "Date")?)
                .set_days(int(x, "Days"))
                .set_expired_object_delete_marker(
                    x.get("ExpiredObjectDeleteMarker").and_then(Value::as_bool),
                )
                .build(),
        ),
    };
    let transitions = items(r, "Transitions")
        .map(|t| {
            Ok(Transition::builder()
                .set_date(date(t, "Date")?)
                .set_days(int(t, "Days"))
                .set_storage_class(
                    t.get("StorageClass")
                        .and_then(Value::as_str)
                        .map(TransitionStorageClass::from),
                )
                .build())
        })
        .collect::<Conv<Vec<_>>>()?;
    let noncurrent_transitions = items(r, "NoncurrentVersionTransitions")
        .map(|t| {
            NoncurrentVersionTransition::builder()
                .set_noncurrent_days(int(t, "NoncurrentDays"))
                .set_storage_class(
                    t.get("StorageClass")
                        .and_then(Value::as_str)
                        .map(TransitionStorageClass::from),
                )
                .set_newer_noncurrent_versions(int(t, "NewerNoncurrentVersions"))
                .build()
        })
        .collect::<Vec<_>>();
    LifecycleRule::builder()
        .set_id(text(r, "ID"))
        .set_status(status::<ExpirationStatus>(r))
        .set_prefix(text(r, "Prefix"))
        .set_filter(filter)
        .set_expiration(expiration)
        .set_transitions((!transitions.is_empty()).then_some(transitions))
        .set_noncurrent_version_transitions(
            (!noncurrent_transitions.is_empty()).then_some(noncurrent_transitions),
        )
        .set_noncurrent_version_expiration(r.get("NoncurrentVersionExpiration").map(|e| {
            NoncurrentVersionExpiration::builder()
                .set_noncurrent_days(int(e, "NoncurrentDays"))
                .set_newer_noncurrent_versions(int(e, "NewerNoncurrentVersions"))
                .build()
        }))
        .set_abort_incomplete_multipart_upload(r.get("AbortIncompleteMultipartUpload").map(|a| {
            AbortIncompleteMultipartUpload::builder()
                .set_days_after_initiation(int(a, "DaysAfterInitiation"))
                .build()
        }))
        .build()
        .map_err(|e| e.to_string())
}

/// The topic, queue and Lambda configurations (and EventBridge) → the
/// PutBucketNotificationConfiguration body; `None` (no notifications) → an empty one, which is
/// how S3 turns them all off.
pub fn notifications(v: Option<&Value>) -> Conv<NotificationConfiguration> {
    let mut b = NotificationConfiguration::builder();
    let Some(v) = v else {
        return Ok(b.build());
    };
    let events = |c: &Value| -> Vec<Event> {
        strings(c, "Events")
            .iter()
            .map(|e| Event::from(e.as_str()))
            .collect()
    };
    for c in items(v, "TopicConfigurations") {
        b = b.topic_configurations(
            TopicConfiguration::builder()
                .set_id(text(c, "Id"))
                .set_topic_arn(text(c, "TopicArn"))
                .set_events(Some(events(c)))
                .set_filter(notification_filter(c))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    for c in items(v, "QueueConfigurations") {
        b = b.queue_configurations(
            QueueConfiguration::builder()
                .set_id(text(c, "Id"))
                .set_queue_arn(text(c, "QueueArn"))
                .set_events(Some(events(c)))
                .set_filter(notification_filter(c))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    for c in items(v, "LambdaFunctionConfigurations") {
        b = b.lambda_function_configurations(
            LambdaFunctionConfiguration::builder()
                .set_id(text(c, "Id"))
                .set_lambda_function_arn(text(c, "LambdaFunctionArn"))
                .set_events(Some(events(c)))
                .set_filter(notification_filter(c))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    if v.get("EventBridgeConfiguration").is_some() {
        b = b.event_bridge_configuration(EventBridgeConfiguration::builder().build());
    }
    Ok(b.build())
}

/// A configuration's key filter; the rule names (`prefix`/`suffix`, any case) as captured.
fn notification_filter(c: &Value) -> Option<NotificationConfigurationFilter> {
    let f = c.get("Filter")?;
    let key = f.get("Key").map(|k| {
        S3KeyFilter::builder()
            .set_filter_rules(Some(
                items(k, "FilterRules")
                    .map(|r| {
                        FilterRule::builder()
                            .set_name(text(r, "Name").map(|n| FilterRuleName::from(n.as_str())))
                            .set_value(text(r, "Value"))
                            .build()
                    })
                    .collect(),
            ))
            .build()
    });
    Some(
        NotificationConfigurationFilter::builder()
            .set_key(key)
            .build(),
    )
}

/// `{"ReplicationConfiguration":{"Role":..,"Rules":[...]}}` → PutBucketReplication's body.
pub fn replication(v: &Value) -> Conv<ReplicationConfiguration> {
    let c = v.get("ReplicationConfiguration").unwrap_or(v);
    let rules = items(c, "Rules")
        .map(replication_rule)
        .collect::<Conv<Vec<_>>>()?;
    ReplicationConfiguration::builder()
        .set_role(text(c, "Role"))
        .set_rules(Some(rules))
        .build()
        .map_err(|e| e.to_string())
}

#[allow(deprecated)] // the rule-level `Prefix` is deprecated, but old rules still carry it
fn replication_rule(r: &Value) -> Conv<ReplicationRule> {
    let filter = match r.get("Filter") {
        None => None,
        Some(f) => Some(
            ReplicationRuleFilter::builder()
                .set_prefix(text(f, "Prefix"))
                .set_tag(f.get("Tag").map(tag).transpose()?)
                .set_and(match f.get("And") {
                    None => None,
                    Some(a) => Some(
                        ReplicationRuleAndOperator::builder()
                            .set_prefix(text(a, "Prefix"))
                            .set_tags(tags(a, "Tags")?)
                            .build(),
                    ),
                })
                .build(),
        ),
    };
    let criteria = match r.get("SourceSelectionCriteria") {
        None => None,
        Some(s) => Some(
            SourceSelectionCriteria::builder()
                .set_sse_kms_encrypted_objects(
                    s.get("SseKmsEncryptedObjects")
                        .map(|x| {
                            SseKmsEncryptedObjects::builder()
                                .set_status(status::<SseKmsEncryptedObjectsStatus>(x))
                                .build()
                        })
                        .transpose()
                        .map_err(|e| e.to_string())?,
                )
                .set_replica_modifications(
                    s.get("ReplicaModifications")
                        .map(|x| {
                            ReplicaModifications::builder()
                                .set_status(status::<ReplicaModificationsStatus>(x))
                                .build()
                        })
                        .transpose()
                        .map_err(|e| e.to_string())?,
                )
                .build(),
        ),
    };
    ReplicationRule::builder()
        .set_id(text(r, "ID"))
        .set_priority(int(r, "Priority"))
        .set_prefix(text(r, "Prefix"))
        .set_filter(filter)
        .set_status(status::<ReplicationRuleStatus>(r))
        .set_source_selection_criteria(criteria)
        .set_existing_object_replication(
            r.get("ExistingObjectReplication")
                .map(|x| {
                    ExistingObjectReplication::builder()
                        .set_status(status::<ExistingObjectReplicationStatus>(x))
                        .build()
                })
                .transpose()
                .map_err(|e| e.to_string())?,
        )
        .set_destination(r.get("Destination").map(destination).transpose()?)
        .set_delete_marker_replication(r.get("DeleteMarkerReplication").map(|d| {
            DeleteMarkerReplication::builder()
                .set_status(status::<DeleteMarkerReplicationStatus>(d))
                .build()
        }))
        .build()
        .map_err(|e| e.to_string())
}

fn destination(d: &Value) -> Conv<Destination> {
    let minutes = |x: &Value, k: &str| {
        x.get(k).map(|t| {
            ReplicationTimeValue::builder()
                .set_minutes(int(t, "Minutes"))
                .build()
        })
    };
    Destination::builder()
        .set_bucket(text(d, "Bucket"))
        .set_account(text(d, "Account"))
        .set_storage_class(
            d.get("StorageClass")
                .and_then(Value::as_str)
                .map(StorageClass::from),
        )
        .set_access_control_translation(
            d.get("AccessControlTranslation")
                .map(|a| {
                    AccessControlTranslation::builder()
                        .set_owner(
                            a.get("Owner")
                                .and_then(Value::as_str)
                                .map(OwnerOverride::from),
                        )
                        .build()
                })
                .transpose()
                .map_err(|e| e.to_string())?,
        )
        .set_encryption_configuration(d.get("EncryptionConfiguration").map(|e| {
            EncryptionConfiguration::builder()
                .set_replica_kms_key_id(text(e, "ReplicaKmsKeyID"))
                .build()
        }))
        .set_replication_time(
            d.get("ReplicationTime")
                .map(|t| {
                    ReplicationTime::builder()
                        .set_status(status::<ReplicationTimeStatus>(t))
                        .set_time(minutes(t, "Time"))
                        .build()
                })
                .transpose()
                .map_err(|e| e.to_string())?,
        )
        .set_metrics(
            d.get("Metrics")
                .map(|m| {
                    Metrics::builder()
                        .set_status(status::<MetricsStatus>(m))
                        .set_event_threshold(minutes(m, "EventThreshold"))
                        .build()
                })
                .transpose()
                .map_err(|e| e.to_string())?,
        )
        .build()
        .map_err(|e| e.to_string())
}

/// `{"LoggingEnabled":{..}}` → PutBucketLogging's body; `None` (logging off) → an empty
/// status, which is how S3 turns logging off.
pub fn logging(v: Option<&Value>) -> Conv<BucketLoggingStatus> {
    let Some(l) = v.and_then(|v| v.get("LoggingEnabled")) else {
        return Ok(BucketLoggingStatus::builder().build());
    };
    let grants = items(l, "TargetGrants")
        .map(|g| {
            Ok(TargetGrant::builder()
                .set_grantee(g.get("Grantee").map(|x| grantee(x, None)).transpose()?)
                .set_permission(
                    g.get("Permission")
                        .and_then(Value::as_str)
                        .map(BucketLogsPermission::from),
                )
                .build())
        })
        .collect::<Conv<Vec<_>>>()?;
    let key_format = l.get("TargetObjectKeyFormat").map(|k| {
        TargetObjectKeyFormat::builder()
            .set_simple_prefix(
                k.get("SimplePrefix")
                    .map(|_| SimplePrefix::builder().build()),
            )
            .set_partitioned_prefix(k.get("PartitionedPrefix").map(|p| {
                PartitionedPrefix::builder()
                    .set_partition_date_source(
                        p.get("PartitionDateSource")
                            .and_then(Value::as_str)
                            .map(PartitionDateSource::from),
                    )
                    .build()
            }))
            .build()
    });
    let enabled = LoggingEnabled::builder()
        .set_target_bucket(text(l, "TargetBucket"))
        .target_prefix(text(l, "TargetPrefix").unwrap_or_default())
        .set_target_grants((!grants.is_empty()).then_some(grants))
        .set_target_object_key_format(key_format)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(BucketLoggingStatus::builder()
        .logging_enabled(enabled)
        .build())
}

/// `{"Owner":{..},"Grants":[...]}` → PutBucketAcl's body, owned by `live` (the bucket's owner
/// now: PutBucketAcl cannot change it). A grant to the snapshot's owner becomes a grant to the
/// live owner: the same canonical id in the bucket's own account; in another account the old
/// account's id would name an account that does not own the bucket, so its owner grant (its
/// FULL_CONTROL) is carried over to the new owner. Grants to other canonical ids, groups and
/// e-mail addresses are written as captured.
pub fn acl(v: &Value, live: &Owner) -> Conv<AccessControlPolicy> {
    let swap = match (v.pointer("/Owner/ID").and_then(Value::as_str), live.id()) {
        (Some(old), Some(new)) if old != new => Some((old, new)),
        _ => None,
    };
    let grants = items(v, "Grants")
        .map(|g| {
            Ok(Grant::builder()
                .set_grantee(g.get("Grantee").map(|x| grantee(x, swap)).transpose()?)
                .set_permission(
                    g.get("Permission")
                        .and_then(Value::as_str)
                        .map(Permission::from),
                )
                .build())
        })
        .collect::<Conv<Vec<_>>>()?;
    Ok(AccessControlPolicy::builder()
        .owner(
            Owner::builder()
                .set_id(live.id().map(str::to_string))
                .build(),
        )
        .set_grants(Some(grants))
        .build())
}

/// A grantee as captured, its canonical id `swap.0` replaced by `swap.1`. `DisplayName` is
/// left out: S3 ignores it in a request.
fn grantee(g: &Value, swap: Option<(&str, &str)>) -> Conv<Grantee> {
    let id = nonempty(g, "ID").map(|id| match swap {
        Some((old, new)) if id == old => new.to_string(),
        _ => id,
    });
    Grantee::builder()
        .set_type(g.get("Type").and_then(Value::as_str).map(Type::from))
        .set_id(id)
        .set_uri(nonempty(g, "URI"))
        .set_email_address(nonempty(g, "EmailAddress"))
        .build()
        .map_err(|e| e.to_string())
}

/// A website's `RoutingRules` as the SDK's; `None` when it has none.
pub fn routing_rules(website: &Value) -> Option<Vec<RoutingRule>> {
    let rules = website.get("RoutingRules")?.as_array()?;
    Some(
        rules
            .iter()
            .map(|r| {
                RoutingRule::builder()
                    .set_condition(r.get("Condition").map(|c| {
                        Condition::builder()
                            .set_http_error_code_returned_equals(text(
                                c,
                                "HttpErrorCodeReturnedEquals",
                            ))
                            .set_key_prefix_equals(text(c, "KeyPrefixEquals"))
                            .build()
                    }))
                    .set_redirect(r.get("Redirect").map(|x| {
                        Redirect::builder()
                            .set_host_name(text(x, "HostName"))
                            .set_http_redirect_code(text(x, "HttpRedirectCode"))
                            .set_protocol(
                                x.get("Protocol")
                                    .and_then(Value::as_str)
                                    .map(Protocol::from),
                            )
                            .set_replace_key_prefix_with(text(x, "ReplaceKeyPrefixWith"))
                            .set_replace_key_with(text(x, "ReplaceKeyWith"))
                            .build()
                    }))
                    .build()
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    //! Every conversion is checked against the capture: the request built from a captured value,
    //! read back through the capture's own JSON mapping, gives the same value.

    use super::*;
    use crate::aws::s3::bucket_config::{
        acl_json, lifecycle_json, logging_json, notifications_json, replication_json, website_json,
    };
    use aws_sdk_s3::operation::get_bucket_acl::GetBucketAclOutput;
    use aws_sdk_s3::operation::get_bucket_lifecycle_configuration::GetBucketLifecycleConfigurationOutput;
    use aws_sdk_s3::operation::get_bucket_logging::GetBucketLoggingOutput;
    use aws_sdk_s3::operation::get_bucket_notification_configuration::GetBucketNotificationConfigurationOutput;
    use aws_sdk_s3::operation::get_bucket_replication::GetBucketReplicationOutput;
    use aws_sdk_s3::operation::get_bucket_website::GetBucketWebsiteOutput;
    use rstest::rstest;
    use serde_json::json;

    const OWNER: &str = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a";

    fn owner(id: &str) -> Owner {
        Owner::builder().id(id).build()
    }

    /// `v` as the request its writer sends, then as the capture would record that request's
    /// configuration.
    fn round_trip(name: &str, v: &Value) -> Option<Value> {
        match name {
            "lifecycle" => {
                let (conf, min) = lifecycle(v).unwrap();
                lifecycle_json(
                    &GetBucketLifecycleConfigurationOutput::builder()
                        .set_rules(Some(conf.rules().to_vec()))
                        .set_transition_default_minimum_object_size(min)
                        .build(),
                )
            }
            "notifications" => {
                let c = notifications(Some(v)).unwrap();
                notifications_json(
                    &GetBucketNotificationConfigurationOutput::builder()
                        .set_topic_configurations(Some(c.topic_configurations().to_vec()))
                        .set_queue_configurations(Some(c.queue_configurations().to_vec()))
                        .set_lambda_function_configurations(Some(
                            c.lambda_function_configurations().to_vec(),
                        ))
                        .set_event_bridge_configuration(c.event_bridge_configuration().cloned())
                        .build(),
                )
            }
            "replication" => replication_json(
                &GetBucketReplicationOutput::builder()
                    .replication_configuration(replication(v).unwrap())
                    .build(),
            ),
            "logging" => logging_json(
                &GetBucketLoggingOutput::builder()
                    .set_logging_enabled(logging(Some(v)).unwrap().logging_enabled().cloned())
                    .build(),
            ),
            "acl" => {
                let p = acl(v, &owner(OWNER)).unwrap();
                acl_json(
                    &GetBucketAclOutput::builder()
                        .set_owner(p.owner().cloned())
                        .set_grants(Some(p.grants().to_vec()))
                        .build(),
                )
            }
            "website" => website_json(
                &GetBucketWebsiteOutput::builder()
                    .set_routing_rules(routing_rules(v))
                    .build(),
            ),
            other => panic!("{other}"),
        }
    }

    #[rstest]
    #[case::lifecycle_every_member("lifecycle", json!({
        "Rules": [
            {
                "ID": "archive",
                "Status": "Enabled",
                "Filter": {"And": {
                    "Prefix": "logs/",
                    "Tags": [{"Key": "k", "Value": "v"}],
                    "ObjectSizeGreaterThan": 1024,
                    "ObjectSizeLessThan": 4096
                }},
                "Expiration": {"Date": "2030-01-01T00:00:00Z"},
                "Transitions": [
                    {"Days": 30, "StorageClass": "STANDARD_IA"},
                    {"Date": "2031-01-01T00:00:00Z", "StorageClass": "GLACIER"}
                ],
                "NoncurrentVersionTransitions": [
                    {"NoncurrentDays": 30, "StorageClass": "GLACIER", "NewerNoncurrentVersions": 2}
                ],
                "NoncurrentVersionExpiration": {"NoncurrentDays": 90, "NewerNoncurrentVersions": 3},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}
            },
            {"ID": "markers", "Status": "Disabled", "Filter": {"Tag": {"Key": "a", "Value": "b"}},
             "Expiration": {"ExpiredObjectDeleteMarker": true}},
            {"Status": "Enabled", "Filter": {}, "Expiration": {"Days": 3}},
            {"Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 4}},
            {"ID": "v1", "Status": "Enabled", "Prefix": "old/", "Expiration": {"Days": 5}}
        ],
        "TransitionDefaultMinimumObjectSize": "varies_by_storage_class"
    }))]
    #[case::notifications("notifications", json!({
        "TopicConfigurations": [{
            "Id": "t", "TopicArn": "arn:aws:sns:eu-west-1:123456789012:t",
            "Events": ["s3:ObjectRemoved:*"]
        }],
        "QueueConfigurations": [{
            "Id": "q", "QueueArn": "arn:aws:sqs:eu-west-1:123456789012:q",
            "Events": ["s3:ObjectCreated:Put", "s3:ObjectCreated:Post"],
            "Filter": {"Key": {"FilterRules": [
                {"Name": "Prefix", "Value": "in/"}, {"Name": "suffix", "Value": ".jpg"}
            ]}}
        }],
        "LambdaFunctionConfigurations": [{
            "LambdaFunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:f",
            "Events": ["s3:ObjectCreated:*"]
        }],
        "EventBridgeConfiguration": {}
    }))]
    #[case::replication_every_member("replication", json!({"ReplicationConfiguration": {
        "Role": "arn:aws:iam::123456789012:role/replicate",
        "Rules": [
            {
                "ID": "all",
                "Priority": 2,
                "Filter": {"And": {"Prefix": "a/", "Tags": [{"Key": "k", "Value": "v"}]}},
                "Status": "Enabled",
                "SourceSelectionCriteria": {
                    "SseKmsEncryptedObjects": {"Status": "Enabled"},
                    "ReplicaModifications": {"Status": "Disabled"}
                },
                "ExistingObjectReplication": {"Status": "Enabled"},
                "Destination": {
                    "Bucket": "arn:aws:s3:::dest",
                    "Account": "210987654321",
                    "StorageClass": "STANDARD_IA",
                    "AccessControlTranslation": {"Owner": "Destination"},
                    "EncryptionConfiguration": {"ReplicaKmsKeyID": "arn:aws:kms:eu-west-1:210987654321:key/x"},
                    "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}},
                    "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
                },
                "DeleteMarkerReplication": {"Status": "Enabled"}
            },
            {"ID": "tagged", "Priority": 1, "Filter": {"Tag": {"Key": "r", "Value": "1"}},
             "Status": "Disabled", "Destination": {"Bucket": "arn:aws:s3:::dest"},
             "DeleteMarkerReplication": {"Status": "Disabled"}},
            {"ID": "v1", "Prefix": "old/", "Status": "Enabled",
             "Destination": {"Bucket": "arn:aws:s3:::dest"}}
        ]
    }}))]
    #[case::logging_every_member("logging", json!({"LoggingEnabled": {
        "TargetBucket": "logs",
        "TargetPrefix": "site/",
        "TargetGrants": [
            {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"},
             "Permission": "READ"},
            {"Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "a@example.com"},
             "Permission": "FULL_CONTROL"}
        ],
        "TargetObjectKeyFormat": {"PartitionedPrefix": {"PartitionDateSource": "EventTime"}}
    }}))]
    #[case::logging_simple_prefix("logging", json!({"LoggingEnabled": {
        "TargetBucket": "logs", "TargetPrefix": "", "TargetObjectKeyFormat": {"SimplePrefix": {}}
    }}))]
    #[case::acl_same_account("acl", json!({
        "Owner": {"ID": OWNER},
        "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": OWNER}, "Permission": "FULL_CONTROL"},
            {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/s3/LogDelivery"},
             "Permission": "WRITE"},
            {"Grantee": {"Type": "CanonicalUser", "ID": "0123abcd"}, "Permission": "READ_ACP"}
        ]
    }))]
    #[case::acl_granting_nothing("acl", json!({"Owner": {"ID": OWNER}, "Grants": []}))]
    #[case::website_routing_rules("website", json!({"RoutingRules": [
        {"Condition": {"KeyPrefixEquals": "docs/"},
         "Redirect": {"HostName": "example.com", "HttpRedirectCode": "301", "Protocol": "https",
                      "ReplaceKeyPrefixWith": "documents/"}},
        {"Condition": {"HttpErrorCodeReturnedEquals": "404"}, "Redirect": {"ReplaceKeyWith": "404.html"}}
    ]}))]
    fn the_capture_reads_back_what_the_writer_sends(#[case] name: &str, #[case] v: Value) {
        assert_eq!(round_trip(name, &v), Some(v));
    }

    #[test]
    fn absent_notifications_and_logging_are_empty_requests() {
        let n = notifications(None).unwrap();
        assert!(n.topic_configurations().is_empty());
        assert!(n.queue_configurations().is_empty());
        assert!(n.lambda_function_configurations().is_empty());
        assert!(n.event_bridge_configuration().is_none());
        assert!(logging(None).unwrap().logging_enabled().is_none());
    }

    #[test]
    fn an_acl_of_another_account_is_owned_by_the_live_owner() {
        let v = json!({
            "Owner": {"DisplayName": "old", "ID": "oldid"},
            "Grants": [
                {"Grantee": {"Type": "CanonicalUser", "ID": "oldid", "DisplayName": "old"},
                 "Permission": "FULL_CONTROL"},
                {"Grantee": {"Type": "CanonicalUser", "ID": "partner"}, "Permission": "READ"},
                {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers",
                             "ID": ""}, "Permission": "READ"}
            ]
        });
        let p = acl(&v, &owner("newid")).unwrap();
        let json = acl_json(
            &GetBucketAclOutput::builder()
                .set_owner(p.owner().cloned())
                .set_grants(Some(p.grants().to_vec()))
                .build(),
        );
        assert_eq!(
            json,
            Some(json!({
                "Owner": {"ID": "newid"},
                "Grants": [
                    {"Grantee": {"Type": "CanonicalUser", "ID": "newid"}, "Permission": "FULL_CONTROL"},
                    {"Grantee": {"Type": "CanonicalUser", "ID": "partner"}, "Permission": "READ"},
                    {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
                     "Permission": "READ"}
                ]
            }))
        );
    }

    #[rstest]
    #[case::lifecycle_bad_date(
        "lifecycle",
        json!({"Rules": [{"Status": "Enabled", "Expiration": {"Date": "2030-01-01 00:00:00+00:00"}}]}),
        "is not an RFC 3339 date"
    )]
    #[case::lifecycle_without_status("lifecycle", json!({"Rules": [{"ID": "x"}]}), "status")]
    #[case::replication_destination_without_bucket(
        "replication",
        json!({"ReplicationConfiguration": {"Role": "r", "Rules": [{"Status": "Enabled", "Destination": {}}]}}),
        "bucket"
    )]
    #[case::logging_without_target("logging", json!({"LoggingEnabled": {}}), "target_bucket")]
    #[case::acl_grantee_without_type(
        "acl",
        json!({"Grants": [{"Grantee": {"ID": "x"}, "Permission": "READ"}]}),
        "type"
    )]
    fn a_value_the_api_would_refuse_is_reported(
        #[case] name: &str,
        #[case] v: Value,
        #[case] says: &str,
    ) {
        let err = match name {
            "lifecycle" => lifecycle(&v).err(),
            "replication" => replication(&v).err(),
            "logging" => logging(Some(&v)).err(),
            "acl" => acl(&v, &owner(OWNER)).err(),
            other => panic!("{other}"),
        }
        .unwrap_or_else(|| panic!("{name} {v} accepted"));
        assert!(err.contains(says), "{err}");
    }
}

#[cfg(test)]
mod listed {
    #[test]
    fn s3_lists_every_setting_written_here() {
        for name in super::SETTINGS {
            assert!(super::super::s3::SETTINGS.contains(name), "{name}");
        }
    }
}
