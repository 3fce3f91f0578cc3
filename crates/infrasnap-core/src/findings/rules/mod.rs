//! The rules. Each is a function over an [`Estate`] returning [`Hit`]s; [`RULES`] lists every
//! rule id with what it checks (suppressions are checked against it, docs/FORMAT.md section 27
//! lists it).

mod dns;
mod exposure;
mod hygiene;
mod iam;
mod secrets;
mod wiring;

/// The host-name parsers of the DNS rules (for the tests).
#[cfg(test)]
pub(crate) mod dns_hosts {
    pub(crate) use super::dns::beanstalk_of_host as beanstalk;
    pub(crate) use super::dns::elb_of_host as elb;
}

use std::collections::BTreeSet;

use serde_json::Value;

use super::estate::{bucket_of_host, Estate, Res};
use super::{Evidence, Hit, Severity};

/// A rule id and what it checks.
#[derive(Debug)]
pub struct RuleInfo {
    pub id: &'static str,
    pub checks: &'static str,
}

pub static RULES: &[RuleInfo] = &[
    RuleInfo { id: "wiring.cross-env", checks: "a staging, dev or test distribution, API or function (by name, aliases or tags) that reads from or writes to a prod resource: CloudFront origins on prod buckets (origin paths such as `/_staging` included), Lambda environment variables whose value is a prod table or bucket, integrations and triggers naming prod resources" },
    RuleInfo { id: "dns.dangling", checks: "a Route53 CNAME or alias whose target (CloudFront, S3 bucket or website endpoint, API Gateway, ELBv2 load balancer, Elastic Beanstalk environment) is not in the snapshot; high when the name can be claimed by anyone (S3, Elastic Beanstalk), medium when it was ours in an earlier snapshot, low otherwise" },
    RuleInfo { id: "dns.unverified", checks: "a Route53 record pointing at a load balancer or Elastic Beanstalk name in a region this snapshot did not list (service or region not captured): whether it exists is unknown" },
    RuleInfo { id: "cloudfront.origin-bucket", checks: "a CloudFront origin on a bucket that is not in the snapshot (deleted, or another account's), or on a bucket of another captured account" },
    RuleInfo { id: "acm.expiring", checks: "a certificate expiring within 45 (low), 14 (medium) or 7 days (high), or expired, with what uses it" },
    RuleInfo { id: "acm.validation", checks: "a certificate whose validation failed, timed out or is pending" },
    RuleInfo { id: "exposure.public-policy", checks: "a bucket policy that allows principal `*`" },
    RuleInfo { id: "exposure.public-acl", checks: "a bucket ACL granting AllUsers or AuthenticatedUsers" },
    RuleInfo { id: "exposure.public-access-block-off", checks: "a bucket without its public access block, or with part of it off" },
    RuleInfo { id: "exposure.website-without-cloudfront", checks: "a website bucket that no CloudFront distribution serves (plain HTTP, no TLS)" },
    RuleInfo { id: "secrets.plaintext", checks: "secret-shaped values in Lambda environments, API Gateway stage variables, CloudFront origin headers and functions, parameters, Apps Script code and local files (by location and fingerprint, never the value)" },
    RuleInfo { id: "iam.unused-access-key", checks: "an active access key unused for more than 45 days" },
    RuleInfo { id: "iam.old-access-key", checks: "an active access key older than 90 days" },
    RuleInfo { id: "iam.admin-policy", checks: "a policy allowing `*` on `*`" },
    RuleInfo { id: "iam.open-trust", checks: "a role whose trust policy allows principal `*`" },
    RuleInfo { id: "hygiene.deprecated-runtime", checks: "a Lambda function on a deprecated runtime" },
    RuleInfo { id: "hygiene.function-without-trigger", checks: "a Lambda function nothing invokes: no event source, resource policy, URL, API integration, bucket notification or CloudFront association" },
    RuleInfo { id: "hygiene.prod-bucket-unencrypted", checks: "a prod bucket without default encryption" },
    RuleInfo { id: "hygiene.prod-bucket-unversioned", checks: "a prod bucket without versioning" },
    RuleInfo { id: "hygiene.table-without-pitr", checks: "a DynamoDB table without point-in-time recovery" },
    RuleInfo { id: "hygiene.empty-zone", checks: "a hosted zone with nothing but its SOA and NS records" },
];

/// Every rule over `e`; `earlier` (oldest first) tells which DNS targets "were ours".
pub fn evaluate(e: &Estate, earlier: &[Estate]) -> Vec<Hit> {
    let past: Vec<(String, BTreeSet<String>)> = earlier
        .iter()
        .map(|p| (p.name.clone(), footprint(p)))
        .collect();
    evaluate_with(e, &past)
}

/// [`evaluate`] with the earlier snapshots' footprints ([`footprint`]) already made.
pub fn evaluate_with(e: &Estate, past: &[(String, BTreeSet<String>)]) -> Vec<Hit> {
    let mut out = Vec::new();
    out.extend(wiring::cross_env(e));
    out.extend(wiring::origin_buckets_missing(e));
    out.extend(dns::dangling(e, past));
    out.extend(hygiene::certificates(e));
    out.extend(exposure::buckets(e));
    out.extend(secrets::plaintext(e));
    out.extend(iam::access_keys(e));
    out.extend(iam::policies(e));
    out.extend(hygiene::functions(e));
    out.extend(hygiene::buckets(e));
    out.extend(hygiene::tables(e));
    out.extend(hygiene::zones(e));
    out.sort_by_cached_key(Hit::id);
    out.dedup_by(|a, b| a.rule == b.rule && a.resource == b.resource);
    out
}

