//! SES writer: templates, configuration sets (with their options and event destinations) and
//! identities, through SESv2 as the collector reads them, and SES v1 where the endpoint does not
//! know the v2 call (an HTTP 404 without an AWS error code: templates and event destinations on
//! some endpoints). A created identity is verified by SES again: the plan says which DNS records
//! must exist; nothing here can make DKIM or a verification come back.

use aws_sdk_ses::types as v1t;
use aws_sdk_ses::Client as V1;
use aws_sdk_sesv2::types as v2t;
use aws_sdk_sesv2::Client as V2;
use infrasnap_core::restore::{Action, Step};
use serde_json::Value;

use super::{Context, WriteError};
use crate::aws::sdk_error::describe;
use crate::aws::ses::unsupported;

/// The kinds this writer restores.
pub const KINDS: &[&str] = &[
    "aws.ses.identity",
    "aws.ses.template",
    "aws.ses.configuration_set",
];

fn clients(cx: &Context, region: &str) -> (V2, V1) {
    let r = aws_sdk_sesv2::config::Region::new(region.to_string());
    let v2 = V2::from_conf(
        aws_sdk_sesv2::config::Builder::from(&cx.sdk)
            .region(r.clone())
            .build(),
    );
    let v1 = V1::from_conf(
        aws_sdk_ses::config::Builder::from(&cx.sdk)
            .region(r)
            .build(),
    );
    (v2, v1)
}

fn s(v: &Value, p: &str) -> Option<String> {
    v.pointer(p).and_then(Value::as_str).map(str::to_string)
}

fn b(v: &Value, p: &str) -> Option<bool> {
    v.pointer(p).and_then(Value::as_bool)
}

fn strs(v: &Value, p: &str) -> Vec<String> {
    v.pointer(p)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// `{"Key": ..., "Value": ...}` tags (a list) or a `{key: value}` map.
fn tag_pairs(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|t| Some((s(t, "/Key")?, s(t, "/Value").unwrap_or_default())))
            .collect(),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect(),
        _ => Vec::new(),
    }
}

fn v2_tags(v: Option<&Value>) -> Option<Vec<v2t::Tag>> {
    let t: Vec<v2t::Tag> = tag_pairs(v)
        .into_iter()
        .filter_map(|(k, v)| v2t::Tag::builder().key(k).value(v).build().ok())
        .collect();
    (!t.is_empty()).then_some(t)
}

/// Whether an update changed a member under `prefix` (a create writes everything).
fn touches(step: &Step, prefix: &str) -> bool {
    match &step.action {
        Action::Update { fields, .. } => fields
            .iter()
            .any(|f| f.field == prefix || f.field.starts_with(&format!("{prefix}/"))),
        _ => true,
    }
}

/// Write one SES step.
pub async fn write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    let (v2, v1) = clients(cx, &step.target.region);
    let name = step.target.id.as_str();
    match step.target.kind.as_str() {
        "aws.ses.template" => template(cx, step, &v2, &v1, name).await,
        "aws.ses.configuration_set" => configuration_set(cx, step, &v2, &v1, name).await,
        "aws.ses.identity" => identity(cx, step, &v2, name).await,
        k => Err(WriteError::new(format!("no SES writer for {k}"))),
    }
}

// ---- templates ----

async fn template(
    cx: &Context,
    step: &Step,
    v2: &V2,
    v1: &V1,
    name: &str,
) -> Result<(), WriteError> {
    let call = |op: &str| format!("ses:{op} {name}");
    if matches!(step.action, Action::Delete) {
        return match v2.delete_email_template().template_name(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if unsupported(&describe(&e)) => v1
                .delete_template()
                .template_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| WriteError::sdk(&call("DeleteTemplate"), &e)),
            Err(e) => Err(WriteError::sdk(&call("DeleteEmailTemplate"), &e)),
        };
    }
    let doc = cx.document(step)?;
    let t = doc.get("Template").cloned().unwrap_or(Value::Null);
    let (subject, text, html) = (s(&t, "/Subject"), s(&t, "/Text"), s(&t, "/Html"));
    let content = v2t::EmailTemplateContent::builder()
        .set_subject(subject.clone())
        .set_text(text.clone())
        .set_html(html.clone())
        .build();
    let create = matches!(step.action, Action::Create { .. });
    let op = if create {
        "CreateEmailTemplate"
    } else {
        "UpdateEmailTemplate"
    };
    let r = if create {
        v2.create_email_template()
            .template_name(name)
            .template_content(content)
            .set_tags(v2_tags(t.get("Tags")))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| (describe(&e), WriteError::sdk(&call(op), &e)))
    } else {
        v2.update_email_template()
            .template_name(name)
            .template_content(content)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| (describe(&e), WriteError::sdk(&call(op), &e)))
    };
    match r {
        Ok(()) => Ok(()),
        Err((f, _)) if unsupported(&f) => {
            // The endpoint speaks SES v1 templates only.
            let tpl = v1t::Template::builder()
                .template_name(name)
                .set_subject_part(subject)
                .set_text_part(text)
                .set_html_part(html)
                .build()
                .map_err(|e| WriteError::new(format!("template {name}: {e}")))?;
            if create {
                v1.create_template()
                    .template(tpl)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| WriteError::sdk(&call("CreateTemplate"), &e))
            } else {
                v1.update_template()
                    .template(tpl)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| WriteError::sdk(&call("UpdateTemplate"), &e))
            }
        }
        Err((_, e)) => Err(e),
    }
}

