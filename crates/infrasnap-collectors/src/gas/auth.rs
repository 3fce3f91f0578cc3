//! Credentials for the Apps Script and Drive APIs, and the access tokens made from them.
//!
//! Looked for in this order: an access token in `INFRASNAP_GAS_TOKEN`; the `[gas] credentials`
//! file, else `GOOGLE_APPLICATION_CREDENTIALS`, else clasp's `~/.clasprc.json`. A file may be
//! clasp's older shape (`token` + `oauth2ClientSettings`), clasp's newer shape
//! (`tokens.default`), a Google authorized-user JSON or a service-account JSON.
//!
//! Nothing secret ever leaves this module in a message: errors name the file and the field, never
//! a value; the secret fields are [`Secret`]s, whose `Debug` prints a placeholder.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use infrasnap_core::config::expand_home;
use infrasnap_core::secrets::Sensitive;
use serde_json::Value;

/// The environment variable holding a raw access token.
pub const TOKEN_ENV: &str = "INFRASNAP_GAS_TOKEN";
pub const DEFAULT_TOKEN_ENDPOINT: &str = "https://oauth2.googleapis.com/token";
/// What a service account asks for: read projects, list Drive files.
pub const SERVICE_ACCOUNT_SCOPES: &str = "https://www.googleapis.com/auth/script.projects.readonly https://www.googleapis.com/auth/drive.metadata.readonly";
/// A token this close to its expiry is refreshed before use.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// A credential or token: never printed, never serialised.
pub type Secret = Sensitive<String>;

fn secret(s: impl Into<String>) -> Secret {
    Sensitive::new(s.into())
}

/// An access token and when it stops working (None: unknown).
#[derive(Debug, Clone)]
pub struct Token {
    pub value: Secret,
    pub expires_at: Option<SystemTime>,
}

impl Token {
    fn usable(&self, now: SystemTime) -> bool {
        !self.value.expose().is_empty() && self.expires_at.is_none_or(|t| now + EXPIRY_MARGIN < t)
    }
}

#[derive(Debug, Clone)]
pub enum Credential {
    /// A bare access token: used as is, cannot be refreshed.
    AccessToken(Secret),
    /// An OAuth user (clasp, authorized-user JSON): refreshable.
    OAuth {
        client_id: String,
        client_secret: Secret,
        refresh_token: Secret,
        access: Option<Token>,
    },
    /// A service account: a signed JWT is exchanged for a token.
    ServiceAccount {
        client_email: String,
        private_key: Secret,
        private_key_id: Option<String>,
        token_uri: Option<String>,
    },
}

/// Credentials and where they came from (a file path or the variable's name, for messages).
#[derive(Debug, Clone)]
pub struct Found {
    pub credential: Credential,
    pub origin: String,
}

/// Find the credentials. `env` reads an environment variable (the process environment in
/// production). Errors are for people and hold no secret.
pub fn load(
    configured: Option<&Path>,
    home: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Found, String> {
    if let Some(t) = env(TOKEN_ENV).filter(|t| !t.trim().is_empty()) {
        return Ok(Found {
            credential: Credential::AccessToken(secret(t.trim())),
            origin: TOKEN_ENV.into(),
        });
    }
    let (path, why): (PathBuf, &str) = if let Some(p) = configured {
        (expand_home(p, home), "[gas] credentials")
    } else if let Some(p) = env("GOOGLE_APPLICATION_CREDENTIALS").filter(|p| !p.is_empty()) {
        (
            expand_home(Path::new(&p), home),
            "GOOGLE_APPLICATION_CREDENTIALS",
        )
    } else if let Some(h) = home {
        (h.join(".clasprc.json"), "clasp's default")
    } else {
        return Err(no_credentials("(no home folder to look in)"));
    };
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(no_credentials(&format!(
                "{} ({why}) does not exist",
                path.display()
            )))
        }
        Err(e) => {
            return Err(format!(
                "cannot read the Apps Script credentials {} ({why}): {e}",
                path.display()
            ))
        }
    };
    let credential = parse(&text).map_err(|why| {
        format!(
            "the Apps Script credentials {} are not usable: {why}",
            path.display()
        )
    })?;
    Ok(Found {
        credential,
        origin: path.display().to_string(),
    })
}

