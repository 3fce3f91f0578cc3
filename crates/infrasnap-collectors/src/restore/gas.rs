//! Apps Script projects: projects.updateContent with the snapshot's files (its manifest
//! included), then projects.versions.create with a description naming the snapshot. The
//! credentials and endpoints are the capture's (`[gas]`, `~/.clasprc.json`), and so are the
//! retry and error policy (`gas::api`). A deleted project is never written here: the plan lists
//! it for people (a project cannot be made again under its id).

use std::sync::Arc;
use std::time::Duration;

use infrasnap_core::restore::Step;
use serde_json::{json, Value};

use super::{Context, WriteError};
use crate::gas::api::Api;
use crate::gas::auth::{self, Auth};

pub const KINDS: &[&str] = &["gas.project"];

/// The API file of a part in clasp's layout (`lib/util.gs` → `lib/util`, `SERVER_JS`).
fn api_file(part: &str) -> Option<(String, &'static str)> {
    let (name, ext) = part.rsplit_once('.')?;
    let kind = match ext {
        "gs" | "js" => "SERVER_JS",
        "html" => "HTML",
        "json" if name == "appsscript" => "JSON",
        _ => return None,
    };
    Some((name.to_string(), kind))
}

/// The API client, as capture makes it.
fn api(cx: &Context) -> Result<(Api, String), WriteError> {
    let cfg = cx.gas.as_ref().ok_or_else(|| {
        WriteError::new(
            "restoring an Apps Script project needs the config's [gas] section (its credentials \
             and endpoints): pass the --config the snapshot was taken with",
        )
    })?;
    let env = |k: &str| std::env::var(k).ok();
    let found = auth::load(cfg.credentials.as_deref(), cx.home.as_deref(), &env)
        .map_err(WriteError::new)?;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .user_agent(concat!("infrasnap/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| WriteError::new(format!("http client: {e}")))?;
    let auth = Arc::new(Auth::new(
        http.clone(),
        found.credential,
        cfg.token_endpoint.as_deref(),
    ));
    let base = cfg
        .script_endpoint
        .as_deref()
        .unwrap_or(crate::gas::DEFAULT_SCRIPT_ENDPOINT)
        .trim_end_matches('/')
        .to_string();
    let jobs = Arc::new(tokio::sync::Semaphore::new(cx.jobs.clamp(1, 8)));
    Ok((Api::new(http, auth, jobs), format!("{base}/v1")))
}

/// Put the project's files back, then make a version of them.
pub async fn write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    let id = &step.target.id;
    let mut files: Vec<Value> = Vec::new();
    for (part, blob) in &step.parts {
        let Some((name, kind)) = api_file(part) else {
            return Err(WriteError::new(format!(
                "{id}: `{part}` is not an Apps Script file (.gs, .html, appsscript.json)"
            )));
        };
        let p = cx.blob_path(blob);
        let bytes =
            std::fs::read(&p).map_err(|e| WriteError::new(format!("read {}: {e}", p.display())))?;
        let source = String::from_utf8(bytes)
            .map_err(|_| WriteError::new(format!("{id}: `{part}` is not UTF-8 text")))?;
        files.push(json!({ "name": name, "type": kind, "source": source }));
    }
    // The manifest first, as the editor keeps it.
    files.sort_by_key(|f| f["type"] != "JSON");
    let (api, script) = api(cx)?;
    let seg = crate::gas::path_segment(id);
    api.send(
        reqwest::Method::PUT,
        &format!("{script}/projects/{seg}/content"),
        &json!({ "scriptId": id, "files": files }),
    )
    .await
    .map_err(|e| WriteError::new(format!("script.projects.updateContent {id}: {}", e.message)))?;
    api.send(
        reqwest::Method::POST,
        &format!("{script}/projects/{seg}/versions"),
        &json!({ "description": format!("restored by infrasnap from snapshot {}", cx.snapshot) }),
    )
    .await
    .map_err(|e| {
        WriteError::new(format!(
            "script.projects.versions.create {id}: {} (the content was updated)",
            e.message
        ))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::api_file;

    #[test]
    fn parts_map_to_api_files() {
        assert_eq!(
            api_file("lib/util.gs"),
            Some(("lib/util".into(), "SERVER_JS"))
        );
        assert_eq!(api_file("Index.html"), Some(("Index".into(), "HTML")));
        assert_eq!(
            api_file("appsscript.json"),
            Some(("appsscript".into(), "JSON"))
        );
        assert_eq!(api_file("other.json"), None);
    }
}
