//! A seeded generator of realistic synthetic bank customers whose churn follows the drivers of
//! DOMAIN §3: short tenure, few products, no salary credited, falling balances and activity,
//! complaints, fee increases, closed products and long inactivity make customers leave; switching
//! costs (mortgage, salary, direct debits) and attachment (tenure, a relationship manager) hold them.
//!
//! A hidden dissatisfaction variable drives both the warning signs and churn, so the observable
//! features predict churn well but not perfectly, as in real data.

use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal, Normal, Poisson};

use crate::domain::profile::{BuiltinFeature, CustomerProfile};

/// Name of the label column the generator writes (1 = churned within 12 months).
pub const LABEL: &str = "churned";

/// One synthetic customer with its churn outcome.
#[derive(Debug, Clone)]
pub struct SyntheticCustomer {
    /// The profile.
    pub profile: CustomerProfile,
    /// Whether the customer left within the horizon.
    pub churned: bool,
}

/// One synthetic customer before the churn outcome is decided: the profile, the true churn
/// log-odds behind it and the customer's own outcome draw.
///
/// [`Generator::next_customer`] decides the outcome with no action; a campaign history
/// (`campaign_history`) shifts the log-odds by the effect of the action the customer got first.
#[derive(Debug, Clone)]
pub struct LatentCustomer {
    /// The profile.
    pub profile: CustomerProfile,
    /// The true churn log-odds without any retention action, hidden dissatisfaction included,
    /// so it is not recoverable from the profile alone.
    pub churn_log_odds: f64,
    /// Uniform in [0, 1): the customer churns when it is below their churn probability.
    pub outcome_draw: f64,
}

impl LatentCustomer {
    /// Whether the customer churns when their churn log-odds are `log_odds`.
    ///
    /// The same draw decides every arm, so an action that lowers the log-odds never turns a
    /// stayer into a churner.
    pub fn churns_at(&self, log_odds: f64) -> bool {
        self.outcome_draw < churn_probability(log_odds)
    }
}

/// The churn probability for churn log-odds `log_odds` (the logistic function, written as the
/// generator has always computed it so that a seed keeps giving the same labels).
pub fn churn_probability(log_odds: f64) -> f64 {
    1.0 / (1.0 + (-log_odds).exp())
}

/// A deterministic stream of synthetic customers: the same seed gives the same customers.
pub struct Generator {
    rng: ChaCha8Rng,
    next_id: u64,
}

