//! Capturing SES: per region of the account scope, through SESv2, and SES v1 where v2 lacks a
//! call or the endpoint does not answer it (HTTP 404 without an AWS error code):
//! - identities (ListEmailIdentities, GetEmailIdentity): verification, DKIM, MAIL FROM, policies
//!   (redacted like any captured configuration), configuration set, tags;
//! - configuration sets (ListConfigurationSets, GetConfigurationSet) with their event
//!   destinations (GetConfigurationSetEventDestinations, else v1 DescribeConfigurationSet);
//! - templates (ListEmailTemplates + GetEmailTemplate, else v1 ListTemplates + GetTemplate);
//! - the account's sending status (GetAccount; "not available" when the endpoint lacks it).
//!
//! Resources handed to the catalog (ids are SES's names): `aws.ses.identity` and
//! `aws.ses.configuration_set` (member kinds: the core writes their views
//! `ses/<account>/<region>/identities.json` and `configuration_sets.json`),
//! `aws.ses.template` (`templates/<name>.json`) and `aws.ses.account` (id `account`,
//! `account.json`). Every listing is reported as coverage, per region. Whatever changes by
//! itself (sent in the last 24 hours, last verification check) is left out, so an unchanged
//! setup gives the same bytes.

use infrasnap_core::manifest::Table;
use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_ses::Client as V1;
use aws_sdk_sesv2::Client as V2;
use infrasnap_core::engine::{CollectorReport, ErrorSink, RunContext, Tally};
use infrasnap_core::ids::ResourceId;
use infrasnap_core::metadata::RecordedError;
use infrasnap_core::secrets::redact_json;
use infrasnap_core::store::Stored;
use serde_json::{Map, Value};

use super::SesCollector;
use crate::aws::kit::doc::{obj, s, set, tags, time as t};
use crate::aws::kit::{sdk_pages, Run, Service};
use crate::aws::sdk_error::{describe, ApiFailure};

const ERR: Service = Service("ses");

const IDENTITY: &str = "aws.ses.identity";
const CONFIGURATION_SET: &str = "aws.ses.configuration_set";
const TEMPLATE: &str = "aws.ses.template";
const ACCOUNT: &str = "aws.ses.account";
/// The id of the one `aws.ses.account` resource of a region.
const ACCOUNT_ID: &str = "account";

/// The endpoint does not know the call (moto answers an HTML 404 for some SESv2 operations; a
/// real "no such resource" carries an AWS error code).
pub(crate) fn unsupported(f: &ApiFailure) -> bool {
    (f.status == Some(404) && f.code.is_none())
        || f.code_in(&[
            "UnknownOperationException",
            "UnknownOperation",
            "InvalidAction",
            "NotImplemented",
        ])
}

fn st(v: &str) -> Value {
    Value::String(v.to_string())
}

