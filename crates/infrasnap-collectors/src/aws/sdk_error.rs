//! The collectors' errors. [`ApiFailure`] is what one failed call said (any SDK error, described
//! without losing the service's code and message, or an answer that could not be read);
//! [`ErrorKind`] says from it whether a retry can help; [`CollectError`] adds the service, the
//! action and the resource it concerns, and is what a collector records (as the manifest's
//! `RecordedError`).

use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use infrasnap_core::metadata::RecordedError;

/// What kind of failure, and so what can be done about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Throttled, a server error, no answer, a repeated page: trying again later can help.
    Retryable,
    /// The credentials may not do this: grant the action (a retry will not help).
    Denied,
    /// The resource is not there (deleted since it was listed, or never made).
    NotFound,
    /// The endpoint does not offer the call (an emulator, or a region without the service).
    Unsupported,
    /// The request or the answer was not valid: an unreadable answer, a value that cannot be
    /// written. A retry will not help.
    Invalid,
    /// Writing into the repository failed.
    Local,
    /// Anything else the service refused.
    Other,
}

impl ErrorKind {
    pub fn retry_can_help(self) -> bool {
        self == ErrorKind::Retryable
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Retryable => "retryable",
            ErrorKind::Denied => "denied",
            ErrorKind::NotFound => "not found",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Local => "local",
            ErrorKind::Other => "refused",
        }
    }
}

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

    /// A failure with an AWS-style code of our own (`Unreadable`, `RepeatedPageToken`, ...).
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ApiFailure {
            code: Some(code.to_string()),
            message: message.into(),
            status: None,
        }
    }

    /// A failure with a message only.
    pub fn message(message: impl Into<String>) -> Self {
        ApiFailure {
            code: None,
            message: message.into(),
            status: None,
        }
    }

    /// What kind of failure this is, from the code (first) and the HTTP status.
    pub fn kind(&self) -> ErrorKind {
        if self.is_denied() {
            return ErrorKind::Denied;
        }
        let code = self.code.as_deref().unwrap_or_default();
        let retryable = [
            "Throttling",
            "ThrottlingException",
            "ThrottledException",
            "TooManyRequestsException",
            "RequestLimitExceeded",
            "SlowDown",
            "RequestTimeout",
            "ServiceUnavailable",
            "ServiceUnavailableException",
            "InternalError",
            "InternalFailure",
            "InternalServerError",
            "RepeatedPageToken",
            "DownloadFailed",
            "ChecksumMismatch",
        ];
        match code {
            "" => {}
            "LocalWriteFailed" => return ErrorKind::Local,
            "Unreadable" => return ErrorKind::Invalid,
            "UnknownOperationException" | "NotImplemented" | "InvalidAction" => {
                return ErrorKind::Unsupported
            }
            c if retryable.contains(&c) => return ErrorKind::Retryable,
            c if c.starts_with("NoSuch")
                || c.ends_with("NotFound")
                || c.ends_with("NotFoundException") =>
            {
                return ErrorKind::NotFound
            }
            c if c.starts_with("Invalid") || c.starts_with("Validation") => {
                return ErrorKind::Invalid
            }
            _ => {}
        }
        match (self.code.is_some(), self.status) {
            (_, Some(429)) => ErrorKind::Retryable,
            (_, Some(s)) if s >= 500 => ErrorKind::Retryable,
            // An HTML 404 without an AWS code: the endpoint does not know the call.
            (false, Some(404)) => ErrorKind::Unsupported,
            (true, Some(404)) => ErrorKind::NotFound,
            // No answer at all (a connection refused or cut, a timeout).
            (false, None) => ErrorKind::Retryable,
            _ => ErrorKind::Other,
        }
    }

    /// This failure of `action` on `resource`, for `service`'s records.
    pub fn of(&self, service: &str, action: &str, resource: &str) -> CollectError {
        CollectError {
            service: service.to_string(),
            action: action.to_string(),
            resource: resource.to_string(),
            kind: self.kind(),
            code: self.code.clone(),
            message: self.message.clone(),
        }
    }
}