impl Generator {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            next_id: 1,
        }
    }

    fn poisson(&mut self, mean: f64) -> u32 {
        if mean <= 0.0 {
            return 0;
        }
        Poisson::new(mean).map_or(0, |d| d.sample(&mut self.rng) as u32)
    }

    fn bernoulli(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p.clamp(0.0, 1.0))
    }

    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        Normal::new(mean, sd).map_or(mean, |d| d.sample(&mut self.rng))
    }

    /// The next customer, with the churn outcome they have when no action is taken.
    pub fn next_customer(&mut self) -> SyntheticCustomer {
        let c = self.next_latent_customer();
        let churned = c.churns_at(c.churn_log_odds);
        SyntheticCustomer {
            profile: c.profile,
            churned,
        }
    }

    /// The next customer before the outcome is decided. Draws exactly what
    /// [`Generator::next_customer`] draws, in the same order (the outcome draw last), so both
    /// give the same customers for a seed.
    pub fn next_latent_customer(&mut self) -> LatentCustomer {
        let id = self.next_id;
        self.next_id += 1;
        // Hidden dissatisfaction: drives warning signs and churn.
        let d = self.normal(0.0, 1.0);

        let age_years = self.normal(45.0, 15.0).clamp(18.0, 95.0) as u32;
        let max_tenure = f64::from((age_years - 18) * 12);
        let tenure_months = (self.rng.gen::<f64>().powf(1.6) * 360.0).min(max_tenure) as u32;
        let has_mortgage = self.bernoulli(if (28..=58).contains(&age_years) {
            0.25
        } else {
            0.06
        });
        let salary_credited = self.bernoulli(0.55);
        let products_closed_12m = self.poisson(0.12 * (0.7 * d).exp());
        let products_held = 1
            + self.poisson(1.0 + f64::from(tenure_months) / 120.0)
            + u32::from(has_mortgage)
            + u32::from(salary_credited);
        let direct_debits = self.poisson(1.0 + 3.0 * f64::from(u8::from(salary_credited)));
        let age_factor = 0.5 + f64::from(age_years.min(70)) / 70.0;
        let balance_dist = LogNormal::new((6_000.0 * age_factor).ln(), 1.3).expect("valid");
        let total_balance = (balance_dist.sample(&mut self.rng) * 100.0).round() / 100.0;
        let has_relationship_manager =
            self.bernoulli(if total_balance > 60_000.0 { 0.6 } else { 0.03 });
        let balance_trend_3m = self.normal(0.02 - 0.09 * d, 0.12).clamp(-1.0, 3.0);
        let transactions_trend_3m = self.normal(0.0 - 0.08 * d, 0.15).clamp(-1.0, 3.0);
        let digital_logins_30d = self.poisson(14.0 * (-0.45 * d).exp());
        let transactions_30d = self.poisson(35.0 * (-0.3 * d).exp());
        let complaints_12m = self.poisson(0.15 * (0.9 * d).exp());
        let open_complaint = complaints_12m > 0 && self.bernoulli(0.35);
        let fee_increase_6m = self.bernoulli(0.15);
        let sleeping = self.bernoulli(0.05);
        let days_since_last_activity = if sleeping {
            self.rng.gen_range(180..900)
        } else {
            let mean = 4.0 * (0.8 * d).exp();
            (Exp::new(1.0 / mean).expect("valid").sample(&mut self.rng) as u32).min(179)
        };
        let days_since_last_contact =
            (Exp::new(1.0 / 120.0).expect("valid").sample(&mut self.rng) as u32).min(3650);
        let contacts_30d = if days_since_last_contact < 30 {
            1 + self.poisson(0.3)
        } else {
            0
        };
        let noise = self.normal(0.0, 40.0);
        let annual_margin = (0.011 * total_balance
            + 55.0 * f64::from(products_held)
            + 180.0 * f64::from(u8::from(has_mortgage))
            + 40.0 * f64::from(u8::from(salary_credited))
            - 60.0
            + noise)
            .round();
        let referrals_12m = self.poisson(0.12 + f64::from(tenure_months) / 1_200.0);
        let contact_consent = self.bernoulli(0.8);

        let flag = |b: bool| f64::from(u8::from(b));
        let logit = -1.2
            - 0.010 * (f64::from(tenure_months) - 60.0).min(120.0)
            - 0.30 * (f64::from(products_held) - 2.0)
            - 0.9 * flag(salary_credited)
            - 0.5 * flag(has_mortgage)
            - 0.08 * f64::from(direct_debits)
            - 2.2 * balance_trend_3m
            - 1.4 * transactions_trend_3m
            - 0.035 * (f64::from(digital_logins_30d) - 10.0)
            + 0.45 * f64::from(complaints_12m)
            + 0.8 * flag(open_complaint)
            + 0.55 * flag(fee_increase_6m)
            + 0.6 * f64::from(products_closed_12m)
            - 0.7 * flag(has_relationship_manager)
            + 0.0015 * f64::from(days_since_last_contact)
            + 0.004 * f64::from(days_since_last_activity.min(365))
            - 0.015 * (f64::from(age_years) - 40.0)
            + 0.35 * d;
        let outcome_draw = self.rng.gen::<f64>();

        LatentCustomer {
            profile: CustomerProfile {
                customer_id: format!("C{id:09}"),
                age_years,
                tenure_months,
                products_held,
                has_mortgage,
                salary_credited,
                direct_debits,
                total_balance,
                balance_trend_3m: (balance_trend_3m * 1e4).round() / 1e4,
                digital_logins_30d,
                transactions_30d,
                transactions_trend_3m: (transactions_trend_3m * 1e4).round() / 1e4,
                complaints_12m,
                open_complaint,
                fee_increase_6m,
                products_closed_12m,
                has_relationship_manager,
                days_since_last_contact,
                days_since_last_activity,
                contacts_30d,
                annual_margin,
                referrals_12m,
                contact_consent,
                extra_features: Default::default(),
            },
            churn_log_odds: logit,
            outcome_draw,
        }
    }
}

