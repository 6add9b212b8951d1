//! Newton steps that carry the warm start of a large fit from its sample's optimum close to the
//! optimum of all rows, before linfa's L-BFGS takes over (and decides when to stop).
//!
//! The objective is linfa's, in the churn convention (`y` = 1 for churned, intercept last):
//! `J(w) = Σᵢ [log(1 + e^zᵢ) − yᵢ zᵢ] + ½·l2·‖w_features‖²`, `zᵢ = xᵢ·w + b`. Its gradient over all
//! rows is exact (one pass over the column-major matrix); its Hessian `XᵀDX + l2·I` is taken
//! from the sample, scaled to the number of rows, which is close enough for the step to shrink
//! the gradient by an order of magnitude or more, and costs nothing next to a pass over all rows.

use ndarray::{Array1, Array2};

/// At most this many steps; each costs one pass over all rows.
const MAX_STEPS: usize = 2;

/// `w` after up to [`MAX_STEPS`] Newton steps on all rows of `x` (labels `y`) with the Hessian of
/// the sample `xs` scaled by `rows / sample rows`. A step that does not lower `J` is not taken;
/// the steps stop once the mean gradient's norm is below `tolerance_per_row`.
pub(super) fn refine(
    x: &Array2<f64>,
    y: &Array1<usize>,
    xs: &Array2<f64>,
    mut w: Vec<f64>,
    l2: f64,
    tolerance_per_row: f64,
) -> Vec<f64> {
    let scale = x.nrows() as f64 / xs.nrows() as f64;
    let (mut cost, mut gradient) = cost_and_gradient(x, y, &w, l2);
    for _ in 0..MAX_STEPS {
        if norm(&gradient) < tolerance_per_row * x.nrows() as f64 {
            break;
        }
        let mut hessian = sample_hessian(xs, &w);
        for (i, h) in hessian.iter_mut().enumerate() {
            for (j, v) in h.iter_mut().enumerate() {
                *v *= scale;
                if i == j && i < x.ncols() {
                    *v += l2;
                }
            }
        }
        let Some(step) = solve(hessian, gradient.clone()) else {
            break;
        };
        let next: Vec<f64> = w.iter().zip(&step).map(|(w, s)| w - s).collect();
        let (next_cost, next_gradient) = cost_and_gradient(x, y, &next, l2);
        if !next_cost.is_finite() || next_cost >= cost {
            break;
        }
        (w, cost, gradient) = (next, next_cost, next_gradient);
    }
    w
}

/// `J(w)` and its gradient over all rows (column-major `x`: each column read once, forward).
fn cost_and_gradient(x: &Array2<f64>, y: &Array1<usize>, w: &[f64], l2: f64) -> (f64, Vec<f64>) {
    let features = x.ncols();
    let z = logits(x, w);
    let mut cost = 0.0;
    let mut residual = z; // p − y, in place of z
    for (r, &yi) in residual.iter_mut().zip(y) {
        let zi = *r;
        let label = yi as f64;
        cost += zi.max(0.0) + (-zi.abs()).exp().ln_1p() - label * zi;
        *r = logistic(zi) - label;
    }
    let mut gradient: Vec<f64> = x
        .columns()
        .into_iter()
        .zip(w)
        .map(|(column, &wj)| {
            column
                .iter()
                .zip(&residual)
                .map(|(x, r)| x * r)
                .sum::<f64>()
                + l2 * wj
        })
        .collect();
    gradient.push(residual.iter().sum());
    cost += 0.5 * l2 * w[..features].iter().map(|v| v * v).sum::<f64>();
    (cost, gradient)
}

/// `zᵢ = xᵢ·w + b` for every row of the column-major `x` (intercept last in `w`).
fn logits(x: &Array2<f64>, w: &[f64]) -> Vec<f64> {
    let mut z = vec![w[x.ncols()]; x.nrows()];
    for (column, &wj) in x.columns().into_iter().zip(w) {
        for (zi, &xij) in z.iter_mut().zip(column) {
            *zi += wj * xij;
        }
    }
    z
}

