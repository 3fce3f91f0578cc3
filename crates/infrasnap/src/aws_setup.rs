//! Loading AWS settings through the standard chain (aws-config): profiles in ~/.aws, SSO,
//! environment credentials, `credential_process`, instance roles, and endpoint overrides
//! (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, `--endpoint-url`).

use anyhow::{anyhow, Context};
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use std::time::Duration;

#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "AWS connection")]
pub struct AwsArgs {
    /// AWS profile from ~/.aws/config (default: $AWS_PROFILE, else `default`)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Region for account-wide calls and buckets whose location cannot be read (default: the
    /// profile's or $AWS_REGION, else us-east-1)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Send all AWS requests to this endpoint (an S3-compatible server, a local emulator).
    /// $AWS_ENDPOINT_URL and $AWS_ENDPOINT_URL_S3 work too
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Path-style S3 addressing (bucket in the path). Automatic for IP and localhost endpoints
    #[arg(long)]
    pub s3_path_style: bool,
}

/// Everything the collectors need to reach AWS.
pub struct AwsSetup {
    pub sdk: SdkConfig,
    pub region: String,
    pub endpoint: Option<String>,
    pub s3_path_style: bool,
}

/// Credentials the demo hands in directly (the emulator accepts any).
pub struct StaticCredentials {
    pub access_key: String,
    pub secret_key: String,
}

pub async fn load(args: &AwsArgs, creds: Option<StaticCredentials>) -> anyhow::Result<AwsSetup> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::adaptive()
                .with_max_attempts(10)
                .with_initial_backoff(Duration::from_millis(100)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .read_timeout(Duration::from_secs(60))
                .build(),
        );
    // An explicit profile (--profile, or one named in infrasnap.toml) must exist; AWS_PROFILE is
    // checked by the chain itself.
    let explicit_profile = match (&args.profile, &creds) {
        (Some(p), None) => {
            check_profile_exists(p)?;
            Some(p.clone())
        }
        _ => None,
    };
    if let Some(p) = &args.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &args.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(e) = &args.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    if let Some(c) = creds {
        loader = loader.credentials_provider(aws_credential_types::Credentials::new(
            c.access_key,
            c.secret_key,
            None,
            None,
            "infrasnap-demo",
        ));
    }
    let mut sdk = loader.load().await;
    let region = match sdk.region() {
        Some(r) => r.to_string(),
        None => {
            tracing::info!("no region configured; using us-east-1 for account-wide calls");
            sdk = sdk.into_builder().region(Region::new("us-east-1")).build();
            "us-east-1".to_string()
        }
    };

    if let Some(p) = &explicit_profile {
        // An explicit profile wins over AWS_ACCESS_KEY_ID in the environment, as in the AWS CLI
        // (the default chain reads the environment first).
        let conf = ProviderConfig::without_region().with_region(Some(Region::new(region.clone())));
        let provider = ProfileFileCredentialsProvider::builder()
            .profile_name(p)
            .configure(&conf)
            .build();
        sdk = sdk
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build();
    }

    let provider = sdk
        .credentials_provider()
        .ok_or_else(|| no_credentials(args, "none"))?;
    provider
        .provide_credentials()
        .await
        .map_err(|e| {
            no_credentials(
                args,
                &format!(
                    "{}",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                ),
            )
        })
        .context("loading AWS credentials")?;

    let endpoint = args
        .endpoint_url
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_S3").ok())
        .or_else(|| sdk.endpoint_url().map(str::to_string))
        .filter(|e| !e.is_empty());
    let s3_path_style = args.s3_path_style || endpoint.as_deref().is_some_and(is_local_or_ip);
    Ok(AwsSetup {
        sdk,
        region,
        endpoint,
        s3_path_style,
    })
}

/// The AWS config and credentials files, as the AWS CLI finds them.
fn profile_files() -> [(std::path::PathBuf, bool); 2] {
    let home = std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_default();
    let file = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| home.join(default))
    };
    [
        (file("AWS_CONFIG_FILE", ".aws/config"), true),
        (
            file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"),
            false,
        ),
    ]
}

/// The profile names a config file (`[profile x]`, `[default]`) or a credentials file (`[x]`)
/// defines.
pub fn profile_names_in(text: &str, config_file: bool) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let inner = l.strip_prefix('[')?.split(']').next()?.trim();
            if !config_file {
                return Some(inner.to_string());
            }
            if inner == "default" {
                return Some(inner.to_string());
            }
            let (kind, name) = inner.split_once(char::is_whitespace)?;
            (kind == "profile").then(|| name.trim().to_string())
        })
        .filter(|n| !n.is_empty())
        .collect()
}

