//! Scheduled runs, as data: when (`every day|week|month`, `--at "Sun 03:00"`), the next run
//! after a time, the OS units that start them (a launchd agent, a systemd user service and
//! timer, a crontab line), and the status file `<repo>/.infrasnap/status.json`. The binary
//! writes and activates the units (`cli/schedule.rs`); nothing here touches the disk but
//! [`Status::read`] and [`Status::write`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Weekday};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, IoContext, Result};

/// How often a scheduled run happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Every {
    Day,
    Week,
    Month,
}

impl FromStr for Every {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" | "daily" => Ok(Every::Day),
            "week" | "weekly" => Ok(Every::Week),
            "month" | "monthly" => Ok(Every::Month),
            _ => Err(CoreError::InvalidName {
                name: s.to_string(),
                why: "--every takes day, week or month".into(),
            }),
        }
    }
}

/// When in its period a run happens (local time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub every: Every,
    /// Weekly runs: the day of the week.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekday: Option<Weekday>,
    /// Monthly runs: the day of the month (1-28, so every month has it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<u32>,
    pub hour: u32,
    pub minute: u32,
}

impl Schedule {
    /// `every` with `at`: `"03:00"`, `"Sun 03:00"` (weekly), `"1 03:00"` (monthly: the day of
    /// the month). Defaults: 03:00, Sunday, the 1st.
    pub fn parse(every: Every, at: Option<&str>) -> Result<Schedule> {
        let bad = |why: &str| CoreError::InvalidName {
            name: at.unwrap_or_default().to_string(),
            why: format!("--at {why} (examples: \"03:00\", \"Sun 03:00\", \"1 03:00\")"),
        };
        let mut s = Schedule {
            every,
            weekday: (every == Every::Week).then_some(Weekday::Sun),
            day: (every == Every::Month).then_some(1),
            hour: 3,
            minute: 0,
        };
        let Some(at) = at else { return Ok(s) };
        let parts: Vec<&str> = at.split_whitespace().collect();
        let (first, time) = match parts.as_slice() {
            [t] => (None, *t),
            [d, t] => (Some(*d), *t),
            _ => return Err(bad("takes a time, or a day and a time")),
        };
        let t = NaiveTime::parse_from_str(time, "%H:%M")
            .map_err(|_| bad(&format!("`{time}` is not a time of day HH:MM")))?;
        s.hour = chrono::Timelike::hour(&t);
        s.minute = chrono::Timelike::minute(&t);
        match (every, first) {
            (_, None) => {}
            (Every::Week, Some(d)) => {
                s.weekday = Some(
                    d.parse::<Weekday>()
                        .map_err(|_| bad(&format!("`{d}` is not a day of the week")))?,
                )
            }
            (Every::Month, Some(d)) => {
                let n: u32 = d
                    .parse()
                    .ok()
                    .filter(|n| (1..=28).contains(n))
                    .ok_or_else(|| {
                        bad("takes a day of the month from 1 to 28 for --every month")
                    })?;
                s.day = Some(n);
            }
            (Every::Day, Some(_)) => return Err(bad("takes only a time for --every day")),
        }
        Ok(s)
    }

    /// The first scheduled time strictly after `t`.
    pub fn next_after<Tz: TimeZone>(&self, t: &DateTime<Tz>) -> DateTime<Tz> {
        let tz = t.timezone();
        let time = NaiveTime::from_hms_opt(self.hour, self.minute, 0).expect("valid time");
        let mut date = t.naive_local().date();
        // At most a month and a bit of days to look through.
        for _ in 0..40 {
            let fits = match self.every {
                Every::Day => true,
                Every::Week => Some(date.weekday()) == self.weekday,
                Every::Month => Some(date.day()) == self.day,
            };
            if fits {
                if let Some(c) = tz.from_local_datetime(&date.and_time(time)).earliest() {
                    if c > *t {
                        return c;
                    }
                }
            }
            date += Duration::days(1);
        }
        t.clone() + Duration::days(1)
    }

    /// systemd's `OnCalendar=` value.
    pub fn on_calendar(&self) -> String {
        let hm = format!("{:02}:{:02}:00", self.hour, self.minute);
        match self.every {
            Every::Day => format!("*-*-* {hm}"),
            Every::Week => format!("{} *-*-* {hm}", weekday_name(self.weekday)),
            Every::Month => format!("*-*-{:02} {hm}", self.day.unwrap_or(1)),
        }
    }

