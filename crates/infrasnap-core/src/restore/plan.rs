//! Planning: the snapshot compared with the live estate (a scratch snapshot of the same scope),
//! read in reverse. Every decision is made here; `apply` only executes the steps.
//!
//! Per selected resource of the snapshot:
//! - an S3 bucket: the bucket itself (created when missing), then each setting, then each
//!   selected object (by key, with `--to-bucket` / `--to-prefix` applied);
//! - a kind with a writer: its document, by catalog digest;
//! - anything else, and what needs people (ACM keys, redacted secrets, Lightsail instances):
//!   a [`Manual`] entry that says why.
//!
//! The same hashes serve three times: the plan records the live hash it was computed against and
//! the hash the target must have afterwards; `apply` captures again and refuses a step whose live
//! hash is neither ([`Observer`], staleness); after applying, every touched target must have its
//! wanted hash (verification).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;

use super::policy::{self, decide, Decision, IfExists};
use super::select::{target_key, Compiled, RestoreSelection, Target, BUCKET};
use super::{
    value_hash, Action, FieldValues, LiveScope, Manual, RestoreError, RestorePlan, Step, Subject,
    Summary, EXISTS, PLAN_TAG, PLAN_VERSION,
};
use crate::catalog::{kinds, normalize, CatalogRecord};
use crate::diff::json::{diff_docs, has_marker};
use crate::diff::{Listing, Side};
use crate::ids::ResourceId;
use crate::index::read_all;
use crate::model::s3::S3ObjectRecord;

/// DynamoDB tables: restored as their definition (created when missing) and their items.
pub const TABLE: &str = "aws.dynamodb.table";
/// The pseudo-kind the blast-radius guard counts DynamoDB items under.
pub const ITEM_KIND: &str = "aws.dynamodb.item";

/// The pseudo-kind the blast-radius guard counts S3 objects under.
pub const OBJECT_KIND: &str = "aws.s3.object";

/// Object record members a restore cannot or need not reproduce: stamps S3 sets by itself, where
/// the snapshot keeps the file, and the ETag (a multipart upload's differs from a single PUT's of
/// the same bytes; the bytes are compared by blob).
const OBJECT_IGNORED: &[&str] = &[
    "key",
    "last_modified",
    "version_id",
    "path",
    "escaped",
    "checksum",
    "etag",
];

/// What the writers of this build can do (the collectors crate says).
#[derive(Debug, Clone, Default)]
pub struct Writers {
    /// Kinds restored from their document (besides S3 buckets and objects).
    pub kinds: Vec<&'static str>,
    /// S3 bucket settings that can be put back (`policy`, `cors`, ...).
    pub bucket_settings: Vec<&'static str>,
    /// S3 buckets and objects.
    pub s3: bool,
}

/// Everything planning needs.
pub struct PlanInput<'a> {
    /// The repository's id ([`super::repository_id`]).
    pub repository: String,
    /// The snapshot restored.
    pub snapshot: &'a Side,
    /// The live estate: a scratch snapshot of [`live_scope`].
    pub live: &'a Side,
    /// The latest published snapshot: a live state it holds counts as recorded
    /// (`--if-exists if-unchanged`).
    pub latest: Option<&'a Side>,
    pub selection: RestoreSelection,
    pub target: Target,
    pub if_exists: IfExists,
    pub delete_extra: bool,
    pub force: bool,
    pub writers: &'a Writers,
    /// The snapshot kept secret originals (`--keep-secrets`) and the age identity is at hand.
    pub secrets_available: bool,
    /// RFC 3339.
    pub now: String,
}

/// What has to be captured to see the live state of a restore of `snapshot`: the services of
/// the selected kinds, the target buckets, the regions of the selected resources.
pub fn live_scope(
    snapshot: &Side,
    sel: &RestoreSelection,
    target: &Target,
) -> Result<LiveScope, RestoreError> {
    let c = sel.compile(target)?;
    let mut scope = LiveScope::default();
    let mut buckets = Vec::new();
    for r in snapshot.catalog.records.iter().filter(|r| c.matches(&r.id)) {
        let Some(spec) = kinds::spec(&r.id.kind) else {
            continue;
        };
        if !scope.services.iter().any(|s| s == spec.source) && spec.source != "gas" {
            scope.services.push(spec.source.to_string());
        }
        if r.id.kind == BUCKET {
            buckets.push(target.to_bucket.clone().unwrap_or_else(|| r.id.id.clone()));
        }
        if !r.id.region.is_empty() && !scope.regions.contains(&r.id.region) {
            scope.regions.push(r.id.region.clone());
        }
    }
    scope.services.sort();
    buckets.sort();
    buckets.dedup();
    // Only S3 selected: capture the target buckets alone.
    if scope.services == ["s3"] {
        scope.buckets = buckets;
    }
    scope.regions.sort();
    Ok(scope)
}