// ---- configuration sets ----

async fn configuration_set(
    cx: &Context,
    step: &Step,
    v2: &V2,
    v1: &V1,
    name: &str,
) -> Result<(), WriteError> {
    let call = |op: &str| format!("ses:{op} {name}");
    if matches!(step.action, Action::Delete) {
        return v2
            .delete_configuration_set()
            .configuration_set_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| WriteError::sdk(&call("DeleteConfigurationSet"), &e));
    }
    let doc = cx.document(step)?;
    let tracking = doc.get("TrackingOptions").and_then(|t| {
        v2t::TrackingOptions::builder()
            .custom_redirect_domain(s(t, "/CustomRedirectDomain")?)
            .set_https_policy(s(t, "/HttpsPolicy").map(|p| v2t::HttpsPolicy::from(p.as_str())))
            .build()
            .ok()
    });
    let delivery = doc.get("DeliveryOptions").map(|d| {
        v2t::DeliveryOptions::builder()
            .set_tls_policy(s(d, "/TlsPolicy").map(|p| v2t::TlsPolicy::from(p.as_str())))
            .set_sending_pool_name(s(d, "/SendingPoolName"))
            .set_max_delivery_seconds(d.get("MaxDeliverySeconds").and_then(Value::as_i64))
            .build()
    });
    let reputation = doc.get("ReputationOptions").map(|r| {
        v2t::ReputationOptions::builder()
            .set_reputation_metrics_enabled(b(r, "/ReputationMetricsEnabled"))
            .build()
    });
    let sending = b(&doc, "/SendingOptions/SendingEnabled");
    let suppressed: Option<Vec<v2t::SuppressionListReason>> =
        doc.pointer("/SuppressionOptions").map(|_| {
            strs(&doc, "/SuppressionOptions/SuppressedReasons")
                .iter()
                .map(|r| v2t::SuppressionListReason::from(r.as_str()))
                .collect()
        });
    if matches!(step.action, Action::Create { .. }) {
        v2.create_configuration_set()
            .configuration_set_name(name)
            .set_tracking_options(tracking)
            .set_delivery_options(delivery)
            .set_reputation_options(reputation)
            .set_sending_options(
                sending.map(|e| v2t::SendingOptions::builder().sending_enabled(e).build()),
            )
            .set_suppression_options(suppressed.map(|r| {
                v2t::SuppressionOptions::builder()
                    .set_suppressed_reasons(Some(r))
                    .build()
            }))
            .set_tags(v2_tags(doc.get("Tags")))
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("CreateConfigurationSet"), &e))?;
    } else {
        if touches(step, "/TrackingOptions") {
            let t = doc.get("TrackingOptions");
            v2.put_configuration_set_tracking_options()
                .configuration_set_name(name)
                .set_custom_redirect_domain(t.and_then(|t| s(t, "/CustomRedirectDomain")))
                .set_https_policy(
                    t.and_then(|t| s(t, "/HttpsPolicy"))
                        .map(|p| v2t::HttpsPolicy::from(p.as_str())),
                )
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutConfigurationSetTrackingOptions"), &e))?;
        }
        if touches(step, "/DeliveryOptions") {
            let d = doc.get("DeliveryOptions");
            v2.put_configuration_set_delivery_options()
                .configuration_set_name(name)
                .set_tls_policy(
                    d.and_then(|d| s(d, "/TlsPolicy"))
                        .map(|p| v2t::TlsPolicy::from(p.as_str())),
                )
                .set_sending_pool_name(d.and_then(|d| s(d, "/SendingPoolName")))
                .set_max_delivery_seconds(
                    d.and_then(|d| d.get("MaxDeliverySeconds"))
                        .and_then(Value::as_i64),
                )
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutConfigurationSetDeliveryOptions"), &e))?;
        }
        if touches(step, "/ReputationOptions") {
            v2.put_configuration_set_reputation_options()
                .configuration_set_name(name)
                .set_reputation_metrics_enabled(b(
                    &doc,
                    "/ReputationOptions/ReputationMetricsEnabled",
                ))
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutConfigurationSetReputationOptions"), &e))?;
        }
        if touches(step, "/SendingOptions") {
            v2.put_configuration_set_sending_options()
                .configuration_set_name(name)
                .set_sending_enabled(sending)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutConfigurationSetSendingOptions"), &e))?;
        }
        if touches(step, "/SuppressionOptions") {
            v2.put_configuration_set_suppression_options()
                .configuration_set_name(name)
                .set_suppressed_reasons(suppressed)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutConfigurationSetSuppressionOptions"), &e))?;
        }
        if touches(step, "/Tags") {
            // Tags of an existing set: TagResource needs its ARN, which the document does not
            // hold; a differing tag is left for people (the plan lists it).
        }
    }
    if touches(step, "/EventDestinations") {
        event_destinations(&doc, step, v2, v1, name).await?;
    }
    Ok(())
}

