//! Capturing ELBv2 load balancers: per region of the account scope, every load balancer
//! (DescribeLoadBalancers, paged), its listeners (DescribeListeners), the target groups it uses
//! (DescribeTargetGroups, names and ports only: never the targets' health) and its tags
//! (DescribeTags, 20 ARNs a call).
//!
//! Each load balancer is a resource `aws.elbv2.load_balancer` (id: its name, unique per account
//! and region), placed by the catalog at `elb/<account>/<region>/<name>.json`. Every
//! DescribeLoadBalancers is reported as coverage, per region: the findings' dangling-DNS rule
//! calls a load balancer missing only under a complete listing of its region.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_elasticloadbalancingv2::types::{Listener, LoadBalancer, TargetGroup};
use aws_sdk_elasticloadbalancingv2::Client;
use infrasnap_core::engine::{CollectorReport, RunContext, Tally};
use infrasnap_core::ids::ResourceId;
use infrasnap_core::manifest::Table;
use serde_json::Value;

use super::ElbCollector;
use crate::aws::kit::doc::{tags as tag_list, Doc};
use crate::aws::kit::{sdk_pages, Run, Service};
use crate::aws::sdk_error::{describe, ApiFailure};

const ERR: Service = Service("elasticloadbalancing");
/// The catalog kind of a load balancer.
pub const KIND: &str = "aws.elbv2.load_balancer";
/// DescribeTags takes at most this many ARNs.
const TAGS_PER_CALL: usize = 20;

