//! One bucket's configuration: every setting S3 keeps for it, read with the SDK and turned into
//! JSON shaped like the S3 API's own output (PascalCase field names, as `aws s3api get-bucket-*`
//! prints them), so a snapshot reads like the API and a restore can hand it straight back.
//!
//! The SDK's types do not implement serde, so each setting is mapped by hand below. Fields the
//! service did not send are left out, as are empty nested lists; enums are written with their wire
//! value (`as_str`), dates as RFC 3339.

use std::collections::BTreeMap;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_bucket_acl::GetBucketAclOutput;
use aws_sdk_s3::operation::get_bucket_cors::GetBucketCorsOutput;
use aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionOutput;
use aws_sdk_s3::operation::get_bucket_lifecycle_configuration::GetBucketLifecycleConfigurationOutput;
use aws_sdk_s3::operation::get_bucket_logging::GetBucketLoggingOutput;
use aws_sdk_s3::operation::get_bucket_notification_configuration::GetBucketNotificationConfigurationOutput;
use aws_sdk_s3::operation::get_bucket_ownership_controls::GetBucketOwnershipControlsOutput;
use aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyOutput;
use aws_sdk_s3::operation::get_bucket_replication::GetBucketReplicationOutput;
use aws_sdk_s3::operation::get_bucket_tagging::GetBucketTaggingOutput;
use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
use aws_sdk_s3::operation::get_bucket_website::GetBucketWebsiteOutput;
use aws_sdk_s3::operation::get_public_access_block::GetPublicAccessBlockOutput;
use aws_sdk_s3::types::{
    CorsRule, Destination, Event, Grant, Grantee, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, NotificationConfigurationFilter, ReplicationRule, ReplicationRuleFilter,
    RoutingRule, ServerSideEncryptionRule, Tag, TargetGrant, TargetObjectKeyFormat,
};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use infrasnap_core::model::s3::ConfigValue;
use serde_json::{Map, Value};

use crate::aws::sdk_error::{describe, ApiFailure};

/// The IAM action each setting needs, for error messages and permission snippets.
pub const SETTINGS: &[(&str, &str)] = &[
    ("versioning", "s3:GetBucketVersioning"),
    ("policy", "s3:GetBucketPolicy"),
    ("cors", "s3:GetBucketCORS"),
    ("website", "s3:GetBucketWebsite"),
    ("lifecycle", "s3:GetLifecycleConfiguration"),
    ("encryption", "s3:GetEncryptionConfiguration"),
    ("tagging", "s3:GetBucketTagging"),
    ("notifications", "s3:GetBucketNotification"),
    ("replication", "s3:GetReplicationConfiguration"),
    ("ownership_controls", "s3:GetBucketOwnershipControls"),
    ("public_access_block", "s3:GetBucketPublicAccessBlock"),
    ("acl", "s3:GetBucketAcl"),
    ("logging", "s3:GetBucketLogging"),
];

/// Error codes meaning "the bucket has no such setting": recorded as absent, not as a failure.
const ABSENT_CODES: &[&str] = &[
    "NoSuchBucketPolicy",
    "NoSuchCORSConfiguration",
    "NoSuchWebsiteConfiguration",
    "NoSuchLifecycleConfiguration",
    "ServerSideEncryptionConfigurationNotFoundError",
    "NoSuchTagSet",
    "NoSuchTagSetError",
    "ReplicationConfigurationNotFoundError",
    "OwnershipControlsNotFoundError",
    "NoSuchPublicAccessBlockConfiguration",
    "NoSuchConfiguration",
];

/// The server does not implement the call (`501 NotImplemented`): an S3-compatible server
/// without bucket-settings APIs (s3s-fs answers so to all 13). AWS S3 itself never answers a
/// settings read with 501, so this is honest to record once as "not supported by this server"
/// rather than as an error of every bucket.
pub fn not_implemented(f: &ApiFailure) -> bool {
    f.code_in(&["NotImplemented"]) || (f.code.is_none() && f.status == Some(501))
}

/// What reading one setting gave: `Ok(Some)` a value, `Ok(None)` nothing set, `Err` a failure.
type Outcome = Result<Option<Value>, ApiFailure>;

