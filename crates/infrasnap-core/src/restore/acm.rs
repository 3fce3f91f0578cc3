//! ACM certificates in a restore plan. The snapshot keeps a certificate's description and its
//! certificate and chain (part `certificate.pem`), never a private key:
//! - an imported certificate comes back only with the user's own copy of its key
//!   (`--certificate-key ARN_OR_DOMAIN=FILE`): at plan time the key file must be a PEM private key
//!   whose public key is the certificate's ([`check_key`]); the plan keeps only the file's path
//!   and a keyed fingerprint of its content ([`KeyFile`]), and apply reads the file again;
//! - without a key it is listed for people, naming the option; a certificate ACM issued is
//!   listed as "re-request", with its names and validation method ([`manual_reason`]).
//!
//! Pure: no SDK, no network. The writer is `infrasnap-collectors` `restore/acm.rs`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::RestoreError;
use crate::catalog::CatalogRecord;
use crate::diff::Side;
use crate::secrets::Sensitive;

/// The kind of a certificate.
pub const CERTIFICATE: &str = "aws.acm.certificate";
/// The part with the certificate, then its chain.
pub const PEM_PART: &str = "certificate.pem";

/// Members a certificate imported again gets anew (restore leaves them out of its hash): its ARN
/// and stamps, and who uses it (the resources that used the old one point at the old ARN).
pub const IDENTITY: &[&str] = &[
    "/CertificateArn",
    "/CreatedAt",
    "/ImportedAt",
    "/InUseBy",
    "/RenewalEligibility",
];

/// The private key of an imported certificate as the plan keeps it: where it is, and a keyed
/// fingerprint of its content (so apply refuses a file that changed since planning). Never the key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyFile {
    /// The key file's path, absolute.
    pub path: String,
    /// `fp:...` of the file's bytes, keyed with the repository's fingerprint key.
    pub fingerprint: String,
}

/// A `--certificate-key SELECTOR=FILE` as given and read: the selector is a certificate ARN, its
/// id (the UUID at the end of the ARN) or its domain name.
#[derive(Debug, Clone)]
pub struct CertificateKey {
    pub selector: String,
    pub file: KeyFile,
    /// The file's content.
    pub pem: Sensitive<Vec<u8>>,
}

/// Split `ARN_OR_DOMAIN=FILE` (at the last `=`: ARNs hold none, a file name might not).
pub fn parse_key_arg(s: &str) -> Result<(String, PathBuf), String> {
    match s.rsplit_once('=') {
        Some((sel, file)) if !sel.is_empty() && !file.is_empty() => {
            Ok((sel.to_string(), PathBuf::from(file)))
        }
        _ => Err(format!(
            "`{s}`: expected ARN_OR_DOMAIN=FILE (a certificate ARN, id or domain name, then the \
             PEM file of its private key)"
        )),
    }
}

fn text<'a>(doc: &'a Value, member: &str) -> &'a str {
    doc.get(member).and_then(Value::as_str).unwrap_or_default()
}

/// Whether the certificate was imported (not issued by ACM or a private CA).
pub fn is_imported(doc: &Value) -> bool {
    text(doc, "Type") == "IMPORTED"
}

/// Whether a `--certificate-key` selector names this certificate.
pub fn selects(selector: &str, rec: &CatalogRecord, doc: &Value) -> bool {
    selector == rec.id.id
        || selector == text(doc, "CertificateArn")
        || selector.eq_ignore_ascii_case(text(doc, "DomainName"))
}

/// The key given for an imported certificate, checked against the snapshot's certificate: the
/// plan's [`KeyFile`], `None` when no key names it; an error naming the certificate and the file
/// when the key does not belong to it.
pub fn plan_key(
    snapshot: &Side,
    rec: &CatalogRecord,
    doc: &Value,
    keys: &[CertificateKey],
) -> Result<Option<KeyFile>, RestoreError> {
    let Some(k) = keys.iter().find(|k| selects(&k.selector, rec, doc)) else {
        return Ok(None);
    };
    let arn = text(doc, "CertificateArn");
    let bad = |why: String| {
        RestoreError::Key(format!(
            "--certificate-key {}={}: {why} (certificate {arn}, {})",
            k.selector,
            k.file.path,
            text(doc, "DomainName")
        ))
    };
    if !is_imported(doc) {
        return Err(bad(format!(
            "the certificate was not imported (its type is {}): ACM keeps its key, so it cannot \
             be imported again; request it again instead",
            text(doc, "Type")
        )));
    }
    let Some(blob) = rec.parts.get(PEM_PART).and_then(|p| p.blob) else {
        return Err(bad(
            "the snapshot has no certificate body for it (part certificate.pem)".into(),
        ));
    };
    let pem = snapshot.read_blob(&blob)?;
    check_key(&pem, k.pem.expose()).map_err(bad)?;
    Ok(Some(k.file.clone()))
}

