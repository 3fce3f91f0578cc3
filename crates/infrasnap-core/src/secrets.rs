//! Secrets are never written in plain text.
//!
//! What lives here:
//! - [`Sensitive`]: a wrapper for values that must never be printed or serialised;
//! - [`Fingerprinter`]: keyed BLAKE3 fingerprints, so a later diff can tell that a secret changed
//!   without the snapshot holding it. Its key lives outside the repository, in
//!   `<config home>/infrasnap/keys/<repository id>.key` (0600);
//! - [`find_secrets`]: detection of secret *shapes* in text (token formats, PEM private keys,
//!   assignments to secret-named keys, URLs with passwords);
//! - [`redact_text`], [`redact_json`], [`redact_env_map`]: replace every secret by its marker
//!   `<redacted fp:XXXXXXXXXXXXXXXXXXXXXXXX>` (24 hex characters of the keyed hash);
//! - [`is_secret_file`]: file names whose content must never be copied in plain text.
//!
//! Detection prefers redacting a little too much over leaking: when in doubt a value is redacted.
//! The exceptions (placeholders, references to other settings, booleans, short numbers, lock-file
//! hashes...) are listed in [`find_secrets`].

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde::Serialize;

use crate::error::{CoreError, IoContext, Result};

/// What a redacted value prints as.
pub const REDACTED: &str = "<redacted>";

// ---------------------------------------------------------------------------------------------
// Sensitive<T>
// ---------------------------------------------------------------------------------------------

/// A value that must never be printed, logged or serialised. `Debug`, `Display` and `Serialize`
/// all give `<redacted>`; [`Sensitive::expose`] and [`Sensitive::into_inner`] are the only ways
/// to the value, easy to grep for.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    pub fn new(value: T) -> Self {
        Sensitive(value)
    }

    /// The value itself. Never pass it to a log line, an error message or a serialiser.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Sensitive(value)
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> Serialize for Sensitive<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

// ---------------------------------------------------------------------------------------------
// Fingerprinter
// ---------------------------------------------------------------------------------------------

const KEY_DIR: &str = "keys";
const KEY_FILE: &str = "fingerprint.key";
const FP_HEX_LEN: usize = 24;

/// Keyed fingerprints of secret values: equal values give equal fingerprints within one
/// repository, and without the repository's key nobody can test a guess against a fingerprint.
#[derive(Clone)]
pub struct Fingerprinter {
    key: [u8; 32],
}

impl fmt::Debug for Fingerprinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fingerprinter { key: <redacted> }")
    }
}

impl Fingerprinter {
    /// A fingerprinter with a given key (tests; callers with their own key store).
    pub fn from_key(key: [u8; 32]) -> Self {
        Fingerprinter { key }
    }

    /// The repository's fingerprinter. `meta_dir` is the repository's `.infrasnap` folder. The
    /// key lives outside the repository, under the user's config folder
    /// ([`config_home`]`/infrasnap/keys/<repository id>.key`, file 0600, folder 0700), so that a
    /// copy of the repository (a backup disk, a tarball) does not carry it. See [`Self::open`].
    pub fn for_repository(meta_dir: &Path) -> Result<Fingerprinter> {
        Ok(Self::open(meta_dir, config_home().as_deref())?.0)
    }

    /// The fingerprinter of the repository at `meta_dir`, with its key under `config_home`
    /// (`None`: in the repository, `<meta_dir>/keys/fingerprint.key`, where no config folder is
    /// known). A key still in the repository (written by an earlier build) is moved out on first
    /// use. A missing key is created with 32 random bytes; two runs creating it at the same time
    /// agree on one key (each links its own into place only if none exists yet).
    pub fn open(meta_dir: &Path, config_home: Option<&Path>) -> Result<(Fingerprinter, KeyOrigin)> {
        let place = KeyPlace::of(meta_dir, config_home)?;
        if let Some(kc) = keychain_for(&place, config_home)? {
            if let Some(found) = open_in_keychain(&kc, meta_dir, &place)? {
                return Ok(found);
            }
        }
        if let Some(key) = read_key(&place.file)? {
            return Ok((Fingerprinter { key }, KeyOrigin::Existing));
        }
        if place.file != place.legacy {
            if let Some(key) = read_key(&place.legacy)? {
                let fp = install_key(&place, key)?;
                if fp.key == key {
                    // The key now lives only outside the repository.
                    let _ = fs::remove_file(&place.legacy);
                    if let Some(d) = place.legacy.parent() {
                        let _ = fs::remove_dir(d);
                    }
                }
                return Ok((fp, KeyOrigin::Migrated));
            }
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| {
            CoreError::io(
                "generate fingerprint key",
                &place.file,
                std::io::Error::other(e.to_string()),
            )
        })?;
        let fp = install_key(&place, key)?;
        let origin = if fp.key == key {
            KeyOrigin::Created
        } else {
            KeyOrigin::Existing
        };
        Ok((fp, origin))
    }

    /// The key as 64 hex characters (`infrasnap key export`).
    pub fn export_hex(&self) -> String {
        hex::encode(self.key)
    }

    /// `fp:` and the first 24 hex characters of the keyed BLAKE3 hash of `value`.
    pub fn fingerprint(&self, value: &[u8]) -> String {
        format!("fp:{}", self.hex(value))
    }

    /// The marker that replaces a secret value everywhere: `<redacted fp:XXXXXXXXXXXXXXXXXXXXXXXX>`.
    pub fn marker(&self, value: &[u8]) -> String {
        format!("<redacted fp:{}>", self.hex(value))
    }

    fn hex(&self, value: &[u8]) -> String {
        let h = blake3::keyed_hash(&self.key, value).to_hex();
        h.as_str()[..FP_HEX_LEN].to_owned()
    }
}

/// True if `s` is exactly a marker made by [`Fingerprinter::marker`].
pub fn is_marker(s: &str) -> bool {
    static RE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^<redacted fp:[0-9a-f]{24}>$").expect("valid regex"));
    RE.is_match(s)
}

/// How [`Fingerprinter::open`] came by its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    Existing,
    /// Made now: fingerprints of earlier snapshots (if any) cannot be compared with new ones.
    Created,
    /// Moved out of the repository, where an earlier build kept it.
    Migrated,
}

/// The user's config folder: `$XDG_CONFIG_HOME` (when absolute), else `$HOME/.config`.
/// (The core's own unit tests use none: keys stay in their temporary repositories.)
pub fn config_home() -> Option<std::path::PathBuf> {
    if cfg!(test) {
        return None;
    }
    std::env::var_os("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| std::path::PathBuf::from(h).join(".config"))
        })
}

/// Where a repository's fingerprint key lives.
#[derive(Debug, Clone)]
pub struct KeyPlace {
    /// The key file.
    pub file: std::path::PathBuf,
    /// Where builds before this one kept it: `<repo>/.infrasnap/keys/fingerprint.key`.
    pub legacy: std::path::PathBuf,
}

impl KeyPlace {
    pub fn of(meta_dir: &Path, config_home: Option<&Path>) -> Result<KeyPlace> {
        let legacy = meta_dir.join(KEY_DIR).join(KEY_FILE);
        let file = match config_home {
            Some(h) => h
                .join("infrasnap")
                .join(KEY_DIR)
                .join(format!("{}.key", crate::repo::repository_id(meta_dir)?)),
            None => legacy.clone(),
        };
        Ok(KeyPlace { file, legacy })
    }
}

/// The keychain that holds keys for `config_home` ([`crate::keychain::chosen`]).
fn keychain_for(
    place: &KeyPlace,
    config_home: Option<&Path>,
) -> Result<Option<crate::keychain::Keychain>> {
    crate::keychain::chosen(config_home).map_err(|why| keychain_error(place, why))
}

fn keychain_error(place: &KeyPlace, why: String) -> CoreError {
    CoreError::io(
        "keep the fingerprint key",
        &place.file,
        std::io::Error::other(why),
    )
}

/// [`Fingerprinter::open`] with the OS keychain: the key there, if it has one. With
/// `key_store = "keychain"` it also moves a key file (outside the repository, or inside where an
/// earlier build kept it) into it, or makes a new key there; a key is trusted in the keychain
/// only once it reads back the same. With `auto`, `None` (the file is used): a key is never put
/// in the keychain unasked, because a headless run (cron, a systemd timer, launchd: what
/// `infrasnap schedule` installs) often has no keychain session, would not find it there, and
/// would make a second key.
fn open_in_keychain(
    kc: &crate::keychain::Keychain,
    meta_dir: &Path,
    place: &KeyPlace,
) -> Result<Option<(Fingerprinter, KeyOrigin)>> {
    let id = crate::repo::repository_id(meta_dir)?;
    let err = |why: String| keychain_error(place, why);
    if let Some(s) = kc.lookup(&id).map_err(err)? {
        let key = parse_key(Path::new("the key in the keychain"), &s)?;
        return Ok(Some((Fingerprinter { key }, KeyOrigin::Existing)));
    }
    if crate::keychain::key_store() != crate::keychain::KeyStore::Keychain {
        return Ok(None);
    }
    let mut origin = KeyOrigin::Created;
    let mut key = [0u8; 32];
    let mut from_file = None;
    for p in [&place.file, &place.legacy] {
        if let Some(k) = read_key(p)? {
            (key, origin, from_file) = (k, KeyOrigin::Migrated, Some(p.clone()));
            break;
        }
    }
    if from_file.is_none() {
        getrandom::fill(&mut key).map_err(|e| err(e.to_string()))?;
    }
    kc.store(&id, &hex::encode(key)).map_err(err)?;
    let back = kc.lookup(&id).map_err(err)?;
    if back.as_deref().map(str::trim) != Some(hex::encode(key).as_str()) {
        return Err(err(
            "the keychain did not give back the key just stored; set [secrets] key_store = \
             \"file\""
                .into(),
        ));
    }
    if let Some(p) = from_file {
        // The key now lives only in the keychain.
        let _ = fs::remove_file(&p);
    }
    Ok(Some((Fingerprinter { key }, origin)))
}

/// Write `key` at `place.file` unless a key is there already; the key that is there afterwards.
fn install_key(place: &KeyPlace, key: [u8; 32]) -> Result<Fingerprinter> {
    let dir = place.file.parent().expect("key file has a folder");
    create_private_dir(dir.parent().unwrap_or(dir), dir)?;
    crate::repo::check_private(dir)?;
    let (tmp, mut f) = crate::repo::create_temp_beside(&place.file, 0o600)?;
    let written = f
        .write_all(format!("{}\n", hex::encode(key)).as_bytes())
        .ctx("write", &tmp)
        .and_then(|()| f.sync_all().ctx("sync", &tmp));
    drop(f);
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // A hard link never replaces an existing file: the first run to link wins, the others
    // read the winner's key.
    let path = &place.file;
    let result = match fs::hard_link(&tmp, path) {
        Ok(()) => Ok(Fingerprinter { key }),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_existing(path),
        // A filesystem without hard links: rename, unless a key appeared meanwhile.
        Err(_) if path.exists() => read_existing(path),
        Err(_) => fs::rename(&tmp, path)
            .ctx("rename into place", path)
            .and_then(|()| read_existing(path)),
    };
    let _ = fs::remove_file(&tmp);
    result
}

/// The repository's key where it is (outside the repository, or still inside it where an
/// earlier build kept it), without creating one.
pub fn existing_key(
    meta_dir: &Path,
    config_home: Option<&Path>,
) -> Result<Option<(Fingerprinter, std::path::PathBuf)>> {
    let place = KeyPlace::of(meta_dir, config_home)?;
    if let Some(kc) = keychain_for(&place, config_home)? {
        let id = crate::repo::repository_id(meta_dir)?;
        if let Some(s) = kc.lookup(&id).map_err(|why| keychain_error(&place, why))? {
            let key = parse_key(Path::new("the key in the keychain"), &s)?;
            return Ok(Some((Fingerprinter { key }, kc.describe(&id).into())));
        }
    }
    for p in [&place.file, &place.legacy] {
        if let Some(key) = read_key(p)? {
            return Ok(Some((Fingerprinter { key }, p.clone())));
        }
    }
    Ok(None)
}

/// Put an exported key in place for the repository at `meta_dir` (`infrasnap key import`). A
/// different key already there is replaced only with `force`.
pub fn import_key(
    meta_dir: &Path,
    config_home: Option<&Path>,
    hex_key: &str,
    force: bool,
) -> Result<std::path::PathBuf> {
    let place = KeyPlace::of(meta_dir, config_home)?;
    let key = parse_key(Path::new("the imported key"), hex_key)?;
    if let Some(kc) = keychain_for(&place, config_home)? {
        let id = crate::repo::repository_id(meta_dir)?;
        let err = |why: String| keychain_error(&place, why);
        let there = kc.lookup(&id).map_err(err)?;
        let keychain_only = crate::keychain::key_store() == crate::keychain::KeyStore::Keychain;
        match there.as_deref() {
            // `auto` and no key in the keychain: the file, below.
            None if !keychain_only => {}
            Some(s) if s.trim() == hex::encode(key) => return Ok(kc.describe(&id).into()),
            Some(_) if !force => {
                return Err(CoreError::Unsafe {
                    path: kc.describe(&id).into(),
                    why: "a different fingerprint key is already there; pass --force to replace \
                          it (fingerprints made with the key there now will then no longer \
                          match)"
                        .into(),
                })
            }
            Some(_) => kc.clear(&id).map_err(err)?,
            None => {}
        }
        if there.is_some() || keychain_only {
            kc.store(&id, &hex::encode(key)).map_err(err)?;
            return Ok(kc.describe(&id).into());
        }
    }
    match read_key(&place.file) {
        Ok(Some(k)) if k == key => return Ok(place.file),
        Ok(Some(_)) | Err(_) if !force => {
            return Err(CoreError::Unsafe {
                path: place.file.clone(),
                why: "a different fingerprint key is already there; pass --force to replace it \
                      (fingerprints made with the key there now will then no longer match)"
                    .into(),
            })
        }
        Ok(Some(_)) | Err(_) => {
            fs::remove_file(&place.file).ctx("remove the old key", &place.file)?;
        }
        Ok(None) => {}
    }
    let fp = install_key(&place, key)?;
    if fp.key != key {
        return Err(CoreError::Unsafe {
            path: place.file.clone(),
            why: "another run created a key at the same moment; import again".into(),
        });
    }
    Ok(place.file)
}

fn read_key(path: &Path) -> Result<Option<[u8; 32]>> {
    match fs::read_to_string(path) {
        Ok(s) => parse_key(path, &s).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CoreError::io("read fingerprint key", path, e)),
    }
}

