//! The typed view of a record's one-byte fields: gate facts, post-filter facts and the review
//! decision. The record stores each as a byte (see [`crate::record`]); these types are what
//! callers read and write.

use sigil_gate::{CategoryId, Tier, Verdict};

use crate::error::RecordError;

/// The byte that stands for "no category / no class".
pub const NONE_BYTE: u8 = 0xFF;

/// What the policy gate decided for the prompt (copied from the redeemed ticket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GateFacts {
    /// Allow or review (a sealed record never carries block).
    pub verdict: Verdict,
    /// The deciding category, if any (index into the policy named by the record's policy digest).
    /// Stored as `0xFF` when `None`, so category `0xFF` cannot be expressed.
    pub category: Option<CategoryId>,
    /// That category's tier.
    pub tier: Tier,
    /// Whether the deciding category asks for legal escalation.
    pub escalate: bool,
}

/// What the output check (image classifier) decided for the generated frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PostFilter {
    /// The classifier's verdict, in `sigil_gate::Verdict` numbering.
    pub verdict: Verdict,
    /// The class that decided it, if any. Stored as `0xFF` when `None`.
    pub class: Option<u8>,
}

/// The human review decision for the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Review {
    /// Neither the gate nor the output check asked for review.
    NotRequired = 0,
    /// A reviewer approved the frame for release.
    Approved = 1,
    /// A reviewer rejected the frame (it is recorded, not released).
    Rejected = 2,
}

impl Review {
    /// The record byte.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// Decode the record byte; `None` for an unknown value.
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Review::NotRequired),
            1 => Some(Review::Approved),
            2 => Some(Review::Rejected),
            _ => None,
        }
    }
}

/// `Option<u8>` as a record byte, `0xFF` for `None`.
pub(crate) const fn opt_to_byte(v: Option<u8>) -> u8 {
    match v {
        Some(b) => b,
        None => NONE_BYTE,
    }
}

/// A record byte as `Option<u8>`, `0xFF` meaning `None`.
pub(crate) const fn byte_to_opt(b: u8) -> Option<u8> {
    if b == NONE_BYTE { None } else { Some(b) }
}

pub(crate) fn verdict(field: &'static str, value: u8) -> Result<Verdict, RecordError> {
    Verdict::from_u8(value).ok_or(RecordError::BadEnum { field, value })
}

pub(crate) fn tier(field: &'static str, value: u8) -> Result<Tier, RecordError> {
    Tier::from_u8(value).ok_or(RecordError::BadEnum { field, value })
}

pub(crate) fn flag(field: &'static str, value: u8) -> Result<bool, RecordError> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(RecordError::BadEnum { field, value }),
    }
}

pub(crate) fn review(field: &'static str, value: u8) -> Result<Review, RecordError> {
    Review::from_u8(value).ok_or(RecordError::BadEnum { field, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip() {
        for b in 0..=u8::MAX {
            assert_eq!(opt_to_byte(byte_to_opt(b)), b);
            if let Some(r) = Review::from_u8(b) {
                assert_eq!(r.as_u8(), b);
            }
        }
        assert_eq!(byte_to_opt(NONE_BYTE), None);
        assert_eq!(
            flag("x", 2),
            Err(RecordError::BadEnum {
                field: "x",
                value: 2
            })
        );
    }
}
