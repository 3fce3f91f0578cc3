//! S3 records: one [`S3ObjectRecord`] per object (a line of `index/s3_buckets/<bucket>.jsonl`)
//! and one [`S3BucketRecord`] per bucket (`s3_bucket_config/<bucket>.json`). Together they hold
//! everything a restore must put back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::BlobId;

/// One captured object: its exact key, the attributes S3 reported, and where its bytes are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct S3ObjectRecord {
    /// The exact key, byte for byte (JSON escapes control characters).
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// RFC 3339, UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    /// The Expires header as S3 returned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_redirect_location: Option<String>,
    /// User metadata (`x-amz-meta-*`), names lower-case as S3 returns them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// `AES256`, `aws:kms`, `aws:kms:dsse`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sse: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sse_kms_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_key_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Additional checksum S3 reported (`CRC32`, `CRC32C`, `SHA1`, `SHA256`, ...), base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<Checksum>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_lock: Option<ObjectLock>,
    /// The BLAKE3 of the content: the blob in the store.
    pub blob: BlobId,
    /// Path of the tree file (or folder, for a folder marker), relative to the snapshot root.
    pub path: String,
    /// True when the key could not be a plain path (see docs/FORMAT.md, "Keys and paths").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub escaped: bool,
    /// A zero-byte key ending in `/`, shown as a folder.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dir_marker: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    pub algorithm: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectLock {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_hold: Option<String>,
}

/// A bucket and its configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct S3BucketRecord {
    pub name: String,
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_date: Option<String>,
    /// One entry per configuration: `versioning`, `policy`, `cors`, `website`, `lifecycle`,
    /// `encryption`, `tagging`, `notifications`, `replication`, `ownership_controls`,
    /// `public_access_block`, `acl`, `logging`.
    pub config: BTreeMap<String, ConfigValue>,
    /// Objects captured and their total size.
    #[serde(default)]
    pub object_count: u64,
    #[serde(default)]
    pub total_bytes: u64,
}

/// One bucket setting: present with its value (shaped like the S3 API's own output, PascalCase),
/// absent (S3 answered NoSuch...: the bucket has none), or not read (an error, also listed in the
/// snapshot's errors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConfigValue {
    Present {
        value: serde_json::Value,
    },
    Absent,
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        message: String,
    },
}