fn read_existing(path: &Path) -> Result<Fingerprinter> {
    let s = fs::read_to_string(path).ctx("read fingerprint key", path)?;
    parse_key(path, &s).map(Fingerprinter::from_key)
}

fn parse_key(path: &Path, s: &str) -> Result<[u8; 32]> {
    hex::decode(s.trim())
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
        .ok_or_else(|| CoreError::Parse {
            path: path.to_path_buf(),
            line: 1,
            message: "expected 64 hex characters (a 32-byte key); restore this file from a \
                      backup, or delete it to start a new key (fingerprints in earlier snapshots \
                      will then no longer match new ones)"
                .into(),
        })
}

fn create_private_dir(parent: &Path, dir: &Path) -> Result<()> {
    fs::create_dir_all(parent).ctx("create folder", parent)?;
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    match builder.create(dir) {
        Ok(()) => set_mode(dir, 0o700),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(CoreError::io("create folder", dir, e)),
    }
}

/// The umask may have narrowed the mode given at creation; set it exactly.
fn set_mode(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).ctx("set permissions", path)
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Findings
// ---------------------------------------------------------------------------------------------

/// What kind of secret a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    AwsAccessKeyId,
    AwsSecretAccessKey,
    PrivateKey,
    BearerToken,
    GithubToken,
    SlackToken,
    GoogleApiKey,
    /// Serialised `google_oauth_token` (not serde's `google_o_auth_token`).
    #[serde(rename = "google_oauth_token")]
    GoogleOAuthToken,
    JwtToken,
    StripeKey,
    /// A vendor API token of a known format (GitLab, OpenAI, Anthropic, SendGrid, npm, Twilio,
    /// Discord, Telegram, Vault, Google OAuth client secrets, Stripe webhook secrets).
    ApiToken,
    Password,
    SecretAssignment,
    ConnectionStringPassword,
}

impl SecretKind {
    /// The snake_case name (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::AwsAccessKeyId => "aws_access_key_id",
            SecretKind::AwsSecretAccessKey => "aws_secret_access_key",
            SecretKind::PrivateKey => "private_key",
            SecretKind::BearerToken => "bearer_token",
            SecretKind::GithubToken => "github_token",
            SecretKind::SlackToken => "slack_token",
            SecretKind::GoogleApiKey => "google_api_key",
            SecretKind::GoogleOAuthToken => "google_oauth_token",
            SecretKind::JwtToken => "jwt_token",
            SecretKind::StripeKey => "stripe_key",
            SecretKind::ApiToken => "api_token",
            SecretKind::Password => "password",
            SecretKind::SecretAssignment => "secret_assignment",
            SecretKind::ConnectionStringPassword => "connection_string_password",
        }
    }

    /// When findings overlap, the merged finding takes the most specific kind.
    fn priority(self) -> u8 {
        match self {
            SecretKind::PrivateKey => 10,
            SecretKind::AwsAccessKeyId
            | SecretKind::GithubToken
            | SecretKind::SlackToken
            | SecretKind::GoogleApiKey
            | SecretKind::GoogleOAuthToken
            | SecretKind::JwtToken
            | SecretKind::StripeKey
            | SecretKind::ApiToken => 8,
            SecretKind::AwsSecretAccessKey => 7,
            SecretKind::BearerToken => 6,
            SecretKind::ConnectionStringPassword => 5,
            SecretKind::Password => 4,
            SecretKind::SecretAssignment => 3,
        }
    }
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One secret value found in a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// 1-based line of `start`.
    pub line: usize,
    /// Byte offsets of the secret value (not its key, not its quotes) in the text.
    pub start: usize,
    pub end: usize,
    pub kind: SecretKind,
}

// ---------------------------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------------------------

/// How a shape's value is checked before it counts as a finding.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    /// A token format: skipped only when it is an obvious documentation value (`EXAMPLE`, `xxxx`).
    Token,
    /// A free-form value (a password after `--password`, in a URL...): the full placeholder,
    /// reference and boolean rules apply.
    Value,
    /// A token used as a URL's user name: long, with letters and digits.
    UrlUser,
}

struct Shape {
    kind: SecretKind,
    re: Regex,
    check: Check,
}

/// `\b` as an ASCII word boundary: Unicode boundaries slow the regex engine on non-ASCII text.
fn re(p: &str) -> Regex {
    Regex::new(&p.replace(r"\b", r"(?-u:\b)")).expect("valid regex")
}

static SHAPES: LazyLock<Vec<Shape>> = LazyLock::new(|| {
    use SecretKind::*;
    let s = |kind, p: &str, check| Shape {
        kind,
        re: re(p),
        check,
    };
    vec![
        // The whole block is the value; an unterminated block runs to the end of the text.
        s(
            PrivateKey,
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
            Check::Token,
        ),
        s(
            AwsAccessKeyId,
            r"\b(?:AKIA|ASIA|AIDA|AROA)[0-9A-Z]{16}\b",
            Check::Token,
        ),
        // An access key id followed by its secret (the IAM console's credentials CSV, logs).
        s(
            AwsSecretAccessKey,
            r#"\b(?:AKIA|ASIA)[0-9A-Z]{16}[\s,;:|"']+(?P<v>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|\z)"#,
            Check::Token,
        ),
        s(
            GithubToken,
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
            Check::Token,
        ),
        s(
            SlackToken,
            r"\b(?:xox[abposre]|xapp)-[A-Za-z0-9-]{10,}",
            Check::Token,
        ),
        // Vendor tokens, after the gitleaks rule set's prefixes (github.com/gitleaks/gitleaks,
        // config/gitleaks.toml): each has a fixed prefix, so a match is a token.
        s(ApiToken, r"\bglpat-[0-9A-Za-z_\-]{20,}", Check::Token),
        s(
            ApiToken,
            r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}",
            Check::Token,
        ),
        s(
            ApiToken,
            r"\bsk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}\b",
            Check::Token,
        ),
        s(
            ApiToken,
            r"\bsk-ant-(?:api|admin|sid)[0-9]{2}-[A-Za-z0-9_\-]{20,}",
            Check::Token,
        ),
        s(
            ApiToken,
            r"\bSG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64}",
            Check::Token,
        ),
        s(ApiToken, r"\bnpm_[A-Za-z0-9]{36}\b", Check::Token),
        s(ApiToken, r"\bwhsec_[A-Za-z0-9+/=]{24,}", Check::Token),
        s(ApiToken, r"\bGOCSPX-[A-Za-z0-9_\-]{20,}", Check::Token),
        // Twilio API key secrets are SK + 32 hex (account SIDs, AC..., are not secret).
        s(ApiToken, r"\bSK[0-9a-fA-F]{32}\b", Check::Token),
        s(
            ApiToken,
            r"\b[MNO][A-Za-z0-9_\-]{23,25}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38}\b",
            Check::Token,
        ),
        s(
            ApiToken,
            r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]+/(?P<v>[A-Za-z0-9_\-]{30,})",
            Check::Token,
        ),
        s(
            ApiToken,
            r"\b[0-9]{8,10}:AA[0-9A-Za-z_\-]{33}\b",
            Check::Token,
        ),
        s(ApiToken, r"\bhv[sbr]\.[A-Za-z0-9_\-]{24,}", Check::Token),
        // Azure storage and service bus connection strings.
        s(
            ConnectionStringPassword,
            r"(?i)\b(?:AccountKey|SharedAccessKey|SharedSecretValue)=(?P<v>[A-Za-z0-9+/=]{20,})",
            Check::Token,
        ),
        // PHP: define('DB_PASSWORD', 'value') and other secret-named constants.
        s(
            Password,
            r#"(?i)\bdefine\s*\(\s*['"][A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|_KEY|_SALT)[A-Z0-9_]*['"]\s*,\s*(?:'(?P<v>[^'\n]+)'|"(?P<v2>[^"\n]+)")"#,
            Check::Value,
        ),
        // mysql -p<password> (the password glued to -p).
        s(
            Password,
            r"\bmysql(?:dump|admin|import|show|check)?\b[^\n]*?[ \t]-p(?P<v>[^\s'\x22-][^\s'\x22]*)",
            Check::Value,
        ),
        s(
            SlackToken,
            r"https://hooks\.slack\.com/services/(?P<v>T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+)",
            Check::Token,
        ),
        s(GoogleApiKey, r"\bAIza[0-9A-Za-z_\-]{35}", Check::Token),
        s(
            GoogleOAuthToken,
            r"\bya29\.[0-9A-Za-z_\-]{20,}",
            Check::Token,
        ),
        s(GoogleOAuthToken, r"\b1//[0-9A-Za-z_\-]{20,}", Check::Token),
        s(
            JwtToken,
            r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+",
            Check::Token,
        ),
        s(
            StripeKey,
            r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}",
            Check::Token,
        ),
        s(
            BearerToken,
            r"(?i)\bbearer[ \t]+(?P<v>[A-Za-z0-9\-._~+/]{16,}=*)",
            Check::Token,
        ),
        // scheme://user:password@host — the password.
        s(
            ConnectionStringPassword,
            r#"(?i)\b[a-z][a-z0-9+.\-]*://[^\s:/?#@'"<>]*:(?P<v>[^\s@'"<>/?#]+)@[^\s@/'"<>]"#,
            Check::Value,
        ),
        // scheme://token@host (a token used as the user name: git remotes, webhooks).
        s(
            ConnectionStringPassword,
            r"(?i)\b(?:https?|git|ssh)://(?P<v>[A-Za-z0-9_\-]{20,})@[^\s@/]",
            Check::UrlUser,
        ),
        // Credentials in a URL's query: ?access_token=..., &private_token=...
        s(
            SecretAssignment,
            r#"(?i)[?&](?:access_token|api_key|apikey|client_secret|private_token|password|passwd|auth_token)=(?P<v>[^&\s#'"<>]+)"#,
            Check::Value,
        ),
        // Command lines: --password value, curl -u user:password.
        s(
            Password,
            r#"(?i)(?:^|\s)--?-?(?:password|passwd|pass)[ \t]+(?:'(?P<v>[^'\n]+)'|"(?P<v2>[^"\n]+)"|(?P<v3>[^\s'"-]\S*))"#,
            Check::Value,
        ),
        s(
            SecretAssignment,
            r#"(?i)(?:^|\s)--(?:token|secret|api-key|apikey|client-secret|auth-token|access-token)[ \t]+(?:'(?P<v>[^'\n]+)'|"(?P<v2>[^"\n]+)"|(?P<v3>[^\s'"-]\S*))"#,
            Check::Value,
        ),
        s(
            Password,
            r#"(?:^|\s)(?:-u|--user)[ \t]+['"]?[^\s:'"]+:(?P<v>[^\s'"]+)"#,
            Check::Value,
        ),
        // .netrc: `machine h login u password p`, and `password p` on its own line.
        s(
            Password,
            r"\b(?:machine|login)[ \t]+\S+[ \t]+(?:login[ \t]+\S+[ \t]+)?password[ \t]+(?P<v>\S+)",
            Check::Value,
        ),
        s(
            Password,
            r"(?m)^[ \t]*password[ \t]+(?P<v>\S+)[ \t]*\r?$",
            Check::Value,
        ),
        // SQL: IDENTIFIED BY 'x', PASSWORD 'x'.
        s(
            Password,
            r"(?i)\b(?:identified[ \t]+by|password)[ \t]+'(?P<v>[^'\n]+)'",
            Check::Value,
        ),
    ]
});

/// The value span of a shape match: the first named value group that matched, else the match.
fn shape_value(c: &Captures<'_>) -> (usize, usize) {
    ["v", "v2", "v3"]
        .iter()
        .find_map(|g| c.name(g))
        .or_else(|| c.get(0))
        .map(|m| (m.start(), m.end()))
        .unwrap_or((0, 0))
}

fn is_doc_token(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    l.contains("example") || l.contains("xxxxxxxx") || l.contains("********")
}

// ---------------------------------------------------------------------------------------------
// Secret names
// ---------------------------------------------------------------------------------------------

/// Last words of key names that describe a secret rather than hold one (`password_min_length`,
/// `token_type`, `secret_arn`, `authorization_url`...).
#[rustfmt::skip]
const NAME_SUFFIX_NOT_SECRET: &[&str] = &[
    "type", "types", "kind", "url", "urls", "uri", "uris", "endpoint", "endpoints",
    "host", "hostname", "server", "domain", "issuer", "audience", "realm", "scope", "scopes",
    "region", "file", "filename", "files", "path", "paths", "dir", "directory", "folder",
    "location", "name", "names", "arn", "arns", "policy", "policies", "mode", "modes", "method",
    "methods", "provider", "providers", "source", "process", "helper", "command", "cmd", "header",
    "prefix", "suffix", "format", "version", "enabled", "disabled", "enable", "required", "length",
    "len", "min", "max", "count", "limit", "size", "ttl", "timeout", "expiry", "expires",
    "expiration", "lifetime", "duration", "validity", "age", "rotation", "algorithm", "alg",
    "status", "state", "env", "var", "variable", "field", "param", "parameter", "label",
    "description", "desc", "hint", "regex", "pattern", "strength", "reset", "changed", "updated",
    "created", "modified", "date", "time", "timestamp", "at", "used", "flow", "flows", "ref",
    "selector", "expression", "encoding", "charset", "usage", "store", "backend", "schema",
    "template", "in", "units", "prompt", "days", "set", "exists", "present", "ok", "valid",
];

/// First words of key names that describe a secret rather than hold one (`max_tokens`,
/// `next_token`, `require_password`...).
#[rustfmt::skip]
const NAME_PREFIX_NOT_SECRET: &[&str] = &[
    "max", "min", "minimum", "maximum", "num", "number", "next", "page", "is", "has", "use",
    "uses", "enable", "enabled", "disable", "disabled", "require", "requires", "required", "allow",
    "allows", "show", "validate", "verify", "no", "skip", "generate", "manage", "hide", "prompt",
];

/// Words anywhere in a key name that make it not a secret (`ClientRequestToken`, `tokenizer`).
#[rustfmt::skip]
const NAME_WORD_NOT_SECRET: &[&str] = &[
    "request", "idempotency", "continuation", "pagination", "tokenizer", "tokenizers",
    "secretary",
];

