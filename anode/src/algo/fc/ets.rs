//! `ets`: AutoETS, the exponential-smoothing state-space family (Hyndman et
//! al. 2008; R `forecast::ets`, statsforecast `AutoETS`), native and
//! seasonal.
//!
//! Models: error A/M, trend N/A/M (optionally damped), season N/A/M. With
//! `model=ZZZ` (the default, upstream's) every admissible combination is
//! fitted and the lowest AICc wins; fixed letters restrict the search
//! (`model=AAN`, `model=MZM`, …). As in R, multiplicative trends are only
//! fitted when asked for, additive errors are not combined with
//! multiplicative seasons, and multiplicative components need positive data.
//!
//! Estimation minimises the likelihood over the smoothing weights (inside
//! R's "usual" region: `α ∈ (10⁻⁴, 1)`, `β < α`, `γ < 1 − α`,
//! `φ ∈ [0.8, 0.98]`, mapped from the real line so Nelder–Mead needs no
//! penalties) and the initial level and trend; the initial seasonal states
//! come from a classical decomposition of the first seasons (R's heuristic
//! start) and are counted as parameters in the AICc as R counts them.
//!
//! Seasons longer than [`MAX_ETS_SEASON`] (R refuses them: "frequency too
//! high") are handled as R's `stlf` does: an STL decomposition removes the
//! season, AutoETS forecasts the adjusted series, and the last season is
//! added back.
//!
//! Bounds: standard errors from the impulse response of the fitted
//! recursion (exact for the linear, all-additive models; the usual
//! approximation, scaled by the forecast, for multiplicative errors).
//!
//! May import: `error`, `options`, its parent's `arima` (`aicc`),
//! `base_params`, `bounds`, `optimize`, `season`, `MAX_SMOOTHING_FIT_POINTS`.

use serde_json::{Map, Value, json};

use super::arima::aicc;
use super::optimize::nelder_mead;
use super::{base_params, bounds, season};
use crate::algo::{Describe, FcInput, FcOutput, Forecaster};
use crate::bail;
use crate::error::Result;
use crate::options::Options;

/// Longest season fitted with seasonal states (R `ets`'s limit); longer
/// seasons go through STL.
pub const MAX_ETS_SEASON: usize = 24;
/// Objective evaluations per model.
const MAX_EVALS: usize = 2000;
/// Relative spread of the simplex's likelihoods at which a fit stops: the
/// AICc differences between models that matter are whole units, far above
/// `n·ln`-scale changes of 1e-6.
const NM_TOLERANCE: f64 = 1e-6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    N,
    A,
    M,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::N => 'N',
            Kind::A => 'A',
            Kind::M => 'M',
        }
    }
}

/// One ETS model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    pub error: Kind,
    pub trend: Kind,
    pub damped: bool,
    pub season: Kind,
    pub m: usize,
}

impl Spec {
    pub fn name(&self) -> String {
        format!(
            "ETS({},{}{},{})",
            self.error.letter(),
            self.trend.letter(),
            if self.damped { "d" } else { "" },
            self.season.letter()
        )
    }

    fn n_smoothing(&self) -> usize {
        1 + usize::from(self.trend != Kind::N)
            + usize::from(self.season != Kind::N)
            + usize::from(self.damped)
    }

    /// Parameters in the AICc: weights, initial states, σ².
    fn n_params(&self) -> usize {
        let states = 1
            + usize::from(self.trend != Kind::N)
            + if self.season != Kind::N {
                self.m - 1
            } else {
                0
            };
        self.n_smoothing() + states + 1
    }
}

/// A fitted model.
#[derive(Debug, Clone)]
pub struct Fit {
    pub spec: Spec,
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub phi: f64,
    pub aicc: f64,
    /// Mean squared (absolute or relative) one-step error.
    pub sigma2: f64,
    pub sse: f64,
    /// Final states: level, trend, the last `m` seasonal states (oldest first).
    level: f64,
    trend: f64,
    seasons: Vec<f64>,
}

