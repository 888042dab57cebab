//! Serving a router on TCP listeners: HTTP/1.1, or TLS (with HTTP/2 by ALPN) when the web
//! configuration asks for it, with bounds on what one client can hold.
//!
//! - A client has [`ServeOptions::header_timeout`] to send a request's headers, counted
//!   from the connection's start or from the end of the previous response, so the same
//!   bound closes idle kept-alive connections and slow-header (slowloris) clients.
//! - A TLS handshake has [`ServeOptions::handshake_timeout`]; plain HTTP sent to a TLS port
//!   gets a 400 saying so.
//! - At most [`ServeOptions::max_connections`] connections are open across the server's
//!   listeners; a connection beyond it is closed at once, so that one client opening
//!   thousands cannot exhaust file descriptors or memory.
//! - On shutdown the listeners close, idle connections close, and requests in flight
//!   finish (a push in flight is answered once it is stored).
//!
//! The TLS settings are taken from [`WebConfig`] for each new connection, so a renewed
//! certificate is served as soon as the configuration is reloaded.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;

use crate::web::WebConfig;

/// Bounds on connections. `Default` gives cairn's defaults.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Time a client has to send a request's headers, from the connection's start or the
    /// end of the previous response; also the longest a kept-alive connection stays idle.
    pub header_timeout: Duration,
    /// Time a client has to complete the TLS handshake.
    pub handshake_timeout: Duration,
    /// Most connections open at once across the server's listeners.
    pub max_connections: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_timeout: Self::HEADER_TIMEOUT_DEFAULT,
            handshake_timeout: Self::HANDSHAKE_TIMEOUT_DEFAULT,
            max_connections: Self::MAX_CONNECTIONS_DEFAULT,
        }
    }
}

impl ServeOptions {
    /// Default header (and idle) timeout: 30 s, above Prometheus' default scrape interval
    /// of 15 s so that a scraper's connection is reused.
    pub const HEADER_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);
    /// Default TLS handshake timeout: 10 s.
    pub const HANDSHAKE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);
    /// Default connection cap: 10,000, below common file-descriptor limits (systemd's
    /// default soft limit is 1,024 raised to 524,288 for services; Debian's hard limit is
    /// 1,048,576) and at a few tens of KB each, a few hundred MB at worst.
    pub const MAX_CONNECTIONS_DEFAULT: usize = 10_000;
}

/// Serves one router, with optional TLS, on any number of listeners.
#[derive(Clone, Debug)]
pub struct Server {
    app: Router,
    web: Option<Arc<WebConfig>>,
    options: ServeOptions,
    slots: Arc<Semaphore>,
}

/// A Go server's answer to plain HTTP on a TLS port.
const PLAIN_HTTP_ON_TLS: &[u8] =
    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

/// The first byte of a TLS record carrying a handshake.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

impl Server {
    /// A server for `app`; with `web`, its TLS settings apply to each new connection (the
    /// guard of [`crate::web::guard`] is added to `app` by the caller).
    pub fn new(app: Router, web: Option<Arc<WebConfig>>, options: ServeOptions) -> Server {
        let slots = Arc::new(Semaphore::new(options.max_connections));
        Server {
            app,
            web,
            options,
            slots,
        }
    }

    /// Accepts connections on `listener` until `shutdown` resolves, then stops accepting
    /// and returns once every connection has finished its request in flight.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(err) => {
                        // Out of file descriptors or memory, or the peer gave up already:
                        // wait a little rather than spin.
                        tracing::warn!(%err, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                tracing::debug!(
                    max = self.options.max_connections,
                    "connection closed: too many open connections"
                );
                continue;
            };
            // Replies are written whole; waiting to coalesce them only adds latency.
            let _ = stream.set_nodelay(true);
            let tls = self.web.as_ref().and_then(|web| web.current().tls.clone());
            let app = self.app.clone();
            let options = self.options.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                connection(stream, tls, app, &options, watcher).await;
                drop(slot);
            });
        }
        drop(listener);
        graceful.shutdown().await;
        Ok(())
    }
}

/// Serves one connection to its end.
async fn connection(
    stream: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    options: &ServeOptions,
    watcher: Watcher,
) {
    let Some(config) = tls else {
        return http1(stream, app, options, watcher).await;
    };
    let mut first = [0u8; 1];
    match timeout(options.handshake_timeout, stream.peek(&mut first)).await {
        Ok(Ok(1)) if first[0] != TLS_HANDSHAKE_RECORD => {
            // Read what the client sent first: closing a socket with unread data resets
            // it, and the client would see the reset instead of the answer.
            let mut stream = stream;
            let mut request = [0u8; 16 << 10];
            let _ = timeout(Duration::from_millis(200), stream.read(&mut request)).await;
            let _ = timeout(options.handshake_timeout, async {
                stream.write_all(PLAIN_HTTP_ON_TLS).await?;
                stream.shutdown().await
            })
            .await;
            return;
        }
        Ok(Ok(1)) => {}
        _ => return,
    }
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let stream = match timeout(options.handshake_timeout, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => {
            tracing::debug!(%err, "TLS handshake failed");
            return;
        }
        Err(_) => return,
    };
    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
        let service = TowerToHyperService::new(app);
        let connection = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .serve_connection(TokioIo::new(stream), service);
        let _ = watcher.watch(connection).await;
    } else {
        http1(stream, app, options, watcher).await;
    }
}

/// Serves HTTP/1.1 on `io` to its end.
async fn http1<I>(io: I, app: Router, options: &ServeOptions, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(app);
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .serve_connection(TokioIo::new(io), service);
    if let Err(err) = watcher.watch(connection).await {
        tracing::debug!(%err, "connection ended with an error");
    }
}
