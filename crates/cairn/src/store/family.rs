//! A stored metric family: sanitised, checked on its own, and rendered once at push time.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering as AtomicOrdering};
use std::time::SystemTime;

use cairn_expfmt::{
    Counter, Label, Metric, MetricFamily, MetricType, NameScheme, Prepared, ProtoLimits,
    SampleKind, SampleLine, Value, decode_delimited, encode_delimited, encode_delimited_in_parts,
    encode_sample_field, is_legacy_metric_name, write_openmetrics_float, write_text_metric,
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
/// The family itself is kept compact (a handful of allocations instead of several per
/// series) and turned back into the model when a reader needs it: the JSON API, protobuf
/// and OpenMetrics scrapes. The text scrape needs only the text lines, persistence the
/// series keys and values ([`StoredFamily::message`]). How compact depends on the family
/// ([`Form`]).
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
    /// metric within the family and orders it for the scrape), then the rest of the family
    /// in its [`Form`].
    bytes: Box<[u8]>,
    /// Offsets into `bytes`: metric `i`'s text is `ends[i]..ends[i + 1]`, its key
    /// `ends[n + i]..ends[n + i + 1]` for `n` metrics, and the rest starts at `ends[2n]`.
    ends: Box<[u32]>,
    form: Form,
    /// Whether each metric's text starts with the family name. A compact family with a
    /// legacy name keeps its lines without it (one line per metric, each starting with the
    /// name: the same bytes in every series) and the scrape writes the name in front.
    lines_named: bool,
    /// `slots[i]` is metric `i`'s slot in the family name's index, set under the store's
    /// write lock when the family is indexed ([`NO_SLOT`] before). A re-push of the same
    /// label sets finds its slots here instead of in the index's hash map.
    slots: Box<[AtomicU32]>,
    /// A rule this family breaks on its own (found in unchecked mode, stored anyway).
    problem: Option<Box<Inconsistency>>,
}

/// What follows the text lines and keys in a [`StoredFamily`]'s bytes.
///
/// Most pushed families are counters, gauges or untyped values with nothing but labels
/// and a number per series. Their series keys already hold every label exactly, so
/// the number is all that is left to keep: 8 bytes a series instead of a protobuf
/// message repeating every label, grouping labels included. Anything else (summaries,
/// histograms, created timestamps, exemplars, a unit, a value of another kind than the
/// family's type) keeps the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// Each metric's value as 8 little-endian bytes of its `f64`, in metric order; the
    /// kind is the family's type, and the labels are read back from the keys.
    Values,
    /// The sanitised family as one length-delimited protobuf `MetricFamily` message.
    Message,
}

impl Form {
    fn of(family: &MetricFamily) -> Form {
        let simple = |metric: &Metric| {
            metric.timestamp_ms.is_none()
                && matches!(
                    (family.metric_type, &metric.value),
                    (
                        MetricType::Counter,
                        Value::Counter(Counter {
                            created: None,
                            exemplar: None,
                            ..
                        })
                    ) | (MetricType::Gauge, Value::Gauge(_))
                        | (MetricType::Untyped, Value::Untyped(_))
                )
        };
        if family.unit.is_none() && family.metrics.iter().all(simple) {
            Form::Values
        } else {
            Form::Message
        }
    }
}

impl StoredFamily {
    /// Sanitises `family` for group `owner` and renders it. Every grouping label is forced
    /// onto every metric (overwriting a pushed label of that name), `instance=""` is added
    /// where there is no instance, and labels are sorted by name.
    pub(crate) fn new(
        owner: Arc<GroupingKey>,
        family: MetricFamily,
        pushed_at: SystemTime,
        scheme: NameScheme,
    ) -> StoredFamily {
        Self::build(owner, family, pushed_at, scheme, None, None)
    }

    /// [`StoredFamily::new`] for a family taking the place of `previous`, the group's
    /// family of the same name: when the label sets are the very ones it holds, they are
    /// known to be distinct without sorting them again.
    pub(crate) fn replacing(
        owner: Arc<GroupingKey>,
        family: MetricFamily,
        pushed_at: SystemTime,
        scheme: NameScheme,
        previous: Option<&StoredFamily>,
    ) -> StoredFamily {
        Self::build(owner, family, pushed_at, scheme, None, previous)
    }

    /// [`StoredFamily::replacing`], also appending the family's message as the log keeps
    /// it (the bytes [`StoredFamily::message`] gives) to `message`: encoded once from what
    /// is at hand rather than rebuilt from the compact form.
    pub(crate) fn new_with_message(
        owner: Arc<GroupingKey>,
        family: MetricFamily,
        pushed_at: SystemTime,
        scheme: NameScheme,
        previous: Option<&StoredFamily>,
        message: &mut Vec<u8>,
    ) -> StoredFamily {
        Self::build(owner, family, pushed_at, scheme, Some(message), previous)
    }

