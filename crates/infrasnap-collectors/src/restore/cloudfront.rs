//! CloudFront writer: distributions, CloudFront Functions, cache / origin request / response
//! headers policies, origin access controls and identities, public keys and key groups (global:
//! signed for us-east-1).
//!
//! The snapshot keeps each configuration as the service's own XML turned into API-shaped JSON
//! (`aws/cloudfront/xml.rs`), every field included. The writer sends that shape back: the JSON is
//! written as the request's XML body ([`xml_body`], in the element order of the CloudFront model,
//! [`SCHEMA`], taken from the SDK's serializers) and put in place of the SDK's own body by an
//! interceptor ([`XmlBody`]) before signing, so the SDK still resolves the endpoint, signs,
//! retries and reads the answer. Members the model does not know are not sent.
//!
//! - Distribution, update: GetDistributionConfig for a fresh ETag and the live CallerReference
//!   (it cannot change), then UpdateDistribution with If-Match; tags made the snapshot's.
//! - Distribution, create: CreateDistribution(WithTags) from the snapshot's DistributionConfig
//!   with a fresh CallerReference made from the step (the same on a rerun, so an apply that died
//!   after CloudFront made it does not make a second one: DistributionAlreadyExists is done). Ids
//!   of policies and origin access controls that were made again ([`Step::refs`]) are replaced by
//!   the id the live one of that name has, and the ARN of an ACM certificate imported again (or
//!   requested again) by the live one's ([`super::acm::live_certificate`]); an update does the
//!   same, so a distribution whose certificate was re-imported is pointed at it.
//! - Distribution, delete (`--delete-extra`): disabled first (UpdateDistribution Enabled=false),
//!   then, once CloudFront reports it Deployed (polled, up to [`DEPLOY_WAIT`]), deleted with the
//!   ETag of the disabled config.
//! - Function: CreateFunction or UpdateFunction (If-Match from DescribeFunction) with the
//!   snapshot's code part and config; when the snapshot had a LIVE stage, PublishFunction
//!   (If-Match from DescribeFunction again), then the DEVELOPMENT code when it differed from
//!   LIVE.
//! - Policies and origin access controls: Create (an existing one of the same name, left by a
//!   killed apply, is updated instead), or Get for the ETag then Update with If-Match; Delete
//!   with If-Match.
//! - Origin access identities, public keys, key groups ([`identities`]): the same, with a fresh
//!   CallerReference for a create (a public key's EncodedKey from the snapshot); a key group's
//!   public keys made again are named by their new ids.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::{
    CachePolicyType, FunctionConfig, FunctionRuntime, FunctionStage, KeyValueStoreAssociation,
    KeyValueStoreAssociations, OriginRequestPolicyType, ResponseHeadersPolicyType, Tag, TagKeys,
    Tags,
};
use aws_sdk_cloudfront::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use infrasnap_core::restore::plan::{ref_sites, DISTRIBUTION, KEY_GROUP, OAI, PUBLIC_KEY};
use infrasnap_core::restore::{Action, Step};
use serde_json::Value;

use super::{Context, WriteError};

mod identities;

pub const FUNCTION: &str = "aws.cloudfront.function";
pub const CACHE_POLICY: &str = "aws.cloudfront.cache_policy";
pub const ORIGIN_REQUEST_POLICY: &str = "aws.cloudfront.origin_request_policy";
pub const RESPONSE_HEADERS_POLICY: &str = "aws.cloudfront.response_headers_policy";
pub const ORIGIN_ACCESS_CONTROL: &str = "aws.cloudfront.origin_access_control";
pub const ORIGIN_ACCESS_IDENTITY: &str = OAI;

/// The kinds this writer restores.
pub const KINDS: &[&str] = &[
    DISTRIBUTION,
    FUNCTION,
    CACHE_POLICY,
    ORIGIN_REQUEST_POLICY,
    RESPONSE_HEADERS_POLICY,
    ORIGIN_ACCESS_CONTROL,
    ORIGIN_ACCESS_IDENTITY,
    PUBLIC_KEY,
    KEY_GROUP,
];

/// How long a distribution deleted with `--delete-extra` may take to deploy its disabling.
pub const DEPLOY_WAIT: Duration = Duration::from_secs(45 * 60);

const NS: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";

fn client(cx: &Context) -> Client {
    let conf = aws_sdk_cloudfront::config::Builder::from(&cx.sdk)
        .region(aws_sdk_cloudfront::config::Region::new("us-east-1"))
        .build();
    Client::from_conf(conf)
}

/// Puts a request body written by [`xml_body`] in place of the SDK's (before signing, so the
/// signature covers it).
#[derive(Debug, Clone)]
pub struct XmlBody(Arc<String>);

impl XmlBody {
    pub fn new(xml: String) -> Self {
        XmlBody(Arc::new(xml))
    }
}

impl Intercept for XmlBody {
    fn name(&self) -> &'static str {
        "infrasnap-xml-body"
    }
    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = context.request_mut();
        req.headers_mut()
            .insert("content-length", self.0.len().to_string());
        req.headers_mut().insert("content-type", "application/xml");
        *req.body_mut() = SdkBody::from(self.0.as_bytes().to_vec());
        Ok(())
    }
}

/// The XML request body whose root element is `root` (a CloudFront model structure:
/// `DistributionConfig`, `CachePolicyConfig`, ...) from its API-shaped JSON.
pub fn xml_body(root: &str, v: &Value) -> Result<String, WriteError> {
    let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    out.push_str(&format!(r#"<{root} xmlns="{NS}">"#));
    write_struct(&mut out, root, v)?;
    out.push_str(&format!("</{root}>"));
    Ok(out)
}

fn members(ty: &str) -> Result<&'static [(&'static str, M)], WriteError> {
    SCHEMA
        .iter()
        .find(|(t, _)| *t == ty)
        .map(|(_, m)| *m)
        .ok_or_else(|| WriteError::new(format!("no CloudFront XML shape named {ty}")))
}

