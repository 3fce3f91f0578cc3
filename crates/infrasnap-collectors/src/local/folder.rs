//! A plain folder (tools, docs, notes): every file not ignored, copied through the blob store
//! (so unchanged files cost nothing across snapshots), with its mode and mtime in the index.
//!
//! Walked with the `ignore` crate: `.gitignore` (also outside a git repository), `.ignore`,
//! `.git/info/exclude`, the user's global git excludes and `.infrasnapignore` are honoured; hidden
//! files are included; `.git` folders are skipped. Symlinks are recorded, never followed: the tree
//! file `files/<path>` holds the link's target (as git stores links) and the index record says
//! `kind: symlink`, `link_target`. Nothing is ever created outside the snapshot, links included.
//! Empty folders are not recorded.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use ignore::WalkBuilder;
use infrasnap_core::engine::ErrorSink;
use infrasnap_core::keypath::KeyMapper;

use super::{error, LocalRecord, SourceOut};

/// The custom ignore file honoured next to `.gitignore`.
pub const IGNORE_FILE: &str = ".infrasnapignore";

/// Folder of the source's files inside `local_repos/<name>/`.
pub const FILES_DIR: &str = "files";

pub fn capture(out: &mut SourceOut<'_>, root: &Path, errors: &ErrorSink) {
    let resource = root.display().to_string();
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            errors.record(error("read", &resource, "not a folder"));
            return;
        }
        Err(e) => {
            errors.record(error("read", &resource, e.to_string()));
            return;
        }
    }
    let mut wb = WalkBuilder::new(root);
    wb.hidden(false)
        .ignore(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(true)
        .require_git(false)
        .parents(true)
        .follow_links(false)
        .add_custom_ignore_filename(IGNORE_FILE)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|e| e.file_name() != ".git");
    let mut mapper = KeyMapper::new();
    for entry in wb.build() {
        if out.cx.is_cancelled() {
            return;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                errors.record(error("read", &resource, e.to_string()));
                continue;
            }
        };
        if entry.depth() == 0 {
            continue;
        }
        let abs = entry.path();
        let Ok(rel_path) = abs.strip_prefix(root) else {
            continue;
        };
        let rel = rel_path.to_string_lossy().into_owned();
        let meta = match std::fs::symlink_metadata(abs) {
            Ok(m) => m,
            Err(e) => {
                errors.record(error("read", &abs.display().to_string(), e.to_string()));
                continue;
            }
        };
        let ft = meta.file_type();
        if ft.is_dir() {
            continue;
        }
        if !ft.is_file() && !ft.is_symlink() {
            // Sockets, fifos, devices: nothing to copy.
            continue;
        }
        let placed = mapper.place(&rel, meta.len());
        let tree_rel = format!("{FILES_DIR}/{}", placed.rel);
        let res = if ft.is_symlink() {
            match std::fs::read_link(abs) {
                Ok(t) => {
                    let target = t.as_os_str().as_bytes();
                    let rec = LocalRecord {
                        link_target: Some(String::from_utf8_lossy(target).into_owned()),
                        ..LocalRecord::of_source("symlink", &rel, &meta)
                    };
                    out.put(&tree_rel, target, rec)
                }
                Err(e) => Err(format!("read link: {e}")),
            }
        } else {
            out.capture_file(abs, &rel, &tree_rel, &meta)
        };
        if let Err(m) = res {
            errors.record(error("read", &abs.display().to_string(), m));
        }
    }
}
