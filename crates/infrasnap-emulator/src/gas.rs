//! A loopback stand-in for the Google APIs the Apps Script collector uses: the Apps Script API v1
//! (projects.get, projects.getContent, projects.versions.list, projects.deployments.list), Drive
//! v3 files.list, and the OAuth 2.0 token endpoint (refresh-token and JWT-bearer grants); and
//! projects.updateContent, which `clasp push` calls (the pushed files replace the project's), and
//! projects.versions.create (restore makes a version of what it put back).
//!
//! State is set up in process: projects with their files, versions and deployments; the OAuth
//! clients whose refresh tokens are good; access tokens (issued by the token endpoint, or planted
//! with an expiry); and faults scripted per path ("401 once", "429 with Retry-After: 1 once",
//! "403 accessNotConfigured", "404"). Every API call must carry `Authorization: Bearer <token>`
//! with a token issued here and not expired, else it gets Google's 401. Every request is logged
//! (method, path, query, status, grant type; never a token) for tests to assert on.
//!
//! ```no_run
//! # async fn f() -> anyhow::Result<()> {
//! use infrasnap_emulator::gas::{GasServer, ScriptFile, ScriptProject, GasFault};
//! let g = GasServer::start().await?;
//! g.add_client("client-id", "client-secret", "refresh-token");
//! g.add_project(ScriptProject::new("1abc", "Budget").file(ScriptFile::gs("Code", "function f() {}\n")));
//! g.fault("/v1/projects/1abc/content", GasFault::RateLimited { retry_after_secs: 1 }, Some(1));
//! // token endpoint: {url}/token; script endpoint and drive endpoint: {url}
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One file of a project: `SERVER_JS`, `HTML` or `JSON` (the manifest, `appsscript`).
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptFile {
    pub name: String,
    pub kind: String,
    pub source: String,
}

impl ScriptFile {
    pub fn new(name: &str, kind: &str, source: &str) -> Self {
        ScriptFile {
            name: name.into(),
            kind: kind.into(),
            source: source.into(),
        }
    }
    /// A server-side script (`<name>.gs` in clasp's layout).
    pub fn gs(name: &str, source: &str) -> Self {
        Self::new(name, "SERVER_JS", source)
    }
    pub fn html(name: &str, source: &str) -> Self {
        Self::new(name, "HTML", source)
    }
    /// The manifest, `appsscript.json`.
    pub fn manifest(source: &str) -> Self {
        Self::new("appsscript", "JSON", source)
    }
    /// The file's name in clasp's layout.
    pub fn clasp_name(&self) -> String {
        let ext = match self.kind.as_str() {
            "SERVER_JS" => "gs",
            "HTML" => "html",
            _ => "json",
        };
        format!("{}.{ext}", self.name)
    }
    fn resource(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.kind,
            "source": self.source,
            "createTime": "2024-01-02T03:04:05.678Z",
            "updateTime": "2024-05-06T07:08:09.123Z",
            "lastModifyUser": {"email": "ops@example.com", "name": "Ops"},
        })
    }
}

/// One immutable version of a project, with its content.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptVersion {
    pub number: u64,
    pub description: String,
    pub create_time: String,
    pub files: Vec<ScriptFile>,
}

/// A project as the stand-in serves it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptProject {
    pub script_id: String,
    pub title: String,
    /// The container of a container-bound script (such projects are not listed in Drive).
    pub parent_id: Option<String>,
    pub create_time: String,
    pub update_time: String,
    pub files: Vec<ScriptFile>,
    pub versions: Vec<ScriptVersion>,
    pub deployments: Vec<Value>,
}

