//! A restore plan for people: the steps stage by stage, each update with its fields (live value
//! → snapshot value), what is left to people, and the counts. `restore plan`, `--dry-run` and
//! `apply` print this; `--json` prints the plan itself.

use std::fmt::Write;

use serde_json::Value;

use super::{Action, RestorePlan, Subject};

/// Steps listed per stage before the rest are only counted (the plan file lists all).
pub const MAX_LISTED: usize = 2000;

/// Values longer than this are cut, with `…`.
const MAX_VALUE: usize = 80;

fn value(v: &Option<Value>) -> String {
    let s = match v {
        None => "(none)".to_string(),
        Some(Value::Object(m)) if m.contains_key("blob") && m.contains_key("size") => format!(
            "{} B, blob {}",
            m["size"],
            m["blob"]
                .as_str()
                .map(|b| &b[..b.len().min(12)])
                .unwrap_or("?")
        ),
        Some(v) => serde_json::to_string(v).unwrap_or_default(),
    };
    if s.chars().count() > MAX_VALUE {
        let cut: String = s.chars().take(MAX_VALUE - 1).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// The plan as text, listing at most `max` steps per stage.
pub fn plan(p: &RestorePlan, max: usize) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Restore plan {} of snapshot `{}`",
        p.short_hash(),
        p.snapshot
    );
    let s = &p.selection;
    let mut sel = Vec::new();
    for (name, v) in [
        ("kinds", &s.kinds),
        ("accounts", &s.accounts),
        ("regions", &s.regions),
        ("resources", &s.ids),
        ("buckets", &s.buckets),
    ] {
        if !v.is_empty() {
            sel.push(format!("{name} {}", v.join(", ")));
        }
    }
    if let Some(x) = &s.prefix {
        sel.push(format!("prefix {x}"));
    }
    if let Some(x) = &s.key {
        sel.push(format!("key {x}"));
    }
    let _ = writeln!(
        o,
        "Selection: {}",
        if sel.is_empty() {
            "everything in the snapshot".to_string()
        } else {
            sel.join("; ")
        }
    );
    let t = &p.target;
    let mut tgt = Vec::new();
    if let Some(x) = &t.to_bucket {
        tgt.push(format!("bucket {x}"));
    }
    if let Some(x) = &t.to_prefix {
        tgt.push(format!("prefix {x}"));
    }
    if let Some(x) = &t.to_table {
        tgt.push(format!("table {x}"));
    }
    if let Some(x) = &t.to_dir {
        tgt.push(format!("directory {x}"));
    }
    if let Some(x) = &t.to_account {
        let how = match (&t.to_role_arn, &t.to_profile) {
            (Some(r), _) => format!(" (role {r})"),
            (None, Some(p)) => format!(" (profile {p})"),
            _ => String::new(),
        };
        tgt.push(format!("account {x}{how}"));
    }
    if let Some(x) = &t.to_region {
        tgt.push(format!("region {x}"));
    }
    let _ = writeln!(
        o,
        "Target: {}",
        if tgt.is_empty() {
            "where each resource came from".to_string()
        } else {
            tgt.join(", ")
        }
    );
    let _ = writeln!(
        o,
        "If a live resource differs: {}; live resources the snapshot lacks: {}",
        p.if_exists,
        if p.delete_extra {
            "deleted (--delete-extra)"
        } else {
            "kept"
        }
    );
    for b in &p.guard {
        let _ = writeln!(o, "Blast-radius guard overridden (--force): {b}");
    }
    for n in &p.notes {
        let _ = writeln!(o, "Note: {n}");
    }
    let mut stage = None;
    let mut listed = 0usize;
    let mut unlisted = 0usize;
    let flush = |o: &mut String, unlisted: &mut usize| {
        if *unlisted > 0 {
            let _ = writeln!(
                o,
                "  ... and {unlisted} more steps in this stage (the plan file lists them all)"
            );
            *unlisted = 0;
        }
    };
    for st in &p.steps {
        if stage != Some(st.stage) {
            flush(&mut o, &mut unlisted);
            let _ = writeln!(o, "\nStage {}", st.stage);
            stage = Some(st.stage);
            listed = 0;
        }
        if listed >= max {
            unlisted += 1;
            continue;
        }
        listed += 1;
        let what = match &st.subject {
            Subject::Object {
                record: Some(r), ..
            } if matches!(st.action, Action::Create { .. }) => {
                format!("{} ({} B)", st.what(), r.size)
            }
            _ => st.what(),
        };
        let from = if st.source != st.target {
            format!(" (from {})", st.source)
        } else {
            String::new()
        };
        match &st.action {
            Action::Skip { reason } => {
                let _ = writeln!(o, "  {:>3}. skip    {what}{from}: {reason}", st.n);
            }
            Action::Update { fields, .. } => {
                let _ = writeln!(o, "  {:>3}. update  {what}{from}", st.n);
                for f in fields {
                    let _ = writeln!(
                        o,
                        "            {}: live {} → snapshot {}",
                        f.field,
                        value(&f.live),
                        value(&f.snapshot)
                    );
                }
            }
            a => {
                let _ = writeln!(o, "  {:>3}. {:<7} {what}{from}", st.n, a.name());
            }
        }
        if let Some(n) = &st.note {
            let _ = writeln!(o, "            note: {n}");
        }
        if let Some(k) = &st.key_file {
            let _ = writeln!(o, "            private key: {} ({})", k.path, k.fingerprint);
        }
        for r in &st.refs {
            let by = match r.step {
                Some(n) => format!("made again by step {n}"),
                None if r.id.kind == super::acm::CERTIFICATE => {
                    "not made again by this plan: import it (--certificate-key) or request it \
                     again first"
                        .to_string()
                }
                None => "not made again by this plan: restore it too".to_string(),
            };
            let _ = writeln!(
                o,
                "            uses {} `{}` (id {} is gone; {by}): its new id is put in at apply",
                r.id.kind.trim_start_matches("aws.cloudfront."),
                r.name,
                r.id.id
            );
        }
        for r in &st.rewrites {
            let _ = writeln!(o, "            rewrite {}: {} → {}", r.field, r.from, r.to);
        }
    }
    flush(&mut o, &mut unlisted);
    if !p.manual.is_empty() {
        let _ = writeln!(o, "\nCannot be restored automatically:");
        for m in &p.manual {
            let _ = writeln!(o, "  {}: {}", m.id, m.reason);
        }
    }
    let c = &p.summary;
    let _ = writeln!(
        o,
        "\nSummary: {} to create, {} to update, {} to delete, {} skipped; {} already as in the \
         snapshot; {} live extra kept; {} for people to do",
        c.create, c.update, c.delete, c.skip, c.unchanged, c.extra_kept, c.manual
    );
    o
}
