//! Lightsail's answers as files: the raw JSON 1.1 body of each call (kept by [`Capture`]) with
//! the API's own member names, made stable ([`normalise`]): timestamps (epoch seconds on the wire)
//! as RFC 3339 UTC, set-like lists (tags, add-ons, disks, ports, CIDRs, addresses) sorted, keys
//! sorted. And the name of the native snapshots `--lightsail-snapshot` creates.

use std::cmp::Ordering;

use chrono::{DateTime, SecondsFormat};
use serde_json::Value;

pub(super) use crate::aws::capture::RawAnswer as Capture;

/// Lists whose order carries no meaning: sorted so that an unchanged resource gives the same bytes.
const SET_LIKE: &[&str] = &[
    "tags",
    "addOns",
    "disks",
    "fromAttachedDisks",
    "ports",
    "ipv6Addresses",
    "cidrs",
    "ipv6Cidrs",
    "cidrListAliases",
    "availabilityZones",
];

/// Timestamp members that do not end in `At`.
const TIMESTAMPS: &[&str] = &["impairedSince"];

/// Epoch seconds (Lightsail's wire format for timestamps) as RFC 3339 UTC, to the millisecond.
pub(super) fn rfc3339(secs: f64) -> Option<String> {
    let ms = (secs * 1000.0).round() as i64;
    DateTime::from_timestamp_millis(ms).map(|d| d.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// Sort key of a list element: its `name` or `key` (a port: its range), then the whole element.
fn element_order(a: &Value, b: &Value) -> Ordering {
    let k = |v: &Value| {
        v.get("name")
            .or_else(|| v.get("key"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let range = |v: &Value| {
        (
            v.get("fromPort").and_then(Value::as_i64),
            v.get("toPort").and_then(Value::as_i64),
        )
    };
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => k(a)
            .cmp(&k(b))
            .then_with(|| range(a).cmp(&range(b)))
            .then_with(|| a.to_string().cmp(&b.to_string())),
    }
}

/// Make a Lightsail document stable, in place: timestamps as RFC 3339, set-like lists sorted,
/// object keys sorted.
pub(super) fn normalise(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let old = std::mem::take(m);
            let mut pairs: Vec<(String, Value)> = old.into_iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, mut val) in pairs {
                let is_time = k.ends_with("At") || TIMESTAMPS.contains(&k.as_str());
                if is_time {
                    if let Some(s) = val.as_f64().and_then(rfc3339) {
                        val = Value::String(s);
                    }
                }
                normalise(&mut val);
                if SET_LIKE.contains(&k.as_str()) {
                    if let Value::Array(a) = &mut val {
                        a.sort_by(element_order);
                    }
                }
                m.insert(k, val);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalise),
        _ => {}
    }
}

/// Longest name Lightsail takes for a resource.
pub(super) const MAX_NAME: usize = 255;

/// The name of the native snapshot of `instance` that `--lightsail-snapshot` creates for our
/// snapshot `ours`: `infrasnap-<ours>-<instance>`, every character Lightsail does not allow
/// (its pattern is `\w[\w\-]*\w`) replaced by `-`; longer than [`MAX_NAME`], it is cut and
/// ends in `-` and 8 hex digits of a hash of the full name, so it stays unique.
pub fn native_snapshot_name(ours: &str, instance: &str) -> String {
    let full = format!("infrasnap-{ours}-{instance}");
    let mut out: String = full
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.len() > MAX_NAME {
        let hash = blake3::hash(full.as_bytes()).to_hex();
        out.truncate(MAX_NAME - 9);
        while out.ends_with('-') {
            out.pop();
        }
        out.push('-');
        out.push_str(&hash[..8]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn native_names_follow_lightsail_pattern() {
        assert_eq!(
            native_snapshot_name("2026-11-30T02-10-00Z", "web-1"),
            "infrasnap-2026-11-30T02-10-00Z-web-1"
        );
        assert_eq!(native_snapshot_name("v1.0", "db_2"), "infrasnap-v1-0-db_2");
        assert_eq!(
            native_snapshot_name("release 3/é", "x1"),
            "infrasnap-release-3---x1"
        );
        let long = "a".repeat(400);
        let n = native_snapshot_name(&long, "web-1");
        assert_eq!(n.len(), MAX_NAME);
        assert!(n.starts_with("infrasnap-aaa"));
        let n2 = native_snapshot_name(&long, "web-2");
        assert_ne!(n, n2, "a cut name keeps a hash of the full one");
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        for name in [n, n2] {
            assert!(name.chars().all(|c| word(c) || c == '-'));
            assert!(word(name.chars().last().unwrap()));
        }
    }

    #[test]
    fn timestamps_and_sets_are_stable() {
        let mut v = json!({
            "name": "web-1",
            "createdAt": 1479734909.17,
            "tags": [{"key": "b", "value": "2"}, {"key": "a"}],
            "networking": {"ports": [
                {"fromPort": 80, "toPort": 80, "protocol": "tcp", "cidrs": ["10.0.0.0/8", "0.0.0.0/0"]},
                {"fromPort": 22, "toPort": 22, "protocol": "tcp"}
            ]},
            "location": {"regionName": "us-east-1"},
        });
        normalise(&mut v);
        assert_eq!(v["createdAt"], "2016-11-21T13:28:29.170Z");
        assert_eq!(v["tags"][0]["key"], "a");
        assert_eq!(v["networking"]["ports"][0]["fromPort"], 22);
        assert_eq!(
            v["networking"]["ports"][1]["cidrs"],
            json!(["0.0.0.0/0", "10.0.0.0/8"])
        );
        let text = serde_json::to_string(&v).unwrap();
        assert!(text.find("\"createdAt\"").unwrap() < text.find("\"location\"").unwrap());
        assert_eq!(rfc3339(1700000000.0).unwrap(), "2023-11-14T22:13:20Z");
    }
}
