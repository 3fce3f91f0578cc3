//! CloudFront (global): distributions, origin access, functions, policies, key groups.

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
    fn run(self: Arc<Self>, _cx: Arc<RunContext>) -> BoxFuture<'static, CollectorReport> {
        Box::pin(async move { CollectorReport::default() })
    }
}
