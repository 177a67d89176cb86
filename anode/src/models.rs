//! `GET /models`: what is in `model-dir`.
//!
//! Answered in the newer upstream shape, an object keyed by model name
//! (`{}` when there is nothing). The directory is read once at start-up, so
//! the endpoint answers from memory.
//!
//! May import: nothing of the crate.

use std::path::Path;
use std::time::SystemTime;

use serde_json::{Map, Value, json};

/// One entry per file or folder directly under `dir`.
pub fn scan(dir: &Path) -> Value {
    let mut out = Map::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Value::Object(out);
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let modified = e
            .metadata()
            .and_then(|m| m.modified())
            .map(format_time)
            .unwrap_or_default();
        out.insert(
            name.clone(),
            json!({
                "model_name": name,
                "note": modified,
                "path": e.path().display().to_string(),
            }),
        );
    }
    Value::Object(out)
}

/// `YYYY-MM-DD HH:MM:SS` in UTC (civil-from-days, no time-zone database).
pub fn format_time(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_utc() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_577_808_000);
        assert_eq!(format_time(t), "2019-12-31 16:00:00");
        assert_eq!(format_time(SystemTime::UNIX_EPOCH), "1970-01-01 00:00:00");
    }

    #[test]
    fn missing_dir_is_empty() {
        assert_eq!(scan(Path::new("/nonexistent/dir")), json!({}));
    }
}
