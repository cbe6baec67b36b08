//! The host's client of the device protocol.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use sigil_bundle::Header;
use sigil_wire::{Body, Envelope, ErrorCode, Request, Response, WIRE_VERSION, decode_frame};

use crate::frame::{LinkError, MAX_FRAME, recv, send};

/// The largest header part in one `UpdateBegin`.
pub const HEADER_PART: usize = 32 * 1024;

/// Where the device is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `tcp:HOST:PORT`.
    Tcp(String),
    /// `serial:PATH[@BAUD]` (default 115200 baud).
    Serial {
        /// The port, e.g. /dev/ttyUSB0.
        path: String,
        /// Line speed.
        baud: u32,
    },
}

/// Default serial line speed.
pub const DEFAULT_BAUD: u32 = 115_200;

/// Open a serial port for the device protocol (raw, 8N1, reads bounded by `timeout`).
pub fn open_serial(
    path: &str,
    baud: u32,
    timeout: Duration,
) -> Result<serialport::TTYPort, ClientError> {
    serialport::new(path, baud)
        .timeout(timeout)
        .open_native()
        .map_err(|e| ClientError::Connect {
            addr: format!("serial:{path}"),
            source: std::io::Error::other(format!(
                "{e}: check the port exists (ls /dev/tty*) and that you may open it"
            )),
        })
}

impl std::str::FromStr for Endpoint {
    type Err = ClientError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("tcp", addr)) if addr.contains(':') => Ok(Endpoint::Tcp(addr.to_owned())),
            Some(("serial", rest)) if !rest.is_empty() => {
                let (path, baud) = match rest.rsplit_once('@') {
                    Some((p, b)) => (
                        p,
                        b.parse().map_err(|_| {
                            ClientError::Endpoint(format!("{s}: {b:?} is not a baud rate"))
                        })?,
                    ),
                    None => (rest, DEFAULT_BAUD),
                };
                Ok(Endpoint::Serial {
                    path: path.to_owned(),
                    baud,
                })
            }
            _ => Err(ClientError::Endpoint(format!(
                "{s:?} is not a device address: use tcp:HOST:PORT or serial:PATH[@BAUD]"
            ))),
        }
    }
}

/// What went wrong talking to a device.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A malformed `--device`.
    #[error("{0}")]
    Endpoint(String),
    /// Cannot reach it.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The link failed mid-conversation.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The device refused a request.
    #[error("the device refused ({code}): {detail}")]
    Refused {
        /// Its code.
        code: ErrorCode,
        /// Its words.
        detail: String,
    },
    /// An answer that does not fit the question.
    #[error("unexpected answer from the device: {0}")]
    Protocol(String),
    /// The bundle file is not a bundle.
    #[error(transparent)]
    Bundle(#[from] sigil_bundle::BundleError),
}

impl ClientError {
    /// Whether reconnecting may help (the link broke), as opposed to a refusal.
    pub fn is_link(&self) -> bool {
        matches!(self, ClientError::Link(_) | ClientError::Connect { .. })
    }
}

/// What the device said about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceInfo {
    /// SHA-256 of its running firmware.
    pub firmware_digest: [u8; 32],
    /// Its compiled-in policy.
    pub policy_digest: [u8; 32],
    /// Its public key.
    pub device_key: [u8; 32],
}

type Reader = Box<dyn Read + Send>;
type Writer = Box<dyn Write + Send>;

/// One connection to a device.
pub struct Client {
    reader: BufReader<Reader>,
    writer: Writer,
    next_id: u32,
    buf: Vec<u8>,
    /// The largest frame the device takes, as its `Hello` said.
    device_max_frame: usize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("next_id", &self.next_id)
            .finish()
    }
}

/// How a flash went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlashReport {
    /// Chunks sent in this run (a resumed transfer sends fewer than the total).
    pub sent: u32,
    /// Chunks in the bundle.
    pub total: u32,
    /// Times the link was re-established.
    pub reconnects: u32,
    /// The slot the bundle was staged in.
    pub slot: u8,
    /// Its version.
    pub version: u64,
}

