//! Restore of Route53 record sets in change batches and of IAM users, groups and customer
//! managed policies, through the real binary against moto: snapshot → delete or alter live →
//! plan (its content asserted) → apply → snapshot again → `infrasnap diff` shows nothing but the
//! one "re-created" line of what came back with new ids.

use std::sync::{Arc, Mutex};

use aws_sdk_iam::types::Tag;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use serde_json::Value;

use crate::common;
use common::*;

const ACCT: &str = "123456789012";

/// Run infrasnap with `--json` and parse its stdout (a local copy of restore.rs's).
/// A proxy in front of moto that counts Route53 ChangeResourceRecordSets requests (POST
/// `.../hostedzone/<id>/rrset`) and the changes in each.
async fn rrset_counter(upstream: &str) -> (String, Arc<Mutex<Vec<usize>>>) {
    let seen: Arc<Mutex<Vec<usize>>> = Arc::default();
    let s = seen.clone();
    let url = stub_proxy(upstream, move |r| {
        let path = r.path.split('?').next().unwrap_or_default();
        if r.method == "POST" && path.trim_end_matches('/').ends_with("/rrset") {
            let body = String::from_utf8_lossy(&r.body);
            s.lock().unwrap().push(body.matches("<Change>").count());
        }
        None
    })
    .await;
    (url, seen)
}

fn a_record(name: &str, ip: &str) -> ResourceRecordSet {
    ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::A)
        .ttl(300)
        .resource_records(ResourceRecord::builder().value(ip).build().unwrap())
        .build()
        .unwrap()
}

