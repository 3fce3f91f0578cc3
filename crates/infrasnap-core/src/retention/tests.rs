//! Retention as case tables: restic's golden cases, restic's documented examples, and infrasnap's
//! own rules (partial and failed runs, labels, what is never forgotten, refusals).

use super::*;
use rstest::rstest;

fn t(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn now() -> DateTime<Utc> {
    t("2026-12-02T10:00:00Z").with_timezone(&Utc)
}

fn snap(name: &str, time: &str, status: Status) -> Candidate {
    Candidate {
        name: name.to_string(),
        time: t(time),
        status,
        label: None,
        in_use: None,
    }
}

fn complete(time: &str) -> Candidate {
    snap(time, time, Status::Complete)
}

fn span(s: &str) -> Span {
    s.parse().unwrap()
}

fn n(c: u32) -> Option<Count> {
    Some(Count::N(c))
}

const ALL: Option<Count> = Some(Count::Unlimited);

/// `(name, reasons)` of the kept snapshots, newest first (restic's order).
fn kept(plan: &RetentionPlan) -> Vec<(String, String)> {
    plan.decisions
        .iter()
        .rev()
        .filter(|d| d.action == Action::Keep)
        .map(|d| {
            (
                d.name.clone(),
                d.reasons
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
        .collect()
}

// ---- restic's golden cases (internal/data/snapshot_policy_test.go, TestApplyPolicy) ----

fn restic_policy(case: usize) -> Policy {
    let p = Policy::default();
    let w = |s: &str| Some(span(s));
    match case {
        0 => p,
        1 => Policy {
            keep_last: n(10),
            ..p
        },
        2 => Policy {
            keep_last: n(15),
            ..p
        },
        3 => Policy {
            keep_last: n(99),
            ..p
        },
        4 => Policy {
            keep_last: n(200),
            ..p
        },
        5 => Policy {
            keep_hourly: n(20),
            ..p
        },
        6 => Policy {
            keep_daily: n(3),
            ..p
        },
        7 => Policy {
            keep_daily: n(10),
            ..p
        },
        8 => Policy {
            keep_daily: n(30),
            ..p
        },
        9 => Policy {
            keep_last: n(5),
            keep_daily: n(5),
            ..p
        },
        10 => Policy {
            keep_last: n(2),
            keep_daily: n(10),
            ..p
        },
        11 => Policy {
            keep_weekly: n(2),
            ..p
        },
        12 => Policy {
            keep_weekly: n(4),
            ..p
        },
        13 => Policy {
            keep_daily: n(3),
            keep_weekly: n(4),
            ..p
        },
        14 => Policy {
            keep_monthly: n(6),
            ..p
        },
        15 => Policy {
            keep_daily: n(2),
            keep_weekly: n(2),
            keep_monthly: n(6),
            ..p
        },
        16 => Policy {
            keep_yearly: n(10),
            ..p
        },
        17 => Policy {
            keep_daily: n(7),
            keep_weekly: n(2),
            keep_monthly: n(3),
            keep_yearly: n(10),
            ..p
        },
        21 => Policy {
            keep_within: w("1d"),
            ..p
        },
        22 => Policy {
            keep_within: w("2d"),
            ..p
        },
        23 => Policy {
            keep_within: w("7d"),
            ..p
        },
        24 => Policy {
            keep_within: w("1m"),
            ..p
        },
        25 => Policy {
            keep_within: w("1m14d"),
            ..p
        },
        26 => Policy {
            keep_within: w("1y1d1m"),
            ..p
        },
        27 => Policy {
            keep_within: w("13d23h"),
            ..p
        },
        28 => Policy {
            keep_within: w("2m2h"),
            ..p
        },
        29 => Policy {
            keep_within: w("1y2m3d3h"),
            ..p
        },
        30 => Policy {
            keep_within_hourly: w("1y2m3d3h"),
            ..p
        },
        31 => Policy {
            keep_within_daily: w("1y2m3d3h"),
            ..p
        },
        32 => Policy {
            keep_within_weekly: w("1y2m3d3h"),
            ..p
        },
        33 => Policy {
            keep_within_monthly: w("1y2m3d3h"),
            ..p
        },
        34 => Policy {
            keep_within_yearly: w("1y2m3d3h"),
            ..p
        },
        35 => Policy {
            keep_within: w("1h"),
            keep_within_hourly: w("1d"),
            keep_within_daily: w("7d"),
            keep_within_weekly: w("1m"),
            keep_within_monthly: w("1y"),
            keep_within_yearly: w("9999y"),
            ..p
        },
        36 => Policy {
            keep_last: ALL,
            ..p
        },
        37 => Policy {
            keep_last: ALL,
            keep_hourly: ALL,
            ..p
        },
        38 => Policy {
            keep_hourly: ALL,
            ..p
        },
        39 => Policy {
            keep_daily: n(3),
            keep_weekly: n(2),
            keep_monthly: ALL,
            keep_yearly: ALL,
            ..p
        },
        other => panic!("no policy for restic case {other}"),
    }
}

#[test]
fn restic_golden_cases_give_the_same_snapshots_and_reasons() {
    let text = include_str!("restic_golden.txt");
    let mut input: Vec<Candidate> = Vec::new();
    let mut cases: Vec<(usize, Vec<(String, String)>)> = Vec::new();
    let mut in_input = false;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if line == "input" {
            in_input = true;
        } else if let Some(c) = line.strip_prefix("case ") {
            in_input = false;
            cases.push((c.parse().unwrap(), Vec::new()));
        } else if in_input {
            input.push(complete(line));
        } else {
            let (time, why) = line.split_once(' ').unwrap();
            cases
                .last_mut()
                .unwrap()
                .1
                .push((time.to_string(), why.to_string()));
        }
    }
    assert_eq!(input.len(), 103);
    assert_eq!(cases.len(), 37);
    for (case, want) in cases {
        let policy = restic_policy(case);
        let sorted = newest_first(&input);
        let reasons = apply_rules(&sorted, &policy, now());
        let got: Vec<(DateTime<FixedOffset>, String)> = sorted
            .iter()
            .zip(&reasons)
            .filter(|(_, r)| !r.is_empty())
            .map(|(s, r)| {
                let why = r.iter().map(|r| r.to_string()).collect::<Vec<_>>();
                (s.time, why.join("; "))
            })
            .collect();
        let want: Vec<(DateTime<FixedOffset>, String)> = want
            .into_iter()
            .map(|(time, why)| (t(&time), why))
            .collect();
        assert_eq!(got, want, "restic case {case}: {policy}");
    }
}

// ---- restic's documented examples (doc/060_forget.rst) ----

/// "backups every weekday for the past two weeks, and on Fridays an additional backup"; the
/// Wednesday backup was missed.
fn restic_doc_snapshots() -> Vec<Candidate> {
    [
        ("60e5c031", "2025-04-21T11:00:00Z"),
        ("1dccffe9", "2025-04-22T11:00:00Z"),
        ("90a5c949", "2025-04-23T11:00:00Z"),
        ("79580708", "2025-04-24T11:00:00Z"),
        ("8a603ddf", "2025-04-25T11:00:00Z"),
        ("ae33bf10", "2025-04-25T23:00:00Z"),
        ("fb8b1418", "2025-04-28T11:00:00Z"),
        ("1db188b4", "2025-04-29T11:00:00Z"),
        ("7baa4f28", "2025-05-01T11:00:00Z"),
        ("05c48af3", "2025-05-02T11:00:00Z"),
        ("ad72e262", "2025-05-02T23:00:00Z"),
    ]
    .into_iter()
    .map(|(id, time)| snap(id, time, Status::Complete))
    .collect()
}

#[rstest]
#[case::keep_daily_5(
    Policy { keep_daily: n(5), ..Policy::default() },
    "keep 5 daily snapshots",
    // restic's table names the kept Friday snapshot 8a603ddf but shows the time of ae33bf10
    // (23:00); its removal list and the rule (the newest of each day) agree on ae33bf10.
    &[("ad72e262", "daily snapshot; newest complete snapshot"), ("7baa4f28", "daily snapshot"),
      ("1db188b4", "daily snapshot"), ("fb8b1418", "daily snapshot"), ("ae33bf10", "daily snapshot")],
)]
#[case::keep_within_daily_7d(
    Policy { keep_within_daily: Some(span("7d")), ..Policy::default() },
    "keep daily snapshots within 7d",
    &[("ad72e262", "daily within 7d; newest complete snapshot"), ("7baa4f28", "daily within 7d"),
      ("1db188b4", "daily within 7d"), ("fb8b1418", "daily within 7d")],
)]
fn restic_documented_examples(
    #[case] policy: Policy,
    #[case] sentence: &str,
    #[case] want: &[(&str, &str)],
) {
    let plan = plan(&restic_doc_snapshots(), &policy, now()).unwrap();
    assert_eq!(plan.policy, sentence);
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(kept(&plan), want);
    assert_eq!(plan.forgotten().count(), 11 - want.len());
}

