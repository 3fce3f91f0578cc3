//! Retention: which snapshots a policy keeps and which it forgets, and why. A pure function:
//! snapshots and rules in, a [`RetentionPlan`] out; `forget` prints the plan and, without
//! `--dry-run`, removes what it says. Nothing here touches the disk.
//!
//! The rules are restic's (`internal/data/snapshot_policy.go`), so people who know restic know
//! them, and its golden test cases are ported here (`restic_golden.txt`):
//!
//! - `keep_last N`: the N newest snapshots;
//! - `keep_hourly/daily/weekly/monthly/yearly N`: for the N newest hours (days, ISO weeks, months,
//!   years) that have a snapshot, the newest snapshot of each; while counts are left after the
//!   oldest period, the oldest snapshot too ("oldest daily snapshot");
//! - `keep_within 30d`: every snapshot taken within 30 days of the newest snapshot (not of now);
//! - `keep_within_hourly/daily/... 30d`: the newest snapshot of each period within that span;
//! - `keep_label 'v*'`: every snapshot whose label matches the glob (restic's `--keep-tag`).
//!
//! Calendar periods are those of each snapshot's own time (the CLI passes local time). A snapshot
//! needs one rule to be kept. On top of restic's rules:
//!
//! - snapshots that are complete with errors (`partial`) count toward `keep_last` and the period
//!   rules only with `count_partial = true`; then a complete snapshot of a period is still
//!   preferred over a newer partial one. `keep_within` and `keep_label` keep them as any other;
//! - a `failed` run (nothing captured) counts toward no rule but `keep_label`;
//! - never forgotten, whatever the rules: the newest complete snapshot, and a snapshot a running
//!   command reads (see `readers.rs`);
//! - refused (an error, nothing removed): no rules at all, a negative count, a bad duration, and
//!   rules that keep none of the snapshots.

mod span;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};
use serde::{Deserialize, Serialize, Serializer};

use crate::diff::select::glob;
use crate::metadata::Status;

pub use span::Span;

/// Why a policy cannot be applied. Nothing is removed when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionError {
    #[error("bad duration `{text}`: {why} (examples: 30d, 8d, 1y6m, 13d23h)")]
    BadDuration { text: String, why: String },
    #[error("bad count `{text}` for {rule}: {why}")]
    BadCount {
        rule: String,
        text: String,
        why: String,
    },
    #[error("bad label pattern for keep-label: {why}")]
    BadLabel { why: String },
    #[error(
        "no retention rules given: pass at least one of --keep-last, --keep-hourly, --keep-daily, \
         --keep-weekly, --keep-monthly, --keep-yearly, --keep-within, --keep-label (or set them in \
         [retention] of infrasnap.toml); nothing was removed"
    )]
    NoRules,
    #[error(
        "the policy `{policy}` keeps none of the {count} snapshots{detail}; refusing to forget \
         every snapshot, nothing was removed. Check the rules (a label pattern that matches \
         nothing?){hint}"
    )]
    ForgetsEverything {
        policy: String,
        count: usize,
        detail: String,
        hint: String,
    },
}

/// How many periods (or snapshots) a rule keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    N(u32),
    /// `unlimited`: every period (restic's -1).
    Unlimited,
}

impl Count {
    fn is_active(&self) -> bool {
        *self != Count::N(0)
    }

    /// Parse a count given for `rule` (for the message).
    pub fn parse(text: &str, rule: &str) -> Result<Count, RetentionError> {
        let bad = |why: &str| RetentionError::BadCount {
            rule: rule.to_string(),
            text: text.to_string(),
            why: why.to_string(),
        };
        let t = text.trim();
        if t.eq_ignore_ascii_case("unlimited") || t.eq_ignore_ascii_case("all") {
            return Ok(Count::Unlimited);
        }
        if t.starts_with('-') {
            return Err(bad(
                "a count cannot be negative; give 0 or more, or `unlimited` to keep every period",
            ));
        }
        t.parse::<u32>()
            .map(Count::N)
            .map_err(|_| bad("give a whole number of 0 or more, or `unlimited`"))
    }
}