/// v1 enum values (`send`, `renderingFailure`, `messageTag`) in v2's spelling (`SEND`,
/// `RENDERING_FAILURE`, `MESSAGE_TAG`).
pub(crate) fn v1_event_type(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn dimensions(v: Vec<(String, String, String)>) -> Value {
    let mut v = v;
    v.sort();
    Value::Array(
        v.into_iter()
            .map(|(n, src, def)| {
                obj(vec![
                    ("DimensionName", st(&n)),
                    ("DimensionValueSource", st(&src)),
                    ("DefaultDimensionValue", st(&def)),
                ])
            })
            .collect(),
    )
}

fn event_destination_v2(d: &aws_sdk_sesv2::types::EventDestination) -> Value {
    obj(vec![
        ("Name", st(d.name())),
        ("Enabled", Value::Bool(d.enabled())),
        (
            "MatchingEventTypes",
            set(d
                .matching_event_types()
                .iter()
                .map(|e| e.as_str().to_string())
                .collect()),
        ),
        (
            "KinesisFirehoseDestination",
            d.kinesis_firehose_destination()
                .map(|k| {
                    obj(vec![
                        ("IamRoleArn", st(k.iam_role_arn())),
                        ("DeliveryStreamArn", st(k.delivery_stream_arn())),
                    ])
                })
                .unwrap_or(Value::Null),
        ),
        (
            "CloudWatchDestination",
            d.cloud_watch_destination()
                .map(|c| {
                    obj(vec![(
                        "DimensionConfigurations",
                        dimensions(
                            c.dimension_configurations()
                                .iter()
                                .map(|x| {
                                    (
                                        x.dimension_name().to_string(),
                                        x.dimension_value_source().as_str().to_string(),
                                        x.default_dimension_value().to_string(),
                                    )
                                })
                                .collect(),
                        ),
                    )])
                })
                .unwrap_or(Value::Null),
        ),
        (
            "SnsDestination",
            d.sns_destination()
                .map(|x| obj(vec![("TopicArn", st(x.topic_arn()))]))
                .unwrap_or(Value::Null),
        ),
        (
            "EventBridgeDestination",
            d.event_bridge_destination()
                .map(|x| obj(vec![("EventBusArn", st(x.event_bus_arn()))]))
                .unwrap_or(Value::Null),
        ),
        (
            "PinpointDestination",
            d.pinpoint_destination()
                .map(|x| obj(vec![("ApplicationArn", s(x.application_arn()))]))
                .unwrap_or(Value::Null),
        ),
    ])
}

/// A v1 event destination in the v2 shape, so that files do not depend on which API answered.
fn event_destination_v1(d: &aws_sdk_ses::types::EventDestination) -> Value {
    obj(vec![
        ("Name", st(d.name())),
        ("Enabled", Value::Bool(d.enabled())),
        (
            "MatchingEventTypes",
            set(d
                .matching_event_types()
                .iter()
                .map(|e| v1_event_type(e.as_str()))
                .collect()),
        ),
        (
            "KinesisFirehoseDestination",
            d.kinesis_firehose_destination()
                .map(|k| {
                    obj(vec![
                        ("IamRoleArn", st(k.iam_role_arn())),
                        ("DeliveryStreamArn", st(k.delivery_stream_arn())),
                    ])
                })
                .unwrap_or(Value::Null),
        ),
        (
            "CloudWatchDestination",
            d.cloud_watch_destination()
                .map(|c| {
                    obj(vec![(
                        "DimensionConfigurations",
                        dimensions(
                            c.dimension_configurations()
                                .iter()
                                .map(|x| {
                                    (
                                        x.dimension_name().to_string(),
                                        v1_event_type(x.dimension_value_source().as_str()),
                                        x.default_dimension_value().to_string(),
                                    )
                                })
                                .collect(),
                        ),
                    )])
                })
                .unwrap_or(Value::Null),
        ),
        (
            "SnsDestination",
            d.sns_destination()
                .map(|x| obj(vec![("TopicArn", st(x.topic_arn()))]))
                .unwrap_or(Value::Null),
        ),
    ])
}

fn by_name(mut v: Vec<Value>) -> Value {
    v.sort_by_key(|x| x["Name"].as_str().unwrap_or("").to_string());
    Value::Array(v)
}

#[derive(Debug, Default)]
struct RegionOutcome {
    region: String,
    listed_any: bool,
    identities: u64,
    configuration_sets: u64,
    templates: u64,
    sending: String,
    /// GetAccount failed (not merely unsupported): the account document is incomplete.
    account_failed: bool,
    tally: Tally,
}

impl RegionOutcome {
    fn count(&mut self, st: &Stored) {
        self.tally.add(st);
    }
}

struct Ctx<'a> {
    cx: &'a Arc<RunContext>,
    v2: V2,
    v1: V1,
    region: &'a str,
    account: &'a str,
    errors: &'a ErrorSink,
}

