//! The objects of a bucket: a streamed merge of the two snapshots' indexes
//! (`index/s3_buckets/<bucket>.jsonl`, one `S3ObjectRecord` per line in key order), so memory
//! stays flat however many objects a bucket holds. Lines that are byte-identical are unchanged
//! without being parsed; others are compared member by member, leaving out what says nothing
//! about the object itself (`last_modified`, `version_id`, `path`, `escaped`, `checksum`, and the
//! ETag of the same bytes: a multipart upload's differs from a single PUT's).
//!
//! An index whose keys are not in order (S3 lists in key order, so only a hand-made or damaged
//! index) is read whole and sorted instead, with a note.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::content::{diff_bytes, ContentDiff, MAX_TEXT};
use super::json::Change;
use super::side::Side;
use super::DiffError;
use crate::error::{CoreError, IoContext};
use crate::ids::BlobId;

/// Object record members that are not compared.
pub const OBJECT_VOLATILE: &[&str] =
    &["last_modified", "version_id", "path", "escaped", "checksum"];

/// What changed among the objects of one bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObjectsDiff {
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// The objects added, removed or changed, in key order (at most the listing limit).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<ObjectChange>,
    /// Changes counted but not listed (over the limit).
    #[serde(skip_serializing_if = "is_zero")]
    pub not_listed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ObjectsDiff {
    pub fn differs(&self) -> bool {
        self.added + self.removed + self.changed > 0
    }
}

/// One object added, removed or changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectChange {
    pub key: String,
    pub change: Change,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<ObjectState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<ObjectState>,
    /// What changed, for a changed object: `content` (the bytes: another blob), else pointers
    /// into the object record (`/content_type`, `/metadata/<name>`, `/tags/<name>`,
    /// `/storage_class`, `/etag`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<ContentDiff>,
}

/// An object's size and content, on one side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectState {
    pub size: u64,
    pub blob: BlobId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

impl ObjectState {
    fn of(v: &Value) -> Option<ObjectState> {
        Some(ObjectState {
            size: v.get("size")?.as_u64()?,
            blob: v.get("blob")?.as_str()?.parse().ok()?,
            etag: v.get("etag").and_then(Value::as_str).map(str::to_string),
        })
    }
}

/// One index line: its key, its bytes and its line number.
struct Entry {
    key: String,
    line: Vec<u8>,
    no: usize,
}

enum Next {
    Line(Entry),
    End,
    /// A key smaller than the one before.
    Unsorted,
}

trait Source {
    fn next(&mut self) -> Result<Next, DiffError>;
    /// The index file, for errors.
    fn path(&self) -> &Path;
}

/// An index file, line by line.
struct Lines {
    r: Option<BufReader<File>>,
    path: PathBuf,
    line: usize,
    prev: Option<String>,
}

impl Lines {
    fn open(path: Option<PathBuf>) -> Result<Lines, DiffError> {
        let (r, path) = match path {
            Some(p) => match File::open(&p) {
                Ok(f) => (Some(BufReader::with_capacity(1 << 20, f)), p),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, p),
                Err(e) => return Err(CoreError::io("open index", &p, e).into()),
            },
            None => (None, PathBuf::new()),
        };
        Ok(Lines {
            r,
            path,
            line: 0,
            prev: None,
        })
    }

    /// The next line as (key, bytes), without checking the order.
    fn raw(&mut self) -> Result<Option<Entry>, DiffError> {
        let Some(r) = self.r.as_mut() else {
            return Ok(None);
        };
        loop {
            let mut buf = Vec::with_capacity(512);
            let n = r
                .read_until(b'\n', &mut buf)
                .ctx("read index", &self.path)?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            while buf.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
                buf.pop();
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let key = key_of(&buf).map_err(|message| CoreError::Parse {
                path: self.path.clone(),
                line: self.line,
                message: format!(
                    "{message}; the index is damaged: `infrasnap verify` checks the snapshot"
                ),
            })?;
            return Ok(Some(Entry {
                key,
                line: buf,
                no: self.line,
            }));
        }
    }
}

