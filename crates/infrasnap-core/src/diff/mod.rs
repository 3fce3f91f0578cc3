//! What changed between snapshots: [`diff_snapshots`] compares two snapshot folders resource by
//! resource through their catalogs, and [`log::log_resource`] follows one resource across many.
//! Both results are data (Serialize; `infrasnap diff --json`, docs/FORMAT.md section 24) with a
//! renderer for people ([`render`]).
//!
//! Per resource: added, removed, modified (each changed field as a JSON pointer with before and
//! after, on the canonical form: volatile members left out by declaration, sets compared as
//! sets, policies normalised; redacted values shown as "changed (secret)"), unchanged (counted
//! only), or not comparable: a resource present on one side only whose listing is not
//! `complete` on the other side is never called added or removed.
//!
//! Inside a resource: its parts by blob (`--content`: a unified diff of text, the members of a
//! zip), the objects of an S3 bucket (a streamed merge of two indexes), the items of a DynamoDB
//! table (by primary key).
//!
//! A format-1 snapshot (no `catalog/`) is read as an S3-only catalog built from its tree
//! ([`side`]); every other kind is not comparable with it. Nothing here writes anything.
//!
//! ```no_run
//! use infrasnap_core::diff::{diff_snapshots, DiffOptions, Selection};
//! let repo = std::path::Path::new("snapshots");
//! let report = diff_snapshots(
//!     &repo.join("before"),
//!     &repo.join("after"),
//!     &repo.join(".infrasnap/blobs"),
//!     &Selection { kinds: vec!["aws.lambda.*".into()], ..Default::default() },
//!     &DiffOptions::default(),
//! )?;
//! print!("{report}");
//! # Ok::<(), infrasnap_core::diff::DiffError>(())
//! ```

pub mod content;
pub mod items;
pub mod json;
pub mod log;
pub mod objects;
pub mod render;
pub mod select;
pub mod side;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use crate::catalog::{kinds, CatalogRecord, CoverageState};
use crate::error::CoreError;
use crate::ids::{BlobId, ResourceId};

pub use content::ContentDiff;
pub use items::ItemsDiff;
pub use json::{Change, FieldChange};
pub use objects::ObjectsDiff;
pub use select::{Matcher, Selection};
pub use side::{Listing, Side};

/// Errors of diff and log: what failed and where.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error(transparent)]
    Core(#[from] CoreError),

    #[error("unknown resource kind `{given}`; `--kind` takes one of these, or a glob such as `aws.lambda.*`: {known}")]
    UnknownKind { given: String, known: String },

    #[error("no resource has the id or tree path `{target}` in the snapshots {snapshots}; `infrasnap diff` lists resource ids")]
    NotFound { target: String, snapshots: String },
}

/// How to compare.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// Also diff the content of changed parts and objects (text, zip members).
    pub content: bool,
    /// The most objects or items listed per resource (all are counted).
    pub max_listed: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            content: false,
            max_listed: 10_000,
        }
    }
}

/// A snapshot named in a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotRef {
    pub name: String,
    /// 2 with a catalog; 1 for a snapshot without (only its S3 buckets are compared).
    pub format: u32,
}

/// How many resources fell in each class.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    pub added: u64,
    pub removed: u64,
    pub modified: u64,
    pub unchanged: u64,
    pub not_comparable: u64,
    /// Deleted and created again, equal but for the members that name one instance (a new
    /// `RoleId`, `TableId`, ...): shown, but not a difference (`infrasnap diff` exits 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub recreated: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Counts {
    fn count(&mut self, s: Status) {
        match s {
            Status::Added => self.added += 1,
            Status::Removed => self.removed += 1,
            Status::Modified => self.modified += 1,
            Status::NotComparable => self.not_comparable += 1,
            Status::Recreated => self.recreated += 1,
        }
    }

    fn add(&mut self, o: &Counts) {
        self.added += o.added;
        self.removed += o.removed;
        self.modified += o.modified;
        self.unchanged += o.unchanged;
        self.not_comparable += o.not_comparable;
        self.recreated += o.recreated;
    }

    /// Anything added, removed or modified.
    pub fn differs(&self) -> bool {
        self.added + self.removed + self.modified > 0
    }
}

