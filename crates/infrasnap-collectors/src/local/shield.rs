//! Secrets in local files: which files are withheld, what is redacted, what is kept (encrypted).
//!
//! The detectors themselves live in `infrasnap_core::secrets`; this module applies them to the
//! files of one source and builds the two reports written beside them:
//! - `secrets_manifest.json`: files withheld (relative path, size, keyed fingerprint: a later
//!   snapshot's fingerprint differs exactly when the content changed; never the content).
//! - `redactions.json`: values replaced with markers (file, line, kind; never the value), the
//!   originals kept encrypted (with `--keep-secrets`), and files too large to scan.

use std::path::Path;
use std::str::FromStr;

use infrasnap_core::secrets::{self as sec, Fingerprinter};
use serde::Serialize;

/// Lock files and checksum lists: full of hashes that look like tokens and hold no secrets. They
/// are copied as they are, never scanned.
const NOT_SCANNED_NAMES: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "Cargo.lock",
    "go.sum",
    "Gemfile.lock",
    "poetry.lock",
    "composer.lock",
    "flake.lock",
    "packages.lock.json",
    "Pipfile.lock",
    "uv.lock",
    "bun.lock",
];

/// True for lock files (`*.lock` and the names above): never scanned for secrets.
pub fn is_lock_file(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.ends_with(".lock") || NOT_SCANNED_NAMES.contains(&name)
}

/// True when a file's name (or place, like `~/.aws/credentials`) says it holds secrets.
pub fn is_secret_name(abs: &Path, rel: &str) -> bool {
    sec::is_secret_file(Path::new(rel)) || sec::is_secret_file(abs)
}

/// The age recipient that kept originals are encrypted to.
pub struct Keeper {
    recipient: age::x25519::Recipient,
    text: String,
}

impl Keeper {
    /// `recipient`: an age X25519 public key, `age1...`.
    pub fn new(recipient: &str) -> Result<Self, String> {
        let text = recipient.trim().to_string();
        let r = age::x25519::Recipient::from_str(&text).map_err(|e| {
            format!("[secrets] recipient is not an age X25519 recipient (age1...): {e}")
        })?;
        Ok(Keeper { recipient: r, text })
    }

    pub fn recipient(&self) -> &str {
        &self.text
    }

    /// The age-format ciphertext of `bytes`.
    pub fn encrypt(&self, bytes: &[u8]) -> Result<Vec<u8>, String> {
        age::encrypt(&self.recipient, bytes).map_err(|e| format!("age encryption: {e}"))
    }
}

/// The kept values of cloud resources are encrypted the same way (`RunContext::keep_values`).
impl infrasnap_core::kept::Encrypter for Keeper {
    fn recipient(&self) -> &str {
        Keeper::recipient(self)
    }
    fn encrypt(&self, bytes: &[u8]) -> Result<Vec<u8>, String> {
        Keeper::encrypt(self, bytes)
    }
}

/// A withheld secret file.
#[derive(Debug, Serialize)]
pub struct Withheld {
    /// Relative to the source.
    pub path: String,
    pub size: u64,
    /// Keyed fingerprint of the content (changes exactly when the content does).
    pub fingerprint: String,
    pub reason: String,
}

/// One value replaced with a marker.
#[derive(Debug, Serialize)]
pub struct Redaction {
    /// Relative to the source (or the patch it is in).
    pub file: String,
    /// 1-based.
    pub line: usize,
    pub kind: String,
}

/// An original kept encrypted.
#[derive(Debug, Serialize)]
pub struct Kept {
    pub file: String,
    /// `secret` (a withheld file) or `original` (the unredacted version of a redacted file).
    pub what: String,
    /// Tree path of the `.age` file.
    pub kept: String,
}

pub struct Shield<'a> {
    fp: &'a Fingerprinter,
    pub keeper: Option<&'a super::Keeper>,
    pub withheld: Vec<Withheld>,
    pub redactions: Vec<Redaction>,
    pub kept: Vec<Kept>,
    /// Files copied without being scanned (too large).
    pub unscanned: Vec<String>,
}

#[derive(Serialize)]
pub struct SecretsManifest<'a> {
    pub note: String,
    pub withheld: &'a [Withheld],
    pub kept: Vec<&'a Kept>,
}

#[derive(Serialize)]
pub struct RedactionReport<'a> {
    pub note: String,
    pub redactions: &'a [Redaction],
    pub kept: Vec<&'a Kept>,
    pub not_scanned: &'a [String],
}

impl<'a> Shield<'a> {
    pub fn new(fp: &'a Fingerprinter, keeper: Option<&'a Keeper>) -> Self {
        Shield {
            fp,
            keeper,
            withheld: Vec::new(),
            redactions: Vec::new(),
            kept: Vec::new(),
            unscanned: Vec::new(),
        }
    }

    pub fn fingerprint(&self, bytes: &[u8]) -> String {
        self.fp.fingerprint(bytes)
    }

