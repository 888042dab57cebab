//! Shared set-up for cairn's criterion benchmarks: stores of a chosen size and a naive
//! render of the same data to check the store's scrape against.
//!
//! The benchmarks run on mimalloc, the allocator the `cairn` binary ships with, so that
//! their figures are the product's. With the system allocator, parsing and pushing spend a
//! third or more of their time in glibc's malloc and free; to measure that, run them with
//! `--features system-alloc` (`docs/benchmarks.md` gives both).

use std::time::{Duration, SystemTime};

#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use cairn::{GroupingKey, NameScheme, PushMode, Store, StoreConfig};
use cairn_expfmt::{
    Label, Metric, MetricFamily, MetricType, Value, write_text_header, write_text_metric,
};

/// Families per benchmark group.
pub const FAMILIES_PER_GROUP: usize = 4;

/// The grouping key of benchmark group `i`.
pub fn group_key(i: usize) -> GroupingKey {
    GroupingKey::new(
        [
            ("job".to_owned(), "bench".to_owned()),
            ("instance".to_owned(), format!("host-{i:06}")),
        ],
        NameScheme::Legacy,
    )
    .expect("valid key")
}

/// A push of `series` series spread over [`FAMILIES_PER_GROUP`] gauge families, the values
/// varied by `seed`.
pub fn group_families(series: usize, seed: usize) -> Vec<MetricFamily> {
    (0..FAMILIES_PER_GROUP)
        .map(|f| MetricFamily {
            name: format!("bench_metric_{f}"),
            help: Some(format!("Benchmark family {f}.")),
            metric_type: MetricType::Gauge,
            unit: None,
            metrics: (0..series / FAMILIES_PER_GROUP)
                .map(|s| Metric {
                    labels: vec![
                        Label::new("series", s.to_string()),
                        Label::new("zone", "eu-west-1"),
                    ],
                    value: Value::Gauge((seed * 31 + s) as f64 * 0.25),
                    timestamp_ms: None,
                })
                .collect(),
        })
        .collect()
}

/// Pushes time `n` seconds after a fixed instant.
pub fn at(n: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + n)
}

/// Pushes group `i` with `series` series, as the filled stores hold it.
pub fn push_group(store: &Store, i: usize, series: usize) {
    store
        .push(
            group_key(i),
            PushMode::Replace,
            group_families(series, i),
            at(i as u64),
        )
        .expect("benchmark pushes are consistent");
}

/// A store of `groups` groups of `series` series each.
pub fn filled_store(groups: usize, series: usize) -> Store {
    let store = Store::new(StoreConfig::default());
    for i in 0..groups {
        push_group(&store, i, series);
    }
    store
}

/// The exposition of `store` rendered the obvious way: every group's families merged by
/// name, series sorted, each written with the text encoder.
pub fn naive_render(store: &Store) -> Vec<u8> {
    let mut merged: std::collections::BTreeMap<String, Vec<(MetricFamily, Vec<Metric>)>> =
        std::collections::BTreeMap::new();
    for group in store.groups() {
        for stored in group.families() {
            let family = stored.family();
            merged
                .entry(family.name.clone())
                .or_default()
                .push((family.clone(), family.metrics.clone()));
        }
    }
    let mut out = Vec::new();
    for (name, families) in merged {
        let mut metrics: Vec<&Metric> = families.iter().flat_map(|(_, m)| m).collect();
        if metrics.is_empty() {
            continue;
        }
        metrics.sort_by(|a, b| {
            a.labels
                .len()
                .cmp(&b.labels.len())
                .then_with(|| {
                    a.labels
                        .iter()
                        .map(|l| &l.value)
                        .cmp(b.labels.iter().map(|l| &l.value))
                })
                .then_with(|| {
                    a.labels
                        .iter()
                        .map(|l| &l.name)
                        .cmp(b.labels.iter().map(|l| &l.name))
                })
        });
        let first = &families[0].0;
        write_text_header(&mut out, &name, first.help.as_deref(), first.metric_type);
        for metric in metrics {
            write_text_metric(&mut out, &name, first.metric_type, metric);
        }
    }
    out
}
