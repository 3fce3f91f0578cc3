//! API Gateway writer.
//!
//! REST APIs (`aws.apigateway.rest_api`): the API's definition comes back by importing the
//! OpenAPI export the snapshot holds (PutRestApi, mode `overwrite`, into the live API; an API
//! that is gone is created first with CreateRestApi from the captured settings, since the
//! export does not carry tags, endpoint type or key source, and then overwritten the same way);
//! then its stages: each points at the snapshot's deployment when that deployment still exists,
//! else at a new deployment of the restored definition; stage variables are put back (a value
//! the snapshot holds only as a fingerprint is left as it is live; the plan checked it is
//! equal), and live stages, stage variables and unused deployments the snapshot lacks are
//! removed.
//!
//! HTTP and WebSocket APIs (`aws.apigatewayv2.api`): integrations, routes and stages through
//! their create/update/delete calls (the captured export is not imported: ReimportApi would
//! replace routes by the export's, and WebSocket APIs have none). An API that is gone is created
//! again and gets a new id.
//!
//! Not restored: API keys' values (never captured), usage plans and their keys, custom domain
//! names and their mappings (they need their ACM certificate), v2 authorizers, WebSocket route
//! and integration responses and models. The plan says so.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_apigateway::types as v1t;
use aws_sdk_apigateway::Client as V1;
use aws_sdk_apigatewayv2::types as v2t;
use aws_sdk_apigatewayv2::Client as V2;
use infrasnap_core::diff::json::text_has_marker;
use infrasnap_core::restore::{Action, Step};
use serde_json::Value;

use super::{Context, WriteError};

pub const REST_API: &str = "aws.apigateway.rest_api";
pub const V2_API: &str = "aws.apigatewayv2.api";

/// The kinds this writer restores.
pub const KINDS: &[&str] = &[REST_API, V2_API];

fn s(v: &Value, p: &str) -> Option<String> {
    v.pointer(p).and_then(Value::as_str).map(str::to_string)
}

fn b(v: &Value, p: &str) -> Option<bool> {
    v.pointer(p).and_then(Value::as_bool)
}

fn strs(v: &Value, p: &str) -> Vec<String> {
    v.pointer(p)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// A `{name: text}` map of the document.
fn str_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

/// Whether an update changed a member under one of `prefixes` (a create writes everything).
fn touches(step: &Step, prefixes: &[&str]) -> bool {
    match &step.action {
        Action::Update { fields, .. } => fields.iter().any(|f| {
            prefixes
                .iter()
                .any(|p| f.field == *p || f.field.starts_with(&format!("{p}/")))
        }),
        _ => true,
    }
}

/// Write one API step.
pub async fn write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    let region = step.target.region.clone();
    if step.target.kind == REST_API {
        let c = V1::from_conf(
            aws_sdk_apigateway::config::Builder::from(&cx.sdk)
                .region(aws_sdk_apigateway::config::Region::new(region))
                .build(),
        );
        rest_api(cx, step, &c).await
    } else {
        let c = V2::from_conf(
            aws_sdk_apigatewayv2::config::Builder::from(&cx.sdk)
                .region(aws_sdk_apigatewayv2::config::Region::new(region))
                .build(),
        );
        http_api(cx, step, &c).await
    }
}

// ---------------------------------------------------------------------------------------------
// REST APIs
// ---------------------------------------------------------------------------------------------

