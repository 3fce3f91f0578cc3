//! `snapshot_metadata.json`: what a program needs to know about a snapshot. MANIFEST.md renders
//! the same for people (manifest.rs).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Everything that was asked for was captured.
    Complete,
    /// Captured, but some calls failed (listed in `errors`): complete with errors.
    Partial,
    /// Nothing useful was captured.
    Failed,
}

impl Status {
    /// The value in `snapshot_metadata.json` and `--json` output.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Complete => "complete",
            Status::Partial => "partial",
            Status::Failed => "failed",
        }
    }

    /// The words people read, the same in the terminal, `list`, `show` and MANIFEST.md:
    /// `complete`, `complete with errors`, `FAILED`.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Complete => "complete",
            Status::Partial => "complete with errors",
            Status::Failed => "FAILED",
        }
    }
}

/// One failed call, as recorded for people and programs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedError {
    /// Source: `s3`, `sts`, ...
    pub service: String,
    /// The IAM action or operation that failed: `s3:GetBucketPolicy`.
    pub action: String,
    /// What it was about: a bucket, `bucket/key`, an ARN.
    pub resource: String,
    /// The provider's error code: `AccessDenied`, `SlowDown`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
}

impl std::fmt::Display for RecordedError {
    /// One readable line: `s3: s3:GetBucketPolicy on www: AccessDenied: Access Denied`. A
    /// multi-line message (an SDK's debug output) is folded onto the line and shortened; the whole
    /// of it is in the log at -vv.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const MAX: usize = 300;
        let folded: String = self
            .message
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let message = if folded.chars().count() > MAX {
            format!("{}…", folded.chars().take(MAX).collect::<String>())
        } else {
            folded
        };
        write!(
            f,
            "{}: {} on {}: ",
            self.service, self.action, self.resource
        )?;
        if let Some(c) = &self.code {
            write!(f, "{c}: ")?;
        }
        f.write_str(&message)
    }
}

/// Per-source results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectorSummary {
    pub status: Option<Status>,
    pub duration_seconds: f64,
    /// Named counts: `buckets`, `objects`, ...
    pub counts: BTreeMap<String, u64>,
    /// Bytes in this snapshot for this source.
    pub bytes_total: u64,
    /// Bytes downloaded and stored as new blobs by this run.
    pub bytes_new: u64,
    /// Objects whose content was downloaded (the rest were linked from an earlier snapshot).
    pub objects_downloaded: u64,
    /// Blobs this run added to the store.
    #[serde(default)]
    pub blobs_new: u64,
    pub errors: Vec<RecordedError>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub objects: u64,
    pub bytes: u64,
    pub bytes_new: u64,
    pub blobs_new: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotMetadata {
    pub tool: String,
    pub tool_version: String,
    pub format_version: u32,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The snapshot this one was built against (unchanged objects linked from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_seconds: f64,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_arn: Option<String>,
    pub regions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub totals: Totals,
    pub collectors: BTreeMap<String, CollectorSummary>,
    /// The AWS accounts captured (one, unless infrasnap.toml lists several).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountInfo>,
    /// The accounts of the AWS Organization the captured accounts belong to, where readable
    /// (organizations:ListAccounts works from the management account or a delegated
    /// administrator); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organization_accounts: Vec<OrganizationAccount>,
    /// Things people should know that are not errors (a fallback taken, a default applied).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Errors that belong to no single source (credentials, identity).
    #[serde(default)]
    pub errors: Vec<RecordedError>,
    /// The seal written last at publish (`snapshot_seal.json`, seal.rs). Left out by builds
    /// before seals: such a snapshot is "unsealed (older)", not damaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
    /// What the run was asked to cover (absent in snapshots taken before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

/// What a run covered: the services, regions, accounts, buckets and local sources it was asked
/// for. A run narrowed on the command line (`--only`, `--skip`, `--bucket`, `--regions`) is
/// partial in scope: what it holds is whole, but it is not the whole estate. That is not an error
/// and says nothing about `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// True when command-line flags narrowed the run (listed in `limited_by`).
    pub partial: bool,
    /// The flags that narrowed it, as given: `--only lambda`, `--bucket www`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limited_by: Vec<String>,
    /// AWS services captured (after --only/--skip and the config's lists).
    #[serde(default)]
    pub services: Vec<String>,
    /// Regions visited by regional services.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Accounts: the config's name and, when known, the id (`prod (123456789012)`).
    #[serde(default)]
    pub accounts: Vec<String>,
    /// S3 buckets asked for with --bucket; empty means every bucket.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<String>,
    /// Apps Script (`gas`) and each `[[local]]` source by name (`local:deploy-scripts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

impl Scope {
    /// One line for people: `full` or `partial (--only lambda)`.
    pub fn summary(&self) -> String {
        if self.partial {
            format!("partial ({})", self.limited_by.join(", "))
        } else {
            "full".to_string()
        }
    }
}

/// One account of the AWS Organization (organizations:ListAccounts).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OrganizationAccount {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// True when this snapshot captured the account.
    #[serde(default)]
    pub captured: bool,
}

/// One AWS account in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// The name given in infrasnap.toml (`default` without one).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_arn: Option<String>,
    /// Where its files are: `""` (the snapshot root) or `aws_accounts/<id>/`.
    #[serde(default)]
    pub prefix: String,
}

