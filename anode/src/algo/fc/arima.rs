//! One seasonal ARIMA(p,d,q)(P,D,Q)[m] model: fitting by conditional sum of
//! squares (CSS) or exact Gaussian maximum likelihood (ML, a Kalman filter on
//! the state-space form), forecasts and their standard errors.
//!
//! The series is differenced first (`(1-B)^d (1-B^m)^D`) and an ARMA with an
//! optional constant mean is fitted to the differences, as R's `arima` does
//! with `include.mean` / drift. The AR and MA polynomials are parametrised
//! through partial autocorrelations (`tanh`, then Durbin–Levinson, Jones
//! 1980): every point the optimiser visits is a stationary, invertible
//! model, so no fit can produce an exploding forecast.
//!
//! The exact likelihood needs the stationary state covariance `P0 = T P0 T' +
//! R R'`, which costs `r³` per doubling step for a state of dimension
//! `r = max(p + mP, q + mQ + 1)`; above [`MAX_ML_STATE`] the fit stays with
//! CSS (R's `auto.arima` also searches by CSS for long or highly seasonal
//! series). The filter switches to its steady state once the covariance
//! stops changing, so a likelihood costs `O(n·r)` after a short transient.
//!
//! May import: its parent's `optimize` and `kernels`.

use ndarray::{Array1, Array2};

use super::kernels::{axpy, axpy_diff, dot, ma_recursion};
use super::optimize::{Residuals, levenberg_marquardt, nelder_mead};

/// Largest state dimension fitted by exact ML; beyond it CSS is used.
/// `r = 30` covers every non-seasonal order and monthly seasons with
/// `P ≤ 2` (2·12 + 5 = 29); a doubling step then costs 27,000 multiply-adds.
pub const MAX_ML_STATE: usize = 30;

/// Largest `n·r²` fitted by exact ML. Until the filter reaches its steady
/// state (slowly, for a seasonal MA near its unit root) one likelihood
/// costs `n·r²`; past this the CSS fit is kept, which for so long a series
/// gives the same forecasts to a fraction of a percent (R's `auto.arima`
/// reasons the same way for `n > 150`).
pub const MAX_ML_WORK: usize = 60_000;

/// Longest series fitted by exact ML: past it the conditioning on the first
/// `p + mP` values that CSS makes is immaterial (their share of the
/// likelihood is below 1 %), and ML would double the time of a fit.
pub const MAX_ML_POINTS: usize = 500;

/// Levenberg–Marquardt iterations of a CSS fit (each `dim + 1` passes over
/// the series): bounds one fit at `MAX_LM_ITER · (dim + 1) · n · (p + q + …)`
/// operations. It converges in 5–15 from zero, fewer from a neighbour.
pub const MAX_LM_ITER: usize = 100;

/// Likelihood evaluations of the ML refinement, which starts from the CSS
/// optimum and so needs few.
const MAX_ML_EVALS: usize = 400;

/// Floor of a residual variance: a series the model fits exactly (a
/// constant) keeps a finite likelihood instead of `log 0`.
const TINY: f64 = 1e-300;

/// Orders of a seasonal ARIMA model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Order {
    pub p: usize,
    pub d: usize,
    pub q: usize,
    pub sp: usize,
    pub sd: usize,
    pub sq: usize,
    /// Season length; 1 when there is none.
    pub m: usize,
    /// Whether the differenced series has a non-zero mean (a constant for
    /// `d + D = 0`, a drift for `d + D = 1`).
    pub constant: bool,
}

impl Order {
    fn n_arma(&self) -> usize {
        self.p + self.q + self.sp + self.sq
    }

    /// Number of estimated coefficients, σ² included.
    pub fn n_params(&self) -> usize {
        self.n_arma() + usize::from(self.constant) + 1
    }

    /// Lags of the expanded AR and MA polynomials.
    fn ar_len(&self) -> usize {
        self.p + self.m * self.sp
    }

    fn ma_len(&self) -> usize {
        self.q + self.m * self.sq
    }

    /// Dimension of the Harvey state vector.
    pub fn state_dim(&self) -> usize {
        self.ar_len().max(self.ma_len() + 1)
    }

