//! Diffs and logs for people: grouped by kind, one line per change, counts at the end. Colour
//! only when asked ([`Style`]; the CLI asks on a terminal without `NO_COLOR`).

use std::fmt::Write;

use serde_json::Value;

use super::content::ContentDiff;
use super::json::{Change, FieldChange};
use super::log::{Event, LogReport};
use super::{Counts, DiffReport, KindDiff, PartChange, ResourceDiff, Status};
use crate::ids::ResourceId;
use crate::manifest::human_bytes;

/// How to render.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn plain() -> Style {
        Style { color: false }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    fn cyan(&self, s: &str) -> String {
        self.paint("36", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn magenta(&self, s: &str) -> String {
        self.paint("35", s)
    }
}

/// The longest value shown inline.
const MAX_VALUE: usize = 120;
/// Resources listed under one "not comparable" reason.
const MAX_NOT_COMPARABLE: usize = 10;

fn value(v: &Option<Value>) -> String {
    let s = v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    if s.chars().count() > MAX_VALUE {
        let cut: String = s.chars().take(MAX_VALUE).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// `id [account region] (label)`.
fn name(id: &ResourceId, label: Option<&str>, short: Option<&str>, st: Style) -> String {
    let mut out = short.unwrap_or(&id.id).to_string();
    if let Some(l) = label.filter(|l| *l != id.id) {
        out.push_str(&format!(" ({l})"));
    }
    let scope: Vec<&str> = [id.account.as_str(), id.region.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    if !scope.is_empty() {
        out.push_str(&st.dim(&format!(" [{}]", scope.join(" "))));
    }
    out
}

fn counts_text(c: &Counts) -> String {
    let mut parts = Vec::new();
    for (n, what) in [
        (c.added, "added"),
        (c.removed, "removed"),
        (c.modified, "modified"),
        (c.unchanged, "unchanged"),
        (c.not_comparable, "not comparable"),
        (c.recreated, "re-created"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    }
}

/// One line per field change.
pub fn field_line(c: &FieldChange, st: Style) -> String {
    match c.change {
        Change::Added => format!("{}: {} {}", c.at, st.green("+"), value(&c.after)),
        Change::Removed => format!("{}: {} {}", c.at, st.red("-"), value(&c.before)),
        Change::Changed => format!("{}: {} -> {}", c.at, value(&c.before), value(&c.after)),
        Change::Secret => format!("{}: {}", c.at, st.yellow("changed (secret)")),
        Change::Reordered => format!(
            "{}: order {} -> {}",
            c.at,
            value(&c.before),
            value(&c.after)
        ),
    }
}

fn sigil(s: Status, st: Style) -> String {
    match s {
        Status::Added => st.green("+"),
        Status::Removed => st.red("-"),
        Status::Modified => st.yellow("~"),
        Status::NotComparable => st.magenta("?"),
        Status::Recreated => st.cyan("*"),
    }
}

fn change_sigil(c: Change, st: Style) -> String {
    match c {
        Change::Added => st.green("+"),
        Change::Removed => st.red("-"),
        _ => st.yellow("~"),
    }
}

fn content(out: &mut String, c: &ContentDiff, indent: usize, st: Style) {
    let pad = " ".repeat(indent);
    match c {
        ContentDiff::Text { unified } => {
            for l in unified.lines() {
                let l2 = if l.starts_with("+++") || l.starts_with("---") {
                    st.bold(l)
                } else if l.starts_with('+') {
                    st.green(l)
                } else if l.starts_with('-') {
                    st.red(l)
                } else if l.starts_with("@@") {
                    st.cyan(l)
                } else {
                    l.to_string()
                };
                let _ = writeln!(out, "{pad}{l2}");
            }
        }
        ContentDiff::Binary {
            before_size,
            after_size,
        } => {
            let _ = writeln!(out, "{pad}binary, {before_size} -> {after_size} bytes");
        }
        ContentDiff::TooLarge {
            before_size,
            after_size,
        } => {
            let _ = writeln!(
                out,
                "{pad}too large to compare line by line, {before_size} -> {after_size} bytes"
            );
        }
        ContentDiff::Secret => {
            let _ = writeln!(out, "{pad}{}", st.yellow("changed (secret)"));
        }
        ContentDiff::Unreadable { message } => {
            let _ = writeln!(out, "{pad}could not be compared: {message}");
        }
        ContentDiff::Zip { members } => {
            if members.is_empty() {
                let _ = writeln!(
                    out,
                    "{pad}same members, same content (archive metadata differs)"
                );
            }
            for m in members {
                let size = match (m.before_size, m.after_size) {
                    (Some(a), Some(b)) => format!("{} -> {}", human_bytes(a), human_bytes(b)),
                    (Some(a), None) => human_bytes(a),
                    (None, Some(b)) => human_bytes(b),
                    (None, None) => String::new(),
                };
                let _ = writeln!(
                    out,
                    "{pad}{} {} {}",
                    change_sigil(m.change, st),
                    m.path,
                    st.dim(&format!("({size})"))
                );
                if let Some(c) = &m.content {
                    content(out, c, indent + 2, st);
                }
            }
        }
    }
}

fn part_line(out: &mut String, p: &PartChange, indent: usize, st: Style) {
    let pad = " ".repeat(indent);
    let size = match (&p.before, &p.after) {
        (Some(a), Some(b)) => format!("{} -> {}", human_bytes(a.size), human_bytes(b.size)),
        (Some(a), None) => human_bytes(a.size),
        (None, Some(b)) => human_bytes(b.size),
        (None, None) => String::new(),
    };
    let what = match p.change {
        Change::Added => "added",
        Change::Removed => "removed",
        _ => "changed",
    };
    let _ = writeln!(
        out,
        "{pad}{} part {}: {what} {}",
        change_sigil(p.change, st),
        p.name,
        st.dim(&format!("({size})"))
    );
    if let Some(c) = &p.content {
        content(out, c, indent + 4, st);
    }
}

fn resource(out: &mut String, r: &ResourceDiff, short: Option<&str>, indent: usize, st: Style) {
    let pad = " ".repeat(indent);
    let inner = " ".repeat(indent + 4);
    let recreated = if r.recreated.is_empty() {
        String::new()
    } else {
        format!(
            " {}",
            st.cyan(&format!("re-created (new {})", r.recreated.join(", ")))
        )
    };
    let _ = writeln!(
        out,
        "{pad}{} {}{recreated}",
        sigil(r.status, st),
        name(&r.id, r.label.as_deref(), short, st)
    );
    if let Some(why) = &r.reason {
        let _ = writeln!(out, "{inner}{}", st.magenta(why));
    }
    for c in &r.changes {
        let _ = writeln!(out, "{inner}{}", field_line(c, st));
    }
    for p in &r.parts {
        part_line(out, p, indent + 4, st);
    }
    if let Some(o) = &r.objects {
        let c = Counts {
            added: o.added,
            removed: o.removed,
            modified: o.changed,
            unchanged: o.unchanged,
            not_comparable: 0,
            recreated: 0,
        };
        let _ = writeln!(out, "{inner}objects: {}", counts_text(&c));
        for ch in &o.changes {
            let detail = match ch.change {
                Change::Added => ch
                    .after
                    .as_ref()
                    .map(|a| st.dim(&format!(" ({})", human_bytes(a.size))))
                    .unwrap_or_default(),
                Change::Removed => ch
                    .before
                    .as_ref()
                    .map(|a| st.dim(&format!(" ({})", human_bytes(a.size))))
                    .unwrap_or_default(),
                _ => {
                    let mut parts = Vec::new();
                    if let (Some(a), Some(b)) = (&ch.before, &ch.after) {
                        if a.blob != b.blob {
                            parts.push(format!(
                                "content {} -> {} (blob {} -> {})",
                                human_bytes(a.size),
                                human_bytes(b.size),
                                &a.blob.to_hex()[..12],
                                &b.blob.to_hex()[..12]
                            ));
                        }
                    }
                    parts.extend(ch.fields.iter().filter(|f| *f != "content").cloned());
                    format!(": {}", parts.join(", "))
                }
            };
            let _ = writeln!(
                out,
                "{inner}  {} {}{detail}",
                change_sigil(ch.change, st),
                ch.key
            );
            if let Some(c) = &ch.content {
                content(out, c, indent + 8, st);
            }
        }
        if o.not_listed > 0 {
            let _ = writeln!(out, "{inner}  ... and {} more not listed", o.not_listed);
        }
    }
    if let Some(it) = &r.items {
        let c = Counts {
            added: it.added,
            removed: it.removed,
            modified: it.changed,
            unchanged: it.unchanged,
            not_comparable: 0,
            recreated: 0,
        };
        let _ = writeln!(out, "{inner}items: {}", counts_text(&c));
        for ch in &it.changes {
            let attrs = if ch.attributes.is_empty() {
                String::new()
            } else {
                format!(": {}", ch.attributes.join(", "))
            };
            let _ = writeln!(
                out,
                "{inner}  {} {}{attrs}",
                change_sigil(ch.change, st),
                ch.key
            );
        }
        if it.not_listed > 0 {
            let _ = writeln!(out, "{inner}  ... and {} more not listed", it.not_listed);
        }
    }
    for n in &r.notes {
        if Some(n) != r.reason.as_ref() {
            let _ = writeln!(out, "{inner}{}", st.dim(&format!("note: {n}")));
        }
    }
}

/// The group a resource is shown under within its kind (a record set's zone), and its short
/// name there.
fn group(r: &ResourceDiff) -> Option<(String, String)> {
    if r.id.kind == "aws.route53.record_set" {
        let (zone, rest) = r.id.id.split_once('/')?;
        return Some((format!("zone {zone}"), rest.to_string()));
    }
    None
}

fn kind(out: &mut String, k: &KindDiff, st: Style) {
    let _ = writeln!(
        out,
        "{} {}",
        st.bold(&k.kind),
        st.dim(&format!("({}): {}", k.noun, counts_text(&k.counts)))
    );
    let mut current_group: Option<String> = None;
    for r in k
        .resources
        .iter()
        .filter(|r| r.status != Status::NotComparable)
    {
        match group(r) {
            Some((g, short)) => {
                if current_group.as_ref() != Some(&g) {
                    let _ = writeln!(out, "  {}", st.cyan(&g));
                    current_group = Some(g);
                }
                resource(out, r, Some(&short), 4, st);
            }
            None => resource(out, r, None, 2, st),
        }
    }
    // Not comparable: grouped by reason.
    let mut reasons: Vec<(&str, Vec<&ResourceDiff>)> = Vec::new();
    for r in k
        .resources
        .iter()
        .filter(|r| r.status == Status::NotComparable)
    {
        let why = r.reason.as_deref().unwrap_or("");
        match reasons.iter_mut().find(|(w, _)| *w == why) {
            Some((_, v)) => v.push(r),
            None => reasons.push((why, vec![r])),
        }
    }
    for (why, rs) in reasons {
        if rs.len() == 1 {
            resource(out, rs[0], None, 2, st);
            continue;
        }
        let _ = writeln!(
            out,
            "  {} {} not comparable: {}",
            sigil(Status::NotComparable, st),
            rs.len(),
            st.magenta(why)
        );
        for r in rs.iter().take(MAX_NOT_COMPARABLE) {
            let _ = writeln!(out, "      {}", name(&r.id, r.label.as_deref(), None, st));
        }
        if rs.len() > MAX_NOT_COMPARABLE {
            let _ = writeln!(out, "      ... and {} more", rs.len() - MAX_NOT_COMPARABLE);
        }
    }
}

/// The diff for people.
pub fn diff(r: &DiffReport, st: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Comparing snapshot `{}` with `{}`{}",
        r.from.name,
        r.to.name,
        if r.content { " (with content)" } else { "" }
    );
    for k in &r.kinds {
        if k.resources.is_empty() {
            continue;
        }
        out.push('\n');
        kind(&mut out, k, st);
    }
    let unchanged_kinds: Vec<String> = r
        .kinds
        .iter()
        .filter(|k| k.resources.is_empty())
        .map(|k| format!("{} ({})", k.kind, k.counts.unchanged))
        .collect();
    if !unchanged_kinds.is_empty() {
        let _ = write!(
            out,
            "\n{}",
            st.dim(&format!("Unchanged: {}\n", unchanged_kinds.join(", ")))
        );
    }
    if !r.notes.is_empty() {
        out.push_str("\nNotes:\n");
        for n in &r.notes {
            let _ = writeln!(out, "  - {n}");
        }
    }
    out.push('\n');
    let verdict = if r.differs() {
        st.bold("Differences:")
    } else if r.counts.not_comparable > 0 {
        st.bold("No differences where comparable:")
    } else {
        st.bold("No differences:")
    };
    let _ = writeln!(out, "{verdict} {}", counts_text(&r.counts));
    out
}

/// The history for people.
pub fn log(r: &LogReport, st: Style) -> String {
    let mut out = String::new();
    let mut what = name(&r.id, r.label.as_deref(), None, st);
    what = format!("{} {what}", r.id.kind);
    if let Some(o) = &r.object {
        what.push_str(&format!(", object {o}"));
    }
    if let Some(f) = &r.field {
        what.push_str(&format!(", field {f}"));
    }
    let _ = writeln!(
        out,
        "History of {what} across {} snapshots",
        r.snapshots.len()
    );
    if r.entries.is_empty() {
        out.push_str("  no entries\n");
        return out;
    }
    let width = r
        .entries
        .iter()
        .map(|e| e.snapshot.chars().count())
        .max()
        .unwrap_or(0);
    for e in &r.entries {
        let when = e
            .started_at
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string() + "  ")
            .unwrap_or_default();
        let event = match e.event {
            Event::FirstSeen => st.green("first seen"),
            Event::Changed => st.yellow("changed"),
            Event::Gone => st.red("gone"),
            Event::Reappeared => st.green("reappeared"),
            Event::NotRead => st.magenta("not read"),
        };
        let _ = write!(out, "  {}{:<width$}  {event}", st.dim(&when), e.snapshot);
        if let Some(why) = &e.reason {
            let _ = write!(out, ": {why}");
        }
        if r.field.is_some() {
            match (e.event, e.change) {
                (_, Some(Change::Secret)) => {
                    let _ = write!(out, ": {}", st.yellow("changed (secret)"));
                }
                (Event::FirstSeen, _) => {
                    let _ = write!(out, ": {}", value(&e.after));
                }
                (Event::Gone, _) => {
                    let _ = write!(out, " (was {})", value(&e.before));
                }
                (_, Some(_)) => {
                    let _ = write!(out, ": {} -> {}", value(&e.before), value(&e.after));
                }
                _ => {}
            }
            out.push('\n');
            continue;
        }
        out.push('\n');
        let pad = " ".repeat(4);
        for c in &e.changes {
            let _ = writeln!(out, "{pad}{}", field_line(c, st));
        }
        for p in &e.parts {
            part_line(&mut out, p, 4, st);
        }
        if let Some(o) = &e.objects {
            let c = Counts {
                added: o.added,
                removed: o.removed,
                modified: o.changed,
                unchanged: o.unchanged,
                not_comparable: 0,
                recreated: 0,
            };
            let _ = writeln!(out, "{pad}objects: {}", counts_text(&c));
        }
        if let Some(it) = &e.items {
            let c = Counts {
                added: it.added,
                removed: it.removed,
                modified: it.changed,
                unchanged: it.unchanged,
                not_comparable: 0,
                recreated: 0,
            };
            let _ = writeln!(out, "{pad}items: {}", counts_text(&c));
        }
        if !e.fields.is_empty() {
            let _ = writeln!(out, "{pad}{}", e.fields.join(", "));
        }
        for n in &e.notes {
            let _ = writeln!(out, "{pad}{}", st.dim(&format!("note: {n}")));
        }
    }
    out
}

impl std::fmt::Display for LogReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&log(self, Style::plain()))
    }
}
