//! systemd's readiness protocol (`Type=notify` units): `READY=1` once the
//! service answers, `STOPPING=1` when it begins to drain.
//!
//! The protocol is one datagram to the unix socket named by
//! `$NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace). That is
//! a dozen lines of std, so no crate: `sd-notify` would add nothing but a
//! dependency. Outside systemd the variable is unset and every call does
//! nothing; a failure to send is logged, never fatal (the unit's start
//! timeout then tells the operator).
//!
//! May import: nothing else of the crate (the tsdb uses it too).

use std::os::unix::net::UnixDatagram;

/// Tells systemd the service is ready: it listens and answers `/status`.
pub fn ready() {
    notify("READY=1");
}

/// Tells systemd the service is stopping (it drains requests in flight).
pub fn stopping() {
    notify("STOPPING=1");
}

fn notify(state: &str) {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = send(&socket.to_string_lossy(), state) {
        tracing::warn!(
            "cannot tell systemd {state} through NOTIFY_SOCKET={}: {e}",
            socket.to_string_lossy()
        );
    }
}

fn send(socket: &str, state: &str) -> std::io::Result<()> {
    let sock = UnixDatagram::unbound()?;
    match socket.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            sock.send_to_addr(state.as_bytes(), &addr)?;
        }
        None => {
            sock.send_to(state.as_bytes(), socket)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::send;
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn a_datagram_reaches_a_path_socket() {
        let dir = std::env::temp_dir().join(format!("sd-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).unwrap();
        send(path.to_str().unwrap(), "READY=1").unwrap();
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_datagram_reaches_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("anode-sd-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let server = UnixDatagram::bind_addr(&addr).unwrap();
        send(&format!("@{name}"), "STOPPING=1").unwrap();
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
    }

    #[test]
    fn a_missing_socket_is_an_error_not_a_panic() {
        assert!(send("/nonexistent/dir/notify", "READY=1").is_err());
    }
}