/// `RENDERING_FAILURE` → `renderingFailure` (SES v1's spelling).
fn v1_spelling(s: &str) -> String {
    let mut out = String::new();
    for (i, w) in s.split('_').enumerate() {
        let w = w.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&w);
        } else {
            let mut c = w.chars();
            if let Some(f) = c.next() {
                out.push(f.to_ascii_uppercase());
                out.push_str(c.as_str());
            }
        }
    }
    out
}

/// Make the set's event destinations the snapshot's: live ones deleted, the snapshot's created
/// (SESv2, else v1).
async fn event_destinations(
    doc: &Value,
    step: &Step,
    v2: &V2,
    v1: &V1,
    name: &str,
) -> Result<(), WriteError> {
    let call = |op: &str| format!("ses:{op} {name}");
    let want: Vec<Value> = doc
        .get("EventDestinations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // The live destinations (an update only; a new set has none).
    let mut live: Vec<String> = Vec::new();
    let mut use_v1 = false;
    if matches!(step.action, Action::Update { .. }) {
        match v2
            .get_configuration_set_event_destinations()
            .configuration_set_name(name)
            .send()
            .await
        {
            Ok(r) => {
                live = r
                    .event_destinations()
                    .iter()
                    .map(|d| d.name().to_string())
                    .collect()
            }
            Err(e) if unsupported(&describe(&e)) => {
                use_v1 = true;
                let r = v1
                    .describe_configuration_set()
                    .configuration_set_name(name)
                    .configuration_set_attribute_names(
                        v1t::ConfigurationSetAttribute::EventDestinations,
                    )
                    .send()
                    .await
                    .map_err(|e| WriteError::sdk(&call("DescribeConfigurationSet"), &e))?;
                live = r
                    .event_destinations()
                    .iter()
                    .map(|d| d.name().to_string())
                    .collect();
            }
            Err(e) => {
                return Err(WriteError::sdk(
                    &call("GetConfigurationSetEventDestinations"),
                    &e,
                ))
            }
        }
    }
    for d in &live {
        if use_v1 {
            v1.delete_configuration_set_event_destination()
                .configuration_set_name(name)
                .event_destination_name(d)
                .send()
                .await
                .map_err(|e| {
                    WriteError::sdk(&call("DeleteConfigurationSetEventDestination"), &e)
                })?;
        } else {
            v2.delete_configuration_set_event_destination()
                .configuration_set_name(name)
                .event_destination_name(d)
                .send()
                .await
                .map_err(|e| {
                    WriteError::sdk(&call("DeleteConfigurationSetEventDestination"), &e)
                })?;
        }
    }
    for d in &want {
        let dname = s(d, "/Name").unwrap_or_default();
        if !use_v1 {
            let def = v2_destination(d)?;
            match v2
                .create_configuration_set_event_destination()
                .configuration_set_name(name)
                .event_destination_name(&dname)
                .event_destination(def)
                .send()
                .await
            {
                Ok(_) => continue,
                Err(e) if unsupported(&describe(&e)) => use_v1 = true,
                Err(e) => {
                    return Err(WriteError::sdk(
                        &call("CreateConfigurationSetEventDestination"),
                        &e,
                    ))
                }
            }
        }
        v1.create_configuration_set_event_destination()
            .configuration_set_name(name)
            .event_destination(v1_destination(d)?)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("CreateConfigurationSetEventDestination"), &e))?;
    }
    Ok(())
}

