//! A loopback stand-in for Amazon Lightsail (moto has no Lightsail: it answers HTML 500). It
//! speaks Lightsail's real wire protocol, AWS JSON 1.1: `POST /` with
//! `X-Amz-Target: Lightsail_20161128.<Operation>` and `Content-Type: application/x-amz-json-1.1`;
//! answers in the API's member names (`instances`, `nextPageToken`, epoch-second timestamps);
//! errors as HTTP 400 with `{"__type": "NotFoundException", "message": ...}`. The product reaches it
//! through the SDK's standard `AWS_ENDPOINT_URL_LIGHTSAIL` endpoint override, and tests seed it
//! through the real `aws-sdk-lightsail` client, as a user would on AWS.
//!
//! State is kept per region, the region being read from the SigV4 `Authorization` header's
//! credential scope. Operations: CreateInstances, GetInstances, GetInstance,
//! GetInstancePortStates, OpenInstancePublicPorts, CreateDisk, AttachDisk, GetDisks,
//! AllocateStaticIp, AttachStaticIp, GetStaticIps, CreateInstanceSnapshot, GetInstanceSnapshot,
//! GetInstanceSnapshots, CreateDiskSnapshot, GetDiskSnapshots, TagResource, GetRegions. Listings
//! page with `pageToken`/`nextPageToken` ([`LightsailServer::set_page_size`]). A new instance
//! snapshot is `pending`, then `available` as [`SnapshotReadiness`] says. Chosen operations can be
//! made to answer `AccessDeniedException` ([`LightsailServer::deny`]). A request signed for a
//! region where Lightsail is not offered ([`LightsailServer::set_offered_regions`]) gets no answer:
//! the connection is closed, as close as a loopback server gets to AWS's "no such endpoint" (on
//! AWS, `lightsail.<region>.amazonaws.com` does not resolve there).
//!
//! ```no_run
//! # async fn f() -> anyhow::Result<()> {
//! use infrasnap_emulator::lightsail::{LightsailServer, SnapshotReadiness};
//! let ls = LightsailServer::start().await?;
//! ls.set_page_size(1);
//! ls.set_snapshot_readiness(SnapshotReadiness::AfterPolls(2));
//! ls.deny("GetStaticIps", Some("us-east-1"));
//! // AWS_ENDPOINT_URL_LIGHTSAIL={ls.url()}
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The `X-Amz-Target` prefix of every Lightsail operation.
pub const TARGET_PREFIX: &str = "Lightsail_20161128.";
/// The account the ARNs name (moto's default account, so STS and Lightsail agree).
pub const ACCOUNT_ID: &str = "123456789012";
/// Regions the stand-in offers Lightsail in, unless told otherwise (AWS's list, 2025).
pub const DEFAULT_OFFERED_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "ca-central-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
];

/// When a new instance snapshot turns from `pending` to `available`. Fixed for each snapshot
/// when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotReadiness {
    /// Available from the start.
    Immediately,
    /// Available once GetInstanceSnapshot has been asked about it this many times (the answer
    /// to the n-th poll is the first `available`).
    AfterPolls(u32),
    /// Available this long after its creation.
    After(Duration),
    /// Pending forever (to test a wait that times out).
    Never,
    /// Ends in `error` at the first poll.
    Fails,
}

/// One request as the stand-in saw it.
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    pub at: Instant,
    /// The operation (`GetInstances`), from `X-Amz-Target`.
    pub operation: String,
    /// The region of the SigV4 credential scope.
    pub region: String,
    /// The `pageToken` of a listing request.
    pub page_token: Option<String>,
    /// HTTP status answered; 0 when the connection was closed without an answer.
    pub status: u16,
    /// The error type answered, if any.
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
struct Port {
    from: i64,
    to: i64,
    protocol: String,
    cidrs: Vec<String>,
}

impl Port {
    fn json(&self) -> Value {
        json!({
            "fromPort": self.from,
            "toPort": self.to,
            "protocol": self.protocol,
            "accessFrom": if self.cidrs.iter().any(|c| c == "0.0.0.0/0") { "Anywhere (0.0.0.0/0)".to_string() } else { self.cidrs.join(", ") },
            "accessType": if self.cidrs.iter().any(|c| c == "0.0.0.0/0") { "public" } else { "private" },
            "commonName": "",
            "accessDirection": "inbound",
            "cidrs": self.cidrs,
            "ipv6Cidrs": ["::/0"],
            "cidrListAliases": [],
        })
    }
}

#[derive(Debug, Clone)]
struct InstanceRec {
    name: String,
    arn: String,
    support_code: String,
    created_at: f64,
    zone: String,
    blueprint_id: String,
    blueprint_name: String,
    bundle_id: String,
    username: String,
    key_pair: String,
    tags: Vec<(String, Option<String>)>,
    auto_snapshot_time: Option<String>,
    private_ip: String,
    public_ip: String,
    ports: Vec<Port>,
    ip_address_type: String,
}

