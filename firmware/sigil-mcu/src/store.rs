//! The trust core's own flash: one key page, two record pages and two rate pages.
//!
//! ```text
//! offset    0  key page     "SGMK" 1 0 0 0 ‖ seed[32] ‖ CRC-32 (of the 40 bytes before)
//! offset  512  record page  "SGMR" 1 0 0 0 ‖ counter u64 LE ‖ record[379] ‖ CRC-32
//! offset 1024  record page  (same layout)
//! offset 1536  rate page    "SGMB" 1 0 0 0 ‖ counter u64 LE ‖ len u16 LE ‖ postcard(RateState)
//!                           ‖ zero padding ‖ CRC-32 (of the 508 bytes before)
//! offset 2048  rate page    (same layout)
//! ```
//!
//! The rate pages hold the rate limiter's buckets, saved with a reserve (see
//! `sigil_gate::RateLimiter::reserved_state`) so that a reboot never refills a bucket and a run
//! of requests costs one page write per few tokens spent. A flash of an earlier layout (three
//! pages) gets erased rate pages: its buckets start full once, as they did before.
//!
//! An erased page reads all 0xFF. The key page is written once, at first boot, from the
//! entropy source; a damaged key page stops the core (a new key would fork the chain). Each
//! sealed record goes to the record page *not* holding the newest one, with a higher counter,
//! before its response leaves: a write cut by power loss damages only that page, and the other
//! still holds the record before it, which the host never received.

use cortex_m_semihosting::nr;
use sigil_gate::rate::RateState;
use sigil_provenance::RECORD_LEN;

use crate::semi::{File, entropy};

const FLASH_FILE: &core::ffi::CStr = c"sigil-mcu.flash";
const PAGE: usize = 512;
const FLASH_LEN: usize = 5 * PAGE;
const RATE_PAGES: [usize; 2] = [3, 4];
const RATE_MAGIC: [u8; 4] = *b"SGMB";
const RATE_HEADER: usize = 8 + 8 + 2;
const KEY_MAGIC: [u8; 4] = *b"SGMK";
const RECORD_MAGIC: [u8; 4] = *b"SGMR";
const LAYOUT: [u8; 4] = [1, 0, 0, 0];
const KEY_LEN: usize = 8 + 32 + 4;
const RECORD_PAGE_LEN: usize = 8 + 8 + RECORD_LEN + 4;
static CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Why the store cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    /// The flash could not be opened, read or written.
    Flash(&'static str),
    /// No entropy for a first key.
    NoEntropy,
    /// The key page is neither erased nor valid.
    DamagedKey,
}

impl core::fmt::Display for StoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StoreError::Flash(what) => write!(f, "flash {what} failed"),
            StoreError::NoEntropy => f.write_str(
                "no entropy for the device key: the TRNG (here: the host's /dev/urandom) is missing",
            ),
            StoreError::DamagedKey => f.write_str(
                "the key page is damaged: refusing to make a new key (it would fork the record \
                 chain); re-provision the device",
            ),
        }
    }
}

/// The rate limiter's buckets as the flash held them at boot.
#[derive(Debug)]
pub enum SavedRates<const USERS: usize> {
    /// Never saved (a new or older flash): the buckets start full.
    Erased,
    /// The newest intact copy.
    Saved(RateState<USERS>),
    /// Written, but neither copy is intact: the buckets may have been empty, so they must
    /// start empty.
    Damaged,
}

/// The open flash.
#[derive(Debug)]
pub struct Store {
    file: File,
    /// The page the next record goes to.
    next_page: usize,
    counter: u64,
    /// The rate page the next save goes to, and the counter of the newest.
    next_rate_page: usize,
    rate_counter: u64,
}

/// What the flash held at boot.
#[derive(Debug)]
pub struct Contents {
    /// The device key's seed.
    pub seed: [u8; 32],
    /// Whether it was made at this boot.
    pub new_key: bool,
    /// The last record sealed, if any.
    pub last: Option<[u8; RECORD_LEN]>,
}

