//! The store against a naive model that re-checks the whole store after every change, as
//! the reference does: random pushes, deletes and wipes with colliding names, types and
//! label sets must get the same accept/reject decisions and the same final exposition.

use std::collections::BTreeMap;
use std::time::SystemTime;

use cairn::{
    Consistency, GroupingKey, MetricFamily, PushError, PushMode, ScrapeFormat, Store, StoreConfig,
};
use cairn_expfmt::{
    Bucket, Counter, Histogram, Label, Metric, MetricType, Quantile, Summary, Value,
    write_text_header, write_text_metric,
};
use proptest::prelude::*;

use crate::support::{at, key};

pub(crate) const KEYS: [&str; 5] = [
    "job/a",
    "job/b",
    "job/a/instance/x",
    "job/a/instance@base64/=",
    "job/b/l/1",
];
const NAMES: [&str; 7] = [
    "m",
    "m_count",
    "m_sum",
    "m_bucket",
    "n",
    "n_total",
    "push_time_seconds",
];
const TYPES: [MetricType; 6] = [
    MetricType::Counter,
    MetricType::Gauge,
    MetricType::Untyped,
    MetricType::Summary,
    MetricType::Histogram,
    MetricType::GaugeHistogram,
];

#[derive(Clone, Debug)]
pub(crate) enum Op {
    Push {
        key: usize,
        mode: PushMode,
        families: Vec<MetricFamily>,
        timestamp: bool,
    },
    Delete {
        key: usize,
    },
    Wipe,
}

fn value_for(t: MetricType, v: f64) -> Value {
    match t {
        MetricType::Counter => Value::Counter(Counter {
            value: v,
            ..Counter::default()
        }),
        MetricType::Gauge => Value::Gauge(v),
        MetricType::Untyped => Value::Untyped(v),
        MetricType::Summary => Value::Summary(Box::new(Summary {
            sample_count: 2,
            sample_sum: v,
            quantiles: vec![Quantile {
                quantile: 0.5,
                value: v,
            }],
            created: None,
        })),
        MetricType::Histogram | MetricType::GaugeHistogram => {
            Value::Histogram(Box::new(Histogram {
                sample_count: 2,
                sample_sum: v,
                buckets: vec![Bucket {
                    cumulative_count: 1,
                    upper_bound: 1.0,
                    ..Bucket::default()
                }],
                ..Histogram::default()
            }))
        }
    }
}

fn label_set() -> impl Strategy<Value = Vec<Label>> {
    prop::sample::subsequence(
        vec![
            Label::new("instance", "x"),
            Label::new("l", "1"),
            Label::new("job", "a"),
            Label::new("z", "2"),
        ],
        0..=2,
    )
}

fn family() -> impl Strategy<Value = MetricFamily> {
    (
        prop::sample::select(NAMES.to_vec()),
        prop::sample::select(TYPES.to_vec()),
        prop::option::of(prop::sample::select(vec!["h1", "h2"])),
        prop::collection::vec((label_set(), 0..4u8, prop::bool::weighted(0.05)), 0..3),
    )
        .prop_map(|(name, metric_type, help, series)| MetricFamily {
            name: name.to_owned(),
            help: help.map(str::to_owned),
            metric_type,
            unit: None,
            metrics: series
                .into_iter()
                .map(|(labels, v, wrong_kind)| Metric {
                    labels,
                    value: if wrong_kind {
                        value_for(MetricType::Gauge, f64::from(v))
                    } else {
                        value_for(metric_type, f64::from(v))
                    },
                    timestamp_ms: None,
                })
                .collect(),
        })
}

pub(crate) fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..KEYS.len(), any::<bool>(), prop::collection::vec(family(), 0..3), prop::bool::weighted(0.05))
            .prop_map(|(key, replace, families, timestamp)| Op::Push {
                key,
                mode: if replace { PushMode::Replace } else { PushMode::Merge },
                families,
                timestamp,
            }),
        2 => (0..KEYS.len()).prop_map(|key| Op::Delete { key }),
        1 => Just(Op::Wipe),
    ]
}

