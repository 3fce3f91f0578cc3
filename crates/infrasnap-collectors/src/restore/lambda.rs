//! Lambda writer: a function's code (the captured zip) and configuration (runtime, role,
//! handler, timeout, memory, description, environment, layers, architectures), its tags and
//! reserved concurrency. CreateFunction when missing; UpdateFunctionCode then
//! UpdateFunctionConfiguration when it differs; DeleteFunction for `--delete-extra`. The role must
//! exist (IAM comes first in the plan's order). Environment values redacted in the snapshot are
//! never written: a variable whose value is still a marker keeps its live value (or stays absent),
//! and the plan names it ("needs values").
//!
//! Then what hangs off the function, made exactly the snapshot's (the decisions are
//! `infrasnap_core::restore::lambda`'s): published versions (missing ones published again from
//! the snapshot's zip and each version's configuration, then `$LATEST` put back; Lambda numbers
//! them, so snapshot numbers map to live ones), aliases (version and routing weights through that
//! map; extra aliases deleted), provisioned concurrency, reserved concurrency, resource-policy
//! statements (RemovePermission / AddPermission by Sid), function URL configs (with CORS; extra
//! ones deleted) and event source mappings (matched by UUID, else by event source; updated,
//! created, extra ones deleted).
//!
//! Layer versions (`aws.lambda.layer_version`): nothing when the version still exists with the
//! same code; else published again from the kept zip as the layer's next version (numbers are
//! never reused), and functions whose layer version is gone use the newest version of that layer
//! with the same code size.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    AliasRoutingConfiguration, Architecture, Cors, DestinationConfig, Environment, Filter,
    FilterCriteria, FunctionCode, FunctionResponseType, FunctionUrlAuthType, InvokeMode, OnFailure,
    Runtime, ScalingConfig,
};
use aws_sdk_lambda::Client;
use infrasnap_core::restore::lambda::{self as plan, Permission};
use infrasnap_core::restore::{Action, Step};
use infrasnap_core::secrets::is_marker;
use serde_json::{json, Value};

use super::{Context, WriteError};

/// The kinds this writer restores.
pub const KINDS: &[&str] = &["aws.lambda.function", "aws.lambda.layer_version"];

