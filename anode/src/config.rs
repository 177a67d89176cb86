//! `taosanode.ini` (spec §8.1), read with rust-ini.
//!
//! The upstream file is accepted unchanged: `[uwsgi] http` is the listen
//! address and `processes × threads` sizes the algorithm pool; `[taosanode]`
//! holds `app-log`, `model-dir`, `log-level`, `draw-result`;
//! `[tsfm-service]` maps model names to model-server URLs. Settings of our
//! own live in `[anode]`. Unknown keys are reported as warnings (a typo
//! should not stop a restart), bad values are a start-up error that names
//! the file, section and key.
//!
//! A gunicorn-era `taosanode.config.py` (TDgpt 3.4.1) is read through
//! `config_py` into the same ini form first.
//!
//! May import: `config_py`, `net`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ini::{Ini, ParseOption};

/// Where `anode` looks for its configuration when `--config` is not given.
pub const SEARCH_PATH: [&str; 2] = ["etc/taosanode.ini", "/etc/taos/taosanode.ini"];
pub const DEFAULT_LISTEN: &str = "127.0.0.1:6050";
/// Upstream's code default for `app-log` (relative to the working directory).
pub const DEFAULT_APP_LOG: &str = "taosanode.app.log";
pub const DEFAULT_MODEL_DIR: &str = "/var/lib/taos/taosanode/model/";
/// Largest request body: 40,000 rows of several columns fit in a few MB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// taosd allows POST timeouts up to 1200 s; we never cut a request first.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(1200);
/// Upstream's `[uwsgi] virtualenv` pointed at the install's venv; ours is in
/// the working directory (the repository under `make run`).
pub const DEFAULT_VENV: &str = ".venv";
/// Our `taosanalytics` package and the worker bridge.
pub const DEFAULT_PYTHON_DIR: &str = "python";
/// Where users drop TDgpt algorithm files.
pub const DEFAULT_PLUGIN_DIR: &str = "python/plugins";
/// A Python worker whose resident memory passes this is killed and replaced.
pub const DEFAULT_PYTHON_MEMORY_LIMIT: usize = 2 << 30;

/// `[uwsgi]` keys that belong to uWSGI and mean nothing to us.
const UWSGI_IGNORED: &[&str] = &[
    "env",
    "socket",
    "socket-timeout",
    "chdir",
    "wsgi-file",
    "callable",
    "vacuum",
    "uid",
    "gid",
    "master",
    "pidfile",
    "enable-threads",
    "memory-report",
    "reload-mercy",
    "logto",
    "stats",
    "harakiri",
    "buffer-size",
    "module",
    "lazy-apps",
    "max-requests",
    "http-timeout",
    "daemonize",
    "home",
    "pythonpath",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration {file}: {reason}")]
    Read { file: String, reason: String },
    #[error("{file}: [{section}] {key} = {value}: {reason}")]
    Value {
        file: String,
        section: String,
        key: String,
        value: String,
        reason: String,
    },
}

