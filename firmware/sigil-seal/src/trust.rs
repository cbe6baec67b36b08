//! The trust core as the device program sees it: in this process, or on a trust-core
//! microcontroller at the end of a link (`--trust-core in-process | serial:PATH | tcp:HOST:PORT`).
//!
//! Both speak the same requests (`sigil_wire::Request`) to the same service
//! ([`sigil_core::Core`]): in-process calls [`Core::handle`](sigil_core::Core::handle)
//! directly, a link sends frames. The key never reaches this side in the remote case, and this
//! side checks everything a core answers before it is used: a record must verify under the
//! core's key and continue the chain exactly where the core said it stood; a credential
//! signature must verify too.

use std::sync::Mutex;
use std::time::Duration;

use sigil_gate::{RateLimiter, Scratch, Ticket};
use sigil_link::{Client, ClientError, Endpoint};
use sigil_provenance::{
    ChainHead, FrameFacts, RECORD_LEN, Record, Sealer, VerifyingKey, verify_record,
    watermark_payload,
};
use sigil_wire::{ErrorCode, Request, Response, WIRE_VERSION};

/// Users the in-process rate limiter tracks.
pub const RATE_USERS: usize = 64;
/// Outstanding tickets an in-process core holds.
pub const TICKETS: usize = 4;
/// How long a remote core may take to answer one request (a seal on a Cortex-M4 at tens of
/// MHz takes well under a second; QEMU is slower).
pub const REMOTE_TIMEOUT: Duration = Duration::from_secs(30);

/// The in-process core.
pub type LocalCore = sigil_core::Core<Box<Scratch>, TICKETS, RATE_USERS>;

/// Where the trust core runs, as `--trust-core` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustCoreAt {
    /// In this process, with the key in the state directory.
    InProcess,
    /// On a trust-core MCU at the end of a link.
    Link(Endpoint),
}

impl std::str::FromStr for TrustCoreAt {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "in-process" {
            return Ok(TrustCoreAt::InProcess);
        }
        s.parse().map(TrustCoreAt::Link).map_err(|e: ClientError| {
            format!("{e}; or `in-process` for the trust core in this process")
        })
    }
}

/// A trust core answered, or failed to, in a way that stops this frame.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The core refused the request.
    #[error("the trust core refused ({code}): {detail}")]
    Refused {
        /// Its code.
        code: ErrorCode,
        /// Its words.
        detail: String,
    },
    /// A rate limit (this user's, the device's, or too many users) refused the request.
    #[error("{0}")]
    RateLimited(sigil_gate::RateLimited),
    /// A rate limit refused the request; the core did not say which (an earlier build).
    #[error("rate limited: try again in {} s", retry_after_ms.div_ceil(1000))]
    RateLimitedAfter {
        /// When a token is back.
        retry_after_ms: u64,
    },
    /// The link to a remote core failed.
    #[error("the trust core at {at}: {source}")]
    Link {
        /// Where it is.
        at: String,
        /// What failed.
        source: ClientError,
    },
    /// The remote core enforces another policy than the one this program was built with: its
    /// tickets would certify prompts against rules this program does not show or report.
    #[error(
        "the trust core at {at} enforces policy {} but this device program was built with policy {}: flash the trust core with firmware built from the same policy, or run the device program built for the core's",
        hex::encode(core),
        hex::encode(ours)
    )]
    PolicyMismatch {
        /// Where it is.
        at: String,
        /// The core's policy digest.
        core: [u8; 32],
        /// This program's (`sigil_gate::POLICY_DIGEST`).
        ours: [u8; 32],
    },
    /// The core's answer does not check out (wrong key, chain, signature or shape).
    #[error("the trust core's answer does not check out: {0}")]
    Untrusted(String),
}

/// The answer to an admission: a ticket, a rate limit, or (`Err`) something else.
#[allow(clippy::type_complexity)]
fn admitted(r: Response<'_>) -> Result<Result<Ticket, CoreError>, Response<'_>> {
    match r {
        Response::Admitted(t) => Ok(Ok(t)),
        Response::Limited(r) => Ok(Err(CoreError::RateLimited(r))),
        Response::RateLimited { retry_after_ms } => {
            Ok(Err(CoreError::RateLimitedAfter { retry_after_ms }))
        }
        other => Err(other),
    }
}

enum Inner {
    InProcess(Box<LocalCore>),
    Remote { client: Client, at: String },
}

/// An open trust core, with what it said about itself.
pub struct TrustCore {
    inner: Mutex<Inner>,
    key: VerifyingKey,
    firmware_digest: [u8; 32],
    policy_digest: [u8; 32],
    head: ChainHead,
}

impl std::fmt::Debug for TrustCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustCore")
            .field("remote", &self.remote())
            .field("key", &hex::encode(self.key.as_bytes()))
            .field("head", &self.head)
            .finish()
    }
}

