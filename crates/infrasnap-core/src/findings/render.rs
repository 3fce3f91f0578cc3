//! Findings for people: the text `infrasnap findings` prints, and the MANIFEST.md section (as
//! table data, which the HTML report renders too).

use std::fmt;

use serde_json::Value;

use super::{Finding, FindingsReport, State};
use crate::manifest::{Blocks, DataSection, Table};

/// An evidence value on one line, shortened.
pub fn short_value(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 120 {
        format!("{}...", s.chars().take(117).collect::<String>())
    } else {
        s
    }
}

fn state_text(f: &Finding) -> String {
    let mut s = f.state.as_str().to_string();
    if let Some(sup) = &f.suppressed {
        if sup.expired {
            s.push_str(&format!(", suppression expired {}", sup.expires));
        } else {
            s.push_str(&format!(", suppressed until {}", sup.expires));
        }
    }
    s
}

impl fmt::Display for FindingsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Findings in `{}`{} (as of {}): {} high, {} medium, {} low; {} new, {} regressed, {} resolved, {} suppressed",
            self.snapshot,
            self.previous
                .as_ref()
                .map(|p| format!(", compared with `{p}`"))
                .unwrap_or_default(),
            self.as_of,
            self.counts.high,
            self.counts.medium,
            self.counts.low,
            self.counts.new,
            self.counts.regressed,
            self.counts.resolved,
            self.counts.suppressed,
        )?;
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        for x in &self.findings {
            writeln!(f)?;
            writeln!(
                f,
                "{:<6} {} [{}] {}",
                x.severity.as_str().to_uppercase(),
                x.rule,
                state_text(x),
                x.title
            )?;
            writeln!(f, "       resource: {}", x.resource)?;
            if x.state == State::Resolved {
                continue;
            }
            for e in &x.evidence {
                let at = match &e.resource {
                    Some(r) => format!("{r} {}", e.pointer),
                    None => e.pointer.clone(),
                };
                writeln!(f, "       {}: {}", at.trim(), short_value(&e.value))?;
            }
            if let Some(s) = &x.suppressed {
                writeln!(f, "       suppressed: {}", s.reason)?;
            }
            writeln!(f, "       what to do: {}", x.action)?;
        }
        if self.findings.is_empty() {
            writeln!(f, "\nNo findings.")?;
        }
        Ok(())
    }
}

/// The findings table: one row per finding.
pub fn table(r: &FindingsReport) -> Table {
    let mut t = Table::new(&["Severity", "Rule", "State", "Resource", "Finding"]);
    for f in &r.findings {
        t.row(vec![
            f.severity.as_str().to_string(),
            f.rule.clone(),
            state_text(f),
            f.resource.clone(),
            f.title.clone(),
        ]);
    }
    t
}

/// The MANIFEST.md section.
pub fn section(r: &FindingsReport) -> DataSection {
    let c = &r.counts;
    let mut blocks = Blocks::default();
    blocks.text(format!(
        "{} high, {} medium, {} low ({} new, {} regressed{}); {} resolved, {} suppressed. \
             `infrasnap findings {}` shows the evidence and what to do.",
        c.high,
        c.medium,
        c.low,
        c.new,
        c.regressed,
        r.previous
            .as_ref()
            .map(|p| format!(" since `{p}`"))
            .unwrap_or_default(),
        c.resolved,
        c.suppressed,
        r.snapshot
    ));
    blocks.table(table(r));
    DataSection {
        title: "Findings".into(),
        blocks,
    }
}
