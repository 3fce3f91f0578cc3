//! One way to turn SDK answers into documents, for the collectors that build them from the SDK's
//! types (JSON-protocol services whose raw answer is kept use [`crate::aws::capture`] instead):
//! a [`Doc`] built field by field, or [`obj`] from pairs. Either way absent values, empty lists
//! and empty objects are left out, keys are sorted (serde_json's map is ordered), times are
//! RFC 3339 UTC, sets are sorted without duplicates, and tags are `[{"Key", "Value"}]` sorted.

use std::collections::HashMap;

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde_json::{Map, Value};

/// True for what a document leaves out: null, an empty list, an empty object.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// A document built field by field; `None`s, empty lists and empty objects are left out.
#[derive(Default)]
pub struct Doc(Map<String, Value>);

impl Doc {
    pub fn new() -> Self {
        Doc(Map::new())
    }

    /// Any value; left out when null, an empty list or an empty object.
    pub fn v(mut self, k: &str, v: impl Into<Value>) -> Self {
        let v = v.into();
        if !is_empty(&v) {
            self.0.insert(k.to_string(), v);
        }
        self
    }

    pub fn s(self, k: &str, v: Option<&str>) -> Self {
        self.v(k, s(v))
    }

    pub fn o<T: Into<Value>>(self, k: &str, v: Option<T>) -> Self {
        self.v(k, v.map(Into::into))
    }

    pub fn t(self, k: &str, v: Option<&DateTime>) -> Self {
        self.v(k, time(v))
    }

    /// A list kept in the order the service gave it (where order can matter).
    pub fn list(self, k: &str, v: &[String]) -> Self {
        self.v(k, Value::from(v.to_vec()))
    }

    /// A list that is a set: sorted, duplicates removed.
    pub fn set(self, k: &str, v: &[String]) -> Self {
        self.v(k, set_of(v))
    }

    pub fn map(self, k: &str, v: Option<&HashMap<String, String>>) -> Self {
        self.v(k, v.map(str_map).unwrap_or(Value::Null))
    }

    pub fn build(self) -> Value {
        Value::Object(self.0)
    }
}

/// A document from pairs, by the same rule as [`Doc`].
pub fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .filter(|(_, v)| !is_empty(v))
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// A string, or null.
pub fn s(v: Option<&str>) -> Value {
    v.map(Value::from).unwrap_or(Value::Null)
}

/// A time as RFC 3339 UTC, or null.
pub fn time(v: Option<&DateTime>) -> Value {
    v.and_then(|d| d.fmt(Format::DateTime).ok())
        .map(Value::String)
        .unwrap_or(Value::Null)
}

/// Strings that are a set: sorted, duplicates removed.
pub fn set(mut v: Vec<String>) -> Value {
    v.sort();
    v.dedup();
    Value::from(v)
}

/// A slice of strings that is a set: sorted, duplicates removed.
pub fn set_of(v: &[String]) -> Value {
    set(v.to_vec())
}

/// A map of strings (keys sorted).
pub fn str_map(m: &HashMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    )
}

/// Tags as `[{"Key": .., "Value": ..}]`, sorted, duplicates removed.
pub fn tags<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Value {
    let mut v: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    v.sort();
    v.dedup();
    Value::Array(
        v.into_iter()
            .map(|(k, v)| serde_json::json!({"Key": k, "Value": v}))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_leave_out_what_is_absent_and_sort_sets_and_tags() {
        let d = Doc::new()
            .s("Name", Some("a"))
            .s("Gone", None)
            .set("Set", &["b".into(), "a".into(), "b".into()])
            .list("List", &[])
            .t("At", Some(&DateTime::from_secs(0)))
            .o("N", Some(3))
            .build();
        assert_eq!(
            d,
            json!({"Name": "a", "Set": ["a", "b"], "At": "1970-01-01T00:00:00Z", "N": 3})
        );
        assert_eq!(
            obj(vec![("B", json!(1)), ("A", json!({})), ("C", s(None))]),
            json!({"B": 1})
        );
        assert_eq!(
            tags([("z", "1"), ("a", "2")]),
            json!([{"Key": "a", "Value": "2"}, {"Key": "z", "Value": "1"}])
        );
    }
}
