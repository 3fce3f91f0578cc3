//! `infrasnap repair [NAME | --all]`: put right what `verify` finds, from intact bytes in the
//! repository, and then from the live source: an S3 object whose blob is missing or damaged
//! everywhere is fetched again when its ETag and size are still those recorded.

use std::collections::{BTreeMap, HashSet};

use infrasnap_core::ids::{BlobId, SnapshotName};
use infrasnap_core::repo::{RepoLock, Repository};
use infrasnap_core::verify::{
    repair, s3_sources, verify_snapshot, write_blob_again, BlobCache, ProblemKind, RepairReport,
};

use super::Global;
use crate::aws_setup::AwsArgs;
use crate::exit;

#[derive(Debug, Clone, clap::Args)]
pub struct RepairArgs {
    /// Report only this snapshot (every snapshot is checked, to find intact copies)
    pub name: Option<String>,
    /// Never contact the live source: repair from the repository's own intact copies only
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Verify every snapshot and repair from intact copies in the repository.
fn from_repository(repo: &Repository, lock: &RepoLock) -> anyhow::Result<RepairReport> {
    let names: Vec<String> = repo.entries()?.into_iter().map(|e| e.name).collect();
    let mut cache = BlobCache::default();
    let mut reports = Vec::new();
    for n in &names {
        if let Ok(parsed) = n.parse::<SnapshotName>() {
            reports.push(verify_snapshot(repo, &parsed, &mut cache, |_| {})?);
        }
    }
    Ok(repair(repo, lock, &reports)?)
}

/// Blobs still missing or damaged after a repair.
fn lost_blobs(out: &RepairReport) -> HashSet<BlobId> {
    out.not_repaired
        .iter()
        .filter(|p| matches!(p.kind, ProblemKind::MissingBlob | ProblemKind::CorruptBlob))
        .filter_map(|p| p.blob)
        .collect()
}

pub async fn run(g: &Global, a: RepairArgs) -> anyhow::Result<u8> {
    let repo = Repository::open(&g.repo_or("snapshots"))?;
    let lock = repo.lock(None)?;
    // Every snapshot is verified, so that an intact copy anywhere can serve; only the named one
    // (or all) is reported.
    let mut out = from_repository(&repo, &lock)?;
    // Then the live source, for S3 objects no intact copy is left of.
    let lost = lost_blobs(&out);
    let mut refused: BTreeMap<BlobId, String> = BTreeMap::new();
    if !lost.is_empty() && !a.offline {
        let sources = s3_sources(&repo, &lost)?;
        if !sources.is_empty() {
            let (fetched, why_not) = from_live(&repo, &a.aws, sources).await?;
            refused = why_not;
            if !fetched.is_empty() {
                // Link the tree files of the blobs written again, and list what is left.
                let again = from_repository(&repo, &lock)?;
                let mut repaired = std::mem::take(&mut out.repaired);
                repaired.extend(fetched);
                repaired.extend(again.repaired);
                out = RepairReport {
                    repaired,
                    not_repaired: again.not_repaired,
                };
            }
        }
    }
    for p in &mut out.not_repaired {
        if let Some(why) = p.blob.and_then(|b| refused.get(&b)) {
            p.detail = format!("{}; not repairable: {why}", p.detail);
        }
    }
    if let Some(n) = &a.name {
        let prefix = format!("{n}/");
        out.not_repaired.retain(|p| p.path.starts_with(&prefix));
    }
    if g.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for r in &out.repaired {
            println!("repaired: {r}");
        }
        for p in &out.not_repaired {
            println!("NOT repaired: {:?}: {} ({})", p.kind, p.path, p.detail);
        }
        if out.not_repaired.is_empty() {
            println!("nothing left to repair");
        } else {
            println!(
                "\nWhat is left has no intact copy in the repository, and its live source (if \
                 any) was not usable. A new `infrasnap snapshot` downloads again the objects \
                 whose blobs are missing; remove a damaged blob from .infrasnap/blobs/ first so \
                 that it counts as missing."
            );
        }
    }
    Ok(if out.not_repaired.is_empty() {
        exit::OK
    } else {
        exit::DAMAGED
    })
}

