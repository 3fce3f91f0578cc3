//! The field-by-field diff of two documents of one kind, on their canonical form
//! ([`crate::catalog::normalize::canonical`]: volatile members left out by declaration, declared
//! sets and policy statements sorted).
//!
//! - Objects: members added, removed, changed (recursively).
//! - Sets (the kind's `sets` pointers; a policy's `Statement`, and `Action`, `Resource`,
//!   principals inside statements): compared without regard to order. Elements that are objects
//!   with an identifying member (`Id`, `Name`, `Key`, `Sid`, ...) are matched by it and diffed
//!   inside; other elements are added or removed whole (an object removed and a similar one added
//!   are paired and diffed inside).
//! - Lists (every other array): matched by an identifying member where every element has one
//!   (a change of order is reported as `reordered`), else aligned by a sequence diff.
//! - A value that holds a redaction marker (`<redacted fp:...>`) is a secret: a change of it is
//!   `secret`, with neither value; an added or removed value shows `(secret)` in its place.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::kinds::KindSpec;
use crate::catalog::normalize::{canonical, join_pointer, pattern_matches};

/// What happened to a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Added,
    Removed,
    Changed,
    /// A redacted value changed: neither value is shown.
    Secret,
    /// The same elements of a list, in another order (`before`/`after`: their identifying values).
    Reordered,
}

/// One changed field of a document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// RFC 6901 pointer into the canonical form: into the `after` document, or into the `before`
    /// document for something removed.
    pub pointer: String,
    /// The same place for people: set elements matched by an identifying member are shown as
    /// `[Key=env]`, paired set elements as `[n]`; otherwise equal to `pointer`.
    pub at: String,
    pub change: Change,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// Members that identify an element of an array of objects, in order of preference.
pub const ID_MEMBERS: &[&str] = &[
    "Id",
    "ID",
    "Sid",
    "Key",
    "Name",
    "id",
    "name",
    "key",
    "Arn",
    "ARN",
    "UUID",
    "AttributeName",
    "IndexName",
    "RegionName",
    "DomainName",
    "PolicyArn",
    "PolicyName",
    "HealthCheckId",
    "Version",
];

/// What is shown in place of a secret that was added or removed.
pub const SECRET: &str = "(secret)";

static MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<redacted fp:[0-9a-f]{24}>").expect("valid regex"));

/// Does the text hold a redaction marker?
pub fn text_has_marker(s: &str) -> bool {
    MARKER.is_match(s)
}

/// Replace every redaction marker in a text by `<redacted>` (for text diffs).
pub fn mask_text(s: &str) -> String {
    MARKER.replace_all(s, "<redacted>").into_owned()
}

/// Does the value hold a redaction marker anywhere?
pub fn has_marker(v: &Value) -> bool {
    match v {
        Value::String(s) => text_has_marker(s),
        Value::Array(a) => a.iter().any(has_marker),
        Value::Object(m) => m.values().any(has_marker),
        _ => false,
    }
}

/// A copy of `v` with every string that holds a marker replaced by [`SECRET`].
pub fn mask(v: &Value) -> Value {
    match v {
        Value::String(s) if text_has_marker(s) => Value::String(SECRET.into()),
        Value::Array(a) => Value::Array(a.iter().map(mask).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), mask(v))).collect()),
        _ => v.clone(),
    }
}

/// The changes from `before` to `after`, both documents of the kind `spec`.
pub fn diff_docs(spec: Option<&KindSpec>, before: &Value, after: &Value) -> Vec<FieldChange> {
    let (a, b) = (canonical(spec, before), canonical(spec, after));
    diff_canonical(spec.map(|s| s.sets).unwrap_or(&[]), &a, &b)
}

/// [`diff_docs`] on documents already in canonical form.
pub fn diff_canonical(sets: &[&str], a: &Value, b: &Value) -> Vec<FieldChange> {
    let mut w = Walker {
        sets,
        tokens: Vec::new(),
        at: Vec::new(),
        out: Vec::new(),
    };
    w.value(a, b, Ctx::Plain);
    w.out
}

/// The value at `pointer` (RFC 6901) of `doc`'s canonical form.
pub fn canonical_at(spec: Option<&KindSpec>, doc: &Value, pointer: &str) -> Option<Value> {
    canonical(spec, doc).pointer(pointer).cloned()
}

/// Where in a policy document the walk is.
#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Plain,
    /// A policy's `Statement` array.
    Statements,
    /// One statement.
    Statement,
    /// `Action`, `Resource`, ... of a statement, or a principal's list: a set of strings.
    PolicyList,
    /// `Principal` / `NotPrincipal` of a statement.
    Principal,
}

