//! Prometheus exposition formats for cairn: the metric family model, a text format 0.0.4
//! parser that accepts and rejects what the reference's Go parser does, a protobuf delimited
//! decoder (and one for a single undelimited message), and text 0.0.4, OpenMetrics 1.0 and
//! protobuf delimited encoders. Both parsers can enforce [`PushLimits`] (series per body,
//! labels per series, name and value lengths) while they read.
//!
//! Everything here is pure: bytes in, families out, and back. No I/O, no store, no HTTP.
//!
//! ```
//! use cairn_expfmt::{NameScheme, encode_text, parse_text};
//!
//! let families = parse_text(b"# TYPE jobs_done counter\njobs_done{queue=\"a\"} 3\n", NameScheme::Legacy)?;
//! assert_eq!(families[0].name, "jobs_done");
//!
//! let mut out = Vec::new();
//! for family in &families {
//!     encode_text(&mut out, family);
//! }
//! assert_eq!(out, b"# TYPE jobs_done counter\njobs_done{queue=\"a\"} 3\n");
//! # Ok::<(), cairn_expfmt::TextParseError>(())
//! ```

#![forbid(unsafe_code)]

mod float;
mod limits;
mod model;
mod names;
mod openmetrics;
mod prepared;
mod proto;
mod text;

pub use float::write_float;
pub use limits::{Limit, LimitExceeded, PushLimits};
pub use model::{
    Bucket, BucketSpan, Counter, Exemplar, Histogram, Label, Metric, MetricFamily, MetricType,
    Quantile, Summary, Timestamp, Value,
};
pub use names::{
    NameScheme, escape_values_into, is_legacy_label_name, is_legacy_metric_name, unescape_values,
};
pub use openmetrics::{
    encode_openmetrics, write_openmetrics_eof, write_openmetrics_float, write_openmetrics_header,
    write_openmetrics_metric,
};
pub use prepared::Prepared;
pub use proto::{
    ProtoDecodeError, ProtoLimits, SampleKind, decode_delimited, decode_message, encode_delimited,
    encode_delimited_in_parts, encode_metric_field, encode_sample_field,
};
pub use text::{
    SampleLine, TextParseError, encode_text, parse_text, parse_text_with_limits, write_text_header,
    write_text_metric, write_text_sample,
};
