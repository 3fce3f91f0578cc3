//! CloudFront's REST-XML answers as JSON shaped like the API output (the shape `aws cloudfront
//! get-distribution-config` prints): PascalCase element names as keys, `Items` wrappers as
//! arrays, and the integer and boolean members of the CloudFront model as JSON numbers and
//! booleans. Working from the answer itself keeps every field, including ones this code does
//! not know yet.
//!
//! A small reader for the XML CloudFront sends: elements, text, the five named entities and
//! numeric character references, CDATA; attributes (`xmlns`), comments, the declaration and
//! processing instructions are skipped.

use serde_json::{Map, Value};

use crate::aws::capture::unreadable;
use crate::aws::sdk_error::ApiFailure;

/// An answer that is not the XML it should be (code `Unreadable`: a retry will not help).
fn malformed(why: impl std::fmt::Display) -> ApiFailure {
    unreadable(format!("unreadable XML answer: {why}"))
}

/// One element: its name, its child elements in order, its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub name: String,
    pub children: Vec<Element>,
    pub text: String,
}

/// Elements whose children are the members of a list.
const LIST_WRAPPERS: &[&str] = &["Items", "AliasICPRecordals"];

/// Integer (and the one floating point) members of the CloudFront model.
#[rustfmt::skip]
const NUMBERS: &[&str] = &[
    "Quantity", "MaxItems", "HTTPPort", "HTTPSPort", "OriginReadTimeout",
    "OriginKeepaliveTimeout", "ConnectionAttempts", "ConnectionTimeout",
    "ResponseCompletionTimeout", "MinTTL", "DefaultTTL", "MaxTTL", "ErrorCode",
    "ErrorCachingMinTTL", "StatusCode", "InProgressInvalidationBatches",
    "AccessControlMaxAgeSec", "SamplingRate", "IdleTTL", "MaximumTTL", "Weight",
    "IpCount",
];

/// Boolean members of the CloudFront model.
#[rustfmt::skip]
const BOOLEANS: &[&str] = &[
    "Enabled", "IncludeCookies", "SmoothStreaming", "Compress", "QueryString",
    "IsIPV6Enabled", "Staging", "CloudFrontDefaultCertificate", "EnableAcceptEncodingGzip",
    "EnableAcceptEncodingBrotli", "IncludeBody", "Override", "AccessControlAllowCredentials",
    "IncludeSubdomains", "Preload", "ModeBlock", "Protection", "IsTruncated",
    "ForwardWhenContentTypeIsUnknown", "ForwardWhenQueryArgProfileIsUnknown",
    "OriginShieldEnabled", "CopyTags",
];

/// Parse an XML document into its root element.
pub fn parse(xml: &str) -> Result<Element, ApiFailure> {
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let b = xml.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'<' {
            let rest = &xml[i..];
            if rest.starts_with("<?") {
                i += find(rest, "?>")? + 2;
            } else if rest.starts_with("<!--") {
                i += find(rest, "-->")? + 3;
            } else if rest.starts_with("<![CDATA[") {
                let end = find(rest, "]]>")?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&rest[9..end]);
                }
                i += end + 3;
            } else if rest.starts_with("<!") {
                i += find(rest, ">")? + 1;
            } else if let Some(close) = rest.strip_prefix("</") {
                let end = find(close, ">")?;
                let name = close[..end].trim();
                let el = stack
                    .pop()
                    .ok_or_else(|| malformed("a closing tag without an opening one"))?;
                if el.name != name {
                    return Err(malformed(format!("</{name}> closes <{}>", el.name)));
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
                i += 2 + end + 1;
            } else {
                let end = find(rest, ">")?;
                let inner = &rest[1..end];
                let empty = inner.ends_with('/');
                let inner = inner.trim_end_matches('/');
                let name = inner
                    .split(|c: char| c.is_ascii_whitespace())
                    .next()
                    .unwrap_or("")
                    .to_string();
                if name.is_empty() {
                    return Err(malformed("an element without a name"));
                }
                let el = Element {
                    name,
                    children: Vec::new(),
                    text: String::new(),
                };
                if empty {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(el),
                        None => root = Some(el),
                    }
                } else {
                    stack.push(el);
                }
                i += end + 1;
            }
        } else {
            let next = xml[i..].find('<').map(|n| i + n).unwrap_or(b.len());
            let raw = &xml[i..next];
            match stack.last_mut() {
                Some(top) => top.text.push_str(&unescape(raw)?),
                None if raw.trim().is_empty() => {}
                None => return Err(malformed("text outside the root element")),
            }
            i = next;
        }
    }
    if !stack.is_empty() {
        let open = &stack[stack.len() - 1].name;
        return Err(malformed(format!("<{open}> is never closed")));
    }
    root.ok_or_else(|| malformed("no root element"))
}

