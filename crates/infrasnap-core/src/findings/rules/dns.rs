//! Dangling DNS: Route53 records whose target is not in the snapshot.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{apigw_targets, hit};
use crate::findings::estate::{bucket_of_host, Estate};
use crate::findings::{Evidence, Hit, Severity};

/// What a record points at.
enum Target {
    /// (footprint key, what it is, can anyone claim the name, kind whose listing decides)
    Known(String, &'static str, bool, &'static str),
    /// A target listed per region (load balancers, Elastic Beanstalk): as `Known`, and the
    /// region whose listing decides.
    Regional(String, &'static str, bool, &'static str, String),
}

/// `us-east-1`, `eu-west-2`, `ap-southeast-1`: a region name, not a host label.
fn is_region(s: &str) -> bool {
    s.contains('-') && s.ends_with(|c: char| c.is_ascii_digit()) && !s.contains('.')
}

/// An ELB host name (lowercase, `dualstack.` left off) and its region:
/// `<name>-<id>.<region>.elb.amazonaws.com` (application and classic load balancers) or
/// `<name>-<id>.elb.<region>.amazonaws.com` (network load balancers).
pub(crate) fn elb_of_host(host: &str) -> Option<(String, String)> {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    let h = h.strip_prefix("dualstack.").unwrap_or(&h).to_string();
    if let Some(head) = h.strip_suffix(".elb.amazonaws.com") {
        let (_, region) = head.rsplit_once('.')?;
        return is_region(region).then(|| (h.clone(), region.to_string()));
    }
    let head = h.strip_suffix(".amazonaws.com")?;
    let (front, region) = head.rsplit_once('.')?;
    (front.ends_with(".elb") && is_region(region)).then(|| (h.clone(), region.to_string()))
}

/// An Elastic Beanstalk CNAME (lowercase) and its region: `<prefix>.<region>.elasticbeanstalk.com`,
/// or the older `<prefix>.elasticbeanstalk.com` of us-east-1.
pub(crate) fn beanstalk_of_host(host: &str) -> Option<(String, String)> {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    let head = h.strip_suffix(".elasticbeanstalk.com")?;
    let region = match head.rsplit_once('.') {
        Some((_, r)) if is_region(r) => r.to_string(),
        _ => "us-east-1".to_string(),
    };
    Some((h.clone(), region))
}

fn classify(record_name: &str, target: &str, alias: bool) -> Option<Target> {
    let t = target.trim_end_matches('.').to_ascii_lowercase();
    if t.ends_with(".cloudfront.net") {
        return Some(Target::Known(
            format!("cf:{t}"),
            "CloudFront distribution",
            false,
            "aws.cloudfront.distribution",
        ));
    }
    if let Some((h, region)) = beanstalk_of_host(&t) {
        return Some(Target::Regional(
            format!("eb:{h}"),
            "Elastic Beanstalk environment",
            true,
            "aws.elasticbeanstalk.environment",
            region,
        ));
    }
    if let Some((h, region)) = elb_of_host(&t) {
        return Some(Target::Regional(
            format!("elb:{h}"),
            "load balancer",
            false,
            "aws.elbv2.load_balancer",
            region,
        ));
    }
    if let Some((b, website)) = bucket_of_host(&t) {
        return Some(Target::Known(
            format!("s3:{b}"),
            if website {
                "S3 website bucket"
            } else {
                "S3 bucket"
            },
            true,
            "aws.s3.bucket",
        ));
    }
    // An alias to an S3 website endpoint names the region's endpoint: the bucket is the record's
    // own name.
    if alias && t.starts_with("s3-website") && t.ends_with(".amazonaws.com") {
        let b = record_name.trim_end_matches('.').to_ascii_lowercase();
        return Some(Target::Known(
            format!("s3:{b}"),
            "S3 website bucket",
            true,
            "aws.s3.bucket",
        ));
    }
    if let Some(i) = t.find(".execute-api.") {
        let head = &t[..i];
        if head.starts_with("d-") {
            return Some(Target::Known(
                format!("apigw:{t}"),
                "API Gateway domain name",
                false,
                "aws.apigateway.domain_name",
            ));
        }
        return Some(Target::Known(
            format!("apigw:{head}"),
            "API Gateway API",
            false,
            "aws.apigateway.rest_api",
        ));
    }
    None
}

