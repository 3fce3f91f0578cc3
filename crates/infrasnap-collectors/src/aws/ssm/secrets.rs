//! Secrets Manager, one region: ListSecrets (paged, with secrets scheduled for deletion), the
//! current value's keyed fingerprint (GetSecretValue: SecretString or SecretBinary bytes; the
//! value itself is never stored in plain text; with `--keep-secrets` it is kept encrypted to the
//! configured recipient, part `kept.age`), and the resource policy (GetResourcePolicy, redacted).

use std::sync::Arc;

use aws_sdk_secretsmanager::types::SecretListEntry;
use aws_sdk_secretsmanager::Client;
use base64::Engine as _;
use futures::{stream, StreamExt};
use infrasnap_core::engine::{ErrorSink, RunContext};
use infrasnap_core::ids::ResourceId;
use infrasnap_core::kept::KeptValues;
use infrasnap_core::secrets::{redact_json, Fingerprinter, Sensitive};
use serde_json::{json, Map, Value};

use super::collect::{
    fmt_time, local_err, put, rec_err, redacted_text, tags_json, unreadable, Outcome, CONCURRENCY,
};
use super::SsmCollector;
use crate::aws::kit::sdk_pages;
use crate::aws::sdk_error::{describe, ApiFailure};

const SERVICE: &str = "secretsmanager";
/// The catalog kind of a secret (id: its name).
const KIND: &str = "aws.secretsmanager.secret";
/// The region's LastAccessedDate of every secret: one resource, id [`ACCESSED_ID`].
const ACCESSED_KIND: &str = "aws.secretsmanager.last_accessed";
const ACCESSED_ID: &str = "last_accessed";

impl SsmCollector {
    pub(super) async fn secrets(
        &self,
        cx: &Arc<RunContext>,
        region: &str,
        errors: &Arc<ErrorSink>,
    ) -> Outcome {
        let fp = cx.fingerprinter();
        let client = Client::new(&self.scope.in_region(region));
        let mut out = Outcome::default();
        let account = self.scope.account_id.as_str();
        let list = match self.list_secrets(&client).await {
            Ok(l) => l,
            Err(f) => {
                let e = rec_err(
                    fp,
                    SERVICE,
                    "secretsmanager:ListSecrets",
                    &format!("arn:aws:secretsmanager:{region}:{account}:secret:*"),
                    &f,
                );
                cx.cover(KIND, account, region, Some(&e));
                cx.cover(ACCESSED_KIND, account, region, Some(&e));
                errors.record(e);
                return out;
            }
        };
        cx.cover(KIND, account, region, None);
        cx.cover(ACCESSED_KIND, account, region, None);
        out.listed = true;

        let keep = cx.keeps_secrets();
        let done: Vec<((Value, KeptValues), String, Option<Value>)> = stream::iter(list)
            .map(|s| {
                let client = client.clone();
                async move {
                    let accessed = fmt_time(s.last_accessed_date());
                    let name = s.name().unwrap_or_default().to_string();
                    self.secret(&client, s, fp, keep, errors)
                        .await
                        .map(|v| (v, name, accessed))
                }
            })
            .buffered(CONCURRENCY)
            .filter_map(|v| async move { v })
            .collect()
            .await;
        // LastAccessedDate changes whenever anything reads the secret (this snapshot included:
        // AWS keeps it to the day), so it is not in the secret's document: the region's dates
        // are one resource of their own (`last_accessed.json`), volatile by declaration, and
        // `secrets.json` stays byte-identical while the secrets do not change.
        let mut accessed = Map::new();
        for ((v, kept), name, at) in done {
            out.items += 1;
            if v.get("ValueFingerprint").is_some() {
                out.fingerprints += 1;
            }
            if let Some(at) = at {
                accessed.insert(name, at);
            }
            // A secret's name is unique in its region (a name scheduled for deletion cannot be
            // taken again); the ARN only when a server leaves the name out.
            let key = match v["Name"].as_str() {
                Some(n) if !n.is_empty() => n.to_string(),
                _ => v["ARN"].as_str().unwrap_or_default().to_string(),
            };
            let id = ResourceId::new(KIND, account, region, key);
            if v.get("Unreadable").is_some() {
                // A call about it failed: not comparable with another snapshot's document.
                cx.mark_incomplete(&id);
            }
            match cx.put_resource(&id, None, &v) {
                Ok(st) => out.count(&st),
                Err(e) => errors.record(local_err(SERVICE, &id.to_string(), e)),
            }
            if let Err(e) = cx.keep_values(&id, None, &kept) {
                errors.record(local_err(SERVICE, &id.to_string(), e));
            }
        }
        if out.items > 0 {
            let doc = json!({ "Region": region, "LastAccessedDate": accessed });
            let id = ResourceId::new(ACCESSED_KIND, account, region, ACCESSED_ID);
            match cx.put_resource(&id, None, &doc) {
                Ok(st) => out.count(&st),
                Err(e) => errors.record(local_err(SERVICE, &id.to_string(), e)),
            }
        }
        out
    }

    async fn list_secrets(&self, client: &Client) -> Result<Vec<SecretListEntry>, ApiFailure> {
        let mut out = sdk_pages!(
            &self.limits.secretsmanager,
            "secrets",
            |t| client
                .list_secrets()
                .max_results(100)
                .include_planned_deletion(true)
                .set_next_token(t),
            |r| (r.secret_list.unwrap_or_default(), r.next_token)
        )
        .await?;
        out.sort_by(|a, b| (a.name(), a.arn()).cmp(&(b.name(), b.arn())));
        out.dedup_by(|a, b| a.arn() == b.arn());
        Ok(out)
    }

