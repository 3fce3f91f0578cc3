//! IAM writer. Never credentials: access keys, passwords and MFA devices are issued again by
//! people (the plan says so).
//! - Roles: CreateRole (path, trust policy, description, maximum session, tags, permissions
//!   boundary), then the inline policies (PutRolePolicy) and the attached managed policies
//!   (AttachRolePolicy); for a role that differs, the trust policy, description and session
//!   length are updated and inline policies, attachments and tags are made exactly the
//!   snapshot's (extra ones removed).
//! - Customer managed policies: CreatePolicy with the snapshot's default document, or a new
//!   default version of it (CreatePolicyVersion), first deleting the oldest non-default version
//!   when the policy has IAM's 5; tags made exactly the snapshot's.
//! - Users: CreateUser (path, boundary, tags) or UpdateUser / the boundary and tags, then inline
//!   and attached policies and group memberships made exactly the snapshot's.
//! - Groups: CreateGroup (path) or UpdateGroup, inline and attached policies, and the members of
//!   the snapshot that exist.
//! - Instance profiles: CreateInstanceProfile (path, tags) holding the snapshot's role.

use aws_sdk_iam::types::Tag;
use aws_sdk_iam::Client;
use infrasnap_core::restore::{Action, Step};
use serde_json::Value;

use super::{Context, WriteError};

/// The kinds this writer restores.
pub const KINDS: &[&str] = &[
    "aws.iam.role",
    "aws.iam.policy",
    "aws.iam.user",
    "aws.iam.group",
    "aws.iam.instance_profile",
];

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

/// Write one IAM step.
pub async fn write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    let c = client(cx);
    match step.target.kind.as_str() {
        "aws.iam.policy" => policy(cx, &c, step).await,
        "aws.iam.user" => user(cx, &c, step).await,
        "aws.iam.group" => group(cx, &c, step).await,
        "aws.iam.instance_profile" => instance_profile(cx, &c, step).await,
        _ => role(cx, c, step).await,
    }
}

/// The tags of a document (`[{"Key", "Value"}]`).
fn doc_tags(doc: &Value) -> Vec<Tag> {
    doc.get("Tags")
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
        .collect()
}

/// The keys of live tags the snapshot's tags lack (to remove).
fn extra_tag_keys(live: &[Tag], want: &[Tag]) -> Vec<String> {
    live.iter()
        .map(|t| t.key().to_string())
        .filter(|k| !want.iter().any(|t| t.key() == k))
        .collect()
}

/// Write one role step.
async fn role(cx: &Context, c: Client, step: &Step) -> Result<(), WriteError> {
    let name = step.target.id.as_str();
    let call = |op: &str| format!("iam:{op} {name}");
    let p = Principal::Role(name);
    if matches!(step.action, Action::Delete) {
        sync_inline(&c, p, &Value::Null).await?;
        sync_attached(&c, p, &Value::Null).await?;
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
    let tags = doc_tags(&doc);
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
        sync_tags(&c, Tagged::Role(name), tags).await?;
    }
    sync_inline(&c, p, doc.get("InlinePolicies").unwrap_or(&Value::Null)).await?;
    sync_attached(
        &c,
        p,
        doc.get("AttachedManagedPolicies").unwrap_or(&Value::Null),
    )
    .await
}