/// Make the plan.
pub fn plan_restore(input: PlanInput<'_>) -> Result<RestorePlan, RestoreError> {
    let sel = input.selection.compile(&input.target)?;
    let selected: Vec<&CatalogRecord> = input
        .snapshot
        .catalog
        .records
        .iter()
        .filter(|r| sel.matches(&r.id))
        .collect();
    let n_buckets = selected.iter().filter(|r| r.id.kind == BUCKET).count();
    if input.target.to_bucket.is_some() && n_buckets != 1 {
        return Err(RestoreError::Selection(format!(
            "--to-bucket needs exactly one bucket selected (this selection has {n_buckets}): \
             pass --bucket NAME"
        )));
    }
    let n_tables = selected
        .iter()
        .filter(|r| r.id.kind == "aws.dynamodb.table")
        .count();
    if input.target.to_table.is_some() && n_tables != 1 {
        return Err(RestoreError::Selection(format!(
            "--to-table needs exactly one DynamoDB table selected (this selection has \
             {n_tables}): pass its id"
        )));
    }
    let mut p = Planner {
        input: &input,
        sel: &sel,
        steps: Vec::new(),
        manual: Vec::new(),
        summary: Summary::default(),
        guard: BTreeMap::new(),
    };
    for r in &selected {
        if r.id.kind == BUCKET {
            p.bucket(r)?;
        } else if r.id.kind == TABLE && input.writers.kinds.contains(&TABLE) {
            p.table(r)?;
        } else {
            p.resource(r)?;
        }
    }
    p.extras()?;
    let Planner {
        mut steps,
        manual,
        mut summary,
        guard,
        ..
    } = p;
    steps.sort_by_key(|s| s.stage);
    for (i, s) in steps.iter_mut().enumerate() {
        s.n = i as u64 + 1;
        match s.action {
            Action::Create { .. } => summary.create += 1,
            Action::Update { .. } => summary.update += 1,
            Action::Delete => summary.delete += 1,
            Action::Skip { .. } => summary.skip += 1,
        }
    }
    summary.manual = manual.len() as u64;
    let breaches = policy::guard(&guard);
    if !breaches.is_empty() && !input.force {
        return Err(RestoreError::BlastRadius(
            breaches
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ));
    }
    let mut plan = RestorePlan {
        plan: PLAN_TAG.to_string(),
        version: PLAN_VERSION,
        repository: input.repository.clone(),
        snapshot: input.snapshot.name.clone(),
        created_at: input.now.clone(),
        selection: input.selection.clone(),
        target: input.target.clone(),
        if_exists: input.if_exists,
        delete_extra: input.delete_extra,
        forced: input.force,
        scope: live_scope(input.snapshot, &input.selection, &input.target)?,
        steps,
        manual,
        guard: breaches,
        summary,
        hash: String::new(),
    };
    plan.seal();
    Ok(plan)
}

struct Planner<'a, 'b> {
    input: &'b PlanInput<'a>,
    sel: &'b Compiled,
    steps: Vec<Step>,
    manual: Vec<Manual>,
    summary: Summary,
    /// kind → (updates + deletes, live count), for the guard.
    guard: BTreeMap<String, (u64, u64)>,
}

