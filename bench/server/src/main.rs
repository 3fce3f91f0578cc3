//! A read-only loopback S3 server for benchmarks: `<root>/<bucket>/<key...>` files served over
//! path-style S3 on hyper.
//!
//! Written for throughput, not for features: TCP_NODELAY on every connection, bodies read in
//! 1 MiB chunks (small objects in one read), listings served from a sorted in-memory key list,
//! an empty `delimiter=` treated as no delimiter. ETags are the content MD5 (as S3 gives for a
//! single-part upload), kept in a cache file keyed by (size, mtime) and recomputed whenever a file
//! changes, so a same-size rewrite gets a new ETag and Last-Modified just as on S3.
//!
//! Supported: ListBuckets, HeadBucket, GetBucketLocation, ListObjectsV2 and V1 (prefix,
//! delimiter, paging, encoding-type=url), HeadObject, GetObject (Range, If-Match), and the
//! GetBucket* settings reads, answering "not configured" (the matching NoSuch... error, or an
//! empty document where S3 gives one). Authentication is not checked.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::io::{BufRead, Read, Write};
use std::net::SocketAddr;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use md5::{Digest, Md5};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

type Body = BoxBody<Bytes, std::io::Error>;

const CHUNK: usize = 1024 * 1024;
const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

#[derive(Clone, Copy, PartialEq, Eq)]
struct Meta {
    size: u64,
    mtime_ns: i128,
    md5: [u8; 16],
}

struct Bucket {
    created: SystemTime,
    dir: PathBuf,
    /// Sorted keys; the same index into `metas`.
    keys: Vec<String>,
    metas: Vec<Mutex<Meta>>,
    by_key: HashMap<String, usize>,
}

struct State {
    buckets: std::collections::BTreeMap<String, Bucket>,
}

fn mtime_ns(m: &std::fs::Metadata) -> i128 {
    m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128
}

fn md5_file(p: &Path) -> std::io::Result<[u8; 16]> {
    let mut f = std::fs::File::open(p)?;
    let mut h = Md5::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, std::fs::Metadata)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let key = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let Ok(md) = e.metadata() else { continue };
        if md.is_dir() {
            walk(&e.path(), &key, out);
        } else if md.is_file() {
            out.push((key, md));
        }
    }
}

/// Scan the root, reusing MD5s from the cache file for files whose size and mtime are unchanged.
fn load(root: &Path, cache_path: &Path) -> State {
    let mut cache: HashMap<(String, String), Meta> = HashMap::new();
    if let Ok(f) = std::fs::File::open(cache_path) {
        for line in std::io::BufReader::new(f).lines().map_while(Result::ok) {
            let p: Vec<&str> = line.split('\t').collect();
            if p.len() != 5 {
                continue;
            }
            let (Ok(size), Ok(mt), Some(md5)) = (p[2].parse(), p[3].parse(), hex16(p[4])) else {
                continue;
            };
            cache.insert(
                (p[0].to_string(), p[1].to_string()),
                Meta {
                    size,
                    mtime_ns: mt,
                    md5,
                },
            );
        }
    }
    let mut buckets = std::collections::BTreeMap::new();
    let mut hashed = 0usize;
    let mut rd: Vec<_> = std::fs::read_dir(root)
        .expect("read root")
        .flatten()
        .collect();
    rd.sort_by_key(|e| e.file_name());
    for e in rd {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(md) = e.metadata() else { continue };
        if !md.is_dir() || name.starts_with('.') {
            continue;
        }
        let mut files = Vec::new();
        walk(&e.path(), "", &mut files);
        files.sort_by(|a, b| a.0.cmp(&b.0));
        // Hash what the cache does not know, on every core.
        let todo: Vec<usize> = files
            .iter()
            .enumerate()
            .filter(|(_, (k, m))| {
                cache
                    .get(&(name.clone(), k.clone()))
                    .is_none_or(|c| c.size != m.len() || c.mtime_ns != mtime_ns(m))
            })
            .map(|(i, _)| i)
            .collect();
        hashed += todo.len();
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let fresh: Mutex<HashMap<usize, [u8; 16]>> = Mutex::new(HashMap::new());
        std::thread::scope(|s| {
            for t in 0..threads {
                let todo = &todo;
                let files = &files;
                let fresh = &fresh;
                let dir = e.path();
                s.spawn(move || {
                    for &i in todo.iter().skip(t).step_by(threads) {
                        let md5 = md5_file(&dir.join(&files[i].0)).unwrap_or_default();
                        fresh.lock().unwrap().insert(i, md5);
                    }
                });
            }
        });
        let fresh = fresh.into_inner().unwrap();
        let mut keys = Vec::with_capacity(files.len());
        let mut metas = Vec::with_capacity(files.len());
        let mut by_key = HashMap::with_capacity(files.len());
        for (i, (k, m)) in files.into_iter().enumerate() {
            let md5 = match fresh.get(&i) {
                Some(h) => *h,
                None => cache[&(name.clone(), k.clone())].md5,
            };
            by_key.insert(k.clone(), i);
            keys.push(k);
            metas.push(Mutex::new(Meta {
                size: m.len(),
                mtime_ns: mtime_ns(&m),
                md5,
            }));
        }
        buckets.insert(
            name.clone(),
            Bucket {
                created: md.modified().unwrap_or(UNIX_EPOCH),
                dir: e.path(),
                keys,
                metas,
                by_key,
            },
        );
    }
    let st = State { buckets };
    save_cache(&st, cache_path);
    let n: usize = st.buckets.values().map(|b| b.keys.len()).sum();
    eprintln!(
        "bench-s3-server: {} buckets, {n} objects ({hashed} hashed now)",
        st.buckets.len()
    );
    st
}

