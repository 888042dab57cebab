//! The gateway's own metrics (reference section 5): build info, request counts, push
//! durations and sizes, and `process_*` read from `/proc/self`. They are exposed with the
//! pushed families, and declared to the store so that pushes cannot contradict them.
//!
//! The push summaries keep an exact count and sum; their quantiles (0.1, 0.5, 0.9) are
//! computed by nearest rank over the last [`WINDOW_OBSERVATIONS_MAX`] observations of each
//! method, not over a time window as client_golang's sliding-window estimator does.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use cairn::{MetricFamily, MetricType, OwnFamily, Store};
use cairn_expfmt::{Counter, Label, Metric, Quantile, Summary, Value};

use crate::error::RequestLimit;

/// How many recent observations per method the push summaries' quantiles are taken over.
pub(crate) const WINDOW_OBSERVATIONS_MAX: usize = 1024;

const QUANTILES: [f64; 3] = [0.1, 0.5, 0.9];

const BUILD_INFO: &str = "pushgateway_build_info";
const REQUESTS: &str = "pushgateway_http_requests_total";
const PUSH_DURATION: &str = "pushgateway_http_push_duration_seconds";
const PUSH_SIZE: &str = "pushgateway_http_push_size_bytes";
const WRITE_ERRORS: &str = "pushgateway_persistence_write_errors_total";
const SNAPSHOTS: &str = "pushgateway_persistence_snapshots_total";
const LOG_BYTES: &str = "pushgateway_persistence_log_bytes_total";
const FAILING: &str = "pushgateway_persistence_failing";
const LOG_SYNCS: &str = "pushgateway_persistence_log_syncs_total";
const LIMIT_REJECTIONS: &str = "pushgateway_limit_rejections_total";

/// Every own family: name, type, help (client_golang's wording for `process_*`).
const DECLARED: [(&str, MetricType, &str); 16] = [
    (
        BUILD_INFO,
        MetricType::Gauge,
        "A metric with a constant '1' value labeled by version, revision, branch, goversion from which pushgateway was built, and the goos and goarch for the build.",
    ),
    (
        REQUESTS,
        MetricType::Counter,
        "Total HTTP requests processed by the Pushgateway, excluding scrapes.",
    ),
    (
        PUSH_DURATION,
        MetricType::Summary,
        "HTTP request duration for pushes to the Pushgateway.",
    ),
    (
        PUSH_SIZE,
        MetricType::Summary,
        "HTTP request size for pushes to the Pushgateway.",
    ),
    (
        LIMIT_REJECTIONS,
        MetricType::Counter,
        "Requests refused because they exceeded a limit, by limit: the --push.max-* flag of that name.",
    ),
    (
        WRITE_ERRORS,
        MetricType::Counter,
        "Failed writes, fsyncs and renames of the persistence files since start-up.",
    ),
    (
        SNAPSHOTS,
        MetricType::Counter,
        "Snapshots of the store written since start-up.",
    ),
    (
        LOG_BYTES,
        MetricType::Counter,
        "Bytes appended to the write-ahead log since start-up.",
    ),
    (
        LOG_SYNCS,
        MetricType::Counter,
        "Batches of changes written to the write-ahead log and fsynced since start-up.",
    ),
    (
        FAILING,
        MetricType::Gauge,
        "1 while changes are refused because writing the persistence files fails, else 0.",
    ),
    (
        "process_cpu_seconds_total",
        MetricType::Counter,
        "Total user and system CPU time spent in seconds.",
    ),
    (
        "process_open_fds",
        MetricType::Gauge,
        "Number of open file descriptors.",
    ),
    (
        "process_max_fds",
        MetricType::Gauge,
        "Maximum number of open file descriptors.",
    ),
    (
        "process_resident_memory_bytes",
        MetricType::Gauge,
        "Resident memory size in bytes.",
    ),
    (
        "process_virtual_memory_bytes",
        MetricType::Gauge,
        "Virtual memory size in bytes.",
    ),
    (
        "process_start_time_seconds",
        MetricType::Gauge,
        "Start time of the process since unix epoch in seconds.",
    ),
];

/// The own families to declare to the store.
pub(crate) fn declarations() -> impl Iterator<Item = OwnFamily> {
    DECLARED.iter().map(|&(name, metric_type, help)| OwnFamily {
        name: name.to_owned(),
        metric_type,
        help: help.to_owned(),
    })
}

/// Recent observations of one summary series.
#[derive(Debug, Default)]
struct Window {
    count: u64,
    sum: f64,
    recent: VecDeque<f64>,
}