impl Source for Lines {
    fn next(&mut self) -> Result<Next, DiffError> {
        match self.raw()? {
            None => Ok(Next::End),
            Some(e) => {
                if self.prev.as_deref().is_some_and(|p| p > e.key.as_str()) {
                    return Ok(Next::Unsorted);
                }
                self.prev = Some(e.key.clone());
                Ok(Next::Line(e))
            }
        }
    }
    fn path(&self) -> &Path {
        &self.path
    }
}

/// A whole index, sorted by key (the fallback for an index out of order).
struct Sorted(std::vec::IntoIter<Entry>, PathBuf);

impl Source for Sorted {
    fn next(&mut self) -> Result<Next, DiffError> {
        Ok(self.0.next().map(Next::Line).unwrap_or(Next::End))
    }
    fn path(&self) -> &Path {
        &self.1
    }
}

fn sorted(path: Option<PathBuf>) -> Result<Sorted, DiffError> {
    let mut l = Lines::open(path)?;
    let mut v = Vec::new();
    while let Some(e) = l.raw()? {
        v.push(e);
    }
    v.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(Sorted(v.into_iter(), l.path))
}

/// The `key` of an index line: read straight from the line when it starts `{"key":"` with no
/// escape in the key (as infrasnap writes them), else by parsing it.
fn key_of(line: &[u8]) -> Result<String, String> {
    const HEAD: &[u8] = b"{\"key\":\"";
    if let Some(rest) = line.strip_prefix(HEAD) {
        for (i, &c) in rest.iter().enumerate() {
            match c {
                b'"' => {
                    if let Ok(s) = std::str::from_utf8(&rest[..i]) {
                        return Ok(s.to_string());
                    }
                    break;
                }
                b'\\' => break,
                _ => {}
            }
        }
    }
    #[derive(serde::Deserialize)]
    struct K {
        key: String,
    }
    serde_json::from_slice::<K>(line)
        .map(|k| k.key)
        .map_err(|e| e.to_string())
}

fn parse(line: &[u8]) -> Result<Map<String, Value>, String> {
    serde_json::from_slice(line).map_err(|e| e.to_string())
}

/// Parse the line of `e`, read from `src`.
fn parse_entry(src: &dyn Source, e: &Entry) -> Result<Map<String, Value>, DiffError> {
    parse(&e.line).map_err(|message| {
        CoreError::Parse {
            path: src.path().to_path_buf(),
            line: e.no,
            message: format!(
                "{message}; the index is damaged: `infrasnap verify` checks the snapshot"
            ),
        }
        .into()
    })
}

/// What differs between two records of one key: `content` when the blob differs, then pointers
/// to the other members that differ (member by member inside `metadata` and `tags`).
pub fn object_fields(a: &Map<String, Value>, b: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let content = a.get("blob") != b.get("blob");
    if content {
        out.push("content".to_string());
    }
    // The same bytes (one blob on both sides): an ETag that differs says how they were uploaded
    // (in parts or in one PUT, as a restore above the multipart threshold does), not what they are.
    let same_bytes = !content && a.get("blob").is_some_and(|v| !v.is_null());
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for k in keys {
        if OBJECT_VOLATILE.contains(&k.as_str()) || k == "blob" {
            continue;
        }
        // Size and ETag follow the content.
        if (content && (k == "size" || k == "etag")) || (same_bytes && k == "etag") {
            continue;
        }
        let (x, y) = (a.get(k), b.get(k));
        if x == y {
            continue;
        }
        if k == "metadata" || k == "tags" {
            let empty = Map::new();
            let mx = x.and_then(Value::as_object).unwrap_or(&empty);
            let my = y.and_then(Value::as_object).unwrap_or(&empty);
            let names: BTreeSet<&String> = mx.keys().chain(my.keys()).collect();
            for n in names {
                if mx.get(n) != my.get(n) {
                    out.push(format!("/{k}/{}", n.replace('~', "~0").replace('/', "~1")));
                }
            }
        } else {
            out.push(format!("/{k}"));
        }
    }
    out
}