/// Split a key name into lowercase words: at non-alphanumerics and camelCase humps
/// (`AWS_SECRET_ACCESS_KEY`, `secretAccessKey`, `APIKey`, `x-api-key`).
fn split_words(key: &str) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    let mut words = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                words.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Does this key name hold a secret? `Some(Password)` for password-like names,
/// `Some(SecretAssignment)` for other secret names, `None` otherwise.
pub fn secret_name_kind(key: &str) -> Option<SecretKind> {
    let words = split_words(key);
    let (first, last) = (words.first()?, words.last()?);
    let norm: String = words.concat();
    if norm == "pwd" || norm == "oldpwd" {
        return None; // the shell's working folder
    }
    // `private_key_id`, `kms_master_key_id`, `AWS::Auth::AccountId` name things; Vault's
    // `secret_id` is a credential.
    let id_of_something = last == "id" && words.len() >= 2 && words[words.len() - 2] != "secret";
    if id_of_something
        || NAME_SUFFIX_NOT_SECRET.contains(&last.as_str())
        || NAME_PREFIX_NOT_SECRET.contains(&first.as_str())
        || words
            .iter()
            .any(|w| NAME_WORD_NOT_SECRET.contains(&w.as_str()))
    {
        return None;
    }
    if ["password", "passwd", "passphrase", "pwd"]
        .iter()
        .any(|w| norm.contains(w))
        || matches!(last.as_str(), "pass" | "pw")
    {
        return Some(SecretKind::Password);
    }
    let strong = [
        "secret",
        "token",
        "credential",
        "apikey",
        "accesskey",
        "privatekey",
        "sessionkey",
        "signingkey",
        "encryptionkey",
        "masterkey",
    ]
    .iter()
    .any(|w| norm.contains(w));
    let auth = words.iter().any(|w| {
        matches!(
            w.as_str(),
            "auth" | "authorization" | "authkey" | "authtoken"
        )
    });
    (strong || auth).then_some(SecretKind::SecretAssignment)
}

/// Refine the kind of an assignment by its key and value.
fn assignment_kind(key: &str, base: SecretKind, value: &str) -> SecretKind {
    static AWS_SECRET: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[A-Za-z0-9/+]{40}$").expect("valid regex"));
    if base == SecretKind::SecretAssignment {
        let norm: String = split_words(key).concat();
        let aws_name = norm.contains("secretaccesskey")
            || (norm.contains("aws") && norm.contains("secret") && norm.contains("key"));
        if aws_name && AWS_SECRET.is_match(value) {
            return SecretKind::AwsSecretAccessKey;
        }
    }
    base
}

// ---------------------------------------------------------------------------------------------
// Values that are not secrets
// ---------------------------------------------------------------------------------------------

#[rustfmt::skip]
const NOT_SECRET_WORDS: &[&str] = &[
    // booleans and nothing
    "true", "false", "yes", "no", "on", "off", "null", "nil", "none", "undefined", "enabled",
    "disabled", "required", "optional", "inherit", "read", "write", "read-all", "write-all",
    // type names (`password: string;`, `token: str`)
    "string", "str", "number", "int", "integer", "float", "bool", "boolean", "any", "object",
    "bytes", "buffer", "char", "text", "varchar", "secretstr", "sensitive",
    // placeholders
    "changeme", "changeit", "example", "placeholder", "redacted", "secret", "secrets", "password",
    "passwd", "pass", "token", "apikey", "api_key", "key", "dummy", "fake", "todo", "tbd", "fixme",
    "...", "…",
];

static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:process\.env\b|import\.meta\.env\b|os\.environ\b|os\.getenv\b|System\.getenv\b|Environment\.GetEnvironmentVariable\b|ENV\s*\[|ENV\.fetch\b|getenv\s*\(|env\s*\(|secrets\.|vars\.|inputs\.|steps\.|needs\.|github\.|arn:aws|op://|vault:|ssm:|secretsmanager:|Fn::)",
    )
    .expect("valid regex")
});

/// An unquoted code expression: `req.body.password`, `getToken()`, `config["x"]`,
/// `Token![>]`, `input.parse()?`, `&args.token`, `Secret::new(x)`.
static CODE_EXPR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^(?:&|\*|await\s+|new\s+|try\s+)?[A-Za-z_$][\w$]*(?:(?:\.|::|\?\.)[A-Za-z_$][\w$]*|\[(?:"[^"\n]*"|'[^'\n]*'|\d+)\]|\([\w"'.:$, &*/-]*\)|\?)+\s*[;,]?$"#,
    )
    .expect("valid regex")
});

/// An unquoted type rather than a value (`password: &str`, `tokens: &mut TokenStream`,
/// `token: Option<String>`, `log_passwd: __u32`).
static TYPE_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:&(?:mut\s|'\w+\s|\[|str\b|dyn\s|self\b|[A-Z]\w*(?:<[A-Za-z&'][\w:<>, &']*>)?$)|::\w|\*const\s|\*mut\s|impl\s|dyn\s|[A-Za-z_][\w:]*<[A-Za-z&'][\w:<>, &']*>\??$|_*[uif](?:8|16|32|64|128|size)$)",
    )
    .expect("valid regex")
});

/// A type annotation before an `=` (`let token: &str = "x"`, `password: str = "x"`,
/// `const TOKEN: string = "x"`): the value is after the `=`.
static TYPE_ANNOTATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:&(?:'[A-Za-z_]\w*\s+)?(?:mut\s+)?|\*(?:const|mut)\s+)*(?:[A-Z][\w:]*|[A-Za-z_]\w*(?:::[A-Za-z_]\w*)+|\[[^=\n]*\]|str|string|int|number|bool|boolean|float|bytes|any|object|char|[uif](?:8|16|32|64|128|size))(?:<[^=\n]*>)?(?:!?\[[^=\n]*\])?\??(?:\s*\|\s*[A-Za-z_][\w<>\[\]]*)*\s+=\s",
    )
    .expect("valid regex")
});

/// The start of a call or constructor (`Some(input.parse()?)`): with nested brackets, too much
/// for [`CODE_EXPR`].
static CALL_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:&|\*|await\s+|new\s+|try\s+)?[A-Za-z_$][\w$]*(?:(?:\.|::|\?\.)[A-Za-z_$][\w$]*)*[(\[]",
    )
    .expect("valid regex")
});

/// A call continued on the next lines (`TokenStream::from_iter([`, `os.getenv(`).
static CALL_OPEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:&|\*|await\s+|new\s+|try\s+)?(?:[A-Za-z_$][\w$]*(?:\(\))?(?:\.|::|\?\.))*(?:[a-z_][a-z0-9_]*|[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)*)[(\[]+$",
    )
    .expect("valid regex")
});

/// Hex and typed number literals of code (`0xC0020032_u32 as _`, `9i32`), up to 32 bits.
static NUMBER_LITERAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^[-+]?(?:0x[0-9a-fA-F_]{1,10}|\d[\d_]*(?:\.\d+)?)(?:_?[uif](?:8|16|32|64|128|size))?(?:\s+as\s+\S+)?$",
    )
    .expect("valid regex")
});

/// Line:column pairs, times and dates (`30:52`, `2024-05-01T10:00:00Z`).
static POSITION_OR_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\d+(?::\d+)+|\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?)$")
        .expect("valid regex")
});

#[rustfmt::skip]
const CODE_OBJECTS: &[&str] = &[
    "self", "this", "process", "os", "config", "cfg", "conf", "settings", "env",
    "request", "req", "params", "options", "opts", "props", "args", "app", "window", "context",
    "ctx", "secrets", "vars", "var", "local", "module", "inputs", "credentials", "creds", "Values",
];

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)^(?:
            \$\{.*\} | \$\(.*\) | \$[A-Za-z_][A-Za-z0-9_]* | \$\d+    # shell / compose / terraform
          | \{\{.*\}\} | \$\{\{.*\}\}                              # templates, GitHub Actions
          | <.*> | \[\[.*\]\]                                       # <your-token>, markers
          | %[A-Za-z_][A-Za-z0-9_]*% | %\(.*\)[sd] | %[-+\ 0\#]*\d*[sdvqxi]  # %VAR%, printf
          | \{[\w.:]*\} | \#\{.*\} | @[A-Za-z_][A-Za-z0-9_]*@           # format strings
          | [xX*.\-_\#•]{3,}                                        # xxx, ***, ...
        )$",
    )
    .expect("valid regex")
});

static VERSION_LIKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[\^~>=<v ]*\d+(?:\.(?:\d+|x|\*))+(?:[-+][0-9A-Za-z.\-+]*)?$")
        .expect("valid regex")
});

static HASH_PREFIXED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:sha1|sha224|sha256|sha384|sha512|md5|blake2b|blake3)[:-]")
        .expect("valid regex")
});

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z][A-Za-z0-9+.\-]*://[A-Za-z0-9][A-Za-z0-9.\-]*(?::\d+)?(?:[/?#]\S*)?$")
        .expect("valid regex")
});

static FS_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:/|~/|\./|\.\./)[A-Za-z0-9_./~\-]*$").expect("valid regex"));

/// An unquoted value that is code (a type, a call, a reference to another variable) rather than
/// a literal. Kept narrow: a generated password may hold brackets and dots too.
fn looks_like_code(t: &str) -> bool {
    // Characters that code values rarely hold and generated passwords often do.
    if t.contains(['@', '#', '%', '^', '~', '`', '\\']) {
        return false;
    }
    if (TYPE_VALUE.is_match(t) && t.matches('<').count() == t.matches('>').count())
        || (NUMBER_LITERAL.is_match(t) && !t.bytes().all(|b| b.is_ascii_digit()))
    {
        return true;
    }
    // What comes before the first bracket must read like code, not like `Summer(2024)`,
    // `Pass[word]` or a random `QoB1n4_LA[neDO]`: a member chain, a path or a snake_case name,
    // every part of it a snake_case, camelCase or PascalCase word.
    static WORD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:\$?_*[a-z][a-z0-9]*(?:_[a-z0-9]+)*_*|_*[a-z][a-z0-9]*(?:[A-Z][a-z0-9]+)+|[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)*)$")
            .expect("valid regex")
    });
    let callee = &t[..t.find(['(', '[']).unwrap_or(t.len())];
    let parts: Vec<&str> = callee
        .trim_start_matches(['&', '*'])
        .split(['.', ':', '?'])
        .filter(|p| !p.is_empty())
        .collect();
    let code_callee =
        (parts.len() >= 2 || callee.contains('_')) && parts.iter().all(|p| WORD.is_match(p));
    if CALL_OPEN.is_match(t) && code_callee {
        return true;
    }
    if let Some(m) = CALL_START.find(t) {
        // A complete call (`Some(input.parse()?)`, `getpass()`): balanced, ending with its last
        // bracket, its arguments code too.
        let body = t.trim_end_matches([';', ',', '?', ' ']);
        if body.len() > m.end() && body.ends_with([')', ']']) && balanced(body) {
            let args = &body[m.end()..body.len() - 1];
            if args.trim().is_empty() || (code_callee && code_args(args)) {
                return true;
            }
        }
    }
    if CODE_EXPR.is_match(t) {
        let first = t
            .trim_start_matches(['&', '*'])
            .split(['.', '[', '(', ':', '!'])
            .next()
            .unwrap_or("");
        static GROUP: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"[(\[]([^)\]]*)[)\]]").expect("valid regex"));
        let calls = t.contains(['(', '['])
            && code_callee
            && balanced(t)
            && GROUP.captures_iter(t).all(|c| code_args(&c[1]));
        if calls || CODE_OBJECTS.contains(&first) {
            return true;
        }
    }
    false
}

/// Call arguments that are code: identifiers, paths, member chains, calls, literals.
fn code_args(args: &str) -> bool {
    static ARG: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"^(?:[&*]?(?:mut\s+)?[A-Za-z_$][\w$]*(?:(?:\.|::|\?\.)[A-Za-z_$][\w$]*)*|"[^"]*"|'[^']*'|[-+]?(?:0x[0-9a-fA-F_]+|\d[\d_.]*)\w*)(?:(?:\.|::)[A-Za-z_$][\w$]*|!?\(.*\)|!?\[.*\]|\?)*$"#,
        )
        .expect("valid regex")
    });
    // Split at top-level commas.
    let (mut depth, mut from, mut parts) = (0i32, 0, Vec::new());
    for (i, c) in args.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&args[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&args[from..]);
    parts.iter().all(|a| {
        let a = a.trim();
        a.is_empty() || ARG.is_match(a)
    })
}

/// Every bracket closed, in order.
fn balanced(s: &str) -> bool {
    let mut stack = Vec::new();
    for c in s.chars() {
        match c {
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(open) {
                    return false;
                }
            }
            _ => {}
        }
    }
    stack.is_empty()
}

/// Is this value (of a secret-named key) obviously not a secret? `quoted`: the value was quoted
/// in its source (so `{...}` is a string, not a nested object).
fn is_not_secret_value(v: &str, kind: SecretKind, quoted: bool) -> bool {
    let t = v.trim();
    if t.is_empty() || is_marker(t) || t == REDACTED {
        return true;
    }
    let l = t.to_ascii_lowercase();
    if NOT_SECRET_WORDS.contains(&l.as_str()) {
        return true;
    }
    let numeric = t
        .trim_start_matches(['-', '+'])
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.');
    if numeric && t.len() < 6 {
        return true;
    }
    if PLACEHOLDER.is_match(t)
        || l.contains("example")
        || l.contains("changeme")
        || l.contains("change_me")
        || l.contains("change-me")
        || l.contains("replace_me")
        || l.contains("replace-me")
        || l.contains("placeholder")
        || l.starts_with("your")
    {
        return true;
    }
    if REFERENCE.is_match(t) || HASH_PREFIXED.is_match(t) || VERSION_LIKE.is_match(t) {
        return true;
    }
    if !quoted && (t.starts_with('{') || t.starts_with('[') || t.starts_with('(')) {
        return true; // a nested structure, scanned on its own
    }
    if !quoted && looks_like_code(t) {
        return true;
    }
    if POSITION_OR_DATE.is_match(t) {
        return true;
    }
    // A URL without credentials (`auth_server: https://login.example.net/`). Credentials in a
    // URL are found by the URL shapes, and query strings are scanned on their own.
    if URL.is_match(t) && !t.contains('@') {
        return true;
    }
    // A file path (`GOOGLE_APPLICATION_CREDENTIALS=/etc/app/sa.json`). Standard base64 has no
    // `.`, `-`, `_`; URL-safe base64 has no `/`: neither looks like this.
    if kind != SecretKind::Password && FS_PATH.is_match(t) && t[1..].contains(['.', '-', '_']) {
        return true;
    }
    // Tokens and keys are long; passwords may be short, but not one or two characters (`password:
    // P` is a generic type).
    let min = if kind == SecretKind::Password { 3 } else { 8 };
    if t.chars().count() < min {
        return true;
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Assignments
// ---------------------------------------------------------------------------------------------

/// `key <op>` where op is `=`, `:`, `:=` or `=>`. Quoted keys (JSON, PHP/Ruby hashes) or bare
/// keys (with `.`, `/`, `-`, `@`, `$` for `spring.datasource.password`, npmrc's
/// `//registry/:_authToken`, `--password`, `$env:TOKEN`).
static KV: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?P<key>"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|(?:\$env:)?[A-Za-z_@./$\-][A-Za-z0-9_@./$\-]*(?:/:[A-Za-z0-9_@.$\-]+)?)[ \t]*(?P<op>:=|=>|==+|!=|=|:)"#,
    )
    .expect("valid regex")
});

