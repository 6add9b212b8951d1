//! A seeded synthetic campaign history with a known, heterogeneous uplift, to test that bankscore
//! learns per-customer uplift (one churn model per action on its treated customers and one on the
//! control group, DOMAIN §5) and finds who each action helps, and who it drives away.
//!
//! Customers come from [`synthetic::Generator`]: the same seed gives the same customers as
//! `bankscore generate`. Each is put, independently and at random, in the control group (no
//! action) or given one of the [`CAMPAIGN_ACTIONS`]; the action shifts the customer's true churn
//! log-odds by [`log_odds_shift`], and the outcome is drawn from the probability of the arm they
//! got. A control customer's outcome is the label `generate` writes for them.

use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::synthetic::{self, churn_probability, Generator};
use crate::domain::profile::CustomerProfile;

/// The actions of the default catalog (`default_actions.toml`), in its order; an arm is an index
/// into this list.
pub const CAMPAIGN_ACTIONS: [&str; 7] = [
    "resolve_complaint",
    "rm_call",
    "deposit_rate_bonus",
    "fee_waiver",
    "salary_switch_offer",
    "autopay_setup",
    "reactivation_offer",
];

/// The `action` value of a customer in the control group.
pub const CONTROL: &str = "control";

/// Share of customers in the control group unless told otherwise.
pub const DEFAULT_CONTROL_SHARE: f64 = 0.25;

/// Prefix of the side columns holding the true uplift of each action. They are the answer a
/// model should find, never a feature: training reads only the bundle's feature list.
pub const TRUE_UPLIFT_PREFIX: &str = "true_uplift.";

/// Why a campaign history cannot be generated.
#[derive(Debug, thiserror::Error)]
pub enum CampaignHistoryError {
    /// The control share must leave both a control group and treated customers.
    #[error("control share {control_share} is outside (0, 1)")]
    ControlShareOutOfRange {
        /// The share given.
        control_share: f64,
    },
    /// The history cannot be written.
    #[error("writing the campaign history")]
    Write(#[from] csv::Error),
}

/// `control_share` if it lies strictly between 0 and 1.
///
/// # Errors
/// [`CampaignHistoryError::ControlShareOutOfRange`] otherwise (NaN included).
pub fn check_control_share(control_share: f64) -> Result<f64, CampaignHistoryError> {
    if control_share > 0.0 && control_share < 1.0 {
        Ok(control_share)
    } else {
        Err(CampaignHistoryError::ControlShareOutOfRange { control_share })
    }
}

/// The true effect of action `action` (an index into [`CAMPAIGN_ACTIONS`]) on the churn
/// log-odds of customer `p`: negative keeps the customer, positive drives them away. It depends
/// only on observable features, so a model can learn it.
///
/// | action | customers | shift |
/// |---|---|---|
/// | `resolve_complaint` | `open_complaint` | −1.5 |
/// | | no open complaint | 0 |
/// | `rm_call` | `age_years >= 35` | −0.8 |
/// | | `age_years < 35` | **+0.6** (the call itself drives them away) |
/// | `deposit_rate_bonus` | falling balance, `balance_trend_3m <= -0.10` | −0.9 |
/// | | otherwise | −0.2 |
/// | `fee_waiver` | `fee_increase_6m` | −1.0 |
/// | | otherwise | −0.1 |
/// | `salary_switch_offer` | salary not credited | −0.7 |
/// | | `salary_credited` | 0 |
/// | `autopay_setup` | `direct_debits <= 1` | −0.5 |
/// | | otherwise | 0 |
/// | `reactivation_offer` | sleeping, `days_since_last_activity >= 180` | −1.2 |
/// | | otherwise | 0 |
///
/// # Panics
/// `action` is not an index into [`CAMPAIGN_ACTIONS`].
pub fn log_odds_shift(action: usize, p: &CustomerProfile) -> f64 {
    let pick = |yes: bool, then: f64, otherwise: f64| if yes { then } else { otherwise };
    match action {
        0 => pick(p.open_complaint, -1.5, 0.0),
        1 => pick(p.age_years >= 35, -0.8, 0.6),
        2 => pick(p.balance_trend_3m <= -0.10, -0.9, -0.2),
        3 => pick(p.fee_increase_6m, -1.0, -0.1),
        4 => pick(!p.salary_credited, -0.7, 0.0),
        5 => pick(p.direct_debits <= 1, -0.5, 0.0),
        6 => pick(p.days_since_last_activity >= 180, -1.2, 0.0),
        _ => panic!(
            "action {action} is not one of the {} campaign actions",
            CAMPAIGN_ACTIONS.len()
        ),
    }
}

/// One customer of a campaign history.
#[derive(Debug, Clone)]
pub struct CampaignCustomer {
    /// The profile, as `bankscore generate` gives it for the same seed.
    pub profile: CustomerProfile,
    /// The true churn log-odds without any action (hidden dissatisfaction included).
    pub churn_log_odds: f64,
    /// The action the customer got (an index into [`CAMPAIGN_ACTIONS`]), or `None` for control.
    pub arm: Option<usize>,
    /// The probability of getting that arm.
    pub propensity: f64,
    /// Whether the customer left, under the arm they got.
    pub churned: bool,
    /// Per action, the true uplift `p0 − p_a`: how much the action lowers this customer's churn
    /// probability (negative: it raises it), whatever arm they got.
    pub true_uplift: [f64; 7],
}

impl CampaignCustomer {
    /// The `action` column: the action id, or [`CONTROL`].
    pub fn action(&self) -> &'static str {
        self.arm.map_or(CONTROL, |a| CAMPAIGN_ACTIONS[a])
    }
}

