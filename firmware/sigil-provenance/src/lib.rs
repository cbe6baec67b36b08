//! Sigil provenance: signed, chained records.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
