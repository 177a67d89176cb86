//! The `tsdb` binary: `serve` (the REST server) and `shell` (the client).

/// mimalloc instead of glibc's malloc: a many-device INSERT makes and frees
/// millions of small values, and glibc spent a quarter of the ingest in
/// `malloc_consolidate` and its free lists (bench/iot.sh, perf).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for the process. mimalloc returns the
/// pages of a statement's larger buffers (its clauses, its WAL records)
/// and takes fresh ones for the next; with THP on, each such fault had the
/// kernel zero a whole 2 MiB page: 11–14 % of a many-device ingest in
/// `clear_page_erms`. Off, the same ingest runs about 10 % faster in 8–12 %
/// less CPU and its peak RSS falls from ~235 to ~165 MB (2 M rows, 10,000
/// tables, 3 runs alternating; `MIMALLOC_ALLOW_THP=0` measured the same).
#[allow(unsafe_code)]
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes no pointers; a kernel without it
    // answers EINVAL, which changes nothing.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use tsdb::config::Config;
use tsdb::engine::Engine;
use tsdb::rest::{RestState, router};
use tsdb::shell::{Client, interactive, run_all, script_text};

/// A compact time-series database in the TDengine mould.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (REST on 127.0.0.1:6041 by default).
    Serve(ServeArgs),
    /// The taos-style shell, over REST.
    Shell(ShellArgs),
    /// Load a CSV file into a table, over REST.
    Import(ImportArgs),
    /// Subscribe to a query's rows: prints all matching rows, then new ones
    /// as they arrive (progress kept by the server per topic).
    Subscribe(SubscribeArgs),
    /// Verify a data directory offline (catalog, manifest, every data-file
    /// checksum, WAL segments); exit status 1 on damage. With --repair, set
    /// damaged parts aside in quarantine/ and rebuild what can be rebuilt.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The data directory (the server's data-dir), with the server stopped
    #[arg(long)]
    data_dir: PathBuf,
    /// Quarantine what is damaged, rebuild the manifest if needed, replay
    /// and flush every intact WAL record
    #[arg(long)]
    repair: bool,
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
struct SubscribeArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Database of the query
    #[arg(short = 'd', long)]
    database: Option<String>,
    /// The topic: names the saved progress
    #[arg(long)]
    topic: String,
    /// The SELECT whose rows to deliver
    #[arg(long, required_unless_present = "unsubscribe")]
    sql: Option<String>,
    /// Ignore the saved progress: deliver everything again
    #[arg(long)]
    restart: bool,
    /// Milliseconds between consumes
    #[arg(long, default_value_t = 1000)]
    interval: u64,
    /// Consume once and exit
    #[arg(long)]
    once: bool,
    /// Delete the topic's progress and exit (unsubscribe without keeping it)
    #[arg(long)]
    unsubscribe: bool,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
}

/// Where the server is and who we are (taos's `-h -P -u -p`).
#[derive(Debug, Args)]
struct ConnArgs {
    /// Server host
    #[arg(short = 'h', long, default_value = "127.0.0.1")]
    host: String,
    /// Server REST port
    #[arg(short = 'P', long, default_value_t = 6041)]
    port: u16,
    #[arg(short = 'u', long, default_value = "root")]
    user: String,
    #[arg(short = 'p', long, default_value = "taosdata")]
    password: String,
}

impl ConnArgs {
    fn client(&self) -> Client {
        Client::new(&self.host, self.port, &self.user, &self.password)
    }
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
struct ImportArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Database
    #[arg(short = 'd', long)]
    database: String,
    /// Table to insert into (CSV)
    #[arg(short = 't', long, required_unless_present = "line_protocol")]
    table: Option<String>,
    /// The file is InfluxDB line protocol: measurements become super tables
    /// (POST /influxdb/v1/write, TDengine's schemaless rules)
    #[arg(long, conflicts_with_all = ["table", "using", "header"])]
    line_protocol: bool,
    /// Timestamp unit of a line-protocol file: ns, u, ms, s, m, h
    #[arg(long, default_value = "ns", requires = "line_protocol")]
    precision: String,
    /// Create the table from this super table if needed (with --tags)
    #[arg(long, requires = "tags")]
    using: Option<String>,
    /// Tag values for --using, as SQL: "'Beijing', 2"
    #[arg(long)]
    tags: Option<String>,
    /// Rows per INSERT
    #[arg(long, default_value_t = tsdb::import::DEFAULT_BATCH)]
    batch: usize,
    /// The first line holds column names
    #[arg(long)]
    header: bool,
    /// The CSV (or line-protocol) file
    file: PathBuf,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Configuration file [default: etc/tsdb.ini, then /etc/taos/tsdb.ini]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Listen address, overriding the configuration (e.g. 127.0.0.1:0)
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    /// Data directory, overriding the configuration
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
struct ShellArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Database to use
    #[arg(short = 'd', long)]
    database: Option<String>,
    /// Run these statements and exit
    #[arg(short = 's', long = "commands")]
    commands: Option<String>,
    /// Run the statements of this file and exit
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    /// With -s or -f: print each statement (`taos> ...`) before its result
    #[arg(long)]
    echo: bool,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
}

