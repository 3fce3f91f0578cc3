//! The writers of restore: they execute the steps of a [`RestorePlan`] made by infrasnap-core
//! (`restore::plan`), one file per service (`s3.rs`, `route53.rs`, `route53_health.rs`, `acm.rs`, `dynamodb.rs`, `lambda.rs`, `iam.rs`, `cloudfront.rs`, `ssm.rs`, `apigateway.rs`, `ses.rs`; Apps Script in `gas.rs`, local sources in `local.rs`). Every decision was made in
//! the plan; a writer only puts back what a step says, reading bytes and documents from the
//! repository's blob store.
//!
//! [`apply`] runs the steps stage by stage (a stage starts when the one before is done, so a
//! bucket exists before its objects), with bounded concurrency inside a stage, and records each
//! step done in the [`Journal`] so a killed apply resumes where it stopped.

#[cfg(feature = "acm")]
pub mod acm;
#[cfg(feature = "apigateway")]
pub mod apigateway;
#[cfg(feature = "cloudfront")]
pub mod cloudfront;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
pub mod gas;
#[cfg(feature = "iam")]
pub mod iam;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod local;
#[cfg(feature = "route53")]
pub mod route53;
#[cfg(feature = "route53")]
pub mod route53_health;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "s3")]
pub mod s3_settings;
#[cfg(feature = "ses")]
pub mod ses;
#[cfg(feature = "ssm")]
pub mod ssm;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use infrasnap_core::kept::{KeptValues, KEPT_PART};
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
    #[cfg(feature = "route53")]
    w.kinds.extend(route53_health::KINDS);
    #[cfg(feature = "acm")]
    w.kinds.extend(acm::KINDS);
    #[cfg(feature = "dynamodb")]
    w.kinds.extend(dynamodb::KINDS);
    #[cfg(feature = "lambda")]
    w.kinds.extend(lambda::KINDS);
    #[cfg(feature = "iam")]
    w.kinds.extend(iam::KINDS);
    #[cfg(feature = "ssm")]
    w.kinds.extend(ssm::KINDS);
    #[cfg(feature = "cloudfront")]
    w.kinds.extend(cloudfront::KINDS);
    w.kinds.extend(gas::KINDS);
    w.kinds.extend(local::KINDS);
    #[cfg(feature = "apigateway")]
    w.kinds.extend(apigateway::KINDS);
    #[cfg(feature = "ses")]
    w.kinds.extend(ses::KINDS);
    w
}

/// Kinds whose writer keeps the live value of a secret the snapshot holds only as a marker (a
/// Lambda environment variable, an API stage variable), so their documents may still hold
/// markers when they are written; every other document with a marker is refused.
pub const KEEP_LIVE_SECRETS: &[&str] = &[
    "aws.lambda.function",
    "aws.apigateway.rest_api",
    "aws.apigatewayv2.api",
];

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
    /// The age identities that decrypt kept secret values (`--identity FILE`).
    pub identity: Option<Identities>,
    /// When an S3 object goes up in parts, and their size (`[restore]` in the config).
    pub upload: infrasnap_core::restore::upload::UploadSizes,
    #[cfg(feature = "s3")]
    pub(crate) s3: s3::Clients,
    /// The config's `[gas]` (credentials, endpoints), for Apps Script projects.
    pub gas: Option<infrasnap_core::config::GasConfig>,
    /// The home folder (`~/.clasprc.json`).
    pub home: Option<PathBuf>,
    /// The snapshot restored (named in an Apps Script version's description).
    pub snapshot: String,
    /// S3 objects uploaded whose content the server confirmed by its ETag: the read-back that
    /// follows checks them by their headers instead of downloading them.
    pub known: std::sync::Arc<infrasnap_core::engine::KnownContent>,
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
            identity: None,
            gas: None,
            home: None,
            snapshot: String::new(),
            upload: Default::default(),
            known: Default::default(),
        }
    }

    /// Decrypt kept secret values with these identities.
    pub fn with_identity(mut self, identity: Identities) -> Self {
        self.identity = Some(identity);
        self
    }

    /// The kept secret values of a step (its `kept.age` part), decrypted; None when the snapshot
    /// kept none for it.
    pub fn kept_values(&self, step: &Step) -> Result<Option<KeptValues>, WriteError> {
        let Some(blob) = step.parts.get(KEPT_PART) else {
            return Ok(None);
        };
        let Some(identity) = &self.identity else {
            return Err(WriteError::new(format!(
                "{}: its secret values were kept encrypted; pass the age identity that decrypts \
                 them (--identity FILE)",
                step.what()
            )));
        };
        let enc = std::fs::read(self.blob_path(blob)).map_err(|e| {
            WriteError::new(format!(
                "{}: cannot read its kept secret values: {e}",
                step.what()
            ))
        })?;
        identity
            .decrypt(&enc)
            .map(Some)
            .map_err(|e| WriteError::new(format!("{}: {e}", step.what())))
    }

    /// The snapshot document a step writes back (its `Create`/`Update` blob), read from the blob
    /// store. Every writer reads documents through here, so what a document needs before it is
    /// written (kept secret values in place of their markers) happens in one place.
    pub fn document(&self, step: &Step) -> Result<serde_json::Value, WriteError> {
        let blob = step.action.blob().ok_or_else(|| {
            WriteError::new(format!("a {} step without its document", step.target.kind))
        })?;
        let mut doc = infrasnap_core::catalog::read_doc(&self.blobs, blob)
            .map_err(|e| WriteError::new(e.to_string()))?;
        if let Some(kept) = self.kept_values(step)? {
            kept.put_back(&mut doc);
        }
        // A marker is never written back as if it were the value. The writers of
        // [`KEEP_LIVE_SECRETS`] put the live value in place of a marker they were not given.
        if !KEEP_LIVE_SECRETS.contains(&step.target.kind.as_str())
            && infrasnap_core::diff::json::has_marker(&doc)
        {
            return Err(WriteError::new(format!(
                "{}: needs values: its document holds redacted values the snapshot did not keep",
                step.what()
            )));
        }
        // Another account or region: the members the plan lists, as the target's.
        infrasnap_core::restore::retarget::apply(&mut doc, &step.rewrites);
        Ok(doc)
    }

    /// The store path of a blob.
    pub fn blob_path(&self, blob: &infrasnap_core::ids::BlobId) -> PathBuf {
        let hex = blob.to_hex();
        self.blobs.join(&hex[..2]).join(hex)
    }
}

