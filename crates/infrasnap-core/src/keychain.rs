//! The OS keychain as the home of a repository's fingerprint key, where one is present: the
//! macOS keychain through `security`, the freedesktop Secret Service (GNOME Keyring, KWallet)
//! through libsecret's `secret-tool`. Chosen by `[secrets] key_store`: `keychain` (the key lives
//! there; a run where no keychain answers is an error, never a second key), `auto` (the default:
//! the key is read from the keychain when it is there, else the file is used; a key is never put
//! in the keychain unasked, because a scheduled headless run often has no keychain session and
//! would then make a second key), or `file`. The key is stored as 64 hex characters under service
//! `infrasnap` and the repository's id.
//!
//! Both tools are driven by their command lines, with no library linked: a machine without them
//! (a server, a container, CI) simply keeps the file. One weakness is the macOS tool's: `security
//! add-generic-password -w KEY` takes the secret on its command line, where another local user can
//! see it for the moment the process runs; `secret-tool` reads it from standard input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// `[secrets] key_store`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStore {
    #[default]
    Auto,
    File,
    Keychain,
}

static CHOSEN: OnceLock<KeyStore> = OnceLock::new();

/// Set the key store of this process (from the config, once, before any key is read).
pub fn set_key_store(k: KeyStore) {
    let _ = CHOSEN.set(k);
}

/// The key store of this process: `INFRASNAP_KEY_STORE` (`auto`/`file`/`keychain`) wins over
/// the config's.
pub fn key_store() -> KeyStore {
    match std::env::var("INFRASNAP_KEY_STORE").as_deref() {
        Ok("file") => KeyStore::File,
        Ok("keychain") => KeyStore::Keychain,
        Ok("auto") => KeyStore::Auto,
        _ => CHOSEN.get().copied().unwrap_or_default(),
    }
}

/// One working keychain tool.
#[derive(Debug, Clone)]
pub enum Keychain {
    /// libsecret's `secret-tool` (Linux and other freedesktop systems).
    SecretTool(PathBuf),
    /// macOS `security`.
    Security(PathBuf),
}

const SERVICE: &str = "infrasnap";

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(name))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

impl Keychain {
    /// The keychain tool of this system, when it is on PATH and answers a lookup (found or "not
    /// there"); `None` when there is none, or it fails (no Secret Service running, a locked
    /// keychain without a session).
    pub fn find() -> Option<Keychain> {
        let kc = if cfg!(target_os = "macos") {
            Keychain::Security(on_path("security")?)
        } else {
            Keychain::SecretTool(on_path("secret-tool")?)
        };
        kc.lookup("infrasnap-probe").ok().map(|_| kc)
    }

    /// Where the key of repository `id` is, for people (`infrasnap key path`).
    pub fn describe(&self, id: &str) -> String {
        match self {
            Keychain::SecretTool(_) => {
                format!("Secret Service keyring (secret-tool: service={SERVICE} repository={id})")
            }
            Keychain::Security(_) => {
                format!("macOS keychain (security: service {SERVICE}, account {id})")
            }
        }
    }

    /// The stored secret of repository `id`: `Ok(None)` when the keychain has none.
    pub fn lookup(&self, id: &str) -> Result<Option<String>, String> {
        let out = match self {
            Keychain::SecretTool(t) => Command::new(t)
                .args(["lookup", "service", SERVICE, "repository", id])
                .stdin(Stdio::null())
                .output(),
            Keychain::Security(t) => Command::new(t)
                .args(["find-generic-password", "-s", SERVICE, "-a", id, "-w"])
                .stdin(Stdio::null())
                .output(),
        }
        .map_err(|e| format!("cannot run the keychain tool: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        match (out.status.success(), stdout.is_empty()) {
            (true, false) => Ok(Some(stdout)),
            // secret-tool: exit 1 and nothing said = not there; `security`: exit 44.
            (_, true) if stderr.is_empty() || out.status.code() == Some(44) => Ok(None),
            _ => Err(format!("the keychain tool failed: {stderr}")),
        }
    }

    /// Store `secret` for repository `id` (replacing what was there).
    pub fn store(&self, id: &str, secret: &str) -> Result<(), String> {
        let status = match self {
            Keychain::SecretTool(t) => {
                let mut child = Command::new(t)
                    .args([
                        "store",
                        &format!("--label=infrasnap fingerprint key {id}"),
                        "service",
                        SERVICE,
                        "repository",
                        id,
                    ])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("cannot run secret-tool: {e}"))?;
                child
                    .stdin
                    .take()
                    .expect("piped")
                    .write_all(secret.as_bytes())
                    .map_err(|e| format!("secret-tool: {e}"))?;
                child.wait_with_output()
            }
            Keychain::Security(t) => Command::new(t)
                .args([
                    "add-generic-password",
                    "-U",
                    "-s",
                    SERVICE,
                    "-a",
                    id,
                    "-l",
                    &format!("infrasnap fingerprint key {id}"),
                    "-w",
                    secret,
                ])
                .stdin(Stdio::null())
                .output(),
        }
        .map_err(|e| format!("cannot run the keychain tool: {e}"))?;
        if status.status.success() {
            Ok(())
        } else {
            Err(format!(
                "the keychain tool could not store the key: {}",
                String::from_utf8_lossy(&status.stderr).trim()
            ))
        }
    }

    /// Remove the secret of repository `id` (`key import --force` replacing it).
    pub fn clear(&self, id: &str) -> Result<(), String> {
        match self {
            Keychain::SecretTool(t) => Command::new(t)
                .args(["clear", "service", SERVICE, "repository", id])
                .output(),
            Keychain::Security(t) => Command::new(t)
                .args(["delete-generic-password", "-s", SERVICE, "-a", id])
                .output(),
        }
        .map(|_| ())
        .map_err(|e| format!("cannot run the keychain tool: {e}"))
    }
}

/// The keychain to use for keys under `config_home` (`None`: keys stay in files, as in the
/// core's own tests), or why `key_store = "keychain"` cannot be honoured.
pub fn chosen(config_home: Option<&Path>) -> Result<Option<Keychain>, String> {
    if config_home.is_none() {
        return Ok(None);
    }
    match key_store() {
        KeyStore::File => Ok(None),
        KeyStore::Auto => Ok(Keychain::find()),
        KeyStore::Keychain => Keychain::find().map(Some).ok_or_else(|| {
            "[secrets] key_store = \"keychain\", but no keychain answers here (macOS `security`, \
             or libsecret's `secret-tool` with a running Secret Service); use key_store = \
             \"auto\" or \"file\""
                .to_string()
        }),
    }
}