fn no_credentials(detail: &str) -> String {
    format!(
        "no Apps Script credentials: {detail}. Run `clasp login`, or set [gas] credentials in \
         infrasnap.toml (or GOOGLE_APPLICATION_CREDENTIALS) to an authorized-user or \
         service-account JSON, or put an access token in {TOKEN_ENV}"
    )
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(|x| x.as_str())
        .filter(|x| !x.is_empty())
        .map(str::to_string)
}

fn need(v: &Value, k: &str, shape: &str) -> Result<String, String> {
    s(v, k).ok_or_else(|| format!("{shape}: the field `{k}` is missing or empty"))
}

fn expiry_ms(v: &Value) -> Option<SystemTime> {
    let ms = v.get("expiry_date").and_then(|x| {
        x.as_u64()
            .or_else(|| x.as_f64().map(|f| f as u64))
            .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
    })?;
    Some(UNIX_EPOCH + Duration::from_millis(ms))
}

fn access_of(v: &Value) -> Option<Token> {
    s(v, "access_token").map(|t| Token {
        value: secret(t),
        expires_at: expiry_ms(v),
    })
}

/// Recognise one of the supported shapes. Parsed as an untyped value so that no error message can
/// ever quote a field's value.
pub fn parse(bytes: &[u8]) -> Result<Credential, String> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("not JSON (line {}, column {})", e.line(), e.column()))?;
    if !v.is_object() {
        return Err("not a JSON object".into());
    }
    // clasp 3: {"tokens": {"default": {...}}}
    if let Some(tokens) = v.get("tokens").and_then(|t| t.as_object()) {
        let shape = "clasp credentials (tokens.default)";
        let t = tokens
            .get("default")
            .or_else(|| {
                (tokens.len() == 1)
                    .then(|| tokens.values().next())
                    .flatten()
            })
            .ok_or_else(|| format!("{shape}: no `default` entry under `tokens`"))?;
        return oauth_from(t, "client_id", "client_secret", t, shape);
    }
    // clasp 2: {"token": {...}, "oauth2ClientSettings": {...}}
    if let Some(t) = v.get("token").filter(|t| t.is_object()) {
        let shape = "clasp credentials (token + oauth2ClientSettings)";
        return match v.get("oauth2ClientSettings").filter(|c| c.is_object()) {
            Some(c) => oauth_from(t, "clientId", "clientSecret", c, shape),
            None => match access_of(t) {
                Some(a) => Ok(Credential::AccessToken(a.value)),
                None => Err(format!(
                    "{shape}: no `oauth2ClientSettings` and no access token"
                )),
            },
        };
    }
    match s(&v, "type").as_deref() {
        Some("authorized_user") => oauth_from(
            &v,
            "client_id",
            "client_secret",
            &v,
            "authorized-user credentials",
        ),
        Some("service_account") => {
            let shape = "service-account credentials";
            Ok(Credential::ServiceAccount {
                client_email: need(&v, "client_email", shape)?,
                private_key: secret(need(&v, "private_key", shape)?),
                private_key_id: s(&v, "private_key_id"),
                token_uri: s(&v, "token_uri"),
            })
        }
        Some(other) => Err(format!(
            "credentials of type `{other}` are not supported (use clasp's ~/.clasprc.json, an \
             authorized_user or a service_account JSON)"
        )),
        None => Err(
            "not a shape infrasnap knows (clasp's ~/.clasprc.json, an authorized_user or a \
             service_account JSON)"
                .into(),
        ),
    }
}