/// The class of a listed resource (unchanged ones are only counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Added,
    Removed,
    Modified,
    NotComparable,
    /// Only its identity members differ ([`kinds::KindSpec::identity`]): deleted and created
    /// again (by a restore, say).
    Recreated,
}

/// The result of [`diff_snapshots`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffReport {
    /// `"diff"`.
    pub report: &'static str,
    /// The version of this document's shape (docs/FORMAT.md section 24).
    pub version: u32,
    pub from: SnapshotRef,
    pub to: SnapshotRef,
    /// Whether content was compared (`--content`).
    pub content: bool,
    pub counts: Counts,
    /// One entry per kind that has a resource on either side, by kind name.
    pub kinds: Vec<KindDiff>,
    /// What a reader should know: format-1 snapshots, listings that failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl DiffReport {
    /// Anything added, removed or modified (`infrasnap diff` exits 5).
    pub fn differs(&self) -> bool {
        self.counts.differs()
    }
}

/// The resources of one kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindDiff {
    pub kind: String,
    /// What one is called: `function`.
    pub noun: String,
    pub counts: Counts,
    /// Added, removed, modified and not comparable resources, by id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceDiff>,
}

/// One resource that is not unchanged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceDiff {
    pub id: ResourceId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub status: Status,
    /// Why it is not comparable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Changed fields of its document (identity members left out: see `recreated`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    /// The identity members that differ (`RoleId`, `CreateDate`): the resource was deleted and
    /// created again. Alone, the status is `recreated`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recreated: Vec<String>,
    /// Parts added, removed or changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartChange>,
    /// An S3 bucket's objects, when any differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects: Option<ObjectsDiff>,
    /// A DynamoDB table's items, when its item files differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<ItemsDiff>,
    /// What could not be compared inside it, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl ResourceDiff {
    fn new(id: ResourceId, label: Option<String>, status: Status) -> Self {
        ResourceDiff {
            id,
            label,
            status,
            reason: None,
            changes: Vec::new(),
            recreated: Vec::new(),
            parts: Vec::new(),
            objects: None,
            items: None,
            notes: Vec::new(),
        }
    }
}

/// A part added, removed or changed (compared by blob).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartChange {
    pub name: String,
    pub change: Change,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<PartState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<PartState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<ContentDiff>,
}

/// A part's content on one side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartState {
    pub blob: BlobId,
    pub size: u64,
}

/// Compare the snapshot folders `a` (earlier) and `b` (later) of the repository whose blob store
/// is `blobs` (`<repo>/.infrasnap/blobs`).
pub fn diff_snapshots(
    a: &Path,
    b: &Path,
    blobs: &Path,
    sel: &Selection,
    opts: &DiffOptions,
) -> Result<DiffReport, DiffError> {
    let m = sel.compile()?;
    let (sa, sb) = (Side::open(a, blobs)?, Side::open(b, blobs)?);
    diff_sides(&sa, &sb, &m, opts)
}

