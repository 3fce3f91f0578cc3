//! API Gateway end to end: the real binary against moto, `--only apigateway --regions
//! us-east-1,eu-west-1`.
//!
//! us-east-1: a REST API with resources, methods, integrations (HTTP and MOCK), an authorizer,
//! a request validator, a deployment and two stages (one with a planted secret and a normal
//! variable), an API key (its planted value), a usage plan with that key, a custom domain name
//! with a base path mapping. eu-west-1: an HTTP API (route, integration, a stage with a planted
//! secret variable), a WebSocket API (route, integration, integration response), a v2 domain
//! name with an API mapping. Everything is asserted field by field from the snapshot files; the
//! planted values appear in no file under the repository (blobs included) nor in any output; a
//! second unchanged snapshot adds no blob and gives every resource the same catalog digest; a
//! changed stage variable changes its marker (and only that API's digest). The catalog lists
//! every resource under its id (`aws.apigateway.rest_api:<account>:<region>:<api id>`, ...), and
//! coverage says which listings were read whole and which were denied.
//!
//! Where moto differs from AWS, the harness bridges it, never the product: the emulator's proxy
//! pins GetExport's `info.version` (moto puts the current time there; AWS a stable date), and
//! this test's loopback stand-in in front of it (`bridge`) answers the v2 list calls moto lacks (GetAuthorizers,
//! GetDeployments, GetModels: 500/404; GetRouteResponses: 500) answer as AWS would. moto's
//! ExportApi is a 404: recorded as "not available", not as an error.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aws_sdk_apigateway::types as gw;
use aws_sdk_apigatewayv2::types as gw2;
use common::sdk_conf as conf;
use common::*;
use infrasnap_core::secrets::is_marker;
use serde_json::{json, Value};

/// The entry of a list of objects whose `key` is `value`.
#[track_caller]
fn entry<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list:#}"))
        .iter()
        .find(|e| e[key] == value)
        .unwrap_or_else(|| panic!("{key}={value} not in {list:#}"))
}

/// moto's account.
const ACCOUNT: &str = "123456789012";

/// The kinds this collector captures: every one is listed in every region.
const KINDS: [&str; 5] = [
    "aws.apigateway.rest_api",
    "aws.apigatewayv2.api",
    "aws.apigateway.domain_name",
    "aws.apigateway.usage_plan",
    "aws.apigateway.api_key",
];

/// `kind:account:region:id`.
fn rid(kind: &str, region: &str, id: &str) -> String {
    format!("{kind}:{ACCOUNT}:{region}:{id}")
}

/// A snapshot's catalog: its records by id, and its coverage by (kind, region) for moto's
/// account.
struct Cat {
    records: BTreeMap<String, Value>,
    coverage: BTreeMap<(String, String), Value>,
}

fn catalog(snap: &Path) -> Cat {
    let records = catalog_file(snap, "resources")
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r))
        .collect();
    let coverage = catalog_file(snap, "coverage")
        .into_iter()
        .filter(|c| c["account"] == ACCOUNT)
        .map(|c| {
            let k = (
                c["kind"].as_str().unwrap().to_string(),
                c["region"].as_str().unwrap().to_string(),
            );
            (k, c)
        })
        .collect();
    Cat { records, coverage }
}

impl Cat {
    #[track_caller]
    fn get(&self, id: &str) -> &Value {
        self.records
            .get(id)
            .unwrap_or_else(|| panic!("{id} not in the catalog: {:#?}", self.records.keys()))
    }

    /// `complete`, `failed`, or `none` when the listing was not reported.
    fn state(&self, kind: &str, region: &str) -> &str {
        self.coverage
            .get(&(kind.to_string(), region.to_string()))
            .map(|c| c["state"].as_str().unwrap())
            .unwrap_or("none")
    }
}

fn keys_of(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e[key].as_str().unwrap_or("").to_string())
        .collect()
}

// ------------------------------------------------------------------------------- the bridge

/// moto's GetExport `info.version`, pinned by the emulator's proxy: AWS gives a date that does
/// not move while the stage's deployment is unchanged; moto gives the current time.
use infrasnap_emulator::PINNED_EXPORT_VERSION;

fn json_answer(body: Value) -> Canned {
    Canned {
        status: 200,
        content_type: "application/json",
        extra_headers: String::new(),
        body: body.to_string(),
    }
}

