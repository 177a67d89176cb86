//! Linear imputation: between two consecutive input points more than one
//! step apart, insert points every `step` ticks (anchored at the earlier
//! point) and interpolate their values linearly in time. Input points are
//! kept unchanged (`mask` 0); generated points have `mask` 1.
//!
//! May import: `error`, `options`.

use super::MAX_GENERATED_ROWS;
use crate::algo::{Describe, ImpInput, ImpOutput, Imputer};
use crate::bail;
use crate::error::Result;
use crate::options::Options;

pub struct Linear;

impl Describe for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }
    fn desc(&self) -> &'static str {
        "fill missing timestamps at the given frequency by linear interpolation in time"
    }
}

impl Imputer for Linear {
    fn impute(&self, input: ImpInput<'_>, _options: &Options) -> Result<ImpOutput> {
        let (ts, x, step) = (input.ts, input.values, input.step);
        let mut generated = 0usize;
        for w in ts.windows(2) {
            generated += ((w[1] - w[0] - 1) / step) as usize;
        }
        if generated > MAX_GENERATED_ROWS {
            bail!("too many rows to impute: {generated}, the limit is {MAX_GENERATED_ROWS}");
        }
        let total = ts.len() + generated;
        let mut out = ImpOutput {
            ts: Vec::with_capacity(total),
            target: Vec::with_capacity(total),
            mask: Vec::with_capacity(total),
        };
        for i in 0..ts.len() {
            out.ts.push(ts[i]);
            out.target.push(x[i]);
            out.mask.push(0);
            if let (Some(&t1), Some(&x1)) = (ts.get(i + 1), x.get(i + 1)) {
                let (t0, x0) = (ts[i], x[i]);
                let mut t = t0 + step;
                while t < t1 {
                    let frac = (t - t0) as f64 / (t1 - t0) as f64;
                    out.ts.push(t);
                    out.target.push(x0 + frac * (x1 - x0));
                    out.mask.push(1);
                    t += step;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Precision;

    #[test]
    fn fills_gaps_and_keeps_inputs() {
        let ts = [0, 1000, 5000, 6000];
        let x = [1.0, 2.0, 6.0, 3.0];
        let out = Linear
            .impute(
                ImpInput {
                    values: &x,
                    ts: &ts,
                    precision: Precision::Ms,
                    step: 1000,
                },
                &Options::default(),
            )
            .unwrap();
        assert_eq!(out.ts, vec![0, 1000, 2000, 3000, 4000, 5000, 6000]);
        assert_eq!(out.target, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 3.0]);
        assert_eq!(out.mask, vec![0, 0, 1, 1, 1, 0, 0]);
    }

    #[test]
    fn refuses_huge_outputs() {
        let ts = [0, 1_000_000_000];
        let x = [1.0, 2.0];
        let err = Linear
            .impute(
                ImpInput {
                    values: &x,
                    ts: &ts,
                    precision: Precision::Ms,
                    step: 1,
                },
                &Options::default(),
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "too many rows to impute: 999999999, the limit is 200000"
        );
    }
}
