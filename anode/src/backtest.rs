//! `anode backtest`: rolling-origin backtests of the native forecasters on
//! real series, as TDgpt's `analytics_compare` tool does for its own.
//!
//! Twelve public data sets ship inside the binary (`anode/data/series/`,
//! one value per line after a `#` line naming the source): monthly,
//! quarterly, weekly, yearly and half-hourly series with and without
//! seasons. A user's own series is read from a CSV file (the last column of
//! each line; lines that do not parse, such as a header, are skipped).
//!
//! For every series, fold and configuration the forecaster gets the values
//! before the origin and forecasts `horizon` values, which are scored
//! against what followed: MASE (mean absolute error over the in-sample
//! mean absolute error of the seasonal naive forecast; 1.0 = as good as
//! repeating last season), sMAPE (%), the share of actual values inside the
//! 95 % bounds, and the time of the fit. Origins step back by `horizon`
//! from the end, one per fold.
//!
//! May import: `algo`, `error`, `options`.

use std::fmt::Write as _;
use std::time::Instant;

use crate::algo::{FcInput, Registry};
use crate::error::{AnodeError, Result};
use crate::options::Options;

/// A series to backtest: values, season length (1: none), horizon.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
    pub period: usize,
    pub horizon: usize,
}

/// The shipped data sets: name, text, season, horizon.
const SHIPPED: [(&str, &str, usize, usize); 12] = [
    (
        "airpassengers",
        include_str!("../data/series/airpassengers.csv"),
        12,
        12,
    ),
    (
        "wineind",
        include_str!("../data/series/wineind.csv"),
        12,
        12,
    ),
    (
        "woolyrnq",
        include_str!("../data/series/woolyrnq.csv"),
        4,
        8,
    ),
    ("taylor", include_str!("../data/series/taylor.csv"), 48, 48),
    ("lynx", include_str!("../data/series/lynx.csv"), 1, 8),
    (
        "sunspots",
        include_str!("../data/series/sunspots.csv"),
        1,
        10,
    ),
    ("ausbeer", include_str!("../data/series/ausbeer.csv"), 4, 8),
    ("austres", include_str!("../data/series/austres.csv"), 4, 8),
    (
        "heartrate",
        include_str!("../data/series/heartrate.csv"),
        1,
        20,
    ),
    ("co2", include_str!("../data/series/co2.csv"), 52, 24),
    ("nile", include_str!("../data/series/nile.csv"), 1, 10),
    ("elnino", include_str!("../data/series/elnino.csv"), 12, 12),
];

/// Parses one value per line: the last comma-separated field; lines that
/// do not parse (comments, headers) are skipped.
pub fn parse_values(text: &str) -> Vec<f64> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.rsplit(',').next()?.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .collect()
}

/// The shipped series.
pub fn shipped() -> Vec<Series> {
    SHIPPED
        .iter()
        .map(|(name, text, period, horizon)| Series {
            name: (*name).to_owned(),
            values: parse_values(text),
            period: *period,
            horizon: *horizon,
        })
        .collect()
}

/// One configuration: a label, the algorithm and its option string, and
/// whether the series' season is passed as `period`.
#[derive(Debug, Clone)]
pub struct Config {
    pub label: String,
    pub algo: String,
    pub options: String,
    pub with_period: bool,
}

/// The default configurations: every native forecaster as a user would
/// call it, the seasonal ones told the season, and `auto` told nothing.
pub fn default_configs() -> Vec<Config> {
    let c = |label: &str, algo: &str, options: &str, with_period| Config {
        label: label.to_owned(),
        algo: algo.to_owned(),
        options: options.to_owned(),
        with_period,
    };
    vec![
        c("holtwinters (default)", "holtwinters", "", false),
        c(
            "holtwinters add/add, period",
            "holtwinters",
            "trend=add,seasonal=add",
            true,
        ),
        c("arima, period", "arima", "", true),
        c("ets, period", "ets", "", true),
        c("theta, period", "theta", "", true),
        c("ces, period", "ces", "", true),
        c("mstl, period (seasonal series)", "mstl", "", true),
        c("auto (no options)", "auto", "", false),
        c("auto combine=mean", "auto", "combine=mean", false),
        c("auto combine=best", "auto", "combine=best", false),
        c("seasonal naive", SNAIVE, "", true),
    ]
}

/// The benchmark every MASE is relative to, computed here.
pub const SNAIVE: &str = "snaive";

