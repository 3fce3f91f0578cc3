//! The history of one resource across snapshots, oldest first: one entry per snapshot where it
//! was first seen, changed (naming what), gone, back again, or not read (its listing failed, or
//! the run did not capture its kind). Unchanged snapshots have no entry. `--field <pointer>`
//! narrows the entries to changes of one field, with its value before and after.
//!
//! The resource is named by its id, or by a tree path: a record's document, one of its parts,
//! or an S3 object's file (then the history is that object's).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::json::{canonical_at, has_marker, mask, Change, FieldChange};
use super::objects::{find_object, find_object_by_path, object_fields};
use super::side::{Listing, Side};
use super::{compare, DiffError, DiffOptions, ItemsDiff, ObjectsDiff, PartChange};
use crate::catalog::{kinds, CatalogRecord};
use crate::error::CoreError;
use crate::ids::ResourceId;

/// What to follow.
#[derive(Debug, Clone, PartialEq)]
pub enum LogTarget {
    Id(ResourceId),
    /// A path relative to a snapshot folder (a leading snapshot folder or name is stripped).
    Path(String),
}

impl FromStr for LogTarget {
    type Err = CoreError;
    /// Text whose part before the first `:` holds no `/` is a resource id (and must parse as
    /// one); anything else is a tree path.
    fn from_str(s: &str) -> Result<Self, CoreError> {
        match s.split_once(':') {
            Some((head, _)) if !head.contains('/') => Ok(LogTarget::Id(s.parse()?)),
            _ => Ok(LogTarget::Path(s.to_string())),
        }
    }
}

/// How to follow it.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// Only changes of this field (an RFC 6901 pointer into the canonical document, or into the
    /// object record for an S3 object).
    pub field: Option<String>,
}

/// What happened to the resource in one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    FirstSeen,
    Changed,
    Gone,
    /// Present again after a snapshot where it was gone (compared with when it was last seen).
    Reappeared,
    NotRead,
}

/// One snapshot's entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
    pub snapshot: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    pub event: Event,
    /// Why it was not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Changed fields of the document (since it was last seen).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartChange>,
    /// Counts only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects: Option<ObjectsDiff>,
    /// Counts only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<ItemsDiff>,
    /// For an S3 object: what changed (`content`, `/metadata/<name>`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// With `--field`: how the field changed (`secret`: a redacted value; no values then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl LogEntry {
    fn new(side: &Side, event: Event) -> Self {
        LogEntry {
            snapshot: side.name.clone(),
            started_at: side.meta.as_ref().map(|m| m.started_at),
            event,
            reason: None,
            changes: Vec::new(),
            parts: Vec::new(),
            objects: None,
            items: None,
            fields: Vec::new(),
            change: None,
            before: None,
            after: None,
            notes: Vec::new(),
        }
    }
}

/// The result of [`log_resource`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogReport {
    /// `"log"`.
    pub report: &'static str,
    pub version: u32,
    pub id: ResourceId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The S3 object followed, when the target was an object's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The snapshots read, oldest first.
    pub snapshots: Vec<String>,
    pub entries: Vec<LogEntry>,
}

/// What one snapshot holds of the target.
enum Seen {
    Resource(Box<CatalogRecord>),
    Object(Map<String, Value>),
    Absent,
    NotRead(String, bool),
}

/// Follow `target` through the snapshot folders `dirs` (oldest first) of the repository whose
/// blob store is `blobs`.
pub fn log_resource(
    dirs: &[PathBuf],
    blobs: &Path,
    target: &LogTarget,
    opts: &LogOptions,
) -> Result<LogReport, DiffError> {
    let sides: Vec<Side> = dirs
        .iter()
        .map(|d| Side::open(d, blobs))
        .collect::<Result<_, _>>()?;
    let (id, object) = resolve(&sides, target)?;
    let spec = kinds::spec(&id.kind);
    let field = opts.field.as_deref();
    let diff_opts = DiffOptions {
        content: false,
        max_listed: 0,
    };
    let mut entries = Vec::new();
    let mut label = None;
    // The side index and state where it was last present.
    let mut last: Option<(usize, Seen)> = None;
    let mut gone = false;
    for (i, s) in sides.iter().enumerate() {
        let seen = seen_in(s, &id, object.as_deref())?;
        match &seen {
            Seen::Resource(_) | Seen::Object(_) => {
                if let Seen::Resource(r) = &seen {
                    label = r.label.clone().or(label);
                }
                let value_now = value_at(s, &seen, spec, field)?;
                let entry = match &last {
                    None => {
                        let mut e = LogEntry::new(s, Event::FirstSeen);
                        if field.is_some() {
                            e.after = value_now.as_ref().map(mask);
                        }
                        Some(e)
                    }
                    Some((li, prev)) => {
                        let event = if gone {
                            Event::Reappeared
                        } else {
                            Event::Changed
                        };
                        let mut e = LogEntry::new(s, event);
                        let mut differs = false;
                        if field.is_some() {
                            let before = value_at(&sides[*li], prev, spec, field)?;
                            if before != value_now {
                                differs = true;
                                if has_marker(before.as_ref().unwrap_or(&Value::Null))
                                    || has_marker(value_now.as_ref().unwrap_or(&Value::Null))
                                {
                                    e.change = Some(Change::Secret);
                                } else {
                                    e.change = Some(match (&before, &value_now) {
                                        (None, _) => Change::Added,
                                        (_, None) => Change::Removed,
                                        _ => Change::Changed,
                                    });
                                    e.before = before;
                                    e.after = value_now.clone();
                                }
                            }
                        } else {
                            match (prev, &seen) {
                                (Seen::Resource(pr), Seen::Resource(r)) => {
                                    if let Some(d) = compare(&sides[*li], pr, s, r, &diff_opts)? {
                                        differs = true;
                                        e.changes = d.changes;
                                        e.parts = d.parts;
                                        e.objects = d.objects;
                                        e.items = d.items;
                                        e.notes = d.notes;
                                    }
                                }
                                (Seen::Object(po), Seen::Object(o)) => {
                                    e.fields = object_fields(po, o);
                                    differs = !e.fields.is_empty();
                                }
                                _ => {}
                            }
                        }
                        (differs || gone).then_some(e)
                    }
                };
                entries.extend(entry);
                last = Some((i, seen));
                gone = false;
            }
            Seen::Absent => {
                if let (Some((li, prev)), false) = (&last, gone) {
                    let mut e = LogEntry::new(s, Event::Gone);
                    if field.is_some() {
                        e.before = value_at(&sides[*li], prev, spec, field)?.map(|v| mask(&v));
                    }
                    entries.push(e);
                    gone = true;
                }
            }
            Seen::NotRead(reason, failed) => {
                if last.is_some() || *failed {
                    let mut e = LogEntry::new(s, Event::NotRead);
                    e.reason = Some(reason.clone());
                    entries.push(e);
                }
            }
        }
    }
    Ok(LogReport {
        report: "log",
        version: 1,
        id,
        label,
        object,
        field: opts.field.clone(),
        snapshots: sides.iter().map(|s| s.name.clone()).collect(),
        entries,
    })
}

