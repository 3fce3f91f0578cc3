//! Google Apps Script projects: metadata, HEAD content in clasp's layout, recent versions,
//! deployments. Written to `gas_projects/<name>/`.

use std::path::PathBuf;
use std::sync::Arc;

use infrasnap_core::config::GasConfig;
use infrasnap_core::engine::{BoxFuture, Collector, CollectorReport, RunContext};

pub struct GasCollector {
    pub cfg: GasConfig,
    pub home: Option<PathBuf>,
}

impl GasCollector {
    pub fn new(cfg: GasConfig, home: Option<PathBuf>) -> Self {
        GasCollector { cfg, home }
    }
}

impl Collector for GasCollector {
    fn name(&self) -> &'static str {
        "gas"
    }
    fn run(self: Arc<Self>, _cx: Arc<RunContext>) -> BoxFuture<'static, CollectorReport> {
        Box::pin(async move { CollectorReport::default() })
    }
}
