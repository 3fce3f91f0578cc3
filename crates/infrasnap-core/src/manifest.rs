//! MANIFEST.md: a snapshot described for people. Rendered from the same metadata programs read.
//!
//! Sections are data ([`DataSection`]: paragraphs, tables and lists as [`Block`]s), never
//! hand-built Markdown: the Markdown renderer here and the HTML report (`crate::report`) render
//! the same rows. Collectors hand their section over as [`Blocks`]; the snapshot keeps every
//! section in `manifest.json` ([`ManifestData`]) beside MANIFEST.md, so the report reads them back.
//!
//! Text (paragraphs, list items, table cells) is plain text in which a `` `span` `` marks code;
//! each renderer escapes the rest for its own format.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::metadata::{SnapshotMetadata, Status};

/// Extra per-source detail for the manifest: each source's section, then the findings.
#[derive(Debug, Default, Clone)]
pub struct ManifestDetail {
    /// Section title -> the source's blocks.
    pub sections: BTreeMap<String, Blocks>,
    /// Sections after the sources' (the findings).
    pub data: Vec<DataSection>,
}

impl ManifestDetail {
    /// Every section in MANIFEST.md's order, as `manifest.json` keeps them.
    pub fn to_data(&self) -> ManifestData {
        ManifestData {
            format: MANIFEST_DATA_FORMAT,
            sources: self
                .sections
                .iter()
                .map(|(title, blocks)| DataSection {
                    title: title.clone(),
                    blocks: blocks.clone(),
                })
                .collect(),
            after: self.data.clone(),
        }
    }
}

/// The version of `manifest.json`'s layout.
pub const MANIFEST_DATA_FORMAT: u32 = 1;

/// The file beside MANIFEST.md that holds its sections as data.
pub const MANIFEST_DATA_FILE: &str = "manifest.json";

/// `manifest.json`: MANIFEST.md's per-source and findings sections as data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManifestData {
    pub format: u32,
    /// One section per source (S3, Lambda, ...), titled as in MANIFEST.md.
    pub sources: Vec<DataSection>,
    /// The sections after them (the findings).
    #[serde(default)]
    pub after: Vec<DataSection>,
}

