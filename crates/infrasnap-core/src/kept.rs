//! Kept secret values of cloud resources (`--keep-secrets`): the originals of what a resource's
//! document holds only as redaction markers or fingerprints, encrypted to the configured age
//! recipient as the resource's part [`KEPT_PART`] (the same keeping as the local sources'
//! `kept_secrets/*.age`: one [`Encrypter`], implemented by the collectors' `Keeper`).
//!
//! The plain content (never written unencrypted, never printed) is a JSON object whose keys are
//! either a marker (`<redacted fp:...>`: every occurrence of it in the document stands for the
//! value) or a JSON pointer (`/Value`: the document's member there is the value, for values a
//! document holds only as a fingerprint, such as an SSM SecureString). Restore decrypts it with
//! the age identity and puts the values back ([`KeptValues::put_back`]) before a writer reads the
//! document.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::secrets::is_marker;

/// The part name of a resource's kept values.
pub const KEPT_PART: &str = "kept.age";

/// Encrypts kept originals to one recipient (the collectors' age `Keeper`).
pub trait Encrypter: Send + Sync {
    /// The recipient (`age1...`).
    fn recipient(&self) -> &str;
    /// The ciphertext of `bytes`.
    fn encrypt(&self, bytes: &[u8]) -> Result<Vec<u8>, String>;
}

/// The original values of one resource's redacted members. Debug shows the keys only.
#[derive(Default, Clone, PartialEq)]
pub struct KeptValues(BTreeMap<String, String>);

impl fmt::Debug for KeptValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl KeptValues {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The value of the member at `pointer` (a document that holds only its fingerprint).
    pub fn member(&mut self, pointer: &str, value: &str) {
        self.0.insert(pointer.to_string(), value.to_string());
    }

    /// Every string of `redacted` that is exactly a marker where `original` (the same document
    /// before redaction) has another string: that string is the marker's value.
    pub fn markers(&mut self, original: &Value, redacted: &Value) {
        match (original, redacted) {
            (Value::String(o), Value::String(r)) if is_marker(r) && o != r => {
                self.0.insert(r.clone(), o.clone());
            }
            // A number or boolean redacted (an environment value given as `5`).
            (o @ (Value::Number(_) | Value::Bool(_)), Value::String(r)) if is_marker(r) => {
                self.0.insert(r.clone(), o.to_string());
            }
            (Value::Object(o), Value::Object(r)) => {
                for (k, rv) in r {
                    if let Some(ov) = o.get(k) {
                        self.markers(ov, rv);
                    }
                }
            }
            (Value::Array(o), Value::Array(r)) if o.len() == r.len() => {
                for (ov, rv) in o.iter().zip(r) {
                    self.markers(ov, rv);
                }
            }
            _ => {}
        }
    }

    /// The plain JSON (only ever handed to the encrypter).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).expect("serialisable")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<KeptValues, String> {
        serde_json::from_slice(bytes)
            .map(KeptValues)
            .map_err(|e| format!("the kept values are not what infrasnap wrote: {e}"))
    }

    /// Put the values back into `doc`: every marker occurrence replaced, every pointer member
    /// set (its parent must exist). Returns how many places were filled.
    pub fn put_back(&self, doc: &mut Value) -> usize {
        let mut n = 0;
        for (k, v) in self.0.iter().filter(|(k, _)| k.starts_with('/')) {
            let (parent, last) = k.rsplit_once('/').expect("starts with /");
            let last = last.replace("~1", "/").replace("~0", "~");
            let target = if parent.is_empty() {
                Some(&mut *doc)
            } else {
                doc.pointer_mut(parent)
            };
            if let Some(Value::Object(m)) = target {
                m.insert(last, Value::String(v.clone()));
                n += 1;
            }
        }
        n + self.replace_markers(doc)
    }

    fn replace_markers(&self, v: &mut Value) -> usize {
        match v {
            Value::String(s) if s.contains("<redacted fp:") => {
                let mut n = 0;
                for (k, orig) in self.0.iter().filter(|(k, _)| !k.starts_with('/')) {
                    if s.contains(k.as_str()) {
                        *s = s.replace(k.as_str(), orig);
                        n += 1;
                    }
                }
                n
            }
            Value::Array(a) => a.iter_mut().map(|x| self.replace_markers(x)).sum(),
            Value::Object(m) => m.values_mut().map(|x| self.replace_markers(x)).sum(),
            _ => 0,
        }
    }
}

/// Folder part of a local source holding kept originals (`kept_secrets/<path>.age`); a step
/// that applies a kept patch names it as its part `kept_secrets/<patch>.age`.
pub const KEPT_DIR: &str = "kept_secrets";

