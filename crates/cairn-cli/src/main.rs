//! The `cairn` binary: a Prometheus Pushgateway with the reference's flags, serving the
//! `cairn-http` router over a `cairn` store until SIGINT, SIGTERM or `/-/quit`.

#![forbid(unsafe_code)]

mod logging;
mod store_cmd;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use cairn::persist::{OpenError, PersistOptions, RealFs, Unreadable};
use cairn::{Consistency, NameScheme, PushLimits, Store, StoreConfig};
use cairn_http::server::{ServeOptions, Server};
use cairn_http::web::WebConfig;
use cairn_http::{GatewayConfig, QuitSignal, go_duration};
use clap::Parser;
use logging::{LogFormat, LogLevel};
use tokio::net::TcpListener;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The reference Pushgateway's flags, with its defaults.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, about = "A Prometheus Pushgateway")]
struct Flags {
    /// Without a command, `cairn` is the gateway.
    #[command(subcommand)]
    command: Option<Command>,
    /// Addresses to listen on for the web interface, API and telemetry (repeatable;
    /// `:9091` means every interface).
    #[arg(long = "web.listen-address", default_value = ":9091")]
    listen_addresses: Vec<String>,
    /// Use the listening sockets systemd passes (socket activation) instead of
    /// --web.listen-address.
    #[arg(long = "web.systemd-socket", overrides_with = "no_systemd_socket")]
    systemd_socket: bool,
    /// Kingpin's negation of the flag above; the later of the two wins.
    #[arg(long = "no-web.systemd-socket", hide = true)]
    no_systemd_socket: bool,
    /// Directory of web assets to serve instead of the embedded ones (Debian's 1.5.1
    /// package has this flag); accepted and ignored: the page's assets are always the ones
    /// embedded in the binary.
    #[arg(long = "web.local-assets", default_value = "", hide = true)]
    local_assets: String,
    /// Path of the web configuration file (TLS, basic auth, extra headers, rate limit), in
    /// the format Prometheus exporters share; re-read when it or a file it names changes.
    #[arg(long = "web.config.file", default_value = "")]
    web_config_file: String,
    /// Time a client has to send a request's headers; also the longest a kept-alive
    /// connection may stay idle (Go duration).
    #[arg(long = "web.header-timeout", default_value = "30s", value_parser = go_duration::parse)]
    header_timeout: Duration,
    /// Longest time a request body may take to arrive (Go duration); a slower one gets 408.
    #[arg(long = "web.body-timeout", default_value = "2m", value_parser = go_duration::parse)]
    body_timeout: Duration,
    /// Most connections open at once; further ones are closed as soon as they are accepted.
    #[arg(long = "web.max-connections", default_value_t = ServeOptions::MAX_CONNECTIONS_DEFAULT)]
    max_connections: usize,
    /// Path under which the Pushgateway's exposition is served.
    #[arg(long = "web.telemetry-path", default_value = "/metrics")]
    telemetry_path: String,
    /// The URL under which the Pushgateway is reached from outside; its path is the
    /// default route prefix.
    #[arg(long = "web.external-url", default_value = "")]
    external_url: String,
    /// Prefix of the internal routes; defaults to the path of --web.external-url.
    #[arg(long = "web.route-prefix", default_value = "")]
    route_prefix: String,
    /// Enable shutdown via HTTP request (PUT|POST /-/quit).
    #[arg(long = "web.enable-lifecycle", overrides_with = "no_enable_lifecycle")]
    enable_lifecycle: bool,
    /// Kingpin's negation of the flag above; the later of the two wins.
    #[arg(long = "no-web.enable-lifecycle", hide = true)]
    no_enable_lifecycle: bool,
    /// Enable the admin API (PUT /api/v1/admin/wipe).
    #[arg(long = "web.enable-admin-api", overrides_with = "no_enable_admin_api")]
    enable_admin_api: bool,
    /// Kingpin's negation of the flag above; the later of the two wins.
    #[arg(long = "no-web.enable-admin-api", hide = true)]
    no_enable_admin_api: bool,
    /// File to persist metrics in (with a write-ahead log beside it, FILE.wal); empty keeps
    /// them in memory only.
    #[arg(long = "persistence.file", default_value = "")]
    persistence_file: String,
    /// If the persistence file or its log cannot be read, rename them aside
    /// (FILE.unreadable-<unix seconds>) and start empty, instead of refusing to start.
    #[arg(long = "persistence.discard-unreadable")]
    discard_unreadable: bool,
    /// Interval between writes of the persistence file when something changed (Go
    /// duration, e.g. `5m`); sooner when its log outgrows twice the file (and 64 MiB).
    #[arg(long = "persistence.interval", default_value = "5m", value_parser = go_duration::parse)]
    persistence_interval: Duration,
    /// Do not check consistency of pushed metrics. DANGEROUS.
    #[arg(
        long = "push.disable-consistency-check",
        overrides_with = "no_disable_consistency_check"
    )]
    disable_consistency_check: bool,
    /// Kingpin's negation of the flag above; the later of the two wins.
    #[arg(long = "no-push.disable-consistency-check", hide = true)]
    no_disable_consistency_check: bool,
    /// Allow UTF-8 metric and label names in pushes (and `U__` label names in URLs).
    #[arg(
        long = "push.enable-utf8-names",
        overrides_with = "no_enable_utf8_names"
    )]
    enable_utf8_names: bool,
    /// Kingpin's negation of the flag above; the later of the two wins.
    #[arg(long = "no-push.enable-utf8-names", hide = true)]
    no_enable_utf8_names: bool,
    /// Largest accepted push body as received, in bytes (64 MiB); a larger one gets 413.
    #[arg(
        long = "push.max-body-bytes",
        value_name = "BYTES",
        default_value_t = GatewayConfig::BODY_BYTES_MAX_DEFAULT
    )]
    max_body_bytes: usize,
    /// Largest accepted push body after gzip or snappy decompression, in bytes (256 MiB);
    /// a larger one gets 413. Bounds the memory a small compressed body can expand into.
    #[arg(
        long = "push.max-decompressed-bytes",
        value_name = "BYTES",
        default_value_t = GatewayConfig::DECOMPRESSED_BYTES_MAX_DEFAULT
    )]
    max_decompressed_bytes: usize,
    /// Most series one push may hold, over all its families; a summary or histogram series
    /// counts once. More gets 413, and the parser stops at the first series over.
    #[arg(
        long = "push.max-series-per-push",
        value_name = "SERIES",
        default_value_t = PushLimits::SERIES_MAX_DEFAULT
    )]
    max_series_per_push: usize,
    /// Most labels one pushed series may carry, not counting the grouping labels and
    /// `instance` the gateway adds, nor `le` and `quantile`. More gets 413.
    #[arg(
        long = "push.max-labels-per-series",
        value_name = "LABELS",
        default_value_t = PushLimits::LABELS_PER_SERIES_MAX_DEFAULT
    )]
    max_labels_per_series: usize,
    /// Longest metric name in a push, in bytes; a longer one gets 413.
    #[arg(
        long = "push.max-metric-name-bytes",
        value_name = "BYTES",
        default_value_t = PushLimits::METRIC_NAME_BYTES_MAX_DEFAULT
    )]
    max_metric_name_bytes: usize,
    /// Longest label name in a push body, in bytes; a longer one gets 413.
    #[arg(
        long = "push.max-label-name-bytes",
        value_name = "BYTES",
        default_value_t = PushLimits::LABEL_NAME_BYTES_MAX_DEFAULT
    )]
    max_label_name_bytes: usize,
    /// Longest label value in a push body, in bytes (64 KiB); a longer one gets 413.
    #[arg(
        long = "push.max-label-value-bytes",
        value_name = "BYTES",
        default_value_t = PushLimits::LABEL_VALUE_BYTES_MAX_DEFAULT
    )]
    max_label_value_bytes: usize,
    /// Most bytes of grouping labels one push copies into its series (256 MiB): its series
    /// times the bytes of the URL's label names and values; more gets 413.
    #[arg(
        long = "push.max-grouping-bytes",
        value_name = "BYTES",
        default_value_t = PushLimits::GROUPING_BYTES_MAX_DEFAULT
    )]
    max_grouping_bytes: usize,
    /// Most series the store may hold, each group's push_time_seconds and
    /// push_failure_time_seconds included; a push that would take it over gets 413 and
    /// changes nothing. 0: no cap (as the reference).
    #[arg(long = "push.max-series", value_name = "SERIES", default_value_t = 0)]
    max_series: usize,
    /// Only log messages with this severity or above.
    #[arg(long = "log.level", value_enum, default_value = "info")]
    log_level: LogLevel,
    /// Output format of log messages.
    #[arg(long = "log.format", value_enum, default_value = "logfmt")]
    log_format: LogFormat,
}

