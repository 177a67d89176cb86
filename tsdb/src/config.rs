//! `etc/tsdb.ini`: where the server listens, its data and credentials.
//!
//! May import: `anodes`, `auth`, `limits`, `state`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:6041";
pub const DEFAULT_DATA_DIR: &str = "data/tsdb";
pub const DEFAULT_USER: &str = "root";
pub const DEFAULT_PASSWORD: &str = "taosdata";
/// Where `tsdb serve` looks without `--config`.
pub const SEARCH_PATH: [&str; 2] = ["etc/tsdb.ini", "/etc/taos/tsdb.ini"];

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub file: Option<PathBuf>,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub user: String,
    pub password: String,
    pub log_level: String,
    /// `[server] log-file`: also append the log to this file (besides
    /// stderr, which systemd sends to the journal).
    pub log_file: Option<PathBuf>,
    /// Budget of the decoded-block cache, MB (`[storage] block-cache-mb`).
    pub block_cache_mb: usize,
    /// Where the in-process anode listens (`[analytics] embedded-anode`);
    /// `None` (`off`, the default) starts none.
    pub embedded_anode: Option<SocketAddr>,
    /// The embedded anode's `taosanode.ini` (`[analytics] anode-config`);
    /// `None` searches as the `anode` binary does.
    pub anode_config: Option<PathBuf>,
    /// `[analytics] anodes`: anodes registered at start (as `CREATE ANODE`
    /// would), retried until each answers; an installed tsdb names the
    /// installed `taosanoded` here instead of embedding one.
    pub anodes: Vec<String>,
    /// How often every anode's `/status` is checked in the background
    /// (`[analytics] check-interval`, seconds; 0 turns it off).
    pub check_interval: std::time::Duration,
    /// `[analytics] default-forecast-algo`: FORECAST's algorithm when the
    /// options name none (`auto`; `holtwinters` is TDengine's behaviour).
    pub default_forecast_algo: String,
    /// `[server] header-timeout`, `body-timeout`, `max-connections`.
    pub net: anode::net::NetLimits,
    /// `[server] token-ttl`: how long a `/rest/login` token is valid.
    pub token_ttl: std::time::Duration,
    /// `[limits] max-sql-bytes`: the longest statement text.
    pub max_sql_bytes: usize,
    /// `[limits] max-result-rows`, `max-query-mb`, `query-timeout`.
    pub budgets: crate::limits::Budgets,
}

/// Seconds between background checks of the anodes.
pub const DEFAULT_CHECK_INTERVAL_SECS: u64 = 10;

impl Default for Config {
    fn default() -> Self {
        Config {
            file: None,
            listen: DEFAULT_LISTEN.parse().expect("valid default"),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            user: DEFAULT_USER.to_owned(),
            password: DEFAULT_PASSWORD.to_owned(),
            log_level: "info".to_owned(),
            log_file: None,
            block_cache_mb: crate::state::BLOCK_CACHE_BYTES >> 20,
            embedded_anode: None,
            anode_config: None,
            anodes: Vec::new(),
            check_interval: std::time::Duration::from_secs(DEFAULT_CHECK_INTERVAL_SECS),
            default_forecast_algo: crate::anodes::DEFAULT_FORECAST_ALGO.to_owned(),
            net: anode::net::NetLimits::default(),
            token_ttl: crate::auth::DEFAULT_TOKEN_TTL,
            max_sql_bytes: crate::limits::DEFAULT_MAX_SQL_BYTES,
            budgets: crate::limits::Budgets::default(),
        }
    }
}

/// Whole seconds, at least 1 (`0` only where the key says it turns a
/// limit off).
fn secs(v: &str) -> Result<std::time::Duration, &'static str> {
    v.parse()
        .map(std::time::Duration::from_secs)
        .map_err(|_| "expected whole seconds such as 30")
}

/// A count or size of at least 1.
fn positive(v: &str) -> Result<usize, &'static str> {
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a whole number of at least 1"),
    }
}

