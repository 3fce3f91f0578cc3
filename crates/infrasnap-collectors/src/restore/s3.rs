//! S3 writers: a bucket (CreateBucket in the snapshot's region), its settings (one Put/Delete
//! call per setting, from the JSON the collector captured, `aws/s3/bucket_config.rs`), and its
//! objects (PutObject with the bytes from the blob store, the content headers, user metadata,
//! tags, storage class and SSE settings, in parts above `[restore] multipart_threshold`;
//! DeleteObject for `--delete-extra`).

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CompletedMultipartUpload, CompletedPart,
    CorsConfiguration, CorsRule, CreateBucketConfiguration, ErrorDocument, IndexDocument,
    ObjectOwnership, OwnershipControls, OwnershipControlsRule, Protocol,
    PublicAccessBlockConfiguration, RedirectAllRequestsTo, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    StorageClass, Tag, Tagging, VersioningConfiguration, WebsiteConfiguration,
};
use aws_sdk_s3::Client;
use futures::{StreamExt, TryStreamExt};
use infrasnap_core::model::s3::S3ObjectRecord;
use infrasnap_core::restore::upload::{plan_upload, Part, Upload};
use infrasnap_core::restore::{Action, Step, Subject};
use serde_json::Value;

use super::{Context, WriteError};

/// The bucket settings these writers put back.
pub const SETTINGS: &[&str] = &[
    "policy",
    "tagging",
    "versioning",
    "cors",
    "website",
    "encryption",
    "public_access_block",
    "ownership_controls",
    // Written by `s3_settings.rs`.
    "lifecycle",
    "notifications",
    "replication",
    "logging",
    "acl",
];

/// Objects up to this size are read into memory; larger ones stream from the file (with
/// `--jobs 64`, at most 64 MiB of bodies in memory).
const IN_MEMORY: u64 = 1 << 20;

/// S3 clients per region, and each bucket's region.
pub(crate) struct Clients {
    sdk: aws_config::SdkConfig,
    path_style: bool,
    by_region: Mutex<HashMap<String, Client>>,
    regions: Mutex<HashMap<String, String>>,
}

impl Clients {
    pub fn new(sdk: &aws_config::SdkConfig, path_style: bool) -> Self {
        Clients {
            sdk: sdk.clone(),
            path_style,
            by_region: Mutex::new(HashMap::new()),
            regions: Mutex::new(HashMap::new()),
        }
    }

    fn client(&self, region: &str) -> Client {
        self.by_region
            .lock()
            .expect("clients")
            .entry(region.to_string())
            .or_insert_with(|| {
                // No flexible checksum where S3 does not require one: a body streamed from a
                // file is then sent as it is, not `aws-chunked` with a CRC trailer (a server
                // that keeps that transport encoding as the object's Content-Encoding changes
                // the object; s3s-fs 0.14 does), and no CRC pass over every byte.
                let conf = aws_sdk_s3::config::Builder::from(&self.sdk)
                    .region(aws_sdk_s3::config::Region::new(region.to_string()))
                    .force_path_style(self.path_style)
                    .request_checksum_calculation(
                        aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
                    )
                    .build();
                Client::from_conf(conf)
            })
            .clone()
    }

    fn default_region(&self) -> String {
        self.sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into())
    }

    /// The client for `bucket`'s region (GetBucketLocation once per bucket).
    async fn for_bucket(&self, bucket: &str) -> Result<Client, WriteError> {
        if let Some(r) = self.regions.lock().expect("regions").get(bucket) {
            return Ok(self.client(r));
        }
        let c = self.client(&self.default_region());
        let loc = c
            .get_bucket_location()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("s3:GetBucketLocation on {bucket}"), &e))?;
        let region = match loc.location_constraint().map(|l| l.as_str()) {
            None | Some("") => "us-east-1".to_string(),
            Some("EU") => "eu-west-1".to_string(),
            Some(r) => r.to_string(),
        };
        self.regions
            .lock()
            .expect("regions")
            .insert(bucket.to_string(), region.clone());
        Ok(self.client(&region))
    }
}

