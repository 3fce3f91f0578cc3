//! Restore of imported ACM certificates (with the user's own key, `--certificate-key`) and of
//! Route53 health checks, through the real binary against moto: snapshot → delete or alter live →
//! `restore plan -o plan.json` (asserted) → `restore apply` → snapshot again → `diff`.
//!
//! - An imported certificate deleted live: without a key the plan lists it for people, naming
//!   the option; a key of another certificate, or a file that is no key, is refused naming the
//!   certificate and the file; with its key it is imported again (a new ARN: `diff` shows the old
//!   one removed and the new one added), the plan keeping only the key file's path and
//!   fingerprint; a certificate ACM issued is listed as "re-request".
//! - An imported certificate whose body was replaced live is re-imported into its ARN.
//! - A health check deleted live is created again (a new id, found through its caller
//!   reference), and the record set that named it is written with the new id; a health check
//!   altered live is updated with its HealthCheckVersion.
//!
//! - Distributions that served with a certificate imported again are pointed at its new ARN:
//!   one still live (updated), one deleted live (created again).
//!
//! moto gaps: it keeps no InUseBy for certificates and does not check that a distribution's
//! certificate exists or covers its aliases; it appends its own root CA to every certificate chain it is
//! given, so a re-imported certificate's chain part differs in `diff`.

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, HealthCheckConfig, HealthCheckType, ResourceRecord,
    ResourceRecordSet, RrType, Tag as R53Tag, TagResourceType,
};
use aws_smithy_types::Blob;
use serde_json::Value;

use crate::common;
use common::*;

const ACCT: &str = "123456789012";

/// A self-signed certificate and its key (files in `dir`), by the `openssl` CLI.
fn self_signed(dir: &std::path::Path, name: &str, cn: &str) -> (Vec<u8>, std::path::PathBuf) {
    let (c, k) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    let o = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
        .arg(&k)
        .arg("-out")
        .arg(&c)
        .args(["-days", "90", "-subj", &format!("/CN={cn}")])
        .args(["-addext", &format!("subjectAltName=DNS:{cn}")])
        .output()
        .expect("openssl");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (std::fs::read(c).unwrap(), k)
}

fn plan(repo: &std::path::Path, url: &str, args: &[&str]) -> (std::process::Output, Option<Value>) {
    restore_plan(repo, url, args)
}

fn apply(repo: &std::path::Path, url: &str) -> std::process::Output {
    restore_apply(repo, url, &[])
}

/// `diff A B --kind KIND --json`: its counts, with the whole diff for messages.
fn diff_counts(repo: &std::path::Path, url: &str, a: &str, b: &str, kind: &str) -> Value {
    let (_, d) = diff_kind(repo, url, a, b, kind);
    let mut c = d["counts"].clone();
    c["diff"] = d;
    c
}

/// A CloudFront distribution serving `alias` with the ACM certificate `arn`.
async fn distribution_with(url: &str, alias: &str, arn: &str) -> String {
    use aws_sdk_cloudfront::types::{SslSupportMethod, ViewerCertificate};
    let c = aws_sdk_cloudfront::Client::new(&sdk_conf(url, "us-east-1").await);
    let mut cfg = distribution_config(alias, &[alias], "origin.example.com", "");
    cfg.viewer_certificate = Some(
        ViewerCertificate::builder()
            .acm_certificate_arn(arn)
            .ssl_support_method(SslSupportMethod::SniOnly)
            .build(),
    );
    let d = c
        .create_distribution()
        .distribution_config(cfg)
        .send()
        .await
        .unwrap();
    d.distribution().unwrap().id().to_string()
}