fn client(cx: &Context, region: &str) -> Client {
    let conf = aws_sdk_lambda::config::Builder::from(&cx.sdk)
        .region(aws_sdk_lambda::config::Region::new(region.to_string()))
        .build();
    Client::from_conf(conf)
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

fn n(v: &Value, k: &str) -> Option<i32> {
    v.get(k).and_then(Value::as_i64).map(|x| x as i32)
}

/// The environment to write: the snapshot's variables, where a value is still a marker (a secret
/// the snapshot does not hold) the live value of that variable, or nothing.
fn environment(conf: &Value, live: &HashMap<String, String>) -> Environment {
    let vars: HashMap<String, String> = conf
        .pointer("/Environment/Variables")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let v = v.as_str()?;
                    if is_marker(v) {
                        live.get(k).map(|l| (k.clone(), l.clone()))
                    } else {
                        Some((k.clone(), v.to_string()))
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Environment::builder().set_variables(Some(vars)).build()
}

/// The layer version ARNs to use: each of `conf`'s, or when that version is gone the newest
/// version of the same layer with the same code size (a layer published again by restore).
async fn layers(c: &Client, conf: &Value) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for l in conf.get("Layers")?.as_array()? {
        let Some(arn) = s(l, "Arn") else { continue };
        if c.get_layer_version_by_arn().arn(&arn).send().await.is_ok() {
            out.push(arn);
            continue;
        }
        let size = l.get("CodeSize").and_then(Value::as_i64);
        let layer = arn.rsplit_once(':').map(|(l, _)| l.to_string());
        let mut newest = None;
        if let Some(layer) = layer {
            if let Ok(r) = c.list_layer_versions().layer_name(&layer).send().await {
                for v in r.layer_versions() {
                    let Some(varn) = v.layer_version_arn() else {
                        continue;
                    };
                    let got = c.get_layer_version_by_arn().arn(varn).send().await.ok();
                    let vsize = got
                        .as_ref()
                        .and_then(|g| g.content())
                        .map(|c| c.code_size());
                    if (size.is_none() || vsize == size)
                        && newest.as_ref().is_none_or(|(n, _)| v.version() > *n)
                    {
                        newest = Some((v.version(), varn.to_string()));
                    }
                }
            }
        }
        out.push(newest.map(|(_, a)| a).unwrap_or(arn));
    }
    Some(out)
}

fn architectures(conf: &Value) -> Option<Vec<Architecture>> {
    Some(
        conf.get("Architectures")?
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .map(Architecture::from)
            .collect(),
    )
}

fn sdk_err<E, R>(call: &str, name: &str, e: &aws_sdk_sts::error::SdkError<E, R>) -> WriteError
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + crate::aws::sdk_error::HasStatus,
{
    WriteError::sdk(&format!("lambda:{call} {name}"), e)
}

fn not_found<E: ProvideErrorMetadata, R>(e: &aws_sdk_sts::error::SdkError<E, R>) -> bool {
    e.as_service_error().and_then(|e| e.code()) == Some("ResourceNotFoundException")
}

/// Wait until the function accepts the next change (a create or update runs for a moment).
async fn ready(c: &Client, name: &str) {
    for _ in 0..120 {
        match c
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
        {
            Ok(f) => {
                let pending = f.state().map(|s| s.as_str()) == Some("Pending")
                    || f.last_update_status().map(|s| s.as_str()) == Some("InProgress");
                if !pending {
                    return;
                }
            }
            Err(_) => return,
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The live environment of the function (empty when it has none or is absent).
async fn live_env(c: &Client, name: &str) -> HashMap<String, String> {
    c.get_function_configuration()
        .function_name(name)
        .send()
        .await
        .ok()
        .and_then(|f| f.environment().and_then(|e| e.variables().cloned()))
        .unwrap_or_default()
}

/// UpdateFunctionConfiguration with `conf` (the function's, or a version's).
async fn put_config(
    c: &Client,
    name: &str,
    conf: &Value,
    env: &HashMap<String, String>,
    description: bool,
) -> Result<(), WriteError> {
    c.update_function_configuration()
        .function_name(name)
        .set_runtime(s(conf, "Runtime").map(|r| Runtime::from(r.as_str())))
        .set_role(s(conf, "Role"))
        .set_handler(s(conf, "Handler"))
        .set_timeout(n(conf, "Timeout"))
        .set_memory_size(n(conf, "MemorySize"))
        .set_description(if description {
            Some(s(conf, "Description").unwrap_or_default())
        } else {
            None
        })
        .environment(environment(conf, env))
        .set_layers(layers(c, conf).await)
        .send()
        .await
        .map_err(|e| sdk_err("UpdateFunctionConfiguration", name, &e))?;
    ready(c, name).await;
    Ok(())
}

/// Write one step of this writer's kinds.
pub async fn write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    if step.target.kind == "aws.lambda.layer_version" {
        return layer(cx, step).await;
    }
    let name = &step.target.id;
    let c = client(cx, &step.target.region);
    if matches!(step.action, Action::Delete) {
        c.delete_function()
            .function_name(name)
            .send()
            .await
            .map_err(|e| sdk_err("DeleteFunction", name, &e))?;
        return Ok(());
    }
    let doc = cx.document(step)?;
    let conf = doc.get("Configuration").cloned().unwrap_or_default();
    if s(&conf, "PackageType").as_deref() == Some("Image") {
        return Err(WriteError::new(
            "a container-image function is not restored: its image is not in the snapshot",
        ));
    }
    let zip_blob = step.parts.get("code.zip").ok_or_else(|| {
        WriteError::new("the snapshot has no code zip for this function (it could not be read)")
    })?;
    let path = cx.blob_path(zip_blob);
    let zip = tokio::fs::read(&path)
        .await
        .map_err(|e| WriteError::new(format!("read {}: {e}", path.display())))?;
    let env = live_env(&c, name).await;
    match step.action {
        Action::Create { .. } => {
            let tags: Option<HashMap<String, String>> =
                doc.get("Tags").and_then(Value::as_object).map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                });
            c.create_function()
                .function_name(name)
                .set_runtime(s(&conf, "Runtime").map(|r| Runtime::from(r.as_str())))
                .set_role(s(&conf, "Role"))
                .set_handler(s(&conf, "Handler"))
                .set_timeout(n(&conf, "Timeout"))
                .set_memory_size(n(&conf, "MemorySize"))
                .set_description(s(&conf, "Description"))
                .environment(environment(&conf, &env))
                .set_layers(layers(&c, &conf).await)
                .set_architectures(architectures(&conf))
                .set_tags(tags.filter(|t| !t.is_empty()))
                .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
                .send()
                .await
                .map_err(|e| sdk_err("CreateFunction", name, &e))?;
            ready(&c, name).await;
        }
        _ => {
            c.update_function_code()
                .function_name(name)
                .zip_file(Blob::new(zip))
                .send()
                .await
                .map_err(|e| sdk_err("UpdateFunctionCode", name, &e))?;
            ready(&c, name).await;
            put_config(&c, name, &conf, &env, true).await?;
        }
    }
    let mut problems = Vec::new();
    let map = versions(&c, name, &doc, &conf, &mut problems).await?;
    aliases(&c, name, &doc, &map, &mut problems).await?;
    concurrency(&c, name, &doc, &map, &mut problems).await?;
    policy(&c, name, &doc, &mut problems).await?;
    urls(&c, name, &doc, &mut problems).await?;
    mappings(&c, name, &doc, &mut problems).await?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(WriteError::new(format!(
            "function {name}: {}",
            problems.join("; ")
        )))
    }
}

