//! The resource catalog (repository format 2): one record per resource of a snapshot, keyed by
//! its [`ResourceId`], and the coverage of every listing a run attempted. Everything that reads a
//! snapshot back (diff, log, restore, findings, the report) reads this, not folders.
//!
//! ```text
//! <snapshot>/catalog/resources.jsonl   one CatalogRecord per line, sorted by id
//! <snapshot>/catalog/coverage.jsonl    one Coverage per (kind, account, region) listed
//! ```
//!
//! Collectors never build paths: they hand [`crate::engine::RunContext`] a document for a
//! resource id (`put_resource`) and named parts (`put_part`, `link_part`), and report coverage
//! (`cover`). Where each lands is decided here, from the kind's declaration ([`kinds`]) and the
//! one escaping scheme ([`escape`]).

pub mod escape;
pub mod kinds;
pub mod normalize;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{CoreError, IoContext, Result};
use crate::ids::{BlobId, ResourceId};
use crate::metadata::RecordedError;
use kinds::{KindSpec, Scope};

/// The catalog's files, relative to a snapshot folder.
pub const RESOURCES: &str = "catalog/resources.jsonl";
pub const COVERAGE: &str = "catalog/coverage.jsonl";

/// A tree file that belongs to a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRef {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<BlobId>,
    #[serde(default)]
    pub size: u64,
}

/// One resource of a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogRecord {
    pub id: ResourceId,
    /// A readable name given with the resource (a zone's name, a project's title).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The tree path of its document; absent for member kinds (the document is in the store and
    /// shown through the kind's view).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The document's blob (pretty JSON).
    pub blob: BlobId,
    pub size: u64,
    /// Hex BLAKE3 of the document's canonical form ([`normalize::digest`]): equal digests mean
    /// no change a diff would show in the document.
    pub digest: String,
    /// Named parts: a code zip, a zone file, item pages, the folder of a bucket's objects.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parts: BTreeMap<String, PartRef>,
    /// The resource's own index file (S3 objects of a bucket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// Part of the resource's content could not be read (a listing of its objects or items
    /// stopped): a content diff of it is not comparable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
}

/// Whether one listing of one kind, in one account and region, was read whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageState {
    Complete,
    Failed,
}

/// One listing a run attempted: `(kind, account, region)` → complete, or failed with the error.
/// A resource is missing from a snapshot only if its listing is complete there; otherwise a diff
/// calls it "not comparable", never "removed".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub kind: String,
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub region: String,
    pub state: CoverageState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RecordedError>,
}

impl Coverage {
    pub fn key(&self) -> (String, String, String) {
        (self.kind.clone(), self.account.clone(), self.region.clone())
    }
}

/// Check that `id` fits its kind's scope; returns the kind's declaration.
pub fn check_id(id: &ResourceId) -> Result<&'static KindSpec> {
    let bad = |why: &str| CoreError::InvalidName {
        name: id.to_string(),
        why: why.to_string(),
    };
    let spec = kinds::spec(&id.kind)
        .ok_or_else(|| bad("unknown resource kind (catalog/kinds.rs lists every kind)"))?;
    if id.id.is_empty() {
        return Err(bad("empty id"));
    }
    match spec.scope {
        Scope::Regional if id.account.is_empty() || id.region.is_empty() => {
            Err(bad("a regional kind needs an account and a region"))
        }
        Scope::Account if id.account.is_empty() || !id.region.is_empty() => {
            Err(bad("an account-wide kind needs an account and no region"))
        }
        Scope::Global if !id.region.is_empty() => Err(bad("a global kind has no region")),
        Scope::Local if !id.account.is_empty() || !id.region.is_empty() => {
            Err(bad("a local kind has no account or region"))
        }
        _ => Ok(spec),
    }
}

/// Fill a path template (see [`kinds`]) for `id`.
pub fn render(template: &str, id: &ResourceId, label: Option<&str>, part: Option<&str>) -> String {
    let mut out = template
        .replace("{account}", &escape::escape(&id.account))
        .replace("{region}", &escape::escape(&id.region))
        .replace(
            "{label}",
            &label.map_or_else(|| escape::escape(&id.id), escape::escape_name),
        )
        .replace("{id}", &escape::escape(&id.id));
    if let Some(p) = part {
        out = out.replace("{part}", &escape::escape_path(p));
    }
    out
}

/// The tree path of the document of `id`, if its kind has one.
pub fn doc_path(id: &ResourceId, label: Option<&str>) -> Result<Option<String>> {
    let spec = check_id(id)?;
    Ok(spec.doc.map(|t| render(t, id, label, None)))
}

