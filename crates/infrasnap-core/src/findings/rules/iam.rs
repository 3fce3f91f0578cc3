//! IAM: stale and old access keys, `*` on `*`, trust policies open to anyone.

use serde_json::Value;

use super::{allows, days_between, hit, is_star, principal_anyone, statements};
use crate::findings::estate::{Estate, Res};
use crate::findings::{Evidence, Hit, Severity};

/// Unused for more than this many days.
pub const UNUSED_DAYS: i64 = 45;
/// Older than this many days.
pub const OLD_DAYS: i64 = 90;

/// One access key as the rules see it: (pointer base, key id, created, last used).
struct Key {
    at: String,
    id: String,
    created: Option<String>,
    last_used: Option<String>,
}

fn keys_of_user(u: &Res) -> Vec<Key> {
    u.arr("/AccessKeys")
        .iter()
        .enumerate()
        .filter(|(_, k)| k.get("Status").and_then(Value::as_str) == Some("Active"))
        .map(|(i, k)| Key {
            at: format!("/AccessKeys/{i}"),
            id: k
                .get("AccessKeyId")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            created: k
                .get("CreateDate")
                .and_then(Value::as_str)
                .map(str::to_string),
            last_used: k
                .pointer("/LastUsed/LastUsedDate")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
        .collect()
}

/// Keys from the credential report (`aws.iam.credential_report`), by user name.
fn keys_from_report(e: &Estate, account: &str, user: &str) -> Option<Vec<Key>> {
    let rep = e
        .of_kind("aws.iam.credential_report")
        .find(|r| r.id.account == account)?;
    let (i, row) = rep
        .arr("/Rows")
        .iter()
        .enumerate()
        .find(|(_, r)| r.get("user").and_then(Value::as_str) == Some(user))?;
    let mut out = Vec::new();
    for n in [1, 2] {
        let get = |f: &str| {
            row.get(format!("access_key_{n}_{f}"))
                .and_then(Value::as_str)
                .filter(|v| !["N/A", "no_information", ""].contains(v))
                .map(str::to_string)
        };
        if get("active").as_deref() != Some("true") {
            continue;
        }
        out.push(Key {
            at: format!("credential_report:/Rows/{i}/access_key_{n}"),
            id: format!("access key {n}"),
            created: get("last_rotated"),
            last_used: get("last_used_date"),
        });
    }
    Some(out)
}

pub fn access_keys(e: &Estate) -> Vec<Hit> {
    let mut out = Vec::new();
    for u in e.of_kind("aws.iam.user") {
        let keys = keys_from_report(e, &u.id.account, &u.id.id).unwrap_or_else(|| keys_of_user(u));
        let (mut unused, mut old) = (Vec::new(), Vec::new());
        for k in keys {
            let created_days = k
                .created
                .as_deref()
                .and_then(|c| days_between(e.as_of, c))
                .map(|d| -d);
            let used_days = k
                .last_used
                .as_deref()
                .and_then(|c| days_between(e.as_of, c))
                .map(|d| -d)
                .or(created_days);
            if used_days.is_some_and(|d| d > UNUSED_DAYS) {
                unused.push(Evidence::at(
                    format!("{}/LastUsed", k.at),
                    format!(
                        "{}: last used {}",
                        k.id,
                        k.last_used.clone().unwrap_or_else(|| "never".into())
                    ),
                ));
            }
            if created_days.is_some_and(|d| d > OLD_DAYS) {
                old.push(Evidence::at(
                    format!("{}/CreateDate", k.at),
                    format!(
                        "{}: created {}",
                        k.id,
                        k.created.clone().unwrap_or_default()
                    ),
                ));
            }
        }
        if !unused.is_empty() {
            out.push(hit(
                "iam.unused-access-key",
                Severity::Medium,
                u,
                format!(
                    "user `{}` has an access key unused for more than {UNUSED_DAYS} days",
                    u.id.id
                ),
                unused,
                "Deactivate the key, then delete it if nothing breaks; a key nobody uses is only \
                 a risk.",
            ));
        }
        if !old.is_empty() {
            out.push(hit(
                "iam.old-access-key",
                Severity::Medium,
                u,
                format!(
                    "user `{}` has an access key older than {OLD_DAYS} days",
                    u.id.id
                ),
                old,
                "Rotate the key (create a new one, switch its users, deactivate and delete the \
                 old one), or move its users to roles and SSO.",
            ));
        }
    }
    out
}

/// Policy documents of a resource: (pointer, document).
fn documents(r: &Res) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    if let Some(d) = r.doc.get("DefaultVersionDocument") {
        out.push(("/DefaultVersionDocument".to_string(), d));
    }
    if let Some(Value::Object(m)) = r.doc.get("InlinePolicies") {
        for (n, d) in m {
            out.push((
                format!(
                    "/InlinePolicies/{}",
                    n.replace('~', "~0").replace('/', "~1")
                ),
                d,
            ));
        }
    }
    out
}

fn statement_ptr(doc: &Value, base: &str, i: usize) -> String {
    if doc.get("Statement").is_some_and(Value::is_array) {
        format!("{base}/Statement/{i}")
    } else {
        format!("{base}/Statement")
    }
}

pub fn policies(e: &Estate) -> Vec<Hit> {
    let mut out = Vec::new();
    for kind in [
        "aws.iam.policy",
        "aws.iam.role",
        "aws.iam.user",
        "aws.iam.group",
    ] {
        for r in e.of_kind(kind) {
            let mut ev = Vec::new();
            for (base, doc) in documents(r) {
                for (i, st) in statements(doc).into_iter().enumerate() {
                    if allows(st) && is_star(st.get("Action")) && is_star(st.get("Resource")) {
                        let at = statement_ptr(doc, &base, i);
                        ev.push(Evidence::at(format!("{at}/Action"), st["Action"].clone()));
                        ev.push(Evidence::at(
                            format!("{at}/Resource"),
                            st["Resource"].clone(),
                        ));
                    }
                }
            }
            if !ev.is_empty() {
                let noun = kind.rsplit('.').next().unwrap_or("policy");
                out.push(hit(
                    "iam.admin-policy",
                    Severity::High,
                    r,
                    format!("{noun} `{}` allows `*` on `*`", r.id.id),
                    ev,
                    "Replace `*` on `*` with the actions and resources the job needs (IAM Access \
                     Analyzer can generate a policy from CloudTrail activity).",
                ));
            }
        }
    }
    for r in e.of_kind("aws.iam.role") {
        let Some(doc) = r.doc.get("AssumeRolePolicyDocument") else {
            continue;
        };
        let mut ev = Vec::new();
        let mut conditional = true;
        for (i, st) in statements(doc).into_iter().enumerate() {
            if allows(st) && principal_anyone(st) {
                let at = statement_ptr(doc, "/AssumeRolePolicyDocument", i);
                ev.push(Evidence::at(
                    format!("{at}/Principal"),
                    st["Principal"].clone(),
                ));
                if let Some(c) = st.get("Condition") {
                    ev.push(Evidence::at(format!("{at}/Condition"), c.clone()));
                } else {
                    conditional = false;
                }
            }
        }
        if !ev.is_empty() {
            out.push(hit(
                "iam.open-trust",
                if conditional {
                    Severity::Medium
                } else {
                    Severity::High
                },
                r,
                format!("role `{}` can be assumed by any principal (`*`)", r.id.id),
                ev,
                "Name the accounts, roles or services that may assume the role in its trust \
                 policy; `*` lets any AWS account try.",
            ));
        }
    }
    out
}
