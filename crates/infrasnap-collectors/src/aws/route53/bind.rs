//! A hosted zone as a BIND master file (RFC 1035 section 5), the form `named-checkzone`, BIND,
//! Knot, NSD and most DNS tools read.
//!
//! - `$ORIGIN`, `$TTL`, the SOA, the apex NS records, then every other record, in the order of
//!   records.json. Every name is absolute (ends with a dot), owner names and names inside record
//!   data alike; every record has its TTL and class.
//! - Route53 writes special characters of names and TXT strings as `\NNN` *octal* escapes; a
//!   master file's `\DDD` escapes are *decimal*. Names and strings are decoded and re-escaped.
//! - TXT and SPF values are split into quoted character-strings of at most 255 bytes.
//! - What a master file cannot express is kept as comments: alias records
//!   (`; ALIAS <name> <type> -> <target> (<zone id>)`), routing attributes (a comment after the
//!   record: `; SetIdentifier="blue" Weight=10`), records created by a traffic policy, a second
//!   CNAME at one name (weighted or failover CNAMEs) and a value that cannot be written.
//! - An SOA value that cannot be parsed gives a synthesized SOA with a comment saying so.
//!
//! The text depends only on the records, so an unchanged zone gives an identical file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::model::RecordSet;
use crate::aws::sdk_error::ApiFailure;

/// What the renderer needs to know about the zone besides its records.
pub struct ZoneInfo<'a> {
    /// As the API gives it (`example.com.`).
    pub name: &'a str,
    /// Bare id (`Z0123...`).
    pub id: &'a str,
    pub private: bool,
    /// From the delegation set, for a placeholder NS when the zone's NS records are missing.
    pub name_servers: &'a [String],
    /// The record listing did not complete.
    pub incomplete: bool,
}

/// Default SOA timers (Route53's own defaults), for a synthesized SOA.
const DEFAULT_SOA_TIMERS: &str = "1 7200 900 1209600 86400";

