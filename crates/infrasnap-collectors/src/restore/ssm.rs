//! SSM parameters and Secrets Manager secrets. Their values come only from the secrets the
//! snapshot kept (`--keep-secrets`), put in place by [`Context::document`]: a step whose value
//! is not at hand was planned as "needs values" and never reaches here.
//!
//! - `aws.ssm.parameter`: PutParameter (String, StringList or SecureString with its KMS key,
//!   description, tier, allowed pattern, data type, policies; `Overwrite` for an update), then
//!   the tags made exactly the snapshot's (ListTagsForResource, RemoveTagsFromResource,
//!   AddTagsToResource); DeleteParameter for `--delete-extra`. A value written again makes a new
//!   `Version`: declared volatile, so `diff` compares the value, not its version number.
//! - `aws.secretsmanager.secret`: CreateSecret (value, description, KMS key, tags), or for an
//!   existing one RestoreSecret (if scheduled for deletion), UpdateSecret, PutSecretValue and the
//!   tags made exactly the snapshot's; then the resource policy (Put/DeleteResourcePolicy).
//!   Rotation is not switched on: a secret whose snapshot had rotation shows it in the receipt's
//!   final diff (turn it on with `aws secretsmanager rotate-secret`). DeleteSecret (with the
//!   default recovery window) for `--delete-extra`.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_ssm::types::{ParameterTier, ParameterType, ResourceTypeForTagging, Tag};
use base64::Engine as _;
use infrasnap_core::restore::{Action, Step};
use serde_json::Value;

use super::{Context, WriteError};

pub const PARAMETER: &str = "aws.ssm.parameter";
pub const SECRET: &str = "aws.secretsmanager.secret";
/// The kinds this writer restores.
pub const KINDS: &[&str] = &[PARAMETER, SECRET];

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

/// `[{"Key", "Value"}]` as a map.
fn tags(doc: &Value) -> BTreeMap<String, String> {
    doc.get("Tags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| Some((s(t, "Key")?, s(t, "Value").unwrap_or_default())))
                .collect()
        })
        .unwrap_or_default()
}

/// Write one step.
pub async fn write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    match step.target.kind.as_str() {
        PARAMETER => parameter(cx, step).await,
        _ => secret(cx, step).await,
    }
}

async fn parameter(cx: &Context, step: &Step) -> Result<(), WriteError> {
    let conf = aws_sdk_ssm::config::Builder::from(&cx.sdk)
        .region(aws_sdk_ssm::config::Region::new(step.target.region.clone()))
        .build();
    let c = aws_sdk_ssm::Client::from_conf(conf);
    let name = &step.target.id;
    if matches!(step.action, Action::Delete) {
        c.delete_parameter()
            .name(name)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("ssm:DeleteParameter {name}"), &e))?;
        return Ok(());
    }
    let doc = cx.document(step)?;
    let value = s(&doc, "Value").ok_or_else(|| {
        WriteError::new(format!(
            "{}: needs values: the snapshot did not keep the parameter's value",
            step.what()
        ))
    })?;
    let policies = doc
        .get("Policies")
        .and_then(Value::as_array)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let texts: Vec<&Value> = p.iter().filter_map(|x| x.get("PolicyText")).collect();
            serde_json::to_string(&texts).expect("JSON")
        });
    c.put_parameter()
        .name(name)
        .value(value)
        .set_type(s(&doc, "Type").map(|t| ParameterType::from(t.as_str())))
        .set_key_id(s(&doc, "KeyId").filter(|_| s(&doc, "Type").as_deref() == Some("SecureString")))
        .set_description(s(&doc, "Description"))
        .set_tier(s(&doc, "Tier").map(|t| ParameterTier::from(t.as_str())))
        .set_allowed_pattern(s(&doc, "AllowedPattern"))
        .set_data_type(s(&doc, "DataType"))
        .set_policies(policies)
        .overwrite(matches!(step.action, Action::Update { .. }))
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("ssm:PutParameter {name}"), &e))?;
    // Tags: exactly the snapshot's.
    let want = tags(&doc);
    let live: BTreeMap<String, String> = c
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("ssm:ListTagsForResource {name}"), &e))?
        .tag_list()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    let extra: Vec<String> = live
        .keys()
        .filter(|k| !want.contains_key(*k))
        .cloned()
        .collect();
    if !extra.is_empty() {
        c.remove_tags_from_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .set_tag_keys(Some(extra))
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("ssm:RemoveTagsFromResource {name}"), &e))?;
    }
    let add: Vec<Tag> = want
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(v))
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect();
    if !add.is_empty() {
        c.add_tags_to_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .set_tags(Some(add))
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("ssm:AddTagsToResource {name}"), &e))?;
    }
    Ok(())
}