/// What DNS can point at in a snapshot, as keys `cf:<domain>`, `s3:<bucket>`,
/// `apigw:<target domain or api id>`, `elb:<load balancer DNS name>`, `eb:<environment CNAME>`.
pub fn footprint(e: &Estate) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for d in e.of_kind("aws.cloudfront.distribution") {
        if let Some(n) = d.str("/DomainName") {
            out.insert(format!("cf:{}", n.to_ascii_lowercase()));
        }
    }
    for b in e.of_kind("aws.s3.bucket") {
        out.insert(format!("s3:{}", b.id.id));
    }
    for d in e.of_kind("aws.apigateway.domain_name") {
        for t in apigw_targets(d) {
            out.insert(format!("apigw:{t}"));
        }
    }
    for k in ["aws.apigateway.rest_api", "aws.apigatewayv2.api"] {
        for a in e.of_kind(k) {
            out.insert(format!("apigw:{}", a.id.id.to_ascii_lowercase()));
        }
    }
    for lb in e.of_kind("aws.elbv2.load_balancer") {
        if let Some(n) = lb.str("/DNSName") {
            out.insert(format!(
                "elb:{}",
                n.trim_end_matches('.').to_ascii_lowercase()
            ));
        }
    }
    for env in e.of_kind("aws.elasticbeanstalk.environment") {
        if let Some(n) = env.str("/CNAME") {
            out.insert(format!(
                "eb:{}",
                n.trim_end_matches('.').to_ascii_lowercase()
            ));
        }
    }
    out
}

/// The host names an API Gateway custom domain's DNS record may point at.
pub(crate) fn apigw_targets(d: &Res) -> Vec<String> {
    let mut out = Vec::new();
    for p in ["/v1/regionalDomainName", "/v1/distributionDomainName"] {
        if let Some(s) = d.str(p) {
            out.push(s.trim_end_matches('.').to_ascii_lowercase());
        }
    }
    for c in d.arr("/v2/DomainNameConfigurations") {
        if let Some(s) = c.get("ApiGatewayDomainName").and_then(Value::as_str) {
            out.push(s.trim_end_matches('.').to_ascii_lowercase());
        }
    }
    out
}

/// The buckets a distribution's origins read from: (origin index, bucket, origin path).
pub(crate) fn origin_buckets(d: &Res) -> Vec<(usize, String, String)> {
    d.arr("/DistributionConfig/Origins/Items")
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            let host = o.get("DomainName")?.as_str()?;
            let (b, _) = bucket_of_host(host)?;
            let path = o
                .get("OriginPath")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            Some((i, b, path))
        })
        .collect()
}

/// Every string of a document with its pointer (from the root).
pub fn strings_pub<'a>(v: &'a Value, out: &mut Vec<(String, &'a str)>) {
    strings(v, &mut String::new(), out)
}

/// Every string of a document with its pointer.
pub(crate) fn strings<'a>(v: &'a Value, at: &mut String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::String(s) => out.push((at.clone(), s.as_str())),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let len = at.len();
                at.push('/');
                at.push_str(&i.to_string());
                strings(x, at, out);
                at.truncate(len);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                let len = at.len();
                at.push('/');
                at.push_str(&k.replace('~', "~0").replace('/', "~1"));
                strings(x, at, out);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

pub(crate) fn hit(
    rule: &'static str,
    severity: Severity,
    r: &Res,
    title: String,
    evidence: Vec<Evidence>,
    action: &str,
) -> Hit {
    Hit {
        rule,
        severity,
        resource: r.id.clone(),
        label: r.label.clone(),
        title,
        evidence,
        action: action.to_string(),
    }
}

/// Whole days from `from` to `to` (RFC 3339 or ISO dates), negative when `to` is earlier.
pub(crate) fn days_between(from: chrono::DateTime<chrono::Utc>, to: &str) -> Option<i64> {
    let t = parse_time(to)?;
    Some((t - from).num_days())
}

pub(crate) fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    chrono::NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// A statement list of a policy document (a single statement object is a list of one).
pub(crate) fn statements(policy: &Value) -> Vec<&Value> {
    match policy.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(o @ Value::Object(_)) => vec![o],
        _ => Vec::new(),
    }
}

/// Is `v` `"*"`, or a list holding `"*"`?
pub(crate) fn is_star(v: Option<&Value>) -> bool {
    match v {
        Some(Value::String(s)) => s == "*",
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some("*")),
        _ => false,
    }
}

/// Does a statement's principal allow anyone: `"*"`, `{"AWS": "*"}` (or a list with it)?
pub(crate) fn principal_anyone(st: &Value) -> bool {
    match st.get("Principal") {
        Some(Value::String(s)) => s == "*",
        Some(Value::Object(m)) => is_star(m.get("AWS")),
        _ => false,
    }
}

pub(crate) fn allows(st: &Value) -> bool {
    st.get("Effect").and_then(Value::as_str) == Some("Allow")
}
