//! `infrasnap snapshot`: capture everything into a new snapshot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use infrasnap_collectors::aws::acm::AcmCollector;
use infrasnap_collectors::aws::apigateway::ApiGatewayCollector;
use infrasnap_collectors::aws::cloudfront::CloudFrontCollector;
use infrasnap_collectors::aws::dynamodb::{DynamoDbCollector, DynamoDbOptions};
use infrasnap_collectors::aws::iam::IamCollector;
use infrasnap_collectors::aws::identity::{
    caller_identity, enabled_regions, organization_accounts,
};
use infrasnap_collectors::aws::lambda::LambdaCollector;
use infrasnap_collectors::aws::lightsail::{LightsailCollector, LightsailOptions};
use infrasnap_collectors::aws::route53::{Route53Collector, Route53Options};
use infrasnap_collectors::aws::s3::{S3Collector, S3Options};
use infrasnap_collectors::aws::scope::{AccountScope, ServiceLimits};
use infrasnap_collectors::aws::ses::SesCollector;
use infrasnap_collectors::aws::ssm::SsmCollector;
use infrasnap_collectors::gas::GasCollector;
use infrasnap_collectors::local::LocalCollector;
use infrasnap_core::config::{default_locations, expand_home, Config};
use infrasnap_core::engine::{Collector, RunContext};
use infrasnap_core::ids::SnapshotName;
use infrasnap_core::manifest::{self, human_bytes, ManifestDetail};
use infrasnap_core::metadata::{AccountInfo, RecordedError, SnapshotMetadata, Status, Totals};
use infrasnap_core::progress::Progress;
use infrasnap_core::repo::{Repository, FORMAT_VERSION};

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

/// AWS services infrasnap captures, as named in --only/--skip and the config.
pub const AWS_SERVICES: &[&str] = &[
    "s3",
    "dynamodb",
    "route53",
    "iam",
    "acm",
    "ses",
    "ssm",
    "cloudfront",
    "lambda",
    "apigateway",
    "lightsail",
];

/// The outcome of one snapshot run, for the caller (the CLI, or `demo`).
pub struct Outcome {
    pub meta: SnapshotMetadata,
    pub dir: PathBuf,
}

