//! `infrasnap restore`: plan a point-in-time restore, review it, apply exactly that plan, and
//! prove the result.
//!
//! - `restore plan SNAPSHOT [selection] [target] [-o plan.json]`: capture the live state of the
//!   selected scope into a scratch snapshot, compare, and print (and save) the plan;
//! - `restore apply plan.json`: refuse an edited, truncated, foreign or stale plan; apply it
//!   stage by stage with a journal (a killed apply resumes); capture again and check every
//!   touched resource; keep the receipt in the repository;
//! - `restore SNAPSHOT ... --dry-run` prints the plan; `--yes` plans and applies in one go.
//!
//! Every decision is made by infrasnap-core's `restore::plan`; the writers are in the
//! collectors crate (`restore/`).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;

use clap::{Args, Subcommand};
use infrasnap_collectors::driver::Finish;
use infrasnap_collectors::restore as writers;
use infrasnap_core::diff::Side;
use infrasnap_core::restore::journal::{self, Journal, Receipt};
use infrasnap_core::restore::plan::{live_scope, plan_restore, stale_steps, verify, PlanInput};
use infrasnap_core::restore::select::{as_of, parse_time};
use infrasnap_core::restore::{
    repository_id, IfExists, LiveScope, RestoreError, RestorePlan, RestoreSelection, Target,
};

use infrasnap_core::config::AwsAccount;
use infrasnap_core::kept::{encrypted_blobs, KEPT_PART};

use super::{open_repo, snapshot, snapshot_dir, Global};
use crate::exit;

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct RestoreArgs {
    #[command(subcommand)]
    pub cmd: Option<RestoreCmd>,
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Print the plan and change nothing
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Plan and apply in one command, without a review (for scripts)
    #[arg(long)]
    pub yes: bool,
}

#[derive(Subcommand, Debug)]
pub enum RestoreCmd {
    /// Compute a restore plan: what would be created, updated, deleted or skipped, and why
    Plan(Box<PlanCmd>),
    /// Apply a plan made by `restore plan` (refused if edited, from another repository, or stale)
    Apply(ApplyArgs),
}

#[derive(Args, Debug)]
pub struct PlanCmd {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Write the plan to this file (for `restore apply`)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug, Default)]
pub struct PlanArgs {
    /// The snapshot to restore (a name from `infrasnap list`); or pass --as-of
    #[arg(value_name = "SNAPSHOT", required_unless_present = "as_of")]
    pub snapshot: Option<String>,
    /// Only these resources: ids (`kind:account:region:id`) or globs; without `:`, the id alone
    #[arg(value_name = "RESOURCE")]
    pub ids: Vec<String>,
    /// The latest complete snapshot taken at or before this time (RFC 3339, or a date)
    #[arg(long, value_name = "TIME", conflicts_with = "snapshot")]
    pub as_of: Option<String>,
    /// Only this kind, or a glob such as `aws.route53.*` (repeatable)
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<String>,
    /// Only this account (repeatable; globs allowed)
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
    /// Only this region (repeatable; globs allowed)
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Only this S3 bucket (repeatable; globs allowed)
    #[arg(long = "bucket", value_name = "NAME")]
    pub buckets: Vec<String>,
    /// Only the objects under this prefix (bucket settings are left alone)
    #[arg(long, value_name = "PREFIX", conflicts_with = "key")]
    pub prefix: Option<String>,
    /// Only this one object (bucket settings are left alone)
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Restore into this bucket instead (one bucket selected; created if missing)
    #[arg(long, value_name = "NAME")]
    pub to_bucket: Option<String>,
    /// Restore the objects under this prefix instead (the selected --prefix is replaced)
    #[arg(long, value_name = "PREFIX")]
    pub to_prefix: Option<String>,
    /// Restore the selected DynamoDB table under this name
    #[arg(long, value_name = "NAME")]
    pub to_table: Option<String>,
    /// Restore local sources (git repositories, folders) into DIR/<source name>; they are never
    /// restored in place
    #[arg(long, value_name = "DIR")]
    pub to_dir: Option<PathBuf>,
    /// Restore into the account of this AWS profile (resources keep their names)
    #[arg(long, value_name = "NAME", conflicts_with = "to_role_arn")]
    pub to_profile: Option<String>,
    /// Restore into the account of this role, assumed with the --profile (or default)
    /// credentials
    #[arg(long, value_name = "ARN")]
    pub to_role_arn: Option<String>,
    /// The external id the --to-role-arn role requires
    #[arg(long, value_name = "ID", requires = "to_role_arn")]
    pub to_external_id: Option<String>,
    /// Restore regional resources (tables, functions, ...) into this region, and create buckets
    /// there; IAM, Route53 and CloudFront are global and stay account-wide
    #[arg(long, value_name = "REGION")]
    pub to_region: Option<String>,
    /// What to do with a live resource that differs from the snapshot: skip, overwrite, or
    /// if-unchanged (overwrite only what a snapshot holds, so no live change is lost)
    #[arg(long, value_name = "POLICY", default_value = "if-unchanged")]
    pub if_exists: IfExists,
    /// Also delete live resources (objects) the snapshot does not have
    #[arg(long)]
    pub delete_extra: bool,
    /// Allow updating or deleting more than 30% of a kind's live resources
    #[arg(long)]
    pub force: bool,
    /// The private key of an imported ACM certificate, from your own copy (repeatable): the
    /// certificate's ARN, id or domain name, `=`, the PEM key file. Checked against the
    /// certificate; the plan keeps the file's path and a fingerprint, never the key
    #[arg(long = "certificate-key", value_name = "ARN_OR_DOMAIN=FILE")]
    pub certificate_keys: Vec<String>,
    #[command(flatten)]
    pub conn: Connection,
}

