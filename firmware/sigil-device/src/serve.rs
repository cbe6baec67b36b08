//! `sigil serve`: the device protocol (`sigil-wire` over `sigil-link` frames) for field tools:
//! what the device runs, its log from a sequence number, one record, and updates into the A/B
//! slots (`sigil_seal::slots`), which are booted (health-checked, confirmed or rolled back)
//! when `serve` starts.
//!
//! One connection at a time; every read waits at most `--idle-s` seconds, so a host that stops
//! answering mid-transfer frees the device (the transfer resumes on the next connection).

use std::io::BufReader;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use sigil_link::{LinkError, MAX_FRAME, recv, send};
use sigil_provenance::{LogReader, Record};
use sigil_seal::DeviceState;
use sigil_seal::slots::{Booted, Slots};
use sigil_wire::{Body, Envelope, ErrorCode, Request, Response, WIRE_VERSION, decode_frame};

use crate::{exit, release};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to listen: `tcp:HOST:PORT` (port 0 picks a free one and prints it).
    #[arg(long)]
    listen: String,
    /// The device's state directory (as for `generate`).
    #[arg(long)]
    state: Option<PathBuf>,
    /// This device's hardware class: bundles for another class are refused.
    #[arg(long, default_value = "sigil-generic")]
    device_class: String,
    /// Seconds a connection may stay silent before the device drops it.
    #[arg(long, default_value_t = 30)]
    idle_s: u64,
    /// Serve this many connections, then exit (0: forever).
    #[arg(long, default_value_t = 0)]
    connections: u64,
    /// Where the trust core runs (as for `generate`).
    #[arg(long, default_value = "in-process")]
    trust_core: sigil_seal::TrustCoreAt,
}

struct Device {
    state: DeviceState,
    /// The update header being received in parts.
    header: Vec<u8>,
    slots: Option<Slots>,
    /// Why updates are refused, when `slots` is None.
    no_updates: String,
}

pub fn run(args: &Args) -> Result<u8> {
    let endpoint: sigil_link::Endpoint = args
        .listen
        .parse()
        .with_context(|| format!("--listen {}", args.listen))?;
    let state = release::open_state(args.state.as_deref(), &args.trust_core)?;
    let mut device = Device {
        header: Vec::new(),
        slots: None,
        no_updates: String::new(),
        state,
    };
    if device.state.chain_facts().self_issued {
        device.no_updates = "this device is not provisioned, so it knows no maker key to check bundles against: provision it (`sigil-host provision --state DIR --ca CA_DIR`)".into();
    } else {
        let maker = sigil_seal::cert::ca_key(&device.state.chain().ca)?;
        let mut slots = Slots::open(device.state.dir(), maker, &args.device_class)?;
        match slots.boot(health)? {
            Booted::Unchanged(_) => {}
            Booted::Confirmed { slot, version } => {
                eprintln!(
                    "sigil: booted the new slot {slot} (version {version}): health check passed, confirmed"
                );
            }
            Booted::RolledBack { slot, reason } => {
                eprintln!(
                    "sigil: the new slot {slot} failed its health check ({reason}): rolled back"
                );
            }
        }
        device.slots = Some(slots);
    }
    let idle = Duration::from_secs(args.idle_s.max(1));
    let addr = match endpoint {
        sigil_link::Endpoint::Tcp(a) => a,
        sigil_link::Endpoint::Serial { path, baud } => {
            return serve_serial(&mut device, &path, baud, idle);
        }
    };
    let listener =
        TcpListener::bind(&addr).with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    println!("sigil: listening on tcp:{local}");
    let mut served = 0u64;
    for conn in listener.incoming() {
        let Ok(stream) = conn else { continue };
        if let Err(e) = tcp_session(&mut device, stream, idle) {
            eprintln!("sigil: connection ended: {e}");
        }
        served += 1;
        if args.connections > 0 && served >= args.connections {
            break;
        }
    }
    Ok(exit::OK)
}