/// Create the bucket in the snapshot's region.
pub async fn bucket(cx: &Context, step: &Step) -> Result<(), WriteError> {
    let name = &step.target.id;
    let doc = match step.action.blob() {
        Some(_) => cx.document(step)?,
        None => Value::Null,
    };
    let region = doc
        .get("region")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| cx.s3.default_region());
    let c = cx.s3.client(&region);
    let mut req = c.create_bucket().bucket(name);
    if region != "us-east-1" {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    match req.send().await {
        Ok(_) => {}
        // Created by an earlier, killed run of the same plan.
        Err(e)
            if crate::aws::sdk_error::describe(&e).code.as_deref()
                == Some("BucketAlreadyOwnedByYou") => {}
        Err(e) => return Err(WriteError::sdk(&format!("s3:CreateBucket {name}"), &e)),
    }
    cx.s3
        .regions
        .lock()
        .expect("regions")
        .insert(name.clone(), region);
    Ok(())
}

/// The object's content headers, metadata, tags, storage class, SSE settings and Expires, on a
/// PutObject or a CreateMultipartUpload request (the same setters on both).
macro_rules! with_headers {
    ($req:expr, $r:expr) => {{
        let r: &S3ObjectRecord = $r;
        let mut req = $req
            .set_content_type(r.content_type.clone())
            .set_content_encoding(r.content_encoding.clone())
            .set_content_disposition(r.content_disposition.clone())
            .set_content_language(r.content_language.clone())
            .set_cache_control(r.cache_control.clone())
            .set_website_redirect_location(r.website_redirect_location.clone());
        if !r.metadata.is_empty() {
            req = req.set_metadata(Some(r.metadata.clone().into_iter().collect()));
        }
        if !r.tags.is_empty() {
            req = req.tagging(tag_query(&r.tags));
        }
        if let Some(sc) = r.storage_class.as_deref().filter(|s| *s != "STANDARD") {
            req = req.storage_class(StorageClass::from(sc));
        }
        if let Some(sse) = &r.sse {
            req = req
                .server_side_encryption(ServerSideEncryption::from(sse.as_str()))
                .set_ssekms_key_id(r.sse_kms_key_id.clone())
                .set_bucket_key_enabled(r.bucket_key_enabled);
        }
        if let Some(exp) = &r.expires {
            if let Ok(t) = aws_smithy_types::DateTime::from_str(
                exp,
                aws_smithy_types::date_time::Format::HttpDate,
            ) {
                #[allow(deprecated)]
                {
                    req = req.expires(t);
                }
            }
        }
        req
    }};
}

/// Put one object back, or delete it.
pub async fn object(cx: &Context, step: &Step) -> Result<(), WriteError> {
    let Subject::Object { key, record } = &step.subject else {
        return Err(WriteError::new("not an object step"));
    };
    let bucket = &step.target.id;
    let c = cx.s3.for_bucket(bucket).await?;
    if matches!(step.action, Action::Delete) {
        c.delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("s3:DeleteObject {bucket}/{key}"), &e))?;
        return Ok(());
    }
    let r: &S3ObjectRecord = record
        .as_deref()
        .ok_or_else(|| WriteError::new("an object step without its record"))?;
    let path = cx.blob_path(&r.blob);
    let parts = match plan_upload(r.size, cx.upload)
        .map_err(|e| WriteError::new(format!("s3://{bucket}/{key}: {e}")))?
    {
        Upload::Single => None,
        Upload::Multipart(p) => Some(p),
    };
    if let Some(parts) = parts {
        return multipart(cx, &c, bucket, key, r, &path, &parts).await;
    }
    // The content's MD5: the snapshot's ETag states it where it is one (the capture checked it
    // against the bytes); else it is computed, from the bytes held in memory for a small object,
    // by a streamed read of the blob for a larger one (which is then streamed again to the
    // server: memory stays at most IN_MEMORY per object in flight).
    let mut md5 = content_md5(r);
    let body = if r.size <= IN_MEMORY {
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|e| WriteError::new(format!("read {}: {e}", path.display())))?;
        if md5.is_none() {
            use md5::Digest;
            md5 = Some(hex::encode(md5::Md5::digest(&bytes)));
        }
        ByteStream::from(bytes)
    } else {
        if md5.is_none() {
            md5 = Some(hex::encode(part_md5(&path, 0, r.size).await?));
        }
        ByteStream::from_path(&path)
            .await
            .map_err(|e| WriteError::new(format!("read {}: {e}", path.display())))?
    };
    let mut req = c
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body)
        .content_length(r.size as i64);
    // Content-MD5: the server refuses bytes that arrive damaged (BadDigest), so the payload
    // need not be signed too (no SHA-256 pass over every byte).
    if let Some(m) = &md5 {
        req = req.content_md5(md5_base64(m));
    }
    let req = with_headers!(req, r);
    let out = req
        .customize()
        .disable_payload_signing()
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("s3:PutObject {bucket}/{key}"), &e))?;
    // The server's ETag is the MD5 of what it stored (single part, no KMS): then the restore's
    // read-back proves this object by its headers, without downloading it again.
    let kms = out
        .server_side_encryption()
        .is_some_and(|s| s.as_str().starts_with("aws:kms"));
    if let (Some(m), Some(etag), false) = (md5, out.e_tag(), kms) {
        if infrasnap_core::engine::etag_is_md5(etag, &m) {
            cx.known.insert(
                bucket,
                key,
                infrasnap_core::engine::Known {
                    size: r.size,
                    md5: m,
                    blob: r.blob,
                },
            );
        }
    }
    Ok(())
}

