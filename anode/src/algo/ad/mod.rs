//! Anomaly detection (`type: "anomaly-detection"`, spec §5.1).

pub mod grubbs;
pub mod iqr;
pub mod ksigma;
pub mod lof;
pub mod shesd;

/// Code the built-in detectors give an anomalous value.
pub const ANOMALY: i64 = -1;
/// Code of a normal value (upstream's default `valid_code`).
pub const NORMAL: i64 = 1;

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
