//! The `io.prometheus.client` protobuf messages, derived by hand for prost.
//!
//! Field numbers and scalar kinds follow `prometheus/client_model`'s `metrics.proto`
//! (proto2) as its generated Go code tags them: every scalar is `optional` (presence is
//! tracked, so encoding writes exactly the fields that are set), and the repeated scalars
//! (`*_delta`, `*_count`) are **unpacked**, as proto2 declares them without
//! `[packed = true]`. The decoder accepts packed and unpacked encodings alike. The encoder
//! (`encode.rs`) writes from the model directly; these messages only encode in its tests.
//!
//! Sub-messages that are large or rarely set are boxed, so that a run of empty `Metric` or
//! `Bucket` entries (two bytes each on the wire) stays small in memory.

/// `io.prometheus.client.LabelPair`.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct LabelPair {
    #[prost(string, optional, tag = "1")]
    pub(super) name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub(super) value: Option<String>,
}

/// `io.prometheus.client.Gauge`.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Gauge {
    #[prost(double, optional, tag = "1")]
    pub(super) value: Option<f64>,
}

/// `io.prometheus.client.Counter`.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Counter {
    #[prost(double, optional, tag = "1")]
    pub(super) value: Option<f64>,
    #[prost(message, optional, boxed, tag = "2")]
    pub(super) exemplar: Option<Box<Exemplar>>,
    #[prost(message, optional, tag = "3")]
    pub(super) created_timestamp: Option<Timestamp>,
}

/// `io.prometheus.client.Quantile`.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Quantile {
    #[prost(double, optional, tag = "1")]
    pub(super) quantile: Option<f64>,
    #[prost(double, optional, tag = "2")]
    pub(super) value: Option<f64>,
}

/// `io.prometheus.client.Summary`.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Summary {
    #[prost(uint64, optional, tag = "1")]
    pub(super) sample_count: Option<u64>,
    #[prost(double, optional, tag = "2")]
    pub(super) sample_sum: Option<f64>,
    #[prost(message, repeated, tag = "3")]
    pub(super) quantile: Vec<Quantile>,
    #[prost(message, optional, tag = "4")]
    pub(super) created_timestamp: Option<Timestamp>,
}

/// `io.prometheus.client.Untyped`.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Untyped {
    #[prost(double, optional, tag = "1")]
    pub(super) value: Option<f64>,
}

/// `io.prometheus.client.Histogram`.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Histogram {
    #[prost(uint64, optional, tag = "1")]
    pub(super) sample_count: Option<u64>,
    #[prost(double, optional, tag = "4")]
    pub(super) sample_count_float: Option<f64>,
    #[prost(double, optional, tag = "2")]
    pub(super) sample_sum: Option<f64>,
    #[prost(message, repeated, tag = "3")]
    pub(super) bucket: Vec<Bucket>,
    #[prost(message, optional, tag = "15")]
    pub(super) created_timestamp: Option<Timestamp>,
    #[prost(sint32, optional, tag = "5")]
    pub(super) schema: Option<i32>,
    #[prost(double, optional, tag = "6")]
    pub(super) zero_threshold: Option<f64>,
    #[prost(uint64, optional, tag = "7")]
    pub(super) zero_count: Option<u64>,
    #[prost(double, optional, tag = "8")]
    pub(super) zero_count_float: Option<f64>,
    #[prost(message, repeated, tag = "9")]
    pub(super) negative_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, packed = "false", tag = "10")]
    pub(super) negative_delta: Vec<i64>,
    #[prost(double, repeated, packed = "false", tag = "11")]
    pub(super) negative_count: Vec<f64>,
    #[prost(message, repeated, tag = "12")]
    pub(super) positive_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, packed = "false", tag = "13")]
    pub(super) positive_delta: Vec<i64>,
    #[prost(double, repeated, packed = "false", tag = "14")]
    pub(super) positive_count: Vec<f64>,
    #[prost(message, repeated, tag = "16")]
    pub(super) exemplars: Vec<Exemplar>,
}

/// `io.prometheus.client.Bucket`, one classic histogram bucket.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Bucket {
    #[prost(uint64, optional, tag = "1")]
    pub(super) cumulative_count: Option<u64>,
    #[prost(double, optional, tag = "4")]
    pub(super) cumulative_count_float: Option<f64>,
    #[prost(double, optional, tag = "2")]
    pub(super) upper_bound: Option<f64>,
    #[prost(message, optional, boxed, tag = "3")]
    pub(super) exemplar: Option<Box<Exemplar>>,
}

/// `io.prometheus.client.BucketSpan`, a run of native histogram buckets.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct BucketSpan {
    #[prost(sint32, optional, tag = "1")]
    pub(super) offset: Option<i32>,
    #[prost(uint32, optional, tag = "2")]
    pub(super) length: Option<u32>,
}

/// `io.prometheus.client.Exemplar`.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Exemplar {
    #[prost(message, repeated, tag = "1")]
    pub(super) label: Vec<LabelPair>,
    #[prost(double, optional, tag = "2")]
    pub(super) value: Option<f64>,
    #[prost(message, optional, tag = "3")]
    pub(super) timestamp: Option<Timestamp>,
}

/// `io.prometheus.client.Metric`, one series.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Metric {
    #[prost(message, repeated, tag = "1")]
    pub(super) label: Vec<LabelPair>,
    #[prost(message, optional, tag = "2")]
    pub(super) gauge: Option<Gauge>,
    #[prost(message, optional, boxed, tag = "3")]
    pub(super) counter: Option<Box<Counter>>,
    #[prost(message, optional, boxed, tag = "4")]
    pub(super) summary: Option<Box<Summary>>,
    #[prost(message, optional, tag = "5")]
    pub(super) untyped: Option<Untyped>,
    #[prost(message, optional, boxed, tag = "7")]
    pub(super) histogram: Option<Box<Histogram>>,
    #[prost(int64, optional, tag = "6")]
    pub(super) timestamp_ms: Option<i64>,
}

/// `io.prometheus.client.MetricFamily`, the unit of the delimited stream.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct MetricFamily {
    #[prost(string, optional, tag = "1")]
    pub(super) name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub(super) help: Option<String>,
    /// The `MetricType` enum, kept as its number: the decoder decides what an unknown
    /// number means (prost would otherwise accept any `i32` silently).
    #[prost(int32, optional, tag = "3")]
    pub(super) r#type: Option<i32>,
    #[prost(message, repeated, tag = "4")]
    pub(super) metric: Vec<Metric>,
    #[prost(string, optional, tag = "5")]
    pub(super) unit: Option<String>,
}

/// `google.protobuf.Timestamp` (proto3: each field is written only when non-zero).
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub(super) struct Timestamp {
    #[prost(int64, tag = "1")]
    pub(super) seconds: i64,
    #[prost(int32, tag = "2")]
    pub(super) nanos: i32,
}
