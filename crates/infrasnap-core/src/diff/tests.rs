//! Diffs of snapshot folders built with the real writer ([`RunContext`]), and of format-1
//! folders built by hand.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use rstest::rstest;
use serde_json::{json, Value};

use super::log::{log_resource, Event, LogOptions, LogTarget};
use super::*;
use crate::engine::RunContext;
use crate::ids::SnapshotName;
use crate::metadata::RecordedError;
use crate::model::s3::S3ObjectRecord;
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

    fn blobs(&self) -> PathBuf {
        self.root.join(".infrasnap/blobs")
    }

    /// A snapshot folder `<repo>/<name>` written by a run that does `f`.
    fn snapshot(&self, name: &str, f: impl FnOnce(&RunContext)) -> PathBuf {
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
        dest
    }

    fn diff(&self, a: &Path, b: &Path, sel: Selection, content: bool) -> DiffReport {
        diff_snapshots(
            a,
            b,
            &self.blobs(),
            &sel,
            &DiffOptions {
                content,
                ..Default::default()
            },
        )
        .unwrap()
    }
}

fn rid(s: &str) -> ResourceId {
    s.parse().unwrap()
}

fn bucket_doc(name: &str, tags: &[(&str, &str)], statements: Value) -> Value {
    let tagset: Vec<Value> = tags
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    json!({
        "name": name, "region": "us-east-1",
        "config": {
            "policy": {"state": "present", "value": {"Version": "2012-10-17", "Statement": statements}},
            "tagging": {"state": "present", "value": {"TagSet": tagset}},
            "versioning": {"state": "absent"},
        },
    })
}

/// An object: key, content, extra record members (metadata, tags, content_type).
type Obj<'a> = (&'a str, &'a [u8], Value);

fn object_record(cx: &RunContext, bucket: &str, key: &str, body: &[u8], extra: &Value) -> String {
    let st = cx.repo.store().put_bytes(body).unwrap();
    record_line(
        &format!("s3_buckets/{bucket}/{key}"),
        key,
        body,
        st.id,
        extra,
    )
}

/// An index line as the S3 collector writes it.
fn record_line(
    path: &str,
    key: &str,
    body: &[u8],
    blob: crate::ids::BlobId,
    extra: &Value,
) -> String {
    let mut rec = S3ObjectRecord {
        key: key.to_string(),
        version_id: None,
        size: body.len() as u64,
        etag: Some(format!("\"{}\"", &blob.to_hex()[..32])),
        last_modified: Some("2026-01-01T00:00:00Z".into()),
        storage_class: Some("STANDARD".into()),
        content_type: None,
        content_encoding: None,
        content_disposition: None,
        content_language: None,
        cache_control: None,
        expires: None,
        website_redirect_location: None,
        metadata: BTreeMap::new(),
        sse: None,
        sse_kms_key_id: None,
        bucket_key_enabled: None,
        tags: BTreeMap::new(),
        checksum: None,
        object_lock: None,
        blob,
        path: path.to_string(),
        escaped: false,
        dir_marker: false,
        listed: None,
        sse_customer: None,
        is_latest: None,
        delete_marker: false,
    };
    if let Some(m) = extra.get("metadata").and_then(Value::as_object) {
        rec.metadata = m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
    }
    if let Some(m) = extra.get("tags").and_then(Value::as_object) {
        rec.tags = m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
    }
    if let Some(ct) = extra.get("content_type").and_then(Value::as_str) {
        rec.content_type = Some(ct.into());
    }
    if let Some(lm) = extra.get("last_modified").and_then(Value::as_str) {
        rec.last_modified = Some(lm.into());
    }
    serde_json::to_string(&rec).unwrap()
}

/// A bucket with its objects (written in the order given), covered complete.
fn put_bucket(cx: &RunContext, name: &str, doc: &Value, objects: &[Obj]) {
    let id = ResourceId::new("aws.s3.bucket", ACCT, "", name);
    let (_, mut w) = cx.open_resource_index(&id).unwrap();
    for (key, body, extra) in objects {
        let line: Value = serde_json::from_str(&object_record(cx, name, key, body, extra)).unwrap();
        w.append(&line).unwrap();
    }
    w.finish().unwrap();
    cx.record_part(&id, "objects", &format!("s3_buckets/{name}"), None, 0);
    cx.put_resource(&id, None, doc).unwrap();
    cx.cover("aws.s3.bucket", ACCT, "", None);
}

