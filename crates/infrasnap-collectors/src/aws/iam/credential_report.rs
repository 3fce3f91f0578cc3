//! The IAM credential report: every user's password and access key dates (created, rotated,
//! last used) in one CSV, which the findings read (keys unused for more than 45 days, older
//! than 90). GenerateCredentialReport, then GetCredentialReport until it is ready.
//!
//! Resource `aws.iam.credential_report:<account>::credential_report`: the document
//! `{"GeneratedTime", "Rows": [{column: value}]}` (rows in the report's order, by user) at
//! `iam/<account>/credential_report.json`, the CSV as the part `credential_report.csv`. Coverage:
//! complete when the report was read, failed with the error otherwise (the run is then partial).

use std::time::Duration;

use aws_smithy_types::date_time::Format;
use infrasnap_core::engine::{CollectorReport, RunContext};
use infrasnap_core::ids::ResourceId;
use infrasnap_core::metadata::{RecordedError, Status};
use serde_json::{json, Map, Value};

use super::collect::rec_err;
use super::IamCollector;
use crate::aws::sdk_error::describe;

pub const KIND: &str = "aws.iam.credential_report";
const ID: &str = "credential_report";
/// GetCredentialReport attempts while the report is being generated (1 s apart).
const ATTEMPTS: usize = 30;

/// The report's rows as objects keyed by the header's column names.
pub fn parse_csv(text: &str) -> Vec<Value> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(head) = lines.next() else {
        return Vec::new();
    };
    let cols: Vec<&str> = head.split(',').map(str::trim).collect();
    lines
        .map(|l| {
            let mut m = Map::new();
            for (c, v) in cols.iter().zip(l.split(',')) {
                m.insert(c.to_string(), Value::String(v.trim().to_string()));
            }
            Value::Object(m)
        })
        .collect()
}

/// Read the report and hand it over; failures go into `report` (the run becomes partial).
pub async fn capture(me: &IamCollector, cx: &RunContext, report: &mut CollectorReport) {
    let client = me.client();
    let arn = format!("arn:aws:iam::{}:credential-report", me.scope.account_id);
    let fail = |report: &mut CollectorReport, e: RecordedError| {
        cx.cover(KIND, &me.scope.account_id, "", Some(&e));
        report.summary.errors.push(e);
        if report.summary.status == Some(Status::Complete) {
            report.summary.status = Some(Status::Partial);
        }
    };
    me.limit().await;
    if let Err(e) = client.generate_credential_report().send().await {
        return fail(
            report,
            rec_err("iam:GenerateCredentialReport", &arn, &describe(&e)),
        );
    }
    let mut got = None;
    for _ in 0..ATTEMPTS {
        me.limit().await;
        match client.get_credential_report().send().await {
            Ok(out) => {
                got = Some(out);
                break;
            }
            Err(e) => {
                let f = describe(&e);
                let code = f.code.as_deref().unwrap_or("");
                if code.contains("ReportInProgress") || code.contains("ReportNotPresent") {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                return fail(report, rec_err("iam:GetCredentialReport", &arn, &f));
            }
        }
    }
    let Some(out) = got else {
        let e = RecordedError {
            service: "iam".into(),
            action: "iam:GetCredentialReport".into(),
            resource: arn,
            code: Some("ReportInProgress".into()),
            message: format!("the credential report was not ready after {ATTEMPTS} s"),
        };
        return fail(report, e);
    };
    let csv = out
        .content()
        .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
        .unwrap_or_default();
    let doc = json!({
        "GeneratedTime": out.generated_time().and_then(|t| t.fmt(Format::DateTime).ok()),
        "Rows": parse_csv(&csv),
    });
    let id = ResourceId::new(KIND, &me.scope.account_id, "", ID);
    let stored = cx.put_resource(&id, None, &doc).and_then(|a| {
        cx.put_part(&id, None, "credential_report.csv", csv.as_bytes())
            .map(|b| (a, b))
    });
    match stored {
        Ok((a, b)) => {
            cx.cover(KIND, &me.scope.account_id, "", None);
            for st in [a, b] {
                report.summary.bytes_total += st.size;
                if st.new {
                    report.summary.bytes_new += st.size;
                    report.summary.blobs_new += 1;
                }
            }
            report.summary.counts.insert(
                "credential_report_rows".into(),
                doc["Rows"].as_array().map_or(0, Vec::len) as u64,
            );
        }
        Err(e) => fail(
            report,
            RecordedError {
                service: "iam".into(),
                action: "write".into(),
                resource: id.to_string(),
                code: Some("LocalWriteFailed".into()),
                message: e.to_string(),
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_keyed_by_the_header() {
        let rows = parse_csv(
            "user,arn,access_key_1_active,access_key_1_last_used_date\n\
             <root_account>,arn:aws:iam::1:root,false,N/A\n\
             ci,arn:aws:iam::1:user/ci,true,2026-10-02T00:00:00+00:00\n",
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1]["user"], "ci");
        assert_eq!(rows[1]["access_key_1_active"], "true");
    }
}