impl Planner<'_, '_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        source: &ResourceId,
        target: &ResourceId,
        subject: Subject,
        action: Action,
        live: Option<String>,
        want: Option<String>,
    ) {
        let stage = stage(&target.kind, &subject);
        if matches!(action, Action::Update { .. } | Action::Delete) {
            let kind = match subject {
                Subject::Object { .. } => OBJECT_KIND.to_string(),
                _ => target.kind.clone(),
            };
            // Bucket settings belong to their bucket, counted once per bucket below; items are
            // counted one by one where they are planned.
            if !matches!(
                subject,
                Subject::BucketSetting { .. } | Subject::Items { .. }
            ) {
                self.guard.entry(kind).or_default().0 += 1;
            }
        }
        self.steps.push(Step {
            n: 0,
            stage,
            source: source.clone(),
            target: target.clone(),
            subject,
            action,
            live,
            want,
            parts: BTreeMap::new(),
        });
    }

    /// A live resource that differs: write it, or skip it, as the policy says.
    fn conflict(&self, recorded: bool) -> Decision {
        decide(self.input.if_exists, recorded)
    }

    fn bucket(&mut self, rec: &CatalogRecord) -> Result<(), RestoreError> {
        let inp = self.input;
        let tname = inp
            .target
            .to_bucket
            .clone()
            .unwrap_or_else(|| rec.id.id.clone());
        let tid = ResourceId::new(BUCKET, rec.id.account.clone(), "", tname);
        if !inp.writers.s3 {
            self.manual.push(Manual {
                id: rec.id.clone(),
                reason: "this infrasnap was built without S3 (the `s3` feature)".into(),
            });
            return Ok(());
        }
        let live_rec = inp.live.catalog.get(&tid);
        if live_rec.is_none() {
            if let Some(why) = inp
                .live
                .reason(&inp.live.listing(&tid))
                .filter(|_| !no_such_bucket(inp.live, &tid.id))
            {
                self.push(
                    &rec.id,
                    &tid,
                    Subject::Resource,
                    Action::Skip {
                        reason: format!("the live state cannot be read: {why}"),
                    },
                    None,
                    None,
                );
                return Ok(());
            }
            self.push(
                &rec.id,
                &tid,
                Subject::Resource,
                Action::Create {
                    blob: Some(rec.blob),
                },
                None,
                Some(EXISTS.into()),
            );
        }
        let snap_doc = inp.snapshot.doc(rec)?;
        let live_doc = live_rec.map(|r| inp.live.doc(r)).transpose()?;
        if !self.sel.objects_only() {
            self.settings(rec, &tid, &snap_doc, live_doc.as_ref());
        }
        self.objects(rec, &tid, live_rec)
    }

    fn settings(
        &mut self,
        rec: &CatalogRecord,
        tid: &ResourceId,
        snap_doc: &Value,
        live_doc: Option<&Value>,
    ) {
        let spec = kinds::spec(BUCKET);
        let latest_doc = self.input.latest.and_then(|l| {
            let r = l.catalog.get(tid)?;
            l.doc(r).ok()
        });
        let Some(config) = snap_doc.get("config").and_then(Value::as_object) else {
            return;
        };
        let mut updated = false;
        for (name, val) in config {
            let subject = Subject::BucketSetting {
                name: name.clone(),
                setting: val.clone(),
            };
            let state = val.get("state").and_then(Value::as_str).unwrap_or_default();
            if state == "error" {
                self.push(
                    &rec.id,
                    tid,
                    subject,
                    Action::Skip {
                        reason: format!(
                            "the snapshot could not read it: {}",
                            val.get("message").and_then(Value::as_str).unwrap_or("")
                        ),
                    },
                    None,
                    None,
                );
                continue;
            }
            let want = setting_hash(spec, snap_doc, name);
            let live = live_doc.and_then(|d| setting_hash(spec, d, name));
            if live == want {
                self.summary.unchanged += 1;
                continue;
            }
            let live_state = live_doc
                .and_then(|d| d.pointer(&format!("/config/{name}/state")))
                .and_then(Value::as_str);
            if live_doc.is_none() && state == "absent" {
                // A new bucket has none.
                continue;
            }
            if live_state == Some("error") {
                self.push(
                    &rec.id,
                    tid,
                    subject,
                    Action::Skip {
                        reason: "its live value cannot be read (see the scratch snapshot's \
                                 errors); check permissions"
                            .into(),
                    },
                    live,
                    want,
                );
                continue;
            }
            if !self.input.writers.bucket_settings.contains(&name.as_str()) {
                self.push(
                    &rec.id,
                    tid,
                    subject,
                    Action::Skip {
                        reason: format!("this infrasnap cannot put back the `{name}` setting yet"),
                    },
                    live,
                    want,
                );
                continue;
            }
            let snap_val = config_value(spec, snap_doc, name);
            let live_val = live_doc.and_then(|d| config_value(spec, d, name));
            if live_doc.is_none() || live_state == Some("absent") && state == "present" {
                self.push(
                    &rec.id,
                    tid,
                    subject,
                    Action::Create { blob: None },
                    live,
                    want,
                );
                continue;
            }
            let recorded = latest_doc
                .as_ref()
                .is_some_and(|d| setting_hash(spec, d, name) == live);
            match self.conflict(recorded) {
                Decision::Write => {
                    updated = true;
                    let fields = field_values(
                        &live_val.unwrap_or(Value::Null),
                        &snap_val.unwrap_or(Value::Null),
                        "",
                    );
                    self.push(
                        &rec.id,
                        tid,
                        subject,
                        Action::Update { blob: None, fields },
                        live,
                        want,
                    );
                }
                Decision::Skip(reason) => {
                    self.push(&rec.id, tid, subject, Action::Skip { reason }, live, want)
                }
            }
        }
        if updated {
            self.guard.entry(BUCKET.to_string()).or_default().0 += 1;
        }
    }

    fn objects(
        &mut self,
        rec: &CatalogRecord,
        tid: &ResourceId,
        live_rec: Option<&CatalogRecord>,
    ) -> Result<(), RestoreError> {
        let inp = self.input;
        let snap = read_objects(&inp.snapshot.dir, rec.index.as_deref())?;
        let mut live: BTreeMap<String, S3ObjectRecord> =
            read_objects(&inp.live.dir, live_rec.and_then(|r| r.index.as_deref()))?
                .into_iter()
                .map(|o| (o.key.clone(), o))
                .collect();
        self.guard.entry(OBJECT_KIND.to_string()).or_default().1 += live.len() as u64;
        let latest: HashMap<String, String> = match inp.latest {
            Some(l) => match l.catalog.get(tid) {
                Some(r) => read_objects(&l.dir, r.index.as_deref())?
                    .into_iter()
                    .map(|o| (o.key.clone(), object_hash(&o)))
                    .collect(),
                None => HashMap::new(),
            },
            None => HashMap::new(),
        };
        let prefix = self.sel.prefix.as_deref().or(self.sel.key.as_deref());
        let to_prefix = inp.target.to_prefix.as_deref();
        let sel = self.sel;
        for o in snap.into_iter().filter(|o| sel.object(&o.key)) {
            let tkey = target_key(&o.key, prefix, to_prefix);
            let want = object_hash(&o);
            let subject = |o: S3ObjectRecord| Subject::Object {
                key: tkey.clone(),
                record: Some(Box::new(o)),
            };
            match live.remove(&tkey) {
                None => self.push(
                    &rec.id,
                    tid,
                    subject(o),
                    Action::Create { blob: None },
                    None,
                    Some(want),
                ),
                Some(l) => {
                    let lh = object_hash(&l);
                    if lh == want {
                        self.summary.unchanged += 1;
                        continue;
                    }
                    let recorded = latest.get(&tkey) == Some(&lh);
                    match self.conflict(recorded) {
                        Decision::Write => {
                            let fields = object_fields(&l, &o);
                            self.push(
                                &rec.id,
                                tid,
                                subject(o),
                                Action::Update { blob: None, fields },
                                Some(lh),
                                Some(want),
                            )
                        }
                        Decision::Skip(reason) => self.push(
                            &rec.id,
                            tid,
                            subject(o),
                            Action::Skip { reason },
                            Some(lh),
                            Some(want),
                        ),
                    }
                }
            }
        }
        // Live objects in the selected part of the target that the snapshot does not have.
        let live_prefix = match (&self.sel.key, &self.sel.prefix, to_prefix) {
            (Some(_), _, _) => None, // one key: nothing else is in scope
            (None, _, Some(to)) => Some(to.to_string()),
            (None, Some(p), None) => Some(p.clone()),
            (None, None, None) => Some(String::new()),
        };
        if let Some(lp) = live_prefix {
            for (key, l) in live.into_iter().filter(|(k, _)| k.starts_with(&lp)) {
                if inp.delete_extra {
                    self.push(
                        &rec.id,
                        tid,
                        Subject::Object { key, record: None },
                        Action::Delete,
                        Some(object_hash(&l)),
                        None,
                    );
                } else {
                    self.summary.extra_kept += 1;
                }
            }
        }
        Ok(())
    }

    fn resource(&mut self, rec: &CatalogRecord) -> Result<(), RestoreError> {
        let inp = self.input;
        let spec = kinds::spec(&rec.id.kind);
        let mut tid = rec.id.clone();
        if rec.id.kind == "aws.dynamodb.table" {
            if let Some(t) = &inp.target.to_table {
                tid.id = t.clone();
            }
        }
        let live_rec = inp.live.catalog.get(&tid);
        let want = resource_hash(inp.snapshot, rec)?;
        let live_hash = live_rec.map(|l| resource_hash(inp.live, l)).transpose()?;
        if live_hash.as_ref() == Some(&want) {
            self.summary.unchanged += 1;
            return Ok(());
        }
        let snap_doc = inp.snapshot.doc(rec)?;
        if let Some(reason) = manual_reason(inp.snapshot, rec, &snap_doc, inp.secrets_available) {
            self.manual.push(Manual {
                id: rec.id.clone(),
                reason,
            });
            return Ok(());
        }
        if !inp.writers.kinds.contains(&rec.id.kind.as_str()) {
            let noun = spec.map(|s| s.noun).unwrap_or("resource");
            self.manual.push(Manual {
                id: rec.id.clone(),
                reason: format!(
                    "this infrasnap cannot restore a {noun} ({}) yet; its captured document is \
                     in the snapshot{}",
                    rec.id.kind,
                    rec.path
                        .as_deref()
                        .map(|p| format!(" at {p}"))
                        .unwrap_or_default()
                ),
            });
            return Ok(());
        }
        match live_rec {
            None => {
                // Layer versions are never listed (only those live functions use are read), so
                // an unseen one is planned; the writer finds it in place or publishes it again.
                let unlisted = rec.id.kind == "aws.lambda.layer_version";
                let action = match inp.live.reason(&inp.live.listing(&tid)) {
                    Some(why) if !unlisted => Action::Skip {
                        reason: format!("the live state cannot be read: {why}"),
                    },
                    _ => Action::Create {
                        blob: Some(rec.blob),
                    },
                };
                self.push(
                    &rec.id,
                    &tid,
                    Subject::Resource,
                    action,
                    None,
                    Some(want.clone()),
                );
            }
            Some(l) => {
                let recorded = match inp.latest.and_then(|s| s.catalog.get(&tid).map(|r| (s, r))) {
                    Some((s, r)) => Some(resource_hash(s, r)?) == live_hash,
                    None => false,
                };
                let action = match self.conflict(recorded) {
                    Decision::Write => {
                        let live_doc = inp.live.doc(l)?;
                        let fields = diff_docs(spec, &live_doc, &snap_doc)
                            .into_iter()
                            .map(|c| FieldValues {
                                field: c.at,
                                live: c.before,
                                snapshot: c.after,
                            })
                            .collect();
                        Action::Update {
                            blob: Some(rec.blob),
                            fields,
                        }
                    }
                    Decision::Skip(reason) => Action::Skip { reason },
                };
                self.push(
                    &rec.id,
                    &tid,
                    Subject::Resource,
                    action,
                    live_hash.clone(),
                    Some(want.clone()),
                );
            }
        }
        // What the plan tells about a function's parts (needs values, new numbers, new URLs).
        if rec.id.kind == "aws.lambda.function"
            && self
                .steps
                .last()
                .is_some_and(|s| s.writes() && s.target == tid)
        {
            let live_doc = live_rec.map(|l| inp.live.doc(l)).transpose()?;
            for reason in super::lambda::notes(&snap_doc, live_doc.as_ref(), inp.secrets_available)
            {
                self.manual.push(Manual {
                    id: rec.id.clone(),
                    reason,
                });
            }
        }
        // The parts a writer reads (code zips).
        if let Some(last) = self.steps.last_mut().filter(|s| s.writes()) {
            last.parts = rec
                .parts
                .iter()
                .filter(|(n, _)| n.ends_with(".zip"))
                .filter_map(|(n, p)| Some((n.clone(), p.blob?)))
                .collect();
        }
        Ok(())
    }

    fn table(&mut self, rec: &CatalogRecord) -> Result<(), RestoreError> {
        let inp = self.input;
        let mut tid = rec.id.clone();
        if let Some(t) = &inp.target.to_table {
            tid.id = t.clone();
        }
        let snap_doc = inp.snapshot.doc(rec)?;
        let key = crate::diff::items::key_schema(&snap_doc).unwrap_or_default();
        let live_rec = inp.live.catalog.get(&tid);
        self.guard.entry(TABLE.to_string()).or_default().1 += u64::from(live_rec.is_some());
        match live_rec {
            None => {
                if let Some(why) = inp.live.reason(&inp.live.listing(&tid)) {
                    self.push(
                        &rec.id,
                        &tid,
                        Subject::Resource,
                        Action::Skip {
                            reason: format!("the live state cannot be read: {why}"),
                        },
                        None,
                        None,
                    );
                    return Ok(());
                }
                self.push(
                    &rec.id,
                    &tid,
                    Subject::Resource,
                    Action::Create {
                        blob: Some(rec.blob),
                    },
                    None,
                    Some(EXISTS.into()),
                );
            }
            Some(l) => {
                let live_doc = inp.live.doc(l)?;
                if table_definition(&live_doc) != table_definition(&snap_doc) {
                    let fields = diff_docs(
                        kinds::spec(TABLE),
                        &table_definition(&live_doc),
                        &table_definition(&snap_doc),
                    )
                    .into_iter()
                    .map(|c| FieldValues {
                        field: c.at,
                        live: c.before,
                        snapshot: c.after,
                    })
                    .collect::<Vec<_>>();
                    let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
                    self.push(
                        &rec.id,
                        &tid,
                        Subject::Resource,
                        Action::Skip {
                            reason: format!(
                                "the live table's definition differs ({}); restore does not                                  change a live table's keys, indexes or settings: restore into                                  a new table with --to-table, or change it by hand",
                                names.join(", ")
                            ),
                        },
                        Some(l.digest.clone()),
                        None,
                    );
                }
            }
        }
        // The items.
        let snap_items = read_items(inp.snapshot, rec, &key)?;
        let live_items = match live_rec {
            Some(l) => read_items(inp.live, l, &key)?,
            None => BTreeMap::new(),
        };
        let mut want_items = if inp.delete_extra {
            BTreeMap::new()
        } else {
            live_items.clone()
        };
        want_items.extend(snap_items.iter().map(|(k, v)| (k.clone(), v.clone())));
        let want = items_hash(&want_items);
        let live = live_rec.map(|_| items_hash(&live_items));
        let g = self.guard.entry(ITEM_KIND.to_string()).or_default();
        g.1 += live_items.len() as u64;
        if live.as_deref() == Some(want.as_str()) {
            self.summary.unchanged += 1;
            return Ok(());
        }
        let changed = snap_items
            .iter()
            .filter(|(k, v)| live_items.get(*k).is_some_and(|l| l != *v))
            .count() as u64;
        let missing = snap_items
            .keys()
            .filter(|k| !live_items.contains_key(*k))
            .count() as u64;
        let extra = live_items
            .keys()
            .filter(|k| !snap_items.contains_key(*k))
            .count() as u64;
        let subject = Subject::Items {
            parts: crate::diff::items::data_parts(rec)
                .into_iter()
                .map(|(_, b)| b)
                .collect(),
            key,
            items: snap_items.len() as u64,
            delete_extra: inp.delete_extra,
        };
        let counts = serde_json::json!({
            "changed": changed, "missing": missing, "extra": extra, "items": live_items.len(),
        });
        let fields = vec![FieldValues {
            field: "items".into(),
            live: Some(counts),
            snapshot: Some(serde_json::json!({"items": snap_items.len()})),
        }];
        let deletes = if inp.delete_extra { extra } else { 0 };
        if !inp.delete_extra {
            self.summary.extra_kept += extra;
        }
        let action = if live_rec.is_none() {
            Action::Create { blob: None }
        } else if changed > 0 {
            let recorded = match inp.latest.and_then(|s| s.catalog.get(&tid).map(|r| (s, r))) {
                Some((s, r)) => {
                    let k = crate::diff::items::key_schema(&s.doc(r)?).unwrap_or_default();
                    Some(items_hash(&read_items(s, r, &k)?)) == live
                }
                None => false,
            };
            match self.conflict(recorded) {
                Decision::Write => Action::Update { blob: None, fields },
                Decision::Skip(reason) => Action::Skip { reason },
            }
        } else {
            Action::Update { blob: None, fields }
        };
        if matches!(action, Action::Update { .. }) {
            self.guard.entry(ITEM_KIND.to_string()).or_default().0 += changed + deletes;
        }
        self.push(&rec.id, &tid, subject, action, live, Some(want));
        Ok(())
    }

    /// Live resources of the selected kinds (with writers) that the snapshot does not have:
    /// deleted with `--delete-extra`, else counted. Also the guard's live counts.
    fn extras(&mut self) -> Result<(), RestoreError> {
        let inp = self.input;
        let retargeted = inp.target.to_table.is_some() || inp.target.to_bucket.is_some();
        for l in &inp.live.catalog.records {
            if l.id.kind == BUCKET || l.id.kind == TABLE || !self.sel.matches(&l.id) {
                continue;
            }
            if !inp.writers.kinds.contains(&l.id.kind.as_str()) {
                continue;
            }
            self.guard.entry(l.id.kind.clone()).or_default().1 += 1;
            if retargeted || inp.snapshot.catalog.get(&l.id).is_some() {
                continue;
            }
            // Only where the snapshot's own listing of that scope was whole.
            if inp.snapshot.listing(&l.id) != Listing::Complete {
                continue;
            }
            if inp.delete_extra {
                self.push(
                    &l.id,
                    &l.id,
                    Subject::Resource,
                    Action::Delete,
                    Some(resource_hash(inp.live, l)?),
                    None,
                );
            } else {
                self.summary.extra_kept += 1;
            }
        }
        Ok(())
    }
}

