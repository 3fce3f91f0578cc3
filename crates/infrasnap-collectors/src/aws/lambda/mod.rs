//! Lambda (per region): functions with their code, configuration, versions, aliases, policies,
//! event source mappings, URL configs, concurrency and layers. Environment values are redacted.

mod collect;

use std::sync::Arc;

use infrasnap_core::engine::{BoxFuture, Collector, CollectorReport, RunContext};

use crate::aws::scope::{AccountScope, ServiceLimits};

pub struct LambdaCollector {
    pub scope: Arc<AccountScope>,
    pub limits: ServiceLimits,
    /// The account id, when the snapshot holds several accounts.
    pub instance: Option<String>,
}

impl LambdaCollector {
    pub fn new(scope: Arc<AccountScope>, limits: ServiceLimits, instance: Option<String>) -> Self {
        LambdaCollector {
            scope,
            limits,
            instance,
        }
    }
}

impl Collector for LambdaCollector {
    fn name(&self) -> &'static str {
        "lambda"
    }
    fn instance(&self) -> Option<String> {
        self.instance.clone()
    }
    fn run(self: Arc<Self>, cx: Arc<RunContext>) -> BoxFuture<'static, CollectorReport> {
        Box::pin(async move { self.run_inner(cx).await })
    }
}
