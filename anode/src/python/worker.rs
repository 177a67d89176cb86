//! The worker process: `anode python-worker ...`, started by the supervisor.
//!
//! 1. The protocol moves to close-on-exec duplicates of stdin/stdout at
//!    descriptor 512 and up, and fd 1 becomes a copy of stderr, so that a
//!    plugin's `print` (or a C library writing to stdout, or a subprocess)
//!    lands in the log instead of corrupting frames. In-process code can
//!    still find any descriptor; frames start with a magic, and the
//!    supervisor kills and replaces a worker whose pipe carries anything
//!    else, so such a plugin costs one request and one restart.
//! 2. CPython is initialised with a PEP 587 `PyConfig` whose `executable` is
//!    the venv's `bin/python`: `getpath` then finds `pyvenv.cfg`, so
//!    `sys.prefix` is the venv and its site-packages are imported, whatever
//!    `PATH` says. Environment variables (`PYTHONPATH`, `PYTHONHOME`) are
//!    ignored for the same reason, and Python installs no signal handlers
//!    (the supervisor decides about signals).
//! 3. `anode_bridge.start()` discovers the algorithms and its answer is the
//!    hello frame; then each request frame goes to `anode_bridge.run()`.
//!
//! May import: its parent's `frame`.

// The only unsafe code of the crate: CPython's PEP 587 start-up and file
// descriptor plumbing, each block with its reasoning.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::os::fd::FromRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use super::frame::{read_frame, write_frame};

/// Arguments of the `python-worker` sub-command (given by the supervisor).
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    #[arg(long)]
    pub venv: PathBuf,
    #[arg(long)]
    pub python_dir: PathBuf,
    #[arg(long)]
    pub plugin_dir: PathBuf,
    #[arg(long)]
    pub model_dir: PathBuf,
    /// JSON list of the native algorithms' names.
    #[arg(long, default_value = "[]")]
    pub native: String,
}

/// Runs the worker until the supervisor closes its stdin.
pub fn main(args: &WorkerArgs) -> ExitCode {
    let (input, output) = match protocol_fds() {
        Ok(fds) => fds,
        Err(e) => {
            eprintln!("python worker: cannot set up its pipes: {e}");
            return ExitCode::from(3);
        }
    };
    if let Err(e) = initialize(&args.venv) {
        eprintln!("python worker: {e}");
        return ExitCode::from(3);
    }
    match Python::attach(|py| serve(py, args, input, output)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("python worker: {e}");
            ExitCode::from(4)
        }
    }
}

/// The lowest descriptor the protocol's pipes move to (below the default
/// limit of 1,024).
const PROTOCOL_FD_MIN: libc::c_int = 512;

/// The protocol's ends, and fd 0/1 pointed at /dev/null and stderr.
fn protocol_fds() -> std::io::Result<(BufReader<File>, BufWriter<File>)> {
    // SAFETY: plain descriptor duplication before any other thread exists;
    // each new descriptor is owned by exactly one File.
    unsafe {
        // high, close-on-exec descriptors: a plugin writing to the usual
        // inherited numbers (3, 4) or a subprocess it starts cannot reach them
        // (under a descriptor limit of 512 or less, the lowest free ones)
        let high = |fd| match libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, PROTOCOL_FD_MIN) {
            -1 => libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3),
            new => new,
        };
        let input = high(0);
        let output = high(1);
        if input < 0 || output < 0 || libc::dup2(2, 1) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::close(null);
        }
        Ok((
            BufReader::with_capacity(1 << 16, File::from_raw_fd(input)),
            BufWriter::with_capacity(1 << 16, File::from_raw_fd(output)),
        ))
    }
}

