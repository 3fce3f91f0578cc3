//! DynamoDB autoscaling, from Application Auto Scaling: per region, the scalable targets and
//! scaling policies of the `dynamodb` namespace (two paged calls for the whole region rather than
//! two per table), grouped by table. Each table's `table.json` gets them under `AutoScaling`.

use std::collections::BTreeMap;

use aws_sdk_applicationautoscaling::types::{ScalableTarget, ScalingPolicy, ServiceNamespace};
use aws_sdk_applicationautoscaling::Client;
use serde_json::Value;

use super::json::Obj;
use crate::aws::kit::sdk_pages;
use crate::aws::ratelimit::RateLimiter;
use crate::aws::sdk_error::ApiFailure;

/// The table a resource id belongs to: `table/orders` and `table/orders/index/by-date` are both
/// `orders`.
pub fn table_of(resource_id: &str) -> Option<&str> {
    let rest = resource_id.strip_prefix("table/")?;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// Autoscaling settings of one region, by table name: one JSON value per scalable target
/// (resource, dimension, min and max capacity, and its policies), sorted.
pub async fn region_settings(
    client: &Client,
    limiter: &RateLimiter,
) -> Result<BTreeMap<String, Vec<Value>>, (&'static str, ApiFailure)> {
    let targets = targets(client, limiter)
        .await
        .map_err(|f| ("application-autoscaling:DescribeScalableTargets", f))?;
    let policies = policies(client, limiter)
        .await
        .map_err(|f| ("application-autoscaling:DescribeScalingPolicies", f))?;
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for t in &targets {
        let (rid, dim) = (t.resource_id(), t.scalable_dimension());
        let Some(table) = table_of(rid) else {
            continue;
        };
        let mut pols: Vec<Value> = policies
            .iter()
            .filter(|p| p.resource_id() == rid && p.scalable_dimension() == dim)
            .map(policy_json)
            .collect();
        pols.sort_by_key(|p| p["PolicyName"].as_str().unwrap_or_default().to_string());
        let v = Obj::new()
            .val("ResourceId", rid)
            .val("ScalableDimension", dim.as_str())
            .val("MinCapacity", t.min_capacity())
            .val("MaxCapacity", t.max_capacity())
            .val("RoleARN", t.role_arn())
            .opt(
                "SuspendedState",
                t.suspended_state().map(|s| {
                    serde_json::json!({
                        "DynamicScalingInSuspended": s.dynamic_scaling_in_suspended(),
                        "DynamicScalingOutSuspended": s.dynamic_scaling_out_suspended(),
                        "ScheduledScalingSuspended": s.scheduled_scaling_suspended(),
                    })
                }),
            )
            .arr("Policies", pols)
            .done();
        out.entry(table.to_string()).or_default().push(v);
    }
    for v in out.values_mut() {
        v.sort_by_key(|x| {
            (
                x["ResourceId"].as_str().unwrap_or_default().to_string(),
                x["ScalableDimension"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        });
    }
    Ok(out)
}

fn policy_json(p: &ScalingPolicy) -> Value {
    let tt = p.target_tracking_scaling_policy_configuration().map(|c| {
        Obj::new()
            .val("TargetValue", c.target_value())
            .opt(
                "PredefinedMetricType",
                c.predefined_metric_specification()
                    .map(|m| m.predefined_metric_type().as_str().to_string()),
            )
            .opt("ScaleInCooldown", c.scale_in_cooldown())
            .opt("ScaleOutCooldown", c.scale_out_cooldown())
            .opt("DisableScaleIn", c.disable_scale_in())
    });
    Obj::new()
        .val("PolicyName", p.policy_name())
        .val("PolicyType", p.policy_type().as_str())
        .obj("TargetTrackingScalingPolicyConfiguration", tt)
        .done()
}

async fn targets(
    client: &Client,
    limiter: &RateLimiter,
) -> Result<Vec<ScalableTarget>, ApiFailure> {
    sdk_pages!(
        limiter,
        "scalable targets",
        |t| client
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Dynamodb)
            .set_next_token(t),
        |r| (r.scalable_targets.unwrap_or_default(), r.next_token)
    )
    .await
}

async fn policies(
    client: &Client,
    limiter: &RateLimiter,
) -> Result<Vec<ScalingPolicy>, ApiFailure> {
    sdk_pages!(
        limiter,
        "scaling policies",
        |t| client
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Dynamodb)
            .set_next_token(t),
        |r| (r.scaling_policies.unwrap_or_default(), r.next_token)
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::table_of;

    #[test]
    fn resource_ids_map_to_their_table() {
        for (rid, want) in [
            ("table/orders", Some("orders")),
            ("table/orders/index/by-date", Some("orders")),
            ("keyspace/x/table/y", None),
        ] {
            assert_eq!(table_of(rid), want, "{rid}");
        }
    }
}
