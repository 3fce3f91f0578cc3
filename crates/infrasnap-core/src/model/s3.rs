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
    /// What the bucket listing said of the object, where it differs from `etag` and
    /// `last_modified` above (which come from GetObject then): a server whose listing has no ETag
    /// or gives times to the millisecond. The next run compares its listing with this, like with
    /// like ([`S3ObjectRecord::unchanged_since`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed: Option<ListingStamp>,
    /// Read with a customer-provided key (SSE-C): its algorithm and the keyed fingerprint of
    /// the key (never the key), so that a restore can ask for the right one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sse_customer: Option<SseCustomer>,
    /// In the versions index only: whether this version is the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_latest: Option<bool>,
    /// In the versions index only: a delete marker (no content; its tree file is empty).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_marker: bool,
}

/// How an SSE-C object was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SseCustomer {
    /// `AES256`.
    pub algorithm: String,
    /// The repository's keyed fingerprint of the key (`fp:...`).
    pub key_fingerprint: String,
}

/// The identity fields of one object as a bucket listing gave them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingStamp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

/// One object as a listing shows it: what an earlier record is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedObject<'a> {
    pub version_id: Option<&'a str>,
    pub size: u64,
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
}

impl S3ObjectRecord {
    /// The ETag and time the listing gave when this record was made.
    pub fn listing_view(&self) -> (Option<&str>, Option<&str>) {
        match &self.listed {
            Some(l) => (l.etag.as_deref(), l.last_modified.as_deref()),
            None => (self.etag.as_deref(), self.last_modified.as_deref()),
        }
    }

    /// Whether the object a listing shows now is the one this record captured, comparing like
    /// with like: listing against listing. Version ids decide where both sides have real ones;
    /// otherwise the ETag, the size and the listing's time must all match, and where the listing
    /// gives no ETag, size and time decide. A listing with neither ETag nor time proves nothing.
    pub fn unchanged_since(&self, now: &ListedObject<'_>) -> bool {
        let (etag, time) = self.listing_view();
        if self.size != now.size || time != now.last_modified {
            return false;
        }
        match (self.version_id.as_deref(), now.version_id) {
            (Some(a), Some(b)) if a != "null" || b != "null" => return a == b,
            _ => {}
        }
        if now.etag.is_none() && now.last_modified.is_none() {
            return false;
        }
        etag == now.etag
    }
}

/// Whether two RFC 3339 times name the same second (a listing may give milliseconds where
/// GetObject's HTTP date has whole seconds).
pub fn same_second(a: &str, b: &str) -> bool {
    let cut = |s: &str| {
        s.get(..19)
            .map(str::to_string)
            .unwrap_or_else(|| s.to_string())
    };
    cut(a) == cut(b)
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

/// One customer-provided key (SSE-C): 32 bytes, never printed, logged or stored.
#[derive(Clone)]
pub struct SseCKey {
    bytes: crate::secrets::Sensitive<Vec<u8>>,
    /// Where it came from (a file name), for messages.
    pub source: String,
}

impl std::fmt::Debug for SseCKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SseCKey(from {})", self.source)
    }
}

