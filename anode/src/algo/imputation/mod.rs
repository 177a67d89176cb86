//! Imputation (`type: "imputation"`, spec §4.7): fill the missing timestamps
//! of a series that should be regular at frequency `freq`.
//!
//! Upstream's only imputer, `moment`, forwards to a separate MOMENT model
//! server ([`moment`], the same client); natively we offer `linear`. The
//! frequency handling (`freq`, `prec`, the spacing check) is the
//! framework's and lives in `service`.
//!
//! May import: only `algo` itself.

pub mod linear;
pub mod moment;

/// Most rows one request may generate (upstream's `ANALY_MAX_IMPUT_ROWS`
/// value was not published; this bounds the answer to a few MB).
pub const MAX_GENERATED_ROWS: usize = 200_000;
