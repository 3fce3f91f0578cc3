//! Lightsail end to end: the real binary against the Lightsail stand-in
//! (`infrasnap_emulator::lightsail`, reached through the SDK's standard
//! `AWS_ENDPOINT_URL_LIGHTSAIL` override; moto, which has no Lightsail, still answers STS).
//! The estate is seeded through the real aws-sdk-lightsail client: two instances in us-east-1
//! (one with a static IP, an attached disk, tags, automatic snapshots and an extra open port), one
//! in eu-west-1, a spare disk, an existing instance snapshot and a disk snapshot. Listings come one
//! item per page, so every listing pages. Asserted field by field from the snapshot files; a
//! second unchanged snapshot adds no blob; `--lightsail-snapshot` creates one native snapshot per
//! instance under the expected name and records it, `--lightsail-wait` records `available` (or a
//! timeout); an AccessDenied is recorded and the rest captured (exit 3); regions without
//! Lightsail are skipped, not errors. The catalog lists every resource under its id
//! (`aws.lightsail.instance:<account>:<region>:<name>`, ...) with unchanged digests on an
//! unchanged estate; coverage is complete for every listing read whole, failed for a denied
//! listing and for one that stopped part way, and absent for a region without Lightsail.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_lightsail::types::{
    AddOnRequest, AddOnType, AutoSnapshotAddOnRequest, NetworkProtocol, PortInfo, Tag,
};
use aws_sdk_lightsail::Client;
use common::*;
use infrasnap_emulator::lightsail::{LightsailServer, SnapshotReadiness};
use serde_json::{json, Value};

async fn client(endpoint: &str, region: &str) -> Client {
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await;
    Client::new(&conf)
}

fn tag(k: &str, v: Option<&str>) -> Tag {
    Tag::builder()
        .key(k)
        .set_value(v.map(str::to_string))
        .build()
}

/// The static IP's address, as the stand-in gave it.
struct Seeded {
    web_ip: String,
}

/// The estate, made through the real SDK.
async fn seed(ls: &LightsailServer) -> Seeded {
    ls.set_snapshot_readiness(SnapshotReadiness::Immediately);
    let us = client(&ls.url(), "us-east-1").await;
    us.create_instances()
        .instance_names("web-1")
        .availability_zone("us-east-1a")
        .blueprint_id("amazon_linux_2023")
        .bundle_id("micro_3_0")
        .tags(tag("team", Some("web")))
        .tags(tag("env", Some("prod")))
        .add_ons(
            AddOnRequest::builder()
                .add_on_type(AddOnType::AutoSnapshot)
                .auto_snapshot_add_on_request(
                    AutoSnapshotAddOnRequest::builder()
                        .snapshot_time_of_day("06:00")
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create web-1");
    us.create_instances()
        .instance_names("db-1")
        .availability_zone("us-east-1b")
        .blueprint_id("ubuntu_22_04")
        .bundle_id("small_3_0")
        .send()
        .await
        .expect("create db-1");
    us.tag_resource()
        .resource_name("db-1")
        .tags(tag("role", Some("database")))
        .tags(tag("backup", None))
        .send()
        .await
        .expect("tag db-1");
    us.open_instance_public_ports()
        .instance_name("web-1")
        .port_info(
            PortInfo::builder()
                .from_port(443)
                .to_port(443)
                .protocol(NetworkProtocol::Tcp)
                .cidrs("0.0.0.0/0")
                .build(),
        )
        .send()
        .await
        .expect("open 443");
    us.allocate_static_ip()
        .static_ip_name("web-ip")
        .send()
        .await
        .expect("allocate");
    us.attach_static_ip()
        .static_ip_name("web-ip")
        .instance_name("web-1")
        .send()
        .await
        .expect("attach ip");
    us.create_disk()
        .disk_name("data-1")
        .availability_zone("us-east-1a")
        .size_in_gb(32)
        .tags(tag("purpose", Some("uploads")))
        .send()
        .await
        .expect("create disk");
    us.attach_disk()
        .disk_name("data-1")
        .instance_name("web-1")
        .disk_path("/dev/xvdf")
        .send()
        .await
        .expect("attach disk");
    us.create_disk()
        .disk_name("spare-1")
        .availability_zone("us-east-1a")
        .size_in_gb(8)
        .send()
        .await
        .expect("create spare");
    us.create_instance_snapshot()
        .instance_name("db-1")
        .instance_snapshot_name("db-1-before-upgrade")
        .send()
        .await
        .expect("snapshot db-1");
    us.create_disk_snapshot()
        .disk_name("data-1")
        .disk_snapshot_name("data-1-weekly")
        .send()
        .await
        .expect("disk snapshot");
    let eu = client(&ls.url(), "eu-west-1").await;
    eu.create_instances()
        .instance_names("blog")
        .availability_zone("eu-west-1a")
        .blueprint_id("wordpress")
        .bundle_id("nano_3_0")
        .send()
        .await
        .expect("create blog");

    let ips = us.get_static_ips().send().await.unwrap();
    let web_ip = ips.static_ips()[0].ip_address().unwrap().to_string();
    ls.set_snapshot_readiness(SnapshotReadiness::AfterPolls(2));
    ls.set_page_size(1);
    Seeded { web_ip }
}

/// `infrasnap --json snapshot <args>` with Lightsail sent to the stand-in.
fn run(repo: &Path, emu: &str, ls: &LightsailServer, args: &[&str]) -> Output {
    let mut all = vec!["--json", "snapshot"];
    all.extend_from_slice(args);
    command(
        repo,
        emu,
        &all,
        &[("AWS_ENDPOINT_URL_LIGHTSAIL", ls.url().as_str())],
    )
    .output()
    .expect("run infrasnap")
}

fn metadata(o: &Output) -> Value {
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("json output: {e}\n{}\n{}", stdout(o), stderr(o)));
    v["metadata"].clone()
}

const REGIONS: &[&str] = &["--only", "lightsail", "--regions", "us-east-1,eu-west-1"];

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = extra.to_vec();
    v.extend_from_slice(REGIONS);
    v
}