fn is_policy(m: &Map<String, Value>) -> bool {
    matches!(
        m.get("Statement"),
        Some(Value::Array(_)) | Some(Value::Object(_))
    ) && (m.contains_key("Version") || m.contains_key("Id") || m.len() == 1)
}

struct Walker<'s> {
    sets: &'s [&'s str],
    tokens: Vec<String>,
    /// Readable segments: `/member`, `/3`, `[Key=env]`.
    at: Vec<String>,
    out: Vec<FieldChange>,
}

impl Walker<'_> {
    fn pointer(&self) -> String {
        join_pointer(&self.tokens)
    }

    fn at(&self) -> String {
        self.at.concat()
    }

    fn push(&mut self, token: String, at: String) {
        self.tokens.push(token);
        self.at.push(at);
    }

    fn pop(&mut self) {
        self.tokens.pop();
        self.at.pop();
    }

    fn emit(&mut self, change: Change, before: Option<&Value>, after: Option<&Value>) {
        let (before, after) = if change == Change::Secret {
            (None, None)
        } else {
            (before.map(mask), after.map(mask))
        };
        self.out.push(FieldChange {
            pointer: self.pointer(),
            at: self.at(),
            change,
            before,
            after,
        });
    }

    fn value(&mut self, a: &Value, b: &Value, ctx: Ctx) {
        if a == b {
            return;
        }
        match (a, b) {
            (Value::Object(ma), Value::Object(mb)) => self.object(ma, mb, ctx),
            (Value::Array(xa), Value::Array(xb)) => {
                let elem_ctx = if ctx == Ctx::Statements {
                    Ctx::Statement
                } else {
                    Ctx::Plain
                };
                let is_set = matches!(ctx, Ctx::Statements | Ctx::PolicyList)
                    || self.sets.iter().any(|p| pattern_matches(p, &self.tokens));
                if is_set {
                    self.set(xa, xb, elem_ctx);
                } else {
                    self.list(xa, xb, elem_ctx);
                }
            }
            _ if has_marker(a) || has_marker(b) => self.emit(Change::Secret, None, None),
            _ => self.emit(Change::Changed, Some(a), Some(b)),
        }
    }

    fn object(&mut self, ma: &Map<String, Value>, mb: &Map<String, Value>, ctx: Ctx) {
        let policy = is_policy(ma) || is_policy(mb);
        let keys: BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();
        for k in keys {
            let child = match ctx {
                _ if policy && k == "Statement" => Ctx::Statements,
                Ctx::Statement
                    if ["Action", "NotAction", "Resource", "NotResource"].contains(&k.as_str()) =>
                {
                    Ctx::PolicyList
                }
                Ctx::Statement if k == "Principal" || k == "NotPrincipal" => Ctx::Principal,
                Ctx::Principal => Ctx::PolicyList,
                _ => Ctx::Plain,
            };
            self.push(k.clone(), format!("/{}", escape_token(k)));
            match (ma.get(k), mb.get(k)) {
                (None, Some(v)) => self.emit(Change::Added, None, Some(v)),
                (Some(v), None) => self.emit(Change::Removed, Some(v), None),
                (Some(x), Some(y)) => self.value(x, y, child),
                (None, None) => {}
            }
            self.pop();
        }
    }

    /// Added / removed elements of a set; elements matched by an identifying member (or paired
    /// by likeness) are diffed inside.
    fn set(&mut self, a: &[Value], b: &[Value], elem: Ctx) {
        if let Some(member) = id_member(a, b) {
            self.keyed(member, a, b, elem, false);
            return;
        }
        // Multiset difference by value.
        let mut left: Vec<usize> = Vec::new();
        let mut taken = vec![false; b.len()];
        'outer: for (i, x) in a.iter().enumerate() {
            for (j, y) in b.iter().enumerate() {
                if !taken[j] && x == y {
                    taken[j] = true;
                    continue 'outer;
                }
            }
            left.push(i);
        }
        let mut right: Vec<usize> = (0..b.len()).filter(|j| !taken[*j]).collect();
        // Pair an object removed with a like one added (most members equal, at least half).
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        if left.len() * right.len() <= 10_000 {
            left.retain(|&i| {
                let best = right
                    .iter()
                    .enumerate()
                    .map(|(n, &j)| (n, likeness(&a[i], &b[j])))
                    .filter(|(_, s)| *s >= 0.5)
                    .max_by(|x, y| x.1.total_cmp(&y.1));
                match best {
                    Some((n, _)) => {
                        pairs.push((i, right.remove(n)));
                        false
                    }
                    None => true,
                }
            });
        }
        for i in left {
            self.push(i.to_string(), String::new());
            self.emit(Change::Removed, Some(&a[i]), None);
            self.pop();
        }
        pairs.sort_by_key(|p| p.1);
        for (i, j) in pairs {
            self.push(j.to_string(), format!("[{j}]"));
            self.value(&a[i], &b[j], elem);
            self.pop();
        }
        for j in right {
            self.push(j.to_string(), String::new());
            self.emit(Change::Added, None, Some(&b[j]));
            self.pop();
        }
    }

    /// Elements matched by `member`; `ordered`: also report a change of their order.
    fn keyed(&mut self, member: &str, a: &[Value], b: &[Value], elem: Ctx, ordered: bool) {
        let index = |xs: &[Value]| -> BTreeMap<String, usize> {
            xs.iter()
                .enumerate()
                .map(|(i, x)| (id_text(&x[member]), i))
                .collect()
        };
        let (ia, ib) = (index(a), index(b));
        let keys: BTreeSet<&String> = ia.keys().chain(ib.keys()).collect();
        for k in keys {
            let at = format!("[{member}={k}]");
            match (ia.get(k), ib.get(k)) {
                (Some(&i), None) => {
                    self.push(i.to_string(), at);
                    self.emit(Change::Removed, Some(&a[i]), None);
                }
                (None, Some(&j)) => {
                    self.push(j.to_string(), at);
                    self.emit(Change::Added, None, Some(&b[j]));
                }
                (Some(&i), Some(&j)) => {
                    self.push(j.to_string(), at);
                    self.value(&a[i], &b[j], elem);
                }
                (None, None) => continue,
            }
            self.pop();
        }
        if ordered {
            let common = |xs: &[Value], other: &BTreeMap<String, usize>| -> Vec<Value> {
                xs.iter()
                    .map(|x| id_text(&x[member]))
                    .filter(|k| other.contains_key(k))
                    .map(Value::String)
                    .collect()
            };
            let (oa, ob) = (common(a, &ib), common(b, &ia));
            if oa != ob {
                self.emit(
                    Change::Reordered,
                    Some(&Value::Array(oa)),
                    Some(&Value::Array(ob)),
                );
            }
        }
    }

    /// An ordered list: by identifying member, else by a sequence diff of the elements.
    fn list(&mut self, a: &[Value], b: &[Value], elem: Ctx) {
        if let Some(member) = id_member(a, b) {
            self.keyed(member, a, b, elem, true);
            return;
        }
        let ta: Vec<String> = a.iter().map(|v| v.to_string()).collect();
        let tb: Vec<String> = b.iter().map(|v| v.to_string()).collect();
        for op in similar::capture_diff_slices(similar::Algorithm::Myers, &ta, &tb) {
            match op {
                similar::DiffOp::Equal { .. } => {}
                similar::DiffOp::Delete {
                    old_index, old_len, ..
                } => self.removed(a, old_index..old_index + old_len),
                similar::DiffOp::Insert {
                    new_index, new_len, ..
                } => self.added(b, new_index..new_index + new_len),
                similar::DiffOp::Replace {
                    old_index,
                    old_len,
                    new_index,
                    new_len,
                } => {
                    let n = old_len.min(new_len);
                    let pairs = a[old_index..old_index + n]
                        .iter()
                        .zip(&b[new_index..new_index + n]);
                    for (k, (x, y)) in pairs.enumerate() {
                        let j = new_index + k;
                        self.push(j.to_string(), format!("/{j}"));
                        self.value(x, y, elem);
                        self.pop();
                    }
                    self.removed(a, old_index + n..old_index + old_len);
                    self.added(b, new_index + n..new_index + new_len);
                }
            }
        }
    }

    /// Elements `r` of the list `a` removed (by index).
    fn removed(&mut self, a: &[Value], r: std::ops::Range<usize>) {
        for (i, v) in a.iter().enumerate().take(r.end).skip(r.start) {
            self.push(i.to_string(), format!("/{i}"));
            self.emit(Change::Removed, Some(v), None);
            self.pop();
        }
    }

    /// Elements `r` of the list `b` added (by index).
    fn added(&mut self, b: &[Value], r: std::ops::Range<usize>) {
        for (j, v) in b.iter().enumerate().take(r.end).skip(r.start) {
            self.push(j.to_string(), format!("/{j}"));
            self.emit(Change::Added, None, Some(v));
            self.pop();
        }
    }
}

