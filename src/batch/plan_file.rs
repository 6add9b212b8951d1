//! `bankscore plan`: a budgeted campaign from the output of `bankscore score`.

use std::io::Write;
use std::path::Path;

use super::file_format::CsvView;
use super::plan::{self, Assignment, Candidates, Plan};
use super::FileError;

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

/// A planned campaign as `bankscore plan` reports it (`Display`, or JSON with serde: the totals
/// of the plan and of the naive plan, the control group and the customers per action).
#[derive(Debug, Clone, Copy)]
pub struct PlanReport<'a> {
    /// The campaign.
    pub campaign: &'a PlannedCampaign,
    /// Its budget.
    pub budget: f64,
    /// The plan file.
    pub out: &'a Path,
    /// Seconds the planning took.
    pub seconds: f64,
}

impl serde::Serialize for PlanReport<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Json<'a> {
            out: &'a Path,
            seconds: f64,
            customers: usize,
            control_group: usize,
            budget: f64,
            plan: plan::Totals,
            naive: plan::Totals,
            per_action: std::collections::BTreeMap<&'a str, u64>,
        }
        let p = self.campaign;
        Json {
            out: self.out,
            seconds: self.seconds,
            customers: p.candidates.len(),
            control_group: p.candidates.control.iter().filter(|&&c| c).count(),
            budget: self.budget,
            plan: p.plan.totals,
            naive: p.naive.totals,
            per_action: p
                .candidates
                .actions
                .iter()
                .map(String::as_str)
                .zip(p.plan.per_action.iter().copied())
                .collect(),
        }
        .serialize(serializer)
    }
}

impl std::fmt::Display for PlanReport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self.campaign;
        let (t, n) = (p.plan.totals, p.naive.totals);
        writeln!(
            f,
            "planned {} customers in {:.2} s → {}",
            p.candidates.len(),
            self.seconds,
            self.out.display()
        )?;
        let control = p.candidates.control.iter().filter(|&&c| c).count();
        writeln!(f, "control group: {control}")?;
        writeln!(
            f,
            "plan:  {} targeted, cost {:.2} of {:.2}, expected value {:.2}",
            t.targeted, t.cost, self.budget, t.expected_value
        )?;
        writeln!(
            f,
            "naive (highest churn first): {} targeted, cost {:.2}, expected value {:.2}",
            n.targeted, n.cost, n.expected_value
        )?;
        if n.expected_value > 0.0 {
            writeln!(
                f,
                "the plan brings {:.1}% more expected value than the naive plan",
                (t.expected_value / n.expected_value - 1.0) * 100.0
            )?;
        }
        for (a, count) in p.candidates.actions.iter().zip(&p.plan.per_action) {
            writeln!(f, "  {a}: {count}")?;
        }
        Ok(())
    }
}

/// Why `bankscore plan` stopped.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// A campaign setting out of range, named by its flag.
    #[error("--{}: {rule}", .rule.field().replace('_', "-"))]
    Setting {
        /// The rule broken.
        rule: plan::CampaignError,
    },
    /// The scored file cannot be read, or the plan written.
    #[error(transparent)]
    File(#[from] FileError),
    /// The scored file lacks a column `plan` needs.
    #[error("{} has no `{column}` column (is it the output of `bankscore score`?)", path.display())]
    NoColumn {
        /// The scored file.
        path: std::path::PathBuf,
        /// The column.
        column: &'static str,
    },
    /// A row that cannot be planned, by its line.
    #[error("line {line}: {problem}")]
    Row {
        /// 1-based line (the header is line 1).
        line: u64,
        /// What is wrong.
        problem: String,
    },
    /// A customer the campaign rules refuse, by its line.
    #[error("line {line}, {}: {rule}", .rule.field())]
    Customer {
        /// 1-based line.
        line: u64,
        /// The rule broken.
        rule: plan::CampaignError,
    },
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
) -> Result<PlannedCampaign, PlanFileError> {
    let rules = plan::CampaignRules {
        campaign_id: &settings.campaign_id,
        budget: settings.budget,
        control_share: settings.control_share,
    };
    let mut campaign =
        plan::Campaign::new(rules).map_err(|rule| PlanFileError::Setting { rule })?;
    // A Parquet file from `score` is read through a CSV copy; messages name `scored`.
    let view = CsvView::of(scored)?;
    let mut reader = csv::Reader::from_path(view.path()).map_err(FileError::csv(scored))?;
    let headers = reader.headers().map_err(FileError::csv(scored))?.clone();
    let col = |column: &'static str| {
        headers
            .iter()
            .position(|h| h == column)
            .ok_or_else(|| PlanFileError::NoColumn {
                path: scored.to_owned(),
                column,
            })
    };
    let (id_col, churn_col, var_col, cand_col) = (
        col("customer_id")?,
        col("churn_probability")?,
        col("value_at_risk")?,
        col("candidates")?,
    );
    let mut record = csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .map_err(FileError::csv(scored))?
    {
        let line = record.position().map_or(0, |p| p.line());
        let row = |problem: String| PlanFileError::Row { line, problem };
        let id = record.get(id_col).unwrap_or("");
        let churn: f64 = record
            .get(churn_col)
            .unwrap_or("")
            .parse()
            .map_err(|_| row("churn_probability is not a number".into()))?;
        let var: f64 = record
            .get(var_col)
            .unwrap_or("")
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| row("value_at_risk is not a finite number".into()))?;
        let mut actions = Vec::new();
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
                return Err(row(format!(
                    "candidate `{part}` is not action:expected_value:cost"
                )));
            };
            let parse = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
            let (Some(ev), Some(cost)) = (parse(ev), parse(cost)) else {
                return Err(row(format!("candidate `{part}` has a non-numeric value")));
            };
            actions.push((action, ev, cost));
        }
        let candidate_actions =
            actions
                .iter()
                .map(|&(action, expected_value, cost)| plan::CandidateAction {
                    action,
                    expected_value,
                    cost,
                });
        campaign
            .add(id, churn, var, candidate_actions)
            .map_err(|rule| PlanFileError::Customer { line, rule })?;
    }
    let limits = campaign.limits(|action| {
        let given = settings.capacity.iter().find(|(n, _)| n == action);
        given.map(|(_, c)| *c)
    });
    let plan::Campaign {
        candidates,
        ids,
        value_at_risk,
        ..
    } = campaign;
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
    let file = std::fs::File::create(out).map_err(FileError::io("creating", out))?;
    write_plan(
        std::io::BufWriter::with_capacity(1 << 20, file),
        settings,
        &candidates,
        &ids,
        &value_at_risk,
        &chosen,
    )
    .map_err(FileError::io("writing", out))?;
    Ok(PlannedCampaign {
        candidates,
        plan: chosen,
        naive,
    })
}

/// The plan's rows, in the columns of [`PLAN_HEADER`].
fn write_plan(
    mut w: impl Write,
    settings: &CampaignFile,
    candidates: &Candidates,
    ids: &[String],
    value_at_risk: &[f64],
    chosen: &Plan,
) -> std::io::Result<()> {
    writeln!(w, "{PLAN_HEADER}")?;
    for (i, a) in chosen.assignments.iter().enumerate() {
        let (id, var) = (&ids[i], value_at_risk[i]);
        let p = plan::propensity(candidates, i, *a, settings.control_share);
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
    w.flush()
}