/// The export to import: the one of the stage serving the newest deployment (an API's working
/// definition is what was deployed last), else the first.
fn pick_export<'a>(
    step: &'a Step,
    doc: &Value,
) -> Option<(&'a str, &'a infrasnap_core::ids::BlobId)> {
    let created: HashMap<String, String> = doc
        .get("deployments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| Some((s(d, "/id")?, s(d, "/createdDate").unwrap_or_default())))
        .collect();
    let mut best: Option<(String, &str, &infrasnap_core::ids::BlobId)> = None;
    for st in doc
        .get("stages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = s(st, "/stageName").unwrap_or_default();
        let Some((part, blob)) = step.parts.get_key_value(&format!("export_{name}.json")) else {
            continue;
        };
        let when = s(st, "/deploymentId")
            .and_then(|d| created.get(&d).cloned())
            .unwrap_or_default();
        if best.as_ref().is_none_or(|(w, _, _)| when > *w) {
            best = Some((when, part.as_str(), blob));
        }
    }
    best.map(|(_, p, b)| (p, b))
        .or_else(|| step.parts.iter().next().map(|(p, b)| (p.as_str(), b)))
}

async fn rest_api(cx: &Context, step: &Step, c: &V1) -> Result<(), WriteError> {
    let old = step.target.id.as_str();
    let call = |op: &str, id: &str| format!("apigateway:{op} {id}");
    if matches!(step.action, Action::Delete) {
        return c
            .delete_rest_api()
            .rest_api_id(old)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| WriteError::sdk(&call("DeleteRestApi", old), &e));
    }
    let doc = cx.document(step)?;
    let api = doc.get("restApi").cloned().unwrap_or(Value::Null);
    let create = matches!(step.action, Action::Create { .. });
    let id = if create {
        let name = s(&api, "/name").unwrap_or_default();
        let mut req = c
            .create_rest_api()
            .name(&name)
            .set_description(s(&api, "/description"))
            .set_version(s(&api, "/version"))
            .set_api_key_source(
                s(&api, "/apiKeySource").map(|k| v1t::ApiKeySourceType::from(k.as_str())),
            )
            .set_binary_media_types(Some(strs(&api, "/binaryMediaTypes")).filter(|v| !v.is_empty()))
            .set_minimum_compression_size(
                api.get("minimumCompressionSize")
                    .and_then(Value::as_i64)
                    .map(|n| n as i32),
            )
            .set_disable_execute_api_endpoint(b(&api, "/disableExecuteApiEndpoint"))
            .set_tags(
                Some(str_map(api.get("tags")).into_iter().collect())
                    .filter(|m: &HashMap<String, String>| !m.is_empty()),
            );
        let types = strs(&api, "/endpointConfiguration/types");
        if !types.is_empty() {
            req = req.endpoint_configuration(
                v1t::EndpointConfiguration::builder()
                    .set_types(Some(
                        types
                            .iter()
                            .map(|t| v1t::EndpointType::from(t.as_str()))
                            .collect(),
                    ))
                    .build(),
            );
        }
        if let Some(p) = api.get("policy").filter(|p| !p.is_null()) {
            req = req.policy(match p {
                Value::String(t) => t.clone(),
                other => other.to_string(),
            });
        }
        let out = req
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("CreateRestApi", &name), &e))?;
        out.id().unwrap_or_default().to_string()
    } else {
        if touches(step, &["/restApi/description"]) {
            let op = match s(&api, "/description") {
                Some(d) => v1t::PatchOperation::builder()
                    .op(v1t::Op::Replace)
                    .path("/description")
                    .value(d)
                    .build(),
                None => v1t::PatchOperation::builder()
                    .op(v1t::Op::Remove)
                    .path("/description")
                    .build(),
            };
            c.update_rest_api()
                .rest_api_id(old)
                .patch_operations(op)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("UpdateRestApi", old), &e))?;
        }
        old.to_string()
    };

    // The definition: resources, methods, integrations, authorizers, models, validators.
    let definition = [
        "/resources",
        "/authorizers",
        "/models",
        "/requestValidators",
        "/gatewayResponses",
        "/restApi/binaryMediaTypes",
        "/restApi/policy",
        "/restApi/minimumCompressionSize",
        "/restApi/apiKeySource",
    ];
    if touches(step, &definition) {
        let Some((part, blob)) = pick_export(step, &doc) else {
            return Err(WriteError::new(format!(
                "the snapshot holds no export of REST API {old} (it had no stage), so its \
                 resources and methods cannot be imported; recreate them by hand from its api.json"
            )));
        };
        let bytes = std::fs::read(cx.blob_path(blob))
            .map_err(|e| WriteError::new(format!("read {part} of {old}: {e}")))?;
        if text_has_marker(&String::from_utf8_lossy(&bytes)) {
            return Err(WriteError::new(format!(
                "{part} of REST API {old} holds redacted values (fingerprints, not the values): \
                 it cannot be imported as it is"
            )));
        }
        c.put_rest_api()
            .rest_api_id(&id)
            .mode(v1t::PutMode::Overwrite)
            .fail_on_warnings(false)
            .body(aws_smithy_types::Blob::new(bytes))
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("PutRestApi", &id), &e))?;
    }
    rest_stages(c, step, &doc, &id, create).await
}