/// Render the zone file.
pub fn render(zone: &ZoneInfo<'_>, records: &[RecordSet]) -> String {
    let origin_labels = parse_name(zone.name);
    let origin = fmt_name(&origin_labels);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "; Route53 hosted zone {origin} ({}), {}",
        zone.id,
        if zone.private { "private" } else { "public" }
    );
    o.push_str(
        "; Written by infrasnap from ListResourceRecordSets. Alias records, records made by a\n",
    );
    o.push_str(
        "; traffic policy and routing policies (weighted, latency, failover, geolocation, ...)\n",
    );
    o.push_str(
        "; cannot be expressed in a master file: aliases are comments, routing attributes are a\n",
    );
    o.push_str("; comment after each record. Names are absolute.\n");
    if zone.incomplete {
        o.push_str("; WARNING: the record listing did not complete; records are missing (see zone.json Errors).\n");
    }

    let soa = records
        .iter()
        .find(|r| r.rr_type == "SOA" && same_name(&r.name, &origin_labels));
    let default_ttl = soa.and_then(|s| s.ttl).unwrap_or(300);
    let _ = writeln!(o, "$ORIGIN {origin}");
    let _ = writeln!(o, "$TTL {default_ttl}");
    o.push('\n');

    // SOA.
    let soa_value = soa
        .and_then(|s| s.resource_records.as_ref())
        .and_then(|v| v.first())
        .map(|v| v.value.as_str());
    let apex_ns: Vec<&RecordSet> = records
        .iter()
        .filter(|r| {
            r.rr_type == "NS"
                && same_name(&r.name, &origin_labels)
                && r.resource_records.is_some()
                && r.set_identifier.is_none()
        })
        .collect();
    match soa_value.map(parse_soa) {
        Some(SoaParse::Exact(rdata)) => {
            let _ = writeln!(o, "{origin}\t{default_ttl}\tIN\tSOA\t{rdata}");
        }
        Some(SoaParse::Recovered(rdata)) => {
            let _ = writeln!(
                o,
                "; The SOA value is not in the standard form; its fields were recovered from: {}",
                comment_text(soa_value.unwrap_or_default())
            );
            let _ = writeln!(o, "{origin}\t{default_ttl}\tIN\tSOA\t{rdata}");
        }
        other => {
            let why = match (other, soa_value) {
                (Some(_), Some(v)) => {
                    format!("the SOA value could not be parsed: {}", comment_text(v))
                }
                _ => "no SOA record was captured".to_string(),
            };
            let mname = apex_ns
                .iter()
                .flat_map(|r| r.resource_records.iter().flatten())
                .map(|v| abs_name(v.value.trim()))
                .next()
                .or_else(|| zone.name_servers.first().map(|n| abs_name(n)))
                .unwrap_or_else(|| "ns.invalid.".to_string());
            let rname = fmt_name(
                &std::iter::once(b"hostmaster".to_vec())
                    .chain(origin_labels.iter().cloned())
                    .collect::<Vec<_>>(),
            );
            let _ = writeln!(o, "; Synthesized SOA: {why}");
            let _ = writeln!(
                o,
                "{origin}\t{default_ttl}\tIN\tSOA\t{mname} {rname} {DEFAULT_SOA_TIMERS}"
            );
        }
    }

    // Apex NS.
    if apex_ns.is_empty() {
        let placeholders: Vec<String> = if zone.name_servers.is_empty() {
            vec!["ns.invalid.".to_string()]
        } else {
            zone.name_servers.iter().map(|n| abs_name(n)).collect()
        };
        o.push_str(
            "; No NS records at the apex were captured; placeholder(s) so that the file loads:\n",
        );
        for ns in placeholders {
            let _ = writeln!(o, "{origin}\t{default_ttl}\tIN\tNS\t{ns}");
        }
    } else {
        for r in &apex_ns {
            write_record(&mut o, r, &origin_labels, &mut Singletons::default());
        }
    }
    o.push('\n');

    // Owners that have a CNAME plus other data: the CNAME cannot be loaded there.
    let mut types_at: BTreeMap<Vec<Vec<u8>>, BTreeSet<&str>> = BTreeMap::new();
    for r in records {
        if r.resource_records.is_some() && r.alias_target.is_none() {
            types_at
                .entry(lower_labels(&parse_name(&r.name)))
                .or_default()
                .insert(r.rr_type.as_str());
        }
    }
    let mut singles = Singletons {
        cname_with_other: types_at
            .iter()
            .filter(|(_, t)| t.contains("CNAME") && t.len() > 1)
            .map(|(n, _)| n.clone())
            .collect(),
        ..Default::default()
    };
    for r in records {
        let is_apex = same_name(&r.name, &origin_labels);
        if is_apex
            && (r.rr_type == "SOA"
                || (r.rr_type == "NS"
                    && r.resource_records.is_some()
                    && r.set_identifier.is_none()))
        {
            continue;
        }
        write_record(&mut o, r, &origin_labels, &mut singles);
    }
    o
}

#[derive(Default)]
struct Singletons {
    /// Owners (lowercase labels) where a CNAME was already written.
    cname_written: BTreeSet<Vec<Vec<u8>>>,
    /// Owners with a CNAME and other data.
    cname_with_other: BTreeSet<Vec<Vec<u8>>>,
}

