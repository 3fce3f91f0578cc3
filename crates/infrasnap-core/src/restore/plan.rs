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

mod cloudfront;
pub mod local;
pub mod table;

pub use cloudfront::{has_refs, ref_sites, KEY_GROUP, OAI, OAI_PREFIX, PUBLIC_KEY};

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;

use super::policy::{self, decide, Decision, IfExists};
use super::retarget::{self, Rewrite};
use super::select::{target_key, Compiled, RestoreSelection, Target, BUCKET};
use super::zone;
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

/// IAM users: restored without their credentials.
const USER: &str = "aws.iam.user";

/// The pseudo-kind the blast-radius guard counts S3 objects under.
pub const OBJECT_KIND: &str = "aws.s3.object";

/// Object record members a restore cannot or need not reproduce: stamps S3 sets by itself (also
/// the listing's own stamps, `listed`, kept where listing and GET disagree), where the snapshot
/// keeps the file, and the ETag (a multipart upload's differs from a single PUT's of the same
/// bytes; the bytes are compared by blob).
const OBJECT_IGNORED: &[&str] = &[
    "key",
    "last_modified",
    "listed",
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
    /// Private keys of imported ACM certificates (`--certificate-key`), read and fingerprinted.
    pub certificate_keys: &'a [super::acm::CertificateKey],
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
        if !scope.services.iter().any(|s| s == spec.source)
            && spec.source != "gas"
            && spec.source != "local"
        {
            scope.services.push(spec.source.to_string());
        }
        if r.id.kind == BUCKET {
            buckets.push(target.to_bucket.clone().unwrap_or_else(|| r.id.id.clone()));
        }
        scope.gas |= r.id.kind == local::GAS;
        scope.local |= local::is_local(&r.id.kind);
        // The live side is where the resources land (`--to-region`).
        let region = retarget::place(target, &r.id).region;
        if !region.is_empty() && !scope.regions.contains(&region) {
            scope.regions.push(region);
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
    // A zone restore re-created earlier stands live for the zone it came from.
    let recreated: Vec<String> = zone::aliases(input.live).into_values().collect();
    let renamed = zone::through_aliases(input.live, input.snapshot);
    let input = PlanInput {
        live: renamed.as_ref().unwrap_or(input.live),
        ..input
    };
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
    // Another account: never the one the resources come from (that is a restore in place, which
    // needs no target).
    if let Some(acct) = &input.target.to_account {
        if let Some(r) = selected.iter().find(|r| &r.id.account == acct) {
            return Err(RestoreError::Selection(format!(
                "the target account {acct} is the account the snapshot's {} comes from; to \
                 restore in place, drop --to-profile / --to-role-arn (the default target is where \
                 each resource came from)",
                r.id
            )));
        }
    }
    if let Some(k) = super::acm::unused(input.certificate_keys, input.snapshot, &selected)?.first()
    {
        return Err(RestoreError::Key(format!(
            "--certificate-key {}={}: no certificate of the selection has this ARN, id or domain \
             name (select it, e.g. --kind aws.acm.certificate)",
            k.selector, k.file.path
        )));
    }
    let mut notes: Vec<String> = Vec::new();
    for r in &selected {
        if let Some(n) = retarget::region_note(&input.target, &r.id.kind) {
            if !notes.contains(&n) {
                notes.push(n);
            }
        }
    }
    let mut p = Planner {
        input: &input,
        sel: &sel,
        steps: Vec::new(),
        manual: Vec::new(),
        summary: Summary::default(),
        guard: BTreeMap::new(),
        by_name: Vec::new(),
    };
    // Hosted zones the plan creates (gone live), by the snapshot's zone id → the zone document.
    let mut new_zones: BTreeMap<String, Value> = BTreeMap::new();
    if input.writers.kinds.contains(&zone::ZONE) {
        for r in selected.iter().filter(|r| r.id.kind == zone::ZONE) {
            if input.live.catalog.get(&r.id).is_none()
                && input.live.reason(&input.live.listing(&r.id)).is_none()
            {
                new_zones.insert(r.id.id.clone(), input.snapshot.doc(r)?);
            }
        }
    }
    for r in &selected {
        if r.id.kind == zone::RECORD_SET {
            let z = zone::zone_of(&r.id.id);
            let zid = ResourceId::new(zone::ZONE, r.id.account.clone(), "", z);
            let zone_doc = match new_zones.get(z) {
                Some(d) => Some(d.clone()),
                None if recreated.iter().any(|o| o == z) => input
                    .snapshot
                    .catalog
                    .get(&zid)
                    .map(|zr| input.snapshot.doc(zr))
                    .transpose()?,
                None => None,
            };
            let skip = match zone_doc {
                Some(doc) => zone::apex_made_by_route53(
                    &r.id.id,
                    zone::zone_name(&doc).unwrap_or_default(),
                )
                .then(|| {
                    "Route53 makes the SOA and NS records of the re-created zone itself (its NS \
                     are the zone's new name servers)"
                        .to_string()
                }),
                None if input.live.catalog.get(&zid).is_none()
                    && input.live.reason(&input.live.listing(&zid)).is_none()
                    && input.snapshot.catalog.get(&zid).is_some() =>
                {
                    Some(format!(
                        "its hosted zone {z} is gone: select the zone too (--kind \
                         aws.route53.zone, or --kind 'aws.route53.*') to re-create it with its \
                         records"
                    ))
                }
                None => None,
            };
            if let Some(reason) = skip {
                p.push(
                    &r.id,
                    &r.id,
                    Subject::Resource,
                    Action::Skip { reason },
                    None,
                    None,
                );
                continue;
            }
        }
        if r.id.kind == BUCKET {
            p.bucket(r)?;
        } else if r.id.kind == TABLE && input.writers.kinds.contains(&TABLE) {
            p.table(r)?;
        } else if local::is_local(&r.id.kind) {
            p.local(r)?;
        } else if r.id.kind == local::GAS {
            p.gas(r)?;
        } else {
            p.resource(r)?;
        }
    }
    for (old, doc) in &new_zones {
        let Some(r) = selected
            .iter()
            .find(|r| r.id.kind == zone::ZONE && &r.id.id == old)
        else {
            continue;
        };
        let name = zone::zone_name(doc).unwrap_or_default();
        p.manual.push(Manual {
            id: r.id.clone(),
            reason: if zone::is_private(doc) {
                format!(
                    "the private zone {name} is re-created under a new zone id (its records \
                     follow it); resources that name the old id {old} must be pointed at the \
                     new one"
                )
            } else {
                format!(
                    "the public zone {name} is re-created with NEW name servers (and a new zone \
                     id; its records follow it): after apply, update the delegation of {name} at \
                     its registrar or parent zone to the name servers that apply prints and keeps \
                     in its receipt; until then the old delegation points at name servers that \
                     no longer serve this zone"
                )
            },
        });
    }
    p.extras()?;
    let Planner {
        mut steps,
        mut manual,
        mut summary,
        guard,
        ..
    } = p;
    // Record sets naming a health check made again are written with its new id.
    let linked = super::health::link_records(&mut steps, input.snapshot, input.live, &selected)?;
    summary.unchanged = summary.unchanged.saturating_sub(linked);
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
    // An id mapping names the step that creates the referenced resource again.
    let creates: BTreeMap<ResourceId, u64> = steps
        .iter()
        .filter(|s| matches!(s.action, Action::Create { .. }))
        .map(|s| (s.target.clone(), s.n))
        .collect();
    for s in &mut steps {
        for r in &mut s.refs {
            r.step = creates.get(&r.id).copied();
        }
    }
    // A certificate imported anew: what else must be pointed at its new ARN.
    for s in steps.iter().filter(|s| {
        s.target.kind == super::acm::CERTIFICATE && matches!(s.action, Action::Create { .. })
    }) {
        let Some(rec) = input.snapshot.catalog.get(&s.source) else {
            continue;
        };
        let repointed: Vec<ResourceId> = steps
            .iter()
            .filter(|d| d.writes() && d.refs.iter().any(|r| r.step == Some(s.n)))
            .map(|d| d.source.clone())
            .collect();
        let doc = input.snapshot.doc(rec)?;
        if let Some(reason) = super::acm::follow_up(input.snapshot, &doc, &repointed)? {
            manual.push(Manual {
                id: s.source.clone(),
                reason,
            });
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
        notes,
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
    /// Live resources found by name for a snapshot's resource of another id (not extra).
    by_name: Vec<ResourceId>,
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
        let stage = if matches!(action, Action::Delete) {
            delete_stage(&target.kind, &subject)
        } else {
            stage(&target.kind, &subject)
        };
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
            refs: Vec::new(),
            note: None,
            rewrites: Vec::new(),
            found_by_name: None,
            key_file: None,
        });
    }

    /// The last step's document rewrites (another account or region), when it writes.
    fn rewrite_last(&mut self, rewrites: &[Rewrite], prefix: &str) {
        if let Some(last) = self.steps.last_mut().filter(|s| s.writes()) {
            last.rewrites = rewrites
                .iter()
                .filter(|r| r.field.starts_with(prefix))
                .cloned()
                .collect();
        }
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
        let tid = ResourceId::new(
            BUCKET,
            retarget::place(&inp.target, &rec.id).account,
            "",
            tname,
        );
        let mut snap_doc = inp.snapshot.doc(rec)?;
        let rewrites = retarget::rewrites(&snap_doc, &rec.id, &tid, &inp.target);
        retarget::apply(&mut snap_doc, &rewrites);
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
            self.rewrite_last(&rewrites, "/region");
        }
        let live_doc = live_rec.map(|r| inp.live.doc(r)).transpose()?;
        if !self.sel.objects_only() {
            self.settings(rec, &tid, &snap_doc, live_doc.as_ref(), &rewrites);
        }
        self.objects(rec, &tid, live_rec)
    }

    fn settings(
        &mut self,
        rec: &CatalogRecord,
        tid: &ResourceId,
        snap_doc: &Value,
        live_doc: Option<&Value>,
        rewrites: &[Rewrite],
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
                self.rewrite_last(rewrites, &format!("/config/{name}/"));
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
                    self.rewrite_last(rewrites, &format!("/config/{name}/"));
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
        let mut tid = retarget::place(&inp.target, &rec.id);
        if rec.id.kind == "aws.dynamodb.table" {
            if let Some(t) = &inp.target.to_table {
                tid.id = t.clone();
            }
        }
        let mut live_rec = inp.live.catalog.get(&tid);
        let snap_name = match name_pointer(&rec.id.kind) {
            Some(p) => inp
                .snapshot
                .doc(rec)?
                .pointer(p)
                .and_then(Value::as_str)
                .map(str::to_string),
            None => None,
        };
        if live_rec.is_none() {
            // Its id is the service's: a live one of the same name the snapshot does not hold
            // is this resource, created again (by an earlier restore, or by hand).
            if let Some(n) = &snap_name {
                live_rec = find_by_name(inp.live, &tid, n)?
                    .filter(|l| inp.snapshot.catalog.get(&l.id).is_none());
                if let Some(l) = live_rec {
                    tid = l.id.clone();
                    self.by_name.push(l.id.clone());
                }
            }
        }
        // Another account or region: the document as it will be written there.
        let mut moved = None;
        if retarget::moves(&inp.target) {
            let mut doc = inp.snapshot.doc(rec)?;
            let rw = retarget::rewrites(&doc, &rec.id, &tid, &inp.target);
            retarget::apply(&mut doc, &rw);
            moved = Some((doc, rw));
        }
        let want = match &moved {
            Some((doc, rw)) if !rw.is_empty() => doc_hash(&rec.id.kind, doc),
            _ => resource_hash(inp.snapshot, rec)?,
        };
        let live_hash = live_rec.map(|l| resource_hash(inp.live, l)).transpose()?;
        if live_hash.as_ref() == Some(&want) {
            self.summary.unchanged += 1;
            // A user equal but for the credentials restore never makes: say so all the same.
            if let (USER, Some(l)) = (rec.id.kind.as_str(), live_rec) {
                let (snap_doc, live_doc) = (inp.snapshot.doc(rec)?, inp.live.doc(l)?);
                if let Some(reason) = credentials_note(&snap_doc, Some(&live_doc)) {
                    self.manual.push(Manual {
                        id: rec.id.clone(),
                        reason,
                    });
                }
            }
            return Ok(());
        }
        // Made again by an earlier restore, under the new id the service gave it.
        if live_rec.is_none()
            && assigned_id(&rec.id.kind)
            && same_content(inp.live, &rec.id.kind, &tid.account, &want)?.is_some()
        {
            self.summary.unchanged += 1;
            return Ok(());
        }
        let (snap_doc, rewrites) = match moved {
            Some(m) => m,
            None => (inp.snapshot.doc(rec)?, Vec::new()),
        };
        let live_doc = live_rec.map(|l| inp.live.doc(l)).transpose()?;
        // An imported certificate with the user's key: checked here, imported at apply.
        let key_file = if rec.id.kind == super::acm::CERTIFICATE {
            super::acm::plan_key(inp.snapshot, rec, &snap_doc, inp.certificate_keys)?
        } else {
            None
        };
        if let Some(reason) = manual_reason(inp.snapshot, rec, &snap_doc, inp.secrets_available)
            .filter(|_| key_file.is_none())
            .filter(|_| !live_keeps_markers(&rec.id.kind, &snap_doc, live_doc.as_ref()))
            .map(|r| {
                let kept = rec.parts.contains_key(crate::kept::KEPT_PART);
                super::apigateway::needs_values(&rec.id.kind, &snap_doc, live_doc.as_ref(), kept)
                    .unwrap_or(r)
            })
        {
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
        if rec.id.kind == DISTRIBUTION {
            if let Some(reason) = alias_conflicts(inp.live, rec, &snap_doc)? {
                self.manual.push(Manual {
                    id: rec.id.clone(),
                    reason,
                });
                return Ok(());
            }
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
                let created = matches!(action, Action::Create { .. });
                self.push(
                    &rec.id,
                    &tid,
                    Subject::Resource,
                    action,
                    None,
                    Some(want.clone()),
                );
                if created {
                    if let Some(last) = self.steps.last_mut() {
                        last.found_by_name = snap_name.clone();
                    }
                }
            }
            Some(l) => {
                // Held by the latest snapshot: the same content, or the same document (a
                // distribution whose certificate is gone live names it by id, not by name).
                let recorded = match inp.latest.and_then(|s| s.catalog.get(&tid).map(|r| (s, r))) {
                    Some((s, r)) => r.digest == l.digest || Some(resource_hash(s, r)?) == live_hash,
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
        if rec.id.kind == USER && self.steps.last().is_some_and(|s| s.writes()) {
            if let Some(reason) = credentials_note(&snap_doc, live_doc.as_ref()) {
                self.manual.push(Manual {
                    id: rec.id.clone(),
                    reason,
                });
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
        self.rewrite_last(&rewrites, "");
        if let Some(last) = self.steps.last_mut().filter(|s| s.writes()) {
            last.key_file = key_file;
        }
        // The parts a writer reads (code zips, kept secret values, API exports).
        if let Some(last) = self.steps.last_mut().filter(|s| s.writes()) {
            last.parts = rec
                .parts
                .iter()
                .filter(|(n, _)| {
                    n.ends_with(".zip")
                        || n.ends_with(".js")
                        // Kept values only with the identity at hand: without it the
                        // writers keep live values, and apply needs no identity.
                        || (*n == crate::kept::KEPT_PART && inp.secrets_available)
                        || *n == super::acm::PEM_PART
                        || is_export_part(n)
                })
                .filter_map(|(n, p)| Some((n.clone(), p.blob?)))
                .collect();
            let created = matches!(last.action, Action::Create { .. });
            if created && rec.id.kind == super::acm::CERTIFICATE {
                last.note = Some(super::acm::created_note(&snap_doc));
            }
            if let Some(reason) = follow_up(inp.snapshot, rec, &snap_doc, created)? {
                self.manual.push(Manual {
                    id: rec.id.clone(),
                    reason,
                });
            }
        }
        if rec.id.kind == DISTRIBUTION {
            self.distribution(rec, &snap_doc)?;
        }
        // A key group's public keys; an origin access identity made again.
        self.cloudfront(rec, &snap_doc)?;
        Ok(())
    }

    /// A distribution's step: the ids it uses of policies, origin access controls and
    /// identities and key groups that are gone live (an id mapping the writer resolves at apply, by name); for a distribution made
    /// again, its new identity as a note and the DNS records to point at it as a follow-up.
    fn distribution(&mut self, rec: &CatalogRecord, doc: &Value) -> Result<(), RestoreError> {
        let inp = self.input;
        let Some(step) = self
            .steps
            .last_mut()
            .filter(|s| s.writes() && s.source == rec.id)
        else {
            return Ok(());
        };
        cloudfront::id_refs(inp, rec, doc, step)?;
        if matches!(step.action, Action::Create { .. }) {
            let domain = doc
                .get("DomainName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            step.note = Some(format!(
                "created anew: CloudFront gives it a new Id, ARN and domain name (the \
                 snapshot's was {}), with a fresh CallerReference",
                if domain.is_empty() { "?" } else { &domain }
            ));
            if !domain.is_empty() {
                let records = aliases_pointing_at(inp.snapshot, &domain)?;
                let which = if records.is_empty() {
                    "no Route53 alias record in this snapshot points at it; check DNS \
                     elsewhere (CNAMEs)"
                        .to_string()
                } else {
                    format!(
                        "Route53 alias records pointing at it: {}",
                        records.join(", ")
                    )
                };
                self.manual.push(Manual {
                    id: rec.id.clone(),
                    reason: format!(
                        "follow-up after apply: the distribution is made again with a new \
                         domain name, so DNS that points at {domain} must be changed to the new \
                         one (restore apply prints it; aws cloudfront list-distributions): \
                         {which}"
                    ),
                });
            }
        }
        Ok(())
    }

    fn table(&mut self, rec: &CatalogRecord) -> Result<(), RestoreError> {
        let inp = self.input;
        let mut tid = retarget::place(&inp.target, &rec.id);
        if let Some(t) = &inp.target.to_table {
            tid.id = t.clone();
        }
        let mut snap_doc = inp.snapshot.doc(rec)?;
        let rewrites = retarget::rewrites(&snap_doc, &rec.id, &tid, &inp.target);
        retarget::apply(&mut snap_doc, &rewrites);
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
                    Some(table::hash(&snap_doc)),
                );
                self.rewrite_last(&rewrites, "");
                self.table_notes(rec, &tid, &snap_doc, None);
            }
            Some(l) => {
                if self.table_in_place(rec, &tid, l, &snap_doc, &rewrites)? {
                    return Ok(());
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

    /// A live table: its settings put back in place (one update step whose fields the writer
    /// executes), or, when what DynamoDB cannot change in place differs, a skip and what to do.
    /// True when its items cannot be written either (other keys): the items step is planned
    /// here as a skip.
    fn table_in_place(
        &mut self,
        rec: &CatalogRecord,
        tid: &ResourceId,
        l: &CatalogRecord,
        snap_doc: &Value,
        rewrites: &[Rewrite],
    ) -> Result<bool, RestoreError> {
        let inp = self.input;
        let live_doc = inp.live.doc(l)?;
        self.table_notes(rec, tid, snap_doc, Some(&live_doc));
        let unread = table::unreadable(&live_doc);
        if !unread.is_empty() {
            self.push(
                &rec.id,
                tid,
                Subject::Resource,
                Action::Skip {
                    reason: format!(
                        "the live table's {} cannot be read (see the scratch snapshot's errors): \
                         its settings are left as they are; check permissions",
                        unread.join(", ")
                    ),
                },
                Some(table::hash(&live_doc)),
                None,
            );
            return Ok(false);
        }
        let cmp = table::compare(&live_doc, snap_doc, inp.delete_extra);
        if !cmp.structural.is_empty() {
            let fix = format!(
                "restore it under a new name (`infrasnap restore plan {} {} --to-table {}-restored`) \
                 and move its users there, or delete the live table (`aws dynamodb delete-table \
                 --region {} --table-name {}`, its items go with it) and restore again",
                inp.snapshot.name, rec.id, tid.id, tid.region, tid.id
            );
            let reason = format!(
                "the live table differs in what DynamoDB cannot change in place ({}); restore \
                 does not change it",
                cmp.structural.join(", ")
            );
            self.push(
                &rec.id,
                tid,
                Subject::Resource,
                Action::Skip {
                    reason: reason.clone(),
                },
                Some(cmp.live.clone()),
                Some(cmp.want.clone()),
            );
            self.manual.push(Manual {
                id: rec.id.clone(),
                reason: format!("{reason}: {fix}"),
            });
            if cmp.keys_differ {
                self.push(
                    &rec.id,
                    tid,
                    Subject::Items {
                        parts: Vec::new(),
                        key: Vec::new(),
                        items: 0,
                        delete_extra: inp.delete_extra,
                    },
                    Action::Skip {
                        reason: "the live table has other keys than the snapshot's: its items \
                                 cannot be written into it"
                            .into(),
                    },
                    None,
                    None,
                );
                return Ok(true);
            }
            return Ok(false);
        }
        self.summary.extra_kept += cmp.kept.len() as u64;
        if cmp.fields.is_empty() {
            self.summary.unchanged += 1;
            return Ok(false);
        }
        let recorded = match inp.latest.and_then(|s| s.catalog.get(tid).map(|r| (s, r))) {
            Some((s, r)) => table::hash(&s.doc(r)?) == cmp.live,
            None => false,
        };
        let action = match self.conflict(recorded) {
            Decision::Write => Action::Update {
                blob: Some(rec.blob),
                fields: cmp.fields,
            },
            Decision::Skip(reason) => Action::Skip { reason },
        };
        self.push(
            &rec.id,
            tid,
            Subject::Resource,
            action,
            Some(cmp.live),
            Some(cmp.want),
        );
        self.rewrite_last(rewrites, "");
        if !cmp.kept.is_empty() {
            if let Some(last) = self.steps.last_mut().filter(|s| s.writes()) {
                last.note = Some(format!(
                    "kept live (the snapshot lacks them; --delete-extra removes them): {}",
                    cmp.kept.join(", ")
                ));
            }
        }
        Ok(false)
    }

    /// What people must do about a table: its global table replicas, members restore does not
    /// put back, scaling policies it cannot write.
    fn table_notes(
        &mut self,
        rec: &CatalogRecord,
        tid: &ResourceId,
        snap_doc: &Value,
        live_doc: Option<&Value>,
    ) {
        let mut notes = Vec::new();
        if let Some(n) = table::replica_note(&tid.id, &tid.region, snap_doc, live_doc) {
            notes.push(n);
        }
        if let Some(l) = live_doc {
            let o = table::others(l, snap_doc);
            if !o.is_empty() {
                notes.push(format!(
                    "differs live in what restore does not put back in place ({}): change it by \
                     hand (aws dynamodb update-table) to the snapshot's value",
                    o.join(", ")
                ));
            }
        }
        let p = table::unwritable_policies(snap_doc);
        if !p.is_empty() {
            notes.push(format!(
                "scaling policies restore cannot write (only target tracking on a predefined \
                 metric is captured in full): {}; create them again by hand (aws \
                 application-autoscaling put-scaling-policy)",
                p.join(", ")
            ));
        }
        for reason in notes {
            self.manual.push(Manual {
                id: rec.id.clone(),
                reason,
            });
        }
    }

    /// Live resources of the selected kinds (with writers) that the snapshot does not have:
    /// deleted with `--delete-extra`, else counted. Also the guard's live counts.
    fn extras(&mut self) -> Result<(), RestoreError> {
        let inp = self.input;
        let retargeted = inp.target.to_table.is_some()
            || inp.target.to_bucket.is_some()
            || retarget::moves(&inp.target);
        for l in &inp.live.catalog.records {
            if l.id.kind == BUCKET || l.id.kind == TABLE || !self.sel.matches(&l.id) {
                continue;
            }
            if !inp.writers.kinds.contains(&l.id.kind.as_str()) {
                continue;
            }
            self.guard.entry(l.id.kind.clone()).or_default().1 += 1;
            // Apps Script projects are never deleted by restore.
            if retargeted
                || l.id.kind == local::GAS
                || inp.snapshot.catalog.get(&l.id).is_some()
                || self.by_name.contains(&l.id)
            {
                continue;
            }
            // A resource an earlier restore made again under a new id is not extra.
            if assigned_id(&l.id.kind)
                && same_content(
                    inp.snapshot,
                    &l.id.kind,
                    &l.id.account,
                    &resource_hash(inp.live, l)?,
                )?
                .is_some()
            {
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
        // The ACL after the ownership controls (which decide whether ACLs count); logging after
        // its target bucket and the ACL or policy that lets log delivery write there;
        // replication after versioning (here and on the destination) and after the objects (a
        // restored object is not replicated again); notifications after the Lambda functions
        // they invoke.
        (_, Subject::BucketSetting { name, .. }) => match name.as_str() {
            "acl" => 3,
            "logging" | "replication" => 4,
            "notifications" => 5,
            _ => 2,
        },
        (_, Subject::Object { .. } | Subject::Items { .. }) => 3,
        ("aws.acm.certificate", _) => 0,
        ("aws.iam.policy", _) => 1,
        // A user joins its groups; an instance profile holds its role.
        ("aws.iam.user" | "aws.iam.instance_profile", _) => 3,
        (k, _) if k.starts_with("aws.iam.") => 2,
        ("aws.s3.bucket" | "aws.route53.zone" | "aws.dynamodb.table", _) => 1,
        ("aws.route53.record_set", _) => 2,
        (super::health::HEALTH_CHECK, _) => 1,
        ("aws.lambda.layer_version", _) => 3,
        ("aws.lambda.function", _) => 4,
        ("aws.ses.configuration_set" | "aws.ses.template", _) => 1,
        // Integrations call functions; CloudFront may front the API.
        ("aws.apigateway.rest_api" | "aws.apigatewayv2.api", _) => 5,
        ("aws.cloudfront.distribution", _) => 5,
        // Public keys → key groups (4) → distributions; identities and policies are 4.
        ("aws.cloudfront.public_key", _) => 3,
        (k, _) if k.starts_with("aws.cloudfront.") => 4,
        _ => 2,
    }
}

/// The stage of a delete (`--delete-extra`): after every create and update (so nothing the
/// snapshot's resources still use is removed while they use it: a distribution moves off an
/// extra origin access identity before that identity goes), in the reverse dependency order (a
/// distribution before the key group it trusts, a key group before its public keys, objects
/// before their bucket, records before their zone). Record sets stay in their own stage: their
/// deletes go in the same change batches as the upserts, deletes first (a CNAME replaced by an A
/// record).
pub fn delete_stage(kind: &str, subject: &Subject) -> u8 {
    let s = stage(kind, subject);
    if kind == "aws.route53.record_set" {
        return s;
    }
    DELETES_FROM + (MAX_STAGE - s.min(MAX_STAGE))
}

/// The highest stage of a create or update.
const MAX_STAGE: u8 = 5;
/// Deletes run in stages `DELETES_FROM..=DELETES_FROM + MAX_STAGE`.
const DELETES_FROM: u8 = 10;

/// The credentials of a user in the snapshot that the live user lacks: restore never makes
/// them (they were never captured), so people issue them again.
fn credentials_note(snap: &Value, live: Option<&Value>) -> Option<String> {
    let count = |d: &Value, k: &str| d.get(k).and_then(Value::as_array).map_or(0, Vec::len);
    let password = |d: &Value| d.pointer("/LoginProfile/Exists") == Some(&Value::Bool(true));
    let mut missing = Vec::new();
    let keys = count(snap, "AccessKeys");
    if keys > live.map_or(0, |l| count(l, "AccessKeys")) {
        missing.push(format!(
            "{keys} access key{} (aws iam create-access-key, then hand the new key to whoever used it)",
            if keys == 1 { "" } else { "s" }
        ));
    }
    if password(snap) && !live.is_some_and(password) {
        missing.push("a console password (aws iam create-login-profile)".to_string());
    }
    let mfa = count(snap, "MFADevices");
    if mfa > live.map_or(0, |l| count(l, "MFADevices")) {
        missing.push(format!("{mfa} MFA device(s), enrolled again by the user"));
    }
    (!missing.is_empty()).then(|| {
        format!(
            "credentials are never restored: the user is restored without them; issue again {}",
            missing.join("; ")
        )
    })
}

/// Why a resource cannot be restored automatically, if it cannot.
fn manual_reason(
    snapshot: &Side,
    rec: &CatalogRecord,
    doc: &Value,
    secrets_available: bool,
) -> Option<String> {
    match rec.id.kind.as_str() {
        super::acm::CERTIFICATE => Some(super::acm::manual_reason(doc)),
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
        "aws.apigateway.api_key" => Some(
            "an API key's value is never captured: create a new key (aws apigateway \
             create-api-key), give it to the key's users, and add it to its usage plans"
                .into(),
        ),
        "aws.apigateway.usage_plan" => Some(
            "this infrasnap does not restore usage plans: create the plan again from its \
             captured document (throttle, quota, API stages); its keys' values were never \
             captured, so new API keys must be added to it"
                .into(),
        ),
        "aws.apigateway.domain_name" => Some(
            "a custom domain name needs its ACM certificate (restore or re-request it first), \
             then create the domain name (aws apigateway create-domain-name) and its base path \
             or API mappings from the captured document; a re-created API has a new id, so map \
             the new one"
                .into(),
        ),
        // A value held only as its fingerprint (SSM SecureString, Secrets Manager) or markers.
        _ if (has_marker(doc) || fingerprint_only(&rec.id.kind, doc))
            && !(secrets_available && rec.parts.contains_key(crate::kept::KEPT_PART)) =>
        {
            Some(if rec.parts.contains_key(crate::kept::KEPT_PART) {
                "needs values: the snapshot kept its secret values encrypted; pass the age \
                 identity that decrypts them (--identity FILE, or `identity =` in [secrets])"
                    .into()
            } else {
                "needs values: the snapshot holds fingerprints of its secret values, not the \
                 values; snapshot with --keep-secrets and keep the age identity to restore them"
                    .into()
            })
        }
        _ => None,
    }
}

/// Kinds whose document holds a value only as its keyed fingerprint (`ValueFingerprint`): a
/// writer needs the kept value.
fn fingerprint_only(kind: &str, doc: &Value) -> bool {
    matches!(kind, "aws.ssm.parameter" | "aws.secretsmanager.secret")
        && doc.get("ValueFingerprint").is_some()
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
        // No content type is served as the default one, which a server stores for an object
        // put without one: the same object.
        if matches!(
            m.get("content_type").and_then(Value::as_str),
            Some("binary/octet-stream" | "application/octet-stream")
        ) {
            m.remove("content_type");
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

/// Members a resource recreated by restore gets anew, besides the kind's declared identity
/// ([`kinds::KindSpec::identity`], which `diff` shows as "re-created"): left out of restore's
/// hash. JSON pointers.
fn identity(kind: &str) -> &'static [&'static str] {
    match kind {
        // A recreated role is in no instance profile until the profile is restored.
        "aws.iam.role" => &["/RoleLastUsed", "/InstanceProfiles"],
        // What a user had that restore never makes again: credentials are issued anew.
        "aws.iam.user" => &[
            "/AccessKeys",
            "/LoginProfile",
            "/MFADevices",
            "/PasswordLastUsed",
        ],
        // A distribution made again gets a new Id, ARN, domain name and ETag, and is created
        // with a fresh CallerReference (an update keeps the live one).
        DISTRIBUTION => &[
            "Id",
            "ARN",
            "DomainName",
            "ETag",
            "ActiveTrustedSigners",
            "ActiveTrustedKeyGroups",
            "AliasICPRecordals",
            "/DistributionConfig/CallerReference",
        ],
        "aws.cloudfront.function" => &[
            "/Stages/*/ETag",
            "/Stages/*/CodeFile",
            "/Stages/*/FunctionMetadata/CreatedTime",
            "/Stages/*/FunctionMetadata/LastModifiedTime",
        ],
        "aws.cloudfront.cache_policy" => &["/CachePolicy/Id", "/CachePolicy/LastModifiedTime"],
        "aws.cloudfront.origin_request_policy" => &[
            "/OriginRequestPolicy/Id",
            "/OriginRequestPolicy/LastModifiedTime",
        ],
        "aws.cloudfront.response_headers_policy" => &[
            "/ResponseHeadersPolicy/Id",
            "/ResponseHeadersPolicy/LastModifiedTime",
        ],
        "aws.cloudfront.origin_access_control" => &["/Id"],
        "aws.cloudfront.origin_access_identity" => &["/Id", "/S3CanonicalUserId"],
        "aws.cloudfront.public_key" => &["/Id", "/CreatedTime"],
        "aws.cloudfront.key_group" => &["/KeyGroup/Id", "/KeyGroup/LastModifiedTime"],
        // A REST API created again has a new id, root resource, resource ids and deployments;
        // a stage points at a new deployment.
        "aws.apigateway.rest_api" => &[
            "/restApi/id",
            "/restApi/createdDate",
            "/restApi/rootResourceId",
            "/resources/*/id",
            "/resources/*/parentId",
            "deployments",
            "exports",
            "/stages/*/deploymentId",
            "/stages/*/createdDate",
            "/stages/*/lastUpdatedDate",
        ],
        "aws.apigatewayv2.api" => &[
            "/Api/ApiId",
            "/Api/ApiEndpoint",
            "/Api/CreatedDate",
            "/Routes/*/RouteId",
            "/Routes/*/Target",
            "/Integrations/*/IntegrationId",
            "Deployments",
            "Export",
            "/Stages/*/DeploymentId",
            "/Stages/*/CreatedDate",
            "/Stages/*/LastUpdatedDate",
            "/Stages/*/LastDeploymentStatusMessage",
        ],
        // SES makes new DKIM tokens and verifies a created identity again.
        "aws.ses.identity" => &[
            "VerificationStatus",
            "VerifiedForSendingStatus",
            "VerificationErrorType",
            "/DkimAttributes/Tokens",
            "/DkimAttributes/Status",
            "/DkimAttributes/LastKeyGenerationTimestamp",
            "/MailFromAttributes/MailFromDomainStatus",
        ],
        "aws.lambda.function" => super::lambda::IDENTITY,
        super::acm::CERTIFICATE => super::acm::IDENTITY,
        super::health::HEALTH_CHECK => super::health::IDENTITY,
        _ => &[],
    }
}

/// Where a kind whose id the service assigns keeps its name (by which a resource created again
/// is found).
fn name_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "aws.apigateway.rest_api" => Some("/restApi/name"),
        "aws.apigatewayv2.api" => Some("/Api/Name"),
        _ => None,
    }
}

/// The record of `side` of the kind, account and region of `like` whose name is `name`.
fn find_by_name<'s>(
    side: &'s Side,
    like: &ResourceId,
    name: &str,
) -> Result<Option<&'s CatalogRecord>, RestoreError> {
    let Some(p) = name_pointer(&like.kind) else {
        return Ok(None);
    };
    for r in side.catalog.records.iter().filter(|r| {
        r.id.kind == like.kind && r.id.account == like.account && r.id.region == like.region
    }) {
        if side.doc(r)?.pointer(p).and_then(Value::as_str) == Some(name) {
            return Ok(Some(r));
        }
    }
    Ok(None)
}

/// A part a writer imports: an API's export (`export_<stage>.json`, `export.json`).
fn is_export_part(name: &str) -> bool {
    name.starts_with("export") && name.ends_with(".json")
}

/// Kinds whose writer leaves a secret it does not have (a stage variable) as it is live: a
/// document whose markers all equal the live ones at the same places needs no values.
fn live_keeps_markers(kind: &str, snap: &Value, live: Option<&Value>) -> bool {
    fn markers(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::String(s) if crate::diff::json::text_has_marker(s) => {
                out.push((at.to_string(), s.clone()))
            }
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, c)| markers(c, &format!("{at}/{i}"), out)),
            Value::Object(m) => m.iter().for_each(|(k, c)| {
                markers(
                    c,
                    &format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                )
            }),
            _ => {}
        }
    }
    if !matches!(kind, "aws.apigateway.rest_api" | "aws.apigatewayv2.api") {
        return false;
    }
    let Some(live) = live else {
        return false;
    };
    let mut m = Vec::new();
    markers(snap, "", &mut m);
    m.iter()
        .all(|(p, s)| live.pointer(p).and_then(Value::as_str) == Some(s.as_str()))
}