async fn secret(cx: &Context, step: &Step) -> Result<(), WriteError> {
    use aws_sdk_secretsmanager::types::Tag;
    let conf = aws_sdk_secretsmanager::config::Builder::from(&cx.sdk)
        .region(aws_sdk_secretsmanager::config::Region::new(
            step.target.region.clone(),
        ))
        .build();
    let c = aws_sdk_secretsmanager::Client::from_conf(conf);
    let name = &step.target.id;
    if matches!(step.action, Action::Delete) {
        c.delete_secret()
            .secret_id(name)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("secretsmanager:DeleteSecret {name}"), &e))?;
        return Ok(());
    }
    let doc = cx.document(step)?;
    let string = s(&doc, "SecretString");
    let binary = s(&doc, "SecretBinary")
        .map(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b)
                .map(Blob::new)
                .map_err(|_| {
                    WriteError::new(format!(
                        "{}: the kept binary value is not base64",
                        step.what()
                    ))
                })
        })
        .transpose()?;
    if string.is_none() && binary.is_none() && doc.get("ValueFingerprint").is_some() {
        return Err(WriteError::new(format!(
            "{}: needs values: the snapshot did not keep the secret's value",
            step.what()
        )));
    }
    let want = tags(&doc);
    let kms = s(&doc, "KmsKeyId");
    let description = s(&doc, "Description");
    match step.action {
        Action::Create { .. } => {
            let t: Vec<Tag> = want
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect();
            c.create_secret()
                .name(name)
                .set_description(description)
                .set_kms_key_id(kms)
                .set_secret_string(string)
                .set_secret_binary(binary)
                .set_tags((!t.is_empty()).then_some(t))
                .send()
                .await
                .map_err(|e| WriteError::sdk(&format!("secretsmanager:CreateSecret {name}"), &e))?;
        }
        _ => {
            let live = c
                .describe_secret()
                .secret_id(name)
                .send()
                .await
                .map_err(|e| {
                    WriteError::sdk(&format!("secretsmanager:DescribeSecret {name}"), &e)
                })?;
            if live.deleted_date().is_some() {
                c.restore_secret()
                    .secret_id(name)
                    .send()
                    .await
                    .map_err(|e| {
                        WriteError::sdk(&format!("secretsmanager:RestoreSecret {name}"), &e)
                    })?;
            }
            c.update_secret()
                .secret_id(name)
                .set_description(description)
                .set_kms_key_id(kms)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&format!("secretsmanager:UpdateSecret {name}"), &e))?;
            if string.is_some() || binary.is_some() {
                c.put_secret_value()
                    .secret_id(name)
                    .set_secret_string(string)
                    .set_secret_binary(binary)
                    .send()
                    .await
                    .map_err(|e| {
                        WriteError::sdk(&format!("secretsmanager:PutSecretValue {name}"), &e)
                    })?;
            }
            let live_tags: BTreeMap<String, String> = live
                .tags()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_string(),
                        t.value().unwrap_or_default().to_string(),
                    ))
                })
                .collect();
            let extra: Vec<String> = live_tags
                .keys()
                .filter(|k| !want.contains_key(*k))
                .cloned()
                .collect();
            if !extra.is_empty() {
                c.untag_resource()
                    .secret_id(name)
                    .set_tag_keys(Some(extra))
                    .send()
                    .await
                    .map_err(|e| {
                        WriteError::sdk(&format!("secretsmanager:UntagResource {name}"), &e)
                    })?;
            }
            let add: Vec<Tag> = want
                .iter()
                .filter(|(k, v)| live_tags.get(*k) != Some(v))
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect();
            if !add.is_empty() {
                c.tag_resource()
                    .secret_id(name)
                    .set_tags(Some(add))
                    .send()
                    .await
                    .map_err(|e| {
                        WriteError::sdk(&format!("secretsmanager:TagResource {name}"), &e)
                    })?;
            }
        }
    }
    match doc.get("ResourcePolicy") {
        Some(p) => {
            let text = match p {
                Value::String(t) => t.clone(),
                other => other.to_string(),
            };
            c.put_resource_policy()
                .secret_id(name)
                .resource_policy(text)
                .send()
                .await
                .map_err(|e| {
                    WriteError::sdk(&format!("secretsmanager:PutResourcePolicy {name}"), &e)
                })?;
        }
        None if matches!(step.action, Action::Update { .. }) => {
            c.delete_resource_policy()
                .secret_id(name)
                .send()
                .await
                .map_err(|e| {
                    WriteError::sdk(&format!("secretsmanager:DeleteResourcePolicy {name}"), &e)
                })?;
        }
        None => {}
    }
    Ok(())
}
