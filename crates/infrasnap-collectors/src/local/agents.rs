//! Scheduled agents of the user: macOS LaunchAgents (`~/Library/LaunchAgents/*.plist`), systemd
//! user units (`~/.config/systemd/user/*.{service,timer,path,socket}`) and the user's crontab
//! (`crontab -l`; none is not an error). Written to `local_repos/agents/LaunchAgents/`,
//! `.../systemd/` and `.../crontab`, with secret-looking values (plist keys named like secrets,
//! `Environment=TOKEN=...` lines) redacted like in any other file.
//!
//! A binary property list cannot be scanned: it is converted to XML with `plutil` where that
//! exists (macOS), else withheld like a secret file.

use std::path::Path;
use std::process::{Command, Stdio};

use infrasnap_core::engine::ErrorSink;

use super::{error, LocalRecord, SourceOut};

const UNIT_SUFFIXES: &[&str] = &[".service", ".timer", ".path", ".socket"];

pub fn capture(out: &mut SourceOut<'_>, home: Option<&Path>, errors: &ErrorSink) {
    match home {
        Some(h) => {
            folder(
                out,
                &h.join("Library/LaunchAgents"),
                "LaunchAgents",
                &|n| n.ends_with(".plist"),
                errors,
            );
            folder(
                out,
                &h.join(".config/systemd/user"),
                "systemd",
                &|n| UNIT_SUFFIXES.iter().any(|s| n.ends_with(s)),
                errors,
            );
        }
        None => errors.record(error(
            "read",
            "~",
            "no home folder (HOME is not set): LaunchAgents and systemd user units not captured",
        )),
    }
    crontab(out, errors);
}

/// The matching files directly in `dir` (a missing folder is fine: not every system has one).
fn folder(
    out: &mut SourceOut<'_>,
    dir: &Path,
    tree_dir: &str,
    wanted: &dyn Fn(&str) -> bool,
    errors: &ErrorSink,
) {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            errors.record(error("read", &dir.display().to_string(), e.to_string()));
            return;
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
        }
    }
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
        ),
    }
}

/// The user's crontab, if they have one.
fn crontab(out: &mut SourceOut<'_>, errors: &ErrorSink) {
    let o = match Command::new("crontab")
        .arg("-l")
        .stdin(Stdio::null())
        .output()
    {
        Ok(o) => o,
        // No cron on this system: nothing to capture.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            errors.record(error("crontab -l", "crontab", e.to_string()));
            return;
        }
    };
    if !o.status.success() {
        let msg = String::from_utf8_lossy(&o.stderr).trim().to_string();
        if msg.to_lowercase().contains("no crontab") || msg.is_empty() {
            return;
        }
        errors.record(error("crontab -l", "crontab", msg));
        return;
    }
    if o.stdout.is_empty() {
        return;
    }
    let rec = LocalRecord {
        rel: Some("crontab".into()),
        ..LocalRecord::new("file")
    };
    if let Err(m) = out.capture_bytes("crontab", "crontab", &o.stdout, rec) {
        errors.record(error("write", "crontab", m));
    }
}
