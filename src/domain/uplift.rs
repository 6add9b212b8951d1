//! Learned uplift (a T-learner): one churn model fitted on the control group of past campaigns
//! and one per action on the customers who got it. For customer `x` and action `a`,
//! `τ_a(x) = p_control(x) − p_a(x)`: the reduction in churn probability that contact with `a`
//! buys (negative when contact makes leaving likelier).
//!
//! Every model has exactly the base churn model's features, in the same order and with the same
//! transforms (each with its own mean, scale and coefficient), so a customer's transformed
//! values are computed once and shared by all the models.
//!
//! Length: the tests of τ against the files and of the block path sit beside it (about 130 lines).

use super::actions::ActionCatalog;
use super::arbitration::LearnedUplift;
use super::churn::{sigmoid, ChurnBlock, ChurnModel};
use super::profile::{CustomerProfile, Transform};

/// Why a set of uplift models cannot serve with a bundle.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpliftModelError {
    /// A model's feature list differs from the base model's.
    #[error("{model}: feature {position} is `{got}`, model.json has `{expected}` there (an uplift model must have exactly model.json's features, in order, with the same transforms)")]
    FeatureMismatch {
        /// The model (`control` or the action id).
        model: String,
        /// 1-based position.
        position: usize,
        /// What model.json has there (`name (transform)`, or `nothing`).
        expected: String,
        /// What the uplift model has there.
        got: String,
    },
    /// A model's horizon differs from the base model's.
    #[error("{model}: horizon_months is {got}, model.json has {expected}")]
    HorizonMismatch {
        /// The model.
        model: String,
        /// model.json's horizon.
        expected: u32,
        /// The uplift model's horizon.
        got: u32,
    },
    /// A model for an action the catalog does not have.
    #[error("`{action}` is not an action of actions.toml")]
    UnknownAction {
        /// The action id.
        action: String,
    },
    /// Two models for one action.
    #[error("`{action}` has two uplift models")]
    DuplicateAction {
        /// The action id.
        action: String,
    },
}

/// A bundle's learned uplift models, indexed by the catalog's action order.
#[derive(Debug, Clone)]
pub struct UpliftModels {
    control: ChurnModel,
    arms: Vec<Option<ChurnModel>>,
    /// Every model's intercept: the control group's, then each learned action's in catalog order.
    intercepts: Vec<f64>,
    /// Feature-major `(mean, per_unit)` of every model, in `intercepts`' order, so one pass over
    /// a customer's features computes all the log-odds at once.
    terms: Vec<(f64, f64)>,
    /// Catalog action → its model's index in `intercepts`.
    slot: Vec<Option<usize>>,
}

impl UpliftModels {
    /// Checks `control` and each `(action id, model)` against the base model's features and the
    /// catalog.
    ///
    /// # Errors
    /// A model whose features, transforms or horizon differ from `base`, an action the catalog
    /// lacks, or an action given twice.
    pub fn new(
        base: &ChurnModel,
        catalog: &ActionCatalog,
        control: ChurnModel,
        arms: Vec<(String, ChurnModel)>,
    ) -> Result<Self, UpliftModelError> {
        same_features(base, "control", &control)?;
        let mut by_action: Vec<Option<ChurnModel>> = vec![None; catalog.actions.len()];
        for (id, model) in arms {
            same_features(base, &id, &model)?;
            let index = catalog
                .actions
                .iter()
                .position(|a| a.id == id)
                .ok_or_else(|| UpliftModelError::UnknownAction { action: id.clone() })?;
            if by_action[index].is_some() {
                return Err(UpliftModelError::DuplicateAction { action: id });
            }
            by_action[index] = Some(model);
        }
        let models: Vec<&ChurnModel> = std::iter::once(&control)
            .chain(by_action.iter().flatten())
            .collect();
        let intercepts = models.iter().map(|m| m.intercept()).collect();
        let terms = (0..base.features().len())
            .flat_map(|j| models.iter().map(move |m| m.standardization(j)))
            .collect();
        let mut next = 0;
        let slot = by_action
            .iter()
            .map(|arm| {
                arm.as_ref().map(|_| {
                    next += 1;
                    next
                })
            })
            .collect();
        Ok(Self {
            control,
            arms: by_action,
            intercepts,
            terms,
            slot,
        })
    }

