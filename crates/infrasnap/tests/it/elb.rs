//! Load balancers and Elastic Beanstalk end to end: the real binary against moto. A live ELBv2
//! load balancer (with a listener and its target group) and an Elastic Beanstalk environment are
//! captured; Route53 records pointing at them stay silent in `infrasnap findings`, while an alias
//! to a load balancer deleted since the previous snapshot ("was ours": medium) and a CNAME to an
//! Elastic Beanstalk name nobody holds (anyone can claim it: high) are `dns.dangling`.
//!
//! Bridged in the harness: moto's ELBv2 needs a VPC and subnets from its EC2 API (made with
//! query-protocol POSTs, the workspace has no EC2 SDK), and moto's DescribeEnvironments leaves
//! every CNAME empty, so a proxy in front of moto fills in the CNAME AWS would give
//! (`<environment>.<region>.elasticbeanstalk.com`).

use crate::common;

use std::path::Path;

use common::*;
use serde_json::Value;

const ACCT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// One EC2 query-protocol call to moto (its routing reads the service from the credential
/// scope); the answer's XML.
fn ec2(base: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let body = format!("{body}&Version=2016-11-15");
    write!(
        s,
        "POST / HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/ec2/aws4_request, \
         SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(
        out.starts_with("HTTP/1.1 200") || out.starts_with("HTTP/1.0 200"),
        "{out}"
    );
    out
}

fn xml_value(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let i = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no {tag} in {xml}"))
        + open.len();
    let j = xml[i..].find('<').unwrap() + i;
    xml[i..j].to_string()
}

/// A VPC with two subnets in two zones (an application load balancer needs two).
fn subnets(base: &str) -> (String, Vec<String>) {
    let vpc = xml_value(
        &ec2(base, "Action=CreateVpc&CidrBlock=10.0.0.0%2F16"),
        "vpcId",
    );
    let subnets = [
        ("10.0.1.0%2F24", "us-east-1a"),
        ("10.0.2.0%2F24", "us-east-1b"),
    ]
    .iter()
    .map(|(cidr, az)| {
        xml_value(
            &ec2(
                base,
                &format!("Action=CreateSubnet&VpcId={vpc}&CidrBlock={cidr}&AvailabilityZone={az}"),
            ),
            "subnetId",
        )
    })
    .collect();
    (vpc, subnets)
}

/// moto gives every environment an empty CNAME: fill in AWS's `<name>.<region>.elasticbeanstalk.com`.
fn fill_cnames(body: &str) -> String {
    let mut out = body.replace("<CNAME></CNAME>", "").replace("<CNAME/>", "");
    let mut at = 0;
    while let Some(i) = out[at..].find("<EnvironmentName>") {
        let start = at + i + "<EnvironmentName>".len();
        let end = start + out[start..].find("</EnvironmentName>").unwrap();
        let name = out[start..end].to_string();
        let close = end + "</EnvironmentName>".len();
        let cname = format!("<CNAME>{name}.{REGION}.elasticbeanstalk.com</CNAME>");
        out.insert_str(close, &cname);
        at = close + cname.len();
    }
    out
}

async fn alias(r53: &aws_sdk_route53::Client, zone: &str, name: &str, target: &str, ty: &str) {
    use aws_sdk_route53::types::*;
    let set = if ty == "A" {
        ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::A)
            .alias_target(
                AliasTarget::builder()
                    .dns_name(target)
                    .hosted_zone_id("Z35SXDOTRQ7X7K")
                    .evaluate_target_health(false)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    } else {
        ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::Cname)
            .ttl(300)
            .resource_records(ResourceRecord::builder().value(target).build().unwrap())
            .build()
            .unwrap()
    };
    r53.change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Upsert)
                        .resource_record_set(set)
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

fn findings(repo: &Path, url: &str) -> Value {
    let o = infrasnap(repo, url, &["--json", "findings"]);
    assert_code(&o, 0);
    serde_json::from_slice(&o.stdout).expect("json")
}

