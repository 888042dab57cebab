//! Tests of the encoders: Go float formatting, text 0.0.4 rendering rules, OpenMetrics 1.0
//! rendering rules, and `promtool check metrics` on the text output when `PROMTOOL` is set.

use cairn_expfmt::{
    Bucket, BucketSpan, Counter, Exemplar, Histogram, Label, Metric, MetricFamily, MetricType,
    NameScheme, Quantile, Summary, Timestamp, Value, encode_openmetrics, encode_text, parse_text,
    write_float, write_openmetrics_eof, write_openmetrics_header, write_openmetrics_metric,
    write_text_header, write_text_metric,
};
use std::path::{Path, PathBuf};

fn family(name: &str, metric_type: MetricType, metrics: Vec<Metric>) -> MetricFamily {
    MetricFamily {
        name: name.into(),
        help: None,
        metric_type,
        unit: None,
        metrics,
    }
}

fn metric(labels: &[(&str, &str)], value: Value) -> Metric {
    Metric {
        labels: labels.iter().map(|(n, v)| Label::new(*n, *v)).collect(),
        value,
        timestamp_ms: None,
    }
}

fn counter(value: f64) -> Value {
    Value::Counter(Counter {
        value,
        ..Counter::default()
    })
}

fn bucket(upper_bound: f64, cumulative_count: u64) -> Bucket {
    Bucket {
        upper_bound,
        cumulative_count,
        ..Bucket::default()
    }
}

fn histogram(sample_count: u64, sample_sum: f64, buckets: Vec<Bucket>) -> Value {
    Value::Histogram(Box::new(Histogram {
        sample_count,
        sample_sum,
        buckets,
        ..Histogram::default()
    }))
}

fn text(family: &MetricFamily) -> String {
    let mut out = Vec::new();
    encode_text(&mut out, family);
    String::from_utf8(out).unwrap()
}

fn openmetrics(family: &MetricFamily) -> String {
    let mut out = Vec::new();
    encode_openmetrics(&mut out, family);
    String::from_utf8(out).unwrap()
}

fn manifest_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

// --- write_float -------------------------------------------------------------------------

/// `tests/data/float/go_format.txt` holds `bits output` lines printed by Go's
/// `strconv.FormatFloat(v, 'g', -1, 64)`; `scripts/refresh-float-expect.sh` regenerates it.
#[test]
fn write_float_matches_go_format_float_for_every_recorded_value() {
    let expected = std::fs::read_to_string(manifest_path("tests/data/float/go_format.txt"))
        .expect("tests/data/float/go_format.txt is committed");
    let mut checked = 0;
    let mut mismatches = Vec::new();
    let mut out = Vec::new();
    for line in expected.lines() {
        let (bits, go) = line.split_once(' ').expect("line is `bits output`");
        let v = f64::from_bits(u64::from_str_radix(bits, 16).expect("bits are hex"));
        out.clear();
        write_float(&mut out, v);
        if out != go.as_bytes() {
            mismatches.push(format!(
                "{bits}: go {go}, ours {}",
                String::from_utf8_lossy(&out)
            ));
        }
        checked += 1;
    }
    assert!(checked > 5000, "only {checked} values in the expected file");
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn write_float_round_trips_through_rust_parsing() {
    // Independent of Go: the digits written are enough to get the same float back.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut out = Vec::new();
    for _ in 0..20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let v = f64::from_bits(state);
        if !v.is_finite() {
            continue;
        }
        out.clear();
        write_float(&mut out, v);
        let back: f64 = std::str::from_utf8(&out).unwrap().parse().unwrap();
        assert_eq!(back.to_bits(), v.to_bits(), "{v:e} written as {:?}", out);
    }
}

// --- text 0.0.4 ----------------------------------------------------------------------------

#[test]
fn help_line_is_omitted_when_help_is_none() {
    let f = family(
        "up",
        MetricType::Gauge,
        vec![metric(&[], Value::Gauge(1.0))],
    );
    assert_eq!(text(&f), "# TYPE up gauge\nup 1\n");
}

#[test]
fn empty_help_renders_trailing_space() {
    let mut f = family(
        "pb_eh",
        MetricType::Gauge,
        vec![metric(&[], Value::Gauge(2.0))],
    );
    f.help = Some(String::new());
    assert_eq!(text(&f), "# HELP pb_eh \n# TYPE pb_eh gauge\npb_eh 2\n");
}

