//! Route53 end to end: the real binary against moto. A public zone with every common record type,
//! aliases, routing policies and enough weighted records that the listing pages; a private zone
//! of the same name (split horizon) with its VPC; health checks with tags. Everything asserted
//! field by field from zone.json, records.json and health_checks.json; each BIND zone file is
//! accepted by `named-checkzone` (skipped with a note when the tool is missing); the catalog lists
//! every zone, record set and health check by its id, with complete coverage; a second snapshot
//! adds no blob and gives the same digests. A second test: a server that repeats a page of
//! records, and denied calls (a small proxy in front of moto answers AccessDenied), are recorded,
//! the rest is captured, and the gaps are failed coverage and incomplete resources. A third: denied
//! listings are failed coverage, not an empty account.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, GeoLocation, HealthCheckConfig,
    HealthCheckType, HostedZoneConfig, ResourceRecord, ResourceRecordSet,
    ResourceRecordSetFailover, ResourceRecordSetRegion, RrType, Tag, TagResourceType, Vpc,
    VpcRegion,
};
use aws_sdk_route53::Client;
use common::*;
use serde_json::{json, Value};

async fn r53(endpoint: &str) -> Client {
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await;
    Client::new(&shared)
}

/// A Route53 client acting in another account, through sts:AssumeRole.
async fn r53_in_account(endpoint: &str, role: &str) -> Client {
    let base = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await;
    let assumed = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(role)
        .role_session_name("seed")
        .send()
        .await
        .unwrap();
    let c = assumed.credentials().unwrap();
    let conf = aws_sdk_route53::config::Builder::from(&base)
        .credentials_provider(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "assumed",
        ))
        .build();
    Client::from_conf(conf)
}

fn rrs(name: &str, t: &str, ttl: i64, values: &[&str]) -> ResourceRecordSet {
    let mut b = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::from(t))
        .ttl(ttl);
    for v in values {
        b = b.resource_records(ResourceRecord::builder().value(*v).build().unwrap());
    }
    b.build().unwrap()
}

