//! Connection hygiene shared by the anode and the tsdb's REST server.
//!
//! `axum::serve` reads a request head for as long as the client likes and
//! accepts connections until the process runs out of descriptors, so a
//! thousand idle half-sent connections take a server down. [`serve`]
//! replaces it with an accept loop that
//!
//! - caps open connections ([`NetLimits::max_connections`]); one over the cap
//!   gets a JSON 503 and is closed at once, so `/status` keeps answering;
//! - gives every request head (and every idle keep-alive gap, which hyper
//!   times with the same clock) [`NetLimits::header_timeout`];
//! - answers hyper's own refusals of a malformed request (400, 414, 431,
//!   which hyper writes with an empty body) with a JSON body
//!   ([`JsonErrors`]), and turns any other non-JSON error response of the
//!   router into JSON ([`json_errors`]);
//! - on shutdown stops accepting, lets requests in flight finish for
//!   [`NetLimits::drain`], then returns.
//!
//! Reading a request body in bounded time is the handler's part
//! ([`read_body`]): only it knows the body limit and the error shape.
//!
//! May import: nothing else of the crate (the tsdb uses it too).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpListener;

/// Default of `header-timeout`: seconds a client has to send a request head
/// (and the longest idle gap on a keep-alive connection). nginx's
/// `client_header_timeout` and hyper's own default are 60 s and 30 s.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Default of `body-timeout`: the longest wait for the next part of a
/// request body (nginx's `client_body_timeout` is 60 s).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default of `max-connections`: open connections at once. Each costs one
/// descriptor; the process raises its descriptor limit to the hard limit at
/// start ([`raise_fd_limit`]) and never plans for more than it got.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Descriptors kept for files (WAL, data files, logs) and outgoing calls
/// when the connection cap is fitted to the descriptor limit.
pub const RESERVED_DESCRIPTORS: u64 = 256;
/// How long a stopping server lets requests in flight finish.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(10);

/// The network bounds of one server (both services' `[...]` sections name
/// them the same: `header-timeout`, `body-timeout`, `max-connections`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetLimits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
    pub drain: Duration,
}

impl Default for NetLimits {
    fn default() -> Self {
        NetLimits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            drain: DEFAULT_DRAIN,
        }
    }
}

/// A JSON error body in a service's own shape, from an HTTP status and a
/// message (the anode: `{"msg", "rows": -1}`; the tsdb: `{"code", "desc"}`).
pub type ErrorBody = fn(StatusCode, &str) -> Vec<u8>;

/// Raises the soft descriptor limit to the hard limit (the default soft
/// limit of 1,024 is what a connection flood exhausts first) and returns
/// the limit in force.
pub fn raise_fd_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!("cannot raise the open-file limit: {e}");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    }
}

/// `wanted` connections, or fewer when the descriptor limit cannot hold
/// them with [`RESERVED_DESCRIPTORS`] to spare.
pub fn fit_connections(wanted: usize, fd_limit: u64) -> usize {
    let room = fd_limit.saturating_sub(RESERVED_DESCRIPTORS).max(16);
    wanted.min(usize::try_from(room).unwrap_or(usize::MAX))
}

/// Serves `router` on `listener` under `limits` until `shutdown` resolves,
/// then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: NetLimits,
    error_body: ErrorBody,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let router = router.layer(axum::middleware::map_response(
        move |r: Response| async move { json_errors(r, error_body) },
    ));
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE/ENFILE and the like: back off instead of spinning
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream, limits.max_connections, error_body));
            continue;
        };
        stream.set_nodelay(true).ok();
        let io = TokioIo::new(JsonErrors::new(stream, error_body));
        // handlers that care who is calling (login throttling) read
        // `ConnectInfo`, as under `into_make_service_with_connect_info`
        let router = router.clone();
        let service =
            tower::service_fn(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                tower::ServiceExt::oneshot(router.clone(), req)
            });
        let conn = builder.serve_connection(io, TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection ended: {e}");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "stopped with requests still running after {} s",
            limits.drain.as_secs()
        );
    }
    Ok(())
}

/// The answer to a connection over the cap: a JSON 503, then close.
async fn refuse(mut stream: tokio::net::TcpStream, cap: usize, error_body: ErrorBody) {
    let body = error_body(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!("too many connections: the server holds at most {cap} (max-connections)"),
    );
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        stream.shutdown().await
    };
    tokio::time::timeout(Duration::from_secs(1), write)
        .await
        .ok();
}

/// A router response with an error status and no JSON body (axum's 405,
/// a layer's 408 or 413) gets the service's JSON error body.
pub fn json_errors(r: Response, error_body: ErrorBody) -> Response {
    let status = r.status();
    let is_json = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return r;
    }
    let (mut parts, _) = r.into_parts();
    let body = error_body(status, &reason_text(status));
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

/// `405 Method Not Allowed`, as a sentence.
fn reason_text(status: StatusCode) -> String {
    match status {
        StatusCode::BAD_REQUEST => "bad request: the HTTP request could not be read".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed for this path".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => "request body too large".to_owned(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            "request headers too large (at most ~400 KB in 100 headers)".to_owned()
        }
        StatusCode::URI_TOO_LONG => "request URI too long".to_owned(),
        StatusCode::REQUEST_TIMEOUT => "request timed out".to_owned(),
        s => format!(
            "HTTP {} {}",
            s.as_u16(),
            s.canonical_reason().unwrap_or("error")
        ),
    }
}