    fn build(
        owner: Arc<GroupingKey>,
        mut family: MetricFamily,
        pushed_at: SystemTime,
        scheme: NameScheme,
        message: Option<&mut Vec<u8>>,
        previous: Option<&StoredFamily>,
    ) -> StoredFamily {
        let n = family.metrics.len();
        let mut bytes = Vec::with_capacity(n * 160);
        let mut ends = Vec::with_capacity(2 * n + 1);
        let form = Form::of(&family);
        let lines_named = form == Form::Message || !is_legacy_metric_name(&family.name);
        // The usual push, a compact family, is written from a view of each series'
        // sanitised labels, leaving the model as pushed; so are its metric fields for the
        // log. Anything else, and a family breaking a rule (whose error quotes its
        // sanitised labels), sanitises the model and is written from it.
        let mut fields = message.is_some().then(Vec::new);
        let viewed = form == Form::Values
            && write_compact(
                &family,
                &owner,
                scheme,
                previous,
                fields.as_mut(),
                &mut bytes,
                &mut ends,
            );
        let problem = if viewed {
            None
        } else {
            bytes.clear();
            ends.clear();
            for metric in &mut family.metrics {
                sanitize_labels(&mut metric.labels, &owner);
            }
            write_lines_and_keys(&family, lines_named, &mut bytes, &mut ends);
            let key = |i: usize| &bytes[ends[n + i] as usize..ends[n + i + 1] as usize];
            local_problem(&family, scheme)
                .or_else(|| {
                    first_duplicate(n, key).map(|i| Inconsistency::DuplicateSeries {
                        name: family.name.clone(),
                        labels: family.metrics[i].labels.clone(),
                    })
                })
                .map(Box::new)
        };
        match form {
            Form::Values => {
                for metric in &family.metrics {
                    let value = plain_value(&metric.value).unwrap_or(0.0);
                    bytes.extend_from_slice(&value.to_le_bytes());
                }
            }
            Form::Message => encode_delimited(&mut bytes, &family),
        }
        if let Some(message) = message {
            match (form, fields.filter(|_| viewed)) {
                (Form::Values, Some(fields)) => {
                    // The family's head is the model's, its metrics the fields written.
                    let metrics = std::mem::take(&mut family.metrics);
                    let Ok(()) = encode_delimited_in_parts(message, &family, &fields, |out, m| {
                        out.extend_from_slice(m);
                        Ok::<(), std::convert::Infallible>(())
                    });
                    family.metrics = metrics;
                }
                (Form::Values, None) => encode_delimited(message, &family),
                (Form::Message, _) => message.extend_from_slice(&bytes[ends[2 * n] as usize..]),
            }
        }
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
            // A copy, not `into_boxed_slice`: mimalloc shrinks a block in place when at
            // most half of it would be left unused, and this buffer, reserved generously
            // up front, is most of what the store holds per series.
            bytes: Box::from(bytes.as_slice()),
            ends: ends.into_boxed_slice(),
            form,
            lines_named,
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

    /// The family as the log and the snapshot keep it: one length-delimited protobuf
    /// message. A family kept as a message is written as stored. A compact family without
    /// a problem leaves out of every metric the labels that loading puts back
    /// ([`put_back_on_loading`]), which are most of its label bytes when a series has one
    /// or two labels of its own.
    /// Loading either gives back this family ([`StoredFamily::new`]).
    pub(crate) fn message(&self) -> Cow<'_, [u8]> {
        if self.form == Form::Message {
            return Cow::Borrowed(self.rest());
        }
        // A compact family with series is a counter, gauge or untyped one; a family of no
        // series is compact whatever its type.
        let kind = sample_kind(self.metric_type);
        // A family with a problem may hold a label name twice in a series, which leaving
        // one out would hide: it keeps every label.
        let leave_out = |name: &str, value: &str| {
            self.problem.is_none() && put_back_on_loading(&self.owner, name, value)
        };
        let mut fields = Vec::new();
        for i in 0..self.series_count() {
            let (Some(kind), Some(value)) = (kind, self.compact_value(i)) else {
                continue;
            };
            // Read from the series key, without building the series' labels.
            let mut parts = Vec::new();
            let count = read_key_parts(self.key(i), &mut parts);
            let (values, names) = parts.split_at(count.min(parts.len()));
            let kept: Vec<(&str, &str)> = names
                .iter()
                .zip(values)
                .map(|(name, value)| (name.as_ref(), value.as_ref()))
                .filter(|&(name, value)| !leave_out(name, value))
                .collect();
            encode_sample_field(&mut fields, kind, &kept, value);
        }
        let mut message = Vec::with_capacity(fields.len() + 64);
        let Ok(()) = encode_delimited_in_parts(&mut message, &self.head(), &fields, |out, m| {
            out.extend_from_slice(m);
            Ok::<(), std::convert::Infallible>(())
        });
        Cow::Owned(message)
    }

    /// The family's name, help and type, without metrics.
    fn head(&self) -> MetricFamily {
        MetricFamily {
            name: self.name.clone(),
            help: self.help.clone(),
            metric_type: self.metric_type,
            unit: None,
            metrics: Vec::new(),
        }
    }

    /// What follows the text lines and keys in `bytes`.
    fn rest(&self) -> &[u8] {
        &self.bytes[self.ends[2 * self.series_count()] as usize..]
    }

