//! MotoServer lifecycle and the S3 client helpers against a real moto.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use infrasnap_emulator::{aws_env, s3_client, MotoServer};

fn http_status(port: u16, path: &str) -> std::io::Result<u16> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n")?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok(code)
}

#[test]
fn two_servers_run_at_once_and_drop_kills_them() {
    let a = MotoServer::start().expect("start a");
    let b = MotoServer::start().expect("start b");
    assert_ne!(a.port(), b.port());
    assert_eq!(a.url(), format!("http://127.0.0.1:{}", a.port()));
    assert_eq!(http_status(a.port(), "/moto-api/").unwrap(), 200);
    assert_eq!(http_status(b.port(), "/moto-api/").unwrap(), 200);
    let log = a.log_path().to_path_buf();
    assert!(log.is_file());

    let port_a = a.port();
    drop(a);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port_a));
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "moto on {port_a} still accepts connections after drop"
    );
    assert!(!log.exists(), "log file not cleaned up");
    // The other one is unaffected.
    assert_eq!(http_status(b.port(), "/moto-api/").unwrap(), 200);
}

#[tokio::test]
async fn s3_client_roundtrip_through_moto_started_inside_a_runtime() {
    let moto = MotoServer::start_with_env(&[("MOTO_ALLOW_NONEXISTENT_REGION", "true")]).unwrap();
    let s3 = s3_client(&moto.url(), "us-east-1").await;
    s3.create_bucket().bucket("roundtrip").send().await.unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    s3.put_object()
        .bucket("roundtrip")
        .key("dir/obj name+ü.bin")
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .unwrap();
    let got = s3
        .get_object()
        .bucket("roundtrip")
        .key("dir/obj name+ü.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_length(), Some(data.len() as i64));
    let body = got.body.collect().await.unwrap().into_bytes();
    assert!(body == data, "object bytes differ");

    let list = s3
        .list_objects_v2()
        .bucket("roundtrip")
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = list.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["dir/obj name+ü.bin"]);

    // reset() wipes state.
    moto.reset().unwrap();
    let buckets = s3.list_buckets().send().await.unwrap();
    assert!(buckets.buckets().is_empty());
}

#[test]
fn aws_env_isolates_from_the_developer_config() {
    let env = aws_env("http://127.0.0.1:1234");
    let get = |k: &str| {
        env.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("AWS_ACCESS_KEY_ID"), Some("testing"));
    assert_eq!(get("AWS_SECRET_ACCESS_KEY"), Some("testing"));
    assert_eq!(get("AWS_REGION"), Some("us-east-1"));
    assert_eq!(get("AWS_ENDPOINT_URL"), Some("http://127.0.0.1:1234"));
    assert_eq!(get("AWS_EC2_METADATA_DISABLED"), Some("true"));
    assert_eq!(get("AWS_CONFIG_FILE"), Some("/dev/null"));
    assert_eq!(get("AWS_SHARED_CREDENTIALS_FILE"), Some("/dev/null"));
}
