//! Lightsail (per region): instances, disks, static IPs and existing snapshots; optionally a new
//! native instance snapshot named after ours (`--lightsail-snapshot`).

mod collect;
mod native;
mod wire;

pub use wire::native_snapshot_name;

use std::sync::Arc;

use infrasnap_core::engine::{BoxFuture, Collector, CollectorReport, RunContext};

use crate::aws::scope::{AccountScope, ServiceLimits};

/// What `--lightsail-snapshot` asks for.
#[derive(Debug, Clone, Default)]
pub struct LightsailOptions {
    /// Trigger CreateInstanceSnapshot for every instance, named after this snapshot.
    pub create_snapshots: bool,
    /// Wait (up to this long) for the new instance snapshots to become available.
    pub wait: Option<std::time::Duration>,
    /// The infrasnap snapshot's name, used to name the native snapshots.
    pub snapshot_name: String,
}

pub struct LightsailCollector {
    pub scope: Arc<AccountScope>,
    pub limits: ServiceLimits,
    pub options: LightsailOptions,
    /// The account id, when the snapshot holds several accounts.
    pub instance: Option<String>,
}

impl LightsailCollector {
    pub fn new(
        scope: Arc<AccountScope>,
        limits: ServiceLimits,
        options: LightsailOptions,
        instance: Option<String>,
    ) -> Self {
        LightsailCollector {
            scope,
            limits,
            options,
            instance,
        }
    }
}

impl Collector for LightsailCollector {
    fn name(&self) -> &'static str {
        "lightsail"
    }
    fn instance(&self) -> Option<String> {
        self.instance.clone()
    }
    fn run(self: Arc<Self>, cx: Arc<RunContext>) -> BoxFuture<'static, CollectorReport> {
        Box::pin(async move { self.run_inner(cx).await })
    }
}
