//! [`ReconnectPolicy`]: the waits between tries at a lost connection, exponential with
//! jitter, for both clients: the legacy client's `ReconnectHandler` and the method client's
//! resume (docs/PROTOCOL.md §11).

use std::time::Duration;

/// When to try again after the connection is lost.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// The first wait. Default 1 s.
    pub initial_delay: Duration,
    /// The longest wait; each failed try doubles the last. Default 30 s.
    pub max_delay: Duration,
    /// The share of each wait that is random, so that many clients do not come back at
    /// once (0 none, 1 all). Default 0.5.
    pub jitter: f64,
}

crate::setters::setters!(ReconnectPolicy {
    initial_delay: Duration,
    max_delay: Duration,
    jitter: f64,
});

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            jitter: 0.5,
        }
    }
}

impl ReconnectPolicy {
    /// The wait before try number `attempt` (0-based), for a random `unit` in `[0, 1)`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let exp = self
            .initial_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        let jitter = self.jitter.clamp(0.0, 1.0);
        exp.mul_f64(1.0 - jitter * unit.clamp(0.0, 1.0))
    }
}

/// A number in `0..1` from the operating system's randomness (a v4 UUID's last 48 bits,
/// all random: its version and variant bits are in the others). Jitter needs spread, and
/// this costs one UUID per wait.
pub(crate) fn random_unit() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() & ((1 << 48) - 1);
    bits as f64 / (1u64 << 48) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_and_jitter_only_shortens() {
        let p = ReconnectPolicy::default();
        assert_eq!(p.delay(0, 0.0), Duration::from_secs(1));
        assert_eq!(p.delay(3, 0.0), Duration::from_secs(8));
        assert_eq!(p.delay(10, 0.0), Duration::from_secs(30));
        assert_eq!(p.delay(3, 1.0), Duration::from_secs(4));
        let units: Vec<f64> = (0..100).map(|_| random_unit()).collect();
        assert!(units.iter().all(|u| (0.0..1.0).contains(u)));
        let distinct: std::collections::HashSet<u64> = units.iter().map(|u| u.to_bits()).collect();
        assert!(distinct.len() > 90);
    }
}