impl Store {
    /// Open the flash (erased on first use), make the key if there is none, and find the
    /// newest record.
    pub fn open() -> Result<(Self, Contents), StoreError> {
        let file = match File::open(FLASH_FILE, nr::open::RW_BINARY) {
            Some(f) => f,
            None => {
                let f = File::open(FLASH_FILE, nr::open::RW_TRUNC_BINARY)
                    .ok_or(StoreError::Flash("open"))?;
                for _ in 0..FLASH_LEN / PAGE {
                    if !f.write(&[0xFF; PAGE]) {
                        return Err(StoreError::Flash("erase"));
                    }
                }
                f
            }
        };
        let mut store = Self {
            file,
            next_page: 1,
            counter: 0,
            next_rate_page: RATE_PAGES[0],
            rate_counter: 0,
        };
        store.extend_to_layout()?;
        let (seed, new_key) = store.key()?;
        let mut newest: Option<(u64, usize, [u8; RECORD_LEN])> = None;
        for page in 1..=2 {
            if let Some((counter, record)) = store.record_page(page)?
                && newest.as_ref().is_none_or(|(c, _, _)| counter > *c)
            {
                newest = Some((counter, page, record));
            }
        }
        let last = newest.map(|(counter, page, record)| {
            store.counter = counter;
            store.next_page = 3 - page;
            record
        });
        Ok((
            store,
            Contents {
                seed,
                new_key,
                last,
            },
        ))
    }

    /// A flash written by an earlier layout is shorter: erase the pages it lacks.
    fn extend_to_layout(&self) -> Result<(), StoreError> {
        let mut probe = [0u8; 1];
        for page in 0..FLASH_LEN / PAGE {
            if self.file.seek(page * PAGE) && self.file.read(&mut probe) == 1 {
                continue;
            }
            if !self.file.seek(page * PAGE) || !self.file.write(&[0xFF; PAGE]) {
                return Err(StoreError::Flash("erase"));
            }
        }
        Ok(())
    }