fn write_struct(out: &mut String, ty: &str, v: &Value) -> Result<(), WriteError> {
    for (el, m) in members(ty)? {
        let Some(x) = v.get(*el).filter(|x| !x.is_null()) else {
            continue;
        };
        match m {
            M::S => scalar(out, el, x)?,
            M::T(t) => {
                out.push_str(&format!("<{el}>"));
                write_struct(out, t, x)?;
                out.push_str(&format!("</{el}>"));
            }
            M::L(item, t) => {
                let items: Vec<&Value> = match x {
                    Value::Array(a) => a.iter().collect(),
                    Value::Object(o) => match o.get(*item) {
                        Some(Value::Array(a)) => a.iter().collect(),
                        Some(y) => vec![y],
                        None => Vec::new(),
                    },
                    _ => Vec::new(),
                };
                out.push_str(&format!("<{el}>"));
                for it in items {
                    match t {
                        Some(t) => {
                            out.push_str(&format!("<{item}>"));
                            write_struct(out, t, it)?;
                            out.push_str(&format!("</{item}>"));
                        }
                        None => scalar(out, item, it)?,
                    }
                }
                out.push_str(&format!("</{el}>"));
            }
        }
    }
    Ok(())
}

fn scalar(out: &mut String, el: &str, v: &Value) -> Result<(), WriteError> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => {
            return Err(WriteError::new(format!(
                "<{el}> should hold a value, the snapshot has {other}"
            )))
        }
    };
    out.push_str(&format!("<{el}>"));
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out.push_str(&format!("</{el}>"));
    Ok(())
}

/// An SDK error's code, if any.
fn code<E, R>(e: &aws_sdk_cloudfront::error::SdkError<E, R>) -> Option<String>
where
    E: aws_sdk_cloudfront::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|s| s.code())
        .map(str::to_string)
}

fn s(v: &Value, p: &str) -> Option<String> {
    v.pointer(p).and_then(Value::as_str).map(str::to_string)
}

/// Write one CloudFront step.
pub async fn write(cx: &Context, step: &Step) -> Result<(), WriteError> {
    let c = client(cx);
    match step.target.kind.as_str() {
        DISTRIBUTION => distribution(cx, &c, step).await,
        FUNCTION => function(cx, &c, step).await,
        OAI => identities::origin_access_identity(cx, &c, step).await,
        PUBLIC_KEY => identities::public_key(cx, &c, step).await,
        KEY_GROUP => identities::key_group(cx, &c, step).await,
        _ => config_resource(cx, &c, step).await,
    }
}

// ---- Distributions.

/// The CallerReference of a distribution a step creates: new for each plan step, the same when
/// the step runs again.
fn caller_reference(step: &Step) -> String {
    let seed = format!(
        "{}|{}|{}",
        step.target,
        step.want.as_deref().unwrap_or_default(),
        step.n
    );
    let h = blake3::hash(seed.as_bytes()).to_hex();
    format!("infrasnap-restore-{}", &h[..24])
}

/// Put in the document (a distribution's, a key group's) the live ids of the resources the step
/// references by name.
async fn resolve_refs(
    cx: &Context,
    c: &Client,
    step: &Step,
    doc: &mut Value,
) -> Result<(), WriteError> {
    for r in &step.refs {
        let found = if r.id.kind == infrasnap_core::restore::acm::CERTIFICATE {
            super::acm::live_certificate(cx, &r.id.region, &r.name).await?
        } else {
            live_id_by_name(c, &r.id.kind, &r.name).await?
        };
        let new = found.ok_or_else(|| {
            WriteError::new(format!(
                "it uses the {} `{}` (id {}), which is not there live{}: restore it first",
                r.id.kind,
                r.name,
                r.id.id,
                match r.step {
                    Some(n) => format!(" (step {n} of this plan makes it again)"),
                    None => " and this plan does not make it again".into(),
                }
            ))
        })?;
        ref_sites(&step.target.kind, doc, |_, kind, _, v| {
            if kind == r.id.kind && v.as_str() == Some(r.id.id.as_str()) {
                *v = Value::String(new.clone());
            }
        });
    }
    Ok(())
}

/// The snapshot's tags of a distribution (`Tags.Items`).
fn tags_of(doc: &Value) -> Vec<Tag> {
    doc.pointer("/Tags/Items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Tag::builder()
                .key(s(t, "/Key")?)
                .set_value(s(t, "/Value"))
                .build()
                .ok()
        })
        .collect()
}

async fn distribution(cx: &Context, c: &Client, step: &Step) -> Result<(), WriteError> {
    let id = step.target.id.as_str();
    let call = |op: &str| format!("cloudfront:{op} {id}");
    if matches!(step.action, Action::Delete) {
        return delete_distribution(c, id).await;
    }
    let mut doc = cx.document(step)?;
    resolve_refs(cx, c, step, &mut doc).await?;
    let mut config = doc
        .get("DistributionConfig")
        .cloned()
        .ok_or_else(|| WriteError::new("the snapshot has no DistributionConfig for it"))?;
    let tags = tags_of(&doc);
    if matches!(step.action, Action::Create { .. }) {
        config["CallerReference"] = Value::String(caller_reference(step));
        let sent = if tags.is_empty() {
            let body = xml_body("DistributionConfig", &config)?;
            c.create_distribution()
                .customize()
                .interceptor(XmlBody::new(body))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (code(&e), WriteError::sdk(&call("CreateDistribution"), &e)))
        } else {
            let with_tags = serde_json::json!({
                "DistributionConfig": config,
                "Tags": doc.get("Tags").cloned().unwrap_or_default(),
            });
            let body = xml_body("DistributionConfigWithTags", &with_tags)?;
            c.create_distribution_with_tags()
                .customize()
                .interceptor(XmlBody::new(body))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    (
                        code(&e),
                        WriteError::sdk(&call("CreateDistributionWithTags"), &e),
                    )
                })
        };
        return match sent {
            Ok(()) => Ok(()),
            // Made by an earlier run of this step (the same CallerReference).
            Err((Some(c), _)) if c == "DistributionAlreadyExists" => Ok(()),
            Err((Some(c), e)) if c == "CNAMEAlreadyExists" => Err(WriteError::new(format!(
                "{}; another distribution holds one of its aliases now: plan again to see which",
                e.message
            ))),
            Err((_, e)) => Err(e),
        };
    }
    // Update: If-Match with a fresh ETag; the CallerReference stays the live one.
    let live = c
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&call("GetDistributionConfig"), &e))?;
    let etag = live.e_tag().unwrap_or_default().to_string();
    if let Some(r) = live.distribution_config().map(|d| d.caller_reference()) {
        config["CallerReference"] = Value::String(r.to_string());
    }
    let body = xml_body("DistributionConfig", &config)?;
    c.update_distribution()
        .id(id)
        .if_match(etag)
        .customize()
        .interceptor(XmlBody::new(body))
        .send()
        .await
        .map_err(|e| WriteError::sdk(&call("UpdateDistribution"), &e))?;
    if let Some(arn) = s(&doc, "/ARN") {
        sync_tags(c, &arn, tags).await?;
    }
    Ok(())
}

