//! Verdicts, tiers and the decision the gate hands back for one prompt.

use serde::{Deserialize, Serialize};

/// What happens to a prompt. Ordered: a later variant is always at least as strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Verdict {
    /// Generate and release.
    Allow = 0,
    /// Generate, but hold the frame for a human before release.
    Review = 1,
    /// Refuse; nothing is generated.
    Block = 2,
}

impl Verdict {
    /// The lower-case word used in JSON and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Review => "review",
            Verdict::Block => "block",
        }
    }

    /// Decode the wire/record byte; `None` for an unknown value.
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Verdict::Allow),
            1 => Some(Verdict::Review),
            2 => Some(Verdict::Block),
            _ => None,
        }
    }
}

/// The tier a policy category carries (DESIGN §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Tier {
    /// No category matched.
    None = 0,
    /// Released with an extra label.
    Label = 1,
    /// Held for a human before release.
    Review = 2,
    /// Hard block.
    Block = 3,
}

impl Tier {
    /// The verdict a hit in this tier produces.
    pub const fn verdict(self) -> Verdict {
        match self {
            Tier::None | Tier::Label => Verdict::Allow,
            Tier::Review => Verdict::Review,
            Tier::Block => Verdict::Block,
        }
    }

    /// The lower-case word used in the policy file, JSON and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Tier::None => "none",
            Tier::Label => "label",
            Tier::Review => "review",
            Tier::Block => "block",
        }
    }

    /// Decode the wire/record byte; `None` for an unknown value.
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Tier::None),
            1 => Some(Tier::Label),
            2 => Some(Tier::Review),
            3 => Some(Tier::Block),
            _ => None,
        }
    }
}

/// Index of a category in the compiled policy (`policy::CATEGORIES`). Meaningful only together
/// with the policy digest, which every record carries.
pub type CategoryId = u8;

/// The gate's answer for one prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Decision {
    /// Allow, review or block.
    pub verdict: Verdict,
    /// The category that decided the verdict (the strictest hit), if any.
    pub category: Option<CategoryId>,
    /// That category's tier (`Tier::None` when nothing matched).
    pub tier: Tier,
    /// Set when the deciding category asks for legal escalation (e.g. sexual content involving minors).
    pub escalate: bool,
    /// SHA-256 of the normalised prompt (domain-separated); what records carry.
    pub prompt_hash: [u8; 32],
}