#[test]
fn help_escapes_backslash_and_newline_but_not_quotes() {
    let mut f = family(
        "h",
        MetricType::Untyped,
        vec![metric(&[], Value::Untyped(1.0))],
    );
    f.help = Some("a \\ b\nc \"q\" ünï".into());
    assert_eq!(
        text(&f),
        "# HELP h a \\\\ b\\nc \"q\" ünï\n# TYPE h untyped\nh 1\n"
    );
}

#[test]
fn label_values_escape_backslash_quote_and_newline() {
    let m = metric(&[("path", "C:\\x\n\"y\""), ("z", "ü")], counter(3.0));
    let f = family("c_total", MetricType::Counter, vec![m]);
    assert_eq!(
        text(&f),
        "# TYPE c_total counter\nc_total{path=\"C:\\\\x\\n\\\"y\\\"\",z=\"ü\"} 3\n"
    );
}

#[test]
fn labels_are_written_in_model_order_and_empty_values_are_kept() {
    let m = metric(&[("b", "1"), ("a", "")], Value::Gauge(0.5));
    let f = family("g", MetricType::Gauge, vec![m]);
    assert_eq!(text(&f), "# TYPE g gauge\ng{b=\"1\",a=\"\"} 0.5\n");
}

#[test]
fn timestamp_is_written_as_integer_milliseconds() {
    let mut m = metric(&[("a", "b")], Value::Gauge(-1.5));
    m.timestamp_ms = Some(1_700_000_000_123);
    let mut negative = metric(&[], Value::Gauge(1.0));
    negative.timestamp_ms = Some(-5);
    let f = family("g", MetricType::Gauge, vec![m, negative]);
    assert_eq!(
        text(&f),
        "# TYPE g gauge\ng{a=\"b\"} -1.5 1700000000123\ng 1 -5\n"
    );
}

#[test]
fn values_use_go_shortest_float_form() {
    let values = [1e6, 123456.0, 1.7957977344380403e9, 0.0001, 1e-5, 2.5];
    let metrics = values
        .iter()
        .map(|v| metric(&[], Value::Untyped(*v)))
        .collect();
    let f = family("u", MetricType::Untyped, metrics);
    assert_eq!(
        text(&f),
        "# TYPE u untyped\nu 1e+06\nu 123456\nu 1.7957977344380403e+09\nu 0.0001\nu 1e-05\nu 2.5\n"
    );
}

#[test]
fn special_values_render_as_go_spells_them() {
    let metrics = [f64::INFINITY, f64::NEG_INFINITY, f64::NAN]
        .iter()
        .map(|v| metric(&[], Value::Gauge(*v)))
        .collect();
    let f = family("g", MetricType::Gauge, metrics);
    assert_eq!(text(&f), "# TYPE g gauge\ng +Inf\ng -Inf\ng NaN\n");
}

#[test]
fn negative_zero_renders_as_zero_in_values_and_labels() {
    // The reference's text writeFloat special-cases `f == 0`, which negative zero is.
    let s = Value::Summary(Box::new(Summary {
        sample_count: 0,
        sample_sum: -0.0,
        quantiles: vec![Quantile {
            quantile: -0.0,
            value: -0.0,
        }],
        created: None,
    }));
    let f = family("s", MetricType::Summary, vec![metric(&[], s)]);
    assert_eq!(
        text(&f),
        "# TYPE s summary\ns{quantile=\"0\"} 0\ns_sum 0\ns_count 0\n"
    );
}

#[test]
fn summary_renders_quantiles_then_sum_and_count() {
    let s = Value::Summary(Box::new(Summary {
        sample_count: 7,
        sample_sum: 12.5,
        quantiles: vec![
            Quantile {
                quantile: 0.5,
                value: 1.0,
            },
            Quantile {
                quantile: 0.99,
                value: f64::NAN,
            },
        ],
        created: Some(Timestamp {
            seconds: 1,
            nanos: 0,
        }),
    }));
    let mut m = metric(&[("job", "j")], s);
    m.timestamp_ms = Some(42);
    let f = family("rpc", MetricType::Summary, vec![m]);
    assert_eq!(
        text(&f),
        "# TYPE rpc summary\n\
         rpc{job=\"j\",quantile=\"0.5\"} 1 42\n\
         rpc{job=\"j\",quantile=\"0.99\"} NaN 42\n\
         rpc_sum{job=\"j\"} 12.5 42\n\
         rpc_count{job=\"j\"} 7 42\n"
    );
}

