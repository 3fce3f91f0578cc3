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
    AccountInfo, OrganizationAccount, RecordedError, SnapshotMetadata, Status, Totals,
};
use infrasnap_core::progress::Progress;
use infrasnap_core::repo::{RepoLock, Repository, Scratch, FORMAT_VERSION};

use crate::aws::identity::{caller_identity, enabled_regions, organization_accounts};
use crate::aws::scope::{AccountScope, ServiceLimits};
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

/// Take one snapshot.
pub async fn run(req: RunRequest<'_>) -> Result<Outcome, RunError> {
    let started_at = chrono::Utc::now();
    let started = Instant::now();
    check_services(&req)?;
    if req.jobs == 0 || req.services.bucket_jobs == 0 {
        return Err(RunError::Usage(
            "--jobs and --bucket-jobs must be at least 1".into(),
        ));
    }
    let cfg = req.cfg;
    let name = req
        .label
        .clone()
        .unwrap_or_else(|| SnapshotName::from_time(started_at));

    let repo = Repository::open_or_init(req.repo_dir)?;
    let lock = {
        let repo = repo.clone();
        let wait = req.wait_lock;
        tokio::task::spawn_blocking(move || repo.lock(wait))
            .await
            .map_err(|e| RunError::Usage(format!("the lock task failed: {e}")))??
    };
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

    let mut cx = RunContext::new(
        repo.clone(),
        staging.dir(),
        previous,
        req.progress.clone(),
        req.jobs,
    )?;
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
    let mut collectors: Vec<Arc<dyn Collector>> = Vec::new();
    let several = req.accounts.len() > 1;
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
    for aws in &req.accounts {
        let account_name = &aws.name;
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
        let only = if req.only.is_empty() {
            &cfg.aws.only
        } else {
            &req.only
        };
        let wanted = |svc: &str| {
            (only.is_empty() || only.iter().any(|s| s == svc))
                && !cfg.aws.skip.iter().chain(req.skip.iter()).any(|s| s == svc)
        };
        let regions = if !req.regions.is_empty() {
            req.regions.clone()
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
    cx.finish()?;

    // The status rule: failed if every collector failed, partial if anything failed, else
    // complete.
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
        seal: None,
    };
    let md = manifest::render(&meta, &detail);
    match req.finish {
        Finish::Publish => {
            let dir = staging.publish(&meta, &md)?;
            drop(lock);
            Ok(Outcome {
                meta,
                dir,
                scratch: None,
            })
        }
        Finish::Scratch => {
            let scratch = staging.into_scratch(&meta, &md)?;
            Ok(Outcome {
                meta,
                dir: scratch.dir().to_path_buf(),
                scratch: Some((scratch, lock)),
            })
        }
    }
}