fn write_record(o: &mut String, r: &RecordSet, origin: &[Vec<u8>], singles: &mut Singletons) {
    let labels = parse_name(&r.name);
    let owner = fmt_name(&labels);
    let routing = routing_comment(r);
    let suffix = if routing.is_empty() {
        String::new()
    } else {
        format!("\t; {routing}")
    };
    if !is_within(&labels, origin) {
        let _ = writeln!(
            o,
            "; outside the zone, not loadable here: {} {}{suffix}",
            comment_text(&owner),
            comment_text(&r.rr_type)
        );
        return;
    }
    if let Some(a) = &r.alias_target {
        let _ = writeln!(
            o,
            "; ALIAS {owner} {} -> {} ({}) EvaluateTargetHealth={}{}",
            comment_text(&r.rr_type),
            comment_text(&abs_name(&a.dns_name)),
            comment_text(&a.hosted_zone_id),
            a.evaluate_target_health,
            if routing.is_empty() {
                String::new()
            } else {
                format!(" {routing}")
            }
        );
        return;
    }
    let Some(values) = r.resource_records.as_ref() else {
        let what = match &r.traffic_policy_instance_id {
            Some(id) => format!("made by traffic policy instance {}", comment_text(id)),
            None => "without values".to_string(),
        };
        let _ = writeln!(
            o,
            "; {owner} {} {what}{}",
            comment_text(&r.rr_type),
            if routing.is_empty() {
                String::new()
            } else {
                format!(" {routing}")
            }
        );
        return;
    };
    let ttl = r.ttl.map(|t| format!("\t{t}")).unwrap_or_default();
    let lower = lower_labels(&labels);
    for v in values {
        let line = match rdata(&r.rr_type, &v.value) {
            Ok(rd) => format!("{owner}{ttl}\tIN\t{}\t{rd}", r.rr_type),
            Err(why) => {
                let _ = writeln!(
                    o,
                    "; not written ({}): {owner} {} {}{}",
                    why.message,
                    comment_text(&r.rr_type),
                    comment_text(&v.value),
                    if routing.is_empty() {
                        String::new()
                    } else {
                        format!(" {routing}")
                    }
                );
                continue;
            }
        };
        if r.rr_type == "CNAME" {
            let why = if singles.cname_with_other.contains(&lower) {
                Some("a CNAME cannot share its name with other records in a master file")
            } else if singles.cname_written.contains(&lower) {
                Some("only one CNAME per name fits in a master file")
            } else {
                None
            };
            if let Some(why) = why {
                let _ = writeln!(
                    o,
                    "; {why}: {}{}",
                    comment_text(&line),
                    comment_text(&suffix)
                );
                continue;
            }
            singles.cname_written.insert(lower.clone());
        }
        let _ = writeln!(o, "{line}{suffix}");
    }
}

/// The routing attributes of a record set, as `Key=value` pairs for a comment.
fn routing_comment(r: &RecordSet) -> String {
    let mut parts = Vec::new();
    if let Some(s) = &r.set_identifier {
        parts.push(format!("SetIdentifier=\"{}\"", comment_text(s)));
    }
    if let Some(w) = r.weight {
        parts.push(format!("Weight={w}"));
    }
    if let Some(x) = &r.region {
        parts.push(format!("Region={}", comment_text(x)));
    }
    if let Some(x) = &r.failover {
        parts.push(format!("Failover={}", comment_text(x)));
    }
    if let Some(g) = &r.geo_location {
        let f = |x: &Option<String>| x.as_deref().map(comment_text).unwrap_or_default();
        parts.push(format!(
            "GeoLocation={}/{}/{}",
            f(&g.continent_code),
            f(&g.country_code),
            f(&g.subdivision_code)
        ));
    }
    if let Some(g) = &r.geo_proximity_location {
        let mut s = String::from("GeoProximity=");
        if let Some(x) = &g.aws_region {
            s.push_str(&comment_text(x));
        } else if let Some(x) = &g.local_zone_group {
            s.push_str(&comment_text(x));
        } else if let Some(c) = &g.coordinates {
            let _ = write!(
                s,
                "{},{}",
                comment_text(&c.latitude),
                comment_text(&c.longitude)
            );
        }
        if let Some(b) = g.bias {
            let _ = write!(s, " Bias={b}");
        }
        parts.push(s);
    }
    if r.multi_value_answer == Some(true) {
        parts.push("MultiValueAnswer=true".into());
    }
    if let Some(c) = &r.cidr_routing_config {
        parts.push(format!(
            "CidrRouting={}/{}",
            comment_text(&c.collection_id),
            comment_text(&c.location_name)
        ));
    }
    if let Some(h) = &r.health_check_id {
        parts.push(format!("HealthCheckId={}", comment_text(h)));
    }
    if let Some(t) = &r.traffic_policy_instance_id {
        parts.push(format!("TrafficPolicyInstanceId={}", comment_text(t)));
    }
    parts.join(" ")
}

