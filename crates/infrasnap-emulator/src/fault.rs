//! A fault-injecting HTTP/1.1 reverse proxy (on the wire, unlike an SDK
//! interceptor): forwards requests to an upstream server unchanged, except
//! that a deterministic fraction of them get an S3-style error or a response
//! body cut off mid-way.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderMap, HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode, Uri, Version};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::lambda_code::LambdaCode;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// A kind of injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// `503 SlowDown` (S3 XML error), upstream not contacted.
    SlowDown503,
    /// `400 Throttling` (S3 XML error shape), upstream not contacted.
    Throttling400,
    /// `500 InternalError`, upstream not contacted.
    Internal500,
    /// Forwarded; status and headers (with the original Content-Length) are
    /// sent, then about half the body, then the connection is dropped.
    /// Falls back to [`Fault::Internal500`] when the upstream body is empty.
    ResetMidBody,
    /// Forwarded whole, but one byte of an object's content is flipped (status, headers and
    /// length intact): a silent corruption only an integrity check can catch. Applied only to
    /// object downloads (GET, non-XML body, single-part ETag); other requests pass unchanged
    /// and are not counted.
    CorruptBody,
}

impl Fault {
    /// Every fault kind on the wire (not [`Fault::CorruptBody`], which has its own counter).
    pub const ALL: [Fault; 4] = [
        Fault::SlowDown503,
        Fault::Throttling400,
        Fault::Internal500,
        Fault::ResetMidBody,
    ];

    fn index(self) -> usize {
        match self {
            Fault::SlowDown503 => 0,
            Fault::Throttling400 => 1,
            Fault::Internal500 => 2,
            Fault::ResetMidBody => 3,
            Fault::CorruptBody => 4,
        }
    }
}

/// Which requests get a fault.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultConfig {
    /// Fraction of requests that get a fault, `0.0..=1.0`.
    pub fraction: f64,
    /// Which kinds, chosen among uniformly. May be empty only if `fraction == 0`.
    pub faults: Vec<Fault>,
    /// Seed for the deterministic choice.
    pub seed: u64,
}

impl FaultConfig {
    /// No faults: a transparent proxy.
    pub fn none() -> Self {
        FaultConfig {
            fraction: 0.0,
            faults: Vec::new(),
            seed: 0,
        }
    }

    /// All fault kinds, on `fraction` of requests.
    pub fn all(fraction: f64, seed: u64) -> Self {
        FaultConfig {
            fraction,
            faults: Fault::ALL.to_vec(),
            seed,
        }
    }

    /// A single fault kind, on `fraction` of requests.
    pub fn only(fault: Fault, fraction: f64, seed: u64) -> Self {
        FaultConfig {
            fraction,
            faults: vec![fault],
            seed,
        }
    }
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self::none()
    }
}

/// Counters of a [`FaultProxy`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Requests received from clients (faulted or not).
    pub requests: u64,
    /// Faults actually served, per kind (kinds never served are absent).
    /// A `ResetMidBody` that fell back to a 500 counts as `Internal500`.
    pub injected: HashMap<Fault, u64>,
}

impl FaultStats {
    /// How many faults of `kind` were served.
    pub fn count(&self, kind: Fault) -> u64 {
        self.injected.get(&kind).copied().unwrap_or(0)
    }

    /// How many faults were served in total.
    pub fn injected_total(&self) -> u64 {
        self.injected.values().sum()
    }
}

struct Shared {
    /// `host:port` of the upstream.
    upstream_authority: String,
    faults: Vec<Fault>,
    seed: u64,
    fraction_bits: AtomicU64,
    requests: AtomicU64,
    injected: [AtomicU64; 5],
    client: Client<HttpConnector, Full<Bytes>>,
    /// The stand-in for Lambda's presigned code URLs (lambda_code.rs).
    lambda_code: LambdaCode,
    /// Requests whose `X-Amz-Target` starts with a prefix here go to that `host:port` instead of
    /// the upstream: services moto lacks, answered by a stand-in (e.g. Lightsail).
    target_routes: std::sync::RwLock<Vec<(String, String)>>,
}

