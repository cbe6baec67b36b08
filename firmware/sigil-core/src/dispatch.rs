//! One request in, one response out.

use core::ops::DerefMut;

use sigil_gate::Ticket;
use sigil_gate::{AdmitError, POLICY_DIGEST, Scratch, check_with};
use sigil_provenance::{RECORD_LEN, SealError};
use sigil_wire::{ErrorCode, Request, Response, WIRE_VERSION, WireFrameFacts};

use crate::service::{Core, wire_facts_to_frame_facts};

impl<S, const TICKETS: usize, const USERS: usize> Core<S, TICKETS, USERS>
where
    S: DerefMut<Target = Scratch>,
{
    /// Answer one request. `None` for [`Request::Bye`], which ends the session unanswered.
    ///
    /// Every request but `Hello` needs an open session (a `Hello` in this wire version);
    /// requests that belong to the device program (its log, updates) are refused as
    /// [`ErrorCode::Unsupported`], with a detail that says where to send them.
    pub fn handle(&mut self, request: Request<'_>) -> Option<Response<'_>> {
        let response = match request {
            Request::Hello { host_version, .. } => {
                if host_version != WIRE_VERSION {
                    self.session = false;
                    return Some(self.refuse(
                        ErrorCode::VersionMismatch,
                        format_args!(
                            "the host speaks wire version {host_version}, this trust core \
                             {WIRE_VERSION}: update the older side"
                        ),
                    ));
                }
                self.session = true;
                Response::Hello {
                    device_version: WIRE_VERSION,
                    max_frame: self.max_frame,
                }
            }
            Request::Bye => {
                self.session = false;
                return None;
            }
            _ if !self.session => {
                return Some(self.refuse(
                    ErrorCode::BadRequest,
                    format_args!("no session: open one with Hello first"),
                ));
            }
            Request::Info => Response::Info {
                firmware_digest: self.sealer.firmware_digest(),
                policy_digest: POLICY_DIGEST,
                device_key: self.sealer.verifying_key().to_bytes(),
            },
            Request::Head => {
                let head = self.sealer.head();
                Response::Head {
                    next_seq: head.next_seq,
                    prev_hash: head.prev_hash,
                }
            }
            Request::Check { prompt, .. } => match check_with(prompt, 0, &mut self.scratch) {
                Ok(outcome) => Response::Decision(outcome.decision),
                Err(e) => return Some(self.refuse(ErrorCode::PromptRejected, format_args!("{e}"))),
            },
            Request::Admit {
                prompt,
                user,
                now_ms,
            } => match self.gate.admit(prompt, user, now_ms, 0, &mut self.scratch) {
                Ok(admission) => Response::Admitted(admission.ticket),
                Err(AdmitError::RateLimited(r)) => Response::Limited(r),
                Err(AdmitError::Input(e)) => {
                    return Some(self.refuse(ErrorCode::PromptRejected, format_args!("{e}")));
                }
            },
            Request::AdmitRead {
                prompt,
                reading,
                user,
                now_ms,
            } => match self
                .gate
                .admit_read(prompt, reading, user, now_ms, 0, &mut self.scratch)
            {
                Ok(admission) => Response::Admitted(admission.ticket),
                Err(AdmitError::RateLimited(r)) => Response::Limited(r),
                Err(AdmitError::Input(e)) => {
                    return Some(self.refuse(ErrorCode::PromptRejected, format_args!("{e}")));
                }
            },
            Request::Seal { ticket, facts } => return Some(self.seal(&ticket, &facts)),
            Request::SignCredential { msg } => match self.sealer.sign_credential(msg) {
                Ok(signature) => {
                    self.signature = signature;
                    Response::Signature {
                        signature: &self.signature,
                    }
                }
                Err(e) => return Some(self.refuse(ErrorCode::BadRequest, format_args!("{e}"))),
            },
            Request::GetRecord { seq } => {
                let held = self.last.as_ref().map(|(s, _)| *s);
                if held != Some(seq) {
                    return Some(self.refuse(
                        ErrorCode::NotFound,
                        format_args!(
                            "the trust core keeps only its last record ({}), not seq {seq}: \
                             read the log from the device program",
                            Held(held)
                        ),
                    ));
                }
                // Held is Some(seq), so the record is there.
                Response::Record {
                    record: self.last.as_ref().map_or(&[][..], |(_, bytes)| &bytes[..]),
                }
            }
            Request::ReadLog { .. } => {
                return Some(self.refuse(
                    ErrorCode::Unsupported,
                    format_args!(
                        "the trust core keeps no log: the device program does (`sigil serve`, \
                         `sigil-host pull-log`)"
                    ),
                ));
            }
            Request::UpdateBegin { .. } | Request::UpdateChunk { .. } | Request::UpdateCommit => {
                return Some(self.refuse(
                    ErrorCode::Unsupported,
                    format_args!(
                        "updates go to the device program (`sigil serve`, `sigil-host flash`), \
                         not to the trust core"
                    ),
                ));
            }
        };
        Some(response)
    }

    fn seal(&mut self, ticket: &Ticket, facts: &WireFrameFacts) -> Response<'_> {
        let facts = match wire_facts_to_frame_facts(facts) {
            Ok(f) => f,
            Err(what) => return self.refuse(ErrorCode::BadRequest, format_args!("{what}")),
        };
        match self.sealer.seal(&mut self.gate.book, Some(ticket), &facts) {
            Ok(record) => {
                let mut bytes = [0; RECORD_LEN];
                record.encode(&mut bytes);
                let (_, stored) = self.last.insert((record.body().seq, bytes));
                Response::Sealed { record: stored }
            }
            Err(e) => {
                let code = match e {
                    SealError::NoTicket | SealError::Ticket(_) | SealError::Blocked => {
                        ErrorCode::TicketRefused
                    }
                    SealError::ChainExhausted => ErrorCode::Internal,
                    _ => ErrorCode::BadRequest,
                };
                self.refuse(code, format_args!("{e}"))
            }
        }
    }
}

/// "seq N", or "none yet".
struct Held(Option<u64>);

impl core::fmt::Display for Held {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(seq) => write!(f, "seq {seq}"),
            None => f.write_str("none yet"),
        }
    }
}