/// The blobs a step writes from what the snapshot kept encrypted (its `kept.age` part, kept
/// originals of a local source's files and patches): applying it needs the age identity.
pub fn encrypted_blobs(step: &crate::restore::Step) -> Vec<crate::ids::BlobId> {
    let mut out: Vec<crate::ids::BlobId> = step
        .parts
        .iter()
        .filter(|(n, _)| *n == KEPT_PART || n.starts_with(&format!("{KEPT_DIR}/")))
        .map(|(_, b)| *b)
        .collect();
    if let crate::restore::Subject::Dir { files, .. } = &step.subject {
        out.extend(files.iter().filter(|f| f.encrypted).map(|f| f.blob));
    }
    out
}

/// The size of the plaintext of an age file (binary format, as `age::encrypt` writes it),
/// read from its length and header without decrypting: the header ends with the `--- <mac>`
/// line; then a 16-byte nonce and the payload in chunks of up to 64 KiB, each with a 16-byte tag
/// (at least one chunk, the last). None when `ct` is not shaped so.
pub fn age_plain_size(ct: &[u8]) -> Option<u64> {
    const CHUNK: u64 = 64 * 1024;
    const TAG: u64 = 16;
    if !ct.starts_with(b"age-encryption.org/v1\n") {
        return None;
    }
    let mac = ct.windows(5).position(|w| w == b"\n--- ")? + 1;
    let end = mac + ct[mac..].iter().position(|b| *b == b'\n')? + 1;
    let payload = (ct.len() - end) as u64;
    let sealed = payload.checked_sub(16)?;
    let chunks = sealed.div_ceil(CHUNK + TAG).max(1);
    sealed.checked_sub(chunks * TAG)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Fingerprinter;
    use serde_json::json;

    #[test]
    fn markers_found_by_comparing_and_put_back_exactly() {
        let fp = Fingerprinter::from_key([3; 32]);
        let original = json!({"Env": {"A": "s3cr3t-value", "N": 5, "B": "plain"}, "L": ["x"]});
        let redacted = json!({
            "Env": {"A": fp.marker(b"s3cr3t-value"), "N": fp.marker(b"5"), "B": "plain"},
            "L": ["x"]
        });
        let mut kept = KeptValues::default();
        kept.markers(&original, &redacted);
        assert_eq!(kept.len(), 2);
        assert!(!format!("{kept:?}").contains("s3cr3t"));
        let back = KeptValues::from_bytes(&kept.to_bytes()).unwrap();
        let mut doc = redacted.clone();
        assert_eq!(back.put_back(&mut doc), 2);
        assert_eq!(doc["Env"]["A"], "s3cr3t-value");
        assert_eq!(doc["Env"]["N"], "5");
        assert_eq!(doc["Env"]["B"], "plain");
    }

    #[test]
    fn pointer_members_are_set_and_markers_inside_text_replaced() {
        let fp = Fingerprinter::from_key([3; 32]);
        let m = fp.marker(b"tok");
        let mut kept = KeptValues::default();
        kept.member("/Value", "hunter22");
        kept.member("/Missing/Value", "x");
        kept.markers(&json!("tok"), &json!(m.clone()));
        let mut doc =
            json!({"Name": "p", "ValueFingerprint": "fp:1", "Url": format!("https://u/?t={m}")});
        assert_eq!(kept.put_back(&mut doc), 2);
        assert_eq!(doc["Value"], "hunter22");
        assert_eq!(doc["Url"], "https://u/?t=tok");
        assert!(doc.get("Missing").is_none());
    }

    #[test]
    fn age_plain_sizes_from_the_shape_of_the_file() {
        let header = b"age-encryption.org/v1\n-> X25519 abc\nbody\n-> x-grease 1\n\n--- mac\n";
        let file = |payload: usize| {
            let mut v = header.to_vec();
            v.extend(std::iter::repeat_n(0u8, payload));
            v
        };
        // nonce + one tag: the empty file.
        assert_eq!(age_plain_size(&file(16 + 16)), Some(0));
        assert_eq!(age_plain_size(&file(16 + 5 + 16)), Some(5));
        assert_eq!(age_plain_size(&file(16 + 65536 + 16)), Some(65536));
        assert_eq!(age_plain_size(&file(16 + 65536 + 16 + 1 + 16)), Some(65537));
        assert_eq!(age_plain_size(&file(10)), None);
        assert_eq!(age_plain_size(b"not age"), None);
    }
}