impl SnapshotMetadata {
    /// Every error, from every source, in order.
    pub fn all_errors(&self) -> impl Iterator<Item = &RecordedError> {
        self.errors
            .iter()
            .chain(self.collectors.values().flat_map(|c| c.errors.iter()))
    }
}

/// The longest error text kept from an endpoint (characters).
pub const MESSAGE_MAX: usize = 300;

/// Error text from an endpoint, made safe for MANIFEST.md and `snapshot_metadata.json`: HTML
/// tags dropped, control characters and runs of white space made one space, Markdown table
/// delimiters (`|`) replaced, URLs without their credentials, secret-shaped values
/// replaced by `<redacted>`, and cut to [`MESSAGE_MAX`] characters. An endpoint is not trusted
/// to choose what a person reads in the manifest.
pub fn sanitize_message(text: &str) -> String {
    use std::sync::LazyLock;
    static TAG: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"<[A-Za-z/!?][^<>]{0,200}>").expect("valid regex"));
    static URL: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r#"(?i)\b[a-z][a-z0-9+.\-]*://[^\s'"<>]+"#).expect("valid regex")
    });
    // Our own fingerprint markers (`<redacted fp:...>`) look like tags but are kept.
    let no_tags = TAG.replace_all(text, |c: &regex::Captures<'_>| {
        if crate::secrets::is_marker(&c[0]) {
            c[0].to_string()
        } else {
            " ".to_string()
        }
    });
    let no_urls = URL.replace_all(&no_tags, |c: &regex::Captures<'_>| {
        crate::secrets::strip_url_credentials(&c[0])
    });
    // One line of plain text first, so that secret detection sees what a reader would.
    let mut flat = String::with_capacity(no_urls.len());
    for c in no_urls.chars() {
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' && (flat.is_empty() || flat.ends_with(' ')) {
            continue;
        }
        flat.push(c);
    }
    for f in crate::secrets::find_secrets(&flat).into_iter().rev() {
        flat.replace_range(f.start..f.end, crate::secrets::REDACTED);
    }
    let mut out = String::with_capacity(flat.len().min(MESSAGE_MAX + 8));
    for (n, c) in flat.chars().enumerate() {
        if n == MESSAGE_MAX {
            out.push_str(" [cut]");
            return out;
        }
        out.push(if c == '|' { '/' } else { c });
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_error_text_is_sanitised_and_shortened() {
        let hostile = format!(
            "<html><body><h1>Denied</h1>\n| fake | row |\n`code` see \
             https://bob:hunter2@evil.example.com/x?access_token=abc123 \u{1b}[31m \
             password: 'Winter2024' {}</body></html>",
            "x".repeat(1000)
        );
        let s = sanitize_message(&hostile);
        assert!(s.chars().count() <= MESSAGE_MAX + 6, "{s}");
        for bad in [
            "<html>",
            "|",
            "hunter2",
            "abc123",
            "\u{1b}",
            "\n",
            "Winter2024",
        ] {
            assert!(!s.contains(bad), "{bad} in {s}");
        }
        assert!(
            s.starts_with("Denied / fake / row / `code` see https://evil.example.com/x"),
            "{s}"
        );
        assert!(s.ends_with("[cut]"));
        assert_eq!(sanitize_message("Access Denied"), "Access Denied");
    }
}