fn statements(order: &[usize]) -> Value {
    let all = [
        json!({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*"}),
        json!({"Sid": "DenyDelete", "Effect": "Deny", "Principal": "*", "Action": ["s3:DeleteObject", "s3:DeleteBucket"], "Resource": "*"}),
    ];
    Value::Array(order.iter().map(|i| all[*i].clone()).collect())
}

fn lambda_doc(timeout: u64, db_url: &str) -> Value {
    json!({
        "FunctionName": "checkout",
        "Configuration": {
            "Timeout": timeout, "Runtime": "nodejs20.x", "LastModified": format!("2026-0{timeout}-01"),
            "Environment": {"Variables": {"DB_URL": db_url, "MODE": "live"}},
        },
        "Policy": {"Version": "2012-10-17", "Statement": [
            {"Sid": "Invoke", "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "lambda:InvokeFunction", "Resource": "*"}]},
    })
}

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    super::content::tests::zip_of(files)
}

fn put_lambda(cx: &RunContext, doc: &Value, code: &[u8]) {
    let id = rid(&format!("aws.lambda.function:{ACCT}:us-east-1:checkout"));
    cx.put_resource(&id, None, doc).unwrap();
    cx.put_part(&id, None, "code.zip", code).unwrap();
    cx.cover("aws.lambda.function", ACCT, "us-east-1", None);
}

fn put_records(cx: &RunContext, records: &[(&str, Value)]) {
    for (id, doc) in records {
        let id = rid(&format!("aws.route53.record_set:{ACCT}::{id}"));
        cx.put_resource(&id, None, doc).unwrap();
    }
    cx.cover("aws.route53.record_set", ACCT, "", None);
}

/// The "before" and "after" of a small estate with one change of every sort.
fn estate(t: &TestRepo) -> (PathBuf, PathBuf) {
    let a = t.snapshot("before", |cx| {
        put_bucket(
            cx,
            "site",
            &bucket_doc("site", &[("env", "prod"), ("team", "web")], statements(&[0, 1])),
            &[
                ("about.html", b"<p>about</p>\n", json!({"metadata": {"owner": "web"}})),
                ("gone.txt", b"old\n", json!({})),
                ("index.html", b"<h1>Hello</h1>\n<p>v1</p>\n", json!({"content_type": "text/html"})),
                ("logo.png", b"\x89PNG\x00\x01", json!({})),
                ("same.txt", b"same\n", json!({})),
                ("touched.txt", b"touched\n", json!({})),
            ],
        );
        put_lambda(
            cx,
            &lambda_doc(3, "postgres://one"),
            &zip_of(&[("index.js", b"exports.handler = () => 1;\n"), ("lib/a.js", b"a\n")]),
        );
        put_records(
            cx,
            &[
                ("Z1/www.example.com./A", json!({"Name": "www.example.com.", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.1"}]})),
                ("Z1/old.example.com./CNAME", json!({"Name": "old.example.com.", "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": "x.example.com"}]})),
                ("Z2/example.org./MX", json!({"Name": "example.org.", "Type": "MX", "TTL": 300, "ResourceRecords": [{"Value": "10 mx"}]})),
            ],
        );
    });
    let b = t.snapshot("after", |cx| {
        put_bucket(
            cx,
            "site",
            // Statements reordered (equal), a tag changed and one added.
            &bucket_doc("site", &[("env", "staging"), ("team", "web"), ("cost", "42")], statements(&[1, 0])),
            &[
                ("about.html", b"<p>about</p>\n", json!({"metadata": {"owner": "ops"}})),
                ("index.html", b"<h1>Hello</h1>\n<p>v2</p>\n", json!({"content_type": "text/html"})),
                ("logo.png", b"\x89PNG\x00\x02", json!({})),
                ("new.txt", b"new\n", json!({})),
                ("same.txt", b"same\n", json!({})),
                // Only the listing's date moved: unchanged.
                ("touched.txt", b"touched\n", json!({"last_modified": "2026-02-02T00:00:00Z"})),
            ],
        );
        put_lambda(
            cx,
            &lambda_doc(5, "postgres://two"),
            &zip_of(&[("index.js", b"exports.handler = () => 2;\n"), ("lib/b.js", b"b\n")]),
        );
        put_records(
            cx,
            &[
                ("Z1/www.example.com./A", json!({"Name": "www.example.com.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}, {"Value": "192.0.2.2"}]})),
                ("Z1/new.example.com./TXT", json!({"Name": "new.example.com.", "Type": "TXT", "TTL": 300, "ResourceRecords": [{"Value": "\"v=1\""}]})),
                ("Z2/example.org./MX", json!({"Name": "example.org.", "Type": "MX", "TTL": 300, "ResourceRecords": [{"Value": "10 mx"}]})),
            ],
        );
    });
    (a, b)
}

#[test]
fn an_estate_diff_renders_for_people_and_programs() {
    let t = TestRepo::new();
    let (a, b) = estate(&t);
    let r = t.diff(&a, &b, Selection::default(), true);
    let text = r.to_string();
    assert!(
        !text.contains("redacted fp:") && !text.contains("postgres://"),
        "{text}"
    );
    insta::assert_snapshot!("estate_human", text);
    let json = serde_json::to_value(&r).unwrap();
    assert!(!json.to_string().contains("redacted fp:"));
    insta::assert_json_snapshot!("estate_json", json);
    assert!(r.differs());
    assert_eq!(
        r.counts,
        Counts {
            added: 1,
            removed: 1,
            modified: 3,
            unchanged: 1,
            not_comparable: 0,
            recreated: 0
        }
    );
    // The colour codes appear only when asked.
    assert!(!text.contains('\x1b'));
    assert!(render::diff(&r, render::Style { color: true }).contains("\x1b[32m+"));
}

#[test]
fn s3_objects_are_merged_by_key() {
    let t = TestRepo::new();
    let (a, b) = estate(&t);
    let r = t.diff(
        &a,
        &b,
        Selection {
            kinds: vec!["aws.s3.bucket".into()],
            ..Default::default()
        },
        false,
    );
    let o = r.kinds[0].resources[0].objects.as_ref().unwrap();
    assert_eq!((o.added, o.removed, o.changed, o.unchanged), (1, 1, 3, 2));
    let summary: Vec<(String, Change, Vec<String>)> = o
        .changes
        .iter()
        .map(|c| (c.key.clone(), c.change, c.fields.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "about.html".into(),
                Change::Changed,
                vec!["/metadata/owner".into()]
            ),
            ("gone.txt".into(), Change::Removed, vec![]),
            ("index.html".into(), Change::Changed, vec!["content".into()]),
            // A same-size rewrite: caught by the blob.
            ("logo.png".into(), Change::Changed, vec!["content".into()]),
            ("new.txt".into(), Change::Added, vec![]),
        ]
    );
    let logo = &o.changes[3];
    assert_eq!(
        logo.before.as_ref().unwrap().size,
        logo.after.as_ref().unwrap().size
    );
}

#[test]
fn an_object_index_out_of_order_is_sorted_with_a_note() {
    let t = TestRepo::new();
    let doc = bucket_doc("b", &[], json!([]));
    let a = t.snapshot("a", |cx| {
        put_bucket(
            cx,
            "b",
            &doc,
            &[("z", b"1", json!({})), ("a", b"1", json!({}))],
        )
    });
    let b = t.snapshot("b", |cx| {
        put_bucket(
            cx,
            "b",
            &doc,
            &[("a", b"2", json!({})), ("z", b"1", json!({}))],
        )
    });
    let r = t.diff(&a, &b, Selection::default(), false);
    let res = &r.kinds[0].resources[0];
    let o = res.objects.as_ref().unwrap();
    assert_eq!((o.added, o.removed, o.changed, o.unchanged), (0, 0, 1, 1));
    assert!(res.notes[0].contains("not in key order"), "{:?}", res.notes);
}

#[test]
fn the_listing_limit_counts_what_it_does_not_list() {
    let t = TestRepo::new();
    let doc = bucket_doc("b", &[], json!([]));
    let objs = |v: &'static [u8]| -> Vec<(String, &'static [u8])> {
        (0..30).map(|i| (format!("k{i:02}"), v)).collect()
    };
    let a = t.snapshot("a", |cx| {
        let o = objs(b"1");
        let list: Vec<Obj> = o.iter().map(|(k, v)| (k.as_str(), *v, json!({}))).collect();
        put_bucket(cx, "b", &doc, &list)
    });
    let b = t.snapshot("b", |cx| {
        let o = objs(b"2");
        let list: Vec<Obj> = o.iter().map(|(k, v)| (k.as_str(), *v, json!({}))).collect();
        put_bucket(cx, "b", &doc, &list)
    });
    let r = diff_snapshots(
        &a,
        &b,
        &t.blobs(),
        &Selection::default(),
        &DiffOptions {
            content: false,
            max_listed: 10,
        },
    )
    .unwrap();
    let o = r.kinds[0].resources[0].objects.as_ref().unwrap();
    assert_eq!((o.changed, o.changes.len(), o.not_listed), (30, 10, 20));
}

/// How a resource's two sides were captured, for the not-comparable rules.
#[derive(Clone, Copy, Debug)]
enum Cap {
    /// The resource, listing complete.
    Present,
    /// No resource, listing complete.
    Absent,
    /// No resource, listing failed.
    Failed,
    /// The resource, but the listing failed (partly read).
    PresentFailed,
    /// No resource, not listed at all.
    NotListed,
}

fn capture(cx: &RunContext, c: Cap) {
    let id = rid(&format!("aws.lambda.function:{ACCT}:us-east-1:checkout"));
    let err = RecordedError {
        service: "lambda".into(),
        action: "lambda:ListFunctions".into(),
        resource: "*".into(),
        code: Some("AccessDenied".into()),
        message: "denied".into(),
    };
    match c {
        Cap::Present | Cap::PresentFailed => {
            cx.put_resource(&id, None, &lambda_doc(3, "x")).unwrap();
        }
        _ => {}
    }
    match c {
        Cap::Present | Cap::Absent => cx.cover("aws.lambda.function", ACCT, "us-east-1", None),
        Cap::Failed | Cap::PresentFailed => {
            cx.cover("aws.lambda.function", ACCT, "us-east-1", Some(&err))
        }
        Cap::NotListed => {}
    }
}

#[rstest]
#[case::removed(Cap::Present, Cap::Absent, Some(Status::Removed), None)]
#[case::added(Cap::Absent, Cap::Present, Some(Status::Added), None)]
#[case::gone_under_a_failed_listing(
    Cap::Present,
    Cap::Failed,
    Some(Status::NotComparable),
    Some("the listing failed in snapshot `b`: lambda:ListFunctions on *: AccessDenied: denied")
)]
#[case::new_where_the_listing_failed_before(
    Cap::Failed,
    Cap::Present,
    Some(Status::NotComparable),
    Some("the listing failed in snapshot `a`")
)]
#[case::not_captured_after(
    Cap::Present,
    Cap::NotListed,
    Some(Status::NotComparable),
    Some("not captured in snapshot `b`")
)]
#[case::not_captured_before(
    Cap::NotListed,
    Cap::Present,
    Some(Status::NotComparable),
    Some("not captured in snapshot `a`")
)]
#[case::present_on_both_with_a_failed_listing(
    Cap::PresentFailed,
    Cap::Present,
    Some(Status::NotComparable),
    Some("the listing failed in snapshot `a`")
)]
#[case::equal(Cap::Present, Cap::Present, None, None)]
fn not_comparable_rules(
    #[case] a: Cap,
    #[case] b: Cap,
    #[case] want: Option<Status>,
    #[case] reason: Option<&str>,
) {
    let t = TestRepo::new();
    let sa = t.snapshot("a", |cx| capture(cx, a));
    let sb = t.snapshot("b", |cx| capture(cx, b));
    let r = t.diff(&sa, &sb, Selection::default(), false);
    let got = r.kinds.first().and_then(|k| k.resources.first());
    assert_eq!(got.map(|g| g.status), want, "{r}");
    if let Some(why) = reason {
        let g = got.unwrap().reason.as_deref().unwrap();
        assert!(g.starts_with(why), "{g}");
    }
    // Never removed or added when a side was not read whole.
    if matches!(b, Cap::Failed | Cap::NotListed) || matches!(a, Cap::Failed | Cap::NotListed) {
        assert!(!r.differs(), "{r}");
    }
}

