//! `infrasnap forget [policy] [--dry-run] [--prune]`: apply a retention policy (restic's rules,
//! infrasnap-core `retention`), print a table with a reason for every snapshot kept, and remove
//! the others.

use std::path::PathBuf;
use std::time::Duration;

use infrasnap_core::readers;
use infrasnap_core::repo::Repository;
use infrasnap_core::retention::{self, Candidate, Count, Policy, RetentionError, Span};

use super::Global;
use crate::exit;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct PolicyArgs {
    /// Keep the N newest snapshots
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub keep_last: Option<String>,
    /// Keep the newest snapshot of each of the N newest hours that have one (`unlimited`: all)
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub keep_hourly: Option<String>,
    /// Keep the newest snapshot of each of the N newest days that have one
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub keep_daily: Option<String>,
    /// Keep the newest snapshot of each of the N newest ISO weeks that have one
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub keep_weekly: Option<String>,
    /// Keep the newest snapshot of each of the N newest months that have one
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub keep_monthly: Option<String>,
    /// Keep the newest snapshot of each of the N newest years that have one
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub keep_yearly: Option<String>,
    /// Keep every snapshot within this span of the newest snapshot: 30d, 1y6m, 13d23h
    #[arg(long, value_name = "SPAN", allow_hyphen_values = true)]
    pub keep_within: Option<String>,
    /// Keep the newest snapshot of each hour within this span of the newest snapshot
    #[arg(long, value_name = "SPAN", allow_hyphen_values = true)]
    pub keep_within_hourly: Option<String>,
    /// Keep the newest snapshot of each day within this span of the newest snapshot
    #[arg(long, value_name = "SPAN", allow_hyphen_values = true)]
    pub keep_within_daily: Option<String>,
    /// Keep the newest snapshot of each week within this span of the newest snapshot
    #[arg(long, value_name = "SPAN", allow_hyphen_values = true)]
    pub keep_within_weekly: Option<String>,
    /// Keep the newest snapshot of each month within this span of the newest snapshot
    #[arg(long, value_name = "SPAN", allow_hyphen_values = true)]
    pub keep_within_monthly: Option<String>,
    /// Keep the newest snapshot of each year within this span of the newest snapshot
    #[arg(long, value_name = "SPAN", allow_hyphen_values = true)]
    pub keep_within_yearly: Option<String>,
    /// Keep every snapshot whose label matches this glob, e.g. 'v*' (repeatable)
    #[arg(long, value_name = "GLOB")]
    pub keep_label: Vec<String>,
    /// Let snapshots that are complete with errors count toward --keep-last and the periods (a
    /// complete snapshot of a period is still preferred)
    #[arg(long)]
    pub count_partial: bool,
}

impl PolicyArgs {
    fn given(&self) -> bool {
        let s = self;
        [
            &s.keep_last,
            &s.keep_hourly,
            &s.keep_daily,
            &s.keep_weekly,
            &s.keep_monthly,
            &s.keep_yearly,
            &s.keep_within,
            &s.keep_within_hourly,
            &s.keep_within_daily,
            &s.keep_within_weekly,
            &s.keep_within_monthly,
            &s.keep_within_yearly,
        ]
        .iter()
        .any(|o| o.is_some())
            || !s.keep_label.is_empty()
            || s.count_partial
    }

    /// The policy of the flags, if any is given, else the config's `[retention]`.
    pub fn policy(&self, config: Option<&Policy>) -> Result<Policy, RetentionError> {
        if !self.given() {
            return config.cloned().ok_or(RetentionError::NoRules);
        }
        let count = |v: &Option<String>, flag: &str| {
            v.as_deref().map(|t| Count::parse(t, flag)).transpose()
        };
        let span = |v: &Option<String>| v.as_deref().map(str::parse::<Span>).transpose();
        let p = Policy {
            keep_last: count(&self.keep_last, "--keep-last")?,
            keep_hourly: count(&self.keep_hourly, "--keep-hourly")?,
            keep_daily: count(&self.keep_daily, "--keep-daily")?,
            keep_weekly: count(&self.keep_weekly, "--keep-weekly")?,
            keep_monthly: count(&self.keep_monthly, "--keep-monthly")?,
            keep_yearly: count(&self.keep_yearly, "--keep-yearly")?,
            keep_within: span(&self.keep_within)?,
            keep_within_hourly: span(&self.keep_within_hourly)?,
            keep_within_daily: span(&self.keep_within_daily)?,
            keep_within_weekly: span(&self.keep_within_weekly)?,
            keep_within_monthly: span(&self.keep_within_monthly)?,
            keep_within_yearly: span(&self.keep_within_yearly)?,
            keep_label: self.keep_label.clone(),
            count_partial: self.count_partial,
        };
        p.validate()?;
        Ok(p)
    }
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct ForgetArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Show what would be forgotten; remove nothing
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Also prune: remove the blobs no snapshot references any more, and report the space freed
    #[arg(long)]
    pub prune: bool,
    /// Configuration file whose [retention] is the policy when no --keep-* flag is given
    #[arg(long, value_name = "FILE", env = "INFRASNAP_CONFIG")]
    pub config: Option<PathBuf>,
    /// If a run holds the repository, wait up to this many seconds instead of failing
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "3600")]
    pub wait_lock: Option<u64>,
}

