//! CloudFront restore through the real binary against moto: snapshot → alter or delete live →
//! `restore plan` (asserted) → `restore apply` → snapshot again → `diff`.
//!
//! - A distribution altered live (origin, aliases, default root object) is updated with If-Match
//!   (moto does not check If-Match, so a proxy in front of it records the header: it must be the
//!   ETag GetDistributionConfig gave); `diff` is empty.
//! - A deleted distribution: while another live distribution holds its alias, the plan reports
//!   the alias, its holder and the fix, and nothing is written for it; once the alias is free it
//!   is made again (new Id, domain name, CallerReference; restore's verification finds it by
//!   content), the plan names the DNS follow-up, and a second plan has nothing to do.
//! - A deleted CloudFront Function is made again from the snapshot's code (moto: UpdateFunction
//!   answers 500 and PublishFunction 404, so a function altered live, and a LIVE stage, are
//!   exercised against a stand-in in `restore_cloudfront2.rs`).
//! - An origin access control altered live is updated, a deleted one is made again.
//! - A cache policy changed live is updated with If-Match, its XML body asserted byte for byte
//!   (moto answers 404 to every policy call: the proxy stands in for the cache policy calls; an
//!   origin request policy is exercised the same way in `restore_cloudfront2.rs`, the response
//!   headers policy, the same code with other calls, is not).

use std::sync::{Arc, Mutex};

use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::{
    DistributionConfig, FunctionConfig, FunctionRuntime, OriginAccessControlConfig,
    OriginAccessControlOriginTypes, OriginAccessControlSigningBehaviors,
    OriginAccessControlSigningProtocols,
};
use aws_sdk_cloudfront::Client;
use serde_json::Value;

use crate::common;
use common::*;

const ACCOUNT: &str = "123456789012";

/// A request the proxy saw: method, path, If-Match.
type Request = (String, String, Option<String>);

fn cf_id(kind: &str, id: &str) -> String {
    format!("aws.cloudfront.{kind}:{ACCOUNT}::{id}")
}

fn config(reference: &str, aliases: &[&str], origin: &str, root: &str) -> DistributionConfig {
    distribution_config(reference, aliases, origin, root)
}

async fn create(c: &Client, cfg: DistributionConfig) -> (String, String) {
    let d = c
        .create_distribution()
        .distribution_config(cfg)
        .send()
        .await
        .unwrap();
    let d = d.distribution().unwrap();
    (d.id().to_string(), d.domain_name().to_string())
}

fn snap(repo: &std::path::Path, url: &str, label: &str) {
    snapshot(repo, url, &["--only", "cloudfront", "--label", label]);
}

fn plan(repo: &std::path::Path, url: &str, args: &[&str]) -> Value {
    restore_plan_ok(repo, url, args)
}