/// What people must do after a step writes a resource (a [`Manual`] entry beside the step):
/// the DNS records an SES identity needs, what pointed at a re-created API's old host.
fn follow_up(
    snapshot: &Side,
    rec: &CatalogRecord,
    doc: &Value,
    created: bool,
) -> Result<Option<String>, RestoreError> {
    match rec.id.kind.as_str() {
        "aws.ses.identity" if created => Ok(Some(ses_dns(snapshot, doc)?)),
        "aws.apigateway.rest_api" | "aws.apigatewayv2.api" if created => {
            let host = format!("{}.execute-api.{}.amazonaws.com", rec.id.id, rec.id.region);
            let mut users = Vec::new();
            for r in snapshot.catalog.records.iter().filter(|r| {
                r.id.kind == "aws.route53.record_set"
                    || r.id.kind == "aws.cloudfront.distribution"
                    || r.id.kind == "aws.apigateway.domain_name"
            }) {
                let d = snapshot.doc(r)?;
                let text = d.to_string();
                if text.contains(&host) || text.contains(&format!("\"{}\"", rec.id.id)) {
                    users.push(r.id.to_string());
                }
            }
            let who = if users.is_empty() {
                "nothing in the snapshot (Route53 records, CloudFront origins, custom domain \
                 mappings) names it"
                    .to_string()
            } else {
                format!("these name it: {}", users.join(", "))
            };
            Ok(Some(format!(
                "created again, the API gets a new id: whatever called `{host}` must be pointed \
                 at the new one ({who}); API keys' values, usage plan keys and custom domain \
                 mappings do not come back with it"
            )))
        }
        _ => Ok(None),
    }
}