/// A deterministic stream of campaign customers: the same seed and control share give the same
/// customers, arms and outcomes.
pub struct CampaignGenerator {
    customers: Generator,
    /// Arm assignment, on a stream of its own so the customers stay those of [`Generator`].
    arms: ChaCha8Rng,
    control_share: f64,
}

impl CampaignGenerator {
    /// A generator seeded with `seed` that puts each customer in the control group with
    /// probability `control_share`, and otherwise gives them one action, uniformly.
    ///
    /// # Errors
    /// `control_share` is outside (0, 1).
    pub fn new(seed: u64, control_share: f64) -> Result<Self, CampaignHistoryError> {
        let mut arms = ChaCha8Rng::seed_from_u64(seed);
        arms.set_stream(1);
        Ok(Self {
            customers: Generator::new(seed),
            arms,
            control_share: check_control_share(control_share)?,
        })
    }

    /// The next customer.
    pub fn next_customer(&mut self) -> CampaignCustomer {
        let latent = self.customers.next_latent_customer();
        let arm = if self.arms.gen::<f64>() < self.control_share {
            None
        } else {
            Some(self.arms.gen_range(0..CAMPAIGN_ACTIONS.len()))
        };
        let propensity = match arm {
            None => self.control_share,
            Some(_) => (1.0 - self.control_share) / CAMPAIGN_ACTIONS.len() as f64,
        };
        let logit = latent.churn_log_odds;
        let p0 = churn_probability(logit);
        let true_uplift = std::array::from_fn(|a| {
            p0 - churn_probability(logit + log_odds_shift(a, &latent.profile))
        });
        let churned =
            latent.churns_at(logit + arm.map_or(0.0, |a| log_odds_shift(a, &latent.profile)));
        CampaignCustomer {
            profile: latent.profile,
            churn_log_odds: logit,
            arm,
            propensity,
            churned,
            true_uplift,
        }
    }
}

