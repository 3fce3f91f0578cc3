//! What every AWS collector works within: one account (its credentials and id), the regions to
//! capture, and the per-service rate limits. Where its files go is the catalog's business
//! (infrasnap-core `catalog/kinds.rs`), never the collector's.

use std::sync::Arc;

use crate::aws::ratelimit::RateLimiter;

/// One AWS account being captured.
#[derive(Clone)]
pub struct AccountScope {
    /// SDK configuration carrying this account's credentials (a profile, or an assumed role).
    pub sdk: aws_config::SdkConfig,
    /// The 12-digit account id (from STS), or `unknown` when it could not be read.
    pub account_id: String,
    /// The name given in infrasnap.toml, or `default`.
    pub name: String,
    /// Regions to capture for regional services.
    pub regions: Vec<String>,
    /// Region for account-wide calls and global services.
    pub home_region: String,
    /// S3 path-style addressing (loopback and S3-compatible endpoints).
    pub s3_path_style: bool,
}

impl AccountScope {
    /// The SDK config with another region.
    pub fn in_region(&self, region: &str) -> aws_config::SdkConfig {
        self.sdk
            .clone()
            .into_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build()
    }
}

/// Request-rate limits per service, near AWS's published control-plane limits, shared by every
/// task of one run that calls that service for one account.
#[derive(Clone)]
pub struct ServiceLimits {
    pub lambda: Arc<RateLimiter>,
    pub cloudfront: Arc<RateLimiter>,
    pub route53: Arc<RateLimiter>,
    pub dynamodb: Arc<RateLimiter>,
    pub iam: Arc<RateLimiter>,
    pub acm: Arc<RateLimiter>,
    pub ses: Arc<RateLimiter>,
    pub apigateway: Arc<RateLimiter>,
    pub lightsail: Arc<RateLimiter>,
    pub elb: Arc<RateLimiter>,
    pub elasticbeanstalk: Arc<RateLimiter>,
    pub ssm: Arc<RateLimiter>,
    pub secretsmanager: Arc<RateLimiter>,
}

impl Default for ServiceLimits {
    fn default() -> Self {
        let l = |per_second: f64| Arc::new(RateLimiter::new(per_second));
        ServiceLimits {
            // Lambda: 15 requests/s for most control-plane calls.
            lambda: l(15.0),
            // CloudFront: a slow global API.
            cloudfront: l(5.0),
            // Route53: 5 requests/s per account.
            route53: l(5.0),
            dynamodb: l(20.0),
            iam: l(10.0),
            acm: l(10.0),
            ses: l(1.0 * 10.0),
            apigateway: l(10.0),
            lightsail: l(5.0),
            elb: l(10.0),
            elasticbeanstalk: l(5.0),
            ssm: l(10.0),
            secretsmanager: l(10.0),
        }
    }
}