impl TrustCore {
    /// A core in this process around `sealer` (at its chain head; `last` is the record it
    /// resumed from).
    pub fn in_process(sealer: Sealer, last: Option<&Record>) -> Self {
        let key = sealer.verifying_key();
        let (firmware_digest, head) = (sealer.firmware_digest(), sealer.head());
        let core = LocalCore::new(
            sealer,
            sigil_gate::Gate::new(sigil_gate::RateConfig::default()),
            Box::new(Scratch::new()),
            sigil_link::MAX_FRAME as u32,
            last,
        );
        let mut core = Box::new(core);
        // The in-process core's session is this object's life.
        let _ = core.handle(Request::Hello {
            host_version: WIRE_VERSION,
            max_frame: sigil_link::MAX_FRAME as u32,
        });
        Self {
            inner: Mutex::new(Inner::InProcess(core)),
            key,
            firmware_digest,
            policy_digest: sigil_gate::POLICY_DIGEST,
            head,
        }
    }

    /// Connect to a remote core and ask who it is and where its chain stands.
    pub fn connect(endpoint: &Endpoint, timeout: Duration) -> Result<Self, CoreError> {
        let at = match endpoint {
            Endpoint::Tcp(a) => format!("tcp:{a}"),
            Endpoint::Serial { path, baud } => format!("serial:{path}@{baud}"),
        };
        let link = |source| CoreError::Link {
            at: at.clone(),
            source,
        };
        let mut client = Client::connect(endpoint, timeout).map_err(link)?;
        let info = client.info().map_err(link)?;
        if info.policy_digest != sigil_gate::POLICY_DIGEST {
            return Err(CoreError::PolicyMismatch {
                at,
                core: info.policy_digest,
                ours: sigil_gate::POLICY_DIGEST,
            });
        }
        let head = client
            .call(Request::Head, |r| match r {
                Response::Head {
                    next_seq,
                    prev_hash,
                } => Ok(ChainHead {
                    next_seq,
                    prev_hash,
                }),
                other => Err(other),
            })
            .map_err(link)?;
        let key = VerifyingKey::from_bytes(&info.device_key)
            .map_err(|e| CoreError::Untrusted(format!("its public key is not a key: {e}")))?;
        Ok(Self {
            inner: Mutex::new(Inner::Remote { client, at }),
            key,
            firmware_digest: info.firmware_digest,
            policy_digest: info.policy_digest,
            head,
        })
    }

    /// Whether the core is at the end of a link.
    pub fn remote(&self) -> bool {
        self.inner
            .lock()
            .is_ok_and(|i| matches!(*i, Inner::Remote { .. }))
    }

    /// The device key.
    pub const fn key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The firmware digest the core stamps into records (for a remote core, its own image's).
    pub const fn firmware_digest(&self) -> [u8; 32] {
        self.firmware_digest
    }

    /// The policy digest the core stamps into records.
    pub const fn policy_digest(&self) -> [u8; 32] {
        self.policy_digest
    }

    /// Where the core's chain stands.
    pub const fn head(&self) -> ChainHead {
        self.head
    }

    /// The watermark payload of the next frame.
    pub fn next_watermark(&self) -> [u8; 8] {
        watermark_payload(self.key.as_bytes(), self.head.next_seq)
    }

    /// Send one request and hand the answer to `take`.
    fn call<T>(
        &self,
        request: Request<'_>,
        take: impl FnOnce(Response<'_>) -> Result<T, Response<'_>>,
    ) -> Result<T, CoreError> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| CoreError::Untrusted("an earlier call panicked".into()))?;
        match &mut *inner {
            Inner::InProcess(core) => match core.handle(request) {
                Some(Response::Error { code, detail }) => Err(CoreError::Refused {
                    code,
                    detail: detail.to_owned(),
                }),
                Some(r) => take(r).map_err(|r| CoreError::Untrusted(format!("{r:?}"))),
                None => Err(CoreError::Untrusted("no answer".into())),
            },
            Inner::Remote { client, at } => client.call(request, take).map_err(|e| match e {
                ClientError::Refused { code, detail } => CoreError::Refused { code, detail },
                source => CoreError::Link {
                    at: at.clone(),
                    source,
                },
            }),
        }
    }

    /// Rate-limit and gate a prompt, and take the single-use ticket the core issues for it
    /// (for every verdict: sealing refuses blocked ones).
    pub fn admit(&mut self, prompt: &str, user: &[u8], now_ms: u64) -> Result<Ticket, CoreError> {
        self.call(
            Request::Admit {
                prompt,
                user,
                now_ms,
            },
            admitted,
        )?
    }

    /// Admit a prompt with what the model read it as: one token, one ticket for the stricter of
    /// the two checks (see `Request::AdmitRead`). The device acts on this ticket alone.
    pub fn admit_read(
        &mut self,
        prompt: &str,
        reading: &str,
        user: &[u8],
        now_ms: u64,
    ) -> Result<Ticket, CoreError> {
        self.call(
            Request::AdmitRead {
                prompt,
                reading,
                user,
                now_ms,
            },
            admitted,
        )?
    }

