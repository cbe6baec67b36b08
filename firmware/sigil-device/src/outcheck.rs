//! The output check on the device: the pack's image classifier scores every generated image,
//! and the compiled-in policy decides what a hit does — the category's tier: `review` holds the
//! frame, `block` keeps it from release, `label` releases it with an extra label. The verdict
//! goes into the record (`post_filter`).
//!
//! The pack's classifier must have been trained for exactly this policy's output categories
//! (same ids, same emoji): a pack made for another policy is refused with what differs, since
//! it would silently miss what this policy asks it to see.

use anyhow::{Result, bail};
use sigil_gate::policy::output_categories;
use sigil_gate::{Tier, Verdict};
use sigil_models::outcheck::{OutputCheckSpec, OutputScore};
use sigil_provenance::PostFilter;
use sigil_seal::OutputFinding;

/// What the frame's output-check verdict asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing found: release as usual.
    Release,
    /// Release with this extra label drawn above the badge.
    Label(&'static str),
    /// Hold for review.
    Hold,
    /// Do not release.
    Block,
}

/// The output check's verdict on one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct PostVerdict {
    /// What the record says.
    pub post_filter: PostFilter,
    /// What to do.
    pub action: Action,
    /// The category that hit (its policy id).
    pub category: Option<&'static str>,
    /// Its probability.
    pub probability: f32,
}

impl PostVerdict {
    /// Nothing found.
    pub const CLEAR: PostVerdict = PostVerdict {
        post_filter: PostFilter {
            verdict: Verdict::Allow,
            class: None,
        },
        action: Action::Release,
        category: None,
        probability: 0.0,
    };

    /// The finding to keep with a held frame.
    pub fn finding(&self) -> Option<OutputFinding> {
        let category = self.category?;
        Some(OutputFinding {
            category: category.to_string(),
            verdict: self.post_filter.verdict.as_str().to_string(),
            probability_milli: (self.probability.clamp(0.0, 1.0) * 1000.0).round() as u32,
        })
    }
}

