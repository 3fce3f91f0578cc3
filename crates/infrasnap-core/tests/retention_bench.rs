//! The forget + prune benchmark (bench/retention/run drives it; ignored in normal runs).
//!
//! `generate`: a repository of `INFRASNAP_BENCH_SNAPSHOTS` daily snapshots (default 100) of one
//! bucket of `INFRASNAP_BENCH_OBJECTS` 4 KiB objects (default 20,000), 1% of them rewritten
//! between snapshots, laid out as a snapshot run lays it out (hard links to blobs, one index
//! line per object, snapshot_metadata.json); a different pseudo-random 1% each round. With `INFRASNAP_BENCH_RESTIC_REPO` set, the same
//! files are also written to a folder and backed up with `restic backup --time` after each round,
//! so that restic forgets and prunes the same data.
//!
//! `forget_prune`: what `infrasnap forget --keep-daily 7 --keep-weekly 4 --keep-monthly 3 --prune`
//! does (the library calls), with its time and the process's peak memory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use infrasnap_core::ids::BlobId;
use infrasnap_core::index::IndexWriter;
use infrasnap_core::repo::Repository;
use infrasnap_core::retention::{self, Candidate, Count, Policy};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn content(i: u64, version: u64) -> Vec<u8> {
    let mut x = (i * 1_000_003 + version * 7_919 + 1) | 1;
    (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

fn bench_repo() -> PathBuf {
    PathBuf::from(std::env::var("INFRASNAP_BENCH_REPO").expect("INFRASNAP_BENCH_REPO"))
}

#[test]
#[ignore = "benchmark: bench/retention/run"]
fn generate() {
    let root = bench_repo();
    let objects = env("INFRASNAP_BENCH_OBJECTS", 20_000);
    let snapshots = env("INFRASNAP_BENCH_SNAPSHOTS", 100);
    let restic = std::env::var("INFRASNAP_BENCH_RESTIC_REPO").ok();
    let live = root.with_extension("live");
    let repo = Repository::open_or_init(&root).unwrap();
    let store = repo.store();
    let mut version = vec![0u64; objects as usize];
    let mut blobs: Vec<Option<BlobId>> = vec![None; objects as usize];
    let churn = (objects / 100).max(1);
    let base = chrono::DateTime::parse_from_rfc3339("2026-01-01T03:00:00Z").unwrap();
    let t0 = Instant::now();
    for r in 0..snapshots {
        let mut changed: Vec<u64> = Vec::new();
        if r == 0 {
            changed.extend(0..objects);
        } else {
            // A different pseudo-random 1% each round: some objects change several times, so
            // the versions only forgotten snapshots hold become garbage.
            let mut x = r.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            for _ in 0..churn {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let i = x % objects;
                if changed.contains(&i) {
                    continue;
                }
                version[i as usize] += 1;
                blobs[i as usize] = None;
                changed.push(i);
            }
        }
        let name = format!("s{r:03}");
        let dir = root.join(&name);
        let objdir = dir.join("s3_buckets/data/o");
        std::fs::create_dir_all(&objdir).unwrap();
        let mut idx = IndexWriter::create(&dir.join("index/s3_buckets/data.jsonl")).unwrap();
        for i in 0..objects {
            let id = match blobs[i as usize] {
                Some(id) => id,
                None => {
                    let id = store
                        .put_bytes(&content(i, version[i as usize]))
                        .unwrap()
                        .id;
                    blobs[i as usize] = Some(id);
                    id
                }
            };
            let rel = format!("s3_buckets/data/o/{i:06}");
            store.link_to(&id, &dir.join(&rel)).unwrap();
            idx.append(&serde_json::json!({
                "key": format!("o/{i:06}"), "path": rel, "blob": id, "size": 4096,
            }))
            .unwrap();
        }
        idx.finish().unwrap();
        let started = base + chrono::Duration::days(r as i64);
        let meta = serde_json::json!({
            "tool": "infrasnap", "tool_version": "bench", "format_version": 2, "name": name,
            "started_at": started, "finished_at": started, "duration_seconds": 1.0,
            "status": "complete", "regions": [],
            "totals": {"objects": objects, "bytes": objects * 4096, "bytes_new": 0,
                       "blobs_new": 0, "errors": 0},
            "collectors": {}, "errors": []
        });
        std::fs::write(
            dir.join("snapshot_metadata.json"),
            serde_json::to_vec_pretty(&meta).unwrap(),
        )
        .unwrap();
        if let Some(rr) = &restic {
            let od = live.join("o");
            std::fs::create_dir_all(&od).unwrap();
            for &i in &changed {
                std::fs::write(od.join(format!("{i:06}")), content(i, version[i as usize]))
                    .unwrap();
            }
            let st = std::process::Command::new("restic")
                .args(["-r", rr, "backup", "--quiet", "--time"])
                .arg(started.format("%Y-%m-%d %H:%M:%S").to_string())
                .arg(".")
                .current_dir(&live)
                .status()
                .unwrap();
            assert!(st.success());
        }
    }
    eprintln!(
        "generated {snapshots} snapshots of {objects} objects in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn usage(p: &Path) -> u64 {
    let mut total = 0;
    for fan in std::fs::read_dir(p).unwrap().flatten() {
        for f in std::fs::read_dir(fan.path()).unwrap().flatten() {
            total += f.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
    total
}

#[test]
#[ignore = "benchmark: bench/retention/run"]
fn forget_prune() {
    let root = bench_repo();
    let repo = Repository::open(&root).unwrap();
    let before = usage(&root.join(".infrasnap/blobs"));
    let t0 = Instant::now();
    let lock = repo.lock(None).unwrap();
    let snaps: Vec<Candidate> = repo
        .snapshots()
        .unwrap()
        .into_iter()
        .map(|m| Candidate {
            time: m.started_at.fixed_offset(),
            name: m.name,
            status: m.status,
            label: m.label,
            in_use: None,
        })
        .collect();
    let policy = Policy {
        keep_daily: Some(Count::N(7)),
        keep_weekly: Some(Count::N(4)),
        keep_monthly: Some(Count::N(3)),
        ..Policy::default()
    };
    let plan = retention::plan(&snaps, &policy, chrono::Utc::now()).unwrap();
    let t_plan = t0.elapsed();
    let out = infrasnap_core::prune::forget(&repo, &lock, &plan).unwrap();
    let t_forget = t0.elapsed();
    let report = infrasnap_core::prune::prune(&repo, &lock, false, |_| {}).unwrap();
    let t_all = t0.elapsed();
    let after = usage(&root.join(".infrasnap/blobs"));
    eprintln!(
        "infrasnap forget+prune: {} snapshots, kept {}, forgot {}; plan {:.3} s, forget {:.2} s, \
         prune {:.2} s, total {:.2} s; removed {} blobs, freed {} bytes (store {} -> {}); peak RSS {} KiB",
        snaps.len(),
        plan.kept().count(),
        out.len(),
        t_plan.as_secs_f64(),
        (t_forget - t_plan).as_secs_f64(),
        (t_all - t_forget).as_secs_f64(),
        t_all.as_secs_f64(),
        report.blobs_removed,
        report.bytes_freed,
        before,
        after,
        peak_rss_kib()
    );
}
