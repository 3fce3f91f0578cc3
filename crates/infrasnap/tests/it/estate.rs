//! The whole AWS side of an estate in one `infrasnap snapshot`: every service, two regions, two
//! accounts (the second through sts:AssumeRole with an external id, as a real multi-account run
//! does). Each account's files carry its id in their paths (`lambda_functions/<id>/<region>/`,
//! buckets by name under `s3_buckets/`), whatever the number of accounts; each service's files
//! are asserted there, and every resource is in the catalog with its account. Planted secrets (a Lambda environment value, an SSM SecureString, a Secrets
//! Manager value, an API Gateway stage variable), made at run time, appear in no file under the
//! repository and in no output. A second snapshot of the unchanged estate adds no blob.
//!
//! The per-service tests (s3_snapshot.rs, lambda.rs, ...) assert every field; this one asserts
//! that the services work together, per account and region, in one run.

use crate::common;

use std::collections::BTreeMap;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use common::*;
use serde_json::Value;

const ROLE: &str = "arn:aws:iam::222222222222:role/infrasnap-read";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// Secrets made at run time, so nothing in the source can leak them.
struct Planted {
    lambda_env: String,
    ssm: String,
    secrets_manager: String,
    stage_variable: String,
}

impl Planted {
    fn new(account: &str) -> Planted {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let mk = |what: &str| {
            format!(
                "pl4nt-{what}-{account}-{:x}{:x}",
                nanos ^ 0x9e37_79b9_7f4a_7c15,
                std::process::id()
            )
        };
        Planted {
            lambda_env: mk("lambda"),
            ssm: mk("ssm"),
            secrets_manager: mk("sm"),
            stage_variable: mk("stage"),
        }
    }

    fn all(&self) -> [&str; 4] {
        [
            &self.lambda_env,
            &self.ssm,
            &self.secrets_manager,
            &self.stage_variable,
        ]
    }
}

async fn base_conf(endpoint: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await
}

/// Credentials of the second account, through AssumeRole, for seeding it.
async fn assumed_conf(endpoint: &str, region: &str) -> SdkConfig {
    let base = base_conf(endpoint, "us-east-1").await;
    let r = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("seed")
        .external_id("acme-infrasnap")
        .send()
        .await
        .unwrap();
    let c = r.credentials().unwrap();
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "assumed",
        ))
        .load()
        .await
}