#[derive(Debug, Clone, Copy)]
struct Weights {
    alpha: f64,
    beta: f64,
    gamma: f64,
    phi: f64,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// The weights from the optimiser's unconstrained values.
fn weights(spec: &Spec, x: &[f64]) -> Weights {
    let mut i = 0;
    let mut next = || {
        i += 1;
        sigmoid(x[i - 1])
    };
    let alpha = 1e-4 + (0.9999 - 1e-4) * next();
    let beta = if spec.trend != Kind::N {
        alpha * next()
    } else {
        0.0
    };
    let gamma = if spec.season != Kind::N {
        (1.0 - alpha) * next()
    } else {
        0.0
    };
    let phi = if spec.damped {
        0.8 + 0.18 * next()
    } else {
        1.0
    };
    Weights {
        alpha,
        beta,
        gamma,
        phi,
    }
}

/// Runs the recursion. Returns the likelihood term
/// `n·ln(Σe²/n) [+ 2Σ ln|μ|]`, the SSE of the (absolute or relative)
/// errors and the final states, or `None` when a forecast leaves the
/// model's domain.
fn filter(
    y: &[f64],
    spec: &Spec,
    w: Weights,
    l0: f64,
    b0: f64,
    s0: &[f64],
) -> Option<(f64, f64, f64, f64, Vec<f64>)> {
    let (mut l, mut b) = (l0, b0);
    let mut s = s0.to_vec();
    let m = s.len().max(1);
    let (mut sse, mut sumlog) = (0.0, 0.0);
    for (t, &obs) in y.iter().enumerate() {
        let q = match spec.trend {
            Kind::N => l,
            Kind::A => l + w.phi * b,
            Kind::M => l * b.powf(w.phi),
        };
        let si = if s.is_empty() { 0.0 } else { s[t % m] };
        let mu = match spec.season {
            Kind::N => q,
            Kind::A => q + si,
            Kind::M => q * si,
        };
        let e = match spec.error {
            Kind::M => {
                if mu.is_nan() || mu <= 0.0 {
                    return None;
                }
                sumlog += mu.ln();
                (obs - mu) / mu
            }
            _ => obs - mu,
        };
        sse += e * e;
        let p = match spec.season {
            Kind::N => obs,
            Kind::A => obs - si,
            Kind::M => obs / si,
        };
        let new_l = q + w.alpha * (p - q);
        match spec.trend {
            Kind::N => {}
            Kind::A => b = w.phi * b + (w.beta / w.alpha) * (new_l - l - w.phi * b),
            Kind::M => {
                let bp = b.powf(w.phi);
                b = bp + (w.beta / w.alpha) * (new_l / l - bp);
            }
        }
        match spec.season {
            Kind::N => {}
            Kind::A => s[t % m] = si + w.gamma * (obs - q - si),
            Kind::M => s[t % m] = si + w.gamma * (obs / q - si),
        }
        l = new_l;
        if !l.is_finite() || !b.is_finite() {
            return None;
        }
    }
    let n = y.len() as f64;
    let lik = n * (sse / n).max(1e-300).ln() + 2.0 * sumlog;
    // rotate the seasonal states so that index 0 is the next period's
    let k = y.len() % m;
    if !s.is_empty() {
        s.rotate_left(k);
    }
    Some((lik, sse, l, b, s))
}

/// R's heuristic initial states: seasonal indices from a classical
/// decomposition of the first seasons, level and trend from a regression
/// on the first ten deseasonalised values.
fn initial_states(y: &[f64], spec: &Spec) -> (f64, f64, Vec<f64>) {
    let m = spec.m;
    let mut s = Vec::new();
    let mut adj: Vec<f64> = y.iter().take(10.max(2 * m)).copied().collect();
    if spec.season != Kind::N {
        let head = &y[..y.len().min(4 * m).max(2 * m)];
        let mult = spec.season == Kind::M;
        s = season::decompose(head, m, mult).unwrap_or_else(|| vec![f64::from(u8::from(mult)); m]);
        for (i, v) in adj.iter_mut().enumerate() {
            if mult {
                *v /= s[i % m];
            } else {
                *v -= s[i % m];
            }
        }
    }
    let k = adj.len().min(10);
    let xs: Vec<f64> = (1..=k).map(|i| i as f64).collect();
    let mx = xs.iter().sum::<f64>() / k as f64;
    let my = adj[..k].iter().sum::<f64>() / k as f64;
    let sxy: f64 = xs.iter().zip(&adj).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let level = my - slope * mx;
    match spec.trend {
        Kind::N => (my, 0.0, s),
        Kind::A => (level, slope, s),
        Kind::M => {
            let l = level.max(1e-8 * my.abs().max(1.0));
            (l, ((l + slope) / l).clamp(0.5, 2.0), s)
        }
    }
}

/// Fits one model by maximum likelihood.
pub fn fit(y: &[f64], spec: Spec) -> Option<Fit> {
    let n = y.len();
    if n <= spec.n_params() + 3 {
        return None;
    }
    let (l0, b0, s0) = initial_states(y, &spec);
    let ns = spec.n_smoothing();
    let scale = y.iter().map(|v| v.abs()).sum::<f64>() / n as f64;
    let scale = if scale > 0.0 { scale } else { 1.0 };
    // start: α 0.5, β 0.1α, γ 0.01·(1−α), φ 0.97 (near R's starting values)
    let mut x0 = vec![logit(0.5)];
    if spec.trend != Kind::N {
        x0.push(logit(0.1));
    }
    if spec.season != Kind::N {
        x0.push(logit(0.02));
    }
    if spec.damped {
        x0.push(logit((0.97 - 0.8) / 0.18));
    }
    let mut step = vec![1.0; ns];
    x0.push(l0 / scale);
    step.push(0.1);
    if spec.trend != Kind::N {
        x0.push(if spec.trend == Kind::M {
            b0
        } else {
            b0 / scale
        });
        step.push(0.01);
    }
    let unpack = |x: &[f64]| {
        let l = x[ns] * scale;
        let b = match spec.trend {
            Kind::N => 0.0,
            Kind::A => x[ns + 1] * scale,
            Kind::M => x[ns + 1],
        };
        (weights(&spec, x), l, b)
    };
    let cost = |x: &[f64]| {
        let (w, l, b) = unpack(x);
        if spec.trend == Kind::M && !(b > 0.0 && l > 0.0) {
            return f64::NAN;
        }
        filter(y, &spec, w, l, b, &s0).map_or(f64::NAN, |r| r.0)
    };
    let (x, _) = nelder_mead(cost, &x0, &step, MAX_EVALS, NM_TOLERANCE);
    let (w, l, b) = unpack(&x);
    let (lik, sse, level, trend, seasons) = filter(y, &spec, w, l, b, &s0)?;
    let minus2ll = lik + n as f64 * (1.0 + (2.0 * std::f64::consts::PI).ln());
    Some(Fit {
        spec,
        alpha: w.alpha,
        beta: w.beta,
        gamma: w.gamma,
        phi: w.phi,
        aicc: aicc(minus2ll, spec.n_params(), n),
        sigma2: sse / n as f64,
        sse,
        level,
        trend,
        seasons,
    })
}

impl Fit {
    /// Point forecasts and standard errors.
    pub fn forecast(&self, h: usize) -> (Vec<f64>, Vec<f64>) {
        let sp = &self.spec;
        let m = self.seasons.len().max(1);
        let mut value = Vec::with_capacity(h);
        let mut damp = 0.0;
        for i in 0..h {
            damp += self.phi.powi(i as i32 + 1);
            let q = match sp.trend {
                Kind::N => self.level,
                Kind::A => self.level + damp * self.trend,
                Kind::M => self.level * self.trend.powf(damp),
            };
            let s = self.seasons.get(i % m).copied();
            value.push(match (sp.season, s) {
                (Kind::A, Some(s)) => q + s,
                (Kind::M, Some(s)) => q * s,
                _ => q,
            });
        }
        // ψ_j of the additive recursion: the response of the forecast j
        // steps after a unit error.
        let mut acc = 0.0;
        let mut se = Vec::with_capacity(h);
        let (mut l, mut b) = (self.alpha, self.beta);
        let mut s = vec![0.0; m];
        if sp.season != Kind::N {
            s[0] = self.gamma;
        }
        for j in 0..h {
            let psi = if j == 0 {
                1.0
            } else {
                let q = l + self.phi * b;
                let v = q + if sp.season != Kind::N { s[j % m] } else { 0.0 };
                l = q;
                b *= self.phi;
                v
            };
            acc += psi * psi;
            let sd = (self.sigma2 * acc).sqrt();
            se.push(if sp.error == Kind::M {
                sd * value[j].abs()
            } else {
                sd
            });
        }
        (value, se)
    }
}

/// The models `spec` (three letters, `Z` = any) and `damped` allow on `y`.
pub fn candidates(y: &[f64], letters: &[u8; 3], damped: Option<bool>, m: usize) -> Vec<Spec> {
    let positive = y.iter().all(|v| *v > 0.0);
    let pick = |c: u8, auto: &[Kind]| -> Vec<Kind> {
        match c {
            b'N' => vec![Kind::N],
            b'A' => vec![Kind::A],
            b'M' => vec![Kind::M],
            _ => auto.to_vec(),
        }
    };
    let mult = if positive {
        vec![Kind::A, Kind::M]
    } else {
        vec![Kind::A]
    };
    let errors = pick(letters[0], &mult);
    let trends = pick(letters[1], &[Kind::N, Kind::A]);
    let seasonal = m >= 2;
    let mut seasons = pick(
        letters[2],
        &if seasonal {
            let mut v = vec![Kind::N];
            v.extend(&mult);
            v
        } else {
            vec![Kind::N]
        },
    );
    if !seasonal {
        seasons.retain(|s| *s == Kind::N);
        if seasons.is_empty() {
            seasons.push(Kind::N);
        }
    }
    let mut out = Vec::new();
    for &error in &errors {
        for &trend in &trends {
            let damps: &[bool] = match (trend, damped) {
                (Kind::N, _) => &[false],
                (_, Some(d)) if d => &[true],
                (_, Some(_)) => &[false],
                (_, None) => &[false, true],
            };
            for &d in damps {
                for &season in &seasons {
                    // R's restrictions on automatic choices
                    if (letters[0] == b'Z' || letters[2] == b'Z')
                        && error == Kind::A
                        && season == Kind::M
                    {
                        continue;
                    }
                    out.push(Spec {
                        error,
                        trend,
                        damped: d,
                        season,
                        m: if season == Kind::N { 1 } else { m },
                    });
                }
            }
        }
    }
    out
}

/// The best of `specs` by AICc.
pub fn auto_ets(y: &[f64], specs: &[Spec]) -> Option<Fit> {
    specs
        .iter()
        .filter_map(|s| fit(y, *s))
        .filter(|f| f.aicc.is_finite())
        .min_by(|a, b| a.aicc.total_cmp(&b.aicc))
}

pub struct Ets;

impl Describe for Ets {
    fn name(&self) -> &'static str {
        "ets"
    }
    fn desc(&self) -> &'static str {
        "forecast algorithm by using error, trend and seasonal models (AutoETS, AICc), native"
    }
    fn params(&self) -> Value {
        let mut p = base_params();
        p.insert("model".into(), json!("ZZZ"));
        p.insert("damped".into(), Value::Null);
        Value::Object(p)
    }
}

