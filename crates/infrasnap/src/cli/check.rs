//! `infrasnap check --max-age 8d`: exit 6 when the newest complete snapshot is older than that
//! (or there is none), for any monitoring to call. Also shows the last scheduled run from
//! `<repo>/.infrasnap/status.json`.

use infrasnap_core::metadata::Status;
use infrasnap_core::retention::Span;
use infrasnap_core::schedule;

use super::Global;
use crate::exit;

#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    /// The oldest the newest complete snapshot may be: 8d, 36h, 1m
    #[arg(long, value_name = "SPAN")]
    pub max_age: String,
    /// Configuration file (for its `repo =`)
    #[arg(long, value_name = "FILE", env = "INFRASNAP_CONFIG")]
    pub config: Option<std::path::PathBuf>,
}

pub fn run(g: &Global, a: CheckArgs) -> anyhow::Result<u8> {
    let max: Span = match a.max_age.parse() {
        Ok(s) => s,
        Err(e) => {
            return Ok(super::forget::fail(
                g,
                &format!("--max-age: {e}"),
                exit::USAGE,
            ))
        }
    };
    let repo = super::open_repo(g, a.config.as_deref())?;
    let now = chrono::Utc::now();
    let limit = max.before(&now);
    let newest = repo
        .snapshots()?
        .into_iter()
        .rev()
        .find(|m| m.status == Status::Complete);
    let status = schedule::Status::read(repo.root()).unwrap_or_default();
    let fresh = newest.as_ref().is_some_and(|m| m.started_at >= limit);
    let age = newest.as_ref().map(|m| now - m.started_at);
    if g.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "ok": fresh,
                "max_age": max.to_string(),
                "newest_complete": newest.as_ref().map(|m| &m.name),
                "newest_complete_started_at": newest.as_ref().map(|m| m.started_at),
                "age_seconds": age.map(|a| a.num_seconds()),
                "status": status,
                "overdue": status.overdue(now),
            }))?
        );
    } else {
        match (&newest, age) {
            (Some(m), Some(age)) => println!(
                "{}: the newest complete snapshot, `{}`, started {} ago (limit {max})",
                if fresh { "OK" } else { "TOO OLD" },
                m.name,
                human_age(age)
            ),
            _ => println!(
                "TOO OLD: `{}` has no complete snapshot (limit {max})",
                repo.root().display()
            ),
        }
        if let Some(r) = &status.last_run {
            println!(
                "Last scheduled run: {} ({:?}){}",
                r.started_at.format("%Y-%m-%d %H:%M UTC"),
                r.result,
                if r.problems.is_empty() {
                    String::new()
                } else {
                    format!(": {}", r.problems.join("; "))
                }
            );
        }
        if let Some(n) = status.next_run {
            println!(
                "Next scheduled run: {}{}",
                n.format("%Y-%m-%d %H:%M UTC"),
                if status.overdue(now) {
                    " (OVERDUE)"
                } else {
                    ""
                }
            );
        }
    }
    Ok(if fresh { exit::OK } else { exit::STALE })
}

/// `9d 3h`, `5h 12m`, `40s`.
pub fn human_age(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    let (days, hours, mins) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {mins}m")
    } else if mins > 0 {
        format!("{mins}m")
    } else {
        format!("{s}s")
    }
}