/// The first of [`ID_MEMBERS`] that every element of both arrays has, as a string or number,
/// with no two elements of one array sharing a value.
fn id_member(a: &[Value], b: &[Value]) -> Option<&'static str> {
    if a.is_empty() && b.is_empty() {
        return None;
    }
    ID_MEMBERS.iter().copied().find(|m| {
        [a, b].iter().all(|xs| {
            let mut seen = BTreeSet::new();
            xs.iter().all(|x| match x.get(m) {
                Some(v @ (Value::String(_) | Value::Number(_))) => seen.insert(id_text(v)),
                _ => false,
            })
        })
    })
}

fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) if text_has_marker(s) => SECRET.into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The share of members two objects have equal (0 for anything but two objects).
fn likeness(x: &Value, y: &Value) -> f64 {
    let (Value::Object(mx), Value::Object(my)) = (x, y) else {
        return 0.0;
    };
    let n = mx.len().max(my.len());
    if n == 0 {
        return 0.0;
    }
    let same = mx.iter().filter(|(k, v)| my.get(*k) == Some(v)).count();
    same as f64 / n as f64
}

fn escape_token(t: &str) -> String {
    t.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::kinds::spec;
    use rstest::rstest;
    use serde_json::json;

    const M1: &str = "<redacted fp:0123456789abcdef01234567>";
    const M2: &str = "<redacted fp:fedcba9876543210fedcba98>";

    fn lines(changes: &[FieldChange]) -> Vec<String> {
        changes
            .iter()
            .map(|c| {
                let v = |x: &Option<Value>| x.as_ref().map(|v| v.to_string()).unwrap_or_default();
                format!(
                    "{:?} {} {} {}->{}",
                    c.change,
                    c.pointer,
                    c.at,
                    v(&c.before),
                    v(&c.after)
                )
            })
            .collect()
    }

    #[rstest]
    #[case::equal(
        "aws.lambda.function",
        json!({"Configuration": {"Timeout": 3}}),
        json!({"Configuration": {"Timeout": 3}}),
        &[]
    )]
    #[case::nested_scalar(
        "aws.lambda.function",
        json!({"Configuration": {"Timeout": 3, "Handler": "a"}}),
        json!({"Configuration": {"Timeout": 10, "Handler": "a"}}),
        &["Changed /Configuration/Timeout /Configuration/Timeout 3->10"]
    )]
    #[case::member_added_and_removed(
        "aws.lambda.function",
        json!({"A": 1, "B": {"x": true}}),
        json!({"A": 1, "C": "new"}),
        &["Removed /B /B {\"x\":true}->", "Added /C /C ->\"new\""]
    )]
    #[case::volatile_ignored(
        "aws.lambda.function",
        json!({"Configuration": {"LastModified": "2026-01-01", "RevisionId": "1", "Timeout": 3}}),
        json!({"Configuration": {"LastModified": "2026-02-02", "RevisionId": "2", "Timeout": 3}}),
        &[]
    )]
    #[case::declared_set_of_strings(
        "aws.lambda.function",
        json!({"Layers": ["arn:a", "arn:b"]}),
        json!({"Layers": ["arn:c", "arn:b"]}),
        &["Removed /Layers/0 /Layers \"arn:a\"->", "Added /Layers/1 /Layers ->\"arn:c\""]
    )]
    #[case::keyed_set_diffed_inside(
        "aws.s3.bucket",
        json!({"config": {"tagging": {"state": "present", "value": {"TagSet": [
            {"Key": "team", "Value": "web"}, {"Key": "env", "Value": "prod"}]}}}}),
        json!({"config": {"tagging": {"state": "present", "value": {"TagSet": [
            {"Key": "env", "Value": "staging"}, {"Key": "owner", "Value": "ops"}]}}}}),
        &[
            "Changed /config/tagging/value/TagSet/0/Value /config/tagging/value/TagSet[Key=env]/Value \"prod\"->\"staging\"",
            "Added /config/tagging/value/TagSet/1 /config/tagging/value/TagSet[Key=owner] ->{\"Key\":\"owner\",\"Value\":\"ops\"}",
            "Removed /config/tagging/value/TagSet/1 /config/tagging/value/TagSet[Key=team] {\"Key\":\"team\",\"Value\":\"web\"}->",
        ]
    )]
    #[case::policy_reordered_is_equal(
        "aws.s3.bucket",
        json!({"config": {"policy": {"state": "present", "value": {"Version": "2012-10-17", "Statement": [
            {"Sid": "A", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "arn:aws:s3:::b/*"},
            {"Sid": "B", "Effect": "Deny", "Principal": {"AWS": ["arn:2", "arn:1"]}, "Action": "s3:DeleteObject", "Resource": "*"}]}}}}),
        json!({"config": {"policy": {"state": "present", "value": {"Statement": [
            {"Effect": "Deny", "Sid": "B", "Principal": {"AWS": ["arn:1", "arn:2"]}, "Action": ["s3:DeleteObject"], "Resource": ["*"]},
            {"Sid": "A", "Effect": "Allow", "Principal": "*", "Action": ["s3:ListBucket", "s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}],
            "Version": "2012-10-17"}}}}),
        &[]
    )]
    #[case::policy_action_added_in_a_statement_matched_by_sid(
        "aws.lambda.function",
        json!({"Policy": {"Version": "2012-10-17", "Statement": [
            {"Sid": "Invoke", "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"}]}}),
        json!({"Policy": {"Version": "2012-10-17", "Statement": [
            {"Sid": "Invoke", "Effect": "Allow", "Action": ["lambda:GetFunction", "lambda:InvokeFunction"], "Resource": "*"}]}}),
        &["Added /Policy/Statement/0/Action/0 /Policy/Statement[Sid=Invoke]/Action ->\"lambda:GetFunction\""]
    )]
    #[case::statements_without_sid_are_paired_by_likeness(
        "aws.iam.role",
        json!({"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}),
        json!({"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]}, "Action": "sts:AssumeRole"}]}}),
        &["Added /AssumeRolePolicyDocument/Statement/0/Principal/Service/0 /AssumeRolePolicyDocument/Statement[0]/Principal/Service ->\"edgelambda.amazonaws.com\""]
    )]
    #[case::secret_changed_shows_no_value(
        "aws.lambda.function",
        json!({"Configuration": {"Environment": {"Variables": {"DB": M1, "MODE": "a"}}}}),
        json!({"Configuration": {"Environment": {"Variables": {"DB": M2, "MODE": "a"}}}}),
        &["Secret /Configuration/Environment/Variables/DB /Configuration/Environment/Variables/DB ->"]
    )]
    #[case::secret_added_is_masked(
        "aws.lambda.function",
        json!({"Configuration": {"Environment": {"Variables": {}}}}),
        json!({"Configuration": {"Environment": {"Variables": {"TOKEN": M1}}}}),
        &["Added /Configuration/Environment/Variables/TOKEN /Configuration/Environment/Variables/TOKEN ->\"(secret)\""]
    )]
    #[case::secret_inside_text(
        "gas.project",
        json!({"script": format!("key = {M1};")}),
        json!({"script": format!("key = {M2};")}),
        &["Secret /script /script ->"]
    )]
    #[case::list_keyed_and_reordered(
        "aws.lambda.function",
        json!({"Aliases": [{"Name": "live", "FunctionVersion": "1"}, {"Name": "beta", "FunctionVersion": "2"}]}),
        json!({"Aliases": [{"Name": "beta", "FunctionVersion": "2"}, {"Name": "live", "FunctionVersion": "3"}]}),
        &[
            "Changed /Aliases/1/FunctionVersion /Aliases[Name=live]/FunctionVersion \"1\"->\"3\"",
            "Reordered /Aliases /Aliases [\"live\",\"beta\"]->[\"beta\",\"live\"]",
        ]
    )]
    #[case::list_by_sequence(
        "aws.lambda.function",
        json!({"Args": ["a", "b", "c"]}),
        json!({"Args": ["x", "a", "c"]}),
        &["Added /Args/0 /Args/0 ->\"x\"", "Removed /Args/1 /Args/1 \"b\"->"]
    )]
    #[case::type_change(
        "aws.lambda.function",
        json!({"Code": {"RepositoryType": "S3"}}),
        json!({"Code": "none"}),
        &["Changed /Code /Code {\"RepositoryType\":\"S3\"}->\"none\""]
    )]
    #[case::pointer_escaping(
        "aws.lambda.function",
        json!({"Tags": {"a/b~c": "1"}}),
        json!({"Tags": {"a/b~c": "2"}}),
        &["Changed /Tags/a~1b~0c /Tags/a~1b~0c \"1\"->\"2\""]
    )]
    fn json_diff(
        #[case] kind: &str,
        #[case] a: Value,
        #[case] b: Value,
        #[case] expected: &[&str],
    ) {
        let got = lines(&diff_docs(spec(kind), &a, &b));
        assert_eq!(got, expected);
    }

    #[test]
    fn markers_are_never_in_the_output() {
        let a = json!({"x": M1, "list": [M1], "obj": {"k": M1}});
        let b = json!({"x": M2, "list": [M2], "obj": {"k": M2, "new": format!("pre {M2}")}});
        let out = serde_json::to_string(&diff_docs(None, &a, &b)).unwrap();
        assert!(!out.contains("redacted fp:"), "{out}");
    }
}
