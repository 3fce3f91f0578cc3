//! `infrasnap.toml`: what to capture beyond the defaults. Every section is optional; with no file
//! at all, `infrasnap snapshot` captures the AWS account of the default credential chain.
//!
//! ```toml
//! repo = "/Volumes/backup/infrasnap"          # where snapshots go (--repo wins)
//!
//! [aws]
//! regions = ["us-east-1", "eu-west-1"]        # default: every enabled region
//! only = ["s3", "lambda"]                     # or skip = ["dynamodb"]
//!
//! [[aws.accounts]]                            # default: one account, the default chain
//! name = "prod"
//! profile = "prod"
//!
//! [[aws.accounts]]
//! name = "marketing"
//! role_arn = "arn:aws:iam::222222222222:role/infrasnap-read"
//! external_id = "acme-infrasnap"
//! source_profile = "prod"
//!
//! [gas]
//! credentials = "~/.clasprc.json"             # default; also GOOGLE_APPLICATION_CREDENTIALS
//! versions = 3                                # content of the 3 most recent versions
//! discover = true                             # also find standalone projects through Drive
//!
//! [[gas.projects]]
//! script_id = "1AbCdEf..."
//! name = "event-registrations"
//!
//! [[local]]
//! name = "deploy-scripts"
//! path = "~/ops/deploy"
//! kind = "git"                                # git | folder | agents
//!
//! [secrets]
//! keep = false                                # keep originals, encrypted (also --keep-secrets)
//! recipient = "age1..."                       # age recipient to encrypt them to
//!
//! [retention]                                 # `infrasnap forget` without flags (restic's rules)
//! keep_daily = 7
//! keep_weekly = 5
//! keep_monthly = 12
//! keep_within = "30d"                         # every snapshot within 30 days of the newest
//! keep_label = ["v*"]                         # every snapshot whose label matches
//! count_partial = false                       # runs complete with errors count toward periods
//!
//! [restore]                                   # how restore uploads S3 objects
//! multipart_threshold = "64MiB"               # above it, in parts (bytes or KiB/MiB/GiB)
//! part_size = "64MiB"
//!
//! [notify]                                    # after a scheduled run that fails, ends with
//! command = "mail -s infrasnap ops@example.com"  # errors or finds the previous run missing
//! ```
//!
//! Unknown keys are errors (a misspelt key must not silently capture less).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Repository folder (the `--repo` option and `INFRASNAP_REPO` take precedence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<PathBuf>,
    #[serde(default)]
    pub aws: AwsConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas: Option<GasConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local: Vec<LocalSource>,
    #[serde(default)]
    pub secrets: SecretsConfig,
    /// The retention policy of `forget` and of scheduled runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<crate::retention::Policy>,
    /// What to run when a scheduled run needs attention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifyConfig>,
    /// Findings: suppressions.
    #[serde(default, skip_serializing_if = "FindingsConfig::is_empty")]
    pub findings: FindingsConfig,
    /// S3 capture: versions, SSE-C keys.
    #[serde(default)]
    pub s3: S3Config,
    /// Restore: how S3 objects are uploaded.
    #[serde(default, skip_serializing_if = "RestoreConfig::is_empty")]
    pub restore: RestoreConfig,
}

/// `[restore]`: `multipart_threshold` (objects above it go up in parts; default 64 MiB) and
/// `part_size` (default 64 MiB): bytes, or text such as `"16MiB"`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipart_threshold: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_size: Option<Size>,
}

/// A size in the config: bytes, or text with a unit (`"64MiB"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Size {
    Bytes(u64),
    Text(String),
}

impl Size {
    pub fn bytes(&self) -> std::result::Result<u64, String> {
        match self {
            Size::Bytes(n) => Ok(*n),
            Size::Text(t) => crate::restore::upload::parse_size(t),
        }
    }
}

impl RestoreConfig {
    fn is_empty(&self) -> bool {
        self == &RestoreConfig::default()
    }

    /// The upload sizes, the defaults where not given.
    pub fn upload_sizes(&self) -> std::result::Result<crate::restore::upload::UploadSizes, String> {
        let mut u = crate::restore::upload::UploadSizes::default();
        if let Some(s) = &self.multipart_threshold {
            u.threshold = s
                .bytes()
                .map_err(|e| format!("[restore] multipart_threshold: {e}"))?;
        }
        if let Some(s) = &self.part_size {
            u.part_size = s.bytes().map_err(|e| format!("[restore] part_size: {e}"))?;
        }
        Ok(u)
    }
}

