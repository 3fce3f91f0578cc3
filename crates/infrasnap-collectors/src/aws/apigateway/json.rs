//! API Gateway resources as the snapshot's JSON: pure conversions from the SDK's types, no calls.
//!
//! v1 (REST APIs) uses the API's camelCase field names, as `aws apigateway get-*` prints them;
//! v2 (HTTP and WebSocket APIs) the PascalCase names `aws apigatewayv2 get-*` prints. Absent
//! fields are left out, enums are their wire value, dates RFC 3339 UTC, maps have sorted keys.
//! Stage variables (and a canary's stage variable overrides) keep their names, and each value is
//! replaced by its keyed fingerprint marker. An API key's value and a usage plan key's value are
//! never read into the output.

use std::collections::{BTreeMap, HashMap};

use infrasnap_core::kept::KeptValues;
use infrasnap_core::secrets::{is_marker, redact_env_map, Fingerprinter};
use serde_json::Value;

pub(super) use crate::aws::kit::doc::{str_map, Doc as Obj};

fn bool_map(m: Option<&HashMap<String, bool>>) -> Value {
    m.map(|m| {
        Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), Value::from(*v)))
                .collect(),
        )
    })
    .unwrap_or(Value::Null)
}

/// A map of values built by `f`, keys sorted.
fn map_of<T>(m: Option<&HashMap<String, T>>, f: impl Fn(&T) -> Value) -> Value {
    m.map(|m| Value::Object(m.iter().map(|(k, v)| (k.clone(), f(v))).collect()))
        .unwrap_or(Value::Null)
}

