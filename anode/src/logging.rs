//! Logging: `tracing` to stderr and to the `app-log` file, at `log-level`.
//! `RUST_LOG`, when set, overrides the configured level (for debugging one
//! module without editing the ini).
//!
//! May import: nothing of the crate.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

/// Installs the global subscriber. Keep the guard alive: dropping it
/// flushes and stops the file writer.
pub fn init(app_log: &Path, level: tracing::Level) -> std::io::Result<WorkerGuard> {
    let dir = match app_log.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = app_log.file_name().ok_or_else(|| {
        std::io::Error::other(format!("app-log {} names no file", app_log.display()))
    })?;
    // Open once here so that a permission problem is a start-up error.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(app_log)?;
    let (file, guard) = tracing_appender::non_blocking(tracing_appender::rolling::never(dir, name));
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(level.as_str().to_ascii_lowercase()));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr.and(file))
        .with_ansi(false)
        .with_thread_names(true)
        .init();
    Ok(guard)
}
