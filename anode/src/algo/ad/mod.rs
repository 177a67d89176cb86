//! Anomaly detection (`type: "anomaly-detection"`, spec §5.1).
//!
//! May import: only `algo` itself.

pub mod grubbs;
pub mod iqr;
pub mod ksigma;
pub mod lof;
pub mod shesd;

/// Code the built-in detectors give an anomalous value.
pub const ANOMALY: i64 = -1;
/// Code of a normal value (upstream's default `valid_code`).
pub const NORMAL: i64 = 1;

/// Value-based verdicts (upstream's grubbs and shesd): a value is anomalous
/// iff it is (`listed_are_anomalies`) or is not (otherwise) among `listed`,
/// so every occurrence of a value gets the same code.
pub fn mark_by_value(x: &[f64], mut listed: Vec<f64>, listed_are_anomalies: bool) -> Vec<i64> {
    listed.sort_by(f64::total_cmp);
    x.iter()
        .map(|v| {
            let found = listed.binary_search_by(|k| k.total_cmp(v)).is_ok();
            if found == listed_are_anomalies {
                ANOMALY
            } else {
                NORMAL
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod testdata {
    /// The upstream anomaly series (spec §9.1).
    pub const X17: [f64; 17] = [
        5.0, 14.0, 15.0, 15.0, 14.0, 19.0, 17.0, 16.0, 20.0, 22.0, 8.0, 21.0, 28.0, 11.0, 9.0,
        29.0, 40.0,
    ];

    pub fn ts(n: usize) -> Vec<i64> {
        (0..n as i64)
            .map(|i| 1_577_808_000_000 + 1000 * i)
            .collect()
    }

    /// Indexes flagged anomalous.
    pub fn anomalies(codes: &[i64]) -> Vec<usize> {
        codes
            .iter()
            .enumerate()
            .filter(|(_, c)| **c != super::NORMAL)
            .map(|(i, _)| i)
            .collect()
    }
}
