//! An evaluation as a terminal table and as a Markdown report.

use std::fmt::Write;

use super::{Interval, PolicyEvaluation};

/// The estimates' rows: label, interval, and the effective sample size where it applies.
fn rows(e: &PolicyEvaluation) -> Vec<(&'static str, Option<Interval>, Option<f64>)> {
    let s = &e.estimates;
    let ess = Some(s.effective_sample_size);
    vec![
        (
            "logged policy (mean reward)",
            Some(s.logged),
            Some(s.rows as f64),
        ),
        ("candidate, IPS", Some(s.ips), ess),
        ("candidate, self-normalized IPS", s.snips, ess),
        ("candidate, doubly robust", Some(s.doubly_robust), ess),
        ("candidate, outcome model only", Some(s.direct_method), None),
        (
            "candidate − logged, IPS (paired)",
            Some(s.ips_minus_logged),
            ess,
        ),
        (
            "candidate − logged, DR (paired)",
            Some(s.doubly_robust_minus_logged),
            ess,
        ),
    ]
}

fn interval_cells(i: Option<Interval>) -> (String, String) {
    match i {
        Some(i) => (
            format!("{:.2}", i.value),
            format!("[{:.2}, {:.2}]", i.low, i.high),
        ),
        None => ("—".into(), "no logged row matches the candidate".into()),
    }
}

fn heading(e: &PolicyEvaluation) -> String {
    let checksum = e
        .candidate
        .checksum
        .get(..12)
        .unwrap_or(&e.candidate.checksum);
    format!(
        "candidate {}/{} (checksum {checksum}…) on {}: {} logged decisions",
        e.candidate.name, e.candidate.version, e.log, e.estimates.rows
    )
}

/// What `bankscore evaluate-policy` prints: every estimate per customer with its 95% interval,
/// then the arms.
impl std::fmt::Display for PolicyEvaluation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&summary_table(self))
    }
}

/// The terminal table: every estimate per customer with its 95% interval, then the arms.
fn summary_table(e: &PolicyEvaluation) -> String {
    let mut s = heading(e) + "\n";
    let _ = writeln!(
        s,
        "{:<34} {:>13} {:>26} {:>9}",
        "value kept per customer", "estimate", "95% CI", "ESS"
    );
    for (label, interval, ess) in rows(e) {
        let (value, ci) = interval_cells(interval);
        let ess = ess.map_or_else(String::new, |n| format!("{n:.0}"));
        let line = format!("{label:<34} {value:>13} {ci:>26} {ess:>9}");
        let _ = writeln!(s, "{}", line.trim_end());
    }
    let _ = writeln!(s, "{:<24} {:>9} {:>10}", "arm", "logged", "candidate");
    for a in &e.arms {
        let _ = writeln!(s, "{:<24} {:>9} {:>10.0}", a.arm, a.logged, a.candidate);
    }
    let _ = writeln!(
        s,
        "the candidate would have chosen the logged arm in {} of {} rows; largest weight π/propensity {:.2}",
        e.estimates.rows_with_weight, e.estimates.rows, e.estimates.max_weight
    );
    s
}

/// The Markdown report: the table, the arms, and how to read them.
pub fn markdown(e: &PolicyEvaluation) -> String {
    let mut s = format!("# Policy evaluation\n\n{}.\n\n", heading(e));
    s.push_str("| value kept per customer | estimate | 95% CI | effective sample size |\n");
    s.push_str("|---|---:|---:|---:|\n");
    for (label, interval, ess) in rows(e) {
        let (value, ci) = interval_cells(interval);
        let ess = ess.map_or_else(String::new, |n| format!("{n:.0}"));
        let _ = writeln!(s, "| {label} | {value} | {ci} | {ess} |");
    }
    s.push_str("\n| arm | logged | candidate |\n|---|---:|---:|\n");
    for a in &e.arms {
        let _ = writeln!(s, "| {} | {} | {:.0} |", a.arm, a.logged, a.candidate);
    }
    let _ = write!(
        s,
        "\nThe candidate would have chosen the logged arm in {} of {} rows (largest weight \
         π/propensity {:.2}).\n\n",
        e.estimates.rows_with_weight, e.estimates.rows, e.estimates.max_weight
    );
    s.push_str(
        "## Reading it\n\n\
         - Reward per customer: `(1 − churned) × value at risk − cost of the logged action`, \
         value at risk from the candidate's value model.\n\
         - **IPS** reweights the rows where the candidate would have done what was logged by \
         `1 / propensity`; unbiased when the propensities are right, noisy when few rows match.\n\
         - **Self-normalized IPS** divides by the sum of the weights instead of the row count: \
         a little biased, steadier.\n\
         - **Doubly robust** starts from the candidate's own prediction of each customer's reward \
         and corrects it with the weighted error on the matching rows; unbiased when either the \
         propensities or the predictions are right, and usually the narrowest interval.\n\
         - **Outcome model only** is the prediction without the correction: it is only as good \
         as the candidate's churn and uplift models, shown for comparison.\n\
         - An interval is the estimate ± 1.96 standard errors (normal approximation). When the \
         paired difference's interval lies above 0, the candidate keeps more value than the \
         current policy; when it straddles 0, the log cannot tell them apart.\n\
         - The effective sample size `(Σw)² / Σw²` says how many logged rows the weighted \
         estimates are worth; a small one means wide, fragile intervals.\n",
    );
    s
}
