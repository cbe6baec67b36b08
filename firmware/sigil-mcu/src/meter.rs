//! Rough cost figures: instructions per request from SysTick under QEMU's `-icount`, and the
//! stack's high-water mark from a painted stack.
//!
//! With `-icount shift=0` QEMU advances its virtual clock by 1 ns per instruction, and SysTick
//! counts the board's clock on that virtual time. [`Meter::new`] calibrates ticks against a
//! delay loop of known length, so [`Meter::instructions`] needs no assumption about the clock.

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;

const RELOAD: u32 = 0x00FF_FFFF;
const PAINT: u32 = 0x5167_11AC;
/// Instructions in the calibration loop (`asm::delay` runs about one instruction per cycle
/// asked for).
const CALIBRATION: u32 = 4_000_000;

unsafe extern "C" {
    static _stack_start: u32;
    static _stack_end: u32;
    static __sdata: u32;
    static __euninit: u32;
}

/// SysTick as a free-running down-counter.
pub struct Meter {
    _syst: SYST,
    /// Instructions per 1024 ticks.
    per_1024_ticks: u64,
}

impl Meter {
    /// Start SysTick on the processor clock and calibrate it.
    pub fn new(mut syst: SYST) -> Self {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        syst.enable_counter();
        let start = SYST::get_current();
        cortex_m::asm::delay(CALIBRATION);
        let ticks = u64::from(elapsed(start)).max(1);
        Self {
            _syst: syst,
            per_1024_ticks: u64::from(CALIBRATION) * 1024 / ticks,
        }
    }

    /// Now, for [`Meter::instructions`].
    pub fn start(&self) -> u32 {
        SYST::get_current()
    }

    /// Instructions since `start` (one SysTick wrap at most: about 16.7 M ticks).
    pub fn instructions(&self, start: u32) -> u64 {
        u64::from(elapsed(start)) * self.per_1024_ticks / 1024
    }
}

fn elapsed(start: u32) -> u32 {
    start.wrapping_sub(SYST::get_current()) & RELOAD
}

fn stack_bounds() -> (usize, usize) {
    // Only the addresses of the linker's stack symbols are taken, never their contents.
    (
        core::ptr::addr_of!(_stack_end) as usize,
        core::ptr::addr_of!(_stack_start) as usize,
    )
}

/// Fill the unused stack below the current frame with a known word.
pub fn paint_stack() {
    let (bottom, _) = stack_bounds();
    let sp = cortex_m::register::msp::read() as usize;
    let mut at = bottom;
    // Leave 256 bytes below the stack pointer alone: this function's own frame lives there.
    while at + 4 <= sp.saturating_sub(256) {
        // SAFETY: `at` lies between the end of the statics (`_stack_end`) and 256 bytes below
        // the live stack pointer: stack memory nothing uses yet, word-aligned.
        unsafe { core::ptr::write_volatile(at as *mut u32, PAINT) };
        at += 4;
    }
}

/// The deepest the stack has reached since [`paint_stack`], in bytes.
pub fn stack_peak() -> usize {
    let (bottom, top) = stack_bounds();
    let mut at = bottom;
    while at < top {
        // SAFETY: `at` is a word-aligned address inside the stack region, always mapped RAM.
        if unsafe { core::ptr::read_volatile(at as *const u32) } != PAINT {
            break;
        }
        at += 4;
    }
    top - at
}

/// RAM the statics take (`.data`, `.bss`, `.uninit`), in bytes.
pub fn statics() -> usize {
    core::ptr::addr_of!(__euninit) as usize - core::ptr::addr_of!(__sdata) as usize
}

/// RAM reserved for the stack (memory.x), in bytes.
pub fn stack_reserved() -> usize {
    let (bottom, top) = stack_bounds();
    top - bottom
}
