//! Evaluation of an uplift model on held-out campaign rows: Qini coefficient, AUUC, the churn
//! reduction bought in the top shares by predicted uplift, and uplift by decile.
//!
//! Each held-out customer either got retention action `a` (treated) or belongs to the random
//! control group, and we observe whether they churned. The model predicts the uplift
//! `τ̂(x) = p_control(x) − p_a(x)`: the churn reduction the action buys, positive is good.
//!
//! # Definitions
//!
//! The metrics are scikit-uplift's (`sklift.metrics` 0.5.1: `qini_curve`, `perfect_qini_curve`,
//! `qini_auc_score`, `uplift_curve`, `perfect_uplift_curve`, `uplift_auc_score`, `uplift_at_k`,
//! `uplift_by_percentile`) with the outcome `y = stayed = 1 − churned`, so a positive uplift
//! means churn went down. `scripts/uplift_reference.py` computes them with scikit-uplift; the
//! unit tests check agreement on seeded data sets to 1e-9.
//!
//! - **Ranking.** Treated and control rows are ranked together by predicted uplift, highest
//!   first. As in sklift (a stable ascending sort, reversed), tied rows come in reverse input
//!   order; that matters only where a cut falls inside a tie (top shares, deciles), never for
//!   the curves.
//! - **Thresholds.** A curve has one point after the last row of each group of tied scores, so
//!   customers with the same score are targeted all or none. At a threshold with `n` rows at or
//!   above it, `n_t` of them treated and `n_c = n − n_t` control, of whom `y_t` and `y_c` stayed:
//!   - Qini curve: `Q(n) = y_t − y_c · n_t / n_c` (the ratio is 0 while `n_c = 0`): customers
//!     kept among the targeted treated beyond what the control stay rate predicts for them.
//!   - Uplift curve: `U(n) = (y_t / n_t − y_c / n_c) · n` (each ratio 0 while its group is
//!     empty): the difference in stay rates among the top `n`, scaled to `n` customers.
//!
//!   Both curves start at `(0, 0)`.
//! - **Perfect curves.** The same curve under an ideal score. Qini (sklift's
//!   `negative_effect=True`): score `y·t − y·(1 − t)`, i.e. treated stayers first, control
//!   stayers last. Uplift: score `2·[y = t] + s`, where `s = y` when control stayers outnumber
//!   treated churners and `s = t` otherwise.
//! - **Area.** Trapezoidal rule over the points: `A = Σᵢ (xᵢ₊₁ − xᵢ)·(vᵢ + vᵢ₊₁) / 2`.
//! - **Random targeting** is the straight line from `(0, 0)` to the last point `(N, V(N))`,
//!   area `A_random = N · V(N) / 2`.
//! - **Qini coefficient** `= (A_model − A_random) / (A_perfect − A_random)` on Qini curves;
//!   **AUUC** is the same ratio on uplift curves. 1 is the perfect ranking, 0 random targeting,
//!   below 0 worse than random.
//! - **Top shares** (sklift's `uplift_at_k`, strategy `"overall"`): the first `k = ⌊N · share⌋`
//!   ranked rows. Observed reduction = control churn rate − treated churn rate among them.
//!   Churners saved per 1,000 customers = `1000 · k/N · reduction`; random targeting of the same
//!   `k/N` saves `1000 · k/N · reduction over everyone`.
//! - **Deciles** (sklift's `uplift_by_percentile`, strategy `"overall"`, 10 bins): the ranked
//!   rows cut into 10 consecutive bins, the first `N mod 10` of them one row longer
//!   (`numpy.array_split`). Observed uplift = control churn rate − treated churn rate in the bin.
//!
//! # Empty groups
//!
//! JSON cannot hold NaN, where sklift returns one. A churn rate over no rows is reported as 0
//! beside its row count of 0; an observed reduction or uplift needs both groups and is 0 when
//! either is empty; the mean predicted uplift of no rows is 0. The Qini coefficient and AUUC
//! are an error, not a number, when the perfect ranking gains no area over random targeting
//! (e.g. every held-out customer churned).
//!
//! Why one file of this length: each metric is defined once here with its formula (Qini, AUUC, top
//! shares, deciles) and its known-answer tests against scikit-uplift's figures sit beside it (about
//! half the file).

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::model_store::format::{TopShareLift, UpliftDecile, UpliftEvaluation};

/// Shares of the ranked customers the report targets.
pub const TOP_SHARES: [f64; 3] = [0.1, 0.2, 0.3];

/// Number of bins of the uplift-by-decile table.
pub const DECILES: usize = 10;

/// One held-out customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpliftObservation {
    /// `p_control(x) − p_a(x)`: the churn reduction the model expects from the action.
    pub predicted_uplift: f64,
    /// Whether the customer got the action (else: random control group).
    pub treated: bool,
    /// The observed outcome.
    pub churned: bool,
}