impl Flags {
    /// The flags by name, as `GET /api/v1/status` shows them.
    fn by_name(&self) -> BTreeMap<String, String> {
        [
            ("web.listen-address", self.listen_addresses.join(",")),
            ("web.systemd-socket", self.systemd_socket.to_string()),
            ("web.config.file", self.web_config_file.clone()),
            (
                "web.header-timeout",
                go_duration::format(self.header_timeout),
            ),
            ("web.body-timeout", go_duration::format(self.body_timeout)),
            ("web.max-connections", self.max_connections.to_string()),
            ("web.telemetry-path", self.telemetry_path.clone()),
            ("web.external-url", self.external_url.clone()),
            ("web.route-prefix", self.route_prefix.clone()),
            ("web.enable-lifecycle", self.enable_lifecycle.to_string()),
            ("web.enable-admin-api", self.enable_admin_api.to_string()),
            ("persistence.file", self.persistence_file.clone()),
            (
                "persistence.discard-unreadable",
                self.discard_unreadable.to_string(),
            ),
            (
                "persistence.interval",
                go_duration::format(self.persistence_interval),
            ),
            (
                "push.disable-consistency-check",
                self.disable_consistency_check.to_string(),
            ),
            ("push.enable-utf8-names", self.enable_utf8_names.to_string()),
            ("push.max-body-bytes", self.max_body_bytes.to_string()),
            (
                "push.max-decompressed-bytes",
                self.max_decompressed_bytes.to_string(),
            ),
            (
                "push.max-series-per-push",
                self.max_series_per_push.to_string(),
            ),
            (
                "push.max-labels-per-series",
                self.max_labels_per_series.to_string(),
            ),
            (
                "push.max-metric-name-bytes",
                self.max_metric_name_bytes.to_string(),
            ),
            (
                "push.max-label-name-bytes",
                self.max_label_name_bytes.to_string(),
            ),
            (
                "push.max-label-value-bytes",
                self.max_label_value_bytes.to_string(),
            ),
            (
                "push.max-grouping-bytes",
                self.max_grouping_bytes.to_string(),
            ),
            ("push.max-series", self.max_series.to_string()),
            ("log.level", self.log_level.as_str().to_owned()),
            ("log.format", self.log_format.as_str().to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The caps on each push.
    fn push_limits(&self) -> PushLimits {
        PushLimits {
            series_max: self.max_series_per_push,
            labels_per_series_max: self.max_labels_per_series,
            metric_name_bytes_max: self.max_metric_name_bytes,
            label_name_bytes_max: self.max_label_name_bytes,
            label_value_bytes_max: self.max_label_value_bytes,
            grouping_bytes_max: self.max_grouping_bytes,
        }
    }

    /// The cap on the store's series; `--push.max-series=0` is none.
    fn series_max(&self) -> usize {
        match self.max_series {
            0 => StoreConfig::SERIES_MAX_NONE,
            max => max,
        }
    }

    /// The route prefix: --web.route-prefix, else the external URL's path.
    fn route_prefix(&self) -> String {
        let prefix = if self.route_prefix.is_empty() {
            url_path(&self.external_url)
        } else {
            &self.route_prefix
        };
        GatewayConfig::normalize_prefix(prefix)
    }
}

/// What `cairn` does besides serving.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Offline tools on a persistence file: verify, inspect, dump.
    #[command(subcommand)]
    Store(store_cmd::StoreCommand),
    /// Reads a password from standard input (one line) and prints its bcrypt hash, for
    /// `basic_auth_users` in the web configuration file.
    HashPassword {
        /// bcrypt cost: each step doubles the time a check takes.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(4..=31))]
        cost: u32,
    },
}

/// The path of a URL such as `http://example.com:9091/gateway`: what follows the authority.
fn url_path(url: &str) -> &str {
    match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => url,
    }
}

/// `:9091` listens on every interface, as Go's `net.Listen` does.
fn bind_address(address: &str) -> String {
    if address.starts_with(':') {
        format!("0.0.0.0{address}")
    } else {
        address.to_owned()
    }
}

fn main() -> ExitCode {
    let mut flags = match Flags::try_parse() {
        Ok(flags) => flags,
        // --help and --version print to stdout and succeed; a usage error exits 1, as the
        // reference's does.
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match flags.command.take() {
        Some(Command::Store(command)) => {
            return match store_cmd::run(command) {
                Ok(code) => code,
                Err(err) => {
                    eprintln!("cairn store: {err:#}");
                    ExitCode::FAILURE
                }
            };
        }
        Some(Command::HashPassword { cost }) => {
            return match hash_password(cost) {
                Ok(hash) => {
                    println!("{hash}");
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    eprintln!("cairn hash-password: {err:#}");
                    ExitCode::FAILURE
                }
            };
        }
        None => {}
    }
    logging::init(flags.log_level, flags.log_format);
    match run(flags) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Straight to stderr, whatever the log format: this is the reason for the exit.
            eprintln!("cairn: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The bcrypt hash of the password on standard input's first line.
fn hash_password(cost: u32) -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        bail!("no password on standard input");
    }
    if password.len() > 72 {
        bail!(
            "bcrypt uses at most 72 bytes of a password; this one has {}",
            password.len()
        );
    }
    Ok(bcrypt::hash(password, cost)?)
}

fn run(flags: Flags) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(flags))
}

