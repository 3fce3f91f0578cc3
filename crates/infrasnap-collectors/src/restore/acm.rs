//! ACM writer: imported certificates, from the snapshot's certificate and chain (part
//! `certificate.pem`) and the private key file the plan names (`--certificate-key`, checked at
//! plan time; apply checked its fingerprint before any step ran). Certificates ACM issued are
//! never planned for writing (they are requested again by people).
//!
//! - Create: ImportCertificate with the certificate, its chain, the key and the tags; ACM gives
//!   it a new ARN. An apply killed after the import finds that certificate again (same body,
//!   same domain) and re-imports into it instead of making a second one.
//! - Update: ImportCertificate into the live ARN (`CertificateArn`), then the tags made exactly
//!   the snapshot's (ACM takes no tags on a re-import).
//! - Delete (`--delete-extra`): DeleteCertificate.

use aws_sdk_acm::primitives::Blob;
use aws_sdk_acm::types::{CertificateStatus, Filters, KeyAlgorithm, Tag};
use aws_sdk_acm::Client;
use infrasnap_core::restore::acm::{id_of_arn, parse_ref_name, split_pem, PEM_PART};
use infrasnap_core::restore::{Action, Step};
use infrasnap_core::secrets::Sensitive;
use serde_json::Value;

use super::{Context, WriteError};

/// The kinds this writer restores.
pub const KINDS: &[&str] = &[infrasnap_core::restore::acm::CERTIFICATE];

fn client(cx: &Context, region: &str) -> Client {
    let conf = aws_sdk_acm::config::Builder::from(&cx.sdk)
        .region(aws_sdk_acm::config::Region::new(region.to_string()))
        .build();
    Client::from_conf(conf)
}

/// The ARN of the certificate a step's target names (its id is the UUID at the end).
fn arn_of(step: &Step) -> String {
    let t = &step.target;
    let partition = if t.region.starts_with("cn-") {
        "aws-cn"
    } else if t.region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    format!(
        "arn:{partition}:acm:{}:{}:certificate/{}",
        t.region, t.account, t.id
    )
}

fn tags_of(doc: &Value) -> Vec<Tag> {
    doc.get("Tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Tag::builder()
                .key(t.get("Key")?.as_str()?)
                .set_value(t.get("Value").and_then(Value::as_str).map(str::to_string))
                .build()
                .ok()
        })
        .collect()
}

/// Write one certificate step.
pub async fn write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    let c = client(cx, &step.target.region);
    let what = step.what();
    if matches!(step.action, Action::Delete) {
        let arn = arn_of(step);
        return match c.delete_certificate().certificate_arn(&arn).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(WriteError::sdk(&format!("acm:DeleteCertificate {arn}"), &e)),
        };
    }
    let doc = cx.document(step)?;
    let domain = doc
        .get("DomainName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let blob = step.parts.get(PEM_PART).ok_or_else(|| {
        WriteError::new(format!(
            "{what}: the plan names no certificate body (part {PEM_PART})"
        ))
    })?;
    let text = std::fs::read_to_string(cx.blob_path(blob))
        .map_err(|e| WriteError::new(format!("{what}: cannot read its certificate body: {e}")))?;
    let (cert, chain) = split_pem(&text).ok_or_else(|| {
        WriteError::new(format!(
            "{what}: the snapshot's certificate.pem holds no certificate"
        ))
    })?;
    let key_file = step.key_file.as_ref().ok_or_else(|| {
        WriteError::new(format!(
            "{what}: the plan names no private key file (--certificate-key)"
        ))
    })?;
    let key = Sensitive::new(std::fs::read(&key_file.path).map_err(|e| {
        WriteError::new(format!(
            "{what}: cannot read the private key file `{}`: {e}",
            key_file.path
        ))
    })?);
    let into = match step.action {
        Action::Update { .. } => Some(arn_of(step)),
        _ => imported_before(&c, &domain, &cert).await?,
    };
    let tags = tags_of(&doc);
    let mut req = c
        .import_certificate()
        .certificate(Blob::new(cert.into_bytes()))
        .private_key(Blob::new(key.expose().clone()))
        .set_certificate_chain(chain.map(|ch| Blob::new(ch.into_bytes())))
        .set_certificate_arn(into.clone());
    if into.is_none() && !tags.is_empty() {
        req = req.set_tags(Some(tags.clone()));
    }
    let out = req
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("acm:ImportCertificate ({what})"), &e))?;
    if let Some(arn) = into.or_else(|| out.certificate_arn().map(str::to_string)) {
        put_tags(&c, &arn, &tags).await?;
    }
    Ok(())
}

