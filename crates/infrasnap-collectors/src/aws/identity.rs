//! Who we are: the account id and caller ARN (STS GetCallerIdentity), for the metadata.

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
