//! DynamoDB tables: description, TTL, backups, tags, and the items as DynamoDB JSON lines.
//!
//! - collect.rs: the collector (regions, tables, errors, report);
//! - autoscaling.rs: Application Auto Scaling targets and policies of the tables;
//! - json.rs: API values as JSON (`table.json`, `stats.json`, DynamoDB JSON items);
//! - scan.rs: the parallel scan into deterministic gzip files.

pub mod autoscaling;
mod collect;
pub mod json;
pub mod scan;

use std::sync::Arc;

use infrasnap_core::engine::{BoxFuture, Collector, CollectorReport, RunContext};

use crate::aws::scope::{AccountScope, ServiceLimits};

/// Options shared by the AWS service collectors that need them.
#[derive(Debug, Clone, Default)]
pub struct DynamoDbOptions {
    /// Skip table items (DynamoDB: `--no-table-data`).
    pub no_data: bool,
}

pub struct DynamoDbCollector {
    pub scope: Arc<AccountScope>,
    pub limits: ServiceLimits,
    pub opts: DynamoDbOptions,
    /// The account id, when the snapshot holds several accounts.
    pub instance: Option<String>,
}

impl DynamoDbCollector {
    pub fn new(
        scope: Arc<AccountScope>,
        limits: ServiceLimits,
        opts: DynamoDbOptions,
        instance: Option<String>,
    ) -> Self {
        DynamoDbCollector {
            scope,
            limits,
            opts,
            instance,
        }
    }
}

impl Collector for DynamoDbCollector {
    fn name(&self) -> &'static str {
        "dynamodb"
    }
    fn instance(&self) -> Option<String> {
        self.instance.clone()
    }
    fn run(self: Arc<Self>, cx: Arc<RunContext>) -> BoxFuture<'static, CollectorReport> {
        Box::pin(async move { self.run_inner(cx).await })
    }
}
