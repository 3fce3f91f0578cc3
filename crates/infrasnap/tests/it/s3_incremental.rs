//! S3 incremental runs (issue 15 §2, §4, §5; issue 14 §2): unchanged objects are linked, never
//! downloaded again, whatever the server's listing looks like and whatever the run before did;
//! a reused blob is checked first and a damaged one is downloaded again. GETs are counted
//! through the harness proxy.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;

/// Whether a request is a GET or HEAD of one object (not a listing or a bucket setting).
fn object_read(s: &Seen, bucket: &str) -> bool {
    let prefix = format!("/{bucket}/");
    let Some(rest) = s.path.strip_prefix(&prefix) else {
        return false;
    };
    // `/bucket/?versioning` and the like are bucket settings.
    (s.method == "GET" || s.method == "HEAD")
        && !rest.is_empty()
        && !rest.starts_with('?')
        && !s.path.contains("?tagging")
        && !s.path.contains("?legal-hold")
}

/// A proxy in front of `upstream` that counts the object reads of `bucket`.
async fn counting_proxy(upstream: &str, bucket: &'static str) -> (String, Arc<AtomicUsize>) {
    let gets = Arc::new(AtomicUsize::new(0));
    let g = gets.clone();
    let url = rewrite_proxy(
        upstream,
        move |s| {
            if object_read(s, bucket) {
                g.fetch_add(1, Ordering::SeqCst);
            }
            None
        },
        |_, _| {},
    )
    .await;
    (url, gets)
}

/// A listing as some S3-compatible servers give it (s3s-fs): no `<ETag>`, times to the
/// millisecond (`.456` where moto says `.000`).
fn listing_without_etags(body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(body).to_string();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("<ETag>") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find("</ETag>") else {
            break;
        };
        rest = &rest[i + j + "</ETag>".len()..];
    }
    out.push_str(rest);
    out.replace(".000Z</LastModified>", ".456Z</LastModified>")
        .into_bytes()
}

