//! What the gateway's routes are configured with, and the `/-/quit` signal.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use cairn::{Consistency, NameScheme};
use tokio::sync::watch;

use crate::body::BodyLimits;

/// How the HTTP gateway behaves. `Default` gives the reference's defaults.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// Prefix of every route, normalised: empty, or starting with `/` and not ending in
    /// one (`--web.route-prefix`).
    pub route_prefix: String,
    /// Path of the scrape endpoint under the prefix (`--web.telemetry-path`, `/metrics`).
    pub telemetry_path: String,
    /// Whether `PUT /api/v1/admin/wipe` exists (`--web.enable-admin-api`).
    pub enable_admin_api: bool,
    /// Whether `PUT|POST /-/quit` shuts the server down (`--web.enable-lifecycle`).
    pub enable_lifecycle: bool,
    /// Which names are valid in push URLs and bodies (`--push.enable-utf8-names`).
    pub name_scheme: NameScheme,
    /// Whether pushes are checked; unchecked pushes answer 202 instead of 200
    /// (`--push.disable-consistency-check`).
    pub consistency: Consistency,
    /// Largest accepted request body as received, in bytes (`--push.max-body-bytes`,
    /// [`GatewayConfig::BODY_BYTES_MAX_DEFAULT`]). A larger body gets 413.
    pub body_bytes_max: usize,
    /// Largest accepted request body after gzip or snappy decompression, in bytes
    /// (`--push.max-decompressed-bytes`, [`GatewayConfig::DECOMPRESSED_BYTES_MAX_DEFAULT`]).
    /// Decompression stops one byte past it, so a small compressed body cannot expand
    /// without bound; such a body gets 413.
    pub decompressed_bytes_max: usize,
    /// Longest time a request body may take to arrive (`--web.body-timeout`,
    /// [`GatewayConfig::BODY_TIMEOUT_DEFAULT`]); a slower one gets 408.
    pub body_timeout: std::time::Duration,
    /// The flags shown by `GET /api/v1/status`, by name without `--`.
    pub flags: BTreeMap<String, String>,
    /// When the server started, shown by `GET /api/v1/status`.
    pub start_time: SystemTime,
    /// Fired by `/-/quit` when the lifecycle API is enabled.
    pub quit: QuitSignal,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            route_prefix: String::new(),
            telemetry_path: "/metrics".to_owned(),
            enable_admin_api: false,
            enable_lifecycle: false,
            name_scheme: NameScheme::Legacy,
            consistency: Consistency::Checked,
            body_bytes_max: Self::BODY_BYTES_MAX_DEFAULT,
            decompressed_bytes_max: Self::DECOMPRESSED_BYTES_MAX_DEFAULT,
            body_timeout: Self::BODY_TIMEOUT_DEFAULT,
            flags: BTreeMap::new(),
            start_time: SystemTime::now(),
            quit: QuitSignal::default(),
        }
    }
}

impl GatewayConfig {
    /// Default cap on a request body as received: 64 MiB.
    pub const BODY_BYTES_MAX_DEFAULT: usize = 64 << 20;

    /// Default cap on a request body after decompression: 256 MiB, four times the raw
    /// cap. The whole decompressed body is held in memory and then parsed, so this bounds
    /// what one compressed push can cost (a gzip bomb expands a thousandfold); it is still
    /// far above real pushes, which are rarely more than tens of MB uncompressed.
    pub const DECOMPRESSED_BYTES_MAX_DEFAULT: usize = 256 << 20;

    /// Default time for a request body to arrive: 2 minutes, enough for a 64 MiB body at
    /// 4 Mbit/s, short enough that a client trickling bytes cannot hold a connection long.
    pub const BODY_TIMEOUT_DEFAULT: std::time::Duration = std::time::Duration::from_secs(120);

    /// Normalises a route prefix as the reference does: `/` becomes empty; otherwise a
    /// leading `/` is added and one trailing `/` removed.
    pub fn normalize_prefix(prefix: &str) -> String {
        if prefix.is_empty() || prefix == "/" {
            return String::new();
        }
        let mut p = if prefix.starts_with('/') {
            prefix.to_owned()
        } else {
            format!("/{prefix}")
        };
        if p.ends_with('/') {
            p.pop();
        }
        p
    }

    /// The caps on request bodies.
    pub(crate) fn body_limits(&self) -> BodyLimits {
        BodyLimits {
            body_bytes_max: self.body_bytes_max,
            decompressed_bytes_max: self.decompressed_bytes_max,
            body_timeout: self.body_timeout,
        }
    }

    /// The full scrape path: prefix and telemetry path joined and cleaned.
    pub(crate) fn scrape_path(&self) -> String {
        let joined = format!("{}/{}", self.route_prefix, self.telemetry_path);
        let mut out = String::new();
        for part in joined.split('/').filter(|p| !p.is_empty() && *p != ".") {
            out.push('/');
            out.push_str(part);
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }
}

/// The shutdown request of `/-/quit`: the gateway fires it, the server awaits it.
#[derive(Clone, Debug)]
pub struct QuitSignal {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for QuitSignal {
    fn default() -> Self {
        QuitSignal {
            tx: Arc::new(watch::channel(false).0),
        }
    }
}

impl QuitSignal {
    /// Requests shutdown; every waiter wakes.
    pub fn fire(&self) {
        self.tx.send_replace(true);
    }

    /// Whether shutdown was requested.
    pub fn is_fired(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once shutdown is requested (at once if it already was).
    pub async fn fired(&self) {
        let mut rx = self.tx.subscribe();
        // The sender lives in `self`, so `wait_for` only ends when the value turns true.
        let _ = rx.wait_for(|fired| *fired).await;
    }
}