fn array(doc: &Value, k: &str) -> Option<Vec<Value>> {
    doc.get(k).and_then(Value::as_array).cloned()
}

/// The live versions as JSON in the captured shape (the members restore compares).
async fn live_versions(c: &Client, name: &str) -> Result<Vec<Value>, WriteError> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let r = c
            .list_versions_by_function()
            .function_name(name)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| sdk_err("ListVersionsByFunction", name, &e))?;
        for v in r.versions() {
            let env: BTreeMap<String, String> = v
                .environment()
                .and_then(|e| e.variables())
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            let layers: Vec<Value> = v.layers().iter().map(|l| json!({"Arn": l.arn()})).collect();
            let mut j = json!({
                "Version": v.version(),
                "CodeSha256": v.code_sha256(),
                "Description": v.description(),
                "Runtime": v.runtime().map(|r| r.as_str()),
                "Handler": v.handler(),
                "Role": v.role(),
                "Timeout": v.timeout(),
                "MemorySize": v.memory_size(),
                "Layers": layers,
                "Architectures": v.architectures().iter().map(|a| a.as_str()).collect::<Vec<_>>(),
                "Environment": {"Variables": env},
            });
            if let Some(m) = j.as_object_mut() {
                m.retain(|_, v| !v.is_null());
            }
            out.push(j);
        }
        marker = r.next_marker().map(str::to_string);
        if marker.is_none() {
            return Ok(out);
        }
    }
}

/// Publish the versions the live function lacks; the map from snapshot to live numbers.
async fn versions(
    c: &Client,
    name: &str,
    doc: &Value,
    conf: &Value,
    problems: &mut Vec<String>,
) -> Result<BTreeMap<String, String>, WriteError> {
    let Some(snap) = array(doc, "Versions") else {
        return Ok(BTreeMap::new());
    };
    let live = live_versions(c, name).await?;
    let vp = plan::plan_versions(&snap, &live, s(doc, "CodeSha256").as_deref());
    let mut map = vp.map;
    if vp.publish.is_empty() {
        return Ok(map);
    }
    let env = live_env(c, name).await;
    for v in &vp.publish {
        let num = s(v, "Version").unwrap_or_default();
        put_config(c, name, v, &env, false).await?;
        let r = c
            .publish_version()
            .function_name(name)
            .set_description(s(v, "Description"))
            .set_code_sha256(s(v, "CodeSha256"))
            .send()
            .await
            .map_err(|e| sdk_err("PublishVersion", name, &e))?;
        match r.version() {
            Some(new) => {
                map.insert(num, new.to_string());
            }
            None => problems.push(format!("version {num} was published without a number")),
        }
        ready(c, name).await;
    }
    // `$LATEST` as the snapshot has it.
    put_config(c, name, conf, &env, true).await?;
    Ok(map)
}