fn save_cache(st: &State, cache_path: &Path) {
    let tmp = cache_path.with_extension("tmp");
    let Ok(f) = std::fs::File::create(&tmp) else {
        return;
    };
    let mut w = std::io::BufWriter::new(f);
    for (b, bk) in &st.buckets {
        for (k, m) in bk.keys.iter().zip(&bk.metas) {
            let m = *m.lock().unwrap();
            let _ = writeln!(w, "{b}\t{k}\t{}\t{}\t{}", m.size, m.mtime_ns, hex(&m.md5));
        }
    }
    if w.flush().is_ok() {
        let _ = std::fs::rename(&tmp, cache_path);
    }
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

fn hex16(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}

/// Current metadata of object `i`: re-stat the file, re-hash if it changed.
fn fresh_meta(b: &Bucket, i: usize) -> Option<(Meta, std::fs::Metadata)> {
    let p = b.dir.join(&b.keys[i]);
    let md = std::fs::metadata(&p).ok()?;
    let mut cur = *b.metas[i].lock().unwrap();
    if cur.size != md.len() || cur.mtime_ns != mtime_ns(&md) {
        cur = Meta {
            size: md.len(),
            mtime_ns: mtime_ns(&md),
            md5: md5_file(&p).ok()?,
        };
        *b.metas[i].lock().unwrap() = cur;
    }
    Some((cur, md))
}

fn iso8601(ns: i128) -> String {
    let secs = ns.div_euclid(1_000_000_000) as i64;
    let ms = (ns.rem_euclid(1_000_000_000) / 1_000_000) as i64;
    let days = secs.div_euclid(86400);
    let sod = secs.rem_euclid(86400);
    // civil from days (Howard Hinnant)
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

fn http_date(ns: i128) -> String {
    let t = UNIX_EPOCH + Duration::from_secs(ns.div_euclid(1_000_000_000) as u64);
    httpdate::fmt_http_date(t)
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

/// S3's `encoding-type=url`: everything but unreserved characters and `/`.
const URL_KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

fn enc(s: &str, url: bool) -> String {
    if url {
        utf8_percent_encode(s, URL_KEY).to_string()
    } else {
        xml_escape(s)
    }
}

fn full(status: StatusCode, ctype: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", ctype)
        .header("x-amz-request-id", "0")
        .body(Full::new(Bytes::from(body)).map_err(|e| match e {}).boxed())
        .unwrap()
}

fn xml(body: String) -> Response<Body> {
    full(
        StatusCode::OK,
        "application/xml",
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}"),
    )
}

fn error(status: StatusCode, code: &str, msg: &str, head: bool) -> Response<Body> {
    if head {
        return Response::builder()
            .status(status)
            .header("x-amz-request-id", "0")
            .body(Empty::new().map_err(|e| match e {}).boxed())
            .unwrap();
    }
    full(
        status,
        "application/xml",
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{}</Message><RequestId>0</RequestId></Error>",
            xml_escape(msg)
        ),
    )
}

fn query(q: Option<&str>) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for kv in q.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let d = |s: &str| {
            percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        m.insert(d(k), d(v));
    }
    m
}