impl ScriptProject {
    pub fn new(script_id: &str, title: &str) -> Self {
        ScriptProject {
            script_id: script_id.into(),
            title: title.into(),
            parent_id: None,
            create_time: "2023-03-04T05:06:07.890Z".into(),
            update_time: "2024-06-07T08:09:10.111Z".into(),
            files: Vec::new(),
            versions: Vec::new(),
            deployments: Vec::new(),
        }
    }
    pub fn file(mut self, f: ScriptFile) -> Self {
        self.files.push(f);
        self
    }
    /// Container-bound: not found through Drive.
    pub fn bound_to(mut self, parent_id: &str) -> Self {
        self.parent_id = Some(parent_id.into());
        self
    }
    pub fn version(mut self, number: u64, description: &str, files: Vec<ScriptFile>) -> Self {
        self.versions.push(ScriptVersion {
            number,
            description: description.into(),
            create_time: format!("2024-0{}-01T00:00:00.000Z", (number % 9) + 1),
            files,
        });
        self
    }
    /// A deployment of `version` (None: the HEAD deployment).
    pub fn deployment(mut self, id: &str, version: Option<u64>, description: &str) -> Self {
        let mut config = json!({
            "scriptId": self.script_id,
            "manifestFileName": "appsscript",
            "description": description,
        });
        if let Some(v) = version {
            config["versionNumber"] = json!(v);
        }
        self.deployments.push(json!({
            "deploymentId": id,
            "deploymentConfig": config,
            "updateTime": "2024-06-01T12:00:00.000Z",
            "entryPoints": [{
                "entryPointType": "WEB_APP",
                "webApp": {
                    "url": format!("https://script.google.com/macros/s/{id}/exec"),
                    "entryPointConfig": {"access": "ANYONE", "executeAs": "USER_DEPLOYING"}
                }
            }],
        }));
        self
    }

    /// What projects.get answers.
    pub fn metadata(&self) -> Value {
        let mut v = json!({
            "scriptId": self.script_id,
            "title": self.title,
            "createTime": self.create_time,
            "updateTime": self.update_time,
            "creator": {"email": "founder@example.com", "name": "Founder"},
            "lastModifyUser": {"email": "ops@example.com", "name": "Ops"},
        });
        if let Some(p) = &self.parent_id {
            v["parentId"] = json!(p);
        }
        v
    }

    /// What projects.getContent answers, for HEAD or a version.
    pub fn content(&self, version: Option<u64>) -> Option<Value> {
        let files = match version {
            None => &self.files,
            Some(n) => &self.versions.iter().find(|v| v.number == n)?.files,
        };
        Some(json!({
            "scriptId": self.script_id,
            "files": files.iter().map(ScriptFile::resource).collect::<Vec<_>>(),
        }))
    }

    /// The version resources, as projects.versions.list lists them.
    pub fn version_resources(&self) -> Vec<Value> {
        self.versions
            .iter()
            .map(|v| {
                json!({
                    "scriptId": self.script_id,
                    "versionNumber": v.number,
                    "description": v.description,
                    "createTime": v.create_time,
                })
            })
            .collect()
    }
}

/// A scripted failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GasFault {
    /// 401 UNAUTHENTICATED, whatever the token.
    Unauthorized,
    /// 429 RESOURCE_EXHAUSTED with `Retry-After`.
    RateLimited { retry_after_secs: u64 },
    /// 403: the Apps Script API is not enabled (reason `accessNotConfigured`).
    AccessNotConfigured,
    /// 403 PERMISSION_DENIED: "The caller does not have permission".
    PermissionDenied,
    /// 404 NOT_FOUND.
    NotFound,
    /// 500 INTERNAL.
    ServerError,
}

/// One request as the stand-in saw it (never a token or a secret).
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    pub at: Instant,
    pub method: String,
    pub path: String,
    /// Decoded query parameters.
    pub query: BTreeMap<String, String>,
    pub status: u16,
    /// For the token endpoint: the grant type asked for.
    pub grant_type: Option<String>,
    /// A scripted fault answered it.
    pub fault: Option<GasFault>,
}

struct ScriptedFault {
    path: String,
    fault: GasFault,
    /// None: every time.
    remaining: Option<u32>,
}

