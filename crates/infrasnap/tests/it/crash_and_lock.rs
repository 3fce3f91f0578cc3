//! A killed run never damages the repository and the next run resumes; two runs on one repository
//! do not corrupt it.

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use common::*;

async fn seed(s3: &aws_sdk_s3::Client) {
    create_bucket(s3, "bulk").await;
    for i in 0..300u64 {
        put(
            s3,
            "bulk",
            &format!("f/{i:04}.bin"),
            &bytes(i, 2000 + (i as usize % 50) * 100),
        )
        .await;
    }
    put(s3, "bulk", "large-1.bin", &bytes(1000, 17 * 1024 * 1024)).await;
}

fn listed(repo: &std::path::Path, url: &str) -> Vec<String> {
    let o = infrasnap(repo, url, &["--json", "list"]);
    assert_code(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// Distinct keys recorded (whole lines) in the indexes of killed runs.
fn staged_index_lines(repo: &std::path::Path) -> usize {
    let mut keys = std::collections::BTreeSet::new();
    for p in walk_files(&repo.join(".infrasnap/tmp")) {
        if !p.to_string_lossy().contains("/index/s3_buckets/") {
            continue;
        }
        for l in std::fs::read_to_string(p).unwrap_or_default().lines() {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(l) {
                keys.insert(v["key"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    keys.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_any_point_leaves_the_repository_consistent_and_the_next_run_resumes() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    seed(&s3).await;
    create_bucket(&s3, "tiny").await;
    put(&s3, "tiny", "one.txt", b"1").await;
    snapshot(&repo, &emu.url(), &["--label", "base", "--bucket", "tiny"]);

    for (round, ms) in [50u64, 300, 700, 0].into_iter().enumerate() {
        let mut child = command(
            &repo,
            &emu.url(),
            &[
                "-q",
                "snapshot",
                "--label",
                &format!("killed-{round}"),
                "--jobs",
                // The last run transfers one object at a time, so that it is still running when
                // its first index lines appear, however fast the machine.
                if round == 3 { "1" } else { "4" },
                // S3 alone: the other services' calls would only delay the first downloads
                // past the kill on a busy machine.
                "--only",
                "s3",
            ],
            &[],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        tokio::time::sleep(Duration::from_millis(ms)).await;
        if round == 3 {
            // The last kill comes as soon as the run has recorded something (up to 60 s on a
            // busy machine), so that resuming is always exercised, whatever the machine's speed.
            let until = std::time::Instant::now() + Duration::from_secs(60);
            while staged_index_lines(&repo) == 0
                && std::time::Instant::now() < until
                && child.try_wait().unwrap().is_none()
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        eprintln!("round {round}: killed after {ms} ms, exited {status:?}");
        // Published snapshots are untouched; a killed run published nothing (or everything).
        let names = listed(&repo, &emu.url());
        assert!(names.contains(&"base".to_string()));
        if !status.success() {
            assert!(
                !names.contains(&format!("killed-{round}")),
                "round {round}: {names:?}"
            );
        }
        assert_code(&infrasnap(&repo, &emu.url(), &["verify", "--all"]), 0);
    }

    // The next run completes, reusing what the killed runs stored.
    let reusable = staged_index_lines(&repo);
    eprintln!("index lines left by killed runs: {reusable}");
    assert!(
        reusable > 0,
        "the killed runs should have left reusable index lines"
    );
    let meta = snapshot(&repo, &emu.url(), &["--label", "after", "--only", "s3"]);
    assert_eq!(meta["status"], "complete");
    let (objects, downloaded, _) = s3_counts(&meta);
    eprintln!("after the kills: {objects} objects, {downloaded} downloaded");
    assert_eq!(objects, 302);
    assert!(
        downloaded as usize <= 302 - reusable.min(302),
        "downloaded {downloaded}, but {reusable} were already stored by killed runs"
    );
    let snap = snapshot_dir(&repo, &meta);
    let idx = objects_of(&snap);
    for i in [0u64, 150, 299] {
        let r = &idx[&format!("f/{i:04}.bin")];
        assert_eq!(
            std::fs::read(snap.join(&r.path)).unwrap(),
            bytes(i, 2000 + (i as usize % 50) * 100)
        );
    }
    assert_code(&infrasnap(&repo, &emu.url(), &["verify", "--all"]), 0);
    // Staging folders of killed runs are cleaned up once a run publishes.
    let left: Vec<_> = std::fs::read_dir(repo.join(".infrasnap/tmp"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("staging-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

fn objects_of(
    snap: &std::path::Path,
) -> std::collections::BTreeMap<String, infrasnap_core::model::s3::S3ObjectRecord> {
    objects(snap, "bulk")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_on_one_repository_do_not_corrupt_it() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    seed(&s3).await;

    // Without --wait-lock: the second fails with a message naming the holder, or both succeed
    // one after the other; never a corrupt repository.
    let spawn = |label: &str, wait: bool| {
        let mut args = vec!["snapshot", "--label", label];
        if wait {
            args.push("--wait-lock");
        }
        command(&repo, &emu.url(), &args, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = spawn("a", false);
    let b = spawn("b", false);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let codes = [a.status.code(), b.status.code()];
    assert!(codes.contains(&Some(0)), "{codes:?}");
    for o in [&a, &b] {
        if o.status.code() != Some(0) {
            assert_code(o, 1);
            assert!(
                stderr(o).contains("is locked by infrasnap pid"),
                "{}",
                stderr(o)
            );
            assert!(stderr(o).contains("--wait-lock"), "{}", stderr(o));
        }
    }

    // With --wait-lock both complete, one after the other.
    let c = spawn("c", true);
    let d = spawn("d", true);
    assert_code(&c.wait_with_output().unwrap(), 0);
    assert_code(&d.wait_with_output().unwrap(), 0);
    let names = listed(&repo, &emu.url());
    assert!(names.contains(&"c".to_string()) && names.contains(&"d".to_string()));
    assert_code(&infrasnap(&repo, &emu.url(), &["verify", "--all"]), 0);
}
