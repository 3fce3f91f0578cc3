//! Public exposure of buckets.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{allows, hit, origin_buckets, principal_anyone, statements};
use crate::findings::estate::Estate;
use crate::findings::{Evidence, Hit, Severity};

pub fn buckets(e: &Estate) -> Vec<Hit> {
    let served: BTreeSet<String> = e
        .of_kind("aws.cloudfront.distribution")
        .flat_map(|d| origin_buckets(d).into_iter().map(|(_, b, _)| b))
        .collect();
    let cf_whole = e.listed_whole("aws.cloudfront.distribution");
    let mut out = Vec::new();
    for b in e.of_kind("aws.s3.bucket") {
        let name = &b.id.id;
        // Policy with principal `*`.
        if b.str("/config/policy/state") == Some("present") {
            if let Some(pol) = b.doc.pointer("/config/policy/value") {
                let mut ev = Vec::new();
                let mut conditional = true;
                for (i, st) in statements(pol).into_iter().enumerate() {
                    if allows(st) && principal_anyone(st) {
                        let at = if pol.get("Statement").is_some_and(Value::is_array) {
                            format!("/config/policy/value/Statement/{i}")
                        } else {
                            "/config/policy/value/Statement".to_string()
                        };
                        ev.push(Evidence::at(
                            format!("{at}/Principal"),
                            st.get("Principal").cloned().unwrap_or(Value::Null),
                        ));
                        ev.push(Evidence::at(
                            format!("{at}/Action"),
                            st.get("Action").cloned().unwrap_or(Value::Null),
                        ));
                        if st.get("Condition").is_none() {
                            conditional = false;
                        } else {
                            ev.push(Evidence::at(
                                format!("{at}/Condition"),
                                st.get("Condition").cloned().unwrap_or(Value::Null),
                            ));
                        }
                    }
                }
                if !ev.is_empty() {
                    out.push(hit(
                        "exposure.public-policy",
                        if conditional { Severity::Medium } else { Severity::High },
                        b,
                        format!("bucket `{name}` has a policy that allows anyone (`*`)"),
                        ev,
                        "Serve public content through CloudFront with an origin access control \
                         and allow only the distribution in the policy; remove `\"Principal\": \"*\"`.",
                    ));
                }
            }
        }
        // ACL grants to everyone.
        let mut ev = Vec::new();
        for (i, g) in b.arr("/config/acl/value/Grants").iter().enumerate() {
            let uri = g
                .pointer("/Grantee/URI")
                .and_then(Value::as_str)
                .unwrap_or("");
            if uri.ends_with("/global/AllUsers") || uri.ends_with("/global/AuthenticatedUsers") {
                ev.push(Evidence::at(
                    format!("/config/acl/value/Grants/{i}/Grantee/URI"),
                    uri,
                ));
                ev.push(Evidence::at(
                    format!("/config/acl/value/Grants/{i}/Permission"),
                    g.get("Permission").cloned().unwrap_or(Value::Null),
                ));
            }
        }
        if !ev.is_empty() {
            out.push(hit(
                "exposure.public-acl",
                Severity::High,
                b,
                format!("bucket `{name}` grants access to everyone in its ACL"),
                ev,
                "Remove the AllUsers/AuthenticatedUsers grants, set Object Ownership to \
                 BucketOwnerEnforced (ACLs off) and turn the public access block on.",
            ));
        }
        // Public access block.
        match b.str("/config/public_access_block/state") {
            Some("absent") => out.push(hit(
                "exposure.public-access-block-off",
                Severity::Low,
                b,
                format!("bucket `{name}` has no public access block"),
                vec![Evidence::at("/config/public_access_block/state", "absent")],
                "Turn on all four public access block settings (and the account-level block), \
                 unless the bucket must be public; then suppress this finding with a reason.",
            )),
            Some("present") => {
                let base = "/config/public_access_block/value/PublicAccessBlockConfiguration";
                let off: Vec<Evidence> = [
                    "BlockPublicAcls",
                    "IgnorePublicAcls",
                    "BlockPublicPolicy",
                    "RestrictPublicBuckets",
                ]
                .iter()
                .filter(|k| b.doc.pointer(&format!("{base}/{k}")) != Some(&json!(true)))
                .map(|k| Evidence::at(format!("{base}/{k}"), false))
                .collect();
                if !off.is_empty() {
                    out.push(hit(
                        "exposure.public-access-block-off",
                        Severity::Low,
                        b,
                        format!("bucket `{name}` has part of its public access block off"),
                        off,
                        "Turn on all four public access block settings, unless the bucket must \
                         be public; then suppress this finding with a reason.",
                    ));
                }
            }
            _ => {}
        }
        // Website without CloudFront.
        if cf_whole
            && b.str("/config/website/state") == Some("present")
            && b.doc
                .pointer("/config/website/value/RedirectAllRequestsTo")
                .is_none()
            && !served.contains(name)
        {
            out.push(hit(
                "exposure.website-without-cloudfront",
                Severity::Low,
                b,
                format!("website bucket `{name}` is not served through CloudFront"),
                vec![Evidence::at(
                    "/config/website/value",
                    b.doc
                        .pointer("/config/website/value")
                        .cloned()
                        .unwrap_or(Value::Null),
                )],
                "Serve the site through a CloudFront distribution (HTTPS, a private bucket with \
                 an origin access control) and turn the website endpoint off.",
            ));
        }
    }
    out
}