async fn send_changes(
    c: &aws_sdk_route53::Client,
    zone: &str,
    action: ChangeAction,
    sets: &[ResourceRecordSet],
) {
    for chunk in sets.chunks(400) {
        let changes: Vec<Change> = chunk
            .iter()
            .map(|s| {
                Change::builder()
                    .action(action.clone())
                    .resource_record_set(s.clone())
                    .build()
                    .unwrap()
            })
            .collect();
        c.change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(
                ChangeBatch::builder()
                    .set_changes(Some(changes))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifteen_hundred_records_come_back_in_three_change_batches() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let c = aws_sdk_route53::Client::new(&sdk_conf(&url, "us-east-1").await);
    let zone = c
        .create_hosted_zone()
        .name("many.example")
        .caller_reference("many")
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
    let sets: Vec<ResourceRecordSet> = (0..1_500)
        .map(|i| {
            a_record(
                &format!("h{i:04}.many.example."),
                &format!("10.0.{}.{}", i / 250, i % 250),
            )
        })
        .collect();
    send_changes(&c, &zone, ChangeAction::Create, &sets).await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    snapshot(&repo, &url, &["--only", "route53", "--label", "one"]);
    // Every record deleted by a careless script.
    send_changes(&c, &zone, ChangeAction::Delete, &sets).await;

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
    assert_eq!(plan["summary"]["create"], 1_500, "{}", stdout(&o));
    let (proxy, requests) = rrset_counter(&url).await;
    let o = infrasnap(
        &repo,
        &proxy,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    // Route53 takes 1,000 records a request and counts an UPSERT twice: 500 a request.
    assert_eq!(*requests.lock().unwrap(), vec![500, 500, 500]);
    snapshot(&repo, &url, &["--only", "route53", "--label", "two"]);
    let o = infrasnap(
        &repo,
        &url,
        &["diff", "one", "two", "--kind", "aws.route53.record_set"],
    );
    assert_code(&o, 0);
    // A rerun writes nothing.
    let o = infrasnap(
        &repo,
        &proxy,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    assert_eq!(requests.lock().unwrap().len(), 3);
}

/// The plan's steps as (action, target, stage).
fn plan_steps(plan: &Value) -> Vec<(String, String, u64)> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["action"]["action"].as_str().unwrap().to_string(),
                s["target"].as_str().unwrap().to_string(),
                s["stage"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().unwrap()
}

const READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}"#;

fn doc_n(n: usize) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-{n}/*"}}]}}"#
    )
}

/// The resources of one kind in `diff --json`, as (id, status, recreated, changed pointers).
fn diff_resources(
    o: &std::process::Output,
    kind: &str,
) -> Vec<(String, String, Value, Vec<String>)> {
    let d = json_of(o);
    let Some(k) = d["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == kind)
    else {
        return Vec::new();
    };
    k["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["recreated"].clone(),
                r["changes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| c["pointer"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_user_and_group_come_back_with_their_policies_but_no_keys() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let iam = aws_sdk_iam::Client::new(&sdk_conf(&url, "us-east-1").await);
    let arn = iam
        .create_policy()
        .policy_name("read-site")
        .policy_document(READ)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    iam.create_group()
        .group_name("deployers")
        .path("/ci/")
        .send()
        .await
        .unwrap();
    iam.put_group_policy()
        .group_name("deployers")
        .policy_name("deploy")
        .policy_document(doc_n(1))
        .send()
        .await
        .unwrap();
    iam.attach_group_policy()
        .group_name("deployers")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    iam.create_user()
        .user_name("ci-bot")
        .path("/ci/")
        .tags(tag("team", "platform"))
        .send()
        .await
        .unwrap();
    iam.put_user_policy()
        .user_name("ci-bot")
        .policy_name("own")
        .policy_document(doc_n(2))
        .send()
        .await
        .unwrap();
    iam.attach_user_policy()
        .user_name("ci-bot")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    iam.add_user_to_group()
        .user_name("ci-bot")
        .group_name("deployers")
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name("ci-bot")
        .send()
        .await
        .unwrap()
        .access_key()
        .unwrap()
        .access_key_id()
        .to_string();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let snap = |label: &str| snapshot(&repo, &url, &["--only", "iam", "--label", label]);
    snap("one");

    // Both deleted, as IAM makes you: keys, memberships and policies first.
    iam.delete_access_key()
        .user_name("ci-bot")
        .access_key_id(&key)
        .send()
        .await
        .unwrap();
    iam.remove_user_from_group()
        .user_name("ci-bot")
        .group_name("deployers")
        .send()
        .await
        .unwrap();
    iam.delete_user_policy()
        .user_name("ci-bot")
        .policy_name("own")
        .send()
        .await
        .unwrap();
    iam.detach_user_policy()
        .user_name("ci-bot")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    iam.delete_user().user_name("ci-bot").send().await.unwrap();
    iam.delete_group_policy()
        .group_name("deployers")
        .policy_name("deploy")
        .send()
        .await
        .unwrap();
    iam.detach_group_policy()
        .group_name("deployers")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    iam.delete_group()
        .group_name("deployers")
        .send()
        .await
        .unwrap();

    let plan_file = tmp.path().join("plan.json");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "plan",
            "one",
            "--kind",
            "aws.iam.user",
            "--kind",
            "aws.iam.group",
            "-o",
            plan_file.to_str().unwrap(),
        ],
    );
    assert_code(&o, 0);
    let plan = read_json(&plan_file);
    let steps = plan_steps(&plan);
    // The group first: the user joins it.
    assert_eq!(
        steps,
        vec![
            (
                "create".into(),
                format!("aws.iam.group:{ACCT}::deployers"),
                2
            ),
            ("create".into(), format!("aws.iam.user:{ACCT}::ci-bot"), 3),
        ]
    );
    let manual = plan["manual"].as_array().unwrap();
    assert_eq!(manual.len(), 1, "{plan:#}");
    assert_eq!(manual[0]["id"], format!("aws.iam.user:{ACCT}::ci-bot"));
    let why = manual[0]["reason"].as_str().unwrap();
    assert!(
        why.contains("credentials are never restored") && why.contains("1 access key"),
        "{why}"
    );
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);

    // Live: the user with its path, tags, policies and group, and no key.
    let u = iam.get_user().user_name("ci-bot").send().await.unwrap();
    assert_eq!(u.user().unwrap().path(), "/ci/");
    // (moto 5.2.5 neither keeps nor returns a user's permissions boundary, so it is not tested.)
    let keys = iam
        .list_access_keys()
        .user_name("ci-bot")
        .send()
        .await
        .unwrap();
    assert!(keys.access_key_metadata().is_empty());
    let g = iam
        .get_group()
        .group_name("deployers")
        .send()
        .await
        .unwrap();
    assert_eq!(g.users().len(), 1);
    assert_eq!(
        iam.list_group_policies()
            .group_name("deployers")
            .send()
            .await
            .unwrap()
            .policy_names(),
        ["deploy".to_string()]
    );

    snap("two");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "--json",
            "diff",
            "one",
            "two",
            "--kind",
            "aws.iam.user",
            "--kind",
            "aws.iam.group",
        ],
    );
    // The user lacks its access key: that difference stays, and is listed.
    assert_code(&o, 5);
    let users = diff_resources(&o, "aws.iam.user");
    assert_eq!(users.len(), 1, "{}", stdout(&o));
    assert_eq!(users[0].1, "modified");
    assert_eq!(users[0].2, serde_json::json!(["UserId", "CreateDate"]));
    assert!(
        users[0].3.iter().all(|p| p.starts_with("/AccessKeys")),
        "{users:?}"
    );
    let groups = diff_resources(&o, "aws.iam.group");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].1, "recreated");
    assert_eq!(groups[0].2, serde_json::json!(["GroupId", "CreateDate"]));
    let o = infrasnap(
        &repo,
        &url,
        &["diff", "one", "two", "--kind", "aws.iam.group"],
    );
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains("deployers [123456789012] re-created (new GroupId, CreateDate)"),
        "{}",
        stdout(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_policy_with_five_versions_is_restored() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let iam = aws_sdk_iam::Client::new(&sdk_conf(&url, "us-east-1").await);
    let arn = iam
        .create_policy()
        .policy_name("app")
        .path("/apps/")
        .description("the app")
        .policy_document(doc_n(1))
        .tags(tag("team", "web"))
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    for n in 2..=5 {
        iam.create_policy_version()
            .policy_arn(&arn)
            .policy_document(doc_n(n))
            .set_as_default(n == 3)
            .send()
            .await
            .unwrap();
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let snap = |label: &str| snapshot(&repo, &url, &["--only", "iam", "--label", label]);
    snap("one");
    // Someone makes room and a new default version, and retags it.
    iam.delete_policy_version()
        .policy_arn(&arn)
        .version_id("v1")
        .send()
        .await
        .unwrap();
    iam.create_policy_version()
        .policy_arn(&arn)
        .policy_document(doc_n(6))
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    iam.tag_policy()
        .policy_arn(&arn)
        .tags(tag("team", "ops"))
        .send()
        .await
        .unwrap();

    let plan_file = tmp.path().join("plan.json");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "plan",
            "one",
            "--kind",
            "aws.iam.policy",
            "--force",
            "--if-exists",
            "overwrite",
            "-o",
            plan_file.to_str().unwrap(),
        ],
    );
    assert_code(&o, 0);
    let plan = read_json(&plan_file);
    let steps = plan["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{plan:#}");
    assert_eq!(steps[0]["action"]["action"], "update");
    assert_eq!(steps[0]["stage"], 1);
    let fields: Vec<&str> = steps[0]["action"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(
        fields
            .iter()
            .any(|f| f.starts_with("/DefaultVersionDocument")),
        "{fields:?}"
    );
    assert!(fields.iter().any(|f| f.starts_with("/Tags")), "{fields:?}");
    assert!(
        !fields.iter().any(|f| f.starts_with("/Versions")),
        "{fields:?}"
    );
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    // Five versions again: the oldest non-default one (v2) made room for the snapshot's default.
    let versions = iam
        .list_policy_versions()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    let mut ids: Vec<(String, bool)> = versions
        .versions()
        .iter()
        .map(|v| (v.version_id().unwrap().to_string(), v.is_default_version()))
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        vec![
            ("v3".to_string(), false),
            ("v4".to_string(), false),
            ("v5".to_string(), false),
            ("v6".to_string(), false),
            ("v7".to_string(), true),
        ]
    );
    snap("two");
    let o = infrasnap(
        &repo,
        &url,
        &["diff", "one", "two", "--kind", "aws.iam.policy"],
    );
    assert_code(&o, 0);

    // Deleted altogether: created again from the snapshot's default document.
    for v in ["v3", "v4", "v5", "v6"] {
        iam.delete_policy_version()
            .policy_arn(&arn)
            .version_id(v)
            .send()
            .await
            .unwrap();
    }
    iam.delete_policy().policy_arn(&arn).send().await.unwrap();
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "one", "--kind", "aws.iam.policy", "--yes"],
    );
    assert_code(&o, 0);
    snap("three");
    let o = infrasnap(
        &repo,
        &url,
        &["diff", "one", "three", "--kind", "aws.iam.policy"],
    );
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains("re-created (new PolicyId, CreateDate)"),
        "{}",
        stdout(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_zone_is_re_created_with_its_records_under_a_new_id() {
    use aws_sdk_route53::types::{HostedZoneConfig, Tag as ZoneTag, TagResourceType};
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let c = aws_sdk_route53::Client::new(&sdk_conf(&url, "us-east-1").await);
    let old = c
        .create_hosted_zone()
        .name("shop.example")
        .caller_reference("shop")
        .hosted_zone_config(HostedZoneConfig::builder().comment("the shop").build())
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
    c.change_tags_for_resource()
        .resource_type(TagResourceType::Hostedzone)
        .resource_id(&old)
        .add_tags(ZoneTag::builder().key("team").value("web").build())
        .send()
        .await
        .unwrap();
    let mut cname = a_record("api.shop.example.", "x");
    cname = ResourceRecordSet::builder()
        .name(cname.name())
        .r#type(RrType::Cname)
        .ttl(60)
        .resource_records(
            ResourceRecord::builder()
                .value("lb.example.net")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let mx = ResourceRecordSet::builder()
        .name("shop.example.")
        .r#type(RrType::Mx)
        .ttl(300)
        .resource_records(
            ResourceRecord::builder()
                .value("10 mx.shop.example.")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let sets = vec![a_record("www.shop.example.", "192.0.2.10"), cname, mx];
    send_changes(&c, &old, ChangeAction::Create, &sets).await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    snapshot(&repo, &url, &["--only", "route53", "--label", "one"]);
    // The zone deleted (its own records first, as Route53 demands).
    send_changes(&c, &old, ChangeAction::Delete, &sets).await;
    c.delete_hosted_zone().id(&old).send().await.unwrap();

    let plan_file = tmp.path().join("plan.json");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "plan",
            "one",
            "--kind",
            "aws.route53.*",
            "-o",
            plan_file.to_str().unwrap(),
        ],
    );
    assert_code(&o, 0);
    let plan = read_json(&plan_file);
    let steps = plan_steps(&plan);
    let rs = |n: &str, t: &str| format!("aws.route53.record_set:{ACCT}::{old}/{n}/{t}");
    let mut want = vec![
        (
            "create".to_string(),
            format!("aws.route53.zone:{ACCT}::{old}"),
            1,
        ),
        ("create".into(), rs("shop.example.", "MX"), 2),
        ("create".into(), rs("api.shop.example.", "CNAME"), 2),
        ("create".into(), rs("www.shop.example.", "A"), 2),
        ("skip".into(), rs("shop.example.", "NS"), 2),
        ("skip".into(), rs("shop.example.", "SOA"), 2),
    ];
    let mut got = steps.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{plan:#}");
    let skip = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["action"]["action"] == "skip")
        .unwrap();
    assert!(
        skip["action"]["reason"]
            .as_str()
            .unwrap()
            .contains("Route53 makes the SOA and NS records"),
        "{skip:#}"
    );
    let manual = plan["manual"].as_array().unwrap();
    assert_eq!(manual.len(), 1, "{plan:#}");
    assert!(
        manual[0]["reason"]
            .as_str()
            .unwrap()
            .contains("re-created with NEW name servers"),
        "{manual:?}"
    );

    let (proxy, requests) = rrset_counter(&url).await;
    let o = infrasnap(
        &repo,
        &proxy,
        &["--json", "restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    let receipt = json_of(&o);
    assert_eq!(receipt["ok"], true, "{receipt:#}");
    // The records went into the new zone in one request.
    assert_eq!(*requests.lock().unwrap(), vec![3]);
    let zones = c
        .list_hosted_zones_by_name()
        .dns_name("shop.example")
        .send()
        .await
        .unwrap();
    let new: Vec<String> = zones
        .hosted_zones()
        .iter()
        .filter(|z| z.name() == "shop.example.")
        .map(|z| z.id().rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(new.len(), 1);
    assert_ne!(new[0], old);
    let notes = receipt["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{receipt:#}");
    let note = notes[0].as_str().unwrap();
    assert!(
        note.contains(&format!(
            "re-created as {} (was {old}) with new name servers",
            new[0]
        )),
        "{note}"
    );
    let records = c
        .list_resource_record_sets()
        .hosted_zone_id(&new[0])
        .send()
        .await
        .unwrap();
    assert_eq!(records.resource_record_sets().len(), 5); // SOA, NS and the three

    // Planned again: the new zone stands for the old one, nothing is created twice.
    let o = infrasnap(
        &repo,
        &url,
        &[
            "--json",
            "restore",
            "plan",
            "one",
            "--kind",
            "aws.route53.*",
        ],
    );
    assert_code(&o, 0);
    let again = json_of(&o);
    assert_eq!(again["summary"]["create"], 0, "{again:#}");
    assert_eq!(again["summary"]["update"], 0, "{again:#}");
    snapshot(&repo, &url, &["--only", "route53", "--label", "two"]);
    // The new zone is compared with the one it came from, its records with its records: one
    // "re-created" line. (moto gives every zone the same name servers and SOA; on AWS the zone
    // also has a new DelegationSet, and its apex NS and SOA records differ, which diff lists.)
    let o = infrasnap(
        &repo,
        &url,
        &["diff", "one", "two", "--kind", "aws.route53.*"],
    );
    assert_code(&o, 0);
    let text = stdout(&o);
    assert!(
        text.contains(&format!(
            "{old} (shop.example) [123456789012] re-created (new Id, CallerReference)"
        )),
        "{text}"
    );
    assert!(text.contains("aws.route53.record_set (5)"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_instance_profile_comes_back_with_its_role() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let iam = aws_sdk_iam::Client::new(&sdk_conf(&url, "us-east-1").await);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role()
        .role_name("web")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    iam.create_instance_profile()
        .instance_profile_name("web")
        .path("/ec2/")
        .send()
        .await
        .unwrap();
    iam.add_role_to_instance_profile()
        .instance_profile_name("web")
        .role_name("web")
        .send()
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let snap = |label: &str| snapshot(&repo, &url, &["--only", "iam", "--label", label]);
    snap("one");
    iam.remove_role_from_instance_profile()
        .instance_profile_name("web")
        .role_name("web")
        .send()
        .await
        .unwrap();
    iam.delete_instance_profile()
        .instance_profile_name("web")
        .send()
        .await
        .unwrap();
    let o = infrasnap(
        &repo,
        &url,
        &[
            "--json",
            "restore",
            "one",
            "--kind",
            "aws.iam.instance_profile",
            "--yes",
        ],
    );
    assert_code(&o, 0);
    assert_eq!(json_of(&o)["ok"], true);
    let p = iam
        .get_instance_profile()
        .instance_profile_name("web")
        .send()
        .await
        .unwrap();
    let p = p.instance_profile().unwrap();
    assert_eq!(p.path(), "/ec2/");
    assert_eq!(p.roles().len(), 1);
    assert_eq!(p.roles()[0].role_name(), "web");
    snap("two");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "diff",
            "one",
            "two",
            "--kind",
            "aws.iam.instance_profile",
            "--kind",
            "aws.iam.role",
        ],
    );
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains("re-created (new InstanceProfileId, CreateDate)"),
        "{}",
        stdout(&o)
    );
}
