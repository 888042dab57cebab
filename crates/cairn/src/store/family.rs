//! A stored metric family: sanitised, checked on its own, and rendered once at push time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering as AtomicOrdering};
use std::time::SystemTime;

use cairn_expfmt::{
    Label, Metric, MetricFamily, MetricType, NameScheme, ProtoLimits, Value, decode_delimited,
    encode_delimited, write_text_metric,
};

use super::check::Inconsistency;
use crate::GroupingKey;

/// Family name of the gauge holding each group's last successful push time.
pub const PUSH_TIME_FAMILY: &str = "push_time_seconds";
/// Family name of the gauge holding each group's last failed push time.
pub const PUSH_FAILURE_TIME_FAMILY: &str = "push_failure_time_seconds";

const PUSH_TIME_HELP: &str =
    "Last Unix time when changing this group in the Pushgateway succeeded.";
const PUSH_FAILURE_TIME_HELP: &str =
    "Last Unix time when changing this group in the Pushgateway failed.";

/// One family as a group holds it: the sanitised family (grouping labels applied, labels
/// sorted by name), when it was pushed, and its series pre-rendered as text 0.0.4.
///
/// The family itself is kept compact, as one protobuf message (a handful of allocations
/// instead of several per series), and decoded when a reader needs the full model: the
/// JSON API, protobuf and OpenMetrics scrapes. The text scrape needs only the text lines.
#[derive(Debug)]
pub struct StoredFamily {
    owner: Arc<GroupingKey>,
    name: String,
    help: Option<String>,
    metric_type: MetricType,
    /// The first series' gauge value, which is how the timestamp gauges are read back.
    gauge_value: Option<f64>,
    pushed_at: SystemTime,
    /// One allocation for everything the family holds per series: every metric's text
    /// lines, then every metric's series key (see [`write_series_key`]; it identifies the
    /// metric within the family and orders it for the scrape), then the sanitised family
    /// as one length-delimited protobuf `MetricFamily` message.
    bytes: Box<[u8]>,
    /// Offsets into `bytes`: metric `i`'s text is `ends[i]..ends[i + 1]`, its key
    /// `ends[n + i]..ends[n + i + 1]` for `n` metrics, and the message starts at `ends[2n]`.
    ends: Box<[u32]>,
    /// `slots[i]` is metric `i`'s slot in the family name's index, set under the store's
    /// write lock when the family is indexed ([`NO_SLOT`] before). A re-push of the same
    /// label sets finds its slots here instead of in the index's hash map.
    slots: Box<[AtomicU32]>,
    /// A rule this family breaks on its own (found in unchecked mode, stored anyway).
    problem: Option<Inconsistency>,
}

impl StoredFamily {
    /// Sanitises `family` for group `owner` and renders it. Every grouping label is forced
    /// onto every metric (overwriting a pushed label of that name), `instance=""` is added
    /// where there is no instance, and labels are sorted by name.
    pub(crate) fn new(
        owner: Arc<GroupingKey>,
        mut family: MetricFamily,
        pushed_at: SystemTime,
        scheme: NameScheme,
    ) -> StoredFamily {
        for metric in &mut family.metrics {
            sanitize_labels(&mut metric.labels, &owner);
        }
        let n = family.metrics.len();
        let mut bytes = Vec::with_capacity(n * 160);
        let mut ends = Vec::with_capacity(2 * n + 1);
        let offset = |bytes: &Vec<u8>| u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        ends.push(0);
        for metric in &family.metrics {
            write_text_metric(&mut bytes, &family.name, family.metric_type, metric);
            ends.push(offset(&bytes));
        }
        for metric in &family.metrics {
            write_series_key(&mut bytes, &metric.labels);
            ends.push(offset(&bytes));
        }
        let key = |i: usize| &bytes[ends[n + i] as usize..ends[n + i + 1] as usize];
        let problem = local_problem(&family, scheme).or_else(|| duplicate_series(&family, key));
        encode_delimited(&mut bytes, &family);
        let slots = family
            .metrics
            .iter()
            .map(|_| AtomicU32::new(NO_SLOT))
            .collect();
        let gauge_value = match family.metrics.first().map(|m| &m.value) {
            Some(Value::Gauge(v)) => Some(*v),
            _ => None,
        };
        let MetricFamily {
            name,
            help,
            metric_type,
            ..
        } = family;
        StoredFamily {
            owner,
            name,
            help,
            metric_type,
            gauge_value,
            pushed_at,
            bytes: bytes.into_boxed_slice(),
            ends: ends.into_boxed_slice(),
            slots,
            problem,
        }
    }

