//! The trust core on a microcontroller: `sigil-core` behind `sigil-wire` frames on UART0.
//!
//! Boot: paint the stack, calibrate the instruction meter, open the flash (making the device
//! key from the TRNG on first boot), hash the image, resume the chain from the last record in
//! flash. Then answer frames forever. A sealed record is written to flash before its response
//! leaves. One log line per request on the semihosting console: what it was, its instruction
//! count and the stack's high-water mark.
#![no_std]
#![no_main]

mod image;
mod meter;
mod semi;
mod store;
mod uart;

use core::convert::Infallible;

use cortex_m_rt::entry;
use sigil_core::{Core, ServeError, respond};
use sigil_gate::{Gate, POLICY_DIGEST, RateConfig, Scratch};
use sigil_provenance::{Record, RecordError, SealError, Sealer, SigningKey};
use sigil_wire::{Body, Envelope, Feed, FrameAccumulator, Request, WireError};
use static_cell::ConstStaticCell;

use crate::meter::Meter;
use crate::store::{Store, StoreError};
use crate::uart::Uart;

/// The longest frame received: a prompt at the gate's limit (4 KiB) in an `Admit`, its user id
/// and envelope, COBS overhead included; also bounds a credential to sign.
const RX: usize = 4608;
/// The longest response: a sealed record (379 bytes) or an error detail, framed.
const TX: usize = 768;
const TICKETS: usize = 4;
const USERS: usize = 8;

static SCRATCH: ConstStaticCell<Scratch> = ConstStaticCell::new(Scratch::new());
static RX_BUF: ConstStaticCell<FrameAccumulator<RX>> =
    ConstStaticCell::new(FrameAccumulator::new());
static TX_BUF: ConstStaticCell<[u8; TX]> = ConstStaticCell::new([0; TX]);

#[entry]
fn main() -> ! {
    meter::paint_stack();
    match run() {
        Ok(never) => match never {},
        Err(why) => {
            semi::log(format_args!("sigil-mcu: halted: {why}"));
            semi::exit_failure()
        }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    semi::log(format_args!("sigil-mcu: panic: {info}"));
    semi::exit_failure()
}

/// Why the core stopped.
enum Halt {
    Peripherals,
    Store(StoreError),
    Record(RecordError),
    Chain(SealError),
    Serve(ServeError),
}

impl core::fmt::Display for Halt {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Halt::Peripherals => f.write_str("core peripherals already taken"),
            Halt::Store(e) => write!(f, "{e}"),
            Halt::Record(e) => write!(f, "the last record in flash does not decode: {e}"),
            Halt::Chain(e) => write!(f, "cannot resume the chain: {e}"),
            Halt::Serve(e) => write!(f, "{e}"),
        }
    }
}

fn run() -> Result<Infallible, Halt> {
    let peripherals = cortex_m::Peripherals::take().ok_or(Halt::Peripherals)?;
    let meter = Meter::new(peripherals.SYST);
    let (mut store, flash) = Store::open().map_err(Halt::Store)?;
    let key = SigningKey::from_bytes(&flash.seed);
    let firmware = image::digest();
    let last = flash
        .last
        .as_ref()
        .map(|bytes| Record::decode(bytes))
        .transpose()
        .map_err(Halt::Record)?;
    let sealer = match &last {
        None => Sealer::new(key, firmware, POLICY_DIGEST),
        Some(r) => Sealer::resume(key, firmware, POLICY_DIGEST, r).map_err(Halt::Chain)?,
    };
    let public = sealer.verifying_key().to_bytes();
    semi::log(format_args!(
        "sigil-mcu: up: key {:02x}{:02x}{:02x}{:02x}… ({}), next seq {}, image {:02x}{:02x}{:02x}{:02x}…, statics {} B",
        public[0],
        public[1],
        public[2],
        public[3],
        if flash.new_key { "made now" } else { "from flash" },
        sealer.next_seq(),
        firmware[0],
        firmware[1],
        firmware[2],
        firmware[3],
        meter::statics(),
    ));
    let mut core: Core<&'static mut Scratch, TICKETS, USERS> = Core::new(
        sealer,
        Gate::new(RateConfig::default()),
        SCRATCH.take(),
        FrameAccumulator::<RX>::MAX_FRAME as u32,
        last.as_ref(),
    );
    let rx = RX_BUF.take();
    let tx = TX_BUF.take();
    let mut uart = Uart::uart0();
    loop {
        let byte = [uart.read_byte()];
        let mut input = &byte[..];
        loop {
            let (decoded, remaining) = match rx.feed(input) {
                Feed::Consumed => break,
                Feed::Frame {
                    envelope,
                    remaining,
                } => (Ok(envelope), remaining),
                Feed::Error { error, remaining } => (Err(error), remaining),
            };
            let op = op_name(&decoded);
            let started = meter.start();
            let served = respond(&mut core, decoded, tx).map_err(Halt::Serve)?;
            let instructions = meter.instructions(started);
            if served.sealed {
                if let Some(record) = core.last_record() {
                    store.save(record).map_err(Halt::Store)?;
                }
            }
            uart.write(tx.get(..served.len).unwrap_or_default());
            semi::log(format_args!(
                "sigil-mcu: op={op} instructions={instructions} stack_peak={} statics={}",
                meter::stack_peak(),
                meter::statics()
            ));
            input = remaining;
        }
    }
}

fn op_name(decoded: &Result<Envelope<'_>, WireError>) -> &'static str {
    match decoded {
        Ok(Envelope {
            body: Body::Request(r),
            ..
        }) => match r {
            Request::Hello { .. } => "hello",
            Request::Info => "info",
            Request::Check { .. } => "check",
            Request::Admit { .. } => "admit",
            Request::Seal { .. } => "seal",
            Request::ReadLog { .. } => "read_log",
            Request::Bye => "bye",
            Request::GetRecord { .. } => "get_record",
            Request::UpdateBegin { .. } => "update_begin",
            Request::UpdateChunk { .. } => "update_chunk",
            Request::UpdateCommit => "update_commit",
            Request::Head => "head",
            Request::SignCredential { .. } => "sign_credential",
        },
        Ok(_) => "response",
        Err(_) => "undecodable",
    }
}
