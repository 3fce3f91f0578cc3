//! `infrasnap schedule install|status|remove` and the hidden `run-scheduled` that the installed
//! unit runs: snapshot, then forget and prune by `[retention]`, a log file per run in the
//! repository, `status.json`, and `[notify]` when a run needs attention.
//!
//! The units are made by infrasnap-core `schedule` (a launchd agent on macOS, a systemd user
//! service and timer on Linux with systemd, else a crontab line) and written under `$HOME`,
//! which tests point at a temporary folder. A unit holds the absolute program, repository and
//! config paths and the snapshot options, never a credential (credentials come from the user's
//! usual chain: `~/.aws`, a profile, an instance role).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use infrasnap_core::repo::Repository;
use infrasnap_core::schedule::{Every, RunRecord, RunResult, Schedule, Status, Units};
use serde::{Deserialize, Serialize};

use super::Global;
use crate::exit;

#[derive(clap::Args, Debug, Clone)]
pub struct ScheduleArgs {
    #[command(subcommand)]
    pub command: ScheduleCommand,
}

#[derive(Subcommand, Debug, Clone)]
pub enum ScheduleCommand {
    /// Install a unit that snapshots on a schedule, then forgets and prunes by [retention]:
    /// `infrasnap schedule install --every week --at "Sun 03:00" -- --only s3`
    Install(InstallArgs),
    /// The schedule, the last run and its result, the next run, and whether a run is overdue
    Status,
    /// Remove the unit
    Remove(RemoveArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// launchd on macOS; systemd where `systemctl` is found; else cron
    Auto,
    Launchd,
    Systemd,
    Cron,
}

#[derive(clap::Args, Debug, Clone)]
pub struct InstallArgs {
    /// How often: day, week or month
    #[arg(long, value_name = "day|week|month")]
    pub every: String,
    /// When, local time: "03:00"; "Sun 03:00" for --every week; "1 03:00" (day of the month) for
    /// --every month [default: 03:00, Sunday, the 1st]
    #[arg(long, value_name = "WHEN")]
    pub at: Option<String>,
    /// Which scheduler gets the unit
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub backend: Backend,
    /// Write the unit but do not load it (no systemctl, launchctl or crontab call)
    #[arg(long)]
    pub no_activate: bool,
    /// Configuration file the scheduled run uses (its absolute path goes into the unit)
    /// [default: ./infrasnap.toml, else ~/.config/infrasnap/infrasnap.toml, if present]
    #[arg(long, value_name = "FILE", env = "INFRASNAP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Options for each snapshot, after `--` (as for `infrasnap snapshot`)
    #[arg(last = true, value_name = "SNAPSHOT OPTIONS")]
    pub snapshot: Vec<String>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RemoveArgs {
    /// Remove the unit's files but do not unload it
    #[arg(long)]
    pub no_activate: bool,
}

/// `infrasnap run-scheduled`: what an installed unit runs.
#[derive(clap::Args, Debug, Clone)]
pub struct RunScheduledArgs {
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Options for the snapshot (as for `infrasnap snapshot`), after `--`
    #[arg(last = true, value_name = "SNAPSHOT OPTIONS")]
    pub snapshot: Vec<String>,
}

/// What `install` wrote, kept in `<repo>/.infrasnap/schedule.json` for `status` and `remove`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Installed {
    backend: Backend,
    id: String,
    schedule: Schedule,
    command: Vec<String>,
    /// Unit files written (launchd, systemd).
    files: Vec<PathBuf>,
    /// The crontab line (cron).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crontab_line: Option<String>,
    installed_at: chrono::DateTime<chrono::Utc>,
}

fn installed_path(repo: &Path) -> PathBuf {
    repo.join(".infrasnap").join("schedule.json")
}

/// Used to check snapshot options at install time, with the parser `snapshot` uses.
#[derive(Parser, Debug)]
struct SnapshotProbe {
    #[command(flatten)]
    args: super::snapshot::SnapshotArgs,
}

pub fn run(g: &Global, a: ScheduleArgs) -> anyhow::Result<u8> {
    match a.command {
        ScheduleCommand::Install(i) => install(g, i),
        ScheduleCommand::Status => status(g),
        ScheduleCommand::Remove(r) => remove(g, r),
    }
}

fn home() -> anyhow::Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .context("HOME is not set: the unit goes under your home folder")
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    })
}

