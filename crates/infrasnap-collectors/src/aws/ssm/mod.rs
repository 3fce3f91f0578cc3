//! SSM Parameter Store and Secrets Manager (per region): names, types, versions, tags, last change; never a value in plain text.

use std::sync::Arc;

use infrasnap_core::engine::{BoxFuture, Collector, CollectorReport, RunContext};

use crate::aws::scope::{AccountScope, ServiceLimits};

mod collect;
mod parameters;
mod secrets;

pub struct SsmCollector {
    pub scope: Arc<AccountScope>,
    pub limits: ServiceLimits,
    /// The account id, when the snapshot holds several accounts.
    pub instance: Option<String>,
}

impl SsmCollector {
    pub fn new(scope: Arc<AccountScope>, limits: ServiceLimits, instance: Option<String>) -> Self {
        SsmCollector {
            scope,
            limits,
            instance,
        }
    }
}

impl Collector for SsmCollector {
    fn name(&self) -> &'static str {
        "ssm"
    }
    fn instance(&self) -> Option<String> {
        self.instance.clone()
    }
    fn run(self: Arc<Self>, cx: Arc<RunContext>) -> BoxFuture<'static, CollectorReport> {
        Box::pin(self.run_inner(cx))
    }
}