impl ManifestData {
    /// The `manifest.json` of the snapshot folder `dir`; none for a snapshot older than it.
    pub fn read(dir: &std::path::Path) -> Option<ManifestData> {
        let bytes = std::fs::read(dir.join(MANIFEST_DATA_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// One piece of a section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Block {
    /// A sub-heading inside the section.
    Heading(String),
    /// A paragraph.
    Text(String),
    Table(Table),
    /// A bulleted list.
    List(Vec<String>),
}

/// A section's pieces in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Blocks(pub Vec<Block>);

impl Blocks {
    pub fn heading(&mut self, s: impl Into<String>) -> &mut Self {
        self.0.push(Block::Heading(s.into()));
        self
    }

    pub fn text(&mut self, s: impl Into<String>) -> &mut Self {
        self.0.push(Block::Text(s.into()));
        self
    }

    pub fn table(&mut self, t: Table) -> &mut Self {
        self.0.push(Block::Table(t));
        self
    }

    /// A list; nothing for no items.
    pub fn list(&mut self, items: Vec<String>) -> &mut Self {
        if !items.is_empty() {
            self.0.push(Block::List(items));
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Block> {
        self.0.iter()
    }

    /// Markdown: blocks separated by a blank line.
    pub fn to_markdown(&self) -> String {
        let mut o = String::new();
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                o.push('\n');
            }
            match b {
                Block::Heading(h) => {
                    let _ = writeln!(o, "### {}", h.replace('\n', " "));
                }
                Block::Text(t) => {
                    let _ = writeln!(o, "{}", t.trim_end());
                }
                Block::Table(t) => o.push_str(&t.to_markdown()),
                Block::List(items) => {
                    for it in items {
                        let _ = writeln!(o, "- {}", it.replace('\n', " "));
                    }
                }
            }
        }
        o
    }
}

/// A table: header cells and rows of plain text (`` `code` `` spans allowed; renderers escape).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// A table with its rows.
    pub fn with_rows(headers: &[&str], rows: Vec<Vec<String>>) -> Table {
        let mut t = Table::new(headers);
        t.rows = rows;
        t
    }

    /// Markdown; "None found." for a table without rows.
    pub fn to_markdown(&self) -> String {
        if self.rows.is_empty() {
            return "None found.\n".into();
        }
        let mut o = String::new();
        let _ = writeln!(
            o,
            "| {} |",
            self.headers
                .iter()
                .map(|h| md_escape(h))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(o, "|{}", "---|".repeat(self.headers.len()));
        for r in &self.rows {
            let _ = writeln!(
                o,
                "| {} |",
                r.iter()
                    .map(|c| md_escape(c))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        o
    }
}

/// A titled section of paragraphs, tables and lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataSection {
    pub title: String,
    pub blocks: Blocks,
}

impl DataSection {
    pub fn to_markdown(&self) -> String {
        format!("## {}\n\n{}\n", self.title, self.blocks.to_markdown())
    }
}

/// The "Captured" table: one row per source.
pub fn captured_table(meta: &SnapshotMetadata) -> Table {
    let mut t = Table::new(&[
        "Source",
        "Status",
        "Counts",
        "Bytes",
        "New bytes",
        "Downloaded",
        "Errors",
        "Time",
    ]);
    for (name, c) in &meta.collectors {
        let counts: Vec<String> = c.counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        t.row(vec![
            name.clone(),
            c.status.map(|s| s.label()).unwrap_or("-").to_string(),
            counts.join(", "),
            human_bytes(c.bytes_total),
            human_bytes(c.bytes_new),
            c.objects_downloaded.to_string(),
            c.errors.len().to_string(),
            format!("{:.1} s", c.duration_seconds),
        ]);
    }
    t
}

/// The "Errors" table: one row per failed call.
pub fn errors_table(meta: &SnapshotMetadata) -> Table {
    let mut t = Table::new(&["Service", "Action", "Resource", "Code", "Message"]);
    for e in meta.all_errors() {
        t.row(vec![
            e.service.clone(),
            e.action.clone(),
            e.resource.clone(),
            e.code.clone().unwrap_or_else(|| "-".into()),
            e.message.clone(),
        ]);
    }
    t
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The scope in one line: `full` or `partial (--only lambda)`, then what it covered.
pub fn scope_line(scope: &crate::metadata::Scope) -> String {
    let mut parts = vec![scope.summary()];
    if !scope.services.is_empty() {
        parts.push(format!("services {}", scope.services.join(", ")));
    }
    if !scope.regions.is_empty() {
        parts.push(format!("regions {}", scope.regions.join(", ")));
    }
    if !scope.accounts.is_empty() {
        parts.push(format!("accounts {}", scope.accounts.join(", ")));
    }
    if !scope.buckets.is_empty() {
        parts.push(format!("buckets {}", scope.buckets.join(", ")));
    }
    if !scope.sources.is_empty() {
        parts.push(format!("sources {}", scope.sources.join(", ")));
    }
    parts.join("; ")
}

pub fn render(meta: &SnapshotMetadata, detail: &ManifestDetail) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# infrasnap snapshot `{}`\n", meta.name);
    let status = match meta.status {
        Status::Complete => "complete".to_string(),
        Status::Partial => format!(
            "complete with errors ({} failed calls, listed below)",
            meta.totals.errors
        ),
        Status::Failed => "FAILED (see errors below)".to_string(),
    };
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(o, "| Status | {status} |");
    if let Some(scope) = &meta.scope {
        let _ = writeln!(o, "| Scope | {} |", md_escape(&scope_line(scope)));
    }
    if let Some(l) = &meta.label {
        let _ = writeln!(o, "| Label | {} |", md_escape(l));
    }
    let _ = writeln!(
        o,
        "| Started | {} |",
        meta.started_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let _ = writeln!(o, "| Duration | {:.1} s |", meta.duration_seconds);
    let _ = writeln!(
        o,
        "| Account | {} |",
        meta.account_id.as_deref().unwrap_or("unknown")
    );
    if let Some(a) = &meta.caller_arn {
        let _ = writeln!(o, "| Identity | `{a}` |");
    }
    if !meta.regions.is_empty() {
        let _ = writeln!(o, "| Regions | {} |", meta.regions.join(", "));
    }
    if let Some(e) = &meta.endpoint {
        let _ = writeln!(o, "| Endpoint | {e} |");
    }
    if !meta.organization_accounts.is_empty() {
        let captured = meta
            .organization_accounts
            .iter()
            .filter(|a| a.captured)
            .count();
        let _ = writeln!(
            o,
            "| Organization | {} accounts, {captured} captured here (`organization_accounts` in \
             snapshot_metadata.json) |",
            meta.organization_accounts.len()
        );
    }
    let _ = writeln!(
        o,
        "| Parent snapshot | {} |",
        meta.parent.as_deref().unwrap_or("none (first snapshot)")
    );
    let _ = writeln!(
        o,
        "| Objects | {} ({}) |",
        meta.totals.objects,
        human_bytes(meta.totals.bytes)
    );
    let _ = writeln!(
        o,
        "| New data stored | {} in {} new blobs |",
        human_bytes(meta.totals.bytes_new),
        meta.totals.blobs_new
    );
    let _ = writeln!(
        o,
        "| Tool | {} {} (format {}) |\n",
        meta.tool, meta.tool_version, meta.format_version
    );

    let _ = writeln!(o, "## Captured\n");
    o.push_str(&captured_table(meta).to_markdown());
    o.push('\n');
    let data = detail.to_data();
    for d in data.sources.iter().chain(&data.after) {
        o.push_str(&d.to_markdown());
    }

    if !meta.notes.is_empty() {
        let _ = writeln!(o, "## Notes\n");
        for n in &meta.notes {
            let _ = writeln!(o, "- {}", md_escape(n));
        }
        o.push('\n');
    }

    let errors: Vec<_> = meta.all_errors().collect();
    if !errors.is_empty() {
        let _ = writeln!(o, "## Errors\n");
        o.push_str(&errors_table(meta).to_markdown());
        let mut denied: Vec<&str> = errors
            .iter()
            .filter(|e| {
                e.code
                    .as_deref()
                    .is_some_and(|c| c.starts_with("AccessDenied"))
            })
            .map(|e| e.action.as_str())
            .collect();
        denied.sort();
        denied.dedup();
        if !denied.is_empty() {
            let _ = writeln!(
                o,
                "\nAccess was denied for these actions. To capture them, grant:\n\n```json\n{}\n```",
                serde_json::to_string_pretty(&serde_json::json!({
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": denied, "Resource": "*"}]
                }))
                .expect("json")
            );
        }
        o.push('\n');
    }

    let _ = writeln!(o, "## Layout\n");
    let has = |name: &str| {
        meta.collectors
            .keys()
            .any(|k| k == name || k.starts_with(&format!("{name}:")))
    };
    let _ = writeln!(
        o,
        "Every account-wide and regional folder has the account id in its path (`<account>`), \
         and regional ones the region after it: nothing moves when a second account is added."
    );
    let _ = writeln!(o);
    let layout: [(&str, &str); 14] = [
        (
            "s3",
            "- `s3_buckets/<bucket>/<key>`: each object as a plain, read-only file (keys that cannot \
             be file paths are under `_infrasnap_escaped/`; the index maps them back); \
             `s3_bucket_config/<bucket>.json`: region and every bucket setting.",
        ),
        (
            "dynamodb",
            "- `dynamodb_tables/<account>/<region>/<table>/`: `table.json` (keys, indexes, TTL, PITR, tags) and \
             the items in `data/*.json.gz` (DynamoDB JSON lines, as DynamoDB exports them).",
        ),
        (
            "route53",
            "- `route53_zones/<account>/<zone name>_<zone id>/`: `zone.json`, `records.json` and a \
             BIND zone file; `route53_zones/<account>/health_checks.json`.",
        ),
        (
            "iam",
            "- `iam/<account>/`: roles, customer managed policies, users, groups (no secrets), \
             instance profiles, identity providers.",
        ),
        (
            "acm",
            "- `acm_certificates/<account>/<region>/`: each certificate's description and its \
             chain (no private key).",
        ),
        (
            "ses",
            "- `ses/<account>/<region>/`: identities, configuration sets, templates, account \
             status.",
        ),
        (
            "ssm",
            "- `ssm_parameters/<account>/<region>/`, `secrets_manager/<account>/<region>/`: \
             parameters and secrets with keyed fingerprints of secret values, never the values.",
        ),
        (
            "cloudfront",
            "- `cloudfront_distributions/<account>/`: each distribution's full config, \
             `distribution_summary.csv`, access controls, functions, policies.",
        ),
        (
            "lambda",
            "- `lambda_functions/<account>/<region>/`: `function_config/<name>.json` (configuration, \
             versions, aliases, policy, triggers, URL, concurrency, tags), `function_code/<name>.zip`, \
             `function_env_vars/<name>.json` (names and fingerprints, never values), `layers/`.",
        ),
        (
            "apigateway",
            "- `api_gateway/<account>/<region>/`: REST APIs with their exports, stages (variables as \
             fingerprints), resources and authorizers; HTTP and WebSocket APIs; domain names, \
             usage plans, API key ids.",
        ),
        (
            "lightsail",
            "- `lightsail/<account>/<region>/`: instances, disks, static IPs, instance snapshots, and the \
             native snapshots this run created (with --lightsail-snapshot).",
        ),
        (
            "gas",
            "- `gas_projects/<name>_<script id>/`: each Apps Script project in clasp's layout (`clasp push` \
             works from a copy), its versions and deployments.",
        ),
        (
            "local",
            "- `local_repos/<name>/`: git bundles with the uncommitted working state and a \
             RESTORE.md, folders, agents; secret files withheld (`secrets_manifest.json`).",
        ),
        (
            "",
            "- `index/`: one JSON line per file with its content hash (and, for S3, the exact key, \
             version and metadata); `catalog/`: one record per resource and what each listing \
             covered (`infrasnap diff` and `infrasnap log` read it); `snapshot_metadata.json`: \
             this summary for programs.\n",
        ),
    ];
    for (name, line) in layout {
        if name.is_empty() || has(name) {
            let _ = writeln!(o, "{line}");
        }
    }
    let _ = writeln!(o, "## Verify\n");
    let _ = writeln!(
        o,
        "Run `infrasnap verify {}` (add `--repo <folder>` if the repository is not `./snapshots`). It \
         re-hashes every file of this snapshot against the index and reports anything missing, \
         corrupt or modified.",
        meta.name
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_render_as_markdown_and_round_trip_as_json() {
        let mut b = Blocks::default();
        b.text("Two `buckets`.")
            .table(Table::new(&["A", "B"]))
            .table(Table::with_rows(
                &["C"],
                vec![vec!["1 | 2".into()], vec!["`x`".into()]],
            ))
            .list(vec!["one".into(), "two\nlines".into()])
            .list(Vec::new());
        assert_eq!(
            b.to_markdown(),
            "Two `buckets`.\n\nNone found.\n\n| C |\n|---|\n| 1 \\| 2 |\n| `x` |\n\n- one\n- two lines\n"
        );
        let d = ManifestData {
            format: MANIFEST_DATA_FORMAT,
            sources: vec![DataSection {
                title: "S3".into(),
                blocks: b,
            }],
            after: Vec::new(),
        };
        let json = serde_json::to_string(&d).unwrap();
        assert!(
            json.contains(r#"{"type":"text","value":"Two `buckets`."}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<ManifestData>(&json).unwrap(), d);
    }

    use crate::metadata::*;

    #[test]
    fn bytes_are_readable() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }

    #[test]
    fn errors_and_a_policy_snippet_are_listed() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-22T03:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let mut collectors = BTreeMap::new();
        collectors.insert(
            "s3".to_string(),
            CollectorSummary {
                status: Some(Status::Partial),
                errors: vec![RecordedError {
                    service: "s3".into(),
                    action: "s3:GetBucketPolicy".into(),
                    resource: "acme-www".into(),
                    code: Some("AccessDenied".into()),
                    message: "Access Denied".into(),
                }],
                ..Default::default()
            },
        );
        let meta = SnapshotMetadata {
            tool: "infrasnap".into(),
            tool_version: "0.1.0".into(),
            format_version: 1,
            name: "v1".into(),
            label: Some("v1".into()),
            parent: None,
            started_at: t,
            finished_at: t,
            duration_seconds: 1.0,
            status: Status::Partial,
            account_id: Some("123456789012".into()),
            caller_arn: None,
            regions: vec!["us-east-1".into()],
            endpoint: None,
            totals: Totals {
                errors: 1,
                ..Default::default()
            },
            collectors,
            accounts: vec![],
            organization_accounts: vec![],
            notes: vec![],
            errors: vec![],
            scope: None,
            seal: None,
        };
        let md = render(&meta, &ManifestDetail::default());
        assert!(md.contains("complete with errors"));
        assert!(md.contains("| s3 | s3:GetBucketPolicy | acme-www | AccessDenied |"));
        assert!(md.contains("\"s3:GetBucketPolicy\""));
        assert!(md.contains("infrasnap verify v1"));

        // Sources' sections come from data, in title order, then the findings; `manifest.json`
        // keeps the same sections.
        let mut detail = ManifestDetail::default();
        let mut s3 = Blocks::default();
        s3.table(Table::with_rows(
            &["Bucket", "Region", "Objects"],
            vec![
                vec!["acme-www".into(), "us-east-1".into(), "8".into()],
                vec!["odd|name".into(), "eu-west-1".into(), "0".into()],
            ],
        ))
        .text("2 stored blob(s) moved to `.infrasnap/quarantine/`.");
        let mut iam = Blocks::default();
        iam.heading("Roles (1)")
            .table(Table::with_rows(
                &["Role", "Attached policies"],
                vec![vec!["deploy".into(), "2".into()]],
            ))
            .heading("Users (0)")
            .table(Table::new(&["User"]))
            .text("Repositories with unpushed work:")
            .list(vec!["`site`: 2 unpushed".into()]);
        detail.sections.insert("S3".into(), s3);
        detail.sections.insert("IAM".into(), iam);
        let mut f = Blocks::default();
        f.text("0 high.");
        detail.data.push(DataSection {
            title: "Findings".into(),
            blocks: f,
        });
        let md = render(&meta, &detail);
        let from = md.find("## IAM").unwrap();
        let to = md.find("## Errors").unwrap();
        insta::assert_snapshot!("manifest_sections", &md[from..to]);
        let data = detail.to_data();
        assert_eq!(
            data.sources
                .iter()
                .map(|s| s.title.as_str())
                .collect::<Vec<_>>(),
            ["IAM", "S3"]
        );
        assert_eq!(data.after[0].title, "Findings");
    }
}