/// The MD5 of an object's content as its snapshot record states it: its ETag, where that is a
/// plain MD5 (single part, no KMS, no customer key).
fn content_md5(r: &S3ObjectRecord) -> Option<String> {
    let kms = r.sse.as_deref().is_some_and(|s| s.starts_with("aws:kms"));
    if kms || r.sse_customer.is_some() {
        return None;
    }
    r.etag
        .as_deref()
        .and_then(infrasnap_core::engine::md5_of_etag)
}

/// `Content-MD5`: the base64 of the digest's bytes.
fn md5_base64(hex_md5: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(hex::decode(hex_md5).expect("hex MD5"))
}

/// Parts of one object sent at once (objects themselves are sent `--jobs` at once).
const PART_JOBS: usize = 4;

/// The MD5 of `len` bytes of the file at `path` from `offset` (one part of a multipart upload).
async fn part_md5(path: &std::path::Path, offset: u64, len: u64) -> Result<[u8; 16], WriteError> {
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let path = owned;
        use md5::Digest;
        use std::io::{Read, Seek, SeekFrom};
        let mut f = std::fs::File::open(&path)?;
        f.seek(SeekFrom::Start(offset))?;
        let mut h = md5::Md5::new();
        const CHUNK: u64 = 1 << 20;
        let mut buf = vec![0u8; CHUNK as usize];
        let mut left = len;
        while left > 0 {
            let n = f.read(&mut buf[..left.min(CHUNK) as usize])?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the blob is shorter than its record says",
                ));
            }
            h.update(&buf[..n]);
            left -= n as u64;
        }
        Ok(h.finalize().into())
    })
    .await
    .map_err(|e| WriteError::new(format!("read {}: {e}", path.display())))?
    .map_err(|e| WriteError::new(format!("read {}: {e}", path.display())))
}

/// The ETag S3 gives a multipart object without KMS: the MD5 of its parts' MD5s, then `-` and
/// the number of parts.
pub fn multipart_etag(part_md5s: &[[u8; 16]]) -> String {
    use md5::Digest;
    let mut h = md5::Md5::new();
    for m in part_md5s {
        h.update(m);
    }
    format!("{}-{}", hex::encode(h.finalize()), part_md5s.len())
}

