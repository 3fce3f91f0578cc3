//! One snapshot as the diff reads it: its catalog (format 2), or, for a format-1 snapshot (no
//! `catalog/`), an S3-only catalog built in memory from its tree. Nothing is ever written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::catalog::PartRef;
use crate::catalog::{self, kinds, normalize, Catalog, CatalogRecord, Coverage, CoverageState};
use crate::error::{CoreError, IoContext};
use crate::ids::{BlobId, ResourceId};
use crate::metadata::{RecordedError, SnapshotMetadata, Status};

use super::DiffError;

/// The kind format-1 snapshots hold in a form the diff can read.
pub(crate) const BUCKET: &str = "aws.s3.bucket";

/// A snapshot opened for reading.
#[derive(Debug)]
pub struct Side {
    pub name: String,
    pub dir: PathBuf,
    /// `<repo>/.infrasnap/blobs`.
    pub blobs: PathBuf,
    /// 2 with a catalog, 1 without.
    pub format: u32,
    pub catalog: Catalog,
    pub meta: Option<SnapshotMetadata>,
    /// Its S3 buckets were read from the tree (a format-1 snapshot, or a catalog written before
    /// the S3 collector reported to it).
    pub s3_from_tree: bool,
}

/// Whether the listing that would hold a resource was read in a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub enum Listing {
    Complete,
    /// Failed, with the reason to show.
    Failed(String),
    /// The run did not list it (source skipped, region not captured, source not migrated).
    NotListed,
    /// A format-1 snapshot, and not S3.
    OldFormat,
}