impl Window {
    fn observe(&mut self, value: f64) {
        self.count += 1;
        self.sum += value;
        if self.recent.len() == WINDOW_OBSERVATIONS_MAX {
            self.recent.pop_front();
        }
        self.recent.push_back(value);
    }

    fn summary(&self) -> Summary {
        let mut sorted: Vec<f64> = self.recent.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let quantiles = QUANTILES
            .iter()
            .map(|&q| Quantile {
                quantile: q,
                value: nearest_rank(&sorted, q),
            })
            .collect();
        Summary {
            sample_count: self.count,
            sample_sum: self.sum,
            quantiles,
            ..Summary::default()
        }
    }
}

/// The `q` quantile of `sorted` by nearest rank; NaN when empty, as client_golang reports.
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[derive(Debug, Default)]
struct Counts {
    /// (code, handler, method) to count.
    requests: BTreeMap<(u16, &'static str, String), u64>,
    /// method to push durations in seconds.
    durations: BTreeMap<&'static str, Window>,
    /// method to approximate request sizes in bytes.
    sizes: BTreeMap<&'static str, Window>,
    /// Refusals by limit, in the order of [`RequestLimit::ALL`].
    limit_rejections: [u64; RequestLimit::ALL.len()],
}

/// The gateway's own counters, shared by all requests.
#[derive(Debug, Default)]
pub(crate) struct OwnMetrics {
    counts: Mutex<Counts>,
}

impl OwnMetrics {
    /// Counts a request answered by `handler` (scrapes and router-level answers are not).
    pub(crate) fn count_request(&self, code: u16, handler: &'static str, method: &str) {
        let method = match method {
            "GET" | "PUT" | "POST" | "DELETE" | "OPTIONS" | "HEAD" | "PATCH" | "CONNECT"
            | "TRACE" => method.to_ascii_lowercase(),
            _ => "unknown".to_owned(),
        };
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts.requests.entry((code, handler, method)).or_default() += 1;
    }

    /// Counts a request refused by `limit`.
    pub(crate) fn count_limit_rejection(&self, limit: RequestLimit) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = RequestLimit::ALL.iter().position(|&l| l == limit) {
            counts.limit_rejections[i] += 1;
        }
    }

    /// Records one push (`method` is `put` or `post`).
    pub(crate) fn observe_push(&self, method: &'static str, duration_secs: f64, size_bytes: f64) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts
            .durations
            .entry(method)
            .or_default()
            .observe(duration_secs);
        counts.sizes.entry(method).or_default().observe(size_bytes);
    }

    /// Every own family with its current samples; vectors without series are left out.
    /// The own families' current values; the persistence ones only if `store` persists.
    pub(crate) fn families(&self, store: &Store) -> Vec<MetricFamily> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = vec![build_info()];
        let requests = counts
            .requests
            .iter()
            .map(|((code, handler, method), &n)| Metric {
                labels: labels(&[
                    ("code", &code.to_string()),
                    ("handler", handler),
                    ("method", method),
                ]),
                value: Value::Counter(Counter {
                    value: n as f64,
                    ..Counter::default()
                }),
                timestamp_ms: None,
            })
            .collect();
        out.push(family(REQUESTS, requests));
        for (name, windows) in [
            (PUSH_DURATION, &counts.durations),
            (PUSH_SIZE, &counts.sizes),
        ] {
            let metrics = windows
                .iter()
                .map(|(method, window)| Metric {
                    labels: labels(&[("method", method)]),
                    value: Value::Summary(Box::new(window.summary())),
                    timestamp_ms: None,
                })
                .collect();
            out.push(family(name, metrics));
        }
        // Every limit from the start, so that a rate or an alert works before the first
        // refusal.
        let rejections = RequestLimit::ALL
            .iter()
            .zip(counts.limit_rejections)
            .map(|(limit, n)| Metric {
                labels: labels(&[("limit", limit.label())]),
                value: Value::Counter(Counter {
                    value: n as f64,
                    ..Counter::default()
                }),
                timestamp_ms: None,
            })
            .collect();
        out.push(family(LIMIT_REJECTIONS, rejections));
        drop(counts);
        if let Some(stats) = store.persist_stats() {
            for (name, value) in [
                (WRITE_ERRORS, stats.write_errors),
                (SNAPSHOTS, stats.snapshots_written),
                (LOG_BYTES, stats.log_bytes_written),
                (LOG_SYNCS, stats.log_syncs),
            ] {
                out.push(counter(name, value as f64));
            }
            out.push(gauge(FAILING, f64::from(u8::from(stats.failing.is_some()))));
        }
        out.extend(process::families());
        out
    }
}