/// Parses `model` and `damped` with upstream's messages.
pub fn parse_options(options: &Options) -> Result<([u8; 3], Option<bool>)> {
    let spec = options.string("model", "ZZZ").to_ascii_uppercase();
    let b = spec.as_bytes();
    let valid = b.len() == 3
        && matches!(b[0], b'A' | b'M' | b'Z')
        && b[1..]
            .iter()
            .all(|c| matches!(c, b'N' | b'A' | b'M' | b'Z'));
    if !valid {
        bail!("model parameter is not a valid ETS model");
    }
    let damped = match options
        .get("damped")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None => None,
        Some("1" | "true") => Some(true),
        Some("0" | "false") => Some(false),
        Some(_) => bail!("damped parameter can only be 0 or 1"),
    };
    if damped == Some(true) && b[1] == b'N' {
        bail!("damped parameter needs a trend, model {spec} has none");
    }
    Ok(([b[0], b[1], b[2]], damped))
}

/// The model AutoETS chose for a series, with the STL season when one was
/// removed first.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub fit: Fit,
    /// STL seasonal component of the history (seasons > [`MAX_ETS_SEASON`]).
    stl: Option<Vec<f64>>,
    m: usize,
}

/// Chooses and fits the model (see the module doc).
pub fn fit_auto(y: &[f64], m: usize, letters: [u8; 3], damped: Option<bool>) -> Result<Chosen> {
    let y = &y[y.len().saturating_sub(super::MAX_SMOOTHING_FIT_POINTS)..];
    if letters.contains(&b'M') && y.iter().any(|v| *v <= 0.0) {
        bail!("multiplicative ETS components require strictly positive input data");
    }
    if m >= 2 && letters[2] != b'N' && y.len() < 2 * m {
        bail!(
            "number of input data is less than two periods, seasonal ets needs at least {} values",
            2 * m
        );
    }
    // STL for seasons too long for seasonal states
    let stl = (m > MAX_ETS_SEASON && letters[2] != b'N')
        .then(|| stl_seasonal(y, m))
        .flatten();
    let (series, m_fit) = match &stl {
        Some(s) => (y.iter().zip(s).map(|(a, b)| a - b).collect::<Vec<_>>(), 1),
        None if m > MAX_ETS_SEASON => (y.to_vec(), 1),
        None => (y.to_vec(), m),
    };
    let mut letters_fit = letters;
    if stl.is_some() {
        letters_fit[2] = b'N';
        if letters_fit[0] == b'M' && series.iter().any(|v| *v <= 0.0) {
            letters_fit[0] = b'A';
        }
    }
    let specs = candidates(&series, &letters_fit, damped, m_fit);
    let Some(fit) = auto_ets(&series, &specs) else {
        bail!("no ETS model could be fitted to {} values", y.len());
    };
    Ok(Chosen { fit, stl, m })
}

