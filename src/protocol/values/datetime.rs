//! `DateTime`: a UTC instant with millisecond precision, written as ISO-8601 text.
//!
//! The wire form is Serverpod's `toUtc().toIso8601String()`, e.g. `1976-09-10T02:10:00.000Z`.
//! A dependency on a calendar crate is not worth it for one format: the conversion is the
//! well-known days-from-civil arithmetic.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A UTC instant, in whole milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    millis: i64,
}

impl DateTime {
    /// The instant `millis` milliseconds after 1970-01-01T00:00:00Z.
    pub const fn from_millis(millis: i64) -> Self {
        DateTime { millis }
    }

    /// Milliseconds since the Unix epoch.
    pub const fn millis(self) -> i64 {
        self.millis
    }

    /// The current time, truncated to milliseconds.
    pub fn now() -> Self {
        let millis = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i64,
            Err(e) => -(e.duration().as_millis() as i64),
        };
        DateTime { millis }
    }

    /// A UTC calendar date and time.
    pub fn from_utc(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Self {
        let days = days_from_civil(year, month, day);
        let secs =
            days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
        DateTime {
            millis: secs * 1000,
        }
    }

    /// Parses ISO-8601 text: `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]`; no zone means UTC.
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let num = |range: std::ops::Range<usize>| -> Option<i64> {
            let s = text.get(range)?;
            if s.bytes().all(|c| c.is_ascii_digit()) && !s.is_empty() {
                s.parse().ok()
            } else {
                None
            }
        };
        if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let mut rest = &text[19..];
        let mut millis = 0i64;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let ms_digits = &frac[..digits.min(3)];
            millis = ms_digits.parse::<i64>().ok()? * 10i64.pow(3 - ms_digits.len() as u32);
            rest = &frac[digits..];
        }
        let offset_minutes = match rest {
            "" | "Z" | "z" => 0,
            _ => {
                let sign = match rest.as_bytes()[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let zone = rest.get(1..)?;
                let (h, m) = zone
                    .split_once(':')
                    .unwrap_or((zone.get(..2)?, zone.get(2..)?));
                if h.len() != 2 || m.len() != 2 {
                    return None;
                }
                sign * (h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?)
            }
        };
        let base = DateTime::from_utc(
            year,
            month as u32,
            day as u32,
            hour as u32,
            minute as u32,
            second as u32,
        );
        Some(DateTime {
            millis: base.millis + millis - offset_minutes * 60_000,
        })
    }
}

impl From<SystemTime> for DateTime {
    fn from(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => DateTime::from_millis(d.as_millis() as i64),
            Err(e) => DateTime::from_millis(-(e.duration().as_millis() as i64)),
        }
    }
}

impl From<DateTime> for SystemTime {
    fn from(t: DateTime) -> Self {
        if t.millis >= 0 {
            UNIX_EPOCH + Duration::from_millis(t.millis as u64)
        } else {
            UNIX_EPOCH - Duration::from_millis(t.millis.unsigned_abs())
        }
    }
}

impl fmt::Display for DateTime {
    /// Writes `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.millis.div_euclid(1000);
        let ms = self.millis.rem_euclid(1000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        )
    }
}

/// A `DateTime` goes as its ISO-8601 text inside a newtype named `DateTime`: transparent to
/// MessagePack and JSON (the text alone is written), and a named type to serde-reflection,
/// which can then trace the models that hold one (the TypeScript generator; its tracing
/// records a sample of it).
impl serde::Serialize for DateTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Text<'a>(&'a DateTime);
        impl serde::Serialize for Text<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self.0)
            }
        }
        s.serialize_newtype_struct("DateTime", &Text(self))
    }
}

impl<'de> serde::Deserialize<'de> for DateTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = DateTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ISO-8601 UTC date-time or epoch milliseconds")
            }
            fn visit_newtype_struct<D: serde::Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<DateTime, D::Error> {
                // Self-describing formats hand over text or epoch milliseconds either way
                // (rmp-serde reads any value for a string); serde-reflection, which is not
                // human-readable either, reads only what is asked for by name.
                if d.is_human_readable() {
                    d.deserialize_any(V)
                } else {
                    d.deserialize_str(V)
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DateTime, E> {
                DateTime::parse(v).ok_or_else(|| E::custom(format!("invalid date-time `{v}`")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<DateTime, E> {
                Ok(DateTime::from_millis(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<DateTime, E> {
                i64::try_from(v)
                    .map(DateTime::from_millis)
                    .map_err(|_| E::custom("epoch milliseconds out of range"))
            }
        }
        d.deserialize_newtype_struct("DateTime", V)
    }
}

// Howard Hinnant's algorithms (public domain), proleptic Gregorian calendar.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_serverpods_example() {
        let t = DateTime::from_utc(1976, 9, 10, 2, 10, 0);
        assert_eq!(t.to_string(), "1976-09-10T02:10:00.000Z");
        assert_eq!(DateTime::parse("1976-09-10T02:10:00.000Z"), Some(t));
    }

    #[test]
    fn parses_fractions_offsets_and_pre_epoch_dates() {
        assert_eq!(
            DateTime::parse("1970-01-01T00:00:00.5Z").unwrap().millis(),
            500
        );
        assert_eq!(
            DateTime::parse("1970-01-01T01:00:00+01:00")
                .unwrap()
                .millis(),
            0
        );
        let old = DateTime::parse("1969-12-31T23:59:59.999Z").unwrap();
        assert_eq!(old.millis(), -1);
        assert_eq!(old.to_string(), "1969-12-31T23:59:59.999Z");
        assert_eq!(DateTime::parse("yesterday"), None);
        assert_eq!(DateTime::parse("2020-13-01T00:00:00Z"), None);
    }
}