/// `--certificate-key` selectors that name no imported certificate of `selected`.
pub fn unused<'k>(
    keys: &'k [CertificateKey],
    snapshot: &Side,
    selected: &[&CatalogRecord],
) -> Result<Vec<&'k CertificateKey>, RestoreError> {
    let mut docs = Vec::new();
    for r in selected.iter().filter(|r| r.id.kind == CERTIFICATE) {
        docs.push((*r, snapshot.doc(r)?));
    }
    Ok(keys
        .iter()
        .filter(|k| !docs.iter().any(|(r, d)| selects(&k.selector, r, d)))
        .collect())
}

/// Why a certificate is not restored automatically (an imported one without its key; one ACM or
/// a private CA issued): what to do instead.
pub fn manual_reason(doc: &Value) -> String {
    let arn = text(doc, "CertificateArn");
    let domain = text(doc, "DomainName");
    let mut names: Vec<&str> = doc
        .get("SubjectAlternativeNames")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|n| *n != domain)
        .collect();
    names.sort();
    if is_imported(doc) {
        return format!(
            "an imported certificate ({domain}): its private key is never captured; pass your \
             copy of the key to restore it (--certificate-key {arn}=key.pem; the certificate and \
             its chain come from the snapshot), then restore what uses it"
        );
    }
    if text(doc, "Type") == "PRIVATE" {
        return format!(
            "a private certificate ({domain}): issue it again from its private CA {} (aws acm \
             request-certificate --certificate-authority-arn ...), then restore what uses it",
            text(doc, "CertificateAuthorityArn")
        );
    }
    let mut methods: Vec<&str> = doc
        .get("DomainValidationOptions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| o.get("ValidationMethod").and_then(Value::as_str))
        .collect();
    methods.sort();
    methods.dedup();
    let method = methods.first().copied().unwrap_or("DNS");
    format!(
        "re-request: ACM keeps the private key of a certificate it issued, so request it again \
         for {domain}{} with {method} validation (aws acm request-certificate --domain-name \
         {domain}{} --validation-method {method}){}, then point what used {arn} at the new ARN",
        if names.is_empty() {
            String::new()
        } else {
            format!(" and {}", names.join(", "))
        },
        if names.is_empty() {
            String::new()
        } else {
            format!(" --subject-alternative-names {}", names.join(" "))
        },
        if method == "DNS" {
            "; its DNS validation records come back with the Route53 zone"
        } else {
            ""
        }
    )
}

/// The region whose certificates CloudFront uses.
pub const CLOUDFRONT_REGION: &str = "us-east-1";

/// How a distribution's reference to a certificate is named, so that restore finds it again
/// live under a new ARN: an imported certificate by its domain name and serial number (importing
/// it again keeps both), one ACM or a private CA issued by its domain name alone (requested again,
/// it has a new serial). See [`parse_ref_name`].
pub fn ref_name(doc: &Value) -> Option<String> {
    let domain = text(doc, "DomainName");
    if domain.is_empty() {
        return None;
    }
    let serial = text(doc, "Serial");
    Some(if is_imported(doc) && !serial.is_empty() {
        format!("{domain} serial={serial}")
    } else {
        domain.to_string()
    })
}

/// A [`ref_name`]: the domain name, and the serial number when the certificate must be that one.
pub fn parse_ref_name(name: &str) -> (&str, Option<&str>) {
    match name.split_once(" serial=") {
        Some((d, s)) => (d, Some(s)),
        None => (name, None),
    }
}