/// The DNS records an SES identity created again needs, and whether the snapshot's Route53
/// zones hold the ones it had.
fn ses_dns(snapshot: &Side, doc: &Value) -> Result<String, RestoreError> {
    let name = doc
        .get("IdentityName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if doc.get("IdentityType").and_then(Value::as_str) == Some("EMAIL_ADDRESS") {
        return Ok(format!(
            "SES sends a verification email to {name} when the identity is created: open its \
             link before sending from it"
        ));
    }
    let domain = name.trim_end_matches('.').to_ascii_lowercase();
    let mut records: Vec<(String, &'static str, String)> = Vec::new();
    for t in doc
        .pointer("/DkimAttributes/Tokens")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        records.push((
            format!("{t}._domainkey.{domain}"),
            "CNAME",
            format!("{t}.dkim.amazonses.com"),
        ));
    }
    if let Some(mf) = doc
        .pointer("/MailFromAttributes/MailFromDomain")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        records.push((
            mf.to_string(),
            "MX",
            "feedback-smtp.<region>.amazonses.com".into(),
        ));
        records.push((
            mf.to_string(),
            "TXT",
            "\"v=spf1 include:amazonses.com ~all\"".into(),
        ));
    }
    let held: Vec<String> = snapshot
        .catalog
        .records
        .iter()
        .filter(|r| r.id.kind == "aws.route53.record_set")
        .map(|r| r.id.id.to_ascii_lowercase())
        .collect();
    let holds = |n: &str, ty: &str| {
        let want = format!("/{}./{ty}", n.trim_end_matches('.').to_ascii_lowercase());
        held.iter()
            .any(|h| h.ends_with(&want) || h.contains(&format!("{want}/")))
    };
    let mut lines = Vec::new();
    for (n, ty, v) in &records {
        lines.push(format!(
            "{n} {ty} {v} ({})",
            if holds(n, ty) {
                "the snapshot's Route53 zone holds it"
            } else {
                "not in the snapshot's Route53 zones"
            }
        ));
    }
    Ok(format!(
        "SES verifies the domain {domain} again and makes new DKIM tokens: publish the three \
         CNAME records `<token>._domainkey.{domain}` it gives (aws sesv2 get-email-identity \
         --email-identity {domain}); the snapshot's records were: {}",
        if lines.is_empty() {
            "none (DKIM was not set up)".to_string()
        } else {
            lines.join("; ")
        }
    ))
}