/// The repository a schedule is about: `--repo`, else the config's `repo =`, else ./snapshots;
/// absolute.
fn repo_dir(g: &Global, config: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = match &g.repo {
        Some(r) => r.clone(),
        None => {
            let cfg = super::snapshot::load_config(config)?;
            cfg.repo
                .map(|p| {
                    infrasnap_core::config::expand_home(
                        &p,
                        std::env::var_os("HOME").map(PathBuf::from).as_deref(),
                    )
                })
                .unwrap_or_else(|| PathBuf::from("snapshots"))
        }
    };
    absolute(&dir)
}

fn schedule_id(repo: &Path) -> String {
    infrasnap_core::ids::BlobId::of(repo.to_string_lossy().as_bytes()).to_hex()[..8].to_string()
}

fn which(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(prog))
            .find(|p| p.is_file())
    })
}

fn resolve(b: Backend) -> Backend {
    match b {
        Backend::Auto if cfg!(target_os = "macos") => Backend::Launchd,
        Backend::Auto if which("systemctl").is_some() => Backend::Systemd,
        Backend::Auto => Backend::Cron,
        other => other,
    }
}

fn systemd_dir(home: &Path) -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|x| !x.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".config"))
        .join("systemd")
        .join("user")
}

/// Run a helper (systemctl, launchctl, crontab); a failure is a warning with what to do.
fn try_run(cmd: &mut Command, what: &str) -> bool {
    match cmd.stdin(Stdio::null()).output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            eprintln!(
                "warning: {what} failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            false
        }
        Err(e) => {
            eprintln!("warning: {what} could not run: {e}");
            false
        }
    }
}