    /// The rate limiter's buckets, from the newer intact rate page.
    pub fn rates<const USERS: usize>(&mut self) -> Result<SavedRates<USERS>, StoreError> {
        let mut newest: Option<(u64, usize, RateState<USERS>)> = None;
        let mut written = false;
        for page in RATE_PAGES {
            let mut bytes = [0u8; PAGE];
            self.read_at(page * PAGE, &mut bytes)?;
            if bytes.iter().all(|&b| b == 0xFF) {
                continue;
            }
            written = true;
            let body = PAGE - 4;
            let crc = CRC.checksum(&bytes[..body]).to_le_bytes();
            if bytes[..4] != RATE_MAGIC || bytes[4..8] != LAYOUT || bytes[body..] != crc {
                continue;
            }
            let counter = u64::from_le_bytes([
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14],
                bytes[15],
            ]);
            let len = usize::from(u16::from_le_bytes([bytes[16], bytes[17]]));
            let Some(payload) = bytes.get(RATE_HEADER..RATE_HEADER + len) else {
                continue;
            };
            let Ok(state) = postcard::from_bytes::<RateState<USERS>>(payload) else {
                continue;
            };
            if newest.as_ref().is_none_or(|(c, _, _)| counter > *c) {
                newest = Some((counter, page, state));
            }
        }
        Ok(match newest {
            Some((counter, page, state)) => {
                self.rate_counter = counter;
                self.next_rate_page = if page == RATE_PAGES[0] {
                    RATE_PAGES[1]
                } else {
                    RATE_PAGES[0]
                };
                SavedRates::Saved(state)
            }
            None if written => SavedRates::Damaged,
            None => SavedRates::Erased,
        })
    }

    /// Keep `state` as the newest buckets, in the rate page not holding the current newest.
    pub fn save_rates<const USERS: usize>(
        &mut self,
        state: &RateState<USERS>,
    ) -> Result<(), StoreError> {
        let mut bytes = [0u8; PAGE];
        let body = PAGE - 4;
        let len = postcard::to_slice(state, &mut bytes[RATE_HEADER..body])
            .map_err(|_| StoreError::Flash("encode rates"))?
            .len();
        let counter = self.rate_counter + 1;
        bytes[..4].copy_from_slice(&RATE_MAGIC);
        bytes[4..8].copy_from_slice(&LAYOUT);
        bytes[8..16].copy_from_slice(&counter.to_le_bytes());
        bytes[16..18].copy_from_slice(&(len as u16).to_le_bytes());
        let crc = CRC.checksum(&bytes[..body]);
        bytes[body..].copy_from_slice(&crc.to_le_bytes());
        self.write_at(self.next_rate_page * PAGE, &bytes)?;
        self.rate_counter = counter;
        self.next_rate_page = if self.next_rate_page == RATE_PAGES[0] {
            RATE_PAGES[1]
        } else {
            RATE_PAGES[0]
        };
        Ok(())
    }

    fn read_at(&self, at: usize, buf: &mut [u8]) -> Result<(), StoreError> {
        if !self.file.seek(at) || self.file.read(buf) != buf.len() {
            return Err(StoreError::Flash("read"));
        }
        Ok(())
    }

    fn write_at(&self, at: usize, bytes: &[u8]) -> Result<(), StoreError> {
        if !self.file.seek(at) || !self.file.write(bytes) {
            return Err(StoreError::Flash("write"));
        }
        Ok(())
    }

    fn key(&mut self) -> Result<([u8; 32], bool), StoreError> {
        let mut page = [0; KEY_LEN];
        self.read_at(0, &mut page)?;
        if page.iter().all(|&b| b == 0xFF) {
            let mut seed = [0; 32];
            if !entropy(&mut seed) || seed.iter().all(|&b| b == seed[0]) {
                return Err(StoreError::NoEntropy);
            }
            page[..4].copy_from_slice(&KEY_MAGIC);
            page[4..8].copy_from_slice(&LAYOUT);
            page[8..40].copy_from_slice(&seed);
            let crc = CRC.checksum(&page[..40]);
            page[40..].copy_from_slice(&crc.to_le_bytes());
            self.write_at(0, &page)?;
            return Ok((seed, true));
        }
        let crc = CRC.checksum(&page[..40]).to_le_bytes();
        if page[..4] != KEY_MAGIC || page[4..8] != LAYOUT || page[40..] != crc {
            return Err(StoreError::DamagedKey);
        }
        let mut seed = [0; 32];
        seed.copy_from_slice(&page[8..40]);
        Ok((seed, false))
    }

    /// A record page's counter and record, `None` if erased or damaged.
    fn record_page(&self, page: usize) -> Result<Option<(u64, [u8; RECORD_LEN])>, StoreError> {
        let mut bytes = [0; RECORD_PAGE_LEN];
        self.read_at(page * PAGE, &mut bytes)?;
        let body = RECORD_PAGE_LEN - 4;
        let crc = CRC.checksum(&bytes[..body]).to_le_bytes();
        if bytes[..4] != RECORD_MAGIC || bytes[4..8] != LAYOUT || bytes[body..] != crc {
            return Ok(None);
        }
        let mut counter = [0; 8];
        counter.copy_from_slice(&bytes[8..16]);
        let mut record = [0; RECORD_LEN];
        record.copy_from_slice(&bytes[16..body]);
        Ok(Some((u64::from_le_bytes(counter), record)))
    }

    /// Keep `record` as the newest, in the page not holding the current newest.
    pub fn save(&mut self, record: &[u8; RECORD_LEN]) -> Result<(), StoreError> {
        let counter = self.counter + 1;
        let mut bytes = [0; RECORD_PAGE_LEN];
        bytes[..4].copy_from_slice(&RECORD_MAGIC);
        bytes[4..8].copy_from_slice(&LAYOUT);
        bytes[8..16].copy_from_slice(&counter.to_le_bytes());
        let body = RECORD_PAGE_LEN - 4;
        bytes[16..body].copy_from_slice(record);
        let crc = CRC.checksum(&bytes[..body]);
        bytes[body..].copy_from_slice(&crc.to_le_bytes());
        self.write_at(self.next_page * PAGE, &bytes)?;
        self.counter = counter;
        self.next_page = 3 - self.next_page;
        Ok(())
    }
}