/// Why a value cannot be written in master-file syntax (kind `Invalid`).
fn cannot(why: impl Into<String>) -> ApiFailure {
    ApiFailure::new("InvalidValue", why)
}

/// One value of a record in master-file syntax, or why it cannot be written.
fn rdata(rr_type: &str, value: &str) -> Result<String, ApiFailure> {
    if value.bytes().any(|b| b == b'\n' || b == b'\r' || b == 0) {
        return Err(cannot("line break or NUL in the value"));
    }
    let v = value.trim();
    match rr_type {
        "TXT" | "SPF" => Ok(txt_rdata(v)),
        "CNAME" | "NS" | "PTR" | "DNAME" => {
            if v.is_empty() || v.contains(char::is_whitespace) {
                return Err(cannot(format!("not a single name: {v:?}")));
            }
            Ok(abs_name(v))
        }
        "MX" => {
            let t = tokens(v);
            match t.as_slice() {
                [pref, host] if pref.parse::<u16>().is_ok() => {
                    Ok(format!("{pref} {}", abs_name(host)))
                }
                _ => Err(cannot("MX value is not `<preference> <host>`")),
            }
        }
        "SRV" => {
            let t = tokens(v);
            match t.as_slice() {
                [p, w, port, target] if [p, w, port].iter().all(|n| n.parse::<u16>().is_ok()) => {
                    Ok(format!("{p} {w} {port} {}", abs_name(target)))
                }
                _ => Err(cannot(
                    "SRV value is not `<priority> <weight> <port> <target>`",
                )),
            }
        }
        "NAPTR" => {
            let t = tokens(v);
            if t.len() != 6 {
                return Err(cannot("NAPTR value does not have 6 fields"));
            }
            Ok(format!(
                "{} {} {} {} {} {}",
                t[0],
                t[1],
                t[2],
                t[3],
                t[4],
                abs_name(&t[5])
            ))
        }
        "SVCB" | "HTTPS" => {
            let t = tokens(v);
            if t.len() < 2 || t[0].parse::<u16>().is_err() {
                return Err(cannot(format!(
                    "{rr_type} value is not `<priority> <target> [params]`"
                )));
            }
            let mut out = format!("{} {}", t[0], abs_name(&t[1]));
            for p in &t[2..] {
                out.push(' ');
                out.push_str(p);
            }
            Ok(out)
        }
        _ => {
            if v.is_empty() {
                return Err(cannot("empty value"));
            }
            Ok(v.to_string())
        }
    }
}

/// Whitespace-separated fields; a quoted field (with its backslash escapes) stays one field.
fn tokens(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_q = false;
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '"' => {
                in_q = !in_q;
                cur.push(c);
            }
            c if c.is_whitespace() && !in_q => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Decode a Route53 escape at `b[i] == b'\\'`: `\NNN` (three octal digits) or `\c`. Returns the
/// byte and how many input bytes it used.
fn decode_escape(b: &[u8], i: usize) -> (u8, usize) {
    let oct = |k: usize| b.get(i + k).filter(|c| (b'0'..=b'7').contains(c));
    if let (Some(a), Some(m), Some(c)) = (oct(1), oct(2), oct(3)) {
        let n = u32::from(a - b'0') * 64 + u32::from(m - b'0') * 8 + u32::from(c - b'0');
        if let Ok(byte) = u8::try_from(n) {
            return (byte, 4);
        }
    }
    match b.get(i + 1) {
        Some(&c) => (c, 2),
        None => (b'\\', 1),
    }
}

/// A name as Route53 writes it (`\052.example.com.`, with or without the final dot) as labels of
/// raw bytes. The root (`.` or empty) has no labels.
pub fn parse_name(s: &str) -> Vec<Vec<u8>> {
    let b = s.as_bytes();
    let mut labels = Vec::new();
    let mut cur = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                let (c, n) = decode_escape(b, i);
                cur.push(c);
                i += n;
                continue;
            }
            b'.' => labels.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
        i += 1;
    }
    if !cur.is_empty() {
        labels.push(cur);
    }
    // `a..b` would give an empty label: drop it rather than write an invalid name.
    labels.retain(|l| !l.is_empty());
    labels
}

