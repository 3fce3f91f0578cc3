//! What changed inside a file (`diff --content`): a unified diff of text, the members of a zip
//! archive (Lambda code) with unified diffs of their text members, or the sizes of binary
//! content. Redaction markers are masked in text diffs; a text that changed only in its
//! redacted values says so and shows nothing.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use serde::Serialize;

use super::json::{mask_text, Change};

/// Larger texts (each side) are not diffed line by line.
pub const MAX_TEXT: u64 = 4 << 20;
/// Larger archives are not opened.
pub const MAX_ZIP: u64 = 256 << 20;
/// A unified diff longer than this is cut (the rest is counted).
pub const MAX_UNIFIED_LINES: usize = 2_000;

/// What changed in one file's content.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentDiff {
    /// A unified diff (`--- a/<name>`, `+++ b/<name>`, 3 lines of context).
    Text { unified: String },
    /// Not text: only the sizes.
    Binary { before_size: u64, after_size: u64 },
    /// A zip archive: its members by path (unchanged members are not listed).
    Zip { members: Vec<ZipMember> },
    /// A text whose only changes are in redacted values.
    Secret,
    /// Too large to compare line by line.
    TooLarge { before_size: u64, after_size: u64 },
    /// The content could not be read or parsed (a damaged archive, a missing blob).
    Unreadable { message: String },
}

/// One member of a zip archive that was added, removed or changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZipMember {
    pub path: String,
    pub change: Change,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<ContentDiff>,
}

/// Is `bytes` text worth a line diff: UTF-8 without NUL bytes.
pub fn is_text(bytes: &[u8]) -> bool {
    !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok()
}

fn is_zip(name: &str, a: &[u8], b: &[u8]) -> bool {
    name.to_ascii_lowercase().ends_with(".zip")
        || (a.starts_with(b"PK\x03\x04") && b.starts_with(b"PK\x03\x04"))
}

/// What changed from `a` to `b`, the content of the file `name` (its extension decides whether
/// it is read as a zip archive).
pub fn diff_bytes(name: &str, a: &[u8], b: &[u8]) -> ContentDiff {
    if is_zip(name, a, b) {
        return match zip_members(a, b) {
            Ok(members) => ContentDiff::Zip { members },
            Err(e) => ContentDiff::Unreadable {
                message: format!("not a readable zip archive: {e}"),
            },
        };
    }
    leaf(name, a, b)
}

/// Text or binary (no archive look-inside).
fn leaf(name: &str, a: &[u8], b: &[u8]) -> ContentDiff {
    let (sa, sb) = (a.len() as u64, b.len() as u64);
    if !(is_text(a) && is_text(b)) {
        return ContentDiff::Binary {
            before_size: sa,
            after_size: sb,
        };
    }
    if sa > MAX_TEXT || sb > MAX_TEXT {
        return ContentDiff::TooLarge {
            before_size: sa,
            after_size: sb,
        };
    }
    let ta = mask_text(std::str::from_utf8(a).unwrap_or_default());
    let tb = mask_text(std::str::from_utf8(b).unwrap_or_default());
    if ta == tb {
        return ContentDiff::Secret;
    }
    ContentDiff::Text {
        unified: unified(name, &ta, &tb),
    }
}

/// A unified diff of two texts, at most [`MAX_UNIFIED_LINES`] lines.
pub fn unified(name: &str, a: &str, b: &str) -> String {
    let d = similar::TextDiff::from_lines(a, b);
    let text = d
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string();
    let total = text.lines().count();
    if total <= MAX_UNIFIED_LINES {
        return text;
    }
    let mut out: String = text
        .lines()
        .take(MAX_UNIFIED_LINES)
        .flat_map(|l| [l, "\n"])
        .collect();
    out.push_str(&format!(
        "... {} more lines of diff not shown\n",
        total - MAX_UNIFIED_LINES
    ));
    out
}

/// (crc32, size) of every file member, by path.
fn listing(
    z: &mut zip::ZipArchive<Cursor<&[u8]>>,
) -> zip::result::ZipResult<BTreeMap<String, (u32, u64, usize)>> {
    let mut out = BTreeMap::new();
    for i in 0..z.len() {
        let f = z.by_index_raw(i)?;
        if f.is_dir() {
            continue;
        }
        out.insert(f.name().to_string(), (f.crc32(), f.size(), i));
    }
    Ok(out)
}

fn read_member(
    z: &mut zip::ZipArchive<Cursor<&[u8]>>,
    i: usize,
) -> zip::result::ZipResult<Vec<u8>> {
    let mut f = z.by_index(i)?;
    let mut out = Vec::with_capacity(f.size().min(MAX_TEXT) as usize);
    f.read_to_end(&mut out)?;
    Ok(out)
}

