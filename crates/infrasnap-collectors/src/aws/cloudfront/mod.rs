//! CloudFront (global, one per account): distributions, origin access, functions, policies, key
//! groups. collect.rs lists the calls and the resource kinds handed to the catalog; where each
//! lands is `catalog/kinds.rs`'s (`cloudfront_distributions/<account>/...`).

mod collect;
mod xml;

pub use collect::{csv_field, redact_origin_headers, DISTRIBUTION, DISTRIBUTION_SUMMARY, FUNCTION};

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
