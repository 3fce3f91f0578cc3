//! DynamoDB end to end: the real binary against moto, tables in two regions, every table setting
//! asserted from table.json, every item read back from the gzip DynamoDB JSON files and compared
//! with what was put; the catalog lists each table by its id with its parts, and coverage is
//! complete per region; --no-table-data; a second snapshot adds no blobs and gives the same
//! digests; denied calls are recorded and make the table incomplete; a denied ListTables is failed
//! coverage of that region only.

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, LocalSecondaryIndex, PointInTimeRecoverySpecification, Projection, ProjectionType,
    ProvisionedThroughput, PutRequest, ScalarAttributeType, StreamSpecification, StreamViewType,
    Tag, TimeToLiveSpecification, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use aws_smithy_types::Blob;
use common::*;
use serde_json::Value;

type Item = HashMap<String, AttributeValue>;

async fn ddb(endpoint: &str, region: &str) -> Client {
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await;
    Client::new(&shared)
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.into())
}
fn key(name: &str, t: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(t)
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

/// Items with every attribute type, nested maps and lists, and awkward strings and numbers.
fn order_items() -> Vec<Item> {
    let mut out = Vec::new();
    for i in 0..40u32 {
        let mut it: Item = HashMap::new();
        it.insert("pk".into(), s(&format!("customer#{}", i % 7)));
        it.insert("sk".into(), n(&format!("{}", 1000 + i)));
        it.insert(
            "status".into(),
            s(if i % 3 == 0 { "OPEN" } else { "SHIPPED" }),
        );
        it.insert("created".into(), n(&format!("{}", 1_700_000_000 + i * 60)));
        it.insert("total".into(), n(&format!("{}.{:02}", i * 3, i % 100)));
        if i % 2 == 0 {
            it.insert("expires_at".into(), n("1900000000"));
        }
        out.push(it);
    }
    // One item of every type, including the edge cases.
    let mut nested = HashMap::new();
    nested.insert("deep".to_string(), {
        let mut m = HashMap::new();
        m.insert("x".to_string(), AttributeValue::L(vec![n("1"), s("two")]));
        m.insert("empty_map".to_string(), AttributeValue::M(HashMap::new()));
        AttributeValue::M(m)
    });
    nested.insert("flag".to_string(), AttributeValue::Bool(false));
    let mut all: Item = HashMap::new();
    all.insert("pk".into(), s("every-type"));
    all.insert("sk".into(), n("-1"));
    all.insert("status".into(), s("OPEN"));
    all.insert("created".into(), n("0"));
    all.insert(
        "s_unicode".into(),
        s("caf\u{e9} \u{1f600} \"quoted\" back\\slash\nnewline\ttab"),
    );
    all.insert("n_big".into(), n("12345678901234567890123456789012345678"));
    all.insert(
        "n_small".into(),
        n("-0.000000000000000000000000000000000001"),
    );
    all.insert(
        "b".into(),
        AttributeValue::B(Blob::new(vec![0u8, 1, 2, 254, 255])),
    );
    all.insert(
        "ss".into(),
        AttributeValue::Ss(vec!["zeta".into(), "alpha".into(), "Mid".into()]),
    );
    all.insert(
        "ns".into(),
        AttributeValue::Ns(vec!["10".into(), "-2.5".into(), "3".into()]),
    );
    all.insert(
        "bs".into(),
        AttributeValue::Bs(vec![
            Blob::new(vec![9u8, 9]),
            Blob::new(vec![0u8]),
            Blob::new(b"binary".to_vec()),
        ]),
    );
    all.insert("m".into(), AttributeValue::M(nested));
    all.insert(
        "l".into(),
        AttributeValue::L(vec![
            s("a"),
            n("1"),
            AttributeValue::Null(true),
            AttributeValue::Bool(true),
            AttributeValue::L(vec![]),
            AttributeValue::Ss(vec!["x".into()]),
        ]),
    );
    all.insert("nothing".into(), AttributeValue::Null(true));
    all.insert("yes".into(), AttributeValue::Bool(true));
    all.insert("empty_string".into(), s(""));
    all.insert("empty_list".into(), AttributeValue::L(vec![]));
    out.push(all);
    out
}

/// 2,500 items of about 700 bytes: several 1 MB scan pages.
fn inventory_items() -> Vec<Item> {
    (0..2500u32)
        .map(|i| {
            let mut it: Item = HashMap::new();
            it.insert("sku".into(), s(&format!("sku-{i:05}")));
            it.insert("qty".into(), n(&format!("{}", (i * 37) % 1000)));
            it.insert(
                "pad".into(),
                s(
                    &String::from_utf8(
                        bytes(i as u64, 650).iter().map(|b| b'a' + b % 26).collect(),
                    )
                    .unwrap(),
                ),
            );
            it.insert(
                "bins".into(),
                AttributeValue::Ss(vec![format!("A{}", i % 10), format!("B{}", i % 13)]),
            );
            it
        })
        .collect()
}

async fn put_all(c: &Client, table: &str, items: &[Item]) {
    for chunk in items.chunks(25) {
        let reqs: Vec<WriteRequest> = chunk
            .iter()
            .map(|it| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(it.clone()))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        let mut pending = Some(HashMap::from([(table.to_string(), reqs)]));
        while let Some(p) = pending.take().filter(|p| !p.is_empty()) {
            let r = c
                .batch_write_item()
                .set_request_items(Some(p))
                .send()
                .await
                .unwrap_or_else(|e| panic!("batch write {table}: {e:?}"));
            pending = r.unprocessed_items().cloned();
        }
    }
}

/// Tables: `orders` (us-east-1: composite key, GSI, LSI, TTL, PITR, tags, stream, on demand,
/// deletion protection), `inventory` (eu-west-1, provisioned, 2,500 items), `empty` (eu-west-1).
async fn seed(endpoint: &str) -> (Vec<Item>, Vec<Item>) {
    let us = ddb(endpoint, "us-east-1").await;
    let eu = ddb(endpoint, "eu-west-1").await;
    us.create_table()
        .table_name("orders")
        .attribute_definitions(attr("pk", ScalarAttributeType::S))
        .attribute_definitions(attr("sk", ScalarAttributeType::N))
        .attribute_definitions(attr("status", ScalarAttributeType::S))
        .attribute_definitions(attr("created", ScalarAttributeType::N))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by-status")
                .key_schema(key("status", KeyType::Hash))
                .key_schema(key("created", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .non_key_attributes("total")
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("by-created")
                .key_schema(key("pk", KeyType::Hash))
                .key_schema(key("created", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .tags(Tag::builder().key("team").value("shop").build().unwrap())
        .tags(Tag::builder().key("env").value("prod").build().unwrap())
        .deletion_protection_enabled(true)
        .send()
        .await
        .unwrap();
    us.update_time_to_live()
        .table_name("orders")
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expires_at")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    us.update_continuous_backups()
        .table_name("orders")
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let orders = order_items();
    put_all(&us, "orders", &orders).await;

    eu.create_table()
        .table_name("inventory")
        .attribute_definitions(attr("sku", ScalarAttributeType::S))
        .key_schema(key("sku", KeyType::Hash))
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(5)
                .write_capacity_units(3)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let inventory = inventory_items();
    put_all(&eu, "inventory", &inventory).await;
    autoscale_inventory(endpoint).await;

    eu.create_table()
        .table_name("empty")
        .attribute_definitions(attr("id", ScalarAttributeType::B))
        .key_schema(key("id", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    (orders, inventory)
}

/// Read capacity autoscaling (5-50, target tracking at 70%) on the provisioned table.
async fn autoscale_inventory(endpoint: &str) {
    use aws_sdk_applicationautoscaling::types::{
        MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
        TargetTrackingScalingPolicyConfiguration,
    };
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await;
    let aas = aws_sdk_applicationautoscaling::Client::new(&shared);
    aas.register_scalable_target()
        .service_namespace(ServiceNamespace::Dynamodb)
        .resource_id("table/inventory")
        .scalable_dimension(ScalableDimension::DynamoDbTableReadCapacityUnits)
        .min_capacity(5)
        .max_capacity(50)
        .send()
        .await
        .unwrap();
    aas.put_scaling_policy()
        .policy_name("inventory-read")
        .service_namespace(ServiceNamespace::Dynamodb)
        .resource_id("table/inventory")
        .scalable_dimension(ScalableDimension::DynamoDbTableReadCapacityUnits)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(70.0)
                .predefined_metric_specification(
                    PredefinedMetricSpecification::builder()
                        .predefined_metric_type(MetricType::DynamoDbReadCapacityUtilization)
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

/// DynamoDB JSON back into SDK values.
fn parse_av(v: &Value) -> AttributeValue {
    let o = v.as_object().expect("attribute value object");
    assert_eq!(o.len(), 1, "one type per value: {v}");
    let (t, x) = o.iter().next().unwrap();
    let strs = |x: &Value| -> Vec<String> {
        x.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let b = |x: &Value| Blob::new(aws_smithy_types::base64::decode(x.as_str().unwrap()).unwrap());
    match t.as_str() {
        "S" => AttributeValue::S(x.as_str().unwrap().into()),
        "N" => AttributeValue::N(x.as_str().unwrap().into()),
        "B" => AttributeValue::B(b(x)),
        "SS" => AttributeValue::Ss(strs(x)),
        "NS" => AttributeValue::Ns(strs(x)),
        "BS" => AttributeValue::Bs(x.as_array().unwrap().iter().map(b).collect()),
        "M" => AttributeValue::M(parse_map(x)),
        "L" => AttributeValue::L(x.as_array().unwrap().iter().map(parse_av).collect()),
        "NULL" => AttributeValue::Null(x.as_bool().unwrap()),
        "BOOL" => AttributeValue::Bool(x.as_bool().unwrap()),
        other => panic!("unknown type {other}"),
    }
}

fn parse_map(v: &Value) -> Item {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), parse_av(v)))
        .collect()
}

/// Sets are unordered: sort their members before comparing.
fn norm(v: &AttributeValue) -> AttributeValue {
    match v {
        AttributeValue::Ss(x) => {
            let mut x = x.clone();
            x.sort();
            AttributeValue::Ss(x)
        }
        AttributeValue::Ns(x) => {
            let mut x = x.clone();
            x.sort();
            AttributeValue::Ns(x)
        }
        AttributeValue::Bs(x) => {
            let mut x: Vec<Vec<u8>> = x.iter().map(|b| b.as_ref().to_vec()).collect();
            x.sort();
            AttributeValue::Bs(x.into_iter().map(Blob::new).collect())
        }
        AttributeValue::M(m) => AttributeValue::M(norm_item(m)),
        AttributeValue::L(l) => AttributeValue::L(l.iter().map(norm).collect()),
        other => other.clone(),
    }
}

fn norm_item(m: &Item) -> Item {
    m.iter().map(|(k, v)| (k.clone(), norm(v))).collect()
}

/// Items by their key text, normalised.
fn keyed(items: &[Item], keys: &[&str]) -> BTreeMap<String, Item> {
    items
        .iter()
        .map(|it| {
            let k = keys
                .iter()
                .map(|k| format!("{:?}", it[*k]))
                .collect::<Vec<_>>()
                .join("|");
            (k, norm_item(it))
        })
        .collect()
}

/// Every item of a table folder's data files, in file order, with the per-file counts.
fn read_items(table_dir: &Path) -> (Vec<Item>, BTreeMap<String, u64>) {
    let mut files: Vec<_> = std::fs::read_dir(table_dir.join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut items = Vec::new();
    let mut counts = BTreeMap::new();
    for f in files {
        let name = format!("data/{}", f.file_name().unwrap().to_str().unwrap());
        assert!(name.ends_with(".json.gz"), "{name}");
        let raw = std::fs::read(&f).unwrap();
        // Deterministic gzip: no mtime, no file name.
        assert_eq!(&raw[..4], &[0x1f, 0x8b, 8, 0], "{name}: gzip header flags");
        assert_eq!(&raw[4..8], &[0, 0, 0, 0], "{name}: gzip mtime");
        let mut text = String::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_string(&mut text)
            .unwrap();
        let mut c = 0;
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let o = v.as_object().unwrap();
            assert_eq!(o.len(), 1, "a line is {{\"Item\":...}}: {line}");
            items.push(parse_map(&o["Item"]));
            c += 1;
        }
        assert!(text.is_empty() || text.ends_with('\n'));
        counts.insert(name, c);
    }
    (items, counts)
}

/// The account moto answers for with its default credentials.
const ACCOUNT: &str = "123456789012";

/// The catalog records of a snapshot (`catalog/resources.jsonl`) of DynamoDB tables, by id.
fn tables(snap: &Path) -> BTreeMap<String, Value> {
    catalog_records(snap)
        .into_iter()
        .filter(|(id, _)| id.starts_with("aws.dynamodb.table:"))
        .collect()
}

fn table_id(region: &str, table: &str) -> String {
    format!("aws.dynamodb.table:{ACCOUNT}:{region}:{table}")
}

/// The state of the coverage of DynamoDB tables in `region` (`catalog/coverage.jsonl`).
fn coverage(snap: &Path, region: &str) -> Value {
    std::fs::read_to_string(snap.join("catalog/coverage.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|c| {
            c["kind"] == "aws.dynamodb.table" && c["account"] == ACCOUNT && c["region"] == region
        })
        .unwrap_or_else(|| panic!("no coverage of tables in {region}"))
}

fn index_paths(snap: &Path) -> Vec<String> {
    std::fs::read_to_string(snap.join("index/files.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["path"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_in_two_regions_are_captured_with_every_item() {
    let emu = Emulator::start().await.unwrap();
    let (orders, inventory) = seed(&emu.url()).await;
    // S3 runs beside DynamoDB in the same snapshot.
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    create_bucket(&s3, "exports").await;
    put(&s3, "exports", "readme.txt", b"hello").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let args = [
        "--label",
        "first",
        "--only",
        "dynamodb,s3",
        "--regions",
        "us-east-1,eu-west-1",
    ];
    let meta = snapshot(&repo, &emu.url(), &args);
    assert_eq!(meta["status"], "complete", "{meta:#}");
    assert_eq!(meta["collectors"]["s3"]["status"], "complete");
    let c = &meta["collectors"]["dynamodb"];
    assert_eq!(c["status"], "complete", "{c:#}");
    assert_eq!(c["counts"]["tables"], 3);
    assert_eq!(
        c["counts"]["items"].as_u64().unwrap(),
        (orders.len() + inventory.len()) as u64
    );
    assert!(c["bytes_total"].as_u64().unwrap() > 0);
    let items_per_s =
        c["counts"]["items"].as_f64().unwrap() / c["duration_seconds"].as_f64().unwrap();
    eprintln!(
        "dynamodb: {} items in {:.2} s ({items_per_s:.0} items/s on moto)",
        c["counts"]["items"],
        c["duration_seconds"].as_f64().unwrap()
    );
    let snap = snapshot_dir(&repo, &meta);
    let t = snap.join("dynamodb_tables/123456789012/us-east-1/orders");

    // table.json, field by field.
    let tj = read_json(&t.join("table.json"));
    assert_eq!(tj["TableName"], "orders");
    assert_eq!(
        tj["TableArn"],
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
    );
    assert_eq!(
        tj["KeySchema"],
        serde_json::json!([
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ])
    );
    assert_eq!(
        tj["AttributeDefinitions"],
        serde_json::json!([
            {"AttributeName": "created", "AttributeType": "N"},
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "status", "AttributeType": "S"}
        ])
    );
    let gsi = &tj["GlobalSecondaryIndexes"][0];
    assert_eq!(gsi["IndexName"], "by-status");
    assert_eq!(gsi["KeySchema"][0]["AttributeName"], "status");
    assert_eq!(gsi["KeySchema"][1]["KeyType"], "RANGE");
    assert_eq!(gsi["Projection"]["ProjectionType"], "INCLUDE");
    assert_eq!(
        gsi["Projection"]["NonKeyAttributes"],
        serde_json::json!(["total"])
    );
    let lsi = &tj["LocalSecondaryIndexes"][0];
    assert_eq!(lsi["IndexName"], "by-created");
    assert_eq!(lsi["Projection"]["ProjectionType"], "KEYS_ONLY");
    assert_eq!(tj["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(tj["StreamSpecification"]["StreamEnabled"], true);
    assert_eq!(
        tj["StreamSpecification"]["StreamViewType"],
        "NEW_AND_OLD_IMAGES"
    );
    assert!(tj["LatestStreamArn"].as_str().unwrap().contains("/stream/"));
    assert_eq!(tj["TimeToLive"]["TimeToLiveStatus"], "ENABLED");
    assert_eq!(tj["TimeToLive"]["AttributeName"], "expires_at");
    assert_eq!(
        tj["ContinuousBackups"]["ContinuousBackupsStatus"],
        "ENABLED"
    );
    assert_eq!(
        tj["ContinuousBackups"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"],
        "ENABLED"
    );
    assert_eq!(
        tj["Tags"],
        serde_json::json!([{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "shop"}])
    );
    assert_eq!(tj["DeletionProtectionEnabled"], true);
    assert!(tj["CreationDateTime"].as_str().unwrap().ends_with('Z'));
    // Volatile fields live in stats.json only.
    for volatile in ["ItemCount", "TableSizeBytes", "TableStatus", "Unreadable"] {
        assert!(tj.get(volatile).is_none(), "{volatile} in table.json");
    }
    assert!(tj["ContinuousBackups"]["PointInTimeRecoveryDescription"]
        .get("LatestRestorableDateTime")
        .is_none());
    let st = read_json(&t.join("stats.json"));
    assert_eq!(st["TableStatus"], "ACTIVE");
    assert_eq!(st["ItemCount"].as_u64().unwrap(), orders.len() as u64);
    assert!(st["ContinuousBackups"]["PointInTimeRecoveryDescription"]
        .get("EarliestRestorableDateTime")
        .is_some());
    assert_eq!(st["GlobalSecondaryIndexes"][0]["IndexName"], "by-status");

    // The provisioned table in the other region.
    let inv = snap.join("dynamodb_tables/123456789012/eu-west-1/inventory");
    let ij = read_json(&inv.join("table.json"));
    assert_eq!(
        ij["TableArn"],
        "arn:aws:dynamodb:eu-west-1:123456789012:table/inventory"
    );
    assert_eq!(ij["ProvisionedThroughput"]["ReadCapacityUnits"], 5);
    assert_eq!(ij["ProvisionedThroughput"]["WriteCapacityUnits"], 3);
    if let Some(b) = ij.get("BillingModeSummary") {
        assert_eq!(b["BillingMode"], "PROVISIONED");
    }
    assert_eq!(ij["TimeToLive"]["TimeToLiveStatus"], "DISABLED");
    // Autoscaling, from Application Auto Scaling.
    let scaling = ij["AutoScaling"].as_array().expect("AutoScaling");
    assert_eq!(scaling.len(), 1, "{scaling:#?}");
    assert_eq!(scaling[0]["ResourceId"], "table/inventory");
    assert_eq!(
        scaling[0]["ScalableDimension"],
        "dynamodb:table:ReadCapacityUnits"
    );
    assert_eq!(scaling[0]["MinCapacity"], 5);
    assert_eq!(scaling[0]["MaxCapacity"], 50);
    let p = &scaling[0]["Policies"][0];
    assert_eq!(p["PolicyName"], "inventory-read");
    assert_eq!(p["PolicyType"], "TargetTrackingScaling");
    let tt = &p["TargetTrackingScalingPolicyConfiguration"];
    assert_eq!(tt["TargetValue"], 70.0);
    assert_eq!(
        tt["PredefinedMetricType"],
        "DynamoDBReadCapacityUtilization"
    );
    assert!(
        read_json(&snap.join("dynamodb_tables/123456789012/us-east-1/orders/table.json"))
            .get("AutoScaling")
            .is_none()
    );
    assert_eq!(
        ij["ContinuousBackups"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"],
        "DISABLED"
    );
    assert!(ij.get("Tags").is_none());
    assert!(ij.get("GlobalSecondaryIndexes").is_none());

    // Items: exactly what was put.
    let (got, counts) = read_items(&t);
    assert_eq!(
        counts.keys().collect::<Vec<_>>(),
        ["data/segment-0-of-1.json.gz"]
    );
    assert_eq!(keyed(&got, &["pk", "sk"]), keyed(&orders, &["pk", "sk"]));
    let (got_inv, inv_counts) = read_items(&inv);
    assert_eq!(got_inv.len(), inventory.len());
    assert_eq!(keyed(&got_inv, &["sku"]), keyed(&inventory, &["sku"]));
    let (got_empty, empty_counts) =
        read_items(&snap.join("dynamodb_tables/123456789012/eu-west-1/empty"));
    assert!(got_empty.is_empty());
    assert_eq!(
        empty_counts,
        BTreeMap::from([("data/segment-0-of-1.json.gz".to_string(), 0u64)])
    );

    // The export-style manifests agree with the files.
    let ms = read_json(&inv.join("manifest-summary.json"));
    assert_eq!(ms["outputFormat"], "DYNAMODB_JSON");
    assert_eq!(ms["itemCount"], 2500);
    assert_eq!(ms["scan"]["complete"], true);
    assert_eq!(ms["scan"]["totalSegments"], 1);
    let listed: BTreeMap<String, u64> = ms["dataFiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["dataFileS3Key"].as_str().unwrap().to_string(),
                f["itemCount"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, inv_counts);
    let mf = std::fs::read_to_string(inv.join("manifest-files.json")).unwrap();
    assert_eq!(mf.lines().count(), inv_counts.len());
    for l in mf.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        let f = inv.join(v["dataFileS3Key"].as_str().unwrap());
        let md5 = md5_hex(&std::fs::read(&f).unwrap());
        assert_eq!(v["etag"], md5.as_str());
    }

    // Every file is a tree file listed in the index; verify passes.
    let listed_paths = index_paths(&snap);
    for rel in [
        "dynamodb_tables/123456789012/us-east-1/orders/table.json",
        "dynamodb_tables/123456789012/us-east-1/orders/stats.json",
        "dynamodb_tables/123456789012/us-east-1/orders/manifest-summary.json",
        "dynamodb_tables/123456789012/us-east-1/orders/manifest-files.json",
        "dynamodb_tables/123456789012/us-east-1/orders/data/segment-0-of-1.json.gz",
        "dynamodb_tables/123456789012/eu-west-1/empty/data/segment-0-of-1.json.gz",
    ] {
        assert!(listed_paths.iter().any(|p| p == rel), "{rel} not in index");
    }
    let o = infrasnap(&repo, &emu.url(), &["verify", "first"]);
    assert_code(&o, 0);

    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(
        manifest.contains("| orders | us-east-1 | pk (S) + sk (N) | on demand | 41 |"),
        "{manifest}"
    );
    assert!(
        manifest.contains("| inventory | eu-west-1 | sku (S) | provisioned 5/3 | 2500 |"),
        "{manifest}"
    );

    // The catalog: each table by its id, its document table.json, every other file a part named
    // by its path in the table's folder; tables listed in both regions.
    let cat = tables(&snap);
    assert_eq!(
        cat.keys().cloned().collect::<Vec<_>>(),
        [
            table_id("eu-west-1", "empty"),
            table_id("eu-west-1", "inventory"),
            table_id("us-east-1", "orders"),
        ]
    );
    let orders_rec = &cat[&table_id("us-east-1", "orders")];
    let folder = format!("dynamodb_tables/{ACCOUNT}/us-east-1/orders");
    assert_eq!(orders_rec["path"], format!("{folder}/table.json"));
    assert!(orders_rec.get("incomplete").is_none(), "{orders_rec:#}");
    let parts = orders_rec["parts"].as_object().unwrap();
    assert_eq!(
        parts.keys().collect::<Vec<_>>(),
        [
            "data/segment-0-of-1.json.gz",
            "manifest-files.json",
            "manifest-summary.json",
            "stats.json"
        ]
    );
    for (name, part) in parts {
        assert_eq!(part["path"], format!("{folder}/{name}"));
        assert!(listed_paths.contains(&format!("{folder}/{name}")), "{name}");
    }
    for region in ["us-east-1", "eu-west-1"] {
        let c = coverage(&snap, region);
        assert_eq!(c["state"], "complete", "{c:#}");
    }

    // A second snapshot of the unchanged tables adds no blob.
    let blobs = blob_count(&repo);
    let meta2 = snapshot(
        &repo,
        &emu.url(),
        &[
            "--label",
            "second",
            "--only",
            "dynamodb,s3",
            "--regions",
            "us-east-1,eu-west-1",
        ],
    );
    assert_eq!(meta2["status"], "complete");
    assert_eq!(meta2["collectors"]["dynamodb"]["blobs_new"], 0, "{meta2:#}");
    assert_eq!(meta2["totals"]["blobs_new"], 0, "{meta2:#}");
    assert_eq!(blob_count(&repo), blobs);
    let snap2 = snapshot_dir(&repo, &meta2);
    for rel in [
        "dynamodb_tables/123456789012/us-east-1/orders/table.json",
        "dynamodb_tables/123456789012/eu-west-1/inventory/data/segment-0-of-1.json.gz",
    ] {
        assert_eq!(
            std::fs::read(snap.join(rel)).unwrap(),
            std::fs::read(snap2.join(rel)).unwrap(),
            "{rel}"
        );
    }
    // The same tables with the same digests and the same parts.
    let cat2 = tables(&snap2);
    assert_eq!(
        cat2.keys().collect::<Vec<_>>(),
        cat.keys().collect::<Vec<_>>()
    );
    for (id, r) in &cat {
        assert_eq!(cat2[id]["digest"], r["digest"], "{id}");
        assert_eq!(cat2[id]["blob"], r["blob"], "{id}");
        let blobs = |r: &Value| -> Vec<(String, Value)> {
            r["parts"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, p)| (k.clone(), p["blob"].clone()))
                .collect()
        };
        // stats.json is a volatile part (PITR's restorable window moves): the rest is equal.
        let keep = |v: Vec<(String, Value)>| -> Vec<(String, Value)> {
            v.into_iter().filter(|(k, _)| k != "stats.json").collect()
        };
        assert_eq!(keep(blobs(&cat2[id])), keep(blobs(r)), "{id}");
    }
    let o = infrasnap(&repo, &emu.url(), &["verify", "--all"]);
    assert_code(&o, 0);

    // --no-table-data: the configuration only.
    let meta3 = snapshot(
        &repo,
        &emu.url(),
        &[
            "--label",
            "config-only",
            "--only",
            "dynamodb",
            "--regions",
            "us-east-1,eu-west-1",
            "--no-table-data",
        ],
    );
    assert_eq!(meta3["status"], "complete");
    assert!(meta3["collectors"].get("s3").is_none(), "--only dynamodb");
    assert_eq!(meta3["collectors"]["dynamodb"]["counts"]["items"], 0);
    let snap3 = snapshot_dir(&repo, &meta3);
    for table in ["us-east-1/orders", "eu-west-1/inventory", "eu-west-1/empty"] {
        let d = snap3.join("dynamodb_tables/123456789012").join(table);
        assert!(d.join("table.json").is_file(), "{table}");
        assert!(d.join("stats.json").is_file(), "{table}");
        assert!(!d.join("data").exists(), "{table}");
        assert!(!d.join("manifest-summary.json").exists(), "{table}");
    }
    assert_eq!(
        std::fs::read(snap.join("dynamodb_tables/123456789012/us-east-1/orders/table.json"))
            .unwrap(),
        std::fs::read(snap3.join("dynamodb_tables/123456789012/us-east-1/orders/table.json"))
            .unwrap()
    );
    let manifest = std::fs::read_to_string(snap3.join("MANIFEST.md")).unwrap();
    assert!(
        manifest.contains("not captured (~2500 reported)"),
        "{manifest}"
    );
    // The same documents, with stats.json as their only part.
    let cat3 = tables(&snap3);
    for (id, r) in &cat {
        assert_eq!(cat3[id]["digest"], r["digest"], "{id}");
        assert_eq!(
            cat3[id]["parts"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["stats.json"],
            "{id}"
        );
    }
}

fn md5_hex(b: &[u8]) -> String {
    // The etag in manifest-files.json is the hex MD5 (as S3's ETag of a single-part object);
    // the blob store computes MD5 as it stores, which saves the test an MD5 dependency.
    let d = tempfile::tempdir().unwrap();
    let s = infrasnap_core::store::BlobStore::open(d.path().join("b"), d.path().join("t")).unwrap();
    hex(&s.put_bytes(b).unwrap().md5)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// IAM setup through boto3 from moto's own virtualenv.
fn create_limited_user(moto_url: &str) -> (String, String) {
    let python = infrasnap_emulator::find_moto_server()
        .unwrap()
        .parent()
        .unwrap()
        .join("python");
    let script = r#"
import boto3, json, sys
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
iam.create_user(UserName="reader")
iam.put_user_policy(UserName="reader", PolicyName="ddb", PolicyDocument=json.dumps({
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["dynamodb:*", "application-autoscaling:Describe*", "sts:GetCallerIdentity"], "Resource": "*"},
    {"Effect": "Deny", "Action": ["dynamodb:DescribeContinuousBackups", "dynamodb:Scan"], "Resource": "*"}
  ]}))
k = iam.create_access_key(UserName="reader")["AccessKey"]
print(k["AccessKeyId"], k["SecretAccessKey"])
"#;
    let out = std::process::Command::new(python)
        .args(["-c", script, moto_url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8(out.stdout).unwrap();
    let mut it = s.split_whitespace();
    (
        it.next().unwrap().to_string(),
        it.next().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_calls_are_recorded_with_action_and_table_arn_and_the_rest_is_captured() {
    let emu = Emulator::start().await.unwrap();
    let us = ddb(&emu.url(), "us-east-1").await;
    us.create_table()
        .table_name("ledger")
        .attribute_definitions(attr("id", ScalarAttributeType::S))
        .key_schema(key("id", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .tags(
            Tag::builder()
                .key("owner")
                .value("finance")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    put_all(
        &us,
        "ledger",
        &[HashMap::from([("id".to_string(), s("1"))])],
    )
    .await;
    let (key_id, secret) = create_limited_user(&emu.moto.url());
    let r = raw_post(&emu.moto.url(), "/moto-api/reset-auth", "0");
    assert!(r.contains("200"), "{r}");

    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = command(
        &repo,
        &emu.url(),
        &[
            "--json",
            "snapshot",
            "--only",
            "dynamodb",
            "--regions",
            "us-east-1",
        ],
        &[
            ("AWS_ACCESS_KEY_ID", &key_id),
            ("AWS_SECRET_ACCESS_KEY", &secret),
        ],
    )
    .output()
    .unwrap();
    assert_code(&o, 3);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let meta = &v["metadata"];
    assert_eq!(meta["status"], "partial");
    let c = &meta["collectors"]["dynamodb"];
    assert_eq!(c["status"], "partial");
    let errors = c["errors"].as_array().unwrap();
    let arn = "arn:aws:dynamodb:us-east-1:123456789012:table/ledger";
    // AWS answers a denial with a JSON AccessDeniedException. moto 5.2.5 answers DynamoDB (a
    // JSON protocol) with an XML body, which the SDK cannot parse: it is then recorded without
    // a code, as an unreadable HTTP 403. Either way the action and the resource are exact.
    let denied = |e: &Value| {
        e["code"].as_str().unwrap_or("").starts_with("AccessDenied")
            || (e.get("code").is_none() && e["message"].as_str().unwrap().contains("HTTP 403"))
    };
    for action in ["dynamodb:DescribeContinuousBackups", "dynamodb:Scan"] {
        assert!(
            errors.iter().any(|e| e["action"] == action
                && e["resource"] == arn
                && e["service"] == "dynamodb"
                && denied(e)),
            "{action}: {errors:#?}"
        );
    }
    assert_eq!(errors.len(), 2, "{errors:#?}");

    // What could be read was captured; what could not is marked.
    let snap = snapshot_dir(&repo, meta);
    let t = snap.join("dynamodb_tables/123456789012/us-east-1/ledger");
    let tj = read_json(&t.join("table.json"));
    assert_eq!(tj["KeySchema"][0]["AttributeName"], "id");
    assert_eq!(tj["Tags"][0]["Value"], "finance");
    assert_eq!(tj["TimeToLive"]["TimeToLiveStatus"], "DISABLED");
    assert!(tj.get("ContinuousBackups").is_none());
    assert_eq!(tj["Unreadable"][0]["Field"], "ContinuousBackups");
    assert_eq!(
        tj["Unreadable"][0]["Action"],
        "dynamodb:DescribeContinuousBackups"
    );
    let ms = read_json(&t.join("manifest-summary.json"));
    assert_eq!(ms["scan"]["complete"], false);
    // In the catalog: a table whose settings and items could not all be read is incomplete (a
    // diff of it is not comparable); the listing itself was complete.
    let cat = tables(&snap);
    let ledger = &cat[&table_id("us-east-1", "ledger")];
    assert_eq!(ledger["incomplete"], true, "{ledger:#}");
    assert_eq!(coverage(&snap, "us-east-1")["state"], "complete");
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(
        manifest.contains(
            "| dynamodb | dynamodb:Scan | arn:aws:dynamodb:us-east-1:123456789012:table/ledger |"
        ),
        "{manifest}"
    );
    if errors.iter().all(|e| e.get("code").is_some()) {
        assert!(
            manifest.contains("\"dynamodb:Scan\""),
            "policy snippet: {manifest}"
        );
    }
    assert!(manifest.contains("| ledger | us-east-1 |"), "{manifest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_table_listing_is_failed_coverage_of_its_region_only() {
    let emu = Emulator::start().await.unwrap();
    let us = ddb(&emu.url(), "us-east-1").await;
    let eu = ddb(&emu.url(), "eu-west-1").await;
    for (c, table) in [(&us, "ledger"), (&us, "broken"), (&eu, "hidden")] {
        c.create_table()
            .table_name(table)
            .attribute_definitions(attr("id", ScalarAttributeType::S))
            .key_schema(key("id", KeyType::Hash))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap();
    }
    // Deny ListTables in eu-west-1 (the region is in the request's credential scope), and
    // DescribeTable of `broken`, as AWS does: a JSON AccessDeniedException.
    let endpoint = stub_proxy(&emu.url(), |r| {
        let target = r.header("x-amz-target").unwrap_or("");
        let auth = r.header("authorization").unwrap_or("");
        let body = String::from_utf8_lossy(&r.body);
        let deny = (target.ends_with(".ListTables") && auth.contains("/eu-west-1/dynamodb/"))
            || (target.ends_with(".DescribeTable") && body.contains("\"broken\""));
        deny.then(|| Canned {
            status: 400,
            content_type: "application/x-amz-json-1.0",
            extra_headers: String::new(),
            body: format!(
                "{{\"__type\":\"com.amazon.coral.service#AccessDeniedException\",\"message\":\"User: arn:aws:iam::123456789012:user/auditor is not authorized to perform: {target}\"}}"
            ),
        })
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = command(
        &repo,
        &endpoint,
        &[
            "--json",
            "snapshot",
            "--only",
            "dynamodb",
            "--regions",
            "us-east-1,eu-west-1",
            "--no-table-data",
        ],
        &[],
    )
    .output()
    .unwrap();
    assert_code(&o, 3);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let meta = &v["metadata"];
    let c = &meta["collectors"]["dynamodb"];
    assert_eq!(c["status"], "partial", "{c:#}");
    let errors = c["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors.iter().any(|e| e["action"] == "dynamodb:ListTables"
        && e["resource"] == "arn:aws:dynamodb:eu-west-1:123456789012:table/*"));
    assert!(errors
        .iter()
        .any(|e| e["action"] == "dynamodb:DescribeTable"
            && e["resource"] == "arn:aws:dynamodb:us-east-1:123456789012:table/broken"));
    let snap = snapshot_dir(&repo, meta);

    // us-east-1 was listed whole; eu-west-1 could not be: its table is not comparable, never
    // "removed".
    let us_cov = coverage(&snap, "us-east-1");
    assert_eq!(us_cov["state"], "complete", "{us_cov:#}");
    let eu_cov = coverage(&snap, "eu-west-1");
    assert_eq!(eu_cov["state"], "failed", "{eu_cov:#}");
    assert_eq!(eu_cov["error"]["action"], "dynamodb:ListTables");
    assert_eq!(eu_cov["error"]["code"], "AccessDeniedException");
    let cat = tables(&snap);
    assert_eq!(
        cat.keys().cloned().collect::<Vec<_>>(),
        [
            table_id("us-east-1", "broken"),
            table_id("us-east-1", "ledger")
        ]
    );
    // The table that could not be described is still in the catalog, marked incomplete, its
    // document naming what failed.
    let broken = &cat[&table_id("us-east-1", "broken")];
    assert_eq!(broken["incomplete"], true, "{broken:#}");
    let doc = read_json(&snap.join(broken["path"].as_str().unwrap()));
    assert_eq!(doc["TableName"], "broken");
    assert_eq!(doc["Unreadable"][0]["Field"], "Table");
    assert_eq!(doc["Unreadable"][0]["Action"], "dynamodb:DescribeTable");
    assert_eq!(doc["Unreadable"][0]["Code"], "AccessDeniedException");
    assert!(cat[&table_id("us-east-1", "ledger")]
        .get("incomplete")
        .is_none());
    assert!(!snap
        .join(format!("dynamodb_tables/{ACCOUNT}/eu-west-1"))
        .exists());
}
