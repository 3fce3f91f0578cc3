//! AWS sources, one folder per service. Shared here: how an SDK error is described.

pub mod capture;
pub mod identity;
pub mod kit;
pub mod ratelimit;
pub mod scope;
pub mod sdk_error;

#[cfg(feature = "acm")]
pub mod acm;
#[cfg(feature = "apigateway")]
pub mod apigateway;
#[cfg(feature = "cloudfront")]
pub mod cloudfront;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "elasticbeanstalk")]
pub mod elasticbeanstalk;
#[cfg(feature = "elb")]
pub mod elb;
#[cfg(feature = "iam")]
pub mod iam;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "lightsail")]
pub mod lightsail;
#[cfg(feature = "route53")]
pub mod route53;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "ses")]
pub mod ses;
#[cfg(feature = "ssm")]
pub mod ssm;