    /// Seal a frame against `ticket`. The record that comes back must verify under the core's
    /// key, continue the chain where it stood, and state exactly `facts` and the ticket's
    /// prompt; only then does the head move.
    pub fn seal(&mut self, ticket: &Ticket, facts: &FrameFacts) -> Result<Record, CoreError> {
        let wire = sigil_core::frame_facts_to_wire(facts);
        let bytes = self.call(
            Request::Seal {
                ticket: *ticket,
                facts: wire,
            },
            |r| match r {
                Response::Sealed { record } => Ok(record.to_vec()),
                other => Err(other),
            },
        )?;
        let record = self.check_next(&bytes)?;
        let b = record.body();
        let stated = b.frame_hash == facts.frame_hash
            && b.watermark == facts.watermark
            && b.model_digest == facts.model_digest
            && b.seed == facts.seed
            && b.width == facts.width
            && b.height == facts.height
            && b.review == facts.review
            && b.post_filter == facts.post_filter
            && b.prompt_hash == ticket.prompt_hash
            && b.user_hash == ticket.user_hash;
        if !stated {
            return Err(CoreError::Untrusted(format!(
                "record {} does not state the frame and prompt it was asked to seal",
                b.seq
            )));
        }
        self.head = ChainHead {
            next_seq: b.seq + 1,
            prev_hash: record.hash(),
        };
        Ok(record)
    }

    /// Check that `bytes` is the record right after the head: signed by the core's key,
    /// `seq` = the head's next, `prev_hash` = the head's hash.
    fn check_next(&self, bytes: &[u8]) -> Result<Record, CoreError> {
        let record = verify_record(bytes, &self.key).map_err(|e| {
            CoreError::Untrusted(format!(
                "the record does not verify under the core's key: {e}"
            ))
        })?;
        let b = record.body();
        if b.seq != self.head.next_seq || b.prev_hash != self.head.prev_hash {
            return Err(CoreError::Untrusted(format!(
                "record {} does not continue the chain at seq {}",
                b.seq, self.head.next_seq
            )));
        }
        Ok(record)
    }

    /// Sign a content credential with the device key (see
    /// [`Sealer::sign_credential`](sigil_provenance::Sealer::sign_credential)); the signature is
    /// checked before it is returned.
    pub fn sign_credential(&self, msg: &[u8]) -> Result<[u8; 64], CoreError> {
        let sig = self.call(Request::SignCredential { msg }, |r| match r {
            Response::Signature { signature } => {
                <[u8; 64]>::try_from(signature).map_err(|_| Response::Signature { signature })
            }
            other => Err(other),
        })?;
        self.key
            .verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig))
            .map_err(|e| CoreError::Untrusted(format!("credential signature: {e}")))?;
        Ok(sig)
    }

    /// The record `seq` as the core still holds it (a remote core keeps only its last one).
    pub fn record(&self, seq: u64) -> Result<Vec<u8>, CoreError> {
        self.call(Request::GetRecord { seq }, |r| match r {
            Response::Record { record } if record.len() == RECORD_LEN => Ok(record.to_vec()),
            other => Err(other),
        })
    }

    /// Give the in-process core's rate limiter saved buckets (a remote core keeps its own).
    pub fn restore_rates(&mut self, limiter: RateLimiter<RATE_USERS>) {
        if let Ok(mut inner) = self.inner.lock()
            && let Inner::InProcess(core) = &mut *inner
        {
            *core.gate_mut() = sigil_gate::Gate::with_rates(limiter);
        }
    }

    /// The in-process core's rate-limit buckets, to save; `None` for a remote core.
    pub fn rates(&self) -> Option<sigil_gate::rate::RateState<RATE_USERS>> {
        let inner = self.inner.lock().ok()?;
        match &*inner {
            Inner::InProcess(core) => Some(core.gate().rates().state()),
            Inner::Remote { .. } => None,
        }
    }

    /// Ask the core for the record it sealed after `log_last` that the log lacks (the
    /// response was cut off after the core saved it), check it and return it. `None` when the
    /// core's head is the log's.
    pub(crate) fn missing_record(
        &self,
        log_last: Option<&Record>,
    ) -> Result<Option<Record>, String> {
        let log_next = log_last.map_or(0, |r| r.body().seq + 1);
        let log_hash = log_last.map_or([0; 32], Record::hash);
        let head = self.head;
        if head.next_seq == log_next && head.prev_hash == log_hash {
            return Ok(None);
        }
        if head.next_seq != log_next + 1 {
            return Err(format!(
                "the trust core's chain is at seq {} and this log's at seq {log_next}: they are \
                 not the same device's chain (use the state directory of this trust core, or a \
                 new one for a new core)",
                head.next_seq
            ));
        }
        let bytes = self.record(log_next).map_err(|e| e.to_string())?;
        let record = verify_record(&bytes, &self.key)
            .map_err(|e| format!("the trust core's last record does not verify: {e}"))?;
        let b = record.body();
        if b.seq != log_next || b.prev_hash != log_hash || record.hash() != head.prev_hash {
            return Err(format!(
                "the trust core's last record (seq {}) does not follow this log's",
                b.seq
            ));
        }
        Ok(Some(record))
    }
}
