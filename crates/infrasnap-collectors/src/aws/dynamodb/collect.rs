//! Capturing DynamoDB: per region of the account scope, every table (ListTables, paged), its
//! description, TTL, continuous backups and tags, and (unless `--no-table-data`) its items.
//!
//! Each table is an `aws.dynamodb.table` resource `<account>:<region>:<table name>`, handed to the
//! catalog (which places it in `dynamodb_tables/<account>/<region>/<table>/`):
//! - document `table.json`: the configuration, byte-identical across snapshots of an unchanged
//!   table;
//! - parts (named by their path in the table's folder): `stats.json`, what DynamoDB changes by
//!   itself (counts, sizes, statuses, PITR window); `data/segment-<n>-of-<N>.json.gz`, the items
//!   (scan.rs); `manifest-summary.json`, `manifest-files.json`, like DynamoDB's export to S3.
//!
//! Coverage: ListTables, per region. A failed call is recorded with its IAM action and the
//! table's ARN, and the rest goes on; a table whose description, settings or items could not all
//! be read is marked incomplete.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{BillingMode, KeyType, TableDescription};
use aws_sdk_dynamodb::Client;
use base64::Engine;
use futures::{stream, StreamExt};
use infrasnap_core::engine::{CollectorReport, ErrorSink, RunContext, Tally};
use infrasnap_core::ids::ResourceId;
use infrasnap_core::manifest::{human_bytes, Table};
use infrasnap_core::progress::CollectorProgress;
use infrasnap_core::store::Stored;
use serde_json::Value;
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::autoscaling;
use super::json::{self, Obj};
use super::scan::{segments_for, DataFile, SegmentJob, SegmentResult};
use super::DynamoDbCollector;
use crate::aws::kit::{sdk_pages, Run, Service};
use crate::aws::sdk_error::{describe, ApiFailure};

const ERR: Service = Service("dynamodb");

/// Tables worked on at once (per account).
const TABLE_CONCURRENCY: usize = 4;
/// Scan segments running at once (per account): bounds memory to about this x FILE_CAP.
const SCANS_IN_FLIGHT: usize = 8;
/// The kind of a table in the catalog (catalog/kinds.rs).
pub const TABLE: &str = "aws.dynamodb.table";
/// The `version` of DynamoDB's export manifests.
const EXPORT_MANIFEST_VERSION: &str = "2020-06-30";

/// What one table contributed.
#[derive(Debug, Default)]
struct TableOutcome {
    region: String,
    name: String,
    keys: String,
    billing: String,
    /// Items captured (None with `--no-table-data`, or when the scan did not run).
    items: Option<u64>,
    reported_items: Option<i64>,
    reported_bytes: Option<i64>,
    pitr: String,
    ttl: String,
    tally: Tally,
    capacity_units: f64,
}

impl TableOutcome {
    fn count(&mut self, st: &Stored) {
        self.tally.add(st);
    }
}

impl DynamoDbCollector {
    fn table_arn_guess(&self, region: &str, table: &str) -> String {
        format!(
            "arn:aws:dynamodb:{region}:{}:table/{table}",
            self.scope.account_id
        )
    }

