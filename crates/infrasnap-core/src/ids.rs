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

/// What a resource is, across every source: `{kind, account, region, id}`.
///
/// `kind` names the resource type (`aws.lambda.function`, `aws.route53.record_set`,
/// `gas.project`, `local.git`); `id` is the service's own id (a name, an ARN, a zone id). The id
/// is stable across snapshots: it depends on nothing but the resource itself, never on sibling
/// resources, on how many accounts a run captures, or on run order. `account` and `region` are
/// empty where the kind has none (a global kind has no region; local sources have neither).
///
/// Its text form is `kind:account:region:id`, e.g.
/// `aws.lambda.function:123456789012:us-east-1:checkout`, `aws.route53.zone:123456789012::Z1D633`,
/// `local.git:::ops-scripts`. The id is last, so it may itself hold `:` (ARNs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId {
    pub kind: String,
    pub account: String,
    pub region: String,
    pub id: String,
}

impl ResourceId {
    pub fn new(
        kind: impl Into<String>,
        account: impl Into<String>,
        region: impl Into<String>,
        id: impl Into<String>,
    ) -> Self {
        ResourceId {
            kind: kind.into(),
            account: account.into(),
            region: region.into(),
            id: id.into(),
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.kind, self.account, self.region, self.id
        )
    }
}

impl FromStr for ResourceId {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        let bad = |why: &str| CoreError::InvalidName {
            name: s.to_string(),
            why: format!(
                "{why}; a resource id is `kind:account:region:id`, for example \
                 `aws.lambda.function:123456789012:us-east-1:checkout` (`infrasnap diff` and \
                 `infrasnap log --json` print the ids of a snapshot)"
            ),
        };
        let mut it = s.splitn(4, ':');
        let (Some(kind), Some(account), Some(region), Some(id)) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            return Err(bad("it has fewer than four `:`-separated parts"));
        };
        let kind_ok = !kind.is_empty()
            && kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_');
        if !kind_ok {
            return Err(bad("the kind is lower-case letters, digits, `.` and `_`"));
        }
        if id.is_empty() {
            return Err(bad("the id part is empty"));
        }
        Ok(ResourceId::new(kind, account, region, id))
    }
}

impl Serialize for ResourceId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ResourceId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
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
    fn resource_ids_round_trip_through_text_and_json() {
        for text in [
            "aws.lambda.function:123456789012:us-east-1:checkout",
            "aws.route53.zone:123456789012::Z1D633PJN98FT9",
            "local.git:::ops-scripts",
            "aws.lambda.layer_version:1:eu-west-1:arn:aws:lambda:eu-west-1:1:layer:x:3",
        ] {
            let id: ResourceId = text.parse().unwrap();
            assert_eq!(id.to_string(), text);
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<ResourceId>(&json).unwrap(), id);
        }
        for bad in [
            "",
            "aws.lambda.function",
            "a:b:c",
            "Aws.X:1:r:id",
            "aws.x:1:r:",
        ] {
            let e = bad.parse::<ResourceId>().unwrap_err().to_string();
            assert!(e.contains("kind:account:region:id"), "{bad}: {e}");
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