fn read_crontab() -> String {
    Command::new("crontab")
        .arg("-l")
        .stdin(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn write_crontab(text: &str) -> bool {
    let child = Command::new("crontab")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    match child {
        Ok(mut c) => {
            if let Some(mut i) = c.stdin.take() {
                let _ = i.write_all(text.as_bytes());
            }
            match c.wait_with_output() {
                Ok(o) if o.status.success() => true,
                Ok(o) => {
                    eprintln!(
                        "warning: crontab - failed: {}",
                        String::from_utf8_lossy(&o.stderr).trim()
                    );
                    false
                }
                Err(e) => {
                    eprintln!("warning: crontab could not run: {e}");
                    false
                }
            }
        }
        Err(e) => {
            eprintln!("warning: crontab could not run: {e}");
            false
        }
    }
}

/// The crontab without this schedule's line.
fn crontab_without(text: &str, id: &str) -> String {
    let marker = format!("# infrasnap-{id}");
    text.lines()
        .filter(|l| !l.trim_end().ends_with(&marker))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn install(g: &Global, a: InstallArgs) -> anyhow::Result<u8> {
    let every: Every = match a.every.parse() {
        Ok(e) => e,
        Err(e) => return Ok(super::forget::fail(g, &e.to_string(), exit::USAGE)),
    };
    let schedule = match Schedule::parse(every, a.at.as_deref()) {
        Ok(s) => s,
        Err(e) => return Ok(super::forget::fail(g, &e.to_string(), exit::USAGE)),
    };
    // The snapshot options are checked now, not at 3 in the morning.
    let probe = std::iter::once("infrasnap snapshot".to_string()).chain(a.snapshot.clone());
    match SnapshotProbe::try_parse_from(probe) {
        Ok(p) if p.args.label.is_some() => {
            return Ok(super::forget::fail(
                g,
                "--label names one snapshot; a scheduled run names each by its start time",
                exit::USAGE,
            ))
        }
        Ok(_) => {}
        Err(e) => {
            return Ok(super::forget::fail(
                g,
                &format!("the snapshot options after `--`: {}", e.to_string().trim()),
                exit::USAGE,
            ))
        }
    }
    // The config it was installed with, by absolute path.
    let config = match &a.config {
        Some(c) => Some(absolute(c)?),
        None => infrasnap_core::config::default_locations(home().ok().as_deref())
            .into_iter()
            .find(|p| p.is_file())
            .map(|p| absolute(&p))
            .transpose()?,
    };
    if let Some(c) = &config {
        super::snapshot::load_config(Some(c))?;
    }
    let repo = repo_dir(g, config.as_deref())?;
    Repository::open_or_init(&repo)?;
    let home = home()?;
    let exe = std::env::current_exe().context("find the infrasnap program")?;
    let mut command: Vec<String> = vec![
        exe.to_string_lossy().into_owned(),
        "--repo".into(),
        repo.to_string_lossy().into_owned(),
        "run-scheduled".into(),
    ];
    if let Some(c) = &config {
        command.push("--config".into());
        command.push(c.to_string_lossy().into_owned());
    }
    if !a.snapshot.is_empty() {
        command.push("--".into());
        command.extend(a.snapshot.iter().cloned());
    }
    let id = schedule_id(&repo);
    let units = Units {
        id: &id,
        schedule: &schedule,
        command: &command,
        repo: &repo,
    };
    let backend = resolve(a.backend);
    let mut files = Vec::new();
    let mut crontab_line = None;
    let mut activated = !a.no_activate;
    match backend {
        Backend::Systemd => {
            let dir = systemd_dir(&home);
            std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
            let svc = dir.join(format!("{}.service", units.systemd_name()));
            let timer = dir.join(format!("{}.timer", units.systemd_name()));
            std::fs::write(&svc, units.systemd_service())?;
            std::fs::write(&timer, units.systemd_timer())?;
            files = vec![svc, timer];
            if !a.no_activate {
                activated = try_run(
                    Command::new("systemctl").args(["--user", "daemon-reload"]),
                    "systemctl --user daemon-reload",
                ) && try_run(
                    Command::new("systemctl").args([
                        "--user",
                        "enable",
                        "--now",
                        &format!("{}.timer", units.systemd_name()),
                    ]),
                    "systemctl --user enable --now",
                );
            }
        }
        Backend::Launchd => {
            let dir = home.join("Library").join("LaunchAgents");
            std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
            std::fs::create_dir_all(repo.join(".infrasnap").join("logs"))?;
            let plist = dir.join(format!("{}.plist", units.launchd_label()));
            std::fs::write(&plist, units.launchd_plist())?;
            files = vec![plist.clone()];
            if !a.no_activate {
                let uid = user_id();
                let _ = Command::new("launchctl")
                    .args(["bootout", &format!("gui/{uid}"), &plist.to_string_lossy()])
                    .stdin(Stdio::null())
                    .output();
                activated = try_run(
                    Command::new("launchctl").args([
                        "bootstrap",
                        &format!("gui/{uid}"),
                        &plist.to_string_lossy(),
                    ]),
                    "launchctl bootstrap",
                );
            }
        }
        Backend::Cron | Backend::Auto => {
            let line = units.crontab_line();
            if !a.no_activate {
                let mut tab = crontab_without(&read_crontab(), &id);
                tab.push_str(&line);
                tab.push('\n');
                activated = write_crontab(&tab);
            }
            crontab_line = Some(line);
        }
    }
    let now = chrono::Utc::now();
    let inst = Installed {
        backend,
        id: id.clone(),
        schedule,
        command: command.clone(),
        files: files.clone(),
        crontab_line: crontab_line.clone(),
        installed_at: now,
    };
    infrasnap_core::repo::write_atomic(&installed_path(&repo), &serde_json::to_vec_pretty(&inst)?)?;
    let mut st = Status::read(&repo)?;
    st.schedule = Some(schedule);
    st.next_run = Some(
        schedule
            .next_after(&now.with_timezone(&chrono::Local))
            .with_timezone(&chrono::Utc),
    );
    st.write(&repo)?;
    if g.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "installed": inst, "activated": activated, "next_run": st.next_run,
            }))?
        );
        return Ok(exit::OK);
    }
    println!(
        "Scheduled {} of {} ({:?}), next run {}.",
        schedule,
        repo.display(),
        backend,
        st.next_run
            .map(|n| n
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M %Z")
                .to_string())
            .unwrap_or_default()
    );
    for f in &files {
        println!("  wrote {}", f.display());
    }
    if let Some(l) = &crontab_line {
        println!("  crontab line: {l}");
    }
    if !activated {
        println!(
            "  not loaded{}: {}",
            if a.no_activate { " (--no-activate)" } else { "" },
            match backend {
                Backend::Systemd => format!(
                    "run `systemctl --user daemon-reload && systemctl --user enable --now {}.timer`",
                    units.systemd_name()
                ),
                Backend::Launchd => format!(
                    "run `launchctl bootstrap gui/$(id -u) {}`",
                    files[0].display()
                ),
                _ => "add the line above with `crontab -e`".into(),
            }
        );
    }
    println!(
        "Each run writes its log to {}",
        repo.join(".infrasnap/logs").display()
    );
    Ok(exit::OK)
}

