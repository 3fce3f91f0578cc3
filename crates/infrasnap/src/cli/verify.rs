//! `infrasnap verify [NAME | --all]`

use infrasnap_core::ids::SnapshotName;
use infrasnap_core::verify::{verify_snapshot, BlobCache};

use super::{pick_snapshot, Global};
use crate::exit;

pub fn run(g: &Global, name: Option<String>, all: bool) -> anyhow::Result<u8> {
    let repo = super::open_repo(g, None)?;
    let names: Vec<SnapshotName> = if all {
        repo.snapshots()?
            .into_iter()
            .map(|m| m.name.parse())
            .collect::<Result<_, _>>()?
    } else {
        vec![pick_snapshot(&repo, name)?]
    };
    // Registered, so that `forget` leaves these alone while they are read (best effort: a
    // read-only repository is still verified).
    let list: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let _reading = infrasnap_core::readers::register(repo.root(), "verify", &list).ok();
    let mut cache = BlobCache::default();
    let mut reports = Vec::new();
    for n in &names {
        let bar = crate::output::counter_bar(g, &format!("verify {n}"));
        let r = verify_snapshot(&repo, n, &mut cache, |i| {
            if let Some(b) = &bar {
                b.set_position(i);
            }
        })?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        reports.push(r);
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
            if r.ok() {
                outln!(
                    "{}: OK ({} files, {} bytes hashed)",
                    r.snapshot,
                    r.files_checked,
                    r.bytes_checked
                );
            } else {
                outln!(
                    "{}: {} PROBLEMS in {} files",
                    r.snapshot,
                    r.problems.len(),
                    r.files_checked
                );
                for p in &r.problems {
                    outln!("  {:?}: {} ({})", p.kind, p.path, p.detail);
                }
            }
        }
        if damaged {
            outln!(
                "\nA snapshot's files are hard links to the blobs they name: a damaged blob damages \
                 every snapshot that shares it. Remove the damaged blob from .infrasnap/blobs/ and \
                 take a new snapshot: objects whose blob is missing are downloaded again."
            );
        }
    }
    Ok(if damaged { exit::DAMAGED } else { exit::OK })
}