impl Ctx<'_> {
    fn id(&self, kind: &str, id: &str) -> ResourceId {
        ResourceId::new(kind, self.account, self.region, id)
    }

    /// Record a failed listing of `kind`: the error, and the kind's coverage in this region.
    fn listing_failed(&self, kind: &str, e: RecordedError) {
        self.cx.cover(kind, self.account, self.region, Some(&e));
        self.errors.record(e);
    }

    fn listed(&self, kind: &str) {
        self.cx.cover(kind, self.account, self.region, None);
    }
}

impl SesCollector {
    fn key_name(&self) -> String {
        use infrasnap_core::engine::Collector;
        self.key()
    }

    fn arn(&self, region: &str, kind: &str, name: &str) -> String {
        format!(
            "arn:aws:ses:{region}:{}:{kind}/{name}",
            self.scope.account_id
        )
    }

    pub(super) async fn run_inner(self: Arc<Self>, cx: Arc<RunContext>) -> CollectorReport {
        let run = Run::start(&cx, &self.key_name());
        let (progress, errors) = (run.progress.clone(), run.errors.clone());
        let mut report = CollectorReport::default();
        let mut regions = self.scope.regions.clone();
        regions.sort();
        regions.dedup();
        progress.add(&progress.units_total, regions.len() as u64);

        let mut outcomes = Vec::new();
        for region in &regions {
            let conf = self.scope.in_region(region);
            let c = Ctx {
                cx: &cx,
                v2: V2::new(&conf),
                v1: V1::new(&conf),
                region,
                account: &self.scope.account_id,
                errors: &errors,
            };
            outcomes.push(self.region(&c).await);
            progress.add(&progress.units_done, 1);
        }

        let sm = &mut report.summary;
        let sum = |f: fn(&RegionOutcome) -> u64| outcomes.iter().map(f).sum::<u64>();
        sm.counts.insert("identities".into(), sum(|o| o.identities));
        sm.counts
            .insert("configuration_sets".into(), sum(|o| o.configuration_sets));
        sm.counts.insert("templates".into(), sum(|o| o.templates));
        for o in &outcomes {
            o.tally.add_to(sm);
        }
        run.finish(
            sm,
            !regions.is_empty() && !outcomes.iter().any(|o| o.listed_any),
        );
        report.regions = regions;

        let mut t = Table::new(&[
            "Region",
            "Identities",
            "Configuration sets",
            "Templates",
            "Sending",
        ]);
        for o in &outcomes {
            t.row(vec![
                o.region.to_string(),
                o.identities.to_string(),
                o.configuration_sets.to_string(),
                o.templates.to_string(),
                o.sending.to_string(),
            ]);
        }
        report.manifest.table(t);
        report
    }

    /// Redact and hand over one resource's document.
    fn put(&self, c: &Ctx<'_>, out: &mut RegionOutcome, id: &ResourceId, mut v: Value, res: &str) {
        redact_json(&mut v, c.cx.fingerprinter());
        match c.cx.put_resource(id, None, &v) {
            Ok(st) => out.count(&st),
            Err(e) => c.errors.record(ERR.local(res, e)),
        }
        if v.get("Unreadable").is_some() {
            // A call about it failed: not comparable with another snapshot's document.
            c.cx.mark_incomplete(id);
        }
    }

