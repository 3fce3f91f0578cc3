//! Route53 health checks writer (`aws.route53.health_check`).
//!
//! - Create: CreateHealthCheck with the snapshot's HealthCheckConfig and a fresh caller
//!   reference `infrasnap-restore/<snapshot's id>/<time>` (Route53 gives it a new id; the
//!   reference is how the record sets that named the old id find the new one, [`live_id`], and
//!   how a rerun of a killed apply finds the one it made instead of making a second); then the
//!   tags made exactly the snapshot's.
//! - Update: UpdateHealthCheck with the live HealthCheckVersion (GetHealthCheck) and every
//!   member of the snapshot's config; members the snapshot lacks and live has are reset
//!   (`ResetElements`). Type, RequestInterval and MeasureLatency cannot be changed by Route53:
//!   a difference there fails the step and says so.
//! - Delete (`--delete-extra`): DeleteHealthCheck.

use aws_sdk_route53::types::{
    AlarmIdentifier, CloudWatchRegion, HealthCheckConfig as SdkConfig, HealthCheckRegion,
    HealthCheckType, InsufficientDataHealthStatus, ResettableElementName, Tag as SdkTag,
    TagResourceType,
};
use aws_sdk_route53::Client;
use infrasnap_core::restore::zone::{caller_reference, restored_from};
use infrasnap_core::restore::{Action, Step};

use super::{Context, WriteError};
use crate::aws::route53::model::{HealthCheckConfig, HealthCheckEntry};

/// The kinds this writer restores.
pub const KINDS: &[&str] = &[infrasnap_core::restore::health::HEALTH_CHECK];

fn client(cx: &Context) -> Client {
    let conf = aws_sdk_route53::config::Builder::from(&cx.sdk)
        .region(aws_sdk_route53::config::Region::new("us-east-1"))
        .build();
    Client::from_conf(conf)
}

fn to_sdk(c: &HealthCheckConfig) -> Result<SdkConfig, WriteError> {
    SdkConfig::builder()
        .set_ip_address(c.ip_address.clone())
        .set_port(c.port)
        .r#type(HealthCheckType::from(c.check_type.as_str()))
        .set_resource_path(c.resource_path.clone())
        .set_fully_qualified_domain_name(c.fully_qualified_domain_name.clone())
        .set_search_string(c.search_string.clone())
        .set_request_interval(c.request_interval)
        .set_failure_threshold(c.failure_threshold)
        .set_measure_latency(c.measure_latency)
        .set_inverted(c.inverted)
        .set_disabled(c.disabled)
        .set_health_threshold(c.health_threshold)
        .set_child_health_checks(c.child_health_checks.clone())
        .set_enable_sni(c.enable_sni)
        .set_regions(regions(c))
        .set_alarm_identifier(alarm(c)?)
        .set_insufficient_data_health_status(insufficient(c))
        .set_routing_control_arn(c.routing_control_arn.clone())
        .build()
        .map_err(|e| WriteError::new(format!("the captured health check config: {e}")))
}

fn regions(c: &HealthCheckConfig) -> Option<Vec<HealthCheckRegion>> {
    c.regions.as_ref().map(|r| {
        r.iter()
            .map(|x| HealthCheckRegion::from(x.as_str()))
            .collect()
    })
}

fn alarm(c: &HealthCheckConfig) -> Result<Option<AlarmIdentifier>, WriteError> {
    c.alarm_identifier
        .as_ref()
        .map(|a| {
            AlarmIdentifier::builder()
                .region(CloudWatchRegion::from(a.region.as_str()))
                .name(&a.name)
                .build()
                .map_err(|e| WriteError::new(format!("the captured alarm identifier: {e}")))
        })
        .transpose()
}

fn insufficient(c: &HealthCheckConfig) -> Option<InsufficientDataHealthStatus> {
    c.insufficient_data_health_status
        .as_deref()
        .map(InsufficientDataHealthStatus::from)
}

/// The live health check that stands for the snapshot's `old`: itself when it exists, else the
/// newest one restore made from it (its caller reference names `old`), else `None`.
pub async fn live_id(c: &Client, old: &str) -> Result<Option<String>, WriteError> {
    match c.get_health_check().health_check_id(old).send().await {
        Ok(_) => return Ok(Some(old.to_string())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_health_check()) => {}
        Err(e) => {
            return Err(WriteError::sdk(
                &format!("route53:GetHealthCheck {old}"),
                &e,
            ))
        }
    }
    let mut found: Option<(String, String)> = None;
    let mut marker = None;
    loop {
        let r = c
            .list_health_checks()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| WriteError::sdk("route53:ListHealthChecks", &e))?;
        for h in r.health_checks() {
            let cr = h.caller_reference();
            if restored_from(cr) == Some(old) && found.as_ref().is_none_or(|(_, f)| cr > f.as_str())
            {
                found = Some((h.id().to_string(), cr.to_string()));
            }
        }
        match (r.is_truncated, r.next_marker) {
            (true, Some(m)) => marker = Some(m),
            _ => break,
        }
    }
    Ok(found.map(|(id, _)| id))
}

