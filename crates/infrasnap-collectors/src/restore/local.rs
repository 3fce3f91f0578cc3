//! Local sources into a directory (`--to-dir`): a git repository is rebuilt as its snapshot's
//! RESTORE.md says (init, fetch every ref from the bundle, HEAD as captured, the staged patch to
//! the index, the unstaged patch to the tree, the untracked files), with its remotes set again
//! (their URLs were stored without credentials); a folder's files are written with their modes
//! and mtimes. An existing file is overwritten only when the step says so (`--force` at
//! planning); otherwise the step fails before writing it.
//!
//! Kept secrets (`--keep-secrets`, restored with `--identity`): a file the plan marks
//! `encrypted` is the original of a redacted or withheld file, and a part
//! `kept_secrets/<patch>.age` the original of a redacted patch. They are decrypted in memory
//! and written only at their place in the destination (a file created for its owner only, then
//! given its mode; a patch handed to `git apply` on its standard input), never anywhere else.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use infrasnap_core::ids::BlobId;
use infrasnap_core::kept::KEPT_DIR;
use infrasnap_core::keypath::is_contained;
use infrasnap_core::restore::plan::local::{FileEntry, FOLDER, GIT};
use infrasnap_core::restore::{Step, Subject};
use infrasnap_core::secrets::Sensitive;
use serde_json::Value;

use super::{Context, WriteError};

pub const KINDS: &[&str] = &[GIT, FOLDER];

/// Plain bytes of kept originals, by the file's path (or the patch's name).
type Originals = HashMap<String, Sensitive<Vec<u8>>>;

/// Decrypt one kept original with the identity (`--identity`).
fn decrypt(
    cx: &Context,
    step: &Step,
    blob: &BlobId,
    what: &str,
) -> Result<Sensitive<Vec<u8>>, WriteError> {
    let Some(ids) = &cx.identity else {
        return Err(WriteError::new(format!(
            "{}: the original of {what} was kept encrypted; pass the age identity that \
             decrypts it (--identity FILE)",
            step.what()
        )));
    };
    let ct = std::fs::read(cx.blob_path(blob)).map_err(|e| {
        WriteError::new(format!(
            "{}: cannot read the kept original of {what}: {e}",
            step.what()
        ))
    })?;
    ids.decrypt_bytes(&ct)
        .map_err(|e| WriteError::new(format!("{}: {what}: {e}", step.what())))
}

/// Write one local source into its directory.
pub async fn write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    let Subject::Dir {
        path,
        files,
        overwrite,
    } = &step.subject
    else {
        return Err(WriteError::new(format!(
            "a {} step without its directory",
            step.target.kind
        )));
    };
    let dest = PathBuf::from(path);
    let kept_prefix = format!("{KEPT_DIR}/");
    let mut originals = Originals::new();
    for f in files.iter().filter(|f| f.encrypted) {
        originals.insert(f.rel.clone(), decrypt(cx, step, &f.blob, &f.rel)?);
    }
    let git = if step.target.kind == GIT {
        let doc = cx.document(step)?;
        let mut parts: Vec<(String, PathBuf)> = Vec::new();
        let mut patches = Originals::new();
        for (n, b) in &step.parts {
            match n
                .strip_prefix(&kept_prefix)
                .and_then(|p| p.strip_suffix(".age"))
            {
                Some(patch) => {
                    patches.insert(patch.to_string(), decrypt(cx, step, b, patch)?);
                }
                None => parts.push((n.clone(), cx.blob_path(b))),
            }
        }
        Some((doc, parts, patches))
    } else {
        None
    };
    let files = files.clone();
    let overwrite = *overwrite;
    let blobs = cx.blobs.clone();
    tokio::task::spawn_blocking(move || {
        match git {
            Some((doc, parts, patches)) => {
                rebuild_git(&dest, &doc, &parts, &patches)?;
                // The directory was empty: what is there now is the restore's own (a tracked
                // secret file checked out from HEAD, whose working copy was kept).
                put_files(&blobs, &dest, &files, true, &originals)
            }
            None => put_files(&blobs, &dest, &files, overwrite, &originals),
        }
    })
    .await
    .map_err(|e| WriteError::new(format!("restore of {path} stopped: {e}")))?
}

fn io(what: &str, p: &Path, e: std::io::Error) -> WriteError {
    WriteError::new(format!("{what} {}: {e}", p.display()))
}

/// Write `files` under `dest`, each with its mode and mtime (links as links; an `encrypted`
/// one from its decrypted original in `originals`).
fn put_files(
    blobs: &Path,
    dest: &Path,
    files: &[FileEntry],
    overwrite: bool,
    originals: &Originals,
) -> Result<(), WriteError> {
    std::fs::create_dir_all(dest).map_err(|e| io("create", dest, e))?;
    for f in files {
        if !is_contained(&f.rel) {
            return Err(WriteError::new(format!(
                "`{}` would leave {}: not written",
                f.rel.escape_debug(),
                dest.display()
            )));
        }
        let p = dest.join(&f.rel);
        if let Ok(m) = std::fs::symlink_metadata(&p) {
            if !overwrite {
                return Err(WriteError::new(format!(
                    "{} exists and is never overwritten without --force (plan again with \
                     --force to overwrite it)",
                    p.display()
                )));
            }
            if m.is_dir() {
                return Err(WriteError::new(format!(
                    "{} is a directory; the snapshot has a file there",
                    p.display()
                )));
            }
            std::fs::remove_file(&p).map_err(|e| io("remove", &p, e))?;
        }
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("create", parent, e))?;
        }
        if let Some(t) = &f.link_target {
            std::os::unix::fs::symlink(t, &p).map_err(|e| io("link", &p, e))?;
            continue;
        }
        if f.encrypted {
            let plain = originals.get(&f.rel).ok_or_else(|| {
                WriteError::new(format!(
                    "{}: its kept original was not decrypted",
                    p.display()
                ))
            })?;
            // Created for its owner only; its own mode follows once it is whole.
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&p)
                .and_then(|mut file| file.write_all(plain.expose()))
                .map_err(|e| io("write", &p, e))?;
        } else {
            let hex = f.blob.to_hex();
            let src = blobs.join(&hex[..2]).join(&hex);
            std::fs::copy(&src, &p).map_err(|e| io("write", &p, e))?;
        }
        if let Some(t) = f.mtime.as_deref().and_then(parse_time) {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&p)
                .map_err(|e| io("open", &p, e))?;
            file.set_modified(t)
                .map_err(|e| io("set mtime of", &p, e))?;
        }
        let mode = f
            .mode
            .as_deref()
            .and_then(|m| u32::from_str_radix(m, 8).ok())
            .unwrap_or(0o644);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io("set mode of", &p, e))?;
    }
    Ok(())
}

