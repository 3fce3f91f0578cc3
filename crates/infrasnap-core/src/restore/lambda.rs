//! What restore decides about a Lambda function beyond its code and configuration, SDK-free so
//! the writer (`infrasnap-collectors/src/restore/lambda.rs`) and the plan share one reading of
//! the captured document (`aws.lambda.function`, docs/FORMAT.md section 22):
//!
//! - published versions: which snapshot versions the live function has (same number and same
//!   code and configuration, else any unmatched live version with the same content), which must
//!   be published again (their code is the snapshot's `code.zip`: same `CodeSha256`), and which
//!   cannot be (their code is not in the snapshot). AWS numbers versions itself, so a version
//!   published again may get another number; aliases follow through [`VersionPlan::map`];
//! - resource-policy statements as AddPermission arguments ([`Permission`]);
//! - the environment: which variables "need values" (a marker the live function does not match);
//! - the notes the plan shows for parts that come back under a new identity (a function URL's
//!   address, a version's number).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::diff::json::has_marker;
use crate::secrets::is_marker;

/// Members a re-created part of a function gets anew (an event source mapping's UUID, a function
/// URL's address and stamps): left out of restore's comparison.
pub const IDENTITY: &[&str] = &[
    "/EventSourceMappings/*/UUID",
    "/EventSourceMappings/*/EventSourceMappingArn",
    "/FunctionUrlConfigs/*/FunctionUrl",
    "/FunctionUrlConfigs/*/CreationTime",
    "/FunctionUrlConfigs/*/LastModifiedTime",
];

/// The configuration members a published version is compared by (with its `CodeSha256`).
pub const VERSION_FIELDS: &[&str] = &[
    "CodeSha256",
    "Description",
    "Runtime",
    "Handler",
    "Role",
    "Timeout",
    "MemorySize",
    "Layers",
    "Environment",
    "Architectures",
];

/// The part of a version that identifies its content (not its number or stamps). Environment
/// values are compared only where neither side holds a marker.
pub fn version_content(v: &Value) -> Value {
    let mut m = serde_json::Map::new();
    for k in VERSION_FIELDS {
        if let Some(x) = v.get(*k).filter(|x| !x.is_null()) {
            let x = match *k {
                "Layers" => Value::Array(
                    x.as_array()
                        .map(|a| a.iter().filter_map(|l| l.get("Arn").cloned()).collect())
                        .unwrap_or_default(),
                ),
                _ => x.clone(),
            };
            m.insert(k.to_string(), x);
        }
    }
    Value::Object(m)
}

fn same_content(snap: &Value, live: &Value) -> bool {
    let (mut a, mut b) = (version_content(snap), version_content(live));
    // A marker (a secret the snapshot does not hold) matches any live value of that variable.
    if let (Some(sa), Some(sb)) = (
        a.pointer_mut("/Environment/Variables")
            .and_then(Value::as_object_mut),
        b.pointer_mut("/Environment/Variables")
            .and_then(Value::as_object_mut),
    ) {
        for (k, v) in sa.iter_mut() {
            if v.as_str().is_some_and(is_marker) {
                if let Some(lv) = sb.get(k) {
                    *v = lv.clone();
                }
            }
        }
    }
    for x in [&mut a, &mut b] {
        if x.pointer("/Environment/Variables")
            .and_then(Value::as_object)
            .is_some_and(|m| m.is_empty())
        {
            if let Some(m) = x.as_object_mut() {
                m.remove("Environment");
            }
        }
    }
    a == b
}

/// How the snapshot's published versions come back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VersionPlan {
    /// Snapshot version number -> live version number, for versions the live function has.
    pub map: BTreeMap<String, String>,
    /// Snapshot versions to publish again, in ascending order (their code is the snapshot's zip).
    pub publish: Vec<Value>,
    /// Snapshot versions whose code the snapshot does not hold (only the function's current zip
    /// is captured), with their `CodeSha256`.
    pub lost: Vec<(String, String)>,
}

fn number(v: &Value) -> Option<&str> {
    v.get("Version").and_then(Value::as_str)
}

