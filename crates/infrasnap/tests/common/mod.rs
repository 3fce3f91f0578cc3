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