/// Writes `rows` customers as CSV: `customer_id`, every typed feature, then `churned` (0/1).
///
/// # Errors
/// The writer fails.
pub fn write_csv<W: Write>(out: W, rows: u64, seed: u64) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(out));
    let mut header = profile_header();
    header.push(LABEL);
    w.write_record(&header)?;
    let mut g = Generator::new(seed);
    let mut record: Vec<String> = Vec::with_capacity(header.len());
    for _ in 0..rows {
        let c = g.next_customer();
        record.clear();
        push_profile(&mut record, &c.profile);
        record.push(u8::from(c.churned).to_string());
        w.write_record(&record)?;
    }
    w.flush()?;
    Ok(())
}

/// The columns a generated CSV starts with: `customer_id`, then every typed feature by name.
pub(crate) fn profile_header() -> Vec<&'static str> {
    let mut header = vec!["customer_id"];
    header.extend(BuiltinFeature::ALL.iter().map(|f| f.name()));
    header
}

/// Appends `p`'s values for [`profile_header`]'s columns, formatted as [`write_csv`] writes them.
pub(crate) fn push_profile(record: &mut Vec<String>, p: &CustomerProfile) {
    record.push(p.customer_id.clone());
    record.extend(BuiltinFeature::ALL.iter().map(|f| f.value(p).to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_customers() {
        let a: Vec<_> = (0..50)
            .map({
                let mut g = Generator::new(7);
                move |_| g.next_customer().profile
            })
            .collect();
        let mut g = Generator::new(7);
        for p in &a {
            assert_eq!(&g.next_customer().profile, p);
        }
    }

    #[test]
    fn seed_42_still_writes_the_data_the_shipped_model_was_trained_on() {
        let metadata: serde_json::Value =
            serde_json::from_str(include_str!("../../models/churn/v1/metadata.json")).unwrap();
        let mut csv = Vec::new();
        write_csv(&mut csv, 200_000, 42).unwrap();
        assert_eq!(
            crate::model_store::checksum::sha256_hex(&csv),
            metadata["data"]["sha256"].as_str().unwrap()
        );
    }

    #[test]
    fn the_population_looks_like_a_retail_bank() {
        let mut g = Generator::new(1);
        let n = 20_000;
        let customers: Vec<_> = (0..n).map(|_| g.next_customer()).collect();
        let churn_rate = customers.iter().filter(|c| c.churned).count() as f64 / n as f64;
        assert!(
            (0.08..0.30).contains(&churn_rate),
            "churn rate {churn_rate}"
        );
        // Complainers leave more often than the rest.
        let rate = |f: &dyn Fn(&SyntheticCustomer) -> bool| {
            let group: Vec<_> = customers.iter().filter(|c| f(c)).collect();
            group.iter().filter(|c| c.churned).count() as f64 / group.len() as f64
        };
        assert!(
            rate(&|c| c.profile.complaints_12m > 0)
                > 1.5 * rate(&|c| c.profile.complaints_12m == 0)
        );
        assert!(rate(&|c| c.profile.salary_credited) < rate(&|c| !c.profile.salary_credited));
        // Value is concentrated: the top 20% of margins make well over a third of the total.
        let mut margins: Vec<f64> = customers
            .iter()
            .map(|c| c.profile.annual_margin.max(0.0))
            .collect();
        margins.sort_by(|a, b| b.total_cmp(a));
        let top: f64 = margins[..n / 5].iter().sum();
        assert!(top / margins.iter().sum::<f64>() > 0.4);
        assert!(customers
            .iter()
            .all(|c| (18..=120).contains(&c.profile.age_years)));
    }
}