/// The DNS findings of a report: (rule, record resource) -> (severity, title).
fn dns_findings(r: &Value) -> std::collections::BTreeMap<(String, String), (String, String)> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"].as_str().unwrap().starts_with("dns."))
        .map(|f| {
            (
                (
                    f["rule"].as_str().unwrap().to_string(),
                    f["resource"].as_str().unwrap().to_string(),
                ),
                (
                    f["severity"].as_str().unwrap().to_string(),
                    f["title"].as_str().unwrap_or_default().to_string(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_balancers_and_beanstalk_are_captured_and_dangling_dns_to_them_is_found() {
    let emu = Emulator::start().await.unwrap();
    let moto = emu.url();
    let conf = sdk_conf(&moto, REGION).await;
    let (vpc, subnet_ids) = subnets(&emu.moto.url());

    // Two load balancers; the live one with a target group and a listener.
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&conf);
    let mut dns = std::collections::BTreeMap::new();
    let mut arns = std::collections::BTreeMap::new();
    for name in ["web-live", "web-gone"] {
        let r = elb
            .create_load_balancer()
            .name(name)
            .set_subnets(Some(subnet_ids.clone()))
            .send()
            .await
            .unwrap();
        let lb = &r.load_balancers()[0];
        dns.insert(name, lb.dns_name().unwrap().to_string());
        arns.insert(name, lb.load_balancer_arn().unwrap().to_string());
    }
    use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, ProtocolEnum};
    let tg = elb
        .create_target_group()
        .name("web-tg")
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let tg_arn = tg.target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    elb.create_listener()
        .load_balancer_arn(&arns["web-live"])
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&tg_arn)
                .build(),
        )
        .send()
        .await
        .unwrap();

    // One Elastic Beanstalk environment.
    let eb = aws_sdk_elasticbeanstalk::Client::new(&conf);
    eb.create_application()
        .application_name("shop")
        .send()
        .await
        .unwrap();
    eb.create_environment()
        .application_name("shop")
        .environment_name("shop-live")
        .solution_stack_name("64bit Amazon Linux 2023 v4.0.0 running Python 3.11")
        .send()
        .await
        .unwrap();

    // DNS: one record to each live target, one to the load balancer deleted below, one to an
    // Elastic Beanstalk name nobody holds.
    let r53 = aws_sdk_route53::Client::new(&conf);
    let zone = r53
        .create_hosted_zone()
        .name("acme-elb.com")
        .caller_reference("acme-elb")
        .send()
        .await
        .unwrap()
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    let live_lb = format!("dualstack.{}", dns["web-live"]);
    let gone_lb = format!("dualstack.{}", dns["web-gone"]);
    alias(&r53, &zone, "live.acme-elb.com", &live_lb, "A").await;
    alias(&r53, &zone, "gone.acme-elb.com", &gone_lb, "A").await;
    let live_eb = format!("shop-live.{REGION}.elasticbeanstalk.com");
    alias(&r53, &zone, "app.acme-elb.com", &live_eb, "CNAME").await;
    let free_eb = format!("shop-old.{REGION}.elasticbeanstalk.com");
    alias(&r53, &zone, "old.acme-elb.com", &free_eb, "CNAME").await;

    let url = rewrite_proxy(
        &moto,
        |_| None,
        |seen, a| {
            if String::from_utf8_lossy(&seen.body).contains("Action=DescribeEnvironments") {
                a.body = fill_cnames(&String::from_utf8_lossy(&a.body)).into_bytes();
            }
        },
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let args = [
        "--only",
        "elb,elasticbeanstalk,route53",
        "--regions",
        REGION,
    ];
    let meta = snapshot(&repo, &url, &[&args[..], &["--label", "one"]].concat());
    let snap = snapshot_dir(&repo, &meta);

    // Captured: both load balancers with DNS name, zone id, scheme, listener and target group.
    let live = read_json(&snap.join(format!("elb/{ACCT}/{REGION}/web-live.json")));
    assert_eq!(
        live["DNSName"],
        Value::from(dns["web-live"].clone()),
        "{live:#}"
    );
    assert_eq!(
        live["LoadBalancerArn"],
        Value::from(arns["web-live"].clone())
    );
    assert!(live["CanonicalHostedZoneId"].is_string(), "{live:#}");
    assert_eq!(live["Listeners"][0]["Port"], 80, "{live:#}");
    assert_eq!(live["Listeners"][0]["DefaultActions"][0]["Type"], "forward");
    assert_eq!(live["TargetGroups"][0]["TargetGroupName"], "web-tg");
    assert!(snap
        .join(format!("elb/{ACCT}/{REGION}/web-gone.json"))
        .is_file());
    // The environment, with the CNAME AWS gives.
    let envs = read_json(&snap.join(format!(
        "elasticbeanstalk/{ACCT}/{REGION}/environments.json"
    )));
    let env = &envs["Items"][0];
    assert_eq!(env["EnvironmentName"], "shop-live", "{envs:#}");
    assert_eq!(env["ApplicationName"], "shop");
    assert_eq!(env["CNAME"], Value::from(live_eb.clone()));
    assert_eq!(env["Status"], "Ready");
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(manifest.contains("Load balancers") && manifest.contains("web-live"));
    assert!(manifest.contains("Elastic Beanstalk environments") && manifest.contains("shop-live"));

    let rec = |name: &str, ty: &str| format!("aws.route53.record_set:{ACCT}::{zone}/{name}./{ty}");
    let f = dns_findings(&findings(&repo, &url));
    // Only the free Elastic Beanstalk name: high (anyone can claim it).
    let high = &f[&("dns.dangling".to_string(), rec("old.acme-elb.com", "CNAME"))];
    assert_eq!(high.0, "high", "{f:#?}");
    assert_eq!(f.len(), 1, "records to live targets stay silent: {f:#?}");

    // The load balancer is deleted: its alias dangles, and it was ours (medium).
    elb.delete_load_balancer()
        .load_balancer_arn(&arns["web-gone"])
        .send()
        .await
        .unwrap();
    snapshot(&repo, &url, &[&args[..], &["--label", "two"]].concat());
    let f = dns_findings(&findings(&repo, &url));
    let gone = &f[&("dns.dangling".to_string(), rec("gone.acme-elb.com", "A"))];
    assert_eq!(gone.0, "medium", "{f:#?}");
    assert!(gone.1.contains("was ours"), "{}", gone.1);
    assert!(f.contains_key(&("dns.dangling".to_string(), rec("old.acme-elb.com", "CNAME"))));
    assert_eq!(f.len(), 2, "{f:#?}");
}
