//! The whole AWS side of an estate in one `infrasnap snapshot`: every service, two regions, two
//! accounts (the second through sts:AssumeRole with an external id, as a real multi-account run
//! does). Each account gets its own tree under `aws_accounts/<id>/`; each service's files are
//! asserted there. Planted secrets (a Lambda environment value, an SSM SecureString, a Secrets
//! Manager value, an API Gateway stage variable), made at run time, appear in no file under the
//! repository and in no output. A second snapshot of the unchanged estate adds no blob.
//!
//! The per-service tests (s3_snapshot.rs, lambda.rs, ...) assert every field; this one asserts
//! that the services work together, per account and region, in one run.

// common/mod.rs re-exports helpers this test does not use.
#[allow(unused_imports)]
mod common;

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
        #[allow(deprecated)]
        let behavior = DefaultCacheBehavior::builder()
            .target_origin_id("s3")
            .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
            .forwarded_values(
                ForwardedValues::builder()
                    .query_string(false)
                    .cookies(
                        CookiePreference::builder()
                            .forward(ItemSelection::None)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .min_ttl(0)
            .build()
            .unwrap();
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

    for (acct, site, ids) in [("123456789012", "acme", &a), ("222222222222", "shop", &b)] {
        let root = snap.join(format!("aws_accounts/{acct}"));
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
            "dynamodb_tables/eu-west-1/{site}-events/table.json"
        )));
        assert_eq!(t["TableName"], format!("{site}-events"));
        assert!(!root
            .join(format!("dynamodb_tables/us-east-1/{site}-events"))
            .exists());
        let c = &meta["collectors"][format!("dynamodb:{acct}")];
        assert_eq!(c["counts"]["items"], 20);
        // Route53, global, with its BIND file.
        let zone = root.join(format!("route53_zones/{site}.example.com"));
        let records = std::fs::read_to_string(zone.join("records.json")).unwrap();
        assert!(records.contains("192.0.2.10"), "{records}");
        assert!(zone.join(format!("{site}.example.com.zone")).is_file());
        // IAM
        let r = read_json(&root.join(format!("iam/roles/{site}-lambda.json")));
        assert_eq!(r["Arn"], format!("arn:aws:iam::{acct}:role/{site}-lambda"));
        // ACM
        let cert = read_json(&root.join(format!(
            "acm_certificates/us-east-1/{}.json",
            ids["certificate"]
        )));
        assert_eq!(cert["DomainName"], format!("www.{site}.example.com"));
        // SES
        let ses = std::fs::read_to_string(root.join("ses/eu-west-1/identities.json")).unwrap();
        assert!(ses.contains(&format!("{site}.example.com")), "{ses}");
        // SSM in both regions; the SecureString as a fingerprint only.
        for region in REGIONS {
            let p = read_json(&root.join(format!("ssm_parameters/{region}/parameters.json")));
            let params = p["Parameters"].as_array().unwrap();
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
        let s = read_json(&root.join("secrets_manager/us-east-1/secrets.json"));
        assert_eq!(s["Secrets"][0]["Name"], format!("{site}/stripe"));
        // CloudFront
        let d = read_json(&root.join(format!(
            "cloudfront_distributions/{}.json",
            ids["distribution"]
        )));
        assert_eq!(
            d["DistributionConfig"]["Comment"],
            format!("{site} website")
        );
        // Lambda, in both regions: code byte-exact, environment names without values.
        for region in REGIONS {
            let l = root.join(format!("lambda_functions/{region}"));
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
            "api_gateway/us-east-1/rest_apis/{}/api.json",
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
        let i = read_json(&root.join(format!("lightsail/us-east-1/instances/{site}-blog.json")));
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
