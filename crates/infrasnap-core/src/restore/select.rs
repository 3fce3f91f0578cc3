//! What to restore and where to: the selection (kinds, accounts, regions, resource ids or globs;
//! S3 buckets, a prefix or one key), the target (same place, another bucket or prefix, a new
//! table name, a local folder), and `--as-of`, which picks the snapshot. All pure.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::RestoreError;
use crate::diff::select::{glob, Matcher, Selection};
use crate::ids::ResourceId;
use crate::metadata::{SnapshotMetadata, Status};

/// What to restore; empty lists select everything in the snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RestoreSelection {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// Resource ids (`kind:account:region:id`) or globs; without `:`, the id part alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    /// S3 buckets (names or globs): only these buckets, and of S3 nothing else.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<String>,
    /// Only the objects under this prefix (not the buckets' settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Only this one object (not the buckets' settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Where to restore to; all `None`: where it came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Another bucket (one bucket selected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_bucket: Option<String>,
    /// Another prefix: the selected prefix (or the start of every key) is replaced by this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_prefix: Option<String>,
    /// A DynamoDB table under a new name (one table selected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_table: Option<String>,
    /// Local sources (`local.git`, `local.folder`) go into `<to_dir>/<source name>` (absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_dir: Option<String>,
    /// Another AWS account: its id, read from the target credentials when planning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_account: Option<String>,
    /// The profile that reaches the target account (`--to-profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_profile: Option<String>,
    /// The role assumed in the target account (`--to-role-arn`), with its external id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_external_id: Option<String>,
    /// Another region, for regional kinds and where buckets are created (`--to-region`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_region: Option<String>,
}

pub const BUCKET: &str = "aws.s3.bucket";

impl RestoreSelection {
    /// Check the selection and compile its resource part.
    pub fn compile(&self, target: &Target) -> Result<Compiled, RestoreError> {
        let mut kinds = self.kinds.clone();
        let objects_only = self.prefix.is_some() || self.key.is_some();
        if (!self.buckets.is_empty() || objects_only) && kinds.is_empty() {
            // A bucket, prefix or key names S3 and nothing else.
            kinds.push(BUCKET.to_string());
        }
        if self.prefix.is_some() && self.key.is_some() {
            return Err(RestoreError::Selection(
                "give a --prefix or a --key, not both".into(),
            ));
        }
        if target.to_prefix.is_some() && !objects_only && self.buckets.is_empty() {
            return Err(RestoreError::Selection(
                "--to-prefix needs the objects it moves: pass --bucket NAME (and --prefix)".into(),
            ));
        }
        let matcher = Selection {
            kinds,
            accounts: self.accounts.clone(),
            regions: self.regions.clone(),
            ids: self.ids.clone(),
        }
        .compile()?;
        Ok(Compiled {
            matcher,
            buckets: self.buckets.clone(),
            prefix: self.prefix.clone(),
            key: self.key.clone(),
        })
    }
}

/// A checked selection.
#[derive(Debug, Clone)]
pub struct Compiled {
    matcher: Matcher,
    buckets: Vec<String>,
    pub prefix: Option<String>,
    pub key: Option<String>,
}

impl Compiled {
    /// Is the resource selected?
    pub fn matches(&self, id: &ResourceId) -> bool {
        if !self.matcher.matches(id) {
            return false;
        }
        if id.kind == BUCKET && !self.buckets.is_empty() {
            return self.buckets.iter().any(|b| glob(b, &id.id));
        }
        true
    }

    /// Only objects: a prefix or a key was given, so buckets and their settings are left alone.
    pub fn objects_only(&self) -> bool {
        self.prefix.is_some() || self.key.is_some()
    }

    /// Is the object `key` selected?
    pub fn object(&self, key: &str) -> bool {
        match (&self.key, &self.prefix) {
            (Some(k), _) => k == key,
            (None, Some(p)) => key.starts_with(p.as_str()),
            (None, None) => true,
        }
    }
}

/// Where an object of the snapshot lands: `key` with the selected prefix replaced by
/// `to_prefix` (prepended when no prefix was selected).
pub fn target_key(key: &str, sel_prefix: Option<&str>, to_prefix: Option<&str>) -> String {
    match (to_prefix, sel_prefix) {
        (None, _) => key.to_string(),
        (Some(to), Some(p)) => format!("{to}{}", key.strip_prefix(p).unwrap_or(key)),
        (Some(to), None) => format!("{to}{key}"),
    }
}

/// `--as-of TIME`: the latest complete snapshot that started at or before `t`.
pub fn as_of(snapshots: &[SnapshotMetadata], t: DateTime<Utc>) -> Option<&SnapshotMetadata> {
    snapshots
        .iter()
        .filter(|m| m.status == Status::Complete && m.started_at <= t)
        .max_by_key(|m| m.started_at)
}

