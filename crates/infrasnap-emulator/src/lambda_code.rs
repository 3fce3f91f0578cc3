//! The stand-in for Lambda's presigned code URLs.
//!
//! Real Lambda answers GetFunction with `Code.Location`, a presigned URL the caller downloads the
//! deployment package from (valid for 10 minutes), and GetLayerVersion with `Content.Location`,
//! the same for a layer version. moto 5.2 answers with a URL on an AWS host that does not resolve
//! and with the literal `"s3://"`. Product code downloads whatever URL the API gives, so the
//! harness bridges the gap on the wire, in the [`FaultProxy`](crate::FaultProxy) every test's
//! traffic passes through:
//!
//! 1. **Uploads.** CreateFunction (`POST /2015-03-31/functions`), UpdateFunctionCode
//!    (`PUT /2015-03-31/functions/<name>/code`) and PublishLayerVersion
//!    (`POST /2018-10-31/layers/<name>/versions`) are forwarded unchanged (SigV4 signs the
//!    body). The zip in the request (`Code.ZipFile`, `ZipFile`, `Content.ZipFile`, base64) is kept
//!    under the SHA-256 the answer reports (`CodeSha256` / `Content.CodeSha256`, which moto
//!    computes from those bytes).
//! 2. **Locations.** In answers to GetFunction (`GET /2015-03-31/functions/<name>`) and
//!    GetLayerVersion (`GET /2018-10-31/layers/<name>/versions/<n>`), `Code.Location` /
//!    `Content.Location` become
//!    `http://127.0.0.1:<proxy port>/_standin/lambda-code/<hex sha256>?X-Amz-Expires=600`,
//!    the hex taken from the `CodeSha256` of the same answer.
//! 3. **Downloads.** `GET /_standin/lambda-code/<hex sha256>` answers the kept bytes (404 when
//!    unknown). Each download is counted ([`LambdaCode::downloads`]), so a test can tell that an
//!    unchanged second snapshot downloaded no code; [`LambdaCode::corrupt_next`] flips a byte in
//!    the next downloads, to exercise the product's checksum check.
//!
//! Zips uploaded through S3 (`Code.S3Bucket`) or container images are not seen here: their
//! downloads answer 404.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use base64::Engine;
use bytes::Bytes;
use hyper::header::{HeaderMap, AUTHORIZATION};
use hyper::{Method, StatusCode};
use serde_json::Value;

/// Path prefix of the stand-in's downloads on the proxy.
pub const PATH_PREFIX: &str = "/_standin/lambda-code/";

/// The zips seen in uploads, and the download counters. One per [`FaultProxy`](crate::FaultProxy).
#[derive(Debug, Default)]
pub struct LambdaCode {
    /// `http://127.0.0.1:<proxy port>`, set once the proxy listens.
    base: OnceLock<String>,
    /// Lower-case hex SHA-256 -> zip.
    zips: Mutex<HashMap<String, Bytes>>,
    downloads: AtomicU64,
    corrupt: AtomicU64,
}

/// What the proxy does with the answer to a request [`LambdaCode::exchange`] picked out.
#[derive(Debug)]
pub(crate) enum Exchange {
    /// A code upload: keep these bytes under the answer's CodeSha256.
    Upload(Bytes),
    /// An answer whose code location is rewritten.
    Location,
}

impl LambdaCode {
    pub(crate) fn set_base_url(&self, url: &str) {
        let _ = self.base.set(url.trim_end_matches('/').to_string());
    }

    /// Code downloads served so far (successful ones, corrupted or not).
    pub fn downloads(&self) -> u64 {
        self.downloads.load(Ordering::Relaxed)
    }

    /// Distinct zips kept from uploads.
    pub fn stored(&self) -> usize {
        self.zips.lock().expect("zips lock").len()
    }

    /// Flip one byte in each of the next `n` downloads (status and length intact).
    pub fn corrupt_next(&self, n: u64) {
        self.corrupt.store(n, Ordering::Relaxed);
    }

