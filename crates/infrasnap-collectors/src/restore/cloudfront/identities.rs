//! Origin access identities, public keys and key groups.
//!
//! Each is created with a fresh CallerReference made from the plan step (the same when the step
//! runs again), updated with If-Match (Get first, for the ETag and the live CallerReference,
//! which cannot change) and deleted with If-Match. CloudFront gives a created one a new id: a key
//! group's public keys made again, like a distribution's identity and key groups, are put in by
//! the ids their names have live ([`Step::refs`], resolved by [`super::resolve_refs`]).

use aws_sdk_cloudfront::types::{
    CloudFrontOriginAccessIdentityConfig, KeyGroupConfig, PublicKeyConfig,
};
use aws_sdk_cloudfront::Client;
use infrasnap_core::restore::plan::{KEY_GROUP, PUBLIC_KEY};
use infrasnap_core::restore::{Action, Step};
use serde_json::Value;

use super::{caller_reference, code, live_id_by_name, resolve_refs, s, Context, WriteError};

fn built<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, WriteError> {
    r.map_err(|e| WriteError::new(e.to_string()))
}

/// An origin access identity: its comment is all a restore sets (CloudFront makes its
/// canonical user).
pub(super) async fn origin_access_identity(
    cx: &Context,
    c: &Client,
    step: &Step,
) -> Result<(), WriteError> {
    let id = step.target.id.as_str();
    let call = |op: &str| format!("cloudfront:{op} {id}");
    if matches!(step.action, Action::Delete) {
        let got = c
            .get_cloud_front_origin_access_identity()
            .id(id)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("GetCloudFrontOriginAccessIdentity"), &e))?;
        c.delete_cloud_front_origin_access_identity()
            .id(id)
            .if_match(got.e_tag().unwrap_or_default())
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("DeleteCloudFrontOriginAccessIdentity"), &e))?;
        return Ok(());
    }
    let doc = cx.document(step)?;
    let comment = s(&doc, "/Comment").unwrap_or_default();
    let config = |reference: String| {
        built(
            CloudFrontOriginAccessIdentityConfig::builder()
                .caller_reference(reference)
                .comment(comment.clone())
                .build(),
        )
    };
    if matches!(step.action, Action::Create { .. }) {
        // For a CallerReference it has seen with the same config, CloudFront answers the
        // identity it made then: a rerun of this step makes no second one.
        c.create_cloud_front_origin_access_identity()
            .cloud_front_origin_access_identity_config(config(caller_reference(step))?)
            .send()
            .await
            .map_err(|e| WriteError::sdk("cloudfront:CreateCloudFrontOriginAccessIdentity", &e))?;
        return Ok(());
    }
    let got = c
        .get_cloud_front_origin_access_identity_config()
        .id(id)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&call("GetCloudFrontOriginAccessIdentityConfig"), &e))?;
    let reference = got
        .cloud_front_origin_access_identity_config()
        .map(|c| c.caller_reference().to_string())
        .unwrap_or_default();
    c.update_cloud_front_origin_access_identity()
        .id(id)
        .if_match(got.e_tag().unwrap_or_default())
        .cloud_front_origin_access_identity_config(config(reference)?)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&call("UpdateCloudFrontOriginAccessIdentity"), &e))?;
    Ok(())
}

/// A public key: its name, EncodedKey (a public key is no secret: the snapshot has it) and
/// comment. CloudFront lets an update change the comment only.
pub(super) async fn public_key(cx: &Context, c: &Client, step: &Step) -> Result<(), WriteError> {
    let id = step.target.id.as_str();
    let call = |op: &str, id: &str| format!("cloudfront:{op} {id}");
    let etag_of = |id: String| async move {
        let got = c
            .get_public_key()
            .id(&id)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("GetPublicKey", &id), &e))?;
        let reference = got
            .public_key()
            .and_then(|k| k.public_key_config())
            .map(|c| c.caller_reference().to_string())
            .unwrap_or_default();
        Ok::<_, WriteError>((got.e_tag().unwrap_or_default().to_string(), reference))
    };
    if matches!(step.action, Action::Delete) {
        let (etag, _) = etag_of(id.to_string()).await?;
        c.delete_public_key()
            .id(id)
            .if_match(etag)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("DeletePublicKey", id), &e))?;
        return Ok(());
    }
    let doc = cx.document(step)?;
    let name = s(&doc, "/Name").unwrap_or_default();
    let key = s(&doc, "/EncodedKey")
        .ok_or_else(|| WriteError::new("the snapshot has no EncodedKey for this public key"))?;
    let config = |reference: String| {
        built(
            PublicKeyConfig::builder()
                .caller_reference(reference)
                .name(name.clone())
                .encoded_key(key.clone())
                .set_comment(s(&doc, "/Comment"))
                .build(),
        )
    };
    let target = if matches!(step.action, Action::Create { .. }) {
        let sent = c
            .create_public_key()
            .public_key_config(config(caller_reference(step))?)
            .send()
            .await;
        match sent {
            Ok(_) => return Ok(()),
            // The name is taken: made by an earlier run of this step, written over below.
            Err(e) if code(&e).is_some_and(|c| c.ends_with("AlreadyExists")) => {
                live_id_by_name(c, PUBLIC_KEY, &name)
                    .await?
                    .ok_or_else(|| WriteError::sdk("cloudfront:CreatePublicKey", &e))?
            }
            Err(e) => return Err(WriteError::sdk("cloudfront:CreatePublicKey", &e)),
        }
    } else {
        id.to_string()
    };
    let (etag, reference) = etag_of(target.clone()).await?;
    c.update_public_key()
        .id(&target)
        .if_match(etag)
        .public_key_config(config(reference)?)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&call("UpdatePublicKey", &target), &e))?;
    Ok(())
}