/// How to reach AWS and the repository.
#[derive(Args, Debug, Default, Clone)]
pub struct Connection {
    /// AWS profile from ~/.aws/config (default: $AWS_PROFILE, else `default`)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Send AWS requests to this endpoint ($AWS_ENDPOINT_URL works too)
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Path-style S3 addressing (automatic for IP and localhost endpoints)
    #[arg(long)]
    pub s3_path_style: bool,
    /// Configuration file (for its `repo =` and accounts)
    #[arg(long, value_name = "FILE", env = "INFRASNAP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Writes (and S3 transfers) at once
    #[arg(long, short = 'j', default_value_t = 64, value_name = "N")]
    pub jobs: usize,
    /// age identity file that decrypts the secret values the snapshot kept (--keep-secrets);
    /// default: `identity =` in the config's [secrets]
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// The plan file written by `restore plan -o`
    #[arg(value_name = "PLAN")]
    pub file: PathBuf,
    #[command(flatten)]
    pub conn: Connection,
}

pub async fn run(g: &Global, a: RestoreArgs) -> anyhow::Result<u8> {
    match a.cmd {
        Some(RestoreCmd::Plan(p)) => plan_cmd(g, &p.plan, p.output.as_deref(), Mode::Plan).await,
        Some(RestoreCmd::Apply(x)) => apply_cmd(g, &x).await,
        None => {
            let mode = if a.yes {
                Mode::Yes
            } else if a.dry_run {
                Mode::Plan
            } else {
                return Ok(usage(
                    g,
                    "`infrasnap restore SNAPSHOT` needs --dry-run (print the plan) or --yes (plan \
                     and apply); or use `infrasnap restore plan SNAPSHOT -o plan.json` and \
                     `infrasnap restore apply plan.json`",
                ));
            };
            plan_cmd(g, &a.plan, None, mode).await
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Plan,
    Yes,
}

/// Print a usage error (nothing was done) and return exit 2.
fn usage(g: &Global, msg: &str) -> u8 {
    if g.json {
        println!("{}", serde_json::json!({ "error": msg }));
    } else {
        eprintln!("error: {msg}");
    }
    exit::USAGE
}

async fn plan_cmd(g: &Global, a: &PlanArgs, out: Option<&Path>, mode: Mode) -> anyhow::Result<u8> {
    let repo = open_repo(g, a.conn.config.as_deref())?;
    let repo_id = repository_id(repo.root())?;
    let name = match (&a.snapshot, &a.as_of) {
        (Some(n), _) => n.clone(),
        (None, Some(t)) => {
            let t = match parse_time(t) {
                Ok(t) => t,
                Err(e) => return Ok(usage(g, &e.to_string())),
            };
            let snaps = repo.snapshots()?;
            match as_of(&snaps, t) {
                Some(m) => m.name.clone(),
                None => {
                    return Ok(usage(
                        g,
                        &format!(
                            "no complete snapshot was taken at or before {}; `infrasnap list` \
                             shows the snapshots",
                            t.to_rfc3339()
                        ),
                    ))
                }
            }
        }
        (None, None) => unreachable!("clap requires one"),
    };
    let dir = snapshot_dir(&repo, &name)?;
    // A snapshot being restored from is never forgotten meanwhile.
    let _reading =
        infrasnap_core::readers::register(repo.root(), "restore", std::slice::from_ref(&name)).ok();
    let blobs = repo.root().join(".infrasnap").join("blobs");
    let snap = Side::open(&dir, &blobs)?;
    let sel = RestoreSelection {
        kinds: a.kinds.clone(),
        accounts: a.accounts.clone(),
        regions: a.regions.clone(),
        ids: a.ids.clone(),
        buckets: a.buckets.clone(),
        prefix: a.prefix.clone(),
        key: a.key.clone(),
    };
    let mut target = Target {
        to_bucket: a.to_bucket.clone(),
        to_prefix: a.to_prefix.clone(),
        to_table: a.to_table.clone(),
        to_dir: match a.to_dir.as_deref().map(std::path::absolute).transpose() {
            Ok(d) => d.map(|d| d.display().to_string()),
            Err(e) => return Ok(usage(g, &format!("--to-dir: {e}"))),
        },
        to_profile: a.to_profile.clone(),
        to_role_arn: a.to_role_arn.clone(),
        to_external_id: a.to_external_id.clone(),
        to_region: a.to_region.clone(),
        to_account: None,
    };
    if let Some(r) = &target.to_region {
        if let Err(e) =
            infrasnap_core::region::check_regions(std::slice::from_ref(r), "--to-region")
        {
            return Ok(usage(g, &e.to_string()));
        }
    }
    if target_account(&target).is_some() {
        // The target account's id, from its own credentials: ids in the plan carry it.
        let setup = aws_setup(&a.conn, &target).await?;
        let who = infrasnap_collectors::aws::identity::caller_identity(&setup.sdk)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot read the target account's identity (sts:GetCallerIdentity): {e}"
                )
            })?;
        match who.account {
            Some(id) => target.to_account = Some(id),
            None => anyhow::bail!("the target credentials name no account (sts:GetCallerIdentity)"),
        }
    }
    let scope = match live_scope(&snap, &sel, &target) {
        Ok(s) => s,
        Err(e) => return Ok(usage(g, &e.to_string())),
    };
    if !scope.captures() && !scope.local {
        return Ok(usage(
            g,
            &format!("the selection matches nothing in snapshot `{name}` that restore can reach"),
        ));
    }
    let live = capture(g, repo.root(), &a.conn, &scope, &target, None).await?;
    let live_side = Side::open(&live.dir, &blobs)?;
    // The latest published snapshot: a live state it holds is recorded (--if-exists).
    let latest = repo
        .snapshots()?
        .into_iter()
        .max_by_key(|m| m.started_at)
        .map(|m| Side::open(&repo.root().join(&m.name), &blobs))
        .transpose()?;
    // Kept secret values can be restored when the identity decrypts them.
    let secrets_available = match identities(&a.conn) {
        Ok(None) => false,
        Ok(Some(ids)) => {
            let kept = snap
                .catalog
                .records
                .iter()
                .find_map(|r| r.parts.get(KEPT_PART).and_then(|p| p.blob))
                .or_else(|| infrasnap_core::restore::plan::local::first_kept(&snap));
            match kept {
                Some(blob) => {
                    if let Err(e) = decrypt_blob(&ids, &blobs, &blob) {
                        return Ok(usage(g, &format!("{e} (snapshot `{name}`)")));
                    }
                    true
                }
                None => false,
            }
        }
        Err(e) => return Ok(usage(g, &e)),
    };
    let keys = match certificate_keys(repo.root(), &a.certificate_keys) {
        Ok(k) => k,
        Err(e) => return Ok(usage(g, &e)),
    };
    let w = writers::writers();
    let result = plan_restore(PlanInput {
        repository: repo_id,
        snapshot: &snap,
        live: &live_side,
        latest: latest.as_ref(),
        selection: sel,
        target,
        if_exists: a.if_exists,
        delete_extra: a.delete_extra,
        force: a.force,
        writers: &w,
        secrets_available,
        now: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        certificate_keys: &keys,
    });
    drop(live_side);
    drop(live);
    let mut plan = match result {
        Ok(p) => p,
        Err(e @ (RestoreError::Selection(_) | RestoreError::Diff(_) | RestoreError::Key(_))) => {
            return Ok(usage(g, &e.to_string()))
        }
        Err(e @ RestoreError::BlastRadius(_)) => {
            if g.json {
                println!("{}", serde_json::json!({ "error": e.to_string() }));
            } else {
                eprintln!("error: {e}");
            }
            return Ok(exit::FAILED);
        }
        Err(e) => return Err(e.into()),
    };
    let text = plan.to_file_text();
    if let Some(p) = out {
        std::fs::write(p, &text)
            .map_err(|e| anyhow::anyhow!("cannot write the plan to `{}`: {e}", p.display()))?;
    }
    if mode == Mode::Yes {
        if !g.quiet && !g.json {
            eprint!("{plan}");
        }
        return apply_plan(g, repo.root(), &plan, &a.conn).await;
    }
    if g.json {
        println!("{text}");
    } else {
        print!("{plan}");
        if let Some(p) = out {
            eprintln!(
                "Plan written to {}; apply it with `infrasnap restore apply {}`",
                p.display(),
                p.display()
            );
        }
    }
    Ok(exit::OK)
}