/// The health check of a freshly flashed slot: its bundle's model pack must open (every
/// tensor's digest) — what `generate` would load.
fn health(bundle: &std::path::Path) -> std::result::Result<(), String> {
    let bytes = std::fs::read(bundle).map_err(|e| e.to_string())?;
    let h = sigil_bundle::Header::peek(&bytes).map_err(|e| e.to_string())?;
    let start = h.len + h.manifest.firmware.len as usize;
    let model = bytes.get(start..).unwrap_or_default().to_vec();
    sigil_pack::Pack::from_bytes(model)
        .map(|_| ())
        .map_err(|e| format!("its model pack does not open: {e}"))
}

/// A serial line has no connections: one endless session. A silent line is waited on; a
/// broken frame is answered and skipped.
fn serve_serial(device: &mut Device, path: &str, baud: u32, idle: Duration) -> Result<u8> {
    let port = sigil_link::client::open_serial(path, baud, idle)?;
    let writer = port.try_clone_native()?;
    println!("sigil: listening on serial:{path}@{baud}");
    let mut reader = BufReader::with_capacity(MAX_FRAME, port);
    let mut writer = writer;
    loop {
        match session(device, &mut reader, &mut writer) {
            Ok(()) => {}
            Err(LinkError::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) => {}
            Err(LinkError::Closed) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                eprintln!("sigil: serial link: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn tcp_session(device: &mut Device, stream: TcpStream, idle: Duration) -> Result<(), LinkError> {
    stream.set_read_timeout(Some(idle))?;
    stream.set_write_timeout(Some(idle))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::with_capacity(MAX_FRAME, stream);
    session(device, &mut reader, &mut writer)
}

/// Answer requests until `Bye` or the link fails.
fn session<R: std::io::Read, W: std::io::Write>(
    device: &mut Device,
    reader: &mut BufReader<R>,
    writer: &mut W,
) -> Result<(), LinkError> {
    let mut buf = Vec::with_capacity(MAX_FRAME);
    loop {
        match recv(reader, &mut buf) {
            Ok(()) => {}
            Err(LinkError::TooLong) => {
                let e = Response::Error {
                    code: ErrorCode::FrameTooLarge,
                    detail: "frame longer than the device accepts",
                };
                send(writer, &Envelope::response(0, e))?;
                continue;
            }
            Err(e) => return Err(e),
        }
        let env = match decode_frame(&mut buf) {
            Ok(env) => env,
            Err(e) => {
                let detail = e.to_string();
                let code = match e {
                    sigil_wire::WireError::VersionMismatch { .. } => ErrorCode::VersionMismatch,
                    sigil_wire::WireError::UnknownVariant => ErrorCode::Unsupported,
                    _ => ErrorCode::BadRequest,
                };
                send(
                    writer,
                    &Envelope::response(
                        0,
                        Response::Error {
                            code,
                            detail: &detail,
                        },
                    ),
                )?;
                continue;
            }
        };
        let Body::Request(req) = env.body else {
            continue;
        };
        if matches!(req, Request::Bye) {
            return Ok(());
        }
        let mut scratch = Vec::new();
        let mut detail = String::new();
        let resp = answer(device, req, &mut scratch, &mut detail);
        send(writer, &Envelope::response(env.id, resp))?;
    }
}

/// The answer to one request. `scratch` and `detail` hold what the response borrows.
fn answer<'a>(
    device: &mut Device,
    req: Request<'_>,
    scratch: &'a mut Vec<u8>,
    detail: &'a mut String,
) -> Response<'a> {
    let refuse = |code, d: String, detail: &'a mut String| {
        *detail = d;
        Response::Error {
            code,
            detail: detail.as_str(),
        }
    };
    match req {
        Request::Hello { .. } => Response::Hello {
            device_version: WIRE_VERSION,
            max_frame: MAX_FRAME as u32,
        },
        Request::Info => Response::Info {
            firmware_digest: device.state.core().firmware_digest(),
            policy_digest: sigil_gate::POLICY_DIGEST,
            device_key: device.state.sealer_key(),
        },
        Request::GetRecord { seq } => match device.state.record(seq) {
            Ok(Some(r)) => {
                *scratch = r.to_bytes().to_vec();
                Response::Record { record: scratch }
            }
            Ok(None) => refuse(ErrorCode::NotFound, format!("the log holds no record {seq}"), detail),
            Err(e) => refuse(ErrorCode::Internal, e.to_string(), detail),
        },
        Request::ReadLog {
            from_seq,
            max_records,
        } => {
            let path = device.state.dir().join(sigil_seal::LOG_FILE);
            let log = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => return refuse(ErrorCode::Internal, format!("{}: {e}", path.display()), detail),
            };
            let max = usize::from(max_records.clamp(1, 128));
            let mut first = None;
            let mut n = 0;
            let mut more = false;
            for e in LogReader::new(&log).filter_map(Result::ok) {
                let Ok(r) = Record::decode(e.bytes) else { continue };
                if r.body().seq < from_seq {
                    continue;
                }
                if n == max {
                    more = true;
                    break;
                }
                first.get_or_insert(r.body().seq);
                scratch.extend_from_slice(log.get(e.offset..e.offset + e.frame_len()).unwrap_or_default());
                n += 1;
            }
            Response::LogChunk {
                first_seq: first.unwrap_or(from_seq),
                records: scratch,
                more,
            }
        }
        Request::UpdateBegin {
            header_len,
            offset,
            part,
        } => match &mut device.slots {
            None => refuse(ErrorCode::UpdateRefused, device.no_updates.clone(), detail),
            Some(_) if header_len as usize > sigil_bundle::MAX_MANIFEST + 1024 => refuse(
                ErrorCode::UpdateRefused,
                format!("a {header_len}-byte bundle header is larger than any bundle's"),
                detail,
            ),
            Some(_) if offset as usize != device.header.len() && offset != 0 => refuse(
                ErrorCode::BadRequest,
                format!(
                    "header part at {offset}, the device holds {} bytes of it: send from there",
                    device.header.len()
                ),
                detail,
            ),
            Some(s) => {
                if offset == 0 {
                    device.header.clear();
                }
                device.header.extend_from_slice(part);
                if device.header.len() < header_len as usize {
                    return Response::UpdateProgress {
                        next_chunk: 0,
                        total: 0,
                    };
                }
                let header = std::mem::take(&mut device.header);
                match s.begin(&header) {
                Ok(p) => Response::UpdateProgress {
                    next_chunk: p.next_chunk,
                    total: p.total,
                },
                    Err(e) => refuse(ErrorCode::UpdateRefused, e.to_string(), detail),
                }
            }
        },
        Request::UpdateChunk { index, bytes } => match &mut device.slots {
            None => refuse(ErrorCode::UpdateRefused, device.no_updates.clone(), detail),
            Some(s) => match s.put(index, bytes) {
                Ok(p) => Response::UpdateProgress {
                    next_chunk: p.next_chunk,
                    total: p.total,
                },
                Err(e) => refuse(ErrorCode::UpdateRefused, e.to_string(), detail),
            },
        },
        Request::UpdateCommit => match &mut device.slots {
            None => refuse(ErrorCode::UpdateRefused, device.no_updates.clone(), detail),
            Some(s) => match s.commit() {
                Ok(p) => Response::UpdateStaged {
                    slot: p.slot,
                    version: p.version,
                },
                Err(e) => refuse(ErrorCode::UpdateRefused, e.to_string(), detail),
            },
        },
        Request::Check { .. } | Request::Admit { .. } | Request::AdmitRead { .. } | Request::Seal { .. } => refuse(
            ErrorCode::Unsupported,
            "this device runs its trust core in-process: `serve` neither gates nor seals for a host".into(),
            detail,
        ),
        Request::Bye => refuse(ErrorCode::BadRequest, "bye".into(), detail),
        Request::Head | Request::SignCredential { .. } => refuse(
            ErrorCode::Unsupported,
            "the device program does not sign for a host: its trust core does (`--trust-core`)"
                .into(),
            detail,
        ),
    }
}
