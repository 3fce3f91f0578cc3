//! Findings: risky setups flagged offline, as rules over a snapshot's catalog.
//!
//! A rule is a function over an [`Estate`] (one snapshot's documents, read through its catalog)
//! that returns [`Hit`]s: a rule id, a severity, the resource, the evidence (JSON pointers into
//! the resource's document and the values found there; a secret only by its location and
//! fingerprint, never its value) and what to do. [`assess`] runs every rule on a snapshot and on
//! the snapshots before it, and gives each finding its state against them: `new`, `persisting`,
//! `resolved` (present in the previous snapshot, gone now) or `regressed` (resolved once, back
//! now). Suppressions from `infrasnap.toml` ([`Suppression`]) are applied last; an expired one
//! no longer hides its finding.
//!
//! What lives here: the finding types, the rules (`rules/`), the lifecycle, suppressions and the
//! renderings (text, Markdown table data). What must not: any SDK, any network: everything is
//! read from the snapshot. "Now" is the snapshot's start time, so the same snapshot gives the
//! same findings whenever they are computed.
//!
//! ```no_run
//! use infrasnap_core::findings::{assess, Assess};
//! let repo = std::path::Path::new("snapshots");
//! let report = assess(&Assess {
//!     snapshot: repo.join("v2"),
//!     earlier: vec![repo.join("v1")],
//!     blobs: repo.join(".infrasnap/blobs"),
//!     fingerprinter: None,
//!     suppressions: vec![],
//!     name: None,
//!     as_of: None,
//! })?;
//! print!("{report}");
//! # Ok::<(), infrasnap_core::findings::FindingsError>(())
//! ```

pub mod estate;
pub mod render;
pub mod rules;
pub mod suppress;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::CoreError;
use crate::ids::ResourceId;
use crate::secrets::Fingerprinter;

pub use estate::{Env, Estate, Res};
pub use suppress::Suppression;

/// How many earlier snapshots are read to tell `regressed` from `new`.
pub const HISTORY: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum FindingsError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Diff(#[from] crate::diff::DiffError),
    #[error("infrasnap.toml: [[findings.suppress]] number {index}: {why}")]
    Suppression { index: usize, why: String },
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            _ => Err(format!("`{s}` is not a severity: use high, medium or low")),
        }
    }
}

/// A finding's state against the snapshots before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Not in any earlier snapshot read.
    New,
    /// In the previous snapshot too.
    Persisting,
    /// In an earlier snapshot, then gone, and back now.
    Regressed,
    /// In the previous snapshot, gone now.
    Resolved,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::Persisting => "persisting",
            State::Regressed => "regressed",
            State::Resolved => "resolved",
        }
    }
}

/// One field behind a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The resource the pointer is into, when it is not the finding's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// RFC 6901 pointer into the resource's document (or `part:<name>` then a pointer).
    pub pointer: String,
    /// The value there; for a secret, its fingerprint (`fp:...`), never the value.
    pub value: Value,
}

impl Evidence {
    pub fn at(pointer: impl Into<String>, value: impl Into<Value>) -> Evidence {
        Evidence {
            resource: None,
            pointer: pointer.into(),
            value: value.into(),
        }
    }
    pub fn of(resource: &ResourceId, pointer: impl Into<String>, value: impl Into<Value>) -> Self {
        Evidence {
            resource: Some(resource.to_string()),
            pointer: pointer.into(),
            value: value.into(),
        }
    }
}

/// What one rule found on one resource, before its state is known.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub rule: &'static str,
    pub severity: Severity,
    pub resource: ResourceId,
    pub label: Option<String>,
    pub title: String,
    pub evidence: Vec<Evidence>,
    pub action: String,
}

impl Hit {
    /// The stable id: rule id and resource id.
    pub fn id(&self) -> String {
        format!("{}@{}", self.rule, self.resource)
    }
}

/// A suppression that matched a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppressed {
    pub reason: String,
    pub expires: String,
    /// The suppression's date has passed: the finding counts again.
    pub expired: bool,
}

