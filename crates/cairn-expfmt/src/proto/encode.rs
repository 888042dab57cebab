//! Protobuf encoding written straight from the model, without building prost messages.
//!
//! Each message has a `*_len` function giving the length of its body and a `write_*`
//! function writing that body; a message field is its key, its body's length as a varint,
//! then the body. The whole family's length is known before the first byte is written, so
//! `out` grows at most once per family and nothing else is allocated.
//!
//! The bytes are those prost writes for the messages of `messages.rs` when every field
//! the Go client always sets is `Some` and every other field is `Some` only when it is not
//! its default: fields in tag order, repeated scalars unpacked, floats compared by bits (so
//! `-0.0` and NaN are written as they are), `int32` negatives sign-extended to ten bytes.
//! A test checks this against the conversion to prost messages.

use prost::encoding::{WireType, encoded_len_varint, key_len};

use crate::{
    Bucket, BucketSpan, Counter, Exemplar, Histogram, Label, Metric, MetricFamily, Quantile,
    Summary, Timestamp, Value,
};

/// Appends `family` as one varint-length-delimited `MetricFamily` message.
pub(super) fn family_delimited(out: &mut Vec<u8>, family: &MetricFamily) {
    let len = family_len(family);
    out.reserve(encoded_len_varint(len as u64) + len);
    put_varint(out, len as u64);
    let start = out.len();
    write_family(out, family);
    debug_assert_eq!(out.len() - start, len, "MetricFamily length");
}

/// Appends `metric` as the `metric` field (4) of a `MetricFamily` message, as
/// [`family_delimited`] writes each of a family's metrics.
pub(super) fn metric_field(out: &mut Vec<u8>, metric: &Metric) {
    put_message_field(out, 4, metric, metric_len, write_metric);
}

/// Appends the metric field [`metric_field`] writes for a counter, gauge or untyped metric
/// with these labels and this value, and no timestamp, exemplar or created time.
pub(super) fn sample_field(
    out: &mut Vec<u8>,
    kind: SampleKind,
    labels: &[(&str, &str)],
    value: f64,
) {
    let labels_len = pairs_len(1, labels.iter().copied());
    let value_tag = match kind {
        SampleKind::Counter => 3,
        SampleKind::Gauge => 2,
        SampleKind::Untyped => 5,
    };
    let body_len = labels_len + message_field_len(value_tag, double_field_len(1));
    put_key(out, 4, WireType::LengthDelimited);
    put_varint(out, body_len as u64);
    let start = out.len();
    put_pairs(out, 1, labels.iter().copied());
    put_single_value(out, value_tag, value);
    debug_assert_eq!(
        out.len() - start,
        body_len,
        "length of a sample's metric field"
    );
}

/// The kinds of value [`sample_field`] writes: each is one double in its own message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleKind {
    /// A `Counter` message with its value alone.
    Counter,
    /// A `Gauge` message.
    Gauge,
    /// An `Untyped` message.
    Untyped,
}

/// Appends the varint length of a `MetricFamily` message whose metric fields take
/// `metrics_len` bytes, then its fields before the metrics, as [`family_delimited`] writes
/// them for a family with this head.
pub(super) fn family_head(out: &mut Vec<u8>, head: &MetricFamily, metrics_len: usize) {
    let len = family_len(head) + metrics_len;
    put_varint(out, len as u64);
    put_string_field(out, 1, &head.name);
    if let Some(help) = &head.help {
        put_string_field(out, 2, help);
    }
    put_varint_field(out, 3, int32(head.metric_type.proto_number()));
}

/// Appends the fields of a `MetricFamily` message after its metrics.
pub(super) fn family_tail(out: &mut Vec<u8>, head: &MetricFamily) {
    if let Some(unit) = &head.unit {
        put_string_field(out, 5, unit);
    }
}

// ---- wire primitives ------------------------------------------------------------------

