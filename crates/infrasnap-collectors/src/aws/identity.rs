//! Who we are: the account id and caller ARN (STS GetCallerIdentity), for the metadata.

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
