//! Semihosting, the emulated board's link to its host: the log console, the entropy source
//! (the host's /dev/urandom stands in for a TRNG peripheral) and the file that holds the
//! board's persistent flash pages. On a real board each is a peripheral (RTT/defmt, TRNG,
//! internal flash); nothing else in the firmware knows the difference.

use core::ffi::CStr;
use core::fmt::Write as _;

use cortex_m_semihosting::{nr, syscall, syscall1};

/// The longest log line; longer ones are cut.
const LINE: usize = 224;

/// Write one line to the host's console. The line is formatted into a small buffer and sent
/// with one SYS_WRITE0: cheap in stack (the console stream of `cortex-m-semihosting` took
/// 2.3 KiB per call), and a missing console is not an error.
pub fn log(args: core::fmt::Arguments<'_>) {
    let mut line = heapless::String::<LINE>::new();
    let _ = line.write_fmt(args);
    while line.len() > LINE - 2 {
        line.pop();
    }
    let _ = line.push_str("\n\0");
    // SAFETY: SYS_WRITE0 reads the NUL-terminated string at the pointer, which `line` holds
    // (the NUL was just pushed) and outlives the call.
    unsafe {
        let _ = syscall1!(WRITE0, line.as_ptr());
    }
}

/// A host file opened through semihosting.
#[derive(Debug)]
pub struct File(usize);

impl File {
    /// Open `path` with a semihosting open mode (`nr::open::*`).
    pub fn open(path: &CStr, mode: usize) -> Option<Self> {
        let len = path.to_bytes().len();
        // SAFETY: SYS_OPEN reads `len` bytes of the NUL-terminated `path`, which outlives the
        // call; it writes nothing to target memory.
        let handle = unsafe { syscall!(OPEN, path.as_ptr(), mode, len) } as isize;
        usize::try_from(handle).ok().map(File)
    }

    /// Move to byte `at`.
    pub fn seek(&self, at: usize) -> bool {
        // SAFETY: SYS_SEEK takes a handle this File owns and touches no target memory.
        unsafe { syscall!(SEEK, self.0, at) == 0 }
    }

    /// Read up to `buf.len()` bytes; returns how many arrived.
    pub fn read(&self, buf: &mut [u8]) -> usize {
        // SAFETY: SYS_READ writes at most `buf.len()` bytes into `buf`, which is borrowed
        // mutably for the call; it returns the number of bytes NOT read.
        let missing = unsafe { syscall!(READ, self.0, buf.as_mut_ptr(), buf.len()) };
        buf.len().saturating_sub(missing)
    }

    /// Write all of `bytes`.
    pub fn write(&self, bytes: &[u8]) -> bool {
        // SAFETY: SYS_WRITE reads `bytes.len()` bytes from `bytes`, borrowed for the call; it
        // returns the number of bytes NOT written.
        unsafe { syscall!(WRITE, self.0, bytes.as_ptr(), bytes.len()) == 0 }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // SAFETY: closes the handle this File owns; nothing uses it afterwards.
        let _ = unsafe { syscall!(CLOSE, self.0) };
    }
}

/// Fill `out` from the entropy source; `false` if it is missing or short.
pub fn entropy(out: &mut [u8]) -> bool {
    match File::open(c"/dev/urandom", nr::open::R_BINARY) {
        Some(f) => f.read(out) == out.len(),
        None => false,
    }
}

/// End the emulation with a failure status (a real board would reset).
pub fn exit_failure() -> ! {
    cortex_m_semihosting::debug::exit(cortex_m_semihosting::debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