impl Chosen {
    pub fn name(&self) -> String {
        match self.stl {
            Some(_) => format!("STL({}) + {}", self.m, self.fit.spec.name()),
            None => self.fit.spec.name(),
        }
    }

    /// Forecasts and standard errors, the STL season added back.
    pub fn forecast(&self, h: usize) -> (Vec<f64>, Vec<f64>) {
        let (mut value, se) = self.fit.forecast(h);
        if let Some(s) = &self.stl {
            let n = s.len();
            for (i, v) in value.iter_mut().enumerate() {
                *v += s[n - self.m + i % self.m];
            }
        }
        (value, se)
    }

    /// The same model (and STL season length) fitted to `train`, forecast
    /// `h` values: `auto`'s validation.
    pub fn refit_forecast(&self, train: &[f64], h: usize) -> Option<Vec<f64>> {
        let stl = match self.stl {
            Some(_) => Some(stl_seasonal(train, self.m)?),
            None => None,
        };
        let series: Vec<f64> = match &stl {
            Some(s) => train.iter().zip(s).map(|(a, b)| a - b).collect(),
            None => train.to_vec(),
        };
        let fit = fit(&series, self.fit.spec)?;
        Some(
            Chosen {
                fit,
                stl,
                m: self.m,
            }
            .forecast(h)
            .0,
        )
    }

