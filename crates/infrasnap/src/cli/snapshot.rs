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
#[command(next_help_heading = "Snapshot options")]
pub struct SnapshotArgs {
    /// S3 objects whose bytes are known already: set by restore for its read-back, never by a
    /// flag.
    #[arg(skip)]
    pub known: Option<std::sync::Arc<infrasnap_core::engine::KnownContent>>,
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
    /// apigateway, iam, lightsail, ssm, elb, elasticbeanstalk
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
    /// Re-hash every stored blob this run reuses before linking it again (sizes are always
    /// compared); a damaged blob is quarantined and its content downloaded again
    #[arg(long)]
    pub reverify: bool,
    /// Re-hash a rotating share of the reused blobs on each run, e.g. 5% (every blob once in
    /// 20 runs), so that bit rot is found within a known time
    #[arg(long, value_name = "PERCENT", conflicts_with = "reverify")]
    pub reverify_share: Option<String>,
    /// S3: read objects encrypted with a customer-provided key (SSE-C) with the key in FILE
    /// (32 bytes: raw, base64 or hex); per bucket and prefix: [[s3.sse_c]] in the config. The
    /// key is never stored; its keyed fingerprint is recorded with each object read with it
    #[arg(long, value_name = "FILE")]
    pub sse_c_key_file: Option<PathBuf>,
    /// S3: also capture noncurrent versions and delete markers of versioned buckets, in a
    /// browsable versions view (per bucket: [s3] versions = [...] in the config)
    #[arg(long)]
    pub all_versions: bool,
    /// S3: read the tags and legal hold of every unchanged object again (one or two requests per
    /// object), so that a tag-only or legal-hold change is recorded; without it an unchanged
    /// object keeps the tags recorded when it was downloaded ([s3] recheck_tags in the config)
    #[arg(long)]
    pub recheck_tags: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// The SSE-C keys of a run, read before anything is written (a bad key file is a usage error).
fn sse_c_keys(
    a: &SnapshotArgs,
    cfg: &Config,
) -> Result<infrasnap_core::model::s3::SseCKeyRing, RunError> {
    use infrasnap_core::model::s3::{SseCKey, SseCKeyRing};
    let default = a
        .sse_c_key_file
        .as_deref()
        .map(SseCKey::load)
        .transpose()
        .map_err(RunError::Usage)?;
    let mut rules = Vec::new();
    for r in &cfg.s3.sse_c {
        let path = expand_home(&r.key_file, home().as_deref());
        let k = SseCKey::load(&path).map_err(RunError::Usage)?;
        rules.push((r.bucket.clone(), r.prefix.clone(), k));
    }
    Ok(SseCKeyRing::new(default, rules))
}

pub async fn run(g: &Global, a: SnapshotArgs) -> anyhow::Result<u8> {
    let cfg = load_config(a.config.as_deref())?;
    let repo_dir = repo_dir(g, &cfg);
    let out = take(g, &repo_dir, &a, None, &cfg).await?;
    report(g, &out)
}

/// The repository: `--repo` / `INFRASNAP_REPO`, else the config's `repo =`, else `./snapshots`.
pub fn repo_dir(g: &Global, cfg: &Config) -> PathBuf {
    g.repo
        .clone()
        .or_else(|| {
            cfg.repo
                .as_deref()
                .map(|p| expand_home(p, home().as_deref()))
        })
        .unwrap_or_else(|| PathBuf::from("snapshots"))
}

pub(crate) fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// Whether the config in use was already named on stderr (once per run), and whether to name it.
static CONFIG_NAMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `-q`: the config in use is not named on stderr.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

fn name_config(p: &Path) {
    use std::sync::atomic::Ordering;
    if !QUIET.load(Ordering::Relaxed) && !CONFIG_NAMED.swap(true, Ordering::Relaxed) {
        eprintln!("infrasnap: using configuration {}", p.display());
    }
}

/// The config file given (`--config`, `INFRASNAP_CONFIG`), or the first of the default
/// locations that exists, or none. The one in use is named on stderr (unless `-q`). One found
/// implicitly is used only when it is the user's own and nobody else can write it: a hostile
/// `./infrasnap.toml` in a shared folder must not decide what is captured or where it goes. A
/// relative `repo =` is resolved against the config file's folder, so a scheduled run started
/// elsewhere writes where the user meant.
pub fn load_config(explicit: Option<&Path>) -> anyhow::Result<Config> {
    let cfg = find_config(explicit)?;
    infrasnap_core::keychain::set_key_store(cfg.secrets.key_store);
    Ok(cfg)
}

fn find_config(explicit: Option<&Path>) -> anyhow::Result<Config> {
    let from_env = std::env::var_os("INFRASNAP_CONFIG").map(PathBuf::from);
    if let Some(p) = explicit.map(Path::to_path_buf).or(from_env) {
        let cfg = Config::load(&p).map_err(|e| {
            anyhow::anyhow!("{e}\n(see the README, section \"Configuration\", for the format)")
        })?;
        name_config(&p);
        return Ok(repo_beside(cfg, &p));
    }
    for p in default_locations(home().as_deref()) {
        if p.is_file() {
            infrasnap_core::config::check_implicit(&p).map_err(|e| {
                RunError::Usage(format!(
                    "{e}. infrasnap only uses a config it finds by itself when it is your own; \
                     pass it with --config if you trust it"
                ))
            })?;
            name_config(&p);
            return Ok(repo_beside(Config::load(&p)?, &p));
        }
    }
    Ok(Config::default())
}

/// Resolve a relative `repo =` against the folder of the config file it came from.
fn repo_beside(mut cfg: Config, file: &Path) -> Config {
    if let Some(r) = &cfg.repo {
        if r.is_relative() && !r.starts_with("~") {
            let folder = std::path::absolute(file)
                .ok()
                .and_then(|f| f.parent().map(Path::to_path_buf))
                .unwrap_or_default();
            cfg.repo = Some(folder.join(r));
        }
    }
    cfg
}

pub fn report(g: &Global, out: &Outcome) -> anyhow::Result<u8> {
    let m = &out.meta;
    if g.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&crate::output::envelope(
                "snapshot",
                m.status.as_str(),
                &m.all_errors().collect::<Vec<_>>(),
                serde_json::json!({"snapshot": m.name, "path": out.dir, "metadata": m}),
            ))?
        );
    } else {
        // -q keeps the one-line result, and the errors of a run that was not complete.
        for l in summary_lines(m, &out.dir, g.quiet) {
            eprintln!("{l}");
        }
    }
    Ok(match m.status {
        Status::Complete => exit::OK,
        Status::Partial => exit::PARTIAL,
        Status::Failed => exit::FAILED,
    })
}