#[derive(Debug, Clone)]
struct DiskRec {
    name: String,
    arn: String,
    support_code: String,
    created_at: f64,
    zone: String,
    size_gb: i64,
    tags: Vec<(String, Option<String>)>,
    attached_to: Option<String>,
    path: Option<String>,
}

#[derive(Debug, Clone)]
struct StaticIpRec {
    name: String,
    arn: String,
    support_code: String,
    created_at: f64,
    zone: String,
    ip: String,
    attached_to: Option<String>,
}

#[derive(Debug, Clone)]
struct SnapshotRec {
    name: String,
    arn: String,
    support_code: String,
    created_at: f64,
    zone: String,
    tags: Vec<(String, Option<String>)>,
    from_instance: String,
    from_instance_arn: String,
    from_blueprint: String,
    from_bundle: String,
    size_gb: i64,
    from_disks: Vec<Value>,
    readiness: SnapshotReadiness,
    born: Instant,
    polls: u32,
    /// Settled state, once it left `pending`.
    settled: Option<&'static str>,
}

impl SnapshotRec {
    fn state(&self) -> &'static str {
        if let Some(s) = self.settled {
            return s;
        }
        match self.readiness {
            SnapshotReadiness::Immediately => "available",
            SnapshotReadiness::AfterPolls(n) if self.polls >= n => "available",
            SnapshotReadiness::After(d) if self.born.elapsed() >= d => "available",
            SnapshotReadiness::Fails if self.polls >= 1 => "error",
            _ => "pending",
        }
    }
}

#[derive(Debug, Clone)]
struct DiskSnapshotRec {
    name: String,
    arn: String,
    support_code: String,
    created_at: f64,
    zone: String,
    size_gb: i64,
    from_disk: String,
    from_disk_arn: String,
}

#[derive(Default)]
struct Region {
    instances: BTreeMap<String, InstanceRec>,
    disks: BTreeMap<String, DiskRec>,
    static_ips: BTreeMap<String, StaticIpRec>,
    snapshots: BTreeMap<String, SnapshotRec>,
    disk_snapshots: BTreeMap<String, DiskSnapshotRec>,
}

struct State {
    regions: BTreeMap<String, Region>,
    offered: Vec<String>,
    page_size: usize,
    readiness: SnapshotReadiness,
    /// (operation, region or every region)
    denied: Vec<(String, Option<String>)>,
    log: Vec<LoggedRequest>,
    counter: u64,
}

/// The running stand-in; stops when dropped.
pub struct LightsailServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    accept_task: JoinHandle<()>,
}