fn bad(what: &str, e: impl std::fmt::Display) -> WriteError {
    WriteError::new(format!("event destination {what}: {e}"))
}

fn v2_destination(d: &Value) -> Result<v2t::EventDestinationDefinition, WriteError> {
    let n = s(d, "/Name").unwrap_or_default();
    let mut b = v2t::EventDestinationDefinition::builder()
        .set_enabled(b(d, "/Enabled"))
        .set_matching_event_types(Some(
            strs(d, "/MatchingEventTypes")
                .iter()
                .map(|t| v2t::EventType::from(t.as_str()))
                .collect(),
        ));
    if let Some(k) = d.get("KinesisFirehoseDestination") {
        b = b.kinesis_firehose_destination(
            v2t::KinesisFirehoseDestination::builder()
                .set_iam_role_arn(s(k, "/IamRoleArn"))
                .set_delivery_stream_arn(s(k, "/DeliveryStreamArn"))
                .build()
                .map_err(|e| bad(&n, e))?,
        );
    }
    if let Some(c) = d.get("CloudWatchDestination") {
        let mut dims = Vec::new();
        for x in c
            .get("DimensionConfigurations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            dims.push(
                v2t::CloudWatchDimensionConfiguration::builder()
                    .set_dimension_name(s(x, "/DimensionName"))
                    .set_dimension_value_source(
                        s(x, "/DimensionValueSource")
                            .map(|v| v2t::DimensionValueSource::from(v.as_str())),
                    )
                    .set_default_dimension_value(s(x, "/DefaultDimensionValue"))
                    .build()
                    .map_err(|e| bad(&n, e))?,
            );
        }
        b = b.cloud_watch_destination(
            v2t::CloudWatchDestination::builder()
                .set_dimension_configurations(Some(dims))
                .build()
                .map_err(|e| bad(&n, e))?,
        );
    }
    if let Some(x) = d.get("SnsDestination") {
        b = b.sns_destination(
            v2t::SnsDestination::builder()
                .set_topic_arn(s(x, "/TopicArn"))
                .build()
                .map_err(|e| bad(&n, e))?,
        );
    }
    if let Some(x) = d.get("EventBridgeDestination") {
        b = b.event_bridge_destination(
            v2t::EventBridgeDestination::builder()
                .set_event_bus_arn(s(x, "/EventBusArn"))
                .build()
                .map_err(|e| bad(&n, e))?,
        );
    }
    if let Some(x) = d.get("PinpointDestination") {
        b = b.pinpoint_destination(
            v2t::PinpointDestination::builder()
                .set_application_arn(s(x, "/ApplicationArn"))
                .build(),
        );
    }
    Ok(b.build())
}

fn v1_destination(d: &Value) -> Result<v1t::EventDestination, WriteError> {
    let n = s(d, "/Name").unwrap_or_default();
    let mut b = v1t::EventDestination::builder()
        .name(&n)
        .set_enabled(b(d, "/Enabled"))
        .set_matching_event_types(Some(
            strs(d, "/MatchingEventTypes")
                .iter()
                .map(|t| v1t::EventType::from(v1_spelling(t).as_str()))
                .collect(),
        ));
    if let Some(k) = d.get("KinesisFirehoseDestination") {
        b = b.kinesis_firehose_destination(
            v1t::KinesisFirehoseDestination::builder()
                .set_iam_role_arn(s(k, "/IamRoleArn"))
                .set_delivery_stream_arn(s(k, "/DeliveryStreamArn"))
                .build()
                .map_err(|e| bad(&n, e))?,
        );
    }
    if let Some(c) = d.get("CloudWatchDestination") {
        let mut dims = Vec::new();
        for x in c
            .get("DimensionConfigurations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            dims.push(
                v1t::CloudWatchDimensionConfiguration::builder()
                    .set_dimension_name(s(x, "/DimensionName"))
                    .set_dimension_value_source(
                        s(x, "/DimensionValueSource")
                            .map(|v| v1t::DimensionValueSource::from(v1_spelling(&v).as_str())),
                    )
                    .set_default_dimension_value(s(x, "/DefaultDimensionValue"))
                    .build()
                    .map_err(|e| bad(&n, e))?,
            );
        }
        b = b.cloud_watch_destination(
            v1t::CloudWatchDestination::builder()
                .set_dimension_configurations(Some(dims))
                .build()
                .map_err(|e| bad(&n, e))?,
        );
    }
    if let Some(x) = d.get("SnsDestination") {
        b = b.sns_destination(
            v1t::SnsDestination::builder()
                .set_topic_arn(s(x, "/TopicArn"))
                .build()
                .map_err(|e| bad(&n, e))?,
        );
    }
    b.build().map_err(|e| bad(&n, e))
}