#[derive(Default)]
struct State {
    projects: BTreeMap<String, ScriptProject>,
    /// refresh token -> (client id, client secret)
    clients: HashMap<String, (String, String)>,
    /// client email -> public key (PEM) to check signatures with, if given
    service_accounts: HashMap<String, Option<String>>,
    /// access token -> expiry
    tokens: HashMap<String, Instant>,
    issued: Vec<String>,
    token_lifetime: u64,
    page_size: usize,
    faults: Vec<ScriptedFault>,
    log: Vec<LoggedRequest>,
    counter: u64,
}

/// The running stand-in; stops when dropped.
pub struct GasServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    accept_task: JoinHandle<()>,
}

impl GasServer {
    /// Listen on 127.0.0.1 on a free port. Must be called inside a tokio runtime.
    pub async fn start() -> anyhow::Result<GasServer> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the Apps Script stand-in to 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            token_lifetime: 3599,
            page_size: 2,
            ..Default::default()
        }));
        let accept_task = tokio::spawn(accept_loop(listener, state.clone()));
        Ok(GasServer {
            addr,
            state,
            accept_task,
        })
    }

    /// `http://127.0.0.1:PORT`: the script and the drive endpoint.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The OAuth token endpoint: `{url}/token`.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.url())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("stand-in state")
    }

    pub fn add_project(&self, p: ScriptProject) {
        self.state().projects.insert(p.script_id.clone(), p);
    }

    pub fn project(&self, script_id: &str) -> Option<ScriptProject> {
        self.state().projects.get(script_id).cloned()
    }

    /// An OAuth client and a refresh token the token endpoint accepts.
    pub fn add_client(&self, client_id: &str, client_secret: &str, refresh_token: &str) {
        self.state().clients.insert(
            refresh_token.into(),
            (client_id.into(), client_secret.into()),
        );
    }

    /// A service account whose JWT assertions are accepted: claims `iss` (this email), `aud`,
    /// `scope` with script.projects.readonly, `exp` after `iat`; and, when `public_key_pem` is
    /// given, an RS256 signature made with the matching private key.
    pub fn add_service_account(&self, client_email: &str, public_key_pem: Option<&str>) {
        self.state()
            .service_accounts
            .insert(client_email.into(), public_key_pem.map(str::to_string));
    }

    /// Make `token` a valid access token for `valid_for` (as if issued earlier).
    pub fn issue_token(&self, token: &str, valid_for: Duration) {
        let mut s = self.state();
        s.tokens.insert(token.into(), Instant::now() + valid_for);
        s.issued.push(token.into());
    }

    /// Lifetime of the tokens the token endpoint issues (`expires_in`).
    pub fn set_token_lifetime(&self, secs: u64) {
        self.state().token_lifetime = secs;
    }

    /// Items per page of versions, deployments and Drive files (default 2, to exercise paging).
    pub fn set_page_size(&self, n: usize) {
        self.state().page_size = n.max(1);
    }

    /// Answer requests to `path` (exactly, or anything below it) with `fault`, `times` times
    /// (None: always). Checked after the token, in the order added.
    pub fn fault(&self, path: &str, fault: GasFault, times: Option<u32>) {
        self.state().faults.push(ScriptedFault {
            path: path.trim_end_matches('/').into(),
            fault,
            remaining: times,
        });
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state().log.clone()
    }

    /// Every access token handed out or planted (for tests that look for leaks).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state().issued.clone()
    }

    /// Successful token grants of `grant_type` (`refresh_token`, or the JWT-bearer URN).
    pub fn grants(&self, grant_type: &str) -> usize {
        self.state()
            .log
            .iter()
            .filter(|r| r.grant_type.as_deref() == Some(grant_type) && r.status == 200)
            .count()
    }
}

impl Drop for GasServer {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<Mutex<State>>) {
    crate::serve::accept_loop(listener, move |req| {
        let state = state.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(state, req).await) }
    })
    .await
}

type Resp = Response<Full<Bytes>>;

