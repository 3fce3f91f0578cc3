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
    /// MANIFEST.md's per-source sections (`manifest.json`; none for older snapshots).
    pub sources: Vec<manifest::DataSection>,
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
        sources: manifest::ManifestData::read(&dir)
            .map(|d| d.sources)
            .unwrap_or_default(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Res;
    use serde_json::json;

    fn estate() -> Estate {
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let dist = |id: &str, comment: &str, origin: &str, path: &str| {
            Res::new(
                &format!("aws.cloudfront.distribution:1::{id}"),
                json!({"Id": id, "DomainName": format!("{}.cloudfront.net", id.to_lowercase()),
                       "DistributionConfig": {"Comment": comment, "Origins": {"Items": [
                           {"Id": "o", "DomainName": origin, "OriginPath": path}]}}}),
            )
        };
        let record = |name: &str, target: &str| {
            Res::new(
                &format!("aws.route53.record_set:1::Z1/{name}./CNAME"),
                json!({"Name": format!("{name}."), "Type": "CNAME", "ResourceRecords": [{"Value": target}]}),
            )
        };
        let mut b = Res::new(
            "aws.s3.bucket:1::acme-www-prod",
            json!({"name": "acme-www-prod", "object_count": 1_000_000u64, "total_bytes": 5_000_000_000u64, "config": {}}),
        );
        b.bytes = 5_000_000_000;
        Estate::new(
            "now",
            t,
            vec![
                b,
                Res::new("aws.s3.bucket:1::<script>x", json!({"config": {}})),
                dist("EPROD", "prod site", "acme-www-prod.s3.amazonaws.com", ""),
                dist(
                    "ESTG",
                    "staging site",
                    "acme-www-prod.s3.amazonaws.com",
                    "/_staging",
                ),
                record("www.acme.com", "eprod.cloudfront.net"),
                record("staging.acme.com", "estg.cloudfront.net"),
                record("old.acme.com", "d999.cloudfront.net"),
            ],
        )
    }

    fn report(e: &Estate) -> Report {
        let findings = findings::assess_estates(e, &[], &[]);
        Report {
            snapshot: e.name.clone(),
            meta: None,
            previous: None,
            inventory: inventory(e),
            graph: graph::build(e, &findings),
            trends: vec![TrendPoint {
                snapshot: "now".into(),
                resources: e.resources.len() as u64,
                bytes: 5,
                findings: findings.findings.len() as u64,
            }],
            findings,
            diff: None,
            captured: None,
            errors: None,
            sources: vec![manifest::DataSection {
                title: "S3".into(),
                blocks: {
                    let mut b = manifest::Blocks::default();
                    b.heading("Buckets (1)")
                        .table(Table::with_rows(
                            &["Bucket", "Objects"],
                            vec![vec!["`acme-www-prod`".into(), "3".into()]],
                        ))
                        .text("Keys in `_infrasnap_escaped/` <escaped> and a lone ` tick.")
                        .list(vec!["`a`: b".into()]);
                    b
                },
            }],
        }
    }

    #[test]
    fn the_page_is_deterministic_escaped_and_draws_the_staging_path_into_prod() {
        let e = estate();
        let a = html::render(&report(&e));
        assert_eq!(a, html::render(&report(&e)), "same input, same bytes");
        assert!(!a.contains("<script>x"), "names are escaped");
        assert!(a.contains("&lt;script&gt;x"));
        assert!(!a.contains("src=\"http") && !a.contains("<link"));
        // Prod and staging panels, side by side; the staging distribution's origin is the prod
        // bucket, joined by a cross-environment edge; the record on a missing distribution is
        // dangling.
        assert!(a.contains("data-env=\"prod\"") && a.contains("data-env=\"nonprod\""));
        assert!(
            a.contains("class=\"node kind-cloudfront env-nonprod\" data-key=\"cf:ESTG\""),
            "{a}"
        );
        assert!(a.contains(
            "class=\"edge cross-env\" data-from=\"cf:ESTG\" data-to=\"bucket:acme-www-prod\""
        ));
        assert!(a.contains("class=\"edge dangling\""));
        assert!(a.contains("1000000 objects"));
        for h in [
            "Summary",
            "Estate map",
            "Inventory",
            "Findings",
            "Trends",
            "Sources",
        ] {
            assert!(a.contains(&format!(">{h}")), "{h}");
        }
        // MANIFEST.md's source sections, from the same data: code spans, escaping, lists.
        assert!(a.contains("<h3>S3</h3>\n<h4>Buckets (1)</h4>"), "{a}");
        assert!(a.contains("<td><code>acme-www-prod</code></td><td>3</td>"));
        assert!(a.contains(
            "<p>Keys in <code>_infrasnap_escaped/</code> &lt;escaped&gt; and a lone ` tick.</p>"
        ));
        assert!(a.contains("<ul><li><code>a</code>: b</li></ul>"));
    }

    /// A snapshot `name` of one bucket of `n` objects (every `changed_every`-th one different).
    fn big_snapshot(repo: &Repository, name: &str, hour: u32, n: usize, changed_every: usize) {
        use std::io::Write;
        let dir = repo.root().join(name);
        std::fs::create_dir_all(dir.join("catalog")).unwrap();
        std::fs::create_dir_all(dir.join("index/s3_buckets")).unwrap();
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(dir.join("index/s3_buckets/big.jsonl")).unwrap(),
        );
        for i in 0..n {
            let key = format!("assets/{:04}/file-{i:08}.html", i / 1000);
            let v = usize::from(changed_every > 0 && i % changed_every == 0);
            let blob = crate::ids::BlobId::of(format!("{key}{v}").as_bytes());
            let line = json!({"key": key, "size": 10, "etag": format!("\"{}\"", &blob.to_hex()[..32]),
                "last_modified": "2026-01-01T00:00:00Z", "storage_class": "STANDARD",
                "content_type": "text/html", "metadata": {"build": "1234"},
                "blob": blob, "path": format!("s3_buckets/big/{key}")});
            writeln!(w, "{line}").unwrap();
        }
        w.flush().unwrap();
        let doc = json!({"name": "big", "region": "us-east-1", "object_count": n, "total_bytes": n * 10,
            "config": {"versioning": {"state": "present", "value": {"Status": "Enabled"}}}});
        let bytes = serde_json::to_vec_pretty(&doc).unwrap();
        let st = repo.store().put_bytes(&bytes).unwrap();
        let rec = crate::catalog::CatalogRecord {
            id: "aws.s3.bucket:1::big".parse().unwrap(),
            label: None,
            path: Some("s3_bucket_config/big.json".into()),
            blob: st.id,
            size: bytes.len() as u64,
            digest: "same".into(),
            parts: BTreeMap::new(),
            index: Some("index/s3_buckets/big.jsonl".into()),
            incomplete: false,
        };
        std::fs::write(
            dir.join("catalog/resources.jsonl"),
            format!("{}\n", serde_json::to_string(&rec).unwrap()),
        )
        .unwrap();
        std::fs::write(
            dir.join("catalog/coverage.jsonl"),
            "{\"kind\":\"aws.s3.bucket\",\"account\":\"1\",\"region\":\"\",\"state\":\"complete\"}\n",
        )
        .unwrap();
        let t = format!("2026-12-01T{hour:02}:00:00Z");
        let meta = json!({"tool": "infrasnap", "tool_version": "0", "format_version": 2, "name": name,
            "started_at": t, "finished_at": t, "duration_seconds": 1.0, "status": "complete",
            "regions": [], "totals": crate::metadata::Totals::default(), "collectors": {}});
        std::fs::write(
            dir.join("snapshot_metadata.json"),
            serde_json::to_vec(&meta).unwrap(),
        )
        .unwrap();
    }

    /// Report on a snapshot of a bucket of 1M objects, diffed against the one before (1%
    /// changed): under 10 s (release build), and the page stays small.
    #[test]
    #[ignore = "scale check: cargo test --release -p infrasnap-core --lib -- --ignored a_million_object_report"]
    fn a_million_object_report_is_fast_and_small() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Repository::open_or_init(&tmp.path().join("repo")).unwrap();
        big_snapshot(&repo, "a", 1, 1_000_000, 0);
        big_snapshot(&repo, "b", 2, 1_000_000, 100);
        let t0 = std::time::Instant::now();
        let r = build(&repo, "b", &[]).unwrap();
        let page = html::render(&r);
        let took = t0.elapsed();
        eprintln!(
            "report of a 1M-object snapshot: {took:?}, {} bytes",
            page.len()
        );
        let d = r.diff.as_ref().unwrap();
        assert_eq!(d.counts.modified, 1);
        assert!(page.contains("10000 changed"), "the diff is summarised");
        assert!(page.len() < 200_000, "{} bytes", page.len());
        assert!(took < std::time::Duration::from_secs(10), "{took:?}");
    }
}
