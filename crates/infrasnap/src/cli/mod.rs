//! Command-line interface: one file per subcommand.

mod check;
#[cfg(all(feature = "s3", feature = "dynamodb", feature = "route53"))]
mod demo;
mod diff;
mod findings;
mod forget;
mod key;
mod list;
mod log;
mod prune;
mod repair;
mod report;
mod restore;
mod schedule;
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
    long_about = "infrasnap captures a small company's estate into a repository on local disk. \
Each snapshot is a plain folder you can browse; unchanged data is linked, not downloaded or \
stored again.\n\n\
What it captures, per AWS account and region:\n\
  s3          every bucket: objects byte exact with their metadata, and every bucket setting\n\
  dynamodb    table definitions (keys, indexes, TTL, PITR, tags) and their items\n\
  route53     hosted zones with all records (and a BIND zone file), health checks, DNSSEC\n\
  lambda      function code, configuration, versions, aliases, policies, triggers, layers\n\
  cloudfront  distributions, functions, policies, origin access controls, keys\n\
  apigateway  REST APIs (as OpenAPI), HTTP and WebSocket APIs, stages, domains, usage plans\n\
  iam         roles, policies, users and groups (never secrets)\n\
  acm         certificates\n\
  ses         identities, templates, configuration sets\n\
  lightsail   instances, disks, snapshots (and native snapshots with --lightsail-snapshot)\n\
  ssm         SSM parameters and Secrets Manager secrets (keyed fingerprints, never values)\n\
  elb         load balancers (ELBv2): DNS names, listeners, target group names, tags\n\
  elasticbeanstalk  Elastic Beanstalk environments: name, CNAME, endpoint, status\n\
and, from infrasnap.toml, Google Apps Script projects and local files (git repositories, \
folders, scheduled agents).\n\n\
Start with `infrasnap demo` (no AWS account needed), then `infrasnap snapshot`.",
    after_help = "Exit codes: 0 done; 1 failed (nothing published, or a snapshot named FAILED \
whose every source failed); 2 bad usage (nothing written); 3 snapshot complete with errors \
(listed in its MANIFEST.md); 4 verify found damage; 5 diff found differences; 6 check found \
the newest complete snapshot too old; 8 findings at or above --fail-on; 130 interrupted \
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
    #[arg(
        long,
        global = true,
        env = "INFRASNAP_REPO",
        value_name = "DIR",
        help_heading = "Global options"
    )]
    pub repo: Option<PathBuf>,
    /// Machine-readable output on stdout (one JSON document); no progress display
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,
    /// More detail on stderr (-v: per-bucket steps, -vv: every request retry)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Global options")]
    pub verbose: u8,
    /// Less on stderr: no progress; a snapshot still prints its one-line result and any errors
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
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
    /// Print a shell completion script: `infrasnap completions bash > /etc/bash_completion.d/infrasnap`
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `infrasnap man > ~/.local/share/man/man1/infrasnap.1`
    Man,
    /// Restore from a snapshot: plan (reviewed), apply exactly that plan, prove the result
    Restore(Box<restore::RestoreArgs>),
    /// Risky setups in a snapshot (default: the latest), with their state since the previous
    /// one; `--fail-on high` exits 8 when one counts
    Findings(findings::FindingsArgs),
    /// Write one self-contained HTML page about a snapshot: inventory, findings, changes, trends
    /// and a map of DNS -> CloudFront -> origins
    Report(report::ReportArgs),
    /// Put right what `verify` finds: missing or damaged blobs and tree files, from intact bytes
    /// elsewhere in the repository, then S3 objects from the live bucket when their ETag is
    /// unchanged (exit 4 when something is left)
    Repair(repair::RepairArgs),
    /// Move the repository's fingerprint key (kept outside the repository) to another machine
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Start a local AWS emulator with a sample company's buckets and snapshot it (no AWS account needed)
    #[cfg(all(feature = "s3", feature = "dynamodb", feature = "route53"))]
    Demo(demo::DemoArgs),
    /// Apply a retention policy (restic's --keep-* rules, or [retention] of the config): a table
    /// with a reason for every snapshot kept; the others are removed (not with --dry-run)
    Forget(Box<forget::ForgetArgs>),
    /// Remove the blobs no snapshot references any more, and report the space freed
    Prune(prune::PruneArgs),
    /// Exit 6 when the newest complete snapshot is older than --max-age (for monitoring)
    Check(check::CheckArgs),
    /// Run snapshots on a schedule (launchd, systemd user timer or cron), with forget and prune
    Schedule(schedule::ScheduleArgs),
    /// What an installed schedule runs: snapshot, forget and prune, a log file, status.json
    #[command(hide = true)]
    RunScheduled(schedule::RunScheduledArgs),
}

impl Command {
    /// The subcommand's name, for `--json` answers.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Snapshot(_) => "snapshot",
            Command::List => "list",
            Command::Show { .. } => "show",
            Command::Verify { .. } => "verify",
            Command::Diff(_) => "diff",
            Command::Log(_) => "log",
            Command::Completions { .. } => "completions",
            Command::Man => "man",
            Command::Restore(_) => "restore",
            Command::Findings(_) => "findings",
            Command::Report(_) => "report",
            Command::Repair(_) => "repair",
            Command::Key(_) => "key",
            Command::Forget(_) => "forget",
            Command::Prune(_) => "prune",
            Command::Check(_) => "check",
            Command::Schedule(_) => "schedule",
            Command::RunScheduled(_) => "run-scheduled",
            #[cfg(all(feature = "s3", feature = "dynamodb", feature = "route53"))]
            Command::Demo(_) => "demo",
        }
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    let g = cli.global;
    snapshot::set_quiet(g.quiet);
    match cli.command {
        Command::Snapshot(a) => snapshot::run(&g, *a).await,
        Command::List => list::run(&g),
        Command::Show { name } => show::run(&g, name),
        Command::Verify { name, all } => verify::run(&g, name, all),
        #[cfg(all(feature = "s3", feature = "dynamodb", feature = "route53"))]
        Command::Demo(a) => demo::run(&g, a).await,
        Command::Diff(a) => diff::run(&g, *a).await,
        Command::Log(a) => log::run(&g, a),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "infrasnap", &mut buf);
            out!("{}", String::from_utf8_lossy(&buf));
            Ok(crate::exit::OK)
        }
        Command::Man => {
            use clap::CommandFactory;
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
            out!("{}", String::from_utf8_lossy(&buf));
            Ok(crate::exit::OK)
        }
        Command::Forget(a) => forget::run(&g, *a),
        Command::Prune(a) => prune::run(&g, a),
        Command::Check(a) => check::run(&g, a),
        Command::Schedule(a) => schedule::run(&g, a),
        Command::RunScheduled(a) => schedule::run_scheduled(&g, a),
        Command::Restore(a) => restore::run(&g, *a).await,
        Command::Findings(a) => findings::run(&g, a),
        Command::Report(a) => report::run(&g, a),
        Command::Key(k) => key::run(&g, k),
        Command::Repair(a) => repair::run(&g, a).await,
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
            let cfg = snapshot::load_config(config)?;
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
