//! Integrity and security (issue 14): damaged repositories built by the test are found by
//! `verify` (one problem per damaged file), never vanish from `list`, and are never reused by a
//! new snapshot; the repository is private under the default umask; hostile configs are refused;
//! the fingerprint key lives outside the repository; secrets are redacted where they leaked.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;

/// A repository with one snapshot `s1` of a bucket `docs` holding `a.txt` and `b.txt` (same
/// size, so a swap of their hashes is not caught by a size check).
async fn one_snapshot() -> (Emulator, tempfile::TempDir, PathBuf, PathBuf) {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    create_bucket(&s3, "docs").await;
    put(&s3, "docs", "a.txt", b"alpha").await;
    put(&s3, "docs", "b.txt", b"bravo").await;
    let meta = snapshot(&repo, &emu.url(), &["--label", "s1", "--only", "s3"]);
    let snap = snapshot_dir(&repo, &meta);
    assert_code(&infrasnap(&repo, &emu.url(), &["verify"]), 0);
    (emu, tmp, repo, snap)
}

/// `verify --json NAME`: exit code and its problems as (kind, path).
fn problems(repo: &Path, url: &str, name: &str) -> (i32, Vec<(String, String)>, serde_json::Value) {
    let o = infrasnap(repo, url, &["--json", "verify", name]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let r = v["snapshots"][0].clone();
    let list = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (o.status.code().unwrap(), list, r)
}

fn writable(p: &Path) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn blob_path(repo: &Path, snap: &Path, key: &str) -> PathBuf {
    let hex = objects(snap, "docs")[key].blob.to_hex();
    repo.join(".infrasnap/blobs").join(&hex[..2]).join(hex)
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_snapshot_is_sealed_and_verifies() {
    let (emu, _tmp, repo, snap) = one_snapshot().await;
    let seal = read_json(&snap.join("snapshot_seal.json"));
    let files: Vec<&str> = seal["files"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    for f in [
        "MANIFEST.md",
        "snapshot_metadata.json",
        "index/s3_buckets/docs.jsonl",
        "catalog/resources.jsonl",
        "catalog/coverage.jsonl",
    ] {
        assert!(files.contains(&f), "{f} not sealed: {files:?}");
    }
    assert_eq!(
        read_json(&snap.join("snapshot_metadata.json"))["seal"],
        "snapshot_seal.json"
    );
    let (code, p, r) = problems(&repo, &emu.url(), "s1");
    assert_eq!((code, p), (0, vec![]));
    assert_eq!(r["seal"], "sealed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_index_folder_is_damage_not_ok() {
    let (emu, _tmp, repo, snap) = one_snapshot().await;
    std::fs::remove_dir_all(snap.join("index")).unwrap();
    let (code, p, _) = problems(&repo, &emu.url(), "s1");
    assert_eq!(code, 4);
    // One problem per file gone; the tree files it listed are not called planted.
    assert!(p.iter().all(|(k, _)| k == "missing_sealed_file"), "{p:?}");
    assert!(p.contains(&(
        "missing_sealed_file".into(),
        "index/s3_buckets/docs.jsonl".into()
    )));
    let o = infrasnap(&repo, &emu.url(), &["verify", "s1"]);
    assert_code(&o, 4);
    assert!(stdout(&o).contains("DAMAGED"), "{}", stdout(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_cut_at_a_line_boundary_is_one_problem() {
    let (emu, _tmp, repo, snap) = one_snapshot().await;
    let idx = snap.join("index/s3_buckets/docs.jsonl");
    let text = std::fs::read_to_string(&idx).unwrap();
    let first_line = text.lines().next().unwrap();
    writable(&idx);
    std::fs::write(&idx, format!("{first_line}\n")).unwrap();
    let (code, p, _) = problems(&repo, &emu.url(), "s1");
    assert_eq!(code, 4);
    assert_eq!(
        p,
        pairs(&[("modified_sealed_file", "index/s3_buckets/docs.jsonl")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_hashes_are_found_and_never_reused_by_the_next_snapshot() {
    let (emu, _tmp, repo, snap) = one_snapshot().await;
    let idx = snap.join("index/s3_buckets/docs.jsonl");
    let o = objects(&snap, "docs");
    let (a, b) = (o["a.txt"].blob.to_hex(), o["b.txt"].blob.to_hex());
    let text = std::fs::read_to_string(&idx).unwrap();
    let swapped = text.replace(&a, "@A@").replace(&b, &a).replace("@A@", &b);
    writable(&idx);
    std::fs::write(&idx, swapped).unwrap();
    let (code, p, _) = problems(&repo, &emu.url(), "s1");
    assert_eq!(code, 4);
    assert_eq!(
        p,
        pairs(&[("modified_sealed_file", "index/s3_buckets/docs.jsonl")])
    );

    // The next snapshot checks the parent's index against its seal and downloads again.
    let meta = snapshot(&repo, &emu.url(), &["--label", "s2", "--only", "s3"]);
    let s2 = snapshot_dir(&repo, &meta);
    assert_eq!(
        std::fs::read(s2.join("s3_buckets/docs/a.txt")).unwrap(),
        b"alpha"
    );
    assert_eq!(
        std::fs::read(s2.join("s3_buckets/docs/b.txt")).unwrap(),
        b"bravo"
    );
    assert_eq!(s3_counts(&meta).1, 2, "both objects downloaded again");
    assert!(
        meta["notes"].to_string().contains("differ from its seal"),
        "{}",
        meta["notes"]
    );
    assert_code(&infrasnap(&repo, &emu.url(), &["verify", "s2"]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_or_a_truncated_blob_is_one_problem() {
    let (emu, _tmp, repo, snap) = one_snapshot().await;
    let blob = blob_path(&repo, &snap, "a.txt");
    writable(&blob);
    std::fs::write(&blob, b"alphb").unwrap();
    let (code, p, _) = problems(&repo, &emu.url(), "s1");
    assert_eq!(code, 4);
    assert_eq!(p, pairs(&[("corrupt_blob", "s3_buckets/docs/a.txt")]));
    std::fs::write(&blob, b"al").unwrap();
    let (code, p, _) = problems(&repo, &emu.url(), "s1");
    assert_eq!(code, 4);
    assert_eq!(p, pairs(&[("corrupt_blob", "s3_buckets/docs/a.txt")]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_blob_whose_tree_file_is_intact_can_be_relinked() {
    let (emu, _tmp, repo, snap) = one_snapshot().await;
    std::fs::remove_file(blob_path(&repo, &snap, "a.txt")).unwrap();
    let (code, p, r) = problems(&repo, &emu.url(), "s1");
    assert_eq!(code, 4);
    assert_eq!(p, pairs(&[("missing_blob", "s3_buckets/docs/a.txt")]));
    assert_eq!(r["problems"][0]["relink_from"], "s3_buckets/docs/a.txt");
    let o = infrasnap(&repo, &emu.url(), &["verify", "s1"]);
    assert!(stdout(&o).contains("re-linked"), "{}", stdout(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_metadata_appended_manifest_and_planted_files_are_each_one_problem() {
    let (emu, _tmp, repo, snap) = one_snapshot().await;
    let meta = snap.join("snapshot_metadata.json");
    writable(&meta);
    let text = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(&meta, text.replace("\"complete\"", "\"partial\"")).unwrap();
    let manifest = snap.join("MANIFEST.md");
    writable(&manifest);
    let mut m = std::fs::read_to_string(&manifest).unwrap();
    m.push_str("\nall good, trust me\n");
    std::fs::write(&manifest, m).unwrap();
    std::fs::write(snap.join("s3_buckets/docs/planted.sh"), b"#!/bin/sh\n").unwrap();
    std::fs::write(snap.join("index/extra.jsonl"), b"").unwrap();
    let (code, mut p, _) = problems(&repo, &emu.url(), "s1");
    p.sort();
    assert_eq!(code, 4);
    assert_eq!(
        p,
        pairs(&[
            ("modified_sealed_file", "MANIFEST.md"),
            ("modified_sealed_file", "snapshot_metadata.json"),
            ("planted_file", "index/extra.jsonl"),
            ("planted_file", "s3_buckets/docs/planted.sh"),
        ])
    );
    // `list` shows it as damaged (the metadata no longer matches the seal), with exit 4.
    let o = infrasnap(&repo, &emu.url(), &["list"]);
    assert_code(&o, 4);
    assert!(stdout(&o).contains("DAMAGED"), "{}", stdout(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_truncated_metadata_never_makes_a_snapshot_vanish() {
    let (emu, _tmp, repo, s1) = one_snapshot().await;
    let meta = snapshot(&repo, &emu.url(), &["--label", "s2", "--only", "s3"]);
    let s2 = snapshot_dir(&repo, &meta);
    std::fs::remove_file(s1.join("snapshot_metadata.json")).unwrap();
    let m2 = s2.join("snapshot_metadata.json");
    writable(&m2);
    let text = std::fs::read_to_string(&m2).unwrap();
    std::fs::write(&m2, &text[..text.len() / 2]).unwrap();

    let o = infrasnap(&repo, &emu.url(), &["list"]);
    assert_code(&o, 4);
    let out = stdout(&o);
    assert!(out.contains("s1") && out.contains("s2"), "{out}");
    assert_eq!(out.matches("DAMAGED").count(), 4, "{out}");
    let o = infrasnap(&repo, &emu.url(), &["--json", "list"]);
    assert_code(&o, 4);
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert!(rows
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "damaged"));

    let o = infrasnap(&repo, &emu.url(), &["--json", "verify", "--all"]);
    assert_code(&o, 4);
    let envelope: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let reports = &envelope["snapshots"];
    let names: Vec<&str> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["snapshot"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["s1", "s2"]);
    for r in reports.as_array().unwrap() {
        let p = r["problems"].as_array().unwrap();
        assert_eq!(p.len(), 1, "one damaged file, one problem: {r}");
        assert_eq!(p[0]["path"], "snapshot_metadata.json");
    }
    // A deleted seal is damage too, since the metadata names it.
    let o = infrasnap(&repo, &emu.url(), &["verify", "s1"]);
    assert_code(&o, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_without_a_name_says_it_checked_only_the_newest() {
    let (emu, _tmp, repo, s1) = one_snapshot().await;
    snapshot(&repo, &emu.url(), &["--label", "s2", "--only", "s3"]);
    let o = infrasnap(&repo, &emu.url(), &["verify"]);
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains("checked only the newest snapshot, `s2`"),
        "{}",
        stdout(&o)
    );
    // Damage of an older one found by the quick check is not passed over.
    std::fs::remove_file(s1.join("snapshot_seal.json")).unwrap();
    let o = infrasnap(&repo, &emu.url(), &["verify"]);
    assert_code(&o, 4);
    assert!(stdout(&o).contains("s1"), "{}", stdout(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_unsealed_snapshot_is_not_damaged_and_its_escaping_paths_are_refused() {
    let (emu, _tmp, repo, snap) = one_snapshot().await;
    // As a build before seals wrote it: no seal, no `seal` field.
    std::fs::remove_file(snap.join("snapshot_seal.json")).unwrap();
    let meta = snap.join("snapshot_metadata.json");
    writable(&meta);
    let mut m = read_json(&meta);
    m.as_object_mut().unwrap().remove("seal");
    std::fs::write(&meta, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let (code, p, r) = problems(&repo, &emu.url(), "s1");
    assert_eq!((code, p), (0, vec![]));
    assert_eq!(r["seal"], "unsealed");
    assert!(r["notes"].to_string().contains("unsealed (older)"));
    assert_code(&infrasnap(&repo, &emu.url(), &["list"]), 0);

    // An index line naming a path outside the snapshot is refused, never followed.
    let outside = repo.parent().unwrap().join("outside.txt");
    std::fs::write(&outside, b"alpha").unwrap();
    let idx = snap.join("index/s3_buckets/docs.jsonl");
    writable(&idx);
    let text = std::fs::read_to_string(&idx).unwrap();
    std::fs::write(
        &idx,
        text.replace("\"s3_buckets/docs/a.txt\"", "\"../../outside.txt\""),
    )
    .unwrap();
    let (code, p, _) = problems(&repo, &emu.url(), "s1");
    assert_eq!(code, 4);
    assert_eq!(p, pairs(&[("bad_path", "../../outside.txt")]));
}

/// Every file and folder below `dir` with a group or world permission bit.
fn not_private(dir: &Path) -> Vec<String> {
    let mut bad = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            if m.permissions().mode() & 0o077 != 0 {
                bad.push(format!(
                    "{} {:o}",
                    e.path().display(),
                    m.permissions().mode() & 0o777
                ));
            }
            if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    bad
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_umask_022_everything_in_the_repository_is_owner_only() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    create_bucket(&s3, "docs").await;
    put(&s3, "docs", ".env", b"DB_PASSWORD=hunter2hunter2\n").await;
    put(&s3, "docs", "big.bin", &bytes(7, 3 * 1024 * 1024)).await;
    let c = command(&repo, &emu.url(), &["snapshot", "--only", "s3"], &[]);
    let program = c.get_program().to_owned();
    let args: Vec<_> = c.get_args().map(|a| a.to_owned()).collect();
    let envs: Vec<_> = c
        .get_envs()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned())))
        .collect();
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 022; exec \"$0\" \"$@\"")
        .arg(program)
        .args(args)
        .env_clear()
        .envs(envs)
        .output()
        .unwrap();
    assert_code(&o, 0);
    let bad = not_private(&repo);
    assert!(bad.is_empty(), "readable by others:\n{}", bad.join("\n"));
    let root_mode = std::fs::metadata(&repo).unwrap().permissions().mode() & 0o777;
    assert_eq!(root_mode, 0o700);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_others_can_write_or_a_symlinked_lock_is_refused() {
    let (emu, _tmp, repo, _snap) = one_snapshot().await;
    std::fs::set_permissions(&repo, std::fs::Permissions::from_mode(0o770)).unwrap();
    let o = infrasnap(&repo, &emu.url(), &["list"]);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("chmod go-w"), "{}", stderr(&o));
    std::fs::set_permissions(&repo, std::fs::Permissions::from_mode(0o700)).unwrap();
    let meta = repo.join(".infrasnap");
    std::fs::set_permissions(&meta, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_code(&infrasnap(&repo, &emu.url(), &["list"]), 1);
    std::fs::set_permissions(&meta, std::fs::Permissions::from_mode(0o700)).unwrap();

    // A lock file replaced by a symbolic link to a file elsewhere is never opened through.
    let target = repo.parent().unwrap().join("victim.txt");
    std::fs::write(&target, b"precious").unwrap();
    std::fs::remove_file(meta.join("lock")).unwrap();
    std::os::unix::fs::symlink(&target, meta.join("lock")).unwrap();
    let o = infrasnap(&repo, &emu.url(), &["snapshot", "--only", "s3"]);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
}

// ---- Fingerprint key outside the repository ----

fn key_files(home: &Path) -> Vec<PathBuf> {
    let dir = home.join(".config/infrasnap/keys");
    std::fs::read_dir(&dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// The marker the bucket tag `db_password` became in snapshot `snap`.
fn tag_marker(snap: &Path) -> String {
    let text = std::fs::read_to_string(snap.join("s3_bucket_config/docs.json")).unwrap();
    assert!(!text.contains("Winter2024"), "{text}");
    let at = text.find("<redacted fp:").expect("a marker");
    text[at..at + 38].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fingerprint_key_lives_outside_the_repository_and_moves_by_export_and_import() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let repo = home.join("repo");
    create_bucket(&s3, "docs").await;
    s3.put_bucket_tagging()
        .bucket("docs")
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .tag_set(
                    aws_sdk_s3::types::Tag::builder()
                        .key("db_password")
                        .value("Winter2024")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let url = emu.url();
    let snap = |label: &str| {
        snapshot_dir(
            &repo,
            &snapshot(&repo, &url, &["--label", label, "--only", "s3"]),
        )
    };
    let s1 = snap("s1");
    let m1 = tag_marker(&s1);
    assert!(!repo.join(".infrasnap/keys").exists());
    let keys = key_files(home);
    assert_eq!(keys.len(), 1, "{keys:?}");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&keys[0]), 0o600);
    assert_eq!(mode(keys[0].parent().unwrap()), 0o700);
    let o = infrasnap(&repo, &url, &["key", "path"]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains(&keys[0].display().to_string()));

    // Export, then lose the key: the repository still lists and verifies.
    let exported = home.join("exported.key");
    assert_code(
        &infrasnap(
            &repo,
            &url,
            &["key", "export", "--out", exported.to_str().unwrap()],
        ),
        0,
    );
    assert_eq!(mode(&exported), 0o600);
    assert_eq!(
        std::fs::read_to_string(&exported).unwrap().trim(),
        std::fs::read_to_string(&keys[0]).unwrap().trim()
    );
    std::fs::remove_file(&keys[0]).unwrap();
    assert_code(&infrasnap(&repo, &url, &["list"]), 0);
    assert_code(&infrasnap(&repo, &url, &["verify", "--all"]), 0);
    let o = infrasnap(&repo, &url, &["key", "export"]);
    assert_code(&o, 1);
    // A snapshot without the key says its fingerprints cannot be compared.
    let meta = snapshot(&repo, &url, &["--label", "s2", "--only", "s3"]);
    assert!(
        meta["notes"]
            .to_string()
            .contains("fingerprint key was not found"),
        "{}",
        meta["notes"]
    );
    assert_ne!(tag_marker(&snapshot_dir(&repo, &meta)), m1);

    // Import the exported key (replacing the new one deliberately): markers match again.
    let o = infrasnap(&repo, &url, &["key", "import", exported.to_str().unwrap()]);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_code(
        &infrasnap(
            &repo,
            &url,
            &["key", "import", "--force", exported.to_str().unwrap()],
        ),
        0,
    );
    assert_eq!(tag_marker(&snap("s3")), m1);

    // A key an earlier build kept inside the repository is moved out on first use.
    let hex = std::fs::read_to_string(&exported).unwrap();
    for k in key_files(home) {
        std::fs::remove_file(k).unwrap();
    }
    let legacy = repo.join(".infrasnap/keys");
    std::fs::create_dir_all(&legacy).unwrap();
    std::fs::write(legacy.join("fingerprint.key"), &hex).unwrap();
    assert_eq!(tag_marker(&snap("s4")), m1);
    assert!(!legacy.join("fingerprint.key").exists());
    let keys = key_files(home);
    assert_eq!(keys.len(), 1);
    assert_eq!(std::fs::read_to_string(&keys[0]).unwrap(), hex);
}

// ---- Redaction gaps ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_settings_object_metadata_and_tags_are_redacted_but_keys_and_content_stay_exact() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let gitlab = format!("glpat-{}", alnum(20));
    let npm = format!("npm_{}", alnum(36));
    let referer = format!("ref-{}", alnum(16));
    let (gitlab, npm, referer) = (gitlab.as_str(), npm.as_str(), referer.as_str());
    create_bucket(&s3, "docs").await;
    s3.put_bucket_tagging()
        .bucket("docs")
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .tag_set(
                    aws_sdk_s3::types::Tag::builder()
                        .key("deploy")
                        .value(gitlab)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "referer", "Effect": "Allow", "Principal": "*",
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::docs/*",
            "Condition": {"StringLike": {"aws:Referer": [format!("https://x.example/{referer}*")]}}
        }]
    });
    s3.put_bucket_policy()
        .bucket("docs")
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    let body = format!("token in content stays: {gitlab}\n");
    s3.put_object()
        .bucket("docs")
        .key("notes.txt")
        .body(aws_sdk_s3::primitives::ByteStream::from(
            body.clone().into_bytes(),
        ))
        .metadata("password", "hunter2hunter2")
        .metadata("owner", "web-team")
        .tagging(format!("publish={npm}&team=web"))
        .send()
        .await
        .unwrap();
    let meta = snapshot(&repo, &emu.url(), &["--only", "s3"]);
    let snap = snapshot_dir(&repo, &meta);
    assert_eq!(
        std::fs::read_to_string(snap.join("s3_buckets/docs/notes.txt")).unwrap(),
        body
    );
    let config = std::fs::read_to_string(snap.join("s3_bucket_config/docs.json")).unwrap();
    for secret in [gitlab, referer] {
        assert!(
            !config.contains(secret),
            "{secret} in bucket config:\n{config}"
        );
    }
    let rec = &objects(&snap, "docs")["notes.txt"];
    assert_eq!(rec.metadata["owner"], "web-team");
    assert!(
        rec.metadata["password"].starts_with("<redacted fp:"),
        "{rec:?}"
    );
    assert!(rec.tags["publish"].starts_with("<redacted fp:"), "{rec:?}");
    assert_eq!(rec.tags["team"], "web");
    let index = std::fs::read_to_string(snap.join("index/s3_buckets/docs.jsonl")).unwrap();
    assert!(
        !index.contains("hunter2hunter2") && !index.contains(npm),
        "{index}"
    );
    assert_code(&infrasnap(&repo, &emu.url(), &["verify"]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_table_tags_and_route53_files_are_redacted() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, Tag,
    };
    let emu = Emulator::start().await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let conf = sdk_conf(&emu.url(), "us-east-1").await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    ddb.create_table()
        .table_name("orders")
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
        .tags(
            Tag::builder()
                .key("DB_PASSWORD")
                .value("Winter2024!x")
                .build()
                .unwrap(),
        )
        .tags(Tag::builder().key("team").value("shop").build().unwrap())
        .send()
        .await
        .unwrap();
    let openai = format!("sk-proj-{}", alnum(32));
    let openai = openai.as_str();
    let r53 = aws_sdk_route53::Client::new(&conf);
    let zone = r53
        .create_hosted_zone()
        .name("example.com")
        .caller_reference("integrity-zone")
        .send()
        .await
        .unwrap();
    let zone_id = zone
        .hosted_zone()
        .unwrap()
        .id()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    use aws_sdk_route53::types::{
        Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Upsert)
                        .resource_record_set(
                            ResourceRecordSet::builder()
                                .name("cfg.example.com")
                                .r#type(RrType::Txt)
                                .ttl(300)
                                .resource_records(
                                    ResourceRecord::builder()
                                        .value(format!("\"key={openai}\""))
                                        .build()
                                        .unwrap(),
                                )
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let meta = snapshot(
        &repo,
        &emu.url(),
        &["--only", "dynamodb,route53", "--regions", "us-east-1"],
    );
    let snap = snapshot_dir(&repo, &meta);
    let mut leaked = Vec::new();
    for f in walk_files(&snap) {
        let bytes = std::fs::read(&f).unwrap();
        if contains(&bytes, b"Winter2024!x") || contains(&bytes, openai.as_bytes()) {
            leaked.push(f.display().to_string());
        }
    }
    for f in walk_files(&repo.join(".infrasnap/blobs")) {
        let bytes = std::fs::read(&f).unwrap();
        if contains(&bytes, b"Winter2024!x") || contains(&bytes, openai.as_bytes()) {
            leaked.push(f.display().to_string());
        }
    }
    assert!(leaked.is_empty(), "plain secrets in: {leaked:?}");
    let table = walk_files(&snap)
        .into_iter()
        .find(|p| p.ends_with("table.json"))
        .unwrap();
    let t = std::fs::read_to_string(table).unwrap();
    assert!(t.contains("\"shop\""), "{t}");
}

// ---- Hostile config and demo ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_implicit_config_is_refused_and_the_one_in_use_is_named() {
    let emu = Emulator::start().await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let work = tmp.path().join("shared-folder");
    std::fs::create_dir_all(&work).unwrap();
    let cfg = work.join("infrasnap.toml");
    std::fs::write(
        &cfg,
        "[[local]]\nname = \"ssh\"\npath = \"~/.ssh\"\nkind = \"folder\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o666)).unwrap();
    let run = |args: &[&str]| {
        command(&repo, &emu.url(), args, &[])
            .current_dir(&work)
            .output()
            .unwrap()
    };
    let o = run(&["snapshot", "--only", "s3"]);
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains("writable by the group or by everyone"),
        "{}",
        stderr(&o)
    );
    assert!(!repo.exists(), "nothing written");

    // The user's own, private config is used, and named.
    std::fs::write(&cfg, "[aws]\nonly = [\"s3\"]\n").unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = run(&["snapshot"]);
    assert_code(&o, 0);
    assert!(
        stderr(&o).contains("using configuration infrasnap.toml"),
        "{}",
        stderr(&o)
    );

    // A credential-bearing endpoint must be https, loopback excepted.
    std::fs::write(
        &cfg,
        "[gas]\ntoken_endpoint = \"http://tokens.example.net/token\"\n",
    )
    .unwrap();
    let o = run(&["snapshot"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("https://"), "{}", stderr(&o));
}

#[test]
fn demo_never_runs_a_program_from_the_current_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let planted = work.join(".venv-moto/bin");
    std::fs::create_dir_all(&planted).unwrap();
    let marker = work.join("planted-ran");
    for dir in [planted.clone(), work.to_path_buf()] {
        let p = dir.join("moto_server");
        std::fs::write(&p, format!("#!/bin/sh\ntouch '{}'\n", marker.display())).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let o = bin()
        .env_clear()
        .env(
            "PATH",
            format!(".:{}", std::env::var("PATH").unwrap_or_default()),
        )
        .env("HOME", work)
        .current_dir(work)
        .args(["--repo", "demo-repo", "demo"])
        .output()
        .unwrap();
    assert!(
        !marker.exists(),
        "a program from the current folder ran: {}",
        stderr(&o)
    );
}

// ---- repair ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_relinks_from_intact_bytes_and_names_what_it_cannot_repair() {
    let (emu, _tmp, repo, snap) = one_snapshot().await;
    let url = emu.url();
    // A deleted blob whose tree file still holds its bytes, and a replaced tree file.
    std::fs::remove_file(blob_path(&repo, &snap, "a.txt")).unwrap();
    let b = snap.join("s3_buckets/docs/b.txt");
    std::fs::remove_file(&b).unwrap();
    std::fs::write(&b, b"edited").unwrap();
    assert_code(&infrasnap(&repo, &url, &["verify", "s1"]), 4);
    let o = infrasnap(&repo, &url, &["repair"]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains("written again"), "{}", stdout(&o));
    assert!(blob_path(&repo, &snap, "a.txt").exists());
    assert_eq!(std::fs::read(&b).unwrap(), b"bravo");
    assert_code(&infrasnap(&repo, &url, &["verify", "s1"]), 0);

    // a.txt's blob was written again as a copy of its tree file, so that tree file stays an
    // intact copy. b.txt's tree file was linked again: one inode with its blob. Damaged in place,
    // it has no intact copy in the repository, and is named as such (`--offline`: the live
    // bucket, which could serve it, is not asked; see hardening.rs for that).
    let blob = blob_path(&repo, &snap, "b.txt");
    writable(&blob);
    std::fs::write(&blob, b"bravX").unwrap();
    let o = infrasnap(&repo, &url, &["repair", "--offline"]);
    assert_code(&o, 4);
    assert!(
        stdout(&o).contains("NOT repaired: CorruptBlob"),
        "{}",
        stdout(&o)
    );
}