/// Did the live capture find that `bucket` does not exist (`--bucket NAME` of a bucket that is
/// not there: the listing was read whole, the bucket is not in it)?
fn no_such_bucket(live: &Side, bucket: &str) -> bool {
    live.meta.as_ref().is_some_and(|m| {
        m.all_errors().any(|e| {
            e.service == "s3" && e.resource == bucket && e.code.as_deref() == Some("NoSuchBucket")
        })
    })
}

/// The dependency stage of a step: ACM certificate → CloudFront; IAM role → Lambda; bucket →
/// bucket settings → objects; zone → records; table → items.
pub fn stage(kind: &str, subject: &Subject) -> u8 {
    match (kind, subject) {
        (_, Subject::BucketSetting { .. }) => 2,
        (_, Subject::Object { .. } | Subject::Items { .. }) => 3,
        ("aws.acm.certificate", _) => 0,
        ("aws.iam.policy", _) => 1,
        (k, _) if k.starts_with("aws.iam.") => 2,
        ("aws.s3.bucket" | "aws.route53.zone" | "aws.dynamodb.table", _) => 1,
        ("aws.route53.record_set", _) => 2,
        ("aws.lambda.layer_version", _) => 3,
        ("aws.lambda.function", _) => 4,
        ("aws.cloudfront.distribution", _) => 5,
        (k, _) if k.starts_with("aws.cloudfront.") => 4,
        _ => 2,
    }
}

