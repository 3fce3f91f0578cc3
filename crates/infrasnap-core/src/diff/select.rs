//! Which resources a diff looks at: kinds (exact, or globs such as `aws.lambda.*`), accounts,
//! regions, and resource ids or globs on the id text (`*` any run of characters, `?` one).

use crate::catalog::kinds::KINDS;
use crate::ids::ResourceId;

use super::DiffError;

/// What to compare; empty lists select everything.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Kinds, or globs on kinds (`aws.lambda.*`).
    pub kinds: Vec<String>,
    /// Account ids, or globs.
    pub accounts: Vec<String>,
    /// Regions, or globs.
    pub regions: Vec<String>,
    /// Resource ids (`kind:account:region:id`) or globs on that text; a pattern without `:`
    /// matches the `id` part alone (`checkout`, `site-*`).
    pub ids: Vec<String>,
}

/// A checked [`Selection`].
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    /// Kind names (globs expanded); empty: every kind.
    kinds: Vec<&'static str>,
    accounts: Vec<String>,
    regions: Vec<String>,
    ids: Vec<IdPattern>,
}

#[derive(Debug, Clone)]
enum IdPattern {
    /// On the whole text.
    Full(String),
    /// On the `id` part.
    Id(String),
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?'])
}

impl Selection {
    /// Check the selection: every kind must name (or match) a declared kind, every id without
    /// glob characters must parse.
    pub fn compile(&self) -> Result<Matcher, DiffError> {
        let mut kinds = Vec::new();
        for k in &self.kinds {
            let matched: Vec<&'static str> = KINDS
                .iter()
                .map(|s| s.kind)
                .filter(|name| glob(k, name))
                .collect();
            if matched.is_empty() {
                return Err(DiffError::UnknownKind {
                    given: k.clone(),
                    known: KINDS.iter().map(|s| s.kind).collect::<Vec<_>>().join(", "),
                });
            }
            kinds.extend(matched);
        }
        kinds.sort_unstable();
        kinds.dedup();
        let mut ids = Vec::new();
        for p in &self.ids {
            if !p.contains(':') {
                ids.push(IdPattern::Id(p.clone()));
            } else if has_glob(p) {
                ids.push(IdPattern::Full(p.clone()));
            } else {
                let id: ResourceId = p.parse()?;
                ids.push(IdPattern::Full(id.to_string()));
            }
        }
        Ok(Matcher {
            kinds,
            accounts: self.accounts.clone(),
            regions: self.regions.clone(),
            ids,
        })
    }
}

impl Matcher {
    /// Is `(kind, account, region)` selected (ids aside)?
    pub fn scope(&self, kind: &str, account: &str, region: &str) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&kind))
            && (self.accounts.is_empty() || self.accounts.iter().any(|p| glob(p, account)))
            && (self.regions.is_empty() || self.regions.iter().any(|p| glob(p, region)))
    }

    /// Is the resource selected?
    pub fn matches(&self, id: &ResourceId) -> bool {
        if !self.scope(&id.kind, &id.account, &id.region) {
            return false;
        }
        if self.ids.is_empty() {
            return true;
        }
        let text = id.to_string();
        self.ids.iter().any(|p| match p {
            IdPattern::Full(g) => glob(g, &text),
            IdPattern::Id(g) => glob(g, &id.id),
        })
    }

    /// True when nothing narrows the selection.
    pub fn is_everything(&self) -> bool {
        self.kinds.is_empty()
            && self.accounts.is_empty()
            && self.regions.is_empty()
            && self.ids.is_empty()
    }
}

/// Does `text` match `pattern`: `*` any run of characters (also `:` and `/`), `?` one character,
/// everything else itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || (p[i] != '*' && p[i] == t[j])) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    while i < p.len() && p[i] == '*' {
        i += 1;
    }
    i == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("aws.lambda.*", "aws.lambda.function", true)]
    #[case("aws.lambda.*", "aws.lambdax", false)]
    #[case("*", "", true)]
    #[case("a?c", "abc", true)]
    #[case("a?c", "ac", false)]
    #[case("*:us-east-1:*", "aws.lambda.function:1:us-east-1:f", true)]
    #[case("site-*-prod", "site-a-b-prod", true)]
    #[case("exact", "exact", true)]
    #[case("exact", "exactly", false)]
    fn globs(#[case] p: &str, #[case] t: &str, #[case] want: bool) {
        assert_eq!(glob(p, t), want);
    }

    fn id(s: &str) -> ResourceId {
        s.parse().unwrap()
    }

    #[rstest]
    #[case(Selection::default(), "aws.lambda.function:1:eu-west-1:f", true)]
    #[case(Selection { kinds: vec!["aws.lambda.*".into()], ..Default::default() }, "aws.lambda.function:1:eu-west-1:f", true)]
    #[case(Selection { kinds: vec!["aws.s3.bucket".into()], ..Default::default() }, "aws.lambda.function:1:eu-west-1:f", false)]
    #[case(Selection { accounts: vec!["2".into()], ..Default::default() }, "aws.lambda.function:1:eu-west-1:f", false)]
    #[case(Selection { regions: vec!["eu-*".into()], ..Default::default() }, "aws.lambda.function:1:eu-west-1:f", true)]
    #[case(Selection { ids: vec!["f".into()], ..Default::default() }, "aws.lambda.function:1:eu-west-1:f", true)]
    #[case(Selection { ids: vec!["aws.lambda.function:1:eu-west-1:f".into()], ..Default::default() }, "aws.lambda.function:1:eu-west-1:f", true)]
    #[case(Selection { ids: vec!["*:eu-west-1:g*".into()], ..Default::default() }, "aws.lambda.function:1:eu-west-1:f", false)]
    fn selections(#[case] sel: Selection, #[case] rid: &str, #[case] want: bool) {
        assert_eq!(sel.compile().unwrap().matches(&id(rid)), want);
    }

    #[test]
    fn unknown_kinds_and_bad_ids_are_refused_clearly() {
        let e = Selection {
            kinds: vec!["aws.lamda.function".into()],
            ..Default::default()
        }
        .compile()
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("aws.lamda.function") && e.contains("aws.lambda.function"),
            "{e}"
        );
        let e = Selection {
            ids: vec!["aws.lambda.function:1".into()],
            ..Default::default()
        }
        .compile()
        .unwrap_err()
        .to_string();
        assert!(e.contains("kind:account:region:id"), "{e}");
    }
}