async fn handle(st: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    Ok(route(&st, req).await)
}

async fn route(st: &Arc<State>, req: Request<Incoming>) -> Response<Body> {
    let head = req.method() == Method::HEAD;
    if req.method() == Method::POST && req.uri().path() == "/" {
        return non_s3(req).await;
    }
    if req.method() != Method::GET && !head {
        return error(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "read-only server",
            head,
        );
    }
    let q = query(req.uri().query());
    let path = req.uri().path().trim_start_matches('/');
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) => (
            b.to_string(),
            percent_decode_str(k).decode_utf8_lossy().into_owned(),
        ),
        None => (path.to_string(), String::new()),
    };
    let bucket = percent_decode_str(&bucket).decode_utf8_lossy().into_owned();
    if bucket.is_empty() {
        return list_buckets(st);
    }
    let Some(b) = st.buckets.get(&bucket) else {
        return error(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist",
            head,
        );
    };
    if key.is_empty() {
        return bucket_op(&bucket, b, &q, head);
    }
    object(b, &key, &req, head).await
}

/// The two non-S3 calls infrasnap makes on the same endpoint before it captures S3: STS
/// GetCallerIdentity (answered) and Organizations ListAccounts (answered "not in use").
async fn non_s3(req: Request<Incoming>) -> Response<Body> {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if target.starts_with("AWSOrganizations") {
        return Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amzn-errortype", "AWSOrganizationsNotInUseException")
            .body(
                Full::new(Bytes::from_static(
                    b"{\"__type\":\"AWSOrganizationsNotInUseException\",\"message\":\"not in use\"}",
                ))
                .map_err(|e| match e {})
                .boxed(),
            )
            .unwrap();
    }
    if String::from_utf8_lossy(&body).contains("Action=GetCallerIdentity") {
        return full(
            StatusCode::OK,
            "text/xml",
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/bench</Arn><UserId>AIDABENCH</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></GetCallerIdentityResponse>".into(),
        );
    }
    error(
        StatusCode::NOT_IMPLEMENTED,
        "NotImplemented",
        "not supported by the bench server",
        false,
    )
}

fn list_buckets(st: &State) -> Response<Body> {
    let mut s = format!("<ListAllMyBucketsResult xmlns=\"{NS}\"><Owner><ID>bench</ID><DisplayName>bench</DisplayName></Owner><Buckets>");
    for (n, b) in &st.buckets {
        let ns = b
            .created
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as i128;
        let _ = write!(
            s,
            "<Bucket><Name>{}</Name><CreationDate>{}</CreationDate></Bucket>",
            xml_escape(n),
            iso8601(ns)
        );
    }
    s.push_str("</Buckets></ListAllMyBucketsResult>");
    xml(s)
}

