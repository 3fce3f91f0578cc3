//! What the Route53 collector writes, shaped like the Route53 API's own output (PascalCase field
//! names, the API's nesting), so that anyone who knows the API or `aws route53 ...` JSON can read
//! it. Absent values are left out, never written as `null`. Lists whose order the API does not
//! define are sorted, so that an unchanged zone gives byte-identical files.

use aws_sdk_route53::types as t;
use aws_smithy_types::date_time::Format;
use serde::{Deserialize, Serialize};

fn fmt_time(d: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    d.and_then(|d| d.fmt(Format::DateTime).ok())
}

/// The document of an `aws.route53.zone`: `zone.json` in the zone's folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ZoneFile {
    pub hosted_zone: HostedZone,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation_set: Option<DelegationSet>,
    /// Private zones: the VPCs the zone is associated with.
    #[serde(default, rename = "VPCs", skip_serializing_if = "Option::is_none")]
    pub vpcs: Option<Vec<Vpc>>,
    /// Sorted by key. Left out when they could not be read (see `Errors`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    /// GetDNSSEC. Left out for private zones (DNSSEC signing does not exist for them), when the
    /// service says DNSSEC does not apply to the zone, and when it could not be read.
    #[serde(default, rename = "DNSSEC", skip_serializing_if = "Option::is_none")]
    pub dnssec: Option<Dnssec>,
    /// The zone's query logging configurations (at most one on AWS), sorted by id. Left out when
    /// they could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_logging_configs: Option<Vec<QueryLoggingConfig>>,
    /// Parts of the zone that could not be read; the same errors are in snapshot_metadata.json.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<PartError>,
}

/// One call about a zone or health check that failed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct PartError {
    /// The IAM action: `route53:ListTagsForResources`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostedZone {
    pub id: String,
    pub name: String,
    pub caller_reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<HostedZoneConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_record_set_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_service: Option<LinkedService>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<HostedZoneFeatures>,
}

impl HostedZone {
    pub fn from_sdk(z: &t::HostedZone) -> Self {
        HostedZone {
            id: z.id().to_string(),
            name: z.name().to_string(),
            caller_reference: z.caller_reference().to_string(),
            config: z.config().map(|c| HostedZoneConfig {
                comment: c.comment().map(str::to_string),
                private_zone: c.private_zone(),
            }),
            resource_record_set_count: z.resource_record_set_count(),
            linked_service: z.linked_service().map(LinkedService::from_sdk),
            features: z.features().map(|f| HostedZoneFeatures {
                accelerated_recovery_status: f
                    .accelerated_recovery_status()
                    .map(|s| s.as_str().to_string()),
                failure_reasons: f
                    .failure_reasons()
                    .and_then(|r| r.accelerated_recovery())
                    .map(|r| FailureReasons {
                        accelerated_recovery: Some(r.to_string()),
                    }),
            }),
        }
    }

    /// The zone id without its `/hostedzone/` prefix.
    pub fn bare_id(&self) -> &str {
        bare_id(&self.id)
    }

    pub fn is_private(&self) -> bool {
        self.config.as_ref().is_some_and(|c| c.private_zone)
    }
}