    async fn region(&self, c: &Ctx<'_>) -> RegionOutcome {
        let mut out = RegionOutcome {
            region: c.region.to_string(),
            sending: "?".into(),
            ..Default::default()
        };
        match self.identities(c, &mut out).await {
            Ok(list) => {
                out.listed_any = true;
                c.listed(IDENTITY);
                for (name, v) in list {
                    let res = self.arn(c.region, "identity", &name);
                    self.put(c, &mut out, &c.id(IDENTITY, &name), v, &res);
                }
            }
            // No answer at all (SES is not offered in the region, or the network is down): the
            // one error recorded says so; the other calls would only repeat it, and nothing of
            // the region is comparable.
            Err((e, true)) => {
                for kind in [CONFIGURATION_SET, TEMPLATE, ACCOUNT] {
                    c.cx.cover(kind, c.account, c.region, Some(&e));
                }
                c.listing_failed(IDENTITY, e);
                out.sending = "no answer".into();
                return out;
            }
            Err((e, false)) => c.listing_failed(IDENTITY, e),
        }
        if let Some(list) = self.configuration_sets(c, &mut out).await {
            out.listed_any = true;
            c.listed(CONFIGURATION_SET);
            for (name, v) in list {
                let res = self.arn(c.region, "configuration-set", &name);
                self.put(c, &mut out, &c.id(CONFIGURATION_SET, &name), v, &res);
            }
        }
        if let Some(templates) = self.templates(c).await {
            out.listed_any = true;
            c.listed(TEMPLATE);
            out.templates = templates.len() as u64;
            for (name, v) in templates {
                let res = self.arn(c.region, "template", &name);
                self.put(c, &mut out, &c.id(TEMPLATE, &name), v, &res);
            }
        }
        // The account's settings: always one resource (`Available: false` when unreadable).
        c.listed(ACCOUNT);
        let account = self.account(c, &mut out).await;
        let res = format!("arn:aws:ses:{}:{}:account", c.region, c.account);
        let id = c.id(ACCOUNT, ACCOUNT_ID);
        self.put(c, &mut out, &id, account, &res);
        if out.account_failed {
            c.cx.mark_incomplete(&id);
        }
        out
    }

