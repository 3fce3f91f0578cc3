//! The items of a DynamoDB table: its `data/*.json.gz` parts (gzip, one `{"Item":{...}}` per
//! line in DynamoDB JSON), matched by primary key (the table document's `/KeySchema`).
//!
//! Two passes, so memory holds one 16-byte hash per item of one side, never two tables: the
//! first hashes every item of the earlier snapshot by key and streams the later one against it;
//! the second reads only the items that changed (up to the listing limit) to name the attributes
//! that differ.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};

use flate2::read::MultiGzDecoder;
use serde::Serialize;
use serde_json::{Map, Value};

use super::json::Change;
use super::side::Side;
use super::DiffError;
use crate::catalog::CatalogRecord;
use crate::error::{CoreError, IoContext};
use crate::ids::BlobId;

/// What changed among the items of one table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ItemsDiff {
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// Items added, removed or changed, by key (at most the listing limit).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<ItemChange>,
    #[serde(skip_serializing_if = "is_zero")]
    pub not_listed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ItemsDiff {
    pub fn differs(&self) -> bool {
        self.added + self.removed + self.changed > 0
    }
}

/// One item added, removed or changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemChange {
    /// The primary key: `pk=user#1, sk=42`.
    pub key: String,
    pub change: Change,
    /// For a changed item: the attributes added, removed or changed (names only: item values
    /// are not shown).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
}

/// The parts of a table record that hold items, in name order.
pub fn data_parts(rec: &CatalogRecord) -> Vec<(&str, BlobId)> {
    rec.parts
        .iter()
        .filter(|(n, p)| is_data_part(n) && p.blob.is_some())
        .map(|(n, p)| (n.as_str(), p.blob.expect("blob")))
        .collect()
}

/// Is a part of a table one of its item files?
pub fn is_data_part(name: &str) -> bool {
    name.starts_with("data/")
}

/// The attribute names of the key schema, partition key first (`None`: no schema).
pub fn key_schema(doc: &Value) -> Option<Vec<String>> {
    let ks = doc.pointer("/KeySchema")?.as_array()?;
    let mut keys: Vec<(bool, String)> = ks
        .iter()
        .filter_map(|k| {
            Some((
                k.get("KeyType")?.as_str()? != "HASH",
                k.get("AttributeName")?.as_str()?.to_string(),
            ))
        })
        .collect();
    keys.sort_by_key(|a| a.0);
    (!keys.is_empty()).then(|| keys.into_iter().map(|k| k.1).collect())
}

/// `name=value` of each key attribute; the whole item without a schema.
fn key_text(item: &Map<String, Value>, schema: Option<&[String]>) -> String {
    let Some(schema) = schema else {
        return Value::Object(item.clone()).to_string();
    };
    schema
        .iter()
        .map(|a| {
            let v = match item.get(a) {
                Some(Value::Object(t)) => match t.iter().next() {
                    Some((_, Value::String(s))) => s.clone(),
                    Some((_, other)) => other.to_string(),
                    None => "{}".into(),
                },
                Some(other) => other.to_string(),
                None => "(missing)".into(),
            };
            format!("{a}={v}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Call `f` with every item of the parts, in file and line order.
fn each_item(
    side: &Side,
    parts: &[(&str, BlobId)],
    f: &mut dyn FnMut(Map<String, Value>),
) -> Result<(), DiffError> {
    for (_, blob) in parts {
        let p = side.blob_path(blob);
        let file = std::fs::File::open(&p).ctx("open item file", &p)?;
        let r = BufReader::with_capacity(1 << 20, MultiGzDecoder::new(file));
        for (i, line) in r.lines().enumerate() {
            let line = line.ctx("read item file", &p)?;
            if line.trim().is_empty() {
                continue;
            }
            let mut v: Map<String, Value> =
                serde_json::from_str(&line).map_err(|e| CoreError::Parse {
                    path: p.clone(),
                    line: i + 1,
                    message: e.to_string(),
                })?;
            match v.remove("Item") {
                Some(Value::Object(item)) => f(item),
                _ => {
                    return Err(CoreError::Parse {
                        path: p.clone(),
                        line: i + 1,
                        message: "a line of an item file is `{\"Item\": {...}}`".into(),
                    }
                    .into())
                }
            }
        }
    }
    Ok(())
}

fn hash(item: &Map<String, Value>) -> [u8; 16] {
    let h = blake3::hash(&serde_json::to_vec(item).expect("JSON"));
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.as_bytes()[..16]);
    out
}

/// Compare the items of two tables (the parts of `ra` in `sa` and of `rb` in `sb`); `schema`
/// is the key schema both share.
pub fn diff_items(
    sa: &Side,
    ra: &CatalogRecord,
    sb: &Side,
    rb: &CatalogRecord,
    schema: Option<&[String]>,
    max_listed: usize,
) -> Result<ItemsDiff, DiffError> {
    let (pa, pb) = (data_parts(ra), data_parts(rb));
    // Pass 1.
    let mut before: HashMap<String, [u8; 16]> = HashMap::new();
    each_item(sa, &pa, &mut |item| {
        before.insert(key_text(&item, schema), hash(&item));
    })?;
    let mut d = ItemsDiff::default();
    let mut changed: BTreeSet<String> = BTreeSet::new();
    let mut added: BTreeSet<String> = BTreeSet::new();
    each_item(sb, &pb, &mut |item| {
        let k = key_text(&item, schema);
        match before.remove(&k) {
            None => {
                d.added += 1;
                added.insert(k);
            }
            Some(h) if h != hash(&item) => {
                d.changed += 1;
                changed.insert(k);
            }
            Some(_) => d.unchanged += 1,
        }
    })?;
    d.removed = before.len() as u64;
    let removed: BTreeSet<String> = before.into_keys().collect();
    // The listing, in key order, up to the limit.
    let mut listed: BTreeMap<&String, Change> = BTreeMap::new();
    for (set, c) in [
        (&added, Change::Added),
        (&removed, Change::Removed),
        (&changed, Change::Changed),
    ] {
        for k in set {
            listed.insert(k, c);
        }
    }
    let total = listed.len();
    let listed: Vec<(&String, Change)> = listed.into_iter().take(max_listed).collect();
    d.not_listed = (total - listed.len()) as u64;
    // Pass 2: the attributes of the changed items that are listed.
    let want: BTreeSet<&String> = listed
        .iter()
        .filter(|(_, c)| *c == Change::Changed)
        .map(|(k, _)| *k)
        .collect();
    let mut old: HashMap<String, Map<String, Value>> = HashMap::new();
    let mut new: HashMap<String, Map<String, Value>> = HashMap::new();
    if !want.is_empty() {
        for (side, parts, into) in [(sa, &pa, &mut old), (sb, &pb, &mut new)] {
            each_item(side, parts, &mut |item| {
                let k = key_text(&item, schema);
                if want.contains(&k) {
                    into.insert(k, item);
                }
            })?;
        }
    }
    for (k, c) in listed {
        let attributes = match (old.get(k), new.get(k)) {
            (Some(a), Some(b)) => {
                let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                names
                    .into_iter()
                    .filter(|n| a.get(*n) != b.get(*n))
                    .cloned()
                    .collect()
            }
            _ => Vec::new(),
        };
        d.changes.push(ItemChange {
            key: k.clone(),
            change: c,
            attributes,
        });
    }
    Ok(d)
}
