//! DynamoDB restore through the real binary against moto: a table's settings put back in place
//! (provisioned capacity of the table and of an index, TTL, point-in-time recovery, tags,
//! Application Auto Scaling targets and policies, the stream), a deleted table made again with
//! all of them, and a table whose keys changed live left alone with what to do.
//!
//! moto gap: once a stream was turned off, moto keeps its label and refuses to turn a stream on
//! again (StreamAlreadyEnabledException), which AWS allows. So a stream turned off live cannot be
//! turned on again in place here: the in-place test goes the other way (a stream turned on live
//! is turned off by restore), and the stream at creation is tested with the deleted table.
//! moto also keeps a table's scalable targets when the table is deleted (as AWS does when the
//! table is deleted through the API): the re-created table's are registered over them.
//! moto gap: TagResource appends a tag whose key the table already has, where AWS replaces its
//! value (moto then lists the key twice). So the tags are changed live by removing one and adding
//! others, and restore adds and removes keys; a value replaced under the same key is covered by
//! the unit tests of the plan only.

use std::collections::HashMap;

use aws_sdk_applicationautoscaling as aas;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    Projection, ProjectionType, ProvisionedThroughput, ScalarAttributeType, StreamSpecification,
    StreamViewType, Tag, TimeToLiveSpecification, UpdateGlobalSecondaryIndexAction,
};
use serde_json::{json, Value};

use crate::common;
use common::*;

const ACCT: &str = "123456789012";

fn pt(r: i64, w: i64) -> ProvisionedThroughput {
    ProvisionedThroughput::builder()
        .read_capacity_units(r)
        .write_capacity_units(w)
        .build()
        .unwrap()
}

fn attr(name: &str, t: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(t)
        .build()
        .unwrap()
}

fn key(name: &str, t: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(t)
        .build()
        .unwrap()
}