/// The tree path of part `part` of `id`.
pub fn part_path(id: &ResourceId, label: Option<&str>, part: &str) -> Result<String> {
    let spec = check_id(id)?;
    if let Some((_, t)) = spec.parts.iter().find(|(n, _)| *n == part) {
        return Ok(render(t, id, label, None));
    }
    if let Some(t) = spec.default_part {
        if part
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(CoreError::InvalidName {
                name: part.to_string(),
                why: "a part name is a relative path without empty, `.` or `..` components".into(),
            });
        }
        return Ok(render(t, id, label, Some(part)));
    }
    Err(CoreError::InvalidName {
        name: format!("{id} part {part}"),
        why: "this kind declares no such part (catalog/kinds.rs)".into(),
    })
}

/// The path of the resource's own index file, if its kind has one.
pub fn index_path(id: &ResourceId) -> Result<Option<String>> {
    let spec = check_id(id)?;
    Ok(spec.index.map(|t| render(t, id, None, None)))
}

/// The path of the view that holds the document of `id`, if its kind has one.
pub fn view_path(id: &ResourceId) -> Option<String> {
    kinds::spec(&id.kind)?
        .view
        .map(|t| render(t, id, None, None))
}

/// A snapshot's catalog, read back.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Sorted by id.
    pub records: Vec<CatalogRecord>,
    pub coverage: Vec<Coverage>,
}

impl Catalog {
    /// Read the catalog of the snapshot folder `dir`; `Ok(None)` when it has none (a format-1
    /// snapshot). A line that does not parse is an error naming the file and line.
    pub fn open(dir: &Path) -> Result<Option<Catalog>> {
        let res = dir.join(RESOURCES);
        if !res.exists() {
            return Ok(None);
        }
        let mut records: Vec<CatalogRecord> = read_lines(&res)?;
        records.sort_by(|a, b| a.id.cmp(&b.id));
        let cov = dir.join(COVERAGE);
        let coverage = if cov.exists() {
            read_lines(&cov)?
        } else {
            Vec::new()
        };
        Ok(Some(Catalog { records, coverage }))
    }

    /// The record of `id`.
    pub fn get(&self, id: &ResourceId) -> Option<&CatalogRecord> {
        self.records
            .binary_search_by(|r| r.id.cmp(id))
            .ok()
            .map(|i| &self.records[i])
    }

    /// The coverage of `(kind, account, region)`: `None` when the run did not list it.
    pub fn coverage_of(&self, kind: &str, account: &str, region: &str) -> Option<&Coverage> {
        self.coverage
            .iter()
            .find(|c| c.kind == kind && c.account == account && c.region == region)
    }

    /// Was the listing that would hold `id` read whole?
    pub fn covers(&self, id: &ResourceId) -> bool {
        matches!(
            self.coverage_of(&id.kind, &id.account, &id.region),
            Some(Coverage {
                state: CoverageState::Complete,
                ..
            })
        )
    }
}

/// Read a blob of the repository whose store is `blobs` (`<repo>/.infrasnap/blobs`) as JSON.
pub fn read_doc(blobs: &Path, blob: &BlobId) -> Result<Value> {
    let hex = blob.to_hex();
    let p: PathBuf = blobs.join(&hex[..2]).join(&hex);
    let bytes = std::fs::read(&p).ctx("read resource document", &p)?;
    serde_json::from_slice(&bytes).map_err(|e| CoreError::Parse {
        path: p,
        line: e.line(),
        message: e.to_string(),
    })
}

fn read_lines<T: serde::de::DeserializeOwned>(p: &Path) -> Result<Vec<T>> {
    let f = std::fs::File::open(p).ctx("open catalog", p)?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.ctx("read catalog", p)?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).map_err(|e| CoreError::Parse {
            path: p.to_path_buf(),
            line: i + 1,
            message: format!(
                "{e}; the catalog is damaged: `infrasnap verify` checks the snapshot, and the \
                 snapshot's tree files are still intact"
            ),
        })?);
    }
    Ok(out)
}

/// What was handed over for a resource before its document: its index, parts, incomplete flag.
pub(crate) type Pending = (Option<String>, BTreeMap<String, PartRef>, bool);

/// What a run gathers for its catalog, written at the end ([`crate::engine::RunContext::finish`]).
#[derive(Default)]
pub(crate) struct CatalogState {
    pub records: BTreeMap<ResourceId, CatalogRecord>,
    /// Parts (and flags) handed over before the resource's document.
    pub pending: BTreeMap<ResourceId, Pending>,
    /// View path → (id, document), for member kinds.
    pub views: BTreeMap<String, Vec<(ResourceId, Value)>>,
    pub coverage: BTreeMap<(String, String, String), Coverage>,
}

