//! `infrasnap restore` into another account (`--to-role-arn`, assumed through moto's STS: a role
//! in account 222222222222 gives credentials moto keys that account's resources by) and another
//! region (`--to-region`), through the real binary against moto: the plan records the target,
//! its ids carry the target account and region, members naming the source account are rewritten
//! and listed, a global kind says the region does not apply, and the resources land in the
//! target, not in the source. A distribution is created in the target account and found there
//! by its content afterwards (a second plan has nothing to do).

use aws_credential_types::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};

use crate::common;
use common::*;

const SOURCE: &str = "123456789012";
const TARGET: &str = "222222222222";
const ROLE: &str = "arn:aws:iam::222222222222:role/restore";

/// Run infrasnap with `--json` and parse its stdout (a local copy of `restore.rs`'s).
/// SDK settings in the target account: a role of 222222222222 assumed through moto's STS.
async fn conf_in_target(url: &str, region: &str) -> aws_config::SdkConfig {
    let base = sdk_conf(url, region).await;
    let c = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("check")
        .send()
        .await
        .unwrap();
    let c = c.credentials().unwrap();
    base.into_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_string()),
                None,
                "assumed",
            )),
        )
        .build()
}

fn s3_of(conf: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(true)
            .build(),
    )
}

async fn buckets(s3: &aws_sdk_s3::Client) -> Vec<String> {
    s3.list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .map(|b| b.name().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_goes_into_a_bucket_of_another_account_and_its_policy_names_that_account() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let s3 = s3_client(&url, "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    create_bucket(&s3, "media").await;
    for i in 0..4 {
        put(&s3, "media", &format!("img/{i}.png"), &bytes(i, 300)).await;
        put(&s3, "media", &format!("doc/{i}.pdf"), &bytes(10 + i, 200)).await;
    }
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Ops","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{SOURCE}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::media/*"}}]}}"#
    );
    s3.put_bucket_policy()
        .bucket("media")
        .policy(&policy)
        .send()
        .await
        .unwrap();
    snapshot(&repo, &url, &["--only", "s3", "--label", "one"]);

    // One prefix into a bucket of account 222222222222 (bucket names are one namespace across
    // accounts, in moto as in AWS: a new name).
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "one",
            "--bucket",
            "media",
            "--prefix",
            "img/",
            "--to-bucket",
            "media-222",
            "--to-role-arn",
            ROLE,
            "--yes",
        ],
    );
    assert_code(&o, 0);
    let target = s3_of(&conf_in_target(&url, "us-east-1").await);
    assert_eq!(buckets(&target).await, ["media-222"]);
    assert_eq!(
        keys(&target, "media-222").await,
        (0..4).map(|i| format!("img/{i}.png")).collect::<Vec<_>>()
    );
    let got = target
        .get_object()
        .bucket("media-222")
        .key("img/2.png")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().to_vec(),
        bytes(2, 300)
    );
    assert_eq!(buckets(&s3).await, ["media"], "nothing new in the source");
    assert_eq!(keys(&s3, "media").await.len(), 8, "the source is untouched");

    // The whole bucket, settings too: the plan records the target account, its ids carry it,
    // and the policy naming the source account is rewritten, listed field by field.
    let plan_file = tmp.path().join("plan.json");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "plan",
            "one",
            "--bucket",
            "media",
            "--to-bucket",
            "media-b",
            "--to-role-arn",
            ROLE,
            "-o",
            plan_file.to_str().unwrap(),
        ],
    );
    assert_code(&o, 0);
    let text = stdout(&o);
    assert!(
        text.contains(&format!("account {TARGET} (role {ROLE})")),
        "{text}"
    );
    let plan = read_json(&plan_file);
    assert_eq!(plan["target"]["to_account"], TARGET);
    assert_eq!(plan["target"]["to_role_arn"], ROLE);
    let s = steps(&plan);
    assert!(
        s.iter()
            .all(|(_, t)| t == &format!("aws.s3.bucket:{TARGET}::media-b")),
        "{s:?}"
    );
    assert!(plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["source"] == format!("aws.s3.bucket:{SOURCE}::media")));
    let policy_step = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subject"]["name"] == "policy")
        .expect("a policy step");
    let rw = policy_step["rewrites"].as_array().expect("rewrites");
    assert_eq!(rw.len(), 1, "{rw:?}");
    assert!(rw[0]["field"]
        .as_str()
        .unwrap()
        .starts_with("/config/policy/"));
    assert!(rw[0]["from"].as_str().unwrap().contains(SOURCE));
    assert!(rw[0]["to"].as_str().unwrap().contains(TARGET));
    assert!(!rw[0]["to"].as_str().unwrap().contains(SOURCE));
    assert!(text.contains("rewrite /config/policy/"), "{text}");

    let o = infrasnap(
        &repo,
        &url,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    let live = target
        .get_bucket_policy()
        .bucket("media-b")
        .send()
        .await
        .unwrap();
    let live = live.policy().unwrap();
    assert!(
        live.contains(&format!("arn:aws:iam::{TARGET}:root")),
        "{live}"
    );
    assert!(!live.contains(SOURCE), "{live}");
    assert_eq!(keys(&target, "media-b").await.len(), 8);
    assert!(!buckets(&s3).await.contains(&"media-b".to_string()));
}

/// A distribution made in another account: CreateDistribution there from the snapshot's
/// configuration (a fresh CallerReference), found by its content afterwards (a second plan has
/// nothing to do), the source's left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_distribution_is_created_in_another_account() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let source = aws_sdk_cloudfront::Client::new(&sdk_conf(&url, "us-east-1").await);
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let made = source
        .create_distribution()
        .distribution_config(distribution_config(
            "site",
            &["www.example.com"],
            "origin.example.com",
            "index.html",
        ))
        .send()
        .await
        .unwrap();
    let id = made.distribution().unwrap().id().to_string();
    snapshot(&repo, &url, &["--only", "cloudfront", "--label", "one"]);

    let args = [
        "one",
        "--kind",
        "aws.cloudfront.distribution",
        "--to-role-arn",
        ROLE,
    ];
    let plan = restore_plan_ok(&repo, &url, &args);
    assert_eq!(plan["target"]["to_account"], TARGET);
    assert_eq!(
        steps(&plan),
        vec![(
            "create".to_string(),
            format!("aws.cloudfront.distribution:{TARGET}::{id}")
        )],
        "{plan:#}"
    );
    let o = restore_apply(&repo, &url, &[]);
    assert_code(&o, 0);

    let target = aws_sdk_cloudfront::Client::new(&conf_in_target(&url, "us-east-1").await);
    let list = target.list_distributions().send().await.unwrap();
    let items = list.distribution_list().unwrap().items();
    assert_eq!(items.len(), 1, "{items:?}");
    let new_id = items[0].id().to_string();
    assert_ne!(new_id, id);
    let cfg = target
        .get_distribution_config()
        .id(&new_id)
        .send()
        .await
        .unwrap();
    let cfg = cfg.distribution_config().unwrap();
    assert_eq!(cfg.aliases().unwrap().items(), ["www.example.com"]);
    assert_eq!(cfg.default_root_object(), Some("index.html"));
    assert_eq!(cfg.comment(), "the site");
    assert_eq!(
        cfg.origins().unwrap().items()[0].domain_name(),
        "origin.example.com"
    );
    assert_ne!(cfg.caller_reference(), "site", "a fresh CallerReference");
    let src = source.list_distributions().send().await.unwrap();
    let src: Vec<&str> = src
        .distribution_list()
        .unwrap()
        .items()
        .iter()
        .map(|d| d.id())
        .collect();
    assert_eq!(src, [id.as_str()], "the source account is untouched");
    // The target's distribution is the snapshot's, under its new id.
    let again = restore_plan_ok(&repo, &url, &args);
    assert_eq!(steps(&again), Vec::<(String, String)>::new(), "{again:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_account_as_target_is_refused() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let s3 = s3_client(&url, "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    create_bucket(&s3, "media").await;
    put(&s3, "media", "a.txt", b"a").await;
    snapshot(&repo, &url, &["--only", "s3", "--label", "one"]);
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "plan",
            "one",
            "--to-role-arn",
            &format!("arn:aws:iam::{SOURCE}:role/restore"),
        ],
    );
    assert_code(&o, 2);
    let e = stderr(&o);
    assert!(
        e.contains(&format!("the target account {SOURCE} is the account")),
        "{e}"
    );
    assert!(e.contains("drop --to-profile / --to-role-arn"), "{e}");
}

async fn ddb(url: &str, region: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_conf(url, region).await)
}

async fn item_count(c: &aws_sdk_dynamodb::Client, table: &str) -> Option<i32> {
    Some(c.scan().table_name(table).send().await.ok()?.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamodb_table_goes_into_another_region() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let east = ddb(&url, "us-east-1").await;
    east.create_table()
        .table_name("orders")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    for n in 0..6 {
        east.put_item()
            .table_name("orders")
            .item("pk", AttributeValue::S(format!("order#{n}")))
            .item("total", AttributeValue::N(format!("{}", n * 10)))
            .send()
            .await
            .unwrap();
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    snapshot(
        &repo,
        &url,
        &[
            "--only",
            "dynamodb",
            "--regions",
            "us-east-1",
            "--label",
            "one",
        ],
    );
    let plan_file = tmp.path().join("plan.json");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "plan",
            "one",
            "--kind",
            "aws.dynamodb.table",
            "--to-region",
            "eu-west-1",
            "-o",
            plan_file.to_str().unwrap(),
        ],
    );
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains("Target: region eu-west-1"),
        "{}",
        stdout(&o)
    );
    let plan = read_json(&plan_file);
    assert_eq!(plan["target"]["to_region"], "eu-west-1");
    assert_eq!(plan["scope"]["regions"], serde_json::json!(["eu-west-1"]));
    let t = format!("aws.dynamodb.table:{SOURCE}:eu-west-1:orders");
    assert_eq!(
        steps(&plan),
        [("create".to_string(), t.clone()), ("create".to_string(), t)]
    );
    assert_eq!(
        plan["steps"][0]["source"],
        format!("aws.dynamodb.table:{SOURCE}:us-east-1:orders")
    );
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    let west = ddb(&url, "eu-west-1").await;
    assert_eq!(item_count(&west, "orders").await, Some(6));
    assert_eq!(
        item_count(&east, "orders").await,
        Some(6),
        "the source is untouched"
    );
    let tables = west.list_tables().send().await.unwrap();
    assert_eq!(tables.table_names(), ["orders"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_kind_says_the_region_does_not_apply_and_its_trust_policy_names_the_target() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let iam = aws_sdk_iam::Client::new(&sdk_conf(&url, "us-east-1").await);
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{SOURCE}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    iam.create_role()
        .role_name("deployer")
        .assume_role_policy_document(&trust)
        .description("deploys")
        .send()
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    snapshot(&repo, &url, &["--only", "iam", "--label", "one"]);
    let args = [
        "restore",
        "plan",
        "one",
        "--kind",
        "aws.iam.role",
        "--to-role-arn",
        ROLE,
        "--to-region",
        "eu-west-1",
    ];
    let o = infrasnap(&repo, &url, &args);
    assert_code(&o, 0);
    let text = stdout(&o);
    assert!(
        text.contains("Note: --to-region eu-west-1 does not apply to aws.iam.role: it is global"),
        "{text}"
    );
    let mut json_args = args.to_vec();
    json_args.insert(0, "--json");
    let plan = json_of(&infrasnap(&repo, &url, &json_args));
    assert_eq!(plan["target"]["to_account"], TARGET);
    assert_eq!(plan["target"]["to_region"], "eu-west-1");
    let target = format!("aws.iam.role:{TARGET}::deployer");
    assert_eq!(steps(&plan), [("create".to_string(), target)]);
    let rw = plan["steps"][0]["rewrites"].as_array().unwrap();
    let fields: Vec<&str> = rw.iter().map(|r| r["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"/Arn"), "{rw:?}");
    assert!(
        rw.iter()
            .all(|r| r["from"].as_str().unwrap().contains(SOURCE)
                && r["to"].as_str().unwrap().contains(TARGET)),
        "{rw:?}"
    );
    assert!(text.contains("rewrite /Arn:"), "{text}");

    // Applied: the role is in the target account, trusting the target account.
    let mut yes: Vec<&str> = args.iter().copied().filter(|a| *a != "plan").collect();
    yes.push("--yes");
    let o = infrasnap(&repo, &url, &yes);
    assert_code(&o, 0);
    let target_iam = aws_sdk_iam::Client::new(&conf_in_target(&url, "us-east-1").await);
    let role = target_iam
        .get_role()
        .role_name("deployer")
        .send()
        .await
        .unwrap();
    let role = role.role().unwrap();
    assert!(role.arn().contains(TARGET));
    let doc = urlencoding_decode(role.assume_role_policy_document().unwrap());
    assert!(
        doc.contains(&format!("arn:aws:iam::{TARGET}:root")),
        "{doc}"
    );
}

/// IAM returns policy documents URL-encoded.
fn urlencoding_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_above_the_multipart_threshold_goes_up_in_parts() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let s3 = s3_client(&url, "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    create_bucket(&s3, "big").await;
    let body = bytes(7, 12 << 20);
    put(&s3, "big", "video.bin", &body).await;
    put(&s3, "big", "small.txt", b"small").await;
    snapshot(&repo, &url, &["--only", "s3", "--label", "one"]);
    for k in ["video.bin", "small.txt"] {
        s3.delete_object()
            .bucket("big")
            .key(k)
            .send()
            .await
            .unwrap();
    }
    // The threshold is a user option: 5 MiB parts above 5 MiB.
    let cfg = tmp.path().join("infrasnap.toml");
    std::fs::write(
        &cfg,
        "[restore]\nmultipart_threshold = \"5MiB\"\npart_size = 5242880\n",
    )
    .unwrap();
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "one",
            "--bucket",
            "big",
            "--config",
            cfg.to_str().unwrap(),
            "--yes",
        ],
    );
    assert_code(&o, 0);
    let head = s3
        .head_object()
        .bucket("big")
        .key("video.bin")
        .send()
        .await
        .unwrap();
    let etag = head.e_tag().unwrap();
    assert!(etag.trim_matches('"').ends_with("-3"), "3 parts: {etag}");
    let got = s3
        .get_object()
        .bucket("big")
        .key("video.bin")
        .send()
        .await
        .unwrap();
    assert!(got.body.collect().await.unwrap().into_bytes().to_vec() == body);
    let small = s3
        .head_object()
        .bucket("big")
        .key("small.txt")
        .send()
        .await
        .unwrap();
    assert!(
        !small.e_tag().unwrap().contains('-'),
        "one PutObject below the threshold"
    );

    // A bad size in the config is a usage error naming the key.
    std::fs::write(&cfg, "[restore]\nmultipart_threshold = \"5MB\"\n").unwrap();
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "one",
            "--bucket",
            "big",
            "--config",
            cfg.to_str().unwrap(),
            "--yes",
        ],
    );
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("multipart_threshold"), "{}", stderr(&o));
}
