//! CloudFront (global): distributions, origin access, functions, policies, key groups.
//!
//! Layout (under the account's prefix), see collect.rs for the calls:
//! - `cloudfront_distributions/<id>.json`: the DistributionConfig with its ETag, ARN, domain
//!   name and tags; `<id>.status.json`: status, last modified time, invalidations in progress;
//! - `cloudfront_distributions/distribution_summary.csv`: id, domain, aliases, enabled, origins;
//! - `origin_access_controls.json`, `origin_access_identities.json`, `cache_policies.json`,
//!   `origin_request_policies.json`, `response_headers_policies.json` (custom ones),
//!   `key_groups.json`, `public_keys.json`;
//! - `functions/<name>.js` (and `.live.js`) with `functions/<name>.json`.

mod collect;
mod xml;

pub use collect::{csv_field, redact_origin_headers, ROOT};

use std::sync::Arc;

use infrasnap_core::engine::{BoxFuture, Collector, CollectorReport, RunContext};

use crate::aws::scope::{AccountScope, ServiceLimits};

pub struct CloudFrontCollector {
    pub scope: Arc<AccountScope>,
    pub limits: ServiceLimits,
    /// The account id, when the snapshot holds several accounts.
    pub instance: Option<String>,
}

impl CloudFrontCollector {
    pub fn new(scope: Arc<AccountScope>, limits: ServiceLimits, instance: Option<String>) -> Self {
        CloudFrontCollector {
            scope,
            limits,
            instance,
        }
    }
}

impl Collector for CloudFrontCollector {
    fn name(&self) -> &'static str {
        "cloudfront"
    }
    fn instance(&self) -> Option<String> {
        self.instance.clone()
    }
    fn run(self: Arc<Self>, cx: Arc<RunContext>) -> BoxFuture<'static, CollectorReport> {
        Box::pin(async move { self.run_inner(cx).await })
    }
}
