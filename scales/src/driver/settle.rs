//! The pure half of capturing: is this reading still, and what does it mean for a capture?
//!
//! [`StillnessTracker`] decides when a reading from a family with no stability flag has held
//! still for long enough; [`judge`] turns a reading into a capture's verdict. Both take `now`
//! from the caller, so they are tested without a clock.

use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use touchstone_model::event::Stability;

use super::config::SettlePolicy;
use super::error::DriverError;
use crate::reading::{Reading, Status};

/// Tracks how long the weight has stayed within the tolerance of where it came to rest.
#[derive(Debug, Clone)]
pub struct StillnessTracker {
    policy: SettlePolicy,
    anchor: Option<(Decimal, Instant)>,
}

impl StillnessTracker {
    /// A tracker with no history.
    pub fn new(policy: SettlePolicy) -> Self {
        StillnessTracker { policy, anchor: None }
    }

    /// Observes a reading at its own timestamp; true when the weight has held still for the
    /// policy's time. Anything but an in-range weight in grams starts over.
    pub fn observe(&mut self, reading: &Reading) -> bool {
        let grams = match (&reading.status, reading.grams) {
            (Status::Ok, Some(grams)) => grams.value(),
            _ => {
                self.anchor = None;
                return false;
            }
        };
        match self.anchor {
            Some((anchor, since)) if (grams - anchor).abs() <= self.policy.tolerance_grams => {
                reading.at.saturating_duration_since(since) >= self.policy.hold
            }
            _ => {
                self.anchor = Some((grams, reading.at));
                self.policy.hold == Duration::ZERO
            }
        }
    }

    /// Forgets the history, e.g. after a reconnect.
    pub fn reset(&mut self) {
        self.anchor = None;
    }
}

/// What a capture does with one reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Return this reading, vouched for this way.
    Capture(Stability),
    /// Keep waiting.
    Wait,
    /// Give up with this error.
    Fail(DriverError),
}

/// Judges a reading for a capture. `settled` is the tracker's answer for this reading and only
/// counts when the format carries no stability flag of its own.
pub fn judge(reading: &Reading, settled: bool) -> Verdict {
    match &reading.status {
        Status::Overload => return Verdict::Fail(DriverError::Overload),
        Status::Underload => return Verdict::Fail(DriverError::Underload),
        Status::Error { code } => {
            return Verdict::Fail(DriverError::Balance { code: code.clone() });
        }
        Status::Ack => return Verdict::Wait,
        Status::Ok => {}
    }
    if reading.grams.is_none() {
        // Counts, percentages, newtons and ambiguous units are never recorded as weights.
        return Verdict::Wait;
    }
    match reading.stability {
        Some(Stability::Stable) => Verdict::Capture(Stability::Stable),
        Some(_) => Verdict::Wait,
        None if settled => Verdict::Capture(Stability::Settled),
        None => Verdict::Wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode_line;
    use crate::protocol::Protocol;

    fn line(protocol: Protocol, text: &str, at: Instant) -> Reading {
        decode_line(protocol, text.as_bytes(), at).unwrap()
    }

    fn policy(hold_ms: u64) -> SettlePolicy {
        SettlePolicy { tolerance_grams: Decimal::new(1, 3), hold: Duration::from_millis(hold_ms) }
    }

    #[test]
    fn value_must_hold_for_the_whole_policy_time() {
        let start = Instant::now();
        let mut tracker = StillnessTracker::new(policy(500));
        let at = |ms| start + Duration::from_millis(ms);
        assert!(!tracker.observe(&line(Protocol::Generic, "12.345 g", at(0))));
        assert!(!tracker.observe(&line(Protocol::Generic, "12.346 g", at(300))));
        assert!(tracker.observe(&line(Protocol::Generic, "12.345 g", at(500))));
    }

    #[test]
    fn movement_beyond_tolerance_restarts_the_clock() {
        let start = Instant::now();
        let mut tracker = StillnessTracker::new(policy(500));
        let at = |ms| start + Duration::from_millis(ms);
        tracker.observe(&line(Protocol::Generic, "12.345 g", at(0)));
        assert!(!tracker.observe(&line(Protocol::Generic, "12.400 g", at(400))));
        assert!(!tracker.observe(&line(Protocol::Generic, "12.400 g", at(800))));
        assert!(tracker.observe(&line(Protocol::Generic, "12.400 g", at(900))));
    }

    #[test]
    fn overload_restarts_the_clock() {
        let start = Instant::now();
        let mut tracker = StillnessTracker::new(policy(100));
        let at = |ms| start + Duration::from_millis(ms);
        tracker.observe(&line(Protocol::Generic, "1.000 g", at(0)));
        tracker.observe(&line(Protocol::Generic, "+ ~~~~~~~~g", at(50)));
        assert!(!tracker.observe(&line(Protocol::Generic, "1.000 g", at(120))));
    }

    #[test]
    fn unstable_reading_is_never_captured() {
        let reading = line(Protocol::MtSics, "S D      12.345 g", Instant::now());
        assert_eq!(judge(&reading, true), Verdict::Wait);
    }

    #[test]
    fn stable_flag_captures_and_settling_only_counts_without_a_flag() {
        let now = Instant::now();
        let stable = line(Protocol::MtSics, "S S      12.345 g", now);
        assert_eq!(judge(&stable, false), Verdict::Capture(Stability::Stable));
        let plain = line(Protocol::Generic, "12.345 g", now);
        assert_eq!(judge(&plain, false), Verdict::Wait);
        assert_eq!(judge(&plain, true), Verdict::Capture(Stability::Settled));
    }

    #[test]
    fn faults_fail_the_capture_and_counts_never_capture() {
        let now = Instant::now();
        assert_eq!(
            judge(&line(Protocol::MtSics, "S +", now), false),
            Verdict::Fail(DriverError::Overload)
        );
        assert_eq!(
            judge(&line(Protocol::MtSics, "S -", now), false),
            Verdict::Fail(DriverError::Underload)
        );
        assert_eq!(
            judge(&line(Protocol::MtSics, "S S  Error 10b", now), false),
            Verdict::Fail(DriverError::Balance { code: "10b".into() })
        );
        assert_eq!(judge(&line(Protocol::MtSics, "S S     12 PCS", now), false), Verdict::Wait);
    }
}
