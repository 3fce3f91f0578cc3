//! CloudFront restore of origin access identities, public keys and key groups, and the id
//! mappings that follow them: snapshot → delete or alter live → `restore plan -o plan.json`
//! (asserted) → `restore apply` → snapshot again → `diff`.
//!
//! - A distribution deleted with its origin access identity, key group and public key is made
//!   again in stage order (public key → key group and identity → distribution); each gets a new
//!   id, and the references follow: the key group holds the new public key, the distribution's
//!   S3 origin names the new identity and its behavior trusts the new key group. The identity's
//!   step says which bucket policy still grants the old one. A second plan has nothing to do.
//! - An identity and a key group changed live are updated with If-Match (the ETag a Get gave
//!   just before), extra ones are deleted with `--delete-extra`; `diff` is then empty.
//! - A CloudFront Function changed and published live gets both stages back (UpdateFunction,
//!   PublishFunction, UpdateFunction; If-Match and bodies asserted), and an origin request
//!   policy changed live is updated with If-Match: moto has no UpdateFunction (500),
//!   PublishFunction (404) or origin request policies (404), so the proxy holds them.
//!
//! What moto 5.2.5 lacks, and the proxy in front of it stands in for (the product's calls go to
//! it unchanged, as to CloudFront):
//! - origin access identities: every call answers 404, so the proxy holds them (List, Create,
//!   Get, GetConfig, Update and Delete, If-Match checked);
//! - key groups: UpdateKeyGroup and DeleteKeyGroup answer 500 (GetKeyGroupConfig 404), so the
//!   proxy holds key groups too;
//! - distributions: moto keeps an origin's S3OriginConfig but drops it from what it answers, so
//!   the proxy records it from CreateDistribution / UpdateDistribution bodies and puts it back in
//!   GetDistribution(Config) answers.
//!
//! Public keys are moto's (Create, Get, List and Delete work; it drops a key's Comment and has no
//! UpdatePublicKey, so a public key updated in place is not exercised here).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_cloudfront::types::{
    CloudFrontOriginAccessIdentityConfig, DistributionConfig, KeyGroupConfig, Origin, Origins,
    PublicKeyConfig, S3OriginConfig, TrustedKeyGroups,
};
use aws_sdk_cloudfront::Client;
use serde_json::{json, Value};

use crate::common;
use common::*;

const ACCOUNT: &str = "123456789012";
const NS: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";
const OAI_PATH: &str = "/2020-05-31/origin-access-identity/cloudfront";
const KG_PATH: &str = "/2020-05-31/key-group";
const PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END PUBLIC KEY-----\n";

fn cf_id(kind: &str, id: &str) -> String {
    format!("aws.cloudfront.{kind}:{ACCOUNT}::{id}")
}

/// The text of the first `<tag>` element of `xml` (the root may carry attributes).
fn el(xml: &str, tag: &str) -> Option<String> {
    els(xml, tag).into_iter().next()
}

fn els(xml: &str, tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    let close = format!("</{tag}>");
    while let Some(p) = rest.find(&format!("<{tag}")) {
        let after = &rest[p + tag.len() + 1..];
        if !(after.starts_with('>') || after.starts_with(' ')) {
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        let body = &after[gt + 1..];
        let Some(end) = body.find(&close) else { break };
        out.push(body[..end].to_string());
        rest = &body[end + close.len()..];
    }
    out
}

/// A request the proxy saw: method, path, If-Match, body.
#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    if_match: Option<String>,
    body: String,
}

#[derive(Default)]
struct Oai {
    reference: String,
    comment: String,
    etag: String,
}

#[derive(Default)]
struct KeyGroup {
    name: String,
    items: Vec<String>,
    comment: String,
    etag: String,
}

/// What the proxy holds for moto.
#[derive(Default)]
struct State {
    n: u32,
    oais: BTreeMap<String, Oai>,
    key_groups: BTreeMap<String, KeyGroup>,
    /// A distribution's `<S3OriginConfig>` element, by distribution id.
    s3_origin: BTreeMap<String, String>,
    log: Vec<Req>,
}

impl State {
    fn next(&mut self, prefix: &str) -> String {
        self.n += 1;
        format!("{prefix}{:012}", self.n)
    }
}

fn oai_xml(id: &str, o: &Oai) -> String {
    format!(
        "<CloudFrontOriginAccessIdentity xmlns=\"{NS}\"><Id>{id}</Id><S3CanonicalUserId>canonical{id}</S3CanonicalUserId><CloudFrontOriginAccessIdentityConfig><CallerReference>{}</CallerReference><Comment>{}</Comment></CloudFrontOriginAccessIdentityConfig></CloudFrontOriginAccessIdentity>",
        o.reference, o.comment
    )
}

fn kg_inner(id: &str, k: &KeyGroup) -> String {
    let items: String = k
        .items
        .iter()
        .map(|i| format!("<PublicKey>{i}</PublicKey>"))
        .collect();
    format!(
        "<Id>{id}</Id><LastModifiedTime>2024-01-01T00:00:00Z</LastModifiedTime><KeyGroupConfig><Name>{}</Name><Items>{items}</Items><Comment>{}</Comment></KeyGroupConfig>",
        k.name, k.comment
    )
}

fn xml_ok(status: u16, etag: Option<&str>, body: String) -> Canned {
    Canned {
        status,
        content_type: "text/xml",
        extra_headers: etag.map(|e| format!("ETag: {e}\r\n")).unwrap_or_default(),
        body,
    }
}