/// Labels as an absolute master-file name, escaped with BIND's rules (`\.`, `\;`, `\DDD` decimal).
pub fn fmt_name(labels: &[Vec<u8>]) -> String {
    if labels.is_empty() {
        return ".".into();
    }
    let mut o = String::new();
    for l in labels {
        for &c in l {
            match c {
                b'.' | b';' | b'(' | b')' | b'"' | b'\\' | b'@' | b'$' => {
                    o.push('\\');
                    o.push(c as char);
                }
                0x21..=0x7e => o.push(c as char),
                _ => {
                    let _ = write!(o, "\\{c:03}");
                }
            }
        }
        o.push('.');
    }
    o
}

/// A name in record data, made absolute (Route53 treats every name in record data as absolute,
/// with or without the final dot).
pub fn abs_name(s: &str) -> String {
    fmt_name(&parse_name(s.trim()))
}

fn lower_labels(l: &[Vec<u8>]) -> Vec<Vec<u8>> {
    l.iter().map(|x| x.to_ascii_lowercase()).collect()
}

fn same_name(name: &str, origin: &[Vec<u8>]) -> bool {
    lower_labels(&parse_name(name)) == lower_labels(origin)
}

/// True when `labels` is `origin` or below it.
fn is_within(labels: &[Vec<u8>], origin: &[Vec<u8>]) -> bool {
    labels.len() >= origin.len()
        && lower_labels(&labels[labels.len() - origin.len()..]) == lower_labels(origin)
}

/// Printable, single-line text for a comment.
fn comment_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => '?',
            c => c,
        })
        .collect()
}

/// A TXT or SPF value (Route53 syntax: one or more quoted strings, `\"`, `\\` and `\NNN` octal
/// escapes; an unquoted word is a string of its own) as master-file character-strings of at most
/// 255 bytes each, quoted, with `\DDD` decimal escapes.
pub fn txt_rdata(v: &str) -> String {
    let strings = txt_strings(v);
    let mut out = Vec::new();
    for s in &strings {
        if s.is_empty() {
            out.push("\"\"".to_string());
            continue;
        }
        for chunk in s.chunks(255) {
            out.push(quote(chunk));
        }
    }
    if out.is_empty() {
        out.push("\"\"".into());
    }
    out.join(" ")
}

/// The character-strings of a Route53 TXT value, as raw bytes.
pub fn txt_strings(v: &str) -> Vec<Vec<u8>> {
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let quoted = b[i] == b'"';
        if quoted {
            i += 1;
        }
        let mut cur = Vec::new();
        while i < b.len() {
            let c = b[i];
            if c == b'\\' {
                let (d, n) = decode_escape(b, i);
                cur.push(d);
                i += n;
                continue;
            }
            if quoted && c == b'"' {
                i += 1;
                break;
            }
            if !quoted && c.is_ascii_whitespace() {
                break;
            }
            cur.push(c);
            i += 1;
        }
        out.push(cur);
    }
    out
}

