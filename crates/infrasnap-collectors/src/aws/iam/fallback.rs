//! When GetAccountAuthorizationDetails is denied: the same details from per-entity calls
//! (GetRole, ListRolePolicies + GetRolePolicy, ListAttachedRolePolicies; GetUser,
//! ListUserPolicies + GetUserPolicy, ListAttachedUserPolicies, ListGroupsForUser; ListGroups,
//! ListGroupPolicies + GetGroupPolicy, ListAttachedGroupPolicies; ListPolicies with
//! Scope=Local). A policy that grants the List/Get actions but not the authorization details
//! still gives a full capture. Each failed call is recorded and noted in the entity's file.

use std::collections::BTreeMap;

use aws_sdk_iam::types::{
    GroupDetail, ManagedPolicyDetail, PolicyDetail, PolicyScopeType, Role, RoleDetail, User,
    UserDetail,
};
use aws_sdk_iam::Client;
use infrasnap_core::engine::ErrorSink;
use infrasnap_core::metadata::RecordedError;
use serde_json::Value;

use super::collect::{rec_err, unreadable, Details};
use super::IamCollector;
use crate::aws::kit::{marker_if, sdk_pages};
use crate::aws::sdk_error::{describe, ApiFailure};

/// Every managed policy attached to one entity: a ListAttached*Policies request, paged.
macro_rules! attached {
    ($me:expr, |$m:ident| $req:expr) => {
        sdk_pages!(&$me.limits.iam, "IAM attached policies", |$m| $req, |r| (
            r.attached_policies.unwrap_or_default(),
            marker_if(r.is_truncated, r.marker)
        ))
    };
}

/// Per-entity notes (`"role/<name>"`, `"user/<name>"`, `"group/<name>"`) of what could not be read.
pub type Notes = BTreeMap<String, Vec<Value>>;

/// How the fallback's own listings went: the error of ListGroups and of ListPolicies (None: read
/// whole).
#[derive(Default)]
pub struct Listed {
    pub groups: Option<RecordedError>,
    pub policies: Option<RecordedError>,
}

