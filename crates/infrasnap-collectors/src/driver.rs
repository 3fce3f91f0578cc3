//! The run driver: one snapshot run as a library function. It opens the repository, takes the
//! lock, stages a snapshot, builds the collectors from the [registry](crate::registry), runs them
//! side by side (racing Ctrl-C), applies the status rule, writes the catalog, the metadata and
//! MANIFEST.md, and then publishes the snapshot, or keeps it as a [`Scratch`] to compare against
//! (`infrasnap diff --live`).
//!
//! The binary only turns flags and credentials into a [`RunRequest`] and renders the
//! [`Outcome`]; `infrasnap demo` and the tests go through the same function.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use infrasnap_core::config::{Config, SecretsConfig};
use infrasnap_core::engine::{Collector, RunContext};
use infrasnap_core::error::CoreError;
use infrasnap_core::ids::SnapshotName;
use infrasnap_core::manifest::{self, ManifestDetail};
use infrasnap_core::metadata::{
    AccountInfo, OrganizationAccount, RecordedError, Scope, SnapshotMetadata, Status, Totals,
};
use infrasnap_core::progress::Progress;
use infrasnap_core::repo::{RepoLock, Repository, Scratch, FORMAT_VERSION};

use crate::aws::identity::{check_identity, enabled_regions, organization_accounts, IdentityCheck};
use crate::aws::scope::{AccountScope, ServiceLimits};
use crate::aws::sdk_error::ApiFailure;
use crate::registry::{self, Build, ServiceOptions};

/// One AWS account, with credentials already resolved by the caller.
#[derive(Clone)]
pub struct AccountSetup {
    /// The config's name for it, or `default`.
    pub name: String,
    pub sdk: aws_config::SdkConfig,
    /// Region for account-wide calls.
    pub region: String,
    pub endpoint: Option<String>,
    pub s3_path_style: bool,
}

/// What to capture, and how.
pub struct RunRequest<'a> {
    pub repo_dir: &'a Path,
    pub accounts: Vec<AccountSetup>,
    pub cfg: &'a Config,
    /// `--label`; `None`: the UTC start time.
    pub label: Option<SnapshotName>,
    /// S3 transfers at once (`--jobs`).
    pub jobs: usize,
    /// `--regions` (empty: the config's, else every enabled region).
    pub regions: Vec<String>,
    /// `--only` (overrides the config's) and `--skip` (adds to it).
    pub only: Vec<String>,
    pub skip: Vec<String>,
    pub services: ServiceOptions,
    pub keep_secrets: bool,
    pub wait_lock: Option<Duration>,
    /// The user's home folder (Apps Script credentials, local sources).
    pub home: Option<PathBuf>,
    /// Publish the snapshot, or keep it as scratch.
    pub finish: Finish,
    /// Counters the caller shows while the run goes on.
    pub progress: Progress,
    /// S3 objects whose bytes are known already (restore's read-back of its uploads).
    pub known: Option<Arc<infrasnap_core::engine::KnownContent>>,
}

/// What becomes of a finished run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Publish,
    /// Keep the snapshot in its staging folder, holding the lock, until the [`Outcome`] is
    /// dropped (`diff --live`).
    Scratch,
}