    /// Each identity's document by name (the members of `identities.json`); on a failed
    /// listing its error, and true when SES did not answer at all (no HTTP response).
    async fn identities(
        &self,
        c: &Ctx<'_>,
        out: &mut RegionOutcome,
    ) -> Result<Vec<(String, Value)>, (RecordedError, bool)> {
        let listed: BTreeMap<String, aws_sdk_sesv2::types::IdentityInfo> = sdk_pages!(
            &self.limits.ses,
            format!("SES identities in {}", c.region),
            |t| c.v2.list_email_identities().set_next_token(t),
            |r| (r.email_identities.unwrap_or_default(), r.next_token)
        )
        .await
        .map_err(|f| {
            let e = ERR.api(
                "ses:ListEmailIdentities",
                &self.arn(c.region, "identity", "*"),
                &f,
            );
            (e, f.status.is_none() && f.code.is_none())
        })?
        .into_iter()
        .filter_map(|i| Some((i.identity_name.clone()?, i)))
        .collect();
        let mut list = Vec::new();
        for (name, info) in &listed {
            let mut fields = vec![
                ("IdentityName", st(name)),
                ("IdentityType", s(info.identity_type().map(|x| x.as_str()))),
                ("SendingEnabled", Value::Bool(info.sending_enabled())),
            ];
            self.limits.ses.acquire().await;
            match c.v2.get_email_identity().email_identity(name).send().await {
                Ok(r) => {
                    fields.push((
                        "VerificationStatus",
                        s(r.verification_status().map(|x| x.as_str())),
                    ));
                    fields.push((
                        "VerifiedForSendingStatus",
                        Value::Bool(r.verified_for_sending_status()),
                    ));
                    fields.push((
                        "FeedbackForwardingStatus",
                        Value::Bool(r.feedback_forwarding_status()),
                    ));
                    if let Some(d) = r.dkim_attributes() {
                        fields.push((
                            "DkimAttributes",
                            obj(vec![
                                ("SigningEnabled", Value::Bool(d.signing_enabled())),
                                ("Status", s(d.status().map(|x| x.as_str()))),
                                ("Tokens", set(d.tokens().to_vec())),
                                ("SigningHostedZone", s(d.signing_hosted_zone())),
                                (
                                    "SigningAttributesOrigin",
                                    s(d.signing_attributes_origin().map(|x| x.as_str())),
                                ),
                                (
                                    "CurrentSigningKeyLength",
                                    s(d.current_signing_key_length().map(|x| x.as_str())),
                                ),
                                (
                                    "NextSigningKeyLength",
                                    s(d.next_signing_key_length().map(|x| x.as_str())),
                                ),
                                (
                                    "LastKeyGenerationTimestamp",
                                    t(d.last_key_generation_timestamp()),
                                ),
                            ]),
                        ));
                    }
                    if let Some(mf) = r.mail_from_attributes() {
                        fields.push((
                            "MailFromAttributes",
                            obj(vec![
                                ("MailFromDomain", st(mf.mail_from_domain())),
                                (
                                    "MailFromDomainStatus",
                                    st(mf.mail_from_domain_status().as_str()),
                                ),
                                (
                                    "BehaviorOnMxFailure",
                                    st(mf.behavior_on_mx_failure().as_str()),
                                ),
                            ]),
                        ));
                    }
                    if let Some(p) = r.policies() {
                        // Policy documents as JSON when they parse; keys sorted.
                        let mut m = Map::new();
                        let sorted: BTreeMap<&String, &String> = p.iter().collect();
                        for (k, doc) in sorted {
                            let v = serde_json::from_str::<Value>(doc)
                                .unwrap_or_else(|_| Value::String(doc.clone()));
                            m.insert(k.clone(), v);
                        }
                        fields.push(("Policies", Value::Object(m)));
                    }
                    fields.push(("ConfigurationSetName", s(r.configuration_set_name())));
                    if let Some(vi) = r.verification_info() {
                        fields.push((
                            "VerificationErrorType",
                            s(vi.error_type().map(|x| x.as_str())),
                        ));
                    }
                    fields.push(("Tags", tags(r.tags().iter().map(|t| (t.key(), t.value())))));
                }
                Err(e) => {
                    let f = describe(&e);
                    if f.code_in(&["NotFoundException"]) {
                        continue; // deleted since it was listed
                    }
                    c.errors.record(ERR.api(
                        "ses:GetEmailIdentity",
                        &self.arn(c.region, "identity", name),
                        &f,
                    ));
                    fields.push((
                        "Unreadable",
                        Value::Array(vec![obj(vec![
                            ("Action", st("ses:GetEmailIdentity")),
                            ("Code", s(f.code.as_deref())),
                        ])]),
                    ));
                }
            }
            list.push((name.clone(), obj(fields)));
        }
        out.identities = list.len() as u64;
        Ok(list)
    }

