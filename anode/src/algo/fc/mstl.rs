//! MSTL: the series is split into seasonal components by repeated STL, the
//! trend-plus-remainder is forecast with AutoETS, and the last season is
//! carried forward (augurs' `MSTLModel` with an AutoETS trend model).
//!
//! Options: `period` (required, ≥ 2) and optionally `periods` listing more
//! season lengths separated by `|` or spaces (`periods=24|168`).
//!
//! May import: `error`, `options`, its parent's `augurs_output`, `base_params`.

use augurs::Fit;
use augurs::ets::AutoETS;
use augurs::mstl::MSTLModel;
use serde_json::{Map, Value, json};

use super::{augurs_output, base_params};
use crate::algo::{Describe, FcInput, FcOutput, Forecaster};
use crate::bail;
use crate::error::{AnodeError, Result};
use crate::options::{Options, parse_int};

pub struct Mstl;

impl Describe for Mstl {
    fn name(&self) -> &'static str {
        "mstl"
    }
    fn desc(&self) -> &'static str {
        "multiple seasonal-trend decomposition by Loess (MSTL) with an AutoETS trend forecast"
    }
    fn params(&self) -> Value {
        let mut p = base_params();
        p.insert("periods".into(), Value::Null);
        Value::Object(p)
    }
}

fn periods(options: &Options, period: usize) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    if period > 0 {
        out.push(period);
    }
    if let Some(list) = options.get("periods") {
        for p in list.split(['|', ' ', ';']).filter(|s| !s.is_empty()) {
            let v = parse_int(p)?;
            if v < 2 {
                bail!("periods must be integers of 2 or more, actual {v}");
            }
            if !out.contains(&(v as usize)) {
                out.push(v as usize);
            }
        }
    }
    if out.is_empty() {
        bail!("mstl needs period, the number of values in one season (2 or more)");
    }
    Ok(out)
}

impl Forecaster for Mstl {
    fn forecast(&self, input: FcInput<'_>, options: &Options) -> Result<FcOutput> {
        let y = input.values;
        let periods = periods(options, input.period)?;
        if let Some(&p) = periods.iter().find(|&&p| p < 2) {
            bail!("periods must be integers of 2 or more, actual {p}");
        }
        let longest = *periods.iter().max().unwrap_or(&0);
        if y.len() < 2 * longest {
            bail!(
                "number of input data is less than two periods, mstl needs at least {} values",
                2 * longest
            );
        }
        let model = MSTLModel::new(periods.clone(), AutoETS::non_seasonal().into_trend_model());
        let fit = model
            .fit(y)
            .map_err(|e| AnodeError::new(format!("MSTL fit failed: {e}")))?;
        let mut fitted = Map::new();
        fitted.insert("periods".into(), json!(periods));
        let info = format!("MSTL(periods={periods:?}, trend=AutoETS)");
        augurs_output(&fit, input, info, fitted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::fc::holtwinters::tests::AIR;
    use crate::algo::fc::test_input as input;

    #[test]
    fn airline_season_is_carried_forward() {
        let out = Mstl
            .forecast(input(&AIR, 12, 12), &Options::default())
            .unwrap();
        assert_eq!(out.value.len(), 12);
        let peak = out.value.iter().cloned().fold(f64::MIN, f64::max);
        assert!(
            out.value[6] == peak || out.value[7] == peak,
            "{:?}",
            out.value
        );
        assert!((350.0..700.0).contains(&peak), "{peak}");
        let (lo, hi) = out.bounds.unwrap();
        assert!(lo.iter().zip(&hi).all(|(l, h)| l < h));
    }

    #[test]
    fn period_is_required() {
        let err = |o: &str, p| {
            Mstl.forecast(input(&AIR, 3, p), &Options::parse(Some(o)))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("", 0),
            "mstl needs period, the number of values in one season (2 or more)"
        );
        assert_eq!(
            err("", 100),
            "number of input data is less than two periods, mstl needs at least 200 values"
        );
        assert_eq!(
            err("periods=1", 12),
            "periods must be integers of 2 or more, actual 1"
        );
    }
}
