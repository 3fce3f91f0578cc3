//! Capturing Elastic Beanstalk: per region of the account scope, every environment that is not
//! terminated (DescribeEnvironments, paged, IncludeDeleted false): its name, application, CNAME,
//! endpoint, status, health, tier and platform. Never its configuration settings (they can hold
//! environment variables) and never application versions.
//!
//! Each environment is a resource `aws.elasticbeanstalk.environment` (id: its name, unique per
//! account and region), listed in `elasticbeanstalk/<account>/<region>/environments.json`. Every
//! DescribeEnvironments is reported as coverage, per region: the findings' dangling-DNS rule
//! calls an environment's CNAME missing only under a complete listing of its region.

use std::sync::Arc;

use aws_sdk_elasticbeanstalk::types::EnvironmentDescription;
use aws_sdk_elasticbeanstalk::Client;
use infrasnap_core::engine::{CollectorReport, RunContext, Tally};
use infrasnap_core::ids::ResourceId;
use infrasnap_core::manifest::Table;
use serde_json::Value;

use super::BeanstalkCollector;
use crate::aws::kit::doc::Doc;
use crate::aws::kit::{sdk_pages, Run, Service};

const ERR: Service = Service("elasticbeanstalk");
/// The catalog kind of an environment.
pub const KIND: &str = "aws.elasticbeanstalk.environment";

/// The environment as the listing shows it: the API's field names (as `aws elasticbeanstalk
/// describe-environments` prints them).
pub(crate) fn environment_json(region: &str, e: &EnvironmentDescription) -> Value {
    Doc::new()
        .s("Region", Some(region))
        .s("EnvironmentName", e.environment_name())
        .s("EnvironmentId", e.environment_id())
        .s("EnvironmentArn", e.environment_arn())
        .s("ApplicationName", e.application_name())
        .s("Description", e.description())
        .s("CNAME", e.cname())
        .s("EndpointURL", e.endpoint_url())
        .s("Status", e.status().map(|s| s.as_str()))
        .s("Health", e.health().map(|s| s.as_str()))
        .s("HealthStatus", e.health_status().map(|s| s.as_str()))
        .s("VersionLabel", e.version_label())
        .s("SolutionStackName", e.solution_stack_name())
        .s("PlatformArn", e.platform_arn())
        .s("TemplateName", e.template_name())
        .s("OperationsRole", e.operations_role())
        .v(
            "Tier",
            e.tier()
                .map(|t| {
                    Doc::new()
                        .s("Name", t.name())
                        .s("Type", t.r#type())
                        .s("Version", t.version())
                        .build()
                })
                .unwrap_or(Value::Null),
        )
        .t("DateCreated", e.date_created())
        .t("DateUpdated", e.date_updated())
        .build()
}

impl BeanstalkCollector {
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
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut listed = 0usize;
        for region in &regions {
            let client = Client::new(&self.scope.in_region(region));
            let envs = sdk_pages!(
                &self.limits.elasticbeanstalk,
                format!("Elastic Beanstalk environments in {region}"),
                |t| client
                    .describe_environments()
                    .include_deleted(false)
                    .set_next_token(t),
                |r| (r.environments.unwrap_or_default(), r.next_token)
            )
            .await;
            run.done(1);
            let envs = match envs {
                Ok(v) => v,
                Err(f) => {
                    let e = ERR.api(
                        "elasticbeanstalk:DescribeEnvironments",
                        &format!("arn:aws:elasticbeanstalk:{region}:{account}:environment/*"),
                        &f,
                    );
                    cx.cover(KIND, &account, region, Some(&e));
                    errors.record(e);
                    continue;
                }
            };
            listed += 1;
            cx.cover(KIND, &account, region, None);
            for env in &envs {
                let Some(name) = env.environment_name() else {
                    continue;
                };
                let rid = ResourceId::new(KIND, &account, region, name);
                match cx.put_resource(&rid, None, &environment_json(region, env)) {
                    Ok(st) => tally.add(&st),
                    Err(e) => errors.record(ERR.local(name, e)),
                }
                rows.push(vec![
                    name.to_string(),
                    region.clone(),
                    env.application_name().unwrap_or("-").to_string(),
                    env.cname().unwrap_or("-").to_string(),
                    env.status().map(|s| s.as_str()).unwrap_or("?").to_string(),
                ]);
            }
        }
        rows.sort();
        let s = &mut report.summary;
        s.counts.insert("environments".into(), rows.len() as u64);
        tally.add_to(s);
        run.finish(s, listed == 0 && !regions.is_empty());
        report.regions = regions;
        let mut t = Table::new(&["Environment", "Region", "Application", "CNAME", "Status"]);
        for r in rows {
            t.row(r);
        }
        report.manifest.table(t);
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_elasticbeanstalk::types::{EnvironmentStatus, EnvironmentTier};

    #[test]
    fn an_environment_document_names_its_cname_and_status() {
        let e = EnvironmentDescription::builder()
            .environment_name("shop-prod")
            .application_name("shop")
            .cname("shop-prod.eu-west-1.elasticbeanstalk.com")
            .endpoint_url("awseb-e-abc-1.eu-west-1.elb.amazonaws.com")
            .status(EnvironmentStatus::Ready)
            .tier(EnvironmentTier::builder().name("WebServer").build())
            .build();
        let v = environment_json("eu-west-1", &e);
        assert_eq!(v["CNAME"], "shop-prod.eu-west-1.elasticbeanstalk.com");
        assert_eq!(v["Status"], "Ready");
        assert_eq!(v["Tier"]["Name"], "WebServer");
        assert_eq!(v["Region"], "eu-west-1");
        assert!(v.get("DateUpdated").is_none());
    }
}