impl Client {
    /// Connect and say hello. Every wait is bounded by `timeout`.
    pub fn connect(endpoint: &Endpoint, timeout: Duration) -> Result<Self, ClientError> {
        match endpoint {
            Endpoint::Tcp(addr) => {
                let connect_err = |source| ClientError::Connect {
                    addr: addr.clone(),
                    source,
                };
                let addrs: Vec<_> = std::net::ToSocketAddrs::to_socket_addrs(addr.as_str())
                    .map_err(connect_err)?
                    .collect();
                let first = addrs.first().ok_or_else(|| {
                    connect_err(std::io::Error::other("the name resolves to no address"))
                })?;
                let stream = TcpStream::connect_timeout(first, timeout).map_err(connect_err)?;
                stream
                    .set_read_timeout(Some(timeout))
                    .map_err(connect_err)?;
                stream
                    .set_write_timeout(Some(timeout))
                    .map_err(connect_err)?;
                stream.set_nodelay(true).map_err(connect_err)?;
                let writer = stream.try_clone().map_err(connect_err)?;
                Self::over(Box::new(stream), Box::new(writer))
            }
            Endpoint::Serial { path, baud } => {
                let port = open_serial(path, *baud, timeout)?;
                let writer = port.try_clone_native().map_err(|e| ClientError::Connect {
                    addr: format!("serial:{path}"),
                    source: std::io::Error::other(e.to_string()),
                })?;
                Self::over(Box::new(port), Box::new(writer))
            }
        }
    }

    /// Say hello over an open byte stream (a serial port, a pseudo-terminal, a socket).
    pub fn over(reader: Reader, mut writer: Writer) -> Result<Self, ClientError> {
        // A lone delimiter flushes whatever half-frame the device may hold from an earlier run.
        writer.write_all(&[0]).map_err(LinkError::from)?;
        let mut c = Self {
            reader: BufReader::with_capacity(MAX_FRAME, reader),
            writer,
            next_id: 1,
            buf: Vec::with_capacity(MAX_FRAME),
            device_max_frame: MAX_FRAME,
        };
        c.device_max_frame = c.call(
            Request::Hello {
                host_version: WIRE_VERSION,
                max_frame: MAX_FRAME as u32,
            },
            |r| match r {
                Response::Hello { max_frame, .. } => Ok(max_frame as usize),
                other => Err(other),
            },
        )?;
        Ok(c)
    }

    /// Send `request`, read the answer, and hand it to `take` (an error response becomes
    /// [`ClientError::Refused`]; a response `take` does not expect, [`ClientError::Protocol`]).
    /// A request longer than the device takes is refused here, before anything is sent.
    pub fn call<T>(
        &mut self,
        request: Request<'_>,
        take: impl FnOnce(Response<'_>) -> Result<T, Response<'_>>,
    ) -> Result<T, ClientError> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let mut frame = vec![0u8; MAX_FRAME];
        let len = sigil_wire::encode_frame(&Envelope::request(id, request), &mut frame)
            .map_err(LinkError::from)?;
        if len > self.device_max_frame {
            return Err(ClientError::Refused {
                code: ErrorCode::FrameTooLarge,
                detail: format!(
                    "the request is a {len}-byte frame and the device takes at most {}: send less",
                    self.device_max_frame
                ),
            });
        }
        std::io::Write::write_all(&mut self.writer, frame.get(..len).unwrap_or_default())
            .and_then(|()| self.writer.flush())
            .map_err(LinkError::from)?;
        // Answers to earlier requests (a resent request, a garbled frame the device answered
        // with id 0) are skipped: only this request's answer counts.
        let mut stale = 0;
        loop {
            recv(&mut self.reader, &mut self.buf)?;
            let env_id = match decode_frame(&mut self.buf.clone()) {
                Ok(e) => e.id,
                Err(_) => 0,
            };
            if env_id == id {
                break;
            }
            stale += 1;
            if stale > 16 {
                return Err(ClientError::Protocol(format!(
                    "no answer to request {id} among {stale} frames"
                )));
            }
        }
        let env = decode_frame(&mut self.buf).map_err(LinkError::from)?;
        match env.body {
            Body::Response(Response::Error { code, detail }) => Err(ClientError::Refused {
                code,
                detail: detail.to_owned(),
            }),
            Body::Response(r) => take(r).map_err(|r| ClientError::Protocol(format!("{r:?}"))),
            Body::Request(_) => Err(ClientError::Protocol("a request from the device".into())),
        }
    }

    /// What the device runs.
    pub fn info(&mut self) -> Result<DeviceInfo, ClientError> {
        self.call(Request::Info, |r| match r {
            Response::Info {
                firmware_digest,
                policy_digest,
                device_key,
            } => Ok(DeviceInfo {
                firmware_digest,
                policy_digest,
                device_key,
            }),
            other => Err(other),
        })
    }

    /// One record by sequence number.
    pub fn record(&mut self, seq: u64) -> Result<Vec<u8>, ClientError> {
        self.call(Request::GetRecord { seq }, |r| match r {
            Response::Record { record } => Ok(record.to_vec()),
            other => Err(other),
        })
    }