/// A key group: its name, public keys (by their live ids) and comment.
pub(super) async fn key_group(cx: &Context, c: &Client, step: &Step) -> Result<(), WriteError> {
    let id = step.target.id.as_str();
    let call = |op: &str, id: &str| format!("cloudfront:{op} {id}");
    let etag_of = |id: String| async move {
        c.get_key_group()
            .id(&id)
            .send()
            .await
            .map(|o| o.e_tag().unwrap_or_default().to_string())
            .map_err(|e| WriteError::sdk(&call("GetKeyGroup", &id), &e))
    };
    if matches!(step.action, Action::Delete) {
        let etag = etag_of(id.to_string()).await?;
        c.delete_key_group()
            .id(id)
            .if_match(etag)
            .send()
            .await
            .map_err(|e| WriteError::sdk(&call("DeleteKeyGroup", id), &e))?;
        return Ok(());
    }
    let mut doc = cx.document(step)?;
    resolve_refs(cx, c, step, &mut doc).await?;
    let cfg = doc
        .pointer("/KeyGroup/KeyGroupConfig")
        .ok_or_else(|| WriteError::new("the snapshot has no KeyGroupConfig for it"))?;
    let name = s(cfg, "/Name").unwrap_or_default();
    let items: Vec<String> = match cfg.get("Items") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    let config = built(
        KeyGroupConfig::builder()
            .name(name.clone())
            .set_items(Some(items))
            .set_comment(s(cfg, "/Comment"))
            .build(),
    )?;
    let target = if matches!(step.action, Action::Create { .. }) {
        let sent = c
            .create_key_group()
            .key_group_config(config.clone())
            .send()
            .await;
        match sent {
            Ok(_) => return Ok(()),
            // The name is taken: made by an earlier run of this step, written over below.
            Err(e) if code(&e).is_some_and(|c| c.ends_with("AlreadyExists")) => {
                live_id_by_name(c, KEY_GROUP, &name)
                    .await?
                    .ok_or_else(|| WriteError::sdk("cloudfront:CreateKeyGroup", &e))?
            }
            Err(e) => return Err(WriteError::sdk("cloudfront:CreateKeyGroup", &e)),
        }
    } else {
        id.to_string()
    };
    let etag = etag_of(target.clone()).await?;
    c.update_key_group()
        .id(&target)
        .if_match(etag)
        .key_group_config(config)
        .send()
        .await
        .map_err(|e| WriteError::sdk(&call("UpdateKeyGroup", &target), &e))?;
    Ok(())
}

/// The live origin access identity whose comment is `comment`. An identity has no name: restore
/// knows one by its comment (as it finds one made again by its content), so two live identities
/// with the same comment are refused rather than guessed between.
pub(super) async fn oai_by_comment(
    c: &Client,
    comment: &str,
) -> Result<Option<String>, WriteError> {
    let mut marker: Option<String> = None;
    let mut found: Vec<String> = Vec::new();
    loop {
        let o = c
            .list_cloud_front_origin_access_identities()
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| WriteError::sdk("cloudfront:ListCloudFrontOriginAccessIdentities", &e))?;
        let Some(l) = o.cloud_front_origin_access_identity_list() else {
            break;
        };
        found.extend(
            l.items()
                .iter()
                .filter(|i| i.comment() == comment)
                .map(|i| i.id().to_string()),
        );
        match l
            .next_marker()
            .filter(|n| l.is_truncated() && !n.is_empty() && Some(*n) != marker.as_deref())
        {
            Some(n) => marker = Some(n.to_string()),
            None => break,
        }
    }
    if found.len() > 1 {
        return Err(WriteError::new(format!(
            "several live origin access identities have the comment `{comment}` ({}): restore \
             knows an identity by its comment (it has no name) and cannot tell which one stands \
             for the snapshot's; give them distinct comments, or point the distribution at one \
             by hand",
            found.join(", ")
        )));
    }
    Ok(found.pop())
}