fn item(n: i64) -> HashMap<String, AttributeValue> {
    [
        ("pk", AttributeValue::S(format!("acct#{}", n % 3))),
        ("sk", AttributeValue::N(n.to_string())),
        (
            "day",
            AttributeValue::S(format!("2026-11-{:02}", 1 + n % 5)),
        ),
        ("amount", AttributeValue::N(format!("{n}.25"))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

async fn target(a: &aas::Client, rid: &str, dim: &str, min: i32, max: i32) {
    a.register_scalable_target()
        .service_namespace(aas::types::ServiceNamespace::Dynamodb)
        .resource_id(rid)
        .scalable_dimension(aas::types::ScalableDimension::from(dim))
        .min_capacity(min)
        .max_capacity(max)
        .send()
        .await
        .unwrap();
}

async fn policy(a: &aas::Client, name: &str, rid: &str, dim: &str, metric: &str, value: f64) {
    use aas::types::{
        MetricType, PolicyType, PredefinedMetricSpecification,
        TargetTrackingScalingPolicyConfiguration,
    };
    a.put_scaling_policy()
        .policy_name(name)
        .service_namespace(aas::types::ServiceNamespace::Dynamodb)
        .resource_id(rid)
        .scalable_dimension(aas::types::ScalableDimension::from(dim))
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(value)
                .predefined_metric_specification(
                    PredefinedMetricSpecification::builder()
                        .predefined_metric_type(MetricType::from(metric))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

const TABLE_READ: &str = "dynamodb:table:ReadCapacityUnits";
const TABLE_WRITE: &str = "dynamodb:table:WriteCapacityUnits";
const INDEX_WRITE: &str = "dynamodb:index:WriteCapacityUnits";

/// `ledger` (pk S + sk N, provisioned 5/5, index `by-day` 2/2, stream NEW_AND_OLD_IMAGES, TTL on
/// `expires`, point-in-time recovery, two tags, read autoscaling on the table and write
/// autoscaling on the index, 12 items) and `events` (pk S, on demand, no stream).
async fn seed(c: &aws_sdk_dynamodb::Client, a: &aas::Client) {
    c.create_table()
        .table_name("ledger")
        .attribute_definitions(attr("pk", ScalarAttributeType::S))
        .attribute_definitions(attr("sk", ScalarAttributeType::N))
        .attribute_definitions(attr("day", ScalarAttributeType::S))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(pt(5, 5))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by-day")
                .key_schema(key("day", KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .provisioned_throughput(pt(2, 2))
                .build()
                .unwrap(),
        )
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .tags(Tag::builder().key("env").value("prod").build().unwrap())
        .tags(Tag::builder().key("team").value("pay").build().unwrap())
        .send()
        .await
        .unwrap();
    ttl(c, "ledger", true).await;
    pitr(c, "ledger", true).await;
    target(a, "table/ledger", TABLE_READ, 5, 50).await;
    policy(
        a,
        "ledger-read",
        "table/ledger",
        TABLE_READ,
        "DynamoDBReadCapacityUtilization",
        70.0,
    )
    .await;
    target(a, "table/ledger/index/by-day", INDEX_WRITE, 2, 20).await;
    policy(
        a,
        "by-day-write",
        "table/ledger/index/by-day",
        INDEX_WRITE,
        "DynamoDBWriteCapacityUtilization",
        60.0,
    )
    .await;
    for n in 0..12 {
        c.put_item()
            .table_name("ledger")
            .set_item(Some(item(n)))
            .send()
            .await
            .unwrap();
    }
    c.create_table()
        .table_name("events")
        .attribute_definitions(attr("pk", ScalarAttributeType::S))
        .key_schema(key("pk", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

async fn ttl(c: &aws_sdk_dynamodb::Client, table: &str, on: bool) {
    c.update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(on)
                .attribute_name("expires")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

async fn pitr(c: &aws_sdk_dynamodb::Client, table: &str, on: bool) {
    c.update_continuous_backups()
        .table_name(table)
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(on)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// Every setting of `ledger` changed live, and a stream turned on for `events`.
async fn alter(c: &aws_sdk_dynamodb::Client, a: &aas::Client) {
    ttl(c, "ledger", false).await;
    pitr(c, "ledger", false).await;
    c.update_table()
        .table_name("ledger")
        .provisioned_throughput(pt(5, 9))
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .update(
                    UpdateGlobalSecondaryIndexAction::builder()
                        .index_name("by-day")
                        .provisioned_throughput(pt(4, 2))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let arn = format!("arn:aws:dynamodb:us-east-1:{ACCT}:table/ledger");
    c.tag_resource()
        .resource_arn(&arn)
        .tags(Tag::builder().key("owner").value("ops").build().unwrap())
        .tags(Tag::builder().key("extra").value("1").build().unwrap())
        .send()
        .await
        .unwrap();
    c.untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    // Autoscaling: the table's read range and policy changed, the index's target gone, a target
    // the snapshot lacks added on the table's writes.
    target(a, "table/ledger", TABLE_READ, 5, 80).await;
    policy(
        a,
        "ledger-read",
        "table/ledger",
        TABLE_READ,
        "DynamoDBReadCapacityUtilization",
        40.0,
    )
    .await;
    a.deregister_scalable_target()
        .service_namespace(aas::types::ServiceNamespace::Dynamodb)
        .resource_id("table/ledger/index/by-day")
        .scalable_dimension(aas::types::ScalableDimension::from(INDEX_WRITE))
        .send()
        .await
        .unwrap();
    target(a, "table/ledger", TABLE_WRITE, 1, 10).await;
    // Items: two gone, one changed.
    for n in [1, 2] {
        c.delete_item()
            .table_name("ledger")
            .key("pk", AttributeValue::S(format!("acct#{}", n % 3)))
            .key("sk", AttributeValue::N(n.to_string()))
            .send()
            .await
            .unwrap();
    }
    let mut changed = item(3);
    changed.insert("amount".into(), AttributeValue::N("0".into()));
    c.put_item()
        .table_name("ledger")
        .set_item(Some(changed))
        .send()
        .await
        .unwrap();
    c.update_table()
        .table_name("events")
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

fn step<'a>(plan: &'a Value, table: &str, subject: &str) -> &'a Value {
    let id = format!("aws.dynamodb.table:{ACCT}:us-east-1:{table}");
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["target"] == id.as_str() && s["subject"]["type"] == subject)
        .unwrap_or_else(|| panic!("no {subject} step for {table}: {plan:#}"))
}

fn fields(step: &Value) -> Vec<(String, Value, Value)> {
    step["action"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_string(),
                f.get("live").cloned().unwrap_or(Value::Null),
                f.get("snapshot").cloned().unwrap_or(Value::Null),
            )
        })
        .collect()
}

struct Rig {
    _emu: Emulator,
    url: String,
    tmp: tempfile::TempDir,
    c: aws_sdk_dynamodb::Client,
    a: aas::Client,
}

impl Rig {
    async fn start() -> Rig {
        let emu = Emulator::start().await.unwrap();
        let url = emu.url();
        let conf = sdk_conf(&url, "us-east-1").await;
        Rig {
            c: aws_sdk_dynamodb::Client::new(&conf),
            a: aas::Client::new(&conf),
            _emu: emu,
            url,
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    fn repo(&self) -> std::path::PathBuf {
        self.tmp.path().join("repo")
    }

    fn snap(&self, label: &str) {
        snapshot(
            &self.repo(),
            &self.url,
            &[
                "--only",
                "dynamodb",
                "--regions",
                "us-east-1",
                "--label",
                label,
            ],
        );
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        infrasnap(&self.repo(), &self.url, args)
    }

    /// `restore plan one --kind aws.dynamodb.table ARGS`: the plan, and its file.
    fn plan(&self, args: &[&str]) -> (Value, String) {
        let mut a = vec!["one", "--kind", "aws.dynamodb.table"];
        a.extend_from_slice(args);
        let p = restore_plan_ok(&self.repo(), &self.url, &a);
        (p, plan_file(&self.repo()).to_str().unwrap().to_string())
    }

    fn diff_is_empty(&self, to: &str) {
        let o = self.run(&["diff", "one", to, "--kind", "aws.dynamodb.table"]);
        assert_code(&o, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_settings_and_autoscaling_changed_live_are_put_back_in_place() {
    let r = Rig::start().await;
    seed(&r.c, &r.a).await;
    r.snap("one");
    alter(&r.c, &r.a).await;

    let (plan, file) = r.plan(&["--if-exists", "overwrite", "--delete-extra", "--force"]);
    let ledger = step(&plan, "ledger", "resource");
    assert_eq!(ledger["action"]["action"], "update", "{ledger:#}");
    let read = json!({"MinCapacity": 5, "MaxCapacity": 50, "Policies": {"ledger-read": {
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": 70.0, "PredefinedMetricType": "DynamoDBReadCapacityUtilization"}}}});
    let mut read_live = read.clone();
    read_live["MaxCapacity"] = json!(80);
    read_live["Policies"]["ledger-read"]["TargetTrackingScalingPolicyConfiguration"]
        ["TargetValue"] = json!(40.0);
    assert_eq!(
        fields(ledger),
        vec![
            // The table's reads and the index's writes are autoscaling's: not compared.
            (
                "/ProvisionedThroughput".into(),
                json!({"WriteCapacityUnits": 9}),
                json!({"WriteCapacityUnits": 5})
            ),
            (
                "/GlobalSecondaryIndexes/by-day/ProvisionedThroughput".into(),
                json!({"ReadCapacityUnits": 4}),
                json!({"ReadCapacityUnits": 2})
            ),
            (
                "/TimeToLive".into(),
                json!({"Enabled": false}),
                json!({"Enabled": true, "AttributeName": "expires"})
            ),
            (
                "/PointInTimeRecovery".into(),
                json!({"Enabled": false}),
                json!({"Enabled": true, "RecoveryPeriodInDays": 35})
            ),
            (
                "/Tags".into(),
                json!({"env": "prod", "extra": "1", "owner": "ops"}),
                json!({"env": "prod", "team": "pay"})
            ),
            (
                "/AutoScaling/dynamodb:index:WriteCapacityUnits@by-day".into(),
                Value::Null,
                json!({"MinCapacity": 2, "MaxCapacity": 20, "Policies": {"by-day-write": {
                    "PolicyType": "TargetTrackingScaling",
                    "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 60.0,
                        "PredefinedMetricType": "DynamoDBWriteCapacityUtilization"}}}})
            ),
            (
                "/AutoScaling/dynamodb:table:ReadCapacityUnits".into(),
                read_live,
                read
            ),
            // --delete-extra: the target the snapshot lacks goes.
            (
                "/AutoScaling/dynamodb:table:WriteCapacityUnits".into(),
                json!({"MinCapacity": 1, "MaxCapacity": 10, "Policies": {}}),
                Value::Null
            ),
        ]
    );
    assert_ne!(ledger["want"], "exists");
    let events = step(&plan, "events", "resource");
    assert_eq!(
        fields(events),
        vec![(
            "/StreamSpecification".into(),
            json!({"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}),
            json!({"StreamEnabled": false})
        )]
    );
    let items = step(&plan, "ledger", "items");
    assert_eq!(
        items["action"]["fields"][0]["live"],
        json!({"changed": 1, "missing": 2, "extra": 0, "items": 10})
    );
    assert!(plan.get("manual").is_none(), "{:#}", plan["manual"]);

    let o = r.run(&["restore", "apply", &file]);
    assert_code(&o, 0);
    // What the service says now, beside what infrasnap reads back.
    let d =
        r.c.describe_table()
            .table_name("ledger")
            .send()
            .await
            .unwrap();
    let t = d.table().unwrap();
    assert_eq!(
        t.provisioned_throughput().unwrap().write_capacity_units(),
        Some(5)
    );
    let targets =
        r.a.describe_scalable_targets()
            .service_namespace(aas::types::ServiceNamespace::Dynamodb)
            .send()
            .await
            .unwrap();
    let mut got: Vec<(String, String, i32)> = targets
        .scalable_targets()
        .iter()
        .map(|t| {
            (
                t.resource_id().to_string(),
                t.scalable_dimension().as_str().to_string(),
                t.max_capacity(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("table/ledger".into(), TABLE_READ.into(), 50),
            ("table/ledger/index/by-day".into(), INDEX_WRITE.into(), 20),
        ]
    );
    r.snap("three");
    r.diff_is_empty("three");

    // Planned again: nothing left to do.
    let (again, _) = r.plan(&["--if-exists", "overwrite", "--delete-extra"]);
    assert_eq!(steps(&again), vec![], "{again:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_table_comes_back_with_its_stream_ttl_pitr_tags_and_autoscaling() {
    let r = Rig::start().await;
    seed(&r.c, &r.a).await;
    r.snap("one");
    r.c.delete_table()
        .table_name("ledger")
        .send()
        .await
        .unwrap();

    let (plan, file) = r.plan(&["ledger"]);
    assert_eq!(
        steps(&plan),
        vec![
            (
                "create".into(),
                format!("aws.dynamodb.table:{ACCT}:us-east-1:ledger")
            ),
            (
                "create".into(),
                format!("aws.dynamodb.table:{ACCT}:us-east-1:ledger")
            ),
        ]
    );
    assert_eq!(plan["steps"][0]["subject"]["type"], "resource");
    // Verified by its settings, not only by its existence.
    assert_ne!(plan["steps"][0]["want"], "exists");
    assert_eq!(plan["steps"][1]["subject"]["items"], 12);
    let o = r.run(&["restore", "apply", &file]);
    assert_code(&o, 0);
    let d =
        r.c.describe_table()
            .table_name("ledger")
            .send()
            .await
            .unwrap();
    let spec = d.table().unwrap().stream_specification().unwrap();
    assert_eq!(
        spec.stream_view_type(),
        Some(&StreamViewType::NewAndOldImages)
    );
    r.snap("two");
    let o = r.run(&["diff", "one", "two", "--kind", "aws.dynamodb.table"]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains("re-created (new "), "{}", stdout(&o));

    // `events` made again live with other keys: restore leaves it, and says what to do.
    r.c.delete_table()
        .table_name("events")
        .send()
        .await
        .unwrap();
    r.c.create_table()
        .table_name("events")
        .attribute_definitions(attr("id", ScalarAttributeType::N))
        .key_schema(key("id", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let (plan, _) = r.plan(&["events", "--force"]);
    let s = step(&plan, "events", "resource");
    assert_eq!(s["action"]["action"], "skip");
    assert!(
        s["action"]["reason"]
            .as_str()
            .unwrap()
            .contains("/KeySchema"),
        "{s:#}"
    );
    let items = step(&plan, "events", "items");
    assert_eq!(items["action"]["action"], "skip");
    let manual = plan["manual"][0]["reason"].as_str().unwrap();
    assert!(
        manual.contains("--to-table events-restored")
            && manual.contains("aws dynamodb delete-table --region us-east-1 --table-name events"),
        "{manual}"
    );
}