/// Stages, their deployments and variables, as the snapshot's.
async fn rest_stages(
    c: &V1,
    step: &Step,
    doc: &Value,
    id: &str,
    create: bool,
) -> Result<(), WriteError> {
    let call = |op: &str| format!("apigateway:{op} {id}");
    let deployments: Vec<String> = c
        .get_deployments()
        .rest_api_id(id)
        .limit(500)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&call("GetDeployments"), &e))?
        .items()
        .iter()
        .filter_map(|d| d.id().map(str::to_string))
        .collect();
    let live: HashMap<String, v1t::Stage> = c
        .get_stages()
        .rest_api_id(id)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&call("GetStages"), &e))?
        .item()
        .iter()
        .filter_map(|s| Some((s.stage_name()?.to_string(), s.clone())))
        .collect();
    let want: Vec<Value> = doc
        .get("stages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut fresh: Option<String> = None;
    let mut used: Vec<String> = Vec::new();
    for st in &want {
        let name = s(st, "/stageName").unwrap_or_default();
        // The snapshot's deployment, or one of the restored definition.
        let dep = match s(st, "/deploymentId").filter(|d| deployments.contains(d)) {
            Some(d) => d,
            None => match &fresh {
                Some(d) => d.clone(),
                None => {
                    let d = c
                        .create_deployment()
                        .rest_api_id(id)
                        .description("infrasnap restore")
                        .send()
                        .await
                        .map_err(|e| WriteError::sdk(&call("CreateDeployment"), &e))?
                        .id()
                        .unwrap_or_default()
                        .to_string();
                    fresh = Some(d.clone());
                    d
                }
            },
        };
        used.push(dep.clone());
        let vars = str_map(st.get("variables"));
        match live.get(&name) {
            None => {
                let mut req = c
                    .create_stage()
                    .rest_api_id(id)
                    .stage_name(&name)
                    .deployment_id(&dep)
                    .set_description(s(st, "/description"))
                    .set_tracing_enabled(b(st, "/tracingEnabled"))
                    .set_cache_cluster_enabled(b(st, "/cacheClusterEnabled"))
                    .set_cache_cluster_size(
                        s(st, "/cacheClusterSize").map(|x| v1t::CacheClusterSize::from(x.as_str())),
                    );
                for (k, v) in &vars {
                    if text_has_marker(v) {
                        return Err(WriteError::new(format!(
                            "stage {name} of REST API {id}: the value of stage variable {k} \
                             is not in the snapshot (a fingerprint only): it needs values"
                        )));
                    }
                    req = req.variables(k, v);
                }
                for (k, v) in str_map(st.get("tags")) {
                    req = req.tags(k, v);
                }
                req.send()
                    .await
                    .map_err(|e| WriteError::sdk(&call(&format!("CreateStage {name}")), &e))?;
            }
            Some(l) => {
                let mut ops = Vec::new();
                let patch = |op: v1t::Op, path: String, value: Option<String>| {
                    v1t::PatchOperation::builder()
                        .op(op)
                        .path(path)
                        .set_value(value)
                        .build()
                };
                if l.deployment_id() != Some(dep.as_str()) {
                    ops.push(patch(
                        v1t::Op::Replace,
                        "/deploymentId".into(),
                        Some(dep.clone()),
                    ));
                }
                if l.description() != s(st, "/description").as_deref() {
                    ops.push(patch(
                        v1t::Op::Replace,
                        "/description".into(),
                        Some(s(st, "/description").unwrap_or_default()),
                    ));
                }
                let tracing = b(st, "/tracingEnabled").unwrap_or(false);
                if l.tracing_enabled() != tracing {
                    ops.push(patch(
                        v1t::Op::Replace,
                        "/tracingEnabled".into(),
                        Some(tracing.to_string()),
                    ));
                }
                let live_vars = l.variables().cloned().unwrap_or_default();
                for (k, v) in &vars {
                    // A fingerprint: the plan checked the live value is the same.
                    if !text_has_marker(v) && live_vars.get(k) != Some(v) {
                        ops.push(patch(
                            v1t::Op::Replace,
                            format!("/variables/{k}"),
                            Some(v.clone()),
                        ));
                    }
                }
                for k in live_vars.keys().filter(|k| !vars.contains_key(*k)) {
                    ops.push(patch(v1t::Op::Remove, format!("/variables/{k}"), None));
                }
                if !ops.is_empty() {
                    c.update_stage()
                        .rest_api_id(id)
                        .stage_name(&name)
                        .set_patch_operations(Some(ops))
                        .send()
                        .await
                        .map_err(|e| WriteError::sdk(&call(&format!("UpdateStage {name}")), &e))?;
                }
            }
        }
    }
    let names: Vec<String> = want.iter().filter_map(s_name).collect();
    for name in live.keys().filter(|n| !names.contains(n)) {
        c.delete_stage()
            .rest_api_id(id)
            .stage_name(name)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call(&format!("DeleteStage {name}")), &e))?;
    }
    // Deployments the snapshot did not have and no stage uses (an update only).
    if !create && touches(step, &["/deployments"]) {
        let had: Vec<String> = doc
            .get("deployments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|d| s(d, "/id"))
            .collect();
        for d in deployments
            .iter()
            .filter(|d| !had.contains(d) && !used.contains(d))
        {
            c.delete_deployment()
                .rest_api_id(id)
                .deployment_id(d)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call(&format!("DeleteDeployment {d}")), &e))?;
        }
    }
    Ok(())
}

