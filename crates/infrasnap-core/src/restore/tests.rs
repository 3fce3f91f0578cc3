//! Plans made from snapshot folders written with the real writer ([`RunContext`]): one is the
//! snapshot restored, another stands for the live estate (as `apply` captures it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::plan::{plan_restore, stale_steps, verify, PlanInput, Writers};
use super::*;
use crate::diff::Side;
use crate::engine::RunContext;
use crate::ids::SnapshotName;
use crate::progress::Progress;
use crate::repo::{RepoLock, Repository};

const ACCT: &str = "123456789012";

struct TestRepo {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    repo: Repository,
    lock: RepoLock,
}

impl TestRepo {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        let repo = Repository::open_or_init(&root).unwrap();
        let lock = repo.lock(None).unwrap();
        TestRepo {
            _tmp: tmp,
            root,
            repo,
            lock,
        }
    }

    fn snapshot(&self, name: &str, f: impl FnOnce(&RunContext)) -> Side {
        let staging = self
            .repo
            .begin(&name.parse::<SnapshotName>().unwrap(), &self.lock)
            .unwrap();
        let cx = RunContext::new(
            self.repo.clone(),
            staging.dir(),
            vec![],
            Progress::default(),
            4,
        )
        .unwrap();
        f(&cx);
        cx.finish().unwrap();
        let dest = self.root.join(name);
        std::fs::rename(staging.dir(), &dest).unwrap();
        Side::open(&dest, &self.root.join(".infrasnap/blobs")).unwrap()
    }
}

fn bucket_doc(name: &str, env: &str) -> Value {
    json!({
        "name": name, "region": "us-east-1",
        "config": {
            "tagging": {"state": "present", "value": {"TagSet": [{"Key": "env", "Value": env}]}},
            "versioning": {"state": "absent"},
            "replication": {"state": "error", "code": "AccessDenied", "message": "denied"},
        },
    })
}

fn object(cx: &RunContext, bucket: &str, key: &str, body: &[u8], ct: &str) -> Value {
    let st = cx.repo.store().put_bytes(body).unwrap();
    json!({
        "key": key, "size": body.len(), "etag": format!("\"{}\"", &st.id.to_hex()[..32]),
        "last_modified": "2026-01-01T00:00:00Z", "content_type": ct,
        "blob": st.id.to_hex(), "path": format!("s3_buckets/{bucket}/{key}"),
    })
}

fn put_bucket(cx: &RunContext, name: &str, env: &str, objects: &[(&str, &[u8], &str)]) {
    let id = ResourceId::new("aws.s3.bucket", ACCT, "", name);
    let (_, mut w) = cx.open_resource_index(&id).unwrap();
    for (key, body, ct) in objects {
        w.append(&object(cx, name, key, body, ct)).unwrap();
    }
    w.finish().unwrap();
    cx.put_resource(&id, None, &bucket_doc(name, env)).unwrap();
    cx.cover("aws.s3.bucket", ACCT, "", None);
}

fn writers() -> Writers {
    Writers {
        kinds: vec!["aws.route53.record_set"],
        bucket_settings: vec!["tagging", "versioning", "policy"],
        s3: true,
    }
}

fn input<'a>(
    snap: &'a Side,
    live: &'a Side,
    latest: Option<&'a Side>,
    w: &'a Writers,
) -> PlanInput<'a> {
    PlanInput {
        repository: "repo-1".into(),
        snapshot: snap,
        live,
        latest,
        selection: RestoreSelection::default(),
        target: Target::default(),
        if_exists: IfExists::IfUnchanged,
        delete_extra: false,
        force: false,
        writers: w,
        secrets_available: false,
        now: "2026-12-02T10:00:00Z".into(),
        certificate_keys: &[],
    }
}

const TEN: [&str; 10] = [
    "a.txt",
    "b.txt",
    "c.txt",
    "d.txt",
    "e.txt",
    "img/1.png",
    "img/2.png",
    "img/3.png",
    "j.txt",
    "k.txt",
];