fn error(status: u16, code: &str) -> Canned {
    Canned {
        status,
        content_type: "text/xml",
        extra_headers: String::new(),
        body: format!(
            "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{code}</Message></Error><RequestId>stub-1</RequestId></ErrorResponse>"
        ),
    }
}

/// The stand-in's answer for origin access identity and key group calls.
fn stand_in(s: &mut State, r: &Seen) -> Option<Canned> {
    let path = r.path.split('?').next().unwrap_or_default().to_string();
    let body = String::from_utf8_lossy(&r.body).to_string();
    let if_match = r.header("if-match").map(str::to_string);
    let precondition = |etag: &str| if_match.as_deref() != Some(etag);
    if let Some(rest) = path.strip_prefix(OAI_PATH) {
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        return Some(match (r.method.as_str(), parts.as_slice()) {
            ("GET", []) => {
                let items: String = s
                    .oais
                    .iter()
                    .map(|(id, o)| format!("<CloudFrontOriginAccessIdentitySummary><Id>{id}</Id><S3CanonicalUserId>canonical{id}</S3CanonicalUserId><Comment>{}</Comment></CloudFrontOriginAccessIdentitySummary>", o.comment))
                    .collect();
                xml_ok(200, None, format!(
                    "<CloudFrontOriginAccessIdentityList xmlns=\"{NS}\"><Marker></Marker><MaxItems>100</MaxItems><IsTruncated>false</IsTruncated><Quantity>{}</Quantity><Items>{items}</Items></CloudFrontOriginAccessIdentityList>",
                    s.oais.len()
                ))
            }
            ("POST", []) => {
                let reference = el(&body, "CallerReference").unwrap_or_default();
                let comment = el(&body, "Comment").unwrap_or_default();
                // The same CallerReference and config: the identity made then.
                if let Some((id, o)) = s.oais.iter().find(|(_, o)| o.reference == reference) {
                    return Some(if o.comment == comment {
                        xml_ok(201, Some(&o.etag), oai_xml(id, o))
                    } else {
                        error(409, "CloudFrontOriginAccessIdentityAlreadyExists")
                    });
                }
                let id = s.next("E");
                let etag = s.next("T");
                let o = Oai {
                    reference,
                    comment,
                    etag: etag.clone(),
                };
                let x = oai_xml(&id, &o);
                s.oais.insert(id, o);
                xml_ok(201, Some(&etag), x)
            }
            (m, [id, tail @ ..]) => {
                let id = id.to_string();
                let Some(o) = s.oais.get(&id) else {
                    return Some(error(404, "NoSuchCloudFrontOriginAccessIdentity"));
                };
                match (m, tail) {
                    ("GET", []) => xml_ok(200, Some(&o.etag), oai_xml(&id, o)),
                    ("GET", ["config"]) => xml_ok(200, Some(&o.etag), format!(
                        "<CloudFrontOriginAccessIdentityConfig xmlns=\"{NS}\"><CallerReference>{}</CallerReference><Comment>{}</Comment></CloudFrontOriginAccessIdentityConfig>",
                        o.reference, o.comment
                    )),
                    ("PUT", ["config"]) => {
                        if precondition(&o.etag) {
                            return Some(error(412, "PreconditionFailed"));
                        }
                        if el(&body, "CallerReference").as_deref() != Some(o.reference.as_str()) {
                            return Some(error(400, "IllegalUpdate"));
                        }
                        let etag = s.next("T");
                        let o = s.oais.get_mut(&id).unwrap();
                        o.comment = el(&body, "Comment").unwrap_or_default();
                        o.etag = etag.clone();
                        xml_ok(200, Some(&etag), oai_xml(&id, o))
                    }
                    ("DELETE", []) => {
                        if precondition(&o.etag) {
                            return Some(error(412, "PreconditionFailed"));
                        }
                        s.oais.remove(&id);
                        xml_ok(204, None, String::new())
                    }
                    _ => error(400, "InvalidArgument"),
                }
            }
            _ => error(400, "InvalidArgument"),
        });
    }
    if let Some(rest) = path.strip_prefix(KG_PATH) {
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        let parse = |b: &str| KeyGroup {
            name: el(b, "Name").unwrap_or_default(),
            items: els(b, "PublicKey"),
            comment: el(b, "Comment").unwrap_or_default(),
            etag: String::new(),
        };
        return Some(match (r.method.as_str(), parts.as_slice()) {
            ("GET", []) => {
                let items: String = s
                    .key_groups
                    .iter()
                    .map(|(id, k)| {
                        format!(
                            "<KeyGroupSummary><KeyGroup>{}</KeyGroup></KeyGroupSummary>",
                            kg_inner(id, k)
                        )
                    })
                    .collect();
                xml_ok(200, None, format!(
                    "<KeyGroupList xmlns=\"{NS}\"><MaxItems>100</MaxItems><Quantity>{}</Quantity><Items>{items}</Items></KeyGroupList>",
                    s.key_groups.len()
                ))
            }
            ("POST", []) => {
                let mut k = parse(&body);
                if s.key_groups.values().any(|g| g.name == k.name) {
                    return Some(error(409, "KeyGroupAlreadyExists"));
                }
                let id = s.next("kg-");
                k.etag = s.next("T");
                let x = format!("<KeyGroup xmlns=\"{NS}\">{}</KeyGroup>", kg_inner(&id, &k));
                let etag = k.etag.clone();
                s.key_groups.insert(id, k);
                xml_ok(201, Some(&etag), x)
            }
            (m, [id, tail @ ..]) => {
                let id = id.to_string();
                let Some(k) = s.key_groups.get(&id) else {
                    return Some(error(404, "NoSuchResource"));
                };
                match (m, tail) {
                    ("GET", []) => xml_ok(
                        200,
                        Some(&k.etag),
                        format!("<KeyGroup xmlns=\"{NS}\">{}</KeyGroup>", kg_inner(&id, k)),
                    ),
                    ("PUT", []) => {
                        if precondition(&k.etag) {
                            return Some(error(412, "PreconditionFailed"));
                        }
                        let mut new = parse(&body);
                        new.etag = s.next("T");
                        let x = format!(
                            "<KeyGroup xmlns=\"{NS}\">{}</KeyGroup>",
                            kg_inner(&id, &new)
                        );
                        let etag = new.etag.clone();
                        s.key_groups.insert(id, new);
                        xml_ok(200, Some(&etag), x)
                    }
                    ("DELETE", []) => {
                        if precondition(&k.etag) {
                            return Some(error(412, "PreconditionFailed"));
                        }
                        s.key_groups.remove(&id);
                        xml_ok(204, None, String::new())
                    }
                    _ => error(400, "InvalidArgument"),
                }
            }
            _ => error(400, "InvalidArgument"),
        });
    }
    None
}

