//! CloudFront end to end: the real binary against moto. Two distributions (a production one with
//! aliases, an S3 origin behind an origin access control and a custom origin that carries a
//! secret custom header made at run time; a staging one), both tagged; an origin access control;
//! a CloudFront Function with its code (moto cannot publish it: PublishFunction is 404). Asserted field by field from `<id>.json`,
//! `<id>.status.json`, the summary CSV, the OAC file and the function files; the secret header
//! value appears nowhere under the repository or in the output; a second snapshot of the
//! unchanged estate adds no blob. A second test: denied calls (a small proxy in front of moto
//! answers AccessDenied) are recorded with their exact action and resource, GetDistributionConfig
//! stands in for a denied GetDistribution, a denied listing is failed coverage, and the rest is
//! captured (exit 3).
//!
//! The catalog is asserted too: one record per distribution (id = its Id, part `status.json`), per
//! function (id = its name, part `code.js`), per member of the account-wide kinds (shown through
//! their views), and the account's distribution summary (part `distribution_summary.csv`);
//! every listing covered; an unchanged estate keeps every digest.
//!
//! moto gaps met (shared/notes/moto-server.md): its read-back drops S3OriginConfig,
//! OriginAccessControlId and FunctionAssociations, so those are not asserted from the snapshot;
//! cache, origin-request and response-headers policies and origin access identities answer HTTP
//! 404, which the collector writes as "unavailable" with a note (asserted), not as an error.

use crate::common;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::{
    Aliases, CustomHeaders, CustomOriginConfig, DefaultCacheBehavior, DistributionConfig,
    FunctionConfig, FunctionRuntime, OriginAccessControlConfig, OriginAccessControlOriginTypes,
    OriginAccessControlSigningBehaviors, OriginAccessControlSigningProtocols, OriginCustomHeader,
    OriginProtocolPolicy, Origins, PriceClass, S3OriginConfig, Tag, Tags,
};
use aws_sdk_cloudfront::Client;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// moto's account.
const ACCOUNT: &str = "123456789012";

/// The account's CloudFront folder in snapshot `snap`.
fn cf_root(snap: &Path) -> std::path::PathBuf {
    snap.join(format!("cloudfront_distributions/{ACCOUNT}"))
}

/// The coverage of snapshot `snap`: kind (without `aws.cloudfront.`) -> state, with the failed
/// listing's action.
fn coverage(snap: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(snap.join("catalog/coverage.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|c| {
            assert_eq!(c["account"], ACCOUNT, "{c}");
            assert_eq!(c["region"], "", "{c}");
            let kind = c["kind"].as_str().unwrap();
            let state = match c["error"]["action"].as_str() {
                Some(a) => format!("{} {a}", c["state"].as_str().unwrap()),
                None => c["state"].as_str().unwrap().to_string(),
            };
            (
                kind.trim_start_matches("aws.cloudfront.").to_string(),
                state,
            )
        })
        .collect()
}

fn cf_id(kind: &str, id: &str) -> String {
    format!("aws.cloudfront.{kind}:{ACCOUNT}::{id}")
}

async fn cf(endpoint: &str) -> Client {
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await;
    Client::new(&shared)
}

// The legacy TTLs are what moto reads back.
#[allow(deprecated)]
fn cache_behavior(target: &str) -> DefaultCacheBehavior {
    behavior_to(target)
        .compress(true)
        .default_ttl(86400)
        .max_ttl(31536000)
        .build()
        .unwrap()
}

fn s3_origin(id: &str, domain: &str, oac: &str) -> aws_sdk_cloudfront::types::Origin {
    aws_sdk_cloudfront::types::Origin::builder()
        .id(id)
        .domain_name(domain)
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .origin_access_control_id(oac)
        .build()
        .unwrap()
}

async fn tag(c: &Client, arn: &str, tags: &[(&str, &str)]) {
    let mut t = Tags::builder();
    for (k, v) in tags {
        t = t.items(Tag::builder().key(*k).value(*v).build().unwrap());
    }
    c.tag_resource()
        .resource(arn)
        .tags(t.build())
        .send()
        .await
        .unwrap_or_else(|e| panic!("tag {arn}: {e:?}"));
}

/// A secret made at run time, so nothing in the source can leak it.
fn run_time_secret() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("ov-{:x}-{:x}", nanos ^ 0x5eed_cafe_f00d, std::process::id())
}

const FUNCTION_CODE: &str = "function handler(event) {\n    var request = event.request;\n    if (request.uri.endsWith('/')) {\n        request.uri += 'index.html';\n    }\n    return request;\n}\n";

