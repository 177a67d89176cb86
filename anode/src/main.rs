//! The `anode` binary: load `taosanode.ini`, start logging, serve.

/// mimalloc instead of glibc's malloc (as the tsdb binary): request
/// bodies, option maps and the algorithms' working vectors are many small
/// short-lived allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use anode::config::Config;
use anode::http::serve;
use clap::{Parser, Subcommand};

/// TDgpt-compatible analysis node (taosanode REST protocol).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Configuration file: taosanode.ini, or TDgpt 3.4's taosanode.config.py
    /// [default: $TDGPT_CONF, then etc/taosanode.ini, then /etc/taos/taosanode.ini]
    #[arg(short, long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Listen address, overriding the configuration (e.g. 127.0.0.1:0)
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// A Python worker process (started by the anode itself).
    #[cfg(feature = "python")]
    #[command(hide = true)]
    PythonWorker(anode::python::worker::WorkerArgs),
    /// Rolling-origin backtests of the forecasters on real series (shipped
    /// data sets, or your own CSV): MASE, sMAPE, interval coverage, time.
    Backtest(BacktestArgs),
}

#[derive(Debug, clap::Args)]
struct BacktestArgs {
    /// Only configurations of these algorithms (comma-separated), e.g. arima,auto
    #[arg(long, value_delimiter = ',')]
    algos: Vec<String>,
    /// Only these shipped series (comma-separated), e.g. airpassengers,nile
    #[arg(long, value_delimiter = ',')]
    series: Vec<String>,
    /// Your own series instead: a CSV file, one value per line (last column)
    #[arg(long, value_name = "CSV")]
    file: Option<PathBuf>,
    /// Season length of --file's series (1: none)
    #[arg(long, default_value_t = 1)]
    period: usize,
    /// Values forecast per origin for --file's series
    #[arg(long, default_value_t = 10)]
    horizon: usize,
    /// Forecast origins per series, stepping back by the horizon
    #[arg(long, default_value_t = 1)]
    folds: usize,
    /// Also write every score to this CSV file
    #[arg(long, value_name = "PATH")]
    csv: Option<PathBuf>,
    /// Print each score as it is measured
    #[arg(short, long)]
    verbose: bool,
}

fn backtest(a: &BacktestArgs) -> ExitCode {
    use anode::backtest as bt;
    let mut series = match &a.file {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => vec![bt::Series {
                name: path.display().to_string(),
                values: bt::parse_values(&text),
                period: a.period,
                horizon: a.horizon,
            }],
            Err(e) => {
                eprintln!("anode backtest: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => bt::shipped(),
    };
    if !a.series.is_empty() {
        series.retain(|s| a.series.contains(&s.name));
        if series.is_empty() {
            let names: Vec<String> = bt::shipped().into_iter().map(|s| s.name).collect();
            eprintln!(
                "anode backtest: no shipped series named {}; there are: {}",
                a.series.join(", "),
                names.join(", ")
            );
            return ExitCode::from(2);
        }
    }
    let mut configs = bt::default_configs();
    if !a.algos.is_empty() {
        configs.retain(|c| a.algos.contains(&c.algo) || c.algo == bt::SNAIVE);
    }
    if series.is_empty() || configs.is_empty() || a.folds == 0 || a.horizon == 0 {
        eprintln!("anode backtest: nothing to run (check --series, --algos, --folds, --horizon)");
        return ExitCode::from(2);
    }
    let registry = anode::algo::Registry::native();
    let scores = bt::run(&registry, &series, &configs, a.folds, |s| {
        if a.verbose {
            match &s.error {
                None => eprintln!(
                    "{:<14} {:<30} fold {} MASE {:.3} sMAPE {:.2} cover {:.2} {:.1} ms  {}",
                    s.series, s.config, s.fold, s.mase, s.smape, s.coverage, s.millis, s.model_info
                ),
                Some(e) => eprintln!(
                    "{:<14} {:<30} fold {} failed: {e}",
                    s.series, s.config, s.fold
                ),
            }
        }
    });
    if scores.is_empty() {
        eprintln!(
            "anode backtest: no forecast origin fits: each needs at least twice the horizon \
             (and two seasons) of history before it; --file's series has {} values",
            series.first().map_or(0, |s| s.values.len())
        );
        return ExitCode::from(2);
    }
    println!(
        "{} series, {} fold(s); MASE and sMAPE are means over series and folds\n",
        series.len(),
        a.folds
    );
    print!("{}", bt::summary(&scores, &configs));
    if a.verbose {
        println!("\nMASE per series (first fold):\n");
        print!("{}", bt::per_series(&scores, &configs));
    }
    if let Some(path) = &a.csv {
        if let Err(e) = std::fs::write(path, bt::csv(&scores)) {
            eprintln!("anode backtest: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args = Args::parse();
    match &args.command {
        #[cfg(feature = "python")]
        Some(Command::PythonWorker(w)) => return anode::python::worker::main(w),
        Some(Command::Backtest(b)) => return backtest(b),
        None => {}
    }
    let path = args
        .config
        .clone()
        .or_else(|| std::env::var_os("TDGPT_CONF").map(PathBuf::from));
    let mut config = match Config::load(path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("anode: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(addr) = args.listen {
        config.listen = addr;
    }
    let _guard = match anode::logging::init(&config.app_log, config.log_level) {
        Ok(g) => g,
        Err(e) => {
            eprintln!(
                "anode: cannot open app-log {}: {e} (set [taosanode] app-log in {})",
                config.app_log.display(),
                config
                    .file
                    .as_ref()
                    .map_or("the configuration".into(), |p| p.display().to_string())
            );
            return ExitCode::from(2);
        }
    };
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.io_threads)
        .thread_name("anode-io")
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("anode: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(mut config: Config) -> anyhow::Result<()> {
    let fds = anode::net::raise_fd_limit();
    config.net.max_connections = anode::net::fit_connections(config.net.max_connections, fds);
    // Everything is ready (worker threads and processes) before we say so.
    let state = anode::http::build_state(&config, python_worker()).await;
    let algorithms = state.algorithm_count();
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        config = %config.file.as_ref().map_or("(defaults)".into(), |p| p.display().to_string()),
        workers = config.workers,
        io_threads = config.io_threads,
        max_connections = config.net.max_connections,
        algorithms,
        "anode listening on http://{addr}"
    );
    anode::sd_notify::ready();
    serve(listener, state, shutdown_signal()).await?;
    tracing::info!("anode stopped");
    Ok(())
}

/// Python workers are this very binary, run as `anode python-worker`.
#[cfg(feature = "python")]
fn python_worker() -> Option<PathBuf> {
    match std::env::current_exe() {
        Ok(e) => Some(e),
        Err(e) => {
            tracing::warn!("Python algorithms are not available: cannot find our own binary: {e}");
            None
        }
    }
}

#[cfg(not(feature = "python"))]
fn python_worker() -> Option<PathBuf> {
    tracing::warn!(
        "Python algorithms are not available: this anode was built without the `python` feature"
    );
    None
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested, finishing requests in flight");
    anode::sd_notify::stopping();
}
