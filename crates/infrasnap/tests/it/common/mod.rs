//! Shared by the integration tests: run the real binary against an emulator, read what it wrote.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_sdk_s3::primitives::ByteStream;
use infrasnap_core::index::read_all;
use infrasnap_core::model::s3::{S3BucketRecord, S3ObjectRecord};

pub use infrasnap_emulator::{s3_client, Emulator};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_infrasnap"))
}

/// Run `infrasnap` against `endpoint` with the test's own credentials and nothing from ~/.aws.
pub fn infrasnap(repo: &Path, endpoint: &str, args: &[&str]) -> Output {
    command(repo, endpoint, args, &[])
        .output()
        .expect("run infrasnap")
}

/// The command `infrasnap` would run, with extra environment (later entries win).
pub fn command(repo: &Path, endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = bin();
    c.env_clear();
    c.env("PATH", std::env::var("PATH").unwrap_or_default());
    c.env("HOME", repo.parent().unwrap_or(repo));
    for (k, v) in infrasnap_emulator::aws_env(endpoint) {
        c.env(k, v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.arg("--repo").arg(repo);
    c.args(args);
    c
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[track_caller]
pub fn assert_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit code; stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// Take a snapshot with --json and return its metadata.
#[track_caller]
pub fn snapshot(repo: &Path, endpoint: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--json", "snapshot"];
    args.extend_from_slice(extra);
    let o = infrasnap(repo, endpoint, &args);
    assert_code(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json output");
    v["metadata"].clone()
}

pub fn snapshot_dir(repo: &Path, meta: &serde_json::Value) -> PathBuf {
    repo.join(meta["name"].as_str().expect("name"))
}

pub fn objects(snap: &Path, bucket: &str) -> BTreeMap<String, S3ObjectRecord> {
    let recs: Vec<S3ObjectRecord> = read_all(
        &snap
            .join("index/s3_buckets")
            .join(format!("{bucket}.jsonl")),
    )
    .expect("index");
    recs.into_iter().map(|r| (r.key.clone(), r)).collect()
}

pub fn bucket_record(snap: &Path, bucket: &str) -> S3BucketRecord {
    let raw = std::fs::read(snap.join("s3_bucket_config").join(format!("{bucket}.json")))
        .expect("bucket config");
    serde_json::from_slice(&raw).expect("bucket record")
}

pub fn s3_counts(meta: &serde_json::Value) -> (u64, u64, u64) {
    let s3 = &meta["collectors"]["s3"];
    (
        s3["counts"]["objects"].as_u64().unwrap_or(0),
        s3["objects_downloaded"].as_u64().unwrap_or(0),
        s3["blobs_new"].as_u64().unwrap_or(0),
    )
}

pub fn blob_count(repo: &Path) -> usize {
    walk_files(&repo.join(".infrasnap/blobs")).len()
}

pub fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

pub async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &[u8]) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
}

pub async fn create_bucket(s3: &aws_sdk_s3::Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create {bucket}: {e:?}"));
}

/// Deterministic bytes.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

/// One request as [`stub_proxy`] saw it.
pub struct Seen {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// The request head (request line and headers).
    pub head: String,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// An answer [`stub_proxy`] gives instead of the upstream.
pub struct Canned {
    pub status: u16,
    pub content_type: &'static str,
    /// Extra header lines, each ending in `\r\n`.
    pub extra_headers: String,
    pub body: String,
}

/// A loopback HTTP proxy in front of `upstream` (moto): requests for which `answer` returns a
/// [`Canned`] get it; every other request is forwarded unchanged. One request per connection
/// (`Connection: close`). Used by tests to deny chosen calls or to stand in for what moto lacks.
pub async fn stub_proxy(
    upstream: &str,
    answer: impl Fn(&Seen) -> Option<Canned> + Send + Sync + 'static,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = std::sync::Arc::new(answer);
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let upstream = upstream.clone();
            let answer = answer.clone();
            tokio::spawn(async move {
                // Read the head, then the body by Content-Length.
                let mut buf = Vec::new();
                let mut tmp = [0u8; 8192];
                let head_end = loop {
                    let n = client.read(&mut tmp).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&tmp[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let mut seen = Seen {
                    method: String::new(),
                    path: String::new(),
                    head,
                    body: Vec::new(),
                };
                let len = seen
                    .header("content-length")
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    let n = client.read(&mut tmp).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&tmp[..n]);
                }
                seen.body = buf[head_end..].to_vec();
                let mut first = seen.head.lines().next().unwrap_or("").split(' ');
                seen.method = first.next().unwrap_or("").to_string();
                seen.path = first.next().unwrap_or("").to_string();
                if let Some(c) = answer(&seen) {
                    let resp = format!(
                        "HTTP/1.1 {} Stub\r\nContent-Type: {}\r\n{}Content-Length: {}\r\nx-amzn-RequestId: stub-1\r\nConnection: close\r\n\r\n{}",
                        c.status,
                        c.content_type,
                        c.extra_headers,
                        c.body.len(),
                        c.body
                    );
                    let _ = client.write_all(resp.as_bytes()).await;
                    let _ = client.shutdown().await;
                    return;
                }
                // Forward with `Connection: close`, then relay the answer until the upstream
                // closes.
                let mut new_head: String = seen
                    .head
                    .trim_end_matches("\r\n")
                    .split("\r\n")
                    .filter(|l| {
                        !l.to_ascii_lowercase().starts_with("connection:")
                            && !l.to_ascii_lowercase().starts_with("keep-alive:")
                    })
                    .collect::<Vec<_>>()
                    .join("\r\n");
                new_head.push_str("\r\nConnection: close\r\n\r\n");
                let Ok(mut up) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                if up.write_all(new_head.as_bytes()).await.is_err()
                    || up.write_all(&seen.body).await.is_err()
                {
                    return;
                }
                let _ = tokio::io::copy(&mut up, &mut client).await;
                let _ = client.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

/// SDK configuration for the emulator at `endpoint`: static `testing` credentials, `region`.
pub async fn sdk_conf(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "static",
        ))
        .load()
        .await
}

/// Random text from a charset, fresh for every run (planted secrets are made with it, so no
/// secret-shaped literal lives in the source).
pub fn random(charset: &[u8], len: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    while out.len() < len {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(out.len());
        let mut x = h.finish();
        for _ in 0..8 {
            if out.len() == len {
                break;
            }
            out.push(charset[(x % charset.len() as u64) as usize] as char);
            x /= charset.len() as u64;
        }
    }
    out
}

/// Random letters and digits (no look-alikes), fresh for every run.
pub fn alnum(len: usize) -> String {
    random(
        b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789",
        len,
    )
}

/// A file's JSON, with the path in the panic message.
pub fn read_json(p: &Path) -> serde_json::Value {
    let raw = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_slice(&raw).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// A zip archive with stored (uncompressed) entries and a fixed time: enough for Lambda code.
pub fn stored_zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let offset = out.len() as u32;
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let crc = crc.sum();
        let (n, len) = (name.len() as u16, data.len() as u32);
        // Local file header: version 2.0, no flags, stored, a fixed DOS time (1980-01-01).
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        // Central directory entry.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&len.to_le_bytes());
        central.extend_from_slice(&len.to_le_bytes());
        central.extend_from_slice(&n.to_le_bytes());
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// The lines of a catalog file of a snapshot: `catalog/<file>.jsonl` (`resources`, `coverage`).
pub fn catalog_file(snap: &Path, file: &str) -> Vec<serde_json::Value> {
    let p = snap.join(format!("catalog/{file}.jsonl"));
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The catalog's records by id text (`kind:account:region:id`).
pub fn catalog_records(snap: &Path) -> BTreeMap<String, serde_json::Value> {
    catalog_file(snap, "resources")
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r))
        .collect()
}

/// The lines of a catalog file about one kind: records by their id's kind, coverage by `kind`.
pub fn catalog_of_kind(snap: &Path, file: &str, kind: &str) -> Vec<serde_json::Value> {
    catalog_file(snap, file)
        .into_iter()
        .filter(|v| {
            let k = v["kind"]
                .as_str()
                .or_else(|| v["id"].as_str().and_then(|id| id.split(':').next()));
            k == Some(kind)
        })
        .collect()
}

/// POST `body` to `path` of a loopback server, with a plain HTTP/1.0 request (moto's control
/// API: `/moto-api/reset-auth` turns IAM enforcement on).
pub fn raw_post(base: &str, path: &str, body: &str) -> String {
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

/// An upstream answer as [`rewrite_proxy`] hands it to its `rewrite` function: the status line,
/// the header lines (without `Content-Length`, `Transfer-Encoding` and `Connection`, which the
/// proxy sets) and the whole body.
pub struct Answer {
    pub status_line: String,
    pub headers: Vec<String>,
    pub body: Vec<u8>,
}

/// [`stub_proxy`] that can also change upstream answers: requests for which `answer` returns a
/// [`Canned`] get it; every other one is forwarded, its answer read whole and handed to
/// `rewrite` (which may change it in place) before it is sent on. Used to play an S3-compatible
/// server that differs from moto (a listing without ETags), and to enforce what moto does not
/// check (SSE-C keys).
pub async fn rewrite_proxy(
    upstream: &str,
    answer: impl Fn(&Seen) -> Option<Canned> + Send + Sync + 'static,
    rewrite: impl Fn(&Seen, &mut Answer) + Send + Sync + 'static,
) -> String {
    let rewrite = std::sync::Arc::new(rewrite);
    let answer = std::sync::Arc::new(answer);
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let (upstream, answer, rewrite) = (upstream.clone(), answer.clone(), rewrite.clone());
            tokio::spawn(async move {
                let _ = relay_rewritten(client, &upstream, &*answer, &*rewrite).await;
            });
        }
    });
    format!("http://{addr}")
}

async fn relay_rewritten(
    mut client: tokio::net::TcpStream,
    upstream: &str,
    answer: &(dyn Fn(&Seen) -> Option<Canned> + Send + Sync),
    rewrite: &(dyn Fn(&Seen, &mut Answer) + Send + Sync),
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        let n = client.read(&mut tmp).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let mut seen = Seen {
        method: String::new(),
        path: String::new(),
        head: String::from_utf8_lossy(&buf[..head_end]).to_string(),
        body: Vec::new(),
    };
    let len = seen
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = client.read(&mut tmp).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    seen.body = buf[head_end..].to_vec();
    let mut first = seen.head.lines().next().unwrap_or("").split(' ');
    seen.method = first.next().unwrap_or("").to_string();
    seen.path = first.next().unwrap_or("").to_string();
    if let Some(c) = answer(&seen) {
        let resp = format!(
            "HTTP/1.1 {} Stub\r\nContent-Type: {}\r\n{}Content-Length: {}\r\nx-amzn-RequestId: stub-1\r\nConnection: close\r\n\r\n{}",
            c.status, c.content_type, c.extra_headers, c.body.len(), c.body
        );
        client.write_all(resp.as_bytes()).await?;
        return client.shutdown().await;
    }
    let keep = |l: &&str| {
        let l = l.to_ascii_lowercase();
        !l.starts_with("connection:") && !l.starts_with("keep-alive:")
    };
    let mut new_head: String = seen
        .head
        .trim_end_matches("\r\n")
        .split("\r\n")
        .filter(keep)
        .collect::<Vec<_>>()
        .join("\r\n");
    new_head.push_str("\r\nConnection: close\r\n\r\n");
    let mut up = tokio::net::TcpStream::connect(upstream).await?;
    up.write_all(new_head.as_bytes()).await?;
    up.write_all(&seen.body).await?;
    let mut raw = Vec::new();
    up.read_to_end(&mut raw).await?;
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        client.write_all(&raw).await?;
        return client.shutdown().await;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status_line = lines
        .next()
        .unwrap_or("HTTP/1.1 502 Bad Gateway")
        .to_string();
    let mut chunked = false;
    let headers: Vec<String> = lines
        .filter(|l| {
            let low = l.to_ascii_lowercase();
            if low.starts_with("transfer-encoding:") && low.contains("chunked") {
                chunked = true;
            }
            !(low.starts_with("content-length:")
                || low.starts_with("transfer-encoding:")
                || low.starts_with("connection:"))
        })
        .map(str::to_string)
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(nl) = rest.windows(2).position(|w| w == b"\r\n") {
            let size_text = String::from_utf8_lossy(&rest[..nl]).to_string();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
                .unwrap_or(0);
            rest = &rest[nl + 2..];
            if size == 0 || rest.len() < size {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[(size + 2).min(rest.len())..];
        }
        body = out;
    }
    let head_only = seen.method == "HEAD";
    let declared = (!chunked)
        .then(|| {
            head.split("\r\n").find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().to_string())
            })
        })
        .flatten();
    let mut a = Answer {
        status_line,
        headers,
        body,
    };
    rewrite(&seen, &mut a);
    let length = match (&declared, head_only) {
        // A HEAD answer declares the object's length and has no body.
        (Some(d), true) => d.clone(),
        _ => a.body.len().to_string(),
    };
    let mut out = format!("{}\r\n", a.status_line);
    for h in &a.headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ));
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&a.body);
    }
    client.write_all(&bytes).await?;
    client.shutdown().await
}