/// Parse `--as-of`: RFC 3339 (`2026-11-22T04:00:00Z`), or a date (`2026-11-22`, its end in UTC).
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, RestoreError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let end = d.and_hms_opt(23, 59, 59).expect("a valid time");
        return Ok(DateTime::from_naive_utc_and_offset(end, Utc));
    }
    Err(RestoreError::Selection(format!(
        "cannot read the time `{s}`: give RFC 3339 (`2026-11-22T04:00:00Z`) or a date \
         (`2026-11-22`, meaning its end, UTC)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn id(s: &str) -> ResourceId {
        s.parse().unwrap()
    }

    fn sel(buckets: &[&str], prefix: Option<&str>, kinds: &[&str]) -> RestoreSelection {
        RestoreSelection {
            buckets: buckets.iter().map(|s| s.to_string()).collect(),
            prefix: prefix.map(str::to_string),
            kinds: kinds.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[rstest]
    #[case(sel(&[], None, &[]), "aws.s3.bucket:1::site", true)]
    #[case(sel(&[], None, &[]), "aws.lambda.function:1:r:f", true)]
    #[case(sel(&["site"], None, &[]), "aws.s3.bucket:1::site", true)]
    #[case(sel(&["site"], None, &[]), "aws.s3.bucket:1::media", false)]
    #[case(sel(&["site"], None, &[]), "aws.lambda.function:1:r:f", false)]
    #[case(sel(&["site-*"], None, &[]), "aws.s3.bucket:1::site-prod", true)]
    #[case(sel(&[], Some("img/"), &[]), "aws.s3.bucket:1::media", true)]
    #[case(sel(&[], Some("img/"), &[]), "aws.route53.zone:1::Z1", false)]
    #[case(sel(&[], None, &["aws.route53.*"]), "aws.route53.record_set:1::Z1/a.example.com./A", true)]
    #[case(sel(&[], None, &["aws.route53.*"]), "aws.s3.bucket:1::site", false)]
    fn resources(#[case] s: RestoreSelection, #[case] rid: &str, #[case] want: bool) {
        let c = s.compile(&Target::default()).unwrap();
        assert_eq!(c.matches(&id(rid)), want, "{rid}");
    }

    #[rstest]
    #[case(None, None, "a/b", true)]
    #[case(Some("img/"), None, "img/x.png", true)]
    #[case(Some("img/"), None, "imgx", false)]
    #[case(None, Some("index.html"), "index.html", true)]
    #[case(None, Some("index.html"), "index.html.bak", false)]
    fn objects(
        #[case] prefix: Option<&str>,
        #[case] key: Option<&str>,
        #[case] k: &str,
        #[case] want: bool,
    ) {
        let s = RestoreSelection {
            prefix: prefix.map(str::to_string),
            key: key.map(str::to_string),
            ..Default::default()
        };
        assert_eq!(s.compile(&Target::default()).unwrap().object(k), want);
    }

    #[rstest]
    #[case("img/a.png", None, None, "img/a.png")]
    #[case("img/a.png", Some("img/"), Some("old-img/"), "old-img/a.png")]
    #[case("a.png", None, Some("restored/"), "restored/a.png")]
    #[case("img/a.png", Some("img/"), None, "img/a.png")]
    fn keys_land_under_the_target_prefix(
        #[case] key: &str,
        #[case] sel: Option<&str>,
        #[case] to: Option<&str>,
        #[case] want: &str,
    ) {
        assert_eq!(target_key(key, sel, to), want);
    }

    #[test]
    fn bad_selections_are_refused() {
        let both = RestoreSelection {
            prefix: Some("a/".into()),
            key: Some("a/b".into()),
            ..Default::default()
        };
        assert!(both.compile(&Target::default()).is_err());
        let to_prefix = Target {
            to_prefix: Some("x/".into()),
            ..Default::default()
        };
        let e = RestoreSelection::default()
            .compile(&to_prefix)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--bucket"), "{e}");
        let unknown = sel(&[], None, &["aws.s3.buckets"]);
        assert!(unknown.compile(&Target::default()).is_err());
    }

    fn meta(name: &str, at: &str, status: Status) -> SnapshotMetadata {
        let t: DateTime<Utc> = at.parse().unwrap();
        SnapshotMetadata {
            tool: "infrasnap".into(),
            tool_version: "0".into(),
            format_version: 2,
            name: name.into(),
            label: None,
            parent: None,
            started_at: t,
            finished_at: t,
            duration_seconds: 0.0,
            status,
            account_id: None,
            caller_arn: None,
            regions: vec![],
            endpoint: None,
            totals: Default::default(),
            collectors: Default::default(),
            accounts: vec![],
            organization_accounts: vec![],
            scope: None,
            seal: None,
            notes: vec![],
            errors: vec![],
        }
    }

    #[rstest]
    #[case("2026-11-01T00:00:00Z", None)]
    #[case("2026-11-02T00:00:00Z", Some("a"))]
    #[case("2026-11-03T12:00:00Z", Some("a"))] // b is partial
    #[case("2026-11-04T00:00:00Z", Some("c"))]
    #[case("2030-01-01T00:00:00Z", Some("c"))]
    fn as_of_picks_the_latest_complete_snapshot_at_or_before(
        #[case] t: &str,
        #[case] want: Option<&str>,
    ) {
        let snaps = vec![
            meta("a", "2026-11-02T00:00:00Z", Status::Complete),
            meta("b", "2026-11-03T00:00:00Z", Status::Partial),
            meta("c", "2026-11-04T00:00:00Z", Status::Complete),
        ];
        let got = as_of(&snaps, t.parse().unwrap()).map(|m| m.name.as_str());
        assert_eq!(got, want);
    }

    #[test]
    fn times_are_rfc3339_or_dates() {
        assert_eq!(
            parse_time("2026-11-22").unwrap().to_rfc3339(),
            "2026-11-22T23:59:59+00:00"
        );
        assert!(parse_time("2026-11-22T04:00:00+02:00").is_ok());
        assert!(parse_time("yesterday").is_err());
    }
}