/// The stand-in's account.
const ACCOUNT: &str = "123456789012";

/// The listings of a region, as catalog kinds.
const KINDS: [&str; 5] = [
    "aws.lightsail.instance",
    "aws.lightsail.disk",
    "aws.lightsail.static_ip",
    "aws.lightsail.instance_snapshot",
    "aws.lightsail.disk_snapshot",
];

/// `kind:account:region:id`.
fn rid(kind: &str, region: &str, id: &str) -> String {
    format!("{kind}:{ACCOUNT}:{region}:{id}")
}

/// A snapshot's catalog: its records by id, and its coverage by (kind, region).
struct Cat {
    records: BTreeMap<String, Value>,
    coverage: BTreeMap<(String, String), Value>,
}

fn catalog(snap: &Path) -> Cat {
    let records = catalog_file(snap, "resources")
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r))
        .collect();
    let coverage = catalog_file(snap, "coverage")
        .into_iter()
        .map(|c| {
            assert_eq!(c["account"], ACCOUNT, "{c:#}");
            let k = (
                c["kind"].as_str().unwrap().to_string(),
                c["region"].as_str().unwrap().to_string(),
            );
            (k, c)
        })
        .collect();
    Cat { records, coverage }
}

impl Cat {
    #[track_caller]
    fn get(&self, id: &str) -> &Value {
        self.records
            .get(id)
            .unwrap_or_else(|| panic!("{id} not in the catalog: {:#?}", self.records.keys()))
    }

    /// `complete`, `failed`, or `none` when the listing was not reported.
    fn state(&self, kind: &str, region: &str) -> &str {
        self.coverage
            .get(&(kind.to_string(), region.to_string()))
            .map(|c| c["state"].as_str().unwrap())
            .unwrap_or("none")
    }