    pub fn withheld(&mut self, rel: &str, bytes: &[u8], reason: &str) {
        self.withheld.push(Withheld {
            path: rel.to_string(),
            size: bytes.len() as u64,
            fingerprint: self.fp.fingerprint(bytes),
            reason: reason.to_string(),
        });
    }

    /// The redacted copy of `bytes` when secret-looking values are found in it (each listed),
    /// `None` to copy it as it is (binary files and lock files are not scanned).
    pub fn scan(&mut self, rel: &str, bytes: &[u8]) -> Option<Vec<u8>> {
        if super::is_binary(bytes) || is_lock_file(rel) {
            return None;
        }
        let text = String::from_utf8_lossy(bytes);
        let (redacted, findings) = sec::redact_text(&text, self.fp);
        if findings.is_empty() {
            return None;
        }
        for f in &findings {
            self.redactions.push(Redaction {
                file: rel.to_string(),
                line: f.line,
                kind: f.kind.to_string(),
            });
        }
        Some(redacted.into_bytes())
    }

    /// Why a binary file must be withheld: it holds secret-shaped strings (read as `strings`
    /// reads a binary, [`sec::find_in_binary`]). `None` for text, lock files and clean binaries.
    /// A binary cannot be redacted in place, so the whole file is withheld (and kept encrypted
    /// with `--keep-secrets`).
    pub fn binary_secrets(&self, rel: &str, bytes: &[u8]) -> Option<String> {
        if !super::is_binary(bytes) || is_lock_file(rel) {
            return None;
        }
        let kinds = sec::find_in_binary(bytes);
        if kinds.is_empty() {
            return None;
        }
        let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        Some(format!(
            "a binary file holding secret-shaped strings ({})",
            names.join(", ")
        ))
    }

    /// Redact a text that is not a file of the source (a patch's added lines): the redacted
    /// text, with each finding listed under `label`, or `None` when nothing was found.
    pub fn scan_str(
        &mut self,
        label: &str,
        text: &str,
        line_of: &dyn Fn(usize) -> usize,
    ) -> Option<String> {
        let (redacted, findings) = sec::redact_text(text, self.fp);
        if findings.is_empty() {
            return None;
        }
        for f in &findings {
            self.redactions.push(Redaction {
                file: label.to_string(),
                line: line_of(f.line),
                kind: f.kind.to_string(),
            });
        }
        Some(redacted)
    }

    /// The secrets manifest and the redaction report of the source.
    pub fn reports(&self, note: &str) -> (SecretsManifest<'_>, RedactionReport<'_>) {
        let mut m_note = "Files whose names say they hold secrets are not copied. Each is listed \
                          with its size and a fingerprint keyed to this repository (it changes \
                          exactly when the content does; it does not reveal the content)."
            .to_string();
        if !note.is_empty() {
            m_note.push(' ');
            m_note.push_str(note);
        }
        let r_note = "Secret-looking values in the copied files were replaced with markers \
                      (`<redacted fp:...>`, the same keyed fingerprint for the same value); each is listed here by file, line and kind, never by \
                      value. Binary files and lock files are not scanned."
            .to_string();
        (
            SecretsManifest {
                note: m_note,
                withheld: &self.withheld,
                kept: self.kept.iter().filter(|k| k.what == "secret").collect(),
            },
            RedactionReport {
                note: r_note,
                redactions: &self.redactions,
                kept: self.kept.iter().filter(|k| k.what != "secret").collect(),
                not_scanned: &self.unscanned,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_files_are_not_scanned() {
        for n in [
            "Cargo.lock",
            "web/package-lock.json",
            "yarn.lock",
            "go.sum",
            "x/flake.lock",
        ] {
            assert!(is_lock_file(n), "{n}");
        }
        for n in ["lock.json", "config.yaml", "locksmith.txt"] {
            assert!(!is_lock_file(n), "{n}");
        }
    }

    #[test]
    fn keeper_rejects_a_bad_recipient_and_round_trips() {
        assert!(Keeper::new("age1nope").is_err());
        let id = age::x25519::Identity::generate();
        let k = Keeper::new(&id.to_public().to_string()).unwrap();
        let enc = k.encrypt(b"hunter2").unwrap();
        assert!(!enc.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(age::decrypt(&id, &enc).unwrap(), b"hunter2");
    }

    #[test]
    fn the_plain_size_of_a_kept_secret_is_read_from_its_ciphertext() {
        let id = age::x25519::Identity::generate();
        let k = Keeper::new(&id.to_public().to_string()).unwrap();
        for n in [0usize, 1, 100, 65535, 65536, 65537, 3 * 65536 + 7] {
            // Twice: the header's grease stanza differs from one file to the next.
            for _ in 0..2 {
                let enc = k.encrypt(&vec![b'x'; n]).unwrap();
                assert_eq!(
                    infrasnap_core::kept::age_plain_size(&enc),
                    Some(n as u64),
                    "{n}"
                );
            }
        }
    }
}