/// Snapshot `one`: bucket `site` with ten objects, tag env=prod, and a Route53 record. The live
/// estate: one object deleted, one rewritten, one added, the tag changed, the record gone.
fn estate(t: &TestRepo) -> (Side, Side) {
    let one = t.snapshot("one", |cx| {
        let objs: Vec<(&str, &[u8], &str)> =
            TEN.iter().map(|k| (*k, k.as_bytes(), "text/plain")).collect();
        put_bucket(cx, "site", "prod", &objs);
        let r: ResourceId = format!("aws.route53.record_set:{ACCT}::Z1/www.example.com./A")
            .parse()
            .unwrap();
        cx.put_resource(
            &r,
            None,
            &json!({"Name": "www.example.com.", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.1"}]}),
        )
        .unwrap();
        cx.cover("aws.route53.record_set", ACCT, "", None);
    });
    let live = t.snapshot("live", |cx| {
        let mut objs: Vec<(&str, &[u8], &str)> = TEN
            .iter()
            .filter(|k| **k != "b.txt")
            .map(|k| (*k, k.as_bytes(), "text/plain"))
            .collect();
        objs[0] = ("a.txt", &b"rewritten"[..], "text/html");
        objs.push(("new.txt", b"new", "text/plain"));
        put_bucket(cx, "site", "staging", &objs);
        cx.cover("aws.route53.record_set", ACCT, "", None);
    });
    (one, live)
}

#[test]
fn a_plan_reads_the_diff_in_reverse_and_prints_for_people() {
    let t = TestRepo::new();
    let (one, live) = estate(&t);
    let w = writers();
    // The live changes are recorded (the live snapshot stands for the latest one too).
    let plan = plan_restore(input(&one, &live, Some(&live), &w)).unwrap();
    let what: Vec<(String, &str)> = plan
        .steps
        .iter()
        .map(|s| (s.what(), s.action.name()))
        .collect();
    assert_eq!(
        what,
        vec![
            (
                format!("aws.route53.record_set:{ACCT}::Z1/www.example.com./A"),
                "create"
            ),
            (
                format!("aws.s3.bucket:{ACCT}::site setting tagging"),
                "update"
            ),
            ("s3://site/a.txt".into(), "update"),
            ("s3://site/b.txt".into(), "create"),
            // Replication waits for versioning and the objects (stage 4).
            (
                format!("aws.s3.bucket:{ACCT}::site setting replication"),
                "skip"
            ),
        ]
    );
    assert_eq!(plan.summary.extra_kept, 1, "new.txt is kept");
    assert_eq!(plan.summary.unchanged, 9, "8 objects and versioning");
    let mut shown = plan.to_string();
    shown = shown.replace(plan.short_hash(), "<hash>");
    insta::assert_snapshot!("plan_human", shown);
}

#[test]
fn if_unchanged_keeps_a_live_change_no_snapshot_holds() {
    let t = TestRepo::new();
    let (one, live) = estate(&t);
    let w = writers();
    let plan = plan_restore(input(&one, &live, Some(&one), &w)).unwrap();
    let a = plan
        .steps
        .iter()
        .find(|s| s.what() == "s3://site/a.txt")
        .unwrap();
    match &a.action {
        Action::Skip { reason } => assert!(reason.contains("--if-exists overwrite"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // Overwrite asks for it; skip never writes over anything.
    let mut i = input(&one, &live, Some(&one), &w);
    i.if_exists = IfExists::Overwrite;
    let plan = plan_restore(i).unwrap();
    assert_eq!(plan.summary.update, 2);
    let mut i = input(&one, &live, Some(&live), &w);
    i.if_exists = IfExists::Skip;
    let plan = plan_restore(i).unwrap();
    assert_eq!(plan.summary.update, 0);
    assert_eq!(plan.summary.create, 2);
}

#[test]
fn a_prefix_goes_to_another_bucket_and_prefix_and_touches_nothing_else() {
    let t = TestRepo::new();
    let (one, live) = estate(&t);
    let w = writers();
    let mut i = input(&one, &live, None, &w);
    i.selection = RestoreSelection {
        buckets: vec!["site".into()],
        prefix: Some("img/".into()),
        ..Default::default()
    };
    i.target = Target {
        to_bucket: Some("copy".into()),
        to_prefix: Some("old-img/".into()),
        ..Default::default()
    };
    let plan = plan_restore(i).unwrap();
    let what: Vec<String> = plan.steps.iter().map(|s| s.what()).collect();
    assert_eq!(
        what,
        vec![
            format!("aws.s3.bucket:{ACCT}::copy"),
            "s3://copy/old-img/1.png".to_string(),
            "s3://copy/old-img/2.png".to_string(),
            "s3://copy/old-img/3.png".to_string(),
        ]
    );
    assert!(plan.steps.iter().all(|s| s.source.id == "site"));
    assert_eq!(plan.scope.buckets, vec!["copy".to_string()]);
    assert_eq!(plan.scope.services, vec!["s3".to_string()]);
}

#[test]
fn delete_extra_deletes_and_the_blast_radius_guard_refuses_without_force() {
    let t = TestRepo::new();
    let (one, live) = estate(&t);
    let w = writers();
    let mut i = input(&one, &live, Some(&live), &w);
    i.delete_extra = true;
    let plan = plan_restore(i).unwrap();
    let del: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| s.action == Action::Delete)
        .map(|s| s.what())
        .collect();
    assert_eq!(del, vec!["s3://site/new.txt".to_string()]);
    // Four of ten live objects rewritten: over 30%.
    let live4 = t.snapshot("live4", |cx| {
        let objs: Vec<(&str, &[u8], &str)> = TEN
            .iter()
            .enumerate()
            .map(|(n, k)| {
                (
                    *k,
                    if n < 4 { &b"x"[..] } else { k.as_bytes() },
                    "text/plain",
                )
            })
            .collect();
        put_bucket(cx, "site", "prod", &objs);
    });
    let e = plan_restore(input(&one, &live4, Some(&live4), &w))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("aws.s3.object: 4 of 10 live (40%)") && e.contains("--force"),
        "{e}"
    );
    let mut i = input(&one, &live4, Some(&live4), &w);
    i.force = true;
    let plan = plan_restore(i).unwrap();
    assert!(plan.forced);
    assert_eq!(plan.guard.len(), 1);
    assert!(plan.to_string().contains("overridden (--force)"));
}

#[test]
fn plan_files_refuse_edits_truncation_and_other_repositories() {
    let t = TestRepo::new();
    let (one, live) = estate(&t);
    let w = writers();
    let mut plan = plan_restore(input(&one, &live, Some(&live), &w)).unwrap();
    let text = plan.to_file_text();
    let back = RestorePlan::open(&text, "repo-1").unwrap();
    assert_eq!(back, plan);
    let edited = text.replace("\"if-unchanged\"", "\"overwrite\"");
    assert_ne!(edited, text);
    assert!(matches!(
        RestorePlan::open(&edited, "repo-1"),
        Err(RestoreError::Tampered { .. })
    ));
    let truncated = &text[..text.len() / 2];
    let e = RestorePlan::open(truncated, "repo-1").unwrap_err();
    assert!(matches!(e, RestoreError::Unreadable(_)), "{e}");
    assert!(e.to_string().contains("truncated"));
    let e = RestorePlan::open(&text, "repo-2").unwrap_err();
    assert!(matches!(e, RestoreError::ForeignRepository { .. }), "{e}");
    assert!(RestorePlan::open("{}", "repo-1").is_err());
}

#[test]
fn apply_checks_staleness_and_verifies_against_the_wanted_hashes() {
    let t = TestRepo::new();
    let (one, live) = estate(&t);
    let w = writers();
    let mut i = input(&one, &live, Some(&live), &w);
    i.selection.kinds = vec!["aws.s3.bucket".into()];
    let plan = plan_restore(i).unwrap();
    // Unchanged live: nothing stale; the live state is not yet the snapshot's.
    assert!(stale_steps(&plan, &live, &BTreeSet::new())
        .unwrap()
        .is_empty());
    assert_eq!(verify(&plan, &live).unwrap().len(), 3);
    // After the restore the live estate is the snapshot: verified, and nothing stale either.
    assert!(verify(&plan, &one).unwrap().is_empty());
    assert!(stale_steps(&plan, &one, &BTreeSet::new())
        .unwrap()
        .is_empty());
    // Someone changed a.txt again after planning: stale, named.
    let moved = t.snapshot("moved", |cx| {
        let mut objs: Vec<(&str, &[u8], &str)> = TEN
            .iter()
            .filter(|k| **k != "b.txt")
            .map(|k| (*k, k.as_bytes(), "text/plain"))
            .collect();
        objs[0] = ("a.txt", &b"rewritten again"[..], "text/html");
        put_bucket(cx, "site", "staging", &objs);
    });
    let stale = stale_steps(&plan, &moved, &BTreeSet::new()).unwrap();
    assert_eq!(
        stale.iter().map(|s| s.what.as_str()).collect::<Vec<_>>(),
        vec!["s3://site/a.txt"]
    );
    // Done steps are not checked again.
    let done: BTreeSet<u64> = stale.iter().map(|s| s.n).collect();
    assert!(stale_steps(&plan, &moved, &done).unwrap().is_empty());
}

#[test]
fn what_needs_people_is_listed_with_the_reason() {
    let t = TestRepo::new();
    let one = t.snapshot("one", |cx| {
        let c: ResourceId = format!("aws.acm.certificate:{ACCT}:us-east-1:arn:aws:acm:c1")
            .parse()
            .unwrap();
        cx.put_resource(&c, None, &json!({"Certificate": {"Type": "AMAZON_ISSUED"}}))
            .unwrap();
        let i: ResourceId = format!("aws.lightsail.instance:{ACCT}:us-east-1:web-1")
            .parse()
            .unwrap();
        cx.put_resource(&i, None, &json!({"name": "web-1"}))
            .unwrap();
        let s: ResourceId =
            format!("aws.lightsail.instance_snapshot:{ACCT}:us-east-1:infrasnap-v1-web-1")
                .parse()
                .unwrap();
        cx.put_resource(&s, None, &json!({"name": "infrasnap-v1-web-1"}))
            .unwrap();
        let f: ResourceId = format!("aws.lambda.function:{ACCT}:us-east-1:checkout")
            .parse()
            .unwrap();
        cx.put_resource(&f, None, &json!({"FunctionName": "checkout"}))
            .unwrap();
    });
    let live = t.snapshot("live", |_| {});
    let w = writers();
    let mut i = input(&one, &live, None, &w);
    i.selection.kinds = vec![
        "aws.acm.*".into(),
        "aws.lightsail.instance".into(),
        "aws.lambda.function".into(),
    ];
    let plan = plan_restore(i).unwrap();
    let reasons: BTreeMap<String, String> = plan
        .manual
        .iter()
        .map(|m| (m.id.kind.clone(), m.reason.clone()))
        .collect();
    assert!(reasons["aws.acm.certificate"].starts_with("re-request"));
    assert!(reasons["aws.lightsail.instance"].contains("infrasnap-v1-web-1"));
    assert!(reasons["aws.lambda.function"].contains("cannot restore"));
    assert!(plan.steps.is_empty());
}

#[test]
fn the_repository_id_is_made_once() {
    let tmp = tempfile::tempdir().unwrap();
    let a = repository_id(tmp.path()).unwrap();
    assert_eq!(a.len(), 32);
    assert_eq!(repository_id(tmp.path()).unwrap(), a);
    assert_ne!(repository_id(&tmp.path().join("other")).unwrap(), a);
    let _: &Path = tmp.path();
}

fn zone_doc(id: &str, caller: &str, private: bool) -> Value {
    json!({
        "HostedZone": {"Id": format!("/hostedzone/{id}"), "Name": "shop.example.", "CallerReference": caller,
            "Config": {"Comment": "the shop", "PrivateZone": private}, "ResourceRecordSetCount": 3},
        "DelegationSet": {"NameServers": [format!("ns-{id}.example.net")]},
        "Tags": [{"Key": "team", "Value": "web"}],
    })
}

fn put_zone(cx: &RunContext, id: &str, doc: &Value, records: &[&str]) {
    cx.put_resource(
        &ResourceId::new("aws.route53.zone", ACCT, "", id),
        None,
        doc,
    )
    .unwrap();
    for r in records {
        let (name, ty) = r.split_once(' ').unwrap();
        let rid = ResourceId::new(
            "aws.route53.record_set",
            ACCT,
            "",
            format!("{id}/{name}/{ty}"),
        );
        let value = if ty == "NS" {
            format!("ns-{id}.example.net")
        } else {
            "v".into()
        };
        cx.put_resource(
            &rid,
            None,
            &json!({"Name": name, "Type": ty, "TTL": 300, "ResourceRecords": [{"Value": value}]}),
        )
        .unwrap();
    }
}

fn cover_route53(cx: &RunContext) {
    cx.cover("aws.route53.zone", ACCT, "", None);
    cx.cover("aws.route53.record_set", ACCT, "", None);
}

const SHOP: [&str; 3] = [
    "shop.example. SOA",
    "shop.example. NS",
    "www.shop.example. A",
];

/// A deleted zone: created (stage 1), its records created into it (stage 2) but the apex SOA and
/// NS, which Route53 makes; the plan says the name servers change. After apply, the new zone
/// (found by its caller reference) verifies as the old one, and the apply notes name its new
/// name servers.
#[rstest::rstest]
#[case::public(false, "re-created with NEW name servers")]
#[case::private(true, "private zone shop.example. is re-created under a new zone id")]
fn a_deleted_zone_is_re_created_with_its_records(#[case] private: bool, #[case] says: &str) {
    let t = TestRepo::new();
    let snap = t.snapshot("one", |cx| {
        put_zone(cx, "ZOLD", &zone_doc("ZOLD", "console", private), &SHOP);
        cover_route53(cx);
    });
    let live = t.snapshot("live", cover_route53);
    let w = Writers {
        kinds: vec!["aws.route53.record_set", "aws.route53.zone"],
        ..Default::default()
    };
    let plan = plan_restore(input(&snap, &live, None, &w)).unwrap();
    let steps: Vec<(&str, &str, u8)> = plan
        .steps
        .iter()
        .map(|s| (s.action.name(), s.target.id.as_str(), s.stage))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("create", "ZOLD", 1),
            ("skip", "ZOLD/shop.example./NS", 2),
            ("skip", "ZOLD/shop.example./SOA", 2),
            ("create", "ZOLD/www.shop.example./A", 2),
        ]
    );
    assert_eq!(plan.manual.len(), 1);
    assert!(
        plan.manual[0].reason.contains(says),
        "{}",
        plan.manual[0].reason
    );

    // Restore made zone ZNEW from ZOLD; Route53 made its SOA and NS.
    let after = t.snapshot("after", |cx| {
        let caller = zone::caller_reference("ZOLD", "20261202T100000Z");
        put_zone(cx, "ZNEW", &zone_doc("ZNEW", &caller, private), &SHOP);
        cover_route53(cx);
    });
    assert_eq!(verify(&plan, &after).unwrap(), vec![]);
    // Planned again against the restored estate: nothing to write (the new zone stands for the
    // old one; its apex NS, with the new name servers, is left alone).
    let again = plan_restore(input(&snap, &after, None, &w)).unwrap();
    assert!(again.writing_steps().next().is_none(), "{again}");
    assert!(again.manual.is_empty(), "{again}");
    let notes = plan::apply_notes(&plan, &after).unwrap();
    assert_eq!(notes.len(), 1);
    if private {
        assert_eq!(notes[0], "zone shop.example. re-created as ZNEW (was ZOLD)");
    } else {
        assert!(notes[0].ends_with("to ns-ZNEW.example.net"), "{}", notes[0]);
    }
    // diff pairs the new zone with the old: one "re-created" line; the apex NS (the new name
    // servers) is what stays different.
    let r = crate::diff::diff_sides(
        &snap,
        &after,
        &crate::diff::Selection::default().compile().unwrap(),
        &crate::diff::DiffOptions::default(),
    )
    .unwrap();
    let text = r.to_string();
    assert!(
        text.contains("ZOLD [123456789012] re-created (new Id, CallerReference, DelegationSet)"),
        "{text}"
    );
    assert_eq!(r.counts.modified, 1, "{text}");
    assert!(text.contains("shop.example./NS"), "{text}");
}

#[test]
fn records_of_a_gone_zone_not_selected_are_skipped_with_the_fix() {
    let t = TestRepo::new();
    let snap = t.snapshot("one", |cx| {
        put_zone(cx, "ZOLD", &zone_doc("ZOLD", "console", false), &SHOP);
        cover_route53(cx);
    });
    let live = t.snapshot("live", cover_route53);
    let w = Writers {
        kinds: vec!["aws.route53.record_set", "aws.route53.zone"],
        ..Default::default()
    };
    let mut i = input(&snap, &live, None, &w);
    i.selection.kinds = vec!["aws.route53.record_set".into()];
    let plan = plan_restore(i).unwrap();
    assert!(plan.writing_steps().next().is_none());
    assert_eq!(plan.steps.len(), 3);
    assert!(plan.steps.iter().all(|s| matches!(&s.action,
        Action::Skip { reason } if reason.contains("select the zone too"))));
}

/// Credentials are never restored: a user that lacks the snapshot's access key (and nothing
/// else) needs no step, but the plan says the key must be issued again.
#[rstest::rstest]
#[case::gone_user(None, true)]
#[case::user_without_its_key(Some(json!([])), true)]
#[case::user_with_its_key(Some(json!([{"AccessKeyId": "AKIA1", "Status": "Active"}])), false)]
fn a_users_missing_credentials_are_named(#[case] live_keys: Option<Value>, #[case] noted: bool) {
    let user = |keys: Value| {
        json!({"UserName": "ci", "UserId": "AIDA1", "Path": "/", "AccessKeys": keys,
            "LoginProfile": {"Exists": false}})
    };
    let put = |cx: &RunContext, doc: Option<Value>| {
        if let Some(d) = doc {
            cx.put_resource(&ResourceId::new("aws.iam.user", ACCT, "", "ci"), None, &d)
                .unwrap();
        }
        cx.cover("aws.iam.user", ACCT, "", None);
    };
    let t = TestRepo::new();
    let snap = t.snapshot("one", |cx| {
        put(
            cx,
            Some(user(json!([{"AccessKeyId": "AKIA1", "Status": "Active"}]))),
        )
    });
    let live = t.snapshot("live", |cx| put(cx, live_keys.map(user)));
    let w = Writers {
        kinds: vec!["aws.iam.user"],
        ..Default::default()
    };
    let plan = plan_restore(input(&snap, &live, None, &w)).unwrap();
    let notes: Vec<&str> = plan.manual.iter().map(|m| m.reason.as_str()).collect();
    if noted {
        assert_eq!(notes.len(), 1, "{plan}");
        assert!(
            notes[0].contains("issue again 1 access key"),
            "{}",
            notes[0]
        );
    } else {
        assert!(notes.is_empty(), "{plan}");
    }
}

#[test]
fn deletes_come_after_every_write_in_reverse_dependency_order() {
    use crate::restore::plan::{delete_stage, stage};
    use crate::restore::Subject;
    let r = Subject::Resource;
    let last_write = [
        "aws.cloudfront.distribution",
        "aws.apigateway.rest_api",
        "aws.lambda.function",
        "aws.s3.bucket",
    ]
    .iter()
    .map(|k| stage(k, &r))
    .max()
    .unwrap();
    for k in ["aws.cloudfront.public_key", "aws.s3.bucket", "aws.iam.role"] {
        assert!(delete_stage(k, &r) > last_write, "{k}");
    }
    // A distribution goes before the key group it trusts, which goes before its public keys;
    // a bucket's objects before the bucket.
    let d = |k: &str| delete_stage(k, &Subject::Resource);
    assert!(d("aws.cloudfront.distribution") < d("aws.cloudfront.key_group"));
    assert!(d("aws.cloudfront.key_group") < d("aws.cloudfront.public_key"));
    let object = Subject::Object {
        key: "k".into(),
        record: None,
    };
    assert!(delete_stage("aws.s3.bucket", &object) < d("aws.s3.bucket"));
    // Record sets stay with their upserts (one change batch, deletes first).
    assert_eq!(
        d("aws.route53.record_set"),
        stage("aws.route53.record_set", &r)
    );
}
