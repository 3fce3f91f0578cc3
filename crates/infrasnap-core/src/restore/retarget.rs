//! Restoring into another account or region: where each resource of the snapshot lands
//! ([`place`]), which members of its document name the source account or region and become the
//! target's ([`rewrites`], listed in the plan step by step, applied by the writers with
//! [`apply`]), and what `--to-region` does not apply to ([`region_note`]). All pure.
//!
//! A resource keeps its name; its id carries the target account (every AWS kind) and the target
//! region (regional kinds only: IAM, Route53 and CloudFront are global, and an S3 bucket's id has
//! no region, its document's `region` says where it is created).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::select::{Target, BUCKET};
use crate::catalog::kinds::{self, Scope};
use crate::ids::ResourceId;

/// One member of a document rewritten for the target: a JSON pointer, the snapshot's string and
/// what is written instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rewrite {
    pub field: String,
    pub from: String,
    pub to: String,
}

/// The scope of a kind (`Local` for a kind the catalog does not know).
fn scope(kind: &str) -> Scope {
    kinds::spec(kind).map(|s| s.scope).unwrap_or(Scope::Local)
}

/// Where the resource `id` of the snapshot lands: the target account for AWS kinds, the target
/// region for regional kinds that have one. The name is left to `--to-bucket` / `--to-table`.
pub fn place(target: &Target, id: &ResourceId) -> ResourceId {
    let mut t = id.clone();
    let sc = scope(&id.kind);
    if sc == Scope::Local {
        return t;
    }
    if let Some(a) = &target.to_account {
        t.account = a.clone();
    }
    if let Some(r) = &target.to_region {
        if sc == Scope::Regional && !id.region.is_empty() {
            t.region = r.clone();
        }
    }
    t
}

/// Whether a restore goes to another account or region.
pub fn moves(target: &Target) -> bool {
    target.to_account.is_some() || target.to_region.is_some()
}

/// Why `--to-region` does not apply to a kind, if it does not.
pub fn region_note(target: &Target, kind: &str) -> Option<String> {
    let r = target.to_region.as_deref()?;
    match (kind, scope(kind)) {
        ("aws.acm.certificate", _) => Some(format!(
            "--to-region {r}: a certificate CloudFront uses must be in us-east-1, whatever the \
             target region; request or import it there"
        )),
        (_, Scope::Account) => Some(format!(
            "--to-region {r} does not apply to {kind}: it is global (one per account), restored \
             account-wide"
        )),
        _ => None,
    }
}

/// The members of `doc` (the snapshot's document of `from`, restored as `to`) that name the
/// source account or region and must name the target's: ARNs with the source account (a
/// function's role, a bucket policy's principal, a table's stream), the bare account id (a
/// policy principal or condition), and for regional kinds ARNs with the source region. An S3
/// bucket's `/region` becomes the target region.
pub fn rewrites(doc: &Value, from: &ResourceId, to: &ResourceId, target: &Target) -> Vec<Rewrite> {
    let acct = (from.account != to.account && !from.account.is_empty())
        .then_some((from.account.as_str(), to.account.as_str()));
    let region = (from.region != to.region && !from.region.is_empty())
        .then_some((from.region.as_str(), to.region.as_str()));
    let mut out = Vec::new();
    if from.kind == BUCKET {
        if let (Some(r), Some(src)) = (&target.to_region, doc.get("region").and_then(Value::as_str))
        {
            if src != r {
                out.push(Rewrite {
                    field: "/region".into(),
                    from: src.into(),
                    to: r.clone(),
                });
            }
        }
    }
    if acct.is_none() && region.is_none() {
        return out;
    }
    let mut strings = Vec::new();
    crate::findings::rules::strings_pub(doc, &mut strings);
    for (at, s) in strings {
        if at == "/region" && from.kind == BUCKET {
            continue;
        }
        let n = rewrite_str(s, acct, region);
        if n != s {
            out.push(Rewrite {
                field: at,
                from: s.to_string(),
                to: n,
            });
        }
    }
    out
}