/// Every setting of the service, with its default.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file these settings came from, if any.
    pub file: Option<PathBuf>,
    pub listen: SocketAddr,
    pub app_log: PathBuf,
    pub model_dir: PathBuf,
    /// Deployed models (TDgpt 3.4's `dynamic_model_dir`); default
    /// `<model-dir>/dynamic`.
    pub dynamic_model_dir: Option<PathBuf>,
    pub log_level: tracing::Level,
    pub draw_result: bool,
    /// How many algorithm runs may execute at once (worker-pool threads).
    pub workers: usize,
    /// Async threads that only move bytes (accept, read, write).
    pub io_threads: usize,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// `[uwsgi] virtualenv`: the venv Python algorithms run in.
    pub venv: PathBuf,
    /// `[anode] python-dir`: holds `taosanalytics/` and `anode_bridge.py`.
    pub python_dir: PathBuf,
    /// `[anode] plugin-dir`: users' algorithm files.
    pub plugin_dir: PathBuf,
    /// Python worker processes (`[anode] python-workers`, else
    /// `[uwsgi] processes`, else the number of cores).
    pub python_workers: usize,
    /// Longest run of one Python algorithm (`[anode] python-timeout`,
    /// default the request timeout).
    pub python_timeout: Duration,
    /// Resident-memory limit of one Python worker, bytes.
    pub python_memory_limit: usize,
    /// `[anode] header-timeout`, `body-timeout`, `max-connections`.
    pub net: crate::net::NetLimits,
    /// `[tsfm-service]`: model name → model-server URL.
    pub tsfm_services: BTreeMap<String, String>,
    /// Things worth telling the operator once logging is up.
    pub warnings: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            file: None,
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            app_log: PathBuf::from(DEFAULT_APP_LOG),
            model_dir: PathBuf::from(DEFAULT_MODEL_DIR),
            dynamic_model_dir: None,
            log_level: tracing::Level::INFO,
            draw_result: false,
            workers: default_workers(),
            io_threads: default_io_threads(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            venv: PathBuf::from(DEFAULT_VENV),
            python_dir: PathBuf::from(DEFAULT_PYTHON_DIR),
            plugin_dir: PathBuf::from(DEFAULT_PLUGIN_DIR),
            python_workers: default_workers(),
            python_timeout: DEFAULT_REQUEST_TIMEOUT,
            python_memory_limit: DEFAULT_PYTHON_MEMORY_LIMIT,
            net: crate::net::NetLimits::default(),
            tsfm_services: BTreeMap::new(),
            warnings: Vec::new(),
        }
    }
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Half the cores: the async side only moves bytes, and on a small machine
/// fewer threads competing with the workers gave more requests per second
/// and a lower p99 (bench/http.sh, 2 cores: 16.8k vs 15.9k req/s).
fn default_io_threads() -> usize {
    (default_workers() / 2).max(1)
}

impl Config {
    /// Where deployed models live: `dynamic-model-dir`, else
    /// `<model-dir>/dynamic` (upstream's default).
    pub fn dynamic_dir(&self) -> PathBuf {
        self.dynamic_model_dir
            .clone()
            .unwrap_or_else(|| self.model_dir.join("dynamic"))
    }

