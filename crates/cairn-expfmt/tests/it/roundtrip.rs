//! Property tests: what the encoders write, the decoders read back unchanged. Text 0.0.4
//! for what text can express (`encode_text` → `parse_text`), protobuf delimited for the
//! whole model (`encode_delimited` → `decode_delimited`).

use cairn_expfmt::{
    Bucket, BucketSpan, Counter, Exemplar, Histogram, Label, Metric, MetricFamily, MetricType,
    NameScheme, ProtoLimits, Quantile, Summary, Timestamp, Value, decode_delimited,
    encode_delimited, encode_text, parse_text,
};
use proptest::collection::vec;
use proptest::num::f64 as any_f64;
use proptest::prelude::*;
use std::collections::BTreeSet;

// --- comparing families ----------------------------------------------------------------------

/// Calls `visit` on every float of `family`, in a fixed order.
fn for_each_float(family: &mut MetricFamily, visit: &mut impl FnMut(&mut f64)) {
    fn exemplar(e: &mut Exemplar, visit: &mut impl FnMut(&mut f64)) {
        visit(&mut e.value);
    }
    for metric in &mut family.metrics {
        match &mut metric.value {
            Value::Counter(c) => {
                visit(&mut c.value);
                if let Some(e) = &mut c.exemplar {
                    exemplar(e, visit);
                }
            }
            Value::Gauge(v) | Value::Untyped(v) => visit(v),
            Value::Summary(s) => {
                visit(&mut s.sample_sum);
                for q in &mut s.quantiles {
                    visit(&mut q.quantile);
                    visit(&mut q.value);
                }
            }
            Value::Histogram(h) => {
                visit(&mut h.sample_count_float);
                visit(&mut h.sample_sum);
                visit(&mut h.zero_threshold);
                visit(&mut h.zero_count_float);
                for b in &mut h.buckets {
                    visit(&mut b.cumulative_count_float);
                    visit(&mut b.upper_bound);
                    if let Some(e) = &mut b.exemplar {
                        exemplar(e, visit);
                    }
                }
                h.negative_counts
                    .iter_mut()
                    .chain(h.positive_counts.iter_mut())
                    .for_each(&mut *visit);
                for e in &mut h.exemplars {
                    exemplar(e, visit);
                }
            }
            Value::Unset => {}
        }
    }
}

fn float_bits(family: &MetricFamily) -> Vec<u64> {
    let mut bits = Vec::new();
    for_each_float(&mut family.clone(), &mut |v| bits.push(v.to_bits()));
    bits
}

/// Asserts `got == want` with floats compared bitwise, so NaN equals NaN with the same bits
/// and `-0` differs from `0`. `Debug` tells everything but NaN payloads apart, which the
/// bit lists catch; a failure shows only the first family or metric that differs.
fn assert_same_families(got: &[MetricFamily], want: &[MetricFamily]) {
    let names = |families: &[MetricFamily]| -> Vec<String> {
        families
            .iter()
            .map(|f| format!("{:?} ({} metrics)", f.name, f.metrics.len()))
            .collect()
    };
    assert_eq!(names(got), names(want), "families differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let header = |f: &MetricFamily| (f.help.clone(), f.metric_type, f.unit.clone());
        assert_eq!(
            header(g),
            header(w),
            "family {i} ({:?}): help, type or unit differ",
            w.name
        );
        for (j, (gm, wm)) in g.metrics.iter().zip(&w.metrics).enumerate() {
            assert_eq!(
                format!("{gm:#?}"),
                format!("{wm:#?}"),
                "family {i}, metric {j} differs"
            );
        }
        assert_eq!(
            float_bits(g),
            float_bits(w),
            "family {i}: float bits differ"
        );
    }
}

/// `family` as text 0.0.4 reads it back, by the reference's writer and parser:
/// - one NaN (text has one spelling for all payloads);
/// - `-0` as `0` (the writer writes zero as `0`);
/// - gauge histograms as histograms (text has no gauge histogram);
/// - an empty help as none (`# HELP name ` ends after the name, which the parser takes as
///   no help);
/// - no quantile `NaN` and no bucket with `le="NaN"` (the parser drops them: NaN is its
///   "no quantile/le label seen" marker).
fn as_text_reads_it(family: &MetricFamily) -> MetricFamily {
    let mut family = family.clone();
    if family.help.as_deref() == Some("") {
        family.help = None;
    }
    for metric in &mut family.metrics {
        match &mut metric.value {
            Value::Summary(s) => s.quantiles.retain(|q| !q.quantile.is_nan()),
            Value::Histogram(h) => h.buckets.retain(|b| !b.upper_bound.is_nan()),
            _ => {}
        }
    }
    for_each_float(&mut family, &mut |v| {
        if v.is_nan() {
            *v = f64::NAN;
        } else if *v == 0.0 {
            *v = 0.0;
        }
    });
    if family.metric_type == MetricType::GaugeHistogram {
        family.metric_type = MetricType::Histogram;
    }
    family
}

