//! ACM and SES end to end: the real binary against moto, `--only acm,ses --regions eu-west-1`.
//! ACM: a certificate in eu-west-1 and one in us-east-1 (captured although only eu-west-1 was
//! asked, since CloudFront takes its certificates from there), none from a third region; each
//! description asserted field by field, each PEM a certificate chain without a private key.
//! SES: an email and a domain identity (tags, policy), configuration sets with an event
//! destination (v1 in moto), a template (v1 in moto), the account status (GetAccount is a 404
//! in moto: recorded as not available, not an error). The catalog lists each certificate by its
//! id and each SES resource by its name, with complete coverage per region. A second unchanged
//! snapshot adds no blob and gives every resource the same digest.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use common::sdk_conf as conf;
use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn request_cert(
    c: &aws_sdk_acm::Client,
    domain: &str,
    sans: &[&str],
    tags: &[(&str, &str)],
) -> String {
    let mut req = c
        .request_certificate()
        .domain_name(domain)
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns);
    for s in sans {
        req = req.subject_alternative_names(*s);
    }
    for (k, v) in tags {
        req = req.tags(
            aws_sdk_acm::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .unwrap(),
        );
    }
    req.send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_string()
}

/// A self-signed certificate and its key that expire in `days` days, by the `openssl` CLI; None
/// (with a note) when it is not installed.
fn self_signed(cn: &str, days: u32) -> Option<(Vec<u8>, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    let o = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
        .arg(&k)
        .arg("-out")
        .arg(&c)
        .args(["-days", &days.to_string(), "-subj", &format!("/CN={cn}")])
        .args(["-addext", &format!("subjectAltName=DNS:{cn}")])
        .output();
    match o {
        Ok(o) if o.status.success() => Some((std::fs::read(c).unwrap(), std::fs::read(k).unwrap())),
        _ => {
            eprintln!("NOTE: openssl is not available; not importing an expiring certificate");
            None
        }
    }
}

/// moto's account.
const ACCOUNT: &str = "123456789012";

/// The catalog's records by id text (`kind:account:region:id`).
fn resources(snap: &Path) -> BTreeMap<String, Value> {
    catalog_file(snap, "resources")
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r))
        .collect()
}

/// The ids (`kind:account:region:id`) of the resources of the source's kinds (`aws.acm.`).
fn ids_of(res: &BTreeMap<String, Value>, prefix: &str) -> Vec<String> {
    res.keys()
        .filter(|k| k.starts_with(prefix))
        .cloned()
        .collect()
}

