//! Hygiene: certificates, Lambda runtimes and triggers, prod buckets, tables, empty zones.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{days_between, hit, strings};
use crate::findings::estate::{env_of, Estate};
use crate::findings::{Evidence, Hit, Severity};

/// Lambda runtimes past their deprecation date (AWS's runtime table, December 2026).
pub const DEPRECATED_RUNTIMES: &[&str] = &[
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "python3.9",
    "nodejs",
    "nodejs4.3",
    "nodejs4.3-edge",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "nodejs18.x",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet5.0",
    "dotnet6",
    "dotnet7",
    "ruby2.5",
    "ruby2.7",
    "ruby3.2",
    "java8",
    "go1.x",
    "provided",
];

pub fn certificates(e: &Estate) -> Vec<Hit> {
    let mut out = Vec::new();
    for c in e.of_kind("aws.acm.certificate") {
        let arn = c.str("/CertificateArn").unwrap_or_default();
        let domain = c.str("/DomainName").unwrap_or(&c.id.id);
        // What uses it: ACM's own list, distributions and API Gateway domains naming it.
        let mut users: Vec<Evidence> = c
            .arr("/InUseBy")
            .iter()
            .enumerate()
            .map(|(i, u)| Evidence::at(format!("/InUseBy/{i}"), u.clone()))
            .collect();
        if !arn.is_empty() {
            for r in e
                .of_kind("aws.cloudfront.distribution")
                .chain(e.of_kind("aws.apigateway.domain_name"))
            {
                let mut found = Vec::new();
                strings(&r.doc, &mut String::new(), &mut found);
                for (p, s) in found {
                    if s == arn {
                        users.push(Evidence::of(&r.id, p, s));
                    }
                }
            }
        }
        let status = c.str("/Status").unwrap_or("");
        if status == "ISSUED" {
            if let Some(days) = c.str("/NotAfter").and_then(|t| days_between(e.as_of, t)) {
                let sev = match days {
                    d if d <= 7 => Some(Severity::High),
                    d if d <= 14 => Some(Severity::Medium),
                    d if d <= 45 => Some(Severity::Low),
                    _ => None,
                };
                if let Some(sev) = sev {
                    let mut ev = vec![Evidence::at("/NotAfter", c.str("/NotAfter").unwrap_or(""))];
                    let n_users = users.len();
                    ev.extend(users.clone());
                    out.push(hit(
                        "acm.expiring",
                        sev,
                        c,
                        if days < 0 {
                            format!("certificate for `{domain}` expired {} days ago (used by {n_users})", -days)
                        } else {
                            format!("certificate for `{domain}` expires in {days} days (used by {n_users})")
                        },
                        ev,
                        "Renew it: for an ACM-issued certificate, fix what blocks managed renewal \
                         (the DNS validation record, or the domain no longer in use); an imported \
                         one must be re-imported before it expires.",
                    ));
                }
            }
        }
        let mut ev = Vec::new();
        if ["PENDING_VALIDATION", "FAILED", "VALIDATION_TIMED_OUT"].contains(&status) {
            ev.push(Evidence::at("/Status", status));
            if let Some(r) = c.str("/FailureReason") {
                ev.push(Evidence::at("/FailureReason", r));
            }
        }
        for (i, d) in c.arr("/DomainValidationOptions").iter().enumerate() {
            let v = d
                .get("ValidationStatus")
                .and_then(Value::as_str)
                .unwrap_or("");
            if v == "FAILED" || (v == "PENDING_VALIDATION" && status == "ISSUED") {
                ev.push(Evidence::at(
                    format!("/DomainValidationOptions/{i}/ValidationStatus"),
                    v,
                ));
            }
        }
        if !ev.is_empty() {
            out.push(hit(
                "acm.validation",
                Severity::Medium,
                c,
                format!("certificate for `{domain}` is not validated ({status})"),
                ev,
                "Create the DNS validation records ACM lists (in Route53: \"Create records in \
                 Route 53\"), or delete a request nobody needs.",
            ));
        }
    }
    out
}