/// One finding of a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// `<rule>@<resource id>`: the same risk on the same resource has the same id in every
    /// snapshot.
    pub id: String,
    pub rule: String,
    pub severity: Severity,
    pub state: State,
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub title: String,
    pub evidence: Vec<Evidence>,
    /// What to do about it.
    pub action: String,
    /// The first snapshot of the run of snapshots that have it (persisting, regressed: this one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppressed>,
}

impl Finding {
    /// Does it count (for totals and `--fail-on`): not resolved, not under a live suppression.
    pub fn counts(&self) -> bool {
        self.state != State::Resolved && self.suppressed.as_ref().is_none_or(|s| s.expired)
    }
}

/// Totals of a report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub new: u64,
    pub regressed: u64,
    pub resolved: u64,
    pub suppressed: u64,
}

/// Every finding of one snapshot (`infrasnap findings --json`; docs/FORMAT.md section 27).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingsReport {
    pub report: String,
    pub version: u32,
    pub snapshot: String,
    /// The snapshot the states are against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// The rules' "now": the snapshot's start time (RFC 3339).
    pub as_of: String,
    pub counts: Counts,
    /// Counting ones first (by severity, then rule and resource), then suppressed, then resolved.
    pub findings: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl FindingsReport {
    /// The worst severity among findings that count.
    pub fn worst(&self) -> Option<Severity> {
        self.findings
            .iter()
            .filter(|f| f.counts())
            .map(|f| f.severity)
            .max()
    }

    /// Is there a counting finding at `at` or worse?
    pub fn fails(&self, at: Severity) -> bool {
        self.worst().is_some_and(|w| w >= at)
    }
}

/// What [`assess`] reads.
pub struct Assess {
    /// The snapshot folder.
    pub snapshot: PathBuf,
    /// Earlier snapshot folders, oldest first; the last is "the previous snapshot". At most
    /// [`HISTORY`] are read (the latest ones).
    pub earlier: Vec<PathBuf>,
    /// `<repo>/.infrasnap/blobs`.
    pub blobs: PathBuf,
    /// The repository's fingerprinter (`None`: rules that match redacted values to names are
    /// skipped).
    pub fingerprinter: Option<Fingerprinter>,
    pub suppressions: Vec<Suppression>,
    /// The snapshot's name and start time, for a folder without its metadata yet (a run's
    /// staging folder, before it is published).
    pub name: Option<String>,
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
}

/// The published snapshots of `repo` before `name` (all of them when `None`) that captured
/// something (not `failed`), oldest first: the history [`assess`] reads.
pub fn earlier_snapshots(
    repo: &crate::repo::Repository,
    name: Option<&str>,
) -> Result<Vec<PathBuf>, FindingsError> {
    let mut out = Vec::new();
    for m in repo.snapshots()? {
        if Some(m.name.as_str()) == name {
            break;
        }
        if m.status != crate::metadata::Status::Failed {
            out.push(repo.root().join(&m.name));
        }
    }
    Ok(out)
}

/// The findings of the snapshot folder `dir` (named `name`) of `repo`, against the published
/// snapshots before it, with the repository's fingerprinter. `as_of`: the start time, for a
/// folder whose metadata is not written yet.
pub fn assess_in_repo(
    repo: &crate::repo::Repository,
    dir: &std::path::Path,
    name: &str,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    suppressions: &[Suppression],
) -> Result<FindingsReport, FindingsError> {
    let meta = repo.root().join(".infrasnap");
    assess(&Assess {
        snapshot: dir.to_path_buf(),
        earlier: earlier_snapshots(repo, Some(name))?,
        blobs: meta.join("blobs"),
        fingerprinter: Fingerprinter::for_repository(&meta).ok(),
        suppressions: suppressions.to_vec(),
        name: Some(name.to_string()),
        as_of,
    })
}

/// Run every rule on a snapshot and the snapshots before it.
pub fn assess(a: &Assess) -> Result<FindingsReport, FindingsError> {
    suppress::validate(&a.suppressions)?;
    let mut current = Estate::load(&a.snapshot, &a.blobs, None)?;
    current.fingerprinter = a.fingerprinter.clone();
    if let Some(n) = &a.name {
        current.name = n.clone();
    }
    if let Some(t) = a.as_of {
        current.as_of = t;
    }
    let skip = a.earlier.len().saturating_sub(HISTORY);
    let mut earlier = Vec::new();
    for dir in &a.earlier[skip..] {
        let mut e = Estate::load(dir, &a.blobs, None)?;
        e.fingerprinter = a.fingerprinter.clone();
        earlier.push(e);
    }
    Ok(assess_estates(&current, &earlier, &a.suppressions))
}

