//! Turning per-row anomaly codes into windows (`convert_results_to_windows`,
//! spec §4.5).
//!
//! A window is a closed interval `[first_ts, last_ts]` over a maximal run of
//! consecutive anomalous rows that carry the same code; a change of code
//! closes one window and opens the next. `mask` holds each window's code.
//!
//! May import: nothing of the crate.

/// Windows and their codes, in input order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Windows {
    pub windows: Vec<[i64; 2]>,
    pub mask: Vec<i64>,
}

pub fn convert(codes: &[i64], ts: &[i64], valid_code: i64) -> Windows {
    let mut out = Windows::default();
    if codes.len() != ts.len() {
        return out;
    }
    // (start, end, code) of the run being built.
    let mut open: Option<(i64, i64, i64)> = None;
    for (&code, &t) in codes.iter().zip(ts) {
        open = match open {
            _ if code == valid_code => {
                if let Some((s, e, m)) = open {
                    out.windows.push([s, e]);
                    out.mask.push(m);
                }
                None
            }
            Some((s, _, m)) if m == code => Some((s, t, m)),
            Some((s, e, m)) => {
                out.windows.push([s, e]);
                out.mask.push(m);
                Some((t, t, code))
            }
            None => Some((t, t, code)),
        };
    }
    if let Some((s, e, m)) = open {
        out.windows.push([s, e]);
        out.mask.push(m);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_vector_with_codes() {
        let ts: Vec<i64> = (1..=12).collect();
        let w = convert(&[1, -1, -2, 1, 1, 1, -1, -1, -1, 1, 1, -1], &ts, 1);
        assert_eq!(w.windows, vec![[2, 2], [3, 3], [7, 9], [12, 12]]);
        assert_eq!(w.mask, vec![-1, -2, -1, -1]);
    }

    #[test]
    fn plain_runs() {
        let ts: Vec<i64> = (1..=12).collect();
        let w = convert(&[1, 1, 1, 1, 1, 1, -1, -1, -1, 1, 1, -1], &ts, 1);
        assert_eq!(w.windows, vec![[7, 9], [12, 12]]);
        assert_eq!(w.mask, vec![-1, -1]);
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(convert(&[], &[1, 2], 1), Windows::default());
        assert_eq!(convert(&[1, -1], &[], 1), Windows::default());
        assert_eq!(convert(&[], &[], 1), Windows::default());
        assert_eq!(convert(&[1, 1, 1], &[1, 2, 3], 1), Windows::default());
    }

    #[test]
    fn all_anomalous_is_one_window() {
        let w = convert(&[-1, -1, -1], &[10, 20, 30], 1);
        assert_eq!(w.windows, vec![[10, 30]]);
    }

    #[test]
    fn other_valid_code() {
        // With valid_code 0 the algorithm's 1s are anomalies of code 1.
        let w = convert(&[0, 1, 1, 0, -1], &[1, 2, 3, 4, 5], 0);
        assert_eq!(w.windows, vec![[2, 3], [5, 5]]);
        assert_eq!(w.mask, vec![1, -1]);
    }
}