#[test]
fn summary_without_labels_gets_braces_only_on_quantile_lines() {
    let s = Value::Summary(Box::new(Summary {
        sample_count: 1,
        sample_sum: 2.0,
        quantiles: vec![Quantile {
            quantile: 1.0,
            value: 2.0,
        }],
        created: None,
    }));
    let f = family("s", MetricType::Summary, vec![metric(&[], s)]);
    assert_eq!(
        text(&f),
        "# TYPE s summary\ns{quantile=\"1\"} 2\ns_sum 2\ns_count 1\n"
    );
}

#[test]
fn histogram_gets_inf_bucket_when_missing() {
    let h = histogram(5, 3.5, vec![bucket(0.1, 1), bucket(1.0, 4)]);
    let f = family("lat", MetricType::Histogram, vec![metric(&[("a", "b")], h)]);
    assert_eq!(
        text(&f),
        "# TYPE lat histogram\n\
         lat_bucket{a=\"b\",le=\"0.1\"} 1\n\
         lat_bucket{a=\"b\",le=\"1\"} 4\n\
         lat_bucket{a=\"b\",le=\"+Inf\"} 5\n\
         lat_sum{a=\"b\"} 3.5\n\
         lat_count{a=\"b\"} 5\n"
    );
}

#[test]
fn histogram_keeps_given_inf_bucket_without_adding_another() {
    let h = histogram(5, 3.5, vec![bucket(1.0, 4), bucket(f64::INFINITY, 6)]);
    let f = family("lat", MetricType::Histogram, vec![metric(&[], h)]);
    assert_eq!(
        text(&f),
        "# TYPE lat histogram\n\
         lat_bucket{le=\"1\"} 4\n\
         lat_bucket{le=\"+Inf\"} 6\n\
         lat_sum 3.5\n\
         lat_count 5\n"
    );
}

#[test]
fn gauge_histogram_renders_as_histogram() {
    let h = histogram(2, 1.0, vec![bucket(1e6, 2)]);
    let f = family("gh", MetricType::GaugeHistogram, vec![metric(&[], h)]);
    assert_eq!(
        text(&f),
        "# TYPE gh histogram\ngh_bucket{le=\"1e+06\"} 2\ngh_bucket{le=\"+Inf\"} 2\ngh_sum 1\ngh_count 2\n"
    );
}

#[test]
fn native_only_histogram_shows_only_inf_bucket() {
    let h = Value::Histogram(Box::new(Histogram {
        sample_count: 3,
        sample_sum: 1.25,
        schema: 3,
        zero_threshold: 1e-128,
        zero_count: 1,
        positive_spans: vec![BucketSpan {
            offset: 0,
            length: 2,
        }],
        positive_deltas: vec![1, 0],
        ..Histogram::default()
    }));
    let f = family("nh", MetricType::Histogram, vec![metric(&[], h)]);
    assert_eq!(
        text(&f),
        "# TYPE nh histogram\nnh_bucket{le=\"+Inf\"} 3\nnh_sum 1.25\nnh_count 3\n"
    );
}

#[test]
fn float_histogram_uses_float_counts_when_they_are_non_zero() {
    let h = Value::Histogram(Box::new(Histogram {
        sample_count_float: 2.5,
        sample_sum: 4.0,
        buckets: vec![
            Bucket {
                upper_bound: 1.0,
                cumulative_count_float: 1.5,
                ..Bucket::default()
            },
            // A zero float count falls back to the integer count, as the reference does.
            Bucket {
                upper_bound: 2.0,
                cumulative_count: 2,
                ..Bucket::default()
            },
        ],
        ..Histogram::default()
    }));
    let f = family("fh", MetricType::Histogram, vec![metric(&[], h)]);
    assert_eq!(
        text(&f),
        "# TYPE fh histogram\n\
         fh_bucket{le=\"1\"} 1.5\n\
         fh_bucket{le=\"2\"} 2\n\
         fh_bucket{le=\"+Inf\"} 2.5\n\
         fh_sum 4\n\
         fh_count 2.5\n"
    );
}

