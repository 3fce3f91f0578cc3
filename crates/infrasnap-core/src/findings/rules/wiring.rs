//! Cross-environment wiring, and CloudFront origins on buckets that are not there.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{hit, origin_buckets, strings};
use crate::findings::estate::{env_of, Env, Estate, Res};
use crate::findings::{Evidence, Hit, Severity};

const CROSS_ENV_ACTION: &str = "Give the non-prod environment its own resource (bucket, table, \
function) and point it there; a deploy or test run against it can overwrite or delete \
production data. If the sharing is intended, make it read-only and suppress this finding with a \
reason.";

/// The environment of a distribution: tags, id, then aliases and comment.
fn distribution_env(d: &Res) -> Option<Env> {
    let mut extra: Vec<&str> = d
        .arr("/DistributionConfig/Aliases/Items")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if let Some(c) = d.str("/DistributionConfig/Comment") {
        extra.push(c);
    }
    env_of(d, &extra)
}

fn function_env(f: &Res) -> Option<Env> {
    let aliases: Vec<&str> = f
        .arr("/Aliases")
        .iter()
        .filter_map(|a| a.get("Name").and_then(Value::as_str))
        .collect();
    // Aliases name versions (`live`, `staging`) of one function: only the name and tags decide,
    // and aliases only when they all agree on a non-prod word.
    env_of(f, &[]).or_else(|| {
        let envs: Vec<Env> = aliases
            .iter()
            .filter_map(|a| crate::findings::estate::env_in_text(a))
            .collect();
        (!envs.is_empty() && envs.iter().all(|e| !e.is_prod()) && envs.len() == aliases.len())
            .then(|| envs[0].clone())
    })
}

fn api_env(a: &Res) -> Option<Env> {
    let extra: Vec<&str> = [a.str("/restApi/name"), a.str("/Api/Name")]
        .into_iter()
        .flatten()
        .collect();
    env_of(a, &extra)
}

/// Prod resources by the names other resources use for them.
struct Prod<'a> {
    buckets: BTreeMap<String, &'a Res>,
    tables: BTreeMap<String, &'a Res>,
    functions: BTreeMap<String, &'a Res>,
    apis: BTreeMap<String, &'a Res>,
}

fn prod(e: &Estate) -> Prod<'_> {
    // A bucket is prod by its own name or tags, or because a prod distribution serves it without
    // a non-prod origin path.
    let mut served_prod = std::collections::BTreeSet::new();
    for d in e.of_kind("aws.cloudfront.distribution") {
        if distribution_env(d).is_some_and(|x| x.is_prod()) {
            for (_, b, path) in origin_buckets(d) {
                if crate::findings::estate::env_in_text(&path).is_none_or(|x| x.is_prod()) {
                    served_prod.insert(b);
                }
            }
        }
    }
    let mut p = Prod {
        buckets: BTreeMap::new(),
        tables: BTreeMap::new(),
        functions: BTreeMap::new(),
        apis: BTreeMap::new(),
    };
    for b in e.of_kind("aws.s3.bucket") {
        let env = env_of(b, &[]);
        if env.as_ref().is_some_and(Env::is_prod)
            || (env.is_none() && served_prod.contains(&b.id.id))
        {
            p.buckets.insert(b.id.id.clone(), b);
        }
    }
    for t in e.of_kind("aws.dynamodb.table") {
        if env_of(t, &[]).is_some_and(|x| x.is_prod()) {
            p.tables.insert(t.id.id.clone(), t);
        }
    }
    for f in e.of_kind("aws.lambda.function") {
        if function_env(f).is_some_and(|x| x.is_prod()) {
            p.functions.insert(f.id.id.clone(), f);
        }
    }
    for k in ["aws.apigateway.rest_api", "aws.apigatewayv2.api"] {
        for a in e.of_kind(k) {
            if api_env(a).is_some_and(|x| x.is_prod()) {
                p.apis.insert(a.id.id.to_ascii_lowercase(), a);
            }
        }
    }
    p
}

/// The prod resources an ARN or host name in `s` names.
fn named<'a>(s: &str, p: &Prod<'a>) -> Vec<&'a Res> {
    let mut out = Vec::new();
    let lower = s.to_ascii_lowercase();
    if let Some(rest) = s.split("arn:aws:s3:::").nth(1) {
        let b = rest.split(['/', '"', ' ']).next().unwrap_or("");
        out.extend(p.buckets.get(b).copied());
    }
    if let Some(rest) = s.split(":table/").nth(1) {
        let t = rest.split(['/', '"', ' ']).next().unwrap_or("");
        if s.contains("arn:aws:dynamodb:") {
            out.extend(p.tables.get(t).copied());
        }
    }
    if let Some(rest) = s.split(":function:").nth(1) {
        let f = rest.split([':', '/', '"', ' ']).next().unwrap_or("");
        if s.contains("arn:aws:lambda:") {
            out.extend(p.functions.get(f).copied());
        }
    }
    if let Some(i) = lower.find(".execute-api.") {
        let head = &lower[..i];
        let id = head.rsplit(['/', '.']).next().unwrap_or(head);
        out.extend(p.apis.get(id).copied());
    }
    out
}