#[test]
fn an_incomplete_bucket_is_not_compared_by_its_objects() {
    let t = TestRepo::new();
    let doc = bucket_doc("b", &[], json!([]));
    let a = t.snapshot("a", |cx| {
        put_bucket(cx, "b", &doc, &[("k", b"1", json!({}))])
    });
    let b = t.snapshot("b", |cx| {
        put_bucket(cx, "b", &doc, &[]);
        cx.mark_incomplete(&ResourceId::new("aws.s3.bucket", ACCT, "", "b"));
    });
    let r = t.diff(&a, &b, Selection::default(), false);
    let res = &r.kinds[0].resources[0];
    assert_eq!(res.status, Status::NotComparable);
    assert!(
        res.reason
            .as_deref()
            .unwrap()
            .contains("could not be read whole in snapshot `b`"),
        "{res:?}"
    );
}

fn gz_lines(items: &[Value]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for it in items {
        writeln!(e, "{}", json!({ "Item": it })).unwrap();
    }
    e.finish().unwrap()
}

fn put_table(cx: &RunContext, segments: &[Vec<Value>]) {
    let id = rid(&format!("aws.dynamodb.table:{ACCT}:eu-west-1:orders"));
    let doc = json!({"TableName": "orders", "KeySchema": [
        {"AttributeName": "sk", "KeyType": "RANGE"}, {"AttributeName": "pk", "KeyType": "HASH"}]});
    cx.put_resource(&id, None, &doc).unwrap();
    let n = segments.len();
    for (i, s) in segments.iter().enumerate() {
        cx.put_part(
            &id,
            None,
            &format!("data/segment-{i}-of-{n}.json.gz"),
            &gz_lines(s),
        )
        .unwrap();
    }
    cx.put_part(
        &id,
        None,
        "stats.json",
        format!("{{\"ItemCount\": {n}}}").as_bytes(),
    )
    .unwrap();
    cx.cover("aws.dynamodb.table", ACCT, "eu-west-1", None);
}

