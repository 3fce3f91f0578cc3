//! Redacting a unified diff (`git diff --binary` output) so that the patch still applies.
//!
//! In `staged.patch` (index against HEAD) only `+` lines are scanned: context and `-` lines are
//! committed content (kept as committed, in the bundle) and must stay byte-exact for `git apply`
//! to find where the hunk goes. In `unstaged.patch` (working tree against the index) every line
//! is scanned ([`Lines::All`]): its context and `-` lines come from the index, which can hold
//! secrets that were staged but never committed. The restored index holds the same markers
//! (staged.patch's added lines are redacted with the same keyed fingerprints), so the patch
//! still applies there; a hunk whose context is a secret committed to HEAD needs
//! `git apply --reject` (RESTORE.md says so). Consecutive lines of one kind are scanned
//! together (a private key block spans lines); when a redaction changes the number of lines,
//! the hunk header's counts, and the starts of the file's later hunks, are rewritten.

use super::shield::Shield;

struct Hunk {
    old_start: u64,
    old_len: u64,
    new_start: u64,
    new_len: u64,
    rest: Vec<u8>,
}

fn parse_range(s: &str) -> Option<(u64, u64)> {
    match s.split_once(',') {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => Some((s.parse().ok()?, 1)),
    }
}

fn parse_hunk_header(line: &[u8]) -> Option<Hunk> {
    let rest = line.strip_prefix(b"@@ -")?;
    let end = rest.windows(3).position(|w| w == b" @@")?;
    let ranges = std::str::from_utf8(&rest[..end]).ok()?;
    let (old, new) = ranges.split_once(" +")?;
    let (old_start, old_len) = parse_range(old)?;
    let (new_start, new_len) = parse_range(new)?;
    Some(Hunk {
        old_start,
        old_len,
        new_start,
        new_len,
        rest: rest[end + 3..].to_vec(),
    })
}

impl Hunk {
    fn header(&self, new_start: u64, new_len: u64) -> Vec<u8> {
        let mut h = format!(
            "@@ -{},{} +{},{} @@",
            self.old_start, self.old_len, new_start, new_len
        )
        .into_bytes();
        h.extend_from_slice(&self.rest);
        h
    }
}

/// The file a `diff --git` section is about (the new side), for the redaction report.
fn file_of(line: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(line);
    let s = s.trim_end_matches('\n');
    s.strip_prefix("+++ b/")
        .or_else(|| s.strip_prefix("+++ "))
        .filter(|p| *p != "/dev/null")
        .map(str::to_string)
}

/// Which lines of a hunk are scanned.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// Only `+` lines (staged.patch: the rest is committed content).
    Added,
    /// Every line (unstaged.patch: context and `-` lines come from the index).
    All,
}

/// Scan and redact one block of consecutive lines of one kind (each still with its prefix).
fn redact_block(
    block: &[Vec<u8>],
    label: &str,
    first_new_line: u64,
    shield: &mut Shield<'_>,
) -> Option<Vec<Vec<u8>>> {
    let prefix = block
        .first()
        .and_then(|l| l.first())
        .copied()
        .unwrap_or(b'+');
    let mut text = Vec::new();
    for l in block {
        text.extend_from_slice(&l[1..]);
    }
    if super::is_binary(&text) {
        return None;
    }
    let text = String::from_utf8_lossy(&text);
    let map = move |line: usize| first_new_line as usize + line.saturating_sub(1);
    let red = shield.scan_str(label, &text, &map)?;
    let mut out: Vec<Vec<u8>> = red
        .split_inclusive('\n')
        .map(|l| {
            let mut v = Vec::with_capacity(l.len() + 1);
            v.push(prefix);
            v.extend_from_slice(l.as_bytes());
            v
        })
        .collect();
    // Every line of a patch ends with a newline, even the last line of a file without one (a
    // `\ No newline at end of file` line follows it).
    if let Some(last) = out.last_mut() {
        if !last.ends_with(b"\n") {
            last.push(b'\n');
        }
    }
    Some(out)
}

/// The patch with secret-looking values on added lines replaced with markers, or `None` when
/// there is nothing to redact. `name` labels the findings (`staged.patch`).
#[cfg(test)]
pub fn redact_added(patch: &[u8], name: &str, shield: &mut Shield<'_>) -> Option<Vec<u8>> {
    redact_patch(patch, name, Lines::Added, shield)
}