async fn apply_cmd(g: &Global, a: &ApplyArgs) -> anyhow::Result<u8> {
    let repo = open_repo(g, a.conn.config.as_deref())?;
    let repo_id = repository_id(repo.root())?;
    let text = match std::fs::read_to_string(&a.file) {
        Ok(t) => t,
        Err(e) => {
            return Ok(usage(
                g,
                &format!("cannot read the plan file `{}`: {e}", a.file.display()),
            ))
        }
    };
    let plan = match RestorePlan::open(&text, &repo_id) {
        Ok(p) => p,
        Err(e) => return Ok(usage(g, &format!("plan file `{}`: {e}", a.file.display()))),
    };
    let _reading = infrasnap_core::readers::register(
        repo.root(),
        "restore",
        std::slice::from_ref(&plan.snapshot),
    )
    .ok();
    apply_plan(g, repo.root(), &plan, &a.conn).await
}

/// Apply a checked plan: staleness, steps with the journal, verification, receipt.
async fn apply_plan(
    g: &Global,
    repo_root: &Path,
    plan: &RestorePlan,
    conn: &Connection,
) -> anyhow::Result<u8> {
    let folder = journal::folder(repo_root, plan.short_hash());
    if let Some(r) = journal::read_receipt(&folder)? {
        if r.ok {
            say(
                g,
                &format!(
                    "Plan {} was already applied ({} steps, finished {}); nothing to do",
                    plan.short_hash(),
                    r.steps_done + r.steps_done_before,
                    r.finished_at
                ),
            );
            if g.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            }
            return Ok(exit::OK);
        }
    }
    // Kept secret values: the identity must decrypt every one the plan writes, before anything
    // is written.
    let blobs = repo_root.join(".infrasnap").join("blobs");
    let ids = match identities(conn) {
        Ok(i) => i,
        Err(e) => return Ok(usage(g, &e)),
    };
    let with_kept: Vec<&infrasnap_core::restore::Step> = plan
        .writing_steps()
        .filter(|s| !encrypted_blobs(s).is_empty())
        .collect();
    if let Some(first) = with_kept.first() {
        let Some(ids) = &ids else {
            return Ok(usage(
                g,
                &format!(
                    "step {} ({}) restores secret values the snapshot kept encrypted: pass the \
                     age identity that decrypts them with --identity FILE (or `identity =` in \
                     [secrets]); nothing was applied",
                    first.n,
                    first.what()
                ),
            ));
        };
        for st in &with_kept {
            for blob in encrypted_blobs(st) {
                if let Err(e) = decrypt_blob(ids, &blobs, &blob) {
                    return Ok(usage(
                        g,
                        &format!("step {} ({}): {e}; nothing was applied", st.n, st.what()),
                    ));
                }
            }
        }
    }
    // Private keys of imported certificates: each file as it was when the plan was made.
    if let Err(e) = check_key_files(repo_root, plan) {
        return Ok(usage(g, &e));
    }
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let journal = Journal::open(&folder)?;
    repo_write(&folder.join("plan.json"), plan)?;
    let done_before = journal.done().clone();
    let pending = plan
        .writing_steps()
        .filter(|s| !done_before.contains(&s.n))
        .count();
    if pending > 0 {
        // Refuse a stale plan: every step not yet done must find its target as planned against
        // (or already as wanted, when an earlier run wrote it but was killed before its journal
        // line).
        let live = capture(g, repo_root, conn, &plan.scope, &plan.target, None).await?;
        let side = Side::open(&live.dir, &blobs)?;
        let stale = stale_steps(plan, &side, &done_before)?;
        drop(side);
        drop(live);
        if !stale.is_empty() {
            let mut msg = format!(
                "the live state changed since plan {} was made, so nothing was applied; make a \
                 new plan with `infrasnap restore plan` and review it. Changed since planning:",
                plan.short_hash()
            );
            for s in stale.iter().take(20) {
                msg.push_str(&format!("\n  step {}: {}", s.n, s.what));
            }
            if stale.len() > 20 {
                msg.push_str(&format!("\n  ... and {} more", stale.len() - 20));
            }
            if g.json {
                println!(
                    "{}",
                    serde_json::json!({"error": "stale plan", "stale": stale})
                );
            } else {
                eprintln!("error: {msg}");
            }
            return Ok(exit::FAILED);
        }
    }
    let setup = aws_setup(conn, &plan.target).await?;
    let mut cx = writers::Context::new(setup.sdk, setup.s3_path_style, blobs.clone(), conn.jobs);
    if let Some(ids) = ids {
        cx = cx.with_identity(ids);
    }
    let cfg = snapshot::load_config(conn.config.as_deref())?;
    cx.upload = cfg.restore.upload_sizes().map_err(|e| anyhow::anyhow!(e))?;
    if plan.scope.gas {
        cx.gas = cfg.gas;
        cx.home = snapshot::home();
    }
    cx.snapshot = plan.snapshot.clone();
    let progress = AtomicU64::new(0);
    say(
        g,
        &format!(
            "Applying plan {}: {pending} steps{}",
            plan.short_hash(),
            if done_before.is_empty() {
                String::new()
            } else {
                format!(" ({} done by an earlier run)", done_before.len())
            }
        ),
    );
    let outcome = tokio::select! {
        o = writers::apply(&cx, plan, &journal, &progress) => o,
        _ = tokio::signal::ctrl_c() => {
            eprintln!(
                "interrupted: the steps done are journalled; run `infrasnap restore apply` with \
                 the same plan to resume"
            );
            return Ok(exit::INTERRUPTED);
        }
    };
    // Prove it: capture again and check every touched resource against the snapshot (a plan
    // that writes nothing touches nothing).
    let (final_diff, notes) = if plan.writing_steps().next().is_some() {
        // Objects the server confirmed by their MD5 are read back by their headers and tags;
        // every other touched resource is read in full.
        let known = Some(cx.known.clone());
        let live = capture(g, repo_root, conn, &plan.scope, &plan.target, known).await?;
        let side = Side::open(&live.dir, &blobs)?;
        let d = verify(plan, &side)?;
        let notes = infrasnap_core::restore::plan::apply_notes(plan, &side)?;
        drop(side);
        drop(live);
        (d, notes)
    } else {
        (Vec::new(), Vec::new())
    };
    let receipt = Receipt {
        receipt: "restore-receipt".into(),
        plan_hash: plan.hash.clone(),
        snapshot: plan.snapshot.clone(),
        started_at,
        finished_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        steps_done: outcome.done,
        steps_done_before: done_before.len() as u64,
        steps_skipped: plan.summary.skip,
        ok: outcome.failed.is_empty() && final_diff.is_empty(),
        failed: outcome.failed,
        final_diff,
        notes,
    };
    journal::write_receipt(&folder, &receipt)?;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&receipt)?);
    } else if !g.quiet {
        eprintln!(
            "Restore {}: {} steps done{}, {} failed; read back: {}",
            if receipt.ok { "complete" } else { "INCOMPLETE" },
            receipt.steps_done,
            if receipt.steps_done_before > 0 {
                format!(" (and {} by an earlier run)", receipt.steps_done_before)
            } else {
                String::new()
            },
            receipt.failed.len(),
            if receipt.final_diff.is_empty() {
                "every touched resource matches the snapshot".to_string()
            } else {
                format!("{} do not match the snapshot", receipt.final_diff.len())
            }
        );
        for f in &receipt.failed {
            eprintln!("  failed: step {}: {}: {}", f.n, f.what, f.error);
        }
        for m in receipt.final_diff.iter().take(20) {
            eprintln!("  differs: step {}: {}", m.n, m.what);
        }
        for n in &receipt.notes {
            eprintln!("  note: {n}");
        }
        eprintln!("Receipt: {}", folder.join("receipt.json").display());
    }
    Ok(if receipt.ok { exit::OK } else { exit::FAILED })
}

