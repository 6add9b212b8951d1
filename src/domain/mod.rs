//! The scoring core: pure functions over validated domain types. No gRPC, no I/O.
//!
//! - [`profile`]: the validated customer profile and the features a model can read;
//! - [`churn`]: the logistic churn model and its reasons;
//! - [`value`]: realized, potential (CLV) and influence value;
//! - [`tier`]: ABC cut-offs, key accounts and the sleeping rule;
//! - [`actions`]: the retention action catalog and eligibility gates;
//! - [`exploration`]: ε-exploration among actions worth taking, with the propensity recorded;
//! - [`uplift`]: learned uplift models (control group and one per action, a T-learner);
//! - [`arbitration`]: expected-value ranking and the next best action;
//! - [`outcome`]: an observed outcome (did the customer churn) and its field rules.
//!
//! Length: the tests of the whole assessment (block equals one at a time, worked numbers) sit
//! beside it (about 230 lines).

pub mod actions;
pub mod arbitration;
pub mod churn;
pub mod exploration;
pub mod outcome;
pub mod profile;
pub mod tier;
pub mod uplift;
pub mod validation;
pub mod value;

pub use actions::ActionCatalog;
pub use arbitration::Decision;
pub use churn::{ChurnBlock, ChurnModel, ChurnPrediction, MissingExtraFeature};
pub use profile::CustomerProfile;
pub use tier::{TierAssignment, TierPolicy, ValueTier};
pub use uplift::UpliftModels;
pub use validation::FieldProblem;
pub use value::{CustomerValue, ValueParams};

/// Everything needed to assess a customer: one bundle's churn model, value parameters, tier
/// policy, action catalog and, when the bundle has them, learned uplift models.
#[derive(Debug, Clone)]
pub struct ScoringModel {
    /// The churn model.
    pub churn: ChurnModel,
    /// Value parameters.
    pub value: ValueParams,
    /// Tier policy.
    pub tiers: TierPolicy,
    /// Action catalog.
    pub actions: ActionCatalog,
    /// Learned uplift (`uplift/` in the bundle); actions without a model use their prior.
    pub uplift: Option<UpliftModels>,
    /// Exploration (`policy.toml` `[exploration]`); `None`: always the highest expected value.
    pub exploration: Option<exploration::Exploration>,
    /// Real-time control group (`policy.toml` `[control_group]`); `None`: nobody held out.
    pub control_group: Option<exploration::ControlGroup>,
}

/// Options of a full assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssessOptions {
    /// Churn reasons to return.
    pub max_reasons: usize,
    /// Also collect ineligible actions.
    pub include_ineligible: bool,
}

impl Default for AssessOptions {
    fn default() -> Self {
        Self {
            max_reasons: 3,
            include_ineligible: false,
        }
    }
}

/// Value, tier and the churn probability behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueAssessment {
    /// Churn probability used for potential value.
    pub churn_probability: f64,
    /// The three value parts.
    pub value: CustomerValue,
    /// The tier.
    pub tier: TierAssignment,
}

/// The full answer for one customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Churn probability and reasons.
    pub churn: ChurnPrediction,
    /// The three value parts.
    pub value: CustomerValue,
    /// The tier.
    pub tier: TierAssignment,
    /// The next best action.
    pub decision: Decision,
}

impl Assessment {
    /// The value part of the assessment.
    pub fn value_assessment(&self) -> ValueAssessment {
        ValueAssessment {
            churn_probability: self.churn.probability,
            value: self.value,
            tier: self.tier,
        }
    }
}

impl ScoringModel {
    fn value_and_tier(&self, p: &CustomerProfile, p_churn: f64) -> (CustomerValue, TierAssignment) {
        let value = value::customer_value(&self.value, p, p_churn);
        let tier = self.tiers.classify(value.total, p.days_since_last_activity);
        (value, tier)
    }

    /// Value parts and tier for a churn probability already computed.
    pub fn value_assessment(&self, p: &CustomerProfile, churn_probability: f64) -> ValueAssessment {
        let (value, tier) = self.value_and_tier(p, churn_probability);
        ValueAssessment {
            churn_probability,
            value,
            tier,
        }
    }

    /// Value parts and tier.
    ///
    /// # Errors
    /// A feature the model reads from `extra_features` is missing.
    pub fn classify_value(
        &self,
        p: &CustomerProfile,
    ) -> Result<ValueAssessment, MissingExtraFeature> {
        Ok(self.value_assessment(p, self.churn.probability(p)?))
    }

