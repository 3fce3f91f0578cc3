//! Command-line interface: one file per subcommand.

#[cfg(all(feature = "s3", feature = "dynamodb", feature = "route53"))]
mod demo;
mod diff;
mod key;
mod list;
mod log;
mod repair;
mod show;
mod snapshot;
mod verify;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "infrasnap",
    version,
    about = "Point-in-time snapshots of your cloud estate, browsable and deduplicated",
    long_about = "infrasnap captures every S3 bucket of an AWS account (objects byte exact, with \
their metadata, and every bucket setting) into a repository on local disk. Each snapshot is a \
plain folder you can browse; unchanged objects are linked, not downloaded or stored again.\n\n\
Start with `infrasnap demo` (no AWS account needed), then `infrasnap snapshot`.",
    after_help = "Exit codes: 0 done; 1 failed; 2 bad usage; 3 snapshot complete with errors \
(listed in its MANIFEST.md); 4 verify found damage; 5 diff found differences; 130 interrupted \
(the next run resumes)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Repository folder [default: ./snapshots; for `demo`: ./demo-snapshots]
    #[arg(long, global = true, env = "INFRASNAP_REPO", value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Machine-readable output on stdout (one JSON document); no progress display
    #[arg(long, global = true)]
    pub json: bool,
    /// More detail on stderr (-v: per-bucket steps, -vv: every request retry)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr; no progress display
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

impl Global {
    pub fn repo_or(&self, default: &str) -> PathBuf {
        self.repo.clone().unwrap_or_else(|| PathBuf::from(default))
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Capture the estate (S3, Lambda, CloudFront, Route53, DynamoDB, IAM, ... of every account and
    /// region; Apps Script; local files) into a new snapshot
    Snapshot(Box<snapshot::SnapshotArgs>),
    /// List the snapshots in the repository
    List,
    /// Show one snapshot's summary: what was captured, sizes, errors
    Show {
        /// Snapshot name (see `infrasnap list`); default: the latest
        name: Option<String>,
    },
    /// Re-hash every file of a snapshot against its index; report anything missing, corrupt or modified
    Verify {
        /// Snapshot name; default: the latest
        name: Option<String>,
        /// Verify every snapshot in the repository
        #[arg(long, conflicts_with = "name")]
        all: bool,
    },
    /// What changed between two snapshots, resource by resource (exit 5 when something did)
    Diff(Box<diff::DiffArgs>),
    /// The history of one resource (an id, or a path in a snapshot) across every snapshot
    Log(log::LogArgs),
    /// Put right what `verify` finds: missing or damaged blobs and tree files, from intact bytes
    /// elsewhere in the repository (exit 4 when something is left)
    Repair {
        /// Report only this snapshot (every snapshot is checked, to find intact copies)
        name: Option<String>,
    },
    /// Move the repository's fingerprint key (kept outside the repository) to another machine
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Start a local AWS emulator with a sample company's buckets and snapshot it (no AWS account needed)
    #[cfg(all(feature = "s3", feature = "dynamodb", feature = "route53"))]
    Demo(demo::DemoArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    let g = cli.global;
    match cli.command {
        Command::Snapshot(a) => snapshot::run(&g, *a).await,
        Command::List => list::run(&g),
        Command::Show { name } => show::run(&g, name),
        Command::Verify { name, all } => verify::run(&g, name, all),
        #[cfg(all(feature = "s3", feature = "dynamodb", feature = "route53"))]
        Command::Demo(a) => demo::run(&g, a).await,
        Command::Diff(a) => diff::run(&g, *a).await,
        Command::Log(a) => log::run(&g, a),
        Command::Key(k) => key::run(&g, k),
        Command::Repair { name } => repair::run(&g, name),
    }
}

/// Resolve a snapshot name, or the latest one.
pub fn pick_snapshot(
    repo: &infrasnap_core::repo::Repository,
    name: Option<String>,
) -> anyhow::Result<infrasnap_core::ids::SnapshotName> {
    match name {
        Some(n) => Ok(n.parse()?),
        None => {
            let snaps = repo.snapshots()?;
            let last = snaps.last().ok_or_else(|| {
                anyhow::anyhow!(
                    "the repository `{}` has no snapshots yet; run `infrasnap snapshot` first",
                    repo.root().display()
                )
            })?;
            Ok(last.name.parse()?)
        }
    }
}

/// The repository `diff` and `log` read: `--repo` / `INFRASNAP_REPO`, else the config's
/// `repo =`, else `./snapshots` (as `snapshot` decides).
pub fn open_repo(
    g: &Global,
    config: Option<&std::path::Path>,
) -> anyhow::Result<infrasnap_core::repo::Repository> {
    let dir = match &g.repo {
        Some(r) => r.clone(),
        None => {
            let cfg = snapshot::load_config(g, config)?;
            cfg.repo
                .as_deref()
                .map(|p| {
                    infrasnap_core::config::expand_home(
                        p,
                        std::env::var_os("HOME").map(PathBuf::from).as_deref(),
                    )
                })
                .unwrap_or_else(|| PathBuf::from("snapshots"))
        }
    };
    Ok(infrasnap_core::repo::Repository::open(&dir)?)
}

/// The folder of the snapshot `name`; an unknown name is an error that lists the snapshots.
pub fn snapshot_dir(
    repo: &infrasnap_core::repo::Repository,
    name: &str,
) -> anyhow::Result<PathBuf> {
    let parsed: infrasnap_core::ids::SnapshotName = name.parse()?;
    if repo
        .snapshot_dir(&parsed)
        .join("snapshot_metadata.json")
        .is_file()
    {
        return Ok(repo.snapshot_dir(&parsed));
    }
    let names: Vec<String> = repo.snapshots()?.into_iter().map(|m| m.name).collect();
    if names.is_empty() {
        anyhow::bail!(
            "no snapshot named `{name}` in `{}`: it has no snapshots yet",
            repo.root().display()
        );
    }
    anyhow::bail!(
        "no snapshot named `{name}` in `{}`; the snapshots there are: {}",
        repo.root().display(),
        names.join(", ")
    )
}
