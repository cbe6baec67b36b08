//! Token-bucket rate limits per user and per device (DESIGN §3), against mass misuse.
//!
//! Time is the caller's monotonic milliseconds; a clock that goes backwards refills nothing.
//! The per-user table has a fixed capacity: a new user takes the slot of a user whose bucket
//! has refilled completely (forgetting them loses nothing); when every tracked user is still
//! drawing tokens, a new user is refused (`TableFull`) rather than let anyone's limit lapse.
//!
//! The buckets can outlive the limiter: [`RateLimiter::state`] takes a [`RateState`] (serde,
//! heapless, fixed capacity) and [`RateLimiter::restore`] rebuilds a limiter from one, never
//! holding more than the current [`RateConfig`] allows. Where the buckets were lost,
//! [`RateLimiter::exhausted`] starts every bucket, including those of users not seen yet, empty.

use heapless::Vec;
use serde::{Deserialize, Serialize};

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

/// Which limit refused a request. Its variant order is part of the wire format (`sigil-wire`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Scope {
    /// The user's own bucket is empty.
    User,
    /// The device-wide bucket is empty.
    Device,
    /// Too many distinct users are active at once to track another.
    TableFull,
}

/// A refused request: who refused it and when to try again. Its field order is part of the
/// wire format (`sigil-wire`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// One bucket's level. Tokens are counted in milli-tokens so refills are exact in integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Bucket {
    /// Tokens held, in thousandths of a request.
    pub milli: u64,
    /// The caller's milliseconds when `milli` was last brought up to date.
    pub last_ms: u64,
}

impl Bucket {
    pub(crate) const fn full(limit: Limit, now_ms: u64) -> Self {
        Self {
            milli: limit.burst as u64 * 1000,
            last_ms: now_ms,
        }
    }

    const fn empty(now_ms: u64) -> Self {
        Self {
            milli: 0,
            last_ms: now_ms,
        }
    }

    /// Never more than `limit` holds, never stamped later than `now_ms`. (A stamp in the future
    /// comes from a clock that has since gone backwards: the jump refills nothing, and refills
    /// resume from `now_ms` rather than only once the clock is back where it was.)
    pub(crate) fn clamped(self, limit: Limit, now_ms: u64) -> Self {
        Self {
            milli: self.milli.min(u64::from(limit.burst) * 1000),
            last_ms: self.last_ms.min(now_ms),
        }
    }

    pub(crate) fn refill(&mut self, limit: Limit, now_ms: u64) {
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

/// The buckets of a [`RateLimiter`], to keep across restarts ([`RateLimiter::state`],
/// [`RateLimiter::restore`]). Absent buckets are full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateState<const USERS: usize> {
    /// The device's bucket; `None`: full.
    pub device: Option<Bucket>,
    /// The bucket a user not in `users` starts from; `None`: full.
    pub unlisted: Option<Bucket>,
    /// Tracked users: user hash and bucket.
    pub users: Vec<([u8; 32], Bucket), USERS>,
}

impl<const USERS: usize> Default for RateState<USERS> {
    /// Every bucket full.
    fn default() -> Self {
        Self {
            device: None,
            unlisted: None,
            users: Vec::new(),
        }
    }
}

/// Token buckets for up to `USERS` users plus the device.
#[derive(Debug)]
pub struct RateLimiter<const USERS: usize> {
    pub(crate) config: RateConfig,
    pub(crate) device: Option<Bucket>,
    /// The bucket a user who is not in `users` starts from; `None`: full.
    pub(crate) unlisted: Option<Bucket>,
    pub(crate) users: Vec<([u8; 32], Bucket), USERS>,
}

impl<const USERS: usize> RateLimiter<USERS> {
    /// A limiter with every bucket full.
    pub const fn new(config: RateConfig) -> Self {
        Self {
            config,
            device: None,
            unlisted: None,
            users: Vec::new(),
        }
    }

