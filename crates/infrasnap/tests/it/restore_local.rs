//! Restore of what is not AWS, through the binary: an Apps Script project edited live on the
//! stand-in and put back (content equal, a new version naming the snapshot); a git repository
//! with commits, staged, unstaged and untracked changes rebuilt into an empty directory (checked
//! with the real git); a folder with its modes and mtimes; an existing file never overwritten
//! without --force. Helpers are local (the ones in restore.rs are private to that module).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::common::{assert_code, stderr, stdout};
use infrasnap_emulator::gas::{GasServer, ScriptFile, ScriptProject};
use serde_json::Value;

const TOKEN: &str = "ya29.restore-local-standin-token";

/// A temporary world: home, repository, config; AWS off.
struct World {
    tmp: tempfile::TempDir,
    runs: std::cell::Cell<u32>,
}

impl World {
    fn new() -> World {
        let w = World {
            tmp: tempfile::tempdir().unwrap(),
            runs: Default::default(),
        };
        std::fs::create_dir_all(w.path("home")).unwrap();
        w
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn config(&self, body: &str) -> PathBuf {
        let p = self.path("infrasnap.toml");
        std::fs::write(&p, format!("[aws]\ndisabled = true\n\n{body}")).unwrap();
        p
    }

    fn infrasnap(&self, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_infrasnap"));
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .env("INFRASNAP_GAS_TOKEN", TOKEN)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("GIT_CEILING_DIRECTORIES", self.tmp.path())
            .arg("--repo")
            .arg(self.path("repo"))
            .args(args);
        c.output().expect("run infrasnap")
    }

    /// A snapshot; its name.
    fn snapshot(&self, cfg: &Path) -> String {
        self.runs.set(self.runs.get() + 1);
        let label = format!("run-{}", self.runs.get());
        let o = self.infrasnap(&[
            "--json",
            "snapshot",
            "--label",
            &label,
            "--config",
            cfg.to_str().unwrap(),
        ]);
        assert_code(&o, 0);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        v["metadata"]["name"].as_str().unwrap().to_string()
    }

    /// `restore plan ... -o plan.json --json`: the plan.
    fn plan(&self, snap: &str, extra: &[&str]) -> (Output, Value) {
        let file = self.path("plan.json");
        let _ = std::fs::remove_file(&file);
        let mut args = vec![
            "--json",
            "restore",
            "plan",
            snap,
            "-o",
            file.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = self.infrasnap(&args);
        let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        (o, v)
    }

    fn apply(&self, cfg: &Path) -> Output {
        let plan = self.path("plan.json");
        self.infrasnap(&[
            "restore",
            "apply",
            plan.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ])
    }
}

fn steps(plan: &Value) -> Vec<Value> {
    plan["steps"].as_array().cloned().unwrap_or_default()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "core.fileMode=true",
        ])
        .args(args)
        .env("GIT_CEILING_DIRECTORIES", dir.parent().unwrap())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn write(p: &Path, text: &str, mode: u32) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every file under `root` (`.git` aside): relative path → (mode, bytes).
fn files(root: &Path) -> std::collections::BTreeMap<String, (u32, Vec<u8>)> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                if e.file_name() != ".git" {
                    stack.push(p);
                }
                continue;
            }
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.insert(rel, (m.mode() & 0o7777, std::fs::read(&p).unwrap()));
        }
    }
    out
}

