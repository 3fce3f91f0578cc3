//! The one escaping scheme that turns a piece of a resource id into a path segment, and back.
//!
//! - Bytes in `[A-Za-z0-9._+=,@-]` stay as they are; every other byte (of the UTF-8 text) is
//!   written `%XX`, upper-case hex. So `my-function` stays `my-function`, `/service-role/x`
//!   becomes `%2Fservice-role%2Fx`, `arn:aws:...` becomes `arn%3Aaws%3A...`.
//! - The empty string is written `%`; `.` and `..` are written `%2E` and `%2E%2E`.
//! - A segment whose escaped form is longer than [`MAX_SEGMENT`] bytes is cut to 180 bytes (at an
//!   escape boundary) followed by `~` and 16 hex digits of the BLAKE3 hash of the raw text. `~`
//!   never appears otherwise, so [`unescape`] knows such a segment is not reversible by itself:
//!   the catalog maps it back (`catalog/resources.jsonl` holds every path with its id).
//!
//! Part names and labels (file names such as `ui/Sidebar.html` or `My Script.gs`, a zone's or a
//! project's readable name) use [`escape_name`], which keeps every byte but `%`, `/`, `\\`, `~`
//! and control characters, so the file keeps the name its own tools expect (clasp pushes
//! `My Script.gs` under that name); the other rules (empty, `.`, `..`, length) are the same.
//!
//! docs/FORMAT.md section 23 documents the same rules.

/// The longest segment written as is (well under the 255 bytes of common filesystems).
pub const MAX_SEGMENT: usize = 200;
const CUT_TO: usize = 180;

fn safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'=' | b',' | b'@')
}

/// The path segment for `raw`.
pub fn escape(raw: &str) -> String {
    escape_with(raw, safe)
}

/// A name kept readable: every byte but `%`, `/`, `\\`, `~` (which marks a cut segment) and
/// control characters stays as it is.
fn lenient(b: u8) -> bool {
    !(b == b'%' || b == b'/' || b == b'\\' || b == b'~' || b < 0x20 || b == 0x7f)
}

/// The path segment for a name (a part's file name, a label): see the module doc.
pub fn escape_name(raw: &str) -> String {
    escape_with(raw, lenient)
}

fn escape_with(raw: &str, safe: fn(u8) -> bool) -> String {
    if raw.is_empty() {
        return "%".into();
    }
    if raw == "." || raw == ".." {
        return "%2E".repeat(raw.len());
    }
    // Kept bytes of a multi-byte character are all kept (each is >= 0x80), so `out` is UTF-8.
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    for &b in raw.as_bytes() {
        if safe(b) {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    let out = String::from_utf8(out).expect("kept bytes form whole characters");
    if out.len() <= MAX_SEGMENT {
        return out;
    }
    // Cut at an escape and character boundary, then name the whole by its hash.
    let mut cut = CUT_TO;
    while cut > 0
        && (!out.is_char_boundary(cut)
            || out.as_bytes()[cut - 1] == b'%'
            || (cut >= 2 && out.as_bytes()[cut - 2] == b'%'))
    {
        cut -= 1;
    }
    let h = blake3::hash(raw.as_bytes()).to_hex();
    format!("{}~{}", &out[..cut], &h.as_str()[..16])
}

/// The text a segment stands for; `None` for a segment that is not in this scheme's form, or that
/// was cut and hashed (look it up in the catalog).
pub fn unescape(seg: &str) -> Option<String> {
    if seg == "%" {
        return Some(String::new());
    }
    if seg.contains('~') {
        return None;
    }
    let b = seg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = seg.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else if lenient(b[i]) {
            out.push(b[i]);
            i += 1;
        } else {
            return None;
        }
    }
    String::from_utf8(out).ok()
}

/// A `/`-separated relative path (a part name such as `data/segment-0-of-1.json.gz`), each
/// component escaped on its own with [`escape_name`], so the slashes stay folders.
pub fn escape_path(raw: &str) -> String {
    raw.split('/')
        .map(escape_name)
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_stay_readable() {
        for s in [
            "my-function",
            "example.com",
            "orders_2024",
            "v1.0",
            "a+b=c,d@e",
        ] {
            assert_eq!(escape(s), s);
        }
    }

    #[test]
    fn every_segment_round_trips() {
        let cases = [
            "",
            ".",
            "..",
            "...",
            "/service-role/x",
            "arn:aws:lambda:us-east-1:1:layer:x:3",
            "a b%c",
            "ünïcode/名前",
            "back\\slash",
            "~tilde",
            "new\nline",
        ];
        for raw in cases {
            let e = escape(raw);
            assert!(!e.contains('/'), "{raw:?} -> {e}");
            assert!(e != "." && e != ".." && !e.is_empty());
            assert_eq!(unescape(&e).as_deref(), Some(raw), "{raw:?} -> {e}");
        }
    }

    #[test]
    fn long_segments_are_cut_and_hashed_and_stay_distinct() {
        let a = "x".repeat(300);
        let b = format!("{}y", "x".repeat(299));
        let (ea, eb) = (escape(&a), escape(&b));
        assert!(ea.len() <= MAX_SEGMENT && eb.len() <= MAX_SEGMENT);
        assert_ne!(ea, eb);
        assert_eq!(unescape(&ea), None);
        let c = "é".repeat(150); // 300 bytes, 900 escaped
        let ec = escape(&c);
        assert!(ec.len() <= MAX_SEGMENT);
        assert!(
            ec.split('~').next().unwrap().len().is_multiple_of(3),
            "cut inside an escape: {ec}"
        );
    }

    #[test]
    fn paths_keep_their_folders_and_readable_names() {
        assert_eq!(
            escape_path("data/segment 0.json.gz"),
            "data/segment 0.json.gz"
        );
        assert_eq!(escape_path("ui/Café 100%.html"), "ui/Café 100%25.html");
        for raw in [
            "My Script.gs",
            "a\\b",
            "tab\there",
            "%",
            "",
            "..",
            "ü ß",
            "~x",
        ] {
            assert_eq!(unescape(&escape_name(raw)).as_deref(), Some(raw), "{raw:?}");
        }
    }
}