/// A loopback stand-in in front of the emulator that answers where moto differs from AWS (see
/// the file's comment). `http_api` is the HTTP API's id: its authorizer and deployment are
/// served as AWS would list them. `deny` lists path fragments answered with AccessDenied.
async fn bridge(emu: &Emulator, http_api: Option<String>, deny: Vec<String>) -> String {
    stub_proxy(&emu.url(), move |seen| {
        let path = seen.path.split('?').next().unwrap_or("").to_string();
        if deny.iter().any(|d| path.contains(d.as_str())) {
            return Some(Canned {
                status: 403,
                content_type: "application/json",
                extra_headers: "x-amzn-ErrorType: AccessDeniedException\r\n".into(),
                body: json!({"message": format!("User: arn:aws:iam::123456789012:user/auditor is not authorized to perform: apigateway:GET on resource: {path}")}).to_string(),
            });
        }
        if seen.method != "GET" {
            return None;
        }
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            ["v2", "apis", api, "authorizers"] => {
                let items = if Some(api.to_string()) == http_api {
                    json!([{
                        "authorizerId": "jwt1abc",
                        "authorizerType": "JWT",
                        "identitySource": ["$request.header.Authorization"],
                        "jwtConfiguration": {"audience": ["orders"], "issuer": "https://issuer.example.com"},
                        "name": "orders-jwt"
                    }])
                } else {
                    json!([])
                };
                Some(json_answer(json!({ "items": items })))
            }
            ["v2", "apis", api, "deployments"] => {
                let items = if Some(api.to_string()) == http_api {
                    json!([{
                        "autoDeployed": false,
                        "createdDate": "2024-05-01T10:00:00Z",
                        "deploymentId": "dep1abc",
                        "deploymentStatus": "DEPLOYED",
                        "description": "first"
                    }])
                } else {
                    json!([])
                };
                Some(json_answer(json!({ "items": items })))
            }
            ["v2", "apis", _, "models"] => Some(json_answer(json!({"items": []}))),
            ["v2", "apis", _, "routes", _, "routeresponses"] => Some(json_answer(
                json!({"items": [{"routeResponseId": "rr1abc", "routeResponseKey": "$default"}]}),
            )),
            _ => None,
        }
    })
    .await
}

// ------------------------------------------------------------------------------- the estate

struct Estate {
    rest_id: String,
    root_id: String,
    items_id: String,
    deployment_id: String,
    authorizer_id: String,
    validator_id: String,
    key_id: String,
    plan_id: String,
    http_id: String,
    http_integration_id: String,
    http_route_id: String,
    ws_id: String,
    ws_integration_id: String,
}

/// Planted values, fresh for every run.
struct Planted {
    stage_secret: String,
    http_secret: String,
    key_value: String,
}

impl Planted {
    fn new() -> Self {
        Planted {
            stage_secret: format!("sv-{}", alnum(32)),
            http_secret: format!("hv-{}", alnum(32)),
            key_value: format!("k{}", alnum(39)),
        }
    }
}

