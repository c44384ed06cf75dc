//! Accepting connections within limits: how many at once, how long a client may take to
//! send its request head, how large the head may be, and TLS when configured.
//!
//! A scrape must get through even while some client misbehaves. Each connection runs in
//! its own task, so a slow one only ever holds itself; the limits make sure slow ones
//! cannot pile up either:
//! - at most `max_connections` are open; further ones wait in the kernel's accept queue
//!   (as with Prometheus' own `--web.max-connections`) instead of being refused;
//! - a new connection must finish its TLS handshake and send one complete request head
//!   within `header_timeout`, or it is closed. This deadline covers what hyper's own
//!   header timeout does not: the TLS handshake and the protocol sniffing of the first
//!   bytes. Later requests on a kept-alive HTTP/1 connection, and the wait between them,
//!   are bounded by hyper's header timeout, set to the same value;
//! - a request head over [`MAX_REQUEST_HEAD_BYTES`] is answered 431 and the connection
//!   closed;
//! - a connection on which no byte moves either way for `header_timeout` is closed: an
//!   idle HTTP/2 connection, or a client that stopped reading its response.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::service::{Service, service_fn};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use super::idle::{Activity, Watched};
use super::live::LiveWebConfig;

/// Largest request head (request line and headers) accepted. A scrape's head is a few
/// hundred bytes; hyper cannot go below 8 KiB.
pub const MAX_REQUEST_HEAD_BYTES: usize = 16 * 1024;
/// HTTP/2 requests in flight on one connection (Prometheus sends one at a time).
const MAX_HTTP2_STREAMS: u32 = 16;
/// How long in-flight requests may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// At most one "connection limit reached" warning per listener in this period.
const LIMIT_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// What the listener serves: a hyper service that answers every request (errors are
/// responses too), usable from any connection task.
pub trait Handler:
    Service<Request<Incoming>, Response = Response<Self::Reply>, Error = Infallible, Future: Send>
    + Clone
    + Send
    + Sync
    + 'static
{
    /// The response body.
    type Reply: Body<Data: Send, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + 'static;
}

impl<S, B> Handler for S
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible, Future: Send>
        + Clone
        + Send
        + Sync
        + 'static,
    B: Body<Data: Send, Error: Into<Box<dyn std::error::Error + Send + Sync>>> + Send + 'static,
{
    type Reply = B;
}

/// Limits on the HTTP server, from the `--web.*` flags.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `--web.max-connections`: connections open at once.
    pub max_connections: usize,
    /// `--web.read-header-timeout`: time to send a complete request head.
    pub header_timeout: Duration,
}

/// Where to listen, from `--web.listen-address`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenAddress {
    /// `:PORT`: every interface, IPv6 and IPv4 on one socket.
    AllInterfaces(u16),
    /// `HOST:PORT`: exactly this address.
    Exact(SocketAddr),
}

impl std::fmt::Display for ListenAddress {
    /// As given on the command line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListenAddress::AllInterfaces(port) => write!(f, ":{port}"),
            ListenAddress::Exact(address) => write!(f, "{address}"),
        }
    }
}

/// Opens a listening socket. `:PORT` binds `[::]` with IPv6-only off, so that IPv6-only
/// and IPv4 clusters alike can scrape; where the host has no IPv6 it falls back to
/// `0.0.0.0` and says so. Other errors (the port in use, no permission) are returned.
pub fn bind(address: ListenAddress) -> std::io::Result<TcpListener> {
    let exact = match address {
        ListenAddress::Exact(address) => address,
        ListenAddress::AllInterfaces(port) => match bind_dual_stack(port) {
            Ok(listener) => return Ok(listener),
            Err(err) if no_ipv6(&err) => {
                tracing::warn!(port, error = %err, "this host has no IPv6; listening on IPv4 (0.0.0.0) only");
                SocketAddr::from(([0, 0, 0, 0], port))
            }
            Err(err) => return Err(err),
        },
    };
    let std_listener = std::net::TcpListener::bind(exact)?;
    std_listener.set_nonblocking(true)?;
    TcpListener::from_std(std_listener)
}