/// A point of a Qini or uplift curve: the value after targeting the top `targeted` rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurvePoint {
    /// Rows targeted, always at the end of a group of tied scores.
    pub targeted: u64,
    /// `Q(n)` or `U(n)` of the module documentation.
    pub value: f64,
}

/// The normalized areas this module computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpliftMetric {
    /// Normalized area under the Qini curve.
    QiniCoefficient,
    /// Normalized area under the uplift curve.
    Auuc,
}

impl fmt::Display for UpliftMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::QiniCoefficient => "Qini coefficient",
            Self::Auuc => "AUUC",
        })
    }
}

/// Why held-out rows cannot be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpliftEvalError {
    /// Uplift compares treated with control rows; there are no treated ones.
    #[error("no treated rows among the {control_rows} held-out rows")]
    NoTreatedRows { control_rows: u64 },
    /// Uplift compares treated with control rows; there are no control ones.
    #[error("no control rows among the {treated_rows} held-out rows")]
    NoControlRows { treated_rows: u64 },
    /// A predicted uplift that cannot be ranked.
    #[error("held-out row {row}: predicted uplift {value} is not finite")]
    NonFiniteUplift { row: usize, value: f64 },
    /// The normalization divides by zero (e.g. every held-out customer churned).
    #[error("the {metric} is undefined: a perfect ranking gains nothing over random targeting (area {random_area})")]
    Undefined {
        metric: UpliftMetric,
        random_area: f64,
    },
}

/// Evaluates predicted uplift against the outcomes of held-out treated and control rows.
///
/// # Errors
/// No treated or no control rows, a non-finite predicted uplift, or an undefined coefficient
/// (see [`UpliftEvalError`]).
pub fn evaluate_uplift(obs: &[UpliftObservation]) -> Result<UpliftEvaluation, UpliftEvalError> {
    let (treated_rows, control_rows) = validate(obs)?;
    let scores = predicted(obs);
    let qini_coefficient = qini_of(obs, &scores)?;
    let auuc = auuc_of(obs, &scores)?;
    let order = ranking(&scores);
    let everyone = Tally::of(obs, &order);
    Ok(UpliftEvaluation {
        treated_rows,
        control_rows,
        treated_churn_rate: everyone.treated_churn_rate(),
        control_churn_rate: everyone.control_churn_rate(),
        qini_coefficient,
        auuc,
        top: TOP_SHARES
            .iter()
            .map(|&share| top_share(obs, &order, share, &everyone))
            .collect(),
        deciles: deciles(obs, &order),
    })
}

/// scikit-uplift's `qini_auc_score` (with `negative_effect=True`) of the predicted uplift.
///
/// # Errors
/// As [`evaluate_uplift`].
pub fn qini_coefficient(obs: &[UpliftObservation]) -> Result<f64, UpliftEvalError> {
    validate(obs)?;
    qini_of(obs, &predicted(obs))
}

/// scikit-uplift's `uplift_auc_score` (AUUC) of the predicted uplift.
///
/// # Errors
/// As [`evaluate_uplift`].
pub fn auuc(obs: &[UpliftObservation]) -> Result<f64, UpliftEvalError> {
    validate(obs)?;
    auuc_of(obs, &predicted(obs))
}

/// scikit-uplift's `qini_curve` of the predicted uplift, starting at `(0, 0)`.
///
/// # Errors
/// No treated or no control rows, or a non-finite predicted uplift.
pub fn qini_curve(obs: &[UpliftObservation]) -> Result<Vec<CurvePoint>, UpliftEvalError> {
    validate(obs)?;
    Ok(curve(obs, &predicted(obs), CurveKind::Qini))
}

/// scikit-uplift's `uplift_curve` of the predicted uplift, starting at `(0, 0)`.
///
/// # Errors
/// No treated or no control rows, or a non-finite predicted uplift.
pub fn uplift_curve(obs: &[UpliftObservation]) -> Result<Vec<CurvePoint>, UpliftEvalError> {
    validate(obs)?;
    Ok(curve(obs, &predicted(obs), CurveKind::Uplift))
}

/// Checks the rows can be ranked and compared; returns (treated rows, control rows).
fn validate(obs: &[UpliftObservation]) -> Result<(u64, u64), UpliftEvalError> {
    if let Some((row, o)) = obs
        .iter()
        .enumerate()
        .find(|(_, o)| !o.predicted_uplift.is_finite())
    {
        return Err(UpliftEvalError::NonFiniteUplift {
            row,
            value: o.predicted_uplift,
        });
    }
    let treated_rows = obs.iter().filter(|o| o.treated).count() as u64;
    let control_rows = obs.len() as u64 - treated_rows;
    match (treated_rows, control_rows) {
        (0, _) => Err(UpliftEvalError::NoTreatedRows { control_rows }),
        (_, 0) => Err(UpliftEvalError::NoControlRows { treated_rows }),
        _ => Ok((treated_rows, control_rows)),
    }
}