    /// The `push_time_seconds` or `push_failure_time_seconds` gauge of group `owner`.
    pub(crate) fn timestamp_gauge(
        owner: Arc<GroupingKey>,
        name: &'static str,
        value: SystemTime,
        pushed_at: SystemTime,
    ) -> StoredFamily {
        let help = if name == PUSH_TIME_FAMILY {
            PUSH_TIME_HELP
        } else {
            PUSH_FAILURE_TIME_HELP
        };
        let family = MetricFamily {
            name: name.to_owned(),
            help: Some(help.to_owned()),
            metric_type: MetricType::Gauge,
            unit: None,
            metrics: vec![Metric {
                labels: Vec::new(),
                value: Value::Gauge(unix_seconds(value)),
                timestamp_ms: None,
            }],
        };
        StoredFamily::new(owner, family, pushed_at, NameScheme::Utf8)
    }

    /// The sanitised family as one length-delimited protobuf message.
    pub(crate) fn message(&self) -> &[u8] {
        &self.bytes[self.ends[2 * self.series_count()] as usize..]
    }

    /// The group this family belongs to.
    pub fn owner(&self) -> &GroupingKey {
        &self.owner
    }

    pub(crate) fn owner_arc(&self) -> &Arc<GroupingKey> {
        &self.owner
    }

    /// The family as sanitised at push time, decoded from its compact form.
    pub fn family(&self) -> MetricFamily {
        // The bytes were written by the encoder from a valid model, which the decoder reads
        // back unchanged (a property the codec's tests check); the fallback keeps a broken
        // invariant from taking the process down.
        decode_delimited(
            &self.bytes[self.ends[2 * self.series_count()] as usize..],
            &ProtoLimits::default(),
        )
        .ok()
        .and_then(|families| families.into_iter().next())
        .unwrap_or_else(|| MetricFamily {
            name: self.name.clone(),
            help: self.help.clone(),
            metric_type: self.metric_type,
            unit: None,
            metrics: Vec::new(),
        })
    }

    /// The family name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The help, if the push gave one.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// The declared type.
    pub fn metric_type(&self) -> MetricType {
        self.metric_type
    }

    /// Number of series.
    pub fn series_count(&self) -> usize {
        self.ends.len() / 2
    }

    /// When the push that stored this family happened.
    pub fn pushed_at(&self) -> SystemTime {
        self.pushed_at
    }

    /// The first metric's gauge value (how the timestamp gauges are read back).
    pub(crate) fn gauge_value(&self) -> Option<f64> {
        self.gauge_value
    }

    pub(crate) fn metric_text(&self, index: usize) -> &[u8] {
        &self.bytes[self.ends[index] as usize..self.ends[index + 1] as usize]
    }

    /// Metric `index`'s series key.
    pub(crate) fn key(&self, index: usize) -> &[u8] {
        let at = self.series_count() + index;
        &self.bytes[self.ends[at] as usize..self.ends[at + 1] as usize]
    }

    /// Metric `index`'s slot in the index, if it is indexed.
    pub(crate) fn slot(&self, index: usize) -> Option<u32> {
        // Written and read under the store's lock, which orders the accesses.
        Some(self.slots[index].load(AtomicOrdering::Relaxed)).filter(|&s| s != NO_SLOT)
    }

    pub(crate) fn set_slot(&self, index: usize, slot: u32) {
        self.slots[index].store(slot, AtomicOrdering::Relaxed);
    }