impl SseCKey {
    /// A key file's content: 32 raw bytes, or their base64 or hex text (surrounding white
    /// space ignored).
    pub fn parse(raw: &[u8], source: &str) -> std::result::Result<SseCKey, String> {
        use base64::Engine;
        let key = if raw.len() == 32 {
            raw.to_vec()
        } else {
            let text = std::str::from_utf8(raw).unwrap_or("").trim();
            let decoded = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                hex::decode(text).ok()
            } else {
                base64::engine::general_purpose::STANDARD.decode(text).ok()
            };
            match decoded {
                Some(k) if k.len() == 32 => k,
                _ => {
                    return Err(format!(
                        "{source}: an SSE-C key must be 32 bytes (AES-256): the raw bytes, or \
                         their base64 (44 characters) or hex (64 characters) text; make one with \
                         `openssl rand 32 > FILE`"
                    ))
                }
            }
        };
        Ok(SseCKey {
            bytes: crate::secrets::Sensitive::new(key),
            source: source.to_string(),
        })
    }

    /// Read a key file.
    pub fn load(path: &std::path::Path) -> std::result::Result<SseCKey, String> {
        let raw = std::fs::read(path).map_err(|e| {
            format!(
                "{}: cannot read the SSE-C key file: {e} (check the path given with \
                 --sse-c-key-file or key_file in [[s3.sse_c]])",
                path.display()
            )
        })?;
        SseCKey::parse(&raw, &path.display().to_string())
    }

    /// The key as the `x-amz-server-side-encryption-customer-key` header wants it.
    pub fn base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.bytes.expose())
    }

    /// The key's MD5, as `x-amz-server-side-encryption-customer-key-MD5` wants it.
    pub fn md5_base64(&self) -> String {
        use base64::Engine;
        use md5::Digest;
        base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(self.bytes.expose()))
    }

    /// The repository's keyed fingerprint of the key: what a record keeps.
    pub fn fingerprint(&self, fp: &crate::secrets::Fingerprinter) -> String {
        fp.marker(self.bytes.expose())
    }
}

/// The SSE-C keys of a run: per bucket and key prefix (the longest matching prefix wins), and a
/// default (`--sse-c-key-file`) tried for any other object S3 says needs a customer key.
#[derive(Clone, Default, Debug)]
pub struct SseCKeyRing {
    default: Option<SseCKey>,
    rules: Vec<(String, String, SseCKey)>,
}

impl SseCKeyRing {
    pub fn new(default: Option<SseCKey>, rules: Vec<(String, String, SseCKey)>) -> Self {
        SseCKeyRing { default, rules }
    }

    pub fn is_empty(&self) -> bool {
        self.default.is_none() && self.rules.is_empty()
    }

    /// The key configured for exactly this object (by bucket and prefix), if any.
    pub fn for_object(&self, bucket: &str, key: &str) -> Option<&SseCKey> {
        self.rules
            .iter()
            .filter(|(b, p, _)| b == bucket && key.starts_with(p.as_str()))
            .max_by_key(|(_, p, _)| p.len())
            .map(|(_, _, k)| k)
    }