impl CatalogState {
    pub fn add_part(&mut self, id: &ResourceId, name: &str, part: PartRef) {
        match self.records.get_mut(id) {
            Some(r) => {
                r.parts.insert(name.to_string(), part);
            }
            None => {
                self.pending
                    .entry(id.clone())
                    .or_default()
                    .1
                    .insert(name.to_string(), part);
            }
        }
    }

    pub fn set_index(&mut self, id: &ResourceId, index: String) {
        match self.records.get_mut(id) {
            Some(r) => r.index = Some(index),
            None => self.pending.entry(id.clone()).or_default().0 = Some(index),
        }
    }

    pub fn mark_incomplete(&mut self, id: &ResourceId) {
        match self.records.get_mut(id) {
            Some(r) => r.incomplete = true,
            None => self.pending.entry(id.clone()).or_default().2 = true,
        }
    }

    pub fn insert(&mut self, mut rec: CatalogRecord) {
        if let Some((index, parts, incomplete)) = self.pending.remove(&rec.id) {
            rec.parts.extend(parts);
            if index.is_some() {
                rec.index = index;
            }
            rec.incomplete |= incomplete;
        }
        if let Some(old) = self.records.remove(&rec.id) {
            // A document handed over again replaces the earlier one; parts are kept.
            for (k, v) in old.parts {
                rec.parts.entry(k).or_insert(v);
            }
            rec.index = rec.index.or(old.index);
            rec.incomplete |= old.incomplete;
        }
        self.records.insert(rec.id.clone(), rec);
    }

    pub fn cover(&mut self, c: Coverage) {
        let key = c.key();
        // A failure of any listing of the same scope wins over a success.
        match self.coverage.get(&key) {
            Some(old) if old.state == CoverageState::Failed => {}
            _ => {
                self.coverage.insert(key, c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ResourceId {
        s.parse().unwrap()
    }

    #[test]
    fn paths_come_from_the_kind_and_the_id() {
        let f = id("aws.lambda.function:123456789012:us-east-1:checkout");
        assert_eq!(
            doc_path(&f, None).unwrap().unwrap(),
            "lambda_functions/123456789012/us-east-1/function_config/checkout.json"
        );
        assert_eq!(
            part_path(&f, None, "code.zip").unwrap(),
            "lambda_functions/123456789012/us-east-1/function_code/checkout.zip"
        );
        assert!(part_path(&f, None, "other").is_err());
        let z = id("aws.route53.zone:123456789012::Z1D633");
        assert_eq!(
            doc_path(&z, Some("example.com")).unwrap().unwrap(),
            "route53_zones/123456789012/example.com_Z1D633/zone.json"
        );
        assert_eq!(
            part_path(&z, Some("example.com"), "example.com.zone").unwrap(),
            "route53_zones/123456789012/example.com_Z1D633/example.com.zone"
        );
        assert!(part_path(&z, None, "../x").is_err());
        let b = id("aws.s3.bucket:123456789012::site-prod");
        assert_eq!(
            doc_path(&b, None).unwrap().unwrap(),
            "s3_bucket_config/site-prod.json"
        );
        assert_eq!(
            index_path(&b).unwrap().unwrap(),
            "index/s3_buckets/site-prod.jsonl"
        );
        let p = id("aws.ssm.parameter:1:eu-west-1:/prod/db/url");
        assert_eq!(doc_path(&p, None).unwrap(), None);
        assert_eq!(
            view_path(&p).unwrap(),
            "ssm_parameters/1/eu-west-1/parameters.json"
        );
    }

    #[test]
    fn ids_that_do_not_fit_their_kind_are_refused() {
        for bad in [
            "aws.nothing:1:r:x",
            "aws.lambda.function:1::x",
            "aws.route53.zone:1:us-east-1:Z1",
            "local.git:1::x",
            "aws.s3.bucket:1:us-east-1:b",
        ] {
            assert!(check_id(&id(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_failed_listing_is_not_overwritten_by_a_later_success() {
        let mut st = CatalogState::default();
        let c = |state| Coverage {
            kind: "aws.lambda.function".into(),
            account: "1".into(),
            region: "r".into(),
            state,
            error: None,
        };
        st.cover(c(CoverageState::Failed));
        st.cover(c(CoverageState::Complete));
        assert_eq!(
            st.coverage.values().next().unwrap().state,
            CoverageState::Failed
        );
    }
}
