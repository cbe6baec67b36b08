//! Token-bucket rate limits per user and per device (DESIGN §3), against mass misuse.
//!
//! Time is the caller's monotonic milliseconds; a clock that goes backwards refills nothing.
//! The per-user table has a fixed capacity: a new user takes the slot of a user whose bucket
//! has refilled completely (forgetting them loses nothing); when every tracked user is still
//! drawing tokens, a new user is refused (`TableFull`) rather than let anyone's limit lapse.

use heapless::Vec;

/// Bucket parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limit {
    /// Most requests in a burst.
    pub burst: u32,
    /// Milliseconds to earn back one request.
    pub refill_ms: u32,
}

/// Per-user and per-device limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RateConfig {
    /// Each user's bucket.
    pub user: Limit,
    /// The device's bucket, shared by everyone.
    pub device: Limit,
}

impl Default for RateConfig {
    /// A kiosk default: 6 prompts a minute per user with bursts of 6, 60 a minute per device
    /// with bursts of 20.
    fn default() -> Self {
        Self {
            user: Limit {
                burst: 6,
                refill_ms: 10_000,
            },
            device: Limit {
                burst: 20,
                refill_ms: 1_000,
            },
        }
    }
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Scope {
    /// The user's own bucket is empty.
    User,
    /// The device-wide bucket is empty.
    Device,
    /// Too many distinct users are active at once to track another.
    TableFull,
}

/// A refused request: who refused it and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RateLimited {
    /// Which limit.
    pub scope: Scope,
    /// Milliseconds until a token is available.
    pub retry_after_ms: u64,
}

impl core::fmt::Display for RateLimited {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let who = match self.scope {
            Scope::User => "this user's request limit is used up",
            Scope::Device => "the device's request limit is used up",
            Scope::TableFull => "too many users are active at once",
        };
        write!(
            f,
            "rate limited: {who}; retry in {} ms",
            self.retry_after_ms
        )
    }
}

impl core::error::Error for RateLimited {}

/// One bucket. Tokens are counted in milli-tokens so refills are exact in integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bucket {
    milli: u64,
    last_ms: u64,
}

impl Bucket {
    const fn full(limit: Limit, now_ms: u64) -> Self {
        Self {
            milli: limit.burst as u64 * 1000,
            last_ms: now_ms,
        }
    }

    fn refill(&mut self, limit: Limit, now_ms: u64) {
        let cap = u64::from(limit.burst) * 1000;
        if now_ms > self.last_ms {
            let earned =
                (now_ms - self.last_ms).saturating_mul(1000) / u64::from(limit.refill_ms.max(1));
            self.milli = self.milli.saturating_add(earned).min(cap);
            self.last_ms = now_ms;
        }
    }

    fn is_full(&self, limit: Limit) -> bool {
        self.milli >= u64::from(limit.burst) * 1000
    }

    fn wait_ms(&self, limit: Limit) -> u64 {
        let missing = 1000u64.saturating_sub(self.milli);
        (missing * u64::from(limit.refill_ms.max(1))).div_ceil(1000)
    }
}

/// Token buckets for up to `USERS` users plus the device.
#[derive(Debug)]
pub struct RateLimiter<const USERS: usize> {
    config: RateConfig,
    device: Option<Bucket>,
    users: Vec<([u8; 32], Bucket), USERS>,
}

impl<const USERS: usize> RateLimiter<USERS> {
    /// A limiter with every bucket full.
    pub const fn new(config: RateConfig) -> Self {
        Self {
            config,
            device: None,
            users: Vec::new(),
        }
    }