impl Side {
    /// Open the snapshot folder `dir` of the repository whose blob store is `blobs`.
    pub fn open(dir: &Path, blobs: &Path) -> Result<Side, DiffError> {
        let meta_path = dir.join("snapshot_metadata.json");
        let meta: Option<SnapshotMetadata> = match std::fs::read(&meta_path) {
            Ok(raw) => Some(serde_json::from_slice(&raw).map_err(|e| CoreError::Parse {
                path: meta_path.clone(),
                line: e.line(),
                message: e.to_string(),
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(CoreError::io("read snapshot metadata", &meta_path, e).into()),
        };
        let name = meta.as_ref().map(|m| m.name.clone()).unwrap_or_else(|| {
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| dir.display().to_string())
        });
        let (format, catalog, s3_from_tree) = match Catalog::open(dir)? {
            // A catalog that says nothing of S3 while the run captured it (the S3 collector did
            // not yet report to the catalog): its buckets are read from the tree, as in format 1.
            Some(mut c)
                if !c.records.iter().any(|r| r.id.kind == BUCKET)
                    && !c.coverage.iter().any(|r| r.kind == BUCKET) =>
            {
                let s3 = format1_catalog(dir, meta.as_ref())?;
                let from_tree = !s3.records.is_empty() || !s3.coverage.is_empty();
                c.records.extend(s3.records);
                c.records.sort_by(|a, b| a.id.cmp(&b.id));
                c.coverage.extend(s3.coverage);
                (2, c, from_tree)
            }
            Some(c) => (2, c, false),
            None => (1, format1_catalog(dir, meta.as_ref())?, true),
        };
        Ok(Side {
            name,
            dir: dir.to_path_buf(),
            blobs: blobs.to_path_buf(),
            format,
            catalog,
            meta,
            s3_from_tree,
        })
    }

    /// The listing state of the scope `id` belongs to.
    pub fn listing(&self, id: &ResourceId) -> Listing {
        if self.format == 1 && id.kind != BUCKET {
            return Listing::OldFormat;
        }
        match self.catalog.coverage_of(&id.kind, &id.account, &id.region) {
            Some(Coverage {
                state: CoverageState::Complete,
                ..
            }) => Listing::Complete,
            Some(Coverage {
                state: CoverageState::Failed,
                error,
                ..
            }) => Listing::Failed(match error {
                Some(e) => format!(
                    "the listing failed in snapshot `{}`: {}",
                    self.name,
                    describe_error(e)
                ),
                None => format!("the listing failed in snapshot `{}`", self.name),
            }),
            None => Listing::NotListed,
        }
    }

    /// Why a resource of this snapshot cannot be compared, given its listing state.
    pub fn reason(&self, l: &Listing) -> Option<String> {
        match l {
            Listing::Complete => None,
            Listing::Failed(r) => Some(r.clone()),
            Listing::NotListed => Some(format!("not captured in snapshot `{}`", self.name)),
            Listing::OldFormat => Some(self.old_format_reason()),
        }
    }

    pub fn old_format_reason(&self) -> String {
        format!(
            "snapshot `{}` is format 1: only S3 can be compared; take a new snapshot for the rest",
            self.name
        )
    }

    /// The document of `rec`: from the blob store (a format-1 snapshot: from its tree file, which
    /// is a link to the same blob).
    pub fn doc(&self, rec: &CatalogRecord) -> Result<Value, DiffError> {
        if self.s3_from_tree && rec.id.kind == BUCKET {
            let p = self.dir.join(rec.path.as_deref().unwrap_or_default());
            let raw = std::fs::read(&p).ctx("read bucket configuration", &p)?;
            return Ok(serde_json::from_slice(&raw).map_err(|e| CoreError::Parse {
                path: p,
                line: e.line(),
                message: e.to_string(),
            })?);
        }
        Ok(catalog::read_doc(&self.blobs, &rec.blob)?)
    }

    /// The path of a blob in the store.
    pub fn blob_path(&self, blob: &BlobId) -> PathBuf {
        let hex = blob.to_hex();
        self.blobs.join(&hex[..2]).join(hex)
    }

    /// Read a blob (`what` names it in an error).
    pub fn read_blob(&self, blob: &BlobId) -> Result<Vec<u8>, DiffError> {
        let p = self.blob_path(blob);
        Ok(std::fs::read(&p).ctx("read blob", &p)?)
    }

    /// Sources a format-1 snapshot captured besides S3 (they cannot be compared).
    pub fn uncompared_sources(&self) -> Vec<String> {
        if self.format != 1 {
            return Vec::new();
        }
        let mut v: Vec<String> = self
            .meta
            .iter()
            .flat_map(|m| m.collectors.keys())
            .map(|k| k.split(':').next().unwrap_or(k).to_string())
            .filter(|s| s != "s3")
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// `s3:GetObject on bucket/key: AccessDenied: Access Denied`.
pub fn describe_error(e: &RecordedError) -> String {
    format!(
        "{} on {}: {}{}",
        e.action,
        e.resource,
        e.code
            .as_deref()
            .map(|c| format!("{c}: "))
            .unwrap_or_default(),
        e.message
    )
}

/// The S3-only catalog of a format-1 snapshot: one record per `s3_bucket_config/<bucket>.json`
/// (under `aws_accounts/<id>/` in a several-account snapshot), its index
/// `index/[aws_accounts/<id>/]s3_buckets/<bucket>.jsonl`, and the coverage of each account's
/// bucket listing from the S3 collector's status.
fn format1_catalog(dir: &Path, meta: Option<&SnapshotMetadata>) -> Result<Catalog, DiffError> {
    let spec = kinds::spec(BUCKET);
    // (account id, tree prefix, collector key)
    let mut accounts: Vec<(String, String, String)> = Vec::new();
    if let Some(m) = meta {
        if m.accounts.len() > 1 {
            for a in &m.accounts {
                let id = a.account_id.clone().unwrap_or_default();
                accounts.push((id.clone(), a.prefix.clone(), format!("s3:{id}")));
            }
        }
    }
    if accounts.is_empty() {
        let id = meta.and_then(|m| m.account_id.clone()).unwrap_or_default();
        let prefix = meta
            .and_then(|m| m.accounts.first())
            .map(|a| a.prefix.clone())
            .unwrap_or_default();
        accounts.push((id, prefix, "s3".to_string()));
    }
    let mut records = Vec::new();
    let mut coverage = Vec::new();
    for (account, prefix, key) in &accounts {
        let summary = meta.and_then(|m| {
            m.collectors.get(key).or_else(|| {
                (accounts.len() == 1)
                    .then(|| m.collectors.get(&format!("s3:{account}")))
                    .flatten()
            })
        });
        let errors: &[RecordedError] = summary.map(|s| s.errors.as_slice()).unwrap_or(&[]);
        let cfg_dir = dir.join(prefix).join("s3_bucket_config");
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&cfg_dir) {
            Ok(rd) => rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(CoreError::io("read folder", &cfg_dir, e).into()),
        };
        files.sort();
        for p in files {
            let raw = std::fs::read(&p).ctx("read bucket configuration", &p)?;
            let doc: Value = serde_json::from_slice(&raw).map_err(|e| CoreError::Parse {
                path: p.clone(),
                line: e.line(),
                message: e.to_string(),
            })?;
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = doc
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or(stem.clone());
            let index = format!("index/{prefix}s3_buckets/{stem}.jsonl");
            let incomplete = errors.iter().any(|e| {
                e.resource.starts_with(&format!("{name}/"))
                    || (e.resource == name && e.action.starts_with("s3:List"))
            });
            let mut parts = BTreeMap::new();
            parts.insert(
                "objects".to_string(),
                PartRef {
                    path: format!("{prefix}s3_buckets/{stem}"),
                    blob: None,
                    size: doc.get("total_bytes").and_then(Value::as_u64).unwrap_or(0),
                },
            );
            records.push(CatalogRecord {
                id: ResourceId::new(BUCKET, account.clone(), "", name),
                label: None,
                path: Some(format!("{prefix}s3_bucket_config/{stem}.json")),
                blob: BlobId::of(&raw),
                size: raw.len() as u64,
                digest: normalize::digest(spec, &doc),
                parts,
                index: dir.join(&index).is_file().then_some(index),
                incomplete,
            });
        }
        if let Some(s) = summary {
            let failed = s.status == Some(Status::Failed);
            coverage.push(Coverage {
                kind: BUCKET.to_string(),
                account: account.clone(),
                region: String::new(),
                state: if failed {
                    CoverageState::Failed
                } else {
                    CoverageState::Complete
                },
                error: if failed {
                    s.errors.first().cloned()
                } else {
                    None
                },
            });
        }
    }
    records.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Catalog { records, coverage })
}
