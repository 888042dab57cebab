//! Text format 0.0.4 encoding, byte for byte as the reference exposes it (prometheus/common
//! `expfmt.MetricFamilyToText`, the version with UTF-8 name support and float histograms).
//!
//! Rules:
//! - `# HELP name help` only when help is set (`Some("")` leaves a trailing space); help
//!   escapes `\` and newline. `# TYPE name type`, gauge histograms as `histogram`.
//! - One line per sample: `name{l="v",...} value[ timestamp_ms]`; label values escape `\`,
//!   `"` and newline. No braces without labels.
//! - Summaries: one line per quantile (`quantile` label last), `_sum`, `_count`.
//! - Histograms: one `_bucket` line per bucket (`le` label last), a `+Inf` bucket with the
//!   sample count when none was given, `_sum`, `_count`. A native-only histogram therefore
//!   shows just its `+Inf` bucket. Counts are the float counts when those are non-zero
//!   (float histograms), else the integer counts, as the reference does.
//! - Values are Go's `'g'` shortest floats except that zero, including negative zero, is
//!   `0` (the reference's `writeFloat` special-cases `f == 0`). Timestamps are integers.
//! - A metric name that is not a legacy name goes quoted inside the braces
//!   (`{"a.b",l="v"}`), also in `# HELP` and `# TYPE`; a label name that is not a legacy
//!   label name is quoted (`{"a.b"="v"}`). The reference quotes label names by the
//!   metric-name rule, leaving `a:b` unquoted where its own parser rejects it; we quote
//!   every name the legacy label rule rejects so the output always parses.
//!
//! The reference refuses to encode a family without a name or without metrics; so does
//! [`encode_text`], by writing nothing. A metric whose value kind does not match the
//! family's type (possible from protobuf) is written by its value kind; one with no value
//! writes nothing.

use crate::float::{write_float, write_i64};
use crate::prepared::Prepared;
use crate::{Histogram, Label, Metric, MetricFamily, MetricType, Summary, Value};
use std::ops::Range;

/// Appends a whole family: header, then every metric. Writes nothing for a family without a
/// name or without metrics, which the reference refuses to encode.
pub fn encode_text(out: &mut Vec<u8>, family: &MetricFamily) {
    if family.name.is_empty() || family.metrics.is_empty() {
        return;
    }
    write_text_header(
        out,
        &family.name,
        family.help.as_deref(),
        family.metric_type,
    );
    for metric in &family.metrics {
        write_text_metric(out, &family.name, family.metric_type, metric);
    }
}

/// Appends `# HELP` (when `help` is given) and `# TYPE` lines.
pub fn write_text_header(out: &mut Vec<u8>, name: &str, help: Option<&str>, ty: MetricType) {
    if let Some(help) = help {
        out.extend_from_slice(b"# HELP ");
        write_name(out, name);
        out.push(b' ');
        write_escaped_help(out, help);
        out.push(b'\n');
    }
    out.extend_from_slice(b"# TYPE ");
    write_name(out, name);
    out.push(b' ');
    out.extend_from_slice(ty.text_name().as_bytes());
    out.push(b'\n');
}

/// Appends the sample lines of one metric (several for summaries and histograms).
///
/// The lines follow the metric's value kind, which matches `ty` in a consistent family;
/// `ty` is taken for symmetry with the OpenMetrics writer, where it changes the output.
pub fn write_text_metric(out: &mut Vec<u8>, name: &str, ty: MetricType, metric: &Metric) {
    let _ = ty;
    let mut sample = Sample {
        series: Series::new(name, &metric.labels),
        timestamp_ms: metric.timestamp_ms,
    };
    match &metric.value {
        Value::Counter(counter) => sample.write(out, "", None, counter.value),
        Value::Gauge(v) | Value::Untyped(v) => sample.write(out, "", None, *v),
        Value::Summary(summary) => write_summary(out, &mut sample, summary),
        Value::Histogram(histogram) => write_histogram(out, &mut sample, histogram),
        Value::Unset => {}
    }
}

