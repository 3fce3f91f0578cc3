//! The one list of AWS services infrasnap captures: their names (as `--only`, `--skip` and the
//! config spell them), their MANIFEST.md titles, and how each collector is built. The run driver
//! (`driver.rs`) and the CLI read it; nothing else lists services.
//!
//! A service whose Cargo feature is off is still *known* (so `--only lambda` on an S3-only build
//! says "not built into this infrasnap" rather than "unknown service") but has no builder.

use std::sync::Arc;
use std::time::Duration;

use infrasnap_core::engine::Collector;

use crate::aws::scope::{AccountScope, ServiceLimits};

/// What every builder gets.
pub struct Build<'a> {
    pub scope: Arc<AccountScope>,
    pub limits: ServiceLimits,
    /// The collector's instance (the account id when the run captures several accounts).
    pub instance: Option<String>,
    pub opts: &'a ServiceOptions,
}

/// Service-specific options of one run.
#[derive(Debug, Clone, Default)]
pub struct ServiceOptions {
    /// DynamoDB: definitions without items.
    pub no_table_data: bool,
    /// S3: only these buckets (empty: every bucket).
    pub buckets: Vec<String>,
    /// S3: buckets worked on at once.
    pub bucket_jobs: usize,
    /// Lightsail: create native snapshots named after this snapshot, and wait for them.
    pub lightsail_snapshot: bool,
    pub lightsail_wait: Option<Duration>,
    /// The snapshot's name (Lightsail native snapshot names).
    pub snapshot_name: String,
    /// Re-hash every reused blob before linking it again (`--reverify`).
    pub reverify: bool,
    /// Re-hash a rotating share of the reused blobs on each run (`--reverify-share 5%`).
    pub reverify_share: Option<String>,
    /// S3: customer keys (SSE-C), from `--sse-c-key-file` and `[[s3.sse_c]]`.
    pub sse_c: Arc<infrasnap_core::model::s3::SseCKeyRing>,
    /// S3: noncurrent versions and delete markers of every versioned bucket (`--all-versions`,
    /// `[s3] all_versions`), or of these buckets (`[s3] versions`).
    pub all_versions: bool,
    pub versions_buckets: Vec<String>,
    /// S3: read tags and legal hold of unchanged objects again (`--recheck-tags`).
    pub recheck_tags: bool,
}

/// Builds one collector for one account.
pub type Builder = fn(&Build) -> Arc<dyn Collector>;

/// One AWS service.
pub struct AwsService {
    /// `s3`, `lambda`, ...
    pub name: &'static str,
    /// MANIFEST.md section title.
    pub title: &'static str,
    /// `None` when the service's Cargo feature is off in this build.
    pub build: Option<Builder>,
}

macro_rules! service {
    ($feature:literal, $name:literal, $title:literal, $build:expr) => {
        AwsService {
            name: $name,
            title: $title,
            #[cfg(feature = $feature)]
            build: Some($build),
            #[cfg(not(feature = $feature))]
            build: None,
        }
    };
}

