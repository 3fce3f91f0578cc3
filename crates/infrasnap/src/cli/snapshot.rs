//! `infrasnap snapshot`: capture everything into a new snapshot.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use infrasnap_collectors::driver::Outcome;
use infrasnap_collectors::driver::{self, AccountSetup, Finish, RunError, RunRequest};
use infrasnap_collectors::registry::ServiceOptions;
use infrasnap_core::config::{default_locations, expand_home, Config};
use infrasnap_core::ids::SnapshotName;
use infrasnap_core::manifest::human_bytes;
use infrasnap_core::metadata::Status;
use infrasnap_core::progress::Progress;

use super::Global;
use crate::aws_setup::{self, AwsArgs, StaticCredentials};
use crate::exit;
use crate::output::ProgressView;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct SnapshotArgs {
    /// Name of the new snapshot, e.g. v1.0 or before-migration [default: the UTC start time]
    #[arg(long, value_name = "NAME")]
    pub label: Option<String>,
    /// S3 objects transferred at once across all buckets (Lambda code downloads, DynamoDB scans
    /// and Apps Script calls use at most 32 at once)
    #[arg(long, short = 'j', default_value_t = 128, value_name = "N")]
    pub jobs: usize,
    /// Buckets worked on at once
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub bucket_jobs: usize,
    /// Capture only this bucket (repeatable) [default: every bucket]
    #[arg(long = "bucket", value_name = "NAME")]
    pub buckets: Vec<String>,
    /// Configuration file: accounts, regions, Apps Script projects, local folders
    /// [default: ./infrasnap.toml, else ~/.config/infrasnap/infrasnap.toml, if present]
    #[arg(long, value_name = "FILE", env = "INFRASNAP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Regions to capture for regional services, comma-separated [default: [aws] regions of the
    /// config, else every region enabled for the account]
    #[arg(long, value_delimiter = ',', value_name = "R1,R2")]
    pub regions: Vec<String>,
    /// Only these services, comma-separated: s3, lambda, cloudfront, route53, dynamodb, acm, ses,
    /// apigateway, iam, lightsail, ssm
    /// (overrides the config)
    #[arg(long, value_delimiter = ',', value_name = "SVC,...")]
    pub only: Vec<String>,
    /// All services but these, comma-separated (adds to the config's skip list)
    #[arg(long, value_delimiter = ',', value_name = "SVC,...")]
    pub skip: Vec<String>,
    /// DynamoDB: capture table definitions but not their items
    #[arg(long)]
    pub no_table_data: bool,
    /// Lightsail: also create a native instance snapshot of every instance, named after this
    /// snapshot, and record its name and state
    #[arg(long)]
    pub lightsail_snapshot: bool,
    /// With --lightsail-snapshot: wait up to this many seconds for those snapshots to be available
    #[arg(long, value_name = "SECONDS", requires = "lightsail_snapshot", num_args = 0..=1, default_missing_value = "1800")]
    pub lightsail_wait: Option<u64>,
    /// Keep secret values, encrypted to the [secrets] recipient of the config (never in plain text)
    #[arg(long)]
    pub keep_secrets: bool,
    /// If another run holds the repository, wait up to this many seconds instead of failing
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "3600")]
    pub wait_lock: Option<u64>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