/// Appends the one line of a sample that is a name, labels and a value (no timestamp):
/// the bytes [`write_text_metric`] writes for a counter, gauge or untyped metric with these
/// labels, given as `(name, value)` pairs, and `value`. For writers that hold the labels in
/// another shape than [`Metric`] and would otherwise build one per series.
pub fn write_text_sample(out: &mut Vec<u8>, name: &str, labels: &[(&str, &str)], value: f64) {
    let braces = open_sample(out, name, !labels.is_empty());
    write_labels(out, labels.iter().copied());
    close_sample_identity(out, braces);
    write_value(out, value);
    out.push(b'\n');
}

/// The line [`write_text_sample`] writes, prepared for series after series that differ
/// only in some label values (and the sample value): the name, the label names and the
/// values every line shares are checked and escaped once, and each line copies them
/// around the values that change.
#[derive(Clone, Debug)]
pub struct SampleLine {
    /// The line without the sample value, with a gap for each open label value.
    line: Prepared,
}

impl SampleLine {
    /// A line of `name` and `labels`, given as `(name, Some(value))` for a value every line
    /// has and `(name, None)` for a value each line gives.
    pub fn new(name: &str, labels: &[(&str, Option<&str>)]) -> SampleLine {
        let mut line = Prepared::default();
        let braces = open_sample(&mut line.fixed, name, !labels.is_empty());
        for (i, (label, label_value)) in labels.iter().enumerate() {
            open_label(&mut line.fixed, i, label);
            match label_value {
                Some(label_value) => write_escaped_quoted(&mut line.fixed, label_value),
                None => line.gap(),
            }
            line.fixed.push(b'"');
        }
        close_sample_identity(&mut line.fixed, braces);
        SampleLine { line }
    }

    /// Appends the line with `open` as its open label values (one for each `None` of
    /// [`SampleLine::new`], in order; missing ones are written empty) and `value`: the
    /// bytes [`write_text_sample`] writes for the labels filled in.
    pub fn write<'a>(
        &self,
        out: &mut Vec<u8>,
        open: impl IntoIterator<Item = &'a str>,
        value: f64,
    ) {
        self.line.write(out, open, write_escaped_quoted);
        write_value(out, value);
        out.push(b'\n');
    }
}

/// Starts a sample line: the name (bare, or quoted inside the braces when it is not a
/// legacy name) and what comes before the first label. Returns whether braces are open.
fn open_sample(out: &mut Vec<u8>, name: &str, has_labels: bool) -> bool {
    let name_inside_braces = !name.is_empty() && !crate::is_legacy_metric_name(name);
    if name_inside_braces {
        out.extend_from_slice(b"{\"");
        write_escaped_quoted(out, name);
        out.push(b'"');
        if has_labels {
            out.push(b',');
        }
    } else {
        out.extend_from_slice(name.as_bytes());
        if has_labels {
            out.push(b'{');
        }
    }
    name_inside_braces || has_labels
}

/// Label `i` of a sample up to its value: the comma after the label before, the name
/// (quoted when it is not a legacy label name), `="`.
fn open_label(out: &mut Vec<u8>, i: usize, name: &str) {
    if i > 0 {
        out.push(b',');
    }
    write_label_name(out, name);
    out.extend_from_slice(b"=\"");
}

/// Ends a sample line's series identity, before its value.
fn close_sample_identity(out: &mut Vec<u8>, braces: bool) {
    if braces {
        out.push(b'}');
    }
    out.push(b' ');
}

fn write_summary(out: &mut Vec<u8>, sample: &mut Sample<'_>, summary: &Summary) {
    for q in &summary.quantiles {
        sample.write(out, "", Some(("quantile", q.quantile)), q.value);
    }
    sample.write(out, "_sum", None, summary.sample_sum);
    sample.write(out, "_count", None, summary.sample_count as f64);
}