/// Write one health check step.
pub async fn write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    let c = client(cx);
    let old = step.target.id.as_str();
    let call = |op: &str| format!("route53:{op} {old}");
    if matches!(step.action, Action::Delete) {
        return match c.delete_health_check().health_check_id(old).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_health_check()) =>
            {
                Ok(())
            }
            Err(e) => Err(WriteError::sdk(&call("DeleteHealthCheck"), &e)),
        };
    }
    let doc: HealthCheckEntry = serde_json::from_value(cx.document(step)?)
        .map_err(|e| WriteError::new(format!("the captured health check {old}: {e}")))?;
    let config = doc
        .health_check
        .health_check_config
        .as_ref()
        .ok_or_else(|| {
            WriteError::new(format!(
                "the captured health check {old} has no HealthCheckConfig"
            ))
        })?;
    let id = match live_id(&c, old).await? {
        Some(id) => {
            update(&c, &id, config).await?;
            id
        }
        None => {
            let nonce = chrono::Utc::now().format("%Y%m%dT%H%M%S%.9fZ").to_string();
            let r = c
                .create_health_check()
                .caller_reference(caller_reference(old, &nonce))
                .health_check_config(to_sdk(config)?)
                .send()
                .await
                .map_err(|e| WriteError::sdk(&call("CreateHealthCheck"), &e))?;
            r.health_check()
                .map(|h| h.id().to_string())
                .ok_or_else(|| {
                    WriteError::new(format!("CreateHealthCheck for {old} returned none"))
                })?
        }
    };
    put_tags(&c, &id, doc.tags.as_deref().unwrap_or_default()).await
}

/// UpdateHealthCheck: the snapshot's config over the live one.
async fn update(c: &Client, id: &str, want: &HealthCheckConfig) -> Result<(), WriteError> {
    let live = c
        .get_health_check()
        .health_check_id(id)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("route53:GetHealthCheck {id}"), &e))?;
    let live = live
        .health_check()
        .ok_or_else(|| WriteError::new(format!("GetHealthCheck {id} returned none")))?;
    let version = live.health_check_version();
    if let Some(l) = live.health_check_config() {
        let fixed = [
            ("Type", l.r#type().as_str() != want.check_type),
            (
                "RequestInterval",
                want.request_interval.is_some() && l.request_interval() != want.request_interval,
            ),
            (
                "MeasureLatency",
                want.measure_latency.is_some() && l.measure_latency() != want.measure_latency,
            ),
        ];
        let changed: Vec<&str> = fixed.iter().filter(|f| f.1).map(|f| f.0).collect();
        if !changed.is_empty() {
            return Err(WriteError::new(format!(
                "health check {id}: Route53 cannot change its {} once created; delete it and \
                 plan again to create it anew (record sets that name it must then be restored too)",
                changed.join(", ")
            )));
        }
    }
    let l = live.health_check_config();
    let mut reset = Vec::new();
    if want.resource_path.is_none() && l.and_then(|l| l.resource_path()).is_some() {
        reset.push(ResettableElementName::ResourcePath);
    }
    if want.fully_qualified_domain_name.is_none()
        && l.and_then(|l| l.fully_qualified_domain_name()).is_some()
    {
        reset.push(ResettableElementName::FullyQualifiedDomainName);
    }
    if want.regions.is_none() && l.is_some_and(|l| !l.regions().is_empty()) {
        reset.push(ResettableElementName::Regions);
    }
    if want.child_health_checks.is_none() && l.is_some_and(|l| !l.child_health_checks().is_empty())
    {
        reset.push(ResettableElementName::ChildHealthChecks);
    }
    c.update_health_check()
        .health_check_id(id)
        .health_check_version(version)
        .set_ip_address(want.ip_address.clone())
        .set_port(want.port)
        .set_resource_path(want.resource_path.clone())
        .set_fully_qualified_domain_name(want.fully_qualified_domain_name.clone())
        .set_search_string(want.search_string.clone())
        .set_failure_threshold(want.failure_threshold)
        .set_inverted(want.inverted)
        .set_disabled(want.disabled)
        .set_health_threshold(want.health_threshold)
        .set_child_health_checks(want.child_health_checks.clone())
        .set_enable_sni(want.enable_sni)
        .set_regions(regions(want))
        .set_alarm_identifier(alarm(want)?)
        .set_insufficient_data_health_status(insufficient(want))
        .set_reset_elements((!reset.is_empty()).then_some(reset))
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("route53:UpdateHealthCheck {id}"), &e))?;
    Ok(())
}

/// Make the health check's tags exactly the snapshot's.
async fn put_tags(
    c: &Client,
    id: &str,
    want: &[crate::aws::route53::model::Tag],
) -> Result<(), WriteError> {
    let live = c
        .list_tags_for_resource()
        .resource_type(TagResourceType::Healthcheck)
        .resource_id(id)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("route53:ListTagsForResource {id}"), &e))?;
    let extra: Vec<String> = live
        .resource_tag_set()
        .map(|s| s.tags())
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t.key())
        .filter(|k| !want.iter().any(|w| w.key == *k))
        .map(str::to_string)
        .collect();
    if want.is_empty() && extra.is_empty() {
        return Ok(());
    }
    c.change_tags_for_resource()
        .resource_type(TagResourceType::Healthcheck)
        .resource_id(id)
        .set_add_tags((!want.is_empty()).then(|| {
            want.iter()
                .map(|t| {
                    SdkTag::builder()
                        .key(&t.key)
                        .set_value(t.value.clone())
                        .build()
                })
                .collect()
        }))
        .set_remove_tag_keys((!extra.is_empty()).then_some(extra))
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("route53:ChangeTagsForResource {id}"), &e))?;
    Ok(())
}
