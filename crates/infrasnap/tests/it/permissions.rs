//! A denied call is recorded with its AWS error code and action, and the run goes on: the
//! snapshot is published as "complete with errors" (exit 3) and MANIFEST.md says what to grant.
//! moto enforces IAM policies once told to (`/moto-api/reset-auth`); this test runs on its own
//! server instance for that reason. A denied listing is coverage, not absence: the catalog says
//! the listing failed, so a diff calls what it would hold "not comparable", never "removed".

use crate::common;

use common::*;

/// IAM setup through boto3 from moto's own virtualenv (the product has no IAM dependency yet).
fn create_limited_user(moto_url: &str) -> (String, String) {
    let python = infrasnap_emulator::find_moto_server()
        .unwrap()
        .parent()
        .unwrap()
        .join("python");
    let script = r#"
import boto3, json, sys
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
iam.create_user(UserName="snapper")
iam.put_user_policy(UserName="snapper", PolicyName="mostly-read", PolicyDocument=json.dumps({
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["s3:*", "sts:GetCallerIdentity"], "Resource": "*"},
    {"Effect": "Deny", "Action": "s3:GetBucketPolicy", "Resource": "*"},
    {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::vault/*"},
    {"Effect": "Deny", "Action": "s3:GetObjectTagging", "Resource": "arn:aws:s3:::public-site/*"}
  ]}))
k = iam.create_access_key(UserName="snapper")["AccessKey"]
print(k["AccessKeyId"], k["SecretAccessKey"])
"#;
    let out = std::process::Command::new(python)
        .args(["-c", script, moto_url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8(out.stdout).unwrap();
    let mut it = s.split_whitespace();
    (
        it.next().unwrap().to_string(),
        it.next().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_is_recorded_and_the_rest_is_captured() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    create_bucket(&s3, "public-site").await;
    put(&s3, "public-site", "index.html", b"<h1>hi</h1>").await;
    s3.put_object()
        .bucket("public-site")
        .key("tagged.html")
        .tagging("team=web")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"tagged"))
        .send()
        .await
        .unwrap();
    s3.put_bucket_policy()
        .bucket("public-site")
        .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::public-site/*"}]}"#)
        .send()
        .await
        .unwrap();
    create_bucket(&s3, "vault").await;
    put(&s3, "vault", "secret.txt", b"top secret").await;
    let (key, secret) = create_limited_user(&emu.moto.url());

    // From now on moto enforces IAM.
    let client = reqwest_free_post(&emu.moto.url(), "/moto-api/reset-auth", "0");
    assert!(client.contains("200"), "{client}");

    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = command(
        &repo,
        &emu.url(),
        &["--json", "snapshot", "--label", "limited"],
        &[
            ("AWS_ACCESS_KEY_ID", &key),
            ("AWS_SECRET_ACCESS_KEY", &secret),
        ],
    )
    .output()
    .unwrap();
    assert_code(&o, 3);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let meta = &v["metadata"];
    assert_eq!(meta["status"], "partial");
    let errors = meta["collectors"]["s3"]["errors"].as_array().unwrap();
    let has = |action: &str, resource: &str| {
        errors.iter().any(|e| {
            e["action"] == action
                && e["resource"].as_str().unwrap().starts_with(resource)
                && e["code"] == "AccessDenied"
        })
    };
    assert!(has("s3:GetBucketPolicy", "public-site"), "{errors:#?}");
    assert!(has("s3:GetObject", "vault/secret.txt"), "{errors:#?}");
    // A denied tag read keeps the object (its content and headers) and records the denial.
    assert!(
        has("s3:GetObjectTagging", "public-site/tagged.html"),
        "{errors:#?}"
    );

    // Everything else was captured.
    let snap = snapshot_dir(&repo, meta);
    assert_eq!(
        std::fs::read(snap.join("s3_buckets/public-site/index.html")).unwrap(),
        b"<h1>hi</h1>"
    );
    assert!(!snap.join("s3_buckets/vault/secret.txt").exists());
    assert_eq!(
        std::fs::read(snap.join("s3_buckets/public-site/tagged.html")).unwrap(),
        b"tagged"
    );
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(manifest.contains("complete with errors"));
    assert!(
        manifest.contains("| s3 | s3:GetBucketPolicy | public-site | AccessDenied |"),
        "{manifest}"
    );
    assert!(
        manifest.contains("\"s3:GetObject\""),
        "the policy snippet names the missing action"
    );
    let o = infrasnap(&repo, &emu.url(), &["list"]);
    assert!(
        stdout(&o).contains("complete with errors"),
        "{}",
        stdout(&o)
    );

    // The catalog: the bucket listing was read whole; a bucket some of whose objects (or their
    // tags) could not be read is incomplete, its settings' denials are in its document.
    let cov = catalog_of_kind(&snap, "coverage", "aws.s3.bucket");
    assert_eq!(cov.len(), 1, "{cov:#?}");
    assert_eq!(cov[0]["state"], "complete");
    let rec = |bucket: &str| {
        let id = format!("aws.s3.bucket:123456789012::{bucket}");
        catalog_of_kind(&snap, "resources", "aws.s3.bucket")
            .into_iter()
            .find(|r| r["id"] == id.as_str())
            .unwrap_or_else(|| panic!("no catalog record {id}"))
    };
    assert_eq!(rec("vault")["incomplete"], true, "GetObject denied");
    assert_eq!(
        rec("public-site")["incomplete"],
        true,
        "GetObjectTagging denied"
    );
    let doc = read_json(&snap.join("s3_bucket_config/public-site.json"));
    assert_eq!(doc["config"]["policy"]["state"], "error", "{doc:#}");
}

/// ListBuckets denied: nothing of S3 is captured, the error names the action, and the catalog
/// records the bucket listing of the account as failed, with that error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_bucket_listing_is_failed_coverage() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    create_bucket(&s3, "site").await;
    put(&s3, "site", "index.html", b"hi").await;
    // ListBuckets is `GET /` signed for S3 (path-style); everything else goes through.
    let url = stub_proxy(&emu.url(), |r| {
        let list_buckets = r.method == "GET"
            && (r.path == "/" || r.path.starts_with("/?"))
            && r.header("authorization")
                .is_some_and(|a| a.contains("/s3/aws4_request"));
        list_buckets.then(|| Canned {
            status: 403,
            content_type: "application/xml",
            extra_headers: String::new(),
            body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>\
                   <Message>User: arn:aws:iam::123456789012:user/auditor is not authorized to \
                   perform: s3:ListAllMyBuckets</Message></Error>"
                .into(),
        })
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = infrasnap(
        &repo,
        &url,
        &["--json", "snapshot", "--only", "s3", "--label", "blind"],
    );
    // S3 was all there was to capture, and it failed.
    assert_code(&o, 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let meta = &v["metadata"];
    assert_eq!(meta["status"], "failed", "{meta:#}");
    let errors = meta["collectors"]["s3"]["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["action"] == "s3:ListAllMyBuckets" && e["code"] == "AccessDenied"),
        "{errors:#?}"
    );
    let snap = snapshot_dir(&repo, meta);
    assert!(!snap.join("s3_buckets").exists());
    assert!(catalog_of_kind(&snap, "resources", "aws.s3.bucket").is_empty());
    let cov = catalog_of_kind(&snap, "coverage", "aws.s3.bucket");
    assert_eq!(cov.len(), 1, "{cov:#?}");
    assert_eq!(cov[0]["account"], "123456789012");
    assert_eq!(cov[0]["region"], "");
    assert_eq!(cov[0]["state"], "failed");
    assert_eq!(cov[0]["error"]["action"], "s3:ListAllMyBuckets");
    assert_eq!(cov[0]["error"]["code"], "AccessDenied");
}

/// A minimal HTTP/1.0 POST over std (no HTTP client dependency needed for one call).
fn reqwest_free_post(base: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}
