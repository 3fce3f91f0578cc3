//! Capturing ACM: per region of the account scope, and us-east-1 always (CloudFront only uses
//! certificates from there), every certificate (ListCertificates, paged, every key type), its
//! description (DescribeCertificate), tags (ListTagsForCertificate), and its certificate and
//! chain (GetCertificate). Never a private key: ExportCertificate is not called, and a PEM that
//! holds a private key block is refused.
//!
//! Each certificate is a resource `aws.acm.certificate` (id: the certificate id, the UUID at the
//! end of its ARN), placed by the catalog under `acm_certificates/<account>/<region>/`:
//! - `<cert id>.json`: the description and tags, keys sorted, lists sorted, byte-identical across
//!   snapshots of an unchanged certificate;
//! - `<cert id>.pem`: part `certificate.pem`, the certificate, then its chain.
//!
//! Every ListCertificates is reported as coverage, per region. A failed call is recorded with its
//! IAM action and the certificate's ARN, and the rest goes on.

use infrasnap_core::manifest::Table;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_acm::types::{
    CertificateDetail, CertificateStatus, DomainValidation, Filters, KeyAlgorithm, Tag,
};
use aws_sdk_acm::Client;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use futures::{stream, StreamExt};
use infrasnap_core::engine::{CollectorReport, ErrorSink, RunContext, Tally};
use infrasnap_core::ids::ResourceId;
use infrasnap_core::secrets::redact_json;
use infrasnap_core::store::Stored;
use serde_json::Value;

use super::AcmCollector;
use crate::aws::kit::doc::{obj, s, set_of, time as t};
use crate::aws::kit::{sdk_pages, Run, Service};
use crate::aws::sdk_error::{describe, ApiFailure};

const ERR: Service = Service("acm");

/// Certificates worked on at once (per account).
const CERT_CONCURRENCY: usize = 4;
/// "Expiring soon": NotAfter within this many days.
const EXPIRING_SOON_DAYS: i64 = 30;
/// The region CloudFront takes its certificates from.
const CLOUDFRONT_REGION: &str = "us-east-1";
/// The catalog kind of a certificate.
const KIND: &str = "aws.acm.certificate";
/// The part holding the certificate and its chain.
const PEM_PART: &str = "certificate.pem";