fn write_histogram(out: &mut Vec<u8>, sample: &mut Sample<'_>, histogram: &Histogram) {
    let mut inf_seen = false;
    for bucket in &histogram.buckets {
        let count = float_or_int_count(bucket.cumulative_count_float, bucket.cumulative_count);
        sample.write(out, "_bucket", Some(("le", bucket.upper_bound)), count);
        inf_seen |= bucket.upper_bound == f64::INFINITY;
    }
    let count = float_or_int_count(histogram.sample_count_float, histogram.sample_count);
    if !inf_seen {
        sample.write(out, "_bucket", Some(("le", f64::INFINITY)), count);
    }
    sample.write(out, "_sum", None, histogram.sample_sum);
    sample.write(out, "_count", None, count);
}

/// The reference's choice between the two count fields: the float one unless it is zero.
fn float_or_int_count(float_count: f64, int_count: u64) -> f64 {
    if float_count != 0.0 {
        float_count
    } else {
        int_count as f64
    }
}

/// What every line of one metric shares.
struct Sample<'a> {
    series: Series<'a>,
    timestamp_ms: Option<i64>,
}

impl Sample<'_> {
    /// Appends `name+suffix{labels,extra} value[ timestamp]\n`.
    fn write(&mut self, out: &mut Vec<u8>, suffix: &str, extra: Option<(&str, f64)>, value: f64) {
        self.series.write(out, suffix, extra, write_value);
        out.push(b' ');
        write_value(out, value);
        if let Some(ts) = self.timestamp_ms {
            out.push(b' ');
            write_i64(out, ts);
        }
        out.push(b'\n');
    }
}

/// A sample value or float label value as the reference's text `writeFloat` writes it.
fn write_value(out: &mut Vec<u8>, v: f64) {
    if v == 0.0 {
        out.push(b'0');
    } else {
        write_float(out, v);
    }
}

/// The series identity of one metric's lines, `name+suffix{labels,extra="value"}`, with the
/// name inside the braces when it is not a legacy metric name. Also used by the OpenMetrics
/// writer, which formats `extra` with its own float rule.
///
/// The name is checked once and the labels are escaped once, at the first line; later lines
/// copy those bytes from where they landed in `out`, so every call must append to the same
/// buffer, which must not shrink in between.
pub(crate) struct Series<'a> {
    name: &'a str,
    name_is_legacy: bool,
    labels: &'a [Label],
    rendered_labels: Option<Range<usize>>,
}

impl<'a> Series<'a> {
    pub(crate) fn new(name: &'a str, labels: &'a [Label]) -> Series<'a> {
        Series {
            name,
            name_is_legacy: crate::is_legacy_metric_name(name),
            labels,
            rendered_labels: None,
        }
    }

    /// Appends the series identity of one line.
    pub(crate) fn write(
        &mut self,
        out: &mut Vec<u8>,
        suffix: &str,
        extra: Option<(&str, f64)>,
        write_extra: fn(&mut Vec<u8>, f64),
    ) {
        let mut separator = b'{';
        let mut name_inside_braces = false;
        // The reference leaves out an empty name and checks the name with its suffix. The
        // suffixes (`_sum`, ...) never change whether a non-empty name is a legacy name.
        if !self.name.is_empty() || !suffix.is_empty() {
            let legacy = if self.name.is_empty() {
                crate::is_legacy_metric_name(suffix)
            } else {
                self.name_is_legacy
            };
            if legacy {
                out.extend_from_slice(self.name.as_bytes());
                out.extend_from_slice(suffix.as_bytes());
            } else {
                name_inside_braces = true;
                out.extend_from_slice(b"{\"");
                write_escaped_quoted(out, self.name);
                write_escaped_quoted(out, suffix);
                out.push(b'"');
                separator = b',';
            }
        }
        if self.labels.is_empty() && extra.is_none() {
            if name_inside_braces {
                out.push(b'}');
            }
            return;
        }
        if !self.labels.is_empty() {
            out.push(separator);
            match &self.rendered_labels {
                Some(rendered) => out.extend_from_within(rendered.clone()),
                None => {
                    let start = out.len();
                    write_labels(out, self.labels.iter().map(|l| (&*l.name, &*l.value)));
                    self.rendered_labels = Some(start..out.len());
                }
            }
            separator = b',';
        }
        if let Some((extra_name, extra_value)) = extra {
            out.push(separator);
            out.extend_from_slice(extra_name.as_bytes());
            out.extend_from_slice(b"=\"");
            write_extra(out, extra_value);
            out.push(b'"');
        }
        out.push(b'}');
    }
}

