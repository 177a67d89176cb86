//! The pool of Python worker processes.
//!
//! `workers` processes of the `anode` binary in worker mode, each serving one
//! request at a time from a shared queue. The supervisor of each slot
//! restarts its process whenever it is lost:
//!
//! - it crashed or was killed (the pipe ends, the exit status is reported);
//! - a run passed its deadline (`python-timeout`, never past the request's
//!   own timeout): the process is killed, since Python code cannot be
//!   interrupted safely from outside;
//! - its resident memory passed `python-memory-limit` (sampled from
//!   `/proc/<pid>/status` every [`MEMORY_POLL`] while a request runs).
//!
//! The request that was running gets `{"msg": <cause>, "rows": -1}`; queued
//! requests go to the other workers or wait for the replacement. A process
//! that dies while idle is replaced before it is given work, so killing an
//! idle worker by hand costs the next request only the start-up time.
//!
//! May import: `config`, its parent's `frame`.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::time::Instant;

use super::frame::{f64_bytes, i64_bytes, read_frame_async, write_frame_async};
use super::{Hello, PyCall, PyReply};
use crate::config::Config;

/// How often a running worker's memory is sampled.
pub const MEMORY_POLL: Duration = Duration::from_millis(50);
/// Importing numpy, pandas, statsmodels and the plugins takes a few seconds
/// on a cold cache; a worker that has not said hello by then is broken.
pub const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a worker whose pipe ended may take to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// Requests waiting for a free worker, beyond which callers wait to queue.
const QUEUE: usize = 1024;
/// Lines of a worker's stderr kept to explain a failed start.
const RECENT_LINES: usize = 20;
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Everything needed to start workers.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The `anode` binary (the current executable, except in tests).
    pub exe: PathBuf,
    pub venv: PathBuf,
    pub python_dir: PathBuf,
    pub plugin_dir: PathBuf,
    pub model_dir: PathBuf,
    pub workers: usize,
    pub timeout: Duration,
    pub memory_limit: usize,
    /// Names of the native algorithms; a plugin of the same name is skipped.
    pub native: Vec<String>,
}

impl Spec {
    pub fn from_config(config: &Config, exe: PathBuf, native: Vec<String>) -> Spec {
        Spec {
            exe,
            venv: config.venv.clone(),
            python_dir: config.python_dir.clone(),
            plugin_dir: config.plugin_dir.clone(),
            model_dir: config.model_dir.clone(),
            workers: config.python_workers.max(1),
            timeout: config.python_timeout,
            memory_limit: config.python_memory_limit,
            native,
        }
    }

    /// The venv's interpreter, which must exist for workers to start.
    pub fn venv_python(&self) -> PathBuf {
        self.venv.join("bin").join("python")
    }
}

struct Job {
    call: PyCall,
    /// The request's own deadline: waiting for a free worker ends there.
    deadline: Instant,
    reply: oneshot::Sender<Result<PyReply, String>>,
}

/// What the slots know about their processes, for callers.
#[derive(Debug, Default)]
struct Health {
    /// Workers that said hello and have not been lost since.
    ready: AtomicUsize,
    /// Why the last start of a worker failed; cleared by a successful start.
    start_error: StdMutex<Option<String>>,
}