#[test]
fn dynamodb_items_by_primary_key() {
    let t = TestRepo::new();
    let item = |pk: &str, sk: &str, status: &str| json!({"pk": {"S": pk}, "sk": {"N": sk}, "status": {"S": status}});
    let a = t.snapshot("a", |cx| {
        put_table(
            cx,
            &[
                vec![item("u#1", "1", "new"), item("u#1", "2", "paid")],
                vec![item("u#2", "1", "new")],
            ],
        )
    });
    // Another split into segments; one item changed (and gained an attribute), one gone, one new.
    let b = t.snapshot("b", |cx| {
        let mut changed = item("u#1", "1", "shipped");
        changed["carrier"] = json!({"S": "ups"});
        put_table(
            cx,
            &[vec![
                changed,
                item("u#1", "2", "paid"),
                item("u#3", "1", "new"),
            ]],
        )
    });
    let r = t.diff(&a, &b, Selection::default(), false);
    let res = &r.kinds[0].resources[0];
    assert!(
        res.parts.is_empty(),
        "data parts are items; stats.json is volatile: {res:?}"
    );
    let it = res.items.as_ref().unwrap();
    assert_eq!(
        (it.added, it.removed, it.changed, it.unchanged),
        (1, 1, 1, 1)
    );
    let summary: Vec<(String, Change, Vec<String>)> = it
        .changes
        .iter()
        .map(|c| (c.key.clone(), c.change, c.attributes.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "pk=u#1, sk=1".into(),
                Change::Changed,
                vec!["carrier".into(), "status".into()]
            ),
            ("pk=u#2, sk=1".into(), Change::Removed, vec![]),
            ("pk=u#3, sk=1".into(), Change::Added, vec![]),
        ]
    );
    // The same items split differently: no difference.
    let c = t.snapshot("c", |cx| {
        put_table(
            cx,
            &[
                vec![item("u#1", "1", "new")],
                vec![item("u#1", "2", "paid"), item("u#2", "1", "new")],
            ],
        )
    });
    let r = t.diff(&a, &c, Selection::default(), false);
    assert!(!r.differs(), "{r}");
}

#[test]
fn zip_parts_list_their_members_with_content() {
    let t = TestRepo::new();
    let (a, b) = estate(&t);
    let r = t.diff(
        &a,
        &b,
        Selection {
            kinds: vec!["aws.lambda.*".into()],
            ..Default::default()
        },
        true,
    );
    let res = &r.kinds[0].resources[0];
    let Some(ContentDiff::Zip { members }) = &res.parts[0].content else {
        panic!("{res:?}")
    };
    let names: Vec<(&str, Change)> = members
        .iter()
        .map(|m| (m.path.as_str(), m.change))
        .collect();
    assert_eq!(
        names,
        vec![
            ("index.js", Change::Changed),
            ("lib/a.js", Change::Removed),
            ("lib/b.js", Change::Added)
        ]
    );
    // The secret changed, the volatile LastModified did not count.
    let fields: Vec<(&str, Change)> = res
        .changes
        .iter()
        .map(|c| (c.at.as_str(), c.change))
        .collect();
    assert_eq!(
        fields,
        vec![
            (
                "/Configuration/Environment/Variables/DB_URL",
                Change::Secret
            ),
            ("/Configuration/Timeout", Change::Changed)
        ]
    );
}

/// A format-1 snapshot folder: one account at the top, or several under `aws_accounts/<id>/`.
fn format1(
    root: &Path,
    name: &str,
    accounts: &[&str],
    buckets: &[(&str, Value, &[Obj])],
) -> PathBuf {
    let dir = root.join(name);
    let blobs = root.join(".infrasnap/blobs");
    let several = accounts.len() > 1;
    let mut collectors = serde_json::Map::new();
    let mut acct_list = Vec::new();
    for acct in accounts {
        let prefix = if several {
            format!("aws_accounts/{acct}/")
        } else {
            String::new()
        };
        for (b, doc, objects) in buckets {
            let cfg = dir.join(&prefix).join(format!("s3_bucket_config/{b}.json"));
            std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
            std::fs::write(&cfg, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
            let ix = dir.join(format!("index/{prefix}s3_buckets/{b}.jsonl"));
            std::fs::create_dir_all(ix.parent().unwrap()).unwrap();
            let mut lines = String::new();
            for (key, body, _) in *objects {
                let id = crate::ids::BlobId::of(body);
                let hex = id.to_hex();
                let p = blobs.join(&hex[..2]).join(&hex);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, body).unwrap();
                lines.push_str(&record_line(
                    &format!("{prefix}s3_buckets/{b}/{key}"),
                    key,
                    body,
                    id,
                    &json!({}),
                ));
                lines.push('\n');
            }
            std::fs::write(&ix, lines).unwrap();
        }
        let key = if several {
            format!("s3:{acct}")
        } else {
            "s3".into()
        };
        collectors.insert(key, json!({"status": "complete", "duration_seconds": 1.0, "counts": {}, "bytes_total": 0, "bytes_new": 0, "objects_downloaded": 0, "errors": []}));
        acct_list.push(json!({"name": acct, "account_id": acct, "prefix": prefix}));
    }
    collectors.insert("lambda".into(), json!({"status": "complete", "duration_seconds": 1.0, "counts": {}, "bytes_total": 0, "bytes_new": 0, "objects_downloaded": 0, "errors": []}));
    let meta = json!({
        "tool": "infrasnap", "tool_version": "0.1.0", "format_version": 1, "name": name,
        "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:00:01Z",
        "duration_seconds": 1.0, "status": "complete", "account_id": accounts[0], "regions": ["us-east-1"],
        "totals": {"objects": 0, "bytes": 0, "bytes_new": 0, "blobs_new": 0, "errors": 0},
        "collectors": collectors, "accounts": if several { json!(acct_list) } else { json!([]) }, "errors": [],
    });
    std::fs::write(dir.join("snapshot_metadata.json"), meta.to_string()).unwrap();
    dir
}

