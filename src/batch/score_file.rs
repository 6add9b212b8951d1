//! `bankscore score`: scores a CSV of customers offline on all cores with the server's core and
//! validation, writing one output row per customer and a rejects file for bad rows.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::domain::profile::{BuiltinFeature, EXTRA_PREFIX};
use crate::domain::{AssessOptions, Assessment, CustomerProfile};
use crate::model_store::LoadedModel;
use crate::service::pb;

/// Rows read, scored in parallel and written per batch.
const BATCH_ROWS: usize = 65_536;

/// What a scoring run produced.
#[derive(Debug, Clone, Default)]
pub struct ScoreSummary {
    /// Customers scored.
    pub scored: u64,
    /// Rows rejected (see the rejects file).
    pub rejected: u64,
    /// Customers per tier.
    pub tiers: BTreeMap<String, u64>,
    /// Customers per churn-probability band of 10 points (index 0 = [0, 0.1)).
    pub churn_bands: [u64; 10],
    /// Customers per chosen action (`no_action` included).
    pub actions: BTreeMap<String, u64>,
    /// Sum of the chosen actions' expected values.
    pub total_expected_value: f64,
}

/// The output header.
pub const OUTPUT_HEADER: &str = "customer_id,churn_probability,realized_value,potential_value,influence_value,total_value,value_at_risk,tier,key_account,best_action,best_expected_value,top_reasons,candidates";