    /// Upstream's (pmdarima) notation.
    pub fn sarimax(&self) -> String {
        let m = if self.sp + self.sd + self.sq == 0 {
            0
        } else {
            self.m
        };
        format!(
            "SARIMAX({}, {}, {})x({}, {}, {}, {})",
            self.p, self.d, self.q, self.sp, self.sd, self.sq, m
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Css,
    Ml,
}

/// A fitted model.
#[derive(Debug, Clone)]
pub struct Fit {
    pub order: Order,
    pub method: Method,
    /// Expanded AR coefficients `φ_1..` (`w_t = Σ φ_i w_{t-i} + …`).
    pub phi: Vec<f64>,
    /// Expanded MA coefficients `θ_1..` (`… + e_t + Σ θ_j e_{t-j}`).
    pub theta: Vec<f64>,
    /// Non-seasonal and seasonal coefficients as fitted, for `/forecast`'s
    /// `fitted` map: ar, ma, sar, sma.
    pub coef: [Vec<f64>; 4],
    /// The optimiser's vector (partial autocorrelations before `tanh`).
    raw: Vec<f64>,
    pub mean: f64,
    pub sigma2: f64,
    pub loglik: f64,
    pub aicc: f64,
    /// Sum of squared one-step residuals and how many there were.
    pub sse: f64,
    pub n_resid: usize,
    /// The undifferenced history (for integrating forecasts back).
    history: Vec<f64>,
    /// Differenced series minus its mean, and its residuals.
    w: Vec<f64>,
    resid: Vec<f64>,
}

/// `(1-B)^d (1-B^m)^D` as coefficients of `B^0..`.
fn diff_poly(o: &Order) -> Vec<f64> {
    let mut poly = vec![1.0];
    let mul = |a: &[f64], lag: usize| {
        let mut out = vec![0.0; a.len() + lag];
        for (i, &c) in a.iter().enumerate() {
            out[i] += c;
            out[i + lag] -= c;
        }
        out
    };
    for _ in 0..o.d {
        poly = mul(&poly, 1);
    }
    for _ in 0..o.sd {
        poly = mul(&poly, o.m);
    }
    poly
}

/// Applies a differencing polynomial: `w_t = Σ δ_k y_{t-k}`.
pub fn difference(y: &[f64], o: &Order) -> Vec<f64> {
    let delta = diff_poly(o);
    let k = delta.len() - 1;
    (k..y.len())
        .map(|t| delta.iter().enumerate().map(|(j, c)| c * y[t - j]).sum())
        .collect()
}

/// Partial autocorrelations in (-1, 1) → AR coefficients of a stationary
/// polynomial (Durbin–Levinson).
///
/// Each step updates the pairs `(j, k−1−j)` together, in place, instead of
/// copying the polynomial: the fits call this for every trial point.
fn pacf_to_ar(raw: &[f64]) -> Vec<f64> {
    let mut phi: Vec<f64> = Vec::with_capacity(raw.len());
    for (k, &x) in raw.iter().enumerate() {
        let r = x.tanh();
        for j in 0..k / 2 {
            let (a, b) = (phi[j], phi[k - 1 - j]);
            phi[j] = a - r * b;
            phi[k - 1 - j] = b - r * a;
        }
        if k % 2 == 1 {
            let m = k / 2;
            phi[m] -= r * phi[m];
        }
        phi.push(r);
    }
    phi
}

/// The inverse of [`pacf_to_ar`].
#[cfg(test)]
fn ar_to_pacf(phi: &[f64]) -> Option<Vec<f64>> {
    let mut a = phi.to_vec();
    let mut out = vec![0.0; a.len()];
    for k in (0..a.len()).rev() {
        let r = a[k];
        if r.abs() >= 0.999 {
            return None;
        }
        out[k] = r.atanh();
        let prev = a.clone();
        for j in 0..k {
            a[j] = (prev[j] + r * prev[k - 1 - j]) / (1.0 - r * r);
        }
        a.truncate(k);
    }
    Some(out)
}

/// Multiplies `(1 - Σ a_i B^i)(1 - Σ s_k B^{mk})` and returns the expanded
/// coefficients with the same sign convention (`ar = true`) or for
/// `(1 + Σ …)(1 + Σ …)` (`ar = false`).
fn expand(a: &[f64], s: &[f64], m: usize, ar: bool) -> Vec<f64> {
    if s.is_empty() {
        // the product with 1: exactly `a` (the sign flips cancel)
        return a.to_vec();
    }
    let sign = if ar { -1.0 } else { 1.0 };
    let len = a.len() + m * s.len();
    let mut lhs = vec![0.0; a.len() + 1];
    lhs[0] = 1.0;
    for (i, c) in a.iter().enumerate() {
        lhs[i + 1] = sign * c;
    }
    let mut rhs = vec![0.0; m * s.len() + 1];
    rhs[0] = 1.0;
    for (k, c) in s.iter().enumerate() {
        rhs[m * (k + 1)] = sign * c;
    }
    let mut out = vec![0.0; len + 1];
    for (i, x) in lhs.iter().enumerate() {
        if *x == 0.0 {
            continue;
        }
        for (j, y) in rhs.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out[1..].iter().map(|c| sign * c).collect()
}

/// Coefficients from the optimiser's unconstrained vector.
fn coefficients(o: &Order, x: &[f64]) -> [Vec<f64>; 4] {
    let (p, q, sp) = (o.p, o.q, o.sp);
    let neg = |v: Vec<f64>| v.into_iter().map(|c| -c).collect::<Vec<_>>();
    [
        pacf_to_ar(&x[..p]),
        neg(pacf_to_ar(&x[p..p + q])),
        pacf_to_ar(&x[p + q..p + q + sp]),
        neg(pacf_to_ar(&x[p + q + sp..o.n_arma()])),
    ]
}

/// The expanded AR and MA polynomials `(φ, θ)` of fitted coefficients:
/// the non-seasonal and seasonal parts multiplied out.
fn expanded(o: &Order, coef: &[Vec<f64>; 4]) -> (Vec<f64>, Vec<f64>) {
    (
        expand(&coef[0], &coef[2], o.m, true),
        expand(&coef[1], &coef[3], o.m, false),
    )
}

/// The expanded polynomials `(φ, θ)` at the optimiser's vector `x`.
fn polynomials(o: &Order, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
    expanded(o, &coefficients(o, x))
}

/// Nonzero `(lag, coefficient)` pairs: the seasonal products are sparse.
fn sparse(c: &[f64]) -> Vec<(usize, f64)> {
    c.iter()
        .enumerate()
        .filter(|(_, v)| **v != 0.0)
        .map(|(i, v)| (i + 1, *v))
        .collect()
}

/// How many of `n` CSS residuals count for an AR polynomial `phi`: the
/// first `len φ` are conditioned on and left at zero.
fn css_counted(phi: &[f64], n: usize) -> usize {
    n - phi.len().min(n)
}

/// CSS residuals of `w` (mean already removed); the first `max(ar lag)`
/// residuals are zero and not counted ([`css_counted`]).
///
/// The search spends most of its time here, so the work is ordered for the
/// processor: first the AR part, lag by lag over all `t` (independent
/// across `t`, so it is vectorised), then the MA recursion
/// ([`ma_recursion`]), which is sequential in `t`.
fn css_residuals(w: &[f64], phi: &[f64], theta: &[f64], out: &mut Vec<f64>) -> (f64, usize) {
    let n = w.len();
    let used = css_counted(phi, n);
    let start = n - used;
    out.clear();
    out.extend_from_slice(w);
    out[..start].fill(0.0);
    if used == 0 {
        // no residual: more AR lags than values (the fits refuse this)
        return (0.0, 0);
    }
    for (l, c) in sparse(phi) {
        axpy(-c, &w[start - l..n - l], &mut out[start..]);
    }
    ma_recursion([out], &sparse(theta), start);
    // summed apart: inside the recursion it would be a second chain of waits
    let tail = &out[start..];
    (dot(tail, tail), used)
}

/// The CSS problem of one order, for Levenberg–Marquardt.
struct Css<'a> {
    order: &'a Order,
    w: &'a [f64],
    scratch: Scratch,
    /// Cleared once [`css_jacobian`] declines: whether it pays depends on
    /// the order's lags and the series' length, which a fit does not
    /// change, so later iterations go straight to forward differences.
    analytic: bool,
}

impl<'a> Css<'a> {
    fn new(order: &'a Order, w: &'a [f64]) -> Self {
        Css {
            order,
            w,
            scratch: Scratch::default(),
            analytic: true,
        }
    }
}

/// The series [`css_jacobian`] fills, kept between its calls: a fit
/// computes up to one Jacobian an iteration, all of one length.
#[derive(Default)]
struct Scratch {
    u: Vec<f64>,
    v: Vec<f64>,
    psi: Vec<f64>,
    head: Vec<f64>,
}

/// How many times the work of a forward-difference Jacobian the analytic
/// one's head correction may cost, counted in multiply-adds: a vectorised
/// one costs about an eighth of a step of the latency-bound recursion.
const HEAD_WORK_RATIO: usize = 8;

/// Step of the forward differences through the (cheap) map from the
/// optimiser's vector to the expanded polynomials.
const POLY_STEP: f64 = 1e-7;

impl Residuals for Css<'_> {
    fn at(&mut self, x: &[f64], out: &mut Vec<f64>) -> f64 {
        let (phi, theta) = polynomials(self.order, x);
        css_residuals(self.w, &phi, &theta, out).0
    }

    /// The Jacobian from three filtered series instead of one pass over the
    /// series per parameter ([`css_jacobian`]); the chain rule through the
    /// partial autocorrelations and the seasonal product takes forward
    /// differences of that small map, which costs no pass over the series.
    fn jacobian(&mut self, x: &[f64], r: &[f64], jac: &mut [Vec<f64>]) -> bool {
        if !self.analytic {
            return false;
        }
        let (phi, theta) = polynomials(self.order, x);
        let mut xh = x.to_vec();
        let mut dirs = Vec::with_capacity(x.len());
        for k in 0..x.len() {
            let h = POLY_STEP * x[k].abs().max(1.0);
            xh[k] = x[k] + h;
            let (ph, th) = polynomials(self.order, &xh);
            xh[k] = x[k];
            let diff = |new: &[f64], old: &[f64]| -> Vec<f64> {
                new.iter().zip(old).map(|(a, b)| (a - b) / h).collect()
            };
            dirs.push((diff(&ph, &phi), diff(&th, &theta)));
        }
        self.analytic = css_jacobian(self.w, &phi, &theta, r, &dirs, jac, &mut self.scratch);
        self.analytic
    }
}

/// The exact Jacobian of the CSS residuals `r` (of [`css_residuals`]) along
/// directions `dirs[k] = (dφ, dθ)` of the expanded polynomials, into
/// `jac[k]`; `false` if the series is too short to have residuals, or if
/// forward differences would cost less (see `HEAD_WORK_RATIO`).
///
/// With `F` the MA recursion by `θ` started at zero: the residuals are `r =
/// F(a)` for `t ≥ A = len φ` with `a_t = w_t − Σ φ_i w_{t−i}`, so
/// `∂r_t/∂θ_j = −F(r)_{t−j}` and `∂r_t/∂φ_i = −F(w)_{t−i} + H_i(t−i)`,
/// where `H_i` undoes the part of `F(w)` that comes from the values `w_0 ..
/// w_{A−i−1}` before the residuals start: `H_i(τ) = Σ_{s<A−i} w_s ψ_{τ−s}`
/// with `ψ` the impulse response of `1/θ(B)`. `F(w)`, `F(r)` and `ψ` are
/// one interleaved recursion and the `H_i` grow one shifted `ψ` at a time,
/// so a Jacobian costs about one residual evaluation, not one per parameter.
fn css_jacobian(
    w: &[f64],
    phi: &[f64],
    theta: &[f64],
    r: &[f64],
    dirs: &[(Vec<f64>, Vec<f64>)],
    jac: &mut [Vec<f64>],
    scratch: &mut Scratch,
) -> bool {
    let n = w.len();
    let big_a = phi.len();
    if big_a >= n || r.len() != n {
        return false;
    }
    let Scratch { u, v, psi, head } = scratch;
    let ma = sparse(theta);
    // The head correction costs `A · nnz(ψ)` vectorised multiply-adds, a
    // forward difference one latency-bound recursion per parameter: past
    // `HEAD_WORK_RATIO` times the latter (a long seasonal AR with a dense
    // ψ) the problem takes forward differences.
    let budget = HEAD_WORK_RATIO * dirs.len() * n;
    u.clear();
    u.extend_from_slice(w);
    v.clear();
    v.extend_from_slice(r);
    psi.clear();
    psi.resize(n, 0.0);
    psi[0] = 1.0;
    let sparse_psi = if big_a * n <= budget {
        ma_recursion([u, v, psi], &ma, 0);
        None
    } else {
        // a seasonal-only MA has a ψ that is zero off its season's multiples
        ma_recursion([&mut psi[..]], &ma, 0);
        let nz = sparse(psi);
        if big_a * nz.len() > budget {
            return false;
        }
        ma_recursion([u, v], &ma, 0);
        Some(nz)
    };
    for col in jac.iter_mut() {
        col.clear();
        col.resize(n, 0.0);
    }
    // AR lags, longest first: H grows by one head value per lag
    head.clear();
    head.resize(n, 0.0);
    for i in (1..=big_a).rev() {
        // head = H_i: the response to w_0 .. w_{A-i-1}
        if i < big_a {
            let s = big_a - i - 1;
            match &sparse_psi {
                None => axpy(w[s], psi, &mut head[s..]),
                // `sparse` numbers lags from 1: ψ_j is at `j - 1`
                Some(nz) => {
                    for &(j, p) in nz.iter().take_while(|(j, _)| s + j - 1 < n) {
                        head[s + j - 1] += w[s] * p;
                    }
                }
            }
        }
        for (col, (d, _)) in jac.iter_mut().zip(dirs) {
            let c = d[i - 1];
            if c == 0.0 {
                continue;
            }
            let from = big_a - i;
            axpy_diff(c, &head[from..], &u[from..], &mut col[big_a..]);
        }
    }
    for (col, (_, d)) in jac.iter_mut().zip(dirs) {
        for (j, &c) in d.iter().enumerate() {
            let lag = j + 1;
            let from = big_a.max(lag);
            if c == 0.0 || from >= n {
                continue;
            }
            axpy(-c, &v[from - lag..], &mut col[from..]);
        }
    }
    true
}

/// Exact Gaussian log-likelihood pieces of a stationary ARMA by the Kalman
/// filter: `(Σ v²/F, Σ log F, n)`, or `None` when the state covariance
/// cannot be found.
fn kalman(w: &[f64], phi: &[f64], theta: &[f64]) -> Option<(f64, f64)> {
    let r = phi.len().max(theta.len() + 1);
    let phi_r: Vec<f64> = (0..r).map(|i| phi.get(i).copied().unwrap_or(0.0)).collect();
    let mut rvec = Array1::<f64>::zeros(r);
    rvec[0] = 1.0;
    for (i, t) in theta.iter().enumerate() {
        rvec[i + 1] = *t;
    }
    let rr = outer(&rvec);
    // P0 = Σ_k T^k R R' T'^k by doubling: P ← P + A P A', A ← A².
    let mut tm = Array2::<f64>::zeros((r, r));
    for i in 0..r {
        tm[[i, 0]] = phi_r[i];
        if i + 1 < r {
            tm[[i, i + 1]] = 1.0;
        }
    }
    let mut p = rr.clone();
    let mut a = tm;
    for _ in 0..64 {
        let add = a.dot(&p).dot(&a.t());
        let change = add.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        p += &add;
        if !change.is_finite() {
            return None;
        }
        if change <= 1e-12 * p[[0, 0]].abs().max(1.0) {
            break;
        }
        a = a.dot(&a);
    }
    // The filter works on flat row-major buffers, allocated once.
    let rr: Vec<f64> = rr.iter().copied().collect();
    let mut p: Vec<f64> = p.iter().copied().collect();
    let mut tp = vec![0.0; r * r];
    let mut state = vec![0.0; r];
    let mut gain = vec![0.0; r];
    let (mut ssq, mut sumlog) = (0.0, 0.0);
    let mut steady = false;
    let mut f = 0.0;
    for &y in w {
        if !steady {
            f = p[0];
            if f.is_nan() || f <= 0.0 {
                return None;
            }
            for i in 0..r {
                gain[i] = p[i * r] / f;
            }
        }
        let v = y - state[0];
        ssq += v * v / f;
        sumlog += f.ln();
        // a ← T (a + k v): (T x)_i = φ_i x_0 + x_{i+1}
        let x0 = state[0] + gain[0] * v;
        for i in 0..r {
            let next = if i + 1 < r {
                state[i + 1] + gain[i + 1] * v
            } else {
                0.0
            };
            state[i] = phi_r[i] * x0 + next;
        }
        if steady {
            continue;
        }
        // P ← T (P − P e1 e1' P / F) T' + R R', in O(r²) using T's shape.
        for i in 0..r {
            for j in 0..r {
                let pf = |a: usize, b: usize| p[a * r + b] - p[a * r] * p[b * r] / f;
                tp[i * r + j] = phi_r[i] * pf(0, j) + if i + 1 < r { pf(i + 1, j) } else { 0.0 };
            }
        }
        let mut change = 0.0f64;
        for i in 0..r {
            for j in 0..r {
                let v = phi_r[j] * tp[i * r]
                    + if j + 1 < r { tp[i * r + j + 1] } else { 0.0 }
                    + rr[i * r + j];
                change = change.max((v - p[i * r + j]).abs());
                p[i * r + j] = v;
            }
        }
        if change < 1e-9 * p[0] {
            steady = true;
            f = p[0];
            for i in 0..r {
                gain[i] = p[i * r] / f;
            }
        }
    }
    Some((ssq, sumlog))
}

fn outer(v: &Array1<f64>) -> Array2<f64> {
    let n = v.len();
    Array2::from_shape_fn((n, n), |(i, j)| v[i] * v[j])
}

/// AICc from -2 log L, `k` parameters and `n` observations.
pub fn aicc(minus2ll: f64, k: usize, n: usize) -> f64 {
    let (k, n) = (k as f64, n as f64);
    if n - k - 1.0 <= 0.0 {
        return f64::INFINITY;
    }
    minus2ll + 2.0 * k + 2.0 * k * (k + 1.0) / (n - k - 1.0)
}

/// Fits `order` to `y`. `None` when there are too few observations for the
/// parameters or no finite likelihood was found.
pub fn fit(y: &[f64], order: Order, method: Method, start: Option<&Fit>) -> Option<Fit> {
    fit_capped(y, order, method, start, MAX_LM_ITER)
}

/// [`fit`] with at most `lm_iter` Levenberg–Marquardt iterations: a search
/// only ranks models, and refits its winner in full.
pub fn fit_capped(
    y: &[f64],
    order: Order,
    method: Method,
    start: Option<&Fit>,
    lm_iter: usize,
) -> Option<Fit> {
    let w_raw = difference(y, &order);
    let n = w_raw.len();
    let k = order.n_params();
    if n < order.ar_len() + k + 3 {
        return None;
    }
    let mean = if order.constant {
        w_raw.iter().sum::<f64>() / n as f64
    } else {
        0.0
    };
    let w: Vec<f64> = w_raw.iter().map(|v| v - mean).collect();
    let r = order.state_dim();
    let method = if r > MAX_ML_STATE || n * r * r > MAX_ML_WORK || n > MAX_ML_POINTS {
        Method::Css
    } else {
        method
    };
    let dim = order.n_arma();
    let ml = |x: &[f64]| {
        let (phi, theta) = polynomials(&order, x);
        match kalman(&w, &phi, &theta) {
            Some((ssq, sumlog)) => 0.5 * (ssq / n as f64).max(TINY).ln() + 0.5 * sumlog / n as f64,
            None => f64::NAN,
        }
    };
    let x0 = start.map_or_else(|| vec![0.0; dim], |s| warm_start(&order, s));
    // a CSS fit keeps the optimiser's last residuals: they are the ones at
    // its answer, so evaluating them again would only repeat a pass
    let mut css_at_x = None;
    let x = if dim == 0 {
        Vec::new()
    } else {
        // CSS is a sum of squares: Levenberg–Marquardt on the residuals
        let (xc, ss, r) = levenberg_marquardt(Css::new(&order, &w), &x0, lm_iter);
        if method == Method::Ml {
            nelder_mead(ml, &xc, &vec![0.05; dim], MAX_ML_EVALS, 1e-7).0
        } else {
            css_at_x = Some((ss, r));
            xc
        }
    };
    let coef = coefficients(&order, &x);
    let (phi, theta) = expanded(&order, &coef);
    let (ss, used, resid) = match css_at_x {
        Some((ss, r)) => (ss, css_counted(&phi, n), r),
        None => {
            let mut r = Vec::new();
            let (ss, used) = css_residuals(&w, &phi, &theta, &mut r);
            (ss, used, r)
        }
    };
    let (sigma2, minus2ll) = match method {
        // R's auto.arima scores CSS fits over all n differenced values
        // (not the n − ncond residuals), so that models losing more values
        // to conditioning are not favoured by a shorter sum.
        Method::Css => {
            let s2 = (ss / used as f64).max(TINY);
            (
                s2,
                n as f64 * ((2.0 * std::f64::consts::PI * s2).ln() + 1.0),
            )
        }
        Method::Ml => {
            let (ssq, sumlog) = kalman(&w, &phi, &theta)?;
            let s2 = (ssq / n as f64).max(TINY);
            (
                s2,
                n as f64 * ((2.0 * std::f64::consts::PI * s2).ln() + 1.0) + sumlog,
            )
        }
    };
    if !minus2ll.is_finite() || sigma2.is_nan() || sigma2 <= 0.0 {
        return None;
    }
    Some(Fit {
        order,
        method,
        phi,
        theta,
        coef,
        raw: x,
        mean,
        sigma2,
        loglik: -0.5 * minus2ll,
        aicc: aicc(minus2ll, k, n),
        sse: ss,
        n_resid: used,
        history: y.to_vec(),
        w,
        resid,
    })
}

/// Starting values for `order` from a fitted neighbour: its partial
/// autocorrelations where the orders overlap, zeros for new lags. A zero
/// partial autocorrelation leaves a polynomial unchanged, so the start is
/// exactly the neighbour's model and the search only refines it.
fn warm_start(order: &Order, parent: &Fit) -> Vec<f64> {
    let sizes = [order.p, order.q, order.sp, order.sq];
    let po = &parent.order;
    let psizes = [po.p, po.q, po.sp, po.sq];
    let mut x = Vec::with_capacity(order.n_arma());
    let mut off = 0;
    for (size, psize) in sizes.into_iter().zip(psizes) {
        for i in 0..size {
            x.push(if i < psize { parent.raw[off + i] } else { 0.0 });
        }
        off += psize;
    }
    x
}

impl Fit {
    /// Point forecasts and their standard errors for `h` steps.
    pub fn forecast(&self, h: usize) -> (Vec<f64>, Vec<f64>) {
        let (n, ar, ma) = (self.w.len(), &self.phi, &self.theta);
        // ARMA forecasts of the centred differences.
        let mut w = self.w.clone();
        for step in 0..h {
            let t = n + step;
            let mut v = 0.0;
            for (i, c) in ar.iter().enumerate() {
                v += c * w[t - 1 - i];
            }
            for (j, c) in ma.iter().enumerate() {
                let lag = j + 1;
                if lag > step && t >= lag && t - lag < n {
                    v += c * self.resid[t - lag];
                }
            }
            w.push(v);
        }
        // integrate: y_t = (w_t + mean) - Σ_{k≥1} δ_k y_{t-k}
        let delta = diff_poly(&self.order);
        let mut y = self.history.clone();
        let base = y.len();
        for step in 0..h {
            let t = base + step;
            let mut v = w[n + step] + self.mean;
            for (k, c) in delta.iter().enumerate().skip(1) {
                v -= c * y[t - k];
            }
            y.push(v);
        }
        // ψ weights of θ(B) / (φ(B) δ(B))
        let mut full_ar = vec![0.0; ar.len() + delta.len()];
        // φ*(B) = (1 - Σ φ_i B^i) δ(B), written as 1 - Σ a_i B^i
        let mut phi_poly = vec![1.0];
        phi_poly.extend(ar.iter().map(|c| -c));
        for (i, a) in phi_poly.iter().enumerate() {
            for (j, b) in delta.iter().enumerate() {
                full_ar[i + j] += a * b;
            }
        }
        let mut psi = vec![1.0];
        let mut acc = 0.0;
        let mut se = Vec::with_capacity(h);
        for j in 0..h {
            if j > 0 {
                let mut v = ma.get(j - 1).copied().unwrap_or(0.0);
                for i in 1..=j.min(full_ar.len() - 1) {
                    v -= full_ar[i] * psi[j - i];
                }
                psi.push(v);
            }
            acc += psi[j] * psi[j];
            se.push((self.sigma2 * acc).sqrt());
        }
        (y[base..].to_vec(), se)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(p: usize, d: usize, q: usize, constant: bool) -> Order {
        Order {
            p,
            d,
            q,
            sp: 0,
            sd: 0,
            sq: 0,
            m: 1,
            constant,
        }
    }

    /// A deterministic AR(1) series with φ = 0.6 and unit innovations.
    fn ar1(n: usize, phi: f64) -> Vec<f64> {
        let mut s: u64 = 7;
        let mut gauss = || {
            // sum of 12 uniforms − 6: unit variance, close to normal
            (0..12)
                .map(|_| {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (s >> 11) as f64 / (1u64 << 53) as f64
                })
                .sum::<f64>()
                - 6.0
        };
        let mut y = vec![0.0];
        for t in 1..n {
            y.push(phi * y[t - 1] + gauss());
        }
        y
    }

    #[test]
    fn pacf_round_trip() {
        let phi = pacf_to_ar(&[0.3, -0.5, 0.2]);
        let back = ar_to_pacf(&phi).unwrap();
        for (a, b) in back.iter().zip([0.3, -0.5, 0.2]) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn seasonal_expansion() {
        // (1 - 0.5B)(1 - 0.4B^4) = 1 - 0.5B - 0.4B^4 + 0.2B^5
        let e = expand(&[0.5], &[0.4], 4, true);
        assert_eq!(e, vec![0.5, 0.0, 0.0, 0.4, -0.2]);
        // (1 + 0.5B)(1 + 0.4B^4) = 1 + 0.5B + 0.4B^4 + 0.2B^5
        let e = expand(&[0.5], &[0.4], 4, false);
        assert_eq!(e, vec![0.5, 0.0, 0.0, 0.4, 0.2]);
    }

    #[test]
    fn ar1_estimates_by_css_and_ml_agree() {
        let y = ar1(2000, 0.6);
        let css = fit(&y, order(1, 0, 0, true), Method::Css, None).unwrap();
        let ml = fit(&y, order(1, 0, 0, true), Method::Ml, None).unwrap();
        assert!((css.coef[0][0] - 0.6).abs() < 0.05, "{:?}", css.coef);
        assert!((ml.coef[0][0] - css.coef[0][0]).abs() < 0.01);
        assert!((ml.sigma2 - 1.0).abs() < 0.1, "{}", ml.sigma2);
        // AR(1) forecast decays to the mean at rate φ; σ_h² = σ²(1+φ²+…)
        let (f, se) = ml.forecast(3);
        let phi = ml.coef[0][0];
        let last = y[y.len() - 1] - ml.mean;
        assert!((f[0] - (ml.mean + phi * last)).abs() < 1e-9);
        assert!((f[1] - (ml.mean + phi * phi * last)).abs() < 1e-9);
        assert!((se[1] - (ml.sigma2 * (1.0 + phi * phi)).sqrt()).abs() < 1e-12);
    }

    /// Checks the analytic CSS Jacobian of `order` on `w` at `x` against
    /// central differences of the residuals, value by value.
    fn assert_jacobian_is_central_differences(order: &Order, w: &[f64], x: &[f64]) {
        let mut css = Css::new(order, w);
        let mut r = Vec::new();
        css.at(x, &mut r);
        let mut jac = vec![Vec::new(); x.len()];
        assert!(css.jacobian(x, &r, &mut jac), "{order:?} n = {}", w.len());
        let (mut plus, mut minus) = (Vec::new(), Vec::new());
        for (k, col) in jac.iter().enumerate() {
            let h = 1e-5;
            let mut xh = x.to_vec();
            xh[k] = x[k] + h;
            css.at(&xh, &mut plus);
            xh[k] = x[k] - h;
            css.at(&xh, &mut minus);
            for t in 0..w.len() {
                let fd = (plus[t] - minus[t]) / (2.0 * h);
                assert!(
                    (col[t] - fd).abs() < 1e-5 * (1.0 + fd.abs()),
                    "{order:?} n = {}, parameter {k}, t = {t}: {} vs {fd}",
                    w.len(),
                    col[t]
                );
            }
        }
    }

    #[test]
    fn css_jacobian_equals_central_differences() {
        // a seasonal model with AR and MA terms at both levels: lags reach
        // before the residuals start, where the head correction matters
        let order = Order {
            p: 2,
            d: 0,
            q: 2,
            sp: 1,
            sd: 0,
            sq: 1,
            m: 4,
            constant: false,
        };
        let x = [0.4, -0.3, 0.8, -0.5, 0.3, -0.6];
        assert_jacobian_is_central_differences(&order, &ar1(300, 0.6), &x);
    }

    #[test]
    fn css_jacobian_holds_for_every_shape() {
        // non-seasonal and seasonal orders, series from one value past the
        // AR lags (MA lags reaching before the start) to comfortably long
        let y = ar1(120, 0.5);
        let mut cases = 0;
        for (p, q, sp, sq, m) in [
            (1, 0, 0, 0, 1),
            (0, 1, 0, 0, 1),
            (3, 2, 0, 0, 1),
            (0, 3, 0, 1, 5),
            (1, 1, 2, 0, 3),
            (2, 0, 1, 2, 7),
            // a long seasonal AR with a seasonal-only MA: ψ is sparse
            (1, 0, 2, 1, 20),
        ] {
            let order = Order {
                p,
                d: 0,
                q,
                sp,
                sd: 0,
                sq,
                m,
                constant: false,
            };
            let x: Vec<f64> = (0..order.n_arma()).map(|k| 0.5 - 0.3 * k as f64).collect();
            for n in [order.ar_len() + 1, order.ar_len() + 4, 120] {
                assert_jacobian_is_central_differences(&order, &y[..n], &x);
                cases += 1;
            }
        }
        assert_eq!(cases, 21);
        // with a non-seasonal MA term ψ is dense: the head correction
        // would cost more than forward differences, which the fit takes,
        // and keeps taking
        let order = Order {
            p: 1,
            d: 0,
            q: 1,
            sp: 2,
            sd: 0,
            sq: 1,
            m: 20,
            constant: false,
        };
        let mut css = Css::new(&order, &y);
        let x = [0.3, 0.2, -0.4, 0.1, 0.5];
        let mut r = Vec::new();
        css.at(&x, &mut r);
        assert!(!css.jacobian(&x, &r, &mut vec![Vec::new(); 5]));
        assert!(!css.analytic);
        assert!(!css.jacobian(&x, &r, &mut vec![Vec::new(); 5]));
    }

    #[test]
    fn exact_likelihood_of_white_noise() {
        // ARMA(0,0): the Kalman filter's F is 1 and v = w.
        let w = [1.0, -2.0, 0.5];
        let (ssq, sumlog) = kalman(&w, &[], &[]).unwrap();
        assert!((ssq - 5.25).abs() < 1e-12);
        assert!(sumlog.abs() < 1e-12);
        // AR(1), φ = 0.5: F_1 = 1/(1-φ²), then 1.
        let (ssq, sumlog) = kalman(&[2.0, 1.0], &[0.5], &[]).unwrap();
        let f1: f64 = 1.0 / 0.75;
        assert!((sumlog - f1.ln()).abs() < 1e-9);
        assert!((ssq - (4.0 / f1 + 0.0)).abs() < 1e-9);
    }

    #[test]
    fn random_walk_forecast_is_flat_with_growing_bounds() {
        let y: Vec<f64> = (0..100).map(|i| ((i * 37) % 11) as f64).collect();
        let f = fit(&y, order(0, 1, 0, false), Method::Ml, None).unwrap();
        let (v, se) = f.forecast(4);
        assert!(v.iter().all(|x| (x - y[99]).abs() < 1e-12));
        assert!((se[3] / se[0] - 2.0).abs() < 1e-12);
        assert_eq!(f.order.sarimax(), "SARIMAX(0, 1, 0)x(0, 0, 0, 0)");
    }
}
