//! `ces`: complex exponential smoothing (Svetunkov, Kourentzes & Ord 2022;
//! statsforecast `AutoCES`), native.
//!
//! The level is a complex pair `(l, c)` smoothed with a complex weight
//! `a₀ + i·a₁`:
//!
//! ```text
//! ŷ_t = l_{t-1} (+ seasonal part)          e_t = y_t − ŷ_t
//! l_t = l_{t-1} − (1 − a₁) c_{t-1} + (a₀ − a₁) e_t
//! c_t = l_{t-1} + (1 − a₀) c_{t-1} + (a₀ + a₁) e_t
//! ```
//!
//! Models (option `model`, upstream's letters): `N` none (level pair only),
//! `S` simple seasonal (a complex pair per season position, lag `m`, no
//! level), `P` partial (level pair + additive seasonal states, weight γ),
//! `F` full (level pair + seasonal complex pairs), `Z` (default): the lowest
//! AICc of those the data allow. Weights keep each pair's discount matrix
//! stable (eigenvalues inside the unit circle); the level pair's initial
//! states are fitted, seasonal ones start from the first season.
//!
//! Bounds: the model is linear, so `σ_h² = σ² Σ_{j<h} ψ_j²` with `ψ` its
//! exact impulse response.
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

const MAX_EVALS: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    N,
    S,
    P,
    F,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::N => 'N',
            Kind::S => 'S',
            Kind::P => 'P',
            Kind::F => 'F',
        }
    }
    fn level(self) -> bool {
        self != Kind::S
    }
    fn pairs(self) -> bool {
        matches!(self, Kind::S | Kind::F)
    }
}

/// Weights: level pair (a0, a1), seasonal pair (b0, b1), γ.
#[derive(Debug, Clone, Copy, Default)]
struct Weights {
    a0: f64,
    a1: f64,
    b0: f64,
    b1: f64,
    gamma: f64,
}

/// The model's states.
#[derive(Debug, Clone)]
struct States {
    l: f64,
    c: f64,
    ls: Vec<f64>,
    cs: Vec<f64>,
    s: Vec<f64>,
}

/// Whether the discount matrix `[[1−(w0−w1), −(1−w1)], [1−(w0+w1), 1−w0]]`
/// has both eigenvalues inside the unit circle.
fn stable(w0: f64, w1: f64) -> bool {
    let (a, b, c, d) = (1.0 - (w0 - w1), -(1.0 - w1), 1.0 - (w0 + w1), 1.0 - w0);
    let det = a * d - b * c;
    let tr = a + d;
    det.abs() < 1.0 && tr.abs() < 1.0 + det
}

/// One step: returns the forecast made before seeing the error, then
/// updates the states with `e` (computed from `y` when given).
fn step(
    kind: Kind,
    w: &Weights,
    st: &mut States,
    t: usize,
    m: usize,
    y: Option<f64>,
    e1: f64,
) -> (f64, f64) {
    let i = t % m.max(1);
    let mut yhat = 0.0;
    if kind.level() {
        yhat += st.l;
    }
    if kind.pairs() {
        yhat += st.ls[i];
    }
    if kind == Kind::P {
        yhat += st.s[i];
    }
    let e = y.map_or(e1, |v| v - yhat);
    if kind.level() {
        let (l, c) = (st.l, st.c);
        st.l = l - (1.0 - w.a1) * c + (w.a0 - w.a1) * e;
        st.c = l + (1.0 - w.a0) * c + (w.a0 + w.a1) * e;
    }
    if kind.pairs() {
        let (l, c) = (st.ls[i], st.cs[i]);
        st.ls[i] = l - (1.0 - w.b1) * c + (w.b0 - w.b1) * e;
        st.cs[i] = l + (1.0 - w.b0) * c + (w.b0 + w.b1) * e;
    }
    if kind == Kind::P {
        st.s[i] += w.gamma * e;
    }
    (yhat, e)
}

/// A fitted model.
#[derive(Debug, Clone)]
pub struct Fit {
    pub kind: Kind,
    m: usize,
    w: Weights,
    end: States,
    n: usize,
    pub sigma2: f64,
    pub sse: f64,
    pub aicc: f64,
}

