//! The simulator's physical model: a load placed on the pan settles with noise over a
//! configurable time; tare and zero work when the balance is stable; beyond capacity it is
//! overloaded. Pure: every method takes `now`, and the noise comes from a seeded generator,
//! so a test can replay a run exactly.

use std::time::{Duration, Instant};

use rust_decimal::Decimal;

/// How the virtual balance behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhysicsConfig {
    /// Largest gross load before overload, in grams.
    pub capacity_grams: Decimal,
    /// Decimal places shown (3 for a 0.001 g balance).
    pub decimals: u32,
    /// Time from placing a load to a stable reading.
    pub settle: Duration,
    /// Largest noise added while settling, in grams.
    pub noise_grams: Decimal,
    /// Seed of the noise generator.
    pub seed: u64,
}

impl Default for PhysicsConfig {
    fn default() -> Self {
        PhysicsConfig {
            capacity_grams: Decimal::new(320, 0),
            decimals: 3,
            settle: Duration::from_millis(300),
            noise_grams: Decimal::new(50, 3),
            seed: 0x5eed_ba1a_11ce,
        }
    }
}

/// What the display shows at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Indication {
    /// Net grams shown, rounded to the display's decimals.
    pub net: Decimal,
    /// The reading has settled.
    pub stable: bool,
    /// The gross load is beyond capacity.
    pub overload: bool,
}

/// The pan, the load on it, the tare and the zero point.
#[derive(Debug, Clone)]
pub struct Physics {
    config: PhysicsConfig,
    load: Decimal,
    from: Decimal,
    changed_at: Instant,
    tare: Decimal,
    zero: Decimal,
    rng: u64,
}

impl Physics {
    /// An empty, stable pan at `now`.
    pub fn new(config: PhysicsConfig, now: Instant) -> Self {
        Physics {
            config,
            load: Decimal::ZERO,
            from: Decimal::ZERO,
            changed_at: now.checked_sub(config.settle).unwrap_or(now),
            tare: Decimal::ZERO,
            zero: Decimal::ZERO,
            rng: config.seed | 1,
        }
    }

    /// Puts a total of `grams` on the pan at `now` (replacing what was there).
    pub fn place(&mut self, grams: Decimal, now: Instant) {
        self.from = self.raw_at(now);
        self.load = grams;
        self.changed_at = now;
    }

    /// Takes everything off the pan.
    pub fn remove(&mut self, now: Instant) {
        self.place(Decimal::ZERO, now);
    }

    /// Tares the current load; refused (false) while unstable, as MT-SICS `T` and Radwag `T`.
    pub fn tare(&mut self, now: Instant) -> bool {
        if !self.is_settled(now) || self.is_overloaded() {
            return false;
        }
        self.tare = self.load - self.zero;
        true
    }

    /// Sets the zero point to the current load and clears the tare; refused while unstable.
    pub fn zero(&mut self, now: Instant) -> bool {
        if !self.is_settled(now) || self.is_overloaded() {
            return false;
        }
        self.zero = self.load;
        self.tare = Decimal::ZERO;
        true
    }

    /// The display at `now`; each unstable call draws fresh noise.
    pub fn indicate(&mut self, now: Instant) -> Indication {
        let stable = self.is_settled(now);
        let mut raw = self.raw_at(now);
        if !stable {
            raw += self.noise();
        }
        let net = (raw - self.zero - self.tare).round_dp(self.config.decimals);
        Indication { net, stable, overload: self.is_overloaded() }
    }

    /// The tare in grams.
    pub fn tare_grams(&self) -> Decimal {
        self.tare
    }

    /// The configuration.
    pub fn config(&self) -> &PhysicsConfig {
        &self.config
    }

    fn is_settled(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.changed_at) >= self.config.settle
    }

    fn is_overloaded(&self) -> bool {
        self.load > self.config.capacity_grams
    }

    /// Moves linearly from the previous load to the new one over the settle time.
    fn raw_at(&self, now: Instant) -> Decimal {
        let elapsed = now.saturating_duration_since(self.changed_at);
        if elapsed >= self.config.settle {
            return self.load;
        }
        let done = Decimal::from(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
        let total =
            Decimal::from(u64::try_from(self.config.settle.as_micros()).unwrap_or(u64::MAX));
        let fraction = done.checked_div(total).unwrap_or(Decimal::ONE);
        self.from + (self.load - self.from) * fraction
    }

    /// Uniform noise in ±`noise_grams`, from a xorshift generator.
    fn noise(&mut self) -> Decimal {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let step = i64::try_from(self.rng % 2001).unwrap_or(0) - 1000;
        self.config.noise_grams * Decimal::new(step, 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grams(text: &str) -> Decimal {
        Decimal::from_str_exact(text).unwrap()
    }

    #[test]
    fn a_placed_load_settles_after_the_settle_time() {
        let start = Instant::now();
        let mut physics = Physics::new(PhysicsConfig::default(), start);
        physics.place(grams("12.345"), start);
        let moving = physics.indicate(start + Duration::from_millis(100));
        assert!(!moving.stable);
        let settled = physics.indicate(start + Duration::from_millis(300));
        assert_eq!((settled.net, settled.stable), (grams("12.345"), true));
    }

    #[test]
    fn tare_is_refused_while_unstable_and_zeroes_the_net_when_stable() {
        let start = Instant::now();
        let mut physics = Physics::new(PhysicsConfig::default(), start);
        physics.place(grams("5"), start);
        assert!(!physics.tare(start + Duration::from_millis(10)));
        let later = start + Duration::from_millis(400);
        assert!(physics.tare(later));
        assert_eq!(physics.indicate(later).net, Decimal::ZERO);
        physics.place(grams("7.5"), later);
        let net = physics.indicate(later + Duration::from_secs(1)).net;
        assert_eq!(net, grams("2.5"));
    }

    #[test]
    fn zero_clears_the_tare() {
        let start = Instant::now();
        let mut physics = Physics::new(PhysicsConfig::default(), start);
        physics.place(grams("3"), start);
        let later = start + Duration::from_secs(1);
        assert!(physics.tare(later));
        assert!(physics.zero(later));
        physics.remove(later);
        assert_eq!(physics.indicate(later + Duration::from_secs(1)).net, grams("-3"));
    }

    #[test]
    fn beyond_capacity_is_overload() {
        let start = Instant::now();
        let mut physics = Physics::new(PhysicsConfig::default(), start);
        physics.place(grams("320.001"), start);
        assert!(physics.indicate(start).overload);
        physics.place(grams("320"), start);
        assert!(!physics.indicate(start).overload);
    }
}
