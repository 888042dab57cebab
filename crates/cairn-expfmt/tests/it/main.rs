//! Integration tests of cairn-expfmt, linked into one test binary.

mod encode;
mod limits;
mod proto;
mod roundtrip;
mod text_parse;

use cairn_expfmt::{Counter, Label, Metric, MetricType, SampleKind, Value};

/// A counter, gauge or untyped metric (`kind` 0, 1 or 2) with these labels, this value and
/// nothing else, with its family's type and its kind as a sample: what the tests of the
/// writers of plain samples from label pairs compare with.
fn plain_metric(
    kind: usize,
    labels: &[(String, String)],
    value: f64,
) -> (MetricType, SampleKind, Metric) {
    let (metric_type, sample_kind, value) = [
        (
            MetricType::Counter,
            SampleKind::Counter,
            Value::Counter(Counter {
                value,
                ..Counter::default()
            }),
        ),
        (MetricType::Gauge, SampleKind::Gauge, Value::Gauge(value)),
        (
            MetricType::Untyped,
            SampleKind::Untyped,
            Value::Untyped(value),
        ),
    ][kind]
        .clone();
    let metric = Metric {
        labels: labels.iter().map(|(n, v)| Label::new(n, v)).collect(),
        value,
        timestamp_ms: None,
    };
    (metric_type, sample_kind, metric)
}