    /// The control-group model.
    pub fn control(&self) -> &ChurnModel {
        &self.control
    }

    /// The model of catalog action `index`, if one was learned.
    pub fn arm(&self, index: usize) -> Option<&ChurnModel> {
        self.arms.get(index).and_then(Option::as_ref)
    }

    /// `τ_a(x)` for every catalog action with a model, as `(index, p_control, p_action)`, for
    /// offline analysis (the arbitration uses [`UpliftModels::for_customer`]).
    pub fn probabilities(&self, base: &ChurnModel, p: &CustomerProfile) -> Vec<(usize, f64, f64)> {
        let mut customer = self.for_customer(base, p);
        (0..self.arms.len())
            .filter_map(|i| customer.probabilities(i).map(|(c, a)| (i, c, a)))
            .collect()
    }

    /// An evaluator for one customer whose transformed values the base model has already
    /// computed ([`ChurnModel::predict_with_transformed`]): every model's log-odds are computed
    /// once, when an eligible action with a learned model first asks.
    ///
    /// # Panics
    /// `transformed` does not have one value per feature of `base`.
    pub fn for_customer_with<'a>(
        &'a self,
        base: &ChurnModel,
        transformed: &'a [f64],
    ) -> CustomerUplift<'a> {
        assert_eq!(
            transformed.len(),
            base.features().len(),
            "one value per feature"
        );
        CustomerUplift {
            models: self,
            values: std::borrow::Cow::Borrowed(transformed),
            log_odds: [0.0; MODELS_ON_STACK],
            log_odds_heap: Vec::new(),
            p_control: None,
        }
    }

    /// An evaluator for one customer, its transformed values computed here (offline analysis;
    /// scoring shares those of the churn prediction, see [`UpliftModels::for_customer_with`]).
    /// A customer lacking an extra feature gets no learned uplift (the priors apply).
    pub fn for_customer<'a>(
        &'a self,
        base: &ChurnModel,
        profile: &CustomerProfile,
    ) -> CustomerUplift<'a> {
        let mut values = vec![0.0; base.features().len()];
        if base.transformed_values(profile, &mut values).is_err() {
            values.clear();
        }
        CustomerUplift {
            models: self,
            values: std::borrow::Cow::Owned(values),
            log_odds: [0.0; MODELS_ON_STACK],
            log_odds_heap: Vec::new(),
            p_control: None,
        }
    }
}

fn same_features(
    base: &ChurnModel,
    model: &str,
    other: &ChurnModel,
) -> Result<(), UpliftModelError> {
    if other.horizon_months() != base.horizon_months() {
        return Err(UpliftModelError::HorizonMismatch {
            model: model.to_owned(),
            expected: base.horizon_months(),
            got: other.horizon_months(),
        });
    }
    let (a, b) = (base.features(), other.features());
    let describe = |f: Option<&super::churn::FeatureWeight>| {
        f.map_or_else(
            || "nothing".to_owned(),
            |f| format!("{} ({:?})", f.name, f.transform).to_lowercase(),
        )
    };
    for position in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(position), b.get(position));
        let same =
            matches!((x, y), (Some(x), Some(y)) if x.name == y.name && x.transform == y.transform);
        if !same {
            return Err(UpliftModelError::FeatureMismatch {
                model: model.to_owned(),
                position: position + 1,
                expected: describe(x),
                got: describe(y),
            });
        }
    }
    Ok(())
}

/// Log-odds of every uplift model over a block of customers (offline files, ScoreStream),
/// computed feature by feature from the base model's block values.
#[derive(Debug, Default)]
pub struct UpliftBlock {
    rows: usize,
    /// Model-major: the control model's rows, then each learned action's.
    log_odds: Vec<f64>,
    /// Catalog action index → its model's slot in `log_odds` (0 = control).
    slot: Vec<Option<usize>>,
    transformed: Vec<f64>,
}