fn main() -> ExitCode {
    no_transparent_huge_pages();
    match Cli::parse().command {
        Command::Serve(a) => serve(a),
        Command::Shell(a) => shell(a),
        Command::Import(a) => import(a),
        Command::Subscribe(a) => subscribe(a),
        Command::Check(a) => check(a),
    }
}

/// `tsdb check`: prints the report; with `--repair`, repairs and checks
/// again. Exit status 0 when (finally) no damage is left, 1 otherwise.
fn check(a: CheckArgs) -> ExitCode {
    if !a.data_dir.is_dir() {
        eprintln!("tsdb check: {} is not a directory", a.data_dir.display());
        return ExitCode::from(2);
    }
    let report = tsdb::check::check(&a.data_dir);
    print!("{}", report.text());
    if report.problems.is_empty() {
        return ExitCode::SUCCESS;
    }
    if !a.repair {
        println!("run again with --repair to set the damage aside and recover the rest");
        return ExitCode::FAILURE;
    }
    match tsdb::check::repair(&a.data_dir, &report) {
        Ok(done) => {
            for line in done {
                println!("repair   {line}");
            }
        }
        Err(e) => {
            eprintln!("tsdb check: repair failed: {e}");
            return ExitCode::FAILURE;
        }
    }
    let after = tsdb::check::check(&a.data_dir);
    println!("after repair:");
    print!("{}", after.text());
    if after.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `tsdb subscribe`: polls `/rest/subscribe/<topic>` every interval and
/// prints the new rows in the shell's layout.
fn subscribe(a: SubscribeArgs) -> ExitCode {
    let client = a.conn.client();
    let topic = a.topic.as_str();
    if a.unsubscribe {
        return match client.request("DELETE", &format!("/rest/subscribe/{topic}"), "") {
            Ok(j) if j["code"].as_i64() == Some(0) => ExitCode::SUCCESS,
            Ok(j) => {
                eprintln!(
                    "DB error: {}",
                    j["desc"].as_str().unwrap_or("unknown error")
                );
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("tsdb: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let sql = a.sql.unwrap_or_default();
    let db = a
        .database
        .as_deref()
        .map(|d| format!("&db={d}"))
        .unwrap_or_default();
    let interval = std::time::Duration::from_millis(a.interval);
    let mut restart = a.restart;
    loop {
        let started = std::time::Instant::now();
        let path = format!("/rest/subscribe/{topic}?restart={}{db}", u8::from(restart));
        restart = false;
        match client.request("POST", &path, &sql) {
            Ok(j) if j["code"].as_i64() == Some(0) => {
                let (cols, rows) = tsdb::shell::result_set(&j);
                if !rows.is_empty() {
                    print!(
                        "{}",
                        tsdb::render::table(&cols, &rows, client.display_width)
                    );
                    use std::io::Write as _;
                    let _ = std::io::stdout().flush();
                }
            }
            Ok(j) => {
                eprintln!(
                    "DB error: {}",
                    j["desc"].as_str().unwrap_or("unknown error")
                );
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("tsdb: {e}");
                return ExitCode::FAILURE;
            }
        }
        if a.once {
            return ExitCode::SUCCESS;
        }
        std::thread::sleep(interval.saturating_sub(started.elapsed()));
    }
}

fn serve(a: ServeArgs) -> ExitCode {
    let mut config = match Config::load(a.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tsdb: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(l) = a.listen {
        config.listen = l;
    }
    if let Some(d) = a.data_dir {
        config.data_dir = d;
    }
    // the embedded anode's taosanode.ini, read once: logging needs its
    // app-log before the anode starts
    let anode_config = match config.embedded_anode {
        None => None,
        Some(_) => match anode::config::Config::load(config.anode_config.as_deref()) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("tsdb: embedded anode: {e}");
                return ExitCode::from(2);
            }
        },
    };
    if let Err(e) = init_logging(&config, anode_config.as_ref()) {
        eprintln!("tsdb: {e}");
        return ExitCode::from(2);
    }
    let engine = match Engine::open_with(&config.data_dir, config.block_cache_mb << 20) {
        Ok(e) => Arc::new(e),
        Err(e) => {
            eprintln!("tsdb: {e}");
            return ExitCode::from(2);
        }
    };
    engine
        .analytics
        .set_default_forecast_algo(&config.default_forecast_algo);
    let fds = anode::net::raise_fd_limit();
    config.net.max_connections = anode::net::fit_connections(config.net.max_connections, fds);
    let state = Arc::new(RestState::new(engine, &config));
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tsdb: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result: anyhow::Result<()> = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        tracing::info!(
            data_dir = %config.data_dir.display(),
            "tsdb listening on http://{}",
            listener.local_addr()?
        );
        if let (Some(addr), Some(acfg)) = (config.embedded_anode, anode_config) {
            start_embedded_anode(acfg, addr, &state.engine).await?;
        }
        for url in config.anodes.clone() {
            register_when_up(state.engine.clone(), url);
        }
        if !config.check_interval.is_zero() {
            let engine = state.engine.clone();
            let every = config.check_interval;
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tick.tick().await;
                    let e = engine.clone();
                    let _ =
                        tokio::task::spawn_blocking(move || tsdb::analytics::ddl::check(&e)).await;
                }
            });
        }
        let retention = state.engine.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(tsdb::engine::RETENTION_EVERY);
            loop {
                tick.tick().await;
                let e = retention.clone();
                let now = tsdb::types::Precision::Ms.now();
                let _ = tokio::task::spawn_blocking(move || e.expire(now)).await;
            }
        });
        // continuous queries: due windows are looked for every tick
        let _streams = tsdb::stream::Scheduler::spawn(state.engine.clone())?;
        let stopping = state.stopping.clone();
        anode::sd_notify::ready();
        let stop = async move {
            shutdown_signal().await;
            anode::sd_notify::stopping();
            // running statements end at their next check
            stopping.shutdown();
        };
        anode::net::serve(
            listener,
            router(state.clone()),
            config.net,
            tsdb::rest::http_error_body,
            stop,
        )
        .await?;
        // the next start then has no WAL to replay
        let e = state.engine.clone();
        let flushed = match tokio::task::spawn_blocking(move || e.flush()).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match flushed {
            Ok(()) => tracing::info!("memtables flushed; stopped"),
            Err(e) => tracing::error!(error = %e, "flush at shutdown failed; the WAL has the rows"),
        }
        Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tsdb: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Opens a log file for appending, making its directory; `what` names the
