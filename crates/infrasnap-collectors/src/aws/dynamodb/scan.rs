//! A table's items: a parallel, consistent Scan, each segment written as it arrives into
//! deterministic gzip files of DynamoDB JSON lines (the format of DynamoDB's export to S3).
//!
//! Memory stays bounded: a segment holds at most one compressed file in memory (cut at
//! [`FILE_CAP`], always between two pages) plus the page being written; the number of segments
//! scanning at once is bounded by the collector (`SCANS_IN_FLIGHT` in collect.rs).
//!
//! Deterministic bytes: items are written in the order DynamoDB returns them (stable for an
//! unchanged table), attribute names and set members sorted (json.rs), gzip with no file name,
//! mtime 0, OS byte 255 and a fixed compression level; files are cut only between pages. So an
//! unchanged table gives byte-identical files, hence no new blobs.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use aws_sdk_dynamodb::Client;
use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};
use infrasnap_core::engine::RunContext;
use infrasnap_core::ids::ResourceId;
use infrasnap_core::progress::CollectorProgress;
use infrasnap_core::store::Stored;

use super::json::write_item;
use crate::aws::sdk_error::{describe, ApiFailure};

/// A data file is closed and a new one started once its compressed size reaches this.
pub const FILE_CAP: usize = 16 * 1024 * 1024;
/// gzip level of the data files (fixed: the same items must give the same bytes).
pub const GZIP_LEVEL: u32 = 6;
/// Tables with fewer items than this (DescribeTable's ItemCount) are scanned as one segment.
pub const ITEMS_PER_SEGMENT: i64 = 100_000;
/// Most segments of one table's parallel scan.
pub const MAX_SEGMENTS: i32 = 8;
/// Attempts per Scan page, on top of the SDK's own retries.
const PAGE_ATTEMPTS: u32 = 4;

/// How many segments to scan a table with, from its reported item count.
pub fn segments_for(item_count: i64) -> i32 {
    let n = item_count.max(0) / ITEMS_PER_SEGMENT + 1;
    n.min(MAX_SEGMENTS as i64) as i32
}

/// The name of a data file, relative to the table folder. `part` counts from 1; the first part
/// of a segment has no part suffix.
pub fn data_file_name(segment: i32, total: i32, part: u32) -> String {
    if part <= 1 {
        format!("data/segment-{segment}-of-{total}.json.gz")
    } else {
        format!("data/segment-{segment}-of-{total}-part-{part}.json.gz")
    }
}

/// One data file written.
#[derive(Debug, Clone)]
pub struct DataFile {
    /// Relative to the table folder: `data/segment-0-of-1.json.gz`.
    pub name: String,
    pub items: u64,
    pub stored: Stored,
}

/// What one segment's scan produced.
#[derive(Debug, Default)]
pub struct SegmentResult {
    pub files: Vec<DataFile>,
    pub items: u64,
    /// Uncompressed DynamoDB JSON bytes.
    pub json_bytes: u64,
    /// Read capacity units the scan consumed, when DynamoDB reported them.
    pub capacity_units: f64,
    /// The failure that ended the segment early: (IAM action, failure).
    pub error: Option<(&'static str, ApiFailure)>,
    /// Items skipped because of an attribute type this version cannot write.
    pub unknown_type_items: Vec<String>,
}

fn new_encoder() -> GzEncoder<Vec<u8>> {
    GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::new(GZIP_LEVEL))
}

/// Compress a whole buffer the way data files are compressed (for tests and tools).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = new_encoder();
    e.write_all(bytes).expect("writing to memory");
    e.finish().expect("writing to memory")
}