/// Why a resource cannot be restored automatically, if it cannot.
fn manual_reason(
    snapshot: &Side,
    rec: &CatalogRecord,
    doc: &Value,
    secrets_available: bool,
) -> Option<String> {
    match rec.id.kind.as_str() {
        "aws.acm.certificate" => {
            let imported = doc
                .pointer("/Certificate/Type")
                .or_else(|| doc.get("Type"))
                .and_then(Value::as_str)
                == Some("IMPORTED");
            Some(if imported {
                "an imported certificate: its private key is never captured; import it again \
                 from your copy of the key (aws acm import-certificate), then restore what uses it"
                    .into()
            } else {
                "ACM keeps the private key of a certificate it issued: request the certificate \
                 again for the same names and validate it (its DNS validation records come back \
                 with the Route53 zone), then restore the CloudFront distributions that use it"
                    .into()
            })
        }
        "aws.lightsail.instance" => {
            let native: Vec<&str> = snapshot
                .catalog
                .records
                .iter()
                .filter(|r| {
                    r.id.kind == "aws.lightsail.instance_snapshot" && r.id.id.contains(&rec.id.id)
                })
                .map(|r| r.id.id.as_str())
                .collect();
            Some(match native.last() {
                Some(n) => format!(
                    "a Lightsail instance comes back from its native snapshot `{n}`: \
                     aws lightsail create-instances-from-snapshot --instance-snapshot-name {n}"
                ),
                None => "a Lightsail instance comes back only from a native Lightsail snapshot, \
                         and this snapshot names none: take one with `infrasnap snapshot \
                         --lightsail-snapshot`"
                    .into(),
            })
        }
        "aws.lambda.function" => super::lambda::manual_reason(doc, secrets_available),
        _ if has_marker(doc) && !secrets_available => Some(
            "needs values: the snapshot holds fingerprints of its secret values, not the values; \
             snapshot with --keep-secrets and keep the age identity to restore them"
                .into(),
        ),
        _ => None,
    }
}

