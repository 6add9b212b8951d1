//! `bankscore plan`: a budgeted campaign from the output of `bankscore score`.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};

use super::plan::{self, Assignment, Candidates, Limits, Plan};

/// The columns of a plan file, in order. `action` is the offered action for `target` rows and
/// the action a `control` customer would have been offered (their highest-EV option; empty when
/// they had none); `expected_value` and `cost` are 0 for `control` and `none` rows;
/// `value_at_risk` is copied from the scored file; `propensity` is the probability with which
/// the plan chose the row's decision ([`plan::propensity`]: `1 − control share` for `target`,
/// the share for `control` with an action withheld, 1 otherwise).
pub const PLAN_HEADER: &str =
    "customer_id,decision,action,expected_value,cost,value_at_risk,propensity";

/// Campaign settings for a file plan.
#[derive(Debug, Clone)]
pub struct CampaignFile {
    /// Campaign id (with the customer id, decides the control group).
    pub campaign_id: String,
    /// Total budget.
    pub budget: f64,
    /// Per-action capacities.
    pub capacity: Vec<(String, u64)>,
    /// Control group share, 0..=0.5.
    pub control_share: f64,
}

/// A planned campaign with the naive plan it is compared with.
#[derive(Debug, Clone)]
pub struct PlannedCampaign {
    /// Customers read.
    pub candidates: Candidates,
    /// The chosen plan.
    pub plan: Plan,
    /// Highest churn probability first.
    pub naive: Plan,
}

/// Reads `scored` (the output of `bankscore score`), plans, and writes `out`: one row per
/// customer with its decision, in the columns of [`PLAN_HEADER`].
///
/// # Errors
/// Bad settings, an unreadable file or a malformed `candidates` value (naming the line).
pub fn plan_csv(
    scored: &Path,
    settings: &CampaignFile,
    out: &Path,
) -> anyhow::Result<PlannedCampaign> {
    if !(settings.budget.is_finite() && settings.budget >= 0.0) {
        bail!(
            "--budget must be a finite amount >= 0, got {}",
            settings.budget
        );
    }
    if !(0.0..=0.5).contains(&settings.control_share) {
        bail!(
            "--control-share must be in 0..=0.5, got {}",
            settings.control_share
        );
    }
    let mut reader =
        csv::Reader::from_path(scored).with_context(|| format!("reading {}", scored.display()))?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| {
        headers.iter().position(|h| h == name).with_context(|| {
            format!(
                "{} has no `{name}` column (is it the output of `bankscore score`?)",
                scored.display()
            )
        })
    };
    let (id_col, churn_col, var_col, cand_col) = (
        col("customer_id")?,
        col("churn_probability")?,
        col("value_at_risk")?,
        col("candidates")?,
    );
    let mut candidates = Candidates::new();
    let mut ids = Vec::new();
    let mut value_at_risk = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record)? {
        let line = record.position().map_or(0, |p| p.line());
        let id = record.get(id_col).unwrap_or("").to_owned();
        if !seen.insert(id.clone()) {
            bail!("line {line}: customer `{id}` appears twice; each customer may get one action at most");
        }
        let churn: f64 = record
            .get(churn_col)
            .unwrap_or("")
            .parse()
            .with_context(|| format!("line {line}: churn_probability is not a number"))?;
        let var: f64 = record
            .get(var_col)
            .unwrap_or("")
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .with_context(|| format!("line {line}: value_at_risk is not a finite number"))?;
        let mut options = Vec::new();
        for part in record
            .get(cand_col)
            .unwrap_or("")
            .split('|')
            .filter(|p| !p.is_empty())
        {
            let mut it = part.split(':');
            let (Some(action), Some(ev), Some(cost), None) =
                (it.next(), it.next(), it.next(), it.next())
            else {
                bail!("line {line}: candidate `{part}` is not action:expected_value:cost");
            };
            let parse = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
            let (Some(ev), Some(cost)) = (parse(ev), parse(cost)) else {
                bail!("line {line}: candidate `{part}` has a non-numeric value");
            };
            let Some(action) = candidates.action_index(action) else {
                bail!("line {line}: more than 65,535 distinct actions");
            };
            options.push(plan::Option_ {
                action,
                expected_value: ev,
                cost,
            });
        }
        if options.len() > u8::MAX as usize {
            bail!(
                "line {line}: {} candidate actions, at most {}",
                options.len(),
                u8::MAX
            );
        }
        let control = plan::in_control_group(&id, &settings.campaign_id, settings.control_share);
        candidates.push(churn, control, options);
        ids.push(id);
        value_at_risk.push(var);
    }
    let limits = Limits {
        budget: settings.budget,
        capacity: candidates
            .actions
            .iter()
            .map(|a| {
                settings
                    .capacity
                    .iter()
                    .find(|(n, _)| n == a)
                    .map(|(_, c)| *c)
            })
            .collect(),
    };
    for (name, _) in &settings.capacity {
        if !candidates.actions.contains(name) {
            tracing::warn!(action = %name, "capacity given for an action no customer is eligible for");
        }
    }
    let (chosen, naive) = std::thread::scope(|s| {
        let naive = s.spawn(|| plan::naive(&candidates, &limits));
        (
            plan::greedy(&candidates, &limits),
            naive.join().expect("naive planning panicked"),
        )
    });
    let mut w = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?,
    );
    writeln!(w, "{PLAN_HEADER}")?;
    for (i, a) in chosen.assignments.iter().enumerate() {
        let (id, var) = (&ids[i], value_at_risk[i]);
        let p = plan::propensity(&candidates, i, *a, settings.control_share);
        match a {
            Assignment::None => writeln!(w, "{id},none,,0,0,{var},{p}")?,
            Assignment::Control => {
                // The action they would have been offered, so lift per action compares like
                // with like (`bankscore outcomes`); the plan expects and spends nothing on them.
                let would_be = candidates.would_be_action(i).unwrap_or("");
                writeln!(w, "{id},control,{would_be},0,0,{var},{p}")?;
            }
            Assignment::Target(k) => {
                let o = candidates.options(i)[*k as usize];
                writeln!(
                    w,
                    "{id},target,{},{},{},{var},{p}",
                    candidates.actions[o.action as usize], o.expected_value, o.cost
                )?;
            }
        }
    }
    w.flush()?;
    Ok(PlannedCampaign {
        candidates,
        plan: chosen,
        naive,
    })
}