/// One stored family in the model: the sanitised family and its push time.
type ModelGroup = BTreeMap<String, MetricFamily>;

/// The naive model: plain maps, and a full re-check of everything after each push.
#[derive(Default, Clone)]
struct Model {
    groups: BTreeMap<GroupingKey, ModelGroup>,
}

fn gauge(name: &str, key: &GroupingKey, value: f64) -> MetricFamily {
    let help = if name == "push_time_seconds" {
        "Last Unix time when changing this group in the Pushgateway succeeded."
    } else {
        "Last Unix time when changing this group in the Pushgateway failed."
    };
    let mut labels = key.labels().to_vec();
    if key.get("instance").is_none() {
        labels.push(Label::new("instance", ""));
    }
    labels.sort();
    MetricFamily {
        name: name.to_owned(),
        help: Some(help.to_owned()),
        metric_type: MetricType::Gauge,
        unit: None,
        metrics: vec![Metric {
            labels,
            value: Value::Gauge(value),
            timestamp_ms: None,
        }],
    }
}

fn sanitize(mut family: MetricFamily, key: &GroupingKey) -> MetricFamily {
    for metric in &mut family.metrics {
        for g in key.labels() {
            match metric.labels.iter_mut().find(|l| l.name == g.name) {
                Some(l) => l.value = g.value.clone(),
                None => metric.labels.push(g.clone()),
            }
        }
        if !metric.labels.iter().any(|l| l.name == "instance") {
            metric.labels.push(Label::new("instance", ""));
        }
        metric.labels.sort_by(|a, b| a.name.cmp(&b.name));
    }
    family
}

fn kind(t: MetricType) -> MetricType {
    if t == MetricType::GaugeHistogram {
        MetricType::Histogram
    } else {
        t
    }
}

fn seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as f64 / 1e9
}

impl Model {
    /// Every family, merged across groups in grouping-key order.
    fn merged(&self) -> BTreeMap<String, Vec<&MetricFamily>> {
        let mut merged: BTreeMap<String, Vec<&MetricFamily>> = BTreeMap::new();
        for group in self.groups.values() {
            for family in group.values() {
                merged.entry(family.name.clone()).or_default().push(family);
            }
        }
        merged
    }

    /// The whole-store check, written the obvious way.
    fn is_consistent(&self) -> bool {
        let merged = self.merged();
        for (name, fams) in &merged {
            if fams
                .iter()
                .any(|f| kind(f.metric_type) != kind(fams[0].metric_type))
            {
                return false;
            }
            let mut seen = Vec::new();
            for family in fams {
                for metric in &family.metrics {
                    let ok_value = matches!(
                        (family.metric_type, &metric.value),
                        (MetricType::Counter, Value::Counter(_))
                            | (MetricType::Gauge, Value::Gauge(_))
                            | (MetricType::Untyped, Value::Untyped(_))
                            | (MetricType::Summary, Value::Summary(_))
                            | (
                                MetricType::Histogram | MetricType::GaugeHistogram,
                                Value::Histogram(_)
                            )
                    );
                    if !ok_value {
                        return false;
                    }
                    if metric.labels.windows(2).any(|w| w[0].name == w[1].name) {
                        return false;
                    }
                    if seen.contains(&&metric.labels) {
                        return false;
                    }
                    seen.push(&metric.labels);
                }
            }
            let t = kind(fams[0].metric_type);
            let claimed: &[&str] = match t {
                MetricType::Summary => &["_count", "_sum"],
                MetricType::Histogram => &["_count", "_sum", "_bucket"],
                _ => &[],
            };
            if claimed
                .iter()
                .any(|s| merged.contains_key(&format!("{name}{s}")))
            {
                return false;
            }
        }
        true
    }