/// `l1="v1",l2="v2"`, label names quoted when they are not legacy label names.
fn write_labels<'a>(out: &mut Vec<u8>, labels: impl IntoIterator<Item = (&'a str, &'a str)>) {
    for (i, (name, value)) in labels.into_iter().enumerate() {
        open_label(out, i, name);
        write_escaped_quoted(out, value);
        out.push(b'"');
    }
}

/// A metric name for `# HELP`/`# TYPE` lines: bare if legacy-valid, else quoted.
pub(crate) fn write_name(out: &mut Vec<u8>, name: &str) {
    if crate::is_legacy_metric_name(name) {
        out.extend_from_slice(name.as_bytes());
    } else {
        out.push(b'"');
        write_escaped_quoted(out, name);
        out.push(b'"');
    }
}

fn write_label_name(out: &mut Vec<u8>, name: &str) {
    if crate::is_legacy_label_name(name) {
        out.extend_from_slice(name.as_bytes());
    } else {
        out.push(b'"');
        write_escaped_quoted(out, name);
        out.push(b'"');
    }
}

/// Help text: `\` and newline escaped, as the reference's text encoder does (`"` is not).
fn write_escaped_help(out: &mut Vec<u8>, s: &str) {
    write_escaped(out, s.as_bytes(), |bytes| {
        memchr::memchr2(b'\\', b'\n', bytes)
    });
}

/// Label values and quoted names: `\`, `"` and newline escaped.
pub(crate) fn write_escaped_quoted(out: &mut Vec<u8>, s: &str) {
    // Most values are short and need no escape: a plain look at each byte settles that
    // sooner than setting up a vector search.
    if s.len() <= 32 && !s.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    write_escaped(out, s.as_bytes(), |bytes| {
        memchr::memchr3(b'\\', b'"', b'\n', bytes)
    });
}

fn write_escaped(out: &mut Vec<u8>, mut bytes: &[u8], find: impl Fn(&[u8]) -> Option<usize>) {
    while let Some(at) = find(bytes) {
        out.extend_from_slice(&bytes[..at]);
        out.extend_from_slice(match bytes[at] {
            b'\n' => b"\\n",
            b'"' => b"\\\"",
            _ => b"\\\\",
        });
        bytes = &bytes[at + 1..];
    }
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::write_escaped_quoted;

    #[test]
    fn short_and_long_values_are_escaped_alike() {
        let escaped = |s: &str| {
            let mut out = Vec::new();
            write_escaped_quoted(&mut out, s);
            String::from_utf8(out).unwrap()
        };
        for special in ["\\", "\"", "\n"] {
            let expect = match special {
                "\\" => "\\\\",
                "\"" => "\\\"",
                _ => "\\n",
            };
            // Either side of the length up to which bytes are looked at one by one.
            for len in [0, 1, 31, 32, 33, 100] {
                let plain = "v".repeat(len);
                assert_eq!(escaped(&plain), plain);
                let value = format!("{plain}{special}{plain}");
                assert_eq!(escaped(&value), format!("{plain}{expect}{plain}"));
            }
        }
    }
}