/// setting in the error.
fn open_log(path: &std::path::Path, what: &str) -> Result<std::fs::File, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{what} {}: {e}", path.display()))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("{what} {}: {e}", path.display()))
}

/// Registers the anode at `url` (`[analytics] anodes`) as `CREATE ANODE`
/// would, once it answers: under systemd the two services start together,
/// so the first tries may find nobody listening. Tries every
/// [`REGISTER_RETRY`] and says so once, then at each success.
fn register_when_up(engine: Arc<Engine>, url: String) {
    tokio::spawn(async move {
        let mut warned = false;
        loop {
            let (e, u) = (engine.clone(), url.clone());
            let r = tokio::task::spawn_blocking(move || tsdb::analytics::ddl::register(&e, &u))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
            match r {
                Ok(id) => {
                    tracing::info!(anode = id, url = %url, "anode registered ([analytics] anodes)");
                    return;
                }
                Err(e) if !warned => {
                    warned = true;
                    tracing::warn!(url = %url, error = %e, "anode not registered yet; retrying every {} s", REGISTER_RETRY.as_secs());
                }
                Err(_) => {}
            }
            tokio::time::sleep(REGISTER_RETRY).await;
        }
    });
}

/// How often an `[analytics] anodes` entry that did not answer is tried again.
const REGISTER_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