/// The score of one forecast.
#[derive(Debug, Clone)]
pub struct Score {
    pub series: String,
    pub config: String,
    pub fold: usize,
    pub mase: f64,
    pub smape: f64,
    /// Share of actual values inside the bounds; NaN without bounds.
    pub coverage: f64,
    pub millis: f64,
    pub model_info: String,
    pub error: Option<String>,
}

fn seasonal_naive(train: &[f64], m: usize, h: usize) -> Vec<f64> {
    let m = m.clamp(1, train.len());
    (0..h).map(|i| train[train.len() - m + i % m]).collect()
}

/// Scale of the MASE: in-sample mean absolute seasonal difference.
fn mase_scale(train: &[f64], m: usize) -> f64 {
    let m = if m >= 2 && train.len() > m { m } else { 1 };
    let d: Vec<f64> = train[m..]
        .iter()
        .zip(train)
        .map(|(a, b)| (a - b).abs())
        .collect();
    d.iter().sum::<f64>() / d.len().max(1) as f64
}

/// Runs every configuration on every series and fold.
pub fn run(
    registry: &Registry,
    series: &[Series],
    configs: &[Config],
    folds: usize,
    mut progress: impl FnMut(&Score),
) -> Vec<Score> {
    let mut out = Vec::new();
    for s in series {
        for fold in 0..folds {
            let h = s.horizon;
            let Some(origin) = s.values.len().checked_sub(h * (fold + 1)) else {
                continue;
            };
            if origin < 2 * h.max(s.period) {
                continue;
            }
            let (train, test) = (&s.values[..origin], &s.values[origin..origin + h]);
            let scale = mase_scale(train, s.period);
            for c in configs {
                if c.algo == "mstl" && s.period < 2 {
                    continue;
                }
                let t0 = Instant::now();
                let result = if c.algo == SNAIVE {
                    Ok((
                        seasonal_naive(train, s.period, h),
                        None,
                        "seasonal naive".into(),
                    ))
                } else {
                    forecast(registry, c, train, s.period, h)
                };
                let millis = t0.elapsed().as_secs_f64() * 1e3;
                let score = match result {
                    Ok((f, b, info)) => {
                        let mae =
                            f.iter().zip(test).map(|(a, b)| (a - b).abs()).sum::<f64>() / h as f64;
                        let smape = f
                            .iter()
                            .zip(test)
                            .map(|(a, b)| 200.0 * (a - b).abs() / (a.abs() + b.abs()).max(1e-12))
                            .sum::<f64>()
                            / h as f64;
                        let coverage = b.map_or(f64::NAN, |(lo, hi): (Vec<f64>, Vec<f64>)| {
                            test.iter()
                                .enumerate()
                                .filter(|(i, v)| lo[*i] <= **v && **v <= hi[*i])
                                .count() as f64
                                / h as f64
                        });
                        Score {
                            series: s.name.clone(),
                            config: c.label.clone(),
                            fold,
                            // a series the seasonal naive forecast fits exactly
                            // has no scale: only a perfect forecast scores 0
                            mase: if mae == 0.0 { 0.0 } else { mae / scale },
                            smape,
                            coverage,
                            millis,
                            model_info: info,
                            error: None,
                        }
                    }
                    Err(e) => Score {
                        series: s.name.clone(),
                        config: c.label.clone(),
                        fold,
                        mase: f64::NAN,
                        smape: f64::NAN,
                        coverage: f64::NAN,
                        millis,
                        model_info: String::new(),
                        error: Some(e.to_string()),
                    },
                };
                progress(&score);
                out.push(score);
            }
        }
    }
    out
}

type Forecast = (Vec<f64>, Option<(Vec<f64>, Vec<f64>)>, String);

