//! REST APIs (API Gateway v1), one region: GetRestApis (paged), and per API its stages,
//! deployments, resources (embedding methods and integrations), authorizers, request
//! validators, models, gateway responses, and one GetExport per stage; the region's custom
//! domain names with base path mappings, usage plans with their keys, and API keys (never with
//! their values: `includeValues` is false, and no value field is ever written).

use aws_sdk_apigateway::types::{RestApi, Stage};
use futures::{stream, StreamExt};
use serde_json::Value;

use super::collect::{
    export_format, gone, unreadable, ApiRow, Doc, RegionCx, Stats, API_CONCURRENCY, API_KEY,
    REST_API, USAGE_PLAN,
};
use super::json::{sort_by_key, v1, Obj};
use super::ApiGatewayCollector;
use crate::aws::ratelimit::{Limit, RateLimiter};
use crate::aws::sdk_error::{describe, ApiFailure};

/// The export asked for: OpenAPI 3 with the API Gateway extensions.
const EXPORT_TYPE: &str = "oas30";

/// Two limiters taken together (the service's, and the slower one for heavy calls).
pub(super) struct Both<'a>(pub &'a RateLimiter, pub &'a RateLimiter);

impl Both<'_> {
    pub async fn acquire(&self) {
        self.0.acquire().await;
        self.1.acquire().await;
    }
}

impl Limit for Both<'_> {
    fn wait(&self) -> impl std::future::Future<Output = ()> + Send {
        self.acquire()
    }
}

impl ApiGatewayCollector {
    /// Every REST API of the region; None when they could not be listed.
    pub(super) async fn rest_apis(&self, r: &RegionCx) -> Option<Vec<ApiRow>> {
        let mut apis: Vec<RestApi> =
            match pages_v1!(self.limits.apigateway, r.v1.get_rest_apis()).await {
                Ok(a) => a,
                Err(f) => {
                    let e = r.record("GetRestApis", "/restapis", &f);
                    r.cover(REST_API, Some(&e));
                    return None;
                }
            };
        r.cover(REST_API, None);
        apis.sort_by(|a, b| a.id().cmp(&b.id()));
        apis.dedup_by(|a, b| a.id() == b.id());
        let mut rows: Vec<ApiRow> = stream::iter(apis)
            .map(|a| self.rest_api(r, a))
            .buffer_unordered(API_CONCURRENCY)
            .filter_map(|x| async move { x })
            .collect()
            .await;
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        Some(rows)
    }

