//! The metric family model every format reads into and writes from.
//!
//! It mirrors `io.prometheus.client.MetricFamily` closely enough that a protobuf push is
//! exposed again unchanged (native histogram spans and deltas, float counts, created
//! timestamps, exemplars), while the text format only fills the parts it can express.

/// The type a metric family declares (`# TYPE` in text, `type` in protobuf).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetricType {
    /// `counter`.
    Counter,
    /// `gauge`.
    Gauge,
    /// `summary`.
    Summary,
    /// `untyped`, also what a family without `# TYPE` gets.
    Untyped,
    /// `histogram`.
    Histogram,
    /// Protobuf `GAUGE_HISTOGRAM`; text 0.0.4 shows it as `histogram`.
    GaugeHistogram,
}

impl MetricType {
    /// Every type, in protobuf enum order.
    pub const ALL: [MetricType; 6] = [
        MetricType::Counter,
        MetricType::Gauge,
        MetricType::Summary,
        MetricType::Untyped,
        MetricType::Histogram,
        MetricType::GaugeHistogram,
    ];

    /// The keyword of the text format 0.0.4 `# TYPE` line.
    pub fn text_name(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Summary => "summary",
            MetricType::Untyped => "untyped",
            MetricType::Histogram | MetricType::GaugeHistogram => "histogram",
        }
    }

    /// The protobuf enum name (`COUNTER`, ..., `GAUGE_HISTOGRAM`), as the JSON API shows it.
    pub fn proto_name(self) -> &'static str {
        match self {
            MetricType::Counter => "COUNTER",
            MetricType::Gauge => "GAUGE",
            MetricType::Summary => "SUMMARY",
            MetricType::Untyped => "UNTYPED",
            MetricType::Histogram => "HISTOGRAM",
            MetricType::GaugeHistogram => "GAUGE_HISTOGRAM",
        }
    }

    /// The protobuf enum number.
    pub fn proto_number(self) -> i32 {
        match self {
            MetricType::Counter => 0,
            MetricType::Gauge => 1,
            MetricType::Summary => 2,
            MetricType::Untyped => 3,
            MetricType::Histogram => 4,
            MetricType::GaugeHistogram => 5,
        }
    }

    /// The type with that protobuf enum number, if there is one.
    pub fn from_proto_number(number: i32) -> Option<MetricType> {
        MetricType::ALL
            .into_iter()
            .find(|t| t.proto_number() == number)
    }
}

/// One metric family: a name, its help and type, and its series.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricFamily {
    /// The metric name.
    pub name: String,
    /// `None` when no help was given; `Some("")` renders as `# HELP name ` (an empty help).
    pub help: Option<String>,
    /// The declared type.
    pub metric_type: MetricType,
    /// The unit (protobuf field 5), kept for re-exposition; text 0.0.4 has no unit.
    pub unit: Option<String>,
    /// The series, in the order they were read.
    pub metrics: Vec<Metric>,
}

/// One label pair.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    /// The label name.
    pub name: String,
    /// The label value.
    pub value: String,
}

impl Label {
    /// A label pair from anything string-like.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Label {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// One series of a family: its labels, its value and an optional timestamp.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// Label pairs, in the order they were read (the store sorts them by name).
    pub labels: Vec<Label>,
    /// The value, whose kind normally matches the family's type.
    pub value: Value,
    /// Milliseconds since the Unix epoch, if the sample carried one.
    pub timestamp_ms: Option<i64>,
}

/// The value of one series. Protobuf can carry a kind that does not match the family's
/// type, or none at all ([`Value::Unset`]); the store's consistency check rejects those.
///
/// Summaries and histograms are boxed so that the common case, a counter, gauge or untyped
/// value, keeps a [`Metric`] small: a store holds millions of them.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A counter.
    Counter(Counter),
    /// A gauge.
    Gauge(f64),
    /// An untyped value.
    Untyped(f64),
    /// A summary.
    Summary(Box<Summary>),
    /// A classic or native histogram (also for gauge histograms).
    Histogram(Box<Histogram>),
    /// A protobuf metric that set no value field.
    Unset,
}

/// A protobuf timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    pub seconds: i64,
    /// Nanoseconds within the second.
    pub nanos: i32,
}

/// An exemplar (protobuf only).
#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar {
    /// The exemplar's labels.
    pub labels: Vec<Label>,
    /// The observed value.
    pub value: f64,
    /// When it was observed.
    pub timestamp: Option<Timestamp>,
}

/// A counter's value and what only protobuf carries about it.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Counter {
    /// The count.
    pub value: f64,
    /// When the counter was created.
    pub created: Option<Timestamp>,
    /// An exemplar.
    pub exemplar: Option<Box<Exemplar>>,
}

/// One quantile of a summary.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Quantile {
    /// The quantile, 0 to 1.
    pub quantile: f64,
    /// Its value.
    pub value: f64,
}

/// A summary.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Summary {
    /// Number of observations.
    pub sample_count: u64,
    /// Sum of observations.
    pub sample_sum: f64,
    /// Quantiles, in the order they were read.
    pub quantiles: Vec<Quantile>,
    /// When the summary was created.
    pub created: Option<Timestamp>,
}

/// One classic histogram bucket.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Bucket {
    /// Cumulative count of observations up to `upper_bound`.
    pub cumulative_count: u64,
    /// The same as a float, for float histograms (0 when unused).
    pub cumulative_count_float: f64,
    /// The inclusive upper bound (`le`).
    pub upper_bound: f64,
    /// An exemplar.
    pub exemplar: Option<Exemplar>,
}

/// A run of consecutive native histogram buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct BucketSpan {
    /// Gap to the previous span, or the starting index of the first span.
    pub offset: i32,
    /// Number of consecutive buckets.
    pub length: u32,
}

/// A histogram: classic buckets, native (sparse) buckets, or both.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Histogram {
    /// Number of observations.
    pub sample_count: u64,
    /// Number of observations as a float, for float histograms (0 when unused).
    pub sample_count_float: f64,
    /// Sum of observations.
    pub sample_sum: f64,
    /// Classic buckets, in the order they were read.
    pub buckets: Vec<Bucket>,
    /// When the histogram was created.
    pub created: Option<Timestamp>,
    /// Native histogram schema (resolution).
    pub schema: i32,
    /// Width of the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// The same as a float, for float histograms.
    pub zero_count_float: f64,
    /// Spans of negative buckets.
    pub negative_spans: Vec<BucketSpan>,
    /// Negative bucket counts as deltas (integer histograms).
    pub negative_deltas: Vec<i64>,
    /// Negative bucket counts (float histograms).
    pub negative_counts: Vec<f64>,
    /// Spans of positive buckets.
    pub positive_spans: Vec<BucketSpan>,
    /// Positive bucket counts as deltas (integer histograms).
    pub positive_deltas: Vec<i64>,
    /// Positive bucket counts (float histograms).
    pub positive_counts: Vec<f64>,
    /// Exemplars of a native histogram.
    pub exemplars: Vec<Exemplar>,
}

impl Histogram {
    /// Whether this carries native buckets, by the same test the reference uses (any span,
    /// a zero threshold, or a zero count).
    pub fn is_native(&self) -> bool {
        !self.negative_spans.is_empty()
            || !self.positive_spans.is_empty()
            || self.zero_threshold > 0.0
            || self.zero_count > 0
            || self.zero_count_float > 0.0
    }
}