pub async fn run(g: &Global, a: SnapshotArgs) -> anyhow::Result<u8> {
    let cfg = load_config(a.config.as_deref())?;
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

/// The config file given, or the first of the default locations that exists, or none.
pub fn load_config(explicit: Option<&Path>) -> anyhow::Result<Config> {
    if let Some(p) = explicit {
        return Config::load(p).map_err(|e| {
            anyhow::anyhow!("{e}\n(see the README, section \"Configuration\", for the format)")
        });
    }
    for p in default_locations(home().as_deref()) {
        if p.is_file() {
            tracing::info!("using configuration {}", p.display());
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
    let started_at = chrono::Utc::now();
    let started = Instant::now();
    let name: SnapshotName = match &a.label {
        Some(l) => l.parse()?,
        None => SnapshotName::from_time(started_at),
    };
    if a.jobs == 0 || a.bucket_jobs == 0 {
        anyhow::bail!("--jobs and --bucket-jobs must be at least 1");
    }
    for svc in a
        .only
        .iter()
        .chain(&a.skip)
        .chain(&cfg.aws.only)
        .chain(&cfg.aws.skip)
    {
        if !AWS_SERVICES.contains(&svc.as_str()) {
            anyhow::bail!(
                "unknown service `{svc}` in --only/--skip or [aws] only/skip; known services: {}",
                AWS_SERVICES.join(", ")
            );
        }
    }
    // AWS first: without credentials nothing is written.
    let aws_setups: Vec<(String, aws_setup::AwsSetup)> = if cfg.aws.disabled {
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

    let repo = Repository::open_or_init(repo_dir)?;
    let lock = {
        let repo = repo.clone();
        let wait = a.wait_lock.map(Duration::from_secs);
        tokio::task::spawn_blocking(move || repo.lock(wait)).await??
    };
    // A default (time) name already taken by a run within the same second gets a number; a
    // --label the user chose is never changed.
    let name = match &a.label {
        Some(_) => name,
        None => (1..)
            .map(|n| {
                if n == 1 {
                    name.clone()
                } else {
                    name.numbered(n)
                }
            })
            .find(|n| !repo.snapshot_dir(n).exists())
            .expect("some number is free"),
    };
    let staging = repo.begin(&name, &lock)?;
    let parent = repo.parent_for_new_run()?;
    let mut previous: Vec<PathBuf> = parent.iter().map(|p| repo.root().join(&p.name)).collect();
    let abandoned = repo.abandoned_stagings(staging.dir());
    if !abandoned.is_empty() {
        tracing::info!(
            "reusing what {} interrupted run(s) already downloaded",
            abandoned.len()
        );
    }
    previous.extend(abandoned);

    let progress = Progress::default();
    let cx = Arc::new(RunContext::new(
        repo.clone(),
        staging.dir(),
        previous,
        progress.clone(),
        a.jobs,
    )?);
    let view = ProgressView::start(g, progress);

    let mut global_errors = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut collectors: Vec<Arc<dyn Collector>> = Vec::new();
    let several = aws_setups.len() > 1;
    let snapshot_name_for_lightsail = name.to_string();
    let mut accounts = Vec::new();
    let mut home_regions = Vec::new();
    let mut endpoint = None;
    let mut org_accounts: Option<Vec<infrasnap_core::metadata::OrganizationAccount>> = None;
    let mut org_denied: Option<String> = None;
    for (account_name, aws) in &aws_setups {
        let identity = match caller_identity(&aws.sdk).await {
            Ok(i) => Some(i),
            Err(f) => {
                global_errors.push(RecordedError {
                    service: "sts".into(),
                    action: "sts:GetCallerIdentity".into(),
                    resource: account_name.clone(),
                    code: f.code.clone(),
                    message: f.message.clone(),
                });
                None
            }
        };
        let account_id = identity
            .as_ref()
            .and_then(|i| i.account.clone())
            .unwrap_or_else(|| format!("unknown-{account_name}"));
        let prefix = if several {
            format!("aws_accounts/{account_id}/")
        } else {
            String::new()
        };
        accounts.push(AccountInfo {
            name: account_name.clone(),
            account_id: identity.as_ref().and_then(|i| i.account.clone()),
            caller_arn: identity.as_ref().and_then(|i| i.arn.clone()),
            prefix: prefix.clone(),
        });
        home_regions.push(aws.region.clone());
        endpoint = endpoint.or(aws.endpoint.clone());
        if org_accounts.is_none() {
            // One readable list is enough: every account of an organization sees the same one.
            match organization_accounts(&aws.sdk).await {
                Ok(list) => org_accounts = Some(list),
                Err(f) if f.code.as_deref() == Some("AWSOrganizationsNotInUseException") => {}
                Err(f) => {
                    org_denied = Some(format!(
                        "{account_name}: {}",
                        f.code.as_deref().unwrap_or(&f.message)
                    ))
                }
            }
        }
        let only = if a.only.is_empty() {
            &cfg.aws.only
        } else {
            &a.only
        };
        let wanted = |svc: &str| {
            (only.is_empty() || only.iter().any(|s| s == svc))
                && !cfg.aws.skip.iter().chain(a.skip.iter()).any(|s| s == svc)
        };
        let regions = if !a.regions.is_empty() {
            a.regions.clone()
        } else if !cfg.aws.regions.is_empty() {
            cfg.aws.regions.clone()
        } else {
            match enabled_regions(&aws.sdk).await {
                Ok(r) if !r.is_empty() => r,
                Ok(_) | Err(_) => {
                    notes.push(format!(
                        "account {account_name}: the enabled regions could not be listed \
                         (account:ListRegions); regional services were captured in {} only. \
                         Grant account:ListRegions, or name regions with --regions or [aws] regions.",
                        aws.region
                    ));
                    vec![aws.region.clone()]
                }
            }
        };
        let scope = Arc::new(AccountScope {
            sdk: aws.sdk.clone(),
            account_id: account_id.clone(),
            name: account_name.clone(),
            prefix: prefix.clone(),
            regions,
            home_region: aws.region.clone(),
            s3_path_style: aws.s3_path_style,
        });
        let limits = ServiceLimits::default();
        let instance = several.then(|| account_id.clone());
        if wanted("dynamodb") {
            collectors.push(Arc::new(DynamoDbCollector::new(
                scope.clone(),
                limits.clone(),
                DynamoDbOptions {
                    no_data: a.no_table_data,
                },
                instance.clone(),
            )));
        }
        if wanted("iam") {
            collectors.push(Arc::new(IamCollector::new(
                scope.clone(),
                limits.clone(),
                instance.clone(),
            )));
        }
        if wanted("acm") {
            collectors.push(Arc::new(AcmCollector::new(
                scope.clone(),
                limits.clone(),
                instance.clone(),
            )));
        }
        if wanted("ses") {
            collectors.push(Arc::new(SesCollector::new(
                scope.clone(),
                limits.clone(),
                instance.clone(),
            )));
        }
        if wanted("ssm") {
            collectors.push(Arc::new(SsmCollector::new(
                scope.clone(),
                limits.clone(),
                instance.clone(),
            )));
        }
        if wanted("lambda") {
            collectors.push(Arc::new(LambdaCollector::new(
                scope.clone(),
                limits.clone(),
                instance.clone(),
            )));
        }
        if wanted("apigateway") {
            collectors.push(Arc::new(ApiGatewayCollector::new(
                scope.clone(),
                limits.clone(),
                instance.clone(),
            )));
        }
        if wanted("lightsail") {
            collectors.push(Arc::new(LightsailCollector::new(
                scope.clone(),
                limits.clone(),
                LightsailOptions {
                    create_snapshots: a.lightsail_snapshot,
                    wait: a.lightsail_wait.map(Duration::from_secs),
                    snapshot_name: snapshot_name_for_lightsail.clone(),
                },
                instance.clone(),
            )));
        }
        if wanted("cloudfront") {
            collectors.push(Arc::new(CloudFrontCollector::new(
                scope.clone(),
                limits.clone(),
                instance.clone(),
            )));
        }
        if wanted("route53") {
            collectors.push(Arc::new(Route53Collector::new(
                scope.clone(),
                limits.clone(),
                Route53Options::default(),
                instance.clone(),
            )));
        }
        if wanted("s3") {
            collectors.push(Arc::new(S3Collector::new(
                aws.sdk.clone(),
                S3Options {
                    default_region: aws.region.clone(),
                    path_style: aws.s3_path_style,
                    bucket_concurrency: a.bucket_jobs,
                    buckets: a.buckets.clone(),
                    account: account_id.clone(),
                    instance,
                },
            )));
        }
    }
    if let Some(gas) = &cfg.gas {
        collectors.push(Arc::new(GasCollector::new(gas.clone(), home())));
    }
    if !cfg.local.is_empty() {
        collectors.push(Arc::new(
            LocalCollector::new(cfg.local.clone(), home()).with_secrets(
                infrasnap_core::config::SecretsConfig {
                    keep: cfg.secrets.keep || a.keep_secrets,
                    recipient: cfg.secrets.recipient.clone(),
                },
            ),
        ));
    }
    let run_all = futures::future::join_all(collectors.into_iter().map(|c| {
        let name = c.key();
        let cx = cx.clone();
        async move { (name, c.run(cx).await) }
    }));
    let reports = tokio::select! {
        r = run_all => r,
        _ = tokio::signal::ctrl_c() => {
            cx.cancel();
            view.finish().await;
            eprintln!("interrupted: nothing was published; the next `infrasnap snapshot` reuses what was downloaded");
            std::process::exit(exit::INTERRUPTED as i32);
        }
    };
    view.finish().await;
    cx.finish().context("finishing the index")?;

    let mut collectors = BTreeMap::new();
    let mut detail = ManifestDetail::default();
    let mut regions = Vec::new();
    let mut totals = Totals::default();
    for (name, r) in reports {
        totals.objects += r.summary.counts.get("objects").copied().unwrap_or(0);
        totals.bytes += r.summary.bytes_total;
        totals.bytes_new += r.summary.bytes_new;
        totals.blobs_new += r.summary.blobs_new;
        totals.errors += r.summary.errors.len() as u64;
        regions.extend(r.regions.iter().cloned());
        if !r.manifest.is_empty() {
            detail.sections.insert(section_title(&name), r.manifest);
        }
        collectors.insert(name, r.summary);
    }
    totals.errors += global_errors.len() as u64;
    for r in home_regions {
        if !regions.contains(&r) {
            regions.push(r);
        }
    }
    regions.sort();
    regions.dedup();
    let all_failed = collectors
        .values()
        .all(|c| c.status == Some(Status::Failed));
    let status = if all_failed {
        Status::Failed
    } else if totals.errors > 0 {
        Status::Partial
    } else {
        Status::Complete
    };
    let mut organization_accounts = org_accounts.unwrap_or_default();
    for o in &mut organization_accounts {
        o.captured = accounts
            .iter()
            .any(|a| a.account_id.as_deref() == Some(o.id.as_str()));
    }
    if organization_accounts.is_empty() {
        if let Some(why) = org_denied {
            notes.push(format!(
                "the AWS Organization's account list was not readable ({why}); it is read with \
                 organizations:ListAccounts from the management account or a delegated administrator"
            ));
        }
    }
    let finished_at = chrono::Utc::now();
    let meta = SnapshotMetadata {
        tool: "infrasnap".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        format_version: FORMAT_VERSION,
        name: name.to_string(),
        label: a.label.clone(),
        parent: parent.map(|p| p.name),
        started_at,
        finished_at,
        duration_seconds: started.elapsed().as_secs_f64(),
        status,
        account_id: accounts.first().and_then(|a| a.account_id.clone()),
        caller_arn: accounts.first().and_then(|a| a.caller_arn.clone()),
        regions,
        endpoint,
        accounts,
        organization_accounts,
        notes,
        totals,
        collectors,
        errors: global_errors,
    };
    let md = manifest::render(&meta, &detail);
    let dir = staging.publish(&meta, &md)?;
    drop(lock);
    Ok(Outcome { meta, dir })
}

fn section_title(key: &str) -> String {
    let (name, instance) = key.split_once(':').unwrap_or((key, ""));
    let title = match name {
        "s3" => "S3 buckets",
        "dynamodb" => "DynamoDB tables",
        "route53" => "Route53 zones",
        "iam" => "IAM",
        "acm" => "ACM certificates",
        "ses" => "SES",
        "ssm" => "SSM parameters and Secrets Manager",
        "cloudfront" => "CloudFront distributions",
        "lambda" => "Lambda functions",
        "apigateway" => "API Gateway",
        "lightsail" => "Lightsail",
        "gas" => "Apps Script projects",
        "local" => "Local files",
        other => other,
    };
    if instance.is_empty() {
        title.to_string()
    } else {
        format!("{title} (account {instance})")
    }
}