async fn build_estate(endpoint: &str, p: &Planted) -> Estate {
    let us = conf(endpoint, "us-east-1").await;
    let eu = conf(endpoint, "eu-west-1").await;
    let gw_us = aws_sdk_apigateway::Client::new(&us);
    let v2_eu = aws_sdk_apigatewayv2::Client::new(&eu);

    // --- us-east-1: a REST API.
    let api = gw_us
        .create_rest_api()
        .name("shop")
        .description("the shop API")
        .send()
        .await
        .unwrap();
    let rest_id = api.id().unwrap().to_string();
    let root_id = api.root_resource_id().unwrap().to_string();
    let items = gw_us
        .create_resource()
        .rest_api_id(&rest_id)
        .parent_id(&root_id)
        .path_part("items")
        .send()
        .await
        .unwrap();
    let items_id = items.id().unwrap().to_string();
    let item = gw_us
        .create_resource()
        .rest_api_id(&rest_id)
        .parent_id(&items_id)
        .path_part("{id}")
        .send()
        .await
        .unwrap();
    let item_id = item.id().unwrap().to_string();
    let authorizer = gw_us
        .create_authorizer()
        .rest_api_id(&rest_id)
        .name("token-auth")
        .r#type(gw::AuthorizerType::Token)
        .authorizer_uri("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:auth/invocations")
        .identity_source("method.request.header.Authorization")
        .authorizer_result_ttl_in_seconds(300)
        .send()
        .await
        .unwrap();
    let validator = gw_us
        .create_request_validator()
        .rest_api_id(&rest_id)
        .name("body-only")
        .validate_request_body(true)
        .validate_request_parameters(false)
        .send()
        .await
        .unwrap();
    gw_us
        .put_method()
        .rest_api_id(&rest_id)
        .resource_id(&items_id)
        .http_method("GET")
        .authorization_type("NONE")
        .api_key_required(true)
        .send()
        .await
        .unwrap();
    gw_us
        .put_method_response()
        .rest_api_id(&rest_id)
        .resource_id(&items_id)
        .http_method("GET")
        .status_code("200")
        .send()
        .await
        .unwrap();
    gw_us
        .put_integration()
        .rest_api_id(&rest_id)
        .resource_id(&items_id)
        .http_method("GET")
        .r#type(gw::IntegrationType::Http)
        .integration_http_method("GET")
        .uri("https://backend.example.com/items")
        .send()
        .await
        .unwrap();
    gw_us
        .put_integration_response()
        .rest_api_id(&rest_id)
        .resource_id(&items_id)
        .http_method("GET")
        .status_code("200")
        .selection_pattern("")
        .send()
        .await
        .unwrap();
    gw_us
        .put_method()
        .rest_api_id(&rest_id)
        .resource_id(&item_id)
        .http_method("POST")
        .authorization_type("CUSTOM")
        .authorizer_id(authorizer.id().unwrap())
        .request_validator_id(validator.id().unwrap())
        .send()
        .await
        .unwrap();
    gw_us
        .put_integration()
        .rest_api_id(&rest_id)
        .resource_id(&item_id)
        .http_method("POST")
        .r#type(gw::IntegrationType::Mock)
        .send()
        .await
        .unwrap();
    let deployment = gw_us
        .create_deployment()
        .rest_api_id(&rest_id)
        .stage_name("prod")
        .description("first")
        .send()
        .await
        .unwrap();
    let deployment_id = deployment.id().unwrap().to_string();
    gw_us
        .create_stage()
        .rest_api_id(&rest_id)
        .stage_name("dev")
        .deployment_id(&deployment_id)
        .description("development")
        .variables("db_password", &p.stage_secret)
        .variables("log_level", "debug")
        .send()
        .await
        .unwrap();
    // moto answers stageKeys as objects where AWS (and the SDK) have "api/stage" strings, so
    // the key is tied to the stage through the usage plan only.
    let key = gw_us
        .create_api_key()
        .name("partner")
        .description("the partner's key")
        .enabled(true)
        .value(&p.key_value)
        .send()
        .await
        .unwrap();
    let key_id = key.id().unwrap().to_string();
    let plan = gw_us
        .create_usage_plan()
        .name("basic")
        .description("the basic plan")
        .api_stages(
            gw::ApiStage::builder()
                .api_id(&rest_id)
                .stage("prod")
                .build(),
        )
        .throttle(
            gw::ThrottleSettings::builder()
                .burst_limit(10)
                .rate_limit(5.0)
                .build(),
        )
        .quota(
            gw::QuotaSettings::builder()
                .limit(1000)
                .period(gw::QuotaPeriodType::Day)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let plan_id = plan.id().unwrap().to_string();
    gw_us
        .create_usage_plan_key()
        .usage_plan_id(&plan_id)
        .key_id(&key_id)
        .key_type("API_KEY")
        .send()
        .await
        .unwrap();
    gw_us
        .create_domain_name()
        .domain_name("api.shop.example.com")
        .certificate_arn("arn:aws:acm:us-east-1:123456789012:certificate/abc")
        .send()
        .await
        .unwrap();
    gw_us
        .create_base_path_mapping()
        .domain_name("api.shop.example.com")
        .rest_api_id(&rest_id)
        .stage("prod")
        .base_path("v1")
        .send()
        .await
        .unwrap();

    // --- eu-west-1: an HTTP API and a WebSocket API.
    let http = v2_eu
        .create_api()
        .name("orders")
        .protocol_type(gw2::ProtocolType::Http)
        .description("the orders API")
        .tags("team", "core")
        .send()
        .await
        .unwrap();
    let http_id = http.api_id().unwrap().to_string();
    let integ = v2_eu
        .create_integration()
        .api_id(&http_id)
        .integration_type(gw2::IntegrationType::HttpProxy)
        .integration_method("GET")
        .integration_uri("https://${stageVariables.host}/orders")
        .payload_format_version("1.0")
        .send()
        .await
        .unwrap();
    let http_integration_id = integ.integration_id().unwrap().to_string();
    let route = v2_eu
        .create_route()
        .api_id(&http_id)
        .route_key("GET /orders")
        .target(format!("integrations/{http_integration_id}"))
        .send()
        .await
        .unwrap();
    let http_route_id = route.route_id().unwrap().to_string();
    v2_eu
        .create_stage()
        .api_id(&http_id)
        .stage_name("prod")
        .stage_variables("api_token", &p.http_secret)
        .stage_variables("host", "orders.example.com")
        .send()
        .await
        .unwrap();
    let ws = v2_eu
        .create_api()
        .name("chat")
        .protocol_type(gw2::ProtocolType::Websocket)
        .route_selection_expression("$request.body.action")
        .send()
        .await
        .unwrap();
    let ws_id = ws.api_id().unwrap().to_string();
    let ws_integ = v2_eu
        .create_integration()
        .api_id(&ws_id)
        .integration_type(gw2::IntegrationType::Mock)
        .send()
        .await
        .unwrap();
    let ws_integration_id = ws_integ.integration_id().unwrap().to_string();
    v2_eu
        .create_route()
        .api_id(&ws_id)
        .route_key("$default")
        .target(format!("integrations/{ws_integration_id}"))
        .send()
        .await
        .unwrap();
    v2_eu
        .create_integration_response()
        .api_id(&ws_id)
        .integration_id(&ws_integration_id)
        .integration_response_key("$default")
        .send()
        .await
        .unwrap();
    v2_eu
        .create_domain_name()
        .domain_name("orders.example.com")
        .domain_name_configurations(
            gw2::DomainNameConfiguration::builder()
                .certificate_arn("arn:aws:acm:eu-west-1:123456789012:certificate/def")
                .endpoint_type(gw2::EndpointType::Regional)
                .build(),
        )
        .send()
        .await
        .unwrap();
    v2_eu
        .create_api_mapping()
        .api_id(&http_id)
        .domain_name("orders.example.com")
        .stage("prod")
        .api_mapping_key("v1")
        .send()
        .await
        .unwrap();

    Estate {
        rest_id,
        root_id,
        items_id,
        deployment_id,
        authorizer_id: authorizer.id().unwrap().to_string(),
        validator_id: validator.id().unwrap().to_string(),
        key_id,
        plan_id,
        http_id,
        http_integration_id,
        http_route_id,
        ws_id,
        ws_integration_id,
    }
}

// ------------------------------------------------------------------------------- running

struct Run {
    code: Option<i32>,
    meta: Value,
    out: String,
    err: String,
}

fn run(repo: &Path, endpoint: &str, label: &str, json_out: bool) -> Run {
    let mut args: Vec<&str> = vec![if json_out { "--json" } else { "-vv" }];
    args.extend([
        "snapshot",
        "--label",
        label,
        "--only",
        "apigateway",
        "--regions",
        "us-east-1,eu-west-1",
    ]);
    let o = infrasnap(repo, endpoint, &args);
    let meta = if json_out {
        serde_json::from_slice::<Value>(&o.stdout)
            .unwrap_or_else(|e| panic!("json output: {e}\n{}\n{}", stdout(&o), stderr(&o)))
            ["metadata"]
            .clone()
    } else {
        Value::Null
    };
    Run {
        code: o.status.code(),
        meta,
        out: stdout(&o),
        err: stderr(&o),
    }
}

/// The snapshot folder named with `label` (for runs without --json).
fn snapshot_by_label(repo: &Path, label: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(repo)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("snapshot_metadata.json").exists())
        .filter(|p| read_json(&p.join("snapshot_metadata.json"))["label"] == label)
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

/// Fail if any planted value is in any file under `repo` or in the outputs.
#[track_caller]
fn assert_nowhere(repo: &Path, planted: &[(&str, &str)], outputs: &[&str]) {
    let files = walk_files(repo);
    assert!(files.len() > 5, "{files:?}");
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        for (what, p) in planted {
            assert!(
                !bytes.windows(p.len()).any(|w| w == p.as_bytes()),
                "{what} found in {}",
                f.display()
            );
        }
    }
    for o in outputs {
        for (what, p) in planted {
            assert!(!o.contains(p), "{what} found in the output:\n{o}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_http_and_websocket_apis_are_captured_without_secrets() {
    let emu = Emulator::start().await.unwrap();
    let p = Planted::new();
    let e = build_estate(&emu.url(), &p).await;
    let endpoint = bridge(&emu, Some(e.http_id.clone()), Vec::new()).await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");

    // ---------------------------------------------------------------- first snapshot
    let first = run(&repo, &endpoint, "first", true);
    assert_eq!(first.code, Some(0), "{}\n{}", first.out, first.err);
    let meta = &first.meta;
    assert_eq!(meta["status"], "complete", "{meta:#}");
    let c = &meta["collectors"]["apigateway"];
    assert_eq!(c["status"], "complete", "{c:#}");
    assert_eq!(c["errors"], json!([]));
    assert_eq!(c["counts"]["rest_apis"], 1, "{c:#}");
    assert_eq!(c["counts"]["http_apis"], 2, "{c:#}");
    assert_eq!(c["counts"]["stages"], 3, "{c:#}");
    assert_eq!(c["counts"]["exports"], 2, "{c:#}");
    assert_eq!(c["counts"]["domain_names"], 2, "{c:#}");
    assert_eq!(c["counts"]["usage_plans"], 1, "{c:#}");
    assert_eq!(c["counts"]["api_keys"], 1, "{c:#}");
    let snap = snapshot_dir(&repo, meta);
    let us = snap.join(format!("api_gateway/{ACCOUNT}/us-east-1"));
    let eu = snap.join(format!("api_gateway/{ACCOUNT}/eu-west-1"));

    // --- the REST API.
    let rest_dir = us.join("rest_apis").join(&e.rest_id);
    let api = read_json(&rest_dir.join("api.json"));
    assert_eq!(api["region"], "us-east-1");
    let ra = &api["restApi"];
    assert_eq!(ra["id"], e.rest_id.as_str());
    assert_eq!(ra["name"], "shop");
    assert_eq!(ra["description"], "the shop API");
    assert_eq!(ra["rootResourceId"], e.root_id.as_str());
    assert_eq!(ra["apiKeySource"], "HEADER");
    assert_eq!(ra["endpointConfiguration"]["types"], json!(["EDGE"]));
    assert_eq!(ra["disableExecuteApiEndpoint"], false);
    assert!(ra["createdDate"].as_str().unwrap().ends_with('Z'), "{ra:#}");

    let stages = &api["stages"];
    assert_eq!(keys_of(stages, "stageName"), ["dev", "prod"]);
    let dev = entry(stages, "stageName", "dev");
    assert_eq!(dev["deploymentId"], e.deployment_id.as_str());
    assert_eq!(dev["description"], "development");
    let vars = dev["variables"].as_object().unwrap();
    assert_eq!(
        vars.keys().collect::<Vec<_>>(),
        ["db_password", "log_level"]
    );
    let secret_marker = vars["db_password"].as_str().unwrap().to_string();
    let debug_marker = vars["log_level"].as_str().unwrap().to_string();
    assert!(is_marker(&secret_marker), "{secret_marker}");
    assert!(is_marker(&debug_marker), "{debug_marker}");
    assert_ne!(secret_marker, debug_marker);
    let prod = entry(stages, "stageName", "prod");
    assert_eq!(prod["deploymentId"], e.deployment_id.as_str());
    assert!(prod.get("variables").is_none(), "{prod:#}");

    assert_eq!(
        api["deployments"],
        json!([{
            "id": e.deployment_id,
            "description": "first",
            "createdDate": api["deployments"][0]["createdDate"],
        }])
    );
    let resources = &api["resources"];
    assert_eq!(keys_of(resources, "path"), ["/", "/items", "/items/{id}"]);
    let items = entry(resources, "path", "/items");
    assert_eq!(items["id"], e.items_id.as_str());
    assert_eq!(items["parentId"], e.root_id.as_str());
    assert_eq!(items["pathPart"], "items");
    let get = &items["resourceMethods"]["GET"];
    assert_eq!(get["httpMethod"], "GET");
    assert_eq!(get["authorizationType"], "NONE");
    assert_eq!(get["apiKeyRequired"], true);
    assert_eq!(get["methodResponses"]["200"]["statusCode"], "200");
    let integ = &get["methodIntegration"];
    assert_eq!(integ["type"], "HTTP");
    assert_eq!(integ["httpMethod"], "GET");
    assert_eq!(integ["uri"], "https://backend.example.com/items");
    assert_eq!(integ["integrationResponses"]["200"]["statusCode"], "200");
    let post = &entry(resources, "path", "/items/{id}")["resourceMethods"]["POST"];
    assert_eq!(post["authorizationType"], "CUSTOM");
    assert_eq!(post["authorizerId"], e.authorizer_id.as_str());
    assert_eq!(post["requestValidatorId"], e.validator_id.as_str());
    assert_eq!(post["methodIntegration"]["type"], "MOCK");
    assert_eq!(
        api["authorizers"],
        json!([{
            "id": e.authorizer_id,
            "name": "token-auth",
            "type": "TOKEN",
            "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:auth/invocations",
            "identitySource": "method.request.header.Authorization",
            "authorizerResultTtlInSeconds": 300,
        }])
    );
    assert_eq!(
        api["requestValidators"],
        json!([{
            "id": e.validator_id,
            "name": "body-only",
            "validateRequestBody": true,
            "validateRequestParameters": false,
        }])
    );
    assert_eq!(api["models"], json!([]));
    assert!(api.get("unreadable").is_none(), "{api:#}");
    // moto answers Swagger 2.0 to an oas30 request: recorded as such, not disguised.
    assert_eq!(
        api["exports"],
        json!([
            {"stageName": "dev", "file": "export_dev.json", "requestedType": "oas30", "format": "swagger", "formatVersion": "2.0"},
            {"stageName": "prod", "file": "export_prod.json", "requestedType": "oas30", "format": "swagger", "formatVersion": "2.0"},
        ])
    );
    let export = read_json(&rest_dir.join("export_prod.json"));
    assert_eq!(export["swagger"], "2.0");
    assert_eq!(export["info"]["title"], "shop");
    assert_eq!(export["info"]["version"], PINNED_EXPORT_VERSION);
    assert!(
        export["paths"]["/items"]["get"].is_object()
            || export["paths"]["/items"]["GET"].is_object(),
        "{export:#}"
    );
    assert!(rest_dir.join("export_dev.json").exists());

    // --- usage plans, API keys, domain names (us-east-1).
    let plans = read_json(&us.join("usage_plans.json"));
    assert_eq!(
        plans,
        json!({
            "Items": [{
                "id": e.plan_id,
                "name": "basic",
                "description": "the basic plan",
                "apiStages": [{"apiId": e.rest_id, "stage": "prod"}],
                "throttle": {"burstLimit": 10, "rateLimit": 5.0},
                "quota": {"limit": 1000, "offset": 0, "period": "DAY"},
                "keys": [{"id": e.key_id, "type": "API_KEY", "name": "partner"}],
            }]
        })
    );
    let keys = read_json(&us.join("api_keys.json"));
    let k = &keys["Items"][0];
    assert_eq!(keys["Items"].as_array().unwrap().len(), 1);
    assert_eq!(k["id"], e.key_id.as_str());
    assert_eq!(k["name"], "partner");
    assert_eq!(k["description"], "the partner's key");
    assert_eq!(k["enabled"], true);
    assert!(k.get("value").is_none(), "{k:#}");
    // One resource per domain name, holding what each API shows of it: here the v1 API only.
    let domains = read_json(&us.join("domain_names.json"));
    assert_eq!(domains["Items"].as_array().unwrap().len(), 1, "{domains:#}");
    let dn = &domains["Items"][0];
    assert_eq!(dn["domainName"], "api.shop.example.com");
    assert!(dn.get("v2").is_none(), "{dn:#}");
    let d = &dn["v1"];
    assert_eq!(d["domainName"], "api.shop.example.com");
    assert_eq!(
        d["certificateArn"],
        "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    );
    assert_eq!(
        d["basePathMappings"],
        json!([{"basePath": "v1", "restApiId": e.rest_id, "stage": "prod"}])
    );
    assert!(!us.join("http_apis").exists());

    // --- the HTTP API (eu-west-1).
    let http = read_json(&eu.join("http_apis").join(&e.http_id).join("api.json"));
    assert_eq!(http["Region"], "eu-west-1");
    let a = &http["Api"];
    assert_eq!(a["ApiId"], e.http_id.as_str());
    assert_eq!(a["Name"], "orders");
    assert_eq!(a["ProtocolType"], "HTTP");
    assert_eq!(a["Description"], "the orders API");
    assert_eq!(a["Tags"], json!({"team": "core"}));
    assert_eq!(
        a["RouteSelectionExpression"],
        "$request.method $request.path"
    );
    assert_eq!(
        http["Routes"],
        json!([{
            "ApiKeyRequired": false,
            "AuthorizationType": "NONE",
            "RouteId": e.http_route_id,
            "RouteKey": "GET /orders",
            "Target": format!("integrations/{}", e.http_integration_id),
        }])
    );
    let hi = &http["Integrations"][0];
    assert_eq!(hi["IntegrationId"], e.http_integration_id.as_str());
    assert_eq!(hi["IntegrationType"], "HTTP_PROXY");
    assert_eq!(hi["IntegrationMethod"], "GET");
    assert_eq!(
        hi["IntegrationUri"],
        "https://${stageVariables.host}/orders"
    );
    assert_eq!(hi["PayloadFormatVersion"], "1.0");
    let hs = entry(&http["Stages"], "StageName", "prod");
    let hvars = hs["StageVariables"].as_object().unwrap();
    assert_eq!(hvars.keys().collect::<Vec<_>>(), ["api_token", "host"]);
    assert!(is_marker(hvars["api_token"].as_str().unwrap()));
    assert!(is_marker(hvars["host"].as_str().unwrap()));
    assert_eq!(
        http["Authorizers"],
        json!([{
            "AuthorizerId": "jwt1abc",
            "AuthorizerType": "JWT",
            "IdentitySource": ["$request.header.Authorization"],
            "JwtConfiguration": {"Audience": ["orders"], "Issuer": "https://issuer.example.com"},
            "Name": "orders-jwt",
        }])
    );
    assert_eq!(
        http["Deployments"],
        json!([{
            "AutoDeployed": false,
            "CreatedDate": "2024-05-01T10:00:00Z",
            "DeploymentId": "dep1abc",
            "DeploymentStatus": "DEPLOYED",
            "Description": "first",
        }])
    );
    // moto has no ExportApi (404): not available, not an error.
    assert_eq!(http["Export"]["Available"], false, "{http:#}");
    assert!(http["Export"]["Code"].is_string(), "{http:#}");
    assert!(!eu
        .join("http_apis")
        .join(&e.http_id)
        .join("export.json")
        .exists());
    assert!(http.get("Unreadable").is_none(), "{http:#}");

    // --- the WebSocket API.
    let ws = read_json(&eu.join("http_apis").join(&e.ws_id).join("api.json"));
    assert_eq!(ws["Api"]["ProtocolType"], "WEBSOCKET");
    assert_eq!(
        ws["Api"]["RouteSelectionExpression"],
        "$request.body.action"
    );
    let wr = entry(&ws["Routes"], "RouteKey", "$default");
    assert_eq!(
        wr["RouteResponses"],
        json!([{"RouteResponseId": "rr1abc", "RouteResponseKey": "$default"}])
    );
    let wi = entry(&ws["Integrations"], "IntegrationId", &e.ws_integration_id);
    assert_eq!(wi["IntegrationType"], "MOCK");
    assert_eq!(
        wi["IntegrationResponses"][0]["IntegrationResponseKey"],
        "$default"
    );
    assert_eq!(ws["Stages"], json!([]));
    assert_eq!(ws["Models"], json!([]));
    assert_eq!(ws["Export"]["Available"], false);
    assert!(ws.get("Unreadable").is_none(), "{ws:#}");

    // --- eu-west-1 account-level files.
    let ed = read_json(&eu.join("domain_names.json"));
    assert_eq!(ed["Items"].as_array().unwrap().len(), 1, "{ed:#}");
    assert_eq!(ed["Items"][0]["domainName"], "orders.example.com");
    assert!(ed["Items"][0].get("v1").is_none(), "{ed:#}");
    let d2 = &ed["Items"][0]["v2"];
    assert_eq!(d2["DomainName"], "orders.example.com");
    assert_eq!(
        d2["DomainNameConfigurations"][0]["CertificateArn"],
        "arn:aws:acm:eu-west-1:123456789012:certificate/def"
    );
    assert_eq!(
        d2["DomainNameConfigurations"][0]["EndpointType"],
        "REGIONAL"
    );
    let m = &d2["ApiMappings"][0];
    assert_eq!(m["ApiId"], e.http_id.as_str());
    assert_eq!(m["ApiMappingKey"], "v1");
    assert_eq!(m["Stage"], "prod");
    // No usage plan, no API key in eu-west-1: no view (the coverage says they were listed).
    assert!(!eu.join("usage_plans.json").exists());
    assert!(!eu.join("api_keys.json").exists());
    assert!(!eu.join("rest_apis").exists());

    // --- The catalog: every resource under its id, at the path the files above were read from.
    let cat = catalog(&snap);
    let rest = cat.get(&rid("aws.apigateway.rest_api", "us-east-1", &e.rest_id));
    assert_eq!(
        rest["path"],
        format!(
            "api_gateway/{ACCOUNT}/us-east-1/rest_apis/{}/api.json",
            e.rest_id
        )
    );
    for stage in ["dev", "prod"] {
        assert_eq!(
            rest["parts"][format!("export_{stage}.json")]["path"],
            format!(
                "api_gateway/{ACCOUNT}/us-east-1/rest_apis/{}/export_{stage}.json",
                e.rest_id
            ),
            "{rest:#}"
        );
    }
    assert!(rest.get("incomplete").is_none(), "{rest:#}");
    for id in [&e.http_id, &e.ws_id] {
        let r = cat.get(&rid("aws.apigatewayv2.api", "eu-west-1", id));
        assert_eq!(
            r["path"],
            format!("api_gateway/{ACCOUNT}/eu-west-1/http_apis/{id}/api.json")
        );
        // moto has no ExportApi: no part.
        assert!(r.get("parts").is_none(), "{r:#}");
    }
    let members = [
        rid(
            "aws.apigateway.domain_name",
            "us-east-1",
            "api.shop.example.com",
        ),
        rid(
            "aws.apigateway.domain_name",
            "eu-west-1",
            "orders.example.com",
        ),
        rid("aws.apigateway.usage_plan", "us-east-1", &e.plan_id),
        rid("aws.apigateway.api_key", "us-east-1", &e.key_id),
    ];
    for id in &members {
        // Member kinds: in the store and the region's view, no document path of their own.
        let r = cat.get(id);
        assert!(r.get("path").is_none(), "{r:#}");
        assert!(r["blob"].is_string() && r["digest"].is_string(), "{r:#}");
    }
    let ours: Vec<&String> = cat
        .records
        .keys()
        .filter(|k| k.starts_with("aws.apigateway"))
        .collect();
    assert_eq!(ours.len(), 7, "{ours:#?}");
    for kind in KINDS {
        for region in ["us-east-1", "eu-west-1"] {
            assert_eq!(cat.state(kind, region), "complete", "{kind} {region}");
        }
    }

    // --- MANIFEST.md.
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(
        manifest.contains("| us-east-1 | 1 | 0 | 1 | 1 | 1 |"),
        "{manifest}"
    );
    assert!(
        manifest.contains("| eu-west-1 | 0 | 2 | 1 | 0 | 0 |"),
        "{manifest}"
    );
    assert!(
        manifest.contains(&format!(
            "| shop | {} | REST | us-east-1 | dev, prod | swagger 2.0 |",
            e.rest_id
        )),
        "{manifest}"
    );
    assert!(
        manifest.contains(&format!(
            "| orders | {} | HTTP | eu-west-1 | prod | not available |",
            e.http_id
        )),
        "{manifest}"
    );

    assert!(
        manifest.contains(&format!(
            "| chat | {} | WEBSOCKET | eu-west-1 | - | not supported |",
            e.ws_id
        )),
        "{manifest}"
    );

    let planted = [
        ("stage secret", p.stage_secret.as_str()),
        ("HTTP API stage secret", p.http_secret.as_str()),
        ("API key value", p.key_value.as_str()),
    ];
    assert_nowhere(&repo, &planted, &[&first.out, &first.err]);

    // ---------------------------------------------------------------- unchanged: no new blob
    let blobs = blob_count(&repo);
    let second = run(&repo, &endpoint, "second", true);
    assert_eq!(second.code, Some(0), "{}\n{}", second.out, second.err);
    let c2 = &second.meta["collectors"]["apigateway"];
    assert_eq!(c2["status"], "complete", "{c2:#}");
    assert_eq!(c2["blobs_new"], 0, "{c2:#}");
    let snap2 = snapshot_dir(&repo, &second.meta);
    for f in walk_files(&snap.join("api_gateway")) {
        let rel = f.strip_prefix(&snap).unwrap();
        assert_eq!(
            std::fs::read(&f).unwrap(),
            std::fs::read(snap2.join(rel)).unwrap(),
            "{} changed",
            rel.display()
        );
    }
    // Only the snapshot's own records (metadata, manifest, index) may be new.
    let added = blob_count(&repo) - blobs;
    assert!(added <= 3, "{added} blobs added by an unchanged snapshot");
    // Every resource again, with the same digest.
    let cat2 = catalog(&snap2);
    let digests = |c: &Cat| -> BTreeMap<String, Value> {
        c.records
            .iter()
            .map(|(k, r)| (k.clone(), r["digest"].clone()))
            .collect()
    };
    assert_eq!(digests(&cat2), digests(&cat));

    // ---------------------------------------------------------------- a variable changes
    let new_secret = format!("sv2-{}", alnum(32));
    let gw_us = aws_sdk_apigateway::Client::new(&conf(&emu.url(), "us-east-1").await);
    gw_us
        .update_stage()
        .rest_api_id(&e.rest_id)
        .stage_name("dev")
        .patch_operations(
            gw::PatchOperation::builder()
                .op(gw::Op::Replace)
                .path("/variables/db_password")
                .value(&new_secret)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let third = run(&repo, &endpoint, "third", false);
    assert_eq!(third.code, Some(0), "{}\n{}", third.out, third.err);
    let snap3 = snapshot_by_label(&repo, "third");
    let api3 = read_json(
        &snap3
            .join(format!("api_gateway/{ACCOUNT}/us-east-1/rest_apis"))
            .join(&e.rest_id)
            .join("api.json"),
    );
    // Only the REST API's digest moved.
    let cat3 = catalog(&snap3);
    for (id, r) in &cat.records {
        let same = r["digest"] == cat3.get(id)["digest"];
        assert_eq!(same, !id.starts_with("aws.apigateway.rest_api:"), "{id}");
    }
    let dev3 = entry(&api3["stages"], "stageName", "dev");
    let m3 = dev3["variables"]["db_password"].as_str().unwrap();
    assert!(is_marker(m3), "{m3}");
    assert_ne!(m3, secret_marker, "the marker must follow the value");
    assert_eq!(dev3["variables"]["log_level"], debug_marker.as_str());
    assert_eq!(
        entry(&api3["stages"], "stageName", "prod"),
        prod,
        "the other stage is unchanged"
    );

    let mut planted = planted.to_vec();
    planted.push(("new stage secret", new_secret.as_str()));
    assert_nowhere(
        &repo,
        &planted,
        &[&second.out, &second.err, &third.out, &third.err],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_reads_are_recorded_with_the_iam_action_and_the_rest_is_captured() {
    let emu = Emulator::start().await.unwrap();
    let p = Planted::new();
    let e = build_estate(&emu.url(), &p).await;
    let endpoint = bridge(
        &emu,
        Some(e.http_id.clone()),
        vec![
            format!("/restapis/{}/stages", e.rest_id),
            "/usageplans".to_string(),
            format!("/v2/apis/{}/routes", e.ws_id),
        ],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let r = run(&repo, &endpoint, "denied", true);
    assert_eq!(r.code, Some(3), "{}\n{}", r.out, r.err);
    let meta = &r.meta;
    assert_eq!(meta["status"], "partial", "{meta:#}");
    let c = &meta["collectors"]["apigateway"];
    assert_eq!(c["status"], "partial", "{c:#}");
    let errors = c["errors"].as_array().unwrap();
    let mut got: Vec<(String, String, String)> = errors
        .iter()
        .map(|e| {
            assert_eq!(e["service"], "apigateway", "{e:#}");
            assert_eq!(e["code"], "AccessDeniedException", "{e:#}");
            (
                e["action"].as_str().unwrap().to_string(),
                e["resource"].as_str().unwrap().to_string(),
                e["message"]
                    .as_str()
                    .unwrap()
                    .split(':')
                    .next()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        (
            "apigateway:GET".to_string(),
            format!(
                "arn:aws:apigateway:us-east-1::/restapis/{}/stages",
                e.rest_id
            ),
            "GetStages".to_string(),
        ),
        (
            "apigateway:GET".to_string(),
            "arn:aws:apigateway:us-east-1::/usageplans".to_string(),
            "GetUsagePlans".to_string(),
        ),
        (
            "apigateway:GET".to_string(),
            "arn:aws:apigateway:eu-west-1::/usageplans".to_string(),
            "GetUsagePlans".to_string(),
        ),
        (
            "apigateway:GET".to_string(),
            format!("arn:aws:apigateway:eu-west-1::/apis/{}/routes", e.ws_id),
            "GetRoutes".to_string(),
        ),
    ];
    want.sort();
    assert_eq!(got, want, "{errors:#?}");
    assert_eq!(c["counts"]["rest_apis"], 1);
    assert_eq!(c["counts"]["http_apis"], 2);

    let snap = snapshot_dir(&repo, meta);
    let api = read_json(
        &snap
            .join(format!("api_gateway/{ACCOUNT}/us-east-1/rest_apis"))
            .join(&e.rest_id)
            .join("api.json"),
    );
    assert!(api.get("stages").is_none(), "{api:#}");
    assert_eq!(
        api["unreadable"],
        json!([{"field": "stages", "operation": "GetStages", "action": "apigateway:GET", "code": "AccessDeniedException"}])
    );
    // Without stages there is no export, but everything else is there.
    assert_eq!(api["exports"], json!([]));
    assert_eq!(api["resources"].as_array().unwrap().len(), 3);
    let ws = read_json(
        &snap
            .join(format!("api_gateway/{ACCOUNT}/eu-west-1/http_apis"))
            .join(&e.ws_id)
            .join("api.json"),
    );
    assert!(ws.get("Routes").is_none());
    assert_eq!(ws["Unreadable"][0]["Operation"], "GetRoutes");
    assert!(ws["Integrations"].is_array());
    // Not listed: no file rather than an empty one.
    let us = snap.join(format!("api_gateway/{ACCOUNT}/us-east-1"));
    assert!(!us.join("usage_plans.json").exists());
    assert!(us.join("api_keys.json").exists());

    // The catalog: the denied listing is failed coverage with its error (so a diff calls the
    // plans "not comparable", never "removed"); the APIs read in part are incomplete.
    let cat = catalog(&snap);
    for region in ["us-east-1", "eu-west-1"] {
        let c = &cat.coverage[&("aws.apigateway.usage_plan".to_string(), region.to_string())];
        assert_eq!(c["state"], "failed", "{c:#}");
        assert_eq!(c["error"]["action"], "apigateway:GET");
        assert_eq!(c["error"]["code"], "AccessDeniedException");
        assert_eq!(
            c["error"]["resource"],
            format!("arn:aws:apigateway:{region}::/usageplans")
        );
        for kind in KINDS.iter().filter(|k| **k != "aws.apigateway.usage_plan") {
            assert_eq!(cat.state(kind, region), "complete", "{kind} {region}");
        }
    }
    assert!(!cat
        .records
        .keys()
        .any(|k| k.starts_with("aws.apigateway.usage_plan:")));
    let rest = cat.get(&rid("aws.apigateway.rest_api", "us-east-1", &e.rest_id));
    assert_eq!(rest["incomplete"], true, "{rest:#}");
    assert!(rest.get("parts").is_none(), "{rest:#}");
    let ws = cat.get(&rid("aws.apigatewayv2.api", "eu-west-1", &e.ws_id));
    assert_eq!(ws["incomplete"], true, "{ws:#}");
    let http = cat.get(&rid("aws.apigatewayv2.api", "eu-west-1", &e.http_id));
    assert!(http.get("incomplete").is_none(), "{http:#}");
    assert!(cat
        .records
        .contains_key(&rid("aws.apigateway.api_key", "us-east-1", &e.key_id)));
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(manifest.contains("apigateway:GET"), "{manifest}");
    assert!(
        manifest.contains("| us-east-1 | 1 | 0 | 1 | not listed | 1 |"),
        "{manifest}"
    );

    let planted = [
        ("stage secret", p.stage_secret.as_str()),
        ("HTTP API stage secret", p.http_secret.as_str()),
        ("API key value", p.key_value.as_str()),
    ];
    assert_nowhere(&repo, &planted, &[&r.out, &r.err]);
}