async fn imported_cert_arns(acm: &aws_sdk_acm::Client, domain: &str) -> Vec<String> {
    let l = acm.list_certificates().send().await.unwrap();
    l.certificate_summary_list()
        .iter()
        .filter(|s| s.domain_name() == Some(domain))
        .filter_map(|s| s.certificate_arn().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_certificate_comes_back_only_with_its_own_key() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let acm = aws_sdk_acm::Client::new(&sdk_conf(&url, "us-east-1").await);
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(tmp.path(), "legacy", "legacy.example.com");
    let (_, other_key) = self_signed(tmp.path(), "other", "other.example.com");
    let old_arn = acm
        .import_certificate()
        .certificate(Blob::new(cert.clone()))
        .private_key(Blob::new(std::fs::read(&key).unwrap()))
        .tags(
            aws_sdk_acm::types::Tag::builder()
                .key("env")
                .value("prod")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_string();
    let old_id = old_arn.rsplit('/').next().unwrap().to_string();
    let requested = acm
        .request_certificate()
        .domain_name("www.example.com")
        .subject_alternative_names("www.example.com")
        .subject_alternative_names("api.example.com")
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_string();
    let dist = distribution_with(&url, "legacy.example.com", &old_arn).await;
    let repo = tmp.path().join("repo");
    snapshot(&repo, &url, &["--only", "acm,cloudfront", "--label", "one"]);
    // Deleted live.
    acm.delete_certificate()
        .certificate_arn(&old_arn)
        .send()
        .await
        .unwrap();
    acm.delete_certificate()
        .certificate_arn(&requested)
        .send()
        .await
        .unwrap();

    // Without a key: both for people, the imported one naming the option.
    let (o, p) = plan(&repo, &url, &["one", "--kind", "aws.acm.certificate"]);
    assert_code(&o, 0);
    let p = p.unwrap();
    assert_eq!(steps(&p), Vec::<(String, String)>::new(), "{p:#}");
    let manual = p["manual"].as_array().unwrap();
    assert_eq!(manual.len(), 2, "{manual:?}");
    let reason = |arn: &str| {
        manual
            .iter()
            .find(|m| {
                m["id"]
                    .as_str()
                    .unwrap()
                    .ends_with(arn.rsplit('/').next().unwrap())
            })
            .unwrap()["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        reason(&old_arn).contains(&format!("--certificate-key {old_arn}=key.pem")),
        "{}",
        reason(&old_arn)
    );
    let r = reason(&requested);
    assert!(r.starts_with("re-request"), "{r}");
    assert!(
        r.contains("www.example.com") && r.contains("api.example.com"),
        "{r}"
    );
    assert!(r.contains("--validation-method DNS"), "{r}");

    // The key of another certificate, a file that is no key, a key for nothing selected: each
    // refused (exit 2, no plan written), the message naming what is wrong.
    let cert_file = tmp.path().join("legacy.pem");
    let refused = [
        (
            format!("{old_arn}={}", other_key.display()),
            vec![
                old_arn.clone(),
                other_key.display().to_string(),
                "does not belong to this certificate".to_string(),
            ],
        ),
        (
            format!("legacy.example.com={}", cert_file.display()),
            vec!["not a PEM private key".to_string()],
        ),
        (
            format!("nothing.example.com={}", key.display()),
            vec!["no certificate of the selection".to_string()],
        ),
    ];
    for (arg, wants) in &refused {
        let (o, p) = plan(
            &repo,
            &url,
            &[
                "one",
                "--kind",
                "aws.acm.certificate",
                "--certificate-key",
                arg,
            ],
        );
        assert_code(&o, 2);
        assert!(p.is_none(), "{arg}");
        let e = stderr(&o);
        for w in wants {
            assert!(e.contains(w.as_str()), "{arg}: {e}");
        }
    }

    // With its key (by domain name): imported again.
    let right = format!("legacy.example.com={}", key.display());
    let (o, p) = plan(
        &repo,
        &url,
        &[
            "one",
            "--kind",
            "aws.acm.certificate",
            "--certificate-key",
            &right,
        ],
    );
    assert_code(&o, 0);
    let p = p.unwrap();
    let cert_id = format!("aws.acm.certificate:{ACCT}:us-east-1:{old_id}");
    assert_eq!(
        steps(&p),
        vec![("create".to_string(), cert_id.clone())],
        "{p:#}"
    );
    let step = &p["steps"][0];
    assert_eq!(step["stage"], 0);
    assert!(step["note"].as_str().unwrap().contains(&old_arn), "{step}");
    assert_eq!(step["key_file"]["path"], key.to_str().unwrap());
    assert!(
        stdout(&o).contains(&format!("private key: {} (fp:", key.display())),
        "{}",
        stdout(&o)
    );
    assert!(step["key_file"]["fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("fp:"));
    // The plan holds the key's path, never the key.
    let text = std::fs::read_to_string(tmp.path().join("plan.json")).unwrap();
    let key_text = std::fs::read_to_string(&key).unwrap();
    let key_line = key_text.lines().nth(1).unwrap();
    assert!(!text.contains("PRIVATE KEY") && !text.contains(key_line));
    // The follow-up names the distribution that uses the old ARN.
    let manual = p["manual"].as_array().unwrap();
    let follow = manual
        .iter()
        .filter_map(|m| m["reason"].as_str())
        .find(|r| r.starts_with("follow-up after apply"))
        .unwrap_or_else(|| panic!("{manual:?}"));
    assert!(
        follow.contains(&format!("aws.cloudfront.distribution:{ACCT}::{dist}")),
        "{follow}"
    );
    let o = apply(&repo, &url);
    assert_code(&o, 0);
    let arns = imported_cert_arns(&acm, "legacy.example.com").await;
    assert_eq!(arns.len(), 1, "{arns:?}");
    assert_ne!(arns[0], old_arn);
    // apply names the new ARN, for the follow-up.
    assert!(
        stderr(&o).contains(&format!(
            "note: certificate legacy.example.com imported again as {}",
            arns[0]
        )),
        "{}",
        stderr(&o)
    );
    let got = acm
        .get_certificate()
        .certificate_arn(&arns[0])
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.certificate().unwrap().trim(),
        String::from_utf8_lossy(&cert).trim()
    );
    let tags = acm
        .list_tags_for_certificate()
        .certificate_arn(&arns[0])
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].value(), Some("prod"));
    // A second plan has nothing to do for it: the live one is the snapshot's under a new ARN.
    let (o, p) = plan(
        &repo,
        &url,
        &[
            "one",
            "--kind",
            "aws.acm.certificate",
            "--certificate-key",
            &right,
        ],
    );
    assert_code(&o, 0);
    assert_eq!(steps(&p.unwrap()), Vec::<(String, String)>::new());
    // `diff`: the certificate re-created under its new ARN, naming the old one (and the
    // requested one, which restore does not request again, gone).
    snapshot(&repo, &url, &["--only", "acm", "--label", "two"]);
    let c = diff_counts(&repo, &url, "one", "two", "aws.acm.certificate");
    assert_eq!(c["recreated"], 1, "{c}");
    assert_eq!(c["added"], 0, "{c}");
    assert_eq!(c["removed"], 1, "{c}");
    assert_eq!(c["modified"], 0, "{c}");
    let re = c["diff"]["kinds"][0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "recreated")
        .unwrap()
        .clone();
    assert_eq!(
        re["id"],
        format!(
            "aws.acm.certificate:{ACCT}:us-east-1:{}",
            arns[0].rsplit('/').next().unwrap()
        ),
        "{re}"
    );
    assert_eq!(
        re["notes"][0],
        format!("re-created: it was {cert_id}"),
        "{re}"
    );
}

/// The certificate ARN a live distribution serves with.
async fn served_certificate(cf: &aws_sdk_cloudfront::Client, id: &str) -> String {
    let got = cf.get_distribution_config().id(id).send().await.unwrap();
    got.distribution_config()
        .and_then(|c| c.viewer_certificate())
        .and_then(|v| v.acm_certificate_arn())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributions_are_pointed_at_their_re_imported_certificate() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let acm = aws_sdk_acm::Client::new(&sdk_conf(&url, "us-east-1").await);
    let cf = aws_sdk_cloudfront::Client::new(&sdk_conf(&url, "us-east-1").await);
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(tmp.path(), "cdn", "cdn.example.com");
    let old_arn = acm
        .import_certificate()
        .certificate(Blob::new(cert))
        .private_key(Blob::new(std::fs::read(&key).unwrap()))
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_string();
    let old_id = old_arn.rsplit('/').next().unwrap().to_string();
    let serial = acm
        .describe_certificate()
        .certificate_arn(&old_arn)
        .send()
        .await
        .unwrap()
        .certificate()
        .unwrap()
        .serial()
        .unwrap()
        .to_string();
    // One distribution stays live (still naming the old ARN), the other is deleted.
    let kept = distribution_with(&url, "cdn.example.com", &old_arn).await;
    let gone = distribution_with(&url, "static.example.com", &old_arn).await;
    let repo = tmp.path().join("repo");
    snapshot(&repo, &url, &["--only", "acm,cloudfront", "--label", "one"]);
    acm.delete_certificate()
        .certificate_arn(&old_arn)
        .send()
        .await
        .unwrap();
    delete_distribution(&cf, &gone).await;

    let key_arg = format!("cdn.example.com={}", key.display());
    let args = [
        "one",
        "--kind",
        "aws.acm.certificate",
        "--kind",
        "aws.cloudfront.distribution",
        "--certificate-key",
        &key_arg,
        "--force",
    ];
    let (o, p) = plan(&repo, &url, &args);
    assert_code(&o, 0);
    let p = p.unwrap();
    let dist = |id: &str| format!("aws.cloudfront.distribution:{ACCT}::{id}");
    let cert_id = format!("aws.acm.certificate:{ACCT}:us-east-1:{old_id}");
    let mut got = steps(&p);
    got[1..].sort();
    assert_eq!(
        got,
        vec![
            ("create".to_string(), cert_id.clone()),
            ("create".to_string(), dist(&gone)),
            ("update".to_string(), dist(&kept)),
        ],
        "{p:#}"
    );
    // Both distribution steps name the certificate by domain and serial, made again by step 1.
    for s in &p["steps"].as_array().unwrap()[1..] {
        assert_eq!(
            s["refs"],
            serde_json::json!([{
                "id": cert_id,
                "name": format!("cdn.example.com serial={serial}"),
                "step": 1
            }]),
            "{s:#}"
        );
    }
    assert!(
        stdout(&o).contains(&format!(
            "uses aws.acm.certificate `cdn.example.com serial={serial}` (id {old_id} is gone; \
             made again by step 1)"
        )),
        "{}",
        stdout(&o)
    );
    // No certificate follow-up: the plan re-points every user of the old ARN (the follow-up
    // left is the re-created distribution's new domain name, for DNS).
    let manual = p["manual"].as_array().unwrap();
    assert!(
        !manual.iter().any(|m| m["id"] == cert_id.as_str()),
        "{manual:?}"
    );

    let o = apply(&repo, &url);
    assert_code(&o, 0);
    let arns = imported_cert_arns(&acm, "cdn.example.com").await;
    assert_eq!(arns.len(), 1, "{arns:?}");
    assert_ne!(arns[0], old_arn);
    assert_eq!(served_certificate(&cf, &kept).await, arns[0]);
    let list = cf.list_distributions().send().await.unwrap();
    let made: Vec<String> = list
        .distribution_list()
        .unwrap()
        .items()
        .iter()
        .filter(|d| d.id() != kept)
        .map(|d| d.id().to_string())
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(served_certificate(&cf, &made[0]).await, arns[0]);
    // A second plan has nothing to do: each distribution names the snapshot's certificate.
    let (o, p) = plan(&repo, &url, &args);
    assert_code(&o, 0);
    assert_eq!(steps(&p.unwrap()), Vec::<(String, String)>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_replaced_live_is_re_imported_into_its_arn() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let acm = aws_sdk_acm::Client::new(&sdk_conf(&url, "us-east-1").await);
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(tmp.path(), "site", "site.example.com");
    let (cert2, key2) = self_signed(tmp.path(), "site2", "site.example.com");
    let arn = acm
        .import_certificate()
        .certificate(Blob::new(cert.clone()))
        .private_key(Blob::new(std::fs::read(&key).unwrap()))
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_string();
    let repo = tmp.path().join("repo");
    snapshot(&repo, &url, &["--only", "acm", "--label", "one"]);
    // Someone imports another certificate over it.
    acm.import_certificate()
        .certificate_arn(&arn)
        .certificate(Blob::new(cert2))
        .private_key(Blob::new(std::fs::read(&key2).unwrap()))
        .send()
        .await
        .unwrap();
    let right = format!("{arn}={}", key.display());
    let (o, p) = plan(
        &repo,
        &url,
        &[
            "one",
            "--kind",
            "aws.acm.certificate",
            "--certificate-key",
            &right,
            "--if-exists",
            "overwrite",
            "--force",
        ],
    );
    assert_code(&o, 0);
    let p = p.unwrap();
    let id = arn.rsplit('/').next().unwrap();
    assert_eq!(
        steps(&p),
        vec![(
            "update".to_string(),
            format!("aws.acm.certificate:{ACCT}:us-east-1:{id}")
        )],
        "{p:#}"
    );
    // The key file changed after planning: refused, nothing applied.
    let saved = std::fs::read(&key).unwrap();
    std::fs::write(&key, std::fs::read(&key2).unwrap()).unwrap();
    let o = apply(&repo, &url);
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains("changed since the plan was made"),
        "{}",
        stderr(&o)
    );
    std::fs::write(&key, saved).unwrap();
    let o = apply(&repo, &url);
    assert_code(&o, 0);
    let got = acm
        .get_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.certificate().unwrap().trim(),
        String::from_utf8_lossy(&cert).trim()
    );
    assert_eq!(
        imported_cert_arns(&acm, "site.example.com").await,
        vec![arn.clone()]
    );
    // `diff`: the certificate is the snapshot's again (re-imported: a new ImportedAt, shown as
    // "re-created"); what differs is moto's doing: it appends its own root CA to every chain it
    // is given, so the chain part grows by one certificate on each import.
    snapshot(&repo, &url, &["--only", "acm", "--label", "two"]);
    let c = diff_counts(&repo, &url, "one", "two", "aws.acm.certificate");
    assert_eq!(c["added"], 0, "{c}");
    assert_eq!(c["removed"], 0, "{c}");
    let r = &c["diff"]["kinds"][0]["resources"][0];
    let mut members: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    members.sort();
    // ImportedAt has whole seconds: an import within the second of the first one keeps it.
    members.retain(|m| *m != "recreated");
    assert_eq!(members, ["id", "parts", "status"], "{c}");
    assert!(
        r.get("recreated").is_none() || r["recreated"] == serde_json::json!(["ImportedAt"]),
        "{c}"
    );
    assert!(r.get("changes").is_none(), "{c}");
    assert_eq!(r["parts"][0]["name"], "certificate.pem", "{c}");
}

fn check_config(path: &str, threshold: i32) -> HealthCheckConfig {
    HealthCheckConfig::builder()
        .ip_address("192.0.2.10")
        .port(443)
        .r#type(HealthCheckType::Https)
        .resource_path(path)
        .fully_qualified_domain_name("app.example.com")
        .request_interval(30)
        .failure_threshold(threshold)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_come_back_and_the_records_name_the_new_one() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let c = aws_sdk_route53::Client::new(&sdk_conf(&url, "us-east-1").await);
    let create = |cr: &str, path: &str| {
        c.create_health_check()
            .caller_reference(cr)
            .health_check_config(check_config(path, 3))
            .send()
    };
    let primary = create("primary", "/health").await.unwrap();
    let primary = primary.health_check().unwrap().id().to_string();
    let secondary = create("secondary", "/status").await.unwrap();
    let secondary = secondary.health_check().unwrap().id().to_string();
    c.change_tags_for_resource()
        .resource_type(TagResourceType::Healthcheck)
        .resource_id(&primary)
        .add_tags(R53Tag::builder().key("team").value("web").build())
        .send()
        .await
        .unwrap();
    let zone = c
        .create_hosted_zone()
        .name("example.com")
        .caller_reference("zone")
        .send()
        .await
        .unwrap();
    let zone = zone
        .hosted_zone()
        .unwrap()
        .id()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let record = ResourceRecordSet::builder()
        .name("app.example.com.")
        .r#type(RrType::A)
        .set_identifier("primary")
        .failover(aws_sdk_route53::types::ResourceRecordSetFailover::Primary)
        .ttl(60)
        .health_check_id(&primary)
        .resource_records(
            ResourceRecord::builder()
                .value("192.0.2.10")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    c.change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Create)
                        .resource_record_set(record)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    snapshot(&repo, &url, &["--only", "route53", "--label", "one"]);
    // The primary check deleted, the secondary one changed.
    c.delete_health_check()
        .health_check_id(&primary)
        .send()
        .await
        .unwrap();
    let live = c
        .get_health_check()
        .health_check_id(&secondary)
        .send()
        .await
        .unwrap();
    c.update_health_check()
        .health_check_id(&secondary)
        .health_check_version(live.health_check().unwrap().health_check_version())
        .resource_path("/other")
        .failure_threshold(5)
        .send()
        .await
        .unwrap();

    let hc = |id: &str| format!("aws.route53.health_check:{ACCT}::{id}");
    let (o, p) = plan(
        &repo,
        &url,
        &[
            "one",
            "--kind",
            "aws.route53.health_check",
            "--kind",
            "aws.route53.record_set",
            "--if-exists",
            "overwrite",
            "--force",
        ],
    );
    assert_code(&o, 0);
    let p = p.unwrap();
    let record_id = format!("aws.route53.record_set:{ACCT}::{zone}/app.example.com./A/primary");
    let mut got = steps(&p);
    got.sort();
    let mut want = vec![
        ("create".to_string(), hc(&primary)),
        ("update".to_string(), hc(&secondary)),
        ("update".to_string(), record_id.clone()),
    ];
    want.sort();
    assert_eq!(got, want, "{p:#}");
    let rec_step = p["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["target"] == record_id.as_str())
        .unwrap();
    // Health checks before the record sets; the record names the check this plan makes again.
    assert_eq!(rec_step["stage"], 2);
    let create_step = p["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["target"] == hc(&primary).as_str())
        .unwrap();
    assert_eq!(create_step["stage"], 1);
    assert_eq!(rec_step["refs"][0]["id"], hc(&primary).as_str());
    assert_eq!(rec_step["refs"][0]["step"], create_step["n"]);
    assert!(rec_step["note"].as_str().unwrap().contains(&primary));

    let o = apply(&repo, &url);
    assert_code(&o, 0);
    // The primary check made again under a new id, with its tags; the record names it.
    let list = c.list_health_checks().send().await.unwrap();
    let new = list
        .health_checks()
        .iter()
        .find(|h| h.id() != secondary)
        .unwrap();
    assert_ne!(new.id(), primary);
    assert!(new
        .caller_reference()
        .starts_with(&format!("infrasnap-restore/{primary}/")));
    assert_eq!(
        new.health_check_config().unwrap().resource_path(),
        Some("/health")
    );
    let new_id = new.id().to_string();
    let sets = c
        .list_resource_record_sets()
        .hosted_zone_id(&zone)
        .send()
        .await
        .unwrap();
    let app = sets
        .resource_record_sets()
        .iter()
        .find(|r| r.name() == "app.example.com.")
        .unwrap();
    assert_eq!(app.health_check_id(), Some(new_id.as_str()));
    let sec = c
        .get_health_check()
        .health_check_id(&secondary)
        .send()
        .await
        .unwrap();
    let cfg = sec.health_check().unwrap().health_check_config().unwrap();
    assert_eq!(cfg.resource_path(), Some("/status"));
    assert_eq!(cfg.failure_threshold(), Some(3));
    // A second plan has nothing to do.
    let (o, p) = plan(
        &repo,
        &url,
        &[
            "one",
            "--kind",
            "aws.route53.health_check",
            "--kind",
            "aws.route53.record_set",
            "--delete-extra",
        ],
    );
    assert_code(&o, 0);
    assert_eq!(steps(&p.unwrap()), Vec::<(String, String)>::new());
    // `diff`: the altered check is back (no change); the re-created one has a new id (one
    // `recreated` entry), and the record names the new id.
    snapshot(&repo, &url, &["--only", "route53", "--label", "two"]);
    let d = diff_counts(&repo, &url, "one", "two", "aws.route53.health_check");
    assert_eq!(d["modified"], 0, "{d}");
    assert_eq!(d["recreated"], 1, "{d}");
    assert_eq!(d["added"], 0, "{d}");
    assert_eq!(d["removed"], 0, "{d}");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "diff",
            "one",
            "two",
            "--kind",
            "aws.route53.record_set",
            "--json",
        ],
    );
    let d = json_of(&o);
    assert_eq!(d["counts"]["modified"], 1, "{d:#}");
    assert!(d.to_string().contains("HealthCheckId"), "{d:#}");
}
