//! The rules of restore, as pure functions with case tables: what to do with a resource that
//! exists live and differs from the snapshot (`--if-exists`), and the blast-radius guard.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `--if-exists`: what to do with a live resource that differs from the snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IfExists {
    /// Leave it as it is.
    Skip,
    /// Replace it with the snapshot's.
    Overwrite,
    /// Replace it only if its live state is one a snapshot holds (the latest snapshot, or the one
    /// restored): a live change made after the latest snapshot, which no snapshot has, is never
    /// overwritten unless asked, since it would be lost.
    #[default]
    IfUnchanged,
}

impl FromStr for IfExists {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "skip" => Ok(IfExists::Skip),
            "overwrite" => Ok(IfExists::Overwrite),
            "if-unchanged" => Ok(IfExists::IfUnchanged),
            _ => Err(format!(
                "`{s}` is not an --if-exists policy: skip, overwrite or if-unchanged"
            )),
        }
    }
}

impl fmt::Display for IfExists {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IfExists::Skip => "skip",
            IfExists::Overwrite => "overwrite",
            IfExists::IfUnchanged => "if-unchanged",
        })
    }
}

/// What happens to a live resource that differs from the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Write,
    Skip(String),
}

/// Decide for a live resource that exists and differs from the snapshot. `recorded`: its live
/// state is held by a snapshot (the latest one), so overwriting it loses nothing.
pub fn decide(policy: IfExists, recorded: bool) -> Decision {
    match (policy, recorded) {
        (IfExists::Overwrite, _) => Decision::Write,
        (IfExists::IfUnchanged, true) => Decision::Write,
        (IfExists::Skip, _) => Decision::Skip(
            "exists live and differs from the snapshot; --if-exists skip keeps it \
             (--if-exists overwrite replaces it)"
                .into(),
        ),
        (IfExists::IfUnchanged, false) => Decision::Skip(
            "changed live after the latest snapshot, and no snapshot holds that change: \
             overwriting would lose it. Take a snapshot first, or pass --if-exists overwrite"
                .into(),
        ),
    }
}

/// The share of a kind's live resources one plan may update or delete without `--force`.
pub const BLAST_RADIUS_PERCENT: u64 = 30;

/// A kind over the blast-radius threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breach {
    /// A resource kind, or `aws.s3.object` for the objects of the target buckets.
    pub kind: String,
    /// Updates and deletes planned.
    pub changes: u64,
    /// Live resources of the kind in the captured scope.
    pub live: u64,
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} of {} live ({}%)",
            self.kind,
            self.changes,
            self.live,
            self.changes * 100 / self.live.max(1)
        )
    }
}

/// The kinds whose planned updates and deletes exceed [`BLAST_RADIUS_PERCENT`] of their live
/// resources. `counts`: kind → (updates + deletes, live resources). Creates never count: they
/// touch nothing that exists.
pub fn guard(counts: &BTreeMap<String, (u64, u64)>) -> Vec<Breach> {
    counts
        .iter()
        .filter(|(_, (changes, live))| *live > 0 && changes * 100 > live * BLAST_RADIUS_PERCENT)
        .map(|(kind, (changes, live))| Breach {
            kind: kind.clone(),
            changes: *changes,
            live: *live,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(IfExists::Overwrite, false, true)]
    #[case(IfExists::Overwrite, true, true)]
    #[case(IfExists::IfUnchanged, true, true)]
    #[case(IfExists::IfUnchanged, false, false)]
    #[case(IfExists::Skip, true, false)]
    #[case(IfExists::Skip, false, false)]
    fn if_exists(#[case] p: IfExists, #[case] recorded: bool, #[case] writes: bool) {
        let d = decide(p, recorded);
        assert_eq!(
            d == Decision::Write,
            writes,
            "{p} recorded={recorded}: {d:?}"
        );
        if let Decision::Skip(why) = d {
            assert!(
                why.contains("--if-exists"),
                "the reason says how to overwrite: {why}"
            );
        }
    }

    #[rstest]
    #[case(0, 10, false)]
    #[case(3, 10, false)] // exactly 30%: allowed
    #[case(4, 10, true)]
    #[case(1, 3, true)]
    #[case(1, 4, false)]
    #[case(5, 0, false)] // nothing live to damage
    #[case(1, 1, true)]
    #[case(300, 1000, false)]
    #[case(301, 1000, true)]
    fn blast_radius(#[case] changes: u64, #[case] live: u64, #[case] breach: bool) {
        let counts = BTreeMap::from([("aws.s3.object".to_string(), (changes, live))]);
        assert_eq!(!guard(&counts).is_empty(), breach, "{changes} of {live}");
    }

    #[test]
    fn policies_parse_and_print() {
        for p in [IfExists::Skip, IfExists::Overwrite, IfExists::IfUnchanged] {
            assert_eq!(p.to_string().parse::<IfExists>().unwrap(), p);
        }
        assert!("replace"
            .parse::<IfExists>()
            .unwrap_err()
            .contains("overwrite"));
        assert_eq!(IfExists::default(), IfExists::IfUnchanged);
    }
}
