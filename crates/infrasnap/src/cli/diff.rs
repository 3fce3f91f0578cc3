//! `infrasnap diff A B [selection] [--content]`: what changed between two snapshots, resource by
//! resource (infrasnap-core's `diff`). Reads only; exits 5 when something was added, removed or
//! modified.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use infrasnap_collectors::driver::Finish;
use infrasnap_core::catalog::kinds;
use infrasnap_core::diff::select::glob;
use infrasnap_core::diff::{diff_snapshots, render, DiffOptions, Selection};

use super::{open_repo, snapshot, snapshot_dir, Global};
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
    /// Compare snapshot A with the estate as it is now: the selected scope is captured (the
    /// services of the `--kind`s, the `--region`s) into a scratch snapshot that is compared and
    /// then removed; what it downloaded stays in the store for the next snapshot to link
    #[arg(long)]
    pub live: bool,
    /// With --live: AWS profile from ~/.aws/config (default: $AWS_PROFILE, else `default`)
    #[arg(long, value_name = "NAME", requires = "live")]
    pub profile: Option<String>,
    /// With --live: send AWS requests to this endpoint ($AWS_ENDPOINT_URL works too)
    #[arg(long, value_name = "URL", requires = "live")]
    pub endpoint_url: Option<String>,
    /// With --live: path-style S3 addressing (automatic for IP and localhost endpoints)
    #[arg(long, requires = "live")]
    pub s3_path_style: bool,
    /// Configuration file (for its `repo =`)
    #[arg(long, value_name = "FILE", env = "INFRASNAP_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Colour on a terminal, unless `NO_COLOR` is set (https://no-color.org).
pub fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub async fn run(g: &Global, mut a: DiffArgs) -> anyhow::Result<u8> {
    let repo = open_repo(g, a.config.as_deref())?;
    let from = snapshot_dir(&repo, &a.from)?;
    if a.live {
        // `diff A --live RESOURCE...`: the first pattern lands where B would.
        if let Some(t) = a.to.take() {
            a.ids.insert(0, t);
        }
    }
    let sel = Selection {
        kinds: a.kinds.clone(),
        accounts: a.accounts.clone(),
        regions: a.regions.clone(),
        ids: a.ids.clone(),
    };
    // Check the selection before anything is captured.
    sel.compile()?;
    let live = if a.live {
        Some(capture_live(g, repo.root(), &a).await?)
    } else {
        None
    };
    let to = match &live {
        Some(out) => out.dir.clone(),
        None => snapshot_dir(&repo, a.to.as_deref().expect("required without --live"))?,
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
    // The scratch snapshot is removed (and the lock released) here.
    drop(live);
    Ok(if report.differs() {
        exit::DIFFERENT
    } else {
        exit::OK
    })
}

/// Capture the selected scope into a scratch snapshot: the AWS services whose kinds the
/// selection names (all when it names none), in its regions (when it names plain ones).
async fn capture_live(
    g: &Global,
    repo_dir: &std::path::Path,
    a: &DiffArgs,
) -> anyhow::Result<snapshot::Outcome> {
    let cfg = snapshot::load_config(g, a.config.as_deref())?;
    let services = infrasnap_collectors::registry::aws_service_names();
    let mut only: Vec<String> = Vec::new();
    if !a.kinds.is_empty() {
        for k in kinds::KINDS {
            if a.kinds.iter().any(|p| glob(p, k.kind))
                && services.contains(&k.source)
                && !only.iter().any(|s| s == k.source)
            {
                only.push(k.source.to_string());
            }
        }
        if only.is_empty() {
            anyhow::bail!(
                "--live captures AWS services; the --kind given names none of their kinds \
                 (Apps Script and local sources are captured as the config lists them: take a \
                 snapshot and diff the two)"
            );
        }
    }
    let plain_regions = a.regions.iter().all(|r| !r.contains(['*', '?']));
    let args = snapshot::SnapshotArgs {
        jobs: 128,
        bucket_jobs: 8,
        config: a.config.clone(),
        regions: if plain_regions {
            a.regions.clone()
        } else {
            Vec::new()
        },
        only,
        aws: crate::aws_setup::AwsArgs {
            profile: a.profile.clone(),
            region: None,
            endpoint_url: a.endpoint_url.clone(),
            s3_path_style: a.s3_path_style,
        },
        ..Default::default()
    };
    snapshot::capture(g, repo_dir, &args, None, &cfg, Finish::Scratch).await
}