/// The age identities of `--identity`, else of the config's `[secrets] identity`.
fn identities(c: &Connection) -> Result<Option<writers::Identities>, String> {
    let path = match &c.identity {
        Some(p) => p.clone(),
        None => {
            let cfg = snapshot::load_config(c.config.as_deref()).map_err(|e| e.to_string())?;
            match cfg.secrets.identity {
                Some(p) => infrasnap_core::config::expand_home(
                    Path::new(&p),
                    std::env::var_os("HOME").map(PathBuf::from).as_deref(),
                ),
                None => return Ok(None),
            }
        }
    };
    writers::Identities::read(&path).map(Some)
}

/// The repository's fingerprint key (private keys are named in a plan by a keyed fingerprint).
fn fingerprinter(repo_root: &Path) -> Result<infrasnap_core::secrets::Fingerprinter, String> {
    let home = infrasnap_core::secrets::config_home();
    infrasnap_core::secrets::Fingerprinter::open(&repo_root.join(".infrasnap"), home.as_deref())
        .map(|(f, _)| f)
        .map_err(|e| format!("cannot open the repository's fingerprint key: {e}"))
}

/// `--certificate-key ARN_OR_DOMAIN=FILE`s, each file read and fingerprinted.
fn certificate_keys(
    repo_root: &Path,
    args: &[String],
) -> Result<Vec<infrasnap_core::restore::acm::CertificateKey>, String> {
    use infrasnap_core::restore::acm::{parse_key_arg, CertificateKey, KeyFile};
    if args.is_empty() {
        return Ok(Vec::new());
    }
    let fp = fingerprinter(repo_root)?;
    let mut out = Vec::new();
    for a in args {
        let (selector, path) = parse_key_arg(a).map_err(|e| format!("--certificate-key {e}"))?;
        let path = std::path::absolute(&path).unwrap_or(path);
        let bytes = std::fs::read(&path).map_err(|e| {
            format!(
                "--certificate-key {a}: cannot read the key file `{}`: {e}",
                path.display()
            )
        })?;
        out.push(CertificateKey {
            selector,
            file: KeyFile {
                path: path.display().to_string(),
                fingerprint: fp.fingerprint(&bytes),
            },
            pem: infrasnap_core::secrets::Sensitive::new(bytes),
        });
    }
    Ok(out)
}

