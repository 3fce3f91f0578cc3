//! Route53 hosted zones re-created by restore. A new zone gets a new id from Route53, so the
//! snapshot's zone id (in the zone's resource id and in every record set's) no longer names it.
//! Restore creates the zone with a caller reference that carries the snapshot's zone id
//! ([`caller_reference`]); `apply` resolves the records' zone through it, verification reads the
//! new zone back as the old one ([`aliases`]), and `diff` pairs the two (one "re-created" line).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::diff::Side;
use crate::ids::ResourceId;

/// The kind of a hosted zone.
pub const ZONE: &str = "aws.route53.zone";
/// The kind of a record set (`<zone id>/<name>/<type>[/<set identifier>]`).
pub const RECORD_SET: &str = "aws.route53.record_set";
/// How the caller reference of a zone re-created by restore begins.
pub const CALLER_PREFIX: &str = "infrasnap-restore/";

/// The caller reference of a zone re-created from the snapshot's zone `old` (`nonce` makes it
/// unique: Route53 never accepts a caller reference twice).
pub fn caller_reference(old: &str, nonce: &str) -> String {
    format!("{CALLER_PREFIX}{old}/{nonce}")
}

/// The snapshot's zone id a zone was re-created from, by its caller reference.
pub fn restored_from(caller_reference: &str) -> Option<&str> {
    caller_reference
        .strip_prefix(CALLER_PREFIX)?
        .split('/')
        .next()
        .filter(|s| !s.is_empty())
}

/// The zone id of a record set id.
pub fn zone_of(record_id: &str) -> &str {
    record_id.split('/').next().unwrap_or(record_id)
}

/// Whether a record set (by id) is the apex SOA or NS record of zone `zone_name`, which Route53
/// makes itself for a new zone.
pub fn apex_made_by_route53(record_id: &str, zone_name: &str) -> bool {
    let mut p = record_id.splitn(4, '/');
    let (_, name, ty) = (p.next(), p.next().unwrap_or(""), p.next().unwrap_or(""));
    let norm = |s: &str| s.trim_end_matches('.').to_ascii_lowercase();
    norm(name) == norm(zone_name) && matches!(ty, "SOA" | "NS")
}

/// The zone's name (`example.com.`) in its document.
pub fn zone_name(doc: &Value) -> Option<&str> {
    doc.pointer("/HostedZone/Name").and_then(Value::as_str)
}

/// Whether the zone's document says it is private.
pub fn is_private(doc: &Value) -> bool {
    doc.pointer("/HostedZone/Config/PrivateZone") == Some(&Value::Bool(true))
}

/// The zones of `side` re-created by restore from a zone id `side` does not hold: new id → the
/// snapshot's id.
pub fn aliases(side: &Side) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for r in side.catalog.records.iter().filter(|r| r.id.kind == ZONE) {
        let Ok(doc) = side.doc(r) else { continue };
        let Some(old) = doc
            .pointer("/HostedZone/CallerReference")
            .and_then(Value::as_str)
            .and_then(restored_from)
        else {
            continue;
        };
        let old_id = ResourceId::new(ZONE, r.id.account.clone(), "", old);
        if side.catalog.get(&old_id).is_none() {
            out.insert(r.id.id.clone(), old.to_string());
        }
    }
    out
}

/// `side` read through [`aliases`]: every zone re-created by restore from a zone that `other`
/// holds (and `side` does not), and its record sets, under the zone id `other` knows; `None`
/// when there is none. Planning reads the live state this way (a zone restored earlier is the
/// zone, not a missing one plus an extra one), and `diff` the later snapshot.
pub fn through_aliases(side: &Side, other: &Side) -> Option<Side> {
    let map: BTreeMap<String, String> = aliases(side)
        .into_iter()
        .filter(|(_, old)| {
            other
                .catalog
                .records
                .iter()
                .any(|r| r.id.kind == ZONE && &r.id.id == old)
        })
        .collect();
    if map.is_empty() {
        return None;
    }
    let mut records: Vec<_> = side
        .catalog
        .records
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if let Some(id) = rename(&r.id, &map) {
                r.id = id;
            }
            r
        })
        .collect();
    records.sort_by(|a, b| a.id.cmp(&b.id));
    Some(Side {
        name: side.name.clone(),
        dir: side.dir.clone(),
        blobs: side.blobs.clone(),
        format: side.format,
        catalog: crate::catalog::Catalog {
            records,
            coverage: side.catalog.coverage.clone(),
        },
        meta: side.meta.clone(),
        s3_from_tree: side.s3_from_tree,
    })
}

/// `id` with its zone id replaced through `map` (a zone or a record set; other kinds as they
/// are).
pub fn rename(id: &ResourceId, map: &BTreeMap<String, String>) -> Option<ResourceId> {
    match id.kind.as_str() {
        ZONE => map.get(&id.id).map(|to| {
            let mut n = id.clone();
            n.id = to.clone();
            n
        }),
        RECORD_SET => {
            let z = zone_of(&id.id);
            map.get(z).map(|to| {
                let mut n = id.clone();
                n.id = format!("{to}{}", &id.id[z.len()..]);
                n
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn the_caller_reference_carries_the_old_zone_id() {
        let c = caller_reference("Z1OLD", "1733140000");
        assert_eq!(restored_from(&c), Some("Z1OLD"));
        assert_eq!(restored_from("console-1234"), None);
        assert_eq!(restored_from("infrasnap-restore/"), None);
    }

    #[rstest]
    #[case("Z1/example.com./SOA", "example.com.", true)]
    #[case("Z1/Example.com./NS", "example.com", true)]
    #[case("Z1/www.example.com./NS", "example.com.", false)]
    #[case("Z1/example.com./A", "example.com.", false)]
    #[case("Z1/example.com./MX", "example.com.", false)]
    fn apex_soa_and_ns(#[case] id: &str, #[case] zone: &str, #[case] made: bool) {
        assert_eq!(apex_made_by_route53(id, zone), made);
    }

    #[test]
    fn record_ids_move_with_their_zone() {
        let map: BTreeMap<String, String> = [("ZNEW".to_string(), "ZOLD".to_string())].into();
        let r: ResourceId = "aws.route53.record_set:123456789012::ZNEW/www.example.com./A"
            .parse()
            .unwrap();
        assert_eq!(
            rename(&r, &map).unwrap().id,
            "ZOLD/www.example.com./A".to_string()
        );
        let z: ResourceId = "aws.route53.zone:123456789012::ZNEW".parse().unwrap();
        assert_eq!(rename(&z, &map).unwrap().id, "ZOLD");
        let other: ResourceId = "aws.route53.zone:123456789012::ZOTHER".parse().unwrap();
        assert!(rename(&other, &map).is_none());
    }
}
