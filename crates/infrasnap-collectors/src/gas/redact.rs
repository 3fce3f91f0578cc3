//! Secrets in Apps Script sources (API keys in code are common) and in the JSON the APIs return:
//! replaced by the repository's keyed markers (`infrasnap_core::secrets`) before anything is
//! stored, and reported by file, line and kind, never by value.

use infrasnap_core::engine::RunContext;
use infrasnap_core::secrets::{redact_json, redact_text, Fingerprinter};
use serde_json::Value;

/// One secret found in a text (never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub line: usize,
    pub kind: String,
}

pub struct Redactor {
    fp: Fingerprinter,
}

impl Redactor {
    /// The repository's fingerprinter. If its key cannot be read or made, secrets are still
    /// redacted, with a key of this run only (markers then differ from other runs'): the error
    /// is returned for the report.
    pub fn for_run(cx: &RunContext) -> (Redactor, Option<String>) {
        match Fingerprinter::for_repository(&cx.repo.root().join(".infrasnap")) {
            Ok(fp) => (Redactor { fp }, None),
            Err(e) => {
                let seed = format!(
                    "{:?}/{}/{:p}",
                    std::time::SystemTime::now(),
                    std::process::id(),
                    cx
                );
                let key: [u8; 32] = blake3::hash(seed.as_bytes()).into();
                (
                    Redactor {
                        fp: Fingerprinter::from_key(key),
                    },
                    Some(format!(
                        "the repository's fingerprint key is not usable ({e}); secrets are redacted \
                         with a key of this run only"
                    )),
                )
            }
        }
    }

    /// The text with every secret replaced by its marker, and what was found.
    pub fn text(&self, text: &str) -> (String, Vec<Found>) {
        let (out, findings) = redact_text(text, &self.fp);
        let found = findings
            .into_iter()
            .map(|f| Found {
                line: f.line,
                kind: f.kind.as_str().to_string(),
            })
            .collect();
        (out, found)
    }

    /// Redact a JSON document in place; returns the JSON pointers of the values replaced.
    pub fn json(&self, v: &mut Value) -> Vec<String> {
        redact_json(v, &self.fp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_code_are_replaced_and_reported_by_line() {
        let r = Redactor {
            fp: Fingerprinter::from_key([7; 32]),
        };
        let src = "function f() {\n  var k = 'AIzaSyA1234567890abcdefghijklmnopqrstuv';\n  return 1;\n}\n";
        let (t, f) = r.text(src);
        assert!(!t.contains("AIzaSyA1234567890"), "{t}");
        assert_eq!(f.iter().map(|f| f.line).collect::<Vec<_>>(), [2]);
        let clean = "function onOpen() {\n  SpreadsheetApp.getUi().createMenu('x');\n}\n";
        assert_eq!(r.text(clean), (clean.to_string(), vec![]));
    }
}
