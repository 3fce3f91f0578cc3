//! Progress counters shared between collectors (which count) and the front end (which renders
//! them as bars on a terminal, periodic lines otherwise, nothing with --json).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Live counters of one collector. All relaxed atomics: they are for display only.
#[derive(Debug, Default)]
pub struct CollectorProgress {
    pub name: String,
    /// Containers (buckets, functions, zones) known and finished.
    pub units_total: AtomicU64,
    pub units_done: AtomicU64,
    /// Items (objects) seen and their bytes.
    pub items: AtomicU64,
    pub bytes: AtomicU64,
    /// Bytes actually downloaded.
    pub bytes_downloaded: AtomicU64,
    pub errors: AtomicU64,
    pub finished: std::sync::atomic::AtomicBool,
}

impl CollectorProgress {
    pub fn add(&self, c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default, Clone)]
pub struct Progress {
    collectors: Arc<Mutex<Vec<Arc<CollectorProgress>>>>,
}

impl Progress {
    pub fn collector(&self, name: &str) -> Arc<CollectorProgress> {
        let c = Arc::new(CollectorProgress {
            name: name.to_string(),
            ..Default::default()
        });
        self.collectors
            .lock()
            .expect("progress lock")
            .push(c.clone());
        c
    }

    pub fn all(&self) -> Vec<Arc<CollectorProgress>> {
        self.collectors.lock().expect("progress lock").clone()
    }
}