    /// The group this family belongs to.
    pub fn owner(&self) -> &GroupingKey {
        &self.owner
    }

    pub(crate) fn owner_arc(&self) -> &Arc<GroupingKey> {
        &self.owner
    }

    /// The family as sanitised at push time, rebuilt from its compact form.
    pub fn family(&self) -> MetricFamily {
        match self.form {
            Form::Values => {
                let metrics = (0..self.series_count())
                    .filter_map(|i| self.compact_metric(i))
                    .collect();
                MetricFamily {
                    metrics,
                    ..self.head()
                }
            }
            // The bytes were written by the encoder from a valid model, which the decoder
            // reads back unchanged (a property the codec's tests check); the fallback keeps
            // a broken invariant from taking the process down. No caps: the family was
            // stored under whatever limits the gateway ran with, and its message also holds
            // the grouping labels, which the push's own labels were checked without.
            Form::Message => decode_delimited(self.rest(), &ProtoLimits::NONE)
                .ok()
                .and_then(|families| families.into_iter().next())
                .unwrap_or_else(|| self.head()),
        }
    }

    /// Metric `index`'s labels, as sanitised, read from its series key: what an error about
    /// the series quotes, without decoding the family.
    pub(crate) fn series_labels(&self, index: usize) -> Vec<Label> {
        read_series_key(self.key(index))
    }

    /// Metric `index` rebuilt from its key and value, without the rest of the family, for
    /// a compact family ([`Form::Values`]); `None` for a family kept as a message.
    pub(crate) fn compact_metric(&self, index: usize) -> Option<Metric> {
        let value = self.compact_value(index)?;
        Some(Metric {
            labels: self.series_labels(index),
            value: match self.metric_type {
                MetricType::Counter => Value::Counter(Counter {
                    value,
                    ..Counter::default()
                }),
                MetricType::Gauge => Value::Gauge(value),
                _ => Value::Untyped(value),
            },
            timestamp_ms: None,
        })
    }

    /// Metric `index`'s value, for a compact family ([`Form::Values`]), where a metric is
    /// its labels and this value and nothing else; `None` for a family kept as a message.
    pub(crate) fn compact_value(&self, index: usize) -> Option<f64> {
        if self.form != Form::Values {
            return None;
        }
        let at = self.ends[2 * self.series_count()] as usize + 8 * index;
        Some(f64::from_le_bytes(
            self.bytes.get(at..at + 8)?.try_into().ok()?,
        ))
    }

    /// The unit, which only a family kept as a message can have.
    pub(crate) fn unit(&self) -> Option<String> {
        match self.form {
            Form::Values => None,
            Form::Message => self.family().unit,
        }
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

    /// Metric `index`'s text as stored: without the family name when the lines are kept
    /// without it ([`StoredFamily::write_text`] puts it back).
    fn metric_text(&self, index: usize) -> &[u8] {
        &self.bytes[self.ends[index] as usize..self.ends[index + 1] as usize]
    }

    /// Appends metric `index`'s text lines, as the text format writes them. `name` is the
    /// family name, passed in by a caller that writes many families of this name, which has
    /// it at hand: reading each family's own copy would cost a cache miss per series.
    pub(crate) fn write_text(&self, out: &mut Vec<u8>, index: usize, name: &str) {
        debug_assert_eq!(name, self.name);
        if !self.lines_named {
            out.extend_from_slice(name.as_bytes());
        }
        out.extend_from_slice(self.metric_text(index));
    }

    /// Appends a compact metric's OpenMetrics line: its text line with the value written
    /// the OpenMetrics way. Both formats write a series' name and labels with the same
    /// writer, and a compact metric has no timestamp, so its text line is its identity, a
    /// space and the value. Writes nothing, and returns false, for a family kept as a
    /// message. `name` as for [`StoredFamily::write_text`].
    pub(crate) fn write_openmetrics_line(
        &self,
        out: &mut Vec<u8>,
        index: usize,
        name: &str,
    ) -> bool {
        let Some(value) = self.compact_value(index) else {
            return false;
        };
        let text = self.metric_text(index);
        let identity = text
            .iter()
            .rposition(|&b| b == b' ')
            .map_or(text, |space| &text[..=space]);
        if !self.lines_named {
            out.extend_from_slice(name.as_bytes());
        }
        out.extend_from_slice(identity);
        write_openmetrics_float(out, value);
        out.push(b'\n');
        true
    }

    /// Where metric `index`'s text offsets are, for reading ahead ([`super::prefetch`]).
    pub(crate) fn text_offsets_at(&self, index: usize) -> Option<&[u32]> {
        self.ends.get(index..index + 2)
    }

    /// Where metric `index`'s text starts, for reading ahead ([`super::prefetch`]).
    pub(crate) fn text_head(&self, index: usize) -> Option<&[u8]> {
        let start = *self.ends.get(index)? as usize;
        self.bytes.get(start..)
    }

    /// Every metric's series key, one after the other.
    fn keys(&self) -> &[u8] {
        let n = self.series_count();
        &self.bytes[self.ends[n] as usize..self.ends[2 * n] as usize]
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
        self.problem.as_deref()
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
    labels.reserve(key.labels().len() + 1);
    for grouping in key.labels() {
        match labels.iter_mut().find(|l| l.name == grouping.name) {
            Some(existing) => existing.value.clone_from(&grouping.value),
            None => labels.push(grouping.clone()),
        }
    }
    if !labels.iter().any(|l| l.name == "instance") {
        labels.push(Label::new("instance", ""));
    }
    sort_by_name(labels, |label| &label.name);
}

/// Whether loading a family of group `owner` puts a label back on every metric that lacks
/// it ([`sanitize_labels`]), so that the log and the snapshot need not keep it: a grouping
/// label (whose value is the key's whatever was pushed), and an empty `instance` in a
/// group without one.
fn put_back_on_loading(owner: &GroupingKey, name: &str, value: &str) -> bool {
    (name == "instance" && value.is_empty()) || owner.labels().iter().any(|l| l.name == name)
}

/// How a compact family's samples are encoded: counters, gauges and untyped alone.
fn sample_kind(metric_type: MetricType) -> Option<SampleKind> {
    match metric_type {
        MetricType::Counter => Some(SampleKind::Counter),
        MetricType::Gauge => Some(SampleKind::Gauge),
        MetricType::Untyped => Some(SampleKind::Untyped),
        _ => None,
    }
}

/// Sorts labels by name, keeping labels of the same name in their order (the error for a
/// repeated name lists them as pushed). A series has a handful of labels, which insertion
/// sorts several times faster than the general sort; long lists take the general sort.
fn sort_by_name<T>(labels: &mut [T], name: impl Fn(&T) -> &str) {
    if labels.len() > 12 {
        labels.sort_by(|a, b| name(a).cmp(name(b)));
        return;
    }
    for i in 1..labels.len() {
        let mut j = i;
        while j > 0 && name(&labels[j - 1]) > name(&labels[j]) {
            labels.swap(j - 1, j);
            j -= 1;
        }
    }
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

/// The first of `n` series whose label set an earlier one has too; `key(i)` is series
/// `i`'s series key, which orders label sets in exposition order.
fn first_duplicate<'a>(n: usize, key: impl Fn(usize) -> &'a [u8]) -> Option<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| key(a).cmp(key(b)));
    order
        .windows(2)
        .find(|w| key(w[0]) == key(w[1]))
        .map(|w| w[0])
}