/// Match the snapshot's versions with the live ones; `code_sha` is the `CodeSha256` of the zip the
/// snapshot holds.
pub fn plan_versions(snap: &[Value], live: &[Value], code_sha: Option<&str>) -> VersionPlan {
    let mut out = VersionPlan::default();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut rest = Vec::new();
    // Same number and same content first, then any free live version with the same content.
    for s in snap {
        let Some(n) = number(s) else { continue };
        match live
            .iter()
            .find(|l| number(l) == Some(n) && same_content(s, l))
        {
            Some(_) => {
                used.insert(n.to_string());
                out.map.insert(n.to_string(), n.to_string());
            }
            None => rest.push(s),
        }
    }
    for s in rest {
        let n = number(s).unwrap_or_default().to_string();
        let found = live.iter().find(|l| {
            number(l).is_some_and(|ln| !used.contains(ln) && ln != "$LATEST") && same_content(s, l)
        });
        if let Some(l) = found {
            let ln = number(l).unwrap_or_default().to_string();
            used.insert(ln.clone());
            out.map.insert(n, ln);
            continue;
        }
        let sha = s.get("CodeSha256").and_then(Value::as_str).unwrap_or("");
        if Some(sha) == code_sha {
            out.publish.push(s.clone());
        } else {
            out.lost.push((n, sha.to_string()));
        }
    }
    out.publish.sort_by_key(|v| {
        number(v)
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(u64::MAX)
    });
    out
}

/// The number a qualifier (`3`, `$LATEST`, an alias) maps to.
pub fn map_version(map: &BTreeMap<String, String>, v: &str) -> Option<String> {
    if v == "$LATEST" {
        return Some(v.to_string());
    }
    map.get(v).cloned()
}

/// One resource-policy statement as the arguments of lambda:AddPermission.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Permission {
    pub sid: String,
    pub action: String,
    pub principal: String,
    pub source_arn: Option<String>,
    pub source_account: Option<String>,
    pub principal_org_id: Option<String>,
    pub function_url_auth_type: Option<String>,
    pub event_source_token: Option<String>,
}

fn one(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) if a.len() == 1 => a[0].as_str().map(str::to_string),
        _ => None,
    }
}

/// Read a statement back into AddPermission arguments; `Err` says what AddPermission cannot
/// express (then the statement is reported, not written).
pub fn permission(st: &Value) -> Result<Permission, String> {
    let sid = st
        .get("Sid")
        .and_then(Value::as_str)
        .ok_or("a statement without a Sid")?
        .to_string();
    let bad = |what: &str| format!("statement {sid}: {what} cannot be written by AddPermission");
    if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
        return Err(bad("an Effect other than Allow"));
    }
    let action = st
        .get("Action")
        .and_then(one)
        .ok_or_else(|| bad("Action"))?;
    let principal = match st.get("Principal") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(m)) if m.len() == 1 => {
            let (k, v) = m.iter().next().expect("one");
            let p = one(v).ok_or_else(|| bad("a list of principals"))?;
            match (k.as_str(), p.strip_prefix("arn:aws:iam::")) {
                // `{"AWS": "arn:aws:iam::123456789012:root"}` is how an account id comes back.
                ("AWS", Some(rest)) if rest.ends_with(":root") => {
                    rest.trim_end_matches(":root").to_string()
                }
                ("AWS" | "Service", _) => p,
                _ => return Err(bad(&format!("a {k} principal"))),
            }
        }
        _ => return Err(bad("its Principal")),
    };
    let mut p = Permission {
        sid: sid.clone(),
        action,
        principal,
        ..Permission::default()
    };
    if let Some(cond) = st.get("Condition").and_then(Value::as_object) {
        for (op, keys) in cond {
            let Some(keys) = keys.as_object() else {
                return Err(bad(&format!("condition {op}")));
            };
            for (k, v) in keys {
                let v = one(v).ok_or_else(|| bad(&format!("a list under condition {k}")))?;
                match (op.as_str(), k.to_ascii_lowercase().as_str()) {
                    ("ArnLike" | "ArnEquals", "aws:sourcearn") => p.source_arn = Some(v),
                    ("StringEquals", "aws:sourceaccount") => p.source_account = Some(v),
                    ("StringEquals", "aws:principalorgid") => p.principal_org_id = Some(v),
                    ("StringEquals", "lambda:functionurlauthtype") => {
                        p.function_url_auth_type = Some(v)
                    }
                    ("StringEquals", "lambda:eventsourcetoken") => p.event_source_token = Some(v),
                    _ => return Err(bad(&format!("condition {op} {k}"))),
                }
            }
        }
    }
    Ok(p)
}

