//! API Gateway (per region): REST APIs (v1) exported as OpenAPI 3 with their stages, deployments,
//! resources, authorizers, domains, usage plans; HTTP and WebSocket APIs (v2). Stage variables are
//! redacted; with `--keep-secrets` their values are kept encrypted (`kept.age`).

/// Every item of a v1 list call (`limit` and `position`) through the kit's paging, each call
/// through `$limiter`: a future of `Result<Vec<_>, ApiFailure>`.
macro_rules! pages_v1 {
    ($limiter:expr, $req:expr) => {
        $crate::aws::kit::sdk_pages!(
            &$limiter,
            "API Gateway items",
            |p| $req.limit(500).set_position(p),
            |r| (r.items.unwrap_or_default(), r.position)
        )
    };
}

/// Every item of a v2 list call (`NextToken`), as `pages_v1`.
macro_rules! pages_v2 {
    ($limiter:expr, $req:expr) => {
        $crate::aws::kit::sdk_pages!(
            &$limiter,
            "API Gateway items",
            |t| $req.set_next_token(t),
            |r| (r.items.unwrap_or_default(), r.next_token)
        )
    };
}

mod collect;
mod http;
mod json;
mod rest;

use std::sync::Arc;

use infrasnap_core::engine::{BoxFuture, Collector, CollectorReport, RunContext};

use crate::aws::scope::{AccountScope, ServiceLimits};

pub struct ApiGatewayCollector {
    pub scope: Arc<AccountScope>,
    pub limits: ServiceLimits,
    /// The account id, when the snapshot holds several accounts.
    pub instance: Option<String>,
}

impl ApiGatewayCollector {
    pub fn new(scope: Arc<AccountScope>, limits: ServiceLimits, instance: Option<String>) -> Self {
        ApiGatewayCollector {
            scope,
            limits,
            instance,
        }
    }
}

impl Collector for ApiGatewayCollector {
    fn name(&self) -> &'static str {
        "apigateway"
    }
    fn instance(&self) -> Option<String> {
        self.instance.clone()
    }
    fn run(self: Arc<Self>, cx: Arc<RunContext>) -> BoxFuture<'static, CollectorReport> {
        Box::pin(async move { self.run_inner(cx).await })
    }
}
