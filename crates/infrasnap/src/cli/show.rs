//! `infrasnap show NAME`

use infrasnap_core::manifest::human_bytes;
use infrasnap_core::repo::Repository;

use super::{pick_snapshot, Global};
use crate::exit;

pub fn run(g: &Global, name: Option<String>) -> anyhow::Result<u8> {
    let repo = Repository::open(&g.repo_or("snapshots"))?;
    let name = pick_snapshot(&repo, name)?;
    let _reading = infrasnap_core::readers::register(repo.root(), "show", &[name.to_string()]).ok();
    let m = repo.metadata(&name)?;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&m)?);
        return Ok(exit::OK);
    }
    println!("Snapshot   {}", m.name);
    if let Some(l) = &m.label {
        println!("Label      {l}");
    }
    println!("Status     {}", m.status.as_str());
    println!(
        "Started    {} ({:.1} s)",
        m.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        m.duration_seconds
    );
    println!(
        "Account    {}",
        m.account_id.as_deref().unwrap_or("unknown")
    );
    println!("Regions    {}", m.regions.join(", "));
    println!(
        "Parent     {}",
        m.parent.as_deref().unwrap_or("none (first snapshot)")
    );
    println!(
        "Objects    {} ({}), {} new",
        m.totals.objects,
        human_bytes(m.totals.bytes),
        human_bytes(m.totals.bytes_new)
    );
    println!("Folder     {}", repo.snapshot_dir(&name).display());
    for (svc, c) in &m.collectors {
        let counts: Vec<String> = c.counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        println!(
            "  {svc:<10} {:<9} {}; {} downloaded; {} errors",
            c.status.map(|s| s.as_str()).unwrap_or("-"),
            counts.join(", "),
            c.objects_downloaded,
            c.errors.len()
        );
    }
    let errors: Vec<_> = m.all_errors().collect();
    if !errors.is_empty() {
        println!("Errors:");
        for e in errors {
            println!(
                "  {} {} on {}: {}{}",
                e.service,
                e.action,
                e.resource,
                e.code
                    .as_deref()
                    .map(|c| format!("{c}: "))
                    .unwrap_or_default(),
                e.message
            );
        }
    }
    Ok(exit::OK)
}