fn unpack(kind: Kind, x: &[f64], m: usize, base: &States, scale: f64) -> (Weights, States) {
    let mut w = Weights::default();
    let mut k = 0;
    let mut st = base.clone();
    if kind.level() {
        w.a0 = x[0];
        w.a1 = x[1];
        st.l = x[2] * scale;
        st.c = x[3] * scale;
        k = 4;
    }
    if kind.pairs() {
        w.b0 = x[k];
        w.b1 = x[k + 1];
        k += 2;
    }
    if kind == Kind::P {
        w.gamma = x[k];
    }
    let _ = m;
    (w, st)
}

/// Fits one model.
pub fn fit(y: &[f64], kind: Kind, m: usize) -> Option<Fit> {
    let n = y.len();
    let seasonal = kind != Kind::N;
    if seasonal && (m < 2 || n < 2 * m) {
        return None;
    }
    let mm = if seasonal { m } else { 1 };
    let scale = (y.iter().map(|v| v.abs()).sum::<f64>() / n as f64).max(1e-12);
    let head = &y[..mm.max(1).min(n)];
    let l0 = head.iter().sum::<f64>() / head.len() as f64;
    let idx = if seasonal {
        season::decompose(y, m, false).unwrap_or_else(|| vec![0.0; m])
    } else {
        Vec::new()
    };
    let base = States {
        l: l0,
        c: l0,
        ls: if kind == Kind::S {
            y[..mm].to_vec()
        } else {
            idx.clone()
        },
        cs: vec![0.0; if kind.pairs() { mm } else { 0 }],
        s: if kind == Kind::P { idx } else { Vec::new() },
    };
    let mut x0 = Vec::new();
    let mut stepv = Vec::new();
    if kind.level() {
        x0.extend([1.3, 1.0, l0 / scale, l0 / scale]);
        stepv.extend([0.1, 0.1, 0.05, 0.05]);
    }
    if kind.pairs() {
        x0.extend([1.3, 1.0]);
        stepv.extend([0.1, 0.1]);
    }
    if kind == Kind::P {
        x0.push(0.1);
        stepv.push(0.05);
    }
    let cost = |x: &[f64]| {
        let (w, mut st) = unpack(kind, x, mm, &base, scale);
        if (kind.level() && !stable(w.a0, w.a1))
            || (kind.pairs() && !stable(w.b0, w.b1))
            || !(0.0..1.0).contains(&w.gamma)
        {
            return f64::NAN;
        }
        let mut sse = 0.0;
        for (t, &v) in y.iter().enumerate() {
            let (_, e) = step(kind, &w, &mut st, t, mm, Some(v), 0.0);
            sse += e * e;
        }
        (sse / n as f64).max(1e-300).ln()
    };
    let (x, _) = nelder_mead(cost, &x0, &stepv, MAX_EVALS, 1e-9);
    let (w, mut st) = unpack(kind, &x, mm, &base, scale);
    let mut sse = 0.0;
    for (t, &v) in y.iter().enumerate() {
        let (_, e) = step(kind, &w, &mut st, t, mm, Some(v), 0.0);
        sse += e * e;
    }
    let sigma2 = sse / n as f64;
    if !sigma2.is_finite() {
        return None;
    }
    let k = x.len() + if seasonal { m } else { 0 } + 1;
    let minus2ll = n as f64 * ((sigma2.max(1e-300)).ln() + 1.0 + (2.0 * std::f64::consts::PI).ln());
    Some(Fit {
        kind,
        m: mm,
        w,
        end: st,
        n,
        sigma2,
        sse,
        aicc: aicc(minus2ll, k, n),
    })
}

impl Fit {
    pub fn name(&self) -> String {
        format!("CES({})", self.kind.letter())
    }

    pub fn forecast(&self, h: usize) -> (Vec<f64>, Vec<f64>) {
        let mut st = self.end.clone();
        let value: Vec<f64> = (0..h)
            .map(|i| step(self.kind, &self.w, &mut st, self.n + i, self.m, None, 0.0).0)
            .collect();
        // impulse response from zero states
        let zero = States {
            l: 0.0,
            c: 0.0,
            ls: vec![0.0; self.end.ls.len()],
            cs: vec![0.0; self.end.cs.len()],
            s: vec![0.0; self.end.s.len()],
        };
        let mut st = zero;
        let mut acc = 0.0;
        let se = (0..h)
            .map(|j| {
                let (resp, _) = step(
                    self.kind,
                    &self.w,
                    &mut st,
                    self.n + j,
                    self.m,
                    None,
                    if j == 0 { 1.0 } else { 0.0 },
                );
                let psi = if j == 0 { 1.0 } else { resp };
                acc += psi * psi;
                (self.sigma2 * acc).sqrt()
            })
            .collect();
        (value, se)
    }
}