/// Options of one bucket's comparison.
pub struct ObjectsOptions {
    pub content: bool,
    pub max_listed: usize,
}

/// Compare the objects of a bucket: `ia` / `ib` are the index files (absent: no objects).
pub fn diff_objects(
    sa: &Side,
    ia: Option<&str>,
    sb: &Side,
    ib: Option<&str>,
    opts: &ObjectsOptions,
    notes: &mut Vec<String>,
) -> Result<ObjectsDiff, DiffError> {
    let pa = ia.map(|p| sa.dir.join(p));
    let pb = ib.map(|p| sb.dir.join(p));
    let mut la = Lines::open(pa.clone())?;
    let mut lb = Lines::open(pb.clone())?;
    match merge(&mut la, &mut lb, sa, sb, opts)? {
        Some(d) => Ok(d),
        None => {
            notes.push(
                "an object index is not in key order; it was read whole and sorted".to_string(),
            );
            let (mut xa, mut xb) = (sorted(pa)?, sorted(pb)?);
            Ok(merge(&mut xa, &mut xb, sa, sb, opts)?.expect("sorted input"))
        }
    }
}

/// The merge; `None` when an input turned out not to be in key order.
fn merge(
    a: &mut dyn Source,
    b: &mut dyn Source,
    sa: &Side,
    sb: &Side,
    opts: &ObjectsOptions,
) -> Result<Option<ObjectsDiff>, DiffError> {
    fn next(s: &mut dyn Source) -> Result<Option<Option<Entry>>, DiffError> {
        Ok(match s.next()? {
            Next::Line(e) => Some(Some(e)),
            Next::End => Some(None),
            Next::Unsorted => None,
        })
    }
    let mut d = ObjectsDiff::default();
    let (Some(mut x), Some(mut y)) = (next(a)?, next(b)?) else {
        return Ok(None);
    };
    loop {
        let ord = match (&x, &y) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(ea), Some(eb)) => ea.key.cmp(&eb.key),
        };
        match ord {
            std::cmp::Ordering::Less => {
                let e = x.take().expect("entry");
                d.removed += 1;
                if d.changes.len() < opts.max_listed {
                    let v = parse_entry(a, &e)?;
                    d.changes.push(ObjectChange {
                        key: e.key,
                        change: Change::Removed,
                        before: ObjectState::of(&Value::Object(v)),
                        after: None,
                        fields: Vec::new(),
                        content: None,
                    });
                } else {
                    d.not_listed += 1;
                }
                let Some(n) = next(a)? else { return Ok(None) };
                x = n;
            }
            std::cmp::Ordering::Greater => {
                let e = y.take().expect("entry");
                d.added += 1;
                if d.changes.len() < opts.max_listed {
                    let v = parse_entry(b, &e)?;
                    d.changes.push(ObjectChange {
                        key: e.key,
                        change: Change::Added,
                        before: None,
                        after: ObjectState::of(&Value::Object(v)),
                        fields: Vec::new(),
                        content: None,
                    });
                } else {
                    d.not_listed += 1;
                }
                let Some(n) = next(b)? else { return Ok(None) };
                y = n;
            }
            std::cmp::Ordering::Equal => {
                let ea = x.take().expect("entry");
                let eb = y.take().expect("entry");
                if ea.line == eb.line {
                    d.unchanged += 1;
                } else {
                    let va = parse_entry(a, &ea)?;
                    let vb = parse_entry(b, &eb)?;
                    let fields = object_fields(&va, &vb);
                    if fields.is_empty() {
                        d.unchanged += 1;
                    } else {
                        d.changed += 1;
                        if d.changes.len() < opts.max_listed {
                            let (oa, ob) = (
                                ObjectState::of(&Value::Object(va)),
                                ObjectState::of(&Value::Object(vb)),
                            );
                            let content = match (&oa, &ob) {
                                (Some(oa), Some(ob)) if opts.content && oa.blob != ob.blob => {
                                    Some(content_of(sa, oa, sb, ob, &ea.key))
                                }
                                _ => None,
                            };
                            d.changes.push(ObjectChange {
                                key: ea.key,
                                change: Change::Changed,
                                before: oa,
                                after: ob,
                                fields,
                                content,
                            });
                        } else {
                            d.not_listed += 1;
                        }
                    }
                }
                let (Some(n), Some(m)) = (next(a)?, next(b)?) else {
                    return Ok(None);
                };
                x = n;
                y = m;
            }
        }
    }
    Ok(Some(d))
}