/// Every private key file the plan names must be readable and as it was when the plan was made.
fn check_key_files(repo_root: &Path, plan: &RestorePlan) -> Result<(), String> {
    let steps: Vec<_> = plan
        .writing_steps()
        .filter_map(|s| s.key_file.as_ref().map(|k| (s, k)))
        .collect();
    if steps.is_empty() {
        return Ok(());
    }
    let fp = fingerprinter(repo_root)?;
    for (s, k) in steps {
        let bytes = std::fs::read(&k.path).map_err(|e| {
            format!(
                "step {} ({}): cannot read the private key file `{}`: {e}; nothing was applied",
                s.n,
                s.what(),
                k.path
            )
        })?;
        if fp.fingerprint(&bytes) != k.fingerprint {
            return Err(format!(
                "step {} ({}): the private key file `{}` changed since the plan was made; \
                 nothing was applied: make a new plan with `infrasnap restore plan \
                 --certificate-key ...`",
                s.n,
                s.what(),
                k.path
            ));
        }
    }
    Ok(())
}

/// Decrypt one kept-values blob (only to check that the identity opens it).
fn decrypt_blob(
    ids: &writers::Identities,
    blobs: &Path,
    blob: &infrasnap_core::ids::BlobId,
) -> Result<(), String> {
    let hex = blob.to_hex();
    let enc = std::fs::read(blobs.join(&hex[..2]).join(&hex))
        .map_err(|e| format!("cannot read the kept secret values ({hex}): {e}"))?;
    ids.decrypt_bytes(&enc).map(drop)
}