    /// The key tried for an object that turns out to need one and has no rule of its own.
    pub fn fallback(&self) -> Option<&SseCKey> {
        self.default.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn rec(etag: Option<&str>, time: &str, listed: Option<ListingStamp>) -> S3ObjectRecord {
        S3ObjectRecord {
            key: "k".into(),
            version_id: None,
            size: 10,
            etag: etag.map(str::to_string),
            last_modified: Some(time.into()),
            storage_class: None,
            content_type: None,
            content_encoding: None,
            content_disposition: None,
            content_language: None,
            cache_control: None,
            expires: None,
            website_redirect_location: None,
            metadata: BTreeMap::new(),
            sse: None,
            sse_kms_key_id: None,
            bucket_key_enabled: None,
            tags: BTreeMap::new(),
            checksum: None,
            object_lock: None,
            blob: BlobId::of(b"x"),
            path: "p".into(),
            escaped: false,
            dir_marker: false,
            listed,
            sse_customer: None,
            is_latest: None,
            delete_marker: false,
        }
    }

    const GET_TIME: &str = "2026-01-01T10:00:00Z";
    const LIST_TIME: &str = "2026-01-01T10:00:00.123Z";

    /// A record made from a listing without ETags and with millisecond times (s3s-fs): GetObject's
    /// ETag and second-resolution time, and the listing's stamp beside them.
    fn no_etag_server() -> S3ObjectRecord {
        rec(
            Some("\"abc\""),
            GET_TIME,
            Some(ListingStamp {
                etag: None,
                last_modified: Some(LIST_TIME.into()),
            }),
        )
    }

    #[rstest]
    #[case::same_listing_no_etag(None, 10, Some(LIST_TIME), true)]
    #[case::size_changed(None, 11, Some(LIST_TIME), false)]
    #[case::time_changed(None, 10, Some("2026-01-01T10:00:00.124Z"), false)]
    #[case::listing_now_has_an_etag(Some("\"abc\""), 10, Some(LIST_TIME), false)]
    #[case::nothing_to_compare(None, 10, None, false)]
    fn a_listing_without_etags_is_compared_by_size_and_its_own_time(
        #[case] etag: Option<&str>,
        #[case] size: u64,
        #[case] time: Option<&str>,
        #[case] unchanged: bool,
    ) {
        let now = ListedObject {
            version_id: None,
            size,
            etag,
            last_modified: time,
        };
        assert_eq!(no_etag_server().unchanged_since(&now), unchanged);
    }

    #[rstest]
    #[case::same(Some("\"abc\""), GET_TIME, true)]
    #[case::etag_changed(Some("\"abd\""), GET_TIME, false)]
    #[case::time_changed(Some("\"abc\""), "2026-01-01T10:00:01Z", false)]
    #[case::etag_gone(None, GET_TIME, false)]
    fn a_listing_with_etags_compares_etag_size_and_time(
        #[case] etag: Option<&str>,
        #[case] time: &str,
        #[case] unchanged: bool,
    ) {
        let now = ListedObject {
            version_id: None,
            size: 10,
            etag,
            last_modified: Some(time),
        };
        assert_eq!(
            rec(Some("\"abc\""), GET_TIME, None).unchanged_since(&now),
            unchanged
        );
    }

    #[test]
    fn version_ids_decide_where_both_have_real_ones() {
        let mut r = rec(Some("\"abc\""), GET_TIME, None);
        r.version_id = Some("v1".into());
        let now = |v, etag| ListedObject {
            version_id: Some(v),
            size: 10,
            etag: Some(etag),
            last_modified: Some(GET_TIME),
        };
        assert!(r.unchanged_since(&now("v1", "\"other\"")));
        assert!(!r.unchanged_since(&now("v2", "\"abc\"")));
        r.version_id = Some("null".into());
        assert!(r.unchanged_since(&now("null", "\"abc\"")));
        assert!(!r.unchanged_since(&now("null", "\"other\"")));
    }

    #[test]
    fn sse_c_keys_parse_in_three_forms_and_the_longest_prefix_wins() {
        let raw = [7u8; 32];
        let hex_text = hex::encode(raw);
        let b64 = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(raw)
        };
        for form in [
            raw.to_vec(),
            hex_text.into_bytes(),
            format!("{b64}\n").into_bytes(),
        ] {
            let k = SseCKey::parse(&form, "k").unwrap();
            assert_eq!(k.base64(), b64);
        }
        let e = SseCKey::parse(b"short", "keys/a.key").unwrap_err();
        assert!(e.contains("keys/a.key") && e.contains("32 bytes"), "{e}");
        let k = |n: u8| SseCKey::parse(&[n; 32], &format!("k{n}")).unwrap();
        let ring = SseCKeyRing::new(
            Some(k(0)),
            vec![
                ("vault".into(), "".into(), k(1)),
                ("vault".into(), "deep/".into(), k(2)),
            ],
        );
        assert_eq!(ring.for_object("vault", "deep/x").unwrap().source, "k2");
        assert_eq!(ring.for_object("vault", "top").unwrap().source, "k1");
        assert!(ring.for_object("other", "deep/x").is_none());
        assert_eq!(ring.fallback().unwrap().source, "k0");
        // Never printed.
        assert!(!format!("{ring:?}").contains(&b64));
    }

    #[test]
    fn same_second_ignores_milliseconds_only() {
        assert!(same_second(LIST_TIME, GET_TIME));
        assert!(!same_second("2026-01-01T10:00:01.000Z", GET_TIME));
        assert!(same_second("x", "x"));
    }
}