/// The hash restore compares a resource by: its catalog digest, or for a kind with identity
/// members, the digest of its canonical form without them.
pub(crate) fn resource_hash(side: &Side, rec: &CatalogRecord) -> Result<String, RestoreError> {
    if rec.id.kind == local::GAS {
        return Ok(local::gas_hash(rec));
    }
    if let Some(h) = super::health::record_hash(side, rec)? {
        return Ok(h);
    }
    let spec = kinds::spec(&rec.id.kind);
    let declared = spec.map(|s| s.identity).unwrap_or(&[]);
    if identity(&rec.id.kind).is_empty() && declared.is_empty() {
        return Ok(rec.digest.clone());
    }
    let mut c = stripped(&rec.id.kind, &side.doc(rec)?);
    if cloudfront::has_refs(&rec.id.kind) {
        refs_by_name(side, &rec.id.kind, &rec.id.account, &mut c)?;
    }
    Ok(value_hash(&c))
}

/// The canonical form of a document without its kind's identity members (declared in the
/// catalog, and restore's own [`identity`]).
fn stripped(kind: &str, doc: &Value) -> Value {
    let spec = kinds::spec(kind);
    let mut c = normalize::canonical(spec, doc);
    normalize::remove_members(&mut c, spec.map(|s| s.identity).unwrap_or(&[]));
    normalize::remove_members(&mut c, identity(kind));
    c
}