/// One account's estate: `site` names its resources apart from the other account's.
async fn seed_account(
    conf: impl AsyncFn(&str) -> SdkConfig,
    site: &str,
    p: &Planted,
) -> BTreeMap<&'static str, String> {
    let mut ids = BTreeMap::new();
    let us = conf("us-east-1").await;
    let eu = conf("eu-west-1").await;

    // S3: a website bucket.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&us)
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("{site}-www");
    create_bucket(&s3, &bucket).await;
    put(
        &s3,
        &bucket,
        "index.html",
        format!("<h1>{site}</h1>").as_bytes(),
    )
    .await;

    // DynamoDB: a table with items in the second region.
    {
        use aws_sdk_dynamodb::types::*;
        let ddb = aws_sdk_dynamodb::Client::new(&eu);
        ddb.create_table()
            .table_name(format!("{site}-events"))
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
        for i in 0..20 {
            ddb.put_item()
                .table_name(format!("{site}-events"))
                .item("id", AttributeValue::S(format!("ev-{i:03}")))
                .item("title", AttributeValue::S(format!("Event {i}")))
                .send()
                .await
                .unwrap();
        }
    }

    // Route53: a public zone with a record.
    {
        use aws_sdk_route53::types::*;
        let r53 = aws_sdk_route53::Client::new(&us);
        let zone = r53
            .create_hosted_zone()
            .name(format!("{site}.example.com"))
            .caller_reference(format!("{site}-zone"))
            .send()
            .await
            .unwrap();
        let zone_id = zone.hosted_zone().unwrap().id().to_string();
        r53.change_resource_record_sets()
            .hosted_zone_id(&zone_id)
            .change_batch(
                ChangeBatch::builder()
                    .changes(
                        Change::builder()
                            .action(ChangeAction::Upsert)
                            .resource_record_set(
                                ResourceRecordSet::builder()
                                    .name(format!("www.{site}.example.com"))
                                    .r#type(RrType::A)
                                    .ttl(300)
                                    .resource_records(
                                        ResourceRecord::builder()
                                            .value("192.0.2.10")
                                            .build()
                                            .unwrap(),
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

    // IAM: the Lambda execution role.
    let iam = aws_sdk_iam::Client::new(&us);
    let role = iam
        .create_role()
        .role_name(format!("{site}-lambda"))
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let role_arn = role.role().unwrap().arn().to_string();

    // ACM: a certificate in us-east-1 (CloudFront's region).
    let acm = aws_sdk_acm::Client::new(&us);
    let cert = acm
        .request_certificate()
        .domain_name(format!("www.{site}.example.com"))
        .send()
        .await
        .unwrap();
    ids.insert(
        "certificate",
        cert.certificate_arn()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string(),
    );

    // SES: a sending domain in the second region.
    aws_sdk_sesv2::Client::new(&eu)
        .create_email_identity()
        .email_identity(format!("{site}.example.com"))
        .send()
        .await
        .unwrap();

    // SSM: a SecureString (planted) and a plain parameter, in both regions.
    for (c, region) in [(&us, "us-east-1"), (&eu, "eu-west-1")] {
        let ssm = aws_sdk_ssm::Client::new(c);
        ssm.put_parameter()
            .name(format!("/{site}/db-password"))
            .value(&p.ssm)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .unwrap();
        ssm.put_parameter()
            .name(format!("/{site}/region"))
            .value(region)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .unwrap();
    }

    // Secrets Manager: a planted secret.
    aws_sdk_secretsmanager::Client::new(&us)
        .create_secret()
        .name(format!("{site}/stripe"))
        .secret_string(format!("{{\"api_key\":\"{}\"}}", p.secrets_manager))
        .send()
        .await
        .unwrap();

    // CloudFront: the site's distribution in front of its bucket.
    {
        use aws_sdk_cloudfront::types::*;
        let behavior = behavior_to("s3").build().unwrap();
        let cfg = DistributionConfig::builder()
            .caller_reference(format!("{site}-cdn"))
            .origins(
                Origins::builder()
                    .quantity(1)
                    .items(
                        Origin::builder()
                            .id("s3")
                            .domain_name(format!("{bucket}.s3.us-east-1.amazonaws.com"))
                            .s3_origin_config(
                                S3OriginConfig::builder().origin_access_identity("").build(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .default_cache_behavior(behavior)
            .comment(format!("{site} website"))
            .enabled(true)
            .build()
            .unwrap();
        let d = aws_sdk_cloudfront::Client::new(&us)
            .create_distribution()
            .distribution_config(cfg)
            .send()
            .await
            .unwrap();
        ids.insert("distribution", d.distribution().unwrap().id().to_string());
    }

    // Lambda: a function in each region; the planted secret in its environment.
    for (c, region) in [(&us, "us-east-1"), (&eu, "eu-west-1")] {
        use aws_sdk_lambda::primitives::Blob;
        use aws_sdk_lambda::types::*;
        let code = stored_zip(&[(
            "index.py",
            format!("def handler(e, c):\n    return '{site} {region}'\n").as_bytes(),
        )]);
        aws_sdk_lambda::Client::new(c)
            .create_function()
            .function_name(format!("{site}-render"))
            .runtime(Runtime::Python312)
            .role(&role_arn)
            .handler("index.handler")
            .code(FunctionCode::builder().zip_file(Blob::new(code)).build())
            .environment(
                Environment::builder()
                    .variables("STRIPE_KEY", &p.lambda_env)
                    .variables("STAGE", "prod")
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    // API Gateway: a REST API with a deployment and a stage whose variable is a secret.
    {
        let apigw = aws_sdk_apigateway::Client::new(&us);
        let api = apigw
            .create_rest_api()
            .name(format!("{site}-api"))
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
            .stage_name("prod")
            .variables("backendToken", &p.stage_variable)
            .variables("backendHost", "backend.internal")
            .send()
            .await
            .unwrap();
        ids.insert("rest_api", api_id);
    }

    // Lightsail (the harness stand-in, behind the same endpoint): the blog server.
    aws_sdk_lightsail::Client::new(&us)
        .create_instances()
        .instance_names(format!("{site}-blog"))
        .availability_zone("us-east-1a")
        .blueprint_id("wordpress")
        .bundle_id("nano_3_0")
        .send()
        .await
        .unwrap();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_accounts_two_regions_every_service_no_secret_leaks_and_no_change_adds_nothing() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let (pa, pb) = (Planted::new("a"), Planted::new("b"));
    let a = seed_account(async |r: &str| base_conf(&url, r).await, "acme", &pa).await;
    let b = seed_account(async |r: &str| assumed_conf(&url, r).await, "shop", &pb).await;

    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let cfg = tmp.path().join("infrasnap.toml");
    std::fs::write(
        &cfg,
        format!(
            "[aws]\nregions = [\"{}\", \"{}\"]\n\n[[aws.accounts]]\nname = \"main\"\n\n\
             [[aws.accounts]]\nname = \"shop\"\nrole_arn = \"{ROLE}\"\nexternal_id = \"acme-infrasnap\"\n",
            REGIONS[0], REGIONS[1]
        ),
    )
    .unwrap();
    let cfg_arg = cfg.to_str().unwrap();
    let o = infrasnap(
        &repo,
        &url,
        &[
            "--json", "snapshot", "--config", cfg_arg, "--label", "first",
        ],
    );
    let out: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&o), stderr(&o)));
    let meta = &out["metadata"];
    assert_eq!(meta["status"], "complete", "{meta:#}\n{}", stderr(&o));
    assert_code(&o, 0);
    let snap = snapshot_dir(&repo, meta);
    let catalog: Vec<Value> = std::fs::read_to_string(snap.join("catalog/resources.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Every AWS kind of both accounts is in the catalog, and every listing was complete.
    for acct in ["123456789012", "222222222222"] {
        for kind in [
            "aws.s3.bucket",
            "aws.dynamodb.table",
            "aws.route53.zone",
            "aws.route53.record_set",
            "aws.iam.role",
            "aws.acm.certificate",
            "aws.ses.identity",
            "aws.ssm.parameter",
            "aws.secretsmanager.secret",
            "aws.cloudfront.distribution",
            "aws.lambda.function",
            "aws.apigateway.rest_api",
            "aws.lightsail.instance",
        ] {
            assert!(
                catalog.iter().any(|r| r["id"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{kind}:{acct}:"))),
                "no {kind} of {acct} in the catalog"
            );
        }
    }
    let coverage = std::fs::read_to_string(snap.join("catalog/coverage.jsonl")).unwrap();
    assert!(!coverage.contains("\"failed\""), "{coverage}");

    for (acct, site, ids) in [("123456789012", "acme", &a), ("222222222222", "shop", &b)] {
        let root = snap.clone();
        for svc in [
            "s3",
            "dynamodb",
            "route53",
            "iam",
            "acm",
            "ses",
            "ssm",
            "cloudfront",
            "lambda",
            "apigateway",
            "lightsail",
        ] {
            let c = &meta["collectors"][format!("{svc}:{acct}")];
            assert_eq!(c["status"], "complete", "{svc} of {acct}: {c:#}");
        }
        // S3
        assert_eq!(
            std::fs::read(root.join(format!("s3_buckets/{site}-www/index.html"))).unwrap(),
            format!("<h1>{site}</h1>").as_bytes()
        );
        // DynamoDB, second region only.
        let t = read_json(&root.join(format!(
            "dynamodb_tables/{acct}/eu-west-1/{site}-events/table.json"
        )));
        assert_eq!(t["TableName"], format!("{site}-events"));
        assert!(!root
            .join(format!("dynamodb_tables/{acct}/us-east-1/{site}-events"))
            .exists());
        let c = &meta["collectors"][format!("dynamodb:{acct}")];
        assert_eq!(c["counts"]["items"], 20);
        // Route53, global, with its BIND file.
        let zone_rec = catalog
            .iter()
            .find(|r| {
                r["id"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("aws.route53.zone:{acct}::"))
                    && r["label"] == format!("{site}.example.com")
            })
            .unwrap_or_else(|| panic!("no zone of {site} in the catalog"));
        let zone = root.join(
            std::path::Path::new(zone_rec["path"].as_str().unwrap())
                .parent()
                .unwrap(),
        );
        assert!(zone
            .to_string_lossy()
            .contains(&format!("route53_zones/{acct}/{site}.example.com_")));
        let records = std::fs::read_to_string(zone.join("records.json")).unwrap();
        assert!(records.contains("192.0.2.10"), "{records}");
        assert!(zone.join(format!("{site}.example.com.zone")).is_file());
        // IAM
        let r = read_json(&root.join(format!("iam/{acct}/roles/{site}-lambda.json")));
        assert_eq!(r["Arn"], format!("arn:aws:iam::{acct}:role/{site}-lambda"));
        // ACM
        let cert = read_json(&root.join(format!(
            "acm_certificates/{acct}/us-east-1/{}.json",
            ids["certificate"]
        )));
        assert_eq!(cert["DomainName"], format!("www.{site}.example.com"));
        // SES
        let ses =
            std::fs::read_to_string(root.join(format!("ses/{acct}/eu-west-1/identities.json")))
                .unwrap();
        assert!(ses.contains(&format!("{site}.example.com")), "{ses}");
        // SSM in both regions; the SecureString as a fingerprint only.
        for region in REGIONS {
            let p =
                read_json(&root.join(format!("ssm_parameters/{acct}/{region}/parameters.json")));
            let params = p["Items"].as_array().unwrap();
            let pw = params
                .iter()
                .find(|x| x["Name"] == format!("/{site}/db-password"))
                .unwrap();
            assert_eq!(pw["Type"], "SecureString");
            assert!(pw["ValueFingerprint"].as_str().unwrap().starts_with("fp:"));
            let plain = params
                .iter()
                .find(|x| x["Name"] == format!("/{site}/region"))
                .unwrap();
            assert_eq!(plain["Value"], region);
        }
        // Secrets Manager
        let s = read_json(&root.join(format!("secrets_manager/{acct}/us-east-1/secrets.json")));
        assert_eq!(s["Items"][0]["Name"], format!("{site}/stripe"));
        // CloudFront
        let d = read_json(&root.join(format!(
            "cloudfront_distributions/{acct}/{}.json",
            ids["distribution"]
        )));
        assert_eq!(
            d["DistributionConfig"]["Comment"],
            format!("{site} website")
        );
        // Lambda, in both regions: code byte-exact, environment names without values.
        for region in REGIONS {
            let l = root.join(format!("lambda_functions/{acct}/{region}"));
            let zip = std::fs::read(l.join(format!("function_code/{site}-render.zip"))).unwrap();
            assert!(contains(&zip, format!("'{site} {region}'").as_bytes()));
            let env =
                std::fs::read_to_string(l.join(format!("function_env_vars/{site}-render.json")))
                    .unwrap();
            assert!(env.contains("STRIPE_KEY") && env.contains("fp:"), "{env}");
            assert!(l
                .join(format!("function_config/{site}-render.json"))
                .is_file());
        }
        // API Gateway: the REST API with its stage, the variable as a fingerprint.
        let api = std::fs::read_to_string(root.join(format!(
            "api_gateway/{acct}/us-east-1/rest_apis/{}/api.json",
            ids["rest_api"]
        )))
        .unwrap();
        let api: Value = serde_json::from_str(&api).unwrap();
        let vars = &api["stages"][0]["variables"];
        // Every stage variable value becomes a marker, whatever its name.
        for name in ["backendToken", "backendHost"] {
            assert!(
                vars[name].as_str().unwrap().starts_with("<redacted fp:"),
                "{vars}"
            );
        }
        // Lightsail.
        let i = read_json(&root.join(format!(
            "lightsail/{acct}/us-east-1/instances/{site}-blog.json"
        )));
        assert_eq!(i["blueprintId"], "wordpress");
        assert_eq!(i["bundleId"], "nano_3_0");
    }

    // No planted secret anywhere: not in any file (blobs included), not in any output.
    let planted: Vec<&str> = pa.all().into_iter().chain(pb.all()).collect();
    for f in walk_files(&repo) {
        let bytes = std::fs::read(&f).unwrap();
        for s in &planted {
            assert!(!contains(&bytes, s.as_bytes()), "{s} in {}", f.display());
        }
    }
    for s in &planted {
        assert!(!contains(&o.stdout, s.as_bytes()) && !contains(&o.stderr, s.as_bytes()));
    }

    // The unchanged estate again: a complete snapshot, not one new blob.
    let again = snapshot(&repo, &url, &["--config", cfg_arg, "--label", "again"]);
    assert_eq!(again["status"], "complete", "{again:#}");
    assert_eq!(again["totals"]["blobs_new"], 0, "{:#}", again["collectors"]);
    assert_code(&infrasnap(&repo, &url, &["verify", "--all"]), 0);
}

/// Run git in `dir` with a fixed identity and nothing from the developer's configuration.
fn git(dir: &std::path::Path, args: &[&str]) {
    let o = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn bucket_policy(statements: &[&str]) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    )
}

/// The resource `id` of a diff document, if listed.
fn listed<'a>(diff: &'a Value, id: &str) -> Option<&'a Value> {
    diff["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|k| k["resources"].as_array().into_iter().flatten())
        .find(|r| r["id"] == id)
}

/// Issue 10's round: an estate with every kind (AWS, Apps Script, a local git repository) is
/// snapshotted; then one field of each kind changes, an IAM policy's statements are reordered,
/// resources are deleted and added, and SES's listing is denied; the diff of the two snapshots
/// shows exactly those changes, the denied service as not comparable, and `log` names the
/// snapshot where each changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_shows_exactly_what_changed_in_every_kind_and_log_names_the_snapshot() {
    use infrasnap_emulator::gas::{GasServer, ScriptFile, ScriptProject};
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let p = Planted::new("d");
    let ids = seed_account(async |r: &str| base_conf(&url, r).await, "acme", &p).await;
    let acct = "123456789012";
    let us = base_conf(&url, "us-east-1").await;
    let eu = base_conf(&url, "eu-west-1").await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&us)
            .force_path_style(true)
            .build(),
    );
    let iam = aws_sdk_iam::Client::new(&us);
    let ssm = aws_sdk_ssm::Client::new(&us);
    let public_read = r#"{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-www/*"}"#;
    let deny_delete = r#"{"Sid":"DenyDelete","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::acme-www/*"}"#;
    put(&s3, "acme-www", "about.html", b"<p>about</p>").await;
    s3.put_bucket_policy()
        .bucket("acme-www")
        .policy(bucket_policy(&[public_read, deny_delete]))
        .send()
        .await
        .unwrap();
    let st_logs = r#"{"Sid":"Logs","Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}"#;
    let st_table = r#"{"Sid":"Table","Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*"}"#;
    let role_policy = |sts: [&str; 2]| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{},{}]}}"#,
            sts[0], sts[1]
        )
    };
    iam.put_role_policy()
        .role_name("acme-lambda")
        .policy_name("runtime")
        .policy_document(role_policy([st_logs, st_table]))
        .send()
        .await
        .unwrap();

    // Apps Script and a local git repository, from the config.
    let g = GasServer::start().await.unwrap();
    g.issue_token("gas-test-token", std::time::Duration::from_secs(3600));
    let script = "1AcmeEventsScript_0123456789abcdefghijklmnopq";
    let project = |code: &str| {
        ScriptProject::new(script, "Event registrations")
            .file(ScriptFile::manifest(r#"{"timeZone":"Etc/UTC"}"#))
            .file(ScriptFile::gs("Code", code))
    };
    g.add_project(project("function onOpen() { return 1; }\n"));
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("ops");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q"]);
    std::fs::write(work.join("deploy.sh"), "#!/bin/sh\necho deploy\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "first"]);
    let repo = tmp.path().join("repo");
    let cfg = tmp.path().join("infrasnap.toml");
    std::fs::write(
        &cfg,
        format!(
            "[aws]\nregions = [\"{}\", \"{}\"]\n\n[gas]\nscript_endpoint = \"{u}\"\n\
             drive_endpoint = \"{u}\"\ntoken_endpoint = \"{t}\"\ndiscover = false\n\n\
             [[gas.projects]]\nscript_id = \"{script}\"\nname = \"events\"\n\n\
             [[local]]\nname = \"ops\"\npath = \"{}\"\nkind = \"git\"\n",
            REGIONS[0],
            REGIONS[1],
            work.display(),
            u = g.url(),
            t = g.token_url(),
        ),
    )
    .unwrap();
    let cfg_arg = cfg.to_str().unwrap().to_string();
    let run = |label: &str| {
        command(
            &repo,
            &url,
            &["--json", "snapshot", "--config", &cfg_arg, "--label", label],
            &[("INFRASNAP_GAS_TOKEN", "gas-test-token")],
        )
        .output()
        .unwrap()
    };
    let o = run("before");
    assert_code(&o, 0);

    // One field of each kind.
    {
        use aws_sdk_lambda::types::Environment;
        aws_sdk_lambda::Client::new(&us)
            .update_function_configuration()
            .function_name("acme-render")
            .timeout(30)
            .environment(
                Environment::builder()
                    .variables("STRIPE_KEY", format!("{}-rotated", p.lambda_env))
                    .variables("STAGE", "prod")
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    {
        let cf = aws_sdk_cloudfront::Client::new(&us);
        let got = cf
            .get_distribution_config()
            .id(&ids["distribution"])
            .send()
            .await
            .unwrap();
        let mut config = got.distribution_config().unwrap().clone();
        let mut origins = config.origins().unwrap().clone();
        let mut o = origins.items()[0].clone();
        o.origin_path = Some("/_staging".into());
        origins.items = vec![o];
        config.origins = Some(origins);
        cf.update_distribution()
            .id(&ids["distribution"])
            .if_match(got.e_tag().unwrap())
            .distribution_config(config)
            .send()
            .await
            .unwrap();
    }
    let zone_id = {
        use aws_sdk_route53::types::*;
        let r53 = aws_sdk_route53::Client::new(&us);
        let zones = r53.list_hosted_zones().send().await.unwrap();
        let zone_id = zones.hosted_zones()[0]
            .id()
            .trim_start_matches("/hostedzone/")
            .to_string();
        r53.change_resource_record_sets()
            .hosted_zone_id(&zone_id)
            .change_batch(
                ChangeBatch::builder()
                    .changes(
                        Change::builder()
                            .action(ChangeAction::Upsert)
                            .resource_record_set(
                                ResourceRecordSet::builder()
                                    .name("www.acme.example.com")
                                    .r#type(RrType::A)
                                    .ttl(300)
                                    .resource_records(
                                        ResourceRecord::builder()
                                            .value("192.0.2.99")
                                            .build()
                                            .unwrap(),
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
        zone_id
    };
    {
        use aws_sdk_dynamodb::types::*;
        let ddb = aws_sdk_dynamodb::Client::new(&eu);
        ddb.put_item()
            .table_name("acme-events")
            .item("id", AttributeValue::S("ev-005".into()))
            .item(
                "title",
                AttributeValue::S("Event 5 (moved to Friday)".into()),
            )
            .send()
            .await
            .unwrap();
        ddb.update_continuous_backups()
            .table_name("acme-events")
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
    // An object rewritten by a careless deploy, now tagged. (A tag-only change of an object
    // whose bytes did not change is not re-read by a snapshot yet: issue 15.)
    s3.put_object()
        .bucket("acme-www")
        .key("index.html")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"<h1>acme, reverted by mistake</h1>",
        ))
        .tagging("review=yes")
        .send()
        .await
        .unwrap();
    let public_read_v2 = public_read.replace("acme-www/*", "acme-www/public/*");
    s3.put_bucket_policy()
        .bucket("acme-www")
        .policy(bucket_policy(&[&public_read_v2, deny_delete]))
        .send()
        .await
        .unwrap();
    ssm.put_parameter()
        .name("/acme/region")
        .value("us-east-2")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    g.add_project(project("function onOpen() { return 2; }\n"));
    std::fs::write(work.join("deploy.sh"), "#!/bin/sh\necho deploy v2\n").unwrap();
    git(&work, &["commit", "-q", "-am", "second"]);
    // The same IAM policy with its statements the other way round: no change.
    iam.put_role_policy()
        .role_name("acme-lambda")
        .policy_name("runtime")
        .policy_document(role_policy([st_table, st_logs]))
        .send()
        .await
        .unwrap();
    // Deleted and added.
    ssm.delete_parameter()
        .name("/acme/db-password")
        .send()
        .await
        .unwrap();
    ssm.put_parameter()
        .name("/acme/feature-flag")
        .value("on")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    aws_sdk_lambda::Client::new(&eu)
        .delete_function()
        .function_name("acme-render")
        .send()
        .await
        .unwrap();
    create_bucket(&s3, "acme-new").await;
    // SES denied for the second snapshot: a proxy answers every SES call AccessDenied, as AWS
    // does for a role without ses:*; everything else goes through.
    let denied = stub_proxy(&url, |r| {
        r.header("authorization")
            .is_some_and(|a| a.contains("/ses/aws4_request"))
            .then(|| Canned {
                status: 403,
                content_type: "application/json",
                extra_headers: "x-amzn-ErrorType: AccessDeniedException\r\n".into(),
                body: r#"{"message":"User: arn:aws:iam::123456789012:user/auditor is not authorized to perform: ses:*"}"#.into(),
            })
    })
    .await;
    let o = {
        let mut c = command(
            &repo,
            &denied,
            &[
                "--json", "snapshot", "--config", &cfg_arg, "--label", "after",
            ],
            &[("INFRASNAP_GAS_TOKEN", "gas-test-token")],
        );
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    };
    assert_code(&o, 3);

    let o = infrasnap(&repo, &url, &["--json", "diff", "before", "after"]);
    assert_code(&o, 5);
    let d: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&o), stderr(&o)));
    let status_of = |id: &str| {
        listed(&d, id)
            .map(|r| r["status"].as_str().unwrap().to_string())
            .unwrap_or_else(|| "unchanged".into())
    };
    let ats = |id: &str| -> Vec<String> {
        listed(&d, id).unwrap_or_else(|| panic!("{id} not listed: {d:#}"))["changes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c["at"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let lambda = format!("aws.lambda.function:{acct}:us-east-1:acme-render");
    let distribution = format!(
        "aws.cloudfront.distribution:{acct}::{}",
        ids["distribution"]
    );
    let record = format!("aws.route53.record_set:{acct}::{zone_id}/www.acme.example.com./A");
    let table = format!("aws.dynamodb.table:{acct}:eu-west-1:acme-events");
    let bucket = format!("aws.s3.bucket:{acct}::acme-www");
    let param = format!("aws.ssm.parameter:{acct}:us-east-1:/acme/region");
    let gas = format!("gas.project:::{script}");
    let local = "local.git:::ops".to_string();
    let mut expected: BTreeMap<String, &str> = BTreeMap::new();
    for id in [
        &lambda,
        &distribution,
        &record,
        &table,
        &bucket,
        &param,
        &gas,
        &local,
    ] {
        expected.insert(id.clone(), "modified");
    }
    expected.insert(
        format!("aws.ssm.parameter:{acct}:us-east-1:/acme/db-password"),
        "removed",
    );
    expected.insert(
        format!("aws.lambda.function:{acct}:eu-west-1:acme-render"),
        "removed",
    );
    expected.insert(
        format!("aws.ssm.parameter:{acct}:us-east-1:/acme/feature-flag"),
        "added",
    );
    expected.insert(format!("aws.s3.bucket:{acct}::acme-new"), "added");
    // SES was denied: its identity and its account settings (both regions) are not comparable.
    expected.insert(
        format!("aws.ses.identity:{acct}:eu-west-1:acme.example.com"),
        "not_comparable",
    );
    for region in REGIONS {
        expected.insert(
            format!("aws.ses.account:{acct}:{region}:account"),
            "not_comparable",
        );
    }
    // Exactly these, and nothing else.
    let got: BTreeMap<String, String> = d["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|k| k["resources"].as_array().into_iter().flatten())
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: BTreeMap<String, String> = expected
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    assert_eq!(got, want, "{d:#}");
    // Field by field.
    assert!(
        ats(&lambda).iter().any(|a| a == "/Configuration/Timeout"),
        "{:?}",
        ats(&lambda)
    );
    let secret = &listed(&d, &lambda).unwrap()["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["at"].as_str().unwrap().contains("STRIPE_KEY"))
        .unwrap()
        .clone();
    assert_eq!(secret["change"], "secret", "{secret:#}");
    assert!(!o
        .stdout
        .windows(p.lambda_env.len())
        .any(|w| w == p.lambda_env.as_bytes()));
    assert!(
        ats(&distribution).iter().any(|a| a.contains("OriginPath")),
        "{:?}",
        ats(&distribution)
    );
    assert!(
        ats(&record).iter().any(|a| a.contains("ResourceRecords")),
        "{:?}",
        ats(&record)
    );
    assert!(
        ats(&table).iter().any(|a| a.contains("ContinuousBackups")),
        "{:?}",
        ats(&table)
    );
    let t = listed(&d, &table).unwrap();
    assert_eq!(t["items"]["changed"], 1, "{t:#}");
    assert_eq!(t["items"]["changes"][0]["attributes"][0], "title", "{t:#}");
    let b = listed(&d, &bucket).unwrap();
    assert_eq!(b["objects"]["changed"], 1, "{b:#}");
    let fields: Vec<String> = b["objects"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {}", c["key"].as_str().unwrap(), c["fields"]))
        .collect();
    assert!(
        fields.iter().any(|f| f.starts_with("index.html")
            && f.contains("content")
            && f.contains("/tags/review")),
        "{fields:?}"
    );
    assert!(
        ats(&bucket).iter().any(|a| a.contains("policy")),
        "{:?}",
        ats(&bucket)
    );
    assert!(
        ats(&param).iter().any(|a| a == "/Value"),
        "{:?}",
        ats(&param)
    );
    let gp = listed(&d, &gas).unwrap();
    assert!(gp["parts"].to_string().contains("Code.gs"), "{gp:#}");
    assert_eq!(
        status_of(&format!("aws.iam.role:{acct}::acme-lambda")),
        "unchanged"
    );

    // The log of each changed resource names `after`.
    for id in expected
        .iter()
        .filter(|(_, s)| **s == "modified")
        .map(|(k, _)| k)
    {
        let o = infrasnap(&repo, &url, &["--json", "log", id]);
        assert_code(&o, 0);
        let l: Value = serde_json::from_slice(&o.stdout).unwrap();
        let events: Vec<(String, String)> = l["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["snapshot"].as_str().unwrap().into(),
                    e["event"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(
            events,
            [
                ("before".to_string(), "first_seen".to_string()),
                ("after".into(), "changed".into())
            ],
            "{id}: {l:#}"
        );
    }

    // A pair with no change diffs empty.
    let o = infrasnap(&repo, &url, &["diff", "after", "after"]);
    assert_code(&o, 0);
}