#[test]
fn utf8_metric_name_goes_quoted_inside_braces() {
    let mut f = family(
        "a.b",
        MetricType::Gauge,
        vec![
            metric(&[], Value::Gauge(1.0)),
            metric(&[("x", "y")], Value::Gauge(2.0)),
        ],
    );
    f.help = Some("h".into());
    assert_eq!(
        text(&f),
        "# HELP \"a.b\" h\n# TYPE \"a.b\" gauge\n{\"a.b\"} 1\n{\"a.b\",x=\"y\"} 2\n"
    );
}

#[test]
fn utf8_histogram_name_is_quoted_with_its_suffix() {
    let h = histogram(1, 1.0, vec![]);
    let f = family("é", MetricType::Histogram, vec![metric(&[], h)]);
    assert_eq!(
        text(&f),
        "# TYPE \"é\" histogram\n\
         {\"é_bucket\",le=\"+Inf\"} 1\n\
         {\"é_sum\"} 1\n\
         {\"é_count\"} 1\n"
    );
}

#[test]
fn non_legacy_label_names_are_quoted_and_escaped() {
    let m = metric(
        &[("a.b", "v"), ("c:d", "w"), ("q\"", "x"), ("ok_1", "y")],
        counter(1.0),
    );
    let f = family("m", MetricType::Counter, vec![m]);
    assert_eq!(
        text(&f),
        "# TYPE m counter\nm{\"a.b\"=\"v\",\"c:d\"=\"w\",\"q\\\"\"=\"x\",ok_1=\"y\"} 1\n"
    );
}

#[test]
fn colon_metric_names_stay_bare() {
    let f = family(
        "job:rate:5m",
        MetricType::Gauge,
        vec![metric(&[], Value::Gauge(1.0))],
    );
    assert_eq!(text(&f), "# TYPE job:rate:5m gauge\njob:rate:5m 1\n");
}

#[test]
fn value_kind_that_does_not_match_type_is_written_by_kind() {
    let h = histogram(1, 2.0, vec![]);
    let f = family(
        "odd",
        MetricType::Counter,
        vec![
            metric(&[], Value::Gauge(1.0)),
            metric(&[("k", "v")], h),
            metric(&[], Value::Unset),
        ],
    );
    assert_eq!(
        text(&f),
        "# TYPE odd counter\n\
         odd 1\n\
         odd_bucket{k=\"v\",le=\"+Inf\"} 1\n\
         odd_sum{k=\"v\"} 2\n\
         odd_count{k=\"v\"} 1\n"
    );
}

#[test]
fn family_without_metrics_or_name_encodes_nothing() {
    assert_eq!(text(&family("empty", MetricType::Gauge, vec![])), "");
    assert_eq!(
        text(&family(
            "",
            MetricType::Gauge,
            vec![metric(&[], Value::Gauge(1.0))]
        )),
        ""
    );
}

#[test]
fn header_and_metric_writers_compose_to_encode_text() {
    let mut f = family(
        "c_total",
        MetricType::Counter,
        vec![
            metric(&[("a", "1")], counter(1.0)),
            metric(&[("a", "2")], counter(2.0)),
        ],
    );
    f.help = Some("help".into());
    let mut split = Vec::new();
    write_text_header(&mut split, &f.name, f.help.as_deref(), f.metric_type);
    for m in &f.metrics {
        write_text_metric(&mut split, &f.name, f.metric_type, m);
    }
    assert_eq!(String::from_utf8(split).unwrap(), text(&f));
}

#[test]
fn large_counts_are_written_as_go_floats() {
    let s = Value::Summary(Box::new(Summary {
        sample_count: u64::MAX,
        ..Summary::default()
    }));
    let f = family("s", MetricType::Summary, vec![metric(&[], s)]);
    assert_eq!(
        text(&f),
        "# TYPE s summary\ns_sum 0\ns_count 1.8446744073709552e+19\n"
    );
}

// --- OpenMetrics 1.0 -----------------------------------------------------------------------

#[test]
fn openmetrics_counter_total_family_drops_suffix_in_metadata_only() {
    let mut f = family(
        "req_total",
        MetricType::Counter,
        vec![metric(&[("a", "b")], counter(3.0))],
    );
    f.help = Some("Requests \"served\".\n".into());
    assert_eq!(
        openmetrics(&f),
        "# HELP req Requests \\\"served\\\".\\n\n# TYPE req counter\nreq_total{a=\"b\"} 3.0\n"
    );
}

#[test]
fn openmetrics_counter_without_total_suffix_is_unknown_under_its_own_name() {
    let f = family("req", MetricType::Counter, vec![metric(&[], counter(1.5))]);
    assert_eq!(openmetrics(&f), "# TYPE req unknown\nreq 1.5\n");
}