/// restic: "suppose you make one backup every day for 100 years. Then forget --keep-daily 7
/// --keep-weekly 5 --keep-monthly 12 --keep-yearly 75 would keep the most recent 7 daily
/// snapshots and 4 last-day-of-the-week ones (since the 7 dailies already include 1 weekly).
/// Additionally, 12 or 11 last-day-of-the-month snapshots ... 75 or 74 last-day-of-the-year".
#[test]
fn restic_hundred_years_of_daily_backups() {
    // A hundred years of days, the last a Sunday (28 Dec 2025): the 7 dailies are one whole
    // week, so they include exactly one weekly, as restic's text says.
    let start = t("1926-01-01T03:00:00Z");
    let days = (chrono::NaiveDate::from_ymd_opt(2025, 12, 28).unwrap()
        - chrono::NaiveDate::from_ymd_opt(1926, 1, 1).unwrap())
    .num_days()
        + 1;
    let snaps: Vec<Candidate> = (0..days)
        .map(|d| {
            let time = start + chrono::Duration::days(d);
            Candidate {
                name: time.to_rfc3339(),
                time,
                status: Status::Complete,
                label: None,
                in_use: None,
            }
        })
        .collect();
    let policy = Policy {
        keep_daily: n(7),
        keep_weekly: n(5),
        keep_monthly: n(12),
        keep_yearly: n(75),
        ..Policy::default()
    };
    let plan = plan(&snaps, &policy, now()).unwrap();
    let count = |what: &str| {
        plan.kept()
            .filter(|d| d.reasons.iter().any(|r| r.to_string() == what))
            .count()
    };
    assert_eq!(count("daily snapshot"), 7);
    assert_eq!(count("weekly snapshot"), 5);
    // Kept by `what` and by none of the rules before it (daily, weekly, monthly, yearly).
    let order = [
        "daily snapshot",
        "weekly snapshot",
        "monthly snapshot",
        "yearly snapshot",
    ];
    let new_for = |what: &str| {
        let earlier = &order[..order.iter().position(|o| *o == what).unwrap()];
        plan.kept()
            .filter(|d| {
                let r: Vec<String> = d.reasons.iter().map(|r| r.to_string()).collect();
                r.iter().any(|x| x == what) && !r.iter().any(|x| earlier.contains(&x.as_str()))
            })
            .count()
    };
    assert_eq!(
        new_for("weekly snapshot"),
        4,
        "the dailies include 1 weekly"
    );
    // restic: "12 or 11 ... depending on whether one of them ends up being the same as a daily
    // or weekly". Here both happen: 28 Dec is a daily, 30 Nov a Sunday (a weekly).
    assert_eq!(new_for("monthly snapshot"), 10);
    assert_eq!(new_for("yearly snapshot"), 74, "75 or 74");
    assert_eq!(plan.kept().count(), 7 + 4 + 10 + 74);
}

