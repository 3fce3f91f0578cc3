//! `infrasnap log <id or path> [--field P]`: the history of one resource across every snapshot
//! of the repository, oldest first. Reads only.

use std::path::PathBuf;

use clap::Args;
use infrasnap_core::diff::log::{log_resource, LogOptions, LogTarget};
use infrasnap_core::diff::render;

use super::{open_repo, Global};
use crate::exit;

#[derive(Args, Debug)]
pub struct LogArgs {
    /// A resource id (`kind:account:region:id`), or a path inside a snapshot: a resource's
    /// document or part, or an S3 object's file (`s3_buckets/<bucket>/<key>`)
    #[arg(value_name = "ID_OR_PATH")]
    pub target: String,
    /// Only changes of this field: a JSON pointer into the document (`/Configuration/Timeout`),
    /// or into the object record for an S3 object (`/metadata/owner`)
    #[arg(long, value_name = "POINTER")]
    pub field: Option<String>,
    /// Configuration file (for its `repo =`)
    #[arg(long, value_name = "FILE", env = "INFRASNAP_CONFIG")]
    pub config: Option<PathBuf>,
}

pub fn run(g: &Global, a: LogArgs) -> anyhow::Result<u8> {
    let target: LogTarget = a.target.parse()?;
    if let Some(f) = &a.field {
        if !f.is_empty() && !f.starts_with('/') {
            anyhow::bail!(
                "--field takes a JSON pointer that starts with `/`, for example \
                 `/Configuration/Timeout`; got `{f}`"
            );
        }
    }
    let repo = open_repo(g, a.config.as_deref())?;
    let snaps = repo.snapshots()?;
    if snaps.is_empty() {
        anyhow::bail!(
            "the repository `{}` has no snapshots yet; run `infrasnap snapshot` first",
            repo.root().display()
        );
    }
    // Registered, so that `forget` leaves them alone while they are read (best effort); one
    // forgotten just before is left out.
    let names: Vec<String> = snaps.iter().map(|m| m.name.clone()).collect();
    let _reading = infrasnap_core::readers::register(repo.root(), "log", &names).ok();
    let dirs: Vec<PathBuf> = snaps
        .iter()
        .map(|m| repo.root().join(&m.name))
        .filter(|d| d.is_dir())
        .collect();
    let report = log_resource(
        &dirs,
        &repo.root().join(".infrasnap").join("blobs"),
        &target,
        &LogOptions { field: a.field },
    )?;
    if g.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!(
            "{}",
            render::log(
                &report,
                render::Style {
                    color: super::diff::color()
                }
            )
        );
    }
    Ok(exit::OK)
}