/// Most varints here (keys, string and message lengths) are one byte, so that case skips
/// the general computation, whose steps depend on each other.
fn varint_len(value: u64) -> usize {
    if value < 0x80 {
        1
    } else {
        encoded_len_varint(value)
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_key(out: &mut Vec<u8>, tag: u32, wire_type: WireType) {
    put_varint(out, u64::from((tag << 3) | wire_type as u32));
}

/// `int32` is sign-extended to 64 bits, so a negative value takes ten bytes.
fn int32(value: i32) -> u64 {
    i64::from(value) as u64
}

fn sint32(value: i32) -> u64 {
    u64::from(((value << 1) ^ (value >> 31)) as u32)
}

fn sint64(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn varint_field_len(tag: u32, value: u64) -> usize {
    key_len(tag) + varint_len(value)
}

fn put_varint_field(out: &mut Vec<u8>, tag: u32, value: u64) {
    put_key(out, tag, WireType::Varint);
    put_varint(out, value);
}

fn double_field_len(tag: u32) -> usize {
    key_len(tag) + 8
}

fn put_double_field(out: &mut Vec<u8>, tag: u32, value: f64) {
    put_key(out, tag, WireType::SixtyFourBit);
    out.extend_from_slice(&value.to_le_bytes());
}

/// A float field that is written only when it is not `+0.0` (by bits).
fn float_if_set_len(tag: u32, value: f64) -> usize {
    if value.to_bits() == 0 {
        0
    } else {
        double_field_len(tag)
    }
}

fn put_float_if_set(out: &mut Vec<u8>, tag: u32, value: f64) {
    if value.to_bits() != 0 {
        put_double_field(out, tag, value);
    }
}

fn string_field_len(tag: u32, value: &str) -> usize {
    message_field_len(tag, value.len())
}

fn put_string_field(out: &mut Vec<u8>, tag: u32, value: &str) {
    put_key(out, tag, WireType::LengthDelimited);
    put_varint(out, value.len() as u64);
    out.extend_from_slice(value.as_bytes());
}

fn message_field_len(tag: u32, body_len: usize) -> usize {
    key_len(tag) + varint_len(body_len as u64) + body_len
}

/// Writes `value` as message field `tag`: key, the length `len` gives, the body `write`
/// writes. Debug builds check that the two agree.
fn put_message_field<T: ?Sized>(
    out: &mut Vec<u8>,
    tag: u32,
    value: &T,
    len: impl Fn(&T) -> usize,
    write: impl Fn(&mut Vec<u8>, &T),
) {
    let body_len = len(value);
    put_key(out, tag, WireType::LengthDelimited);
    put_varint(out, body_len as u64);
    let start = out.len();
    write(out, value);
    debug_assert_eq!(out.len() - start, body_len, "length of field {tag}");
}

// ---- messages, each a `*_len` and a `write_*` -----------------------------------------

/// Name and type are always written, as client_golang sets them.
fn family_len(family: &MetricFamily) -> usize {
    string_field_len(1, &family.name)
        + family
            .help
            .as_deref()
            .map_or(0, |help| string_field_len(2, help))
        + varint_field_len(3, int32(family.metric_type.proto_number()))
        + family
            .metrics
            .iter()
            .map(|metric| message_field_len(4, metric_len(metric)))
            .sum::<usize>()
        + family
            .unit
            .as_deref()
            .map_or(0, |unit| string_field_len(5, unit))
}

fn write_family(out: &mut Vec<u8>, family: &MetricFamily) {
    put_string_field(out, 1, &family.name);
    if let Some(help) = &family.help {
        put_string_field(out, 2, help);
    }
    put_varint_field(out, 3, int32(family.metric_type.proto_number()));
    for metric in &family.metrics {
        put_message_field(out, 4, metric, metric_len, write_metric);
    }
    if let Some(unit) = &family.unit {
        put_string_field(out, 5, unit);
    }
}

/// The value's field, `timestamp_ms` (6) and the histogram (7) in tag order: a histogram
/// comes after the timestamp, every other value before it.
fn metric_len(metric: &Metric) -> usize {
    let value = match &metric.value {
        Value::Gauge(_) => message_field_len(2, double_field_len(1)),
        Value::Counter(counter) => message_field_len(3, counter_len(counter)),
        Value::Summary(summary) => message_field_len(4, summary_len(summary)),
        Value::Untyped(_) => message_field_len(5, double_field_len(1)),
        Value::Histogram(histogram) => message_field_len(7, histogram_len(histogram)),
        Value::Unset => 0,
    };
    labels_len(1, &metric.labels)
        + value
        + metric
            .timestamp_ms
            .map_or(0, |ms| varint_field_len(6, ms as u64))
}

fn write_metric(out: &mut Vec<u8>, metric: &Metric) {
    put_labels(out, 1, &metric.labels);
    match &metric.value {
        Value::Gauge(value) => put_single_value(out, 2, *value),
        Value::Counter(counter) => put_message_field(out, 3, counter, counter_len, write_counter),
        Value::Summary(summary) => {
            put_message_field(out, 4, &**summary, summary_len, write_summary)
        }
        Value::Untyped(value) => put_single_value(out, 5, *value),
        Value::Histogram(_) | Value::Unset => {}
    }
    if let Some(ms) = metric.timestamp_ms {
        put_varint_field(out, 6, ms as u64);
    }
    if let Value::Histogram(histogram) = &metric.value {
        put_message_field(out, 7, &**histogram, histogram_len, write_histogram);
    }
}

/// A `Gauge` or `Untyped` message as field `tag`: its one `value` field, always written.
fn put_single_value(out: &mut Vec<u8>, tag: u32, value: f64) {
    put_key(out, tag, WireType::LengthDelimited);
    put_varint(out, double_field_len(1) as u64);
    put_double_field(out, 1, value);
}

/// Repeated `LabelPair` field `tag`; name and value are always written.
fn labels_len(tag: u32, labels: &[Label]) -> usize {
    pairs_len(tag, labels.iter().map(as_pair))
}

fn put_labels(out: &mut Vec<u8>, tag: u32, labels: &[Label]) {
    put_pairs(out, tag, labels.iter().map(as_pair));
}

fn as_pair(label: &Label) -> (&str, &str) {
    (&label.name, &label.value)
}

/// [`labels_len`] for labels given as `(name, value)` pairs.
fn pairs_len<'a>(tag: u32, pairs: impl Iterator<Item = (&'a str, &'a str)>) -> usize {
    pairs
        .map(|pair| message_field_len(tag, pair_len(&pair)))
        .sum()
}

/// [`put_labels`] for labels given as `(name, value)` pairs.
fn put_pairs<'a>(out: &mut Vec<u8>, tag: u32, pairs: impl Iterator<Item = (&'a str, &'a str)>) {
    for pair in pairs {
        put_message_field(out, tag, &pair, pair_len, write_pair);
    }
}

fn pair_len((name, value): &(&str, &str)) -> usize {
    string_field_len(1, name) + string_field_len(2, value)
}

fn write_pair(out: &mut Vec<u8>, (name, value): &(&str, &str)) {
    put_string_field(out, 1, name);
    put_string_field(out, 2, value);
}

/// `google.protobuf.Timestamp` is proto3: each field is written only when it is not zero.
fn timestamp_len(timestamp: &Timestamp) -> usize {
    let seconds = match timestamp.seconds {
        0 => 0,
        seconds => varint_field_len(1, seconds as u64),
    };
    let nanos = match timestamp.nanos {
        0 => 0,
        nanos => varint_field_len(2, int32(nanos)),
    };
    seconds + nanos
}

fn write_timestamp(out: &mut Vec<u8>, timestamp: &Timestamp) {
    if timestamp.seconds != 0 {
        put_varint_field(out, 1, timestamp.seconds as u64);
    }
    if timestamp.nanos != 0 {
        put_varint_field(out, 2, int32(timestamp.nanos));
    }
}

fn timestamp_field_len(tag: u32, timestamp: Option<&Timestamp>) -> usize {
    timestamp.map_or(0, |t| message_field_len(tag, timestamp_len(t)))
}

fn put_timestamp_field(out: &mut Vec<u8>, tag: u32, timestamp: Option<&Timestamp>) {
    if let Some(timestamp) = timestamp {
        put_message_field(out, tag, timestamp, timestamp_len, write_timestamp);
    }
}

/// The value is always written.
fn exemplar_len(exemplar: &Exemplar) -> usize {
    labels_len(1, &exemplar.labels)
        + double_field_len(2)
        + timestamp_field_len(3, exemplar.timestamp.as_ref())
}

fn write_exemplar(out: &mut Vec<u8>, exemplar: &Exemplar) {
    put_labels(out, 1, &exemplar.labels);
    put_double_field(out, 2, exemplar.value);
    put_timestamp_field(out, 3, exemplar.timestamp.as_ref());
}

/// The value is always written.
fn counter_len(counter: &Counter) -> usize {
    double_field_len(1)
        + counter
            .exemplar
            .as_deref()
            .map_or(0, |e| message_field_len(2, exemplar_len(e)))
        + timestamp_field_len(3, counter.created.as_ref())
}

fn write_counter(out: &mut Vec<u8>, counter: &Counter) {
    put_double_field(out, 1, counter.value);
    if let Some(exemplar) = counter.exemplar.as_deref() {
        put_message_field(out, 2, exemplar, exemplar_len, write_exemplar);
    }
    put_timestamp_field(out, 3, counter.created.as_ref());
}

/// Both fields are always written.
fn quantile_len(_: &Quantile) -> usize {
    double_field_len(1) + double_field_len(2)
}

fn write_quantile(out: &mut Vec<u8>, quantile: &Quantile) {
    put_double_field(out, 1, quantile.quantile);
    put_double_field(out, 2, quantile.value);
}

/// Count and sum are always written.
fn summary_len(summary: &Summary) -> usize {
    varint_field_len(1, summary.sample_count)
        + double_field_len(2)
        + summary
            .quantiles
            .iter()
            .map(|q| message_field_len(3, quantile_len(q)))
            .sum::<usize>()
        + timestamp_field_len(4, summary.created.as_ref())
}

fn write_summary(out: &mut Vec<u8>, summary: &Summary) {
    put_varint_field(out, 1, summary.sample_count);
    put_double_field(out, 2, summary.sample_sum);
    for quantile in &summary.quantiles {
        put_message_field(out, 3, quantile, quantile_len, write_quantile);
    }
    put_timestamp_field(out, 4, summary.created.as_ref());
}

/// Count and upper bound are always written, the float count only when it is set.
fn bucket_len(bucket: &Bucket) -> usize {
    varint_field_len(1, bucket.cumulative_count)
        + double_field_len(2)
        + bucket
            .exemplar
            .as_ref()
            .map_or(0, |e| message_field_len(3, exemplar_len(e)))
        + float_if_set_len(4, bucket.cumulative_count_float)
}

fn write_bucket(out: &mut Vec<u8>, bucket: &Bucket) {
    put_varint_field(out, 1, bucket.cumulative_count);
    put_double_field(out, 2, bucket.upper_bound);
    if let Some(exemplar) = &bucket.exemplar {
        put_message_field(out, 3, exemplar, exemplar_len, write_exemplar);
    }
    put_float_if_set(out, 4, bucket.cumulative_count_float);
}

/// Offset and length are always written.
fn span_len(span: &BucketSpan) -> usize {
    varint_field_len(1, sint32(span.offset)) + varint_field_len(2, u64::from(span.length))
}

fn write_span(out: &mut Vec<u8>, span: &BucketSpan) {
    put_varint_field(out, 1, sint32(span.offset));
    put_varint_field(out, 2, u64::from(span.length));
}

fn spans_len(tag: u32, spans: &[BucketSpan]) -> usize {
    spans
        .iter()
        .map(|span| message_field_len(tag, span_len(span)))
        .sum()
}

fn put_spans(out: &mut Vec<u8>, tag: u32, spans: &[BucketSpan]) {
    for span in spans {
        put_message_field(out, tag, span, span_len, write_span);
    }
}

/// Unpacked: one key per element, as proto2 declares these fields.
fn deltas_len(tag: u32, deltas: &[i64]) -> usize {
    deltas
        .iter()
        .map(|&delta| varint_field_len(tag, sint64(delta)))
        .sum()
}

fn put_deltas(out: &mut Vec<u8>, tag: u32, deltas: &[i64]) {
    for &delta in deltas {
        put_varint_field(out, tag, sint64(delta));
    }
}

/// Unpacked, like the deltas.
fn counts_len(tag: u32, counts: &[f64]) -> usize {
    counts.len() * double_field_len(tag)
}

fn put_counts(out: &mut Vec<u8>, tag: u32, counts: &[f64]) {
    for &count in counts {
        put_double_field(out, tag, count);
    }
}

/// What a native histogram always carries: schema, zero threshold and zero count
/// (client_golang sets all three). A classic one carries each only when it is not zero.
struct NativeFields {
    schema: bool,
    zero_threshold: bool,
    zero_count: bool,
}

impl NativeFields {
    fn of(histogram: &Histogram) -> NativeFields {
        let native = histogram.is_native();
        NativeFields {
            schema: native || histogram.schema != 0,
            zero_threshold: native || histogram.zero_threshold.to_bits() != 0,
            zero_count: native || histogram.zero_count != 0,
        }
    }
}

/// Count and sum are always written; see [`NativeFields`] for schema and zero bucket.
fn histogram_len(histogram: &Histogram) -> usize {
    let native = NativeFields::of(histogram);
    let mut len = varint_field_len(1, histogram.sample_count)
        + double_field_len(2)
        + histogram
            .buckets
            .iter()
            .map(|b| message_field_len(3, bucket_len(b)))
            .sum::<usize>()
        + float_if_set_len(4, histogram.sample_count_float);
    if native.schema {
        len += varint_field_len(5, sint32(histogram.schema));
    }
    if native.zero_threshold {
        len += double_field_len(6);
    }
    if native.zero_count {
        len += varint_field_len(7, histogram.zero_count);
    }
    len + float_if_set_len(8, histogram.zero_count_float)
        + spans_len(9, &histogram.negative_spans)
        + deltas_len(10, &histogram.negative_deltas)
        + counts_len(11, &histogram.negative_counts)
        + spans_len(12, &histogram.positive_spans)
        + deltas_len(13, &histogram.positive_deltas)
        + counts_len(14, &histogram.positive_counts)
        + timestamp_field_len(15, histogram.created.as_ref())
        + histogram
            .exemplars
            .iter()
            .map(|e| message_field_len(16, exemplar_len(e)))
            .sum::<usize>()
}

fn write_histogram(out: &mut Vec<u8>, histogram: &Histogram) {
    let native = NativeFields::of(histogram);
    put_varint_field(out, 1, histogram.sample_count);
    put_double_field(out, 2, histogram.sample_sum);
    for bucket in &histogram.buckets {
        put_message_field(out, 3, bucket, bucket_len, write_bucket);
    }
    put_float_if_set(out, 4, histogram.sample_count_float);
    if native.schema {
        put_varint_field(out, 5, sint32(histogram.schema));
    }
    if native.zero_threshold {
        put_double_field(out, 6, histogram.zero_threshold);
    }
    if native.zero_count {
        put_varint_field(out, 7, histogram.zero_count);
    }
    put_float_if_set(out, 8, histogram.zero_count_float);
    put_spans(out, 9, &histogram.negative_spans);
    put_deltas(out, 10, &histogram.negative_deltas);
    put_counts(out, 11, &histogram.negative_counts);
    put_spans(out, 12, &histogram.positive_spans);
    put_deltas(out, 13, &histogram.positive_deltas);
    put_counts(out, 14, &histogram.positive_counts);
    put_timestamp_field(out, 15, histogram.created.as_ref());
    for exemplar in &histogram.exemplars {
        put_message_field(out, 16, exemplar, exemplar_len, write_exemplar);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use prost::Message as _;

    use super::*;
    use crate::MetricType;
    use crate::proto::convert::to_message::family_to_message;

    /// What the encoder wrote when it went through prost messages.
    fn via_messages(family: &MetricFamily) -> Vec<u8> {
        family_to_message(family).encode_length_delimited_to_vec()
    }

    fn direct(family: &MetricFamily) -> Vec<u8> {
        let mut out = Vec::new();
        family_delimited(&mut out, family);
        out
    }

    // Values lean on the edges where a field is or is not written: zero, `-0.0`, NaN with
    // any payload, negative `int32`s, strings long enough for a two-byte length.

    fn float() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(1.5),
            any::<u64>().prop_map(f64::from_bits),
        ]
    }

    fn uint() -> impl Strategy<Value = u64> {
        prop_oneof![Just(0u64), Just(127), Just(128), any::<u64>()]
    }

    fn int32() -> impl Strategy<Value = i32> {
        prop_oneof![Just(0i32), Just(-1), Just(1), any::<i32>()]
    }

    fn int64() -> impl Strategy<Value = i64> {
        prop_oneof![Just(0i64), Just(-1), Just(1), any::<i64>()]
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            prop::collection::vec(any::<char>(), 1..4).prop_map(String::from_iter),
            (120usize..140).prop_map(|n| "é".repeat(n)),
        ]
    }

    fn labels() -> impl Strategy<Value = Vec<Label>> {
        prop::collection::vec((text(), text()).prop_map(|(n, v)| Label::new(n, v)), 0..3)
    }

    fn timestamp() -> impl Strategy<Value = Option<Timestamp>> {
        prop::option::of(
            (int64(), int32()).prop_map(|(seconds, nanos)| Timestamp { seconds, nanos }),
        )
    }

    fn exemplar() -> impl Strategy<Value = Exemplar> {
        (labels(), float(), timestamp()).prop_map(|(labels, value, timestamp)| Exemplar {
            labels,
            value,
            timestamp,
        })
    }

    fn spans() -> impl Strategy<Value = Vec<BucketSpan>> {
        prop_oneof![
            Just(Vec::new()),
            prop::collection::vec(
                (int32(), any::<u32>()).prop_map(|(offset, length)| BucketSpan { offset, length }),
                1..3,
            ),
        ]
    }

    fn histogram() -> impl Strategy<Value = Histogram> {
        let bucket = (uint(), float(), float(), prop::option::of(exemplar())).prop_map(
            |(cumulative_count, cumulative_count_float, upper_bound, exemplar)| Bucket {
                cumulative_count,
                cumulative_count_float,
                upper_bound,
                exemplar,
            },
        );
        let classic = (
            uint(),
            float(),
            float(),
            prop::collection::vec(bucket, 0..3),
            timestamp(),
        );
        let zero = (int32(), float(), uint(), float());
        let side = || {
            (
                spans(),
                prop::collection::vec(int64(), 0..3),
                prop::collection::vec(float(), 0..3),
            )
        };
        let exemplars = prop::collection::vec(exemplar(), 0..2);
        (classic, zero, side(), side(), exemplars).prop_map(
            |(
                (sample_count, sample_count_float, sample_sum, buckets, created),
                (schema, zero_threshold, zero_count, zero_count_float),
                (negative_spans, negative_deltas, negative_counts),
                (positive_spans, positive_deltas, positive_counts),
                exemplars,
            )| Histogram {
                sample_count,
                sample_count_float,
                sample_sum,
                buckets,
                created,
                schema,
                zero_threshold,
                zero_count,
                zero_count_float,
                negative_spans,
                negative_deltas,
                negative_counts,
                positive_spans,
                positive_deltas,
                positive_counts,
                exemplars,
            },
        )
    }

    fn value() -> impl Strategy<Value = Value> {
        let counter = (float(), timestamp(), prop::option::of(exemplar())).prop_map(
            |(value, created, exemplar)| Counter {
                value,
                created,
                exemplar: exemplar.map(Box::new),
            },
        );
        let quantile =
            (float(), float()).prop_map(|(quantile, value)| Quantile { quantile, value });
        let summary = (
            uint(),
            float(),
            prop::collection::vec(quantile, 0..3),
            timestamp(),
        )
            .prop_map(|(sample_count, sample_sum, quantiles, created)| Summary {
                sample_count,
                sample_sum,
                quantiles,
                created,
            });
        prop_oneof![
            Just(Value::Unset),
            float().prop_map(Value::Gauge),
            float().prop_map(Value::Untyped),
            counter.prop_map(Value::Counter),
            summary.prop_map(|s| Value::Summary(Box::new(s))),
            histogram().prop_map(|h| Value::Histogram(Box::new(h))),
        ]
    }

    fn metric_family() -> impl Strategy<Value = MetricFamily> {
        let metric = (labels(), value(), prop::option::of(int64())).prop_map(
            |(labels, value, timestamp_ms)| Metric {
                labels,
                value,
                timestamp_ms,
            },
        );
        (
            text(),
            prop::option::of(text()),
            prop::sample::select(MetricType::ALL.to_vec()),
            prop::option::of(text()),
            prop::collection::vec(metric, 0..4),
        )
            .prop_map(|(name, help, metric_type, unit, metrics)| MetricFamily {
                name,
                help,
                metric_type,
                unit,
                metrics,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn direct_encoding_matches_the_prost_messages(family in metric_family()) {
            prop_assert_eq!(direct(&family), via_messages(&family));
        }
    }

    #[test]
    fn direct_encoding_appends_after_what_out_holds() {
        let family = MetricFamily {
            name: "a".into(),
            help: Some("h".repeat(300)),
            metric_type: MetricType::Gauge,
            unit: None,
            metrics: vec![
                Metric {
                    labels: vec![Label::new("k", "v")],
                    value: Value::Gauge(-0.0),
                    timestamp_ms: Some(-1),
                };
                3
            ],
        };
        let mut out = b"before".to_vec();
        family_delimited(&mut out, &family);
        assert_eq!(&out[..6], b"before");
        assert_eq!(out[6..], via_messages(&family));
    }

    #[test]
    fn non_native_histogram_writes_only_set_zero_bucket_fields() {
        // Classic: no spans, no positive zero threshold or count. A schema, a negative
        // zero threshold and a NaN are not defaults, so they are written.
        let histograms = [
            Histogram::default(),
            Histogram {
                schema: -4,
                zero_threshold: -0.0,
                zero_count_float: f64::NAN,
                ..Histogram::default()
            },
            Histogram {
                zero_threshold: f64::from_bits(0x7ff8_0000_0000_0001),
                sample_count_float: -0.0,
                ..Histogram::default()
            },
        ];
        for histogram in histograms {
            assert!(!histogram.is_native());
            let family = MetricFamily {
                name: "h".into(),
                help: None,
                metric_type: MetricType::Histogram,
                unit: None,
                metrics: vec![Metric {
                    labels: vec![],
                    value: Value::Histogram(Box::new(histogram)),
                    timestamp_ms: Some(7),
                }],
            };
            assert_eq!(direct(&family), via_messages(&family));
        }
    }
}