async fn bucket_of(emu: &Emulator, bucket: &str, n: u64) -> aws_sdk_s3::Client {
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    create_bucket(&s3, bucket).await;
    for i in 0..n {
        put(
            &s3,
            bucket,
            &format!("dir/obj-{i:02}.bin"),
            &bytes(i, 700 + i as usize),
        )
        .await;
    }
    s3
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_without_etags_and_with_millisecond_times_downloads_nothing_unchanged() {
    let emu = Emulator::start().await.unwrap();
    let s3 = bucket_of(&emu, "plain", 6).await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let gets = Arc::new(AtomicUsize::new(0));
    let g = gets.clone();
    let url = rewrite_proxy(
        &emu.url(),
        move |s| {
            if object_read(s, "plain") {
                g.fetch_add(1, Ordering::SeqCst);
            }
            None
        },
        |s, a| {
            if s.method == "GET" && s.path.starts_with("/plain") && s.path.contains("list-type=2") {
                a.body = listing_without_etags(&a.body);
            }
        },
    )
    .await;

    let m1 = snapshot(&repo, &url, &["--only", "s3", "--label", "one"]);
    assert_eq!(s3_counts(&m1), (6, 6, 6), "{m1:#}");
    let rec = &objects(&snapshot_dir(&repo, &m1), "plain")["dir/obj-00.bin"];
    // GetObject's ETag and time, and the listing's own stamp beside them.
    assert!(rec.etag.is_some(), "{rec:?}");
    let listed = rec.listed.as_ref().expect("the listing's stamp is kept");
    assert_eq!(listed.etag, None);
    assert!(
        listed.last_modified.as_deref().unwrap().ends_with(".456Z"),
        "{listed:?}"
    );

    gets.store(0, Ordering::SeqCst);
    let m2 = snapshot(&repo, &url, &["--only", "s3", "--label", "two"]);
    assert_eq!(s3_counts(&m2), (6, 0, 0), "{m2:#}");
    assert_eq!(gets.load(Ordering::SeqCst), 0, "no object read again");
    assert_eq!(
        std::fs::read(snapshot_dir(&repo, &m2).join("s3_buckets/plain/dir/obj-03.bin")).unwrap(),
        bytes(3, 703)
    );

    // A same-size rewrite a second later is caught by the listing's time.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    put(&s3, "plain", "dir/obj-02.bin", &bytes(99, 702)).await;
    let m3 = snapshot(&repo, &url, &["--only", "s3", "--label", "three"]);
    assert_eq!(s3_counts(&m3), (6, 1, 1), "{m3:#}");
    assert_eq!(
        std::fs::read(snapshot_dir(&repo, &m3).join("s3_buckets/plain/dir/obj-02.bin")).unwrap(),
        bytes(99, 702)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_after_an_only_run_links_what_did_not_change() {
    let emu = Emulator::start().await.unwrap();
    let s3 = bucket_of(&emu, "site", 8).await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (url, gets) = counting_proxy(&emu.url(), "site").await;

    let m1 = snapshot(&repo, &url, &["--label", "full-1"]);
    assert_eq!(s3_counts(&m1), (8, 8, 8), "{m1:#}");
    // A run of another service only: it holds no S3 index at all.
    let m2 = snapshot(&repo, &url, &["--only", "lambda", "--label", "lambda-only"]);
    assert!(m2["collectors"].get("s3").is_none(), "{m2:#}");
    assert!(!snapshot_dir(&repo, &m2).join("index/s3_buckets").exists());

    put(&s3, "site", "dir/new.bin", b"new object").await;
    gets.store(0, Ordering::SeqCst);
    let m3 = snapshot(&repo, &url, &["--label", "full-2"]);
    assert_eq!(m3["parent"], "lambda-only");
    assert_eq!(s3_counts(&m3), (9, 1, 1), "{m3:#}");
    assert_eq!(
        gets.load(Ordering::SeqCst),
        1,
        "only the new object is read"
    );
    let o = infrasnap(&repo, &url, &["verify", "--all"]);
    assert_code(&o, 0);
}

/// The blob of `key` in snapshot `snap`, made writable for the test to damage it.
fn blob_of(repo: &Path, snap: &Path, bucket: &str, key: &str) -> PathBuf {
    let rec = &objects(snap, bucket)[key];
    let hex = rec.blob.to_hex();
    let p = repo.join(".infrasnap/blobs").join(&hex[..2]).join(&hex);
    let mut perm = std::fs::metadata(&p).unwrap().permissions();
    perm.set_mode(0o644);
    std::fs::set_permissions(&p, perm).unwrap();
    p
}

fn quarantined(repo: &Path) -> usize {
    walk_files(&repo.join(".infrasnap/quarantine")).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_blob_is_never_reused_and_a_flipped_byte_is_found_by_reverify() {
    let emu = Emulator::start().await.unwrap();
    let _s3 = bucket_of(&emu, "data", 4).await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (url, gets) = counting_proxy(&emu.url(), "data").await;
    let m1 = snapshot(&repo, &url, &["--only", "s3", "--label", "one"]);
    assert_eq!(s3_counts(&m1), (4, 4, 4), "{m1:#}");
    let snap1 = snapshot_dir(&repo, &m1);

    // Truncated: the size is compared on every reuse, so it is downloaded again.
    let truncated = blob_of(&repo, &snap1, "data", "dir/obj-01.bin");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&truncated)
        .unwrap();
    f.set_len(100).unwrap();
    drop(f);
    gets.store(0, Ordering::SeqCst);
    let m2 = snapshot(&repo, &url, &["--only", "s3", "--label", "two"]);
    assert_eq!(s3_counts(&m2), (4, 1, 1), "{m2:#}");
    assert_eq!(gets.load(Ordering::SeqCst), 1);
    assert_eq!(quarantined(&repo), 1);
    assert_eq!(m2["collectors"]["s3"]["counts"]["quarantined"], 1, "{m2:#}");
    let manifest = std::fs::read_to_string(snapshot_dir(&repo, &m2).join("MANIFEST.md")).unwrap();
    assert!(manifest.contains(".infrasnap/quarantine/"), "{manifest}");
    let snap2 = snapshot_dir(&repo, &m2);
    assert_eq!(
        std::fs::read(snap2.join("s3_buckets/data/dir/obj-01.bin")).unwrap(),
        bytes(1, 701)
    );

    // One flipped byte keeps the size: a plain run cannot see it, --reverify re-hashes.
    let flipped = blob_of(&repo, &snap2, "data", "dir/obj-02.bin");
    let mut content = std::fs::read(&flipped).unwrap();
    content[10] ^= 0x01;
    std::fs::write(&flipped, &content).unwrap();
    gets.store(0, Ordering::SeqCst);
    let m3 = snapshot(
        &repo,
        &url,
        &["--only", "s3", "--label", "three", "--reverify"],
    );
    assert_eq!(s3_counts(&m3), (4, 1, 1), "{m3:#}");
    assert_eq!(gets.load(Ordering::SeqCst), 1);
    assert_eq!(quarantined(&repo), 2);
    let snap3 = snapshot_dir(&repo, &m3);
    assert_eq!(
        std::fs::read(snap3.join("s3_buckets/data/dir/obj-02.bin")).unwrap(),
        bytes(2, 702)
    );
    let o = infrasnap(&repo, &url, &["verify", m3["name"].as_str().unwrap()]);
    assert_code(&o, 0);

    // A whole rotation of a 50% share re-hashes every blob: damage is found within two runs.
    let flipped = blob_of(&repo, &snap3, "data", "dir/obj-03.bin");
    let mut content = std::fs::read(&flipped).unwrap();
    content[0] ^= 0x80;
    std::fs::write(&flipped, &content).unwrap();
    let mut downloaded = 0;
    for label in ["four", "five"] {
        let m = snapshot(
            &repo,
            &url,
            &["--only", "s3", "--label", label, "--reverify-share", "50%"],
        );
        downloaded += s3_counts(&m).1;
    }
    assert_eq!(downloaded, 1);
    assert_eq!(quarantined(&repo), 3);

    // Two blob hashes swapped in the parent's index: where the sizes differ, the size check
    // refuses both and they are downloaded again. (Same-size swaps need the parent's seal,
    // issue 14 section 2, checked before its index is trusted.)
    let m5 = snapshot(&repo, &url, &["--only", "s3", "--label", "six"]);
    let index = snapshot_dir(&repo, &m5).join("index/s3_buckets/data.jsonl");
    let text = std::fs::read_to_string(&index).unwrap();
    let recs = objects(&snapshot_dir(&repo, &m5), "data");
    let (a, b) = (
        recs["dir/obj-00.bin"].blob.to_hex(),
        recs["dir/obj-03.bin"].blob.to_hex(),
    );
    let swapped = text
        .replace(&a, "A-PLACEHOLDER")
        .replace(&b, &a)
        .replace("A-PLACEHOLDER", &b);
    let mut perm = std::fs::metadata(&index).unwrap().permissions();
    perm.set_mode(0o644);
    std::fs::set_permissions(&index, perm).unwrap();
    std::fs::write(&index, swapped).unwrap();
    gets.store(0, Ordering::SeqCst);
    let m6 = snapshot(&repo, &url, &["--only", "s3", "--label", "seven"]);
    // The parent's index differs from its seal, so it is not trusted at all (issue 14): the
    // objects are taken from the newest older snapshot that has the bucket, whose index is
    // intact, and nothing needs downloading. The new snapshot says why.
    assert_eq!(s3_counts(&m6).1, 0, "{m6:#}");
    assert_eq!(gets.load(Ordering::SeqCst), 0);
    assert!(
        m6["notes"].to_string().contains("differ from its seal"),
        "{m6:#}"
    );
    // Both blobs are intact (the index lied, not they): nothing more is quarantined.
    assert_eq!(quarantined(&repo), 3);
    let snap6 = snapshot_dir(&repo, &m6);
    for i in [0u64, 3] {
        assert_eq!(
            std::fs::read(snap6.join(format!("s3_buckets/data/dir/obj-{i:02}.bin"))).unwrap(),
            bytes(i, 700 + i as usize)
        );
    }

    // A share that is no percentage is a usage error that writes nothing.
    let o = infrasnap(
        &repo,
        &url,
        &[
            "snapshot",
            "--only",
            "s3",
            "--label",
            "bad",
            "--reverify-share",
            "lots",
        ],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("--reverify-share"), "{}", stderr(&o));
    assert!(!repo.join("bad").exists());
}

/// The base64 of a key and of its MD5, as the SSE-C headers carry them.
fn sse_c_headers(key: &[u8; 32]) -> (String, String) {
    use base64::Engine;
    use md5::Digest;
    let b64 = base64::engine::general_purpose::STANDARD;
    (b64.encode(key), b64.encode(md5::Md5::digest(key)))
}

async fn put_sse_c(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &[u8], k: &[u8; 32]) {
    let (b64, md5) = sse_c_headers(k);
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from(body.to_vec()))
        .sse_customer_algorithm("AES256")
        .sse_customer_key(b64)
        .sse_customer_key_md5(md5)
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
}

/// A run that may end "complete with errors": its exit code and `--json` output.
fn snapshot_any(repo: &Path, url: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["--json", "snapshot"];
    args.extend_from_slice(extra);
    let o = infrasnap(repo, url, &args);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&o), stderr(&o)));
    (o.status.code().unwrap_or(-1), v)
}

