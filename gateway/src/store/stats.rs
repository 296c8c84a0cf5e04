//! Stage-time histograms: how long stage visits took, counted per day in logarithmic buckets
//! so that the median and p90 of any period come from a few hundred rows instead of every
//! visit.
//!
//! Bucket `b` holds durations from `RATIO^b` to `RATIO^(b+1)` seconds, each 5% wider than the
//! one before, and a percentile is read as its bucket's geometric middle: within 2.5% of the
//! exact value, finer than anyone reads "3 h 20 min". Durations under a second count as one
//! second.

use std::time::Duration;

/// How much wider each bucket is than the one before.
const RATIO: f64 = 1.05;

/// Microseconds in a UTC day; days are numbered from the Unix epoch.
pub const DAY_US: i64 = 86_400_000_000;

/// The UTC day number of an instant in microseconds.
pub fn day_of(us: i64) -> i64 {
    us.div_euclid(DAY_US)
}

/// The UTC calendar month of a day number, counted in months since January 1970.
pub fn month_of_day(day: i64) -> i64 {
    use chrono::Datelike;
    let date = super::from_us(day.saturating_mul(DAY_US)).date_naive();
    (i64::from(date.year()) - 1970) * 12 + i64::from(date.month0())
}

/// The first day (a day number) of a month counted as [`month_of_day`] counts them.
pub fn first_day_of_month(month: i64) -> i64 {
    let year = i32::try_from(1970 + month.div_euclid(12)).unwrap_or(1970);
    let month0 = u32::try_from(month.rem_euclid(12)).unwrap_or(0);
    chrono::NaiveDate::from_ymd_opt(year, month0 + 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(0, |d| day_of(d.and_utc().timestamp_micros()))
}

/// A span of time the dashboard sums: whole UTC days, or whole calendar months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// The day numbers `from..=to`.
    Days {
        /// The first day.
        from: i64,
        /// The last day.
        to: i64,
    },
    /// The months `from..=to`, as [`month_of_day`] counts them.
    Months {
        /// The first month.
        from: i64,
        /// The last month.
        to: i64,
    },
}

impl Period {
    /// The period a page offers as `days` ending `today`: that many days up to 90, beyond
    /// that twelve calendar months, this one included.
    pub fn ending(today: i64, days: i64) -> Period {
        if days <= 90 {
            Period::Days { from: today - days + 1, to: today }
        } else {
            let month = month_of_day(today);
            Period::Months { from: month - 11, to: month }
        }
    }

    /// The aggregate tables' suffix and key column for this period.
    pub fn table(self) -> (&'static str, &'static str, i64, i64) {
        match self {
            Period::Days { from, to } => ("daily", "day", from, to),
            Period::Months { from, to } => ("monthly", "month", from, to),
        }
    }

    /// Its first and last day numbers.
    pub fn days(self) -> (i64, i64) {
        match self {
            Period::Days { from, to } => (from, to),
            Period::Months { from, to } => {
                (first_day_of_month(from), first_day_of_month(to + 1) - 1)
            }
        }
    }
}

/// The bucket a duration of `duration_us` microseconds falls in.
pub fn bucket_of(duration_us: i64) -> i64 {
    #[expect(clippy::cast_precision_loss, reason = "durations far below 2^52 µs are exact")]
    let seconds = duration_us.max(1_000_000) as f64 / 1e6;
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the logarithm of a positive duration is at most a few hundred"
    )]
    let bucket = (seconds.ln() / RATIO.ln()).floor() as i64;
    bucket
}

/// The duration a bucket stands for: its geometric middle.
pub fn bucket_value(bucket: i64) -> Duration {
    let exponent = i32::try_from(bucket).unwrap_or(i32::MAX);
    let seconds = RATIO.powi(exponent) * RATIO.sqrt();
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
}

/// The `percent` percentile of a histogram given as (bucket, count) pairs in any order:
/// the smallest bucket below which at least that share of the visits fall.
pub fn percentile(histogram: &[(i64, i64)], percent: u32) -> Option<Duration> {
    let total: i64 = histogram.iter().map(|(_, n)| *n).sum();
    if total <= 0 {
        return None;
    }
    let mut sorted = histogram.to_vec();
    sorted.sort_unstable();
    // The rank of the percentile, rounded up: the median of 3 visits is the 2nd.
    let rank = ((total * i64::from(percent) + 99) / 100).max(1);
    let mut seen = 0;
    for (bucket, count) in sorted {
        seen += count;
        if seen >= rank {
            return Some(bucket_value(bucket));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: Duration, expected: Duration) -> bool {
        let ratio = actual.as_secs_f64() / expected.as_secs_f64();
        (0.975..=1.026).contains(&ratio)
    }

    #[test]
    fn a_bucket_stands_for_its_durations_within_two_and_a_half_percent() {
        for seconds in [1_u64, 59, 60, 3_600, 5_400, 86_400, 30 * 86_400] {
            let us = i64::try_from(seconds * 1_000_000).unwrap();
            let shown = bucket_value(bucket_of(us));
            assert!(close(shown, Duration::from_secs(seconds)), "{seconds} s shown as {shown:?}");
        }
        assert_eq!(bucket_of(0), bucket_of(1_000_000), "under a second counts as a second");
    }

    #[test]
    fn percentiles_come_from_the_ranked_buckets() {
        let hour = bucket_of(3_600_000_000);
        let day = bucket_of(DAY_US);
        // 6 visits of an hour and 4 of a day: the median is an hour, the p90 a day.
        let histogram = [(day, 4), (hour, 6)];
        assert!(close(percentile(&histogram, 50).unwrap(), Duration::from_secs(3_600)));
        assert!(close(percentile(&histogram, 90).unwrap(), Duration::from_secs(86_400)));
        assert!(close(percentile(&histogram, 60).unwrap(), Duration::from_secs(3_600)));
        assert!(close(percentile(&histogram, 61).unwrap(), Duration::from_secs(86_400)));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn months_are_counted_from_january_1970() {
        let day = |text: &str| {
            day_of(text.parse::<chrono::DateTime<chrono::Utc>>().unwrap().timestamp_micros())
        };
        assert_eq!(month_of_day(day("1970-01-31T23:00:00Z")), 0);
        assert_eq!(month_of_day(day("2026-12-04T12:00:00Z")), 56 * 12 + 11);
        assert_eq!(first_day_of_month(56 * 12 + 11), day("2026-12-01T00:00:00Z"));
        let year = Period::ending(day("2026-12-04T12:00:00Z"), 365);
        assert_eq!(year.days(), (day("2026-01-01T00:00:00Z"), day("2026-12-31T00:00:00Z")));
        let month = Period::ending(day("2026-12-04T12:00:00Z"), 30);
        assert_eq!(month.days(), (day("2026-11-05T00:00:00Z"), day("2026-12-04T00:00:00Z")));
    }

    #[test]
    fn days_are_numbered_from_the_epoch_in_utc() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(DAY_US - 1), 0);
        assert_eq!(day_of(DAY_US), 1);
        assert_eq!(day_of(-1), -1);
    }
}
