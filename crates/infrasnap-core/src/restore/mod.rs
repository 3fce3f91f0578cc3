//! Point-in-time restore, as data: [`plan::plan_restore`] compares a snapshot with the live estate
//! (captured into a scratch snapshot through the ordinary capture path) and decides every step;
//! the binary's `restore apply` only executes a [`RestorePlan`] through the writers of the
//! collectors crate, journals each step ([`journal`]), and proves the result by capturing again
//! and checking every touched resource against the hash the plan wanted.
//!
//! What lives here: the plan and its file format (sealed with a hash of its own content and the
//! repository's id, so an edited, truncated or foreign plan is refused), the selection of what to
//! restore ([`select`]), the conflict policy and the blast-radius guard ([`policy`]), the
//! planning itself ([`plan`]), the journal and the receipt ([`journal`]). What must not: any
//! cloud SDK, or any write to the estate.
//!
//! ```no_run
//! use infrasnap_core::restore::RestorePlan;
//! let text = std::fs::read_to_string("plan.json")?;
//! let plan = RestorePlan::open(&text, "9f2c...")?; // refuses an edited or foreign plan
//! print!("{plan}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod acm;
pub mod apigateway;
pub mod batch;
pub mod health;
pub mod journal;
pub mod lambda;
pub mod plan;
pub mod policy;
pub mod render;
pub mod retarget;
pub mod select;
pub mod upload;
pub mod zone;

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{CoreError, IoContext};
use crate::ids::{BlobId, ResourceId};
use crate::model::s3::S3ObjectRecord;

pub use policy::IfExists;
pub use select::{RestoreSelection, Target};

/// The `plan` member of a plan file.
pub const PLAN_TAG: &str = "infrasnap-restore-plan";
/// The version of the plan file's shape.
pub const PLAN_VERSION: u32 = 1;
/// A `want` hash that means "exists, whatever its content" (a bucket created under a new name).
pub const EXISTS: &str = "exists";

/// Errors of restore planning and of plan files: what is wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    Core(#[from] CoreError),

    #[error(transparent)]
    Diff(#[from] crate::diff::DiffError),

    #[error("bad restore selection: {0}")]
    Selection(String),

    /// A `--certificate-key` that is not the key of the certificate it names.
    #[error("{0}")]
    Key(String),

    #[error("the plan file is not a complete restore plan ({0}); it may be truncated or not a plan at all: make a new one with `infrasnap restore plan`")]
    Unreadable(String),

    #[error("the plan file was changed after it was made (its content does not match its hash {recorded}); nothing was applied: make a new plan with `infrasnap restore plan` and review it")]
    Tampered { recorded: String },

    #[error("the plan was made for another repository (its repository id is {plan}, this repository's is {here}); nothing was applied: pass the --repo it was made for, or make a plan here")]
    ForeignRepository { plan: String, here: String },

    #[error("the plan file has version {found}, this infrasnap reads version {supported}; make the plan again with this infrasnap")]
    Version { found: u32, supported: u32 },

    #[error("the plan would update or delete more than 30% of the live resources of a kind ({0}); nothing was planned. Narrow the selection, or pass --force if that is what you mean")]
    BlastRadius(String),
}

/// A restore plan: every decision made, in the order it is applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestorePlan {
    /// [`PLAN_TAG`].
    pub plan: String,
    pub version: u32,
    /// The id of the repository the plan was made in (`.infrasnap/restore/repository-id`).
    pub repository: String,
    /// The snapshot restored.
    pub snapshot: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub selection: RestoreSelection,
    pub target: Target,
    pub if_exists: IfExists,
    pub delete_extra: bool,
    /// `--force`: the blast-radius guard was overridden.
    pub forced: bool,
    /// The scope captured as "live" (what `apply` captures again to check for staleness).
    pub scope: LiveScope,
    /// In dependency order: stage by stage.
    pub steps: Vec<Step>,
    /// What cannot be restored automatically, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manual: Vec<Manual>,
    /// Kinds over the blast-radius threshold (only with `forced`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guard: Vec<policy::Breach>,
    /// What people should know about the target (`--to-region` of a global kind).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub summary: Summary,
    /// Hex BLAKE3 of the plan file's canonical JSON without this member.
    #[serde(default)]
    pub hash: String,
}

/// What `apply` captures to see the live state again: AWS services, buckets, regions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveScope {
    /// Services (`s3`, `route53`, ...); empty: none needed.
    pub services: Vec<String>,
    /// S3 buckets (the targets); empty: every bucket.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// Apps Script projects are selected: capture them too (with the config's `[gas]`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gas: bool,
    /// Local sources are selected: their live side is the `--to-dir` directory, read directly.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub local: bool,
}

