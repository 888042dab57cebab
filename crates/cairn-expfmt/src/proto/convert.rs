//! Explicit conversions from the decoded protobuf messages to the model, and back in tests.
//!
//! Decoding is total except for an unknown `MetricType` number. The way back exists only in
//! tests, as the reference the direct encoder (`encode.rs`) is checked against byte for
//! byte: it sets the fields a Go client (client_golang) always sets, even at their default
//! value, and any other field only when it differs from its default; floats compare by
//! bits, so `-0.0` and NaN survive.

use super::ProtoDecodeError;
use super::messages as msg;
use crate::{
    Bucket, BucketSpan, Counter, Exemplar, Histogram, Label, Metric, MetricFamily, MetricType,
    Quantile, Summary, Timestamp, Value,
};

// ---- messages -> model ----------------------------------------------------------------

/// The model of one decoded `MetricFamily`, the one whose length prefix is at `offset`.
///
/// A missing `type` is `COUNTER`, the enum's default, as Go's `GetType()` reads it. An
/// unknown number is an error: Go keeps it (its enums are open) and then fails every text
/// scrape of the group, while the model has no value for it.
pub(super) fn family_from_message(
    message: msg::MetricFamily,
    offset: usize,
) -> Result<MetricFamily, ProtoDecodeError> {
    let name = message.name.unwrap_or_default();
    let metric_type = match message.r#type {
        None => MetricType::Counter,
        Some(number) => match MetricType::from_proto_number(number) {
            Some(metric_type) => metric_type,
            None => {
                return Err(ProtoDecodeError::UnknownMetricType {
                    offset,
                    name,
                    number,
                });
            }
        },
    };
    let metrics = message
        .metric
        .into_iter()
        .map(|m| metric_from_message(m, metric_type))
        .collect();
    Ok(MetricFamily {
        name,
        help: message.help,
        metric_type,
        unit: message.unit,
        metrics,
    })
}

/// One series. Of several value fields, the one matching the family's type wins; failing
/// that, the first present in field order (gauge, counter, summary, untyped, histogram),
/// which the store's consistency check then rejects as the reference's does.
fn metric_from_message(mut message: msg::Metric, metric_type: MetricType) -> Metric {
    let matching = match metric_type {
        MetricType::Counter => message.counter.take().map(|c| Value::Counter(counter(*c))),
        MetricType::Gauge => message
            .gauge
            .take()
            .map(|g| Value::Gauge(g.value.unwrap_or(0.0))),
        MetricType::Summary => message
            .summary
            .take()
            .map(|s| Value::Summary(Box::new(summary(*s)))),
        MetricType::Untyped => message
            .untyped
            .take()
            .map(|u| Value::Untyped(u.value.unwrap_or(0.0))),
        MetricType::Histogram | MetricType::GaugeHistogram => message
            .histogram
            .take()
            .map(|h| Value::Histogram(Box::new(histogram(*h)))),
    };
    let value = matching
        .or_else(|| message.gauge.map(|g| Value::Gauge(g.value.unwrap_or(0.0))))
        .or_else(|| message.counter.map(|c| Value::Counter(counter(*c))))
        .or_else(|| {
            message
                .summary
                .map(|s| Value::Summary(Box::new(summary(*s))))
        })
        .or_else(|| {
            message
                .untyped
                .map(|u| Value::Untyped(u.value.unwrap_or(0.0)))
        })
        .or_else(|| {
            message
                .histogram
                .map(|h| Value::Histogram(Box::new(histogram(*h))))
        })
        .unwrap_or(Value::Unset);
    Metric {
        labels: labels(message.label),
        value,
        timestamp_ms: message.timestamp_ms,
    }
}

fn labels(pairs: Vec<msg::LabelPair>) -> Vec<Label> {
    pairs
        .into_iter()
        .map(|pair| Label {
            name: pair.name.unwrap_or_default(),
            value: pair.value.unwrap_or_default(),
        })
        .collect()
}

fn timestamp(message: msg::Timestamp) -> Timestamp {
    Timestamp {
        seconds: message.seconds,
        nanos: message.nanos,
    }
}