    pub(crate) fn problem(&self) -> Option<&Inconsistency> {
        self.problem.as_ref()
    }
}

/// Seconds since the Unix epoch as the reference computes them (`UnixNano / 1e9`).
pub(crate) fn unix_seconds(t: SystemTime) -> f64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as f64 / 1e9,
        Err(e) => -(e.duration().as_nanos() as f64) / 1e9,
    }
}

fn sanitize_labels(labels: &mut Vec<Label>, key: &GroupingKey) {
    for grouping in key.labels() {
        match labels.iter_mut().find(|l| l.name == grouping.name) {
            Some(existing) => existing.value.clone_from(&grouping.value),
            None => labels.push(grouping.clone()),
        }
    }
    if !labels.iter().any(|l| l.name == "instance") {
        labels.push(Label::new("instance", ""));
    }
    labels.sort_by(|a, b| a.name.cmp(&b.name));
}

/// The rules one family must keep whatever else is stored: label names valid and not
/// reserved, no label twice, no `quantile` label on a summary, values matching the
/// declared type, no series twice.
fn local_problem(family: &MetricFamily, scheme: NameScheme) -> Option<Inconsistency> {
    for metric in &family.metrics {
        let bad = |problem: fn(String, String, Vec<Label>) -> Inconsistency, label: &str| {
            Some(problem(
                family.name.clone(),
                label.to_owned(),
                metric.labels.clone(),
            ))
        };
        for (i, label) in metric.labels.iter().enumerate() {
            if !scheme.is_valid_label_name(&label.name) || label.name.starts_with("__") {
                return bad(
                    |name, label, labels| Inconsistency::InvalidLabelName {
                        name,
                        label,
                        labels,
                    },
                    &label.name,
                );
            }
            if i > 0 && metric.labels[i - 1].name == label.name {
                return bad(
                    |name, label, labels| Inconsistency::DuplicateLabelName {
                        name,
                        label,
                        labels,
                    },
                    &label.name,
                );
            }
            if label.name == "quantile" && matches!(metric.value, Value::Summary(_)) {
                return Some(Inconsistency::QuantileLabel {
                    name: family.name.clone(),
                    labels: metric.labels.clone(),
                });
            }
        }
        let matches_type = matches!(
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
        if !matches_type {
            return Some(Inconsistency::ValueNotOfType {
                name: family.name.clone(),
                labels: metric.labels.clone(),
                expected: family.metric_type,
            });
        }
    }
    None
}

/// The first series of `family` whose label set an earlier one has too; `key(i)` is metric
/// `i`'s series key, which orders label sets in exposition order.
fn duplicate_series<'a>(
    family: &MetricFamily,
    key: impl Fn(usize) -> &'a [u8],
) -> Option<Inconsistency> {
    let mut order: Vec<usize> = (0..family.metrics.len()).collect();
    order.sort_by(|&a, &b| key(a).cmp(key(b)));
    order
        .windows(2)
        .find(|w| key(w[0]) == key(w[1]))
        .map(|w| Inconsistency::DuplicateSeries {
            name: family.name.clone(),
            labels: family.metrics[w[0]].labels.clone(),
        })
}

/// A metric that is not indexed has no slot.
pub(crate) const NO_SLOT: u32 = u32::MAX;

/// Appends a series key: the label set encoded so that comparing the bytes compares label
/// sets in the order the reference exposes series of one family in: fewer labels first,
/// then label values position by position (labels are sorted by name), then names, only to
/// make the order total. So: the label count, then every value, then every name, each with
/// NUL escaped as `00 FF` and terminated by `00 00`.
pub(crate) fn write_series_key(out: &mut Vec<u8>, labels: &[Label]) {
    out.extend_from_slice(
        &u32::try_from(labels.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    for part in labels
        .iter()
        .map(|l| &l.value)
        .chain(labels.iter().map(|l| &l.name))
    {
        for &b in part.as_bytes() {
            out.push(b);
            if b == 0 {
                out.push(0xFF);
            }
        }
        out.extend_from_slice(&[0, 0]);
    }
}