/// A multipart upload of the blob at `path` in the planned parts; aborted if a part fails, so no
/// parts are left behind. Each part goes with its `Content-MD5` (the server refuses damaged
/// bytes; the payload is not signed too), so the object's ETag is known before it is read back:
/// when the server's is that one, the read-back proves the object by its headers
/// ([`infrasnap_core::engine::KnownContent`]), as for a single PutObject.
async fn multipart(
    cx: &Context,
    c: &Client,
    bucket: &str,
    key: &str,
    r: &S3ObjectRecord,
    path: &std::path::Path,
    parts: &[Part],
) -> Result<(), WriteError> {
    let req = c.create_multipart_upload().bucket(bucket).key(key);
    let req = with_headers!(req, r);
    let up = req
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("s3:CreateMultipartUpload {bucket}/{key}"), &e))?;
    let id = up
        .upload_id()
        .ok_or_else(|| {
            WriteError::new(format!(
                "s3:CreateMultipartUpload {bucket}/{key}: no upload id"
            ))
        })?
        .to_string();
    let sent: Result<Vec<(CompletedPart, [u8; 16])>, WriteError> = futures::stream::iter(parts)
        .map(|p| {
            let id = id.clone();
            async move {
                let md5 = part_md5(path, p.offset, p.len).await?;
                let body = ByteStream::read_from()
                    .path(path)
                    .offset(p.offset)
                    .length(Length::Exact(p.len))
                    .build()
                    .await
                    .map_err(|e| WriteError::new(format!("read {}: {e}", path.display())))?;
                let out = c
                    .upload_part()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(id)
                    .part_number(p.number)
                    .content_length(p.len as i64)
                    .content_md5({
                        use base64::Engine;
                        base64::engine::general_purpose::STANDARD.encode(md5)
                    })
                    .body(body)
                    .customize()
                    .disable_payload_signing()
                    .send()
                    .await
                    .map_err(|e| {
                        WriteError::sdk(
                            &format!("s3:UploadPart {} of {bucket}/{key}", p.number),
                            &e,
                        )
                    })?;
                Ok((
                    CompletedPart::builder()
                        .part_number(p.number)
                        .set_e_tag(out.e_tag().map(str::to_string))
                        .build(),
                    md5,
                ))
            }
        })
        .buffered(PART_JOBS)
        .try_collect()
        .await;
    let done = match sent {
        Ok(done) => done,
        Err(e) => {
            let _ = c
                .abort_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&id)
                .send()
                .await;
            return Err(e);
        }
    };
    let (done, md5s): (Vec<CompletedPart>, Vec<[u8; 16]>) = done.into_iter().unzip();
    let out = c
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        )
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("s3:CompleteMultipartUpload {bucket}/{key}"), &e))?;
    let kms = out
        .server_side_encryption()
        .is_some_and(|s| s.as_str().starts_with("aws:kms"));
    let want = multipart_etag(&md5s);
    if !kms
        && out
            .e_tag()
            .is_some_and(|e| infrasnap_core::engine::etag_is_md5(e, &want))
    {
        cx.known.insert(
            bucket,
            key,
            infrasnap_core::engine::Known {
                size: r.size,
                md5: want,
                blob: r.blob,
            },
        );
    }
    Ok(())
}

/// `k1=v1&k2=v2`, percent-encoded (the `x-amz-tagging` header).
pub fn tag_query(tags: &std::collections::BTreeMap<String, String>) -> String {
    fn enc(s: &str) -> String {
        let mut o = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                o.push(b as char);
            } else {
                o.push_str(&format!("%{b:02X}"));
            }
        }
        o
    }
    tags.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

fn strings(v: &Value, k: &str) -> Option<Vec<String>> {
    v.get(k).and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    })
}

fn bad(name: &str, e: impl std::fmt::Display) -> WriteError {
    WriteError::new(format!(
        "the snapshot's `{name}` setting cannot be sent back: {e}"
    ))
}

