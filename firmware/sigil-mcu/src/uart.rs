//! UART0 of the MPS2 boards: an Arm CMSDK APB UART (one-byte buffers, polled).

/// Base address of UART0 on MPS2 AN385/AN386 (QEMU connects its first `-serial` here).
const UART0: usize = 0x4000_4000;
const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;
const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;

/// The wire link.
#[derive(Debug)]
pub struct Uart {
    base: usize,
}

impl Uart {
    /// Enable UART0's transmitter and receiver. The divisor is the smallest the CMSDK UART
    /// allows; QEMU moves bytes as fast as its chardev takes them whatever it is.
    pub fn uart0() -> Self {
        let uart = Self { base: UART0 };
        uart.write_reg(BAUDDIV, 16);
        uart.write_reg(CTRL, CTRL_TX_EN | CTRL_RX_EN);
        uart
    }

    fn read_reg(&self, offset: usize) -> u32 {
        // SAFETY: `base + offset` is one of UART0's 32-bit registers (CMSDK APB UART, MPS2
        // memory map), always mapped; reading it has no effect beyond the UART's own state.
        unsafe { core::ptr::read_volatile((self.base + offset) as *const u32) }
    }

    fn write_reg(&self, offset: usize, value: u32) {
        // SAFETY: as in `read_reg`; this driver is the only user of UART0.
        unsafe { core::ptr::write_volatile((self.base + offset) as *mut u32, value) }
    }

    /// Wait for the next received byte.
    pub fn read_byte(&mut self) -> u8 {
        while self.read_reg(STATE) & STATE_RX_FULL == 0 {}
        (self.read_reg(DATA) & 0xFF) as u8
    }

    /// Send `bytes`, waiting for room before each.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            while self.read_reg(STATE) & STATE_TX_FULL != 0 {}
            self.write_reg(DATA, u32::from(b));
        }
    }
}
