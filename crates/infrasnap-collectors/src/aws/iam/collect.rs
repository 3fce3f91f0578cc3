//! Capturing IAM (a global service, called in the account's home region).
//!
//! Calls, each after the account's IAM rate limiter:
//! - GetAccountAuthorizationDetails (paged; roles, users, groups, customer managed policies with
//!   their inline policies, attachments, boundaries, tags, role last use and policy versions);
//! - ListRoles and ListUsers (paged) for what the authorization details lack (role description
//!   and maximum session, user password last used);
//! - per customer managed policy: ListPolicyTags, plus GetPolicy when the details lack its name
//!   or id, and GetPolicyVersion when they lack the default version's document;
//! - per user: ListAccessKeys, GetAccessKeyLastUsed per key, GetLoginProfile, ListMFADevices;
//! - ListInstanceProfiles (+ GetInstanceProfile, for tags), ListOpenIDConnectProviders
//!   (+ GetOpenIDConnectProvider), ListSAMLProviders (+ GetSAMLProvider).
//!
//! Resources handed to the catalog, ids being IAM's names: `aws.iam.role`, `aws.iam.policy`,
//! `aws.iam.user`, `aws.iam.group` (`iam/<account>/{roles,policies,users,groups}/<name>.json`),
//! and the member kinds `aws.iam.instance_profile` (id: its name), `aws.iam.oidc_provider` and
//! `aws.iam.saml_provider` (id: the ARN after `oidc-provider/` / `saml-provider/`), whose views
//! the core writes (`instance_profiles.json`, `oidc_providers.json`, `saml_providers.json`).
//! Every kind's listing is reported as coverage (account-wide: region "").
//!
//! Never read: secret access keys (no call returns them), passwords, SAML private keys.
//! A failed call is recorded with its IAM action and resource, and the rest goes on.

use infrasnap_core::manifest::Table;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_iam::types::{
    EntityType, GroupDetail, ManagedPolicyDetail, Role, RoleDetail, User, UserDetail,
};
use aws_sdk_iam::Client;
use futures::{stream, StreamExt};
use infrasnap_core::engine::{Collector, CollectorReport, ErrorSink, RunContext, Tally};
use infrasnap_core::ids::ResourceId;
use infrasnap_core::metadata::RecordedError;
use serde_json::{json, Map, Value};

use super::doc::{self, date, opt_date, policy_document, tags};
use super::fallback::{Listed, Notes};
use super::IamCollector;
use crate::aws::kit::{marker_if, sdk_pages, Run};
use crate::aws::sdk_error::{describe, ApiFailure, ErrorKind};

const ROLE: &str = "aws.iam.role";
const POLICY: &str = "aws.iam.policy";
const USER: &str = "aws.iam.user";
const GROUP: &str = "aws.iam.group";
const INSTANCE_PROFILE: &str = "aws.iam.instance_profile";
const OIDC_PROVIDER: &str = "aws.iam.oidc_provider";
const SAML_PROVIDER: &str = "aws.iam.saml_provider";
/// Per-entity work at once (the rate limiter is the real bound).
const CONCURRENCY: usize = 4;

/// The recorded error. A 403 whose body could not be read is still a denial: IAM answers 403
/// only for AccessDenied (and its variants), so it is recorded as such.
pub(super) fn rec_err(action: &str, resource: &str, f: &ApiFailure) -> RecordedError {
    let e = f.of("iam", action, resource);
    let code = e
        .code
        .clone()
        .or_else(|| (e.kind == ErrorKind::Denied).then(|| "AccessDenied".into()));
    e.with_code(code).into()
}

/// `{"Field", "Action", "Code"}`: what a file lacks because a call failed.
pub(super) fn unreadable(field: &str, action: &str, f: &ApiFailure) -> Value {
    json!({"Field": field, "Action": action, "Code": rec_err(action, "", f).code})
}

/// Everything GetAccountAuthorizationDetails returned.
#[derive(Default)]
pub(super) struct Details {
    pub roles: Vec<RoleDetail>,
    pub users: Vec<UserDetail>,
    pub groups: Vec<GroupDetail>,
    pub policies: Vec<ManagedPolicyDetail>,
}

fn attached(list: &[aws_sdk_iam::types::AttachedPolicy]) -> Value {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|p| {
            (
                p.policy_name().unwrap_or_default().to_string(),
                p.policy_arn().unwrap_or_default().to_string(),
            )
        })
        .collect();
    v.sort();
    v.dedup();
    Value::Array(
        v.into_iter()
            .map(|(n, a)| json!({"PolicyName": n, "PolicyArn": a}))
            .collect(),
    )
}