/// The objects of an index file (none when there is none).
fn read_objects(dir: &Path, index: Option<&str>) -> Result<Vec<S3ObjectRecord>, RestoreError> {
    match index {
        Some(i) if dir.join(i).exists() => Ok(read_all(&dir.join(i))?),
        _ => Ok(Vec::new()),
    }
}

/// An object's record as restore compares it (see [`OBJECT_IGNORED`]).
fn object_value(o: &S3ObjectRecord) -> Value {
    let mut v = serde_json::to_value(o).expect("JSON");
    if let Some(m) = v.as_object_mut() {
        for k in OBJECT_IGNORED {
            m.remove(*k);
        }
    }
    v
}

/// The hash of an object as restore compares it.
pub fn object_hash(o: &S3ObjectRecord) -> String {
    value_hash(&object_value(o))
}

/// The fields of an object that differ: `content` for the bytes, pointers for the rest.
fn object_fields(live: &S3ObjectRecord, snap: &S3ObjectRecord) -> Vec<FieldValues> {
    let mut out = Vec::new();
    if live.blob != snap.blob || live.size != snap.size {
        let state =
            |o: &S3ObjectRecord| serde_json::json!({"size": o.size, "blob": o.blob.to_hex()});
        out.push(FieldValues {
            field: "content".into(),
            live: Some(state(live)),
            snapshot: Some(state(snap)),
        });
    }
    let (mut l, mut s) = (object_value(live), object_value(snap));
    for v in [&mut l, &mut s] {
        if let Some(m) = v.as_object_mut() {
            m.remove("blob");
            m.remove("size");
        }
    }
    out.extend(field_values(&l, &s, ""));
    out
}