pub fn cross_env(e: &Estate) -> Vec<Hit> {
    let p = prod(e);
    // The markers prod names would have, made once: a redacted value equal to one of them is
    // that name.
    let mut markers: BTreeMap<String, &Res> = BTreeMap::new();
    if let Some(fp) = e.fingerprinter.as_ref() {
        for (n, b) in &p.buckets {
            markers.insert(fp.marker(n.as_bytes()), b);
            markers.insert(fp.marker(format!("arn:aws:s3:::{n}").as_bytes()), b);
        }
        for (n, t) in &p.tables {
            markers.insert(fp.marker(n.as_bytes()), t);
            if let Some(arn) = t.str("/TableArn") {
                markers.insert(fp.marker(arn.as_bytes()), t);
            }
        }
    }
    let mut out = Vec::new();
    let consumers = e.resources.iter().filter_map(|r| {
        let env = match r.id.kind.as_str() {
            "aws.cloudfront.distribution" => distribution_env(r),
            "aws.lambda.function" => function_env(r),
            "aws.apigateway.rest_api" | "aws.apigatewayv2.api" => api_env(r),
            _ => return None,
        }?;
        match env {
            Env::NonProd(w) => Some((r, w)),
            Env::Prod => None,
        }
    });
    for (r, word) in consumers {
        let mut ev: Vec<Evidence> = Vec::new();
        let mut targets: Vec<String> = Vec::new();
        let mut add = |ev: &mut Vec<Evidence>, target: &Res, e1: Evidence| {
            if !targets.contains(&target.id.id) {
                targets.push(target.id.id.clone());
            }
            ev.push(e1);
        };
        if r.id.kind == "aws.cloudfront.distribution" {
            for (i, b, path) in origin_buckets(r) {
                if let Some(t) = p.buckets.get(&b).copied() {
                    let at = format!("/DistributionConfig/Origins/Items/{i}");
                    let host = r.str(&format!("{at}/DomainName")).unwrap_or_default();
                    add(&mut ev, t, Evidence::at(format!("{at}/DomainName"), host));
                    if !path.is_empty() {
                        ev.push(Evidence::at(format!("{at}/OriginPath"), path.clone()));
                    }
                    ev.push(Evidence::of(&t.id, "", json!("prod bucket")));
                }
            }
        }
        // ARNs and endpoints anywhere in the document (integrations, triggers, Lambda@Edge).
        let mut found = Vec::new();
        strings(&r.doc, &mut String::new(), &mut found);
        for (ptr, s) in found {
            if ptr.starts_with("/Versions/") || ptr.starts_with("/DistributionConfig/Origins/") {
                continue;
            }
            for t in named(s, &p) {
                if t.id == r.id {
                    continue;
                }
                add(&mut ev, t, Evidence::at(ptr.clone(), s));
            }
        }
        // Environment variables whose (redacted) value is a prod table's or bucket's name.
        if let Some(Value::Object(vars)) = r.doc.pointer("/Configuration/Environment/Variables") {
            for (k, v) in vars {
                let Some(v) = v.as_str() else { continue };
                if let Some(t) = markers.get(v).copied() {
                    let fpv = v.trim_start_matches("<redacted ").trim_end_matches('>');
                    add(
                        &mut ev,
                        t,
                        Evidence::at(
                            format!("/Configuration/Environment/Variables/{k}"),
                            format!("{fpv} (the name of {})", t.id),
                        ),
                    );
                }
            }
        }
        if targets.is_empty() {
            continue;
        }
        let what = r.id.kind.rsplit('.').next().unwrap_or("resource");
        out.push(hit(
            "wiring.cross-env",
            Severity::High,
            r,
            format!(
                "{word} {what} `{}` uses prod {}",
                r.name(),
                targets
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ev,
            CROSS_ENV_ACTION,
        ));
    }
    out
}

/// CloudFront origins on buckets that are not in the snapshot, or in another captured account.
pub fn origin_buckets_missing(e: &Estate) -> Vec<Hit> {
    let s3_whole = e.listed_whole("aws.s3.bucket");
    let buckets: BTreeMap<&str, &Res> = e
        .of_kind("aws.s3.bucket")
        .map(|b| (b.id.id.as_str(), b))
        .collect();
    let mut out = Vec::new();
    for d in e.of_kind("aws.cloudfront.distribution") {
        let mut ev = Vec::new();
        let mut sev = None;
        let mut names = Vec::new();
        for (i, b, _) in origin_buckets(d) {
            let at = format!("/DistributionConfig/Origins/Items/{i}/DomainName");
            let host = d.str(&at).unwrap_or_default().to_string();
            match buckets.get(b.as_str()) {
                None if s3_whole => {
                    ev.push(Evidence::at(at, host));
                    sev = Some(Severity::High);
                    names.push(format!("`{b}` (not in the snapshot)"));
                }
                Some(bk) if !bk.id.account.is_empty() && bk.id.account != d.id.account => {
                    ev.push(Evidence::at(at, host));
                    ev.push(Evidence::of(&bk.id, "", json!("owned by another account")));
                    sev = sev.max(Some(Severity::Medium));
                    names.push(format!("`{b}` (account {})", bk.id.account));
                }
                _ => {}
            }
        }
        if let Some(sev) = sev {
            out.push(hit(
                "cloudfront.origin-bucket",
                sev,
                d,
                format!(
                    "distribution `{}` has origins on bucket {}",
                    d.name(),
                    names.join(", ")
                ),
                ev,
                "Remove the origin or recreate the bucket in your account at once: a bucket name \
                 that is free can be created by anyone, who then serves content under your \
                 domain. For a bucket of another account, make sure you control that account.",
            ));
        }
    }
    out
}