    pub(super) async fn run_inner(self: Arc<Self>, cx: Arc<RunContext>) -> CollectorReport {
        let run = Run::start(&cx, &self.key_name());
        let (progress, errors) = (run.progress.clone(), run.errors.clone());
        let scans = Arc::new(Semaphore::new(SCANS_IN_FLIGHT));
        let mut report = CollectorReport::default();

        // List every region's tables first, so that progress knows the total.
        // Autoscaling: None when it could not be read (recorded once per region).
        type Scaling = Option<Arc<std::collections::BTreeMap<String, Vec<Value>>>>;
        let mut work: Vec<(String, Client, String, Scaling)> = Vec::new();
        let mut listed_regions = 0usize;
        let account = self.scope.account_id.as_str();
        for region in &self.scope.regions {
            let client = Client::new(&self.scope.in_region(region));
            match self.list_tables(&client).await {
                Ok(tables) => {
                    cx.cover(TABLE, account, region, None);
                    listed_regions += 1;
                    let scaling: Scaling = if tables.is_empty() {
                        None
                    } else {
                        let aas = aws_sdk_applicationautoscaling::Client::new(
                            &self.scope.in_region(region),
                        );
                        match autoscaling::region_settings(&aas, &self.limits.dynamodb).await {
                            Ok(m) => Some(Arc::new(m)),
                            Err((action, f)) => {
                                errors.record(ERR.api(
                                    action,
                                    &format!(
                                        "arn:aws:application-autoscaling:{region}:{}:scalable-target/*",
                                        self.scope.account_id
                                    ),
                                    &f,
                                ));
                                None
                            }
                        }
                    };
                    for t in tables {
                        work.push((region.clone(), client.clone(), t, scaling.clone()));
                    }
                }
                Err(f) => {
                    let re = ERR.api(
                        "dynamodb:ListTables",
                        &format!("arn:aws:dynamodb:{region}:{account}:table/*"),
                        &f,
                    );
                    cx.cover(TABLE, account, region, Some(&re));
                    errors.record(re);
                }
            }
        }
        progress.add(&progress.units_total, work.len() as u64);

        let mut outcomes: Vec<TableOutcome> = stream::iter(work)
            .map(|(region, client, table, scaling)| {
                let me = self.clone();
                let cx = cx.clone();
                let errors = errors.clone();
                let progress = progress.clone();
                let scans = scans.clone();
                let span = tracing::info_span!("dynamodb_table", region = %region, table = %table);
                let fut = async move {
                    let r = me
                        .table(
                            &cx,
                            &client,
                            (&region, &table),
                            scaling.as_deref(),
                            &errors,
                            &progress,
                            &scans,
                        )
                        .await;
                    progress.add(&progress.units_done, 1);
                    r
                };
                async move { tokio::spawn(fut.instrument(span)).await.ok().flatten() }
            })
            .buffer_unordered(TABLE_CONCURRENCY)
            .filter_map(|r| async move { r })
            .collect()
            .await;
        outcomes.sort_by(|a, b| (&a.region, &a.name).cmp(&(&b.region, &b.name)));

        let s = &mut report.summary;
        s.counts.insert("tables".into(), outcomes.len() as u64);
        let mut items = 0u64;
        let mut rcu = 0f64;
        for o in &outcomes {
            items += o.items.unwrap_or(0);
            o.tally.add_to(s);
            rcu += o.capacity_units;
        }
        s.counts.insert("items".into(), items);
        if rcu > 0.0 {
            s.counts
                .insert("scan_read_capacity_units".into(), rcu.ceil() as u64);
        }
        run.finish(s, listed_regions == 0 && !self.scope.regions.is_empty());
        report.regions = self.scope.regions.clone();
        report.regions.sort();
        report.regions.dedup();

        let mut t = Table::new(&[
            "Table", "Region", "Keys", "Billing", "Items", "Size", "PITR", "TTL",
        ]);
        for o in &outcomes {
            let items = match (o.items, o.reported_items) {
                (Some(n), _) => n.to_string(),
                (None, Some(r)) => format!("not captured (~{r} reported)"),
                (None, None) => "not captured".into(),
            };
            t.row(vec![
                o.name.clone(),
                o.region.clone(),
                o.keys.to_string(),
                o.billing.to_string(),
                items,
                o.reported_bytes
                    .map(|b| human_bytes(b.max(0) as u64))
                    .unwrap_or_else(|| "?".into()),
                o.pitr.to_string(),
                o.ttl.to_string(),
            ]);
        }
        report.manifest.table(t);
        if !self.opts.no_data && !outcomes.is_empty() {
            report.manifest.text(
                "Items are in `data/*.json.gz` as DynamoDB JSON lines (the format of DynamoDB's \
                 export to S3); Size is the table size DynamoDB reports.",
            );
        }
        report
    }

    fn key_name(&self) -> String {
        use infrasnap_core::engine::Collector;
        self.key()
    }