pub fn dangling(e: &Estate, past: &[(String, BTreeSet<String>)]) -> Vec<Hit> {
    let mut here = super::footprint(e);
    // Edge-optimized API Gateway domains point at CloudFront names of their own.
    for d in e.of_kind("aws.apigateway.domain_name") {
        for t in apigw_targets(d) {
            here.insert(format!("cf:{t}"));
        }
    }
    let mut out = Vec::new();
    for r in e.of_kind("aws.route53.record_set") {
        let name = r.str("/Name").unwrap_or_default();
        let (ptr, target, alias) = if let Some(t) = r.str("/AliasTarget/DNSName") {
            ("/AliasTarget/DNSName".to_string(), t, true)
        } else if r.str("/Type") == Some("CNAME") {
            match r
                .arr("/ResourceRecords")
                .first()
                .and_then(|v| v.get("Value"))
            {
                Some(Value::String(s)) => {
                    ("/ResourceRecords/0/Value".to_string(), s.as_str(), false)
                }
                _ => continue,
            }
        } else {
            continue;
        };
        let (key, what, claimable) = match classify(name, target, alias) {
            Some(Target::Known(key, what, claimable, kind)) => {
                if here.contains(&key) || !e.listed_whole(kind) {
                    continue;
                }
                // API ids: either kind of API may hold it.
                if kind == "aws.apigateway.rest_api"
                    && key.strip_prefix("apigw:").is_some_and(|id| {
                        e.of_kind("aws.apigatewayv2.api")
                            .any(|a| a.id.id.eq_ignore_ascii_case(id))
                    })
                {
                    continue;
                }
                (key, what, claimable)
            }
            Some(Target::Regional(key, what, claimable, kind, region)) => {
                if here.contains(&key) {
                    continue;
                }
                match e.listed_in_region(kind, &region) {
                    // A listing of that region failed: nothing can be called missing.
                    Some(false) => continue,
                    Some(true) => (key, what, claimable),
                    None => {
                        out.push(hit(
                            "dns.unverified",
                            Severity::Low,
                            r,
                            format!(
                                "`{}` points at {what} `{}` in {region}, which this snapshot did \
                                 not list",
                                name.trim_end_matches('.'),
                                target.trim_end_matches('.')
                            ),
                            vec![Evidence::at(ptr, target)],
                            if claimable {
                                "Capture the region (`--regions`, Elastic Beanstalk included) or \
                                 check that the environment exists: a freed Elastic Beanstalk \
                                 name can be claimed by anyone, who then serves content under \
                                 your domain."
                            } else {
                                "Capture the region (`--regions`, load balancers included) or \
                                 check that the load balancer exists."
                            },
                        ));
                        continue;
                    }
                }
            }
            None => continue,
        };
        let was = past
            .iter()
            .rev()
            .find(|(_, fp)| fp.contains(&key))
            .map(|(n, _)| n.clone());
        let severity = if claimable {
            Severity::High
        } else if was.is_some() {
            Severity::Medium
        } else {
            Severity::Low
        };
        let mut ev = vec![Evidence::at(ptr, target)];
        if let Some(w) = &was {
            ev.push(Evidence::at(
                "",
                format!("was ours: the {what} was in snapshot `{w}`"),
            ));
        }
        out.push(hit(
            "dns.dangling",
            severity,
            r,
            format!(
                "`{}` points at {what} `{}`, which is not in the snapshot{}",
                name.trim_end_matches('.'),
                target.trim_end_matches('.'),
                if was.is_some() { " (it was ours)" } else { "" }
            ),
            ev,
            match what {
                "Elastic Beanstalk environment" => {
                    "Delete the record, or create an environment with that CNAME prefix in your \
                     account now: anyone can create an Elastic Beanstalk environment of that \
                     name and serve content under your domain."
                }
                "load balancer" => {
                    "Delete the record or point it at a live load balancer; a name nobody serves \
                     breaks the site. (Classic load balancers are not captured: if the target is \
                     one, suppress this finding.)"
                }
                _ if claimable => {
                    "Delete the record, or recreate the bucket in your account now: anyone can \
                     create a bucket of that name and serve content under your domain."
                }
                _ => {
                    "Delete the record or point it at a live target; a name nobody serves breaks \
                     the site, and a freed CloudFront or API alias can be attached by another \
                     account."
                }
            },
        ));
    }
    out
}