    /// Loads `path`, or the first file of [`SEARCH_PATH`] that exists, or
    /// the defaults when there is none.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let found = match path {
            Some(p) => Some(p.to_path_buf()),
            None => SEARCH_PATH.iter().map(PathBuf::from).find(|p| p.is_file()),
        };
        match found {
            Some(p) if p.extension().is_some_and(|e| e == "py") => {
                // TDgpt 3.4.1's taosanode.config.py, as the ini it stands for
                let (text, notes) =
                    crate::config_py::to_ini(&p).map_err(|reason| ConfigError::Read {
                        file: p.display().to_string(),
                        reason,
                    })?;
                let mut c = Config::parse(&text, &p.display().to_string())?;
                c.warnings
                    .extend(notes.into_iter().map(|n| format!("{}: {n}", p.display())));
                c.file = Some(p);
                Ok(c)
            }
            Some(p) => {
                let text = std::fs::read_to_string(&p).map_err(|e| ConfigError::Read {
                    file: p.display().to_string(),
                    reason: e.to_string(),
                })?;
                let mut c = Config::parse(&text, &p.display().to_string())?;
                c.file = Some(p);
                Ok(c)
            }
            None => {
                let mut c = Config::default();
                c.warnings.push(format!(
                    "no configuration file found (looked for {}); using defaults",
                    SEARCH_PATH.join(", ")
                ));
                Ok(c)
            }
        }
    }

    /// Parses ini text; `file` names it in messages.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let opt = ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            ..ParseOption::default()
        };
        let ini = Ini::load_from_str_opt(text, opt).map_err(|e| ConfigError::Read {
            file: file.to_owned(),
            reason: e.to_string(),
        })?;
        let mut c = Config::default();
        let bad = |section: &str, key: &str, value: &str, reason: String| ConfigError::Value {
            file: file.to_owned(),
            section: section.to_owned(),
            key: key.to_owned(),
            value: value.to_owned(),
            reason,
        };
        let (mut processes, mut threads, mut workers, mut listen) = (None, None, None, None);
        let (mut python_workers, mut python_timeout) = (None, None);
        for (section, props) in ini.iter() {
            let section = section.unwrap_or("");
            for (key, value) in props.iter() {
                let value = value.trim();
                let unknown = || format!("{file}: unknown key [{section}] {key}, ignored");
                match (section, key) {
                    ("uwsgi", "http") => listen = Some(("uwsgi", key, value)),
                    ("uwsgi", "processes") => {
                        processes = Some(positive(value).map_err(|r| bad(section, key, value, r))?)
                    }
                    ("uwsgi", "threads") => {
                        threads = Some(positive(value).map_err(|r| bad(section, key, value, r))?)
                    }
                    ("uwsgi", "virtualenv") => c.venv = PathBuf::from(value),
                    ("uwsgi", k) if UWSGI_IGNORED.contains(&k) => {}
                    ("taosanode", "app-log") => c.app_log = PathBuf::from(value),
                    ("taosanode", "model-dir") => c.model_dir = PathBuf::from(value),
                    ("taosanode", "dynamic-model-dir") => {
                        c.dynamic_model_dir = Some(PathBuf::from(value))
                    }
                    ("taosanode", "log-level") => {
                        c.log_level = log_level(value).map_err(|r| bad(section, key, value, r))?
                    }
                    ("taosanode", "draw-result") => {
                        c.draw_result = boolean(value).map_err(|r| bad(section, key, value, r))?;
                        if c.draw_result {
                            c.warnings.push(
                                "draw-result is set, but this anode does not draw plots".to_owned(),
                            );
                        }
                    }
                    ("tsfm-service", name) => {
                        c.tsfm_services.insert(name.to_owned(), value.to_owned());
                    }
                    ("anode", "listen") => listen = Some(("anode", key, value)),
                    ("anode", "workers") => {
                        workers = Some(positive(value).map_err(|r| bad(section, key, value, r))?)
                    }
                    ("anode", "io-threads") => {
                        c.io_threads = positive(value).map_err(|r| bad(section, key, value, r))?
                    }
                    ("anode", "max-body-size") => {
                        c.max_body_bytes =
                            byte_size(value).map_err(|r| bad(section, key, value, r))?
                    }
                    ("anode", "request-timeout") => {
                        c.request_timeout =
                            seconds(value).map_err(|r| bad(section, key, value, r))?
                    }
                    ("anode", "header-timeout") => {
                        c.net.header_timeout =
                            seconds(value).map_err(|r| bad(section, key, value, r))?
                    }
                    ("anode", "body-timeout") => {
                        c.net.body_timeout =
                            seconds(value).map_err(|r| bad(section, key, value, r))?
                    }
                    ("anode", "max-connections") => {
                        c.net.max_connections =
                            positive(value).map_err(|r| bad(section, key, value, r))?
                    }
                    ("anode", "python-dir") => c.python_dir = PathBuf::from(value),
                    ("anode", "plugin-dir") => c.plugin_dir = PathBuf::from(value),
                    ("anode", "python-workers") => {
                        python_workers =
                            Some(positive(value).map_err(|r| bad(section, key, value, r))?)
                    }
                    ("anode", "python-timeout") => {
                        python_timeout =
                            Some(seconds(value).map_err(|r| bad(section, key, value, r))?)
                    }
                    ("anode", "python-memory-limit") => {
                        c.python_memory_limit =
                            byte_size(value).map_err(|r| bad(section, key, value, r))?
                    }
                    ("uwsgi" | "taosanode" | "anode", _) => c.warnings.push(unknown()),
                    _ => c
                        .warnings
                        .push(format!("{file}: unknown key [{section}] {key}, ignored")),
                }
            }
        }
        if let Some((section, key, value)) = listen.filter(|l| l.0 == "anode").or(listen) {
            c.listen = listen_addr(value).map_err(|r| bad(section, key, value, r))?;
        }
        c.workers = match (workers, processes, threads) {
            (Some(w), _, _) => w,
            (None, Some(p), Some(t)) => p.saturating_mul(t),
            (None, Some(p), None) => p,
            (None, None, Some(t)) => t,
            (None, None, None) => default_workers(),
        };
        c.python_workers = python_workers.or(processes).unwrap_or_else(default_workers);
        c.python_timeout = python_timeout.unwrap_or(c.request_timeout);
        Ok(c)
    }
}

