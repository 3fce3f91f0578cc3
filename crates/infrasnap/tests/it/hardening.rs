//! What was left of issues 14 and 15 (helper `hard`): an older snapshot's index is trusted for
//! reuse only by its seal; `repair` from the live source; binary files scanned for secrets;
//! bucket settings a server does not implement; large SSE-C objects; `-v` steps for every
//! service.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use infrasnap_collectors::local::age;

/// Whether a request is a GET or HEAD of one object of `bucket` (not a listing or a setting).
fn object_read(s: &Seen, bucket: &str) -> bool {
    let prefix = format!("/{bucket}/");
    let Some(rest) = s.path.strip_prefix(&prefix) else {
        return false;
    };
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
    let url = stub_proxy(upstream, move |s| {
        if object_read(s, bucket) {
            g.fetch_add(1, Ordering::SeqCst);
        }
        None
    })
    .await;
    (url, gets)
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

/// Issue 14 §2: the fallback to an older snapshot (the parent, an `--only lambda` run, has no
/// index of the bucket) used that snapshot's index without checking its seal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_index_of_an_older_snapshot_is_not_reused() {
    let emu = Emulator::start().await.unwrap();
    let _s3 = bucket_of(&emu, "site", 4).await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (url, gets) = counting_proxy(&emu.url(), "site").await;

    let m1 = snapshot(&repo, &url, &["--label", "full-1"]);
    assert_eq!(s3_counts(&m1), (4, 4, 4), "{m1:#}");
    let m2 = snapshot(&repo, &url, &["--only", "lambda", "--label", "lambda-only"]);
    assert!(m2["collectors"].get("s3").is_none(), "{m2:#}");

    // The older snapshot's index of the bucket, edited after it was sealed: two records' blob
    // hashes swapped (the same sizes would pass every size check).
    let index = snapshot_dir(&repo, &m1).join("index/s3_buckets/site.jsonl");
    let mut perm = std::fs::metadata(&index).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o600);
    std::fs::set_permissions(&index, perm).unwrap();
    let text = std::fs::read_to_string(&index).unwrap();
    let mut lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let objs: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].get("blob").is_some())
        .collect();
    assert!(objs.len() >= 2, "{text}");
    let (a, b) = (objs[0], objs[1]);
    let (ba, bb) = (lines[a]["blob"].clone(), lines[b]["blob"].clone());
    lines[a]["blob"] = bb;
    lines[b]["blob"] = ba;
    let edited: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&index, edited).unwrap();

    gets.store(0, Ordering::SeqCst);
    let m3 = snapshot(&repo, &url, &["--label", "full-2"]);
    assert_eq!(m3["parent"], "lambda-only");
    assert_eq!(
        s3_counts(&m3),
        (4, 4, 0),
        "downloaded again, nothing new stored: {m3:#}"
    );
    assert!(
        gets.load(Ordering::SeqCst) >= 4,
        "every object is read again"
    );
    let notes = m3["notes"].to_string();
    assert!(
        notes.contains("full-1") && notes.contains("differs from the seal"),
        "{notes}"
    );
    let snap3 = snapshot_dir(&repo, &m3);
    for i in 0..4u64 {
        assert_eq!(
            std::fs::read(snap3.join(format!("s3_buckets/site/dir/obj-{i:02}.bin"))).unwrap(),
            bytes(i, 700 + i as usize)
        );
    }
    let o = infrasnap(&repo, &url, &["verify", "full-2"]);
    assert_code(&o, 0);
}

/// `infrasnap` for a local-only run: AWS off, nothing of the developer's environment.
fn local_run(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    local_run_env(dir, args, &[])
}

/// [`local_run`] with more environment (later entries win).
fn local_run_env(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut c = bin();
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.join("home"))
        .env("USER", "tester")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("GIT_CEILING_DIRECTORIES", dir);
    for (k, v) in env {
        c.env(k, v);
    }
    if !args.contains(&"--repo") {
        c.arg("--repo").arg(dir.join("repo"));
    }
    c.args(args);
    c.output().expect("run infrasnap")
}

