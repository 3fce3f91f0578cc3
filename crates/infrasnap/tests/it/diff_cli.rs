//! `infrasnap diff` and `infrasnap log` through the real binary, on two snapshots of moto's S3:
//! an object rewritten, a bucket policy's statements reordered (no change), a tag changed.
//! Works on format-1 snapshots (S3 read from the tree) and on snapshots with a catalog alike.

use crate::common;

use aws_sdk_s3::types::{Tag, Tagging};
use common::*;

fn policy(order: [usize; 2]) -> String {
    let st = [
        r#"{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}"#,
        r#"{"Sid":"DenyDelete","Effect":"Deny","Principal":"*","Action":["s3:DeleteObject","s3:DeleteBucket"],"Resource":["arn:aws:s3:::site","arn:aws:s3:::site/*"]}"#,
    ];
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{},{}]}}"#,
        st[order[0]], st[order[1]]
    )
}

async fn tag(s3: &aws_sdk_s3::Client, env: &str) {
    let tags = Tagging::builder()
        .tag_set(Tag::builder().key("env").value(env).build().unwrap())
        .tag_set(Tag::builder().key("team").value("web").build().unwrap())
        .build()
        .unwrap();
    s3.put_bucket_tagging()
        .bucket("site")
        .tagging(tags)
        .send()
        .await
        .unwrap();
}