    /// Take one token from the user's and the device's bucket, or neither.
    pub fn take(&mut self, user_hash: &[u8; 32], now_ms: u64) -> Result<(), RateLimited> {
        let cfg = self.config;
        let mut device = self.device.unwrap_or(Bucket::full(cfg.device, now_ms));
        device.refill(cfg.device, now_ms);
        for (_, b) in self.users.iter_mut() {
            b.refill(cfg.user, now_ms);
        }
        let slot = match self.users.iter().position(|(k, _)| k == user_hash) {
            Some(i) => i,
            None => {
                let entry = (*user_hash, Bucket::full(cfg.user, now_ms));
                if self.users.is_full() {
                    let Some(free) = self.users.iter().position(|(_, b)| b.is_full(cfg.user))
                    else {
                        let soonest = self.users.iter().map(|(_, b)| b.wait_ms(cfg.user)).min();
                        return Err(RateLimited {
                            scope: Scope::TableFull,
                            retry_after_ms: soonest.unwrap_or(0),
                        });
                    };
                    self.users.swap_remove(free);
                }
                if self.users.push(entry).is_err() {
                    return Err(RateLimited {
                        scope: Scope::TableFull,
                        retry_after_ms: 0,
                    });
                }
                self.users.len() - 1
            }
        };
        let Some((_, user)) = self.users.get_mut(slot) else {
            return Err(RateLimited {
                scope: Scope::TableFull,
                retry_after_ms: 0,
            });
        };
        if user.milli < 1000 {
            return Err(RateLimited {
                scope: Scope::User,
                retry_after_ms: user.wait_ms(cfg.user),
            });
        }
        if device.milli < 1000 {
            self.device = Some(device);
            return Err(RateLimited {
                scope: Scope::Device,
                retry_after_ms: device.wait_ms(cfg.device),
            });
        }
        user.milli -= 1000;
        device.milli -= 1000;
        self.device = Some(device);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: RateConfig = RateConfig {
        user: Limit {
            burst: 2,
            refill_ms: 1000,
        },
        device: Limit {
            burst: 3,
            refill_ms: 500,
        },
    };

    #[test]
    fn user_bucket_empties_and_refills() {
        let mut r = RateLimiter::<4>::new(CFG);
        let u = [1; 32];
        assert!(r.take(&u, 0).is_ok());
        assert!(r.take(&u, 0).is_ok());
        assert_eq!(
            r.take(&u, 0),
            Err(RateLimited {
                scope: Scope::User,
                retry_after_ms: 1000
            })
        );
        assert_eq!(
            r.take(&u, 400),
            Err(RateLimited {
                scope: Scope::User,
                retry_after_ms: 600
            })
        );
        assert!(r.take(&u, 1000).is_ok());
    }

    #[test]
    fn device_bucket_is_shared_and_refusal_takes_nothing() {
        let mut r = RateLimiter::<8>::new(CFG);
        for i in 0..3u8 {
            assert!(r.take(&[i; 32], 0).is_ok());
        }
        let e = r.take(&[9; 32], 0).unwrap_err();
        assert_eq!(e.scope, Scope::Device);
        assert_eq!(e.retry_after_ms, 500);
        // User 9 was refused by the device: its own bucket must still be full (2 tokens).
        assert!(r.take(&[9; 32], 1000).is_ok());
        assert!(r.take(&[9; 32], 1500).is_ok());
    }

    #[test]
    fn clock_going_backwards_refills_nothing() {
        let mut r = RateLimiter::<2>::new(CFG);
        let u = [3; 32];
        assert!(r.take(&u, 10_000).is_ok());
        assert!(r.take(&u, 10_000).is_ok());
        assert_eq!(r.take(&u, 0).unwrap_err().scope, Scope::User);
    }

    #[test]
    fn full_table_reuses_idle_slots_and_refuses_when_all_are_busy() {
        let mut r = RateLimiter::<2>::new(RateConfig {
            device: Limit {
                burst: 100,
                refill_ms: 1,
            },
            ..CFG
        });
        assert!(r.take(&[1; 32], 0).is_ok());
        assert!(r.take(&[2; 32], 0).is_ok());
        assert_eq!(r.take(&[3; 32], 0).unwrap_err().scope, Scope::TableFull);
        // After user 1 refills completely its slot can be reused.
        assert!(r.take(&[3; 32], 2000).is_ok());
        // User 3 is now tracked with one token used.
        assert!(r.take(&[3; 32], 2000).is_ok());
        assert_eq!(r.take(&[3; 32], 2000).unwrap_err().scope, Scope::User);
    }
}
