//! The trust core on a Cortex-M4 (firmware/sigil-mcu) under QEMU's MPS2 AN386, speaking
//! sigil-wire over its UART: it gates, seals and signs Content Credentials for the device
//! program's state (`DeviceState::open_with`, what `sigil generate --trust-core` opens), and
//! `sigil-host audit` and `verify` accept what it signed. Its flash and RAM use are compared
//! with `firmware/sigil-mcu/size.snapshot`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "../../../firmware/sigil-mcu/host/qemu.rs"]
mod qemu;

use std::path::Path;

use common::{host_ok, release_frame, s};
use qemu::Mcu;
use sigil_link::{Client, Endpoint};
use sigil_seal::{DeviceState, LOG_FILE, StateError, TrustCoreAt};
use sigil_wire::{ErrorCode, Request, Response, WireFrameFacts};

const FIRMWARE: [u8; 32] = [5; 32];
const MODEL: [u8; 32] = [1; 32];
const SNAPSHOT: &str = "firmware/sigil-mcu/size.snapshot";

fn at(mcu: &Mcu) -> TrustCoreAt {
    mcu.endpoint().parse().unwrap()
}

/// Open `dir` with the MCU as its trust core; on failure, show what the MCU logged.
fn open(dir: &Path, mcu: &Mcu) -> DeviceState {
    DeviceState::open_with(dir, FIRMWARE, &at(mcu))
        .unwrap_or_else(|e| panic!("{e}\nMCU log:\n{}", mcu.log_text()))
}

fn audit(state: &Path) -> serde_json::Value {
    host_ok(&[
        "audit",
        s(&state.join(LOG_FILE)),
        "--trust",
        s(&state.join("device.pub.pem")),
        "--json",
    ])
}

