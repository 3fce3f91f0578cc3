//! `infrasnap list`

use infrasnap_core::manifest::human_bytes;

use super::Global;
use crate::exit;

/// Every snapshot folder is listed, a damaged one too (its metadata or seal missing or damaged):
/// then the exit code is 4 and `infrasnap verify NAME` says more.
pub fn run(g: &Global) -> anyhow::Result<u8> {
    let repo = super::open_repo(g, None)?;
    let snaps = repo.entries()?;
    let damaged = snaps.iter().any(|e| e.damage.is_some());
    let code = if damaged { exit::DAMAGED } else { exit::OK };
    if g.json {
        let rows: Vec<_> = snaps
            .iter()
            .map(|e| match &e.meta {
                Some(m) => serde_json::json!({
                    "name": m.name, "label": m.label, "started_at": m.started_at,
                    "duration_seconds": m.duration_seconds,
                    "status": if e.damage.is_some() { "damaged" } else { m.status.as_str() },
                    "objects": m.totals.objects, "bytes": m.totals.bytes,
                    "bytes_new": m.totals.bytes_new, "errors": m.totals.errors,
                    "parent": m.parent, "account_id": m.account_id, "damage": e.damage,
                    "scope": m.scope.as_ref().map(|s| if s.partial { "partial" } else { "full" }),
                }),
                None => serde_json::json!({
                    "name": e.name, "status": "damaged", "damage": e.damage,
                }),
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(code);
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
    for e in &snaps {
        match &e.meta {
            Some(m) => outln!(
                "{:<28} {:<20} {:<20} {:<8} {:>9} {:>10} {:>10} {:>6}",
                m.name,
                m.started_at.format("%Y-%m-%d %H:%M:%S"),
                if e.damage.is_some() {
                    "DAMAGED"
                } else {
                    m.status.label()
                },
                match &m.scope {
                    Some(s) if s.partial => "partial",
                    Some(_) => "full",
                    None => "-",
                },
                m.totals.objects,
                human_bytes(m.totals.bytes),
                human_bytes(m.totals.bytes_new),
                m.totals.errors
            ),
            None => outln!("{:<28} {:<20} {:<20}", e.name, "?", "DAMAGED"),
        }
    }
    if damaged {
        outln!("");
        for e in snaps.iter().filter(|e| e.damage.is_some()) {
            outln!(
                "{} is DAMAGED: {}; `infrasnap verify {}` checks it in full",
                e.name,
                e.damage.as_deref().unwrap_or_default(),
                e.name
            );
        }
    }
    Ok(code)
}