    async fn list_tables(&self, client: &Client) -> Result<Vec<String>, ApiFailure> {
        let mut out = sdk_pages!(
            &self.limits.dynamodb,
            "DynamoDB tables",
            |t| client.list_tables().set_exclusive_start_table_name(t),
            |r| (
                r.table_names.unwrap_or_default(),
                r.last_evaluated_table_name
            )
        )
        .await?;
        out.sort();
        out.dedup();
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    async fn table(
        &self,
        cx: &Arc<RunContext>,
        client: &Client,
        (region, name): (&str, &str),
        scaling: Option<&std::collections::BTreeMap<String, Vec<Value>>>,
        errors: &Arc<ErrorSink>,
        progress: &Arc<CollectorProgress>,
        scans: &Arc<Semaphore>,
    ) -> Option<TableOutcome> {
        let id = ResourceId::new(TABLE, self.scope.account_id.as_str(), region, name);
        self.limits.dynamodb.acquire().await;
        let desc = match client.describe_table().table_name(name).send().await {
            Ok(r) => match r.table {
                Some(t) => t,
                None => {
                    let f = ApiFailure::message("DescribeTable returned no table");
                    self.undescribed(cx, &id, &f, errors);
                    return None;
                }
            },
            Err(e) => {
                let f = describe(&e);
                // Deleted since it was listed: not an error.
                if f.code_in(&["ResourceNotFoundException"]) {
                    return None;
                }
                self.undescribed(cx, &id, &f, errors);
                return None;
            }
        };
        let arn = desc
            .table_arn()
            .map(str::to_string)
            .unwrap_or_else(|| self.table_arn_guess(region, name));
        let mut out = TableOutcome {
            region: region.to_string(),
            name: name.to_string(),
            keys: keys_text(&desc),
            billing: billing_text(&desc),
            reported_items: desc.item_count(),
            reported_bytes: desc.table_size_bytes(),
            pitr: "?".into(),
            ttl: "?".into(),
            ..Default::default()
        };

        let (conf, stats) = json::table_description(&desc);
        let mut conf = conf;
        let mut stats = stats;
        let mut unreadable: Vec<Value> = Vec::new();
        let mut unreadable_push = |field: &str, action: &str, f: &ApiFailure| {
            errors.record(ERR.api(action, &arn, f));
            unreadable.push(
                Obj::new()
                    .val("Field", field)
                    .val("Action", action)
                    .opt("Code", f.code.clone())
                    .done(),
            );
        };

        self.limits.dynamodb.acquire().await;
        match client.describe_time_to_live().table_name(name).send().await {
            Ok(r) => {
                let ttl = r.time_to_live_description();
                out.ttl = match ttl {
                    Some(t) if t.time_to_live_status().map(|s| s.as_str()) == Some("ENABLED") => {
                        t.attribute_name().unwrap_or("?").to_string()
                    }
                    Some(t) => t
                        .time_to_live_status()
                        .map(|s| s.as_str().to_lowercase())
                        .unwrap_or_else(|| "off".into()),
                    None => "off".into(),
                };
                conf = conf.obj("TimeToLive", Some(json::time_to_live(ttl)));
            }
            Err(e) => unreadable_push("TimeToLive", "dynamodb:DescribeTimeToLive", &describe(&e)),
        }

        self.limits.dynamodb.acquire().await;
        match client
            .describe_continuous_backups()
            .table_name(name)
            .send()
            .await
        {
            Ok(r) => {
                if let Some(c) = r.continuous_backups_description() {
                    let (c_conf, c_stats) = json::continuous_backups(c);
                    out.pitr = c
                        .point_in_time_recovery_description()
                        .and_then(|p| p.point_in_time_recovery_status())
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_else(|| "-".into());
                    conf = conf.obj("ContinuousBackups", Some(c_conf));
                    stats = stats.obj("ContinuousBackups", Some(c_stats));
                } else {
                    out.pitr = "-".into();
                }
            }
            Err(e) => unreadable_push(
                "ContinuousBackups",
                "dynamodb:DescribeContinuousBackups",
                &describe(&e),
            ),
        }

        match self.tags(client, &arn).await {
            Ok(t) => conf = conf.arr("Tags", json::tags(t)),
            Err(f) => unreadable_push("Tags", "dynamodb:ListTagsOfResource", &f),
        }
        match scaling {
            Some(m) => {
                conf = conf.arr("AutoScaling", m.get(name).cloned().unwrap_or_default());
            }
            None => unreadable.push(
                Obj::new()
                    .val("Field", "AutoScaling")
                    .val("Action", "application-autoscaling:DescribeScalableTargets")
                    .done(),
            ),
        }
        if !unreadable.is_empty() {
            // A setting could not be read: a diff of the table is not comparable.
            cx.mark_incomplete(&id);
        }
        conf = conf.arr("Unreadable", unreadable);

        match cx.put_resource(&id, None, &conf.done()) {
            Ok(st) => out.count(&st),
            Err(e) => errors.record(ERR.local(&arn, e)),
        }
        match cx.put_part_json(&id, None, "stats.json", &stats.done()) {
            Ok(st) => out.count(&st),
            Err(e) => errors.record(ERR.local(&arn, e)),
        }

        if !self.opts.no_data {
            let total = segments_for(desc.item_count().unwrap_or(0));
            let results: Vec<SegmentResult> = stream::iter(0..total)
                .map(|segment| {
                    let job = SegmentJob {
                        client: client.clone(),
                        cx: cx.clone(),
                        progress: progress.clone(),
                        table: name.to_string(),
                        id: id.clone(),
                        segment,
                        total,
                    };
                    let scans = scans.clone();
                    async move {
                        let _permit = scans.acquire_owned().await.expect("semaphore open");
                        tokio::spawn(job.run().in_current_span())
                            .await
                            .unwrap_or_else(|e| SegmentResult {
                                error: Some((
                                    "dynamodb:Scan",
                                    ApiFailure::message(format!("scan task failed: {e}")),
                                )),
                                ..Default::default()
                            })
                    }
                })
                .buffered(total as usize)
                .collect()
                .await;
            let mut complete = true;
            let mut files: Vec<DataFile> = Vec::new();
            let mut items = 0u64;
            for r in results {
                items += r.items;
                out.capacity_units += r.capacity_units;
                if let Some((action, f)) = &r.error {
                    complete = false;
                    errors.record(ERR.api(action, &arn, f));
                }
                if !r.unknown_type_items.is_empty() {
                    complete = false;
                    errors.record(ERR.api(
                        "dynamodb:Scan",
                        &arn,
                        &ApiFailure::new("UnsupportedAttributeType", format!(
                                "{} item(s) left out: an attribute of a type this version of infrasnap cannot write (first at {})",
                                r.unknown_type_items.len(),
                                r.unknown_type_items[0]
                            )),
                    ));
                }
                for f in &r.files {
                    out.count(&f.stored);
                }
                files.extend(r.files);
            }
            out.items = Some(items);
            if !complete {
                // The items could not all be read.
                cx.mark_incomplete(&id);
            }
            let (summary, file_lines) =
                export_manifest(&desc, &arn, total, complete, items, &files);
            match cx.put_part_json(&id, None, "manifest-summary.json", &summary) {
                Ok(st) => out.count(&st),
                Err(e) => errors.record(ERR.local(&arn, e)),
            }
            match cx.put_part(&id, None, "manifest-files.json", &file_lines) {
                Ok(st) => out.count(&st),
                Err(e) => errors.record(ERR.local(&arn, e)),
            }
        }
        Some(out)
    }

    /// A listed table whose description could not be read: the error is recorded, and the table
    /// is still handed to the catalog (a document naming it and what failed, marked incomplete),
    /// so that a diff does not take it for removed.
    fn undescribed(&self, cx: &RunContext, id: &ResourceId, f: &ApiFailure, errors: &ErrorSink) {
        let arn = self.table_arn_guess(&id.region, &id.id);
        errors.record(ERR.api("dynamodb:DescribeTable", &arn, f));
        let doc = Obj::new()
            .val("TableName", id.id.as_str())
            .arr(
                "Unreadable",
                vec![Obj::new()
                    .val("Field", "Table")
                    .val("Action", "dynamodb:DescribeTable")
                    .opt("Code", f.code.clone())
                    .done()],
            )
            .done();
        if let Err(e) = cx.put_resource(id, None, &doc) {
            errors.record(ERR.local(&arn, e));
        }
        cx.mark_incomplete(id);
    }

    async fn tags(
        &self,
        client: &Client,
        arn: &str,
    ) -> Result<Vec<aws_sdk_dynamodb::types::Tag>, ApiFailure> {
        sdk_pages!(
            &self.limits.dynamodb,
            "tags",
            |t| client
                .list_tags_of_resource()
                .resource_arn(arn)
                .set_next_token(t),
            |r| (r.tags.unwrap_or_default(), r.next_token)
        )
        .await
    }
}

/// `manifest-summary.json` and `manifest-files.json`, shaped like those of DynamoDB's export to
/// S3, without anything that changes between two captures of the same items (times, ids of the
/// export, bucket): the data file keys are relative to the table folder.
fn export_manifest(
    desc: &TableDescription,
    arn: &str,
    total: i32,
    complete: bool,
    items: u64,
    files: &[DataFile],
) -> (Value, Vec<u8>) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut lines = Vec::new();
    let mut listed = Vec::new();
    for f in files {
        let entry = Obj::new()
            .val("itemCount", f.items)
            .val("md5Checksum", b64.encode(f.stored.md5))
            .val("etag", hex::encode(f.stored.md5))
            .val("dataFileS3Key", f.name.as_str())
            .done();
        serde_json::to_writer(&mut lines, &entry).expect("serialisable");
        lines.push(b'\n');
        listed.push(
            Obj::new()
                .val("dataFileS3Key", f.name.as_str())
                .val("itemCount", f.items)
                .val("size", f.stored.size)
                .val("md5Checksum", b64.encode(f.stored.md5))
                .done(),
        );
    }
    let summary = Obj::new()
        .val("version", EXPORT_MANIFEST_VERSION)
        .val("tableArn", arn)
        .opt("tableId", desc.table_id())
        .val("exportType", "FULL_EXPORT")
        .val("outputFormat", "DYNAMODB_JSON")
        .val("itemCount", items)
        .val("manifestFilesS3Key", "manifest-files.json")
        .val("dataFiles", Value::Array(listed))
        .val(
            "scan",
            Obj::new()
                .val("totalSegments", total)
                .val("consistentRead", true)
                .val("complete", complete)
                .done(),
        )
        .done();
    (summary, lines)
}

fn keys_text(t: &TableDescription) -> String {
    let ty = |n: &str| {
        t.attribute_definitions()
            .iter()
            .find(|d| d.attribute_name() == n)
            .map(|d| d.attribute_type().as_str().to_string())
            .unwrap_or_else(|| "?".into())
    };
    let mut ks: Vec<_> = t.key_schema().iter().collect();
    ks.sort_by_key(|k| if k.key_type() == &KeyType::Hash { 0 } else { 1 });
    ks.iter()
        .map(|k| format!("{} ({})", k.attribute_name(), ty(k.attribute_name())))
        .collect::<Vec<_>>()
        .join(" + ")
}

fn billing_text(t: &TableDescription) -> String {
    let mode = t
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .cloned()
        .unwrap_or(BillingMode::Provisioned);
    match mode {
        BillingMode::PayPerRequest => "on demand".into(),
        BillingMode::Provisioned => {
            let p = t.provisioned_throughput();
            format!(
                "provisioned {}/{}",
                p.and_then(|p| p.read_capacity_units()).unwrap_or(0),
                p.and_then(|p| p.write_capacity_units()).unwrap_or(0)
            )
        }
        other => other.as_str().to_string(),
    }
}
