//! Minimisers for model fitting: Brent's method in one dimension (simple
//! exponential smoothing), Nelder–Mead with adaptive coefficients (Gao &
//! Han 2012) for the multi-parameter likelihoods, and Levenberg–Marquardt
//! (Marquardt 1963; the problem's own Jacobian, else forward differences)
//! for sums of squares such as ARIMA's CSS, where it needs a tenth of
//! Nelder–Mead's evaluations.
//!
//! May import: only `algo` itself and its sibling `kernels`.

use super::kernels::dot;

/// Minimises `f` on `[a, b]` (Brent 1973, golden section with parabolic
/// steps). Returns `(x, f(x))`.
pub fn brent(
    mut f: impl FnMut(f64) -> f64,
    a: f64,
    b: f64,
    tol: f64,
    max_iter: usize,
) -> (f64, f64) {
    const GOLD: f64 = 0.381_966_011_250_105_1;
    let (mut a, mut b) = (a, b);
    let mut x = a + GOLD * (b - a);
    let (mut w, mut v) = (x, x);
    let mut fx = f(x);
    let (mut fw, mut fv) = (fx, fx);
    let (mut d, mut e) = (0.0f64, 0.0f64);
    for _ in 0..max_iter {
        let m = 0.5 * (a + b);
        let tol1 = tol * x.abs() + 1e-12;
        let tol2 = 2.0 * tol1;
        if (x - m).abs() <= tol2 - 0.5 * (b - a) {
            break;
        }
        let mut golden = true;
        if e.abs() > tol1 {
            let r = (x - w) * (fx - fv);
            let mut q = (x - v) * (fx - fw);
            let mut p = (x - v) * q - (x - w) * r;
            q = 2.0 * (q - r);
            if q > 0.0 {
                p = -p;
            }
            q = q.abs();
            if p.abs() < (0.5 * q * e).abs() && p > q * (a - x) && p < q * (b - x) {
                e = d;
                d = p / q;
                let u = x + d;
                if u - a < tol2 || b - u < tol2 {
                    d = if x < m { tol1 } else { -tol1 };
                }
                golden = false;
            }
        }
        if golden {
            e = if x < m { b - x } else { a - x };
            d = GOLD * e;
        }
        let u = if d.abs() >= tol1 {
            x + d
        } else {
            x + tol1.copysign(d)
        };
        let fu = f(u);
        if fu <= fx {
            if u < x {
                b = x;
            } else {
                a = x;
            }
            (v, fv, w, fw, x, fx) = (w, fw, x, fx, u, fu);
        } else {
            if u < x {
                a = u;
            } else {
                b = u;
            }
            if fu <= fw || w == x {
                (v, fv, w, fw) = (w, fw, u, fu);
            } else if fu <= fv || v == x || v == w {
                (v, fv) = (u, fu);
            }
        }
    }
    (x, fx)
}

