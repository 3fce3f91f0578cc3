//! `infrasnap list`

use infrasnap_core::manifest::human_bytes;
use infrasnap_core::repo::Repository;

use super::Global;
use crate::exit;

pub fn run(g: &Global) -> anyhow::Result<u8> {
    let repo = Repository::open(&g.repo_or("snapshots"))?;
    let snaps = repo.snapshots()?;
    if g.json {
        let rows: Vec<_> = snaps
            .iter()
            .map(|m| {
                serde_json::json!({
                    "name": m.name, "label": m.label, "started_at": m.started_at,
                    "duration_seconds": m.duration_seconds, "status": m.status,
                    "objects": m.totals.objects, "bytes": m.totals.bytes,
                    "bytes_new": m.totals.bytes_new, "errors": m.totals.errors,
                    "parent": m.parent, "account_id": m.account_id,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(exit::OK);
    }
    if snaps.is_empty() {
        println!(
            "No snapshots in {} yet. Run `infrasnap snapshot` to take one.",
            repo.root().display()
        );
        return Ok(exit::OK);
    }
    println!(
        "{:<28} {:<20} {:<9} {:>9} {:>10} {:>10} {:>6}",
        "NAME", "STARTED (UTC)", "STATUS", "OBJECTS", "SIZE", "NEW", "ERRORS"
    );
    for m in &snaps {
        println!(
            "{:<28} {:<20} {:<9} {:>9} {:>10} {:>10} {:>6}",
            m.name,
            m.started_at.format("%Y-%m-%d %H:%M:%S"),
            m.status.as_str(),
            m.totals.objects,
            human_bytes(m.totals.bytes),
            human_bytes(m.totals.bytes_new),
            m.totals.errors
        );
    }
    Ok(exit::OK)
}
