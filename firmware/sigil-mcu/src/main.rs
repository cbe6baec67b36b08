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
use sigil_gate::rate::RateState;
use sigil_gate::{Gate, POLICY_DIGEST, RateConfig, RateLimiter, Scratch};
use sigil_provenance::{Record, RecordError, SealError, Sealer, SigningKey};
use sigil_wire::{Body, Envelope, Feed, FrameAccumulator, WireError};
use static_cell::{ConstStaticCell, StaticCell};

use crate::meter::Meter;
use crate::store::{SavedRates, Store, StoreError};
use crate::uart::Uart;

/// The longest frame received: a prompt at the gate's limit (4 KiB) in an `Admit`, its user id
/// and envelope, COBS overhead included; also bounds a credential to sign.
const RX: usize = 4352;
/// The longest response: a sealed record (379 bytes) or an error detail (240), framed.
const TX: usize = 512;
const TICKETS: usize = 4;
const USERS: usize = 8;
/// Tokens each bucket is saved below its real content: one rate-page write per this many
/// tokens any one bucket spends (the wear bound); a reboot forfeits at most this many.
const RATE_RESERVE: u32 = 4;

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

/// A fault ends the core with a line on the console (and an exit QEMU reports), instead of
/// the runtime's silent spin. A stack overflow cannot get here: the stack sits below RAM's
/// start (memory.x), so stacking the exception itself fails and the core locks up; the host
/// sees its link time out.
// SAFETY: cortex-m-rt requires the handler to be an `unsafe fn`; it only reads the frame the
// hardware stacked, writes the console and never returns to the faulting code.
#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    semi::log(format_args!(
        "sigil-mcu: hard fault at pc {:#010x} (lr {:#010x})",
        frame.pc(),
        frame.lr()
    ));
    semi::exit_failure()
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

type McuCore = Core<&'static mut Scratch, TICKETS, USERS>;

static CORE: StaticCell<McuCore> = StaticCell::new();

/// What the request loop works with.
struct Board {
    meter: Meter,
    store: Store,
    core: &'static mut McuCore,
    /// Neither rate page was intact: the buckets start empty at the first admission's time.
    rates_lost: bool,
}

/// Everything before the first request, in its own frame: its temporaries are off the stack
/// before the loop runs. Each step below is a frame of its own too, so their stack peaks do
/// not add up (with LTO they would otherwise share one frame).
#[inline(never)]
fn boot() -> Result<Board, Halt> {
    let peripherals = cortex_m::Peripherals::take().ok_or(Halt::Peripherals)?;
    let meter = Meter::new(peripherals.SYST);
    let (mut store, seed, new_key, last) = open_flash()?;
    let firmware = image::digest();
    let sealer = make_sealer(&seed, firmware, last.as_ref())?;
    log_up(&sealer, new_key, &firmware);
    let (core, rates_lost) = install_core(sealer, last.as_ref(), &mut store)?;
    Ok(Board {
        meter,
        store,
        core,
        rates_lost,
    })
}

/// The core, built in its static, with the rate limiter the flash's rate pages give (in a frame
/// of its own, after the key derivation, so their copies never add to that peak). Also says
/// whether the saved buckets were lost.
#[inline(never)]
fn install_core(
    sealer: Sealer,
    last: Option<&Record>,
    store: &mut Store,
) -> Result<(&'static mut McuCore, bool), Halt> {
    let rates = store.rates::<USERS>().map_err(Halt::Store)?;
    semi::log(format_args!(
        "sigil-mcu: rates={}",
        match rates {
            SavedRates::Erased => "full",
            SavedRates::Saved(_) => "from_flash",
            SavedRates::Damaged => "lost_start_empty",
        }
    ));
    let lost = matches!(rates, SavedRates::Damaged);
    let limiter = match rates {
        // The clock is the host's; stamps are kept as saved and refill from there.
        SavedRates::Saved(state) => RateLimiter::restore(RateConfig::default(), state, u64::MAX),
        SavedRates::Erased | SavedRates::Damaged => RateLimiter::new(RateConfig::default()),
    };
    let core = CORE.init_with(|| {
        Core::new(
            sealer,
            Gate::with_rates(limiter),
            SCRATCH.take(),
            FrameAccumulator::<RX>::MAX_FRAME as u32,
            last,
        )
    });
    Ok((core, lost))
}