async fn serve(flags: Flags) -> Result<()> {
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "starting cairn");
    // Each connection is a file descriptor. Raise the soft limit to the hard one, as Go
    // programs (the reference among them) do at start-up, so that a unit written for the
    // reference allows as many connections with cairn.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if (limit as usize) < flags.max_connections + 64 => tracing::warn!(
            open_files = limit,
            max_connections = flags.max_connections,
            "the open-file limit is below --web.max-connections; connections beyond it fail"
        ),
        Ok(_) => {}
        Err(err) => tracing::warn!(%err, "cannot raise the open-file limit"),
    }
    if !flags.local_assets.is_empty() {
        tracing::warn!(
            dir = %flags.local_assets,
            "--web.local-assets is ignored: the web page's assets are embedded in the binary"
        );
    }
    let web = if flags.web_config_file.is_empty() {
        None
    } else {
        let web = Arc::new(WebConfig::load(&flags.web_config_file)?);
        let settings = web.current();
        tracing::info!(
            file = %flags.web_config_file,
            tls = settings.is_tls(),
            http2 = settings.is_tls() && settings.http2(),
            basic_auth = settings.requires_auth(),
            rate_limit = settings.rate_limit().is_some(),
            "web configuration loaded"
        );
        tokio::spawn(web.clone().watch(Duration::from_secs(1)));
        Some(web)
    };
    let consistency = if flags.disable_consistency_check {
        Consistency::Unchecked
    } else {
        Consistency::Checked
    };
    let name_scheme = if flags.enable_utf8_names {
        NameScheme::Utf8
    } else {
        NameScheme::Legacy
    };
    let store_config = StoreConfig {
        consistency,
        name_scheme,
        push_limits: flags.push_limits(),
        series_max: flags.series_max(),
    };
    let store = Arc::new(open_store(&flags, store_config)?);
    let persister = store.is_persistent().then(|| {
        tokio::spawn(persist_loop(
            store.clone(),
            flags.persistence_interval,
            flags.persistence_file.clone().into(),
        ))
    });
    let quit = QuitSignal::default();
    let config = GatewayConfig {
        route_prefix: flags.route_prefix(),
        telemetry_path: flags.telemetry_path.clone(),
        enable_admin_api: flags.enable_admin_api,
        enable_lifecycle: flags.enable_lifecycle,
        name_scheme,
        consistency,
        body_bytes_max: flags.max_body_bytes,
        decompressed_bytes_max: flags.max_decompressed_bytes,
        body_timeout: flags.body_timeout,
        flags: flags.by_name(),
        start_time: SystemTime::now(),
        quit: quit.clone(),
    };
    let mut app = cairn_http::router(store.clone(), config);
    if let Some(web) = &web {
        app = cairn_http::web::guard(app, web.clone());
    }
    let server = Server::new(
        app,
        web,
        ServeOptions {
            header_timeout: flags.header_timeout,
            max_connections: flags.max_connections,
            ..ServeOptions::default()
        },
    );

    let mut listeners = Vec::new();
    if flags.systemd_socket {
        let mut passed = listenfd::ListenFd::from_env();
        for index in 0..passed.len() {
            let Some(listener) = passed
                .take_tcp_listener(index)
                .with_context(|| format!("taking socket {index} from systemd"))?
            else {
                continue;
            };
            listener
                .set_nonblocking(true)
                .context("preparing the socket from systemd")?;
            let listener =
                TcpListener::from_std(listener).context("using the socket from systemd")?;
            tracing::info!(address = %listener.local_addr()?, "Listening on (systemd socket)");
            listeners.push(listener);
        }
        if listeners.is_empty() {
            bail!("--web.systemd-socket given, but systemd passed no TCP socket (LISTEN_FDS)");
        }
    }
    for address in flags
        .listen_addresses
        .iter()
        .filter(|_| !flags.systemd_socket)
    {
        let bind = bind_address(address);
        let listener = TcpListener::bind(&bind)
            .await
            .with_context(|| format!("listening on {address}"))?;
        tracing::info!(address = %address, "Listening on");
        listeners.push(listener);
    }
    if listeners.is_empty() {
        bail!("no --web.listen-address given");
    }

    let mut servers = tokio::task::JoinSet::new();
    for listener in listeners {
        let server = server.clone();
        let quit = quit.clone();
        servers.spawn(async move { server.serve(listener, quit.fired()).await });
    }
    tokio::select! {
        () = shutdown_signal() => {
            tracing::info!("received a termination signal, exiting gracefully");
            quit.fire();
        }
        () = quit.fired() => {}
    }
    while let Some(result) = servers.join_next().await {
        result
            .context("server task failed")?
            .context("serving HTTP")?;
    }
    if let Some(persister) = persister {
        persister.abort();
        // Every acknowledged change is in the log already; the final snapshot only makes
        // the next start-up quicker.
        let closing = store.clone();
        match tokio::task::spawn_blocking(move || closing.snapshot()).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                tracing::error!(err = %err, "problem shutting down metric storage")
            }
            Err(err) => tracing::error!(err = %err, "problem shutting down metric storage"),
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// The store: in memory, or opened from --persistence.file.
fn open_store(flags: &Flags, config: StoreConfig) -> Result<Store> {
    if flags.persistence_file.is_empty() {
        return Ok(Store::new(config));
    }
    let options = PersistOptions {
        path: flags.persistence_file.clone().into(),
        fs: Arc::new(RealFs),
        unreadable: if flags.discard_unreadable {
            Unreadable::SetAsideAndStartEmpty
        } else {
            Unreadable::Refuse
        },
    };
    let started = Instant::now();
    let (store, report) = Store::open(config, options).map_err(|err| match err {
        OpenError::Unreadable { .. } => anyhow::anyhow!(
            "{err}. To start anyway, move it away, or start once with \
             --persistence.discard-unreadable (it is then renamed aside, not deleted)"
        ),
        other => anyhow::Error::new(other).context("opening the persistence file"),
    })?;
    for (aside, reason) in &report.set_aside {
        tracing::warn!(file = %aside.display(), reason = %reason, "unreadable file set aside; starting empty");
    }
    if let Some(original) = &report.imported_reference {
        tracing::info!(
            original = %original.display(),
            groups = report.snapshot_groups,
            "imported the reference Pushgateway's persistence file; the original is kept"
        );
    }
    tracing::info!(
        file = %flags.persistence_file,
        groups = store.group_count(),
        series = store.series_count(),
        replayed_changes = report.replayed_changes,
        truncated_bytes = report.truncated_bytes,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "loaded persisted metrics"
    );
    Ok(store)
}