fn oauth_from(
    token: &Value,
    id_key: &str,
    secret_key: &str,
    client: &Value,
    shape: &str,
) -> Result<Credential, String> {
    let access = access_of(token);
    let refresh = s(token, "refresh_token");
    let (id, sec) = (s(client, id_key), s(client, secret_key));
    match (refresh, id, sec) {
        (Some(r), Some(id), Some(sec)) => Ok(Credential::OAuth {
            client_id: id,
            client_secret: secret(sec),
            refresh_token: secret(r),
            access,
        }),
        (r, id, sec) => match access {
            // Not refreshable, but a token is there: use it while it lasts.
            Some(a) => Ok(Credential::OAuth {
                client_id: id.unwrap_or_default(),
                client_secret: secret(sec.unwrap_or_default()),
                refresh_token: secret(r.unwrap_or_default()),
                access: Some(a),
            }),
            None => {
                let missing = [
                    ("refresh_token", r.is_none()),
                    (id_key, id.is_none()),
                    (secret_key, sec.is_none()),
                ]
                .iter()
                .filter(|(_, m)| *m)
                .map(|(k, _)| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
                Err(format!("{shape}: missing {missing}"))
            }
        },
    }
}

/// Why no token could be had. Never holds a secret.
#[derive(Debug, Clone)]
pub struct AuthError {
    pub code: Option<String>,
    pub message: String,
}

/// Hands out access tokens, refreshing them when needed; one refresh at a time.
pub struct Auth {
    http: reqwest::Client,
    credential: Credential,
    token_endpoint: String,
    current: tokio::sync::Mutex<Option<Token>>,
    /// A refresh that failed for good: not tried again in this run.
    failed: std::sync::Mutex<Option<AuthError>>,
}

impl Auth {
    pub fn new(
        http: reqwest::Client,
        credential: Credential,
        token_endpoint: Option<&str>,
    ) -> Self {
        let token_endpoint = match (&credential, token_endpoint) {
            (_, Some(e)) => e.to_string(),
            (
                Credential::ServiceAccount {
                    token_uri: Some(u), ..
                },
                None,
            ) => u.clone(),
            _ => DEFAULT_TOKEN_ENDPOINT.to_string(),
        };
        let current = match &credential {
            Credential::AccessToken(t) => Some(Token {
                value: t.clone(),
                expires_at: None,
            }),
            Credential::OAuth { access, .. } => access.clone(),
            Credential::ServiceAccount { .. } => None,
        };
        Auth {
            http,
            credential,
            token_endpoint,
            current: tokio::sync::Mutex::new(current),
            failed: std::sync::Mutex::new(None),
        }
    }

    /// Whether a rejected token can be replaced by a new one.
    pub fn can_refresh(&self) -> bool {
        match &self.credential {
            Credential::AccessToken(_) => false,
            Credential::OAuth {
                refresh_token,
                client_id,
                ..
            } => !refresh_token.expose().is_empty() && !client_id.is_empty(),
            Credential::ServiceAccount { .. } => true,
        }
    }

    /// Whether the token came from the environment (for the guidance on a 401).
    pub fn is_bare_token(&self) -> bool {
        matches!(self.credential, Credential::AccessToken(_))
    }

    /// A token to use now.
    pub async fn token(&self) -> Result<Secret, AuthError> {
        let mut cur = self.current.lock().await;
        if let Some(t) = cur.as_ref() {
            if t.usable(SystemTime::now()) || !self.can_refresh() {
                return Ok(t.value.clone());
            }
        }
        if !self.can_refresh() {
            return Err(AuthError {
                code: None,
                message: "the credentials hold no access token and cannot get one (no refresh \
                          token): run `clasp login` again"
                    .into(),
            });
        }
        if let Some(e) = self.failed.lock().expect("auth lock").clone() {
            return Err(e);
        }
        let t = match self.fetch().await {
            Ok(t) => t,
            Err(e) => {
                if e.code.is_some() {
                    // The token endpoint answered no: asking again will not change that.
                    *self.failed.lock().expect("auth lock") = Some(e.clone());
                }
                return Err(e);
            }
        };
        let v = t.value.clone();
        *cur = Some(t);
        Ok(v)
    }

    /// The API rejected `used`: forget it, so that the next [`token`](Self::token) refreshes
    /// (unless another task already did).
    pub async fn rejected(&self, used: &Secret) {
        let mut cur = self.current.lock().await;
        if cur.as_ref().is_some_and(|t| &t.value == used) && self.can_refresh() {
            *cur = None;
        }
    }

    async fn fetch(&self) -> Result<Token, AuthError> {
        let form: Vec<(&str, String)> = match &self.credential {
            Credential::OAuth {
                client_id,
                client_secret,
                refresh_token,
                ..
            } => vec![
                ("grant_type", "refresh_token".into()),
                ("client_id", client_id.clone()),
                ("client_secret", client_secret.expose().clone()),
                ("refresh_token", refresh_token.expose().clone()),
            ],
            Credential::ServiceAccount {
                client_email,
                private_key,
                private_key_id,
                token_uri,
            } => {
                let aud = token_uri
                    .clone()
                    .unwrap_or_else(|| DEFAULT_TOKEN_ENDPOINT.to_string());
                let jwt =
                    sign_assertion(client_email, private_key, private_key_id.as_deref(), &aud)?;
                vec![
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:jwt-bearer".into(),
                    ),
                    ("assertion", jwt),
                ]
            }
            Credential::AccessToken(_) => unreachable!("checked by can_refresh"),
        };
        let resp = self
            .http
            .post(&self.token_endpoint)
            .form(&form)
            .send()
            .await
            .map_err(|e| AuthError {
                code: None,
                message: format!(
                    "could not reach the token endpoint {}: {}",
                    self.token_endpoint,
                    e.without_url()
                ),
            })?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let err = s(&body, "error").unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
            let desc = s(&body, "error_description")
                .map(|d| format!(" ({})", truncate(&d, 200)))
                .unwrap_or_default();
            let guidance = match (err.as_str(), &self.credential) {
                (_, Credential::ServiceAccount { .. }) => {
                    "the service account was refused: check the key file is current and the account is enabled"
                }
                ("invalid_grant", _) => {
                    "refresh token expired or revoked: run `clasp login` again"
                }
                ("invalid_client" | "unauthorized_client", _) => {
                    "the OAuth client was refused: run `clasp login` again"
                }
                _ => "could not refresh the access token: run `clasp login` again",
            };
            return Err(AuthError {
                code: Some(err.clone()),
                message: format!("{guidance} (token endpoint said {err}{desc})"),
            });
        }
        let value = s(&body, "access_token").ok_or_else(|| AuthError {
            code: None,
            message: "the token endpoint answered without an access_token".into(),
        })?;
        let expires_at = body
            .get("expires_in")
            .and_then(|x| {
                x.as_u64()
                    .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
            })
            .map(|secs| SystemTime::now() + Duration::from_secs(secs));
        Ok(Token {
            value: secret(value),
            expires_at,
        })
    }
}

