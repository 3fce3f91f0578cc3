//! Mapping object keys (S3 keys, and later any name a source hands us) to paths in the snapshot
//! tree, safely and reversibly through the index.
//!
//! A key becomes a plain relative path when that is safe on every filesystem we support (Linux and
//! macOS, the latter case-insensitive and Unicode-normalising): every segment non-empty, not `.` or
//! `..`, at most 255 bytes, free of control characters, and the path not colliding (after case
//! folding and NFC normalisation) with a file or folder already placed. Every other key is placed,
//! byte-exact content unchanged, under the reserved folder [`ESCAPE_DIR`] with an escaped, hashed
//! name; the index records the exact key and its path, so nothing is lost and nothing is written
//! outside the tree. Placement is decided in listing order, one key at a time, so the same listing
//! always gives the same paths.
//!
//! Memory: the collision sets hold 64-bit hashes of folded paths, not the paths, so a million keys
//! cost tens of megabytes, not hundreds.

use std::collections::HashSet;

use unicode_normalization::UnicodeNormalization;

/// The reserved folder, at the top of a bucket's tree, that holds keys which cannot be plain paths.
pub const ESCAPE_DIR: &str = "_infrasnap_escaped";

/// Longest segment most filesystems accept.
const MAX_SEGMENT: usize = 255;
/// Room kept for the hash suffix of an escaped name.
const ESCAPED_PREFIX_MAX: usize = 150;

/// Where a key landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Relative path below the container's folder, `/`-separated, never absolute, never with `..`.
    pub rel: String,
    /// True when the key could not be a plain path and went to [`ESCAPE_DIR`].
    pub escaped: bool,
    /// A zero-byte key ending in `/` (a "folder marker"): placed as a folder, not a file.
    pub dir_marker: bool,
}

/// Places the keys of one container (one bucket).
#[derive(Default)]
pub struct KeyMapper {
    files: HashSet<u64>,
    dirs: HashSet<u64>,
}

fn fold(path: &str) -> u64 {
    let folded: String = path.nfc().flat_map(|c| c.to_lowercase()).collect();
    let h = blake3::hash(folded.as_bytes());
    u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"))
}

fn segment_ok(seg: &str) -> bool {
    !seg.is_empty()
        && seg != "."
        && seg != ".."
        && seg.len() <= MAX_SEGMENT
        && !seg.chars().any(|c| c.is_control())
}

/// Percent-escape everything but unreserved ASCII, so the name is one safe segment.
fn escape_name(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        if out.len() >= ESCAPED_PREFIX_MAX {
            break;
        }
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    // A name of only dots would be `.` or `..`: the suffix below makes it safe anyway.
    let h = blake3::hash(key.as_bytes());
    format!("{out}~{}", &h.to_hex()[..16])
}

impl KeyMapper {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decide where `key` goes. `size` tells a folder marker (`a/`, zero bytes) from a key that
    /// ends in `/` and has content.
    pub fn place(&mut self, key: &str, size: u64) -> Placement {
        if let Some(p) = self.try_plain(key, size) {
            return p;
        }
        let rel = format!("{ESCAPE_DIR}/{}", escape_name(key));
        Placement {
            rel,
            escaped: true,
            dir_marker: false,
        }
    }

    fn try_plain(&mut self, key: &str, size: u64) -> Option<Placement> {
        let (body, dir_marker) = match key.strip_suffix('/') {
            Some(b) if size == 0 && !b.is_empty() => (b, true),
            Some(_) => return None,
            None => (key, false),
        };
        let segs: Vec<&str> = body.split('/').collect();
        if !segs.iter().all(|s| segment_ok(s)) {
            return None;
        }
        if fold(segs[0]) == fold(ESCAPE_DIR) {
            return None;
        }
        // Every ancestor must be (or become) a folder, never a file already placed.
        let mut ancestors = Vec::with_capacity(segs.len());
        let mut prefix = String::new();
        for (i, s) in segs.iter().enumerate() {
            if i > 0 {
                prefix.push('/');
            }
            prefix.push_str(s);
            ancestors.push(fold(&prefix));
        }
        let (own, parents) = ancestors.split_last().expect("at least one segment");
        if parents.iter().any(|h| self.files.contains(h)) {
            return None;
        }
        if dir_marker {
            if self.files.contains(own) {
                return None;
            }
            // Two markers folding to one folder share it; that is fine, nothing is overwritten.
            self.dirs.extend(ancestors.iter().copied());
        } else {
            if self.files.contains(own) || self.dirs.contains(own) {
                return None;
            }
            self.dirs.extend(parents.iter().copied());
            self.files.insert(*own);
        }
        Some(Placement {
            rel: body.to_string(),
            escaped: false,
            dir_marker,
        })
    }
}