impl Config {
    pub fn load(path: Option<&Path>) -> Result<Config, String> {
        let found = match path {
            Some(p) => Some(p.to_path_buf()),
            None => SEARCH_PATH.iter().map(PathBuf::from).find(|p| p.is_file()),
        };
        let mut c = Config::default();
        let Some(file) = found else { return Ok(c) };
        let ini = ini::Ini::load_from_file(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        for (section, props) in ini.iter() {
            for (key, value) in props.iter() {
                let bad = |why: &str| {
                    format!(
                        "{}: [{}] {key} = {value}: {why}",
                        file.display(),
                        section.unwrap_or("")
                    )
                };
                match (section.unwrap_or(""), key) {
                    ("server", "listen") => {
                        c.listen = value
                            .parse()
                            .map_err(|_| bad("expected an address such as 127.0.0.1:6041"))?
                    }
                    ("server", "data-dir") => c.data_dir = PathBuf::from(value),
                    ("server", "user") => c.user = value.to_owned(),
                    ("server", "password") => c.password = value.to_owned(),
                    ("server", "log-level") => c.log_level = value.to_ascii_lowercase(),
                    ("server", "log-file") => {
                        c.log_file = (!value.is_empty()).then(|| PathBuf::from(value))
                    }
                    ("storage", "block-cache-mb") => {
                        c.block_cache_mb = value
                            .parse()
                            .map_err(|_| bad("expected a size in MB such as 512"))?
                    }
                    ("analytics", "embedded-anode") => {
                        c.embedded_anode = match value {
                            "" | "off" | "no" | "0" => None,
                            v => Some(v.parse().map_err(|_| {
                                bad("expected an address such as 127.0.0.1:6050, or off")
                            })?),
                        }
                    }
                    ("analytics", "anode-config") => {
                        c.anode_config = (!value.is_empty()).then(|| PathBuf::from(value))
                    }
                    ("analytics", "anodes") => {
                        c.anodes = value
                            .split(',')
                            .map(str::trim)
                            .filter(|u| !u.is_empty())
                            .map(str::to_owned)
                            .collect();
                        if let Some(u) = c.anodes.iter().find(|u| u.contains(char::is_whitespace)) {
                            return Err(bad(&format!(
                                "{u:?} is not an address: expected a comma-separated list such as 127.0.0.1:6050"
                            )));
                        }
                    }
                    ("analytics", "check-interval") => {
                        let secs: u64 = value
                            .parse()
                            .map_err(|_| bad("expected seconds such as 10 (0: no checks)"))?;
                        c.check_interval = std::time::Duration::from_secs(secs)
                    }
                    ("analytics", "default-forecast-algo") => {
                        let ok = !value.is_empty()
                            && value.len() <= 63
                            && value
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                        if !ok {
                            return Err(bad(
                                "expected an algorithm name such as auto or holtwinters",
                            ));
                        }
                        c.default_forecast_algo = value.to_ascii_lowercase()
                    }
                    ("server", "header-timeout") => {
                        c.net.header_timeout = secs(value).map_err(bad)?
                    }
                    ("server", "body-timeout") => c.net.body_timeout = secs(value).map_err(bad)?,
                    ("server", "max-connections") => {
                        c.net.max_connections = positive(value).map_err(bad)?
                    }
                    ("server", "token-ttl") => c.token_ttl = secs(value).map_err(bad)?,
                    ("limits", "max-sql-bytes") => {
                        c.max_sql_bytes = positive(value).map_err(bad)?
                    }
                    ("limits", "max-result-rows") => {
                        c.budgets.max_result_rows = positive(value).map_err(bad)?
                    }
                    ("limits", "max-query-mb") => {
                        c.budgets.max_query_bytes = positive(value).map_err(bad)? << 20
                    }
                    ("limits", "query-timeout") => {
                        let t = secs(value).map_err(bad)?;
                        c.budgets.timeout = (!t.is_zero()).then_some(t)
                    }
                    _ => return Err(bad("unknown key")),
                }
            }
        }
        c.file = Some(file);
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, String> {
        let path = std::env::temp_dir().join(format!(
            "tsdb-config-{}-{}.ini",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&path, text).unwrap();
        let c = Config::load(Some(&path));
        let _ = std::fs::remove_file(&path);
        c
    }

    #[test]
    fn default_forecast_algo() {
        assert_eq!(Config::default().default_forecast_algo, "auto");
        let c = load("[analytics]\ndefault-forecast-algo = HoltWinters\n").unwrap();
        assert_eq!(c.default_forecast_algo, "holtwinters");
        let e = load("[analytics]\ndefault-forecast-algo = a,b\n").unwrap_err();
        assert!(
            e.ends_with("expected an algorithm name such as auto or holtwinters"),
            "{e}"
        );
        // the shipped files set it
        let shipped = Config::load(Some(Path::new("../etc/tsdb.ini"))).unwrap();
        assert_eq!(shipped.default_forecast_algo, "auto");
        let installed = Config::load(Some(Path::new("../packaging/tsdb.ini"))).unwrap();
        assert_eq!(installed.default_forecast_algo, "auto");
    }

    #[test]
    fn the_installed_configuration_registers_the_installed_anode() {
        let c = Config::load(Some(Path::new("../packaging/tsdb.ini"))).unwrap();
        assert_eq!(c.anodes, ["127.0.0.1:6050"]);
        assert_eq!(c.embedded_anode, None);
        assert_eq!(c.data_dir, Path::new("/var/lib/taos/tsdb"));
        assert_eq!(
            c.log_file.as_deref(),
            Some(Path::new("/var/log/taos/tsdb/tsdb.log"))
        );
    }

    #[test]
    fn anodes_and_log_file() {
        let c = load("[analytics]\nanodes = 127.0.0.1:6050, http://h:6090/\n").unwrap();
        assert_eq!(c.anodes, ["127.0.0.1:6050", "http://h:6090/"]);
        let c = load("[analytics]\nanodes =\n[server]\nlog-file =\n").unwrap();
        assert!(c.anodes.is_empty());
        assert_eq!(c.log_file, None);
        let e = load("[analytics]\nanodes = a b:1\n").unwrap_err();
        assert!(e.contains("\"a b:1\" is not an address"), "{e}");
    }
}