impl IamCollector {
    /// Details from per-entity calls, for the roles and users already listed.
    pub(super) async fn details_fallback(
        &self,
        client: &Client,
        roles: &[Role],
        users: &[User],
        errors: &ErrorSink,
        listed: &mut usize,
    ) -> (Details, Notes, Listed) {
        let mut d = Details::default();
        let mut how = Listed::default();
        let mut notes = Notes::new();
        let mut note = |key: String, field: &str, action: &str, res: &str, f: &ApiFailure| {
            errors.record(rec_err(action, res, f));
            notes
                .entry(key)
                .or_default()
                .push(unreadable(field, action, f));
        };

        for r in roles {
            let name = r.role_name();
            let key = format!("role/{name}");
            let mut b = RoleDetail::builder()
                .role_name(name)
                .role_id(r.role_id())
                .arn(r.arn())
                .path(r.path())
                .create_date(*r.create_date())
                .set_assume_role_policy_document(
                    r.assume_role_policy_document().map(str::to_string),
                );
            self.limit().await;
            match client.get_role().role_name(name).send().await {
                Ok(g) => {
                    if let Some(g) = g.role() {
                        b = b
                            .set_permissions_boundary(g.permissions_boundary().cloned())
                            .set_tags(Some(g.tags().to_vec()))
                            .set_role_last_used(g.role_last_used().cloned());
                        if let Some(doc) = g.assume_role_policy_document() {
                            b = b.assume_role_policy_document(doc);
                        }
                    }
                }
                Err(e) => note(
                    key.clone(),
                    "Tags, PermissionsBoundary, RoleLastUsed",
                    "iam:GetRole",
                    r.arn(),
                    &describe(&e),
                ),
            }
            match self.inline_role(client, name).await {
                Ok(p) => b = b.set_role_policy_list(Some(p)),
                Err((action, f)) => note(key.clone(), "InlinePolicies", action, r.arn(), &f),
            }
            match attached!(self, |m| client
                .list_attached_role_policies()
                .role_name(name)
                .set_marker(m))
            .await
            {
                Ok(a) => b = b.set_attached_managed_policies(Some(a)),
                Err(f) => note(
                    key.clone(),
                    "AttachedManagedPolicies",
                    "iam:ListAttachedRolePolicies",
                    r.arn(),
                    &f,
                ),
            }
            d.roles.push(b.build());
        }

        for u in users {
            let name = u.user_name();
            let key = format!("user/{name}");
            let mut b = UserDetail::builder()
                .user_name(name)
                .user_id(u.user_id())
                .arn(u.arn())
                .path(u.path())
                .create_date(*u.create_date());
            self.limit().await;
            match client.get_user().user_name(name).send().await {
                Ok(g) => {
                    if let Some(g) = g.user() {
                        b = b
                            .set_permissions_boundary(g.permissions_boundary().cloned())
                            .set_tags(Some(g.tags().to_vec()));
                    }
                }
                Err(e) => note(
                    key.clone(),
                    "Tags, PermissionsBoundary",
                    "iam:GetUser",
                    u.arn(),
                    &describe(&e),
                ),
            }
            let names = sdk_pages!(
                &self.limits.iam,
                "IAM inline policies",
                |m| client.list_user_policies().user_name(name).set_marker(m),
                |r| (r.policy_names, marker_if(r.is_truncated, r.marker))
            )
            .await;
            match names {
                Ok(names) => {
                    let mut list = Vec::new();
                    for p in &names {
                        self.limit().await;
                        match client
                            .get_user_policy()
                            .user_name(name)
                            .policy_name(p)
                            .send()
                            .await
                        {
                            Ok(g) => list.push(
                                PolicyDetail::builder()
                                    .policy_name(p)
                                    .policy_document(g.policy_document())
                                    .build(),
                            ),
                            Err(e) => note(
                                key.clone(),
                                "InlinePolicies",
                                "iam:GetUserPolicy",
                                u.arn(),
                                &describe(&e),
                            ),
                        }
                    }
                    b = b.set_user_policy_list(Some(list));
                }
                Err(f) => note(
                    key.clone(),
                    "InlinePolicies",
                    "iam:ListUserPolicies",
                    u.arn(),
                    &f,
                ),
            }
            match attached!(self, |m| client
                .list_attached_user_policies()
                .user_name(name)
                .set_marker(m))
            .await
            {
                Ok(a) => b = b.set_attached_managed_policies(Some(a)),
                Err(f) => note(
                    key.clone(),
                    "AttachedManagedPolicies",
                    "iam:ListAttachedUserPolicies",
                    u.arn(),
                    &f,
                ),
            }
            let groups = sdk_pages!(
                &self.limits.iam,
                "IAM groups of a user",
                |m| client.list_groups_for_user().user_name(name).set_marker(m),
                |r| (r.groups, marker_if(r.is_truncated, r.marker))
            )
            .await;
            match groups {
                Ok(g) => b = b.set_group_list(Some(g.into_iter().map(|g| g.group_name).collect())),
                Err(f) => note(key.clone(), "Groups", "iam:ListGroupsForUser", u.arn(), &f),
            }
            d.users.push(b.build());
        }

        // Groups.
        let all_groups = self.arn("group", "*");
        match self.list_groups(client).await {
            Ok(groups) => {
                *listed += 1;
                for g in groups {
                    let name = g.group_name();
                    let key = format!("group/{name}");
                    let mut b = GroupDetail::builder()
                        .group_name(name)
                        .group_id(g.group_id())
                        .arn(g.arn())
                        .path(g.path())
                        .create_date(*g.create_date());
                    let names = sdk_pages!(
                        &self.limits.iam,
                        "IAM inline policies",
                        |m| client.list_group_policies().group_name(name).set_marker(m),
                        |r| (r.policy_names, marker_if(r.is_truncated, r.marker))
                    )
                    .await;
                    match names {
                        Ok(names) => {
                            let mut list = Vec::new();
                            for p in &names {
                                self.limit().await;
                                match client
                                    .get_group_policy()
                                    .group_name(name)
                                    .policy_name(p)
                                    .send()
                                    .await
                                {
                                    Ok(r) => list.push(
                                        PolicyDetail::builder()
                                            .policy_name(p)
                                            .policy_document(r.policy_document())
                                            .build(),
                                    ),
                                    Err(e) => note(
                                        key.clone(),
                                        "InlinePolicies",
                                        "iam:GetGroupPolicy",
                                        g.arn(),
                                        &describe(&e),
                                    ),
                                }
                            }
                            b = b.set_group_policy_list(Some(list));
                        }
                        Err(f) => note(
                            key.clone(),
                            "InlinePolicies",
                            "iam:ListGroupPolicies",
                            g.arn(),
                            &f,
                        ),
                    }
                    match attached!(self, |m| client
                        .list_attached_group_policies()
                        .group_name(name)
                        .set_marker(m))
                    .await
                    {
                        Ok(a) => b = b.set_attached_managed_policies(Some(a)),
                        Err(f) => note(
                            key.clone(),
                            "AttachedManagedPolicies",
                            "iam:ListAttachedGroupPolicies",
                            g.arn(),
                            &f,
                        ),
                    }
                    d.groups.push(b.build());
                }
            }
            Err(f) => {
                let e = rec_err("iam:ListGroups", &all_groups, &f);
                errors.record(e.clone());
                how.groups = Some(e);
            }
        }

        // Customer managed policies (the default version's document is read later).
        match self.list_local_policies(client).await {
            Ok(policies) => {
                *listed += 1;
                for p in policies {
                    d.policies.push(
                        ManagedPolicyDetail::builder()
                            .set_policy_name(p.policy_name().map(str::to_string))
                            .set_policy_id(p.policy_id().map(str::to_string))
                            .set_arn(p.arn().map(str::to_string))
                            .set_path(p.path().map(str::to_string))
                            .set_default_version_id(p.default_version_id().map(str::to_string))
                            .set_attachment_count(p.attachment_count())
                            .set_permissions_boundary_usage_count(
                                p.permissions_boundary_usage_count(),
                            )
                            .is_attachable(p.is_attachable())
                            .set_description(p.description().map(str::to_string))
                            .set_create_date(p.create_date().copied())
                            .set_update_date(p.update_date().copied())
                            .build(),
                    );
                }
            }
            Err(f) => {
                let e = rec_err("iam:ListPolicies", &self.arn("policy", "*"), &f);
                errors.record(e.clone());
                how.policies = Some(e);
            }
        }
        (d, notes, how)
    }

