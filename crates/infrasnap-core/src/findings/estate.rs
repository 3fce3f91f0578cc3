//! One snapshot as the rules read it: every resource's document (and the few parts rules need),
//! the coverage of every listing, the time the snapshot was taken, and where a resource belongs
//! (prod, staging, dev, test) by its name, aliases or tags.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::catalog::{self, Coverage, CoverageState};
use crate::diff::Side;
use crate::ids::ResourceId;
use crate::secrets::Fingerprinter;

use super::FindingsError;

/// Parts read along with the document (small JSON files the secrets rule looks into).
pub const LOADED_PARTS: &[&str] = &["redactions.json", "secrets_manifest.json"];

/// One resource: its id, readable name, document and the loaded parts.
#[derive(Debug, Clone)]
pub struct Res {
    pub id: ResourceId,
    pub label: Option<String>,
    pub doc: Value,
    pub parts: BTreeMap<String, Value>,
    /// Bytes it holds in the snapshot: its document and parts, and a bucket's objects.
    pub bytes: u64,
}

impl Res {
    pub fn new(id: &str, doc: Value) -> Res {
        Res {
            id: id.parse().expect("a valid resource id"),
            label: None,
            doc,
            parts: BTreeMap::new(),
            bytes: 0,
        }
    }

    pub fn with_part(mut self, name: &str, v: Value) -> Res {
        self.parts.insert(name.to_string(), v);
        self
    }

    /// The member at `pointer` as text.
    pub fn str(&self, pointer: &str) -> Option<&str> {
        self.doc.pointer(pointer).and_then(Value::as_str)
    }

