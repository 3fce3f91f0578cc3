//! Plaintext secrets: values a snapshot had to redact, shown by location and fingerprint.
//!
//! A snapshot never holds a secret: it holds the marker `<redacted fp:...>` where one was. Where
//! every value is redacted by policy (Lambda environments, API Gateway stage variables,
//! CloudFront origin headers), a marker is a finding only when the name says it is a secret
//! (`DB_PASSWORD`, `API_KEY`, `X-Origin-Verify`); anywhere else a marker means a secret-shaped
//! value was found in the configuration.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::{hit, strings};
use crate::catalog::kinds;
use crate::catalog::normalize::{pattern_matches, split_pointer};
use crate::findings::estate::{Estate, Res};
use crate::findings::{Evidence, Hit, Severity};
use crate::secrets::secret_name_kind;

static MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<redacted (fp:[0-9a-f]{24})>").expect("valid regex"));

/// Kinds whose values are meant to be secrets, held as fingerprints.
const SKIP_KINDS: &[&str] = &[
    "aws.secretsmanager.secret",
    "aws.secretsmanager.last_accessed",
];

/// Header names used as shared secrets between CloudFront and an origin.
fn secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    secret_name_kind(name).is_some()
        || [
            "auth",
            "token",
            "secret",
            "key",
            "verify",
            "signature",
            "password",
        ]
        .iter()
        .any(|w| n.contains(w))
}

fn evidence_of(r: &Res) -> (Vec<Evidence>, Severity) {
    let mut ev = Vec::new();
    let mut sev = Severity::Medium;
    let sensitive = kinds::spec(&r.id.kind).map(|s| s.sensitive).unwrap_or(&[]);
    let mut found = Vec::new();
    strings(&r.doc, &mut String::new(), &mut found);
    for (ptr, s) in found {
        if ptr.starts_with("/Versions/") {
            continue; // the same variables as $LATEST's, once per version
        }
        let Some(c) = MARKER.captures(s) else {
            continue;
        };
        let fp = c[1].to_string();
        let tokens = split_pointer(&ptr);
        let name = tokens.last().cloned().unwrap_or_default();
        if ptr.contains("/CustomHeaders/Items/") && name == "HeaderValue" {
            let header_ptr = format!("{}/HeaderName", &ptr[..ptr.len() - "/HeaderValue".len()]);
            let header = r
                .doc
                .pointer(&header_ptr)
                .and_then(Value::as_str)
                .unwrap_or("");
            if secret_header(header) {
                ev.push(Evidence::at(ptr.clone(), format!("{fp} (header {header})")));
            }
            continue;
        }
        if sensitive.iter().any(|p| pattern_matches(p, &tokens)) {
            // Redacted by policy: a finding only under a secret name.
            if secret_name_kind(&name).is_some() {
                ev.push(Evidence::at(ptr.clone(), fp));
                sev = Severity::High;
            }
            continue;
        }
        ev.push(Evidence::at(ptr.clone(), fp));
        sev = Severity::High;
    }
    // Code kept byte for byte with secrets found in it (CloudFront functions).
    for (i, s) in r.arr("/SecretsInCode").iter().enumerate() {
        ev.push(Evidence::at(format!("/SecretsInCode/{i}"), s.clone()));
        sev = Severity::High;
    }
    for stage in ["DEVELOPMENT", "LIVE"] {
        for (i, s) in r
            .arr(&format!("/Stages/{stage}/SecretsInCode"))
            .iter()
            .enumerate()
        {
            ev.push(Evidence::at(
                format!("/Stages/{stage}/SecretsInCode/{i}"),
                s.clone(),
            ));
            sev = Severity::High;
        }
    }
    // Apps Script and local sources: their redaction lists (file, line, kind).
    if let Some(red) = r.parts.get("redactions.json") {
        let list = match red {
            Value::Array(a) => a.as_slice(),
            v => v
                .get("redactions")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        };
        for x in list {
            let file = x.get("file").and_then(Value::as_str).unwrap_or("?");
            let at = match (
                x.get("line").and_then(Value::as_u64),
                x.get("pointer").and_then(Value::as_str),
            ) {
                (Some(l), _) => format!("part:{file}#L{l}"),
                (None, Some(p)) => format!("part:{file}#{p}"),
                _ => format!("part:{file}"),
            };
            ev.push(Evidence::at(
                at,
                x.get("kind").cloned().unwrap_or(Value::Null),
            ));
            sev = Severity::High;
        }
    }
    if let Some(m) = r.parts.get("secrets_manifest.json") {
        for w in m
            .get("withheld")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let path = w.get("path").and_then(Value::as_str).unwrap_or("?");
            ev.push(Evidence::at(
                format!("file:{path}"),
                w.get("fingerprint").cloned().unwrap_or(Value::Null),
            ));
        }
    }
    // Agents: their own document lists redactions.
    for (i, x) in r.arr("/redactions").iter().enumerate() {
        ev.push(Evidence::at(format!("/redactions/{i}"), x.clone()));
        sev = Severity::High;
    }
    (ev, sev)
}

pub fn plaintext(e: &Estate) -> Vec<Hit> {
    let mut out = Vec::new();
    for r in &e.resources {
        if SKIP_KINDS.contains(&r.id.kind.as_str()) {
            continue;
        }
        // Only git repositories: a withheld `.env` in a plain folder is where it belongs.
        let (mut ev, sev) = evidence_of(r);
        if r.id.kind != "local.git" {
            ev.retain(|x| !x.pointer.starts_with("file:"));
        }
        if ev.is_empty() {
            continue;
        }
        let noun = kinds::spec(&r.id.kind)
            .map(|s| s.noun)
            .unwrap_or("resource");
        out.push(hit(
            "secrets.plaintext",
            sev,
            r,
            format!(
                "{noun} `{}` holds {} secret value{} in plain text",
                r.name(),
                ev.len(),
                if ev.len() == 1 { "" } else { "s" }
            ),
            ev,
            "Move the secret to Secrets Manager or SSM (SecureString) and read it at run time; \
             rotate it, since it was readable by anyone who could read the configuration. For \
             files in a git repository: remove them from history and add them to .gitignore.",
        ));
    }
    out
}