impl FromStr for Count {
    type Err = RetentionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Count::parse(s, "the count")
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::N(n) => write!(f, "{n}"),
            Count::Unlimited => write!(f, "unlimited"),
        }
    }
}

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Count::N(n) => s.serialize_u32(*n),
            Count::Unlimited => s.serialize_str("unlimited"),
        }
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Int(n) => n.to_string(),
            Raw::Text(t) => t,
        };
        Count::parse(&text, "a keep_* count").map_err(serde::de::Error::custom)
    }
}

/// A retention policy: `[retention]` of infrasnap.toml, or `forget`'s flags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_hourly: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_daily: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_weekly: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_monthly: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_yearly: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_within: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_within_hourly: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_within_daily: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_within_weekly: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_within_monthly: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_within_yearly: Option<Span>,
    /// Globs on snapshot labels (`*` any run of characters, `?` one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep_label: Vec<String>,
    /// Snapshots complete with errors count toward keep_last and the period rules.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub count_partial: bool,
}

/// The calendar periods of the period rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Not a period: every snapshot is its own (keep_last).
    Last,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Period {
    fn name(&self) -> &'static str {
        match self {
            Period::Last => "last",
            Period::Hourly => "hourly",
            Period::Daily => "daily",
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
            Period::Yearly => "yearly",
        }
    }

    /// The period a time falls in, as restic numbers it (`YYYYMMDDHH`, `YYYYWW`, ...); `nr` is
    /// the snapshot's position, its own period for keep_last.
    fn of(&self, t: &DateTime<FixedOffset>, nr: usize) -> i64 {
        let (y, m, d, h) = (
            t.year() as i64,
            t.month() as i64,
            t.day() as i64,
            t.hour() as i64,
        );
        match self {
            Period::Last => nr as i64,
            Period::Hourly => y * 1_000_000 + m * 10_000 + d * 100 + h,
            Period::Daily => y * 10_000 + m * 100 + d,
            Period::Weekly => {
                let w = t.iso_week();
                w.year() as i64 * 100 + w.week() as i64
            }
            Period::Monthly => y * 100 + m,
            Period::Yearly => y,
        }
    }
}

impl Policy {
    fn counts(&self) -> [(Period, Option<Count>); 6] {
        [
            (Period::Last, self.keep_last),
            (Period::Hourly, self.keep_hourly),
            (Period::Daily, self.keep_daily),
            (Period::Weekly, self.keep_weekly),
            (Period::Monthly, self.keep_monthly),
            (Period::Yearly, self.keep_yearly),
        ]
    }

    fn withins(&self) -> [(Period, Option<Span>); 5] {
        [
            (Period::Hourly, self.keep_within_hourly),
            (Period::Daily, self.keep_within_daily),
            (Period::Weekly, self.keep_within_weekly),
            (Period::Monthly, self.keep_within_monthly),
            (Period::Yearly, self.keep_within_yearly),
        ]
    }

    /// No rule that could keep anything (restic's "empty policy").
    pub fn is_empty(&self) -> bool {
        self.counts()
            .iter()
            .all(|(_, c)| c.is_none_or(|c| !c.is_active()))
            && self.keep_within.is_none_or(|s| s.is_zero())
            && self
                .withins()
                .iter()
                .all(|(_, s)| s.is_none_or(|s| s.is_zero()))
            && self.keep_label.is_empty()
    }

    /// Check what parsing cannot: label patterns.
    pub fn validate(&self) -> Result<(), RetentionError> {
        for p in &self.keep_label {
            if p.trim().is_empty() {
                return Err(RetentionError::BadLabel {
                    why: "an empty pattern matches no label; give a glob such as 'v*'".into(),
                });
            }
        }
        Ok(())
    }
}