    /// Churn probability with reasons.
    ///
    /// # Errors
    /// A feature the model reads from `extra_features` is missing.
    pub fn predict_churn(
        &self,
        p: &CustomerProfile,
        max_reasons: usize,
    ) -> Result<ChurnPrediction, MissingExtraFeature> {
        self.churn.predict(p, max_reasons)
    }

    /// Value, tier, churn and the next best action in one pass.
    ///
    /// # Errors
    /// A feature the model reads from `extra_features` is missing.
    pub fn assess(
        &self,
        p: &CustomerProfile,
        opts: AssessOptions,
    ) -> Result<Assessment, MissingExtraFeature> {
        let Some(uplift) = &self.uplift else {
            let churn = self.churn.predict(p, opts.max_reasons)?;
            return Ok(self.complete(p, churn, opts.include_ineligible, Decision::default()));
        };
        // The transformed values the churn model computes are shared with the uplift models.
        let n = self.churn.features().len();
        let mut on_stack = [0.0; 48];
        let mut on_heap = Vec::new();
        let transformed = if n <= on_stack.len() {
            &mut on_stack[..n]
        } else {
            on_heap.resize(n, 0.0);
            &mut on_heap[..]
        };
        let churn = self
            .churn
            .predict_with_transformed(p, opts.max_reasons, transformed)?;
        Ok(self.complete_with(
            p,
            churn,
            opts.include_ineligible,
            Decision::default(),
            &mut uplift.for_customer_with(&self.churn, transformed),
        ))
    }

    /// Value, tier and the next best action for a churn prediction already made, the decision
    /// built in `decision`'s buffers.
    fn complete(
        &self,
        p: &CustomerProfile,
        churn: ChurnPrediction,
        include_ineligible: bool,
        decision: Decision,
    ) -> Assessment {
        match &self.uplift {
            Some(uplift) => self.complete_with(
                p,
                churn,
                include_ineligible,
                decision,
                &mut uplift.for_customer(&self.churn, p),
            ),
            None => self.complete_with(
                p,
                churn,
                include_ineligible,
                decision,
                &mut arbitration::NoLearnedUplift,
            ),
        }
    }

    /// [`ScoringModel::complete`] with the learned uplift already at hand.
    fn complete_with(
        &self,
        p: &CustomerProfile,
        churn: ChurnPrediction,
        include_ineligible: bool,
        mut decision: Decision,
        learned: &mut impl arbitration::LearnedUplift,
    ) -> Assessment {
        let (value, tier) = self.value_and_tier(p, churn.probability);
        let customer = arbitration::Situation {
            profile: p,
            tier: tier.tier,
            p_churn: churn.probability,
            value_at_risk: value.value_at_risk,
        };
        let policy = arbitration::Policy {
            exploration: self.exploration.as_ref(),
            control_group: self.control_group.as_ref(),
        };
        arbitration::arbitrate_into(
            &self.actions,
            customer,
            learned,
            policy,
            include_ineligible,
            &mut decision,
        );
        Assessment {
            churn,
            value,
            tier,
            decision,
        }
    }

    /// [`ScoringModel::assess`] for a block of profiles at once (offline files): churn feature by
    /// feature over the whole block ([`ChurnModel::predict_block`]), then each profile's value,
    /// tier and decision, reusing one assessment's buffers. Calls `each` with every profile's
    /// index and assessment, in order, skipping those `skip` names. The results are identical to
    /// [`ScoringModel::assess`]'s.
    pub fn assess_block(
        &self,
        profiles: &[CustomerProfile],
        skip: impl Fn(usize) -> bool,
        opts: AssessOptions,
        scratch: &mut BlockScratch,
        mut each: impl FnMut(usize, Result<&Assessment, MissingExtraFeature>),
    ) {
        scratch.churn.keep_transformed(self.uplift.is_some());
        self.churn
            .predict_block(profiles, opts.max_reasons, &mut scratch.churn);
        if let Some(uplift) = &self.uplift {
            uplift.predict_block(&self.churn, &scratch.churn, &mut scratch.uplift);
        }
        for (r, p) in profiles.iter().enumerate() {
            if skip(r) {
                continue;
            }
            if let Some(missing) = self.churn.missing_in_block(&scratch.churn, r) {
                each(r, Err(missing));
                continue;
            }
            let (mut reasons, decision) = match scratch.last.take() {
                Some(a) => (a.churn.reasons, a.decision),
                None => (Vec::new(), Decision::default()),
            };
            scratch.churn.reasons(r, &mut reasons);
            let churn = ChurnPrediction {
                probability: scratch.churn.probability(r),
                log_odds: scratch.churn.log_odds(r),
                reasons,
            };
            let a = match &self.uplift {
                Some(_) => self.complete_with(
                    p,
                    churn,
                    opts.include_ineligible,
                    decision,
                    &mut scratch.uplift.row(r),
                ),
                None => self.complete(p, churn, opts.include_ineligible, decision),
            };
            each(r, Ok(&a));
            scratch.last = Some(a);
        }
    }
}

