//! Every rule fires on its plant and stays silent on a clean twin; the lifecycle across
//! snapshots; suppressions.

use std::collections::BTreeMap;

use rstest::rstest;
use serde_json::{json, Value};

use super::*;
use crate::secrets::Fingerprinter;

const ACCT: &str = "111111111111";

fn as_of() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc)
}

fn fp() -> Fingerprinter {
    Fingerprinter::from_key([7; 32])
}

fn m(v: &str) -> String {
    fp().marker(v.as_bytes())
}

fn bucket(name: &str, over: Value) -> Res {
    let mut config = json!({
        "versioning": {"state": "present", "value": {"Status": "Enabled"}},
        "encryption": {"state": "present", "value": {"ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}},
        "public_access_block": {"state": "present", "value": {"PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}}},
        "acl": {"state": "present", "value": {"Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "abc"}, "Permission": "FULL_CONTROL"}]}},
        "policy": {"state": "absent"},
        "website": {"state": "absent"},
        "tagging": {"state": "absent"},
    });
    for (k, v) in over.as_object().unwrap() {
        config[k] = v.clone();
    }
    Res::new(
        &format!("aws.s3.bucket:{ACCT}::{name}"),
        json!({"name": name, "region": "us-east-1", "config": config}),
    )
}

fn dist(id: &str, aliases: &[&str], origins: &[(&str, &str)]) -> Res {
    let items: Vec<Value> = origins
        .iter()
        .enumerate()
        .map(|(i, (d, p))| json!({"Id": format!("o{i}"), "DomainName": d, "OriginPath": p}))
        .collect();
    Res::new(
        &format!("aws.cloudfront.distribution:{ACCT}::{id}"),
        json!({"Id": id, "DomainName": format!("{}.cloudfront.net", id.to_ascii_lowercase()),
               "DistributionConfig": {"Aliases": {"Quantity": aliases.len(), "Items": aliases},
                                      "Comment": "", "Origins": {"Items": items}}}),
    )
}

fn function(name: &str, over: Value) -> Res {
    let mut doc = json!({
        "FunctionName": name,
        "FunctionArn": format!("arn:aws:lambda:us-east-1:{ACCT}:function:{name}"),
        "Configuration": {"Runtime": "python3.12"},
        "EventSourceMappings": [{"UUID": "u1", "EventSourceArn": "arn:aws:sqs:us-east-1:1:q"}],
    });
    for (k, v) in over.as_object().unwrap() {
        if v.is_null() {
            doc.as_object_mut().unwrap().remove(k);
        } else {
            doc[k] = v.clone();
        }
    }
    Res::new(&format!("aws.lambda.function:{ACCT}:us-east-1:{name}"), doc)
}

fn table(name: &str, pitr: &str) -> Res {
    Res::new(
        &format!("aws.dynamodb.table:{ACCT}:us-east-1:{name}"),
        json!({"TableName": name, "TableArn": format!("arn:aws:dynamodb:us-east-1:{ACCT}:table/{name}"),
               "ContinuousBackups": {"PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": pitr}}}),
    )
}

fn zone(id: &str, name: &str) -> Res {
    Res::new(
        &format!("aws.route53.zone:{ACCT}::{id}"),
        json!({"HostedZone": {"Id": format!("/hostedzone/{id}"), "Name": format!("{name}.")}}),
    )
}

fn record(zone: &str, name: &str, ty: &str, target: &str, alias: bool) -> Res {
    let doc = if alias {
        json!({"Name": format!("{name}."), "Type": ty, "AliasTarget": {"DNSName": format!("{target}."), "HostedZoneId": "Z2"}})
    } else {
        json!({"Name": format!("{name}."), "Type": ty, "TTL": 300, "ResourceRecords": [{"Value": target}]})
    };
    Res::new(
        &format!("aws.route53.record_set:{ACCT}::{zone}/{name}./{ty}"),
        doc,
    )
}

fn lb(name: &str, region: &str, dns: &str) -> Res {
    Res::new(
        &format!("aws.elbv2.load_balancer:{ACCT}:{region}:{name}"),
        json!({"LoadBalancerName": name, "DNSName": dns, "Type": "application", "Region": region}),
    )
}

fn beanstalk(name: &str, region: &str, cname: &str) -> Res {
    Res::new(
        &format!("aws.elasticbeanstalk.environment:{ACCT}:{region}:{name}"),
        json!({"EnvironmentName": name, "CNAME": cname, "Status": "Ready", "Region": region}),
    )
}

fn soa_ns(zone_id: &str, name: &str) -> Vec<Res> {
    vec![
        record(
            zone_id,
            name,
            "SOA",
            "ns-1.awsdns-1.org. hostmaster. 1 7200 900 1209600 86400",
            false,
        ),
        record(zone_id, name, "NS", "ns-1.awsdns-1.org.", false),
    ]
}

fn cert(id: &str, status: &str, not_after: &str) -> Res {
    Res::new(
        &format!("aws.acm.certificate:{ACCT}:us-east-1:{id}"),
        json!({"CertificateArn": format!("arn:aws:acm:us-east-1:{ACCT}:certificate/{id}"),
               "DomainName": "www.acme.com", "Status": status, "NotAfter": not_after,
               "InUseBy": [format!("arn:aws:cloudfront::{ACCT}:distribution/E1")]}),
    )
}

fn user(name: &str, created: &str, last_used: Option<&str>) -> Res {
    Res::new(
        &format!("aws.iam.user:{ACCT}::{name}"),
        json!({"UserName": name, "AccessKeys": [{"AccessKeyId": "AKIAEXAMPLE", "Status": "Active",
               "CreateDate": created, "LastUsed": last_used.map(|d| json!({"LastUsedDate": d}))}]}),
    )
}

fn role(name: &str, principal: Value) -> Res {
    Res::new(
        &format!("aws.iam.role:{ACCT}::{name}"),
        json!({"RoleName": name, "AssumeRolePolicyDocument": {"Version": "2012-10-17",
               "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]}}),
    )
}

fn policy(name: &str, action: &str, resource: &str) -> Res {
    Res::new(
        &format!("aws.iam.policy:{ACCT}::{name}"),
        json!({"PolicyName": name, "DefaultVersionDocument": {"Version": "2012-10-17",
               "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}}),
    )
}

fn rest_api(id: &str, name: &str, over: Value) -> Res {
    let mut doc = json!({"restApi": {"id": id, "name": name}, "stages": [], "resources": []});
    for (k, v) in over.as_object().unwrap() {
        doc[k] = v.clone();
    }
    Res::new(
        &format!("aws.apigateway.rest_api:{ACCT}:us-east-1:{id}"),
        doc,
    )
}

fn lambda_arn(name: &str) -> String {
    format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:{ACCT}:function:{name}/invocations")
}

fn run(resources: Vec<Res>) -> Vec<Hit> {
    let mut e = Estate::new("s", as_of(), resources);
    e.fingerprinter = Some(fp());
    rules::evaluate(&e, &[])
}

/// (rule, the resource it must name, the plant, the clean twin)
fn case(name: &str) -> (&'static str, String, Vec<Res>, Vec<Res>) {
    let www_prod = || bucket("acme-www-prod", json!({}));
    match name {
        "staging distribution on a prod bucket" => (
            "wiring.cross-env",
            format!("aws.cloudfront.distribution:{ACCT}::ESTAGING"),
            vec![www_prod(), dist("ESTAGING", &["staging.acme.com"], &[("acme-www-prod.s3.us-east-1.amazonaws.com", "/_staging")])],
            vec![www_prod(), bucket("acme-www-staging", json!({})), dist("ESTAGING", &["staging.acme.com"], &[("acme-www-staging.s3.us-east-1.amazonaws.com", "")])],
        ),
        "staging distribution on a bucket a prod distribution serves" => (
            "wiring.cross-env",
            format!("aws.cloudfront.distribution:{ACCT}::ESTAGING"),
            vec![bucket("acme-www", json!({})), dist("EPROD", &["www.acme.com", "prod.acme.com"], &[("acme-www.s3.amazonaws.com", "")]),
                 dist("ESTAGING", &["staging.acme.com"], &[("acme-www.s3.amazonaws.com", "/_staging")])],
            vec![bucket("acme-www", json!({})), bucket("acme-www-stg", json!({})), dist("EPROD", &["www.acme.com", "prod.acme.com"], &[("acme-www.s3.amazonaws.com", "")]),
                 dist("ESTAGING", &["staging.acme.com"], &[("acme-www-stg.s3.amazonaws.com", "")])],
        ),
        "dev function with a prod table in its environment" => (
            "wiring.cross-env",
            format!("aws.lambda.function:{ACCT}:us-east-1:orders-dev"),
            vec![table("orders-prod", "ENABLED"), function("orders-dev", json!({"Configuration": {"Runtime": "python3.12", "Environment": {"Variables": {"TABLE": m("orders-prod")}}}}))],
            vec![table("orders-prod", "ENABLED"), table("orders-dev", "ENABLED"), function("orders-dev", json!({"Configuration": {"Runtime": "python3.12", "Environment": {"Variables": {"TABLE": m("orders-dev")}}}}))],
        ),
        "test API integrated with a prod function" => (
            "wiring.cross-env",
            format!("aws.apigateway.rest_api:{ACCT}:us-east-1:a1"),
            vec![function("checkout-prod", json!({})), rest_api("a1", "shop-test", json!({"resources": [{"path": "/", "resourceMethods": {"POST": {"methodIntegration": {"uri": lambda_arn("checkout-prod")}}}}]}))],
            vec![function("checkout-prod", json!({})), function("checkout-test", json!({})), rest_api("a1", "shop-test", json!({"resources": [{"path": "/", "resourceMethods": {"POST": {"methodIntegration": {"uri": lambda_arn("checkout-test")}}}}]}))],
        ),
        "CNAME to a missing bucket" => (
            "dns.dangling",
            format!("aws.route53.record_set:{ACCT}::Z1/assets.acme.com./CNAME"),
            vec![bucket("other", json!({})), zone("Z1", "acme.com"), record("Z1", "assets.acme.com", "CNAME", "acme-assets.s3.amazonaws.com", false)],
            vec![bucket("acme-assets", json!({})), zone("Z1", "acme.com"), record("Z1", "assets.acme.com", "CNAME", "acme-assets.s3.amazonaws.com", false)],
        ),
        "alias to a missing website bucket" => (
            "dns.dangling",
            format!("aws.route53.record_set:{ACCT}::Z1/old.acme.com./A"),
            vec![bucket("other", json!({})), record("Z1", "old.acme.com", "A", "s3-website-us-east-1.amazonaws.com", true)],
            vec![bucket("old.acme.com", json!({})), record("Z1", "old.acme.com", "A", "s3-website-us-east-1.amazonaws.com", true)],
        ),
        "alias to a missing distribution" => (
            "dns.dangling",
            format!("aws.route53.record_set:{ACCT}::Z1/cdn.acme.com./A"),
            vec![dist("EOTHER", &[], &[]), record("Z1", "cdn.acme.com", "A", "d999.cloudfront.net", true)],
            vec![dist("D999", &[], &[]), record("Z1", "cdn.acme.com", "A", "d999.cloudfront.net", true)],
        ),
        "CNAME to a missing API domain" => (
            "dns.dangling",
            format!("aws.route53.record_set:{ACCT}::Z1/api.acme.com./CNAME"),
            vec![Res::new(&format!("aws.apigateway.domain_name:{ACCT}:eu-west-1:other.acme.com"), json!({"v1": {"regionalDomainName": "d-other.execute-api.eu-west-1.amazonaws.com"}})),
                 record("Z1", "api.acme.com", "CNAME", "d-abc.execute-api.eu-west-1.amazonaws.com", false)],
            vec![Res::new(&format!("aws.apigateway.domain_name:{ACCT}:eu-west-1:api.acme.com"), json!({"v1": {"regionalDomainName": "d-abc.execute-api.eu-west-1.amazonaws.com"}})),
                 record("Z1", "api.acme.com", "CNAME", "d-abc.execute-api.eu-west-1.amazonaws.com", false)],
        ),
        "CNAME to Elastic Beanstalk" => (
            "dns.unverified",
            format!("aws.route53.record_set:{ACCT}::Z1/app.acme.com./CNAME"),
            vec![record("Z1", "app.acme.com", "CNAME", "acme-app.eu-west-1.elasticbeanstalk.com", false)],
            vec![beanstalk("acme-app", "eu-west-1", "acme-app.eu-west-1.elasticbeanstalk.com"),
                 record("Z1", "app.acme.com", "CNAME", "acme-app.eu-west-1.elasticbeanstalk.com", false)],
        ),
        "CNAME to a missing Beanstalk environment" => (
            "dns.dangling",
            format!("aws.route53.record_set:{ACCT}::Z1/app.acme.com./CNAME"),
            vec![beanstalk("other", "eu-west-1", "other.eu-west-1.elasticbeanstalk.com"),
                 record("Z1", "app.acme.com", "CNAME", "acme-app.eu-west-1.elasticbeanstalk.com", false)],
            vec![beanstalk("acme-app", "eu-west-1", "acme-app.eu-west-1.elasticbeanstalk.com"),
                 record("Z1", "app.acme.com", "CNAME", "acme-app.eu-west-1.elasticbeanstalk.com.", false)],
        ),
        "alias to a missing load balancer" => (
            "dns.dangling",
            format!("aws.route53.record_set:{ACCT}::Z1/shop.acme.com./A"),
            vec![lb("other", "eu-west-1", "other-9.eu-west-1.elb.amazonaws.com"),
                 record("Z1", "shop.acme.com", "A", "dualstack.web-123.eu-west-1.elb.amazonaws.com", true)],
            vec![lb("web", "eu-west-1", "web-123.eu-west-1.elb.amazonaws.com"),
                 record("Z1", "shop.acme.com", "A", "dualstack.web-123.eu-west-1.elb.amazonaws.com", true)],
        ),
        "CNAME to a missing network load balancer" => (
            "dns.dangling",
            format!("aws.route53.record_set:{ACCT}::Z1/tcp.acme.com./CNAME"),
            vec![lb("other", "eu-west-1", "other-9.eu-west-1.elb.amazonaws.com"),
                 record("Z1", "tcp.acme.com", "CNAME", "nlb-abc.elb.eu-west-1.amazonaws.com", false)],
            vec![lb("nlb", "eu-west-1", "nlb-abc.elb.eu-west-1.amazonaws.com"),
                 record("Z1", "tcp.acme.com", "CNAME", "NLB-abc.elb.eu-west-1.amazonaws.com", false)],
        ),
        "alias to a load balancer in a region not captured" => (
            "dns.unverified",
            format!("aws.route53.record_set:{ACCT}::Z1/shop.acme.com./A"),
            vec![lb("other", "us-east-1", "other-9.us-east-1.elb.amazonaws.com"),
                 record("Z1", "shop.acme.com", "A", "dualstack.web-123.eu-west-1.elb.amazonaws.com", true)],
            vec![lb("web", "eu-west-1", "web-123.eu-west-1.elb.amazonaws.com"),
                 record("Z1", "shop.acme.com", "A", "dualstack.web-123.eu-west-1.elb.amazonaws.com", true)],
        ),
        "distribution on a missing bucket" => (
            "cloudfront.origin-bucket",
            format!("aws.cloudfront.distribution:{ACCT}::E1"),
            vec![bucket("other", json!({})), dist("E1", &[], &[("gone-bucket.s3.amazonaws.com", "")])],
            vec![bucket("gone-bucket", json!({})), dist("E1", &[], &[("gone-bucket.s3.amazonaws.com", "")])],
        ),
        "certificate expiring in 4 days" => (
            "acm.expiring",
            format!("aws.acm.certificate:{ACCT}:us-east-1:c1"),
            vec![cert("c1", "ISSUED", "2026-12-05T00:00:00Z")],
            vec![cert("c1", "ISSUED", "2027-06-01T00:00:00Z")],
        ),
        "certificate pending validation" => (
            "acm.validation",
            format!("aws.acm.certificate:{ACCT}:us-east-1:c1"),
            vec![cert("c1", "PENDING_VALIDATION", "2027-06-01T00:00:00Z")],
            vec![cert("c1", "ISSUED", "2027-06-01T00:00:00Z")],
        ),
        "bucket policy allowing anyone" => (
            "exposure.public-policy",
            format!("aws.s3.bucket:{ACCT}::pub"),
            vec![bucket("pub", json!({"policy": {"state": "present", "value": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pub/*"}]}}}))],
            vec![bucket("pub", json!({"policy": {"state": "present", "value": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pub/*"}]}}}))],
        ),
        "ACL granting AllUsers" => (
            "exposure.public-acl",
            format!("aws.s3.bucket:{ACCT}::pub"),
            vec![bucket("pub", json!({"acl": {"state": "present", "value": {"Grants": [{"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}]}}}))],
            vec![bucket("pub", json!({}))],
        ),
        "no public access block" => (
            "exposure.public-access-block-off",
            format!("aws.s3.bucket:{ACCT}::b"),
            vec![bucket("b", json!({"public_access_block": {"state": "absent"}}))],
            vec![bucket("b", json!({}))],
        ),
        "website bucket without CloudFront" => (
            "exposure.website-without-cloudfront",
            format!("aws.s3.bucket:{ACCT}::site"),
            vec![bucket("site", json!({"website": {"state": "present", "value": {"IndexDocument": {"Suffix": "index.html"}}}})), dist("E1", &[], &[])],
            vec![bucket("site", json!({"website": {"state": "present", "value": {"IndexDocument": {"Suffix": "index.html"}}}})), dist("E1", &[], &[("site.s3-website-us-east-1.amazonaws.com", "")])],
        ),
        "password in a Lambda environment" => (
            "secrets.plaintext",
            format!("aws.lambda.function:{ACCT}:us-east-1:api"),
            vec![function("api", json!({"Configuration": {"Runtime": "python3.12", "Environment": {"Variables": {"DB_PASSWORD": m("hunter2")}}}}))],
            vec![function("api", json!({"Configuration": {"Runtime": "python3.12", "Environment": {"Variables": {"LOG_LEVEL": m("debug")}}}}))],
        ),
        "API key in a stage variable" => (
            "secrets.plaintext",
            format!("aws.apigateway.rest_api:{ACCT}:us-east-1:a1"),
            vec![rest_api("a1", "shop", json!({"stages": [{"stageName": "v1", "variables": {"api_key": m("k")}}]}))],
            vec![rest_api("a1", "shop", json!({"stages": [{"stageName": "v1", "variables": {"backend_host": m("h")}}]}))],
        ),
        "secret origin header" => (
            "secrets.plaintext",
            format!("aws.cloudfront.distribution:{ACCT}::E1"),
            vec![{ let mut d = dist("E1", &[], &[("x.example.com", "")]); d.doc["DistributionConfig"]["Origins"]["Items"][0]["CustomHeaders"] = json!({"Items": [{"HeaderName": "X-Origin-Verify", "HeaderValue": m("v")}]}); d }],
            vec![{ let mut d = dist("E1", &[], &[("x.example.com", "")]); d.doc["DistributionConfig"]["Origins"]["Items"][0]["CustomHeaders"] = json!({"Items": [{"HeaderName": "X-Forwarded-Host", "HeaderValue": m("v")}]}); d }],
        ),
        "token in Apps Script code" => (
            "secrets.plaintext",
            "gas.project:::1abc".to_string(),
            vec![Res::new("gas.project:::1abc", json!({"title": "Budget"})).with_part("redactions.json", json!([{"file": "Code.gs", "line": 3, "kind": "google_api_key"}]))],
            vec![Res::new("gas.project:::1abc", json!({"title": "Budget"}))],
        ),
        "secret file in a git working tree" => (
            "secrets.plaintext",
            "local.git:::deploy".to_string(),
            vec![Res::new("local.git:::deploy", json!({})).with_part("secrets_manifest.json", json!({"withheld": [{"path": ".env", "size": 10, "fingerprint": "fp:0123456789abcdef01234567", "reason": "env file"}]}))],
            vec![Res::new("local.folder:::deploy", json!({})).with_part("secrets_manifest.json", json!({"withheld": [{"path": ".env", "size": 10, "fingerprint": "fp:0123456789abcdef01234567", "reason": "env file"}]}))],
        ),
        "access key unused for months" => (
            "iam.unused-access-key",
            format!("aws.iam.user:{ACCT}::ci"),
            vec![user("ci", "2026-10-01T00:00:00Z", Some("2026-10-02T00:00:00Z"))],
            vec![user("ci", "2026-10-01T00:00:00Z", Some("2026-11-30T00:00:00Z"))],
        ),
        "access key unused, from the credential report" => (
            "iam.unused-access-key",
            format!("aws.iam.user:{ACCT}::ci"),
            vec![user("ci", "2026-11-01T00:00:00Z", Some("2026-11-30T00:00:00Z")),
                 Res::new(&format!("aws.iam.credential_report:{ACCT}::credential_report"), json!({"Rows": [{"user": "ci", "access_key_1_active": "true", "access_key_1_last_rotated": "2026-10-01T00:00:00+00:00", "access_key_1_last_used_date": "N/A"}]}))],
            vec![user("ci", "2026-11-01T00:00:00Z", Some("2026-11-30T00:00:00Z")),
                 Res::new(&format!("aws.iam.credential_report:{ACCT}::credential_report"), json!({"Rows": [{"user": "ci", "access_key_1_active": "true", "access_key_1_last_rotated": "2026-10-01T00:00:00+00:00", "access_key_1_last_used_date": "2026-11-29T00:00:00+00:00"}]}))],
        ),
        "access key older than 90 days" => (
            "iam.old-access-key",
            format!("aws.iam.user:{ACCT}::ci"),
            vec![user("ci", "2026-01-01T00:00:00Z", Some("2026-11-30T00:00:00Z"))],
            vec![user("ci", "2026-11-01T00:00:00Z", Some("2026-11-30T00:00:00Z"))],
        ),
        "policy allowing * on *" => (
            "iam.admin-policy",
            format!("aws.iam.policy:{ACCT}::everything"),
            vec![policy("everything", "*", "*")],
            vec![policy("everything", "s3:GetObject", "arn:aws:s3:::b/*")],
        ),
        "trust policy open to anyone" => (
            "iam.open-trust",
            format!("aws.iam.role:{ACCT}::deploy"),
            vec![role("deploy", json!({"AWS": "*"}))],
            vec![role("deploy", json!({"Service": "lambda.amazonaws.com"}))],
        ),
        "deprecated runtime" => (
            "hygiene.deprecated-runtime",
            format!("aws.lambda.function:{ACCT}:us-east-1:old"),
            vec![function("old", json!({"Configuration": {"Runtime": "python3.8"}}))],
            vec![function("old", json!({"Configuration": {"Runtime": "python3.12"}}))],
        ),
        "function without trigger" => (
            "hygiene.function-without-trigger",
            format!("aws.lambda.function:{ACCT}:us-east-1:lonely"),
            vec![function("lonely", json!({"EventSourceMappings": []}))],
            vec![function("lonely", json!({"EventSourceMappings": []})),
                 bucket("uploads", json!({"notifications": {"state": "present", "value": {"LambdaFunctionConfigurations": [{"LambdaFunctionArn": format!("arn:aws:lambda:us-east-1:{ACCT}:function:lonely"), "Events": ["s3:ObjectCreated:*"]}]}}}))],
        ),
        "prod bucket unencrypted" => (
            "hygiene.prod-bucket-unencrypted",
            format!("aws.s3.bucket:{ACCT}::data-prod"),
            vec![bucket("data-prod", json!({"encryption": {"state": "absent"}}))],
            vec![bucket("data-prod", json!({})), bucket("data-dev", json!({"encryption": {"state": "absent"}}))],
        ),
        "prod bucket unversioned" => (
            "hygiene.prod-bucket-unversioned",
            format!("aws.s3.bucket:{ACCT}::data-prod"),
            vec![bucket("data-prod", json!({"versioning": {"state": "absent"}}))],
            vec![bucket("data-prod", json!({}))],
        ),
        "table without PITR" => (
            "hygiene.table-without-pitr",
            format!("aws.dynamodb.table:{ACCT}:us-east-1:orders"),
            vec![table("orders", "DISABLED")],
            vec![table("orders", "ENABLED")],
        ),
        "empty hosted zone" => (
            "hygiene.empty-zone",
            format!("aws.route53.zone:{ACCT}::Z9"),
            { let mut v = vec![zone("Z9", "old.com")]; v.extend(soa_ns("Z9", "old.com")); v },
            { let mut v = vec![zone("Z9", "old.com")]; v.extend(soa_ns("Z9", "old.com")); v.push(record("Z9", "www.old.com", "CNAME", "x.example.com", false)); v },
        ),
        other => panic!("no case {other}"),
    }
}

#[rstest]
#[case("staging distribution on a prod bucket")]
#[case("staging distribution on a bucket a prod distribution serves")]
#[case("dev function with a prod table in its environment")]
#[case("test API integrated with a prod function")]
#[case("CNAME to a missing bucket")]
#[case("alias to a missing website bucket")]
#[case("alias to a missing distribution")]
#[case("CNAME to a missing API domain")]
#[case("CNAME to Elastic Beanstalk")]
#[case("CNAME to a missing Beanstalk environment")]
#[case("alias to a missing load balancer")]
#[case("CNAME to a missing network load balancer")]
#[case("alias to a load balancer in a region not captured")]
#[case("distribution on a missing bucket")]
#[case("certificate expiring in 4 days")]
#[case("certificate pending validation")]
#[case("bucket policy allowing anyone")]
#[case("ACL granting AllUsers")]
#[case("no public access block")]
#[case("website bucket without CloudFront")]
#[case("password in a Lambda environment")]
#[case("API key in a stage variable")]
#[case("secret origin header")]
#[case("token in Apps Script code")]
#[case("secret file in a git working tree")]
#[case("access key unused for months")]
#[case("access key unused, from the credential report")]
#[case("access key older than 90 days")]
#[case("policy allowing * on *")]
#[case("trust policy open to anyone")]
#[case("deprecated runtime")]
#[case("function without trigger")]
#[case("prod bucket unencrypted")]
#[case("prod bucket unversioned")]
#[case("table without PITR")]
#[case("empty hosted zone")]
fn each_rule_fires_on_its_plant_and_not_on_the_clean_twin(#[case] name: &str) {
    let (rule, resource, plant, clean) = case(name);
    assert!(
        rules::RULES.iter().any(|r| r.id == rule),
        "{rule} is listed"
    );
    let hits = run(plant);
    assert!(
        hits.iter()
            .any(|h| h.rule == rule && h.resource.to_string() == resource),
        "{name}: {rule} on {resource} expected in {hits:#?}"
    );
    let hits = run(clean);
    assert!(
        !hits.iter().any(|h| h.rule == rule),
        "{name}: {rule} must stay silent on the twin, got {hits:#?}"
    );
}

#[test]
fn every_rule_has_a_case() {
    let names = [
        "staging distribution on a prod bucket",
        "CNAME to a missing bucket",
        "CNAME to Elastic Beanstalk",
        "distribution on a missing bucket",
        "certificate expiring in 4 days",
        "certificate pending validation",
        "bucket policy allowing anyone",
        "ACL granting AllUsers",
        "no public access block",
        "website bucket without CloudFront",
        "password in a Lambda environment",
        "access key unused for months",
        "access key older than 90 days",
        "policy allowing * on *",
        "trust policy open to anyone",
        "deprecated runtime",
        "function without trigger",
        "prod bucket unencrypted",
        "prod bucket unversioned",
        "table without PITR",
        "empty hosted zone",
    ];
    let covered: std::collections::BTreeSet<&str> = names.iter().map(|n| case(n).0).collect();
    for r in rules::RULES {
        assert!(
            covered.contains(r.id),
            "rule {} has no plant/twin case",
            r.id
        );
    }
}

#[test]
fn the_evidence_of_a_staging_origin_names_the_origin_path() {
    let (_, _, plant, _) = case("staging distribution on a prod bucket");
    let h = run(plant)
        .into_iter()
        .find(|h| h.rule == "wiring.cross-env")
        .unwrap();
    assert_eq!(h.severity, Severity::High);
    assert!(
        h.title.contains("staging") && h.title.contains("acme-www-prod"),
        "{}",
        h.title
    );
    assert!(h
        .evidence
        .iter()
        .any(|e| e.pointer.ends_with("/OriginPath") && e.value == json!("/_staging")));
}

#[test]
fn secrets_are_shown_by_fingerprint_never_by_value() {
    let (_, _, plant, _) = case("password in a Lambda environment");
    let h = run(plant)
        .into_iter()
        .find(|h| h.rule == "secrets.plaintext")
        .unwrap();
    let text = serde_json::to_string(&h.evidence).unwrap();
    assert!(!text.contains("hunter2"));
    assert!(text.contains("fp:"), "{text}");
    assert_eq!(
        h.evidence[0].pointer,
        "/Configuration/Environment/Variables/DB_PASSWORD"
    );
}

#[rstest]
#[case(4, Severity::High)]
#[case(-3, Severity::High)]
#[case(10, Severity::Medium)]
#[case(30, Severity::Low)]
fn certificate_severity_follows_the_days_left(#[case] days: i64, #[case] want: Severity) {
    let t = (as_of() + chrono::Duration::days(days)).to_rfc3339();
    let mut e = Estate::new(
        "s",
        as_of(),
        vec![cert("c1", "ISSUED", &t), {
            let mut d = dist("E1", &["www.acme.com"], &[]);
            d.doc["DistributionConfig"]["ViewerCertificate"] = json!({"ACMCertificateArn": format!("arn:aws:acm:us-east-1:{ACCT}:certificate/c1")});
            d
        }],
    );
    e.fingerprinter = None;
    let h = rules::evaluate(&e, &[])
        .into_iter()
        .find(|h| h.rule == "acm.expiring")
        .unwrap();
    assert_eq!(h.severity, want);
    // What uses it: ACM's list and the distribution that names it.
    assert!(h.evidence.iter().any(
        |x| x.resource.as_deref() == Some(&*format!("aws.cloudfront.distribution:{ACCT}::E1"))
    ));
}

#[test]
fn a_dangling_target_that_was_ours_says_so() {
    let now = vec![
        dist("EOTHER", &[], &[]),
        record("Z1", "cdn.acme.com", "A", "d999.cloudfront.net", true),
    ];
    let before = vec![
        dist("D999", &[], &[]),
        record("Z1", "cdn.acme.com", "A", "d999.cloudfront.net", true),
    ];
    let e0 = Estate::new("before", as_of(), before);
    let e1 = Estate::new("now", as_of(), now.clone());
    let h = rules::evaluate(&e1, &[e0])
        .into_iter()
        .find(|h| h.rule == "dns.dangling")
        .unwrap();
    assert_eq!(h.severity, Severity::Medium);
    assert!(h.title.contains("was ours"));
    let h = rules::evaluate(&Estate::new("now", as_of(), now), &[])
        .into_iter()
        .find(|h| h.rule == "dns.dangling")
        .unwrap();
    assert_eq!(h.severity, Severity::Low);
}

#[test]
fn nothing_is_called_missing_under_a_listing_that_failed() {
    let mut e = Estate::new(
        "s",
        as_of(),
        vec![record(
            "Z1",
            "assets.acme.com",
            "CNAME",
            "acme-assets.s3.amazonaws.com",
            false,
        )],
    );
    e.coverage.push(crate::catalog::Coverage {
        kind: "aws.s3.bucket".into(),
        account: ACCT.into(),
        region: String::new(),
        state: crate::catalog::CoverageState::Failed,
        error: None,
    });
    assert!(rules::evaluate(&e, &[])
        .iter()
        .all(|h| h.rule != "dns.dangling"));
}

#[rstest]
#[case::beanstalk_anyone_can_claim(
    "CNAME to a missing Beanstalk environment",
    false,
    Severity::High
)]
#[case::load_balancer("alias to a missing load balancer", false, Severity::Low)]
#[case::load_balancer_that_was_ours("alias to a missing load balancer", true, Severity::Medium)]
#[case::beanstalk_that_was_ours("CNAME to a missing Beanstalk environment", true, Severity::High)]
fn dangling_load_balancer_and_beanstalk_severity(
    #[case] name: &str,
    #[case] was_ours: bool,
    #[case] want: Severity,
) {
    let (_, resource, plant, clean) = case(name);
    let before: Vec<Estate> = if was_ours {
        vec![Estate::new("before", as_of(), clean)]
    } else {
        Vec::new()
    };
    let h = rules::evaluate(&Estate::new("now", as_of(), plant), &before)
        .into_iter()
        .find(|h| h.rule == "dns.dangling" && h.resource.to_string() == resource)
        .unwrap();
    assert_eq!(h.severity, want, "{}", h.title);
    assert_eq!(h.title.contains("was ours"), was_ours, "{}", h.title);
}

#[test]
fn no_load_balancer_or_environment_is_missing_under_a_failed_listing_of_its_region() {
    for (plant, kind) in [
        (
            "alias to a missing load balancer",
            "aws.elbv2.load_balancer",
        ),
        (
            "CNAME to a missing Beanstalk environment",
            "aws.elasticbeanstalk.environment",
        ),
    ] {
        let (_, _, resources, _) = case(plant);
        let mut e = Estate::new("s", as_of(), resources);
        // A second account's listing of the same region failed.
        e.coverage.push(crate::catalog::Coverage {
            kind: kind.into(),
            account: "222222222222".into(),
            region: "eu-west-1".into(),
            state: crate::catalog::CoverageState::Failed,
            error: None,
        });
        let hits = rules::evaluate(&e, &[]);
        assert!(
            hits.iter()
                .all(|h| h.rule != "dns.dangling" && h.rule != "dns.unverified"),
            "{plant}: {hits:#?}"
        );
    }
}

#[rstest]
#[case("web-1.eu-west-1.elb.amazonaws.com.", Some(("web-1.eu-west-1.elb.amazonaws.com", "eu-west-1")))]
#[case("DualStack.web-1.eu-west-1.elb.amazonaws.com", Some(("web-1.eu-west-1.elb.amazonaws.com", "eu-west-1")))]
#[case("internal-api-2.us-east-2.elb.amazonaws.com", Some(("internal-api-2.us-east-2.elb.amazonaws.com", "us-east-2")))]
#[case("nlb-abc.elb.ap-southeast-1.amazonaws.com", Some(("nlb-abc.elb.ap-southeast-1.amazonaws.com", "ap-southeast-1")))]
#[case("bucket.s3.eu-west-1.amazonaws.com", None)]
#[case("elb.amazonaws.com", None)]
fn load_balancer_hosts_name_their_region(#[case] host: &str, #[case] want: Option<(&str, &str)>) {
    let got = rules::dns_hosts::elb(host);
    assert_eq!(got.as_ref().map(|(h, r)| (h.as_str(), r.as_str())), want);
}

#[rstest]
#[case("shop.eu-west-1.elasticbeanstalk.com", Some(("shop.eu-west-1.elasticbeanstalk.com", "eu-west-1")))]
#[case("Shop.elasticbeanstalk.com.", Some(("shop.elasticbeanstalk.com", "us-east-1")))]
#[case("shop.example.com", None)]
fn beanstalk_hosts_name_their_region(#[case] host: &str, #[case] want: Option<(&str, &str)>) {
    let got = rules::dns_hosts::beanstalk(host);
    assert_eq!(got.as_ref().map(|(h, r)| (h.as_str(), r.as_str())), want);
}

// ---- Lifecycle ----

fn estate(name: &str, day: u32, planted: bool) -> Estate {
    let t = chrono::DateTime::parse_from_rfc3339(&format!("2026-11-{day:02}T00:00:00Z"))
        .unwrap()
        .with_timezone(&chrono::Utc);
    let b = if planted {
        bucket(
            "pub",
            json!({"acl": {"state": "present", "value": {"Grants": [{"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}]}}}),
        )
    } else {
        bucket("pub", json!({}))
    };
    Estate::new(name, t, vec![b])
}

fn state_of(r: &FindingsReport, rule: &str) -> Option<State> {
    r.findings.iter().find(|f| f.rule == rule).map(|f| f.state)
}

#[test]
fn planted_persisting_resolved_regressed() {
    let s = [
        estate("s1", 1, true),
        estate("s2", 2, true),
        estate("s3", 3, false),
        estate("s4", 4, true),
    ];
    let at = |i: usize| assess_estates(&s[i], &s[..i], &[]);
    let rule = "exposure.public-acl";
    assert_eq!(state_of(&at(0), rule), Some(State::New));
    let r1 = at(1);
    assert_eq!(state_of(&r1, rule), Some(State::Persisting));
    assert_eq!(
        r1.findings
            .iter()
            .find(|f| f.rule == rule)
            .unwrap()
            .since
            .as_deref(),
        Some("s1")
    );
    let r2 = at(2);
    assert_eq!(state_of(&r2, rule), Some(State::Resolved));
    assert_eq!(r2.counts.resolved, 1);
    assert!(
        !r2.fails(Severity::Low),
        "a resolved finding does not fail a run"
    );
    let r3 = at(3);
    assert_eq!(state_of(&r3, rule), Some(State::Regressed));
    assert_eq!(r3.counts.regressed, 1);
    assert!(r3.fails(Severity::High));
    // The stable id is the same in every snapshot.
    assert_eq!(
        at(0).findings.iter().find(|f| f.rule == rule).unwrap().id,
        format!("exposure.public-acl@aws.s3.bucket:{ACCT}::pub")
    );
}

fn sup(rule: &str, resource: &str, expires: &str) -> Suppression {
    Suppression {
        rule: rule.into(),
        resource: resource.into(),
        reason: "accepted".into(),
        expires: suppress::Expiry::Text(expires.into()),
    }
}

#[test]
fn a_live_suppression_hides_and_an_expired_one_reports_again() {
    let s = [estate("s1", 20, true)];
    let live = assess_estates(&s[0], &[], &[sup("exposure.*", "*::pub", "2026-12-31")]);
    let f = live
        .findings
        .iter()
        .find(|f| f.rule == "exposure.public-acl")
        .unwrap();
    assert!(f.suppressed.as_ref().is_some_and(|x| !x.expired));
    assert_eq!(live.counts.suppressed, 1);
    assert!(!live.fails(Severity::Low));
    let expired = assess_estates(
        &s[0],
        &[],
        &[sup("exposure.public-acl", "*::pub", "2026-11-01")],
    );
    let f = expired
        .findings
        .iter()
        .find(|f| f.rule == "exposure.public-acl")
        .unwrap();
    assert!(f.suppressed.as_ref().is_some_and(|x| x.expired));
    assert!(expired.fails(Severity::High));
    assert!(
        expired
            .to_string()
            .contains("suppression expired 2026-11-01"),
        "{expired}"
    );
}

#[rstest]
#[case(sup("no.such-rule", "*", "2027-01-01"), "matches no rule")]
#[case(sup("dns.dangling", "", "2027-01-01"), "`resource` is empty")]
#[case(Suppression { reason: " ".into(), ..sup("dns.dangling", "*", "2027-01-01") }, "`reason` is empty")]
#[case(sup("dns.dangling", "*", "next week"), "is not a date")]
fn malformed_suppressions_are_refused_clearly(#[case] s: Suppression, #[case] want: &str) {
    let e = suppress::validate(&[s]).unwrap_err().to_string();
    assert!(e.contains(want) && e.contains("number 1"), "{e}");
}

#[test]
fn suppressions_parse_from_infrasnap_toml() {
    let cfg = crate::config::Config::parse(
        "[[findings.suppress]]\nrule = \"exposure.*\"\nresource = \"aws.s3.bucket:*::acme-www\"\nreason = \"public site\"\nexpires = 2027-06-30\n",
        std::path::Path::new("infrasnap.toml"),
    )
    .unwrap();
    assert_eq!(cfg.findings.suppress[0].expires.text(), "2027-06-30");
    let e = crate::config::Config::parse(
        "[[findings.suppress]]\nrule = \"exposure.*\"\nresource = \"x\"\nreason = \"r\"\nexpires = \"soon\"\n",
        std::path::Path::new("infrasnap.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("not a date"), "{e}");
    let e = crate::config::Config::parse(
        "[[findings.suppress]]\nrule = \"exposure.*\"\nresorce = \"x\"\nreason = \"r\"\nexpires = \"2027-01-01\"\n",
        std::path::Path::new("infrasnap.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("resorce"), "{e}");
}

#[test]
fn the_text_and_the_manifest_section_name_each_finding() {
    let r = assess_estates(&estate("s1", 1, true), &[], &[]);
    let text = r.to_string();
    assert!(text.contains("HIGH   exposure.public-acl [new]"), "{text}");
    assert!(text.contains("what to do:"));
    let md = render::section(&r).to_markdown();
    assert!(md.starts_with("## Findings"));
    assert!(md.contains("| high | exposure.public-acl | new |"), "{md}");
    let _ = BTreeMap::<String, Hit>::new();
}

/// A seed-scale estate (50 buckets, 100 distributions, 300 functions, 40 tables, 500 records,
/// 100 IAM users and roles) assessed against 10 earlier snapshots of it: under 1 s (release).
#[test]
#[ignore = "scale check: cargo test --release -p infrasnap-core --lib -- --ignored seed_scale_findings"]
fn seed_scale_findings_take_under_a_second() {
    let mut rs = Vec::new();
    for i in 0..50 {
        rs.push(bucket(&format!("site-{i}-prod"), json!({})));
    }
    for i in 0..100 {
        let env = if i % 2 == 0 { "staging" } else { "prod" };
        rs.push(dist(
            &format!("E{i:04}"),
            &[&format!("{env}{i}.acme.com")],
            &[(&format!("site-{}-prod.s3.amazonaws.com", i % 50), "/_x")],
        ));
    }
    for i in 0..300 {
        rs.push(function(&format!("fn-{i}-dev"), json!({"Configuration": {"Runtime": "python3.12", "Environment": {"Variables": {"TABLE": m(&format!("t-{}-prod", i % 40)), "API_TOKEN": m("x")}}}})));
    }
    for i in 0..40 {
        rs.push(table(&format!("t-{i}-prod"), "DISABLED"));
    }
    for i in 0..500 {
        rs.push(record(
            "Z1",
            &format!("r{i}.acme.com"),
            "CNAME",
            &format!("gone-{i}.s3.amazonaws.com"),
            false,
        ));
    }
    for i in 0..50 {
        rs.push(user(&format!("u{i}"), "2026-01-01T00:00:00Z", None));
        rs.push(role(
            &format!("r{i}"),
            json!({"Service": "lambda.amazonaws.com"}),
        ));
    }
    let mk = |n: usize| {
        let mut e = Estate::new(&format!("s{n}"), as_of(), rs.clone());
        e.fingerprinter = Some(fp());
        e
    };
    let earlier: Vec<Estate> = (0..10).map(mk).collect();
    let now = mk(10);
    let t0 = std::time::Instant::now();
    let r = assess_estates(&now, &earlier, &[]);
    let took = t0.elapsed();
    eprintln!(
        "{} resources x 11 snapshots: {} findings in {took:?}",
        now.resources.len(),
        r.findings.len()
    );
    assert!(r.findings.len() > 1000);
    assert!(took < std::time::Duration::from_secs(1), "{took:?}");
}