/// The same with every NaN made `f64::NAN`, to compare what a parser read with
/// [`as_text_reads_it`] whatever NaN bits the parser picks.
fn with_canonical_nan(family: &MetricFamily) -> MetricFamily {
    let mut family = family.clone();
    for_each_float(&mut family, &mut |v| {
        if v.is_nan() {
            *v = f64::NAN;
        }
    });
    family
}

// --- strategies --------------------------------------------------------------------------------

/// Floats worth having: anything, and the kinds samples really carry.
fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any_f64::ANY,
        2 => (-1000i64..1000).prop_map(|i| i as f64),
        2 => (-100_000i64..100_000, -12i32..12).prop_map(|(m, e)| m as f64 * 10f64.powi(e)),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(f64::NAN),
        1 => Just(-0.0),
    ]
}

/// A non-negative float count, or 0 (the model's "unused").
fn float_count() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), (0u32..1000).prop_map(|n| f64::from(n) / 4.0)]
}

/// Counts the text format carries exactly (it writes them as floats).
fn exact_count() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..1000, 0u64..(1 << 53)]
}

/// Label values and help texts: escapes, quotes, unicode, spaces.
fn text_value() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 \\\\\"\n\t{}=,#üé€😀]{0,12}"
}

/// Help texts the text format keeps: it skips blanks before the help, so none lead.
fn help() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        Just(String::new()),
        ("[a-zA-Z0-9\\\\\"\nü€#]", text_value()).prop_map(|(first, rest)| first + &rest),
    ])
}

fn legacy_metric_name() -> impl Strategy<Value = String> + Clone {
    "[a-zA-Z_:][a-zA-Z0-9_:]{0,10}"
}

fn legacy_label_name() -> impl Strategy<Value = String> + Clone {
    "[a-zA-Z][a-zA-Z0-9_]{0,6}"
}

/// Names valid only under the UTF-8 rules (dots, spaces, quotes, unicode) or also legacy.
fn utf8_name() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        legacy_label_name(),
        "[a-z][a-z0-9._ :é\"\\\\-]{0,8}",
        "[.0-9😀][a-z_]{0,4}"
    ]
}

/// Label sets of distinct, sorted names (none reserved, none `le` or `quantile`), themselves
/// distinct from each other so every metric is its own series.
fn label_sets(
    name: impl Strategy<Value = String> + Clone,
    count: std::ops::Range<usize>,
) -> impl Strategy<Value = Vec<Vec<Label>>> {
    let names = prop::collection::btree_set(
        name.prop_filter("reserved", |n| {
            !n.starts_with("__") && n != "le" && n != "quantile"
        }),
        0..4,
    );
    vec(
        names.prop_flat_map(|names| {
            let names: Vec<String> = names.into_iter().collect();
            let len = names.len();
            vec(text_value(), len).prop_map(move |values| {
                names
                    .iter()
                    .zip(values)
                    .map(|(n, v)| Label::new(n.clone(), v))
                    .collect()
            })
        }),
        count,
    )
    .prop_map(|sets: Vec<Vec<Label>>| {
        let mut seen = BTreeSet::new();
        sets.into_iter()
            .filter(|set| seen.insert(set.clone()))
            .collect()
    })
}

fn text_type() -> impl Strategy<Value = MetricType> {
    prop::sample::select(MetricType::ALL.to_vec())
}

