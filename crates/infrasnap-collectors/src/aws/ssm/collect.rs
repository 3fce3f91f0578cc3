//! Capturing SSM Parameter Store and Secrets Manager: per region of the account scope, every
//! parameter (parameters.rs) and every secret (secrets.rs), never a secret value in any form.
//!
//! Each parameter is a resource `aws.ssm.parameter` (id: its name) and each secret a resource
//! `aws.secretsmanager.secret` (id: its name), handed to the catalog; the core writes the views
//! `ssm_parameters/<account>/<region>/parameters.json` and
//! `secrets_manager/<account>/<region>/secrets.json` (`{"Items": [...]}`, sorted by name). Each
//! secret's LastAccessedDate is kept apart, in the region's `aws.secretsmanager.last_accessed`
//! resource (`secrets_manager/<account>/<region>/last_accessed.json`), as reading a secret's
//! value, this snapshot included, moves it. Every listing (DescribeParameters, ListSecrets) is
//! reported as coverage, per region.
//!
//! Documents are JSON with sorted keys and sorted lists, so an unchanged region gives
//! byte-identical files (and no new blob). String and StringList values are stored after
//! redaction of known secret shapes (and of the whole value when the parameter's name is
//! secret-like); SecureString values and secret values only as `ValueFingerprint`, the
//! repository's keyed fingerprint. A failed call is recorded with its IAM action and the
//! resource's ARN, and the rest goes on.

use infrasnap_core::manifest::Table;
use std::sync::Arc;

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use infrasnap_core::engine::{CollectorReport, RunContext, Tally};
use infrasnap_core::metadata::RecordedError;
use infrasnap_core::secrets::{redact_json, redact_text, Fingerprinter};
use infrasnap_core::store::Stored;
use serde_json::{json, Map, Value};

use super::SsmCollector;
use crate::aws::kit::Run;
use crate::aws::sdk_error::{ApiFailure, CollectError};

/// Resources worked on at once (per region and service); the rate limiters bound the calls.
pub(super) const CONCURRENCY: usize = 4;

/// A recorded error. The message goes through secret redaction first: an error message must
/// never carry a value, whatever the service put in it.
pub(super) fn rec_err(
    fp: &Fingerprinter,
    service: &str,
    action: &str,
    resource: &str,
    f: &ApiFailure,
) -> RecordedError {
    let message = redact_text(&f.message, fp).0;
    f.of(service, action, resource).with_message(message).into()
}

pub(super) fn local_err(service: &str, resource: &str, e: impl std::fmt::Display) -> RecordedError {
    CollectError::local(service, resource, e).into()
}

/// An entry of an `Unreadable` list: which field could not be read, and why.
pub(super) fn unreadable(field: &str, action: &str, f: &ApiFailure) -> Value {
    let mut m = Map::new();
    m.insert("Field".into(), field.into());
    m.insert("Action".into(), action.into());
    if let Some(c) = &f.code {
        m.insert("Code".into(), c.clone().into());
    }
    Value::Object(m)
}

pub(super) fn fmt_time(t: Option<&DateTime>) -> Option<Value> {
    t.and_then(|t| t.fmt(Format::DateTime).ok())
        .map(Value::from)
}

/// Insert `k` when `v` is present.
pub(super) fn put(m: &mut Map<String, Value>, k: &str, v: Option<impl Into<Value>>) {
    if let Some(v) = v {
        m.insert(k.to_string(), v.into());
    }
}

/// A free text (a description) with the secrets found in it replaced by their markers.
pub(super) fn redacted_text(s: &str, fp: &Fingerprinter) -> String {
    redact_text(s, fp).0
}

/// Tags as a list of `{"Key", "Value"}` sorted by key, values redacted where they look secret
/// (or their key names a secret).
pub(super) fn tags_json(mut tags: Vec<(String, String)>, fp: &Fingerprinter) -> Vec<Value> {
    tags.sort();
    tags.dedup();
    let mut v = Value::Array(
        tags.into_iter()
            .map(|(k, v)| json!({ "Key": k, "Value": v }))
            .collect(),
    );
    redact_json(&mut v, fp);
    match v {
        Value::Array(a) => a,
        _ => Vec::new(),
    }
}