/// [`resource_hash`] of a document (one rewritten for another account or region).
fn doc_hash(kind: &str, doc: &Value) -> String {
    let spec = kinds::spec(kind);
    if identity(kind).is_empty() && spec.is_none_or(|s| s.identity.is_empty()) {
        return normalize::digest(spec, doc);
    }
    value_hash(&stripped(kind, doc))
}

/// CloudFront distributions.
pub const DISTRIBUTION: &str = "aws.cloudfront.distribution";

/// Kinds whose ids the service assigns when one is created: a resource made again by restore
/// has a new id, and is found by its content (its hash without [`identity`] members).
pub fn assigned_id(kind: &str) -> bool {
    matches!(
        kind,
        DISTRIBUTION
            | "aws.cloudfront.cache_policy"
            | "aws.cloudfront.origin_request_policy"
            | "aws.cloudfront.response_headers_policy"
            | "aws.cloudfront.origin_access_control"
            | "aws.cloudfront.origin_access_identity"
            | "aws.cloudfront.key_group"
            | "aws.cloudfront.public_key"
            | super::acm::CERTIFICATE
            | super::health::HEALTH_CHECK
    )
}

/// Where a distribution names another CloudFront resource by its id: the member of a cache
/// behavior or an origin, the kind, and where that kind's document has the resource's name
/// (unique in the account).
pub const DISTRIBUTION_REFS: &[(&str, &str, &str)] = &[
    (
        "CachePolicyId",
        "aws.cloudfront.cache_policy",
        "/CachePolicy/CachePolicyConfig/Name",
    ),
    (
        "OriginRequestPolicyId",
        "aws.cloudfront.origin_request_policy",
        "/OriginRequestPolicy/OriginRequestPolicyConfig/Name",
    ),
    (
        "ResponseHeadersPolicyId",
        "aws.cloudfront.response_headers_policy",
        "/ResponseHeadersPolicy/ResponseHeadersPolicyConfig/Name",
    ),
    (
        "OriginAccessControlId",
        "aws.cloudfront.origin_access_control",
        "/Name",
    ),
];