/// The members of two objects that differ, one level into nested objects (`/metadata/owner`).
fn field_values(live: &Value, snap: &Value, at: &str) -> Vec<FieldValues> {
    let mut out = Vec::new();
    match (live, snap) {
        (Value::Object(a), Value::Object(b)) if at.matches('/').count() < 2 => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) if x == y => {}
                    (Some(x), Some(y)) => out.extend(field_values(x, y, &p)),
                    (x, y) => out.push(FieldValues {
                        field: p,
                        live: x.cloned(),
                        snapshot: y.cloned(),
                    }),
                }
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(FieldValues {
            field: if at.is_empty() { "/".into() } else { at.into() },
            live: (!a.is_null()).then(|| a.clone()),
            snapshot: (!b.is_null()).then(|| b.clone()),
        }),
    }
    out
}

/// The canonical value of one bucket setting (`{"state": ..., "value": ...}`).
fn config_value(spec: Option<&kinds::KindSpec>, doc: &Value, name: &str) -> Option<Value> {
    let c = normalize::canonical(spec, doc);
    c.pointer(&format!("/config/{name}")).cloned()
}

/// The hash of one bucket setting, as the plan records it.
pub fn setting_hash(spec: Option<&kinds::KindSpec>, doc: &Value, name: &str) -> Option<String> {
    config_value(spec, doc, name).map(|v| value_hash(&v))
}

/// Members that name or stamp one instance of a kind, which a resource recreated by restore gets
/// anew: left out of restore's hash (a `diff` still shows them).
fn identity(kind: &str) -> &'static [&'static str] {
    match kind {
        "aws.iam.role" => &["RoleId", "CreateDate", "RoleLastUsed", "InstanceProfiles"],
        "aws.lambda.function" => super::lambda::IDENTITY,
        _ => &[],
    }
}

/// The hash restore compares a resource by: its catalog digest, or for a kind with
/// [`identity`] members, the digest of its canonical form without them.
fn resource_hash(side: &Side, rec: &CatalogRecord) -> Result<String, RestoreError> {
    let id = identity(&rec.id.kind);
    if id.is_empty() {
        return Ok(rec.digest.clone());
    }
    let mut c = normalize::canonical(kinds::spec(&rec.id.kind), &side.doc(rec)?);
    // Top-level names or pointer patterns (`/EventSourceMappings/*/UUID`).
    normalize::remove_members(&mut c, id);
    Ok(value_hash(&c))
}

/// A table document without what names or stamps one table (so a table restored under its
/// name, or another, compares by its definition).
fn table_definition(doc: &Value) -> Value {
    const IDENTITY: &[&str] = &[
        "TableName",
        "TableArn",
        "TableId",
        "CreationDateTime",
        "IndexArn",
        "LatestStreamArn",
        "LatestStreamLabel",
        "RestoreSummary",
        "LastUpdateToPayPerRequestDateTime",
        "Unreadable",
        "AutoScaling",
    ];
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for k in IDENTITY {
                    m.remove(*k);
                }
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut c = normalize::canonical(kinds::spec(TABLE), doc);
    strip(&mut c);
    c
}

