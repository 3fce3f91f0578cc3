//! A git repository: every ref as a bundle, plus the working state not committed, enough to
//! rebuild the exact working tree (RESTORE.md, written beside them, says how).
//!
//! In `local_repos/<name>/`:
//! - `repo.bundle`: `git bundle create --all` (branches, tags, remote-tracking refs, the stash,
//!   HEAD): the full history, commits never pushed included. Reused from the previous snapshot
//!   when no ref moved.
//! - `staged.patch` (`git diff --cached --binary`) and `unstaged.patch` (`git diff --binary`);
//!   secret-named files are excluded from both, and secret-looking values on added lines are
//!   redacted (the patches still apply).
//! - `untracked/<path>`: untracked files that are not ignored (secret-named ones withheld,
//!   secret-looking values redacted; a symlink is a small file holding its target).
//! - `conflicted/<path>`: the working copy of files with unresolved merge conflicts.
//! - `state.json` (the resource's document, `local.git:::<name>`): HEAD, every ref, branches with upstream and ahead/behind/unpushed counts,
//!   remotes (URLs without credentials), the changed-file lists.
//! - `RESTORE.md`, `secrets_manifest.json`, `redactions.json`.
//!
//! git runs with `GIT_OPTIONAL_LOCKS=0` (status does not refresh the repository's index), no
//! external diff or textconv drivers, no pager, and fixed diff prefixes, whatever the user's
//! configuration says.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use infrasnap_core::engine::ErrorSink;
use infrasnap_core::keypath::{KeyMapper, ESCAPE_DIR};
use infrasnap_core::metadata::RecordedError;
use serde::Serialize;

use super::{error, patch, sh_quote, LocalRecord, SourceOut};

/// What the manifest says about one repository.
#[derive(Debug, Default)]
pub struct GitSummary {
    pub unpushed: Option<u64>,
    pub has_remote: bool,
    pub commits: bool,
    pub staged: usize,
    pub unstaged: usize,
    pub untracked: usize,
    pub conflicted: usize,
    pub captured: bool,
    /// HEAD is detached; commits reachable only from it (on no branch, no remote).
    pub detached: bool,
    pub detached_only: u64,
}

impl GitSummary {
    /// A short state line and whether the repository needs attention.
    pub fn summary(&self) -> (String, bool) {
        if !self.captured {
            return ("not captured".into(), false);
        }
        let mut parts = Vec::new();
        if !self.commits {
            parts.push("no commits yet".to_string());
        }
        if self.detached && self.commits {
            parts.push(if self.detached_only > 0 {
                format!(
                    "detached HEAD with {} commit{} on no branch",
                    self.detached_only,
                    if self.detached_only == 1 { "" } else { "s" }
                )
            } else {
                "detached HEAD".to_string()
            });
        }
        match self.unpushed {
            Some(n) if n > 0 && self.has_remote => parts.push(format!(
                "{n} unpushed commit{}",
                if n == 1 { "" } else { "s" }
            )),
            Some(n) if n > 0 => parts.push(format!(
                "no remote: {n} commit{} only here",
                if n == 1 { "" } else { "s" }
            )),
            _ => {}
        }
        for (n, what) in [
            (self.staged, "staged"),
            (self.unstaged, "modified"),
            (self.untracked, "untracked"),
            (self.conflicted, "conflicted"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        let attention = self.unpushed.unwrap_or(0) > 0
            || self.detached_only > 0
            || self.staged + self.unstaged + self.untracked + self.conflicted > 0;
        if parts.is_empty() {
            ("clean, everything pushed".into(), false)
        } else {
            (parts.join(", "), attention)
        }
    }
}

struct Git {
    dir: PathBuf,
}

/// A failed git command: what to record.
struct GitError {
    action: String,
    message: String,
}

impl Git {
    fn cmd(&self, args: &[&OsStr]) -> Command {
        let mut c = Command::new("git");
        c.arg("-C").arg(&self.dir);
        for kv in [
            "core.quotepath=off",
            "core.fsmonitor=false",
            "diff.noprefix=false",
            "diff.mnemonicprefix=false",
            "diff.external=",
            "color.ui=false",
            "core.pager=cat",
        ] {
            c.arg("-c").arg(kv);
        }
        c.args(args);
        for v in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_OBJECT_DIRECTORY",
            "GIT_ALTERNATE_OBJECT_DIRECTORIES",
            "GIT_NAMESPACE",
            "GIT_COMMON_DIR",
            "GIT_EXTERNAL_DIFF",
            "GIT_DIFF_OPTS",
        ] {
            c.env_remove(v);
        }
        c.env("GIT_OPTIONAL_LOCKS", "0")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_PAGER", "cat")
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        c
    }

    /// Run and return stdout; a non-zero exit is an error with git's message.
    fn run(&self, action: &str, args: &[&str]) -> Result<Vec<u8>, GitError> {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        self.run_os(action, &args)
    }

    fn run_os(&self, action: &str, args: &[&OsStr]) -> Result<Vec<u8>, GitError> {
        let o = self.cmd(args).output().map_err(|e| GitError {
            action: action.into(),
            message: spawn_message(&e),
        })?;
        if !o.status.success() {
            return Err(GitError {
                action: action.into(),
                message: git_message(&o.stderr, o.status),
            });
        }
        Ok(o.stdout)
    }

    /// Run and return stdout as trimmed text, `None` on a non-zero exit.
    fn try_text(&self, args: &[&str]) -> Option<String> {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let o = self.cmd(&args).output().ok()?;
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
    }
}

fn spawn_message(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        "git is not installed (or not on PATH): install git to capture repositories".into()
    } else {
        format!("cannot run git: {e}")
    }
}