    fn ids(&self) -> Vec<&str> {
        self.records.keys().map(String::as_str).collect()
    }
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_disks_static_ips_and_snapshots_are_captured_field_by_field() {
    let emu = Emulator::start().await.unwrap();
    let ls = LightsailServer::start().await.unwrap();
    let seeded = seed(&ls).await;
    let seeded_requests = ls.requests().len();

    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = run(&repo, &emu.url(), &ls, &args(&["--label", "first"]));
    assert_code(&o, 0);
    let meta = metadata(&o);
    assert_eq!(meta["status"], "complete", "{meta:#}");
    let c = &meta["collectors"]["lightsail"];
    assert_eq!(c["status"], "complete", "{c:#}");
    assert_eq!(c["errors"], json!([]));
    assert_eq!(
        c["counts"],
        json!({"instances": 3, "disks": 2, "static_ips": 1, "instance_snapshots": 1, "disk_snapshots": 1}),
        "{c:#}"
    );

    let snap = snapshot_dir(&repo, &meta);
    let root = snap.join(format!("lightsail/{ACCOUNT}"));
    let us = root.join("us-east-1");
    let eu = root.join("eu-west-1");
    let mut files: Vec<String> = walk_files(&root)
        .iter()
        .map(|p| {
            p.strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    // A view only where the region has such resources (eu-west-1 has an instance only).
    assert_eq!(
        files,
        [
            "eu-west-1/instances/blog.json",
            "us-east-1/disk_snapshots.json",
            "us-east-1/disks.json",
            "us-east-1/instance_snapshots.json",
            "us-east-1/instances/db-1.json",
            "us-east-1/instances/web-1.json",
            "us-east-1/static_ips.json",
        ],
        "no created_snapshots.json without --lightsail-snapshot"
    );

    // --- web-1: blueprint, bundle, state, IPs (the static one), ports, disks, add-ons, tags.
    let web = read_json(&us.join("instances/web-1.json"));
    assert_eq!(web["name"], "web-1");
    assert!(web["arn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:lightsail:us-east-1:123456789012:Instance/"));
    assert_eq!(web["resourceType"], "Instance");
    assert_eq!(web["blueprintId"], "amazon_linux_2023");
    assert_eq!(web["blueprintName"], "Amazon Linux 2023");
    assert_eq!(web["bundleId"], "micro_3_0");
    assert_eq!(web["state"], json!({"code": 16, "name": "running"}));
    assert_eq!(
        web["location"],
        json!({"availabilityZone": "us-east-1a", "regionName": "us-east-1"})
    );
    assert_eq!(web["isStaticIp"], true);
    assert_eq!(web["publicIpAddress"], seeded.web_ip.as_str());
    assert!(web["privateIpAddress"]
        .as_str()
        .unwrap()
        .starts_with("172.26."));
    assert_eq!(web["ipAddressType"], "dualstack");
    assert_eq!(web["ipv6Addresses"].as_array().unwrap().len(), 1);
    assert_eq!(web["username"], "ec2-user");
    assert_eq!(web["sshKeyName"], "LightsailDefaultKeyPair");
    // Tags sorted by key, whatever order they were given in.
    assert_eq!(
        web["tags"],
        json!([{"key": "env", "value": "prod"}, {"key": "team", "value": "web"}])
    );
    assert_eq!(
        web["addOns"],
        json!([{"name": "AutoSnapshot", "status": "Enabled", "snapshotTimeOfDay": "06:00", "nextSnapshotTimeOfDay": "06:00"}])
    );
    // Timestamps: RFC 3339 UTC, not the wire's epoch seconds.
    let created = web["createdAt"].as_str().expect("createdAt as text");
    assert!(
        created.starts_with("2023-11-") && created.ends_with('Z'),
        "{created}"
    );
    assert_eq!(web["hardware"]["cpuCount"], 2);
    assert_eq!(web["hardware"]["ramSizeInGb"], 1.0);
    let disks = web["hardware"]["disks"].as_array().unwrap();
    assert_eq!(
        names(&web["hardware"]["disks"]),
        ["data-1", "web-1-system-disk"]
    );
    assert_eq!(disks[0]["path"], "/dev/xvdf");
    assert_eq!(disks[0]["sizeInGb"], 32);
    assert_eq!(disks[0]["isSystemDisk"], false);
    assert_eq!(
        disks[0]["tags"],
        json!([{"key": "purpose", "value": "uploads"}])
    );
    assert_eq!(disks[1]["isSystemDisk"], true);
    assert_eq!(disks[1]["sizeInGb"], 40);
    let ports = web["networking"]["ports"].as_array().unwrap();
    let opened: Vec<(i64, String, Value)> = ports
        .iter()
        .map(|p| {
            (
                p["fromPort"].as_i64().unwrap(),
                p["protocol"].as_str().unwrap().to_string(),
                p["cidrs"].clone(),
            )
        })
        .collect();
    assert_eq!(
        opened,
        [
            (22, "tcp".to_string(), json!(["0.0.0.0/0"])),
            (80, "tcp".to_string(), json!(["0.0.0.0/0"])),
            (443, "tcp".to_string(), json!(["0.0.0.0/0"])),
        ],
        "ports sorted by range"
    );
    assert_eq!(ports[0]["accessDirection"], "inbound");
    assert_eq!(
        web["networking"]["monthlyTransfer"],
        json!({"gbPerMonthAllocated": 2048})
    );
    assert_eq!(web["metadataOptions"]["httpTokens"], "optional");

    // --- db-1: tags set later (one without a value), no static IP, no add-on.
    let db = read_json(&us.join("instances/db-1.json"));
    assert_eq!(db["blueprintId"], "ubuntu_22_04");
    assert_eq!(db["bundleId"], "small_3_0");
    assert_eq!(db["username"], "ubuntu");
    assert_eq!(db["isStaticIp"], false);
    assert_ne!(db["publicIpAddress"], seeded.web_ip.as_str());
    assert_eq!(db["location"]["availabilityZone"], "us-east-1b");
    assert_eq!(
        db["tags"],
        json!([{"key": "backup"}, {"key": "role", "value": "database"}])
    );
    assert!(db.get("addOns").is_none_or(|a| a == &json!([])), "{db:#}");
    assert_eq!(names(&db["hardware"]["disks"]), ["db-1-system-disk"]);

    // --- eu-west-1.
    let blog = read_json(&eu.join("instances/blog.json"));
    assert_eq!(blog["blueprintId"], "wordpress");
    assert_eq!(blog["bundleId"], "nano_3_0");
    assert_eq!(blog["location"]["regionName"], "eu-west-1");
    assert!(blog["arn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:lightsail:eu-west-1:123456789012:Instance/"));
    assert!(!eu.join("disks.json").exists());
    assert!(!eu.join("static_ips.json").exists());

    // --- Disks, static IPs, snapshots of us-east-1.
    let d = read_json(&us.join("disks.json"));
    assert_eq!(names(&d["Items"]), ["data-1", "spare-1"]);
    assert_eq!(d["Items"][0]["attachedTo"], "web-1");
    assert_eq!(d["Items"][0]["isAttached"], true);
    assert_eq!(d["Items"][0]["state"], "in-use");
    assert_eq!(d["Items"][0]["path"], "/dev/xvdf");
    assert_eq!(d["Items"][1]["isAttached"], false);
    assert_eq!(d["Items"][1]["state"], "available");
    assert_eq!(d["Items"][1]["sizeInGb"], 8);
    let ips = read_json(&us.join("static_ips.json"));
    assert_eq!(names(&ips["Items"]), ["web-ip"]);
    assert_eq!(ips["Items"][0]["attachedTo"], "web-1");
    assert_eq!(ips["Items"][0]["ipAddress"], seeded.web_ip.as_str());
    assert_eq!(ips["Items"][0]["isAttached"], true);
    let snaps = read_json(&us.join("instance_snapshots.json"));
    assert_eq!(names(&snaps["Items"]), ["db-1-before-upgrade"]);
    let s0 = &snaps["Items"][0];
    assert_eq!(s0["fromInstanceName"], "db-1");
    assert_eq!(s0["fromInstanceArn"], db["arn"]);
    assert_eq!(s0["state"], "available");
    assert_eq!(s0["fromBundleId"], "small_3_0");
    assert_eq!(s0["isFromAutoSnapshot"], false);
    let ds = read_json(&us.join("disk_snapshots.json"));
    assert_eq!(names(&ds["Items"]), ["data-1-weekly"]);
    assert_eq!(ds["Items"][0]["fromDiskName"], "data-1");

    // --- The catalog: every resource under its name, instances at their document's path.
    let cat = catalog(&snap);
    assert_eq!(
        cat.ids(),
        [
            rid("aws.lightsail.disk", "us-east-1", "data-1"),
            rid("aws.lightsail.disk", "us-east-1", "spare-1"),
            rid("aws.lightsail.disk_snapshot", "us-east-1", "data-1-weekly"),
            rid("aws.lightsail.instance", "eu-west-1", "blog"),
            rid("aws.lightsail.instance", "us-east-1", "db-1"),
            rid("aws.lightsail.instance", "us-east-1", "web-1"),
            rid(
                "aws.lightsail.instance_snapshot",
                "us-east-1",
                "db-1-before-upgrade"
            ),
            rid("aws.lightsail.static_ip", "us-east-1", "web-ip"),
        ]
    );
    let w = cat.get(&rid("aws.lightsail.instance", "us-east-1", "web-1"));
    assert_eq!(
        w["path"],
        format!("lightsail/{ACCOUNT}/us-east-1/instances/web-1.json")
    );
    let d = cat.get(&rid("aws.lightsail.disk", "us-east-1", "data-1"));
    assert!(d.get("path").is_none(), "a member kind: {d:#}");
    for kind in KINDS {
        for region in ["us-east-1", "eu-west-1"] {
            assert_eq!(cat.state(kind, region), "complete", "{kind} {region}");
        }
    }
    assert_eq!(cat.coverage.len(), 10, "{:#?}", cat.coverage);

    // --- What went over the wire: the listings with more than one item paged (one item a
    // page), every call signed for its region, nothing written.
    let reqs = ls.requests();
    let ours = &reqs[seeded_requests..];
    for (op, pages) in [
        ("GetInstances", 2),
        ("GetDisks", 2),
        ("GetStaticIps", 1),
        ("GetInstanceSnapshots", 1),
        ("GetDiskSnapshots", 1),
    ] {
        let calls: Vec<Option<String>> = ours
            .iter()
            .filter(|r| r.operation == op && r.region == "us-east-1")
            .map(|r| r.page_token.clone())
            .collect();
        assert_eq!(calls.len(), pages, "{op}: {calls:?}");
        assert_eq!(calls[0], None);
        assert!(calls[1..].iter().all(Option::is_some), "{op}: {calls:?}");
    }
    assert!(
        ours.iter().all(|r| r.operation.starts_with("Get")),
        "read only"
    );
    assert!(ours.iter().all(|r| r.status == 200));
    assert!(ours
        .iter()
        .all(|r| r.region == "us-east-1" || r.region == "eu-west-1"));

    // --- MANIFEST.
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(
        manifest.contains(&format!(
            "| us-east-1 | web-1 | amazon_linux_2023 | micro_3_0 | running | {} | web-ip | data-1 | daily at 06:00 UTC |",
            seeded.web_ip
        )),
        "{manifest}"
    );
    assert!(
        manifest.contains("| eu-west-1 | blog | wordpress | nano_3_0 | running |"),
        "{manifest}"
    );
    assert!(!manifest.contains("Native snapshots"), "{manifest}");

    // --- A second snapshot of the unchanged estate adds no blob; every file is byte-identical.
    let blobs = blob_count(&repo);
    let o2 = run(&repo, &emu.url(), &ls, &args(&["--label", "second"]));
    assert_code(&o2, 0);
    let meta2 = metadata(&o2);
    assert_eq!(
        meta2["collectors"]["lightsail"]["blobs_new"], 0,
        "{meta2:#}"
    );
    assert_eq!(meta2["collectors"]["lightsail"]["bytes_new"], 0);
    assert_eq!(blob_count(&repo), blobs);
    let snap2 = snapshot_dir(&repo, &meta2);
    let digests = |c: &Cat| -> Vec<(String, Value)> {
        c.records
            .iter()
            .map(|(k, r)| (k.clone(), r["digest"].clone()))
            .collect()
    };
    assert_eq!(digests(&catalog(&snap2)), digests(&cat));
    for f in walk_files(&snap.join("lightsail")) {
        let rel = f.strip_prefix(&snap).unwrap();
        assert_eq!(
            std::fs::read(&f).unwrap(),
            std::fs::read(snap2.join(rel)).unwrap(),
            "{}",
            rel.display()
        );
    }
    let o = infrasnap(&repo, &emu.url(), &["verify", "--all"]);
    assert_code(&o, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lightsail_snapshot_creates_one_native_snapshot_per_instance_and_records_it() {
    let emu = Emulator::start().await.unwrap();
    let ls = LightsailServer::start().await.unwrap();
    seed(&ls).await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");

    // --- Created, not waited for: pending. The name is derived from the label, sanitised.
    let before = ls.requests().len();
    let o = run(
        &repo,
        &emu.url(),
        &ls,
        &args(&["--label", "v1.0", "--lightsail-snapshot"]),
    );
    assert_code(&o, 0);
    let meta = metadata(&o);
    let c = &meta["collectors"]["lightsail"];
    assert_eq!(c["status"], "complete", "{c:#}");
    assert_eq!(c["counts"]["created_snapshots"], 3, "{c:#}");
    // The listing was read before the new ones were made.
    assert_eq!(c["counts"]["instance_snapshots"], 1, "{c:#}");
    let snap = snapshot_dir(&repo, &meta);
    let us = read_json(&snap.join(format!(
        "lightsail/{ACCOUNT}/us-east-1/created_snapshots.json"
    )));
    assert_eq!(
        us,
        json!({
            "infrasnapSnapshot": "v1.0",
            "waitSeconds": null,
            "instanceSnapshots": [
                {"instanceName": "db-1", "instanceSnapshotName": "infrasnap-v1-0-db-1", "state": "pending",
                 "created": true, "alreadyExisted": false, "waited": false, "timedOut": false},
                {"instanceName": "web-1", "instanceSnapshotName": "infrasnap-v1-0-web-1", "state": "pending",
                 "created": true, "alreadyExisted": false, "waited": false, "timedOut": false},
            ]
        })
    );
    let eu = read_json(&snap.join(format!(
        "lightsail/{ACCOUNT}/eu-west-1/created_snapshots.json"
    )));
    assert_eq!(
        eu["instanceSnapshots"][0]["instanceSnapshotName"],
        "infrasnap-v1-0-blog"
    );
    // In the catalog, one per region; it names this run, so it is left out of every diff:
    // its digest does not depend on its content.
    let cat = catalog(&snap);
    let rec_us = cat.get(&rid(
        "aws.lightsail.created_snapshots",
        "us-east-1",
        "created_snapshots",
    ));
    let rec_eu = cat.get(&rid(
        "aws.lightsail.created_snapshots",
        "eu-west-1",
        "created_snapshots",
    ));
    assert_eq!(
        rec_us["path"],
        format!("lightsail/{ACCOUNT}/us-east-1/created_snapshots.json")
    );
    assert_ne!(rec_us["blob"], rec_eu["blob"]);
    assert_eq!(rec_us["digest"], rec_eu["digest"]);
    let v1_digest = rec_us["digest"].clone();
    // Lightsail has them, each from its own instance.
    let on_us: Vec<(String, String)> = ls
        .instance_snapshots("us-east-1")
        .into_iter()
        .map(|(n, i, _)| (n, i))
        .collect();
    assert_eq!(
        on_us,
        [
            ("db-1-before-upgrade".to_string(), "db-1".to_string()),
            ("infrasnap-v1-0-db-1".to_string(), "db-1".to_string()),
            ("infrasnap-v1-0-web-1".to_string(), "web-1".to_string()),
        ]
    );
    let creates = ls.requests()[before..]
        .iter()
        .filter(|r| r.operation == "CreateInstanceSnapshot")
        .count();
    assert_eq!(creates, 3, "one CreateInstanceSnapshot per instance");
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(
        manifest.contains("the only write infrasnap makes to a cloud"),
        "{manifest}"
    );
    assert!(
        manifest
            .contains("| us-east-1 | web-1 | infrasnap-v1-0-web-1 | pending | not waited for |"),
        "{manifest}"
    );

    // --- Waited for: available (the stand-in settles at the second poll).
    let o = run(
        &repo,
        &emu.url(),
        &ls,
        &args(&[
            "--label",
            "v2",
            "--lightsail-snapshot",
            "--lightsail-wait",
            "30",
        ]),
    );
    assert_code(&o, 0);
    let meta = metadata(&o);
    assert_eq!(meta["collectors"]["lightsail"]["status"], "complete");
    assert_eq!(
        meta["collectors"]["lightsail"]["counts"]["instance_snapshots"],
        4
    );
    let snap = snapshot_dir(&repo, &meta);
    for (region, instance) in [
        ("us-east-1", "db-1"),
        ("us-east-1", "web-1"),
        ("eu-west-1", "blog"),
    ] {
        let doc = read_json(&snap.join(format!(
            "lightsail/{ACCOUNT}/{region}/created_snapshots.json"
        )));
        assert_eq!(doc["waitSeconds"], 30);
        let e = doc["instanceSnapshots"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["instanceName"] == instance)
            .unwrap_or_else(|| panic!("{doc:#}"))
            .clone();
        assert_eq!(
            e,
            json!({"instanceName": instance, "instanceSnapshotName": format!("infrasnap-v2-{instance}"),
                   "state": "available", "created": true, "alreadyExisted": false, "waited": true, "timedOut": false})
        );
    }
    let cat = catalog(&snap);
    let rec = cat.get(&rid(
        "aws.lightsail.created_snapshots",
        "us-east-1",
        "created_snapshots",
    ));
    assert_eq!(rec["digest"], v1_digest, "another run, the same digest");
    assert!(ls.instance_snapshots("eu-west-1").contains(&(
        "infrasnap-v2-blog".into(),
        "blog".into(),
        "available".into()
    )));
    // The wait polled GetInstanceSnapshot, each snapshot until it settled.
    let polls = ls
        .requests()
        .iter()
        .filter(|r| r.operation == "GetInstanceSnapshot")
        .count();
    assert_eq!(polls, 6, "two polls for each of three snapshots");

    // --- A wait that runs out: still pending, recorded as such, not an error. The default name
    // (a time) is sanitised the same way.
    ls.set_snapshot_readiness(SnapshotReadiness::Never);
    let o = run(
        &repo,
        &emu.url(),
        &ls,
        &args(&["--lightsail-snapshot", "--lightsail-wait", "1"]),
    );
    assert_code(&o, 0);
    let meta = metadata(&o);
    assert_eq!(meta["status"], "complete", "{meta:#}");
    let name = meta["name"].as_str().unwrap();
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let snap = snapshot_dir(&repo, &meta);
    let eu = read_json(&snap.join(format!(
        "lightsail/{ACCOUNT}/eu-west-1/created_snapshots.json"
    )));
    assert_eq!(
        eu["instanceSnapshots"][0],
        json!({"instanceName": "blog", "instanceSnapshotName": format!("infrasnap-{clean}-blog"),
               "state": "pending", "created": true, "alreadyExisted": false, "waited": true, "timedOut": true})
    );
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(
        manifest.contains("still pending when the wait ended"),
        "{manifest}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_is_recorded_and_the_rest_captured() {
    let emu = Emulator::start().await.unwrap();
    let ls = LightsailServer::start().await.unwrap();
    seed(&ls).await;
    ls.deny("GetStaticIps", Some("us-east-1"));
    ls.deny("CreateInstanceSnapshot", Some("eu-west-1"));
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = run(
        &repo,
        &emu.url(),
        &ls,
        &args(&["--label", "denied", "--lightsail-snapshot"]),
    );
    assert_code(&o, 3);
    let meta = metadata(&o);
    assert_eq!(meta["status"], "partial", "{meta:#}");
    let c = &meta["collectors"]["lightsail"];
    assert_eq!(c["status"], "partial");
    let errs = c["errors"].as_array().unwrap();
    assert_eq!(errs.len(), 2, "{c:#}");
    let blog_arn = {
        let snap = snapshot_dir(&repo, &meta);
        read_json(&snap.join(format!("lightsail/{ACCOUNT}/eu-west-1/instances/blog.json")))["arn"]
            .clone()
    };
    let mut got: Vec<(String, String, String)> = errs
        .iter()
        .map(|e| {
            assert_eq!(e["service"], "lightsail");
            assert_eq!(e["code"], "AccessDeniedException", "{e:#}");
            assert!(
                e["message"].as_str().unwrap().contains("not authorized"),
                "{e:#}"
            );
            (
                e["action"].as_str().unwrap().to_string(),
                e["resource"].as_str().unwrap().to_string(),
                String::new(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "lightsail:CreateInstanceSnapshot".to_string(),
                blog_arn.as_str().unwrap().to_string(),
                String::new()
            ),
            (
                "lightsail:GetStaticIps".to_string(),
                "arn:aws:lightsail:us-east-1:123456789012:StaticIp/*".to_string(),
                String::new()
            ),
        ]
    );
    // The rest was captured.
    let snap = snapshot_dir(&repo, &meta);
    let us = snap.join(format!("lightsail/{ACCOUNT}/us-east-1"));
    assert!(!us.join("static_ips.json").exists());
    for f in [
        "instances/web-1.json",
        "instances/db-1.json",
        "disks.json",
        "instance_snapshots.json",
        "disk_snapshots.json",
    ] {
        assert!(us.join(f).is_file(), "{f}");
    }
    // The denied listing is failed coverage (its static IP is "not comparable" in a diff, not
    // "removed"); every other listing is complete.
    let cat = catalog(&snap);
    let cov = &cat.coverage[&(
        "aws.lightsail.static_ip".to_string(),
        "us-east-1".to_string(),
    )];
    assert_eq!(cov["state"], "failed", "{cov:#}");
    assert_eq!(cov["error"]["action"], "lightsail:GetStaticIps");
    assert_eq!(cov["error"]["code"], "AccessDeniedException");
    for kind in KINDS {
        for region in ["us-east-1", "eu-west-1"] {
            if (kind, region) != ("aws.lightsail.static_ip", "us-east-1") {
                assert_eq!(cat.state(kind, region), "complete", "{kind} {region}");
            }
        }
    }
    assert!(!cat
        .ids()
        .iter()
        .any(|i| i.starts_with("aws.lightsail.static_ip:")));
    assert_eq!(c["counts"]["instances"], 3);
    assert_eq!(c["counts"]["created_snapshots"], 2, "{c:#}");
    let eu = read_json(&snap.join(format!(
        "lightsail/{ACCOUNT}/eu-west-1/created_snapshots.json"
    )));
    let blog = &eu["instanceSnapshots"][0];
    assert_eq!(blog["state"], "not created");
    assert_eq!(blog["created"], false);
    assert_eq!(blog["error"]["code"], "AccessDeniedException");
    let us_created = read_json(&us.join("created_snapshots.json"));
    assert_eq!(us_created["instanceSnapshots"][1]["state"], "pending");
    // The manifest lists the errors and the permissions to grant.
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(
        manifest.contains("\"lightsail:GetStaticIps\"")
            && manifest.contains("\"lightsail:CreateInstanceSnapshot\""),
        "{manifest}"
    );
    // The static IP is missing from the manifest row, nothing else.
    assert!(
        manifest.contains("| us-east-1 | web-1 | amazon_linux_2023 | micro_3_0 | running |"),
        "{manifest}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_without_lightsail_are_skipped_not_errors() {
    let emu = Emulator::start().await.unwrap();
    let ls = LightsailServer::start().await.unwrap();
    seed(&ls).await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let regions = ["--only", "lightsail", "--regions", "us-east-1,af-south-1"];

    // --- GetRegions says where Lightsail is: af-south-1 gets no call at all.
    let before = ls.requests().len();
    let mut a = vec!["--label", "one"];
    a.extend_from_slice(&regions);
    let o = run(&repo, &emu.url(), &ls, &a);
    assert_code(&o, 0);
    let meta = metadata(&o);
    assert_eq!(meta["status"], "complete", "{meta:#}");
    let c = &meta["collectors"]["lightsail"];
    assert_eq!(c["counts"]["regions_not_offered"], 1, "{c:#}");
    assert_eq!(c["counts"]["instances"], 2);
    assert_eq!(c["errors"], json!([]));
    let snap = snapshot_dir(&repo, &meta);
    assert!(!snap
        .join(format!("lightsail/{ACCOUNT}/af-south-1"))
        .exists());
    // Nothing was listed there: no coverage, so nothing there is "removed" or "complete".
    let cat = catalog(&snap);
    for kind in KINDS {
        assert_eq!(cat.state(kind, "us-east-1"), "complete", "{kind}");
        assert_eq!(cat.state(kind, "af-south-1"), "none", "{kind}");
    }
    let reqs = ls.requests();
    assert!(reqs[before..].iter().any(|r| r.operation == "GetRegions"));
    assert!(reqs[before..].iter().all(|r| r.region != "af-south-1"));
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(
        manifest.contains("af-south-1: Lightsail is not offered there"),
        "{manifest}"
    );

    // --- GetRegions denied: every region is tried; af-south-1's endpoint does not answer (as a
    // name that does not resolve on AWS), so it is skipped after a short probe, not an error.
    ls.deny("GetRegions", None);
    let before = ls.requests().len();
    let started = std::time::Instant::now();
    let mut a = vec!["--label", "two"];
    a.extend_from_slice(&regions);
    let o = run(&repo, &emu.url(), &ls, &a);
    assert_code(&o, 0);
    assert!(started.elapsed() < Duration::from_secs(60));
    let meta = metadata(&o);
    assert_eq!(meta["status"], "complete", "{meta:#}");
    let c = &meta["collectors"]["lightsail"];
    assert_eq!(c["counts"]["regions_not_offered"], 1, "{c:#}");
    assert_eq!(c["counts"]["instances"], 2);
    assert_eq!(c["errors"], json!([]));
    let probes: Vec<_> = ls.requests()[before..]
        .iter()
        .filter(|r| r.region == "af-south-1")
        .cloned()
        .collect();
    assert!(
        !probes.is_empty() && probes.len() <= 2,
        "a short probe: {probes:?}"
    );
    assert!(probes.iter().all(|r| r.status == 0));
    let snap = snapshot_dir(&repo, &meta);
    assert!(!snap
        .join(format!("lightsail/{ACCOUNT}/af-south-1"))
        .exists());
    let cat = catalog(&snap);
    for kind in KINDS {
        assert_eq!(cat.state(kind, "us-east-1"), "complete", "{kind}");
        assert_eq!(cat.state(kind, "af-south-1"), "none", "{kind}");
    }
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(
        manifest.contains("lightsail:GetRegions could not be read"),
        "{manifest}"
    );
    assert!(
        manifest.contains(
            "af-south-1: Lightsail is not offered there (the Lightsail endpoint gave no answer"
        ),
        "{manifest}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_that_stops_part_way_keeps_what_was_read_and_its_coverage_failed() {
    let emu = Emulator::start().await.unwrap();
    let ls = LightsailServer::start().await.unwrap();
    seed(&ls).await;
    // In front of the stand-in: the second page of GetDisks in us-east-1 (one disk a page) is
    // denied, so the listing stops after its first disk.
    let proxy = stub_proxy(&ls.url(), |seen| {
        let target = seen.header("x-amz-target").unwrap_or("");
        let region = seen.header("authorization").unwrap_or("");
        let body = String::from_utf8_lossy(&seen.body);
        (target.ends_with(".GetDisks") && region.contains("/us-east-1/") && body.contains("pageToken"))
            .then(|| Canned {
                status: 400,
                content_type: "application/x-amz-json-1.1",
                extra_headers: String::new(),
                body: json!({
                    "__type": "AccessDeniedException",
                    "message": "User: arn:aws:iam::123456789012:user/testing is not authorized to perform: lightsail:GetDisks",
                })
                .to_string(),
            })
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let mut all = vec!["--json", "snapshot", "--label", "stopped"];
    all.extend_from_slice(REGIONS);
    let o = command(
        &repo,
        &emu.url(),
        &all,
        &[("AWS_ENDPOINT_URL_LIGHTSAIL", proxy.as_str())],
    )
    .output()
    .expect("run infrasnap");
    assert_code(&o, 3);
    let meta = metadata(&o);
    let c = &meta["collectors"]["lightsail"];
    assert_eq!(c["status"], "partial", "{c:#}");
    let errs = c["errors"].as_array().unwrap();
    assert_eq!(errs.len(), 1, "{c:#}");
    assert_eq!(errs[0]["action"], "lightsail:GetDisks");
    assert_eq!(
        errs[0]["resource"],
        "arn:aws:lightsail:us-east-1:123456789012:Disk/*"
    );
    assert_eq!(c["counts"]["disks"], 1, "{c:#}");

    // What was read is kept...
    let snap = snapshot_dir(&repo, &meta);
    let d = read_json(&snap.join(format!("lightsail/{ACCOUNT}/us-east-1/disks.json")));
    assert_eq!(names(&d["Items"]), ["data-1"]);
    let cat = catalog(&snap);
    cat.get(&rid("aws.lightsail.disk", "us-east-1", "data-1"));
    assert!(!cat
        .records
        .contains_key(&rid("aws.lightsail.disk", "us-east-1", "spare-1")));
    // ... and the listing is not whole: its coverage failed, with the error.
    let cov = &cat.coverage[&("aws.lightsail.disk".to_string(), "us-east-1".to_string())];
    assert_eq!(cov["state"], "failed", "{cov:#}");
    assert_eq!(cov["error"]["action"], "lightsail:GetDisks");
    assert_eq!(cov["error"]["code"], "AccessDeniedException");
    assert_eq!(cat.state("aws.lightsail.disk", "eu-west-1"), "complete");
    assert_eq!(cat.state("aws.lightsail.instance", "us-east-1"), "complete");
}