    /// The five time fields of a crontab line.
    pub fn cron_fields(&self) -> String {
        match self.every {
            Every::Day => format!("{} {} * * *", self.minute, self.hour),
            Every::Week => format!(
                "{} {} * * {}",
                self.minute,
                self.hour,
                self.weekday.unwrap_or(Weekday::Sun).num_days_from_sunday()
            ),
            Every::Month => format!(
                "{} {} {} * *",
                self.minute,
                self.hour,
                self.day.unwrap_or(1)
            ),
        }
    }

    /// launchd's `StartCalendarInterval` entries (Weekday 0 is Sunday).
    fn launchd_interval(&self) -> Vec<(&'static str, u32)> {
        let mut v = Vec::new();
        match self.every {
            Every::Day => {}
            Every::Week => v.push((
                "Weekday",
                self.weekday.unwrap_or(Weekday::Sun).num_days_from_sunday(),
            )),
            Every::Month => v.push(("Day", self.day.unwrap_or(1))),
        }
        v.push(("Hour", self.hour));
        v.push(("Minute", self.minute));
        v
    }

    /// The length of a period, for "is a run overdue".
    pub fn period(&self) -> Duration {
        match self.every {
            Every::Day => Duration::days(1),
            Every::Week => Duration::weeks(1),
            Every::Month => Duration::days(31),
        }
    }
}

fn weekday_name(w: Option<Weekday>) -> &'static str {
    match w.unwrap_or(Weekday::Sun) {
        Weekday::Mon => "Mon",
        Weekday::Tue => "Tue",
        Weekday::Wed => "Wed",
        Weekday::Thu => "Thu",
        Weekday::Fri => "Fri",
        Weekday::Sat => "Sat",
        Weekday::Sun => "Sun",
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = format!("{:02}:{:02}", self.hour, self.minute);
        match self.every {
            Every::Day => write!(f, "every day at {hm}"),
            Every::Week => write!(f, "every {} at {hm}", weekday_name(self.weekday)),
            Every::Month => write!(f, "on day {} of every month at {hm}", self.day.unwrap_or(1)),
        }
    }
}

/// Quote one argument for a POSIX shell (crontab lines).
pub fn sh_quote(a: &str) -> String {
    if !a.is_empty()
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@+%".contains(&b))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

/// Quote one argument for systemd's `ExecStart=` (double quotes, `\` escapes, `%` doubled).
fn systemd_quote(a: &str) -> String {
    let simple = !a.is_empty()
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@+".contains(&b));
    if simple {
        return a.to_string();
    }
    let mut out = String::from("\"");
    for c in a.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The units of one schedule. `command` is the whole command line (absolute program path
/// first); `id` tells schedules of several repositories apart.
#[derive(Debug, Clone)]
pub struct Units<'a> {
    pub id: &'a str,
    pub schedule: &'a Schedule,
    pub command: &'a [String],
    pub repo: &'a Path,
}

impl Units<'_> {
    pub fn systemd_name(&self) -> String {
        format!("infrasnap-{}", self.id)
    }

    pub fn launchd_label(&self) -> String {
        format!("io.infrasnap.{}", self.id)
    }

    /// `infrasnap-<id>.service`: one run, no TTY.
    pub fn systemd_service(&self) -> String {
        let exec: Vec<String> = self.command.iter().map(|a| systemd_quote(a)).collect();
        format!(
            "[Unit]\nDescription=infrasnap scheduled snapshot of {repo}\n\n\
             [Service]\nType=oneshot\nExecStart={exec}\nStandardInput=null\n",
            repo = self.repo.display().to_string().replace('%', "%%"),
            exec = exec.join(" ")
        )
    }

    /// `infrasnap-<id>.timer`: `Persistent=true`, so a run missed while the machine was off
    /// happens when it is back.
    pub fn systemd_timer(&self) -> String {
        format!(
            "[Unit]\nDescription=infrasnap snapshot of {repo}, {when}\n\n\
             [Timer]\nOnCalendar={cal}\nPersistent=true\nUnit={name}.service\n\n\
             [Install]\nWantedBy=timers.target\n",
            repo = self.repo.display().to_string().replace('%', "%%"),
            when = self.schedule,
            cal = self.schedule.on_calendar(),
            name = self.systemd_name()
        )
    }

    /// A launchd agent with `StartCalendarInterval`: launchd runs a missed interval at wake.
    pub fn launchd_plist(&self) -> String {
        let args: String = self
            .command
            .iter()
            .map(|a| format!("\t\t<string>{}</string>\n", xml_escape(a)))
            .collect();
        let interval: String = self
            .schedule
            .launchd_interval()
            .iter()
            .map(|(k, v)| format!("\t\t<key>{k}</key>\n\t\t<integer>{v}</integer>\n"))
            .collect();
        let log = self
            .repo
            .join(".infrasnap")
            .join("logs")
            .join("launchd.log");
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
             <plist version=\"1.0\">\n<dict>\n\
             \t<key>Label</key>\n\t<string>{label}</string>\n\
             \t<key>ProgramArguments</key>\n\t<array>\n{args}\t</array>\n\
             \t<key>StartCalendarInterval</key>\n\t<dict>\n{interval}\t</dict>\n\
             \t<key>RunAtLoad</key>\n\t<false/>\n\
             \t<key>StandardInPath</key>\n\t<string>/dev/null</string>\n\
             \t<key>StandardOutPath</key>\n\t<string>{log}</string>\n\
             \t<key>StandardErrorPath</key>\n\t<string>{log}</string>\n\
             </dict>\n</plist>\n",
            label = xml_escape(&self.launchd_label()),
            log = xml_escape(&log.to_string_lossy()),
        )
    }

    /// The crontab line, marked with the schedule's id so that it can be found and removed.
    pub fn crontab_line(&self) -> String {
        let cmd: Vec<String> = self.command.iter().map(|a| sh_quote(a)).collect();
        format!(
            "{} {} </dev/null >/dev/null 2>&1 # infrasnap-{}",
            self.schedule.cron_fields(),
            cmd.join(" ").replace('%', "\\%"),
            self.id
        )
    }
}

