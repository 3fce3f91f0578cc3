//! Restore's read-back of the S3 objects it uploads, through the real binary against moto, every
//! request seen by a loopback proxy:
//!
//! - Each object goes up with `Content-MD5` (the server refuses damaged bytes). Where the server's
//!   ETag is that MD5, the read-back after `apply` proves the content by a HeadObject (and the
//!   tags by GetObjectTagging) instead of downloading every byte again: no GetObject of an object
//!   restored, and the receipt still says every touched resource matches the snapshot.
//! - Where the ETag does not prove the content (here: a proxy changes the ETag of HeadObject
//!   answers, as a server whose ETags are not MD5s would), the read-back downloads the object
//!   and checks it in full, as before.
//! - An object above the multipart threshold goes up in parts, each with its `Content-MD5`, and
//!   is proven by its multipart ETag (the MD5 of the part MD5s) the same way; one whose snapshot
//!   ETag is a multipart one gets its MD5 computed from the blob, and is proven too.

use std::sync::{Arc, Mutex};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Tag, Tagging};

use crate::common;
use common::*;

/// Requests the proxy saw: (method, path with query).
type Log = Arc<Mutex<Vec<(String, String)>>>;

async fn seed(s3: &aws_sdk_s3::Client) {
    create_bucket(s3, "site").await;
    for i in 0..6u64 {
        put(
            s3,
            "site",
            &format!("pages/{i}.html"),
            &bytes(i, 700 + i as usize),
        )
        .await;
    }
    s3.put_object()
        .bucket("site")
        .key("img/logo.png")
        .content_type("image/png")
        .metadata("owner", "web")
        .cache_control("max-age=60")
        .body(ByteStream::from(bytes(42, 5000)))
        .send()
        .await
        .unwrap();
    s3.put_object_tagging()
        .bucket("site")
        .key("img/logo.png")
        .tagging(
            Tagging::builder()
                .tag_set(Tag::builder().key("env").value("prod").build().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// A proxy that logs every request, and (with `bad_head_etag`) answers every HeadObject with
/// an ETag that is not the content's MD5.
async fn logging_proxy(upstream: &str, bad_head_etag: bool) -> (String, Log) {
    let log: Log = Arc::default();
    let l = log.clone();
    let url = rewrite_proxy(
        upstream,
        |_| None,
        move |seen, answer| {
            l.lock()
                .unwrap()
                .push((seen.method.clone(), seen.path.clone()));
            if bad_head_etag && seen.method == "HEAD" {
                for h in answer.headers.iter_mut() {
                    if h.to_ascii_lowercase().starts_with("etag:") {
                        *h = "ETag: \"00000000000000000000000000000000\"".into();
                    }
                }
            }
        },
    )
    .await;
    (url, log)
}

/// The requests of `method` on object paths of bucket `site` (query kept).
fn on_objects(log: &Log, method: &str) -> Vec<String> {
    let mut v: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|(m, p)| {
            let path = p.split('?').next().unwrap_or_default();
            m == method && path.starts_with("/site/") && path.len() > "/site/".len()
        })
        .map(|(_, p)| without_operation_id(p))
        .collect();
    v.sort();
    v
}

/// A path without the SDK's `x-id=Operation` query parameter.
fn without_operation_id(p: &str) -> String {
    match p.split_once('?') {
        None => p.to_string(),
        Some((path, q)) => {
            let rest: Vec<&str> = q.split('&').filter(|x| !x.starts_with("x-id=")).collect();
            if rest.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", rest.join("&"))
            }
        }
    }
}

/// Snapshot `site`, empty it, restore it through the proxy; the log of the apply only.
async fn restore_through(bad_head_etag: bool) -> Log {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let s3 = s3_client(&url, "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    seed(&s3).await;
    snapshot(&repo, &url, &["--only", "s3", "--label", "one"]);
    for k in keys(&s3, "site").await {
        s3.delete_object()
            .bucket("site")
            .key(k)
            .send()
            .await
            .unwrap();
    }
    apply_logged(&repo, &url, bad_head_etag, &[]).await
}

/// Plan snapshot `one`, apply it through a logging proxy (with `apply_args`): the receipt says
/// everything matches, and a snapshot taken afterwards has nothing to say against `one`. The
/// log of the apply only.
async fn apply_logged(
    repo: &std::path::Path,
    url: &str,
    bad_head_etag: bool,
    apply_args: &[&str],
) -> Log {
    restore_plan_ok(repo, url, &["one"]);
    let (proxy, log) = logging_proxy(url, bad_head_etag).await;
    let mut a = vec!["--json", "restore", "apply"];
    let file = plan_file(repo);
    a.push(file.to_str().unwrap());
    a.extend_from_slice(apply_args);
    let o = infrasnap(repo, &proxy, &a);
    assert_code(&o, 0);
    let receipt = json_of(&o);
    assert_eq!(receipt["ok"], true, "{receipt:#}");
    assert_eq!(receipt["final_diff"], serde_json::json!([]), "{receipt:#}");
    snapshot(repo, url, &["--only", "s3", "--label", "two"]);
    let o = infrasnap(repo, url, &["diff", "one", "two"]);
    assert_code(&o, 0);
    log
}

fn restored() -> Vec<String> {
    let mut v: Vec<String> = (0..6).map(|i| format!("/site/pages/{i}.html")).collect();
    v.push("/site/img/logo.png".into());
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_proven_by_their_md5_are_read_back_by_their_headers() {
    let log = restore_through(false).await;
    assert_eq!(
        on_objects(&log, "PUT"),
        restored(),
        "one PutObject per object"
    );
    assert_eq!(
        on_objects(&log, "HEAD"),
        restored(),
        "the read-back asks each restored object for its headers"
    );
    let gets = on_objects(&log, "GET");
    assert_eq!(
        gets,
        vec!["/site/img/logo.png?tagging".to_string()],
        "no restored byte is downloaded again; only the tags of the tagged object are read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_etag_that_proves_nothing_gets_a_full_read_back() {
    let log = restore_through(true).await;
    let gets: Vec<String> = on_objects(&log, "GET")
        .into_iter()
        .filter(|p| !p.contains('?'))
        .collect();
    assert_eq!(
        gets,
        restored(),
        "each object whose ETag is not its MD5 is downloaded and checked in full"
    );
}

/// An object above the multipart threshold goes up in parts, each with its `Content-MD5`; the
/// object's ETag (the MD5 of the part MD5s, `-<parts>`) is then known before the read-back, which
/// proves the object by its headers: no GetObject of its bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_upload_is_proven_by_its_part_md5s() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let s3 = s3_client(&url, "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    create_bucket(&s3, "site").await;
    let body = bytes(9, (12 << 20) + 17);
    put(&s3, "site", "video.bin", &body).await;
    snapshot(&repo, &url, &["--only", "s3", "--label", "one"]);
    s3.delete_object()
        .bucket("site")
        .key("video.bin")
        .send()
        .await
        .unwrap();
    let cfg = tmp.path().join("infrasnap.toml");
    std::fs::write(
        &cfg,
        "[restore]\nmultipart_threshold = \"5MiB\"\npart_size = 5242880\n",
    )
    .unwrap();
    let log = apply_logged(&repo, &url, false, &["--config", cfg.to_str().unwrap()]).await;
    let parts: Vec<String> = on_objects(&log, "PUT")
        .into_iter()
        .filter(|p| p.contains("partNumber="))
        .collect();
    assert_eq!(parts.len(), 3, "three parts: {parts:?}");
    assert_eq!(
        on_objects(&log, "HEAD"),
        vec!["/site/video.bin".to_string()]
    );
    let gets: Vec<String> = on_objects(&log, "GET")
        .into_iter()
        .filter(|p| !p.contains('?'))
        .collect();
    assert!(gets.is_empty(), "no byte downloaded again: {gets:?}");
    let head = s3
        .head_object()
        .bucket("site")
        .key("video.bin")
        .send()
        .await
        .unwrap();
    assert!(head.e_tag().unwrap().trim_matches('"').ends_with("-3"));
    let got = s3
        .get_object()
        .bucket("site")
        .key("video.bin")
        .send()
        .await
        .unwrap();
    assert!(got.body.collect().await.unwrap().into_bytes().to_vec() == body);
}

/// An object the snapshot holds with a multipart ETag (`…-3`: it was uploaded in parts), below
/// the restore's multipart threshold: its MD5 is not in its ETag, so it is computed by a streamed
/// read of the blob and sent as `Content-MD5` with one PutObject; the read-back then proves it by
/// its headers as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_first_uploaded_in_parts_is_proven_after_one_put() {
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let s3 = s3_client(&url, "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    create_bucket(&s3, "site").await;
    // Above 8 MiB, where a body was streamed without Content-MD5 (and downloaded again to be
    // checked) before the MD5 was computed by a streamed read.
    let body = bytes(5, (10 << 20) + 100);
    let up = s3
        .create_multipart_upload()
        .bucket("site")
        .key("clip.mp4")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let mut done = Vec::new();
    for (n, chunk) in [
        (1, &body[..5 << 20]),
        (2, &body[5 << 20..10 << 20]),
        (3, &body[10 << 20..]),
    ] {
        let p = s3
            .upload_part()
            .bucket("site")
            .key("clip.mp4")
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(chunk.to_vec()))
            .send()
            .await
            .unwrap();
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(p.e_tag().unwrap())
                .build(),
        );
    }
    s3.complete_multipart_upload()
        .bucket("site")
        .key("clip.mp4")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        )
        .send()
        .await
        .unwrap();
    snapshot(&repo, &url, &["--only", "s3", "--label", "one"]);
    s3.delete_object()
        .bucket("site")
        .key("clip.mp4")
        .send()
        .await
        .unwrap();
    let log = apply_logged(&repo, &url, false, &[]).await;
    assert_eq!(on_objects(&log, "PUT"), vec!["/site/clip.mp4".to_string()]);
    assert_eq!(on_objects(&log, "HEAD"), vec!["/site/clip.mp4".to_string()]);
    let gets: Vec<String> = on_objects(&log, "GET")
        .into_iter()
        .filter(|p| !p.contains('?'))
        .collect();
    assert!(gets.is_empty(), "no byte downloaded again: {gets:?}");
    let got = s3
        .get_object()
        .bucket("site")
        .key("clip.mp4")
        .send()
        .await
        .unwrap();
    assert!(got.body.collect().await.unwrap().into_bytes().to_vec() == body);
}