/// The value of `field` in what a snapshot holds (`None`: no field asked, or absent).
fn value_at(
    side: &Side,
    seen: &Seen,
    spec: Option<&'static kinds::KindSpec>,
    field: Option<&str>,
) -> Result<Option<Value>, DiffError> {
    let Some(f) = field else { return Ok(None) };
    Ok(match seen {
        Seen::Resource(r) => canonical_at(spec, &side.doc(r)?, f),
        Seen::Object(o) => Value::Object(o.clone()).pointer(f).cloned(),
        _ => None,
    })
}

/// What snapshot `s` holds of `id` (and of its object `key`).
fn seen_in(s: &Side, id: &ResourceId, key: Option<&str>) -> Result<Seen, DiffError> {
    let listing = s.listing(id);
    let failed = matches!(listing, Listing::Failed(_));
    let rec = s.catalog.get(id);
    let Some(rec) = rec.filter(|_| !failed) else {
        return Ok(match s.reason(&listing) {
            None => Seen::Absent,
            Some(r) => Seen::NotRead(r, failed),
        });
    };
    let Some(key) = key else {
        return Ok(Seen::Resource(Box::new(rec.clone())));
    };
    if rec.incomplete {
        return Ok(Seen::NotRead(
            format!(
                "the objects of the bucket could not be read whole in snapshot `{}`",
                s.name
            ),
            true,
        ));
    }
    Ok(match &rec.index {
        Some(ix) => match find_object(&s.dir.join(ix), key)? {
            Some(o) => Seen::Object(o),
            None => Seen::Absent,
        },
        None => Seen::Absent,
    })
}

/// The id (and object key) a target names, looked up from the newest snapshot back.
fn resolve(sides: &[Side], target: &LogTarget) -> Result<(ResourceId, Option<String>), DiffError> {
    let not_found = |t: &str| DiffError::NotFound {
        target: t.to_string(),
        snapshots: sides
            .iter()
            .map(|s| format!("`{}`", s.name))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let path = match target {
        LogTarget::Id(id) => {
            return if sides.iter().any(|s| s.catalog.get(id).is_some()) {
                Ok((id.clone(), None))
            } else {
                Err(not_found(&id.to_string()))
            };
        }
        LogTarget::Path(p) => p,
    };
    for s in sides.iter().rev() {
        let rel = relative(s, path);
        for r in &s.catalog.records {
            if r.path.as_deref() == Some(rel.as_str()) {
                return Ok((r.id.clone(), None));
            }
            for p in r.parts.values() {
                if p.path == rel {
                    return Ok((r.id.clone(), None));
                }
                let under = rel
                    .strip_prefix(p.path.as_str())
                    .is_some_and(|rest| rest.starts_with('/'));
                if p.blob.is_none() && under {
                    if let Some(ix) = &r.index {
                        if let Some(o) = find_object_by_path(&s.dir.join(ix), &rel)? {
                            let key = o.get("key").and_then(Value::as_str).map(str::to_string);
                            return Ok((r.id.clone(), key));
                        }
                    }
                }
            }
        }
    }
    Err(not_found(path))
}

/// `path` relative to the snapshot folder: a leading snapshot folder (absolute or relative) or
/// snapshot name is stripped, and `./`.
fn relative(s: &Side, path: &str) -> String {
    let p = Path::new(path);
    if let Ok(rest) = p.strip_prefix(&s.dir) {
        return rest.to_string_lossy().into_owned();
    }
    let t = path.trim_start_matches("./");
    match t.split_once('/') {
        Some((head, rest)) if head == s.name => rest.to_string(),
        _ => t.to_string(),
    }
}
