//! What removes things from a repository: the snapshots a retention plan forgets
//! ([`forget`]), and the blobs no snapshot references any more ([`prune`]). Both run under the
//! repository lock, so no snapshot run writes meanwhile: a run that starts during a prune waits
//! for it (`--wait-lock`) or stops before writing anything.
//!
//! Prune is mark and sweep. Mark: every `"blob":"<hex>"` in the index files
//! (`index/**/*.jsonl`) and catalog (`catalog/resources.jsonl`) of every snapshot folder and of
//! every staging folder a killed run left (the next run reuses those). Sweep: a blob nobody
//! marked, and that no tree file links (its link count is 1), is removed. Marking reads every
//! occurrence of the key, nested ones included, so it can only mark too much, never too little.
//! Removing one blob after another, a killed prune leaves a valid repository: only unreferenced
//! blobs were gone.

use std::collections::HashSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{CoreError, IoContext, Result};
use crate::ids::BlobId;
use crate::readers;
use crate::repo::{remove_tree, RepoLock, Repository};
use crate::retention::{Action, RetentionPlan};

/// Prefix of a snapshot folder being removed, under `.infrasnap/tmp/`.
const TRASH_PREFIX: &str = "forgetting-";

/// What `forget` did with one snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct Forgotten {
    pub name: String,
    /// False when a reader registered for it at the last moment: it was left in place.
    pub removed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Remove the snapshots `plan` forgets. Each is first moved into `.infrasnap/tmp/` with one
/// rename (gone from the repository at once, whole), then the readers are looked at again: one
/// that registered for it meanwhile gets it back; otherwise its folder is deleted.
pub fn forget(repo: &Repository, _lock: &RepoLock, plan: &RetentionPlan) -> Result<Vec<Forgotten>> {
    let tmp = repo.root().join(".infrasnap").join("tmp");
    fs::create_dir_all(&tmp).ctx("create folder", &tmp)?;
    let mut out = Vec::new();
    for d in plan.decisions.iter().filter(|d| d.action == Action::Forget) {
        let name: crate::ids::SnapshotName = d.name.parse()?;
        let dir = repo.snapshot_dir(&name);
        let trash = tmp.join(format!(
            "{TRASH_PREFIX}{}-{}",
            d.name,
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        fs::rename(&dir, &trash).ctx("move snapshot out of the repository", &dir)?;
        if let Some(who) = readers::reading(&readers::active(repo.root()), &d.name) {
            fs::rename(&trash, &dir).ctx("put snapshot back", &dir)?;
            out.push(Forgotten {
                name: d.name.clone(),
                removed: false,
                note: Some(format!("kept: in use by {who}")),
            });
            continue;
        }
        remove_tree(&trash).ctx("remove snapshot", &trash)?;
        out.push(Forgotten {
            name: d.name.clone(),
            removed: true,
            note: None,
        });
    }
    Ok(out)
}

/// What a prune found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneReport {
    pub dry_run: bool,
    /// Snapshot folders and staging folders of killed runs whose references were read.
    pub snapshots_scanned: u64,
    pub stagings_scanned: u64,
    /// Blobs in the store before the prune.
    pub blobs_total: u64,
    pub bytes_total: u64,
    /// Distinct blobs the indexes and catalogs reference.
    pub blobs_referenced: u64,
    /// Unreferenced blobs still linked from some file (kept: removing them frees nothing).
    pub blobs_linked_unreferenced: u64,
    /// Blobs removed (or, with `dry_run`, that would be) and the bytes that frees.
    pub blobs_removed: u64,
    pub bytes_freed: u64,
    /// Folders of interrupted forgets that were removed.
    pub leftovers_removed: u64,
}

/// Mark and sweep the store. `on_removed(n)` is called after each removed blob (progress).
pub fn prune(
    repo: &Repository,
    _lock: &RepoLock,
    dry_run: bool,
    mut on_removed: impl FnMut(u64),
) -> Result<PruneReport> {
    let mut report = PruneReport {
        dry_run,
        ..PruneReport::default()
    };
    let tmp = repo.root().join(".infrasnap").join("tmp");
    // Snapshots an interrupted forget had moved away are gone already: finish removing them.
    if let Ok(rd) = fs::read_dir(&tmp) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(TRASH_PREFIX) {
                report.leftovers_removed += 1;
                if !dry_run {
                    remove_tree(&e.path()).ctx("remove", &e.path())?;
                }
            }
        }
    }
    // Mark.
    let mut marked: HashSet<BlobId> = HashSet::new();
    let mut folders: Vec<PathBuf> = Vec::new();
    for e in fs::read_dir(repo.root()).ctx("read repository", repo.root())? {
        let e = e.ctx("read repository", repo.root())?;
        if !e.file_name().to_string_lossy().starts_with('.') && e.path().is_dir() {
            folders.push(e.path());
            report.snapshots_scanned += 1;
        }
    }
    let stagings = repo.abandoned_stagings(Path::new(""));
    report.stagings_scanned = stagings.len() as u64;
    folders.extend(stagings);
    for f in &folders {
        let mut files = crate::index::index_files(f)?;
        let cat = f.join(crate::catalog::RESOURCES);
        if cat.is_file() {
            files.push(cat);
        }
        for file in files {
            mark_file(&file, &mut marked)?;
        }
    }
    report.blobs_referenced = marked.len() as u64;
    // Sweep.
    let blobs = repo.root().join(".infrasnap").join("blobs");
    for fan in fs::read_dir(&blobs).ctx("read blob store", &blobs)? {
        let fan = fan.ctx("read blob store", &blobs)?.path();
        if !fan.is_dir() {
            continue;
        }
        for e in fs::read_dir(&fan).ctx("read blob store", &fan)? {
            let e = e.ctx("read blob store", &fan)?;
            let name = e.file_name().to_string_lossy().into_owned();
            // Only files named as blobs: anything else is not ours to remove.
            let Ok(id) = name.parse::<BlobId>() else {
                continue;
            };
            let Ok(meta) = e.metadata() else { continue };
            report.blobs_total += 1;
            report.bytes_total += meta.len();
            if marked.contains(&id) {
                continue;
            }
            if meta.nlink() > 1 {
                report.blobs_linked_unreferenced += 1;
                continue;
            }
            if !dry_run {
                match fs::remove_file(e.path()) {
                    Ok(()) => {}
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(err) => return Err(CoreError::io("remove blob", e.path(), err)),
                }
            }
            report.blobs_removed += 1;
            report.bytes_freed += meta.len();
            on_removed(report.blobs_removed);
        }
    }
    if !dry_run {
        repo.store().clean_incoming();
    }
    Ok(report)
}