fn forecast(r: &Registry, c: &Config, train: &[f64], m: usize, h: usize) -> Result<Forecast> {
    let f = r
        .forecaster(&c.algo)
        .ok_or_else(|| AnodeError::new(format!("failed to load model: {}", c.algo)))?;
    let out = f.forecast(
        FcInput {
            values: train,
            ts: &[],
            rows: h,
            conf: 0.95,
            return_conf: true,
            period: if c.with_period && m >= 2 { m } else { 0 },
            covariates: Default::default(),
        },
        &Options::parse(Some(&c.options)),
    )?;
    Ok((out.value, out.bounds, out.model_info.unwrap_or_default()))
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The summary table: one line per configuration, in `configs` order.
pub fn summary(scores: &[Score], configs: &[Config]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| configuration | MASE | sMAPE % | 95% coverage | median ms | max ms | failed |"
    );
    let _ = writeln!(t, "|---|---|---|---|---|---|---|");
    for c in configs {
        let rows: Vec<&Score> = scores.iter().filter(|s| s.config == c.label).collect();
        if rows.is_empty() {
            continue;
        }
        let ok: Vec<&&Score> = rows.iter().filter(|s| s.error.is_none()).collect();
        let mean = |f: &dyn Fn(&Score) -> f64| {
            let v: Vec<f64> = ok.iter().map(|s| f(s)).filter(|v| v.is_finite()).collect();
            if v.is_empty() {
                f64::NAN
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        let mut ms: Vec<f64> = rows.iter().map(|s| s.millis).collect();
        let max = ms.iter().copied().fold(0.0, f64::max);
        let cov = mean(&|s| s.coverage);
        let _ = writeln!(
            t,
            "| {} | {:.3} | {:.2} | {} | {:.1} | {:.1} | {} |",
            c.label,
            mean(&|s| s.mase),
            mean(&|s| s.smape),
            if cov.is_finite() {
                format!("{cov:.3}")
            } else {
                "–".into()
            },
            median(&mut ms),
            max,
            rows.len() - ok.len()
        );
    }
    t
}

/// MASE per series (rows) and configuration (columns), fold 0.
pub fn per_series(scores: &[Score], configs: &[Config]) -> String {
    let mut t = String::from("| series |");
    for c in configs {
        let _ = write!(t, " {} |", c.label);
    }
    t.push_str("\n|---|");
    t.push_str(&"---|".repeat(configs.len()));
    t.push('\n');
    let mut names: Vec<&str> = Vec::new();
    for s in scores {
        if !names.contains(&s.series.as_str()) {
            names.push(&s.series);
        }
    }
    for name in names {
        let _ = write!(t, "| {name} |");
        for c in configs {
            let v = scores
                .iter()
                .find(|s| s.series == name && s.config == c.label && s.fold == 0);
            match v {
                Some(s) if s.error.is_none() => {
                    let _ = write!(t, " {:.3} |", s.mase);
                }
                Some(_) => t.push_str(" failed |"),
                None => t.push_str(" – |"),
            }
        }
        t.push('\n');
    }
    t
}

/// Every score as CSV.
pub fn csv(scores: &[Score]) -> String {
    let mut t = String::from("series,configuration,fold,mase,smape,coverage,millis,model,error\n");
    for s in scores {
        let q = |v: &str| format!("\"{}\"", v.replace('"', "\"\""));
        let _ = writeln!(
            t,
            "{},{},{},{},{},{},{:.3},{},{}",
            s.series,
            q(&s.config),
            s.fold,
            s.mase,
            s.smape,
            s.coverage,
            s.millis,
            q(&s.model_info),
            q(s.error.as_deref().unwrap_or(""))
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_series_parse() {
        let s = shipped();
        assert_eq!(s.len(), 12);
        let air = &s[0];
        assert_eq!(air.values.len(), 144);
        assert_eq!((air.values[0], air.values[143]), (112.0, 432.0));
        assert!(s.iter().all(|x| x.values.len() >= 89));
    }

    #[test]
    fn scores_of_the_seasonal_naive_forecast() {
        // A pure season repeats exactly: seasonal naive is perfect.
        let values: Vec<f64> = (0..48).map(|i| [1.0, 5.0, 3.0, 9.0][i % 4]).collect();
        let s = Series {
            name: "toy".into(),
            values,
            period: 4,
            horizon: 4,
        };
        let configs = vec![Config {
            label: "sn".into(),
            algo: SNAIVE.into(),
            options: String::new(),
            with_period: true,
        }];
        let scores = run(&Registry::native(), &[s], &configs, 2, |_| {});
        assert_eq!(scores.len(), 2);
        assert!(scores.iter().all(|s| s.mase == 0.0 && s.smape == 0.0));
        assert!(summary(&scores, &configs).contains("| sn | 0.000 | 0.00 | – |"));
        assert!(csv(&scores).starts_with("series,configuration,fold"));
    }

    #[test]
    fn user_csv_takes_the_last_column_and_skips_headers() {
        let v = parse_values("ts,val\n1,2.5\n2,3\n# note\n3,abc\n4,NaN\n");
        assert_eq!(v, vec![2.5, 3.0]);
    }
}