    /// Each configuration set's document by name (the members of `configuration_sets.json`);
    /// None when they could not be listed (recorded, and covered as failed).
    async fn configuration_sets(
        &self,
        c: &Ctx<'_>,
        out: &mut RegionOutcome,
    ) -> Option<Vec<(String, Value)>> {
        let listed = sdk_pages!(
            &self.limits.ses,
            format!("SES configuration sets in {}", c.region),
            |t| c.v2.list_configuration_sets().set_next_token(t),
            |r| (r.configuration_sets.unwrap_or_default(), r.next_token)
        )
        .await;
        let mut names = match listed {
            Ok(n) => n,
            Err(f) => {
                c.listing_failed(
                    CONFIGURATION_SET,
                    ERR.api(
                        "ses:ListConfigurationSets",
                        &self.arn(c.region, "configuration-set", "*"),
                        &f,
                    ),
                );
                return None;
            }
        };
        names.sort();
        names.dedup();
        let mut list = Vec::new();
        for name in &names {
            let arn = self.arn(c.region, "configuration-set", name);
            let mut fields = vec![("Name", st(name))];
            let mut unreadable = Vec::new();
            self.limits.ses.acquire().await;
            match c
                .v2
                .get_configuration_set()
                .configuration_set_name(name)
                .send()
                .await
            {
                Ok(r) => {
                    if let Some(o) = r.tracking_options() {
                        fields.push((
                            "TrackingOptions",
                            obj(vec![
                                ("CustomRedirectDomain", st(o.custom_redirect_domain())),
                                ("HttpsPolicy", s(o.https_policy().map(|x| x.as_str()))),
                            ]),
                        ));
                    }
                    if let Some(o) = r.delivery_options() {
                        fields.push((
                            "DeliveryOptions",
                            obj(vec![
                                ("TlsPolicy", s(o.tls_policy().map(|x| x.as_str()))),
                                ("SendingPoolName", s(o.sending_pool_name())),
                                (
                                    "MaxDeliverySeconds",
                                    o.max_delivery_seconds()
                                        .map(Value::from)
                                        .unwrap_or(Value::Null),
                                ),
                            ]),
                        ));
                    }
                    if let Some(o) = r.reputation_options() {
                        fields.push((
                            "ReputationOptions",
                            obj(vec![
                                (
                                    "ReputationMetricsEnabled",
                                    Value::Bool(o.reputation_metrics_enabled()),
                                ),
                                ("LastFreshStart", t(o.last_fresh_start())),
                            ]),
                        ));
                    }
                    if let Some(o) = r.sending_options() {
                        fields.push((
                            "SendingOptions",
                            obj(vec![("SendingEnabled", Value::Bool(o.sending_enabled()))]),
                        ));
                    }
                    if let Some(o) = r.suppression_options() {
                        fields.push((
                            "SuppressionOptions",
                            obj(vec![(
                                "SuppressedReasons",
                                set(o
                                    .suppressed_reasons()
                                    .iter()
                                    .map(|x| x.as_str().to_string())
                                    .collect()),
                            )]),
                        ));
                    }
                    fields.push(("Tags", tags(r.tags().iter().map(|t| (t.key(), t.value())))));
                }
                Err(e) => {
                    let f = describe(&e);
                    if f.code_in(&["NotFoundException"]) {
                        continue;
                    }
                    c.errors
                        .record(ERR.api("ses:GetConfigurationSet", &arn, &f));
                    unreadable.push(obj(vec![
                        ("Action", st("ses:GetConfigurationSet")),
                        ("Code", s(f.code.as_deref())),
                    ]));
                }
            }
            match self.event_destinations(c, name).await {
                Ok(d) => fields.push(("EventDestinations", by_name(d))),
                Err((action, f)) => {
                    c.errors.record(ERR.api(action, &arn, &f));
                    unreadable.push(obj(vec![
                        ("Action", st(action)),
                        ("Code", s(f.code.as_deref())),
                    ]));
                }
            }
            fields.push(("Unreadable", Value::Array(unreadable)));
            list.push((name.clone(), obj(fields)));
        }
        out.configuration_sets = list.len() as u64;
        Some(list)
    }

    /// Event destinations: SESv2, else v1 DescribeConfigurationSet.
    async fn event_destinations(
        &self,
        c: &Ctx<'_>,
        name: &str,
    ) -> Result<Vec<Value>, (&'static str, ApiFailure)> {
        self.limits.ses.acquire().await;
        match c
            .v2
            .get_configuration_set_event_destinations()
            .configuration_set_name(name)
            .send()
            .await
        {
            Ok(r) => {
                return Ok(r
                    .event_destinations()
                    .iter()
                    .map(event_destination_v2)
                    .collect())
            }
            Err(e) => {
                let f = describe(&e);
                if !unsupported(&f) {
                    return Err(("ses:GetConfigurationSetEventDestinations", f));
                }
            }
        }
        self.limits.ses.acquire().await;
        c.v1.describe_configuration_set()
            .configuration_set_name(name)
            .configuration_set_attribute_names(
                aws_sdk_ses::types::ConfigurationSetAttribute::EventDestinations,
            )
            .send()
            .await
            .map(|r| {
                r.event_destinations()
                    .iter()
                    .map(event_destination_v1)
                    .collect()
            })
            .map_err(|e| ("ses:DescribeConfigurationSet", describe(&e)))
    }