/// Mark every `"blob": "<64 hex>"` of one JSON-lines file (whitespace allowed around the colon).
fn mark_file(path: &Path, marked: &mut HashSet<BlobId>) -> Result<()> {
    const KEY: &[u8] = b"\"blob\"";
    let f = fs::File::open(path).ctx("open index", path)?;
    let mut r = BufReader::with_capacity(256 * 1024, f);
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line).ctx("read index", path)?;
        if n == 0 {
            break;
        }
        let mut at = 0;
        while let Some(p) = find(&line[at..], KEY) {
            at += p + KEY.len();
            let rest = &line[at..];
            let skip = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_whitespace()).count();
            let i = skip(rest);
            if rest.get(i) != Some(&b':') {
                continue;
            }
            let j = i + 1 + skip(&rest[i + 1..]);
            if rest.get(j) != Some(&b'"') {
                continue;
            }
            if let Some(hex) = rest.get(j + 1..j + 65) {
                if let Some(id) = std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| h.parse::<BlobId>().ok())
                {
                    marked.insert(id);
                }
            }
        }
    }
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        match hay[i..].iter().position(|&b| b == first) {
            Some(p) => {
                i += p;
                if hay[i..].starts_with(needle) {
                    return Some(i);
                }
                i += 1;
            }
            None => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::Status;
    use crate::retention::{Decision, RetentionPlan};

    fn write(p: &Path, text: &str) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    /// A repository with: `a` (an object linked and indexed, a catalog-only document), a killed
    /// run's staging that indexed one blob, one blob nobody references, and one that only a stray
    /// file links.
    fn fixture() -> (tempfile::TempDir, Repository, [BlobId; 5]) {
        let d = tempfile::tempdir().unwrap();
        let repo = Repository::open_or_init(&d.path().join("r")).unwrap();
        let s = repo.store();
        let obj = s.put_bytes(b"object").unwrap().id;
        let doc = s.put_bytes(b"member document").unwrap().id;
        let staged = s.put_bytes(b"staged by a killed run").unwrap().id;
        let garbage = s.put_bytes(&[7u8; 5000]).unwrap().id;
        let linked = s.put_bytes(b"linked elsewhere").unwrap().id;
        let a = repo.root().join("a");
        fs::create_dir_all(a.join("s3_buckets/b")).unwrap();
        s.link_to(&obj, &a.join("s3_buckets/b/k")).unwrap();
        write(
            &a.join("index/s3_buckets/b.jsonl"),
            &format!("{{\"key\":\"k\",\"path\":\"s3_buckets/b/k\",\"blob\":\"{obj}\"}}\n"),
        );
        write(
            &a.join(crate::catalog::RESOURCES),
            &format!("{{\"id\":\"x\",\"blob\": \"{doc}\",\"parts\":{{}}}}\n"),
        );
        write(
            &repo
                .root()
                .join(".infrasnap/tmp/staging-b-1/index/files.jsonl"),
            &format!("{{\"path\":\"p\",\"blob\":\"{staged}\"}}\n{{\"path\":\"q\",\"blo"),
        );
        s.link_to(&linked, &d.path().join("stray")).unwrap();
        (d, repo, [obj, doc, staged, garbage, linked])
    }

    #[test]
    fn prune_removes_only_what_nothing_references_or_links() {
        let (_d, repo, [obj, doc, staged, garbage, linked]) = fixture();
        let lock = repo.lock(None).unwrap();
        let dry = prune(&repo, &lock, true, |_| {}).unwrap();
        assert_eq!((dry.blobs_removed, dry.bytes_freed), (1, 5000));
        assert!(repo.store().contains(&garbage), "a dry run removes nothing");
        let r = prune(&repo, &lock, false, |_| {}).unwrap();
        assert_eq!(r.blobs_total, 5);
        assert_eq!(r.blobs_referenced, 3);
        assert_eq!(r.blobs_linked_unreferenced, 1);
        assert_eq!((r.blobs_removed, r.bytes_freed), (1, 5000));
        assert_eq!((r.snapshots_scanned, r.stagings_scanned), (1, 1));
        assert!(!repo.store().contains(&garbage));
        for id in [obj, doc, staged, linked] {
            assert!(repo.store().contains(&id));
        }
        let again = prune(&repo, &lock, false, |_| {}).unwrap();
        assert_eq!(again.blobs_removed, 0);
    }

    #[test]
    fn a_damaged_index_line_still_marks_what_it_can_and_nothing_else_breaks() {
        let (_d, repo, [obj, ..]) = fixture();
        let idx = repo.root().join("a/index/s3_buckets/b.jsonl");
        let text = fs::read_to_string(&idx).unwrap();
        fs::write(&idx, format!("not json {{\n{text}")).unwrap();
        let lock = repo.lock(None).unwrap();
        prune(&repo, &lock, false, |_| {}).unwrap();
        assert!(repo.store().contains(&obj));
    }

    fn plan_forgetting(names: &[&str]) -> RetentionPlan {
        RetentionPlan {
            policy: "test".into(),
            decisions: names
                .iter()
                .map(|n| Decision {
                    name: n.to_string(),
                    time: chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap(),
                    status: Status::Complete,
                    label: None,
                    action: Action::Forget,
                    reasons: vec![],
                    note: None,
                })
                .collect(),
        }
    }

    #[test]
    fn forget_removes_the_folder_unless_a_reader_holds_it_then_prune_frees_its_blobs() {
        let (_d, repo, [obj, ..]) = fixture();
        let lock = repo.lock(None).unwrap();
        let reader = readers::register(repo.root(), "verify", &["a".into()]).unwrap();
        let out = forget(&repo, &lock, &plan_forgetting(&["a"])).unwrap();
        assert!(!out[0].removed);
        assert!(out[0].note.as_deref().unwrap().contains("in use by verify"));
        assert!(repo.root().join("a/index").is_dir());
        drop(reader);
        let out = forget(&repo, &lock, &plan_forgetting(&["a"])).unwrap();
        assert!(out[0].removed);
        assert!(!repo.root().join("a").exists());
        let r = prune(&repo, &lock, false, |_| {}).unwrap();
        assert!(!repo.store().contains(&obj));
        assert_eq!(r.blobs_removed, 3, "object, catalog document, garbage");
    }

    #[test]
    fn an_interrupted_forget_is_finished_by_prune() {
        let (_d, repo, [obj, ..]) = fixture();
        let trash = repo.root().join(".infrasnap/tmp/forgetting-a-1");
        fs::rename(repo.root().join("a"), &trash).unwrap();
        let lock = repo.lock(None).unwrap();
        let r = prune(&repo, &lock, false, |_| {}).unwrap();
        assert_eq!(r.leftovers_removed, 1);
        assert!(!trash.exists());
        assert!(!repo.store().contains(&obj));
    }
}