#[test]
fn openmetrics_untyped_is_unknown_and_gauge_is_gauge() {
    let u = family(
        "u",
        MetricType::Untyped,
        vec![metric(&[], Value::Untyped(2.0))],
    );
    assert_eq!(openmetrics(&u), "# TYPE u unknown\nu 2.0\n");
    let g = family(
        "g",
        MetricType::Gauge,
        vec![metric(&[], Value::Gauge(-1.0))],
    );
    assert_eq!(openmetrics(&g), "# TYPE g gauge\ng -1.0\n");
}

#[test]
fn openmetrics_floats_get_point_zero_unless_they_have_point_or_exponent() {
    let values = [0.0, -0.0, 1.0, 1e6, 0.25, 123456.0, f64::INFINITY, f64::NAN];
    let metrics = values
        .iter()
        .map(|v| metric(&[], Value::Gauge(*v)))
        .collect();
    let f = family("g", MetricType::Gauge, metrics);
    assert_eq!(
        openmetrics(&f),
        "# TYPE g gauge\ng 0.0\ng 0.0\ng 1.0\ng 1e+06\ng 0.25\ng 123456.0\ng +Inf\ng NaN\n"
    );
}

#[test]
fn openmetrics_timestamps_are_seconds() {
    let mut a = metric(&[("i", "1")], Value::Gauge(1.0));
    a.timestamp_ms = Some(1_500);
    let mut b = metric(&[("i", "2")], Value::Gauge(1.0));
    b.timestamp_ms = Some(1_700_000_000_000);
    let f = family("g", MetricType::Gauge, vec![a, b]);
    assert_eq!(
        openmetrics(&f),
        "# TYPE g gauge\ng{i=\"1\"} 1.0 1.5\ng{i=\"2\"} 1.0 1.7e+09\n"
    );
}

#[test]
fn openmetrics_counter_writes_exemplar_and_created_line() {
    let c = Value::Counter(Counter {
        value: 10.0,
        created: Some(Timestamp {
            seconds: 1_600_000_000,
            nanos: 500_000_000,
        }),
        exemplar: Some(Box::new(Exemplar {
            labels: vec![Label::new("trace_id", "abc")],
            value: 0.5,
            timestamp: Some(Timestamp {
                seconds: 1_600_000_001,
                nanos: 0,
            }),
        })),
    });
    let f = family(
        "req_total",
        MetricType::Counter,
        vec![metric(&[("a", "b")], c)],
    );
    assert_eq!(
        openmetrics(&f),
        "# TYPE req counter\n\
         req_total{a=\"b\"} 10.0 # {trace_id=\"abc\"} 0.5 1.600000001e+09\n\
         req_created{a=\"b\"} 1.6000000005e+09\n"
    );
}

#[test]
fn openmetrics_created_line_repeats_the_metric_timestamp() {
    let c = Value::Counter(Counter {
        value: 1.0,
        created: Some(Timestamp {
            seconds: 5,
            nanos: 0,
        }),
        exemplar: None,
    });
    let mut m = metric(&[], c);
    m.timestamp_ms = Some(6_000);
    let f = family("c_total", MetricType::Counter, vec![m]);
    assert_eq!(
        openmetrics(&f),
        "# TYPE c counter\nc_total 1.0 6.0\nc_created 5.0 6.0\n"
    );
}

#[test]
fn openmetrics_exemplar_without_labels_is_left_out() {
    let c = Value::Counter(Counter {
        value: 1.0,
        created: None,
        exemplar: Some(Box::new(Exemplar {
            labels: vec![],
            value: 1.0,
            timestamp: None,
        })),
    });
    let f = family("c_total", MetricType::Counter, vec![metric(&[], c)]);
    assert_eq!(openmetrics(&f), "# TYPE c counter\nc_total 1.0\n");
}

#[test]
fn openmetrics_summary_writes_integer_count_and_created() {
    let s = Value::Summary(Box::new(Summary {
        sample_count: 4,
        sample_sum: 2.0,
        quantiles: vec![
            Quantile {
                quantile: 0.5,
                value: 0.25,
            },
            Quantile {
                quantile: 1.0,
                value: 1.0,
            },
        ],
        created: Some(Timestamp {
            seconds: 10,
            nanos: 0,
        }),
    }));
    let f = family("s", MetricType::Summary, vec![metric(&[], s)]);
    assert_eq!(
        openmetrics(&f),
        "# TYPE s summary\n\
         s{quantile=\"0.5\"} 0.25\n\
         s{quantile=\"1.0\"} 1.0\n\
         s_sum 2.0\n\
         s_count 4\n\
         s_created 10.0\n"
    );
}