    fn push(
        &mut self,
        key: &GroupingKey,
        mode: PushMode,
        families: &[MetricFamily],
        now: SystemTime,
    ) -> bool {
        let timestamps = families
            .iter()
            .any(|f| f.metrics.iter().any(|m| m.timestamp_ms.is_some()));
        let mut candidate = self.clone();
        let group = candidate.groups.entry(key.clone()).or_default();
        if mode == PushMode::Replace {
            group.retain(|name, _| {
                name == "push_time_seconds" || name == "push_failure_time_seconds"
            });
        }
        for family in families {
            if family.name != "push_time_seconds" && family.name != "push_failure_time_seconds" {
                group.insert(family.name.clone(), sanitize(family.clone(), key));
            }
        }
        group.insert(
            "push_time_seconds".into(),
            gauge("push_time_seconds", key, seconds(now)),
        );
        group
            .entry("push_failure_time_seconds".into())
            .or_insert_with(|| gauge("push_failure_time_seconds", key, 0.0));
        if !timestamps && candidate.is_consistent() {
            *self = candidate;
            return true;
        }
        // The failure path: mark the failure, creating the group unless that alone would
        // make the store inconsistent.
        let mut failed = self.clone();
        let group = failed.groups.entry(key.clone()).or_default();
        group.insert(
            "push_failure_time_seconds".into(),
            gauge("push_failure_time_seconds", key, seconds(now)),
        );
        group
            .entry("push_time_seconds".into())
            .or_insert_with(|| gauge("push_time_seconds", key, 0.0));
        if self.groups.contains_key(key) || failed.is_consistent() {
            *self = failed;
        }
        false
    }

    /// Every series of every group, the timestamp gauges included.
    fn series_count(&self) -> usize {
        self.groups
            .values()
            .flat_map(|group| group.values())
            .map(|family| family.metrics.len())
            .sum()
    }

    fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, fams) in self.merged() {
            let mut metrics: Vec<&Metric> = fams.iter().flat_map(|f| &f.metrics).collect();
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
            write_text_header(
                &mut out,
                &name,
                fams[0].help.as_deref(),
                fams[0].metric_type,
            );
            for metric in metrics {
                write_text_metric(&mut out, &name, fams[0].metric_type, metric);
            }
        }
        out
    }
}