impl fmt::Display for Policy {
    /// restic's "Applying Policy" sentence: `keep 7 daily, 4 weekly snapshots, all snapshots
    /// within 30d of the newest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keeps: Vec<String> = self
            .counts()
            .iter()
            .filter_map(|(p, c)| {
                let name = if *p == Period::Last {
                    "latest"
                } else {
                    p.name()
                };
                match (*c)? {
                    Count::N(0) => None,
                    Count::N(n) => Some(format!("{n} {name}")),
                    Count::Unlimited => Some(format!("all {name}")),
                }
            })
            .collect();
        let mut parts = Vec::new();
        if !keeps.is_empty() {
            parts.push(format!("{} snapshots", keeps.join(", ")));
        }
        for (p, s) in self.withins() {
            if let Some(s) = s.filter(|s| !s.is_zero()) {
                parts.push(format!("{} snapshots within {s}", p.name()));
            }
        }
        if !self.keep_label.is_empty() {
            parts.push(format!(
                "all snapshots labelled {}",
                self.keep_label
                    .iter()
                    .map(|p| format!("'{p}'"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ));
        }
        if let Some(s) = self.keep_within.filter(|s| !s.is_zero()) {
            parts.push(format!("all snapshots within {s} of the newest"));
        }
        if parts.is_empty() {
            return write!(f, "remove");
        }
        write!(f, "keep {}", parts.join(", "))?;
        if self.count_partial {
            write!(f, " (complete with errors counts)")?;
        }
        Ok(())
    }
}

/// One snapshot as retention sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub name: String,
    /// When the run started, in the time zone whose calendar the periods follow.
    pub time: DateTime<FixedOffset>,
    pub status: Status,
    pub label: Option<String>,
    /// A running command reads this snapshot (who: `verify (pid 123)`).
    pub in_use: Option<String>,
}

/// Why a snapshot is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// keep_last or a period rule; `oldest`: kept as the oldest snapshot while counts were left.
    Period { period: Period, oldest: bool },
    /// keep_within.
    Within(Span),
    /// keep_within_<period>.
    WithinPeriod {
        period: Period,
        span: Span,
        oldest: bool,
    },
    /// keep_label: the pattern that matched.
    Label(String),
    /// Never forgotten: the newest complete snapshot.
    NewestComplete,
    /// Never forgotten: a running command reads it.
    InUse(String),
}

impl fmt::Display for Reason {
    /// restic's wording ("daily snapshot", "oldest monthly snapshot", "within 30d",
    /// "daily within 7d"), plus infrasnap's own.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let oldest = |o: bool| if o { "oldest " } else { "" };
        match self {
            Reason::Period { period, oldest: o } => {
                write!(f, "{}{} snapshot", oldest(*o), period.name())
            }
            Reason::Within(s) => write!(f, "within {s}"),
            Reason::WithinPeriod {
                period,
                span,
                oldest: o,
            } => write!(f, "{}{} within {span}", oldest(*o), period.name()),
            Reason::Label(p) => write!(f, "label matches '{p}'"),
            Reason::NewestComplete => write!(f, "newest complete snapshot"),
            Reason::InUse(who) => write!(f, "in use by {who}"),
        }
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Keep,
    Forget,
}

/// The decision about one snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub name: String,
    pub time: DateTime<FixedOffset>,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub action: Action,
    /// Why it is kept (every rule that keeps it); empty when forgotten.
    pub reasons: Vec<Reason>,
    /// Why a forgotten snapshot is not kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a policy does to a repository's snapshots: one decision per snapshot, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionPlan {
    pub policy: String,
    pub decisions: Vec<Decision>,
}

impl RetentionPlan {
    pub fn kept(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|d| d.action == Action::Keep)
    }

    pub fn forgotten(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|d| d.action == Action::Forget)
    }
}

