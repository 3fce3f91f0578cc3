//! Local ops files: git repositories (bundle of every ref plus the uncommitted working state),
//! plain folders, and scheduled agents (LaunchAgents, systemd user units, crontab). Written to
//! `local_repos/<name>/` and `local_repos/agents/`.

use std::path::PathBuf;
use std::sync::Arc;

use infrasnap_core::config::LocalSource;
use infrasnap_core::engine::{BoxFuture, Collector, CollectorReport, RunContext};

pub struct LocalCollector {
    pub sources: Vec<LocalSource>,
    pub home: Option<PathBuf>,
}

impl LocalCollector {
    pub fn new(sources: Vec<LocalSource>, home: Option<PathBuf>) -> Self {
        LocalCollector { sources, home }
    }
}

impl Collector for LocalCollector {
    fn name(&self) -> &'static str {
        "local"
    }
    fn run(self: Arc<Self>, _cx: Arc<RunContext>) -> BoxFuture<'static, CollectorReport> {
        Box::pin(async move { CollectorReport::default() })
    }
}