fn listener_json(l: &Listener) -> Value {
    let mut certs: Vec<String> = l
        .certificates()
        .iter()
        .filter_map(|c| c.certificate_arn().map(str::to_string))
        .collect();
    certs.sort();
    certs.dedup();
    let actions: Vec<Value> = l
        .default_actions()
        .iter()
        .map(|a| {
            Doc::new()
                .s("Type", a.r#type().map(|t| t.as_str()))
                .s("TargetGroupArn", a.target_group_arn())
                .o("Order", a.order())
                .v(
                    "RedirectConfig",
                    a.redirect_config()
                        .map(|r| {
                            Doc::new()
                                .s("Protocol", r.protocol())
                                .s("Host", r.host())
                                .s("Port", r.port())
                                .s("Path", r.path())
                                .s("StatusCode", r.status_code().map(|c| c.as_str()))
                                .build()
                        })
                        .unwrap_or(Value::Null),
                )
                .build()
        })
        .collect();
    Doc::new()
        .s("ListenerArn", l.listener_arn())
        .o("Port", l.port())
        .s("Protocol", l.protocol().map(|p| p.as_str()))
        .s("SslPolicy", l.ssl_policy())
        .v("Certificates", Value::from(certs))
        .v("DefaultActions", Value::Array(actions))
        .build()
}

/// The load balancer as `<name>.json` shows it: the API's field names (as `aws elbv2
/// describe-load-balancers` prints them), listeners sorted by port, sets sorted.
pub(crate) fn load_balancer_json(
    region: &str,
    lb: &LoadBalancer,
    listeners: &[Listener],
    groups: &[TargetGroup],
    tags: &[(String, String)],
) -> Value {
    let mut zones: Vec<Value> = lb
        .availability_zones()
        .iter()
        .map(|z| {
            Doc::new()
                .s("ZoneName", z.zone_name())
                .s("SubnetId", z.subnet_id())
                .build()
        })
        .collect();
    zones.sort_by_key(|z| z.to_string());
    let mut ls: Vec<Value> = listeners.iter().map(listener_json).collect();
    ls.sort_by_key(|l| (l["Port"].as_i64(), l.to_string()));
    let mut tg: Vec<Value> = groups
        .iter()
        .map(|g| {
            Doc::new()
                .s("TargetGroupName", g.target_group_name())
                .s("TargetGroupArn", g.target_group_arn())
                .s("Protocol", g.protocol().map(|p| p.as_str()))
                .o("Port", g.port())
                .s("TargetType", g.target_type().map(|t| t.as_str()))
                .build()
        })
        .collect();
    tg.sort_by_key(|g| g.to_string());
    Doc::new()
        .s("Region", Some(region))
        .s("LoadBalancerName", lb.load_balancer_name())
        .s("LoadBalancerArn", lb.load_balancer_arn())
        .s("DNSName", lb.dns_name())
        .s("CanonicalHostedZoneId", lb.canonical_hosted_zone_id())
        .s("Type", lb.r#type().map(|t| t.as_str()))
        .s("Scheme", lb.scheme().map(|t| t.as_str()))
        .s("IpAddressType", lb.ip_address_type().map(|t| t.as_str()))
        .s("VpcId", lb.vpc_id())
        .t("CreatedTime", lb.created_time())
        .v(
            "State",
            lb.state()
                .map(|s| {
                    Doc::new()
                        .s("Code", s.code().map(|c| c.as_str()))
                        .s("Reason", s.reason())
                        .build()
                })
                .unwrap_or(Value::Null),
        )
        .v("AvailabilityZones", Value::Array(zones))
        .set("SecurityGroups", lb.security_groups())
        .v("Listeners", Value::Array(ls))
        .v("TargetGroups", Value::Array(tg))
        .v("Tags", tag_list(tags.iter().cloned()))
        .build()
}

/// What the MANIFEST table shows of one load balancer.
struct Row {
    region: String,
    name: String,
    kind: String,
    scheme: String,
    dns: String,
    listeners: usize,
}

impl ElbCollector {
    fn key_name(&self) -> String {
        use infrasnap_core::engine::Collector;
        self.key()
    }

    pub(super) async fn run_inner(self: Arc<Self>, cx: Arc<RunContext>) -> CollectorReport {
        let run = Run::start(&cx, &self.key_name());
        let errors = run.errors.clone();
        let mut report = CollectorReport::default();
        let regions = self.scope.regions.clone();
        let account = self.scope.account_id.clone();
        run.to_do(regions.len() as u64);
        let mut tally = Tally::default();
        let mut rows: Vec<Row> = Vec::new();
        let mut listed = 0usize;
        for region in &regions {
            let client = Client::new(&self.scope.in_region(region));
            let lbs: Vec<LoadBalancer> = match sdk_pages!(
                &self.limits.elb,
                format!("load balancers in {region}"),
                |t| client.describe_load_balancers().set_marker(t),
                |r| (r.load_balancers.unwrap_or_default(), r.next_marker)
            )
            .await
            {
                Ok(v) => v,
                Err(f) => {
                    let e = ERR.api(
                        "elasticloadbalancing:DescribeLoadBalancers",
                        &format!("arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/*"),
                        &f,
                    );
                    cx.cover(KIND, &account, region, Some(&e));
                    errors.record(e);
                    run.done(1);
                    continue;
                }
            };
            listed += 1;
            cx.cover(KIND, &account, region, None);
            let arns: Vec<String> = lbs
                .iter()
                .filter_map(|l| l.load_balancer_arn().map(str::to_string))
                .collect();
            let tags = match self.tags(&client, &arns).await {
                Ok(t) => t,
                Err(f) => {
                    errors.record(ERR.api(
                        "elasticloadbalancing:DescribeTags",
                        &format!("arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/*"),
                        &f,
                    ));
                    HashMap::new()
                }
            };
            for lb in &lbs {
                let (Some(name), Some(arn)) = (lb.load_balancer_name(), lb.load_balancer_arn())
                else {
                    continue;
                };
                let mut incomplete = false;
                let listeners = match sdk_pages!(
                    &self.limits.elb,
                    format!("listeners of {name}"),
                    |t| client
                        .describe_listeners()
                        .load_balancer_arn(arn)
                        .set_marker(t),
                    |r| (r.listeners.unwrap_or_default(), r.next_marker)
                )
                .await
                {
                    Ok(v) => v,
                    Err(f) => {
                        incomplete = true;
                        errors.record(ERR.api("elasticloadbalancing:DescribeListeners", arn, &f));
                        Vec::new()
                    }
                };
                let groups = match sdk_pages!(
                    &self.limits.elb,
                    format!("target groups of {name}"),
                    |t| client
                        .describe_target_groups()
                        .load_balancer_arn(arn)
                        .set_marker(t),
                    |r| (r.target_groups.unwrap_or_default(), r.next_marker)
                )
                .await
                {
                    Ok(v) => v,
                    // A load balancer without target groups (answered so by some servers).
                    Err(f) if f.code_in(&["TargetGroupNotFound"]) => Vec::new(),
                    Err(f) => {
                        incomplete = true;
                        errors.record(ERR.api(
                            "elasticloadbalancing:DescribeTargetGroups",
                            arn,
                            &f,
                        ));
                        Vec::new()
                    }
                };
                let lb_tags = tags.get(arn).cloned().unwrap_or_default();
                let json = load_balancer_json(region, lb, &listeners, &groups, &lb_tags);
                let rid = ResourceId::new(KIND, &account, region, name);
                match cx.put_resource(&rid, None, &json) {
                    Ok(st) => tally.add(&st),
                    Err(e) => errors.record(ERR.local(arn, e)),
                }
                if incomplete {
                    cx.mark_incomplete(&rid);
                }
                rows.push(Row {
                    region: region.clone(),
                    name: name.to_string(),
                    kind: lb.r#type().map(|t| t.as_str()).unwrap_or("?").to_string(),
                    scheme: lb.scheme().map(|t| t.as_str()).unwrap_or("?").to_string(),
                    dns: lb.dns_name().unwrap_or("-").to_string(),
                    listeners: listeners.len(),
                });
            }
            run.done(1);
        }
        rows.sort_by(|a, b| (&a.region, &a.name).cmp(&(&b.region, &b.name)));
        let s = &mut report.summary;
        s.counts.insert("load_balancers".into(), rows.len() as u64);
        tally.add_to(s);
        run.finish(s, listed == 0 && !regions.is_empty());
        report.regions = regions;
        let mut t = Table::new(&["Name", "Region", "Type", "Scheme", "DNS name", "Listeners"]);
        for r in &rows {
            t.row(vec![
                r.name.clone(),
                r.region.clone(),
                r.kind.clone(),
                r.scheme.clone(),
                r.dns.clone(),
                r.listeners.to_string(),
            ]);
        }
        report.manifest.table(t);
        report
    }

    /// The tags of these load balancers, by ARN.
    async fn tags(
        &self,
        client: &Client,
        arns: &[String],
    ) -> Result<HashMap<String, Vec<(String, String)>>, ApiFailure> {
        let mut out = HashMap::new();
        for chunk in arns.chunks(TAGS_PER_CALL) {
            self.limits.elb.acquire().await;
            let r = client
                .describe_tags()
                .set_resource_arns(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| describe(&e))?;
            for d in r.tag_descriptions() {
                let Some(arn) = d.resource_arn() else {
                    continue;
                };
                let pairs = d
                    .tags()
                    .iter()
                    .filter_map(|t| {
                        Some((
                            t.key()?.to_string(),
                            t.value().unwrap_or_default().to_string(),
                        ))
                    })
                    .collect();
                out.insert(arn.to_string(), pairs);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, ProtocolEnum,
    };

    #[test]
    fn a_load_balancer_document_names_its_dns_listeners_and_groups() {
        let lb = LoadBalancer::builder()
            .load_balancer_name("web")
            .dns_name("web-1.eu-west-1.elb.amazonaws.com")
            .canonical_hosted_zone_id("Z32O12XQLNTSW2")
            .r#type(LoadBalancerTypeEnum::Application)
            .scheme(LoadBalancerSchemeEnum::InternetFacing)
            .security_groups("sg-2")
            .security_groups("sg-1")
            .build();
        let l = |port| {
            Listener::builder()
                .port(port)
                .protocol(ProtocolEnum::Http)
                .default_actions(Action::builder().r#type(ActionTypeEnum::Forward).build())
                .build()
        };
        let g = TargetGroup::builder().target_group_name("web-tg").build();
        let v = load_balancer_json(
            "eu-west-1",
            &lb,
            &[l(443), l(80)],
            &[g],
            &[("env".into(), "prod".into())],
        );
        assert_eq!(v["DNSName"], "web-1.eu-west-1.elb.amazonaws.com");
        assert_eq!(v["CanonicalHostedZoneId"], "Z32O12XQLNTSW2");
        assert_eq!(v["Scheme"], "internet-facing");
        assert_eq!(v["Listeners"][0]["Port"], 80);
        assert_eq!(v["Listeners"][1]["DefaultActions"][0]["Type"], "forward");
        assert_eq!(v["TargetGroups"][0]["TargetGroupName"], "web-tg");
        assert_eq!(v["SecurityGroups"], serde_json::json!(["sg-1", "sg-2"]));
        assert_eq!(v["Tags"][0]["Key"], "env");
    }
}