fn user_id() -> u32 {
    std::fs::metadata(home().unwrap_or_default())
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(0)
}

fn status(g: &Global) -> anyhow::Result<u8> {
    let repo = repo_dir(g, None)?;
    let inst: Option<Installed> = std::fs::read(installed_path(&repo))
        .ok()
        .and_then(|raw| serde_json::from_slice(&raw).ok());
    let st = Status::read(&repo)?;
    let now = chrono::Utc::now();
    let present = inst
        .as_ref()
        .map(|i| i.files.iter().all(|f| f.is_file()))
        .unwrap_or(false);
    if g.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "installed": inst, "unit_files_present": present, "status": st,
                "overdue": st.overdue(now),
            }))?
        );
        return Ok(exit::OK);
    }
    match &inst {
        None => println!("No schedule installed for {}.", repo.display()),
        Some(i) => {
            println!("Schedule: {} ({:?}, id {})", i.schedule, i.backend, i.id);
            for f in &i.files {
                println!(
                    "  {} {}",
                    f.display(),
                    if f.is_file() { "" } else { "(MISSING)" }
                );
            }
            if let Some(l) = &i.crontab_line {
                println!("  crontab line: {l}");
            }
        }
    }
    match &st.last_run {
        Some(r) => println!(
            "Last run: {} ({:?}{}){}\n  log: {}",
            r.started_at
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M %Z"),
            r.result,
            r.snapshot
                .as_deref()
                .map(|s| format!(", snapshot {s}"))
                .unwrap_or_default(),
            if r.problems.is_empty() {
                String::new()
            } else {
                format!(": {}", r.problems.join("; "))
            },
            r.log.display()
        ),
        None => println!("Last run: none yet"),
    }
    if let Some(n) = st.next_run {
        println!(
            "Next run: {}{}",
            n.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M %Z"),
            if st.overdue(now) {
                " (OVERDUE: the scheduler has not run it)"
            } else {
                ""
            }
        );
    }
    Ok(exit::OK)
}