#[test]
fn a_format1_snapshot_compares_its_buckets_only() {
    let t = TestRepo::new();
    let doc1 = bucket_doc("site", &[("env", "prod")], statements(&[0]));
    let old = format1(
        &t.root,
        "old",
        &[ACCT],
        &[(
            "site",
            doc1,
            &[("a.txt", b"1", json!({})), ("b.txt", b"2", json!({}))],
        )],
    );
    let new = t.snapshot("new", |cx| {
        put_bucket(
            cx,
            "site",
            &bucket_doc("site", &[("env", "prod")], statements(&[0])),
            &[("a.txt", b"1", json!({})), ("c.txt", b"3", json!({}))],
        );
        put_lambda(cx, &lambda_doc(3, "x"), b"PK");
    });
    let r = t.diff(&old, &new, Selection::default(), false);
    insta::assert_snapshot!("format1_human", r.to_string());
    assert_eq!(r.from.format, 1);
    let s3 = r.kinds.iter().find(|k| k.kind == "aws.s3.bucket").unwrap();
    let o = s3.resources[0].objects.as_ref().unwrap();
    assert_eq!((o.added, o.removed, o.unchanged), (1, 1, 1));
    let l = r
        .kinds
        .iter()
        .find(|k| k.kind == "aws.lambda.function")
        .unwrap();
    assert_eq!(l.resources[0].status, Status::NotComparable);
    assert!(l.resources[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("snapshot `old` is format 1: only S3 can be compared; take a new snapshot"));
    assert!(r.notes[0].contains("it also holds lambda"), "{:?}", r.notes);
    // Nothing was written into it.
    assert!(!old.join("catalog").exists());
}

#[test]
fn format1_snapshots_with_several_accounts() {
    let t = TestRepo::new();
    let d = |env: &str| bucket_doc("b", &[("env", env)], json!([]));
    let one = format1(
        &t.root,
        "one",
        &["111111111111", "222222222222"],
        &[("b", d("prod"), &[])],
    );
    let two = format1(
        &t.root,
        "two",
        &["111111111111", "222222222222"],
        &[("b", d("dev"), &[])],
    );
    let r = t.diff(&one, &two, Selection::default(), false);
    let ids: Vec<String> = r.kinds[0]
        .resources
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(
        ids,
        vec![
            "aws.s3.bucket:111111111111::b",
            "aws.s3.bucket:222222222222::b"
        ]
    );
    assert!(r.kinds[0]
        .resources
        .iter()
        .all(|r| r.status == Status::Modified));
    let r = t.diff(
        &one,
        &two,
        Selection {
            accounts: vec!["2*".into()],
            ..Default::default()
        },
        false,
    );
    assert_eq!(r.counts.modified, 1);
}

#[test]
fn a_damaged_catalog_line_names_the_file_and_line() {
    let t = TestRepo::new();
    let (a, b) = estate(&t);
    let cat = b.join("catalog/resources.jsonl");
    let mut text = std::fs::read_to_string(&cat).unwrap();
    text.push_str("{not json\n");
    let lines = text.lines().count();
    std::fs::write(&cat, text).unwrap();
    let e = diff_snapshots(
        &a,
        &b,
        &t.blobs(),
        &Selection::default(),
        &DiffOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("catalog/resources.jsonl") && e.contains(&format!("line {lines}")),
        "{e}"
    );
}

#[test]
fn log_follows_a_resource_through_snapshots() {
    let t = TestRepo::new();
    let id = format!("aws.lambda.function:{ACCT}:us-east-1:checkout");
    let s1 = t.snapshot("s1", |cx| put_lambda(cx, &lambda_doc(3, "a"), b"PK1"));
    let s2 = t.snapshot("s2", |cx| put_lambda(cx, &lambda_doc(3, "a"), b"PK1"));
    let s3 = t.snapshot("s3", |cx| put_lambda(cx, &lambda_doc(5, "b"), b"PK2"));
    let s4 = t.snapshot("s4", |cx| capture(cx, Cap::Failed));
    let s5 = t.snapshot("s5", |cx| capture(cx, Cap::Absent));
    let s6 = t.snapshot("s6", |cx| put_lambda(cx, &lambda_doc(7, "b"), b"PK2"));
    let dirs = vec![s1, s2, s3, s4, s5, s6];
    let r = log_resource(
        &dirs,
        &t.blobs(),
        &id.parse().unwrap(),
        &LogOptions::default(),
    )
    .unwrap();
    let events: Vec<(&str, Event)> = r
        .entries
        .iter()
        .map(|e| (e.snapshot.as_str(), e.event))
        .collect();
    assert_eq!(
        events,
        vec![
            ("s1", Event::FirstSeen),
            ("s3", Event::Changed),
            ("s4", Event::NotRead),
            ("s5", Event::Gone),
            ("s6", Event::Reappeared),
        ]
    );
    insta::assert_snapshot!("log_human", r.to_string());
    // One field.
    let r = log_resource(
        &dirs,
        &t.blobs(),
        &LogTarget::Path(
            "s1/lambda_functions/123456789012/us-east-1/function_code/checkout.zip".into(),
        ),
        &LogOptions {
            field: Some("/Configuration/Timeout".into()),
        },
    )
    .unwrap();
    assert_eq!(r.id.to_string(), id);
    let got: Vec<(Event, Option<Value>, Option<Value>)> = r
        .entries
        .iter()
        .map(|e| (e.event, e.before.clone(), e.after.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Event::FirstSeen, None, Some(json!(3))),
            (Event::Changed, Some(json!(3)), Some(json!(5))),
            (Event::NotRead, None, None),
            (Event::Gone, Some(json!(5)), None),
            (Event::Reappeared, Some(json!(5)), Some(json!(7))),
        ]
    );
    // A secret field shows no value.
    let r = log_resource(
        &dirs,
        &t.blobs(),
        &id.parse().unwrap(),
        &LogOptions {
            field: Some("/Configuration/Environment/Variables/DB_URL".into()),
        },
    )
    .unwrap();
    assert_eq!(r.entries[1].change, Some(Change::Secret));
    assert!(!serde_json::to_string(&r).unwrap().contains("redacted fp:"));
    assert!(!r.to_string().contains("redacted fp:"));
}

#[test]
fn log_of_an_s3_object_by_its_path() {
    let t = TestRepo::new();
    let doc = bucket_doc("site", &[], json!([]));
    let s1 = t.snapshot("s1", |cx| {
        put_bucket(cx, "site", &doc, &[("a.txt", b"1", json!({}))])
    });
    let s2 = t.snapshot("s2", |cx| {
        put_bucket(
            cx,
            "site",
            &doc,
            &[("a.txt", b"2", json!({"metadata": {"k": "v"}}))],
        )
    });
    let s3 = t.snapshot("s3", |cx| put_bucket(cx, "site", &doc, &[]));
    let r = log_resource(
        &[s1, s2, s3],
        &t.blobs(),
        &LogTarget::Path("s3_buckets/site/a.txt".into()),
        &LogOptions::default(),
    )
    .unwrap();
    assert_eq!(r.object.as_deref(), Some("a.txt"));
    let got: Vec<(Event, Vec<String>)> = r
        .entries
        .iter()
        .map(|e| (e.event, e.fields.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Event::FirstSeen, vec![]),
            (Event::Changed, vec!["content".into(), "/metadata/k".into()]),
            (Event::Gone, vec![]),
        ]
    );
}

#[test]
fn log_targets_parse_as_ids_or_paths() {
    assert!(matches!(
        "aws.s3.bucket:1::b".parse::<LogTarget>(),
        Ok(LogTarget::Id(_))
    ));
    assert!(matches!(
        "s3_buckets/b/a:b.txt".parse::<LogTarget>(),
        Ok(LogTarget::Path(_))
    ));
    let e = "aws.lambda.function:1"
        .parse::<LogTarget>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("kind:account:region:id"), "{e}");
    let t = TestRepo::new();
    let s = t.snapshot("s", |_| {});
    let e = log_resource(
        &[s],
        &t.blobs(),
        &LogTarget::Path("nope.json".into()),
        &LogOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("nope.json") && e.contains("`s`"), "{e}");
}