/// Every AWS service, in the order their collectors start (S3 last: it runs longest and its
/// transfers use the `--jobs` budget the others leave).
pub fn aws_services() -> Vec<AwsService> {
    vec![
        service!("dynamodb", "dynamodb", "DynamoDB tables", |b| {
            Arc::new(crate::aws::dynamodb::DynamoDbCollector::new(
                b.scope.clone(),
                b.limits.clone(),
                crate::aws::dynamodb::DynamoDbOptions {
                    no_data: b.opts.no_table_data,
                },
                b.instance.clone(),
            ))
        }),
        service!("iam", "iam", "IAM", |b| {
            Arc::new(crate::aws::iam::IamCollector::new(
                b.scope.clone(),
                b.limits.clone(),
                b.instance.clone(),
            ))
        }),
        service!("acm", "acm", "ACM certificates", |b| {
            Arc::new(crate::aws::acm::AcmCollector::new(
                b.scope.clone(),
                b.limits.clone(),
                b.instance.clone(),
            ))
        }),
        service!("ses", "ses", "SES", |b| {
            Arc::new(crate::aws::ses::SesCollector::new(
                b.scope.clone(),
                b.limits.clone(),
                b.instance.clone(),
            ))
        }),
        service!("ssm", "ssm", "SSM parameters and Secrets Manager", |b| {
            Arc::new(crate::aws::ssm::SsmCollector::new(
                b.scope.clone(),
                b.limits.clone(),
                b.instance.clone(),
            ))
        }),
        service!("lambda", "lambda", "Lambda functions", |b| {
            Arc::new(crate::aws::lambda::LambdaCollector::new(
                b.scope.clone(),
                b.limits.clone(),
                b.instance.clone(),
            ))
        }),
        service!("apigateway", "apigateway", "API Gateway", |b| {
            Arc::new(crate::aws::apigateway::ApiGatewayCollector::new(
                b.scope.clone(),
                b.limits.clone(),
                b.instance.clone(),
            ))
        }),
        service!("lightsail", "lightsail", "Lightsail", |b| {
            Arc::new(crate::aws::lightsail::LightsailCollector::new(
                b.scope.clone(),
                b.limits.clone(),
                crate::aws::lightsail::LightsailOptions {
                    create_snapshots: b.opts.lightsail_snapshot,
                    wait: b.opts.lightsail_wait,
                    snapshot_name: b.opts.snapshot_name.clone(),
                },
                b.instance.clone(),
            ))
        }),
        service!("elb", "elb", "Load balancers", |b| {
            Arc::new(crate::aws::elb::ElbCollector::new(
                b.scope.clone(),
                b.limits.clone(),
                b.instance.clone(),
            ))
        }),
        service!(
            "elasticbeanstalk",
            "elasticbeanstalk",
            "Elastic Beanstalk environments",
            |b| {
                Arc::new(crate::aws::elasticbeanstalk::BeanstalkCollector::new(
                    b.scope.clone(),
                    b.limits.clone(),
                    b.instance.clone(),
                ))
            }
        ),
        service!(
            "cloudfront",
            "cloudfront",
            "CloudFront distributions",
            |b| {
                Arc::new(crate::aws::cloudfront::CloudFrontCollector::new(
                    b.scope.clone(),
                    b.limits.clone(),
                    b.instance.clone(),
                ))
            }
        ),
        service!("route53", "route53", "Route53 zones", |b| {
            Arc::new(crate::aws::route53::Route53Collector::new(
                b.scope.clone(),
                b.limits.clone(),
                crate::aws::route53::Route53Options::default(),
                b.instance.clone(),
            ))
        }),
        service!("s3", "s3", "S3 buckets", |b| {
            Arc::new(crate::aws::s3::S3Collector::new(
                b.scope.sdk.clone(),
                crate::aws::s3::S3Options {
                    default_region: b.scope.home_region.clone(),
                    path_style: b.scope.s3_path_style,
                    bucket_concurrency: b.opts.bucket_jobs.max(1),
                    buckets: b.opts.buckets.clone(),
                    account: b.scope.account_id.clone(),
                    instance: b.instance.clone(),
                    sse_c: b.opts.sse_c.clone(),
                    all_versions: b.opts.all_versions,
                    versions_buckets: b.opts.versions_buckets.clone(),
                    recheck_tags: b.opts.recheck_tags,
                },
            ))
        }),
    ]
}

/// Every AWS service name, built into this binary or not.
pub fn aws_service_names() -> Vec<&'static str> {
    aws_services().iter().map(|s| s.name).collect()
}

/// The MANIFEST.md title of a collector key (`s3`, `lambda:123456789012`, `gas`).
pub fn section_title(key: &str) -> String {
    let (name, instance) = key.split_once(':').unwrap_or((key, ""));
    let title = match name {
        "gas" => "Apps Script projects",
        "local" => "Local files",
        other => aws_services()
            .into_iter()
            .find(|s| s.name == other)
            .map(|s| s.title)
            .unwrap_or(other),
    };
    if instance.is_empty() {
        title.to_string()
    } else {
        format!("{title} (account {instance})")
    }
}