/// The content diff of two blobs (sizes checked before reading).
pub fn content_of(
    sa: &Side,
    a: &ObjectState,
    sb: &Side,
    b: &ObjectState,
    name: &str,
) -> ContentDiff {
    blob_diff(sa, &a.blob, a.size, sb, &b.blob, b.size, name)
}

/// The content diff of two blobs of the repository, `name` the file's name.
pub fn blob_diff(
    sa: &Side,
    a: &BlobId,
    size_a: u64,
    sb: &Side,
    b: &BlobId,
    size_b: u64,
    name: &str,
) -> ContentDiff {
    let zip = name.to_ascii_lowercase().ends_with(".zip");
    let limit = if zip {
        super::content::MAX_ZIP
    } else {
        MAX_TEXT
    };
    if size_a > limit || size_b > limit {
        return ContentDiff::TooLarge {
            before_size: size_a,
            after_size: size_b,
        };
    }
    match (sa.read_blob(a), sb.read_blob(b)) {
        (Ok(x), Ok(y)) => diff_bytes(name, &x, &y),
        (Err(e), _) | (_, Err(e)) => ContentDiff::Unreadable {
            message: e.to_string(),
        },
    }
}

/// Find the record of `key` in an index file (a linear scan; for `log` of one object).
pub fn find_object(index: &Path, key: &str) -> Result<Option<Map<String, Value>>, DiffError> {
    let mut l = Lines::open(Some(index.to_path_buf()))?;
    while let Some(e) = l.raw()? {
        if e.key == key {
            return parse_entry(&l, &e).map(Some);
        }
    }
    Ok(None)
}

/// Find the record whose tree `path` is `path` in an index file.
pub fn find_object_by_path(
    index: &Path,
    path: &str,
) -> Result<Option<Map<String, Value>>, DiffError> {
    let mut l = Lines::open(Some(index.to_path_buf()))?;
    let needle = serde_json::to_string(path).expect("string");
    while let Some(e) = l.raw()? {
        // Cheap filter before parsing: the path's JSON text must occur in the line.
        if !e.line.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            continue;
        }
        let v = parse_entry(&l, &e)?;
        if v.get("path").and_then(Value::as_str) == Some(path) {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_etag_of_the_same_bytes_is_no_change() {
        let rec = |blob: Option<&str>, etag: &str, class: &str| {
            let mut m = Map::new();
            m.insert("key".into(), "a".into());
            if let Some(b) = blob {
                m.insert("blob".into(), b.into());
            }
            m.insert("etag".into(), etag.into());
            m.insert("storage_class".into(), class.into());
            m
        };
        let single = rec(Some("b1"), "\"9e1\"", "STANDARD");
        // Uploaded again in parts: same blob, another ETag.
        assert!(object_fields(&single, &rec(Some("b1"), "\"77a-3\"", "STANDARD")).is_empty());
        // Other bytes: content (its ETag follows it).
        assert_eq!(
            object_fields(&single, &rec(Some("b2"), "\"5c0\"", "STANDARD")),
            ["content"]
        );
        // Without blobs the ETag is all there is to compare.
        assert_eq!(
            object_fields(
                &rec(None, "\"1\"", "STANDARD"),
                &rec(None, "\"2\"", "STANDARD")
            ),
            ["/etag"]
        );
        assert_eq!(
            object_fields(&single, &rec(Some("b1"), "\"77a-3\"", "GLACIER")),
            ["/storage_class"]
        );
    }
}