/// A snapshot folder with one bucket of `n` objects whose index is written directly; every
/// `changed_every`-th object has other content than in the base.
fn big_bucket(root: &Path, name: &str, n: usize, changed_every: usize) -> PathBuf {
    use crate::catalog::{CatalogRecord, Coverage, CoverageState};
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("catalog")).unwrap();
    std::fs::create_dir_all(dir.join("index/s3_buckets")).unwrap();
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(dir.join("index/s3_buckets/big.jsonl")).unwrap(),
    );
    for i in 0..n {
        let key = format!("assets/{:04}/file-{i:08}.html", i / 1000);
        let variant = if changed_every > 0 && i % changed_every == 0 {
            1
        } else {
            0
        };
        let blob = crate::ids::BlobId::of(format!("{key}{variant}").as_bytes());
        let line = record_line(
            &format!("s3_buckets/big/{key}"),
            &key,
            b"0123456789",
            blob,
            &json!({"content_type": "text/html", "metadata": {"build": "1234"}}),
        );
        w.write_all(line.as_bytes()).unwrap();
        w.write_all(b"\n").unwrap();
    }
    w.flush().unwrap();
    let rec = CatalogRecord {
        id: ResourceId::new("aws.s3.bucket", ACCT, "", "big"),
        label: None,
        path: Some("s3_bucket_config/big.json".into()),
        blob: crate::ids::BlobId::of(b"{}"),
        size: 2,
        digest: "same".into(),
        parts: BTreeMap::new(),
        index: Some("index/s3_buckets/big.jsonl".into()),
        incomplete: false,
    };
    std::fs::write(
        dir.join("catalog/resources.jsonl"),
        format!("{}\n", serde_json::to_string(&rec).unwrap()),
    )
    .unwrap();
    let cov = Coverage {
        kind: "aws.s3.bucket".into(),
        account: ACCT.into(),
        region: String::new(),
        state: CoverageState::Complete,
        error: None,
    };
    std::fs::write(
        dir.join("catalog/coverage.jsonl"),
        format!("{}\n", serde_json::to_string(&cov).unwrap()),
    )
    .unwrap();
    dir
}

#[test]
fn a_bucket_index_merge_counts_every_object() {
    let tmp = tempfile::tempdir().unwrap();
    let a = big_bucket(tmp.path(), "a", 5_000, 0);
    let b = big_bucket(tmp.path(), "b", 5_000, 100);
    let r = diff_snapshots(
        &a,
        &b,
        tmp.path(),
        &Selection::default(),
        &DiffOptions::default(),
    )
    .unwrap();
    let o = r.kinds[0].resources[0].objects.as_ref().unwrap();
    assert_eq!((o.changed, o.unchanged), (50, 4_950));
}

/// Two snapshots of a bucket of 1M objects, 1% changed: under 10 s and 300 MB of memory (run in
/// release; measure memory with `/usr/bin/time -v`).
#[test]
#[ignore = "scale check: cargo test --release -p infrasnap-core --lib -- --ignored a_million"]
fn a_million_objects_each_side_are_merged_in_a_stream() {
    let tmp = tempfile::tempdir().unwrap();
    let a = big_bucket(tmp.path(), "a", 1_000_000, 0);
    let b = big_bucket(tmp.path(), "b", 1_000_000, 100);
    let t0 = std::time::Instant::now();
    let r = diff_snapshots(
        &a,
        &b,
        tmp.path(),
        &Selection::default(),
        &DiffOptions::default(),
    )
    .unwrap();
    let took = t0.elapsed();
    let o = r.kinds[0].resources[0].objects.as_ref().unwrap();
    assert_eq!((o.changed, o.unchanged), (10_000, 990_000));
    eprintln!(
        "1M x 2 objects, 1% changed: {took:?}; index {} MB each",
        std::fs::metadata(a.join("index/s3_buckets/big.jsonl"))
            .unwrap()
            .len()
            >> 20
    );
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}

#[test]
fn a_catalog_without_s3_entries_reads_the_buckets_from_the_tree() {
    // A run whose S3 collector did not report to the catalog yet: its buckets are in the tree
    // (format-1 layout) and the catalog holds only other kinds.
    let t = TestRepo::new();
    let doc = |env: &str| bucket_doc("site", &[("env", env)], json!([]));
    let mk = |name: &str, env: &str| {
        let dir = t.snapshot(name, |cx| put_lambda(cx, &lambda_doc(3, "x"), b"PK"));
        let cfg = dir.join("s3_bucket_config/site.json");
        std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        std::fs::write(&cfg, serde_json::to_vec(&doc(env)).unwrap()).unwrap();
        dir
    };
    let (a, b) = (mk("a", "prod"), mk("b", "dev"));
    let r = t.diff(&a, &b, Selection::default(), false);
    let s3 = r.kinds.iter().find(|k| k.kind == "aws.s3.bucket").unwrap();
    assert_eq!(s3.resources[0].status, Status::Modified, "{r}");
    assert!(
        r.notes.iter().any(|n| n.contains("read from its tree")),
        "{r}"
    );
    assert_eq!(r.counts.unchanged, 1, "{r}");
}

#[test]
fn text_parts_get_a_unified_diff_and_not_comparable_resources_are_grouped() {
    let t = TestRepo::new();
    let project = |code: &'static str, lambdas: bool| {
        move |cx: &RunContext| {
            let id = rid("gas.project:::1AbC");
            cx.put_resource(
                &id,
                Some("Invoices"),
                &json!({"title": "Invoices", "updateTime": code}),
            )
            .unwrap();
            cx.put_part(&id, Some("Invoices"), "Code.js", code.as_bytes())
                .unwrap();
            cx.cover("gas.project", "", "", None);
            for i in 0..if lambdas { 12 } else { 0 } {
                let f = rid(&format!("aws.lambda.function:{ACCT}:eu-west-1:fn-{i:02}"));
                cx.put_resource(&f, None, &json!({"FunctionName": i}))
                    .unwrap();
            }
        }
    };
    // The functions are in `a` only, and `b` did not list functions: not comparable.
    let a = t.snapshot("a", project("function a() {\n  return 1;\n}\n", true));
    let b = t.snapshot("b", project("function a() {\n  return 2;\n}\n", false));
    let r = t.diff(&a, &b, Selection::default(), true);
    insta::assert_snapshot!("text_part_and_grouped", r.to_string());
}

