//! Rendering what was measured: the verdicts and table cells shared with the HTML page, the
//! Markdown report, and the summary table for the terminal.

use std::fmt::Write;

use super::stats::{Lift, Tally, MIN_CHURNERS, MIN_CUSTOMERS};
use super::Measured;

/// Percentage points, one decimal (a bound that rounds to zero from below reads `0.0`, not
/// `-0.0`).
pub(super) fn pp(share: f64) -> String {
    let s = format!("{:.1}", share * 100.0);
    if s == "-0.0" {
        "0.0".into()
    } else {
        s
    }
}

/// A churn rate, e.g. `12.0%`; `-` without customers.
pub(super) fn rate(t: Tally) -> String {
    t.rate()
        .map_or_else(|| "-".into(), |r| format!("{:.1}%", r * 100.0))
}

/// An amount rounded to a whole unit with thousands separators, e.g. `41,200` or `-3,050`.
pub(super) fn money(x: f64) -> String {
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x.round() < 0.0 {
        out.insert(0, '-');
    }
    out
}

pub(super) fn or_dash(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map_or_else(|| "-".into(), f)
}

pub(super) fn name(l: &Lift) -> &str {
    l.action.as_deref().unwrap_or("campaign")
}

/// Why a row's difference means little, if it does: `too small to tell` or `no control`.
pub(super) fn note(l: &Lift) -> &'static str {
    if l.reduction().is_none() {
        if l.control.customers == 0 {
            "no control"
        } else {
            "no targeted"
        }
    } else if l.too_small() {
        "too small to tell"
    } else {
        ""
    }
}

/// One sentence a retention manager can act on.
pub(super) fn verdict(l: &Lift) -> String {
    let who = l
        .action
        .as_deref()
        .map_or_else(|| "The campaign".to_owned(), |a| format!("`{a}`"));
    let Some(r) = l.reduction() else {
        return if l.targeted.customers == 0 {
            format!(
                "{who} has no targeted customer with a known outcome ({} control customers would have been offered it): nothing to measure.",
                l.control.customers
            )
        } else {
            format!(
                "{who}: no control customer with a known outcome would have been offered it, so its lift cannot be measured."
            )
        };
    };
    let direction = if r.value >= 0.0 { "kept" } else { "lost" };
    let mut s = format!(
        "{who} {direction} {} percentage points more customers than control (95% CI {} to {})",
        pp(r.value.abs()),
        pp(r.low),
        pp(r.high)
    );
    if l.too_small() {
        let _ = write!(
            s,
            ", but that is too small to tell: targeted {} customers / {} churners, control {} / {} (at least {MIN_CUSTOMERS} customers and {MIN_CHURNERS} churners needed in each)",
            l.targeted.customers, l.targeted.churned, l.control.customers, l.control.churned
        );
    } else if r.low <= 0.0 && r.high >= 0.0 {
        s.push_str(
            ", but the interval includes zero: no effect that can be told apart from chance",
        );
    } else if r.value < 0.0 {
        s.push_str(": contacting these customers drove some of them away");
    }
    let retained = l.retained_value().unwrap_or(0.0);
    match l.roi() {
        Some(roi) => {
            let _ = write!(
                s,
                "; retained {} for {} spent: ROI {roi:.1}.",
                money(retained),
                money(l.cost)
            );
        }
        None => {
            let _ = write!(s, "; retained {} at no cost.", money(retained));
        }
    }
    s
}

pub(super) const COLUMNS: [&str; 12] = [
    "action",
    "targeted",
    "churn (targeted)",
    "control",
    "churn (control)",
    "reduction (pp)",
    "95% CI (pp)",
    "churners saved",
    "retained value",
    "cost",
    "ROI",
    "note",
];

/// The figures of one row, as text, in the order of [`COLUMNS`].
pub(super) fn cells(l: &Lift) -> [String; 12] {
    let r = l.reduction();
    [
        name(l).to_owned(),
        l.targeted.customers.to_string(),
        rate(l.targeted),
        l.control.customers.to_string(),
        rate(l.control),
        or_dash(r.map(|r| r.value), pp),
        r.map_or_else(
            || "-".into(),
            |r| format!("{} to {}", pp(r.low), pp(r.high)),
        ),
        or_dash(l.churners_saved(), |x| format!("{x:.1}")),
        or_dash(l.retained_value(), money),
        money(l.cost),
        or_dash(l.roi(), |x| format!("{x:.1}")),
        note(l).to_owned(),
    ]
}

pub(super) fn rows(m: &Measured) -> impl Iterator<Item = &Lift> {
    m.per_action.iter().chain(std::iter::once(&m.campaign_lift))
}

pub(super) fn coverage(m: &Measured) -> Vec<String> {
    let [t, c, n] = m.decisions;
    let [nt, nc, nn] = m.no_outcome;
    let source = match &m.audit {
        None => format!(
            "Plan `{}`: {} customers: {t} targeted, {c} control, {n} no action.",
            m.decisions_file,
            t + c + n
        ),
        Some(a) => format!(
            "Audit log `{}` ({} file{}, {} records): {} customers by their last decision: {t} \
             targeted, {c} control (an action withheld by the bundle's control group), {n} no \
             action. Left out: {} records of RPCs that make no decision, {} earlier decisions \
             of a customer decided again later.",
            m.decisions_file,
            a.files,
            if a.files == 1 { "" } else { "s" },
            a.records,
            t + c + n,
            a.without_decision,
            a.superseded
        ),
    };
    let place = if m.audit.is_some() {
        "the audit log"
    } else {
        "the plan"
    };
    let mut lines = vec![
        source,
        format!(
            "No outcome yet: {nt} targeted, {nc} control, {nn} no action (left out of every figure)."
        ),
        format!(
            "Outcomes for customers not in {place} (unmatched): {}.",
            m.unmatched_outcomes
        ),
        format!(
            "Control customers with no positive action, so comparable with no one: {}.",
            m.control_without_action
        ),
    ];
    if let Some(a) = m.audit.filter(|a| a.other_campaign_outcomes > 0) {
        lines.push(format!(
            "Outcomes reported for other campaign ids (left out): {}.",
            a.other_campaign_outcomes
        ));
    }
    lines
}