fn git_message(stderr: &[u8], status: std::process::ExitStatus) -> String {
    let s = String::from_utf8_lossy(stderr);
    let s: String = s.trim().lines().take(4).collect::<Vec<_>>().join(" / ");
    let s: String = s.chars().take(600).collect();
    if s.is_empty() {
        format!("git exited with {status}")
    } else {
        s
    }
}

/// One entry of `git status --porcelain=v2`.
#[derive(Debug, Clone, PartialEq)]
enum Entry {
    /// `1`/`2`: a tracked file changed in the index (X) and/or the working tree (Y).
    Changed {
        x: char,
        y: char,
        path: Vec<u8>,
        orig: Option<Vec<u8>>,
    },
    Unmerged {
        path: Vec<u8>,
    },
    Untracked {
        path: Vec<u8>,
    },
}

/// Parse `git status --porcelain=v2 -z` (header lines are skipped).
fn parse_status(out: &[u8]) -> Vec<Entry> {
    let mut v = Vec::new();
    let mut fields = out.split(|&b| b == 0).peekable();
    while let Some(rec) = fields.next() {
        if rec.is_empty() || rec[0] == b'#' {
            continue;
        }
        let nth_rest = |n: usize| -> Option<(Vec<&[u8]>, &[u8])> {
            let mut parts = Vec::new();
            let mut rest = rec;
            for _ in 0..n {
                let sp = rest.iter().position(|&b| b == b' ')?;
                parts.push(&rest[..sp]);
                rest = &rest[sp + 1..];
            }
            Some((parts, rest))
        };
        match rec[0] {
            b'1' => {
                if let Some((p, path)) = nth_rest(8) {
                    let xy = p[1];
                    v.push(Entry::Changed {
                        x: xy[0] as char,
                        y: xy[1] as char,
                        path: path.to_vec(),
                        orig: None,
                    });
                }
            }
            b'2' => {
                let orig = fields.next().map(<[u8]>::to_vec);
                if let Some((p, path)) = nth_rest(9) {
                    let xy = p[1];
                    v.push(Entry::Changed {
                        x: xy[0] as char,
                        y: xy[1] as char,
                        path: path.to_vec(),
                        orig,
                    });
                }
            }
            b'u' => {
                if let Some((_, path)) = nth_rest(10) {
                    v.push(Entry::Unmerged {
                        path: path.to_vec(),
                    });
                }
            }
            b'?' => v.push(Entry::Untracked {
                path: rec.get(2..).unwrap_or_default().to_vec(),
            }),
            _ => {}
        }
    }
    v
}