/// Make the tags of `arn` exactly `want`.
async fn sync_tags(c: &Client, arn: &str, want: Vec<Tag>) -> Result<(), WriteError> {
    let live = c
        .list_tags_for_resource()
        .resource(arn)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("cloudfront:ListTagsForResource {arn}"), &e))?;
    let live: Vec<Tag> = live.tags().map(|t| t.items().to_vec()).unwrap_or_default();
    let extra: Vec<String> = live
        .iter()
        .map(|t| t.key().to_string())
        .filter(|k| !want.iter().any(|t| t.key() == k))
        .collect();
    if !extra.is_empty() {
        c.untag_resource()
            .resource(arn)
            .tag_keys(TagKeys::builder().set_items(Some(extra)).build())
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("cloudfront:UntagResource {arn}"), &e))?;
    }
    let missing = want.iter().any(|t| !live.contains(t));
    if missing {
        c.tag_resource()
            .resource(arn)
            .tags(Tags::builder().set_items(Some(want)).build())
            .send()
            .await
            .map_err(|e| WriteError::sdk(&format!("cloudfront:TagResource {arn}"), &e))?;
    }
    Ok(())
}

/// Disable, wait until deployed, delete.
async fn delete_distribution(c: &Client, id: &str) -> Result<(), WriteError> {
    let call = |op: &str| format!("cloudfront:{op} {id}");
    let got = c
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&call("GetDistributionConfig"), &e))?;
    let mut etag = got.e_tag().unwrap_or_default().to_string();
    let config = got
        .distribution_config()
        .ok_or_else(|| WriteError::new(format!("{id}: GetDistributionConfig without a config")))?;
    if config.enabled() {
        let mut disabled = config.clone();
        disabled.enabled = false;
        let out = c
            .update_distribution()
            .id(id)
            .if_match(&etag)
            .distribution_config(disabled)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("UpdateDistribution (disable)"), &e))?;
        etag = out.e_tag().unwrap_or_default().to_string();
    }
    let start = std::time::Instant::now();
    loop {
        let d = c
            .get_distribution()
            .id(id)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("GetDistribution"), &e))?;
        if d.distribution().map(|d| d.status()) == Some("Deployed") {
            etag = d.e_tag().unwrap_or(&etag).to_string();
            break;
        }
        if start.elapsed() > DEPLOY_WAIT {
            return Err(WriteError::new(format!(
                "{id} is disabled but CloudFront has not deployed that after {} minutes; delete \
                 it once it is Deployed (aws cloudfront delete-distribution --id {id} --if-match \
                 <its ETag>)",
                DEPLOY_WAIT.as_secs() / 60
            )));
        }
        tokio::time::sleep(Duration::from_secs(20)).await;
    }
    c.delete_distribution()
        .id(id)
        .if_match(etag)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&call("DeleteDistribution"), &e))?;
    Ok(())
}

// ---- CloudFront Functions.

/// A stage's FunctionConfig from the snapshot.
fn function_config(stage: &Value) -> Result<FunctionConfig, WriteError> {
    let kvs: Vec<KeyValueStoreAssociation> = stage
        .pointer("/FunctionConfig/KeyValueStoreAssociations/Items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            KeyValueStoreAssociation::builder()
                .key_value_store_arn(s(a, "/KeyValueStoreARN")?)
                .build()
                .ok()
        })
        .collect();
    let assoc = if kvs.is_empty() {
        None
    } else {
        Some(
            KeyValueStoreAssociations::builder()
                .quantity(kvs.len() as i32)
                .set_items(Some(kvs))
                .build()
                .map_err(|e| WriteError::new(e.to_string()))?,
        )
    };
    FunctionConfig::builder()
        .comment(s(stage, "/FunctionConfig/Comment").unwrap_or_default())
        .runtime(FunctionRuntime::from(
            s(stage, "/FunctionConfig/Runtime")
                .unwrap_or_else(|| "cloudfront-js-1.0".into())
                .as_str(),
        ))
        .set_key_value_store_associations(assoc)
        .build()
        .map_err(|e| WriteError::new(e.to_string()))
}

