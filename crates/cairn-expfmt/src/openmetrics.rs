//! OpenMetrics 1.0 text encoding, as prometheus/common's `expfmt.MetricFamilyToOpenMetrics`
//! writes it, except where that output is not valid OpenMetrics.
//!
//! Rules:
//! - A counter named `*_total` is the family without the suffix in `# HELP`/`# TYPE`/
//!   `# UNIT` (`counter`) and keeps the full name on its samples. A counter without the
//!   suffix is exposed as `unknown` under its own name, as the reference does, so a series
//!   keeps the same name whichever format a scraper asks for. Untyped is `unknown`; a gauge
//!   histogram is `gaugehistogram` with `_gsum`/`_gcount` (the reference writes `_sum`/
//!   `_count`, which OpenMetrics forbids there).
//! - `# HELP` escapes `\`, `"` and newline. `# UNIT` is written when the unit is non-empty
//!   and the family name ends in `_<unit>`, which OpenMetrics requires of a unit.
//! - Floats are Go's `'g'` shortest form with `.0` added when it has neither `.` nor `e`
//!   (`1.0`, `0.0` also for `-0`, `1e+06`, `+Inf`, `NaN`). Counts (`_count`, `_gcount`,
//!   buckets) are integers, or the float counts of a float histogram, which OpenMetrics 1.0
//!   cannot express exactly (the reference refuses them).
//! - Timestamps are seconds: milliseconds / 1000 as a float.
//! - `_created` lines come from created timestamps of counters (named `*_total`),
//!   summaries and histograms, after the metric's other lines, with the metric's timestamp
//!   if it has one (OpenMetrics wants one timestamp per metric point; the reference writes
//!   these lines only on request and never with a timestamp).
//! - Exemplars (` # {labels} value[ timestamp]`) on `*_total` counter samples and
//!   histogram buckets, when they have labels.
//! - Names that are not legacy names are quoted as in the text format.
//!
//! A metric whose value kind does not match the family's type is written by its value
//! kind, without the type's extras; one with no value writes nothing.

use crate::float::{write_float, write_u64};
use crate::text::{Series, write_escaped_quoted, write_name};
use crate::{
    Exemplar, Histogram, Label, Metric, MetricFamily, MetricType, Summary, Timestamp, Value,
};

/// Appends `family` in OpenMetrics 1.0 text. Writes nothing for a family without a name.
pub fn encode_openmetrics(out: &mut Vec<u8>, family: &MetricFamily) {
    if family.name.is_empty() {
        return;
    }
    write_openmetrics_header(
        out,
        &family.name,
        family.help.as_deref(),
        family.metric_type,
        family.unit.as_deref(),
    );
    for metric in &family.metrics {
        write_openmetrics_metric(out, &family.name, family.metric_type, metric);
    }
}

/// Appends the `# HELP` (when `help` is given), `# TYPE` and `# UNIT` (when `unit` fits
/// the name) lines of the family `name`.
pub fn write_openmetrics_header(
    out: &mut Vec<u8>,
    name: &str,
    help: Option<&str>,
    ty: MetricType,
    unit: Option<&str>,
) {
    let family_name = family_name(name, ty);
    if let Some(help) = help {
        out.extend_from_slice(b"# HELP ");
        write_name(out, family_name);
        out.push(b' ');
        write_escaped_quoted(out, help);
        out.push(b'\n');
    }
    out.extend_from_slice(b"# TYPE ");
    write_name(out, family_name);
    out.extend_from_slice(match ty {
        MetricType::Counter if is_total_counter(name, ty) => b" counter\n".as_slice(),
        MetricType::Counter | MetricType::Untyped => b" unknown\n",
        MetricType::Gauge => b" gauge\n",
        MetricType::Summary => b" summary\n",
        MetricType::Histogram => b" histogram\n",
        MetricType::GaugeHistogram => b" gaugehistogram\n",
    });
    if let Some(unit) = unit.filter(|unit| unit_fits(family_name, unit)) {
        out.extend_from_slice(b"# UNIT ");
        write_name(out, family_name);
        out.push(b' ');
        write_escaped_quoted(out, unit);
        out.push(b'\n');
    }
}

