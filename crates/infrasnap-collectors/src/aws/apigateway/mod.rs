//! API Gateway (per region): REST APIs (v1) exported as OpenAPI 3 with their stages, deployments,
//! resources, authorizers, domains, usage plans; HTTP and WebSocket APIs (v2). Stage variables are redacted.

/// Every page of a v1 list call (`limit` and `position`), each call through `$limiter`; an
/// `async` block giving `Result<Vec<_>, ApiFailure>`. Stops on a repeated position.
macro_rules! pages_v1 {
    ($limiter:expr, $req:expr) => {
        async {
            let mut out = Vec::new();
            let mut position: Option<String> = None;
            let mut seen = std::collections::HashSet::new();
            loop {
                $limiter.acquire().await;
                let r = $req
                    .limit(500)
                    .set_position(position.clone())
                    .send()
                    .await
                    .map_err(|e| $crate::aws::sdk_error::describe(&e))?;
                out.extend(r.items().iter().cloned());
                match r.position() {
                    Some(p) if !p.is_empty() && seen.insert(p.to_string()) => {
                        position = Some(p.to_string())
                    }
                    _ => break,
                }
            }
            Ok::<_, $crate::aws::sdk_error::ApiFailure>(out)
        }
    };
}

/// Every page of a v2 list call (`NextToken`), as `pages_v1`.
macro_rules! pages_v2 {
    ($limiter:expr, $req:expr) => {
        async {
            let mut out = Vec::new();
            let mut token: Option<String> = None;
            let mut seen = std::collections::HashSet::new();
            loop {
                $limiter.acquire().await;
                let r = $req
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .map_err(|e| $crate::aws::sdk_error::describe(&e))?;
                out.extend(r.items().iter().cloned());
                match r.next_token() {
                    Some(t) if !t.is_empty() && seen.insert(t.to_string()) => {
                        token = Some(t.to_string())
                    }
                    _ => break,
                }
            }
            Ok::<_, $crate::aws::sdk_error::ApiFailure>(out)
        }
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