// ---- infrasnap's own rules ----

/// A weekly schedule: Sundays 03:00 UTC, four weeks, with extra runs.
fn weekly() -> Vec<Candidate> {
    vec![
        snap("w1", "2026-11-08T03:00:00Z", Status::Complete),
        snap("w2", "2026-11-15T03:00:00Z", Status::Complete),
        snap("w2-retry", "2026-11-15T09:00:00Z", Status::Partial),
        snap("w3", "2026-11-22T03:00:00Z", Status::Partial),
        snap("w4-failed", "2026-11-29T03:00:00Z", Status::Failed),
        snap("w4", "2026-11-29T04:00:00Z", Status::Complete),
    ]
}

#[rstest]
#[case::partial_runs_do_not_count_by_default(
    Policy { keep_weekly: n(3), ..Policy::default() },
    &[("w4", "weekly snapshot; newest complete snapshot"), ("w2", "weekly snapshot"),
      ("w1", "weekly snapshot")],
)]
#[case::counted_partial_runs_fill_a_week_with_no_complete_one(
    Policy { keep_weekly: n(3), count_partial: true, ..Policy::default() },
    // Week 2: the complete w2 is preferred over the newer partial retry.
    &[("w4", "weekly snapshot; newest complete snapshot"), ("w3", "weekly snapshot"),
      ("w2", "weekly snapshot")],
)]
#[case::keep_last_counts_complete_runs_only_by_default(
    Policy { keep_last: n(2), ..Policy::default() },
    &[("w4", "last snapshot; newest complete snapshot"), ("w2", "last snapshot")],
)]
#[case::keep_last_counts_partial_runs_when_asked(
    Policy { keep_last: n(2), count_partial: true, ..Policy::default() },
    &[("w4", "last snapshot; newest complete snapshot"), ("w3", "last snapshot")],
)]
#[case::keep_within_keeps_partial_but_not_failed_runs(
    Policy { keep_within: Some(span("8d")), ..Policy::default() },
    &[("w4", "within 8d; newest complete snapshot"), ("w3", "within 8d")],
)]
#[case::counts_left_keep_the_oldest(
    Policy { keep_monthly: n(5), ..Policy::default() },
    &[("w4", "monthly snapshot; newest complete snapshot"), ("w1", "oldest monthly snapshot")],
)]
#[case::within_a_period(
    Policy { keep_within_daily: Some(span("1d")), count_partial: true, ..Policy::default() },
    &[("w4", "daily within 1d; newest complete snapshot")],
)]
fn partial_and_failed_runs(#[case] policy: Policy, #[case] want: &[(&str, &str)]) {
    let plan = plan(&weekly(), &policy, now()).unwrap();
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(kept(&plan), want, "\n{plan}");
    let failed = plan
        .decisions
        .iter()
        .find(|d| d.name == "w4-failed")
        .unwrap();
    assert_eq!(failed.action, Action::Forget);
    assert!(failed.note.as_deref().unwrap().contains("failed run"));
}