/// `[notify]`: a command run (through `sh -c`) after a scheduled run that failed, ended with
/// errors, or found the previous scheduled run missing; it gets a JSON summary on stdin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    pub command: String,
}

/// `[findings]`: suppressions (`[[findings.suppress]]`, see [`crate::findings::suppress`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingsConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppress: Vec<crate::findings::Suppression>,
}

impl FindingsConfig {
    pub fn is_empty(&self) -> bool {
        self.suppress.is_empty()
    }
}

/// `[s3]`: how objects are read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// Capture noncurrent versions and delete markers of every bucket (as `--all-versions`).
    #[serde(default)]
    pub all_versions: bool,
    /// Capture noncurrent versions and delete markers of these buckets only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// Read the tags and legal hold of every unchanged object again (one or two requests per
    /// object), so that a tag-only or legal-hold change is recorded (as `--recheck-tags`).
    #[serde(default)]
    pub recheck_tags: bool,
    /// Customer keys (SSE-C) by bucket and key prefix: the longest matching prefix wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sse_c: Vec<SseCRule>,
}

/// `[[s3.sse_c]]`: objects of `bucket` under `prefix` are read with the key in `key_file`
/// (32 bytes: raw, base64 or hex). A relative `key_file` is relative to the config file's folder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SseCRule {
    pub bucket: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
    pub key_file: PathBuf,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// Turn AWS capture off entirely (for a config that only lists local files or Apps Script).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Regions to capture (default: every region enabled for the account).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// Only these services (`s3`, `lambda`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only: Vec<String>,
    /// All services but these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip: Vec<String>,
    /// Accounts to capture (default: the one the credential chain gives).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AwsAccount>,
}

/// One AWS account: by profile, or by a role to assume (from a profile or the default chain).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsAccount {
    /// A name for people (the snapshot stores each account under its account id).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Profile whose credentials assume `role_arn` (default: the default chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_profile: Option<String>,
    /// Region for this account's account-wide calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GasConfig {
    /// Credentials file: clasp's `~/.clasprc.json` (default), or a Google authorized-user or
    /// service-account JSON. `GOOGLE_APPLICATION_CREDENTIALS` and `INFRASNAP_GAS_TOKEN` also work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<PathBuf>,
    /// How many of the most recent versions to capture the content of.
    #[serde(default = "default_versions")]
    pub versions: u32,
    /// Also discover standalone projects through Drive.
    #[serde(default)]
    pub discover: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<GasProject>,
    /// API endpoints (for Google's regional endpoints, and tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drive_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
}