/// Who inline and attached policies belong to.
#[derive(Clone, Copy)]
enum Principal<'a> {
    Role(&'a str),
    User(&'a str),
    Group(&'a str),
}

impl Principal<'_> {
    fn name(&self) -> &str {
        match self {
            Principal::Role(n) | Principal::User(n) | Principal::Group(n) => n,
        }
    }

    /// `iam:<Op>` with the principal's word (`Role`, `User`, `Group`) in place of `*`.
    fn call(&self, op: &str) -> String {
        let w = match self {
            Principal::Role(_) => "Role",
            Principal::User(_) => "User",
            Principal::Group(_) => "Group",
        };
        format!("iam:{} {}", op.replace('*', w), self.name())
    }
}

/// Make the principal's inline policies exactly `want` (`{name: document}`).
/// One IAM call per kind of principal, its error described with the call's name.
macro_rules! by_principal {
    ($p:expr, $op:expr, role => $r:expr, user => $u:expr, group => $g:expr $(,)?) => {
        match $p {
            Principal::Role(_) => $r.await.map_err(|e| WriteError::sdk(&$p.call($op), &e)),
            Principal::User(_) => $u.await.map_err(|e| WriteError::sdk(&$p.call($op), &e)),
            Principal::Group(_) => $g.await.map_err(|e| WriteError::sdk(&$p.call($op), &e)),
        }
    };
}

async fn sync_inline(c: &Client, p: Principal<'_>, want: &Value) -> Result<(), WriteError> {
    let n = p.name();
    let live: Vec<String> = by_principal!(
        p,
        "List*Policies",
        role => async { c.list_role_policies().role_name(n).send().await.map(|r| r.policy_names) },
        user => async { c.list_user_policies().user_name(n).send().await.map(|r| r.policy_names) },
        group => async { c.list_group_policies().group_name(n).send().await.map(|r| r.policy_names) },
    )?;
    let want = want.as_object().cloned().unwrap_or_default();
    for pn in live.iter().filter(|pn| !want.contains_key(*pn)) {
        by_principal!(p, "Delete*Policy",
            role => async { c.delete_role_policy().role_name(n).policy_name(pn).send().await.map(|_| ()) },
            user => async { c.delete_user_policy().user_name(n).policy_name(pn).send().await.map(|_| ()) },
            group => async { c.delete_group_policy().group_name(n).policy_name(pn).send().await.map(|_| ()) },
        )?;
    }
    for (pn, d) in want {
        let d = text(&d);
        by_principal!(p, "Put*Policy",
            role => async { c.put_role_policy().role_name(n).policy_name(&pn).policy_document(&d).send().await.map(|_| ()) },
            user => async { c.put_user_policy().user_name(n).policy_name(&pn).policy_document(&d).send().await.map(|_| ()) },
            group => async { c.put_group_policy().group_name(n).policy_name(&pn).policy_document(&d).send().await.map(|_| ()) },
        )?;
    }
    Ok(())
}

/// Make the principal's attached managed policies exactly `want` (`[{"PolicyArn": ...}]`).
async fn sync_attached(c: &Client, p: Principal<'_>, want: &Value) -> Result<(), WriteError> {
    let n = p.name();
    let live: Vec<String> = by_principal!(p, "ListAttached*Policies",
        role => async { c.list_attached_role_policies().role_name(n).send().await.map(|r| r.attached_policies.unwrap_or_default()) },
        user => async { c.list_attached_user_policies().user_name(n).send().await.map(|r| r.attached_policies.unwrap_or_default()) },
        group => async { c.list_attached_group_policies().group_name(n).send().await.map(|r| r.attached_policies.unwrap_or_default()) },
    )?
    .iter()
    .filter_map(|p| p.policy_arn().map(str::to_string))
    .collect();
    let want: Vec<String> = want
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| s(p, "PolicyArn"))
        .collect();
    for arn in live.iter().filter(|a| !want.contains(a)) {
        by_principal!(p, "Detach*Policy",
            role => async { c.detach_role_policy().role_name(n).policy_arn(arn).send().await.map(|_| ()) },
            user => async { c.detach_user_policy().user_name(n).policy_arn(arn).send().await.map(|_| ()) },
            group => async { c.detach_group_policy().group_name(n).policy_arn(arn).send().await.map(|_| ()) },
        )?;
    }
    for arn in want.iter().filter(|a| !live.contains(a)) {
        by_principal!(p, "Attach*Policy",
            role => async { c.attach_role_policy().role_name(n).policy_arn(arn).send().await.map(|_| ()) },
            user => async { c.attach_user_policy().user_name(n).policy_arn(arn).send().await.map(|_| ()) },
            group => async { c.attach_group_policy().group_name(n).policy_arn(arn).send().await.map(|_| ()) },
        )?;
    }
    Ok(())
}