/// [`diff_snapshots`] of two opened snapshots.
pub fn diff_sides(
    sa: &Side,
    sb: &Side,
    m: &Matcher,
    opts: &DiffOptions,
) -> Result<DiffReport, DiffError> {
    let mut by_kind: BTreeMap<String, KindDiff> = BTreeMap::new();
    // Route53 zones that restore re-created (a new zone id) are compared with the zone they
    // came from, and their record sets with its record sets.
    let renamed = crate::restore::zone::through_aliases(sb, sa);
    let sb = renamed.as_ref().unwrap_or(sb);
    let (ra, rb) = (&sa.catalog.records, &sb.catalog.records);
    let (mut i, mut j) = (0, 0);
    while i < ra.len() || j < rb.len() {
        let (x, y) = match (ra.get(i), rb.get(j)) {
            (Some(x), Some(y)) if x.id == y.id => {
                i += 1;
                j += 1;
                (Some(x), Some(y))
            }
            (Some(x), Some(y)) if x.id < y.id => {
                i += 1;
                (Some(x), None)
            }
            (Some(x), None) => {
                i += 1;
                (Some(x), None)
            }
            (_, y) => {
                j += 1;
                (None, y)
            }
        };
        let id = &x.or(y).expect("a record").id;
        if !m.matches(id) {
            continue;
        }
        let kd = by_kind.entry(id.kind.clone()).or_insert_with(|| KindDiff {
            kind: id.kind.clone(),
            noun: kinds::spec(&id.kind)
                .map(|s| s.noun.to_string())
                .unwrap_or_else(|| "resource".into()),
            counts: Counts::default(),
            resources: Vec::new(),
        });
        match classify(sa, x, sb, y, opts)? {
            None => kd.counts.unchanged += 1,
            Some(r) => {
                kd.counts.count(r.status);
                kd.resources.push(r);
            }
        }
    }
    for kd in by_kind.values_mut() {
        pair_recreated(sa, sb, kd);
    }
    let mut counts = Counts::default();
    for k in by_kind.values() {
        counts.add(&k.counts);
    }
    Ok(DiffReport {
        report: "diff",
        version: 1,
        from: SnapshotRef {
            name: sa.name.clone(),
            format: sa.format,
        },
        to: SnapshotRef {
            name: sb.name.clone(),
            format: sb.format,
        },
        content: opts.content,
        counts,
        kinds: by_kind.into_values().collect(),
        notes: notes(sa, sb, m),
    })
}

/// Resources whose id the service assigns (a distribution, a policy, a certificate, a health
/// check: [`crate::restore::plan::assigned_id`]) come back from a restore under a new id. A
/// resource removed from `sa` and one added in `sb` of the same kind and account whose content
/// is the same (restore's comparison: without identity members, names for the ids they use) are
/// one resource re-created: one `recreated` entry under the new id, naming the old one.
fn pair_recreated(sa: &Side, sb: &Side, kd: &mut KindDiff) {
    if !crate::restore::plan::assigned_id(&kd.kind) {
        return;
    }
    let hash = |side: &Side, id: &ResourceId| {
        side.catalog
            .get(id)
            .and_then(|r| crate::restore::plan::resource_hash(side, r).ok())
    };
    let mut removed: Vec<(usize, String)> = kd
        .resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status == Status::Removed)
        .filter_map(|(i, r)| Some((i, hash(sa, &r.id)?)))
        .collect();
    let mut gone = Vec::new();
    for i in 0..kd.resources.len() {
        if kd.resources[i].status != Status::Added {
            continue;
        }
        let Some(h) = hash(sb, &kd.resources[i].id) else {
            continue;
        };
        let account = kd.resources[i].id.account.clone();
        let Some(at) = removed
            .iter()
            .position(|(j, rh)| *rh == h && kd.resources[*j].id.account == account)
        else {
            continue;
        };
        let (j, _) = removed.remove(at);
        let old = kd.resources[j].id.clone();
        let r = &mut kd.resources[i];
        r.status = Status::Recreated;
        r.recreated = vec!["id".to_string()];
        r.notes.push(format!("re-created: it was {old}"));
        gone.push(j);
        kd.counts.added -= 1;
        kd.counts.removed -= 1;
        kd.counts.recreated += 1;
    }
    gone.sort_unstable();
    for j in gone.into_iter().rev() {
        kd.resources.remove(j);
    }
}

