//! GET calls to Google's JSON APIs with the retry and error policy of the Apps Script collector:
//! a 401 refreshes the token once and retries once; a 429 waits for `Retry-After` (up to 5 times);
//! a 5xx or a broken connection backs off and retries (up to 5 times). What still fails is turned
//! into a message with guidance, Google's own words appended (they never hold a credential).

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::auth::{truncate, Auth};

/// Retries of a 429, honouring Retry-After.
pub const MAX_RATE_RETRIES: u32 = 5;
/// Retries of a 5xx or a failed connection.
pub const MAX_SERVER_RETRIES: u32 = 5;
/// Longest wait a Retry-After may ask for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// Pages followed at most (a guard against a server repeating page tokens forever).
const MAX_PAGES: usize = 10_000;

pub const ENABLE_API_GUIDANCE: &str =
    "enable the Apps Script API for this user at https://script.google.com/home/usersettings, then run again";

/// Which API a call is to (the guidance differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Script,
    Drive,
}

/// A call that failed for good.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// Google's error status (`PERMISSION_DENIED`), else the HTTP status.
    pub code: Option<String>,
    pub message: String,
}

pub struct Api {
    http: reqwest::Client,
    auth: Arc<Auth>,
    jobs: Arc<Semaphore>,
    /// Base of backoff waits (small in unit tests).
    backoff: Duration,
}

/// Google's error JSON: `{"error": {"code", "message", "status", "errors": [{"reason"}],
/// "details": [{"reason"}]}}`.
#[derive(Debug, Default, PartialEq)]
pub struct GoogleError {
    pub message: String,
    pub status: Option<String>,
    pub reasons: Vec<String>,
}

pub fn parse_google_error(body: &[u8]) -> GoogleError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let e = &v["error"];
    let mut reasons = Vec::new();
    for list in ["errors", "details"] {
        if let Some(a) = e[list].as_array() {
            reasons.extend(
                a.iter()
                    .filter_map(|x| x["reason"].as_str())
                    .map(str::to_string),
            );
        }
    }
    GoogleError {
        message: e["message"]
            .as_str()
            .map(str::to_string)
            .or_else(|| v["error_description"].as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()),
        status: e["status"].as_str().map(str::to_string),
        reasons,
    }
}

/// The message and code for a failed call, with what to do about it.
pub fn classify(status: u16, body: &[u8], service: Service, bare_token: bool) -> ApiError {
    let g = parse_google_error(body);
    let code = g
        .status
        .clone()
        .or_else(|| {
            StatusCode::from_u16(status)
                .ok()
                .map(|s| format!("{} {}", status, s.canonical_reason().unwrap_or("")))
        })
        .map(|s| s.trim().to_string());
    let has = |needle: &str| g.message.to_ascii_lowercase().contains(needle);
    let reason = |r: &str| g.reasons.iter().any(|x| x == r);
    let guidance: String = match status {
        401 => {
            if bare_token {
                format!(
                    "the access token in {} expired or was revoked: get a new one, or use clasp's \
                     credentials (which can be refreshed)",
                    super::auth::TOKEN_ENV
                )
            } else {
                "token expired or revoked: run `clasp login` again".into()
            }
        }
        403 if service == Service::Script
            && (reason("accessNotConfigured")
                || reason("SERVICE_DISABLED")
                || has("apps script api has not been used")
                || has("has not enabled the apps script api")
                || (has("apps script api") && (has("disabled") || has("not enabled")))) =>
        {
            ENABLE_API_GUIDANCE.into()
        }
        403 if service == Service::Drive
            && (reason("accessNotConfigured") || reason("SERVICE_DISABLED")) =>
        {
            "Drive discovery denied: the Drive API is not enabled for these credentials' Google \
             Cloud project; list the projects under [gas] projects in infrasnap.toml instead"
                .into()
        }
        403 if service == Service::Drive => {
            "Drive discovery denied: these credentials may not list Drive files (scope \
             drive.metadata.readonly); list the projects under [gas] projects in infrasnap.toml \
             instead"
                .into()
        }
        403 => "permission denied: the account of these credentials cannot read this project \
                (share the project with it, or check the script id)"
            .into(),
        404 if service == Service::Script => {
            "unknown script id (check [gas] projects in infrasnap.toml)".into()
        }
        429 => format!(
            "rate limited by Google; still refused after {MAX_RATE_RETRIES} retries: run again later"
        ),
        s if s >= 500 => format!(
            "Google's server failed ({s}), {MAX_SERVER_RETRIES} retries did not help: run again later"
        ),
        s => format!("HTTP {s}"),
    };
    let google = truncate(g.message.trim(), 300);
    let message = if google.is_empty() {
        guidance
    } else {
        format!("{guidance} (Google: {google})")
    };
    ApiError { code, message }
}

fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = h.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = v.trim().parse().ok()?;
    (secs >= 0.0).then(|| Duration::from_secs_f64(secs).min(MAX_RETRY_AFTER))
}

impl Api {
    pub fn new(http: reqwest::Client, auth: Arc<Auth>, jobs: Arc<Semaphore>) -> Self {
        Api {
            http,
            auth,
            jobs,
            backoff: Duration::from_millis(250),
        }
    }