/// The key an item is in scan order, as text (to notice a server that repeats a page).
fn key_text(k: &HashMap<String, AttributeValue>) -> String {
    let mut out = Vec::new();
    // An unknown type in a key cannot happen for a key; fall back to Debug then.
    if write_item(&mut out, k).is_err() {
        return format!("{k:?}");
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn local_failure(e: impl std::fmt::Display) -> ApiFailure {
    ApiFailure::new("LocalWriteFailed", e.to_string())
}

/// Everything a segment scan needs.
pub struct SegmentJob {
    pub client: Client,
    pub cx: Arc<RunContext>,
    pub progress: Arc<CollectorProgress>,
    pub table: String,
    /// The table's catalog id: its data files are its parts.
    pub id: ResourceId,
    pub segment: i32,
    pub total: i32,
}

struct OpenFile {
    enc: GzEncoder<Vec<u8>>,
    items: u64,
    part: u32,
}

impl SegmentJob {
    /// Scan one segment to the end (or the first failure that retries do not cure).
    pub async fn run(self) -> SegmentResult {
        let mut res = SegmentResult::default();
        let mut file = OpenFile {
            enc: new_encoder(),
            items: 0,
            part: 1,
        };
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        let mut seen: HashSet<String> = HashSet::new();
        let mut line = Vec::with_capacity(4096);
        loop {
            if self.cx.is_cancelled() {
                res.error = Some((
                    "dynamodb:Scan",
                    ApiFailure::new("Cancelled", "the run was interrupted"),
                ));
                break;
            }
            let page = match self.page(start.clone()).await {
                Ok(p) => p,
                Err(f) => {
                    res.error = Some(("dynamodb:Scan", f));
                    break;
                }
            };
            if let Some(c) = page.consumed_capacity().and_then(|c| c.capacity_units()) {
                res.capacity_units += c;
            }
            let mut page_bytes = 0u64;
            let mut page_items = 0u64;
            for item in page.items() {
                line.clear();
                match write_item(&mut line, item) {
                    Ok(()) => {
                        if let Err(e) = file.enc.write_all(&line) {
                            res.error = Some(("write", local_failure(e)));
                            return res;
                        }
                        page_bytes += line.len() as u64;
                        page_items += 1;
                    }
                    Err(u) => {
                        res.unknown_type_items.push(u.0);
                    }
                }
            }
            file.items += page_items;
            res.items += page_items;
            res.json_bytes += page_bytes;
            self.progress.add(&self.progress.items, page_items);
            self.progress.add(&self.progress.bytes, page_bytes);
            self.progress
                .add(&self.progress.bytes_downloaded, page_bytes);

            let next = page.last_evaluated_key().filter(|k| !k.is_empty()).cloned();
            // Close the file at a page boundary once it is large enough.
            if next.is_some() && file.enc.get_ref().len() >= FILE_CAP {
                let part = file.part;
                let full = std::mem::replace(
                    &mut file,
                    OpenFile {
                        enc: new_encoder(),
                        items: 0,
                        part: part + 1,
                    },
                );
                if let Err(f) = self.store(full, &mut res).await {
                    res.error = Some(("write", f));
                    return res;
                }
            }
            match next {
                None => break,
                Some(k) => {
                    if !seen.insert(key_text(&k)) {
                        res.error = Some((
                            "dynamodb:Scan",
                            ApiFailure::new("RepeatedPage", "the server returned a LastEvaluatedKey it had returned before; stopped the segment there"),
                        ));
                        break;
                    }
                    start = Some(k);
                }
            }
        }
        // The first part is written even when the segment is empty (an empty gzip file), unless
        // the scan failed; a later part only when it has items.
        if file.items > 0 || (file.part == 1 && res.error.is_none()) {
            if let Err(f) = self.store(file, &mut res).await {
                res.error = Some(("write", f));
            }
        }
        res
    }

    async fn page(
        &self,
        start: Option<HashMap<String, AttributeValue>>,
    ) -> Result<aws_sdk_dynamodb::operation::scan::ScanOutput, ApiFailure> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let _permit = self.cx.jobs.acquire().await.expect("semaphore open");
            let r = self
                .client
                .scan()
                .table_name(&self.table)
                .segment(self.segment)
                .total_segments(self.total)
                .consistent_read(true)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .set_exclusive_start_key(start.clone())
                .send()
                .await;
            match r {
                Ok(p) => return Ok(p),
                Err(e) => {
                    let f = describe(&e);
                    let retryable = f.code.is_none()
                        || f.status.is_some_and(|s| s >= 500)
                        || f.code_in(&[
                            "ProvisionedThroughputExceededException",
                            "ThrottlingException",
                            "RequestLimitExceeded",
                        ]);
                    if !retryable || attempt >= PAGE_ATTEMPTS {
                        return Err(if attempt > 1 {
                            ApiFailure {
                                message: format!("gave up after {attempt} attempts: {}", f.message),
                                ..f
                            }
                        } else {
                            f
                        });
                    }
                    drop(_permit);
                    tracing::debug!("retrying a scan page of {}: {f}", self.table);
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                }
            }
        }
    }

    /// Finish a file's gzip stream and hand it to the catalog as a part of the table (placed in
    /// its folder, listed in index/files.jsonl).
    async fn store(&self, f: OpenFile, res: &mut SegmentResult) -> Result<(), ApiFailure> {
        let bytes = f.enc.finish().map_err(local_failure)?;
        let name = data_file_name(self.segment, self.total, f.part);
        let cx = self.cx.clone();
        let (id, part) = (self.id.clone(), name.clone());
        let stored = tokio::task::spawn_blocking(move || cx.put_part(&id, None, &part, &bytes))
            .await
            .map_err(local_failure)?
            .map_err(local_failure)?;
        res.files.push(DataFile {
            name,
            items: f.items,
            stored,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_grow_with_the_item_count() {
        assert_eq!(segments_for(0), 1);
        assert_eq!(segments_for(99_999), 1);
        assert_eq!(segments_for(100_000), 2);
        assert_eq!(segments_for(250_000), 3);
        assert_eq!(segments_for(10_000_000), 8);
        assert_eq!(segments_for(-1), 1);
    }

    #[test]
    fn gzip_is_deterministic_and_has_no_name_or_time() {
        let a = gzip(b"{\"Item\":{}}\n");
        let b = gzip(b"{\"Item\":{}}\n");
        assert_eq!(a, b);
        // magic, deflate, no flags, mtime 0, OS 255
        assert_eq!(&a[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&a[4..8], &[0, 0, 0, 0]);
        assert_eq!(a[9], 255);
        let mut d = flate2::read::GzDecoder::new(&a[..]);
        let mut s = String::new();
        std::io::Read::read_to_string(&mut d, &mut s).unwrap();
        assert_eq!(s, "{\"Item\":{}}\n");
    }

    #[test]
    fn file_names() {
        assert_eq!(data_file_name(0, 1, 1), "data/segment-0-of-1.json.gz");
        assert_eq!(
            data_file_name(3, 8, 2),
            "data/segment-3-of-8-part-2.json.gz"
        );
    }
}