fn predicted(obs: &[UpliftObservation]) -> Vec<f64> {
    obs.iter().map(|o| o.predicted_uplift).collect()
}

/// Row indices by score, highest first, ties in reverse input order: numpy's stable
/// `argsort(kind="mergesort")[::-1]`, as sklift ranks. `partial_cmp` (scores are finite) keeps
/// −0.0 and 0.0 tied, as numpy does.
fn ranking(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        scores[b]
            .partial_cmp(&scores[a])
            .unwrap_or(Ordering::Equal)
            .then(b.cmp(&a))
    });
    order
}

#[derive(Debug, Clone, Copy)]
enum CurveKind {
    Qini,
    Uplift,
}

impl CurveKind {
    /// The curve's value with `n` rows targeted, `n_t` of them treated; `y_t`, `y_c` stayed.
    /// Operations in sklift's order, so the two agree to the last bits.
    fn value(self, n: u64, n_t: u64, y_t: u64, y_c: u64) -> f64 {
        let n_c = n - n_t;
        let (n, n_t, n_c, y_t, y_c) = (n as f64, n_t as f64, n_c as f64, y_t as f64, y_c as f64);
        let ratio = |num: f64, den: f64| if den == 0.0 { 0.0 } else { num / den };
        match self {
            Self::Qini => y_t - y_c * ratio(n_t, n_c),
            Self::Uplift => (ratio(y_t, n_t) - ratio(y_c, n_c)) * n,
        }
    }
}

/// The curve of `scores` over `obs`, one point per distinct score, from `(0, 0)`.
fn curve(obs: &[UpliftObservation], scores: &[f64], kind: CurveKind) -> Vec<CurvePoint> {
    let order = ranking(scores);
    let mut points = vec![CurvePoint {
        targeted: 0,
        value: 0.0,
    }];
    let (mut n_t, mut y_t, mut y_c) = (0, 0, 0);
    for (i, &row) in order.iter().enumerate() {
        let o = &obs[row];
        let stayed = u64::from(!o.churned);
        if o.treated {
            n_t += 1;
            y_t += stayed;
        } else {
            y_c += stayed;
        }
        let ends_tie = order
            .get(i + 1)
            .is_none_or(|&next| scores[next] != scores[row]);
        if ends_tie {
            let n = i as u64 + 1;
            points.push(CurvePoint {
                targeted: n,
                value: kind.value(n, n_t, y_t, y_c),
            });
        }
    }
    points
}

/// sklift's `perfect_qini_curve` score with `negative_effect=True`: `y·t − y·(1 − t)`.
fn perfect_qini_scores(obs: &[UpliftObservation]) -> Vec<f64> {
    obs.iter()
        .map(|o| match (o.treated, o.churned) {
            (true, false) => 1.0,
            (false, false) => -1.0,
            (_, true) => 0.0,
        })
        .collect()
}

/// sklift's `perfect_uplift_curve` score: `2·[y = t] + (y if control stayers outnumber treated
/// churners, else t)`.
fn perfect_uplift_scores(obs: &[UpliftObservation]) -> Vec<f64> {
    let control_stayers = obs.iter().filter(|o| !o.treated && !o.churned).count();
    let treated_churners = obs.iter().filter(|o| o.treated && o.churned).count();
    let by_outcome = control_stayers > treated_churners;
    obs.iter()
        .map(|o| {
            let (y, t) = (!o.churned, o.treated);
            let summand = if by_outcome { y } else { t };
            2.0 * f64::from(u8::from(y == t)) + f64::from(u8::from(summand))
        })
        .collect()
}

/// Trapezoidal area under the points (`sklearn.metrics.auc`).
fn area(points: &[CurvePoint]) -> f64 {
    points
        .windows(2)
        .map(|w| (w[1].targeted - w[0].targeted) as f64 * (w[0].value + w[1].value) / 2.0)
        .sum()
}

/// `(A_model − A_random) / (A_perfect − A_random)`, random being the chord to the last point.
fn normalized(
    metric: UpliftMetric,
    model: &[CurvePoint],
    perfect: &[CurvePoint],
) -> Result<f64, UpliftEvalError> {
    let last = perfect.last().copied().unwrap_or(CurvePoint {
        targeted: 0,
        value: 0.0,
    });
    let random_area = last.targeted as f64 * last.value / 2.0;
    let perfect_gain = area(perfect) - random_area;
    if perfect_gain == 0.0 || !perfect_gain.is_finite() {
        return Err(UpliftEvalError::Undefined {
            metric,
            random_area,
        });
    }
    Ok((area(model) - random_area) / perfect_gain)
}

fn qini_of(obs: &[UpliftObservation], scores: &[f64]) -> Result<f64, UpliftEvalError> {
    normalized(
        UpliftMetric::QiniCoefficient,
        &curve(obs, scores, CurveKind::Qini),
        &curve(obs, &perfect_qini_scores(obs), CurveKind::Qini),
    )
}

