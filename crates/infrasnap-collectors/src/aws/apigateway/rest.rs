//! REST APIs (API Gateway v1), one region: GetRestApis (paged), and per API its stages,
//! deployments, resources (embedding methods and integrations), authorizers, request
//! validators, models, gateway responses, and one GetExport per stage; the region's custom
//! domain names with base path mappings, usage plans with their keys, and API keys (never with
//! their values: `includeValues` is false, and no value field is ever written).

use aws_sdk_apigateway::types::{RestApi, Stage};
use futures::{stream, StreamExt};
use serde_json::{Map, Value};

use super::collect::{
    export_format, file_part, gone, unreadable, ApiRow, Doc, RegionCx, Stats, API_CONCURRENCY,
};
use super::json::{sort_by_key, v1, Obj};
use super::ApiGatewayCollector;
use crate::aws::ratelimit::RateLimiter;
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

impl ApiGatewayCollector {
    /// Every REST API of the region; None when they could not be listed.
    pub(super) async fn rest_apis(&self, r: &RegionCx) -> Option<Vec<ApiRow>> {
        let mut apis: Vec<RestApi> =
            match pages_v1!(self.limits.apigateway, r.v1.get_rest_apis()).await {
                Ok(a) => a,
                Err(f) => {
                    r.record("GetRestApis", "/restapis", &f);
                    return None;
                }
            };
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

    /// One REST API: `rest_apis/<id>/api.json` and an export per stage. None when it was
    /// deleted since it was listed.
    async fn rest_api(&self, r: &RegionCx, api: RestApi) -> Option<ApiRow> {
        let id = api.id().unwrap_or_default().to_string();
        let path = format!("/restapis/{id}");
        let dir = self.scope.path(&format!(
            "api_gateway/{}/rest_apis/{}",
            r.region,
            file_part(&id)
        ));
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
                    let file = format!("export_{}.json", file_part(stage));
                    let (format, version) = export_format(&body);
                    let mut st = Stats::default();
                    if r.write(&format!("{dir}/{file}"), body, &mut st) {
                        row.exports += 1;
                    }
                    row.stats.add(st);
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
        let mut st = Stats::default();
        r.write(&format!("{dir}/api.json"), doc.finish(), &mut st);
        row.stats.add(st);
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
        serde_json::from_slice::<Value>(body).map_err(|e| ApiFailure {
            code: Some("UnexpectedContent".into()),
            message: format!(
                "the export is not JSON (content type {}): {e}",
                o.content_type().unwrap_or("not given")
            ),
            status: None,
        })
    }

    /// The v1 view of the region's custom domain names, each with its base path mappings.
    pub(super) async fn v1_domain_names(&self, r: &RegionCx) -> Result<Vec<Value>, ApiFailure> {
        let lim = &self.limits.apigateway;
        let domains = pages_v1!(lim, r.v1.get_domain_names())
            .await
            .inspect_err(|f| r.record("GetDomainNames", "/domainnames", f))?;
        let mut out = Vec::new();
        for d in &domains {
            let name = d.domain_name().unwrap_or_default();
            let res = pages_v1!(lim, r.v1.get_base_path_mappings().domain_name(name)).await;
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

    /// `usage_plans.json`: every usage plan with its keys (ids, types and names; never a
    /// value). None when the plans could not be listed.
    pub(super) async fn usage_plans(
        &self,
        r: &RegionCx,
        base: &str,
        stats: &mut Stats,
    ) -> Option<u64> {
        let lim = &self.limits.apigateway;
        let plans = match pages_v1!(lim, r.v1.get_usage_plans()).await {
            Ok(p) => p,
            Err(f) => {
                r.record("GetUsagePlans", "/usageplans", &f);
                return None;
            }
        };
        let mut out = Vec::new();
        for p in &plans {
            let pid = p.id().unwrap_or_default();
            match pages_v1!(lim, r.v1.get_usage_plan_keys().usage_plan_id(pid)).await {
                Ok(k) => out.push(v1::usage_plan(
                    p,
                    Some(k.iter().map(v1::usage_plan_key).collect()),
                )),
                Err(f) if gone(&f) => {}
                Err(f) => {
                    r.record("GetUsagePlanKeys", &format!("/usageplans/{pid}/keys"), &f);
                    let mut v = v1::usage_plan(p, None);
                    if let Value::Object(m) = &mut v {
                        m.insert(
                            "unreadable".into(),
                            vec![unreadable("keys", "GetUsagePlanKeys", &f, false)].into(),
                        );
                    }
                    out.push(v);
                }
            }
        }
        let n = out.len() as u64;
        let mut doc = Map::new();
        doc.insert("region".into(), r.region.clone().into());
        doc.insert("usagePlans".into(), sort_by_key(out, "id"));
        r.write(
            &format!("{base}/usage_plans.json"),
            Value::Object(doc),
            stats,
        );
        Some(n)
    }

    /// `api_keys.json`: every API key's id, name, state and stages; never its value.
    pub(super) async fn api_keys(
        &self,
        r: &RegionCx,
        base: &str,
        stats: &mut Stats,
    ) -> Option<u64> {
        let lim = &self.limits.apigateway;
        let keys = match pages_v1!(lim, r.v1.get_api_keys().include_values(false)).await {
            Ok(k) => k,
            Err(f) => {
                r.record("GetApiKeys", "/apikeys", &f);
                return None;
            }
        };
        let n = keys.len() as u64;
        let mut doc = Map::new();
        doc.insert("region".into(), r.region.clone().into());
        doc.insert(
            "apiKeys".into(),
            sort_by_key(keys.iter().map(v1::api_key).collect(), "id"),
        );
        r.write(&format!("{base}/api_keys.json"), Value::Object(doc), stats);
        Some(n)
    }
}