const AUTH_CODE: &str = "function handler(event) {\n    const password = \"Zq8-vLp2-Rt7x-Wm4k\";\n    return event.request;\n}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributions_oac_and_functions_are_captured_field_by_field() {
    let emu = Emulator::start().await.unwrap();
    let c = cf(&emu.url()).await;
    let secret = run_time_secret();

    // --- An origin access control.
    let oac = c
        .create_origin_access_control()
        .origin_access_control_config(
            OriginAccessControlConfig::builder()
                .name("assets-oac")
                .description("signs requests to the assets bucket")
                .signing_protocol(OriginAccessControlSigningProtocols::Sigv4)
                .signing_behavior(OriginAccessControlSigningBehaviors::Always)
                .origin_access_control_origin_type(OriginAccessControlOriginTypes::S3)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let oac_id = oac.origin_access_control().unwrap().id().to_string();

    // --- The production distribution: aliases, an S3 origin, a custom origin with a secret.
    let prod_cfg = DistributionConfig::builder()
        .caller_reference("prod-site")
        .aliases(
            Aliases::builder()
                .quantity(2)
                .items("www.example.com")
                .items("example.com")
                .build()
                .unwrap(),
        )
        .origins(
            Origins::builder()
                .quantity(2)
                .items(s3_origin(
                    "s3-assets",
                    "assets-bucket.s3.us-east-1.amazonaws.com",
                    &oac_id,
                ))
                .items(
                    aws_sdk_cloudfront::types::Origin::builder()
                        .id("api")
                        .domain_name("api.example.com")
                        .origin_path("/v1")
                        .custom_headers(
                            CustomHeaders::builder()
                                .quantity(1)
                                .items(
                                    OriginCustomHeader::builder()
                                        .header_name("X-Origin-Verify")
                                        .header_value(&secret)
                                        .build()
                                        .unwrap(),
                                )
                                .build()
                                .unwrap(),
                        )
                        .custom_origin_config(
                            CustomOriginConfig::builder()
                                .http_port(80)
                                .https_port(443)
                                .origin_protocol_policy(OriginProtocolPolicy::HttpsOnly)
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .default_cache_behavior(cache_behavior("s3-assets"))
        .comment("production site, \"main\"")
        .enabled(true)
        .price_class(PriceClass::PriceClass100)
        .build()
        .unwrap();
    let prod = c
        .create_distribution()
        .distribution_config(prod_cfg)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create prod: {e:?}"));
    let prod = prod.distribution().unwrap();
    let (prod_id, prod_arn, prod_domain) = (
        prod.id().to_string(),
        prod.arn().to_string(),
        prod.domain_name().to_string(),
    );
    tag(&c, &prod_arn, &[("env", "prod"), ("owner", "web-team")]).await;

    // --- The staging distribution: no aliases, one S3 origin, disabled.
    let staging_cfg = DistributionConfig::builder()
        .caller_reference("staging-site")
        .origins(
            Origins::builder()
                .quantity(1)
                .items(s3_origin(
                    "s3-staging",
                    "staging-bucket.s3.us-east-1.amazonaws.com",
                    &oac_id,
                ))
                .build()
                .unwrap(),
        )
        .default_cache_behavior(cache_behavior("s3-staging"))
        .comment("staging, site")
        .enabled(false)
        .build()
        .unwrap();
    let staging = c
        .create_distribution()
        .distribution_config(staging_cfg)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create staging: {e:?}"));
    let staging = staging.distribution().unwrap();
    let (staging_id, staging_arn, staging_domain) = (
        staging.id().to_string(),
        staging.arn().to_string(),
        staging.domain_name().to_string(),
    );
    tag(&c, &staging_arn, &[("env", "staging")]).await;

    // --- A CloudFront Function.
    let f = c
        .create_function()
        .name("add-index")
        .function_config(
            FunctionConfig::builder()
                .comment("appends index.html")
                .runtime(FunctionRuntime::CloudfrontJs20)
                .build()
                .unwrap(),
        )
        .function_code(Blob::new(FUNCTION_CODE.as_bytes()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create function: {e:?}"));
    // moto has no PublishFunction (HTTP 404): the function stays in DEVELOPMENT.
    assert!(f.e_tag().is_some());
    // A function with a credential in its code: kept byte for byte, pointed out.
    c.create_function()
        .name("basic-auth")
        .function_config(
            FunctionConfig::builder()
                .comment("basic auth")
                .runtime(FunctionRuntime::CloudfrontJs20)
                .build()
                .unwrap(),
        )
        .function_code(Blob::new(AUTH_CODE.as_bytes()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create function: {e:?}"));

    // --- Snapshot.
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = infrasnap(
        &repo,
        &emu.url(),
        &["--json", "snapshot", "--only", "cloudfront"],
    );
    assert_code(&o, 0);
    for out in [&o.stdout, &o.stderr] {
        assert!(
            !contains(out, secret.as_bytes()),
            "the secret is in the output"
        );
    }
    let meta: Value = serde_json::from_slice(&o.stdout).unwrap();
    let meta = meta["metadata"].clone();
    assert_eq!(meta["status"], "complete", "{meta:#}");
    let col = &meta["collectors"]["cloudfront"];
    assert_eq!(col["counts"]["distributions"], 2, "{col:#}");
    assert_eq!(col["counts"]["functions"], 2, "{col:#}");
    assert_eq!(col["counts"]["origin_access_controls"], 1, "{col:#}");
    assert_eq!(col["errors"].as_array().map(Vec::len), Some(0), "{col:#}");
    let snap = snapshot_dir(&repo, &meta);
    let root = cf_root(&snap);

    // --- The production distribution, field by field.
    let d = read_json(&root.join(format!("{prod_id}.json")));
    assert_eq!(d["Id"], prod_id.as_str());
    assert_eq!(d["ARN"], prod_arn.as_str());
    assert_eq!(d["DomainName"], prod_domain.as_str());
    assert!(d["ETag"].as_str().is_some_and(|e| !e.is_empty()), "{d:#}");
    assert!(d.get("Status").is_none() && d.get("LastModifiedTime").is_none());
    let cfg = &d["DistributionConfig"];
    assert_eq!(cfg["CallerReference"], "prod-site");
    assert_eq!(cfg["Comment"], "production site, \"main\"");
    assert_eq!(cfg["Enabled"], true);
    assert_eq!(cfg["PriceClass"], "PriceClass_100");
    assert_eq!(cfg["Aliases"]["Quantity"], 2);
    let mut aliases: Vec<&str> = cfg["Aliases"]["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    aliases.sort();
    assert_eq!(aliases, ["example.com", "www.example.com"]);
    assert_eq!(cfg["Origins"]["Quantity"], 2, "{cfg:#}");
    let origins = cfg["Origins"]["Items"].as_array().unwrap();
    let s3 = origins.iter().find(|o| o["Id"] == "s3-assets").unwrap();
    assert_eq!(s3["DomainName"], "assets-bucket.s3.us-east-1.amazonaws.com");
    let api = origins.iter().find(|o| o["Id"] == "api").unwrap();
    assert_eq!(api["DomainName"], "api.example.com");
    assert_eq!(api["OriginPath"], "/v1");
    assert_eq!(api["CustomOriginConfig"]["HTTPPort"], 80);
    assert_eq!(api["CustomOriginConfig"]["HTTPSPort"], 443);
    assert_eq!(
        api["CustomOriginConfig"]["OriginProtocolPolicy"],
        "https-only"
    );
    assert_eq!(api["CustomHeaders"]["Quantity"], 1);
    let header = &api["CustomHeaders"]["Items"][0];
    assert_eq!(header["HeaderName"], "X-Origin-Verify");
    let hv = header["HeaderValue"].as_str().unwrap();
    assert!(
        infrasnap_core::secrets::is_marker(hv),
        "the header value is a marker: {hv}"
    );
    let dcb = &cfg["DefaultCacheBehavior"];
    assert_eq!(dcb["TargetOriginId"], "s3-assets");
    assert_eq!(dcb["ViewerProtocolPolicy"], "redirect-to-https");
    assert_eq!(dcb["Compress"], true);
    assert_eq!(dcb["DefaultTTL"], 86400);
    assert_eq!(dcb["MaxTTL"], 31536000);
    assert_eq!(dcb["ForwardedValues"]["QueryString"], false);
    assert_eq!(dcb["ForwardedValues"]["Cookies"]["Forward"], "none");
    let tags = d["Tags"]["Items"].as_array().unwrap();
    assert_eq!(
        tags,
        &vec![
            serde_json::json!({"Key": "env", "Value": "prod"}),
            serde_json::json!({"Key": "owner", "Value": "web-team"}),
        ]
    );
    let st = read_json(&root.join(format!("{prod_id}.status.json")));
    assert_eq!(st["Id"], prod_id.as_str());
    assert!(
        st["Status"].as_str().is_some_and(|s| !s.is_empty()),
        "{st:#}"
    );
    assert!(st["LastModifiedTime"].is_string(), "{st:#}");

    // --- The staging distribution.
    let d2 = read_json(&root.join(format!("{staging_id}.json")));
    let cfg2 = &d2["DistributionConfig"];
    assert_eq!(cfg2["Comment"], "staging, site");
    assert_eq!(cfg2["Enabled"], false);
    assert_eq!(cfg2["Origins"]["Items"][0]["Id"], "s3-staging");
    assert_eq!(cfg2["DefaultCacheBehavior"]["TargetOriginId"], "s3-staging");
    assert_eq!(
        d2["Tags"]["Items"],
        serde_json::json!([{"Key": "env", "Value": "staging"}])
    );

    // --- The summary CSV: sorted by id, RFC 4180.
    let csv = std::fs::read_to_string(root.join("distribution_summary.csv")).unwrap();
    let mut expected = [
        (
            prod_id.clone(),
            format!(
                "{prod_id},{prod_domain},example.com;www.example.com,true,assets-bucket.s3.us-east-1.amazonaws.com;api.example.com\r\n"
            ),
        ),
        (
            staging_id.clone(),
            format!(
                "{staging_id},{staging_domain},,false,staging-bucket.s3.us-east-1.amazonaws.com\r\n"
            ),
        ),
    ];
    expected.sort();
    let want = format!(
        "id,domain,aliases,enabled,origins\r\n{}",
        expected.iter().map(|(_, l)| l.as_str()).collect::<String>()
    );
    // Origins keep the order of the config; compare with the prod origins in that order.
    let prod_origins: Vec<&str> = origins
        .iter()
        .map(|o| o["DomainName"].as_str().unwrap())
        .collect();
    let want = want.replace(
        "assets-bucket.s3.us-east-1.amazonaws.com;api.example.com",
        &prod_origins.join(";"),
    );
    assert_eq!(csv, want);

    // --- Origin access controls.
    let oacs = read_json(&root.join("origin_access_controls.json"));
    let items = oacs["Items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{oacs:#}");
    assert_eq!(items[0]["Id"], oac_id.as_str());
    assert_eq!(items[0]["Name"], "assets-oac");
    assert_eq!(items[0]["SigningProtocol"], "sigv4");
    assert_eq!(items[0]["SigningBehavior"], "always");
    assert_eq!(items[0]["OriginAccessControlOriginType"], "s3");

    // --- Kinds moto does not offer (HTTP 404): written as unavailable, with a note.
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    for f in [
        "origin_access_identities.json",
        "cache_policies.json",
        "origin_request_policies.json",
        "response_headers_policies.json",
    ] {
        let v = read_json(&root.join(f));
        if let Some(why) = v.get("Unavailable") {
            assert!(why.as_str().unwrap().contains("404"), "{f}: {v:#}");
            assert!(manifest.contains(&format!("`{f}`: ")), "{manifest}");
        } else {
            assert_eq!(v["Items"], serde_json::json!([]), "{f}: {v:#}");
        }
    }

    // --- The function: code byte-exact, config.
    let code = std::fs::read(root.join("functions/add-index.js")).unwrap();
    assert_eq!(code, FUNCTION_CODE.as_bytes());
    let fj = read_json(&root.join("functions/add-index.json"));
    assert_eq!(fj["Name"], "add-index");
    let dev = &fj["Stages"]["DEVELOPMENT"];
    assert_eq!(
        dev["FunctionConfig"]["Comment"], "appends index.html",
        "{fj:#}"
    );
    assert_eq!(dev["FunctionConfig"]["Runtime"], "cloudfront-js-2.0");
    assert_eq!(
        dev["CodeFile"],
        format!("cloudfront_distributions/{ACCOUNT}/functions/add-index.js")
    );
    if let Some(live) = fj["Stages"].get("LIVE") {
        let live_code = std::fs::read(root.join("functions/add-index.live.js")).unwrap();
        assert_eq!(live_code, FUNCTION_CODE.as_bytes(), "{live:#}");
    }

    let auth = std::fs::read(root.join("functions/basic-auth.js")).unwrap();
    assert_eq!(auth, AUTH_CODE.as_bytes());
    let aj = read_json(&root.join("functions/basic-auth.json"));
    assert_eq!(
        aj["Stages"]["DEVELOPMENT"]["SecretsInCode"][0]["Line"], 2,
        "{aj:#}"
    );
    assert!(
        manifest.contains(&format!("`cloudfront_distributions/{ACCOUNT}/functions/basic-auth.js` holds 1 value(s) shaped like secrets")),
        "{manifest}"
    );
    assert!(fj["Stages"]["DEVELOPMENT"].get("SecretsInCode").is_none());

    // --- Manifest rows.
    let alias_cell = "example.com, www.example.com";
    assert!(
        manifest.contains(&format!(
            "| {prod_id} | {alias_cell} | {} | true | PriceClass_100 |",
            prod_origins.join(", ")
        )),
        "{manifest}"
    );
    assert!(
        manifest.contains(&format!(
            "| {staging_id} |  | staging-bucket.s3.us-east-1.amazonaws.com | false |"
        )),
        "{manifest}"
    );

    // --- The catalog: each distribution, function, OAC and the summary, with their parts.
    let cat = catalog_records(&snap);
    let mut want_ids = vec![
        cf_id("distribution", &prod_id),
        cf_id("distribution", &staging_id),
        cf_id("distribution_summary", "distribution_summary"),
        cf_id("function", "add-index"),
        cf_id("function", "basic-auth"),
        cf_id("origin_access_control", &oac_id),
    ];
    want_ids.sort();
    assert_eq!(cat.keys().cloned().collect::<Vec<_>>(), want_ids);
    let rel = format!("cloudfront_distributions/{ACCOUNT}");
    let p = &cat[&cf_id("distribution", &prod_id)];
    assert_eq!(p["path"], format!("{rel}/{prod_id}.json"));
    assert_eq!(
        p["parts"]["status.json"]["path"],
        format!("{rel}/{prod_id}.status.json")
    );
    let s = &cat[&cf_id("distribution_summary", "distribution_summary")];
    assert!(s.get("path").is_none(), "{s:#}");
    assert_eq!(
        s["parts"]["distribution_summary.csv"]["path"],
        format!("{rel}/distribution_summary.csv")
    );
    let f = &cat[&cf_id("function", "add-index")];
    assert_eq!(f["path"], format!("{rel}/functions/add-index.json"));
    assert_eq!(
        f["parts"]["code.js"]["path"],
        format!("{rel}/functions/add-index.js")
    );
    let o = &cat[&cf_id("origin_access_control", &oac_id)];
    assert!(o.get("path").is_none(), "{o:#}");
    // Every listing is covered; those moto does not offer are complete with nothing in them.
    let cov = coverage(&snap);
    for kind in [
        "distribution",
        "distribution_summary",
        "function",
        "origin_access_control",
        "origin_access_identity",
        "cache_policy",
        "origin_request_policy",
        "response_headers_policy",
        "key_group",
        "public_key",
    ] {
        assert_eq!(
            cov.get(kind).map(String::as_str),
            Some("complete"),
            "{kind}: {cov:#?}"
        );
    }
    assert_eq!(cov.len(), 10, "{cov:#?}");

    // --- The secret is nowhere under the repository.
    for f in walk_files(&repo) {
        let raw = std::fs::read(&f).unwrap();
        assert!(
            !contains(&raw, secret.as_bytes()),
            "the secret is in {}",
            f.display()
        );
    }

    // --- A second snapshot of the unchanged estate adds no blob.
    let blobs = blob_count(&repo);
    let meta2 = snapshot(
        &repo,
        &emu.url(),
        &["--label", "second", "--only", "cloudfront"],
    );
    assert_eq!(meta2["status"], "complete");
    assert_eq!(
        meta2["collectors"]["cloudfront"]["blobs_new"], 0,
        "{meta2:#}"
    );
    assert_eq!(meta2["collectors"]["cloudfront"]["bytes_new"], 0);
    assert_eq!(blob_count(&repo), blobs);
    let snap2 = snapshot_dir(&repo, &meta2);
    let cat2 = catalog_records(&snap2);
    assert_eq!(
        cat2.keys().collect::<Vec<_>>(),
        cat.keys().collect::<Vec<_>>()
    );
    for (id, r) in &cat {
        assert_eq!(cat2[id]["digest"], r["digest"], "{id}");
        assert_eq!(cat2[id]["parts"], r["parts"], "{id}");
    }
    for f in walk_files(&root) {
        let rel = f.strip_prefix(&snap).unwrap();
        assert_eq!(
            std::fs::read(&f).unwrap(),
            std::fs::read(snap2.join(rel)).unwrap(),
            "{}",
            rel.display()
        );
    }
    let o = infrasnap(&repo, &emu.url(), &["verify", "--all"]);
    assert_code(&o, 0);
}

/// An answer the proxy gives instead of moto to requests of `method` whose path contains
/// `pattern` (a pattern ending in `$` must be the whole path).
struct Rule {
    method: &'static str,
    pattern: String,
    status: u16,
    body: String,
}

impl Rule {
    fn matches(&self, method: &str, path: &str) -> bool {
        self.method == method
            && match self.pattern.strip_suffix('$') {
                Some(whole) => path == whole,
                None => path.contains(self.pattern.as_str()),
            }
    }
}

/// `AccessDenied` (403, the REST-XML error) to the matching requests.
fn denied(method: &'static str, pattern: String) -> Rule {
    Rule {
        method,
        pattern,
        status: 403,
        body: "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/auditor is not authorized to perform this action</Message></Error><RequestId>denied-1</RequestId></ErrorResponse>".into(),
    }
}

/// A canned 200 XML answer (a stand-in for what moto does not offer).
fn canned(pattern: &str, body: &str) -> Rule {
    Rule {
        method: "GET",
        pattern: pattern.into(),
        status: 200,
        body: format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}"),
    }
}

/// A loopback HTTP proxy in front of moto that gives the first matching rule's answer and
/// forwards every other request. One request per connection (`Connection: close`). (The deny
/// proxy of route53.rs, with canned answers and whole-path patterns.)
async fn rule_proxy(upstream: &str, rules: Vec<Rule>) -> String {
    stub_proxy(upstream, move |r| {
        rules
            .iter()
            .find(|rule| rule.matches(&r.method, &r.path))
            .map(|rule| Canned {
                status: rule.status,
                content_type: "text/xml",
                extra_headers: String::new(),
                body: rule.body.clone(),
            })
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_calls_are_recorded_with_action_and_resource_and_the_rest_is_captured() {
    let emu = Emulator::start().await.unwrap();
    let c = cf(&emu.url()).await;
    let mut ids = Vec::new();
    for name in ["alpha", "beta"] {
        let cfg = DistributionConfig::builder()
            .caller_reference(name)
            .origins(
                Origins::builder()
                    .quantity(1)
                    .items(
                        aws_sdk_cloudfront::types::Origin::builder()
                            .id("web")
                            .domain_name(format!("{name}.example.org"))
                            .custom_origin_config(
                                CustomOriginConfig::builder()
                                    .http_port(80)
                                    .https_port(443)
                                    .origin_protocol_policy(OriginProtocolPolicy::MatchViewer)
                                    .build()
                                    .unwrap(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .default_cache_behavior(cache_behavior("web"))
            .comment(format!("{name} site"))
            .enabled(true)
            .build()
            .unwrap();
        let d = c
            .create_distribution()
            .distribution_config(cfg)
            .send()
            .await
            .unwrap();
        let d = d.distribution().unwrap();
        tag(&c, d.arn(), &[("site", name)]).await;
        ids.push((d.id().to_string(), d.arn().to_string()));
    }
    c.create_function()
        .name("rewrite")
        .function_config(
            FunctionConfig::builder()
                .comment("c")
                .runtime(FunctionRuntime::CloudfrontJs20)
                .build()
                .unwrap(),
        )
        .function_code(Blob::new(FUNCTION_CODE.as_bytes()))
        .send()
        .await
        .unwrap();
    let (alpha, alpha_arn) = ids[0].clone();
    let (beta, beta_arn) = ids[1].clone();

    let endpoint = rule_proxy(
        &emu.moto.url(),
        vec![
            // GetDistribution of alpha only (its /config stays readable).
            denied("GET", format!("/2020-05-31/distribution/{alpha}$")),
            // Every ListTagsForResource.
            denied("GET", "/2020-05-31/tagging".to_string()),
            // GetFunction (DescribeFunction is /function/<name>/describe).
            denied("GET", "/2020-05-31/function/rewrite?".to_string()),
            // ListKeyGroups: a listing that fails.
            denied("GET", "/2020-05-31/key-group".to_string()),
        ],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let mut cmd = command(
        &repo,
        &endpoint,
        &["--json", "snapshot", "--only", "cloudfront"],
        &[],
    );
    let o = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_code(&o, 3);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let meta = &v["metadata"];
    assert_eq!(meta["status"], "partial");
    let r = &meta["collectors"]["cloudfront"];
    assert_eq!(r["status"], "partial", "{r:#}");
    assert_eq!(r["counts"]["distributions"], 2, "{r:#}");
    let mut errors: Vec<(String, String, String)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["service"], "cloudfront");
            (
                e["action"].as_str().unwrap().to_string(),
                e["resource"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    errors.sort();
    let mut want = vec![
        ("cloudfront:GetDistribution".to_string(), alpha.clone()),
        (
            "cloudfront:GetFunction".to_string(),
            "rewrite (DEVELOPMENT)".to_string(),
        ),
        (
            "cloudfront:ListTagsForResource".to_string(),
            alpha_arn.clone(),
        ),
        (
            "cloudfront:ListTagsForResource".to_string(),
            beta_arn.clone(),
        ),
        ("cloudfront:ListKeyGroups".to_string(), "*".to_string()),
    ]
    .into_iter()
    .map(|(a, r)| (a, r, "AccessDenied".to_string()))
    .collect::<Vec<_>>();
    want.sort();
    assert_eq!(errors, want);

    let snap = snapshot_dir(&repo, meta);
    let root = cf_root(&snap);
    // The failed listing is failed coverage (and no view); denied calls on listed resources
    // leave theirs complete.
    let cov = coverage(&snap);
    assert_eq!(cov["key_group"], "failed cloudfront:ListKeyGroups");
    assert_eq!(cov["distribution"], "complete");
    assert_eq!(cov["function"], "complete");
    assert!(!root.join("key_groups.json").exists());
    let cat = catalog_records(&snap);
    assert!(cat.contains_key(&cf_id("distribution", &alpha)));
    assert!(cat.contains_key(&cf_id("function", "rewrite")));
    // alpha: the config through GetDistributionConfig, with its ETag; the gaps marked.
    let a = read_json(&root.join(format!("{alpha}.json")));
    assert_eq!(a["DistributionConfig"]["Comment"], "alpha site", "{a:#}");
    assert!(a["ETag"].as_str().is_some_and(|e| !e.is_empty()), "{a:#}");
    assert_eq!(a["ARN"], alpha_arn.as_str());
    assert!(a.get("Tags").is_none());
    let actions: Vec<&str> = a["Errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "cloudfront:GetDistribution",
            "cloudfront:ListTagsForResource"
        ]
    );
    let st = read_json(&root.join(format!("{alpha}.status.json")));
    assert!(st["Status"].is_string(), "{st:#}");
    // beta: everything but its tags.
    let b = read_json(&root.join(format!("{beta}.json")));
    assert_eq!(b["DistributionConfig"]["Comment"], "beta site");
    assert_eq!(b["Errors"][0]["Action"], "cloudfront:ListTagsForResource");
    // The function: its config, no code, the gap marked.
    let f = read_json(&root.join("functions/rewrite.json"));
    assert_eq!(f["Stages"]["DEVELOPMENT"]["Error"]["Code"], "AccessDenied");
    assert!(!root.join("functions/rewrite.js").exists());
    assert!(cat[&cf_id("function", "rewrite")].get("parts").is_none());
    let csv = std::fs::read_to_string(root.join("distribution_summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");

    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    for a in [
        "\"cloudfront:GetDistribution\"",
        "\"cloudfront:ListTagsForResource\"",
        "\"cloudfront:GetFunction\"",
    ] {
        assert!(manifest.contains(a), "{a}: {manifest}");
    }
}

const CACHE_POLICIES: &str = r#"<CachePolicyList xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><MaxItems>100</MaxItems><Quantity>2</Quantity><Items>
<CachePolicySummary><Type>custom</Type><CachePolicy><Id>cp-2</Id><LastModifiedTime>2024-01-02T03:04:05Z</LastModifiedTime><CachePolicyConfig><Comment>api cache</Comment><Name>api-cache</Name><DefaultTTL>60</DefaultTTL><MaxTTL>3600</MaxTTL><MinTTL>1</MinTTL><ParametersInCacheKeyAndForwardedToOrigin><EnableAcceptEncodingGzip>true</EnableAcceptEncodingGzip><EnableAcceptEncodingBrotli>false</EnableAcceptEncodingBrotli><HeadersConfig><HeaderBehavior>whitelist</HeaderBehavior><Headers><Quantity>1</Quantity><Items><Name>Authorization</Name></Items></Headers></HeadersConfig><CookiesConfig><CookieBehavior>none</CookieBehavior></CookiesConfig><QueryStringsConfig><QueryStringBehavior>all</QueryStringBehavior></QueryStringsConfig></ParametersInCacheKeyAndForwardedToOrigin></CachePolicyConfig></CachePolicy></CachePolicySummary>
<CachePolicySummary><Type>custom</Type><CachePolicy><Id>cp-1</Id><LastModifiedTime>2024-01-01T00:00:00Z</LastModifiedTime><CachePolicyConfig><Name>static &amp; assets</Name><DefaultTTL>86400</DefaultTTL><MaxTTL>31536000</MaxTTL><MinTTL>0</MinTTL><ParametersInCacheKeyAndForwardedToOrigin><EnableAcceptEncodingGzip>true</EnableAcceptEncodingGzip><HeadersConfig><HeaderBehavior>none</HeaderBehavior></HeadersConfig><CookiesConfig><CookieBehavior>none</CookieBehavior></CookiesConfig><QueryStringsConfig><QueryStringBehavior>none</QueryStringBehavior></QueryStringsConfig></ParametersInCacheKeyAndForwardedToOrigin></CachePolicyConfig></CachePolicy></CachePolicySummary>
</Items></CachePolicyList>"#;

const ORIGIN_REQUEST_POLICIES: &str = r#"<OriginRequestPolicyList><MaxItems>100</MaxItems><Quantity>1</Quantity><Items><OriginRequestPolicySummary><Type>custom</Type><OriginRequestPolicy><Id>orp-1</Id><LastModifiedTime>2024-01-01T00:00:00Z</LastModifiedTime><OriginRequestPolicyConfig><Comment>host</Comment><Name>fwd-host</Name><HeadersConfig><HeaderBehavior>whitelist</HeaderBehavior><Headers><Quantity>1</Quantity><Items><Name>Host</Name></Items></Headers></HeadersConfig><CookiesConfig><CookieBehavior>none</CookieBehavior></CookiesConfig><QueryStringsConfig><QueryStringBehavior>all</QueryStringBehavior></QueryStringsConfig></OriginRequestPolicyConfig></OriginRequestPolicy></OriginRequestPolicySummary></Items></OriginRequestPolicyList>"#;

const RESPONSE_HEADERS_POLICIES: &str = r#"<ResponseHeadersPolicyList><MaxItems>100</MaxItems><Quantity>1</Quantity><Items><ResponseHeadersPolicySummary><Type>custom</Type><ResponseHeadersPolicy><Id>rhp-1</Id><LastModifiedTime>2024-01-01T00:00:00Z</LastModifiedTime><ResponseHeadersPolicyConfig><Comment>security</Comment><Name>sec-headers</Name><SecurityHeadersConfig><StrictTransportSecurity><Override>true</Override><IncludeSubdomains>true</IncludeSubdomains><Preload>false</Preload><AccessControlMaxAgeSec>31536000</AccessControlMaxAgeSec></StrictTransportSecurity></SecurityHeadersConfig><CustomHeadersConfig><Quantity>1</Quantity><Items><ResponseHeadersPolicyCustomHeader><Header>X-Team</Header><Value>web</Value><Override>false</Override></ResponseHeadersPolicyCustomHeader></Items></CustomHeadersConfig></ResponseHeadersPolicyConfig></ResponseHeadersPolicy></ResponseHeadersPolicySummary></Items></ResponseHeadersPolicyList>"#;

const OAIS: &str = r#"<CloudFrontOriginAccessIdentityList><Marker></Marker><MaxItems>100</MaxItems><IsTruncated>false</IsTruncated><Quantity>1</Quantity><Items><CloudFrontOriginAccessIdentitySummary><Id>E2QWRUHAPOMQZL</Id><S3CanonicalUserId>b970b42360b81c8ddbd79d2f5df0069ba9033c8a79655752abe380cd6d63ba8bcf23384d568fcf89fc49700b5e11a0fd</S3CanonicalUserId><Comment>legacy assets</Comment></CloudFrontOriginAccessIdentitySummary></Items></CloudFrontOriginAccessIdentityList>"#;

const KEY_GROUPS: &str = r#"<KeyGroupList><MaxItems>100</MaxItems><Quantity>1</Quantity><Items><KeyGroupSummary><KeyGroup><Id>kg-1</Id><LastModifiedTime>2024-01-01T00:00:00Z</LastModifiedTime><KeyGroupConfig><Name>signers</Name><Items><PublicKey>K2JCJMDEHXQW5F</PublicKey><PublicKey>K3OTHERKEY0002</PublicKey></Items><Comment>signed URLs</Comment></KeyGroupConfig></KeyGroup></KeyGroupSummary></Items></KeyGroupList>"#;

const PUBLIC_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END PUBLIC KEY-----\n";

fn public_keys_page(id: &str, next: Option<&str>) -> String {
    format!(
        "<PublicKeyList>{}<MaxItems>1</MaxItems><Quantity>1</Quantity><Items><PublicKeySummary><Id>{id}</Id><Name>signer-{id}</Name><CreatedTime>2024-01-01T00:00:00Z</CreatedTime><EncodedKey>{PUBLIC_KEY_PEM}</EncodedKey><Comment>c</Comment></PublicKeySummary></Items></PublicKeyList>",
        next.map(|n| format!("<NextMarker>{n}</NextMarker>")).unwrap_or_default()
    )
}

/// What moto does not offer (policies, OAIs; paged public keys), through canned AWS answers: the
/// files hold every summary whole, sorted, typed, and paging follows NextMarker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_identities_and_keys_are_captured_from_aws_shaped_answers() {
    let emu = Emulator::start().await.unwrap();
    let endpoint = rule_proxy(
        &emu.moto.url(),
        vec![
            canned("/2020-05-31/cache-policy?Type=custom", CACHE_POLICIES),
            canned(
                "/2020-05-31/origin-request-policy?Type=custom",
                ORIGIN_REQUEST_POLICIES,
            ),
            canned(
                "/2020-05-31/response-headers-policy?Type=custom",
                RESPONSE_HEADERS_POLICIES,
            ),
            canned("/2020-05-31/origin-access-identity/cloudfront", OAIS),
            canned("/2020-05-31/key-group", KEY_GROUPS),
            canned(
                "/2020-05-31/public-key?Marker=page2",
                &public_keys_page("K3OTHERKEY0002", None),
            ),
            canned(
                "/2020-05-31/public-key$",
                &public_keys_page("K2JCJMDEHXQW5F", Some("page2")),
            ),
        ],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let mut cmd = command(
        &repo,
        &endpoint,
        &["--json", "snapshot", "--only", "cloudfront"],
        &[],
    );
    let o = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_code(&o, 0);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let meta = &v["metadata"];
    let counts = &meta["collectors"]["cloudfront"]["counts"];
    assert_eq!(counts["cache_policies"], 2, "{counts:#}");
    assert_eq!(counts["origin_request_policies"], 1);
    assert_eq!(counts["response_headers_policies"], 1);
    assert_eq!(counts["policies"], 4);
    assert_eq!(counts["origin_access_identities"], 1);
    assert_eq!(counts["key_groups"], 1);
    assert_eq!(counts["public_keys"], 2);
    assert_eq!(counts["distributions"], 0);
    let snap = snapshot_dir(&repo, meta);
    let root = cf_root(&snap);
    // Each member in the catalog by its Id, and each listing complete.
    let cat = catalog_records(&snap);
    for (kind, id) in [
        ("cache_policy", "cp-1"),
        ("cache_policy", "cp-2"),
        ("origin_request_policy", "orp-1"),
        ("response_headers_policy", "rhp-1"),
        ("origin_access_identity", "E2QWRUHAPOMQZL"),
        ("key_group", "kg-1"),
        ("public_key", "K2JCJMDEHXQW5F"),
        ("public_key", "K3OTHERKEY0002"),
    ] {
        let r = &cat[&cf_id(kind, id)];
        assert!(r.get("path").is_none(), "{r:#}");
    }
    let cov = coverage(&snap);
    assert!(cov.values().all(|s| s == "complete"), "{cov:#?}");
    assert_eq!(cov.len(), 10, "{cov:#?}");
    // No distribution: the summary is the header alone.
    assert_eq!(
        std::fs::read_to_string(root.join("distribution_summary.csv")).unwrap(),
        "id,domain,aliases,enabled,origins\r\n"
    );

    let cp = read_json(&root.join("cache_policies.json"));
    let items = cp["Items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["CachePolicy"]["Id"], "cp-1", "sorted by id");
    assert_eq!(
        items[0]["CachePolicy"]["CachePolicyConfig"]["Name"],
        "static & assets"
    );
    let api = &items[1]["CachePolicy"]["CachePolicyConfig"];
    assert_eq!(items[1]["Type"], "custom");
    assert_eq!(api["Name"], "api-cache");
    assert_eq!(api["DefaultTTL"], 60);
    let params = &api["ParametersInCacheKeyAndForwardedToOrigin"];
    assert_eq!(params["EnableAcceptEncodingGzip"], true);
    assert_eq!(params["EnableAcceptEncodingBrotli"], false);
    assert_eq!(
        params["HeadersConfig"]["Headers"],
        serde_json::json!({"Quantity": 1, "Items": ["Authorization"]})
    );

    let orp = read_json(&root.join("origin_request_policies.json"));
    let c = &orp["Items"][0]["OriginRequestPolicy"]["OriginRequestPolicyConfig"];
    assert_eq!(c["Name"], "fwd-host");
    assert_eq!(c["HeadersConfig"]["Headers"]["Items"][0], "Host");

    let rhp = read_json(&root.join("response_headers_policies.json"));
    let c = &rhp["Items"][0]["ResponseHeadersPolicy"]["ResponseHeadersPolicyConfig"];
    let hsts = &c["SecurityHeadersConfig"]["StrictTransportSecurity"];
    assert_eq!(hsts["AccessControlMaxAgeSec"], 31536000);
    assert_eq!(hsts["IncludeSubdomains"], true);
    assert_eq!(
        c["CustomHeadersConfig"]["Items"][0],
        serde_json::json!({"Header": "X-Team", "Value": "web", "Override": false})
    );

    let oai = read_json(&root.join("origin_access_identities.json"));
    assert_eq!(oai["Items"][0]["Id"], "E2QWRUHAPOMQZL");
    assert_eq!(oai["Items"][0]["Comment"], "legacy assets");
    assert_eq!(
        oai["Items"][0]["S3CanonicalUserId"],
        "b970b42360b81c8ddbd79d2f5df0069ba9033c8a79655752abe380cd6d63ba8bcf23384d568fcf89fc49700b5e11a0fd"
    );

    let kg = read_json(&root.join("key_groups.json"));
    let c = &kg["Items"][0]["KeyGroup"]["KeyGroupConfig"];
    assert_eq!(c["Name"], "signers");
    assert_eq!(
        c["Items"],
        serde_json::json!(["K2JCJMDEHXQW5F", "K3OTHERKEY0002"])
    );

    let pk = read_json(&root.join("public_keys.json"));
    let items = pk["Items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "both pages: {pk:#}");
    assert_eq!(items[0]["Id"], "K2JCJMDEHXQW5F");
    assert_eq!(items[1]["Id"], "K3OTHERKEY0002");
    assert_eq!(
        items[0]["EncodedKey"], PUBLIC_KEY_PEM,
        "a public key is not a secret"
    );
}