    /// GET `url` with `query`, as JSON.
    pub async fn get(
        &self,
        service: Service,
        url: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, ApiError> {
        self.call(reqwest::Method::GET, service, url, query, None)
            .await
    }

    /// PUT or POST `body` (JSON) to `url`, the answer as JSON (restore's writes: the same
    /// retry and error policy as reads).
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: &Value,
    ) -> Result<Value, ApiError> {
        self.call(method, Service::Script, url, &[], Some(body))
            .await
    }

    async fn call(
        &self,
        method: reqwest::Method,
        service: Service,
        url: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let mut refreshed = false;
        let mut rate_retries = 0;
        let mut server_retries = 0;
        loop {
            let token = self.auth.token().await.map_err(|e| ApiError {
                code: e.code,
                message: e.message,
            })?;
            let sent = {
                let _permit = self.jobs.acquire().await.ok();
                let mut rb = self
                    .http
                    .request(method.clone(), url)
                    .query(query)
                    .bearer_auth(token.expose())
                    .header(reqwest::header::ACCEPT, "application/json");
                if let Some(b) = body {
                    rb = rb
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(serde_json::to_vec(b).unwrap_or_default());
                }
                let r = rb.send().await;
                match r {
                    Ok(resp) => {
                        let status = resp.status();
                        let headers = resp.headers().clone();
                        resp.bytes().await.map(|b| (status, headers, b))
                    }
                    Err(e) => Err(e),
                }
            };
            let (status, headers, body) = match sent {
                Ok(x) => x,
                Err(e) => {
                    if server_retries < MAX_SERVER_RETRIES {
                        server_retries += 1;
                        tokio::time::sleep(self.backoff * 2u32.pow(server_retries - 1)).await;
                        continue;
                    }
                    return Err(ApiError {
                        code: None,
                        message: format!(
                            "could not reach {}: {}",
                            url,
                            super::auth::truncate(&e.without_url().to_string(), 300)
                        ),
                    });
                }
            };
            if status.is_success() {
                return serde_json::from_slice(&body).map_err(|e| ApiError {
                    code: None,
                    message: format!("the answer is not JSON: {e}"),
                });
            }
            match status.as_u16() {
                401 if !refreshed && self.auth.can_refresh() => {
                    refreshed = true;
                    self.auth.rejected(&token).await;
                    continue;
                }
                429 if rate_retries < MAX_RATE_RETRIES => {
                    rate_retries += 1;
                    let wait = retry_after(&headers)
                        .unwrap_or_else(|| Duration::from_secs(1 << (rate_retries - 1).min(5)));
                    tracing::info!("rate limited; waiting {:.1} s", wait.as_secs_f64());
                    tokio::time::sleep(wait).await;
                    continue;
                }
                s if s >= 500 && server_retries < MAX_SERVER_RETRIES => {
                    server_retries += 1;
                    let wait = retry_after(&headers)
                        .unwrap_or(self.backoff * 2u32.pow(server_retries - 1));
                    tokio::time::sleep(wait).await;
                    continue;
                }
                s => return Err(classify(s, &body, service, self.auth.is_bare_token())),
            }
        }
    }

    /// GET every page of a list (`pageToken` / `nextPageToken`), items under `key`.
    pub async fn get_all(
        &self,
        service: Service,
        url: &str,
        query: &[(&str, &str)],
        key: &str,
    ) -> Result<Vec<Value>, ApiError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut q: Vec<(&str, &str)> = query.to_vec();
            if let Some(t) = &token {
                q.push(("pageToken", t));
            }
            let page = self.get(service, url, &q).await?;
            if let Some(items) = page.get(key).and_then(|v| v.as_array()) {
                out.extend(items.iter().cloned());
            }
            match page.get("nextPageToken").and_then(|v| v.as_str()) {
                Some(t) if !t.is_empty() && token.as_deref() != Some(t) => {
                    token = Some(t.to_string())
                }
                _ => return Ok(out),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guidance_for_the_usual_failures() {
        let disabled = br#"{"error":{"code":403,"message":"Apps Script API has not been used in project 1 before or it is disabled.","status":"PERMISSION_DENIED","errors":[{"reason":"accessNotConfigured","domain":"usageLimits"}]}}"#;
        let e = classify(403, disabled, Service::Script, false);
        assert!(e.message.starts_with(ENABLE_API_GUIDANCE), "{}", e.message);
        assert_eq!(e.code.as_deref(), Some("PERMISSION_DENIED"));
        let user_off = br#"{"error":{"code":403,"message":"User has not enabled the Apps Script API. Enable it by visiting https://script.google.com/home/usersettings then retry.","status":"PERMISSION_DENIED"}}"#;
        assert!(classify(403, user_off, Service::Script, false)
            .message
            .starts_with(ENABLE_API_GUIDANCE));
        let denied = br#"{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}"#;
        assert!(classify(403, denied, Service::Script, false)
            .message
            .starts_with("permission denied"));
        assert!(classify(403, denied, Service::Drive, false)
            .message
            .starts_with("Drive discovery denied"));
        let nf = br#"{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND"}}"#;
        let e = classify(404, nf, Service::Script, false);
        assert!(e.message.starts_with("unknown script id"));
        assert_eq!(e.code.as_deref(), Some("NOT_FOUND"));
        let e = classify(401, b"", Service::Script, false);
        assert!(e.message.contains("clasp login"));
        assert_eq!(e.code.as_deref(), Some("401 Unauthorized"));
    }
}
