//! Where things go under `gas_projects/`: project folder names, and clasp's file layout
//! (`Code.gs`, `lib/util.gs`, `Index.html`, `appsscript.json`, `.clasp.json`).

use std::collections::HashSet;

use infrasnap_core::keypath::is_contained;

/// Longest folder name made from a title (bytes).
const MAX_NAME: usize = 100;

/// One safe path segment from a config name or a project title: ASCII letters, digits, `-`, `_`
/// and `.` kept, anything else becomes `-`; no leading dot or dash; never empty (`fallback`).
pub fn sanitize(name: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
            c
        } else {
            '-'
        };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        if out.len() >= MAX_NAME {
            break;
        }
        out.push(c);
    }
    let out = out.trim_start_matches(['.', '-']).trim_end_matches('-');
    if out.is_empty() || out.chars().all(|c| c == '.') {
        sanitize_id(fallback)
    } else {
        out.to_string()
    }
}

fn sanitize_id(id: &str) -> String {
    let s: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(MAX_NAME)
        .collect();
    if s.is_empty() {
        "project".into()
    } else {
        s
    }
}

/// Hands out distinct folder names (case-insensitively, for macOS).
#[derive(Default)]
pub struct Names {
    used: HashSet<String>,
}

impl Names {
    /// `wanted` if free, else `wanted-<first 8 of id>`, else `wanted-<id>`, else numbered.
    pub fn assign(&mut self, wanted: &str, script_id: &str) -> String {
        let id = sanitize_id(script_id);
        let short: String = id.chars().take(8).collect();
        let mut candidates = vec![
            wanted.to_string(),
            format!("{wanted}-{short}"),
            format!("{wanted}-{id}"),
        ];
        candidates.extend((2..).take(1000).map(|n| format!("{wanted}-{id}-{n}")));
        for c in candidates {
            if self.used.insert(c.to_lowercase()) {
                return c;
            }
        }
        unreachable!("a thousand numbered names cannot all be taken")
    }
}

/// The file name clasp gives an Apps Script file of `kind`, or None for a kind it does not know.
pub fn file_name(name: &str, kind: &str) -> Option<String> {
    let ext = match kind {
        "SERVER_JS" => "gs",
        "HTML" => "html",
        "JSON" => "json",
        _ => return None,
    };
    Some(format!("{name}.{ext}"))
}

/// Files this collector writes itself in a project or version folder.
pub const RESERVED: &[&str] = &[
    ".clasp.json",
    "project.json",
    "versions.json",
    "deployments.json",
    "redactions.json",
];

/// Places the files of one content listing, refusing unsafe names and clashes.
#[derive(Default)]
pub struct FilePlacer {
    taken: HashSet<String>,
}

impl FilePlacer {
    /// Whether `rel` (relative to the project or version folder) may be written.
    pub fn place(&mut self, rel: &str, top_level: bool) -> Result<(), String> {
        if !is_contained(rel) || rel.chars().any(|c| c.is_control() || c == '\\') {
            return Err("unsafe file name (it would leave the project folder)".into());
        }
        let folded = rel.to_lowercase();
        if RESERVED.contains(&folded.as_str())
            || (top_level && (folded == "versions" || folded.starts_with("versions/")))
        {
            return Err("the name clashes with a file infrasnap writes".into());
        }
        if !self.taken.insert(folded) {
            return Err("two files of the project map to the same name".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_safe_segment_and_distinct() {
        assert_eq!(sanitize("Event Registrations", "x"), "Event-Registrations");
        assert_eq!(sanitize("../../etc/passwd", "abc"), "etc-passwd");
        assert_eq!(sanitize("..", "1AbC_d-e"), "1AbC_d-e");
        assert_eq!(sanitize("  ", "id"), "id");
        assert_eq!(sanitize("Café / Budget 2024", "id"), "Caf-Budget-2024");
        let mut n = Names::default();
        assert_eq!(n.assign("Budget", "1abcdefghijk"), "Budget");
        assert_eq!(n.assign("budget", "1zyxwvutsrq"), "budget-1zyxwvut");
        assert_eq!(n.assign("Budget", "1zyxwvutsrq"), "Budget-1zyxwvutsrq");
    }

    #[test]
    fn clasp_file_names_and_placement() {
        assert_eq!(file_name("Code", "SERVER_JS").unwrap(), "Code.gs");
        assert_eq!(file_name("lib/util", "SERVER_JS").unwrap(), "lib/util.gs");
        assert_eq!(file_name("appsscript", "JSON").unwrap(), "appsscript.json");
        assert_eq!(file_name("Index", "HTML").unwrap(), "Index.html");
        assert!(file_name("x", "TYPE_UNSPECIFIED").is_none());
        let mut p = FilePlacer::default();
        assert!(p.place("Code.gs", true).is_ok());
        assert!(p.place("code.gs", true).is_err());
        assert!(p.place("../x.gs", true).is_err());
        assert!(p.place("a//b.gs", true).is_err());
        assert!(p.place("versions/3/Code.gs", true).is_err());
        assert!(p.place("project.json", true).is_err());
        assert!(p.place("lib/versions.gs", true).is_ok());
    }
}