/// Detach the policy `arn` from a principal.
async fn detach_only(c: &Client, p: Principal<'_>, arn: &str) -> Result<(), WriteError> {
    let n = p.name();
    by_principal!(p, "Detach*Policy",
        role => async { c.detach_role_policy().role_name(n).policy_arn(arn).send().await.map(|_| ()) },
        user => async { c.detach_user_policy().user_name(n).policy_arn(arn).send().await.map(|_| ()) },
        group => async { c.detach_group_policy().group_name(n).policy_arn(arn).send().await.map(|_| ()) },
    )
}

/// The ARN of a customer managed policy: the document's, or the live one's of that name.
async fn policy_arn(
    c: &Client,
    name: &str,
    doc: Option<&Value>,
) -> Result<Option<String>, WriteError> {
    if let Some(a) = doc.and_then(|d| s(d, "Arn")) {
        return Ok(Some(a));
    }
    let mut marker = None;
    loop {
        let r = c
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| WriteError::sdk("iam:ListPolicies", &e))?;
        if let Some(p) = r.policies().iter().find(|p| p.policy_name() == Some(name)) {
            return Ok(p.arn().map(str::to_string));
        }
        match (r.is_truncated, r.marker) {
            (true, Some(m)) => marker = Some(m),
            _ => return Ok(None),
        }
    }
}

/// Write one customer managed policy step.
async fn policy(cx: &Context, c: &Client, step: &Step) -> Result<(), WriteError> {
    let name = step.target.id.as_str();
    let call = |op: &str| format!("iam:{op} {name}");
    if matches!(step.action, Action::Delete) {
        let Some(arn) = policy_arn(c, name, None).await? else {
            return Ok(());
        };
        // IAM deletes only a policy attached to nothing.
        let used = c
            .list_entities_for_policy()
            .policy_arn(&arn)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("ListEntitiesForPolicy"), &e))?;
        for r in used.policy_roles() {
            if let Some(n) = r.role_name() {
                detach_only(c, Principal::Role(n), &arn).await?;
            }
        }
        for u in used.policy_users() {
            if let Some(n) = u.user_name() {
                detach_only(c, Principal::User(n), &arn).await?;
            }
        }
        for g in used.policy_groups() {
            if let Some(n) = g.group_name() {
                detach_only(c, Principal::Group(n), &arn).await?;
            }
        }
        let versions = c
            .list_policy_versions()
            .policy_arn(&arn)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("ListPolicyVersions"), &e))?;
        for v in versions
            .versions()
            .iter()
            .filter(|v| !v.is_default_version())
        {
            c.delete_policy_version()
                .policy_arn(&arn)
                .set_version_id(v.version_id().map(str::to_string))
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("DeletePolicyVersion"), &e))?;
        }
        c.delete_policy()
            .policy_arn(&arn)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("DeletePolicy"), &e))?;
        return Ok(());
    }
    let doc = cx.document(step)?;
    let document = doc
        .get("DefaultVersionDocument")
        .filter(|d| !d.is_null())
        .map(text)
        .ok_or_else(|| {
            WriteError::new(format!("the snapshot has no document for policy {name}"))
        })?;
    let tags = doc_tags(&doc);
    if matches!(step.action, Action::Create { .. }) {
        c.create_policy()
            .policy_name(name)
            .set_path(s(&doc, "Path"))
            .set_description(s(&doc, "Description"))
            .policy_document(document)
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("CreatePolicy"), &e))?;
        return Ok(());
    }
    let arn = policy_arn(c, name, Some(&doc))
        .await?
        .ok_or_else(|| WriteError::new(format!("policy {name} has no ARN in the snapshot")))?;
    let live = c
        .get_policy()
        .policy_arn(&arn)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&call("GetPolicy"), &e))?;
    let live_default = live
        .policy()
        .and_then(|p| p.default_version_id())
        .map(str::to_string);
    let current = match &live_default {
        Some(v) => c
            .get_policy_version()
            .policy_arn(&arn)
            .version_id(v)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("GetPolicyVersion"), &e))?
            .policy_version()
            .and_then(|v| v.document())
            .map(crate::aws::iam::doc::policy_document),
        None => None,
    };
    let want = doc
        .get("DefaultVersionDocument")
        .cloned()
        .unwrap_or(Value::Null);
    let canonical = |d: &Value| infrasnap_core::catalog::normalize::canonical(None, d);
    let same = current
        .as_ref()
        .is_some_and(|cur| canonical(cur) == canonical(&want));
    if !same {
        let versions = c
            .list_policy_versions()
            .policy_arn(&arn)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("ListPolicyVersions"), &e))?;
        if versions.versions().len() >= 5 {
            // IAM keeps 5 versions: the oldest non-default one makes room.
            let oldest = versions
                .versions()
                .iter()
                .filter(|v| !v.is_default_version())
                .min_by_key(|v| v.create_date().map(|d| (d.secs(), d.subsec_nanos())));
            if let Some(v) = oldest {
                c.delete_policy_version()
                    .policy_arn(&arn)
                    .set_version_id(v.version_id().map(str::to_string))
                    .send()
                    .await
                    .map_err(|e| WriteError::sdk(&call("DeletePolicyVersion"), &e))?;
            }
        }
        c.create_policy_version()
            .policy_arn(&arn)
            .policy_document(document)
            .set_as_default(true)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("CreatePolicyVersion"), &e))?;
    }
    sync_tags(c, Tagged::Policy(&arn), tags).await?;
    Ok(())
}

