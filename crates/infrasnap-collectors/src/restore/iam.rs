//! IAM writer: roles. CreateRole (path, trust policy, description, maximum session, tags,
//! permissions boundary), then the inline policies (PutRolePolicy) and the attached managed
//! policies (AttachRolePolicy); for a role that differs, the trust policy, description and
//! session length are updated and inline policies, attachments and tags are made exactly the
//! snapshot's (extra ones removed). Never credentials. Instance profiles are not restored.

use aws_sdk_iam::types::Tag;
use aws_sdk_iam::Client;
use infrasnap_core::restore::{Action, Step};
use serde_json::Value;

use super::{Context, WriteError};

/// The kinds this writer restores.
pub const KINDS: &[&str] = &["aws.iam.role"];

fn client(cx: &Context) -> Client {
    let conf = aws_sdk_iam::config::Builder::from(&cx.sdk)
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .build();
    Client::from_conf(conf)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).expect("JSON"),
    }
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

/// Write one role step.
pub async fn write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    let name = step.target.id.as_str();
    let c = client(cx);
    let call = |op: &str| format!("iam:{op} {name}");
    if matches!(step.action, Action::Delete) {
        sync_inline(&c, name, &Value::Null).await?;
        sync_attached(&c, name, &Value::Null).await?;
        c.delete_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("DeleteRole"), &e))?;
        return Ok(());
    }
    let doc = cx.document(step)?;
    let trust = doc
        .get("AssumeRolePolicyDocument")
        .map(text)
        .ok_or_else(|| WriteError::new("the snapshot has no trust policy for this role"))?;
    let tags: Vec<Tag> = doc
        .get("Tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Tag::builder()
                .key(s(t, "Key")?)
                .value(s(t, "Value")?)
                .build()
                .ok()
        })
        .collect();
    let max = doc
        .get("MaxSessionDuration")
        .and_then(Value::as_i64)
        .map(|n| n as i32);
    if matches!(step.action, Action::Create { .. }) {
        c.create_role()
            .role_name(name)
            .set_path(s(&doc, "Path"))
            .assume_role_policy_document(trust)
            .set_description(s(&doc, "Description"))
            .set_max_session_duration(max)
            .set_permissions_boundary(
                doc.pointer("/PermissionsBoundary/PermissionsBoundaryArn")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("CreateRole"), &e))?;
    } else {
        c.update_assume_role_policy()
            .role_name(name)
            .policy_document(trust)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("UpdateAssumeRolePolicy"), &e))?;
        c.update_role()
            .role_name(name)
            .set_description(s(&doc, "Description"))
            .set_max_session_duration(max)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("UpdateRole"), &e))?;
        let live_tags = c
            .list_role_tags()
            .role_name(name)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("ListRoleTags"), &e))?;
        let extra: Vec<String> = live_tags
            .tags()
            .iter()
            .map(|t| t.key().to_string())
            .filter(|k| !tags.iter().any(|t| t.key() == k))
            .collect();
        if !extra.is_empty() {
            c.untag_role()
                .role_name(name)
                .set_tag_keys(Some(extra))
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("UntagRole"), &e))?;
        }
        if !tags.is_empty() {
            c.tag_role()
                .role_name(name)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("TagRole"), &e))?;
        }
    }
    sync_inline(&c, name, doc.get("InlinePolicies").unwrap_or(&Value::Null)).await?;
    sync_attached(
        &c,
        name,
        doc.get("AttachedManagedPolicies").unwrap_or(&Value::Null),
    )
    .await
}

/// Make the role's inline policies exactly `want` (`{name: document}`).
async fn sync_inline(c: &Client, role: &str, want: &Value) -> Result<(), WriteError> {
    let live = c
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("iam:ListRolePolicies {role}"), &e))?;
    let want = want.as_object().cloned().unwrap_or_default();
    for n in live.policy_names() {
        if !want.contains_key(n) {
            c.delete_role_policy()
                .role_name(role)
                .policy_name(n)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&format!("iam:DeleteRolePolicy {role}"), &e))?;
        }
    }
    for (n, d) in want {
        c.put_role_policy()
            .role_name(role)
            .policy_name(&n)
            .policy_document(text(&d))
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("iam:PutRolePolicy {role} {n}"), &e))?;
    }
    Ok(())
}

/// Make the role's attached managed policies exactly `want` (`[{"PolicyArn": ...}]`).
async fn sync_attached(c: &Client, role: &str, want: &Value) -> Result<(), WriteError> {
    let live = c
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("iam:ListAttachedRolePolicies {role}"), &e))?;
    let want: Vec<String> = want
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| s(p, "PolicyArn"))
        .collect();
    let live: Vec<String> = live
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect();
    for arn in live.iter().filter(|a| !want.contains(a)) {
        c.detach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("iam:DetachRolePolicy {role}"), &e))?;
    }
    for arn in want.iter().filter(|a| !live.contains(a)) {
        c.attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("iam:AttachRolePolicy {role}"), &e))?;
    }
    Ok(())
}