/// Print an error the way main does and return its exit code.
pub fn fail(g: &Global, msg: &str, code: u8) -> u8 {
    if g.json {
        println!("{}", serde_json::json!({ "error": msg }));
    } else {
        eprintln!("error: {msg}");
    }
    code
}

/// The exit code for a policy that cannot be applied: 2 for a malformed one, 1 when it would
/// forget every snapshot.
pub fn policy_error_code(e: &RetentionError) -> u8 {
    match e {
        RetentionError::ForgetsEverything { .. } => exit::FAILED,
        _ => exit::USAGE,
    }
}

/// The snapshots of `repo` as retention sees them (periods in local time), with their readers.
pub fn candidates(repo: &Repository) -> anyhow::Result<Vec<Candidate>> {
    let active = readers::active(repo.root());
    Ok(repo
        .snapshots()?
        .into_iter()
        .map(|m| Candidate {
            time: m.started_at.with_timezone(&chrono::Local).fixed_offset(),
            in_use: readers::reading(&active, &m.name),
            name: m.name,
            status: m.status,
            label: m.label,
        })
        .collect())
}

pub fn run(g: &Global, a: ForgetArgs) -> anyhow::Result<u8> {
    let cfg = super::snapshot::load_config(a.config.as_deref())?;
    let policy = match a.policy.policy(cfg.retention.as_ref()) {
        Ok(p) => p,
        Err(e) => return Ok(fail(g, &e.to_string(), policy_error_code(&e))),
    };
    let repo = super::open_repo(g, a.config.as_deref())?;
    let out = forget_and_prune(
        &repo,
        &policy,
        a.dry_run,
        a.prune,
        a.wait_lock.map(Duration::from_secs),
    )?;
    let plan = match out {
        Err(e) => return Ok(fail(g, &e.to_string(), policy_error_code(&e))),
        Ok(o) => o,
    };
    if g.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        println!("{}", plan.plan);
        for f in &plan.forgotten {
            if let Some(n) = &f.note {
                println!("{}: {n}", f.name);
            }
        }
        if a.dry_run {
            println!("(dry run: nothing was removed)");
        } else {
            println!(
                "Forgot {} snapshots.",
                plan.forgotten.iter().filter(|f| f.removed).count()
            );
        }
        if let Some(p) = &plan.prune {
            super::prune::print_report(p);
        }
    }
    Ok(exit::OK)
}

/// What `forget` did: the plan, what it removed, and the prune's report.
#[derive(Debug, serde::Serialize)]
pub struct ForgetOutcome {
    pub plan: retention::RetentionPlan,
    pub forgotten: Vec<infrasnap_core::prune::Forgotten>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prune: Option<infrasnap_core::prune::PruneReport>,
}

/// Plan under the lock (so no run publishes meanwhile), then forget and prune unless `dry_run`.
pub fn forget_and_prune(
    repo: &Repository,
    policy: &Policy,
    dry_run: bool,
    prune: bool,
    wait_lock: Option<Duration>,
) -> anyhow::Result<Result<ForgetOutcome, RetentionError>> {
    let lock = if dry_run {
        None
    } else {
        Some(repo.lock(wait_lock)?)
    };
    let plan = match retention::plan(&candidates(repo)?, policy, chrono::Utc::now()) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let Some(lock) = lock else {
        let prune = if prune {
            let lock = repo.lock(wait_lock)?;
            Some(super::prune::run_prune(repo, &lock, true)?)
        } else {
            None
        };
        return Ok(Ok(ForgetOutcome {
            plan,
            forgotten: Vec::new(),
            prune,
        }));
    };
    let forgotten = infrasnap_core::prune::forget(repo, &lock, &plan)?;
    let prune = if prune {
        Some(super::prune::run_prune(repo, &lock, false)?)
    } else {
        None
    };
    Ok(Ok(ForgetOutcome {
        plan,
        forgotten,
        prune,
    }))
}