fn bucket_op(name: &str, b: &Bucket, q: &HashMap<String, String>, head: bool) -> Response<Body> {
    if head {
        return Response::builder()
            .header("x-amz-bucket-region", "us-east-1")
            .body(Empty::new().map_err(|e| match e {}).boxed())
            .unwrap();
    }
    let nf = |code: &str| error(StatusCode::NOT_FOUND, code, "not configured", false);
    if q.contains_key("location") {
        return xml(format!(
            "<LocationConstraint xmlns=\"{NS}\"></LocationConstraint>"
        ));
    }
    if q.contains_key("versioning") {
        return xml(format!("<VersioningConfiguration xmlns=\"{NS}\"/>"));
    }
    if q.contains_key("acl") {
        return xml(format!("<AccessControlPolicy xmlns=\"{NS}\"><Owner><ID>bench</ID><DisplayName>bench</DisplayName></Owner><AccessControlList><Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\"><ID>bench</ID><DisplayName>bench</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>"));
    }
    if q.contains_key("logging") {
        return xml(format!("<BucketLoggingStatus xmlns=\"{NS}\"/>"));
    }
    if q.contains_key("notification") {
        return xml(format!("<NotificationConfiguration xmlns=\"{NS}\"/>"));
    }
    if q.contains_key("accelerate") {
        return xml(format!("<AccelerateConfiguration xmlns=\"{NS}\"/>"));
    }
    if q.contains_key("requestPayment") {
        return xml(format!(
            "<RequestPaymentConfiguration xmlns=\"{NS}\"><Payer>BucketOwner</Payer></RequestPaymentConfiguration>"
        ));
    }
    for (param, code) in [
        ("policy", "NoSuchBucketPolicy"),
        ("cors", "NoSuchCORSConfiguration"),
        ("website", "NoSuchWebsiteConfiguration"),
        ("lifecycle", "NoSuchLifecycleConfiguration"),
        (
            "encryption",
            "ServerSideEncryptionConfigurationNotFoundError",
        ),
        ("tagging", "NoSuchTagSet"),
        ("replication", "ReplicationConfigurationNotFoundError"),
        ("ownershipControls", "OwnershipControlsNotFoundError"),
        ("publicAccessBlock", "NoSuchPublicAccessBlockConfiguration"),
        ("object-lock", "ObjectLockConfigurationNotFoundError"),
        ("policyStatus", "NoSuchBucketPolicy"),
    ] {
        if q.contains_key(param) {
            return nf(code);
        }
    }
    if q.contains_key("versions") || q.contains_key("uploads") {
        return error(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "not supported by the bench server",
            false,
        );
    }
    list_objects(name, b, q)
}