fn quote(bytes: &[u8]) -> String {
    let mut o = String::with_capacity(bytes.len() + 2);
    o.push('"');
    for &c in bytes {
        match c {
            b'"' | b'\\' => {
                o.push('\\');
                o.push(c as char);
            }
            0x20..=0x7e => o.push(c as char),
            _ => {
                let _ = write!(o, "\\{c:03}");
            }
        }
    }
    o.push('"');
    o
}

/// How an SOA value was understood.
#[derive(Debug, PartialEq, Eq)]
pub enum SoaParse {
    /// The standard seven fields: `mname rname serial refresh retry expire minimum`.
    Exact(String),
    /// Seven such fields found inside a value of another shape (quoted, wrapped).
    Recovered(String),
    Unparsable,
}

/// Parse an SOA value; the result is master-file rdata with absolute names.
pub fn parse_soa(v: &str) -> SoaParse {
    let fields: Vec<&str> = v.split_whitespace().collect();
    if let Some(rd) = soa_fields(&fields) {
        return SoaParse::Exact(rd);
    }
    // Look for seven consecutive fields of the right shape inside the value.
    let words: Vec<&str> = v
        .split(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '{' | '}' | ',' | ':'))
        .filter(|w| !w.is_empty())
        .collect();
    for w in words.windows(7) {
        if let Some(rd) = soa_fields(w) {
            return SoaParse::Recovered(rd);
        }
    }
    SoaParse::Unparsable
}

fn soa_fields(f: &[&str]) -> Option<String> {
    if f.len() != 7 {
        return None;
    }
    let name_like = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'\\'))
            && s.contains('.')
    };
    if !name_like(f[0]) || !name_like(f[1]) {
        return None;
    }
    let nums: Option<Vec<u32>> = f[2..].iter().map(|n| n.parse::<u32>().ok()).collect();
    let nums = nums?;
    Some(format!(
        "{} {} {} {} {} {} {}",
        abs_name(f[0]),
        abs_name(f[1]),
        nums[0],
        nums[1],
        nums[2],
        nums[3],
        nums[4]
    ))
}

#[cfg(test)]
mod tests {
    use super::super::model::{AliasTarget, ResourceRecord};
    use super::*;

    fn rec(name: &str, t: &str, ttl: i64, values: &[&str]) -> RecordSet {
        RecordSet {
            name: name.into(),
            rr_type: t.into(),
            set_identifier: None,
            weight: None,
            region: None,
            geo_location: None,
            failover: None,
            multi_value_answer: None,
            ttl: Some(ttl),
            resource_records: Some(
                values
                    .iter()
                    .map(|v| ResourceRecord {
                        value: v.to_string(),
                    })
                    .collect(),
            ),
            alias_target: None,
            health_check_id: None,
            traffic_policy_instance_id: None,
            cidr_routing_config: None,
            geo_proximity_location: None,
        }
    }

    #[test]
    fn names_decode_route53_octal_and_encode_bind_decimal() {
        assert_eq!(abs_name("\\052.example.com."), "*.example.com.");
        assert_eq!(abs_name("www.example.com"), "www.example.com.");
        assert_eq!(abs_name("."), ".");
        // A space (octal 040) and a dot inside a label (octal 056).
        assert_eq!(abs_name("a\\040b.example.com."), "a\\032b.example.com.");
        assert_eq!(abs_name("a\\056b.example.com."), "a\\.b.example.com.");
        assert_eq!(abs_name("caf\\303\\251.example."), "caf\\195\\169.example.");
        assert_eq!(abs_name("_sip._tcp.example.com."), "_sip._tcp.example.com.");
    }