/// Every place in a distribution's `DistributionConfig` that names a resource by id
/// ([`DISTRIBUTION_REFS`]; a behavior's trusted key groups; an S3 origin's origin access
/// identity, whose value `origin-access-identity/cloudfront/<id>` is handed to `f` as the bare
/// id and written back with its prefix): `f(member, kind, name pointer, the id value)`.
pub fn distribution_ref_sites(
    config: &mut Value,
    mut f: impl FnMut(&'static str, &'static str, &'static str, &mut Value),
) {
    let mut visit = |o: &mut Value| {
        for (member, kind, name) in DISTRIBUTION_REFS {
            if let Some(v) = o
                .get_mut(*member)
                .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            {
                f(member, kind, name, v);
            }
        }
        cloudfront::key_group_sites(o, &mut f);
        cloudfront::oai_site(o, &mut f);
    };
    if let Some(b) = config.get_mut("DefaultCacheBehavior") {
        visit(b);
    }
    for list in ["/CacheBehaviors/Items", "/Origins/Items"] {
        if let Some(a) = config.pointer_mut(list).and_then(Value::as_array_mut) {
            a.iter_mut().for_each(&mut visit);
        }
    }
    cloudfront::certificate_sites(config, &mut f);
}

/// The name of the account-wide CloudFront resource `kind`/`id` in `side`, if it is there (of a
/// certificate, in CloudFront's region: [`super::acm::ref_name`]).
fn name_of(
    side: &Side,
    kind: &str,
    account: &str,
    id: &str,
    pointer: &str,
) -> Result<Option<String>, RestoreError> {
    if kind == super::acm::CERTIFICATE {
        let rid = ResourceId::new(kind, account, super::acm::CLOUDFRONT_REGION, id);
        return match side.catalog.get(&rid) {
            Some(r) => Ok(super::acm::ref_name(&side.doc(r)?)),
            None => Ok(None),
        };
    }
    let Some(r) = side.catalog.get(&ResourceId::new(kind, account, "", id)) else {
        return Ok(None);
    };
    Ok(side
        .doc(r)?
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string))
}