/// Put one bucket setting back (or delete it, where the snapshot had none).
pub async fn setting(cx: &Context, step: &Step) -> Result<(), WriteError> {
    let Subject::BucketSetting { name, setting } = &step.subject else {
        return Err(WriteError::new("not a bucket setting step"));
    };
    let bucket = step.target.id.as_str();
    let c = cx.s3.for_bucket(bucket).await?;
    let present = setting.get("state").and_then(Value::as_str) == Some("present");
    let v = setting.get("value").cloned().unwrap_or(Value::Null);
    let call = |op: &str| format!("s3:{op} on {bucket}");
    match (name.as_str(), present) {
        ("policy", true) => {
            let text = match &v {
                Value::String(s) => s.clone(),
                other => serde_json::to_string(other).expect("JSON"),
            };
            c.put_bucket_policy()
                .bucket(bucket)
                .policy(text)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutBucketPolicy"), &e))?;
        }
        ("policy", false) => {
            c.delete_bucket_policy()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("DeleteBucketPolicy"), &e))?;
        }
        ("tagging", true) => {
            let mut t = Tagging::builder();
            for tag in v
                .get("TagSet")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                t = t.tag_set(
                    Tag::builder()
                        .key(s(tag, "Key").unwrap_or_default())
                        .value(s(tag, "Value").unwrap_or_default())
                        .build()
                        .map_err(|e| bad(name, e))?,
                );
            }
            c.put_bucket_tagging()
                .bucket(bucket)
                .tagging(t.build().map_err(|e| bad(name, e))?)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutBucketTagging"), &e))?;
        }
        ("tagging", false) => {
            c.delete_bucket_tagging()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("DeleteBucketTagging"), &e))?;
        }
        ("versioning", true) => {
            let status = s(&v, "Status").unwrap_or_else(|| "Enabled".into());
            c.put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::from(status.as_str()))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutBucketVersioning"), &e))?;
        }
        ("versioning", false) => {
            return Err(WriteError::new(
                "versioning, once enabled, can only be suspended, never removed: suspend it \
                 by hand if that is what you want",
            ))
        }
        ("cors", true) => {
            let mut conf = CorsConfiguration::builder();
            for r in v
                .get("CORSRules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                conf = conf.cors_rules(
                    CorsRule::builder()
                        .set_id(s(r, "ID"))
                        .set_allowed_headers(strings(r, "AllowedHeaders"))
                        .set_allowed_methods(strings(r, "AllowedMethods"))
                        .set_allowed_origins(strings(r, "AllowedOrigins"))
                        .set_expose_headers(strings(r, "ExposeHeaders"))
                        .set_max_age_seconds(
                            r.get("MaxAgeSeconds")
                                .and_then(Value::as_i64)
                                .map(|n| n as i32),
                        )
                        .build()
                        .map_err(|e| bad(name, e))?,
                );
            }
            c.put_bucket_cors()
                .bucket(bucket)
                .cors_configuration(conf.build().map_err(|e| bad(name, e))?)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutBucketCors"), &e))?;
        }
        ("cors", false) => {
            c.delete_bucket_cors()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("DeleteBucketCors"), &e))?;
        }
        ("website", true) => {
            let mut w = WebsiteConfiguration::builder()
                .set_routing_rules(super::s3_settings::routing_rules(&v));
            if let Some(x) = v.pointer("/IndexDocument/Suffix").and_then(Value::as_str) {
                w = w.index_document(
                    IndexDocument::builder()
                        .suffix(x)
                        .build()
                        .map_err(|e| bad(name, e))?,
                );
            }
            if let Some(x) = v.pointer("/ErrorDocument/Key").and_then(Value::as_str) {
                w = w.error_document(
                    ErrorDocument::builder()
                        .key(x)
                        .build()
                        .map_err(|e| bad(name, e))?,
                );
            }
            if let Some(r) = v.get("RedirectAllRequestsTo") {
                w = w.redirect_all_requests_to(
                    RedirectAllRequestsTo::builder()
                        .host_name(s(r, "HostName").unwrap_or_default())
                        .set_protocol(s(r, "Protocol").map(|p| Protocol::from(p.as_str())))
                        .build()
                        .map_err(|e| bad(name, e))?,
                );
            }
            c.put_bucket_website()
                .bucket(bucket)
                .website_configuration(w.build())
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutBucketWebsite"), &e))?;
        }
        ("website", false) => {
            c.delete_bucket_website()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("DeleteBucketWebsite"), &e))?;
        }
        ("encryption", true) => {
            let mut conf = ServerSideEncryptionConfiguration::builder();
            let rules = v
                .pointer("/ServerSideEncryptionConfiguration/Rules")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for r in &rules {
                let mut rule = ServerSideEncryptionRule::builder()
                    .set_bucket_key_enabled(r.get("BucketKeyEnabled").and_then(Value::as_bool));
                if let Some(d) = r.get("ApplyServerSideEncryptionByDefault") {
                    rule = rule.apply_server_side_encryption_by_default(
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(ServerSideEncryption::from(
                                s(d, "SSEAlgorithm").unwrap_or_default().as_str(),
                            ))
                            .set_kms_master_key_id(s(d, "KMSMasterKeyID"))
                            .build()
                            .map_err(|e| bad(name, e))?,
                    );
                }
                conf = conf.rules(rule.build());
            }
            c.put_bucket_encryption()
                .bucket(bucket)
                .server_side_encryption_configuration(conf.build().map_err(|e| bad(name, e))?)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutBucketEncryption"), &e))?;
        }
        ("encryption", false) => {
            c.delete_bucket_encryption()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("DeleteBucketEncryption"), &e))?;
        }
        ("public_access_block", true) => {
            let p = v
                .get("PublicAccessBlockConfiguration")
                .cloned()
                .unwrap_or_default();
            let b = |k: &str| p.get(k).and_then(Value::as_bool);
            c.put_public_access_block()
                .bucket(bucket)
                .public_access_block_configuration(
                    PublicAccessBlockConfiguration::builder()
                        .set_block_public_acls(b("BlockPublicAcls"))
                        .set_ignore_public_acls(b("IgnorePublicAcls"))
                        .set_block_public_policy(b("BlockPublicPolicy"))
                        .set_restrict_public_buckets(b("RestrictPublicBuckets"))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutPublicAccessBlock"), &e))?;
        }
        ("public_access_block", false) => {
            c.delete_public_access_block()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("DeletePublicAccessBlock"), &e))?;
        }
        ("ownership_controls", true) => {
            let mut oc = OwnershipControls::builder();
            for r in v
                .pointer("/OwnershipControls/Rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                oc = oc.rules(
                    OwnershipControlsRule::builder()
                        .object_ownership(ObjectOwnership::from(
                            s(r, "ObjectOwnership").unwrap_or_default().as_str(),
                        ))
                        .build()
                        .map_err(|e| bad(name, e))?,
                );
            }
            c.put_bucket_ownership_controls()
                .bucket(bucket)
                .ownership_controls(oc.build().map_err(|e| bad(name, e))?)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutBucketOwnershipControls"), &e))?;
        }
        ("ownership_controls", false) => {
            c.delete_bucket_ownership_controls()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("DeleteBucketOwnershipControls"), &e))?;
        }
        (other, _) => return super::s3_settings::write(&c, bucket, other, present, &v).await,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_etag_is_the_md5_of_the_part_md5s_and_their_count() {
        use md5::Digest;
        let parts = [md5::Md5::digest(b"a").into(), md5::Md5::digest(b"b").into()];
        // As S3 (and `python -c 'hashlib.md5(md5(a)+md5(b))'`) computes it.
        assert_eq!(multipart_etag(&parts), "96e024ba2074fe77e8e965ba43a704be-2");
    }

    #[tokio::test]
    async fn a_part_md5_covers_its_range_and_a_short_file_is_an_error() {
        use md5::Digest;
        let f = std::env::temp_dir().join(format!("infrasnap-part-md5-{}", std::process::id()));
        let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&f, &body).unwrap();
        let got = part_md5(&f, 1_000_000, 1_500_000).await.unwrap();
        let want: [u8; 16] = md5::Md5::digest(&body[1_000_000..2_500_000]).into();
        assert_eq!(got, want);
        let e = part_md5(&f, 2_000_000, 2_000_000).await.unwrap_err();
        assert!(e.to_string().contains("shorter"), "{e}");
        std::fs::remove_file(&f).unwrap();
    }

    #[test]
    fn tags_are_percent_encoded() {
        let tags = [
            ("env".to_string(), "prod".to_string()),
            ("a b".into(), "x&y=z".into()),
        ]
        .into_iter()
        .collect();
        assert_eq!(tag_query(&tags), "a%20b=x%26y%3Dz&env=prod");
    }
}
