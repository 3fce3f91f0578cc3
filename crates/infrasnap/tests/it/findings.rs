//! `infrasnap findings` and `infrasnap report` through the real binary, on a small company estate
//! in moto that plants each risk moto can hold, next to a clean twin of every planted resource:
//! each rule fires on its plant and stays silent on the twin; the lifecycle across snapshots
//! (planted, persisting, fixed, planted again); `--fail-on`; suppressions (live, expired,
//! malformed); an unknown snapshot; the MANIFEST.md section; the HTML report in a headless
//! Chromium (skipped, with a note, where none is installed).
//!
//! Rules moto cannot plant for (access keys older than 90 days, certificates about to expire,
//! Elastic Beanstalk targets) are covered by the case tables in infrasnap-core's findings tests.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use aws_config::SdkConfig;
use common::*;
use serde_json::Value;

const ACCT: &str = "123456789012";

async fn bucket(s3: &aws_sdk_s3::Client, name: &str, block: bool) {
    create_bucket(s3, name).await;
    put(
        s3,
        name,
        "index.html",
        format!("<h1>{name}</h1>").as_bytes(),
    )
    .await;
    if block {
        use aws_sdk_s3::types::PublicAccessBlockConfiguration;
        s3.put_public_access_block()
            .bucket(name)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
}

async fn versioned_encrypted(s3: &aws_sdk_s3::Client, name: &str) {
    use aws_sdk_s3::types::*;
    s3.put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3.put_bucket_encryption()
        .bucket(name)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(ServerSideEncryption::Aes256)
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

async fn public_acl(s3: &aws_sdk_s3::Client, name: &str, public: bool) {
    use aws_sdk_s3::types::BucketCannedAcl;
    s3.put_bucket_acl()
        .bucket(name)
        .acl(if public {
            BucketCannedAcl::PublicRead
        } else {
            BucketCannedAcl::Private
        })
        .send()
        .await
        .unwrap();
}

/// A distribution: `comment` says its environment; origins are (domain, path).
async fn distribution(
    conf: &SdkConfig,
    reference: &str,
    comment: &str,
    origins: &[(&str, &str)],
) -> (String, String) {
    use aws_sdk_cloudfront::types::*;
    let behavior = behavior_to("o0").build().unwrap();
    let mut items = Origins::builder().quantity(origins.len() as i32);
    for (i, (domain, path)) in origins.iter().enumerate() {
        items = items.items(
            Origin::builder()
                .id(format!("o{i}"))
                .domain_name(*domain)
                .origin_path(*path)
                .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
                .build()
                .unwrap(),
        );
    }
    let cfg = DistributionConfig::builder()
        .caller_reference(reference)
        .origins(items.build().unwrap())
        .default_cache_behavior(behavior)
        .comment(comment)
        .enabled(true)
        .build()
        .unwrap();
    let d = aws_sdk_cloudfront::Client::new(conf)
        .create_distribution()
        .distribution_config(cfg)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create distribution: {e:?}"));
    let d = d.distribution().unwrap();
    (d.id().to_string(), d.domain_name().to_string())
}

async fn record(r53: &aws_sdk_route53::Client, zone: &str, name: &str, target: &str) {
    use aws_sdk_route53::types::*;
    r53.change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Upsert)
                        .resource_record_set(
                            ResourceRecordSet::builder()
                                .name(name)
                                .r#type(RrType::Cname)
                                .ttl(300)
                                .resource_records(
                                    ResourceRecord::builder().value(target).build().unwrap(),
                                )
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
}

async fn zone(r53: &aws_sdk_route53::Client, name: &str) -> String {
    r53.create_hosted_zone()
        .name(name)
        .caller_reference(format!("{name}-ref"))
        .send()
        .await
        .unwrap()
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string()
}

async fn table(conf: &SdkConfig, name: &str, pitr: bool) {
    use aws_sdk_dynamodb::types::*;
    let ddb = aws_sdk_dynamodb::Client::new(conf);
    ddb.create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    if pitr {
        ddb.update_continuous_backups()
            .table_name(name)
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
}

async fn function(
    conf: &SdkConfig,
    role: &str,
    name: &str,
    runtime: aws_sdk_lambda::types::Runtime,
    env: &[(&str, &str)],
) {
    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::*;
    let code = stored_zip(&[("index.py", b"def handler(e, c):\n    return 1\n")]);
    let mut e = Environment::builder();
    for (k, v) in env {
        e = e.variables(*k, *v);
    }
    aws_sdk_lambda::Client::new(conf)
        .create_function()
        .function_name(name)
        .runtime(runtime)
        .role(role)
        .handler("index.handler")
        .code(FunctionCode::builder().zip_file(Blob::new(code)).build())
        .environment(e.build())
        .send()
        .await
        .unwrap_or_else(|err| panic!("create function {name}: {err:?}"));
}

/// Plant every risk moto can hold, each beside a clean twin. Returns names for ids moto makes.
async fn seed(url: &str, db_password: &str, stage_token: &str) -> BTreeMap<&'static str, String> {
    let conf = sdk_conf(url, "us-east-1").await;
    let s3 = s3_client(url, "us-east-1").await;
    let mut ids = BTreeMap::new();

    // S3. acme-www-prod: the site (clean: versioned, encrypted, blocked, served by CloudFront).
    bucket(&s3, "acme-www-prod", true).await;
    versioned_encrypted(&s3, "acme-www-prod").await;
    bucket(&s3, "acme-www-dev", true).await;
    // acme-public: a policy for anyone, a public ACL, no public access block, a website that no
    // distribution serves.
    bucket(&s3, "acme-public", false).await;
    s3.put_bucket_policy()
        .bucket("acme-public")
        .policy(r#"{"Version":"2012-10-17","Statement":[{"Sid":"Anyone","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-public/*"}]}"#)
        .send()
        .await
        .unwrap();
    public_acl(&s3, "acme-public", true).await;
    {
        use aws_sdk_s3::types::*;
        s3.put_bucket_website()
            .bucket("acme-public")
            .website_configuration(
                WebsiteConfiguration::builder()
                    .index_document(
                        IndexDocument::builder()
                            .suffix("index.html")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    // acme-logs-prod: prod, neither versioned nor encrypted (its twin is acme-www-prod).
    bucket(&s3, "acme-logs-prod", true).await;

    // CloudFront: prod and dev on their own buckets (twins); staging on the prod bucket under
    // `/_staging` (the plant); a legacy site on a bucket that is gone.
    let (prod_id, prod_domain) = distribution(
        &conf,
        "prod",
        "prod site",
        &[("acme-www-prod.s3.us-east-1.amazonaws.com", "")],
    )
    .await;
    let (staging_id, _) = distribution(
        &conf,
        "staging",
        "staging site",
        &[("acme-www-prod.s3.us-east-1.amazonaws.com", "/_staging")],
    )
    .await;
    let (dev_id, _) = distribution(
        &conf,
        "dev",
        "dev site",
        &[("acme-www-dev.s3.us-east-1.amazonaws.com", "")],
    )
    .await;
    let (legacy_id, _) = distribution(
        &conf,
        "legacy",
        "legacy site",
        &[("acme-gone.s3.amazonaws.com", "")],
    )
    .await;
    ids.insert("prod", prod_id);
    ids.insert("staging", staging_id);
    ids.insert("dev", dev_id);
    ids.insert("legacy", legacy_id);

    // Route53: www points at the prod distribution (twin), assets at a bucket that is gone
    // (plant); a parked zone with nothing in it (plant).
    let r53 = aws_sdk_route53::Client::new(&conf);
    let z = zone(&r53, "acme.example.com").await;
    record(&r53, &z, "www.acme.example.com", &prod_domain).await;
    record(
        &r53,
        &z,
        "assets.acme.example.com",
        "acme-assets-gone.s3.amazonaws.com",
    )
    .await;
    let parked = zone(&r53, "parked.example.net").await;
    ids.insert("zone", z);
    ids.insert("parked", parked);

    // DynamoDB: orders-prod without PITR (plant), sessions-prod with it (twin).
    table(&conf, "orders-prod", false).await;
    table(&conf, "sessions-prod", true).await;

    // IAM: `*` on `*` (plant) and a narrow policy (twin); a trust policy open to anyone (plant)
    // and the Lambda role (twin).
    let iam = aws_sdk_iam::Client::new(&conf);
    iam.create_policy()
        .policy_name("everything")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    iam.create_policy()
        .policy_name("read-site")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-www-prod/*"}]}"#)
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name("open-role")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .unwrap();
    let role = iam
        .create_role()
        .role_name("lambda-role")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .unwrap();
    let role_arn = role.role().unwrap().arn().to_string();

    // Lambda: a staging function reading the prod table and holding a password (plants), the
    // prod function with a trigger (twin); an old runtime (plant).
    use aws_sdk_lambda::types::Runtime;
    function(
        &conf,
        &role_arn,
        "orders-staging",
        Runtime::Python312,
        &[("TABLE", "orders-prod"), ("DB_PASSWORD", db_password)],
    )
    .await;
    function(
        &conf,
        &role_arn,
        "orders-prod",
        Runtime::Python312,
        &[("TABLE", "orders-prod"), ("LOG_LEVEL", "info")],
    )
    .await;
    aws_sdk_lambda::Client::new(&conf)
        .add_permission()
        .function_name("orders-prod")
        .statement_id("allow-s3")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .source_arn("arn:aws:s3:::acme-www-prod")
        .send()
        .await
        .unwrap();
    function(&conf, &role_arn, "old-cron", Runtime::Python38, &[]).await;

    // API Gateway: a stage with a token in its variables (plant) beside a host name (no finding).
    let apigw = aws_sdk_apigateway::Client::new(&conf);
    let api = apigw
        .create_rest_api()
        .name("shop-api")
        .send()
        .await
        .unwrap();
    let api_id = api.id().unwrap().to_string();
    let root = apigw
        .get_resources()
        .rest_api_id(&api_id)
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .find(|r| r.path() == Some("/"))
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    apigw
        .put_method()
        .rest_api_id(&api_id)
        .resource_id(&root)
        .http_method("GET")
        .authorization_type("NONE")
        .send()
        .await
        .unwrap();
    apigw
        .put_integration()
        .rest_api_id(&api_id)
        .resource_id(&root)
        .http_method("GET")
        .r#type(aws_sdk_apigateway::types::IntegrationType::Mock)
        .send()
        .await
        .unwrap();
    apigw
        .create_deployment()
        .rest_api_id(&api_id)
        .stage_name("v1")
        .variables("backendToken", stage_token)
        .variables("backendHost", "backend.internal")
        .send()
        .await
        .unwrap();
    ids.insert("api", api_id);

    // ACM: an imported certificate that expires in 5 days (plant) and one good for 400 (twin).
    for (name, days) in [("cert_expiring", 5), ("cert_fine", 400)] {
        let (cert, key) = self_signed(&format!("{name}.acme.example.com"), days);
        let arn = aws_sdk_acm::Client::new(&conf)
            .import_certificate()
            .certificate(aws_sdk_acm::primitives::Blob::new(cert))
            .private_key(aws_sdk_acm::primitives::Blob::new(key))
            .send()
            .await
            .unwrap_or_else(|e| panic!("import certificate: {e:?}"))
            .certificate_arn()
            .unwrap()
            .to_string();
        ids.insert(name, arn.rsplit('/').next().unwrap().to_string());
    }
    ids
}

/// A self-signed certificate valid for `days` and its key (PEM), made by openssl.
fn self_signed(cn: &str, days: u32) -> (Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    let o = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj"])
        .arg(format!("/CN={cn}"))
        .arg("-days")
        .arg(days.to_string())
        .arg("-keyout")
        .arg(&k)
        .arg("-out")
        .arg(&c)
        .output()
        .expect("openssl (apt-get install openssl)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (std::fs::read(&c).unwrap(), std::fs::read(&k).unwrap())
}

fn findings_json(repo: &Path, url: &str, args: &[&str]) -> Value {
    let mut a = vec!["--json", "findings"];
    a.extend_from_slice(args);
    let o = infrasnap(repo, url, &a);
    assert_code(&o, 0);
    serde_json::from_slice(&o.stdout).expect("json")
}

fn by_rule<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

fn has(report: &Value, rule: &str, resource: &str) -> Option<String> {
    by_rule(report, rule)
        .into_iter()
        .find(|f| f["resource"] == resource)
        .map(|f| f["state"].as_str().unwrap().to_string())
}

/// The text output with moto's random ids and the run's time replaced by names.
fn normalised(text: &str, ids: &BTreeMap<&'static str, String>) -> String {
    let mut t = text.to_string();
    for (name, id) in ids {
        t = t.replace(id.as_str(), &format!("<{name}>"));
        t = t.replace(&id.to_ascii_lowercase(), &format!("<{name}>"));
    }
    regex_lite(&t)
}

/// Replace RFC 3339 times (`2026-12-02T10:00:00Z`) and `fp:` fingerprints.
fn regex_lite(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let rest = &t[i..];
        let is_time = rest.len() >= 20
            && rest.as_bytes()[4] == b'-'
            && rest.as_bytes()[10] == b'T'
            && rest[..4].bytes().all(|c| c.is_ascii_digit())
            && rest.as_bytes()[19] == b'Z';
        if is_time {
            out.push_str("<time>");
            i += 20;
            continue;
        }
        if rest.starts_with("fp:") && rest.len() >= 27 {
            out.push_str("fp:<fingerprint>");
            i += 27;
            continue;
        }
        let c = rest.chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_on_a_planted_estate_across_snapshots_and_the_report() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let db_password = format!("pw-{}", random(b"abcdefghijklmnopqrstuvwxyz0123456789", 24));
    let stage_token = format!("tk-{}", random(b"abcdefghijklmnopqrstuvwxyz0123456789", 24));
    let ids = seed(&url, &db_password, &stage_token).await;
    let only = [
        "--only",
        "s3,cloudfront,route53,dynamodb,iam,lambda,apigateway,acm",
        "--regions",
        "us-east-1",
    ];
    let mut args = only.to_vec();
    args.extend(["--label", "one"]);
    snapshot(&repo, &url, &args);

    let r = findings_json(&repo, &url, &[]);
    assert_eq!(r["snapshot"], "one");
    let dist = |n: &str| format!("aws.cloudfront.distribution:{ACCT}::{}", ids[n]);
    let bucket = |n: &str| format!("aws.s3.bucket:{ACCT}::{n}");
    let fun = |n: &str| format!("aws.lambda.function:{ACCT}:us-east-1:{n}");
    // (rule, planted resource, clean twins)
    let cases: Vec<(&str, String, Vec<String>)> = vec![
        (
            "wiring.cross-env",
            dist("staging"),
            vec![dist("prod"), dist("dev")],
        ),
        (
            "wiring.cross-env",
            fun("orders-staging"),
            vec![fun("orders-prod")],
        ),
        (
            "cloudfront.origin-bucket",
            dist("legacy"),
            vec![dist("prod"), dist("dev")],
        ),
        (
            "dns.dangling",
            format!(
                "aws.route53.record_set:{ACCT}::{}/assets.acme.example.com./CNAME",
                ids["zone"]
            ),
            vec![format!(
                "aws.route53.record_set:{ACCT}::{}/www.acme.example.com./CNAME",
                ids["zone"]
            )],
        ),
        (
            "exposure.public-policy",
            bucket("acme-public"),
            vec![bucket("acme-www-prod")],
        ),
        (
            "exposure.public-acl",
            bucket("acme-public"),
            vec![bucket("acme-www-prod")],
        ),
        (
            "exposure.public-access-block-off",
            bucket("acme-public"),
            vec![bucket("acme-www-prod"), bucket("acme-logs-prod")],
        ),
        (
            "exposure.website-without-cloudfront",
            bucket("acme-public"),
            vec![bucket("acme-www-prod")],
        ),
        (
            "acm.expiring",
            format!(
                "aws.acm.certificate:{ACCT}:us-east-1:{}",
                ids["cert_expiring"]
            ),
            vec![format!(
                "aws.acm.certificate:{ACCT}:us-east-1:{}",
                ids["cert_fine"]
            )],
        ),
        (
            "secrets.plaintext",
            fun("orders-staging"),
            vec![fun("orders-prod")],
        ),
        (
            "iam.admin-policy",
            format!("aws.iam.policy:{ACCT}::everything"),
            vec![format!("aws.iam.policy:{ACCT}::read-site")],
        ),
        (
            "iam.open-trust",
            format!("aws.iam.role:{ACCT}::open-role"),
            vec![format!("aws.iam.role:{ACCT}::lambda-role")],
        ),
        (
            "hygiene.deprecated-runtime",
            fun("old-cron"),
            vec![fun("orders-prod")],
        ),
        (
            "hygiene.function-without-trigger",
            fun("old-cron"),
            vec![fun("orders-prod")],
        ),
        (
            "hygiene.prod-bucket-unencrypted",
            bucket("acme-logs-prod"),
            vec![bucket("acme-www-prod")],
        ),
        (
            "hygiene.prod-bucket-unversioned",
            bucket("acme-logs-prod"),
            vec![bucket("acme-www-prod")],
        ),
        (
            "hygiene.table-without-pitr",
            format!("aws.dynamodb.table:{ACCT}:us-east-1:orders-prod"),
            vec![format!("aws.dynamodb.table:{ACCT}:us-east-1:sessions-prod")],
        ),
        (
            "hygiene.empty-zone",
            format!("aws.route53.zone:{ACCT}::{}", ids["parked"]),
            vec![format!("aws.route53.zone:{ACCT}::{}", ids["zone"])],
        ),
    ];
    for (rule, plant, twins) in &cases {
        assert_eq!(
            has(&r, rule, plant).as_deref(),
            Some("new"),
            "{rule} on {plant}: {r:#}"
        );
        for t in twins {
            assert_eq!(has(&r, rule, t), None, "{rule} must not fire on twin {t}");
        }
    }
    // The staging distribution's evidence names the prod bucket and the origin path.
    let staging = by_rule(&r, "wiring.cross-env")
        .into_iter()
        .find(|f| f["resource"] == dist("staging"))
        .unwrap();
    let ev = staging["evidence"].to_string();
    assert!(
        ev.contains("acme-www-prod") && ev.contains("/_staging"),
        "{ev}"
    );
    // The staging function's variable names the prod table, by fingerprint.
    let f = by_rule(&r, "wiring.cross-env")
        .into_iter()
        .find(|f| f["resource"] == fun("orders-staging"))
        .unwrap();
    assert!(f["evidence"]
        .to_string()
        .contains("/Configuration/Environment/Variables/TABLE"));
    // No secret value anywhere in the output or the report.
    let text = stdout(&infrasnap(&repo, &url, &["findings"]));
    for secret in [&db_password, &stage_token] {
        assert!(!r.to_string().contains(secret.as_str()) && !text.contains(secret.as_str()));
    }
    let api = by_rule(&r, "secrets.plaintext")
        .into_iter()
        .find(|f| f["resource"].as_str().unwrap().contains("rest_api"))
        .unwrap();
    let ev = api["evidence"].to_string();
    assert!(
        ev.contains("/variables/backendToken") && !ev.contains("backendHost"),
        "{ev}"
    );
    insta::assert_snapshot!("findings_text_one", normalised(&text, &ids));

    // MANIFEST.md has the section.
    let manifest = std::fs::read_to_string(repo.join("one/MANIFEST.md")).unwrap();
    assert!(
        manifest.contains("## Findings") && manifest.contains("| high | wiring.cross-env | new |"),
        "{manifest}"
    );

    // --fail-on: exit 8 when a finding at that severity counts.
    let o = infrasnap(&repo, &url, &["findings", "--fail-on", "high"]);
    assert_code(&o, 8);
    let o = infrasnap(&repo, &url, &["findings", "--fail-on", "urgent"]);
    assert_code(&o, 2);

    // Fixed: the public ACL goes; the rest persists.
    let s3 = s3_client(&url, "us-east-1").await;
    public_acl(&s3, "acme-public", false).await;
    let mut args = only.to_vec();
    args.extend(["--label", "two"]);
    snapshot(&repo, &url, &args);
    let r2 = findings_json(&repo, &url, &["two"]);
    assert_eq!(r2["previous"], "one");
    assert_eq!(
        has(&r2, "exposure.public-acl", &bucket("acme-public")).as_deref(),
        Some("resolved")
    );
    assert_eq!(
        has(&r2, "wiring.cross-env", &dist("staging")).as_deref(),
        Some("persisting")
    );

    // Planted again: regressed.
    public_acl(&s3, "acme-public", true).await;
    let mut args = only.to_vec();
    args.extend(["--label", "three"]);
    snapshot(&repo, &url, &args);
    let r3 = findings_json(&repo, &url, &["three"]);
    assert_eq!(
        has(&r3, "exposure.public-acl", &bucket("acme-public")).as_deref(),
        Some("regressed")
    );
    // Earlier snapshots keep their own answer.
    let r1 = findings_json(&repo, &url, &["one"]);
    assert_eq!(
        has(&r1, "exposure.public-acl", &bucket("acme-public")).as_deref(),
        Some("new")
    );

    // Suppressions: a live one hides, an expired one reports again, a malformed one is refused.
    let cfg = tmp.path().join("infrasnap.toml");
    std::fs::write(&cfg, "[[findings.suppress]]\nrule = \"exposure.*\"\nresource = \"aws.s3.bucket:*::acme-public\"\nreason = \"public downloads\"\nexpires = \"2999-01-01\"\n\n[[findings.suppress]]\nrule = \"iam.admin-policy\"\nresource = \"*::everything\"\nreason = \"break-glass\"\nexpires = \"2020-01-01\"\n").unwrap();
    let cfg_s = cfg.to_str().unwrap();
    let s = findings_json(&repo, &url, &["three", "--config", cfg_s]);
    let acl = by_rule(&s, "exposure.public-acl")[0];
    assert_eq!(acl["suppressed"]["expired"], false);
    let admin = by_rule(&s, "iam.admin-policy")[0];
    assert_eq!(admin["suppressed"]["expired"], true);
    let o = infrasnap(
        &repo,
        &url,
        &["findings", "three", "--config", cfg_s, "--fail-on", "high"],
    );
    assert_code(&o, 8); // the expired suppression no longer hides `*` on `*`
    std::fs::write(&cfg, "[[findings.suppress]]\nrule = \"exposure.*\"\nresource = \"x\"\nreason = \"r\"\nexpires = \"someday\"\n").unwrap();
    let o = infrasnap(&repo, &url, &["findings", "three", "--config", cfg_s]);
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains("not a date") && stderr(&o).contains("YYYY-MM-DD"),
        "{}",
        stderr(&o)
    );

    // An unknown snapshot.
    let o = infrasnap(&repo, &url, &["findings", "nope"]);
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains("no snapshot named `nope`") && stderr(&o).contains("one, two, three"),
        "{}",
        stderr(&o)
    );

    // The report: one file, no network references, the same bytes twice.
    let page = tmp.path().join("report.html");
    let o = infrasnap(
        &repo,
        &url,
        &["report", "three", "-o", page.to_str().unwrap()],
    );
    assert_code(&o, 0);
    let html = std::fs::read_to_string(&page).unwrap();
    let page2 = tmp.path().join("report2.html");
    assert_code(
        &infrasnap(
            &repo,
            &url,
            &["report", "three", "-o", page2.to_str().unwrap()],
        ),
        0,
    );
    assert_eq!(
        html,
        std::fs::read_to_string(&page2).unwrap(),
        "the report is deterministic"
    );
    assert!(!html.contains("<link") && !html.contains("src=\"http") && !html.contains("@import"));
    assert!(!html.contains(&db_password) && !html.contains(&stage_token));
    assert!(html.len() < 5 << 20);
    browser_check(&page, &ids["staging"]);
}

/// Load the page in headless Chromium: no console errors, the script ran, the content is there.
fn browser_check(page: &Path, staging_id: &str) {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        eprintln!("NOTE: no Chromium found (apt-get install chromium); the browser check of the report is skipped");
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
            &format!("--user-data-dir={}", profile.path().display()),
            "--virtual-time-budget=3000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&o.stdout);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "chromium failed: {log}");
    for line in log.lines() {
        assert!(
            !(line.contains("CONSOLE") && (line.contains("Error") || line.contains("Uncaught"))),
            "console error: {line}"
        );
    }
    // The filter script ran (it fills the count).
    assert!(dom.contains(" shown</span>"), "the script did not run");
    for h in [
        "Summary",
        "Inventory",
        "Findings",
        "Changes since the previous snapshot",
        "Estate map",
    ] {
        assert!(dom.contains(&format!(">{h}")), "heading {h}");
    }
    for th in [
        "<th>Severity</th>",
        "<th>Rule</th>",
        "<th>Kind</th>",
        "<th>Resources</th>",
    ] {
        assert!(dom.contains(th), "table header {th}");
    }
    assert!(dom.contains("wiring.cross-env"), "a named finding");
    assert!(dom.contains("id=\"c-high\""), "the counts");
    // The staging distribution and its prod origin as SVG nodes, joined by a cross-env edge.
    assert!(
        dom.contains(&format!("data-key=\"cf:{staging_id}\"")),
        "staging distribution node"
    );
    assert!(
        dom.contains("class=\"node kind-bucket env-prod\" data-key=\"bucket:acme-www-prod\""),
        "prod origin node"
    );
    assert!(dom.contains(&format!("class=\"edge cross-env\" data-from=\"cf:{staging_id}\" data-to=\"bucket:acme-www-prod\"")), "cross-env edge");
    assert!(dom.contains("class=\"edge dangling\""), "a dangling link");
}