fn weights(v: &Value) -> BTreeMap<String, f64> {
    v.pointer("/RoutingConfig/AdditionalVersionWeights")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, w)| Some((k.clone(), w.as_f64()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Aliases made exactly the snapshot's, their versions through `map`.
async fn aliases(
    c: &Client,
    name: &str,
    doc: &Value,
    map: &BTreeMap<String, String>,
    problems: &mut Vec<String>,
) -> Result<(), WriteError> {
    let Some(snap) = array(doc, "Aliases") else {
        return Ok(());
    };
    let mut live = BTreeMap::new();
    let mut marker = None;
    loop {
        let r = c
            .list_aliases()
            .function_name(name)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| sdk_err("ListAliases", name, &e))?;
        for a in r.aliases() {
            let w: BTreeMap<String, f64> = a
                .routing_config()
                .and_then(|r| r.additional_version_weights())
                .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
                .unwrap_or_default();
            live.insert(
                a.name().unwrap_or_default().to_string(),
                (
                    a.function_version().unwrap_or_default().to_string(),
                    a.description().unwrap_or_default().to_string(),
                    w,
                ),
            );
        }
        marker = r.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    let mut wanted = BTreeSet::new();
    for a in &snap {
        let Some(alias) = s(a, "Name") else { continue };
        wanted.insert(alias.clone());
        let version = s(a, "FunctionVersion").unwrap_or_else(|| "$LATEST".into());
        // A version the snapshot cannot give back (the plan names it): the alias stays as it is.
        let Some(version) = plan::map_version(map, &version) else {
            continue;
        };
        let mut w = BTreeMap::new();
        for (k, x) in weights(a) {
            match plan::map_version(map, &k) {
                Some(k) => {
                    w.insert(k, x);
                }
                None => problems.push(format!(
                    "alias {alias}: version {k} of its routing weights is not restored"
                )),
            }
        }
        let description = s(a, "Description").unwrap_or_default();
        let want = (version.clone(), description.clone(), w.clone());
        let has_weights = !w.is_empty();
        let routing = AliasRoutingConfiguration::builder()
            .set_additional_version_weights(Some(w.into_iter().collect()))
            .build();
        match live.get(&alias) {
            Some(l) if *l == want => {}
            Some(_) => {
                c.update_alias()
                    .function_name(name)
                    .name(&alias)
                    .function_version(version)
                    .description(description)
                    .routing_config(routing)
                    .send()
                    .await
                    .map_err(|e| sdk_err("UpdateAlias", &format!("{name}:{alias}"), &e))?;
            }
            None => {
                c.create_alias()
                    .function_name(name)
                    .name(&alias)
                    .function_version(version)
                    .description(description)
                    .set_routing_config(has_weights.then_some(routing))
                    .send()
                    .await
                    .map_err(|e| sdk_err("CreateAlias", &format!("{name}:{alias}"), &e))?;
            }
        }
    }
    for alias in live.keys().filter(|a| !wanted.contains(*a)) {
        c.delete_alias()
            .function_name(name)
            .name(alias)
            .send()
            .await
            .map_err(|e| sdk_err("DeleteAlias", &format!("{name}:{alias}"), &e))?;
    }
    Ok(())
}

/// Reserved concurrency (put, or deleted where the snapshot has none) and provisioned
/// concurrency per alias or version.
async fn concurrency(
    c: &Client,
    name: &str,
    doc: &Value,
    map: &BTreeMap<String, String>,
    problems: &mut Vec<String>,
) -> Result<(), WriteError> {
    let reserved = doc.get("ReservedConcurrentExecutions").and_then(|v| {
        v.as_i64()
            .or_else(|| v.get("ReservedConcurrentExecutions")?.as_i64())
    });
    let live = c
        .get_function_concurrency()
        .function_name(name)
        .send()
        .await
        .ok()
        .and_then(|r| r.reserved_concurrent_executions());
    match reserved {
        Some(r) if live != Some(r as i32) => {
            c.put_function_concurrency()
                .function_name(name)
                .reserved_concurrent_executions(r as i32)
                .send()
                .await
                .map_err(|e| sdk_err("PutFunctionConcurrency", name, &e))?;
        }
        None if live.is_some() => {
            c.delete_function_concurrency()
                .function_name(name)
                .send()
                .await
                .map_err(|e| sdk_err("DeleteFunctionConcurrency", name, &e))?;
        }
        _ => {}
    }
    // Provisioned: only when the snapshot could read it (an array, not an "unavailable" note).
    let Some(snap) = array(doc, "ProvisionedConcurrencyConfigs") else {
        return Ok(());
    };
    let live: Option<BTreeMap<String, i32>> = c
        .list_provisioned_concurrency_configs()
        .function_name(name)
        .send()
        .await
        .ok()
        .map(|r| {
            r.provisioned_concurrency_configs()
                .iter()
                .filter_map(|p| {
                    let q = plan::qualifier(p.function_arn()?)?.to_string();
                    Some((q, p.requested_provisioned_concurrent_executions()?))
                })
                .collect()
        });
    let mut wanted = BTreeSet::new();
    for p in &snap {
        let (Some(arn), Some(n)) = (
            s(p, "FunctionArn"),
            n(p, "RequestedProvisionedConcurrentExecutions"),
        ) else {
            continue;
        };
        let Some(q) = plan::qualifier(&arn) else {
            continue;
        };
        let q = if q.chars().all(|c| c.is_ascii_digit()) {
            match plan::map_version(map, q) {
                Some(q) => q,
                None => {
                    problems.push(format!(
                        "provisioned concurrency of version {q}: the version is not restored"
                    ));
                    continue;
                }
            }
        } else {
            q.to_string()
        };
        wanted.insert(q.clone());
        if live.as_ref().and_then(|l| l.get(&q)) == Some(&n) {
            continue;
        }
        c.put_provisioned_concurrency_config()
            .function_name(name)
            .qualifier(&q)
            .provisioned_concurrent_executions(n)
            .send()
            .await
            .map_err(|e| {
                sdk_err(
                    "PutProvisionedConcurrencyConfig",
                    &format!("{name}:{q}"),
                    &e,
                )
            })?;
    }
    for q in live
        .iter()
        .flat_map(|l| l.keys())
        .filter(|q| !wanted.contains(*q))
    {
        c.delete_provisioned_concurrency_config()
            .function_name(name)
            .qualifier(q)
            .send()
            .await
            .map_err(|e| {
                sdk_err(
                    "DeleteProvisionedConcurrencyConfig",
                    &format!("{name}:{q}"),
                    &e,
                )
            })?;
    }
    Ok(())
}

/// Resource-policy statements made exactly the snapshot's, by Sid.
async fn policy(
    c: &Client,
    name: &str,
    doc: &Value,
    problems: &mut Vec<String>,
) -> Result<(), WriteError> {
    let snap = plan::statements(doc.get("Policy"));
    let live_policy = match c.get_policy().function_name(name).send().await {
        Ok(r) => r
            .policy()
            .and_then(|p| serde_json::from_str::<Value>(p).ok()),
        Err(e) if not_found(&e) => None,
        Err(e) => return Err(sdk_err("GetPolicy", name, &e)),
    };
    let live = plan::statements(live_policy.as_ref());
    let same = |a: &Value, b: &Value| match (plan::permission(a), plan::permission(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    };
    for (sid, l) in &live {
        if snap.get(sid).is_some_and(|x| same(x, l)) {
            continue;
        }
        c.remove_permission()
            .function_name(name)
            .statement_id(sid)
            .send()
            .await
            .map_err(|e| sdk_err("RemovePermission", &format!("{name} {sid}"), &e))?;
    }
    for (sid, st) in &snap {
        if live.get(sid).is_some_and(|l| same(st, l)) {
            continue;
        }
        let p: Permission = match plan::permission(st) {
            Ok(p) => p,
            Err(why) => {
                problems.push(why);
                continue;
            }
        };
        c.add_permission()
            .function_name(name)
            .statement_id(&p.sid)
            .action(&p.action)
            .principal(&p.principal)
            .set_source_arn(p.source_arn)
            .set_source_account(p.source_account)
            .set_principal_org_id(p.principal_org_id)
            .set_event_source_token(p.event_source_token)
            .set_function_url_auth_type(
                p.function_url_auth_type
                    .map(|t| FunctionUrlAuthType::from(t.as_str())),
            )
            .send()
            .await
            .map_err(|e| sdk_err("AddPermission", &format!("{name} {sid}"), &e))?;
    }
    Ok(())
}

fn strings(v: &Value, k: &str) -> Option<Vec<String>> {
    v.get(k)?.as_array().map(|a| {
        a.iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    })
}

fn cors(u: &Value) -> Option<Cors> {
    let c = u.get("Cors")?;
    Some(
        Cors::builder()
            .set_allow_credentials(c.get("AllowCredentials").and_then(Value::as_bool))
            .set_allow_headers(strings(c, "AllowHeaders"))
            .set_allow_methods(strings(c, "AllowMethods"))
            .set_allow_origins(strings(c, "AllowOrigins"))
            .set_expose_headers(strings(c, "ExposeHeaders"))
            .set_max_age(n(c, "MaxAge"))
            .build(),
    )
}

/// The members of a URL config restore writes.
fn url_shape(v: &Value) -> Value {
    json!({
        "AuthType": v.get("AuthType"),
        "Cors": v.get("Cors").filter(|c| c.as_object().is_some_and(|m| !m.is_empty())),
        "InvokeMode": v.get("InvokeMode").and_then(Value::as_str).unwrap_or("BUFFERED").to_ascii_uppercase(),
    })
}

/// Function URL configs made exactly the snapshot's.
async fn urls(
    c: &Client,
    name: &str,
    doc: &Value,
    _problems: &mut Vec<String>,
) -> Result<(), WriteError> {
    let Some(snap) = array(doc, "FunctionUrlConfigs") else {
        return Ok(());
    };
    let get = |q: Option<String>| async move {
        match c
            .get_function_url_config()
            .function_name(name)
            .set_qualifier(q)
            .send()
            .await
        {
            Ok(r) => Ok(Some(json!({
                "FunctionArn": r.function_arn(),
                "AuthType": r.auth_type().as_str(),
                "InvokeMode": r.invoke_mode().map(|m| m.as_str()),
                "Cors": r.cors().map(|c| json!({
                    "AllowCredentials": c.allow_credentials(),
                    "AllowHeaders": c.allow_headers(),
                    "AllowMethods": c.allow_methods(),
                    "AllowOrigins": c.allow_origins(),
                    "ExposeHeaders": c.expose_headers(),
                    "MaxAge": c.max_age(),
                })),
            }))),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(sdk_err("GetFunctionUrlConfig", name, &e)),
        }
    };
    let mut wanted = BTreeSet::new();
    for u in &snap {
        let q = s(u, "FunctionArn")
            .as_deref()
            .and_then(plan::qualifier)
            .map(str::to_string);
        wanted.insert(q.clone());
        let live = get(q.clone()).await?;
        let auth = FunctionUrlAuthType::from(
            s(u, "AuthType")
                .unwrap_or_else(|| "AWS_IAM".into())
                .as_str(),
        );
        let mode = s(u, "InvokeMode").map(|m| InvokeMode::from(m.as_str()));
        match live {
            Some(l) if url_shape(&canon(l.clone())) == url_shape(u) => {}
            Some(_) => {
                c.update_function_url_config()
                    .function_name(name)
                    .set_qualifier(q)
                    .auth_type(auth)
                    .cors(cors(u).unwrap_or_else(|| Cors::builder().build()))
                    .set_invoke_mode(mode)
                    .send()
                    .await
                    .map_err(|e| sdk_err("UpdateFunctionUrlConfig", name, &e))?;
            }
            None => {
                c.create_function_url_config()
                    .function_name(name)
                    .set_qualifier(q)
                    .auth_type(auth)
                    .set_cors(cors(u))
                    .set_invoke_mode(mode)
                    .send()
                    .await
                    .map_err(|e| sdk_err("CreateFunctionUrlConfig", name, &e))?;
            }
        }
    }
    // Live configs the snapshot does not have (an endpoint without the listing: the
    // unqualified one).
    let live: Vec<Option<String>> = match c
        .list_function_url_configs()
        .function_name(name)
        .send()
        .await
    {
        Ok(r) => r
            .function_url_configs()
            .iter()
            .map(|u| plan::qualifier(u.function_arn()).map(str::to_string))
            .collect(),
        Err(_) => match get(None).await? {
            Some(_) => vec![None],
            None => vec![],
        },
    };
    for q in live.into_iter().filter(|q| !wanted.contains(q)) {
        c.delete_function_url_config()
            .function_name(name)
            .set_qualifier(q)
            .send()
            .await
            .map_err(|e| sdk_err("DeleteFunctionUrlConfig", name, &e))?;
    }
    Ok(())
}

/// Drop nulls and empty lists (the SDK's answer, in the captured shape).
fn canon(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, v)| (k, canon(v)))
                .collect(),
        ),
        other => other,
    }
}