    /// One REST API: its document (`api.json`) and an export per stage (parts
    /// `export_<stage>.json`). None when it was deleted since it was listed.
    async fn rest_api(&self, r: &RegionCx, api: RestApi) -> Option<ApiRow> {
        let id = api.id().unwrap_or_default().to_string();
        let path = format!("/restapis/{id}");
        let rid = r.id(REST_API, &id);
        let lim = &self.limits.apigateway;
        let mut row = ApiRow {
            region: r.region.clone(),
            kind: "REST".into(),
            id: id.clone(),
            name: api.name().unwrap_or_default().to_string(),
            export: "-".into(),
            ..Default::default()
        };
        let mut doc = Doc::new(false);
        doc.insert("region", r.region.clone());
        doc.insert("restApi", v1::rest_api(&api));

        // Stages (one call, not paged).
        lim.acquire().await;
        let mut stages: Vec<Stage> = match r.v1.get_stages().rest_api_id(&id).send().await {
            Ok(o) => o.item().to_vec(),
            Err(e) => {
                let f = describe(&e);
                if gone(&f) {
                    return None;
                }
                doc.failed(r, "stages", "GetStages", &format!("{path}/stages"), &f);
                Vec::new()
            }
        };
        stages.sort_by(|a, b| a.stage_name().cmp(&b.stage_name()));
        if !doc.has_unreadable() {
            let v: Vec<Value> = stages.iter().map(|s| v1::stage(s, r.fp())).collect();
            doc.insert("stages", sort_by_key(v, "stageName"));
        }
        row.stages = stages
            .iter()
            .filter_map(|s| s.stage_name().map(str::to_string))
            .collect();
        let kept = r.kept_vars(stages.iter().flat_map(|s| {
            [
                s.variables(),
                s.canary_settings()
                    .and_then(|c| c.stage_variable_overrides()),
            ]
        }));

        let res = pages_v1!(lim, r.v1.get_deployments().rest_api_id(&id))
            .await
            .map(|v| v.iter().map(v1::deployment).collect());
        let p = format!("{path}/deployments");
        doc.list(r, "deployments", ("GetDeployments", &p), res, "id");
        let heavy = Both(lim, &r.slow);
        let res = pages_v1!(
            heavy,
            r.v1.get_resources().rest_api_id(&id).embed("methods")
        )
        .await
        .map(|v| v.iter().map(v1::resource).collect());
        let p = format!("{path}/resources");
        doc.list(r, "resources", ("GetResources", &p), res, "path");
        let res = pages_v1!(lim, r.v1.get_authorizers().rest_api_id(&id))
            .await
            .map(|v| v.iter().map(v1::authorizer).collect());
        let p = format!("{path}/authorizers");
        doc.list(r, "authorizers", ("GetAuthorizers", &p), res, "id");
        let res = pages_v1!(lim, r.v1.get_request_validators().rest_api_id(&id))
            .await
            .map(|v| v.iter().map(v1::request_validator).collect());
        let p = format!("{path}/requestvalidators");
        doc.list(
            r,
            "requestValidators",
            ("GetRequestValidators", &p),
            res,
            "id",
        );
        let res = pages_v1!(lim, r.v1.get_models().rest_api_id(&id))
            .await
            .map(|v| v.iter().map(v1::model).collect());
        let p = format!("{path}/models");
        doc.list(r, "models", ("GetModels", &p), res, "name");
        let res = pages_v1!(lim, r.v1.get_gateway_responses().rest_api_id(&id))
            .await
            .map(|v| v.iter().map(v1::gateway_response).collect());
        let p = format!("{path}/gatewayresponses");
        doc.list(
            r,
            "gatewayResponses",
            ("GetGatewayResponses", &p),
            res,
            "responseType",
        );

        // One export per stage, written as the service returned it.
        let mut exports: Vec<Value> = Vec::new();
        let mut formats: Vec<String> = Vec::new();
        for stage in &row.stages {
            let export_path = format!("{path}/stages/{stage}/exports/{EXPORT_TYPE}");
            match self.export(r, &id, stage).await {
                Ok(body) => {
                    let file = format!("export_{stage}.json");
                    let (format, version) = export_format(&body);
                    let mut st = Stats::default();
                    if r.put_part(&rid, &file, body, &mut st) {
                        row.exports += 1;
                    }
                    row.stats.merge(st);
                    formats.push(
                        [Some(format.clone()), version.clone()]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(" "),
                    );
                    exports.push(
                        Obj::new()
                            .s("stageName", Some(stage))
                            .s("file", Some(&file))
                            .s("requestedType", Some(EXPORT_TYPE))
                            .s("format", Some(&format))
                            .s("formatVersion", version.as_deref())
                            .build(),
                    );
                }
                Err(f) if gone(&f) => {}
                Err(f) => doc.failed(
                    r,
                    &format!("exports/{stage}"),
                    "GetExport",
                    &export_path,
                    &f,
                ),
            }
        }
        formats.sort();
        formats.dedup();
        if !formats.is_empty() {
            row.export = formats.join(", ");
        }
        doc.insert("exports", sort_by_key(exports, "stageName"));
        if doc.has_unreadable() {
            r.cx.mark_incomplete(&rid);
        }
        let mut st = Stats::default();
        r.put(&rid, doc.finish(), &mut st);
        r.keep(&rid, &kept);
        row.stats.merge(st);
        Some(row)
    }

    /// GetExport of one stage, parsed. A body that is not JSON is an error (nothing written).
    async fn export(&self, r: &RegionCx, id: &str, stage: &str) -> Result<Value, ApiFailure> {
        Both(&self.limits.apigateway, &r.slow).acquire().await;
        let o =
            r.v1.get_export()
                .rest_api_id(id)
                .stage_name(stage)
                .export_type(EXPORT_TYPE)
                .parameters("extensions", "apigateway")
                .accepts("application/json")
                .send()
                .await
                .map_err(|e| describe(&e))?;
        let body = o.body().map(|b| b.as_ref()).unwrap_or_default();
        serde_json::from_slice::<Value>(body).map_err(|e| {
            ApiFailure::new(
                "UnexpectedContent",
                format!(
                    "the export is not JSON (content type {}): {e}",
                    o.content_type().unwrap_or("not given")
                ),
            )
        })
    }