/// An IAM entity that has tags: a role or user by name, a managed policy by ARN.
#[derive(Clone, Copy)]
enum Tagged<'a> {
    Role(&'a str),
    User(&'a str),
    Policy(&'a str),
}

/// One IAM tagging call per kind of entity, its error described with the call's name
/// (`iam:<Op> <entity>`, the entity's word in place of `*`).
macro_rules! by_tagged {
    ($t:expr, $op:expr, role => $r:expr, user => $u:expr, policy => $p:expr $(,)?) => {{
        let (w, n) = match $t {
            Tagged::Role(n) => ("Role", n),
            Tagged::User(n) => ("User", n),
            Tagged::Policy(n) => ("Policy", n),
        };
        let call = format!("iam:{} {n}", $op.replace('*', w));
        match $t {
            Tagged::Role(_) => $r.await.map_err(|e| WriteError::sdk(&call, &e)),
            Tagged::User(_) => $u.await.map_err(|e| WriteError::sdk(&call, &e)),
            Tagged::Policy(_) => $p.await.map_err(|e| WriteError::sdk(&call, &e)),
        }
    }};
}

/// Make the entity's tags exactly `want`: extra keys removed, the wanted ones put.
async fn sync_tags(c: &Client, t: Tagged<'_>, want: Vec<Tag>) -> Result<(), WriteError> {
    let n = match t {
        Tagged::Role(n) | Tagged::User(n) | Tagged::Policy(n) => n,
    };
    let live: Vec<Tag> = by_tagged!(t, "List*Tags",
        role => async { c.list_role_tags().role_name(n).send().await.map(|r| r.tags) },
        user => async { c.list_user_tags().user_name(n).send().await.map(|r| r.tags) },
        policy => async { c.list_policy_tags().policy_arn(n).send().await.map(|r| r.tags) },
    )?;
    let extra = extra_tag_keys(&live, &want);
    if !extra.is_empty() {
        let keys = Some(extra);
        by_tagged!(t, "Untag*",
            role => async { c.untag_role().role_name(n).set_tag_keys(keys.clone()).send().await.map(|_| ()) },
            user => async { c.untag_user().user_name(n).set_tag_keys(keys.clone()).send().await.map(|_| ()) },
            policy => async { c.untag_policy().policy_arn(n).set_tag_keys(keys.clone()).send().await.map(|_| ()) },
        )?;
    }
    if !want.is_empty() {
        let tags = Some(want);
        by_tagged!(t, "Tag*",
            role => async { c.tag_role().role_name(n).set_tags(tags.clone()).send().await.map(|_| ()) },
            user => async { c.tag_user().user_name(n).set_tags(tags.clone()).send().await.map(|_| ()) },
            policy => async { c.tag_policy().policy_arn(n).set_tags(tags.clone()).send().await.map(|_| ()) },
        )?;
    }
    Ok(())
}

/// Whether an IAM error says the entity is not there.
fn no_such_entity<E: aws_sdk_iam::error::ProvideErrorMetadata>(
    e: &aws_sdk_iam::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    e.as_service_error().and_then(|s| s.code()) == Some("NoSuchEntity")
}

/// Write one user step. Never access keys, passwords or MFA devices.
async fn user(cx: &Context, c: &Client, step: &Step) -> Result<(), WriteError> {
    let name = step.target.id.as_str();
    let call = |op: &str| format!("iam:{op} {name}");
    let p = Principal::User(name);
    if matches!(step.action, Action::Delete) {
        sync_inline(c, p, &Value::Null).await?;
        sync_attached(c, p, &Value::Null).await?;
        sync_groups(c, name, &[]).await?;
        let keys = c
            .list_access_keys()
            .user_name(name)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("ListAccessKeys"), &e))?;
        for k in keys.access_key_metadata() {
            c.delete_access_key()
                .user_name(name)
                .set_access_key_id(k.access_key_id().map(str::to_string))
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("DeleteAccessKey"), &e))?;
        }
        if let Err(e) = c.delete_login_profile().user_name(name).send().await {
            if !no_such_entity(&e) {
                return Err(WriteError::sdk(&call("DeleteLoginProfile"), &e));
            }
        }
        c.delete_user()
            .user_name(name)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("DeleteUser"), &e))?;
        return Ok(());
    }
    let doc = cx.document(step)?;
    let tags = doc_tags(&doc);
    let boundary = doc
        .pointer("/PermissionsBoundary/PermissionsBoundaryArn")
        .and_then(Value::as_str)
        .map(str::to_string);
    if matches!(step.action, Action::Create { .. }) {
        c.create_user()
            .user_name(name)
            .set_path(s(&doc, "Path"))
            .set_permissions_boundary(boundary)
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("CreateUser"), &e))?;
    } else {
        c.update_user()
            .user_name(name)
            .set_new_path(s(&doc, "Path"))
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("UpdateUser"), &e))?;
        match boundary {
            Some(b) => c
                .put_user_permissions_boundary()
                .user_name(name)
                .permissions_boundary(b)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| WriteError::sdk(&call("PutUserPermissionsBoundary"), &e))?,
            None => {
                if let Err(e) = c
                    .delete_user_permissions_boundary()
                    .user_name(name)
                    .send()
                    .await
                {
                    if !no_such_entity(&e) {
                        return Err(WriteError::sdk(&call("DeleteUserPermissionsBoundary"), &e));
                    }
                }
            }
        }
        sync_tags(c, Tagged::User(name), tags).await?;
    }
    sync_inline(c, p, doc.get("InlinePolicies").unwrap_or(&Value::Null)).await?;
    sync_attached(
        c,
        p,
        doc.get("AttachedManagedPolicies").unwrap_or(&Value::Null),
    )
    .await?;
    let groups: Vec<String> = doc
        .get("Groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_str().map(str::to_string).or_else(|| s(g, "GroupName")))
        .collect();
    sync_groups(c, name, &groups).await
}