/// A command's `--json` output.
#[track_caller]
pub fn json_of(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {}\nstderr {}", stdout(o), stderr(o)))
}

/// A restore plan's steps as (action, target id).
pub fn steps(plan: &serde_json::Value) -> Vec<(String, String)> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["action"]["action"].as_str().unwrap().to_string(),
                s["target"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The keys of a bucket (one listing page).
pub async fn keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    s3.list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .map(|o| o.key().unwrap().to_string())
        .collect()
}

/// Disable and delete a distribution.
pub async fn delete_distribution(c: &aws_sdk_cloudfront::Client, id: &str) {
    let got = c.get_distribution_config().id(id).send().await.unwrap();
    let mut cfg = got.distribution_config().unwrap().clone();
    cfg.enabled = false;
    let out = c
        .update_distribution()
        .id(id)
        .if_match(got.e_tag().unwrap())
        .distribution_config(cfg)
        .send()
        .await
        .unwrap();
    c.delete_distribution()
        .id(id)
        .if_match(out.e_tag().unwrap())
        .send()
        .await
        .unwrap();
}

/// The plan file the restore helpers write and read: `plan.json` beside the repository.
pub fn plan_file(repo: &Path) -> std::path::PathBuf {
    repo.parent()
        .expect("a repository in a folder")
        .join("plan.json")
}