fn remove(g: &Global, a: RemoveArgs) -> anyhow::Result<u8> {
    let repo = repo_dir(g, None)?;
    let path = installed_path(&repo);
    let Some(inst) = std::fs::read(&path)
        .ok()
        .and_then(|raw| serde_json::from_slice::<Installed>(&raw).ok())
    else {
        return Ok(super::forget::fail(
            g,
            &format!("no schedule installed for {}", repo.display()),
            exit::FAILED,
        ));
    };
    if !a.no_activate {
        match inst.backend {
            Backend::Systemd => {
                try_run(
                    Command::new("systemctl").args([
                        "--user",
                        "disable",
                        "--now",
                        &format!("infrasnap-{}.timer", inst.id),
                    ]),
                    "systemctl --user disable --now",
                );
            }
            Backend::Launchd => {
                if let Some(p) = inst.files.first() {
                    try_run(
                        Command::new("launchctl").args([
                            "bootout",
                            &format!("gui/{}", user_id()),
                            &p.to_string_lossy(),
                        ]),
                        "launchctl bootout",
                    );
                }
            }
            Backend::Cron | Backend::Auto => {
                write_crontab(&crontab_without(&read_crontab(), &inst.id));
            }
        }
    }
    for f in &inst.files {
        let _ = std::fs::remove_file(f);
    }
    std::fs::remove_file(&path)?;
    let mut st = Status::read(&repo)?;
    st.schedule = None;
    st.next_run = None;
    st.write(&repo)?;
    if g.json {
        println!("{}", serde_json::json!({ "removed": inst }));
    } else {
        println!(
            "Removed the schedule of {} ({:?}).",
            repo.display(),
            inst.backend
        );
    }
    Ok(exit::OK)
}

/// The output of one step of a scheduled run.
struct Step {
    code: i32,
    stdout: String,
}

/// Run this program with `args`, no TTY: stdin empty, stderr to the log, stdout captured (and
/// copied to the log).
fn step(log: &mut std::fs::File, log_path: &Path, args: &[String]) -> anyhow::Result<Step> {
    let exe = std::env::current_exe()?;
    writeln!(log, "\n$ infrasnap {}", args.join(" "))?;
    log.flush()?;
    let out = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stderr(std::fs::OpenOptions::new().append(true).open(log_path)?)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    log.write_all(stdout.as_bytes())?;
    let code = out.status.code().unwrap_or(-1);
    writeln!(log, "(exit {code})")?;
    Ok(Step { code, stdout })
}

