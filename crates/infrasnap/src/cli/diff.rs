//! `infrasnap diff A B [selection] [--content]`: what changed between two snapshots, resource by
//! resource (infrasnap-core's `diff`). Reads only; exits 5 when something was added, removed or
//! modified.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use infrasnap_core::diff::{diff_snapshots, render, DiffOptions, Selection};

use super::{open_repo, snapshot_dir, Global};
use crate::exit;

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The earlier snapshot (a name from `infrasnap list`)
    #[arg(value_name = "A")]
    pub from: String,
    /// The later snapshot
    #[arg(value_name = "B", required_unless_present = "live")]
    pub to: Option<String>,
    /// Only these resources: ids (`kind:account:region:id`) or globs on the id text (`*`, `?`);
    /// a pattern without `:` matches the id alone (`checkout`, `site-*`)
    #[arg(value_name = "RESOURCE")]
    pub ids: Vec<String>,
    /// Only this kind, or a glob such as `aws.lambda.*` (repeatable)
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<String>,
    /// Only this account (repeatable; globs allowed)
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
    /// Only this region (repeatable; globs allowed)
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Also show what changed inside files: unified diffs of text (S3 objects, scripts), the
    /// members of zip archives (Lambda code)
    #[arg(long)]
    pub content: bool,
    /// Objects or items listed per resource (all are counted)
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub limit: usize,
    /// Compare snapshot A with the estate as it is now (not yet available)
    #[arg(long)]
    pub live: bool,
    /// Configuration file (for its `repo =`)
    #[arg(long, value_name = "FILE", env = "INFRASNAP_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Colour on a terminal, unless `NO_COLOR` is set (https://no-color.org).
pub fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn run(g: &Global, a: DiffArgs) -> anyhow::Result<u8> {
    if a.live {
        anyhow::bail!(
            "`infrasnap diff --live` is not yet available; take a snapshot (`infrasnap snapshot`) \
             and compare the two: `infrasnap diff {} <new snapshot>`",
            a.from
        );
    }
    let repo = open_repo(g, a.config.as_deref())?;
    let from = snapshot_dir(&repo, &a.from)?;
    let to = snapshot_dir(&repo, a.to.as_deref().expect("required without --live"))?;
    let sel = Selection {
        kinds: a.kinds,
        accounts: a.accounts,
        regions: a.regions,
        ids: a.ids,
    };
    let report = diff_snapshots(
        &from,
        &to,
        &repo.root().join(".infrasnap").join("blobs"),
        &sel,
        &DiffOptions {
            content: a.content,
            max_listed: a.limit,
        },
    )?;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!(
            "{}",
            render::diff(&report, render::Style { color: color() })
        );
    }
    Ok(if report.differs() {
        exit::DIFFERENT
    } else {
        exit::OK
    })
}