    /// Templates by name: SESv2, else v1. None when they could not be listed (recorded, and
    /// covered as failed).
    async fn templates(&self, c: &Ctx<'_>) -> Option<BTreeMap<String, Value>> {
        let all = self.arn(c.region, "template", "*");
        // v2 first; v1 when the endpoint does not know the v2 calls.
        let v2 = sdk_pages!(
            &self.limits.ses,
            format!("SES templates in {}", c.region),
            |t| c.v2.list_email_templates().set_next_token(t),
            |r| (r.templates_metadata.unwrap_or_default(), r.next_token)
        )
        .await;
        let (mut names, v1): (Vec<String>, bool) = match v2 {
            Ok(t) => (
                t.into_iter().filter_map(|m| m.template_name).collect(),
                false,
            ),
            Err(f) if unsupported(&f) => match sdk_pages!(
                &self.limits.ses,
                format!("SES templates in {}", c.region),
                |t| c.v1.list_templates().set_next_token(t),
                |r| (r.templates_metadata.unwrap_or_default(), r.next_token)
            )
            .await
            {
                Ok(t) => (t.into_iter().filter_map(|m| m.name).collect(), true),
                Err(f) => {
                    c.listing_failed(TEMPLATE, ERR.api("ses:ListTemplates", &all, &f));
                    return None;
                }
            },
            Err(f) => {
                c.listing_failed(TEMPLATE, ERR.api("ses:ListEmailTemplates", &all, &f));
                return None;
            }
        };
        names.sort();
        names.dedup();
        let mut out = BTreeMap::new();
        for name in names {
            let arn = self.arn(c.region, "template", &name);
            let v = if !v1 {
                self.limits.ses.acquire().await;
                match c.v2.get_email_template().template_name(&name).send().await {
                    Ok(r) => {
                        let content = r.template_content();
                        obj(vec![
                            ("TemplateName", st(r.template_name())),
                            ("Subject", s(content.and_then(|x| x.subject()))),
                            ("Text", s(content.and_then(|x| x.text()))),
                            ("Html", s(content.and_then(|x| x.html()))),
                            ("Tags", tags(r.tags().iter().map(|t| (t.key(), t.value())))),
                        ])
                    }
                    Err(e) => {
                        let f = describe(&e);
                        if !f.code_in(&["NotFoundException"]) {
                            c.errors.record(ERR.api("ses:GetEmailTemplate", &arn, &f));
                        }
                        continue;
                    }
                }
            } else {
                self.limits.ses.acquire().await;
                match c.v1.get_template().template_name(&name).send().await {
                    Ok(r) => match r.template() {
                        Some(tp) => obj(vec![
                            ("TemplateName", st(tp.template_name())),
                            ("Subject", s(tp.subject_part())),
                            ("Text", s(tp.text_part())),
                            ("Html", s(tp.html_part())),
                        ]),
                        None => continue,
                    },
                    Err(e) => {
                        let f = describe(&e);
                        if !f.code_in(&["TemplateDoesNotExist"]) {
                            c.errors.record(ERR.api("ses:GetTemplate", &arn, &f));
                        }
                        continue;
                    }
                }
            };
            out.insert(name, obj(vec![("Region", st(c.region)), ("Template", v)]));
        }
        Some(out)
    }