fn diff_json(repo: &std::path::Path, url: &str, kind: &str) -> (i32, Value) {
    diff_kind(repo, url, "one", "three", kind)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_distribution_altered_live_is_updated_with_if_match() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let c = Client::new(&sdk_conf(&url, "us-east-1").await);
    let (prod, _) = create(
        &c,
        config(
            "prod",
            &["www.example.com"],
            "origin.example.com",
            "index.html",
        ),
    )
    .await;
    create(
        &c,
        config(
            "staging",
            &["staging.example.com"],
            "origin.example.com",
            "index.html",
        ),
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    snap(&repo, &url, "one");
    // A careless change: another origin, one more alias, another root object.
    let got = c.get_distribution_config().id(&prod).send().await.unwrap();
    let mut changed = config(
        "prod",
        &["www.example.com", "new.example.com"],
        "other-origin.example.com",
        "home.html",
    );
    changed.caller_reference = got.distribution_config().unwrap().caller_reference.clone();
    c.update_distribution()
        .id(&prod)
        .if_match(got.e_tag().unwrap())
        .distribution_config(changed)
        .send()
        .await
        .unwrap();
    snap(&repo, &url, "two");

    // 1 of 2 live distributions updated is over the 30% guard: --force.
    let p = plan(
        &repo,
        &url,
        &["one", "--kind", "aws.cloudfront.distribution", "--force"],
    );
    assert_eq!(
        steps(&p),
        vec![("update".to_string(), cf_id("distribution", &prod))]
    );
    let step = &p["steps"][0];
    assert_eq!(step["stage"], 5);
    let fields: Vec<(String, Value, Value)> = step["action"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_string(),
                f["live"].clone(),
                f["snapshot"].clone(),
            )
        })
        .collect();
    let field = |name: &str| {
        fields
            .iter()
            .find(|f| f.0.starts_with(name))
            .unwrap_or_else(|| panic!("no field {name} in {fields:?}"))
            .clone()
    };
    let root = field("/DistributionConfig/DefaultRootObject");
    assert_eq!((root.1, root.2), ("home.html".into(), "index.html".into()));
    assert!(field("/DistributionConfig/Aliases").0.len() > 1);
    let origin = field("/DistributionConfig/Origins");
    assert!(
        origin.1.to_string().contains("other-origin.example.com"),
        "{origin:?}"
    );
    assert!(
        origin.2.to_string().contains("\"origin.example.com\""),
        "{origin:?}"
    );

    // Apply through a proxy that records If-Match.
    let seen: Arc<Mutex<Vec<Request>>> = Arc::default();
    let s2 = seen.clone();
    let proxy = stub_proxy(&url, move |r| {
        s2.lock().unwrap().push((
            r.method.clone(),
            r.path.clone(),
            r.header("if-match").map(str::to_string),
        ));
        None
    })
    .await;
    let etag = c
        .get_distribution_config()
        .id(&prod)
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();
    let plan_file = tmp.path().join("plan.json");
    let o = infrasnap(
        &repo,
        &proxy,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    let puts: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(m, _, _)| m == "PUT")
        .cloned()
        .collect();
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert!(puts[0].1.ends_with(&format!("/distribution/{prod}/config")));
    assert_eq!(puts[0].2.as_deref(), Some(etag.as_str()));
    let live = c.get_distribution_config().id(&prod).send().await.unwrap();
    let live = live.distribution_config().unwrap();
    assert_eq!(live.default_root_object(), Some("index.html"));
    assert_eq!(live.aliases().unwrap().items(), ["www.example.com"]);
    assert_eq!(
        live.caller_reference(),
        "prod",
        "an update keeps the CallerReference"
    );

    snap(&repo, &url, "three");
    let (code, d) = diff_json(&repo, &url, "aws.cloudfront.distribution");
    assert_eq!(code, 0, "{d:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_distribution_is_made_again_once_its_alias_is_free() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let c = Client::new(&sdk_conf(&url, "us-east-1").await);
    let (prod, domain) = create(
        &c,
        config(
            "prod",
            &["www.example.com"],
            "origin.example.com",
            "index.html",
        ),
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    snap(&repo, &url, "one");
    delete_distribution(&c, &prod).await;
    // Someone gave the alias to a new distribution (moto, unlike CloudFront, lets two hold it).
    let (holder, holder_domain) = create(
        &c,
        config(
            "intruder",
            &["www.example.com"],
            "elsewhere.example.com",
            "x.html",
        ),
    )
    .await;

    let p = plan(
        &repo,
        &url,
        &["one", "--kind", "aws.cloudfront.distribution"],
    );
    assert_eq!(steps(&p), Vec::<(String, String)>::new(), "{p:#}");
    let manual = p["manual"].as_array().unwrap();
    assert_eq!(manual.len(), 1, "{manual:?}");
    assert_eq!(manual[0]["id"], cf_id("distribution", &prod));
    let reason = manual[0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "alias www.example.com is held by live distribution {holder} ({holder_domain}); \
             CloudFront gives an alias to one distribution only"
        )),
        "{reason}"
    );
    assert!(
        reason.contains(&format!("Remove the alias from {holder}")),
        "{reason}"
    );
    assert!(
        reason.contains(&format!(
            "associate-alias --target-distribution-id {prod} --alias www.example.com"
        )),
        "{reason}"
    );
    // The text plan says the same; applying it writes nothing.
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "plan",
            "one",
            "--kind",
            "aws.cloudfront.distribution",
        ],
    );
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains(&format!(
            "alias www.example.com is held by live distribution {holder}"
        )),
        "{}",
        stdout(&o)
    );
    let before = c.list_distributions().send().await.unwrap();
    let n_before = before.distribution_list().unwrap().items().len();
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "one",
            "--kind",
            "aws.cloudfront.distribution",
            "--yes",
        ],
    );
    assert_code(&o, 0);
    let after = c.list_distributions().send().await.unwrap();
    assert_eq!(after.distribution_list().unwrap().items().len(), n_before);

    // The alias is free again: the distribution is made again.
    delete_distribution(&c, &holder).await;
    let p = plan(
        &repo,
        &url,
        &["one", "--kind", "aws.cloudfront.distribution"],
    );
    assert_eq!(
        steps(&p),
        vec![("create".to_string(), cf_id("distribution", &prod))]
    );
    let step = &p["steps"][0];
    assert_eq!(step["stage"], 5);
    assert!(
        step["note"]
            .as_str()
            .unwrap()
            .contains(&format!("the snapshot's was {domain}")),
        "{step}"
    );
    let manual = p["manual"].as_array().unwrap();
    assert_eq!(manual.len(), 1, "{manual:?}");
    let follow = manual[0]["reason"].as_str().unwrap();
    assert!(follow.starts_with("follow-up after apply"), "{follow}");
    assert!(follow.contains(&domain), "{follow}");

    let plan_file = tmp.path().join("plan.json");
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    let list = c.list_distributions().send().await.unwrap();
    let items = list.distribution_list().unwrap().items();
    assert_eq!(items.len(), 1);
    let new_id = items[0].id().to_string();
    assert_ne!(new_id, prod);
    let live = c
        .get_distribution_config()
        .id(&new_id)
        .send()
        .await
        .unwrap();
    let live = live.distribution_config().unwrap();
    assert_eq!(live.default_root_object(), Some("index.html"));
    assert_eq!(live.aliases().unwrap().items(), ["www.example.com"]);
    assert!(live.caller_reference().starts_with("infrasnap-restore-"));
    // Applying again makes no second one (the same CallerReference), and a new plan has nothing
    // to do: the live distribution is the snapshot's, under its new id.
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    let p = plan(
        &repo,
        &url,
        &[
            "one",
            "--kind",
            "aws.cloudfront.distribution",
            "--delete-extra",
        ],
    );
    assert_eq!(steps(&p), Vec::<(String, String)>::new(), "{p:#}");
    assert_eq!(p["summary"]["unchanged"], 1);

    // `diff` pairs the new distribution with the old one by content: re-created, no
    // difference.
    snap(&repo, &url, "three");
    let (code, d) = diff_json(&repo, &url, "aws.cloudfront.distribution");
    assert_eq!(code, 0, "{d:#}");
    assert_eq!(
        d["counts"],
        serde_json::json!({"added": 0, "modified": 0, "not_comparable": 0, "recreated": 1, "removed": 0, "unchanged": 0})
    );
    let text = d.to_string();
    assert!(text.contains(&prod) && text.contains(&new_id), "{d:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_and_origin_access_controls_round_trip() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let c = Client::new(&sdk_conf(&url, "us-east-1").await);
    let code = b"function handler(event) { return event.request; }".to_vec();
    c.create_function()
        .name("rewrite")
        .function_config(
            FunctionConfig::builder()
                .comment("adds index.html")
                .runtime(FunctionRuntime::CloudfrontJs20)
                .build()
                .unwrap(),
        )
        .function_code(Blob::new(code.clone()))
        .send()
        .await
        .unwrap();
    let oac = |name: &str, behavior: OriginAccessControlSigningBehaviors| {
        OriginAccessControlConfig::builder()
            .name(name)
            .description("site bucket")
            .signing_protocol(OriginAccessControlSigningProtocols::Sigv4)
            .signing_behavior(behavior)
            .origin_access_control_origin_type(OriginAccessControlOriginTypes::S3)
            .build()
            .unwrap()
    };
    let mut oacs = Vec::new();
    for name in ["site", "media"] {
        let o = c
            .create_origin_access_control()
            .origin_access_control_config(oac(name, OriginAccessControlSigningBehaviors::Always))
            .send()
            .await
            .unwrap();
        oacs.push(o.origin_access_control().unwrap().id().to_string());
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    snap(&repo, &url, "one");
    // The function is deleted; OAC `site` signs no more; OAC `media` is deleted.
    let etag = c
        .describe_function()
        .name("rewrite")
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();
    c.delete_function()
        .name("rewrite")
        .if_match(etag)
        .send()
        .await
        .unwrap();
    let e = c
        .get_origin_access_control()
        .id(&oacs[0])
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();
    c.update_origin_access_control()
        .id(&oacs[0])
        .if_match(e)
        .origin_access_control_config(oac("site", OriginAccessControlSigningBehaviors::Never))
        .send()
        .await
        .unwrap();
    let e = c
        .get_origin_access_control()
        .id(&oacs[1])
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();
    c.delete_origin_access_control()
        .id(&oacs[1])
        .if_match(e)
        .send()
        .await
        .unwrap();
    snap(&repo, &url, "two");

    let p = plan(
        &repo,
        &url,
        &[
            "one",
            "--kind",
            "aws.cloudfront.function",
            "--kind",
            "aws.cloudfront.origin_access_control",
            "--force",
        ],
    );
    let mut got = steps(&p);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("create".to_string(), cf_id("function", "rewrite")),
            (
                "create".to_string(),
                cf_id("origin_access_control", &oacs[1])
            ),
            (
                "update".to_string(),
                cf_id("origin_access_control", &oacs[0])
            ),
        ]
    );
    assert!(p["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["stage"] == 4));
    let update = p["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["action"]["action"] == "update")
        .unwrap();
    assert_eq!(
        update["action"]["fields"],
        serde_json::json!([{"field": "/SigningBehavior", "live": "never", "snapshot": "always"}])
    );
    let function = p["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["target"] == cf_id("function", "rewrite"))
        .unwrap();
    assert!(function["parts"]["code.js"].is_string(), "{function}");

    let plan_file = tmp.path().join("plan.json");
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    let f = c.get_function().name("rewrite").send().await.unwrap();
    assert_eq!(f.function_code().unwrap().as_ref(), code.as_slice());

    snap(&repo, &url, "three");
    let (code, d) = diff_json(&repo, &url, "aws.cloudfront.function");
    assert_eq!(code, 0, "{d:#}");
    // The updated OAC compares equal; the one made again has a new id.
    let (_, d) = diff_json(&repo, &url, "aws.cloudfront.origin_access_control");
    let text = d.to_string();
    assert!(!text.contains(&oacs[0]), "{d:#}");
    assert!(text.contains(&oacs[1]), "{d:#}");
}

/// A cache policy as CloudFront answers it (moto has none: a stand-in in the proxy).
fn policy_xml(config: &str) -> String {
    format!(
        "<CachePolicy><Id>cp-1</Id><LastModifiedTime>2024-01-01T00:00:00Z</LastModifiedTime>{config}</CachePolicy>"
    )
}

const POLICY: &str = "<CachePolicyConfig><Comment>static</Comment><Name>static-assets</Name><DefaultTTL>86400</DefaultTTL><MaxTTL>31536000</MaxTTL><MinTTL>0</MinTTL><ParametersInCacheKeyAndForwardedToOrigin><EnableAcceptEncodingGzip>true</EnableAcceptEncodingGzip><HeadersConfig><HeaderBehavior>whitelist</HeaderBehavior><Headers><Quantity>1</Quantity><Items><Name>Origin</Name></Items></Headers></HeadersConfig><CookiesConfig><CookieBehavior>none</CookieBehavior></CookiesConfig><QueryStringsConfig><QueryStringBehavior>none</QueryStringBehavior></QueryStringsConfig></ParametersInCacheKeyAndForwardedToOrigin></CachePolicyConfig>";

/// A cache policy changed live is updated with If-Match, its configuration sent back as
/// CloudFront's XML in model order. moto answers 404 to cache policy calls, so the proxy in
/// front of it stands in for them (ListCachePolicies, GetCachePolicy, UpdateCachePolicy) with
/// one policy whose state the test holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_policy_changed_live_is_updated_with_if_match() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    // (config XML, ETag number, PUTs seen: If-Match and body)
    type State = (String, u32, Vec<(Option<String>, String)>);
    let state: Arc<Mutex<State>> = Arc::new(Mutex::new((POLICY.to_string(), 1, Vec::new())));
    let st = state.clone();
    let proxy = stub_proxy(&url, move |r| {
        let mut s = st.lock().unwrap();
        let ok = |body: String, etag: u32| Canned {
            status: 200,
            content_type: "text/xml",
            extra_headers: format!("ETag: E{etag}\r\n"),
            body,
        };
        if r.method == "GET" && r.path.starts_with("/2020-05-31/cache-policy?") {
            return Some(ok(
                format!(
                    "<CachePolicyList><MaxItems>100</MaxItems><Quantity>1</Quantity><Items><CachePolicySummary><Type>custom</Type>{}</CachePolicySummary></Items></CachePolicyList>",
                    policy_xml(&s.0)
                ),
                s.1,
            ));
        }
        if r.path == "/2020-05-31/cache-policy/cp-1" {
            if r.method == "PUT" {
                let body = String::from_utf8_lossy(&r.body).to_string();
                s.2.push((r.header("if-match").map(str::to_string), body.clone()));
                let start = body.find("<CachePolicyConfig").unwrap();
                let inner = &body[body[start..].find('>').unwrap() + start + 1..];
                s.0 = format!("<CachePolicyConfig>{inner}");
                s.1 += 1;
            }
            return Some(ok(policy_xml(&s.0), s.1));
        }
        None
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    snap(&repo, &proxy, "one");
    {
        let mut s = state.lock().unwrap();
        s.0 = s.0.replace("<DefaultTTL>86400<", "<DefaultTTL>60<");
        s.1 += 1;
    }
    snap(&repo, &proxy, "two");
    let p = plan(
        &repo,
        &proxy,
        &["one", "--kind", "aws.cloudfront.cache_policy", "--force"],
    );
    assert_eq!(
        steps(&p),
        vec![("update".to_string(), cf_id("cache_policy", "cp-1"))]
    );
    assert_eq!(p["steps"][0]["stage"], 4);
    assert_eq!(
        p["steps"][0]["action"]["fields"],
        serde_json::json!([{"field": "/CachePolicy/CachePolicyConfig/DefaultTTL", "live": 60, "snapshot": 86400}])
    );
    let plan_file = tmp.path().join("plan.json");
    let o = infrasnap(
        &repo,
        &proxy,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert_code(&o, 0);
    let puts = state.lock().unwrap().2.clone();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].0.as_deref(), Some("E2"));
    assert_eq!(
        puts[0].1,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>{}",
            POLICY.replacen(
                "<CachePolicyConfig>",
                "<CachePolicyConfig xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">",
                1
            )
        )
    );
    snap(&repo, &proxy, "three");
    let (code, d) = diff_json(&repo, &proxy, "aws.cloudfront.cache_policy");
    assert_eq!(code, 0, "{d:#}");
}