/// `(kind, region, state)` of every coverage line of kinds starting with `prefix`, sorted.
fn coverage_of(snap: &Path, prefix: &str) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = catalog_file(snap, "coverage")
        .into_iter()
        .filter(|c| c["kind"].as_str().unwrap().starts_with(prefix))
        .map(|c| {
            assert_eq!(c["account"], ACCOUNT, "{c:#}");
            (
                c["kind"].as_str().unwrap().to_string(),
                c["region"].as_str().unwrap().to_string(),
                c["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn cert_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap()
}

/// moto 5.2.5 answers SESv2 GetConfigurationSet with `"SendingOptions": {"SendingEnabled":
/// {...}}` (an object where SES sends a boolean), which the official SDK rightly refuses. A
/// loopback proxy in front of moto bridges that on the wire (as the emulator's own fixups do
/// for S3), so product code stays written for real SES: the nested object becomes its inner
/// boolean, or `true` (SES's default) when it is empty. Every other request is relayed as is.
/// One request per connection (`Connection: close`).
async fn ses_fixup_proxy(upstream: &str) -> String {
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Some((head, body)) = read_message(&mut client, true).await else {
                    return;
                };
                let mut first = head.lines().next().unwrap_or("").split(' ');
                let method = first.next().unwrap_or("").to_string();
                let path = first.next().unwrap_or("").to_string();
                let fix = method == "GET"
                    && path
                        .split('?')
                        .next()
                        .unwrap_or("")
                        .strip_prefix("/v2/email/configuration-sets/")
                        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
                let mut new_head: String = head
                    .trim_end_matches("\r\n")
                    .split("\r\n")
                    .filter(|l| {
                        let l = l.to_ascii_lowercase();
                        !l.starts_with("connection:") && !l.starts_with("keep-alive:")
                    })
                    .collect::<Vec<_>>()
                    .join("\r\n");
                new_head.push_str("\r\nConnection: close\r\n\r\n");
                let Ok(mut up) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                if up.write_all(new_head.as_bytes()).await.is_err()
                    || up.write_all(&body).await.is_err()
                {
                    return;
                }
                if !fix {
                    let _ = tokio::io::copy(&mut up, &mut client).await;
                    let _ = client.shutdown().await;
                    return;
                }
                let Some((rhead, rbody)) = read_message(&mut up, false).await else {
                    return;
                };
                let rbody = match serde_json::from_slice::<Value>(&rbody) {
                    Ok(mut v) => {
                        if let Some(se) = v.pointer_mut("/SendingOptions/SendingEnabled") {
                            if let Value::Object(inner) = se {
                                let b = inner
                                    .get("SendingEnabled")
                                    .and_then(Value::as_bool)
                                    .unwrap_or(true);
                                *se = Value::Bool(b);
                            }
                        }
                        serde_json::to_vec(&v).unwrap()
                    }
                    Err(_) => rbody,
                };
                let mut out: String = rhead
                    .trim_end_matches("\r\n")
                    .split("\r\n")
                    .filter(|l| {
                        let l = l.to_ascii_lowercase();
                        !l.starts_with("content-length:") && !l.starts_with("connection:")
                    })
                    .collect::<Vec<_>>()
                    .join("\r\n");
                out.push_str(&format!(
                    "\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    rbody.len()
                ));
                let _ = client.write_all(out.as_bytes()).await;
                let _ = client.write_all(&rbody).await;
                let _ = client.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

/// Read an HTTP/1.1 message: the head, then the body by Content-Length (a request), or until
/// the peer closes (a response to a `Connection: close` request).
async fn read_message(s: &mut tokio::net::TcpStream, request: bool) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        let n = s.read(&mut tmp).await.unwrap_or(0);
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let len = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())
            .flatten()
    });
    let want = if request { Some(len.unwrap_or(0)) } else { len };
    loop {
        if want.is_some_and(|w| buf.len() >= head_end + w) {
            break;
        }
        let n = s.read(&mut tmp).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    Some((head, buf[head_end..].to_vec()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_and_ses_setup_are_captured_field_by_field() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();

    // --- ACM: one certificate per region, and one in a region that is not asked for.
    let acm_eu = aws_sdk_acm::Client::new(&conf(&url, "eu-west-1").await);
    let acm_us = aws_sdk_acm::Client::new(&conf(&url, "us-east-1").await);
    let acm_fra = aws_sdk_acm::Client::new(&conf(&url, "eu-central-1").await);
    let eu_arn = request_cert(
        &acm_eu,
        "app.example.com",
        &["app.example.com", "www.app.example.com", "api.example.com"],
        &[("team", "web"), ("env", "prod")],
    )
    .await;
    let us_arn = request_cert(
        &acm_us,
        "cdn.example.com",
        &["cdn.example.com", "static.example.com"],
        &[("use", "cloudfront")],
    )
    .await;
    request_cert(&acm_fra, "other.example.com", &[], &[]).await;
    // An imported certificate (its private key goes to ACM, never into the snapshot) that
    // expires in 10 days.
    let imported = match self_signed("legacy.example.com", 10) {
        Some((cert, key)) => Some(
            acm_eu
                .import_certificate()
                .certificate(aws_smithy_types::Blob::new(cert))
                .private_key(aws_smithy_types::Blob::new(key))
                .send()
                .await
                .unwrap()
                .certificate_arn()
                .unwrap()
                .to_string(),
        ),
        None => None,
    };
    let n_certs = if imported.is_some() { 3 } else { 2 };

    // --- SES in eu-west-1: v2 where moto has it, v1 for event destinations and templates.
    let sdk_eu = conf(&url, "eu-west-1").await;
    let v2 = aws_sdk_sesv2::Client::new(&sdk_eu);
    let v1 = aws_sdk_ses::Client::new(&sdk_eu);
    v2.create_email_identity()
        .email_identity("ops@example.com")
        .send()
        .await
        .unwrap();
    v2.create_email_identity()
        .email_identity("example.com")
        .tags(
            aws_sdk_sesv2::types::Tag::builder()
                .key("owner")
                .value("mail-team")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "ses:SendEmail",
            "Resource": "*"
        }]
    });
    v2.create_email_identity_policy()
        .email_identity("example.com")
        .policy_name("allow-root")
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    v2.create_configuration_set()
        .configuration_set_name("transactional")
        .tags(
            aws_sdk_sesv2::types::Tag::builder()
                .key("stream")
                .value("tx")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    v2.create_configuration_set()
        .configuration_set_name("marketing")
        .send()
        .await
        .unwrap();
    v1.create_configuration_set_event_destination()
        .configuration_set_name("transactional")
        .event_destination(
            aws_sdk_ses::types::EventDestination::builder()
                .name("to-sns")
                .enabled(true)
                .matching_event_types(aws_sdk_ses::types::EventType::Bounce)
                .matching_event_types(aws_sdk_ses::types::EventType::Send)
                .matching_event_types(aws_sdk_ses::types::EventType::RenderingFailure)
                .sns_destination(
                    aws_sdk_ses::types::SnsDestination::builder()
                        .topic_arn("arn:aws:sns:eu-west-1:123456789012:ses-events")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    v1.create_configuration_set_event_destination()
        .configuration_set_name("marketing")
        .event_destination(
            aws_sdk_ses::types::EventDestination::builder()
                .name("to-cloudwatch")
                .enabled(false)
                .matching_event_types(aws_sdk_ses::types::EventType::Open)
                .matching_event_types(aws_sdk_ses::types::EventType::Click)
                .cloud_watch_destination(
                    aws_sdk_ses::types::CloudWatchDestination::builder()
                        .dimension_configurations(
                            aws_sdk_ses::types::CloudWatchDimensionConfiguration::builder()
                                .dimension_name("campaign")
                                .dimension_value_source(
                                    aws_sdk_ses::types::DimensionValueSource::MessageTag,
                                )
                                .default_dimension_value("none")
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    v1.create_template()
        .template(
            aws_sdk_ses::types::Template::builder()
                .template_name("welcome")
                .subject_part("Welcome, {{name}}")
                .text_part("Hello {{name}}")
                .html_part("<p>Hello {{name}}</p>")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    // --- First snapshot.
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let fixed = ses_fixup_proxy(&url).await;
    let args = ["--only", "acm,ses", "--regions", "eu-west-1"];
    let mut first = vec!["--label", "first"];
    first.extend_from_slice(&args);
    let meta = snapshot(&repo, &fixed, &first);
    assert_eq!(meta["status"], "complete", "{meta:#}");
    let acm = &meta["collectors"]["acm"];
    assert_eq!(acm["status"], "complete", "{acm:#}");
    assert_eq!(acm["errors"], json!([]));
    assert_eq!(acm["counts"]["certificates"], n_certs, "{acm:#}");
    assert_eq!(acm["counts"]["expiring_soon"], n_certs - 2);
    let ses = &meta["collectors"]["ses"];
    assert_eq!(ses["status"], "complete", "{ses:#}");
    assert_eq!(ses["errors"], json!([]));
    assert_eq!(ses["counts"]["identities"], 2, "{ses:#}");
    assert_eq!(ses["counts"]["configuration_sets"], 2);
    assert_eq!(ses["counts"]["templates"], 1);

    let snap = snapshot_dir(&repo, &meta);

    // --- ACM files.
    let acm_root = snap.join("acm_certificates").join(ACCOUNT);
    let mut regions: Vec<String> = std::fs::read_dir(&acm_root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    regions.sort();
    assert_eq!(regions, ["eu-west-1", "us-east-1"]);

    let eu = read_json(&acm_root.join(format!("eu-west-1/{}.json", cert_id(&eu_arn))));
    assert_eq!(eu["Region"], "eu-west-1");
    assert_eq!(eu["CertificateArn"], eu_arn.as_str());
    assert_eq!(eu["DomainName"], "app.example.com");
    assert_eq!(
        eu["SubjectAlternativeNames"],
        json!(["api.example.com", "app.example.com", "www.app.example.com"])
    );
    assert_eq!(eu["Status"], "ISSUED");
    assert_eq!(eu["Type"], "AMAZON_ISSUED");
    assert_eq!(eu["KeyAlgorithm"], "RSA_2048");
    assert_eq!(eu["Issuer"], "Amazon");
    assert_eq!(eu["Subject"], "CN=app.example.com");
    assert_eq!(eu["RenewalEligibility"], "INELIGIBLE");
    assert!(eu["NotBefore"].as_str().unwrap().ends_with('Z'), "{eu:#}");
    let not_after = eu["NotAfter"].as_str().unwrap();
    assert!(not_after > eu["NotBefore"].as_str().unwrap(), "{eu:#}");
    assert_eq!(eu.get("InUseBy"), None, "moto uses no certificate: {eu:#}");
    assert_eq!(
        eu["Tags"],
        json!([{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "web"}])
    );
    let dvo = eu["DomainValidationOptions"].as_array().unwrap();
    let dvo_domains: Vec<&str> = dvo
        .iter()
        .map(|d| d["DomainName"].as_str().unwrap())
        .collect();
    assert_eq!(
        dvo_domains,
        ["api.example.com", "app.example.com", "www.app.example.com"]
    );
    for d in dvo {
        assert_eq!(d["ValidationMethod"], "DNS", "{d:#}");
        assert_eq!(d["ValidationStatus"], "SUCCESS", "{d:#}");
        assert_eq!(d["ResourceRecord"]["Type"], "CNAME", "{d:#}");
        assert!(
            d["ResourceRecord"]["Name"]
                .as_str()
                .unwrap()
                .ends_with(&format!("{}.", d["DomainName"].as_str().unwrap())),
            "{d:#}"
        );
    }

    let us = read_json(&acm_root.join(format!("us-east-1/{}.json", cert_id(&us_arn))));
    assert_eq!(us["Region"], "us-east-1");
    assert_eq!(us["CertificateArn"], us_arn.as_str());
    assert_eq!(us["DomainName"], "cdn.example.com");
    assert_eq!(
        us["SubjectAlternativeNames"],
        json!(["cdn.example.com", "static.example.com"])
    );
    assert_eq!(us["Status"], "ISSUED");
    assert_eq!(us["Tags"], json!([{"Key": "use", "Value": "cloudfront"}]));

    for (region, arn) in [("eu-west-1", &eu_arn), ("us-east-1", &us_arn)] {
        let pem = std::fs::read_to_string(acm_root.join(format!("{region}/{}.pem", cert_id(arn))))
            .unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        assert!(pem.ends_with("-----END CERTIFICATE-----\n"), "{pem}");
        assert!(!pem.contains("PRIVATE KEY"));
        // The certificate and at least one chain certificate.
        assert!(
            pem.matches("-----BEGIN CERTIFICATE-----").count() >= 2,
            "{pem}"
        );
    }
    // No private key anywhere in the snapshot or the blob store.
    for f in walk_files(&repo) {
        let raw = std::fs::read(&f).unwrap();
        assert!(
            !String::from_utf8_lossy(&raw).contains("PRIVATE KEY"),
            "{}",
            f.display()
        );
    }
    assert_eq!(walk_files(&acm_root).len(), 2 * n_certs as usize);
    if let Some(arn) = &imported {
        let j = read_json(&acm_root.join(format!("eu-west-1/{}.json", cert_id(arn))));
        assert_eq!(j["DomainName"], "legacy.example.com", "{j:#}");
        assert_eq!(j["Type"], "IMPORTED");
        assert_eq!(j["Status"], "ISSUED");
        assert!(j["ImportedAt"].is_string(), "{j:#}");
        let pem = std::fs::read_to_string(acm_root.join(format!("eu-west-1/{}.pem", cert_id(arn))))
            .unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        assert!(!pem.contains("PRIVATE KEY"));
    }

    // --- SES files.
    let ses_root = snap.join(format!("ses/{ACCOUNT}/eu-west-1"));
    let ids = read_json(&ses_root.join("identities.json"));
    assert_eq!(ids.as_object().unwrap().len(), 1, "{ids:#}");
    let list = ids["Items"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{ids:#}");
    let domain = &list[0];
    assert_eq!(domain["IdentityName"], "example.com");
    assert_eq!(domain["IdentityType"], "DOMAIN");
    assert_eq!(domain["VerificationStatus"], "SUCCESS");
    assert_eq!(domain["SendingEnabled"], true);
    assert_eq!(domain["DkimAttributes"]["Status"], "NOT_STARTED");
    assert_eq!(domain["DkimAttributes"]["SigningEnabled"], false);
    assert_eq!(
        domain["DkimAttributes"]["SigningAttributesOrigin"],
        "AWS_SES"
    );
    assert_eq!(domain["Policies"], json!({"allow-root": policy}));
    assert_eq!(
        domain["Tags"],
        json!([{"Key": "owner", "Value": "mail-team"}])
    );
    let email = &list[1];
    assert_eq!(email["IdentityName"], "ops@example.com");
    assert_eq!(email["IdentityType"], "EMAIL_ADDRESS");
    assert_eq!(email["VerificationStatus"], "SUCCESS");
    assert_eq!(email.get("Tags"), None);

    let sets = read_json(&ses_root.join("configuration_sets.json"));
    let sets = sets["Items"].as_array().unwrap();
    let names: Vec<&str> = sets.iter().map(|s| s["Name"].as_str().unwrap()).collect();
    assert_eq!(names, ["marketing", "transactional"]);
    assert_eq!(
        sets[0]["EventDestinations"],
        json!([{
            "Name": "to-cloudwatch",
            "Enabled": false,
            "MatchingEventTypes": ["CLICK", "OPEN"],
            "CloudWatchDestination": {"DimensionConfigurations": [{
                "DimensionName": "campaign",
                "DimensionValueSource": "MESSAGE_TAG",
                "DefaultDimensionValue": "none"
            }]}
        }]),
        "{:#}",
        sets[0]
    );
    let tx = &sets[1];
    assert_eq!(tx["Tags"], json!([{"Key": "stream", "Value": "tx"}]));
    assert_eq!(
        tx["EventDestinations"],
        json!([{
            "Name": "to-sns",
            "Enabled": true,
            "MatchingEventTypes": ["BOUNCE", "RENDERING_FAILURE", "SEND"],
            "SnsDestination": {"TopicArn": "arn:aws:sns:eu-west-1:123456789012:ses-events"}
        }]),
        "{tx:#}"
    );
    assert_eq!(tx.get("Unreadable"), None);
    assert_eq!(tx["SendingOptions"], json!({"SendingEnabled": true}));

    let tpl = read_json(&ses_root.join("templates/welcome.json"));
    assert_eq!(
        tpl,
        json!({
            "Region": "eu-west-1",
            "Template": {
                "TemplateName": "welcome",
                "Subject": "Welcome, {{name}}",
                "Text": "Hello {{name}}",
                "Html": "<p>Hello {{name}}</p>"
            }
        })
    );

    // moto answers GetAccount with a 404: recorded as not available, with v1's quota.
    let account = read_json(&ses_root.join("account.json"));
    assert_eq!(account["Region"], "eu-west-1");
    assert_eq!(account["Available"], false, "{account:#}");
    assert_eq!(
        account["Reason"], "GetAccount is not supported by this endpoint (HTTP 404)",
        "{account:#}"
    );
    assert_eq!(account["SendQuota"]["Max24HourSend"], 200.0, "{account:#}");
    assert_eq!(account["SendQuota"]["MaxSendRate"], 1.0);
    assert_eq!(account.get("SentLast24Hours"), None);
    // Only the asked region for SES.
    assert_eq!(
        std::fs::read_dir(snap.join("ses").join(ACCOUNT))
            .unwrap()
            .count(),
        1,
        "SES is captured in the asked regions only"
    );

    // --- The catalog: certificates by id, SES resources by name; every listing complete.
    let res = resources(&snap);
    let mut certs = vec![
        format!(
            "aws.acm.certificate:{ACCOUNT}:eu-west-1:{}",
            cert_id(&eu_arn)
        ),
        format!(
            "aws.acm.certificate:{ACCOUNT}:us-east-1:{}",
            cert_id(&us_arn)
        ),
    ];
    if let Some(arn) = &imported {
        certs.push(format!(
            "aws.acm.certificate:{ACCOUNT}:eu-west-1:{}",
            cert_id(arn)
        ));
    }
    certs.sort();
    assert_eq!(ids_of(&res, "aws.acm."), certs);
    let r = &res[&format!(
        "aws.acm.certificate:{ACCOUNT}:eu-west-1:{}",
        cert_id(&eu_arn)
    )];
    assert_eq!(
        r["path"],
        format!(
            "acm_certificates/{ACCOUNT}/eu-west-1/{}.json",
            cert_id(&eu_arn)
        )
    );
    assert_eq!(
        r["parts"]["certificate.pem"]["path"],
        format!(
            "acm_certificates/{ACCOUNT}/eu-west-1/{}.pem",
            cert_id(&eu_arn)
        )
    );
    assert_eq!(
        coverage_of(&snap, "aws.acm."),
        [
            (
                "aws.acm.certificate".into(),
                "eu-west-1".into(),
                "complete".into()
            ),
            (
                "aws.acm.certificate".into(),
                "us-east-1".into(),
                "complete".into()
            ),
        ]
    );
    let ses_id = |kind: &str, id: &str| format!("aws.ses.{kind}:{ACCOUNT}:eu-west-1:{id}");
    assert_eq!(
        ids_of(&res, "aws.ses."),
        [
            ses_id("account", "account"),
            ses_id("configuration_set", "marketing"),
            ses_id("configuration_set", "transactional"),
            ses_id("identity", "example.com"),
            ses_id("identity", "ops@example.com"),
            ses_id("template", "welcome"),
        ]
    );
    // Identities and configuration sets are members of their views: no path of their own.
    assert!(res[&ses_id("identity", "example.com")]
        .get("path")
        .is_none());
    assert_eq!(
        res[&ses_id("template", "welcome")]["path"],
        format!("ses/{ACCOUNT}/eu-west-1/templates/welcome.json")
    );
    assert_eq!(
        res[&ses_id("account", "account")]["path"],
        format!("ses/{ACCOUNT}/eu-west-1/account.json")
    );
    let complete = |kind: &str| {
        (
            format!("aws.ses.{kind}"),
            "eu-west-1".to_string(),
            "complete".to_string(),
        )
    };
    assert_eq!(
        coverage_of(&snap, "aws.ses."),
        [
            complete("account"),
            complete("configuration_set"),
            complete("identity"),
            complete("template"),
        ]
    );

    // --- MANIFEST.md sections.
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    let expires = &not_after[..10];
    assert!(
        manifest.contains(&format!(
            "| app.example.com | eu-west-1 | ISSUED | {expires} | - |"
        )),
        "{manifest}"
    );
    assert!(
        manifest.contains("| cdn.example.com | us-east-1 | ISSUED |"),
        "{manifest}"
    );
    if imported.is_some() {
        assert!(
            manifest.contains("| legacy.example.com | eu-west-1 | ISSUED |")
                && manifest.contains(" (soon) | - |"),
            "{manifest}"
        );
    }
    assert!(
        manifest.contains("| eu-west-1 | 2 | 2 | 1 | not available |"),
        "{manifest}"
    );

    // --- A second snapshot of the unchanged estate adds no blob.
    let blobs = blob_count(&repo);
    let mut second = vec!["--label", "second"];
    second.extend_from_slice(&args);
    let meta2 = snapshot(&repo, &fixed, &second);
    assert_eq!(meta2["status"], "complete", "{meta2:#}");
    for c in ["acm", "ses"] {
        assert_eq!(meta2["collectors"][c]["blobs_new"], 0, "{c}: {meta2:#}");
        assert_eq!(meta2["collectors"][c]["bytes_new"], 0, "{c}");
    }
    assert_eq!(blob_count(&repo), blobs);
    let snap2 = snapshot_dir(&repo, &meta2);
    let digests = |snap: &Path| -> BTreeMap<String, Value> {
        resources(snap)
            .into_iter()
            .map(|(id, r)| (id, r["digest"].clone()))
            .collect()
    };
    assert_eq!(digests(&snap), digests(&snap2));
    for root in [&acm_root, &snap.join("ses")] {
        for f in walk_files(root) {
            let rel = f.strip_prefix(&snap).unwrap();
            assert_eq!(
                std::fs::read(&f).unwrap(),
                std::fs::read(snap2.join(rel)).unwrap(),
                "{}",
                rel.display()
            );
        }
    }
    let o = infrasnap(&repo, &url, &["verify", "--all"]);
    assert_code(&o, 0);

    // --- Straight to moto (no wire fixup), GetConfigurationSet's answer does not parse: each
    // set's failure is recorded with its action and ARN, the run ends "complete with errors"
    // (exit 3), and the rest, event destinations included, is still captured.
    let mut third = vec!["--json", "snapshot", "--label", "third"];
    third.extend_from_slice(&args);
    let o = infrasnap(&repo, &url, &third);
    assert_code(&o, 3);
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    let meta3 = &out["metadata"];
    assert_eq!(
        meta3["collectors"]["acm"]["status"], "complete",
        "{meta3:#}"
    );
    let ses3 = &meta3["collectors"]["ses"];
    assert_eq!(ses3["status"], "partial", "{ses3:#}");
    let errs = ses3["errors"].as_array().unwrap();
    assert_eq!(errs.len(), 2, "{ses3:#}");
    for (e, set) in errs.iter().zip(["marketing", "transactional"]) {
        assert_eq!(e["service"], "ses");
        assert_eq!(e["action"], "ses:GetConfigurationSet");
        assert_eq!(
            e["resource"],
            format!("arn:aws:ses:eu-west-1:123456789012:configuration-set/{set}")
        );
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("failed to parse JSON"),
            "{e:#}"
        );
    }
    let snap3 = snapshot_dir(&repo, meta3);
    let sets3 = read_json(&snap3.join(format!("ses/{ACCOUNT}/eu-west-1/configuration_sets.json")));
    let tx3 = &sets3["Items"][1];
    assert_eq!(tx3["Name"], "transactional");
    assert_eq!(tx3["EventDestinations"], tx["EventDestinations"]);
    assert_eq!(
        tx3["Unreadable"],
        json!([{"Action": "ses:GetConfigurationSet"}]),
        "{tx3:#}"
    );
    assert!(snap3
        .join(format!("ses/{ACCOUNT}/eu-west-1/templates/welcome.json"))
        .is_file());
    // A set whose GetConfigurationSet failed is incomplete: not comparable, not "modified".
    let res3 = resources(&snap3);
    for set in ["marketing", "transactional"] {
        assert_eq!(
            res3[&ses_id("configuration_set", set)]["incomplete"],
            true,
            "{set}"
        );
    }
    assert!(res3[&ses_id("identity", "example.com")]
        .get("incomplete")
        .is_none());
    assert_eq!(
        coverage_of(&snap3, "aws.ses.configuration_set"),
        [complete("configuration_set")]
    );
}

/// A server that hands out the same page token again (a broken or hostile endpoint) must not make
/// a listing loop for ever, nor pass the pages read so far off as the whole listing: the collector
/// kit's `Pages` stops it, and the identities' coverage is `failed` with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_page_token_fails_the_listing_instead_of_passing_it_off_as_complete() {
    let emu = Emulator::start().await.unwrap();
    let url = stub_proxy(&emu.url(), |r| {
        // ListEmailIdentities (the SDK's model: `POST /v2/email/list-identities`).
        r.path.starts_with("/v2/email/list-identities").then(|| Canned {
            status: 200,
            content_type: "application/json",
            extra_headers: String::new(),
            body: r#"{"EmailIdentities":[{"IdentityName":"shop.example.com","IdentityType":"DOMAIN","SendingEnabled":true}],"NextToken":"same-again"}"#.into(),
        })
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "--json",
            "snapshot",
            "--only",
            "ses",
            "--regions",
            "eu-west-1",
        ],
    );
    assert_code(&o, 3);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let snap = snapshot_dir(&repo, &v["metadata"]);
    let cov = catalog_of_kind(&snap, "coverage", "aws.ses.identity");
    assert_eq!(cov.len(), 1, "{cov:#?}");
    assert_eq!(cov[0]["state"], "failed", "{cov:#?}");
    assert_eq!(cov[0]["error"]["code"], "RepeatedPageToken", "{cov:#?}");
    assert!(
        cov[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not complete"),
        "{cov:#?}"
    );
}