pub fn run_scheduled(g: &Global, a: RunScheduledArgs) -> anyhow::Result<u8> {
    let started = chrono::Utc::now();
    let repo = repo_dir(g, a.config.as_deref())?;
    Repository::open_or_init(&repo)?;
    let cfg = super::snapshot::load_config(a.config.as_deref())?;
    let logs = repo.join(".infrasnap").join("logs");
    std::fs::create_dir_all(&logs)?;
    let log_path = logs.join(format!("{}.log", started.format("%Y-%m-%dT%H-%M-%S%.3fZ")));
    let mut log = std::fs::File::create(&log_path)?;
    writeln!(
        log,
        "infrasnap {} scheduled run of {} at {}",
        env!("CARGO_PKG_VERSION"),
        repo.display(),
        started.to_rfc3339()
    )?;
    let mut status = Status::read(&repo).unwrap_or_default();
    let previous_missed = status.previous_missed(started);
    let mut problems = Vec::new();
    if previous_missed {
        problems.push(format!(
            "the scheduled run expected at {} did not happen",
            status.next_run.map(|n| n.to_rfc3339()).unwrap_or_default()
        ));
    }
    let repo_s = repo.to_string_lossy().into_owned();
    let mut common = vec!["--repo".to_string(), repo_s, "--json".into()];
    let cfg_args: Vec<String> = a
        .config
        .iter()
        .flat_map(|c| ["--config".to_string(), c.to_string_lossy().into_owned()])
        .collect();
    // 1. The snapshot.
    let mut args = common.clone();
    args.push("snapshot".into());
    args.extend(cfg_args.iter().cloned());
    args.extend(["--wait-lock".to_string(), "3600".into()]);
    args.extend(a.snapshot.iter().cloned());
    let snap = step(&mut log, &log_path, &args)?;
    let parsed: serde_json::Value = serde_json::from_str(&snap.stdout).unwrap_or_default();
    let snapshot = parsed["snapshot"].as_str().map(str::to_string);
    let mut result = match snap.code {
        0 => RunResult::Complete,
        3 => RunResult::Partial,
        _ => RunResult::Failed,
    };
    match result {
        RunResult::Complete => {}
        RunResult::Partial => problems.push(format!(
            "snapshot {} is complete with errors (see its MANIFEST.md)",
            snapshot.as_deref().unwrap_or("?")
        )),
        RunResult::Failed => problems.push(format!(
            "the snapshot failed (exit {}): {}",
            snap.code,
            parsed["error"].as_str().unwrap_or("see the log")
        )),
    }
    // 2. Forget and prune by the policy.
    let (mut forgotten, mut freed) = (0, 0);
    if cfg.retention.is_some() {
        common.push("forget".into());
        common.extend(cfg_args.iter().cloned());
        common.extend(["--prune".to_string(), "--wait-lock".into(), "3600".into()]);
        let f = step(&mut log, &log_path, &common)?;
        let v: serde_json::Value = serde_json::from_str(&f.stdout).unwrap_or_default();
        if f.code == 0 {
            forgotten = v["forgotten"]
                .as_array()
                .map(|a| a.iter().filter(|x| x["removed"] == true).count() as u64)
                .unwrap_or(0);
            freed = v["prune"]["bytes_freed"].as_u64().unwrap_or(0);
        } else {
            problems.push(format!(
                "forget/prune failed (exit {}): {}",
                f.code,
                v["error"].as_str().unwrap_or("see the log")
            ));
            if result == RunResult::Complete {
                result = RunResult::Partial;
            }
        }
    } else {
        writeln!(
            log,
            "\nno [retention] in the config: nothing forgotten or pruned"
        )?;
    }
    let finished = chrono::Utc::now();
    let record = RunRecord {
        started_at: started,
        finished_at: finished,
        result,
        snapshot,
        problems,
        previous_missed,
        forgotten,
        bytes_freed: freed,
        log: log_path.clone(),
    };
    status.next_run = status.schedule.map(|s| {
        s.next_after(&finished.with_timezone(&chrono::Local))
            .with_timezone(&chrono::Utc)
    });
    status.last_run = Some(record.clone());
    status.write(&repo)?;
    // 3. Tell someone when it needs attention.
    if record.result != RunResult::Complete || previous_missed || !record.problems.is_empty() {
        if let Some(n) = &cfg.notify {
            let summary = serde_json::json!({
                "repo": repo, "host": hostname(), "run": record, "next_run": status.next_run,
            });
            writeln!(
                log,
                "\n$ sh -c {:?}   (notify; JSON summary on stdin)",
                n.command
            )?;
            log.flush()?;
            let child = Command::new("sh")
                .arg("-c")
                .arg(&n.command)
                .stdin(Stdio::piped())
                .stdout(std::fs::OpenOptions::new().append(true).open(&log_path)?)
                .stderr(std::fs::OpenOptions::new().append(true).open(&log_path)?)
                .spawn();
            match child {
                Ok(mut c) => {
                    if let Some(mut i) = c.stdin.take() {
                        let _ = i.write_all(serde_json::to_string_pretty(&summary)?.as_bytes());
                    }
                    let st = c.wait()?;
                    writeln!(log, "(notify exit {})", st.code().unwrap_or(-1))?;
                }
                Err(e) => writeln!(log, "notify command could not start: {e}")?,
            }
        }
    }
    writeln!(log, "\nresult: {:?}", record.result)?;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&record)?);
    } else if !g.quiet {
        println!(
            "Scheduled run {:?}{}; log {}",
            record.result,
            record
                .snapshot
                .as_deref()
                .map(|s| format!(", snapshot {s}"))
                .unwrap_or_default(),
            log_path.display()
        );
    }
    Ok(match record.result {
        RunResult::Complete => exit::OK,
        RunResult::Partial => exit::PARTIAL,
        RunResult::Failed => exit::FAILED,
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