fn inline(list: &[aws_sdk_iam::types::PolicyDetail]) -> Value {
    let mut m = Map::new();
    let mut v: Vec<&aws_sdk_iam::types::PolicyDetail> = list.iter().collect();
    v.sort_by_key(|p| p.policy_name().unwrap_or_default().to_string());
    for p in v {
        m.insert(
            p.policy_name().unwrap_or_default().to_string(),
            p.policy_document()
                .map(policy_document)
                .unwrap_or(Value::Null),
        );
    }
    Value::Object(m)
}

fn boundary(b: Option<&aws_sdk_iam::types::AttachedPermissionsBoundary>) -> Value {
    match b {
        Some(b) => json!({
            "PermissionsBoundaryType": b.permissions_boundary_type().map(|t| t.as_str().to_string()),
            "PermissionsBoundaryArn": b.permissions_boundary_arn(),
        }),
        None => Value::Null,
    }
}

/// Drop null members, so that absent fields are absent (and files stay small).
fn compact(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k, compact(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(compact).collect()),
        x => x,
    }
}

/// A row of a manifest table.
struct Row {
    name: String,
    attached: usize,
    extra: String,
    last_used: String,
}

impl IamCollector {
    pub(super) fn client(&self) -> Client {
        let region = if self.scope.home_region.is_empty() {
            "us-east-1"
        } else {
            self.scope.home_region.as_str()
        };
        Client::new(&self.scope.in_region(region))
    }

    pub(super) async fn limit(&self) {
        self.limits.iam.acquire().await;
    }

    pub(super) fn arn(&self, kind: &str, name: &str) -> String {
        format!("arn:aws:iam::{}:{kind}/{name}", self.scope.account_id)
    }

    /// The id of the IAM resource `name` of `kind` in this account.
    fn id(&self, kind: &str, name: &str) -> ResourceId {
        ResourceId::new(kind, &self.scope.account_id, "", name)
    }

    /// Compact, redact (keeping IAM's identifiers) and hand over one resource's document.
    fn put(
        &self,
        cx: &RunContext,
        id: &ResourceId,
        v: Value,
        tally: &mut Tally,
        errors: &ErrorSink,
    ) {
        let mut v = compact(v);
        doc::redact(&mut v, cx.fingerprinter());
        match cx.put_resource(id, None, &v) {
            Ok(st) => tally.add(&st),
            Err(e) => errors.record(RecordedError {
                service: "iam".into(),
                action: "write".into(),
                resource: id.to_string(),
                code: Some("LocalWriteFailed".into()),
                message: e.to_string(),
            }),
        }
        if v.get("Unreadable").is_some() {
            // A call about it failed: not comparable with another snapshot's document.
            cx.mark_incomplete(id);
        }
    }

    /// Hand over the members listed for a member kind (`(id, document)` pairs) and report the
    /// listing (its IAM action and ARN kind name the error). The number of members, or None
    /// when the listing failed.
    fn members(
        &self,
        cx: &RunContext,
        kind: &str,
        result: Result<Vec<(String, Value)>, ApiFailure>,
        (action, arn_kind): (&str, &str),
        tally: &mut Tally,
        errors: &ErrorSink,
    ) -> Option<u64> {
        match result {
            Ok(items) => {
                self.cover(cx, kind, None);
                let n = items.len() as u64;
                for (id, v) in items {
                    self.put(cx, &self.id(kind, &id), v, tally, errors);
                }
                Some(n)
            }
            Err(f) => {
                let e = rec_err(action, &self.arn(arn_kind, "*"), &f);
                self.cover(cx, kind, Some(&e));
                errors.record(e);
                None
            }
        }
    }

    /// Report the listing of `kind`: complete, or failed with `error`.
    fn cover(&self, cx: &RunContext, kind: &str, error: Option<&RecordedError>) {
        cx.cover(kind, &self.scope.account_id, "", error);
    }