/// The members of an event source mapping restore compares and writes.
const MAPPING_FIELDS: &[&str] = &[
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "FilterCriteria",
    "FunctionResponseTypes",
    "ScalingConfig",
    "MaximumRetryAttempts",
    "BisectBatchOnFunctionError",
    "MaximumRecordAgeInSeconds",
    "ParallelizationFactor",
    "TumblingWindowInSeconds",
    "DestinationConfig",
];

fn enabled(m: &Value) -> bool {
    !matches!(
        m.get("State").and_then(Value::as_str),
        Some("Disabled" | "Disabling")
    )
}

fn mapping_shape(m: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for k in MAPPING_FIELDS {
        if let Some(v) = m.get(*k).filter(|v| !v.is_null()) {
            out.insert(k.to_string(), v.clone());
        }
    }
    out.insert("Enabled".into(), Value::Bool(enabled(m)));
    Value::Object(out)
}

fn filters(m: &Value) -> Option<FilterCriteria> {
    let f = m.pointer("/FilterCriteria/Filters")?.as_array()?;
    Some(
        FilterCriteria::builder()
            .set_filters(Some(
                f.iter()
                    .map(|x| Filter::builder().set_pattern(s(x, "Pattern")).build())
                    .collect(),
            ))
            .build(),
    )
}