/// Fetch each object again whose live ETag and size are those recorded, and write its blob
/// again when the bytes hash to it. Returns what was repaired, and why each other blob was not.
async fn from_live(
    repo: &Repository,
    aws: &AwsArgs,
    sources: Vec<(String, infrasnap_core::model::s3::S3ObjectRecord)>,
) -> anyhow::Result<(Vec<String>, BTreeMap<BlobId, String>)> {
    let setup = crate::aws_setup::load(aws, None).await?;
    let client = |region: &str| {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&setup.sdk)
                .region(aws_sdk_s3::config::Region::new(region.to_string()))
                .force_path_style(setup.s3_path_style)
                .build(),
        )
    };
    let home = client(&setup.region);
    let unquote = |e: &str| e.trim_matches('"').to_string();
    let mut fetched = Vec::new();
    let mut refused = BTreeMap::new();
    for (bucket, rec) in sources {
        let url = format!("s3://{bucket}/{}", rec.key);
        if rec.sse_customer.is_some() {
            refused.insert(
                rec.blob,
                format!(
                    "{url} is encrypted with a customer key (SSE-C), which repair does not take"
                ),
            );
            continue;
        }
        let region = match home.get_bucket_location().bucket(&bucket).send().await {
            Ok(r) => match r.location_constraint().map(|c| c.as_str()) {
                None | Some("") => "us-east-1".to_string(),
                Some("EU") => "eu-west-1".to_string(),
                Some(c) => c.to_string(),
            },
            Err(_) => setup.region.clone(),
        };
        let s3 = client(&region);
        let version = rec.version_id.clone().filter(|v| v != "null");
        let head = s3
            .head_object()
            .bucket(&bucket)
            .key(&rec.key)
            .set_version_id(version.clone())
            .send()
            .await;
        let head = match head {
            Ok(h) => h,
            Err(e) => {
                let f = infrasnap_collectors::aws::sdk_error::describe(&e);
                refused.insert(
                    rec.blob,
                    format!("{url} could not be read live: {}", f.message),
                );
                continue;
            }
        };
        let same_etag = match (head.e_tag(), rec.etag.as_deref()) {
            (Some(live), Some(was)) => unquote(live) == unquote(was),
            _ => false,
        };
        let same_size = head.content_length().map(|n| n as u64) == Some(rec.size);
        if !(same_etag && same_size) {
            refused.insert(
                rec.blob,
                format!("{url} changed live since the snapshot (its ETag or size differs)"),
            );
            continue;
        }
        let body = match s3
            .get_object()
            .bucket(&bucket)
            .key(&rec.key)
            .set_version_id(version)
            .if_match(head.e_tag().unwrap_or_default())
            .send()
            .await
        {
            Ok(o) => o.body.collect().await.map(|b| b.into_bytes()),
            Err(e) => {
                let f = infrasnap_collectors::aws::sdk_error::describe(&e);
                refused.insert(
                    rec.blob,
                    format!("{url} could not be read live: {}", f.message),
                );
                continue;
            }
        };
        let bytes = match body {
            Ok(b) => b,
            Err(e) => {
                refused.insert(rec.blob, format!("{url}: the download broke off: {e}"));
                continue;
            }
        };
        if write_blob_again(repo, &rec.blob, &mut &bytes[..], Some(bytes.len() as u64))? {
            fetched.push(format!(
                "blob {} fetched again from {url} (ETag unchanged since the snapshot)",
                rec.blob.to_hex()
            ));
        } else {
            refused.insert(
                rec.blob,
                format!("{url} has the recorded ETag and size, but its bytes differ from the snapshot's"),
            );
        }
    }
    Ok((fetched, refused))
}
