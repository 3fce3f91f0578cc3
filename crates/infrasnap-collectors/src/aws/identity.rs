//! Who we are: the account id and caller ARN (STS GetCallerIdentity), for the metadata; and the
//! first call of every run, which tells a dead endpoint or rejected keys apart in seconds.

use std::time::Duration;

use crate::aws::kit::sdk_pages;
use crate::aws::sdk_error::{describe, ApiFailure};

pub struct Identity {
    pub account: Option<String>,
    pub arn: Option<String>,
}

pub async fn caller_identity(sdk: &aws_config::SdkConfig) -> Result<Identity, ApiFailure> {
    let sts = aws_sdk_sts::Client::new(sdk);
    let r = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| describe(&e))?;
    Ok(Identity {
        account: r.account().map(str::to_string),
        arn: r.arn().map(str::to_string),
    })
}

/// How the first identity check of a run ended.
pub enum IdentityCheck {
    /// The caller is known.
    Known(Identity),
    /// The endpoint answered, but not with an identity (an S3-compatible server without STS):
    /// recorded, and the run goes on.
    Unknown(ApiFailure),
    /// No answer (connection refused, DNS, timeout) or the credentials were rejected: the run
    /// cannot capture anything and must end now.
    Fatal(ApiFailure),
}

/// AWS error codes that mean "these credentials are not valid", whatever the service.
const REJECTED_CREDENTIALS: &[&str] = &[
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "UnrecognizedClientException",
    "AuthFailure",
    "InvalidToken",
    "InvalidSecurity",
    "IncompleteSignature",
];

/// STS GetCallerIdentity with a short timeout and two retries: the check every run starts with.
pub async fn check_identity(sdk: &aws_config::SdkConfig) -> IdentityCheck {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    let conf = aws_sdk_sts::config::Builder::from(sdk)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(200)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_millis(2500))
                .operation_timeout(Duration::from_secs(6))
                .build(),
        )
        .build();
    let sts = aws_sdk_sts::Client::from_conf(conf);
    match sts.get_caller_identity().send().await {
        Ok(r) => IdentityCheck::Known(Identity {
            account: r.account().map(str::to_string),
            arn: r.arn().map(str::to_string),
        }),
        Err(e) => {
            let f = describe(&e);
            let no_answer = f.status.is_none() && f.code.is_none();
            if no_answer || f.code_in(REJECTED_CREDENTIALS) {
                IdentityCheck::Fatal(f)
            } else {
                // An answer that is neither: try once more with the run's own patient retries
                // (a throttled or briefly failing STS), then record what it said.
                match caller_identity(sdk).await {
                    Ok(i) => IdentityCheck::Known(i),
                    Err(f) => IdentityCheck::Unknown(f),
                }
            }
        }
    }
}

/// The regions enabled for the account (Account API ListRegions: enabled and enabled by
/// default), sorted.
pub async fn enabled_regions(sdk: &aws_config::SdkConfig) -> Result<Vec<String>, ApiFailure> {
    use aws_sdk_account::types::RegionOptStatus;
    let client = aws_sdk_account::Client::new(sdk);
    let mut out: Vec<String> = sdk_pages!(
        &(),
        "enabled regions",
        |t| client
            .list_regions()
            .region_opt_status_contains(RegionOptStatus::Enabled)
            .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
            .set_next_token(t),
        |r| (r.regions.unwrap_or_default(), r.next_token)
    )
    .await?
    .into_iter()
    .filter_map(|x| x.region_name)
    .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// The accounts of the caller's AWS Organization (organizations:ListAccounts, paged), sorted by
/// id. Readable from the management account or a delegated administrator; a member account gets
/// AccessDenied and an account outside any organization AWSOrganizationsNotInUseException.
pub async fn organization_accounts(
    sdk: &aws_config::SdkConfig,
) -> Result<Vec<infrasnap_core::metadata::OrganizationAccount>, ApiFailure> {
    use infrasnap_core::metadata::OrganizationAccount;
    let client = aws_sdk_organizations::Client::new(sdk);
    let mut out: Vec<OrganizationAccount> = sdk_pages!(
        &(),
        "organization accounts",
        |t| client.list_accounts().set_next_token(t),
        |r| (r.accounts.unwrap_or_default(), r.next_token)
    )
    .await?
    .into_iter()
    .filter_map(|a| {
        Some(OrganizationAccount {
            id: a.id?,
            name: a.name,
            status: a.status.map(|s| s.as_str().to_string()),
            arn: a.arn,
            captured: false,
        })
    })
    .collect();
    out.sort();
    out.dedup_by(|a, b| a.id == b.id);
    Ok(out)
}