fn exemplar(message: msg::Exemplar) -> Exemplar {
    Exemplar {
        labels: labels(message.label),
        value: message.value.unwrap_or(0.0),
        timestamp: message.timestamp.map(timestamp),
    }
}

fn counter(message: msg::Counter) -> Counter {
    Counter {
        value: message.value.unwrap_or(0.0),
        created: message.created_timestamp.map(timestamp),
        exemplar: message.exemplar.map(|e| Box::new(exemplar(*e))),
    }
}

fn summary(message: msg::Summary) -> Summary {
    Summary {
        sample_count: message.sample_count.unwrap_or(0),
        sample_sum: message.sample_sum.unwrap_or(0.0),
        quantiles: message
            .quantile
            .into_iter()
            .map(|q| Quantile {
                quantile: q.quantile.unwrap_or(0.0),
                value: q.value.unwrap_or(0.0),
            })
            .collect(),
        created: message.created_timestamp.map(timestamp),
    }
}

fn spans(spans: Vec<msg::BucketSpan>) -> Vec<BucketSpan> {
    spans
        .into_iter()
        .map(|s| BucketSpan {
            offset: s.offset.unwrap_or(0),
            length: s.length.unwrap_or(0),
        })
        .collect()
}

fn histogram(message: msg::Histogram) -> Histogram {
    Histogram {
        sample_count: message.sample_count.unwrap_or(0),
        sample_count_float: message.sample_count_float.unwrap_or(0.0),
        sample_sum: message.sample_sum.unwrap_or(0.0),
        buckets: message
            .bucket
            .into_iter()
            .map(|b| Bucket {
                cumulative_count: b.cumulative_count.unwrap_or(0),
                cumulative_count_float: b.cumulative_count_float.unwrap_or(0.0),
                upper_bound: b.upper_bound.unwrap_or(0.0),
                exemplar: b.exemplar.map(|e| exemplar(*e)),
            })
            .collect(),
        created: message.created_timestamp.map(timestamp),
        schema: message.schema.unwrap_or(0),
        zero_threshold: message.zero_threshold.unwrap_or(0.0),
        zero_count: message.zero_count.unwrap_or(0),
        zero_count_float: message.zero_count_float.unwrap_or(0.0),
        negative_spans: spans(message.negative_span),
        negative_deltas: message.negative_delta,
        negative_counts: message.negative_count,
        positive_spans: spans(message.positive_span),
        positive_deltas: message.positive_delta,
        positive_counts: message.positive_count,
        exemplars: message.exemplars.into_iter().map(exemplar).collect(),
    }
}

// ---- model -> messages, in tests ------------------------------------------------------

/// The model as prost messages, whose prost encoding is the reference the direct encoder
/// (`encode.rs`) is checked against, byte for byte.
#[cfg(test)]
pub(super) mod to_message {
    use super::*;

    /// `Some(value)` unless it is `+0.0` (by bits: `-0.0` and NaN are written).
    fn float_if_set(value: f64) -> Option<f64> {
        (value.to_bits() != 0).then_some(value)
    }

    fn u64_if_set(value: u64) -> Option<u64> {
        (value != 0).then_some(value)
    }

    /// The message for `family`. Name and type are always set, as client_golang sets them.
    pub(in crate::proto) fn family_to_message(family: &MetricFamily) -> msg::MetricFamily {
        msg::MetricFamily {
            name: Some(family.name.clone()),
            help: family.help.clone(),
            r#type: Some(family.metric_type.proto_number()),
            metric: family.metrics.iter().map(metric_to_message).collect(),
            unit: family.unit.clone(),
        }
    }