fn positive(v: &str) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a whole number greater than 0".to_owned()),
    }
}

fn boolean(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "0" | "false" | "no" | "off" => Ok(false),
        "1" | "true" | "yes" | "on" => Ok(true),
        _ => Err("expected 0 or 1".to_owned()),
    }
}

fn log_level(v: &str) -> Result<tracing::Level, String> {
    match v.to_ascii_uppercase().as_str() {
        "TRACE" => Ok(tracing::Level::TRACE),
        "DEBUG" => Ok(tracing::Level::DEBUG),
        "INFO" => Ok(tracing::Level::INFO),
        "WARN" | "WARNING" => Ok(tracing::Level::WARN),
        "ERROR" | "CRITICAL" => Ok(tracing::Level::ERROR),
        _ => Err("expected one of DEBUG, INFO, WARN, ERROR, CRITICAL".to_owned()),
    }
}

/// `127.0.0.1:6050`, `0.0.0.0:6090`, uWSGI's `:6050` (all interfaces) or
/// `localhost:6050`.
fn listen_addr(v: &str) -> Result<SocketAddr, String> {
    let full = if let Some(port) = v.strip_prefix(':') {
        format!("0.0.0.0:{port}")
    } else if let Some(port) = v.strip_prefix("localhost:") {
        format!("127.0.0.1:{port}")
    } else {
        v.to_owned()
    };
    full.parse()
        .map_err(|_| "expected an address such as 127.0.0.1:6050".to_owned())
}

/// `16777216`, `16MB`, `512K`, `1G`.
fn byte_size(v: &str) -> Result<usize, String> {
    let upper = v.to_ascii_uppercase();
    let digits = upper
        .trim_end_matches(|c: char| c.is_ascii_alphabetic())
        .trim();
    let mult: usize = match upper[digits.len()..].trim() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err("expected a size such as 16MB".to_owned()),
    };
    match digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
    {
        Some(n) if n > 0 => Ok(n),
        _ => Err("expected a size such as 16MB".to_owned()),
    }
}