    #[test]
    fn txt_is_split_at_255_bytes_and_escaped() {
        let long = "x".repeat(300);
        let out = txt_rdata(&format!("\"{long}\""));
        assert_eq!(
            out,
            format!("\"{}\" \"{}\"", "x".repeat(255), "x".repeat(45))
        );
        assert_eq!(txt_rdata("\"a\\\"b\" \"c d\""), "\"a\\\"b\" \"c d\"");
        // Route53's octal escape for a non-ASCII byte becomes a decimal one.
        assert_eq!(txt_rdata("\"caf\\303\\251\""), "\"caf\\195\\169\"");
        assert_eq!(txt_rdata("unquoted words"), "\"unquoted\" \"words\"");
        assert_eq!(txt_rdata("\"\""), "\"\"");
        assert_eq!(
            txt_strings("\"a\" \"b\""),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
    }

    #[test]
    fn soa_real_format_parses_and_others_are_recovered_or_synthesized() {
        assert_eq!(
            parse_soa("ns-2048.awsdns-64.net. hostmaster.example.com. 1 7200 900 1209600 86400"),
            SoaParse::Exact(
                "ns-2048.awsdns-64.net. hostmaster.example.com. 1 7200 900 1209600 86400".into()
            )
        );
        assert_eq!(
            parse_soa("{'Value': 'ns-2048.awsdns-64.com. hostmaster.example.com. 1 7200 900 1209600 86400'}"),
            SoaParse::Recovered(
                "ns-2048.awsdns-64.com. hostmaster.example.com. 1 7200 900 1209600 86400".into()
            )
        );
        assert_eq!(parse_soa("garbage"), SoaParse::Unparsable);
        let zone = ZoneInfo {
            name: "example.com.",
            id: "Z1",
            private: false,
            name_servers: &[],
            incomplete: false,
        };
        let text = render(&zone, &[rec("example.com.", "SOA", 900, &["garbage"])]);
        assert!(text.contains("; Synthesized SOA: the SOA value could not be parsed: garbage"));
        assert!(text.contains(
            "example.com.\t900\tIN\tSOA\tns.invalid. hostmaster.example.com. 1 7200 900 1209600 86400"
        ));
        assert!(text.contains("example.com.\t900\tIN\tNS\tns.invalid."));
    }

    #[test]
    fn records_render_with_absolute_names_aliases_and_routing_comments() {
        let zone = ZoneInfo {
            name: "example.com.",
            id: "Z1",
            private: false,
            name_servers: &[],
            incomplete: false,
        };
        let mut alias = rec("example.com.", "A", 0, &[]);
        alias.ttl = None;
        alias.resource_records = None;
        alias.alias_target = Some(AliasTarget {
            hosted_zone_id: "Z2FDTNDATAQYW2".into(),
            dns_name: "d111.cloudfront.net.".into(),
            evaluate_target_health: false,
        });
        let mut w1 = rec("w.example.com.", "CNAME", 60, &["blue.example.net"]);
        w1.set_identifier = Some("blue".into());
        w1.weight = Some(10);
        let mut w2 = rec("w.example.com.", "CNAME", 60, &["green.example.net"]);
        w2.set_identifier = Some("green".into());
        w2.weight = Some(0);
        let records =
            vec![
            rec("example.com.", "NS", 172800, &["ns-1.awsdns-00.com.", "ns-2.awsdns-01.net"]),
            rec(
                "example.com.",
                "SOA",
                900,
                &["ns-1.awsdns-00.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"],
            ),
            alias,
            rec("example.com.", "MX", 300, &["10 mail.example.com"]),
            rec("\\052.example.com.", "A", 60, &["192.0.2.1"]),
            rec("_sip._tcp.example.com.", "SRV", 60, &["10 5 5060 sip.example.com"]),
            w1,
            w2,
        ];
        let text = render(&zone, &records);
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with(';')).collect();
        assert_eq!(lines[0], "$ORIGIN example.com.");
        assert_eq!(lines[1], "$TTL 900");
        assert_eq!(
            lines[3],
            "example.com.\t900\tIN\tSOA\tns-1.awsdns-00.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"
        );
        assert!(text.contains("example.com.\t172800\tIN\tNS\tns-2.awsdns-01.net.\n"));
        assert!(text.contains("; ALIAS example.com. A -> d111.cloudfront.net. (Z2FDTNDATAQYW2)"));
        assert!(text.contains("example.com.\t300\tIN\tMX\t10 mail.example.com.\n"));
        assert!(text.contains("*.example.com.\t60\tIN\tA\t192.0.2.1\n"));
        assert!(text.contains("_sip._tcp.example.com.\t60\tIN\tSRV\t10 5 5060 sip.example.com.\n"));
        assert!(text.contains(
            "w.example.com.\t60\tIN\tCNAME\tblue.example.net.\t; SetIdentifier=\"blue\" Weight=10\n"
        ));
        assert!(text.contains(
            "; only one CNAME per name fits in a master file: w.example.com. 60 IN CNAME green.example.net. ; SetIdentifier=\"green\" Weight=0\n"
        ));
        // Deterministic.
        assert_eq!(text, render(&zone, &records));
    }