    pub fn output(&self, input: FcInput<'_>) -> FcOutput {
        let (value, se) = self.forecast(input.rows);
        let fit = &self.fit;
        let info = self.name();
        let mut fitted = Map::new();
        fitted.insert("model".into(), json!(info));
        fitted.insert("alpha".into(), json!(fit.alpha));
        fitted.insert("beta".into(), json!(fit.beta));
        fitted.insert("gamma".into(), json!(fit.gamma));
        fitted.insert("phi".into(), json!(fit.phi));
        fitted.insert("aicc".into(), json!(fit.aicc));
        FcOutput {
            bounds: input.return_conf.then(|| bounds(&value, &se, input.conf)),
            value,
            sse: (fit.spec.error == Kind::A).then_some(fit.sse),
            mse: None,
            period: input.period,
            model_info: Some(info),
            fitted: Some(fitted),
            fitted_points: input.values.len(),
        }
    }
}

impl Forecaster for Ets {
    fn forecast(&self, input: FcInput<'_>, options: &Options) -> Result<FcOutput> {
        let (letters, damped) = parse_options(options)?;
        Ok(fit_auto(input.values, input.period, letters, damped)?.output(input))
    }
}

/// The seasonal component of an STL decomposition.
pub fn stl_seasonal(y: &[f64], m: usize) -> Option<Vec<f64>> {
    if y.len() < 2 * m + 1 {
        return None;
    }
    let x: Vec<f32> = y.iter().map(|v| *v as f32).collect();
    let fit = stlrs::params().robust(true).fit(&x, m).ok()?;
    Some(fit.seasonal().iter().map(|v| f64::from(*v)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::fc::holtwinters::tests::{AIR, X96};
    use crate::algo::fc::test_input as input;

    #[test]
    fn non_seasonal_auto_model() {
        let out = Ets
            .forecast(input(&X96, 10, 0), &Options::default())
            .unwrap();
        assert_eq!(out.value.len(), 10);
        let (lo, hi) = out.bounds.unwrap();
        assert!(
            lo.iter()
                .zip(&out.value)
                .zip(&hi)
                .all(|((l, v), h)| l < v && v < h)
        );
        // The level of this series sits near 19; any sane model agrees.
        assert!((out.value[0] - 19.6).abs() < 2.0, "{}", out.value[0]);
        assert!(out.model_info.unwrap().ends_with(",N)"));
    }

    #[test]
    fn airline_gets_a_seasonal_trend_model() {
        let out = Ets
            .forecast(input(&AIR, 12, 12), &Options::default())
            .unwrap();
        let info = out.model_info.unwrap();
        assert!(info.ends_with(",M)") || info.ends_with(",A)"), "{info}");
        // July 1961 above November 1961, both in the airline's range
        assert!(out.value[6] > out.value[10] + 50.0, "{:?}", out.value);
        assert!(
            out.value.iter().all(|v| (380.0..720.0).contains(v)),
            "{:?}",
            out.value
        );
    }

    #[test]
    fn fixed_letters_are_respected() {
        let o = Options::parse(Some("model=AAA,damped=1"));
        let out = Ets.forecast(input(&AIR, 3, 12), &o).unwrap();
        assert_eq!(out.model_info.unwrap(), "ETS(A,Ad,A)");
        let o = Options::parse(Some("model=ANN"));
        let out = Ets.forecast(input(&AIR, 3, 12), &o).unwrap();
        assert_eq!(out.model_info.unwrap(), "ETS(A,N,N)");
        // simple exponential smoothing: a flat forecast
        assert!((out.value[0] - out.value[2]).abs() < 1e-9);
    }

    #[test]
    fn additive_linear_model_bounds_follow_the_closed_form() {
        // ETS(A,N,N): σ_h² = σ²(1 + (h−1)α²)
        let o = Options::parse(Some("model=ANN"));
        let y: Vec<f64> = X96.to_vec();
        let specs = candidates(&y, b"ANN", None, 1);
        let f = auto_ets(&y, &specs).unwrap();
        let (_, se) = f.forecast(4);
        let want = (f.sigma2 * (1.0 + 3.0 * f.alpha * f.alpha)).sqrt();
        assert!((se[3] - want).abs() < 1e-12);
        assert!(Ets.forecast(input(&y, 4, 0), &o).is_ok());
    }

    #[test]
    fn long_seasons_go_through_stl() {
        let y: Vec<f64> = (0..400)
            .map(|i| 50.0 + 10.0 * (i as f64 * std::f64::consts::TAU / 48.0).sin())
            .collect();
        let out = Ets
            .forecast(input(&y, 48, 48), &Options::default())
            .unwrap();
        assert!(out.model_info.unwrap().starts_with("STL(48) + ETS("));
        for (i, v) in out.value.iter().enumerate() {
            let want = 50.0 + 10.0 * ((400 + i) as f64 * std::f64::consts::TAU / 48.0).sin();
            assert!((v - want).abs() < 0.5, "{i}: {v} vs {want}");
        }
    }

    #[test]
    fn options_are_validated() {
        let err = |o: &str, p| {
            Ets.forecast(input(&X96, 5, p), &Options::parse(Some(o)))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("model=XYZ", 0),
            "model parameter is not a valid ETS model"
        );
        assert_eq!(
            err("model=NNN", 0),
            "model parameter is not a valid ETS model"
        );
        assert_eq!(err("damped=2", 0), "damped parameter can only be 0 or 1");
        assert_eq!(
            err("model=ANN,damped=1", 0),
            "damped parameter needs a trend, model ANN has none"
        );
        let neg: Vec<f64> = X96.iter().map(|v| v - 100.0).collect();
        let e = Ets
            .forecast(input(&neg, 5, 0), &Options::parse(Some("model=MNN")))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "multiplicative ETS components require strictly positive input data"
        );
    }
}
