//! Route53: hosted zones, record sets, health checks, DNSSEC, tags, and BIND zone files.
//!
//! What it hands to the catalog (the core decides the paths, docs/FORMAT.md section 11), see
//! collect.rs for the calls:
//! - `aws.route53.zone` (id: the zone id, label: the zone name), in
//!   `route53_zones/<account>/<zone name>_<zone id>/`: `zone.json` (GetHostedZone, tags, DNSSEC,
//!   query logging), parts `records.json` (every record set, sorted) and `<zone name>.zone` (the
//!   zone as a BIND master file, bind.rs);
//! - `aws.route53.record_set` (id: `<zone id>/<name>/<type>[/<set identifier>]`): each record
//!   set, in the catalog only (the zone's `records.json` shows them);
//! - `aws.route53.health_check` (id: the health check id): health checks with their tags, in the
//!   view `route53_zones/<account>/health_checks.json`.

mod bind;
mod collect;
pub mod model;

use std::sync::Arc;

use infrasnap_core::engine::{BoxFuture, Collector, CollectorReport, RunContext};

use crate::aws::scope::{AccountScope, ServiceLimits};

pub use bind::{parse_soa, txt_rdata, SoaParse};
pub use collect::{
    record_set_id, zone_file_part, zone_label, HEALTH_CHECK, RECORD_SET, REPEATED_PAGE, ZONE,
};

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
