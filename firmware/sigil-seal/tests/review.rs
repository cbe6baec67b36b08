//! The review queue: hold, list, get, remove; unknown ids and damaged entries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sigil_seal::{Held, ReviewError, ReviewQueue, compose_unmarked};

fn held(seed: u64, at: u64) -> Held {
    Held {
        id: String::new(),
        prompt: "an assault rifle on a table".into(),
        user: "kiosk-3".into(),
        reason: "prompt".into(),
        category: Some("weapons".into()),
        held_unix: at,
        seed,
        steps: 4,
        guidance_milli: 2000,
        model_digest: "ab".repeat(32),
        width: 256,
        height: 256,
        output: (seed % 2 == 1).then(|| sigil_seal::OutputFinding {
            category: "weapons".into(),
            verdict: "review".into(),
            probability_milli: 912,
        }),
    }
}

#[test]
fn held_frames_are_listed_read_back_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let q = ReviewQueue::new(dir.path());
    assert!(q.list().unwrap().is_empty());
    let (rgb, w, h) = compose_unmarked(&vec![128u8; 32 * 32 * 3], 32, 32).unwrap();
    assert_eq!((w, h), (256, 256));
    let a = q.hold(&rgb, &held(1, 200)).unwrap();
    let b = q.hold(&rgb, &held(2, 100)).unwrap();
    assert_ne!(a, b);
    let listed = q.list().unwrap();
    assert_eq!(
        listed.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
        [b.as_str(), a.as_str()]
    );
    let (meta, pixels) = q.get(&a).unwrap();
    assert_eq!(meta.seed, 1);
    assert_eq!(meta.id, a);
    assert_eq!(pixels, rgb);
    assert!(q.frame_path(&a).is_file());
    q.remove(&a).unwrap();
    assert_eq!(q.list().unwrap().len(), 1);
    // Nothing half-written is left in the queue folder.
    let names: Vec<String> = std::fs::read_dir(dir.path().join("review"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [b]);
}

#[test]
fn unknown_ids_and_damaged_entries_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let q = ReviewQueue::new(dir.path());
    let (rgb, _, _) = compose_unmarked(&vec![200u8; 32 * 32 * 3], 32, 32).unwrap();
    let id = q.hold(&rgb, &held(3, 1)).unwrap();
    for bad in ["r000000000000", "../../etc", "", "x"] {
        match q.get(bad) {
            Err(e @ ReviewError::UnknownId { held: 1, .. }) => {
                assert!(e.to_string().contains("sigil review list"), "{e}");
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    std::fs::write(
        dir.path().join("review").join(&id).join("held.json"),
        b"{ not json",
    )
    .unwrap();
    assert!(matches!(q.get(&id), Err(ReviewError::Damaged { .. })));
    assert!(matches!(q.list(), Err(ReviewError::Damaged { .. })));
}