/// moto's distribution answers, with the S3OriginConfig it dropped put back (one S3 origin a
/// distribution, as in these tests).
fn keep_s3_origin(s: &mut State, r: &Seen, a: &mut Answer) {
    let path = r.path.split('?').next().unwrap_or_default();
    let Some(rest) = path.strip_prefix("/2020-05-31/distribution") else {
        return;
    };
    let body = String::from_utf8_lossy(&r.body).to_string();
    let answer = String::from_utf8_lossy(&a.body).to_string();
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let fragment =
        || el(&body, "S3OriginConfig").map(|x| format!("<S3OriginConfig>{x}</S3OriginConfig>"));
    match (r.method.as_str(), parts.as_slice()) {
        ("POST", []) => {
            if let (Some(id), Some(f)) = (el(&answer, "Id"), fragment()) {
                s.s3_origin.insert(id, f);
            }
        }
        ("PUT", [id, "config"]) => match fragment() {
            Some(f) => {
                s.s3_origin.insert(id.to_string(), f);
            }
            None => {
                s.s3_origin.remove(*id);
            }
        },
        ("GET", [id] | [id, "config"]) => {
            let Some(f) = s.s3_origin.get(*id) else {
                return;
            };
            if answer.contains("<S3OriginConfig>") {
                return;
            }
            let Some(o) = answer.find("<Origins>") else {
                return;
            };
            let Some(d) = answer[o..].find("</DomainName>") else {
                return;
            };
            let at = o + d + "</DomainName>".len();
            a.body = format!("{}{f}{}", &answer[..at], &answer[at..]).into_bytes();
        }
        _ => {}
    }
}

/// The proxy in front of moto, and what it holds.
async fn proxy(moto: &str) -> (String, Arc<Mutex<State>>) {
    let state: Arc<Mutex<State>> = Arc::default();
    let (s1, s2) = (state.clone(), state.clone());
    let url = rewrite_proxy(
        moto,
        move |r| {
            let mut s = s1.lock().unwrap();
            s.log.push(Req {
                method: r.method.clone(),
                path: r.path.clone(),
                if_match: r.header("if-match").map(str::to_string),
                body: String::from_utf8_lossy(&r.body).to_string(),
            });
            stand_in(&mut s, r)
        },
        move |r, a| keep_s3_origin(&mut s2.lock().unwrap(), r, a),
    )
    .await;
    (url, state)
}

fn distribution(oai: &str, key_group: &str) -> DistributionConfig {
    let behavior = behavior_to("site")
        .trusted_key_groups(
            TrustedKeyGroups::builder()
                .enabled(true)
                .quantity(1)
                .items(key_group)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let origin = Origin::builder()
        .id("site")
        .domain_name("site-bucket.s3.amazonaws.com")
        .s3_origin_config(
            S3OriginConfig::builder()
                .origin_access_identity(format!("origin-access-identity/cloudfront/{oai}"))
                .build(),
        )
        .build()
        .unwrap();
    DistributionConfig::builder()
        .caller_reference("site")
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .unwrap(),
        )
        .default_cache_behavior(behavior)
        .comment("signed downloads")
        .enabled(true)
        .build()
        .unwrap()
}