/// Writes a snapshot every `interval` when something changed (the log already holds every
/// change), and sooner when the log has grown past [`log_bytes_max`]; after a failure,
/// retries every second.
async fn persist_loop(store: Arc<Store>, interval: Duration, snapshot_file: PathBuf) {
    let interval = interval.max(Duration::from_millis(100));
    let tick = interval.min(Duration::from_secs(1));
    // The snapshot start-up loaded, until this process writes one.
    let mut snapshot_bytes = std::fs::metadata(&snapshot_file).map_or(0, |m| m.len());
    let mut last = Instant::now();
    let mut failing = false;
    loop {
        tokio::time::sleep(tick).await;
        let log_bytes = store.persist_stats().map_or(0, |stats| stats.log_bytes);
        let early = log_bytes >= log_bytes_max(snapshot_bytes);
        if !(failing || early || last.elapsed() >= interval) {
            continue;
        }
        last = Instant::now();
        failing = match background_snapshot(store.clone()).await {
            Ok(Some(info)) => {
                tracing::info!(
                    file_bytes = info.bytes,
                    groups = info.groups,
                    elapsed_ms = last.elapsed().as_millis() as u64,
                    early_for_log_bytes = early.then_some(log_bytes),
                    "metrics persisted"
                );
                snapshot_bytes = info.bytes;
                false
            }
            Ok(None) => false,
            Err(err) => {
                tracing::error!(err = %err, "error persisting metrics");
                true
            }
        };
    }
}

