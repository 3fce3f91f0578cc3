//! Route53 change batches: which record set changes of a restore go into one
//! `ChangeResourceRecordSets` request. Pure, so the limits are tested with case tables; the
//! writer (collectors `restore/route53.rs`) only sends what [`change_batches`] groups.
//!
//! Route53's limits per request: at most 1,000 `ResourceRecord` elements and at most 32,000
//! characters in all `Value` elements, where an UPSERT counts twice. A batch is atomic and names
//! one hosted zone, so batches are made per zone. Changes to the same record name stay together,
//! deletes first (a CNAME replaced by an A record at the same name must be deleted in the same
//! request that creates the A record, and before it).

use std::collections::BTreeMap;

/// Route53's limits of one `ChangeResourceRecordSets` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `ResourceRecord` elements (an alias or a change without records counts one).
    pub elements: usize,
    /// Characters of all `Value` elements.
    pub chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            elements: 1_000,
            chars: 32_000,
        }
    }
}

/// The change action, as Route53 weighs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Create,
    /// Counts twice against both limits.
    Upsert,
    Delete,
}

/// One record set change to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordChange {
    /// The hosted zone id.
    pub zone: String,
    /// The record name (compared without case).
    pub name: String,
    pub kind: ChangeKind,
    /// Its `ResourceRecord` elements.
    pub records: usize,
    /// Characters of its values.
    pub chars: usize,
}

impl RecordChange {
    fn weight(&self) -> (usize, usize) {
        let w = if self.kind == ChangeKind::Upsert {
            2
        } else {
            1
        };
        (self.records.max(1) * w, self.chars * w)
    }
}

/// One request: changes (indexes into the input) in the order to send them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub zone: String,
    pub changes: Vec<usize>,
    /// These changes (of one record name) exceed a request's limits by themselves: sent alone,
    /// Route53 refuses them, and the error names them.
    pub over_limit: bool,
}