impl Health {
    fn started(&self) {
        self.ready.fetch_add(1, Ordering::SeqCst);
        *self.start_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn lost(&self) {
        self.ready.fetch_sub(1, Ordering::SeqCst);
    }

    fn failed(&self, why: &str) {
        *self.start_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(why.to_owned());
    }

    /// Set when no worker runs and none could be started: requests fail at
    /// once instead of waiting for their timeout.
    fn broken(&self) -> Option<String> {
        if self.ready.load(Ordering::SeqCst) > 0 {
            return None;
        }
        self.start_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Handle to the worker pool; cheap to share.
#[derive(Debug)]
pub struct PyPool {
    tx: mpsc::Sender<Job>,
    health: Arc<Health>,
}

impl PyPool {
    /// Starts the first worker and waits for its catalogue, then starts the
    /// others in the background. Fails (with the reason) when no worker can
    /// start: no venv, a broken venv, a bridge that does not import.
    pub async fn start(spec: Spec) -> Result<(PyPool, Hello), String> {
        if !spec.venv_python().exists() {
            return Err(format!(
                "no virtual environment at {} (create it with `python3 python/setup_venv.py`)",
                spec.venv.display()
            ));
        }
        let spec = Arc::new(spec);
        let first = Worker::spawn(&spec, 0).await?;
        let hello = first.hello.clone();
        let (tx, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        let health = Arc::new(Health::default());
        health.started();
        tokio::spawn(slot(
            spec.clone(),
            0,
            Some(first),
            rx.clone(),
            health.clone(),
        ));
        for i in 1..spec.workers {
            tokio::spawn(slot(spec.clone(), i, None, rx.clone(), health.clone()));
        }
        Ok((PyPool { tx, health }, hello))
    }

    /// Runs `call` on a free worker. Waiting for the worker ends at the
    /// request's `deadline`; the run itself may take `python-timeout`, and
    /// never past `deadline`.
    pub async fn call(&self, call: PyCall, deadline: Instant) -> Result<PyReply, String> {
        if let Some(why) = self.health.broken() {
            return Err(format!("no Python worker is running: {why}"));
        }
        let algo = call.algo.clone();
        let (reply, rx) = oneshot::channel();
        let job = Job {
            call,
            deadline,
            reply,
        };
        self.tx
            .send(job)
            .await
            .map_err(|_| "the Python workers have stopped".to_owned())?;
        // A worker enforces the deadline once it runs the job; this bound is
        // for a job that never reaches one (every worker busy or starting).
        match tokio::time::timeout_at(deadline + Duration::from_secs(1), rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err("the Python worker pool stopped".to_owned()),
            Err(_) => Err(format!(
                "python algorithm {algo} timed out waiting for a free Python worker"
            )),
        }
    }
}

/// One worker slot: keeps a live process and feeds it jobs.
async fn slot(
    spec: Arc<Spec>,
    idx: usize,
    mut current: Option<Worker>,
    rx: Arc<Mutex<mpsc::Receiver<Job>>>,
    health: Arc<Health>,
) {
    let mut backoff = Duration::from_secs(1);
    let mut pending: Option<Job> = None;
    loop {
        let mut w = match current.take() {
            Some(w) => w,
            None => match Worker::spawn(&spec, idx).await {
                Ok(w) => {
                    backoff = Duration::from_secs(1);
                    health.started();
                    w
                }
                Err(e) => {
                    health.failed(&e);
                    tracing::error!(target: "anode::python", worker = idx, "cannot start a Python worker: {e}; retrying in {} s", backoff.as_secs());
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            },
        };
        let open = serve(&spec, idx, &mut w, &mut pending, &rx).await;
        health.lost();
        if !open {
            return;
        }
    }
}

/// Feeds jobs to one live worker until it is lost (true) or the pool is
/// dropped (false).
async fn serve(
    spec: &Spec,
    idx: usize,
    w: &mut Worker,
    pending: &mut Option<Job>,
    rx: &Mutex<mpsc::Receiver<Job>>,
) -> bool {
    loop {
        let job = match pending.take() {
            Some(job) => Some(job),
            None => tokio::select! {
                biased;
                status = w.child.wait() => {
                    tracing::warn!(target: "anode::python", worker = idx, pid = w.pid, "Python worker {} while idle; starting a new one", describe_exit(status));
                    return true;
                }
                job = async { rx.lock().await.recv().await } => job,
            },
        };
        let Some(job) = job else {
            let _ = w.child.start_kill();
            return false;
        };
        if job.reply.is_closed() {
            continue;
        }
        // Died between jobs and not noticed yet: replace it, keep the job.
        if let Ok(Some(status)) = w.child.try_wait() {
            tracing::warn!(target: "anode::python", worker = idx, pid = w.pid, "Python worker {}; starting a new one", describe_exit(Ok(status)));
            *pending = Some(job);
            return true;
        }
        if Instant::now() >= job.deadline {
            let _ = job.reply.send(Err(format!(
                "python algorithm {} timed out waiting for a free Python worker",
                job.call.algo
            )));
            continue;
        }
        let run_deadline = job.deadline.min(Instant::now() + spec.timeout);
        let budget = run_deadline.saturating_duration_since(Instant::now());
        match w.run(&job.call, run_deadline, budget, spec).await {
            Ok(reply) => {
                let _ = job.reply.send(Ok(reply));
            }
            Err(RunError::Failed(msg)) => {
                let _ = job.reply.send(Err(msg));
            }
            Err(RunError::Lost(msg)) => {
                tracing::warn!(target: "anode::python", worker = idx, pid = w.pid, "{msg}");
                let _ = job.reply.send(Err(msg));
                return true;
            }
        }
    }
}

enum RunError {
    /// The algorithm failed; the worker is fine.
    Failed(String),
    /// The worker is gone or was killed; the slot starts a new one.
    Lost(String),
}

struct Worker {
    pid: u32,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    hello: Hello,
}

impl Worker {
    async fn spawn(spec: &Spec, idx: usize) -> Result<Worker, String> {
        let abs = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
        let mut cmd = Command::new(&spec.exe);
        cmd.arg("python-worker")
            .arg("--venv")
            .arg(abs(&spec.venv))
            .arg("--python-dir")
            .arg(abs(&spec.python_dir))
            .arg("--plugin-dir")
            .arg(abs(&spec.plugin_dir))
            .arg("--model-dir")
            .arg(abs(&spec.model_dir))
            .arg("--native")
            .arg(serde_json::to_string(&spec.native).unwrap_or_default())
            // Parallelism comes from processes; one BLAS thread each keeps
            // workers from fighting over the cores.
            .env("OMP_NUM_THREADS", "1")
            .env("OPENBLAS_NUM_THREADS", "1")
            .env("MKL_NUM_THREADS", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", spec.exe.display()))?;
        let pid = child.id().unwrap_or(0);
        let recent = Arc::new(StdMutex::new(VecDeque::new()));
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(relay_stderr(stderr, idx, pid, recent.clone()));
        }
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let first = tokio::time::timeout(START_TIMEOUT, read_frame_async(&mut stdout)).await;
        let frame = match first {
            Ok(Ok(Some(f))) => f,
            Ok(other) => {
                let status = child.wait().await;
                // let the relay drain the last lines
                tokio::time::sleep(Duration::from_millis(50)).await;
                let lines: Vec<String> = recent
                    .lock()
                    .map(|r| r.iter().cloned().collect())
                    .unwrap_or_default();
                let io = match other {
                    Err(e) => format!(" ({e})"),
                    _ => String::new(),
                };
                return Err(format!(
                    "the worker {}{io} before it was ready: {}",
                    describe_exit(status),
                    if lines.is_empty() {
                        "no output".to_owned()
                    } else {
                        lines.join(" | ")
                    }
                ));
            }
            Err(_) => {
                let _ = child.start_kill();
                return Err(format!(
                    "the worker was not ready after {} s",
                    START_TIMEOUT.as_secs()
                ));
            }
        };
        let hello: Hello = serde_json::from_slice(&frame.header)
            .map_err(|e| format!("the worker's hello is not understood: {e}"))?;
        tracing::debug!(target: "anode::python", worker = idx, pid, "Python worker ready");
        Ok(Worker {
            pid,
            child,
            stdin,
            stdout,
            hello,
        })
    }

    async fn run(
        &mut self,
        call: &PyCall,
        deadline: Instant,
        budget: Duration,
        spec: &Spec,
    ) -> Result<PyReply, RunError> {
        let mut header = json!({"algo": call.algo, "params": call.params});
        if let Some(d) = &call.dynamic {
            header["dynamic"] = d.clone();
        }
        let header = serde_json::to_vec(&header).expect("JSON values serialise");
        let values = f64_bytes(&call.values);
        let ts = i64_bytes(&call.ts);
        enum Ended {
            Frame(std::io::Result<Option<super::frame::Frame>>),
            Deadline,
            Memory(usize),
        }
        let ended = {
            let stdin = &mut self.stdin;
            let stdout = &mut self.stdout;
            let exchange = async move {
                write_frame_async(stdin, &header, &[&values, &ts]).await?;
                read_frame_async(stdout).await
            };
            tokio::select! {
                r = exchange => Ended::Frame(r),
                _ = tokio::time::sleep_until(deadline) => Ended::Deadline,
                rss = watch_memory(self.pid, spec.memory_limit) => Ended::Memory(rss),
            }
        };
        let algo = &call.algo;
        match ended {
            Ended::Frame(Ok(Some(frame))) => {
                let header: serde_json::Map<String, Value> = serde_json::from_slice(&frame.header)
                    .map_err(|e| {
                        RunError::Lost(format!("python worker sent a bad reply for {algo}: {e}"))
                    })?;
                if header.get("ok").and_then(Value::as_bool) == Some(true) {
                    Ok(PyReply {
                        header,
                        buffers: frame.buffers,
                    })
                } else {
                    let msg = header
                        .get("error")
                        .and_then(Value::as_str)
                        .unwrap_or("the Python algorithm failed without a message");
                    Err(RunError::Failed(msg.to_owned()))
                }
            }
            Ended::Frame(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
                // the worker is alive but its pipe carries something else:
                // waiting for it to exit would wait forever
                self.kill().await;
                Err(RunError::Lost(format!(
                    "python worker broke the protocol while running {algo} ({e}; a plugin may have written to the worker's pipes); it was killed and replaced"
                )))
            }
            Ended::Frame(_) => {
                // the pipe ended: the process is exiting, or closed its end
                // and carries on, so it gets a moment and then is killed
                let status = match tokio::time::timeout(EXIT_GRACE, self.child.wait()).await {
                    Ok(status) => status,
                    Err(_) => {
                        let _ = self.child.start_kill();
                        self.child.wait().await
                    }
                };
                Err(RunError::Lost(format!(
                    "python worker crashed while running {algo} ({}); it was replaced",
                    describe_exit(status)
                )))
            }
            Ended::Deadline => {
                self.kill().await;
                Err(RunError::Lost(format!(
                    "python algorithm {algo} did not finish within {} s; its worker was killed and replaced",
                    (budget.as_secs_f64() * 10.0).round() / 10.0
                )))
            }
            Ended::Memory(rss) => {
                self.kill().await;
                Err(RunError::Lost(format!(
                    "python algorithm {algo} used {} MB of memory, more than the worker limit of {} MB; its worker was killed and replaced",
                    rss >> 20,
                    spec.memory_limit >> 20
                )))
            }
        }
    }

    async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

async fn relay_stderr(
    stderr: tokio::process::ChildStderr,
    idx: usize,
    pid: u32,
    recent: Arc<StdMutex<VecDeque<String>>>,
) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!(target: "anode::python", worker = idx, pid, "{line}");
        if let Ok(mut r) = recent.lock() {
            if r.len() == RECENT_LINES {
                r.pop_front();
            }
            r.push_back(line);
        }
    }
}

/// Resolves when the process's resident memory exceeds `limit` bytes.
async fn watch_memory(pid: u32, limit: usize) -> usize {
    loop {
        tokio::time::sleep(MEMORY_POLL).await;
        if let Some(rss) = rss_bytes(pid) {
            if rss > limit {
                return rss;
            }
        }
    }
}

/// `VmRSS` of a process, in bytes.
pub fn rss_bytes(pid: u32) -> Option<usize> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// `exited with status 3`, `killed by signal 11 (SIGSEGV)`.
fn describe_exit(status: std::io::Result<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(sig)) => {
                let name = match sig {
                    6 => " (SIGABRT)",
                    9 => " (SIGKILL)",
                    11 => " (SIGSEGV)",
                    15 => " (SIGTERM)",
                    7 => " (SIGBUS)",
                    8 => " (SIGFPE)",
                    _ => "",
                };
                format!("killed by signal {sig}{name}")
            }
            _ => "ended".to_owned(),
        },
        Err(e) => format!("ended, status unknown: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_fails_fast_only_when_nothing_runs_and_starts_fail() {
        let h = Health::default();
        assert_eq!(h.broken(), None, "starting up: wait");
        h.started();
        h.lost();
        assert_eq!(h.broken(), None, "respawning after a crash: wait");
        h.failed("the worker exited with status 3 before it was ready");
        assert_eq!(
            h.broken().as_deref(),
            Some("the worker exited with status 3 before it was ready")
        );
        h.started();
        assert_eq!(h.broken(), None);
    }

    #[test]
    fn exit_descriptions() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            describe_exit(Ok(ExitStatus::from_raw(11))),
            "killed by signal 11 (SIGSEGV)"
        );
        assert_eq!(
            describe_exit(Ok(ExitStatus::from_raw(7 << 8))),
            "exited with status 7"
        );
    }

    #[test]
    fn reads_our_own_rss() {
        let rss = rss_bytes(std::process::id()).unwrap();
        assert!(rss > 1 << 20 && rss < 1 << 34, "{rss}");
        assert_eq!(rss_bytes(u32::MAX), None);
    }
}
