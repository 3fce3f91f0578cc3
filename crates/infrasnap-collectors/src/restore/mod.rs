//! The writers of restore: they execute the steps of a [`RestorePlan`] made by infrasnap-core
//! (`restore::plan`), one file per service (`s3.rs`, `route53.rs`, `dynamodb.rs`, `lambda.rs`, `iam.rs`,
//! `apigateway.rs`, `ses.rs`). Every decision was made in
//! the plan; a writer only puts back what a step says, reading bytes and documents from the
//! repository's blob store.
//!
//! [`apply`] runs the steps stage by stage (a stage starts when the one before is done, so a
//! bucket exists before its objects), with bounded concurrency inside a stage, and records each
//! step done in the [`Journal`] so a killed apply resumes where it stopped.

#[cfg(feature = "apigateway")]
pub mod apigateway;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "iam")]
pub mod iam;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "route53")]
pub mod route53;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "ses")]
pub mod ses;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use infrasnap_core::restore::journal::{Failed, Journal};
use infrasnap_core::restore::plan::Writers;
use infrasnap_core::restore::{RestorePlan, Step, Subject};

/// What this build can write back.
pub fn writers() -> Writers {
    #[allow(unused_mut)]
    let mut w = Writers::default();
    #[cfg(feature = "s3")]
    {
        w.s3 = true;
        w.bucket_settings = s3::SETTINGS.to_vec();
    }
    #[cfg(feature = "route53")]
    w.kinds.extend(route53::KINDS);
    #[cfg(feature = "dynamodb")]
    w.kinds.extend(dynamodb::KINDS);
    #[cfg(feature = "lambda")]
    w.kinds.extend(lambda::KINDS);
    #[cfg(feature = "iam")]
    w.kinds.extend(iam::KINDS);
    #[cfg(feature = "apigateway")]
    w.kinds.extend(apigateway::KINDS);
    #[cfg(feature = "ses")]
    w.kinds.extend(ses::KINDS);
    w
}

/// A step that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct WriteError {
    pub message: String,
}

impl WriteError {
    pub fn new(message: impl Into<String>) -> Self {
        WriteError {
            message: message.into(),
        }
    }

    /// An SDK error, described with its code and message.
    pub fn sdk<E, R>(call: &str, e: &aws_sdk_sts::error::SdkError<E, R>) -> Self
    where
        E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + crate::aws::sdk_error::HasStatus,
    {
        WriteError::new(format!("{call}: {}", crate::aws::sdk_error::describe(e)))
    }
}

/// Everything the writers need.
pub struct Context {
    pub sdk: aws_config::SdkConfig,
    pub s3_path_style: bool,
    /// `<repo>/.infrasnap/blobs`.
    pub blobs: PathBuf,
    /// Steps written at once inside a stage.
    pub jobs: usize,
    #[cfg(feature = "s3")]
    pub(crate) s3: s3::Clients,
}

impl Context {
    pub fn new(
        sdk: aws_config::SdkConfig,
        s3_path_style: bool,
        blobs: PathBuf,
        jobs: usize,
    ) -> Self {
        Context {
            #[cfg(feature = "s3")]
            s3: s3::Clients::new(&sdk, s3_path_style),
            sdk,
            s3_path_style,
            blobs,
            jobs: jobs.max(1),
        }
    }

    /// The snapshot document a step writes back (its `Create`/`Update` blob), read from the blob
    /// store. Every writer reads documents through here, so what a document needs before it is
    /// written (kept secret values in place of their markers) happens in one place.
    pub fn document(&self, step: &Step) -> Result<serde_json::Value, WriteError> {
        let blob = step.action.blob().ok_or_else(|| {
            WriteError::new(format!("a {} step without its document", step.target.kind))
        })?;
        infrasnap_core::catalog::read_doc(&self.blobs, blob)
            .map_err(|e| WriteError::new(e.to_string()))
    }

    /// The store path of a blob.
    pub fn blob_path(&self, blob: &infrasnap_core::ids::BlobId) -> PathBuf {
        let hex = blob.to_hex();
        self.blobs.join(&hex[..2]).join(hex)
    }
}

/// Write one step.
pub async fn write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    match (&step.subject, step.target.kind.as_str()) {
        #[cfg(feature = "s3")]
        (Subject::Object { .. }, _) => s3::object(cx, step).await,
        #[cfg(feature = "s3")]
        (Subject::BucketSetting { .. }, _) => s3::setting(cx, step).await,
        #[cfg(feature = "s3")]
        (Subject::Resource, "aws.s3.bucket") => s3::bucket(cx, step).await,
        #[cfg(feature = "dynamodb")]
        (Subject::Resource | Subject::Items { .. }, k) if dynamodb::KINDS.contains(&k) => {
            dynamodb::write(cx, step).await
        }
        #[cfg(feature = "iam")]
        (Subject::Resource, k) if iam::KINDS.contains(&k) => iam::write(cx, step).await,
        #[cfg(feature = "lambda")]
        (Subject::Resource, k) if lambda::KINDS.contains(&k) => lambda::write(cx, step).await,
        #[cfg(feature = "route53")]
        (Subject::Resource, k) if route53::KINDS.contains(&k) => route53::write(cx, step).await,
        #[cfg(feature = "apigateway")]
        (Subject::Resource, k) if apigateway::KINDS.contains(&k) => {
            apigateway::write(cx, step).await
        }
        #[cfg(feature = "ses")]
        (Subject::Resource, k) if ses::KINDS.contains(&k) => ses::write(cx, step).await,
        _ => Err(WriteError::new(format!(
            "this infrasnap has no writer for {} (built without its feature?)",
            step.target.kind
        ))),
    }
}

/// How an apply run went.
#[derive(Debug, Default)]
pub struct ApplyOutcome {
    /// Steps this run did.
    pub done: u64,
    pub failed: Vec<Failed>,
}

/// Run the plan's writing steps not in `journal` yet, stage by stage; a stage with a failure
/// stops the apply (later stages depend on it). `progress` counts steps done.
pub async fn apply(
    cx: &Context,
    plan: &RestorePlan,
    journal: &Journal,
    progress: &AtomicU64,
) -> ApplyOutcome {
    let done_before: BTreeSet<u64> = journal.done().clone();
    let mut out = ApplyOutcome::default();
    let mut stages: Vec<u8> = plan.writing_steps().map(|s| s.stage).collect();
    stages.dedup();
    for stage in stages {
        let todo: Vec<&Step> = plan
            .writing_steps()
            .filter(|s| s.stage == stage && !done_before.contains(&s.n))
            .collect();
        let results: Vec<(u64, String, Result<(), WriteError>)> = futures::stream::iter(todo)
            .map(|s| async move { (s.n, s.what(), write(cx, s).await) })
            .buffer_unordered(cx.jobs)
            .then(|(n, what, r)| async move {
                if r.is_ok() {
                    if let Err(e) = journal.record(n) {
                        return (n, what, Err(WriteError::new(e.to_string())));
                    }
                    progress.fetch_add(1, Ordering::Relaxed);
                }
                (n, what, r)
            })
            .collect()
            .await;
        for (n, what, r) in results {
            match r {
                Ok(()) => out.done += 1,
                Err(e) => out.failed.push(Failed {
                    n,
                    what,
                    error: e.message,
                }),
            }
        }
        if !out.failed.is_empty() {
            out.failed.sort_by_key(|f| f.n);
            break;
        }
    }
    out
}
