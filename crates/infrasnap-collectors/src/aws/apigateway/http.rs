//! HTTP and WebSocket APIs (API Gateway v2), one region: GetApis (paged), and per API its
//! routes, integrations, stages, authorizers and deployments; for WebSocket APIs also route
//! responses, integration responses and models; for HTTP APIs ExportApi (OAS30 with the API
//! Gateway extensions). An export the service does not offer (404, or a 400 for this API) is
//! recorded in `api.json` as not available, not as an error of the run. Also the v2 view of
//! the region's custom domain names with their API mappings.

use aws_sdk_apigatewayv2::types::{Api, Integration, Route, Stage};
use futures::{stream, StreamExt};
use serde_json::Value;

use super::collect::{
    export_format, gone, unreadable, ApiRow, Doc, RegionCx, Stats, API_CONCURRENCY, V2_API,
};
use super::json::{sort_by_key, v2, Obj};
use super::rest::Both;
use super::ApiGatewayCollector;
use crate::aws::sdk_error::{describe, ApiFailure};

/// The export asked for.
const SPECIFICATION: &str = "OAS30";
const EXPORT_FILE: &str = "export.json";

/// True when ExportApi's failure means "no export for this API" rather than a failed call.
fn export_unavailable(f: &ApiFailure) -> bool {
    f.code_in(&["NotFoundException", "BadRequestException"])
        || (f.code.is_none() && matches!(f.status, Some(400 | 404)))
}

impl ApiGatewayCollector {
    /// Every HTTP and WebSocket API of the region; None when they could not be listed.
    pub(super) async fn http_apis(&self, r: &RegionCx) -> Option<Vec<ApiRow>> {
        let mut apis: Vec<Api> = match pages_v2!(self.limits.apigateway, r.v2.get_apis()).await {
            Ok(a) => a,
            Err(f) => {
                let e = r.record("GetApis", "/apis", &f);
                r.cover(V2_API, Some(&e));
                return None;
            }
        };
        r.cover(V2_API, None);
        apis.sort_by(|a, b| a.api_id().cmp(&b.api_id()));
        apis.dedup_by(|a, b| a.api_id() == b.api_id());
        let mut rows: Vec<ApiRow> = stream::iter(apis)
            .map(|a| self.http_api(r, a))
            .buffer_unordered(API_CONCURRENCY)
            .filter_map(|x| async move { x })
            .collect()
            .await;
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        Some(rows)
    }

    /// One HTTP or WebSocket API: its document (`api.json`), and the part `export.json` where
    /// the service offers one. None when it was deleted since it was listed.
    async fn http_api(&self, r: &RegionCx, api: Api) -> Option<ApiRow> {
        let id = api.api_id().unwrap_or_default().to_string();
        let path = format!("/apis/{id}");
        let rid = r.id(V2_API, &id);
        let lim = &self.limits.apigateway;
        let kind = api
            .protocol_type()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "?".into());
        let websocket = kind == "WEBSOCKET";
        let mut row = ApiRow {
            region: r.region.clone(),
            kind: kind.clone(),
            id: id.clone(),
            name: api.name().unwrap_or_default().to_string(),
            export: "-".into(),
            ..Default::default()
        };
        let mut doc = Doc::new(true);
        doc.insert("Region", r.region.clone());
        doc.insert("Api", v2::api(&api));

        let p = format!("{path}/stages");
        let mut kept = Default::default();
        match pages_v2!(lim, r.v2.get_stages().api_id(&id)).await {
            Ok(mut stages) => {
                kept = r.kept_vars(stages.iter().map(|s| s.stage_variables()));
                stages.sort_by(|a: &Stage, b: &Stage| a.stage_name().cmp(&b.stage_name()));
                row.stages = stages
                    .iter()
                    .filter_map(|s| s.stage_name().map(str::to_string))
                    .collect();
                let v = stages.iter().map(|s| v2::stage(s, r.fp())).collect();
                doc.insert("Stages", sort_by_key(v, "StageName"));
            }
            Err(f) if gone(&f) => return None,
            Err(f) => doc.failed(r, "Stages", "GetStages", &p, &f),
        }

