//! clasp's file layout inside a project's folder (`Code.gs`, `lib/util.gs`, `Index.html`,
//! `appsscript.json`, `.clasp.json`, `.claspignore`): the names of a project's parts. Where the
//! folder itself goes is the catalog's business (`gas.project` in `infrasnap_core::catalog::kinds`).

use std::collections::HashSet;

use infrasnap_core::keypath::is_contained;

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

/// The `.claspignore` of a project's folder: clasp's documented default rules (its README,
/// "Ignore File"; `DEFAULT_CLASP_IGNORE` in clasp 3's `core/clasp.js`) plus `versions/**`, so
/// that `clasp status` and `clasp push` in a copy of the folder see the project's current files
/// only, never the captured versions beside them (issue 16). A `.claspignore` replaces the
/// defaults, hence they are repeated. clasp reads every non-empty line as a pattern: no comments.
/// A version's folder needs none: it holds nothing but that version's files and `.clasp.json`.
pub const CLASP_IGNORE: &str = "**/**\n\
!appsscript.json\n\
!**/*.gs\n\
!**/*.js\n\
!**/*.ts\n\
!**/*.html\n\
.git/**\n\
node_modules/**\n\
versions/**\n";

/// Files this collector writes itself in a project or version folder.
pub const RESERVED: &[&str] = &[
    ".clasp.json",
    ".claspignore",
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
        assert!(p.place(".claspignore", true).is_err());
    }

    #[test]
    fn the_claspignore_keeps_clasps_defaults_and_leaves_out_the_versions() {
        let lines: Vec<&str> = CLASP_IGNORE.lines().collect();
        assert_eq!(lines.first(), Some(&"**/**"));
        assert_eq!(lines.last(), Some(&"versions/**"));
        assert!(lines.iter().all(|l| !l.is_empty() && !l.starts_with('#')));
    }
}