impl LightsailServer {
    /// Listen on 127.0.0.1 on a free port. Must be called inside a tokio runtime.
    pub async fn start() -> anyhow::Result<LightsailServer> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the Lightsail stand-in to 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            regions: BTreeMap::new(),
            offered: DEFAULT_OFFERED_REGIONS
                .iter()
                .map(|r| r.to_string())
                .collect(),
            page_size: 50,
            readiness: SnapshotReadiness::AfterPolls(2),
            denied: Vec::new(),
            log: Vec::new(),
            counter: 0,
        }));
        let accept_task = tokio::spawn(accept_loop(listener, state.clone()));
        Ok(LightsailServer {
            addr,
            state,
            accept_task,
        })
    }

    /// `http://127.0.0.1:PORT`: the value for `AWS_ENDPOINT_URL_LIGHTSAIL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("stand-in state")
    }

    /// Items per page of every listing (default 50; 1 or 2 exercises paging).
    pub fn set_page_size(&self, n: usize) {
        self.state().page_size = n.max(1);
    }

    /// How instance snapshots created from now on become available (default: after 2 polls).
    pub fn set_snapshot_readiness(&self, r: SnapshotReadiness) {
        self.state().readiness = r;
    }

    /// Answer `operation` (`GetStaticIps`) with `AccessDeniedException`, in `region` or everywhere.
    pub fn deny(&self, operation: &str, region: Option<&str>) {
        self.state()
            .denied
            .push((operation.to_string(), region.map(str::to_string)));
    }

    /// Stop denying everything.
    pub fn allow_all(&self) {
        self.state().denied.clear();
    }

    /// The regions where Lightsail is offered (GetRegions lists them; requests signed for any
    /// other region get no answer).
    pub fn set_offered_regions(&self, regions: &[&str]) {
        self.state().offered = regions.iter().map(|r| r.to_string()).collect();
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state().log.clone()
    }

    /// The instance snapshots of `region`: (name, source instance, state), by name. Does not
    /// count as a poll.
    pub fn instance_snapshots(&self, region: &str) -> Vec<(String, String, String)> {
        self.state()
            .regions
            .get(region)
            .map(|r| {
                r.snapshots
                    .values()
                    .map(|s| {
                        (
                            s.name.clone(),
                            s.from_instance.clone(),
                            s.state().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for LightsailServer {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<Mutex<State>>) {
    crate::serve::accept_loop(listener, move |req| {
        let state = state.clone();
        async move {
            // No answer: the connection is dropped.
            handle(state, req)
                .await
                .ok_or_else(|| std::io::Error::other("Lightsail is not offered here"))
        }
    })
    .await
}

type Resp = Response<Full<Bytes>>;

/// A JSON 1.1 answer.
fn answer(status: StatusCode, v: &Value, request_id: &str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(serde_json::to_vec(v).expect("json"))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        r.headers_mut().insert("x-amzn-requestid", v);
    }
    r
}

/// An error as Lightsail sends it: HTTP 400 (403 for a missing signature), `__type` and `message`.
struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

fn err(kind: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        kind,
        message: message.into(),
    }
}

fn not_found(what: &str, name: &str) -> ApiError {
    err(
        "NotFoundException",
        format!("The {what} does not exist: {name}"),
    )
}

/// The region of a SigV4 `Authorization` header: `Credential=<key>/<date>/<region>/<service>/aws4_request`.
fn region_of(authorization: &str) -> Option<String> {
    let cred = authorization.split("Credential=").nth(1)?;
    let scope = cred.split([',', ' ']).next()?;
    let parts: Vec<&str> = scope.split('/').collect();
    (parts.len() >= 5).then(|| parts[parts.len() - 3].to_string())
}

async fn handle(state: Arc<Mutex<State>>, req: Request<Incoming>) -> Option<Resp> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let operation = target
        .strip_prefix(TARGET_PREFIX)
        .unwrap_or(&target)
        .to_string();
    let region = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(region_of);
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let input: Result<Value, _> = if body.is_empty() {
        Ok(json!({}))
    } else {
        serde_json::from_slice(&body)
    };

    let mut s = state.lock().expect("stand-in state");
    s.counter += 1;
    let request_id = uuid_like(s.counter, 0x5eed);
    let page_token = input
        .as_ref()
        .ok()
        .and_then(|v| v.get("pageToken"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let region_name = region.clone().unwrap_or_default();
    if region.is_some() && !s.offered.contains(&region_name) {
        s.log.push(LoggedRequest {
            at: Instant::now(),
            operation,
            region: region_name,
            page_token,
            status: 0,
            error: None,
        });
        return None;
    }
    let result = if parts.method != Method::POST || parts.uri.path() != "/" {
        Err(err(
            "UnknownOperationException",
            "Lightsail takes POST / only",
        ))
    } else if region.is_none() {
        Err(ApiError {
            status: StatusCode::FORBIDDEN,
            kind: "MissingAuthenticationTokenException",
            message: "Missing Authentication Token".into(),
        })
    } else if !target.starts_with(TARGET_PREFIX) {
        Err(err(
            "UnknownOperationException",
            format!("unknown X-Amz-Target `{target}`"),
        ))
    } else if content_type != "application/x-amz-json-1.1" {
        Err(err(
            "SerializationException",
            format!("Content-Type must be application/x-amz-json-1.1, not `{content_type}`"),
        ))
    } else {
        match input {
            Err(e) => Err(err(
                "SerializationException",
                format!("the body is not JSON: {e}"),
            )),
            Ok(input) => {
                let denied = s.denied.iter().any(|(op, r)| {
                    *op == operation && r.as_ref().is_none_or(|r| *r == region_name)
                });
                if denied {
                    Err(ApiError {
                        status: StatusCode::BAD_REQUEST,
                        kind: "AccessDeniedException",
                        message: format!(
                            "User: arn:aws:iam::{ACCOUNT_ID}:user/testing is not authorized to perform: lightsail:{operation} on resource: arn:aws:lightsail:{region_name}:{ACCOUNT_ID}:*"
                        ),
                    })
                } else {
                    route(&mut s, &operation, &region_name, &input)
                }
            }
        }
    };
    let (status, resp, error) = match result {
        Ok(v) => (200, answer(StatusCode::OK, &v, &request_id), None),
        Err(e) => {
            let body = json!({"__type": e.kind, "message": e.message});
            (
                e.status.as_u16(),
                answer(e.status, &body, &request_id),
                Some(e.kind.to_string()),
            )
        }
    };
    s.log.push(LoggedRequest {
        at: Instant::now(),
        operation,
        region: region_name,
        page_token,
        status,
        error,
    });
    Some(resp)
}

/// A deterministic UUID-shaped id.
fn uuid_like(n: u64, salt: u64) -> String {
    let x = n
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xC2B2_AE3D_27D4_EB4F));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (x >> 32) as u32,
        (x >> 16) as u16,
        (x & 0xfff) as u16,
        (n & 0xfff) as u16,
        n
    )
}

fn str_in<'a>(v: &'a Value, key: &str) -> Result<&'a str, ApiError> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| err("InvalidInputException", format!("{key} is required")))
}

/// Lightsail's resource name pattern: `\w[\w\-]*\w`.
fn valid_name(kind: &str, name: &str) -> Result<(), ApiError> {
    let b = name.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let ok = b.len() >= 2
        && b.len() <= 255
        && word(b[0])
        && word(b[b.len() - 1])
        && b.iter().all(|&c| word(c) || c == b'-');
    if ok {
        Ok(())
    } else {
        Err(err(
            "InvalidInputException",
            format!("{kind} `{name}` does not match the pattern \\w[\\w\\-]*\\w"),
        ))
    }
}