    /// `account.json`: GetAccount, or "not available" when the endpoint lacks it (then the v1
    /// send quota, when readable).
    async fn account(&self, c: &Ctx<'_>, out: &mut RegionOutcome) -> Value {
        let res = format!("arn:aws:ses:{}:{}:account", c.region, self.scope.account_id);
        self.limits.ses.acquire().await;
        match c.v2.get_account().send().await {
            Ok(r) => {
                out.sending = if r.sending_enabled() {
                    "enabled".into()
                } else {
                    "disabled".into()
                };
                if !r.production_access_enabled() {
                    out.sending.push_str(" (sandbox)");
                }
                obj(vec![
                    ("Region", st(c.region)),
                    ("Available", Value::Bool(true)),
                    ("SendingEnabled", Value::Bool(r.sending_enabled())),
                    (
                        "ProductionAccessEnabled",
                        Value::Bool(r.production_access_enabled()),
                    ),
                    ("EnforcementStatus", s(r.enforcement_status())),
                    (
                        "DedicatedIpAutoWarmupEnabled",
                        Value::Bool(r.dedicated_ip_auto_warmup_enabled()),
                    ),
                    (
                        "SendQuota",
                        r.send_quota()
                            .map(|q| {
                                obj(vec![
                                    ("Max24HourSend", Value::from(q.max24_hour_send())),
                                    ("MaxSendRate", Value::from(q.max_send_rate())),
                                ])
                            })
                            .unwrap_or(Value::Null),
                    ),
                    (
                        "SuppressedReasons",
                        r.suppression_attributes()
                            .map(|a| {
                                set(a
                                    .suppressed_reasons()
                                    .iter()
                                    .map(|x| x.as_str().to_string())
                                    .collect())
                            })
                            .unwrap_or(Value::Null),
                    ),
                    (
                        "Details",
                        r.details()
                            .map(|d| {
                                obj(vec![
                                    ("MailType", s(d.mail_type().map(|x| x.as_str()))),
                                    ("WebsiteURL", s(d.website_url())),
                                    (
                                        "ContactLanguage",
                                        s(d.contact_language().map(|x| x.as_str())),
                                    ),
                                    ("UseCaseDescription", s(d.use_case_description())),
                                ])
                            })
                            .unwrap_or(Value::Null),
                    ),
                ])
            }
            Err(e) => {
                let f = describe(&e);
                let reason = if unsupported(&f) {
                    format!(
                        "GetAccount is not supported by this endpoint ({})",
                        match (&f.code, f.status) {
                            (Some(c), _) => c.clone(),
                            (None, Some(st)) => format!("HTTP {st}"),
                            (None, None) => "no answer".into(),
                        }
                    )
                } else {
                    out.account_failed = true;
                    c.errors.record(ERR.api("ses:GetAccount", &res, &f));
                    format!(
                        "GetAccount failed ({})",
                        f.code.as_deref().unwrap_or("error")
                    )
                };
                out.sending = "not available".into();
                let mut fields = vec![
                    ("Region", st(c.region)),
                    ("Available", Value::Bool(false)),
                    ("Reason", st(&reason)),
                ];
                if unsupported(&f) {
                    // Best effort from v1: the quota (not the volatile "sent in 24 h").
                    self.limits.ses.acquire().await;
                    if let Ok(q) = c.v1.get_send_quota().send().await {
                        fields.push((
                            "SendQuota",
                            obj(vec![
                                ("Max24HourSend", Value::from(q.max24_hour_send())),
                                ("MaxSendRate", Value::from(q.max_send_rate())),
                                ("Source", st("ses:GetSendQuota")),
                            ]),
                        ));
                    }
                }
                obj(fields)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_event_types_take_v2_spelling() {
        assert_eq!(v1_event_type("send"), "SEND");
        assert_eq!(v1_event_type("renderingFailure"), "RENDERING_FAILURE");
        assert_eq!(v1_event_type("deliveryDelay"), "DELIVERY_DELAY");
        assert_eq!(v1_event_type("messageTag"), "MESSAGE_TAG");
    }

    #[test]
    fn only_a_codeless_404_is_unsupported() {
        let f = |code: Option<&str>, status| ApiFailure {
            code: code.map(str::to_string),
            message: String::new(),
            status,
        };
        assert!(unsupported(&f(None, Some(404))));
        assert!(!unsupported(&f(Some("NotFoundException"), Some(404))));
        assert!(!unsupported(&f(Some("AccessDeniedException"), Some(403))));
    }
}
