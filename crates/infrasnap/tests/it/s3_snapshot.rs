//! S3 end to end: the real binary against moto server (behind the harness proxy that bridges
//! moto's gaps and injects faults), every object byte exact with its metadata.

use crate::common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, CorsConfiguration, CorsRule,
    ServerSideEncryption, StorageClass, VersioningConfiguration,
};
use common::*;

/// The catalog records of the buckets of snapshot `snap`, by resource id.
fn bucket_records(snap: &Path) -> BTreeMap<String, serde_json::Value> {
    catalog_of_kind(snap, "resources", "aws.s3.bucket")
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r))
        .collect()
}

/// The coverage lines of the bucket listing of snapshot `snap`.
fn bucket_coverage(snap: &Path) -> Vec<serde_json::Value> {
    catalog_of_kind(snap, "coverage", "aws.s3.bucket")
}

/// Keys that cannot be plain paths, each of which must still be captured byte exact.
fn adversarial_keys() -> Vec<String> {
    vec![
        "../escape.txt".into(),
        "a/../../b.txt".into(),
        "/leading-slash.txt".into(),
        "double//slash.txt".into(),
        "trailing-with-content/".into(),
        "file-and-dir".into(),
        "file-and-dir/child.txt".into(),
        format!("long/{}.txt", "x".repeat(300)),
        "ctl\u{1}char.txt".into(),
        // moto (werkzeug routing) cannot store a key with a newline; real S3 can. The key
        // mapper handles any control character (unit tests in infrasnap-core keypath.rs).
        "tab\tand\u{7f}del.txt".into(),
        "caf\u{e9}.html".into(),
        "cafe\u{301}.html".into(),
        "Readme.md".into(),
        "README.md".into(),
        "space and+plus%percent.txt".into(),
        "_infrasnap_escaped/clash".into(),
        "./dot-segment".into(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_snapshot_is_byte_exact_with_metadata_and_configs() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let s3_eu = s3_client(&emu.url(), "eu-west-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");

    // Two regions.
    create_bucket(&s3, "site-prod").await;
    s3_eu
        .create_bucket()
        .bucket("site-eu")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    put(&s3_eu, "site-eu", "index.html", b"<h1>eu</h1>").await;

    // Objects with every header we keep.
    s3.put_object()
        .bucket("site-prod")
        .key("index.html")
        .body(ByteStream::from_static(b"<h1>hello</h1>"))
        .content_type("text/html; charset=utf-8")
        .content_encoding("identity")
        .content_disposition("inline")
        .content_language("en")
        .cache_control("max-age=60")
        .expires(aws_smithy_types::DateTime::from_secs(1_900_000_000))
        .metadata("owner", "web-team")
        .metadata("build", "1234")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .storage_class(StorageClass::StandardIa)
        .tagging("env=prod&team=web")
        .website_redirect_location("/home.html")
        .send()
        .await
        .unwrap();
    put(&s3, "site-prod", "empty.txt", b"").await;
    s3.put_object()
        .bucket("site-prod")
        .key("checked.txt")
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32)
        .body(ByteStream::from_static(b"checksummed content"))
        .send()
        .await
        .unwrap();
    put(&s3, "site-prod", "photos/", b"").await; // folder marker
    put(&s3, "site-prod", "photos/a.jpg", &bytes(1, 5000)).await;
    let big = bytes(2, 21 * 1024 * 1024 + 17);
    put(&s3, "site-prod", "media/big.bin", &big).await;
    for (i, k) in adversarial_keys().iter().enumerate() {
        put(
            &s3,
            "site-prod",
            k,
            format!("content of key {i}").as_bytes(),
        )
        .await;
    }
    // A multipart object: 2 parts of 5 MiB and a tail.
    let mp_body = bytes(3, 5 * 1024 * 1024 * 2 + 1234);
    let up = s3
        .create_multipart_upload()
        .bucket("site-prod")
        .key("media/multipart.bin")
        .send()
        .await
        .unwrap();
    let mut parts = Vec::new();
    for (n, chunk) in mp_body.chunks(5 * 1024 * 1024).enumerate() {
        let p = s3
            .upload_part()
            .bucket("site-prod")
            .key("media/multipart.bin")
            .upload_id(up.upload_id().unwrap())
            .part_number(n as i32 + 1)
            .body(ByteStream::from(chunk.to_vec()))
            .send()
            .await
            .unwrap();
        parts.push(
            CompletedPart::builder()
                .part_number(n as i32 + 1)
                .e_tag(p.e_tag().unwrap())
                .build(),
        );
    }
    s3.complete_multipart_upload()
        .bucket("site-prod")
        .key("media/multipart.bin")
        .upload_id(up.upload_id().unwrap())
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3.put_bucket_cors()
        .bucket("site-prod")
        .cors_configuration(
            CorsConfiguration::builder()
                .cors_rules(
                    CorsRule::builder()
                        .allowed_methods("GET")
                        .allowed_origins("https://example.com")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    // A versioned bucket: two versions of one key, and a key deleted after versioning.
    create_bucket(&s3, "events-versioned").await;
    s3.put_bucket_versioning()
        .bucket("events-versioned")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    put(&s3, "events-versioned", "event.html", b"version one").await;
    put(&s3, "events-versioned", "event.html", b"version two").await;
    put(&s3, "events-versioned", "gone.html", b"deleted later").await;
    s3.delete_object()
        .bucket("events-versioned")
        .key("gone.html")
        .send()
        .await
        .unwrap();

    let meta = snapshot(&repo, &emu.url(), &["--label", "v1.0"]);
    assert_eq!(meta["status"], "complete", "{meta:#}");
    assert_eq!(meta["name"], "v1.0");
    assert_eq!(meta["account_id"], "123456789012");
    let snap = snapshot_dir(&repo, &meta);
    assert!(snap.join("MANIFEST.md").is_file());
    assert!(snap.join("snapshot_metadata.json").is_file());

    // Every object byte exact, through the index.
    let idx = objects(&snap, "site-prod");
    let mut expected: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    expected.insert("index.html".into(), b"<h1>hello</h1>".to_vec());
    expected.insert("empty.txt".into(), vec![]);
    expected.insert("checked.txt".into(), b"checksummed content".to_vec());
    expected.insert("photos/".into(), vec![]);
    expected.insert("photos/a.jpg".into(), bytes(1, 5000));
    expected.insert("media/big.bin".into(), big.clone());
    expected.insert("media/multipart.bin".into(), mp_body.clone());
    for (i, k) in adversarial_keys().iter().enumerate() {
        expected.insert(k.clone(), format!("content of key {i}").into_bytes());
    }
    assert_eq!(
        idx.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (k, want) in &expected {
        let r = &idx[k];
        let p = snap.join(&r.path);
        assert!(
            p.starts_with(&snap),
            "{k:?} escaped the snapshot: {}",
            r.path
        );
        if r.dir_marker {
            assert!(p.is_dir(), "{k:?}");
            continue;
        }
        let got = std::fs::read(&p).unwrap_or_else(|e| panic!("{k:?} at {}: {e}", r.path));
        assert!(got == *want, "content of {k:?}");
        assert_eq!(r.size, want.len() as u64, "{k:?}");
        assert!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o222 == 0,
            "{k:?} should be read-only"
        );
    }
    // Plain keys are plain paths; the others escaped, all distinct even case-folded.
    assert_eq!(
        idx["photos/a.jpg"].path,
        "s3_buckets/site-prod/photos/a.jpg"
    );
    assert!(!idx["index.html"].escaped);
    for k in [
        "../escape.txt",
        "/leading-slash.txt",
        "double//slash.txt",
        "ctl\u{1}char.txt",
    ] {
        assert!(idx[k].escaped, "{k:?}");
    }
    let mut folded: Vec<String> = idx.values().map(|r| r.path.to_lowercase()).collect();
    folded.sort();
    let n = folded.len();
    folded.dedup();
    assert_eq!(
        folded.len(),
        n,
        "two keys share a path on a case-insensitive disk"
    );

    // Metadata.
    let r = &idx["index.html"];
    assert_eq!(r.content_type.as_deref(), Some("text/html; charset=utf-8"));
    assert_eq!(r.content_encoding.as_deref(), Some("identity"));
    assert_eq!(r.content_disposition.as_deref(), Some("inline"));
    assert_eq!(r.content_language.as_deref(), Some("en"));
    assert_eq!(r.cache_control.as_deref(), Some("max-age=60"));
    assert!(r.expires.is_some());
    assert_eq!(
        r.metadata.get("owner").map(String::as_str),
        Some("web-team")
    );
    assert_eq!(r.metadata.get("build").map(String::as_str), Some("1234"));
    assert_eq!(r.sse.as_deref(), Some("AES256"));
    assert_eq!(r.storage_class.as_deref(), Some("STANDARD_IA"));
    assert_eq!(r.tags.get("env").map(String::as_str), Some("prod"));
    assert_eq!(r.tags.get("team").map(String::as_str), Some("web"));
    assert_eq!(r.website_redirect_location.as_deref(), Some("/home.html"));
    assert!(r.etag.is_some() && r.last_modified.is_some());
    assert!(idx["media/multipart.bin"]
        .etag
        .as_deref()
        .unwrap()
        .contains('-'));

    // Versioned bucket: the current version only, with its version id; deleted keys absent.
    let v = objects(&snap, "events-versioned");
    assert_eq!(v.keys().collect::<Vec<_>>(), vec!["event.html"]);
    assert!(v["event.html"].version_id.is_some());
    assert_eq!(
        std::fs::read(snap.join(&v["event.html"].path)).unwrap(),
        b"version two"
    );

    // Bucket settings: present, and absent recorded as absent.
    let b = bucket_record(&snap, "site-prod");
    assert_eq!(b.region, "us-east-1");
    assert!(matches!(
        b.config["cors"],
        infrasnap_core::model::s3::ConfigValue::Present { .. }
    ));
    assert!(matches!(
        b.config["policy"],
        infrasnap_core::model::s3::ConfigValue::Absent
    ));
    assert_eq!(bucket_record(&snap, "site-eu").region, "eu-west-1");
    let bv = bucket_record(&snap, "events-versioned");
    match &bv.config["versioning"] {
        infrasnap_core::model::s3::ConfigValue::Present { value } => {
            assert_eq!(value["Status"], "Enabled")
        }
        other => panic!("versioning: {other:?}"),
    }

    // The catalog: one record per bucket, its document the config file, its objects the folder
    // listed in its own index; the listing of buckets complete.
    let records = bucket_records(&snap);
    let ids: Vec<&str> = records.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "aws.s3.bucket:123456789012::events-versioned",
            "aws.s3.bucket:123456789012::site-eu",
            "aws.s3.bucket:123456789012::site-prod",
        ]
    );
    for (id, r) in &records {
        let name = id.rsplit(':').next().unwrap();
        assert_eq!(r["path"], format!("s3_bucket_config/{name}.json"), "{r}");
        assert_eq!(r["index"], format!("index/s3_buckets/{name}.jsonl"), "{r}");
        assert_eq!(r["parts"]["objects"]["path"], format!("s3_buckets/{name}"));
        assert!(r.get("incomplete").is_none(), "{r}");
        let doc = std::fs::read(snap.join(r["path"].as_str().unwrap())).unwrap();
        assert_eq!(
            r["blob"],
            infrasnap_core::ids::BlobId::of(&doc).to_hex(),
            "{id}"
        );
        assert_eq!(
            read_json(&snap.join(r["path"].as_str().unwrap()))["name"],
            name
        );
    }
    let cov = bucket_coverage(&snap);
    assert_eq!(cov.len(), 1, "{cov:#?}");
    assert_eq!(cov[0]["account"], "123456789012");
    assert_eq!(cov[0]["region"], "");
    assert_eq!(cov[0]["state"], "complete");

    // verify passes; list and show see it.
    let o = infrasnap(&repo, &emu.url(), &["verify", "v1.0"]);
    assert_code(&o, 0);
    let o = infrasnap(&repo, &emu.url(), &["--json", "list"]);
    assert_code(&o, 0);
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list[0]["name"], "v1.0");
    assert_eq!(list[0]["status"], "complete");
    let o = infrasnap(&repo, &emu.url(), &["show", "v1.0"]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains("complete"));
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(manifest.contains("site-prod") && manifest.contains("infrasnap verify v1.0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_snapshots_fetch_only_what_changed() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    create_bucket(&s3, "www").await;
    for i in 0..40 {
        put(
            &s3,
            "www",
            &format!("page-{i:02}.html"),
            &bytes(i, 1000 + i as usize),
        )
        .await;
    }
    put(&s3, "www", "dup-a.txt", b"same").await;
    put(&s3, "www", "dup-b.txt", b"same").await;

    let m1 = snapshot(&repo, &emu.url(), &["--label", "one"]);
    assert_eq!(s3_counts(&m1), (42, 42, 41), "{m1:#}");
    let blobs = blob_count(&repo);

    // No change: nothing downloaded, no blob added.
    let m2 = snapshot(&repo, &emu.url(), &["--label", "two"]);
    assert_eq!(s3_counts(&m2), (42, 0, 0), "{m2:#}");
    assert_eq!(m2["parent"], "one");
    assert_eq!(blob_count(&repo), blobs);
    // Nothing changed, so the bucket's catalog record is the same: document and digest.
    let (r1, r2) = (
        bucket_records(&snapshot_dir(&repo, &m1)),
        bucket_records(&snapshot_dir(&repo, &m2)),
    );
    let www = "aws.s3.bucket:123456789012::www";
    assert_eq!(r1[www]["digest"], r2[www]["digest"]);
    assert_eq!(r1[www]["blob"], r2[www]["blob"]);
    assert_eq!(
        bucket_coverage(&snapshot_dir(&repo, &m2))[0]["state"],
        "complete"
    );

    // Add one, change one (same size), delete one.
    put(&s3, "www", "new.html", b"brand new").await;
    put(&s3, "www", "page-00.html", &bytes(999, 1000)).await;
    s3.delete_object()
        .bucket("www")
        .key("page-01.html")
        .send()
        .await
        .unwrap();
    let m3 = snapshot(&repo, &emu.url(), &["--label", "three"]);
    assert_eq!(s3_counts(&m3), (42, 2, 2), "{m3:#}");
    let snap3 = snapshot_dir(&repo, &m3);
    let idx = objects(&snap3, "www");
    assert!(idx.contains_key("new.html"));
    assert!(!idx.contains_key("page-01.html"));
    assert_eq!(
        std::fs::read(snap3.join("s3_buckets/www/page-00.html")).unwrap(),
        bytes(999, 1000)
    );
    // The earlier snapshot still has the old content.
    assert_eq!(
        std::fs::read(repo.join("one/s3_buckets/www/page-00.html")).unwrap(),
        bytes(0, 1000)
    );
    assert!(repo.join("one/s3_buckets/www/page-01.html").is_file());
    let o = infrasnap(&repo, &emu.url(), &["verify", "--all"]);
    assert_code(&o, 0);

    // Naming a bucket that does not exist is a usage error (exit 2), checked against the bucket
    // list before anything is written: no snapshot, not an empty success.
    let before = std::fs::read_dir(&repo).unwrap().count();
    let o = infrasnap(
        &repo,
        &emu.url(),
        &["--json", "snapshot", "--bucket", "wwww"],
    );
    assert_code(&o, 2);
    assert!(stdout(&o).contains("--bucket wwww"), "{}", stdout(&o));
    assert!(stdout(&o).contains("www"), "{}", stdout(&o));
    assert_eq!(std::fs::read_dir(&repo).unwrap().count(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_catches_a_corrupted_blob_and_an_edited_tree_file() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    create_bucket(&s3, "docs").await;
    put(&s3, "docs", "a.txt", b"alpha").await;
    put(&s3, "docs", "b.txt", b"bravo").await;
    let meta = snapshot(&repo, &emu.url(), &["--label", "s1"]);
    let snap = snapshot_dir(&repo, &meta);
    assert_code(&infrasnap(&repo, &emu.url(), &["verify"]), 0);

    // Corrupt the blob behind a.txt.
    let idx = objects(&snap, "docs");
    let blob = repo
        .join(".infrasnap/blobs")
        .join(&idx["a.txt"].blob.to_hex()[..2])
        .join(idx["a.txt"].blob.to_hex());
    std::fs::set_permissions(&blob, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&blob, b"rotted").unwrap();
    let o = infrasnap(&repo, &emu.url(), &["--json", "verify", "s1"]);
    assert_code(&o, 4);
    assert!(stdout(&o).contains("corrupt_blob"), "{}", stdout(&o));
    std::fs::write(&blob, b"alpha").unwrap();
    assert_code(&infrasnap(&repo, &emu.url(), &["verify", "s1"]), 0);

    // Replace a tree file (as an editor that writes a new file does).
    let tree = snap.join("s3_buckets/docs/b.txt");
    std::fs::remove_file(&tree).unwrap();
    std::fs::write(&tree, b"edited").unwrap();
    let o = infrasnap(&repo, &emu.url(), &["verify", "s1"]);
    assert_code(&o, 4);
    assert!(stdout(&o).contains("ModifiedFile"), "{}", stdout(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_completes_byte_exact_with_faults_on_a_fifth_of_requests() {
    use infrasnap_emulator::Fault;
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    create_bucket(&s3, "flaky").await;
    for i in 0..60 {
        put(
            &s3,
            "flaky",
            &format!("obj-{i}"),
            &bytes(i, 3000 + 97 * i as usize),
        )
        .await;
    }
    let big = bytes(77, 18 * 1024 * 1024);
    put(&s3, "flaky", "big.bin", &big).await;
    let infrasnap_emulator::Emulator {
        moto,
        proxy,
        lightsail,
    } = emu;
    drop(proxy);

    // The same data behind a proxy that fails a fifth of all requests: 503 SlowDown, 400
    // Throttling, 500, connections reset mid-body, and object bodies silently corrupted.
    let emu = infrasnap_emulator::Emulator {
        proxy: infrasnap_emulator::FaultProxy::start(
            &moto.url(),
            infrasnap_emulator::FaultConfig {
                fraction: 0.2,
                faults: vec![
                    Fault::SlowDown503,
                    Fault::Throttling400,
                    Fault::Internal500,
                    Fault::ResetMidBody,
                    Fault::CorruptBody,
                ],
                seed: 20261122,
            },
        )
        .await
        .unwrap(),
        moto,
        lightsail,
    };
    let t = std::time::Instant::now();
    let meta = snapshot(&repo, &emu.url(), &["--only", "s3", "--label", "faulty"]);
    eprintln!("snapshot under faults took {:?}", t.elapsed());
    emu.proxy.set_fraction(0.0);
    let stats = emu.proxy.stats();
    assert!(stats.injected_total() >= 10, "faults injected: {stats:?}");
    for kind in [Fault::SlowDown503, Fault::ResetMidBody, Fault::CorruptBody] {
        assert!(stats.count(kind) > 0, "no {kind:?} injected: {stats:?}");
    }
    assert_eq!(meta["status"], "complete", "{meta:#}");
    let snap = snapshot_dir(&repo, &meta);
    let idx = objects(&snap, "flaky");
    assert_eq!(idx.len(), 61);
    for i in 0..60u64 {
        let r = &idx[&format!("obj-{i}")];
        assert_eq!(
            std::fs::read(snap.join(&r.path)).unwrap(),
            bytes(i, 3000 + 97 * i as usize)
        );
    }
    assert!(std::fs::read(snap.join(&idx["big.bin"].path)).unwrap() == big);
    assert_code(&infrasnap(&repo, &emu.url(), &["verify"]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credentials_says_what_was_tried_and_how_to_fix_it() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = bin()
        .env_clear()
        .env("HOME", tmp.path())
        .env("AWS_CONFIG_FILE", tmp.path().join("nope"))
        .env("AWS_SHARED_CREDENTIALS_FILE", tmp.path().join("nope"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .arg("--repo")
        .arg(&repo)
        .arg("snapshot")
        .output()
        .unwrap();
    assert_code(&o, 1);
    let e = stderr(&o);
    assert!(e.contains("no AWS credentials found"), "{e}");
    assert!(
        e.contains("aws configure") && e.contains("infrasnap demo"),
        "{e}"
    );
    assert!(
        !repo.exists(),
        "nothing should be written without credentials"
    );
}

#[test]
fn bad_label_and_missing_repository_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let o = bin()
        .arg("--repo")
        .arg(tmp.path().join("none"))
        .arg("list")
        .output()
        .unwrap();
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains("not an infrasnap repository"),
        "{}",
        stderr(&o)
    );
    let o = bin()
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .arg("--repo")
        .arg(tmp.path().join("r"))
        .args(["snapshot", "--label", "../evil"])
        .output()
        .unwrap();
    // An invalid label is a usage error (exit 2).
    assert_code(&o, 2);
    assert!(stderr(&o).contains("--label"), "{}", stderr(&o));
    // An unknown service is a usage error (exit 2) that names the known ones; nothing is written.
    let o = bin()
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .arg("--repo")
        .arg(tmp.path().join("r2"))
        .args(["snapshot", "--only", "s3,lamda"])
        .output()
        .unwrap();
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains("unknown service `lamda`") && stderr(&o).contains("lambda"),
        "{}",
        stderr(&o)
    );
    assert!(!tmp.path().join("r2").exists());
}

/// A bucket of more objects than its own task handles (the rest run on tasks of their own) is
/// captured completely, byte exact, with its index in listing order; a re-run links everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_past_a_thousand_objects_is_complete_and_in_listing_order() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    create_bucket(&s3, "many").await;
    const N: u64 = 1_150;
    futures::StreamExt::for_each_concurrent(futures::stream::iter(0..N), 16, |i| {
        let s3 = s3.clone();
        async move {
            put(
                &s3,
                "many",
                &format!("k/{i:05}.txt"),
                &bytes(i, 20 + i as usize % 90),
            )
            .await;
        }
    })
    .await;

    let m1 = snapshot(&repo, &emu.url(), &["--label", "one"]);
    assert_eq!(s3_counts(&m1), (N, N, N), "{m1:#}");
    let snap = snapshot_dir(&repo, &m1);
    let lines: Vec<String> = std::fs::read_to_string(snap.join("index/s3_buckets/many.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["key"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let expected: Vec<String> = (0..N).map(|i| format!("k/{i:05}.txt")).collect();
    assert_eq!(lines, expected);
    for i in [0, 999, 1000, 1001, N - 1] {
        assert_eq!(
            std::fs::read(snap.join(format!("s3_buckets/many/k/{i:05}.txt"))).unwrap(),
            bytes(i, 20 + i as usize % 90)
        );
    }
    let m2 = snapshot(&repo, &emu.url(), &["--label", "two"]);
    assert_eq!(s3_counts(&m2), (N, 0, 0), "{m2:#}");
    assert_code(&infrasnap(&repo, &emu.url(), &["verify", "--all"]), 0);
}