/// Appends every metric's text lines, then every metric's series key, to `bytes`, with
/// the offset after each in `ends` (which starts with 0). Without `lines_named`, a line
/// (one per metric) is kept without the family name it starts with.
fn write_lines_and_keys(
    family: &MetricFamily,
    lines_named: bool,
    bytes: &mut Vec<u8>,
    ends: &mut Vec<u32>,
) {
    ends.push(0);
    for metric in &family.metrics {
        let start = bytes.len();
        write_text_metric(bytes, &family.name, family.metric_type, metric);
        if !lines_named {
            bytes.drain(start..start + family.name.len());
        }
        ends.push(offset(bytes));
    }
    let mut pairs = Vec::new();
    for metric in &family.metrics {
        pairs.clear();
        pairs.extend(
            metric
                .labels
                .iter()
                .map(|l| (l.name.as_str(), l.value.as_str())),
        );
        write_series_key(bytes, &pairs);
        ends.push(offset(bytes));
    }
}

/// [`write_lines_and_keys`] for a compact family, from a view of each metric's labels
/// sanitised for group `owner` (as [`sanitize_labels`] would leave them). Returns false,
/// having written part, if a label name is invalid or repeated or a label set is there
/// twice: the caller then takes the general way, which names the problem. Label sets that
/// are `previous`'s, in the same order, need no search for a repeat when it had none. With
/// `fields`, also appends each metric's field of the family's protobuf message there.
fn write_compact(
    family: &MetricFamily,
    owner: &GroupingKey,
    scheme: NameScheme,
    previous: Option<&StoredFamily>,
    mut fields: Option<&mut Vec<u8>>,
    bytes: &mut Vec<u8>,
    ends: &mut Vec<u32>,
) -> bool {
    let Some(kind) = sample_kind(family.metric_type) else {
        return false;
    };
    // A legacy name is written bare at the start of the line, so the line without it is
    // the line of a sample without a name (a compact family's lines are kept without it).
    let name = if is_legacy_metric_name(&family.name) {
        ""
    } else {
        family.name.as_str()
    };
    // Keys are written after every line: gathered meanwhile in a buffer of their own.
    let mut keys = Vec::with_capacity(64 * family.metrics.len());
    let mut key_ends = Vec::with_capacity(family.metrics.len());
    let mut shape: Option<Shape<'_>> = None;
    let mut logged = Vec::new();
    ends.push(0);
    for metric in &family.metrics {
        let shape = match &mut shape {
            Some(shape) if shape.fits(&metric.labels) => shape,
            shape => {
                let Some(new) = Shape::new(&metric.labels, owner, scheme, name) else {
                    return false;
                };
                shape.insert(new)
            }
        };
        let Some(value) = plain_value(&metric.value) else {
            return false;
        };
        let open = || {
            shape
                .open
                .iter()
                .map(|&(_, i)| metric.labels[i].value.as_str())
        };
        shape.line.write(bytes, open(), value);
        ends.push(offset(bytes));
        shape.key.write(&mut keys, open(), write_key_part);
        key_ends.push(keys.len());
        if let Some(fields) = fields.as_deref_mut() {
            // The pushed labels, which the grouping key's do not overwrite; but not those
            // that loading puts back either, as `StoredFamily::message` leaves them out.
            logged.clear();
            logged.extend(
                shape
                    .open
                    .iter()
                    .map(|&(name, i)| (name, metric.labels[i].value.as_str()))
                    .filter(|&(name, value)| !put_back_on_loading(owner, name, value)),
            );
            encode_sample_field(fields, kind, &logged, value);
        }
    }
    let keys_start = bytes.len();
    bytes.extend_from_slice(&keys);
    ends.extend(key_ends.iter().map(|&end| offset_at(keys_start + end)));
    let n = family.metrics.len();
    let as_before = previous.is_some_and(|previous| {
        previous.problem.is_none()
            && previous.series_count() == n
            && previous.keys() == &bytes[keys_start..]
    });
    let key = |i: usize| &bytes[ends[n + i] as usize..ends[n + i + 1] as usize];
    as_before || first_duplicate(n, key).is_none()
}