/// Read all settings of `bucket`, concurrently (one call per setting, 13 in all).
///
/// Returns one entry per [`SETTINGS`] name. A "NoSuch*" answer becomes [`ConfigValue::Absent`], as
/// does a setting that is empty by nature (versioning never enabled, logging off, no
/// notifications). Any other failure becomes [`ConfigValue::Error`] and is also returned in the
/// second element as (setting name, IAM action, failure) so the caller can record it.
pub async fn read_bucket_config(
    client: &aws_sdk_s3::Client,
    bucket: &str,
) -> (
    BTreeMap<String, ConfigValue>,
    Vec<(&'static str, &'static str, ApiFailure)>,
) {
    let (
        versioning,
        policy,
        cors,
        website,
        lifecycle,
        encryption,
        tagging,
        notifications,
        replication,
        ownership_controls,
        public_access_block,
        acl,
        logging,
    ) = futures::join!(
        client.get_bucket_versioning().bucket(bucket).send(),
        client.get_bucket_policy().bucket(bucket).send(),
        client.get_bucket_cors().bucket(bucket).send(),
        client.get_bucket_website().bucket(bucket).send(),
        client
            .get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .send(),
        client.get_bucket_encryption().bucket(bucket).send(),
        client.get_bucket_tagging().bucket(bucket).send(),
        client
            .get_bucket_notification_configuration()
            .bucket(bucket)
            .send(),
        client.get_bucket_replication().bucket(bucket).send(),
        client.get_bucket_ownership_controls().bucket(bucket).send(),
        client.get_public_access_block().bucket(bucket).send(),
        client.get_bucket_acl().bucket(bucket).send(),
        client.get_bucket_logging().bucket(bucket).send(),
    );

    let outcomes: [(&'static str, Outcome); 13] = [
        ("versioning", settle(versioning, versioning_json)),
        ("policy", settle(policy, policy_json)),
        ("cors", settle(cors, cors_json)),
        ("website", settle(website, website_json)),
        ("lifecycle", settle(lifecycle, lifecycle_json)),
        ("encryption", settle(encryption, encryption_json)),
        ("tagging", settle(tagging, tagging_json)),
        ("notifications", settle(notifications, notifications_json)),
        ("replication", settle(replication, replication_json)),
        (
            "ownership_controls",
            settle(ownership_controls, ownership_controls_json),
        ),
        (
            "public_access_block",
            settle(public_access_block, public_access_block_json),
        ),
        ("acl", settle(acl, acl_json)),
        ("logging", settle(logging, logging_json)),
    ];

    let mut config = BTreeMap::new();
    let mut failures = Vec::new();
    for (name, outcome) in outcomes {
        let value = match outcome {
            Ok(Some(value)) => ConfigValue::Present { value },
            Ok(None) => ConfigValue::Absent,
            Err(failure) => {
                let value = ConfigValue::Error {
                    code: failure.code.clone(),
                    message: failure.message.clone(),
                };
                failures.push((name, iam_action(name), failure));
                value
            }
        };
        config.insert(name.to_string(), value);
    }
    (config, failures)
}

/// The IAM action for a setting name of [`SETTINGS`].
fn iam_action(name: &str) -> &'static str {
    SETTINGS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, action)| *action)
        .unwrap_or("s3:GetBucket*")
}

