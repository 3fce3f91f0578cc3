//! Route53: hosted zones, record sets, health checks, DNSSEC, tags, and BIND zone files.
//!
//! Layout (under the account's prefix), see collect.rs for the calls:
//! - `route53_zones/<zone>/zone.json`: GetHostedZone, tags, DNSSEC, query logging;
//! - `route53_zones/<zone>/records.json`: every record set, sorted;
//! - `route53_zones/<zone>/<zone>.zone`: the zone as a BIND master file (bind.rs);
//! - `route53_zones/health_checks.json`: health checks with their tags.
//!
//! `<zone>` is the zone name without its final dot; zones that share a name (a public and a
//! private zone) get `_<zone id>` added to their folder name.

mod bind;
mod collect;
pub mod model;

use std::sync::Arc;

use infrasnap_core::engine::{BoxFuture, Collector, CollectorReport, RunContext};

use crate::aws::scope::{AccountScope, ServiceLimits};

pub use bind::{parse_soa, txt_rdata, SoaParse};
pub use collect::{zone_dir_base, REPEATED_PAGE, ROOT};

/// Options shared by the AWS service collectors that need them.
#[derive(Debug, Clone, Default)]
pub struct Route53Options {
    /// Skip table items (DynamoDB: `--no-table-data`). Route53 has no data to skip.
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
    fn run(self: Arc<Self>, cx: Arc<RunContext>) -> BoxFuture<'static, CollectorReport> {
        Box::pin(async move { self.run_inner(cx).await })
    }
}