    /// The download URL of the zip whose SHA-256 is `hex`.
    pub fn url_for(&self, hex: &str) -> Option<String> {
        let base = self.base.get()?;
        Some(format!("{base}{PATH_PREFIX}{hex}?X-Amz-Expires=600"))
    }

    /// Answer a download, if `path` is one: `(status, body)`.
    pub(crate) fn serve(&self, method: &Method, path: &str) -> Option<(StatusCode, Bytes)> {
        let hex = path.strip_prefix(PATH_PREFIX)?;
        if method != Method::GET {
            return Some((StatusCode::METHOD_NOT_ALLOWED, Bytes::new()));
        }
        let zip = self.zips.lock().expect("zips lock").get(hex).cloned();
        let Some(zip) = zip else {
            return Some((
                StatusCode::NOT_FOUND,
                Bytes::from_static(b"lambda code stand-in: no such code"),
            ));
        };
        self.downloads.fetch_add(1, Ordering::Relaxed);
        let corrupt = self
            .corrupt
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok();
        if corrupt && !zip.is_empty() {
            let mut v = zip.to_vec();
            let mid = v.len() / 2;
            v[mid] ^= 0x5a;
            return Some((StatusCode::OK, Bytes::from(v)));
        }
        Some((StatusCode::OK, zip))
    }

    /// Whether the answer to this request concerns the stand-in (a Lambda request, signed for
    /// `lambda`, that uploads code or returns a code location).
    pub(crate) fn exchange(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Exchange> {
        let signed_for_lambda = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("/lambda/aws4_request"));
        if !signed_for_lambda {
            return None;
        }
        let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        match (method, segs.as_slice()) {
            (&Method::POST, ["2015-03-31", "functions"])
            | (&Method::PUT, ["2015-03-31", "functions", _, "code"])
            | (&Method::POST, ["2018-10-31", "layers", _, "versions"]) => {
                let v: Value = serde_json::from_slice(body).ok()?;
                let b64 = ["/Code/ZipFile", "/ZipFile", "/Content/ZipFile"]
                    .iter()
                    .find_map(|p| v.pointer(p).and_then(Value::as_str))?;
                let zip = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
                Some(Exchange::Upload(Bytes::from(zip)))
            }
            (&Method::GET, ["2015-03-31", "functions", _])
            | (&Method::GET, ["2018-10-31", "layers", _, "versions", _]) => {
                Some(Exchange::Location)
            }
            _ => None,
        }
    }

    /// Act on a successful answer; gives back the answer to send instead, if it changes.
    pub(crate) fn answer(&self, ex: Exchange, body: &[u8]) -> Option<Bytes> {
        let mut v: Value = serde_json::from_slice(body).ok()?;
        match ex {
            Exchange::Upload(zip) => {
                let sha = ["/CodeSha256", "/Content/CodeSha256"]
                    .iter()
                    .find_map(|p| v.pointer(p).and_then(Value::as_str))
                    .and_then(hex_of_b64)?;
                self.zips.lock().expect("zips lock").insert(sha, zip);
                None
            }
            Exchange::Location => {
                let mut changed = false;
                for (sha_at, code, repository) in [
                    ("/Configuration/CodeSha256", "/Code", Some("S3")),
                    ("/Content/CodeSha256", "/Content", None),
                ] {
                    let Some(hex) = v
                        .pointer(sha_at)
                        .and_then(Value::as_str)
                        .and_then(hex_of_b64)
                    else {
                        continue;
                    };
                    let Some(url) = self.url_for(&hex) else {
                        continue;
                    };
                    let Some(Value::Object(c)) = v.pointer_mut(code) else {
                        continue;
                    };
                    // Container images have no package to download.
                    let is_zip = repository
                        .is_none_or(|r| c.get("RepositoryType").and_then(Value::as_str) == Some(r));
                    if is_zip {
                        c.insert("Location".into(), Value::String(url));
                        changed = true;
                    }
                }
                changed.then(|| Bytes::from(serde_json::to_vec(&v).expect("serialisable")))
            }
        }
    }
}