/// What the series of a compact family whose pushed labels have the same names share:
/// their sanitised label names, which values come from the grouping key (the same in
/// every series), and their text line and series key prepared around the values that
/// change. Made for a series, and used for every next one with the same label names, so
/// that the names are checked, sorted and escaped once.
struct Shape<'a> {
    /// The pushed labels of the series it was made for.
    made_for: &'a [Label],
    /// Each value that changes, in the sanitised labels' order: the label's name and the
    /// index of the pushed label it is the value of. These are the labels the log keeps.
    open: Vec<(&'a str, usize)>,
    line: SampleLine,
    key: Prepared,
}

impl<'a> Shape<'a> {
    /// The shape of a series with `labels` in group `owner`, or `None` if a sanitised label
    /// name is invalid (or reserved) or repeated.
    fn new(
        labels: &'a [Label],
        owner: &'a GroupingKey,
        scheme: NameScheme,
        name: &str,
    ) -> Option<Shape<'a>> {
        let mut view = Vec::with_capacity(labels.len() + 2);
        sanitized_view(labels, owner, &mut view);
        let valid = |(i, (name, _, _)): (usize, &(&str, &str, Option<usize>))| {
            scheme.is_valid_label_name(name)
                && !name.starts_with("__")
                && (i == 0 || view[i - 1].0 != *name)
        };
        if !view.iter().enumerate().all(valid) {
            return None;
        }
        let template: Vec<(&str, Option<&str>)> = view
            .iter()
            .map(|&(name, value, pushed)| (name, pushed.is_none().then_some(value)))
            .collect();
        let open = view
            .iter()
            .filter_map(|&(name, _, pushed)| Some((name, pushed?)))
            .collect();
        Some(Shape {
            made_for: labels,
            line: SampleLine::new(name, &template),
            key: prepared_key(&template),
            open,
        })
    }

    /// Whether a series with `labels` has this shape: its label names are the same.
    fn fits(&self, labels: &[Label]) -> bool {
        labels.len() == self.made_for.len()
            && labels
                .iter()
                .zip(self.made_for)
                .all(|(l, made_for)| l.name == made_for.name)
    }
}

/// The series key ([`write_series_key`]) of a label set whose names are known and whose
/// values are partly known, written once with a gap for each value left open.
fn prepared_key(labels: &[(&str, Option<&str>)]) -> Prepared {
    let mut key = Prepared::default();
    write_key_layout(&mut key, labels.iter().copied());
    key
}

/// The one writer of a series key's layout ([`write_series_key`]): the label count, every
/// value (or a gap for one left open), then every name, each part NUL-escaped and ended.
fn write_key_layout<'a>(
    key: &mut Prepared,
    labels: impl ExactSizeIterator<Item = (&'a str, Option<&'a str>)> + Clone,
) {
    write_label_count(&mut key.fixed, labels.len());
    for (_, value) in labels.clone() {
        match value {
            Some(value) => write_key_part(&mut key.fixed, value),
            None => key.gap(),
        }
        key.fixed.extend_from_slice(KEY_PART_END);
    }
    for (name, _) in labels {
        write_key_part(&mut key.fixed, name);
        key.fixed.extend_from_slice(KEY_PART_END);
    }
}

/// The value of a counter, gauge or untyped metric.
fn plain_value(value: &Value) -> Option<f64> {
    match value {
        Value::Counter(c) => Some(c.value),
        Value::Gauge(v) | Value::Untyped(v) => Some(*v),
        _ => None,
    }
}