fn s3_errors(meta: &serde_json::Value) -> Vec<serde_json::Value> {
    meta["collectors"]["s3"]["errors"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_c_objects_are_read_with_their_key_and_a_missing_or_wrong_key_is_one_error_each() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let (k1, k2) = ([0x11u8; 32], [0x22u8; 32]);
    create_bucket(&s3, "vault").await;
    put(&s3, "vault", "public.txt", b"plain object").await;
    put_sse_c(&s3, "vault", "secret/a.txt", b"secret a", &k1).await;
    put_sse_c(&s3, "vault", "secret/b.txt", b"secret b", &k1).await;
    put_sse_c(&s3, "vault", "other/c.txt", b"other c", &k2).await;
    // moto never checks SSE-C keys: the proxy does, as S3 would (400 without the key headers,
    // 403 with a wrong key), and counts the object reads.
    let needs = |path: &str| -> Option<[u8; 32]> {
        let path = path.split('?').next().unwrap_or("");
        if path.starts_with("/vault/secret/") {
            Some([0x11; 32])
        } else if path.starts_with("/vault/other/") {
            Some([0x22; 32])
        } else {
            None
        }
    };
    let gets = Arc::new(AtomicUsize::new(0));
    let g = gets.clone();
    let url = rewrite_proxy(
        &emu.url(),
        move |s| {
            if object_read(s, "vault") {
                g.fetch_add(1, Ordering::SeqCst);
            }
            let want = needs(&s.path)?;
            if s.method != "GET" || s.path.contains("?tagging") {
                return None;
            }
            let error = |status, code: &str, message: &str| Canned {
                status,
                content_type: "application/xml",
                extra_headers: String::new(),
                body: format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
                ),
            };
            match s.header("x-amz-server-side-encryption-customer-key-md5") {
                None => Some(error(
                    400,
                    "InvalidRequest",
                    "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.",
                )),
                Some(md5) if md5 != sse_c_headers(&want).1 => {
                    Some(error(403, "AccessDenied", "Access Denied"))
                }
                Some(_) => None,
            }
        },
        |_, _| {},
    )
    .await;
    let k1_file = tmp.path().join("k1.key");
    std::fs::write(&k1_file, k1).unwrap();
    let k2_file = tmp.path().join("k2.key");
    std::fs::write(&k2_file, sse_c_headers(&k2).0).unwrap();

    // No key at all: each SSE-C object is one error with the advice; the rest is captured.
    let bare = tmp.path().join("bare");
    let (code, v) = snapshot_any(&bare, &url, &["--only", "s3"]);
    assert_eq!(code, 3, "{v:#}");
    let errors = s3_errors(&v["metadata"]);
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors
        .iter()
        .all(|e| e["message"].as_str().unwrap().contains("--sse-c-key-file")));
    assert!(objects(&snapshot_dir(&bare, &v["metadata"]), "vault").contains_key("public.txt"));

    // The default key reads the objects it fits; the one it does not fit is one error.
    let repo = tmp.path().join("repo");
    let k1_arg = k1_file.to_str().unwrap();
    let (code, v) = snapshot_any(
        &repo,
        &url,
        &["--only", "s3", "--label", "one", "--sse-c-key-file", k1_arg],
    );
    assert_eq!(code, 3, "{v:#}");
    let errors = s3_errors(&v["metadata"]);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["resource"], "vault/other/c.txt");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.contains("[[s3.sse_c]]") && message.contains("fp:"),
        "{message}"
    );
    let snap1 = snapshot_dir(&repo, &v["metadata"]);
    let recs = objects(&snap1, "vault");
    let fp1 = recs["secret/a.txt"]
        .sse_customer
        .clone()
        .expect("read with a key");
    assert_eq!(fp1.algorithm, "AES256");
    assert!(fp1.key_fingerprint.contains("fp:"), "{fp1:?}");
    assert!(recs["public.txt"].sse_customer.is_none());
    assert_eq!(
        std::fs::read(snap1.join("s3_buckets/vault/secret/b.txt")).unwrap(),
        b"secret b"
    );
    // The key itself is nowhere in the repository.
    let (b64, _) = sse_c_headers(&k1);
    for f in walk_files(&repo) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !contains(&bytes, &k1) && !contains(&bytes, b64.as_bytes()),
            "{} holds the key",
            f.display()
        );
    }

    // A per-prefix key in the config reads the last one; the others are not read again.
    let config = tmp.path().join("infrasnap.toml");
    std::fs::write(
        &config,
        "[[s3.sse_c]]\nbucket = \"vault\"\nprefix = \"other/\"\nkey_file = \"k2.key\"\n",
    )
    .unwrap();
    gets.store(0, Ordering::SeqCst);
    let m2 = snapshot(
        &repo,
        &url,
        &[
            "--only",
            "s3",
            "--label",
            "two",
            "--sse-c-key-file",
            k1_arg,
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert_eq!(s3_counts(&m2), (4, 1, 1), "{m2:#}");
    assert_eq!(gets.load(Ordering::SeqCst), 1);
    let recs = objects(&snapshot_dir(&repo, &m2), "vault");
    let fp2 = recs["other/c.txt"].sse_customer.clone().unwrap();
    assert_ne!(fp2.key_fingerprint, fp1.key_fingerprint);
    assert_eq!(recs["secret/a.txt"].sse_customer, Some(fp1));

    // A key file that is no key is a usage error that writes nothing.
    let bad = tmp.path().join("bad.key");
    std::fs::write(&bad, "not a key").unwrap();
    let o = infrasnap(
        &repo,
        &url,
        &[
            "snapshot",
            "--label",
            "bad",
            "--sse-c-key-file",
            bad.to_str().unwrap(),
        ],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("32 bytes"), "{}", stderr(&o));
    assert!(!repo.join("bad").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_versions_and_delete_markers_are_indexed_in_order_and_never_fetched_twice() {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    create_bucket(&s3, "hist").await;
    s3.put_bucket_versioning()
        .bucket("hist")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    put(&s3, "hist", "doc.txt", b"one").await;
    put(&s3, "hist", "doc.txt", b"two!").await;
    put(&s3, "hist", "gone.txt", b"bye").await;
    s3.delete_object()
        .bucket("hist")
        .key("gone.txt")
        .send()
        .await
        .unwrap();
    put(&s3, "hist", "keep.txt", b"kept").await;
    let gets = Arc::new(AtomicUsize::new(0));
    let g = gets.clone();
    let url = rewrite_proxy(
        &emu.url(),
        move |s| {
            if object_read(s, "hist") {
                g.fetch_add(1, Ordering::SeqCst);
            }
            None
        },
        |_, _| {},
    )
    .await;

    let m1 = snapshot(
        &repo,
        &url,
        &["--only", "s3", "--label", "one", "--all-versions"],
    );
    assert_eq!(m1["collectors"]["s3"]["counts"]["versions"], 5, "{m1:#}");
    let snap1 = snapshot_dir(&repo, &m1);
    let versions: Vec<infrasnap_core::model::s3::S3ObjectRecord> =
        infrasnap_core::index::read_all(&snap1.join("index/s3_versions/hist.jsonl")).unwrap();
    let seen: Vec<(&str, bool, bool)> = versions
        .iter()
        .map(|v| (v.key.as_str(), v.is_latest == Some(true), v.delete_marker))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("doc.txt", true, false),
            ("doc.txt", false, false),
            ("gone.txt", true, true),
            ("gone.txt", false, false),
            ("keep.txt", true, false),
        ]
    );
    let content =
        |v: &infrasnap_core::model::s3::S3ObjectRecord| std::fs::read(snap1.join(&v.path)).unwrap();
    assert_eq!(content(&versions[0]), b"two!");
    assert_eq!(content(&versions[1]), b"one");
    assert_eq!(content(&versions[2]), b"");
    assert!(
        versions[2].path.ends_with(".delete-marker"),
        "{}",
        versions[2].path
    );
    assert_eq!(content(&versions[3]), b"bye");
    assert!(versions
        .iter()
        .all(|v| v.version_id.is_some() && v.last_modified.is_some()));
    assert!(
        versions[0].path.starts_with("s3_versions/hist/doc.txt/"),
        "{}",
        versions[0].path
    );
    // The current objects are as without --all-versions.
    let current = objects(&snap1, "hist");
    assert_eq!(
        current.keys().collect::<Vec<_>>(),
        vec!["doc.txt", "keep.txt"]
    );

    // A new version: only it is fetched; every stored version is linked.
    put(&s3, "hist", "doc.txt", b"three").await;
    gets.store(0, Ordering::SeqCst);
    let m2 = snapshot(
        &repo,
        &url,
        &["--only", "s3", "--label", "two", "--all-versions"],
    );
    assert_eq!(m2["collectors"]["s3"]["counts"]["versions"], 6, "{m2:#}");
    assert_eq!(s3_counts(&m2).1, 1, "{m2:#}");
    assert_eq!(gets.load(Ordering::SeqCst), 1);
    let o = infrasnap(&repo, &url, &["verify", "--all"]);
    assert_code(&o, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_or_legal_hold_change_on_an_unchanged_object_is_recorded() {
    use aws_sdk_s3::types::{ObjectLockLegalHold, ObjectLockLegalHoldStatus, Tag, Tagging};
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    s3.create_bucket()
        .bucket("locked")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket("locked")
        .key("report.pdf")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"pdf bytes",
        ))
        .tagging("env=dev")
        .send()
        .await
        .unwrap();
    let (url, gets) = counting_proxy(&emu.url(), "locked").await;
    let m1 = snapshot(&repo, &url, &["--only", "s3", "--label", "one"]);
    let r1 = &objects(&snapshot_dir(&repo, &m1), "locked")["report.pdf"];
    assert_eq!(r1.tags.get("env").map(String::as_str), Some("dev"));

    s3.put_object_tagging()
        .bucket("locked")
        .key("report.pdf")
        .tagging(
            Tagging::builder()
                .tag_set(Tag::builder().key("env").value("prod").build().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    s3.put_object_legal_hold()
        .bucket("locked")
        .key("report.pdf")
        .legal_hold(
            ObjectLockLegalHold::builder()
                .status(ObjectLockLegalHoldStatus::On)
                .build(),
        )
        .send()
        .await
        .unwrap();
    gets.store(0, Ordering::SeqCst);
    let m2 = snapshot(
        &repo,
        &url,
        &["--only", "s3", "--label", "two", "--recheck-tags"],
    );
    assert_eq!(s3_counts(&m2).1, 0, "not downloaded again: {m2:#}");
    let r2 = &objects(&snapshot_dir(&repo, &m2), "locked")["report.pdf"];
    assert_eq!(r2.tags.get("env").map(String::as_str), Some("prod"));
    assert_eq!(
        r2.object_lock
            .as_ref()
            .and_then(|l| l.legal_hold.as_deref()),
        Some("ON"),
        "{r2:?}"
    );
    assert_eq!(r2.blob, r1.blob);
    // The earlier snapshot keeps what was true then.
    let r1 = &objects(&snapshot_dir(&repo, &m1), "locked")["report.pdf"];
    assert_eq!(r1.tags.get("env").map(String::as_str), Some("dev"));
}