fn destination(m: &Value) -> Option<DestinationConfig> {
    let d = m
        .pointer("/DestinationConfig/OnFailure/Destination")?
        .as_str()?;
    Some(
        DestinationConfig::builder()
            .on_failure(OnFailure::builder().destination(d).build())
            .build(),
    )
}

fn response_types(m: &Value) -> Option<Vec<FunctionResponseType>> {
    strings(m, "FunctionResponseTypes").map(|v| {
        v.iter()
            .map(|t| FunctionResponseType::from(t.as_str()))
            .collect()
    })
}

fn scaling(m: &Value) -> Option<ScalingConfig> {
    let c = m.get("ScalingConfig")?;
    Some(
        ScalingConfig::builder()
            .set_maximum_concurrency(n(c, "MaximumConcurrency"))
            .build(),
    )
}

/// Event source mappings made exactly the snapshot's: matched by UUID, else by event source
/// (a mapping created again gets a new UUID); updated, created, extra ones deleted.
async fn mappings(
    c: &Client,
    name: &str,
    doc: &Value,
    _problems: &mut Vec<String>,
) -> Result<(), WriteError> {
    let Some(snap) = array(doc, "EventSourceMappings") else {
        return Ok(());
    };
    let mut live = Vec::new();
    let mut marker = None;
    loop {
        let r = c
            .list_event_source_mappings()
            .function_name(name)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| sdk_err("ListEventSourceMappings", name, &e))?;
        for m in r.event_source_mappings() {
            let Some(uuid) = m.uuid() else { continue };
            // Read back in full (the listing and GetEventSourceMapping agree), as JSON.
            let g = c
                .get_event_source_mapping()
                .uuid(uuid)
                .send()
                .await
                .map_err(|e| sdk_err("GetEventSourceMapping", uuid, &e))?;
            live.push(json!({
                "UUID": g.uuid(),
                "EventSourceArn": g.event_source_arn(),
                "State": g.state(),
                "BatchSize": g.batch_size(),
                "MaximumBatchingWindowInSeconds": g.maximum_batching_window_in_seconds(),
                "FilterCriteria": g.filter_criteria().map(|f| json!({"Filters": f.filters().iter().map(|x| json!({"Pattern": x.pattern()})).collect::<Vec<_>>()})),
                "FunctionResponseTypes": g.function_response_types().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                "ScalingConfig": g.scaling_config().map(|s| json!({"MaximumConcurrency": s.maximum_concurrency()})),
                "MaximumRetryAttempts": g.maximum_retry_attempts(),
                "BisectBatchOnFunctionError": g.bisect_batch_on_function_error(),
                "MaximumRecordAgeInSeconds": g.maximum_record_age_in_seconds(),
                "ParallelizationFactor": g.parallelization_factor(),
                "TumblingWindowInSeconds": g.tumbling_window_in_seconds(),
                "DestinationConfig": g.destination_config().and_then(|d| d.on_failure()).and_then(|o| o.destination()).map(|d| json!({"OnFailure": {"Destination": d}})),
            }));
        }
        marker = r.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    let mut live: Vec<Value> = live.into_iter().map(canon).collect();
    for m in &snap {
        let uuid = s(m, "UUID");
        let source = s(m, "EventSourceArn");
        let pos = live
            .iter()
            .position(|l| uuid.is_some() && s(l, "UUID") == uuid)
            .or_else(|| {
                live.iter().position(|l| {
                    source.is_some()
                        && s(l, "EventSourceArn") == source
                        && !snap.iter().any(|x| s(x, "UUID") == s(l, "UUID"))
                })
            });
        let want = mapping_shape(&canon(m.clone()));
        match pos.map(|i| live.remove(i)) {
            Some(l) => {
                let have = mapping_shape(&l);
                if have == want {
                    continue;
                }
                let id = s(&l, "UUID").unwrap_or_default();
                c.update_event_source_mapping()
                    .uuid(&id)
                    .function_name(name)
                    .enabled(enabled(m))
                    .set_batch_size(n(m, "BatchSize"))
                    .set_maximum_batching_window_in_seconds(n(m, "MaximumBatchingWindowInSeconds"))
                    .set_filter_criteria(filters(m))
                    .set_function_response_types(response_types(m))
                    .set_scaling_config(scaling(m))
                    .set_maximum_retry_attempts(n(m, "MaximumRetryAttempts"))
                    .set_bisect_batch_on_function_error(
                        m.get("BisectBatchOnFunctionError").and_then(Value::as_bool),
                    )
                    .set_maximum_record_age_in_seconds(n(m, "MaximumRecordAgeInSeconds"))
                    .set_parallelization_factor(n(m, "ParallelizationFactor"))
                    .set_tumbling_window_in_seconds(n(m, "TumblingWindowInSeconds"))
                    .set_destination_config(destination(m))
                    .send()
                    .await
                    .map_err(|e| sdk_err("UpdateEventSourceMapping", &id, &e))?;
            }
            None => {
                c.create_event_source_mapping()
                    .function_name(
                        match s(m, "FunctionArn").as_deref().and_then(plan::qualifier) {
                            Some(q) => format!("{name}:{q}"),
                            None => name.to_string(),
                        },
                    )
                    .set_event_source_arn(source.clone())
                    .enabled(enabled(m))
                    .set_batch_size(n(m, "BatchSize"))
                    .set_maximum_batching_window_in_seconds(n(m, "MaximumBatchingWindowInSeconds"))
                    .set_starting_position(s(m, "StartingPosition").map(|p| p.as_str().into()))
                    .set_filter_criteria(filters(m))
                    .set_function_response_types(response_types(m))
                    .set_scaling_config(scaling(m))
                    .set_maximum_retry_attempts(n(m, "MaximumRetryAttempts"))
                    .set_bisect_batch_on_function_error(
                        m.get("BisectBatchOnFunctionError").and_then(Value::as_bool),
                    )
                    .set_maximum_record_age_in_seconds(n(m, "MaximumRecordAgeInSeconds"))
                    .set_parallelization_factor(n(m, "ParallelizationFactor"))
                    .set_tumbling_window_in_seconds(n(m, "TumblingWindowInSeconds"))
                    .set_destination_config(destination(m))
                    .send()
                    .await
                    .map_err(|e| {
                        sdk_err(
                            "CreateEventSourceMapping",
                            source.as_deref().unwrap_or(name),
                            &e,
                        )
                    })?;
            }
        }
    }
    for l in live {
        let id = s(&l, "UUID").unwrap_or_default();
        c.delete_event_source_mapping()
            .uuid(&id)
            .send()
            .await
            .map_err(|e| sdk_err("DeleteEventSourceMapping", &id, &e))?;
    }
    Ok(())
}

