//! Calendar timestamps in the DashScope task format `2025-06-30 14:37:53.838`, read from the emulator's clock.
//!
//! The real service writes Beijing time without saying so; the emulator writes UTC, which
//! has the same shape and avoids a time-zone dependency. Clients must treat these strings
//! as opaque display text either way.

use std::time::{SystemTime, UNIX_EPOCH};

use tryon_clock::Clock;

/// The clock's current time, UTC, formatted like DashScope's `submit_time`.
pub fn now_string(clock: &Clock) -> String {
    format_system_time(clock.wall())
}

/// Formats a time as `YYYY-MM-DD HH:MM:SS.mmm` in UTC.
pub fn format_system_time(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let millis = since.subsec_millis();
    let secs = since.as_secs();
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{millis:03}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Parses the listing's `YYYYMMDDhhmmss` (UTC here) into a time; `None` when malformed.
pub fn parse_compact_time(text: &str) -> Option<SystemTime> {
    if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |range: std::ops::Range<usize>| text[range].parse::<u32>().ok();
    let (year, month, day) = (field(0..4)?, field(4..6)?, field(6..8)?);
    let (hour, minute, second) = (field(8..10)?, field(10..12)?, field(12..14)?);
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid || year < 1970 {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some(UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(secs).ok()?))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), the inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Converts days since 1970-01-01 into a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`), which avoids pulling in a calendar crate for one format.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn formats_like_the_documented_example() {
        // 2025-06-30 14:37:53.838 UTC.
        let t = UNIX_EPOCH + Duration::from_millis(1_751_294_273_838);
        assert_eq!(format_system_time(t), "2025-06-30 14:37:53.838");
        assert_eq!(format_system_time(UNIX_EPOCH), "1970-01-01 00:00:00.000");
        // A leap day.
        let leap = UNIX_EPOCH + Duration::from_secs(1_709_164_800);
        assert_eq!(format_system_time(leap), "2024-02-29 00:00:00.000");
    }

    #[test]
    fn compact_times_parse_back_to_the_same_moment() {
        let t = parse_compact_time("20250630143753").unwrap();
        assert_eq!(format_system_time(t), "2025-06-30 14:37:53.000");
        assert_eq!(
            format_system_time(parse_compact_time("20240229000000").unwrap()),
            "2024-02-29 00:00:00.000"
        );
        for bad in [
            "2025063014375",
            "2025-06-30 14",
            "20251330000000",
            "20250630246000",
        ] {
            assert_eq!(parse_compact_time(bad), None, "{bad}");
        }
    }
}