pub struct Ces;

impl Describe for Ces {
    fn name(&self) -> &'static str {
        "ces"
    }
    fn desc(&self) -> &'static str {
        "forecast algorithm by using complex exponential smoothing, native"
    }
    fn params(&self) -> Value {
        let mut p = base_params();
        p.insert("model".into(), json!("Z"));
        Value::Object(p)
    }
}

impl Forecaster for Ces {
    fn forecast(&self, input: FcInput<'_>, options: &Options) -> Result<FcOutput> {
        let letter = options.string("model", "Z").to_ascii_uppercase();
        let kinds: Vec<Kind> = match letter.as_str() {
            "N" => vec![Kind::N],
            "S" => vec![Kind::S],
            "P" => vec![Kind::P],
            "F" => vec![Kind::F],
            "Z" => vec![Kind::N, Kind::S, Kind::P, Kind::F],
            _ => bail!("model parameter can only be 'N', 'S', 'P', 'F' or 'Z'"),
        };
        let (y, m) = (input.values, input.period);
        let y = &y[y.len().saturating_sub(super::MAX_SMOOTHING_FIT_POINTS)..];
        if y.len() < 4 {
            bail!("number of input data is less than 4, ces needs at least 4 values");
        }
        if letter != "Z" && letter != "N" && (m < 2 || y.len() < 2 * m) {
            bail!(
                "seasonal CES model {letter} needs period (2 or more) and at least two periods of data"
            );
        }
        let Some(fit) = kinds
            .iter()
            .filter_map(|k| fit(y, *k, m))
            .filter(|f| f.aicc.is_finite() || kinds.len() == 1)
            .min_by(|a, b| a.aicc.total_cmp(&b.aicc))
        else {
            bail!("no CES model could be fitted to {} values", y.len());
        };
        let (value, se) = fit.forecast(input.rows);
        let mut fitted = Map::new();
        fitted.insert("model".into(), json!(fit.name()));
        fitted.insert("a0".into(), json!(fit.w.a0));
        fitted.insert("a1".into(), json!(fit.w.a1));
        fitted.insert("aicc".into(), json!(fit.aicc));
        Ok(FcOutput {
            bounds: input.return_conf.then(|| bounds(&value, &se, input.conf)),
            value,
            sse: Some(fit.sse),
            mse: None,
            period: if fit.kind == Kind::N { 0 } else { m },
            model_info: Some(fit.name()),
            fitted: Some(fitted),
            fitted_points: y.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::fc::holtwinters::tests::{AIR, X96};
    use crate::algo::fc::test_input as input;

    #[test]
    fn stability_region() {
        // statsforecast's starting point is stable; a0 = a1 = 0 is not.
        assert!(stable(1.3, 1.0));
        assert!(!stable(0.0, 0.0));
        assert!(!stable(3.0, 1.0));
    }

    #[test]
    fn non_seasonal_level() {
        let out = Ces
            .forecast(input(&X96, 5, 0), &Options::parse(Some("model=N")))
            .unwrap();
        assert_eq!(out.model_info.as_deref(), Some("CES(N)"));
        assert!((out.value[0] - 19.6).abs() < 3.0, "{:?}", out.value);
        let (lo, hi) = out.bounds.unwrap();
        assert!(hi[4] - lo[4] >= hi[0] - lo[0]);
    }

    #[test]
    fn seasonal_airline_picks_a_seasonal_model() {
        let out = Ces
            .forecast(input(&AIR, 12, 12), &Options::default())
            .unwrap();
        let info = out.model_info.unwrap();
        assert_ne!(info, "CES(N)");
        assert!(
            out.value[6] > out.value[10] + 30.0,
            "{info} {:?}",
            out.value
        );
    }

    #[test]
    fn options_are_validated() {
        let err = |o: &str, m| {
            Ces.forecast(input(&X96, 5, m), &Options::parse(Some(o)))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("model=Q", 0),
            "model parameter can only be 'N', 'S', 'P', 'F' or 'Z'"
        );
        assert_eq!(
            err("model=S", 0),
            "seasonal CES model S needs period (2 or more) and at least two periods of data"
        );
    }
}