// ---- identities ----

async fn identity(cx: &Context, step: &Step, v2: &V2, name: &str) -> Result<(), WriteError> {
    let call = |op: &str| format!("ses:{op} {name}");
    if matches!(step.action, Action::Delete) {
        return v2
            .delete_email_identity()
            .email_identity(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| WriteError::sdk(&call("DeleteEmailIdentity"), &e));
    }
    let doc = cx.document(step)?;
    let set = s(&doc, "/ConfigurationSetName");
    let create = matches!(step.action, Action::Create { .. });
    if create {
        v2.create_email_identity()
            .email_identity(name)
            .set_tags(v2_tags(doc.get("Tags")))
            .set_configuration_set_name(set.clone())
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("CreateEmailIdentity"), &e))?;
    } else if touches(step, "/ConfigurationSetName") {
        v2.put_email_identity_configuration_set_attributes()
            .email_identity(name)
            .set_configuration_set_name(set)
            .send()
            .await
            .map_err(|e| {
                WriteError::sdk(&call("PutEmailIdentityConfigurationSetAttributes"), &e)
            })?;
    }
    // A created identity has SES's defaults: put only what differs from them.
    let (live_feedback, live_signing) = if create {
        let r = v2
            .get_email_identity()
            .email_identity(name)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("GetEmailIdentity"), &e))?;
        (
            Some(r.feedback_forwarding_status()),
            r.dkim_attributes().map(|d| d.signing_enabled()),
        )
    } else {
        (None, None)
    };
    let feedback = b(&doc, "/FeedbackForwardingStatus");
    if touches(step, "/FeedbackForwardingStatus") && !(create && feedback == live_feedback) {
        v2.put_email_identity_feedback_attributes()
            .email_identity(name)
            .set_email_forwarding_enabled(feedback)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("PutEmailIdentityFeedbackAttributes"), &e))?;
    }
    let signing = b(&doc, "/DkimAttributes/SigningEnabled");
    if touches(step, "/DkimAttributes/SigningEnabled") && !(create && signing == live_signing) {
        v2.put_email_identity_dkim_attributes()
            .email_identity(name)
            .set_signing_enabled(signing)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("PutEmailIdentityDkimAttributes"), &e))?;
    }
    if let Some(mf) = doc.get("MailFromAttributes") {
        if touches(step, "/MailFromAttributes") {
            v2.put_email_identity_mail_from_attributes()
                .email_identity(name)
                .set_mail_from_domain(s(mf, "/MailFromDomain"))
                .set_behavior_on_mx_failure(
                    s(mf, "/BehaviorOnMxFailure")
                        .map(|x| v2t::BehaviorOnMxFailure::from(x.as_str())),
                )
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("PutEmailIdentityMailFromAttributes"), &e))?;
        }
    }
    if let Some(Value::Object(policies)) = doc.get("Policies") {
        if touches(step, "/Policies") {
            for (pname, p) in policies {
                let text = match p {
                    Value::String(t) => t.clone(),
                    other => other.to_string(),
                };
                let r = v2
                    .create_email_identity_policy()
                    .email_identity(name)
                    .policy_name(pname)
                    .policy(&text)
                    .send()
                    .await;
                if let Err(e) = r {
                    if describe(&e).code_in(&["AlreadyExistsException"]) {
                        v2.update_email_identity_policy()
                            .email_identity(name)
                            .policy_name(pname)
                            .policy(&text)
                            .send()
                            .await
                            .map_err(|e| WriteError::sdk(&call("UpdateEmailIdentityPolicy"), &e))?;
                    } else {
                        return Err(WriteError::sdk(&call("CreateEmailIdentityPolicy"), &e));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn v1_spelling_of_v2_names() {
        assert_eq!(super::v1_spelling("RENDERING_FAILURE"), "renderingFailure");
        assert_eq!(super::v1_spelling("SEND"), "send");
        assert_eq!(super::v1_spelling("MESSAGE_TAG"), "messageTag");
    }
}
