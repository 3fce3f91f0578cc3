//! `infrasnap prune [--dry-run]`: remove the blobs no snapshot references (infrasnap-core
//! `prune`), under the repository lock, and report the space freed.

use std::time::Duration;

use infrasnap_core::manifest::human_bytes;
use infrasnap_core::prune::PruneReport;
use infrasnap_core::repo::{RepoLock, Repository};

use super::Global;
use crate::exit;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct PruneArgs {
    /// Count what would be removed; remove nothing
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// If a run holds the repository, wait up to this many seconds instead of failing
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "3600")]
    pub wait_lock: Option<u64>,
}

pub fn run(g: &Global, a: PruneArgs) -> anyhow::Result<u8> {
    let repo = Repository::open(&g.repo_or("snapshots"))?;
    let lock = repo.lock(a.wait_lock.map(Duration::from_secs))?;
    let report = run_prune(&repo, &lock, a.dry_run)?;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(exit::OK)
}

/// Prune with the lock held.
pub fn run_prune(repo: &Repository, lock: &RepoLock, dry_run: bool) -> anyhow::Result<PruneReport> {
    Ok(infrasnap_core::prune::prune(repo, lock, dry_run, |_| {})?)
}

pub fn print_report(r: &PruneReport) {
    println!(
        "{} {} unreferenced blobs, {} {} (store: {} blobs, {}; {} referenced by {} snapshots{}{})",
        if r.dry_run { "Would remove" } else { "Removed" },
        r.blobs_removed,
        human_bytes(r.bytes_freed),
        if r.dry_run { "would be freed" } else { "freed" },
        r.blobs_total,
        human_bytes(r.bytes_total),
        r.blobs_referenced,
        r.snapshots_scanned,
        if r.stagings_scanned > 0 {
            format!(" and {} interrupted runs", r.stagings_scanned)
        } else {
            String::new()
        },
        if r.blobs_linked_unreferenced > 0 {
            format!(
                "; {} unreferenced but still linked from files, kept",
                r.blobs_linked_unreferenced
            )
        } else {
            String::new()
        },
    );
}