/// The statements of a policy document by Sid.
pub fn statements(policy: Option<&Value>) -> BTreeMap<String, Value> {
    let st = match policy.and_then(|p| p.get("Statement")) {
        Some(Value::Array(a)) => a.clone(),
        Some(o @ Value::Object(_)) => vec![o.clone()],
        _ => Vec::new(),
    };
    st.into_iter()
        .filter_map(|s| Some((s.get("Sid")?.as_str()?.to_string(), s)))
        .collect()
}

/// The qualifier of a qualified function ARN (`...:function:name:live` -> `live`).
pub fn qualifier(arn: &str) -> Option<&str> {
    let after = arn.split(":function:").nth(1)?;
    after.split_once(':').map(|(_, q)| q)
}

/// The environment variables of a configuration.
fn env(conf: Option<&Value>) -> BTreeMap<String, Value> {
    conf.and_then(|c| c.pointer("/Environment/Variables"))
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// The variables whose value the snapshot holds only as a marker and the live function does not
/// have as it was (absent, or another value): they "need values".
pub fn env_needing_values(snap: &Value, live: Option<&Value>) -> Vec<String> {
    let live_env = env(live.and_then(|l| l.get("Configuration")));
    env(snap.get("Configuration"))
        .into_iter()
        .filter(|(k, v)| v.as_str().is_some_and(is_marker) && live_env.get(k) != Some(v))
        .map(|(k, _)| k)
        .collect()
}

/// The document without the environment's values (of `$LATEST` and every version).
fn without_env(doc: &Value) -> Value {
    let mut d = doc.clone();
    if let Some(c) = d.get_mut("Configuration").and_then(Value::as_object_mut) {
        c.remove("Environment");
    }
    if let Some(vs) = d.get_mut("Versions").and_then(Value::as_array_mut) {
        for v in vs {
            if let Some(v) = v.as_object_mut() {
                v.remove("Environment");
            }
        }
    }
    d
}

/// Why a function cannot be restored automatically at all, if it cannot.
pub fn manual_reason(doc: &Value, secrets_available: bool) -> Option<String> {
    let package = doc
        .get("PackageType")
        .or_else(|| doc.pointer("/Configuration/PackageType"))
        .and_then(Value::as_str);
    if package == Some("Image") {
        let uri = doc
            .pointer("/Code/ImageUri")
            .or_else(|| doc.pointer("/Code/ResolvedImageUri"))
            .and_then(Value::as_str)
            .unwrap_or("(not recorded)");
        return Some(format!(
            "a container-image function: its image {uri} is not in the snapshot (only its \
             configuration is); push that image to ECR again if it is gone, then create the \
             function from it (aws lambda create-function --package-type Image --code \
             ImageUri={uri}) with the configuration in the snapshot"
        ));
    }
    // Secrets in the environment are handled variable by variable (see `notes`); secrets
    // anywhere else (tags, policy) stop the whole function.
    if !secrets_available && has_marker(&without_env(doc)) {
        return Some(
            "needs values: the snapshot holds fingerprints of its secret values (outside the \
             environment), not the values; snapshot with --keep-secrets and keep the age \
             identity to restore them"
                .into(),
        );
    }
    None
}

/// What the plan tells about a function it writes: variables that need values, versions that
/// come back under other numbers or not at all, function URLs that get a new address.
pub fn notes(snap: &Value, live: Option<&Value>, secrets_available: bool) -> Vec<String> {
    let name = snap
        .get("FunctionName")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let mut out = Vec::new();
    if !secrets_available {
        let need = env_needing_values(snap, live);
        if !need.is_empty() {
            out.push(format!(
                "needs values: environment variable{} {} of function {name} held secret values \
                 the snapshot keeps only as fingerprints; everything else of the function is \
                 restored, and {} left as {} live{}: snapshot with --keep-secrets and keep the \
                 age identity, or set {} by hand",
                if need.len() == 1 { "" } else { "s" },
                need.join(", "),
                if need.len() == 1 { "it is" } else { "they are" },
                if need.len() == 1 { "it is" } else { "they are" },
                if live.is_none() {
                    " (absent on the function created)"
                } else {
                    ""
                },
                if need.len() == 1 { "it" } else { "them" },
            ));
        }
    }
    let arr = |d: Option<&Value>, k: &str| -> Vec<Value> {
        d.and_then(|d| d.get(k))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let snap_versions = arr(Some(snap), "Versions");
    let live_versions = arr(live, "Versions");
    let vp = plan_versions(
        &snap_versions,
        &live_versions,
        snap.get("CodeSha256").and_then(Value::as_str),
    );
    for (n, sha) in &vp.lost {
        out.push(format!(
            "version {n} of function {name} cannot be published again: its code (CodeSha256 \
             {sha}) is not in the snapshot, which keeps only the function's current zip; aliases \
             that point to it are left as they are"
        ));
    }
    if !vp.publish.is_empty() {
        // A function created anew numbers its versions from 1, a live one after its highest
        // version ever (deleted ones count).
        let next = if live.is_none() { Some(1u64) } else { None };
        let renumbered: Vec<&str> = vp
            .publish
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let n = number(v)?;
                (next.map(|s| (s + i as u64).to_string()).as_deref() != Some(n)).then_some(n)
            })
            .collect();
        if !renumbered.is_empty() {
            out.push(format!(
                "version{} {} of function {name} {} published again from the snapshot's code and \
                 configuration; Lambda numbers versions itself, so {} a new number (aliases are \
                 pointed at the new numbers, and a diff against the snapshot shows the numbers)",
                if renumbered.len() == 1 { "" } else { "s" },
                renumbered.join(", "),
                if renumbered.len() == 1 { "is" } else { "are" },
                if renumbered.len() == 1 {
                    "it gets"
                } else {
                    "they get"
                },
            ));
        }
    }
    let live_urls: BTreeSet<String> = arr(live, "FunctionUrlConfigs")
        .iter()
        .filter_map(|u| u.get("FunctionArn")?.as_str().map(str::to_string))
        .collect();
    for u in arr(Some(snap), "FunctionUrlConfigs") {
        let (Some(arn), Some(url)) = (
            u.get("FunctionArn").and_then(Value::as_str),
            u.get("FunctionUrl").and_then(Value::as_str),
        ) else {
            continue;
        };
        if !live_urls.contains(arn) {
            out.push(format!(
                "the function URL of {arn} is created anew and gets a new address (it was \
                 {url}): point its callers at the new one"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(n: &str, sha: &str, timeout: u64) -> Value {
        json!({"Version": n, "CodeSha256": sha, "Timeout": timeout, "Description": n})
    }

    #[test]
    fn versions_are_matched_republished_or_lost() {
        let snap = [v("1", "A", 3), v("2", "A", 9), v("3", "B", 9)];
        // Live: version 1 as it was, version 2 deleted and the content of 3... gone too.
        let live = [v("1", "A", 3)];
        let p = plan_versions(&snap, &live, Some("A"));
        assert_eq!(p.map, BTreeMap::from([("1".into(), "1".into())]));
        assert_eq!(p.publish, vec![v("2", "A", 9)]);
        assert_eq!(p.lost, vec![("3".to_string(), "B".to_string())]);
        // A live version with another number and the same content is taken.
        let live = [
            v("1", "A", 3),
            json!({"Version": "7", "CodeSha256": "A", "Timeout": 9, "Description": "2"}),
        ];
        let p = plan_versions(&snap[..2], &live, Some("A"));
        assert_eq!(p.map.get("2").map(String::as_str), Some("7"));
        assert!(p.publish.is_empty());
    }

    #[test]
    fn a_marker_matches_the_live_value_of_its_variable() {
        let s = json!({"Version": "1", "Environment": {"Variables": {"K": "<redacted fp:0123456789abcdef01234567>", "P": "x"}}});
        let l = json!({"Version": "1", "Environment": {"Variables": {"K": "real", "P": "x"}}});
        assert!(same_content(&s, &l));
        let l2 = json!({"Version": "1", "Environment": {"Variables": {"K": "real", "P": "y"}}});
        assert!(!same_content(&s, &l2));
    }

    #[test]
    fn statements_become_add_permission_arguments() {
        let st = json!({"Sid": "s3", "Effect": "Allow", "Action": "lambda:InvokeFunction",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::b"},
                          "StringEquals": {"AWS:SourceAccount": "123456789012"}}});
        let p = permission(&st).unwrap();
        assert_eq!(p.principal, "s3.amazonaws.com");
        assert_eq!(p.source_arn.as_deref(), Some("arn:aws:s3:::b"));
        assert_eq!(p.source_account.as_deref(), Some("123456789012"));
        let acct = json!({"Sid": "a", "Effect": "Allow", "Action": ["lambda:GetFunction"],
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"}});
        assert_eq!(permission(&acct).unwrap().principal, "111122223333");
        let deny = json!({"Sid": "d", "Effect": "Deny", "Action": "x", "Principal": "*"});
        assert!(permission(&deny).unwrap_err().contains("statement d"));
        let odd = json!({"Sid": "o", "Effect": "Allow", "Action": "x", "Principal": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "1.2.3.4"}}});
        assert!(permission(&odd).unwrap_err().contains("IpAddress"));
    }

    #[test]
    fn qualifiers_of_arns() {
        assert_eq!(
            qualifier("arn:aws:lambda:us-east-1:1:function:f:live"),
            Some("live")
        );
        assert_eq!(qualifier("arn:aws:lambda:us-east-1:1:function:f"), None);
    }

    #[test]
    fn notes_name_secret_variables_new_numbers_and_new_urls() {
        let m = "<redacted fp:0123456789abcdef01234567>";
        let snap = json!({"FunctionName": "f", "CodeSha256": "A",
            "Configuration": {"Environment": {"Variables": {"KEY": m, "MODE": "<redacted fp:aaaaaaaaaaaaaaaaaaaaaaaa>"}}},
            "Versions": [v("2", "A", 3)],
            "FunctionUrlConfigs": [{"FunctionArn": "arn:aws:lambda:r:1:function:f", "FunctionUrl": "https://x.on.aws"}]});
        let live = json!({"FunctionName": "f",
            "Configuration": {"Environment": {"Variables": {"MODE": "<redacted fp:aaaaaaaaaaaaaaaaaaaaaaaa>"}}}});
        let n = notes(&snap, Some(&live), false);
        assert_eq!(n.len(), 3, "{n:#?}");
        assert!(n[0].starts_with("needs values: environment variable KEY of function f"));
        assert!(n[1].contains("version 2 of function f is published again"));
        assert!(n[2].contains("https://x.on.aws"));
        assert!(notes(&snap, Some(&live), true).len() == 2);
        // Created anew, versions 1.. keep their numbers.
        let snap1 = json!({"FunctionName": "f", "CodeSha256": "A", "Versions": [v("1", "A", 3), v("2", "A", 4)]});
        assert!(notes(&snap1, None, false).is_empty());
    }

    #[test]
    fn image_functions_and_secrets_outside_the_environment_are_manual() {
        let img = json!({"PackageType": "Image", "Code": {"ImageUri": "1.dkr.ecr/x:1"}});
        assert!(manual_reason(&img, false)
            .unwrap()
            .contains("1.dkr.ecr/x:1"));
        let m = "<redacted fp:0123456789abcdef01234567>";
        let env_only = json!({"Configuration": {"Environment": {"Variables": {"K": m}}}});
        assert_eq!(manual_reason(&env_only, false), None);
        let tag = json!({"Tags": {"token": m}});
        assert!(manual_reason(&tag, false)
            .unwrap()
            .starts_with("needs values"));
        assert_eq!(manual_reason(&tag, true), None);
    }
}