/// How a run ended, for the status file and notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    Complete,
    /// Complete with errors.
    Partial,
    Failed,
}

/// One scheduled run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub started_at: DateTime<chrono::Utc>,
    pub finished_at: DateTime<chrono::Utc>,
    pub result: RunResult,
    /// The snapshot it published, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// What went wrong, in a sentence per step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// The run found the scheduled run before it missing.
    #[serde(default)]
    pub previous_missed: bool,
    pub forgotten: u64,
    pub bytes_freed: u64,
    /// This run's log file.
    pub log: PathBuf,
}

/// `<repo>/.infrasnap/status.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Status {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<RunRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run: Option<DateTime<chrono::Utc>>,
}

impl Status {
    pub fn path(repo: &Path) -> PathBuf {
        repo.join(".infrasnap").join("status.json")
    }

    pub fn read(repo: &Path) -> Result<Status> {
        let p = Self::path(repo);
        match std::fs::read(&p) {
            Ok(raw) => serde_json::from_slice(&raw).map_err(|e| CoreError::Parse {
                path: p,
                line: e.line(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Status::default()),
            Err(e) => Err(CoreError::io("read", p, e)),
        }
    }

    pub fn write(&self, repo: &Path) -> Result<()> {
        let p = Self::path(repo);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).ctx("create folder", d)?;
        }
        crate::repo::write_atomic(&p, &serde_json::to_vec_pretty(self).expect("serialisable"))
    }

    /// Whether the run expected at `next_run` was missed entirely: by `now`, the slot after it
    /// has come too (a run that is merely late, at wake, is not missed).
    pub fn previous_missed(&self, now: DateTime<chrono::Utc>) -> bool {
        match (self.schedule, self.next_run) {
            (Some(s), Some(expected)) => {
                let local = expected.with_timezone(&chrono::Local);
                s.next_after(&local).with_timezone(&chrono::Utc) <= now - Duration::minutes(10)
            }
            _ => false,
        }
    }