/// Appends the sample lines of one metric of the family `name` (type `ty`), including its
/// `_created` line.
pub fn write_openmetrics_metric(out: &mut Vec<u8>, name: &str, ty: MetricType, metric: &Metric) {
    let mut sample = Sample {
        name,
        series: Series::new(name, &metric.labels),
        labels: &metric.labels,
        timestamp_ms: metric.timestamp_ms,
    };
    match &metric.value {
        Value::Counter(counter) if is_total_counter(name, ty) => {
            sample.write(
                out,
                "",
                None,
                Count::Float(counter.value),
                counter.exemplar.as_deref(),
            );
            if let Some(created) = counter.created {
                // `foo_total` is family `foo`, whose created line is `foo_created`.
                sample.write_created(out, family_name(name, ty), created);
            }
        }
        Value::Counter(counter) => sample.write(out, "", None, Count::Float(counter.value), None),
        Value::Gauge(v) | Value::Untyped(v) => sample.write(out, "", None, Count::Float(*v), None),
        Value::Summary(summary) => write_summary(out, &mut sample, ty, summary),
        Value::Histogram(histogram) => write_histogram(out, &mut sample, ty, histogram),
        Value::Unset => {}
    }
}

/// Appends the `# EOF` line that ends an OpenMetrics exposition.
pub fn write_openmetrics_eof(out: &mut Vec<u8>) {
    out.extend_from_slice(b"# EOF\n");
}

fn write_summary(out: &mut Vec<u8>, sample: &mut Sample<'_>, ty: MetricType, summary: &Summary) {
    for q in &summary.quantiles {
        sample.write(
            out,
            "",
            Some(("quantile", q.quantile)),
            Count::Float(q.value),
            None,
        );
    }
    sample.write(out, "_sum", None, Count::Float(summary.sample_sum), None);
    sample.write(out, "_count", None, Count::Int(summary.sample_count), None);
    if let (Some(created), MetricType::Summary) = (summary.created, ty) {
        sample.write_created(out, sample.name, created);
    }
}

fn write_histogram(
    out: &mut Vec<u8>,
    sample: &mut Sample<'_>,
    ty: MetricType,
    histogram: &Histogram,
) {
    let typed = matches!(ty, MetricType::Histogram | MetricType::GaugeHistogram);
    let mut inf_seen = false;
    for bucket in &histogram.buckets {
        let count = Count::of(bucket.cumulative_count_float, bucket.cumulative_count);
        let exemplar = bucket.exemplar.as_ref().filter(|_| typed);
        sample.write(
            out,
            "_bucket",
            Some(("le", bucket.upper_bound)),
            count,
            exemplar,
        );
        inf_seen |= bucket.upper_bound == f64::INFINITY;
    }
    let count = Count::of(histogram.sample_count_float, histogram.sample_count);
    if !inf_seen {
        sample.write(out, "_bucket", Some(("le", f64::INFINITY)), count, None);
    }
    let (sum_suffix, count_suffix) = if ty == MetricType::GaugeHistogram {
        ("_gsum", "_gcount")
    } else {
        ("_sum", "_count")
    };
    sample.write(
        out,
        sum_suffix,
        None,
        Count::Float(histogram.sample_sum),
        None,
    );
    sample.write(out, count_suffix, None, count, None);
    if let (Some(created), MetricType::Histogram) = (histogram.created, ty) {
        sample.write_created(out, sample.name, created);
    }
}

/// The name in `# HELP`/`# TYPE`/`# UNIT`: a `*_total` counter without its suffix.
fn family_name(name: &str, ty: MetricType) -> &str {
    if ty == MetricType::Counter {
        name.strip_suffix("_total").unwrap_or(name)
    } else {
        name
    }
}

fn is_total_counter(name: &str, ty: MetricType) -> bool {
    ty == MetricType::Counter && name.ends_with("_total")
}