fn default_versions() -> u32 {
    3
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GasProject {
    pub script_id: String,
    /// Folder name under `gas_projects/` (default: the project's title).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalKind {
    /// A git repository: a bundle of every ref plus the uncommitted working state.
    Git,
    /// A plain folder (tools, docs, notes), honouring .gitignore and .infrasnapignore.
    Folder,
    /// Scheduled agents: macOS LaunchAgents, systemd user units, the user's crontab.
    Agents,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalSource {
    /// Folder name under `local_repos/`.
    pub name: String,
    /// `~` is expanded. Not needed for `agents`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    pub kind: LocalKind,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// Keep the original secret values, encrypted to `recipient` (never in plain text).
    #[serde(default)]
    pub keep: bool,
    /// age recipient (`age1...`) that kept secrets are encrypted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// age identity file that decrypts them, for `restore` (`--identity` overrides it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Where the fingerprint key is kept: `auto` (the OS keychain where one answers, else a
    /// file under the config folder), `file`, or `keychain`.
    #[serde(default)]
    pub key_store: crate::keychain::KeyStore,
}

/// Where a config file is looked for when `--config` is not given, in order.
pub fn default_locations(home: Option<&Path>) -> Vec<PathBuf> {
    let mut v = vec![PathBuf::from("infrasnap.toml")];
    if let Some(h) = home {
        v.push(h.join(".config/infrasnap/infrasnap.toml"));
    }
    v
}

/// A config found implicitly (not named with `--config`) is used only when this user owns it and
/// neither the group nor the world can write it.
pub fn check_implicit(path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    let m = std::fs::symlink_metadata(path).map_err(|e| CoreError::io("read config", path, e))?;
    let unsafe_ = |why: String| CoreError::Unsafe {
        path: path.to_path_buf(),
        why,
    };
    if m.file_type().is_symlink() {
        return Err(unsafe_("it is a symbolic link".into()));
    }
    if m.uid() != me {
        return Err(unsafe_(format!(
            "it is owned by user id {}, not by you (user id {me})",
            m.uid()
        )));
    }
    if m.mode() & 0o022 != 0 {
        return Err(unsafe_(format!(
            "it is writable by the group or by everyone (mode {:o}); `chmod go-w` it",
            m.mode() & 0o777
        )));
    }
    Ok(())
}

/// True for `http://` URLs to this machine (loopback), which may go without TLS.
fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = host_port.rsplit('@').next().unwrap_or(host_port);
    let host = if let Some(h) = host_port.strip_prefix('[') {
        h.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Endpoints that receive credentials (tokens, refresh tokens, client secrets) must be `https`,
/// except on loopback (tests, local emulators).
pub fn check_credential_endpoint(what: &str, url: &str) -> std::result::Result<(), String> {
    if url.starts_with("https://") || is_loopback_http(url) {
        return Ok(());
    }
    Err(format!(
        "{what} `{}` receives credentials and must be an https:// URL (plain http only to \
         127.0.0.1, ::1 or localhost)",
        crate::secrets::strip_url_credentials(url)
    ))
}

/// Expand a leading `~/`.
pub fn expand_home(p: &Path, home: Option<&Path>) -> PathBuf {
    match (p.strip_prefix("~"), home) {
        (Ok(rest), Some(h)) => h.join(rest),
        _ => p.to_path_buf(),
    }
}

impl Config {
    pub fn parse(text: &str, origin: &Path) -> Result<Config> {
        let cfg: Config = toml::from_str(text).map_err(|e| CoreError::Parse {
            path: origin.to_path_buf(),
            line: e
                .span()
                // The line the span starts on: newlines before it, plus one.
                .map(|s| {
                    text.as_bytes()[..s.start.min(text.len())]
                        .iter()
                        .filter(|b| **b == b'\n')
                        .count()
                        + 1
                })
                .unwrap_or(0),
            message: e.message().to_string(),
        })?;
        cfg.validate(origin)?;
        let mut cfg = cfg;
        if let Some(dir) = origin.parent() {
            for r in &mut cfg.s3.sse_c {
                if r.key_file.is_relative() && !r.key_file.starts_with("~") {
                    r.key_file = dir.join(&r.key_file);
                }
            }
        }
        Ok(cfg)
    }

    pub fn load(path: &Path) -> Result<Config> {
        let text =
            std::fs::read_to_string(path).map_err(|e| CoreError::io("read config", path, e))?;
        Config::parse(&text, path)
    }

    fn validate(&self, origin: &Path) -> Result<()> {
        let bad = |why: String| CoreError::InvalidName {
            name: origin.display().to_string(),
            why,
        };
        for a in &self.aws.accounts {
            if a.profile.is_some() && a.role_arn.is_some() && a.source_profile.is_some() {
                return Err(bad(format!(
                    "account `{}`: give `profile`, or `role_arn` with an optional `source_profile`, not both",
                    a.name
                )));
            }
            if a.external_id.is_some() && a.role_arn.is_none() {
                return Err(bad(format!(
                    "account `{}`: `external_id` needs a `role_arn`",
                    a.name
                )));
            }
        }
        self.restore.upload_sizes().map_err(bad)?;
        for l in &self.local {
            if l.kind != LocalKind::Agents && l.path.is_none() {
                return Err(bad(format!(
                    "[[local]] `{}`: a `path` is needed for kind {:?}",
                    l.name, l.kind
                )));
            }
            if l.name.is_empty() || l.name.contains('/') || l.name.starts_with('.') {
                return Err(bad(format!(
                    "[[local]] name `{}`: use a plain folder name (no `/`, not starting with `.`)",
                    l.name
                )));
            }
        }
        if let Some(gas) = &self.gas {
            for (what, url) in [
                ("[gas] token_endpoint", &gas.token_endpoint),
                ("[gas] script_endpoint", &gas.script_endpoint),
                ("[gas] drive_endpoint", &gas.drive_endpoint),
            ] {
                if let Some(url) = url {
                    check_credential_endpoint(what, url).map_err(bad)?;
                }
            }
        }
        if let Some(r) = &self.retention {
            r.validate().map_err(|e| bad(format!("[retention]: {e}")))?;
        }
        if self
            .notify
            .as_ref()
            .is_some_and(|n| n.command.trim().is_empty())
        {
            return Err(bad("[notify] command is empty".into()));
        }
        if self.secrets.keep && self.secrets.recipient.is_none() {
            return Err(bad(
                "[secrets] keep = true needs a `recipient` (an age public key, age1...) to encrypt to"
                    .into(),
            ));
        }
        crate::findings::suppress::validate(&self.findings.suppress)
            .map_err(|e| bad(e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_toml_error_names_the_line_of_the_offending_key() {
        let text = "repo = \"x\"\n\n[aws]\nregions = [\"us-east-1\"]\nonyl = [\"s3\"]\n";
        let e = Config::parse(text, Path::new("infrasnap.toml")).unwrap_err();
        let CoreError::Parse { line, message, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!(*line, 5, "{e}");
        assert!(message.contains("onyl"), "{e}");
    }

    #[test]
    fn the_documented_example_parses() {
        let doc = include_str!("config.rs")
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.trim_start_matches("//!").strip_prefix(' ').unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n")
            .replace("recipient = \"age1...\"", "recipient = \"age1xyz\"");
        let c = Config::parse(&doc, Path::new("doc")).unwrap();
        assert_eq!(c.aws.accounts.len(), 2);
        assert_eq!(c.gas.as_ref().unwrap().versions, 3);
        assert_eq!(c.local[0].kind, LocalKind::Git);
        let r = c.retention.as_ref().unwrap();
        assert_eq!(r.keep_weekly, Some(crate::retention::Count::N(5)));
        assert_eq!(r.keep_label, ["v*"]);
        assert!(c.notify.unwrap().command.starts_with("mail"));
    }

    #[test]
    fn a_bad_retention_section_says_what_is_wrong() {
        let e = Config::parse("[retention]\nkeep_daily = -2\n", Path::new("c.toml")).unwrap_err();
        assert!(e.to_string().contains("cannot be negative"), "{e}");
        let e = Config::parse(
            "[retention]\nkeep_within = \"3 weeks\"\n",
            Path::new("c.toml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("bad duration"), "{e}");
    }

    #[test]
    fn empty_config_is_the_default() {
        assert_eq!(
            Config::parse("", Path::new("x")).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn misspelt_keys_and_bad_combinations_are_errors_that_say_where() {
        let e =
            Config::parse("[aws]\nregion = [\"x\"]\n", Path::new("infrasnap.toml")).unwrap_err();
        assert!(
            e.to_string().contains("infrasnap.toml") && e.to_string().contains("region"),
            "{e}"
        );
        let e = Config::parse("[secrets]\nkeep = true\n", Path::new("c")).unwrap_err();
        assert!(e.to_string().contains("recipient"), "{e}");
        let e =
            Config::parse("[[local]]\nname = \"x\"\nkind = \"git\"\n", Path::new("c")).unwrap_err();
        assert!(e.to_string().contains("path"), "{e}");
    }

    #[rstest::rstest]
    #[case("https://oauth2.googleapis.com/token", true)]
    #[case("http://127.0.0.1:8080/token", true)]
    #[case("http://localhost/token", true)]
    #[case("http://[::1]:9/x", true)]
    #[case("http://oauth.example.com/token", false)]
    #[case("http://127.0.0.1.evil.com/token", false)]
    #[case("http://user:pw@10.0.0.1/token", false)]
    #[case("ftp://x", false)]
    fn credential_endpoints_must_be_https_but_loopback(#[case] url: &str, #[case] ok: bool) {
        assert_eq!(check_credential_endpoint("e", url).is_ok(), ok, "{url}");
        let text = format!("[gas]\ntoken_endpoint = \"{url}\"\n");
        assert_eq!(Config::parse(&text, Path::new("c")).is_ok(), ok, "{url}");
    }

    #[test]
    fn an_implicit_config_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("infrasnap.toml");
        std::fs::write(&p, "").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        check_implicit(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o664)).unwrap();
        assert!(check_implicit(&p)
            .unwrap_err()
            .to_string()
            .contains("writable"));
        let l = d.path().join("link.toml");
        std::os::unix::fs::symlink(&p, &l).unwrap();
        assert!(check_implicit(&l).is_err());
    }

    #[test]
    fn home_is_expanded() {
        let h = Path::new("/home/ops");
        assert_eq!(
            expand_home(Path::new("~/x"), Some(h)),
            PathBuf::from("/home/ops/x")
        );
        assert_eq!(
            expand_home(Path::new("/abs"), Some(h)),
            PathBuf::from("/abs")
        );
    }
}
