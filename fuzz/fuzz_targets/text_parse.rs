//! Text format parser: never panics, and for accepted input parse -> encode -> parse is a
//! fixed point: the families of the second parse equal those of the first, up to what the
//! text format cannot carry, as the reference behaves too:
//!
//! - NaN has one spelling, so NaN bit patterns are not kept;
//! - the encoder adds the `+Inf` bucket a histogram lacks;
//! - integer counts are written as floats, so a count of 2^53 or more comes back as Go's
//!   `uint64(float64(count))` (the parser wraps a negative count to near 2^64, which then
//!   reads back as 2^63);
//! - a series without a value (every `gauge_histogram` sample) writes nothing, so it and a
//!   family left without series are gone;
//! - a summary or histogram `x` next to a family named `x_sum`, `x_count` (or `x_bucket`
//!   for a histogram) has no unambiguous text form (the encoded `x_sum` lines of `x` join
//!   the family `x_sum` when that one comes first), so such input is only parsed.
//!
//! Under small `PushLimits` the parser accepts exactly the bodies whose unlimited parse
//! meets the limits (names in HELP and TYPE lines and `_count`-style sample names count
//! too, so it may refuse more), and gives the same families.

#![no_main]

use std::collections::HashSet;

use cairn_expfmt::{
    Bucket, Exemplar, Metric, MetricFamily, MetricType, NameScheme, PushLimits, Value, parse_text,
    parse_text_with_limits, write_text_header, write_text_metric,
};

const TIGHT: PushLimits = PushLimits {
    series_max: 4,
    labels_per_series_max: 2,
    metric_name_bytes_max: 8,
    label_name_bytes_max: 4,
    label_value_bytes_max: 8,
    grouping_bytes_max: usize::MAX,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for scheme in [NameScheme::Legacy, NameScheme::Utf8] {
        let unlimited = parse_text(data, scheme);
        match parse_text_with_limits(data, scheme, &TIGHT) {
            Ok(limited) => {
                let same = unlimited
                    .as_ref()
                    .is_ok_and(|unlimited| same_families(unlimited, &limited));
                assert!(same, "{scheme:?}: {unlimited:?}\nlimited: {limited:?}");
                assert_eq!(TIGHT.check(&limited), Ok(()), "{scheme:?}");
            }
            Err(e) => {
                // A body the unlimited parser takes fails only on a limit.
                if unlimited.is_ok() {
                    assert!(e.limit.is_some(), "{scheme:?}: {e}");
                }
            }
        }
        let Ok(first) = unlimited else {
            continue;
        };
        if !unambiguous(&first) {
            continue;
        }
        let mut text = Vec::new();
        for family in &first {
            write_text_header(
                &mut text,
                &family.name,
                family.help.as_deref(),
                family.metric_type,
            );
            for metric in &family.metrics {
                write_text_metric(&mut text, &family.name, family.metric_type, metric);
            }
        }
        let second = match parse_text(&text, scheme) {
            Ok(second) => second,
            Err(e) => panic!(
                "{scheme:?}: encoded text rejected: {e}\nencoded:\n{}",
                String::from_utf8_lossy(&text)
            ),
        };
        let expected = as_encoded(&first);
        assert!(
            same_families(&expected, &second),
            "{scheme:?}: parse -> encode -> parse is not a fixed point\nencoded:\n{}\nfirst: {first:?}\nsecond: {second:?}",
            String::from_utf8_lossy(&text)
        );
    }
});

/// Whether no summary or histogram shares the name of one of its sample lines with another
/// family.
fn unambiguous(families: &[MetricFamily]) -> bool {
    let names: HashSet<&str> = families.iter().map(|f| f.name.as_str()).collect();
    families.iter().all(|family| {
        let suffixes: &[&str] = match family.metric_type {
            MetricType::Summary => &["_sum", "_count"],
            MetricType::Histogram | MetricType::GaugeHistogram => &["_sum", "_count", "_bucket"],
            _ => &[],
        };
        suffixes
            .iter()
            .all(|suffix| !names.contains(format!("{}{suffix}", family.name).as_str()))
    })
}