#[test]
fn the_trust_core_on_a_cortex_m_gates_and_seals_what_audit_and_verify_accept() {
    let tmp = tempfile::tempdir().unwrap();
    let board = tmp.path().join("board");
    std::fs::create_dir_all(&board).unwrap();
    let state_dir = tmp.path().join("state");
    let out = tmp.path().join("out");

    let mcu = Mcu::boot(&board);
    let mut state = open(&state_dir, &mcu);
    let core = state.core();
    assert!(core.remote());
    assert_eq!(
        core.policy_digest(),
        sigil_gate::POLICY_DIGEST,
        "the MCU runs this policy"
    );
    assert_ne!(
        core.firmware_digest(),
        FIRMWARE,
        "records carry the MCU's own image digest"
    );
    assert!(
        !state_dir.join("device.key.pem").exists(),
        "the key never leaves the MCU"
    );

    // A blocked prompt gets a ticket the core will not seal.
    let blocked = state
        .core_mut()
        .admit("a swastika flag", b"kiosk", sigil_seal::unix_ms())
        .unwrap();
    assert_eq!(blocked.verdict, sigil_gate::Verdict::Block);
    let facts = sigil_provenance::FrameFacts {
        time_unix: 0,
        boot_counter: 1,
        model_digest: MODEL,
        seed: 1,
        steps: 4,
        guidance_milli: 2000,
        width: 256,
        height: 256,
        post_filter: sigil_provenance::PostFilter {
            verdict: sigil_gate::Verdict::Allow,
            class: None,
        },
        review: sigil_provenance::Review::NotRequired,
        watermark: state.next_watermark(),
        frame_hash: [9; 32],
    };
    let refused = state.core_mut().seal(&blocked, &facts).unwrap_err();
    assert!(
        matches!(&refused, sigil_seal::CoreError::Refused { code: ErrorCode::TicketRefused, detail } if detail.contains("block")),
        "{refused}"
    );

    let first = release_frame(&mut state, &out, "a lighthouse at dusk", MODEL);
    release_frame(&mut state, &out, "a red kite over hills", MODEL);
    drop(state);
    let figures = |mcu: &Mcu| {
        ["admit", "seal", "sign_credential"].map(|op| {
            mcu.last_figure(op, "instructions")
                .unwrap_or_else(|| panic!("no {op} figure in {}", mcu.log_text()))
        })
    };
    let [admit, seal, sign] = figures(&mcu);
    let report = audit(&state_dir);
    assert_eq!(report["records_accepted"], 2);
    let verified = host_ok(&[
        "verify",
        s(&first),
        "--trust",
        s(&state_dir.join("device.pub.pem")),
        "--json",
    ]);
    assert_eq!(verified["c2pa"]["present"], true);

    // The longest prompt the gate takes goes through the MCU's receive buffer and its check
    // path (the deepest stack after sealing); one byte more is refused by the gate, and a frame
    // larger than the MCU takes is refused before it is sent.
    let mut state = open(&state_dir, &mcu);
    let longest: String = "a quiet harbour at dawn, "
        .chars()
        .cycle()
        .take(sigil_gate::MAX_PROMPT_BYTES)
        .collect();
    let t = state
        .core_mut()
        .admit(&longest, b"kiosk-2", sigil_seal::unix_ms())
        .unwrap();
    assert_eq!(t.verdict, sigil_gate::Verdict::Allow);
    let over = format!("{longest}a");
    match state
        .core_mut()
        .admit(&over, b"kiosk-2", sigil_seal::unix_ms())
    {
        Err(sigil_seal::CoreError::Refused {
            code: ErrorCode::PromptRejected,
            ..
        }) => {}
        other => panic!(
            "expected the gate to refuse {} bytes: {other:?}",
            over.len()
        ),
    }
    let user = vec![b'u'; 1024];
    match state
        .core_mut()
        .admit(&longest, &user, sigil_seal::unix_ms())
    {
        Err(sigil_seal::CoreError::Refused {
            code: ErrorCode::FrameTooLarge,
            ..
        }) => {}
        other => panic!("expected the frame to be refused: {other:?}"),
    }
    drop(state);
    println!("MCU log, first boot:\n{}", mcu.log_text());
    println!("icount instructions: admit {admit}, seal {seal}, sign_credential {sign}");
    let sizes = Sizes {
        flash: mcu.boot_figure("image").unwrap(),
        statics: mcu.boot_figure("statics").unwrap(),
        stack: mcu.boot_figure("stack").unwrap(),
        stack_peak: mcu
            .boot_figure("stack_peak")
            .unwrap()
            .max(mcu.last_figure("admit", "stack_peak").unwrap()),
    };
    drop(mcu);

    // Power cycle: the key and the chain head come back from the MCU's flash.
    let mcu = Mcu::boot(&board);
    assert!(mcu.log_text().contains("from flash"), "{}", mcu.log_text());
    println!("MCU log, after the power cycle:\n{}", mcu.log_text());
    let sizes = Sizes {
        stack_peak: sizes.stack_peak.max(mcu.boot_figure("stack_peak").unwrap()),
        ..sizes
    };
    let mut state = open(&state_dir, &mcu);
    release_frame(&mut state, &out, "a blue boat", MODEL);
    drop(state);
    assert_eq!(audit(&state_dir)["records_accepted"], 3);

    // A record whose response never reached the log (the host died after the MCU signed):
    // the next open fetches it from the MCU, checks it and appends it; the chain stays whole.
    let endpoint: Endpoint = mcu.endpoint().parse().unwrap();
    let mut client = Client::connect(&endpoint, std::time::Duration::from_secs(30)).unwrap();
    let info = client.info().unwrap();
    let ticket = client
        .call(
            Request::Admit {
                prompt: "a green field",
                // The kiosk user's bucket survived the power cycle and is nearly spent.
                user: b"kiosk-2",
                now_ms: sigil_seal::unix_ms(),
            },
            |r| match r {
                Response::Admitted(t) => Ok(t),
                other => Err(other),
            },
        )
        .unwrap();
    let lost = WireFrameFacts {
        time_unix: 0,
        boot_counter: 9,
        model_digest: MODEL,
        seed: 3,
        steps: 4,
        guidance_milli: 2000,
        width: 256,
        height: 256,
        post_filter_verdict: 0,
        post_filter_class: 0xFF,
        review: 0,
        watermark: sigil_provenance::watermark_payload(&info.device_key, 3),
        frame_hash: [7; 32],
    };
    let sealed = client
        .call(
            Request::Seal {
                ticket,
                facts: lost,
            },
            |r| match r {
                Response::Sealed { record } => Ok(record.to_vec()),
                other => Err(other),
            },
        )
        .unwrap();
    drop(client);
    let state = open(&state_dir, &mcu);
    assert_eq!(state.last().unwrap().body().seq, 3);
    let mut logged = [0u8; sigil_provenance::RECORD_LEN];
    state.last().unwrap().encode(&mut logged);
    assert_eq!(logged.as_slice(), sealed.as_slice());
    drop(state);
    assert_eq!(audit(&state_dir)["records_accepted"], 4);

    // Another device's log is not this core's chain.
    let other = tmp.path().join("other");
    common::release_with(&other, FIRMWARE, MODEL);
    match DeviceState::open_with(&other.join("state"), FIRMWARE, &at(&mcu)) {
        Err(StateError::ForeignLog { reason, .. }) => {
            assert!(reason.contains("signed by key"), "{reason}")
        }
        other => panic!("expected a foreign log, got {other:?}"),
    }
    drop(mcu);

    sizes.check();
}