/// Put the rewrites in place (a member whose value is no longer `from` is left alone).
pub fn apply(doc: &mut Value, rewrites: &[Rewrite]) {
    for r in rewrites {
        if let Some(v) = doc.pointer_mut(&r.field) {
            if v.as_str() == Some(r.from.as_str()) {
                *v = Value::String(r.to.clone());
            }
        }
    }
}

/// Services whose ARNs have no region, or whose resources stay where they are whatever the
/// target region (CloudFront's certificates in us-east-1).
const REGIONLESS: &[&str] = &["iam", "sts", "s3", "cloudfront", "route53", "acm"];

/// `s` with every ARN naming the source account (and, given, the source region) naming the
/// target's, and a bare source account id (the whole string, or quoted inside JSON text)
/// replaced.
fn rewrite_str(s: &str, acct: Option<(&str, &str)>, region: Option<(&str, &str)>) -> String {
    if let Some((src, dst)) = acct {
        if s == src {
            return dst.to_string();
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("arn:") {
        out.push_str(&rest[..i]);
        let arn = &rest[i..];
        let f: Vec<&str> = arn.splitn(6, ':').collect();
        let plausible = f.len() == 6
            && is_word(f[1])
            && is_word(f[2])
            && (f[3].is_empty() || is_word(f[3]))
            && (f[4].is_empty() || f[4].len() == 12 && f[4].bytes().all(|b| b.is_ascii_digit()));
        if !plausible {
            out.push_str("arn:");
            rest = &arn[4..];
            continue;
        }
        let mut reg = f[3].to_string();
        if let Some((src, dst)) = region {
            if reg == src && !REGIONLESS.contains(&f[2]) {
                reg = dst.to_string();
            }
        }
        let mut acc = f[4].to_string();
        if let Some((src, dst)) = acct {
            if acc == src {
                acc = dst.to_string();
            }
        }
        out.push_str(&format!("arn:{}:{}:{reg}:{acc}:", f[1], f[2]));
        // "arn:" partition ":" service ":" region ":" account ":"
        let consumed = 4 + f[1].len() + 1 + f[2].len() + 1 + f[3].len() + 1 + f[4].len() + 1;
        rest = &arn[consumed..];
    }
    out.push_str(rest);
    if let Some((src, dst)) = acct {
        if out.trim_start().starts_with('{') || out.trim_start().starts_with('[') {
            out = out.replace(&format!("\"{src}\""), &format!("\"{dst}\""));
        }
    }
    out
}

fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    const SRC: &str = "111111111111";
    const DST: &str = "222222222222";

    fn t(account: Option<&str>, region: Option<&str>) -> Target {
        Target {
            to_account: account.map(str::to_string),
            to_region: region.map(str::to_string),
            ..Default::default()
        }
    }

    #[rstest]
    #[case(
        "aws.lambda.function:111111111111:us-east-1:f",
        Some(DST),
        Some("eu-west-1"),
        "aws.lambda.function:222222222222:eu-west-1:f"
    )]
    #[case(
        "aws.iam.role:111111111111::r",
        Some(DST),
        Some("eu-west-1"),
        "aws.iam.role:222222222222::r"
    )]
    #[case(
        "aws.s3.bucket:111111111111::media",
        None,
        Some("eu-west-1"),
        "aws.s3.bucket:111111111111::media"
    )]
    #[case(
        "aws.dynamodb.table:111111111111:us-east-1:t",
        None,
        Some("eu-west-1"),
        "aws.dynamodb.table:111111111111:eu-west-1:t"
    )]
    #[case(
        "local.folder:::notes",
        Some(DST),
        Some("eu-west-1"),
        "local.folder:::notes"
    )]
    fn resources_land_in_the_target_account_and_region(
        #[case] id: &str,
        #[case] account: Option<&str>,
        #[case] region: Option<&str>,
        #[case] want: &str,
    ) {
        let id: ResourceId = id.parse().unwrap();
        assert_eq!(place(&t(account, region), &id).to_string(), want);
    }

    #[rstest]
    #[case(
        "arn:aws:iam::111111111111:role/app",
        "arn:aws:iam::222222222222:role/app"
    )]
    #[case("111111111111", "222222222222")]
    #[case(
        "arn:aws:dynamodb:us-east-1:111111111111:table/t/stream/2026",
        "arn:aws:dynamodb:eu-west-1:222222222222:table/t/stream/2026"
    )]
    #[case(
        "arn:aws:acm:us-east-1:111111111111:certificate/x",
        "arn:aws:acm:us-east-1:222222222222:certificate/x"
    )]
    #[case(
        "arn:aws:iam::333333333333:role/other",
        "arn:aws:iam::333333333333:role/other"
    )]
    #[case(
        "{\"Principal\":{\"AWS\":\"111111111111\"},\"Resource\":\"arn:aws:s3:::b/*\"}",
        "{\"Principal\":{\"AWS\":\"222222222222\"},\"Resource\":\"arn:aws:s3:::b/*\"}"
    )]
    #[case("not an arn: 111111111111 in text", "not an arn: 111111111111 in text")]
    #[case("arn:", "arn:")]
    fn arns_naming_the_source_name_the_target(#[case] s: &str, #[case] want: &str) {
        assert_eq!(
            rewrite_str(s, Some((SRC, DST)), Some(("us-east-1", "eu-west-1"))),
            want
        );
    }

    #[test]
    fn each_rewrite_is_listed_and_applied() {
        let doc = json!({
            "FunctionName": "f",
            "Role": "arn:aws:iam::111111111111:role/app",
            "Environment": {"Variables": {"QUEUE": "arn:aws:sqs:us-east-1:111111111111:q", "X": "1"}},
        });
        let from: ResourceId = "aws.lambda.function:111111111111:us-east-1:f"
            .parse()
            .unwrap();
        let target = t(Some(DST), None);
        let to = place(&target, &from);
        let rw = rewrites(&doc, &from, &to, &target);
        assert_eq!(
            rw.iter().map(|r| r.field.as_str()).collect::<Vec<_>>(),
            ["/Environment/Variables/QUEUE", "/Role"]
        );
        let mut d = doc.clone();
        apply(&mut d, &rw);
        assert_eq!(d["Role"], "arn:aws:iam::222222222222:role/app");
        assert_eq!(d["Environment"]["Variables"]["X"], "1");
        // Same place: nothing.
        assert!(rewrites(&doc, &from, &from, &Target::default()).is_empty());
    }

    #[test]
    fn a_bucket_is_created_in_the_target_region() {
        let doc = json!({"name": "media", "region": "us-east-1"});
        let from: ResourceId = "aws.s3.bucket:111111111111::media".parse().unwrap();
        let target = t(None, Some("eu-west-1"));
        let rw = rewrites(&doc, &from, &place(&target, &from), &target);
        assert_eq!(
            rw,
            [Rewrite {
                field: "/region".into(),
                from: "us-east-1".into(),
                to: "eu-west-1".into()
            }]
        );
    }

    #[rstest]
    #[case("aws.iam.role", true)]
    #[case("aws.route53.record_set", true)]
    #[case("aws.cloudfront.distribution", true)]
    #[case("aws.acm.certificate", true)]
    #[case("aws.dynamodb.table", false)]
    #[case("aws.s3.bucket", false)]
    fn the_region_does_not_apply_to_global_kinds(#[case] kind: &str, #[case] note: bool) {
        assert_eq!(
            region_note(&t(None, Some("eu-west-1")), kind).is_some(),
            note,
            "{kind}"
        );
        assert!(region_note(&Target::default(), kind).is_none());
    }
}