/// A distribution compares by the names of the policies, origin access controls and identities
/// and key groups it uses, not their ids (a policy made again by restore has a new id and the
/// same name), and a key group by the names of its public keys: each id that `side` can name
/// becomes `name:<its name>`.
fn refs_by_name(
    side: &Side,
    kind: &str,
    account: &str,
    doc: &mut Value,
) -> Result<(), RestoreError> {
    let mut err = None;
    cloudfront::ref_sites(kind, doc, |_, kind, ptr, v| {
        let id = v.as_str().unwrap_or_default().to_string();
        match name_of(side, kind, account, &id, ptr) {
            Ok(Some(n)) => *v = Value::String(format!("name:{n}")),
            Ok(None) => {}
            Err(e) => err = Some(e),
        }
    });
    err.map_or(Ok(()), Err)
}

/// A live resource of an [`assigned_id`] kind with the content `want` (a resource restore made
/// again, under a new id).
fn same_content(
    side: &Side,
    kind: &str,
    account: &str,
    want: &str,
) -> Result<Option<ResourceId>, RestoreError> {
    for r in side
        .catalog
        .records
        .iter()
        .filter(|r| r.id.kind == kind && r.id.account == account)
    {
        if resource_hash(side, r)? == want {
            return Ok(Some(r.id.clone()));
        }
    }
    Ok(None)
}

