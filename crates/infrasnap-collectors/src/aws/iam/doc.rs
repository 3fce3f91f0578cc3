//! Helpers shared by the IAM files: policy documents (URL-encoded or raw JSON), dates, tags, and
//! redaction that keeps IAM's own identifiers.

use aws_sdk_iam::primitives::DateTime;
use infrasnap_core::secrets::{redact_json, Fingerprinter};
use serde_json::Value;

/// A policy document as IAM returns it: URL-encoded (GetRole, GetRolePolicy, the authorization
/// details) or raw JSON (GetPolicyVersion on some servers). Decoded to JSON; kept as text when it
/// is not JSON after decoding.
pub fn policy_document(raw: &str) -> Value {
    let t = raw.trim_start();
    let text = if t.starts_with('{') {
        raw.to_string()
    } else if raw.contains('%') {
        percent_decode(raw)
    } else {
        raw.to_string()
    };
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// RFC 3986 percent-decoding (a `+` stays a `+`); invalid escapes are kept as they are.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub use crate::aws::kit::doc::time as opt_date;

pub fn date(d: &DateTime) -> Value {
    opt_date(Some(d))
}

/// Tags sorted by key, as `[{"Key":..,"Value":..}]`.
pub fn tags(t: &[aws_sdk_iam::types::Tag]) -> Value {
    crate::aws::kit::doc::tags(t.iter().map(|t| (t.key(), t.value())))
}

/// Fields holding IAM's own identifiers (`AIDA...`, `AROA...`, access key ids): they have the
/// shape of an access key id, but they are what this capture is about, not secrets.
const ID_FIELDS: &[&str] = &[
    "UserId",
    "RoleId",
    "GroupId",
    "PolicyId",
    "InstanceProfileId",
    "AccessKeyId",
];

/// [`redact_json`] over the whole document, except the identifier fields above.
pub fn redact(v: &mut Value, fp: &Fingerprinter) {
    let mut kept = Vec::new();
    stash(v, &mut kept);
    redact_json(v, fp);
    restore(v, &mut kept.into_iter());
}

fn placeholder(i: usize) -> String {
    format!("iam-identifier-{i}")
}

fn stash(v: &mut Value, kept: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if ID_FIELDS.contains(&k.as_str()) {
                    if let Value::String(s) = x {
                        let p = placeholder(kept.len());
                        kept.push(std::mem::replace(s, p));
                        continue;
                    }
                }
                stash(x, kept);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| stash(x, kept)),
        _ => {}
    }
}

fn restore(v: &mut Value, kept: &mut impl Iterator<Item = String>) {
    // Same walk order as `stash` (objects iterate in a fixed order).
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if ID_FIELDS.contains(&k.as_str()) {
                    if let Value::String(s) = x {
                        if let Some(orig) = kept.next() {
                            *s = orig;
                        }
                        continue;
                    }
                }
                restore(x, kept);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| restore(x, kept)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_both_forms() {
        let enc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            policy_document(enc),
            serde_json::json!({"Version":"2012-10-17","Statement":[]})
        );
        assert_eq!(
            policy_document(r#"{"a": "100%"}"#),
            serde_json::json!({"a":"100%"})
        );
        assert_eq!(
            policy_document("not json %"),
            Value::String("not json %".into())
        );
        assert_eq!(percent_decode("a%2"), "a%2");
    }

    #[test]
    fn keeps_identifiers() {
        let fp = Fingerprinter::from_key([7; 32]);
        // Key ids are assembled at run time: no credential-shaped literal in the repository.
        let key_id = format!("{}{}", "AKIA", "ABCDEFGHIJKLMNOP");
        let other = format!("{}{}", "AKIA", "ABCDEFGHIJKLMNOQ");
        let mut v = serde_json::json!({
            "UserId": "AIDAABCDEFGHIJKLMNOP",
            "AccessKeys": [{"AccessKeyId": key_id, "Status": "Active"}],
            "Note": other
        });
        redact(&mut v, &fp);
        assert_eq!(v["UserId"], "AIDAABCDEFGHIJKLMNOP");
        assert_eq!(v["AccessKeys"][0]["AccessKeyId"], key_id.as_str());
        assert_ne!(v["Note"], other.as_str());
    }
}