/// The patch with secret-looking values on the `which` lines replaced with markers, or `None`
/// when there is nothing to redact.
pub fn redact_patch(
    patch: &[u8],
    name: &str,
    which: Lines,
    shield: &mut Shield<'_>,
) -> Option<Vec<u8>> {
    let lines: Vec<&[u8]> = patch.split_inclusive(|&b| b == b'\n').collect();
    let mut out: Vec<u8> = Vec::with_capacity(patch.len());
    let mut changed = false;
    let mut file = String::new();
    // Shift of the new-side (and old-side) start for later hunks of the same file.
    let mut shift: i64 = 0;
    let mut old_shift: i64 = 0;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.starts_with(b"diff --git ") {
            shift = 0;
            old_shift = 0;
            file.clear();
        }
        if line.starts_with(b"+++ ") {
            if let Some(f) = file_of(line) {
                file = f;
            }
        }
        let Some(h) = parse_hunk_header(line) else {
            out.extend_from_slice(line);
            i += 1;
            continue;
        };
        i += 1;
        // Read the hunk body by its counts.
        let (mut old_left, mut new_left) = (h.old_len, h.new_len);
        let mut body: Vec<Vec<u8>> = Vec::new();
        while i < lines.len() && (old_left > 0 || new_left > 0) {
            let l = lines[i];
            match l.first() {
                Some(b' ') => {
                    old_left = old_left.saturating_sub(1);
                    new_left = new_left.saturating_sub(1);
                }
                Some(b'-') => old_left = old_left.saturating_sub(1),
                Some(b'+') => new_left = new_left.saturating_sub(1),
                Some(b'\\') => {}
                // An empty context line (some tools strip the space).
                Some(b'\n') => {
                    old_left = old_left.saturating_sub(1);
                    new_left = new_left.saturating_sub(1);
                }
                _ => break,
            }
            body.push(l.to_vec());
            i += 1;
        }
        while i < lines.len() && lines[i].starts_with(b"\\") {
            body.push(lines[i].to_vec());
            i += 1;
        }
        // Redact blocks of added lines.
        let label = if file.is_empty() {
            name.to_string()
        } else {
            format!("{name}: {file}")
        };
        let mut new_body: Vec<Vec<u8>> = Vec::with_capacity(body.len());
        let mut new_line = h.new_start;
        let mut old_line = h.old_start;
        let mut j = 0;
        while j < body.len() {
            let kind = body[j].first().copied();
            let scanned = match which {
                Lines::Added => kind == Some(b'+'),
                Lines::All => matches!(kind, Some(b'+' | b'-' | b' ')),
            };
            if scanned {
                let start = j;
                while j < body.len() && body[j].first().copied() == kind {
                    j += 1;
                }
                let block = &body[start..j];
                let first = if kind == Some(b'-') {
                    old_line
                } else {
                    new_line
                };
                match redact_block(block, &label, first, shield) {
                    Some(red) => {
                        changed = true;
                        new_body.extend(red);
                    }
                    None => new_body.extend(block.iter().cloned()),
                }
                let n = (j - start) as u64;
                match kind {
                    Some(b'+') => new_line += n,
                    Some(b'-') => old_line += n,
                    _ => {
                        new_line += n;
                        old_line += n;
                    }
                }
            } else {
                if matches!(body[j].first(), Some(b' ') | Some(b'\n')) {
                    new_line += 1;
                }
                new_body.push(body[j].clone());
                j += 1;
            }
        }
        let new_len = new_body
            .iter()
            .filter(|l| matches!(l.first(), Some(b' ') | Some(b'+') | Some(b'\n')))
            .count() as u64;
        let old_len = new_body
            .iter()
            .filter(|l| matches!(l.first(), Some(b' ') | Some(b'-') | Some(b'\n')))
            .count() as u64;
        let new_start = (h.new_start as i64 + shift).max(0) as u64;
        let old_start = (h.old_start as i64 + old_shift).max(0) as u64;
        if new_len != h.new_len
            || new_start != h.new_start
            || old_len != h.old_len
            || old_start != h.old_start
        {
            let h2 = Hunk {
                old_start,
                old_len,
                ..h
            };
            out.extend_from_slice(&h2.header(new_start, new_len));
            shift += new_len as i64 - h2.new_len as i64;
            old_shift += old_len as i64 - h.old_len as i64;
        } else {
            out.extend_from_slice(line);
        }
        for l in new_body {
            out.extend_from_slice(&l);
        }
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunk_headers_parse() {
        let h = parse_hunk_header(b"@@ -1,3 +1,4 @@ fn main() {\n").unwrap();
        assert_eq!(
            (h.old_start, h.old_len, h.new_start, h.new_len),
            (1, 3, 1, 4)
        );
        assert_eq!(h.rest, b" fn main() {\n");
        let h = parse_hunk_header(b"@@ -0,0 +1 @@\n").unwrap();
        assert_eq!(
            (h.old_start, h.old_len, h.new_start, h.new_len),
            (0, 0, 1, 1)
        );
        assert_eq!(h.header(1, 2), b"@@ -0,0 +1,2 @@\n");
        assert!(parse_hunk_header(b"+++ b/x\n").is_none());
    }

    #[test]
    fn added_lines_are_redacted_and_hunk_counts_follow() {
        let fp = infrasnap_core::secrets::Fingerprinter::from_key([7; 32]);
        let mut shield = Shield::new(&fp, None);
        let body: String = (0..3)
            .map(|i| format!("{}\n", format!("{i}").repeat(64)))
            .collect();
        let key = format!(
            "-----BEGIN {} KEY-----\n{body}-----END {} KEY-----\n",
            "EC PRIVATE", "EC PRIVATE"
        );
        let added: String = key.lines().map(|l| format!("+{l}\n")).collect();
        let patch = format!(
            "diff --git a/k.txt b/k.txt\n--- a/k.txt\n+++ b/k.txt\n@@ -1,2 +1,7 @@\n keys:\n{added} end\n@@ -10,2 +15,3 @@ tail\n a\n+password = {}\n b\n",
            "Zq8xW2kP9mN4vB7c"
        );
        let out = String::from_utf8(
            redact_added(patch.as_bytes(), "unstaged.patch", &mut shield).unwrap(),
        )
        .unwrap();
        assert!(
            !out.contains("Zq8xW2kP9mN4vB7c") && !out.contains("000000"),
            "{out}"
        );
        assert!(
            out.contains("@@ -1,2 +1,3 @@\n keys:\n+<redacted fp:"),
            "{out}"
        );
        // The second hunk's new side moves up by the 4 lines the key block lost.
        assert!(
            out.contains("@@ -10,2 +11,3 @@ tail\n a\n+password = <redacted fp:"),
            "{out}"
        );
        let found: Vec<(String, usize, String)> = shield
            .redactions
            .iter()
            .map(|r| (r.file.clone(), r.line, r.kind.clone()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "unstaged.patch: k.txt".to_string(),
                    2,
                    "private_key".to_string()
                ),
                (
                    "unstaged.patch: k.txt".to_string(),
                    16,
                    "password".to_string()
                )
            ]
        );
        // Context and removed lines are never touched.
        let plain =
            "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-token = abc\n+token = ${TOKEN}\n";
        assert!(redact_added(plain.as_bytes(), "p", &mut shield).is_none());
    }

    #[test]
    fn every_line_of_an_unstaged_patch_is_redacted_with_the_markers_of_the_index() {
        let fp = infrasnap_core::secrets::Fingerprinter::from_key([7; 32]);
        let mut shield = Shield::new(&fp, None);
        let staged_secret = "Zq8xW2kP9mN4vB7cQ";
        let patch = format!(
            "diff --git a/c b/c\n--- a/c\n+++ b/c\n@@ -1,3 +1,3 @@\n password = {staged_secret}\n-api_key = {staged_secret}Old\n+api_key = ${{API_KEY}}\n end\n"
        );
        let out = String::from_utf8(
            redact_patch(patch.as_bytes(), "unstaged.patch", Lines::All, &mut shield).unwrap(),
        )
        .unwrap();
        assert!(!out.contains(staged_secret), "{out}");
        let marker = fp.marker(staged_secret.as_bytes());
        assert!(out.contains(&format!(" password = {marker}\n")), "{out}");
        assert!(out.contains("@@ -1,3 +1,3 @@\n"), "{out}");
        assert!(out.contains("+api_key = ${API_KEY}\n"), "{out}");
        // staged.patch keeps its context exact.
        assert!(
            redact_patch(patch.as_bytes(), "staged.patch", Lines::Added, &mut shield).is_none()
        );
    }
}
