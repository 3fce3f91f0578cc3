//! CloudFront ids inside CloudFront documents: where a distribution names its origin access
//! identities and key groups, and a key group its public keys (beside the policies and origin
//! access controls of [`super::DISTRIBUTION_REFS`]); the id mappings a step carries for them
//! ([`IdRef`]); what the plan says about an origin access identity made again.
//!
//! Resources of these kinds get a new id from CloudFront when restore makes them again, so a
//! reference is recorded by the referenced resource's name (an origin access identity has none:
//! its comment stands for it, as its content is how a re-created one is found) and resolved to
//! the live id at apply.

use serde_json::Value;

use super::{name_of, PlanInput, Planner, DISTRIBUTION};
use crate::catalog::CatalogRecord;
use crate::ids::ResourceId;
use crate::restore::{Action, IdRef, Manual, RestoreError, Step};

/// CloudFront origin access identities (legacy S3 origin access).
pub const OAI: &str = "aws.cloudfront.origin_access_identity";
/// CloudFront key groups (signed URLs and cookies).
pub const KEY_GROUP: &str = "aws.cloudfront.key_group";
/// CloudFront public keys, which key groups hold.
pub const PUBLIC_KEY: &str = "aws.cloudfront.public_key";
/// How an S3 origin names its origin access identity: this, then the identity's id.
pub const OAI_PREFIX: &str = "origin-access-identity/cloudfront/";

/// Kinds whose documents name other CloudFront resources by id.
pub fn has_refs(kind: &str) -> bool {
    kind == DISTRIBUTION || kind == KEY_GROUP
}

