//! `infrasnap report [SNAPSHOT] -o report.html`: one self-contained offline HTML page about a
//! snapshot (infrasnap-core's `report`). Reads the repository; writes only the page.

use std::path::PathBuf;

use clap::Args;
use infrasnap_core::report;

use super::{open_repo, pick_snapshot, snapshot, snapshot_dir, Global};
use crate::exit;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Snapshot name (see `infrasnap list`); default: the latest
    #[arg(value_name = "SNAPSHOT")]
    pub name: Option<String>,
    /// The HTML file to write
    #[arg(short, long, value_name = "FILE", default_value = "report.html")]
    pub output: PathBuf,
    /// Configuration file (its `repo =` and `[[findings.suppress]]`)
    #[arg(long, value_name = "FILE", env = "INFRASNAP_CONFIG")]
    pub config: Option<PathBuf>,
}

pub fn run(g: &Global, a: ReportArgs) -> anyhow::Result<u8> {
    let cfg = snapshot::load_config(a.config.as_deref())?;
    let repo = open_repo(g, a.config.as_deref())?;
    let name = match &a.name {
        Some(n) => n.clone(),
        None => pick_snapshot(&repo, None)?.to_string(),
    };
    snapshot_dir(&repo, &name)?;
    let r = report::build(&repo, &name, &cfg.findings.suppress)?;
    let page = report::html::render(&r);
    infrasnap_core::repo::write_atomic(&a.output, page.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write the report: {e}"))?;
    if g.json {
        println!(
            "{}",
            serde_json::json!({"report": a.output, "snapshot": name, "bytes": page.len(),
                "findings": r.findings.counts})
        );
    } else if !g.quiet {
        eprintln!(
            "Wrote {} ({}) for snapshot `{name}`: {} high, {} medium, {} low findings",
            a.output.display(),
            infrasnap_core::manifest::human_bytes(page.len() as u64),
            r.findings.counts.high,
            r.findings.counts.medium,
            r.findings.counts.low
        );
    }
    Ok(exit::OK)
}