fn auuc_of(obs: &[UpliftObservation], scores: &[f64]) -> Result<f64, UpliftEvalError> {
    normalized(
        UpliftMetric::Auuc,
        &curve(obs, scores, CurveKind::Uplift),
        &curve(obs, &perfect_uplift_scores(obs), CurveKind::Uplift),
    )
}

/// Counts over a set of rows.
#[derive(Debug, Default)]
struct Tally {
    rows: u64,
    uplift_sum: f64,
    treated: u64,
    treated_churned: u64,
    control: u64,
    control_churned: u64,
}

impl Tally {
    fn of(obs: &[UpliftObservation], rows: &[usize]) -> Self {
        let mut t = Self::default();
        for o in rows.iter().map(|&r| &obs[r]) {
            t.rows += 1;
            t.uplift_sum += o.predicted_uplift;
            if o.treated {
                t.treated += 1;
                t.treated_churned += u64::from(o.churned);
            } else {
                t.control += 1;
                t.control_churned += u64::from(o.churned);
            }
        }
        t
    }

    fn mean_predicted_uplift(&self) -> f64 {
        rate_or_zero(self.uplift_sum, self.rows)
    }

    fn treated_churn_rate(&self) -> f64 {
        rate_or_zero(self.treated_churned as f64, self.treated)
    }

    fn control_churn_rate(&self) -> f64 {
        rate_or_zero(self.control_churned as f64, self.control)
    }

    /// Control churn rate − treated churn rate; 0 unless both groups have rows.
    fn reduction(&self) -> f64 {
        if self.treated == 0 || self.control == 0 {
            0.0
        } else {
            self.control_churn_rate() - self.treated_churn_rate()
        }
    }
}

/// `sum / rows`, or 0 over no rows (JSON has no NaN).
fn rate_or_zero(sum: f64, rows: u64) -> f64 {
    if rows == 0 {
        0.0
    } else {
        sum / rows as f64
    }
}

fn top_share(
    obs: &[UpliftObservation],
    order: &[usize],
    share: f64,
    everyone: &Tally,
) -> TopShareLift {
    // Truncation, as Python's `int(n_samples * k)` in sklift's `uplift_at_k`.
    let k = ((order.len() as f64 * share) as usize).min(order.len());
    let top = Tally::of(obs, &order[..k]);
    let targeted = rate_or_zero(k as f64, order.len() as u64);
    TopShareLift {
        top_share: share,
        targeted_rows: top.rows,
        treated_rows: top.treated,
        control_rows: top.control,
        mean_predicted_uplift: top.mean_predicted_uplift(),
        observed_reduction: top.reduction(),
        observed_reduction_everyone: everyone.reduction(),
        churners_saved_per_1000: 1000.0 * targeted * top.reduction(),
        random_saved_per_1000: 1000.0 * targeted * everyone.reduction(),
    }
}