#[test]
fn openmetrics_histogram_gets_inf_bucket_exemplars_and_created() {
    let h = Value::Histogram(Box::new(Histogram {
        sample_count: 3,
        sample_sum: 1.5,
        buckets: vec![Bucket {
            upper_bound: 1.0,
            cumulative_count: 2,
            exemplar: Some(Exemplar {
                labels: vec![Label::new("id", "x")],
                value: 0.7,
                timestamp: None,
            }),
            ..Bucket::default()
        }],
        created: Some(Timestamp {
            seconds: 0,
            nanos: 1_000_000,
        }),
        ..Histogram::default()
    }));
    let f = family("h", MetricType::Histogram, vec![metric(&[], h)]);
    assert_eq!(
        openmetrics(&f),
        "# TYPE h histogram\n\
         h_bucket{le=\"1.0\"} 2 # {id=\"x\"} 0.7\n\
         h_bucket{le=\"+Inf\"} 3\n\
         h_sum 1.5\n\
         h_count 3\n\
         h_created 0.001\n"
    );
}

#[test]
fn openmetrics_gauge_histogram_uses_gsum_and_gcount() {
    let h = histogram(2, 1.0, vec![bucket(0.5, 1), bucket(f64::INFINITY, 2)]);
    let f = family("gh", MetricType::GaugeHistogram, vec![metric(&[], h)]);
    assert_eq!(
        openmetrics(&f),
        "# TYPE gh gaugehistogram\n\
         gh_bucket{le=\"0.5\"} 1\n\
         gh_bucket{le=\"+Inf\"} 2\n\
         gh_gsum 1.0\n\
         gh_gcount 2\n"
    );
}

#[test]
fn openmetrics_unit_line_is_written_only_when_the_name_ends_with_it() {
    let mut f = family(
        "req_seconds",
        MetricType::Gauge,
        vec![metric(&[], Value::Gauge(1.0))],
    );
    f.unit = Some("seconds".into());
    f.help = Some("h".into());
    assert_eq!(
        openmetrics(&f),
        "# HELP req_seconds h\n# TYPE req_seconds gauge\n# UNIT req_seconds seconds\nreq_seconds 1.0\n"
    );
    f.unit = Some("bytes".into());
    assert_eq!(
        openmetrics(&f),
        "# HELP req_seconds h\n# TYPE req_seconds gauge\nreq_seconds 1.0\n"
    );
    f.unit = Some("conds".into());
    assert!(!openmetrics(&f).contains("# UNIT"));
    f.unit = Some(String::new());
    assert!(!openmetrics(&f).contains("# UNIT"));
}

#[test]
fn openmetrics_counter_unit_is_checked_against_the_family_name() {
    let mut f = family(
        "io_bytes_total",
        MetricType::Counter,
        vec![metric(&[], counter(8.0))],
    );
    f.unit = Some("bytes".into());
    assert_eq!(
        openmetrics(&f),
        "# TYPE io_bytes counter\n# UNIT io_bytes bytes\nio_bytes_total 8.0\n"
    );
}

#[test]
fn openmetrics_utf8_names_are_quoted() {
    let f = family(
        "a.b",
        MetricType::Gauge,
        vec![metric(&[("c.d", "e")], Value::Gauge(1.0))],
    );
    assert_eq!(
        openmetrics(&f),
        "# TYPE \"a.b\" gauge\n{\"a.b\",\"c.d\"=\"e\"} 1.0\n"
    );
}

#[test]
fn openmetrics_float_histogram_writes_float_counts() {
    let h = Value::Histogram(Box::new(Histogram {
        sample_count_float: 1.5,
        buckets: vec![Bucket {
            upper_bound: 1.0,
            cumulative_count_float: 1.5,
            ..Bucket::default()
        }],
        ..Histogram::default()
    }));
    let f = family("fh", MetricType::Histogram, vec![metric(&[], h)]);
    assert_eq!(
        openmetrics(&f),
        "# TYPE fh histogram\nfh_bucket{le=\"1.0\"} 1.5\nfh_bucket{le=\"+Inf\"} 1.5\nfh_sum 0.0\nfh_count 1.5\n"
    );
}

