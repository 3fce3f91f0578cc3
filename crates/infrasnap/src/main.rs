//! The `infrasnap` command. See `infrasnap --help`, README.md and docs/.

#[macro_use]
mod output;
mod aws_setup;
mod cli;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: with glibc's, the transfer threads waited on its
/// arena lock for a fifth of their pauses when many small objects were in flight (a perf trace of
/// context switches; bench/README.md), and its allocation paths were ~9% of the CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes scripts can rely on (documented in README.md).
pub mod exit {
    /// Everything asked for was done.
    pub const OK: u8 = 0;
    /// The command failed (nothing or nothing useful was captured, or a bad repository).
    pub const FAILED: u8 = 1;
    /// Bad usage (clap's own code).
    pub const USAGE: u8 = 2;
    /// The snapshot was published but is complete with errors (some calls failed; listed).
    pub const PARTIAL: u8 = 3;
    /// `verify` found missing, corrupt or modified files.
    pub const DAMAGED: u8 = 4;
    /// `diff` found differences (something added, removed or modified).
    pub const DIFFERENT: u8 = 5;
    /// `check`: the newest complete snapshot is older than `--max-age` (or there is none).
    pub const STALE: u8 = 6;
    /// `findings --fail-on S` found a finding of severity S or worse.
    pub const FINDINGS: u8 = 8;
    /// Interrupted (Ctrl-C); nothing published, the next run resumes.
    pub const INTERRUPTED: u8 = 130;
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    output::init_logging(cli.global.verbose, cli.global.quiet, cli.global.json);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("infrasnap")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILED);
        }
    };
    let json = cli.global.json;
    let command = cli.command.name();
    match rt.block_on(cli::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Bad flags or config found by the run driver: nothing was written.
            let usage = matches!(
                e.downcast_ref::<infrasnap_collectors::driver::RunError>(),
                Some(infrasnap_collectors::driver::RunError::Usage(_))
            );
            if json {
                // The envelope of every --json answer, for a run that ended before a result.
                outln!(
                    "{}",
                    serde_json::json!({
                        "command": command,
                        "status": if usage { "usage" } else { "failed" },
                        "errors": [format!("{e:#}")],
                        "error": format!("{e:#}"),
                    })
                );
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(if usage { exit::USAGE } else { exit::FAILED })
        }
    }
}