/// What a finished run says on the terminal: the result line, one clause per source, each error
/// on its own line, and where the snapshot is.
fn summary_lines(
    m: &infrasnap_core::metadata::SnapshotMetadata,
    dir: &Path,
    quiet: bool,
) -> Vec<String> {
    let mut lines = Vec::new();
    let downloaded: u64 = m.collectors.values().map(|c| c.objects_downloaded).sum();
    lines.push(format!(
        "Snapshot {} {} in {:.1} s: {} ({}), downloaded {} objects, {} new{}",
        m.name,
        m.status.label(),
        m.duration_seconds,
        if m.totals.objects == 1 {
            "1 object".to_string()
        } else {
            format!("{} objects", m.totals.objects)
        },
        human_bytes(m.totals.bytes),
        downloaded,
        human_bytes(m.totals.bytes_new),
        match m.totals.errors {
            0 => String::new(),
            1 => "; 1 error".to_string(),
            n => format!("; {n} errors"),
        }
    ));
    if !quiet {
        if let Some(scope) = &m.scope {
            if scope.partial {
                lines.push(format!("  scope: {}", scope.summary()));
            }
        }
        // One line per source: "s3: 4 buckets, 16 objects"; a source that failed says so.
        for (k, c) in &m.collectors {
            let counts: Vec<String> = c
                .counts
                .iter()
                .filter(|(_, v)| **v > 0)
                .map(|(n, v)| format!("{v} {n}"))
                .collect();
            let what = match (c.status, counts.is_empty()) {
                (Some(Status::Failed), _) => format!("FAILED ({} errors)", c.errors.len()),
                (_, true) if !c.errors.is_empty() => {
                    format!("nothing captured ({} errors)", c.errors.len())
                }
                (_, true) => "none found".to_string(),
                (_, false) if !c.errors.is_empty() => {
                    format!("{} ({} errors)", counts.join(", "), c.errors.len())
                }
                (_, false) => counts.join(", "),
            };
            lines.push(format!("  {k}: {what}"));
        }
        if m.collectors.is_empty() {
            lines.push("  nothing configured to capture".to_string());
        }
    }
    let errors: Vec<_> = m.all_errors().collect();
    for e in errors.iter().take(10) {
        lines.push(format!("  error: {e}"));
    }
    if errors.len() > 10 {
        lines.push(format!(
            "  ... and {} more errors (all in MANIFEST.md)",
            errors.len() - 10
        ));
    }
    if !quiet {
        lines.push(format!(
            "Written to {} (see MANIFEST.md there)",
            dir.display()
        ));
    }
    lines
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
    let label: Option<SnapshotName> = a
        .label
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| RunError::Usage(format!("--label: {e}")))?;
    for (names, origin) in [
        (&a.regions, "--regions"),
        (&cfg.aws.regions, "[aws] regions of the config"),
    ] {
        let warnings = infrasnap_core::region::check_regions(names, origin)
            .map_err(|e| RunError::Usage(e.to_string()))?;
        for w in warnings {
            tracing::warn!("{w}");
        }
    }
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
        known: None,
    };
    // Usage errors before credentials are looked for.
    driver::check_services(&probe)?;
    let sse_c = std::sync::Arc::new(sse_c_keys(a, cfg)?);
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
            reverify: a.reverify,
            reverify_share: a.reverify_share.clone(),
            sse_c,
            all_versions: a.all_versions || cfg.s3.all_versions,
            versions_buckets: cfg.s3.versions.clone(),
            recheck_tags: a.recheck_tags || cfg.s3.recheck_tags,
        },
        wait_lock: a.wait_lock.map(Duration::from_secs),
        progress,
        known: a.known.clone(),
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
