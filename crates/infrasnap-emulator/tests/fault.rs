//! FaultProxy: transparency, each fault kind on the wire, and SDK retries
//! surviving a faulty proxy.

use std::convert::Infallible;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use infrasnap_emulator::{
    s3_client, s3_client_with_retry, Fault, FaultConfig, FaultProxy, MotoServer, RetryConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A response read off a raw socket until EOF (or error).
#[derive(Debug)]
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Error that ended the read, if it was not a clean EOF.
    read_error: Option<std::io::Error>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn content_length(&self) -> Option<usize> {
        self.header("content-length").map(|v| v.parse().unwrap())
    }
    fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Send `head` (without the final blank line) and `body` on a fresh
/// connection with `Connection: close`, then read until the peer closes.
async fn raw_request(url: &str, head: &str, body: &[u8]) -> RawResponse {
    let addr = url.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{head}\r\nConnection: close\r\n\r\n").into_bytes();
    req.extend_from_slice(body);
    s.write_all(&req).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let read_error = loop {
        match tokio::time::timeout(Duration::from_secs(20), s.read(&mut chunk)).await {
            Err(_) => panic!("timed out reading response"),
            Ok(Ok(0)) => break None,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => break Some(e),
        }
    };
    let head_end = |buf: &[u8]| {
        buf.windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(buf)))
    };
    // Skip interim 1xx responses (100 Continue).
    while buf.starts_with(b"HTTP/1.1 1") {
        let end = head_end(&buf);
        buf.drain(..end + 4);
    }
    let split = head_end(&buf);
    let head = String::from_utf8(buf[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    RawResponse {
        status,
        headers,
        body: buf[split + 4..].to_vec(),
        read_error,
    }
}

fn test_data(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[tokio::test]
async fn fraction_zero_is_transparent() {
    let moto = MotoServer::start().unwrap();
    let proxy = FaultProxy::start(&moto.url(), FaultConfig::none())
        .await
        .unwrap();
    let s3 = s3_client(&proxy.url(), "us-east-1").await;

    s3.create_bucket().bucket("clear").send().await.unwrap();
    let small = test_data(1, 1000);
    let big = test_data(2, 21 * 1024 * 1024 + 17);
    for (key, data) in [("small", &small), ("big/obj", &big), ("empty", &Vec::new())] {
        s3.put_object()
            .bucket("clear")
            .key(key)
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .unwrap();
    }
    for (key, data) in [("small", &small), ("big/obj", &big), ("empty", &Vec::new())] {
        let head = s3
            .head_object()
            .bucket("clear")
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(head.content_length(), Some(data.len() as i64), "{key}");
        let got = s3
            .get_object()
            .bucket("clear")
            .key(key)
            .send()
            .await
            .unwrap();
        let body = got.body.collect().await.unwrap().into_bytes();
        assert!(
            body == data[..],
            "{key}: bytes differ ({} vs {})",
            body.len(),
            data.len()
        );
    }
    // A missing key's 404 error passes through as-is.
    let err = s3
        .get_object()
        .bucket("clear")
        .key("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_no_such_key(), "{err:?}");

    let stats = proxy.stats();
    assert_eq!(stats.requests, 1 + 3 + 3 * 2 + 1);
    assert!(stats.injected.is_empty(), "{stats:?}");
}

/// An upstream that answers with a dump of the request it received.
async fn echo_upstream() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let svc = service_fn(|req: Request<hyper::body::Incoming>| async move {
                    let mut dump = format!("{} {} {:?}\n", req.method(), req.uri(), req.version());
                    for (k, v) in req.headers() {
                        dump.push_str(&format!("{k}: {}\n", v.to_str().unwrap()));
                    }
                    let body = req.into_body().collect().await.unwrap().to_bytes();
                    dump.push('\n');
                    dump.push_str(&String::from_utf8_lossy(&body));
                    Ok::<_, Infallible>(
                        Response::builder()
                            .header("x-upstream", "echo")
                            .header("x-multi", "1")
                            .header("x-multi", "2")
                            .body(Full::new(Bytes::from(dump)))
                            .unwrap(),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (url, task)
}

#[tokio::test]
async fn requests_are_forwarded_unchanged() {
    let (upstream, task) = echo_upstream().await;
    let proxy = FaultProxy::start(&upstream, FaultConfig::none())
        .await
        .unwrap();
    let resp = raw_request(
        &proxy.url(),
        "PUT /bucket/some%20key?partNumber=2&uploadId=x%2By HTTP/1.1\r\n\
         Host: example.com:1234\r\n\
         X-Amz-Date: 20250101T000000Z\r\n\
         X-Custom: a\r\n\
         X-Custom: b\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/...\r\n\
         Content-Length: 5",
        b"hello",
    )
    .await;
    assert_eq!(resp.status, 200);
    assert!(resp.read_error.is_none());
    assert_eq!(resp.header("x-upstream"), Some("echo"));
    let multi: Vec<_> = resp
        .headers
        .iter()
        .filter(|(k, _)| k == "x-multi")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(multi, ["1", "2"]);
    assert_eq!(
        resp.body_str(),
        "PUT /bucket/some%20key?partNumber=2&uploadId=x%2By HTTP/1.1\n\
         host: example.com:1234\n\
         x-amz-date: 20250101T000000Z\n\
         x-custom: a\n\
         x-custom: b\n\
         authorization: AWS4-HMAC-SHA256 Credential=testing/...\n\
         content-length: 5\n\
         \nhello"
    );

    // Expect: 100-continue is handled on both sides (hyper answers the
    // client's, and skips the upstream's interim response).
    let resp = raw_request(
        &proxy.url(),
        "POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3",
        b"abc",
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.body_str(),
        "POST /up HTTP/1.1\nhost: h\nexpect: 100-continue\ncontent-length: 3\n\nabc"
    );

    // A GET without body gets no Content-Length added either.
    let resp = raw_request(&proxy.url(), "GET /x HTTP/1.1\r\nHost: h", b"").await;
    assert_eq!(resp.body_str(), "GET /x HTTP/1.1\nhost: h\n\n");
    drop(proxy);
    task.abort();
}

#[tokio::test]
async fn each_fault_kind_on_the_wire() {
    let moto = MotoServer::start().unwrap();
    let cases = [
        (Fault::SlowDown503, 503, "<Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"),
        (Fault::Throttling400, 400, "<Code>Throttling</Code><Message>Rate exceeded</Message>"),
        (
            Fault::Internal500,
            500,
            "<Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message>",
        ),
    ];
    for (fault, status, needle) in cases {
        let proxy = FaultProxy::start(&moto.url(), FaultConfig::only(fault, 1.0, 7))
            .await
            .unwrap();
        for _ in 0..3 {
            let resp = raw_request(&proxy.url(), "GET /moto-api/ HTTP/1.1\r\nHost: x", b"").await;
            assert_eq!(resp.status, status, "{fault:?}");
            assert_eq!(resp.header("content-type"), Some("application/xml"));
            let body = resp.body_str();
            assert!(body.starts_with("<?xml"), "{body}");
            assert!(body.contains(needle), "{fault:?}: {body}");
            assert!(body.contains("<RequestId>"), "{body}");
            assert_eq!(resp.content_length(), Some(resp.body.len()));
        }
        let stats = proxy.stats();
        assert_eq!(stats.requests, 3);
        assert_eq!(stats.count(fault), 3);
        assert_eq!(stats.injected_total(), 3);
    }

    // ResetMidBody: head and about half the body arrive, then the connection ends.
    let proxy = FaultProxy::start(&moto.url(), FaultConfig::only(Fault::ResetMidBody, 1.0, 7))
        .await
        .unwrap();
    let clean = raw_request(&moto.url(), "GET /moto-api/ HTTP/1.1\r\nHost: x", b"").await;
    let full_len = clean.body.len();
    assert!(full_len > 100);
    let resp = raw_request(&proxy.url(), "GET /moto-api/ HTTP/1.1\r\nHost: x", b"").await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.content_length(),
        Some(full_len),
        "original Content-Length kept"
    );
    assert_eq!(
        resp.body.len(),
        full_len / 2,
        "about half of the body is sent"
    );
    assert!(resp.body == clean.body[..full_len / 2]);
    // Same for a large (21 MB) object body.
    let direct = s3_client(&moto.url(), "us-east-1").await;
    direct
        .create_bucket()
        .bucket("reset-big")
        .send()
        .await
        .unwrap();
    let big = test_data(9, 21 * 1024 * 1024 + 3);
    direct
        .put_object()
        .bucket("reset-big")
        .key("big")
        .body(ByteStream::from(big.clone()))
        .send()
        .await
        .unwrap();
    // moto routes requests to a service by the SigV4 credential scope (it
    // does not verify the signature); without it this GET is an empty 403.
    let resp = raw_request(
        &proxy.url(),
        "GET /reset-big/big HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/s3/aws4_request, \
         SignedHeaders=host, Signature=00",
        b"",
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body_str());
    assert_eq!(resp.content_length(), Some(big.len()));
    assert_eq!(resp.body.len(), big.len() / 2);
    assert!(resp.body == big[..big.len() / 2]);
    // An empty upstream body (HEAD) falls back to a 500.
    let resp = raw_request(&proxy.url(), "HEAD /moto-api/ HTTP/1.1\r\nHost: x", b"").await;
    assert_eq!(resp.status, 500);
    let stats = proxy.stats();
    assert_eq!(stats.requests, 3);
    assert_eq!(stats.count(Fault::ResetMidBody), 2);
    assert_eq!(stats.count(Fault::Internal500), 1);
}

#[tokio::test]
async fn reset_mid_body_is_an_error_for_the_sdk() {
    let moto = MotoServer::start().unwrap();
    let direct = s3_client(&moto.url(), "us-east-1").await;
    direct
        .create_bucket()
        .bucket("reset-mid-body")
        .send()
        .await
        .unwrap();
    let data = test_data(3, 3 * 1024 * 1024);
    direct
        .put_object()
        .bucket("reset-mid-body")
        .key("k")
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .unwrap();

    let proxy = FaultProxy::start(&moto.url(), FaultConfig::only(Fault::ResetMidBody, 1.0, 1))
        .await
        .unwrap();
    let s3 = s3_client(&proxy.url(), "us-east-1").await;
    // The response head is fine, so send() succeeds; reading the body fails.
    let got = s3
        .get_object()
        .bucket("reset-mid-body")
        .key("k")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_length(), Some(data.len() as i64));
    let err = got
        .body
        .collect()
        .await
        .expect_err("truncated body must be an error");
    eprintln!("SDK body error on ResetMidBody: {err:?}");
    assert_eq!(proxy.stats().count(Fault::ResetMidBody), 1);

    // Non-streaming operations read the body inside the SDK; a truncated
    // body there is retried (every attempt fails here, so it errors out).
    let err = s3
        .list_objects_v2()
        .bucket("reset-mid-body")
        .send()
        .await
        .unwrap_err();
    eprintln!("SDK ListObjectsV2 error on ResetMidBody: {err:?}");
    eprintln!("stats: {:?}", proxy.stats());
}

/// Get an object, retrying when the body stream breaks (the SDK's retry
/// strategy only covers send(), not reading a streaming body).
async fn get_with_body_retry(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> (Bytes, u32) {
    let mut body_failures = 0;
    loop {
        let resp = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        match resp.body.collect().await {
            Ok(b) => return (b.into_bytes(), body_failures),
            Err(_) if body_failures < 10 => body_failures += 1,
            Err(e) => panic!("{key}: body kept failing: {e}"),
        }
    }
}

#[tokio::test]
async fn sdk_retries_survive_thirty_percent_faults() {
    let moto = MotoServer::start().unwrap();
    let proxy = FaultProxy::start(&moto.url(), FaultConfig::all(0.3, 0x5EED))
        .await
        .unwrap();
    let retry = RetryConfig::standard()
        .with_max_attempts(10)
        .with_initial_backoff(Duration::from_millis(20));
    let s3 = s3_client_with_retry(&proxy.url(), "us-east-1", retry).await;

    s3.create_bucket().bucket("flaky").send().await.unwrap();
    let objects: Vec<(String, Vec<u8>)> = (0..20u32)
        .map(|i| {
            let len = match i % 4 {
                0 => 0,
                1 => 1 + i as usize * 37,
                2 => 64 * 1024 + i as usize,
                _ => 1024 * 1024 + i as usize * 4099,
            };
            (format!("obj/{i:02}"), test_data(i + 100, len))
        })
        .collect();
    for (key, data) in &objects {
        s3.put_object()
            .bucket("flaky")
            .key(key)
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
    }
    let mut body_failures = 0;
    for (key, data) in &objects {
        let (body, failures) = get_with_body_retry(&s3, "flaky", key).await;
        body_failures += failures;
        assert!(body == data[..], "{key}: bytes differ");
    }
    let list = s3.list_objects_v2().bucket("flaky").send().await.unwrap();
    assert_eq!(list.key_count(), Some(20));

    let stats = proxy.stats();
    eprintln!("stats: {stats:?}, body failures seen by the test: {body_failures}");
    for kind in Fault::ALL {
        assert!(stats.count(kind) > 0, "{kind:?} never injected: {stats:?}");
    }
    let ratio = stats.injected_total() as f64 / stats.requests as f64;
    assert!((0.15..0.45).contains(&ratio), "{stats:?}");
}

#[tokio::test]
async fn set_fraction_and_bad_configs() {
    assert!(
        FaultProxy::start("http://127.0.0.1:1", FaultConfig::all(1.5, 0))
            .await
            .is_err()
    );
    assert!(FaultProxy::start(
        "http://127.0.0.1:1",
        FaultConfig {
            fraction: 0.5,
            faults: vec![],
            seed: 0
        }
    )
    .await
    .is_err());
    assert!(
        FaultProxy::start("https://127.0.0.1:1", FaultConfig::none())
            .await
            .is_err()
    );
    assert!(
        FaultProxy::start("http://127.0.0.1:1/prefix", FaultConfig::none())
            .await
            .is_err()
    );

    let (upstream, task) = echo_upstream().await;
    let proxy = FaultProxy::start(&upstream, FaultConfig::only(Fault::SlowDown503, 1.0, 0))
        .await
        .unwrap();
    assert_eq!(
        raw_request(&proxy.url(), "GET / HTTP/1.1\r\nHost: h", b"")
            .await
            .status,
        503
    );
    proxy.set_fraction(0.0);
    assert_eq!(
        raw_request(&proxy.url(), "GET / HTTP/1.1\r\nHost: h", b"")
            .await
            .status,
        200
    );

    // An unreachable upstream is a 502 (retryable), not a hang.
    let dead = FaultProxy::start("http://127.0.0.1:1", FaultConfig::none())
        .await
        .unwrap();
    assert_eq!(
        raw_request(&dead.url(), "GET / HTTP/1.1\r\nHost: h", b"")
            .await
            .status,
        502
    );

    // Dropping the proxy closes its port.
    let url = proxy.url();
    drop(proxy);
    tokio::task::yield_now().await;
    assert!(TcpStream::connect(url.strip_prefix("http://").unwrap())
        .await
        .is_err());
    task.abort();
}