/// `families` as the text encoder writes them (`text/encode.rs`, after the reference's
/// `MetricFamilyToText`): a histogram without a `+Inf` bucket gets one holding its sample
/// count; a series without a value writes nothing, and a family without series is dropped
/// by the parser.
fn as_encoded(families: &[MetricFamily]) -> Vec<MetricFamily> {
    let mut families = families.to_vec();
    for family in &mut families {
        family.metrics.retain(|m| !matches!(m.value, Value::Unset));
    }
    families.retain(|f| !f.metrics.is_empty());
    for metric in families.iter_mut().flat_map(|f| &mut f.metrics) {
        if let Value::Histogram(histogram) = &mut metric.value
            && !histogram
                .buckets
                .iter()
                .any(|b| b.upper_bound == f64::INFINITY)
        {
            let bucket = Bucket {
                cumulative_count: histogram.sample_count,
                cumulative_count_float: histogram.sample_count_float,
                upper_bound: f64::INFINITY,
                exemplar: None,
            };
            histogram.buckets.push(bucket);
        }
    }
    families
}

/// Equality of the model, except that any NaN equals any NaN (text has one `NaN`, so the
/// bit pattern of a parsed NaN is not something a round trip can keep) and integer counts
/// are compared as the text format carries them.
fn same_families(a: &[MetricFamily], b: &[MetricFamily]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    let (mut fa, mut fb) = (Vec::new(), Vec::new());
    a.iter_mut().for_each(|f| normalise(f, &mut fa));
    b.iter_mut().for_each(|f| normalise(f, &mut fb));
    a == b
        && fa.len() == fb.len()
        && fa
            .iter()
            .zip(&fb)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

/// Moves every float of `family` into `out` in a fixed order, leaving 0 in its place, so
/// that `==` on what remains compares everything else exactly; replaces every integer
/// count by [`text_count`] of it.
fn normalise(family: &mut MetricFamily, out: &mut Vec<f64>) {
    let mut take = |v: &mut f64| out.push(std::mem::take(v));
    for Metric { value, .. } in &mut family.metrics {
        match value {
            Value::Counter(counter) => {
                take(&mut counter.value);
                if let Some(exemplar) = &mut counter.exemplar {
                    take(&mut exemplar.value);
                }
            }
            Value::Gauge(v) | Value::Untyped(v) => take(v),
            Value::Summary(summary) => {
                summary.sample_count = text_count(summary.sample_count);
                take(&mut summary.sample_sum);
                for quantile in &mut summary.quantiles {
                    take(&mut quantile.quantile);
                    take(&mut quantile.value);
                }
            }
            Value::Histogram(histogram) => {
                histogram.sample_count = text_count(histogram.sample_count);
                histogram.zero_count = text_count(histogram.zero_count);
                take(&mut histogram.sample_count_float);
                take(&mut histogram.sample_sum);
                take(&mut histogram.zero_threshold);
                take(&mut histogram.zero_count_float);
                histogram.negative_counts.iter_mut().for_each(&mut take);
                histogram.positive_counts.iter_mut().for_each(&mut take);
                for bucket in &mut histogram.buckets {
                    bucket.cumulative_count = text_count(bucket.cumulative_count);
                    take(&mut bucket.cumulative_count_float);
                    take(&mut bucket.upper_bound);
                    if let Some(exemplar) = &mut bucket.exemplar {
                        take(&mut exemplar.value);
                    }
                }
                for Exemplar { value, .. } in &mut histogram.exemplars {
                    take(value);
                }
            }
            Value::Unset => {}
        }
    }
}

/// An integer count after a trip through text: written as a float, read back with Go's
/// `uint64(v)` on amd64 (out of range gives 2^63), as the parser reads counts. The identity
/// below 2^53.
fn text_count(count: u64) -> u64 {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    let value = count as f64;
    if value < TWO_POW_63 {
        value as u64
    } else if value - TWO_POW_63 < TWO_POW_63 {
        (value - TWO_POW_63) as u64 | (1 << 63)
    } else {
        1 << 63
    }
}