/// Scores `input` into `output`, bad rows into `rejects`, on `threads` threads.
///
/// # Errors
/// A file cannot be read or written, or the input has no header / no `customer_id` column.
pub fn score_csv(
    model: &LoadedModel,
    input: &Path,
    output: &Path,
    rejects: &Path,
    threads: usize,
) -> anyhow::Result<ScoreSummary> {
    let mut reader = csv::ReaderBuilder::new()
        .buffer_capacity(1 << 20)
        .from_path(input)
        .with_context(|| format!("reading {}", input.display()))?;
    let columns = Columns::from_headers(reader.headers()?)?;
    let mut out = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(output).with_context(|| format!("creating {}", output.display()))?,
    );
    let mut rej = std::io::BufWriter::new(
        std::fs::File::create(rejects)
            .with_context(|| format!("creating {}", rejects.display()))?,
    );
    writeln!(out, "{OUTPUT_HEADER}")?;
    writeln!(rej, "line,customer_id,field,reason")?;
    let mut summary = ScoreSummary::default();
    let mut batch: Vec<(u64, csv::StringRecord)> = Vec::with_capacity(BATCH_ROWS);
    let mut record = csv::StringRecord::new();
    loop {
        batch.clear();
        while batch.len() < BATCH_ROWS && reader.read_record(&mut record)? {
            let line = record.position().map_or(0, |p| p.line());
            batch.push((line, record.clone()));
        }
        if batch.is_empty() {
            break;
        }
        let parts: Vec<Vec<Line>> = std::thread::scope(|s| {
            let size = batch.len().div_ceil(threads.max(1));
            let handles: Vec<_> = batch
                .chunks(size)
                .map(|part| {
                    s.spawn(|| {
                        part.iter()
                            .map(|(line, r)| score_row(model, &columns, *line, r))
                            .collect()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a scoring thread panicked"))
                .collect()
        });
        for line in parts.into_iter().flatten() {
            match line {
                Line::Scored {
                    text,
                    tier,
                    band,
                    action,
                    ev,
                } => {
                    out.write_all(text.as_bytes())?;
                    summary.scored += 1;
                    *summary.tiers.entry(tier).or_default() += 1;
                    summary.churn_bands[band] += 1;
                    *summary.actions.entry(action).or_default() += 1;
                    summary.total_expected_value += ev;
                }
                Line::Rejected(text) => {
                    rej.write_all(text.as_bytes())?;
                    summary.rejected += 1;
                }
            }
        }
        if summary.scored % 1_000_000 < BATCH_ROWS as u64 {
            tracing::info!(
                scored = summary.scored,
                rejected = summary.rejected,
                "scoring"
            );
        }
    }
    out.flush()?;
    rej.flush()?;
    Ok(summary)
}

/// Where each profile field is in the input.
struct Columns {
    id: usize,
    builtin: Vec<(BuiltinFeature, usize)>,
    extra: Vec<(String, usize)>,
}

impl Columns {
    fn from_headers(headers: &csv::StringRecord) -> anyhow::Result<Self> {
        let id = headers
            .iter()
            .position(|h| h == "customer_id")
            .context("the input has no customer_id column")?;
        let builtin = BuiltinFeature::ALL
            .iter()
            .filter_map(|f| headers.iter().position(|h| h == f.name()).map(|i| (*f, i)))
            .collect();
        let extra = headers
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.strip_prefix(EXTRA_PREFIX).map(|k| (k.to_owned(), i)))
            .collect();
        Ok(Self { id, builtin, extra })
    }
}

enum Line {
    Scored {
        text: String,
        tier: String,
        band: usize,
        action: String,
        ev: f64,
    },
    Rejected(String),
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Builds the gRPC profile from a row, so the server's validation applies unchanged.
fn pb_profile(
    columns: &Columns,
    r: &csv::StringRecord,
) -> Result<pb::CustomerProfile, (String, String)> {
    let mut p = pb::CustomerProfile {
        customer_id: r.get(columns.id).unwrap_or("").to_owned(),
        ..Default::default()
    };
    for &(f, i) in &columns.builtin {
        let raw = r.get(i).unwrap_or("").trim();
        if raw.is_empty() {
            continue; // missing: validation names it
        }
        let bad = || {
            (
                format!("profile.{}", f.name()),
                format!("`{raw}` is not a valid value"),
            )
        };
        let number = || raw.parse::<f64>().map_err(|_| bad());
        let count = || raw.parse::<u32>().map_err(|_| bad());
        let flag = || match raw {
            "1" | "true" => Ok(true),
            "0" | "false" => Ok(false),
            _ => Err(bad()),
        };
        use BuiltinFeature as B;
        match f {
            B::AgeYears => p.age_years = Some(count()?),
            B::TenureMonths => p.tenure_months = Some(count()?),
            B::ProductsHeld => p.products_held = Some(count()?),
            B::HasMortgage => p.has_mortgage = Some(flag()?),
            B::SalaryCredited => p.salary_credited = Some(flag()?),
            B::DirectDebits => p.direct_debits = Some(count()?),
            B::TotalBalance => p.total_balance = Some(number()?),
            B::BalanceTrend3m => p.balance_trend_3m = Some(number()?),
            B::DigitalLogins30d => p.digital_logins_30d = Some(count()?),
            B::Transactions30d => p.transactions_30d = Some(count()?),
            B::TransactionsTrend3m => p.transactions_trend_3m = Some(number()?),
            B::Complaints12m => p.complaints_12m = Some(count()?),
            B::OpenComplaint => p.open_complaint = Some(flag()?),
            B::FeeIncrease6m => p.fee_increase_6m = Some(flag()?),
            B::ProductsClosed12m => p.products_closed_12m = Some(count()?),
            B::HasRelationshipManager => p.has_relationship_manager = Some(flag()?),
            B::DaysSinceLastContact => p.days_since_last_contact = Some(count()?),
            B::DaysSinceLastActivity => p.days_since_last_activity = Some(count()?),
            B::Contacts30d => p.contacts_30d = Some(count()?),
            B::AnnualMargin => p.annual_margin = Some(number()?),
            B::Referrals12m => p.referrals_12m = Some(count()?),
            B::ContactConsent => p.contact_consent = Some(flag()?),
        }
    }
    for (key, i) in &columns.extra {
        let raw = r.get(*i).unwrap_or("").trim();
        if !raw.is_empty() {
            let v = raw.parse::<f64>().map_err(|_| {
                (
                    format!("profile.extra_features[\"{key}\"]"),
                    format!("`{raw}` is not a number"),
                )
            })?;
            p.extra_features.insert(key.clone(), v);
        }
    }
    Ok(p)
}

fn score_row(model: &LoadedModel, columns: &Columns, line: u64, r: &csv::StringRecord) -> Line {
    let id = r.get(columns.id).unwrap_or("");
    let reject = |field: &str, reason: &str| {
        Line::Rejected(format!(
            "{line},{},{},{}\n",
            csv_field(id),
            csv_field(field),
            csv_field(reason)
        ))
    };
    let profile: CustomerProfile = match pb_profile(columns, r).and_then(|p| {
        CustomerProfile::try_from(p).map_err(|s| {
            let (f, why) = s
                .message()
                .split_once(": ")
                .unwrap_or(("profile", s.message()));
            (f.to_owned(), why.to_owned())
        })
    }) {
        Ok(p) => p,
        Err((field, reason)) => return reject(&field, &reason),
    };
    let opts = AssessOptions {
        max_reasons: 3,
        include_ineligible: false,
    };
    match model.scoring.assess(&profile, opts) {
        Ok(a) => render(model, &profile, &a),
        Err(e) => reject(
            &format!("profile.extra_features[\"{}\"]", e.key),
            "is required by the model",
        ),
    }
}

fn render(model: &LoadedModel, p: &CustomerProfile, a: &Assessment) -> Line {
    use std::fmt::Write as _;
    let s = &model.scoring;
    let v = a.value;
    let best = a.decision.best();
    let action = best
        .map_or("no_action", |o| s.actions.actions[o.action].id.as_str())
        .to_owned();
    let ev = best.map_or(0.0, |o| o.expected_value);
    let mut reasons = String::new();
    for (k, r) in a.churn.reasons.iter().enumerate() {
        let _ = write!(
            reasons,
            "{}{}:{:+.4}",
            if k > 0 { ";" } else { "" },
            s.churn.features()[r.feature].name,
            r.contribution
        );
    }
    let mut candidates = String::new();
    for o in a.decision.ranked.iter().filter(|o| o.expected_value > 0.0) {
        let act = &s.actions.actions[o.action];
        let _ = write!(
            candidates,
            "{}{}:{:.4}:{}",
            if candidates.is_empty() { "" } else { "|" },
            act.id,
            o.expected_value,
            act.cost
        );
    }
    let tier = a.tier.tier.to_string();
    let text = format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
        csv_field(&p.customer_id),
        a.churn.probability,
        v.realized,
        v.potential,
        v.influence,
        v.total,
        v.value_at_risk,
        tier,
        a.tier.key_account,
        action,
        ev,
        reasons,
        candidates
    );
    Line::Scored {
        text,
        tier,
        band: ((a.churn.probability * 10.0) as usize).min(9),
        action,
        ev,
    }
}