impl LiveScope {
    /// Whether the live state needs a capture (AWS services or Apps Script).
    pub fn captures(&self) -> bool {
        !self.services.is_empty() || self.gas
    }
}

/// Counts, for people and scripts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub create: u64,
    pub update: u64,
    pub delete: u64,
    pub skip: u64,
    /// Selected and already equal to the snapshot: nothing to do.
    pub unchanged: u64,
    /// Live objects or resources the snapshot does not have, kept (no `--delete-extra`).
    pub extra_kept: u64,
    pub manual: u64,
}

/// One step: a resource (or a bucket setting, an object) to create, update, delete, or skip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// 1-based position in the plan; the journal records it.
    pub n: u64,
    /// Dependency stage: every step of a stage is done before the next stage starts.
    pub stage: u8,
    /// The resource in the snapshot.
    pub source: ResourceId,
    /// Where it goes (differs from `source` for `--to-bucket`, `--to-table`).
    pub target: ResourceId,
    pub subject: Subject,
    pub action: Action,
    /// Hash of the live state the step was computed against; `None`: absent.
    pub live: Option<String>,
    /// Hash the target must have once the step is done; `None`: absent (a delete).
    pub want: Option<String>,
    /// The snapshot's parts of the resource a writer needs (a function's `code.zip`), by name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub parts: std::collections::BTreeMap<String, BlobId>,
    /// Ids in the step's document of resources that are gone live and get a new id when they are
    /// created again (a distribution's cache policy or origin access control): the writer puts
    /// in the id the live resource of that name has when the step runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<IdRef>,
    /// What a person should know about the step (a distribution deleted only once disabled, a
    /// re-created one's new id and domain name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Members of the document that name the source account or region, written as the
    /// target's (another account or region; [`retarget`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewrites: Vec<retarget::Rewrite>,
    /// A resource created anew whose id the service assigns (a REST API): the snapshot's id
    /// cannot come back, so the created one is found by this name when it is read back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_by_name: Option<String>,
    /// The private key file of an imported ACM certificate (`--certificate-key`): its path and
    /// keyed fingerprint, never the key; apply reads the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<acm::KeyFile>,
}

/// A reference from a step's document to a resource whose id the service assigns: an id mapping
/// resolved at apply, by the referenced resource's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdRef {
    /// The referenced resource as the snapshot has it (its old id).
    pub id: ResourceId,
    /// Its name, unique in the account: how its new id is found at apply.
    pub name: String,
    /// The step of this plan that creates it again, if the plan does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
}

impl Step {
    /// A short name for messages: the target and what inside it.
    pub fn what(&self) -> String {
        match &self.subject {
            Subject::Resource => self.target.to_string(),
            Subject::BucketSetting { name, .. } => format!("{} setting {name}", self.target),
            Subject::Object { key, .. } => format!("s3://{}/{key}", self.target.id),
            Subject::Items { .. } => format!("{} items", self.target),
            Subject::Dir { path, .. } => format!("{} into {path}", self.target),
        }
    }

    /// Whether the step writes anything.
    pub fn writes(&self) -> bool {
        !matches!(self.action, Action::Skip { .. })
    }
}

/// What a step is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Subject {
    /// The resource's document (and parts): a bucket itself, a record set, a table, a function.
    Resource,
    /// One setting of a bucket (`policy`, `cors`, `tagging`, ...), from the snapshot's bucket
    /// record: `setting` is the snapshot's entry as captured (`{"state": "present", "value":
    /// ...}` or `{"state": "absent"}`).
    BucketSetting { name: String, setting: Value },
    /// The items of a DynamoDB table: every item of the snapshot is put (BatchWriteItem), and
    /// with `delete_extra` every live item whose key the snapshot lacks is deleted.
    Items {
        /// The snapshot's item files (`data/*.json.gz`, DynamoDB JSON lines).
        parts: Vec<BlobId>,
        /// The key attributes, partition key first.
        key: Vec<String>,
        items: u64,
        delete_extra: bool,
    },
    /// A local source (`local.git`, `local.folder`) restored into a directory (`--to-dir`): the
    /// folder's files, or a git repository's untracked files (its bundle and patches are the
    /// step's `parts`), each with its mode and mtime. An existing file is overwritten only when
    /// `overwrite` (`--force`); otherwise the writer refuses it.
    Dir {
        /// The directory the source is restored into (absolute).
        path: String,
        files: Vec<plan::local::FileEntry>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        overwrite: bool,
    },
    /// One S3 object: its key in the target bucket, and the snapshot's record (bytes by blob,
    /// content headers, metadata, tags); `record` is absent for a delete.
    Object {
        key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        record: Option<Box<S3ObjectRecord>>,
    },
}