/// Logs to stderr at `log-level` (`RUST_LOG` overrides), and to `[server]
/// log-file` when set; with an embedded anode, its lines (targets `anode::*`) also go to the `app-log` of its
/// `taosanode.ini`, as the `anode` binary writes them.
fn init_logging(config: &Config, anode: Option<&anode::config::Config>) -> Result<(), String> {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log_level));
    let stderr = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_filter(filter);
    let app_log = match anode {
        None => None,
        Some(acfg) => {
            let file = open_log(&acfg.app_log, "embedded anode: app-log")?;
            let level = acfg.log_level.as_str().to_ascii_lowercase();
            Some(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(file))
                    .with_filter(tracing_subscriber::EnvFilter::new(format!("anode={level}"))),
            )
        }
    };
    let log_file = match &config.log_file {
        None => None,
        Some(path) => {
            let file = open_log(path, "[server] log-file")?;
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log_level));
            Some(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(file))
                    .with_filter(filter),
            )
        }
    };
    tracing_subscriber::registry()
        .with(stderr)
        .with(log_file)
        .with(app_log)
        .init();
    Ok(())
}

/// Serves the anode inside this process (the same code as the `anode`
/// binary) and registers it. Python algorithms need the `anode` binary
/// beside this one: it is the worker process that embeds CPython.
async fn start_embedded_anode(
    mut acfg: anode::config::Config,
    addr: std::net::SocketAddr,
    engine: &Arc<Engine>,
) -> anyhow::Result<()> {
    acfg.listen = addr;
    for w in &acfg.warnings {
        tracing::warn!("embedded anode: {w}");
    }
    let worker = std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name("anode"))
        .filter(|p| p.is_file());
    if worker.is_none() {
        tracing::warn!(
            "embedded anode: no `anode` binary beside `tsdb`, so no Python algorithms (native ones only)"
        );
    }
    let state = anode::http::build_state(&acfg, worker).await;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("embedded anode: cannot listen on {addr}: {e}"))?;
    let url = listener.local_addr()?.to_string();
    tracing::info!(
        target: "anode::embedded",
        algorithms = state.algorithm_count(),
        "embedded anode on http://{url}"
    );
    tokio::spawn(async move {
        if let Err(e) = anode::http::serve(listener, state, std::future::pending()).await {
            tracing::error!(error = %e, "embedded anode stopped");
        }
    });
    let e = engine.clone();
    let registered =
        tokio::task::spawn_blocking(move || tsdb::analytics::ddl::register(&e, &url)).await?;
    match registered {
        Ok(id) => tracing::info!(anode = id, "embedded anode registered"),
        Err(e) => tracing::error!(error = %e, "embedded anode not registered"),
    }
    Ok(())
}

fn import(a: ImportArgs) -> ExitCode {
    let mut client = a.conn.client();
    if a.line_protocol {
        return match tsdb::import::import_lines(
            &client,
            &a.file,
            &a.database,
            &a.precision,
            a.batch.max(1),
        ) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("tsdb import: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let table = a.table.as_deref().unwrap_or_default();
    let spec = tsdb::import::ImportSpec {
        db: &a.database,
        table,
        using: a.using.as_deref().zip(a.tags.as_deref()),
        batch: a.batch.max(1),
        header: a.header,
    };
    match tsdb::import::import(&mut client, &a.file, &spec) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tsdb import: {e}");
            ExitCode::FAILURE
        }
    }
}

fn shell(a: ShellArgs) -> ExitCode {
    let mut client = a.conn.client();
    if let Some(db) = &a.database {
        // quietly: `-d` is a setting, not a statement the user typed
        let used = client.run(&format!("use {db}"));
        if !used.ok {
            eprint!("{}", used.stderr);
            return ExitCode::FAILURE;
        }
    }
    client.echo = a.echo;
    let ok = if let Some(sql) = &a.commands {
        run_all(&mut client, sql)
    } else if let Some(file) = &a.file {
        match std::fs::read_to_string(file) {
            Ok(text) => run_all(&mut client, &script_text(&text)),
            Err(e) => {
                eprintln!("tsdb shell: cannot read {}: {e}", file.display());
                false
            }
        }
    } else {
        match interactive(&mut client) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("tsdb shell: {e}");
                false
            }
        }
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// SIGINT or SIGTERM: stop accepting, finish the requests in flight. Every
/// acknowledged insert is already in the WAL, so nothing else is flushed.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    tracing::info!("tsdb stopping");
}