        let p = format!("{path}/routes");
        match pages_v2!(lim, r.v2.get_routes().api_id(&id)).await {
            Ok(routes) => {
                let mut v = Vec::new();
                for route in &routes {
                    v.push(self.route(r, &mut doc, &id, route, websocket).await);
                }
                doc.insert("Routes", sort_by_key(v, "RouteKey"));
            }
            Err(f) => doc.list(r, "Routes", ("GetRoutes", &p), Err(f), ""),
        }

        let p = format!("{path}/integrations");
        match pages_v2!(lim, r.v2.get_integrations().api_id(&id)).await {
            Ok(integrations) => {
                let mut v = Vec::new();
                for i in &integrations {
                    v.push(self.integration(r, &mut doc, &id, i, websocket).await);
                }
                doc.insert("Integrations", sort_by_key(v, "IntegrationId"));
            }
            Err(f) => doc.list(r, "Integrations", ("GetIntegrations", &p), Err(f), ""),
        }

        let res = pages_v2!(lim, r.v2.get_authorizers().api_id(&id))
            .await
            .map(|v| v.iter().map(v2::authorizer).collect());
        let p = format!("{path}/authorizers");
        doc.list(
            r,
            "Authorizers",
            ("GetAuthorizers", &p),
            res,
            "AuthorizerId",
        );
        let res = pages_v2!(lim, r.v2.get_deployments().api_id(&id))
            .await
            .map(|v| v.iter().map(v2::deployment).collect());
        let p = format!("{path}/deployments");
        doc.list(
            r,
            "Deployments",
            ("GetDeployments", &p),
            res,
            "DeploymentId",
        );
        if websocket {
            // Models exist for WebSocket APIs only.
            let res = pages_v2!(lim, r.v2.get_models().api_id(&id))
                .await
                .map(|v| v.iter().map(v2::model).collect());
            let p = format!("{path}/models");
            doc.list(r, "Models", ("GetModels", &p), res, "Name");
        }

        // The export: HTTP APIs only (ExportApi does not support WebSocket APIs).
        let export = if websocket {
            row.export = "not supported".into();
            Obj::new()
                .v("Available", false)
                .s("Reason", Some("ExportApi supports HTTP APIs only"))
                .build()
        } else {
            match self.export_v2(r, &id).await {
                Ok(body) => {
                    let (format, version) = export_format(&body);
                    let mut st = Stats::default();
                    if r.put_part(&rid, EXPORT_FILE, body, &mut st) {
                        row.exports += 1;
                    }
                    row.stats.merge(st);
                    row.export = [Some(format.clone()), version.clone()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ");
                    Obj::new()
                        .v("Available", true)
                        .s("File", Some(EXPORT_FILE))
                        .s("Specification", Some(SPECIFICATION))
                        .s("Format", Some(&format))
                        .s("FormatVersion", version.as_deref())
                        .build()
                }
                Err(f) if export_unavailable(&f) => {
                    row.export = "not available".into();
                    let code = f
                        .code
                        .clone()
                        .or_else(|| f.status.map(|s| format!("HTTP {s}")));
                    Obj::new()
                        .v("Available", false)
                        .s("Code", code.as_deref())
                        .build()
                }
                Err(f) => {
                    let p = format!("{path}/exports/{SPECIFICATION}");
                    doc.failed(r, "Export", "ExportApi", &p, &f);
                    Value::Null
                }
            }
        };
        if !export.is_null() {
            doc.insert("Export", export);
        }
        if doc.has_unreadable() {
            r.cx.mark_incomplete(&rid);
        }
        let mut st = Stats::default();
        r.put(&rid, doc.finish(), &mut st);
        r.keep(&rid, &kept);
        row.stats.merge(st);
        Some(row)
    }