/// The id of a certificate (the UUID at the end of its ARN).
pub fn id_of_arn(arn: &str) -> Option<&str> {
    arn.rsplit_once(":certificate/")
        .map(|(_, id)| id)
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

/// A certificate imported again gets a new ARN: the distributions and API Gateway domain names
/// of the snapshot that name the old one, which must be pointed at the new one, except the
/// distributions in `repointed` (steps of this plan that name it by its new ARN). `None` when
/// nothing is left for people.
pub fn follow_up(
    snapshot: &Side,
    doc: &Value,
    repointed: &[crate::ids::ResourceId],
) -> Result<Option<String>, RestoreError> {
    let arn = text(doc, "CertificateArn");
    let mut users = Vec::new();
    for r in snapshot.catalog.records.iter().filter(|r| {
        matches!(
            r.id.kind.as_str(),
            "aws.cloudfront.distribution"
                | "aws.apigateway.domain_name"
                | "aws.apigatewayv2.domain_name"
                | "aws.elbv2.listener"
        ) && !repointed.contains(&r.id)
    }) {
        if !arn.is_empty() && snapshot.doc(r)?.to_string().contains(arn) {
            users.push(r.id.to_string());
        }
    }
    if users.is_empty() && !repointed.is_empty() {
        return Ok(None);
    }
    let who = if users.is_empty() {
        "nothing else in this snapshot names it".to_string()
    } else {
        format!("these name it: {}", users.join(", "))
    };
    Ok(Some(format!(
        "follow-up after apply: the certificate is imported anew under a new ARN (it was {arn}); \
         {}whatever else used the old ARN must be pointed at the new one (aws acm \
         list-certificates): {who}",
        if repointed.is_empty() {
            String::new()
        } else {
            format!(
                "the distributions this plan writes are pointed at it ({}); ",
                repointed
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    )))
}

/// The note of a step that imports a certificate anew.
pub fn created_note(doc: &Value) -> String {
    format!(
        "imported anew: ACM gives it a new ARN (the snapshot's was {}); distributions this plan \
         writes are pointed at the new one, anything else that named the old ARN is listed in \
         the follow-up",
        text(doc, "CertificateArn")
    )
}

/// After apply: each certificate the plan imported anew, with its new ARN (read from the live
/// state apply captured), for the follow-up.
pub fn apply_notes(plan: &super::RestorePlan, live: &Side) -> Result<Vec<String>, RestoreError> {
    let mut out = Vec::new();
    for s in plan.writing_steps().filter(|s| {
        s.target.kind == CERTIFICATE && matches!(s.action, super::Action::Create { .. })
    }) {
        let Some(want) = &s.want else { continue };
        for r in live.catalog.records.iter().filter(|r| {
            r.id.kind == CERTIFICATE
                && r.id.account == s.target.account
                && r.id.region == s.target.region
                && r.id.id != s.target.id
        }) {
            if super::plan::resource_hash(live, r)? == *want {
                let doc = live.doc(r)?;
                out.push(format!(
                    "certificate {} imported again as {} (was certificate/{}): the \
                     distributions this plan wrote use it; point anything else that used the \
                     old ARN at the new one",
                    text(&doc, "DomainName"),
                    text(&doc, "CertificateArn"),
                    s.target.id
                ));
                break;
            }
        }
    }
    Ok(out)
}

/// The certificate (the first PEM block) and its chain (the other blocks) of a
/// `certificate.pem` part.
pub fn split_pem(text: &str) -> Option<(String, Option<String>)> {
    const END: &str = "-----END CERTIFICATE-----";
    let at = text.find(END)? + END.len();
    let cert = format!("{}\n", text[..at].trim());
    let chain = text[at..].trim();
    Some((cert, (!chain.is_empty()).then(|| format!("{chain}\n"))))
}

/// A public key as the certificate and the private key both state it.
#[derive(Debug, PartialEq)]
enum PublicKey {
    /// Modulus and public exponent (big-endian, without leading zeros).
    Rsa(Vec<u8>, Vec<u8>),
    /// The encoded point.
    Ec(Vec<u8>),
}

/// `rsaEncryption`, 1.2.840.113549.1.1.1.
const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// `id-ecPublicKey`, 1.2.840.10045.2.1.
const EC_OID: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/// The PEM blocks of a text: (label, DER bytes). `None` when a block is not base64 (or carries
/// headers: an old-style encrypted key).
fn pem_blocks(text: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    use base64::Engine;
    let text = std::str::from_utf8(text).ok()?;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("-----BEGIN ") {
        let after = &rest[at + 11..];
        let label_end = after.find("-----")?;
        let label = after[..label_end].to_string();
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let end = body_start.find(&end_marker)?;
        let body = &body_start[..end];
        if body.contains(':') {
            return None;
        }
        let b64: String = body.split_whitespace().collect();
        let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        out.push((label, der));
        rest = &body_start[end + end_marker.len()..];
    }
    Some(out)
}

/// One DER element: its tag and content.
#[derive(Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    body: &'a [u8],
}

/// The first DER element of `b`, and what follows it.
fn tlv(b: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&first, b) = b.split_first()?;
    let (len, b) = if first < 0x80 {
        (usize::from(first), b)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || b.len() < n {
            return None;
        }
        let len = b[..n]
            .iter()
            .fold(0usize, |a, &x| (a << 8) | usize::from(x));
        (len, &b[n..])
    };
    (b.len() >= len).then(|| {
        (
            Tlv {
                tag,
                body: &b[..len],
            },
            &b[len..],
        )
    })
}

/// The elements inside a constructed element's content.
fn items(mut b: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let (t, rest) = tlv(b)?;
        out.push(t);
        b = rest;
    }
    Some(out)
}