/// Every file of the repository with its length and modification time.
fn tree_state(repo: &std::path::Path) -> Vec<(std::path::PathBuf, u64, std::time::SystemTime)> {
    let mut v: Vec<_> = walk_files(repo)
        .into_iter()
        .map(|p| {
            let m = std::fs::metadata(&p).unwrap();
            (p, m.len(), m.modified().unwrap())
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_and_log_of_two_s3_snapshots() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let url = emu.url();

    create_bucket(&s3, "site").await;
    put(&s3, "site", "index.html", b"<h1>Hello</h1>\n<p>v1</p>\n").await;
    put(&s3, "site", "about.html", b"<p>about</p>\n").await;
    s3.put_bucket_policy()
        .bucket("site")
        .policy(policy([0, 1]))
        .send()
        .await
        .unwrap();
    tag(&s3, "prod").await;
    snapshot(&repo, &url, &["--only", "s3", "--label", "one"]);

    put(&s3, "site", "index.html", b"<h1>Hello</h1>\n<p>v2</p>\n").await;
    s3.put_bucket_policy()
        .bucket("site")
        .policy(policy([1, 0]))
        .send()
        .await
        .unwrap();
    tag(&s3, "staging").await;
    snapshot(&repo, &url, &["--only", "s3", "--label", "two"]);

    let before = tree_state(&repo);

    // People.
    let o = infrasnap(&repo, &url, &["diff", "one", "two", "--content"]);
    assert_code(&o, 5);
    let out = stdout(&o);
    assert!(
        out.contains("/config/tagging/value/TagSet[Key=env]/Value: \"prod\" -> \"staging\""),
        "{out}"
    );
    assert!(out.contains("~ index.html: content"), "{out}");
    assert!(
        out.contains("-<p>v1</p>\n") && out.contains("+<p>v2</p>\n"),
        "{out}"
    );
    assert!(
        !out.contains("policy"),
        "reordered statements are equal:\n{out}"
    );
    assert!(!out.contains("about.html"), "{out}");
    assert!(!out.contains('\x1b'), "no colour when piped:\n{out}");
    assert!(out.contains("Differences: 1 modified"), "{out}");

    // Programs.
    let o = infrasnap(&repo, &url, &["--json", "diff", "one", "two"]);
    assert_code(&o, 5);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["report"], "diff");
    assert_eq!(v["counts"]["modified"], 1);
    let bucket = &v["kinds"][0]["resources"][0];
    assert_eq!(bucket["id"], "aws.s3.bucket:123456789012::site");
    assert_eq!(bucket["objects"]["changed"], 1);
    assert_eq!(bucket["objects"]["unchanged"], 1);
    assert_eq!(bucket["objects"]["changes"][0]["key"], "index.html");
    let fields: Vec<&str> = bucket["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["at"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"/config/tagging/value/TagSet[Key=env]/Value"),
        "{fields:?}"
    );
    assert!(fields.iter().all(|f| !f.contains("policy")), "{fields:?}");

    // Equal, and selections.
    let o = infrasnap(&repo, &url, &["diff", "one", "one"]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains("No differences"), "{}", stdout(&o));
    let o = infrasnap(
        &repo,
        &url,
        &["diff", "one", "two", "--kind", "aws.lambda.*"],
    );
    assert_code(&o, 0);
    let o = infrasnap(&repo, &url, &["diff", "one", "two", "other-*"]);
    assert_code(&o, 0);
    let o = infrasnap(&repo, &url, &["diff", "one", "two", "site"]);
    assert_code(&o, 5);

    // History.
    let o = infrasnap(&repo, &url, &["log", "s3_buckets/site/index.html"]);
    assert_code(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("object index.html"), "{out}");
    assert!(out.contains("one") && out.contains("first seen"), "{out}");
    assert!(out.contains("two") && out.contains("changed"), "{out}");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "--json",
            "log",
            "aws.s3.bucket:123456789012::site",
            "--field",
            "/config/tagging/value/TagSet",
        ],
    );
    assert_code(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let events: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["first_seen", "changed"], "{v}");
    assert_eq!(v["entries"][1]["before"][0]["Value"], "prod", "{v}");
    assert_eq!(v["entries"][1]["after"][0]["Value"], "staging", "{v}");

    // Errors say what and what to do.
    let o = infrasnap(&repo, &url, &["diff", "one", "three"]);
    assert_code(&o, 1);
    let e = stderr(&o);
    assert!(
        e.contains("no snapshot named `three`") && e.contains("one, two"),
        "{e}"
    );
    let o = infrasnap(&repo, &url, &["log", "aws.s3.bucket:123"]);
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains("kind:account:region:id"),
        "{}",
        stderr(&o)
    );
    let o = infrasnap(
        &repo,
        &url,
        &["diff", "one", "two", "--kind", "aws.s3.bukket"],
    );
    assert_code(&o, 1);
    assert!(stderr(&o).contains("aws.s3.bucket"), "{}", stderr(&o));
    let o = infrasnap(
        &repo,
        &url,
        &["diff", "one", "--live", "--kind", "aws.s3.bukket"],
    );
    assert_code(&o, 1);
    assert!(stderr(&o).contains("aws.s3.bucket"), "{}", stderr(&o));

    // Reading changed nothing.
    assert_eq!(before, tree_state(&repo));

    // Against the estate as it is now: one object changed live since `two`. The scratch capture
    // is compared and removed: no snapshot is published, no staging folder is left.
    put(&s3, "site", "about.html", b"<p>about us</p>\n").await;
    let o = infrasnap(
        &repo,
        &url,
        &["--json", "diff", "two", "--live", "--kind", "aws.s3.*"],
    );
    assert_code(&o, 5);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&o), stderr(&o)));
    let bucket = &v["kinds"][0]["resources"][0];
    assert_eq!(bucket["objects"]["changed"], 1, "{v:#}");
    assert_eq!(
        bucket["objects"]["changes"][0]["key"], "about.html",
        "{v:#}"
    );
    let o = infrasnap(&repo, &url, &["--json", "list"]);
    let listed = stdout(&o);
    assert!(
        listed.contains("\"one\"") && listed.contains("\"two\""),
        "{listed}"
    );
    let tmp_dir = repo.join(".infrasnap/tmp");
    let left: Vec<_> = std::fs::read_dir(&tmp_dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.iter()
            .all(|n| !n.to_string_lossy().starts_with("staging-")),
        "{left:?}"
    );
    let snapshots = std::fs::read_dir(&repo)
        .unwrap()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .count();
    assert_eq!(snapshots, 2);
    // With --live, a resource pattern right after A (where B would be) selects.
    let o = infrasnap(
        &repo,
        &url,
        &["diff", "two", "--live", "other-*", "--kind", "aws.s3.*"],
    );
    assert_code(&o, 0);
    let o = infrasnap(
        &repo,
        &url,
        &["diff", "two", "--live", "site", "--kind", "aws.s3.*"],
    );
    assert_code(&o, 5);
}
