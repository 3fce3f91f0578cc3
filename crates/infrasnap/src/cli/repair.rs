//! `infrasnap repair [NAME | --all]`: put right what `verify` finds, from intact bytes in the
//! repository.

use infrasnap_core::ids::SnapshotName;
use infrasnap_core::repo::Repository;
use infrasnap_core::verify::{repair, verify_snapshot, BlobCache};

use super::Global;
use crate::exit;

pub fn run(g: &Global, name: Option<String>) -> anyhow::Result<u8> {
    let repo = Repository::open(&g.repo_or("snapshots"))?;
    let lock = repo.lock(None)?;
    // Every snapshot is verified, so that an intact copy anywhere can serve; only the named one
    // (or all) is reported.
    let names: Vec<String> = repo.entries()?.into_iter().map(|e| e.name).collect();
    let mut cache = BlobCache::default();
    let mut reports = Vec::new();
    for n in &names {
        if let Ok(parsed) = n.parse::<SnapshotName>() {
            reports.push(verify_snapshot(&repo, &parsed, &mut cache, |_| {})?);
        }
    }
    let mut out = repair(&repo, &lock, &reports)?;
    if let Some(n) = &name {
        let prefix = format!("{n}/");
        out.not_repaired.retain(|p| p.path.starts_with(&prefix));
    }
    if g.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for r in &out.repaired {
            println!("repaired: {r}");
        }
        for p in &out.not_repaired {
            println!("NOT repaired: {:?}: {} ({})", p.kind, p.path, p.detail);
        }
        if out.not_repaired.is_empty() {
            println!("nothing left to repair");
        } else {
            println!(
                "\nWhat is left has no intact copy in the repository. A new `infrasnap snapshot` \
                 downloads again the objects whose blobs are missing; remove a damaged blob from \
                 .infrasnap/blobs/ first so that it counts as missing."
            );
        }
    }
    Ok(if out.not_repaired.is_empty() {
        exit::OK
    } else {
        exit::DAMAGED
    })
}