/// Format-1 snapshots, and listings that failed in the selection.
fn notes(sa: &Side, sb: &Side, m: &Matcher) -> Vec<String> {
    let mut out = Vec::new();
    for s in [sa, sb] {
        if s.format == 2 && s.s3_from_tree {
            out.push(format!(
                "snapshot `{}` has no S3 entries in its catalog: its buckets were read from its \
                 tree, as for format 1",
                s.name
            ));
        }
        if s.format == 1 {
            let others = s.uncompared_sources();
            out.push(if others.is_empty() {
                format!(
                    "snapshot `{}` is format 1 (no catalog): only its S3 buckets are compared",
                    s.name
                )
            } else {
                format!(
                    "{}; it also holds {}, not compared",
                    s.old_format_reason(),
                    others.join(", ")
                )
            });
        }
    }
    let mut failed = BTreeSet::new();
    for s in [sa, sb] {
        for c in &s.catalog.coverage {
            if c.state == CoverageState::Failed && m.scope(&c.kind, &c.account, &c.region) {
                let scope = [c.account.as_str(), c.region.as_str()]
                    .iter()
                    .filter(|x| !x.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
                failed.insert(format!(
                    "{}{}: the listing failed in snapshot `{}`{}",
                    c.kind,
                    if scope.is_empty() {
                        String::new()
                    } else {
                        format!(" in {scope}")
                    },
                    s.name,
                    c.error
                        .as_ref()
                        .map(|e| format!(": {}", side::describe_error(e)))
                        .unwrap_or_default()
                ));
            }
        }
    }
    out.extend(failed);
    out
}

/// Added / removed / not comparable / modified; `None` when unchanged.
fn classify(
    sa: &Side,
    x: Option<&CatalogRecord>,
    sb: &Side,
    y: Option<&CatalogRecord>,
    opts: &DiffOptions,
) -> Result<Option<ResourceDiff>, DiffError> {
    let r = x.or(y).expect("a record");
    let (la, lb) = (sa.listing(&r.id), sb.listing(&r.id));
    let label = y.and_then(|r| r.label.clone()).or(r.label.clone());
    let not_comparable = |reason: String| {
        let mut d = ResourceDiff::new(r.id.clone(), label.clone(), Status::NotComparable);
        d.reason = Some(reason);
        Some(d)
    };
    // A format-1 side, or a listing that failed on either side.
    for (s, l) in [(sa, &la), (sb, &lb)] {
        if matches!(l, Listing::OldFormat | Listing::Failed(_)) {
            return Ok(not_comparable(s.reason(l).expect("a reason")));
        }
    }
    match (x, y) {
        (Some(x), Some(y)) => compare(sa, x, sb, y, opts),
        (Some(_), None) => Ok(match sb.reason(&lb) {
            None => Some(ResourceDiff::new(r.id.clone(), label, Status::Removed)),
            Some(why) => not_comparable(why),
        }),
        (None, Some(_)) => Ok(match sa.reason(&la) {
            None => Some(ResourceDiff::new(r.id.clone(), label, Status::Added)),
            Some(why) => not_comparable(why),
        }),
        (None, None) => Ok(None),
    }
}

/// Compare one resource present in both snapshots; `None` when nothing differs.
pub fn compare(
    sa: &Side,
    x: &CatalogRecord,
    sb: &Side,
    y: &CatalogRecord,
    opts: &DiffOptions,
) -> Result<Option<ResourceDiff>, DiffError> {
    let spec = kinds::spec(&x.id.kind);
    let mut d = ResourceDiff::new(
        y.id.clone(),
        y.label.clone().or(x.label.clone()),
        Status::Modified,
    );
    // The document: read only when the digests differ.
    let mut docs = None;
    if x.digest != y.digest {
        let (da, db) = (sa.doc(x)?, sb.doc(y)?);
        for c in json::diff_docs(spec, &da, &db) {
            match crate::catalog::normalize::identity_member(spec, &c.pointer) {
                Some(m) if !d.recreated.contains(&m) => d.recreated.push(m),
                Some(_) => {}
                None => d.changes.push(c),
            }
        }
        // In the order the kind declares them (`RoleId, CreateDate`).
        let declared = spec.map(|s| s.identity).unwrap_or(&[]);
        d.recreated.sort_by_key(|m| {
            declared
                .iter()
                .position(|p| p.rsplit('/').next() == Some(m.as_str()))
        });
        docs = Some((da, db));
    }
    // Parts, by blob.
    let volatile = spec.map(|s| s.volatile_parts).unwrap_or(&[]);
    let table = x.id.kind == "aws.dynamodb.table";
    let names: BTreeSet<&String> = x.parts.keys().chain(y.parts.keys()).collect();
    for n in names {
        // Kept secret values are ciphertext, made anew by each run: what they hold shows as
        // the document's markers.
        if volatile.iter().any(|v| select::glob(v, n))
            || (table && items::is_data_part(n))
            || n == crate::kept::KEPT_PART
        {
            continue;
        }
        let state = |r: &CatalogRecord| {
            r.parts
                .get(n)
                .and_then(|p| p.blob.map(|blob| PartState { blob, size: p.size }))
        };
        let (pa, pb) = (state(x), state(y));
        let change = match (&pa, &pb) {
            (None, None) => continue,
            (Some(a), Some(b)) if a.blob == b.blob => continue,
            (Some(_), Some(_)) => Change::Changed,
            (Some(_), None) => Change::Removed,
            (None, Some(_)) => Change::Added,
        };
        let content = match (&pa, &pb) {
            (Some(a), Some(b)) if opts.content => Some(objects::blob_diff(
                sa, &a.blob, a.size, sb, &b.blob, b.size, n,
            )),
            _ => None,
        };
        d.parts.push(PartChange {
            name: n.clone(),
            change,
            before: pa,
            after: pb,
            content,
        });
    }
    let incomplete = |side: &Side, what: &str| {
        format!(
            "the {what} could not be read whole in snapshot `{}`, so they are not compared",
            side.name
        )
    };
    let mut content_not_comparable = false;
    let partial = (x.incomplete || y.incomplete).then_some(if x.incomplete { sa } else { sb });
    // S3 objects.
    if x.id.kind == side::BUCKET {
        if let Some(s) = partial {
            d.notes.push(incomplete(s, "objects"));
            content_not_comparable = true;
        } else {
            let o = objects::diff_objects(
                sa,
                x.index.as_deref(),
                sb,
                y.index.as_deref(),
                &objects::ObjectsOptions {
                    content: opts.content,
                    max_listed: opts.max_listed,
                },
                &mut d.notes,
            )?;
            if o.differs() {
                d.objects = Some(o);
            }
        }
    }
    // DynamoDB items.
    if table {
        let (pa, pb) = (items::data_parts(x), items::data_parts(y));
        let blobs = |v: &[(&str, BlobId)]| -> Vec<BlobId> {
            let mut b: Vec<BlobId> = v.iter().map(|p| p.1).collect();
            b.sort();
            b
        };
        if blobs(&pa) != blobs(&pb) {
            if let Some(s) = partial {
                d.notes.push(incomplete(s, "items"));
                content_not_comparable = true;
            } else {
                let (da, db) = match docs.take() {
                    Some(d) => d,
                    None => (sa.doc(x)?, sb.doc(y)?),
                };
                let (ka, kb) = (items::key_schema(&da), items::key_schema(&db));
                if ka != kb {
                    d.notes.push(
                        "the key schema changed, so items are not compared by key".to_string(),
                    );
                    content_not_comparable = true;
                } else {
                    let it = items::diff_items(sa, x, sb, y, ka.as_deref(), opts.max_listed)?;
                    if it.differs() {
                        d.items = Some(it);
                    }
                }
            }
        }
    }
    // Any other kind: what is partial is the document and its parts themselves (a call that
    // failed, listed in its `Unreadable`), so what differs may be that and nothing else.
    let mut partly_read = None;
    if let (false, false, Some(s)) = (x.id.kind == side::BUCKET, table, partial) {
        d.notes.push(format!(
            "part of its content could not be read in snapshot `{}`, so its parts are not all \
             comparable",
            s.name
        ));
        content_not_comparable = true;
        partly_read = Some(s);
    }
    let differs =
        !d.changes.is_empty() || !d.parts.is_empty() || d.objects.is_some() || d.items.is_some();
    if differs {
        if let Some(s) = partly_read {
            d.status = Status::NotComparable;
            d.reason = Some(format!(
                "it could not be read whole in snapshot `{}`; the differences listed may come \
                 from that",
                s.name
            ));
        }
        return Ok(Some(d));
    }
    if content_not_comparable {
        d.status = Status::NotComparable;
        d.reason = Some(d.notes.remove(0));
        return Ok(Some(d));
    }
    if !d.recreated.is_empty() {
        d.status = Status::Recreated;
        return Ok(Some(d));
    }
    Ok(None)
}

impl std::fmt::Display for DiffReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&render::diff(self, render::Style::plain()))
    }
}

#[cfg(test)]
mod tests;
