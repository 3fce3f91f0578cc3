//! What the user sees while commands run: logging, and progress (bars on a terminal, periodic
//! lines when stderr is not a terminal, nothing with --json or -q).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use infrasnap_core::manifest::human_bytes;
use infrasnap_core::progress::{CollectorProgress, Progress};

use crate::cli::Global;

pub fn init_logging(verbose: u8, quiet: bool, json: bool) {
    let level = if quiet {
        "error"
    } else {
        match verbose {
            0 if json => "error",
            0 => "warn",
            1 => "info",
            _ => "debug",
        }
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("INFRASNAP_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!(
                "infrasnap={level},infrasnap_core={level},infrasnap_collectors={level}"
            ))
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// A simple counter bar for non-collector work (verify), or None when not on a terminal.
pub fn counter_bar(g: &Global, what: &str) -> Option<ProgressBar> {
    if g.json || g.quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let b = ProgressBar::new_spinner();
    b.set_style(ProgressStyle::with_template("{spinner} {msg} {pos} files").expect("template"));
    b.set_message(what.to_string());
    b.enable_steady_tick(Duration::from_millis(120));
    Some(b)
}

fn line(c: &CollectorProgress, elapsed: f64) -> String {
    let g = CollectorProgress::get;
    let dl = g(&c.bytes_downloaded);
    format!(
        "{:<6} buckets {}/{}  objects {}  {}  downloaded {} ({}/s){}",
        c.name,
        g(&c.units_done),
        g(&c.units_total),
        g(&c.items),
        human_bytes(g(&c.bytes)),
        human_bytes(dl),
        human_bytes((dl as f64 / elapsed.max(0.001)) as u64),
        match g(&c.errors) {
            0 => String::new(),
            n => format!("  errors {n}"),
        }
    )
}

/// Renders progress until dropped.
pub struct ProgressView {
    stop: Arc<tokio::sync::Notify>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl ProgressView {
    pub fn start(g: &Global, progress: Progress) -> ProgressView {
        let stop = Arc::new(tokio::sync::Notify::new());
        if g.json || g.quiet {
            return ProgressView { stop, task: None };
        }
        let tty = std::io::stderr().is_terminal();
        let s2 = stop.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let mut bars: Vec<(Arc<CollectorProgress>, ProgressBar)> = Vec::new();
            let mut last_line = Instant::now();
            let period = if tty {
                Duration::from_millis(150)
            } else {
                Duration::from_secs(1)
            };
            loop {
                tokio::select! {
                    _ = s2.notified() => break,
                    _ = tokio::time::sleep(period) => {}
                }
                let elapsed = started.elapsed().as_secs_f64();
                if tty {
                    for c in progress.all() {
                        if !bars.iter().any(|(b, _)| Arc::ptr_eq(b, &c)) {
                            let pb = multi.add(ProgressBar::new_spinner());
                            pb.set_style(
                                ProgressStyle::with_template("{spinner} {msg}").expect("template"),
                            );
                            bars.push((c.clone(), pb));
                        }
                    }
                    for (c, pb) in &bars {
                        pb.set_message(line(c, elapsed));
                        pb.tick();
                    }
                } else if last_line.elapsed() >= Duration::from_secs(10) {
                    last_line = Instant::now();
                    for c in progress.all() {
                        eprintln!("[{:>5.0}s] {}", elapsed, line(&c, elapsed));
                    }
                }
            }
            for (_, pb) in bars {
                pb.finish_and_clear();
            }
        });
        ProgressView {
            stop,
            task: Some(task),
        }
    }

    pub async fn finish(mut self) {
        self.stop.notify_one();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}
