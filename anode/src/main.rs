//! The `anode` binary: load `taosanode.ini`, start logging, serve.

use std::path::PathBuf;
use std::process::ExitCode;

use anode::config::Config;
use anode::http::serve;
use clap::Parser;
#[cfg(feature = "python")]
use clap::Subcommand;

/// TDgpt-compatible analysis node (taosanode REST protocol).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Configuration file [default: etc/taosanode.ini, then /etc/taos/taosanode.ini]
    #[arg(short, long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Listen address, overriding the configuration (e.g. 127.0.0.1:0)
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    #[cfg(feature = "python")]
    #[command(subcommand)]
    command: Option<Command>,
}

#[cfg(feature = "python")]
#[derive(Debug, Subcommand)]
enum Command {
    /// A Python worker process (started by the anode itself).
    #[command(hide = true)]
    PythonWorker(anode::python::worker::WorkerArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    #[cfg(feature = "python")]
    if let Some(Command::PythonWorker(w)) = &args.command {
        return anode::python::worker::main(w);
    }
    let mut config = match Config::load(args.config.as_deref()) {
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
}
