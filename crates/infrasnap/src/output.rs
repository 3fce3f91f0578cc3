//! What the user sees while commands run: logging, and progress (bars on a terminal, periodic
//! lines when stderr is not a terminal, nothing with --json or -q).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use infrasnap_core::manifest::human_bytes;
use infrasnap_core::progress::{CollectorProgress, Progress};

use crate::cli::Global;

/// `println!` to stdout, except that a closed pipe (`infrasnap list | head -1`) ends the process
/// quietly with exit 0, as it ends `ls` or `grep`, instead of a panic.
macro_rules! outln {
    ($($t:tt)*) => { $crate::output::write_stdout(format_args!($($t)*), true) };
}

/// `print!` with the same closed-pipe rule as [`outln!`].
macro_rules! out {
    ($($t:tt)*) => { $crate::output::write_stdout(format_args!($($t)*), false) };
}

/// The one `--json` shape of `snapshot`, `show` and `verify`: `command`, `status`, every error
/// (the same ones the totals count), and the command's own fields beside them.
pub fn envelope<E: serde::Serialize>(
    command: &str,
    status: &str,
    errors: &[E],
    fields: serde_json::Value,
) -> serde_json::Value {
    let mut v = serde_json::json!({"command": command, "status": status, "errors": errors});
    if let (Some(o), serde_json::Value::Object(f)) = (v.as_object_mut(), fields) {
        o.extend(f);
    }
    v
}

/// Write to stdout; on a closed pipe, exit quietly; on any other write error, say so and exit 1.
pub fn write_stdout(args: std::fmt::Arguments, newline: bool) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    let r = o
        .write_fmt(args)
        .and_then(|_| if newline { o.write_all(b"\n") } else { Ok(()) })
        .and_then(|_| o.flush());
    match r {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            std::process::exit(crate::exit::FAILED as i32);
        }
    }
}

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
    // -vv also shows the SDK's retries and the raw errors behind each recorded one.
    let sdk = if verbose >= 2 && !quiet {
        ",aws_smithy_runtime::client::retries=debug,aws_smithy_runtime::client::orchestrator=debug"
    } else {
        ""
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("INFRASNAP_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!(
                "infrasnap={level},infrasnap_core={level},infrasnap_collectors={level}{sdk}"
            ))
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
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

/// What a collector's units and items are, by service: a function is not a bucket.
fn unit_names(collector: &str) -> (&'static str, &'static str) {
    match collector.split(':').next().unwrap_or(collector) {
        "s3" => ("buckets", "objects"),
        "lambda" => ("functions", "files"),
        "dynamodb" => ("tables", "items"),
        "route53" => ("zones", "records"),
        "cloudfront" => ("distributions", "items"),
        "iam" => ("roles, users, groups and policies", "items"),
        "acm" => ("certificates", "items"),
        "ses" | "apigateway" | "lightsail" | "elb" | "elasticbeanstalk" => ("regions", "items"),
        "ssm" => ("listings", "items"),
        "gas" => ("projects", "files"),
        "local" => ("sources", "files"),
        _ => ("parts", "items"),
    }
}

/// The counts of one collector, without times or rates: it changes only when something did.
fn counts(c: &CollectorProgress) -> String {
    let g = CollectorProgress::get;
    let (units, items) = unit_names(&c.name);
    let mut s = format!(
        "{:<10} {units} {}/{}",
        c.name,
        g(&c.units_done),
        g(&c.units_total)
    );
    if g(&c.items) > 0 {
        s.push_str(&format!("  {items} {}", g(&c.items)));
    }
    if g(&c.bytes) > 0 {
        s.push_str(&format!("  {}", human_bytes(g(&c.bytes))));
    }
    if g(&c.bytes_downloaded) > 0 {
        s.push_str(&format!(
            "  downloaded {}",
            human_bytes(g(&c.bytes_downloaded))
        ));
    }
    if g(&c.errors) > 0 {
        s.push_str(&format!("  errors {}", g(&c.errors)));
    }
    s
}

fn line(c: &CollectorProgress, elapsed: f64) -> String {
    let dl = CollectorProgress::get(&c.bytes_downloaded);
    if dl == 0 {
        return counts(c);
    }
    format!(
        "{} ({}/s)",
        counts(c),
        human_bytes((dl as f64 / elapsed.max(0.001)) as u64)
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
            let mut printed: Vec<(Arc<CollectorProgress>, String)> = Vec::new();
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
                } else if last_line.elapsed() >= Duration::from_secs(5) {
                    // A log, not an animation: a line only for a collector whose counts moved.
                    last_line = Instant::now();
                    for c in progress.all() {
                        let now = counts(&c);
                        match printed.iter_mut().find(|(b, _)| Arc::ptr_eq(b, &c)) {
                            Some((_, before)) if *before == now => {}
                            Some((_, before)) => {
                                eprintln!("[{elapsed:>5.0}s] {now}");
                                *before = now;
                            }
                            None => {
                                eprintln!("[{elapsed:>5.0}s] {now}");
                                printed.push((c.clone(), now));
                            }
                        }
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