impl UpliftModels {
    /// Fills `block` with every model's log-odds for the rows of `churn` (the base model's last
    /// [`ChurnModel::predict_block`]). Bit-identical to [`UpliftModels::for_customer`]'s.
    pub fn predict_block(&self, base: &ChurnModel, churn: &ChurnBlock, block: &mut UpliftBlock) {
        let n = churn.rows();
        block.rows = n;
        block.slot.clear();
        let mut models: Vec<&ChurnModel> = vec![&self.control];
        for arm in &self.arms {
            block.slot.push(arm.as_ref().map(|m| {
                models.push(m);
                models.len() - 1
            }));
        }
        block.log_odds.clear();
        for m in &models {
            block.log_odds.extend(std::iter::repeat_n(m.intercept(), n));
        }
        block.transformed.resize(n, 0.0);
        for feature in 0..base.features().len() {
            let raw = churn.raw_values(feature);
            // The identity leaves the value as it is; log1p values the churn block kept are
            // reused (see ChurnBlock::keep_transformed).
            let transformed: &[f64] =
                match (base.transform(feature), churn.transformed_values(feature)) {
                    (Transform::Identity, _) => raw,
                    (_, Some(kept)) => kept,
                    (transform, None) => {
                        for (t, &x) in block.transformed.iter_mut().zip(raw) {
                            *t = transform.apply(x);
                        }
                        &block.transformed
                    }
                };
            for (m, z) in models.iter().zip(block.log_odds.chunks_exact_mut(n.max(1))) {
                m.add_block_terms(feature, transformed, z);
            }
        }
    }
}

impl UpliftBlock {
    /// The learned uplift of row `row` of the last block.
    pub fn row(&self, row: usize) -> BlockRowUplift<'_> {
        BlockRowUplift { block: self, row }
    }
}

/// [`UpliftBlock`]'s answers for one row.
#[derive(Debug, Clone, Copy)]
pub struct BlockRowUplift<'a> {
    block: &'a UpliftBlock,
    row: usize,
}

impl LearnedUplift for BlockRowUplift<'_> {
    fn probabilities(&mut self, action: usize) -> Option<(f64, f64)> {
        let b = self.block;
        let slot = (*b.slot.get(action)?)?;
        let z = |s: usize| b.log_odds[s * b.rows + self.row];
        Some((sigmoid(z(0)), sigmoid(z(slot))))
    }
}

/// Log-odds on the stack for catalogs of up to 7 actions (and the control group).
const MODELS_ON_STACK: usize = 8;

/// [`UpliftModels`] for one customer: see [`UpliftModels::for_customer_with`].
#[derive(Debug)]
pub struct CustomerUplift<'a> {
    models: &'a UpliftModels,
    /// The customer's transformed feature values (empty when they could not be read).
    values: std::borrow::Cow<'a, [f64]>,
    /// Every model's log-odds in [`UpliftModels`]' order: in `log_odds` for up to
    /// [`MODELS_ON_STACK`] models, else in `log_odds_heap`.
    log_odds: [f64; MODELS_ON_STACK],
    log_odds_heap: Vec<f64>,
    /// The control group's churn probability, once computed (with every log-odds).
    p_control: Option<f64>,
}

impl CustomerUplift<'_> {
    /// Every model's log-odds in one pass over the features: the models' sums are independent,
    /// so the CPU overlaps them; each is still summed in feature order from its intercept, as
    /// [`ChurnModel::probability_from_transformed`] sums it (bit-identical). Returns
    /// `p_control`.
    fn compute(&mut self) -> Option<f64> {
        if let Some(p) = self.p_control {
            return Some(p);
        }
        if self.values.is_empty() {
            return None;
        }
        let models = self.models;
        let k = models.intercepts.len();
        let z: &mut [f64] = if k <= MODELS_ON_STACK {
            &mut self.log_odds[..k]
        } else {
            self.log_odds_heap.resize(k, 0.0);
            &mut self.log_odds_heap
        };
        z.copy_from_slice(&models.intercepts);
        for (terms, &t) in models.terms.chunks_exact(k).zip(self.values.iter()) {
            for (z, &(mean, per_unit)) in z.iter_mut().zip(terms) {
                *z += (t - mean) * per_unit;
            }
        }
        let p = sigmoid(z[0]);
        self.p_control = Some(p);
        Some(p)
    }
}