/// The items of a table's record, by key text (the key attributes' JSON, in `key` order; the
/// whole item without a key schema) → the item's JSON.
fn read_items(
    side: &Side,
    rec: &CatalogRecord,
    key: &[String],
) -> Result<BTreeMap<String, String>, RestoreError> {
    use std::io::BufRead;
    let mut out = BTreeMap::new();
    for (_, blob) in crate::diff::items::data_parts(rec) {
        let p = side.blob_path(&blob);
        let f = std::fs::File::open(&p)
            .map_err(|e| crate::error::CoreError::io("open item file", &p, e))?;
        let r = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(f));
        for (i, line) in r.lines().enumerate() {
            let line = line.map_err(|e| crate::error::CoreError::io("read item file", &p, e))?;
            if line.trim().is_empty() {
                continue;
            }
            let v: Value =
                serde_json::from_str(&line).map_err(|e| crate::error::CoreError::Parse {
                    path: p.clone(),
                    line: i + 1,
                    message: e.to_string(),
                })?;
            let item = v.get("Item").cloned().unwrap_or(Value::Null);
            let k = if key.is_empty() {
                item.to_string()
            } else {
                let parts: Vec<Value> = key
                    .iter()
                    .map(|a| item.get(a).cloned().unwrap_or(Value::Null))
                    .collect();
                Value::Array(parts).to_string()
            };
            out.insert(k, item.to_string());
        }
    }
    Ok(out)
}

/// The hash of a table's items, whatever their order.
fn items_hash(items: &BTreeMap<String, String>) -> String {
    let mut h = blake3::Hasher::new();
    for v in items.values() {
        h.update(v.as_bytes());
        h.update(b"\n");
    }
    h.finalize().to_hex().to_string()
}

/// Reads the live state of plan steps back from a snapshot (the scratch capture of `apply`).
pub struct Observer<'a> {
    side: &'a Side,
    objects: HashMap<ResourceId, HashMap<String, String>>,
    docs: HashMap<ResourceId, Option<Value>>,
}

impl<'a> Observer<'a> {
    pub fn new(side: &'a Side) -> Self {
        Observer {
            side,
            objects: HashMap::new(),
            docs: HashMap::new(),
        }
    }

    /// The hash of the step's target as it is in this snapshot (`None`: absent), in the terms
    /// of the step's `live` and `want`.
    pub fn hash(&mut self, step: &Step) -> Result<Option<String>, RestoreError> {
        let rec = self.side.catalog.get(&step.target);
        match &step.subject {
            Subject::Resource if step.want.as_deref() == Some(EXISTS) => {
                Ok(rec.map(|_| EXISTS.to_string()))
            }
            Subject::Items { .. } => match rec {
                None => Ok(None),
                Some(r) => {
                    let key =
                        crate::diff::items::key_schema(&self.side.doc(r)?).unwrap_or_default();
                    Ok(Some(items_hash(&read_items(self.side, r, &key)?)))
                }
            },
            Subject::Resource => rec.map(|r| resource_hash(self.side, r)).transpose(),
            Subject::BucketSetting { name, .. } => {
                if !self.docs.contains_key(&step.target) {
                    let d = rec.map(|r| self.side.doc(r)).transpose()?;
                    self.docs.insert(step.target.clone(), d);
                }
                Ok(self.docs[&step.target]
                    .as_ref()
                    .and_then(|d| setting_hash(kinds::spec(BUCKET), d, name)))
            }
            Subject::Object { key, .. } => {
                if !self.objects.contains_key(&step.target) {
                    let m = read_objects(&self.side.dir, rec.and_then(|r| r.index.as_deref()))?
                        .into_iter()
                        .map(|o| (o.key.clone(), object_hash(&o)))
                        .collect();
                    self.objects.insert(step.target.clone(), m);
                }
                Ok(self.objects[&step.target].get(key).cloned())
            }
        }
    }
}

/// A step whose target changed since the plan was made.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stale {
    pub n: u64,
    pub what: String,
}

/// The writing steps not yet done whose target is neither as planned against nor already as
/// wanted.
pub fn stale_steps(
    plan: &RestorePlan,
    live: &Side,
    done: &std::collections::BTreeSet<u64>,
) -> Result<Vec<Stale>, RestoreError> {
    let mut obs = Observer::new(live);
    let mut out = Vec::new();
    for s in plan.writing_steps().filter(|s| !done.contains(&s.n)) {
        let cur = obs.hash(s)?;
        if cur != s.live && !reached(s, cur.as_deref()) {
            out.push(Stale {
                n: s.n,
                what: s.what(),
            });
        }
    }
    Ok(out)
}

/// Whether the target's current hash is what the step wants.
pub fn reached(step: &Step, cur: Option<&str>) -> bool {
    match step.want.as_deref() {
        Some(EXISTS) => cur.is_some(),
        w => w == cur,
    }
}

/// A touched target that does not match the snapshot after apply.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Mismatch {
    pub n: u64,
    pub what: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub want: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
}

/// Read every writing step's target back: each must have its wanted hash.
pub fn verify(plan: &RestorePlan, live: &Side) -> Result<Vec<Mismatch>, RestoreError> {
    let mut obs = Observer::new(live);
    let mut out = Vec::new();
    for s in plan.writing_steps() {
        let cur = obs.hash(s)?;
        if !reached(s, cur.as_deref()) {
            out.push(Mismatch {
                n: s.n,
                what: s.what(),
                want: s.want.clone(),
                found: cur,
            });
        }
    }
    Ok(out)
}