#[test]
fn labels_in_use_and_newest_complete_are_kept_whatever_the_counts() {
    let mut snaps = vec![
        snap("v1.0", "2026-01-01T00:00:00Z", Status::Complete),
        snap("nightly-1", "2026-02-01T00:00:00Z", Status::Complete),
        snap("v2.0-rc", "2026-03-01T00:00:00Z", Status::Failed),
        snap("old", "2026-04-01T00:00:00Z", Status::Complete),
        snap("latest", "2026-05-01T00:00:00Z", Status::Complete),
        snap("newer-partial", "2026-05-02T00:00:00Z", Status::Partial),
    ];
    for s in &mut snaps {
        s.label = Some(s.name.clone());
    }
    snaps[3].in_use = Some("verify (pid 42)".into());
    let policy = Policy {
        keep_label: vec!["v*".into()],
        ..Policy::default()
    };
    let plan = plan(&snaps, &policy, now()).unwrap();
    assert_eq!(
        kept(&plan),
        vec![
            ("latest".to_string(), "newest complete snapshot".to_string()),
            ("old".into(), "in use by verify (pid 42)".into()),
            ("v2.0-rc".into(), "label matches 'v*'".into()),
            ("v1.0".into(), "label matches 'v*'".into()),
        ]
    );
    let forgotten: Vec<&str> = plan.forgotten().map(|d| d.name.as_str()).collect();
    assert_eq!(forgotten, ["nightly-1", "newer-partial"]);
}