/// Members added, removed and changed (by CRC-32 and size), with the content diff of changed
/// members that are text.
fn zip_members(a: &[u8], b: &[u8]) -> zip::result::ZipResult<Vec<ZipMember>> {
    let mut za = zip::ZipArchive::new(Cursor::new(a))?;
    let mut zb = zip::ZipArchive::new(Cursor::new(b))?;
    let (la, lb) = (listing(&mut za)?, listing(&mut zb)?);
    let mut out = Vec::new();
    let paths: std::collections::BTreeSet<&String> = la.keys().chain(lb.keys()).collect();
    for p in paths {
        match (la.get(p), lb.get(p)) {
            (Some(&(_, sa, _)), None) => out.push(ZipMember {
                path: p.clone(),
                change: Change::Removed,
                before_size: Some(sa),
                after_size: None,
                content: None,
            }),
            (None, Some(&(_, sb, _))) => out.push(ZipMember {
                path: p.clone(),
                change: Change::Added,
                before_size: None,
                after_size: Some(sb),
                content: None,
            }),
            (Some(&(ca, sa, ia)), Some(&(cb, sb, ib))) if (ca, sa) != (cb, sb) => {
                let content = if sa > MAX_TEXT || sb > MAX_TEXT {
                    ContentDiff::TooLarge {
                        before_size: sa,
                        after_size: sb,
                    }
                } else {
                    match (read_member(&mut za, ia), read_member(&mut zb, ib)) {
                        (Ok(x), Ok(y)) => leaf(p, &x, &y),
                        (Err(e), _) | (_, Err(e)) => ContentDiff::Unreadable {
                            message: e.to_string(),
                        },
                    }
                };
                out.push(ZipMember {
                    path: p.clone(),
                    change: Change::Changed,
                    before_size: Some(sa),
                    after_size: Some(sb),
                    content: Some(content),
                });
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rstest::rstest;
    use std::io::Write;

    /// A zip archive with deflated members.
    pub(crate) fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default());
        for (name, data) in files {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn text_gets_a_unified_diff() {
        let d = diff_bytes("app.js", b"a\nb\nc\n", b"a\nB\nc\n");
        let ContentDiff::Text { unified } = d else {
            panic!("{d:?}")
        };
        assert_eq!(
            unified,
            "--- a/app.js\n+++ b/app.js\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
        );
    }

    #[rstest]
    #[case::binary(b"\x00\x01\x02".as_slice(), b"\x00\x01\x02\x03".as_slice(), ContentDiff::Binary { before_size: 3, after_size: 4 })]
    #[case::not_utf8(b"\xff\xfe".as_slice(), b"ok".as_slice(), ContentDiff::Binary { before_size: 2, after_size: 2 })]
    #[case::only_secrets(
        b"token = <redacted fp:0123456789abcdef01234567>\n".as_slice(),
        b"token = <redacted fp:fedcba9876543210fedcba98>\n".as_slice(),
        ContentDiff::Secret
    )]
    fn leaves(#[case] a: &[u8], #[case] b: &[u8], #[case] want: ContentDiff) {
        assert_eq!(diff_bytes("f.bin", a, b), want);
    }

    #[test]
    fn markers_are_masked_in_text_diffs() {
        let a = b"x = <redacted fp:0123456789abcdef01234567>\ny = 1\n";
        let b = b"x = <redacted fp:fedcba9876543210fedcba98>\ny = 2\n";
        let ContentDiff::Text { unified } = diff_bytes("c.py", a, b) else {
            panic!()
        };
        assert!(!unified.contains("fp:"), "{unified}");
        assert!(unified.contains("-y = 1\n+y = 2\n"), "{unified}");
    }

    #[test]
    fn zip_members_by_path() {
        let a = zip_of(&[
            ("index.js", b"exports.h = () => 1;\n"),
            ("lib/old.js", b"old\n"),
            ("data.bin", b"\x00\x01"),
            ("same.txt", b"same\n"),
        ]);
        let b = zip_of(&[
            ("index.js", b"exports.h = () => 2;\n"),
            ("lib/new.js", b"new\n"),
            ("data.bin", b"\x00\x01\x02"),
            ("same.txt", b"same\n"),
        ]);
        let ContentDiff::Zip { members } = diff_bytes("code.zip", &a, &b) else {
            panic!()
        };
        let summary: Vec<(String, Change)> =
            members.iter().map(|m| (m.path.clone(), m.change)).collect();
        assert_eq!(
            summary,
            vec![
                ("data.bin".into(), Change::Changed),
                ("index.js".into(), Change::Changed),
                ("lib/new.js".into(), Change::Added),
                ("lib/old.js".into(), Change::Removed),
            ]
        );
        assert_eq!(
            members[0].content,
            Some(ContentDiff::Binary {
                before_size: 2,
                after_size: 3
            })
        );
        let Some(ContentDiff::Text { unified }) = &members[1].content else {
            panic!("{:?}", members[1])
        };
        assert!(unified.contains("-exports.h = () => 1;\n+exports.h = () => 2;\n"));
    }

    #[test]
    fn a_damaged_zip_is_unreadable_not_an_error() {
        let d = diff_bytes("code.zip", b"PK\x03\x04garbage", b"PK\x03\x04other");
        assert!(matches!(d, ContentDiff::Unreadable { .. }), "{d:?}");
    }
}
