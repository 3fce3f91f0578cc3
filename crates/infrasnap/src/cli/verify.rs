//! `infrasnap verify [NAME | --all]`

use infrasnap_core::ids::SnapshotName;
use infrasnap_core::verify::{verify_snapshot, BlobCache, Problem, ProblemKind, VerifyReport};

use super::Global;
use crate::exit;

pub fn run(g: &Global, name: Option<String>, all: bool) -> anyhow::Result<u8> {
    let repo = super::open_repo(g, None)?;
    let entries = repo.entries()?;
    // Without a name: the newest snapshot, and a plain word that only it was checked (plus the
    // cheap metadata and seal check of every other one, which never lets damage pass unseen).
    let mut scope_note = None;
    let names: Vec<String> = if all {
        entries.iter().map(|e| e.name.clone()).collect()
    } else if let Some(n) = name {
        vec![n]
    } else {
        let newest = entries
            .iter()
            .rev()
            .find(|e| e.meta.is_some())
            .or(entries.last())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "the repository `{}` has no snapshots yet; run `infrasnap snapshot` first",
                    repo.root().display()
                )
            })?;
        if entries.len() > 1 {
            scope_note = Some(format!(
                "checked only the newest snapshot, `{}`, of {}; `infrasnap verify --all` checks \
                 every one",
                newest.name,
                entries.len()
            ));
        }
        vec![newest.name.clone()]
    };
    // Registered, so that `forget` leaves these alone while they are read (best effort: a
    // read-only repository is still verified).
    let list: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let _reading = infrasnap_core::readers::register(repo.root(), "verify", &list).ok();
    let mut cache = BlobCache::default();
    let mut reports = Vec::new();
    for n in &names {
        let parsed: SnapshotName = match n.parse() {
            Ok(p) => p,
            Err(e) => {
                reports.push(VerifyReport {
                    snapshot: n.clone(),
                    files_checked: 0,
                    bytes_checked: 0,
                    seal: infrasnap_core::verify::SealState::Damaged,
                    problems: vec![Problem {
                        kind: ProblemKind::BadMetadata,
                        path: n.clone(),
                        blob: None,
                        detail: format!("the folder's name is not a snapshot name: {e}"),
                        relink_from: None,
                    }],
                    notes: vec![],
                });
                continue;
            }
        };
        let bar = crate::output::counter_bar(g, &format!("verify {n}"));
        let r = verify_snapshot(&repo, &parsed, &mut cache, |i| {
            if let Some(b) = &bar {
                b.set_position(i);
            }
        });
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        reports.push(r?);
    }
    // Others found damaged by the cheap check, when only one was verified.
    let others_damaged: Vec<(String, String)> = if all {
        Vec::new()
    } else {
        entries
            .iter()
            .filter(|e| !names.contains(&e.name))
            .filter_map(|e| e.damage.clone().map(|d| (e.name.clone(), d)))
            .collect()
    };
    // In JSON, each of those is a report of its own with the quick check's finding.
    for (n, d) in &others_damaged {
        reports.push(VerifyReport {
            snapshot: n.clone(),
            files_checked: 0,
            bytes_checked: 0,
            seal: infrasnap_core::verify::SealState::Damaged,
            problems: vec![Problem {
                kind: ProblemKind::BadMetadata,
                path: n.clone(),
                blob: None,
                detail: d.clone(),
                relink_from: None,
            }],
            notes: vec![format!(
                "found by the quick check of metadata and seal; `infrasnap verify {n}` checks it \
                 in full"
            )],
        });
    }
    if let (Some(s), Some(first)) = (&scope_note, reports.first_mut()) {
        first.notes.push(s.clone());
    }
    let damaged = reports.iter().any(|r| !r.ok());
    if g.json {
        let problems: Vec<_> = reports
            .iter()
            .flat_map(|r| {
                r.problems
                    .iter()
                    .map(move |p| serde_json::json!({"snapshot": r.snapshot, "problem": p}))
            })
            .collect();
        let v = crate::output::envelope(
            "verify",
            if damaged { "damaged" } else { "ok" },
            &problems,
            serde_json::json!({"snapshots": reports}),
        );
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for r in &reports {
            let seal = match r.seal {
                infrasnap_core::verify::SealState::Sealed => "sealed",
                infrasnap_core::verify::SealState::Unsealed => "unsealed (older)",
                infrasnap_core::verify::SealState::Damaged => "seal damaged",
            };
            if r.ok() {
                outln!(
                    "{}: OK, {seal} ({} files, {} bytes hashed)",
                    r.snapshot,
                    r.files_checked,
                    r.bytes_checked
                );
            } else {
                outln!(
                    "{}: DAMAGED, {seal}: {} problem(s) in {} files",
                    r.snapshot,
                    r.problems.len(),
                    r.files_checked
                );
                for p in &r.problems {
                    outln!("  {:?}: {} ({})", p.kind, p.path, p.detail);
                }
            }
            for n in &r.notes {
                outln!("  note: {n}");
            }
        }
        if reports
            .iter()
            .flat_map(|r| &r.problems)
            .any(|p| matches!(p.kind, ProblemKind::MissingBlob | ProblemKind::CorruptBlob))
        {
            outln!(
                "\nA snapshot's files are hard links to the blobs they name: a damaged blob damages \
                 every snapshot that shares it. Where a problem names a tree file that still holds \
                 the intact bytes, the blob can be re-linked from it. Otherwise remove the damaged \
                 blob from .infrasnap/blobs/ and take a new snapshot: objects whose blob is missing \
                 are downloaded again."
            );
        }
    }
    Ok(if damaged { exit::DAMAGED } else { exit::OK })
}