/// How large the log may grow after a snapshot of `snapshot_bytes` before the next
/// snapshot is written without waiting for `--persistence.interval`: twice the snapshot,
/// and at least 64 MiB. A start-up after a crash replays the log at about the rate pushes
/// are taken, so a log that grew for a whole interval of heavy pushing (gigabytes in five
/// minutes) would take minutes to replay; bounded like this it takes about as long as
/// loading the snapshot twice, and the snapshots it costs are at most half the bytes the
/// log takes.
fn log_bytes_max(snapshot_bytes: u64) -> u64 {
    snapshot_bytes.saturating_mul(2).max(64 << 20)
}

/// [`Store::snapshot`] on a thread of its own, at a lower CPU priority than the threads
/// answering requests: encoding a large store takes a core for a while, and pushes and
/// scrapes should not wait behind it.
async fn background_snapshot(store: Arc<Store>) -> Result<Option<cairn::SnapshotInfo>, String> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("cairn-snapshot".to_owned())
        .spawn(move || {
            lower_this_threads_priority();
            let _ = done.send(store.snapshot().map_err(|e| e.to_string()));
        })
        .map_err(|e| format!("starting the snapshot thread: {e}"))?;
    result
        .await
        .map_err(|_| "the snapshot thread stopped".to_owned())?
}