    /// The array at `pointer` (empty when absent).
    pub fn arr(&self, pointer: &str) -> &[Value] {
        self.doc
            .pointer(pointer)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The resource's tags, whatever shape its service gives them: `[{Key, Value}]`,
    /// `{Items: [{Key, Value}]}`, `{TagSet: [...]}` or `{name: value}`.
    pub fn tags(&self) -> BTreeMap<String, String> {
        let candidates = [
            "/Tags",
            "/Tags/Items",
            "/config/tagging/value/TagSet",
            "/restApi/tags",
            "/Api/Tags",
        ];
        let mut out = BTreeMap::new();
        for p in candidates {
            match self.doc.pointer(p) {
                Some(Value::Array(items)) => {
                    for t in items {
                        let k = t
                            .get("Key")
                            .or_else(|| t.get("key"))
                            .and_then(Value::as_str);
                        let v = t
                            .get("Value")
                            .or_else(|| t.get("value"))
                            .and_then(Value::as_str);
                        if let (Some(k), Some(v)) = (k, v) {
                            out.insert(k.to_string(), v.to_string());
                        }
                    }
                }
                Some(Value::Object(m)) if p != "/Tags" || !m.contains_key("Items") => {
                    for (k, v) in m {
                        if let Some(v) = v.as_str() {
                            out.insert(k.clone(), v.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The resource's name for people: its label, else its id.
    pub fn name(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.id.id)
    }
}

/// A snapshot's resources, read for the rules.
#[derive(Debug, Clone)]
pub struct Estate {
    /// The snapshot's name.
    pub name: String,
    /// When it was taken: the rules' "now" (certificate expiry, key age), so a snapshot gives the
    /// same findings whenever they are computed.
    pub as_of: DateTime<Utc>,
    /// Sorted by id.
    pub resources: Vec<Res>,
    pub coverage: Vec<Coverage>,
    /// The repository's fingerprinter: lets a rule test whether a redacted value equals a known
    /// name (an environment variable naming a prod table) without the value being stored.
    pub fingerprinter: Option<Fingerprinter>,
}

impl Estate {
    /// An estate from resources in memory (tests, and callers with their own reader).
    pub fn new(name: &str, as_of: DateTime<Utc>, mut resources: Vec<Res>) -> Estate {
        resources.sort_by(|a, b| a.id.cmp(&b.id));
        let mut coverage: Vec<Coverage> = resources
            .iter()
            .map(|r| Coverage {
                kind: r.id.kind.clone(),
                account: r.id.account.clone(),
                region: r.id.region.clone(),
                state: CoverageState::Complete,
                error: None,
            })
            .collect();
        coverage.sort_by_key(|c| c.key());
        coverage.dedup_by_key(|c| c.key());
        Estate {
            name: name.to_string(),
            as_of,
            resources,
            coverage,
            fingerprinter: None,
        }
    }

    /// Read the snapshot folder `dir` of the repository whose blob store is `blobs`. `kinds`:
    /// only these kinds' documents (all when `None`).
    pub fn load(dir: &Path, blobs: &Path, kinds: Option<&[&str]>) -> Result<Estate, FindingsError> {
        let side = Side::open(dir, blobs)?;
        let as_of = side
            .meta
            .as_ref()
            .map(|m| m.started_at)
            .unwrap_or_else(|| DateTime::<Utc>::from(std::time::UNIX_EPOCH));
        let mut resources = Vec::with_capacity(side.catalog.records.len());
        for rec in &side.catalog.records {
            if kinds.is_some_and(|k| !k.contains(&rec.id.kind.as_str())) {
                continue;
            }
            let doc = catalog::read_doc(blobs, &rec.blob)?;
            let mut parts = BTreeMap::new();
            for name in LOADED_PARTS {
                if let Some(p) = rec.parts.get(*name) {
                    if let Some(b) = &p.blob {
                        parts.insert(name.to_string(), catalog::read_doc(blobs, b)?);
                    }
                }
            }
            let objects = if rec.id.kind == "aws.s3.bucket" {
                doc.get("total_bytes").and_then(Value::as_u64).unwrap_or(0)
            } else {
                0
            };
            let part_bytes: u64 = rec
                .parts
                .iter()
                .filter(|(n, p)| p.blob.is_some() || n.as_str() != "objects")
                .map(|(_, p)| p.size)
                .sum();
            let bytes = rec.size + part_bytes + objects;
            resources.push(Res {
                id: rec.id.clone(),
                label: rec.label.clone(),
                doc,
                parts,
                bytes,
            });
        }
        Ok(Estate {
            name: side.name.clone(),
            as_of,
            resources,
            coverage: side.catalog.coverage.clone(),
            fingerprinter: None,
        })
    }

    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Res> + 'a {
        self.resources.iter().filter(move |r| r.id.kind == kind)
    }

    pub fn get(&self, id: &ResourceId) -> Option<&Res> {
        self.resources
            .binary_search_by(|r| r.id.cmp(id))
            .ok()
            .map(|i| &self.resources[i])
    }

    /// Was every listing of `kind` that this snapshot attempted complete, and was there one?
    /// Only then does "not in the snapshot" mean "does not exist (in the captured accounts)".
    pub fn listed_whole(&self, kind: &str) -> bool {
        let mut any = false;
        for c in self.coverage.iter().filter(|c| c.kind == kind) {
            if c.state != CoverageState::Complete {
                return false;
            }
            any = true;
        }
        any
    }

    /// The listings of `kind` in `region` (any account): `None` when none was attempted (the
    /// region or the service was not captured), `Some(true)` when every one was complete.
    pub fn listed_in_region(&self, kind: &str, region: &str) -> Option<bool> {
        let mut any = None;
        for c in self
            .coverage
            .iter()
            .filter(|c| c.kind == kind && c.region == region)
        {
            if c.state != CoverageState::Complete {
                return Some(false);
            }
            any = Some(true);
        }
        any
    }

    /// Was the listing that would hold `id` complete?
    pub fn covers(&self, id: &ResourceId) -> bool {
        self.coverage.iter().any(|c| {
            c.kind == id.kind
                && c.account == id.account
                && c.region == id.region
                && c.state == CoverageState::Complete
        })
    }

    /// Environment of a resource, from its name, extra names (aliases, comment) and tags.
    pub fn env_of(&self, r: &Res, extra: &[&str]) -> Option<Env> {
        env_of(r, extra)
    }
}

/// Where a resource belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Env {
    Prod,
    /// staging, dev, test... (the word found).
    NonProd(String),
}

impl Env {
    pub fn is_prod(&self) -> bool {
        *self == Env::Prod
    }
    pub fn word(&self) -> &str {
        match self {
            Env::Prod => "prod",
            Env::NonProd(w) => w,
        }
    }
}

const NONPROD: &[&str] = &[
    "staging",
    "stage",
    "stg",
    "dev",
    "develop",
    "development",
    "test",
    "testing",
    "qa",
    "uat",
    "sandbox",
    "preview",
];
const PROD: &[&str] = &["prod", "production", "prd", "live"];

/// The environment one text names: a word of it (split at anything but letters and digits,
/// `_staging` included) that is an environment's name.
pub fn env_in_text(text: &str) -> Option<Env> {
    let lower = text.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if let Some(w) = words.iter().find(|w| NONPROD.contains(w)) {
        return Some(Env::NonProd(w.to_string()));
    }
    if words.iter().any(|w| PROD.contains(w)) {
        return Some(Env::Prod);
    }
    None
}

/// Tags that say the environment (`env`, `environment`, `stage`, `tier`), then the name, then the
/// extra names (aliases, comment).
pub fn env_of(r: &Res, extra: &[&str]) -> Option<Env> {
    for (k, v) in r.tags() {
        let k = k.to_ascii_lowercase();
        if ["env", "environment", "stage", "tier", "envname"].contains(&k.as_str()) {
            if let Some(e) = env_in_text(&v) {
                return Some(e);
            }
        }
    }
    if let Some(e) = env_in_text(&r.id.id).or_else(|| r.label.as_deref().and_then(env_in_text)) {
        return Some(e);
    }
    extra.iter().find_map(|t| env_in_text(t))
}

/// The bucket an S3 host name names (`b.s3.amazonaws.com`, `b.s3.eu-west-1.amazonaws.com`,
/// `b.s3-eu-west-1.amazonaws.com`, `b.s3-website-us-east-1.amazonaws.com`,
/// `b.s3-website.eu-west-1.amazonaws.com`), and whether it is a website endpoint.
pub fn bucket_of_host(host: &str) -> Option<(String, bool)> {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    let h = h.strip_suffix(".amazonaws.com")?;
    // The bucket is everything before the last `s3` label (bucket names may hold dots, and
    // may start with `s3-`).
    let labels: Vec<&str> = h.split('.').collect();
    let at = labels.iter().rposition(|l| {
        *l == "s3" || l.starts_with("s3-") || *l == "s3-website" || l.starts_with("s3-website")
    })?;
    if at == 0 {
        return None;
    }
    let website = labels[at].starts_with("s3-website");
    Some((labels[..at].join("."), website))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("site-staging", Some("staging"))]
    #[case("acme_dev_uploads", Some("dev"))]
    #[case("orders-prod", Some("prod"))]
    #[case("production-media", Some("prod"))]
    #[case("acme-www", None)]
    #[case("/_staging", Some("staging"))]
    #[case("prodigy", None)]
    fn environments_are_words(#[case] text: &str, #[case] want: Option<&str>) {
        assert_eq!(env_in_text(text).as_ref().map(Env::word), want);
    }

    #[rstest]
    #[case("b.s3.amazonaws.com", Some(("b", false)))]
    #[case("my.bucket.s3.eu-west-1.amazonaws.com", Some(("my.bucket", false)))]
    #[case("b.s3-eu-west-1.amazonaws.com.", Some(("b", false)))]
    #[case("www.acme.com.s3-website-us-east-1.amazonaws.com", Some(("www.acme.com", true)))]
    #[case("b.s3-website.eu-west-1.amazonaws.com", Some(("b", true)))]
    #[case("s3-website-us-east-1.amazonaws.com", None)]
    #[case("d111.cloudfront.net", None)]
    #[case("s3-assets.s3.amazonaws.com", Some(("s3-assets", false)))]
    #[case("lb-1.eu-west-1.elb.amazonaws.com", None)]
    fn buckets_are_read_from_host_names(#[case] host: &str, #[case] want: Option<(&str, bool)>) {
        assert_eq!(bucket_of_host(host), want.map(|(b, w)| (b.to_string(), w)));
    }
}