/// Turn one call's result into an [`Outcome`]: convert the output, or tell "absent" from failure.
fn settle<O, E>(result: Result<O, SdkError<E>>, convert: fn(&O) -> Option<Value>) -> Outcome
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(output) => Ok(convert(&output)),
        Err(err) => {
            let failure = describe(&err);
            if failure.code_in(ABSENT_CODES) {
                Ok(None)
            } else {
                Err(failure)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON building
// ---------------------------------------------------------------------------------------------

/// A JSON object under construction; `opt` and `list` leave out what is missing or empty.
#[derive(Default)]
struct Obj(Map<String, Value>);

impl Obj {
    fn new() -> Self {
        Self::default()
    }

    fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_string(), value.into());
        self
    }

    fn opt(self, key: &str, value: Option<impl Into<Value>>) -> Self {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }

    /// A list, left out when empty.
    fn list(self, key: &str, items: Vec<Value>) -> Self {
        if items.is_empty() {
            self
        } else {
            self.set(key, Value::Array(items))
        }
    }

    /// A list of strings, left out when empty.
    fn strings(self, key: &str, items: &[String]) -> Self {
        self.list(key, items.iter().map(|s| Value::from(s.as_str())).collect())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn build(self) -> Value {
        Value::Object(self.0)
    }
}

fn map<T>(items: &[T], f: impl Fn(&T) -> Value) -> Vec<Value> {
    items.iter().map(f).collect()
}

/// RFC 3339 (`2025-01-31T00:00:00Z`); epoch seconds in the unlikely case it cannot be formatted.
fn date_json(date: &DateTime) -> Value {
    date.fmt(Format::DateTime)
        .map(Value::String)
        .unwrap_or_else(|_| Value::from(date.secs()))
}

fn tag_json(tag: &Tag) -> Value {
    Obj::new()
        .set("Key", tag.key())
        .set("Value", tag.value())
        .build()
}

// ---------------------------------------------------------------------------------------------
// One converter per setting. `None` means the setting is absent.
// ---------------------------------------------------------------------------------------------

/// `{"Status":"Enabled","MFADelete":"Disabled"}`; absent when versioning was never enabled.
fn versioning_json(out: &GetBucketVersioningOutput) -> Option<Value> {
    let status = out.status()?;
    Some(
        Obj::new()
            .set("Status", status.as_str())
            .opt("MFADelete", out.mfa_delete().map(|m| m.as_str()))
            .build(),
    )
}

/// The policy document itself, parsed; kept as a string if it is not valid JSON.
fn policy_json(out: &GetBucketPolicyOutput) -> Option<Value> {
    let policy = out.policy().filter(|p| !p.trim().is_empty())?;
    Some(
        serde_json::from_str::<Value>(policy).unwrap_or_else(|_| Value::String(policy.to_string())),
    )
}

/// `{"CORSRules":[...]}`.
fn cors_json(out: &GetBucketCorsOutput) -> Option<Value> {
    let rules = out.cors_rules();
    if rules.is_empty() {
        return None;
    }
    Some(json_obj(
        "CORSRules",
        Value::Array(map(rules, cors_rule_json)),
    ))
}

fn cors_rule_json(rule: &CorsRule) -> Value {
    Obj::new()
        .opt("ID", rule.id())
        .strings("AllowedHeaders", rule.allowed_headers())
        .set("AllowedMethods", rule.allowed_methods().to_vec())
        .set("AllowedOrigins", rule.allowed_origins().to_vec())
        .strings("ExposeHeaders", rule.expose_headers())
        .opt("MaxAgeSeconds", rule.max_age_seconds())
        .build()
}

/// `{"IndexDocument":{..},"ErrorDocument":{..},"RedirectAllRequestsTo":{..},"RoutingRules":[..]}`.
pub(crate) fn website_json(out: &GetBucketWebsiteOutput) -> Option<Value> {
    let obj = Obj::new()
        .opt(
            "IndexDocument",
            out.index_document()
                .map(|d| json_obj("Suffix", d.suffix().into())),
        )
        .opt(
            "ErrorDocument",
            out.error_document()
                .map(|d| json_obj("Key", d.key().into())),
        )
        .opt(
            "RedirectAllRequestsTo",
            out.redirect_all_requests_to().map(|r| {
                Obj::new()
                    .set("HostName", r.host_name())
                    .opt("Protocol", r.protocol().map(|p| p.as_str()))
                    .build()
            }),
        )
        .list("RoutingRules", map(out.routing_rules(), routing_rule_json));
    (!obj.is_empty()).then(|| obj.build())
}

fn routing_rule_json(rule: &RoutingRule) -> Value {
    Obj::new()
        .opt(
            "Condition",
            rule.condition().map(|c| {
                Obj::new()
                    .opt(
                        "HttpErrorCodeReturnedEquals",
                        c.http_error_code_returned_equals(),
                    )
                    .opt("KeyPrefixEquals", c.key_prefix_equals())
                    .build()
            }),
        )
        .opt(
            "Redirect",
            rule.redirect().map(|r| {
                Obj::new()
                    .opt("HostName", r.host_name())
                    .opt("HttpRedirectCode", r.http_redirect_code())
                    .opt("Protocol", r.protocol().map(|p| p.as_str()))
                    .opt("ReplaceKeyPrefixWith", r.replace_key_prefix_with())
                    .opt("ReplaceKeyWith", r.replace_key_with())
                    .build()
            }),
        )
        .build()
}

/// `{"Rules":[...],"TransitionDefaultMinimumObjectSize":".."}`.
pub(crate) fn lifecycle_json(out: &GetBucketLifecycleConfigurationOutput) -> Option<Value> {
    let rules = out.rules();
    if rules.is_empty() {
        return None;
    }
    Some(
        Obj::new()
            .set("Rules", map(rules, lifecycle_rule_json))
            .opt(
                "TransitionDefaultMinimumObjectSize",
                out.transition_default_minimum_object_size()
                    .map(|s| s.as_str()),
            )
            .build(),
    )
}

#[allow(deprecated)] // the top-level `Prefix` is deprecated, but buckets still carry it
fn lifecycle_rule_json(rule: &LifecycleRule) -> Value {
    Obj::new()
        .opt("ID", rule.id())
        .set("Status", rule.status().as_str())
        .opt("Filter", rule.filter().map(lifecycle_filter_json))
        .opt("Prefix", rule.prefix())
        .opt("Expiration", rule.expiration().map(expiration_json))
        .list(
            "Transitions",
            map(rule.transitions(), |t| {
                Obj::new()
                    .opt("Date", t.date().map(date_json))
                    .opt("Days", t.days())
                    .opt("StorageClass", t.storage_class().map(|s| s.as_str()))
                    .build()
            }),
        )
        .list(
            "NoncurrentVersionTransitions",
            map(rule.noncurrent_version_transitions(), |t| {
                Obj::new()
                    .opt("NoncurrentDays", t.noncurrent_days())
                    .opt("StorageClass", t.storage_class().map(|s| s.as_str()))
                    .opt("NewerNoncurrentVersions", t.newer_noncurrent_versions())
                    .build()
            }),
        )
        .opt(
            "NoncurrentVersionExpiration",
            rule.noncurrent_version_expiration().map(|e| {
                Obj::new()
                    .opt("NoncurrentDays", e.noncurrent_days())
                    .opt("NewerNoncurrentVersions", e.newer_noncurrent_versions())
                    .build()
            }),
        )
        .opt(
            "AbortIncompleteMultipartUpload",
            rule.abort_incomplete_multipart_upload().map(|a| {
                Obj::new()
                    .opt("DaysAfterInitiation", a.days_after_initiation())
                    .build()
            }),
        )
        .build()
}

/// The rule's filter; an empty filter (`{}`, the whole bucket) stays `{}`.
fn lifecycle_filter_json(filter: &LifecycleRuleFilter) -> Value {
    Obj::new()
        .opt("Prefix", filter.prefix())
        .opt("Tag", filter.tag().map(tag_json))
        .opt("ObjectSizeGreaterThan", filter.object_size_greater_than())
        .opt("ObjectSizeLessThan", filter.object_size_less_than())
        .opt(
            "And",
            filter.and().map(|and| {
                Obj::new()
                    .opt("Prefix", and.prefix())
                    .list("Tags", map(and.tags(), tag_json))
                    .opt("ObjectSizeGreaterThan", and.object_size_greater_than())
                    .opt("ObjectSizeLessThan", and.object_size_less_than())
                    .build()
            }),
        )
        .build()
}

fn expiration_json(exp: &LifecycleExpiration) -> Value {
    Obj::new()
        .opt("Date", exp.date().map(date_json))
        .opt("Days", exp.days())
        .opt(
            "ExpiredObjectDeleteMarker",
            exp.expired_object_delete_marker(),
        )
        .build()
}

/// `{"ServerSideEncryptionConfiguration":{"Rules":[...]}}`.
fn encryption_json(out: &GetBucketEncryptionOutput) -> Option<Value> {
    let conf = out.server_side_encryption_configuration()?;
    Some(json_obj(
        "ServerSideEncryptionConfiguration",
        json_obj("Rules", map(conf.rules(), sse_rule_json).into()),
    ))
}

fn sse_rule_json(rule: &ServerSideEncryptionRule) -> Value {
    Obj::new()
        .opt(
            "ApplyServerSideEncryptionByDefault",
            rule.apply_server_side_encryption_by_default().map(|d| {
                Obj::new()
                    .set("SSEAlgorithm", d.sse_algorithm().as_str())
                    .opt("KMSMasterKeyID", d.kms_master_key_id())
                    .build()
            }),
        )
        .opt("BucketKeyEnabled", rule.bucket_key_enabled())
        .opt(
            "BlockedEncryptionTypes",
            rule.blocked_encryption_types().map(|b| {
                Obj::new()
                    .list(
                        "EncryptionType",
                        map(b.encryption_type(), |t| t.as_str().into()),
                    )
                    .build()
            }),
        )
        .build()
}

/// `{"TagSet":[{"Key":..,"Value":..}]}`; absent when there are no tags.
fn tagging_json(out: &GetBucketTaggingOutput) -> Option<Value> {
    let tags = out.tag_set();
    if tags.is_empty() {
        return None;
    }
    Some(json_obj("TagSet", map(tags, tag_json).into()))
}

/// Topic, queue and Lambda configurations plus EventBridge; absent when there are none.
pub(crate) fn notifications_json(out: &GetBucketNotificationConfigurationOutput) -> Option<Value> {
    let obj = Obj::new()
        .list(
            "TopicConfigurations",
            map(out.topic_configurations(), |c| {
                notification_json(c.id(), "TopicArn", c.topic_arn(), c.events(), c.filter())
            }),
        )
        .list(
            "QueueConfigurations",
            map(out.queue_configurations(), |c| {
                notification_json(c.id(), "QueueArn", c.queue_arn(), c.events(), c.filter())
            }),
        )
        .list(
            "LambdaFunctionConfigurations",
            map(out.lambda_function_configurations(), |c| {
                notification_json(
                    c.id(),
                    "LambdaFunctionArn",
                    c.lambda_function_arn(),
                    c.events(),
                    c.filter(),
                )
            }),
        )
        .opt(
            "EventBridgeConfiguration",
            out.event_bridge_configuration()
                .map(|_| Value::Object(Map::new())),
        );
    (!obj.is_empty()).then(|| obj.build())
}

fn notification_json(
    id: Option<&str>,
    arn_field: &str,
    arn: &str,
    events: &[Event],
    filter: Option<&NotificationConfigurationFilter>,
) -> Value {
    Obj::new()
        .opt("Id", id)
        .set(arn_field, arn)
        .set(
            "Events",
            events.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        )
        .opt(
            "Filter",
            filter.map(|f| {
                Obj::new()
                    .opt(
                        "Key",
                        f.key().map(|k| {
                            Obj::new()
                                .list(
                                    "FilterRules",
                                    map(k.filter_rules(), |r| {
                                        Obj::new()
                                            .opt("Name", r.name().map(|n| n.as_str()))
                                            .opt("Value", r.value())
                                            .build()
                                    }),
                                )
                                .build()
                        }),
                    )
                    .build()
            }),
        )
        .build()
}

/// `{"ReplicationConfiguration":{"Role":..,"Rules":[...]}}`.
pub(crate) fn replication_json(out: &GetBucketReplicationOutput) -> Option<Value> {
    let conf = out.replication_configuration()?;
    Some(json_obj(
        "ReplicationConfiguration",
        Obj::new()
            .set("Role", conf.role())
            .set("Rules", map(conf.rules(), replication_rule_json))
            .build(),
    ))
}

#[allow(deprecated)] // the top-level `Prefix` is deprecated, but rules still carry it
fn replication_rule_json(rule: &ReplicationRule) -> Value {
    Obj::new()
        .opt("ID", rule.id())
        .opt("Priority", rule.priority())
        .opt("Prefix", rule.prefix())
        .opt("Filter", rule.filter().map(replication_filter_json))
        .set("Status", rule.status().as_str())
        .opt(
            "SourceSelectionCriteria",
            rule.source_selection_criteria().map(|c| {
                Obj::new()
                    .opt(
                        "SseKmsEncryptedObjects",
                        c.sse_kms_encrypted_objects()
                            .map(|s| json_obj("Status", s.status().as_str().into())),
                    )
                    .opt(
                        "ReplicaModifications",
                        c.replica_modifications()
                            .map(|s| json_obj("Status", s.status().as_str().into())),
                    )
                    .build()
            }),
        )
        .opt(
            "ExistingObjectReplication",
            rule.existing_object_replication()
                .map(|e| json_obj("Status", e.status().as_str().into())),
        )
        .opt("Destination", rule.destination().map(destination_json))
        .opt(
            "DeleteMarkerReplication",
            rule.delete_marker_replication().map(|d| {
                Obj::new()
                    .opt("Status", d.status().map(|s| s.as_str()))
                    .build()
            }),
        )
        .build()
}

fn replication_filter_json(filter: &ReplicationRuleFilter) -> Value {
    Obj::new()
        .opt("Prefix", filter.prefix())
        .opt("Tag", filter.tag().map(tag_json))
        .opt(
            "And",
            filter.and().map(|and| {
                Obj::new()
                    .opt("Prefix", and.prefix())
                    .list("Tags", map(and.tags(), tag_json))
                    .build()
            }),
        )
        .build()
}

fn destination_json(dest: &Destination) -> Value {
    Obj::new()
        .set("Bucket", dest.bucket())
        .opt("Account", dest.account())
        .opt("StorageClass", dest.storage_class().map(|s| s.as_str()))
        .opt(
            "AccessControlTranslation",
            dest.access_control_translation()
                .map(|a| json_obj("Owner", a.owner().as_str().into())),
        )
        .opt(
            "EncryptionConfiguration",
            dest.encryption_configuration().map(|e| {
                Obj::new()
                    .opt("ReplicaKmsKeyID", e.replica_kms_key_id())
                    .build()
            }),
        )
        .opt(
            "ReplicationTime",
            dest.replication_time().map(|t| {
                Obj::new()
                    .set("Status", t.status().as_str())
                    .opt(
                        "Time",
                        t.time()
                            .map(|v| Obj::new().opt("Minutes", v.minutes()).build()),
                    )
                    .build()
            }),
        )
        .opt(
            "Metrics",
            dest.metrics().map(|m| {
                Obj::new()
                    .set("Status", m.status().as_str())
                    .opt(
                        "EventThreshold",
                        m.event_threshold()
                            .map(|v| Obj::new().opt("Minutes", v.minutes()).build()),
                    )
                    .build()
            }),
        )
        .build()
}

/// `{"OwnershipControls":{"Rules":[{"ObjectOwnership":..}]}}`.
fn ownership_controls_json(out: &GetBucketOwnershipControlsOutput) -> Option<Value> {
    let controls = out.ownership_controls()?;
    Some(json_obj(
        "OwnershipControls",
        json_obj(
            "Rules",
            map(controls.rules(), |r| {
                json_obj("ObjectOwnership", r.object_ownership().as_str().into())
            })
            .into(),
        ),
    ))
}

/// `{"PublicAccessBlockConfiguration":{"BlockPublicAcls":..,...}}`.
fn public_access_block_json(out: &GetPublicAccessBlockOutput) -> Option<Value> {
    let pab = out.public_access_block_configuration()?;
    Some(json_obj(
        "PublicAccessBlockConfiguration",
        Obj::new()
            .opt("BlockPublicAcls", pab.block_public_acls())
            .opt("IgnorePublicAcls", pab.ignore_public_acls())
            .opt("BlockPublicPolicy", pab.block_public_policy())
            .opt("RestrictPublicBuckets", pab.restrict_public_buckets())
            .build(),
    ))
}

/// `{"Owner":{..},"Grants":[...]}`. Always present: every bucket has an ACL (`Grants` is kept even
/// when empty, since an ACL granting nothing is a state of its own).
pub(crate) fn acl_json(out: &GetBucketAclOutput) -> Option<Value> {
    Some(
        Obj::new()
            .opt(
                "Owner",
                out.owner().map(|o| {
                    Obj::new()
                        .opt("DisplayName", o.display_name())
                        .opt("ID", o.id())
                        .build()
                }),
            )
            .set("Grants", map(out.grants(), grant_json))
            .build(),
    )
}

fn grant_json(grant: &Grant) -> Value {
    Obj::new()
        .opt("Grantee", grant.grantee().map(grantee_json))
        .opt("Permission", grant.permission().map(|p| p.as_str()))
        .build()
}

fn grantee_json(grantee: &Grantee) -> Value {
    Obj::new()
        .set("Type", grantee.r#type().as_str())
        .opt("ID", grantee.id())
        .opt("DisplayName", grantee.display_name())
        .opt("URI", grantee.uri())
        .opt("EmailAddress", grantee.email_address())
        .build()
}

/// `{"LoggingEnabled":{"TargetBucket":..,"TargetPrefix":..,...}}`; absent when logging is off.
pub(crate) fn logging_json(out: &GetBucketLoggingOutput) -> Option<Value> {
    let logging = out.logging_enabled()?;
    Some(json_obj(
        "LoggingEnabled",
        Obj::new()
            .set("TargetBucket", logging.target_bucket())
            .set("TargetPrefix", logging.target_prefix())
            .list(
                "TargetGrants",
                map(logging.target_grants(), target_grant_json),
            )
            .opt(
                "TargetObjectKeyFormat",
                logging.target_object_key_format().map(key_format_json),
            )
            .build(),
    ))
}

fn target_grant_json(grant: &TargetGrant) -> Value {
    Obj::new()
        .opt("Grantee", grant.grantee().map(grantee_json))
        .opt("Permission", grant.permission().map(|p| p.as_str()))
        .build()
}

fn key_format_json(format: &TargetObjectKeyFormat) -> Value {
    Obj::new()
        .opt(
            "SimplePrefix",
            format.simple_prefix().map(|_| Value::Object(Map::new())),
        )
        .opt(
            "PartitionedPrefix",
            format.partitioned_prefix().map(|p| {
                Obj::new()
                    .opt(
                        "PartitionDateSource",
                        p.partition_date_source().map(|s| s.as_str()),
                    )
                    .build()
            }),
        )
        .build()
}

/// `{key: value}`.
fn json_obj(key: &str, value: Value) -> Value {
    Obj::new().set(key, value).build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyError;
    use aws_sdk_s3::types::{
        BucketLogsPermission, BucketVersioningStatus, CorsRule, DeleteMarkerReplication,
        DeleteMarkerReplicationStatus, ExpirationStatus, FilterRule, FilterRuleName, LifecycleRule,
        LifecycleRuleAndOperator, LoggingEnabled, MfaDeleteStatus, NoncurrentVersionExpiration,
        ObjectOwnership, Owner, OwnershipControls, OwnershipControlsRule, PartitionDateSource,
        PartitionedPrefix, Permission, Protocol, PublicAccessBlockConfiguration,
        QueueConfiguration, Redirect, ReplicationConfiguration, ReplicationRuleStatus, S3KeyFilter,
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
        StorageClass, Transition, TransitionStorageClass, Type,
    };
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;
    use serde_json::json;

    fn tag(k: &str, v: &str) -> Tag {
        Tag::builder().key(k).value(v).build().unwrap()
    }

    #[test]
    fn settings_cover_every_name_once() {
        let names: std::collections::BTreeSet<_> = SETTINGS.iter().map(|(n, _)| *n).collect();
        assert_eq!(names.len(), 13);
        assert_eq!(iam_action("lifecycle"), "s3:GetLifecycleConfiguration");
    }

    #[test]
    fn versioning() {
        let out = GetBucketVersioningOutput::builder()
            .status(BucketVersioningStatus::Enabled)
            .mfa_delete(MfaDeleteStatus::Disabled)
            .build();
        assert_eq!(
            versioning_json(&out),
            Some(json!({"Status": "Enabled", "MFADelete": "Disabled"}))
        );
        let suspended = GetBucketVersioningOutput::builder()
            .status(BucketVersioningStatus::Suspended)
            .build();
        assert_eq!(
            versioning_json(&suspended),
            Some(json!({"Status": "Suspended"}))
        );
        assert_eq!(
            versioning_json(&GetBucketVersioningOutput::builder().build()),
            None
        );
    }

    #[test]
    fn policy_parsed_or_kept_as_string() {
        let out = GetBucketPolicyOutput::builder()
            .policy(r#"{"Version":"2012-10-17","Statement":[]}"#)
            .build();
        assert_eq!(
            policy_json(&out),
            Some(json!({"Version": "2012-10-17", "Statement": []}))
        );
        let bad = GetBucketPolicyOutput::builder().policy("not json").build();
        assert_eq!(policy_json(&bad), Some(json!("not json")));
        assert_eq!(policy_json(&GetBucketPolicyOutput::builder().build()), None);
    }

    #[test]
    fn cors() {
        let rule = CorsRule::builder()
            .id("r1")
            .allowed_methods("GET")
            .allowed_methods("PUT")
            .allowed_origins("*")
            .expose_headers("ETag")
            .max_age_seconds(3000)
            .build()
            .unwrap();
        let out = GetBucketCorsOutput::builder().cors_rules(rule).build();
        assert_eq!(
            cors_json(&out),
            Some(json!({"CORSRules": [{
                "ID": "r1",
                "AllowedMethods": ["GET", "PUT"],
                "AllowedOrigins": ["*"],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": 3000
            }]}))
        );
        assert_eq!(cors_json(&GetBucketCorsOutput::builder().build()), None);
    }

    #[test]
    fn website() {
        let out = GetBucketWebsiteOutput::builder()
            .index_document(
                aws_sdk_s3::types::IndexDocument::builder()
                    .suffix("index.html")
                    .build()
                    .unwrap(),
            )
            .error_document(
                aws_sdk_s3::types::ErrorDocument::builder()
                    .key("error.html")
                    .build()
                    .unwrap(),
            )
            .routing_rules(
                RoutingRule::builder()
                    .condition(
                        aws_sdk_s3::types::Condition::builder()
                            .key_prefix_equals("docs/")
                            .build(),
                    )
                    .redirect(
                        Redirect::builder()
                            .protocol(Protocol::Https)
                            .replace_key_prefix_with("documents/")
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert_eq!(
            website_json(&out),
            Some(json!({
                "IndexDocument": {"Suffix": "index.html"},
                "ErrorDocument": {"Key": "error.html"},
                "RoutingRules": [{
                    "Condition": {"KeyPrefixEquals": "docs/"},
                    "Redirect": {"Protocol": "https", "ReplaceKeyPrefixWith": "documents/"}
                }]
            }))
        );
        assert_eq!(
            website_json(&GetBucketWebsiteOutput::builder().build()),
            None
        );
    }

    #[test]
    fn lifecycle() {
        let rule = LifecycleRule::builder()
            .id("archive")
            .status(ExpirationStatus::Enabled)
            .filter(
                LifecycleRuleFilter::builder()
                    .and(
                        LifecycleRuleAndOperator::builder()
                            .prefix("logs/")
                            .tags(tag("k", "v"))
                            .object_size_greater_than(1024)
                            .build(),
                    )
                    .build(),
            )
            .expiration(
                LifecycleExpiration::builder()
                    .date(DateTime::from_secs(1_735_689_600))
                    .build(),
            )
            .transitions(
                Transition::builder()
                    .days(30)
                    .storage_class(TransitionStorageClass::Glacier)
                    .build(),
            )
            .noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(90)
                    .build(),
            )
            .build()
            .unwrap();
        let empty_filter = LifecycleRule::builder()
            .status(ExpirationStatus::Disabled)
            .filter(LifecycleRuleFilter::builder().build())
            .build()
            .unwrap();
        let out = GetBucketLifecycleConfigurationOutput::builder()
            .rules(rule)
            .rules(empty_filter)
            .build();
        assert_eq!(
            lifecycle_json(&out),
            Some(json!({"Rules": [
                {
                    "ID": "archive",
                    "Status": "Enabled",
                    "Filter": {"And": {
                        "Prefix": "logs/",
                        "Tags": [{"Key": "k", "Value": "v"}],
                        "ObjectSizeGreaterThan": 1024
                    }},
                    "Expiration": {"Date": "2025-01-01T00:00:00Z"},
                    "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}],
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 90}
                },
                {"Status": "Disabled", "Filter": {}}
            ]}))
        );
        assert_eq!(
            lifecycle_json(&GetBucketLifecycleConfigurationOutput::builder().build()),
            None
        );
    }

    #[test]
    fn encryption() {
        let conf = ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(ServerSideEncryption::AwsKms)
                            .kms_master_key_id("arn:aws:kms:eu-west-1:1:key/x")
                            .build()
                            .unwrap(),
                    )
                    .bucket_key_enabled(true)
                    .build(),
            )
            .build()
            .unwrap();
        let out = GetBucketEncryptionOutput::builder()
            .server_side_encryption_configuration(conf)
            .build();
        assert_eq!(
            encryption_json(&out),
            Some(json!({"ServerSideEncryptionConfiguration": {"Rules": [{
                "ApplyServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms",
                    "KMSMasterKeyID": "arn:aws:kms:eu-west-1:1:key/x"
                },
                "BucketKeyEnabled": true
            }]}}))
        );
    }

    #[test]
    fn tagging() {
        let out = GetBucketTaggingOutput::builder()
            .tag_set(tag("env", "prod"))
            .build()
            .unwrap();
        assert_eq!(
            tagging_json(&out),
            Some(json!({"TagSet": [{"Key": "env", "Value": "prod"}]}))
        );
        let empty = GetBucketTaggingOutput::builder()
            .set_tag_set(Some(vec![]))
            .build()
            .unwrap();
        assert_eq!(tagging_json(&empty), None);
    }

    #[test]
    fn notifications() {
        assert_eq!(
            notifications_json(&GetBucketNotificationConfigurationOutput::builder().build()),
            None
        );
        let queue = QueueConfiguration::builder()
            .id("q")
            .queue_arn("arn:aws:sqs:eu-west-1:1:q")
            .events(Event::S3ObjectCreated)
            .filter(
                NotificationConfigurationFilter::builder()
                    .key(
                        S3KeyFilter::builder()
                            .filter_rules(
                                FilterRule::builder()
                                    // S3 sends `Suffix`; the model spells it `suffix`: the
                                    // wire value must survive as sent.
                                    .name(FilterRuleName::from("Suffix"))
                                    .value(".jpg")
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
            .unwrap();
        let out = GetBucketNotificationConfigurationOutput::builder()
            .queue_configurations(queue)
            .event_bridge_configuration(
                aws_sdk_s3::types::EventBridgeConfiguration::builder().build(),
            )
            .build();
        assert_eq!(
            notifications_json(&out),
            Some(json!({
                "QueueConfigurations": [{
                    "Id": "q",
                    "QueueArn": "arn:aws:sqs:eu-west-1:1:q",
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "Suffix", "Value": ".jpg"}]}}
                }],
                "EventBridgeConfiguration": {}
            }))
        );
    }

    #[test]
    fn replication() {
        let rule = aws_sdk_s3::types::ReplicationRule::builder()
            .id("all")
            .priority(1)
            .status(ReplicationRuleStatus::Enabled)
            .filter(ReplicationRuleFilter::builder().prefix("").build())
            .destination(
                Destination::builder()
                    .bucket("arn:aws:s3:::dest")
                    .storage_class(StorageClass::StandardIa)
                    .build()
                    .unwrap(),
            )
            .delete_marker_replication(
                DeleteMarkerReplication::builder()
                    .status(DeleteMarkerReplicationStatus::Disabled)
                    .build(),
            )
            .build()
            .unwrap();
        let out = GetBucketReplicationOutput::builder()
            .replication_configuration(
                ReplicationConfiguration::builder()
                    .role("arn:aws:iam::1:role/r")
                    .rules(rule)
                    .build()
                    .unwrap(),
            )
            .build();
        assert_eq!(
            replication_json(&out),
            Some(json!({"ReplicationConfiguration": {
                "Role": "arn:aws:iam::1:role/r",
                "Rules": [{
                    "ID": "all",
                    "Priority": 1,
                    "Filter": {"Prefix": ""},
                    "Status": "Enabled",
                    "Destination": {"Bucket": "arn:aws:s3:::dest", "StorageClass": "STANDARD_IA"},
                    "DeleteMarkerReplication": {"Status": "Disabled"}
                }]
            }}))
        );
    }

    #[test]
    fn ownership_and_public_access_block() {
        let out = GetBucketOwnershipControlsOutput::builder()
            .ownership_controls(
                OwnershipControls::builder()
                    .rules(
                        OwnershipControlsRule::builder()
                            .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .build();
        assert_eq!(
            ownership_controls_json(&out),
            Some(
                json!({"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}})
            )
        );
        let pab = GetPublicAccessBlockOutput::builder()
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(false)
                    .restrict_public_buckets(false)
                    .build(),
            )
            .build();
        assert_eq!(
            public_access_block_json(&pab),
            Some(json!({"PublicAccessBlockConfiguration": {
                "BlockPublicAcls": true,
                "IgnorePublicAcls": true,
                "BlockPublicPolicy": false,
                "RestrictPublicBuckets": false
            }}))
        );
    }

    #[test]
    fn acl() {
        let out = GetBucketAclOutput::builder()
            .owner(Owner::builder().id("abc").build())
            .grants(
                Grant::builder()
                    .grantee(
                        Grantee::builder()
                            .r#type(Type::CanonicalUser)
                            .id("abc")
                            .build()
                            .unwrap(),
                    )
                    .permission(Permission::FullControl)
                    .build(),
            )
            .grants(
                Grant::builder()
                    .grantee(
                        Grantee::builder()
                            .r#type(Type::Group)
                            .uri("http://acs.amazonaws.com/groups/global/AllUsers")
                            .build()
                            .unwrap(),
                    )
                    .permission(Permission::Read)
                    .build(),
            )
            .build();
        assert_eq!(
            acl_json(&out),
            Some(json!({
                "Owner": {"ID": "abc"},
                "Grants": [
                    {"Grantee": {"Type": "CanonicalUser", "ID": "abc"}, "Permission": "FULL_CONTROL"},
                    {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}
                ]
            }))
        );
    }

    #[test]
    fn logging() {
        assert_eq!(
            logging_json(&GetBucketLoggingOutput::builder().build()),
            None
        );
        let out = GetBucketLoggingOutput::builder()
            .logging_enabled(
                LoggingEnabled::builder()
                    .target_bucket("logs")
                    .target_prefix("b/")
                    .target_grants(
                        TargetGrant::builder()
                            .grantee(
                                Grantee::builder()
                                    .r#type(Type::AmazonCustomerByEmail)
                                    .email_address("a@example.com")
                                    .build()
                                    .unwrap(),
                            )
                            .permission(BucketLogsPermission::Read)
                            .build(),
                    )
                    .target_object_key_format(
                        TargetObjectKeyFormat::builder()
                            .partitioned_prefix(
                                PartitionedPrefix::builder()
                                    .partition_date_source(PartitionDateSource::EventTime)
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .build();
        assert_eq!(
            logging_json(&out),
            Some(json!({"LoggingEnabled": {
                "TargetBucket": "logs",
                "TargetPrefix": "b/",
                "TargetGrants": [{
                    "Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "a@example.com"},
                    "Permission": "READ"
                }],
                "TargetObjectKeyFormat": {"PartitionedPrefix": {"PartitionDateSource": "EventTime"}}
            }}))
        );
    }

    fn policy_error(code: &str, status: u16) -> SdkError<GetBucketPolicyError> {
        let err = GetBucketPolicyError::generic(
            ErrorMetadata::builder()
                .code(code)
                .message("from the service")
                .build(),
        );
        let raw = aws_smithy_runtime_api::http::Response::new(
            status.try_into().unwrap(),
            SdkBody::empty(),
        );
        SdkError::service_error(err, raw)
    }

    #[test]
    fn no_such_answer_is_absent_other_errors_fail() {
        let absent = settle(Err(policy_error("NoSuchBucketPolicy", 404)), policy_json);
        assert!(matches!(absent, Ok(None)));

        let denied = settle(Err(policy_error("AccessDenied", 403)), policy_json);
        let failure = denied.unwrap_err();
        assert_eq!(failure.code.as_deref(), Some("AccessDenied"));
        assert_eq!(failure.message, "from the service");
        assert_eq!(failure.status, Some(403));
    }
}