pub(super) const METHOD: [&str; 6] = [
    "Churn is churners over customers with a known outcome. Control customers count for the action they would have been offered (their highest expected-value action), so each action is compared with customers like those who got it; the campaign row compares every targeted customer with every control customer who had an action.",
    "Reduction = control churn - targeted churn, in percentage points. The 95% confidence interval is the Wald interval for a difference of two proportions: d ± 1.96 × √(p_t(1 − p_t)/n_t + p_c(1 − p_c)/n_c).",
    "\"Too small to tell\": either group has fewer than 30 customers or fewer than 5 churners, where the Wald interval is not to be trusted.",
    "Churners saved = reduction × targeted customers. Retained value = churners saved × mean value at risk of the targeted customers. Cost = sum of the targeted customers' costs. ROI = (retained value - cost) / cost.",
    "Only customers with a known outcome enter these figures, costs included.",
    "The control group holds every customer the hash put there, while a budget picks the targeted among the others by expected value: when the budget did not reach every customer with a positive action, the targeted are the plan's first picks and the comparison is not strictly like with like.",
];

/// The Markdown report.
pub fn markdown(m: &Measured) -> String {
    let mut s = format!(
        "# Campaign `{}`: what it did against its control group\n\n",
        m.campaign
    );
    let _ = writeln!(s, "{}\n", verdict(&m.campaign_lift));
    for l in &m.per_action {
        let _ = writeln!(s, "- {}", verdict(l));
    }
    s.push_str("\n## Figures\n\n");
    let _ = writeln!(s, "| {} |", COLUMNS.join(" | "));
    let _ = writeln!(s, "|---|{}---|", "---:|".repeat(COLUMNS.len() - 2));
    for l in rows(m) {
        let mut c = cells(l);
        if l.action.is_none() {
            c[0] = "**campaign**".into();
        }
        let _ = writeln!(s, "| {} |", c.join(" | "));
    }
    s.push_str("\n## Coverage\n\n");
    for line in coverage(m) {
        let _ = writeln!(s, "- {line}");
    }
    s.push_str("\n## Method\n\n");
    for line in METHOD {
        let _ = writeln!(s, "- {line}");
    }
    s
}

/// The per-action table for the terminal: what `bankscore outcomes` prints.
impl std::fmt::Display for Measured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&summary_table(self))
    }
}

/// The per-action table for the terminal.
fn summary_table(m: &Measured) -> String {
    let mut s = format!(
        "{:<20} {:>9} {:>7} {:>8} {:>7} {:>10} {:>16} {:>6}  note\n",
        "action", "targeted", "churn", "control", "churn", "reduction", "95% CI (pp)", "ROI"
    );
    for l in rows(m) {
        let c = cells(l);
        let _ = writeln!(
            s,
            "{:<20} {:>9} {:>7} {:>8} {:>7} {:>10} {:>16} {:>6}  {}",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[10], c[11]
        );
    }
    let [nt, nc, nn] = m.no_outcome;
    let _ = writeln!(
        s,
        "no outcome yet: {nt} targeted, {nc} control, {nn} no action; unmatched outcomes: {}",
        m.unmatched_outcomes
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lift(action: &str, targeted: (u64, u64), control: (u64, u64)) -> Lift {
        Lift {
            action: Some(action.into()),
            targeted: Tally {
                customers: targeted.0,
                churned: targeted.1,
            },
            control: Tally {
                customers: control.0,
                churned: control.1,
            },
            targeted_value_at_risk: targeted.0 as f64 * 2_500.0,
            cost: targeted.0 as f64 * 50.0,
            ..Lift::default()
        }
    }

    #[test]
    fn outcomes_verdicts_read_as_sentences_with_the_interval_and_the_money() {
        // 2,000 targeted at 9% churn against 1,000 control at 12%: 3.0 pp kept.
        // SE = √(0.09·0.91/2000 + 0.12·0.88/1000) = √(0.00004095 + 0.0001056) = 0.0121058,
        // z·SE = 0.0237269: CI 0.6 to 5.4 pp. Saved 60 × 2,500 = 150,000 for 100,000: ROI 0.5.
        let v = verdict(&lift("fee_waiver", (2000, 180), (1000, 120)));
        assert_eq!(
            v,
            "`fee_waiver` kept 3.0 percentage points more customers than control (95% CI 0.6 to 5.4); retained 150,000 for 100,000 spent: ROI 0.5."
        );
        let v = verdict(&lift("rm_call", (20, 3), (1000, 120)));
        assert!(
            v.contains("too small to tell: targeted 20 customers / 3 churners"),
            "{v}"
        );
        let v = verdict(&lift("app_nudge", (0, 0), (40, 4)));
        assert!(v.contains("nothing to measure"), "{v}");
    }

    #[test]
    fn outcomes_money_has_thousands_separators_and_a_sign() {
        assert_eq!(money(41_200.4), "41,200");
        assert_eq!(money(-3_050.0), "-3,050");
        assert_eq!(money(999.6), "1,000");
        assert_eq!(money(-0.2), "0");
        assert_eq!(money(1_234_567.0), "1,234,567");
    }
}