/// Refuse an output check that was not trained for the compiled-in policy.
pub fn check_matches_policy(spec: Option<&OutputCheckSpec>) -> Result<()> {
    let want: Vec<(&str, &[&str])> = output_categories().map(|(_, g)| (g.id, g.output)).collect();
    let Some(spec) = spec else {
        if want.is_empty() {
            return Ok(());
        }
        bail!(
            "the model pack has no output check, and this firmware's policy asks for one ({}): use a pack made with `sigil-host pack-model --outcheck RUN/outcheck`",
            want.iter().map(|w| w.0).collect::<Vec<_>>().join(", ")
        );
    };
    let have: Vec<(&str, Vec<&str>)> = spec
        .classes
        .iter()
        .map(|c| {
            (
                c.category.as_str(),
                c.codes.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let same = have.len() == want.len()
        && have
            .iter()
            .zip(&want)
            .all(|((a, ac), (b, bc))| a == b && ac.as_slice() == *bc);
    if !same {
        let names = |v: Vec<&str>| v.join(", ");
        bail!(
            "the model pack's output check was trained for other categories ({}) than this firmware's policy names ({}) or for other emoji in them: retrain it (`sigil-host train --stage outcheck`) and repack",
            names(have.iter().map(|h| h.0).collect()),
            names(want.iter().map(|w| w.0).collect())
        );
    }
    Ok(())
}

/// The verdict for a score (`None`: the pack has no output check and the policy needs none).
pub fn verdict(score: Option<&OutputScore>, spec: Option<&OutputCheckSpec>) -> Result<PostVerdict> {
    let (Some(score), Some(spec)) = (score, spec) else {
        return Ok(PostVerdict::CLEAR);
    };
    let Some(hit) = score.hit else {
        return Ok(PostVerdict::CLEAR);
    };
    let name = spec.classes.get(hit).map_or("?", |c| c.category.as_str());
    let Some((id, group)) = sigil_gate::policy::output_category(name) else {
        bail!(
            "the output check reported category {name:?}, which this firmware's policy does not have"
        );
    };
    let probability = score.probs.get(hit + 1).copied().unwrap_or(0.0);
    let (verdict, action) = match group.tier {
        Tier::Block => (Verdict::Block, Action::Block),
        Tier::Review => (Verdict::Review, Action::Hold),
        Tier::Label | Tier::None => (Verdict::Allow, Action::Label(group.id)),
    };
    Ok(PostVerdict {
        post_filter: PostFilter {
            verdict,
            class: Some(id),
        },
        action,
        category: Some(group.id),
        probability,
    })
}

/// The record's post-filter facts for a held frame's finding (what was decided when it was
/// held).
pub fn post_filter_of(finding: Option<&OutputFinding>) -> Result<PostFilter> {
    let Some(f) = finding else {
        return Ok(PostVerdict::CLEAR.post_filter);
    };
    let Some((id, _)) = sigil_gate::policy::output_category(&f.category) else {
        bail!(
            "the held frame's output-check category {:?} is not in this firmware's policy: reject it, or decide it with the firmware that held it",
            f.category
        );
    };
    let verdict = match f.verdict.as_str() {
        "allow" => Verdict::Allow,
        "review" => Verdict::Review,
        "block" => Verdict::Block,
        other => {
            bail!("the held frame's output-check verdict {other:?} is not allow, review or block")
        }
    };
    Ok(PostFilter {
        verdict,
        class: Some(id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigil_models::judge::JudgeConfig;

    fn spec() -> OutputCheckSpec {
        let classes = sigil_train::outcheck::policy_classes();
        OutputCheckSpec {
            config: JudgeConfig::new(classes.len() + 1),
            classes,
            threshold: 0.5,
            image_side: 32,
        }
    }

    fn score(spec: &OutputCheckSpec, category: &str, p: f32) -> OutputScore {
        let i = spec
            .classes
            .iter()
            .position(|c| c.category == category)
            .unwrap();
        let mut probs = vec![0.0; spec.classes.len() + 1];
        probs[i + 1] = p;
        probs[0] = 1.0 - p;
        OutputScore {
            probs,
            hit: (p >= spec.threshold).then_some(i),
        }
    }

    #[test]
    fn tiers_decide_what_a_hit_does() {
        let s = spec();
        let v = verdict(Some(&score(&s, "weapons", 0.9)), Some(&s)).unwrap();
        assert_eq!(v.action, Action::Hold);
        assert_eq!(v.post_filter.verdict, Verdict::Review);
        assert_eq!(
            v.post_filter.class,
            sigil_gate::policy::category_by_id("weapons")
        );
        let f = v.finding().unwrap();
        assert_eq!(
            (f.category.as_str(), f.verdict.as_str()),
            ("weapons", "review")
        );
        assert_eq!(f.probability_milli, 900);
        assert_eq!(post_filter_of(Some(&f)).unwrap(), v.post_filter);
        let v = verdict(Some(&score(&s, "alcohol", 0.7)), Some(&s)).unwrap();
        assert_eq!(v.action, Action::Label("alcohol"));
        assert_eq!(v.post_filter.verdict, Verdict::Allow);
        assert!(v.post_filter.class.is_some());
        let v = verdict(Some(&score(&s, "drugs", 0.3)), Some(&s)).unwrap();
        assert_eq!(v, PostVerdict::CLEAR);
        assert_eq!(verdict(None, None).unwrap(), PostVerdict::CLEAR);
    }

    #[test]
    fn a_check_for_another_policy_is_refused() {
        assert!(check_matches_policy(Some(&spec())).is_ok());
        let e = check_matches_policy(None).unwrap_err().to_string();
        assert!(e.contains("no output check"), "{e}");
        let mut other = spec();
        other.classes[0].codes.pop();
        let e = check_matches_policy(Some(&other)).unwrap_err().to_string();
        assert!(e.contains("retrain"), "{e}");
        let mut fewer = spec();
        fewer.classes.pop();
        assert!(check_matches_policy(Some(&fewer)).is_err());
    }

    #[test]
    fn a_finding_from_elsewhere_is_refused() {
        let f = OutputFinding {
            category: "unicorns".into(),
            verdict: "review".into(),
            probability_milli: 1,
        };
        assert!(post_filter_of(Some(&f)).is_err());
        let f = OutputFinding {
            category: "weapons".into(),
            verdict: "maybe".into(),
            probability_milli: 1,
        };
        assert!(post_filter_of(Some(&f)).is_err());
        assert_eq!(
            post_filter_of(None).unwrap(),
            PostVerdict::CLEAR.post_filter
        );
    }
}