/// Fills `view` with a metric's labels as [`sanitize_labels`] leaves them, as `(name,
/// value, pushed)` borrowed from the metric and the grouping key, where `pushed` is the
/// index in `labels` of the label whose value it is (`None` for the grouping key's).
fn sanitized_view<'a>(
    labels: &'a [Label],
    key: &'a GroupingKey,
    view: &mut Vec<(&'a str, &'a str, Option<usize>)>,
) {
    view.clear();
    view.extend(
        labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.name.as_str(), l.value.as_str(), Some(i))),
    );
    for grouping in key.labels() {
        match view.iter_mut().find(|(name, _, _)| *name == grouping.name) {
            Some(existing) => *existing = (existing.0, &grouping.value, None),
            None => view.push((&grouping.name, &grouping.value, None)),
        }
    }
    if !view.iter().any(|(name, _, _)| *name == "instance") {
        view.push(("instance", "", None));
    }
    sort_by_name(view, |label| label.0);
}

/// Where the next byte of `bytes` goes, as an offset into a family's bytes.
fn offset(bytes: &[u8]) -> u32 {
    offset_at(bytes.len())
}

fn offset_at(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

/// A metric that is not indexed has no slot.
pub(crate) const NO_SLOT: u32 = u32::MAX;

/// Appends a series key: the label set encoded so that comparing the bytes compares label
/// sets in the order the reference exposes series of one family in: fewer labels first,
/// then label values position by position (labels are sorted by name), then names, only to
/// make the order total. So: the label count, then every value, then every name, each with
/// NUL escaped as `00 FF` and terminated by `00 00`.
pub(crate) fn write_series_key(out: &mut Vec<u8>, labels: &[(&str, &str)]) {
    let unescaped: usize = labels
        .iter()
        .map(|(name, value)| name.len() + value.len() + 4)
        .sum();
    out.reserve(4 + unescaped);
    // Written in place: `out` becomes a key with no gaps for the time of the writing.
    let mut key = Prepared::default();
    key.fixed = std::mem::take(out);
    write_key_layout(
        &mut key,
        labels.iter().map(|&(name, value)| (name, Some(value))),
    );
    *out = key.fixed;
}

/// What ends each part of a series key.
const KEY_PART_END: &[u8] = &[0, 0];

fn write_label_count(out: &mut Vec<u8>, count: usize) {
    out.extend_from_slice(&u32::try_from(count).unwrap_or(u32::MAX).to_be_bytes());
}

/// A value or name of a series key, NUL escaped as `00 FF`.
fn write_key_part(out: &mut Vec<u8>, part: &str) {
    // A NUL is rare: the part is copied whole unless it has one.
    let part = part.as_bytes();
    if part.contains(&0) {
        for &b in part {
            out.push(b);
            if b == 0 {
                out.push(0xFF);
            }
        }
    } else {
        out.extend_from_slice(part);
    }
}

/// The labels a series key was written from ([`write_series_key`]), in the same order.
fn read_series_key(key: &[u8]) -> Vec<Label> {
    let mut parts = Vec::new();
    let count = read_key_parts(key, &mut parts);
    let names = parts.split_off(count.min(parts.len()));
    names
        .into_iter()
        .zip(parts)
        .map(|(name, value)| Label {
            name: name.into_owned(),
            value: value.into_owned(),
        })
        .collect()
}

/// Appends the parts of a series key ([`write_series_key`]) to `parts`, every value and
/// then every name, each borrowed from the key unless a NUL was escaped in it; returns the
/// label count.
fn read_key_parts<'k>(key: &'k [u8], parts: &mut Vec<Cow<'k, str>>) -> usize {
    let count = key
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_be_bytes) as usize;
    let mut rest = key.get(4..).unwrap_or_default();
    while !rest.is_empty() {
        // A part ends at the first NUL that is not followed by 0xFF (an escaped NUL).
        // A part with no end (not in a key this module wrote) runs to the key's end.
        let mut end = 0;
        let mut escaped = false;
        loop {
            let Some(at) = rest[end..].iter().position(|&b| b == 0) else {
                end = rest.len();
                break;
            };
            end += at;
            if rest.get(end + 1) != Some(&0xFF) {
                break;
            }
            escaped = true;
            end += 2;
        }
        let part = &rest[..end];
        // The key was written from `String`s, so each part is UTF-8.
        parts.push(if escaped {
            let mut unescaped = Vec::with_capacity(part.len());
            let mut bytes = part.iter();
            while let Some(&b) = bytes.next() {
                unescaped.push(b);
                if b == 0 {
                    bytes.next();
                }
            }
            Cow::Owned(String::from_utf8_lossy(&unescaped).into_owned())
        } else {
            std::str::from_utf8(part).map_or_else(|_| String::from_utf8_lossy(part), Cow::Borrowed)
        });
        rest = rest.get(end + KEY_PART_END.len()..).unwrap_or_default();
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Arc<GroupingKey> {
        Arc::new(
            GroupingKey::new([("job".to_owned(), "j\0b".to_owned())], NameScheme::Legacy)
                .expect("valid key"),
        )
    }

    fn family(metric_type: MetricType, values: Vec<Value>) -> MetricFamily {
        MetricFamily {
            name: "m".to_owned(),
            help: Some(String::new()),
            metric_type,
            unit: None,
            metrics: values
                .into_iter()
                .enumerate()
                .map(|(i, value)| Metric {
                    labels: vec![
                        Label::new("z", format!("\0{i}\u{e9}\0")),
                        // Overwritten by the grouping label.
                        Label::new("job", "pushed"),
                        Label::new("a", ""),
                    ],
                    value,
                    timestamp_ms: None,
                })
                .collect(),
        }
    }

    /// The family as stored: what `StoredFamily::family` must give back.
    fn sanitised(mut family: MetricFamily) -> MetricFamily {
        for metric in &mut family.metrics {
            sanitize_labels(&mut metric.labels, &key());
        }
        family
    }

    /// A sanitised compact family as the log and the snapshot keep it: without the
    /// grouping labels, nor an `instance=""` when the grouping key has no instance.
    fn kept_on_disk(mut family: MetricFamily, owner: &GroupingKey) -> MetricFamily {
        let has_instance = owner.labels().iter().any(|l| l.name == "instance");
        for metric in &mut family.metrics {
            metric.labels.retain(|l| {
                owner.labels().iter().all(|g| g.name != l.name)
                    && (has_instance || l.name != "instance" || !l.value.is_empty())
            });
        }
        family
    }

    /// What loading `message` into group `owner` stores: it must be `stored` again.
    fn assert_loads_as(message: &[u8], owner: &Arc<GroupingKey>, stored: &StoredFamily) {
        let mut decoded = decode_delimited(message, &ProtoLimits::NONE).expect("decodes");
        assert_eq!(decoded.len(), 1);
        let loaded = StoredFamily::new(
            owner.clone(),
            decoded.remove(0),
            stored.pushed_at,
            NameScheme::Utf8,
        );
        assert_eq!(loaded.form, stored.form);
        assert_eq!(loaded.problem, stored.problem);
        assert_eq!(loaded.bytes, stored.bytes);
        assert_eq!(loaded.ends, stored.ends);
        assert_eq!(
            (&loaded.name, &loaded.help, loaded.metric_type),
            (&stored.name, &stored.help, stored.metric_type)
        );
    }

    #[test]
    fn compact_and_message_forms_give_back_the_sanitised_family() {
        let counter = |value, created| {
            Value::Counter(Counter {
                value,
                created,
                exemplar: None,
            })
        };
        let created = Some(cairn_expfmt::Timestamp {
            seconds: 5,
            nanos: 1,
        });
        let cases = [
            (
                family(
                    MetricType::Gauge,
                    vec![Value::Gauge(-0.0), Value::Gauge(f64::NAN)],
                ),
                Form::Values,
            ),
            (
                family(MetricType::Counter, vec![counter(1.5, None)]),
                Form::Values,
            ),
            (
                family(MetricType::Untyped, vec![Value::Untyped(f64::INFINITY)]),
                Form::Values,
            ),
            (family(MetricType::Gauge, Vec::new()), Form::Values),
            // No series: compact whatever the type.
            (family(MetricType::Summary, Vec::new()), Form::Values),
            (
                family(
                    MetricType::Counter,
                    vec![counter(1.0, None), counter(2.0, created)],
                ),
                Form::Message,
            ),
            (
                family(MetricType::Gauge, vec![Value::Untyped(1.0)]),
                Form::Message,
            ),
            (
                family(MetricType::Summary, vec![Value::Summary(Box::default())]),
                Form::Message,
            ),
            (
                MetricFamily {
                    unit: Some("seconds".to_owned()),
                    ..family(MetricType::Gauge, vec![Value::Gauge(1.0)])
                },
                Form::Message,
            ),
        ];
        for (pushed, form) in cases {
            let mut message = Vec::new();
            let stored = StoredFamily::new_with_message(
                key(),
                pushed.clone(),
                SystemTime::UNIX_EPOCH,
                NameScheme::Utf8,
                None,
                &mut message,
            );
            assert_eq!(stored.form, form, "{pushed:?}");
            let expected = sanitised(pushed);
            // NaN != NaN: compare the encodings, which hold every bit of every value.
            let mut encoded = Vec::new();
            encode_delimited(&mut encoded, &expected);
            let mut rebuilt = Vec::new();
            encode_delimited(&mut rebuilt, &stored.family());
            assert_eq!(rebuilt, encoded, "{expected:?}");
            // On disk, a compact family leaves out the labels loading puts back.
            let mut on_disk = Vec::new();
            match form {
                Form::Values => encode_delimited(&mut on_disk, &kept_on_disk(expected, &key())),
                Form::Message => on_disk = encoded,
            }
            assert_eq!(stored.message().as_ref(), on_disk.as_slice());
            assert_eq!(message, on_disk);
            assert_loads_as(&message, &key(), &stored);
        }
    }

    proptest::proptest! {
        /// A compact family's lines and keys, written from a view of its labels with the
        /// names checked and escaped once for every run of series with the same label
        /// names, are the bytes the general way writes from the sanitised model: with the
        /// grouping key's labels and `instance` sorted in, a pushed label the grouping key
        /// overwrites, values and names that need escaping, and names quoted. So is the
        /// log's message.
        #[test]
        fn compact_lines_and_keys_are_the_general_ways(
            name in proptest::sample::select(vec!["m", "m.x"]),
            instance in proptest::option::of(proptest::sample::select(vec!["", "i\"1"])),
            series in proptest::collection::vec(
                (
                    0..3usize,
                    proptest::collection::vec(
                        proptest::sample::select(vec!["", "v", "\0", "\"\\", "\n\u{e9}", "w,x=1"]),
                        4,
                    ),
                ),
                1..8,
            ),
        ) {
            const SHAPES: [&[&str]; 4] = [
                &["idx"],
                &["z", "job", "a.b"],
                &["a", "job", "z.b"],
                &["instance", "b", "a"],
            ];
            let owner = Arc::new(
                GroupingKey::new(
                    [("job".to_owned(), "j\0b".to_owned())]
                        .into_iter()
                        .chain(instance.map(|i| ("instance".to_owned(), i.to_owned()))),
                    NameScheme::Utf8,
                )
                .expect("valid key"),
            );
            let pushed = MetricFamily {
                name: name.to_owned(),
                help: None,
                metric_type: MetricType::Gauge,
                unit: None,
                metrics: series
                    .iter()
                    .enumerate()
                    .map(|(i, (shape, values))| Metric {
                        labels: SHAPES[*shape]
                            .iter()
                            .zip(values)
                            .map(|(n, v)| Label::new(*n, format!("{v}{i}")))
                            .collect(),
                        value: Value::Gauge(i as f64 / 3.0),
                        timestamp_ms: None,
                    })
                    .collect(),
            };
            let mut message = Vec::new();
            let stored = StoredFamily::new_with_message(
                Arc::clone(&owner),
                pushed.clone(),
                SystemTime::UNIX_EPOCH,
                NameScheme::Utf8,
                None,
                &mut message,
            );
            proptest::prop_assert!(stored.problem.is_none());
            let mut expected = pushed;
            for metric in &mut expected.metrics {
                sanitize_labels(&mut metric.labels, &owner);
            }
            let (mut bytes, mut ends) = (Vec::new(), Vec::new());
            write_lines_and_keys(&expected, !is_legacy_metric_name(name), &mut bytes, &mut ends);
            let n = series.len();
            proptest::prop_assert_eq!(
                String::from_utf8_lossy(&stored.bytes[..stored.ends[2 * n] as usize]),
                String::from_utf8_lossy(&bytes)
            );
            proptest::prop_assert_eq!(&stored.ends[..=2 * n], &ends[..]);
            // The log's message, whose metric fields are encoded from the same view, the
            // snapshot's, and what loading either stores.
            let mut encoded = Vec::new();
            encode_delimited(&mut encoded, &kept_on_disk(expected, &owner));
            proptest::prop_assert_eq!(&message, &encoded);
            let snapshot_message = stored.message();
            proptest::prop_assert_eq!(snapshot_message.as_ref(), encoded.as_slice());
            assert_loads_as(&message, &owner, &stored);
        }
    }

    /// A family with a problem (unchecked mode stores it) may hold a grouping label's
    /// name or `instance` twice in a series; leaving either out on disk would load a family
    /// without the problem. Such a family keeps every label, in the log and the snapshot.
    #[test]
    fn a_family_with_a_problem_keeps_every_label_on_disk() {
        let cases = [
            vec![Label::new("job", "a"), Label::new("job", "b")],
            vec![Label::new("instance", ""), Label::new("instance", "x")],
        ];
        for labels in cases {
            let pushed = MetricFamily {
                name: "m".to_owned(),
                help: None,
                metric_type: MetricType::Gauge,
                unit: None,
                metrics: vec![Metric {
                    labels: labels.clone(),
                    value: Value::Gauge(1.0),
                    timestamp_ms: None,
                }],
            };
            let mut message = Vec::new();
            let stored = StoredFamily::new_with_message(
                key(),
                pushed,
                SystemTime::UNIX_EPOCH,
                NameScheme::Utf8,
                None,
                &mut message,
            );
            assert!(stored.problem.is_some(), "{labels:?}");
            assert_eq!(stored.form, Form::Values);
            assert_loads_as(&message, &key(), &stored);
            assert_loads_as(&stored.message(), &key(), &stored);
        }
    }

    #[test]
    fn series_keys_read_back_as_their_labels() {
        let labels = vec![
            Label::new("a", "\0\u{ff}"),
            Label::new("b\0", ""),
            Label::new("c", "\0"),
        ];
        let mut key = Vec::new();
        let pairs: Vec<(&str, &str)> = labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        write_series_key(&mut key, &pairs);
        assert_eq!(read_series_key(&key), labels);
        key.clear();
        write_series_key(&mut key, &[]);
        assert_eq!(read_series_key(&key), Vec::<Label>::new());
        // A last part without its end runs to the end of the key.
        let mut parts = Vec::new();
        assert_eq!(read_key_parts(b"\0\0\0\x01a\0\xFFb", &mut parts), 1);
        assert_eq!(parts, ["a\0b"]);
    }
}
