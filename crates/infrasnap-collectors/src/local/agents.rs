//! Scheduled agents of the user: macOS LaunchAgents (`~/Library/LaunchAgents/*.plist`), systemd
//! user units (`~/.config/systemd/user/*.{service,timer,path,socket}`) and the user's crontab
//! (`crontab -l`; none is not an error). Written to `local_repos/agents/LaunchAgents/`,
//! `.../systemd/` and `.../crontab`, with secret-looking values (plist keys named like secrets,
//! `Environment=TOKEN=...` lines) redacted like in any other file.
//!
//! A binary property list cannot be scanned: it is converted to XML with `plutil` where that
//! exists (macOS), else withheld like a secret file.
//!
//! Each agent file is a resource of its own, kind `local.agent`, so a diff names the agent: id
//! `launchd:<file name>`, `systemd:<unit name>` or `crontab`. Its file is its part, named by its
//! place under `local_repos/agents/` (`LaunchAgents/<file>`, `systemd/<unit>`, `crontab`); its
//! document (shown in `local_repos/agents/agents.json`) says where it came from, its mode and
//! mtime, and what the secret checks did to it (redactions by line and kind, withheld with its
//! fingerprint, the kept original).

use std::path::Path;
use std::process::{Command, Stdio};

use infrasnap_core::engine::ErrorSink;
use infrasnap_core::ids::ResourceId;
use infrasnap_core::metadata::RecordedError;

use super::{error, LocalRecord, SourceOut, AGENT_KIND};

const UNIT_SUFFIXES: &[&str] = &[".service", ".timer", ".path", ".socket"];

/// Capture every agent. Returns the error of a listing that failed (a folder that exists but
/// cannot be read, no home folder, `crontab -l` failing): the agents' coverage is then failed.
pub fn capture(
    out: &mut SourceOut<'_>,
    home: Option<&Path>,
    errors: &ErrorSink,
) -> Option<RecordedError> {
    let failed = match home {
        Some(h) => {
            let launchd = folder(
                out,
                &h.join("Library/LaunchAgents"),
                ("launchd", "LaunchAgents"),
                &|n| n.ends_with(".plist"),
                errors,
            );
            let systemd = folder(
                out,
                &h.join(".config/systemd/user"),
                ("systemd", "systemd"),
                &|n| UNIT_SUFFIXES.iter().any(|s| n.ends_with(s)),
                errors,
            );
            launchd.or(systemd)
        }
        None => {
            let e = error(
                "read",
                "~",
                "no home folder (HOME is not set): LaunchAgents and systemd user units not captured",
            );
            errors.record(e.clone());
            Some(e)
        }
    };
    let cron = crontab(out, errors);
    failed.or(cron)
}

/// The matching files directly in `dir` (a missing folder is fine: not every system has one),
/// each the agent `<agent>:<file name>` with its file at `<tree_dir>/<file name>`.
fn folder(
    out: &mut SourceOut<'_>,
    dir: &Path,
    (agent, tree_dir): (&str, &str),
    wanted: &dyn Fn(&str) -> bool,
    errors: &ErrorSink,
) -> Option<RecordedError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            let e = error("read", &dir.display().to_string(), e.to_string());
            errors.record(e.clone());
            return Some(e);
        }
    };
    let mut names: Vec<String> = rd
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| wanted(n))
        .collect();
    names.sort();
    for name in names {
        let abs = dir.join(&name);
        let rel = format!("{tree_dir}/{name}");
        let id = ResourceId::new(AGENT_KIND, "", "", format!("{agent}:{name}"));
        let mark = out.begin(id.clone());
        let res = match std::fs::symlink_metadata(&abs) {
            Err(e) => Err(e.to_string()),
            Ok(meta) if meta.file_type().is_symlink() => match std::fs::read_link(&abs) {
                Ok(t) => {
                    let target = t.to_string_lossy().into_owned();
                    let rec = LocalRecord {
                        link_target: Some(target.clone()),
                        ..LocalRecord::of_source("symlink", &rel, &meta)
                    };
                    out.put(&rel, target.as_bytes(), rec)
                }
                Err(e) => Err(format!("read link: {e}")),
            },
            Ok(meta) if meta.is_file() => plist_or_file(out, &abs, &rel, &meta),
            Ok(_) => continue,
        };
        if let Err(m) = res {
            errors.record(error("read", &abs.display().to_string(), m));
            out.cx.mark_incomplete(&id);
        }
        if let Err(m) = out.end_agent(mark, agent, &rel, &abs.display().to_string()) {
            errors.record(error("write", &abs.display().to_string(), m));
        }
    }
    None
}

fn plist_or_file(
    out: &mut SourceOut<'_>,
    abs: &Path,
    rel: &str,
    meta: &std::fs::Metadata,
) -> Result<(), String> {
    if !rel.ends_with(".plist") || super::shield::is_secret_name(abs, rel) {
        return out.capture_file(abs, rel, rel, meta);
    }
    let bytes = std::fs::read(abs).map_err(|e| format!("read: {e}"))?;
    if !bytes.starts_with(b"bplist") {
        return out.capture_bytes(rel, rel, &bytes, LocalRecord::of_source("file", rel, meta));
    }
    // A binary plist: scannable only once converted to XML.
    let xml = Command::new("plutil")
        .args(["-convert", "xml1", "-o", "-", "--"])
        .arg(abs)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success() && !o.stdout.is_empty())
        .map(|o| o.stdout);
    match xml {
        Some(x) => out.capture_bytes(rel, rel, &x, LocalRecord::of_source("file", rel, meta)),
        None => out.withhold(
            rel,
            &bytes,
            "a binary property list, which cannot be scanned for secrets here (plutil is missing)",
            Some(&LocalRecord::of_source("file", rel, meta)),
        ),
    }
}

/// The user's crontab, if they have one: the agent `crontab`. Returns the error when
/// `crontab -l` fails (whether there is one is then unknown).
fn crontab(out: &mut SourceOut<'_>, errors: &ErrorSink) -> Option<RecordedError> {
    let fail = |message: String| {
        let e = error("crontab -l", "crontab", message);
        errors.record(e.clone());
        Some(e)
    };
    let o = match Command::new("crontab")
        .arg("-l")
        .stdin(Stdio::null())
        .output()
    {
        Ok(o) => o,
        // No cron on this system: nothing to capture.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return fail(e.to_string()),
    };
    if !o.status.success() {
        let msg = String::from_utf8_lossy(&o.stderr).trim().to_string();
        if msg.to_lowercase().contains("no crontab") || msg.is_empty() {
            return None;
        }
        return fail(msg);
    }
    if o.stdout.is_empty() {
        return None;
    }
    let id = ResourceId::new(AGENT_KIND, "", "", "crontab");
    let mark = out.begin(id.clone());
    let rec = LocalRecord {
        rel: Some("crontab".into()),
        ..LocalRecord::new("file")
    };
    if let Err(m) = out.capture_bytes("crontab", "crontab", &o.stdout, rec) {
        errors.record(error("write", "crontab", m));
        out.cx.mark_incomplete(&id);
    }
    if let Err(m) = out.end_agent(mark, "cron", "crontab", "crontab -l") {
        errors.record(error("write", "crontab", m));
    }
    None
}