pub async fn run(g: &Global, a: SnapshotArgs) -> anyhow::Result<u8> {
    let cfg = load_config(g, a.config.as_deref())?;
    let repo_dir = g
        .repo
        .clone()
        .or_else(|| {
            cfg.repo
                .as_deref()
                .map(|p| expand_home(p, home().as_deref()))
        })
        .unwrap_or_else(|| PathBuf::from("snapshots"));
    let out = take(g, &repo_dir, &a, None, &cfg).await?;
    report(g, &out)
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// The config file given, or the first of the default locations that exists, or none. The one
/// in use is named on stderr (unless `-q`). One found implicitly is used only when it is the
/// user's own and nobody else can write it: a hostile `./infrasnap.toml` in a shared folder must
/// not decide what is captured or where it goes.
pub fn load_config(g: &Global, explicit: Option<&Path>) -> anyhow::Result<Config> {
    if let Some(p) = explicit {
        let cfg = Config::load(p).map_err(|e| {
            anyhow::anyhow!("{e}\n(see the README, section \"Configuration\", for the format)")
        })?;
        if !g.quiet {
            eprintln!("infrasnap: using configuration {}", p.display());
        }
        return Ok(cfg);
    }
    for p in default_locations(home().as_deref()) {
        if p.is_file() {
            infrasnap_core::config::check_implicit(&p).map_err(|e| {
                RunError::Usage(format!(
                    "{e}. infrasnap only uses a config it finds by itself when it is your own; \
                     pass it with --config if you trust it"
                ))
            })?;
            if !g.quiet {
                eprintln!("infrasnap: using configuration {}", p.display());
            }
            return Ok(Config::load(&p)?);
        }
    }
    Ok(Config::default())
}

pub fn report(g: &Global, out: &Outcome) -> anyhow::Result<u8> {
    let m = &out.meta;
    if g.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "snapshot": m.name, "path": out.dir, "metadata": m,
            }))?
        );
    } else if !g.quiet {
        // One clause per source: "s3: 4 buckets, 16 objects", "route53: 2 zones, 9 records".
        let parts: Vec<String> = m
            .collectors
            .iter()
            .map(|(k, c)| {
                // Zero counts say nothing on a terminal (the metadata keeps them all).
                let counts: Vec<String> = c
                    .counts
                    .iter()
                    .filter(|(_, v)| **v > 0)
                    .map(|(n, v)| format!("{v} {n}"))
                    .collect();
                if counts.is_empty() {
                    format!("{k}: none found")
                } else {
                    format!("{k}: {}", counts.join(", "))
                }
            })
            .collect();
        let downloaded: u64 = m.collectors.values().map(|c| c.objects_downloaded).sum();
        eprintln!(
            "Snapshot {} {} in {:.1} s: {} ({}); downloaded {} objects, {} new",
            m.name,
            match m.status {
                Status::Complete => "complete",
                Status::Partial => "complete with errors",
                Status::Failed => "FAILED",
            },
            m.duration_seconds,
            if parts.is_empty() {
                "nothing configured to capture".to_string()
            } else {
                parts.join("; ")
            },
            human_bytes(m.totals.bytes),
            downloaded,
            human_bytes(m.totals.bytes_new),
        );
        let errors: Vec<_> = m.all_errors().collect();
        for e in errors.iter().take(10) {
            eprintln!(
                "  error: {} {} on {}: {}{}",
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
        if errors.len() > 10 {
            eprintln!("  ... and {} more errors", errors.len() - 10);
        }
        eprintln!("Written to {} (see MANIFEST.md there)", out.dir.display());
    }
    Ok(match m.status {
        Status::Complete => exit::OK,
        Status::Partial => exit::PARTIAL,
        Status::Failed => exit::FAILED,
    })
}

/// Take one snapshot into the repository at `repo_dir`.
pub async fn take(
    g: &Global,
    repo_dir: &Path,
    a: &SnapshotArgs,
    creds: Option<StaticCredentials>,
    cfg: &Config,
) -> anyhow::Result<Outcome> {
    capture(g, repo_dir, a, creds, cfg, Finish::Publish).await
}

/// Run the driver: credentials first (without them nothing is written), then the run itself,
/// published or kept as scratch (`diff --live`).
pub async fn capture(
    g: &Global,
    repo_dir: &Path,
    a: &SnapshotArgs,
    creds: Option<StaticCredentials>,
    cfg: &Config,
    finish: Finish,
) -> anyhow::Result<Outcome> {
    let label: Option<SnapshotName> = a.label.as_deref().map(str::parse).transpose()?;
    let probe = RunRequest {
        repo_dir,
        accounts: Vec::new(),
        cfg,
        label: None,
        jobs: a.jobs,
        regions: a.regions.clone(),
        only: a.only.clone(),
        skip: a.skip.clone(),
        services: ServiceOptions::default(),
        keep_secrets: a.keep_secrets,
        wait_lock: None,
        home: home(),
        finish,
        progress: Progress::default(),
    };
    // Usage errors before credentials are looked for.
    driver::check_services(&probe)?;
    let setups: Vec<(String, aws_setup::AwsSetup)> = if cfg.aws.disabled {
        Vec::new()
    } else if cfg.aws.accounts.is_empty() {
        vec![("default".to_string(), aws_setup::load(&a.aws, creds).await?)]
    } else {
        let mut v = Vec::new();
        for acct in &cfg.aws.accounts {
            v.push((
                acct.name.clone(),
                aws_setup::load_account(&a.aws, acct).await?,
            ));
        }
        v
    };
    let accounts = setups
        .into_iter()
        .map(|(name, s)| AccountSetup {
            name,
            sdk: s.sdk,
            region: s.region,
            endpoint: s.endpoint,
            s3_path_style: s.s3_path_style,
        })
        .collect();
    let progress = Progress::default();
    let view = ProgressView::start(g, progress.clone());
    let req = RunRequest {
        accounts,
        label,
        services: ServiceOptions {
            no_table_data: a.no_table_data,
            buckets: a.buckets.clone(),
            bucket_jobs: a.bucket_jobs,
            lightsail_snapshot: a.lightsail_snapshot,
            lightsail_wait: a.lightsail_wait.map(Duration::from_secs),
            snapshot_name: String::new(),
        },
        wait_lock: a.wait_lock.map(Duration::from_secs),
        progress,
        ..probe
    };
    let out = driver::run(req).await;
    view.finish().await;
    match out {
        Ok(o) => Ok(o),
        Err(RunError::Interrupted) => {
            eprintln!("{}", RunError::Interrupted);
            std::process::exit(exit::INTERRUPTED as i32);
        }
        Err(e) => Err(e.into()),
    }
}