fn respond(status: StatusCode, content_type: &str, body: Vec<u8>) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

fn json_response(status: StatusCode, v: &Value) -> Resp {
    respond(
        status,
        "application/json; charset=UTF-8",
        serde_json::to_vec_pretty(v).expect("json"),
    )
}

fn google_error(code: u16, status: &str, message: &str, reasons: &[(&str, &str)]) -> Value {
    let mut e = json!({"error": {"code": code, "message": message, "status": status}});
    if !reasons.is_empty() {
        e["error"]["errors"] = reasons
            .iter()
            .map(|(domain, reason)| json!({"message": message, "domain": domain, "reason": reason}))
            .collect();
    }
    e
}

fn fault_response(f: GasFault) -> Resp {
    match f {
        GasFault::Unauthorized => unauthenticated(),
        GasFault::RateLimited { retry_after_secs } => {
            let mut r = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &google_error(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service 'script.googleapis.com'.",
                    &[("global", "rateLimitExceeded")],
                ),
            );
            r.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
            r
        }
        GasFault::AccessNotConfigured => json_response(
            StatusCode::FORBIDDEN,
            &google_error(
                403,
                "PERMISSION_DENIED",
                "Apps Script API has not been used in project 1072944905499 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/script.googleapis.com/overview?project=1072944905499 then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.",
                &[("usageLimits", "accessNotConfigured")],
            ),
        ),
        GasFault::PermissionDenied => json_response(
            StatusCode::FORBIDDEN,
            &google_error(
                403,
                "PERMISSION_DENIED",
                "The caller does not have permission",
                &[],
            ),
        ),
        GasFault::NotFound => not_found(),
        GasFault::ServerError => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &google_error(500, "INTERNAL", "Internal error encountered.", &[]),
        ),
    }
}

fn unauthenticated() -> Resp {
    let mut r = json_response(
        StatusCode::UNAUTHORIZED,
        &google_error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            &[],
        ),
    );
    r.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_static("Bearer realm=\"https://accounts.google.com/\""),
    );
    r
}

fn not_found() -> Resp {
    json_response(
        StatusCode::NOT_FOUND,
        &google_error(404, "NOT_FOUND", "Requested entity was not found.", &[]),
    )
}