/// A value of `ty` that text 0.0.4 can express: no created timestamps, exemplars, native
/// buckets or float counts; a `+Inf` bucket last; counts below 2^53.
fn text_value_of(ty: MetricType) -> BoxedStrategy<Value> {
    match ty {
        MetricType::Counter => float()
            .prop_map(|value| {
                Value::Counter(Counter {
                    value,
                    ..Counter::default()
                })
            })
            .boxed(),
        MetricType::Gauge => float().prop_map(Value::Gauge).boxed(),
        MetricType::Untyped => float().prop_map(Value::Untyped).boxed(),
        MetricType::Summary => (exact_count(), float(), vec((float(), float()), 0..4))
            .prop_map(|(sample_count, sample_sum, quantiles)| {
                Value::Summary(Box::new(Summary {
                    sample_count,
                    sample_sum,
                    quantiles: quantiles
                        .into_iter()
                        .map(|(quantile, value)| Quantile { quantile, value })
                        .collect(),
                    created: None,
                }))
            })
            .boxed(),
        MetricType::Histogram | MetricType::GaugeHistogram => {
            (exact_count(), float(), vec((float(), exact_count()), 0..4))
                .prop_map(|(sample_count, sample_sum, buckets)| {
                    let mut buckets: Vec<Bucket> = buckets
                        .into_iter()
                        .map(|(upper_bound, cumulative_count)| Bucket {
                            upper_bound,
                            cumulative_count,
                            ..Bucket::default()
                        })
                        .collect();
                    if !buckets.iter().any(|b| b.upper_bound == f64::INFINITY) {
                        buckets.push(Bucket {
                            upper_bound: f64::INFINITY,
                            cumulative_count: sample_count,
                            ..Bucket::default()
                        });
                    }
                    Value::Histogram(Box::new(Histogram {
                        sample_count,
                        sample_sum,
                        buckets,
                        ..Histogram::default()
                    }))
                })
                .boxed()
        }
    }
}

fn text_family(
    name: impl Strategy<Value = String>,
    label_name: impl Strategy<Value = String> + Clone + 'static,
) -> impl Strategy<Value = MetricFamily> {
    (name, help(), text_type()).prop_flat_map(move |(name, help, metric_type)| {
        let metric = (text_value_of(metric_type), prop::option::of(any::<i64>()));
        (label_sets(label_name.clone(), 1..5), vec(metric, 4)).prop_map(
            move |(label_sets, values)| MetricFamily {
                name: name.clone(),
                help: help.clone(),
                metric_type,
                unit: None,
                metrics: label_sets
                    .into_iter()
                    .zip(values)
                    .map(|(labels, (value, timestamp_ms))| Metric {
                        labels,
                        value,
                        timestamp_ms,
                    })
                    .collect(),
            },
        )
    })
}

fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![text_value(), any::<String>()]
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (any::<i64>(), any::<i32>()).prop_map(|(seconds, nanos)| Timestamp { seconds, nanos })
}

fn exemplar() -> impl Strategy<Value = Exemplar> {
    (
        vec((any_string(), any_string()), 0..3),
        float(),
        prop::option::of(timestamp()),
    )
        .prop_map(|(labels, value, timestamp)| Exemplar {
            labels: labels.into_iter().map(|(n, v)| Label::new(n, v)).collect(),
            value,
            timestamp,
        })
}

fn spans() -> impl Strategy<Value = Vec<BucketSpan>> {
    vec(
        (any::<i32>(), any::<u32>()).prop_map(|(offset, length)| BucketSpan { offset, length }),
        0..3,
    )
}

fn any_histogram() -> impl Strategy<Value = Histogram> {
    let classic = (
        any::<u64>(),
        float_count(),
        float(),
        vec(
            (
                any::<u64>(),
                float_count(),
                float(),
                prop::option::of(exemplar()),
            )
                .prop_map(
                    |(cumulative_count, cumulative_count_float, upper_bound, exemplar)| Bucket {
                        cumulative_count,
                        cumulative_count_float,
                        upper_bound,
                        exemplar,
                    },
                ),
            0..4,
        ),
        prop::option::of(timestamp()),
    );
    let native = (
        any::<i32>(),
        float_count(),
        any::<u64>(),
        float_count(),
        (spans(), vec(any::<i64>(), 0..4), vec(float(), 0..3)),
        (spans(), vec(any::<i64>(), 0..4), vec(float(), 0..3)),
        vec(exemplar(), 0..2),
    );
    (classic, native).prop_map(
        |(
            (sample_count, sample_count_float, sample_sum, buckets, created),
            (schema, zero_threshold, zero_count, zero_count_float, negative, positive, exemplars),
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
            negative_spans: negative.0,
            negative_deltas: negative.1,
            negative_counts: negative.2,
            positive_spans: positive.0,
            positive_deltas: positive.1,
            positive_counts: positive.2,
            exemplars,
        },
    )
}