/// Age identities (from an identity file: `AGE-SECRET-KEY-1...` lines, `#` comments), which
/// decrypt the kept secret values. Debug names how many, never a key.
pub struct Identities(Vec<age::x25519::Identity>);

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identities({})", self.0.len())
    }
}

impl Identities {
    /// Read an age identity file.
    pub fn read(path: &std::path::Path) -> Result<Identities, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read the age identity file `{}`: {e}",
                path.display()
            )
        })?;
        let mut out = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let id = line.parse::<age::x25519::Identity>().map_err(|_| {
                format!(
                    "`{}` is not an age identity file (expected `AGE-SECRET-KEY-1...` lines, as \
                     written by age-keygen)",
                    path.display()
                )
            })?;
            out.push(id);
        }
        if out.is_empty() {
            return Err(format!(
                "`{}` holds no age identity (expected an `AGE-SECRET-KEY-1...` line)",
                path.display()
            ));
        }
        Ok(Identities(out))
    }

    /// Decrypt kept values (any of the identities may match).
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<KeptValues, String> {
        let plain = self.decrypt_bytes(ciphertext)?;
        KeptValues::from_bytes(plain.expose())
    }

    /// Decrypt a kept original (a local source's `kept_secrets/<path>.age`), held in memory
    /// only: the caller writes it where it belongs and nowhere else.
    pub fn decrypt_bytes(
        &self,
        ciphertext: &[u8],
    ) -> Result<infrasnap_core::secrets::Sensitive<Vec<u8>>, String> {
        for id in &self.0 {
            if let Ok(plain) = age::decrypt(id, ciphertext) {
                return Ok(infrasnap_core::secrets::Sensitive::new(plain));
            }
        }
        Err(
            "the age identity given does not decrypt the secret values this snapshot kept \
             (they are encrypted to another recipient); pass the identity of the `recipient` \
             configured in [secrets] when the snapshot was taken"
                .to_string(),
        )
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
        #[cfg(feature = "route53")]
        (Subject::Resource, k) if route53_health::KINDS.contains(&k) => {
            route53_health::write(cx, step).await
        }
        #[cfg(feature = "acm")]
        (Subject::Resource, k) if acm::KINDS.contains(&k) => acm::write(cx, step).await,
        #[cfg(feature = "ssm")]
        (Subject::Resource, k) if ssm::KINDS.contains(&k) => ssm::write(cx, step).await,
        #[cfg(feature = "cloudfront")]
        (Subject::Resource, k) if cloudfront::KINDS.contains(&k) => {
            cloudfront::write(cx, step).await
        }
        (Subject::Resource, k) if gas::KINDS.contains(&k) => gas::write(cx, step).await,
        (Subject::Dir { .. }, k) if local::KINDS.contains(&k) => local::write(cx, step).await,
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

/// What `apply` writes at once: one step, or steps a service takes in one request (Route53
/// change batches).
enum Unit<'a> {
    One(&'a Step),
    #[cfg(feature = "route53")]
    Records(route53::Batch<'a>),
}

impl Unit<'_> {
    fn steps(&self) -> Vec<&Step> {
        match self {
            Unit::One(s) => vec![*s],
            #[cfg(feature = "route53")]
            Unit::Records(b) => b.steps.clone(),
        }
    }

    async fn write(&self, cx: &Context) -> Result<(), WriteError> {
        match self {
            Unit::One(s) => write(cx, s).await,
            #[cfg(feature = "route53")]
            Unit::Records(b) => route53::send(cx, b).await,
        }
    }
}

/// A stage's steps as units of writing.
async fn units<'a>(cx: &Context, todo: Vec<&'a Step>) -> Vec<Unit<'a>> {
    #[cfg(feature = "route53")]
    {
        let (records, rest): (Vec<&Step>, Vec<&Step>) =
            todo.into_iter().partition(|s| route53::batched(s));
        let mut out: Vec<Unit<'a>> = rest.into_iter().map(Unit::One).collect();
        if !records.is_empty() {
            out.extend(
                route53::batches(cx, records)
                    .await
                    .into_iter()
                    .map(Unit::Records),
            );
        }
        out
    }
    #[cfg(not(feature = "route53"))]
    {
        let _ = cx;
        todo.into_iter().map(Unit::One).collect()
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
        let results: Vec<(u64, String, Result<(), WriteError>)> =
            futures::stream::iter(units(cx, todo).await)
                .map(|u| async move {
                    let r = u.write(cx).await;
                    u.steps()
                        .into_iter()
                        .map(|s| {
                            let r = match &r {
                                Ok(()) => Ok(()),
                                Err(e) => Err(WriteError::new(e.message.clone())),
                            };
                            (s.n, s.what(), r)
                        })
                        .collect::<Vec<_>>()
                })
                .buffer_unordered(cx.jobs)
                .flat_map(futures::stream::iter)
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