impl Shared {
    /// Deterministic decision for the `n`-th request.
    fn choose(&self, n: u64) -> Option<Fault> {
        let fraction = f64::from_bits(self.fraction_bits.load(Ordering::Relaxed));
        if self.faults.is_empty() || fraction <= 0.0 {
            return None;
        }
        let h = splitmix64(self.seed ^ splitmix64(n));
        let u = (h >> 11) as f64 / (1u64 << 53) as f64;
        if u >= fraction {
            return None;
        }
        let k = splitmix64(h) % self.faults.len() as u64;
        Some(self.faults[k as usize])
    }

    fn record(&self, fault: Fault) {
        self.injected[fault.index()].fetch_add(1, Ordering::Relaxed);
    }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A fault-injecting reverse proxy listening on `127.0.0.1:PORT`.
///
/// Runs on spawned tokio tasks until dropped; dropping it closes the listener
/// and every client connection.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_task: JoinHandle<()>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream_authority)
            .field("faults", &self.shared.faults)
            .field("seed", &self.shared.seed)
            .finish_non_exhaustive()
    }
}

impl FaultProxy {
    /// Listen on `127.0.0.1:0` and forward every request to `upstream` (an
    /// `http://host:port` URL) unchanged, injecting faults per `cfg`.
    ///
    /// Must be called inside a tokio runtime.
    pub async fn start(upstream: &str, cfg: FaultConfig) -> anyhow::Result<FaultProxy> {
        if !(0.0..=1.0).contains(&cfg.fraction) {
            bail!(
                "fault fraction must be within 0.0..=1.0, got {}",
                cfg.fraction
            );
        }
        if cfg.fraction > 0.0 && cfg.faults.is_empty() {
            bail!(
                "fault fraction is {} but no fault kinds were given",
                cfg.fraction
            );
        }
        let uri: Uri = upstream
            .parse()
            .with_context(|| format!("invalid upstream URL {upstream:?}"))?;
        if uri.scheme_str() != Some("http") {
            bail!("upstream must be an http:// URL, got {upstream:?}");
        }
        let Some(authority) = uri.authority() else {
            bail!("upstream URL {upstream:?} has no host");
        };
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            bail!("upstream URL {upstream:?} must not have a path or query");
        }

        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);

        let shared = Arc::new(Shared {
            upstream_authority: authority.to_string(),
            faults: cfg.faults,
            seed: cfg.seed,
            fraction_bits: AtomicU64::new(cfg.fraction.to_bits()),
            requests: AtomicU64::new(0),
            injected: Default::default(),
            client,
            lambda_code: LambdaCode::default(),
            target_routes: Default::default(),
        });

        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding fault proxy to 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        shared.lambda_code.set_base_url(&format!("http://{addr}"));
        let accept_task = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(FaultProxy {
            addr,
            shared,
            accept_task,
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The local listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Change the fault fraction of subsequent requests (e.g. 0.0 while
    /// seeding data, then back on).
    ///
    /// # Panics
    /// If `fraction` is outside `0.0..=1.0`, or positive with no fault kinds.
    pub fn set_fraction(&self, fraction: f64) {
        assert!(
            (0.0..=1.0).contains(&fraction),
            "fault fraction must be within 0.0..=1.0, got {fraction}"
        );
        assert!(
            fraction == 0.0 || !self.shared.faults.is_empty(),
            "fault proxy has no fault kinds configured"
        );
        self.shared
            .fraction_bits
            .store(fraction.to_bits(), Ordering::Relaxed);
    }

    /// Send requests whose `X-Amz-Target` header starts with `prefix` (a JSON-protocol service,
    /// e.g. `Lightsail_20161128.`) to `url` (`http://host:port`) instead of the upstream.
    pub fn route_target(&self, prefix: &str, url: &str) -> anyhow::Result<()> {
        let uri: Uri = url
            .parse()
            .with_context(|| format!("invalid route URL {url:?}"))?;
        let Some(authority) = uri.authority() else {
            bail!("route URL {url:?} has no host");
        };
        self.shared
            .target_routes
            .write()
            .expect("routes")
            .push((prefix.to_string(), authority.to_string()));
        Ok(())
    }

    /// The Lambda code stand-in: downloads served, corruption on demand (lambda_code.rs).
    pub fn lambda_code(&self) -> &LambdaCode {
        &self.shared.lambda_code
    }

    /// Total requests, and faults served per kind.
    pub fn stats(&self) -> FaultStats {
        let injected = Fault::ALL
            .iter()
            .chain(std::iter::once(&Fault::CorruptBody))
            .filter_map(|&f| {
                let n = self.shared.injected[f.index()].load(Ordering::Relaxed);
                (n > 0).then_some((f, n))
            })
            .collect();
        FaultStats {
            requests: self.shared.requests.load(Ordering::Relaxed),
            injected,
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Cancelling the accept loop drops its JoinSet, which aborts every
        // connection task.
        self.accept_task.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    // Errors of a connection are client disconnects or deliberate resets.
    crate::serve::accept_loop(listener, move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(handle(shared, req).await) }
    })
    .await
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<ProxyBody> {
    let n = shared.requests.fetch_add(1, Ordering::Relaxed);
    let fault = shared.choose(n);
    let request_id = format!("FAULTPROXY{n:010}");

    // Always read the whole request body first, so that an injected error
    // never races a client still uploading, and keep-alive stays usable.
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return text_response(
                StatusCode::BAD_REQUEST,
                format!("fault proxy: reading request body: {e}"),
            )
        }
    };

    if let Some(f @ (Fault::SlowDown503 | Fault::Throttling400 | Fault::Internal500)) = fault {
        shared.record(f);
        return error_response(f, &request_id);
    }

    // Lambda code stand-in: downloads are answered here; uploads and code locations are seen
    // on their way through (lambda_code.rs).
    if let Some((status, bytes)) = shared.lambda_code.serve(&parts.method, parts.uri.path()) {
        return full_response(status, bytes);
    }
    // Account API ListRegions: moto has none. Answer as an account with only us-east-1 enabled
    // (a run without --regions then captures us-east-1, as the tests and the demo expect).
    if parts.method == hyper::Method::POST && parts.uri.path() == "/listRegions" {
        let mut resp = full_response(
            StatusCode::OK,
            Bytes::from_static(
                br#"{"Regions":[{"RegionName":"us-east-1","RegionOptStatus":"ENABLED_BY_DEFAULT"}]}"#,
            ),
        );
        resp.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return resp;
    }
    let lambda =
        shared
            .lambda_code
            .exchange(&parts.method, parts.uri.path(), &parts.headers, &body);

    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let fixup = moto_fixup_for(&parts.method, parts.uri.query());
    let method_was_get = parts.method == hyper::Method::GET;
    let pin_export = method_was_get && is_rest_api_export(parts.uri.path());
    let routed = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|target| {
            shared
                .target_routes
                .read()
                .expect("routes")
                .iter()
                .find(|(prefix, _)| target.starts_with(prefix.as_str()))
                .map(|(_, authority)| authority.clone())
        });
    let authority = routed.as_deref().unwrap_or(&shared.upstream_authority);
    let uri = match format!("http://{authority}{path_and_query}").parse::<Uri>() {
        Ok(uri) => uri,
        Err(e) => {
            return text_response(
                StatusCode::BAD_REQUEST,
                format!("fault proxy: bad request target {path_and_query:?}: {e}"),
            )
        }
    };
    let mut upstream_req = Request::new(Full::new(body));
    *upstream_req.method_mut() = parts.method;
    *upstream_req.uri_mut() = uri;
    *upstream_req.version_mut() = Version::HTTP_11;
    // Headers go through unchanged, including the client's Host (the legacy
    // client only sets Host when it is missing), minus per-connection ones.
    *upstream_req.headers_mut() = parts.headers;
    strip_connection_headers(upstream_req.headers_mut());

    let resp = match shared.client.request(upstream_req).await {
        Ok(resp) => resp,
        Err(e) => {
            return text_response(
                StatusCode::BAD_GATEWAY,
                format!("fault proxy: upstream request failed: {e:?}"),
            )
        }
    };
    let (mut rparts, rbody) = resp.into_parts();
    rparts.version = Version::HTTP_11;
    strip_connection_headers(&mut rparts.headers);

    if let (Some(ex), true) = (lambda, rparts.status.is_success()) {
        let data = match rbody.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                return text_response(
                    StatusCode::BAD_GATEWAY,
                    format!("fault proxy: reading upstream body: {e}"),
                )
            }
        };
        let data = shared.lambda_code.answer(ex, &data).unwrap_or(data);
        rparts.headers.remove(hyper::header::TRANSFER_ENCODING);
        rparts
            .headers
            .insert(CONTENT_LENGTH, HeaderValue::from(data.len()));
        return Response::from_parts(
            rparts,
            Full::new(data).map_err(BoxError::from).boxed_unsync(),
        );
    }

    if let (Some((wrong, right)), true) = (fixup, rparts.status == StatusCode::OK) {
        let data = match rbody.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                return text_response(
                    StatusCode::BAD_GATEWAY,
                    format!("fault proxy: reading upstream body: {e}"),
                )
            }
        };
        let fixed = Bytes::from(
            String::from_utf8_lossy(&data)
                .replace(&format!("<{wrong}"), &format!("<{right}"))
                .replace(&format!("</{wrong}>"), &format!("</{right}>")),
        );
        rparts.headers.insert(
            hyper::header::CONTENT_LENGTH,
            hyper::header::HeaderValue::from(fixed.len()),
        );
        return Response::from_parts(
            rparts,
            Full::new(fixed).map_err(BoxError::from).boxed_unsync(),
        );
    }

    if pin_export && rparts.status == StatusCode::OK {
        let data = match rbody.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                return text_response(
                    StatusCode::BAD_GATEWAY,
                    format!("fault proxy: reading upstream body: {e}"),
                )
            }
        };
        let fixed = pin_export_version(&data).unwrap_or(data);
        rparts.headers.remove(hyper::header::TRANSFER_ENCODING);
        rparts
            .headers
            .insert(CONTENT_LENGTH, HeaderValue::from(fixed.len()));
        return Response::from_parts(
            rparts,
            Full::new(fixed).map_err(BoxError::from).boxed_unsync(),
        );
    }

    let is_object_download = {
        let xml = rparts
            .headers
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("xml"));
        let single_part = rparts
            .headers
            .get(hyper::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| !v.contains('-'));
        method_was_get && rparts.status.is_success() && !xml && single_part
    };
    if fault == Some(Fault::CorruptBody) && is_object_download {
        let data = match rbody.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                return text_response(
                    StatusCode::BAD_GATEWAY,
                    format!("fault proxy: reading upstream body: {e}"),
                )
            }
        };
        if data.is_empty() {
            return Response::from_parts(
                rparts,
                Full::new(data).map_err(BoxError::from).boxed_unsync(),
            );
        }
        shared.record(Fault::CorruptBody);
        let mut v = data.to_vec();
        let mid = v.len() / 2;
        v[mid] ^= 0x5a;
        return Response::from_parts(
            rparts,
            Full::new(Bytes::from(v))
                .map_err(BoxError::from)
                .boxed_unsync(),
        );
    }

    if fault == Some(Fault::ResetMidBody) {
        let data = match rbody.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                return text_response(
                    StatusCode::BAD_GATEWAY,
                    format!("fault proxy: reading upstream body: {e}"),
                )
            }
        };
        if data.is_empty() {
            shared.record(Fault::Internal500);
            return error_response(Fault::Internal500, &request_id);
        }
        shared.record(Fault::ResetMidBody);
        let half = data.slice(..data.len() / 2);
        let head = futures::stream::iter((!half.is_empty()).then(|| Ok(Frame::data(half))));
        let tail = futures::stream::once(async {
            // Return Pending once so hyper flushes the head and the partial
            // body before the error makes it drop the connection.
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err::<Frame<Bytes>, BoxError>("fault proxy: injected reset mid-body".into())
        });
        let body = StreamBody::new(head.chain(tail));
        return Response::from_parts(rparts, BodyExt::boxed_unsync(body));
    }

    Response::from_parts(rparts, rbody.map_err(BoxError::from).boxed_unsync())
}