fn parse_time(s: &str) -> Option<std::time::SystemTime> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(std::time::SystemTime::from)
}

/// Run git in `dir`; its stderr in the error.
fn git(dir: &Path, args: &[&str]) -> Result<String, WriteError> {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| WriteError::new(format!("cannot run git (is it installed?): {e}")))?;
    if !o.status.success() {
        return Err(WriteError::new(format!(
            "git {} in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// Run git in `dir` with `input` on its standard input (a decrypted patch: never in a file).
fn git_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Result<(), WriteError> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| WriteError::new(format!("cannot run git (is it installed?): {e}")))?;
    let wrote = child
        .stdin
        .take()
        .map(|mut i| i.write_all(input))
        .unwrap_or(Ok(()));
    let o = child
        .wait_with_output()
        .map_err(|e| WriteError::new(format!("git {}: {e}", args.join(" "))))?;
    if !o.status.success() || wrote.is_err() {
        return Err(WriteError::new(format!(
            "git {} in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        )));
    }
    Ok(())
}

/// Rebuild a repository in `dest` (new or empty) from its state document and parts; a patch
/// whose original was kept (`patches`, decrypted) is applied instead of its redacted copy.
fn rebuild_git(
    dest: &Path,
    st: &Value,
    parts: &[(String, PathBuf)],
    patches: &Originals,
) -> Result<(), WriteError> {
    if std::fs::read_dir(dest).is_ok_and(|mut d| d.next().is_some()) {
        return Err(WriteError::new(format!(
            "{} is not empty: a git repository is restored into a new or empty directory only",
            dest.display()
        )));
    }
    std::fs::create_dir_all(dest).map_err(|e| io("create", dest, e))?;
    let part = |n: &str| {
        parts
            .iter()
            .find(|(p, _)| p == n)
            .map(|(_, p)| p.display().to_string())
    };
    git(dest, &["init", "-q"])?;
    let bundle = part("repo.bundle");
    if let Some(b) = &bundle {
        git(
            dest,
            &["fetch", "-q", "--update-head-ok", b, "+refs/*:refs/*"],
        )?;
    }
    let s = |p: &str| st.pointer(p).and_then(Value::as_str).map(str::to_string);
    let commit = s("/head/commit");
    match (s("/head/branch"), &commit) {
        (Some(b), _) => {
            git(dest, &["symbolic-ref", "HEAD", &format!("refs/heads/{b}")])?;
        }
        (None, Some(c)) => {
            if let Some(b) = &bundle {
                git(dest, &["fetch", "-q", b, "HEAD"])?;
            }
            git(dest, &["update-ref", "--no-deref", "HEAD", c])?;
        }
        _ => {}
    }
    if commit.is_some() {
        git(dest, &["reset", "-q", "--hard"])?;
    }
    for (name, index) in [("staged.patch", true), ("unstaged.patch", false)] {
        if let Some(plain) = patches.get(name) {
            let mut args = vec!["apply", "--whitespace=nowarn"];
            if index {
                args.push("--index");
            }
            git_stdin(dest, &args, plain.expose())?;
            continue;
        }
        if let Some(p) = part(name) {
            if std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0) == 0 {
                continue;
            }
            let mut args = vec!["apply", "--whitespace=nowarn"];
            if index {
                args.push("--index");
            }
            args.push(&p);
            git(dest, &args)?;
        }
    }
    let empty = Vec::new();
    for r in st["remotes"].as_array().unwrap_or(&empty) {
        if let (Some(n), Some(u)) = (r["name"].as_str(), r["url"].as_str()) {
            git(dest, &["remote", "add", n, u])?;
        }
    }
    for b in st["branches"].as_array().unwrap_or(&empty) {
        let (Some(name), Some(up)) = (b["name"].as_str(), b["upstream"].as_str()) else {
            continue;
        };
        if let Some((remote, rb)) = up
            .strip_prefix("refs/remotes/")
            .and_then(|r| r.split_once('/'))
        {
            git(dest, &["config", &format!("branch.{name}.remote"), remote])?;
            git(
                dest,
                &[
                    "config",
                    &format!("branch.{name}.merge"),
                    &format!("refs/heads/{rb}"),
                ],
            )?;
        }
    }
    if let Some(c) = &commit {
        let head = git(dest, &["rev-parse", "HEAD"])?;
        if &head != c {
            return Err(WriteError::new(format!(
                "{}: HEAD is {head} after restore, the snapshot's is {c}",
                dest.display()
            )));
        }
    }
    Ok(())
}