async fn function(cx: &Context, c: &Client, step: &Step) -> Result<(), WriteError> {
    let name = step.target.id.as_str();
    let call = |op: &str| format!("cloudfront:{op} {name}");
    let etag_of = |stage: FunctionStage| async move {
        c.describe_function()
            .name(name)
            .stage(stage)
            .send()
            .await
            .map(|o| o.e_tag().unwrap_or_default().to_string())
            .map_err(|e| WriteError::sdk(&call("DescribeFunction"), &e))
    };
    if matches!(step.action, Action::Delete) {
        let etag = etag_of(FunctionStage::Development).await?;
        c.delete_function()
            .name(name)
            .if_match(etag)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("DeleteFunction"), &e))?;
        return Ok(());
    }
    let doc = cx.document(step)?;
    let dev = doc.pointer("/Stages/DEVELOPMENT");
    let live = doc.pointer("/Stages/LIVE");
    let code = |part: &str| -> Result<Vec<u8>, WriteError> {
        let blob = step.parts.get(part).ok_or_else(|| {
            WriteError::new(format!(
                "the snapshot has no {part} for this function (its code could not be read)"
            ))
        })?;
        let p = cx.blob_path(blob);
        std::fs::read(&p).map_err(|e| WriteError::new(format!("read {}: {e}", p.display())))
    };
    // `code.js` is DEVELOPMENT's code (LIVE's when LIVE is the only stage); `live.js` is LIVE's
    // when both were there. LIVE goes first (written, then published), DEVELOPMENT after.
    let (first, first_code) = match (live, dev) {
        (Some(l), Some(_)) => (l, code("live.js")?),
        (Some(l), None) => (l, code("code.js")?),
        (None, Some(d)) => (d, code("code.js")?),
        (None, None) => return Err(WriteError::new("the snapshot has no stage of it")),
    };
    if matches!(step.action, Action::Create { .. }) {
        let out = c
            .create_function()
            .name(name)
            .function_config(function_config(first)?)
            .function_code(Blob::new(first_code.clone()))
            .send()
            .await;
        match out {
            Ok(_) => {}
            // Made by an earlier run of this step: write it over.
            Err(e) if code_is(&e, "FunctionAlreadyExists") => {
                update_function(c, name, first, &first_code).await?;
            }
            Err(e) => return Err(WriteError::sdk(&call("CreateFunction"), &e)),
        }
    } else {
        update_function(c, name, first, &first_code).await?;
    }
    if live.is_some() {
        // PublishFunction wants the DEVELOPMENT stage's ETag from DescribeFunction (what
        // UpdateFunction answers carries it in a header named `ETtag`).
        let etag = etag_of(FunctionStage::Development).await?;
        c.publish_function()
            .name(name)
            .if_match(&etag)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("PublishFunction"), &e))?;
        if let Some(d) = dev {
            let dev_code = code("code.js")?;
            if dev_code != first_code || d.get("FunctionConfig") != first.get("FunctionConfig") {
                update_function(c, name, d, &dev_code).await?;
            }
        }
    }
    Ok(())
}

fn code_is<E, R>(e: &aws_sdk_cloudfront::error::SdkError<E, R>, want: &str) -> bool
where
    E: aws_sdk_cloudfront::error::ProvideErrorMetadata,
{
    code(e).as_deref() == Some(want)
}

/// UpdateFunction (DEVELOPMENT) with If-Match from DescribeFunction.
async fn update_function(
    c: &Client,
    name: &str,
    stage: &Value,
    code: &[u8],
) -> Result<(), WriteError> {
    let etag = c
        .describe_function()
        .name(name)
        .stage(FunctionStage::Development)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("cloudfront:DescribeFunction {name}"), &e))?
        .e_tag()
        .unwrap_or_default()
        .to_string();
    c.update_function()
        .name(name)
        .if_match(etag)
        .function_config(function_config(stage)?)
        .function_code(Blob::new(code.to_vec()))
        .send()
        .await
        .map_err(|e| WriteError::sdk(&format!("cloudfront:UpdateFunction {name}"), &e))?;
    Ok(())
}

// ---- Policies and origin access controls.

/// Where a kind's configuration is in its snapshot document, and its XML root element.
fn shape(kind: &str) -> Result<(&'static str, &'static str), WriteError> {
    Ok(match kind {
        CACHE_POLICY => ("CachePolicyConfig", "/CachePolicy/CachePolicyConfig"),
        ORIGIN_REQUEST_POLICY => (
            "OriginRequestPolicyConfig",
            "/OriginRequestPolicy/OriginRequestPolicyConfig",
        ),
        RESPONSE_HEADERS_POLICY => (
            "ResponseHeadersPolicyConfig",
            "/ResponseHeadersPolicy/ResponseHeadersPolicyConfig",
        ),
        ORIGIN_ACCESS_CONTROL => ("OriginAccessControlConfig", ""),
        k => return Err(WriteError::new(format!("no CloudFront writer for {k}"))),
    })
}

async fn config_resource(cx: &Context, c: &Client, step: &Step) -> Result<(), WriteError> {
    let kind = step.target.kind.as_str();
    let id = step.target.id.as_str();
    if matches!(step.action, Action::Delete) {
        let etag = etag_of(c, kind, id).await?;
        return delete(c, kind, id, etag).await;
    }
    let (root, ptr) = shape(kind)?;
    let doc = cx.document(step)?;
    let config = doc
        .pointer(ptr)
        .ok_or_else(|| WriteError::new(format!("the snapshot has no {root} for it")))?;
    let body = xml_body(root, config)?;
    let target = if matches!(step.action, Action::Create { .. }) {
        match create(c, kind, body.clone()).await {
            Ok(()) => return Ok(()),
            // The name is taken: made by an earlier run of this step, written over below.
            Err((Some(code), e)) if code.ends_with("AlreadyExists") => {
                let name = s(config, "/Name").unwrap_or_default();
                live_id_by_name(c, kind, &name).await?.ok_or(e)?
            }
            Err((_, e)) => return Err(e),
        }
    } else {
        id.to_string()
    };
    let etag = etag_of(c, kind, &target).await?;
    update(c, kind, &target, etag, body).await
}

type Sent = Result<(), (Option<String>, WriteError)>;

async fn create(c: &Client, kind: &str, body: String) -> Sent {
    let b = XmlBody::new(body);
    macro_rules! send {
        ($req:expr, $op:literal) => {
            $req.customize()
                .interceptor(b)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (code(&e), WriteError::sdk(concat!("cloudfront:", $op), &e)))
        };
    }
    match kind {
        CACHE_POLICY => send!(c.create_cache_policy(), "CreateCachePolicy"),
        ORIGIN_REQUEST_POLICY => send!(
            c.create_origin_request_policy(),
            "CreateOriginRequestPolicy"
        ),
        RESPONSE_HEADERS_POLICY => {
            send!(
                c.create_response_headers_policy(),
                "CreateResponseHeadersPolicy"
            )
        }
        _ => send!(
            c.create_origin_access_control(),
            "CreateOriginAccessControl"
        ),
    }
}

async fn etag_of(c: &Client, kind: &str, id: &str) -> Result<String, WriteError> {
    macro_rules! get {
        ($req:expr, $op:literal) => {
            $req.id(id)
                .send()
                .await
                .map(|o| o.e_tag().unwrap_or_default().to_string())
                .map_err(|e| WriteError::sdk(&format!(concat!("cloudfront:", $op, " {}"), id), &e))
        };
    }
    match kind {
        CACHE_POLICY => get!(c.get_cache_policy(), "GetCachePolicy"),
        ORIGIN_REQUEST_POLICY => get!(c.get_origin_request_policy(), "GetOriginRequestPolicy"),
        RESPONSE_HEADERS_POLICY => {
            get!(c.get_response_headers_policy(), "GetResponseHeadersPolicy")
        }
        _ => get!(c.get_origin_access_control(), "GetOriginAccessControl"),
    }
}

