//! The form in which two documents of one kind are compared: volatile members removed, arrays the
//! service treats as sets sorted, policy documents normalised. The catalog's `digest` is the hash
//! of this form, so two snapshots of an unchanged resource have equal digests.

use serde_json::Value;

use super::kinds::KindSpec;

/// Does the pointer pattern (`*` = any one token) match the pointer given as tokens?
pub fn pattern_matches(pattern: &str, tokens: &[String]) -> bool {
    let pat: Vec<String> = split_pointer(pattern);
    pat.len() == tokens.len() && pat.iter().zip(tokens).all(|(p, t)| p == "*" || p == t)
}

/// RFC 6901 tokens of a pointer (`""` is the whole document: no tokens).
pub fn split_pointer(p: &str) -> Vec<String> {
    if p.is_empty() {
        return Vec::new();
    }
    p.trim_start_matches('/')
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The pointer text of `tokens`.
pub fn join_pointer(tokens: &[String]) -> String {
    let mut s = String::new();
    for t in tokens {
        s.push('/');
        s.push_str(&t.replace('~', "~0").replace('/', "~1"));
    }
    s
}

/// The document as it is compared: a copy with the kind's volatile members removed, its sets
/// sorted, and every policy document normalised.
pub fn canonical(spec: Option<&KindSpec>, doc: &Value) -> Value {
    let mut v = doc.clone();
    let mut path = Vec::new();
    if let Some(spec) = spec {
        remove_volatile(&mut v, spec.volatile, &mut path);
    }
    normalise(&mut v, spec.map(|s| s.sets).unwrap_or(&[]), &mut path);
    v
}

/// The identity member (`spec.identity`, [`KindSpec::identity`]) a change at `pointer` is at or
/// below, named by its last token (`RoleId`).
pub fn identity_member(spec: Option<&KindSpec>, pointer: &str) -> Option<String> {
    let tokens = split_pointer(pointer);
    spec?.identity.iter().find_map(|pat| {
        let n = split_pointer(pat).len();
        (tokens.len() >= n && pattern_matches(pat, &tokens[..n]))
            .then(|| split_pointer(pat).pop().unwrap_or_default())
    })
}

/// The hex BLAKE3 of the canonical form's compact JSON (object keys are sorted by serde_json's
/// map).
pub fn digest(spec: Option<&KindSpec>, doc: &Value) -> String {
    let c = canonical(spec, doc);
    blake3::hash(&serde_json::to_vec(&c).expect("JSON"))
        .to_hex()
        .to_string()
}

/// Remove the members matching any of `patterns` (pointer patterns, `*` = any one token; a bare
/// name is a top-level member).
pub fn remove_members(v: &mut Value, patterns: &[&str]) {
    remove_volatile(v, patterns, &mut Vec::new());
}

fn remove_volatile(v: &mut Value, volatile: &[&str], path: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                path.push(k.clone());
                if volatile.iter().any(|p| pattern_matches(p, path)) {
                    map.remove(&k);
                } else if let Some(child) = map.get_mut(&k) {
                    remove_volatile(child, volatile, path);
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                remove_volatile(item, volatile, path);
                path.pop();
            }
        }
        _ => {}
    }
}

fn is_policy(map: &serde_json::Map<String, Value>) -> bool {
    matches!(
        map.get("Statement"),
        Some(Value::Array(_)) | Some(Value::Object(_))
    ) && (map.contains_key("Version") || map.contains_key("Id") || map.len() == 1)
}

const POLICY_LISTS: &[&str] = &["Action", "NotAction", "Resource", "NotResource"];