/// Raises the calling thread's nice value to 10 (on Linux a thread has its own). Failing
/// to is harmless: the snapshot then runs at the same priority as everything else.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    if let Err(err) =
        rustix::process::setpriority_process(Some(rustix::thread::gettid()), SNAPSHOT_NICE)
    {
        tracing::debug!(%err, "cannot lower the snapshot thread's priority");
    }
}

/// The snapshot thread's nice value.
#[cfg(target_os = "linux")]
const SNAPSHOT_NICE: i32 = 10;

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_may_grow_to_twice_the_snapshot_and_at_least_64_mib() {
        assert_eq!(log_bytes_max(0), 64 << 20);
        assert_eq!(log_bytes_max(32 << 20), 64 << 20);
        assert_eq!(log_bytes_max(60_000_000), 120_000_000);
        assert_eq!(log_bytes_max(u64::MAX), u64::MAX);
    }

    #[test]
    fn defaults_match_the_reference() {
        let flags = Flags::try_parse_from(["cairn"]).unwrap();
        assert_eq!(flags.listen_addresses, [":9091"]);
        assert_eq!(flags.telemetry_path, "/metrics");
        assert_eq!(flags.persistence_interval, Duration::from_secs(300));
        let by_name = flags.by_name();
        assert_eq!(by_name["persistence.interval"], "5m0s");
        assert_eq!(by_name["web.enable-lifecycle"], "false");
        assert_eq!(flags.max_body_bytes, 64 << 20);
        assert_eq!(flags.max_decompressed_bytes, 256 << 20);
        assert_eq!(by_name["push.max-body-bytes"], "67108864");
        assert_eq!(by_name["log.level"], "info");
        assert_eq!(by_name["log.format"], "logfmt");
    }

    #[test]
    fn body_caps_and_log_flags_are_read() {
        let flags = Flags::try_parse_from([
            "cairn",
            "--push.max-body-bytes=1024",
            "--push.max-decompressed-bytes",
            "4096",
            "--log.level=debug",
            "--log.format=json",
        ])
        .unwrap();
        assert_eq!(flags.max_body_bytes, 1024);
        assert_eq!(flags.max_decompressed_bytes, 4096);
        assert_eq!(flags.log_level, LogLevel::Debug);
        assert_eq!(flags.log_format, LogFormat::Json);
    }

    #[test]
    fn limit_flags_have_their_defaults_and_are_read() {
        let flags = Flags::try_parse_from(["cairn"]).unwrap();
        assert_eq!(flags.push_limits(), PushLimits::default());
        assert_eq!(flags.push_limits().series_max, 1_048_576);
        assert_eq!(flags.push_limits().labels_per_series_max, 128);
        assert_eq!(flags.push_limits().metric_name_bytes_max, 1024);
        assert_eq!(flags.push_limits().label_name_bytes_max, 1024);
        assert_eq!(flags.push_limits().label_value_bytes_max, 65_536);
        assert_eq!(flags.series_max(), StoreConfig::SERIES_MAX_NONE);
        assert_eq!(flags.by_name()["push.max-series"], "0");
        assert_eq!(flags.by_name()["push.max-labels-per-series"], "128");

        let flags = Flags::try_parse_from([
            "cairn",
            "--push.max-series-per-push=10",
            "--push.max-labels-per-series=11",
            "--push.max-metric-name-bytes=12",
            "--push.max-label-name-bytes=13",
            "--push.max-label-value-bytes",
            "14",
            "--push.max-series=15",
            "--push.max-grouping-bytes=16",
        ])
        .unwrap();
        assert_eq!(
            flags.push_limits(),
            PushLimits {
                series_max: 10,
                labels_per_series_max: 11,
                metric_name_bytes_max: 12,
                label_name_bytes_max: 13,
                label_value_bytes_max: 14,
                grouping_bytes_max: 16,
            }
        );
        assert_eq!(flags.series_max(), 15);
        assert_eq!(flags.by_name()["push.max-label-value-bytes"], "14");
    }

    #[test]
    fn invalid_flag_values_are_rejected_with_the_allowed_ones() {
        for (args, needle) in [
            (["cairn", "--log.level=verbose"], "debug, info, warn, error"),
            (["cairn", "--log.format=text"], "logfmt, json"),
            (
                ["cairn", "--push.max-body-bytes=64MiB"],
                "--push.max-body-bytes",
            ),
            (["cairn", "--push.max-series=-1"], "--push.max-series"),
            (
                ["cairn", "--push.max-labels-per-series=many"],
                "--push.max-labels-per-series",
            ),
        ] {
            let err = Flags::try_parse_from(args).unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    clap::error::ErrorKind::InvalidValue | clap::error::ErrorKind::ValueValidation
                ),
                "{err}"
            );
            assert!(err.to_string().contains(needle), "{err}");
            assert_ne!(err.exit_code(), 0);
        }
    }

    #[test]
    fn help_states_the_body_cap_defaults() {
        let help = <Flags as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        assert!(help.contains("[default: 67108864]"), "{help}");
        assert!(help.contains("[default: 268435456]"), "{help}");
        for (flag, default) in [
            ("--push.max-series-per-push", "1048576"),
            ("--push.max-labels-per-series", "128"),
            ("--push.max-metric-name-bytes", "1024"),
            ("--push.max-label-name-bytes", "1024"),
            ("--push.max-label-value-bytes", "65536"),
            ("--push.max-grouping-bytes", "268435456"),
            ("--push.max-series", "0"),
        ] {
            let section = help
                .split(&format!("{flag} <"))
                .nth(1)
                .unwrap_or_else(|| panic!("{flag}"));
            let next_flag = section.find("\n  -").unwrap_or(section.len());
            assert!(
                section[..next_flag].contains(&format!("[default: {default}]")),
                "{flag}: {section}"
            );
        }
        assert!(help.contains("[default: info]"), "{help}");
        assert!(help.contains("[default: logfmt]"), "{help}");
    }

    #[test]
    fn listen_address_repeats_and_route_prefix_comes_from_external_url() {
        let flags = Flags::try_parse_from([
            "cairn",
            "--web.listen-address=127.0.0.1:1",
            "--web.listen-address=127.0.0.1:2",
            "--web.external-url=http://example.com:9091/gateway/",
        ])
        .unwrap();
        assert_eq!(
            flags.by_name()["web.listen-address"],
            "127.0.0.1:1,127.0.0.1:2"
        );
        assert_eq!(flags.route_prefix(), "/gateway");
        assert_eq!(bind_address(":9091"), "0.0.0.0:9091");
    }

    #[test]
    fn boolean_flags_take_the_kingpin_negation_and_the_later_one_wins() {
        let flags = Flags::try_parse_from([
            "cairn",
            "--web.enable-lifecycle",
            "--no-web.enable-lifecycle",
            "--no-web.enable-admin-api",
            "--web.enable-admin-api",
        ])
        .unwrap();
        assert!(!flags.enable_lifecycle);
        assert!(flags.enable_admin_api);
    }
}
