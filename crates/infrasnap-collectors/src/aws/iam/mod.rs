//! IAM (global): roles, customer managed policies, users and groups (no secrets), instance profiles, OIDC and SAML providers.

mod collect;
mod credential_report;
pub(crate) mod doc;
mod fallback;

use std::sync::Arc;

use infrasnap_core::engine::{BoxFuture, Collector, CollectorReport, RunContext};

use crate::aws::scope::{AccountScope, ServiceLimits};

pub struct IamCollector {
    pub scope: Arc<AccountScope>,
    pub limits: ServiceLimits,
    /// The account id, when the snapshot holds several accounts.
    pub instance: Option<String>,
}

impl IamCollector {
    pub fn new(scope: Arc<AccountScope>, limits: ServiceLimits, instance: Option<String>) -> Self {
        IamCollector {
            scope,
            limits,
            instance,
        }
    }
}

impl Collector for IamCollector {
    fn name(&self) -> &'static str {
        "iam"
    }
    fn instance(&self) -> Option<String> {
        self.instance.clone()
    }
    fn run(self: Arc<Self>, cx: Arc<RunContext>) -> BoxFuture<'static, CollectorReport> {
        Box::pin(async move {
            let mut report = self.clone().run_inner(cx.clone()).await;
            credential_report::capture(&self, &cx, &mut report).await;
            report
        })
    }
}
