//! `infrasnap restore` through the real binary against moto: snapshot → change or delete live →
//! plan (its content asserted) → apply → snapshot again → `infrasnap diff` is empty; and the
//! safety behaviours: a stale plan, a bad plan file, the blast-radius guard, an apply that fails
//! midway and resumes, a prefix restored into another bucket touching only that prefix (write
//! requests counted through the harness proxy).

use std::path::Path;
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use aws_sdk_s3::types::{Tag, Tagging};
use serde_json::Value;

use crate::common;
use common::*;

/// Run infrasnap with `--json` and parse its stdout.
async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let o = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(o.body.collect().await.unwrap().into_bytes().to_vec())
}

async fn tag_bucket(s3: &aws_sdk_s3::Client, bucket: &str, env: &str) {
    s3.put_bucket_tagging()
        .bucket(bucket)
        .tagging(
            Tagging::builder()
                .tag_set(Tag::builder().key("env").value(env).build().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// Ten objects with content headers, user metadata and tags, a tag and a policy on the bucket.
async fn seed_site(s3: &aws_sdk_s3::Client) {
    create_bucket(s3, "site").await;
    for i in 0..10 {
        s3.put_object()
            .bucket("site")
            .key(format!("page-{i}.html"))
            .body(bytes(i, 100 + i as usize * 10).into())
            .content_type("text/html")
            .cache_control("max-age=60")
            .metadata("owner", "web")
            .tagging("team=web&tier=front")
            .send()
            .await
            .unwrap();
    }
    tag_bucket(s3, "site", "prod").await;
    s3.put_bucket_policy()
        .bucket("site")
        .policy(r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}"#)
        .send()
        .await
        .unwrap();
}

/// The careless deploy: one page deleted, one overwritten, the tag changed, the policy gone.
async fn damage_site(s3: &aws_sdk_s3::Client) {
    s3.delete_object()
        .bucket("site")
        .key("page-3.html")
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket("site")
        .key("page-4.html")
        .body(b"oops".to_vec().into())
        .content_type("text/plain")
        .send()
        .await
        .unwrap();
    tag_bucket(s3, "site", "broken").await;
    s3.delete_bucket_policy()
        .bucket("site")
        .send()
        .await
        .unwrap();
}

/// The plan's steps as `(action, what)`.
fn steps(plan: &Value) -> Vec<(String, String)> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let what = match s["subject"]["type"].as_str().unwrap() {
                "object" => format!(
                    "s3://{}/{}",
                    s["target"].as_str().unwrap().rsplit(':').next().unwrap(),
                    s["subject"]["key"].as_str().unwrap()
                ),
                "bucket_setting" => format!(
                    "{} {}",
                    s["target"].as_str().unwrap(),
                    s["subject"]["name"].as_str().unwrap()
                ),
                _ => s["target"].as_str().unwrap().to_string(),
            };
            (s["action"]["action"].as_str().unwrap().to_string(), what)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_objects_and_settings_round_trip() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let s3 = s3_client(&url, "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    seed_site(&s3).await;
    snapshot(&repo, &url, &["--only", "s3", "--label", "one"]);
    damage_site(&s3).await;

    // The default keeps a live change no snapshot holds, and says how to overwrite it.
    let o = infrasnap(&repo, &url, &["--json", "restore", "one", "--dry-run"]);
    assert_code(&o, 0);
    let plan = json_of(&o);
    let skipped: Vec<&Value> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"]["action"] == "skip")
        .collect();
    assert!(
        skipped.iter().any(|s| s["subject"]["key"] == "page-4.html"
            && s["action"]["reason"]
                .as_str()
                .unwrap()
                .contains("--if-exists overwrite")),
        "{plan:#}"
    );

    // Overwrite: the plan lists each step with its fields.
    let plan_file = tmp.path().join("plan.json");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "plan",
            "one",
            "--if-exists",
            "overwrite",
            "-o",
            plan_file.to_str().unwrap(),
        ],
    );
    assert_code(&o, 0);
    let plan: Value = read_json(&plan_file);
    let acct = "123456789012";
    assert_eq!(
        steps(&plan),
        vec![
            (
                "create".into(),
                format!("aws.s3.bucket:{acct}::site policy")
            ),
            (
                "update".into(),
                format!("aws.s3.bucket:{acct}::site tagging")
            ),
            ("create".into(), "s3://site/page-3.html".into()),
            ("update".into(), "s3://site/page-4.html".into()),
        ]
    );
    let page4 = &plan["steps"][3]["action"]["fields"];
    let fields: Vec<&str> = page4
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"content"), "{page4:#}");
    assert!(fields.contains(&"/content_type"), "{page4:#}");
    assert!(fields.contains(&"/metadata"), "{page4:#}");
    assert!(
        plan["summary"]["unchanged"].as_u64().unwrap() >= 8,
        "8 objects and the settings"
    );
    // The same plan for people.
    let shown = stdout(&o).replace(&plan["hash"].as_str().unwrap()[..16], "<hash>");
    insta::assert_snapshot!("restore_plan_s3", shown);

    let o = infrasnap(
        &repo,
        &url,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    assert!(
        stderr(&o).contains("every touched resource matches"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        get(&s3, "site", "page-3.html").await.unwrap(),
        bytes(3, 130),
        "deleted page back"
    );
    // The receipt is in the repository.
    let receipt = read_json(
        &repo
            .join(".infrasnap/restore")
            .join(&plan["hash"].as_str().unwrap()[..16])
            .join("receipt.json"),
    );
    assert_eq!(receipt["ok"], true);
    assert_eq!(receipt["steps_done"], 4);

    // The master test: a new snapshot equals the first.
    snapshot(&repo, &url, &["--only", "s3", "--label", "three"]);
    let o = infrasnap(&repo, &url, &["diff", "one", "three"]);
    assert_code(&o, 0);

    // Applying again does nothing twice.
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    assert!(stderr(&o).contains("already applied"), "{}", stderr(&o));
}

/// A loopback proxy in front of `upstream` that records every S3 write request (PUT, DELETE,
/// multi-object delete; path without query or final `/`) and answers 403 to those `deny`
/// matches.
async fn counting_proxy(
    upstream: &str,
    deny: impl Fn(&Seen) -> bool + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let writes: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let w = writes.clone();
    let url = stub_proxy(upstream, move |seen| {
        // S3 writes; the captures' reads and STS/account POSTs are not counted.
        let s3_write = matches!(seen.method.as_str(), "PUT" | "DELETE")
            || (seen.method == "POST" && seen.path.contains("?delete"));
        if !s3_write {
            return None;
        }
        if deny(seen) {
            return Some(Canned {
                status: 403,
                content_type: "application/xml",
                extra_headers: String::new(),
                body: "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>denied by the test</Message></Error>".into(),
            });
        }
        let path = seen.path.split('?').next().unwrap_or_default();
        w.lock()
            .unwrap()
            .push((seen.method.clone(), path.trim_end_matches('/').to_string()));
        None
    })
    .await;
    (url, writes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_prefix_goes_into_another_bucket_and_nothing_else_is_written() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let s3 = s3_client(&url, "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    create_bucket(&s3, "site").await;
    put(&s3, "site", "index.html", b"<h1>hi</h1>").await;
    create_bucket(&s3, "media").await;
    for i in 0..4 {
        put(&s3, "media", &format!("img/{i}.png"), &bytes(i, 300)).await;
        put(&s3, "media", &format!("doc/{i}.pdf"), &bytes(10 + i, 200)).await;
    }
    snapshot(&repo, &url, &["--only", "s3", "--label", "one"]);

    let (proxy, writes) = counting_proxy(&url, |_| false).await;
    let o = infrasnap(
        &repo,
        &proxy,
        &[
            "restore",
            "one",
            "--bucket",
            "media",
            "--prefix",
            "img/",
            "--to-bucket",
            "media-copy",
            "--to-prefix",
            "old/img/",
            "--yes",
        ],
    );
    assert_code(&o, 0);
    let mut w = writes.lock().unwrap().clone();
    w.sort();
    let mut want = vec![("PUT".to_string(), "/media-copy".to_string())];
    for i in 0..4 {
        want.push(("PUT".into(), format!("/media-copy/old/img/{i}.png")));
    }
    assert_eq!(
        w, want,
        "one CreateBucket and one PutObject per object of the prefix"
    );
    assert_eq!(
        keys(&s3, "media-copy").await,
        (0..4)
            .map(|i| format!("old/img/{i}.png"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        get(&s3, "media-copy", "old/img/2.png").await.unwrap(),
        bytes(2, 300)
    );
    assert_eq!(keys(&s3, "media").await.len(), 8, "the source is untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blast_radius_guard_refuses_and_force_passes() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let s3 = s3_client(&url, "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    create_bucket(&s3, "data").await;
    for i in 0..4 {
        put(&s3, "data", &format!("{i}.csv"), &bytes(i, 50)).await;
    }
    snapshot(&repo, &url, &["--only", "s3", "--label", "one"]);
    for i in 0..2 {
        put(&s3, "data", &format!("{i}.csv"), b"overwritten").await;
    }
    // One key, the snapshot picked by time: one step, under the guard's threshold.
    let o = infrasnap(
        &repo,
        &url,
        &[
            "--json",
            "restore",
            "--as-of",
            "2099-01-01",
            "--bucket",
            "data",
            "--key",
            "0.csv",
            "--if-exists",
            "overwrite",
            "--dry-run",
        ],
    );
    assert_code(&o, 0);
    let plan = json_of(&o);
    assert_eq!(plan["snapshot"], "one");
    assert_eq!(
        steps(&plan),
        vec![("update".to_string(), "s3://data/0.csv".to_string())]
    );
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "--as-of", "2000-01-01", "--dry-run"],
    );
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains("no complete snapshot"),
        "{}",
        stderr(&o)
    );

    let plan_file = tmp.path().join("plan.json");
    let args = |force: bool| {
        let mut v = vec![
            "restore",
            "plan",
            "one",
            "--if-exists",
            "overwrite",
            "-o",
            plan_file.to_str().unwrap(),
        ];
        if force {
            v.push("--force");
        }
        v.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let a = args(false);
    let o = infrasnap(
        &repo,
        &url,
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_code(&o, 1);
    let e = stderr(&o);
    assert!(
        e.contains("aws.s3.object: 2 of 4 live (50%)") && e.contains("--force"),
        "{e}"
    );
    assert!(!plan_file.exists(), "no plan written");
    let a = args(true);
    let o = infrasnap(
        &repo,
        &url,
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains("overridden (--force)"),
        "{}",
        stdout(&o)
    );
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    assert_eq!(get(&s3, "data", "1.csv").await.unwrap(), bytes(1, 50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_plan_and_bad_plan_files_are_refused_and_nothing_is_applied() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let s3 = s3_client(&url, "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    create_bucket(&s3, "site").await;
    for i in 0..5 {
        put(&s3, "site", &format!("{i}.html"), &bytes(i, 40)).await;
    }
    snapshot(&repo, &url, &["--only", "s3", "--label", "one"]);
    s3.delete_object()
        .bucket("site")
        .key("0.html")
        .send()
        .await
        .unwrap();
    let plan_file = tmp.path().join("plan.json");
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "plan", "one", "-o", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    let text = std::fs::read_to_string(&plan_file).unwrap();

    let (proxy, writes) = counting_proxy(&url, |_| false).await;
    let bad = tmp.path().join("bad.json");
    let refuse = |content: &str, code: i32, says: &str, repo: &Path| {
        std::fs::write(&bad, content).unwrap();
        let o = infrasnap(repo, &proxy, &["restore", "apply", bad.to_str().unwrap()]);
        assert_code(&o, code);
        assert!(stderr(&o).contains(says), "{says}: {}", stderr(&o));
    };
    // Edited: another key.
    refuse(
        &text.replace("\"0.html\"", "\"9.html\""),
        2,
        "changed after it was made",
        &repo,
    );
    // Truncated.
    refuse(&text[..text.len() / 2], 2, "truncated", &repo);
    // From another repository.
    let other = tmp.path().join("other");
    snapshot(&other, &url, &["--only", "s3", "--label", "x"]);
    refuse(&text, 2, "another repository", &other);
    assert!(writes.lock().unwrap().is_empty(), "nothing applied");

    // Stale: the object came back live with other bytes after planning.
    put(&s3, "site", "0.html", b"someone else").await;
    let o = infrasnap(
        &repo,
        &proxy,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 1);
    let e = stderr(&o);
    assert!(
        e.contains("s3://site/0.html") && e.contains("new plan"),
        "{e}"
    );
    assert!(writes.lock().unwrap().is_empty(), "nothing applied");
    assert_eq!(get(&s3, "site", "0.html").await.unwrap(), b"someone else");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_that_fails_midway_resumes_and_does_nothing_twice() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let s3 = s3_client(&url, "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    create_bucket(&s3, "site").await;
    for i in 0..6 {
        put(&s3, "site", &format!("{i}.html"), &bytes(i, 40)).await;
    }
    put(&s3, "site", "keep.html", b"keep").await;
    snapshot(&repo, &url, &["--only", "s3", "--label", "one"]);
    for i in 0..6 {
        s3.delete_object()
            .bucket("site")
            .key(format!("{i}.html"))
            .send()
            .await
            .unwrap();
    }
    let plan_file = tmp.path().join("plan.json");
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "plan", "one", "-o", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);

    // The first apply goes through a server that refuses one object midway.
    let (failing, writes) =
        counting_proxy(&url, |seen| seen.path.starts_with("/site/3.html")).await;
    let o = infrasnap(
        &repo,
        &failing,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 1);
    assert!(stderr(&o).contains("3.html"), "{}", stderr(&o));
    assert_eq!(writes.lock().unwrap().len(), 5);
    assert!(get(&s3, "site", "3.html").await.is_none());

    // The second resumes: only the step that failed is written.
    let (proxy, writes) = counting_proxy(&url, |_| false).await;
    let o = infrasnap(
        &repo,
        &proxy,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    assert!(stderr(&o).contains("5 by an earlier run"), "{}", stderr(&o));
    assert_eq!(
        writes.lock().unwrap().clone(),
        vec![("PUT".to_string(), "/site/3.html".to_string())]
    );
    for i in 0..6 {
        assert_eq!(
            get(&s3, "site", &format!("{i}.html")).await.unwrap(),
            bytes(i, 40)
        );
    }
    // A third does nothing.
    let (proxy, writes) = counting_proxy(&url, |_| false).await;
    let o = infrasnap(
        &repo,
        &proxy,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    assert!(writes.lock().unwrap().is_empty());
    snapshot(&repo, &url, &["--only", "s3", "--label", "two"]);
    assert_code(&infrasnap(&repo, &url, &["diff", "one", "two"]), 0);
}

async fn r53(endpoint: &str) -> aws_sdk_route53::Client {
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await;
    aws_sdk_route53::Client::new(&shared)
}

async fn change(
    c: &aws_sdk_route53::Client,
    zone: &str,
    action: ChangeAction,
    set: ResourceRecordSet,
) {
    c.change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(action)
                        .resource_record_set(set)
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

fn rrs(name: &str, t: &str, ttl: i64, values: &[&str]) -> ResourceRecordSet {
    let mut b = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::from(t))
        .ttl(ttl);
    for v in values {
        b = b.resource_records(ResourceRecord::builder().value(*v).build().unwrap());
    }
    b.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route53_records_round_trip() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let c = r53(&url).await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let zone = c
        .create_hosted_zone()
        .name("example.com")
        .caller_reference("restore-test")
        .send()
        .await
        .unwrap()
        .hosted_zone()
        .unwrap()
        .id()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let www = rrs("www.example.com.", "A", 300, &["192.0.2.1", "192.0.2.2"]);
    let api = rrs("api.example.com.", "CNAME", 60, &["lb.example.net"]);
    let txt = rrs("example.com.", "TXT", 300, &["\"v=spf1 -all\""]);
    let mx = rrs("example.com.", "MX", 300, &["10 mx.example.com."]);
    for s in [&www, &api, &txt, &mx] {
        change(&c, &zone, ChangeAction::Upsert, s.clone()).await;
    }
    snapshot(&repo, &url, &["--only", "route53", "--label", "one"]);
    // Someone deletes a record and shortens another's TTL; a snapshot records it.
    change(&c, &zone, ChangeAction::Delete, api.clone()).await;
    change(
        &c,
        &zone,
        ChangeAction::Upsert,
        rrs("www.example.com.", "A", 5, &["192.0.2.1", "192.0.2.2"]),
    )
    .await;
    snapshot(&repo, &url, &["--only", "route53", "--label", "two"]);

    let plan_file = tmp.path().join("plan.json");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "plan",
            "one",
            "--kind",
            "aws.route53.record_set",
            "-o",
            plan_file.to_str().unwrap(),
        ],
    );
    assert_code(&o, 0);
    let plan = read_json(&plan_file);
    let acct = "123456789012";
    assert_eq!(
        steps(&plan),
        vec![
            (
                "create".into(),
                format!("aws.route53.record_set:{acct}::{zone}/api.example.com./CNAME")
            ),
            (
                "update".into(),
                format!("aws.route53.record_set:{acct}::{zone}/www.example.com./A")
            ),
        ]
    );
    let ttl = &plan["steps"][1]["action"]["fields"][0];
    assert_eq!(ttl["field"], "/TTL");
    assert_eq!(ttl["live"], 5);
    assert_eq!(ttl["snapshot"], 300);
    assert!(
        plan["manual"].as_array().is_none_or(|m| m.is_empty()),
        "{plan:#}"
    );
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    snapshot(&repo, &url, &["--only", "route53", "--label", "three"]);
    let o = infrasnap(
        &repo,
        &url,
        &["diff", "one", "three", "--kind", "aws.route53.record_set"],
    );
    assert_code(&o, 0);
}

async fn ddb(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&shared)
}

fn order(n: i64, total: &str) -> std::collections::HashMap<String, AttributeValue> {
    [
        (
            "pk".to_string(),
            AttributeValue::S(format!("user#{}", n % 4)),
        ),
        ("sk".to_string(), AttributeValue::N(n.to_string())),
        ("total".to_string(), AttributeValue::N(total.to_string())),
        (
            "tags".to_string(),
            AttributeValue::Ss(vec!["a".into(), format!("t{n}")]),
        ),
    ]
    .into_iter()
    .collect()
}

/// `orders` (pk S, sk N), on demand, TTL on `expires`, 20 items.
async fn seed_orders(c: &aws_sdk_dynamodb::Client) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TimeToLiveSpecification,
    };
    c.create_table()
        .table_name("orders")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("sk")
                .attribute_type(ScalarAttributeType::N)
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
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("sk")
                .key_type(KeyType::Range)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    c.update_time_to_live()
        .table_name("orders")
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expires")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    for n in 0..20 {
        c.put_item()
            .table_name("orders")
            .set_item(Some(order(n, &format!("{}.50", n * 3))))
            .send()
            .await
            .unwrap();
    }
}

async fn scan_all(
    c: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut v: Vec<_> = c
        .scan()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .map(|i| {
            i.iter()
                .map(|(k, v)| (k.clone(), format!("{v:?}")))
                .collect::<std::collections::BTreeMap<_, _>>()
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_items_and_a_deleted_table_round_trip() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let c = ddb(&url).await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    seed_orders(&c).await;
    let before = scan_all(&c, "orders").await;
    let only = ["--only", "dynamodb", "--regions", "us-east-1"];
    let snap = |label: &str| {
        let mut a = only.to_vec();
        a.extend(["--label", label]);
        snapshot(&repo, &url, &a);
    };
    snap("one");
    // Three items deleted, two changed, one added; a snapshot records it.
    for n in 0..3 {
        c.delete_item()
            .table_name("orders")
            .key("pk", AttributeValue::S(format!("user#{}", n % 4)))
            .key("sk", AttributeValue::N(n.to_string()))
            .send()
            .await
            .unwrap();
    }
    for n in 3..5 {
        c.put_item()
            .table_name("orders")
            .set_item(Some(order(n, "0")))
            .send()
            .await
            .unwrap();
    }
    c.put_item()
        .table_name("orders")
        .set_item(Some(order(99, "1")))
        .send()
        .await
        .unwrap();
    snap("two");

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
            "--delete-extra",
            "-o",
            plan_file.to_str().unwrap(),
        ],
    );
    assert_code(&o, 0);
    let plan = read_json(&plan_file);
    let acct = "123456789012";
    assert_eq!(
        steps(&plan),
        vec![(
            "update".into(),
            format!("aws.dynamodb.table:{acct}:us-east-1:orders")
        )]
    );
    let step = &plan["steps"][0];
    assert_eq!(step["subject"]["type"], "items");
    assert_eq!(step["subject"]["items"], 20);
    assert_eq!(
        step["action"]["fields"][0]["live"],
        serde_json::json!({"changed": 2, "missing": 3, "extra": 1, "items": 18})
    );
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    assert_eq!(scan_all(&c, "orders").await, before);
    snap("three");
    let o = infrasnap(
        &repo,
        &url,
        &["diff", "one", "three", "--kind", "aws.dynamodb.table"],
    );
    assert_code(&o, 0);

    // The table deleted: it comes back under a new name, then under its own.
    c.delete_table().table_name("orders").send().await.unwrap();
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "one",
            "--kind",
            "aws.dynamodb.table",
            "--to-table",
            "orders-copy",
            "--yes",
        ],
    );
    assert_code(&o, 0);
    assert_eq!(scan_all(&c, "orders-copy").await, before);
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "one", "--kind", "aws.dynamodb.table", "--yes"],
    );
    assert_code(&o, 0);
    assert_eq!(scan_all(&c, "orders").await, before);
    let ttl = c
        .describe_time_to_live()
        .table_name("orders")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|t| t.attribute_name()),
        Some("expires")
    );
    // The table under its own name is new (moto gives no TableId, so only its CreationDateTime
    // is new here): one "re-created" line, no difference.
    snap("four");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "diff",
            "one",
            "four",
            "--kind",
            "aws.dynamodb.table",
            "orders",
        ],
    );
    assert_code(&o, 0);
    assert!(stdout(&o).contains("re-created (new "), "{}", stdout(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_functions_round_trip() {
    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::{FunctionCode, Runtime};
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let conf = sdk_conf(&url, "us-east-1").await;
    let iam = aws_sdk_iam::Client::new(&conf);
    let role = iam
        .create_role()
        .role_name("lambda-exec")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_string();
    let lam = aws_sdk_lambda::Client::new(&conf);
    let zip = |text: &str| {
        stored_zip(&[(
            "index.py",
            format!("def handler(event, context):\n    return {text:?}\n").as_bytes(),
        )])
    };
    for (name, text) in [("hello", "v1"), ("other", "o1")] {
        lam.create_function()
            .function_name(name)
            .runtime(Runtime::Python312)
            .role(&role)
            .handler("index.handler")
            .timeout(7)
            .description("says hello")
            .tags("team", "web")
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(zip(text)))
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let only = ["--only", "lambda", "--regions", "us-east-1"];
    let snap = |label: &str| {
        let mut a = only.to_vec();
        a.extend(["--label", label]);
        snapshot(&repo, &url, &a);
    };
    snap("one");
    // `hello` is deleted; `other` gets new code and a longer timeout (recorded by a snapshot).
    lam.delete_function()
        .function_name("hello")
        .send()
        .await
        .unwrap();
    lam.update_function_code()
        .function_name("other")
        .zip_file(Blob::new(zip("o2")))
        .send()
        .await
        .unwrap();
    lam.update_function_configuration()
        .function_name("other")
        .timeout(30)
        .send()
        .await
        .unwrap();
    snap("two");
    let plan_file = tmp.path().join("plan.json");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "plan",
            "one",
            "--kind",
            "aws.lambda.function",
            "--force",
            "-o",
            plan_file.to_str().unwrap(),
        ],
    );
    assert_code(&o, 0);
    let plan = read_json(&plan_file);
    let acct = "123456789012";
    assert_eq!(
        steps(&plan),
        vec![
            (
                "create".into(),
                format!("aws.lambda.function:{acct}:us-east-1:hello")
            ),
            (
                "update".into(),
                format!("aws.lambda.function:{acct}:us-east-1:other")
            ),
        ]
    );
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    snap("three");
    let o = infrasnap(
        &repo,
        &url,
        &["diff", "one", "three", "--kind", "aws.lambda.function"],
    );
    assert_code(&o, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_roles_round_trip() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let iam = aws_sdk_iam::Client::new(&sdk_conf(&url, "us-east-1").await);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let read = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}"#;
    let arn = iam
        .create_policy()
        .policy_name("logs")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    iam.create_role()
        .role_name("app")
        .assume_role_policy_document(trust)
        .description("the app")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("team")
                .value("web")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name("app")
        .policy_name("read-site")
        .policy_document(read)
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("app")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let snap = |label: &str| snapshot(&repo, &url, &["--only", "iam", "--label", label]);
    snap("one");
    // Someone widens the role: another inline policy, the managed one detached.
    iam.put_role_policy()
        .role_name("app")
        .policy_name("admin")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    iam.detach_role_policy()
        .role_name("app")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    snap("two");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "--json",
            "restore",
            "one",
            "--kind",
            "aws.iam.role",
            "--force",
            "--yes",
        ],
    );
    assert_code(&o, 0);
    assert_eq!(json_of(&o)["ok"], true);
    snap("three");
    let o = infrasnap(
        &repo,
        &url,
        &["diff", "one", "three", "--kind", "aws.iam.role"],
    );
    assert_code(&o, 0);
    // Deleted: it comes back with its policies (a new RoleId and CreateDate, which diff shows as
    // one "re-created" line, not a difference).
    iam.delete_role_policy()
        .role_name("app")
        .policy_name("read-site")
        .send()
        .await
        .unwrap();
    iam.detach_role_policy()
        .role_name("app")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    iam.delete_role().role_name("app").send().await.unwrap();
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "one", "--kind", "aws.iam.role", "--yes"],
    );
    assert_code(&o, 0);
    let names = iam
        .list_role_policies()
        .role_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(names.policy_names(), ["read-site".to_string()]);
    let att = iam
        .list_attached_role_policies()
        .role_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(att.attached_policies().len(), 1);
    snap("four");
    let o = infrasnap(
        &repo,
        &url,
        &["diff", "one", "four", "--kind", "aws.iam.role"],
    );
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains("app [123456789012] re-created (new RoleId, CreateDate)"),
        "{}",
        stdout(&o)
    );
}
