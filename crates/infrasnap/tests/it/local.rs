//! Local files through the real binary and a config file: git repositories rebuilt from the
//! snapshot (same HEAD, refs and working tree, `git fsck` clean), folders (modes, mtimes, links,
//! ignore files), agents (LaunchAgents, systemd user units, crontab), and a planted secrets corpus
//! of which no value reaches the repository or the output in plain text; `--keep-secrets` keeps
//! the originals encrypted (decrypted here with the matching age identity). A second snapshot with
//! nothing changed adds no blobs.
//!
//! Every secret-looking value here is generated at run time from a seed: no real-looking key is
//! written as a literal in this file.

use crate::common;

use std::collections::BTreeMap;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{assert_code, blob_count, catalog_file, read_json, stderr, stdout, walk_files};
use infrasnap_collectors::local::age;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// A temporary world: a home folder, a `bin/` with a stand-in `crontab`, the repository.
struct World {
    dir: tempfile::TempDir,
    /// Snapshots taken so far (each gets its own label: two runs can fall in the same second).
    runs: std::cell::Cell<u32>,
}

const NO_CRONTAB: &str = "#!/bin/sh\necho \"no crontab for $USER\" >&2\nexit 1\n";

impl World {
    fn new() -> Self {
        let w = World {
            dir: tempfile::tempdir().expect("tempdir"),
            runs: std::cell::Cell::new(0),
        };
        std::fs::create_dir_all(w.home()).unwrap();
        std::fs::create_dir_all(w.path("bin")).unwrap();
        w.set_crontab(NO_CRONTAB);
        w
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn home(&self) -> PathBuf {
        self.path("home")
    }

    fn repo(&self) -> PathBuf {
        self.path("repo")
    }

    /// The `crontab` the binary finds first on PATH.
    fn set_crontab(&self, script: &str) {
        let p = self.path("bin/crontab");
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn path_var(&self) -> String {
        format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// An infrasnap.toml with AWS off and `body` after it.
    fn config(&self, body: &str) -> PathBuf {
        let p = self.path("infrasnap.toml");
        std::fs::write(&p, format!("[aws]\ndisabled = true\n\n{body}")).unwrap();
        p
    }

    fn infrasnap(&self, args: &[&str]) -> Output {
        self.infrasnap_with_path(args, &self.path_var())
    }

    fn infrasnap_with_path(&self, args: &[&str], path: &str) -> Output {
        let mut c = common::bin();
        c.env_clear()
            .env("PATH", path)
            .env("HOME", self.home())
            .env("USER", "tester")
            // Never the developer's AWS settings, even though AWS is off.
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            // git must not find a repository above the test's folders.
            .env("GIT_CEILING_DIRECTORIES", self.dir.path())
            .arg("--repo")
            .arg(self.repo())
            .args(args);
        c.output().expect("run infrasnap")
    }

    /// `infrasnap --json snapshot --config <cfg> <extra>`: the output and the metadata.
    fn snapshot(&self, cfg: &Path, extra: &[&str]) -> (Output, Value) {
        self.runs.set(self.runs.get() + 1);
        let label = format!("run-{}", self.runs.get());
        let mut args = vec![
            "--json",
            "snapshot",
            "--label",
            &label,
            "--config",
            cfg.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = self.infrasnap(&args);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!(
                "json output ({e}); stdout:\n{}\nstderr:\n{}",
                stdout(&o),
                stderr(&o)
            )
        });
        let meta = v["metadata"].clone();
        (o, meta)
    }

    fn snapshot_dir(&self, meta: &Value) -> PathBuf {
        self.repo().join(meta["name"].as_str().expect("name"))
    }

    /// Run git in `dir` with a fixed identity and nothing from the developer's configuration.
    fn git(&self, dir: &Path, args: &[&str]) -> String {
        let o = self.git_output(dir, args);
        assert!(
            o.status.success(),
            "git {args:?} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn git_output(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new("git")
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
                "commit.gpgsign=false",
                "-c",
                "tag.gpgsign=false",
            ])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CEILING_DIRECTORIES", self.dir.path())
            .output()
            .expect("run git")
    }
}

fn write(p: &Path, bytes: impl AsRef<[u8]>) {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(p, bytes).unwrap();
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Set a file's mtime (no extra crate: `touch -d @<seconds>`).
fn set_mtime(p: &Path, unix_seconds: i64) {
    let st = Command::new("touch")
        .arg("-h")
        .arg("-d")
        .arg(format!("@{unix_seconds}"))
        .arg(p)
        .status()
        .expect("touch");
    assert!(st.success());
}

fn index(snap: &Path, name: &str) -> BTreeMap<String, Value> {
    let raw = std::fs::read_to_string(snap.join(format!("index/local/{name}.jsonl"))).unwrap();
    raw.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| (v["path"].as_str().unwrap().to_string(), v))
        .collect()
}

/// The catalog records of local kinds, by id (`local.git:::deploy`).
fn local_records(snap: &Path) -> BTreeMap<String, Value> {
    catalog_file(snap, "resources")
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r))
        .filter(|(id, _)| id.starts_with("local."))
        .collect()
}

/// The catalog record of `id`.
#[track_caller]
fn record(snap: &Path, id: &str) -> Value {
    let recs = local_records(snap);
    recs.get(id)
        .unwrap_or_else(|| panic!("{id} not in the catalog: {:?}", recs.keys()))
        .clone()
}

/// The coverage state of `kind` (local kinds have no account or region), and its error.
#[track_caller]
fn coverage(snap: &Path, kind: &str) -> (String, Value) {
    let cov: Vec<Value> = catalog_file(snap, "coverage")
        .into_iter()
        .filter(|c| c["kind"] == kind)
        .collect();
    assert_eq!(cov.len(), 1, "{kind}: {cov:?}");
    assert_eq!(cov[0]["account"], "");
    assert_eq!(cov[0]["region"], "");
    (
        cov[0]["state"].as_str().unwrap().to_string(),
        cov[0]["error"].clone(),
    )
}