fn find(s: &str, pat: &str) -> Result<usize, ApiFailure> {
    s.find(pat)
        .ok_or_else(|| malformed(format!("unterminated markup (no {pat:?})")))
}

fn unescape(s: &str) -> Result<String, ApiFailure> {
    if !s.contains('&') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        let end = after
            .find(';')
            .ok_or_else(|| malformed("an entity without ';'"))?;
        let ent = &after[..end];
        let c = match ent {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(h) = ent.strip_prefix("#x").or(ent.strip_prefix("#X")) {
                    u32::from_str_radix(h, 16).ok()
                } else if let Some(d) = ent.strip_prefix('#') {
                    d.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .ok_or_else(|| malformed(format!("unknown entity &{ent};")))?
            }
        };
        out.push(c);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The JSON value of an element (its name is the caller's key).
pub fn to_json(el: &Element) -> Value {
    if LIST_WRAPPERS.contains(&el.name.as_str()) {
        return Value::Array(el.children.iter().map(to_json).collect());
    }
    if el.children.is_empty() {
        return leaf(&el.name, &el.text);
    }
    let mut map = Map::new();
    for c in &el.children {
        let v = to_json(c);
        match map.get_mut(&c.name) {
            // A repeated member outside an `Items` wrapper: keep every one.
            Some(Value::Array(a)) if c.name != "Items" => a.push(v),
            Some(prev) => {
                let p = prev.take();
                *prev = Value::Array(vec![p, v]);
            }
            None => {
                map.insert(c.name.clone(), v);
            }
        }
    }
    Value::Object(map)
}

fn leaf(name: &str, text: &str) -> Value {
    if NUMBERS.contains(&name) {
        if let Ok(n) = text.trim().parse::<i64>() {
            return Value::from(n);
        }
        if let Some(n) = text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
        {
            return Value::Number(n);
        }
    }
    if BOOLEANS.contains(&name) {
        match text.trim() {
            "true" => return Value::Bool(true),
            "false" => return Value::Bool(false),
            _ => {}
        }
    }
    Value::String(text.to_string())
}

/// Parse `xml` and return the JSON of its root element.
pub fn document(xml: &[u8]) -> Result<Value, ApiFailure> {
    let s = std::str::from_utf8(xml).map_err(|e| malformed(format!("not UTF-8: {e}")))?;
    Ok(to_json(&parse(s)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_distribution_config_becomes_api_shaped_json() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<DistributionConfig xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">
  <CallerReference>ref &amp; &#65;&#x42;</CallerReference>
  <Aliases><Quantity>2</Quantity><Items><CNAME>a.example.com</CNAME><CNAME>b.example.com</CNAME></Items></Aliases>
  <Origins><Quantity>1</Quantity><Items><Origin><Id>1</Id><DomainName>x</DomainName>
    <CustomHeaders><Quantity>0</Quantity><Items/></CustomHeaders>
    <CustomOriginConfig><HTTPPort>80</HTTPPort><OriginProtocolPolicy>https-only</OriginProtocolPolicy></CustomOriginConfig>
  </Origin></Items></Origins>
  <Comment/>
  <Enabled>true</Enabled>
  <DefaultCacheBehavior><MinTTL>0</MinTTL><Compress>false</Compress></DefaultCacheBehavior>
  <!-- a comment -->
  <Logging><Bucket><![CDATA[b<1>]]></Bucket></Logging>
</DistributionConfig>"#;
        let v = document(xml.as_bytes()).unwrap();
        assert_eq!(
            v,
            json!({
                "CallerReference": "ref & AB",
                "Aliases": {"Quantity": 2, "Items": ["a.example.com", "b.example.com"]},
                "Origins": {"Quantity": 1, "Items": [{
                    "Id": "1", "DomainName": "x",
                    "CustomHeaders": {"Quantity": 0, "Items": []},
                    "CustomOriginConfig": {"HTTPPort": 80, "OriginProtocolPolicy": "https-only"}
                }]},
                "Comment": "",
                "Enabled": true,
                "DefaultCacheBehavior": {"MinTTL": 0, "Compress": false},
                "Logging": {"Bucket": "b<1>"}
            })
        );
    }

    #[test]
    fn malformed_xml_is_an_error() {
        assert!(document(b"<a><b></a>").is_err());
        assert!(document(b"<a>").is_err());
        assert!(document(b"<a>&bogus;</a>").is_err());
    }
}