fn project(code: &str) -> ScriptProject {
    ScriptProject::new("1RestoreMeScriptId_abcdefghijklmnop", "Budget")
        .file(ScriptFile::manifest(
            r#"{"timeZone": "Europe/Paris", "runtimeVersion": "V8"}"#,
        ))
        .file(ScriptFile::gs("Code", code))
        .file(ScriptFile::html("Index", "<p>hello</p>"))
        .version(1, "first", Vec::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_script_project_round_trip() {
    let w = World::new();
    let g = GasServer::start().await.unwrap();
    g.issue_token(TOKEN, Duration::from_secs(3600));
    let id = "1RestoreMeScriptId_abcdefghijklmnop";
    g.add_project(project("function main() { return 1; }\n"));
    let cfg = w.config(&format!(
        "[gas]\nscript_endpoint = \"{u}\"\ndrive_endpoint = \"{u}\"\ntoken_endpoint = \"{t}\"\n\n[[gas.projects]]\nscript_id = \"{id}\"\n",
        u = g.url(),
        t = g.token_url()
    ));
    let cfg_s = cfg.to_str().unwrap();
    let one = tokio::task::block_in_place(|| w.snapshot(&cfg));
    let before = g.project(id).unwrap();

    // A careless edit: Code.gs changed, Index.html gone, a new file.
    let mut edited = project("function main() { return 2; }\n");
    edited.files.retain(|f| f.name != "Index");
    edited.files.push(ScriptFile::gs("Extra", "var x = 1;\n"));
    edited.versions = before.versions.clone();
    g.add_project(edited);

    tokio::task::block_in_place(|| {
        // The default (if-unchanged) keeps a live change no snapshot holds.
        let (o, plan) = w.plan(
            &one,
            &["--kind", "gas.project", "--force", "--config", cfg_s],
        );
        assert_code(&o, 0);
        let s = steps(&plan);
        assert_eq!(s[0]["action"]["action"], "skip", "{plan:#}");
        let (o, plan) = w.plan(
            &one,
            &[
                "--kind",
                "gas.project",
                "--force",
                "--if-exists",
                "overwrite",
                "--config",
                cfg_s,
            ],
        );
        assert_code(&o, 0);
        let s = steps(&plan);
        assert_eq!(s.len(), 1, "{plan:#}");
        assert_eq!(s[0]["action"]["action"], "update");
        assert_eq!(s[0]["target"], format!("gas.project:::{id}"));
        let fields: Vec<&str> = s[0]["action"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["file Code.gs", "file Extra.gs", "file Index.html"]);
        assert!(plan["scope"]["gas"].as_bool().unwrap());

        let o = w.apply(&cfg);
        assert_code(&o, 0);
        assert!(stderr(&o).contains("Restore complete"), "{}", stderr(&o));
    });
    let after = g.project(id).unwrap();
    let mut want = before.files.clone();
    let mut got = after.files.clone();
    want.sort_by(|a, b| a.name.cmp(&b.name));
    got.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(got, want, "the project's content is the snapshot's");
    assert_eq!(after.versions.len(), 2, "a new version");
    let v = after.versions.last().unwrap();
    assert!(v.description.contains(&one), "{}", v.description);
    assert_eq!(v.files, after.files);

    tokio::task::block_in_place(|| {
        // Planned again: nothing to do.
        let (o, plan) = w.plan(&one, &["--kind", "gas.project", "--config", cfg_s]);
        assert_code(&o, 0);
        assert!(steps(&plan).is_empty(), "{plan:#}");
        assert_eq!(plan["summary"]["unchanged"], 1);
        // A new snapshot: the project's files are the first snapshot's; only the versions
        // listing (and the new version's folder) differ, which is the point.
        let three = w.snapshot(&cfg);
        let o = w.infrasnap(&["--json", "diff", &one, &three, "--kind", "gas.project"]);
        let d: Value = serde_json::from_slice(&o.stdout).unwrap();
        let parts: Vec<String> = d["kinds"][0]["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r["parts"].as_array().cloned().unwrap_or_default())
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        assert!(
            parts
                .iter()
                .all(|p| p == "versions.json" || p.starts_with("versions/")),
            "{d:#}"
        );
    });
}

#[test]
fn git_repository_restored_into_an_empty_directory() {
    let w = World::new();
    let src = w.path("src/app");
    std::fs::create_dir_all(&src).unwrap();
    git(&src, &["init", "-q"]);
    write(&src.join("README.md"), "# app\n", 0o644);
    write(&src.join("bin/run.sh"), "#!/bin/sh\necho run\n", 0o755);
    write(&src.join("lib.txt"), "one\ntwo\nthree\n", 0o644);
    git(&src, &["add", "-A"]);
    git(&src, &["commit", "-q", "-m", "first"]);
    write(&src.join("lib.txt"), "one\ntwo\nthree\nfour\n", 0o644);
    git(&src, &["commit", "-q", "-am", "second"]);
    git(&src, &["checkout", "-q", "-b", "feature"]);
    git(
        &src,
        &[
            "remote",
            "add",
            "origin",
            "https://example.com/acme/app.git",
        ],
    );
    // Staged, unstaged (on top of the staged), untracked.
    write(&src.join("README.md"), "# app\n\nstaged line\n", 0o644);
    git(&src, &["add", "README.md"]);
    write(
        &src.join("README.md"),
        "# app\n\nstaged line\nunstaged line\n",
        0o644,
    );
    write(&src.join("lib.txt"), "zero\none\ntwo\nthree\nfour\n", 0o644);
    write(&src.join("notes/todo.sh"), "#!/bin/sh\necho todo\n", 0o750);
    let cfg = w.config(&format!(
        "[[local]]\nname = \"app\"\npath = {:?}\nkind = \"git\"\n",
        src.to_str().unwrap()
    ));
    let one = w.snapshot(&cfg);
    let to = w.path("restored");
    let to_s = to.to_str().unwrap();

    // In place: refused, said why.
    let (o, plan) = w.plan(&one, &["--kind", "local.git"]);
    assert_code(&o, 0);
    assert!(steps(&plan).is_empty());
    let reason = plan["manual"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("--to-dir"), "{reason}");

    let (o, plan) = w.plan(&one, &["--kind", "local.git", "--to-dir", to_s]);
    assert_code(&o, 0);
    let s = steps(&plan);
    assert_eq!(s.len(), 1, "{plan:#}");
    assert_eq!(s[0]["action"]["action"], "create");
    assert_eq!(s[0]["subject"]["path"], to.join("app").to_str().unwrap());
    assert_eq!(s[0]["subject"]["files"][0]["rel"], "notes/todo.sh");
    for part in ["repo.bundle", "staged.patch", "unstaged.patch"] {
        assert!(s[0]["parts"][part].is_string(), "{part}: {plan:#}");
    }
    let o = w.apply(&cfg);
    assert_code(&o, 0);

    let dest = to.join("app");
    for args in [
        &["status", "--porcelain"][..],
        &["log", "--format=%H %s", "--all"],
        &["diff", "--cached"],
        &["diff"],
        &["rev-parse", "--abbrev-ref", "HEAD"],
        &["remote", "-v"],
        &["ls-files", "-s"],
    ] {
        assert_eq!(git(&dest, args), git(&src, args), "git {args:?}");
    }
    assert_eq!(files(&dest), files(&src), "files and their modes");
    let m = |p: &Path| std::fs::metadata(p).unwrap().mtime_nsec();
    assert_eq!(
        m(&dest.join("notes/todo.sh")),
        m(&src.join("notes/todo.sh")),
        "an untracked file's mtime"
    );

    // Into a directory that is not empty: skipped, never written.
    let (o, plan) = w.plan(&one, &["--kind", "local.git", "--to-dir", to_s]);
    assert_code(&o, 0);
    let s = steps(&plan);
    assert_eq!(s[0]["action"]["action"], "skip", "{plan:#}");
    assert!(s[0]["action"]["reason"]
        .as_str()
        .unwrap()
        .contains("not empty"));
}

#[test]
fn folder_restored_with_modes_and_mtimes_and_never_overwritten_without_force() {
    let w = World::new();
    let src = w.path("src/tools");
    write(&src.join("deploy.sh"), "#!/bin/sh\necho deploy\n", 0o755);
    write(&src.join("docs/readme.txt"), "read me\n", 0o640);
    write(&src.join("conf/app.ini"), "[app]\nx = 1\n", 0o600);
    std::os::unix::fs::symlink("docs/readme.txt", src.join("README")).unwrap();
    let old = std::time::SystemTime::UNIX_EPOCH + Duration::new(1_600_000_000, 123_456_789);
    std::fs::OpenOptions::new()
        .write(true)
        .open(src.join("docs/readme.txt"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let cfg = w.config(&format!(
        "[[local]]\nname = \"tools\"\npath = {:?}\nkind = \"folder\"\n",
        src.to_str().unwrap()
    ));
    let one = w.snapshot(&cfg);
    let to = w.path("out");
    let to_s = to.to_str().unwrap();

    let (o, plan) = w.plan(&one, &["--kind", "local.folder", "--to-dir", to_s]);
    assert_code(&o, 0);
    let s = steps(&plan);
    assert_eq!(s.len(), 1, "{plan:#}");
    assert_eq!(s[0]["action"]["action"], "create");
    assert_eq!(s[0]["subject"]["files"].as_array().unwrap().len(), 4);
    assert_code(&w.apply(&cfg), 0);
    let dest = to.join("tools");
    assert_eq!(files(&dest), files(&src), "files and their modes");
    let meta = |p: &Path| {
        let m = std::fs::symlink_metadata(p).unwrap();
        (m.mtime(), m.mtime_nsec())
    };
    for f in ["deploy.sh", "docs/readme.txt", "conf/app.ini"] {
        assert_eq!(meta(&dest.join(f)), meta(&src.join(f)), "{f}");
    }
    assert_eq!(
        std::fs::read_link(dest.join("README")).unwrap(),
        PathBuf::from("docs/readme.txt")
    );

    // Someone edits a restored file: a conflict, skipped without --force.
    write(&dest.join("deploy.sh"), "#!/bin/sh\necho changed\n", 0o755);
    let (o, plan) = w.plan(&one, &["--kind", "local.folder", "--to-dir", to_s]);
    assert_code(&o, 0);
    let s = steps(&plan);
    assert_eq!(s[0]["action"]["action"], "skip", "{plan:#}");
    let reason = s[0]["action"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("deploy.sh") && reason.contains("--force"),
        "{reason}"
    );
    let o = w.apply(&cfg);
    assert_code(&o, 0);
    assert_eq!(
        std::fs::read_to_string(dest.join("deploy.sh")).unwrap(),
        "#!/bin/sh\necho changed\n",
        "not overwritten"
    );

    // With --force: the conflict is an update naming the file, and it is overwritten.
    let (o, plan) = w.plan(
        &one,
        &["--kind", "local.folder", "--to-dir", to_s, "--force"],
    );
    assert_code(&o, 0);
    let s = steps(&plan);
    assert_eq!(s[0]["action"]["action"], "update", "{plan:#}");
    assert_eq!(s[0]["action"]["fields"][0]["field"], "deploy.sh");
    // A stale plan is refused: the file changes again after planning.
    write(&dest.join("deploy.sh"), "#!/bin/sh\necho again\n", 0o755);
    let o = w.apply(&cfg);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("changed since"), "{}", stderr(&o));
    let (o, _) = w.plan(
        &one,
        &["--kind", "local.folder", "--to-dir", to_s, "--force"],
    );
    assert_code(&o, 0);
    let o = w.apply(&cfg);
    assert_code(&o, 0);
    assert_eq!(files(&dest), files(&src));
    assert_eq!(meta(&dest.join("deploy.sh")), meta(&src.join("deploy.sh")));
    let _ = stdout(&o);
}