async fn update(
    c: &Client,
    kind: &str,
    id: &str,
    etag: String,
    body: String,
) -> Result<(), WriteError> {
    let b = XmlBody::new(body);
    macro_rules! send {
        ($req:expr, $op:literal) => {
            $req.id(id)
                .if_match(etag)
                .customize()
                .interceptor(b)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| WriteError::sdk(&format!(concat!("cloudfront:", $op, " {}"), id), &e))
        };
    }
    match kind {
        CACHE_POLICY => send!(c.update_cache_policy(), "UpdateCachePolicy"),
        ORIGIN_REQUEST_POLICY => send!(
            c.update_origin_request_policy(),
            "UpdateOriginRequestPolicy"
        ),
        RESPONSE_HEADERS_POLICY => {
            send!(
                c.update_response_headers_policy(),
                "UpdateResponseHeadersPolicy"
            )
        }
        _ => send!(
            c.update_origin_access_control(),
            "UpdateOriginAccessControl"
        ),
    }
}

async fn delete(c: &Client, kind: &str, id: &str, etag: String) -> Result<(), WriteError> {
    macro_rules! send {
        ($req:expr, $op:literal) => {
            $req.id(id)
                .if_match(etag)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| WriteError::sdk(&format!(concat!("cloudfront:", $op, " {}"), id), &e))
        };
    }
    match kind {
        CACHE_POLICY => send!(c.delete_cache_policy(), "DeleteCachePolicy"),
        ORIGIN_REQUEST_POLICY => send!(
            c.delete_origin_request_policy(),
            "DeleteOriginRequestPolicy"
        ),
        RESPONSE_HEADERS_POLICY => {
            send!(
                c.delete_response_headers_policy(),
                "DeleteResponseHeadersPolicy"
            )
        }
        _ => send!(
            c.delete_origin_access_control(),
            "DeleteOriginAccessControl"
        ),
    }
}

/// The id of the live custom policy, origin access control, key group or public key named
/// `name` (names are unique in an account), or of the origin access identity with the comment
/// `name` (see [`identities::oai_by_comment`]).
async fn live_id_by_name(c: &Client, kind: &str, name: &str) -> Result<Option<String>, WriteError> {
    if kind == OAI {
        return identities::oai_by_comment(c, name).await;
    }
    let mut marker: Option<String> = None;
    loop {
        let (found, next): (Option<String>, Option<String>) = match kind {
            CACHE_POLICY => {
                let o = c
                    .list_cache_policies()
                    .r#type(CachePolicyType::Custom)
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| WriteError::sdk("cloudfront:ListCachePolicies", &e))?;
                let l = o.cache_policy_list();
                (
                    l.map(|l| l.items())
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|i| i.cache_policy())
                        .find(|p| p.cache_policy_config().map(|c| c.name()) == Some(name))
                        .map(|p| p.id().to_string()),
                    l.and_then(|l| l.next_marker()).map(str::to_string),
                )
            }
            ORIGIN_REQUEST_POLICY => {
                let o = c
                    .list_origin_request_policies()
                    .r#type(OriginRequestPolicyType::Custom)
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| WriteError::sdk("cloudfront:ListOriginRequestPolicies", &e))?;
                let l = o.origin_request_policy_list();
                (
                    l.map(|l| l.items())
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|i| i.origin_request_policy())
                        .find(|p| p.origin_request_policy_config().map(|c| c.name()) == Some(name))
                        .map(|p| p.id().to_string()),
                    l.and_then(|l| l.next_marker()).map(str::to_string),
                )
            }
            RESPONSE_HEADERS_POLICY => {
                let o = c
                    .list_response_headers_policies()
                    .r#type(ResponseHeadersPolicyType::Custom)
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| WriteError::sdk("cloudfront:ListResponseHeadersPolicies", &e))?;
                let l = o.response_headers_policy_list();
                (
                    l.map(|l| l.items())
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|i| i.response_headers_policy())
                        .find(|p| {
                            p.response_headers_policy_config().map(|c| c.name()) == Some(name)
                        })
                        .map(|p| p.id().to_string()),
                    l.and_then(|l| l.next_marker()).map(str::to_string),
                )
            }
            ORIGIN_ACCESS_CONTROL => {
                let o = c
                    .list_origin_access_controls()
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| WriteError::sdk("cloudfront:ListOriginAccessControls", &e))?;
                let l = o.origin_access_control_list();
                (
                    l.map(|l| l.items())
                        .unwrap_or_default()
                        .iter()
                        .find(|p| p.name() == name)
                        .map(|p| p.id().to_string()),
                    l.and_then(|l| l.next_marker()).map(str::to_string),
                )
            }
            KEY_GROUP => {
                let o = c
                    .list_key_groups()
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| WriteError::sdk("cloudfront:ListKeyGroups", &e))?;
                let l = o.key_group_list();
                (
                    l.map(|l| l.items())
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|i| i.key_group())
                        .find(|g| g.key_group_config().map(|c| c.name()) == Some(name))
                        .map(|g| g.id().to_string()),
                    l.and_then(|l| l.next_marker()).map(str::to_string),
                )
            }
            PUBLIC_KEY => {
                let o = c
                    .list_public_keys()
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| WriteError::sdk("cloudfront:ListPublicKeys", &e))?;
                let l = o.public_key_list();
                (
                    l.map(|l| l.items())
                        .unwrap_or_default()
                        .iter()
                        .find(|k| k.name() == name)
                        .map(|k| k.id().to_string()),
                    l.and_then(|l| l.next_marker()).map(str::to_string),
                )
            }
            k => return Err(WriteError::new(format!("cannot look up a {k} by name"))),
        };
        if found.is_some() {
            return Ok(found);
        }
        match next.filter(|n| !n.is_empty() && Some(n) != marker.as_ref()) {
            Some(n) => marker = Some(n),
            None => return Ok(None),
        }
    }
}

// ---- The CloudFront model's request shapes.

