//! Planning for what is not AWS: Apps Script projects (`gas.project`, compared by their
//! current files) and local sources (`local.git`, `local.folder`) restored into a directory
//! (`--to-dir`), whose live side is that directory, read here directly.
//!
//! A local source goes into `<to_dir>/<source name>`. Its live hash is the directory's listing
//! (every file and link under it, `.git` folders aside: size, mode and mtime, or a link's
//! target); a folder's wanted hash is that listing with the snapshot's files laid over it. A git
//! repository is restored into a new or empty directory only; its wanted state is "exists" and
//! the writer checks HEAD itself.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::super::{value_hash, Action, FieldValues, Manual, RestoreError, Subject, EXISTS};
use super::Planner;
use crate::catalog::CatalogRecord;
use crate::diff::Side;
use crate::error::CoreError;
use crate::ids::BlobId;

/// Apps Script projects.
pub const GAS: &str = "gas.project";
/// Local git repositories.
pub const GIT: &str = "local.git";
/// Local folders.
pub const FOLDER: &str = "local.folder";

/// Parts of a git source a writer needs besides its document and untracked files.
pub const GIT_PARTS: &[&str] = &["repo.bundle", "staged.patch", "unstaged.patch"];

/// Parts of an Apps Script project that are not its current files.
const GAS_META: &[&str] = &[
    ".clasp.json",
    ".claspignore",
    "versions.json",
    "deployments.json",
    "redactions.json",
];

/// One file a local restore writes: where (relative to the source), which bytes, how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    pub rel: String,
    pub blob: BlobId,
    pub size: u64,
    /// Permission bits, octal (`0755`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// RFC 3339 with nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<String>,
    /// A symbolic link (its target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_target: Option<String>,
    /// `blob` is the file's original kept encrypted to the age recipient
    /// (`kept_secrets/<rel>.age`, `--keep-secrets`): the writer decrypts it with `--identity`
    /// and writes the plain bytes at `rel` only. `size` is the plain size.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
}

/// An index record of a local source (`index/local/<name>.jsonl`), the members restore reads.
#[derive(Debug, Deserialize)]
struct IndexEntry {
    path: String,
    blob: BlobId,
    size: u64,
    kind: String,
    #[serde(default)]
    rel: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    mtime: Option<String>,
    #[serde(default)]
    link_target: Option<String>,
    #[serde(default)]
    redacted: bool,
}

/// Whether restore handles `kind` here.
pub fn is_local(kind: &str) -> bool {
    kind == GIT || kind == FOLDER
}

/// The current files of an Apps Script project (parts by name; versions and metadata aside).
pub fn gas_files(rec: &CatalogRecord) -> BTreeMap<String, BlobId> {
    rec.parts
        .iter()
        .filter(|(n, _)| !GAS_META.contains(&n.as_str()) && !n.starts_with("versions/"))
        .filter_map(|(n, p)| p.blob.map(|b| (n.clone(), b)))
        .collect()
}

/// The hash restore compares an Apps Script project by: its current files (a new version, a
/// deployment or the update time are not what a restore puts back).
pub fn gas_hash(rec: &CatalogRecord) -> String {
    let m: BTreeMap<String, String> = gas_files(rec)
        .into_iter()
        .map(|(n, b)| (n, b.to_hex()))
        .collect();
    value_hash(&json!(m))
}

/// The files of a project that differ, with their live and snapshot blobs.
fn gas_fields(live: &CatalogRecord, snap: &CatalogRecord) -> Vec<FieldValues> {
    let (l, s) = (gas_files(live), gas_files(snap));
    let mut names: Vec<&String> = l.keys().chain(s.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| l.get(*n) != s.get(*n))
        .map(|n| FieldValues {
            field: format!("file {n}"),
            live: l.get(n).map(|b| json!(b.to_hex())),
            snapshot: s.get(n).map(|b| json!(b.to_hex())),
        })
        .collect()
}

/// Files of the project's current content whose secrets were redacted (`redactions.json`).
fn gas_redacted(side: &Side, rec: &CatalogRecord) -> Vec<String> {
    let Some(blob) = rec.parts.get("redactions.json").and_then(|p| p.blob) else {
        return Vec::new();
    };
    let Ok(bytes) = side.read_blob(&blob) else {
        return Vec::new();
    };
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let files = gas_files(rec);
    let mut out: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("file").and_then(Value::as_str))
        .filter(|f| files.contains_key(*f))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A file's original kept encrypted (`kept_secrets/<rel>.age`).