/// Any value, of any kind whatever the family's type (protobuf can carry that).
fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        (
            float(),
            prop::option::of(timestamp()),
            prop::option::of(exemplar())
        )
            .prop_map(|(value, created, exemplar)| Value::Counter(Counter {
                value,
                created,
                exemplar: exemplar.map(Box::new),
            })),
        float().prop_map(Value::Gauge),
        float().prop_map(Value::Untyped),
        (
            any::<u64>(),
            float(),
            vec((float(), float()), 0..3),
            prop::option::of(timestamp())
        )
            .prop_map(|(sample_count, sample_sum, quantiles, created)| {
                Value::Summary(Box::new(Summary {
                    sample_count,
                    sample_sum,
                    quantiles: quantiles
                        .into_iter()
                        .map(|(quantile, value)| Quantile { quantile, value })
                        .collect(),
                    created,
                }))
            }),
        any_histogram().prop_map(|h| Value::Histogram(Box::new(h))),
        Just(Value::Unset),
    ]
}

/// Any family the model can hold. The "0 when unused" float fields (float counts, zero
/// threshold) are never `-0`, which a codec may fairly treat as unused.
fn any_family() -> impl Strategy<Value = MetricFamily> {
    let metric = (
        vec(
            (any_string(), any_string()).prop_map(|(n, v)| Label::new(n, v)),
            0..4,
        ),
        any_value(),
        prop::option::of(any::<i64>()),
    )
        .prop_map(|(labels, value, timestamp_ms)| Metric {
            labels,
            value,
            timestamp_ms,
        });
    (
        any_string(),
        prop::option::of(any_string()),
        text_type(),
        prop::option::of(any_string()),
        vec(metric, 0..4),
    )
        .prop_map(|(name, help, metric_type, unit, metrics)| MetricFamily {
            name,
            help,
            metric_type,
            unit,
            metrics,
        })
}

// --- properties ----------------------------------------------------------------------------

proptest! {
    // Few enough cases to keep the suite fast; no regression files, shrunk cases are
    // printed instead.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn text_round_trips_legacy_families(family in text_family(legacy_metric_name(), legacy_label_name())) {
        let mut body = Vec::new();
        encode_text(&mut body, &family);
        let parsed = parse_text(&body, NameScheme::Legacy).map_err(|e| {
            TestCaseError::fail(format!("{e} in:\n{}", String::from_utf8_lossy(&body)))
        })?;
        let parsed: Vec<_> = parsed.iter().map(with_canonical_nan).collect();
        assert_same_families(&parsed, &[as_text_reads_it(&family)]);
    }

    #[test]
    fn text_round_trips_utf8_names(family in text_family(utf8_name(), utf8_name())) {
        let mut body = Vec::new();
        encode_text(&mut body, &family);
        let parsed = parse_text(&body, NameScheme::Utf8).map_err(|e| {
            TestCaseError::fail(format!("{e} in:\n{}", String::from_utf8_lossy(&body)))
        })?;
        let parsed: Vec<_> = parsed.iter().map(with_canonical_nan).collect();
        assert_same_families(&parsed, &[as_text_reads_it(&family)]);
    }

    /// Family names are distinct: the decoder lets a later family replace an earlier one
    /// of the same name, as the reference's push handler does.
    #[test]
    fn protobuf_round_trips_every_family(families in vec(any_family(), 1..4)) {
        let mut seen = BTreeSet::new();
        let families: Vec<_> =
            families.into_iter().filter(|f| seen.insert(f.name.clone())).collect();
        let mut body = Vec::new();
        for family in &families {
            encode_delimited(&mut body, family);
        }
        let decoded = decode_delimited(&body, &ProtoLimits::default())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        assert_same_families(&decoded, &families);
    }
}

#[test]
fn comparison_tells_nan_payloads_and_zero_signs_apart() {
    let gauge = |v: f64| MetricFamily {
        name: "g".into(),
        help: None,
        metric_type: MetricType::Gauge,
        unit: None,
        metrics: vec![Metric {
            labels: vec![],
            value: Value::Gauge(v),
            timestamp_ms: None,
        }],
    };
    let quiet = f64::NAN;
    let payload = f64::from_bits(quiet.to_bits() | 1);
    assert_same_families(&[gauge(quiet)], &[gauge(quiet)]);
    let differs = |a: f64, b: f64| {
        std::panic::catch_unwind(|| assert_same_families(&[gauge(a)], &[gauge(b)])).is_err()
    };
    assert!(differs(quiet, payload));
    assert!(differs(0.0, -0.0));
    assert!(differs(1.0, 2.0));
    assert_same_families(&[as_text_reads_it(&gauge(-0.0))], &[gauge(0.0)]);
    assert_same_families(&[as_text_reads_it(&gauge(payload))], &[gauge(quiet)]);
}