async fn create_public_key(c: &Client, name: &str) -> String {
    let k = c
        .create_public_key()
        .public_key_config(
            PublicKeyConfig::builder()
                .caller_reference(name)
                .name(name)
                .encoded_key(PEM)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    k.public_key().unwrap().id().to_string()
}

async fn create_key_group(c: &Client, name: &str, keys: &[&str]) -> String {
    let g = c
        .create_key_group()
        .key_group_config(
            KeyGroupConfig::builder()
                .name(name)
                .set_items(Some(keys.iter().map(|k| k.to_string()).collect()))
                .comment("signed URLs")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    g.key_group().unwrap().id().to_string()
}

async fn create_oai(c: &Client, reference: &str, comment: &str) -> String {
    let o = c
        .create_cloud_front_origin_access_identity()
        .cloud_front_origin_access_identity_config(
            CloudFrontOriginAccessIdentityConfig::builder()
                .caller_reference(reference)
                .comment(comment)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    o.cloud_front_origin_access_identity()
        .unwrap()
        .id()
        .to_string()
}

async fn delete_oai(c: &Client, id: &str) {
    let e = c
        .get_cloud_front_origin_access_identity()
        .id(id)
        .send()
        .await
        .unwrap();
    c.delete_cloud_front_origin_access_identity()
        .id(id)
        .if_match(e.e_tag().unwrap())
        .send()
        .await
        .unwrap();
}

async fn delete_key_group(c: &Client, id: &str) {
    let e = c.get_key_group().id(id).send().await.unwrap();
    c.delete_key_group()
        .id(id)
        .if_match(e.e_tag().unwrap())
        .send()
        .await
        .unwrap();
}

async fn delete_public_key(c: &Client, id: &str) {
    let e = c.get_public_key().id(id).send().await.unwrap();
    c.delete_public_key()
        .id(id)
        .if_match(e.e_tag().unwrap())
        .send()
        .await
        .unwrap();
}

fn snap(repo: &std::path::Path, url: &str, label: &str) {
    snapshot(repo, url, &["--only", "cloudfront,s3", "--label", label]);
}

const KINDS: [&str; 4] = [
    "aws.cloudfront.public_key",
    "aws.cloudfront.key_group",
    "aws.cloudfront.origin_access_identity",
    "aws.cloudfront.distribution",
];

/// `restore plan one --kind ...KINDS ARGS`: the plan's JSON.
fn plan(repo: &std::path::Path, url: &str, args: &[&str]) -> Value {
    let mut a = vec!["one"];
    for k in KINDS {
        a.extend(["--kind", k]);
    }
    a.extend(args);
    restore_plan_ok(repo, url, &a)
}

fn apply(repo: &std::path::Path, url: &str) {
    assert_code(&restore_apply(repo, url, &[]), 0);
}

fn diff_json(repo: &std::path::Path, url: &str, kind: &str) -> (i32, Value) {
    diff_kind(repo, url, "one", "three", kind)
}

fn step<'a>(p: &'a Value, target: &str) -> &'a Value {
    p["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["target"] == target)
        .unwrap_or_else(|| panic!("no step for {target}: {p:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_distribution_is_made_again_with_its_origin_access_identity_and_key_group() {
    let emu = Emulator::start().await.unwrap();
    let (url, state) = proxy(&emu.url()).await;
    let c = Client::new(&sdk_conf(&url, "us-east-1").await);
    let key = create_public_key(&c, "signer").await;
    let group = create_key_group(&c, "signers", &[&key]).await;
    let oai = create_oai(&c, "site-oai", "access to site-bucket").await;
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    create_bucket(&s3, "site-bucket").await;
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity {oai}")},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::site-bucket/*"
    }]});
    s3.put_bucket_policy()
        .bucket("site-bucket")
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    let d = c
        .create_distribution()
        .distribution_config(distribution(&oai, &group))
        .send()
        .await
        .unwrap();
    let dist = d.distribution().unwrap().id().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    snap(&repo, &url, "one");
    // The snapshot holds the references by id.
    let got = c.get_distribution_config().id(&dist).send().await.unwrap();
    let origin = &got
        .distribution_config()
        .unwrap()
        .origins()
        .unwrap()
        .items()[0];
    assert_eq!(
        origin.s3_origin_config().unwrap().origin_access_identity(),
        format!("origin-access-identity/cloudfront/{oai}")
    );
    // All four are deleted.
    delete_distribution(&c, &dist).await;
    delete_key_group(&c, &group).await;
    delete_public_key(&c, &key).await;
    delete_oai(&c, &oai).await;

    let p = plan(&repo, &url, &[]);
    let mut got: Vec<(String, String, u64)> = p["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["action"]["action"].as_str().unwrap().to_string(),
                s["target"].as_str().unwrap().to_string(),
                s["stage"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort_by(|a, b| (a.2, &a.1).cmp(&(b.2, &b.1)));
    assert_eq!(
        got,
        vec![
            ("create".into(), cf_id("public_key", &key), 3),
            ("create".into(), cf_id("key_group", &group), 4),
            ("create".into(), cf_id("origin_access_identity", &oai), 4),
            ("create".into(), cf_id("distribution", &dist), 5),
        ],
        "{p:#}"
    );
    let n = |target: &str| step(&p, target)["n"].clone();
    // The key group's public key, the distribution's identity and key group: by name, with the
    // step that makes each again.
    assert_eq!(
        step(&p, &cf_id("key_group", &group))["refs"],
        json!([{"id": cf_id("public_key", &key), "name": "signer", "step": n(&cf_id("public_key", &key))}])
    );
    let mut refs = step(&p, &cf_id("distribution", &dist))["refs"]
        .as_array()
        .unwrap()
        .clone();
    refs.sort_by_key(|r| r["id"].as_str().unwrap().to_string());
    assert_eq!(
        refs,
        vec![
            json!({"id": cf_id("key_group", &group), "name": "signers", "step": n(&cf_id("key_group", &group))}),
            json!({"id": cf_id("origin_access_identity", &oai), "name": "access to site-bucket", "step": n(&cf_id("origin_access_identity", &oai))}),
        ]
    );
    // The bucket policy that grants the old identity is named.
    let note = step(&p, &cf_id("origin_access_identity", &oai))["note"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        note.contains(&format!("the snapshot's Id was {oai}")),
        "{note}"
    );
    assert!(
        note.contains("the snapshot's bucket policies that name it: site-bucket"),
        "{note}"
    );
    let manual: Vec<String> = p["manual"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["reason"].as_str().unwrap().to_string())
        .collect();
    assert!(
        manual
            .iter()
            .any(|m| m.contains(&format!("origin access identity {oai}"))
                && m.ends_with("site-bucket")),
        "{manual:#?}"
    );

    apply(&repo, &url);
    // New ids, and the references follow them.
    let oais = c
        .list_cloud_front_origin_access_identities()
        .send()
        .await
        .unwrap();
    let oais = oais
        .cloud_front_origin_access_identity_list()
        .unwrap()
        .items();
    assert_eq!(oais.len(), 1);
    let new_oai = oais[0].id().to_string();
    assert_ne!(new_oai, oai);
    assert_eq!(oais[0].comment(), "access to site-bucket");
    let keys = c.list_public_keys().send().await.unwrap();
    let keys = keys.public_key_list().unwrap().items();
    assert_eq!(keys.len(), 1);
    let new_key = keys[0].id().to_string();
    assert_ne!(new_key, key);
    assert_eq!((keys[0].name(), keys[0].encoded_key()), ("signer", PEM));
    let groups = c.list_key_groups().send().await.unwrap();
    let groups = groups.key_group_list().unwrap().items();
    assert_eq!(groups.len(), 1);
    let g = groups[0].key_group().unwrap();
    let new_group = g.id().to_string();
    assert_ne!(new_group, group);
    let cfg = g.key_group_config().unwrap();
    assert_eq!(
        (cfg.name(), cfg.items(), cfg.comment()),
        ("signers", &[new_key.clone()][..], Some("signed URLs"))
    );
    let dists = c.list_distributions().send().await.unwrap();
    let dists = dists.distribution_list().unwrap().items();
    assert_eq!(dists.len(), 1);
    let new_dist = dists[0].id().to_string();
    assert_ne!(new_dist, dist);
    // What CreateDistribution was sent (moto keeps the S3 origin, the proxy shows it back).
    let sent = state
        .lock()
        .unwrap()
        .log
        .iter()
        .filter(|r| r.method == "POST" && r.path.starts_with("/2020-05-31/distribution"))
        .map(|r| r.body.clone())
        .collect::<Vec<_>>();
    let sent = sent.last().unwrap();
    assert_eq!(
        el(sent, "OriginAccessIdentity").as_deref(),
        Some(format!("origin-access-identity/cloudfront/{new_oai}").as_str()),
        "{sent}"
    );
    assert_eq!(els(sent, "KeyGroup"), vec![new_group.clone()], "{sent}");
    let live = c
        .get_distribution_config()
        .id(&new_dist)
        .send()
        .await
        .unwrap();
    let live = live.distribution_config().unwrap();
    assert_eq!(
        live.origins().unwrap().items()[0]
            .s3_origin_config()
            .unwrap()
            .origin_access_identity(),
        format!("origin-access-identity/cloudfront/{new_oai}")
    );
    assert_eq!(
        live.default_cache_behavior()
            .unwrap()
            .trusted_key_groups()
            .unwrap()
            .items(),
        std::slice::from_ref(&new_group)
    );

    // Nothing left to do: each live one is the snapshot's, under its new id.
    let p = plan(&repo, &url, &["--delete-extra"]);
    assert_eq!(steps(&p), Vec::<(String, String)>::new(), "{p:#}");
    assert_eq!(p["summary"]["unchanged"], 4, "{p:#}");

    // `diff` pairs each new id with the old one by content: re-created, naming both.
    snap(&repo, &url, "three");
    for (kind, old, new) in [
        ("public_key", &key, &new_key),
        ("key_group", &group, &new_group),
        ("origin_access_identity", &oai, &new_oai),
        ("distribution", &dist, &new_dist),
    ] {
        let (code, d) = diff_json(&repo, &url, &format!("aws.cloudfront.{kind}"));
        assert_eq!(code, 0, "{d:#}");
        assert_eq!(
            d["counts"],
            json!({"added": 0, "modified": 0, "not_comparable": 0, "recreated": 1, "removed": 0, "unchanged": 0}),
            "{kind}: {d:#}"
        );
        let text = d.to_string();
        assert!(
            text.contains(old.as_str()) && text.contains(new.as_str()),
            "{d:#}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_and_key_groups_changed_live_are_updated_with_if_match() {
    let emu = Emulator::start().await.unwrap();
    let (url, state) = proxy(&emu.url()).await;
    let c = Client::new(&sdk_conf(&url, "us-east-1").await);
    let a = create_public_key(&c, "key-a").await;
    let b = create_public_key(&c, "key-b").await;
    let group = create_key_group(&c, "signers", &[&a]).await;
    let oai = create_oai(&c, "assets-oai", "assets").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    snap(&repo, &url, "one");
    // Live changes: the group holds both keys, the identity's comment is another; a stray
    // identity and public key are added.
    let e = c.get_key_group().id(&group).send().await.unwrap();
    c.update_key_group()
        .id(&group)
        .if_match(e.e_tag().unwrap())
        .key_group_config(
            KeyGroupConfig::builder()
                .name("signers")
                .items(&a)
                .items(&b)
                .comment("rotating")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let e = c
        .get_cloud_front_origin_access_identity_config()
        .id(&oai)
        .send()
        .await
        .unwrap();
    c.update_cloud_front_origin_access_identity()
        .id(&oai)
        .if_match(e.e_tag().unwrap())
        .cloud_front_origin_access_identity_config(
            CloudFrontOriginAccessIdentityConfig::builder()
                .caller_reference("assets-oai")
                .comment("changed by hand")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let stray_oai = create_oai(&c, "stray", "stray").await;
    let stray_key = create_public_key(&c, "stray-key").await;
    snap(&repo, &url, "two");

    let p = plan(&repo, &url, &["--force", "--delete-extra"]);
    let mut got = steps(&p);
    got.sort();
    let mut want = vec![
        (
            "delete".to_string(),
            cf_id("origin_access_identity", &stray_oai),
        ),
        ("delete".to_string(), cf_id("public_key", &stray_key)),
        ("update".to_string(), cf_id("key_group", &group)),
        ("update".to_string(), cf_id("origin_access_identity", &oai)),
    ];
    want.sort();
    assert_eq!(got, want, "{p:#}");
    assert_eq!(
        step(&p, &cf_id("origin_access_identity", &oai))["action"]["fields"],
        json!([{"field": "/Comment", "live": "changed by hand", "snapshot": "assets"}])
    );
    let fields = step(&p, &cf_id("key_group", &group))["action"]["fields"].to_string();
    assert!(
        fields.contains("rotating") && fields.contains(&b),
        "{fields}"
    );

    // The ETags the writer must send: the live ones when it runs.
    let (oai_etag, group_etag, stray_etag) = {
        let s = state.lock().unwrap();
        (
            s.oais[&oai].etag.clone(),
            s.key_groups[&group].etag.clone(),
            s.oais[&stray_oai].etag.clone(),
        )
    };
    let key_etag = c
        .get_public_key()
        .id(&stray_key)
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();
    let before = state.lock().unwrap().log.len();
    apply(&repo, &url);
    let log: Vec<Req> = state.lock().unwrap().log[before..].to_vec();
    let writes: Vec<(String, String, Option<String>)> = log
        .iter()
        .filter(|r| r.method != "GET" && r.path.starts_with("/2020-05-31/"))
        .map(|r| (r.method.clone(), r.path.clone(), r.if_match.clone()))
        .collect();
    let mut writes_sorted = writes.clone();
    writes_sorted.sort();
    let mut want = vec![
        (
            "DELETE".to_string(),
            format!("/2020-05-31/public-key/{stray_key}"),
            Some(key_etag),
        ),
        (
            "DELETE".to_string(),
            format!("{OAI_PATH}/{stray_oai}"),
            Some(stray_etag),
        ),
        (
            "PUT".to_string(),
            format!("{KG_PATH}/{group}"),
            Some(group_etag),
        ),
        (
            "PUT".to_string(),
            format!("{OAI_PATH}/{oai}/config"),
            Some(oai_etag),
        ),
    ];
    want.sort();
    assert_eq!(writes_sorted, want, "{log:#?}");
    let put = |p: &str| {
        log.iter()
            .find(|r| r.method == "PUT" && r.path == p)
            .unwrap()
            .body
            .clone()
    };
    let body = put(&format!("{OAI_PATH}/{oai}/config"));
    assert_eq!(
        body,
        format!("<CloudFrontOriginAccessIdentityConfig xmlns=\"{NS}\"><CallerReference>assets-oai</CallerReference><Comment>assets</Comment></CloudFrontOriginAccessIdentityConfig>"),
        "the live CallerReference, the snapshot's comment"
    );
    let body = put(&format!("{KG_PATH}/{group}"));
    assert_eq!(
        body,
        format!("<KeyGroupConfig xmlns=\"{NS}\"><Name>signers</Name><Items><PublicKey>{a}</PublicKey></Items><Comment>signed URLs</Comment></KeyGroupConfig>")
    );

    snap(&repo, &url, "three");
    for kind in [
        "aws.cloudfront.origin_access_identity",
        "aws.cloudfront.key_group",
        "aws.cloudfront.public_key",
    ] {
        let (code, d) = diff_json(&repo, &url, kind);
        assert_eq!(code, 0, "{kind}: {d:#}");
    }
}

/// One stage of a CloudFront Function the stand-in holds: comment, code, ETag.
#[derive(Clone, Default)]
struct Stage {
    comment: String,
    code: Vec<u8>,
    etag: String,
}

#[derive(Default)]
struct Functions {
    n: u32,
    dev: Stage,
    live: Option<Stage>,
    log: Vec<Req>,
}

fn function_summary(stage: &str, s: &Stage) -> String {
    format!(
        "<Name>rewrite</Name><Status>UNASSOCIATED</Status><FunctionConfig><Comment>{}</Comment><Runtime>cloudfront-js-2.0</Runtime></FunctionConfig><FunctionMetadata><FunctionARN>arn:aws:cloudfront::{ACCOUNT}:function/rewrite</FunctionARN><Stage>{stage}</Stage><CreatedTime>2024-01-01T00:00:00Z</CreatedTime><LastModifiedTime>2024-01-01T00:00:00Z</LastModifiedTime></FunctionMetadata>",
        s.comment
    )
}

/// The stand-in for the CloudFront Function `rewrite` (moto answers UpdateFunction with 500 and
/// PublishFunction with 404): ListFunctions, DescribeFunction, GetFunction, UpdateFunction and
/// PublishFunction, If-Match checked.
fn function_stand_in(f: &mut Functions, r: &Seen) -> Option<Canned> {
    let (path, query) = r.path.split_once('?').unwrap_or((r.path.as_str(), ""));
    let rest = path.strip_prefix("/2020-05-31/function")?;
    let if_match = r.header("if-match").map(str::to_string);
    let live_stage = query.contains("Stage=LIVE");
    let stage = |f: &Functions| {
        if live_stage {
            f.live.clone()
        } else {
            Some(f.dev.clone())
        }
    };
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    Some(match (r.method.as_str(), parts.as_slice()) {
        ("GET", []) => {
            let mut items = format!(
                "<FunctionSummary>{}</FunctionSummary>",
                function_summary("DEVELOPMENT", &f.dev)
            );
            if let Some(l) = &f.live {
                items.push_str(&format!(
                    "<FunctionSummary>{}</FunctionSummary>",
                    function_summary("LIVE", l)
                ));
            }
            xml_ok(
                200,
                None,
                format!(
                    "<FunctionList xmlns=\"{NS}\"><MaxItems>100</MaxItems><Quantity>{}</Quantity><Items>{items}</Items></FunctionList>",
                    1 + usize::from(f.live.is_some())
                ),
            )
        }
        ("GET", ["rewrite"]) => match stage(f) {
            Some(s) => Canned {
                status: 200,
                content_type: "application/octet-stream",
                extra_headers: format!("ETag: {}\r\n", s.etag),
                body: String::from_utf8(s.code).unwrap(),
            },
            None => error(404, "NoSuchFunctionExists"),
        },
        ("GET", ["rewrite", "describe"]) => match stage(f) {
            Some(s) => xml_ok(
                200,
                Some(&s.etag),
                format!(
                    "<FunctionSummary xmlns=\"{NS}\">{}</FunctionSummary>",
                    function_summary(if live_stage { "LIVE" } else { "DEVELOPMENT" }, &s)
                ),
            ),
            None => error(404, "NoSuchFunctionExists"),
        },
        ("PUT", ["rewrite"]) => {
            if if_match.as_deref() != Some(f.dev.etag.as_str()) {
                return Some(error(412, "PreconditionFailed"));
            }
            use base64::Engine;
            let body = String::from_utf8_lossy(&r.body).to_string();
            f.n += 1;
            f.dev = Stage {
                comment: el(&body, "Comment").unwrap_or_default(),
                code: base64::engine::general_purpose::STANDARD
                    .decode(el(&body, "FunctionCode").unwrap_or_default())
                    .unwrap(),
                etag: format!("ETVD{}", f.n),
            };
            // CloudFront names this answer's ETag header `ETtag` (so does its model).
            Canned {
                extra_headers: format!("ETtag: {}\r\n", f.dev.etag),
                ..xml_ok(
                    200,
                    None,
                    format!(
                        "<FunctionSummary xmlns=\"{NS}\">{}</FunctionSummary>",
                        function_summary("DEVELOPMENT", &f.dev)
                    ),
                )
            }
        }
        ("POST", ["rewrite", "publish"]) => {
            if if_match.as_deref() != Some(f.dev.etag.as_str()) {
                return Some(error(412, "PreconditionFailed"));
            }
            f.n += 1;
            let live = Stage {
                etag: format!("ETVL{}", f.n),
                ..f.dev.clone()
            };
            let x = format!(
                "<FunctionSummary xmlns=\"{NS}\">{}</FunctionSummary>",
                function_summary("LIVE", &live)
            );
            f.live = Some(live);
            xml_ok(200, None, x)
        }
        _ => error(400, "InvalidArgument"),
    })
}

/// A CloudFront Function whose DEVELOPMENT and LIVE stages were changed live gets both back:
/// UpdateFunction with the snapshot's LIVE code (If-Match from DescribeFunction), PublishFunction
/// (If-Match the ETag that update gave), then UpdateFunction with the snapshot's unpublished
/// DEVELOPMENT code. moto has no UpdateFunction (500) or PublishFunction (404): the proxy holds
/// the function.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_changed_and_published_live_gets_both_stages_back() {
    let emu = Emulator::start().await.unwrap();
    let live_v1 = Stage {
        comment: "adds index.html".into(),
        code: b"function handler(event) { return event.request; }".to_vec(),
        etag: "ETVL0".into(),
    };
    let dev_v2 = Stage {
        comment: "adds index.html (draft)".into(),
        code: b"function handler(event) { /* draft */ return event.request; }".to_vec(),
        etag: "ETVD0".into(),
    };
    let state = Arc::new(Mutex::new(Functions {
        dev: dev_v2.clone(),
        live: Some(live_v1.clone()),
        ..Functions::default()
    }));
    let st = state.clone();
    let url = stub_proxy(&emu.url(), move |r| {
        let mut f = st.lock().unwrap();
        f.log.push(Req {
            method: r.method.clone(),
            path: r.path.clone(),
            if_match: r.header("if-match").map(str::to_string),
            body: String::from_utf8_lossy(&r.body).to_string(),
        });
        function_stand_in(&mut f, r)
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    snap(&repo, &url, "one");
    // Someone deployed other code to both stages.
    {
        let mut f = state.lock().unwrap();
        let other = Stage {
            comment: "hot fix".into(),
            code: b"function handler(event) { return { statusCode: 503 }; }".to_vec(),
            etag: "ETVD9".into(),
        };
        f.live = Some(Stage {
            etag: "ETVL9".into(),
            ..other.clone()
        });
        f.dev = other;
    }
    snap(&repo, &url, "two");
    let file = repo.parent().unwrap().join("plan.json");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "plan",
            "one",
            "--kind",
            "aws.cloudfront.function",
            "--force",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_code(&o, 0);
    let p = read_json(&file);
    assert_eq!(
        steps(&p),
        vec![("update".to_string(), cf_id("function", "rewrite"))]
    );
    let s = &p["steps"][0];
    assert!(
        s["parts"]["code.js"].is_string() && s["parts"]["live.js"].is_string(),
        "{s}"
    );
    let before = state.lock().unwrap().log.len();
    apply(&repo, &url);
    let log: Vec<Req> = state.lock().unwrap().log[before..]
        .iter()
        .filter(|r| r.method != "GET" && r.path.starts_with("/2020-05-31/function"))
        .cloned()
        .collect();
    let calls: Vec<(&str, &str, Option<&str>)> = log
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.if_match.as_deref()))
        .collect();
    assert_eq!(
        calls,
        vec![
            ("PUT", "/2020-05-31/function/rewrite", Some("ETVD9")),
            (
                "POST",
                "/2020-05-31/function/rewrite/publish",
                Some("ETVD1")
            ),
            ("PUT", "/2020-05-31/function/rewrite", Some("ETVD1")),
        ],
        "{log:#?}"
    );
    use base64::Engine;
    let b64 = |c: &[u8]| base64::engine::general_purpose::STANDARD.encode(c);
    let body = |comment: &str, code: &[u8]| {
        format!(
            "<UpdateFunctionRequest xmlns=\"{NS}\"><FunctionCode>{}</FunctionCode><FunctionConfig><Comment>{comment}</Comment><Runtime>cloudfront-js-2.0</Runtime></FunctionConfig></UpdateFunctionRequest>",
            b64(code)
        )
    };
    assert_eq!(log[0].body, body(&live_v1.comment, &live_v1.code));
    assert_eq!(log[2].body, body(&dev_v2.comment, &dev_v2.code));
    {
        let f = state.lock().unwrap();
        assert_eq!(f.live.as_ref().unwrap().code, live_v1.code);
        assert_eq!(f.dev.code, dev_v2.code);
    }
    snap(&repo, &url, "three");
    let (code, d) = diff_json(&repo, &url, "aws.cloudfront.function");
    assert_eq!(code, 0, "{d:#}");
}

const ORP: &str = "<OriginRequestPolicyConfig><Comment>host and auth</Comment><Name>fwd-host</Name><HeadersConfig><HeaderBehavior>whitelist</HeaderBehavior><Headers><Quantity>2</Quantity><Items><Name>Host</Name><Name>Authorization</Name></Items></Headers></HeadersConfig><CookiesConfig><CookieBehavior>none</CookieBehavior></CookiesConfig><QueryStringsConfig><QueryStringBehavior>all</QueryStringBehavior></QueryStringsConfig></OriginRequestPolicyConfig>";

/// An origin request policy changed live is updated with If-Match, its configuration sent back
/// as CloudFront's XML in model order. moto answers 404 to origin request policy calls: the
/// proxy stands in for ListOriginRequestPolicies, GetOriginRequestPolicy and
/// UpdateOriginRequestPolicy with one policy whose state the test holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_request_policy_changed_live_is_updated_with_if_match() {
    let emu = Emulator::start().await.unwrap();
    // (config XML, ETag number, PUTs seen: If-Match and body)
    type Policy = (String, u32, Vec<(Option<String>, String)>);
    let state: Arc<Mutex<Policy>> = Arc::new(Mutex::new((ORP.to_string(), 1, Vec::new())));
    let st = state.clone();
    let url = stub_proxy(&emu.url(), move |r| {
        let mut s = st.lock().unwrap();
        let policy = |config: &str| {
            format!("<OriginRequestPolicy><Id>orp-1</Id><LastModifiedTime>2024-01-01T00:00:00Z</LastModifiedTime>{config}</OriginRequestPolicy>")
        };
        if r.method == "GET" && r.path.starts_with("/2020-05-31/origin-request-policy?") {
            return Some(xml_ok(
                200,
                Some(&format!("E{}", s.1)),
                format!(
                    "<OriginRequestPolicyList><MaxItems>100</MaxItems><Quantity>1</Quantity><Items><OriginRequestPolicySummary><Type>custom</Type>{}</OriginRequestPolicySummary></Items></OriginRequestPolicyList>",
                    policy(&s.0)
                ),
            ));
        }
        if r.path == "/2020-05-31/origin-request-policy/orp-1" {
            if r.method == "PUT" {
                let body = String::from_utf8_lossy(&r.body).to_string();
                if r.header("if-match") != Some(format!("E{}", s.1).as_str()) {
                    return Some(error(412, "PreconditionFailed"));
                }
                s.2.push((r.header("if-match").map(str::to_string), body.clone()));
                s.0 = format!(
                    "<OriginRequestPolicyConfig>{}</OriginRequestPolicyConfig>",
                    el(&body, "OriginRequestPolicyConfig").unwrap()
                );
                s.1 += 1;
            }
            return Some(xml_ok(200, Some(&format!("E{}", s.1)), policy(&s.0)));
        }
        None
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    snap(&repo, &url, "one");
    {
        let mut s = state.lock().unwrap();
        s.0 = s.0.replace(
            "<Quantity>2</Quantity><Items><Name>Host</Name><Name>Authorization</Name></Items>",
            "<Quantity>1</Quantity><Items><Name>Host</Name></Items>",
        );
        s.1 += 1;
    }
    snap(&repo, &url, "two");
    let file = repo.parent().unwrap().join("plan.json");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "plan",
            "one",
            "--kind",
            "aws.cloudfront.origin_request_policy",
            "--force",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_code(&o, 0);
    let p = read_json(&file);
    assert_eq!(
        steps(&p),
        vec![(
            "update".to_string(),
            cf_id("origin_request_policy", "orp-1")
        )]
    );
    assert_eq!(p["steps"][0]["stage"], 4);
    let fields = p["steps"][0]["action"]["fields"].to_string();
    assert!(fields.contains("Authorization"), "{fields}");
    apply(&repo, &url);
    let puts = state.lock().unwrap().2.clone();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].0.as_deref(), Some("E2"));
    assert_eq!(
        puts[0].1,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>{}",
            ORP.replacen(
                "<OriginRequestPolicyConfig>",
                &format!("<OriginRequestPolicyConfig xmlns=\"{NS}\">"),
                1
            )
        )
    );
    snap(&repo, &url, "three");
    let (code, d) = diff_json(&repo, &url, "aws.cloudfront.origin_request_policy");
    assert_eq!(code, 0, "{d:#}");
}