    async fn inline_role(
        &self,
        client: &Client,
        name: &str,
    ) -> Result<Vec<PolicyDetail>, (&'static str, ApiFailure)> {
        let names = sdk_pages!(
            &self.limits.iam,
            "IAM inline policies",
            |m| client.list_role_policies().role_name(name).set_marker(m),
            |r| (r.policy_names, marker_if(r.is_truncated, r.marker))
        )
        .await
        .map_err(|f| ("iam:ListRolePolicies", f))?;
        let mut out = Vec::new();
        for p in &names {
            self.limit().await;
            let g = client
                .get_role_policy()
                .role_name(name)
                .policy_name(p)
                .send()
                .await
                .map_err(|e| ("iam:GetRolePolicy", describe(&e)))?;
            out.push(
                PolicyDetail::builder()
                    .policy_name(p)
                    .policy_document(g.policy_document())
                    .build(),
            );
        }
        Ok(out)
    }

    async fn list_groups(
        &self,
        client: &Client,
    ) -> Result<Vec<aws_sdk_iam::types::Group>, ApiFailure> {
        sdk_pages!(
            &self.limits.iam,
            "IAM groups",
            |m| client.list_groups().set_marker(m),
            |r| (r.groups, marker_if(r.is_truncated, r.marker))
        )
        .await
    }

    async fn list_local_policies(
        &self,
        client: &Client,
    ) -> Result<Vec<aws_sdk_iam::types::Policy>, ApiFailure> {
        sdk_pages!(
            &self.limits.iam,
            "IAM policies",
            |m| client
                .list_policies()
                .scope(PolicyScopeType::Local)
                .set_marker(m),
            |r| (
                r.policies.unwrap_or_default(),
                marker_if(r.is_truncated, r.marker)
            )
        )
        .await
    }
}
