//! A `moto_server` child process on a free loopback port.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};

/// Environment variable that overrides the `moto_server` binary to run.
pub const MOTO_SERVER_ENV: &str = "INFRASNAP_MOTO_SERVER";

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(50);
const START_ATTEMPTS: usize = 3;

static LOG_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A running `moto_server` process listening on `127.0.0.1:PORT`.
///
/// Dropping it kills and reaps the process. Its combined stdout/stderr goes
/// to a log file in the temp dir, which is deleted on drop unless the thread
/// is panicking (a failing test), in which case its path is printed.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    port: u16,
    log_path: PathBuf,
}

impl MotoServer {
    /// Start a fresh moto server on a free loopback port.
    ///
    /// Blocking (up to ~30 s while moto imports); callable from sync code and
    /// from inside a tokio runtime.
    pub fn start() -> anyhow::Result<MotoServer> {
        Self::start_with_env(&[])
    }

    /// Same as [`MotoServer::start`], with extra environment variables for the
    /// server process (e.g. `INITIAL_NO_AUTH_ACTION_COUNT`).
    pub fn start_with_env(env: &[(&str, &str)]) -> anyhow::Result<MotoServer> {
        Self::start_bin(&find_moto_server()?, env)
    }

    /// Start a given moto_server binary.
    pub fn start_bin(bin: &Path, env: &[(&str, &str)]) -> anyhow::Result<MotoServer> {
        let bin = bin.to_path_buf();
        let mut errors = Vec::new();
        for attempt in 1..=START_ATTEMPTS {
            let port = free_port()?;
            match spawn_and_wait(&bin, port, env) {
                Ok(server) => return Ok(server),
                Err(StartError::Retry(e)) => {
                    errors.push(format!("attempt {attempt} (port {port}): {e:#}"));
                }
                Err(StartError::Fatal(e)) => {
                    return Err(e.context(format!("starting {} on 127.0.0.1:{port}", bin.display())))
                }
            }
        }
        bail!(
            "moto server {} failed to start after {START_ATTEMPTS} attempts:\n{}",
            bin.display(),
            errors.join("\n")
        )
    }

    /// Base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Path of the server's log file (stdout and stderr).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Wipe all moto state (`POST /moto-api/reset`). Blocking.
    pub fn reset(&self) -> anyhow::Result<()> {
        let status = http10_request(self.port, "POST", "/moto-api/reset")
            .with_context(|| format!("POST {}/moto-api/reset", self.url()))?;
        if status != 200 {
            bail!("POST {}/moto-api/reset answered HTTP {status}", self.url());
        }
        Ok(())
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "moto server on port {} was stopped; its log is kept at {}",
                self.port,
                self.log_path.display()
            );
        } else {
            let _ = std::fs::remove_file(&self.log_path);
        }
    }
}

enum StartError {
    /// The server did not come up on this port (e.g. the port was raced);
    /// worth retrying with another port.
    Retry(anyhow::Error),
    Fatal(anyhow::Error),
}

fn spawn_and_wait(bin: &Path, port: u16, env: &[(&str, &str)]) -> Result<MotoServer, StartError> {
    let log_path = std::env::temp_dir().join(format!(
        "infrasnap-moto-{}-{}-{port}.log",
        std::process::id(),
        LOG_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let log = File::create(&log_path)
        .with_context(|| format!("creating moto log file {}", log_path.display()))
        .map_err(StartError::Fatal)?;
    let log_err = log
        .try_clone()
        .context("duplicating moto log file handle")
        .map_err(StartError::Fatal)?;

    let mut cmd = Command::new(bin);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_ACM_VALIDATION_WAIT", "0")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("spawning {}", bin.display()))
        .map_err(StartError::Fatal)?;
    // From here on, `server`'s Drop kills the child on every error path.
    let mut server = MotoServer {
        child,
        port,
        log_path,
    };

    // Ready = our process logged that it is listening on this port (so a
    // foreign process that grabbed the port after we probed it cannot fool
    // us) and the port answers HTTP.
    let listening_marker = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        match server.child.try_wait() {
            Ok(Some(status)) => {
                let log = read_log_tail(&server.log_path);
                return Err(StartError::Retry(anyhow!(
                    "moto_server exited early with {status}; log:\n{log}"
                )));
            }
            Ok(None) => {}
            Err(e) => {
                return Err(StartError::Fatal(
                    anyhow!(e).context("waiting on moto_server"),
                ))
            }
        }
        let logged = std::fs::read_to_string(&server.log_path)
            .map(|s| s.contains(&listening_marker))
            .unwrap_or(false);
        if logged && http10_request(port, "GET", "/moto-api/").is_ok() {
            return Ok(server);
        }
        if Instant::now() >= deadline {
            let log = read_log_tail(&server.log_path);
            // Keep nothing around: the error carries the log tail.
            let _ = std::fs::remove_file(&server.log_path);
            server.log_path = PathBuf::new();
            return Err(StartError::Fatal(anyhow!(
                "moto_server did not answer GET /moto-api/ on 127.0.0.1:{port} within {}s; log:\n{log}",
                READY_TIMEOUT.as_secs()
            )));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Send a body-less HTTP/1.0 request and return the response status code.
fn http10_request(port: u16, method: &str, path: &str) -> std::io::Result<u16> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n"
    )?;
    stream.flush()?;
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let status_line = text.lines().next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    match (
        parts.next(),
        parts.next().and_then(|s| s.parse::<u16>().ok()),
    ) {
        (Some(v), Some(code)) if v.starts_with("HTTP/1.") => Ok(code),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not an HTTP response: {status_line:?}"),
        )),
    }
}

fn read_log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Locate the `moto_server` binary: `$INFRASNAP_MOTO_SERVER`, then
/// `<workspace>/.venv-moto/bin/moto_server` (the build's own checkout), then `moto_server` in an
/// absolute `PATH` folder. Never one in the current folder unless it was named.
pub fn find_moto_server() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os(MOTO_SERVER_ENV).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        bail!(
            "{MOTO_SERVER_ENV}={} does not exist; unset it or run scripts/test (which installs moto[server])",
            p.display()
        );
    }
    // Never a program from the current folder (a planted `.venv-moto/` or a relative PATH
    // entry): only what was named, the build's own workspace, and absolute PATH entries.
    let venv = workspace_root().join(".venv-moto/bin/moto_server");
    if venv.is_file() {
        return Ok(venv);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path).filter(|d| d.is_absolute()) {
            let candidate = dir.join("moto_server");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "moto_server not found (looked at ${MOTO_SERVER_ENV}, {}, and PATH). \
         Run scripts/test, which installs moto[server] into .venv-moto, \
         or point {MOTO_SERVER_ENV} at a moto_server binary.",
        venv.display()
    )
}

/// The workspace root (two levels above this crate's manifest).
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occupied_port_is_reported_as_retryable() {
        let Ok(bin) = find_moto_server() else {
            eprintln!("moto_server not installed; skipping");
            return;
        };
        // Someone else holds the port (and even answers HTTP on it).
        let squatter = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = squatter.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut conn in squatter.incoming().flatten() {
                let _ = conn.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
            }
        });
        let started = Instant::now();
        match spawn_and_wait(&bin, port, &[]) {
            Err(StartError::Retry(e)) => {
                let msg = format!("{e:#}");
                assert!(msg.contains("exited early"), "{msg}");
            }
            Err(StartError::Fatal(e)) => panic!("expected a retryable error, got {e:#}"),
            Ok(_) => panic!("moto claimed a port it cannot own"),
        }
        assert!(started.elapsed() < READY_TIMEOUT);
    }
}