/// Issue 14 §5: binary files were copied without being scanned, so an access key compiled into
/// a binary reached the repository in plain text. Now a binary is read as `strings` reads it;
/// one holding a secret-shaped string is withheld (kept encrypted with `--keep-secrets`); its
/// clean twin is copied as it is.
#[test]
fn a_binary_file_holding_an_access_key_is_withheld_and_its_clean_twin_copied() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("home")).unwrap();
    let ops = dir.join("ops");
    std::fs::create_dir_all(&ops).unwrap();
    let key = format!("AKIA{}", random(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
    let mut clean: Vec<u8> = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    clean.extend(bytes(5, 4000));
    clean.extend_from_slice(b"\0usage: tool [options]\0");
    let mut laden = clean.clone();
    laden.extend_from_slice(b"\0\0");
    laden.extend_from_slice(key.as_bytes());
    laden.extend_from_slice(b"\0\x01\x02");
    std::fs::write(ops.join("app.bin"), &laden).unwrap();
    std::fs::write(ops.join("clean.bin"), &clean).unwrap();
    let identity = age::x25519::Identity::generate();
    let cfg = dir.join("infrasnap.toml");
    std::fs::write(
        &cfg,
        format!(
            "[aws]\ndisabled = true\n\n[[local]]\nname = \"ops\"\npath = {:?}\nkind = \"folder\"\n\n\
             [secrets]\nrecipient = \"{}\"\n",
            ops.to_str().unwrap(),
            identity.to_public()
        ),
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();

    for (label, extra) in [("plain", None), ("kept", Some("--keep-secrets"))] {
        let mut args = vec!["--json", "snapshot", "--label", label, "--config", cfg];
        args.extend(extra);
        let o = local_run(dir, &args);
        assert_code(&o, 0);
        assert!(!contains(&o.stdout, key.as_bytes()) && !contains(&o.stderr, key.as_bytes()));
        let base = dir.join("repo").join(label).join("local_repos/ops");
        assert_eq!(std::fs::read(base.join("files/clean.bin")).unwrap(), clean);
        assert!(!base.join("files/app.bin").exists(), "{label}");
        let m = read_json(&base.join("secrets_manifest.json"));
        let withheld = m["withheld"].as_array().unwrap();
        assert_eq!(withheld.len(), 1, "{m:#}");
        assert_eq!(withheld[0]["path"], "app.bin");
        assert!(
            withheld[0]["reason"]
                .as_str()
                .unwrap()
                .contains("aws_access_key_id"),
            "{m:#}"
        );
        let kept = base.join("kept_secrets/app.bin.age");
        if extra.is_some() {
            let enc = std::fs::read(&kept).unwrap();
            assert_eq!(age::decrypt(&identity, &enc).unwrap(), laden);
        } else {
            assert!(!kept.exists());
        }
    }
    for f in walk_files(&dir.join("repo")) {
        let data = std::fs::read(&f).unwrap();
        assert!(
            !contains(&data, key.as_bytes()),
            "{} holds the key",
            f.display()
        );
    }
    assert_code(&local_run(dir, &["verify", "--all"]), 0);
}

/// The 13 bucket-settings reads, by their query parameter.
const SETTING_QUERIES: &[&str] = &[
    "versioning",
    "policy",
    "cors",
    "website",
    "lifecycle",
    "encryption",
    "tagging",
    "notification",
    "replication",
    "ownershipControls",
    "publicAccessBlock",
    "acl",
    "logging",
];

/// Whether `s` reads a setting of a bucket (`GET /bucket?policy`), not an object or a listing.
fn setting_read(s: &Seen) -> bool {
    let Some((path, query)) = s.path.split_once('?') else {
        return false;
    };
    let bucket_only = path.trim_matches('/').split('/').count() == 1 && path.len() > 1;
    let first = query.split(['&', '=']).next().unwrap_or("");
    s.method == "GET" && bucket_only && SETTING_QUERIES.contains(&first)
}

/// Issue 15 §5: s3s-fs answers `501 NotImplemented` to every bucket-settings read, which made
/// 13 errors per bucket and every run "complete with errors" (and to STS, one more error). A
/// server that does not implement a setting is said once per setting, in the notes, and STS
/// once; the run is complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_settings_a_server_does_not_implement_are_one_note_each_not_errors() {
    let emu = Emulator::start().await.unwrap();
    let _s3 = bucket_of(&emu, "alpha", 2).await;
    let _s3 = bucket_of(&emu, "beta", 1).await;
    let url = stub_proxy(&emu.url(), |s| {
        let sts = s.method == "POST"
            && String::from_utf8_lossy(&s.body).contains("Action=GetCallerIdentity");
        (setting_read(s) || sts).then(|| Canned {
            status: 501,
            content_type: "application/xml",
            extra_headers: String::new(),
            body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NotImplemented</Code>\
                   <Message>Not Implemented</Message></Error>"
                .into(),
        })
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = infrasnap(&repo, &url, &["--json", "snapshot", "--only", "s3"]);
    assert_code(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let m = &v["metadata"];
    assert_eq!(m["status"], "complete", "{m:#}");
    // `beta`'s one object has the content of `alpha`'s first: one blob for both.
    assert_eq!(s3_counts(m), (3, 3, 2), "{m:#}");
    assert_eq!(m["totals"]["errors"], 0, "{m:#}");
    let notes: Vec<&str> = m["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .filter(|n| n.contains("not supported by this server"))
        .collect();
    assert_eq!(
        notes.len(),
        14,
        "one note per setting, one for STS: {notes:#?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("does not implement STS")),
        "{notes:#?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("GetBucketPolicy") && n.contains("2 bucket(s)")),
        "{notes:#?}"
    );
    // The settings are not pretended: each is recorded as not read.
    let rec = bucket_record(&snapshot_dir(&repo, m), "alpha");
    assert!(
        matches!(
            rec.config.get("policy"),
            Some(infrasnap_core::model::s3::ConfigValue::Error { code: Some(c), .. }) if c == "NotImplemented"
        ),
        "{:?}",
        rec.config.get("policy")
    );
    let manifest = std::fs::read_to_string(snapshot_dir(&repo, m).join("MANIFEST.md")).unwrap();
    assert!(
        manifest.contains("not supported by this server"),
        "{manifest}"
    );
}

/// Issue 15 §3: `-v` showed steps for S3 buckets only. Every service's resources are named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_output_names_each_resource_of_every_service() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let emu = Emulator::start().await.unwrap();
    let conf = sdk_conf(&emu.url(), "us-east-1").await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    ddb.create_table()
        .table_name("orders-ledger")
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
    let role = aws_sdk_iam::Client::new(&conf)
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
    aws_sdk_lambda::Client::new(&conf)
        .create_function()
        .function_name("checkout-handler")
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .role(role)
        .handler("index.handler")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(stored_zip(&[(
                    "index.py",
                    b"def handler(e, c):\n    return 1\n",
                )])))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = infrasnap(
        &repo,
        &emu.url(),
        &[
            "-v",
            "snapshot",
            "--only",
            "lambda,dynamodb",
            "--regions",
            "us-east-1",
        ],
    );
    assert_code(&o, 0);
    let err = stderr(&o);
    let line = |needle: &str| err.lines().any(|l| l.contains(needle));
    assert!(line("lambda: function checkout-handler"), "{err}");
    assert!(line("dynamodb: table orders-ledger"), "{err}");
    assert!(
        line("lambda: capturing") && line("dynamodb: capturing"),
        "{err}"
    );
    // Without -v: none of it.
    let o = infrasnap(
        &repo,
        &emu.url(),
        &["snapshot", "--only", "lambda", "--regions", "us-east-1"],
    );
    assert_code(&o, 0);
    assert!(!stderr(&o).contains("checkout-handler"), "{}", stderr(&o));
}

/// Flip one byte of the blob of `key` in place (its tree files, hard links of it, change too):
/// no intact copy is left in the repository.
fn flip_blob(repo: &std::path::Path, snap: &std::path::Path, bucket: &str, key: &str) {
    use std::os::unix::fs::PermissionsExt;
    let hex = objects(snap, bucket)[key].blob.to_hex();
    let p = repo.join(".infrasnap/blobs").join(&hex[..2]).join(&hex);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut data = std::fs::read(&p).unwrap();
    data[10] ^= 0xff;
    std::fs::write(&p, data).unwrap();
}

/// Issue 14 §2: `repair` could only use intact copies inside the repository. An S3 object whose
/// every copy is damaged is fetched again from the live bucket when its ETag and size are still
/// those recorded; one that changed live is reported as not repairable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_fetches_an_unchanged_object_from_the_live_bucket_and_refuses_a_changed_one() {
    let emu = Emulator::start().await.unwrap();
    let s3 = bucket_of(&emu, "live", 3).await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let url = emu.url();
    let m = snapshot(&repo, &url, &["--only", "s3", "--label", "one"]);
    let snap = snapshot_dir(&repo, &m);
    flip_blob(&repo, &snap, "live", "dir/obj-00.bin");
    flip_blob(&repo, &snap, "live", "dir/obj-01.bin");
    put(
        &s3,
        "live",
        "dir/obj-01.bin",
        b"rewritten since the snapshot",
    )
    .await;
    assert_code(&infrasnap(&repo, &url, &["verify", "one"]), 4);

    // --offline: nothing in the repository can serve, so nothing is repaired.
    let o = infrasnap(&repo, &url, &["repair", "--offline"]);
    assert_code(&o, 4);
    assert!(!stdout(&o).contains("fetched again"), "{}", stdout(&o));

    let o = infrasnap(&repo, &url, &["repair"]);
    assert_code(&o, 4);
    let out = stdout(&o);
    assert!(
        out.contains("fetched again from s3://live/dir/obj-00.bin"),
        "{out}\n{}",
        stderr(&o)
    );
    assert!(
        out.lines().any(|l| l.starts_with("NOT repaired")
            && l.contains("s3://live/dir/obj-01.bin changed live since the snapshot")),
        "{out}"
    );
    assert!(!out.contains("obj-00.bin changed"), "{out}");
    assert_eq!(
        std::fs::read(snap.join("s3_buckets/live/dir/obj-00.bin")).unwrap(),
        bytes(0, 700)
    );
    // What is left is the changed object alone.
    let o = infrasnap(&repo, &url, &["--json", "verify", "one"]);
    assert_code(&o, 4);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let problems = v.to_string();
    assert!(
        problems.contains("obj-01.bin") && !problems.contains("obj-00.bin"),
        "{v:#}"
    );
}

/// The base64 of a key and of its MD5, as the SSE-C headers carry them.
fn sse_c_headers(key: &[u8; 32]) -> (String, String) {
    use base64::Engine;
    use md5::Digest;
    let b64 = base64::engine::general_purpose::STANDARD;
    (b64.encode(key), b64.encode(md5::Md5::digest(key)))
}

/// Issue 15 §4: SSE-C objects of 16 MiB and more are read by HEAD and ranged GETs; each of them
/// must carry the key. moto never checks SSE-C keys, so the proxy does, as S3 would (400 without
/// the key headers, 403 with a wrong key), for HEAD and GET alike, and counts the ranged GETs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_sse_c_object_is_read_in_ranges_each_with_its_key() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let key = [0x5au8; 32];
    let (b64, md5) = sse_c_headers(&key);
    create_bucket(&s3, "big").await;
    let body = bytes(42, 17 * 1024 * 1024 + 123);
    s3.put_object()
        .bucket("big")
        .key("disk.img")
        .body(aws_sdk_s3::primitives::ByteStream::from(body.clone()))
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&b64)
        .sse_customer_key_md5(&md5)
        .send()
        .await
        .unwrap();
    let ranged = Arc::new(AtomicUsize::new(0));
    let r = ranged.clone();
    let url = stub_proxy(&emu.url(), move |s| {
        let path = s.path.split('?').next().unwrap_or("");
        if path != "/big/disk.img" || s.path.contains("?tagging") {
            return None;
        }
        if s.method != "GET" && s.method != "HEAD" {
            return None;
        }
        let error = |status, code: &str| Canned {
            status,
            content_type: "application/xml",
            extra_headers: String::new(),
            body: if s.method == "HEAD" {
                String::new()
            } else {
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>\
                     <Message>SSE-C</Message></Error>"
                )
            },
        };
        match s.header("x-amz-server-side-encryption-customer-key-md5") {
            None => Some(error(400, "InvalidRequest")),
            Some(m) if m != md5 => Some(error(403, "AccessDenied")),
            Some(_) => {
                if s.method == "GET" && s.header("range").is_some() {
                    r.fetch_add(1, Ordering::SeqCst);
                }
                None
            }
        }
    })
    .await;
    let key_file = tmp.path().join("big.key");
    std::fs::write(&key_file, key).unwrap();
    let repo = tmp.path().join("repo");
    let m = snapshot(
        &repo,
        &url,
        &[
            "--only",
            "s3",
            "--sse-c-key-file",
            key_file.to_str().unwrap(),
        ],
    );
    assert_eq!(s3_counts(&m), (1, 1, 1), "{m:#}");
    assert!(
        ranged.load(Ordering::SeqCst) >= 3,
        "17 MiB in 8 MiB ranges: {} ranged GETs",
        ranged.load(Ordering::SeqCst)
    );
    let snap = snapshot_dir(&repo, &m);
    assert!(std::fs::read(snap.join("s3_buckets/big/disk.img")).unwrap() == body);
    assert!(objects(&snap, "big")["disk.img"].sse_customer.is_some());

    // A wrong key: one recorded error for the object, not a failed bucket.
    let wrong = tmp.path().join("wrong.key");
    std::fs::write(&wrong, [0x11u8; 32]).unwrap();
    let o = infrasnap(
        &tmp.path().join("other"),
        &url,
        &[
            "--json",
            "snapshot",
            "--only",
            "s3",
            "--sse-c-key-file",
            wrong.to_str().unwrap(),
        ],
    );
    assert_code(&o, 3);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let errors = v["metadata"]["collectors"]["s3"]["errors"]
        .as_array()
        .unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["resource"], "big/disk.img");
}

