//! `infrasnap findings [SNAPSHOT] [--fail-on SEVERITY]`: the rules of infrasnap-core's
//! `findings` over one snapshot (default: the latest), with each finding's state against the
//! snapshots before it. Reads only. Exits 8 when `--fail-on` is given and a finding at that
//! severity or worse counts (not resolved, not suppressed).

use std::path::PathBuf;

use clap::Args;
use infrasnap_core::findings::{assess_in_repo, Severity};

use super::{open_repo, pick_snapshot, snapshot, snapshot_dir, Global};
use crate::exit;

#[derive(Args, Debug)]
pub struct FindingsArgs {
    /// Snapshot name (see `infrasnap list`); default: the latest
    #[arg(value_name = "SNAPSHOT")]
    pub name: Option<String>,
    /// Exit 8 when a finding of this severity or worse counts (for CI): high, medium or low
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// Configuration file (its `repo =` and `[[findings.suppress]]`)
    #[arg(long, value_name = "FILE", env = "INFRASNAP_CONFIG")]
    pub config: Option<PathBuf>,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

pub fn run(g: &Global, a: FindingsArgs) -> anyhow::Result<u8> {
    let cfg = snapshot::load_config(a.config.as_deref())?;
    let repo = open_repo(g, a.config.as_deref())?;
    let name = match &a.name {
        Some(n) => n.clone(),
        None => pick_snapshot(&repo, None)?.to_string(),
    };
    let dir = snapshot_dir(&repo, &name)?;
    let report = assess_in_repo(&repo, &dir, &name, None, &cfg.findings.suppress)?;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(match a.fail_on {
        Some(s) if report.fails(s) => exit::FINDINGS,
        _ => exit::OK,
    })
}