/// Decode `application/x-www-form-urlencoded` (queries and form bodies).
fn decode_form(s: &str) -> BTreeMap<String, String> {
    fn dec(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    match u8::from_str_radix(
                        std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"),
                        16,
                    ) {
                        Ok(v) => {
                            out.push(v);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (dec(k), dec(v))
        })
        .collect()
}

fn page(items: Vec<Value>, key: &str, query: &BTreeMap<String, String>, size: usize) -> Value {
    let start: usize = query
        .get("pageToken")
        .and_then(|t| t.strip_prefix("page-"))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let end = (start + size).min(items.len());
    let mut v = json!({ key: items.get(start..end).unwrap_or(&[]).to_vec() });
    if end < items.len() {
        v["nextPageToken"] = json!(format!("page-{end}"));
    }
    v
}

async fn handle(state: Arc<Mutex<State>>, req: Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    let query = decode_form(parts.uri.query().unwrap_or(""));
    let mut grant_type = None;
    let mut fault_used = None;
    let resp = {
        let mut s = state.lock().expect("stand-in state");
        let resp = route(
            &mut s,
            &parts.method,
            &path,
            &query,
            parts
                .headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
            &body,
            &mut grant_type,
            &mut fault_used,
        );
        s.log.push(LoggedRequest {
            at: Instant::now(),
            method: parts.method.to_string(),
            path,
            query,
            status: resp.status().as_u16(),
            grant_type,
            fault: fault_used,
        });
        resp
    };
    resp
}

#[allow(clippy::too_many_arguments)]
fn route(
    s: &mut State,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    authorization: Option<&str>,
    body: &[u8],
    grant_type: &mut Option<String>,
    fault_used: &mut Option<GasFault>,
) -> Resp {
    if method == Method::POST && path == "/token" {
        let form = decode_form(&String::from_utf8_lossy(body));
        *grant_type = form.get("grant_type").cloned();
        return token_endpoint(s, &form);
    }
    if method != Method::GET && method != Method::PUT && method != Method::POST {
        return json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &google_error(
                405,
                "INVALID_ARGUMENT",
                "method not supported by the stand-in",
                &[],
            ),
        );
    }

    // Every API call needs a live token issued here.
    let token = authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim);
    let live = token
        .and_then(|t| s.tokens.get(t))
        .is_some_and(|exp| Instant::now() < *exp);
    if !live {
        return unauthenticated();
    }
    if let Some(f) = s.faults.iter_mut().find(|f| {
        f.remaining != Some(0)
            && (path == f.path
                || path
                    .strip_prefix(f.path.as_str())
                    .is_some_and(|rest| rest.starts_with('/')))
    }) {
        if let Some(n) = f.remaining.as_mut() {
            *n -= 1;
        }
        *fault_used = Some(f.fault);
        return fault_response(f.fault);
    }

    if path == "/drive/v3/files" {
        let q = query.get("q").map(String::as_str).unwrap_or("");
        if !q.contains("mimeType='application/vnd.google-apps.script'") {
            return json_response(
                StatusCode::BAD_REQUEST,
                &google_error(
                    400,
                    "INVALID_ARGUMENT",
                    "the stand-in only lists scripts",
                    &[],
                ),
            );
        }
        let files: Vec<Value> = s
            .projects
            .values()
            .filter(|p| p.parent_id.is_none())
            .map(|p| json!({"id": p.script_id, "name": p.title, "modifiedTime": p.update_time}))
            .collect();
        return json_response(StatusCode::OK, &page(files, "files", query, s.page_size));
    }

    let Some(rest) = path.strip_prefix("/v1/projects/") else {
        return not_found();
    };
    let mut segs = rest.splitn(2, '/');
    let id = segs.next().unwrap_or("");
    let sub = segs.next();
    if method == Method::POST {
        // projects.versions.create: an immutable copy of the current files.
        let Some(p) = s.projects.get_mut(id) else {
            return not_found();
        };
        if sub != Some("versions") {
            return not_found();
        }
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let number = p.versions.iter().map(|v| v.number).max().unwrap_or(0) + 1;
        let files = p.files.clone();
        *p = p
            .clone()
            .version(number, v["description"].as_str().unwrap_or(""), files);
        let created = p
            .version_resources()
            .into_iter()
            .find(|r| r["versionNumber"] == json!(number))
            .unwrap_or(Value::Null);
        return json_response(StatusCode::OK, &created);
    }
    if method == Method::PUT {
        // projects.updateContent: what `clasp push` sends replaces the project's files.
        let Some(p) = s.projects.get_mut(id) else {
            return not_found();
        };
        if sub != Some("content") {
            return not_found();
        }
        let Some(files) = update_content(body) else {
            return json_response(
                StatusCode::BAD_REQUEST,
                &google_error(
                    400,
                    "INVALID_ARGUMENT",
                    "Invalid JSON payload received.",
                    &[],
                ),
            );
        };
        p.files = files;
        let c = p.content(None).expect("HEAD content");
        return json_response(StatusCode::OK, &c);
    }
    let Some(p) = s.projects.get(id) else {
        return not_found();
    };
    match sub {
        None => json_response(StatusCode::OK, &p.metadata()),
        Some("content") => {
            let version = match query.get("versionNumber") {
                Some(v) => match v.parse() {
                    Ok(n) => Some(n),
                    Err(_) => return not_found(),
                },
                None => None,
            };
            match p.content(version) {
                Some(c) => json_response(StatusCode::OK, &c),
                None => not_found(),
            }
        }
        Some("versions") => json_response(
            StatusCode::OK,
            &page(p.version_resources(), "versions", query, s.page_size),
        ),
        Some("deployments") => json_response(
            StatusCode::OK,
            &page(p.deployments.clone(), "deployments", query, s.page_size),
        ),
        Some(_) => not_found(),
    }
}