/// The firmware's footprint, as it reports it: image bytes; static RAM; the stack reserved
/// below the statics (memory.x) and the deepest it went (boot, or any request above).
#[derive(Debug, PartialEq, Eq)]
struct Sizes {
    flash: u64,
    statics: u64,
    stack: u64,
    stack_peak: u64,
}

impl Sizes {
    fn render(&self) -> String {
        format!(
            "# firmware/sigil-mcu on mps2-an386, release profile (opt-level \"s\", LTO, compact sha2).\n\
             # Written and compared by host-tools/sigil-host/tests/mcu.rs; after an intended change,\n\
             # rerun it with SIGIL_UPDATE_SNAPSHOT=1 and commit the file. Budgets: flash <= 1048576,\n\
             # ram (static + reserved stack) <= 65536, stack peak <= reserved stack.\n\
             flash_bytes = {}\nram_static_bytes = {}\nram_stack_reserved_bytes = {}\n\
             ram_stack_peak_bytes = {}\nram_total_bytes = {}\n",
            self.flash,
            self.statics,
            self.stack,
            self.stack_peak,
            self.statics + self.stack
        )
    }

    fn check(&self) {
        assert!(self.flash <= 1024 * 1024, "flash over budget: {self:?}");
        assert!(
            self.statics + self.stack <= 64 * 1024,
            "RAM over budget: {self:?}"
        );
        assert!(
            self.stack_peak < self.stack,
            "stack peak at its reserve: {self:?}"
        );
        let path = qemu::repo_root().join(SNAPSHOT);
        let now = self.render();
        if std::env::var_os("SIGIL_UPDATE_SNAPSHOT").is_some() {
            std::fs::write(&path, &now).unwrap();
            return;
        }
        let recorded = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            recorded, now,
            "the trust core's size changed ({SNAPSHOT}); if intended, rerun with SIGIL_UPDATE_SNAPSHOT=1 and commit it"
        );
    }
}

/// The MCU keeps its rate-limit buckets in its flash: a power cycle refills nothing, and the
/// buckets cost a flash write only every few tokens (saved with a reserve).
#[test]
fn the_mcus_rate_limits_survive_a_power_cycle_with_few_flash_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let board = tmp.path().join("board");
    std::fs::create_dir_all(&board).unwrap();
    let state_dir = tmp.path().join("state");
    let now = sigil_seal::unix_ms();
    let mcu = Mcu::boot(&board);
    assert!(mcu.log_text().contains("rates=full"), "{}", mcu.log_text());
    let mut state = open(&state_dir, &mcu);
    let mut admitted = 0;
    loop {
        match state.core_mut().admit("a red apple", b"visitor", now) {
            Ok(_) => admitted += 1,
            Err(sigil_seal::CoreError::RateLimited(r)) => {
                assert_eq!(r.scope, sigil_gate::Scope::User);
                break;
            }
            Err(e) => panic!("admission {}: {e}", admitted + 1),
        }
        assert!(admitted <= 6, "the user's burst is 6");
    }
    assert_eq!(admitted, 6);
    let writes = mcu.last_figure("admit", "rate_saves").unwrap();
    assert!(
        (1..=3).contains(&writes),
        "{writes} rate-page writes for {admitted} admissions"
    );
    drop(state);
    drop(mcu);

    // Power cycle at the same moment: the visitor's bucket is still empty.
    let mcu = Mcu::boot(&board);
    assert!(
        mcu.log_text().contains("rates=from_flash"),
        "{}",
        mcu.log_text()
    );
    let mut state = open(&state_dir, &mcu);
    match state.core_mut().admit("a red apple", b"visitor", now) {
        Err(sigil_seal::CoreError::RateLimited(r)) => assert_eq!(r.scope, sigil_gate::Scope::User),
        other => panic!("a power cycle refilled the visitor's bucket: {other:?}"),
    }
    // Someone else still gets in (a new user starts at most `RATE_RESERVE` tokens short).
    assert!(state.core_mut().admit("a red apple", b"other", now).is_ok());
    // Time refills the bucket as usual after a reboot: one token per 10 s.
    assert!(
        state
            .core_mut()
            .admit("a red apple", b"visitor", now + 10_000)
            .is_ok()
    );
}