/// Group `changes` into as few requests as the limits allow: per zone (in zone order), whole
/// record names (deletes first, then the rest in input order), packed in input order of names.
pub fn change_batches(changes: &[RecordChange], limits: Limits) -> Vec<Batch> {
    // zone → names in first-seen order → their changes.
    let mut zones: BTreeMap<&str, Vec<(String, Vec<usize>)>> = BTreeMap::new();
    for (i, c) in changes.iter().enumerate() {
        let names = zones.entry(c.zone.as_str()).or_default();
        let key = c.name.to_ascii_lowercase();
        match names.iter_mut().find(|(n, _)| *n == key) {
            Some((_, v)) => v.push(i),
            None => names.push((key, vec![i])),
        }
    }
    let mut out = Vec::new();
    for (zone, names) in zones {
        let mut cur = Batch {
            zone: zone.to_string(),
            changes: Vec::new(),
            over_limit: false,
        };
        let (mut els, mut chars) = (0, 0);
        for (_, mut unit) in names {
            unit.sort_by_key(|&i| changes[i].kind != ChangeKind::Delete);
            let (ue, uc) = unit.iter().fold((0, 0), |(e, c), &i| {
                let (we, wc) = changes[i].weight();
                (e + we, c + wc)
            });
            if ue > limits.elements || uc > limits.chars {
                out.push(Batch {
                    zone: zone.to_string(),
                    changes: unit,
                    over_limit: true,
                });
                continue;
            }
            if els + ue > limits.elements || chars + uc > limits.chars {
                out.push(std::mem::replace(
                    &mut cur,
                    Batch {
                        zone: zone.to_string(),
                        changes: Vec::new(),
                        over_limit: false,
                    },
                ));
                (els, chars) = (0, 0);
            }
            cur.changes.extend(unit);
            els += ue;
            chars += uc;
        }
        if !cur.changes.is_empty() {
            out.push(cur);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn ch(zone: &str, name: &str, kind: ChangeKind, records: usize, chars: usize) -> RecordChange {
        RecordChange {
            zone: zone.into(),
            name: name.into(),
            kind,
            records,
            chars,
        }
    }

    fn many(n: usize, kind: ChangeKind, records: usize, chars: usize) -> Vec<RecordChange> {
        (0..n)
            .map(|i| ch("Z1", &format!("r{i}.example.com."), kind, records, chars))
            .collect()
    }

    /// Batch sizes (changes per request) for a set of changes.
    #[rstest]
    #[case::none(vec![], vec![])]
    #[case::one(many(1, ChangeKind::Upsert, 1, 9), vec![1])]
    #[case::creates_fill_a_request(many(1_000, ChangeKind::Create, 1, 9), vec![1_000])]
    #[case::one_create_too_many(many(1_001, ChangeKind::Create, 1, 9), vec![1_000, 1])]
    #[case::upserts_count_twice(many(1_500, ChangeKind::Upsert, 1, 9), vec![500, 500, 500])]
    #[case::records_per_set_count(many(10, ChangeKind::Create, 250, 2), vec![4, 4, 2])]
    #[case::value_characters(many(10, ChangeKind::Create, 1, 10_000), vec![3, 3, 3, 1])]
    #[case::value_characters_upsert(many(4, ChangeKind::Upsert, 1, 8_000), vec![2, 2])]
    #[case::exactly_at_the_limit(many(2, ChangeKind::Create, 1, 16_000), vec![2])]
    fn batch_sizes(#[case] changes: Vec<RecordChange>, #[case] sizes: Vec<usize>) {
        let b = change_batches(&changes, Limits::default());
        assert_eq!(b.iter().map(|b| b.changes.len()).collect::<Vec<_>>(), sizes);
        assert!(b.iter().all(|b| !b.over_limit));
        // Every change once, in input order within a zone.
        let all: Vec<usize> = b.iter().flat_map(|b| b.changes.clone()).collect();
        assert_eq!(all, (0..changes.len()).collect::<Vec<_>>());
    }

    #[test]
    fn one_huge_record_goes_alone_and_is_marked() {
        let mut c = many(3, ChangeKind::Create, 1, 10);
        c.insert(
            1,
            ch("Z1", "big.example.com.", ChangeKind::Upsert, 1, 20_000),
        );
        let b = change_batches(&c, Limits::default());
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].changes, vec![1]);
        assert!(b[0].over_limit);
        assert_eq!(b[1].changes, vec![0, 2, 3]);
        assert!(!b[1].over_limit);
    }

    #[test]
    fn zones_never_share_a_request() {
        let c = vec![
            ch("Z2", "a.two.", ChangeKind::Create, 1, 5),
            ch("Z1", "a.one.", ChangeKind::Create, 1, 5),
            ch("Z2", "b.two.", ChangeKind::Create, 1, 5),
        ];
        let b = change_batches(&c, Limits::default());
        assert_eq!(
            b.iter()
                .map(|b| (b.zone.as_str(), b.changes.clone()))
                .collect::<Vec<_>>(),
            vec![("Z1", vec![1]), ("Z2", vec![0, 2])]
        );
    }

    #[test]
    fn changes_to_one_name_stay_together_deletes_first() {
        let limits = Limits {
            elements: 4,
            chars: 1_000,
        };
        let c = vec![
            ch("Z1", "a.example.com.", ChangeKind::Create, 1, 5),
            ch("Z1", "www.example.com.", ChangeKind::Create, 1, 5),
            ch("Z1", "b.example.com.", ChangeKind::Create, 1, 5),
            // The live CNAME at www goes in the same request, before the A record.
            ch("Z1", "WWW.example.com.", ChangeKind::Delete, 1, 5),
            ch("Z1", "c.example.com.", ChangeKind::Create, 1, 5),
        ];
        let b = change_batches(&c, limits);
        assert_eq!(
            b.iter().map(|b| b.changes.clone()).collect::<Vec<_>>(),
            vec![vec![0, 3, 1, 2], vec![4]]
        );
    }
}