fn say(g: &Global, msg: &str) {
    if !g.quiet && !g.json {
        eprintln!("{msg}");
    }
}

fn repo_write(p: &Path, plan: &RestorePlan) -> anyhow::Result<()> {
    if !p.exists() {
        infrasnap_core::repo::write_atomic(p, serde_json::to_string_pretty(plan)?.as_bytes())?;
    }
    Ok(())
}

fn aws_args(c: &Connection) -> crate::aws_setup::AwsArgs {
    crate::aws_setup::AwsArgs {
        profile: c.profile.clone(),
        region: None,
        endpoint_url: c.endpoint_url.clone(),
        s3_path_style: c.s3_path_style,
    }
}

/// The account a target names (`--to-profile`, `--to-role-arn`), as a config account entry; the
/// role is assumed with the connection's credentials.
fn target_account(t: &Target) -> Option<AwsAccount> {
    if t.to_profile.is_none() && t.to_role_arn.is_none() {
        return None;
    }
    Some(AwsAccount {
        name: "restore target".into(),
        profile: t.to_profile.clone(),
        role_arn: t.to_role_arn.clone(),
        external_id: t.to_external_id.clone(),
        source_profile: None,
        region: None,
    })
}

/// The AWS settings restore writes with: the target account's, or the connection's.
async fn aws_setup(c: &Connection, t: &Target) -> anyhow::Result<crate::aws_setup::AwsSetup> {
    match target_account(t) {
        Some(a) => crate::aws_setup::load_account(&aws_args(c), &a).await,
        None => crate::aws_setup::load(&aws_args(c), None).await,
    }
}