/// One failed step of a collector: which service and action, on which resource, what kind of
/// failure (so whether a retry can help), and the service's code and message. A collector records
/// it (it becomes the manifest's [`RecordedError`]) and goes on with the rest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{service} {action} on {resource}: {}{message} ({})", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default(), if kind.retry_can_help() { "a retry can help" } else { kind.as_str() })]
pub struct CollectError {
    /// The source: `lambda`, `iam`, ...
    pub service: String,
    /// The IAM action or operation that failed (`lambda:GetFunction`), or `write`.
    pub action: String,
    /// What it was about: an ARN, a name, a path in the snapshot.
    pub resource: String,
    pub kind: ErrorKind,
    /// The AWS error code, when there is one.
    pub code: Option<String>,
    pub message: String,
}

impl CollectError {
    /// A failure to write `resource` into the repository.
    pub fn local(service: &str, resource: &str, e: impl std::fmt::Display) -> Self {
        CollectError {
            service: service.to_string(),
            action: "write".into(),
            resource: resource.to_string(),
            kind: ErrorKind::Local,
            code: Some("LocalWriteFailed".into()),
            message: e.to_string(),
        }
    }

    pub fn retry_can_help(&self) -> bool {
        self.kind.retry_can_help()
    }

    /// The same error with another code (or none).
    pub fn with_code(mut self, code: Option<String>) -> Self {
        self.code = code;
        self
    }

    /// The same error with another message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
}

impl From<CollectError> for RecordedError {
    fn from(e: CollectError) -> Self {
        RecordedError {
            service: e.service,
            action: e.action,
            resource: e.resource,
            code: e.code,
            message: e.message,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_say_whether_a_retry_can_help() {
        let f = |code: Option<&str>, status: Option<u16>| ApiFailure {
            code: code.map(str::to_string),
            message: "m".into(),
            status,
        };
        for (failure, kind) in [
            (
                f(Some("ThrottlingException"), Some(400)),
                ErrorKind::Retryable,
            ),
            (f(None, Some(503)), ErrorKind::Retryable),
            (f(None, None), ErrorKind::Retryable),
            (f(Some("RepeatedPageToken"), None), ErrorKind::Retryable),
            (f(Some("AccessDenied"), Some(403)), ErrorKind::Denied),
            (f(None, Some(403)), ErrorKind::Denied),
            (f(Some("NoSuchEntity"), Some(404)), ErrorKind::NotFound),
            (
                f(Some("ResourceNotFoundException"), Some(400)),
                ErrorKind::NotFound,
            ),
            (f(None, Some(404)), ErrorKind::Unsupported),
            (f(Some("Unreadable"), None), ErrorKind::Invalid),
            (
                f(Some("ValidationException"), Some(400)),
                ErrorKind::Invalid,
            ),
            (f(Some("LocalWriteFailed"), None), ErrorKind::Local),
            (f(Some("ConflictException"), Some(409)), ErrorKind::Other),
        ] {
            assert_eq!(failure.kind(), kind, "{failure:?}");
        }
    }

    #[test]
    fn an_error_reads_as_one_line_naming_service_action_resource_and_code() {
        let e = ApiFailure {
            code: Some("ThrottlingException".into()),
            message: "Rate exceeded".into(),
            status: Some(400),
        }
        .of(
            "lambda",
            "lambda:GetFunction",
            "arn:aws:lambda:eu-west-1:1:function:f",
        );
        assert!(e.retry_can_help());
        assert_eq!(
            e.to_string(),
            "lambda lambda:GetFunction on arn:aws:lambda:eu-west-1:1:function:f: \
             ThrottlingException: Rate exceeded (a retry can help)"
        );
        let w = CollectError::local("ses", "ses/x.json", "disk full");
        assert_eq!(
            w.to_string(),
            "ses write on ses/x.json: LocalWriteFailed: disk full (local)"
        );
        let r: RecordedError = w.into();
        assert_eq!(r.code.as_deref(), Some("LocalWriteFailed"));
    }
}