/// `restore plan ARGS -o <plan_file>`: the output, and the plan's JSON when one was written.
pub fn restore_plan(repo: &Path, url: &str, args: &[&str]) -> (Output, Option<serde_json::Value>) {
    let file = plan_file(repo);
    let _ = std::fs::remove_file(&file);
    let mut a = vec!["restore", "plan"];
    a.extend(args);
    a.extend(["-o", file.to_str().unwrap()]);
    let o = infrasnap(repo, url, &a);
    let p = file.exists().then(|| read_json(&file));
    (o, p)
}

/// [`restore_plan`] that must succeed: the plan's JSON.
#[track_caller]
pub fn restore_plan_ok(repo: &Path, url: &str, args: &[&str]) -> serde_json::Value {
    let (o, p) = restore_plan(repo, url, args);
    assert_code(&o, 0);
    p.expect("a plan file")
}

/// `restore apply <plan_file> ARGS`.
pub fn restore_apply(repo: &Path, url: &str, args: &[&str]) -> Output {
    let file = plan_file(repo);
    let mut a = vec!["restore", "apply", file.to_str().unwrap()];
    a.extend(args);
    infrasnap(repo, url, &a)
}

/// `diff A B --kind KIND --json`: its exit code and JSON.
pub fn diff_kind(repo: &Path, url: &str, a: &str, b: &str, kind: &str) -> (i32, serde_json::Value) {
    let o = infrasnap(repo, url, &["diff", a, b, "--kind", kind, "--json"]);
    (o.status.code().unwrap_or(-1), json_of(&o))
}