/// The decision for a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Create {
        /// The snapshot's document, for a resource.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        blob: Option<BlobId>,
    },
    Update {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        blob: Option<BlobId>,
        /// Each field that differs, with its live and its snapshot value.
        fields: Vec<FieldValues>,
    },
    /// Only with `--delete-extra`.
    Delete,
    Skip {
        reason: String,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Create { .. } => "create",
            Action::Update { .. } => "update",
            Action::Delete => "delete",
            Action::Skip { .. } => "skip",
        }
    }

    /// The snapshot document's blob, for a create or update of a resource.
    pub fn blob(&self) -> Option<&BlobId> {
        match self {
            Action::Create { blob } | Action::Update { blob, .. } => blob.as_ref(),
            _ => None,
        }
    }
}

/// One field of an update: what it is live, what it was in the snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldValues {
    /// A JSON pointer (`/content_type`, `/metadata/owner`), or `content` for an object's bytes.
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Value>,
}

/// Something that cannot be restored automatically, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manual {
    pub id: ResourceId,
    /// Why, and what to do instead.
    pub reason: String,
}

impl RestorePlan {
    /// Seal the plan: its hash over the rest of its content.
    pub fn seal(&mut self) {
        self.hash = String::new();
        self.hash = content_hash(&serde_json::to_value(&*self).expect("a plan is JSON"));
    }

    /// The plan file's text (pretty JSON), sealed.
    pub fn to_file_text(&mut self) -> String {
        self.seal();
        let mut s = serde_json::to_string_pretty(self).expect("a plan is JSON");
        s.push('\n');
        s
    }

    /// Read a plan file made in the repository whose id is `repository`: refused when it does
    /// not parse (truncated), when its content does not match its hash (edited), or when it was
    /// made in another repository.
    pub fn open(text: &str, repository: &str) -> Result<RestorePlan, RestoreError> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| RestoreError::Unreadable(e.to_string()))?;
        if v.get("plan").and_then(Value::as_str) != Some(PLAN_TAG) {
            return Err(RestoreError::Unreadable(format!(
                "it has no `\"plan\": \"{PLAN_TAG}\"` member"
            )));
        }
        let recorded = v
            .get("hash")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if content_hash(&v) != recorded {
            return Err(RestoreError::Tampered { recorded });
        }
        if let Some(found) = v.get("version").and_then(Value::as_u64) {
            if found != u64::from(PLAN_VERSION) {
                return Err(RestoreError::Version {
                    found: found as u32,
                    supported: PLAN_VERSION,
                });
            }
        }
        let plan: RestorePlan =
            serde_json::from_value(v).map_err(|e| RestoreError::Unreadable(e.to_string()))?;
        if plan.repository != repository {
            return Err(RestoreError::ForeignRepository {
                plan: plan.repository,
                here: repository.to_string(),
            });
        }
        Ok(plan)
    }

    /// The first 16 hex digits of the hash: the journal's folder name.
    pub fn short_hash(&self) -> &str {
        &self.hash[..self.hash.len().min(16)]
    }

    /// Steps that write, in order.
    pub fn writing_steps(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.writes())
    }
}

/// The hash of a plan's JSON without its `hash` member (serde_json's maps are sorted, so the
/// compact text is canonical).
fn content_hash(v: &Value) -> String {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("hash");
    }
    blake3::hash(&serde_json::to_vec(&v).expect("JSON"))
        .to_hex()
        .to_string()
}

/// The repository's id, made on first use: `.infrasnap/restore/repository-id` (random, hex).
pub fn repository_id(repo_root: &Path) -> Result<String, CoreError> {
    let dir = repo_root.join(".infrasnap").join("restore");
    let p = dir.join("repository-id");
    match std::fs::read_to_string(&p) {
        Ok(s) if !s.trim().is_empty() => return Ok(s.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(CoreError::io("read repository id", &p, e)),
    }
    std::fs::create_dir_all(&dir).ctx("create restore folder", &dir)?;
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| {
        CoreError::io(
            "make repository id",
            &p,
            std::io::Error::other(e.to_string()),
        )
    })?;
    let id = hex::encode(b);
    crate::repo::write_atomic(&p, format!("{id}\n").as_bytes())?;
    Ok(id)
}

/// The hash of a JSON value, as steps record it.
pub fn value_hash(v: &Value) -> String {
    blake3::hash(&serde_json::to_vec(v).expect("JSON"))
        .to_hex()
        .to_string()
}

impl std::fmt::Display for RestorePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&render::plan(self, render::MAX_LISTED))
    }
}

#[cfg(test)]
mod tests;