/// Save the buckets when the rate pages would grant more than the limiter holds (a token was
/// spent below the reserve). The saved copy is read back from flash rather than kept in RAM
/// (every byte of the 64 KiB is spoken for). Returns whether it wrote.
#[inline(never)]
fn keep_rates(core: &McuCore, store: &mut Store) -> Result<bool, StoreError> {
    let live = core.gate().rates();
    let Some(now) = live.last_take_ms() else {
        return Ok(false);
    };
    let saved = match store.rates::<USERS>()? {
        SavedRates::Saved(state) => state,
        SavedRates::Erased | SavedRates::Damaged => RateState::default(),
    };
    if live.covered_by(&saved, now) {
        return Ok(false);
    }
    store.save_rates(&live.reserved_state(RATE_RESERVE, now))?;
    Ok(true)
}

/// The flash: its store, the key seed, whether the key is new, the last record.
#[inline(never)]
fn open_flash() -> Result<(Store, [u8; 32], bool, Option<Record>), Halt> {
    let (store, flash) = Store::open().map_err(Halt::Store)?;
    let last = flash
        .last
        .as_ref()
        .map(|bytes| Record::decode(bytes))
        .transpose()
        .map_err(Halt::Record)?;
    Ok((store, flash.seed, flash.new_key, last))
}

/// The sealer for `seed`, resumed after `last` (whose signature it checks).
#[inline(never)]
fn make_sealer(seed: &[u8; 32], firmware: [u8; 32], last: Option<&Record>) -> Result<Sealer, Halt> {
    let key = SigningKey::from_bytes(seed);
    match last {
        None => Ok(Sealer::new(key, firmware, POLICY_DIGEST)),
        Some(r) => Sealer::resume(key, firmware, POLICY_DIGEST, r).map_err(Halt::Chain),
    }
}

#[inline(never)]
fn log_up(sealer: &Sealer, new_key: bool, firmware: &[u8; 32]) {
    let public = sealer.verifying_key().to_bytes();
    semi::log(format_args!(
        "sigil-mcu: up: key={:02x}{:02x}{:02x}{:02x}… ({}) next_seq={} digest={:02x}{:02x}{:02x}{:02x}… image={} statics={} stack={} stack_peak={}",
        public[0],
        public[1],
        public[2],
        public[3],
        if new_key { "made now" } else { "from flash" },
        sealer.next_seq(),
        firmware[0],
        firmware[1],
        firmware[2],
        firmware[3],
        image::len(),
        meter::statics(),
        meter::stack_reserved(),
        meter::stack_peak(),
    ));
}

fn run() -> Result<Infallible, Halt> {
    let Board {
        meter,
        mut store,
        core,
        mut rates_lost,
    } = boot()?;
    let mut rate_saves = 0u32;
    // From here on the high-water mark is the request loop's (boot's is on the "up" line).
    meter::paint_stack();
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
            if rates_lost
                && let Ok(Envelope {
                    body: Body::Request(sigil_wire::Request::Admit { now_ms, .. }),
                    ..
                }) = &decoded
            {
                // The saved buckets are lost and may have been empty: start them empty now.
                *core.gate_mut() =
                    Gate::with_rates(RateLimiter::exhausted(RateConfig::default(), *now_ms));
                rates_lost = false;
            }
            let started = meter.start();
            let served = answer(core, decoded, tx).map_err(Halt::Serve)?;
            let instructions = meter.instructions(started);
            if served.sealed
                && let Some(record) = core.last_record()
            {
                store.save(record).map_err(Halt::Store)?;
            }
            // Before the response leaves, like the record.
            if keep_rates(core, &mut store).map_err(Halt::Store)? {
                rate_saves += 1;
            }
            uart.write(tx.get(..served.len).unwrap_or_default());
            semi::log(format_args!(
                "sigil-mcu: op={op} instructions={instructions} stack_peak={} rate_saves={rate_saves}",
                meter::stack_peak()
            ));
            input = remaining;
        }
    }
}

/// One request, in a frame of its own: the loop's frame (under which `boot` also runs) stays
/// small, and only the request being answered has its locals on the stack.
#[inline(never)]
fn answer(
    core: &mut McuCore,
    decoded: Result<Envelope<'_>, WireError>,
    tx: &mut [u8],
) -> Result<sigil_core::Served, ServeError> {
    respond(core, decoded, tx)
}

fn op_name(decoded: &Result<Envelope<'_>, WireError>) -> &'static str {
    match decoded {
        Ok(Envelope {
            body: Body::Request(r),
            ..
        }) => r.name(),
        Ok(_) => "response",
        Err(_) => "undecodable",
    }
}
