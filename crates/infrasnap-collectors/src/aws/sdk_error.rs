//! Turning any SDK error into what the manifest records: the AWS error code, a message, and
//! whether it was a denial.

use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

/// What one failed AWS call tells us.
#[derive(Debug, Clone)]
pub struct ApiFailure {
    /// The AWS error code (`AccessDenied`, `NoSuchBucketPolicy`, ...), when the service sent one.
    pub code: Option<String>,
    pub message: String,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
}

impl ApiFailure {
    pub fn is_denied(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some(
                "AccessDenied"
                    | "AccessDeniedException"
                    | "UnauthorizedOperation"
                    | "AllAccessDisabled"
            )
        ) || self.status == Some(403)
    }

    /// True when the code is one of `codes` (for "this setting is absent" answers).
    pub fn code_in(&self, codes: &[&str]) -> bool {
        self.code.as_deref().is_some_and(|c| codes.contains(&c))
    }
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(c) => write!(f, "{c}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Describe an SDK error without losing the service's code and message.
pub fn describe<E, R>(err: &SdkError<E, R>) -> ApiFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + HasStatus,
{
    let status = err.raw_response().and_then(|r| r.status_code());
    match err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            let message = match (e.code(), e.message()) {
                (_, Some(m)) => m.to_string(),
                // No code and no message: the response could not be understood; say why.
                (None, None) => format!(
                    "unreadable response{}: {}",
                    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(),
                    innermost_cause(e)
                ),
                (Some(_), None) => e.to_string(),
            };
            ApiFailure {
                code: e.code().map(str::to_string),
                message,
                status,
            }
        }
        other => {
            // The SDK's own rendering ends in a Debug dump of the whole error: readable causes
            // here, the dump only in the log at -vv.
            tracing::debug!("AWS SDK error: {other:?}");
            ApiFailure {
                code: other.code().map(str::to_string),
                message: shorten(&cause_chain(
                    other.to_string(),
                    std::error::Error::source(other),
                )),
                status,
            }
        }
    }
}

/// Every cause in the chain, by Display, each once: "dispatch failure: io error: ... tcp connect
/// error: Connection refused (os error 111)".
fn cause_chain(first: String, next: Option<&(dyn std::error::Error + 'static)>) -> String {
    let mut parts: Vec<String> = vec![first];
    let mut e = next;
    while let Some(cur) = e {
        let text = cur.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        e = cur.source();
    }
    parts.join(": ")
}

/// The deepest error in the chain: the one that says what actually went wrong.
fn innermost_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut e = err;
    while let Some(next) = e.source() {
        e = next;
    }
    shorten(&e.to_string())
}

/// Keep messages readable in logs and MANIFEST.md.
fn shorten(s: &str) -> String {
    const MAX: usize = 300;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The HTTP status of a raw response, for the SDK's response type.
pub trait HasStatus {
    fn status_code(&self) -> Option<u16>;
}

impl HasStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> Option<u16> {
        Some(self.status().as_u16())
    }
}