/// Lower-case hex of a base64 SHA-256, if it is one.
fn hex_of_b64(b64: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .ok()
        .filter(|r| r.len() == 32)?;
    Some(raw.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0"
                .parse()
                .unwrap(),
        );
        h
    }

    const SHA_B64: &str = "BEOnuZisanb65ZY9UWSxS7Mg24UDhSaNNeO8KBU9YoQ=";

    #[test]
    fn uploads_are_kept_and_locations_point_at_them() {
        let lc = LambdaCode::default();
        lc.set_base_url("http://127.0.0.1:4000");
        let req = br#"{"FunctionName":"f","Code":{"ZipFile":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}"#;
        let ex = lc
            .exchange(&Method::POST, "/2015-03-31/functions", &signed(), req)
            .unwrap();
        assert!(lc
            .answer(ex, format!(r#"{{"CodeSha256":"{SHA_B64}"}}"#).as_bytes())
            .is_none());
        assert_eq!(lc.stored(), 1);

        let ex = lc
            .exchange(&Method::GET, "/2015-03-31/functions/f", &signed(), b"")
            .unwrap();
        let got = format!(
            r#"{{"Configuration":{{"CodeSha256":"{SHA_B64}"}},"Code":{{"RepositoryType":"S3","Location":"https://awslambda-us-east-1-tasks.s3.us-east-1.amazonaws.com/f"}}}}"#
        );
        let fixed: Value = serde_json::from_slice(&lc.answer(ex, got.as_bytes()).unwrap()).unwrap();
        let url = fixed["Code"]["Location"].as_str().unwrap();
        assert_eq!(
            url,
            "http://127.0.0.1:4000/_standin/lambda-code/0443a7b998ac6a76fae5963d5164b14bb320db850385268d35e3bc28153d6284?X-Amz-Expires=600"
        );
        let path = url
            .trim_start_matches("http://127.0.0.1:4000")
            .split('?')
            .next()
            .unwrap();
        let (st, body) = lc.serve(&Method::GET, path).unwrap();
        assert_eq!(st, StatusCode::OK);
        assert_eq!(&body[..], b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(lc.downloads(), 1);

        lc.corrupt_next(1);
        let (_, bad) = lc.serve(&Method::GET, path).unwrap();
        assert_ne!(bad, body);
        let (_, good) = lc.serve(&Method::GET, path).unwrap();
        assert_eq!(good, body);
        assert_eq!(lc.downloads(), 3);

        let (st, _) = lc
            .serve(&Method::GET, &format!("{PATH_PREFIX}{}", "0".repeat(64)))
            .unwrap();
        assert_eq!(st, StatusCode::NOT_FOUND);
    }

    #[test]
    fn other_traffic_is_left_alone() {
        let lc = LambdaCode::default();
        lc.set_base_url("http://127.0.0.1:4000");
        // Not signed for Lambda (an S3 path that looks alike).
        assert!(lc
            .exchange(
                &Method::GET,
                "/2015-03-31/functions/f",
                &HeaderMap::new(),
                b""
            )
            .is_none());
        // Lambda calls that carry no code.
        for (m, p) in [
            (Method::GET, "/2015-03-31/functions/f/policy"),
            (Method::GET, "/2015-03-31/functions"),
            (Method::PUT, "/2015-03-31/functions/f/configuration"),
        ] {
            assert!(lc.exchange(&m, p, &signed(), b"{}").is_none(), "{m} {p}");
        }
        assert!(lc.serve(&Method::GET, "/bucket/key").is_none());
        // An image function's answer keeps its (absent) location.
        let ex = lc
            .exchange(&Method::GET, "/2015-03-31/functions/img", &signed(), b"")
            .unwrap();
        let got = format!(
            r#"{{"Configuration":{{"CodeSha256":"{SHA_B64}"}},"Code":{{"RepositoryType":"ECR","ImageUri":"x"}}}}"#
        );
        assert!(lc.answer(ex, got.as_bytes()).is_none());
    }
}