/// Why a request body could not be read.
#[derive(Debug, PartialEq)]
pub enum BodyError {
    /// Longer than the limit (bytes).
    TooLarge(usize),
    /// The client stopped sending for longer than the body timeout.
    TimedOut(Duration),
    /// The connection broke or the framing was invalid.
    Broken(String),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge(limit) => {
                write!(f, "request body is larger than the limit of {limit} bytes")
            }
            BodyError::TimedOut(t) => write!(
                f,
                "request body not received: nothing arrived for {} s (body-timeout)",
                t.as_secs()
            ),
            BodyError::Broken(e) => write!(f, "failed to read the request body: {e}"),
        }
    }
}

impl BodyError {
    /// The HTTP status that goes with it.
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            BodyError::Broken(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// Reads a whole body of at most `limit` bytes, waiting at most `idle` for
/// each part of it (a slow but steady upload is fine; a stalled one is not).
pub async fn read_body(body: Body, limit: usize, idle: Duration) -> Result<Bytes, BodyError> {
    use http_body_util::BodyExt;
    let mut body = http_body_util::Limited::new(body, limit);
    let mut first: Option<Bytes> = None;
    let mut rest: Vec<u8> = Vec::new();
    loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => return Err(BodyError::TimedOut(idle)),
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(if e.is::<http_body_util::LengthLimitError>() {
                    BodyError::TooLarge(limit)
                } else {
                    BodyError::Broken(e.to_string())
                });
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        match &first {
            None if rest.is_empty() => first = Some(data),
            _ => {
                if let Some(f) = first.take() {
                    rest.extend_from_slice(&f);
                }
                rest.extend_from_slice(&data);
            }
        }
    }
    // one chunk (the usual case): its buffer as it came, no copy
    Ok(match first {
        Some(f) => f,
        None => Bytes::from(rest),
    })
}

/// The connection's IO, with hyper's bodiless automatic error responses
/// (a malformed request line, `HTTP/9.9`, headers past the size limit)
/// rewritten to carry a JSON body. hyper writes such a response as one
/// head with `content-length: 0` and closes; every response of our routers
/// that has an error status carries a JSON body, so a bodiless error head
/// is always hyper's own.
pub struct JsonErrors<S> {
    inner: S,
    error_body: ErrorBody,
    /// A rewritten response still being written, and how many bytes of
    /// the caller's buffer it stands for.
    pending: Option<(Vec<u8>, usize, usize)>,
}

impl<S> JsonErrors<S> {
    pub fn new(inner: S, error_body: ErrorBody) -> Self {
        JsonErrors {
            inner,
            error_body,
            pending: None,
        }
    }
}

/// The JSON version of `head`, if it is a bodiless error response.
fn rewrite(head: &[u8], error_body: ErrorBody) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok()?;
    let (head_text, after) = text.split_once("\r\n\r\n")?;
    if !after.is_empty() {
        return None;
    }
    let mut lines = head_text.split("\r\n");
    let status_line = lines.next()?;
    let code: u16 = status_line
        .strip_prefix("HTTP/1.1 ")?
        .get(..3)?
        .parse()
        .ok()?;
    let status = StatusCode::from_u16(code).ok()?;
    if !(status.is_client_error() || status.is_server_error()) {
        return None;
    }
    let headers: Vec<&str> = lines.collect();
    let bodiless = headers
        .iter()
        .any(|h| h.eq_ignore_ascii_case("content-length: 0"));
    let has_type = headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("content-type:"));
    if !bodiless || has_type {
        return None;
    }
    let body = error_body(status, &reason_text(status));
    let mut out = format!("{status_line}\r\n");
    for h in headers {
        if !h.eq_ignore_ascii_case("content-length: 0") {
            out.push_str(h);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!(
        "content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut out = out.into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonErrors<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.pending.is_none() && buf.len() < 4096 && buf.starts_with(b"HTTP/1.1 ") {
            if let Some(out) = rewrite(buf, this.error_body) {
                this.pending = Some((out, 0, buf.len()));
            }
        }
        if let Some((out, written, stands_for)) = &mut this.pending {
            while *written < out.len() {
                match Pin::new(&mut this.inner).poll_write(cx, &out[*written..]) {
                    Poll::Ready(Ok(0)) => {
                        return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                    }
                    Poll::Ready(Ok(n)) => *written += n,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            }
            let n = *stands_for;
            this.pending = None;
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(status: StatusCode, msg: &str) -> Vec<u8> {
        format!("{{\"status\":{},\"msg\":\"{msg}\"}}", status.as_u16()).into_bytes()
    }

    #[test]
    fn rewrites_only_bodiless_error_heads() {
        let head =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(rewrite(head, body).unwrap()).unwrap();
        assert!(out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\ndate: x\r\n"));
        assert!(out.ends_with(
            "\r\n\r\n{\"status\":431,\"msg\":\"request headers too large (at most ~400 KB in 100 headers)\"}"
        ));
        assert!(out.contains("content-type: application/json\r\n"));
        // a success, or an error that has a body, is left alone
        assert_eq!(
            rewrite(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", body),
            None
        );
        assert_eq!(
            rewrite(
                b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n",
                body
            ),
            None
        );
        assert_eq!(
            rewrite(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 5\r\n\r\n",
                body
            ),
            None
        );
    }

    #[test]
    fn connections_fit_the_descriptor_limit() {
        assert_eq!(fit_connections(4096, 1024), 768);
        assert_eq!(fit_connections(4096, 1 << 20), 4096);
        assert_eq!(fit_connections(4096, 100), 16);
    }
}