/// A member of a structure: a value, a structure, or a list (its item element, and the item's
/// structure when items are structures).
#[derive(Debug, Clone, Copy)]
enum M {
    S,
    T(&'static str),
    L(&'static str, Option<&'static str>),
}
use M::{L, S, T};

/// Every structure a restore sends, its members in the order the model (and CloudFront's XML
/// schema) wants them. Generated from the `ser_*` functions of aws-sdk-cloudfront 1.141.0
/// (`src/protocol_serde/shape_*.rs`), for the roots DistributionConfig(WithTags),
/// CachePolicyConfig, OriginRequestPolicyConfig, ResponseHeadersPolicyConfig,
/// OriginAccessControlConfig, FunctionConfig, CloudFrontOriginAccessIdentityConfig.
#[rustfmt::skip]
static SCHEMA: &[(&str, &[(&str, M)])] = &[
    ("DistributionConfigWithTags", &[("DistributionConfig", T("DistributionConfig")), ("Tags", T("Tags"))]),
    ("DistributionConfig", &[("CallerReference", S), ("Aliases", T("Aliases")), ("DefaultRootObject", S), ("Origins", T("Origins")), ("OriginGroups", T("OriginGroups")), ("DefaultCacheBehavior", T("DefaultCacheBehavior")), ("CacheBehaviors", T("CacheBehaviors")), ("CustomErrorResponses", T("CustomErrorResponses")), ("Comment", S), ("Logging", T("LoggingConfig")), ("PriceClass", S), ("Enabled", S), ("ViewerCertificate", T("ViewerCertificate")), ("Restrictions", T("Restrictions")), ("WebACLId", S), ("HttpVersion", S), ("IsIPV6Enabled", S), ("ContinuousDeploymentPolicyId", S), ("Staging", S), ("AnycastIpListId", S), ("TenantConfig", T("TenantConfig")), ("ConnectionMode", S), ("ViewerMtlsConfig", T("ViewerMtlsConfig")), ("ConnectionFunctionAssociation", T("ConnectionFunctionAssociation")), ("CacheTagConfig", T("CacheTagConfig"))]),
    ("Aliases", &[("Quantity", S), ("Items", L("CNAME", None))]),
    ("Origins", &[("Quantity", S), ("Items", L("Origin", Some("Origin")))]),
    ("Origin", &[("Id", S), ("DomainName", S), ("OriginPath", S), ("CustomHeaders", T("CustomHeaders")), ("S3OriginConfig", T("S3OriginConfig")), ("CustomOriginConfig", T("CustomOriginConfig")), ("VpcOriginConfig", T("VpcOriginConfig")), ("ConnectionAttempts", S), ("ConnectionTimeout", S), ("ResponseCompletionTimeout", S), ("OriginShield", T("OriginShield")), ("OriginAccessControlId", S)]),
    ("CustomHeaders", &[("Quantity", S), ("Items", L("OriginCustomHeader", Some("OriginCustomHeader")))]),
    ("OriginCustomHeader", &[("HeaderName", S), ("HeaderValue", S)]),
    ("S3OriginConfig", &[("OriginAccessIdentity", S), ("OriginReadTimeout", S)]),
    ("CustomOriginConfig", &[("HTTPPort", S), ("HTTPSPort", S), ("OriginProtocolPolicy", S), ("OriginSslProtocols", T("OriginSslProtocols")), ("OriginReadTimeout", S), ("OriginKeepaliveTimeout", S), ("IpAddressType", S), ("OriginMtlsConfig", T("OriginMtlsConfig"))]),
    ("OriginSslProtocols", &[("Quantity", S), ("Items", L("SslProtocol", None))]),
    ("OriginMtlsConfig", &[("ClientCertificateArn", S)]),
    ("VpcOriginConfig", &[("VpcOriginId", S), ("OwnerAccountId", S), ("OriginReadTimeout", S), ("OriginKeepaliveTimeout", S)]),
    ("OriginShield", &[("Enabled", S), ("OriginShieldRegion", S)]),
    ("OriginGroups", &[("Quantity", S), ("Items", L("OriginGroup", Some("OriginGroup")))]),
    ("OriginGroup", &[("Id", S), ("FailoverCriteria", T("OriginGroupFailoverCriteria")), ("Members", T("OriginGroupMembers")), ("SelectionCriteria", S)]),
    ("OriginGroupFailoverCriteria", &[("StatusCodes", T("StatusCodes"))]),
    ("StatusCodes", &[("Quantity", S), ("Items", L("StatusCode", None))]),
    ("OriginGroupMembers", &[("Quantity", S), ("Items", L("OriginGroupMember", Some("OriginGroupMember")))]),
    ("OriginGroupMember", &[("OriginId", S)]),
    ("DefaultCacheBehavior", &[("TargetOriginId", S), ("TrustedSigners", T("TrustedSigners")), ("TrustedKeyGroups", T("TrustedKeyGroups")), ("ViewerProtocolPolicy", S), ("AllowedMethods", T("AllowedMethods")), ("SmoothStreaming", S), ("Compress", S), ("LambdaFunctionAssociations", T("LambdaFunctionAssociations")), ("FunctionAssociations", T("FunctionAssociations")), ("FieldLevelEncryptionId", S), ("RealtimeLogConfigArn", S), ("CachePolicyId", S), ("OriginRequestPolicyId", S), ("ResponseHeadersPolicyId", S), ("GrpcConfig", T("GrpcConfig")), ("ForwardedValues", T("ForwardedValues")), ("MinTTL", S), ("DefaultTTL", S), ("MaxTTL", S)]),
    ("TrustedSigners", &[("Enabled", S), ("Quantity", S), ("Items", L("AwsAccountNumber", None))]),
    ("TrustedKeyGroups", &[("Enabled", S), ("Quantity", S), ("Items", L("KeyGroup", None))]),
    ("AllowedMethods", &[("Quantity", S), ("Items", L("Method", None)), ("CachedMethods", T("CachedMethods"))]),
    ("CachedMethods", &[("Quantity", S), ("Items", L("Method", None))]),
    ("LambdaFunctionAssociations", &[("Quantity", S), ("Items", L("LambdaFunctionAssociation", Some("LambdaFunctionAssociation")))]),
    ("LambdaFunctionAssociation", &[("LambdaFunctionARN", S), ("EventType", S), ("IncludeBody", S)]),
    ("FunctionAssociations", &[("Quantity", S), ("Items", L("FunctionAssociation", Some("FunctionAssociation")))]),
    ("FunctionAssociation", &[("FunctionARN", S), ("EventType", S)]),
    ("GrpcConfig", &[("Enabled", S)]),
    ("ForwardedValues", &[("QueryString", S), ("Cookies", T("CookiePreference")), ("Headers", T("Headers")), ("QueryStringCacheKeys", T("QueryStringCacheKeys"))]),
    ("CookiePreference", &[("Forward", S), ("WhitelistedNames", T("CookieNames"))]),
    ("CookieNames", &[("Quantity", S), ("Items", L("Name", None))]),
    ("Headers", &[("Quantity", S), ("Items", L("Name", None))]),
    ("QueryStringCacheKeys", &[("Quantity", S), ("Items", L("Name", None))]),
    ("CacheBehaviors", &[("Quantity", S), ("Items", L("CacheBehavior", Some("CacheBehavior")))]),
    ("CacheBehavior", &[("PathPattern", S), ("TargetOriginId", S), ("TrustedSigners", T("TrustedSigners")), ("TrustedKeyGroups", T("TrustedKeyGroups")), ("ViewerProtocolPolicy", S), ("AllowedMethods", T("AllowedMethods")), ("SmoothStreaming", S), ("Compress", S), ("LambdaFunctionAssociations", T("LambdaFunctionAssociations")), ("FunctionAssociations", T("FunctionAssociations")), ("FieldLevelEncryptionId", S), ("RealtimeLogConfigArn", S), ("CachePolicyId", S), ("OriginRequestPolicyId", S), ("ResponseHeadersPolicyId", S), ("GrpcConfig", T("GrpcConfig")), ("ForwardedValues", T("ForwardedValues")), ("MinTTL", S), ("DefaultTTL", S), ("MaxTTL", S)]),
    ("CustomErrorResponses", &[("Quantity", S), ("Items", L("CustomErrorResponse", Some("CustomErrorResponse")))]),
    ("CustomErrorResponse", &[("ErrorCode", S), ("ResponsePagePath", S), ("ResponseCode", S), ("ErrorCachingMinTTL", S)]),
    ("LoggingConfig", &[("Enabled", S), ("IncludeCookies", S), ("Bucket", S), ("Prefix", S)]),
    ("ViewerCertificate", &[("CloudFrontDefaultCertificate", S), ("IAMCertificateId", S), ("ACMCertificateArn", S), ("SSLSupportMethod", S), ("MinimumProtocolVersion", S), ("Certificate", S), ("CertificateSource", S)]),
    ("Restrictions", &[("GeoRestriction", T("GeoRestriction"))]),
    ("GeoRestriction", &[("RestrictionType", S), ("Quantity", S), ("Items", L("Location", None))]),
    ("TenantConfig", &[("ParameterDefinitions", L("member", Some("ParameterDefinition")))]),
    ("ParameterDefinition", &[("Name", S), ("Definition", T("ParameterDefinitionSchema"))]),
    ("ParameterDefinitionSchema", &[("StringSchema", T("StringSchemaConfig"))]),
    ("StringSchemaConfig", &[("Comment", S), ("DefaultValue", S), ("Required", S)]),
    ("ViewerMtlsConfig", &[("Mode", S), ("TrustStoreConfig", T("TrustStoreConfig"))]),
    ("TrustStoreConfig", &[("TrustStoreId", S), ("AdvertiseTrustStoreCaNames", S), ("IgnoreCertificateExpiry", S)]),
    ("ConnectionFunctionAssociation", &[("Id", S)]),
    ("CacheTagConfig", &[("HeaderName", S)]),
    ("Tags", &[("Items", L("Tag", Some("Tag")))]),
    ("Tag", &[("Key", S), ("Value", S)]),
    ("CachePolicyConfig", &[("Comment", S), ("Name", S), ("DefaultTTL", S), ("MaxTTL", S), ("MinTTL", S), ("ParametersInCacheKeyAndForwardedToOrigin", T("ParametersInCacheKeyAndForwardedToOrigin"))]),
    ("ParametersInCacheKeyAndForwardedToOrigin", &[("EnableAcceptEncodingGzip", S), ("EnableAcceptEncodingBrotli", S), ("HeadersConfig", T("CachePolicyHeadersConfig")), ("CookiesConfig", T("CachePolicyCookiesConfig")), ("QueryStringsConfig", T("CachePolicyQueryStringsConfig"))]),
    ("CachePolicyHeadersConfig", &[("HeaderBehavior", S), ("Headers", T("Headers"))]),
    ("CachePolicyCookiesConfig", &[("CookieBehavior", S), ("Cookies", T("CookieNames"))]),
    ("CachePolicyQueryStringsConfig", &[("QueryStringBehavior", S), ("QueryStrings", T("QueryStringNames"))]),
    ("QueryStringNames", &[("Quantity", S), ("Items", L("Name", None))]),
    ("OriginRequestPolicyConfig", &[("Comment", S), ("Name", S), ("HeadersConfig", T("OriginRequestPolicyHeadersConfig")), ("CookiesConfig", T("OriginRequestPolicyCookiesConfig")), ("QueryStringsConfig", T("OriginRequestPolicyQueryStringsConfig"))]),
    ("OriginRequestPolicyHeadersConfig", &[("HeaderBehavior", S), ("Headers", T("Headers"))]),
    ("OriginRequestPolicyCookiesConfig", &[("CookieBehavior", S), ("Cookies", T("CookieNames"))]),
    ("OriginRequestPolicyQueryStringsConfig", &[("QueryStringBehavior", S), ("QueryStrings", T("QueryStringNames"))]),
    ("ResponseHeadersPolicyConfig", &[("Comment", S), ("Name", S), ("CorsConfig", T("ResponseHeadersPolicyCorsConfig")), ("SecurityHeadersConfig", T("ResponseHeadersPolicySecurityHeadersConfig")), ("ServerTimingHeadersConfig", T("ResponseHeadersPolicyServerTimingHeadersConfig")), ("CustomHeadersConfig", T("ResponseHeadersPolicyCustomHeadersConfig")), ("RemoveHeadersConfig", T("ResponseHeadersPolicyRemoveHeadersConfig"))]),
    ("ResponseHeadersPolicyCorsConfig", &[("AccessControlAllowOrigins", T("ResponseHeadersPolicyAccessControlAllowOrigins")), ("AccessControlAllowHeaders", T("ResponseHeadersPolicyAccessControlAllowHeaders")), ("AccessControlAllowMethods", T("ResponseHeadersPolicyAccessControlAllowMethods")), ("AccessControlAllowCredentials", S), ("AccessControlExposeHeaders", T("ResponseHeadersPolicyAccessControlExposeHeaders")), ("AccessControlMaxAgeSec", S), ("OriginOverride", S)]),
    ("ResponseHeadersPolicyAccessControlAllowOrigins", &[("Quantity", S), ("Items", L("Origin", None))]),
    ("ResponseHeadersPolicyAccessControlAllowHeaders", &[("Quantity", S), ("Items", L("Header", None))]),
    ("ResponseHeadersPolicyAccessControlAllowMethods", &[("Quantity", S), ("Items", L("Method", None))]),
    ("ResponseHeadersPolicyAccessControlExposeHeaders", &[("Quantity", S), ("Items", L("Header", None))]),
    ("ResponseHeadersPolicySecurityHeadersConfig", &[("XSSProtection", T("ResponseHeadersPolicyXssProtection")), ("FrameOptions", T("ResponseHeadersPolicyFrameOptions")), ("ReferrerPolicy", T("ResponseHeadersPolicyReferrerPolicy")), ("ContentSecurityPolicy", T("ResponseHeadersPolicyContentSecurityPolicy")), ("ContentTypeOptions", T("ResponseHeadersPolicyContentTypeOptions")), ("StrictTransportSecurity", T("ResponseHeadersPolicyStrictTransportSecurity"))]),
    ("ResponseHeadersPolicyXssProtection", &[("Override", S), ("Protection", S), ("ModeBlock", S), ("ReportUri", S)]),
    ("ResponseHeadersPolicyFrameOptions", &[("Override", S), ("FrameOption", S)]),
    ("ResponseHeadersPolicyReferrerPolicy", &[("Override", S), ("ReferrerPolicy", S)]),
    ("ResponseHeadersPolicyContentSecurityPolicy", &[("Override", S), ("ContentSecurityPolicy", S)]),
    ("ResponseHeadersPolicyContentTypeOptions", &[("Override", S)]),
    ("ResponseHeadersPolicyStrictTransportSecurity", &[("Override", S), ("IncludeSubdomains", S), ("Preload", S), ("AccessControlMaxAgeSec", S)]),
    ("ResponseHeadersPolicyServerTimingHeadersConfig", &[("Enabled", S), ("SamplingRate", S)]),
    ("ResponseHeadersPolicyCustomHeadersConfig", &[("Quantity", S), ("Items", L("ResponseHeadersPolicyCustomHeader", None))]),
    ("ResponseHeadersPolicyRemoveHeadersConfig", &[("Quantity", S), ("Items", L("ResponseHeadersPolicyRemoveHeader", None))]),
    ("OriginAccessControlConfig", &[("Name", S), ("Description", S), ("SigningProtocol", S), ("SigningBehavior", S), ("OriginAccessControlOriginType", S)]),
    ("FunctionConfig", &[("Comment", S), ("Runtime", S), ("KeyValueStoreAssociations", T("KeyValueStoreAssociations"))]),
    ("KeyValueStoreAssociations", &[("Quantity", S), ("Items", L("KeyValueStoreAssociation", Some("KeyValueStoreAssociation")))]),
    ("KeyValueStoreAssociation", &[("KeyValueStoreARN", S)]),
    ("CloudFrontOriginAccessIdentityConfig", &[("CallerReference", S), ("Comment", S)]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_config_is_written_in_model_order_with_list_items_named() {
        let config = json!({
            "Enabled": true,
            "Comment": "a & b",
            "Aliases": {"Quantity": 2, "Items": ["a.example.com", "b.example.com"]},
            "CallerReference": "r",
            "Origins": {"Quantity": 1, "Items": [{
                "DomainName": "o.example.com", "Id": "o1",
                "CustomHeaders": {"Quantity": 1, "Items": [{"HeaderName": "X-A", "HeaderValue": "<v>"}]},
                "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}
            }]},
            "DefaultCacheBehavior": {"ViewerProtocolPolicy": "allow-all", "TargetOriginId": "o1"},
            "SomethingNew": "not in the model"
        });
        let x = xml_body("DistributionConfig", &config).unwrap();
        assert_eq!(
            x,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DistributionConfig xmlns=\"{NS}\">\
                 <CallerReference>r</CallerReference>\
                 <Aliases><Quantity>2</Quantity><Items><CNAME>a.example.com</CNAME><CNAME>b.example.com</CNAME></Items></Aliases>\
                 <Origins><Quantity>1</Quantity><Items><Origin><Id>o1</Id><DomainName>o.example.com</DomainName>\
                 <CustomHeaders><Quantity>1</Quantity><Items><OriginCustomHeader><HeaderName>X-A</HeaderName><HeaderValue>&lt;v&gt;</HeaderValue></OriginCustomHeader></Items></CustomHeaders>\
                 <CustomOriginConfig><HTTPPort>80</HTTPPort><HTTPSPort>443</HTTPSPort><OriginProtocolPolicy>https-only</OriginProtocolPolicy></CustomOriginConfig>\
                 </Origin></Items></Origins>\
                 <DefaultCacheBehavior><TargetOriginId>o1</TargetOriginId><ViewerProtocolPolicy>allow-all</ViewerProtocolPolicy></DefaultCacheBehavior>\
                 <Comment>a &amp; b</Comment><Enabled>true</Enabled></DistributionConfig>"
            )
        );
    }

    #[test]
    fn every_shape_named_in_the_schema_is_in_it() {
        for (_, ms) in SCHEMA {
            for (el, m) in *ms {
                let named = match m {
                    M::T(t) | M::L(_, Some(t)) => Some(*t),
                    _ => None,
                };
                if let Some(t) = named {
                    assert!(members(t).is_ok(), "{el}: {t}");
                }
            }
        }
    }
}