fn list_objects(name: &str, b: &Bucket, q: &HashMap<String, String>) -> Response<Body> {
    let v2 = q.get("list-type").is_some_and(|v| v == "2");
    let url = q.get("encoding-type").is_some_and(|v| v == "url");
    let prefix = q.get("prefix").cloned().unwrap_or_default();
    // An empty delimiter is no delimiter.
    let delim = q.get("delimiter").filter(|d| !d.is_empty()).cloned();
    let max = q
        .get("max-keys")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(1000)
        .min(1000);
    let token = q.get("continuation-token").and_then(|t| unhex(t));
    let after = if v2 {
        token
            .clone()
            .or_else(|| q.get("start-after").cloned())
            .unwrap_or_default()
    } else {
        q.get("marker").cloned().unwrap_or_default()
    };
    let start = b.keys.partition_point(|k| {
        k.as_str() < prefix.as_str() || (!after.is_empty() && k.as_str() <= after.as_str())
    });
    let mut contents = String::new();
    let mut prefixes = String::new();
    let mut count = 0usize;
    let mut last = String::new();
    let mut truncated = false;
    let mut i = start;
    while i < b.keys.len() {
        let k = &b.keys[i];
        if !k.starts_with(&prefix) {
            break;
        }
        if count == max {
            truncated = true;
            break;
        }
        if let Some(d) = &delim {
            if let Some(pos) = k[prefix.len()..].find(d.as_str()) {
                let cp = &k[..prefix.len() + pos + d.len()];
                if !after.is_empty() && cp <= after.as_str() && after.starts_with(cp) {
                    // continuing past a common prefix already returned
                } else {
                    let _ = write!(
                        prefixes,
                        "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
                        enc(cp, url)
                    );
                    count += 1;
                    last = cp.to_string();
                }
                // skip every key under this common prefix
                let cp_owned = cp.to_string();
                i += b.keys[i..].partition_point(|x| x.starts_with(&cp_owned));
                continue;
            }
        }
        let Some((m, _)) = fresh_meta(b, i) else {
            i += 1;
            continue;
        };
        let _ = write!(
            contents,
            "<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>&quot;{}&quot;</ETag><Size>{}</Size><Owner><ID>bench</ID><DisplayName>bench</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>",
            enc(k, url),
            iso8601(m.mtime_ns),
            hex(&m.md5),
            m.size
        );
        count += 1;
        last = k.clone();
        i += 1;
    }
    let mut s = format!(
        "<ListBucketResult xmlns=\"{NS}\"><Name>{}</Name><Prefix>{}</Prefix><MaxKeys>{max}</MaxKeys><IsTruncated>{truncated}</IsTruncated>",
        xml_escape(name),
        enc(&prefix, url)
    );
    if let Some(d) = &delim {
        let _ = write!(s, "<Delimiter>{}</Delimiter>", enc(d, url));
    }
    if url {
        s.push_str("<EncodingType>url</EncodingType>");
    }
    if v2 {
        let _ = write!(s, "<KeyCount>{count}</KeyCount>");
        if let Some(t) = q.get("continuation-token") {
            let _ = write!(
                s,
                "<ContinuationToken>{}</ContinuationToken>",
                xml_escape(t)
            );
        }
        if let Some(t) = q.get("start-after") {
            let _ = write!(s, "<StartAfter>{}</StartAfter>", enc(t, url));
        }
        if truncated {
            let _ = write!(
                s,
                "<NextContinuationToken>{}</NextContinuationToken>",
                hex(last.as_bytes())
            );
        }
    } else {
        let _ = write!(s, "<Marker>{}</Marker>", enc(&after, url));
        if truncated {
            let _ = write!(s, "<NextMarker>{}</NextMarker>", enc(&last, url));
        }
    }
    s.push_str(&contents);
    s.push_str(&prefixes);
    s.push_str("</ListBucketResult>");
    xml(s)
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

fn content_type(key: &str) -> &'static str {
    match key.rsplit('.').next().unwrap_or("") {
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "js" => "application/javascript",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        "mp4" => "video/mp4",
        "txt" => "text/plain",
        _ => "binary/octet-stream",
    }
}

