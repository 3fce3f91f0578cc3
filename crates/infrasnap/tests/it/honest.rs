//! Honest runs (issue 15): credentials resolved as the AWS CLI does, a fast first identity check
//! with the real cause, region names checked, usage errors that write nothing, the scope of a run
//! recorded, a full disk that publishes nothing, one status vocabulary, quiet closed pipes.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use common::*;
use serde_json::Value;

/// A home folder with ~/.aws/config and ~/.aws/credentials, and a repository path beside it.
struct Home {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    repo: PathBuf,
}

impl Home {
    fn new(config: &str, credentials: &str) -> Home {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        std::fs::create_dir_all(dir.join(".aws")).unwrap();
        std::fs::write(dir.join(".aws/config"), config).unwrap();
        std::fs::write(dir.join(".aws/credentials"), credentials).unwrap();
        Home {
            repo: dir.join("repo"),
            dir,
            _tmp: tmp,
        }
    }

    /// `infrasnap` with this home's ~/.aws files, environment keys set as well (they must lose
    /// to an explicit profile), and `endpoint`.
    fn command(&self, endpoint: &str, args: &[&str]) -> Command {
        let config = self.dir.join(".aws/config");
        let credentials = self.dir.join(".aws/credentials");
        let mut c = command(
            &self.repo,
            endpoint,
            args,
            &[
                ("HOME", self.dir.to_str().unwrap()),
                ("AWS_CONFIG_FILE", config.to_str().unwrap()),
                ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
            ],
        );
        c.current_dir(&self.dir);
        c
    }

    fn run(&self, endpoint: &str, args: &[&str]) -> Output {
        self.command(endpoint, args).output().unwrap()
    }
}

/// A credential_process script that notes each run in `marker` and prints `creds`.
fn credential_process(dir: &Path, marker: &Path, creds: &Credentials) -> PathBuf {
    let script = dir.join("creds.sh");
    let json = serde_json::json!({
        "Version": 1,
        "AccessKeyId": creds.access_key_id(),
        "SecretAccessKey": creds.secret_access_key(),
        "SessionToken": creds.session_token(),
    });
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho ran >> '{}'\ncat <<'EOF'\n{json}\nEOF\n",
            marker.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// Temporary keys of account 222222222222 (moto maps assumed-role keys to the role's account).
async fn keys_of_other_account(url: &str) -> Credentials {
    let sts = aws_sdk_sts::Client::new(&sdk_conf(url, "us-east-1").await);
    let r = sts
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/infrasnap-read")
        .role_session_name("test")
        .send()
        .await
        .unwrap();
    let c = r.credentials().unwrap();
    Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "assumed",
    )
}