/// A seed-scale estate of every sort (46 buckets with 11,500 objects, 66 distributions, 21
/// functions with code, 16 zones of 30 record sets, 14 tables, 50 roles, 40 parameters), 1% of
/// it changed: the diff takes under 1 s (bench/README.md, "Diff and log").
fn seed_estate(t: &TestRepo, name: &str, changed: bool) -> PathBuf {
    t.snapshot(name, |cx| {
        for b in 0..46 {
            let bucket = format!("site-{b:02}");
            let owned: Vec<(String, Vec<u8>)> = (0..250)
                .map(|i| {
                    let body = if changed && b % 10 == 0 && i % 50 == 0 {
                        format!("<p>{bucket} page {i} v2</p>")
                    } else {
                        format!("<p>{bucket} page {i}</p>")
                    };
                    (format!("pages/{i:04}.html"), body.into_bytes())
                })
                .collect();
            let objects: Vec<Obj> = owned
                .iter()
                .map(|(k, b)| (k.as_ref(), b.as_ref(), json!({"content_type": "text/html"})))
                .collect();
            put_bucket(cx, &bucket, &bucket_doc(&bucket, &[("env", "prod")], statements(&[0, 1])), &objects);
        }
        for d in 0..66 {
            let id = rid(&format!("aws.cloudfront.distribution:{ACCT}::E{d:05}"));
            let path = if changed && d == 7 { "/_staging" } else { "" };
            cx.put_resource(&id, None, &json!({"Id": format!("E{d:05}"), "DistributionConfig": {
                "Comment": format!("site {d}"), "Enabled": true,
                "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": format!("site-{d}.s3.amazonaws.com"), "OriginPath": path}]}}}))
                .unwrap();
        }
        cx.cover("aws.cloudfront.distribution", ACCT, "", None);
        for f in 0..21 {
            let id = rid(&format!("aws.lambda.function:{ACCT}:us-east-1:fn-{f:02}"));
            let timeout = if changed && f == 3 { 30 } else { 3 };
            let mut doc = lambda_doc(timeout, "x");
            doc["FunctionName"] = json!(format!("fn-{f:02}"));
            cx.put_resource(&id, None, &doc).unwrap();
            cx.put_part(&id, None, "code.zip", &zip_of(&[("index.js", format!("exports.h={f}").as_bytes())])).unwrap();
        }
        cx.cover("aws.lambda.function", ACCT, "us-east-1", None);
        for z in 0..16 {
            for r in 0..30 {
                let id = rid(&format!("aws.route53.record_set:{ACCT}::Z{z:04}/r{r}.example{z}.com./A"));
                let ip = if changed && z == 2 && r == 5 { "192.0.2.99" } else { "192.0.2.1" };
                cx.put_resource(&id, None, &json!({"Name": format!("r{r}.example{z}.com."), "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": ip}]})).unwrap();
            }
        }
        cx.cover("aws.route53.record_set", ACCT, "", None);
        for tb in 0..14 {
            let id = rid(&format!("aws.dynamodb.table:{ACCT}:eu-west-1:t{tb:02}"));
            cx.put_resource(&id, None, &json!({"TableName": format!("t{tb:02}"), "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]})).unwrap();
            let items: Vec<Value> = (0..200)
                .map(|i| {
                    let title = if changed && tb == 1 && i == 10 { "moved" } else { "event" };
                    json!({"pk": {"S": format!("k{i:05}")}, "title": {"S": title}})
                })
                .collect();
            cx.put_part(&id, None, "data/segment-0-of-1.json.gz", &gz_lines(&items)).unwrap();
        }
        cx.cover("aws.dynamodb.table", ACCT, "eu-west-1", None);
        for r in 0..50 {
            let id = rid(&format!("aws.iam.role:{ACCT}::role-{r:02}"));
            cx.put_resource(&id, None, &json!({"RoleName": format!("role-{r:02}"), "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": statements(&[0, 1])}})).unwrap();
        }
        cx.cover("aws.iam.role", ACCT, "", None);
        for p in 0..40 {
            let id = rid(&format!("aws.ssm.parameter:{ACCT}:us-east-1:/app/p{p:02}"));
            cx.put_resource(&id, None, &json!({"Name": format!("/app/p{p:02}"), "Value": "v"})).unwrap();
        }
        cx.cover("aws.ssm.parameter", ACCT, "us-east-1", None);
    })
}

#[test]
#[ignore = "scale check: cargo test --release -p infrasnap-core --lib -- --ignored seed_scale"]
fn a_seed_scale_estate_of_every_sort_diffs_in_under_a_second() {
    let t = TestRepo::new();
    let a = seed_estate(&t, "a", false);
    let b = seed_estate(&t, "b", true);
    let t0 = std::time::Instant::now();
    let r = t.diff(&a, &b, Selection::default(), false);
    let took = t0.elapsed();
    eprintln!(
        "seed-scale estate, every sort, 1% changed: {took:?}; {:?}",
        r.counts
    );
    assert_eq!(r.counts.modified, 5 + 1 + 1 + 1 + 1, "{r}");
    assert!(took < std::time::Duration::from_secs(1), "{took:?}");
}

#[test]
#[ignore = "scale check: cargo test --release -p infrasnap-core --lib -- --ignored across_100"]
fn log_of_one_resource_across_100_snapshots_takes_under_a_second() {
    let t = TestRepo::new();
    let dirs: Vec<PathBuf> = (0..100)
        .map(|i| {
            t.snapshot(&format!("s{i:03}"), |cx| {
                // The function changes every tenth snapshot; 200 other resources stay.
                put_lambda(cx, &lambda_doc(3 + (i / 10) as u64, "x"), b"PK");
                for p in 0..200 {
                    let id = rid(&format!("aws.ssm.parameter:{ACCT}:us-east-1:/app/p{p:03}"));
                    cx.put_resource(&id, None, &json!({"Name": p, "Value": "v"}))
                        .unwrap();
                }
                cx.cover("aws.ssm.parameter", ACCT, "us-east-1", None);
            })
        })
        .collect();
    let target = format!("aws.lambda.function:{ACCT}:us-east-1:checkout")
        .parse()
        .unwrap();
    let t0 = std::time::Instant::now();
    let r = log_resource(&dirs, &t.blobs(), &target, &LogOptions::default()).unwrap();
    let took = t0.elapsed();
    eprintln!(
        "log of one resource across 100 snapshots: {took:?}, {} entries",
        r.entries.len()
    );
    assert_eq!(r.entries.len(), 10);
    assert!(took < std::time::Duration::from_secs(1), "{took:?}");
}

fn role_doc(id: &str, created: &str, description: &str) -> Value {
    json!({
        "RoleName": "app", "RoleId": id, "CreateDate": created, "Path": "/",
        "Description": description,
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
    })
}