/// Buffers [`ScoringModel::assess_block`] reuses from block to block.
#[derive(Debug, Default)]
pub struct BlockScratch {
    churn: ChurnBlock,
    uplift: uplift::UpliftBlock,
    last: Option<Assessment>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::actions::tests::{action, policy};
    use crate::domain::churn::FeatureWeight;
    use crate::domain::profile::tests::sample_profile;
    use crate::domain::profile::Transform;

    pub(crate) fn sample_model() -> ScoringModel {
        let churn = ChurnModel::new(
            -1.0,
            vec![
                FeatureWeight {
                    name: "tenure_months".into(),
                    label: None,
                    transform: Transform::Identity,
                    mean: 50.0,
                    scale: 20.0,
                    coefficient: -0.5,
                },
                FeatureWeight {
                    name: "complaints_12m".into(),
                    label: None,
                    transform: Transform::Identity,
                    mean: 0.5,
                    scale: 1.0,
                    coefficient: 0.8,
                },
            ],
            12,
        )
        .unwrap();
        ScoringModel {
            churn,
            value: ValueParams {
                discount_rate: 0.1,
                horizon_years: 3,
                value_per_referral: 50.0,
                retained_customer_rate: 0.9,
            },
            tiers: TierPolicy {
                a_min_value: 2_000.0,
                b_min_value: 500.0,
                key_account_min_value: 10_000.0,
                sleeping_after_days: 180,
            },
            actions: ActionCatalog {
                contact_policy: policy(),
                actions: vec![
                    action("fee_waiver", 25.0, 0.2),
                    action("rm_call", 40.0, 0.3),
                ],
            },
            uplift: None,
            exploration: None,
            control_group: None,
        }
    }

    #[test]
    fn a_full_assessment_links_churn_value_tier_and_action() {
        let m = sample_model();
        let p = sample_profile();
        let a = m.assess(&p, AssessOptions::default()).unwrap();
        // p_churn = 0.161_108_95 (see churn tests); margin 400, d = 0.1, H = 3 → CLV 715.1104.
        assert!(
            (a.value.potential - 715.110_400_6).abs() < 1e-6,
            "{:?}",
            a.value
        );
        assert!((a.value.total - 1_165.110_400_6).abs() < 1e-6);
        assert_eq!(a.tier.tier, ValueTier::B);
        // Value at risk: CLV if kept at r_kept = 0.9 → 814.1247, + influence 50 = 864.1247.
        assert!((a.decision.value_at_risk - 864.124_718_3).abs() < 1e-6);
        // τ(fee_waiver) = 0.1611 × 0.2 = 0.03222, EV = 0.03222 × 864.12 − 25 = 2.84;
        // τ(rm_call) = 0.1611 × 0.3, EV = 41.77 − 40 = 1.77: fee_waiver.
        let best = a.decision.best().unwrap();
        assert_eq!(m.actions.actions[best.action].id, "fee_waiver");
        assert!((best.expected_value - 2.843_645_13).abs() < 1e-6);
        assert!((a.decision.ranked[1].expected_value - 1.765_467_70).abs() < 1e-6);
        // The single-answer entry points agree with the full assessment.
        let v = m.classify_value(&p).unwrap();
        assert_eq!((v.value, v.tier), (a.value, a.tier));
        assert_eq!(m.predict_churn(&p, 3).unwrap(), a.churn);
    }

    #[test]
    fn rising_churn_risk_lowers_potential_value_but_not_value_at_risk() {
        let m = sample_model();
        let mut p = sample_profile();
        p.complaints_12m = 3; // z = −1 − 0.25 + 2.0 = 0.75 → p_churn = 0.679_178_7
        let a = m.assess(&p, AssessOptions::default()).unwrap();
        assert!((a.churn.probability - 0.679_178_7).abs() < 1e-7);
        // Potential value (risk-adjusted) CLV 160.61, total 610.61 → still tier B.
        assert!((a.value.total - 610.611_168_6).abs() < 1e-6);
        assert_eq!(a.tier.tier, ValueTier::B);
        // Value at risk is what the customer is worth if kept, the same as at low risk.
        assert!((a.value.value_at_risk - 864.124_718_3).abs() < 1e-6);
        // The risk enters once: EV(rm_call) = 0.6792 × 0.3 × 864.12 − 40 = 136.07 beats
        // EV(fee_waiver) = 0.6792 × 0.2 × 864.12 − 25 = 92.38.
        let best = a.decision.best().unwrap();
        assert_eq!(m.actions.actions[best.action].id, "rm_call");
        assert!((best.expected_value - 136.068_530_6).abs() < 1e-6);
        assert!((a.decision.ranked[1].expected_value - 92.379_020_4).abs() < 1e-6);
    }