    #[test]
    fn awkward_zones_still_give_a_loadable_file() {
        let ns = vec!["ns-1.awsdns-00.com".to_string()];
        let zone = ZoneInfo {
            name: "odd.example.",
            id: "Z9",
            private: true,
            name_servers: &ns,
            incomplete: true,
        };
        let mut tp = rec("tp.odd.example.", "A", 60, &[]);
        tp.resource_records = None;
        tp.traffic_policy_instance_id = Some("tpi-1".into());
        let records = vec![
            // No SOA and no NS captured (the listing stopped early).
            rec("both.odd.example.", "CNAME", 60, &["target.example.net"]),
            rec("both.odd.example.", "TXT", 60, &["\"x\""]),
            rec("elsewhere.example.net.", "A", 60, &["192.0.2.1"]),
            rec("nl.odd.example.", "TXT", 60, &["\"a\nb\""]),
            rec("\\052.odd.example.", "A", 60, &["192.0.2.2"]),
            rec("sp\\040ace.odd.example.", "A", 60, &["192.0.2.3"]),
            rec("utf.odd.example.", "TXT", 60, &["\"caf\\303\\251\""]),
            tp,
        ];
        let text = render(&zone, &records);
        assert!(text.contains("; WARNING: the record listing did not complete"));
        assert!(text.contains("; Synthesized SOA: no SOA record was captured"));
        assert!(text.contains(
            "odd.example.\t300\tIN\tSOA\tns-1.awsdns-00.com. hostmaster.odd.example. 1 7200 900 1209600 86400"
        ));
        assert!(text.contains("odd.example.\t300\tIN\tNS\tns-1.awsdns-00.com.\n"));
        assert!(text.contains(
            "; a CNAME cannot share its name with other records in a master file: both.odd.example. 60 IN CNAME target.example.net."
        ));
        assert!(text.contains("both.odd.example.\t60\tIN\tTXT\t\"x\"\n"));
        assert!(text.contains("; outside the zone, not loadable here: elsewhere.example.net. A"));
        assert!(
            text.contains("; not written (line break or NUL in the value): nl.odd.example. TXT")
        );
        assert!(text.contains("*.odd.example.\t60\tIN\tA\t192.0.2.2\n"));
        assert!(text.contains("sp\\032ace.odd.example.\t60\tIN\tA\t192.0.2.3\n"));
        assert!(text.contains("utf.odd.example.\t60\tIN\tTXT\t\"caf\\195\\169\"\n"));
        assert!(text.contains("; tp.odd.example. A made by traffic policy instance tpi-1"));

        let path =
            std::env::temp_dir().join(format!("infrasnap-bind-test-{}.zone", std::process::id()));
        std::fs::write(&path, &text).unwrap();
        let out = std::process::Command::new("named-checkzone")
            .arg("odd.example")
            .arg(&path)
            .output();
        let _ = std::fs::remove_file(&path);
        match out {
            Ok(o) => assert!(
                o.status.success(),
                "named-checkzone: {}{}\n{text}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(_) => eprintln!("NOTE: named-checkzone is not installed; the file was not loaded"),
        }
    }
}