#[test]
fn openmetrics_mismatched_value_kind_is_written_without_type_extras() {
    let c = Value::Counter(Counter {
        value: 1.0,
        created: Some(Timestamp {
            seconds: 1,
            nanos: 0,
        }),
        exemplar: Some(Box::new(Exemplar {
            labels: vec![Label::new("a", "b")],
            value: 1.0,
            timestamp: None,
        })),
    });
    let f = family(
        "g",
        MetricType::Gauge,
        vec![metric(&[], c), metric(&[], Value::Unset)],
    );
    assert_eq!(openmetrics(&f), "# TYPE g gauge\ng 1.0\n");
}

#[test]
fn openmetrics_header_and_metric_writers_compose_to_encode_openmetrics() {
    let mut f = family(
        "c_total",
        MetricType::Counter,
        vec![metric(&[("a", "1")], counter(1.0))],
    );
    f.help = Some("help".into());
    f.unit = Some("total".into());
    let mut split = Vec::new();
    write_openmetrics_header(
        &mut split,
        &f.name,
        f.help.as_deref(),
        f.metric_type,
        f.unit.as_deref(),
    );
    for m in &f.metrics {
        write_openmetrics_metric(&mut split, &f.name, f.metric_type, m);
    }
    write_openmetrics_eof(&mut split);
    let mut whole = Vec::new();
    encode_openmetrics(&mut whole, &f);
    write_openmetrics_eof(&mut whole);
    assert_eq!(split, whole);
    assert!(whole.ends_with(b"\n# EOF\n"));
}

// --- promtool ------------------------------------------------------------------------------

/// Families of every type and every rendering rule that legacy names allow, for checking
/// the text output with a real parser.
fn rule_corpus() -> Vec<MetricFamily> {
    let mut with_help = family(
        "c_total",
        MetricType::Counter,
        vec![
            metric(&[("path", "C:\\x\n\"y\""), ("u", "ünï")], counter(3.0)),
            metric(&[("path", "")], counter(1e21)),
        ],
    );
    with_help.help = Some("a \\ b\nc \"q\"".into());
    let mut empty_help = family(
        "g",
        MetricType::Gauge,
        vec![metric(&[], Value::Gauge(f64::NAN))],
    );
    empty_help.help = Some(String::new());
    let mut stamped = metric(&[("a", "b")], Value::Untyped(-0.0));
    stamped.timestamp_ms = Some(1_700_000_000_123);
    let summary = Value::Summary(Box::new(Summary {
        sample_count: 7,
        sample_sum: 1e-7,
        quantiles: vec![Quantile {
            quantile: 0.5,
            value: f64::INFINITY,
        }],
        created: None,
    }));
    vec![
        with_help,
        empty_help,
        family("u", MetricType::Untyped, vec![stamped]),
        family(
            "s",
            MetricType::Summary,
            vec![metric(&[("x", "y")], summary)],
        ),
        family(
            "h",
            MetricType::Histogram,
            vec![metric(
                &[],
                histogram(5, 2.0, vec![bucket(0.001, 1), bucket(1e6, 4)]),
            )],
        ),
        family(
            "gh",
            MetricType::GaugeHistogram,
            vec![metric(&[], histogram(1, 0.5, vec![]))],
        ),
    ]
}

/// Where `shared/bench/data/mixed.prom` is: `CAIRN_MIXED_PROM`, else the `shared/` folder
/// beside the repository.
fn mixed_prom_path() -> PathBuf {
    std::env::var_os("CAIRN_MIXED_PROM")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_path("../../../shared/bench/data/mixed.prom"))
}

/// Runs `promtool check metrics` on `body` and panics on a syntax error. promtool 2.42
/// exits 1 and prints `error while linting: text format parsing error in line N: ...` for
/// a syntax error, and exits 3 with one line per finding for lint problems only (missing
/// help, counter without `_total`, ...), which are fine here.
fn assert_promtool_parses(promtool: &Path, what: &str, body: &[u8]) {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", promtool.display()));
    let mut stdin = child.stdin.take().unwrap();
    // Writing on a thread: promtool may fill its output pipes before reading all input.
    let body = body.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let syntax_error = stdout
        .lines()
        .chain(stderr.lines())
        .find(|line| line.contains("parsing error") || line.contains("error while linting"));
    assert!(
        syntax_error.is_none(),
        "promtool rejects {what}: {}",
        syntax_error.unwrap()
    );
    assert!(
        matches!(output.status.code(), Some(0 | 3)),
        "promtool failed on {what} with {:?}:\n{stdout}\n{stderr}",
        output.status
    );
}