/// Capture the live state of `scope` into a scratch snapshot (removed when dropped), in the
/// target account when the target names one.
async fn capture(
    g: &Global,
    repo_dir: &Path,
    c: &Connection,
    scope: &LiveScope,
    target: &Target,
    known: Option<std::sync::Arc<infrasnap_core::engine::KnownContent>>,
) -> anyhow::Result<snapshot::Outcome> {
    let mut cfg = snapshot::load_config(c.config.as_deref())?;
    // Only what the plan compares: local sources are read from --to-dir, not captured; Apps
    // Script only when projects are selected; AWS only when services are.
    cfg.local.clear();
    if !scope.gas {
        cfg.gas = None;
    }
    if scope.services.is_empty() {
        cfg.aws.disabled = true;
    }
    if let Some(a) = target_account(target) {
        cfg.aws.accounts = vec![a];
    }
    let args = snapshot::SnapshotArgs {
        jobs: 128,
        bucket_jobs: 8,
        config: c.config.clone(),
        regions: scope.regions.clone(),
        only: scope.services.clone(),
        buckets: scope.buckets.clone(),
        aws: aws_args(c),
        known,
        ..Default::default()
    };
    let quiet = Global {
        quiet: true,
        verbose: 0,
        ..g.clone()
    };
    snapshot::capture(&quiet, repo_dir, &args, None, &cfg, Finish::Scratch).await
}