    /// The v1 view of the region's custom domain names, each with its base path mappings. A
    /// failed listing is for the caller to record.
    pub(super) async fn v1_domain_names(&self, r: &RegionCx) -> Result<Vec<Value>, ApiFailure> {
        let lim = &self.limits.apigateway;
        let domains = pages_v1!(lim, r.v1.get_domain_names()).await?;
        let mut out = Vec::new();
        for d in &domains {
            let name = d.domain_name().unwrap_or_default();
            let res = pages_v1!(
                lim,
                r.v1.get_base_path_mappings()
                    .domain_name(name)
                    .set_domain_name_id(d.domain_name_id().map(str::to_string))
            )
            .await;
            match res {
                Ok(m) => out.push(v1::domain_name(
                    d,
                    Some(m.iter().map(v1::base_path_mapping).collect()),
                )),
                Err(f) if gone(&f) => {}
                Err(f) => {
                    r.record(
                        "GetBasePathMappings",
                        &format!("/domainnames/{name}/basepathmappings"),
                        &f,
                    );
                    // Noted in the domain name; the catalog marks it incomplete.
                    let mut v = v1::domain_name(d, None);
                    if let Value::Object(m) = &mut v {
                        m.insert(
                            "unreadable".into(),
                            vec![unreadable(
                                "basePathMappings",
                                "GetBasePathMappings",
                                &f,
                                false,
                            )]
                            .into(),
                        );
                    }
                    out.push(v);
                }
            }
        }
        Ok(match sort_by_key(out, "domainName") {
            Value::Array(a) => a,
            _ => Vec::new(),
        })
    }

    /// Every usage plan, one `aws.apigateway.usage_plan` each, with its keys (ids, types and
    /// names; never a value). None when the plans could not be listed.
    pub(super) async fn usage_plans(&self, r: &RegionCx, stats: &mut Stats) -> Option<u64> {
        let lim = &self.limits.apigateway;
        let plans = match pages_v1!(lim, r.v1.get_usage_plans()).await {
            Ok(p) => p,
            Err(f) => {
                let e = r.record("GetUsagePlans", "/usageplans", &f);
                r.cover(USAGE_PLAN, Some(&e));
                return None;
            }
        };
        r.cover(USAGE_PLAN, None);
        let mut n = 0;
        for p in &plans {
            let pid = p.id().unwrap_or_default();
            let rid = r.id(USAGE_PLAN, pid);
            let doc = match pages_v1!(lim, r.v1.get_usage_plan_keys().usage_plan_id(pid)).await {
                Ok(k) => v1::usage_plan(p, Some(k.iter().map(v1::usage_plan_key).collect())),
                Err(f) if gone(&f) => continue,
                Err(f) => {
                    r.record("GetUsagePlanKeys", &format!("/usageplans/{pid}/keys"), &f);
                    let mut v = v1::usage_plan(p, None);
                    if let Value::Object(m) = &mut v {
                        m.insert(
                            "unreadable".into(),
                            vec![unreadable("keys", "GetUsagePlanKeys", &f, false)].into(),
                        );
                    }
                    r.cx.mark_incomplete(&rid);
                    v
                }
            };
            r.put(&rid, doc, stats);
            n += 1;
        }
        Some(n)
    }

    /// Every API key, one `aws.apigateway.api_key` each: id, name, state and stages; never its
    /// value. None when the keys could not be listed.
    pub(super) async fn api_keys(&self, r: &RegionCx, stats: &mut Stats) -> Option<u64> {
        let lim = &self.limits.apigateway;
        let keys = match pages_v1!(lim, r.v1.get_api_keys().include_values(false)).await {
            Ok(k) => k,
            Err(f) => {
                let e = r.record("GetApiKeys", "/apikeys", &f);
                r.cover(API_KEY, Some(&e));
                return None;
            }
        };
        r.cover(API_KEY, None);
        for k in &keys {
            r.put(
                &r.id(API_KEY, k.id().unwrap_or_default()),
                v1::api_key(k),
                stats,
            );
        }
        Some(keys.len() as u64)
    }
}
