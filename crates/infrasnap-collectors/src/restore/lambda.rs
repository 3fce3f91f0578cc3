//! Lambda writer: a function's code (the captured zip) and configuration (runtime, role,
//! handler, timeout, memory, description, environment, layers, architectures), its tags and
//! reserved concurrency. CreateFunction when missing; UpdateFunctionCode then
//! UpdateFunctionConfiguration when it differs; DeleteFunction for `--delete-extra`. The role must
//! exist (IAM comes first in the plan's order). Environment values redacted in the snapshot are
//! never written: such a function is planned as "needs values".

use std::collections::HashMap;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, Environment, FunctionCode, Runtime};
use aws_sdk_lambda::Client;
use infrasnap_core::restore::{Action, Step};
use serde_json::Value;

use super::{Context, WriteError};

/// The kinds this writer restores.
pub const KINDS: &[&str] = &["aws.lambda.function"];

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

fn environment(conf: &Value) -> Option<Environment> {
    let vars: HashMap<String, String> = conf
        .pointer("/Environment/Variables")?
        .as_object()?
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    Some(Environment::builder().set_variables(Some(vars)).build())
}

fn layers(conf: &Value) -> Option<Vec<String>> {
    let l: Vec<String> = conf
        .get("Layers")?
        .as_array()?
        .iter()
        .filter_map(|l| s(l, "Arn"))
        .collect();
    Some(l)
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

/// Write one function step.
pub async fn write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    let name = &step.target.id;
    let c = client(cx, &step.target.region);
    if matches!(step.action, Action::Delete) {
        c.delete_function()
            .function_name(name)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("lambda:DeleteFunction {name}"), &e))?;
        return Ok(());
    }
    let doc = cx.document(step)?;
    let conf = doc.get("Configuration").cloned().unwrap_or_default();
    if s(&conf, "PackageType").as_deref() == Some("Image") {
        return Err(WriteError::new(
            "a container-image function is not restored yet: its image is not in the snapshot",
        ));
    }
    let zip_blob = step.parts.get("code.zip").ok_or_else(|| {
        WriteError::new("the snapshot has no code zip for this function (it could not be read)")
    })?;
    let path = cx.blob_path(zip_blob);
    let zip = tokio::fs::read(&path)
        .await
        .map_err(|e| WriteError::new(format!("read {}: {e}", path.display())))?;
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
                .set_environment(environment(&conf))
                .set_layers(layers(&conf))
                .set_architectures(architectures(&conf))
                .set_tags(tags.filter(|t| !t.is_empty()))
                .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
                .send()
                .await
                .map_err(|e| WriteError::sdk(&format!("lambda:CreateFunction {name}"), &e))?;
        }
        _ => {
            c.update_function_code()
                .function_name(name)
                .zip_file(Blob::new(zip))
                .send()
                .await
                .map_err(|e| WriteError::sdk(&format!("lambda:UpdateFunctionCode {name}"), &e))?;
            c.update_function_configuration()
                .function_name(name)
                .set_runtime(s(&conf, "Runtime").map(|r| Runtime::from(r.as_str())))
                .set_role(s(&conf, "Role"))
                .set_handler(s(&conf, "Handler"))
                .set_timeout(n(&conf, "Timeout"))
                .set_memory_size(n(&conf, "MemorySize"))
                .set_description(s(&conf, "Description"))
                .set_environment(environment(&conf))
                .set_layers(layers(&conf))
                .send()
                .await
                .map_err(|e| {
                    WriteError::sdk(&format!("lambda:UpdateFunctionConfiguration {name}"), &e)
                })?;
        }
    }
    let reserved = doc.get("ReservedConcurrentExecutions").and_then(|v| {
        v.as_i64()
            .or_else(|| v.get("ReservedConcurrentExecutions")?.as_i64())
    });
    if let Some(r) = reserved {
        c.put_function_concurrency()
            .function_name(name)
            .reserved_concurrent_executions(r as i32)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("lambda:PutFunctionConcurrency {name}"), &e))?;
    }
    Ok(())
}
