//! `infrasnap list`

use infrasnap_core::manifest::human_bytes;

use super::Global;
use crate::exit;

pub fn run(g: &Global) -> anyhow::Result<u8> {
    let repo = super::open_repo(g, None)?;
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
                    "scope": m.scope.as_ref().map(|s| if s.partial { "partial" } else { "full" }),
                })
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(exit::OK);
    }
    if snaps.is_empty() {
        outln!(
            "No snapshots in {} yet. Run `infrasnap snapshot` to take one.",
            repo.root().display()
        );
        return Ok(exit::OK);
    }
    outln!(
        "{:<28} {:<20} {:<20} {:<8} {:>9} {:>10} {:>10} {:>6}",
        "NAME",
        "STARTED (UTC)",
        "STATUS",
        "SCOPE",
        "OBJECTS",
        "SIZE",
        "NEW",
        "ERRORS"
    );
    for m in &snaps {
        outln!(
            "{:<28} {:<20} {:<20} {:<8} {:>9} {:>10} {:>10} {:>6}",
            m.name,
            m.started_at.format("%Y-%m-%d %H:%M:%S"),
            m.status.label(),
            match &m.scope {
                Some(s) if s.partial => "partial",
                Some(_) => "full",
                None => "-",
            },
            m.totals.objects,
            human_bytes(m.totals.bytes),
            human_bytes(m.totals.bytes_new),
            m.totals.errors
        );
    }
    Ok(exit::OK)
}