/// Make the user's group memberships exactly `want`.
async fn sync_groups(c: &Client, user: &str, want: &[String]) -> Result<(), WriteError> {
    let call = |op: &str| format!("iam:{op} {user}");
    let live: Vec<String> = c
        .list_groups_for_user()
        .user_name(user)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&call("ListGroupsForUser"), &e))?
        .groups()
        .iter()
        .map(|g| g.group_name().to_string())
        .collect();
    for g in live.iter().filter(|g| !want.contains(g)) {
        c.remove_user_from_group()
            .user_name(user)
            .group_name(g)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("RemoveUserFromGroup"), &e))?;
    }
    for g in want.iter().filter(|g| !live.contains(g)) {
        c.add_user_to_group()
            .user_name(user)
            .group_name(g)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("{} to {g}", call("AddUserToGroup")), &e))?;
    }
    Ok(())
}

/// Write one group step.
async fn group(cx: &Context, c: &Client, step: &Step) -> Result<(), WriteError> {
    let name = step.target.id.as_str();
    let call = |op: &str| format!("iam:{op} {name}");
    let p = Principal::Group(name);
    if matches!(step.action, Action::Delete) {
        sync_inline(c, p, &Value::Null).await?;
        sync_attached(c, p, &Value::Null).await?;
        let g = c
            .get_group()
            .group_name(name)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("GetGroup"), &e))?;
        for u in g.users() {
            c.remove_user_from_group()
                .group_name(name)
                .user_name(u.user_name())
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("RemoveUserFromGroup"), &e))?;
        }
        c.delete_group()
            .group_name(name)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("DeleteGroup"), &e))?;
        return Ok(());
    }
    let doc = cx.document(step)?;
    if matches!(step.action, Action::Create { .. }) {
        c.create_group()
            .group_name(name)
            .set_path(s(&doc, "Path"))
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("CreateGroup"), &e))?;
    } else {
        c.update_group()
            .group_name(name)
            .set_new_path(s(&doc, "Path"))
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("UpdateGroup"), &e))?;
    }
    sync_inline(c, p, doc.get("InlinePolicies").unwrap_or(&Value::Null)).await?;
    sync_attached(
        c,
        p,
        doc.get("AttachedManagedPolicies").unwrap_or(&Value::Null),
    )
    .await?;
    // The snapshot's members that exist (a deleted user joins with its own step).
    let live: Vec<String> = c
        .get_group()
        .group_name(name)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&call("GetGroup"), &e))?
        .users()
        .iter()
        .map(|u| u.user_name().to_string())
        .collect();
    for m in doc
        .get("Members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(u) = m.as_str().map(str::to_string).or_else(|| s(m, "UserName")) else {
            continue;
        };
        if live.contains(&u) {
            continue;
        }
        if let Err(e) = c
            .add_user_to_group()
            .group_name(name)
            .user_name(&u)
            .send()
            .await
        {
            if !no_such_entity(&e) {
                return Err(WriteError::sdk(&call("AddUserToGroup"), &e));
            }
        }
    }
    Ok(())
}