    pub(super) async fn run_inner(self: Arc<Self>, cx: Arc<RunContext>) -> CollectorReport {
        let run = Run::start(&cx, &self.key());
        let (progress, errors) = (run.progress.clone(), run.errors.clone());
        let client = self.client();
        let mut report = CollectorReport::default();
        let mut tally = Tally::default();
        let mut listed = 0usize;

        // The authorization details: most of what is captured, in few calls.
        let (details, details_err) = match self.details(&client).await {
            Ok(d) => {
                listed += 1;
                (Some(d), None)
            }
            Err(f) => {
                let e = rec_err("iam:GetAccountAuthorizationDetails", "*", &f);
                errors.record(e.clone());
                (None, Some(e))
            }
        };

        let (roles, roles_err) = match self.list_roles(&client).await {
            Ok(r) => {
                listed += 1;
                (Some(r), None)
            }
            Err(f) => {
                let e = rec_err("iam:ListRoles", &self.arn("role", "*"), &f);
                errors.record(e.clone());
                (None, Some(e))
            }
        };
        let (users, users_err) = match self.list_users(&client).await {
            Ok(u) => {
                listed += 1;
                (Some(u), None)
            }
            Err(f) => {
                let e = rec_err("iam:ListUsers", &self.arn("user", "*"), &f);
                errors.record(e.clone());
                (None, Some(e))
            }
        };
        // Denied the authorization details: the same from per-entity calls.
        let (details, notes, fallback) = match details {
            Some(d) => (d, Notes::new(), Listed::default()),
            None => {
                self.details_fallback(
                    &client,
                    roles.as_deref().unwrap_or_default(),
                    users.as_deref().unwrap_or_default(),
                    &errors,
                    &mut listed,
                )
                .await
            }
        };
        // Coverage: a kind is known whole when the authorization details answered, or else its
        // own listing did (ListRoles, ListUsers, ListGroups, ListPolicies).
        let own_listing = |own: Option<RecordedError>| own.filter(|_| details_err.is_some());
        self.cover(&cx, ROLE, own_listing(roles_err).as_ref());
        self.cover(&cx, USER, own_listing(users_err).as_ref());
        self.cover(&cx, GROUP, own_listing(fallback.groups).as_ref());
        self.cover(&cx, POLICY, own_listing(fallback.policies).as_ref());
        let no_notes: Vec<Value> = Vec::new();
        let total = details.roles.len().max(roles.as_ref().map_or(0, Vec::len))
            + details.users.len().max(users.as_ref().map_or(0, Vec::len))
            + details.groups.len()
            + details.policies.len();
        progress.add(&progress.units_total, total as u64);

        // Roles.
        let mut role_rows = Vec::new();
        {
            let mut by_name: BTreeMap<String, (Option<&Role>, Option<&RoleDetail>)> =
                BTreeMap::new();
            for r in roles.iter().flatten() {
                by_name.entry(r.role_name().to_string()).or_default().0 = Some(r);
            }
            for r in &details.roles {
                if let Some(n) = r.role_name() {
                    by_name.entry(n.to_string()).or_default().1 = Some(r);
                }
            }
            for (name, (listed_role, detail)) in &by_name {
                let n = notes.get(&format!("role/{name}")).unwrap_or(&no_notes);
                let (v, row) = role_json(name, *listed_role, *detail, n, roles.is_none());
                self.put(&cx, &self.id(ROLE, name), v, &mut tally, &errors);
                role_rows.push(row);
                progress.add(&progress.units_done, 1);
            }
        }

        // Customer managed policies.
        let mut policy_rows = Vec::new();
        {
            let me = self.clone();
            let mut done: Vec<(String, Value, Row)> = stream::iter(details.policies.clone())
                .map(|p| {
                    let me = me.clone();
                    let client = client.clone();
                    let errors = errors.clone();
                    async move { me.policy(&client, &p, &errors).await }
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            done.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, v, row) in done {
                self.put(&cx, &self.id(POLICY, &name), v, &mut tally, &errors);
                policy_rows.push(row);
                progress.add(&progress.units_done, 1);
            }
        }

        // Users.
        let mut user_rows = Vec::new();
        let mut members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        {
            let mut by_name: BTreeMap<String, (Option<User>, Option<UserDetail>)> = BTreeMap::new();
            for u in users.iter().flatten() {
                by_name.entry(u.user_name().to_string()).or_default().0 = Some(u.clone());
            }
            for u in &details.users {
                if let Some(n) = u.user_name() {
                    by_name.entry(n.to_string()).or_default().1 = Some(u.clone());
                    for g in u.group_list() {
                        members.entry(g.clone()).or_default().insert(n.to_string());
                    }
                }
            }
            let me = self.clone();
            let mut done: Vec<(String, Value, Row)> = stream::iter(by_name)
                .map(|(name, (u, d))| {
                    let me = me.clone();
                    let client = client.clone();
                    let errors = errors.clone();
                    let flags = (
                        notes
                            .get(&format!("user/{name}"))
                            .cloned()
                            .unwrap_or_default(),
                        users.is_none(),
                    );
                    async move { me.user(&client, name, u, d, flags, &errors).await }
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            done.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, v, row) in done {
                self.put(&cx, &self.id(USER, &name), v, &mut tally, &errors);
                user_rows.push(row);
                progress.add(&progress.units_done, 1);
            }
        }

        // Groups.
        let mut group_rows = Vec::new();
        {
            let mut groups: Vec<&GroupDetail> = details.groups.iter().collect();
            groups.sort_by_key(|g| g.group_name().unwrap_or_default().to_string());
            for g in groups {
                let name = g.group_name().unwrap_or_default().to_string();
                let m: Vec<String> = members.get(&name).into_iter().flatten().cloned().collect();
                let v = json!({
                    "GroupName": name,
                    "GroupId": g.group_id(),
                    "Arn": g.arn(),
                    "Path": g.path(),
                    "CreateDate": opt_date(g.create_date()),
                    "InlinePolicies": inline(g.group_policy_list()),
                    "AttachedManagedPolicies": attached(g.attached_managed_policies()),
                    "Members": m,
                    "Unreadable": notes.get(&format!("group/{name}")),
                });
                group_rows.push(Row {
                    name: name.clone(),
                    attached: g.attached_managed_policies().len(),
                    extra: m.len().to_string(),
                    last_used: String::new(),
                });
                self.put(&cx, &self.id(GROUP, &name), v, &mut tally, &errors);
                progress.add(&progress.units_done, 1);
            }
        }

        // Instance profiles, identity providers: member kinds, one resource each; the core
        // writes their views.
        let mut counts_extra = Vec::new();
        let r = self.instance_profiles(&client, &errors).await;
        let l = ("iam:ListInstanceProfiles", "instance-profile");
        if let Some(n) = self.members(&cx, INSTANCE_PROFILE, r, l, &mut tally, &errors) {
            listed += 1;
            counts_extra.push(("instance_profiles", n));
        }
        let r = self.oidc_providers(&client, &errors).await;
        let l = ("iam:ListOpenIDConnectProviders", "oidc-provider");
        if let Some(n) = self.members(&cx, OIDC_PROVIDER, r, l, &mut tally, &errors) {
            listed += 1;
            counts_extra.push(("oidc_providers", n));
        }
        let r = self.saml_providers(&client, &errors).await;
        let l = ("iam:ListSAMLProviders", "saml-provider");
        if let Some(n) = self.members(&cx, SAML_PROVIDER, r, l, &mut tally, &errors) {
            listed += 1;
            counts_extra.push(("saml_providers", n));
        }

        let s = &mut report.summary;
        s.counts.insert("roles".into(), role_rows.len() as u64);
        s.counts.insert("policies".into(), policy_rows.len() as u64);
        s.counts.insert("users".into(), user_rows.len() as u64);
        s.counts.insert("groups".into(), group_rows.len() as u64);
        for (k, n) in counts_extra {
            s.counts.insert(k.into(), n);
        }
        tally.add_to(s);
        run.finish(s, listed == 0);
        report.regions = vec![self.scope.home_region.clone()];

        let m = &mut report.manifest;
        let mut table =
            |title: &str, head: &str, col2: &str, extra: &str, rows: &[Row], last: bool| {
                if rows.is_empty() {
                    return;
                }
                m.heading(format!("{title} ({})", rows.len()));
                let t = if last {
                    Table::with_rows(
                        &[head, "Attached policies", extra, "Last used"],
                        rows.iter()
                            .map(|r| {
                                vec![
                                    r.name.clone(),
                                    r.attached.to_string(),
                                    r.extra.clone(),
                                    r.last_used.clone(),
                                ]
                            })
                            .collect(),
                    )
                } else {
                    Table::with_rows(
                        &[head, col2, extra],
                        rows.iter()
                            .map(|r| vec![r.name.clone(), r.attached.to_string(), r.extra.clone()])
                            .collect(),
                    )
                };
                m.table(t);
            };
        table(
            "Roles",
            "Role",
            "Attached policies",
            "Inline policies",
            &role_rows,
            true,
        );
        table(
            "Customer managed policies",
            "Policy",
            "Attachments",
            "Default version",
            &policy_rows,
            false,
        );
        table(
            "Users",
            "User",
            "Attached policies",
            "Access keys",
            &user_rows,
            true,
        );
        table(
            "Groups",
            "Group",
            "Attached policies",
            "Members",
            &group_rows,
            false,
        );
        report
    }

    async fn details(&self, client: &Client) -> Result<Details, ApiFailure> {
        let pages = sdk_pages!(
            &self.limits.iam,
            "IAM authorization details",
            |m| client
                .get_account_authorization_details()
                .filter(EntityType::Role)
                .filter(EntityType::User)
                .filter(EntityType::Group)
                .filter(EntityType::LocalManagedPolicy)
                .set_marker(m),
            |r| {
                let next = marker_if(r.is_truncated, r.marker.clone());
                (vec![r], next)
            }
        )
        .await?;
        let mut d = Details::default();
        for r in pages {
            d.roles.extend(r.role_detail_list.unwrap_or_default());
            d.users.extend(r.user_detail_list.unwrap_or_default());
            d.groups.extend(r.group_detail_list.unwrap_or_default());
            d.policies.extend(r.policies.unwrap_or_default());
        }
        Ok(d)
    }

    async fn list_roles(&self, client: &Client) -> Result<Vec<Role>, ApiFailure> {
        sdk_pages!(
            &self.limits.iam,
            "IAM roles",
            |m| client.list_roles().set_marker(m),
            |r| (r.roles, marker_if(r.is_truncated, r.marker))
        )
        .await
    }

    async fn list_users(&self, client: &Client) -> Result<Vec<User>, ApiFailure> {
        sdk_pages!(
            &self.limits.iam,
            "IAM users",
            |m| client.list_users().set_marker(m),
            |r| (r.users, marker_if(r.is_truncated, r.marker))
        )
        .await
    }

    async fn policy(
        &self,
        client: &Client,
        p: &ManagedPolicyDetail,
        errors: &ErrorSink,
    ) -> (String, Value, Row) {
        let arn = p.arn().unwrap_or_default().to_string();
        let mut name = p.policy_name().map(str::to_string);
        let mut id = p.policy_id().map(str::to_string);
        // An empty description is no description (servers differ in which they send).
        let mut description = p
            .description()
            .filter(|d| !d.is_empty())
            .map(str::to_string);
        let mut unread = Vec::new();
        // The details lack the name and id on some servers, ListPolicies (the fallback) lacks
        // the description: GetPolicy has them all.
        if name.is_none() || id.is_none() || description.is_none() {
            self.limit().await;
            match client.get_policy().policy_arn(&arn).send().await {
                Ok(r) => {
                    if let Some(g) = r.policy() {
                        name = name.or(g.policy_name().map(str::to_string));
                        id = id.or(g.policy_id().map(str::to_string));
                        description = description.or(g
                            .description()
                            .filter(|d| !d.is_empty())
                            .map(str::to_string));
                    }
                }
                Err(e) => {
                    let f = describe(&e);
                    errors.record(rec_err("iam:GetPolicy", &arn, &f));
                    unread.push(unreadable("PolicyName", "iam:GetPolicy", &f));
                }
            }
        }
        // The name is the last segment of the ARN (after the path).
        let name = name.unwrap_or_else(|| arn.rsplit('/').next().unwrap_or(&arn).to_string());
        let default_id = p.default_version_id().map(str::to_string);
        let mut versions: Vec<&aws_sdk_iam::types::PolicyVersion> =
            p.policy_version_list().iter().collect();
        versions.sort_by_key(|v| v.version_id().unwrap_or_default().to_string());
        let default_doc = versions
            .iter()
            .find(|v| v.is_default_version() || v.version_id() == default_id.as_deref())
            .and_then(|v| v.document())
            .map(policy_document);
        let default_doc = match (default_doc, &default_id) {
            (Some(d), _) => Some(d),
            (None, Some(vid)) => {
                self.limit().await;
                match client
                    .get_policy_version()
                    .policy_arn(&arn)
                    .version_id(vid)
                    .send()
                    .await
                {
                    Ok(r) => r
                        .policy_version()
                        .and_then(|v| v.document())
                        .map(policy_document),
                    Err(e) => {
                        let f = describe(&e);
                        errors.record(rec_err("iam:GetPolicyVersion", &arn, &f));
                        unread.push(unreadable(
                            "DefaultVersionDocument",
                            "iam:GetPolicyVersion",
                            &f,
                        ));
                        None
                    }
                }
            }
            (None, None) => None,
        };
        let listed = sdk_pages!(
            &self.limits.iam,
            "IAM policy tags",
            |m| client.list_policy_tags().policy_arn(&arn).set_marker(m),
            |r| (r.tags, marker_if(r.is_truncated, r.marker))
        )
        .await;
        let tag_v = match listed {
            Ok(t) => tags(&t),
            Err(f) => {
                errors.record(rec_err("iam:ListPolicyTags", &arn, &f));
                unread.push(unreadable("Tags", "iam:ListPolicyTags", &f));
                Value::Null
            }
        };
        let v = json!({
            "PolicyName": name,
            "PolicyId": id,
            "Arn": arn,
            "Path": p.path(),
            "Description": description,
            "CreateDate": opt_date(p.create_date()),
            "UpdateDate": opt_date(p.update_date()),
            "DefaultVersionId": default_id,
            "DefaultVersionDocument": default_doc,
            "Versions": versions.iter().map(|v| json!({
                "VersionId": v.version_id(),
                "IsDefaultVersion": v.is_default_version(),
                "CreateDate": opt_date(v.create_date()),
            })).collect::<Vec<_>>(),
            "AttachmentCount": p.attachment_count(),
            "PermissionsBoundaryUsageCount": p.permissions_boundary_usage_count(),
            "IsAttachable": p.is_attachable(),
            "Tags": tag_v,
            "Unreadable": if unread.is_empty() { Value::Null } else { Value::Array(unread) },
        });
        let row = Row {
            name: name.clone(),
            attached: p.attachment_count().unwrap_or(0).max(0) as usize,
            extra: default_id.clone().unwrap_or_else(|| "?".into()),
            last_used: String::new(),
        };
        (name, v, row)
    }

    async fn user(
        &self,
        client: &Client,
        name: String,
        u: Option<User>,
        d: Option<UserDetail>,
        (notes, list_err): (Vec<Value>, bool),
        errors: &ErrorSink,
    ) -> (String, Value, Row) {
        let arn = d
            .as_ref()
            .and_then(|d| d.arn().map(str::to_string))
            .or_else(|| u.as_ref().map(|u| u.arn().to_string()))
            .unwrap_or_else(|| self.arn("user", &name));
        let mut unread = notes;
        if list_err {
            unread.push(json!({"Field": "PasswordLastUsed", "Action": "iam:ListUsers"}));
        }

        // Access keys: ids, status, dates, last use. Never a secret.
        let mut keys = Vec::new();
        let mut last_used: Option<String> = u
            .as_ref()
            .and_then(|u| u.password_last_used())
            .and_then(|d| date(d).as_str().map(str::to_string));
        let listed = sdk_pages!(
            &self.limits.iam,
            "IAM access keys",
            |m| client.list_access_keys().user_name(&name).set_marker(m),
            |r| (r.access_key_metadata, marker_if(r.is_truncated, r.marker))
        )
        .await;
        match listed {
            Ok(mut md) => {
                md.sort_by_key(|k| k.access_key_id().unwrap_or_default().to_string());
                for k in md {
                    let kid = k.access_key_id().unwrap_or_default().to_string();
                    self.limit().await;
                    let lu = match client
                        .get_access_key_last_used()
                        .access_key_id(&kid)
                        .send()
                        .await
                    {
                        Ok(r) => r.access_key_last_used().map(|l| {
                            json!({
                                "LastUsedDate": opt_date(l.last_used_date()),
                                "ServiceName": l.service_name(),
                                "Region": l.region(),
                            })
                        }),
                        Err(e) => {
                            let f = describe(&e);
                            errors.record(rec_err("iam:GetAccessKeyLastUsed", &arn, &f));
                            unread.push(unreadable(
                                "AccessKeys.LastUsed",
                                "iam:GetAccessKeyLastUsed",
                                &f,
                            ));
                            None
                        }
                    };
                    if let Some(d) = lu
                        .as_ref()
                        .and_then(|l| l["LastUsedDate"].as_str())
                        .map(str::to_string)
                    {
                        if last_used.as_deref().is_none_or(|l| l < d.as_str()) {
                            last_used = Some(d);
                        }
                    }
                    keys.push(json!({
                        "AccessKeyId": kid,
                        "Status": k.status().map(|s| s.as_str().to_string()),
                        "CreateDate": opt_date(k.create_date()),
                        "LastUsed": lu,
                    }));
                }
            }
            Err(f) => {
                errors.record(rec_err("iam:ListAccessKeys", &arn, &f));
                unread.push(unreadable("AccessKeys", "iam:ListAccessKeys", &f));
            }
        }
        let n_keys = keys.len();

        self.limit().await;
        let login = match client.get_login_profile().user_name(&name).send().await {
            Ok(r) => json!({
                "Exists": true,
                "CreateDate": opt_date(r.login_profile().map(|l| l.create_date())),
                "PasswordResetRequired": r.login_profile().map(|l| l.password_reset_required()),
            }),
            Err(e) => {
                let f = describe(&e);
                if f.code_in(&["NoSuchEntity", "NoSuchEntityException"]) || f.status == Some(404) {
                    json!({"Exists": false})
                } else {
                    errors.record(rec_err("iam:GetLoginProfile", &arn, &f));
                    unread.push(unreadable("LoginProfile", "iam:GetLoginProfile", &f));
                    Value::Null
                }
            }
        };

        let listed = sdk_pages!(
            &self.limits.iam,
            "IAM MFA devices",
            |m| client.list_mfa_devices().user_name(&name).set_marker(m),
            |r| (r.mfa_devices, marker_if(r.is_truncated, r.marker))
        )
        .await;
        let mfa = match listed {
            Ok(devices) => {
                let mut v: Vec<(String, Value)> = devices
                    .iter()
                    .map(|m| {
                        (
                            m.serial_number().to_string(),
                            json!({"SerialNumber": m.serial_number(), "EnableDate": date(m.enable_date())}),
                        )
                    })
                    .collect();
                v.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Array(v.into_iter().map(|x| x.1).collect())
            }
            Err(f) => {
                errors.record(rec_err("iam:ListMFADevices", &arn, &f));
                unread.push(unreadable("MFADevices", "iam:ListMFADevices", &f));
                Value::Null
            }
        };

        let mut groups: Vec<String> = d
            .as_ref()
            .map(|d| d.group_list().to_vec())
            .unwrap_or_default();
        groups.sort();
        let n_attached = d
            .as_ref()
            .map_or(0, |d| d.attached_managed_policies().len());
        let v = json!({
            "UserName": name,
            "UserId": d.as_ref().and_then(|d| d.user_id().map(str::to_string)).or_else(|| u.as_ref().map(|u| u.user_id().to_string())),
            "Arn": arn,
            "Path": d.as_ref().and_then(|d| d.path().map(str::to_string)).or_else(|| u.as_ref().map(|u| u.path().to_string())),
            "CreateDate": d.as_ref().and_then(|d| d.create_date()).map(date).or_else(|| u.as_ref().map(|u| date(u.create_date()))),
            "PasswordLastUsed": opt_date(u.as_ref().and_then(|u| u.password_last_used())),
            "PermissionsBoundary": boundary(d.as_ref().and_then(|d| d.permissions_boundary())),
            "Tags": d.as_ref().map(|d| tags(d.tags())),
            "Groups": d.as_ref().map(|_| groups),
            "InlinePolicies": d.as_ref().map(|d| inline(d.user_policy_list())),
            "AttachedManagedPolicies": d.as_ref().map(|d| attached(d.attached_managed_policies())),
            "AccessKeys": keys,
            "LoginProfile": login,
            "MFADevices": mfa,
            "Unreadable": if unread.is_empty() { Value::Null } else { Value::Array(unread) },
        });
        let row = Row {
            name: name.clone(),
            attached: n_attached,
            extra: n_keys.to_string(),
            last_used: last_used.unwrap_or_else(|| "never".into()),
        };
        (name, v, row)
    }

    /// Instance profiles by name.
    async fn instance_profiles(
        &self,
        client: &Client,
        errors: &ErrorSink,
    ) -> Result<Vec<(String, Value)>, ApiFailure> {
        let mut all = sdk_pages!(
            &self.limits.iam,
            "IAM instance profiles",
            |m| client.list_instance_profiles().set_marker(m),
            |r| (r.instance_profiles, marker_if(r.is_truncated, r.marker))
        )
        .await?;
        all.sort_by_key(|p| p.instance_profile_name().to_string());
        let mut out = Vec::new();
        for p in all {
            let name = p.instance_profile_name().to_string();
            self.limit().await;
            // ListInstanceProfiles leaves tags out; GetInstanceProfile has them.
            let (tag_v, unread) = match client
                .get_instance_profile()
                .instance_profile_name(&name)
                .send()
                .await
            {
                Ok(r) => (
                    tags(r.instance_profile().map(|p| p.tags()).unwrap_or_default()),
                    Value::Null,
                ),
                Err(e) => {
                    let f = describe(&e);
                    errors.record(rec_err("iam:GetInstanceProfile", p.arn(), &f));
                    (
                        Value::Null,
                        json!([unreadable("Tags", "iam:GetInstanceProfile", &f)]),
                    )
                }
            };
            let mut roles: Vec<(String, String)> = p
                .roles()
                .iter()
                .map(|r| (r.role_name().to_string(), r.arn().to_string()))
                .collect();
            roles.sort();
            out.push((name.clone(), json!({
                "InstanceProfileName": name,
                "InstanceProfileId": p.instance_profile_id(),
                "Arn": p.arn(),
                "Path": p.path(),
                "CreateDate": date(p.create_date()),
                "Roles": roles.into_iter().map(|(n, a)| json!({"RoleName": n, "Arn": a})).collect::<Vec<_>>(),
                "Tags": tag_v,
                "Unreadable": unread,
            })));
        }
        Ok(out)
    }

    /// OIDC providers by id (the ARN after `oidc-provider/`: the provider's URL without
    /// `https://`).
    async fn oidc_providers(
        &self,
        client: &Client,
        errors: &ErrorSink,
    ) -> Result<Vec<(String, Value)>, ApiFailure> {
        self.limit().await;
        let r = client
            .list_open_id_connect_providers()
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let mut arns: Vec<String> = r
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn().map(str::to_string))
            .collect();
        arns.sort();
        arns.dedup();
        let mut out = Vec::new();
        for arn in arns {
            let id = arn_name(&arn, "oidc-provider/");
            self.limit().await;
            match client
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(&arn)
                .send()
                .await
            {
                Ok(r) => {
                    let mut ids = r.client_id_list().to_vec();
                    ids.sort();
                    let mut th = r.thumbprint_list().to_vec();
                    th.sort();
                    out.push((
                        id,
                        json!({
                            "Arn": arn,
                            "Url": r.url(),
                            "ClientIDList": ids,
                            "ThumbprintList": th,
                            "CreateDate": opt_date(r.create_date()),
                            "Tags": tags(r.tags()),
                        }),
                    ));
                }
                Err(e) => {
                    let f = describe(&e);
                    errors.record(rec_err("iam:GetOpenIDConnectProvider", &arn, &f));
                    out.push((
                        id,
                        json!({
                            "Arn": arn,
                            "Unreadable": [unreadable("*", "iam:GetOpenIDConnectProvider", &f)],
                        }),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// SAML providers by name (the ARN after `saml-provider/`).
    async fn saml_providers(
        &self,
        client: &Client,
        errors: &ErrorSink,
    ) -> Result<Vec<(String, Value)>, ApiFailure> {
        self.limit().await;
        let r = client
            .list_saml_providers()
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let mut list: Vec<_> = r.saml_provider_list().to_vec();
        list.sort_by_key(|p| p.arn().unwrap_or_default().to_string());
        let mut out = Vec::new();
        for p in list {
            let arn = p.arn().unwrap_or_default().to_string();
            let id = arn_name(&arn, "saml-provider/");
            self.limit().await;
            match client.get_saml_provider().saml_provider_arn(&arn).send().await {
                Ok(r) => out.push((id, json!({
                    "Arn": arn,
                    "SAMLProviderUUID": r.saml_provider_uuid(),
                    "CreateDate": opt_date(r.create_date().or(p.create_date())),
                    "ValidUntil": opt_date(r.valid_until().or(p.valid_until())),
                    "AssertionEncryptionMode": r.assertion_encryption_mode().map(|m| m.as_str().to_string()),
                    "SAMLMetadataDocument": r.saml_metadata_document(),
                    "Tags": tags(r.tags()),
                }))),
                Err(e) => {
                    let f = describe(&e);
                    errors.record(rec_err("iam:GetSAMLProvider", &arn, &f));
                    out.push((id, json!({
                        "Arn": arn,
                        "CreateDate": opt_date(p.create_date()),
                        "ValidUntil": opt_date(p.valid_until()),
                        "Unreadable": [unreadable("*", "iam:GetSAMLProvider", &f)],
                    })));
                }
            }
        }
        Ok(out)
    }
}

/// The name in an identity provider's ARN: what follows `marker`
/// (`arn:aws:iam::<account>:saml-provider/corp-idp` → `corp-idp`), or the whole ARN.
fn arn_name(arn: &str, marker: &str) -> String {
    match arn.split_once(marker) {
        Some((_, name)) if !name.is_empty() => name.to_string(),
        _ => arn.to_string(),
    }
}

/// One role's file, from ListRoles and the authorization details (either may be missing).
fn role_json(
    name: &str,
    r: Option<&Role>,
    d: Option<&RoleDetail>,
    notes: &[Value],
    list_err: bool,
) -> (Value, Row) {
    let mut unread = notes.to_vec();
    if list_err {
        unread.push(json!({"Field": "Description, MaxSessionDuration", "Action": "iam:ListRoles"}));
    }
    let trust = d
        .and_then(|d| d.assume_role_policy_document())
        .or_else(|| r.and_then(|r| r.assume_role_policy_document()))
        .map(policy_document);
    let last = d.and_then(|d| d.role_last_used());
    let last_date = last.and_then(|l| l.last_used_date()).map(date);
    let v = json!({
        "RoleName": name,
        "RoleId": d.and_then(|d| d.role_id().map(str::to_string)).or_else(|| r.map(|r| r.role_id().to_string())),
        "Arn": d.and_then(|d| d.arn().map(str::to_string)).or_else(|| r.map(|r| r.arn().to_string())),
        "Path": d.and_then(|d| d.path().map(str::to_string)).or_else(|| r.map(|r| r.path().to_string())),
        "CreateDate": d.and_then(|d| d.create_date()).map(date).or_else(|| r.map(|r| date(r.create_date()))),
        "Description": r.and_then(|r| r.description()),
        "MaxSessionDuration": r.and_then(|r| r.max_session_duration()),
        "AssumeRolePolicyDocument": trust,
        "PermissionsBoundary": boundary(d.and_then(|d| d.permissions_boundary()).or_else(|| r.and_then(|r| r.permissions_boundary()))),
        "Tags": d.map(|d| tags(d.tags())),
        "RoleLastUsed": last.map(|l| json!({"LastUsedDate": opt_date(l.last_used_date()), "Region": l.region()})),
        "InlinePolicies": d.map(|d| inline(d.role_policy_list())),
        "AttachedManagedPolicies": d.map(|d| attached(d.attached_managed_policies())),
        "InstanceProfiles": d.map(|d| {
            let mut v: Vec<String> = d.instance_profile_list().iter().map(|p| p.instance_profile_name().to_string()).collect();
            v.sort();
            v
        }),
        "Unreadable": if unread.is_empty() { Value::Null } else { Value::Array(unread) },
    });
    let row = Row {
        name: name.to_string(),
        attached: d.map_or(0, |d| d.attached_managed_policies().len()),
        extra: d.map_or(0, |d| d.role_policy_list().len()).to_string(),
        last_used: last_date
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "never".into()),
    };
    (v, row)
}