fn lossy(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

/// A remote URL without credentials (`https://user:token@host/x` -> `https://host/x`;
/// `?access_token=...` -> `?access_token=<redacted>`).
pub fn strip_credentials(url: &str) -> String {
    infrasnap_core::secrets::strip_url_credentials(url)
}

#[derive(Serialize)]
struct Head {
    /// The commit HEAD points to (`null` in a repository with no commits yet).
    commit: Option<String>,
    /// The branch HEAD is on (`null` when detached).
    branch: Option<String>,
    detached: bool,
}

#[derive(Serialize)]
struct RefInfo {
    name: String,
    object: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    symref: Option<String>,
}

#[derive(Serialize)]
struct Branch {
    name: String,
    commit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    upstream: Option<String>,
    /// Commits on the branch that its upstream lacks, and the reverse.
    #[serde(skip_serializing_if = "Option::is_none")]
    ahead: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    behind: Option<u64>,
    /// Commits on the branch that no remote-tracking ref has.
    unpushed: u64,
}

#[derive(Serialize)]
struct Remote {
    name: String,
    /// Without credentials.
    url: Option<String>,
}

#[derive(Serialize)]
struct Change {
    path: String,
    /// Status letter as in `git status --porcelain` (M, A, D, R, C, T).
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    orig_path: Option<String>,
}

#[derive(Serialize)]
struct Skipped {
    path: String,
    why: String,
}

#[derive(Serialize, Default)]
struct Changes {
    staged: Vec<Change>,
    unstaged: Vec<Change>,
    untracked: Vec<String>,
    conflicted: Vec<String>,
    /// Changed or untracked files whose names say they hold secrets: not in the patches, not
    /// copied (see secrets_manifest.json).
    withheld: Vec<String>,
    /// Untracked entries not captured (nested repositories, sockets).
    not_captured: Vec<Skipped>,
    /// Shell commands RESTORE.md runs after copying files back (modes, links, escaped names).
    #[serde(skip)]
    fixups: Vec<String>,
    /// Top-level names of the copied files (made writable again after the copy).
    #[serde(skip)]
    top_level: Vec<String>,
}

#[derive(Serialize)]
struct State {
    source: String,
    bare: bool,
    head: Head,
    refs: Vec<RefInfo>,
    branches: Vec<Branch>,
    remotes: Vec<Remote>,
    /// Commits on local branches that no remote-tracking ref has (all of them with no remote).
    unpushed_commits: u64,
    changes: Changes,
    /// Files of this folder: `repo.bundle`, `staged.patch`, `unstaged.patch` (absent when
    /// there is nothing to hold).
    files: Vec<String>,
    note: String,
}

/// Capture one repository into `out`. `Err`: it cannot be read at all (nothing was written).
/// Other errors are recorded; whatever could be captured is.
pub fn capture(
    out: &mut SourceOut<'_>,
    path: &Path,
    errors: &ErrorSink,
) -> Result<GitSummary, RecordedError> {
    let mut sum = GitSummary::default();
    let resource = path.display().to_string();
    let rec = |e: GitError| errors.record(error(&e.action, &resource, e.message));
    let fail = |e: GitError| error(&e.action, &resource, e.message);
    if !path.exists() {
        return Err(error("read", &resource, "no such folder"));
    }
    let probe = Git {
        dir: path.to_path_buf(),
    };
    let bare = match probe.run("git rev-parse", &["rev-parse", "--is-bare-repository"]) {
        Ok(o) => String::from_utf8_lossy(&o).trim() == "true",
        Err(mut e) => {
            if !e.message.starts_with("git is not installed") {
                e.message = format!("not a git repository: {}", e.message);
            }
            return Err(fail(e));
        }
    };
    let root = if bare {
        path.to_path_buf()
    } else {
        match probe.run("git rev-parse", &["rev-parse", "--show-toplevel"]) {
            Ok(o) => PathBuf::from(OsStr::from_bytes(trim_nl(&o))),
            Err(e) => return Err(fail(e)),
        }
    };
    let git = Git { dir: root.clone() };
    sum.captured = true;

    // HEAD and refs.
    let branch = git
        .try_text(&["symbolic-ref", "-q", "HEAD"])
        .filter(|s| !s.is_empty());
    let head_commit = git
        .try_text(&["rev-parse", "-q", "--verify", "HEAD^{commit}"])
        .filter(|s| !s.is_empty());
    let detached = branch.is_none();
    sum.commits = head_commit.is_some();
    let refs = match git.run(
        "git for-each-ref",
        &[
            "for-each-ref",
            "--format=%(refname)%00%(objectname)%00%(objecttype)%00%(upstream)%00%(symref)",
        ],
    ) {
        Ok(o) => o,
        Err(e) => {
            rec(e);
            Vec::new()
        }
    };
    let mut ref_list = Vec::new();
    let mut upstreams = Vec::new();
    for line in refs.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let f: Vec<String> = line.split(|&b| b == 0).map(lossy).collect();
        if f.len() < 5 {
            continue;
        }
        upstreams.push((f[0].clone(), f[1].clone(), f[3].clone()));
        ref_list.push(RefInfo {
            name: f[0].clone(),
            object: f[1].clone(),
            kind: f[2].clone(),
            symref: (!f[4].is_empty()).then(|| f[4].clone()),
        });
    }
    if !ref_list.is_empty() {
        sum.commits = true;
    }
    let remote_names: Vec<String> = git
        .try_text(&["remote"])
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let remotes: Vec<Remote> = remote_names
        .iter()
        .map(|r| Remote {
            name: r.clone(),
            url: git
                .try_text(&["config", "--get", &format!("remote.{r}.url")])
                .map(|u| strip_credentials(&u)),
        })
        .collect();
    let has_tracking = ref_list.iter().any(|r| r.name.starts_with("refs/remotes/"));
    sum.has_remote = !remotes.is_empty() || has_tracking;

    // Branches: upstream, ahead/behind, unpushed.
    let mut branches = Vec::new();
    for (name, commit, upstream) in &upstreams {
        let Some(short) = name.strip_prefix("refs/heads/") else {
            continue;
        };
        let (mut ahead, mut behind) = (None, None);
        if !upstream.is_empty() && ref_list.iter().any(|r| &r.name == upstream) {
            if let Some(t) = git.try_text(&[
                "rev-list",
                "--left-right",
                "--count",
                &format!("{name}...{upstream}"),
            ]) {
                let mut it = t.split_whitespace().map(|n| n.parse::<u64>().ok());
                ahead = it.next().flatten();
                behind = it.next().flatten();
            }
        }
        let unpushed = git
            .try_text(&["rev-list", "--count", name, "--not", "--remotes"])
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        branches.push(Branch {
            name: short.to_string(),
            commit: commit.clone(),
            upstream: (!upstream.is_empty()).then(|| upstream.clone()),
            ahead,
            behind,
            unpushed,
        });
    }
    let unpushed = if sum.commits {
        git.try_text(&["rev-list", "--count", "--branches", "--not", "--remotes"])
            .and_then(|t| t.parse().ok())
            .unwrap_or(0)
    } else {
        0
    };
    sum.unpushed = Some(unpushed);
    sum.detached = detached;
    if detached && head_commit.is_some() {
        sum.detached_only = git
            .try_text(&[
                "rev-list",
                "--count",
                "HEAD",
                "--not",
                "--branches",
                "--remotes",
            ])
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
    }

    let mut files = Vec::new();
    // The bundle.
    if !ref_list.is_empty() || head_commit.is_some() {
        let mut digest = blake3::Hasher::new();
        digest.update(format!("HEAD {}\n", head_commit.as_deref().unwrap_or("-")).as_bytes());
        for r in &ref_list {
            digest.update(format!("{} {}\n", r.name, r.object).as_bytes());
        }
        let digest = digest.finalize().to_hex().to_string();
        let rec_b = LocalRecord {
            refs_digest: Some(digest.clone()),
            ..LocalRecord::new("bundle")
        };
        let reuse = out
            .previous("repo.bundle")
            .filter(|p| p.refs_digest.as_deref() == Some(&digest))
            .map(|p| (p.blob, p.size));
        let res = match reuse {
            Some((id, size)) => out.place("repo.bundle", id, size, false, rec_b),
            None => bundle(&git, out, rec_b),
        };
        match res {
            Ok(()) => files.push("repo.bundle".to_string()),
            Err(m) => errors.record(error("git bundle", &resource, m)),
        }
    }

    let mut changes = Changes::default();
    if !bare {
        working_state(
            &git,
            &root,
            out,
            &mut changes,
            &mut files,
            errors,
            &resource,
        );
    }
    sum.staged = changes.staged.len();
    sum.unstaged = changes.unstaged.len();
    sum.untracked = changes.untracked.len();
    sum.conflicted = changes.conflicted.len();

    let state = State {
        source: path.display().to_string(),
        bare,
        head: Head {
            commit: head_commit.clone(),
            branch: branch
                .as_deref()
                .map(|b| b.strip_prefix("refs/heads/").unwrap_or(b).to_string()),
            detached,
        },
        refs: ref_list,
        branches,
        remotes,
        unpushed_commits: unpushed,
        changes,
        files: files.clone(),
        note: "Rebuild the working tree with the steps in RESTORE.md. Committed files are kept \
               as committed, in repo.bundle; the stash is kept as refs/stash (its reflog, the \
               older stash entries, is not)."
            .into(),
    };
    if let Err(m) = out.put_doc(&serde_json::to_value(&state).expect("serialisable")) {
        errors.record(error("write", &resource, m));
    }
    let restore = restore_md(&out.name, &state);
    if let Err(m) = out.put(
        "RESTORE.md",
        restore.as_bytes(),
        LocalRecord::new("generated"),
    ) {
        errors.record(error("write", &resource, m));
    }
    Ok(sum)
}

