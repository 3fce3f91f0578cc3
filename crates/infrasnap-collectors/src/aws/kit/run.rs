//! Tally, progress and timing of one collector's run, and the one rule that ends it: every
//! collector starts a [`Run`], counts its work on it, records its errors in it, and finishes its
//! summary with it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use infrasnap_core::engine::{ErrorSink, RunContext};
use infrasnap_core::metadata::{CollectorSummary, Status};
use infrasnap_core::progress::CollectorProgress;

/// One collector's run: when it started, its progress line and its errors.
pub struct Run {
    key: String,
    started: Instant,
    pub progress: Arc<CollectorProgress>,
    pub errors: Arc<ErrorSink>,
}

impl Run {
    /// Start the run of the collector `key` (its name, or `name:account`).
    pub fn start(cx: &RunContext, key: &str) -> Self {
        // `-v` shows each service's steps: this line, one per resource (the engine's
        // `put_resource`), and the end.
        tracing::info!("{key}: capturing");
        Run {
            key: key.to_string(),
            started: Instant::now(),
            progress: cx.progress.collector(key),
            errors: Arc::new(ErrorSink::default()),
        }
    }

    /// `n` more units of work (regions, functions, certificates) to do.
    pub fn to_do(&self, n: u64) {
        self.progress.add(&self.progress.units_total, n);
    }

    /// `n` units of work done.
    pub fn done(&self, n: u64) {
        self.progress.add(&self.progress.units_done, n);
    }

    /// Close the summary: the errors recorded, the status and the time taken; the progress line
    /// ends. The status is `failed` when nothing could be read (`read_nothing`: every listing
    /// tried failed), `complete` when no error was recorded, `partial` otherwise.
    pub fn finish(&self, s: &mut CollectorSummary, read_nothing: bool) {
        s.errors = self.errors.take();
        s.status = Some(status(read_nothing, s.errors.is_empty()));
        s.duration_seconds = self.started.elapsed().as_secs_f64();
        self.progress.finished.store(true, Ordering::Relaxed);
        tracing::info!(
            "{}: done in {:.1} s, {} error(s)",
            self.key,
            s.duration_seconds,
            s.errors.len()
        );
    }
}

fn status(read_nothing: bool, no_errors: bool) -> Status {
    if read_nothing {
        Status::Failed
    } else if no_errors {
        Status::Complete
    } else {
        Status::Partial
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_rule() {
        assert_eq!(status(true, false), Status::Failed);
        assert_eq!(status(false, true), Status::Complete);
        assert_eq!(status(false, false), Status::Partial);
    }
}
