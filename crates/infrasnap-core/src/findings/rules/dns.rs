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
    /// Elastic Beanstalk: not captured, claimable.
    Beanstalk,
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
    if t.ends_with(".elasticbeanstalk.com") {
        return Some(Target::Beanstalk);
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
        match classify(name, target, alias) {
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
                    if claimable {
                        "Delete the record, or recreate the bucket in your account now: anyone \
                         can create a bucket of that name and serve content under your domain."
                    } else {
                        "Delete the record or point it at a live target; a name nobody serves \
                         breaks the site, and a freed CloudFront or API alias can be attached by \
                         another account."
                    },
                ));
            }
            Some(Target::Beanstalk) => out.push(hit(
                "dns.unverified",
                Severity::Low,
                r,
                format!(
                    "`{}` points at Elastic Beanstalk `{}`, which infrasnap does not capture",
                    name.trim_end_matches('.'),
                    target.trim_end_matches('.')
                ),
                vec![Evidence::at(ptr, target)],
                "Check that the environment exists: a freed Elastic Beanstalk name can be \
                 claimed by anyone, who then serves content under your domain.",
            )),
            None => {}
        }
    }
    out
}
