//! The running image's digest: SHA-256 of the flash image as `objcopy -O binary` writes it
//! (vector table through the initial values of `.data`), so a host can compute the same
//! digest from the file it flashes.

use sha2::{Digest, Sha256};

unsafe extern "C" {
    static _stack_start: u32;
    static __sdata: u32;
    static __edata: u32;
    static __sidata: u32;
}

/// Bytes of flash the image takes: vector table, code, read-only data and `.data`'s initial
/// values.
pub fn len() -> usize {
    // Only the linker symbols' addresses are taken.
    let data_len = core::ptr::addr_of!(__edata) as usize - core::ptr::addr_of!(__sdata) as usize;
    core::ptr::addr_of!(__sidata) as usize + data_len
}

/// SHA-256 of the image.
pub fn digest() -> [u8; 32] {
    let stack_top = core::ptr::addr_of!(_stack_start) as usize;
    let end = len();
    let mut h = Sha256::new();
    // Word 0 is the initial stack pointer, as cortex-m-rt's link.x writes it. Flash starts at
    // address 0, which Rust cannot dereference, so the word is rebuilt rather than read.
    h.update(((stack_top & 0xFFFF_FFF8) as u32).to_le_bytes());
    // SAFETY: addresses 4..end are the image in the FLASH region (memory.x), mapped and never
    // written while the firmware runs.
    let rest = unsafe { core::slice::from_raw_parts(4 as *const u8, end.saturating_sub(4)) };
    h.update(rest);
    h.finalize().into()
}