/// What one region and service contributed.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub listed: bool,
    pub items: u64,
    pub secure: u64,
    pub fingerprints: u64,
    pub tally: Tally,
}

impl Outcome {
    pub fn count(&mut self, st: &Stored) {
        self.tally.add(st);
    }
}

impl SsmCollector {
    fn key_name(&self) -> String {
        use infrasnap_core::engine::Collector;
        self.key()
    }

    pub(super) async fn run_inner(self: Arc<Self>, cx: Arc<RunContext>) -> CollectorReport {
        let run = Run::start(&cx, &self.key_name());
        let (progress, errors) = (run.progress.clone(), run.errors.clone());
        let mut report = CollectorReport::default();
        let mut regions = self.scope.regions.clone();
        regions.sort();
        regions.dedup();
        progress.add(&progress.units_total, 2 * regions.len() as u64);

        let mut rows: Vec<(String, Outcome, Outcome)> = Vec::new();
        for region in &regions {
            if cx.is_cancelled() {
                break;
            }
            let (p, s) = futures::join!(
                self.parameters(&cx, region, &errors),
                self.secrets(&cx, region, &errors)
            );
            progress.add(&progress.units_done, 2);
            rows.push((region.clone(), p, s));
        }

        let s = &mut report.summary;
        let (mut params, mut secure, mut secrets, mut fps) = (0, 0, 0, 0);
        let mut listed = 0usize;
        for (_, p, sec) in &rows {
            params += p.items;
            secure += p.secure;
            secrets += sec.items;
            fps += p.fingerprints + sec.fingerprints;
            listed += p.listed as usize + sec.listed as usize;
            for o in [p, sec] {
                o.tally.add_to(s);
            }
        }
        s.counts.insert("parameters".into(), params);
        s.counts.insert("secure_strings".into(), secure);
        s.counts.insert("secrets".into(), secrets);
        s.counts.insert("value_fingerprints".into(), fps);
        run.finish(s, listed == 0 && !regions.is_empty());
        report.regions = regions;

        let mut t = Table::new(&["Region", "Parameters", "SecureStrings", "Secrets"]);
        let cell = |o: &Outcome, n: u64| {
            if o.listed {
                n.to_string()
            } else {
                "not listed".into()
            }
        };
        for (region, p, sec) in &rows {
            t.row(vec![
                region.to_string(),
                cell(p, p.items),
                cell(p, p.secure),
                cell(sec, sec.items),
            ]);
        }
        report.manifest.table(t).text(
            "No value is stored in plain text: SecureString parameters and secrets have only a \
             keyed `ValueFingerprint` (equal within this repository exactly when the value is \
             equal); String and StringList values are stored with secret-looking parts replaced \
             by `<redacted fp:...>` markers.",
        );
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_sorted_and_secret_looking_values_redacted() {
        let fp = Fingerprinter::from_key([9; 32]);
        let tags = tags_json(
            vec![
                ("team".into(), "core".into()),
                ("api_token".into(), "x9Q2vL7pK3mN8rT5wY1z".into()),
                ("env".into(), "prod".into()),
            ],
            &fp,
        );
        assert_eq!(tags[0]["Key"], "api_token");
        assert_eq!(
            tags[0]["Value"],
            fp.marker(b"x9Q2vL7pK3mN8rT5wY1z").as_str()
        );
        assert_eq!(tags[1], json!({"Key": "env", "Value": "prod"}));
        assert_eq!(tags[2], json!({"Key": "team", "Value": "core"}));
    }

    #[test]
    fn error_messages_lose_secret_shapes() {
        let fp = Fingerprinter::from_key([9; 32]);
        let key = format!("{}{}", "AKIA", "QWERTYUIOPASDFGH");
        let f = ApiFailure {
            code: Some("ValidationException".into()),
            message: format!("bad value {key} here"),
            status: Some(400),
        };
        let e = rec_err(&fp, "ssm", "ssm:GetParameter", "arn", &f);
        assert!(!e.message.contains(&key), "{}", e.message);
    }
}
