//! Rate-limit buckets in flash that wears out: a trust core on a microcontroller saves its
//! buckets so that a reboot does not refill them, but cannot write a flash page at every
//! request. It saves each bucket `reserve` tokens *lower* than it is, and writes again only
//! once a live bucket has fallen below its saved value. So the saved copy never holds more than
//! the live buckets (a reboot refills nothing; it may forfeit up to `reserve` tokens), and a
//! run of requests costs one write per `reserve` tokens that any one bucket spends.

use crate::rate::{Bucket, Limit, RateLimiter, RateState};

/// A bucket's tokens (thousandths) at `now_ms`: `None` is full; refilled up to `now_ms`.
fn value(bucket: Option<Bucket>, limit: Limit, now_ms: u64) -> u64 {
    let mut b = bucket.map_or(Bucket::full(limit, now_ms), |b| b.clamped(limit, now_ms));
    b.refill(limit, now_ms);
    b.milli
}

fn lowered(bucket: Option<Bucket>, limit: Limit, reserve: u32, now_ms: u64) -> Bucket {
    Bucket {
        milli: value(bucket, limit, now_ms).saturating_sub(u64::from(reserve) * 1000),
        last_ms: now_ms,
    }
}

impl<const USERS: usize> RateLimiter<USERS> {
    /// When this limiter last took a token (the device bucket's stamp), if it ever did.
    pub fn last_take_ms(&self) -> Option<u64> {
        self.device.map(|b| b.last_ms)
    }

    /// The buckets at `now_ms`, each `reserve` tokens lower than it is (never below empty): what
    /// to save. Restoring it grants no bucket more than it holds now, nor later until that
    /// bucket has spent `reserve` more tokens (see [`RateLimiter::covered_by`]).
    pub fn reserved_state(&self, reserve: u32, now_ms: u64) -> RateState<USERS> {
        let cfg = self.config;
        let mut users = heapless::Vec::new();
        for &(hash, b) in self.users.iter() {
            // Cannot fail: the same capacity.
            let _ = users.push((hash, lowered(Some(b), cfg.user, reserve, now_ms)));
        }
        RateState {
            device: Some(lowered(self.device, cfg.device, reserve, now_ms)),
            unlisted: Some(lowered(self.unlisted, cfg.user, reserve, now_ms)),
            users,
        }
    }

    /// Whether restoring `saved` would give no bucket more than this limiter holds at `now_ms`,
    /// the device's, every user's (listed in either) and that of users listed in neither.
    /// While it holds, the saved copy need not be written again.
    pub fn covered_by(&self, saved: &RateState<USERS>, now_ms: u64) -> bool {
        let cfg = self.config;
        let saved_user = |hash: &[u8; 32]| {
            saved
                .users
                .iter()
                .find(|(h, _)| h == hash)
                .map(|(_, b)| *b)
                .or(saved.unlisted)
        };
        let live_user = |hash: &[u8; 32]| {
            self.users
                .iter()
                .find(|(h, _)| h == hash)
                .map(|(_, b)| *b)
                .or(self.unlisted)
        };
        let at_least = |live: Option<Bucket>, kept: Option<Bucket>, limit: Limit| {
            value(live, limit, now_ms) >= value(kept, limit, now_ms)
        };
        at_least(self.device, saved.device, cfg.device)
            && at_least(self.unlisted, saved.unlisted, cfg.user)
            && self
                .users
                .iter()
                .chain(saved.users.iter())
                .all(|(h, _)| at_least(live_user(h), saved_user(h), cfg.user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate::RateConfig;

    /// The kiosk default: bursts of 6 per user (one more per 10 s) and 20 per device.
    fn cfg() -> RateConfig {
        RateConfig::default()
    }

    /// Requests from a few users; the saved copy is written whenever it stops being covered.
    /// Returns the number of writes and checks after every request that a reboot (restoring
    /// the saved copy) would never grant more than the live limiter holds.
    fn run(reserve: u32, requests: &[(u8, u64)]) -> usize {
        let mut live = RateLimiter::<4>::new(cfg());
        let mut saved = RateState::<4>::default();
        let mut writes = 0;
        for &(user, now) in requests {
            let hash = [user; 32];
            let _ = live.take(&hash, now);
            if !live.covered_by(&saved, now) {
                saved = live.reserved_state(reserve, now);
                writes += 1;
            }
            assert!(live.covered_by(&saved, now));
            // What a reboot now would give: never a token the live limiter does not have.
            let mut rebooted = RateLimiter::<4>::restore(cfg(), saved.clone(), now);
            let mut probe = RateLimiter::<4>::restore(cfg(), live.state(), now);
            for u in 0..6u8 {
                let h = [u; 32];
                for _ in 0..25 {
                    let r = rebooted.take(&h, now).is_ok();
                    let l = probe.take(&h, now).is_ok();
                    assert!(!r || l, "a reboot would grant user {u} more than it has");
                }
            }
        }
        writes
    }

    #[test]
    fn the_saved_copy_never_grants_more_and_writes_once_per_reserve() {
        // One user, one request a second: 20 requests, 6 get through.
        let burst: Vec<(u8, u64)> = (0..20).map(|i| (1, 1_000_000 + i * 1000)).collect();
        let w = run(4, &burst);
        assert!((1..=3).contains(&w), "{w} writes");
        // Without a reserve every token spent is a write.
        assert!(run(0, &burst) >= 6);
        // Many users: writes stay a fraction of the requests.
        let mixed: Vec<(u8, u64)> = (0..60)
            .map(|i| ((i % 5) as u8, 2_000_000 + i * 700))
            .collect();
        let w = run(4, &mixed);
        assert!(w * 3 <= 60, "{w} writes for 60 requests");
    }

    #[test]
    fn a_fresh_limiter_is_covered_by_nothing_saved_only_when_full() {
        let live = RateLimiter::<4>::new(cfg());
        assert!(live.covered_by(&RateState::default(), 5));
        let mut spent = RateLimiter::<4>::new(cfg());
        spent.take(&[1; 32], 5).unwrap();
        assert!(!spent.covered_by(&RateState::default(), 5));
        assert_eq!(spent.last_take_ms(), Some(5));
        assert_eq!(live.last_take_ms(), None);
    }
}