#[test]
fn keep_within_is_measured_from_the_newest_snapshot_not_from_now() {
    // The schedule stopped in 2020: keep_within 30d still keeps that last month.
    let snaps = vec![
        complete("2020-01-01T03:00:00Z"),
        complete("2020-02-20T03:00:00Z"),
        complete("2020-03-01T03:00:00Z"),
    ];
    let policy = Policy {
        keep_within: Some(span("30d")),
        ..Policy::default()
    };
    let plan = plan(&snaps, &policy, now()).unwrap();
    let names: Vec<String> = kept(&plan).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["2020-03-01T03:00:00Z", "2020-02-20T03:00:00Z"]);
}

#[test]
fn periods_follow_the_calendar_of_the_snapshot_time_zone() {
    // 23:30 UTC on May 2 is already May 3 in Berlin (+02:00).
    let utc = [
        complete("2025-05-02T10:00:00Z"),
        complete("2025-05-02T23:30:00Z"),
    ];
    let berlin = [
        complete("2025-05-02T12:00:00+02:00"),
        complete("2025-05-03T01:30:00+02:00"),
    ];
    let policy = Policy {
        keep_daily: n(1),
        ..Policy::default()
    };
    // One day in UTC: the newer is kept; its count is used up, so no oldest is added.
    assert_eq!(plan(&utc, &policy, now()).unwrap().kept().count(), 1);
    let p = Policy {
        keep_daily: n(2),
        ..Policy::default()
    };
    assert_eq!(plan(&utc, &p, now()).unwrap().kept().count(), 2); // the second as "oldest"
    let b = plan(&berlin, &p, now()).unwrap();
    assert!(b
        .kept()
        .all(|d| d.reasons[0].to_string() == "daily snapshot"));
}

#[test]
fn future_snapshots_do_not_move_keep_within() {
    let snaps = vec![
        complete("2026-11-01T00:00:00Z"),
        complete("2026-11-20T00:00:00Z"),
        complete("2030-01-01T00:00:00Z"),
    ];
    let policy = Policy {
        keep_within: Some(span("5d")),
        ..Policy::default()
    };
    let names: Vec<String> = kept(&plan(&snaps, &policy, now()).unwrap())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["2030-01-01T00:00:00Z", "2026-11-20T00:00:00Z"]);
}

// ---- refusals: a clear error, and no plan (so nothing is removed) ----

#[rstest]
#[case::no_rules(Policy::default(), "no retention rules given")]
#[case::only_zero_counts(Policy { keep_last: n(0), keep_daily: n(0), ..Policy::default() }, "no retention rules")]
#[case::a_label_that_matches_nothing(
    Policy { keep_label: vec!["release-*".into()], ..Policy::default() },
    "keeps none of the 6 snapshots"
)]
#[case::an_empty_label_pattern(Policy { keep_label: vec![" ".into()], ..Policy::default() }, "empty pattern")]
fn refused_policies(#[case] policy: Policy, #[case] needle: &str) {
    let e = plan(&weekly(), &policy, now()).unwrap_err().to_string();
    assert!(e.contains(needle), "{e}");
}