    /// The device log from `from_seq` on, as the log frames it (append it to a log file).
    pub fn pull_log(&mut self, from_seq: u64) -> Result<Vec<u8>, ClientError> {
        let mut out = Vec::new();
        let mut at = from_seq;
        loop {
            let (first, bytes, more, n) = self.call(
                Request::ReadLog {
                    from_seq: at,
                    max_records: 128,
                },
                |r| match r {
                    Response::LogChunk {
                        first_seq,
                        records,
                        more,
                    } => Ok((first_seq, records.to_vec(), more, count_entries(records))),
                    other => Err(other),
                },
            )?;
            if n > 0 && first != at {
                return Err(ClientError::Protocol(format!(
                    "log chunk starts at {first}, asked from {at}"
                )));
            }
            out.extend_from_slice(&bytes);
            at += n;
            if !more || n == 0 {
                return Ok(out);
            }
        }
    }

    /// Start or resume an update, the header in parts of at most [`HEADER_PART`] bytes:
    /// returns (next chunk, total).
    fn begin(&mut self, header: &[u8]) -> Result<(u32, u32), ClientError> {
        let header_len = u32::try_from(header.len())
            .map_err(|_| ClientError::Protocol("bundle header over 4 GiB".into()))?;
        let mut answer = (0, 0);
        for (i, part) in header.chunks(HEADER_PART).enumerate() {
            let offset = u32::try_from(i * HEADER_PART).unwrap_or(u32::MAX);
            answer = self.call(
                Request::UpdateBegin {
                    header_len,
                    offset,
                    part,
                },
                progress,
            )?;
        }
        Ok(answer)
    }
}

fn progress(r: Response<'_>) -> Result<(u32, u32), Response<'_>> {
    match r {
        Response::UpdateProgress { next_chunk, total } => Ok((next_chunk, total)),
        other => Err(other),
    }
}

/// Entries in log bytes (`len u32 LE ‖ record ‖ CRC-32`).
fn count_entries(mut b: &[u8]) -> u64 {
    let mut n = 0;
    while let Some(len) = b.get(..4) {
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        match b.get(4 + len + 4..) {
            Some(rest) => {
                b = rest;
                n += 1;
            }
            None => break,
        }
    }
    n
}

/// Flash `bundle` to the device at `endpoint`: send the header, then every chunk the device
/// still needs, then commit. A broken link is re-established up to `retries` times, and the
/// transfer resumes where the device says it stands. `on_chunk(done, total)` reports progress.
pub fn flash(
    endpoint: &Endpoint,
    bundle: &[u8],
    timeout: Duration,
    retries: u32,
    on_chunk: impl FnMut(u32, u32),
) -> Result<FlashReport, ClientError> {
    flash_with(
        || Client::connect(endpoint, timeout),
        bundle,
        retries,
        on_chunk,
    )
}

/// [`flash`] over connections made by `connect` (e.g. [`Client::over`] a pseudo-terminal).
pub fn flash_with(
    mut connect: impl FnMut() -> Result<Client, ClientError>,
    bundle: &[u8],
    retries: u32,
    mut on_chunk: impl FnMut(u32, u32),
) -> Result<FlashReport, ClientError> {
    let header = Header::peek(bundle)?;
    let payload = bundle.get(header.len..).unwrap_or_default();
    if payload.len() as u64 != header.manifest.payload_len() {
        return Err(sigil_bundle::BundleError::Truncated {
            what: "payload",
            need: header.manifest.payload_len(),
            have: payload.len() as u64,
        }
        .into());
    }
    let head = bundle.get(..header.len).unwrap_or_default();
    let mut sent = 0;
    let mut reconnects = 0;
    loop {
        let attempt = (|| -> Result<FlashReport, ClientError> {
            let mut c = connect()?;
            let (mut next, total) = c.begin(head)?;
            on_chunk(next, total);
            while next < total {
                let r = header
                    .manifest
                    .chunk_range(next as usize)
                    .ok_or_else(|| ClientError::Protocol(format!("no chunk {next}")))?;
                let bytes = payload
                    .get(r.start as usize..r.end as usize)
                    .unwrap_or_default();
                let (n, _) = c.call(Request::UpdateChunk { index: next, bytes }, progress)?;
                sent += 1;
                next = n;
                on_chunk(next, total);
            }
            let (slot, version) = c.call(Request::UpdateCommit, |r| match r {
                Response::UpdateStaged { slot, version } => Ok((slot, version)),
                other => Err(other),
            })?;
            let _ = send(&mut c.writer, &Envelope::request(0, Request::Bye));
            Ok(FlashReport {
                sent,
                total,
                reconnects,
                slot,
                version,
            })
        })();
        match attempt {
            Err(e) if e.is_link() && reconnects < retries => {
                reconnects += 1;
                std::thread::sleep(Duration::from_millis(200 * u64::from(reconnects)));
            }
            other => return other,
        }
    }
}