/// Ten consecutive bins of the ranking, the first `n mod 10` one row longer (`array_split`).
fn deciles(obs: &[UpliftObservation], order: &[usize]) -> Vec<UpliftDecile> {
    let (base, longer) = (order.len() / DECILES, order.len() % DECILES);
    let mut start = 0;
    (0..DECILES)
        .map(|i| {
            let len = base + usize::from(i < longer);
            let bin = Tally::of(obs, &order[start..start + len]);
            start += len;
            UpliftDecile {
                decile: i as u32 + 1,
                treated_rows: bin.treated,
                control_rows: bin.control,
                mean_predicted_uplift: bin.mean_predicted_uplift(),
                treated_churn_rate: bin.treated_churn_rate(),
                control_churn_rate: bin.control_churn_rate(),
                observed_uplift: bin.reduction(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: bool = true;
    const C: bool = false;
    const CHURNED: bool = true;
    const STAYED: bool = false;

    fn rows(rows: &[(f64, bool, bool)]) -> Vec<UpliftObservation> {
        rows.iter()
            .map(|&(predicted_uplift, treated, churned)| UpliftObservation {
                predicted_uplift,
                treated,
                churned,
            })
            .collect()
    }

    fn assert_close(got: f64, want: f64, what: &str) {
        assert!((got - want).abs() <= 1e-9, "{what}: got {got}, want {want}");
    }

    fn points(curve: &[(u64, f64)]) -> Vec<CurvePoint> {
        curve
            .iter()
            .map(|&(targeted, value)| CurvePoint { targeted, value })
            .collect()
    }

    /// Eight rows with ties at 0.3, 0.1 and −0.1. Ranked (ties in reverse input order):
    /// rows 1, 0 | 2 | 4, 3 | 5 | 7, 6, thresholds after each `|` and at the end.
    fn eight_rows() -> Vec<UpliftObservation> {
        rows(&[
            (0.3, T, STAYED),   // 0
            (0.3, C, CHURNED),  // 1
            (0.2, T, STAYED),   // 2
            (0.1, C, STAYED),   // 3
            (0.1, T, CHURNED),  // 4
            (0.0, C, STAYED),   // 5
            (-0.1, T, CHURNED), // 6
            (-0.1, C, STAYED),  // 7
        ])
    }

    #[test]
    fn qini_and_uplift_curves_of_eight_rows_match_the_hand_computation() {
        let obs = eight_rows();
        // Cumulative at each threshold (n; n_t, y_t stayed treated; n_c, y_c stayed control):
        //   0.3: n 2; n_t 1, y_t 1; n_c 1, y_c 0   Q = 1 − 0·1/1 = 1      U = (1/1 − 0/1)·2 = 2
        //   0.2: n 3; n_t 2, y_t 2; n_c 1, y_c 0   Q = 2 − 0·2/1 = 2      U = (2/2 − 0/1)·3 = 3
        //   0.1: n 5; n_t 3, y_t 2; n_c 2, y_c 1   Q = 2 − 1·3/2 = 0.5    U = (2/3 − 1/2)·5 = 5/6
        //   0.0: n 6; n_t 3, y_t 2; n_c 3, y_c 2   Q = 2 − 2·3/3 = 0      U = (2/3 − 2/3)·6 = 0
        //  −0.1: n 8; n_t 4, y_t 2; n_c 4, y_c 3   Q = 2 − 3·4/4 = −1     U = (2/4 − 3/4)·8 = −2
        let qini = points(&[(0, 0.0), (2, 1.0), (3, 2.0), (5, 0.5), (6, 0.0), (8, -1.0)]);
        let uplift = points(&[
            (0, 0.0),
            (2, 2.0),
            (3, 3.0),
            (5, 5.0 / 6.0),
            (6, 0.0),
            (8, -2.0),
        ]);
        assert_eq!(qini_curve(&obs).unwrap(), qini);
        let got = uplift_curve(&obs).unwrap();
        assert_eq!(got.len(), uplift.len());
        for (g, w) in got.iter().zip(&uplift) {
            assert_eq!(g.targeted, w.targeted);
            assert_close(g.value, w.value, "uplift curve");
        }
    }

    #[test]
    fn qini_coefficient_and_auuc_of_eight_rows_match_the_hand_computation() {
        let obs = eight_rows();
        // Qini. Model area: 2·(0+1)/2 + 1·(1+2)/2 + 2·(2+0.5)/2 + 1·(0.5+0)/2 + 2·(0−1)/2 = 4.25.
        // Random: 8·(−1)/2 = −4. Perfect score y·t − y·(1−t): rows 0, 2 → 1; 1, 4, 6 → 0;
        // 3, 5, 7 → −1; curve (0,0) (2,2) (5,2) (8,−1), area 2 + 6 + 1.5 = 9.5.
        // Coefficient (4.25 + 4) / (9.5 + 4) = 11/18.
        assert_close(qini_coefficient(&obs).unwrap(), 11.0 / 18.0, "Qini");
        // Uplift. Model area: 2 + 2.5 + 23/6 + 5/12 − 2 = 6.75. Random: 8·(−2)/2 = −8.
        // Control stayers (3) outnumber treated churners (2): perfect score 2·[y = t] + y,
        // rows 0, 2 → 3; 1 → 2; 3, 5, 7 → 1; 4, 6 → 0; curve (0,0) (2,2) (3,3) (6,1.5) (8,−2),
        // area 2 + 2.5 + 6.75 − 0.5 = 10.75. AUUC (6.75 + 8) / (10.75 + 8) = 59/75.
        assert_close(auuc(&obs).unwrap(), 59.0 / 75.0, "AUUC");
    }

    #[test]
    fn top_shares_of_eight_rows_cut_ties_in_reverse_input_order() {
        let report = evaluate_uplift(&eight_rows()).unwrap();
        // Everyone: treated churn 2/4 (rows 4, 6), control churn 1/4 (row 1): reduction −0.25.
        assert_eq!((report.treated_rows, report.control_rows), (4, 4));
        assert_close(report.treated_churn_rate, 0.5, "treated churn");
        assert_close(report.control_churn_rate, 0.25, "control churn");
        // 10%: ⌊0.8⌋ = 0 rows, all zero. 20%: ⌊1.6⌋ = 1 row, row 1 (it outranks its tie row 0),
        // control only, so no reduction. 30%: ⌊2.4⌋ = 2 rows, 1 and 0: control churn 1, treated 0,
        // reduction 1; 2/8 targeted: 1000·0.25·1 = 250 saved, at random 1000·0.25·(−0.25) = −62.5.
        let want = [
            (0.1, 0, 0, 0, 0.0, 0.0, 0.0, 0.0),
            (0.2, 1, 0, 1, 0.3, 0.0, 0.0, -1000.0 / 8.0 * 0.25),
            (0.3, 2, 1, 1, 0.3, 1.0, 250.0, -62.5),
        ];
        assert_eq!(report.top.len(), want.len());
        for (got, (share, rows, treated, control, mean, reduction, saved, random)) in
            report.top.iter().zip(want)
        {
            let what = format!("top {share}");
            assert_eq!(got.top_share, share, "{what}");
            assert_eq!(
                (got.targeted_rows, got.treated_rows, got.control_rows),
                (rows, treated, control),
                "{what}"
            );
            assert_close(got.mean_predicted_uplift, mean, &what);
            assert_close(got.observed_reduction, reduction, &what);
            assert_close(got.observed_reduction_everyone, -0.25, &what);
            assert_close(got.churners_saved_per_1000, saved, &what);
            assert_close(got.random_saved_per_1000, random, &what);
        }
    }

    #[test]
    fn decile_table_puts_the_extra_rows_first_and_zeros_for_empty_groups() {
        // Twelve rows, given lowest score first: bins of 2, 2, then eight of 1.
        let mut given = rows(&[
            (0.9, T, STAYED),
            (0.8, C, CHURNED),
            (0.7, T, CHURNED),
            (0.6, C, CHURNED),
            (0.5, T, STAYED),
            (0.4, C, CHURNED),
            (0.3, T, CHURNED),
            (0.2, C, STAYED),
            (0.1, T, STAYED),
            (0.0, C, STAYED),
            (-0.1, T, CHURNED),
            (-0.2, C, STAYED),
        ]);
        given.reverse();
        let report = evaluate_uplift(&given).unwrap();
        // decile, treated rows, control rows, mean predicted, treated churn, control churn, uplift
        let want = [
            (1, 1, 1, 0.85, 0.0, 1.0, 1.0), // row 0.9 kept, row 0.8 lost: uplift 1 − 0
            (2, 1, 1, 0.65, 1.0, 1.0, 0.0), // both lost
            (3, 1, 0, 0.5, 0.0, 0.0, 0.0),  // no control row: rate 0, uplift 0
            (4, 0, 1, 0.4, 0.0, 1.0, 0.0),
            (5, 1, 0, 0.3, 1.0, 0.0, 0.0),
            (6, 0, 1, 0.2, 0.0, 0.0, 0.0),
            (7, 1, 0, 0.1, 0.0, 0.0, 0.0),
            (8, 0, 1, 0.0, 0.0, 0.0, 0.0),
            (9, 1, 0, -0.1, 1.0, 0.0, 0.0),
            (10, 0, 1, -0.2, 0.0, 0.0, 0.0),
        ];
        assert_eq!(report.deciles.len(), DECILES);
        for (got, (decile, treated, control, mean, treated_churn, control_churn, uplift)) in
            report.deciles.iter().zip(want)
        {
            let what = format!("decile {decile}");
            assert_eq!(
                (got.decile, got.treated_rows, got.control_rows),
                (decile, treated, control),
                "{what}"
            );
            assert_close(got.mean_predicted_uplift, mean, &what);
            assert_close(got.treated_churn_rate, treated_churn, &what);
            assert_close(got.control_churn_rate, control_churn, &what);
            assert_close(got.observed_uplift, uplift, &what);
        }
    }

    #[test]
    fn fewer_rows_than_deciles_leave_the_last_deciles_empty_and_zero() {
        let report = evaluate_uplift(&eight_rows()).unwrap();
        for d in &report.deciles[8..] {
            assert_eq!(
                (d.treated_rows, d.control_rows),
                (0, 0),
                "decile {}",
                d.decile
            );
            assert_eq!(
                (
                    d.mean_predicted_uplift,
                    d.treated_churn_rate,
                    d.control_churn_rate,
                    d.observed_uplift
                ),
                (0.0, 0.0, 0.0, 0.0),
                "decile {}",
                d.decile
            );
        }
    }

    /// A tiny deterministic generator (64-bit LCG), so the test needs no dependency.
    struct Lcg(u64);
    impl Lcg {
        fn uniform(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// 2,000 customers in four segments whose true uplift is 0.3, 0.1, 0 and −0.1, base churn 0.4;
    /// each row carries its true uplift as the prediction.
    fn campaign_with_known_uplift() -> Vec<UpliftObservation> {
        let mut rng = Lcg(7);
        (0..2000)
            .map(|i| {
                let true_uplift = [0.3, 0.1, 0.0, -0.1][i % 4];
                let treated = rng.uniform() < 0.5;
                let churn = 0.4 - if treated { true_uplift } else { 0.0 };
                UpliftObservation {
                    predicted_uplift: true_uplift,
                    treated,
                    churned: rng.uniform() < churn,
                }
            })
            .collect()
    }

    #[test]
    fn the_true_ranking_beats_a_random_one_and_the_reversed_one_scores_below_zero() {
        let truth = campaign_with_known_uplift();
        let mut rng = Lcg(99);
        let random: Vec<_> = truth
            .iter()
            .map(|o| UpliftObservation {
                predicted_uplift: rng.uniform(),
                ..*o
            })
            .collect();
        let reversed: Vec<_> = truth
            .iter()
            .map(|o| UpliftObservation {
                predicted_uplift: -o.predicted_uplift,
                ..*o
            })
            .collect();
        for (name, metric) in [
            ("Qini", qini_coefficient as fn(&[UpliftObservation]) -> _),
            ("AUUC", auuc),
        ] {
            let (t, r, v) = (
                metric(&truth).unwrap(),
                metric(&random).unwrap(),
                metric(&reversed).unwrap(),
            );
            assert!(t > r, "{name}: true ranking {t} should beat random {r}");
            assert!(t > 0.0, "{name}: true ranking {t}");
            assert!(v < 0.0, "{name}: reversed ranking {v} should be below 0");
        }
        let report = evaluate_uplift(&truth).unwrap();
        let top10 = &report.top[0];
        assert!(
            top10.churners_saved_per_1000 > top10.random_saved_per_1000,
            "{top10:?}"
        );
    }

    #[test]
    fn ranking_by_the_perfect_score_scores_exactly_one() {
        let perfect_qini: Vec<_> = eight_rows()
            .iter()
            .zip(perfect_qini_scores(&eight_rows()))
            .map(|(o, s)| UpliftObservation {
                predicted_uplift: s,
                ..*o
            })
            .collect();
        assert_eq!(qini_coefficient(&perfect_qini).unwrap(), 1.0);
        let perfect_uplift: Vec<_> = eight_rows()
            .iter()
            .zip(perfect_uplift_scores(&eight_rows()))
            .map(|(o, s)| UpliftObservation {
                predicted_uplift: s,
                ..*o
            })
            .collect();
        assert_eq!(auuc(&perfect_uplift).unwrap(), 1.0);
    }

    #[test]
    fn negative_zero_ties_with_zero_as_in_numpy() {
        let obs = rows(&[(0.0, T, STAYED), (-0.0, C, CHURNED), (0.0, C, STAYED)]);
        let curve = qini_curve(&obs).unwrap();
        assert_eq!(curve.len(), 2, "{curve:?}");
    }

    #[test]
    fn rows_that_cannot_be_evaluated_are_rejected_with_the_reason() {
        let cases = [
            (
                "no rows",
                rows(&[]),
                UpliftEvalError::NoTreatedRows { control_rows: 0 },
            ),
            (
                "control only",
                rows(&[(0.1, C, STAYED), (0.2, C, CHURNED)]),
                UpliftEvalError::NoTreatedRows { control_rows: 2 },
            ),
            (
                "treated only",
                rows(&[(0.1, T, STAYED)]),
                UpliftEvalError::NoControlRows { treated_rows: 1 },
            ),
            (
                "infinite uplift",
                rows(&[(0.1, T, STAYED), (f64::INFINITY, C, STAYED)]),
                UpliftEvalError::NonFiniteUplift {
                    row: 1,
                    value: f64::INFINITY,
                },
            ),
        ];
        for (name, obs, want) in cases {
            assert_eq!(evaluate_uplift(&obs), Err(want.clone()), "{name}");
            assert_eq!(qini_coefficient(&obs), Err(want.clone()), "{name}");
            assert_eq!(auuc(&obs), Err(want), "{name}");
        }
        let nan = rows(&[(0.1, T, STAYED), (0.2, C, STAYED), (f64::NAN, C, STAYED)]);
        assert!(
            matches!(
                evaluate_uplift(&nan),
                Err(UpliftEvalError::NonFiniteUplift { row: 2, .. })
            ),
            "NaN uplift"
        );
    }

    #[test]
    fn when_every_customer_churned_the_coefficients_are_undefined() {
        let obs = rows(&[(0.2, T, CHURNED), (0.1, C, CHURNED), (0.0, T, CHURNED)]);
        assert!(matches!(
            qini_coefficient(&obs),
            Err(UpliftEvalError::Undefined {
                metric: UpliftMetric::QiniCoefficient,
                ..
            })
        ));
        assert!(matches!(
            auuc(&obs),
            Err(UpliftEvalError::Undefined {
                metric: UpliftMetric::Auuc,
                ..
            })
        ));
    }

    #[test]
    fn the_report_round_trips_through_json_without_nulls() {
        let report = evaluate_uplift(&eight_rows()).unwrap();
        let json = serde_json::to_string(&report).unwrap();
        assert!(!json.contains("null"), "{json}");
        let back: UpliftEvaluation = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
    }

    /// scikit-uplift 0.5.1 on a seeded data set (`predicted_uplift,treated,churned`, y = 1 − churned).
    struct Reference {
        name: &'static str,
        csv: &'static str,
        qini_coefficient: f64,
        auuc: f64,
        /// `uplift_at_k(strategy="overall")` at k = 0.1, 0.2, 0.3.
        top_reduction: [f64; 3],
        /// `uplift_by_percentile(strategy="overall", bins=10)`: n_treatment, n_control, uplift.
        deciles: [(u64, u64, f64); 10],
    }

    // Data sets and numbers produced with the pins of scripts/uplift_requirements.txt by
    //   python scripts/uplift_reference.py generate --seed 11 --rows 300 > tests/data/uplift_eval_typical.csv
    //   python scripts/uplift_reference.py generate --seed 12 --rows 240 --base-churn 0.8 > tests/data/uplift_eval_high_churn.csv
    //   python scripts/uplift_reference.py generate --seed 13 --rows 200 --step 0.05 --treated-top 7 > tests/data/uplift_eval_coarse.csv
    //   python scripts/uplift_reference.py score tests/data/uplift_eval_<name>.csv
    // typical: 37 distinct scores, its top score held by one control row (n_t = 0 at the first
    // threshold). high_churn: treated churners outnumber control stayers (the other branch of
    // the perfect uplift curve). coarse: 11 distinct scores, the top group all treated (n_c = 0).
    const REFERENCES: [Reference; 3] = [
        Reference {
            name: "typical",
            csv: include_str!("../../tests/data/uplift_eval_typical.csv"),
            qini_coefficient: 0.07160678067618358,
            auuc: 0.14298331090596603,
            top_reduction: [0.1071428571428571, 0.09142857142857141, 0.19758672699849178],
            deciles: [
                (14, 16, 0.1071428571428571),
                (11, 19, 0.10526315789473684),
                (14, 16, 0.4285714285714286),
                (13, 17, -0.11312217194570129),
                (18, 12, 0.16666666666666674),
                (9, 21, 0.1428571428571429),
                (13, 17, 0.040723981900452566),
                (15, 15, -0.1333333333333333),
                (15, 15, -0.06666666666666665),
                (19, 11, -0.3301435406698564),
            ],
        },
        Reference {
            name: "high_churn",
            csv: include_str!("../../tests/data/uplift_eval_high_churn.csv"),
            qini_coefficient: -0.041399882204404256,
            auuc: -0.031156674295544626,
            top_reduction: [
                -0.18881118881118886,
                -0.10714285714285715,
                -0.1331269349845201,
            ],
            deciles: [
                (11, 13, -0.18881118881118886),
                (9, 15, -0.04444444444444445),
                (14, 10, -0.18571428571428575),
                (12, 12, -0.08333333333333333),
                (13, 11, -0.1048951048951049),
                (12, 12, 0.08333333333333333),
                (13, 11, 0.26573426573426573),
                (9, 15, -0.2222222222222222),
                (15, 9, 0.06666666666666667),
                (10, 14, -0.15714285714285714),
            ],
        },
        Reference {
            name: "coarse",
            csv: include_str!("../../tests/data/uplift_eval_coarse.csv"),
            qini_coefficient: 0.08504059931217814,
            auuc: 0.15348127269529802,
            top_reduction: [0.5714285714285714, 0.2941176470588235, 0.22857142857142854],
            deciles: [
                (13, 7, 0.5714285714285714),
                (10, 10, 0.09999999999999998),
                (2, 18, 0.16666666666666663),
                (12, 8, 0.04166666666666663),
                (13, 7, -0.23076923076923073),
                (12, 8, 0.125),
                (12, 8, -0.04166666666666663),
                (8, 12, 0.08333333333333337),
                (8, 12, -0.20833333333333337),
                (13, 7, -0.24175824175824168),
            ],
        },
    ];

    fn parse_csv(text: &str) -> Vec<UpliftObservation> {
        text.lines()
            .skip(1)
            .filter(|line| !line.is_empty())
            .map(|line| {
                let fields: Vec<&str> = line.split(',').collect();
                UpliftObservation {
                    predicted_uplift: fields[0].parse().expect("predicted_uplift"),
                    treated: fields[1] == "1",
                    churned: fields[2] == "1",
                }
            })
            .collect()
    }

    #[test]
    fn qini_auuc_top_shares_and_deciles_match_scikit_uplift_on_seeded_data() {
        for r in &REFERENCES {
            let obs = parse_csv(r.csv);
            let report = evaluate_uplift(&obs).unwrap();
            let name = r.name;
            assert_close(
                report.qini_coefficient,
                r.qini_coefficient,
                &format!("{name} Qini"),
            );
            assert_close(report.auuc, r.auuc, &format!("{name} AUUC"));
            for (got, want) in report.top.iter().zip(r.top_reduction) {
                let what = format!("{name} top {}", got.top_share);
                assert_close(got.observed_reduction, want, &what);
            }
            for (got, &(treated, control, uplift)) in report.deciles.iter().zip(&r.deciles) {
                let what = format!("{name} decile {}", got.decile);
                assert_eq!(
                    (got.treated_rows, got.control_rows),
                    (treated, control),
                    "{what}"
                );
                assert_close(got.observed_uplift, uplift, &what);
            }
        }
    }
}