/// moto 5.2 answers GetBucketVersioning and GetBucketNotificationConfiguration with the wrong XML
/// root element (`GetBucketVersioningResponse`, `GetBucketNotificationResponse`) where S3 sends
/// `VersioningConfiguration` and `NotificationConfiguration`; the official SDK rejects moto's
/// shape, as it should. The proxy bridges that gap on the wire, so product code stays written for
/// real S3. Returns (moto's root, S3's root) for the requests that need it.
fn moto_fixup_for(
    method: &hyper::Method,
    query: Option<&str>,
) -> Option<(&'static str, &'static str)> {
    if method != hyper::Method::GET {
        return None;
    }
    let q = query?;
    let has = |name: &str| {
        q.split('&')
            .any(|p| p == name || p.starts_with(&format!("{name}=")))
    };
    if has("versioning") {
        Some(("GetBucketVersioningResponse", "VersioningConfiguration"))
    } else if has("notification") {
        Some(("GetBucketNotificationResponse", "NotificationConfiguration"))
    } else {
        None
    }
}

/// API Gateway GetExport: `GET /restapis/<id>/stages/<stage>/exports/<type>`.
fn is_rest_api_export(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches!(parts.as_slice(), ["restapis", _, "stages", _, "exports", _])
}

/// The value moto's GetExport answers get as `info.version`.
pub const PINNED_EXPORT_VERSION: &str = "2024-05-01T10:00:00Z";