proptest! {
    #[test]
    fn store_agrees_with_naive_model(ops in prop::collection::vec(op(), 1..40)) {
        let store = Store::new(StoreConfig::default());
        let mut model = Model::default();
        let keys: Vec<GroupingKey> = KEYS.iter().map(|k| key(k)).collect();
        for (step, op) in ops.into_iter().enumerate() {
            let now = at(step as u64 + 1);
            match op {
                Op::Push { key, mode, mut families, timestamp } => {
                    if timestamp {
                        if let Some(metric) = families.iter_mut().flat_map(|f| &mut f.metrics).next() {
                            metric.timestamp_ms = Some(1000);
                        }
                    }
                    // Within one push a later family of the same name wins, in both.
                    let mut unique: BTreeMap<String, MetricFamily> = BTreeMap::new();
                    for f in &families {
                        unique.insert(f.name.clone(), f.clone());
                    }
                    let unique: Vec<MetricFamily> = unique.into_values().collect();
                    let expected = model.push(&keys[key], mode, &unique, now);
                    let got = store.push(keys[key].clone(), mode, families, now);
                    prop_assert_eq!(got.is_ok(), expected, "step {}: {:?}", step, got);
                }
                Op::Delete { key } => {
                    let expected = model.groups.remove(&keys[key]).is_some();
                    prop_assert_eq!(store.delete(&keys[key]).unwrap(), expected);
                }
                Op::Wipe => {
                    let expected = model.groups.len();
                    model.groups.clear();
                    prop_assert_eq!(store.wipe().unwrap(), expected);
                }
            }
            let mut got = Vec::new();
            prop_assert!(store.render(ScrapeFormat::Text, &mut got).is_ok());
            let want = model.render();
            prop_assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "step {}", step);
            prop_assert_eq!(store.series_count(), model.series_count(), "step {}", step);
        }
    }

    #[test]
    fn capped_store_never_grows_past_its_cap_and_counts_every_series(
        series_max in 0usize..24,
        unchecked in any::<bool>(),
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let consistency = if unchecked { Consistency::Unchecked } else { Consistency::Checked };
        let store = Store::new(StoreConfig { consistency, series_max, ..StoreConfig::default() });
        let keys: Vec<GroupingKey> = KEYS.iter().map(|k| key(k)).collect();
        for (step, op) in ops.into_iter().enumerate() {
            let before = store.series_count();
            let mut rendered_before = Vec::new();
            let _ = store.render(ScrapeFormat::Text, &mut rendered_before);
            match op {
                Op::Push { key, mode, families, .. } => {
                    let result = store.push(keys[key].clone(), mode, families, at(step as u64 + 1));
                    if let Err(PushError::StoreFull { series_after, series_max: max }) = result {
                        prop_assert_eq!(max, series_max);
                        prop_assert!(series_after > series_max && series_after > before);
                        let mut rendered = Vec::new();
                        let _ = store.render(ScrapeFormat::Text, &mut rendered);
                        prop_assert_eq!(rendered, rendered_before, "step {}: a refused push changed the store", step);
                    }
                }
                Op::Delete { key } => {
                    store.delete(&keys[key]).unwrap();
                }
                Op::Wipe => {
                    store.wipe().unwrap();
                }
            }
            let after = store.series_count();
            prop_assert!(after <= series_max.max(before), "step {}: {} series", step, after);
            let counted: usize = store
                .groups()
                .iter()
                .flat_map(|group| group.families())
                .map(|family| family.series_count())
                .sum();
            prop_assert_eq!(after, counted, "step {}", step);
        }
    }

    #[test]
    fn unchecked_store_renders_like_the_model_when_the_model_is_consistent(
        ops in prop::collection::vec(op(), 1..30)
    ) {
        let store = Store::new(StoreConfig { consistency: Consistency::Unchecked, ..StoreConfig::default() });
        let mut model = Model::default();
        let keys: Vec<GroupingKey> = KEYS.iter().map(|k| key(k)).collect();
        for (step, op) in ops.into_iter().enumerate() {
            let now = at(step as u64 + 1);
            match op {
                Op::Push { key, mode, families, .. } => {
                    let mut unique: BTreeMap<String, MetricFamily> = BTreeMap::new();
                    for f in &families {
                        unique.insert(f.name.clone(), f.clone());
                    }
                    let unique: Vec<MetricFamily> = unique.into_values().collect();
                    // Unchecked: the model applies every push, consistent or not.
                    let group = model.groups.entry(keys[key].clone()).or_default();
                    if mode == PushMode::Replace {
                        group.retain(|n, _| n == "push_time_seconds" || n == "push_failure_time_seconds");
                    }
                    for f in &unique {
                        if f.name != "push_time_seconds" && f.name != "push_failure_time_seconds" {
                            group.insert(f.name.clone(), sanitize(f.clone(), &keys[key]));
                        }
                    }
                    group.insert("push_time_seconds".into(), gauge("push_time_seconds", &keys[key], seconds(now)));
                    group.entry("push_failure_time_seconds".into())
                        .or_insert_with(|| gauge("push_failure_time_seconds", &keys[key], 0.0));
                    prop_assert!(store.push(keys[key].clone(), mode, families, now).is_ok());
                }
                Op::Delete { key } => {
                    model.groups.remove(&keys[key]);
                    store.delete(&keys[key]).unwrap();
                }
                Op::Wipe => {
                    model.groups.clear();
                    store.wipe().unwrap();
                }
            }
            let mut got = Vec::new();
            let result = store.render(ScrapeFormat::Text, &mut got);
            prop_assert_eq!(result.is_ok(), model.is_consistent(), "step {}: {:?}", step, result);
            if result.is_ok() {
                prop_assert_eq!(got, model.render());
            }
        }
    }
}