#[test]
fn promtool_parses_text_output() {
    let Some(promtool) = std::env::var_os("PROMTOOL") else {
        eprintln!("PROMTOOL is not set: skipping the promtool check");
        return;
    };
    let promtool = PathBuf::from(promtool);

    let mut corpus = Vec::new();
    for f in &rule_corpus() {
        encode_text(&mut corpus, f);
    }
    assert_promtool_parses(&promtool, "the rule corpus", &corpus);

    let path = mixed_prom_path();
    let input = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read {} (set CAIRN_MIXED_PROM): {e}", path.display()));
    let families = parse_text(&input, NameScheme::Legacy).expect("mixed.prom parses");
    assert!(!families.is_empty(), "mixed.prom parsed into no families");
    let mut encoded = Vec::new();
    for f in &families {
        encode_text(&mut encoded, f);
    }
    assert_promtool_parses(&promtool, "the encoded mixed.prom", &encoded);
}

#[test]
fn promtool_check_rejects_a_syntax_error() {
    // The check above is only worth something if a broken body fails it.
    let Some(promtool) = std::env::var_os("PROMTOOL") else {
        return;
    };
    let result = std::panic::catch_unwind(|| {
        assert_promtool_parses(Path::new(&promtool), "a broken body", b"m{a=\"b} 1\n");
    });
    assert!(result.is_err());
}

mod sample_lines {
    use cairn_expfmt::{SampleLine, write_text_metric, write_text_sample};
    use proptest::prelude::*;

    /// Names and label parts from a small alphabet that reaches every rule: empty, legacy,
    /// not legacy (quoted), and characters that need escaping.
    fn part() -> impl Strategy<Value = String> {
        let chars = vec!['a', 'b', '_', ':', '0', '.', ' ', '"', '\\', '\n', '\u{e9}'];
        prop::collection::vec(prop::sample::select(chars), 0..6)
            .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        /// A sample written from label pairs is the line `write_text_metric` writes for the
        /// same counter, gauge or untyped metric.
        #[test]
        fn a_sample_from_pairs_is_the_metrics_line(
            name in part(),
            labels in prop::collection::vec((part(), part()), 0..4),
            value in prop_oneof![any::<f64>(), Just(0.0), Just(-0.0), Just(1.0), Just(f64::NAN)],
            kind in 0..3usize,
        ) {
            let (ty, _, metric) = crate::plain_metric(kind, &labels, value);
            let mut expected = Vec::new();
            write_text_metric(&mut expected, &name, ty, &metric);
            let pairs: Vec<(&str, &str)> = labels.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let mut got = Vec::new();
            write_text_sample(&mut got, &name, &pairs, value);
            prop_assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected));
        }

        /// A line prepared with some label values left open, then written with them, is
        /// the line `write_text_sample` writes for the labels filled in; so is the next
        /// line, written from the same preparation with other values.
        #[test]
        fn a_prepared_line_is_the_samples_line(
            name in part(),
            labels in prop::collection::vec((part(), part(), any::<bool>(), part()), 0..4),
            values in (any::<f64>(), any::<f64>()),
        ) {
            let template: Vec<(&str, Option<&str>)> = labels
                .iter()
                .map(|(n, v, open, _)| (n.as_str(), (!open).then_some(v.as_str())))
                .collect();
            let line = SampleLine::new(&name, &template);
            let mut got = Vec::new();
            let mut expected = Vec::new();
            for (second, value) in [(false, values.0), (true, values.1)] {
                fn filled(second: bool, (n, v, _, w): &(String, String, bool, String)) -> (&str, &str) {
                    (n.as_str(), if second { w.as_str() } else { v.as_str() })
                }
                let pairs: Vec<(&str, &str)> = labels
                    .iter()
                    .map(|l| if l.2 { filled(second, l) } else { (l.0.as_str(), l.1.as_str()) })
                    .collect();
                write_text_sample(&mut expected, &name, &pairs, value);
                let open = labels.iter().filter(|l| l.2).map(|l| filled(second, l).1);
                line.write(&mut got, open, value);
            }
            prop_assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected));
        }
    }
}