/// `Z123` from `/hostedzone/Z123` (and from `Z123`).
pub fn bare_id(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostedZoneConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub private_zone: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LinkedService {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_principal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl LinkedService {
    fn from_sdk(l: &t::LinkedService) -> Self {
        LinkedService {
            service_principal: l.service_principal().map(str::to_string),
            description: l.description().map(str::to_string),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostedZoneFeatures {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerated_recovery_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reasons: Option<FailureReasons>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FailureReasons {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerated_recovery: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DelegationSet {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_reference: Option<String>,
    /// In the order the service gives them.
    pub name_servers: Vec<String>,
}

impl DelegationSet {
    pub fn from_sdk(d: &t::DelegationSet) -> Self {
        DelegationSet {
            id: d.id().filter(|s| !s.is_empty()).map(str::to_string),
            caller_reference: d.caller_reference().map(str::to_string),
            name_servers: d.name_servers().to_vec(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Vpc {
    #[serde(rename = "VPCRegion", default, skip_serializing_if = "Option::is_none")]
    pub vpc_region: Option<String>,
    #[serde(rename = "VPCId", default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
}

impl Vpc {
    pub fn from_sdk(v: &t::Vpc) -> Self {
        Vpc {
            vpc_region: v.vpc_region().map(|r| r.as_str().to_string()),
            vpc_id: v.vpc_id().map(str::to_string),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Tags from a ResourceTagSet, sorted by key.
pub fn tags_from_sdk(tags: &[t::Tag]) -> Vec<Tag> {
    let mut out: Vec<Tag> = tags
        .iter()
        .filter_map(|tag| {
            tag.key().map(|k| Tag {
                key: k.to_string(),
                value: tag.value().map(str::to_string),
            })
        })
        .collect();
    out.sort();
    out
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dnssec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DnssecStatus>,
    /// Sorted by name.
    pub key_signing_keys: Vec<KeySigningKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DnssecStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serve_signature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySigningKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_arn: Option<String>,
    pub flag: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_algorithm_mnemonic: Option<String>,
    pub signing_algorithm_type: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_algorithm_mnemonic: Option<String>,
    pub digest_algorithm_type: i32,
    pub key_tag: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    #[serde(rename = "DSRecord", default, skip_serializing_if = "Option::is_none")]
    pub ds_record: Option<String>,
    #[serde(
        rename = "DNSKEYRecord",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub dnskey_record: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_date: Option<String>,
}

impl Dnssec {
    pub fn from_sdk(status: Option<&t::DnssecStatus>, keys: &[t::KeySigningKey]) -> Self {
        let mut key_signing_keys: Vec<KeySigningKey> = keys
            .iter()
            .map(|k| KeySigningKey {
                name: k.name().map(str::to_string),
                kms_arn: k.kms_arn().map(str::to_string),
                flag: k.flag(),
                signing_algorithm_mnemonic: k.signing_algorithm_mnemonic().map(str::to_string),
                signing_algorithm_type: k.signing_algorithm_type(),
                digest_algorithm_mnemonic: k.digest_algorithm_mnemonic().map(str::to_string),
                digest_algorithm_type: k.digest_algorithm_type(),
                key_tag: k.key_tag(),
                digest_value: k.digest_value().map(str::to_string),
                public_key: k.public_key().map(str::to_string),
                ds_record: k.ds_record().map(str::to_string),
                dnskey_record: k.dnskey_record().map(str::to_string),
                status: k.status().map(str::to_string),
                status_message: k.status_message().map(str::to_string),
                created_date: fmt_time(k.created_date()),
                last_modified_date: fmt_time(k.last_modified_date()),
            })
            .collect();
        key_signing_keys.sort_by(|a, b| (&a.name, a.key_tag).cmp(&(&b.name, b.key_tag)));
        Dnssec {
            status: status.map(|s| DnssecStatus {
                serve_signature: s.serve_signature().map(str::to_string),
                status_message: s.status_message().map(str::to_string),
            }),
            key_signing_keys,
        }
    }

    /// `SIGNING`, `NOT_SIGNING`, ... for the manifest.
    pub fn serve_signature(&self) -> &str {
        self.status
            .as_ref()
            .and_then(|s| s.serve_signature.as_deref())
            .unwrap_or("?")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "PascalCase")]
pub struct QueryLoggingConfig {
    pub id: String,
    pub hosted_zone_id: String,
    pub cloud_watch_logs_log_group_arn: String,
}

impl QueryLoggingConfig {
    pub fn from_sdk(q: &t::QueryLoggingConfig) -> Self {
        QueryLoggingConfig {
            id: q.id().to_string(),
            hosted_zone_id: q.hosted_zone_id().to_string(),
            cloud_watch_logs_log_group_arn: q.cloud_watch_logs_log_group_arn().to_string(),
        }
    }
}

/// The `records.json` part of an `aws.route53.zone`: every record set of the zone, each also
/// its own `aws.route53.record_set` resource whose document is its entry here.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordsFile {
    /// The zone's id, `/hostedzone/Z...`.
    pub hosted_zone_id: String,
    /// Every record set, sorted by name (in DNS order: the apex first, then by labels from the
    /// right), type and set identifier.
    pub resource_record_sets: Vec<RecordSet>,
    /// Present (true) only when the listing could not be completed; the reason is in zone.json's
    /// `Errors` and in snapshot_metadata.json.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_truncated: bool,
}

/// One record set, as ListResourceRecordSets gives it (names and values exactly as the API
/// returns them, including its `\NNN` octal escapes).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RecordSet {
    pub name: String,
    #[serde(rename = "Type")]
    pub rr_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo_location: Option<GeoLocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_value_answer: Option<bool>,
    #[serde(rename = "TTL", default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_records: Option<Vec<ResourceRecord>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_target: Option<AliasTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_policy_instance_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr_routing_config: Option<CidrRoutingConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo_proximity_location: Option<GeoProximityLocation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceRecord {
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AliasTarget {
    pub hosted_zone_id: String,
    #[serde(rename = "DNSName")]
    pub dns_name: String,
    pub evaluate_target_health: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct GeoLocation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continent_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdivision_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct CidrRoutingConfig {
    pub collection_id: String,
    pub location_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct GeoProximityLocation {
    #[serde(rename = "AWSRegion", default, skip_serializing_if = "Option::is_none")]
    pub aws_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_zone_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinates: Option<Coordinates>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bias: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Coordinates {
    pub latitude: String,
    pub longitude: String,
}

impl RecordSet {
    pub fn from_sdk(r: &t::ResourceRecordSet) -> Self {
        RecordSet {
            name: r.name().to_string(),
            rr_type: r.r#type().as_str().to_string(),
            set_identifier: r.set_identifier().map(str::to_string),
            weight: r.weight(),
            region: r.region().map(|x| x.as_str().to_string()),
            geo_location: r.geo_location().map(|g| GeoLocation {
                continent_code: g.continent_code().map(str::to_string),
                country_code: g.country_code().map(str::to_string),
                subdivision_code: g.subdivision_code().map(str::to_string),
            }),
            failover: r.failover().map(|f| f.as_str().to_string()),
            multi_value_answer: r.multi_value_answer(),
            ttl: r.ttl(),
            // The API leaves the list out for alias records; an empty list means the same.
            resource_records: r
                .resource_records
                .as_ref()
                .filter(|v| !v.is_empty())
                .map(|v| {
                    v.iter()
                        .map(|rr| ResourceRecord {
                            value: rr.value().to_string(),
                        })
                        .collect()
                }),
            alias_target: r.alias_target().map(|a| AliasTarget {
                hosted_zone_id: a.hosted_zone_id().to_string(),
                dns_name: a.dns_name().to_string(),
                evaluate_target_health: a.evaluate_target_health(),
            }),
            health_check_id: r.health_check_id().map(str::to_string),
            traffic_policy_instance_id: r.traffic_policy_instance_id().map(str::to_string),
            cidr_routing_config: r.cidr_routing_config().map(|c| CidrRoutingConfig {
                collection_id: c.collection_id().to_string(),
                location_name: c.location_name().to_string(),
            }),
            geo_proximity_location: r.geo_proximity_location().map(|g| GeoProximityLocation {
                aws_region: g.aws_region().map(str::to_string),
                local_zone_group: g.local_zone_group().map(str::to_string),
                coordinates: g.coordinates().map(|c| Coordinates {
                    latitude: c.latitude().to_string(),
                    longitude: c.longitude().to_string(),
                }),
                bias: g.bias(),
            }),
        }
    }

    /// What identifies a record set within its zone: name, type and set identifier.
    pub fn identity(&self) -> (String, String, Option<String>) {
        (
            self.name.to_ascii_lowercase(),
            self.rr_type.clone(),
            self.set_identifier.clone(),
        )
    }
}

/// The sort key of a record set: its name in DNS order (labels compared from the right, so the
/// apex comes first and each name is followed by the names below it), then type, then set id.
pub fn record_order(a: &RecordSet, b: &RecordSet) -> std::cmp::Ordering {
    fn key(n: &str) -> Vec<String> {
        let lower = n.trim_end_matches('.').to_ascii_lowercase();
        if lower.is_empty() {
            return Vec::new();
        }
        lower.rsplit('.').map(str::to_string).collect()
    }
    key(&a.name)
        .cmp(&key(&b.name))
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.rr_type.cmp(&b.rr_type))
        .then_with(|| a.set_identifier.cmp(&b.set_identifier))
}

/// The document of an `aws.route53.health_check`: the health check with its tags (the view
/// `health_checks.json` lists them all, `{"Items": [...]}` sorted by id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthCheckEntry {
    pub health_check: HealthCheck,
    /// Sorted by key; left out when they could not be read (see `Errors`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<PartError>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthCheck {
    pub id: String,
    pub caller_reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_service: Option<LinkedService>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_config: Option<HealthCheckConfig>,
    pub health_check_version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch_alarm_configuration: Option<CloudWatchAlarmConfiguration>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthCheckConfig {
    #[serde(rename = "IPAddress", default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    #[serde(rename = "Type")]
    pub check_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fully_qualified_domain_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_string: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_interval: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure_latency: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inverted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_threshold: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_health_checks: Option<Vec<String>>,
    #[serde(rename = "EnableSNI", default, skip_serializing_if = "Option::is_none")]
    pub enable_sni: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_identifier: Option<AlarmIdentifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insufficient_data_health_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_control_arn: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmIdentifier {
    pub region: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CloudWatchAlarmConfiguration {
    pub evaluation_periods: i32,
    pub threshold: f64,
    pub comparison_operator: String,
    pub period: i32,
    pub metric_name: String,
    pub namespace: String,
    pub statistic: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<Vec<Dimension>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

impl HealthCheck {
    pub fn from_sdk(h: &t::HealthCheck) -> Self {
        HealthCheck {
            id: h.id().to_string(),
            caller_reference: h.caller_reference().to_string(),
            linked_service: h.linked_service().map(LinkedService::from_sdk),
            health_check_config: h.health_check_config().map(|c| HealthCheckConfig {
                ip_address: c.ip_address().map(str::to_string),
                port: c.port(),
                check_type: c.r#type().as_str().to_string(),
                resource_path: c.resource_path().map(str::to_string),
                fully_qualified_domain_name: c.fully_qualified_domain_name().map(str::to_string),
                search_string: c.search_string().map(str::to_string),
                request_interval: c.request_interval(),
                failure_threshold: c.failure_threshold(),
                measure_latency: c.measure_latency(),
                inverted: c.inverted(),
                disabled: c.disabled(),
                health_threshold: c.health_threshold(),
                child_health_checks: c
                    .child_health_checks
                    .as_ref()
                    .filter(|v| !v.is_empty())
                    .cloned(),
                enable_sni: c.enable_sni(),
                regions: c
                    .regions
                    .as_ref()
                    .filter(|v| !v.is_empty())
                    .map(|v| v.iter().map(|r| r.as_str().to_string()).collect()),
                alarm_identifier: c.alarm_identifier().map(|a| AlarmIdentifier {
                    region: a.region().as_str().to_string(),
                    name: a.name().to_string(),
                }),
                insufficient_data_health_status: c
                    .insufficient_data_health_status()
                    .map(|s| s.as_str().to_string()),
                routing_control_arn: c.routing_control_arn().map(str::to_string),
            }),
            health_check_version: h.health_check_version(),
            cloud_watch_alarm_configuration: h.cloud_watch_alarm_configuration().map(|c| {
                CloudWatchAlarmConfiguration {
                    evaluation_periods: c.evaluation_periods(),
                    threshold: c.threshold(),
                    comparison_operator: c.comparison_operator().as_str().to_string(),
                    period: c.period(),
                    metric_name: c.metric_name().to_string(),
                    namespace: c.namespace().to_string(),
                    statistic: c.statistic().as_str().to_string(),
                    dimensions: c.dimensions.as_ref().map(|d| {
                        d.iter()
                            .map(|d| Dimension {
                                name: d.name().to_string(),
                                value: d.value().to_string(),
                            })
                            .collect()
                    }),
                }
            }),
        }
    }
}