/// Every place in a document of `kind` (a distribution's, a key group's: as the snapshot keeps
/// it) that names a CloudFront resource by id: `f(member, kind, name pointer, the id value)`.
pub fn ref_sites(
    kind: &str,
    doc: &mut Value,
    mut f: impl FnMut(&'static str, &'static str, &'static str, &mut Value),
) {
    match kind {
        DISTRIBUTION => {
            if let Some(c) = doc.get_mut("DistributionConfig") {
                super::distribution_ref_sites(c, f);
            }
        }
        KEY_GROUP => {
            if let Some(c) = doc.pointer_mut("/KeyGroup/KeyGroupConfig") {
                list_sites(c, "/Items", "PublicKey", PUBLIC_KEY, "/Name", &mut f);
            }
        }
        _ => {}
    }
}

/// The ids in the list at `list` of `o`, each a reference to a `kind`.
fn list_sites<F>(
    o: &mut Value,
    list: &str,
    member: &'static str,
    kind: &'static str,
    name: &'static str,
    f: &mut F,
) where
    F: FnMut(&'static str, &'static str, &'static str, &mut Value),
{
    match o.pointer_mut(list) {
        Some(Value::Array(a)) => a
            .iter_mut()
            .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            .for_each(|v| f(member, kind, name, v)),
        // One item, read back as a value.
        Some(v) if v.as_str().is_some_and(|s| !s.is_empty()) => f(member, kind, name, v),
        _ => {}
    }
}

/// A cache behavior's trusted key groups.
pub(super) fn key_group_sites<F>(o: &mut Value, f: &mut F)
where
    F: FnMut(&'static str, &'static str, &'static str, &mut Value),
{
    list_sites(
        o,
        "/TrustedKeyGroups/Items",
        "TrustedKeyGroups",
        KEY_GROUP,
        "/KeyGroup/KeyGroupConfig/Name",
        f,
    );
}

/// An origin's `S3OriginConfig.OriginAccessIdentity`: handed to `f` as the bare id, written back
/// with its prefix.
pub(super) fn oai_site<F>(o: &mut Value, f: &mut F)
where
    F: FnMut(&'static str, &'static str, &'static str, &mut Value),
{
    let Some(v) = o.pointer_mut("/S3OriginConfig/OriginAccessIdentity") else {
        return;
    };
    let Some(id) = v
        .as_str()
        .and_then(|s| s.strip_prefix(OAI_PREFIX))
        .filter(|s| !s.is_empty())
    else {
        return;
    };
    let mut bare = Value::String(id.to_string());
    f("OriginAccessIdentity", OAI, "/Comment", &mut bare);
    if let Some(b) = bare.as_str() {
        *v = Value::String(format!("{OAI_PREFIX}{b}"));
    }
}

/// A distribution's ACM certificate (`ViewerCertificate.ACMCertificateArn`, and the older
/// `Certificate` beside it when it names the same): handed to `f` as the certificate's id (the
/// UUID its ARN ends with), written back into the ARN, or in place of it when `f` makes it a
/// `name:` (ARNs compare by the certificate's name, in any account).
pub(super) fn certificate_sites<F>(config: &mut Value, f: &mut F)
where
    F: FnMut(&'static str, &'static str, &'static str, &mut Value),
{
    for member in ["ACMCertificateArn", "Certificate"] {
        let Some(v) = config.pointer_mut(&format!("/ViewerCertificate/{member}")) else {
            continue;
        };
        let Some(arn) = v
            .as_str()
            .filter(|a| a.contains(":acm:"))
            .map(str::to_string)
        else {
            continue;
        };
        let Some(id) = crate::restore::acm::id_of_arn(&arn) else {
            continue;
        };
        let mut bare = Value::String(id.to_string());
        f(
            if member == "Certificate" {
                "Certificate"
            } else {
                "ACMCertificateArn"
            },
            crate::restore::acm::CERTIFICATE,
            "",
            &mut bare,
        );
        match bare.as_str() {
            Some(b) if b.starts_with("name:") => *v = Value::String(b.to_string()),
            Some(b) => {
                let prefix = &arn[..arn.len() - id.len()];
                *v = Value::String(format!("{prefix}{b}"));
            }
            None => {}
        }
    }
}

/// The id mappings of `step` (writing the snapshot's `rec`, whose document is `doc`): each
/// resource it names by id that is not live under that id and that the snapshot can name.
pub(super) fn id_refs(
    inp: &PlanInput<'_>,
    rec: &CatalogRecord,
    doc: &Value,
    step: &mut Step,
) -> Result<(), RestoreError> {
    let mut doc = doc.clone();
    let mut sites = Vec::new();
    ref_sites(&rec.id.kind, &mut doc, |_, kind, ptr, v| {
        sites.push((kind, ptr, v.as_str().unwrap_or_default().to_string()));
    });
    for (kind, ptr, id) in sites {
        let region = if kind == crate::restore::acm::CERTIFICATE {
            crate::restore::acm::CLOUDFRONT_REGION
        } else {
            ""
        };
        let rid = ResourceId::new(kind, rec.id.account.clone(), region, id.clone());
        if inp.live.catalog.get(&rid).is_some() || step.refs.iter().any(|r| r.id == rid) {
            continue;
        }
        if let Some(name) = name_of(inp.snapshot, kind, &rec.id.account, &id, ptr)? {
            step.refs.push(IdRef {
                id: rid,
                name,
                step: None,
            });
        }
    }
    Ok(())
}

impl Planner<'_, '_> {
    /// After the step of the snapshot's `rec`: a key group's public keys made again (id
    /// mappings); for an origin access identity made again, its new identity as the step's note
    /// and the bucket policies that grant the old one as a follow-up.
    pub(super) fn cloudfront(
        &mut self,
        rec: &CatalogRecord,
        doc: &Value,
    ) -> Result<(), RestoreError> {
        let inp = self.input;
        let Some(step) = self
            .steps
            .last_mut()
            .filter(|s| s.writes() && s.source == rec.id)
        else {
            return Ok(());
        };
        if rec.id.kind == KEY_GROUP {
            return id_refs(inp, rec, doc, step);
        }
        if rec.id.kind != OAI || !matches!(step.action, Action::Create { .. }) {
            return Ok(());
        }
        let id = rec.id.id.as_str();
        let canonical = doc
            .get("S3CanonicalUserId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let buckets = granting_buckets(inp, &rec.id.account, id, canonical)?;
        let which = if buckets.is_empty() {
            "no bucket policy in this snapshot names it; check the buckets it served".to_string()
        } else {
            format!(
                "the snapshot's bucket policies that name it: {}",
                buckets.join(", ")
            )
        };
        step.note = Some(format!(
            "created anew: CloudFront gives it a new Id and S3 canonical user id (the snapshot's \
             Id was {id}); distributions of this plan that use it are pointed at the new one, but \
             S3 bucket policies that grant the old identity (\"arn:aws:iam::cloudfront:user/\
             CloudFront Origin Access Identity {id}\", or its canonical user) cannot be rewritten \
             automatically: {which}"
        ));
        if !buckets.is_empty() {
            self.manual.push(Manual {
                id: rec.id.clone(),
                reason: format!(
                    "follow-up after apply: the origin access identity {id} is made again with a \
                     new id and canonical user, so the bucket policies that grant it must name \
                     the new one (restore apply prints it; aws cloudfront \
                     list-cloud-front-origin-access-identities): {}",
                    buckets.join(", ")
                ),
            });
        }
        Ok(())
    }
}

/// The snapshot's S3 buckets of `account` whose documents (their policy) name the origin access
/// identity `id` or its canonical user.
fn granting_buckets(
    inp: &PlanInput<'_>,
    account: &str,
    id: &str,
    canonical: &str,
) -> Result<Vec<String>, RestoreError> {
    let mut out = Vec::new();
    for r in inp
        .snapshot
        .catalog
        .records
        .iter()
        .filter(|r| r.id.kind == super::BUCKET && r.id.account == account)
    {
        let text = inp.snapshot.doc(r)?.to_string();
        if text.contains(&format!("Origin Access Identity {id}"))
            || (!canonical.is_empty() && text.contains(canonical))
        {
            out.push(r.id.id.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn visit(kind: &str, doc: &mut Value) -> Vec<(&'static str, &'static str, String)> {
        let mut seen = Vec::new();
        ref_sites(kind, doc, |member, kind, _, v| {
            seen.push((member, kind, v.as_str().unwrap().to_string()));
            *v = Value::String(format!("new-{}", v.as_str().unwrap()));
        });
        seen
    }

    #[test]
    fn a_distribution_names_its_origin_access_identity_and_key_groups_by_id() {
        let mut d = json!({"DistributionConfig": {
            "DefaultCacheBehavior": {"TrustedKeyGroups": {"Enabled": true, "Quantity": 2, "Items": ["kg1", "kg2"]}},
            "CacheBehaviors": {"Items": [{"TrustedKeyGroups": {"Enabled": false, "Quantity": 0}}]},
            "Origins": {"Items": [
                {"Id": "s3", "S3OriginConfig": {"OriginAccessIdentity": "origin-access-identity/cloudfront/E1"}},
                {"Id": "open", "S3OriginConfig": {"OriginAccessIdentity": ""}}
            ]}
        }});
        assert_eq!(
            visit(DISTRIBUTION, &mut d),
            vec![
                ("TrustedKeyGroups", KEY_GROUP, "kg1".to_string()),
                ("TrustedKeyGroups", KEY_GROUP, "kg2".to_string()),
                ("OriginAccessIdentity", OAI, "E1".to_string()),
            ]
        );
        let c = &d["DistributionConfig"];
        assert_eq!(
            c["Origins"]["Items"][0]["S3OriginConfig"]["OriginAccessIdentity"],
            "origin-access-identity/cloudfront/new-E1",
            "the prefix stays"
        );
        assert_eq!(
            c["Origins"]["Items"][1]["S3OriginConfig"]["OriginAccessIdentity"],
            ""
        );
        assert_eq!(
            c["DefaultCacheBehavior"]["TrustedKeyGroups"]["Items"],
            json!(["new-kg1", "new-kg2"])
        );
    }

    #[test]
    fn a_distribution_names_its_acm_certificate_by_id_in_either_member() {
        let arn = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e-22";
        let mut d = json!({"DistributionConfig": {"ViewerCertificate": {
            "ACMCertificateArn": arn, "Certificate": arn, "CertificateSource": "acm",
            "SSLSupportMethod": "sni-only"
        }}});
        let cert = crate::restore::acm::CERTIFICATE;
        assert_eq!(
            visit(DISTRIBUTION, &mut d),
            vec![
                ("ACMCertificateArn", cert, "0f1e-22".to_string()),
                ("Certificate", cert, "0f1e-22".to_string()),
            ]
        );
        let v = &d["DistributionConfig"]["ViewerCertificate"];
        let want = "arn:aws:acm:us-east-1:123456789012:certificate/new-0f1e-22";
        assert_eq!(v["ACMCertificateArn"], want, "the ARN keeps its prefix");
        assert_eq!(v["Certificate"], want);
        // A name stands for the whole ARN; IAM certificates and the default one are no sites.
        ref_sites(DISTRIBUTION, &mut d, |_, _, _, v| {
            *v = Value::String("name:example.com".into());
        });
        assert_eq!(
            d["DistributionConfig"]["ViewerCertificate"]["ACMCertificateArn"],
            "name:example.com"
        );
        let mut iam = json!({"DistributionConfig": {"ViewerCertificate": {
            "IAMCertificateId": "ASCA1", "Certificate": "ASCA1", "CertificateSource": "iam"
        }}});
        assert!(visit(DISTRIBUTION, &mut iam).is_empty());
        let mut default = json!({"DistributionConfig": {"ViewerCertificate": {
            "CloudFrontDefaultCertificate": true, "ACMCertificateArn": ""
        }}});
        assert!(visit(DISTRIBUTION, &mut default).is_empty());
    }

    #[test]
    fn a_key_group_names_its_public_keys_by_id() {
        let mut kg = json!({"KeyGroup": {"Id": "kg1", "KeyGroupConfig": {"Name": "signers", "Items": ["K1", "K2"]}}});
        assert_eq!(
            visit(KEY_GROUP, &mut kg),
            vec![
                ("PublicKey", PUBLIC_KEY, "K1".to_string()),
                ("PublicKey", PUBLIC_KEY, "K2".to_string()),
            ]
        );
        let mut pk = json!({"Id": "K1", "Name": "k"});
        assert!(visit(PUBLIC_KEY, &mut pk).is_empty());
    }

    #[test]
    fn public_keys_go_before_key_groups_and_both_before_distributions() {
        let s = |k: &str| super::super::stage(k, &crate::restore::Subject::Resource);
        assert!(s(PUBLIC_KEY) < s(KEY_GROUP));
        assert!(s(KEY_GROUP) < s(DISTRIBUTION));
        assert!(s(OAI) < s(DISTRIBUTION));
    }
}