#[test]
fn every_snapshot_partial_is_refused_with_the_way_out() {
    let snaps = vec![
        snap("a", "2026-11-01T00:00:00Z", Status::Partial),
        snap("b", "2026-11-08T00:00:00Z", Status::Partial),
    ];
    let policy = Policy {
        keep_weekly: n(4),
        ..Policy::default()
    };
    let e = plan(&snaps, &policy, now()).unwrap_err().to_string();
    assert!(e.contains("nothing was removed"), "{e}");
    assert!(
        e.contains("none is complete: 2 complete with errors"),
        "{e}"
    );
    assert!(e.contains("--count-partial"), "{e}");
    let ok = Policy {
        count_partial: true,
        ..policy
    };
    assert_eq!(plan(&snaps, &ok, now()).unwrap().kept().count(), 2);
}

#[rstest]
#[case("-1", "cannot be negative")]
#[case("seven", "whole number")]
#[case("1.5", "whole number")]
fn bad_counts(#[case] text: &str, #[case] needle: &str) {
    let e = Count::parse(text, "--keep-daily").unwrap_err().to_string();
    assert!(
        e.contains(needle) && e.contains("--keep-daily") && e.contains(text),
        "{e}"
    );
}

#[test]
fn counts_parse_unlimited_and_numbers() {
    assert_eq!(Count::parse("unlimited", "x").unwrap(), Count::Unlimited);
    assert_eq!(Count::parse("7", "x").unwrap(), Count::N(7));
}

#[test]
fn policy_from_toml() {
    let p: Policy = toml::from_str(
        "keep_daily = 7\nkeep_weekly = 5\nkeep_yearly = \"unlimited\"\nkeep_within = \"30d\"\n\
         keep_label = [\"v*\"]\ncount_partial = true\n",
    )
    .unwrap();
    assert_eq!(p.keep_daily, n(7));
    assert_eq!(p.keep_yearly, ALL);
    assert_eq!(p.keep_within, Some(span("30d")));
    assert_eq!(
        p.to_string(),
        "keep 7 daily, 5 weekly, all yearly snapshots, all snapshots labelled 'v*', all snapshots \
         within 30d of the newest (complete with errors counts)"
    );
    let e = toml::from_str::<Policy>("keep_daily = -1\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot be negative"), "{e}");
    let e = toml::from_str::<Policy>("keep_within = \"30\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unit must follow"), "{e}");
    let e = toml::from_str::<Policy>("keep_dialy = 1\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("keep_dialy"), "{e}");
}

#[test]
fn the_table_gives_a_reason_for_every_kept_snapshot() {
    let policy = Policy {
        keep_weekly: n(2),
        ..Policy::default()
    };
    let plan = plan(&weekly(), &policy, now()).unwrap();
    assert_eq!(
        plan.to_string(),
        "Applying policy: keep 2 weekly snapshots\n\
         ACTION  NAME       STARTED           STATUS                REASONS\n\
         forget  w1         2026-11-08 03:00  complete              no rule keeps it\n\
         keep    w2         2026-11-15 03:00  complete              weekly snapshot\n\
         forget  w2-retry   2026-11-15 09:00  complete with errors  complete with errors: counts toward no period (see count_partial)\n\
         forget  w3         2026-11-22 03:00  complete with errors  complete with errors: counts toward no period (see count_partial)\n\
         forget  w4-failed  2026-11-29 03:00  failed                failed run (captured nothing): counts toward no rule\n\
         keep    w4         2026-11-29 04:00  complete              weekly snapshot, newest complete snapshot\n\
         2 kept, 4 to forget"
    );
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["decisions"][1]["action"], "keep");
    assert_eq!(
        json["decisions"][5]["reasons"][1],
        "newest complete snapshot"
    );
}