/// The content of a SEQUENCE that is all of `b`, as its elements.
fn sequence(b: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let (t, _) = tlv(b)?;
    (t.tag == 0x30).then_some(())?;
    items(t.body)
}

fn integer(t: Option<&Tlv<'_>>) -> Option<Vec<u8>> {
    let t = t.filter(|t| t.tag == 0x02)?;
    let i = t.body.iter().position(|&x| x != 0).unwrap_or(t.body.len());
    Some(t.body[i..].to_vec())
}

/// The algorithm OID of an AlgorithmIdentifier.
fn algorithm<'a>(t: Option<&Tlv<'a>>) -> Option<&'a [u8]> {
    let t = t.filter(|t| t.tag == 0x30)?;
    let (oid, _) = tlv(t.body)?;
    (oid.tag == 0x06).then_some(oid.body)
}

/// Check that `key_pem` is a PEM private key whose public key is that of the first certificate
/// of `cert_pem`. The error says what is wrong, never the key.
pub fn check_key(cert_pem: &[u8], key_pem: &[u8]) -> Result<(), String> {
    let certs = pem_blocks(cert_pem).ok_or("the snapshot's certificate.pem is not PEM")?;
    let cert = certs
        .iter()
        .find(|(l, _)| l == "CERTIFICATE")
        .ok_or("the snapshot's certificate.pem holds no certificate")?;
    let want = cert_key(&cert.1).ok_or("the snapshot's certificate could not be read (DER)")?;
    let blocks = pem_blocks(key_pem).ok_or_else(not_a_key)?;
    let (label, der) = blocks
        .iter()
        .find(|(l, _)| l.ends_with("PRIVATE KEY"))
        .ok_or_else(not_a_key)?;
    let got = match label.as_str() {
        "RSA PRIVATE KEY" => rsa_private(der),
        "EC PRIVATE KEY" => ec_private(der),
        "PRIVATE KEY" => pkcs8(der),
        "ENCRYPTED PRIVATE KEY" => {
            return Err(
                "the key is encrypted; ACM imports an unencrypted key: write one with \
                        `openssl pkey -in KEY -out plain.pem`"
                    .into(),
            )
        }
        other => {
            return Err(format!(
                "`{other}` is not a key type ACM imports (RSA or EC)"
            ))
        }
    }?;
    if got != want {
        return Err(
            "the private key does not belong to this certificate (its public key \
                    differs from the certificate's)"
                .into(),
        );
    }
    Ok(())
}

fn not_a_key() -> String {
    "not a PEM private key (expected a PEM block `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE \
     KEY`, unencrypted)"
        .into()
}