/// The aliases of a distribution document.
fn aliases(doc: &Value) -> Vec<String> {
    doc.pointer("/DistributionConfig/Aliases/Items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// The aliases (CNAMEs) of the snapshot's distribution `rec` that another live distribution
/// holds: CloudFront gives an alias to one distribution only, so writing this one would fail
/// with CNAMEAlreadyExists. The reason names each alias, its holder and the fix.
fn alias_conflicts(
    live: &Side,
    rec: &CatalogRecord,
    doc: &Value,
) -> Result<Option<String>, RestoreError> {
    let want = aliases(doc);
    if want.is_empty() {
        return Ok(None);
    }
    let mut held = Vec::new();
    for l in live.catalog.records.iter().filter(|l| {
        l.id.kind == DISTRIBUTION && l.id.account == rec.id.account && l.id.id != rec.id.id
    }) {
        let ldoc = live.doc(l)?;
        let domain = ldoc
            .get("DomainName")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        for a in aliases(&ldoc) {
            if want.iter().any(|w| w.eq_ignore_ascii_case(&a)) {
                held.push((a, l.id.id.clone(), domain.clone()));
            }
        }
    }
    if held.is_empty() {
        return Ok(None);
    }
    let list: Vec<String> = held
        .iter()
        .map(|(a, id, d)| format!("alias {a} is held by live distribution {id} ({d})"))
        .collect();
    let (a, holder, _) = &held[0];
    Ok(Some(format!(
        "{}; CloudFront gives an alias to one distribution only, so this restore would fail          with CNAMEAlreadyExists and nothing is written for it. Remove the alias from {holder}          (aws cloudfront get-distribution-config / update-distribution), or, to move it,          aws cloudfront associate-alias --target-distribution-id {} --alias {a} (the          distribution must exist, and DNS needs a TXT record _{a} pointing at it), then plan          again",
        list.join("; "),
        rec.id.id
    )))
}

/// The Route53 record sets of `snapshot` whose alias target is `domain` (a distribution's
/// `d123.cloudfront.net`): `name type (zone)`.
fn aliases_pointing_at(snapshot: &Side, domain: &str) -> Result<Vec<String>, RestoreError> {
    let want = domain.trim_end_matches('.').to_ascii_lowercase();
    let mut out = Vec::new();
    for r in snapshot
        .catalog
        .records
        .iter()
        .filter(|r| r.id.kind == "aws.route53.record_set")
    {
        let d = snapshot.doc(r)?;
        let target = d
            .pointer("/AliasTarget/DNSName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if !target.is_empty() && target == want {
            out.push(format!(
                "{} {}",
                d.get("Name").and_then(Value::as_str).unwrap_or("?"),
                d.get("Type").and_then(Value::as_str).unwrap_or("?")
            ));
        }
    }
    Ok(out)
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
    /// Zones re-created by restore: the snapshot's zone id → the live one.
    zones: BTreeMap<String, String>,
    objects: HashMap<ResourceId, HashMap<String, String>>,
    docs: HashMap<ResourceId, Option<Value>>,
}

impl<'a> Observer<'a> {
    pub fn new(side: &'a Side) -> Self {
        Observer {
            side,
            zones: zone::aliases(side)
                .into_iter()
                .map(|(new, old)| (old, new))
                .collect(),
            objects: HashMap::new(),
            docs: HashMap::new(),
        }
    }

    /// The hash of the step's target as it is in this snapshot (`None`: absent), in the terms
    /// of the step's `live` and `want`.
    pub fn hash(&mut self, step: &Step) -> Result<Option<String>, RestoreError> {
        if let Subject::Dir { path, .. } = &step.subject {
            return local::dir_hash(path);
        }
        let target = zone::rename(&step.target, &self.zones);
        let target = target.as_ref().unwrap_or(&step.target);
        let rec = match (self.side.catalog.get(target), &step.found_by_name) {
            (None, Some(n)) => find_by_name(self.side, target, n)?,
            (r, _) => r,
        };
        match &step.subject {
            Subject::Dir { .. } => unreachable!("read above"),
            // A table: as restore compares it (its settings and autoscaling, not its name).
            Subject::Resource
                if step.target.kind == TABLE && step.want.as_deref() != Some(EXISTS) =>
            {
                rec.map(|r| Ok(table::hash(&self.side.doc(r)?))).transpose()
            }
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
            // A resource made again under an id the service assigned: found by its content.
            Subject::Resource if rec.is_none() && assigned_id(&step.target.kind) => {
                match &step.want {
                    Some(w) => {
                        Ok(
                            same_content(self.side, &step.target.kind, &step.target.account, w)?
                                .map(|_| w.clone()),
                        )
                    }
                    None => Ok(None),
                }
            }
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

/// What people must do after an apply, read from the live state it left: the name servers of
/// each public zone the plan re-created (the registrar's delegation must name them).
pub fn apply_notes(plan: &RestorePlan, live: &Side) -> Result<Vec<String>, RestoreError> {
    let map = zone::aliases(live);
    let mut out = local::apply_notes(plan);
    out.extend(super::acm::apply_notes(plan, live)?);
    for (new, old) in &map {
        let created = plan.writing_steps().any(|s| {
            s.target.kind == zone::ZONE
                && &s.target.id == old
                && matches!(s.action, Action::Create { .. })
        });
        let Some(rec) = live
            .catalog
            .records
            .iter()
            .find(|r| r.id.kind == zone::ZONE && &r.id.id == new)
        else {
            continue;
        };
        if !created {
            continue;
        }
        let doc = live.doc(rec)?;
        let name = zone::zone_name(&doc).unwrap_or_default();
        if zone::is_private(&doc) {
            out.push(format!("zone {name} re-created as {new} (was {old})"));
            continue;
        }
        let ns: Vec<&str> = doc
            .pointer("/DelegationSet/NameServers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        out.push(format!(
            "zone {name} re-created as {new} (was {old}) with new name servers: update the \
             delegation of {name} at its registrar or parent zone to {}",
            ns.join(", ")
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod cloudfront_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_members_are_stripped_by_name_and_by_pointer_with_wildcards() {
        let mut v = json!({
            "Id": "E1", "ARN": "arn", "DistributionConfig": {"CallerReference": "r", "Comment": "c"},
            "Stages": {"LIVE": {"ETag": "a", "FunctionMetadata": {"CreatedTime": "t", "Stage": "LIVE"}},
                       "DEVELOPMENT": {"ETag": "b"}}
        });
        for k in [
            "Id",
            "/DistributionConfig/CallerReference",
            "/Stages/*/ETag",
            "/Stages/*/FunctionMetadata/CreatedTime",
            "/Nothing/here",
        ] {
            normalize::remove_members(&mut v, &[k]);
        }
        assert_eq!(
            v,
            json!({
                "ARN": "arn", "DistributionConfig": {"Comment": "c"},
                "Stages": {"LIVE": {"FunctionMetadata": {"Stage": "LIVE"}}, "DEVELOPMENT": {}}
            })
        );
    }

    #[test]
    fn every_policy_and_oac_reference_of_a_distribution_is_visited() {
        let mut c = json!({
            "DefaultCacheBehavior": {"CachePolicyId": "cp1", "OriginRequestPolicyId": ""},
            "CacheBehaviors": {"Items": [{"CachePolicyId": "cp2", "ResponseHeadersPolicyId": "rh1"}]},
            "Origins": {"Items": [{"Id": "o", "OriginAccessControlId": "oac1"}, {"Id": "p"}]}
        });
        let mut seen = Vec::new();
        distribution_ref_sites(&mut c, |member, kind, _, v| {
            seen.push((member, kind, v.as_str().unwrap().to_string()));
            *v = Value::String(format!("new-{}", v.as_str().unwrap()));
        });
        assert_eq!(
            seen,
            vec![
                (
                    "CachePolicyId",
                    "aws.cloudfront.cache_policy",
                    "cp1".to_string()
                ),
                (
                    "CachePolicyId",
                    "aws.cloudfront.cache_policy",
                    "cp2".to_string()
                ),
                (
                    "ResponseHeadersPolicyId",
                    "aws.cloudfront.response_headers_policy",
                    "rh1".to_string()
                ),
                (
                    "OriginAccessControlId",
                    "aws.cloudfront.origin_access_control",
                    "oac1".to_string()
                ),
            ]
        );
        assert_eq!(
            c["Origins"]["Items"][0]["OriginAccessControlId"],
            "new-oac1"
        );
        assert_eq!(c["DefaultCacheBehavior"]["OriginRequestPolicyId"], "");
    }
}

#[cfg(test)]
mod object_tests {
    use super::*;

    fn rec(v: Value) -> S3ObjectRecord {
        serde_json::from_value(v).unwrap()
    }

    /// A restore into s3s-fs read back as "differs" for every object: the listing's stamps
    /// (`listed`) and the default content type the server gave an object put without one.
    #[test]
    fn an_object_restored_to_a_server_with_other_stamps_and_a_default_type_is_the_same() {
        let blob = "1b60a47a8987b51879996f8cd4b64050ead154479bb37f3a82eb6a089c2f2d8a";
        let snap = rec(
            serde_json::json!({"key": "a", "path": "s3_buckets/b/a", "size": 3, "etag": "\"x\"",
            "last_modified": "2025-01-01T00:56:00Z", "blob": blob,
            "listed": {"last_modified": "2025-01-01T00:56:00Z"}}),
        );
        let live = rec(
            serde_json::json!({"key": "a", "path": "s3_buckets/b/a", "size": 3, "etag": "\"x\"",
            "last_modified": "2026-12-02T14:47:40.714Z", "content_type": "application/octet-stream",
            "blob": blob, "listed": {"last_modified": "2026-12-02T14:47:40.714Z"}}),
        );
        assert_eq!(object_hash(&snap), object_hash(&live));
        let html = rec(
            serde_json::json!({"key": "a", "path": "s3_buckets/b/a", "size": 3, "content_type": "text/html",
            "blob": blob}),
        );
        assert_ne!(object_hash(&snap), object_hash(&html));
    }
}
