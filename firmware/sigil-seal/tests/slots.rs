//! A/B slots: transfers that resume after any cut, staging that never touches the running slot,
//! anti-downgrade, foreign bundles, and boot-confirm with rollback.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use ed25519_dalek::SigningKey;
use sigil_bundle::{Header, Meta, build};
use sigil_seal::slots::{Booted, MAX_TRIES, Progress, SlotError, Slots};

const CLASS: &str = "kiosk-test";

fn maker() -> SigningKey {
    SigningKey::from_bytes(&[5; 32])
}

fn bundle(version: u64, class: &str, key: &SigningKey) -> Vec<u8> {
    let fw: Vec<u8> = (0..9_000u32).map(|i| (i ^ version as u32) as u8).collect();
    let model: Vec<u8> = (0..20_000u32)
        .map(|i| (i * 3 + version as u32) as u8)
        .collect();
    let meta = Meta {
        device_class: class.into(),
        version,
        policy_digest: [1; 32],
        chunk_size: 4096,
        created_unix: 0,
    };
    build(&fw, &model, &meta, key).unwrap()
}

fn slots(dir: &Path) -> Slots {
    Slots::open(dir, maker().verifying_key(), CLASS).unwrap()
}

/// Begin (or resume) the transfer of `b` and send chunks from where the device stands until
/// it holds `until` of them (all, when `until` is past the end). Returns the progress the
/// device answered to the header.
fn send_until(s: &mut Slots, b: &[u8], until: u32) -> Progress {
    let h = Header::parse(b, &maker().verifying_key()).unwrap();
    let begun = s.begin(&b[..h.len]).unwrap();
    let payload = &b[h.len..];
    let mut p = begun;
    while p.next_chunk < p.total.min(until) {
        let r = h.manifest.chunk_range(p.next_chunk as usize).unwrap();
        p = s
            .put(p.next_chunk, &payload[r.start as usize..r.end as usize])
            .unwrap();
    }
    begun
}

/// Send the whole bundle from where the device says it stands, commit and boot.
fn flash(dir: &Path, b: &[u8]) -> Booted {
    let mut s = slots(dir);
    send_until(&mut s, b, u32::MAX);
    s.commit().unwrap();
    s.boot(|_| Ok(())).unwrap()
}

#[test]
fn a_bundle_is_staged_in_the_other_slot_and_confirmed_at_boot() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        flash(dir.path(), &bundle(1, CLASS, &maker())),
        Booted::Confirmed {
            slot: 0,
            version: 1
        }
    );
    assert_eq!(
        flash(dir.path(), &bundle(2, CLASS, &maker())),
        Booted::Confirmed {
            slot: 1,
            version: 2
        }
    );
    let s = slots(dir.path());
    assert_eq!(s.state().active, Some(1));
    assert_eq!(s.state().version, 2);
    assert_eq!(s.inactive(), 0);
    // A boot with nothing pending changes nothing.
    let mut s = slots(dir.path());
    assert_eq!(s.boot(|_| Ok(())).unwrap(), Booted::Unchanged(Some(1)));
}

#[test]
fn downgrades_foreign_makers_other_classes_and_bad_chunks_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    flash(dir.path(), &bundle(5, CLASS, &maker()));
    let mut s = slots(dir.path());
    let header = |b: &[u8]| {
        let h = Header::parse(b, &maker().verifying_key()).unwrap();
        b[..h.len].to_vec()
    };
    for v in [4, 5] {
        let e = s.begin(&header(&bundle(v, CLASS, &maker()))).unwrap_err();
        assert!(matches!(e, SlotError::Downgrade { running: 5, .. }), "{e}");
    }
    let e = s
        .begin(&header(&bundle(6, "other-board", &maker())))
        .unwrap_err();
    assert!(matches!(e, SlotError::DeviceClass { .. }), "{e}");
    let rogue = SigningKey::from_bytes(&[66; 32]);
    let b = bundle(6, CLASS, &rogue);
    let h = Header::parse(&b, &rogue.verifying_key()).unwrap();
    let e = s.begin(&b[..h.len]).unwrap_err();
    assert!(e.to_string().contains("signature"), "{e}");

    // A tampered chunk is refused and the transfer stays where it was.
    let b = bundle(6, CLASS, &maker());
    let h = Header::parse(&b, &maker().verifying_key()).unwrap();
    let p = s.begin(&b[..h.len]).unwrap();
    assert_eq!(p.next_chunk, 0);
    let mut chunk = b[h.len..h.len + 4096].to_vec();
    chunk[100] ^= 1;
    assert!(s.put(0, &chunk).is_err());
    let e = s.put(1, &b[h.len + 4096..h.len + 8192]).unwrap_err();
    assert!(matches!(e, SlotError::OutOfOrder(_)), "{e}");
    let e = s.commit().unwrap_err();
    assert!(e.to_string().contains("send the rest"), "{e}");
    assert_eq!(slots(dir.path()).state().active, Some(0));
    assert_eq!(slots(dir.path()).state().pending, None);
}