/// `XᵀDX` over the sample, with a column of ones for the intercept, `D = p(1 − p)` at `w`.
fn sample_hessian(xs: &Array2<f64>, w: &[f64]) -> Vec<Vec<f64>> {
    let features = xs.ncols();
    let d: Vec<f64> = logits(xs, w)
        .into_iter()
        .map(|zi| {
            let p = logistic(zi);
            p * (1.0 - p)
        })
        .collect();
    let columns: Vec<_> = xs.columns().into_iter().collect();
    let mut h = vec![vec![0.0; features + 1]; features + 1];
    for j in 0..=features {
        for k in 0..=j {
            let v = match (j == features, k == features) {
                (true, true) => d.iter().sum(),
                (true, false) => columns[k].iter().zip(&d).map(|(x, d)| x * d).sum(),
                _ => columns[j]
                    .iter()
                    .zip(columns[k].iter())
                    .zip(&d)
                    .map(|((a, b), d)| a * b * d)
                    .sum(),
            };
            h[j][k] = v;
            h[k][j] = v;
        }
    }
    h
}

/// `a⁻¹·b` by Gaussian elimination with partial pivoting; `None` when `a` is singular.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        // A NaN pivot is singular too.
        if a[pivot][col].abs().is_nan() || a[pivot][col].abs() <= 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (done, rest) = a.split_at_mut(col + 1);
        let pivot_row = &done[col];
        for (offset, row) in rest.iter_mut().enumerate() {
            let factor = row[col] / pivot_row[col];
            for (v, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *v -= factor * p;
            }
            b[col + 1 + offset] -= factor * b[col];
        }
    }
    let mut out = vec![0.0; n];
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|k| a[row][k] * out[k]).sum();
        out[row] = (b[row] - tail) / a[row][row];
    }
    out.iter().all(|v| v.is_finite()).then_some(out)
}

fn logistic(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// A seeded uniform generator on [0, 1) (xorshift64) for the training tests' data sets.
#[cfg(test)]
pub(super) fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solve_inverts_a_small_system_and_refuses_a_singular_one() {
        let a = vec![vec![4.0, 1.0], vec![1.0, 3.0]];
        let x = solve(a, vec![1.0, 2.0]).unwrap();
        assert!((x[0] - 1.0 / 11.0).abs() < 1e-12 && (x[1] - 7.0 / 11.0).abs() < 1e-12);
        assert!(solve(vec![vec![1.0, 2.0], vec![2.0, 4.0]], vec![1.0, 1.0]).is_none());
    }

    #[test]
    fn the_gradient_matches_finite_differences_of_the_cost() {
        let x = Array2::from_shape_vec((4, 2).f(), vec![0.5, -1.0, 2.0, 0.1, 1.5, 0.3, -0.7, 1.2])
            .unwrap();
        let y = Array1::from(vec![1, 0, 1, 0]);
        let w = vec![0.3, -0.2, 0.1];
        let (_, g) = cost_and_gradient(&x, &y, &w, 0.5);
        for i in 0..3 {
            let (mut up, mut down) = (w.clone(), w.clone());
            up[i] += 1e-6;
            down[i] -= 1e-6;
            let numeric = (cost_and_gradient(&x, &y, &up, 0.5).0
                - cost_and_gradient(&x, &y, &down, 0.5).0)
                / 2e-6;
            assert!((numeric - g[i]).abs() < 1e-6, "{i}: {numeric} vs {}", g[i]);
        }
    }

    #[test]
    fn steps_from_near_the_optimum_shrink_the_gradient_tenfold_and_lower_the_cost() {
        let rows = 20_000;
        let mut uniform = uniform(0x9e37_79b9_7f4a_7c15);
        let mut x = Array2::<f64>::zeros((rows, 2).f());
        let mut y = Array1::<usize>::zeros(rows);
        for i in 0..rows {
            let (a, b) = (uniform() * 4.0 - 2.0, uniform() * 4.0 - 2.0);
            x[[i, 0]] = a;
            x[[i, 1]] = b;
            y[i] = usize::from(uniform() < 1.0 / (1.0 + (-(1.0 * a - 0.5 * b - 1.0)).exp()));
        }
        let sampled = x.slice(ndarray::s![..;16, ..]);
        let mut xs = Array2::<f64>::zeros(sampled.raw_dim().f());
        xs.assign(&sampled);
        let start = vec![0.9, -0.4, -1.1];
        let (cost0, g0) = cost_and_gradient(&x, &y, &start, 1.0);
        let w = refine(&x, &y, &xs, start, 1.0, 1e-12);
        let (cost1, g1) = cost_and_gradient(&x, &y, &w, 1.0);
        assert!(cost1 < cost0, "{cost1} vs {cost0}");
        assert!(
            norm(&g1) * 10.0 < norm(&g0),
            "{} vs {}",
            norm(&g1),
            norm(&g0)
        );
    }

    use ndarray::ShapeBuilder;
}