fn s_name(st: &Value) -> Option<String> {
    s(st, "/stageName")
}

// ---------------------------------------------------------------------------------------------
// HTTP and WebSocket APIs
// ---------------------------------------------------------------------------------------------

async fn http_api(cx: &Context, step: &Step, c: &V2) -> Result<(), WriteError> {
    let old = step.target.id.as_str();
    let call = |op: &str, id: &str| format!("apigateway:{op} {id}");
    if matches!(step.action, Action::Delete) {
        return c
            .delete_api()
            .api_id(old)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| WriteError::sdk(&call("DeleteApi", old), &e));
    }
    let doc = cx.document(step)?;
    let api = doc.get("Api").cloned().unwrap_or(Value::Null);
    let create = matches!(step.action, Action::Create { .. });
    let id = if create {
        let name = s(&api, "/Name").unwrap_or_default();
        let out = c
            .create_api()
            .name(&name)
            .set_protocol_type(
                s(&api, "/ProtocolType").map(|p| v2t::ProtocolType::from(p.as_str())),
            )
            .set_route_selection_expression(s(&api, "/RouteSelectionExpression"))
            .set_api_key_selection_expression(s(&api, "/ApiKeySelectionExpression"))
            .set_description(s(&api, "/Description"))
            .set_version(s(&api, "/Version"))
            .set_disable_execute_api_endpoint(b(&api, "/DisableExecuteApiEndpoint"))
            .set_tags(
                Some(str_map(api.get("Tags")).into_iter().collect())
                    .filter(|m: &HashMap<String, String>| !m.is_empty()),
            )
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("CreateApi", &name), &e))?;
        out.api_id().unwrap_or_default().to_string()
    } else {
        if touches(step, &["/Api/Description", "/Api/Version"]) {
            c.update_api()
                .api_id(old)
                .set_description(s(&api, "/Description"))
                .set_version(s(&api, "/Version"))
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("UpdateApi", old), &e))?;
        }
        old.to_string()
    };
    let call = |op: &str| format!("apigateway:{op} {id}");

    // Integrations: the snapshot's id → the live one.
    let mut ids: HashMap<String, String> = HashMap::new();
    let live_int: Vec<String> = c
        .get_integrations()
        .api_id(&id)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&call("GetIntegrations"), &e))?
        .items()
        .iter()
        .filter_map(|i| i.integration_id().map(str::to_string))
        .collect();
    let ints: Vec<Value> = doc
        .get("Integrations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| b(i, "/ApiGatewayManaged") != Some(true))
        .collect();
    for i in &ints {
        let iid = s(i, "/IntegrationId").unwrap_or_default();
        if live_int.contains(&iid) {
            ids.insert(iid.clone(), iid.clone());
            if touches(step, &["/Integrations"]) {
                c.update_integration()
                    .api_id(&id)
                    .integration_id(&iid)
                    .set_integration_type(
                        s(i, "/IntegrationType").map(|t| v2t::IntegrationType::from(t.as_str())),
                    )
                    .set_integration_uri(s(i, "/IntegrationUri"))
                    .set_integration_method(s(i, "/IntegrationMethod"))
                    .set_payload_format_version(s(i, "/PayloadFormatVersion"))
                    .set_description(s(i, "/Description"))
                    .set_timeout_in_millis(
                        i.get("TimeoutInMillis")
                            .and_then(Value::as_i64)
                            .map(|n| n as i32),
                    )
                    .send()
                    .await
                    .map_err(|e| WriteError::sdk(&call("UpdateIntegration"), &e))?;
            }
            continue;
        }
        let out = c
            .create_integration()
            .api_id(&id)
            .set_integration_type(
                s(i, "/IntegrationType").map(|t| v2t::IntegrationType::from(t.as_str())),
            )
            .set_integration_uri(s(i, "/IntegrationUri"))
            .set_integration_method(s(i, "/IntegrationMethod"))
            .set_integration_subtype(s(i, "/IntegrationSubtype"))
            .set_payload_format_version(s(i, "/PayloadFormatVersion"))
            .set_connection_type(
                s(i, "/ConnectionType").map(|t| v2t::ConnectionType::from(t.as_str())),
            )
            .set_connection_id(s(i, "/ConnectionId"))
            .set_credentials_arn(s(i, "/CredentialsArn"))
            .set_description(s(i, "/Description"))
            .set_passthrough_behavior(
                s(i, "/PassthroughBehavior").map(|t| v2t::PassthroughBehavior::from(t.as_str())),
            )
            .set_template_selection_expression(s(i, "/TemplateSelectionExpression"))
            .set_timeout_in_millis(
                i.get("TimeoutInMillis")
                    .and_then(Value::as_i64)
                    .map(|n| n as i32),
            )
            .set_request_parameters(
                Some(str_map(i.get("RequestParameters")).into_iter().collect())
                    .filter(|m: &HashMap<String, String>| !m.is_empty()),
            )
            .set_request_templates(
                Some(str_map(i.get("RequestTemplates")).into_iter().collect())
                    .filter(|m: &HashMap<String, String>| !m.is_empty()),
            )
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("CreateIntegration"), &e))?;
        ids.insert(iid, out.integration_id().unwrap_or_default().to_string());
    }
    let target = |t: Option<String>| {
        t.map(|t| match t.strip_prefix("integrations/") {
            Some(old) => format!("integrations/{}", ids.get(old).map_or(old, String::as_str)),
            None => t,
        })
    };

    // Routes, by route key.
    let live_routes: HashMap<String, String> = c
        .get_routes()
        .api_id(&id)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&call("GetRoutes"), &e))?
        .items()
        .iter()
        .filter_map(|r| Some((r.route_key()?.to_string(), r.route_id()?.to_string())))
        .collect();
    let routes: Vec<Value> = doc
        .get("Routes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| b(r, "/ApiGatewayManaged") != Some(true))
        .collect();
    for r in &routes {
        let key = s(r, "/RouteKey").unwrap_or_default();
        if s(r, "/AuthorizerId").is_some() && (create || !live_routes.contains_key(&key)) {
            return Err(WriteError::new(format!(
                "route `{key}` of API {id} uses an authorizer, which this infrasnap does not \
                 restore: create the authorizer from the captured document, then the route"
            )));
        }
        let auth = s(r, "/AuthorizationType").map(|t| v2t::AuthorizationType::from(t.as_str()));
        match live_routes.get(&key) {
            None => {
                c.create_route()
                    .api_id(&id)
                    .route_key(&key)
                    .set_target(target(s(r, "/Target")))
                    .set_authorization_type(auth)
                    .set_api_key_required(b(r, "/ApiKeyRequired"))
                    .set_operation_name(s(r, "/OperationName"))
                    .set_authorization_scopes(
                        Some(strs(r, "/AuthorizationScopes")).filter(|v| !v.is_empty()),
                    )
                    .set_model_selection_expression(s(r, "/ModelSelectionExpression"))
                    .set_route_response_selection_expression(s(
                        r,
                        "/RouteResponseSelectionExpression",
                    ))
                    .send()
                    .await
                    .map_err(|e| WriteError::sdk(&call(&format!("CreateRoute {key}")), &e))?;
            }
            Some(rid) if touches(step, &["/Routes"]) => {
                c.update_route()
                    .api_id(&id)
                    .route_id(rid)
                    .set_target(target(s(r, "/Target")))
                    .set_authorization_type(auth)
                    .set_api_key_required(b(r, "/ApiKeyRequired"))
                    .set_operation_name(s(r, "/OperationName"))
                    .send()
                    .await
                    .map_err(|e| WriteError::sdk(&call(&format!("UpdateRoute {key}")), &e))?;
            }
            Some(_) => {}
        }
    }
    let keys: Vec<String> = routes.iter().filter_map(|r| s(r, "/RouteKey")).collect();
    for (key, rid) in live_routes.iter().filter(|(k, _)| !keys.contains(k)) {
        c.delete_route()
            .api_id(&id)
            .route_id(rid)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call(&format!("DeleteRoute {key}")), &e))?;
    }
    let kept: Vec<&String> = ids.values().collect();
    for iid in live_int.iter().filter(|i| !kept.contains(i)) {
        c.delete_integration()
            .api_id(&id)
            .integration_id(iid)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call(&format!("DeleteIntegration {iid}")), &e))?;
    }

    // Stages.
    let live_stages: Vec<String> = c
        .get_stages()
        .api_id(&id)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&call("GetStages"), &e))?
        .items()
        .iter()
        .filter_map(|s| s.stage_name().map(str::to_string))
        .collect();
    let stages: Vec<Value> = doc
        .get("Stages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| b(s, "/ApiGatewayManaged") != Some(true))
        .collect();
    for st in &stages {
        let name = s(st, "/StageName").unwrap_or_default();
        let vars = str_map(st.get("StageVariables"));
        let secret = vars.values().any(|v| text_has_marker(v));
        let vars = (!secret && !vars.is_empty()).then(|| vars.into_iter().collect());
        if !live_stages.contains(&name) {
            if secret {
                return Err(WriteError::new(format!(
                    "stage {name} of API {id}: its stage variables are fingerprints in the \
                     snapshot, not values: it needs values"
                )));
            }
            c.create_stage()
                .api_id(&id)
                .stage_name(&name)
                .set_auto_deploy(b(st, "/AutoDeploy"))
                .set_description(s(st, "/Description"))
                .set_stage_variables(vars)
                .set_tags(
                    Some(str_map(st.get("Tags")).into_iter().collect())
                        .filter(|m: &HashMap<String, String>| !m.is_empty()),
                )
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call(&format!("CreateStage {name}")), &e))?;
        } else if touches(step, &["/Stages"]) {
            c.update_stage()
                .api_id(&id)
                .stage_name(&name)
                .set_auto_deploy(b(st, "/AutoDeploy"))
                .set_description(s(st, "/Description"))
                .set_stage_variables(vars)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call(&format!("UpdateStage {name}")), &e))?;
        }
        if create && b(st, "/AutoDeploy") != Some(true) && s(st, "/DeploymentId").is_some() {
            c.create_deployment()
                .api_id(&id)
                .stage_name(&name)
                .description("infrasnap restore")
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call(&format!("CreateDeployment {name}")), &e))?;
        }
    }
    let names: Vec<String> = stages.iter().filter_map(s_v2name).collect();
    for name in live_stages.iter().filter(|n| !names.contains(n)) {
        c.delete_stage()
            .api_id(&id)
            .stage_name(name)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call(&format!("DeleteStage {name}")), &e))?;
    }
    Ok(())
}

fn s_v2name(st: &Value) -> Option<String> {
    s(st, "/StageName")
}
