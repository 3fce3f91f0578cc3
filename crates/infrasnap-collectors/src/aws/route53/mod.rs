//! Route53: hosted zones, record sets, health checks, DNSSEC, tags, and BIND zone files.

use std::sync::Arc;

use infrasnap_core::engine::{BoxFuture, Collector, CollectorReport, RunContext};

use crate::aws::scope::{AccountScope, ServiceLimits};

/// Options shared by the AWS service collectors that need them.
#[derive(Debug, Clone, Default)]
pub struct Route53Options {
    /// Skip table items (DynamoDB: `--no-table-data`).
    pub no_data: bool,
}

pub struct Route53Collector {
    pub scope: Arc<AccountScope>,
    pub limits: ServiceLimits,
    pub opts: Route53Options,
    /// The account id, when the snapshot holds several accounts.
    pub instance: Option<String>,
}

impl Route53Collector {
    pub fn new(
        scope: Arc<AccountScope>,
        limits: ServiceLimits,
        opts: Route53Options,
        instance: Option<String>,
    ) -> Self {
        Route53Collector {
            scope,
            limits,
            opts,
            instance,
        }
    }
}

impl Collector for Route53Collector {
    fn name(&self) -> &'static str {
        "route53"
    }
    fn instance(&self) -> Option<String> {
        self.instance.clone()
    }
    fn run(self: Arc<Self>, _cx: Arc<RunContext>) -> BoxFuture<'static, CollectorReport> {
        Box::pin(async move { CollectorReport::default() })
    }
}