fn tags_in(v: &Value) -> Vec<(String, Option<String>)> {
    v.get("tags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| {
                    Some((
                        t.get("key")?.as_str()?.to_string(),
                        t.get("value").and_then(Value::as_str).map(str::to_string),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn tags_json(tags: &[(String, Option<String>)]) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| match v {
                Some(v) => json!({"key": k, "value": v}),
                None => json!({"key": k}),
            })
            .collect(),
    )
}

fn merge_tags(into: &mut Vec<(String, Option<String>)>, new: Vec<(String, Option<String>)>) {
    for (k, v) in new {
        match into.iter_mut().find(|(ek, _)| *ek == k) {
            Some(e) => e.1 = v,
            None => into.push((k, v)),
        }
    }
}

fn location(zone: &str, region: &str) -> Value {
    json!({"availabilityZone": zone, "regionName": region})
}

fn operation_json(
    id: &str,
    resource: &str,
    resource_type: &str,
    op: &str,
    at: f64,
    zone: &str,
    region: &str,
) -> Value {
    json!({
        "id": id,
        "resourceName": resource,
        "resourceType": resource_type,
        "createdAt": at,
        "location": location(zone, region),
        "isTerminal": false,
        "operationType": op,
        "status": "Started",
        "statusChangedAt": at,
    })
}

/// (cpu count, RAM GiB, system disk GiB) of a bundle.
fn bundle(id: &str) -> (i64, f64, i64) {
    match id.split('_').next().unwrap_or("") {
        "nano" => (2, 0.5, 20),
        "micro" => (2, 1.0, 40),
        "small" => (2, 2.0, 60),
        "medium" => (2, 4.0, 80),
        "large" => (2, 8.0, 160),
        "xlarge" => (4, 16.0, 320),
        _ => (1, 1.0, 20),
    }
}

/// (friendly name, default user) of a blueprint.
fn blueprint(id: &str) -> (String, &'static str) {
    match id {
        "amazon_linux_2023" => ("Amazon Linux 2023".into(), "ec2-user"),
        "amazon_linux_2" => ("Amazon Linux 2".into(), "ec2-user"),
        "wordpress" => ("WordPress".into(), "bitnami"),
        "lamp_8_bitnami" => ("LAMP (PHP 8)".into(), "bitnami"),
        id if id.starts_with("ubuntu") => ("Ubuntu".into(), "ubuntu"),
        id if id.starts_with("debian") => ("Debian".into(), "admin"),
        id => (id.to_string(), "admin"),
    }
}

fn page(items: Vec<Value>, key: &str, input: &Value, size: usize) -> Result<Value, ApiError> {
    let start = match input.get("pageToken").and_then(Value::as_str) {
        None | Some("") => 0,
        Some(t) => t
            .strip_prefix("lspage-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| err("InvalidInputException", format!("bad pageToken `{t}`")))?,
    };
    let end = (start + size).min(items.len());
    let mut v = json!({ key: items[start..end].to_vec() });
    if end < items.len() {
        v["nextPageToken"] = json!(format!("lspage-{end}"));
    }
    Ok(v)
}

impl Region {
    fn instance_json(&self, region: &str, i: &InstanceRec) -> Value {
        let (cpu, ram, system_gb) = bundle(&i.bundle_id);
        let mut disks = vec![json!({
            "name": format!("{}-system-disk", i.name),
            "createdAt": i.created_at,
            "sizeInGb": system_gb,
            "isSystemDisk": true,
            "iops": 100,
            "path": "/dev/xvda",
            "attachedTo": i.name,
            "isAttached": true,
            "attachmentState": "attached",
            "gbInUse": 0,
            "state": "in-use",
            "location": location(&i.zone, region),
            "resourceType": "Disk",
            "tags": [],
            "addOns": [],
        })];
        disks.extend(
            self.disks
                .values()
                .filter(|d| d.attached_to.as_deref() == Some(i.name.as_str()))
                .map(|d| disk_json(region, d)),
        );
        let static_ip = self
            .static_ips
            .values()
            .find(|s| s.attached_to.as_deref() == Some(i.name.as_str()));
        let add_ons: Vec<Value> = i
            .auto_snapshot_time
            .iter()
            .map(|t| {
                json!({
                    "name": "AutoSnapshot",
                    "status": "Enabled",
                    "snapshotTimeOfDay": t,
                    "nextSnapshotTimeOfDay": t,
                })
            })
            .collect();
        json!({
            "name": i.name,
            "arn": i.arn,
            "supportCode": i.support_code,
            "createdAt": i.created_at,
            "location": location(&i.zone, region),
            "resourceType": "Instance",
            "tags": tags_json(&i.tags),
            "blueprintId": i.blueprint_id,
            "blueprintName": i.blueprint_name,
            "bundleId": i.bundle_id,
            "addOns": add_ons,
            "isStaticIp": static_ip.is_some(),
            "privateIpAddress": i.private_ip,
            "publicIpAddress": static_ip.map(|s| s.ip.clone()).unwrap_or_else(|| i.public_ip.clone()),
            "ipv6Addresses": if i.ip_address_type == "ipv4" { vec![] } else { vec![format!("2600:1f18:{:x}::{:x}", i.created_at as u64 % 0xffff, i.name.len())] },
            "ipAddressType": i.ip_address_type,
            "hardware": {"cpuCount": cpu, "disks": disks, "ramSizeInGb": ram},
            "networking": {
                "monthlyTransfer": {"gbPerMonthAllocated": 1024 * cpu},
                "ports": i.ports.iter().map(Port::json).collect::<Vec<_>>(),
            },
            "state": {"code": 16, "name": "running"},
            "username": i.username,
            "sshKeyName": i.key_pair,
            "metadataOptions": {
                "state": "applied",
                "httpTokens": "optional",
                "httpEndpoint": "enabled",
                "httpPutResponseHopLimit": 1,
                "httpProtocolIpv6": "disabled",
            },
        })
    }

    fn snapshot_json(&self, region: &str, s: &SnapshotRec) -> Value {
        let state = s.state();
        json!({
            "name": s.name,
            "arn": s.arn,
            "supportCode": s.support_code,
            "createdAt": s.created_at,
            "location": location(&s.zone, region),
            "resourceType": "InstanceSnapshot",
            "tags": tags_json(&s.tags),
            "state": state,
            "progress": if state == "available" { "100%" } else { "" },
            "fromAttachedDisks": s.from_disks,
            "fromInstanceName": s.from_instance,
            "fromInstanceArn": s.from_instance_arn,
            "fromBlueprintId": s.from_blueprint,
            "fromBundleId": s.from_bundle,
            "isFromAutoSnapshot": false,
            "sizeInGb": s.size_gb,
        })
    }

    /// The resource called `name`, for TagResource.
    fn tags_of(&mut self, name: &str) -> Option<&mut Vec<(String, Option<String>)>> {
        if let Some(i) = self.instances.get_mut(name) {
            return Some(&mut i.tags);
        }
        if let Some(d) = self.disks.get_mut(name) {
            return Some(&mut d.tags);
        }
        if let Some(s) = self.snapshots.get_mut(name) {
            return Some(&mut s.tags);
        }
        None
    }

    fn name_in_use(&self, name: &str) -> bool {
        self.instances.contains_key(name)
            || self.disks.contains_key(name)
            || self.static_ips.contains_key(name)
            || self.snapshots.contains_key(name)
            || self.disk_snapshots.contains_key(name)
    }
}

fn disk_json(region: &str, d: &DiskRec) -> Value {
    let mut v = json!({
        "name": d.name,
        "arn": d.arn,
        "supportCode": d.support_code,
        "createdAt": d.created_at,
        "location": location(&d.zone, region),
        "resourceType": "Disk",
        "tags": tags_json(&d.tags),
        "addOns": [],
        "sizeInGb": d.size_gb,
        "isSystemDisk": false,
        "iops": 100,
        "state": if d.attached_to.is_some() { "in-use" } else { "available" },
        "isAttached": d.attached_to.is_some(),
        "attachmentState": if d.attached_to.is_some() { "attached" } else { "detached" },
        "gbInUse": 0,
    });
    if let Some(a) = &d.attached_to {
        v["attachedTo"] = json!(a);
        v["autoMountStatus"] = json!("Mounted");
    }
    if let Some(p) = &d.path {
        v["path"] = json!(p);
    }
    v
}

fn route(s: &mut State, op: &str, region: &str, input: &Value) -> Result<Value, ApiError> {
    s.counter += 1;
    let n = s.counter;
    let now = 1_700_000_000.0 + n as f64 * 60.25;
    let page_size = s.page_size;
    let readiness = s.readiness;
    let offered = s.offered.clone();
    let region_idx = offered.iter().position(|r| r == region).unwrap_or(0);
    let r = s.regions.entry(region.to_string()).or_default();
    let arn = |kind: &str, salt: u64| {
        format!(
            "arn:aws:lightsail:{region}:{ACCOUNT_ID}:{kind}/{}",
            uuid_like(n, salt)
        )
    };
    let support = |prefix: &str| format!("{}/{prefix}-{:016x}", ACCOUNT_ID, n * 7919);
    let zone_of = |v: &Value| {
        v.get("availabilityZone")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{region}a"))
    };
    let op_id = uuid_like(n, 0x0b);
    match op {
        "GetRegions" => {
            let with_zones = input
                .get("includeAvailabilityZones")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let regions: Vec<Value> = offered
                .iter()
                .map(|name| {
                    let mut v = json!({
                        "name": name,
                        "displayName": name,
                        "description": format!("Lightsail in {name}"),
                        "continentCode": match name.split('-').next() { Some("eu") => "EU", Some("ap") => "AP", _ => "NA" },
                    });
                    if with_zones {
                        v["availabilityZones"] = json!([
                            {"zoneName": format!("{name}a"), "state": "available"},
                            {"zoneName": format!("{name}b"), "state": "available"},
                        ]);
                    }
                    v
                })
                .collect();
            Ok(json!({ "regions": regions }))
        }
        "CreateInstances" => {
            let names: Vec<String> = input
                .get("instanceNames")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            if names.is_empty() {
                return Err(err("InvalidInputException", "instanceNames is required"));
            }
            let blueprint_id = str_in(input, "blueprintId")?.to_string();
            let bundle_id = str_in(input, "bundleId")?.to_string();
            let zone = str_in(input, "availabilityZone")?.to_string();
            if !zone.starts_with(region) {
                return Err(err(
                    "InvalidInputException",
                    format!("availability zone {zone} is not in {region}"),
                ));
            }
            for name in &names {
                valid_name("instance name", name)?;
                if r.name_in_use(name) {
                    return Err(err(
                        "InvalidInputException",
                        format!("Some names are already in use: {name}"),
                    ));
                }
            }
            let auto_snapshot_time = input
                .get("addOns")
                .and_then(Value::as_array)
                .and_then(|a| {
                    a.iter().find(|x| {
                        x.get("addOnType").and_then(Value::as_str) == Some("AutoSnapshot")
                    })
                })
                .map(|a| {
                    a.pointer("/autoSnapshotAddOnRequest/snapshotTimeOfDay")
                        .and_then(Value::as_str)
                        .unwrap_or("06:00")
                        .to_string()
                });
            let (bp_name, user) = blueprint(&blueprint_id);
            let mut ops = Vec::new();
            for (k, name) in names.iter().enumerate() {
                let host = r.instances.len() as u64 + 10;
                let rec = InstanceRec {
                    name: name.clone(),
                    arn: arn("Instance", 100 + k as u64),
                    support_code: support("i"),
                    created_at: now,
                    zone: zone.clone(),
                    blueprint_id: blueprint_id.clone(),
                    blueprint_name: bp_name.clone(),
                    bundle_id: bundle_id.clone(),
                    username: user.to_string(),
                    key_pair: input
                        .get("keyPairName")
                        .and_then(Value::as_str)
                        .unwrap_or("LightsailDefaultKeyPair")
                        .to_string(),
                    tags: tags_in(input),
                    auto_snapshot_time: auto_snapshot_time.clone(),
                    private_ip: format!("172.26.{region_idx}.{host}"),
                    public_ip: format!("192.0.2.{}", (n % 200) + 10 + k as u64),
                    ports: vec![
                        Port {
                            from: 22,
                            to: 22,
                            protocol: "tcp".into(),
                            cidrs: vec!["0.0.0.0/0".into()],
                        },
                        Port {
                            from: 80,
                            to: 80,
                            protocol: "tcp".into(),
                            cidrs: vec!["0.0.0.0/0".into()],
                        },
                    ],
                    ip_address_type: input
                        .get("ipAddressType")
                        .and_then(Value::as_str)
                        .unwrap_or("dualstack")
                        .to_string(),
                };
                ops.push(operation_json(
                    &uuid_like(n, 200 + k as u64),
                    name,
                    "Instance",
                    "CreateInstance",
                    now,
                    &zone,
                    region,
                ));
                r.instances.insert(name.clone(), rec);
            }
            Ok(json!({ "operations": ops }))
        }
        "GetInstances" => {
            let items: Vec<Value> = r
                .instances
                .values()
                .map(|i| r.instance_json(region, i))
                .collect();
            page(items, "instances", input, page_size)
        }
        "GetInstance" => {
            let name = str_in(input, "instanceName")?;
            let i = r
                .instances
                .get(name)
                .ok_or_else(|| not_found("instance", name))?;
            Ok(json!({ "instance": r.instance_json(region, i) }))
        }
        "GetInstancePortStates" => {
            let name = str_in(input, "instanceName")?;
            let i = r
                .instances
                .get(name)
                .ok_or_else(|| not_found("instance", name))?;
            let states: Vec<Value> = i
                .ports
                .iter()
                .map(|p| {
                    json!({
                        "fromPort": p.from,
                        "toPort": p.to,
                        "protocol": p.protocol,
                        "state": "open",
                        "cidrs": p.cidrs,
                        "ipv6Cidrs": ["::/0"],
                        "cidrListAliases": [],
                    })
                })
                .collect();
            Ok(json!({ "portStates": states }))
        }
        "OpenInstancePublicPorts" => {
            let name = str_in(input, "instanceName")?.to_string();
            let pi = input
                .get("portInfo")
                .ok_or_else(|| err("InvalidInputException", "portInfo is required"))?;
            let port = Port {
                from: pi.get("fromPort").and_then(Value::as_i64).unwrap_or(0),
                to: pi.get("toPort").and_then(Value::as_i64).unwrap_or(0),
                protocol: pi
                    .get("protocol")
                    .and_then(Value::as_str)
                    .unwrap_or("tcp")
                    .to_string(),
                cidrs: pi
                    .get("cidrs")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|c| c.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_else(|| vec!["0.0.0.0/0".into()]),
            };
            let i = r
                .instances
                .get_mut(&name)
                .ok_or_else(|| not_found("instance", &name))?;
            let zone = i.zone.clone();
            i.ports.push(port);
            Ok(
                json!({ "operation": operation_json(&op_id, &name, "Instance", "PutInstancePublicPorts", now, &zone, region) }),
            )
        }
        "CreateDisk" => {
            let name = str_in(input, "diskName")?.to_string();
            valid_name("disk name", &name)?;
            if r.name_in_use(&name) {
                return Err(err(
                    "InvalidInputException",
                    format!("Some names are already in use: {name}"),
                ));
            }
            let zone = zone_of(input);
            let size = input
                .get("sizeInGb")
                .and_then(Value::as_i64)
                .ok_or_else(|| err("InvalidInputException", "sizeInGb is required"))?;
            r.disks.insert(
                name.clone(),
                DiskRec {
                    name: name.clone(),
                    arn: arn("Disk", 300),
                    support_code: support("vol"),
                    created_at: now,
                    zone: zone.clone(),
                    size_gb: size,
                    tags: tags_in(input),
                    attached_to: None,
                    path: None,
                },
            );
            Ok(
                json!({ "operations": [operation_json(&op_id, &name, "Disk", "CreateDisk", now, &zone, region)] }),
            )
        }
        "AttachDisk" => {
            let disk = str_in(input, "diskName")?.to_string();
            let inst = str_in(input, "instanceName")?.to_string();
            let path = str_in(input, "diskPath")?.to_string();
            if !r.instances.contains_key(&inst) {
                return Err(not_found("instance", &inst));
            }
            let d = r
                .disks
                .get_mut(&disk)
                .ok_or_else(|| not_found("disk", &disk))?;
            if d.attached_to.is_some() {
                return Err(err(
                    "InvalidInputException",
                    format!("The disk {disk} is already attached"),
                ));
            }
            d.attached_to = Some(inst);
            d.path = Some(path);
            let zone = d.zone.clone();
            Ok(
                json!({ "operations": [operation_json(&op_id, &disk, "Disk", "AttachDisk", now, &zone, region)] }),
            )
        }
        "GetDisks" => {
            let items: Vec<Value> = r.disks.values().map(|d| disk_json(region, d)).collect();
            page(items, "disks", input, page_size)
        }
        "AllocateStaticIp" => {
            let name = str_in(input, "staticIpName")?.to_string();
            valid_name("static IP name", &name)?;
            if r.name_in_use(&name) {
                return Err(err(
                    "InvalidInputException",
                    format!("Some names are already in use: {name}"),
                ));
            }
            let zone = format!("{region}a");
            r.static_ips.insert(
                name.clone(),
                StaticIpRec {
                    name: name.clone(),
                    arn: arn("StaticIp", 400),
                    support_code: support("eipalloc"),
                    created_at: now,
                    zone: zone.clone(),
                    ip: format!("198.51.100.{}", (n % 200) + 10),
                    attached_to: None,
                },
            );
            Ok(
                json!({ "operations": [operation_json(&op_id, &name, "StaticIp", "AllocateStaticIp", now, &zone, region)] }),
            )
        }
        "AttachStaticIp" => {
            let name = str_in(input, "staticIpName")?.to_string();
            let inst = str_in(input, "instanceName")?.to_string();
            if !r.instances.contains_key(&inst) {
                return Err(not_found("instance", &inst));
            }
            let ip = r
                .static_ips
                .get_mut(&name)
                .ok_or_else(|| not_found("static IP", &name))?;
            ip.attached_to = Some(inst);
            let zone = ip.zone.clone();
            Ok(
                json!({ "operations": [operation_json(&op_id, &name, "StaticIp", "AttachStaticIp", now, &zone, region)] }),
            )
        }
        "GetStaticIps" => {
            let items: Vec<Value> = r
                .static_ips
                .values()
                .map(|s| {
                    let mut v = json!({
                        "name": s.name,
                        "arn": s.arn,
                        "supportCode": s.support_code,
                        "createdAt": s.created_at,
                        "location": location(&s.zone, region),
                        "resourceType": "StaticIp",
                        "ipAddress": s.ip,
                        "isAttached": s.attached_to.is_some(),
                    });
                    if let Some(a) = &s.attached_to {
                        v["attachedTo"] = json!(a);
                    }
                    v
                })
                .collect();
            page(items, "staticIps", input, page_size)
        }
        "CreateInstanceSnapshot" => {
            let name = str_in(input, "instanceSnapshotName")?.to_string();
            let inst = str_in(input, "instanceName")?.to_string();
            valid_name("instance snapshot name", &name)?;
            valid_name("instance name", &inst)?;
            if r.name_in_use(&name) {
                return Err(err(
                    "InvalidInputException",
                    format!("Some names are already in use: {name}"),
                ));
            }
            let i = r
                .instances
                .get(&inst)
                .ok_or_else(|| not_found("instance", &inst))?
                .clone();
            let from_disks: Vec<Value> = r
                .disks
                .values()
                .filter(|d| d.attached_to.as_deref() == Some(inst.as_str()))
                .map(|d| disk_json(region, d))
                .collect();
            let rec = SnapshotRec {
                name: name.clone(),
                arn: arn("InstanceSnapshot", 500),
                support_code: support("snap"),
                created_at: now,
                zone: i.zone.clone(),
                tags: tags_in(input),
                from_instance: inst.clone(),
                from_instance_arn: i.arn.clone(),
                from_blueprint: i.blueprint_id.clone(),
                from_bundle: i.bundle_id.clone(),
                size_gb: bundle(&i.bundle_id).2,
                from_disks,
                readiness,
                born: Instant::now(),
                polls: 0,
                settled: None,
            };
            r.snapshots.insert(name.clone(), rec);
            Ok(json!({ "operations": [
                operation_json(&op_id, &name, "InstanceSnapshot", "CreateInstanceSnapshot", now, &i.zone, region),
                operation_json(&uuid_like(n, 0x0c), &inst, "Instance", "CreateInstanceSnapshot", now, &i.zone, region),
            ] }))
        }
        "GetInstanceSnapshot" => {
            let name = str_in(input, "instanceSnapshotName")?.to_string();
            let snap = r
                .snapshots
                .get_mut(&name)
                .ok_or_else(|| not_found("instance snapshot", &name))?;
            snap.polls += 1;
            let st = snap.state();
            if st != "pending" {
                snap.settled = Some(st);
            }
            let snap = r.snapshots.get(&name).expect("just seen");
            Ok(json!({ "instanceSnapshot": r.snapshot_json(region, snap) }))
        }
        "GetInstanceSnapshots" => {
            let items: Vec<Value> = r
                .snapshots
                .values()
                .map(|s| r.snapshot_json(region, s))
                .collect();
            page(items, "instanceSnapshots", input, page_size)
        }
        "CreateDiskSnapshot" => {
            let name = str_in(input, "diskSnapshotName")?.to_string();
            valid_name("disk snapshot name", &name)?;
            if r.name_in_use(&name) {
                return Err(err(
                    "InvalidInputException",
                    format!("Some names are already in use: {name}"),
                ));
            }
            let disk = str_in(input, "diskName")?.to_string();
            let d = r
                .disks
                .get(&disk)
                .ok_or_else(|| not_found("disk", &disk))?
                .clone();
            r.disk_snapshots.insert(
                name.clone(),
                DiskSnapshotRec {
                    name: name.clone(),
                    arn: arn("DiskSnapshot", 600),
                    support_code: support("snap"),
                    created_at: now,
                    zone: d.zone.clone(),
                    size_gb: d.size_gb,
                    from_disk: d.name.clone(),
                    from_disk_arn: d.arn.clone(),
                },
            );
            Ok(
                json!({ "operations": [operation_json(&op_id, &name, "DiskSnapshot", "CreateDiskSnapshot", now, &d.zone, region)] }),
            )
        }
        "GetDiskSnapshots" => {
            let items: Vec<Value> = r
                .disk_snapshots
                .values()
                .map(|s| {
                    json!({
                        "name": s.name,
                        "arn": s.arn,
                        "supportCode": s.support_code,
                        "createdAt": s.created_at,
                        "location": location(&s.zone, region),
                        "resourceType": "DiskSnapshot",
                        "tags": [],
                        "sizeInGb": s.size_gb,
                        "state": "completed",
                        "progress": "100%",
                        "fromDiskName": s.from_disk,
                        "fromDiskArn": s.from_disk_arn,
                        "isFromAutoSnapshot": false,
                    })
                })
                .collect();
            page(items, "diskSnapshots", input, page_size)
        }
        "TagResource" => {
            let name = str_in(input, "resourceName")?.to_string();
            let tags = tags_in(input);
            let existing = r
                .tags_of(&name)
                .ok_or_else(|| not_found("resource", &name))?;
            merge_tags(existing, tags);
            Ok(
                json!({ "operations": [operation_json(&op_id, &name, "Instance", "TagResource", now, &format!("{region}a"), region)] }),
            )
        }
        other => Err(err(
            "UnknownOperationException",
            format!("the Lightsail stand-in does not implement {other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_comes_from_the_credential_scope() {
        let h = "AWS4-HMAC-SHA256 Credential=testing/20260101/eu-west-1/lightsail/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(region_of(h).as_deref(), Some("eu-west-1"));
        assert_eq!(region_of("Bearer x"), None);
    }

    #[test]
    fn names_follow_lightsail_pattern() {
        assert!(valid_name("n", "infrasnap-v1-0-web_1").is_ok());
        for bad in ["a", "-a", "a-", "a.b", "a b", ""] {
            assert!(valid_name("n", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paging_walks_every_item() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let mut token: Option<String> = None;
        let mut seen = Vec::new();
        loop {
            let input = match &token {
                Some(t) => json!({"pageToken": t}),
                None => json!({}),
            };
            let p = page(items.clone(), "x", &input, 2).ok().unwrap();
            seen.extend(p["x"].as_array().unwrap().iter().cloned());
            match p.get("nextPageToken").and_then(Value::as_str) {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        assert_eq!(seen, items);
    }
}