/// The public key in a certificate's SubjectPublicKeyInfo.
fn cert_key(der: &[u8]) -> Option<PublicKey> {
    let cert = sequence(der)?;
    let tbs = items(cert.first().filter(|t| t.tag == 0x30)?.body)?;
    // [0] version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo.
    let skip = usize::from(tbs.first()?.tag == 0xa0);
    let spki = items(tbs.get(skip + 5).filter(|t| t.tag == 0x30)?.body)?;
    let bits = spki.get(1).filter(|t| t.tag == 0x03)?.body;
    match algorithm(spki.first())? {
        RSA_OID => {
            let k = sequence(bits.get(1..)?)?;
            Some(PublicKey::Rsa(integer(k.first())?, integer(k.get(1))?))
        }
        EC_OID => Some(PublicKey::Ec(bits.to_vec())),
        _ => None,
    }
}

/// PKCS#1 `RSAPrivateKey`: version, modulus, public exponent, ...
fn rsa_private(der: &[u8]) -> Result<PublicKey, String> {
    let k = sequence(der).ok_or("the RSA private key could not be read (DER)")?;
    match (integer(k.get(1)), integer(k.get(2))) {
        (Some(n), Some(e)) => Ok(PublicKey::Rsa(n, e)),
        _ => Err("the RSA private key could not be read (DER)".into()),
    }
}

/// SEC1 `ECPrivateKey`: version, private key, [0] parameters, [1] public key.
fn ec_private(der: &[u8]) -> Result<PublicKey, String> {
    let k = sequence(der).ok_or("the EC private key could not be read (DER)")?;
    k.iter()
        .find(|t| t.tag == 0xa1)
        .and_then(|t| tlv(t.body))
        .filter(|(b, _)| b.tag == 0x03)
        .map(|(b, _)| PublicKey::Ec(b.body.to_vec()))
        .ok_or_else(|| {
            "the EC private key does not carry its public key, so it cannot be checked against \
             the certificate: write it with `openssl ec -in KEY -out key.pem`"
                .into()
        })
}