    /// A limiter with every bucket empty at `now_ms`, the device's and every user's, also of
    /// users it has not seen: for when the saved buckets were lost and may have been empty.
    /// The limits refill with time as usual.
    pub const fn exhausted(config: RateConfig, now_ms: u64) -> Self {
        Self {
            config,
            device: Some(Bucket::empty(now_ms)),
            unlisted: Some(Bucket::empty(now_ms)),
            users: Vec::new(),
        }
    }

    /// The limits this limiter enforces.
    pub const fn config(&self) -> RateConfig {
        self.config
    }

    /// A copy of the buckets, for [`RateLimiter::restore`].
    pub fn state(&self) -> RateState<USERS> {
        RateState {
            device: self.device,
            unlisted: self.unlisted,
            users: self.users.clone(),
        }
    }

    /// A limiter under `config` that continues from `state`, at `now_ms`.
    ///
    /// Restoring never loosens a limit: no bucket holds more than `config` allows (a state
    /// saved under a larger burst is cut down to this one), a user listed twice keeps the
    /// emptier bucket, and a bucket stamped after `now_ms` (the clock went backwards since)
    /// is restamped at `now_ms` with what it held: the jump refills nothing.
    pub fn restore(config: RateConfig, state: RateState<USERS>, now_ms: u64) -> Self {
        let mut users: Vec<([u8; 32], Bucket), USERS> = Vec::new();
        for (hash, bucket) in state.users {
            let bucket = bucket.clamped(config.user, now_ms);
            match users.iter_mut().find(|(h, _)| *h == hash) {
                Some((_, kept)) => {
                    if bucket.milli < kept.milli {
                        *kept = bucket;
                    }
                }
                // Cannot fail: `users` has the capacity `state.users` had.
                None => {
                    let _ = users.push((hash, bucket));
                }
            }
        }
        Self {
            config,
            device: state.device.map(|b| b.clamped(config.device, now_ms)),
            unlisted: state.unlisted.map(|b| b.clamped(config.user, now_ms)),
            users,
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
        if let Some(mut b) = self.unlisted {
            b.refill(cfg.user, now_ms);
            // Once it has refilled completely it is the same as no record at all.
            self.unlisted = (!b.is_full(cfg.user)).then_some(b);
        }
        let slot = match self.users.iter().position(|(k, _)| k == user_hash) {
            Some(i) => i,
            None => {
                let start = self.unlisted.unwrap_or(Bucket::full(cfg.user, now_ms));
                let entry = (*user_hash, start);
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

    /// A fixed script of requests from three users over time, some refused.
    const SCRIPT: [(u8, u64); 16] = [
        (1, 0),
        (1, 0),
        (2, 0),
        (1, 10),
        (3, 20),
        (2, 300),
        (3, 400),
        (1, 600),
        (1, 900),
        (2, 1000),
        (2, 1000),
        (3, 1200),
        (1, 1500),
        (1, 1600),
        (2, 2600),
        (3, 5000),
    ];

    #[test]
    fn a_restored_limiter_refuses_exactly_where_the_original_would() {
        // Cut the script at every point: save, restore, go on; the answers never change.
        let mut reference = RateLimiter::<4>::new(CFG);
        let expected: std::vec::Vec<_> = SCRIPT
            .iter()
            .map(|&(u, t)| reference.take(&[u; 32], t))
            .collect();
        assert!(expected.iter().any(Result::is_err) && expected.iter().any(Result::is_ok));
        for cut in 0..=SCRIPT.len() {
            let mut r = RateLimiter::<4>::new(CFG);
            let mut got = std::vec::Vec::new();
            for (i, &(u, t)) in SCRIPT.iter().enumerate() {
                if i == cut {
                    let state = r.state();
                    r = RateLimiter::restore(CFG, state.clone(), t);
                    assert_eq!(
                        r.state(),
                        state,
                        "cut {cut}: the round trip changed the state"
                    );
                }
                got.push(r.take(&[u; 32], t));
            }
            assert_eq!(got, expected, "cut at {cut}");
        }
    }

    #[test]
    fn restoring_never_grants_more_than_the_config_allows() {
        let big = RateConfig {
            user: Limit {
                burst: 100,
                refill_ms: 1,
            },
            device: Limit {
                burst: 1000,
                refill_ms: 1,
            },
        };
        // Saved under a much larger config, user 1 having spent one token of 100.
        let mut loose = RateLimiter::<4>::new(big);
        assert!(loose.take(&[1; 32], 0).is_ok());
        let mut r = RateLimiter::<4>::restore(CFG, loose.state(), 0);
        assert!(r.take(&[1; 32], 0).is_ok());
        assert!(r.take(&[1; 32], 0).is_ok());
        assert_eq!(r.take(&[1; 32], 0).unwrap_err().scope, Scope::User);
        // A state that claims more than anything could hold.
        let mut users = Vec::new();
        users
            .push((
                [2; 32],
                Bucket {
                    milli: u64::MAX,
                    last_ms: 0,
                },
            ))
            .unwrap();
        let forged = RateState::<4> {
            device: Some(Bucket {
                milli: u64::MAX,
                last_ms: 0,
            }),
            unlisted: Some(Bucket {
                milli: u64::MAX,
                last_ms: 0,
            }),
            users,
        };
        let r = RateLimiter::<4>::restore(CFG, forged, 0);
        let s = r.state();
        assert_eq!(s.device.unwrap().milli, 3000);
        assert_eq!(s.unlisted.unwrap().milli, 2000);
        assert_eq!(s.users[0].1.milli, 2000);
        let mut r = r;
        for u in 0..3u8 {
            assert!(r.take(&[u + 10; 32], 0).is_ok());
        }
        assert_eq!(r.take(&[20; 32], 0).unwrap_err().scope, Scope::Device);
    }

    #[test]
    fn restoring_keeps_the_emptier_of_duplicates_and_restamps_the_future() {
        let mut users = Vec::new();
        users
            .push((
                [1; 32],
                Bucket {
                    milli: 2000,
                    last_ms: 0,
                },
            ))
            .unwrap();
        users
            .push((
                [1; 32],
                Bucket {
                    milli: 0,
                    last_ms: 0,
                },
            ))
            .unwrap();
        // The device bucket was saved at t = 1 000 000, the clock now says 0.
        let state = RateState::<4> {
            device: Some(Bucket {
                milli: 0,
                last_ms: 1_000_000,
            }),
            unlisted: None,
            users,
        };
        let mut r = RateLimiter::<4>::restore(CFG, state, 0);
        assert_eq!(r.state().users.len(), 1);
        // The jump back refilled nothing...
        let e = r.take(&[2; 32], 0).unwrap_err();
        assert_eq!((e.scope, e.retry_after_ms), (Scope::Device, 500));
        // ...and refills go on from the restored clock, not from a million ms ahead.
        assert_eq!(r.take(&[1; 32], 500).unwrap_err().scope, Scope::User);
        assert!(r.take(&[2; 32], 500).is_ok());
        assert!(r.take(&[1; 32], 1000).is_ok());
    }

    #[test]
    fn an_exhausted_limiter_refuses_everyone_until_the_buckets_refill() {
        let mut r = RateLimiter::<4>::exhausted(CFG, 1000);
        assert_eq!(
            r.take(&[1; 32], 1000),
            Err(RateLimited {
                scope: Scope::User,
                retry_after_ms: 1000
            })
        );
        // A user never seen before starts empty too, at the same time.
        assert_eq!(r.take(&[2; 32], 1500).unwrap_err().scope, Scope::User);
        assert!(r.take(&[3; 32], 2000).is_ok());
        assert_eq!(r.take(&[3; 32], 2000).unwrap_err().scope, Scope::User);
        // Once the unlisted bucket has refilled, new users start full again.
        assert!(r.take(&[4; 32], 3000).is_ok());
        assert!(r.take(&[4; 32], 3000).is_ok());
        assert_eq!(r.state().unlisted, None);
        assert_eq!(
            RateLimiter::<4>::exhausted(CFG, 0).state(),
            RateState {
                device: Some(Bucket {
                    milli: 0,
                    last_ms: 0
                }),
                unlisted: Some(Bucket {
                    milli: 0,
                    last_ms: 0
                }),
                users: Vec::new(),
            }
        );
    }
}
