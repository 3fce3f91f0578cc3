//! A plain folder (tools, docs, notes): every file not ignored, copied through the blob store
//! (so unchanged files cost nothing across snapshots), with its mode and mtime in the index.
//!
//! Walked with the `ignore` crate: `.gitignore` (also outside a git repository), `.ignore`,
//! `.git/info/exclude`, the user's global git excludes and `.infrasnapignore` are honoured; hidden
//! files are included; `.git` folders are skipped. Symlinks are recorded, never followed: the tree
//! file `files/<path>` holds the link's target (as git stores links) and the index record says
//! `kind: symlink`, `link_target`. Nothing is ever created outside the snapshot, links included.
//! Empty folders are not recorded.
//!
//! The source is one resource, `local.folder:::<name>`: its document (`folder.json`) says what
//! the source is (its root, how many files and links, the ignore files found in it; never
//! content), its files are the part folder `files/`, each listed in the source's own index.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use ignore::WalkBuilder;
use infrasnap_core::engine::ErrorSink;
use infrasnap_core::keypath::KeyMapper;
use infrasnap_core::metadata::RecordedError;
use serde::Serialize;

use super::{error, LocalRecord, SourceOut};

/// The custom ignore file honoured next to `.gitignore`.
pub const IGNORE_FILE: &str = ".infrasnapignore";

/// Folder of the source's files inside `local_repos/<name>/` (a part of the resource).
pub const FILES_DIR: &str = "files";

/// Ignore files read inside the folder (besides the global git excludes and `.git/info/exclude`).
const IGNORE_FILES: &[&str] = &[".gitignore", ".ignore", IGNORE_FILE];

/// `folder.json`: what the source is. Counts only, never content or sizes (those are in the
/// index): the document changes when files come or go, not when one is edited.
#[derive(Debug, Default, Serialize)]
struct FolderDoc {
    /// The folder captured (`~` expanded).
    source: String,
    /// Regular files found (not ignored), withheld ones included.
    files: u64,
    symlinks: u64,
    /// Files withheld because their names say they hold secrets (see secrets_manifest.json).
    withheld: u64,
    /// Ignore files found in the folder (relative paths), honoured with the global git excludes.
    ignore_files: Vec<String>,
}

/// Capture the folder `root`. `Err`: it cannot be read at all (nothing was written). Other
/// errors are recorded; whatever could be captured is.
pub fn capture(
    out: &mut SourceOut<'_>,
    root: &Path,
    errors: &ErrorSink,
) -> Result<(), RecordedError> {
    let resource = root.display().to_string();
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(error("read", &resource, "not a folder")),
        Err(e) => return Err(error("read", &resource, e.to_string())),
    }
    let mut doc = FolderDoc {
        source: resource.clone(),
        ..FolderDoc::default()
    };
    let withheld_before = out.shield.withheld.len();
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
            break;
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
        if ft.is_symlink() {
            doc.symlinks += 1;
        } else {
            doc.files += 1;
            let name = rel.rsplit('/').next().unwrap_or(&rel);
            if IGNORE_FILES.contains(&name) {
                doc.ignore_files.push(rel.clone());
            }
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
    doc.withheld = (out.shield.withheld.len() - withheld_before) as u64;
    if let Err(m) = out.put_doc(&serde_json::to_value(&doc).expect("serialisable")) {
        errors.record(error("write", &resource, m));
    }
    Ok(())
}