fn trim_nl(b: &[u8]) -> &[u8] {
    let mut b = b;
    while let Some(r) = b.strip_suffix(b"\n") {
        b = r;
    }
    b
}

/// `git bundle create - --all`, streamed into the store.
fn bundle(git: &Git, out: &mut SourceOut<'_>, rec: LocalRecord) -> Result<(), String> {
    let mut child = git
        .cmd(&[
            OsStr::new("bundle"),
            OsStr::new("create"),
            OsStr::new("--quiet"),
            OsStr::new("-"),
            OsStr::new("--all"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_message(&e))?;
    let mut stderr = child.stderr.take().expect("piped");
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        s
    });
    let mut stdout = child.stdout.take().expect("piped");
    let mut w = out.cx.repo.store().writer().map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 256 * 1024];
    let copy: Result<(), String> = loop {
        match stdout.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                if let Err(e) = w.write_all(&buf[..n]) {
                    break Err(e.to_string());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Err(format!("read git's output: {e}")),
        }
    };
    drop(stdout);
    let status = child.wait().map_err(|e| e.to_string())?;
    let err = err_reader.join().unwrap_or_default();
    copy?;
    if !status.success() {
        return Err(git_message(&err, status));
    }
    let st = w.finish().map_err(|e| e.to_string())?;
    out.place("repo.bundle", st.id, st.size, st.new, rec)
}