/// Nothing was written: no repository folder, or one without snapshots.
#[track_caller]
fn nothing_published(repo: &Path) {
    if !repo.exists() {
        return;
    }
    let snaps: Vec<_> = std::fs::read_dir(repo)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != ".infrasnap")
        .map(|e| e.path())
        .collect();
    assert!(snaps.is_empty(), "published: {snaps:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_profile_wins_over_environment_keys_and_runs_its_credential_process() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let other = keys_of_other_account(&url).await;
    let home = Home::new("", "");
    let marker = home.dir.join("marker");
    let script = credential_process(&home.dir, &marker, &other);
    std::fs::write(
        home.dir.join(".aws/config"),
        format!(
            "[default]\nregion = us-east-1\n\n[profile prod]\nregion = us-east-1\ncredential_process = {}\n",
            script.display()
        ),
    )
    .unwrap();

    // AWS_ACCESS_KEY_ID=testing is set (account 123456789012); --profile prod must win.
    let o = home.run(
        &url,
        &[
            "--json",
            "snapshot",
            "--profile",
            "prod",
            "--only",
            "route53",
        ],
    );
    assert_code(&o, 0);
    let v = json_of(&o);
    assert_eq!(v["metadata"]["account_id"], "222222222222", "{v:#}");
    assert!(
        marker.is_file(),
        "the profile's credential_process never ran"
    );

    // The same with the profile named in infrasnap.toml.
    std::fs::remove_file(&marker).unwrap();
    std::fs::write(
        home.dir.join("infrasnap.toml"),
        "[[aws.accounts]]\nname = \"prod\"\nprofile = \"prod\"\n",
    )
    .unwrap();
    let o = home.run(&url, &["--json", "snapshot", "--only", "route53"]);
    assert_code(&o, 0);
    let v = json_of(&o);
    assert_eq!(v["metadata"]["accounts"][0]["account_id"], "222222222222");
    assert!(marker.is_file(), "the config's profile was not used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_profile_is_an_error_naming_the_profiles_that_exist() {
    let emu = Emulator::start().await.unwrap();
    let home = Home::new(
        "[default]\nregion = us-east-1\n[profile prod]\nregion = us-east-1\n",
        "[backup]\naws_access_key_id = a\naws_secret_access_key = b\n",
    );
    let o = home.run(&emu.url(), &["snapshot", "--profile", "doesnotexist"]);
    assert_code(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("`doesnotexist` does not exist"), "{err}");
    assert!(err.contains("backup, default, prod"), "{err}");
    nothing_published(&home.repo);

    // A profile named in the config is checked the same way.
    std::fs::write(
        home.dir.join("infrasnap.toml"),
        "[[aws.accounts]]\nname = \"ops\"\nprofile = \"nope\"\n",
    )
    .unwrap();
    let o = home.run(&emu.url(), &["snapshot"]);
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains("`nope` does not exist"),
        "{}",
        stderr(&o)
    );
    nothing_published(&home.repo);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_config_accounts_that_are_one_account_are_an_error() {
    let emu = Emulator::start().await.unwrap();
    let home = Home::new(
        "[profile a]\nregion = us-east-1\n[profile b]\nregion = us-east-1\n",
        "[a]\naws_access_key_id = one\naws_secret_access_key = x\n\
         [b]\naws_access_key_id = two\naws_secret_access_key = y\n",
    );
    std::fs::write(
        home.dir.join("infrasnap.toml"),
        "[[aws.accounts]]\nname = \"main\"\nprofile = \"a\"\n\n\
         [[aws.accounts]]\nname = \"shop\"\nprofile = \"b\"\n",
    )
    .unwrap();
    let o = home.run(&emu.url(), &["snapshot"]);
    assert_code(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("`main` and `shop`") && err.contains("123456789012"),
        "{err}"
    );
    nothing_published(&home.repo);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_fails_in_seconds_with_the_real_cause() {
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // A server that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in silent.incoming() {
            held.push(c);
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    for (endpoint, cause) in [
        (format!("http://127.0.0.1:{port}"), "refused"),
        ("http://no-such-host.invalid".to_string(), "dns error"),
        (format!("http://127.0.0.1:{silent_port}"), "timeout"),
    ] {
        let t = Instant::now();
        let o = infrasnap(&repo, &endpoint, &["snapshot"]);
        let took = t.elapsed();
        assert_code(&o, 1);
        assert!(took < Duration::from_secs(10), "took {took:?}");
        let err = stderr(&o).to_lowercase();
        assert!(err.contains("cannot reach"), "{err}");
        assert!(err.contains(cause), "{cause}: {err}");
        assert!(err.contains("sts:getcalleridentity"), "{err}");
        assert!(!err.contains("grant"), "{err}");
        // One readable line, not the SDK's debug dump.
        assert!(!err.contains("dispatchfailure {"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        nothing_published(&repo);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_keys_fail_in_seconds_with_invalid_client_token_id() {
    let emu = Emulator::start().await.unwrap();
    let url = stub_proxy(&emu.url(), |seen| {
        let body = String::from_utf8_lossy(&seen.body);
        body.contains("Action=GetCallerIdentity").then(|| Canned {
            status: 403,
            content_type: "text/xml",
            extra_headers: String::new(),
            body: "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
                   <Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security \
                   token included in the request is invalid.</Message></Error>\
                   <RequestId>r-1</RequestId></ErrorResponse>"
                .into(),
        })
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let t = Instant::now();
    let o = infrasnap(&repo, &url, &["snapshot"]);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_code(&o, 1);
    let err = stderr(&o);
    assert!(err.contains("InvalidClientTokenId"), "{err}");
    assert!(err.contains("rejected"), "{err}");
    assert!(!err.contains("grant"), "{err}");
    nothing_published(&repo);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_names_are_checked_before_anything_runs() {
    let emu = Emulator::start().await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    for (regions, says) in [
        ("US-EAST-1", "lower case"),
        ("us-east-1,", "empty region name"),
        ("https://dynamodb.eu-west-1.amazonaws.com", "endpoint"),
        ("useast1", "not a region name"),
    ] {
        let o = infrasnap(&repo, &emu.url(), &["snapshot", "--regions", regions]);
        assert_code(&o, 2);
        assert!(stderr(&o).contains(says), "{regions}: {}", stderr(&o));
        nothing_published(&repo);
    }
    // A well-formed name no partition knows is a warning; the run goes on.
    let o = infrasnap(
        &repo,
        &emu.url(),
        &["snapshot", "--only", "route53", "--regions", "xx-middle-9"],
    );
    assert_code(&o, 0);
    assert!(stderr(&o).contains("`xx-middle-9`"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2_and_publish_nothing() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    create_bucket(&s3, "www").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    for (args, says) in [
        (
            vec!["snapshot", "--only", "s3", "--skip", "s3"],
            "both in --only",
        ),
        (vec!["snapshot", "--bucket", "wwww"], "--bucket wwww"),
        (vec!["snapshot", "--label", "a/b"], "--label"),
    ] {
        let o = infrasnap(&repo, &emu.url(), &args);
        assert_code(&o, 2);
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
        nothing_published(&repo);
    }
    // The unknown bucket's message names the buckets that exist.
    let o = infrasnap(&repo, &emu.url(), &["snapshot", "--bucket", "wwww"]);
    assert!(
        stderr(&o).contains("the buckets there are: www"),
        "{}",
        stderr(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_list_regions_is_complete_with_errors_naming_what_is_unknown() {
    let emu = Emulator::start().await.unwrap();
    let url = stub_proxy(&emu.url(), |seen| {
        (seen.path == "/listRegions").then(|| Canned {
            status: 403,
            content_type: "application/json",
            extra_headers: "x-amzn-ErrorType: AccessDeniedException\r\n".into(),
            body: r#"{"message":"not authorized to perform account:ListRegions"}"#.into(),
        })
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = infrasnap(&repo, &url, &["--json", "snapshot", "--only", "dynamodb"]);
    assert_code(&o, 3);
    let v = json_of(&o);
    assert_eq!(v["status"], "partial");
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(
        errors.len() as u64,
        v["metadata"]["totals"]["errors"].as_u64().unwrap()
    );
    let e = errors
        .iter()
        .find(|e| e["action"] == "account:ListRegions")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(e["code"], "AccessDeniedException");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("us-east-1 only") && msg.contains("missing"),
        "{msg}"
    );

    // -q still says how the run ended, and why.
    let o = infrasnap(&repo, &url, &["-q", "snapshot", "--only", "dynamodb"]);
    assert_code(&o, 3);
    let err = stderr(&o);
    assert!(err.contains("complete with errors"), "{err}");
    assert!(err.contains("account:ListRegions"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scope_of_a_run_is_recorded_and_shown_in_one_vocabulary() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    create_bucket(&s3, "www").await;
    put(&s3, "www", "index.html", b"hello").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");

    let narrow = snapshot(
        &repo,
        &emu.url(),
        &["--only", "s3", "--bucket", "www", "--label", "narrow"],
    );
    let scope = &narrow["scope"];
    assert_eq!(scope["partial"], true, "{narrow:#}");
    assert_eq!(
        scope["limited_by"],
        serde_json::json!(["--only s3", "--bucket www"])
    );
    assert_eq!(scope["services"], serde_json::json!(["s3"]));
    assert_eq!(scope["buckets"], serde_json::json!(["www"]));
    assert_eq!(
        scope["accounts"],
        serde_json::json!(["default (123456789012)"])
    );

    let full = snapshot(&repo, &emu.url(), &["--label", "full"]);
    assert_eq!(full["scope"]["partial"], false, "{full:#}");
    assert!(full["scope"]["services"].as_array().unwrap().len() > 5);
    assert_eq!(full["scope"]["regions"], serde_json::json!(["us-east-1"]));

    // list and show say the same words as the terminal.
    let o = infrasnap(&repo, &emu.url(), &["list"]);
    assert_code(&o, 0);
    let list = stdout(&o);
    let row = |name: &str| {
        list.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{list}"))
            .to_string()
    };
    assert!(row("narrow").contains("partial"), "{list}");
    assert!(row("full ").contains("full"), "{list}");
    let o = infrasnap(&repo, &emu.url(), &["show", "narrow"]);
    let show = stdout(&o);
    assert!(show.contains("Status     complete\n"), "{show}");
    assert!(
        show.contains("Scope      partial (--only s3, --bucket www)"),
        "{show}"
    );

    // One --json envelope for snapshot, show and verify.
    for args in [
        vec!["--json", "show", "narrow"],
        vec!["--json", "verify", "narrow"],
    ] {
        let o = infrasnap(&repo, &emu.url(), &args);
        assert_code(&o, 0);
        let v = json_of(&o);
        assert_eq!(v["command"], args[1], "{v:#}");
        assert!(v["status"].is_string(), "{v:#}");
        assert_eq!(v["errors"], serde_json::json!([]), "{v:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_show_and_verify_end_quietly_on_a_closed_pipe() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    create_bucket(&s3, "www").await;
    put(&s3, "www", "index.html", b"hello").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    snapshot(&repo, &emu.url(), &["--only", "s3"]);
    for args in [
        vec!["list"],
        vec!["show"],
        vec!["verify"],
        vec!["--json", "list"],
    ] {
        // A pipe whose reader is already gone: every write fails with EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = command(&repo, &emu.url(), &args, &[])
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_show_verify_honour_the_config_repo_resolved_beside_the_config() {
    let emu = Emulator::start().await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let etc = tmp.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    let cfg = etc.join("infrasnap.toml");
    std::fs::write(&cfg, "repo = \"snaps\"\n").unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    // No --repo: the config's relative `repo` is beside the config, wherever the run starts.
    let run = |args: &[&str]| {
        let mut c = bin();
        c.env_clear();
        c.env("PATH", std::env::var("PATH").unwrap_or_default());
        c.env("HOME", tmp.path());
        c.env("INFRASNAP_CONFIG", &cfg);
        for (k, v) in infrasnap_emulator::aws_env(&emu.url()) {
            c.env(k, v);
        }
        c.current_dir(&elsewhere);
        c.args(args);
        c.output().unwrap()
    };
    let o = run(&["snapshot", "--only", "route53", "--label", "one"]);
    assert_code(&o, 0);
    assert!(etc.join("snaps/one/MANIFEST.md").is_file());
    assert!(!elsewhere.join("snaps").exists());
    for args in [&["list"][..], &["show"], &["verify"]] {
        let o = run(args);
        assert_code(&o, 0);
        assert!(stdout(&o).contains("one"), "{args:?}: {}", stdout(&o));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let o = bin().args(["completions", shell]).output().unwrap();
        assert_code(&o, 0);
        assert!(stdout(&o).contains("snapshot"), "{shell}");
    }
    let o = bin().arg("man").output().unwrap();
    assert_code(&o, 0);
    assert!(stdout(&o).starts_with(".ie") || stdout(&o).contains(".TH infrasnap"));
    let o = bin().args(["snapshot", "--help"]).output().unwrap();
    let help = stdout(&o);
    assert!(help.contains("Global options:"), "{help}");
    let o = bin().arg("--help").output().unwrap();
    for svc in [
        "dynamodb",
        "route53",
        "lambda",
        "cloudfront",
        "apigateway",
        "ssm",
    ] {
        assert!(stdout(&o).contains(svc), "{svc}");
    }
}

/// A repository on a 2 MiB tmpfs (in a private mount namespace, so nothing outlives the test)
/// gets a bucket of 8 objects of 512 KiB: the run must exit 1 saying the disk is full and publish
/// nothing; after the tmpfs grows, the next run completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_publishes_nothing_and_the_next_run_completes() {
    if !Command::new("unshare")
        .args(["-rm", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("SKIPPED: cannot make a private mount namespace (unshare -rm)");
        return;
    }
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    create_bucket(&s3, "media").await;
    for i in 0..8u64 {
        put(
            &s3,
            "media",
            &format!("clip-{i}.bin"),
            &bytes(i, 512 * 1024),
        )
        .await;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("disk");
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&mnt).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let script = format!(
        "set -u\n\
         mount -t tmpfs -o size=2m tmpfs '{m}' || exit 97\n\
         '{bin}' --repo '{m}/repo' snapshot --only s3 --label first 2> '{o}/err1'; echo $? > '{o}/code1'\n\
         cp -a '{m}/repo' '{o}/after1'\n\
         mount -o remount,size=64m '{m}' || exit 98\n\
         '{bin}' --repo '{m}/repo' --json snapshot --only s3 --label second > '{o}/json2' 2> '{o}/err2'; echo $? > '{o}/code2'\n\
         '{bin}' --repo '{m}/repo' verify --all > '{o}/verify' 2>&1; echo $? > '{o}/code3'\n\
         cp -a '{m}/repo' '{o}/after2'\n",
        m = mnt.display(),
        o = out.display(),
        bin = env!("CARGO_BIN_EXE_infrasnap"),
    );
    let mut c = Command::new("unshare");
    c.args(["-rm", "sh", "-c", &script]);
    c.env_clear();
    c.env("PATH", std::env::var("PATH").unwrap_or_default());
    c.env("HOME", tmp.path());
    for (k, v) in infrasnap_emulator::aws_env(&emu.url()) {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap_or_default();

    assert_eq!(read("code1").trim(), "1", "stderr: {}", read("err1"));
    let err1 = read("err1");
    assert!(err1.contains("is full"), "{err1}");
    assert!(err1.contains("nothing was published"), "{err1}");
    // Nothing published: no snapshot folder, so no MANIFEST stating counts it did not capture.
    nothing_published(&out.join("after1"));

    assert_eq!(read("code2").trim(), "0", "stderr: {}", read("err2"));
    let v: Value = serde_json::from_str(&read("json2")).unwrap();
    assert_eq!(v["status"], "complete");
    assert_eq!(v["metadata"]["totals"]["objects"], 8);
    assert_eq!(read("code3").trim(), "0", "{}", read("verify"));
    assert_eq!(objects(&out.join("after2/second"), "media").len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_wait_lock_the_recorded_start_is_when_capture_began() {
    let emu = Emulator::start().await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    snapshot(
        &repo,
        &emu.url(),
        &["--only", "route53", "--label", "first"],
    );
    // Another holder keeps the repository for 3 s.
    let held = infrasnap_core::repo::Repository::open(&repo)
        .unwrap()
        .lock(None)
        .unwrap();
    let child = command(
        &repo,
        &emu.url(),
        &[
            "--json",
            "snapshot",
            "--only",
            "route53",
            "--wait-lock",
            "60",
        ],
        &[],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let released = chrono::Utc::now();
    drop(held);
    let o = child.wait_with_output().unwrap();
    assert_code(&o, 0);
    let v = json_of(&o);
    let started: chrono::DateTime<chrono::Utc> = v["metadata"]["started_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        started >= released - chrono::Duration::milliseconds(200),
        "started {started}, lock released {released}"
    );
    assert!(v["metadata"]["duration_seconds"].as_f64().unwrap() < 3.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_messages_are_one_line_each_with_progress_and_steps_in_plain_text() {
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    create_bucket(&s3, "www").await;
    put(&s3, "www", "index.html", b"hello").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");

    // -v: the per-bucket steps; stderr is not a terminal, so no colour codes.
    let o = infrasnap(
        &repo,
        &emu.url(),
        &["-v", "snapshot", "--only", "s3,route53"],
    );
    assert_code(&o, 0);
    let err = stderr(&o);
    assert!(err.contains("s3: bucket www: done, 1 objects"), "{err}");
    assert!(!err.contains('\u{1b}'), "colour codes in a log: {err:?}");
    // The result line stands alone; each source has its own line.
    let first = err
        .lines()
        .find(|l| l.starts_with("Snapshot "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(first.contains(" complete in "), "{first}");
    assert!(
        err.lines().any(|l| l == "  s3: 1 buckets, 1 objects"),
        "{err}"
    );

    // -q on a complete run: the one-line result, nothing else.
    let o = infrasnap(&repo, &emu.url(), &["-q", "snapshot", "--only", "s3"]);
    assert_code(&o, 0);
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("Snapshot ") && err.contains(" complete in "),
        "{err}"
    );

    // A run whose every source failed: the errors, not "none found".
    let url = stub_proxy(&emu.url(), |seen| {
        (seen.method == "GET" && seen.path.contains("/hostedzone")
            || seen.path.contains("/healthcheck"))
        .then(|| Canned {
            status: 403,
            content_type: "text/xml",
            extra_headers: String::new(),
            body: "<?xml version=\"1.0\"?>\n<ErrorResponse><Error><Type>Sender</Type>\
                   <Code>AccessDenied</Code><Message>not authorized\nat all</Message></Error>\
                   <RequestId>d-1</RequestId></ErrorResponse>"
                .into(),
        })
    })
    .await;
    let o = infrasnap(&repo, &url, &["snapshot", "--only", "route53"]);
    assert_code(&o, 1);
    let err = stderr(&o);
    assert!(err.contains(" FAILED in "), "{err}");
    assert!(err.contains("  route53: FAILED (2 errors)"), "{err}");
    assert!(!err.contains("none found"), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("  error: ")).collect();
    assert_eq!(errors.len(), 2, "{err}");
    assert!(
        errors
            .iter()
            .all(|l| l.contains("route53: route53:List") && l.contains("AccessDenied: ")),
        "{err}"
    );
    // The failed snapshot is published and named failed everywhere.
    let o = infrasnap(&repo, &emu.url(), &["list"]);
    assert!(stdout(&o).contains("FAILED"), "{}", stdout(&o));
}