/// True when `rel` is a relative path that stays inside its root: the check every writer runs
/// before touching the filesystem, whatever produced the path.
pub fn is_contained(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.starts_with('/')
        && rel
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place_all(keys: &[(&str, u64)]) -> Vec<Placement> {
        let mut m = KeyMapper::new();
        keys.iter().map(|(k, s)| m.place(k, *s)).collect()
    }

    #[test]
    fn ordinary_keys_are_plain_paths() {
        let p = place_all(&[("index.html", 5), ("img/logo.png", 9), ("img/a b+c.jpg", 1)]);
        assert_eq!(p[0].rel, "index.html");
        assert_eq!(p[1].rel, "img/logo.png");
        assert_eq!(p[2].rel, "img/a b+c.jpg");
        assert!(p.iter().all(|p| !p.escaped));
    }

    #[test]
    fn adversarial_keys_are_escaped_and_contained() {
        let long = "x".repeat(300);
        let cases: Vec<(String, u64)> = vec![
            ("../etc/passwd".into(), 1),
            ("a/../../b".into(), 1),
            ("/leading".into(), 1),
            ("a//b".into(), 1),
            ("trailing/".into(), 3),
            (format!("dir/{long}"), 1),
            ("ctl\u{1}char".into(), 1),
            ("new\nline".into(), 1),
            (".".into(), 1),
            ("..".into(), 1),
            (format!("{ESCAPE_DIR}/x"), 1),
            ("_INFRASNAP_ESCAPED".into(), 1),
        ];
        let mut m = KeyMapper::new();
        for (k, s) in &cases {
            let p = m.place(k, *s);
            assert!(p.escaped, "{k:?} should be escaped, got {p:?}");
            assert!(is_contained(&p.rel), "{k:?} -> {}", p.rel);
            assert!(p.rel.split('/').all(|s| s.len() <= 255));
        }
    }

    #[test]
    fn file_and_folder_with_one_name() {
        let p = place_all(&[("a", 1), ("a/b", 1)]);
        assert_eq!(p[0].rel, "a");
        assert!(p[1].escaped);
        let p = place_all(&[("a/b", 1), ("a", 1)]);
        assert_eq!(p[0].rel, "a/b");
        assert!(p[1].escaped);
    }

    #[test]
    fn case_and_normalisation_twins_do_not_collide() {
        let nfc = "caf\u{e9}.html";
        let nfd = "cafe\u{301}.html";
        let p = place_all(&[("Readme.md", 1), ("README.md", 1), (nfc, 1), (nfd, 1)]);
        assert!(!p[0].escaped && p[1].escaped);
        assert!(!p[2].escaped && p[3].escaped);
        // Twins of a folder too: `Docs/a` and `docs` (a file) cannot share a name.
        let p = place_all(&[("Docs/a", 1), ("docs", 1)]);
        assert!(!p[0].escaped && p[1].escaped);
    }

    #[test]
    fn escaped_names_differ_for_keys_that_differ_only_in_case() {
        let p = place_all(&[("a//X", 1), ("a//x", 1)]);
        assert_ne!(p[0].rel.to_lowercase(), p[1].rel.to_lowercase());
    }

    #[test]
    fn folder_markers() {
        let p = place_all(&[("photos/", 0), ("photos/1.jpg", 4)]);
        assert!(p[0].dir_marker && !p[0].escaped);
        assert_eq!(p[0].rel, "photos");
        assert_eq!(p[1].rel, "photos/1.jpg");
        // A marker whose name is already a file is escaped.
        let p = place_all(&[("x", 1), ("x/", 0)]);
        assert!(p[1].escaped && !p[1].dir_marker);
    }

    #[test]
    fn placement_is_deterministic() {
        let keys = [("a", 1), ("a/b", 1), ("A", 1), ("..", 1)];
        assert_eq!(place_all(&keys), place_all(&keys));
    }

    #[test]
    fn containment() {
        assert!(is_contained("a/b"));
        for bad in ["", "/a", "a/../b", "a//b", "./a", "a/"] {
            assert!(!is_contained(bad), "{bad}");
        }
    }
}