/// `[::]:port` accepting IPv4 too (as IPv4-mapped addresses), whatever the system's
/// `bindv6only` default.
fn bind_dual_stack(port: u16) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV6, Type::STREAM, None)?;
    socket.set_only_v6(false)?;
    // As std and tokio do for listeners: a restart may bind while old connections linger.
    socket.set_reuse_address(true)?;
    socket.bind(&SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port)).into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    TcpListener::from_std(socket.into())
}

/// Whether a bind error means "no IPv6 here" (no such address family, no such address)
/// rather than a problem a fallback would hide.
fn no_ipv6(err: &std::io::Error) -> bool {
    const EAFNOSUPPORT: i32 = 97;
    matches!(
        err.kind(),
        std::io::ErrorKind::AddrNotAvailable | std::io::ErrorKind::Unsupported
    ) || err.raw_os_error() == Some(EAFNOSUPPORT)
}

/// Serves `service` on every listener until `shutdown` completes, then lets open requests
/// finish (for a bounded time).
pub async fn serve<S: Handler>(
    listeners: Vec<TcpListener>,
    web: Arc<LiveWebConfig>,
    limits: Limits,
    service: S,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let with_http2 = Arc::new(builder(limits));
    // `http_server_config.http2: false`: HTTP/1.1 only, on plain and TLS connections.
    let http1_only = Arc::new(builder(limits).http1_only());
    let graceful = GracefulShutdown::new();
    let (connections_tx, mut connections_rx) = tokio::sync::mpsc::channel(64);
    let acceptors: Vec<_> = listeners
        .into_iter()
        .map(|listener| {
            tokio::spawn(accept_loop(
                listener,
                Arc::clone(&slots),
                limits.max_connections,
                connections_tx.clone(),
            ))
        })
        .collect();
    drop(connections_tx);

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = connections_rx.recv() => {
                let Some((stream, peer, permit)) = accepted else { break };
                // The web config in force when the connection arrives decides TLS and
                // HTTP/2 for its whole life; a reload or rotation affects new ones.
                let current = web.load();
                let tls = current
                    .as_ref()
                    .and_then(|w| w.tls.clone())
                    .map(TlsAcceptor::from);
                let http2 = current.as_ref().is_none_or(|w| w.http2);
                tokio::spawn(connection(
                    stream,
                    peer,
                    permit,
                    tls,
                    Arc::clone(if http2 { &with_http2 } else { &http1_only }),
                    service.clone(),
                    graceful.watcher(),
                    limits.header_timeout,
                ));
            }
            () = &mut shutdown => break,
        }
    }
    for acceptor in acceptors {
        acceptor.abort();
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after the shutdown grace period");
    }
}

/// hyper's settings: header timeout and size for HTTP/1, header size and streams for HTTP/2.
fn builder(limits: Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_REQUEST_HEAD_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_REQUEST_HEAD_BYTES as u32)
        .max_concurrent_streams(MAX_HTTP2_STREAMS);
    builder
}

type Accepted = (TcpStream, SocketAddr, OwnedSemaphorePermit);