/// moto writes the current time into an export's `info.version`; AWS gives a value that does
/// not move while the stage's deployment is unchanged. Pin it, so an unchanged API exports the
/// same document twice, as on AWS.
fn pin_export_version(data: &[u8]) -> Option<Bytes> {
    let mut doc: serde_json::Value = serde_json::from_slice(data).ok()?;
    let info = doc.get_mut("info")?.as_object_mut()?;
    info.insert("version".into(), PINNED_EXPORT_VERSION.into());
    Some(Bytes::from(serde_json::to_vec(&doc).ok()?))
}

/// Remove headers that only concern one connection (RFC 9110 §7.6.1):
/// `Connection`, the headers it names, `Keep-Alive` and `Proxy-Connection`.
/// Hyper manages these itself on each side; SigV4 never signs them.
fn strip_connection_headers(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    for name in named {
        // Never let a Connection header strip the message framing.
        if name != "content-length" && name != "transfer-encoding" && name != "host" {
            headers.remove(name.as_str());
        }
    }
    headers.remove(CONNECTION);
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

fn error_response(fault: Fault, request_id: &str) -> Response<ProxyBody> {
    let (status, code, message) = match fault {
        Fault::SlowDown503 => (
            StatusCode::SERVICE_UNAVAILABLE,
            "SlowDown",
            "Please reduce your request rate.",
        ),
        Fault::Throttling400 => (StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded"),
        Fault::Internal500 | Fault::ResetMidBody | Fault::CorruptBody => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
    };
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
    );
    let mut resp = full_response(status, Bytes::from(xml));
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amz-request-id", v);
    }
    resp
}