/// The id (the UUID its ARN ends with) of the live certificate in `region` that a distribution's
/// reference names ([`infrasnap_core::restore::acm::ref_name`]): of that domain name and serial
/// number (an imported one, imported again), or without a serial the issued one of that domain
/// name that expires last (one requested again).
pub async fn live_certificate(
    cx: &Context,
    region: &str,
    name: &str,
) -> Result<Option<String>, WriteError> {
    let (domain, serial) = parse_ref_name(name);
    let c = client(cx, region);
    let mut best: Option<(String, i64)> = None;
    for arn in arns_of_domain(&c, domain).await? {
        let d = c
            .describe_certificate()
            .certificate_arn(&arn)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("acm:DescribeCertificate {arn}"), &e))?;
        let Some(cert) = d.certificate() else {
            continue;
        };
        let fits = match serial {
            Some(s) => cert.serial() == Some(s),
            None => cert.status() == Some(&CertificateStatus::Issued),
        };
        let until = cert.not_after().map(|t| t.secs()).unwrap_or(i64::MIN);
        if fits && best.as_ref().is_none_or(|(_, u)| until > *u) {
            best = Some((arn.clone(), until));
        }
    }
    Ok(best.and_then(|(arn, _)| id_of_arn(&arn).map(str::to_string)))
}

/// The ARNs of the certificates of `domain` (every key type).
async fn arns_of_domain(c: &Client, domain: &str) -> Result<Vec<String>, WriteError> {
    let mut out = Vec::new();
    let mut next = None;
    loop {
        let r = c
            .list_certificates()
            .includes(all_key_types())
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| WriteError::sdk("acm:ListCertificates", &e))?;
        out.extend(
            r.certificate_summary_list()
                .iter()
                .filter(|s| s.domain_name() == Some(domain))
                .filter_map(|s| s.certificate_arn().map(str::to_string)),
        );
        match r.next_token {
            Some(t) if !t.is_empty() => next = Some(t),
            _ => return Ok(out),
        }
    }
}

/// ListCertificates shows RSA 2048 certificates only unless asked for every key type.
fn all_key_types() -> Filters {
    Filters::builder()
        .set_key_types(Some(
            KeyAlgorithm::values()
                .iter()
                .map(|k| KeyAlgorithm::from(*k))
                .collect(),
        ))
        .build()
}

/// A certificate of `domain` whose body is `cert` (one an earlier, killed run imported).
async fn imported_before(
    c: &Client,
    domain: &str,
    cert: &str,
) -> Result<Option<String>, WriteError> {
    for arn in arns_of_domain(c, domain).await? {
        let got = c
            .get_certificate()
            .certificate_arn(&arn)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("acm:GetCertificate {arn}"), &e))?;
        if got.certificate().map(str::trim) == Some(cert.trim()) {
            return Ok(Some(arn));
        }
    }
    Ok(None)
}

/// Make the certificate's tags exactly `want`.
async fn put_tags(c: &Client, arn: &str, want: &[Tag]) -> Result<(), WriteError> {
    let live = c
        .list_tags_for_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("acm:ListTagsForCertificate {arn}"), &e))?;
    let extra: Vec<Tag> = live
        .tags()
        .iter()
        .filter(|t| !want.iter().any(|w| w.key() == t.key()))
        .cloned()
        .collect();
    if !extra.is_empty() {
        c.remove_tags_from_certificate()
            .certificate_arn(arn)
            .set_tags(Some(extra))
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("acm:RemoveTagsFromCertificate {arn}"), &e))?;
    }
    let missing: Vec<Tag> = want
        .iter()
        .filter(|w| !live.tags().contains(w))
        .cloned()
        .collect();
    if !missing.is_empty() {
        c.add_tags_to_certificate()
            .certificate_arn(arn)
            .set_tags(Some(missing))
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("acm:AddTagsToCertificate {arn}"), &e))?;
    }
    Ok(())
}