    /// A route, with its route responses on a WebSocket API.
    async fn route(
        &self,
        r: &RegionCx,
        doc: &mut Doc,
        id: &str,
        route: &Route,
        websocket: bool,
    ) -> Value {
        if !websocket {
            return v2::route(route, None);
        }
        let rid = route.route_id().unwrap_or_default();
        let res = pages_v2!(
            self.limits.apigateway,
            r.v2.get_route_responses().api_id(id).route_id(rid)
        )
        .await;
        match res {
            Ok(v) => v2::route(route, Some(v.iter().map(v2::route_response).collect())),
            Err(f) => {
                if !gone(&f) {
                    let p = format!("/apis/{id}/routes/{rid}/routeresponses");
                    doc.failed(
                        r,
                        &format!("Routes/{rid}/RouteResponses"),
                        "GetRouteResponses",
                        &p,
                        &f,
                    );
                }
                v2::route(route, None)
            }
        }
    }

    /// An integration, with its integration responses on a WebSocket API.
    async fn integration(
        &self,
        r: &RegionCx,
        doc: &mut Doc,
        id: &str,
        i: &Integration,
        websocket: bool,
    ) -> Value {
        if !websocket {
            return v2::integration(i, None);
        }
        let iid = i.integration_id().unwrap_or_default();
        let res = pages_v2!(
            self.limits.apigateway,
            r.v2.get_integration_responses()
                .api_id(id)
                .integration_id(iid)
        )
        .await;
        match res {
            Ok(v) => v2::integration(i, Some(v.iter().map(v2::integration_response).collect())),
            Err(f) => {
                if !gone(&f) {
                    let p = format!("/apis/{id}/integrations/{iid}/integrationresponses");
                    doc.failed(
                        r,
                        &format!("Integrations/{iid}/IntegrationResponses"),
                        "GetIntegrationResponses",
                        &p,
                        &f,
                    );
                }
                v2::integration(i, None)
            }
        }
    }

    /// ExportApi (OAS30, JSON, with the API Gateway extensions) of the API's latest
    /// configuration, parsed.
    async fn export_v2(&self, r: &RegionCx, id: &str) -> Result<Value, ApiFailure> {
        Both(&self.limits.apigateway, &r.slow).acquire().await;
        let o =
            r.v2.export_api()
                .api_id(id)
                .specification(SPECIFICATION)
                .output_type("JSON")
                .include_extensions(true)
                .send()
                .await
                .map_err(|e| describe(&e))?;
        let body = o.body().map(|b| b.as_ref()).unwrap_or_default();
        serde_json::from_slice::<Value>(body).map_err(|e| {
            ApiFailure::new("UnexpectedContent", format!("the export is not JSON: {e}"))
        })
    }

    /// The v2 view of the region's custom domain names, each with its API mappings. A failed
    /// listing is for the caller to record.
    pub(super) async fn v2_domain_names(&self, r: &RegionCx) -> Result<Vec<Value>, ApiFailure> {
        let lim = &self.limits.apigateway;
        let domains = pages_v2!(lim, r.v2.get_domain_names()).await?;
        let mut out = Vec::new();
        for d in &domains {
            let name = d.domain_name().unwrap_or_default();
            match pages_v2!(lim, r.v2.get_api_mappings().domain_name(name)).await {
                Ok(m) => out.push(v2::domain_name(
                    d,
                    Some(m.iter().map(v2::api_mapping).collect()),
                )),
                Err(f) if gone(&f) => {}
                Err(f) => {
                    r.record(
                        "GetApiMappings",
                        &format!("/domainnames/{name}/apimappings"),
                        &f,
                    );
                    let mut v = v2::domain_name(d, None);
                    if let Value::Object(m) = &mut v {
                        m.insert(
                            "Unreadable".into(),
                            vec![unreadable("ApiMappings", "GetApiMappings", &f, true)].into(),
                        );
                    }
                    out.push(v);
                }
            }
        }
        Ok(match sort_by_key(out, "DomainName") {
            Value::Array(a) => a,
            _ => Vec::new(),
        })
    }
}
