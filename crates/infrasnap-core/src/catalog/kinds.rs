//! The declaration of every resource kind: where its documents land, which fields are volatile
//! (left out of a diff), which are sensitive (redacted at the one choke point,
//! [`crate::engine::RunContext::put_resource`]), which arrays are sets, and its scope.
//!
//! Adding a kind is adding one entry to [`KINDS`]; nothing else in the core changes.
//!
//! Path templates are relative to the snapshot folder and use:
//! `{account}`, `{region}` (the ResourceId's; a global kind has none), `{id}` (the id escaped as
//! one segment, [`super::escape`]), `{label}` (a readable name the collector gives with the
//! resource, escaped; the id when none is given) and `{part}` (a part's name, each `/`-separated
//! component escaped). Every template of a kind contains `{id}` (or is a view), so two resources
//! never share a path.
//!
//! JSON pointers (RFC 6901) in `volatile`, `sensitive` and `sets` may use `*` for "any member or
//! element" at that level.

/// Where a kind lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Unique across accounts by its id alone (S3 bucket names): no account in its paths.
    Global,
    /// One per account, no region (IAM, Route53, CloudFront).
    Account,
    /// One per account and region.
    Regional,
    /// Not a cloud resource: local sources, Apps Script projects.
    Local,
}

/// One kind of resource.
#[derive(Debug)]
pub struct KindSpec {
    /// `aws.lambda.function`.
    pub kind: &'static str,
    /// The collector that captures it (its key in `snapshot_metadata.json`): `lambda`.
    pub source: &'static str,
    /// What one of them is called, for people: `function`.
    pub noun: &'static str,
    pub scope: Scope,
    /// The tree path of the resource's main document. `None`: a member kind, whose documents are
    /// kept in the store and the catalog only and shown in the tree through `view`.
    pub doc: Option<&'static str>,
    /// Where a named part goes. A part not listed here goes to `default_part`.
    pub parts: &'static [(&'static str, &'static str)],
    /// Template for parts not named in `parts` (must contain `{part}`); `None`: such a part is
    /// refused.
    pub default_part: Option<&'static str>,
    /// A collection file generated at the end of the run from the documents of every resource of
    /// this kind sharing the template's account and region: `{"Items": [doc, ...]}` in id order.
    pub view: Option<&'static str>,
    /// An index file of the resource's own (S3 objects of a bucket, code zips), for index lines
    /// that carry more than `path` and `blob` (docs/FORMAT.md 3.3).
    pub index: Option<&'static str>,
    /// Members left out of a diff: stamps the API moves by itself, status counters.
    pub volatile: &'static [&'static str],
    /// Parts left out of a diff (their content is volatile by nature: status, statistics; or
    /// shown by other resources). Globs (`*.zone`) allowed.
    pub volatile_parts: &'static [&'static str],
    /// Members that name or stamp one instance of the resource (`/RoleId`, `/CreateDate`), which
    /// a resource deleted and created again gets anew. A diff in which only these differ calls
    /// the resource re-created (one line, not a field list); restore leaves them out of the hash
    /// it compares a resource by. JSON pointers, `*` allowed; a change at or below one counts.
    pub identity: &'static [&'static str],
    /// Members whose string values are secrets: replaced by their marker when written.
    pub sensitive: &'static [&'static str],
    /// Members (subtrees; `""` is the whole document) run through the secret detector
    /// ([`crate::secrets::redact_json`]: secret-named keys, name/value pairs such as tags, and
    /// known token shapes) when written: settings people put values in (tags, policies, DNS).
    pub scan: &'static [&'static str],
    /// Text parts of the resource (not binary) run through [`crate::secrets::redact_text`].
    pub scan_parts: bool,
    /// Arrays the service treats as sets: compared without regard to order.
    pub sets: &'static [&'static str],
}

impl KindSpec {
    const fn new(
        kind: &'static str,
        source: &'static str,
        noun: &'static str,
        scope: Scope,
    ) -> Self {
        KindSpec {
            kind,
            source,
            noun,
            scope,
            doc: None,
            parts: &[],
            default_part: None,
            view: None,
            index: None,
            volatile: &[],
            volatile_parts: &[],
            identity: &[],
            sensitive: &[],
            scan: &[],
            scan_parts: false,
            sets: &[],
        }
    }
}

