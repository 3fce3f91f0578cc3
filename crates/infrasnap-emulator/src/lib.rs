//! The loopback emulator harness of infrasnap: moto server processes, S3 client helpers, and a
//! wire-level proxy in front of moto that bridges moto's known gaps (see `fault.rs`,
//! `moto_fixup_for`) and injects faults on demand. Used by `infrasnap demo`, the integration
//! tests and the benchmarks; nothing here is ever pointed at a real cloud.
//!
//! ```no_run
//! # async fn f() -> anyhow::Result<()> {
//! let emu = infrasnap_emulator::Emulator::start().await?;
//! let s3 = infrasnap_emulator::s3_client(&emu.url(), "us-east-1").await;
//! s3.create_bucket().bucket("acme-www").send().await?;
//! emu.proxy.set_fraction(0.2); // from now on, a fifth of requests fail
//! # Ok(()) }
//! ```

mod fault;
pub mod gas;
pub mod lambda_code;
pub mod lightsail;
mod moto;
mod serve;

pub use aws_config::retry::RetryConfig;
pub use fault::{Fault, FaultConfig, FaultProxy, FaultStats, PINNED_EXPORT_VERSION};
pub use moto::{find_moto_server, workspace_root, MotoServer, MOTO_SERVER_ENV};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_s3::config::RequestChecksumCalculation;

/// An S3 client for a loopback endpoint: static credentials
/// `testing`/`testing`, the given region, path-style addressing, request
/// checksums only when required, and the standard retry strategy with its
/// default settings (3 attempts).
pub async fn s3_client(endpoint: &str, region: &str) -> aws_sdk_s3::Client {
    s3_client_with_retry(endpoint, region, RetryConfig::standard()).await
}

/// Like [`s3_client`], with an explicit retry configuration, e.g.
/// `RetryConfig::standard().with_max_attempts(10)`.
pub async fn s3_client_with_retry(
    endpoint: &str,
    region: &str,
    retry: RetryConfig,
) -> aws_sdk_s3::Client {
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .retry_config(retry)
        .load()
        .await;
    let conf = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(true)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Environment for running the infrasnap binary against `endpoint`: static
/// `testing` credentials, `us-east-1`, `AWS_ENDPOINT_URL`, IMDS disabled, and
/// config/credentials files pointed at `/dev/null` so the developer's own
/// `~/.aws` is never read.
///
/// Variables from the developer's environment that could still leak in
/// (profile selection, session token, per-service endpoints, ...) are listed
/// in [`AWS_ENV_REMOVE`]; remove those from the child's environment too.
pub fn aws_env(endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// AWS environment variables to remove from a child process run with
/// [`aws_env`], e.g. `for k in AWS_ENV_REMOVE { cmd.env_remove(k); }`.
pub const AWS_ENV_REMOVE: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_LIGHTSAIL",
    "AWS_ENDPOINT_URL_LAMBDA",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
];

/// moto server behind the proxy: what the product talks to in the demo and in tests. Services
/// moto lacks are answered by stand-ins the proxy routes to: Lightsail (`lightsail.rs`, by its
/// `X-Amz-Target`) and Lambda's presigned code URLs (`lambda_code.rs`).
pub struct Emulator {
    pub proxy: FaultProxy,
    pub moto: MotoServer,
    pub lightsail: lightsail::LightsailServer,
}

impl Emulator {
    /// Start moto (see [`find_moto_server`]) and the proxy in front of it, with no faults.
    /// Must be called inside a tokio runtime.
    pub async fn start() -> anyhow::Result<Emulator> {
        Self::start_with(None, &[]).await
    }

    /// Like [`Emulator::start`], with an explicit moto binary and extra moto environment.
    pub async fn start_with(
        moto_bin: Option<std::path::PathBuf>,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Emulator> {
        let moto = match moto_bin {
            Some(bin) => MotoServer::start_bin(&bin, env)?,
            None => MotoServer::start_with_env(env)?,
        };
        let proxy = FaultProxy::start(&moto.url(), FaultConfig::all(0.0, 7)).await?;
        let lightsail = lightsail::LightsailServer::start().await?;
        proxy.route_target("Lightsail_20161128.", &lightsail.url())?;
        Ok(Emulator {
            proxy,
            moto,
            lightsail,
        })
    }

    /// The endpoint to give to clients: the proxy's URL.
    pub fn url(&self) -> String {
        self.proxy.url()
    }
}