/// A finished run.
pub struct Outcome {
    pub meta: SnapshotMetadata,
    /// The published snapshot's folder, or the scratch folder.
    pub dir: PathBuf,
    /// For a scratch run: the folder (removed when dropped) and the lock (released after it).
    pub scratch: Option<(Scratch, RepoLock)>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Core(#[from] CoreError),
    /// Bad flags or config: nothing was written.
    #[error("{0}")]
    Usage(String),
    /// The first call (STS GetCallerIdentity) found no endpoint or rejected credentials: nothing
    /// was written.
    #[error("{0}")]
    Identity(String),
    /// A write found the disk full: nothing was published, what was stored is kept.
    #[error("the disk holding the repository `{}` is full (no space left on device): nothing was published, and earlier snapshots are untouched. Free some space (or pass another --repo) and run again: the next run reuses what this one stored", repo.display())]
    DiskFull { repo: PathBuf },
    /// Ctrl-C: nothing was published; the next run reuses what was downloaded.
    #[error("interrupted: nothing was published; the next `infrasnap snapshot` reuses what was downloaded")]
    Interrupted,
}

/// Check `--only` / `--skip` / the config's lists against the registry.
pub fn check_services(req: &RunRequest) -> Result<(), RunError> {
    let known = registry::aws_service_names();
    let services = registry::aws_services();
    for svc in req
        .only
        .iter()
        .chain(&req.skip)
        .chain(&req.cfg.aws.only)
        .chain(&req.cfg.aws.skip)
    {
        if !known.contains(&svc.as_str()) {
            return Err(RunError::Usage(format!(
                "unknown service `{svc}` in --only/--skip or [aws] only/skip; known services: {}",
                known.join(", ")
            )));
        }
    }
    let only = if req.only.is_empty() {
        &req.cfg.aws.only
    } else {
        &req.only
    };
    let skip: Vec<&String> = req.cfg.aws.skip.iter().chain(&req.skip).collect();
    if let Some(svc) = only.iter().find(|s| skip.contains(s)) {
        return Err(RunError::Usage(format!(
            "the service `{svc}` is both in --only/[aws] only and in --skip/[aws] skip; name it in \
             one of them"
        )));
    }
    for svc in only {
        if let Some(s) = services.iter().find(|s| s.name == svc) {
            if s.build.is_none() {
                return Err(RunError::Usage(format!(
                    "the service `{svc}` is not built into this infrasnap (it was compiled \
                     without the `{svc}` feature); rebuild with `--features {svc}` or leave it \
                     out of --only"
                )));
            }
        }
    }
    Ok(())
}

/// Services that need no region list: global APIs, and S3, which asks each bucket for its region.
const GLOBAL_SERVICES: &[&str] = &["s3", "cloudfront", "route53", "iam"];

/// Whether the run captures AWS service `svc`: `--only` (else the config's `only`) and neither
/// skip list.
fn service_wanted(req: &RunRequest, svc: &str) -> bool {
    let only = if req.only.is_empty() {
        &req.cfg.aws.only
    } else {
        &req.only
    };
    (only.is_empty() || only.iter().any(|s| s == svc))
        && !req
            .cfg
            .aws
            .skip
            .iter()
            .chain(req.skip.iter())
            .any(|s| s == svc)
}

/// `--bucket` names must exist: checked against the bucket listing of every account before
/// anything is written (a typo is a usage error, not a snapshot of nothing). When a listing cannot
/// be read, the check is left to the S3 collector, which records why.
#[cfg(feature = "s3")]
async fn check_buckets(req: &RunRequest<'_>) -> Result<(), RunError> {
    if req.services.buckets.is_empty() || !service_wanted(req, "s3") {
        return Ok(());
    }
    let mut known: Vec<String> = Vec::new();
    for aws in &req.accounts {
        let conf = aws_sdk_s3::config::Builder::from(&aws.sdk)
            .force_path_style(aws.s3_path_style)
            .build();
        let client = aws_sdk_s3::Client::from_conf(conf);
        let mut token: Option<String> = None;
        loop {
            let Ok(r) = client
                .list_buckets()
                .set_continuation_token(token.clone())
                .send()
                .await
            else {
                return Ok(());
            };
            known.extend(
                r.buckets()
                    .iter()
                    .filter_map(|b| b.name().map(str::to_string)),
            );
            match r.continuation_token() {
                Some(t) if !t.is_empty() && Some(t) != token.as_deref() => {
                    token = Some(t.to_string())
                }
                _ => break,
            }
        }
    }
    let missing: Vec<&String> = req
        .services
        .buckets
        .iter()
        .filter(|b| !known.contains(b))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    known.sort();
    let there = if known.is_empty() {
        "there are no buckets".to_string()
    } else if known.len() > 20 {
        format!(
            "the buckets there include: {}, ... ({} in all)",
            known[..20].join(", "),
            known.len()
        )
    } else {
        format!("the buckets there are: {}", known.join(", "))
    };
    Err(RunError::Usage(format!(
        "--bucket {}: no such bucket in the account{} captured; {there}. Nothing was written",
        missing
            .iter()
            .map(|b| b.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        if req.accounts.len() > 1 { "s" } else { "" }
    )))
}

/// The command-line flags that narrowed this run, as given.
fn limits_of(req: &RunRequest) -> Vec<String> {
    let mut v = Vec::new();
    if !req.only.is_empty() {
        v.push(format!("--only {}", req.only.join(",")));
    }
    if !req.skip.is_empty() {
        v.push(format!("--skip {}", req.skip.join(",")));
    }
    for b in &req.services.buckets {
        v.push(format!("--bucket {b}"));
    }
    if !req.regions.is_empty() {
        v.push(format!("--regions {}", req.regions.join(",")));
    }
    v
}

/// The id of the account just added to `accounts`, when known.
fn identity_id(accounts: &[AccountInfo]) -> Option<String> {
    accounts.last().and_then(|a| a.account_id.clone())
}

/// Check every account's identity (STS GetCallerIdentity, fast); fail on an unreachable endpoint,
/// rejected credentials, or two accounts that are the same.
async fn check_accounts(
    accounts: &[AccountSetup],
) -> Result<Vec<Result<crate::aws::identity::Identity, ApiFailure>>, RunError> {
    let mut out = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    for aws in accounts {
        match check_identity(&aws.sdk).await {
            IdentityCheck::Known(i) => {
                if let Some(id) = &i.account {
                    if let Some((other, _)) = seen.iter().find(|(_, x)| x == id) {
                        return Err(RunError::Usage(format!(
                            "the accounts `{other}` and `{}` of infrasnap.toml are the same AWS \
                             account {id} (caller {}); list each account once, with the profile \
                             or role that reaches it. Nothing was written",
                            aws.name,
                            i.arn.as_deref().unwrap_or("unknown")
                        )));
                    }
                    seen.push((aws.name.clone(), id.clone()));
                }
                out.push(Ok(i));
            }
            IdentityCheck::Unknown(f) => out.push(Err(f)),
            IdentityCheck::Fatal(f) => return Err(RunError::Identity(identity_failure(aws, &f))),
        }
    }
    Ok(out)
}

/// The one line that says why the first call failed and what to do.
fn identity_failure(aws: &AccountSetup, f: &ApiFailure) -> String {
    let of_account = if aws.name == "default" {
        String::new()
    } else {
        format!(" of account `{}`", aws.name)
    };
    match &f.code {
        Some(code) => format!(
            "AWS rejected the credentials{of_account} (sts:GetCallerIdentity): {code}: {}. \
             Nothing was written. Check the access key (AWS_ACCESS_KEY_ID or the profile's), or \
             renew the session (`aws sso login`)",
            f.message
        ),
        None => format!(
            "cannot reach {}{of_account} (sts:GetCallerIdentity): {}. Nothing was written. \
             Check the network{}",
            aws.endpoint.as_deref().unwrap_or("AWS"),
            f.message,
            if aws.endpoint.is_some() {
                " and the endpoint URL (--endpoint-url, AWS_ENDPOINT_URL)"
            } else {
                ""
            }
        ),
    }
}

/// Take one snapshot.
pub async fn run(req: RunRequest<'_>) -> Result<Outcome, RunError> {
    check_services(&req)?;
    if req.jobs == 0 || req.services.bucket_jobs == 0 {
        return Err(RunError::Usage(
            "--jobs and --bucket-jobs must be at least 1".into(),
        ));
    }
    // `--reverify-share`: checked before anything is written; its window turns once a snapshot.
    let reverify_share = req
        .services
        .reverify_share
        .as_deref()
        .map(|t| infrasnap_core::store::Reverify::share(t, 0))
        .transpose()
        .map_err(RunError::Usage)?;
    let cfg = req.cfg;
    // Who each account is, first and fast: a dead endpoint or rejected keys end the run here,
    // before anything is written; two entries that are one account are a config mistake.
    let identities = check_accounts(&req.accounts).await?;
    // A scratch capture (`diff --live`, restore's live read) asks about buckets that may well be
    // gone or not yet made: there, a missing bucket is an answer, not a typo.
    #[cfg(feature = "s3")]
    if matches!(req.finish, Finish::Publish) {
        check_buckets(&req).await?;
    }
    infrasnap_core::error::reset_storage_full();

    let repo = Repository::open_or_init(req.repo_dir)?;
    let lock = {
        let repo = repo.clone();
        let wait = req.wait_lock;
        tokio::task::spawn_blocking(move || repo.lock(wait))
            .await
            .map_err(|e| RunError::Usage(format!("the lock task failed: {e}")))??
    };
    // The run starts when it holds the repository (after any --wait-lock wait).
    let started_at = chrono::Utc::now();
    let started = Instant::now();
    let name = req
        .label
        .clone()
        .unwrap_or_else(|| SnapshotName::from_time(started_at));
    // A default (time) name already taken by a run within the same second gets a number; a
    // --label the user chose is never changed.
    let name = match &req.label {
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
    // The parent's index is checked against its seal before anything is reused from it.
    let parent_trust = match &parent {
        Some(p) => Some(repo.trusted_parent_index(&p.name)?),
        None => None,
    };
    let mut previous: Vec<PathBuf> = parent_trust
        .iter()
        .filter(|t| t.all_untrusted.is_none())
        .map(|t| t.dir.clone())
        .collect();
    let abandoned = repo.abandoned_stagings(staging.dir());
    if !abandoned.is_empty() {
        tracing::info!(
            "reusing what {} interrupted run(s) already downloaded",
            abandoned.len()
        );
    }
    previous.extend(abandoned);
    // Published snapshots older than the parent, newest first: a container the parent did not
    // cover (an `--only` or `--bucket` run) is reused from the newest one that has it.
    let published = repo.snapshots()?;
    let older: Vec<PathBuf> = published
        .iter()
        .rev()
        .filter(|m| m.status != infrasnap_core::metadata::Status::Failed)
        .skip(usize::from(parent.is_some()))
        .map(|m| repo.root().join(&m.name))
        .collect();
    let reverify = match reverify_share {
        _ if req.services.reverify => infrasnap_core::store::Reverify::All,
        Some(infrasnap_core::store::Reverify::Share { per_10k, .. }) => {
            infrasnap_core::store::Reverify::Share {
                per_10k,
                turn: published.len() as u64,
            }
        }
        Some(other) => other,
        None => infrasnap_core::store::Reverify::Off,
    };

    let mut cx = RunContext::new(
        repo.clone(),
        staging.dir(),
        previous,
        req.progress.clone(),
        req.jobs,
    )?
    .with_older(older)
    .with_reverify(reverify)
    .with_known(req.known.clone());
    // --keep-secrets: the AWS collectors keep the originals of what they redact, encrypted to
    // the same recipient as the local sources' (infrasnap_core::kept).
    let mut keep_error = None;
    if (cfg.secrets.keep || req.keep_secrets) && !req.accounts.is_empty() {
        match cfg
            .secrets
            .recipient
            .as_deref()
            .map(crate::local::Keeper::new)
        {
            Some(Ok(k)) => cx = cx.with_keeper(Arc::new(k)),
            Some(Err(e)) => keep_error = Some(e),
            None => {
                keep_error = Some(
                    "--keep-secrets needs `recipient = \"age1...\"` in the [secrets] section of \
                     the configuration; no AWS secret value was kept"
                        .to_string(),
                )
            }
        }
    }
    let mut notes: Vec<String> = Vec::new();
    if let Some(t) = &parent_trust {
        cx.distrust(t.untrusted.iter().map(|rel| t.dir.join(rel)));
        if let Some(note) = t.note() {
            tracing::warn!("{note}");
            notes.push(note);
        }
    }
    if let Some(note) = cx.key_note() {
        tracing::warn!("{note}");
        notes.push(note.to_string());
    }
    let cx = Arc::new(cx);

    let mut global_errors = Vec::new();
    if let Some(message) = keep_error {
        global_errors.push(RecordedError {
            service: "secrets".into(),
            action: "keep secrets".into(),
            resource: "[secrets] recipient".into(),
            code: None,
            message,
        });
    }
    let mut collectors: Vec<Arc<dyn Collector>> = Vec::new();
    let several = req.accounts.len() > 1;
    let mut covered = Scope {
        limited_by: limits_of(&req),
        buckets: req.services.buckets.clone(),
        ..Scope::default()
    };
    covered.partial = !covered.limited_by.is_empty();
    let mut accounts = Vec::new();
    let mut home_regions = Vec::new();
    let mut endpoint = None;
    let mut org_accounts: Option<Vec<OrganizationAccount>> = None;
    let mut org_denied: Option<String> = None;
    let services = registry::aws_services();
    let service_opts = ServiceOptions {
        snapshot_name: name.to_string(),
        ..req.services.clone()
    };
    for (aws, identity) in req.accounts.iter().zip(identities) {
        let account_name = &aws.name;
        let identity = match identity {
            Ok(i) => Some(i),
            // An S3-compatible server without STS (s3s-fs answers 501): AWS itself never does,
            // so this is said once as what the server does not support, not as a failure.
            Err(f) if f.code_in(&["NotImplemented"]) || f.status == Some(501) => {
                notes.push(format!(
                    "this endpoint does not implement STS (sts:GetCallerIdentity answered 501 \
                     NotImplemented), so the account id is unknown; its resources are filed \
                     under `unknown-{account_name}` (not supported by this server)"
                ));
                None
            }
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
        accounts.push(AccountInfo {
            name: account_name.clone(),
            account_id: identity.as_ref().and_then(|i| i.account.clone()),
            caller_arn: identity.as_ref().and_then(|i| i.arn.clone()),
            // Format 2 places every account's files by id: nothing is under a prefix.
            prefix: String::new(),
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
        let wanted = |svc: &str| service_wanted(&req, svc);
        let regional = registry::aws_service_names()
            .iter()
            .any(|svc| !GLOBAL_SERVICES.contains(svc) && wanted(svc));
        let regions = if !req.regions.is_empty() {
            req.regions.clone()
        } else if !cfg.aws.regions.is_empty() {
            cfg.aws.regions.clone()
        } else if !regional {
            // Only global services (S3 finds each bucket's region itself): no region list needed.
            vec![aws.region.clone()]
        } else {
            match enabled_regions(&aws.sdk).await {
                Ok(r) if !r.is_empty() => r,
                answer => {
                    // Not knowing the regions is an error, not a note: whatever is in the other
                    // enabled regions is missing from this snapshot.
                    let (code, why) = match answer {
                        Err(f) => (f.code.clone(), f.message.clone()),
                        Ok(_) => (None, "the answer listed no regions".to_string()),
                    };
                    global_errors.push(RecordedError {
                        service: "account".into(),
                        action: "account:ListRegions".into(),
                        resource: account_name.clone(),
                        code,
                        message: format!(
                            "{why}. The regions enabled for the account are unknown, so \
                             regional services were captured in {} only: anything in other \
                             regions is missing. Grant account:ListRegions, or name the regions \
                             with --regions or [aws] regions",
                            aws.region
                        ),
                    });
                    vec![aws.region.clone()]
                }
            }
        };
        covered.accounts.push(match &identity_id(&accounts) {
            Some(id) => format!("{account_name} ({id})"),
            None => account_name.clone(),
        });
        for r in regions.iter().filter(|_| regional) {
            if !covered.regions.contains(r) {
                covered.regions.push(r.clone());
            }
        }
        for svc in &services {
            if wanted(svc.name)
                && svc.build.is_some()
                && !covered.services.iter().any(|s| s == svc.name)
            {
                covered.services.push(svc.name.to_string());
            }
        }
        let scope = Arc::new(AccountScope {
            sdk: aws.sdk.clone(),
            account_id: account_id.clone(),
            name: account_name.clone(),
            regions,
            home_region: aws.region.clone(),
            s3_path_style: aws.s3_path_style,
        });
        let limits = ServiceLimits::default();
        let instance = several.then(|| account_id.clone());
        for svc in &services {
            if let (true, Some(build)) = (wanted(svc.name), svc.build) {
                collectors.push(build(&Build {
                    scope: scope.clone(),
                    limits: limits.clone(),
                    instance: instance.clone(),
                    opts: &service_opts,
                }));
            }
        }
    }
    covered.regions.sort();
    if cfg.gas.is_some() {
        covered.sources.push("gas".into());
    }
    covered
        .sources
        .extend(cfg.local.iter().map(|l| format!("local:{}", l.name)));
    if let Some(gas) = &cfg.gas {
        collectors.push(Arc::new(crate::gas::GasCollector::new(
            gas.clone(),
            req.home.clone(),
        )));
    }
    if !cfg.local.is_empty() {
        collectors.push(Arc::new(
            crate::local::LocalCollector::new(cfg.local.clone(), req.home.clone()).with_secrets(
                SecretsConfig {
                    keep: cfg.secrets.keep || req.keep_secrets,
                    recipient: cfg.secrets.recipient.clone(),
                    identity: None,
                    key_store: cfg.secrets.key_store,
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
            return Err(RunError::Interrupted);
        }
    };
    // A full disk makes every later write fail: the counts would describe what could not be
    // stored. Publish nothing; the staging folder stays for the next run to reuse.
    let disk_full = || RunError::DiskFull {
        repo: repo.root().to_path_buf(),
    };
    if infrasnap_core::error::storage_full_seen() {
        return Err(disk_full());
    }
    cx.finish().map_err(|e| {
        if infrasnap_core::error::storage_full_seen() {
            disk_full()
        } else {
            e.into()
        }
    })?;

    notes.extend(cx.older_notes());

    // Findings: the rules over the catalog just written, against the snapshots before
    // (MANIFEST.md's "Findings" section; `infrasnap findings` shows the evidence).
    let mut detail = ManifestDetail::default();
    match infrasnap_core::findings::assess_in_repo(
        &repo,
        staging.dir(),
        name.as_str(),
        Some(started_at),
        &cfg.findings.suppress,
    ) {
        Ok(r) => detail
            .data
            .push(infrasnap_core::findings::render::section(&r)),
        Err(e) => notes.push(format!("findings could not be computed: {e}")),
    }

    // The status rule: failed if every collector failed, partial if anything failed, else
    // complete.
    let mut collectors = BTreeMap::new();
    let mut regions = Vec::new();
    let mut totals = Totals::default();
    for (name, r) in reports {
        notes.extend(r.notes);
        totals.objects += r.summary.counts.get("objects").copied().unwrap_or(0);
        totals.bytes += r.summary.bytes_total;
        totals.bytes_new += r.summary.bytes_new;
        totals.blobs_new += r.summary.blobs_new;
        totals.errors += r.summary.errors.len() as u64;
        regions.extend(r.regions.iter().cloned());
        if !r.manifest.is_empty() {
            detail
                .sections
                .insert(registry::section_title(&name), r.manifest);
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
    // An endpoint does not choose what reaches MANIFEST.md: its error text is sanitised and
    // shortened, and its URL loses any credentials.
    let endpoint = endpoint.map(|e| infrasnap_core::secrets::strip_url_credentials(&e));
    for e in global_errors
        .iter_mut()
        .chain(collectors.values_mut().flat_map(|c| c.errors.iter_mut()))
    {
        e.message = infrasnap_core::metadata::sanitize_message(&e.message);
    }
    let meta = SnapshotMetadata {
        tool: "infrasnap".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        format_version: FORMAT_VERSION,
        name: name.to_string(),
        label: req.label.as_ref().map(|l| l.to_string()),
        parent: parent.map(|p| p.name),
        started_at,
        finished_at: chrono::Utc::now(),
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
        scope: Some(covered),
        seal: None,
    };
    let md = manifest::render(&meta, &detail);
    let data = detail.to_data();
    match req.finish {
        Finish::Publish => {
            let dir = staging.publish(&meta, &md, &data).map_err(|e| {
                if infrasnap_core::error::storage_full_seen() {
                    disk_full()
                } else {
                    e.into()
                }
            })?;
            drop(lock);
            Ok(Outcome {
                meta,
                dir,
                scratch: None,
            })
        }
        Finish::Scratch => {
            let scratch = staging.into_scratch(&meta, &md, &data)?;
            Ok(Outcome {
                meta,
                dir: scratch.dir().to_path_buf(),
                scratch: Some((scratch, lock)),
            })
        }
    }
}