/// Write one instance profile step: the profile and its role.
async fn instance_profile(cx: &Context, c: &Client, step: &Step) -> Result<(), WriteError> {
    let name = step.target.id.as_str();
    let call = |op: &str| format!("iam:{op} {name}");
    let live = match c
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
    {
        Ok(r) => r.instance_profile().map(|p| {
            p.roles()
                .iter()
                .map(|r| r.role_name().to_string())
                .collect::<Vec<_>>()
        }),
        Err(e) if no_such_entity(&e) => None,
        Err(e) => return Err(WriteError::sdk(&call("GetInstanceProfile"), &e)),
    };
    let want: Vec<String> = if matches!(step.action, Action::Delete) {
        Vec::new()
    } else {
        cx.document(step)?
            .get("Roles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| s(r, "RoleName"))
            .collect()
    };
    let live = match live {
        Some(l) => l,
        None if matches!(step.action, Action::Delete) => return Ok(()),
        None => {
            let doc = cx.document(step)?;
            let tags = doc_tags(&doc);
            c.create_instance_profile()
                .instance_profile_name(name)
                .set_path(s(&doc, "Path"))
                .set_tags((!tags.is_empty()).then_some(tags))
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("CreateInstanceProfile"), &e))?;
            Vec::new()
        }
    };
    for r in live.iter().filter(|r| !want.contains(r)) {
        c.remove_role_from_instance_profile()
            .instance_profile_name(name)
            .role_name(r)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("RemoveRoleFromInstanceProfile"), &e))?;
    }
    for r in want.iter().filter(|r| !live.contains(r)) {
        c.add_role_to_instance_profile()
            .instance_profile_name(name)
            .role_name(r)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("AddRoleToInstanceProfile"), &e))?;
    }
    if matches!(step.action, Action::Delete) {
        c.delete_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("DeleteInstanceProfile"), &e))?;
    }
    Ok(())
}