/// The names of a record's parts.
fn part_names(rec: &Value) -> Vec<String> {
    rec["parts"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Two snapshots of an unchanged source: the same document, digest and parts.
#[track_caller]
fn assert_same_record(a: &Value, b: &Value) {
    for k in ["path", "blob", "digest", "parts", "index"] {
        assert_eq!(a[k], b[k], "{k} of {}", a["id"]);
    }
}

/// Every file under `dir` (paths relative to it), symlinks as `-> target`, skipping `skip`.
fn tree(dir: &Path, skip: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if skip
                .iter()
                .any(|s| rel == *s || rel.starts_with(&format!("{s}/")))
            {
                continue;
            }
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                out.insert(rel, format!("-> {}", t.display()).into_bytes());
            } else if ft.is_dir() {
                stack.push(p);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Every entry under `dir`, without following links.
fn all_entries(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

/// The shell block of a RESTORE.md.
fn restore_script(md: &str) -> String {
    let start = md.find("```sh\n").expect("a sh block") + 6;
    let end = start + md[start..].find("```").expect("block end");
    md[start..end].to_string()
}

// ---------------------------------------------------------------------------------------------
// Secrets, made at run time
// ---------------------------------------------------------------------------------------------

const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A random-looking string from a seed (distinct per process, so nothing is predictable).
fn gen(seed: u64, len: usize, alphabet: &[u8]) -> String {
    let salt = std::process::id() as u64 ^ 0x5EC2_E75E_ED00;
    common::bytes(seed.wrapping_mul(7919) ^ salt, len)
        .into_iter()
        .map(|b| alphabet[b as usize % alphabet.len()] as char)
        .collect()
}

fn pem(kind: &str, seed: u64) -> (String, Vec<String>) {
    let lines: Vec<String> = (0..4).map(|i| gen(seed * 100 + i, 64, B64)).collect();
    let text = format!(
        "-----{} {kind} {}-----\n{}\n-----{} {kind} {}-----\n",
        "BEGIN",
        "PRIVATE KEY",
        lines.join("\n"),
        "END",
        "PRIVATE KEY"
    );
    (text, lines)
}

/// The planted corpus: files (relative path, content) and the secret values in them.
struct Corpus {
    files: Vec<(String, Vec<u8>)>,
    secrets: Vec<(String, String)>,
}

fn corpus(seed: u64) -> Corpus {
    let aws_id = ["AK", "IA", &gen(seed + 1, 16, UPPER_DIGITS)].concat();
    let aws_secret = gen(seed + 2, 40, B64);
    let (pem_text, pem_lines) = pem("RSA", seed + 3);
    let github = ["gh", "p_", &gen(seed + 4, 36, ALNUM)].concat();
    let bearer = gen(seed + 5, 40, ALNUM);
    let password = gen(seed + 6, 20, ALNUM);
    let api_key = gen(seed + 7, 32, ALNUM);
    let client_secret = gen(seed + 8, 28, ALNUM);
    let (id_rsa, id_rsa_lines) = pem("OPENSSH", seed + 9);
    let env_token = gen(seed + 10, 32, ALNUM);
    let hex: String = gen(seed + 11, 64, b"0123456789abcdef");
    let integrity = gen(seed + 12, 86, B64);

    let mut secrets = vec![
        ("aws access key id".to_string(), aws_id.clone()),
        ("aws secret".into(), aws_secret.clone()),
        ("github token".into(), github.clone()),
        ("bearer token".into(), bearer.clone()),
        ("password".into(), password.clone()),
        ("json api_key".into(), api_key.clone()),
        ("yaml client_secret".into(), client_secret.clone()),
        (".env token".into(), env_token.clone()),
    ];
    for (i, l) in pem_lines.iter().enumerate() {
        secrets.push((format!("pem line {i}"), l.clone()));
    }
    for (i, l) in id_rsa_lines.iter().enumerate() {
        secrets.push((format!("id_rsa line {i}"), l.clone()));
    }
    let files = vec![
        (
            "deploy/aws.sh".to_string(),
            format!(
                "#!/bin/sh\nexport AWS_ACCESS_KEY_ID={aws_id}\nexport AWS_SECRET_ACCESS_KEY={aws_secret}\naws s3 ls\n"
            ),
        ),
        ("notes/server-key.txt".into(), format!("the old server key:\n{pem_text}")),
        (
            "scripts/login.sh".into(),
            format!("#!/bin/sh\necho {github} | gh auth login --with-token\n"),
        ),
        (
            "scripts/call.sh".into(),
            format!("curl -H \"Authorization: Bearer {bearer}\" https://api.acme.test/v1\n"),
        ),
        (
            "app.properties".into(),
            format!("user=deploy\npassword={password}\nhost=db.acme.test\n"),
        ),
        (
            "config/app.json".into(),
            format!("{{\n  \"region\": \"eu-west-1\",\n  \"api_key\": \"{api_key}\"\n}}\n"),
        ),
        (
            "config/oauth.yaml".into(),
            format!("client_id: acme-reports\nclient_secret: {client_secret}\n"),
        ),
        ("id_rsa".into(), id_rsa),
        (".env".into(), format!("API_TOKEN={env_token}\nDEBUG=1\n")),
        (
            "Cargo.lock".into(),
            format!(
                "[[package]]\nname = \"serde\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{hex}\"\n"
            ),
        ),
        (
            "web/package-lock.json".into(),
            format!(
                "{{\n  \"packages\": {{\n    \"node_modules/left-pad\": {{\n      \"version\": \"1.3.0\",\n      \"integrity\": \"sha512-{integrity}==\"\n    }}\n  }}\n}}\n"
            ),
        ),
    ];
    Corpus {
        files: files
            .into_iter()
            .map(|(p, c)| (p, c.into_bytes()))
            .collect(),
        secrets,
    }
}

/// No secret value as plain bytes in any file under the repository (blobs, tree, indexes, keys)
/// nor in the output.
#[track_caller]
fn assert_no_plain_secret(repo: &Path, secrets: &[(String, String)], outputs: &[&Output]) {
    let files = walk_files(repo);
    assert!(!files.is_empty());
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        for (what, v) in secrets {
            assert!(
                !bytes.windows(v.len()).any(|w| w == v.as_bytes()),
                "the {what} is in plain text in {}",
                f.display()
            );
        }
    }
    for o in outputs {
        for (what, v) in secrets {
            assert!(
                !stdout(o).contains(v.as_str()) && !stderr(o).contains(v.as_str()),
                "the {what} is in the output"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// Build the repository of the git test: history pushed to a bare origin, then a commit not
/// pushed, a branch, an annotated tag, a stash, staged, modified, deleted, renamed, untracked and
/// ignored files, and a `.env`.
fn make_git_repo(w: &World) -> (PathBuf, String) {
    let origin = w.path("origin.git");
    let work = w.path("work");
    std::fs::create_dir_all(&work).unwrap();
    w.git(
        w.dir.path(),
        &["init", "-q", "--bare", origin.to_str().unwrap()],
    );
    w.git(&work, &["init", "-q"]);
    write(&work.join(".gitignore"), "target/\n");
    write(&work.join("README.md"), "# deploy\n");
    write(&work.join("bin/deploy.sh"), "#!/bin/sh\necho deploying\n");
    chmod(&work.join("bin/deploy.sh"), 0o755);
    write(&work.join("old-name.txt"), "to be renamed\n");
    write(&work.join("obsolete.txt"), "to be deleted\n");
    write(&work.join("logo.bin"), common::bytes(7, 3000));
    w.git(&work, &["add", "-A"]);
    w.git(&work, &["commit", "-q", "-m", "first"]);
    w.git(
        &work,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    w.git(&work, &["push", "-q", "-u", "origin", "main"]);
    write(&work.join("README.md"), "# deploy\n\nHow to deploy.\n");
    w.git(&work, &["commit", "-q", "-am", "second"]);
    w.git(&work, &["push", "-q"]);
    w.git(&work, &["tag", "-a", "v1.0", "-m", "release 1.0"]);
    w.git(&work, &["branch", "hotfix"]);
    write(&work.join("CHANGELOG.md"), "- unpushed work\n");
    w.git(&work, &["add", "CHANGELOG.md"]);
    w.git(&work, &["commit", "-q", "-m", "third, not pushed"]);
    // A stash.
    write(&work.join("README.md"), "# deploy\n\nstashed idea\n");
    w.git(&work, &["stash", "-q"]);
    // Staged: a modification, a new file, a rename, a binary change.
    write(
        &work.join("README.md"),
        "# deploy\n\nHow to deploy, staged.\n",
    );
    write(&work.join("added.txt"), "new and staged\n");
    let mut logo = common::bytes(7, 3000);
    logo[100] ^= 0xff;
    write(&work.join("logo.bin"), &logo);
    w.git(&work, &["add", "README.md", "added.txt", "logo.bin"]);
    w.git(&work, &["mv", "old-name.txt", "new-name.txt"]);
    // Unstaged on top: a modification of a staged file, a deletion, a mode change.
    write(
        &work.join("README.md"),
        "# deploy\n\nHow to deploy, staged.\nAnd more, not staged.\n",
    );
    std::fs::remove_file(work.join("obsolete.txt")).unwrap();
    // Untracked: files, an executable, a symlink, a nested folder; a secret file; ignored stuff.
    write(&work.join("notes/todo.md"), "- rotate keys\n");
    write(&work.join("notes/deep/er/idea.txt"), "deep\n");
    write(&work.join("tool.sh"), "#!/bin/sh\necho tool\n");
    chmod(&work.join("tool.sh"), 0o750);
    symlink("README.md", work.join("readme-link")).unwrap();
    let env_secret = gen(4242, 32, ALNUM);
    write(&work.join(".env"), format!("DEPLOY_TOKEN={env_secret}\n"));
    write(&work.join("target/debug/app"), common::bytes(9, 5000));
    write(&work.join("target/ignored.txt"), "ignored\n");
    (work, env_secret)
}

#[test]
fn a_git_repository_is_rebuilt_from_the_snapshot() {
    let w = World::new();
    let (work, env_secret) = make_git_repo(&w);
    let cfg = w.config(&format!(
        "[[local]]\nname = \"deploy\"\npath = {:?}\nkind = \"git\"\n",
        work.to_str().unwrap()
    ));
    let git_index = || {
        std::fs::metadata(work.join(".git/index"))
            .unwrap()
            .modified()
            .unwrap()
    };
    let index_before = git_index();
    let (o, meta) = w.snapshot(&cfg, &[]);
    assert_code(&o, 0);
    // The source was only read: not even its index was refreshed.
    assert_eq!(git_index(), index_before);
    let snap = w.snapshot_dir(&meta);
    let base = snap.join("local_repos/deploy");
    let local = &meta["collectors"]["local"];
    assert_eq!(local["counts"]["repositories"], 1, "{local}");
    assert_eq!(local["counts"]["secrets_withheld"], 1, "{local}");

    // The catalog: the repository is `local.git:::deploy`, state.json its document, the rest its
    // parts (untracked files: one folder part, each file in the source's index).
    let rec = record(&snap, "local.git:::deploy");
    assert_eq!(rec["path"], "local_repos/deploy/state.json");
    assert_eq!(rec["index"], "index/local/deploy.jsonl");
    assert_eq!(rec.get("incomplete"), None, "{rec}");
    assert_eq!(
        part_names(&rec),
        [
            "RESTORE.md",
            "redactions.json",
            "repo.bundle",
            "secrets_manifest.json",
            "staged.patch",
            "unstaged.patch",
            "untracked"
        ]
    );
    assert_eq!(
        rec["parts"]["repo.bundle"]["path"],
        "local_repos/deploy/repo.bundle"
    );
    assert_eq!(
        rec["parts"]["untracked"]["path"],
        "local_repos/deploy/untracked"
    );
    assert_eq!(rec["parts"]["untracked"].get("blob"), None);
    assert_eq!(
        coverage(&snap, "local.git"),
        ("complete".into(), Value::Null)
    );

    // state.json: HEAD, refs, unpushed work, changes.
    let state = read_json(&base.join("state.json"));
    let head = w.git(&work, &["rev-parse", "HEAD"]).trim().to_string();
    assert_eq!(state["head"]["commit"], head.as_str());
    assert_eq!(state["head"]["branch"], "main");
    assert_eq!(state["unpushed_commits"], 1);
    let main = state["branches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "main")
        .unwrap();
    assert_eq!(main["upstream"], "refs/remotes/origin/main");
    assert_eq!(
        (main["ahead"].as_u64(), main["behind"].as_u64()),
        (Some(1), Some(0))
    );
    let refnames: Vec<&str> = state["refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for r in [
        "refs/heads/main",
        "refs/heads/hotfix",
        "refs/tags/v1.0",
        "refs/remotes/origin/main",
        "refs/stash",
    ] {
        assert!(refnames.contains(&r), "{r} in {refnames:?}");
    }
    let untracked: Vec<&str> = state["changes"]["untracked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        untracked,
        [
            "notes/deep/er/idea.txt",
            "notes/todo.md",
            "readme-link",
            "tool.sh"
        ]
    );
    assert_eq!(state["changes"]["withheld"], serde_json::json!([".env"]));
    // Ignored files are not captured; nor is the secret file.
    assert!(!base.join("untracked/target").exists());
    assert!(!base.join("untracked/.env").exists());
    let idx = index(&snap, "deploy");
    assert!(idx.keys().all(|p| !p.contains("target/")), "{idx:?}");
    let manifest =
        std::fs::read_to_string(snap.join("local_repos/deploy/secrets_manifest.json")).unwrap();
    assert!(
        manifest.contains("\".env\"") && manifest.contains("fp:"),
        "{manifest}"
    );
    assert!(!manifest.contains(&env_secret));

    // MANIFEST.md lists the repository as needing attention.
    let md = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(
        md.contains("Repositories with unpushed commits or uncommitted changes")
            && md.contains("`deploy`: 1 unpushed commit"),
        "{md}"
    );

    // Rebuild per RESTORE.md, into a new folder.
    let restored = w.path("restored");
    let script = restore_script(&std::fs::read_to_string(base.join("RESTORE.md")).unwrap());
    let r = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(&base)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", w.home())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("DEST", &restored)
        .output()
        .unwrap();
    assert!(
        r.status.success(),
        "restore script failed:\n{script}\n{}",
        stderr(&r)
    );

    // Same HEAD, same refs, same index, same working tree; fsck clean.
    assert_eq!(w.git(&restored, &["rev-parse", "HEAD"]).trim(), head);
    assert_eq!(
        w.git(&restored, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/main"
    );
    let refs = |d: &Path| w.git(d, &["for-each-ref", "--format=%(refname) %(objectname)"]);
    assert_eq!(refs(&restored), refs(&work));
    let staged = |d: &Path| w.git(d, &["diff", "--cached", "--binary", "-M"]);
    assert_eq!(staged(&restored), staged(&work));
    let status = |d: &Path| w.git(d, &["status", "--porcelain=v1", "-uall"]);
    let want_status: String = status(&work)
        .lines()
        .filter(|l| !l.ends_with(".env"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(status(&restored), want_status);
    let mut want = tree(&work, &[".git", "target"]);
    assert!(want.remove(".env").is_some());
    assert_eq!(tree(&restored, &[".git"]), want);
    let mode = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(restored.join("tool.sh")), 0o750);
    assert_eq!(mode(restored.join("bin/deploy.sh")), 0o755);
    assert!(!restored.join(".env").exists());
    let fsck = w.git_output(&restored, &["fsck", "--full", "--strict"]);
    assert!(
        fsck.status.success() && fsck.stdout.is_empty(),
        "fsck: {}{}",
        stdout(&fsck),
        stderr(&fsck)
    );
    assert!(w
        .git(&restored, &["stash", "show", "-p", "refs/stash"])
        .contains("stashed idea"));

    assert_no_plain_secret(&w.repo(), &[("env".into(), env_secret)], &[&o]);

    // A second snapshot, nothing changed: no new blob, the same record.
    let blobs = blob_count(&w.repo());
    let (o2, meta2) = w.snapshot(&cfg, &[]);
    assert_code(&o2, 0);
    assert_eq!(meta2["collectors"]["local"]["blobs_new"], 0, "{meta2}");
    assert_eq!(blob_count(&w.repo()), blobs);
    assert_same_record(&rec, &record(&w.snapshot_dir(&meta2), "local.git:::deploy"));
    let v = w.infrasnap(&["verify", "--all"]);
    assert_code(&v, 0);
}

#[test]
fn secrets_on_added_lines_of_patches_are_redacted_and_the_patch_still_applies() {
    let w = World::new();
    let work = w.path("svc");
    std::fs::create_dir_all(&work).unwrap();
    w.git(&work, &["init", "-q"]);
    write(&work.join("settings.ini"), "[db]\nhost = db.acme.test\n");
    w.git(&work, &["add", "-A"]);
    w.git(&work, &["commit", "-q", "-m", "one"]);
    let pw = gen(77, 24, ALNUM);
    let (key, key_lines) = pem("EC", 78);
    write(
        &work.join("settings.ini"),
        format!("[db]\nhost = db.acme.test\npassword = {pw}\nport = 5432\n"),
    );
    w.git(&work, &["add", "settings.ini"]);
    write(&work.join("keys.txt"), "keys:\n");
    w.git(&work, &["add", "keys.txt"]);
    write(&work.join("keys.txt"), format!("keys:\n{key}trailer\n"));
    let cfg = w.config(&format!(
        "[[local]]\nname = \"svc\"\npath = {:?}\nkind = \"git\"\n",
        work.to_str().unwrap()
    ));
    let (o, meta) = w.snapshot(&cfg, &[]);
    assert_code(&o, 0);
    let base = w.snapshot_dir(&meta).join("local_repos/svc");
    let mut secrets = vec![("password".to_string(), pw.clone())];
    secrets.extend(
        key_lines
            .iter()
            .map(|l| ("key line".to_string(), l.clone())),
    );
    assert_no_plain_secret(&w.repo(), &secrets, &[&o]);
    let red = read_json(&base.join("redactions.json"));
    let files: Vec<String> = red["redactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}:{}:{}",
                r["file"].as_str().unwrap(),
                r["line"],
                r["kind"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        files.contains(&"staged.patch: settings.ini:3:password".to_string()),
        "{files:?}"
    );
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("unstaged.patch: keys.txt:2:private_key")),
        "{files:?}"
    );
    // Rebuilt: the files hold markers where the values were, everything else as it was.
    let restored = w.path("restored");
    let script = restore_script(&std::fs::read_to_string(base.join("RESTORE.md")).unwrap());
    let o = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(&base)
        .env("DEST", &restored)
        .env("HOME", w.home())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let ini = std::fs::read_to_string(restored.join("settings.ini")).unwrap();
    assert!(
        ini.starts_with("[db]\nhost = db.acme.test\npassword = <redacted fp:"),
        "{ini}"
    );
    assert!(ini.ends_with(">\nport = 5432\n"), "{ini}");
    let keys = std::fs::read_to_string(restored.join("keys.txt")).unwrap();
    assert!(
        keys.starts_with("keys:\n")
            && keys.ends_with("trailer\n")
            && keys.contains("<redacted fp:"),
        "{keys}"
    );
    assert_eq!(
        w.git(&restored, &["diff", "--cached", "--name-only"]),
        "keys.txt\nsettings.ini\n"
    );
}

#[test]
fn a_folder_keeps_modes_mtimes_and_links_and_honours_ignore_files() {
    let w = World::new();
    let src = w.path("tools");
    write(
        &src.join("bin/backup.sh"),
        "#!/bin/sh\ntar czf /backups/x.tgz /srv\n",
    );
    chmod(&src.join("bin/backup.sh"), 0o755);
    set_mtime(&src.join("bin/backup.sh"), 1_700_000_000);
    write(&src.join("docs/runbook.md"), "# Runbook\n");
    write(&src.join("docs/deep/er/still/note.txt"), "deep note\n");
    chmod(&src.join("docs/deep/er/still/note.txt"), 0o600);
    write(&src.join(".hidden-config"), "hidden = yes\n");
    write(&src.join(".infrasnapignore"), "scratch/\n*.tmp\n");
    write(&src.join(".gitignore"), "build/\n");
    write(&src.join("scratch/huge.bin"), common::bytes(1, 10_000));
    write(&src.join("draft.tmp"), "not wanted\n");
    write(&src.join("build/out.o"), "not wanted either\n");
    write(&src.join(".git/config"), "[core]\n");
    symlink("docs/runbook.md", src.join("runbook")).unwrap();
    symlink("../../../etc/passwd", src.join("escape")).unwrap();
    symlink("/etc", src.join("etc-dir")).unwrap();
    let cfg = w.config(&format!(
        "[[local]]\nname = \"tools\"\npath = {:?}\nkind = \"folder\"\n",
        src.to_str().unwrap()
    ));
    let (o, meta) = w.snapshot(&cfg, &[]);
    assert_code(&o, 0);
    let snap = w.snapshot_dir(&meta);
    let files = snap.join("local_repos/tools/files");
    let idx = index(&snap, "tools");
    let rels: Vec<&str> = idx
        .values()
        .filter_map(|r| r["rel"].as_str().filter(|_| r["kind"] != "kept_secret"))
        .collect();
    assert_eq!(
        rels,
        [
            ".gitignore",
            ".hidden-config",
            ".infrasnapignore",
            "bin/backup.sh",
            "docs/deep/er/still/note.txt",
            "docs/runbook.md",
            "escape",
            "etc-dir",
            "runbook"
        ]
    );
    let rec = |rel: &str| idx[&format!("local_repos/tools/files/{rel}")].clone();
    let backup = rec("bin/backup.sh");
    assert_eq!(backup["mode"], "0755");
    assert_eq!(backup["mtime"], "2023-11-14T22:13:20.000000000Z");
    assert_eq!(backup["kind"], "file");
    assert_eq!(rec("docs/deep/er/still/note.txt")["mode"], "0600");
    assert_eq!(
        std::fs::read(files.join("bin/backup.sh")).unwrap(),
        std::fs::read(src.join("bin/backup.sh")).unwrap()
    );
    // Links are recorded, never followed and never created.
    let link = rec("escape");
    assert_eq!(link["kind"], "symlink");
    assert_eq!(link["link_target"], "../../../etc/passwd");
    assert_eq!(
        std::fs::read_to_string(files.join("escape")).unwrap(),
        "../../../etc/passwd"
    );
    assert_eq!(rec("etc-dir")["link_target"], "/etc");
    assert!(all_entries(&w.repo())
        .iter()
        .all(|p| !std::fs::symlink_metadata(p)
            .unwrap()
            .file_type()
            .is_symlink()));
    for gone in ["scratch", "draft.tmp", "build", ".git"] {
        assert!(!files.join(gone).exists(), "{gone} was captured");
    }
    let local = &meta["collectors"]["local"];
    assert_eq!(local["counts"]["folders"], 1);
    assert_eq!(local["counts"]["files"], 9);

    // The catalog: `local.folder:::tools`, its document folder.json (what the source is), its
    // files one folder part listed in the index.
    let rec = record(&snap, "local.folder:::tools");
    assert_eq!(rec["path"], "local_repos/tools/folder.json");
    assert_eq!(rec["index"], "index/local/tools.jsonl");
    assert_eq!(
        part_names(&rec),
        ["files", "redactions.json", "secrets_manifest.json"]
    );
    assert_eq!(rec["parts"]["files"]["path"], "local_repos/tools/files");
    let doc = read_json(&snap.join("local_repos/tools/folder.json"));
    assert_eq!(
        doc,
        serde_json::json!({
            "source": src.to_str().unwrap(),
            "files": 6,
            "symlinks": 3,
            "withheld": 0,
            "ignore_files": [".gitignore", ".infrasnapignore"],
        })
    );
    assert_eq!(
        coverage(&snap, "local.folder"),
        ("complete".into(), Value::Null)
    );

    // Unchanged: nothing new, the same record. One changed file: one new blob, the same
    // document (the file's new content is in the index).
    let blobs = blob_count(&w.repo());
    let (o, meta) = w.snapshot(&cfg, &[]);
    assert_code(&o, 0);
    assert_eq!(meta["collectors"]["local"]["blobs_new"], 0);
    assert_eq!(blob_count(&w.repo()), blobs);
    assert_same_record(
        &rec,
        &record(&w.snapshot_dir(&meta), "local.folder:::tools"),
    );
    write(&src.join("docs/runbook.md"), "# Runbook v2\n");
    let (o, meta) = w.snapshot(&cfg, &[]);
    assert_code(&o, 0);
    assert_eq!(meta["collectors"]["local"]["blobs_new"], 1);
    let changed = record(&w.snapshot_dir(&meta), "local.folder:::tools");
    assert_eq!(changed["digest"], rec["digest"]);
    assert_code(&w.infrasnap(&["verify", "--all"]), 0);
}

#[test]
fn agents_are_captured_with_secret_values_redacted() {
    let w = World::new();
    let home = w.home();
    let token = gen(501, 32, ALNUM);
    let unit_token = gen(502, 30, ALNUM);
    let db_password = gen(503, 18, ALNUM);
    let cron_bearer = gen(504, 40, ALNUM);
    write(
        &home.join("Library/LaunchAgents/com.acme.deploy.plist"),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>com.acme.deploy</string>
	<key>ProgramArguments</key>
	<array>
		<string>/usr/local/bin/deploy</string>
	</array>
	<key>EnvironmentVariables</key>
	<dict>
		<key>DEPLOY_TOKEN</key>
		<string>{token}</string>
		<key>PATH</key>
		<string>/usr/local/bin:/usr/bin:/bin</string>
	</dict>
	<key>StartInterval</key>
	<integer>3600</integer>
</dict>
</plist>
"#
        ),
    );
    write(
        &home.join("Library/LaunchAgents/notes.txt"),
        "not an agent\n",
    );
    write(
        &home.join(".config/systemd/user/backup.service"),
        format!(
            "[Unit]\nDescription=Backup\n\n[Service]\nEnvironment=API_TOKEN={unit_token}\nEnvironment=\"DB_PASSWORD={db_password}\" LOG_LEVEL=info\nExecStart=/usr/local/bin/backup\n"
        ),
    );
    write(
        &home.join(".config/systemd/user/backup.timer"),
        "[Timer]\nOnCalendar=daily\n",
    );
    w.set_crontab(&format!(
        "#!/bin/sh\n[ \"$1\" = -l ] || exit 2\nprintf '%s\\n' 'MAILTO=ops@acme.test' '0 3 * * * curl -s -H \"Authorization: Bearer {cron_bearer}\" https://hooks.acme.test/nightly'\n"
    ));
    let cfg = w.config("[[local]]\nname = \"scheduled\"\nkind = \"agents\"\n");
    let (o, meta) = w.snapshot(&cfg, &[]);
    assert_code(&o, 0);
    let snap = w.snapshot_dir(&meta);
    let base = snap.join("local_repos/agents");
    let plist = std::fs::read_to_string(base.join("LaunchAgents/com.acme.deploy.plist")).unwrap();
    assert!(plist.contains("<string><redacted fp:"), "{plist}");
    assert!(plist.contains("<string>/usr/local/bin:/usr/bin:/bin</string>"));
    assert!(plist.contains("<string>com.acme.deploy</string>"));
    assert!(!base.join("LaunchAgents/notes.txt").exists());
    let unit = std::fs::read_to_string(base.join("systemd/backup.service")).unwrap();
    assert!(
        unit.contains("Environment=API_TOKEN=<redacted fp:"),
        "{unit}"
    );
    assert!(unit.contains("LOG_LEVEL=info") && unit.contains("ExecStart=/usr/local/bin/backup"));
    assert!(base.join("systemd/backup.timer").is_file());
    let cron = std::fs::read_to_string(base.join("crontab")).unwrap();
    assert!(
        cron.starts_with("MAILTO=ops@acme.test\n0 3 * * * curl"),
        "{cron}"
    );
    assert!(cron.contains("Bearer <redacted fp:"), "{cron}");
    // One resource per agent file, so a diff names the agent; each file is its part, at the
    // place people know; the documents are shown together in agents.json.
    let ids: Vec<String> = local_records(&snap).keys().cloned().collect();
    assert_eq!(
        ids,
        [
            "local.agent:::crontab",
            "local.agent:::launchd:com.acme.deploy.plist",
            "local.agent:::systemd:backup.service",
            "local.agent:::systemd:backup.timer",
        ]
    );
    let plist_rec = record(&snap, "local.agent:::launchd:com.acme.deploy.plist");
    assert_eq!(plist_rec.get("path"), None, "a member kind: {plist_rec}");
    assert_eq!(
        plist_rec["parts"]["LaunchAgents/com.acme.deploy.plist"]["path"],
        "local_repos/agents/LaunchAgents/com.acme.deploy.plist"
    );
    assert_eq!(
        record(&snap, "local.agent:::crontab")["parts"]["crontab"]["path"],
        "local_repos/agents/crontab"
    );
    assert_eq!(
        coverage(&snap, "local.agent"),
        ("complete".into(), Value::Null)
    );
    let view = read_json(&base.join("agents.json"));
    let items = view["Items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[1]["agent"], "launchd");
    assert_eq!(items[1]["file"], "LaunchAgents/com.acme.deploy.plist");
    assert_eq!(
        items[1]["source"],
        home.join("Library/LaunchAgents/com.acme.deploy.plist")
            .to_str()
            .unwrap()
    );
    assert!(items[1]["mode"].is_string() && items[1]["mtime"].is_string());
    assert_eq!(items[0]["source"], "crontab -l");
    // What the secret checks did is in each agent's document.
    let listed: Vec<(String, u64, String)> = items
        .iter()
        .flat_map(|a| {
            let file = a["file"].as_str().unwrap().to_string();
            a["redactions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |r| {
                    (
                        file.clone(),
                        r["line"].as_u64().unwrap(),
                        r["kind"].as_str().unwrap().to_string(),
                    )
                })
        })
        .collect();
    assert!(
        listed.contains(&(
            "LaunchAgents/com.acme.deploy.plist".into(),
            14,
            "secret_assignment".into()
        )),
        "{listed:?}"
    );
    assert!(listed.contains(&(
        "systemd/backup.service".into(),
        5,
        "secret_assignment".into()
    )));
    assert!(listed.contains(&("systemd/backup.service".into(), 6, "password".into())));
    assert!(
        listed.contains(&("crontab".into(), 2, "bearer_token".into())),
        "{listed:?}"
    );
    assert_no_plain_secret(
        &w.repo(),
        &[
            ("plist token".into(), token),
            ("unit token".into(), unit_token),
            ("unit password".into(), db_password),
            ("crontab bearer".into(), cron_bearer),
        ],
        &[&o],
    );
    let local = &meta["collectors"]["local"];
    assert_eq!(local["counts"]["agents"], 1);
    assert_eq!(local["counts"]["redactions"], 4, "{local}");

    // No crontab at all is not an error: the crontab is gone, the listing complete.
    w.set_crontab(NO_CRONTAB);
    let (o, meta) = w.snapshot(&cfg, &[]);
    assert_code(&o, 0);
    let snap2 = w.snapshot_dir(&meta);
    assert!(!snap2.join("local_repos/agents/crontab").exists());
    assert!(!local_records(&snap2).contains_key("local.agent:::crontab"));
    assert_eq!(coverage(&snap2, "local.agent").0, "complete");
    // Unchanged agents: the same records (the mtime is volatile, left out of the digest).
    assert_same_record(
        &plist_rec,
        &record(&snap2, "local.agent:::launchd:com.acme.deploy.plist"),
    );

    // `crontab -l` failing: whether there is one is unknown, so the listing is failed.
    w.set_crontab("#!/bin/sh\necho 'crontab: cannot open the spool' >&2\nexit 1\n");
    let (o, meta) = w.snapshot(&cfg, &[]);
    assert_code(&o, 3);
    let snap3 = w.snapshot_dir(&meta);
    let (state, error) = coverage(&snap3, "local.agent");
    assert_eq!(state, "failed");
    assert_eq!(error["action"], "crontab -l");
    assert_eq!(local_records(&snap3).len(), 3);
}

/// The corpus planted in a folder, as untracked files of a repository and in an agent: no value
/// anywhere in plain text, lock files copied as they are, and with `--keep-secrets` every
/// original kept, encrypted, and decrypted here with the matching identity.
#[test]
fn planted_secrets_never_reach_the_repository_and_are_kept_encrypted_on_request() {
    let w = World::new();
    let c = corpus(1000);
    let folder = w.path("ops");
    for (rel, bytes) in &c.files {
        write(&folder.join(rel), bytes);
    }
    let work = w.path("repo-with-secrets");
    std::fs::create_dir_all(&work).unwrap();
    w.git(&work, &["init", "-q"]);
    write(&work.join("README.md"), "hello\n");
    w.git(&work, &["add", "-A"]);
    w.git(&work, &["commit", "-q", "-m", "one"]);
    for (rel, bytes) in &c.files {
        write(&work.join(rel), bytes);
    }
    // An agent with a token in it.
    let unit_token = gen(1900, 32, ALNUM);
    let unit = format!("[Service]\nEnvironment=API_TOKEN={unit_token}\nExecStart=/bin/true\n");
    write(&w.home().join(".config/systemd/user/sync.service"), &unit);
    let mut all_secrets = c.secrets.clone();
    all_secrets.push(("unit token".into(), unit_token));
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let cfg = w.config(&format!(
        "[[local]]\nname = \"ops\"\npath = {:?}\nkind = \"folder\"\n\n\
         [[local]]\nname = \"wip\"\npath = {:?}\nkind = \"git\"\n\n\
         [[local]]\nname = \"scheduled\"\nkind = \"agents\"\n\n\
         [secrets]\nrecipient = \"{recipient}\"\n",
        folder.to_str().unwrap(),
        work.to_str().unwrap()
    ));

    // Without --keep-secrets: withheld and redacted, nothing kept.
    let (o, meta) = w.snapshot(&cfg, &[]);
    assert_code(&o, 0);
    assert_no_plain_secret(&w.repo(), &all_secrets, &[&o]);
    let snap = w.snapshot_dir(&meta);
    assert!(!snap.join("local_repos/agents/kept_secrets").exists());
    for name in ["ops", "wip"] {
        let base = snap.join("local_repos").join(name);
        assert!(!base.join("kept_secrets").exists());
        let m = read_json(&base.join("secrets_manifest.json"));
        let withheld: Vec<&str> = m["withheld"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["path"].as_str().unwrap())
            .collect();
        assert_eq!(withheld, [".env", "id_rsa"], "{name}");
        for x in m["withheld"].as_array().unwrap() {
            assert!(x["fingerprint"].as_str().unwrap().starts_with("fp:"));
            assert!(x["size"].as_u64().unwrap() > 0);
        }
        let red = read_json(&base.join("redactions.json"));
        let mut redacted: Vec<&str> = red["redactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["file"].as_str().unwrap())
            .collect();
        redacted.dedup();
        assert_eq!(
            redacted,
            [
                "app.properties",
                "config/app.json",
                "config/oauth.yaml",
                "deploy/aws.sh",
                "notes/server-key.txt",
                "scripts/call.sh",
                "scripts/login.sh"
            ],
            "{name}: {red}"
        );
        // Lock files: copied byte for byte, never scanned.
        let prefix = if name == "ops" { "files" } else { "untracked" };
        for lock in ["Cargo.lock", "web/package-lock.json"] {
            let want = &c.files.iter().find(|(p, _)| p == lock).unwrap().1;
            assert_eq!(
                &std::fs::read(base.join(prefix).join(lock)).unwrap(),
                want,
                "{lock}"
            );
        }
    }
    let local = &meta["collectors"]["local"];
    assert_eq!(local["counts"]["secrets_withheld"], 4, "{local}");

    // With --keep-secrets: the originals, encrypted to the recipient.
    let (o, meta) = w.snapshot(&cfg, &["--keep-secrets"]);
    assert_code(&o, 0);
    assert_no_plain_secret(&w.repo(), &all_secrets, &[&o]);
    let snap = w.snapshot_dir(&meta);
    // The agent's original is a part of the agent.
    let agent = record(&snap, "local.agent:::systemd:sync.service");
    let kept = &agent["parts"]["kept_secrets/systemd/sync.service.age"];
    assert_eq!(
        kept["path"],
        "local_repos/agents/kept_secrets/systemd/sync.service.age"
    );
    let enc = std::fs::read(snap.join(kept["path"].as_str().unwrap())).unwrap();
    assert_eq!(age::decrypt(&identity, &enc).unwrap(), unit.as_bytes());
    for name in ["ops", "wip"] {
        let kept = snap.join("local_repos").join(name).join("kept_secrets");
        for (rel, original) in &c.files {
            let p = kept.join(format!("{rel}.age"));
            if rel.ends_with(".lock") || rel.ends_with("package-lock.json") {
                assert!(!p.exists(), "{rel} kept for nothing");
                continue;
            }
            let enc = std::fs::read(&p)
                .unwrap_or_else(|e| panic!("{name}: {} not kept: {e} (is `--keep-secrets` passed to LocalCollector::with_secrets?)", p.display()));
            assert!(enc.starts_with(b"age-encryption.org/v1\n"));
            assert_eq!(&age::decrypt(&identity, &enc).unwrap(), original, "{rel}");
        }
    }
    // A second run with nothing changed: the kept ciphertexts are reused (the agent's found
    // through the previous snapshot's catalog), no new blob, the same records.
    let blobs = blob_count(&w.repo());
    let (o, meta) = w.snapshot(&cfg, &["--keep-secrets"]);
    assert_code(&o, 0);
    assert_eq!(meta["collectors"]["local"]["blobs_new"], 0, "{meta}");
    assert_eq!(blob_count(&w.repo()), blobs);
    let snap2 = w.snapshot_dir(&meta);
    for id in [
        "local.folder:::ops",
        "local.git:::wip",
        "local.agent:::systemd:sync.service",
    ] {
        assert_same_record(&record(&snap, id), &record(&snap2, id));
    }
    assert_code(&w.infrasnap(&["verify", "--all"]), 0);
}

#[test]
fn failures_are_recorded_and_the_run_goes_on() {
    let w = World::new();
    let plain = w.path("not-a-repo");
    write(&plain.join("file.txt"), "x\n");
    let empty = w.path("empty-repo");
    std::fs::create_dir_all(&empty).unwrap();
    w.git(&empty, &["init", "-q"]);
    write(
        &empty.join("first.txt"),
        "staged in a repository without commits\n",
    );
    w.git(&empty, &["add", "first.txt"]);
    let cfg = w.config(&format!(
        "[[local]]\nname = \"missing\"\npath = {:?}\nkind = \"folder\"\n\n\
         [[local]]\nname = \"plain\"\npath = {:?}\nkind = \"git\"\n\n\
         [[local]]\nname = \"fresh\"\npath = {:?}\nkind = \"git\"\n",
        w.path("nowhere").to_str().unwrap(),
        plain.to_str().unwrap(),
        empty.to_str().unwrap()
    ));
    let (o, meta) = w.snapshot(&cfg, &[]);
    assert_code(&o, 3);
    let errors = meta["collectors"]["local"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0]["service"], "local");
    assert_eq!(errors[0]["resource"], w.path("nowhere").to_str().unwrap());
    assert_eq!(errors[1]["action"], "git rev-parse");
    assert_eq!(errors[1]["resource"], plain.to_str().unwrap());
    assert!(errors[1]["message"]
        .as_str()
        .unwrap()
        .contains("not a git repository"));
    // What could not be read at all leaves nothing, and its kind's listing is failed: its
    // absence is "not comparable", not "removed".
    let snap = w.snapshot_dir(&meta);
    let ids: Vec<String> = local_records(&snap).keys().cloned().collect();
    assert_eq!(ids, ["local.git:::fresh"]);
    for gone in [
        "local_repos/missing",
        "local_repos/plain",
        "index/local/missing.jsonl",
        "index/local/plain.jsonl",
    ] {
        assert!(!snap.join(gone).exists(), "{gone}");
    }
    let (state, error) = coverage(&snap, "local.folder");
    assert_eq!(state, "failed");
    assert_eq!(error["resource"], w.path("nowhere").to_str().unwrap());
    let (state, error) = coverage(&snap, "local.git");
    assert_eq!(state, "failed");
    assert_eq!(error["action"], "git rev-parse");
    // The repository without commits: no bundle, the staged file, and a restore that works.
    let base = snap.join("local_repos/fresh");
    assert!(!base.join("repo.bundle").exists());
    let state = read_json(&base.join("state.json"));
    assert_eq!(state["head"]["commit"], Value::Null);
    assert_eq!(state["head"]["branch"], "main");
    let restored = w.path("restored");
    let script = restore_script(&std::fs::read_to_string(base.join("RESTORE.md")).unwrap());
    let r = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(&base)
        .env("DEST", &restored)
        .env("HOME", w.home())
        .output()
        .unwrap();
    assert!(r.status.success(), "{script}\n{}", stderr(&r));
    assert_eq!(
        std::fs::read_to_string(restored.join("first.txt")).unwrap(),
        "staged in a repository without commits\n"
    );
    assert_eq!(
        w.git(&restored, &["diff", "--cached", "--name-only"]),
        "first.txt\n"
    );
}

#[test]
fn a_missing_git_is_a_recorded_error() {
    let w = World::new();
    let work = w.path("work");
    std::fs::create_dir_all(&work).unwrap();
    w.git(&work, &["init", "-q"]);
    let notes = w.path("notes");
    write(&notes.join("a.md"), "# notes\n");
    let cfg = w.config(&format!(
        "[[local]]\nname = \"work\"\npath = {:?}\nkind = \"git\"\n\n\
         [[local]]\nname = \"notes\"\npath = {:?}\nkind = \"folder\"\n",
        work.to_str().unwrap(),
        notes.to_str().unwrap()
    ));
    // PATH holds only the stand-in crontab: no git.
    let bin = w.path("bin");
    let o = w.infrasnap_with_path(
        &["--json", "snapshot", "--config", cfg.to_str().unwrap()],
        bin.to_str().unwrap(),
    );
    assert_code(&o, 3);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let errors = v["metadata"]["collectors"]["local"]["errors"]
        .as_array()
        .unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["resource"], work.to_str().unwrap());
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("git is not installed"));
    let snap = PathBuf::from(v["path"].as_str().unwrap());
    assert!(snap.join("local_repos/notes/files/a.md").is_file());
    assert_eq!(coverage(&snap, "local.git").0, "failed");
    assert_eq!(coverage(&snap, "local.folder").0, "complete");
    assert!(local_records(&snap).contains_key("local.folder:::notes"));
}

#[test]
fn an_unlabelled_run_whose_time_name_is_taken_gets_a_number() {
    let w = World::new();
    let src = w.path("notes");
    write(&src.join("a.txt"), "a\n");
    let cfg = w.config(&format!(
        "[[local]]\nname = \"notes\"\npath = {:?}\nkind = \"folder\"\n",
        src.to_str().unwrap()
    ));
    let (o, _) = w.snapshot(&cfg, &[]);
    assert_code(&o, 0);
    // Names of the coming seconds are taken, as by runs started in the same second.
    let now = chrono::Utc::now();
    let taken: Vec<String> = (0..20)
        .map(|s| {
            infrasnap_core::ids::SnapshotName::from_time(now + chrono::Duration::seconds(s))
                .to_string()
        })
        .collect();
    for t in &taken {
        std::fs::create_dir_all(w.repo().join(t)).unwrap();
    }
    let o = w.infrasnap(&["--json", "snapshot", "--config", cfg.to_str().unwrap()]);
    assert_code(&o, 0);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let name = v["metadata"]["name"].as_str().unwrap().to_string();
    assert!(
        taken.iter().any(|t| name == format!("{t}-2")),
        "{name} is not one of {taken:?} with -2"
    );
    assert!(w
        .repo()
        .join(&name)
        .join("snapshot_metadata.json")
        .is_file());
    // A --label that is taken is an error that says what to do, never renamed.
    let o = w.infrasnap(&[
        "snapshot",
        "--label",
        &name,
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains("choose another --label"),
        "{}",
        stderr(&o)
    );
}
