//! API Gateway stage variables in a restore plan (pure): which ones the snapshot holds only as
//! fingerprint markers while the live API does not hold the same (so the writer cannot keep the
//! live value), and the "needs values" reason that names them.
//!
//! With `--keep-secrets` the originals are in the resource's `kept.age` part and come back with
//! `--identity`; without the identity, a variable whose live fingerprint is the snapshot's keeps
//! its live value, and any other makes the API "needs values".

use serde_json::Value;

use crate::diff::json::text_has_marker;

const REST_API: &str = "aws.apigateway.rest_api";
const V2_API: &str = "aws.apigatewayv2.api";

/// `(stages member, stage name member, variables member)` of a kind's document.
fn layout(kind: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match kind {
        REST_API => Some(("stages", "stageName", "variables")),
        V2_API => Some(("Stages", "StageName", "StageVariables")),
        _ => None,
    }
}

/// The variables of `kind`'s stages, by stage name: `(stage, name, value)`. A REST stage's canary
/// overrides count as variables named `canary:<name>`.
fn variables(kind: &str, doc: &Value) -> Vec<(String, String, String)> {
    let Some((stages, stage_name, vars)) = layout(kind) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for st in doc
        .get(stages)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let stage = st.get(stage_name).and_then(Value::as_str).unwrap_or("?");
        let canary = st.pointer("/canarySettings/stageVariableOverrides");
        for (prefix, m) in [("", st.get(vars)), ("canary:", canary)] {
            for (k, v) in m.and_then(Value::as_object).into_iter().flatten() {
                if let Some(v) = v.as_str() {
                    out.push((stage.to_string(), format!("{prefix}{k}"), v.to_string()));
                }
            }
        }
    }
    out
}

/// The stage variables (`stage/name`) the snapshot holds only as markers and the live API does
/// not hold with the same marker (changed, missing, or the API is gone).
pub fn variables_needing_values(kind: &str, snap: &Value, live: Option<&Value>) -> Vec<String> {
    let live_vars = live.map(|l| variables(kind, l)).unwrap_or_default();
    variables(kind, snap)
        .into_iter()
        .filter(|(_, _, v)| text_has_marker(v))
        .filter(|(s, k, v)| {
            !live_vars
                .iter()
                .any(|(ls, lk, lv)| ls == s && lk == k && lv == v)
        })
        .map(|(s, k, _)| format!("{s}/{k}"))
        .collect()
}

/// The "needs values" reason of an API whose stage variables need values, naming them and how
/// to give them (`kept`: the snapshot kept them encrypted). None when no stage variable does.
pub fn needs_values(kind: &str, snap: &Value, live: Option<&Value>, kept: bool) -> Option<String> {
    let need = variables_needing_values(kind, snap, live);
    if need.is_empty() {
        return None;
    }
    let noun = if kind == REST_API { "REST API" } else { "API" };
    let name = snap
        .pointer("/restApi/name")
        .or_else(|| snap.pointer("/Api/Name"))
        .and_then(Value::as_str)
        .unwrap_or("?");
    let how = if kept {
        "the snapshot kept their values encrypted: pass the age identity that decrypts them \
         (--identity FILE, or `identity =` in [secrets])"
    } else {
        "the snapshot holds fingerprints only: snapshot with --keep-secrets and keep the age \
         identity to restore them, or set them by hand"
    };
    Some(format!(
        "needs values: stage variable{} {} of {noun} `{name}` {} not as live and {} only \
         fingerprints in the snapshot; {how}",
        if need.len() == 1 { "" } else { "s" },
        need.join(", "),
        if need.len() == 1 { "is" } else { "are" },
        if need.len() == 1 {
            "its value is"
        } else {
            "their values are"
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const M1: &str = "<redacted fp:aaaaaaaaaaaaaaaaaaaaaaaa>";
    const M2: &str = "<redacted fp:bbbbbbbbbbbbbbbbbbbbbbbb>";

    fn rest(vars: Value) -> Value {
        json!({"restApi": {"name": "shop"}, "stages": [{"stageName": "prod", "variables": vars}]})
    }

    #[test]
    fn only_markers_the_live_api_lacks_need_values() {
        let snap = rest(json!({"db_password": M1, "mode": M2}));
        // Equal live: nothing needed.
        assert!(variables_needing_values(REST_API, &snap, Some(&snap)).is_empty());
        // One changed live, the API gone.
        let live = rest(json!({"db_password": M2, "mode": M2}));
        assert_eq!(
            variables_needing_values(REST_API, &snap, Some(&live)),
            ["prod/db_password"]
        );
        assert_eq!(
            variables_needing_values(REST_API, &snap, None),
            ["prod/db_password", "prod/mode"]
        );
        // A stage of another name is another stage.
        let other = json!({"stages": [{"stageName": "dev", "variables": {"db_password": M1}}]});
        assert_eq!(
            variables_needing_values(REST_API, &rest(json!({"db_password": M1})), Some(&other)),
            ["prod/db_password"]
        );
    }

    #[test]
    fn http_api_stages_and_canary_overrides_count() {
        let snap = json!({"Api": {"Name": "h"}, "Stages": [
            {"StageName": "$default", "StageVariables": {"token": M1}}
        ]});
        assert_eq!(
            variables_needing_values(V2_API, &snap, None),
            ["$default/token"]
        );
        let canary = json!({"stages": [{"stageName": "prod",
            "canarySettings": {"stageVariableOverrides": {"k": M1}}}]});
        assert_eq!(
            variables_needing_values(REST_API, &canary, None),
            ["prod/canary:k"]
        );
    }

    #[test]
    fn the_reason_names_the_variables_and_how_to_give_them() {
        let snap = rest(json!({"db_password": M1}));
        let kept = needs_values(REST_API, &snap, None, true).unwrap();
        assert!(
            kept.starts_with("needs values: stage variable prod/db_password of REST API `shop`")
        );
        assert!(kept.contains("--identity FILE"), "{kept}");
        let not = needs_values(REST_API, &snap, None, false).unwrap();
        assert!(not.contains("--keep-secrets"), "{not}");
        assert!(needs_values(REST_API, &snap, Some(&snap), true).is_none());
        assert!(needs_values("aws.lambda.function", &snap, None, true).is_none());
    }
}