/// Writes `rows` campaign customers as CSV: `customer_id` and every typed feature (as
/// [`synthetic::write_csv`] writes them), then `action` (an id of [`CAMPAIGN_ACTIONS`] or
/// `control`), `propensity`, `churned` (0/1), then the side columns `true_uplift.<action id>`
/// for every action. The side columns are the known answer, not features: never train on them.
///
/// # Errors
/// `control_share` is outside (0, 1), or the writer fails.
pub fn write_campaign_history_csv<W: Write>(
    out: W,
    rows: u64,
    seed: u64,
    control_share: f64,
) -> Result<(), CampaignHistoryError> {
    let mut g = CampaignGenerator::new(seed, control_share)?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(out));
    let mut header: Vec<String> = synthetic::profile_header()
        .into_iter()
        .map(str::to_owned)
        .collect();
    header.extend(["action", "propensity", synthetic::LABEL].map(str::to_owned));
    header.extend(
        CAMPAIGN_ACTIONS
            .iter()
            .map(|a| format!("{TRUE_UPLIFT_PREFIX}{a}")),
    );
    w.write_record(&header)?;
    let mut record: Vec<String> = Vec::with_capacity(header.len());
    for _ in 0..rows {
        let c = g.next_customer();
        record.clear();
        synthetic::push_profile(&mut record, &c.profile);
        record.push(c.action().to_owned());
        record.push(c.propensity.to_string());
        record.push(u8::from(c.churned).to_string());
        record.extend(c.true_uplift.iter().map(f64::to_string));
        w.write_record(&record)?;
    }
    w.flush().map_err(csv::Error::from)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(seed: u64, n: usize) -> Vec<CampaignCustomer> {
        let mut g = CampaignGenerator::new(seed, DEFAULT_CONTROL_SHARE).unwrap();
        (0..n).map(|_| g.next_customer()).collect()
    }

    /// Observed churn rate of the customers `keep` selects.
    fn churn_rate<'a>(
        customers: impl Iterator<Item = &'a CampaignCustomer>,
        keep: impl Fn(&CampaignCustomer) -> bool,
    ) -> (f64, usize) {
        let (mut n, mut churned) = (0, 0);
        for c in customers.filter(|c| keep(c)) {
            n += 1;
            churned += usize::from(c.churned);
        }
        (churned as f64 / n as f64, n)
    }

    #[test]
    fn the_campaign_actions_are_the_default_catalogs_actions_in_its_order() {
        let catalog: crate::domain::ActionCatalog =
            toml::from_str(crate::training::DEFAULT_ACTIONS_TOML).unwrap();
        let ids: Vec<&str> = catalog.actions.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, CAMPAIGN_ACTIONS);
    }

    #[test]
    fn the_same_seed_gives_the_same_rows_and_another_seed_other_rows() {
        let write = |seed| {
            let mut out = Vec::new();
            write_campaign_history_csv(&mut out, 300, seed, 0.3).unwrap();
            out
        };
        assert_eq!(write(11), write(11));
        assert_ne!(write(11), write(12));
    }

    #[test]
    fn the_customers_and_control_outcomes_are_those_of_generate_for_the_same_seed() {
        let mut plain = Generator::new(3);
        for c in history(3, 2_000) {
            let p = plain.next_customer();
            assert_eq!(c.profile, p.profile);
            if c.arm.is_none() {
                assert_eq!(c.churned, p.churned, "{}", c.profile.customer_id);
            }
        }
    }

    #[test]
    fn the_control_share_and_propensities_are_as_asked() {
        let mut g = CampaignGenerator::new(5, 0.4).unwrap();
        let n = 20_000;
        let customers: Vec<_> = (0..n).map(|_| g.next_customer()).collect();
        let control = customers.iter().filter(|c| c.arm.is_none()).count() as f64 / n as f64;
        assert!((0.38..0.42).contains(&control), "control share {control}");
        for (a, id) in CAMPAIGN_ACTIONS.iter().enumerate() {
            let share = customers.iter().filter(|c| c.arm == Some(a)).count() as f64 / n as f64;
            assert!((0.07..0.10).contains(&share), "{id}: {share}");
        }
        for c in &customers {
            let expected = if c.arm.is_none() { 0.4 } else { 0.6 / 7.0 };
            assert_eq!(c.propensity, expected);
        }
    }

    #[test]
    fn a_control_share_outside_zero_to_one_is_refused() {
        for bad in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
            assert!(
                CampaignGenerator::new(1, bad).is_err(),
                "control share {bad} was accepted"
            );
        }
        let mut out = Vec::new();
        let err = write_campaign_history_csv(&mut out, 10, 1, 1.0).unwrap_err();
        assert_eq!(err.to_string(), "control share 1 is outside (0, 1)");
    }

    #[test]
    fn true_uplift_is_p0_minus_p_a_recomputed_from_the_log_odds() {
        let sigmoid = crate::domain::churn::sigmoid;
        for c in history(9, 2_000) {
            let p0 = sigmoid(c.churn_log_odds);
            for a in 0..CAMPAIGN_ACTIONS.len() {
                let p_a = sigmoid(c.churn_log_odds + log_odds_shift(a, &c.profile));
                assert!((c.true_uplift[a] - (p0 - p_a)).abs() < 1e-12);
            }
            // rm_call is the one action that harms a segment: the under-35s.
            assert_eq!(c.true_uplift[1] < 0.0, c.profile.age_years < 35);
        }
    }

    #[test]
    fn rm_call_raises_churn_under_35_and_lowers_it_from_35() {
        let customers = history(21, 50_000);
        let rm_call = Some(1);
        for (young, raised) in [(true, true), (false, false)] {
            let segment = |c: &CampaignCustomer| (c.profile.age_years < 35) == young;
            let (treated, n_t) = churn_rate(customers.iter(), |c| c.arm == rm_call && segment(c));
            let (control, n_c) = churn_rate(customers.iter(), |c| c.arm.is_none() && segment(c));
            assert!(n_t > 500 && n_c > 1_000, "{n_t} treated, {n_c} control");
            assert_eq!(
                treated > control + 0.03,
                raised,
                "under 35: {young}; treated {treated:.3}, control {control:.3}"
            );
            assert_eq!(
                treated < control - 0.03,
                !raised,
                "under 35: {young}; treated {treated:.3}, control {control:.3}"
            );
        }
    }

    #[test]
    fn resolve_complaint_works_only_on_an_open_complaint() {
        let customers = history(22, 50_000);
        let effect = |open: bool| {
            let segment = |c: &CampaignCustomer| c.profile.open_complaint == open;
            let (treated, _) = churn_rate(customers.iter(), |c| c.arm == Some(0) && segment(c));
            let (control, _) = churn_rate(customers.iter(), |c| c.arm.is_none() && segment(c));
            control - treated
        };
        let without = effect(false);
        assert!(
            without.abs() < 0.02,
            "effect without a complaint {without:.3}"
        );
        let with = effect(true);
        assert!(with > 0.15, "effect with an open complaint {with:.3}");
    }
}