/// A stand-in for libsecret's `secret-tool` that speaks its command line (`store --label=L
/// attr value ...` reading the secret on stdin, `lookup attr value ...` printing it or exiting 1
/// silently, `clear attr value ...`), keeping each secret in a file of `<bin>/../keyring/`.
const SECRET_TOOL: &str = r#"#!/bin/sh
db="$(dirname "$0")/../keyring"
mkdir -p "$db"
cmd="$1"; shift
case "$1" in --label=*) shift ;; esac
name=$(printf '%s_' "$@" | tr -c 'A-Za-z0-9_.-' '_')
case "$cmd" in
  store) cat > "$db/$name" ;;
  lookup) [ -f "$db/$name" ] || exit 1; cat "$db/$name" ;;
  clear) rm -f "$db/$name" ;;
  *) echo "secret-tool: unknown command $cmd" >&2; exit 2 ;;
esac
"#;

/// The fingerprint of the withheld `.env` in a snapshot of the `ops` folder.
fn env_fingerprint(dir: &std::path::Path, label: &str) -> String {
    let m = read_json(
        &dir.join("repo")
            .join(label)
            .join("local_repos/ops/secrets_manifest.json"),
    );
    m["withheld"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Issue 14 §4: the fingerprint key was a file under ~/.config whatever the system offered.
/// With `key_store = "keychain"` and a keychain that answers (here a stand-in `secret-tool` on
/// PATH), the key lives there and nowhere on disk; `auto` reads it there, but keeps a new key in
/// a 0600 file; "keychain" without a keychain is an error.
#[test]
fn the_fingerprint_key_lives_in_the_keychain_where_one_answers_else_in_a_file() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("home")).unwrap();
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let tool = dir.join("bin/secret-tool");
    std::fs::write(&tool, SECRET_TOOL).unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ops = dir.join("ops");
    std::fs::create_dir_all(&ops).unwrap();
    std::fs::write(ops.join(".env"), format!("TOKEN={}\n", alnum(24))).unwrap();
    let cfg = |store: &str| {
        let p = dir.join(format!("{store}.toml"));
        std::fs::write(
            &p,
            format!(
                "[aws]\ndisabled = true\n\n[[local]]\nname = \"ops\"\npath = {:?}\n\
                 kind = \"folder\"\n\n[secrets]\nkey_store = \"{store}\"\n",
                ops.to_str().unwrap()
            ),
        )
        .unwrap();
        p.to_str().unwrap().to_string()
    };
    let with_tool = format!(
        "{}:{}",
        dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = [("PATH", with_tool.as_str())];
    let keys = dir.join("home/.config/infrasnap/keys");

    let keychain = cfg("keychain");
    let o = local_run_env(
        dir,
        &["snapshot", "--label", "k1", "--config", &keychain],
        &env,
    );
    assert_code(&o, 0);
    let ring: Vec<_> = walk_files(&dir.join("keyring"));
    assert_eq!(ring.len(), 1, "one key in the keychain");
    let stored = std::fs::read_to_string(&ring[0]).unwrap();
    assert_eq!(stored.trim().len(), 64, "{stored}");
    assert!(
        walk_files(&keys).is_empty(),
        "no key file beside the keychain"
    );
    let kc_env = [
        ("PATH", with_tool.as_str()),
        ("INFRASNAP_KEY_STORE", "keychain"),
    ];
    let o = local_run_env(dir, &["key", "path"], &kc_env);
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains("Secret Service keyring"),
        "{}",
        stdout(&o)
    );
    let o = local_run_env(dir, &["key", "export"], &kc_env);
    assert_eq!(stdout(&o).trim(), stored.trim());
    // `auto` finds the key where it is: the same fingerprint for the same secret.
    let auto = cfg("auto");
    let o = local_run_env(dir, &["snapshot", "--label", "k2", "--config", &auto], &env);
    assert_code(&o, 0);
    assert_eq!(env_fingerprint(dir, "k1"), env_fingerprint(dir, "k2"));
    assert!(walk_files(&keys).is_empty());

    // `auto` never puts a new key in the keychain (a headless scheduled run may not reach it):
    // a new repository gets a 0600 file.
    let o = local_run_env(
        dir,
        &[
            "--repo",
            dir.join("repo-auto").to_str().unwrap(),
            "snapshot",
            "--config",
            &auto,
        ],
        &env,
    );
    assert_code(&o, 0);
    let on_disk = walk_files(&keys);
    assert_eq!(on_disk.len(), 1, "{on_disk:?}");
    assert_eq!(
        std::fs::metadata(&on_disk[0]).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(walk_files(&dir.join("keyring")).len(), 1);

    // No keychain on PATH: "keychain" is an error, not a second key.
    let o = local_run(
        dir,
        &[
            "--repo",
            dir.join("repo-strict").to_str().unwrap(),
            "snapshot",
            "--config",
            &keychain,
        ],
    );
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("no keychain answers"), "{}", stderr(&o));
}