impl LearnedUplift for CustomerUplift<'_> {
    fn probabilities(&mut self, action: usize) -> Option<(f64, f64)> {
        let slot = (*self.models.slot.get(action)?)?;
        let p_control = self.compute()?;
        let z = if self.models.intercepts.len() <= MODELS_ON_STACK {
            self.log_odds[slot]
        } else {
            self.log_odds_heap[slot]
        };
        Some((p_control, sigmoid(z)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::actions::tests::{action, policy};
    use crate::domain::churn::FeatureWeight;
    use crate::domain::profile::tests::sample_profile;
    use crate::domain::profile::Transform;

    fn model(intercept: f64, tenure: f64, complaints: f64) -> ChurnModel {
        let w = |name: &str, transform, mean, scale, coefficient| FeatureWeight {
            name: name.into(),
            label: None,
            transform,
            mean,
            scale,
            coefficient,
        };
        ChurnModel::new(
            intercept,
            vec![
                w("tenure_months", Transform::Log1p, 3.5, 1.2, tenure),
                w("complaints_12m", Transform::Identity, 0.5, 1.0, complaints),
            ],
            12,
        )
        .unwrap()
    }

    fn catalog() -> ActionCatalog {
        ActionCatalog {
            contact_policy: policy(),
            actions: vec![
                action("fee_waiver", 25.0, 0.2),
                action("rm_call", 40.0, 0.3),
            ],
        }
    }

    #[test]
    fn tau_is_the_control_models_churn_minus_the_actions() {
        let base = model(-1.0, -0.5, 0.8);
        let control = model(-1.2, -0.4, 0.9);
        let fee = model(-1.6, -0.4, 0.3);
        let m = UpliftModels::new(
            &base,
            &catalog(),
            control.clone(),
            vec![("fee_waiver".into(), fee.clone())],
        )
        .unwrap();
        let p = sample_profile();
        let mut customer = m.for_customer(&base, &p);
        let (pc, pa) = customer.probabilities(0).unwrap();
        // Bit-identical to each model scored on its own, as a validator would recompute it.
        assert_eq!(pc, control.probability(&p).unwrap());
        assert_eq!(pa, fee.probability(&p).unwrap());
        assert!(pc > pa);
        // rm_call has no learned model: the prior applies.
        assert_eq!(customer.probabilities(1), None);
        // With the transformed values the base model computed while predicting: the same.
        let mut transformed = [0.0; 2];
        let prediction = base
            .predict_with_transformed(&p, 3, &mut transformed)
            .unwrap();
        assert_eq!(prediction, base.predict(&p, 3).unwrap());
        let mut shared = m.for_customer_with(&base, &transformed);
        assert_eq!(shared.probabilities(0), Some((pc, pa)));
        assert_eq!(m.probabilities(&base, &p), vec![(0, pc, pa)]);
    }

    #[test]
    fn a_model_with_other_features_or_an_unknown_action_is_refused() {
        let base = model(-1.0, -0.5, 0.8);
        let mut other = base.features().to_vec();
        other[1].transform = Transform::Log1p;
        let other = ChurnModel::new(-1.0, other, 12).unwrap();
        let err = UpliftModels::new(&base, &catalog(), other.clone(), vec![]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "control: feature 2 is `complaints_12m (log1p)`, model.json has `complaints_12m (identity)` there \
             (an uplift model must have exactly model.json's features, in order, with the same transforms)"
        );
        let short = ChurnModel::new(-1.0, base.features()[..1].to_vec(), 12).unwrap();
        let err = UpliftModels::new(
            &base,
            &catalog(),
            base.clone(),
            vec![("rm_call".into(), short)],
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("rm_call: feature 2 is `nothing`"),
            "{err}"
        );
        let err = UpliftModels::new(
            &base,
            &catalog(),
            base.clone(),
            vec![("mailing".into(), base.clone())],
        )
        .unwrap_err();
        assert_eq!(
            err,
            UpliftModelError::UnknownAction {
                action: "mailing".into()
            }
        );
        let err = UpliftModels::new(
            &base,
            &catalog(),
            base.clone(),
            vec![
                ("rm_call".into(), base.clone()),
                ("rm_call".into(), base.clone()),
            ],
        )
        .unwrap_err();
        assert!(matches!(err, UpliftModelError::DuplicateAction { .. }));
        let six = ChurnModel::new(-1.0, base.features().to_vec(), 6).unwrap();
        assert!(matches!(
            UpliftModels::new(&base, &catalog(), six, vec![]),
            Err(UpliftModelError::HorizonMismatch {
                expected: 12,
                got: 6,
                ..
            })
        ));
    }
}