#[test]
fn a_slot_that_fails_its_health_check_is_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    flash(dir.path(), &bundle(1, CLASS, &maker()));
    let b = bundle(2, CLASS, &maker());
    let mut s = slots(dir.path());
    send_until(&mut s, &b, u32::MAX);
    let staged = s.commit().unwrap();
    assert_eq!(staged.slot, 1);
    let out = s
        .boot(|_| Err("the model pack does not load".into()))
        .unwrap();
    assert!(matches!(out, Booted::RolledBack { slot: 1, .. }));
    let st = slots(dir.path()).state();
    assert_eq!((st.active, st.version, st.pending), (Some(0), 1, None));

    // A slot whose boots keep crashing inside the health check (each attempt counted before
    // it runs) is rolled back after MAX_TRIES.
    let mut s = slots(dir.path());
    let begun = send_until(&mut s, &b, u32::MAX);
    assert_eq!(begun.next_chunk, 0, "a committed transfer is not resumed");
    s.commit().unwrap();
    for _ in 0..MAX_TRIES {
        let mut s = slots(dir.path());
        // A crash inside the check: the closure never returns normally.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = s.boot(|_| panic!("power cut during the health check"));
        }));
        assert!(r.is_err());
    }
    let out = slots(dir.path()).boot(|_| Ok(())).unwrap();
    assert!(matches!(out, Booted::RolledBack { slot: 1, .. }), "{out:?}");
    assert_eq!(slots(dir.path()).state().active, Some(0));
}

/// 100 cuts at random points (a dropped link or a killed process between chunks, half of them
/// also with power loss mid-write: a torn tail, sometimes followed by garbage): the device
/// always boots a verified slot, and resuming completes the update.
#[test]
fn interrupted_at_random_points_an_update_always_boots_a_verified_slot_and_resumes() {
    let mut rng = SplitMix(7);
    let dir = tempfile::tempdir().unwrap();
    flash(dir.path(), &bundle(1, CLASS, &maker()));
    for trial in 0..100u64 {
        let version = trial + 2;
        let b = bundle(version, CLASS, &maker());
        let h = Header::parse(&b, &maker().verifying_key()).unwrap();
        let total = h.manifest.chunks.len() as u32;
        let cut_after = rng.below(u64::from(total) + 1) as u32;
        let mut s = slots(dir.path());
        send_until(&mut s, &b, cut_after);
        drop(s); // the link drops, or the process dies
        let incoming = dir.path().join("slots/incoming.part");
        if rng.below(2) == 0 && incoming.exists() {
            // Power loss mid-write: a torn tail, or garbage in place of the last chunk.
            let len = std::fs::metadata(&incoming).unwrap().len();
            let keep = h.len as u64 + rng.below(len - h.len as u64 + 1);
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&incoming)
                .unwrap();
            f.set_len(keep).unwrap();
            if rng.below(10) < 3 {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&incoming)
                    .unwrap();
                f.write_all(&[0xA5; 700]).unwrap();
            }
        }
        // Whatever happened, the confirmed slot is intact and verifies.
        let st = slots(dir.path()).state();
        let active = st.active.unwrap();
        let bytes = std::fs::read(slots(dir.path()).bundle_path(active)).unwrap();
        let v = sigil_bundle::open(&bytes, &maker().verifying_key()).unwrap();
        assert_eq!(v.manifest.version, st.version, "trial {trial}");
        assert_eq!(st.version, version - 1, "trial {trial}");
        // Resume and finish.
        assert_eq!(
            flash(dir.path(), &b),
            Booted::Confirmed {
                slot: 1 - active,
                version
            },
            "trial {trial}"
        );
    }
}

/// SplitMix64: a fixed, seeded sequence of cut points.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }
}