/// The JWT a service account trades for a token (RS256, one hour).
fn sign_assertion(
    client_email: &str,
    private_key: &Secret,
    key_id: Option<&str>,
    aud: &str,
) -> Result<String, AuthError> {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    let key =
        EncodingKey::from_rsa_pem(private_key.expose().as_bytes()).map_err(|_| AuthError {
            code: None,
            message: "the service account's private_key is not a usable RSA PEM key".into(),
        })?;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = key_id.map(str::to_string);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let claims = serde_json::json!({
        "iss": client_email,
        "scope": SERVICE_ACCOUNT_SCOPES,
        "aud": aud,
        "iat": now,
        "exp": now + 3600,
    });
    encode(&header, &claims, &key).map_err(|e| AuthError {
        code: None,
        message: format!("could not sign the service account's token request: {e}"),
    })
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oauth(c: Credential) -> (String, String, String, Option<String>) {
        match c {
            Credential::OAuth {
                client_id,
                client_secret,
                refresh_token,
                access,
            } => (
                client_id,
                client_secret.expose().clone(),
                refresh_token.expose().clone(),
                access.map(|a| a.value.expose().clone()),
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn both_clasp_shapes_and_authorized_user() {
        let old = br#"{"token":{"access_token":"at1","refresh_token":"rt1","expiry_date":1700000000000,"token_type":"Bearer"},
            "oauth2ClientSettings":{"clientId":"cid","clientSecret":"cs","redirectUri":"http://localhost"},"isLocalCreds":false}"#;
        assert_eq!(
            oauth(parse(old).unwrap()),
            ("cid".into(), "cs".into(), "rt1".into(), Some("at1".into()))
        );
        let new = br#"{"tokens":{"default":{"client_id":"cid2","client_secret":"cs2","type":"authorized_user","refresh_token":"rt2","access_token":"at2"}}}"#;
        assert_eq!(
            oauth(parse(new).unwrap()),
            (
                "cid2".into(),
                "cs2".into(),
                "rt2".into(),
                Some("at2".into())
            )
        );
        let au = br#"{"type":"authorized_user","client_id":"c3","client_secret":"s3","refresh_token":"r3"}"#;
        assert_eq!(
            oauth(parse(au).unwrap()),
            ("c3".into(), "s3".into(), "r3".into(), None)
        );
        let sa = format!(
            r#"{{"type":"service_account","client_email":"x@y.iam.gserviceaccount.com","private_key":"-----BEGIN {pk}-----\nzz\n-----END {pk}-----\n","token_uri":"https://oauth2.googleapis.com/token"}}"#,
            pk = "PRIVATE KEY"
        );
        let sa = sa.as_bytes();
        assert!(matches!(
            parse(sa).unwrap(),
            Credential::ServiceAccount { .. }
        ));
    }

    #[test]
    fn errors_never_quote_values() {
        let e =
            parse(br#"{"type":"authorized_user","client_id":"c","client_secret":"SECRETVALUE"}"#)
                .unwrap_err();
        assert!(
            e.contains("refresh_token") && !e.contains("SECRETVALUE"),
            "{e}"
        );
        let e = parse(br#"{"type":"external_account","x":"SECRETVALUE"}"#).unwrap_err();
        assert!(!e.contains("SECRETVALUE"), "{e}");
        let e = parse(b"{\"a\": SECRETVALUE}").unwrap_err();
        assert!(!e.contains("SECRETVALUE"), "{e}");
        assert!(!format!("{:?}", parse(br#"{"type":"authorized_user","client_id":"c","client_secret":"SECRETVALUE","refresh_token":"r"}"#).unwrap()).contains("SECRETVALUE"));
    }

    #[test]
    fn lookup_order() {
        let tmp = std::env::temp_dir().join(format!("infrasnap-gas-auth-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::write(
            tmp.join(".clasprc.json"),
            br#"{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r"}"#,
        )
        .unwrap();
        let none = |_: &str| None;
        let f = load(None, Some(&tmp), &none).unwrap();
        assert!(f.origin.ends_with(".clasprc.json"));
        let env_tok = |k: &str| (k == TOKEN_ENV).then(|| "tok".to_string());
        assert!(matches!(
            load(None, Some(&tmp), &env_tok).unwrap().credential,
            Credential::AccessToken(_)
        ));
        let e = load(Some(Path::new("~/nope.json")), Some(&tmp), &none).unwrap_err();
        assert!(e.contains("nope.json") && e.contains("clasp login"), "{e}");
        std::fs::remove_dir_all(&tmp).ok();
    }
}
