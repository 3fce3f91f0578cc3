//! Suppressions: `[[findings.suppress]]` in infrasnap.toml, each with a rule, a resource glob, a
//! reason and an expiry date. An expired suppression no longer hides its finding (the finding
//! says which suppression expired).
//!
//! ```toml
//! [[findings.suppress]]
//! rule = "exposure.public-policy"          # a rule id, or a glob such as "exposure.*"
//! resource = "aws.s3.bucket:*::acme-www"   # a glob on the resource id
//! reason = "the public website; served through CloudFront"
//! expires = "2027-06-30"                   # YYYY-MM-DD (a TOML date works too)
//! ```

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{rules, Finding, FindingsError, Suppressed};
use crate::diff::select::glob;

/// One `[[findings.suppress]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// A rule id (`dns.dangling`) or a glob on rule ids (`hygiene.*`).
    pub rule: String,
    /// A glob on the resource id (`aws.s3.bucket:*::acme-*`), or a label.
    pub resource: String,
    /// Why it is accepted.
    pub reason: String,
    /// The last day it applies: `YYYY-MM-DD`.
    pub expires: Expiry,
}

/// A date as TOML text or as a TOML date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Expiry {
    Text(String),
    Date(toml::value::Datetime),
}

impl Expiry {
    pub fn text(&self) -> String {
        match self {
            Expiry::Text(s) => s.clone(),
            Expiry::Date(d) => d.to_string(),
        }
    }
    pub fn date(&self) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(self.text().trim(), "%Y-%m-%d").ok()
    }
}

/// Check every entry: a known rule (or a glob that matches one), a resource pattern, a reason, a
/// date.
pub fn validate(list: &[Suppression]) -> Result<(), FindingsError> {
    for (i, s) in list.iter().enumerate() {
        let bad = |why: String| FindingsError::Suppression { index: i + 1, why };
        if !rules::RULES.iter().any(|r| glob(&s.rule, r.id)) {
            return Err(bad(format!(
                "rule `{}` matches no rule; the rules are: {}",
                s.rule,
                rules::RULES
                    .iter()
                    .map(|r| r.id)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if s.resource.trim().is_empty() {
            return Err(bad(
                "`resource` is empty; give a resource id or a glob such as `aws.s3.bucket:*::acme-*`"
                    .into(),
            ));
        }
        if s.reason.trim().is_empty() {
            return Err(bad(
                "`reason` is empty; say why the finding is accepted".into()
            ));
        }
        if s.expires.date().is_none() {
            return Err(bad(format!(
                "`expires = {}` is not a date; write it as \"YYYY-MM-DD\"",
                s.expires.text()
            )));
        }
    }
    Ok(())
}

/// The first suppression matching `f`, as of `today`.
pub fn matching(list: &[Suppression], f: &Finding, today: NaiveDate) -> Option<Suppressed> {
    let s = list.iter().find(|s| {
        glob(&s.rule, &f.rule)
            && (glob(&s.resource, &f.resource)
                || f.label.as_deref().is_some_and(|l| glob(&s.resource, l)))
    })?;
    let expires = s.expires.date()?;
    Some(Suppressed {
        reason: s.reason.clone(),
        expires: expires.format("%Y-%m-%d").to_string(),
        expired: expires < today,
    })
}