impl fmt::Display for RetentionPlan {
    /// A table for people: every snapshot, kept ones with their reasons.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Applying policy: {}", self.policy)?;
        let w = self
            .decisions
            .iter()
            .map(|d| d.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        writeln!(
            f,
            "{:<6}  {:<w$}  {:<16}  {:<20}  REASONS",
            "ACTION", "NAME", "STARTED", "STATUS"
        )?;
        for d in &self.decisions {
            let why = match d.action {
                Action::Keep => d
                    .reasons
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                Action::Forget => d.note.clone().unwrap_or_default(),
            };
            writeln!(
                f,
                "{:<6}  {:<w$}  {:<16}  {:<20}  {}",
                match d.action {
                    Action::Keep => "keep",
                    Action::Forget => "forget",
                },
                d.name,
                d.time.format("%Y-%m-%d %H:%M"),
                status_text(d.status),
                why.trim_end()
            )?;
        }
        write!(
            f,
            "{} kept, {} to forget",
            self.kept().count(),
            self.forgotten().count()
        )
    }
}

fn status_text(s: Status) -> &'static str {
    match s {
        Status::Complete => "complete",
        Status::Partial => "complete with errors",
        Status::Failed => "failed",
    }
}

/// Apply `policy` to `snapshots` (any order) at time `now`: the plan, oldest first. Refuses an
/// empty policy and one whose rules keep none of the snapshots.
pub fn plan(
    snapshots: &[Candidate],
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<RetentionPlan, RetentionError> {
    policy.validate()?;
    if policy.is_empty() {
        return Err(RetentionError::NoRules);
    }
    let sorted = newest_first(snapshots);
    let mut reasons = apply_rules(&sorted, policy, now);
    if !sorted.is_empty() && reasons.iter().all(Vec::is_empty) {
        let partial = sorted
            .iter()
            .filter(|s| s.status == Status::Partial)
            .count();
        let failed = sorted.iter().filter(|s| s.status == Status::Failed).count();
        let mut detail = String::new();
        let mut hint = String::new();
        if partial + failed == sorted.len() {
            detail =
                format!(" (none is complete: {partial} complete with errors, {failed} failed)");
            if partial > 0 && !policy.count_partial {
                hint = "; to let snapshots that are complete with errors count, pass \
                        --count-partial (count_partial = true in [retention])"
                    .into();
            }
        }
        return Err(RetentionError::ForgetsEverything {
            policy: policy.to_string(),
            count: sorted.len(),
            detail,
            hint,
        });
    }
    // What is never forgotten, whatever the rules say.
    if let Some(i) = sorted.iter().position(|s| s.status == Status::Complete) {
        reasons[i].push(Reason::NewestComplete);
    }
    for (i, s) in sorted.iter().enumerate() {
        if let Some(who) = &s.in_use {
            reasons[i].push(Reason::InUse(who.clone()));
        }
    }
    let mut decisions: Vec<Decision> = sorted
        .iter()
        .zip(reasons)
        .map(|(s, reasons)| {
            let keep = !reasons.is_empty();
            Decision {
                name: s.name.clone(),
                time: s.time,
                status: s.status,
                label: s.label.clone(),
                action: if keep { Action::Keep } else { Action::Forget },
                note: (!keep).then(|| forget_note(s, policy)),
                reasons,
            }
        })
        .collect();
    decisions.reverse();
    Ok(RetentionPlan {
        policy: policy.to_string(),
        decisions,
    })
}

fn forget_note(s: &Candidate, policy: &Policy) -> String {
    match s.status {
        Status::Failed => "failed run (captured nothing): counts toward no rule".into(),
        Status::Partial if !policy.count_partial => {
            "complete with errors: counts toward no period (see count_partial)".into()
        }
        _ => "no rule keeps it".into(),
    }
}

/// Newest first; snapshots of equal time keep their given order (restic's stable sort).
fn newest_first(snapshots: &[Candidate]) -> Vec<&Candidate> {
    let mut v: Vec<&Candidate> = snapshots.iter().collect();
    v.sort_by_key(|s| std::cmp::Reverse(s.time));
    v
}

/// restic's `ApplyPolicy` over `list` (newest first), with infrasnap's treatment of partial and
/// failed runs: the reasons each snapshot is kept (empty: forgotten). No safety rules here.
fn apply_rules(list: &[&Candidate], p: &Policy, now: DateTime<Utc>) -> Vec<Vec<Reason>> {
    let mut reasons: Vec<Vec<Reason>> = vec![Vec::new(); list.len()];
    if list.is_empty() {
        return reasons;
    }
    // The newest snapshot that is not in the future: what keep_within is measured from.
    let latest = list.iter().map(|s| s.time).filter(|t| *t < now).max();
    let within = |span: &Span, t: &DateTime<FixedOffset>| match latest {
        Some(l) => *t > span.before(&l),
        // Every snapshot is in the future: restic compares with the zero time.
        None => true,
    };
    // Labels are not counted.
    for (i, s) in list.iter().enumerate() {
        for pat in &p.keep_label {
            if s.label.as_deref().is_some_and(|l| glob(pat, l)) {
                reasons[i].push(Reason::Label(pat.clone()));
            }
        }
    }
    // keep_within: every snapshot that captured something, within the span of the newest.
    if let Some(span) = p.keep_within.filter(|s| !s.is_zero()) {
        for (i, s) in list.iter().enumerate() {
            if s.status != Status::Failed && within(&span, &s.time) {
                reasons[i].push(Reason::Within(span));
            }
        }
    }
    // Which snapshots the counting rules see.
    let eligible: Vec<usize> = (0..list.len())
        .filter(|&i| match list[i].status {
            Status::Complete => true,
            Status::Partial => p.count_partial,
            Status::Failed => false,
        })
        .collect();
    // The kept snapshot of each period, newest period first: the newest complete snapshot of
    // the period, else its newest one; `from` restricts to eligible positions.
    let representatives = |period: Period, from: &[usize]| -> Vec<usize> {
        let mut reps = Vec::new();
        let mut group: Vec<usize> = Vec::new();
        let mut last: Option<i64> = None;
        let flush = |group: &mut Vec<usize>, reps: &mut Vec<usize>| {
            if let Some(&first) = group.first() {
                let pick = group
                    .iter()
                    .copied()
                    .find(|&i| list[i].status == Status::Complete)
                    .unwrap_or(first);
                reps.push(pick);
            }
            group.clear();
        };
        for &i in from {
            let v = period.of(&list[i].time, i);
            if last != Some(v) {
                flush(&mut group, &mut reps);
                last = Some(v);
            }
            group.push(i);
        }
        flush(&mut group, &mut reps);
        reps
    };
    for (period, count) in p.counts() {
        let Some(count) = count.filter(Count::is_active) else {
            continue;
        };
        let mut left = count;
        let reps = representatives(period, &eligible);
        let mut kept_here = Vec::new();
        for r in reps {
            match left {
                Count::N(0) => break,
                Count::N(n) => left = Count::N(n - 1),
                Count::Unlimited => {}
            }
            reasons[r].push(Reason::Period {
                period,
                oldest: false,
            });
            kept_here.push(r);
        }
        // While counts are left, the oldest snapshot too: the longest history the counts allow.
        if left != Count::N(0) {
            if let Some(&oldest) = eligible.last() {
                if !kept_here.contains(&oldest) {
                    reasons[oldest].push(Reason::Period {
                        period,
                        oldest: true,
                    });
                }
            }
        }
    }
    for (period, span) in p.withins() {
        let Some(span) = span.filter(|s| !s.is_zero()) else {
            continue;
        };
        let inside: Vec<usize> = eligible
            .iter()
            .copied()
            .filter(|&i| within(&span, &list[i].time))
            .collect();
        let reps = representatives(period, &inside);
        for &r in &reps {
            reasons[r].push(Reason::WithinPeriod {
                period,
                span,
                oldest: false,
            });
        }
        if let Some(&oldest) = eligible.last() {
            if inside.contains(&oldest) && !reps.contains(&oldest) {
                reasons[oldest].push(Reason::WithinPeriod {
                    period,
                    span,
                    oldest: true,
                });
            }
        }
    }
    // restic lists a snapshot's reasons in rule order: labels, within, periods, within periods.
    reasons
}

#[cfg(test)]
mod tests;