#[derive(Debug, Clone, PartialEq)]
pub struct KeptFile {
    pub blob: BlobId,
    /// The plain size (read from the age file's shape), when known.
    pub size: Option<u64>,
    pub mode: Option<String>,
    pub mtime: Option<String>,
}

/// What the snapshot holds of a local source's files.
#[derive(Debug, Default)]
struct SourceFiles {
    /// The files restored (a folder's `files/`, a repository's `untracked/`).
    files: Vec<FileEntry>,
    /// Files whose copy holds redaction markers.
    redacted: Vec<String>,
    /// Patches (`staged.patch`, `unstaged.patch`) whose copy holds redaction markers.
    patches: Vec<String>,
    /// Originals kept encrypted, by path relative to the source (or the patch's name).
    kept: BTreeMap<String, KeptFile>,
}

/// The files a local source restores and what of them was redacted or kept. The plain size of a
/// kept original is read only when `sizes` (it is needed only when it will be written).
fn source_files(
    side: &Side,
    rec: &CatalogRecord,
    sizes: bool,
) -> Result<SourceFiles, RestoreError> {
    let mut out = SourceFiles::default();
    let Some(index) = rec.index.as_deref() else {
        return Ok(out);
    };
    let p = side.dir.join(index);
    if !p.exists() {
        return Ok(out);
    }
    let base = rec
        .path
        .as_deref()
        .and_then(|d| d.rsplit_once('/'))
        .map(|(d, _)| d.to_string())
        .unwrap_or_default();
    let folder = if rec.id.kind == GIT {
        "untracked"
    } else {
        "files"
    };
    let prefix = format!("{base}/{folder}/");
    for e in crate::index::read_all::<IndexEntry>(&p)? {
        if e.kind == "kept_secret" {
            if let Some(rel) = e.rel {
                let size = sizes
                    .then(|| side.read_blob(&e.blob).ok())
                    .flatten()
                    .and_then(|ct| crate::kept::age_plain_size(&ct));
                out.kept.insert(
                    rel,
                    KeptFile {
                        blob: e.blob,
                        size,
                        mode: e.mode,
                        mtime: e.mtime,
                    },
                );
            }
            continue;
        }
        if e.kind == "patch" {
            if e.redacted {
                let name = e.path.rsplit('/').next().unwrap_or(&e.path);
                out.patches.push(name.to_string());
            }
            continue;
        }
        if !e.path.starts_with(&prefix) || !(e.kind == "file" || e.kind == "symlink") {
            continue;
        }
        let Some(rel) = e.rel else { continue };
        if e.redacted {
            out.redacted.push(rel.clone());
        }
        out.files.push(FileEntry {
            rel,
            blob: e.blob,
            size: e.size,
            mode: e.mode,
            mtime: e.mtime,
            link_target: (e.kind == "symlink").then(|| e.link_target.unwrap_or_default()),
            encrypted: false,
        });
    }
    out.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// What a local step writes once the kept originals are laid over the snapshot's copies.
#[derive(Debug, Default, PartialEq)]
pub struct Laid {
    pub files: Vec<FileEntry>,
    /// Kept originals of patches, applied instead of their redacted copies: (part name, blob).
    pub patches: Vec<(String, BlobId)>,
    /// Files (and patches) restored without their secret values: (path, kept encrypted).
    pub needs: Vec<(String, bool)>,
}

/// Lay the kept originals over the files of a local source (`use_kept`: the identity is at
/// hand): a redacted copy is replaced by its original, a withheld file is added, a redacted
/// patch is swapped for its original; conflicted files (`skip`) are not restored. What is left
/// without its values is listed, with whether the snapshot kept it.
pub fn lay_kept(
    files: Vec<FileEntry>,
    redacted: &[String],
    withheld: &[String],
    patches: &[String],
    kept: &BTreeMap<String, KeptFile>,
    skip: &[String],
    use_kept: bool,
) -> Laid {
    let mut out = Laid {
        files,
        ..Laid::default()
    };
    let mut restored: Vec<&str> = Vec::new();
    for (rel, k) in kept.iter().filter(|_| use_kept) {
        let is_file = out.files.iter().any(|f| f.rel == *rel);
        if patches.contains(rel) && !is_file {
            out.patches
                .push((format!("{}/{rel}.age", crate::kept::KEPT_DIR), k.blob));
            restored.push(rel);
            continue;
        }
        let Some(size) = k.size else { continue };
        if skip.contains(rel) {
            continue;
        }
        match out
            .files
            .iter_mut()
            .find(|f| f.rel == *rel && f.link_target.is_none())
        {
            Some(f) => {
                f.blob = k.blob;
                f.size = size;
                f.encrypted = true;
                if f.mode.is_none() {
                    f.mode.clone_from(&k.mode);
                }
                if f.mtime.is_none() {
                    f.mtime.clone_from(&k.mtime);
                }
            }
            None if is_file => continue,
            None => out.files.push(FileEntry {
                rel: rel.clone(),
                blob: k.blob,
                size,
                // A secret file whose mode the snapshot did not record: for its owner only.
                mode: Some(k.mode.clone().unwrap_or_else(|| "0600".into())),
                mtime: k.mtime.clone(),
                link_target: None,
                encrypted: true,
            }),
        }
        restored.push(rel);
    }
    out.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    let mut needs: Vec<String> = withheld
        .iter()
        .chain(redacted)
        .chain(patches)
        .filter(|n| !restored.contains(&n.as_str()) && !skip.contains(n))
        .cloned()
        .collect();
    needs.sort();
    needs.dedup();
    out.needs = needs
        .into_iter()
        .map(|n| {
            let k = kept.contains_key(&n);
            (n, k)
        })
        .collect();
    out
}

/// The "needs values" reason of a local source restored into `path` without some secrets.
fn needs_values_reason(needs: &[(String, bool)], path: &str) -> String {
    let names: Vec<&str> = needs.iter().map(|(n, _)| n.as_str()).collect();
    let kept: Vec<&str> = needs
        .iter()
        .filter(|(_, k)| *k)
        .map(|(n, _)| n.as_str())
        .collect();
    let how = if kept.len() == needs.len() {
        "the snapshot kept their originals encrypted: pass the age identity that decrypts them          (--identity FILE, or `identity =` in [secrets]) and restore writes them"
            .to_string()
    } else if kept.is_empty() {
        "the snapshot holds no originals: snapshot with --keep-secrets (and keep the age          identity) to restore them, or put the values back by hand"
            .to_string()
    } else {
        format!(
            "the snapshot kept the originals of {} encrypted: pass the age identity that              decrypts them (--identity FILE, or `identity =` in [secrets]); the others were not              kept",
            kept.join(", ")
        )
    };
    format!(
        "needs values: {} restored into {path} without {} secret values ({}): a redacted copy          holds markers where the values were, a withheld file is left out; {how}",
        plural(needs.len(), "file is", "files are"),
        if needs.len() == 1 { "its" } else { "their" },
        names.join(", ")
    )
}

/// The notes of an apply's receipt for its local steps: the plan's "needs values" of each.
pub fn apply_notes(plan: &super::super::RestorePlan) -> Vec<String> {
    let mut out = Vec::new();
    for s in plan
        .writing_steps()
        .filter(|s| matches!(s.subject, Subject::Dir { .. }))
    {
        for m in plan
            .manual
            .iter()
            .filter(|m| m.id == s.target && m.reason.starts_with("needs values"))
        {
            out.push(format!("{}: {}", s.target, m.reason));
        }
    }
    out
}

/// The first kept original of a local source in `side` (a blob to check an identity with).
pub fn first_kept(side: &Side) -> Option<BlobId> {
    side.catalog
        .records
        .iter()
        .filter(|r| is_local(&r.id.kind))
        .find_map(|r| {
            source_files(side, r, false)
                .ok()?
                .kept
                .values()
                .next()
                .map(|k| k.blob)
        })
}

/// Files withheld as secrets (`secrets_manifest.json`: their paths).
fn withheld(side: &Side, rec: &CatalogRecord) -> Vec<String> {
    let Some(blob) = rec.parts.get("secrets_manifest.json").and_then(|p| p.blob) else {
        return Vec::new();
    };
    let v: Value = side
        .read_blob(&blob)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    let list = v
        .get("withheld")
        .or_else(|| v.get("files"))
        .unwrap_or(&v)
        .as_array()
        .cloned()
        .unwrap_or_default();
    list.iter()
        .filter_map(|e| e.get("path").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// What one file's state is, as restore compares it.
fn entry_value(e: &FileEntry) -> Value {
    match &e.link_target {
        Some(t) => json!({ "link": t }),
        None => json!({ "size": e.size, "mode": e.mode, "mtime": e.mtime }),
    }
}

/// RFC 3339 with nanoseconds, UTC, as the local collector writes mtimes.
pub fn mtime_text(m: &std::fs::Metadata) -> String {
    chrono::DateTime::from_timestamp(m.mtime(), m.mtime_nsec() as u32)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Every file and link under `root` (`.git` folders aside), by relative path: what it is.
/// Empty when `root` does not exist.
pub fn dir_listing(root: &Path) -> Result<BTreeMap<String, Value>, RestoreError> {
    let mut out = BTreeMap::new();
    if !root.exists() {
        return Ok(out);
    }
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((d, rel)) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| CoreError::io("read folder", &d, e))? {
            let e = e.map_err(|e| CoreError::io("read folder", &d, e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).map_err(|e| CoreError::io("read", &p, e))?;
            if m.file_type().is_symlink() {
                let t = std::fs::read_link(&p).map_err(|e| CoreError::io("read link", &p, e))?;
                out.insert(r, json!({ "link": t.to_string_lossy() }));
            } else if m.is_dir() {
                if name != ".git" {
                    stack.push((p, r));
                }
            } else {
                out.insert(
                    r,
                    json!({
                        "size": m.len(),
                        "mode": format!("{:04o}", m.permissions().mode() & 0o7777),
                        "mtime": mtime_text(&m),
                    }),
                );
            }
        }
    }
    Ok(out)
}

/// The hash of a listing; `None` for an empty one (an absent or empty directory).
pub fn listing_hash(l: &BTreeMap<String, Value>) -> Option<String> {
    (!l.is_empty()).then(|| value_hash(&json!(l)))
}

/// The live hash of a directory step, as [`super::Observer`] reads it.
pub fn dir_hash(path: &str) -> Result<Option<String>, RestoreError> {
    Ok(listing_hash(&dir_listing(Path::new(path))?))
}

const IN_PLACE: &str = "a local source is restored into a directory: pass --to-dir DIR (it goes \
                        into DIR/<source name>). Restoring over the captured folder in place is \
                        refused: it would overwrite work done there since the snapshot; restore \
                        into a new directory and take what you need from there";

impl Planner<'_, '_> {
    /// A local source into `--to-dir`.
    pub(super) fn local(&mut self, rec: &CatalogRecord) -> Result<(), RestoreError> {
        let inp = self.input;
        let Some(to_dir) = inp.target.to_dir.clone() else {
            self.manual.push(Manual {
                id: rec.id.clone(),
                reason: IN_PLACE.into(),
            });
            return Ok(());
        };
        if !inp.writers.kinds.contains(&rec.id.kind.as_str()) {
            self.manual.push(Manual {
                id: rec.id.clone(),
                reason: format!("this infrasnap cannot restore a {} yet", rec.id.kind),
            });
            return Ok(());
        }
        let dest = Path::new(&to_dir).join(&rec.id.id);
        let path = dest.display().to_string();
        let sf = source_files(inp.snapshot, rec, inp.secrets_available)?;
        let secrets = withheld(inp.snapshot, rec);
        // A repository's conflicted files are not restored (nor their kept originals).
        let conflicted: Vec<String> = if rec.id.kind == GIT {
            inp.snapshot
                .doc(rec)?
                .pointer("/changes/conflicted")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        } else {
            Vec::new()
        };
        let laid = lay_kept(
            sf.files,
            &sf.redacted,
            &secrets,
            &sf.patches,
            &sf.kept,
            &conflicted,
            inp.secrets_available,
        );
        if !laid.needs.is_empty() {
            self.manual.push(Manual {
                id: rec.id.clone(),
                reason: needs_values_reason(&laid.needs, &path),
            });
        }
        let files = laid.files;
        let live = dir_listing(&dest)?;
        let live_hash = listing_hash(&live);
        let mut subject = Subject::Dir {
            path: path.clone(),
            files: files.clone(),
            overwrite: false,
        };
        if rec.id.kind == GIT {
            let action = if live.is_empty() {
                Action::Create {
                    blob: Some(rec.blob),
                }
            } else {
                Action::Skip {
                    reason: format!(
                        "{path} is not empty: a git repository is restored into a new or empty \
                         directory only (--force does not change that); pick another --to-dir"
                    ),
                }
            };
            self.push(
                &rec.id,
                &rec.id,
                subject,
                action,
                live_hash,
                Some(EXISTS.into()),
            );
            let step = self.steps.last_mut().expect("just pushed");
            for name in GIT_PARTS {
                if let Some(b) = rec.parts.get(*name).and_then(|p| p.blob) {
                    step.parts.insert((*name).to_string(), b);
                }
            }
            step.parts.extend(laid.patches);
            return Ok(());
        }
        let mut after = live.clone();
        let mut conflicts = Vec::new();
        for f in &files {
            let v = entry_value(f);
            if let Some(l) = live.get(&f.rel) {
                if *l != v {
                    conflicts.push(FieldValues {
                        field: f.rel.clone(),
                        live: Some(l.clone()),
                        snapshot: Some(v.clone()),
                    });
                }
            }
            after.insert(f.rel.clone(), v);
        }
        let want = listing_hash(&after);
        if want == live_hash {
            self.summary.unchanged += 1;
            return Ok(());
        }
        let action = if conflicts.is_empty() {
            Action::Create {
                blob: Some(rec.blob),
            }
        } else if inp.force {
            if let Subject::Dir { overwrite, .. } = &mut subject {
                *overwrite = true;
            }
            Action::Update {
                blob: Some(rec.blob),
                fields: conflicts,
            }
        } else {
            let names: Vec<&str> = conflicts
                .iter()
                .take(10)
                .map(|c| c.field.as_str())
                .collect();
            Action::Skip {
                reason: format!(
                    "{} in {path} would be overwritten ({}{}): an existing file is never \
                     overwritten without --force; pass --force, or another --to-dir",
                    plural(conflicts.len(), "existing file", "existing files"),
                    names.join(", "),
                    if conflicts.len() > names.len() {
                        ", ..."
                    } else {
                        ""
                    }
                ),
            }
        };
        self.push(&rec.id, &rec.id, subject, action, live_hash, want);
        Ok(())
    }

    /// An Apps Script project: its current files, then a new version.
    pub(super) fn gas(&mut self, rec: &CatalogRecord) -> Result<(), RestoreError> {
        let inp = self.input;
        let live_rec = inp.live.catalog.get(&rec.id);
        let want = gas_hash(rec);
        let live_hash = live_rec.map(gas_hash);
        if live_hash.as_ref() == Some(&want) {
            self.summary.unchanged += 1;
            return Ok(());
        }
        let redacted = gas_redacted(inp.snapshot, rec);
        if !redacted.is_empty() {
            self.manual.push(Manual {
                id: rec.id.clone(),
                reason: format!(
                    "needs values: secrets in {} were redacted in the snapshot (redactions.json \
                     says where); put the values back into a copy of the project folder and \
                     `clasp push` it, or restore it and edit those lines",
                    redacted.join(", ")
                ),
            });
            return Ok(());
        }
        if !inp.writers.kinds.contains(&GAS) {
            self.manual.push(Manual {
                id: rec.id.clone(),
                reason: "this infrasnap cannot restore an Apps Script project".into(),
            });
            return Ok(());
        }
        let Some(l) = live_rec else {
            let why = inp
                .live
                .reason(&inp.live.listing(&rec.id))
                .map(|w| format!(" (the live capture says: {w})"))
                .unwrap_or_default();
            self.manual.push(Manual {
                id: rec.id.clone(),
                reason: format!(
                    "the project cannot be read live{why}: a deleted Apps Script project cannot \
                     be made again under its id (a bound script belongs to its document or \
                     sheet). Create a project (clasp create, or in its container), put its id in \
                     a copy of the snapshot's folder's .clasp.json and `clasp push` it"
                ),
            });
            return Ok(());
        };
        let recorded = match inp.latest.and_then(|s| s.catalog.get(&rec.id)) {
            Some(r) => Some(gas_hash(r)) == live_hash,
            None => false,
        };
        let action = match self.conflict(recorded) {
            super::Decision::Write => Action::Update {
                blob: Some(rec.blob),
                fields: gas_fields(l, rec),
            },
            super::Decision::Skip(reason) => Action::Skip { reason },
        };
        self.push(
            &rec.id,
            &rec.id,
            Subject::Resource,
            action,
            live_hash,
            Some(want),
        );
        self.steps.last_mut().expect("just pushed").parts = gas_files(rec);
        Ok(())
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(rel: &str, content: &[u8]) -> FileEntry {
        FileEntry {
            rel: rel.into(),
            blob: BlobId::of(content),
            size: content.len() as u64,
            mode: Some("0644".into()),
            mtime: Some("2026-01-01T00:00:00.000000001Z".into()),
            link_target: None,
            encrypted: false,
        }
    }

    fn kept(tag: &[u8], size: u64, mode: Option<&str>) -> KeptFile {
        KeptFile {
            blob: BlobId::of(tag),
            size: Some(size),
            mode: mode.map(str::to_string),
            mtime: Some("2026-02-02T00:00:00Z".into()),
        }
    }

    #[test]
    fn kept_originals_replace_redacted_copies_and_bring_back_withheld_files() {
        let files = vec![file("app.ini", b"x = <redacted>"), file("run.sh", b"echo")];
        let mut k = BTreeMap::new();
        k.insert("app.ini".to_string(), kept(b"ct1", 9, None));
        k.insert(".env".to_string(), kept(b"ct2", 20, Some("0640")));
        k.insert("staged.patch".to_string(), kept(b"ct3", 100, None));
        k.insert("conflict.txt".to_string(), kept(b"ct4", 5, None));
        let redacted = ["app.ini".to_string(), "conflict.txt".to_string()];
        let withheld = [".env".to_string(), "id_rsa".to_string()];
        let patches = ["staged.patch".to_string()];
        let skip = ["conflict.txt".to_string()];

        let laid = lay_kept(
            files.clone(),
            &redacted,
            &withheld,
            &patches,
            &k,
            &skip,
            true,
        );
        let rels: Vec<&str> = laid.files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(rels, [".env", "app.ini", "run.sh"]);
        let env = &laid.files[0];
        assert!(env.encrypted);
        assert_eq!(
            (env.blob, env.size, env.mode.as_deref()),
            (BlobId::of(b"ct2"), 20, Some("0640"))
        );
        let ini = &laid.files[1];
        assert!(ini.encrypted);
        // The copy's mode and mtime stay; the bytes and size are the original's.
        assert_eq!((ini.blob, ini.size), (BlobId::of(b"ct1"), 9));
        assert_eq!(ini.mode.as_deref(), Some("0644"));
        assert!(!laid.files[2].encrypted);
        assert_eq!(
            laid.patches,
            [(
                "kept_secrets/staged.patch.age".to_string(),
                BlobId::of(b"ct3")
            )]
        );
        // id_rsa was not kept; the conflicted file is not restored at all.
        assert_eq!(laid.needs, [("id_rsa".to_string(), false)]);

        // Without the identity: the copies as they are, every secret listed.
        let laid = lay_kept(files, &redacted, &withheld, &patches, &k, &skip, false);
        assert!(laid.files.iter().all(|f| !f.encrypted));
        assert_eq!(laid.files.len(), 2);
        assert!(laid.patches.is_empty());
        let names: Vec<&str> = laid.needs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, [".env", "app.ini", "id_rsa", "staged.patch"]);
    }

    #[test]
    fn the_reason_says_which_files_and_how() {
        let all_kept = needs_values_reason(&[(".env".into(), true)], "/to/app");
        assert!(
            all_kept.starts_with("needs values: 1 file is restored into /to/app without its"),
            "{all_kept}"
        );
        assert!(all_kept.contains("(.env)") && all_kept.contains("--identity FILE"));
        let none = needs_values_reason(&[(".env".into(), false), ("a".into(), false)], "/d");
        assert!(
            none.contains("--keep-secrets") && !none.contains("--identity"),
            "{none}"
        );
        let mixed = needs_values_reason(&[(".env".into(), true), ("a".into(), false)], "/d");
        assert!(mixed.contains("originals of .env encrypted"), "{mixed}");
    }

    #[test]
    fn an_encrypted_entry_is_marked_in_the_plan_file_only_when_so() {
        let mut f = file("a", b"x");
        assert!(!serde_json::to_string(&f).unwrap().contains("encrypted"));
        f.encrypted = true;
        let back: FileEntry = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert!(back.encrypted);
    }
}