fn validation(d: &DomainValidation) -> Value {
    obj(vec![
        ("DomainName", Value::String(d.domain_name().to_string())),
        ("ValidationDomain", s(d.validation_domain())),
        ("ValidationEmails", set_of(d.validation_emails())),
        (
            "ValidationMethod",
            s(d.validation_method().map(|m| m.as_str())),
        ),
        (
            "ValidationStatus",
            s(d.validation_status().map(|m| m.as_str())),
        ),
        (
            "ResourceRecord",
            d.resource_record()
                .map(|r| {
                    obj(vec![
                        ("Name", Value::String(r.name().to_string())),
                        ("Type", Value::String(r.r#type().as_str().to_string())),
                        ("Value", Value::String(r.value().to_string())),
                    ])
                })
                .unwrap_or(Value::Null),
        ),
        (
            "HttpRedirect",
            d.http_redirect()
                .map(|r| {
                    obj(vec![
                        ("RedirectFrom", s(r.redirect_from())),
                        ("RedirectTo", s(r.redirect_to())),
                    ])
                })
                .unwrap_or(Value::Null),
        ),
    ])
}

fn validations(v: &[DomainValidation]) -> Value {
    let mut out: Vec<Value> = v.iter().map(validation).collect();
    out.sort_by_key(|x| x["DomainName"].as_str().unwrap_or("").to_string());
    Value::Array(out)
}

/// The certificate as `<cert id>.json` shows it: the API's field names (PascalCase, as
/// `aws acm describe-certificate` prints them), enums as their wire value, dates RFC 3339 UTC.
pub(crate) fn certificate_json(region: &str, d: &CertificateDetail, tags: &[Tag]) -> Value {
    let mut tag_list: Vec<Value> = tags
        .iter()
        .map(|t| {
            obj(vec![
                ("Key", Value::String(t.key().to_string())),
                ("Value", s(t.value())),
            ])
        })
        .collect();
    tag_list.sort_by_key(|x| x["Key"].as_str().unwrap_or("").to_string());
    let mut key_usages: Vec<String> = d
        .key_usages()
        .iter()
        .filter_map(|k| k.name().map(|n| n.as_str().to_string()))
        .collect();
    key_usages.sort();
    let mut ext: Vec<Value> = d
        .extended_key_usages()
        .iter()
        .map(|k| {
            obj(vec![
                ("Name", s(k.name().map(|n| n.as_str()))),
                ("OID", s(k.oid())),
            ])
        })
        .collect();
    ext.sort_by_key(|x| x.to_string());
    obj(vec![
        ("Region", Value::String(region.to_string())),
        ("CertificateArn", s(d.certificate_arn())),
        ("DomainName", s(d.domain_name())),
        (
            "SubjectAlternativeNames",
            set_of(d.subject_alternative_names()),
        ),
        ("Status", s(d.status().map(|x| x.as_str()))),
        ("Type", s(d.r#type().map(|x| x.as_str()))),
        ("ManagedBy", s(d.managed_by().map(|x| x.as_str()))),
        ("Serial", s(d.serial())),
        ("Subject", s(d.subject())),
        ("Issuer", s(d.issuer())),
        ("CertificateAuthorityArn", s(d.certificate_authority_arn())),
        ("KeyAlgorithm", s(d.key_algorithm().map(|x| x.as_str()))),
        ("SignatureAlgorithm", s(d.signature_algorithm())),
        ("CreatedAt", t(d.created_at())),
        ("IssuedAt", t(d.issued_at())),
        ("ImportedAt", t(d.imported_at())),
        ("RevokedAt", t(d.revoked_at())),
        (
            "RevocationReason",
            s(d.revocation_reason().map(|x| x.as_str())),
        ),
        ("NotBefore", t(d.not_before())),
        ("NotAfter", t(d.not_after())),
        ("InUseBy", set_of(d.in_use_by())),
        ("FailureReason", s(d.failure_reason().map(|x| x.as_str()))),
        (
            "RenewalEligibility",
            s(d.renewal_eligibility().map(|x| x.as_str())),
        ),
        (
            "RenewalSummary",
            d.renewal_summary()
                .map(|r| {
                    obj(vec![
                        (
                            "RenewalStatus",
                            Value::String(r.renewal_status().as_str().to_string()),
                        ),
                        (
                            "RenewalStatusReason",
                            s(r.renewal_status_reason().map(|x| x.as_str())),
                        ),
                        (
                            "DomainValidationOptions",
                            validations(r.domain_validation_options()),
                        ),
                        ("UpdatedAt", t(Some(r.updated_at()))),
                    ])
                })
                .unwrap_or(Value::Null),
        ),
        (
            "DomainValidationOptions",
            validations(d.domain_validation_options()),
        ),
        (
            "KeyUsages",
            Value::Array(key_usages.into_iter().map(Value::String).collect()),
        ),
        ("ExtendedKeyUsages", Value::Array(ext)),
        (
            "Options",
            d.options()
                .map(|o| obj(vec![("Export", s(o.export().map(|x| x.as_str())))]))
                .unwrap_or(Value::Null),
        ),
        (
            "CertificateKeyPairOrigin",
            s(d.certificate_key_pair_origin().map(|x| x.as_str())),
        ),
        ("Tags", Value::Array(tag_list)),
    ])
}

/// `<cert id>.pem`: the certificate, then the chain, each ending in a newline. None when the
/// text holds anything but certificates (a private key must never be written).
pub(crate) fn pem_text(cert: Option<&str>, chain: Option<&str>) -> Option<String> {
    let mut out = String::new();
    for part in [cert, chain].into_iter().flatten() {
        let p = part.trim();
        if p.is_empty() {
            continue;
        }
        out.push_str(p);
        out.push('\n');
    }
    if out.is_empty() || out.contains("PRIVATE KEY") {
        return None;
    }
    Some(out)
}

/// The id at the end of a certificate ARN (`arn:aws:acm:<region>:<account>:certificate/<id>`).
fn cert_id(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

#[derive(Debug, Default)]
struct CertOutcome {
    region: String,
    id: String,
    domain: String,
    status: String,
    not_after: Option<i64>,
    in_use_by: Vec<String>,
    tally: Tally,
}

impl CertOutcome {
    fn count(&mut self, st: &Stored) {
        self.tally.add(st);
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl AcmCollector {
    /// The regions to capture: those of the scope, and us-east-1.
    fn acm_regions(&self) -> Vec<String> {
        let mut r = self.scope.regions.clone();
        r.push(CLOUDFRONT_REGION.to_string());
        r.sort();
        r.dedup();
        r
    }

    fn key_name(&self) -> String {
        use infrasnap_core::engine::Collector;
        self.key()
    }

    pub(super) async fn run_inner(self: Arc<Self>, cx: Arc<RunContext>) -> CollectorReport {
        let run = Run::start(&cx, &self.key_name());
        let (progress, errors) = (run.progress.clone(), run.errors.clone());
        let mut report = CollectorReport::default();
        let regions = self.acm_regions();

        let account = self.scope.account_id.as_str();
        let mut work: Vec<(String, Client, String)> = Vec::new();
        let mut listed_regions = 0usize;
        for region in &regions {
            let client = Client::new(&self.scope.in_region(region));
            match self.list_certificates(&client).await {
                Ok(arns) => {
                    listed_regions += 1;
                    cx.cover(KIND, account, region, None);
                    for a in arns {
                        work.push((region.clone(), client.clone(), a));
                    }
                }
                Err(f) => {
                    let e = ERR.api(
                        "acm:ListCertificates",
                        &format!("arn:aws:acm:{region}:{account}:certificate/*"),
                        &f,
                    );
                    cx.cover(KIND, account, region, Some(&e));
                    errors.record(e);
                }
            }
        }
        progress.add(&progress.units_total, work.len() as u64);

        let mut outcomes: Vec<CertOutcome> = stream::iter(work)
            .map(|(region, client, arn)| {
                let me = self.clone();
                let cx = cx.clone();
                let errors = errors.clone();
                let progress = progress.clone();
                async move {
                    let r = me.certificate(&cx, &client, &region, &arn, &errors).await;
                    progress.add(&progress.units_done, 1);
                    r
                }
            })
            .buffer_unordered(CERT_CONCURRENCY)
            .filter_map(|r| async move { r })
            .collect()
            .await;
        outcomes.sort_by(|a, b| (&a.region, &a.domain, &a.id).cmp(&(&b.region, &b.domain, &b.id)));

        let now = now_secs();
        let soon = now + EXPIRING_SOON_DAYS * 86_400;
        let s = &mut report.summary;
        s.counts
            .insert("certificates".into(), outcomes.len() as u64);
        s.counts.insert(
            "expiring_soon".into(),
            outcomes
                .iter()
                .filter(|o| o.not_after.is_some_and(|n| n >= now && n <= soon))
                .count() as u64,
        );
        for o in &outcomes {
            o.tally.add_to(s);
        }
        run.finish(s, listed_regions == 0 && !regions.is_empty());
        report.regions = regions;

        let mut t = Table::new(&["Domain", "Region", "Status", "Expires", "In use by"]);
        for o in &outcomes {
            let expires = o
                .not_after
                .and_then(|n| DateTime::from_secs(n).fmt(Format::DateTime).ok())
                .map(|d| d.get(..10).unwrap_or(&d).to_string())
                .unwrap_or_else(|| "-".into());
            let soon_mark = if o.not_after.is_some_and(|n| n >= now && n <= soon) {
                " (soon)"
            } else {
                ""
            };
            let used = if o.in_use_by.is_empty() {
                "-".to_string()
            } else {
                o.in_use_by.join(", ")
            };
            t.row(vec![
                o.domain.to_string(),
                o.region.to_string(),
                o.status.to_string(),
                format!("{expires}{soon_mark}"),
                used,
            ]);
        }
        report.manifest.table(t);
        report
    }

    async fn list_certificates(&self, client: &Client) -> Result<Vec<String>, ApiFailure> {
        // ListCertificates returns only RSA_2048 certificates unless told every key type.
        let includes = Filters::builder()
            .set_key_types(Some(
                KeyAlgorithm::values()
                    .iter()
                    .map(|k| KeyAlgorithm::from(*k))
                    .collect(),
            ))
            .build();
        let mut out: Vec<String> = sdk_pages!(
            &self.limits.acm,
            "ACM certificates",
            |t| client
                .list_certificates()
                .includes(includes.clone())
                .set_next_token(t),
            |r| (r.certificate_summary_list.unwrap_or_default(), r.next_token)
        )
        .await?
        .into_iter()
        .filter_map(|c| c.certificate_arn)
        .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    async fn certificate(
        &self,
        cx: &Arc<RunContext>,
        client: &Client,
        region: &str,
        arn: &str,
        errors: &Arc<ErrorSink>,
    ) -> Option<CertOutcome> {
        self.limits.acm.acquire().await;
        let detail = match client
            .describe_certificate()
            .certificate_arn(arn)
            .send()
            .await
        {
            Ok(r) => r.certificate?,
            Err(e) => {
                let f = describe(&e);
                // Deleted since it was listed: not an error.
                if !f.code_in(&["ResourceNotFoundException"]) {
                    errors.record(ERR.api("acm:DescribeCertificate", arn, &f));
                }
                return None;
            }
        };
        let id = cert_id(arn);
        let rid = ResourceId::new(KIND, &self.scope.account_id, region, &id);
        let mut out = CertOutcome {
            region: region.to_string(),
            id: id.clone(),
            domain: detail.domain_name().unwrap_or("?").to_string(),
            status: detail
                .status()
                .map(|x| x.as_str().to_string())
                .unwrap_or_else(|| "?".into()),
            not_after: detail.not_after().map(|d| d.secs()),
            in_use_by: {
                let mut v = detail.in_use_by().to_vec();
                v.sort();
                v
            },
            ..Default::default()
        };

        let mut unreadable: Vec<Value> = Vec::new();
        let tags = match self.tags(client, arn).await {
            Ok(t) => t,
            Err(f) => {
                errors.record(ERR.api("acm:ListTagsForCertificate", arn, &f));
                unreadable.push(obj(vec![
                    ("Field", "Tags".into()),
                    ("Action", "acm:ListTagsForCertificate".into()),
                    ("Code", s(f.code.as_deref())),
                ]));
                Vec::new()
            }
        };

        // Only an issued (or since expired or unused) certificate has a body to read.
        let has_body = matches!(
            detail.status(),
            Some(
                CertificateStatus::Issued
                    | CertificateStatus::Expired
                    | CertificateStatus::Inactive
            )
        );
        let mut pem: Option<String> = None;
        if has_body {
            self.limits.acm.acquire().await;
            match client.get_certificate().certificate_arn(arn).send().await {
                Ok(r) => {
                    pem = pem_text(r.certificate(), r.certificate_chain());
                    if pem.is_none() && (r.certificate().is_some()) {
                        errors.record(ERR.api(
                            "acm:GetCertificate",
                            arn,
                            &ApiFailure::new("UnexpectedContent", "GetCertificate returned something other than certificates; not written"),
                        ));
                    }
                }
                Err(e) => {
                    let f = describe(&e);
                    if !f.code_in(&["RequestInProgressException", "ResourceNotFoundException"]) {
                        errors.record(ERR.api("acm:GetCertificate", arn, &f));
                        unreadable.push(obj(vec![
                            ("Field", "Certificate".into()),
                            ("Action", "acm:GetCertificate".into()),
                            ("Code", s(f.code.as_deref())),
                        ]));
                    }
                }
            }
        }

        let mut json = certificate_json(region, &detail, &tags);
        if !unreadable.is_empty() {
            if let Value::Object(m) = &mut json {
                m.insert("Unreadable".into(), Value::Array(unreadable));
            }
        }
        redact_json(&mut json, cx.fingerprinter());
        match cx.put_resource(&rid, None, &json) {
            Ok(st) => out.count(&st),
            Err(e) => errors.record(ERR.local(arn, e)),
        }
        if json.get("Unreadable").is_some() {
            // A call about it failed: its content is not comparable with another snapshot's.
            cx.mark_incomplete(&rid);
        }
        if let Some(p) = pem {
            match cx.put_part(&rid, None, PEM_PART, p.as_bytes()) {
                Ok(st) => out.count(&st),
                Err(e) => errors.record(ERR.local(arn, e)),
            }
        }
        Some(out)
    }

    async fn tags(&self, client: &Client, arn: &str) -> Result<Vec<Tag>, ApiFailure> {
        self.limits.acm.acquire().await;
        let r = client
            .list_tags_for_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        Ok(r.tags().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_with_a_private_key_is_refused() {
        let c = "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_text(Some(c), Some(c)).unwrap(), format!("{}{}", c, c));
        let k = &format!(
            "-----BEGIN RSA {0}-----\nAAA\n-----END RSA {0}-----",
            "PRIVATE KEY"
        );
        assert!(pem_text(Some(c), Some(k)).is_none());
        assert!(pem_text(None, None).is_none());
    }

    #[test]
    fn cert_id_is_the_arn_tail() {
        assert_eq!(
            cert_id("arn:aws:acm:us-east-1:123456789012:certificate/abc-123"),
            "abc-123"
        );
    }
}