    /// A run is overdue when its expected time is more than an hour ago.
    pub fn overdue(&self, now: DateTime<chrono::Utc>) -> bool {
        self.next_run.is_some_and(|n| n + Duration::hours(1) < now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn t(s: &str) -> DateTime<chrono::FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    #[rstest]
    #[case(
        Every::Week,
        None,
        "Sun *-*-* 03:00:00",
        "0 3 * * 0",
        "every Sun at 03:00"
    )]
    #[case(
        Every::Week,
        Some("Sat 22:15"),
        "Sat *-*-* 22:15:00",
        "15 22 * * 6",
        "every Sat at 22:15"
    )]
    #[case(
        Every::Day,
        Some("04:30"),
        "*-*-* 04:30:00",
        "30 4 * * *",
        "every day at 04:30"
    )]
    #[case(
        Every::Month,
        Some("15 01:00"),
        "*-*-15 01:00:00",
        "0 1 15 * *",
        "on day 15 of every month at 01:00"
    )]
    fn schedules_become_calendar_specs(
        #[case] every: Every,
        #[case] at: Option<&str>,
        #[case] cal: &str,
        #[case] cron: &str,
        #[case] text: &str,
    ) {
        let s = Schedule::parse(every, at).unwrap();
        assert_eq!(s.on_calendar(), cal);
        assert_eq!(s.cron_fields(), cron);
        assert_eq!(s.to_string(), text);
    }

    #[rstest]
    #[case(Every::Week, "Funday 03:00", "not a day of the week")]
    #[case(Every::Week, "Sun 25:00", "not a time of day")]
    #[case(Every::Month, "31 03:00", "1 to 28")]
    #[case(Every::Day, "Sun 03:00", "only a time")]
    #[case(Every::Day, "a b c", "a time, or a day and a time")]
    fn bad_at_is_refused(#[case] every: Every, #[case] at: &str, #[case] needle: &str) {
        let e = Schedule::parse(every, Some(at)).unwrap_err().to_string();
        assert!(e.contains(needle), "{e}");
    }

    #[rstest]
    // Wednesday 2 Dec 2026: the next Sunday 03:00 is the 6th.
    #[case(Every::Week, None, "2026-12-02T10:00:00Z", "2026-12-06T03:00:00Z")]
    // Exactly at a slot: the next one.
    #[case(Every::Week, None, "2026-12-06T03:00:00Z", "2026-12-13T03:00:00Z")]
    #[case(
        Every::Day,
        Some("03:00"),
        "2026-12-02T02:59:00Z",
        "2026-12-02T03:00:00Z"
    )]
    #[case(Every::Month, None, "2026-12-02T10:00:00Z", "2027-01-01T03:00:00Z")]
    fn next_run(
        #[case] every: Every,
        #[case] at: Option<&str>,
        #[case] now: &str,
        #[case] want: &str,
    ) {
        let s = Schedule::parse(every, at).unwrap();
        assert_eq!(s.next_after(&t(now)), t(want));
    }

    #[test]
    fn units_quote_their_command_and_carry_the_schedule() {
        let s = Schedule::parse(Every::Week, None).unwrap();
        let cmd: Vec<String> = [
            "/opt/bin/infrasnap",
            "--repo",
            "/srv/my snaps",
            "run-scheduled",
            "--label-prefix",
            "50%",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let u = Units {
            id: "abcd1234",
            schedule: &s,
            command: &cmd,
            repo: Path::new("/srv/my snaps"),
        };
        let svc = u.systemd_service();
        assert!(svc.contains("ExecStart=/opt/bin/infrasnap --repo \"/srv/my snaps\" run-scheduled --label-prefix \"50%%\"\n"), "{svc}");
        let timer = u.systemd_timer();
        assert!(
            timer.contains("OnCalendar=Sun *-*-* 03:00:00\nPersistent=true\n"),
            "{timer}"
        );
        assert!(u
            .launchd_plist()
            .contains("<key>Weekday</key>\n\t\t<integer>0</integer>"));
        assert_eq!(
            u.crontab_line(),
            "0 3 * * 0 /opt/bin/infrasnap --repo '/srv/my snaps' run-scheduled --label-prefix 50\\% </dev/null >/dev/null 2>&1 # infrasnap-abcd1234"
        );
    }

    #[test]
    fn a_missed_run_is_one_whose_next_slot_has_passed_too() {
        let s = Schedule::parse(Every::Day, Some("03:00")).unwrap();
        let st = Status {
            schedule: Some(s),
            next_run: Some(t("2026-12-01T03:00:00Z").with_timezone(&chrono::Utc)),
            last_run: None,
        };
        let utc = |x: &str| t(x).with_timezone(&chrono::Utc);
        // Run late (the machine slept): not missed.
        // (Local time is used for the calendar; the test machine runs in UTC.)
        if chrono::Local::now().offset().local_minus_utc() == 0 {
            assert!(!st.previous_missed(utc("2026-12-01T20:00:00Z")));
            assert!(st.previous_missed(utc("2026-12-02T04:00:00Z")));
        }
        assert!(st.overdue(utc("2026-12-01T05:00:00Z")));
        assert!(!st.overdue(utc("2026-12-01T03:30:00Z")));
    }
}