/// Initialises CPython for the venv at `venv` (see the module docs).
pub fn initialize(venv: &Path) -> Result<(), String> {
    let exe = std::path::absolute(venv.join("bin").join("python"))
        .map_err(|e| format!("bad venv path {}: {e}", venv.display()))?;
    if !exe.exists() {
        return Err(format!("no Python interpreter at {}", exe.display()));
    }
    let exe_c = CString::new(exe.as_os_str().as_bytes())
        .map_err(|_| format!("venv path {} contains a NUL byte", exe.display()))?;
    // SAFETY: the PEP 587 sequence: init a config, set fields, initialise,
    // clear. Runs once, on the main thread, before any other Python call.
    unsafe {
        let mut config = std::mem::MaybeUninit::<ffi::PyConfig>::uninit();
        let cfg = config.as_mut_ptr();
        ffi::PyConfig_InitPythonConfig(cfg);
        (*cfg).install_signal_handlers = 0;
        (*cfg).use_environment = 0;
        (*cfg).parse_argv = 0;
        let status = ffi::PyConfig_SetBytesString(cfg, &raw mut (*cfg).executable, exe_c.as_ptr());
        if ffi::PyStatus_Exception(status) != 0 {
            ffi::PyConfig_Clear(cfg);
            return Err(format!("cannot configure Python: {}", status_text(&status)));
        }
        let status = ffi::Py_InitializeFromConfig(cfg);
        ffi::PyConfig_Clear(cfg);
        if ffi::PyStatus_Exception(status) != 0 {
            return Err(format!("cannot start Python: {}", status_text(&status)));
        }
        // Hand the GIL back; pyo3 re-attaches where needed.
        ffi::PyEval_SaveThread();
    }
    Ok(())
}

fn status_text(status: &ffi::PyStatus) -> String {
    if status.err_msg.is_null() {
        return format!("exit code {}", status.exitcode);
    }
    // SAFETY: CPython's status messages are static NUL-terminated strings.
    unsafe { std::ffi::CStr::from_ptr(status.err_msg) }
        .to_string_lossy()
        .into_owned()
}

fn serve(
    py: Python<'_>,
    args: &WorkerArgs,
    mut input: BufReader<File>,
    mut output: BufWriter<File>,
) -> Result<(), String> {
    let py_err = |e: PyErr| e.to_string();
    let sys = py.import("sys").map_err(py_err)?;
    sys.getattr("path")
        .and_then(|p| p.call_method1("insert", (0, args.python_dir.as_os_str())))
        .map_err(py_err)?;
    let bridge = py.import("anode_bridge").map_err(|e| {
        format!(
            "cannot import anode_bridge from {}: {e}",
            args.python_dir.display()
        )
    })?;
    let hello: String = bridge
        .call_method1(
            "start",
            (
                args.plugin_dir.as_os_str(),
                args.model_dir.as_os_str(),
                args.native.as_str(),
            ),
        )
        .and_then(|h| h.extract())
        .map_err(|e| format!("anode_bridge.start failed: {e}"))?;
    write_frame(&mut output, hello.as_bytes(), &[]).map_err(|e| e.to_string())?;

    while let Some(frame) = read_frame(&mut input).map_err(|e| e.to_string())? {
        let header = String::from_utf8_lossy(&frame.header).into_owned();
        let buffers =
            PyList::new(py, frame.buffers.iter().map(|b| PyBytes::new(py, b))).map_err(py_err)?;
        drop(frame);
        let result = bridge
            .call_method1("run", (header, buffers))
            .and_then(|r| r.extract::<(String, Bound<'_, PyList>)>());
        match result {
            Ok((header, list)) => {
                let mut parts = Vec::with_capacity(list.len());
                for item in list.iter() {
                    parts.push(item.cast_into::<PyBytes>().map_err(|e| e.to_string())?);
                }
                let slices: Vec<&[u8]> = parts.iter().map(|b| b.as_bytes()).collect();
                write_frame(&mut output, header.as_bytes(), &slices)
            }
            // The bridge catches Exception; this is a BaseException such as
            // SystemExit or KeyboardInterrupt raised by an algorithm.
            Err(e) => {
                let msg = serde_json::json!({"ok": false, "error": e.to_string()}).to_string();
                write_frame(&mut output, msg.as_bytes(), &[])
            }
        }
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}