/// The files of a projects.updateContent body (`{"files": [{name, type, source}]}`).
fn update_content(body: &[u8]) -> Option<Vec<ScriptFile>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v["files"]
        .as_array()?
        .iter()
        .map(|f| {
            Some(ScriptFile::new(
                f["name"].as_str()?,
                f["type"].as_str()?,
                f["source"].as_str().unwrap_or(""),
            ))
        })
        .collect()
}

fn oauth_error(error: &str, description: &str) -> Resp {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": error, "error_description": description}),
    )
}

fn token_endpoint(s: &mut State, form: &BTreeMap<String, String>) -> Resp {
    let f = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    match f("grant_type") {
        "refresh_token" => match s.clients.get(f("refresh_token")) {
            None => oauth_error("invalid_grant", "Token has been expired or revoked."),
            Some((id, secret)) if id != f("client_id") || secret != f("client_secret") => {
                oauth_error("invalid_client", "Unauthorized")
            }
            Some(_) => issue(s, "https://www.googleapis.com/auth/script.projects https://www.googleapis.com/auth/drive.metadata.readonly"),
        },
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            let claims = f("assertion")
                .split('.')
                .nth(1)
                .and_then(|p| {
                    use base64::Engine;
                    base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(p.trim_end_matches('='))
                        .ok()
                })
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
            let Some(c) = claims else {
                return oauth_error("invalid_grant", "Invalid JWT.");
            };
            let iss = c["iss"].as_str().unwrap_or("");
            let signed = match s.service_accounts.get(iss) {
                None => false,
                Some(None) => true,
                Some(Some(pem)) => verify_rs256(f("assertion"), pem),
            };
            let ok = signed
                && c["aud"].as_str().is_some_and(|a| !a.is_empty())
                && c["scope"]
                    .as_str()
                    .is_some_and(|sc| sc.contains("script.projects.readonly"))
                && c["exp"].as_u64() > c["iat"].as_u64();
            if ok {
                let scope = c["scope"].as_str().unwrap_or("").to_string();
                issue(s, &scope)
            } else {
                oauth_error("invalid_grant", "Invalid JWT Signature.")
            }
        }
        _ => oauth_error("unsupported_grant_type", "Invalid grant_type."),
    }
}

fn verify_rs256(jwt: &str, public_key_pem: &str) -> bool {
    use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
    let Ok(key) = DecodingKey::from_rsa_pem(public_key_pem.as_bytes()) else {
        return false;
    };
    let mut v = Validation::new(Algorithm::RS256);
    v.validate_aud = false;
    decode::<Value>(jwt, &key, &v).is_ok()
}

fn issue(s: &mut State, scope: &str) -> Resp {
    s.counter += 1;
    let token = format!("ya29.standin-{}-{:016x}", s.counter, {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        (t as u64) ^ (s.counter.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    });
    s.tokens.insert(
        token.clone(),
        Instant::now() + Duration::from_secs(s.token_lifetime),
    );
    s.issued.push(token.clone());
    json_response(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "expires_in": s.token_lifetime,
            "scope": scope,
            "token_type": "Bearer",
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_pages() {
        let q = decode_form("q=mimeType%3D%27a%27+and+x&pageToken=page-2&e=");
        assert_eq!(q["q"], "mimeType='a' and x");
        assert_eq!(q["pageToken"], "page-2");
        assert_eq!(q["e"], "");
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let p = page(items.clone(), "v", &q, 2);
        assert_eq!(p["v"], json!([2, 3]));
        assert_eq!(p["nextPageToken"], "page-4");
        let last = page(items, "v", &decode_form("pageToken=page-4"), 2);
        assert_eq!(last["v"], json!([4]));
        assert!(last.get("nextPageToken").is_none());
    }
}
