//! The offline HTML report: one self-contained page about a snapshot (inventory, findings, the
//! diff against the previous snapshot, trends, and a map of DNS → CloudFront → origins → data).
//!
//! [`build`] gathers the data ([`Report`], Serialize); [`html::render`] writes the page: CSS, JS
//! and SVG inline, no network, no clock (the same snapshots give the same bytes), and bounded:
//! summaries and top-N lists, never one row per object, so a snapshot of a million objects
//! gives a page of the same size as one of a hundred.

pub mod graph;
pub mod html;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::diff::{self, DiffOptions, DiffReport, Selection};
use crate::findings::{self, rules, Estate, FindingsError, FindingsReport, Suppression};
use crate::manifest::{self, Table};
use crate::metadata::SnapshotMetadata;
use crate::repo::Repository;
use crate::secrets::Fingerprinter;

/// Snapshots shown in the trends (the latest ones, this one included).
pub const TREND_SNAPSHOTS: usize = 10;
/// Rows of the "largest" lists.
pub const TOP: usize = 20;
/// Changed resources listed per kind in the diff section (all are counted).
pub const DIFF_LISTED: usize = 50;

/// One row of an inventory table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InvRow {
    pub key: String,
    pub count: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Inventory {
    pub by_kind: Vec<InvRow>,
    pub by_account: Vec<InvRow>,
    pub by_region: Vec<InvRow>,
    /// The largest buckets: (name, objects, bytes).
    pub largest_buckets: Vec<(String, u64, u64)>,
    pub resources: u64,
    pub bytes: u64,
}

/// One snapshot in the trends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    pub snapshot: String,
    pub resources: u64,
    pub bytes: u64,
    pub findings: u64,
}

/// Everything the page shows.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub snapshot: String,
    pub meta: Option<SnapshotMetadata>,
    pub previous: Option<String>,
    pub inventory: Inventory,
    pub findings: FindingsReport,
    pub diff: Option<DiffReport>,
    pub trends: Vec<TrendPoint>,
    pub graph: graph::Graph,
    /// MANIFEST.md's tables, as data.
    pub captured: Option<Table>,
    pub errors: Option<Table>,
}

/// Gather the report of the snapshot `name` of `repo`.
pub fn build(
    repo: &Repository,
    name: &str,
    suppressions: &[Suppression],
) -> Result<Report, FindingsError> {
    findings::suppress::validate(suppressions)?;
    let meta_dir = repo.root().join(".infrasnap");
    let blobs = meta_dir.join("blobs");
    let fp = Fingerprinter::for_repository(&meta_dir).ok();
    let dir = repo.root().join(name);
    let earlier_dirs = findings::earlier_snapshots(repo, Some(name))?;
    let skip = earlier_dirs.len().saturating_sub(findings::HISTORY);
    let mut earlier: Vec<Estate> = Vec::new();
    for d in &earlier_dirs[skip..] {
        let mut e = Estate::load(d, &blobs, None)?;
        e.fingerprinter = fp.clone();
        earlier.push(e);
    }
    let mut current = Estate::load(&dir, &blobs, None)?;
    current.fingerprinter = fp;
    let findings = findings::assess_estates(&current, &earlier, suppressions);

    let mut trends = Vec::new();
    let from = earlier.len().saturating_sub(TREND_SNAPSHOTS - 1);
    for i in from..earlier.len() {
        let e = &earlier[i];
        trends.push(TrendPoint {
            snapshot: e.name.clone(),
            resources: e.resources.len() as u64,
            bytes: e.resources.iter().map(|r| r.bytes).sum(),
            findings: rules::evaluate(e, &earlier[..i]).len() as u64,
        });
    }
    trends.push(TrendPoint {
        snapshot: current.name.clone(),
        resources: current.resources.len() as u64,
        bytes: current.resources.iter().map(|r| r.bytes).sum(),
        findings: findings
            .findings
            .iter()
            .filter(|f| f.state != findings::State::Resolved)
            .count() as u64,
    });

    let previous = earlier_dirs.last().cloned();
    let diff = match &previous {
        Some(p) => Some(diff::diff_snapshots(
            p,
            &dir,
            &blobs,
            &Selection::default(),
            &DiffOptions {
                content: false,
                max_listed: DIFF_LISTED,
            },
        )?),
        None => None,
    };
    let meta = repo.metadata(&name.parse()?).ok();
    let graph = graph::build(&current, &findings);
    Ok(Report {
        snapshot: current.name.clone(),
        captured: meta.as_ref().map(manifest::captured_table),
        errors: meta.as_ref().map(manifest::errors_table),
        meta,
        previous: previous.map(|p: PathBuf| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        }),
        inventory: inventory(&current),
        findings,
        diff,
        trends,
        graph,
    })
}

/// Counts and bytes per kind, account and region; the largest buckets.
pub fn inventory(e: &Estate) -> Inventory {
    let mut kinds: BTreeMap<String, InvRow> = BTreeMap::new();
    let mut accounts: BTreeMap<String, InvRow> = BTreeMap::new();
    let mut regions: BTreeMap<String, InvRow> = BTreeMap::new();
    let mut inv = Inventory::default();
    for r in &e.resources {
        let add = |m: &mut BTreeMap<String, InvRow>, k: &str| {
            let row = m.entry(k.to_string()).or_insert_with(|| InvRow {
                key: k.to_string(),
                ..Default::default()
            });
            row.count += 1;
            row.bytes += r.bytes;
        };
        add(&mut kinds, &r.id.kind);
        add(
            &mut accounts,
            if r.id.account.is_empty() {
                "(local, Apps Script)"
            } else {
                &r.id.account
            },
        );
        add(
            &mut regions,
            if r.id.region.is_empty() {
                "(global)"
            } else {
                &r.id.region
            },
        );
        inv.resources += 1;
        inv.bytes += r.bytes;
    }
    let mut buckets: Vec<(String, u64, u64)> = e
        .of_kind("aws.s3.bucket")
        .map(|b| {
            (
                b.id.id.clone(),
                b.doc
                    .get("object_count")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                b.doc
                    .get("total_bytes")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
            )
        })
        .collect();
    buckets.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
    buckets.truncate(TOP);
    inv.largest_buckets = buckets;
    inv.by_kind = kinds.into_values().collect();
    inv.by_account = accounts.into_values().collect();
    inv.by_region = regions.into_values().collect();
    inv
}
