//! `etc/tsdb.ini`: where the server listens, its data and credentials.

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
    /// Budget of the decoded-block cache, MB (`[storage] block-cache-mb`).
    pub block_cache_mb: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            file: None,
            listen: DEFAULT_LISTEN.parse().expect("valid default"),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            user: DEFAULT_USER.to_owned(),
            password: DEFAULT_PASSWORD.to_owned(),
            log_level: "info".to_owned(),
            block_cache_mb: crate::engine::BLOCK_CACHE_BYTES >> 20,
        }
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
                    ("storage", "block-cache-mb") => {
                        c.block_cache_mb = value
                            .parse()
                            .map_err(|_| bad("expected a size in MB such as 512"))?
                    }
                    _ => return Err(bad("unknown key")),
                }
            }
        }
        c.file = Some(file);
        Ok(c)
    }
}