/// The uncommitted state: patches, untracked and conflicted files.
fn working_state(
    git: &Git,
    root: &Path,
    out: &mut SourceOut<'_>,
    changes: &mut Changes,
    files: &mut Vec<String>,
    errors: &ErrorSink,
    resource: &str,
) {
    let status = match git.run(
        "git status",
        &[
            "status",
            "--porcelain=v2",
            "-z",
            "--untracked-files=all",
            "--ignored=no",
        ],
    ) {
        Ok(o) => parse_status(&o),
        Err(e) => {
            errors.record(error(&e.action, resource, e.message));
            return;
        }
    };
    let secret = |p: &[u8]| {
        let rel = lossy(p);
        super::shield::is_secret_name(&root.join(OsStr::from_bytes(p)), &rel)
    };
    // Paths kept out of the patches: secret-named files, and unresolved conflicts.
    let mut excluded: Vec<Vec<u8>> = Vec::new();
    let mut untracked = Vec::new();
    let mut conflicted = Vec::new();
    for e in &status {
        match e {
            Entry::Changed { x, y, path, orig } => {
                let is_secret = secret(path) || orig.as_deref().is_some_and(secret);
                if is_secret {
                    excluded.push(path.clone());
                    if let Some(o) = orig {
                        excluded.push(o.clone());
                    }
                    changes.withheld.push(lossy(path));
                    // The working copy (if any) is fingerprinted and kept like any secret file.
                    let abs = root.join(OsStr::from_bytes(path));
                    if let Ok(bytes) = std::fs::read(&abs) {
                        let src = std::fs::metadata(&abs)
                            .ok()
                            .map(|m| LocalRecord::of_source("file", &lossy(path), &m));
                        if let Err(m) = out.withhold(
                            &lossy(path),
                            &bytes,
                            "the file's name says it holds secrets (changed, not committed)",
                            src.as_ref(),
                        ) {
                            errors.record(error("write", resource, m));
                        }
                    }
                    continue;
                }
                let ch = |c: char| Change {
                    path: lossy(path),
                    status: c.to_string(),
                    orig_path: orig.as_deref().map(lossy),
                };
                if *x != '.' {
                    changes.staged.push(ch(*x));
                }
                if *y != '.' {
                    changes.unstaged.push(ch(*y));
                }
            }
            Entry::Unmerged { path } => {
                excluded.push(path.clone());
                conflicted.push(path.clone());
            }
            Entry::Untracked { path } => untracked.push(path.clone()),
        }
    }

    // The two patches.
    for (name, cached, nonempty) in [
        ("staged.patch", true, !changes.staged.is_empty()),
        ("unstaged.patch", false, !changes.unstaged.is_empty()),
    ] {
        if !nonempty {
            continue;
        }
        let mut args: Vec<Vec<u8>> = vec![b"diff".to_vec()];
        if cached {
            args.push(b"--cached".to_vec());
        }
        for a in [
            "--binary",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--no-relative",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            "--",
        ] {
            args.push(a.as_bytes().to_vec());
        }
        for p in &excluded {
            let mut spec = b":(top,exclude,literal)".to_vec();
            spec.extend_from_slice(p);
            args.push(spec);
        }
        let os: Vec<&OsStr> = args.iter().map(|a| OsStr::from_bytes(a)).collect();
        let diff = match git.run_os("git diff", &os) {
            Ok(d) => d,
            Err(e) => {
                errors.record(error(&e.action, resource, e.message));
                continue;
            }
        };
        if diff.is_empty() {
            continue;
        }
        // unstaged.patch's context and `-` lines come from the index, which may hold secrets
        // staged but never committed: every line of it is redacted.
        let lines = if cached {
            patch::Lines::Added
        } else {
            patch::Lines::All
        };
        let redacted = patch::redact_patch(&diff, name, lines, &mut out.shield);
        let res = match &redacted {
            Some(r) => {
                let rec = LocalRecord {
                    redacted: true,
                    ..LocalRecord::new("patch")
                };
                out.put(name, r, rec)
                    .and_then(|()| out.keep(name, &diff, "original", None))
            }
            None => out.put(name, &diff, LocalRecord::new("patch")),
        };
        match res {
            Ok(()) => files.push(name.to_string()),
            Err(m) => errors.record(error("write", resource, m)),
        }
    }

    // Untracked and conflicted files.
    for (folder, list, is_untracked) in [
        ("untracked", &untracked, true),
        ("conflicted", &conflicted, false),
    ] {
        let mut mapper = KeyMapper::new();
        for p in list {
            let rel = lossy(p);
            let abs = root.join(OsStr::from_bytes(p));
            if rel.ends_with('/') {
                changes.not_captured.push(Skipped {
                    path: rel,
                    why: "a nested git repository (list it as its own [[local]] source)".into(),
                });
                continue;
            }
            let meta = match std::fs::symlink_metadata(&abs) {
                Ok(m) => m,
                Err(e) => {
                    errors.record(error("read", &abs.display().to_string(), e.to_string()));
                    continue;
                }
            };
            if meta.is_file() && super::shield::is_secret_name(&abs, &rel) {
                changes.withheld.push(rel.clone());
                let res = std::fs::read(&abs)
                    .map_err(|e| format!("read: {e}"))
                    .and_then(|b| {
                        out.withhold(
                            &rel,
                            &b,
                            "the file's name says it holds secrets (untracked)",
                            Some(&LocalRecord::of_source("file", &rel, &meta)),
                        )
                    });
                if let Err(m) = res {
                    errors.record(error("read", &abs.display().to_string(), m));
                }
                continue;
            }
            let placed = mapper.place(&rel, meta.len());
            let tree_rel = format!("{folder}/{}", placed.rel);
            if placed.escaped {
                // A name the snapshot cannot hold as is: copied under an escaped name, renamed
                // back on restore.
                changes.fixups.push(format!(
                    "mkdir -p \"$(dirname {r})\" && mv {e} {r}",
                    e = sh_quote(&placed.rel),
                    r = sh_quote(&rel)
                ));
                if !changes.top_level.iter().any(|t| t == ESCAPE_DIR) {
                    changes.top_level.push(ESCAPE_DIR.to_string());
                }
            }
            let res = if meta.file_type().is_symlink() {
                match std::fs::read_link(&abs) {
                    Ok(t) => {
                        let target = t.as_os_str().as_bytes().to_vec();
                        let rec = LocalRecord {
                            link_target: Some(lossy(&target)),
                            ..LocalRecord::of_source("symlink", &rel, &meta)
                        };
                        changes.fixups.push(format!(
                            "rm -f {p} && ln -s {t} {p}",
                            p = sh_quote(&rel),
                            t = sh_quote(&lossy(&target))
                        ));
                        out.put(&tree_rel, &target, rec)
                    }
                    Err(e) => Err(format!("read link: {e}")),
                }
            } else if meta.is_file() {
                let mode = meta.permissions().mode() & 0o7777;
                if mode & 0o111 != 0 {
                    changes
                        .fixups
                        .push(format!("chmod {:o} {}", mode, sh_quote(&rel)));
                }
                out.capture_file(&abs, &rel, &tree_rel, &meta)
            } else {
                changes.not_captured.push(Skipped {
                    path: rel.clone(),
                    why: "not a regular file or a symlink".into(),
                });
                continue;
            };
            match res {
                Ok(()) => {
                    let top = rel.split('/').next().unwrap_or(&rel).to_string();
                    if !changes.top_level.contains(&top) {
                        changes.top_level.push(top);
                    }
                    if is_untracked {
                        changes.untracked.push(rel);
                    } else {
                        changes.conflicted.push(rel);
                    }
                }
                Err(m) => errors.record(error("read", &abs.display().to_string(), m)),
            }
        }
    }
}

