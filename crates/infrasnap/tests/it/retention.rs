//! Issue 13, weekly automation: forget by a policy, prune (racing a snapshot, killed midway),
//! check --max-age, and the scheduled units, whose command is read out of the generated unit and
//! run exactly as written, with no TTY, against moto.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

const N: u64 = 120;

/// One bucket of `N` objects whose content depends on `round`.
async fn fill(s3: &aws_sdk_s3::Client, round: u64) {
    for i in 0..N {
        put(
            s3,
            "data",
            &format!("o/{i:04}"),
            &bytes(round * 10_000 + i, 4096),
        )
        .await;
    }
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {} stderr {}", stdout(o), stderr(o)))
}

fn names(repo: &Path, url: &str) -> Vec<String> {
    let o = infrasnap(repo, url, &["--json", "list"]);
    assert_code(&o, 0);
    json(&o)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// Bytes of blobs in the store (what prune frees), and their count.
fn store_usage(repo: &Path) -> (u64, usize) {
    let files = walk_files(&repo.join(".infrasnap/blobs"));
    (
        files
            .iter()
            .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
            .sum(),
        files.len(),
    )
}

/// Plant `n` small unreferenced blobs straight into the store, so that a prune has real work
/// that takes seconds (unlinking each one), long enough to race a snapshot against it or kill it
/// midway: the product has no test-only pause.
fn plant_garbage(repo: &Path, n: u64) {
    let blobs = repo.join(".infrasnap/blobs");
    for i in 0..n {
        let hex = format!(
            "{:032x}{:032x}",
            0xfeed_0000_0000_u64 + i,
            i.wrapping_mul(0x9e37_79b9)
        );
        let fan = blobs.join(&hex[..2]);
        std::fs::create_dir_all(&fan).unwrap();
        std::fs::write(fan.join(&hex), b"g").unwrap();
    }
}

/// How many planted blobs make a prune last a few seconds here.
const PLANTED: u64 = 40_000;

fn snap(repo: &Path, url: &str, label: &str) -> serde_json::Value {
    snapshot(repo, url, &["--label", label, "--only", "s3"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_keeps_by_policy_with_reasons_and_prune_frees_the_space() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let url = emu.url();
    create_bucket(&s3, "data").await;
    for (round, label) in ["v1.0", "nightly-1", "nightly-2", "nightly-3"]
        .iter()
        .enumerate()
    {
        fill(&s3, round as u64).await;
        snap(&repo, &url, label);
    }
    // A dry run prints the table and removes nothing.
    let o = infrasnap(
        &repo,
        &url,
        &[
            "forget",
            "--keep-last",
            "2",
            "--keep-label",
            "v*",
            "--dry-run",
        ],
    );
    assert_code(&o, 0);
    let table = stdout(&o);
    assert!(
        table.contains("Applying policy: keep 2 latest snapshots, all snapshots labelled 'v*'"),
        "{table}"
    );
    assert!(table.contains("label matches 'v*'"), "{table}");
    assert!(
        table.contains("last snapshot, newest complete snapshot"),
        "{table}"
    );
    assert!(table.contains("forget  nightly-1"), "{table}");
    assert!(table.contains("dry run"), "{table}");
    assert_eq!(names(&repo, &url).len(), 4);

    // Bad input: a clear error, exit 2 (1 for a policy that keeps nothing), nothing removed.
    for (args, code, needle) in [
        (
            vec!["forget", "--keep-daily", "-1"],
            2,
            "cannot be negative",
        ),
        (
            vec!["forget", "--keep-within", "30x"],
            2,
            "bad duration `30x`",
        ),
        (vec!["forget"], 2, "no retention rules given"),
        (
            vec!["forget", "--keep-label", "release-*"],
            1,
            "keeps none of the 4 snapshots",
        ),
    ] {
        let o = infrasnap(&repo, &url, &args);
        assert_code(&o, code);
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("nothing was removed") || code == 2,
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(names(&repo, &url).len(), 4);

    // forget, then prune: space comes back, and every kept snapshot verifies.
    let (bytes_before, blobs_before) = store_usage(&repo);
    let o = infrasnap(
        &repo,
        &url,
        &["--json", "forget", "--keep-last", "2", "--keep-label", "v*"],
    );
    assert_code(&o, 0);
    let v = json(&o);
    let removed: Vec<&str> = v["forgotten"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["removed"] == true)
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(removed, ["nightly-1"]);
    let kept: Vec<(String, Vec<String>)> = v["plan"]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["action"] == "keep")
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["reasons"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(kept.len(), 3);
    assert!(kept.iter().all(|(_, r)| !r.is_empty()), "{kept:?}");
    assert_eq!(names(&repo, &url), ["v1.0", "nightly-2", "nightly-3"]);
    // Forgetting frees nothing yet: the blobs are still in the store.
    assert_eq!(store_usage(&repo).1, blobs_before);

    let o = infrasnap(&repo, &url, &["--json", "prune", "--dry-run"]);
    assert_code(&o, 0);
    let dry = json(&o);
    assert_eq!(
        store_usage(&repo).1,
        blobs_before,
        "a dry run removes nothing"
    );
    let o = infrasnap(&repo, &url, &["--json", "prune"]);
    assert_code(&o, 0);
    let r = json(&o);
    assert_eq!(r["blobs_removed"], dry["blobs_removed"]);
    // nightly-1's objects, referenced by no other snapshot (plus its own small documents).
    let removed = r["blobs_removed"].as_u64().unwrap();
    let freed = r["bytes_freed"].as_u64().unwrap();
    assert!((N..N + 10).contains(&removed), "{r}");
    assert!(freed >= N * 4096, "{r}");
    let (bytes_after, blobs_after) = store_usage(&repo);
    assert_eq!(blobs_before - blobs_after, removed as usize);
    assert_eq!(
        bytes_before - bytes_after,
        freed,
        "the space is really gone from the store"
    );
    assert_code(&infrasnap(&repo, &url, &["verify", "--all"]), 0);
    let again = json(&infrasnap(&repo, &url, &["--json", "prune"]));
    assert_eq!(again["blobs_removed"], 0);

    // The policy can live in [retention] of the config.
    let cfg = tmp.path().join("infrasnap.toml");
    std::fs::write(&cfg, "[retention]\nkeep_last = 1\n").unwrap();
    let o = infrasnap(
        &repo,
        &url,
        &["forget", "--prune", "--config", cfg.to_str().unwrap()],
    );
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains("keep 1 latest snapshots"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("Removed"), "{}", stdout(&o));
    assert_eq!(names(&repo, &url), ["nightly-3"]);
    assert_code(&infrasnap(&repo, &url, &["verify", "--all"]), 0);
}

/// The state both prune tests start from: `old` forgotten, its N blobs unreferenced; the
/// bucket holds `old`'s content again, so the next snapshot needs exactly the blobs a prune
/// removes.
async fn garbage_that_the_next_snapshot_needs(repo: &Path, url: &str, s3: &aws_sdk_s3::Client) {
    create_bucket(s3, "data").await;
    fill(s3, 0).await;
    snap(repo, url, "old");
    fill(s3, 1).await;
    snap(repo, url, "current");
    assert_code(&infrasnap(repo, url, &["forget", "--keep-last", "1"]), 0);
    fill(s3, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_racing_a_snapshot_never_loses_a_blob_the_snapshot_links() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let url = emu.url();
    garbage_that_the_next_snapshot_needs(&repo, &url, &s3).await;
    plant_garbage(&repo, PLANTED);

    let garbage = json(&infrasnap(&repo, &url, &["--json", "prune", "--dry-run"]))["blobs_removed"]
        .as_u64()
        .unwrap();
    assert!(garbage >= N, "{garbage}");
    let (_, before) = store_usage(&repo);
    // A prune that takes seconds (many blobs to unlink), and a snapshot started meanwhile.
    let prune = command(&repo, &url, &["--json", "prune"], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    while store_usage(&repo).1 > before - 3 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Without --wait-lock the snapshot stops before writing anything.
    let o = infrasnap(
        &repo,
        &url,
        &["snapshot", "--label", "impatient", "--only", "s3"],
    );
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains("is locked by infrasnap pid"),
        "{}",
        stderr(&o)
    );
    // With it, it waits for the prune, then stores again what the prune removed.
    let during = command(
        &repo,
        &url,
        &[
            "--json",
            "snapshot",
            "--label",
            "during",
            "--only",
            "s3",
            "--wait-lock",
            "600",
        ],
        &[],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let p = prune.wait_with_output().unwrap();
    assert_code(&p, 0);
    assert_eq!(json(&p)["blobs_removed"], garbage);
    let d = during.wait_with_output().unwrap();
    assert_code(&d, 0);
    let meta = json(&d)["metadata"].clone();
    assert_eq!(s3_counts(&meta).0, N);
    let dir = snapshot_dir(&repo, &meta);
    for (key, rec) in objects(&dir, "data") {
        assert!(
            repo.join(".infrasnap/blobs")
                .join(&rec.blob.to_hex()[..2])
                .join(rec.blob.to_hex())
                .is_file(),
            "{key}: blob gone"
        );
    }
    assert_code(&infrasnap(&repo, &url, &["verify", "--all"]), 0);

    // The other order: a prune started while a snapshot runs waits for it, and removes nothing
    // the new snapshot references.
    fill(&s3, 2).await;
    let snapshot_run = command(
        &repo,
        &url,
        &[
            "-q", "snapshot", "--label", "racing", "--only", "s3", "--jobs", "1",
        ],
        &[],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    let staging = || {
        std::fs::read_dir(repo.join(".infrasnap/tmp"))
            .map(|rd| {
                rd.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("staging-"))
            })
            .unwrap_or(false)
    };
    while !staging() && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let p = infrasnap(&repo, &url, &["--json", "prune", "--wait-lock", "600"]);
    assert_code(&p, 0);
    assert_code(&snapshot_run.wait_with_output().unwrap(), 0);
    assert_code(&infrasnap(&repo, &url, &["verify", "--all"]), 0);
    assert_eq!(
        names(&repo, &url),
        ["current", "during", "racing"],
        "the impatient run published nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prune_killed_midway_leaves_a_valid_repository() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let url = emu.url();
    garbage_that_the_next_snapshot_needs(&repo, &url, &s3).await;
    plant_garbage(&repo, PLANTED);
    let garbage = json(&infrasnap(&repo, &url, &["--json", "prune", "--dry-run"]))["blobs_removed"]
        .as_u64()
        .unwrap() as usize;
    let (_, before) = store_usage(&repo);
    let mut child = command(&repo, &url, &["prune"], &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    while store_usage(&repo).1 > before - 10 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (_, mid) = store_usage(&repo);
    assert!(
        mid < before && mid > before - garbage,
        "killed midway: {before} -> {mid}"
    );
    assert_code(&infrasnap(&repo, &url, &["verify", "--all"]), 0);
    // The next prune finishes the job; the next snapshot stores what it needs again.
    let r = json(&infrasnap(&repo, &url, &["--json", "prune"]));
    assert_eq!(
        r["blobs_removed"].as_u64().unwrap() as usize,
        mid - (before - garbage)
    );
    snap(&repo, &url, "after");
    assert_code(&infrasnap(&repo, &url, &["verify", "--all"]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_max_age_exits_6_when_the_newest_complete_snapshot_is_too_old() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let url = emu.url();
    create_bucket(&s3, "data").await;
    put(&s3, "data", "a", b"a").await;
    let meta = snap(&repo, &url, "fresh");
    let o = infrasnap(&repo, &url, &["check", "--max-age", "8d"]);
    assert_code(&o, 0);
    assert!(
        stdout(&o).starts_with("OK: the newest complete snapshot, `fresh`"),
        "{}",
        stdout(&o)
    );
    // Make it nine days old.
    let p = snapshot_dir(&repo, &meta).join("snapshot_metadata.json");
    let mut m = read_json(&p);
    let old = (chrono::Utc::now() - chrono::Duration::days(9)).to_rfc3339();
    m["started_at"] = serde_json::Value::String(old);
    let mut perm = std::fs::metadata(&p).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(&p, perm).unwrap();
    std::fs::write(&p, serde_json::to_vec(&m).unwrap()).unwrap();
    let o = infrasnap(&repo, &url, &["check", "--max-age", "8d"]);
    assert_code(&o, 6);
    assert!(
        stdout(&o).contains("TOO OLD") && stdout(&o).contains("9d"),
        "{}",
        stdout(&o)
    );
    let o = infrasnap(&repo, &url, &["--json", "check", "--max-age", "10d"]);
    assert_code(&o, 0);
    assert_eq!(json(&o)["newest_complete"], "fresh");
    let o = infrasnap(&repo, &url, &["check", "--max-age", "8 days"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("bad duration"), "{}", stderr(&o));
}

// ---- schedule: units checked by tools, their command run as written ----

/// Split systemd's `ExecStart=` the way systemd does for what we write: words, double quotes
/// with `\` escapes, `%%` and `$$`.
fn systemd_words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut any = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            '\\' if quoted => cur.push(chars.next().unwrap()),
            '%' | '$' if chars.peek() == Some(&c) => {
                chars.next();
                cur.push(c);
            }
            ' ' if !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Run a unit's command with no TTY: stdin empty, a plain environment (credentials come from
/// the environment, as from a user's profile, never from the unit).
fn run_unit_command(argv: &[String], home: &Path, url: &str, secret: &str) -> Output {
    let mut c = std::process::Command::new(&argv[0]);
    c.args(&argv[1..]);
    scheduled_env(&mut c, home, url, secret);
    c.stdin(Stdio::null()).output().unwrap()
}

fn scheduled_env(c: &mut std::process::Command, home: &Path, url: &str, secret: &str) {
    c.env_clear();
    c.env("PATH", std::env::var("PATH").unwrap_or_default());
    c.env("HOME", home);
    for (k, v) in infrasnap_emulator::aws_env(url) {
        c.env(k, v);
    }
    c.env("AWS_SECRET_ACCESS_KEY", secret);
}

fn last_run(repo: &Path) -> serde_json::Value {
    read_json(&repo.join(".infrasnap/status.json"))["last_run"].clone()
}

/// A crontab line: five valid time fields, then the command.
fn check_crontab_line(line: &str) -> String {
    let f: Vec<&str> = line.splitn(6, ' ').collect();
    assert_eq!(f.len(), 6, "{line}");
    for (field, (lo, hi)) in f[..5]
        .iter()
        .zip([(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)])
    {
        if *field != "*" {
            let n: u32 = field
                .parse()
                .unwrap_or_else(|_| panic!("field `{field}` of {line}"));
            assert!((lo..=hi).contains(&n), "field `{field}` of {line}");
        }
    }
    assert!(f[5].starts_with('/'), "an absolute program: {line}");
    f[5].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_units_are_valid_and_their_command_runs_as_written_with_no_tty() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().to_path_buf();
    let repo = home.join("repo");
    let url = emu.url();
    create_bucket(&s3, "data").await;
    put(&s3, "data", "a", b"first").await;
    let secret = alnum(40);
    let notified = home.join("notified.json");
    let cfg = home.join("infrasnap.toml");
    std::fs::write(
        &cfg,
        format!(
            "[retention]\nkeep_last = 2\n\n[notify]\ncommand = \"cat > '{}'\"\n",
            notified.display()
        ),
    )
    .unwrap();
    // A stand-in `crontab` that keeps the table in HOME (the real user's is never touched).
    let bin_dir = home.join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let fake = bin_dir.join("crontab");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nf='{}/crontab.txt'\nif [ \"$1\" = -l ]; then cat \"$f\" 2>/dev/null || exit 1; else cat > \"$f\"; fi\n",
            home.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let install = |backend: &str, extra: &[&str]| {
        let mut args = vec![
            "schedule",
            "install",
            "--every",
            "week",
            "--at",
            "Sun 03:00",
            "--backend",
            backend,
            "--config",
            cfg.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "--only", "s3"]);
        let mut c = command(&repo, &url, &args, &[]);
        scheduled_env(&mut c, &home, &url, &secret);
        c.env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        );
        let o = c.output().unwrap();
        assert_code(&o, 0);
        o
    };

    // systemd: a service and a timer with Persistent=true, checked by systemd-analyze.
    install("systemd", &["--no-activate"]);
    let unit_dir = home.join(".config/systemd/user");
    let service_path = walk_files(&unit_dir)
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "service"))
        .expect("a service unit");
    let service = std::fs::read_to_string(&service_path).unwrap();
    let timer = std::fs::read_to_string(service_path.with_extension("timer")).unwrap();
    assert!(
        timer.contains("OnCalendar=Sun *-*-* 03:00:00") && timer.contains("Persistent=true"),
        "{timer}"
    );
    for text in [&service, &timer] {
        assert!(!text.contains(&secret), "a credential in a unit:\n{text}");
    }
    match which("systemd-analyze") {
        Some(sa) => {
            let o = std::process::Command::new(sa)
                .arg("verify")
                .arg(&service_path)
                .arg(service_path.with_extension("timer"))
                .env("HOME", &home)
                .env("XDG_CONFIG_HOME", home.join(".config"))
                .output()
                .unwrap();
            let err = stderr(&o);
            // Without a user session systemd-analyze may say so; anything about our units fails.
            let about_ours: Vec<&str> = err.lines().filter(|l| l.contains("infrasnap-")).collect();
            assert!(about_ours.is_empty(), "systemd-analyze verify:\n{err}");
            assert!(o.status.success(), "systemd-analyze verify:\n{err}");
            eprintln!("systemd-analyze verify: exit {:?} {err}", o.status.code());
        }
        None => eprintln!("note: systemd-analyze not found; unit check skipped"),
    }
    let exec = service
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    let argv = systemd_words(exec);
    assert!(Path::new(&argv[0]).is_absolute(), "{argv:?}");
    assert!(
        argv.contains(&cfg.to_string_lossy().to_string()),
        "absolute config path: {argv:?}"
    );
    let o = run_unit_command(&argv, &home, &url, &secret);
    assert_code(&o, 0);
    let r = last_run(&repo);
    assert_eq!(r["result"], "complete", "{r}");
    assert!(Path::new(r["log"].as_str().unwrap()).is_file());
    assert!(std::fs::read_to_string(r["log"].as_str().unwrap())
        .unwrap()
        .contains("$ infrasnap"));
    assert!(!notified.exists(), "no notification for a complete run");
    let status = read_json(&repo.join(".infrasnap/status.json"));
    assert!(status["next_run"].is_string(), "{status}");

    // launchd: a plist with StartCalendarInterval, parsed by Python's plistlib; its
    // ProgramArguments run as written.
    install("launchd", &["--no-activate"]);
    let plist = walk_files(&home.join("Library/LaunchAgents"))
        .into_iter()
        .next()
        .expect("a plist");
    assert!(!std::fs::read_to_string(&plist).unwrap().contains(&secret));
    let o = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import plistlib,sys,json; p=plistlib.load(open(sys.argv[1],'rb')); \
             print(json.dumps({'args': p['ProgramArguments'], 'when': p['StartCalendarInterval'], 'label': p['Label']}))",
        )
        .arg(&plist)
        .output()
        .unwrap();
    assert_code(&o, 0);
    let p = json(&o);
    assert_eq!(
        p["when"],
        serde_json::json!({"Weekday": 0, "Hour": 3, "Minute": 0})
    );
    assert!(p["label"].as_str().unwrap().starts_with("io.infrasnap."));
    let argv: Vec<String> = p["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    put(&s3, "data", "a", b"second").await;
    // The previous scheduled run went missing: the run says so to [notify].
    let st_path = repo.join(".infrasnap/status.json");
    let mut st = read_json(&st_path);
    st["next_run"] =
        serde_json::Value::String((chrono::Utc::now() - chrono::Duration::days(15)).to_rfc3339());
    std::fs::write(&st_path, serde_json::to_vec(&st).unwrap()).unwrap();
    let o = run_unit_command(&argv, &home, &url, &secret);
    assert_code(&o, 0);
    let n = read_json(&notified);
    assert_eq!(n["run"]["previous_missed"], true, "{n}");
    assert!(
        n["run"]["problems"][0]
            .as_str()
            .unwrap()
            .contains("did not happen"),
        "{n}"
    );
    assert_eq!(n["run"]["result"], "complete");

    // cron: a valid line in the (stand-in) crontab; its command runs through sh as cron would.
    install("cron", &[]);
    let tab = std::fs::read_to_string(home.join("crontab.txt")).unwrap();
    let line = tab
        .lines()
        .find(|l| l.contains("# infrasnap-"))
        .expect("our line")
        .to_string();
    assert!(!line.contains(&secret));
    let cmd = check_crontab_line(&line);
    assert!(line.starts_with("0 3 * * 0 "), "{line}");
    put(&s3, "data", "a", b"third").await;
    let mut c = std::process::Command::new("sh");
    c.arg("-c").arg(&cmd);
    scheduled_env(&mut c, &home, &url, &secret);
    let o = c.stdin(Stdio::null()).output().unwrap();
    assert_code(&o, 0);
    assert_eq!(last_run(&repo)["result"], "complete");
    // keep_last = 2 of [retention] ran after each snapshot.
    assert_eq!(names(&repo, &url).len(), 2);
    assert_code(&infrasnap(&repo, &url, &["verify", "--all"]), 0);
    // status, then remove takes the line away.
    let mut c = command(&repo, &url, &["schedule", "status"], &[]);
    c.env("HOME", &home);
    let o = c.output().unwrap();
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains("every Sun at 03:00") && stdout(&o).contains("Last run"),
        "{}",
        stdout(&o)
    );
    let mut c = command(&repo, &url, &["schedule", "remove"], &[]);
    c.env("HOME", &home);
    c.env(
        "PATH",
        format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    assert_code(&c.output().unwrap(), 0);
    let tab = std::fs::read_to_string(home.join("crontab.txt")).unwrap();
    assert!(!tab.contains("# infrasnap-"), "{tab}");
    // The logs: one per run, in the repository.
    assert_eq!(
        walk_files(&repo.join(".infrasnap/logs"))
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .count(),
        3
    );
}

#[test]
fn schedule_install_refuses_bad_input_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    for (args, needle) in [
        (
            vec!["schedule", "install", "--every", "fortnight"],
            "day, week or month",
        ),
        (
            vec![
                "schedule",
                "install",
                "--every",
                "week",
                "--at",
                "Someday 03:00",
            ],
            "not a day of the week",
        ),
        (
            vec![
                "schedule",
                "install",
                "--every",
                "week",
                "--",
                "--no-such-flag",
            ],
            "snapshot options",
        ),
        (
            vec![
                "schedule", "install", "--every", "week", "--", "--label", "x",
            ],
            "--label",
        ),
    ] {
        let o = infrasnap(&repo, "http://127.0.0.1:9", &args);
        assert_code(&o, 2);
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    assert!(!repo.exists());
    assert!(!tmp.path().join(".config").exists());
}

fn which(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(prog))
            .find(|p| p.is_file())
    })
}