async fn object(b: &Bucket, key: &str, req: &Request<Incoming>, head: bool) -> Response<Body> {
    let Some(&i) = b.by_key.get(key) else {
        return error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
            head,
        );
    };
    let Some((m, _)) = fresh_meta(b, i) else {
        return error(StatusCode::NOT_FOUND, "NoSuchKey", "gone", head);
    };
    let etag = format!("\"{}\"", hex(&m.md5));
    if let Some(im) = req.headers().get("if-match").and_then(|v| v.to_str().ok()) {
        if im != "*" && im.trim() != etag {
            return error(
                StatusCode::PRECONDITION_FAILED,
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
                head,
            );
        }
    }
    let size = m.size;
    let range = req
        .headers()
        .get("range")
        .and_then(|v| v.to_str().ok())
        .and_then(|r| parse_range(r, size));
    if req.headers().contains_key("range") && range.is_none() && size > 0 {
        return error(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidRange",
            "The requested range is not satisfiable",
            head,
        );
    }
    let (status, start, len) = match range {
        Some((s, e)) => (StatusCode::PARTIAL_CONTENT, s, e - s + 1),
        None => (StatusCode::OK, 0, size),
    };
    let mut rb = Response::builder()
        .status(status)
        .header("content-length", len)
        .header("etag", &etag)
        .header("last-modified", http_date(m.mtime_ns))
        .header("accept-ranges", "bytes")
        .header("content-type", content_type(key))
        .header("x-amz-request-id", "0");
    if let Some((s, e)) = range {
        rb = rb.header("content-range", format!("bytes {s}-{e}/{size}"));
    }
    if head || len == 0 {
        return rb
            .body(Empty::new().map_err(|e| match e {}).boxed())
            .unwrap();
    }
    let path = b.dir.join(key);
    if len <= 128 * 1024 {
        // Small bodies are read in place: a page-cache read costs less than a hand-off to the
        // blocking pool.
        let mut buf = vec![0u8; len as usize];
        return match std::fs::File::open(&path).and_then(|f| f.read_exact_at(&mut buf, start)) {
            Ok(()) => rb
                .body(Full::new(Bytes::from(buf)).map_err(|e| match e {}).boxed())
                .unwrap(),
            Err(_) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "read failed",
                false,
            ),
        };
    }
    if len <= CHUNK as u64 {
        let r = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
            let f = std::fs::File::open(&path)?;
            let mut buf = vec![0u8; len as usize];
            f.read_exact_at(&mut buf, start)?;
            Ok(buf)
        })
        .await;
        return match r {
            Ok(Ok(buf)) => rb
                .body(Full::new(Bytes::from(buf)).map_err(|e| match e {}).boxed())
                .unwrap(),
            _ => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "read failed",
                false,
            ),
        };
    }
    // Larger bodies: a blocking reader fills a small queue of 1 MiB chunks.
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let f = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        let mut off = start;
        let end = start + len;
        while off < end {
            let n = ((end - off) as usize).min(CHUNK);
            let mut buf = vec![0u8; n];
            if let Err(e) = f.read_exact_at(&mut buf, off) {
                let _ = tx.blocking_send(Err(e));
                return;
            }
            off += n as u64;
            if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|r| (r.map(Frame::data), rx))
    });
    rb.body(BodyExt::boxed(StreamBody::new(stream))).unwrap()
}

/// `bytes=s-e`, `bytes=s-`, `bytes=-n` → inclusive (start, end).
fn parse_range(r: &str, size: u64) -> Option<(u64, u64)> {
    let r = r.strip_prefix("bytes=")?;
    let (a, b) = r.split_once('-')?;
    if size == 0 {
        return None;
    }
    if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        if n == 0 {
            return None;
        }
        return Some((size.saturating_sub(n), size - 1));
    }
    let s: u64 = a.parse().ok()?;
    if s >= size {
        return None;
    }
    let e = if b.is_empty() {
        size - 1
    } else {
        b.parse::<u64>().ok()?.min(size - 1)
    };
    (e >= s).then_some((s, e))
}

fn main() {
    let mut root = None;
    let mut addr: SocketAddr = "127.0.0.1:9000".parse().unwrap();
    let mut cache = None;
    let mut threads = 0usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--root" => root = args.next().map(PathBuf::from),
            "--addr" => addr = args.next().expect("--addr").parse().expect("addr"),
            "--md5-cache" => cache = args.next().map(PathBuf::from),
            "--threads" => threads = args.next().expect("--threads").parse().expect("n"),
            _ => {
                eprintln!("usage: bench-s3-server --root DIR [--addr 127.0.0.1:9000] [--md5-cache FILE] [--threads N]");
                std::process::exit(2);
            }
        }
    }
    let root = root.expect("--root DIR");
    let cache = cache.unwrap_or_else(|| root.with_extension("md5cache"));
    let st = Arc::new(load(&root, &cache));
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if threads > 0 {
        rt.worker_threads(threads);
    }
    rt.enable_all().build().unwrap().block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        eprintln!(
            "bench-s3-server: listening on http://{}",
            listener.local_addr().unwrap()
        );
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                continue;
            };
            let _ = sock.set_nodelay(true);
            let st = st.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| handle(st.clone(), req));
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(sock), svc)
                    .await;
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=95-200", 100), Some((95, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
    }

    #[test]
    fn dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso8601(1_700_000_000_123_000_000),
            "2023-11-14T22:13:20.123Z"
        );
    }

    #[test]
    fn tokens_round_trip() {
        assert_eq!(unhex(&hex("a/b c".as_bytes())).as_deref(), Some("a/b c"));
    }
}