/// Seconds, possibly fractional: `60`, `0.5`.
fn seconds(v: &str) -> Result<Duration, String> {
    match v.trim_end_matches('s').parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() && s < 1e9 => Ok(Duration::from_secs_f64(s)),
        _ => Err("expected a number of seconds greater than 0".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The upstream file with the seed's listen address, unchanged.
    const SEED: &str = r#"
#uwsgi --ini taosanode.ini
#uwsgi --reload taosanode.pid
#uwsgi --stop taosanode.pid

[uwsgi]
# charset
env = LC_ALL = en_US.UTF-8

# ip:port
http = 127.0.0.1:6050

# the local unix socket file than communicate to Nginx
#socket = 127.0.0.1:8001
#socket-timeout = 10

# base directory
chdir = /usr/local/taos/taosanode/lib

# initialize python file
wsgi-file = /usr/local/taos/taosanode/lib/taosanalytics/app.py

# call module of uWSGI
callable = app

# auto remove unix Socket and pid file when stopping
vacuum = true

# socket exec model
#chmod-socket = 664

# uWSGI pid
uid = root

# uWSGI gid
gid = root

# main process
master = true

# the number of worker processes
processes = 2

# pid file
pidfile = /usr/local/taos/taosanode/taosanode.pid

# enable threads
enable-threads = true

# the number of threads for each process
threads = 4

# memory useage report
memory-report = true

# smooth restart
reload-mercy = 10

# conflict with systemctl, so do NOT uncomment this
# daemonize = /var/log/taos/taosanode/taosanode.log

# log directory
logto = /var/log/taos/taosanode/taosanode.log

# wWSGI monitor port
stats = 0.0.0.0:8387

# python virtual environment directory
virtualenv = /usr/local/taos/taosanode/venv/

[taosanode]
# default app log file
app-log = /var/log/taos/taosanode/taosanode.app.log

# model storage directory
model-dir = /usr/local/taos/taosanode/model/

# default log level
log-level = DEBUG

# draw the query results
draw-result = 0

[tsfm-service]
tdtsfm_1 = http://127.0.0.1:5000/tdtsfm
timemoe-fc = http://127.0.0.1:5001/timemoe
"#;

    #[test]
    fn seed_file_is_accepted_unchanged() {
        let c = Config::parse(SEED, "taosanode.ini").unwrap();
        assert_eq!(c.listen, "127.0.0.1:6050".parse().unwrap());
        assert_eq!(c.workers, 8, "processes 2 x threads 4");
        assert_eq!(
            c.app_log,
            PathBuf::from("/var/log/taos/taosanode/taosanode.app.log")
        );
        assert_eq!(
            c.model_dir,
            PathBuf::from("/usr/local/taos/taosanode/model/")
        );
        assert_eq!(c.log_level, tracing::Level::DEBUG);
        assert!(!c.draw_result);
        assert_eq!(
            c.tsfm_services["timemoe-fc"],
            "http://127.0.0.1:5001/timemoe"
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn anode_section_overrides() {
        let c = Config::parse(
            "[uwsgi]\nhttp = :6090\n[anode]\nlisten = 127.0.0.1:7000\nworkers = 3\nio-threads = 2\nmax-body-size = 2MB\nrequest-timeout = 2.5\n",
            "x.ini",
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:7000".parse().unwrap());
        assert_eq!(c.workers, 3);
        assert_eq!(c.io_threads, 2);
        assert_eq!(c.max_body_bytes, 2 << 20);
        assert_eq!(c.request_timeout, Duration::from_millis(2500));
        let c = Config::parse("[uwsgi]\nhttp = :6090\n", "x.ini").unwrap();
        assert_eq!(c.listen, "0.0.0.0:6090".parse().unwrap());
    }

    #[test]
    fn bad_values_name_file_section_and_key() {
        let e = Config::parse("[taosanode]\nlog-level = LOUD\n", "/etc/x.ini").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/etc/x.ini: [taosanode] log-level = LOUD: expected one of DEBUG, INFO, WARN, ERROR, CRITICAL"
        );
        let e = Config::parse("[uwsgi]\nhttp = nowhere\n", "a.ini").unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.ini: [uwsgi] http = nowhere: expected an address such as 127.0.0.1:6050"
        );
        let e = Config::parse("[uwsgi]\nprocesses = 0\n", "a.ini").unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.ini: [uwsgi] processes = 0: expected a whole number greater than 0"
        );
        let e = Config::parse("[anode]\nmax-body-size = lots\n", "a.ini").unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.ini: [anode] max-body-size = lots: expected a size such as 16MB"
        );
    }

    #[test]
    fn unknown_keys_are_warnings() {
        let c = Config::parse("[taosanode]\nlog-lvl = INFO\n[extra]\na = 1\n", "a.ini").unwrap();
        assert_eq!(
            c.warnings,
            vec![
                "a.ini: unknown key [taosanode] log-lvl, ignored".to_owned(),
                "a.ini: unknown key [extra] a, ignored".to_owned()
            ]
        );
    }

    /// The file `install.sh` writes to /etc/taos: every key known, every
    /// path the documented layout's.
    #[test]
    fn the_installed_configuration_is_clean() {
        let c = Config::load(Some(Path::new("../packaging/taosanode.ini"))).unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(c.listen, DEFAULT_LISTEN.parse().unwrap());
        assert_eq!(c.venv, Path::new("/var/lib/taos/taosanode/venv"));
        assert_eq!(c.model_dir, Path::new(DEFAULT_MODEL_DIR));
        assert_eq!(
            c.app_log,
            Path::new("/var/log/taos/taosanode/taosanode.app.log")
        );
        assert_eq!(c.python_dir, Path::new("/usr/local/taos/taosanode/lib"));
        assert_eq!(
            c.plugin_dir,
            Path::new("/var/lib/taos/taosanode/resource/plugins")
        );
        assert_eq!(c.workers, 8);
    }

    #[test]
    fn missing_file_is_an_error_when_named() {
        let e = Config::load(Some(Path::new("/nonexistent/x.ini"))).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot read configuration /nonexistent/x.ini: "),
            "{e}"
        );
    }
}