    #[test]
    fn a_block_assessment_equals_assessing_each_profile() {
        use crate::domain::profile::BuiltinFeature;
        // Every typed field, both transforms, equal weights on the flags (ties), zero weights,
        // and an extra feature one profile lacks.
        let mut weights: Vec<FeatureWeight> = BuiltinFeature::ALL
            .iter()
            .enumerate()
            .map(|(i, f)| FeatureWeight {
                name: f.name().into(),
                label: None,
                transform: if i % 3 == 0 {
                    Transform::Log1p
                } else {
                    Transform::Identity
                },
                mean: 0.5 * i as f64,
                scale: 1.0 + i as f64,
                coefficient: match f.kind() {
                    crate::domain::profile::FeatureKind::Flag => 0.7,
                    _ if i % 5 == 0 => 0.0,
                    _ => 0.3 - 0.05 * i as f64,
                },
            })
            .collect();
        weights.push(FeatureWeight {
            name: "extra.app_rating".into(),
            label: None,
            transform: Transform::Identity,
            mean: 3.0,
            scale: 1.0,
            coefficient: -0.4,
        });
        let mut m = sample_model();
        m.churn = ChurnModel::new(-1.2, weights.clone(), 12).unwrap();
        // Learned uplift for rm_call (fee_waiver keeps its prior): models of the same features.
        let shifted = |intercept: f64, factor: f64| {
            let w = weights
                .iter()
                .map(|f| FeatureWeight {
                    coefficient: f.coefficient * factor,
                    ..f.clone()
                })
                .collect();
            ChurnModel::new(intercept, w, 12).unwrap()
        };
        let learned = UpliftModels::new(
            &m.churn,
            &m.actions,
            shifted(-1.0, 1.1),
            vec![("rm_call".into(), shifted(-1.6, 0.9))],
        )
        .unwrap();
        let mut seed = 7u64;
        let mut next = move |n: u32| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            ((seed >> 33) % u64::from(n)) as u32
        };
        let profiles: Vec<CustomerProfile> = (0..300)
            .map(|i| {
                let mut p = sample_profile();
                p.tenure_months = next(400);
                p.complaints_12m = next(4);
                p.open_complaint = next(2) == 1;
                p.fee_increase_6m = next(2) == 1;
                p.total_balance = f64::from(next(50_000));
                p.annual_margin = f64::from(next(3_000)) - 500.0;
                p.days_since_last_contact = next(200);
                if i != 17 {
                    p.extra_features
                        .insert("app_rating".into(), f64::from(next(5)));
                }
                p
            })
            .collect();
        let with_learned = ScoringModel {
            uplift: Some(learned),
            ..m.clone()
        };
        let mut learned_options = 0;
        for (m, k) in [
            (&m, 0),
            (&m, 1),
            (&m, 3),
            (&m, 5),
            (&m, 40),
            (&with_learned, 3),
        ] {
            let opts = AssessOptions {
                max_reasons: k,
                include_ineligible: true,
            };
            let mut scratch = BlockScratch::default();
            let mut seen = Vec::new();
            for block in profiles.chunks(128) {
                let skip = |r: usize| r == 5;
                m.assess_block(block, skip, opts, &mut scratch, |r, got| {
                    if let Ok(a) = got {
                        learned_options += a
                            .decision
                            .ranked
                            .iter()
                            .filter(|o| {
                                matches!(o.source, arbitration::UpliftSource::Learned { .. })
                            })
                            .count();
                    }
                    let want = m.assess(&block[r], opts);
                    assert_eq!(
                        got.map_err(|e| e.key),
                        want.as_ref().map_err(|e| e.key.clone())
                    );
                    seen.push(r);
                });
            }
            // Every row but the skipped ones, in order, and the missing extra feature reported.
            let expected: Vec<usize> = profiles
                .chunks(128)
                .flat_map(|b| (0..b.len()).filter(|&r| r != 5))
                .collect();
            assert_eq!(seen, expected, "k = {k}");
        }
        // The learned run compared learned options, bit for bit.
        assert!(learned_options > 100, "{learned_options}");
        let no_rating = m.assess(&profiles[17], AssessOptions::default());
        assert_eq!(no_rating.unwrap_err().key, "app_rating");
    }
}