/// Stage variables: names kept, every value replaced by its fingerprint marker (equal exactly
/// when the value is equal, within this repository).
pub(super) fn redacted_vars(m: Option<&HashMap<String, String>>, fp: &Fingerprinter) -> Value {
    let Some(m) = m else {
        return Value::Null;
    };
    let mut b: BTreeMap<String, String> = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    redact_env_map(&mut b, fp);
    Value::Object(b.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
}

/// With `--keep-secrets`: the originals of the markers [`redacted_vars`] makes, into `kept`
/// (encrypted by the catalog as the resource's `kept.age` part; never written in plain text).
pub(super) fn keep_vars(
    m: Option<&HashMap<String, String>>,
    fp: &Fingerprinter,
    kept: &mut KeptValues,
) {
    for v in m.into_iter().flat_map(HashMap::values) {
        if !is_marker(v) {
            kept.markers(
                &Value::from(v.as_str()),
                &Value::from(fp.marker(v.as_bytes())),
            );
        }
    }
}

/// A policy document: parsed when it is JSON (API Gateway returns it with its quotes
/// backslash-escaped), else the text.
pub(super) fn policy(p: Option<&str>) -> Value {
    let Some(p) = p else {
        return Value::Null;
    };
    serde_json::from_str::<Value>(p)
        .ok()
        .filter(Value::is_object)
        .or_else(|| serde_json::from_str::<Value>(&p.replace("\\\"", "\"")).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| Value::from(p))
}

/// A model's schema: parsed when it is JSON, else the text.
fn schema(s: Option<&str>) -> Value {
    let Some(s) = s else {
        return Value::Null;
    };
    serde_json::from_str::<Value>(s).unwrap_or_else(|_| Value::from(s))
}

/// Sort a list of objects by the string at `key` (then by the whole value, for ties).
pub(super) fn sort_by_key(mut v: Vec<Value>, key: &str) -> Value {
    v.sort_by(|a, b| {
        let ka = a.get(key).and_then(Value::as_str).unwrap_or("");
        let kb = b.get(key).and_then(Value::as_str).unwrap_or("");
        ka.cmp(kb).then_with(|| a.to_string().cmp(&b.to_string()))
    });
    Value::Array(v)
}

// ---------------------------------------------------------------------------------------------
// v1: REST APIs
// ---------------------------------------------------------------------------------------------

pub(super) mod v1 {
    use aws_sdk_apigateway::types::{
        ApiKey, Authorizer, BasePathMapping, Deployment, DomainName, EndpointConfiguration,
        GatewayResponse, Integration, IntegrationResponse, Method, MethodResponse, MethodSetting,
        Model, MutualTlsAuthentication, QuotaSettings, RequestValidator, Resource, RestApi, Stage,
        ThrottleSettings, UsagePlan, UsagePlanKey,
    };

    use super::*;

    fn endpoint(e: Option<&EndpointConfiguration>) -> Value {
        e.map(|e| {
            Obj::new()
                .v(
                    "types",
                    e.types()
                        .iter()
                        .map(|t| t.as_str().to_string())
                        .collect::<Vec<_>>(),
                )
                .s("ipAddressType", e.ip_address_type().map(|x| x.as_str()))
                .set("vpcEndpointIds", e.vpc_endpoint_ids())
                .build()
        })
        .unwrap_or(Value::Null)
    }

    pub fn rest_api(r: &RestApi) -> Value {
        Obj::new()
            .s("id", r.id())
            .s("name", r.name())
            .s("description", r.description())
            .t("createdDate", r.created_date())
            .s("version", r.version())
            .set("warnings", r.warnings())
            .set("binaryMediaTypes", r.binary_media_types())
            .o("minimumCompressionSize", r.minimum_compression_size())
            .s("apiKeySource", r.api_key_source().map(|x| x.as_str()))
            .v(
                "endpointConfiguration",
                endpoint(r.endpoint_configuration()),
            )
            .v("policy", policy(r.policy()))
            .map("tags", r.tags())
            .v(
                "disableExecuteApiEndpoint",
                r.disable_execute_api_endpoint(),
            )
            .s("rootResourceId", r.root_resource_id())
            .s("securityPolicy", r.security_policy().map(|x| x.as_str()))
            .s(
                "endpointAccessMode",
                r.endpoint_access_mode().map(|x| x.as_str()),
            )
            .s("apiStatus", r.api_status().map(|x| x.as_str()))
            .s("apiStatusMessage", r.api_status_message())
            .build()
    }

    fn method_setting(m: &MethodSetting) -> Value {
        Obj::new()
            .v("metricsEnabled", m.metrics_enabled())
            .s("loggingLevel", m.logging_level())
            .v("dataTraceEnabled", m.data_trace_enabled())
            .v("throttlingBurstLimit", m.throttling_burst_limit())
            .v("throttlingRateLimit", m.throttling_rate_limit())
            .v("cachingEnabled", m.caching_enabled())
            .v("cacheTtlInSeconds", m.cache_ttl_in_seconds())
            .v("cacheDataEncrypted", m.cache_data_encrypted())
            .v(
                "requireAuthorizationForCacheControl",
                m.require_authorization_for_cache_control(),
            )
            .s(
                "unauthorizedCacheControlHeaderStrategy",
                m.unauthorized_cache_control_header_strategy()
                    .map(|x| x.as_str()),
            )
            .build()
    }

    pub fn stage(s: &Stage, fp: &Fingerprinter) -> Value {
        Obj::new()
            .s("stageName", s.stage_name())
            .s("deploymentId", s.deployment_id())
            .s("description", s.description())
            .s("clientCertificateId", s.client_certificate_id())
            .v("cacheClusterEnabled", s.cache_cluster_enabled())
            .s(
                "cacheClusterSize",
                s.cache_cluster_size().map(|x| x.as_str()),
            )
            .s(
                "cacheClusterStatus",
                s.cache_cluster_status().map(|x| x.as_str()),
            )
            .v(
                "methodSettings",
                map_of(s.method_settings(), method_setting),
            )
            .v("variables", redacted_vars(s.variables(), fp))
            .s("documentationVersion", s.documentation_version())
            .v(
                "accessLogSettings",
                s.access_log_settings()
                    .map(|a| {
                        Obj::new()
                            .s("format", a.format())
                            .s("destinationArn", a.destination_arn())
                            .build()
                    })
                    .unwrap_or(Value::Null),
            )
            .v(
                "canarySettings",
                s.canary_settings()
                    .map(|c| {
                        Obj::new()
                            .v("percentTraffic", c.percent_traffic())
                            .s("deploymentId", c.deployment_id())
                            .v(
                                "stageVariableOverrides",
                                redacted_vars(c.stage_variable_overrides(), fp),
                            )
                            .v("useStageCache", c.use_stage_cache())
                            .build()
                    })
                    .unwrap_or(Value::Null),
            )
            .v("tracingEnabled", s.tracing_enabled())
            .s("webAclArn", s.web_acl_arn())
            .map("tags", s.tags())
            .t("createdDate", s.created_date())
            .t("lastUpdatedDate", s.last_updated_date())
            .build()
    }

    pub fn deployment(d: &Deployment) -> Value {
        Obj::new()
            .s("id", d.id())
            .s("description", d.description())
            .t("createdDate", d.created_date())
            .build()
    }

    fn method_response(r: &MethodResponse) -> Value {
        Obj::new()
            .s("statusCode", r.status_code())
            .v("responseParameters", bool_map(r.response_parameters()))
            .map("responseModels", r.response_models())
            .build()
    }

    fn integration_response(r: &IntegrationResponse) -> Value {
        Obj::new()
            .s("statusCode", r.status_code())
            .s("selectionPattern", r.selection_pattern())
            .map("responseParameters", r.response_parameters())
            .map("responseTemplates", r.response_templates())
            .s("contentHandling", r.content_handling().map(|x| x.as_str()))
            .build()
    }

    pub fn integration(i: &Integration) -> Value {
        Obj::new()
            .s("type", i.r#type().map(|x| x.as_str()))
            .s("httpMethod", i.http_method())
            .s("uri", i.uri())
            .s("connectionType", i.connection_type().map(|x| x.as_str()))
            .s("connectionId", i.connection_id())
            .s("credentials", i.credentials())
            .map("requestParameters", i.request_parameters())
            .map("requestTemplates", i.request_templates())
            .s("passthroughBehavior", i.passthrough_behavior())
            .s("contentHandling", i.content_handling().map(|x| x.as_str()))
            // 0 is the SDK's "absent" (the service's minimum is 50).
            .o(
                "timeoutInMillis",
                Some(i.timeout_in_millis()).filter(|t| *t > 0),
            )
            .s("cacheNamespace", i.cache_namespace())
            .set("cacheKeyParameters", i.cache_key_parameters())
            .v(
                "tlsConfig",
                i.tls_config()
                    .map(|t| {
                        Obj::new()
                            .v("insecureSkipVerification", t.insecure_skip_verification())
                            .build()
                    })
                    .unwrap_or(Value::Null),
            )
            .s(
                "responseTransferMode",
                i.response_transfer_mode().map(|x| x.as_str()),
            )
            .s("integrationTarget", i.integration_target())
            .v(
                "integrationResponses",
                map_of(i.integration_responses(), integration_response),
            )
            .build()
    }

    pub fn method(m: &Method) -> Value {
        Obj::new()
            .s("httpMethod", m.http_method())
            .s("authorizationType", m.authorization_type())
            .s("authorizerId", m.authorizer_id())
            .o("apiKeyRequired", m.api_key_required())
            .s("requestValidatorId", m.request_validator_id())
            .s("operationName", m.operation_name())
            .v("requestParameters", bool_map(m.request_parameters()))
            .map("requestModels", m.request_models())
            .v(
                "methodResponses",
                map_of(m.method_responses(), method_response),
            )
            .v(
                "methodIntegration",
                m.method_integration()
                    .map(integration)
                    .unwrap_or(Value::Null),
            )
            .set("authorizationScopes", m.authorization_scopes())
            .build()
    }

    pub fn resource(r: &Resource) -> Value {
        Obj::new()
            .s("id", r.id())
            .s("parentId", r.parent_id())
            .s("pathPart", r.path_part())
            .s("path", r.path())
            .v("resourceMethods", map_of(r.resource_methods(), method))
            .build()
    }

    pub fn authorizer(a: &Authorizer) -> Value {
        Obj::new()
            .s("id", a.id())
            .s("name", a.name())
            .s("type", a.r#type().map(|x| x.as_str()))
            .set("providerARNs", a.provider_arns())
            .s("authType", a.auth_type())
            .s("authorizerUri", a.authorizer_uri())
            .s("authorizerCredentials", a.authorizer_credentials())
            .s("identitySource", a.identity_source())
            .s(
                "identityValidationExpression",
                a.identity_validation_expression(),
            )
            .o(
                "authorizerResultTtlInSeconds",
                a.authorizer_result_ttl_in_seconds(),
            )
            .build()
    }

    pub fn request_validator(r: &RequestValidator) -> Value {
        Obj::new()
            .s("id", r.id())
            .s("name", r.name())
            .v("validateRequestBody", r.validate_request_body())
            .v("validateRequestParameters", r.validate_request_parameters())
            .build()
    }

    pub fn model(m: &Model) -> Value {
        Obj::new()
            .s("id", m.id())
            .s("name", m.name())
            .s("description", m.description())
            .s("contentType", m.content_type())
            .v("schema", schema(m.schema()))
            .build()
    }

    pub fn gateway_response(g: &GatewayResponse) -> Value {
        Obj::new()
            .s("responseType", g.response_type().map(|x| x.as_str()))
            .s("statusCode", g.status_code())
            .map("responseParameters", g.response_parameters())
            .map("responseTemplates", g.response_templates())
            .v("defaultResponse", g.default_response())
            .build()
    }

    /// An API key, never its value.
    pub fn api_key(k: &ApiKey) -> Value {
        Obj::new()
            .s("id", k.id())
            .s("name", k.name())
            .s("customerId", k.customer_id())
            .s("description", k.description())
            .v("enabled", k.enabled())
            .t("createdDate", k.created_date())
            .t("lastUpdatedDate", k.last_updated_date())
            .set("stageKeys", k.stage_keys())
            .map("tags", k.tags())
            .build()
    }

    fn throttle(t: &ThrottleSettings) -> Value {
        Obj::new()
            .v("burstLimit", t.burst_limit())
            .v("rateLimit", t.rate_limit())
            .build()
    }

    fn quota(q: &QuotaSettings) -> Value {
        Obj::new()
            .v("limit", q.limit())
            .v("offset", q.offset())
            .s("period", q.period().map(|x| x.as_str()))
            .build()
    }

    /// A usage plan key: which API key, never its value.
    pub fn usage_plan_key(k: &UsagePlanKey) -> Value {
        Obj::new()
            .s("id", k.id())
            .s("type", k.r#type())
            .s("name", k.name())
            .build()
    }

    /// A usage plan, with its keys (already converted by [`usage_plan_key`]).
    pub fn usage_plan(p: &UsagePlan, keys: Option<Vec<Value>>) -> Value {
        let stages: Vec<Value> = p
            .api_stages()
            .iter()
            .map(|s| {
                Obj::new()
                    .s("apiId", s.api_id())
                    .s("stage", s.stage())
                    .v("throttle", map_of(s.throttle(), throttle))
                    .build()
            })
            .collect();
        let mut stages = stages;
        stages.sort_by_key(|v| v.to_string());
        Obj::new()
            .s("id", p.id())
            .s("name", p.name())
            .s("description", p.description())
            .v("apiStages", stages)
            .v(
                "throttle",
                p.throttle().map(throttle).unwrap_or(Value::Null),
            )
            .v("quota", p.quota().map(quota).unwrap_or(Value::Null))
            .s("productCode", p.product_code())
            .map("tags", p.tags())
            .v(
                "keys",
                keys.map(|k| sort_by_key(k, "id")).unwrap_or(Value::Null),
            )
            .build()
    }

    fn mutual_tls(m: Option<&MutualTlsAuthentication>) -> Value {
        m.map(|m| {
            Obj::new()
                .s("truststoreUri", m.truststore_uri())
                .s("truststoreVersion", m.truststore_version())
                .set("truststoreWarnings", m.truststore_warnings())
                .build()
        })
        .unwrap_or(Value::Null)
    }

    pub fn base_path_mapping(b: &BasePathMapping) -> Value {
        Obj::new()
            .s("basePath", b.base_path())
            .s("restApiId", b.rest_api_id())
            .s("stage", b.stage())
            .build()
    }

    /// A custom domain name, with its base path mappings (already converted).
    pub fn domain_name(d: &DomainName, mappings: Option<Vec<Value>>) -> Value {
        Obj::new()
            .s("domainName", d.domain_name())
            .s("domainNameId", d.domain_name_id())
            .s("domainNameArn", d.domain_name_arn())
            .s("certificateName", d.certificate_name())
            .s("certificateArn", d.certificate_arn())
            .t("certificateUploadDate", d.certificate_upload_date())
            .s("regionalDomainName", d.regional_domain_name())
            .s("regionalHostedZoneId", d.regional_hosted_zone_id())
            .s("regionalCertificateName", d.regional_certificate_name())
            .s("regionalCertificateArn", d.regional_certificate_arn())
            .s("distributionDomainName", d.distribution_domain_name())
            .s("distributionHostedZoneId", d.distribution_hosted_zone_id())
            .v(
                "endpointConfiguration",
                endpoint(d.endpoint_configuration()),
            )
            .s(
                "domainNameStatus",
                d.domain_name_status().map(|x| x.as_str()),
            )
            .s("domainNameStatusMessage", d.domain_name_status_message())
            .s("securityPolicy", d.security_policy().map(|x| x.as_str()))
            .s(
                "endpointAccessMode",
                d.endpoint_access_mode().map(|x| x.as_str()),
            )
            .map("tags", d.tags())
            .v(
                "mutualTlsAuthentication",
                mutual_tls(d.mutual_tls_authentication()),
            )
            .s(
                "ownershipVerificationCertificateArn",
                d.ownership_verification_certificate_arn(),
            )
            .v("managementPolicy", policy(d.management_policy()))
            .v("policy", policy(d.policy()))
            .s("routingMode", d.routing_mode().map(|x| x.as_str()))
            .v(
                "basePathMappings",
                mappings
                    .map(|m| sort_by_key(m, "basePath"))
                    .unwrap_or(Value::Null),
            )
            .build()
    }
}

// ---------------------------------------------------------------------------------------------
// v2: HTTP and WebSocket APIs
// ---------------------------------------------------------------------------------------------

pub(super) mod v2 {
    use aws_sdk_apigatewayv2::types::{
        AccessLogSettings, Api, ApiMapping, Authorizer, Deployment, DomainName, Integration,
        IntegrationResponse, Model, MutualTlsAuthentication, ParameterConstraints, Route,
        RouteResponse, RouteSettings, Stage,
    };

    use super::*;

    fn constraints(p: &ParameterConstraints) -> Value {
        Obj::new().o("Required", p.required()).build()
    }

    fn route_settings(r: &RouteSettings) -> Value {
        Obj::new()
            .o("DataTraceEnabled", r.data_trace_enabled())
            .o("DetailedMetricsEnabled", r.detailed_metrics_enabled())
            .s("LoggingLevel", r.logging_level().map(|x| x.as_str()))
            .o("ThrottlingBurstLimit", r.throttling_burst_limit())
            .o("ThrottlingRateLimit", r.throttling_rate_limit())
            .build()
    }

    fn access_log(a: Option<&AccessLogSettings>) -> Value {
        a.map(|a| {
            Obj::new()
                .s("DestinationArn", a.destination_arn())
                .s("Format", a.format())
                .build()
        })
        .unwrap_or(Value::Null)
    }

    fn mutual_tls(m: Option<&MutualTlsAuthentication>) -> Value {
        m.map(|m| {
            Obj::new()
                .s("TruststoreUri", m.truststore_uri())
                .s("TruststoreVersion", m.truststore_version())
                .set("TruststoreWarnings", m.truststore_warnings())
                .build()
        })
        .unwrap_or(Value::Null)
    }

    pub fn api(a: &Api) -> Value {
        Obj::new()
            .s("ApiEndpoint", a.api_endpoint())
            .o("ApiGatewayManaged", a.api_gateway_managed())
            .s("ApiId", a.api_id())
            .s(
                "ApiKeySelectionExpression",
                a.api_key_selection_expression(),
            )
            .v(
                "CorsConfiguration",
                a.cors_configuration()
                    .map(|c| {
                        Obj::new()
                            .o("AllowCredentials", c.allow_credentials())
                            .set("AllowHeaders", c.allow_headers())
                            .set("AllowMethods", c.allow_methods())
                            .set("AllowOrigins", c.allow_origins())
                            .set("ExposeHeaders", c.expose_headers())
                            .o("MaxAge", c.max_age())
                            .build()
                    })
                    .unwrap_or(Value::Null),
            )
            .t("CreatedDate", a.created_date())
            .s("Description", a.description())
            .o("DisableSchemaValidation", a.disable_schema_validation())
            .o(
                "DisableExecuteApiEndpoint",
                a.disable_execute_api_endpoint(),
            )
            .list("ImportInfo", a.import_info())
            .s("IpAddressType", a.ip_address_type().map(|x| x.as_str()))
            .s("Name", a.name())
            .s("ProtocolType", a.protocol_type().map(|x| x.as_str()))
            .s("RouteSelectionExpression", a.route_selection_expression())
            .map("Tags", a.tags())
            .s("Version", a.version())
            .set("Warnings", a.warnings())
            .build()
    }

    pub fn route_response(r: &RouteResponse) -> Value {
        Obj::new()
            .s("ModelSelectionExpression", r.model_selection_expression())
            .map("ResponseModels", r.response_models())
            .v(
                "ResponseParameters",
                map_of(r.response_parameters(), constraints),
            )
            .s("RouteResponseId", r.route_response_id())
            .s("RouteResponseKey", r.route_response_key())
            .build()
    }

    /// A route, with its route responses (WebSocket APIs; already converted).
    pub fn route(r: &Route, responses: Option<Vec<Value>>) -> Value {
        Obj::new()
            .o("ApiGatewayManaged", r.api_gateway_managed())
            .o("ApiKeyRequired", r.api_key_required())
            .set("AuthorizationScopes", r.authorization_scopes())
            .s(
                "AuthorizationType",
                r.authorization_type().map(|x| x.as_str()),
            )
            .s("AuthorizerId", r.authorizer_id())
            .s("ModelSelectionExpression", r.model_selection_expression())
            .s("OperationName", r.operation_name())
            .map("RequestModels", r.request_models())
            .v(
                "RequestParameters",
                map_of(r.request_parameters(), constraints),
            )
            .s("RouteId", r.route_id())
            .s("RouteKey", r.route_key())
            .s(
                "RouteResponseSelectionExpression",
                r.route_response_selection_expression(),
            )
            .s("Target", r.target())
            .v(
                "RouteResponses",
                responses
                    .map(|v| sort_by_key(v, "RouteResponseKey"))
                    .unwrap_or(Value::Null),
            )
            .build()
    }

    pub fn integration_response(r: &IntegrationResponse) -> Value {
        Obj::new()
            .s(
                "ContentHandlingStrategy",
                r.content_handling_strategy().map(|x| x.as_str()),
            )
            .s("IntegrationResponseId", r.integration_response_id())
            .s("IntegrationResponseKey", r.integration_response_key())
            .map("ResponseParameters", r.response_parameters())
            .map("ResponseTemplates", r.response_templates())
            .s(
                "TemplateSelectionExpression",
                r.template_selection_expression(),
            )
            .build()
    }

    /// An integration, with its integration responses (WebSocket APIs; already converted).
    pub fn integration(i: &Integration, responses: Option<Vec<Value>>) -> Value {
        Obj::new()
            .o("ApiGatewayManaged", i.api_gateway_managed())
            .s("ConnectionId", i.connection_id())
            .s("ConnectionType", i.connection_type().map(|x| x.as_str()))
            .s(
                "ContentHandlingStrategy",
                i.content_handling_strategy().map(|x| x.as_str()),
            )
            .s("CredentialsArn", i.credentials_arn())
            .s("Description", i.description())
            .s("IntegrationId", i.integration_id())
            .s("IntegrationMethod", i.integration_method())
            .s(
                "IntegrationResponseSelectionExpression",
                i.integration_response_selection_expression(),
            )
            .s("IntegrationSubtype", i.integration_subtype())
            .s("IntegrationType", i.integration_type().map(|x| x.as_str()))
            .s("IntegrationUri", i.integration_uri())
            .s(
                "PassthroughBehavior",
                i.passthrough_behavior().map(|x| x.as_str()),
            )
            .s("PayloadFormatVersion", i.payload_format_version())
            .map("RequestParameters", i.request_parameters())
            .map("RequestTemplates", i.request_templates())
            .v(
                "ResponseParameters",
                map_of(i.response_parameters(), str_map),
            )
            .s(
                "TemplateSelectionExpression",
                i.template_selection_expression(),
            )
            .o("TimeoutInMillis", i.timeout_in_millis())
            .v(
                "TlsConfig",
                i.tls_config()
                    .map(|t| {
                        Obj::new()
                            .s("ServerNameToVerify", t.server_name_to_verify())
                            .build()
                    })
                    .unwrap_or(Value::Null),
            )
            .v(
                "IntegrationResponses",
                responses
                    .map(|v| sort_by_key(v, "IntegrationResponseKey"))
                    .unwrap_or(Value::Null),
            )
            .build()
    }

    pub fn stage(s: &Stage, fp: &Fingerprinter) -> Value {
        Obj::new()
            .v("AccessLogSettings", access_log(s.access_log_settings()))
            .o("ApiGatewayManaged", s.api_gateway_managed())
            .o("AutoDeploy", s.auto_deploy())
            .s("ClientCertificateId", s.client_certificate_id())
            .t("CreatedDate", s.created_date())
            .v(
                "DefaultRouteSettings",
                s.default_route_settings()
                    .map(route_settings)
                    .unwrap_or(Value::Null),
            )
            .s("DeploymentId", s.deployment_id())
            .s("Description", s.description())
            .s(
                "LastDeploymentStatusMessage",
                s.last_deployment_status_message(),
            )
            .t("LastUpdatedDate", s.last_updated_date())
            .v("RouteSettings", map_of(s.route_settings(), route_settings))
            .s("StageName", s.stage_name())
            .v("StageVariables", redacted_vars(s.stage_variables(), fp))
            .map("Tags", s.tags())
            .build()
    }

    pub fn authorizer(a: &Authorizer) -> Value {
        Obj::new()
            .s("AuthorizerCredentialsArn", a.authorizer_credentials_arn())
            .s("AuthorizerId", a.authorizer_id())
            .s(
                "AuthorizerPayloadFormatVersion",
                a.authorizer_payload_format_version(),
            )
            .o(
                "AuthorizerResultTtlInSeconds",
                a.authorizer_result_ttl_in_seconds(),
            )
            .s("AuthorizerType", a.authorizer_type().map(|x| x.as_str()))
            .s("AuthorizerUri", a.authorizer_uri())
            .o("EnableSimpleResponses", a.enable_simple_responses())
            .list("IdentitySource", a.identity_source())
            .s(
                "IdentityValidationExpression",
                a.identity_validation_expression(),
            )
            .v(
                "JwtConfiguration",
                a.jwt_configuration()
                    .map(|j| {
                        Obj::new()
                            .set("Audience", j.audience())
                            .s("Issuer", j.issuer())
                            .build()
                    })
                    .unwrap_or(Value::Null),
            )
            .s("Name", a.name())
            .build()
    }

    pub fn deployment(d: &Deployment) -> Value {
        Obj::new()
            .o("AutoDeployed", d.auto_deployed())
            .t("CreatedDate", d.created_date())
            .s("DeploymentId", d.deployment_id())
            .s(
                "DeploymentStatus",
                d.deployment_status().map(|x| x.as_str()),
            )
            .s("DeploymentStatusMessage", d.deployment_status_message())
            .s("Description", d.description())
            .build()
    }

    pub fn model(m: &Model) -> Value {
        Obj::new()
            .s("ContentType", m.content_type())
            .s("Description", m.description())
            .s("ModelId", m.model_id())
            .s("Name", m.name())
            .v("Schema", schema(m.schema()))
            .build()
    }

    pub fn api_mapping(m: &ApiMapping) -> Value {
        Obj::new()
            .s("ApiId", m.api_id())
            .s("ApiMappingId", m.api_mapping_id())
            .s("ApiMappingKey", m.api_mapping_key())
            .s("Stage", m.stage())
            .build()
    }

    /// A custom domain name, with its API mappings (already converted).
    pub fn domain_name(d: &DomainName, mappings: Option<Vec<Value>>) -> Value {
        let configs: Vec<Value> = d
            .domain_name_configurations()
            .iter()
            .map(|c| {
                Obj::new()
                    .s("ApiGatewayDomainName", c.api_gateway_domain_name())
                    .s("CertificateArn", c.certificate_arn())
                    .s("CertificateName", c.certificate_name())
                    .t("CertificateUploadDate", c.certificate_upload_date())
                    .s(
                        "DomainNameStatus",
                        c.domain_name_status().map(|x| x.as_str()),
                    )
                    .s("DomainNameStatusMessage", c.domain_name_status_message())
                    .s("EndpointType", c.endpoint_type().map(|x| x.as_str()))
                    .s("HostedZoneId", c.hosted_zone_id())
                    .s("IpAddressType", c.ip_address_type().map(|x| x.as_str()))
                    .s("SecurityPolicy", c.security_policy().map(|x| x.as_str()))
                    .s(
                        "OwnershipVerificationCertificateArn",
                        c.ownership_verification_certificate_arn(),
                    )
                    .build()
            })
            .collect();
        Obj::new()
            .s(
                "ApiMappingSelectionExpression",
                d.api_mapping_selection_expression(),
            )
            .s("DomainName", d.domain_name())
            .s("DomainNameArn", d.domain_name_arn())
            .v("DomainNameConfigurations", configs)
            .v(
                "MutualTlsAuthentication",
                mutual_tls(d.mutual_tls_authentication()),
            )
            .s("RoutingMode", d.routing_mode().map(|x| x.as_str()))
            .map("Tags", d.tags())
            .v(
                "ApiMappings",
                mappings
                    .map(|m| sort_by_key(m, "ApiMappingId"))
                    .unwrap_or(Value::Null),
            )
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fp() -> Fingerprinter {
        Fingerprinter::from_key([7; 32])
    }

    #[test]
    fn stage_variables_keep_names_and_lose_values() {
        let fp = fp();
        let s = aws_sdk_apigateway::types::Stage::builder()
            .stage_name("prod")
            .deployment_id("d1")
            .variables("db_password", "hunter2-is-not-a-password")
            .variables("mode", "debug")
            .canary_settings(
                aws_sdk_apigateway::types::CanarySettings::builder()
                    .percent_traffic(10.0)
                    .stage_variable_overrides("mode", "canary")
                    .build(),
            )
            .build();
        let v = v1::stage(&s, &fp);
        assert_eq!(v["stageName"], "prod");
        assert_eq!(
            v["variables"],
            json!({
                "db_password": fp.marker(b"hunter2-is-not-a-password"),
                "mode": fp.marker(b"debug"),
            })
        );
        assert_eq!(
            v["canarySettings"]["stageVariableOverrides"]["mode"],
            fp.marker(b"canary").as_str()
        );
        assert!(!v.to_string().contains("hunter2"));
    }

    #[test]
    fn kept_stage_variables_put_back_exactly_what_was_redacted() {
        let fp = fp();
        let s = aws_sdk_apigateway::types::Stage::builder()
            .stage_name("prod")
            .variables("db_password", "hunter2-is-not-a-password")
            .variables("mode", "debug")
            .build();
        let mut kept = KeptValues::default();
        keep_vars(s.variables(), &fp, &mut kept);
        assert_eq!(kept.len(), 2);
        assert!(!format!("{kept:?}").contains("hunter2"));
        let mut doc = v1::stage(&s, &fp);
        assert_eq!(kept.put_back(&mut doc), 2);
        assert_eq!(
            doc["variables"],
            json!({"db_password": "hunter2-is-not-a-password", "mode": "debug"})
        );
    }

    #[test]
    fn an_api_key_value_is_never_output() {
        let k = aws_sdk_apigateway::types::ApiKey::builder()
            .id("k1")
            .name("partner")
            .value("the-key-value-0123456789")
            .enabled(true)
            .stage_keys("api/prod")
            .build();
        let v = v1::api_key(&k);
        assert_eq!(
            v,
            json!({"id": "k1", "name": "partner", "enabled": true, "stageKeys": ["api/prod"]})
        );
        let pk = aws_sdk_apigateway::types::UsagePlanKey::builder()
            .id("k1")
            .r#type("API_KEY")
            .value("the-key-value-0123456789")
            .name("partner")
            .build();
        assert_eq!(
            v1::usage_plan_key(&pk),
            json!({"id": "k1", "type": "API_KEY", "name": "partner"})
        );
    }

    #[test]
    fn policies_are_parsed_even_when_escaped() {
        let p = r#"{\"Version\":\"2012-10-17\",\"Statement\":[]}"#;
        assert_eq!(
            policy(Some(p)),
            json!({"Version": "2012-10-17", "Statement": []})
        );
        assert_eq!(policy(Some(r#"{"Version":"x"}"#)), json!({"Version": "x"}));
        assert_eq!(policy(Some("not json")), json!("not json"));
        assert_eq!(policy(None), Value::Null);
    }

    #[test]
    fn empty_fields_are_left_out_and_lists_sorted() {
        let v = Obj::new()
            .s("a", None)
            .v("b", Vec::<String>::new())
            .set("c", &["z".into(), "a".into(), "z".into()])
            .list("d", &["z".into(), "a".into()])
            .v("e", false)
            .build();
        assert_eq!(v, json!({"c": ["a", "z"], "d": ["z", "a"], "e": false}));
        let sorted = sort_by_key(vec![json!({"id": "b"}), json!({"id": "a"})], "id");
        assert_eq!(sorted, json!([{"id": "a"}, {"id": "b"}]));
    }
}