/// OpenMetrics requires a family with a unit to be named `*_<unit>`.
fn unit_fits(family_name: &str, unit: &str) -> bool {
    !unit.is_empty()
        && family_name
            .strip_suffix(unit)
            .is_some_and(|rest| rest.ends_with('_'))
}

/// A sample value: a float, or an integer count written as one.
#[derive(Clone, Copy)]
enum Count {
    Float(f64),
    Int(u64),
}

impl Count {
    /// The reference's choice between the two count fields: the float one unless it is 0.
    fn of(float_count: f64, int_count: u64) -> Count {
        if float_count != 0.0 {
            Count::Float(float_count)
        } else {
            Count::Int(int_count)
        }
    }
}

/// What every line of one metric shares.
struct Sample<'a> {
    name: &'a str,
    series: Series<'a>,
    labels: &'a [Label],
    timestamp_ms: Option<i64>,
}

impl Sample<'_> {
    /// Appends `name+suffix{labels,extra} value[ timestamp][ # exemplar]\n`.
    fn write(
        &mut self,
        out: &mut Vec<u8>,
        suffix: &str,
        extra: Option<(&str, f64)>,
        value: Count,
        exemplar: Option<&Exemplar>,
    ) {
        self.series
            .write(out, suffix, extra, write_openmetrics_float);
        out.push(b' ');
        match value {
            Count::Float(v) => write_openmetrics_float(out, v),
            Count::Int(n) => write_u64(out, n),
        }
        self.write_timestamp(out);
        if let Some(exemplar) = exemplar.filter(|e| !e.labels.is_empty()) {
            out.extend_from_slice(b" # ");
            Series::new("", &exemplar.labels).write(out, "", None, write_openmetrics_float);
            out.push(b' ');
            write_openmetrics_float(out, exemplar.value);
            if let Some(ts) = exemplar.timestamp.filter(timestamp_is_valid) {
                out.push(b' ');
                write_openmetrics_float(out, timestamp_secs(ts));
            }
        }
        out.push(b'\n');
    }

    /// Appends `base_created{labels} seconds[ timestamp]\n`.
    fn write_created(&self, out: &mut Vec<u8>, base: &str, created: Timestamp) {
        Series::new(base, self.labels).write(out, "_created", None, write_openmetrics_float);
        out.push(b' ');
        write_openmetrics_float(out, timestamp_secs(created));
        self.write_timestamp(out);
        out.push(b'\n');
    }

    fn write_timestamp(&self, out: &mut Vec<u8>) {
        if let Some(ms) = self.timestamp_ms {
            out.push(b' ');
            write_openmetrics_float(out, ms as f64 / 1000.0);
        }
    }
}

/// What protobuf's `Timestamp.CheckValid` accepts (years 1 to 9999, nanos in range); the
/// reference stops encoding at an exemplar timestamp outside it, we leave the timestamp out.
fn timestamp_is_valid(ts: &Timestamp) -> bool {
    (-62_135_596_800..=253_402_300_799).contains(&ts.seconds)
        && (0..1_000_000_000).contains(&ts.nanos)
}

/// Seconds as a float, computed as the reference does (`float64(UnixNano()) / 1e9`) while
/// that fits an i64, else directly.
fn timestamp_secs(ts: Timestamp) -> f64 {
    match ts
        .seconds
        .checked_mul(1_000_000_000)
        .and_then(|ns| ns.checked_add(i64::from(ts.nanos)))
    {
        Some(ns) => ns as f64 / 1e9,
        None => ts.seconds as f64 + f64::from(ts.nanos) / 1e9,
    }
}

/// Appends a sample value as OpenMetrics writes it: Go's `'g'` shortest float with `.0`
/// added when it would look like an integer; zero (also negative zero) is `0.0`.
pub fn write_openmetrics_float(out: &mut Vec<u8>, v: f64) {
    if v == 0.0 {
        out.extend_from_slice(b"0.0");
        return;
    }
    let start = out.len();
    write_float(out, v);
    if v.is_finite() && !out[start..].iter().any(|&b| b == b'.' || b == b'e') {
        out.extend_from_slice(b".0");
    }
}