/// An explicitly named profile must be defined; the error names the profiles that are.
fn check_profile_exists(profile: &str) -> anyhow::Result<()> {
    let mut names = Vec::new();
    let mut read = Vec::new();
    for (path, config_file) in profile_files() {
        if let Ok(text) = std::fs::read_to_string(&path) {
            names.extend(profile_names_in(&text, config_file));
            read.push(path.display().to_string());
        }
    }
    names.sort();
    names.dedup();
    if names.iter().any(|n| n == profile) {
        return Ok(());
    }
    let files = if read.is_empty() {
        "no ~/.aws/config or ~/.aws/credentials file exists".to_string()
    } else {
        format!("read {}", read.join(" and "))
    };
    // A usage error (exit 2): nothing was written.
    Err(
        infrasnap_collectors::driver::RunError::Usage(if names.is_empty() {
            format!(
            "AWS profile `{profile}` does not exist: no profiles are defined ({files}). Create it \
             with `aws configure --profile {profile}`"
        )
        } else {
            format!(
                "AWS profile `{profile}` does not exist; the profiles defined are: {} ({files})",
                names.join(", ")
            )
        })
        .into(),
    )
}

fn no_credentials(args: &AwsArgs, detail: &str) -> anyhow::Error {
    let profile = args
        .profile
        .clone()
        .or_else(|| std::env::var("AWS_PROFILE").ok())
        .unwrap_or_else(|| "default".into());
    anyhow!(
        "no AWS credentials found. Tried, in order: environment variables (AWS_ACCESS_KEY_ID and \
         AWS_SECRET_ACCESS_KEY); profile `{profile}` in ~/.aws/credentials and ~/.aws/config \
         (static keys, SSO, credential_process, role assumption); web identity token; ECS and EC2 \
         instance metadata.\nConfigure one: `aws configure --profile {profile}`, or \
         `aws sso login --profile {profile}`, then run again (with --profile NAME for another \
         profile). To try infrasnap without AWS, run `infrasnap demo`.\n(detail: {detail})"
    )
}

/// True for endpoints on an IP address or localhost, where virtual-hosted S3 addressing cannot work.
pub fn is_local_or_ip(endpoint: &str) -> bool {
    let rest = endpoint
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(endpoint);
    let host_port = rest.split('/').next().unwrap_or("");
    let host = if let Some(h) = host_port.strip_prefix('[') {
        h.split(']').next().unwrap_or("")
    } else {
        host_port
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(host_port)
    };
    host == "localhost" || host.ends_with(".localhost") || host.parse::<std::net::IpAddr>().is_ok()
}

/// Settings for one `[[aws.accounts]]` entry: its profile, or a role assumed from
/// `source_profile` (or the default chain), with the external id when one is given.
pub async fn load_account(
    base: &AwsArgs,
    account: &infrasnap_core::config::AwsAccount,
) -> anyhow::Result<AwsSetup> {
    let mut args = base.clone();
    if let Some(r) = &account.region {
        args.region = Some(r.clone());
    }
    match &account.role_arn {
        None => {
            if account.profile.is_some() {
                args.profile = account.profile.clone();
            }
            load(&args, None)
                .await
                .with_context(|| format!("account `{}`", account.name))
        }
        Some(role) => {
            if account.source_profile.is_some() {
                args.profile = account.source_profile.clone();
            }
            let source = load(&args, None).await.with_context(|| {
                format!("account `{}`: credentials to assume {role}", account.name)
            })?;
            let mut provider = aws_config::sts::AssumeRoleProvider::builder(role)
                .session_name("infrasnap")
                .configure(&source.sdk);
            if let Some(x) = &account.external_id {
                provider = provider.external_id(x);
            }
            let provider = provider.build().await;
            provider.provide_credentials().await.map_err(|e| {
                anyhow!(
                    "account `{}`: cannot assume role {role}: {}. Check that the role trusts the \
                     source identity{} and that the source credentials may call sts:AssumeRole",
                    account.name,
                    aws_smithy_types::error::display::DisplayErrorContext(&e),
                    if account.external_id.is_some() {
                        " with this external_id"
                    } else {
                        ""
                    }
                )
            })?;
            let sdk = source
                .sdk
                .clone()
                .into_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build();
            Ok(AwsSetup { sdk, ..source })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{is_local_or_ip, profile_names_in};

    #[test]
    fn profile_names_of_config_and_credentials_files() {
        let config = "[default]\nregion = us-east-1\n[profile prod]\ncredential_process = x\n\
                      [ profile  ops ]\n[sso-session corp]\n[services s3]\n";
        assert_eq!(profile_names_in(config, true), ["default", "prod", "ops"]);
        assert_eq!(
            profile_names_in("[default]\naws_access_key_id=a\n[backup]\n", false),
            ["default", "backup"]
        );
    }

    #[test]
    fn path_style_is_automatic_for_ip_and_localhost() {
        for yes in [
            "http://127.0.0.1:5000",
            "http://localhost:9000/",
            "https://[::1]:443",
            "http://10.0.0.5",
        ] {
            assert!(is_local_or_ip(yes), "{yes}");
        }
        for no in ["https://s3.amazonaws.com", "https://minio.example.com:9000"] {
            assert!(!is_local_or_ip(no), "{no}");
        }
    }
}