fn normalise(v: &mut Value, sets: &[&str], path: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if is_policy(map) {
                // A single statement object is the same as a list of one; statements are a set;
                // Action/Resource (and principals) may be a string or a list of strings.
                if let Some(st) = map.get_mut("Statement") {
                    if st.is_object() {
                        *st = Value::Array(vec![st.take()]);
                    }
                    if let Value::Array(items) = st {
                        for s in items.iter_mut() {
                            if let Value::Object(s) = s {
                                for k in POLICY_LISTS {
                                    if let Some(x) = s.get_mut(*k) {
                                        string_or_list_to_sorted_list(x);
                                    }
                                }
                                for k in ["Principal", "NotPrincipal"] {
                                    if let Some(Value::Object(p)) = s.get_mut(k) {
                                        for (_, x) in p.iter_mut() {
                                            string_or_list_to_sorted_list(x);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                path.push(k.clone());
                if let Some(child) = map.get_mut(&k) {
                    normalise(child, sets, path);
                }
                path.pop();
            }
            // Statements are a set: sorted once each is in its normal form.
            if is_policy(map) {
                if let Some(st) = map.get_mut("Statement") {
                    sort_array(st);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                normalise(item, sets, path);
                path.pop();
            }
        }
        _ => {}
    }
    if matches!(v, Value::Array(_)) && sets.iter().any(|p| pattern_matches(p, path)) {
        sort_array(v);
    }
}

fn string_or_list_to_sorted_list(x: &mut Value) {
    match x {
        Value::String(s) => *x = Value::Array(vec![Value::String(std::mem::take(s))]),
        Value::Array(_) => {}
        _ => return,
    }
    sort_array(x);
    if let Value::Array(items) = x {
        items.dedup();
    }
}

/// Sort an array by the compact JSON text of its elements (a total, stable order).
pub fn sort_array(v: &mut Value) {
    if let Value::Array(items) = v {
        let mut keyed: Vec<(String, Value)> = items
            .drain(..)
            .map(|x| (serde_json::to_string(&x).expect("JSON"), x))
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        items.extend(keyed.into_iter().map(|(_, x)| x));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> &'static KindSpec {
        super::super::kinds::spec("aws.lambda.function").unwrap()
    }

    #[test]
    fn volatile_members_are_left_out() {
        let a = json!({"Configuration": {"LastModified": "1", "Timeout": 3}, "Versions": [{"LastModified": "x", "Version": "1"}]});
        let b = json!({"Configuration": {"LastModified": "2", "Timeout": 3}, "Versions": [{"LastModified": "y", "Version": "1"}]});
        assert_eq!(digest(Some(spec()), &a), digest(Some(spec()), &b));
        let c = json!({"Configuration": {"LastModified": "2", "Timeout": 4}, "Versions": [{"Version": "1"}]});
        assert_ne!(digest(Some(spec()), &a), digest(Some(spec()), &c));
    }

    #[test]
    fn reordered_policy_statements_and_actions_are_equal() {
        let a = json!({"Policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]}});
        let b = json!({"Policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": ["s3:DeleteObject"], "Resource": ["*"]},
            {"Resource": "*", "Action": ["s3:PutObject", "s3:GetObject"], "Effect": "Allow"}]}});
        assert_eq!(canonical(None, &a), canonical(None, &b));
        let single = json!({"P": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "x", "Resource": "*"}}});
        let listed = json!({"P": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["x"], "Resource": ["*"]}]}});
        assert_eq!(canonical(None, &single), canonical(None, &listed));
    }

    #[test]
    fn declared_sets_ignore_order_and_lists_do_not() {
        let a = json!({"Layers": ["b", "a"], "Configuration": {"Handler": "x"}, "Other": [1, 2]});
        let b = json!({"Layers": ["a", "b"], "Configuration": {"Handler": "x"}, "Other": [1, 2]});
        let c = json!({"Layers": ["a", "b"], "Configuration": {"Handler": "x"}, "Other": [2, 1]});
        assert_eq!(digest(Some(spec()), &a), digest(Some(spec()), &b));
        assert_ne!(digest(Some(spec()), &b), digest(Some(spec()), &c));
    }

    #[test]
    fn wildcard_patterns() {
        let t = |s: &str| split_pointer(s);
        assert!(pattern_matches("/a/*/b", &t("/a/3/b")));
        assert!(!pattern_matches("/a/*/b", &t("/a/3/c")));
        assert!(!pattern_matches("/a/*", &t("/a/3/c")));
        assert_eq!(join_pointer(&t("/a~1b/c~0d")), "/a~1b/c~0d");
    }
}