fn alias(name: &str, t: &str, target: &str, target_zone: &str) -> ResourceRecordSet {
    ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::from(t))
        .alias_target(
            AliasTarget::builder()
                .hosted_zone_id(target_zone)
                .dns_name(target)
                .evaluate_target_health(false)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

async fn upsert(c: &Client, zone: &str, sets: Vec<ResourceRecordSet>) {
    for chunk in sets.chunks(100) {
        let mut batch = ChangeBatch::builder();
        for s in chunk {
            batch = batch.changes(
                Change::builder()
                    .action(ChangeAction::Upsert)
                    .resource_record_set(s.clone())
                    .build()
                    .unwrap(),
            );
        }
        c.change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(batch.build().unwrap())
            .send()
            .await
            .unwrap_or_else(|e| panic!("change {zone}: {e:?}"));
    }
}

async fn create_zone(c: &Client, name: &str, comment: &str, vpc: Option<&str>) -> String {
    let mut req = c
        .create_hosted_zone()
        .name(name)
        .caller_reference(format!("ref-{name}-{comment}"))
        .hosted_zone_config(
            HostedZoneConfig::builder()
                .comment(comment)
                .private_zone(vpc.is_some())
                .build(),
        );
    if let Some(v) = vpc {
        req = req.vpc(
            Vpc::builder()
                .vpc_id(v)
                .vpc_region(VpcRegion::UsEast1)
                .build(),
        );
    }
    let out = req.send().await.unwrap();
    let id = out.hosted_zone().unwrap().id().to_string();
    id.rsplit('/').next().unwrap().to_string()
}

async fn tag(c: &Client, kind: TagResourceType, id: &str, tags: &[(&str, &str)]) {
    let mut req = c
        .change_tags_for_resource()
        .resource_type(kind)
        .resource_id(id);
    for (k, v) in tags {
        req = req.add_tags(Tag::builder().key(*k).value(*v).build());
    }
    req.send().await.unwrap();
}

/// The account moto answers for with its default credentials.
const ACCOUNT: &str = "123456789012";

/// The lines of a JSON lines file of the snapshot (`catalog/resources.jsonl`, ...).
fn json_lines(snap: &Path, rel: &str) -> Vec<Value> {
    std::fs::read_to_string(snap.join(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The catalog records of one kind, by the id part of their resource id.
fn of_kind(cat: &BTreeMap<String, Value>, kind: &str, account: &str) -> BTreeMap<String, Value> {
    let prefix = format!("{kind}:{account}::");
    cat.iter()
        .filter_map(|(id, r)| Some((id.strip_prefix(&prefix)?.to_string(), r.clone())))
        .collect()
}

/// The coverage lines of a snapshot by (kind, account, region).
fn coverage(snap: &Path) -> BTreeMap<(String, String, String), Value> {
    json_lines(snap, "catalog/coverage.jsonl")
        .into_iter()
        .map(|c| {
            let k = |f: &str| c[f].as_str().unwrap_or("").to_string();
            ((k("kind"), k("account"), k("region")), c)
        })
        .collect()
}

#[track_caller]
fn assert_covered(snap: &Path, account: &str, want: &[(&str, &str)]) {
    let cov = coverage(snap);
    for (kind, state) in want {
        let c = cov
            .get(&(kind.to_string(), account.to_string(), String::new()))
            .unwrap_or_else(|| panic!("no coverage of {kind} in {account}: {cov:#?}"));
        assert_eq!(c["state"], *state, "{kind}: {c:#}");
    }
}

/// A resource's document, read from the blob store.
fn doc(repo: &Path, rec: &Value) -> Value {
    let hex = rec["blob"].as_str().unwrap();
    read_json(&repo.join(".infrasnap/blobs").join(&hex[..2]).join(hex))
}

/// Record sets of a records.json by (name, type, set identifier).
fn by_identity(records: &Value) -> BTreeMap<(String, String, String), Value> {
    records["ResourceRecordSets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                (
                    r["Name"].as_str().unwrap().to_string(),
                    r["Type"].as_str().unwrap().to_string(),
                    r["SetIdentifier"].as_str().unwrap_or("").to_string(),
                ),
                r.clone(),
            )
        })
        .collect()
}

fn values(r: &Value) -> Vec<String> {
    r["ResourceRecords"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|x| x["Value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Run `named-checkzone <zone> <file>`; None when the tool is not installed.
fn named_checkzone(zone: &str, file: &Path) -> Option<(bool, String)> {
    let o = Command::new("named-checkzone")
        .arg(zone)
        .arg(file)
        .output()
        .ok()?;
    Some((
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    ))
}

#[track_caller]
fn assert_zone_loads(zone: &str, file: &Path) {
    let text = std::fs::read_to_string(file).unwrap();
    match named_checkzone(zone, file) {
        Some((ok, out)) => assert!(
            ok,
            "named-checkzone {zone} rejected the file:\n{out}\n{text}"
        ),
        None => eprintln!(
            "NOTE: named-checkzone is not installed (Debian: bind9-utils); not checking {}",
            file.display()
        ),
    }
}

/// The records seeded into the public zone, besides the weighted ones.
fn public_records(health_check: &str) -> Vec<ResourceRecordSet> {
    let long = "k".repeat(300);
    let long_split = format!("\"{}\" \"{}\"", "a".repeat(255), "b".repeat(45));
    let mut v = vec![
        rrs("www.example.com", "A", 300, &["192.0.2.10", "192.0.2.11"]),
        rrs("www.example.com", "AAAA", 300, &["2001:db8::10"]),
        rrs("blog.example.com", "CNAME", 3600, &["www.example.com"]),
        rrs(
            "example.com",
            "MX",
            3600,
            &["10 mail.example.com", "20 mail2.example.com"],
        ),
        rrs("mail.example.com", "A", 300, &["192.0.2.25"]),
        rrs("mail2.example.com", "A", 300, &["192.0.2.26"]),
        rrs(
            "example.com",
            "TXT",
            300,
            &[
                "\"v=spf1 include:amazonses.com ~all\"",
                "\"google-site-verification=abc123\"",
            ],
        ),
        rrs(
            "long.example.com",
            "TXT",
            300,
            &[format!("\"{long}\"").as_str()],
        ),
        rrs("long2.example.com", "TXT", 300, &[long_split.as_str()]),
        rrs(
            "quote.example.com",
            "TXT",
            300,
            &["\"say \\\"hi\\\"; now\" \"two words\""],
        ),
        rrs(
            "_sip._tcp.example.com",
            "SRV",
            300,
            &["10 60 5060 sip.example.com", "20 40 5060 sip2.example.com"],
        ),
        rrs("sip.example.com", "A", 300, &["192.0.2.30"]),
        rrs("sip2.example.com", "A", 300, &["192.0.2.31"]),
        rrs(
            "example.com",
            "CAA",
            3600,
            &[
                "0 issue \"amazon.com\"",
                "0 iodef \"mailto:security@example.com\"",
            ],
        ),
        rrs("*.example.com", "A", 60, &["192.0.2.99"]),
        rrs(
            "naptr.example.com",
            "NAPTR",
            300,
            &["100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" ."],
        ),
        rrs("svc.example.com", "HTTPS", 300, &["1 . alpn=h2"]),
        rrs(
            "host.example.com",
            "SSHFP",
            300,
            &["1 1 123456789abcdef67890123456789abcdef67890"],
        ),
        rrs("host.example.com", "A", 300, &["192.0.2.40"]),
        rrs(
            "_443._tcp.www.example.com",
            "TLSA",
            300,
            &["3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
        ),
        rrs(
            "10.2.0.192.in-addr.example.com",
            "PTR",
            300,
            &["www.example.com"],
        ),
        alias(
            "example.com",
            "A",
            "d111111abcdef8.cloudfront.net.",
            "Z2FDTNDATAQYW2",
        ),
        alias(
            "cdn.example.com",
            "AAAA",
            "d111111abcdef8.cloudfront.net.",
            "Z2FDTNDATAQYW2",
        ),
    ];
    // Failover, latency, geolocation, multivalue answer, and weighted CNAMEs.
    let mut primary = rrs("api.example.com", "A", 60, &["192.0.2.50"]);
    primary.set_identifier = Some("api-primary".into());
    primary.failover = Some(ResourceRecordSetFailover::Primary);
    primary.health_check_id = Some(health_check.into());
    let mut secondary = rrs("api.example.com", "A", 60, &["192.0.2.51"]);
    secondary.set_identifier = Some("api-secondary".into());
    secondary.failover = Some(ResourceRecordSetFailover::Secondary);
    let mut lat_us = rrs("lat.example.com", "A", 60, &["192.0.2.60"]);
    lat_us.set_identifier = Some("use1".into());
    lat_us.region = Some(ResourceRecordSetRegion::UsEast1);
    let mut lat_eu = rrs("lat.example.com", "A", 60, &["192.0.2.61"]);
    lat_eu.set_identifier = Some("euw1".into());
    lat_eu.region = Some(ResourceRecordSetRegion::EuWest1);
    let mut geo_eu = rrs("geo.example.com", "A", 60, &["192.0.2.70"]);
    geo_eu.set_identifier = Some("europe".into());
    geo_eu.geo_location = Some(GeoLocation::builder().continent_code("EU").build());
    let mut geo_ca = rrs("geo.example.com", "A", 60, &["192.0.2.71"]);
    geo_ca.set_identifier = Some("california".into());
    geo_ca.geo_location = Some(
        GeoLocation::builder()
            .country_code("US")
            .subdivision_code("CA")
            .build(),
    );
    let mut mv1 = rrs("mv.example.com", "A", 60, &["192.0.2.80"]);
    mv1.set_identifier = Some("mv-1".into());
    mv1.multi_value_answer = Some(true);
    let mut mv2 = rrs("mv.example.com", "A", 60, &["192.0.2.81"]);
    mv2.set_identifier = Some("mv-2".into());
    mv2.multi_value_answer = Some(true);
    let mut wc_blue = rrs("wc.example.com", "CNAME", 60, &["blue.example.org"]);
    wc_blue.set_identifier = Some("blue".into());
    wc_blue.weight = Some(90);
    let mut wc_green = rrs("wc.example.com", "CNAME", 60, &["green.example.org"]);
    wc_green.set_identifier = Some("green".into());
    wc_green.weight = Some(10);
    v.extend([
        primary, secondary, lat_us, lat_eu, geo_eu, geo_ca, mv1, mv2, wc_blue, wc_green,
    ]);
    v
}

/// 120 names with three weighted records each: 360 record sets, so the listing pages (AWS and
/// moto give at most 300 per page), with page boundaries inside set identifier groups.
fn weighted_records() -> Vec<ResourceRecordSet> {
    let mut v = Vec::new();
    for i in 0..120u32 {
        for (j, (set, weight)) in [("blue", 70), ("green", 30), ("canary", 0)]
            .iter()
            .enumerate()
        {
            let mut r = rrs(
                &format!("w{i:03}.example.com"),
                "A",
                60,
                &[format!("10.1.{i}.{j}").as_str()],
            );
            r.set_identifier = Some(set.to_string());
            r.weight = Some(*weight);
            v.push(r);
        }
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zones_records_and_health_checks_are_captured_field_by_field() {
    let emu = Emulator::start().await.unwrap();
    let c = r53(&emu.url()).await;

    let hc = c
        .create_health_check()
        .caller_reference("hc-api")
        .health_check_config(
            HealthCheckConfig::builder()
                .r#type(HealthCheckType::Https)
                .fully_qualified_domain_name("api.example.com")
                .port(443)
                .resource_path("/health")
                .request_interval(30)
                .failure_threshold(3)
                .enable_sni(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let hc_id = hc.health_check().unwrap().id().to_string();
    tag(
        &c,
        TagResourceType::Healthcheck,
        &hc_id,
        &[("owner", "sre"), ("env", "prod")],
    )
    .await;
    let hc2 = c
        .create_health_check()
        .caller_reference("hc-ssh")
        .health_check_config(
            HealthCheckConfig::builder()
                .r#type(HealthCheckType::Tcp)
                .ip_address("192.0.2.10")
                .port(22)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let hc2_id = hc2.health_check().unwrap().id().to_string();

    let public = create_zone(&c, "example.com", "public view", None).await;
    let private = create_zone(&c, "example.com", "internal view", Some("vpc-0a1b2c3d")).await;
    let corp = create_zone(&c, "corp.internal", "corp", Some("vpc-0ffee")).await;
    tag(
        &c,
        TagResourceType::Hostedzone,
        &public,
        &[("team", "dns"), ("env", "prod")],
    )
    .await;
    tag(
        &c,
        TagResourceType::Hostedzone,
        &private,
        &[("env", "internal")],
    )
    .await;
    let seeded = public_records(&hc_id);
    let weighted = weighted_records();
    upsert(&c, &public, seeded.clone()).await;
    upsert(&c, &public, weighted.clone()).await;
    upsert(
        &c,
        &private,
        vec![
            rrs("db.example.com", "A", 300, &["10.0.0.5"]),
            rrs("www.example.com", "A", 300, &["10.0.0.10"]),
        ],
    )
    .await;
    upsert(
        &c,
        &corp,
        vec![
            rrs("git.corp.internal", "CNAME", 300, &["gitlab.corp.internal"]),
            rrs("gitlab.corp.internal", "A", 300, &["10.9.0.1"]),
        ],
    )
    .await;

    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let started = std::time::Instant::now();
    let meta = snapshot(
        &repo,
        &emu.url(),
        &["--label", "first", "--only", "route53"],
    );
    let took = started.elapsed();
    assert_eq!(meta["status"], "complete", "{meta:#}");
    let r = &meta["collectors"]["route53"];
    assert_eq!(r["status"], "complete", "{r:#}");
    assert_eq!(r["errors"], json!([]));
    assert_eq!(r["counts"]["zones"], 3);
    assert_eq!(r["counts"]["health_checks"], 2);
    // Every seeded record set, plus NS and SOA in each zone.
    let expected_records = seeded.len() + weighted.len() + 2 + (2 + 2) + (2 + 2);
    assert_eq!(r["counts"]["records"], expected_records as u64, "{r:#}");
    // 13 calls at 5 requests/s after a burst of 5: at least 1.6 s if every call waits for the
    // limiter.
    assert!(took.as_secs_f64() > 1.4, "{took:?}");

    let snap = snapshot_dir(&repo, &meta);
    let root = snap.join("route53_zones").join(ACCOUNT);
    // Every zone's folder is `<zone name>_<zone id>`, whether or not another zone shares its name.
    let pub_dir = root.join(format!("example.com_{public}"));
    let priv_dir = root.join(format!("example.com_{private}"));
    let corp_dir = root.join(format!("corp.internal_{corp}"));

    // --- zone.json, public zone.
    let z = read_json(&pub_dir.join("zone.json"));
    assert_eq!(z["HostedZone"]["Id"], format!("/hostedzone/{public}"));
    assert_eq!(z["HostedZone"]["Name"], "example.com.");
    assert_eq!(
        z["HostedZone"]["CallerReference"],
        "ref-example.com-public view"
    );
    assert_eq!(z["HostedZone"]["Config"]["Comment"], "public view");
    assert_eq!(z["HostedZone"]["Config"]["PrivateZone"], false);
    let ns = z["DelegationSet"]["NameServers"].as_array().unwrap();
    assert_eq!(ns.len(), 4, "{z:#}");
    assert!(z.get("VPCs").is_none());
    assert_eq!(
        z["Tags"],
        json!([{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "dns"}])
    );
    assert_eq!(z["DNSSEC"]["Status"]["ServeSignature"], "NOT_SIGNING");
    assert_eq!(z["DNSSEC"]["KeySigningKeys"], json!([]));
    assert_eq!(z["QueryLoggingConfigs"], json!([]));
    assert!(z.get("Errors").is_none());

    // --- zone.json, private zones: marked private, with their VPC, no DNSSEC.
    let p = read_json(&priv_dir.join("zone.json"));
    assert_eq!(p["HostedZone"]["Id"], format!("/hostedzone/{private}"));
    assert_eq!(p["HostedZone"]["Name"], "example.com.");
    assert_eq!(p["HostedZone"]["Config"]["PrivateZone"], true);
    assert_eq!(p["HostedZone"]["Config"]["Comment"], "internal view");
    assert_eq!(
        p["VPCs"],
        json!([{"VPCRegion": "us-east-1", "VPCId": "vpc-0a1b2c3d"}])
    );
    assert!(p.get("DNSSEC").is_none());
    assert_eq!(p["Tags"], json!([{"Key": "env", "Value": "internal"}]));
    let cz = read_json(&corp_dir.join("zone.json"));
    assert_eq!(cz["HostedZone"]["Config"]["PrivateZone"], true);
    assert_eq!(cz["VPCs"][0]["VPCId"], "vpc-0ffee");
    assert_eq!(cz["Tags"], json!([]));

    // --- records.json, public zone: every record set with its values.
    let recs = read_json(&pub_dir.join("records.json"));
    assert_eq!(recs["HostedZoneId"], format!("/hostedzone/{public}"));
    assert!(recs.get("IsTruncated").is_none());
    let all = by_identity(&recs);
    assert_eq!(all.len(), seeded.len() + weighted.len() + 2);
    for s in seeded.iter().chain(weighted.iter()) {
        let name = format!("{}.", s.name());
        let key = (
            name.clone(),
            s.r#type().as_str().to_string(),
            s.set_identifier().unwrap_or("").to_string(),
        );
        let got = all
            .get(&key)
            .unwrap_or_else(|| panic!("{key:?} missing from records.json"));
        let want: Vec<String> = s
            .resource_records()
            .iter()
            .map(|r| r.value().to_string())
            .collect();
        assert_eq!(values(got), want, "{key:?}");
        match s.ttl() {
            Some(t) => assert_eq!(got["TTL"], t, "{key:?}"),
            None => assert!(got.get("TTL").is_none(), "{key:?}"),
        }
        match s.weight() {
            Some(w) => assert_eq!(got["Weight"], w, "{key:?}"),
            None => assert!(got.get("Weight").is_none(), "{key:?}"),
        }
        match s.set_identifier() {
            Some(id) => assert_eq!(got["SetIdentifier"], id, "{key:?}"),
            None => assert!(got.get("SetIdentifier").is_none(), "{key:?}"),
        }
        if let Some(a) = s.alias_target() {
            assert_eq!(
                got["AliasTarget"],
                json!({"HostedZoneId": a.hosted_zone_id(), "DNSName": a.dns_name(),
                       "EvaluateTargetHealth": false}),
                "{key:?}"
            );
            assert!(got.get("ResourceRecords").is_none(), "{key:?}");
        }
        if let Some(f) = s.failover() {
            assert_eq!(got["Failover"], f.as_str(), "{key:?}");
        }
        if let Some(r) = s.region() {
            assert_eq!(got["Region"], r.as_str(), "{key:?}");
        }
        if let Some(h) = s.health_check_id() {
            assert_eq!(got["HealthCheckId"], h, "{key:?}");
        }
        if s.multi_value_answer() == Some(true) {
            assert_eq!(got["MultiValueAnswer"], true, "{key:?}");
        }
        if let Some(g) = s.geo_location() {
            let mut want = serde_json::Map::new();
            for (k, v) in [
                ("ContinentCode", g.continent_code()),
                ("CountryCode", g.country_code()),
                ("SubdivisionCode", g.subdivision_code()),
            ] {
                if let Some(v) = v {
                    want.insert(k.into(), json!(v));
                }
            }
            assert_eq!(got["GeoLocation"], Value::Object(want), "{key:?}");
        }
    }
    // The long TXT string is kept exactly as the API gave it.
    let long = &all[&(
        "long.example.com.".to_string(),
        "TXT".to_string(),
        String::new(),
    )];
    assert_eq!(values(long), vec![format!("\"{}\"", "k".repeat(300))]);
    // NS and SOA of the zone.
    assert!(all.contains_key(&("example.com.".into(), "NS".into(), String::new())));
    assert!(all.contains_key(&("example.com.".into(), "SOA".into(), String::new())));
    // Sorted: the apex first, then names in DNS order, type, set identifier.
    let order: Vec<(String, String, String)> = recs["ResourceRecordSets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["Name"].as_str().unwrap().to_string(),
                r["Type"].as_str().unwrap().to_string(),
                r["SetIdentifier"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(order[0].0, "example.com.");
    let dns_key = |n: &str| -> Vec<String> {
        n.trim_end_matches('.')
            .rsplit('.')
            .map(str::to_string)
            .collect()
    };
    let mut sorted = order.clone();
    sorted.sort_by(|a, b| {
        dns_key(&a.0)
            .cmp(&dns_key(&b.0))
            .then(a.0.cmp(&b.0))
            .then(a.1.cmp(&b.1))
            .then(a.2.cmp(&b.2))
    });
    assert_eq!(order, sorted);
    let w = &all[&(
        "w007.example.com.".to_string(),
        "A".to_string(),
        "canary".to_string(),
    )];
    assert_eq!(w["Weight"], 0);
    assert_eq!(values(w), vec!["10.1.7.2"]);

    // --- records.json, private zone.
    let precs = by_identity(&read_json(&priv_dir.join("records.json")));
    assert_eq!(precs.len(), 4);
    assert_eq!(
        values(
            &precs[&(
                "db.example.com.".to_string(),
                "A".to_string(),
                String::new()
            )]
        ),
        vec!["10.0.0.5"]
    );

    // --- BIND zone files.
    let pub_zone = pub_dir.join("example.com.zone");
    let text = std::fs::read_to_string(&pub_zone).unwrap();
    assert!(text.contains("$ORIGIN example.com.\n"), "{text}");
    assert!(text.contains("\nexample.com.\t900\tIN\tSOA\t"), "{text}");
    assert!(text.contains("www.example.com.\t300\tIN\tA\t192.0.2.10\n"));
    assert!(text.contains("www.example.com.\t300\tIN\tAAAA\t2001:db8::10\n"));
    assert!(text.contains("blog.example.com.\t3600\tIN\tCNAME\twww.example.com.\n"));
    assert!(text.contains("example.com.\t3600\tIN\tMX\t10 mail.example.com.\n"));
    assert!(text.contains("_sip._tcp.example.com.\t300\tIN\tSRV\t10 60 5060 sip.example.com.\n"));
    assert!(text.contains("example.com.\t3600\tIN\tCAA\t0 issue \"amazon.com\"\n"));
    assert!(text.contains("*.example.com.\t60\tIN\tA\t192.0.2.99\n"));
    assert!(text.contains(&format!(
        "long.example.com.\t300\tIN\tTXT\t\"{}\" \"{}\"\n",
        "k".repeat(255),
        "k".repeat(45)
    )));
    assert!(
        text.contains("quote.example.com.\t300\tIN\tTXT\t\"say \\\"hi\\\"; now\" \"two words\"\n")
    );
    assert!(text.contains(
        "; ALIAS example.com. A -> d111111abcdef8.cloudfront.net. (Z2FDTNDATAQYW2) EvaluateTargetHealth=false\n"
    ));
    assert!(text.contains(
        "; ALIAS cdn.example.com. AAAA -> d111111abcdef8.cloudfront.net. (Z2FDTNDATAQYW2)"
    ));
    assert!(text
        .contains("w007.example.com.\t60\tIN\tA\t10.1.7.0\t; SetIdentifier=\"blue\" Weight=70\n"));
    assert!(text.contains(&format!(
        "api.example.com.\t60\tIN\tA\t192.0.2.50\t; SetIdentifier=\"api-primary\" Failover=PRIMARY HealthCheckId={hc_id}\n"
    )));
    assert!(text.contains("geo.example.com.\t60\tIN\tA\t192.0.2.71\t; SetIdentifier=\"california\" GeoLocation=/US/CA\n"));
    assert!(text.contains(
        "wc.example.com.\t60\tIN\tCNAME\tblue.example.org.\t; SetIdentifier=\"blue\" Weight=90\n"
    ));
    assert!(text.contains("; only one CNAME per name fits in a master file: wc.example.com. 60 IN CNAME green.example.org."));
    for (zone, file) in [
        ("example.com", pub_zone.clone()),
        ("example.com", priv_dir.join("example.com.zone")),
        ("corp.internal", corp_dir.join("corp.internal.zone")),
    ] {
        assert_zone_loads(zone, &file);
    }

    // --- health checks with their tags: the view of the member kind, sorted by id.
    let h = read_json(&root.join("health_checks.json"));
    let checks = h["Items"].as_array().unwrap();
    assert_eq!(checks.len(), 2);
    let mut ids: Vec<&str> = checks
        .iter()
        .map(|c| c["HealthCheck"]["Id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        checks
            .iter()
            .map(|c| c["HealthCheck"]["Id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ids
    );
    let api = checks
        .iter()
        .find(|c| c["HealthCheck"]["Id"] == hc_id.as_str())
        .unwrap();
    let cfg = &api["HealthCheck"]["HealthCheckConfig"];
    assert_eq!(api["HealthCheck"]["CallerReference"], "hc-api");
    assert_eq!(cfg["Type"], "HTTPS");
    assert_eq!(cfg["FullyQualifiedDomainName"], "api.example.com");
    assert_eq!(cfg["Port"], 443);
    assert_eq!(cfg["ResourcePath"], "/health");
    assert_eq!(cfg["RequestInterval"], 30);
    assert_eq!(cfg["FailureThreshold"], 3);
    assert_eq!(cfg["EnableSNI"], true);
    assert_eq!(
        api["Tags"],
        json!([{"Key": "env", "Value": "prod"}, {"Key": "owner", "Value": "sre"}])
    );
    let ssh = checks
        .iter()
        .find(|c| c["HealthCheck"]["Id"] == hc2_id.as_str())
        .unwrap();
    assert_eq!(ssh["HealthCheck"]["HealthCheckConfig"]["Type"], "TCP");
    assert_eq!(
        ssh["HealthCheck"]["HealthCheckConfig"]["IPAddress"],
        "192.0.2.10"
    );
    assert_eq!(ssh["Tags"], json!([]));

    // --- MANIFEST.md: one row per zone.
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(manifest.contains("Route53 zones"), "{manifest}");
    assert!(
        manifest.contains(&format!(
            "| example.com | {public} | public | {} | NOT_SIGNING | 0 |",
            seeded.len() + weighted.len() + 2
        )),
        "{manifest}"
    );
    assert!(
        manifest.contains(&format!(
            "| example.com | {private} | private | 4 | - | 0 |"
        )),
        "{manifest}"
    );

    // --- The catalog: every zone by its id, labelled with its name, its document and parts where
    // the tree has them.
    let cat = catalog_records(&snap);
    let zones = of_kind(&cat, "aws.route53.zone", ACCOUNT);
    assert_eq!(
        zones.keys().collect::<std::collections::BTreeSet<_>>(),
        [&public, &private, &corp].into_iter().collect()
    );
    for (zid, name, dir) in [
        (&public, "example.com", &pub_dir),
        (&private, "example.com", &priv_dir),
        (&corp, "corp.internal", &corp_dir),
    ] {
        let r = &zones[zid.as_str()];
        let rel = |f: &str| {
            dir.join(f)
                .strip_prefix(&snap)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(r["label"], name, "{r:#}");
        assert_eq!(r["path"], rel("zone.json"), "{r:#}");
        assert_eq!(doc(&repo, r), read_json(&dir.join("zone.json")));
        let zone_file = format!("{name}.zone");
        let parts: Vec<&str> = r["parts"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(parts, [zone_file.as_str(), "records.json"], "{r:#}");
        assert_eq!(r["parts"]["records.json"]["path"], rel("records.json"));
        assert_eq!(r["parts"][&zone_file]["path"], rel(&zone_file));
        assert!(r.get("incomplete").is_none(), "{r:#}");
    }
    // Every record set is its own resource `<zone id>/<name>/<type>[/<set id>]`, kept in the
    // store (no tree file of its own: records.json shows them), its document its records.json
    // entry.
    let sets = of_kind(&cat, "aws.route53.record_set", ACCOUNT);
    assert_eq!(sets.len(), expected_records, "record sets in the catalog");
    for (dir, zid) in [
        (&pub_dir, &public),
        (&priv_dir, &private),
        (&corp_dir, &corp),
    ] {
        for ((name, ty, set), want) in by_identity(&read_json(&dir.join("records.json"))) {
            let id = if set.is_empty() {
                format!("{zid}/{name}/{ty}")
            } else {
                format!("{zid}/{name}/{ty}/{set}")
            };
            let r = sets
                .get(&id)
                .unwrap_or_else(|| panic!("{id} missing from the catalog"));
            assert!(r.get("path").is_none(), "{r:#}");
            assert_eq!(doc(&repo, r), want, "{id}");
        }
    }
    assert!(sets.contains_key(&format!("{public}/w007.example.com./A/canary")));
    // Health checks: members shown by the view.
    let hcs = of_kind(&cat, "aws.route53.health_check", ACCOUNT);
    assert_eq!(hcs.keys().collect::<Vec<_>>(), {
        let mut v = vec![&hc_id, &hc2_id];
        v.sort();
        v
    });
    assert_eq!(doc(&repo, &hcs[&hc_id]), *api);
    assert_covered(
        &snap,
        ACCOUNT,
        &[
            ("aws.route53.zone", "complete"),
            ("aws.route53.record_set", "complete"),
            ("aws.route53.health_check", "complete"),
        ],
    );

    // --- A second snapshot of the unchanged estate adds no blob; verify passes.
    let blobs = blob_count(&repo);
    let meta2 = snapshot(
        &repo,
        &emu.url(),
        &["--label", "second", "--only", "route53"],
    );
    assert_eq!(meta2["status"], "complete");
    assert_eq!(meta2["collectors"]["route53"]["blobs_new"], 0, "{meta2:#}");
    assert_eq!(meta2["collectors"]["route53"]["bytes_new"], 0);
    assert_eq!(blob_count(&repo), blobs);
    let snap2 = snapshot_dir(&repo, &meta2);
    for f in walk_files(&root) {
        let rel = f.strip_prefix(&snap).unwrap();
        assert_eq!(
            std::fs::read(&f).unwrap(),
            std::fs::read(snap2.join(rel)).unwrap(),
            "{}",
            rel.display()
        );
    }
    // The same resources with the same digests.
    let digests = |c: &BTreeMap<String, Value>| -> BTreeMap<String, Value> {
        c.iter()
            .map(|(id, r)| (id.clone(), r["digest"].clone()))
            .collect()
    };
    assert_eq!(digests(&catalog_records(&snap2)), digests(&cat));
    let o = infrasnap(&repo, &emu.url(), &["verify", "--all"]);
    assert_code(&o, 0);
}

/// A loopback HTTP proxy in front of moto that answers `AccessDenied` (403, Route53's XML error)
/// to the requests `deny` matches (method, path substring) and forwards every other request. One
/// request per connection (`Connection: close`).
async fn deny_proxy(upstream: &str, deny: Vec<(&'static str, String)>) -> String {
    stub_proxy(upstream, move |r| {
        deny.iter()
            .any(|(m, p)| *m == r.method && r.path.contains(p.as_str()))
            .then(|| Canned {
                status: 403,
                content_type: "text/xml",
                extra_headers: String::new(),
                body: format!(
                    "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/auditor is not authorized to perform this action ({} {})</Message></Error><RequestId>denied-1</RequestId></ErrorResponse>",
                    r.method, r.path
                ),
            })
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_page_and_denied_calls_are_recorded_and_the_rest_is_captured() {
    let emu = Emulator::start().await.unwrap();
    let c = r53(&emu.url()).await;
    // 350 weighted records of one name: moto pages at 300 and never returns
    // NextRecordIdentifier, so the second page starts again at the same cursor.
    let big = create_zone(&c, "big.example", "one big weighted group", None).await;
    let group: Vec<ResourceRecordSet> = (0..350u32)
        .map(|i| {
            let mut r = rrs(
                "w.big.example",
                "A",
                60,
                &[format!("10.2.{}.{}", i / 256, i % 256).as_str()],
            );
            r.set_identifier = Some(format!("s{i:03}"));
            r.weight = Some(1);
            r
        })
        .collect();
    upsert(&c, &big, group).await;
    let small = create_zone(&c, "small.example", "dnssec denied", None).await;
    upsert(
        &c,
        &small,
        vec![rrs("www.small.example", "A", 300, &["192.0.2.1"])],
    )
    .await;
    let hc = c
        .create_health_check()
        .caller_reference("hc")
        .health_check_config(
            HealthCheckConfig::builder()
                .r#type(HealthCheckType::Http)
                .ip_address("192.0.2.1")
                .port(80)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let hc_id = hc.health_check().unwrap().id().to_string();

    let endpoint = deny_proxy(
        &emu.moto.url(),
        vec![
            ("GET", format!("/hostedzone/{small}/dnssec")),
            ("POST", "/tags/healthcheck".to_string()),
        ],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let mut cmd = command(
        &repo,
        &endpoint,
        &["--json", "snapshot", "--only", "route53"],
        &[],
    );
    let o = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        tokio::task::spawn_blocking(move || cmd.output().unwrap()),
    )
    .await
    .expect("the snapshot finishes: a repeated page is not followed for ever")
    .unwrap();
    assert_code(&o, 3);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let meta = &v["metadata"];
    assert_eq!(meta["status"], "partial");
    let r = &meta["collectors"]["route53"];
    assert_eq!(r["status"], "partial", "{r:#}");
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    let find = |action: &str| {
        errors
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("{action}: {errors:#?}"))
    };
    let repeated = find("route53:ListResourceRecordSets");
    assert_eq!(repeated["service"], "route53");
    assert_eq!(repeated["resource"], big.as_str());
    assert!(
        repeated["message"]
            .as_str()
            .unwrap()
            .contains("the server repeated a page of records"),
        "{repeated:#}"
    );
    let dnssec = find("route53:GetDNSSEC");
    assert_eq!(dnssec["resource"], small.as_str());
    assert_eq!(dnssec["code"], "AccessDenied");
    let tags = find("route53:ListTagsForResources");
    assert_eq!(tags["resource"], format!("healthcheck/{hc_id}"));
    assert_eq!(tags["code"], "AccessDenied");

    let snap = snapshot_dir(&repo, meta);
    let root = snap.join("route53_zones").join(ACCOUNT);
    let big_dir = root.join(format!("big.example_{big}"));
    let small_dir = root.join(format!("small.example_{small}"));
    // What the big zone's listing gave before the repeat is kept, marked incomplete.
    let recs = read_json(&big_dir.join("records.json"));
    assert_eq!(recs["IsTruncated"], true);
    let all = by_identity(&recs);
    let weighted = all.keys().filter(|k| k.0 == "w.big.example.").count();
    assert!((300..350).contains(&weighted), "{weighted}");
    let z = read_json(&big_dir.join("zone.json"));
    assert_eq!(z["Errors"][0]["Action"], "route53:ListResourceRecordSets");
    let text = std::fs::read_to_string(big_dir.join("big.example.zone")).unwrap();
    assert!(
        text.contains("; WARNING: the record listing did not complete"),
        "{text}"
    );
    assert_zone_loads("big.example", &big_dir.join("big.example.zone"));

    // The zone whose DNSSEC status was denied: everything else captured, the gap marked.
    let z = read_json(&small_dir.join("zone.json"));
    assert!(z.get("DNSSEC").is_none());
    assert_eq!(z["Errors"][0]["Action"], "route53:GetDNSSEC");
    assert_eq!(z["Errors"][0]["Code"], "AccessDenied");
    assert_eq!(z["HostedZone"]["Config"]["Comment"], "dnssec denied");
    let recs = by_identity(&read_json(&small_dir.join("records.json")));
    assert_eq!(recs.len(), 3);
    assert_zone_loads("small.example", &small_dir.join("small.example.zone"));

    // The health check without its tags, marked.
    let h = read_json(&root.join("health_checks.json"));
    let entry = &h["Items"][0];
    assert_eq!(entry["HealthCheck"]["Id"], hc_id.as_str());
    assert!(entry.get("Tags").is_none());
    assert_eq!(entry["Errors"][0]["Action"], "route53:ListTagsForResources");

    // The catalog: the record listing that stopped is failed coverage, with its error; the zones
    // and health checks were listed whole. What could not be read makes its resource incomplete:
    // the big zone (records), the small one (DNSSEC), the health check (tags).
    assert_covered(
        &snap,
        ACCOUNT,
        &[
            ("aws.route53.zone", "complete"),
            ("aws.route53.record_set", "failed"),
            ("aws.route53.health_check", "complete"),
        ],
    );
    let cov = coverage(&snap);
    let failed = &cov[&(
        "aws.route53.record_set".to_string(),
        ACCOUNT.to_string(),
        String::new(),
    )];
    assert_eq!(failed["error"]["action"], "route53:ListResourceRecordSets");
    assert_eq!(failed["error"]["resource"], big.as_str());
    let cat = catalog_records(&snap);
    let zones = of_kind(&cat, "aws.route53.zone", ACCOUNT);
    assert_eq!(zones[&big]["incomplete"], true);
    assert_eq!(zones[&small]["incomplete"], true);
    let hcs = of_kind(&cat, "aws.route53.health_check", ACCOUNT);
    assert_eq!(hcs[&hc_id]["incomplete"], true);
    let sets = of_kind(&cat, "aws.route53.record_set", ACCOUNT);
    assert_eq!(
        sets.keys()
            .filter(|k| k.starts_with(&format!("{big}/w.big.example./A/")))
            .count(),
        weighted
    );
    assert!(sets.contains_key(&format!("{small}/www.small.example./A")));

    // MANIFEST.md lists the errors and the missing actions.
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(manifest.contains("\"route53:GetDNSSEC\""), "{manifest}");
    assert!(
        manifest.contains("\"route53:ListTagsForResources\""),
        "{manifest}"
    );
    assert!(
        manifest.contains(&format!("| small.example | {small} | public |")),
        "{manifest}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_listings_are_failed_coverage_not_an_empty_account() {
    let emu = Emulator::start().await.unwrap();
    let c = r53(&emu.url()).await;
    create_zone(&c, "hidden.example", "not listable", None).await;
    c.create_health_check()
        .caller_reference("hc")
        .health_check_config(
            HealthCheckConfig::builder()
                .r#type(HealthCheckType::Tcp)
                .ip_address("192.0.2.1")
                .port(22)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // ListHostedZones is `GET /2013-04-01/hostedzone`, ListHealthChecks
    // `GET /2013-04-01/healthcheck`.
    let endpoint = deny_proxy(
        &emu.moto.url(),
        vec![
            ("GET", "/hostedzone".to_string()),
            ("GET", "/healthcheck".to_string()),
        ],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = command(
        &repo,
        &endpoint,
        &["--json", "snapshot", "--only", "route53"],
        &[],
    )
    .output()
    .unwrap();
    // Nothing could be listed: the collector, and so the snapshot, failed (still published).
    assert_code(&o, 1);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let meta = &v["metadata"];
    assert_eq!(meta["collectors"]["route53"]["status"], "failed");
    let errors = meta["collectors"]["route53"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    let snap = snapshot_dir(&repo, meta);
    assert!(!snap.join("route53_zones").exists());
    // The catalog holds no Route53 resource, and says why: every listing failed, with its error.
    let cat = catalog_records(&snap);
    assert!(
        !cat.keys().any(|id| id.starts_with("aws.route53.")),
        "{cat:#?}"
    );
    assert_covered(
        &snap,
        ACCOUNT,
        &[
            ("aws.route53.zone", "failed"),
            ("aws.route53.record_set", "failed"),
            ("aws.route53.health_check", "failed"),
        ],
    );
    let cov = coverage(&snap);
    let err =
        |kind: &str| cov[&(kind.to_string(), ACCOUNT.to_string(), String::new())]["error"].clone();
    for (kind, action) in [
        ("aws.route53.zone", "route53:ListHostedZones"),
        ("aws.route53.record_set", "route53:ListHostedZones"),
        ("aws.route53.health_check", "route53:ListHealthChecks"),
    ] {
        let e = err(kind);
        assert_eq!(e["action"], action, "{kind}: {e:#}");
        assert_eq!(e["code"], "AccessDenied", "{kind}: {e:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_account_has_its_own_zones_under_its_account_id() {
    let emu = Emulator::start().await.unwrap();
    let role = "arn:aws:iam::222222222222:role/infrasnap-read";
    let main = r53(&emu.url()).await;
    let z1 = create_zone(&main, "main.example", "main", None).await;
    upsert(
        &main,
        &z1,
        vec![rrs("www.main.example", "A", 300, &["192.0.2.1"])],
    )
    .await;
    let other = r53_in_account(&emu.url(), role).await;
    let z2 = create_zone(&other, "marketing.example", "marketing", None).await;
    upsert(
        &other,
        &z2,
        vec![rrs(
            "www.marketing.example",
            "CNAME",
            300,
            &["main.example"],
        )],
    )
    .await;

    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let cfg = tmp.path().join("infrasnap.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[aws.accounts]]\nname = \"main\"\n\n[[aws.accounts]]\nname = \"marketing\"\nrole_arn = \"{role}\"\n"
        ),
    )
    .unwrap();
    let meta = snapshot(
        &repo,
        &emu.url(),
        &["--config", cfg.to_str().unwrap(), "--only", "route53"],
    );
    assert_eq!(meta["status"], "complete", "{meta:#}");
    for k in ["route53:123456789012", "route53:222222222222"] {
        assert_eq!(meta["collectors"][k]["counts"]["zones"], 1, "{k}: {meta:#}");
    }
    let snap = snapshot_dir(&repo, &meta);
    let a = snap.join("route53_zones/123456789012");
    let b = snap.join("route53_zones/222222222222");
    let (dir1, dir2) = (
        format!("main.example_{z1}"),
        format!("marketing.example_{z2}"),
    );
    let za = read_json(&a.join(&dir1).join("zone.json"));
    assert_eq!(za["HostedZone"]["Id"], format!("/hostedzone/{z1}"));
    let zb = read_json(&b.join(&dir2).join("zone.json"));
    assert_eq!(zb["HostedZone"]["Id"], format!("/hostedzone/{z2}"));
    assert!(!a.join(&dir2).exists() && !b.join(&dir1).exists());
    // No health checks in either account: no view file, and complete coverage says so.
    assert!(!a.join("health_checks.json").exists() && !b.join("health_checks.json").exists());
    let text = std::fs::read_to_string(b.join(&dir2).join("marketing.example.zone")).unwrap();
    assert!(
        text.contains("www.marketing.example.\t300\tIN\tCNAME\tmain.example.\n"),
        "{text}"
    );
    assert_zone_loads(
        "marketing.example",
        &b.join(&dir2).join("marketing.example.zone"),
    );
    // The catalog: each account's zone and records under its own account id.
    let cat = catalog_records(&snap);
    for (account, zone, record) in [
        ("123456789012", &z1, "www.main.example./A"),
        ("222222222222", &z2, "www.marketing.example./CNAME"),
    ] {
        let zones = of_kind(&cat, "aws.route53.zone", account);
        assert_eq!(zones.keys().collect::<Vec<_>>(), [zone], "{account}");
        let sets = of_kind(&cat, "aws.route53.record_set", account);
        assert!(sets.contains_key(&format!("{zone}/{record}")), "{account}");
        assert_covered(
            &snap,
            account,
            &[
                ("aws.route53.zone", "complete"),
                ("aws.route53.record_set", "complete"),
                ("aws.route53.health_check", "complete"),
            ],
        );
    }
    assert_code(&infrasnap(&repo, &emu.url(), &["verify"]), 0);
}