const RESTORE_NOTES: &str = "\
Notes:

- Secret-looking values on added lines of the patches and in untracked files were replaced with \
markers (`redactions.json` lists them). Withheld secret files are not restored.
- With `--keep-secrets`, the originals are in `kept_secrets/<path>.age`, encrypted to the \
configured recipient: `age -d -i key.txt kept_secrets/.env.age > \"$DEST/.env\"` restores one \
(for a patch: decrypt it and apply it instead of the redacted one).
- Files with unresolved merge conflicts are restored, from `conflicted/`, as modified working \
files (the conflict stages and an unfinished merge or rebase are not kept).
- The stash is restored as `refs/stash` (`git stash apply refs/stash`); older stash entries (its \
reflog) are not kept. Reflogs and hooks are not kept.
- File modes of untracked files are restored above; `state.json` and `index/local/<name>.jsonl` \
(in the snapshot) list every file with its mode and modification time.
";

/// RESTORE.md: the exact commands that rebuild this repository's working tree.
fn restore_md(name: &str, st: &State) -> String {
    let mut s = String::new();
    let has = |f: &str| st.files.iter().any(|x| x == f);
    s.push_str(&format!("# Restoring `{name}`\n\n"));
    s.push_str(&format!(
        "Captured from `{}`. HEAD: {}.\n\n",
        st.source,
        match (&st.head.branch, &st.head.commit) {
            (Some(b), Some(c)) => format!("branch `{b}` at `{c}`"),
            (Some(b), None) => format!("branch `{b}`, no commits yet"),
            (None, Some(c)) => format!("detached at `{c}`"),
            (None, None) => "unborn".into(),
        }
    ));
    s.push_str(
        "Run these commands from this folder (`SNAP` defaults to it) with `DEST` set to a new, \
         empty folder. They rebuild every ref, HEAD, the index (staged changes) and the working \
         tree (unstaged changes, untracked files).\n\n",
    );
    s.push_str("```sh\n");
    s.push_str("set -e\n");
    s.push_str("SNAP=\"$(cd \"${SNAP:-.}\" && pwd)\"\n");
    s.push_str(": \"${DEST:?set DEST to a new, empty folder}\"\n");
    s.push_str("git init -q \"$DEST\"\n");
    s.push_str("cd \"$DEST\"\n");
    if has("repo.bundle") {
        s.push_str("git fetch -q --update-head-ok \"$SNAP/repo.bundle\" '+refs/*:refs/*'\n");
    }
    match (&st.head.branch, &st.head.commit) {
        (Some(b), _) => {
            s.push_str(&format!(
                "git symbolic-ref HEAD {}\n",
                sh_quote(&format!("refs/heads/{b}"))
            ));
        }
        (None, Some(c)) => {
            if has("repo.bundle") {
                s.push_str("git fetch -q \"$SNAP/repo.bundle\" HEAD\n");
            }
            s.push_str(&format!("git update-ref --no-deref HEAD {c}\n"));
        }
        _ => {}
    }
    if st.head.commit.is_some() {
        s.push_str("git reset -q --hard\n");
    }
    if has("staged.patch") {
        s.push_str("git apply --index --whitespace=nowarn \"$SNAP/staged.patch\"\n");
    }
    if has("unstaged.patch") {
        s.push_str(
            "# Every line of unstaged.patch is redacted; should a hunk whose context is a secret \
             committed to HEAD not apply, add --reject and fix that file by hand.\n",
        );
        s.push_str("git apply --whitespace=nowarn \"$SNAP/unstaged.patch\"\n");
    }
    for (folder, list) in [
        ("untracked", &st.changes.untracked),
        ("conflicted", &st.changes.conflicted),
    ] {
        if !list.is_empty() {
            s.push_str(&format!("cp -R \"$SNAP/{folder}/.\" .\n"));
        }
    }
    if !st.changes.top_level.is_empty() {
        let names: Vec<String> = st.changes.top_level.iter().map(|n| sh_quote(n)).collect();
        // Tree files are read-only; the copies must not be.
        s.push_str(&format!("chmod -R u+w {}\n", names.join(" ")));
    }
    for f in &st.changes.fixups {
        s.push_str(f);
        s.push('\n');
    }
    if st.changes.top_level.iter().any(|t| t == ESCAPE_DIR) {
        s.push_str(&format!("rm -rf {ESCAPE_DIR}\n"));
    }
    s.push_str("```\n\n");
    if !st.remotes.is_empty() || st.branches.iter().any(|b| b.upstream.is_some()) {
        s.push_str(
            "The remotes and upstream branches, to set up again if wanted (URLs are stored \
             without credentials):\n\n```sh\n",
        );
        for r in &st.remotes {
            if let Some(u) = &r.url {
                s.push_str(&format!(
                    "git remote add {} {}\n",
                    sh_quote(&r.name),
                    sh_quote(u)
                ));
            }
        }
        for b in &st.branches {
            if let Some(u) = &b.upstream {
                if let Some(rest) = u.strip_prefix("refs/remotes/") {
                    if let Some((remote, rbranch)) = rest.split_once('/') {
                        s.push_str(&format!(
                            "git config {} {}\ngit config {} {}\n",
                            sh_quote(&format!("branch.{}.remote", b.name)),
                            sh_quote(remote),
                            sh_quote(&format!("branch.{}.merge", b.name)),
                            sh_quote(&format!("refs/heads/{rbranch}"))
                        ));
                    }
                }
            }
        }
        s.push_str("```\n\n");
    }
    if !st.changes.withheld.is_empty() {
        s.push_str(
            "Not restored by these steps: files whose names say they hold secrets (listed \
                    in `secrets_manifest.json`):\n\n",
        );
        for w in &st.changes.withheld {
            s.push_str(&format!("- `{w}`\n"));
        }
        s.push('\n');
    }
    s.push_str(RESTORE_NOTES);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_stripped_from_urls() {
        assert_eq!(
            strip_credentials("https://bob:tok3n@github.com/acme/x.git"),
            "https://github.com/acme/x.git"
        );
        assert_eq!(
            strip_credentials("https://github.com/acme/x.git"),
            "https://github.com/acme/x.git"
        );
        assert_eq!(
            strip_credentials("git@github.com:acme/x.git"),
            "git@github.com:acme/x.git"
        );
        assert_eq!(
            strip_credentials("https://gitlab.example.com/acme/x.git?access_token=glpat-abc&ref=1"),
            "https://gitlab.example.com/acme/x.git?access_token=<redacted>&ref=1"
        );
    }

    #[test]
    fn porcelain_v2_parses() {
        let out = b"# branch.oid abc\0# branch.head main\0\
1 .M N... 100644 100644 100644 aaa aaa src/a b.rs\0\
2 R. N... 100644 100644 100644 bbb bbb R100 new.txt\0old.txt\0\
u UU N... 100644 100644 100644 100644 c1 c2 c3 conflict.txt\0\
? dir/untracked file\0";
        let v = parse_status(out);
        assert_eq!(v.len(), 4);
        assert_eq!(
            v[0],
            Entry::Changed {
                x: '.',
                y: 'M',
                path: b"src/a b.rs".to_vec(),
                orig: None
            }
        );
        assert_eq!(
            v[1],
            Entry::Changed {
                x: 'R',
                y: '.',
                path: b"new.txt".to_vec(),
                orig: Some(b"old.txt".to_vec())
            }
        );
        assert_eq!(
            v[2],
            Entry::Unmerged {
                path: b"conflict.txt".to_vec()
            }
        );
        assert_eq!(
            v[3],
            Entry::Untracked {
                path: b"dir/untracked file".to_vec()
            }
        );
    }
}