    fn metric_to_message(metric: &Metric) -> msg::Metric {
        let mut message = msg::Metric {
            label: label_messages(&metric.labels),
            gauge: None,
            counter: None,
            summary: None,
            untyped: None,
            histogram: None,
            timestamp_ms: metric.timestamp_ms,
        };
        match &metric.value {
            Value::Counter(c) => message.counter = Some(Box::new(counter_message(c))),
            Value::Gauge(v) => message.gauge = Some(msg::Gauge { value: Some(*v) }),
            Value::Untyped(v) => message.untyped = Some(msg::Untyped { value: Some(*v) }),
            Value::Summary(s) => message.summary = Some(Box::new(summary_message(s))),
            Value::Histogram(h) => message.histogram = Some(Box::new(histogram_message(h))),
            Value::Unset => {}
        }
        message
    }

    fn label_messages(labels: &[Label]) -> Vec<msg::LabelPair> {
        labels
            .iter()
            .map(|l| msg::LabelPair {
                name: Some(l.name.clone()),
                value: Some(l.value.clone()),
            })
            .collect()
    }

    fn timestamp_message(timestamp: &Timestamp) -> msg::Timestamp {
        msg::Timestamp {
            seconds: timestamp.seconds,
            nanos: timestamp.nanos,
        }
    }

    fn exemplar_message(exemplar: &Exemplar) -> msg::Exemplar {
        msg::Exemplar {
            label: label_messages(&exemplar.labels),
            value: Some(exemplar.value),
            timestamp: exemplar.timestamp.as_ref().map(timestamp_message),
        }
    }

    fn counter_message(counter: &Counter) -> msg::Counter {
        msg::Counter {
            value: Some(counter.value),
            exemplar: counter
                .exemplar
                .as_ref()
                .map(|e| Box::new(exemplar_message(e))),
            created_timestamp: counter.created.as_ref().map(timestamp_message),
        }
    }

    fn summary_message(summary: &Summary) -> msg::Summary {
        msg::Summary {
            sample_count: Some(summary.sample_count),
            sample_sum: Some(summary.sample_sum),
            quantile: summary
                .quantiles
                .iter()
                .map(|q| msg::Quantile {
                    quantile: Some(q.quantile),
                    value: Some(q.value),
                })
                .collect(),
            created_timestamp: summary.created.as_ref().map(timestamp_message),
        }
    }

    fn span_messages(spans: &[BucketSpan]) -> Vec<msg::BucketSpan> {
        spans
            .iter()
            .map(|s| msg::BucketSpan {
                offset: Some(s.offset),
                length: Some(s.length),
            })
            .collect()
    }

    /// Count and sum are always set. A native histogram always carries its schema, zero
    /// threshold and zero count (client_golang sets all three); otherwise each is set only
    /// when it is not zero.
    fn histogram_message(histogram: &Histogram) -> msg::Histogram {
        let native = histogram.is_native();
        msg::Histogram {
            sample_count: Some(histogram.sample_count),
            sample_count_float: float_if_set(histogram.sample_count_float),
            sample_sum: Some(histogram.sample_sum),
            bucket: histogram
                .buckets
                .iter()
                .map(|b| msg::Bucket {
                    cumulative_count: Some(b.cumulative_count),
                    cumulative_count_float: float_if_set(b.cumulative_count_float),
                    upper_bound: Some(b.upper_bound),
                    exemplar: b.exemplar.as_ref().map(|e| Box::new(exemplar_message(e))),
                })
                .collect(),
            created_timestamp: histogram.created.as_ref().map(timestamp_message),
            schema: (native || histogram.schema != 0).then_some(histogram.schema),
            zero_threshold: if native {
                Some(histogram.zero_threshold)
            } else {
                float_if_set(histogram.zero_threshold)
            },
            zero_count: if native {
                Some(histogram.zero_count)
            } else {
                u64_if_set(histogram.zero_count)
            },
            zero_count_float: float_if_set(histogram.zero_count_float),
            negative_span: span_messages(&histogram.negative_spans),
            negative_delta: histogram.negative_deltas.clone(),
            negative_count: histogram.negative_counts.clone(),
            positive_span: span_messages(&histogram.positive_spans),
            positive_delta: histogram.positive_deltas.clone(),
            positive_count: histogram.positive_counts.clone(),
            exemplars: histogram.exemplars.iter().map(exemplar_message).collect(),
        }
    }
}