/// [`assess`] over estates in memory: `earlier` oldest first.
pub fn assess_estates(
    current: &Estate,
    earlier: &[Estate],
    suppressions: &[Suppression],
) -> FindingsReport {
    let hits = rules::evaluate(current, earlier);
    let history: Vec<(String, BTreeMap<String, Hit>)> = earlier
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let hits = rules::evaluate(e, &earlier[..i]);
            (
                e.name.clone(),
                hits.into_iter().map(|h| (h.id(), h)).collect(),
            )
        })
        .collect();
    lifecycle(current, hits, &history, suppressions)
}

/// Give each hit its state against `history` (oldest first, the last is the previous snapshot),
/// add the resolved ones, apply suppressions, count and sort.
pub fn lifecycle(
    current: &Estate,
    hits: Vec<Hit>,
    history: &[(String, BTreeMap<String, Hit>)],
    suppressions: &[Suppression],
) -> FindingsReport {
    let as_of = current.as_of;
    let mut findings = Vec::new();
    let now_ids: BTreeSet<String> = hits.iter().map(Hit::id).collect();
    for h in hits {
        let id = h.id();
        let (state, since) = match history.last() {
            Some((prev, ph)) if ph.contains_key(&id) => {
                // Back through the run of snapshots that have it.
                let mut since = prev.clone();
                for (name, hh) in history.iter().rev() {
                    if hh.contains_key(&id) {
                        since = name.clone();
                    } else {
                        break;
                    }
                }
                (State::Persisting, Some(since))
            }
            Some(_) if history.iter().any(|(_, hh)| hh.contains_key(&id)) => {
                (State::Regressed, Some(current.name.clone()))
            }
            _ => (State::New, Some(current.name.clone())),
        };
        findings.push(finding(h, state, since));
    }
    if let Some((_, prev)) = history.last() {
        for (id, h) in prev {
            if now_ids.contains(id) {
                continue;
            }
            // Gone only if the resource is here, or its listing was read whole.
            if current.get(&h.resource).is_some() || current.covers(&h.resource) {
                findings.push(finding(h.clone(), State::Resolved, None));
            }
        }
    }
    let date = as_of.date_naive();
    for f in &mut findings {
        f.suppressed = suppress::matching(suppressions, f, date);
    }
    findings.sort_by(|a, b| {
        let key = |f: &Finding| {
            (
                f.state == State::Resolved,
                !f.counts(),
                std::cmp::Reverse(f.severity),
                f.rule.clone(),
                f.resource.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    let mut counts = Counts::default();
    for f in &findings {
        if f.state == State::Resolved {
            counts.resolved += 1;
            continue;
        }
        if !f.counts() {
            counts.suppressed += 1;
            continue;
        }
        match f.severity {
            Severity::High => counts.high += 1,
            Severity::Medium => counts.medium += 1,
            Severity::Low => counts.low += 1,
        }
        match f.state {
            State::New => counts.new += 1,
            State::Regressed => counts.regressed += 1,
            _ => {}
        }
    }
    let mut notes = Vec::new();
    if history.is_empty() {
        notes.push("no earlier snapshot: every finding is new".to_string());
    }
    FindingsReport {
        report: "findings".into(),
        version: 1,
        snapshot: current.name.clone(),
        previous: history.last().map(|(n, _)| n.clone()),
        as_of: as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        counts,
        findings,
        notes,
    }
}

fn finding(h: Hit, state: State, since: Option<String>) -> Finding {
    Finding {
        id: h.id(),
        rule: h.rule.to_string(),
        severity: h.severity,
        state,
        resource: h.resource.to_string(),
        label: h.label,
        title: h.title,
        evidence: h.evidence,
        action: h.action,
        since,
        suppressed: None,
    }
}