    /// One secret's entry; None when it was deleted since it was listed.
    async fn secret(
        &self,
        client: &Client,
        s: SecretListEntry,
        fp: &Fingerprinter,
        keep: bool,
        errors: &ErrorSink,
    ) -> Option<(Value, KeptValues)> {
        let mut kept = KeptValues::default();
        let arn = s.arn().unwrap_or_default().to_string();
        let id = if arn.is_empty() {
            s.name().unwrap_or_default().to_string()
        } else {
            arn.clone()
        };
        let mut o = Map::new();
        let mut unread: Vec<Value> = Vec::new();
        put(&mut o, "Name", s.name());
        put(&mut o, "ARN", s.arn());
        put(&mut o, "Type", s.r#type());
        put(
            &mut o,
            "Description",
            s.description().map(|d| redacted_text(d, fp)),
        );
        put(&mut o, "KmsKeyId", s.kms_key_id());
        put(&mut o, "RotationEnabled", s.rotation_enabled());
        put(&mut o, "RotationLambdaARN", s.rotation_lambda_arn());
        if let Some(r) = s.rotation_rules() {
            let mut rm = Map::new();
            put(
                &mut rm,
                "AutomaticallyAfterDays",
                r.automatically_after_days(),
            );
            put(&mut rm, "Duration", r.duration());
            put(&mut rm, "ScheduleExpression", r.schedule_expression());
            if !rm.is_empty() {
                o.insert("RotationRules".into(), Value::Object(rm));
            }
        }
        put(&mut o, "CreatedDate", fmt_time(s.created_date()));
        put(&mut o, "LastChangedDate", fmt_time(s.last_changed_date()));
        put(&mut o, "LastRotatedDate", fmt_time(s.last_rotated_date()));
        put(&mut o, "NextRotationDate", fmt_time(s.next_rotation_date()));
        put(&mut o, "DeletedDate", fmt_time(s.deleted_date()));
        put(&mut o, "OwningService", s.owning_service());
        put(&mut o, "PrimaryRegion", s.primary_region());
        let tags: Vec<(String, String)> = s
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let tags = tags_json(tags, fp);
        if !tags.is_empty() {
            o.insert("Tags".into(), tags.into());
        }
        if let Some(vs) = s.secret_versions_to_stages() {
            let mut m = Map::new();
            for (version, stages) in vs {
                let mut st = stages.clone();
                st.sort();
                m.insert(version.clone(), st.into());
            }
            if !m.is_empty() {
                o.insert("VersionIdsToStages".into(), Value::Object(m));
            }
        }

        // The current value: its fingerprint only. A secret scheduled for deletion has none
        // readable.
        if s.deleted_date().is_none() {
            self.limits.secretsmanager.acquire().await;
            match client.get_secret_value().secret_id(&id).send().await {
                Ok(r) => {
                    let (kind, bytes): (&str, Option<Sensitive<Vec<u8>>>) =
                        match (r.secret_string(), r.secret_binary()) {
                            (Some(t), _) => {
                                ("SecretString", Some(Sensitive::new(t.as_bytes().to_vec())))
                            }
                            (None, Some(b)) => {
                                ("SecretBinary", Some(Sensitive::new(b.as_ref().to_vec())))
                            }
                            (None, None) => ("None", None),
                        };
                    if let Some(b) = bytes {
                        o.insert("ValueFingerprint".into(), fp.fingerprint(b.expose()).into());
                        if keep {
                            // A binary value is kept as base64 (SecretBinary).
                            match (kind, std::str::from_utf8(b.expose())) {
                                ("SecretString", Ok(t)) => kept.member("/SecretString", t),
                                _ => kept.member(
                                    "/SecretBinary",
                                    &base64::engine::general_purpose::STANDARD.encode(b.expose()),
                                ),
                            }
                        }
                        o.insert("ValueType".into(), kind.into());
                        put(&mut o, "ValueVersionId", r.version_id());
                    }
                    drop(r);
                }
                Err(e) => {
                    let f = describe(&e);
                    if f.code_in(&["ResourceNotFoundException"]) {
                        // Deleted since it was listed (then GetResourcePolicy drops it below),
                        // or a secret with no AWSCURRENT version: not an error.
                        unread.push(unreadable("Value", "secretsmanager:GetSecretValue", &f));
                    } else {
                        errors.record(rec_err(
                            fp,
                            SERVICE,
                            "secretsmanager:GetSecretValue",
                            &arn,
                            &f,
                        ));
                        unread.push(unreadable("Value", "secretsmanager:GetSecretValue", &f));
                    }
                }
            }
        }

        self.limits.secretsmanager.acquire().await;
        match client.get_resource_policy().secret_id(&id).send().await {
            Ok(r) => {
                if let Some(p) = r.resource_policy().filter(|p| !p.trim().is_empty()) {
                    let mut v = serde_json::from_str::<Value>(p).unwrap_or_else(|_| p.into());
                    redact_json(&mut v, fp);
                    o.insert("ResourcePolicy".into(), v);
                }
            }
            Err(e) => {
                let f = describe(&e);
                if f.code_in(&["ResourceNotFoundException"]) {
                    return None;
                }
                errors.record(rec_err(
                    fp,
                    SERVICE,
                    "secretsmanager:GetResourcePolicy",
                    &arn,
                    &f,
                ));
                unread.push(unreadable(
                    "ResourcePolicy",
                    "secretsmanager:GetResourcePolicy",
                    &f,
                ));
            }
        }
        if !unread.is_empty() {
            o.insert("Unreadable".into(), unread.into());
        }
        Some((Value::Object(o), kept))
    }
}
