//! Elastic Beanstalk environments, per region: name, application, CNAME, endpoint, status,
//! tier and platform (DescribeEnvironments; terminated ones left out). Read-only.

mod collect;

use std::sync::Arc;

use infrasnap_core::engine::{BoxFuture, Collector, CollectorReport, RunContext};

use crate::aws::scope::{AccountScope, ServiceLimits};

pub struct BeanstalkCollector {
    pub scope: Arc<AccountScope>,
    pub limits: ServiceLimits,
    /// The account id, when the snapshot holds several accounts.
    pub instance: Option<String>,
}

impl BeanstalkCollector {
    pub fn new(scope: Arc<AccountScope>, limits: ServiceLimits, instance: Option<String>) -> Self {
        BeanstalkCollector {
            scope,
            limits,
            instance,
        }
    }
}

impl Collector for BeanstalkCollector {
    fn name(&self) -> &'static str {
        "elasticbeanstalk"
    }
    fn instance(&self) -> Option<String> {
        self.instance.clone()
    }
    fn run(self: Arc<Self>, cx: Arc<RunContext>) -> BoxFuture<'static, CollectorReport> {
        Box::pin(async move { self.run_inner(cx).await })
    }
}