fn put_role(cx: &RunContext, doc: &Value) {
    cx.put_resource(&rid(&format!("aws.iam.role:{ACCT}::app")), None, doc)
        .unwrap();
    cx.cover("aws.iam.role", ACCT, "", None);
}

/// A resource deleted and created again (by a restore): one line "re-created (new ...)", not a
/// field list of ids, and no difference; with a real change as well, the change is listed.
#[rstest::rstest]
#[case::only_new_ids(
    role_doc("AROA2", "2026-12-02T10:00:00Z", "app"),
    Status::Recreated,
    vec![],
    "* app [123456789012] re-created (new RoleId, CreateDate)"
)]
#[case::new_ids_and_a_change(
    role_doc("AROA2", "2026-12-02T10:00:00Z", "changed"),
    Status::Modified,
    vec!["/Description"],
    "~ app [123456789012] re-created (new RoleId, CreateDate)"
)]
#[case::same_ids_a_change(
    role_doc("AROA1", "2026-01-01T00:00:00Z", "changed"),
    Status::Modified,
    vec!["/Description"],
    "~ app [123456789012]\n"
)]
fn a_recreated_resource_is_one_line(
    #[case] after: Value,
    #[case] status: Status,
    #[case] changes: Vec<&str>,
    #[case] line: &str,
) {
    let t = TestRepo::new();
    let a = t.snapshot("before", |cx| {
        put_role(cx, &role_doc("AROA1", "2026-01-01T00:00:00Z", "app"))
    });
    let b = t.snapshot("after", |cx| put_role(cx, &after));
    let r = t.diff(&a, &b, Selection::default(), false);
    let res = &r.kinds[0].resources[0];
    assert_eq!(res.status, status);
    assert_eq!(
        res.changes
            .iter()
            .map(|c| c.pointer.as_str())
            .collect::<Vec<_>>(),
        changes
    );
    assert_eq!(r.differs(), status != Status::Recreated, "{r}");
    assert_eq!(r.counts.recreated, u64::from(status == Status::Recreated));
    let text = r.to_string();
    assert!(text.contains(line), "{text}");
    let json = serde_json::to_value(&r).unwrap();
    if status == Status::Recreated {
        assert!(text.contains("No differences: 1 re-created"), "{text}");
        assert_eq!(json["kinds"][0]["resources"][0]["status"], "recreated");
        assert_eq!(
            json["kinds"][0]["resources"][0]["recreated"],
            json!(["RoleId", "CreateDate"])
        );
        assert_eq!(json["counts"]["recreated"], 1);
    } else {
        assert!(json["counts"].get("recreated").is_none());
    }
}

#[test]
fn a_recreated_table_and_policy_name_their_new_ids() {
    let t = TestRepo::new();
    let table = |id: &str| json!({"TableName": "orders", "TableId": id, "CreationDateTime": id, "KeySchema": []});
    let policy = |id: &str, v: &str| {
        json!({"PolicyName": "p", "PolicyId": id, "CreateDate": id, "DefaultVersionId": v,
        "Versions": [{"VersionId": v, "IsDefaultVersion": true}], "DefaultVersionDocument": {"Statement": []}})
    };
    let put = |cx: &RunContext, tid: &str, pid: &str, v: &str| {
        cx.put_resource(
            &rid(&format!("aws.dynamodb.table:{ACCT}:us-east-1:orders")),
            None,
            &table(tid),
        )
        .unwrap();
        cx.cover("aws.dynamodb.table", ACCT, "us-east-1", None);
        cx.put_resource(
            &rid(&format!("aws.iam.policy:{ACCT}::p")),
            None,
            &policy(pid, v),
        )
        .unwrap();
        cx.cover("aws.iam.policy", ACCT, "", None);
    };
    let a = t.snapshot("before", |cx| put(cx, "t1", "p1", "v5"));
    let b = t.snapshot("after", |cx| put(cx, "t2", "p2", "v1"));
    let r = t.diff(&a, &b, Selection::default(), false);
    assert!(!r.differs(), "{r}");
    let text = r.to_string();
    assert!(
        text.contains("orders [123456789012 us-east-1] re-created (new TableId, CreationDateTime)"),
        "{text}"
    );
    // The version history is not compared: only the default version's document.
    assert!(
        text.contains("p [123456789012] re-created (new PolicyId, CreateDate)"),
        "{text}"
    );
}

/// A resource whose id the service assigns, made again by a restore: removed under its old id
/// and added under a new one with the same content is one `recreated` entry naming the old id;
/// a removed and an added one whose contents differ stay what they are.
#[test]
fn a_recreated_policy_under_a_new_id_is_paired_with_the_old_one() {
    let t = TestRepo::new();
    let policy = |id: &str, ttl: u64, name: &str| {
        json!({"CachePolicy": {"Id": id, "LastModifiedTime": format!("t-{id}"),
            "CachePolicyConfig": {"Name": name, "DefaultTTL": ttl}}})
    };
    let put = |cx: &RunContext, id: &str, doc: Value| {
        let r = rid(&format!("aws.cloudfront.cache_policy:{ACCT}::{id}"));
        cx.put_resource(&r, None, &doc).unwrap();
    };
    let a = t.snapshot("before", |cx| {
        put(cx, "E1", policy("E1", 60, "static"));
        put(cx, "E3", policy("E3", 5, "api"));
        cx.cover("aws.cloudfront.cache_policy", ACCT, "", None);
    });
    let b = t.snapshot("after", |cx| {
        put(cx, "E2", policy("E2", 60, "static"));
        put(cx, "E4", policy("E4", 9, "api"));
        cx.cover("aws.cloudfront.cache_policy", ACCT, "", None);
    });
    let r = t.diff(&a, &b, Selection::default(), false);
    let k = &r.kinds[0];
    assert_eq!(
        (k.counts.recreated, k.counts.removed, k.counts.added),
        (1, 1, 1),
        "{r}"
    );
    let re = k
        .resources
        .iter()
        .find(|x| x.status == Status::Recreated)
        .unwrap();
    assert_eq!(re.id.id, "E2");
    assert_eq!(
        re.notes,
        vec![format!(
            "re-created: it was aws.cloudfront.cache_policy:{ACCT}::E1"
        )]
    );
    let ids: Vec<(&str, Status)> = k
        .resources
        .iter()
        .map(|x| (x.id.id.as_str(), x.status))
        .collect();
    assert!(ids.contains(&("E3", Status::Removed)), "{ids:?}");
    assert!(ids.contains(&("E4", Status::Added)), "{ids:?}");
}