/// Takes a connection slot, then accepts: while every slot is taken, new connections
/// wait in the kernel's queue.
async fn accept_loop(
    listener: TcpListener,
    slots: Arc<Semaphore>,
    max_connections: usize,
    accepted: tokio::sync::mpsc::Sender<Accepted>,
) {
    let mut last_warning: Option<Instant> = None;
    loop {
        let permit = match Arc::clone(&slots).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if last_warning.is_none_or(|at| at.elapsed() >= LIMIT_WARNING_INTERVAL) {
                    tracing::warn!(
                        max_connections,
                        "connection limit reached; new connections wait until one closes"
                    );
                    last_warning = Some(Instant::now());
                }
                match Arc::clone(&slots).acquire_owned().await {
                    Ok(permit) => permit,
                    Err(_) => return,
                }
            }
        };
        let (stream, peer) = loop {
            match listener.accept().await {
                Ok(found) => break found,
                Err(err) => {
                    // Running out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        // A scrape body is a large chunk and a small tail: with Nagle's algorithm the tail
        // would wait for the client's delayed ACK (40 ms on Linux).
        let _ = stream.set_nodelay(true);
        if accepted.send((stream, peer, permit)).await.is_err() {
            return;
        }
    }
}

/// One connection, holding its slot until it ends.
#[allow(clippy::too_many_arguments)] // each is a separate piece of per-connection state
async fn connection<S: Handler>(
    stream: TcpStream,
    peer: SocketAddr,
    _slot: OwnedSemaphorePermit,
    tls: Option<TlsAcceptor>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    service: S,
    watcher: Watcher,
    header_timeout: Duration,
) {
    let deadline = Instant::now() + header_timeout;
    let activity = Activity::new();
    let stream = Watched::new(stream, activity.clone());
    let guards = Guards {
        deadline,
        activity,
        idle_limit: header_timeout,
    };
    match tls {
        None => http(stream, peer, &builder, service, watcher, guards).await,
        Some(acceptor) => match tokio::time::timeout_at(deadline, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => http(stream, peer, &builder, service, watcher, guards).await,
            // Scanners and plain-HTTP clients end here; not worth more than a debug line.
            Ok(Err(err)) => tracing::debug!(%peer, error = %err, "TLS handshake failed"),
            Err(_) => tracing::debug!(%peer, "TLS handshake not completed in time; closing"),
        },
    }
}

/// What cuts a connection short besides hyper's own limits.
struct Guards {
    /// By when the first complete request head must have arrived.
    deadline: Instant,
    /// When bytes last moved, and for how long they may not.
    activity: Activity,
    idle_limit: Duration,
}

/// HTTP over an established (plain or TLS) stream.
async fn http<I, S: Handler>(
    io: I,
    peer: SocketAddr,
    builder: &auto::Builder<TokioExecutor>,
    service: S,
    watcher: Watcher,
    guards: Guards,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let first_request = Arc::new(Notify::new());
    let seen = Arc::clone(&first_request);
    let service = service_fn(move |request| {
        seen.notify_one();
        service.call(request)
    });
    let connection = watcher.watch(
        builder
            .serve_connection(TokioIo::new(io), service)
            .into_owned(),
    );
    tokio::select! {
        result = connection => {
            if let Err(err) = result {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
        }
        () = deadline_until_first_request(&first_request, guards.deadline) => {
            tracing::debug!(%peer, "no complete request head in time; closing the connection");
        }
        () = guards.activity.idle_for(guards.idle_limit) => {
            tracing::debug!(%peer, "nothing sent or received for a while; closing the connection");
        }
    }
}

/// Completes at `deadline` unless a first request arrived before it; then never.
async fn deadline_until_first_request(first_request: &Notify, deadline: Instant) {
    if tokio::time::timeout_at(deadline, first_request.notified())
        .await
        .is_ok()
    {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_missing_ipv6_falls_back_to_ipv4() {
        use std::io::{Error, ErrorKind};
        assert!(no_ipv6(&Error::from_raw_os_error(97))); // EAFNOSUPPORT
        assert!(no_ipv6(&Error::from(ErrorKind::AddrNotAvailable)));
        // A port in use or no permission must not be hidden by listening elsewhere.
        assert!(!no_ipv6(&Error::from(ErrorKind::AddrInUse)));
        assert!(!no_ipv6(&Error::from(ErrorKind::PermissionDenied)));
    }

    #[tokio::test]
    async fn all_interfaces_accepts_ipv4_and_ipv6_on_one_socket() {
        let listener = bind(ListenAddress::AllInterfaces(0)).unwrap();
        let address = listener.local_addr().unwrap();
        let port = address.port();
        if address.is_ipv4() {
            // This host has no IPv6: the fallback is what there is to check.
            assert_eq!(address.ip(), std::net::Ipv4Addr::UNSPECIFIED);
            return;
        }
        for client in [
            SocketAddr::from(([127, 0, 0, 1], port)),
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)),
        ] {
            let connect = tokio::net::TcpStream::connect(client);
            let (connected, accepted) = tokio::join!(connect, listener.accept());
            connected.unwrap();
            accepted.unwrap();
        }
    }
}
