//! Calendar spans such as `30d`, `1y6m` or `13d23h`: restic's duration syntax (years, months,
//! days, hours), used by `--keep-within*` and `check --max-age`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone};
use serde::{Deserialize, Serialize};

use super::RetentionError;

/// A span of calendar time. Subtracted the way restic does it (Go's `AddDate`): years and months
/// first, days next (a day past a month's end rolls into the next month), hours last.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Span {
    pub years: u32,
    pub months: u32,
    pub days: u32,
    pub hours: u32,
}

impl Span {
    pub fn is_zero(&self) -> bool {
        *self == Span::default()
    }

    /// `t` minus this span.
    pub fn before<Tz: TimeZone>(&self, t: &DateTime<Tz>) -> DateTime<Tz> {
        let local = t.naive_local();
        let months = local.year() as i64 * 12 + local.month0() as i64
            - self.years as i64 * 12
            - self.months as i64;
        let first = NaiveDate::from_ymd_opt(
            months.div_euclid(12) as i32,
            months.rem_euclid(12) as u32 + 1,
            1,
        )
        .unwrap_or(NaiveDate::MIN);
        let day = first + chrono::Duration::days(local.day() as i64 - 1 - self.days as i64);
        let naive = day.and_time(local.time());
        let shifted = t
            .timezone()
            .from_local_datetime(&naive)
            .earliest()
            .unwrap_or_else(|| t.clone());
        shifted - chrono::Duration::hours(self.hours as i64)
    }
}

impl FromStr for Span {
    type Err = RetentionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| RetentionError::BadDuration {
            text: s.to_string(),
            why: why.to_string(),
        };
        let text = s.trim();
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        let mut span = Span::default();
        let mut rest = text;
        while !rest.is_empty() {
            if rest.starts_with('-') {
                return Err(bad("a duration cannot be negative"));
            }
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad("a number must come before each unit"));
            }
            let n: u32 = rest[..digits]
                .parse()
                .map_err(|_| bad("the number is too large"))?;
            let unit = rest[digits..].chars().next().ok_or_else(|| {
                bad("a unit must follow each number (y years, m months, d days, h hours)")
            })?;
            match unit {
                'y' => span.years = n,
                'm' => span.months = n,
                'd' => span.days = n,
                'h' => span.hours = n,
                'w' => return Err(bad("weeks are not a unit; write 7d for one week")),
                _ => {
                    return Err(bad(&format!(
                        "`{unit}` is not a unit (y years, m months, d days, h hours)"
                    )))
                }
            }
            rest = &rest[digits + unit.len_utf8()..];
        }
        Ok(span)
    }
}

impl TryFrom<String> for Span {
    type Error = RetentionError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Span> for String {
    fn from(s: Span) -> String {
        s.to_string()
    }
}

impl fmt::Display for Span {
    /// restic's form: `1y2m3d4h`, zero parts left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, unit) in [
            (self.years, 'y'),
            (self.months, 'm'),
            (self.days, 'd'),
            (self.hours, 'h'),
        ] {
            if n != 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        if self.is_zero() {
            write!(f, "0h")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("30d", Span { days: 30, ..Span::default() }, "30d")]
    #[case("1y1d1m", Span { years: 1, months: 1, days: 1, hours: 0 }, "1y1m1d")]
    #[case(" 13d23h ", Span { days: 13, hours: 23, ..Span::default() }, "13d23h")]
    #[case("2m2h", Span { months: 2, hours: 2, ..Span::default() }, "2m2h")]
    fn parses_restic_durations(#[case] text: &str, #[case] want: Span, #[case] shown: &str) {
        let s: Span = text.parse().unwrap();
        assert_eq!(s, want);
        assert_eq!(s.to_string(), shown);
    }

    #[rstest]
    #[case("", "empty")]
    #[case("30", "unit must follow")]
    #[case("30x", "`x` is not a unit")]
    #[case("-3d", "negative")]
    #[case("d", "number must come before")]
    #[case("2w", "7d")]
    #[case("99999999999d", "too large")]
    fn bad_durations_say_what_is_wrong(#[case] text: &str, #[case] needle: &str) {
        let e = text.parse::<Span>().unwrap_err().to_string();
        assert!(e.contains(needle), "{e}");
        assert!(e.contains(&format!("`{text}`")), "{e}");
    }

    #[rstest]
    // Go's AddDate: Mar 31 minus one month is "Feb 31", which rolls over to Mar 2 (2016 is a leap year).
    #[case("2016-03-31T10:00:00Z", "1m", "2016-03-02T10:00:00Z")]
    #[case("2016-03-31T10:00:00Z", "1y", "2015-03-31T10:00:00Z")]
    #[case("2016-01-05T01:00:00Z", "1m5d2h", "2015-11-29T23:00:00Z")]
    #[case("2016-01-18T12:02:03Z", "8d", "2016-01-10T12:02:03Z")]
    fn spans_subtract_like_restic(#[case] t: &str, #[case] span: &str, #[case] want: &str) {
        let t = DateTime::parse_from_rfc3339(t).unwrap();
        let s: Span = span.parse().unwrap();
        assert_eq!(s.before(&t), DateTime::parse_from_rfc3339(want).unwrap());
    }
}