fn text_response(status: StatusCode, text: String) -> Response<ProxyBody> {
    let mut resp = full_response(status, Bytes::from(text));
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn full_response(status: StatusCode, body: Bytes) -> Response<ProxyBody> {
    let len = body.len();
    let mut resp = Response::new(
        Full::new(body)
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(len));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_is_deterministic_and_near_the_fraction() {
        let shared = |seed| Shared {
            upstream_authority: String::new(),
            faults: Fault::ALL.to_vec(),
            seed,
            fraction_bits: AtomicU64::new(0.3f64.to_bits()),
            requests: AtomicU64::new(0),
            injected: Default::default(),
            client: Client::builder(TokioExecutor::new()).build(HttpConnector::new()),
            lambda_code: LambdaCode::default(),
            target_routes: Default::default(),
        };
        let a = shared(42);
        let b = shared(42);
        let c = shared(43);
        let seq_a: Vec<_> = (0..10_000).map(|n| a.choose(n)).collect();
        let seq_b: Vec<_> = (0..10_000).map(|n| b.choose(n)).collect();
        let seq_c: Vec<_> = (0..10_000).map(|n| c.choose(n)).collect();
        assert_eq!(seq_a, seq_b);
        assert_ne!(seq_a, seq_c);
        let faulted = seq_a.iter().filter(|f| f.is_some()).count();
        assert!((2_700..3_300).contains(&faulted), "{faulted}");
        for kind in Fault::ALL {
            let k = seq_a.iter().filter(|f| **f == Some(kind)).count();
            assert!((600..900).contains(&k), "{kind:?}: {k}");
        }
        a.fraction_bits.store(1.0f64.to_bits(), Ordering::Relaxed);
        assert!((0..1000).all(|n| a.choose(n).is_some()));
        a.fraction_bits.store(0.0f64.to_bits(), Ordering::Relaxed);
        assert!((0..1000).all(|n| a.choose(n).is_none()));
    }
}