pub fn functions(e: &Estate) -> Vec<Hit> {
    let mut out = Vec::new();
    // Functions other resources invoke: bucket notifications, API integrations, CloudFront
    // associations (any string naming the function's ARN).
    let mut invoked: BTreeSet<String> = BTreeSet::new();
    for r in &e.resources {
        if r.id.kind == "aws.lambda.function" {
            continue;
        }
        if !matches!(
            r.id.kind.as_str(),
            "aws.s3.bucket"
                | "aws.apigateway.rest_api"
                | "aws.apigatewayv2.api"
                | "aws.cloudfront.distribution"
                | "aws.dynamodb.table"
                | "aws.ses.configuration_set"
        ) {
            continue;
        }
        let mut found = Vec::new();
        strings(&r.doc, &mut String::new(), &mut found);
        for (_, s) in found {
            if let Some(rest) = s.split(":function:").nth(1) {
                invoked.insert(rest.split([':', '/']).next().unwrap_or("").to_string());
            }
        }
    }
    for f in e.of_kind("aws.lambda.function") {
        if let Some(rt) = f.str("/Configuration/Runtime") {
            if DEPRECATED_RUNTIMES.contains(&rt) {
                out.push(hit(
                    "hygiene.deprecated-runtime",
                    Severity::Medium,
                    f,
                    format!("function `{}` runs on deprecated runtime `{rt}`", f.id.id),
                    vec![Evidence::at("/Configuration/Runtime", rt)],
                    "Move the function to a supported runtime (test it on the new one first); a \
                     deprecated runtime gets no security patches and can no longer be updated.",
                ));
            }
        }
        let non_empty = |p: &str| {
            f.doc
                .pointer(p)
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        };
        let has_policy = !super::statements(f.doc.get("Policy").unwrap_or(&Value::Null)).is_empty();
        if !non_empty("/EventSourceMappings")
            && !non_empty("/FunctionUrlConfigs")
            && !has_policy
            && !invoked.contains(&f.id.id)
        {
            out.push(hit(
                "hygiene.function-without-trigger",
                Severity::Low,
                f,
                format!("function `{}` has no trigger", f.id.id),
                vec![
                    Evidence::at(
                        "/EventSourceMappings",
                        f.doc
                            .get("EventSourceMappings")
                            .cloned()
                            .unwrap_or(json!([])),
                    ),
                    Evidence::at(
                        "/Policy",
                        f.doc.get("Policy").cloned().unwrap_or(Value::Null),
                    ),
                ],
                "If nothing calls it (no schedule, no SDK caller), delete it; if something does, \
                 suppress this finding and say what.",
            ));
        }
    }
    out
}

pub fn buckets(e: &Estate) -> Vec<Hit> {
    let mut out = Vec::new();
    for b in e.of_kind("aws.s3.bucket") {
        if !env_of(b, &[]).is_some_and(|x| x.is_prod()) {
            continue;
        }
        if b.str("/config/encryption/state") == Some("absent") {
            out.push(hit(
                "hygiene.prod-bucket-unencrypted",
                Severity::Medium,
                b,
                format!("prod bucket `{}` has no default encryption", b.id.id),
                vec![Evidence::at("/config/encryption/state", "absent")],
                "Turn on default encryption (SSE-S3, or SSE-KMS with a bucket key).",
            ));
        }
        let vs = b.str("/config/versioning/value/Status");
        let state = b.str("/config/versioning/state");
        if state == Some("absent") || (state == Some("present") && vs != Some("Enabled")) {
            out.push(hit(
                "hygiene.prod-bucket-unversioned",
                Severity::Medium,
                b,
                format!("prod bucket `{}` is not versioned", b.id.id),
                vec![Evidence::at(
                    "/config/versioning",
                    b.doc
                        .pointer("/config/versioning")
                        .cloned()
                        .unwrap_or(Value::Null),
                )],
                "Turn versioning on (with a lifecycle rule expiring old versions): an overwrite \
                 or delete can then be undone.",
            ));
        }
    }
    out
}

pub fn tables(e: &Estate) -> Vec<Hit> {
    let mut out = Vec::new();
    for t in e.of_kind("aws.dynamodb.table") {
        let p = "/ContinuousBackups/PointInTimeRecoveryDescription/PointInTimeRecoveryStatus";
        let Some(st) = t.str(p) else { continue };
        if st != "ENABLED" {
            let prod = env_of(t, &[]).is_some_and(|x| x.is_prod());
            out.push(hit(
                "hygiene.table-without-pitr",
                if prod {
                    Severity::Medium
                } else {
                    Severity::Low
                },
                t,
                format!("table `{}` has no point-in-time recovery", t.id.id),
                vec![Evidence::at(p, st)],
                "Turn on point-in-time recovery: a bad write or delete can then be rolled back \
                 to any second of the last 35 days.",
            ));
        }
    }
    out
}

pub fn zones(e: &Estate) -> Vec<Hit> {
    let mut out = Vec::new();
    if !e.listed_whole("aws.route53.record_set") {
        return out;
    }
    for z in e.of_kind("aws.route53.zone") {
        let zone_name = z
            .str("/HostedZone/Name")
            .or(z.label.as_deref())
            .unwrap_or("")
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let prefix = format!("{}/", z.id.id);
        let useful = e
            .of_kind("aws.route53.record_set")
            .filter(|r| r.id.account == z.id.account && r.id.id.starts_with(&prefix))
            .any(|r| {
                let ty = r.str("/Type").unwrap_or("");
                let name = r
                    .str("/Name")
                    .unwrap_or("")
                    .trim_end_matches('.')
                    .to_ascii_lowercase();
                !(ty == "SOA" || (ty == "NS" && name == zone_name))
            });
        if !useful {
            out.push(hit(
                "hygiene.empty-zone",
                Severity::Low,
                z,
                format!("hosted zone `{zone_name}` has no records but its SOA and NS"),
                vec![Evidence::at(
                    "/HostedZone/ResourceRecordSetCount",
                    z.doc
                        .pointer("/HostedZone/ResourceRecordSetCount")
                        .cloned()
                        .unwrap_or(Value::Null),
                )],
                "Delete the zone if the domain is not used (it costs money monthly), or check \
                 that its records were not lost.",
            ));
        }
    }
    out
}