/// PKCS#8 `PrivateKeyInfo`: version, algorithm, the key (PKCS#1 or SEC1).
fn pkcs8(der: &[u8]) -> Result<PublicKey, String> {
    let bad = || "the private key could not be read (DER)".to_string();
    let k = sequence(der).ok_or_else(bad)?;
    let inner = k.get(2).filter(|t| t.tag == 0x04).ok_or_else(bad)?.body;
    match algorithm(k.get(1)) {
        Some(RSA_OID) => rsa_private(inner),
        Some(EC_OID) => ec_private(inner),
        _ => Err("the key is neither RSA nor EC, which is all ACM imports".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_imported_certificate_is_found_again_by_domain_and_serial_an_issued_one_by_domain() {
        let imported = serde_json::json!({"DomainName": "shop.example.com", "Type": "IMPORTED", "Serial": "0a:1b"});
        let name = ref_name(&imported).unwrap();
        assert_eq!(name, "shop.example.com serial=0a:1b");
        assert_eq!(parse_ref_name(&name), ("shop.example.com", Some("0a:1b")));
        let issued = serde_json::json!({"DomainName": "shop.example.com", "Type": "AMAZON_ISSUED", "Serial": "77"});
        assert_eq!(ref_name(&issued).unwrap(), "shop.example.com");
        assert_eq!(
            parse_ref_name("shop.example.com"),
            ("shop.example.com", None)
        );
        assert_eq!(ref_name(&serde_json::json!({"Type": "IMPORTED"})), None);
        assert_eq!(
            id_of_arn("arn:aws:acm:us-east-1:123456789012:certificate/ab-12"),
            Some("ab-12")
        );
        assert_eq!(
            id_of_arn("arn:aws:iam::123456789012:server-certificate/x"),
            None
        );
    }

    /// Certificates and keys made at run time by the `openssl` CLI (never a key in the
    /// repository): `ec.pem` with `ec.key` (PKCS#8) and `ec_sec1.key` (SEC1), another EC key
    /// `ec2.key`, `rsa.pem` with `rsa.key` (PKCS#8) and `rsa1.key` (PKCS#1).
    fn made(name: &str) -> String {
        static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
        let dir = DIR.get_or_init(|| {
            let d = tempfile::tempdir().unwrap();
            let run = |args: &[&str]| {
                let o = std::process::Command::new("openssl")
                    .current_dir(d.path())
                    .args(args)
                    .output()
                    .expect("the openssl CLI");
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            };
            let subj = ["-days", "1", "-nodes", "-subj", "/CN=example.com"];
            run(&[
                &["req", "-x509", "-newkey", "ec", "-pkeyopt"][..],
                &[
                    "ec_paramgen_curve:prime256v1",
                    "-keyout",
                    "ec.key",
                    "-out",
                    "ec.pem",
                ],
                &subj,
            ]
            .concat());
            run(&["ec", "-in", "ec.key", "-out", "ec_sec1.key"]);
            run(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-out",
                "ec2.key",
            ]);
            run(&[
                &["req", "-x509", "-newkey", "rsa:2048"][..],
                &["-keyout", "rsa.key", "-out", "rsa.pem"],
                &subj,
            ]
            .concat());
            run(&["rsa", "-in", "rsa.key", "-traditional", "-out", "rsa1.key"]);
            d
        });
        std::fs::read_to_string(dir.path().join(name)).unwrap()
    }

    #[rstest::rstest]
    #[case::ec_pkcs8("ec.pem", "ec.key")]
    #[case::ec_sec1("ec.pem", "ec_sec1.key")]
    #[case::rsa_pkcs8("rsa.pem", "rsa.key")]
    #[case::rsa_pkcs1("rsa.pem", "rsa1.key")]
    fn a_key_of_the_certificate_matches(#[case] cert: &str, #[case] key: &str) {
        check_key(made(cert).as_bytes(), made(key).as_bytes()).unwrap();
    }

    #[rstest::rstest]
    #[case::other_ec_key("ec.pem", Some("ec2.key"), "does not belong")]
    #[case::rsa_key_for_ec("ec.pem", Some("rsa.key"), "does not belong")]
    #[case::ec_key_for_rsa("rsa.pem", Some("ec_sec1.key"), "does not belong")]
    #[case::a_certificate("ec.pem", Some("ec.pem"), "not a PEM private key")]
    #[case::not_pem("ec.pem", None, "not a PEM private key")]
    fn a_wrong_key_is_refused(#[case] cert: &str, #[case] key: Option<&str>, #[case] why: &str) {
        let key = key.map(made).unwrap_or_else(|| "hello".into());
        let e = check_key(made(cert).as_bytes(), key.as_bytes()).unwrap_err();
        assert!(e.contains(why), "{e}");
        assert!(!e.contains("BEGIN"), "{e}");
    }

    #[test]
    fn the_chain_is_what_follows_the_first_certificate() {
        let (ec, rsa) = (made("ec.pem"), made("rsa.pem"));
        let two = format!("{ec}{rsa}");
        let (cert, chain) = split_pem(&two).unwrap();
        assert_eq!(cert, ec);
        assert_eq!(chain.as_deref(), Some(rsa.as_str()));
        assert_eq!(split_pem(&ec).unwrap().1, None);
    }

    #[test]
    fn the_selector_is_split_at_the_last_equals_sign() {
        assert_eq!(
            parse_key_arg("example.com=/k/key.pem").unwrap(),
            ("example.com".into(), PathBuf::from("/k/key.pem"))
        );
        assert!(parse_key_arg("key.pem").is_err());
        assert!(parse_key_arg("=key.pem").is_err());
    }

    #[test]
    fn a_requested_certificate_is_re_requested_with_its_names_and_method() {
        let doc = serde_json::json!({
            "CertificateArn": "arn:aws:acm:us-east-1:1:certificate/x",
            "DomainName": "example.com",
            "SubjectAlternativeNames": ["example.com", "www.example.com"],
            "Type": "AMAZON_ISSUED",
            "DomainValidationOptions": [{"DomainName": "example.com", "ValidationMethod": "DNS"}],
        });
        let r = manual_reason(&doc);
        assert!(r.starts_with("re-request"), "{r}");
        assert!(
            r.contains("--subject-alternative-names www.example.com"),
            "{r}"
        );
        assert!(r.contains("--validation-method DNS"), "{r}");
        let imported =
            serde_json::json!({"Type": "IMPORTED", "DomainName": "a", "CertificateArn": "arn:x"});
        assert!(manual_reason(&imported).contains("--certificate-key arn:x=key.pem"));
    }
}