/// Nelder–Mead from `start` with initial steps `step`. Non-finite values of
/// `f` count as +∞, so a cost function can reject points by returning NaN.
/// Returns `(x, f(x))`.
pub fn nelder_mead(
    mut f: impl FnMut(&[f64]) -> f64,
    start: &[f64],
    step: &[f64],
    max_evals: usize,
    ftol: f64,
) -> (Vec<f64>, f64) {
    let n = start.len();
    let nf = n as f64;
    let (alpha, gamma, rho, sigma) = (1.0, 1.0 + 2.0 / nf, 0.75 - 0.5 / nf, 1.0 - 1.0 / nf);
    let mut eval = |x: &[f64]| {
        let v = f(x);
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
    simplex.push((start.to_vec(), eval(start)));
    for i in 0..n {
        let mut p = start.to_vec();
        p[i] += step[i];
        let v = eval(&p);
        simplex.push((p, v));
    }
    let mut evals = n + 1;
    let mut centroid = vec![0.0; n];
    let mut trial = vec![0.0; n];
    let point = |c: &[f64], w: &[f64], t: f64, out: &mut Vec<f64>| {
        for i in 0..out.len() {
            out[i] = c[i] + t * (w[i] - c[i]);
        }
    };
    while evals < max_evals {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, worst) = (simplex[0].1, simplex[n].1);
        if (worst - best).abs() <= ftol * (best.abs() + ftol) {
            break;
        }
        centroid.iter_mut().for_each(|c| *c = 0.0);
        for (p, _) in &simplex[..n] {
            for (c, v) in centroid.iter_mut().zip(p) {
                *c += v / nf;
            }
        }
        point(&centroid, &simplex[n].0, -alpha, &mut trial);
        let fr = eval(&trial);
        evals += 1;
        if fr < simplex[0].1 {
            let reflected = trial.clone();
            point(&centroid, &simplex[n].0, -alpha * gamma, &mut trial);
            let fe = eval(&trial);
            evals += 1;
            simplex[n] = if fe < fr {
                (trial.clone(), fe)
            } else {
                (reflected, fr)
            };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (trial.clone(), fr);
        } else {
            let outside = fr < worst;
            let t = if outside { -alpha * rho } else { rho };
            let mut contracted = vec![0.0; n];
            point(&centroid, &simplex[n].0, t, &mut contracted);
            let fc = eval(&contracted);
            evals += 1;
            if fc < fr.min(worst) {
                simplex[n] = (contracted, fc);
            } else {
                let best_p = simplex[0].0.clone();
                for s in simplex.iter_mut().skip(1) {
                    for (v, b) in s.0.iter_mut().zip(&best_p) {
                        *v = b + sigma * (*v - b);
                    }
                    s.1 = eval(&s.0);
                }
                evals += n;
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    simplex.swap_remove(0)
}

/// Levenberg–Marquardt stops once an accepted step lowers the sum of
/// squares by less than this fraction: a model's AICc moves by `n·1e-7`,
/// far below the differences the ARIMA search compares.
const LM_RELATIVE_GAIN: f64 = 1e-7;

/// Residuals of a least-squares problem, for [`levenberg_marquardt`].
pub trait Residuals {
    /// Fills `out` with the residuals at `x`; returns their sum of squares.
    fn at(&mut self, x: &[f64], out: &mut Vec<f64>) -> f64;

    /// Fills `jac` (one column per parameter) with the Jacobian at `x`,
    /// whose residuals are `r`; `false` when a problem has no cheaper way
    /// than forward differences, which [`levenberg_marquardt`] then takes.
    fn jacobian(&mut self, _x: &[f64], _r: &[f64], _jac: &mut [Vec<f64>]) -> bool {
        false
    }
}

impl<F: FnMut(&[f64], &mut Vec<f64>) -> f64> Residuals for F {
    fn at(&mut self, x: &[f64], out: &mut Vec<f64>) -> f64 {
        self(x, out)
    }
}

/// Minimises `Σ r_i(x)²` by Levenberg–Marquardt. `residuals.at(x, out)`
/// fills `out` and returns the sum of squares (non-finite: rejected). At
/// most `max_iter` iterations, each a Jacobian (the problem's own, else
/// `dim` more evaluations) and one or more trial steps. Returns `(x, ss, r)`
/// with `r` the residuals at `x`, so a caller need not evaluate them again.
///
/// Two refinements of the textbook method, both for ARIMA's CSS, a
/// large-residual problem on which `J'J` misjudges the curvature:
/// - the damping follows Nielsen (1999): after an accepted step `λ` shrinks
///   by how well the linear model predicted the gain (`ρ`, at most ×0.1),
///   after a rejected one it grows by a factor that doubles each time;
/// - after an accepted step the sum of squares along it is known at both
///   ends and its slope at the start, so the parabola through them gives a
///   better length; it is tried when it differs from the step by more than
///   a quarter (one more evaluation), which ends the overshoot and
///   undershoot cycles that otherwise converge only linearly.
pub fn levenberg_marquardt(
    mut residuals: impl Residuals,
    start: &[f64],
    max_iter: usize,
) -> (Vec<f64>, f64, Vec<f64>) {
    let dim = start.len();
    let mut x = start.to_vec();
    let mut r = Vec::new();
    let mut ss = residuals.at(&x, &mut r);
    if !ss.is_finite() || dim == 0 {
        return (x, ss, r);
    }
    let mut jac = vec![Vec::new(); dim];
    let mut probe = Vec::new();
    let mut trial = Vec::new();
    let mut lambda = 1e-3;
    let mut nu = 2.0;
    for _ in 0..max_iter {
        if !residuals.jacobian(&x, &r, &mut jac) {
            // forward differences, one column per parameter
            for (k, col) in jac.iter_mut().enumerate() {
                let h = 1e-6 * x[k].abs().max(1.0);
                let mut xh = x.clone();
                xh[k] += h;
                residuals.at(&xh, &mut probe);
                col.clear();
                col.extend(probe.iter().zip(&r).map(|(a, b)| (a - b) / h));
            }
        }
        let (a, g) = normal_equations(&jac, &r);
        let mut improved = false;
        for _ in 0..10 {
            let mut m = a.clone();
            for (i, row) in m.iter_mut().enumerate() {
                row[i] += lambda * a[i][i].max(1e-12);
            }
            // a singular system or a step that does not lower the sum of
            // squares: more damping, by a factor that doubles each time
            let accepted = solve(m, g.iter().map(|v| -v).collect())
                .map(|step| {
                    let xn: Vec<f64> = x.iter().zip(&step).map(|(a, b)| a + b).collect();
                    let ssn = residuals.at(&xn, &mut trial);
                    (step, xn, ssn)
                })
                .filter(|(_, _, ssn)| ssn.is_finite() && *ssn < ss);
            let Some((step, xn, ssn)) = accepted else {
                lambda *= nu;
                nu *= 2.0;
                continue;
            };
            // the model's gain: −(2g·δ + δ'Aδ); the slope at δ = 0 is 2g·δ
            let slope = 2.0 * dot(&g, &step);
            let quad: f64 = (0..dim).map(|i| step[i] * dot(&a[i], &step)).sum();
            let predicted = -(slope + quad);
            let rho = if predicted > 0.0 {
                (ss - ssn) / predicted
            } else {
                0.0
            };
            let (x0, ss0) = (std::mem::replace(&mut x, xn), ss);
            ss = ssn;
            std::mem::swap(&mut r, &mut trial);
            let curvature = ss - ss0 - slope;
            if curvature > 0.0 {
                let alpha = (-slope / (2.0 * curvature)).clamp(0.1, 4.0);
                if !(0.8..=1.25).contains(&alpha) {
                    let xa: Vec<f64> = x0.iter().zip(&step).map(|(a, b)| a + alpha * b).collect();
                    let ssa = residuals.at(&xa, &mut trial);
                    if ssa.is_finite() && ssa < ss {
                        x = xa;
                        ss = ssa;
                        std::mem::swap(&mut r, &mut trial);
                    }
                }
            }
            lambda = (lambda * 0.1f64.max(1.0 - (2.0 * rho - 1.0).powi(3))).max(1e-12);
            nu = 2.0;
            improved = (ss0 - ss) / ss0.max(f64::MIN_POSITIVE) > LM_RELATIVE_GAIN;
            break;
        }
        if !improved {
            break;
        }
    }
    (x, ss, r)
}

/// `(J'J, J'r)` of the Jacobian's columns `jac` and the residuals `r`.
fn normal_equations(jac: &[Vec<f64>], r: &[f64]) -> (Vec<Vec<f64>>, Vec<f64>) {
    let dim = jac.len();
    let mut a = vec![vec![0.0; dim]; dim];
    let mut g = vec![0.0; dim];
    for i in 0..dim {
        g[i] = dot(&jac[i], r);
        for k in i..dim {
            let v = dot(&jac[i], &jac[k]);
            a[i][k] = v;
            a[k][i] = v;
        }
    }
    (a, g)
}

/// Solves `m·x = b` by Gaussian elimination with partial pivoting.
fn solve(mut m: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for c in 0..n {
        let p = (c..n).max_by(|&i, &j| m[i][c].abs().total_cmp(&m[j][c].abs()))?;
        if m[p][c].abs() < 1e-300 {
            return None;
        }
        m.swap(c, p);
        b.swap(c, p);
        let (top, below) = m.split_at_mut(c + 1);
        let pivot = &top[c];
        for (i, row) in below.iter_mut().enumerate() {
            let f = row[c] / pivot[c];
            for (x, p) in row[c..].iter_mut().zip(&pivot[c..]) {
                *x -= f * p;
            }
            b[c + 1 + i] -= f * b[c];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| m[i][k] * x[k]).sum();
        x[i] = (b[i] - s) / m[i][i];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brent_finds_a_parabola_minimum() {
        let (x, fx) = brent(|x| (x - 0.3) * (x - 0.3) + 2.0, 0.0, 1.0, 1e-10, 200);
        assert!((x - 0.3).abs() < 1e-8);
        assert!((fx - 2.0).abs() < 1e-12);
    }

    #[test]
    fn levenberg_marquardt_fits_an_exponential() {
        // y = 2·exp(0.3 t), exactly: the fit recovers both parameters
        let t: Vec<f64> = (0..20).map(f64::from).collect();
        let y: Vec<f64> = t.iter().map(|t| 2.0 * (0.3 * t).exp()).collect();
        let (x, ss, _) = levenberg_marquardt(
            |p: &[f64], out: &mut Vec<f64>| {
                out.clear();
                out.extend(t.iter().zip(&y).map(|(t, y)| p[0] * (p[1] * t).exp() - y));
                out.iter().map(|e| e * e).sum()
            },
            &[1.0, 0.1],
            100,
        );
        assert!(
            (x[0] - 2.0).abs() < 1e-6 && (x[1] - 0.3).abs() < 1e-8,
            "{x:?}"
        );
        assert!(ss < 1e-10);
    }

    #[test]
    fn nelder_mead_finds_rosenbrock_minimum() {
        let rosen = |p: &[f64]| (1.0 - p[0]).powi(2) + 100.0 * (p[1] - p[0] * p[0]).powi(2);
        let (x, fx) = nelder_mead(rosen, &[-1.2, 1.0], &[0.5, 0.5], 5000, 1e-14);
        assert!(fx < 1e-8, "{fx}");
        assert!((x[0] - 1.0).abs() < 1e-3 && (x[1] - 1.0).abs() < 1e-3);
    }
}
