//! Typed identifiers: snapshot names and blob ids. Strings that mean different things never
//! travel as bare `String`s between modules.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::CoreError;

/// The name of a snapshot: its directory under the repository root. Either the user's `--label`
/// or a UTC timestamp such as `2026-11-22T03-49-08Z`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SnapshotName(String);

impl SnapshotName {
    /// A name from the current UTC time, sortable as text.
    pub fn from_time(t: chrono::DateTime<chrono::Utc>) -> Self {
        SnapshotName(t.format("%Y-%m-%dT%H-%M-%SZ").to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same name with `-<n>` appended: the default name of a second run started within the
    /// same second.
    pub fn numbered(&self, n: u32) -> Self {
        SnapshotName(format!("{}-{n}", self.0))
    }
}

impl FromStr for SnapshotName {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'));
        if s.is_empty() || s.len() > 100 || !ok_chars || s.starts_with('.') || s.starts_with('-') {
            return Err(CoreError::InvalidName {
                name: s.to_string(),
                why: "a snapshot name (--label) is 1-100 characters of letters, digits, '.', '-', '_' \
                      or '+', and does not start with '.' or '-' (for example: v1.0, before-migration)"
                    .into(),
            });
        }
        Ok(SnapshotName(s.to_string()))
    }
}

impl TryFrom<String> for SnapshotName {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, CoreError> {
        s.parse()
    }
}

impl From<SnapshotName> for String {
    fn from(n: SnapshotName) -> String {
        n.0
    }
}

impl fmt::Display for SnapshotName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The BLAKE3 hash of a blob's content, which is also its name in the store.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId([u8; 32]);

impl BlobId {
    pub fn from_hash(h: blake3::Hash) -> Self {
        BlobId(*h.as_bytes())
    }
    pub fn of(bytes: &[u8]) -> Self {
        BlobId::from_hash(blake3::hash(bytes))
    }
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobId({})", &self.to_hex()[..16])
    }
}

impl FromStr for BlobId {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| CoreError::InvalidName {
            name: s.to_string(),
            why: "a blob id is 64 lowercase hex characters".into(),
        })?;
        Ok(BlobId(out))
    }
}

impl Serialize for BlobId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for BlobId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What a resource is, across every source: `{kind, account, region, id}`. For diff, restore and
/// findings (coming) to address one resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourceId {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub id: String,
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names() {
        for ok in ["v1.0", "2026-11-22T03-49-08Z", "before_migration", "a+b"] {
            assert!(ok.parse::<SnapshotName>().is_ok(), "{ok}");
        }
        for bad in ["", ".hidden", "-x", "a/b", "..", "a b", &"x".repeat(101)] {
            assert!(bad.parse::<SnapshotName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn blob_id_round_trips_through_hex_and_json() {
        let id = BlobId::of(b"hello");
        let back: BlobId = id.to_hex().parse().unwrap();
        assert_eq!(id, back);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<BlobId>(&json).unwrap(), id);
    }
}