/// A layer version: nothing when it exists with the same code; else published again from the
/// kept zip (it gets the layer's next version number).
async fn layer(cx: &Context, step: &Step) -> Result<(), WriteError> {
    if matches!(step.action, Action::Delete) {
        return Err(WriteError::new(
            "restore does not delete layer versions (functions may still use them)",
        ));
    }
    let c = client(cx, &step.target.region);
    let doc = cx.document(step)?;
    let arn = s(&doc, "LayerVersionArn").unwrap_or_default();
    let what = format!("layer version {arn}");
    let sha = doc.pointer("/Content/CodeSha256").and_then(Value::as_str);
    if let Ok(live) = c.get_layer_version_by_arn().arn(&arn).send().await {
        if live.content().and_then(|c| c.code_sha256()) == sha {
            return Ok(());
        }
    }
    let zip_blob = step.parts.get("code.zip").ok_or_else(|| {
        WriteError::new(format!("{what} is gone and the snapshot has no zip of it"))
    })?;
    let path = cx.blob_path(zip_blob);
    let zip = tokio::fs::read(&path)
        .await
        .map_err(|e| WriteError::new(format!("read {}: {e}", path.display())))?;
    let layer = s(&doc, "LayerArn")
        .or_else(|| arn.rsplit_once(':').map(|(l, _)| l.to_string()))
        .unwrap_or_default();
    c.publish_layer_version()
        .layer_name(&layer)
        .set_description(s(&doc, "Description"))
        .content(
            aws_sdk_lambda::types::LayerVersionContentInput::builder()
                .zip_file(Blob::new(zip))
                .build(),
        )
        .set_compatible_runtimes(
            strings(&doc, "CompatibleRuntimes")
                .map(|v| v.iter().map(|r| Runtime::from(r.as_str())).collect()),
        )
        .set_compatible_architectures(
            strings(&doc, "CompatibleArchitectures")
                .map(|v| v.iter().map(|r| Architecture::from(r.as_str())).collect()),
        )
        .set_license_info(s(&doc, "LicenseInfo").filter(|l| !l.is_empty()))
        .send()
        .await
        .map_err(|e| sdk_err("PublishLayerVersion", &layer, &e))?;
    Ok(())
}
