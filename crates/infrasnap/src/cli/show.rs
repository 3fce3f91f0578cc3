//! `infrasnap show NAME`

use infrasnap_core::manifest::human_bytes;

use super::{pick_snapshot, Global};
use crate::exit;

pub fn run(g: &Global, name: Option<String>) -> anyhow::Result<u8> {
    let repo = super::open_repo(g, None)?;
    let name = pick_snapshot(&repo, name)?;
    let _reading = infrasnap_core::readers::register(repo.root(), "show", &[name.to_string()]).ok();
    let m = repo.metadata(&name)?;
    if g.json {
        let v = crate::output::envelope(
            "show",
            m.status.as_str(),
            &m.all_errors().collect::<Vec<_>>(),
            serde_json::json!({
                "snapshot": m.name, "path": repo.snapshot_dir(&name), "metadata": m,
            }),
        );
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(exit::OK);
    }
    outln!("Snapshot   {}", m.name);
    if let Some(l) = &m.label {
        outln!("Label      {l}");
    }
    outln!("Status     {}", m.status.label());
    if let Some(scope) = &m.scope {
        outln!("Scope      {}", infrasnap_core::manifest::scope_line(scope));
    }
    outln!(
        "Started    {} ({:.1} s)",
        m.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        m.duration_seconds
    );
    outln!(
        "Account    {}",
        m.account_id.as_deref().unwrap_or("unknown")
    );
    outln!("Regions    {}", m.regions.join(", "));
    outln!(
        "Parent     {}",
        m.parent.as_deref().unwrap_or("none (first snapshot)")
    );
    outln!(
        "Objects    {} ({}), {} new",
        m.totals.objects,
        human_bytes(m.totals.bytes),
        human_bytes(m.totals.bytes_new)
    );
    outln!("Folder     {}", repo.snapshot_dir(&name).display());
    for (svc, c) in &m.collectors {
        let counts: Vec<String> = c.counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        outln!(
            "  {svc:<10} {:<20} {}; {} downloaded; {} errors",
            c.status.map(|s| s.label()).unwrap_or("-"),
            counts.join(", "),
            c.objects_downloaded,
            c.errors.len()
        );
    }
    let errors: Vec<_> = m.all_errors().collect();
    if !errors.is_empty() {
        outln!("Errors:");
        for e in errors {
            outln!("  {e}");
        }
    }
    Ok(exit::OK)
}