/// A name field followed by a value field.
static NAME_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"\b(?:name|Name|key|Key|ParameterKey|ParameterName|OptionName)["']?[ \t]*[:=][ \t]*["']?(?P<name>[A-Za-z0-9_.\-/]+)["']?[ \t]*[,;]?\s*(?:-[ \t]+)?(?P<vkey>["']?(?:value|Value|ParameterValue)["']?)[ \t]*(?P<op>=|:)"#,
    )
});

/// `<key>Password</key> <string>value</string>` (property lists).
static PLIST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<key>\s*(?P<key>[^<]+?)\s*</key>\s*<string>(?P<val>[^<]*)</string>")
        .expect("valid regex")
});

/// `<password>value</password>` (Maven settings, XML configs).
static XML_ELEMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"<(?P<tag>[A-Za-z_][\w.:\-]*)(?:\s[^>]*)?>(?P<val>[^<]+)</(?P<tag2>[A-Za-z_][\w.:\-]*)>",
    )
    .expect("valid regex")
});

/// Where the text's lines start.
struct Lines {
    starts: Vec<usize>,
    len: usize,
}

impl Lines {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines {
            starts,
            len: text.len(),
        }
    }

    /// 0-based line index of byte `pos`.
    fn index(&self, pos: usize) -> usize {
        self.starts.partition_point(|&s| s <= pos) - 1
    }

    fn start_of(&self, pos: usize) -> usize {
        self.starts[self.index(pos)]
    }

    /// End of the line of `pos`, before its `\n` (and `\r`).
    fn end_of(&self, text: &str, pos: usize) -> usize {
        let i = self.index(pos);
        let end = self.starts.get(i + 1).map_or(self.len, |s| s - 1);
        if end > self.starts[i] && text.as_bytes()[end - 1] == b'\r' {
            end - 1
        } else {
            end
        }
    }
}

/// The index of the first of `chars` at or after `from`, before `end`.
fn find_any(text: &str, from: usize, end: usize, chars: &[u8]) -> Option<usize> {
    text.as_bytes()[from..end]
        .iter()
        .position(|b| chars.contains(b))
        .map(|i| from + i)
}