/// The kind named `kind`.
pub fn spec(kind: &str) -> Option<&'static KindSpec> {
    KINDS.iter().find(|k| k.kind == kind)
}

/// Every kind a source captures.
pub fn of_source(source: &str) -> impl Iterator<Item = &'static KindSpec> + '_ {
    KINDS.iter().filter(move |k| k.source == source)
}

/// Every kind infrasnap captures.
pub static KINDS: &[KindSpec] = &[
    // ---- S3 ----
    KindSpec {
        doc: Some("s3_bucket_config/{id}.json"),
        // `objects`: the folder of the bucket's objects (keys placed by keypath.rs).
        // `versions`: with --all-versions, every version and delete marker of each key, one
        // file each (`<key>/<time>_<version id>`), listed in `index/s3_versions/{id}.jsonl`.
        parts: &[
            ("objects", "s3_buckets/{id}"),
            ("versions", "s3_versions/{id}"),
        ],
        index: Some("index/s3_buckets/{id}.jsonl"),
        // Totals of the objects, which a diff compares one by one.
        volatile: &["/object_count", "/total_bytes"],
        sets: &[
            "/config/policy/value/Statement",
            "/config/policy/value/Statement/*/Action",
            "/config/policy/value/Statement/*/Resource",
            "/config/tagging/value/TagSet",
            "/config/cors/value/CORSRules",
            "/config/lifecycle/value/Rules",
            "/config/acl/value/Grants",
        ],
        // Bucket settings hold values people put there: tags, and policy conditions whose
        // `aws:Referer` values are shared secrets by design.
        sensitive: &[
            "/config/policy/value/Statement/*/Condition/*/aws:Referer",
            "/config/policy/value/Statement/*/Condition/*/aws:Referer/*",
        ],
        scan: &["/config"],
        ..KindSpec::new("aws.s3.bucket", "s3", "bucket", Scope::Global)
    },
    // ---- Lambda ----
    KindSpec {
        doc: Some("lambda_functions/{account}/{region}/function_config/{id}.json"),
        index: Some("index/lambda_functions/{account}/{region}/{id}.jsonl"),
        parts: &[
            (
                "code.zip",
                "lambda_functions/{account}/{region}/function_code/{id}.zip",
            ),
            (
                "env.json",
                "lambda_functions/{account}/{region}/function_env_vars/{id}.json",
            ),
            // --keep-secrets: the environment's values, encrypted (infrasnap_core::kept).
            (
                "kept.age",
                "lambda_functions/{account}/{region}/kept_secrets/{id}.age",
            ),
        ],
        volatile: &[
            "/Configuration/LastModified",
            "/Configuration/LastUpdateStatus",
            "/Configuration/LastUpdateStatusReason",
            "/Configuration/LastUpdateStatusReasonCode",
            "/Configuration/State",
            "/Configuration/StateReason",
            "/Configuration/StateReasonCode",
            "/Configuration/RevisionId",
            "/Versions/*/LastModified",
            "/Versions/*/RevisionId",
            "/Versions/*/State",
            "/Versions/*/LastUpdateStatus",
            "/Aliases/*/RevisionId",
            "/EventSourceMappings/*/LastModified",
            "/EventSourceMappings/*/State",
            "/EventSourceMappings/*/StateTransitionReason",
            "/FunctionUrlConfigs/*/LastModifiedTime",
        ],
        sensitive: &["/Configuration/Environment/Variables/*"],
        sets: &[
            "/Layers",
            "/Configuration/Layers",
            "/Policy/Statement",
            "/Configuration/Architectures",
        ],
        ..KindSpec::new("aws.lambda.function", "lambda", "function", Scope::Regional)
    },
    KindSpec {
        doc: Some("lambda_functions/{account}/{region}/layers/{id}.json"),
        index: Some("index/lambda_functions/{account}/{region}/layers/{id}.jsonl"),
        parts: &[(
            "code.zip",
            "lambda_functions/{account}/{region}/layers/{id}.zip",
        )],
        ..KindSpec::new(
            "aws.lambda.layer_version",
            "lambda",
            "layer version",
            Scope::Regional,
        )
    },
    // ---- CloudFront ----
    KindSpec {
        doc: Some("cloudfront_distributions/{account}/{id}.json"),
        parts: &[(
            "status.json",
            "cloudfront_distributions/{account}/{id}.status.json",
        )],
        volatile: &[
            "/ETag",
            "/LastModifiedTime",
            "/Status",
            "/InProgressInvalidationBatches",
        ],
        volatile_parts: &["status.json"],
        sets: &[
            "/DistributionConfig/Aliases/Items",
            "/DistributionConfig/Origins/Items",
            "/DistributionConfig/CacheBehaviors/Items",
            "/Tags/Items",
        ],
        ..KindSpec::new(
            "aws.cloudfront.distribution",
            "cloudfront",
            "distribution",
            Scope::Account,
        )
    },
    KindSpec {
        doc: Some("cloudfront_distributions/{account}/functions/{id}.json"),
        parts: &[
            (
                "code.js",
                "cloudfront_distributions/{account}/functions/{id}.js",
            ),
            (
                "live.js",
                "cloudfront_distributions/{account}/functions/{id}.live.js",
            ),
        ],
        // The document is `{"Name", "Stages": {"DEVELOPMENT" | "LIVE": summary}}`: each stage's
        // ETag and stamps move with every write; a function restore makes again has a new
        // CreatedTime.
        volatile: &[
            "/ETag",
            "/FunctionMetadata/LastModifiedTime",
            "/Stages/*/ETag",
            "/Stages/*/FunctionMetadata/LastModifiedTime",
            "/Stages/*/FunctionMetadata/CreatedTime",
        ],
        ..KindSpec::new(
            "aws.cloudfront.function",
            "cloudfront",
            "function",
            Scope::Account,
        )
    },
    KindSpec {
        // One per account, id `distribution_summary`: ListDistributions' essentials (id, domain,
        // aliases, enabled, origins) as a document (store and catalog only) and as a CSV part.
        parts: &[(
            "distribution_summary.csv",
            "cloudfront_distributions/{account}/{id}.csv",
        )],
        ..KindSpec::new(
            "aws.cloudfront.distribution_summary",
            "cloudfront",
            "distribution summary",
            Scope::Account,
        )
    },
    KindSpec {
        view: Some("cloudfront_distributions/{account}/cache_policies.json"),
        volatile: &["/LastModifiedTime"],
        ..KindSpec::new(
            "aws.cloudfront.cache_policy",
            "cloudfront",
            "cache policy",
            Scope::Account,
        )
    },
    KindSpec {
        view: Some("cloudfront_distributions/{account}/origin_request_policies.json"),
        volatile: &["/LastModifiedTime"],
        ..KindSpec::new(
            "aws.cloudfront.origin_request_policy",
            "cloudfront",
            "origin request policy",
            Scope::Account,
        )
    },
    KindSpec {
        view: Some("cloudfront_distributions/{account}/response_headers_policies.json"),
        volatile: &["/LastModifiedTime"],
        ..KindSpec::new(
            "aws.cloudfront.response_headers_policy",
            "cloudfront",
            "response headers policy",
            Scope::Account,
        )
    },
    KindSpec {
        view: Some("cloudfront_distributions/{account}/origin_access_controls.json"),
        ..KindSpec::new(
            "aws.cloudfront.origin_access_control",
            "cloudfront",
            "origin access control",
            Scope::Account,
        )
    },
    KindSpec {
        view: Some("cloudfront_distributions/{account}/origin_access_identities.json"),
        ..KindSpec::new(
            "aws.cloudfront.origin_access_identity",
            "cloudfront",
            "origin access identity",
            Scope::Account,
        )
    },
    KindSpec {
        view: Some("cloudfront_distributions/{account}/key_groups.json"),
        volatile: &["/LastModifiedTime"],
        ..KindSpec::new(
            "aws.cloudfront.key_group",
            "cloudfront",
            "key group",
            Scope::Account,
        )
    },
    KindSpec {
        view: Some("cloudfront_distributions/{account}/public_keys.json"),
        ..KindSpec::new(
            "aws.cloudfront.public_key",
            "cloudfront",
            "public key",
            Scope::Account,
        )
    },
    // ---- Route53 ----
    KindSpec {
        doc: Some("route53_zones/{account}/{label}_{id}/zone.json"),
        default_part: Some("route53_zones/{account}/{label}_{id}/{part}"),
        // records.json and the BIND file show the zone's record sets, which a diff compares one
        // by one (aws.route53.record_set).
        volatile_parts: &["records.json", "*.zone"],
        sets: &["/Tags", "/VPCs", "/DelegationSet/NameServers"],
        // A zone created again (by restore) has a new id, caller reference and name servers.
        identity: &[
            "/HostedZone/Id",
            "/HostedZone/CallerReference",
            "/DelegationSet",
        ],
        scan: &[""],
        scan_parts: true,
        ..KindSpec::new("aws.route53.zone", "route53", "zone", Scope::Account)
    },
    KindSpec {
        // id: `<zone id>/<name>/<type>[/<set identifier>]`, the name as Route53 gives it
        // (lower-case, final dot). No file and no view of its own: the zone's `records.json` part
        // already lists every record set; the documents are in the store and the catalog, so a
        // diff compares record sets one by one.
        sets: &["/ResourceRecords"],
        scan: &[""],
        ..KindSpec::new(
            "aws.route53.record_set",
            "route53",
            "record set",
            Scope::Account,
        )
    },
    KindSpec {
        view: Some("route53_zones/{account}/health_checks.json"),
        volatile: &["/HealthCheck/HealthCheckVersion"],
        scan: &[""],
        ..KindSpec::new(
            "aws.route53.health_check",
            "route53",
            "health check",
            Scope::Account,
        )
    },
    // ---- DynamoDB ----
    KindSpec {
        doc: Some("dynamodb_tables/{account}/{region}/{id}/table.json"),
        default_part: Some("dynamodb_tables/{account}/{region}/{id}/{part}"),
        volatile_parts: &["stats.json", "manifest-summary.json", "manifest-files.json"],
        sets: &[
            "/AttributeDefinitions",
            "/GlobalSecondaryIndexes",
            "/LocalSecondaryIndexes",
            "/Tags",
            "/Replicas",
        ],
        scan: &["/Tags"],
        identity: &[
            "/TableId",
            "/CreationDateTime",
            "/LatestStreamArn",
            "/LatestStreamLabel",
        ],
        ..KindSpec::new("aws.dynamodb.table", "dynamodb", "table", Scope::Regional)
    },
    // ---- IAM ----
    KindSpec {
        doc: Some("iam/{account}/roles/{id}.json"),
        volatile: &["/RoleLastUsed"],
        sets: &[
            "/AssumeRolePolicyDocument/Statement",
            "/AssumeRolePolicyDocument/Statement/*/Action",
            "/InlinePolicies/*/Statement",
            "/InlinePolicies/*/Statement/*/Action",
            "/InlinePolicies/*/Statement/*/Resource",
            "/AttachedManagedPolicies",
            "/Tags",
            "/InstanceProfiles",
        ],
        identity: &["/RoleId", "/CreateDate"],
        ..KindSpec::new("aws.iam.role", "iam", "role", Scope::Account)
    },
    KindSpec {
        doc: Some("iam/{account}/policies/{id}.json"),
        // The version history: only the default version's document is captured and compared;
        // a restore makes it a new default version under a new id.
        volatile: &[
            "/UpdateDate",
            "/AttachmentCount",
            "/DefaultVersionId",
            "/Versions",
        ],
        identity: &["/PolicyId", "/CreateDate"],
        sets: &[
            "/DefaultVersionDocument/Statement",
            "/DefaultVersionDocument/Statement/*/Action",
            "/DefaultVersionDocument/Statement/*/Resource",
            "/Tags",
        ],
        ..KindSpec::new("aws.iam.policy", "iam", "policy", Scope::Account)
    },
    KindSpec {
        doc: Some("iam/{account}/users/{id}.json"),
        volatile: &["/PasswordLastUsed", "/AccessKeys/*/LastUsed"],
        sets: &[
            "/Groups",
            "/AttachedManagedPolicies",
            "/InlinePolicies/*/Statement",
            "/Tags",
            "/AccessKeys",
            "/MFADevices",
        ],
        identity: &["/UserId", "/CreateDate"],
        ..KindSpec::new("aws.iam.user", "iam", "user", Scope::Account)
    },
    KindSpec {
        doc: Some("iam/{account}/groups/{id}.json"),
        sets: &[
            "/Members",
            "/AttachedManagedPolicies",
            "/InlinePolicies/*/Statement",
        ],
        identity: &["/GroupId", "/CreateDate"],
        ..KindSpec::new("aws.iam.group", "iam", "group", Scope::Account)
    },
    KindSpec {
        // id: `credential_report`, one per account: GetCredentialReport's CSV as a part and its
        // rows as the document `{"GeneratedTime", "Rows": [{column: value}]}`, by user.
        doc: Some("iam/{account}/{id}.json"),
        parts: &[("credential_report.csv", "iam/{account}/{id}.csv")],
        volatile: &[
            "/GeneratedTime",
            "/Rows/*/password_last_used",
            "/Rows/*/access_key_1_last_used_date",
            "/Rows/*/access_key_1_last_used_region",
            "/Rows/*/access_key_1_last_used_service",
            "/Rows/*/access_key_2_last_used_date",
            "/Rows/*/access_key_2_last_used_region",
            "/Rows/*/access_key_2_last_used_service",
        ],
        volatile_parts: &["credential_report.csv"],
        ..KindSpec::new(
            "aws.iam.credential_report",
            "iam",
            "credential report",
            Scope::Account,
        )
    },
    KindSpec {
        view: Some("iam/{account}/instance_profiles.json"),
        sets: &["/Roles"],
        identity: &[
            "/InstanceProfileId",
            "/CreateDate",
            "/Roles/*/RoleId",
            "/Roles/*/CreateDate",
        ],
        ..KindSpec::new(
            "aws.iam.instance_profile",
            "iam",
            "instance profile",
            Scope::Account,
        )
    },
    KindSpec {
        view: Some("iam/{account}/oidc_providers.json"),
        sets: &["/ClientIDList", "/ThumbprintList"],
        ..KindSpec::new(
            "aws.iam.oidc_provider",
            "iam",
            "OIDC provider",
            Scope::Account,
        )
    },
    KindSpec {
        view: Some("iam/{account}/saml_providers.json"),
        ..KindSpec::new(
            "aws.iam.saml_provider",
            "iam",
            "SAML provider",
            Scope::Account,
        )
    },
    // ---- ACM ----
    KindSpec {
        doc: Some("acm_certificates/{account}/{region}/{id}.json"),
        parts: &[(
            "certificate.pem",
            "acm_certificates/{account}/{region}/{id}.pem",
        )],
        volatile: &["/RenewalSummary/UpdatedAt"],
        // A certificate imported again (into its ARN, by restore or a rotation) is stamped anew.
        identity: &["/CreatedAt", "/ImportedAt"],
        sets: &[
            "/SubjectAlternativeNames",
            "/InUseBy",
            "/Tags",
            "/DomainValidationOptions",
        ],
        ..KindSpec::new("aws.acm.certificate", "acm", "certificate", Scope::Regional)
    },
    // ---- SES ----
    KindSpec {
        view: Some("ses/{account}/{region}/identities.json"),
        ..KindSpec::new("aws.ses.identity", "ses", "identity", Scope::Regional)
    },
    KindSpec {
        view: Some("ses/{account}/{region}/configuration_sets.json"),
        ..KindSpec::new(
            "aws.ses.configuration_set",
            "ses",
            "configuration set",
            Scope::Regional,
        )
    },
    KindSpec {
        doc: Some("ses/{account}/{region}/templates/{id}.json"),
        ..KindSpec::new("aws.ses.template", "ses", "template", Scope::Regional)
    },
    KindSpec {
        doc: Some("ses/{account}/{region}/{id}.json"), // id: `account`
        ..KindSpec::new("aws.ses.account", "ses", "account setting", Scope::Regional)
    },
    // ---- SSM and Secrets Manager ----
    KindSpec {
        // No `sensitive` pointer: a String or StringList value is configuration, handed over
        // with its secret-shaped parts (or, for a secret-named parameter, the whole value)
        // already replaced by markers; a SecureString value never comes (ValueFingerprint).
        view: Some("ssm_parameters/{account}/{region}/parameters.json"),
        // --keep-secrets: the value, encrypted (infrasnap_core::kept).
        parts: &[(
            "kept.age",
            "ssm_parameters/{account}/{region}/kept_secrets/{id}.age",
        )],
        // A value written again (restore) makes a new version: what it is stays comparable by
        // Value or ValueFingerprint.
        volatile: &[
            "/LastModifiedDate",
            "/LastModifiedUser",
            "/Version",
            "/ValueVersion",
        ],
        ..KindSpec::new("aws.ssm.parameter", "ssm", "parameter", Scope::Regional)
    },
    KindSpec {
        view: Some("secrets_manager/{account}/{region}/secrets.json"),
        // --keep-secrets: the current value, encrypted (infrasnap_core::kept).
        parts: &[(
            "kept.age",
            "secrets_manager/{account}/{region}/kept_secrets/{id}.age",
        )],
        // A secret created again (restore) gets a new ARN suffix, creation date and version
        // ids; what it holds stays comparable by ValueFingerprint.
        volatile: &[
            "/LastAccessedDate",
            "/LastChangedDate",
            "/ARN",
            "/CreatedDate",
            "/VersionIdsToStages",
            "/ValueVersionId",
        ],
        ..KindSpec::new(
            "aws.secretsmanager.secret",
            "ssm",
            "secret",
            Scope::Regional,
        )
    },
    KindSpec {
        // id: `last_accessed`; one per region with secrets: `{"Region", "LastAccessedDate":
        // {name: date}}`. Reading a secret's value (a snapshot does) moves it: volatile.
        doc: Some("secrets_manager/{account}/{region}/{id}.json"),
        volatile: &["/LastAccessedDate"],
        ..KindSpec::new(
            "aws.secretsmanager.last_accessed",
            "ssm",
            "secret access dates",
            Scope::Regional,
        )
    },
    // ---- API Gateway ----
    KindSpec {
        // id: the REST API id. Parts: `export_<stage>.json`.
        doc: Some("api_gateway/{account}/{region}/rest_apis/{id}/api.json"),
        default_part: Some("api_gateway/{account}/{region}/rest_apis/{id}/{part}"),
        // Resource ids: a resource is its path; an API overwritten by PutRestApi (restore) gets
        // new ids for the same paths.
        volatile: &[
            "/stages/*/cacheClusterStatus",
            "/restApi/rootResourceId",
            "/resources/*/id",
            "/resources/*/parentId",
        ],
        sensitive: &[
            "/stages/*/variables/*",
            "/stages/*/canarySettings/stageVariableOverrides/*",
        ],
        ..KindSpec::new(
            "aws.apigateway.rest_api",
            "apigateway",
            "REST API",
            Scope::Regional,
        )
    },
    KindSpec {
        // id: the API id. Part: `export.json`.
        doc: Some("api_gateway/{account}/{region}/http_apis/{id}/api.json"),
        default_part: Some("api_gateway/{account}/{region}/http_apis/{id}/{part}"),
        sensitive: &["/Stages/*/StageVariables/*"],
        // A route is its key; one created again by restore gets a new id.
        volatile: &["/Routes/*/RouteId"],
        ..KindSpec::new(
            "aws.apigatewayv2.api",
            "apigateway",
            "HTTP/WebSocket API",
            Scope::Regional,
        )
    },
    KindSpec {
        // id: the domain name (`<name>+<domainNameId>` for a private one); one resource holds
        // the v1 view (`v1`) and the v2 view (`v2`) of it.
        view: Some("api_gateway/{account}/{region}/domain_names.json"),
        volatile: &[
            "/v1/domainNameStatus",
            "/v1/domainNameStatusMessage",
            "/v2/DomainNameConfigurations/*/DomainNameStatus",
            "/v2/DomainNameConfigurations/*/DomainNameStatusMessage",
        ],
        ..KindSpec::new(
            "aws.apigateway.domain_name",
            "apigateway",
            "domain name",
            Scope::Regional,
        )
    },
    KindSpec {
        // id: the usage plan id.
        view: Some("api_gateway/{account}/{region}/usage_plans.json"),
        ..KindSpec::new(
            "aws.apigateway.usage_plan",
            "apigateway",
            "usage plan",
            Scope::Regional,
        )
    },
    KindSpec {
        // id: the API key id (never its value).
        view: Some("api_gateway/{account}/{region}/api_keys.json"),
        volatile: &["/lastUpdatedDate"],
        ..KindSpec::new(
            "aws.apigateway.api_key",
            "apigateway",
            "API key",
            Scope::Regional,
        )
    },
    // ---- Lightsail ----
    KindSpec {
        // id: the instance name.
        doc: Some("lightsail/{account}/{region}/instances/{id}.json"),
        ..KindSpec::new(
            "aws.lightsail.instance",
            "lightsail",
            "instance",
            Scope::Regional,
        )
    },
    KindSpec {
        // id: the disk name.
        view: Some("lightsail/{account}/{region}/disks.json"),
        ..KindSpec::new("aws.lightsail.disk", "lightsail", "disk", Scope::Regional)
    },
    KindSpec {
        // id: the static IP's name.
        view: Some("lightsail/{account}/{region}/static_ips.json"),
        ..KindSpec::new(
            "aws.lightsail.static_ip",
            "lightsail",
            "static IP",
            Scope::Regional,
        )
    },
    KindSpec {
        // id: the snapshot name.
        view: Some("lightsail/{account}/{region}/instance_snapshots.json"),
        volatile: &["/progress", "/state"],
        ..KindSpec::new(
            "aws.lightsail.instance_snapshot",
            "lightsail",
            "instance snapshot",
            Scope::Regional,
        )
    },
    KindSpec {
        // id: the snapshot name.
        view: Some("lightsail/{account}/{region}/disk_snapshots.json"),
        volatile: &["/progress", "/state"],
        ..KindSpec::new(
            "aws.lightsail.disk_snapshot",
            "lightsail",
            "disk snapshot",
            Scope::Regional,
        )
    },
    KindSpec {
        // id: `created_snapshots`, one per region (with --lightsail-snapshot): the native
        // snapshots this run asked for. It names this run, so all of it is volatile: never a
        // change in a diff.
        doc: Some("lightsail/{account}/{region}/{id}.json"),
        volatile: &["/infrasnapSnapshot", "/waitSeconds", "/instanceSnapshots"],
        ..KindSpec::new(
            "aws.lightsail.created_snapshots",
            "lightsail",
            "native snapshot record",
            Scope::Regional,
        )
    },
    // ---- Load balancers ----
    KindSpec {
        // id: the load balancer's name (unique per account and region).
        doc: Some("elb/{account}/{region}/{id}.json"),
        volatile: &["/State"],
        sets: &[
            "/AvailabilityZones",
            "/SecurityGroups",
            "/TargetGroups",
            "/Tags",
        ],
        scan: &["/Tags"],
        ..KindSpec::new(
            "aws.elbv2.load_balancer",
            "elb",
            "load balancer",
            Scope::Regional,
        )
    },
    // ---- Elastic Beanstalk ----
    KindSpec {
        // id: the environment's name (unique per account and region).
        view: Some("elasticbeanstalk/{account}/{region}/environments.json"),
        volatile: &["/DateUpdated", "/Health", "/HealthStatus"],
        ..KindSpec::new(
            "aws.elasticbeanstalk.environment",
            "elasticbeanstalk",
            "environment",
            Scope::Regional,
        )
    },
    // ---- Google Apps Script ----
    KindSpec {
        // id: the script id; label: the config's name, else the title. Parts: the files in
        // clasp's layout (`Code.gs`, `lib/util.gs`, `.clasp.json`, `.claspignore`,
        // `versions/<n>/...`), `versions.json`, `deployments.json`, `redactions.json`.
        doc: Some("gas_projects/{label}_{id}/project.json"),
        default_part: Some("gas_projects/{label}_{id}/{part}"),
        volatile: &["/updateTime"],
        ..KindSpec::new("gas.project", "gas", "Apps Script project", Scope::Local)
    },
    // ---- Local sources ----
    // id: the `[[local]]` source's name. Parts: `repo.bundle`, `staged.patch`,
    // `unstaged.patch`, `RESTORE.md`, `secrets_manifest.json`, `redactions.json`, and the part
    // folders `untracked`, `conflicted`, `kept_secrets` whose files are listed in the index.
    KindSpec {
        doc: Some("local_repos/{id}/state.json"),
        default_part: Some("local_repos/{id}/{part}"),
        index: Some("index/local/{id}.jsonl"),
        ..KindSpec::new("local.git", "local", "git repository", Scope::Local)
    },
    // id: the source's name. Parts: `secrets_manifest.json`, `redactions.json`, the part folders
    // `files` and `kept_secrets` (files listed in the index).
    KindSpec {
        doc: Some("local_repos/{id}/folder.json"),
        default_part: Some("local_repos/{id}/{part}"),
        index: Some("index/local/{id}.jsonl"),
        ..KindSpec::new("local.folder", "local", "folder", Scope::Local)
    },
    KindSpec {
        // id: `launchd:<file name>`, `systemd:<unit name>`, `crontab`. Its one file is the part
        // named by its place under agents/ (`LaunchAgents/com.acme.deploy.plist`,
        // `systemd/backup.timer`, `crontab`; `kept_secrets/<that>.age` for a kept original), so
        // the tree keeps the names people know. The part names carry the agent's file name,
        // which is what its id is made of: two agents never share a path.
        view: Some("local_repos/agents/agents.json"),
        default_part: Some("local_repos/agents/{part}"),
        volatile: &["/mtime"],
        ..KindSpec::new("local.agent", "local", "agent", Scope::Local)
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_declared_once_and_placed_by_its_id() {
        let mut seen = std::collections::HashSet::new();
        for k in KINDS {
            assert!(seen.insert(k.kind), "{} declared twice", k.kind);
            // Shown in the tree by a document, a view or its parts (record sets: by their zone).
            assert!(
                k.doc.is_some()
                    || k.view.is_some()
                    || !k.parts.is_empty()
                    || k.kind == "aws.route53.record_set",
                "{}",
                k.kind
            );
            let templates = k.doc.iter().chain(k.parts.iter().map(|(_, t)| t));
            for t in templates.chain(k.default_part.iter()).chain(k.index.iter()) {
                // local.agent: its part names are its file's place, made of its id (see there).
                let named_by_part = k.kind == "local.agent" && t.ends_with("/{part}");
                assert!(
                    t.contains("{id}") || named_by_part,
                    "{}: {t} has no {{id}}",
                    k.kind
                );
                match k.scope {
                    Scope::Account | Scope::Regional => assert!(t.contains("{account}"), "{t}"),
                    Scope::Global | Scope::Local => assert!(!t.contains("{account}"), "{t}"),
                }
                assert_eq!(t.contains("{region}"), k.scope == Scope::Regional, "{t}");
            }
            if let Some(t) = k.default_part {
                assert!(t.contains("{part}"), "{t}");
            }
            for p in k
                .volatile
                .iter()
                .chain(k.sensitive)
                .chain(k.sets)
                .chain(k.scan.iter().filter(|p| !p.is_empty()))
            {
                assert!(p.starts_with('/'), "{}: pointer {p}", k.kind);
            }
        }
    }
}