/// A default cache behavior for the tests, to be built: to the origin `target`, HTTPS redirect,
/// and the legacy cache settings (nothing forwarded, MinTTL 0), which are what moto reads back.
#[allow(deprecated)]
pub fn behavior_to(
    target: &str,
) -> aws_sdk_cloudfront::types::builders::DefaultCacheBehaviorBuilder {
    use aws_sdk_cloudfront::types::{
        CookiePreference, DefaultCacheBehavior, ForwardedValues, ItemSelection,
        ViewerProtocolPolicy,
    };
    DefaultCacheBehavior::builder()
        .target_origin_id(target)
        .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
        .forwarded_values(
            ForwardedValues::builder()
                .query_string(false)
                .cookies(
                    CookiePreference::builder()
                        .forward(ItemSelection::None)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .min_ttl(0)
}

/// A distribution's configuration for the tests: one custom origin `origin` (id `site`), the
/// `aliases`, a default root object, comment "the site", enabled.
pub fn distribution_config(
    reference: &str,
    aliases: &[&str],
    origin: &str,
    root: &str,
) -> aws_sdk_cloudfront::types::DistributionConfig {
    use aws_sdk_cloudfront::types::{
        Aliases, CustomOriginConfig, DistributionConfig, Origin, OriginProtocolPolicy, Origins,
    };
    let behavior = behavior_to("site").build().unwrap();
    let origin = Origin::builder()
        .id("site")
        .domain_name(origin)
        .custom_origin_config(
            CustomOriginConfig::builder()
                .http_port(80)
                .https_port(443)
                .origin_protocol_policy(OriginProtocolPolicy::HttpsOnly)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let mut a = Aliases::builder().quantity(aliases.len() as i32);
    for x in aliases {
        a = a.items(*x);
    }
    DistributionConfig::builder()
        .caller_reference(reference)
        .aliases(a.build().unwrap())
        .default_root_object(root)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .unwrap(),
        )
        .default_cache_behavior(behavior)
        .comment("the site")
        .enabled(true)
        .build()
        .unwrap()
}