/// The closing `quote` of a string opened just before `from` (skipping backslash escapes for `"`,
/// doubled quotes for `'`).
fn closing_quote(text: &str, from: usize, end: usize, quote: u8) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = from;
    while i < end {
        if quote == b'"' && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == quote {
            if quote == b'\'' && i + 1 < end && b[i + 1] == b'\'' {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

/// How far back on a line the context of a key is looked at (bounds the work on minified files).
const PREFIX_WINDOW: usize = 4096;

/// The span of the value assigned at `op_end`, and whether it was quoted.
fn assignment_value(
    text: &str,
    lines: &Lines,
    key_start: usize,
    op: &str,
    op_end: usize,
) -> Option<(usize, usize, bool)> {
    let b = text.as_bytes();
    let ls = lines.start_of(key_start);
    let le = lines.end_of(text, key_start);
    let mut p = op_end;
    let skip_blanks = |mut p: usize| {
        while p < le && (b[p] == b' ' || b[p] == b'\t') {
            p += 1;
        }
        p
    };
    p = skip_blanks(p);
    // A YAML mapping line: the key first on its line, or first in a list item. Only there do
    // YAML's anchors, tags and multi-line values apply (not to `if x == token:` in Python).
    let yaml_line = op == ":" && matches!(text[ls..key_start].trim(), "" | "-");
    // A YAML anchor before the value (`password: &pw hunter2`).
    if op == ":" && yaml_line && p + 1 < le && b[p] == b'&' && b[p + 1].is_ascii_alphabetic() {
        while p < le && !b[p].is_ascii_whitespace() {
            p += 1;
        }
        p = skip_blanks(p);
    }
    if p >= le {
        // Nothing on this line: a nested mapping, a list, or a YAML scalar on the next lines.
        return if yaml_line {
            yaml_plain(text, lines, ls, le)
        } else {
            None
        };
    }
    // String literal prefixes of code: b"..", r"..", f"..", u8"..", L"..", @"..".
    if !yaml_line {
        for prefix in [
            "br\"", "b\"", "r\"", "f\"", "u8\"", "u\"", "L\"", "@\"", "b'", "f'",
        ] {
            if text[p..le].starts_with(prefix) {
                p += prefix.len() - 1;
                break;
            }
        }
    }
    match b[p] {
        q @ (b'"' | b'\'' | b'`') => {
            if let Some(close) = closing_quote(text, p + 1, le, q) {
                return Some((p + 1, close, true));
            }
            // Unterminated on this line: the rest of the line.
            return Some((p + 1, trim_end(text, p + 1, le), true));
        }
        b'#' if p > op_end => return None, // a comment
        b'|' | b'>' if op == ":" => {
            static BLOCK: LazyLock<Regex> =
                LazyLock::new(|| Regex::new(r"^[|>][-+0-9]*[ \t]*(?:#.*)?$").expect("valid regex"));
            if yaml_line && BLOCK.is_match(&text[p..le]) {
                return yaml_block(text, lines, ls, le);
            }
        }
        _ => {}
    }

    if op == ":" {
        // A YAML tag or alias (`!Ref DbPassword`, `!vault |`, `*defaults`).
        if yaml_line
            && matches!(b[p], b'!' | b'*')
            && b.get(p + 1).is_some_and(u8::is_ascii_alphabetic)
        {
            return None;
        }
        if let Some(m) = TYPE_ANNOTATION.find(&text[p..le]) {
            return assignment_value(text, lines, key_start, "=", p + m.end() - 1);
        }
    }

    // Unquoted: the rest of the line, cut by its context.
    let mut end = le;
    let prefix_from = key_start.saturating_sub(PREFIX_WINDOW).max(ls);
    let prefix = &text.as_bytes()[prefix_from..key_start];
    // Inside a quoted string (`"DB_PASSWORD=x"`, `-H 'Authorization: Bearer x'`).
    let mut quotes = 0;
    let mut squotes = 0;
    let mut depth: i32 = 0;
    let mut i = 0;
    while i < prefix.len() {
        match prefix[i] {
            b'\\' => i += 1,
            b'"' => quotes += 1,
            b'\'' if quotes % 2 == 0 => squotes += 1,
            b'{' | b'[' | b'(' if quotes % 2 == 0 => depth += 1,
            b'}' | b']' | b')' if quotes % 2 == 0 => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    if quotes % 2 == 1 {
        if let Some(q) = closing_quote(text, p, end, b'"') {
            end = q;
        }
    } else if squotes % 2 == 1 {
        if let Some(q) = find_any(text, p, end, b"'") {
            end = q;
        }
    }
    // Inside `{ user: u, password: p }` or `f(password: str)`.
    if depth > 0 {
        if let Some(c) = find_any(text, p, end, b",}])") {
            end = c;
        }
    }
    let before = key_start.checked_sub(1).map(|i| b[i]);
    match before {
        // A query string: ?token=abc&x=1
        Some(b'?') | Some(b'&') => {
            if let Some(c) = find_any(text, p, end, b"&# \t\"'") {
                end = c;
            }
        }
        // A connection string: Server=x;Password=y;Database=z
        Some(b';') => {
            if let Some(c) = find_any(text, p, end, b";") {
                end = c;
            }
        }
        _ => {}
    }
    // A key in the middle of a command or log line (`docker run -e DB_PASSWORD=x -e Y=1`,
    // `user=bob password=x level=info`, Dockerfile `ENV A=1 B=2`): the value ends at a space.
    // At the start of a line (.env, INI, properties) it may hold spaces.
    if op != ":" && quotes % 2 == 0 && squotes % 2 == 0 {
        let lead = text[ls..key_start].trim();
        let statement = lead.is_empty()
            || matches!(
                lead,
                "export"
                    | "set"
                    | "local"
                    | "readonly"
                    | "declare"
                    | "declare -x"
                    | "typeset"
                    | "-"
            );
        if !statement {
            // The first space outside brackets (`f(a, b)` is one value).
            let mut depth = 0i32;
            for (i, &c) in text.as_bytes()[p..end].iter().enumerate() {
                match c {
                    b'(' | b'[' | b'{' => depth += 1,
                    b')' | b']' | b'}' => depth -= 1,
                    b' ' | b'\t' if depth <= 0 => {
                        end = p + i;
                        break;
                    }
                    _ => {}
                }
            }
        }
    }
    // A trailing comment: ` # ...`, ` // ...`.
    static COMMENT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[ \t]+(?:#|//)").expect("valid regex"));
    if let Some(m) = COMMENT.find(&text[p..end]) {
        end = p + m.start();
    }
    let mut end = trim_end(text, p, end);
    loop {
        let v = &text[p..end];
        let strip = match v.as_bytes().last() {
            Some(b',' | b';') => true,
            // A closing bracket of the surrounding code: `connect(password=pw)`.
            Some(b')') => !v.contains('('),
            Some(b'}') => !v.contains('{'),
            Some(b']') => !v.contains('['),
            _ => false,
        };
        if !strip {
            break;
        }
        end = trim_end(text, p, end - 1);
    }
    (end > p).then_some((p, end, false))
}

fn trim_end(text: &str, start: usize, end: usize) -> usize {
    start + text[start..end].trim_end().len()
}

/// A YAML block scalar (`key: |`): the following lines indented more than the key's line.
fn yaml_block(text: &str, lines: &Lines, ls: usize, le: usize) -> Option<(usize, usize, bool)> {
    let indent = |s: &str| s.len() - s.trim_start_matches([' ', '\t']).len();
    let key_indent = indent(&text[ls..le]);
    let (mut start, mut end) = (None, None);
    for &s in &lines.starts[lines.index(ls) + 1..] {
        let e = lines.end_of(text, s);
        let line = &text[s..e];
        if line.trim().is_empty() {
            continue;
        }
        if indent(line) <= key_indent {
            break;
        }
        start.get_or_insert(s + indent(line));
        end = Some(e);
    }
    Some((start?, end?, true))
}

/// A YAML plain scalar on the lines after `key:` (indented more, and not a mapping or a list).
fn yaml_plain(text: &str, lines: &Lines, ls: usize, le: usize) -> Option<(usize, usize, bool)> {
    static STRUCTURE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"^[ \t]*(?:-(?:[ \t]|$)|#|[{\[]|[^ \t#][^#]*?:(?:[ \t]|$))"#)
            .expect("valid regex")
    });
    let indent = |s: &str| s.len() - s.trim_start_matches([' ', '\t']).len();
    let key_indent = indent(&text[ls..le]);
    let (mut start, mut end) = (None, None);
    for &s in &lines.starts[lines.index(ls) + 1..] {
        let e = lines.end_of(text, s);
        let line = &text[s..e];
        if line.trim().is_empty() {
            continue;
        }
        if indent(line) <= key_indent || STRUCTURE.is_match(line) {
            break;
        }
        start.get_or_insert(s + indent(line));
        end = Some(e);
    }
    Some((start?, end?, false))
}

fn push_assignment(
    out: &mut Vec<Finding>,
    text: &str,
    key: &str,
    (start, end, quoted): (usize, usize, bool),
) {
    let Some(base) = secret_name_kind(key) else {
        return;
    };
    let raw = &text[start..end];
    // `Authorization: Bearer <token>` / `Basic <b64>`: the credential is after the scheme.
    static SCHEME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^(?:bearer|basic|token|digest|negotiate|apikey)[ \t]+")
            .expect("valid regex")
    });
    let (start, raw) = match SCHEME.find(raw) {
        Some(m) if m.end() < raw.len() => (start + m.end(), &raw[m.end()..]),
        _ => (start, raw),
    };
    if is_not_secret_value(raw, base, quoted) {
        return;
    }
    // A value that only repeats its own name (`SN_auth_any: &[u8; 9] = b"auth-any\0"`,
    // `TOKEN=token`).
    let squash = |s: &str| -> String {
        s.replace("\\0", "")
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let value_norm = squash(raw);
    if value_norm.len() >= 3 && squash(key).contains(&value_norm) {
        return;
    }
    // `password: self.password`, `colon_token: node.colon_token`, `self.token = token`: code
    // passing a value on.
    if !quoted && !raw.trim().contains(char::is_whitespace) {
        let last_word = |s: &str| {
            s.rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .find(|w| !w.is_empty())
                .map(str::to_ascii_lowercase)
        };
        if last_word(raw).is_some() && last_word(raw) == last_word(key) {
            return;
        }
    }
    // Keep the value's own surrounding spaces out of the span.
    let lead = raw.len() - raw.trim_start().len();
    let start = start + lead;
    let end = start + raw.trim().len();
    out.push(Finding {
        line: 0,
        start,
        end,
        kind: assignment_kind(key, base, &text[start..end]),
    });
}

fn find_assignments(text: &str, lines: &Lines, out: &mut Vec<Finding>) {
    let mut pos = 0;
    while pos < text.len() {
        let Some(c) = KV.captures_at(text, pos) else {
            break;
        };
        let key = c.name("key").expect("group");
        let op = c.name("op").expect("group");
        // Rescan from the value on: a value may hold further assignments (`url: ...?token=x`).
        pos = op.end();
        if matches!(op.as_str(), "!=") || op.as_str().starts_with("==") {
            continue;
        }
        // Keys start at a word boundary, and not inside `a:b:c` (ARNs, URNs); a Ruby symbol
        // `:password =>` is a key.
        if key.start() > 0 {
            let b = text.as_bytes();
            let prev = b[key.start() - 1];
            let in_colon_list = prev == b':'
                && key.start() >= 2
                && (b[key.start() - 2].is_ascii_alphanumeric()
                    || matches!(b[key.start() - 2], b'_' | b'-' | b':'));
            // `'token: 'a` is a Rust lifetime, not a key.
            if prev.is_ascii_alphanumeric() || prev == b'_' || in_colon_list || prev == b'\'' {
                continue;
            }
        }
        if op.as_str() == ":" {
            let next = text.as_bytes().get(op.end()).copied();
            // `Token::Ident` is a path; `$name:ident` / `key:value` is not YAML unless quoted.
            let bare_key = !key.as_str().starts_with(['"', '\'']);
            if next == Some(b':')
                || (bare_key
                    && !matches!(
                        next,
                        None | Some(b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'')
                    ))
            {
                continue;
            }
        }
        let key_name = key.as_str().trim_matches(['"', '\'']);
        if secret_name_kind(key_name).is_none() {
            continue;
        }
        if let Some(span) = assignment_value(text, lines, key.start(), op.as_str(), op.end()) {
            push_assignment(out, text, key_name, span);
        }
    }

    // `- name: DB_PASSWORD\n  value: x` (Kubernetes, ECS), `{"ParameterKey": "DbPassword",
    // "ParameterValue": "x"}` (CloudFormation), `<add key="ApiKey" value="x" />` (.NET).
    for c in NAME_VALUE.captures_iter(text) {
        let name = c.name("name").expect("group").as_str();
        if secret_name_kind(name).is_none() {
            continue;
        }
        let (vkey, op) = (c.name("vkey").expect("group"), c.name("op").expect("group"));
        if let Some(span) = assignment_value(text, lines, vkey.start(), op.as_str(), op.end()) {
            push_assignment(out, text, name, span);
        }
    }
    for c in PLIST.captures_iter(text) {
        let (k, v) = (c.name("key").expect("group"), c.name("val").expect("group"));
        push_assignment(out, text, k.as_str(), (v.start(), v.end(), true));
    }
    for c in XML_ELEMENT.captures_iter(text) {
        let (tag, tag2) = (
            c.name("tag").expect("group"),
            c.name("tag2").expect("group"),
        );
        if tag.as_str() != tag2.as_str() {
            continue;
        }
        let v = c.name("val").expect("group");
        push_assignment(out, text, tag.as_str(), (v.start(), v.end(), true));
    }
}

// ---------------------------------------------------------------------------------------------
// find_secrets
// ---------------------------------------------------------------------------------------------

/// Find secret values in `text`, sorted by position; overlapping findings are merged into one
/// (with the most specific kind).
///
/// Found: AWS access key ids (`AKIA`/`ASIA`/`AIDA`/`AROA` + 16), AWS secret keys (40 base64
/// characters assigned to `aws_secret_access_key`-like names, or following an access key id),
/// PEM private key blocks (whole block), `Bearer` tokens (≥ 16 characters), GitHub
/// (`gh[pousr]_`, `github_pat_`), Slack (`xox?-`, webhook URLs), Google API keys (`AIza`), Google
/// OAuth access (`ya29.`) and refresh (`1//`) tokens, JWTs, Stripe `sk_`/`rk_` keys, passwords in
/// URLs (`scheme://user:password@host`) and tokens as URL user names, `--password x`,
/// `curl -u user:password`, `.netrc` passwords, SQL `IDENTIFIED BY '...'`, and values assigned
/// to secret-named keys (password, passwd, pwd, passphrase, `*_PASS`, `*_PW`, secret, token,
/// api key, access key, private key, client secret, auth, authorization, credential, session
/// key...) in `.env`/shell, INI/TOML/properties, YAML (including `|`/`>` blocks and multi-line
/// plain values), JSON, XML elements, property lists, query strings and connection strings, and
/// in name/value pairs (`- name: DB_PASSWORD` + `value: ...`, CloudFormation `ParameterKey` +
/// `ParameterValue`, `<add key="ApiKey" value="..."/>`).
///
/// Not secrets: empty values, placeholders (`${VAR}`, `$VAR`, `{{ var }}`, `<your-token>`,
/// `changeme`, `example`, `xxx`, `***`), booleans, numbers shorter than 6 characters, type
/// names (`password: string`), references (`process.env.X`, `os.environ[...]`, `!Ref`,
/// `secrets.X`, `var.x`, `arn:aws:...`), values of descriptive names (`token_type`,
/// `password_min_length`, `authorization_url`, `secret_arn`, `private_key_id`, `max_tokens`,
/// `NextToken`), names that only look secret (`author`, `authority`, `tokenizer`), values shorter
/// than 8 characters of non-password names and than 3 of password names, URLs without
/// credentials, file paths, dates, versions, hashes (`sha512-...` integrity, `sha256:` digests,
/// Cargo.lock checksums, commit ids), values that repeat their own name, and unquoted code
/// (`req.body.password`, `os.getenv("X")`, `self.token = token`, `password: &str`,
/// `let t: Token![;] = ...` is read after its `=`). Code rules are narrow on purpose: a value
/// counts as code only if its names read like code (`Summer(2024)` is a password).
pub fn find_secrets(text: &str) -> Vec<Finding> {
    let lines = Lines::new(text);
    let mut out = Vec::new();
    for shape in SHAPES.iter() {
        for c in shape.re.captures_iter(text) {
            let (start, end) = shape_value(&c);
            if start >= end {
                continue;
            }
            let v = &text[start..end];
            let skip = match shape.check {
                Check::Token => is_doc_token(v),
                Check::Value => is_not_secret_value(v, SecretKind::Password, true),
                Check::UrlUser => {
                    is_doc_token(v)
                        || !v.contains(|c: char| c.is_ascii_digit())
                        || !v.contains(|c: char| c.is_ascii_alphabetic())
                }
            };
            if !skip {
                out.push(Finding {
                    line: 0,
                    start,
                    end,
                    kind: shape.kind,
                });
            }
        }
    }
    find_assignments(text, &lines, &mut out);
    let mut merged = merge(out);
    for f in &mut merged {
        f.line = lines.index(f.start) + 1;
    }
    merged
}

fn merge(mut v: Vec<Finding>) -> Vec<Finding> {
    v.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    let mut out: Vec<Finding> = Vec::with_capacity(v.len());
    for f in v {
        if let Some(last) = out.last_mut() {
            if f.start < last.end {
                last.end = last.end.max(f.end);
                if f.kind.priority() > last.kind.priority() {
                    last.kind = f.kind;
                }
                continue;
            }
        }
        out.push(f);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Redaction
// ---------------------------------------------------------------------------------------------

/// Query parameters whose values are credentials.
const SECRET_QUERY_PARAMS: &[&str] = &[
    "access_token",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "key",
    "client_secret",
    "password",
    "passwd",
    "private_token",
    "secret",
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-security-token",
    "auth",
];

/// A URL without credentials, to show or store: the user information
/// (`https://user:token@host/x` -> `https://host/x`) is dropped and the values of credential
/// query parameters (`?access_token=...`, `&sig=...`) become `<redacted>`. Anything that is
/// not a `scheme://` URL is returned as it is.
pub fn strip_url_credentials(url: &str) -> String {
    let Some(i) = url.find("://") else {
        return url.to_string();
    };
    let (scheme, rest) = url.split_at(i + 3);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let rest = match rest[..end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    let Some(q) = rest.find('?') else {
        return format!("{scheme}{rest}");
    };
    let (path, query) = rest.split_at(q + 1);
    let (query, fragment) = match query.find('#') {
        Some(h) => query.split_at(h),
        None => (query, ""),
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v))
                if !v.is_empty()
                    && SECRET_QUERY_PARAMS
                        .iter()
                        .any(|p| p.eq_ignore_ascii_case(k)) =>
            {
                format!("{k}={REDACTED}")
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("{scheme}{path}{}{fragment}", query.join("&"))
}

/// Shortest run of printable characters read from a binary file (as `strings` does by default).
const BINARY_RUN_MIN: usize = 4;

/// The kinds of secret-shaped strings in a binary file, found as `strings` would read it: each
/// run of at least [`BINARY_RUN_MIN`] printable ASCII characters (tab included) becomes a line of
/// a text the text detector ([`find_secrets`]) scans. Empty when none. A binary cannot be
/// redacted in place, so a caller withholds the whole file.
pub fn find_in_binary(bytes: &[u8]) -> Vec<SecretKind> {
    let mut text = String::new();
    let mut run_start: Option<usize> = None;
    let printable = |b: u8| b == b'\t' || (0x20..0x7f).contains(&b);
    for (i, &b) in bytes.iter().chain(std::iter::once(&0u8)).enumerate() {
        match (printable(b), run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(st)) => {
                if i - st >= BINARY_RUN_MIN {
                    text.push_str(std::str::from_utf8(&bytes[st..i]).expect("ASCII"));
                    text.push('\n');
                }
                run_start = None;
            }
            _ => {}
        }
    }
    let mut kinds: Vec<SecretKind> = Vec::new();
    for f in merge(find_secrets(&text)) {
        if !kinds.contains(&f.kind) {
            kinds.push(f.kind);
        }
    }
    kinds
}

/// Replace every secret in `text` by its marker. The findings refer to positions in `text`.
pub fn redact_text(text: &str, fp: &Fingerprinter) -> (String, Vec<Finding>) {
    let findings = merge(find_secrets(text));
    if findings.is_empty() {
        return (text.to_owned(), findings);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in &findings {
        out.push_str(&text[at..f.start]);
        out.push_str(&fp.marker(&text.as_bytes()[f.start..f.end]));
        at = f.end;
    }
    out.push_str(&text[at..]);
    (out, findings)
}

/// Redact secrets in a JSON document in place; returns the JSON pointers of the values changed.
///
/// - A string (or a number of 6+ characters) under a secret-named key is replaced by its marker,
///   unless it is a placeholder, reference or boolean (the rules of [`find_secrets`]); so are the
///   strings of an array under a secret-named key.
/// - In `{"Name": "DB_PASSWORD", "Value": "..."}` pairs (ECS environments, CloudFormation
///   parameters, tags), the value is treated as if it were under its name.
/// - Any other string has the secrets found in it by [`find_secrets`] replaced.
pub fn redact_json(value: &mut serde_json::Value, fp: &Fingerprinter) -> Vec<String> {
    let mut paths = Vec::new();
    let mut pointer = String::new();
    walk_json(value, fp, None, &mut pointer, &mut paths);
    paths
}

fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Keys naming the other field of a name/value pair.
#[rustfmt::skip]
const PAIR_NAMES: &[&str] = &[
    "Name", "name", "Key", "key", "ParameterKey", "ParameterName", "OptionName",
    "Variable", "variable",
];
const PAIR_VALUES: &[&str] = &["Value", "value", "ParameterValue"];

fn walk_json(
    value: &mut serde_json::Value,
    fp: &Fingerprinter,
    secret_key: Option<SecretKind>,
    pointer: &mut String,
    paths: &mut Vec<String>,
) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            if let Some(kind) = secret_key {
                if !is_not_secret_value(s, kind, true) {
                    *s = fp.marker(s.as_bytes());
                    paths.push(pointer.clone());
                    return;
                }
            }
            let (redacted, findings) = redact_text(s, fp);
            if !findings.is_empty() {
                *s = redacted;
                paths.push(pointer.clone());
            }
        }
        Value::Number(n) => {
            if let Some(kind) = secret_key {
                let repr = n.to_string();
                if !is_not_secret_value(&repr, kind, true) {
                    *value = Value::String(fp.marker(repr.as_bytes()));
                    paths.push(pointer.clone());
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                // Strings of an array under a secret name are secrets; nested objects have names
                // of their own.
                let inherit = match item {
                    Value::String(_) | Value::Number(_) => secret_key,
                    _ => None,
                };
                walk_json(item, fp, inherit, pointer, paths);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            let pair_kind = PAIR_NAMES
                .iter()
                .filter_map(|n| map.get(*n).and_then(Value::as_str))
                .find_map(secret_name_kind);
            for (k, v) in map.iter_mut() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape_pointer(k));
                let kind = secret_name_kind(k).or_else(|| {
                    PAIR_VALUES
                        .contains(&k.as_str())
                        .then_some(pair_kind)
                        .flatten()
                });
                let kind = match v {
                    Value::String(_) | Value::Number(_) | Value::Array(_) => kind,
                    _ => None,
                };
                walk_json(v, fp, kind, pointer, paths);
                pointer.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

/// Redact the values of a name -> value map of settings (S3 object user metadata and tags):
/// values under secret names, and known secret shapes in any value, become markers. Names stay.
pub fn redact_named_map(map: &mut BTreeMap<String, String>, fp: &Fingerprinter) -> usize {
    let mut n = 0;
    for (k, v) in map.iter_mut() {
        let mut doc = serde_json::json!({ k.clone(): v.clone() });
        if !redact_json(&mut doc, fp).is_empty() {
            if let Some(s) = doc.get(k.as_str()).and_then(|x| x.as_str()) {
                *v = s.to_string();
                n += 1;
            }
        }
    }
    n
}

/// Replace every value of an environment map (Lambda, ECS...) by its marker: environment
/// variables are secrets by policy, whatever their names. Values that already are markers are
/// kept, so redacting twice changes nothing.
pub fn redact_env_map(map: &mut BTreeMap<String, String>, fp: &Fingerprinter) {
    for v in map.values_mut() {
        if !is_marker(v) {
            *v = fp.marker(v.as_bytes());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Secret files
// ---------------------------------------------------------------------------------------------

/// Is this a file whose content must never be copied in plain text (by its name and folders)?
pub fn is_secret_file(path: &Path) -> bool {
    let Some(name) = path.file_name() else {
        return false;
    };
    let name = name.to_string_lossy().to_ascii_lowercase();
    let name = name.as_str();
    let dirs: Vec<String> = path
        .parent()
        .map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let in_dir = |d: &str| dirs.iter().any(|c| c == d);
    let is_pub = name.ends_with(".pub");
    let is_template = |rest: &str| {
        ["example", "sample", "template"]
            .iter()
            .any(|t| rest.contains(t))
    };

    if in_dir(".ssh") {
        return !(is_pub
            || matches!(
                name,
                "known_hosts"
                    | "known_hosts.old"
                    | "config"
                    | "authorized_keys"
                    | "authorized_keys2"
            ));
    }
    if in_dir(".aws") || in_dir(".kube") {
        return true;
    }
    if dirs.last().is_some_and(|d| d == ".docker") && name == "config.json" {
        return true;
    }
    if name == ".env" {
        return true;
    }
    if let Some(rest) = name.strip_prefix(".env.") {
        return !is_template(rest);
    }
    if let Some(stem) = name.strip_suffix(".env") {
        return !is_template(stem);
    }
    if matches!(
        name,
        "credentials"
            | "credentials.json"
            | ".clasprc.json"
            | ".netrc"
            | "_netrc"
            | ".npmrc"
            | ".pypirc"
            | "kubeconfig"
            | ".git-credentials"
            | ".htpasswd"
            | ".pgpass"
            | ".vault-token"
            | "credentials.db"
            | "access_tokens.db"
            | "application_default_credentials.json"
            | "adc.json"
    ) {
        return true;
    }
    // gcloud keeps credentials in its configuration folder, legacy ones per account.
    if in_dir("gcloud") && (in_dir("legacy_credentials") || name.ends_with(".db")) {
        return true;
    }
    if ["id_rsa", "id_ed25519", "id_ecdsa", "id_dsa"]
        .iter()
        .any(|p| name.starts_with(p))
    {
        return !is_pub;
    }
    if name.ends_with(".json")
        && ["client_secret", "service-account", "service_account"]
            .iter()
            .any(|p| name.starts_with(p))
    {
        return true;
    }
    if name.contains(".tfstate") || name.ends_with(".tfvars") || name.ends_with(".tfvars.json") {
        return true;
    }
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    matches!(
        ext,
        "pem" | "key" | "p12" | "pfx" | "jks" | "keystore" | "kubeconfig" | "ppk"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use SecretKind::*;

    // Test secrets are generated, not written out, so that this file never looks like it holds
    // a real credential (to people or to secret scanners).
    const UPPER_DIGITS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+";
    const URL_B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

    #[test]
    fn a_binary_file_is_scanned_over_its_printable_runs() {
        let key = format!("AKIA{}", rnd(UPPER_DIGITS, 16, 7));
        let mut bin: Vec<u8> = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0];
        bin.extend((0..300u32).map(|i| (i * 37 % 251) as u8));
        let clean = bin.clone();
        bin.extend_from_slice(b"\0\0aws_key\0");
        bin.extend_from_slice(key.as_bytes());
        bin.extend_from_slice(&[0, 0xff, 0xfe, 3]);
        assert_eq!(find_in_binary(&bin), vec![AwsAccessKeyId]);
        assert_eq!(find_in_binary(&clean), Vec::<SecretKind>::new());
        // At the very end of the file, too.
        let mut tail = clean.clone();
        tail.push(0);
        tail.extend_from_slice(key.as_bytes());
        assert_eq!(find_in_binary(&tail), vec![AwsAccessKeyId]);
    }

    fn rnd(alphabet: &str, len: usize, seed: u64) -> String {
        let a: Vec<char> = alphabet.chars().collect();
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                a[(x % a.len() as u64) as usize]
            })
            .collect()
    }

    fn akia(seed: u64) -> String {
        format!("AKIA{}", rnd(UPPER_DIGITS, 16, seed))
    }
    fn aws_secret(seed: u64) -> String {
        rnd(B64, 40, seed)
    }
    fn github(seed: u64) -> String {
        format!("gh{}_{}", "p", rnd(ALNUM, 36, seed))
    }
    fn github_pat(seed: u64) -> String {
        format!("github_{}_{}", "pat", rnd(ALNUM, 70, seed))
    }
    fn slack(seed: u64) -> String {
        format!(
            "xo{}-{}-{}-{}",
            "xb",
            rnd("0123456789", 12, seed),
            rnd("0123456789", 13, seed + 1),
            rnd(ALNUM, 24, seed + 2)
        )
    }
    fn google_api(seed: u64) -> String {
        format!("AI{}{}", "za", rnd(URL_B64, 35, seed))
    }
    fn ya29(seed: u64) -> String {
        format!("ya29.{}", rnd(URL_B64, 60, seed))
    }
    fn google_refresh(seed: u64) -> String {
        format!("1//0{}", rnd(URL_B64, 40, seed))
    }
    fn jwt(seed: u64) -> String {
        format!(
            "eyJ{}.eyJ{}.{}",
            rnd(URL_B64, 30, seed),
            rnd(URL_B64, 50, seed + 1),
            rnd(URL_B64, 43, seed + 2)
        )
    }
    fn stripe(seed: u64) -> String {
        format!("sk_{}_{}", "live", rnd(ALNUM, 24, seed))
    }
    fn token(seed: u64) -> String {
        rnd(URL_B64, 32, seed)
    }
    fn password(seed: u64) -> String {
        rnd(
            "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!%^*",
            14,
            seed,
        )
    }
    fn pem(seed: u64, newline: &str) -> String {
        let body: Vec<String> = (0..4).map(|i| rnd(B64, 64, seed + i)).collect();
        format!(
            "-----BEGIN {kind} KEY-----{nl}{body}{nl}-----END {kind} KEY-----",
            kind = ["RSA", "PRIVATE"].join(" "),
            nl = newline,
            body = body.join(newline)
        )
    }

    fn fp() -> Fingerprinter {
        Fingerprinter::from_key([7; 32])
    }

    /// One finding, exactly the value, of the expected kind.
    fn assert_finds(template: &str, value: &str, kind: SecretKind) {
        let text = template.replace("{V}", value);
        let f = find_secrets(&text);
        assert_eq!(f.len(), 1, "{template}: {f:?}\n{text}");
        assert_eq!(&text[f[0].start..f[0].end], value, "{template}");
        assert_eq!(f[0].kind, kind, "{template}");
    }

    /// The detection gaps of issue 14, each seen copied in plain text.
    #[test]
    fn vendor_tokens_and_secret_forms_of_issue_14_are_found() {
        let digits = "0123456789";
        let cases: Vec<(&str, String, SecretKind)> = vec![
            ("seen {V} here", format!("gl{}-{}", "pat", rnd(ALNUM, 20, 1)), ApiToken),
            ("seen {V} here", format!("sk-{}-{}", "proj", rnd(ALNUM, 48, 2)), ApiToken),
            ("seen {V} here", format!("sk-{}-api03-{}", "ant", rnd(URL_B64, 60, 3)), ApiToken),
            (
                "seen {V} here",
                format!("S{}.{}.{}", "G", rnd(ALNUM, 22, 4), rnd(ALNUM, 43, 5)),
                ApiToken,
            ),
            ("seen {V} here", format!("np{}_{}", "m", rnd(ALNUM, 36, 6)), ApiToken),
            (
                "seen {V} here",
                format!("xa{}-1-A{}-{}-{}", "pp", rnd(ALNUM, 10, 7), rnd(digits, 13, 8), rnd(ALNUM, 40, 9)),
                SlackToken,
            ),
            ("seen {V} here", format!("wh{}_{}", "sec", rnd(ALNUM, 32, 10)), ApiToken),
            ("seen {V} here", format!("GOC{}-{}", "SPX", rnd(ALNUM, 28, 11)), ApiToken),
            (
                "seen {V} here",
                format!("S{}{}", "K", rnd("0123456789abcdef", 32, 12)),
                ApiToken,
            ),
            (
                "seen {V} here",
                format!("M{}.{}.{}", rnd(ALNUM, 23, 13), rnd(ALNUM, 6, 14), rnd(ALNUM, 27, 15)),
                ApiToken,
            ),
            (
                "seen {V} here",
                format!("{}:A{}{}", rnd(digits, 9, 16), "A", rnd(ALNUM, 33, 17)),
                ApiToken,
            ),
            ("seen {V} here", format!("hv{}.{}", "s", rnd(ALNUM, 90, 18)), ApiToken),
            (
                "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={V};EndpointSuffix=core.windows.net",
                format!("{}==", rnd(B64, 86, 19)),
                ConnectionStringPassword,
            ),
            ("<?php define('DB_PASSWORD', '{V}');", password(20), Password),
            ("mysqldump -u root -p{V} shop > shop.sql", password(21), Password),
            (
                "git clone https://gitlab.example.com/acme/x.git?access_token={V}&ref=main",
                token(22),
                SecretAssignment,
            ),
        ];
        for (template, value, kind) in cases {
            assert_finds(template, &value, kind);
        }
        for p in [
            "keys/server.ppk",
            "home/.vault-token",
            ".config/gcloud/credentials.db",
            ".config/gcloud/access_tokens.db",
            ".config/gcloud/legacy_credentials/me@example.com/adc.json",
            ".config/gcloud/application_default_credentials.json",
        ] {
            assert!(is_secret_file(Path::new(p)), "{p} should be secret");
        }
        assert_eq!(
            strip_url_credentials("https://u:p4ss@h.example/x?a=1&access_token=t0k&sig=s#f"),
            "https://h.example/x?a=1&access_token=<redacted>&sig=<redacted>#f"
        );
        assert_eq!(
            strip_url_credentials("http://127.0.0.1:9/"),
            "http://127.0.0.1:9/"
        );
    }

    #[test]
    fn token_shapes_are_found_in_every_syntax() {
        let cases: Vec<(&str, String, SecretKind)> = vec![
            // AWS access key ids
            ("AWS_ACCESS_KEY_ID={V}", akia(1), AwsAccessKeyId),
            ("aws_access_key_id = {V}", akia(2), AwsAccessKeyId),
            (
                r#"{"AccessKeyId": "{V}", "Status": "Active"}"#,
                akia(3),
                AwsAccessKeyId,
            ),
            ("key id in a log line: {V} used", akia(4), AwsAccessKeyId),
            (
                "ASIA: {V}",
                format!("ASIA{}", rnd(UPPER_DIGITS, 16, 5)),
                AwsAccessKeyId,
            ),
            // AWS secret keys
            (
                "aws_secret_access_key = {V}",
                aws_secret(1),
                AwsSecretAccessKey,
            ),
            (
                "AWS_SECRET_ACCESS_KEY={V}",
                aws_secret(2),
                AwsSecretAccessKey,
            ),
            (
                "export AWS_SECRET_ACCESS_KEY=\"{V}\"",
                aws_secret(3),
                AwsSecretAccessKey,
            ),
            ("SecretAccessKey: {V}", aws_secret(4), AwsSecretAccessKey),
            (
                r#"{"SecretAccessKey": "{V}"}"#,
                aws_secret(5),
                AwsSecretAccessKey,
            ),
            (
                "aws_secret_access_key: '{V}'",
                aws_secret(6),
                AwsSecretAccessKey,
            ),
            // Bearer tokens
            ("Authorization: Bearer {V}", token(1), BearerToken),
            (
                "curl -H 'authorization: bearer {V}' https://api.internal/",
                token(2),
                BearerToken,
            ),
            (
                r#"headers = {"Authorization": "Bearer {V}"}"#,
                token(3),
                BearerToken,
            ),
            // GitHub
            ("GITHUB_TOKEN={V}", github(1), GithubToken),
            ("token: {V}", github_pat(2), GithubToken),
            (
                "git clone https://{V}@github.com/org/repo.git",
                github(3),
                GithubToken,
            ),
            // Slack
            ("SLACK_BOT_TOKEN: {V}", slack(1), SlackToken),
            ("const client = new WebClient('{V}');", slack(2), SlackToken),
            (
                "webhook = \"https://hooks.slack.com/services/{V}\"",
                format!(
                    "T{}/B{}/{}",
                    rnd(UPPER_DIGITS, 8, 1),
                    rnd(UPPER_DIGITS, 10, 2),
                    rnd(ALNUM, 24, 3)
                ),
                SlackToken,
            ),
            // Google
            ("GOOGLE_API_KEY={V}", google_api(1), GoogleApiKey),
            (
                "fetch(`https://maps.googleapis.com/maps/api/js?key={V}`)",
                google_api(2),
                GoogleApiKey,
            ),
            (
                r#"{"access_token": "{V}", "token_type": "Bearer"}"#,
                ya29(1),
                GoogleOAuthToken,
            ),
            (
                r#"{"refresh_token": "{V}", "expiry_date": 1700000000000}"#,
                google_refresh(1),
                GoogleOAuthToken,
            ),
            // JWT
            ("id_token={V}", jwt(1), JwtToken),
            ("Cookie: session={V}; Path=/", jwt(2), JwtToken),
            // Stripe
            ("STRIPE_SECRET_KEY={V}", stripe(1), StripeKey),
            (
                "stripe.api_key = '{V}'",
                format!("rk_{}_{}", "live", rnd(ALNUM, 24, 2)),
                StripeKey,
            ),
            // Private keys
            ("{V}\n", pem(1, "\n"), PrivateKey),
            (
                r#"{"type": "service_account", "private_key": "{V}"}"#,
                pem(2, "\\n") + "\\n",
                PrivateKey,
            ),
        ];
        for (template, value, kind) in &cases {
            assert_finds(template, value, *kind);
        }
    }

    #[test]
    fn aws_secret_after_its_key_id_is_found_in_the_credentials_csv() {
        let (id, secret) = (akia(9), aws_secret(9));
        let text = format!("User name,Access key ID,Secret access key\ndeploy,{id},{secret}\n");
        let f = find_secrets(&text);
        let found: Vec<(&str, SecretKind)> =
            f.iter().map(|f| (&text[f.start..f.end], f.kind)).collect();
        assert_eq!(
            found,
            vec![
                (id.as_str(), AwsAccessKeyId),
                (secret.as_str(), AwsSecretAccessKey)
            ]
        );
        assert!(f.iter().all(|f| f.line == 2));
    }

    #[test]
    fn secret_assignments_are_found_in_every_syntax() {
        let p = password(1);
        let t = token(7);
        let cases: Vec<(&str, &str, SecretKind)> = vec![
            // .env / shell
            ("DB_PASSWORD={V}", &p, Password),
            ("export PGPASSWORD=\"{V}\"", &p, Password),
            ("MYSQL_ROOT_PASSWORD='{V}'", &p, Password),
            ("DB_PASS={V}", &p, Password),
            ("SMTP_PW={V}", &p, Password),
            ("docker run -e DB_PASSWORD={V} -e X=1 img", &p, Password),
            ("ts=1 user=bob password={V} level=info", &p, Password),
            ("ENV API_TOKEN={V} LOG_LEVEL=info", &t, SecretAssignment),
            ("API_KEY={V}", &t, SecretAssignment),
            ("SESSION_KEY={V} # rotated monthly", &t, SecretAssignment),
            ("$env:DEPLOY_TOKEN = \"{V}\"", &t, SecretAssignment),
            // INI / TOML / properties
            ("[database]\npassword = {V}\n", &p, Password),
            ("[auth]\nclient_secret = \"{V}\"\n", &t, SecretAssignment),
            ("spring.datasource.password={V}", &p, Password),
            ("//registry.npmjs.org/:_authToken={V}", &t, SecretAssignment),
            // YAML
            ("db:\n  password: {V}\n  user: app\n", &p, Password),
            ("  api-key: \"{V}\"", &t, SecretAssignment),
            ("x-api-key: {V}", &t, SecretAssignment),
            ("- name: app\n  credentials: {V}\n", &t, SecretAssignment),
            ("password: |\n  {V}\nuser: x\n", &p, Password),
            ("Authorization: Basic {V}", &t, SecretAssignment),
            ("token:\n  {V}\nnext: 1\n", &t, SecretAssignment),
            // name/value pairs
            (
                "env:\n  - name: DB_PASSWORD\n    value: {V}\n",
                &p,
                Password,
            ),
            (
                "env:\n  - name: \"API_TOKEN\"\n    value: \"{V}\"\n",
                &t,
                SecretAssignment,
            ),
            (
                r#"[{"ParameterKey": "DbPassword", "ParameterValue": "{V}"}]"#,
                &p,
                Password,
            ),
            (r#"<add key="ApiKey" value="{V}" />"#, &t, SecretAssignment),
            // JSON
            (r#"{"password": "{V}", "user": "app"}"#, &p, Password),
            (r#"{"clientSecret":"{V}"}"#, &t, SecretAssignment),
            (
                r#"{"auths": {"registry.internal": {"auth": "{V}"}}}"#,
                &t,
                SecretAssignment,
            ),
            (r#"{"pin_password": {V}}"#, "1234567", Password),
            // XML and property lists
            ("<key>Password</key>\n\t<string>{V}</string>", &p, Password),
            (
                "<server><id>x</id><password>{V}</password></server>",
                &p,
                Password,
            ),
            // code
            ("password := \"{V}\"", &p, Password),
            ("  :password => '{V}',", &p, Password),
            (
                "conn = connect(host=\"db\", password=\"{V}\")",
                &p,
                Password,
            ),
            // command lines, .netrc, SQL
            ("mysql -h db --password {V} app", &p, Password),
            ("curl -u admin:{V} https://jenkins.internal/", &p, Password),
            ("machine api.internal login bob password {V}", &p, Password),
            ("CREATE USER app IDENTIFIED BY '{V}';", &p, Password),
            // query and connection strings
            (
                "https://api.internal/v1/items?access_token={V}&page=2",
                &t,
                SecretAssignment,
            ),
            (
                "Server=db;Database=app;User Id=sa;Password={V};Encrypt=true",
                &p,
                Password,
            ),
            // a 40-hex value is a secret when its name says so
            (
                r#"{"secret": "{V}"}"#,
                "9fceb02d0ae598e95dc970b74767f19372d61af8",
                SecretAssignment,
            ),
        ];
        for (template, value, kind) in cases {
            assert_finds(template, value, kind);
        }
    }

    #[test]
    fn passwords_in_urls_are_found() {
        let p = rnd(ALNUM, 18, 3);
        for template in [
            "DATABASE_URL=postgres://app:{V}@db.internal:5432/app",
            "mongodb+srv://reporting:{V}@cluster0.abcd.mongodb.net/?retryWrites=true",
            "redis://:{V}@cache:6379/0",
            r#"{"dsn": "mysql://root:{V}@10.0.0.5/app"}"#,
        ] {
            assert_finds(template, &p, ConnectionStringPassword);
        }
        // A token as the user name of a git remote.
        let user = rnd(ALNUM, 40, 4);
        assert_finds(
            "url = https://{V}@git.internal/org/repo.git",
            &user,
            ConnectionStringPassword,
        );
    }

    #[test]
    fn findings_report_lines_and_merge_overlaps() {
        let key = pem(4, "\n");
        let text = format!(
            "a: 1\nb: 2\nprivate_key: |\n  {}\nc: 3\n",
            key.replace('\n', "\n  ")
        );
        let f = find_secrets(&text);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].line, 4);
        assert_eq!(f[0].kind, PrivateKey);
        assert_eq!(&text[f[0].start..f[0].end], key.replace('\n', "\n  "));
        // `GITHUB_TOKEN=ghp_...` is one finding (shape and name), of the specific kind.
        let g = github(5);
        let f = find_secrets(&format!("GITHUB_TOKEN={g}"));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, GithubToken);
    }

    #[test]
    fn non_secrets_are_not_flagged() {
        let cases = [
            // empty values and placeholders
            "password=",
            "PASSWORD=\"\"",
            "password: ''",
            "password:\n  from_secret: db",
            "password: ${DB_PASSWORD}",
            "DB_PASSWORD=$DB_PASSWORD",
            "token: {{ vault_token }}",
            "api_key: <your-api-key>",
            "API_KEY=your_api_key_here",
            "password: changeme",
            "password: example",
            "API_KEY=xxxxxxxxxxxx",
            "password: ********",
            "SECRET_KEY=${{ secrets.SECRET_KEY }}",
            "DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app",
            "postgres://user:password@localhost/db",
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            // booleans, short numbers, type names
            "auth: true",
            "use_token: false",
            "\"credentials\": true,",
            "pin_password: 12345",
            "password_min_length: 12",
            "PasswordReusePrevention: 24",
            "token_ttl: 3600",
            "max_tokens: 100000",
            "password: string;",
            "def login(user: str, password: str) -> bool:",
            "  password?: string",
            // references to other settings
            "const password = process.env.DB_PASSWORD;",
            "password = os.environ['DB_PASSWORD']",
            "token = os.getenv(\"TOKEN\")",
            "  password: req.body.password,",
            "password = var.db_password",
            "MasterUserPassword: !Ref DbPassword",
            r#""MasterUserPassword": {"Ref": "DbPassword"},"#,
            "password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n",
            // names that describe rather than hold
            "token_type: Bearer",
            r#"{"token_type": "bearer", "expires_in": 3599}"#,
            "author: Jane Doe",
            "authority: https://login.microsoftonline.com/common",
            "authorization_url: https://accounts.google.com/o/oauth2/auth",
            r#""auth_uri": "https://accounts.google.com/o/oauth2/auth","#,
            r#""token_uri": "https://oauth2.googleapis.com/token","#,
            "tokenizer: bert-base-uncased",
            r#""ClientRequestToken": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111""#,
            "secret_arn: arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
            "SecretName: prod/db/main",
            "\"PasswordLastUsed\": \"2024-05-01T10:00:00Z\"",
            "credential_process = /usr/local/bin/aws-vault exec prod --json",
            "GOOGLE_APPLICATION_CREDENTIALS=/etc/gcp/service-account.json",
            "PWD=/home/deploy/app",
            "id-token: write",
            "PASS_MAX_DAYS=99999",
            "env:\n  - name: LOG_LEVEL\n    value: debug-verbose\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef: {name: db, key: password}\n",
            "credentials:\n  username: app\n  password_file: /run/secrets/db\n",
            "secrets: inherit",
            // comparisons
            "if password == \"\":",
            "if (password != confirm) return;",
            // prose about secrets
            "Bearer tokens are sent in the Authorization header.",
            // hashes
            "image: nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31",
            r#""ImageDigest": "sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31""#,
            "password_hash: sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31",
            "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
            r#""head_sha": "9fceb02d0ae598e95dc970b74767f19372d61af8""#,
            "b3a8e0e1f9ab1bfe3a36f231f676f78bb30a519d2b21e6c530c0eee8ebb4a5d0  release.tar.gz",
        ];
        for text in cases {
            let f = find_secrets(text);
            assert!(
                f.is_empty(),
                "flagged: {text:?}: {:?}",
                f.iter().map(|f| &text[f.start..f.end]).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn lock_files_are_not_flagged() {
        let package_lock = r#"{
  "name": "web",
  "lockfileVersion": 3,
  "packages": {
    "node_modules/jsonwebtoken": {
      "version": "9.0.2",
      "resolved": "https://registry.npmjs.org/jsonwebtoken/-/jsonwebtoken-9.0.2.tgz",
      "integrity": "sha512-PRp66vJ865SSqOlgqS8hujT5U4AOgMfhrwYIuIhfKaoSCZcirrmASQr8CX7cUg+RMih+hgznrjp99o+W4pJLHQ==",
      "dependencies": {
        "js-tokens": "^4.0.0",
        "next-auth": "4.24.5",
        "passport-http-bearer": "~1.0.1"
      }
    },
    "node_modules/js-tokens": {
      "version": "4.0.0",
      "integrity": "sha512-RdJUflcE3cUzKiMqQgsCu06FPu9UdIJO0beYbPhHN4k6apgJtifcoCtT9bcxOpYBtpD2kCM6Sbzg4CausW/PKQ=="
    }
  }
}"#;
        let cargo_lock = r#"[[package]]
name = "secret-service"
version = "3.0.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "e5204d39df37f06d1944935232fd2dfe05008def7ca599bf28c0800366c8a8f9"
dependencies = [
 "aes",
 "oauth2",
]

[[package]]
name = "jsonwebtoken"
version = "9.3.0"
checksum = "b9ae10193d25051e74945f1ea2d0b42e03cc3b890f7e4cc5faa44997d808193f"
"#;
        let yarn_lock = r#""@auth0/auth0-spa-js@^2.1.0":
  version "2.1.3"
  resolved "https://registry.yarnpkg.com/@auth0/auth0-spa-js/-/auth0-spa-js-2.1.3.tgz#41b3cb1b1d08a4c6d2e1c1b2d0d3e0c5a7b7f8f9"
  integrity sha512-NMTBNuuG4g3rame1aCnNS5qFYIzsTUV5qTFPRfTyYFS1feS6jsCBR+eTq9YkxCp1yuoM2UIcjunPaoPl77U9xQ==
"#;
        let cargo_toml = "[dependencies]\njsonwebtoken = \"9\"\noauth2 = { version = \"4.4\", default-features = false }\nsecrecy = \"0.8\"\n";
        for text in [package_lock, cargo_lock, yarn_lock, cargo_toml] {
            assert_eq!(find_secrets(text), vec![], "{text}");
        }
    }

    #[test]
    fn a_github_actions_workflow_using_secrets_is_not_flagged() {
        let wf = r#"name: deploy
on:
  push:
    branches: [main]
permissions:
  id-token: write
  contents: read
jobs:
  deploy:
    runs-on: ubuntu-latest
    env:
      GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}
      NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
    steps:
      - uses: actions/checkout@v4
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: arn:aws:iam::123456789012:role/deploy
          aws-region: eu-west-1
      - uses: docker/login-action@v3
        with:
          username: ${{ secrets.DOCKER_USER }}
          password: ${{ secrets.DOCKER_PASSWORD }}
      - run: npm publish --provenance
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
      - run: curl -H "Authorization: Bearer $DEPLOY_TOKEN" https://deploy.internal/hook
"#;
        assert_eq!(find_secrets(wf), vec![]);
    }

    #[test]
    fn a_plist_password_is_flagged() {
        let p = password(11);
        let plist = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>com.acme.backup</string>
	<key>Username</key>
	<string>backup</string>
	<key>Password</key>
	<string>{p}</string>
	<key>RunAtLoad</key>
	<true/>
</dict>
</plist>
"#
        );
        let (out, f) = redact_text(&plist, &fp());
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, Password);
        assert_eq!(f[0].line, 10);
        assert!(!out.contains(&p));
        assert!(out.contains("<string>com.acme.backup</string>"));
    }

    #[test]
    fn redact_text_replaces_values_by_markers() {
        let (p1, p2) = (password(21), password(22));
        let text =
            format!("DB_PASSWORD={p1}\nBACKUP_PASSWORD={p1}\nOTHER_PASSWORD={p2}\nuser=app\n");
        let fp = fp();
        let (out, findings) = redact_text(&text, &fp);
        assert_eq!(findings.len(), 3);
        for f in &findings {
            assert!([&p1, &p2].contains(&&text[f.start..f.end].to_string()));
        }
        assert!(!out.contains(&p1) && !out.contains(&p2), "{out}");
        let (m1, m2) = (fp.marker(p1.as_bytes()), fp.marker(p2.as_bytes()));
        assert_ne!(m1, m2);
        assert_eq!(
            out,
            format!("DB_PASSWORD={m1}\nBACKUP_PASSWORD={m1}\nOTHER_PASSWORD={m2}\nuser=app\n")
        );
        // Redacting again changes nothing.
        let (again, f) = redact_text(&out, &fp);
        assert_eq!(again, out);
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn a_planted_corpus_leaves_no_secret_behind() {
        let s: Vec<String> = vec![
            akia(31),
            aws_secret(31),
            pem(31, "\n"),
            token(31),
            github(31),
            slack(31),
            google_api(31),
            ya29(31),
            jwt(31),
            stripe(31),
            password(31),
            password(32),
            token(33),
            rnd(ALNUM, 20, 34),
            password(35),
            token(36),
        ];
        let corpus = format!(
            r#"# .env
AWS_ACCESS_KEY_ID={}
AWS_SECRET_ACCESS_KEY={}
# id_rsa
{}
# http
GET /v1/things HTTP/1.1
Authorization: Bearer {}
# shell
export GH_TOKEN="{}"
SLACK_BOT_TOKEN: '{}'
# config.json
{{"maps": {{"apiKey": "{}"}}, "oauth": {{"access_token": "{}", "id_token": "{}"}}}}
stripe_key = "{}"
[database]
password = {}
<key>Password</key><string>{}</string>
client_secret: {}
DATABASE_URL=postgres://app:{}@db:5432/app
mysql --password {} -h db
https://api.internal/hook?token={}&v=1
"#,
            s[0],
            s[1],
            s[2],
            s[3],
            s[4],
            s[5],
            s[6],
            s[7],
            s[8],
            s[9],
            s[10],
            s[11],
            s[12],
            s[13],
            s[14],
            s[15]
        );
        let (out, findings) = redact_text(&corpus, &fp());
        assert!(findings.len() >= s.len(), "{findings:?}");
        for secret in &s {
            assert!(!out.contains(secret.as_str()), "{secret} left in:\n{out}");
            assert!(corpus.contains(secret.as_str()));
            assert!(
                out.contains(&fp().marker(secret.as_bytes())),
                "{secret}:\n{out}"
            );
        }
        for f in &findings {
            assert!(s.iter().any(|x| x == &corpus[f.start..f.end]), "{f:?}");
        }
        // The rest of the text is kept.
        assert!(out.contains("GET /v1/things HTTP/1.1\n"));
        assert!(out.contains("mysql --password <redacted fp:"));
    }

    /// Generated passwords with every special character, in every syntax (escaped as that
    /// syntax requires), never survive redaction.
    #[test]
    fn generated_passwords_never_survive_in_any_syntax() {
        const SPECIALS: &str = "!@#$%^&*()-_=+[]{};:,.<>/?|~";
        let alphabet = format!("{ALNUM}{SPECIALS}{SPECIALS}");
        let xml = |v: &str| {
            v.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let url = |v: &str| {
            v.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        };
        let fp = fp();
        let mut leaks = Vec::new();
        for seed in 0..400u64 {
            let len = 12 + (seed % 9) as usize;
            let pw = format!(
                "{}{}",
                rnd(ALNUM, 1, seed + 1000),
                rnd(&alphabet, len, seed)
            );
            let cases: Vec<(String, String)> = vec![
                (format!("DB_PASSWORD={pw}\n"), pw.clone()),
                (format!("export DB_PASSWORD=\"{pw}\"\n"), pw.clone()),
                (format!("DB_PASSWORD='{pw}'\n"), pw.clone()),
                (format!("db:\n  password: {pw}\n  user: app\n"), pw.clone()),
                (format!("db:\n  password: \"{pw}\"\n"), pw.clone()),
                (
                    format!("{{\"password\": \"{pw}\", \"user\": \"app\"}}"),
                    pw.clone(),
                ),
                (format!("[db]\npassword = \"{pw}\"\n"), pw.clone()),
                (format!("[db]\npassword = {pw}\nuser = app\n"), pw.clone()),
                (format!("<password>{}</password>", xml(&pw)), xml(&pw)),
                (
                    format!("<key>Password</key>\n<string>{}</string>", xml(&pw)),
                    xml(&pw),
                ),
                (
                    format!("DATABASE_URL=postgres://app:{}@db:5432/app", url(&pw)),
                    url(&pw),
                ),
                (format!("mysql --password '{pw}' -h db\n"), pw.clone()),
                (
                    format!("env:\n  - name: DB_PASSWORD\n    value: \"{pw}\"\n"),
                    pw.clone(),
                ),
            ];
            for (text, secret) in cases {
                let (out, _) = redact_text(&text, &fp);
                if out.contains(&secret) {
                    leaks.push(text);
                }
            }
            let mut v = serde_json::json!({"MasterUserPassword": pw, "x": {"api_token": pw}});
            redact_json(&mut v, &fp);
            if v.to_string().contains(&pw) {
                leaks.push(v.to_string());
            }
        }
        assert!(
            leaks.is_empty(),
            "{} leaks:\n{}",
            leaks.len(),
            leaks.join("\n---\n")
        );
    }

    /// Passwords people choose, which can look like code, paths or numbers, are still found.
    #[test]
    fn human_passwords_that_look_like_code_are_found() {
        for pw in [
            "Summer(2024)",
            "Pass[word]1",
            "Welcome{1}",
            "Tr0ub4dor&3",
            "hunter2",
            "P@ss:w0rd",
            "S3cret.Value",
            "data.center9",
            "NT::sNoJlm0j",
            "Spring2024!",
            "abc$def",
            "0x1F2E3D4C5B6A79880",
            "/home-Sweet_home",
        ] {
            for template in ["DB_PASSWORD={V}", "  password: {V}", "password = {V}"] {
                assert_finds(template, pw, Password);
            }
        }
        assert_finds("  password: {V}", "correct horse battery staple", Password);
    }

    #[test]
    fn redact_json_redacts_by_name_and_by_shape() {
        let fp = fp();
        let (p, t, g) = (password(41), token(42), github(43));
        let mut v = serde_json::json!({
            "DBInstanceIdentifier": "prod",
            "MasterUserPassword": p,
            "Credentials": {
                "AccessKeyId": akia(44),
                "SecretAccessKey": aws_secret(44),
                "SessionToken": t,
                "Expiration": "2024-01-01T00:00:00Z"
            },
            "ContainerDefinitions": [{
                "Environment": [
                    {"Name": "DB_PASSWORD", "Value": p},
                    {"Name": "LOG_LEVEL", "Value": "debug"}
                ]
            }],
            "Parameters": [{"ParameterKey": "ApiToken", "ParameterValue": t}],
            "UserData": format!("#!/bin/bash\nexport GH_TOKEN={g}\necho ok\n"),
            "api_keys": [t, "${API_KEY}"],
            "pin_password": 1234567,
            "auth": true,
            "token_type": "Bearer",
            "placeholder": {"password": "${DB_PASSWORD}"},
            "a/b": {"client_secret": t},
        });
        let original = v.to_string();
        let mut paths = redact_json(&mut v, &fp);
        paths.sort();
        let mut want = vec![
            "/MasterUserPassword",
            "/Credentials/AccessKeyId",
            "/Credentials/SecretAccessKey",
            "/Credentials/SessionToken",
            "/ContainerDefinitions/0/Environment/0/Value",
            "/Parameters/0/ParameterValue",
            "/UserData",
            "/api_keys/0",
            "/pin_password",
            "/a~1b/client_secret",
        ];
        want.sort();
        assert_eq!(paths, want);
        let s = v.to_string();
        for secret in [&p, &t, &g, &akia(44), &aws_secret(44)] {
            assert!(original.contains(secret.as_str()));
            assert!(!s.contains(secret.as_str()), "{secret} in {s}");
        }
        assert_eq!(v["MasterUserPassword"], fp.marker(p.as_bytes()));
        assert_eq!(v["pin_password"], fp.marker(b"1234567"));
        assert_eq!(
            v["UserData"],
            format!(
                "#!/bin/bash\nexport GH_TOKEN={}\necho ok\n",
                fp.marker(g.as_bytes())
            )
        );
        assert_eq!(
            v["ContainerDefinitions"][0]["Environment"][1]["Value"],
            "debug"
        );
        assert_eq!(v["api_keys"][1], "${API_KEY}");
        assert_eq!(v["auth"], true);
        assert_eq!(v["token_type"], "Bearer");
        assert_eq!(v["placeholder"]["password"], "${DB_PASSWORD}");
        assert_eq!(v["DBInstanceIdentifier"], "prod");
        // Idempotent.
        let before = v.clone();
        assert!(redact_json(&mut v, &fp).is_empty());
        assert_eq!(v, before);
    }

    #[test]
    fn redact_env_map_redacts_every_value() {
        let fp = fp();
        let mut env = BTreeMap::from([
            ("LOG_LEVEL".to_string(), "debug".to_string()),
            ("DB_PASSWORD".to_string(), password(51)),
            ("EMPTY".to_string(), String::new()),
        ]);
        let original = env.clone();
        redact_env_map(&mut env, &fp);
        for (k, v) in &env {
            assert_eq!(v, &fp.marker(original[k].as_bytes()));
            assert!(is_marker(v));
        }
        let once = env.clone();
        redact_env_map(&mut env, &fp);
        assert_eq!(env, once);
    }

    #[test]
    fn markers_are_stable_per_value_and_key() {
        let a = Fingerprinter::from_key([1; 32]);
        let b = Fingerprinter::from_key([2; 32]);
        let m = a.marker(b"hunter2");
        assert_eq!(m, a.marker(b"hunter2"));
        assert_ne!(m, a.marker(b"hunter3"));
        assert_ne!(m, b.marker(b"hunter2"));
        assert!(is_marker(&m), "{m}");
        let f = a.fingerprint(b"hunter2");
        assert_eq!(f.len(), 3 + 24);
        assert!(f.starts_with("fp:"));
        assert_eq!(m, format!("<redacted {f}>"));
        let full = blake3::keyed_hash(&[1; 32], b"hunter2").to_hex();
        assert_eq!(&f[3..], &full.as_str()[..24]);
        assert_eq!(format!("{a:?}"), "Fingerprinter { key: <redacted> }");
    }

    #[test]
    fn the_fingerprint_key_is_created_once_private_and_reused() {
        let d = tempfile::tempdir().unwrap();
        let meta = d.path().join(".infrasnap");
        let a = Fingerprinter::open(&meta, None).unwrap().0;
        let key_path = meta.join("keys").join("fingerprint.key");
        let raw = fs::read_to_string(&key_path).unwrap();
        assert_eq!(raw.trim().len(), 64);
        assert!(raw.trim().chars().all(|c| c.is_ascii_hexdigit()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&key_path), 0o600);
            assert_eq!(mode(&meta.join("keys")), 0o700);
        }
        let b = Fingerprinter::open(&meta, None).unwrap().0;
        assert_eq!(a.marker(b"x"), b.marker(b"x"));
        assert_eq!(fs::read_to_string(&key_path).unwrap(), raw);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(meta.join("keys")).unwrap().count(), 1);
        // Another repository gets another key.
        let other = Fingerprinter::open(&d.path().join("other"), None)
            .unwrap()
            .0;
        assert_ne!(a.marker(b"x"), other.marker(b"x"));
    }

    #[test]
    fn concurrent_first_runs_agree_on_one_key() {
        let d = tempfile::tempdir().unwrap();
        let meta = d.path().join(".infrasnap");
        let barrier = std::sync::Barrier::new(8);
        let markers: Vec<String> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        Fingerprinter::open(&meta, None).unwrap().0.marker(b"v")
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(markers.windows(2).all(|w| w[0] == w[1]), "{markers:?}");
        assert_eq!(fs::read_dir(meta.join("keys")).unwrap().count(), 1);
    }

    #[test]
    fn a_damaged_key_is_an_error_not_a_new_key() {
        let d = tempfile::tempdir().unwrap();
        let keys = d.path().join("keys");
        fs::create_dir_all(&keys).unwrap();
        fs::write(keys.join("fingerprint.key"), "not hex\n").unwrap();
        let err = Fingerprinter::open(d.path(), None).unwrap_err();
        assert!(err.to_string().contains("64 hex"), "{err}");
        assert_eq!(
            fs::read_to_string(keys.join("fingerprint.key")).unwrap(),
            "not hex\n"
        );
    }

    #[test]
    fn sensitive_never_prints() {
        #[derive(Debug, Serialize)]
        struct Conn {
            user: String,
            password: Sensitive<String>,
        }
        let c = Conn {
            user: "app".into(),
            password: Sensitive::new("hunter2".into()),
        };
        assert_eq!(format!("{}", c.password), "<redacted>");
        assert_eq!(format!("{:?}", c.password), "<redacted>");
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!format!("{c:#?}").contains("hunter2"));
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, r#"{"user":"app","password":"<redacted>"}"#);
        assert_eq!(c.password.expose(), "hunter2");
        let copy = c.password.clone();
        assert_eq!(copy, c.password);
        assert_ne!(copy, Sensitive::new("other".to_string()));
        assert_eq!(copy.into_inner(), "hunter2");
        let n: Sensitive<u64> = 42.into();
        assert_eq!(serde_json::to_value(n).unwrap(), "<redacted>");
    }

    #[test]
    fn secret_kinds_serialize_snake_case() {
        for (k, s) in [
            (AwsAccessKeyId, "aws_access_key_id"),
            (GoogleOAuthToken, "google_oauth_token"),
            (ConnectionStringPassword, "connection_string_password"),
            (SecretAssignment, "secret_assignment"),
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), s);
            assert_eq!(k.as_str(), s);
        }
        let f = Finding {
            line: 1,
            start: 0,
            end: 3,
            kind: Password,
        };
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"line":1,"start":0,"end":3,"kind":"password"}"#
        );
    }

    #[test]
    fn secret_files_by_name() {
        let yes = [
            ".env",
            "app/.env",
            ".env.local",
            ".env.production",
            "deploy/prod.env",
            "certs/server.pem",
            "tls/server.key",
            "signing/release.p12",
            "cert.pfx",
            "android/release.jks",
            "app.keystore",
            "id_rsa",
            "home/.ssh/id_ed25519",
            "backup/id_ecdsa_old",
            "id_dsa",
            "credentials",
            "gcp/credentials.json",
            "client_secret_12345.apps.googleusercontent.com.json",
            "service-account-prod.json",
            ".clasprc.json",
            ".netrc",
            ".npmrc",
            ".pypirc",
            "kubeconfig",
            "prod.kubeconfig",
            ".git-credentials",
            ".htpasswd",
            "home/.aws/config",
            "home/.aws/credentials",
            "home/.aws/sso/cache/abc.json",
            "home/.ssh/deploy_key",
            "home/.kube/config",
            ".docker/config.json",
            "infra/terraform.tfstate",
            "infra/terraform.tfstate.backup",
            "infra/prod.tfvars",
            "infra/prod.auto.tfvars",
        ];
        let no = [
            ".env.example",
            ".env.sample",
            ".env.template",
            ".env.local.example",
            "env.sh",
            "README.md",
            "id_rsa.pub",
            "home/.ssh/id_ed25519.pub",
            "home/.ssh/known_hosts",
            "home/.ssh/config",
            "home/.ssh/authorized_keys",
            "src/credentials.rs",
            "client_secret.txt",
            "appsscript.json",
            ".clasp.json",
            "config.json",
            "main.tf",
            "variables.tf",
            "keys.txt",
            "package-lock.json",
        ];
        for p in yes {
            assert!(is_secret_file(Path::new(p)), "{p} should be secret");
        }
        for p in no {
            assert!(!is_secret_file(Path::new(p)), "{p} should not be secret");
        }
    }

    #[test]
    fn key_names() {
        for (k, want) in [
            ("AWS_SECRET_ACCESS_KEY", Some(SecretAssignment)),
            ("secretAccessKey", Some(SecretAssignment)),
            ("APIKey", Some(SecretAssignment)),
            ("x-api-key", Some(SecretAssignment)),
            ("PGPASSWORD", Some(Password)),
            ("db_pwd", Some(Password)),
            ("_auth", Some(SecretAssignment)),
            ("Authorization", Some(SecretAssignment)),
            ("author", None),
            ("authority", None),
            ("authorization_url", None),
            ("token_type", None),
            ("max_tokens", None),
            ("NextToken", None),
            ("password_min_length", None),
            ("PWD", None),
            ("secretary", None),
            ("user", None),
        ] {
            assert_eq!(secret_name_kind(k), want, "{k}");
        }
    }

    #[test]
    fn large_minified_json_is_scanned_quickly() {
        let mut s = String::from("[");
        for i in 0..20_000 {
            s.push_str(&format!(
                r#"{{"name":"item-{i}","token_type":"bearer","NextToken":"abc{i}","count":{i}}},"#
            ));
        }
        s.push_str(&format!(r#"{{"password":"{}"}}]"#, password(61)));
        let t = std::time::Instant::now();
        let f = find_secrets(&s);
        assert_eq!(f.len(), 1);
        assert!(
            t.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            t.elapsed()
        );
    }
}