fn labels(pairs: &[(&str, &str)]) -> Vec<Label> {
    pairs
        .iter()
        .map(|&(name, value)| Label {
            name: name.to_owned(),
            value: value.to_owned(),
        })
        .collect()
}

/// The declared family `name` with `metrics`.
fn family(name: &str, metrics: Vec<Metric>) -> MetricFamily {
    let &(_, metric_type, help) = DECLARED
        .iter()
        .find(|d| d.0 == name)
        .expect("own families are declared");
    MetricFamily {
        name: name.to_owned(),
        help: Some(help.to_owned()),
        metric_type,
        unit: None,
        metrics,
    }
}

fn gauge(name: &str, value: f64) -> MetricFamily {
    family(
        name,
        vec![Metric {
            labels: Vec::new(),
            value: Value::Gauge(value),
            timestamp_ms: None,
        }],
    )
}

fn counter(name: &str, value: f64) -> MetricFamily {
    family(
        name,
        vec![Metric {
            labels: Vec::new(),
            value: Value::Counter(Counter {
                value,
                ..Counter::default()
            }),
            timestamp_ms: None,
        }],
    )
}

/// `pushgateway_build_info`, with the values `/api/v1/status` shows; `goversion` holds the
/// Rust compiler's version and `tags` (Go build tags) is empty.
fn build_info() -> MetricFamily {
    let metric = Metric {
        labels: labels(&[
            ("branch", crate::build_info::BRANCH),
            ("goarch", std::env::consts::ARCH),
            ("goos", std::env::consts::OS),
            ("goversion", crate::build_info::RUST_VERSION),
            ("revision", crate::build_info::REVISION),
            ("tags", ""),
            ("version", crate::build_info::VERSION),
        ]),
        value: Value::Gauge(1.0),
        timestamp_ms: None,
    };
    family(BUILD_INFO, vec![metric])
}

/// `process_*` from `/proc` (Linux only; elsewhere, and for anything unreadable, the
/// family is left out).
mod process {
    use super::*;

    /// Clock ticks per second of `/proc/self/stat` times: 100 on every Linux platform
    /// Prometheus supports (`sysconf(_SC_CLK_TCK)` would need unsafe code).
    const TICKS_PER_SEC: f64 = 100.0;

    pub(super) fn families() -> Vec<MetricFamily> {
        let mut out = Vec::new();
        let stat = std::fs::read_to_string("/proc/self/stat").ok();
        // Fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat
            .as_deref()
            .and_then(|s| s.rsplit_once(')'))
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        // `fields[0]` is field 3 (state): utime is field 14, stime 15, starttime 22.
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
        if let (Some(utime), Some(stime)) = (field(14), field(15)) {
            let mut cpu = gauge("process_cpu_seconds_total", 0.0);
            cpu.metrics[0].value = Value::Counter(Counter {
                value: (utime + stime) / TICKS_PER_SEC,
                ..Counter::default()
            });
            out.push(cpu);
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            out.push(gauge("process_open_fds", dir.count() as f64));
        }
        if let Some(max) = max_open_files() {
            out.push(gauge("process_max_fds", max));
        }
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map(|v| v * 1024.0)
        };
        if let Some(rss) = kib("VmRSS:") {
            out.push(gauge("process_resident_memory_bytes", rss));
        }
        if let Some(vsize) = kib("VmSize:") {
            out.push(gauge("process_virtual_memory_bytes", vsize));
        }
        if let (Some(start), Some(boot)) = (field(22), boot_time_secs()) {
            out.push(gauge(
                "process_start_time_seconds",
                boot + start / TICKS_PER_SEC,
            ));
        }
        out
    }

    fn max_open_files() -> Option<f64> {
        let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        let soft = line
            .trim_start_matches("Max open files")
            .split_whitespace()
            .next()?;
        soft.parse().ok()
    }

    fn boot_time_secs() -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        stat.lines()
            .find_map(|l| l.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank_over_the_recent_window() {
        let mut window = Window::default();
        for v in 1..=10 {
            window.observe(f64::from(v));
        }
        let summary = window.summary();
        let values: Vec<f64> = summary.quantiles.iter().map(|q| q.value).collect();
        assert_eq!(values, [1.0, 5.0, 9.0]);
        assert_eq!(summary.sample_count, 10);
        for _ in 0..WINDOW_OBSERVATIONS_MAX {
            window.observe(100.0);
        }
        assert_eq!(window.summary().quantiles[0].value, 100.0);
        assert_eq!(
            window.summary().sample_count,
            10 + WINDOW_OBSERVATIONS_MAX as u64
        );
    }

    #[test]
    fn empty_window_reports_nan_quantiles() {
        assert!(Window::default().summary().quantiles[1].value.is_nan());
    }
}
