//! SSM Parameter Store, one region: DescribeParameters (paged), tags (ListTagsForResource), and
//! values (GetParameters with decryption, 10 names a call). String and StringList values are
//! stored redacted; a SecureString value never: only its keyed fingerprint. With
//! `--keep-secrets`, the value of a SecureString (or of a redacted String) is kept encrypted to the
//! configured recipient (`RunContext::keep_values`, part `kept.age`).

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_ssm::types::{ParameterMetadata, ParameterType, ResourceTypeForTagging};
use aws_sdk_ssm::Client;
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

const SERVICE: &str = "ssm";
/// The catalog kind of a parameter (id: its name).
const KIND: &str = "aws.ssm.parameter";
/// GetParameters takes at most 10 names.
const VALUE_BATCH: usize = 10;

/// A value read with GetParameter(s): never printed (Sensitive), only fingerprinted or redacted.
struct ReadValue {
    value: Sensitive<String>,
    version: i64,
}

impl SsmCollector {
    fn parameter_arn(&self, region: &str, name: &str) -> String {
        let sep = if name.starts_with('/') { "" } else { "/" };
        format!(
            "arn:aws:ssm:{region}:{}:parameter{sep}{name}",
            self.scope.account_id
        )
    }

    pub(super) async fn parameters(
        &self,
        cx: &Arc<RunContext>,
        region: &str,
        errors: &Arc<ErrorSink>,
    ) -> Outcome {
        let fp = cx.fingerprinter();
        let client = Client::new(&self.scope.in_region(region));
        let mut out = Outcome::default();
        let account = self.scope.account_id.as_str();
        let metas = match self.describe_parameters(&client).await {
            Ok(m) => m,
            Err(f) => {
                let e = rec_err(
                    fp,
                    SERVICE,
                    "ssm:DescribeParameters",
                    &format!("arn:aws:ssm:{region}:{account}:*"),
                    &f,
                );
                cx.cover(KIND, account, region, Some(&e));
                errors.record(e);
                return out;
            }
        };
        cx.cover(KIND, account, region, None);
        out.listed = true;

        // Values, in batches of 10 (WithDecryption: SecureStrings are fingerprinted, so the
        // plaintext is needed; a String's value is the same either way).
        let names: Vec<String> = metas
            .iter()
            .filter_map(|m| m.name().map(String::from))
            .collect();
        let mut values: HashMap<String, Result<ReadValue, ApiFailure>> = HashMap::new();
        for batch in names.chunks(VALUE_BATCH) {
            self.limits.ssm.acquire().await;
            let r = client
                .get_parameters()
                .set_names(Some(batch.to_vec()))
                .with_decryption(true)
                .send()
                .await;
            match r {
                Ok(r) => {
                    for p in r.parameters() {
                        if let (Some(n), Some(v)) = (p.name(), p.value()) {
                            values.insert(
                                n.to_string(),
                                Ok(ReadValue {
                                    value: Sensitive::new(v.to_string()),
                                    version: p.version(),
                                }),
                            );
                        }
                    }
                    // Names in InvalidParameters were deleted since they were listed.
                }
                Err(_) => {
                    // One undecryptable parameter fails the whole batch: read them one by one,
                    // so that each failure names its parameter.
                    for n in batch {
                        values.insert(n.clone(), self.get_one(&client, n).await);
                    }
                }
            }
        }

        let entries: Vec<(Value, KeptValues)> = stream::iter(metas)
            .map(|m| {
                let client = client.clone();
                let value = m.name().and_then(|n| values.remove(n));
                async move { self.parameter(&client, region, m, value, cx, errors).await }
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;

        // One resource per parameter; the core writes the region's `parameters.json` view.
        for (e, kept) in &entries {
            out.items += 1;
            if e["Type"] == "SecureString" {
                out.secure += 1;
            }
            if e.get("ValueFingerprint").is_some() {
                out.fingerprints += 1;
            }
            let name = e["Name"].as_str().unwrap_or_default();
            let id = ResourceId::new(KIND, account, region, name);
            if e.get("Unreadable").is_some() {
                // A call about it failed: not comparable with another snapshot's document.
                cx.mark_incomplete(&id);
            }
            match cx.put_resource(&id, None, e) {
                Ok(st) => out.count(&st),
                Err(err) => errors.record(local_err(SERVICE, &id.to_string(), err)),
            }
            if let Err(err) = cx.keep_values(&id, None, kept) {
                errors.record(local_err(SERVICE, &id.to_string(), err));
            }
        }
        out
    }

    async fn get_one(&self, client: &Client, name: &str) -> Result<ReadValue, ApiFailure> {
        self.limits.ssm.acquire().await;
        let r = client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let p = r
            .parameter()
            .ok_or_else(|| ApiFailure::message("GetParameter returned no parameter"))?;
        Ok(ReadValue {
            value: Sensitive::new(p.value().unwrap_or_default().to_string()),
            version: p.version(),
        })
    }

    async fn describe_parameters(
        &self,
        client: &Client,
    ) -> Result<Vec<ParameterMetadata>, ApiFailure> {
        let mut out = sdk_pages!(
            &self.limits.ssm,
            "SSM parameters",
            |t| client
                .describe_parameters()
                .max_results(50)
                .set_next_token(t),
            |r| (r.parameters.unwrap_or_default(), r.next_token)
        )
        .await?;
        out.sort_by(|a, b| a.name().cmp(&b.name()));
        out.dedup_by(|a, b| a.name() == b.name());
        Ok(out)
    }

    async fn parameter(
        &self,
        client: &Client,
        region: &str,
        m: ParameterMetadata,
        value: Option<Result<ReadValue, ApiFailure>>,
        cx: &RunContext,
        errors: &ErrorSink,
    ) -> (Value, KeptValues) {
        let (fp, keep) = (cx.fingerprinter(), cx.keeps_secrets());
        let mut kept = KeptValues::default();
        let name = m.name().unwrap_or_default().to_string();
        let arn = m
            .arn()
            .map(String::from)
            .unwrap_or_else(|| self.parameter_arn(region, &name));
        let kind = m.r#type().cloned();
        let mut o = Map::new();
        let mut unread: Vec<Value> = Vec::new();
        o.insert("Name".into(), name.clone().into());
        put(&mut o, "ARN", m.arn());
        put(&mut o, "Type", kind.as_ref().map(|t| t.as_str()));
        put(&mut o, "KeyId", m.key_id());
        put(
            &mut o,
            "Description",
            m.description().map(|d| redacted_text(d, fp)),
        );
        put(&mut o, "Tier", m.tier().map(|t| t.as_str()));
        o.insert("Version".into(), m.version().into());
        put(&mut o, "LastModifiedDate", fmt_time(m.last_modified_date()));
        put(&mut o, "LastModifiedUser", m.last_modified_user());
        put(&mut o, "DataType", m.data_type());
        put(&mut o, "AllowedPattern", m.allowed_pattern());
        let mut policies: Vec<Value> = m
            .policies()
            .iter()
            .map(|p| {
                let mut pm = Map::new();
                put(&mut pm, "PolicyType", p.policy_type());
                put(&mut pm, "PolicyStatus", p.policy_status());
                // The policy text is JSON in a string: keep it parsed when it parses.
                put(
                    &mut pm,
                    "PolicyText",
                    p.policy_text().map(|t| {
                        serde_json::from_str::<Value>(t).unwrap_or_else(|_| Value::from(t))
                    }),
                );
                Value::Object(pm)
            })
            .collect();
        policies.sort_by_key(|p| p.to_string());
        if !policies.is_empty() {
            let mut v = Value::Array(policies);
            redact_json(&mut v, fp);
            o.insert("Policies".into(), v);
        }

        self.limits.ssm.acquire().await;
        match client
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(&name)
            .send()
            .await
        {
            Ok(r) => {
                let tags: Vec<(String, String)> = r
                    .tag_list()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect();
                let tags = tags_json(tags, fp);
                if !tags.is_empty() {
                    o.insert("Tags".into(), tags.into());
                }
            }
            Err(e) => {
                let f = describe(&e);
                errors.record(rec_err(fp, SERVICE, "ssm:ListTagsForResource", &arn, &f));
                unread.push(unreadable("Tags", "ssm:ListTagsForResource", &f));
            }
        }

        match value {
            Some(Ok(v)) => {
                o.insert("ValueVersion".into(), v.version.into());
                match kind {
                    Some(ParameterType::SecureString) | None => {
                        o.insert(
                            "ValueFingerprint".into(),
                            fp.fingerprint(v.value.expose().as_bytes()).into(),
                        );
                        if keep {
                            kept.member("/Value", v.value.expose());
                        }
                    }
                    Some(_) => {
                        // A String's value is configuration, but may hold a secret: redact
                        // secret shapes, and the whole value when the name is secret-like.
                        let (value, redacted) = string_value(&name, v.value.expose(), fp);
                        o.insert("Value".into(), value.into());
                        if redacted {
                            o.insert("ValueRedacted".into(), true.into());
                            if keep {
                                kept.member("/Value", v.value.expose());
                            }
                        }
                    }
                }
            }
            Some(Err(f)) if !f.code_in(&["ParameterNotFound"]) => {
                errors.record(rec_err(fp, SERVICE, "ssm:GetParameter", &arn, &f));
                unread.push(unreadable("Value", "ssm:GetParameter", &f));
            }
            // Deleted since it was listed.
            _ => {}
        }
        if !unread.is_empty() {
            o.insert("Unreadable".into(), unread.into());
        }
        (Value::Object(o), kept)
    }
}

/// A String or StringList value as stored: secret shapes inside it replaced by markers, and the
/// whole value when the parameter's name is secret-like (`/app/db_password`). True when
/// anything was replaced.
fn string_value(name: &str, value: &str, fp: &Fingerprinter) -> (String, bool) {
    let mut pair = json!({ "Name": name, "Value": value });
    let changed = redact_json(&mut pair, fp);
    let v = match pair["Value"].take() {
        Value::String(s) => s,
        other => other.to_string(),
    };
    (v, !changed.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_values_are_redacted_by_shape_and_by_name() {
        let fp = Fingerprinter::from_key([7; 32]);
        let (v, r) = string_value("/app/host", "db.example.com", &fp);
        assert_eq!((v.as_str(), r), ("db.example.com", false));
        let key = format!("{}{}", "AKIA", "QWERTYUIOPASDFGH");
        let (v, r) = string_value("/app/conf", &format!("id={key} region=x"), &fp);
        assert!(r && !v.contains(&key) && v.contains("<redacted fp:"), "{v}");
        assert!(v.ends_with(" region=x"), "{v}");
        let (v, r) = string_value("/app/prod/db_password", "Tr0ub4dor&3-horse", &fp);
        assert!(r, "{v}");
        assert_eq!(v, fp.marker(b"Tr0ub4dor&3-horse"));
    }
}
