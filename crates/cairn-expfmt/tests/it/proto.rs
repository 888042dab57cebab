//! Protobuf delimited decoding and encoding: the reference's test data and conformance
//! bodies, native histograms, malformed and oversized input, and a roundtrip property.

use cairn_expfmt::{
    Bucket, BucketSpan, Counter, Exemplar, Histogram, Label, LimitExceeded, Metric, MetricFamily,
    MetricType, NameScheme, ProtoDecodeError, ProtoLimits, PushLimits, Quantile, Summary,
    Timestamp, Value, decode_delimited, encode_delimited, parse_text,
};
use proptest::prelude::*;

// ---- helpers -------------------------------------------------------------------------

/// `shared/` sits beside the workspace (`/work/shared` for `/work/main`, and in CI beside
/// the clone).
fn read_shared(path: &str) -> Vec<u8> {
    let full = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/").to_owned() + path;
    std::fs::read(&full).unwrap_or_else(|error| panic!("{full}: {error}"))
}

fn decode(bytes: &[u8]) -> Result<Vec<MetricFamily>, ProtoDecodeError> {
    decode_delimited(bytes, &ProtoLimits::default())
}

fn encode(families: &[MetricFamily]) -> Vec<u8> {
    let mut out = Vec::new();
    for family in families {
        encode_delimited(&mut out, family);
    }
    out
}

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
    let labels = labels
        .iter()
        .map(|(name, value)| Label::new(*name, *value))
        .collect();
    Metric {
        labels,
        value,
        timestamp_ms: None,
    }
}

/// A protobuf writer for hand-built bodies, independent of the crate's encoder (and of
/// prost), so that a wrong tag or wire type in the crate cannot cancel itself out.
#[derive(Clone, Default)]
struct Pb(Vec<u8>);

impl Pb {
    fn varint(mut self, mut value: u64) -> Pb {
        while value >= 0x80 {
            self.0.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
        self
    }
    fn key(self, field: u64, wire_type: u64) -> Pb {
        self.varint((field << 3) | wire_type)
    }
    fn uint(self, field: u64, value: u64) -> Pb {
        self.key(field, 0).varint(value)
    }
    fn sint(self, field: u64, value: i64) -> Pb {
        self.key(field, 0)
            .varint(((value << 1) ^ (value >> 63)) as u64)
    }
    fn double(mut self, field: u64, value: f64) -> Pb {
        self = self.key(field, 1);
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }
    fn bytes(mut self, field: u64, bytes: &[u8]) -> Pb {
        self = self.key(field, 2).varint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
        self
    }
    fn string(self, field: u64, text: &str) -> Pb {
        self.bytes(field, text.as_bytes())
    }
    fn message(self, field: u64, message: Pb) -> Pb {
        self.bytes(field, &message.0)
    }
    /// This message with its length prefix, as one element of a body.
    fn delimited(self) -> Vec<u8> {
        Pb::default()
            .varint(self.0.len() as u64)
            .0
            .into_iter()
            .chain(self.0)
            .collect()
    }
}

fn label_pair(name: &str, value: &str) -> Pb {
    Pb::default().string(1, name).string(2, value)
}

fn span(offset: i64, length: u64) -> Pb {
    Pb::default().sint(1, offset).uint(2, length)
}

/// The value of `"key": "..."` in a conformance case file (only `\n`, `\"`, `\\` escapes).
fn json_string(json: &str, key: &str) -> String {
    let start = json.find(&format!("\"{key}\": \"")).unwrap() + key.len() + 5;
    let mut value = String::new();
    let mut chars = json[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return value,
            '\\' => match chars.next().unwrap() {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    panic!("unterminated string for {key}");
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut bits, mut count) = (0u32, 0);
    for byte in text.bytes().filter(|&b| b != b'=') {
        let digit = ALPHABET.iter().position(|&a| a == byte).unwrap() as u32;
        bits = (bits << 6) | digit;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

fn conformance_body(case: &str) -> Vec<u8> {
    let json = String::from_utf8(read_shared(&format!("conformance/cases/{case}.json"))).unwrap();
    if json.contains("\"body_b64\"") {
        base64_decode(&json_string(&json, "body_b64"))
    } else {
        json_string(&json, "body").into_bytes()
    }
}

// ---- the reference's test data -------------------------------------------------------

#[test]
fn protobuf_testdata_matches_the_text_testdata() {
    let mut from_proto = decode(&read_shared("testdata/expfmt/protobuf")).unwrap();
    let mut from_text =
        parse_text(&read_shared("testdata/expfmt/text"), NameScheme::Legacy).unwrap();
    from_proto.sort_by(|a, b| a.name.cmp(&b.name));
    from_text.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        from_text.len(),
        37,
        "the text parser read {} families",
        from_text.len()
    );
    assert_eq!(from_proto, from_text);
}

#[test]
fn protobuf_testdata_decodes_to_its_37_families() {
    let families = decode(&read_shared("testdata/expfmt/protobuf")).unwrap();
    assert_eq!(families.len(), 37);
    assert_eq!(families[0].name, "process_virtual_memory_bytes");
    assert_eq!(
        families[0].help.as_deref(),
        Some("Virtual memory size in bytes.")
    );
    assert_eq!(families[0].metric_type, MetricType::Gauge);
    assert_eq!(
        families[0].metrics,
        vec![metric(&[], Value::Gauge(5.41478912e8))]
    );

    let durations = families
        .iter()
        .find(|f| f.name == "http_request_duration_microseconds")
        .unwrap();
    assert_eq!(durations.metric_type, MetricType::Summary);
    assert_eq!(durations.metrics.len(), 11);
    assert_eq!(
        durations.metrics[0].labels,
        vec![Label::new("handler", "/")]
    );
    let last = &durations.metrics[10];
    assert_eq!(last.labels, vec![Label::new("handler", "prometheus")]);
    let Value::Summary(summary) = &last.value else {
        panic!("{:?}", last.value)
    };
    assert_eq!(summary.sample_count, 119);
    assert_eq!(summary.sample_sum, 179886.5000000001);
    let quantiles: Vec<(f64, f64)> = summary
        .quantiles
        .iter()
        .map(|q| (q.quantile, q.value))
        .collect();
    assert_eq!(
        quantiles,
        [(0.5, 1307.275), (0.9, 1858.632), (0.99, 3087.384)]
    );

    let chunk_ops = families
        .iter()
        .find(|f| f.name == "prometheus_local_storage_chunk_ops_total")
        .unwrap();
    assert_eq!(chunk_ops.metric_type, MetricType::Counter);
    assert_eq!(chunk_ops.metrics.len(), 5);
    assert_eq!(
        chunk_ops.metrics[0],
        metric(
            &[("type", "create")],
            Value::Counter(Counter {
                value: 598.0,
                ..Counter::default()
            })
        )
    );
}

#[test]
fn multimessage_testdata_decodes_six_telegraf_families() {
    let families = decode(&read_shared("testdata/expfmt/protobuf-multimessage")).unwrap();
    let summary: Vec<(&str, MetricType)> = families
        .iter()
        .map(|f| (f.name.as_str(), f.metric_type))
        .collect();
    assert_eq!(
        summary,
        [
            ("swap_free", MetricType::Gauge),
            ("swap_in", MetricType::Counter),
            ("swap_out", MetricType::Counter),
            ("swap_total", MetricType::Gauge),
            ("swap_used", MetricType::Gauge),
            ("swap_used_percent", MetricType::Gauge),
        ]
    );
    assert!(
        families
            .iter()
            .all(|f| f.help.as_deref() == Some("Telegraf collected metric"))
    );
    assert_eq!(
        families[1].metrics,
        vec![metric(
            &[("host", "omsk")],
            Value::Counter(Counter {
                value: 2031616.0,
                ..Counter::default()
            })
        )]
    );
    assert_eq!(
        families[5].metrics,
        vec![metric(
            &[("host", "omsk")],
            Value::Gauge(1.5378778193395661)
        )]
    );
}

#[test]
fn reencoding_go_written_bodies_gives_the_same_bytes() {
    for body in [
        read_shared("testdata/expfmt/protobuf"),
        read_shared("testdata/expfmt/protobuf-multimessage"),
        conformance_body("060_protobuf_delimited"),
        conformance_body("061_protobuf_timestamp"),
    ] {
        assert_eq!(encode(&decode(&body).unwrap()), body);
    }
}

// ---- conformance bodies --------------------------------------------------------------

#[test]
fn conformance_060_decodes_to_four_families() {
    let families = decode(&conformance_body("060_protobuf_delimited")).unwrap();
    let counter = |value| {
        Value::Counter(Counter {
            value,
            ..Counter::default()
        })
    };
    let histogram = Histogram {
        sample_count: 4,
        sample_sum: 2.5,
        buckets: [(1, 0.1), (3, 1.0), (4, f64::INFINITY)]
            .into_iter()
            .map(|(cumulative_count, upper_bound)| Bucket {
                cumulative_count,
                upper_bound,
                ..Bucket::default()
            })
            .collect(),
        ..Histogram::default()
    };
    let summary = Summary {
        sample_count: 20,
        sample_sum: 10.0,
        quantiles: vec![
            Quantile {
                quantile: 0.5,
                value: 0.2,
            },
            Quantile {
                quantile: 0.99,
                value: 1.5,
            },
        ],
        created: None,
    };
    let expected = vec![
        MetricFamily {
            help: Some("A gauge".into()),
            ..family(
                "pb_gauge",
                MetricType::Gauge,
                vec![
                    metric(&[("a", "1")], Value::Gauge(1.5)),
                    metric(&[("a", "2")], Value::Gauge(2.5)),
                ],
            )
        },
        family(
            "pb_counter",
            MetricType::Counter,
            vec![metric(&[], counter(10.0))],
        ),
        MetricFamily {
            help: Some("H".into()),
            ..family(
                "pb_hist",
                MetricType::Histogram,
                vec![metric(&[], Value::Histogram(Box::new(histogram)))],
            )
        },
        family(
            "pb_sum",
            MetricType::Summary,
            vec![metric(&[], Value::Summary(Box::new(summary)))],
        ),
    ];
    assert_eq!(families, expected);
}

#[test]
fn conformance_061_keeps_the_timestamp() {
    let families = decode(&conformance_body("061_protobuf_timestamp")).unwrap();
    assert_eq!(families.len(), 1);
    assert_eq!(families[0].name, "pb_ts");
    assert_eq!(families[0].metrics[0].timestamp_ms, Some(1_700_000_000_000));
    assert_eq!(families[0].metrics[0].value, Value::Gauge(1.0));
}

#[test]
fn conformance_062_garbage_is_rejected() {
    let body = conformance_body("062_protobuf_garbage");
    assert_eq!(body, b"this is not protobuf\n");
    // 't' (116) reads as a length prefix announcing 116 bytes; 20 follow.
    let error = decode(&body).unwrap_err();
    assert_eq!(
        error,
        ProtoDecodeError::TruncatedMessage {
            offset: 0,
            length: 116,
            available: 20
        }
    );
    assert_eq!(
        error.to_string(),
        "unexpected EOF in the message at byte 0: 116 bytes announced, 20 present"
    );
}

// ---- native histograms ---------------------------------------------------------------

fn two_spans() -> Vec<BucketSpan> {
    vec![
        BucketSpan {
            offset: 0,
            length: 2,
        },
        BucketSpan {
            offset: 0,
            length: 2,
        },
    ]
}

fn timestamp(seconds: i64, nanos: i32) -> Timestamp {
    Timestamp { seconds, nanos }
}

/// The reference handler test's float native histogram.
fn float_native_histogram() -> Histogram {
    Histogram {
        sample_count_float: 20.0,
        sample_sum: 99.23,
        schema: 1,
        negative_spans: two_spans(),
        negative_counts: vec![2.0, 2.0, -2.0, 0.0],
        positive_spans: two_spans(),
        positive_counts: vec![2.0, 2.0, -2.0, 0.0],
        ..Histogram::default()
    }
}

/// The reference API test's integer native histogram, with everything else protobuf can
/// carry set as well.
fn integer_native_histogram() -> Histogram {
    Histogram {
        sample_count: 20,
        sample_sum: 99.23,
        created: Some(timestamp(1_583_781_848, 25_744_841)),
        schema: 1,
        zero_threshold: 1e-128,
        zero_count: 3,
        negative_spans: two_spans(),
        negative_deltas: vec![0, 2, -2, 0],
        positive_spans: vec![
            BucketSpan {
                offset: -3,
                length: 2,
            },
            BucketSpan {
                offset: 5,
                length: 2,
            },
        ],
        positive_deltas: vec![0, 2, -2, 0],
        exemplars: vec![Exemplar {
            labels: vec![Label::new("trace_id", "Björn")],
            value: 1.5,
            timestamp: Some(timestamp(1_583_781_848, -1)),
        }],
        ..Histogram::default()
    }
}

#[test]
fn native_histograms_survive_a_roundtrip() {
    let histograms = family(
        "histogram_metric",
        MetricType::Histogram,
        vec![
            metric(
                &[("testing", "float native histogram")],
                Value::Histogram(Box::new(float_native_histogram())),
            ),
            metric(
                &[("testing", "int native histogram")],
                Value::Histogram(Box::new(integer_native_histogram())),
            ),
        ],
    );
    let counter = Counter {
        value: 7.0,
        created: Some(timestamp(-1, 999_999_999)),
        exemplar: Some(Box::new(Exemplar {
            labels: vec![],
            value: -0.5,
            timestamp: None,
        })),
    };
    let families = vec![
        family(
            "some_metric",
            MetricType::Untyped,
            vec![metric(&[], Value::Untyped(1.234))],
        ),
        family(
            "another_metric",
            MetricType::Untyped,
            vec![metric(&[], Value::Untyped(-3.5))],
        ),
        histograms,
        MetricFamily {
            unit: Some("seconds".into()),
            ..family(
                "c",
                MetricType::Counter,
                vec![metric(&[], Value::Counter(counter))],
            )
        },
    ];
    assert_eq!(decode(&encode(&families)).unwrap(), families);
}

#[test]
fn hand_built_native_histograms_decode() {
    let float_histogram = Pb::default()
        .double(4, 20.0)
        .double(2, 99.23)
        .sint(5, 1)
        .message(9, span(0, 2))
        .message(9, span(0, 2))
        .double(11, 2.0)
        .double(11, 2.0)
        .double(11, -2.0)
        .double(11, 0.0)
        .message(12, span(0, 2))
        .message(12, span(0, 2))
        .double(14, 2.0)
        .double(14, 2.0)
        .double(14, -2.0)
        .double(14, 0.0);
    let exemplar = Pb::default()
        .message(1, label_pair("trace_id", "Björn"))
        .double(2, 1.5)
        .message(3, Pb::default().uint(1, 1_583_781_848).uint(2, u64::MAX)); // nanos -1
    let integer_histogram = Pb::default()
        .uint(1, 20)
        .double(2, 99.23)
        .sint(5, 1)
        .double(6, 1e-128)
        .uint(7, 3)
        .message(9, span(0, 2))
        .message(9, span(0, 2))
        .sint(10, 0)
        .sint(10, 2)
        .sint(10, -2)
        .sint(10, 0)
        .message(12, span(-3, 2))
        .message(12, span(5, 2))
        .sint(13, 0)
        .sint(13, 2)
        .sint(13, -2)
        .sint(13, 0)
        .message(15, Pb::default().uint(1, 1_583_781_848).uint(2, 25_744_841))
        .message(16, exemplar);
    let body = Pb::default()
        .string(1, "histogram_metric")
        .uint(3, 4)
        .message(
            4,
            Pb::default()
                .message(1, label_pair("testing", "float native histogram"))
                .message(7, float_histogram),
        )
        .message(
            4,
            Pb::default()
                .message(1, label_pair("testing", "int native histogram"))
                .message(7, integer_histogram),
        )
        .delimited();
    let expected = family(
        "histogram_metric",
        MetricType::Histogram,
        vec![
            metric(
                &[("testing", "float native histogram")],
                Value::Histogram(Box::new(float_native_histogram())),
            ),
            metric(
                &[("testing", "int native histogram")],
                Value::Histogram(Box::new(integer_native_histogram())),
            ),
        ],
    );
    assert_eq!(decode(&body).unwrap(), vec![expected]);
}

#[test]
fn native_histograms_encode_as_go_writes_them() {
    // Field-number order, counts and sums always, schema and zero bucket always for a
    // native histogram, repeated scalars unpacked.
    let float_histogram = Pb::default()
        .uint(1, 0)
        .double(2, 99.23)
        .double(4, 20.0)
        .sint(5, 1)
        .double(6, 0.0)
        .uint(7, 0)
        .message(9, span(0, 2))
        .message(9, span(0, 2))
        .double(11, 2.0)
        .double(11, 2.0)
        .double(11, -2.0)
        .double(11, 0.0)
        .message(12, span(0, 2))
        .message(12, span(0, 2))
        .double(14, 2.0)
        .double(14, 2.0)
        .double(14, -2.0)
        .double(14, 0.0);
    let integer_histogram = Pb::default()
        .uint(1, 20)
        .double(2, 99.23)
        .sint(5, 1)
        .double(6, 1e-128)
        .uint(7, 3)
        .message(9, span(0, 2))
        .message(9, span(0, 2))
        .sint(10, 0)
        .sint(10, 2)
        .sint(10, -2)
        .sint(10, 0)
        .message(12, span(-3, 2))
        .message(12, span(5, 2))
        .sint(13, 0)
        .sint(13, 2)
        .sint(13, -2)
        .sint(13, 0)
        .message(15, Pb::default().uint(1, 1_583_781_848).uint(2, 25_744_841))
        .message(
            16,
            Pb::default()
                .message(1, label_pair("trace_id", "Björn"))
                .double(2, 1.5)
                .message(3, Pb::default().uint(1, 1_583_781_848).uint(2, u64::MAX)),
        );
    let expected = Pb::default()
        .string(1, "h")
        .uint(3, 4)
        .message(4, Pb::default().message(7, float_histogram))
        .message(4, Pb::default().message(7, integer_histogram))
        .delimited();
    let histograms = family(
        "h",
        MetricType::Histogram,
        vec![
            metric(&[], Value::Histogram(Box::new(float_native_histogram()))),
            metric(&[], Value::Histogram(Box::new(integer_native_histogram()))),
        ],
    );
    assert_eq!(encode(&[histograms]), expected);
}

#[test]
fn packed_and_unpacked_repeated_fields_decode_alike() {
    let zigzag = |v: i64| ((v << 1) ^ (v >> 63)) as u64;
    let packed_deltas = [0, 2, -2, 0]
        .iter()
        .fold(Pb::default(), |pb, &d| pb.varint(zigzag(d)));
    let packed_counts: Vec<u8> = [2.0f64, 2.0, -2.0, 0.0]
        .iter()
        .flat_map(|c| c.to_le_bytes())
        .collect();
    let histogram = Pb::default()
        .uint(1, 20)
        .message(12, span(0, 4))
        .bytes(13, &packed_deltas.0)
        .bytes(14, &packed_counts);
    let body = Pb::default()
        .string(1, "h")
        .uint(3, 4)
        .message(4, Pb::default().message(7, histogram))
        .delimited();
    let families = decode(&body).unwrap();
    let Value::Histogram(decoded) = &families[0].metrics[0].value else {
        panic!()
    };
    assert_eq!(decoded.positive_deltas, [0, 2, -2, 0]);
    assert_eq!(decoded.positive_counts, [2.0, 2.0, -2.0, 0.0]);

    // The encoder writes them unpacked, as client_golang does: one key per element.
    let reencoded = encode(&families);
    let unpacked_deltas = [0, 2, -2, 0]
        .iter()
        .fold(Pb::default(), |pb, &d| pb.sint(13, d))
        .0;
    let unpacked_counts = [2.0, 2.0, -2.0, 0.0]
        .iter()
        .fold(Pb::default(), |pb, &c| pb.double(14, c))
        .0;
    let contains = |needle: &[u8]| reencoded.windows(needle.len()).any(|w| w == needle);
    assert!(
        contains(&[unpacked_deltas, unpacked_counts].concat()),
        "{reencoded:02x?}"
    );
}

// ---- decoding rules ------------------------------------------------------------------

#[test]
fn empty_body_has_no_families() {
    assert_eq!(decode(b""), Ok(vec![]));
}

#[test]
fn zero_length_message_is_an_empty_counter_family() {
    // What Go's protodelim makes of it: an empty MetricFamily, whose GetType() is COUNTER.
    assert_eq!(
        decode(&[0x00]),
        Ok(vec![family("", MetricType::Counter, vec![])])
    );
    assert_eq!(
        decode(&[0x00, 0x00, 0x00]),
        Ok(vec![family("", MetricType::Counter, vec![])])
    );
}

#[test]
fn later_family_with_the_same_name_replaces_the_earlier_in_place() {
    let a1 = family(
        "a",
        MetricType::Gauge,
        vec![metric(&[("v", "1")], Value::Gauge(1.0))],
    );
    let b = family("b", MetricType::Untyped, vec![]);
    let a2 = family("a", MetricType::Counter, vec![metric(&[], Value::Unset)]);
    let body = encode(&[a1, b.clone(), a2.clone()]);
    assert_eq!(decode(&body), Ok(vec![a2, b]));
}

#[test]
fn missing_type_is_counter_and_missing_strings_are_empty() {
    let body = Pb::default()
        .message(
            4,
            Pb::default()
                .message(1, Pb::default())
                .message(3, Pb::default()),
        )
        .delimited();
    let expected = family(
        "",
        MetricType::Counter,
        vec![metric(&[("", "")], Value::Counter(Counter::default()))],
    );
    assert_eq!(decode(&body), Ok(vec![expected]));
}

#[test]
fn unknown_type_is_rejected() {
    let body = Pb::default().string(1, "x").uint(3, 6).delimited();
    let error = decode(&body).unwrap_err();
    assert_eq!(
        error,
        ProtoDecodeError::UnknownMetricType {
            offset: 0,
            name: "x".into(),
            number: 6
        }
    );
}

#[test]
fn value_matching_the_family_type_wins() {
    let both = Pb::default()
        .message(2, Pb::default().double(1, 1.0))
        .message(3, Pb::default().double(1, 2.0));
    let body = |metric_type: u64| {
        Pb::default()
            .string(1, "x")
            .uint(3, metric_type)
            .message(4, both.clone())
            .delimited()
    };
    let value = |metric_type| {
        decode(&body(metric_type)).unwrap()[0].metrics[0]
            .value
            .clone()
    };
    assert_eq!(value(1), Value::Gauge(1.0));
    assert_eq!(
        value(0),
        Value::Counter(Counter {
            value: 2.0,
            ..Counter::default()
        })
    );
    // Neither matches an untyped family: the first in field order is kept.
    assert_eq!(value(3), Value::Gauge(1.0));
}

#[test]
fn metric_without_value_is_unset() {
    let body = Pb::default()
        .string(1, "x")
        .uint(3, 1)
        .message(4, Pb::default().message(1, label_pair("a", "b")).uint(6, 5))
        .delimited();
    let metrics = &decode(&body).unwrap()[0].metrics;
    assert_eq!(
        metrics,
        &[Metric {
            labels: vec![Label::new("a", "b")],
            value: Value::Unset,
            timestamp_ms: Some(5)
        }]
    );
}

#[test]
fn unknown_fields_are_skipped() {
    let body = Pb::default()
        .string(1, "x")
        .uint(99, 7)
        .double(98, 1.0)
        .bytes(97, b"\x22\x00")
        .key(96, 3) // group 96 holding a field-4 entry
        .bytes(4, b"")
        .key(96, 4)
        .uint(3, 1)
        .message(
            4,
            Pb::default().message(2, Pb::default().double(1, 3.0).uint(9, 1)),
        )
        .delimited();
    let expected = family("x", MetricType::Gauge, vec![metric(&[], Value::Gauge(3.0))]);
    assert_eq!(decode(&body), Ok(vec![expected]));
}

#[test]
fn invalid_utf8_is_rejected() {
    let body = Pb::default()
        .string(1, "x")
        .message(4, Pb::default().message(1, Pb::default().bytes(2, b"\xff")))
        .delimited();
    let error = decode(&body).unwrap_err();
    assert!(
        matches!(&error, ProtoDecodeError::InvalidMessage { offset: 0, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("LabelPair.value"), "{error}");
}

#[test]
fn wrong_wire_type_for_a_known_field_is_rejected() {
    let body = Pb::default().uint(1, 5).delimited();
    assert!(matches!(
        decode(&body),
        Err(ProtoDecodeError::InvalidMessage { offset: 0, .. })
    ));
}

// ---- limits and malformed input ------------------------------------------------------

#[test]
fn oversized_length_prefix_is_rejected_without_allocating() {
    let claim = Pb::default().varint(1 << 40).0;
    assert_eq!(
        decode(&claim),
        Err(ProtoDecodeError::MessageTooLarge {
            offset: 0,
            length: 1 << 40,
            max: 64 << 20
        })
    );
    // Without a size limit the claim is checked against the input instead. Allocating what
    // it announces would abort this test.
    let unlimited = ProtoLimits {
        message_bytes_max: usize::MAX,
        ..ProtoLimits::default()
    };
    for length in [1 << 40, u64::MAX] {
        let mut body = Pb::default().varint(length).0;
        body.extend_from_slice(b"abc");
        assert_eq!(
            decode_delimited(&body, &unlimited),
            Err(ProtoDecodeError::TruncatedMessage {
                offset: 0,
                length,
                available: 3
            })
        );
    }
}

#[test]
fn message_longer_than_the_limit_is_rejected() {
    let message = Pb::default().string(1, "abcdefgh"); // 10 bytes
    let body = [
        Pb::default().string(1, "a").delimited(),
        message.delimited(),
    ]
    .concat();
    let limits = ProtoLimits {
        message_bytes_max: 9,
        ..ProtoLimits::default()
    };
    let error = decode_delimited(&body, &limits).unwrap_err();
    assert_eq!(
        error,
        ProtoDecodeError::MessageTooLarge {
            offset: 4,
            length: 10,
            max: 9
        }
    );
    assert_eq!(
        error.to_string(),
        "message at byte 4 is 10 bytes long, over the limit of 9 bytes"
    );
    let limits = ProtoLimits {
        message_bytes_max: 10,
        ..ProtoLimits::default()
    };
    assert_eq!(decode_delimited(&body, &limits).unwrap().len(), 2);
}

#[test]
fn too_many_series_are_rejected() {
    let families = vec![
        family(
            "a",
            MetricType::Gauge,
            vec![metric(&[], Value::Gauge(1.0)); 3],
        ),
        family(
            "b",
            MetricType::Gauge,
            vec![metric(&[], Value::Gauge(1.0)); 2],
        ),
    ];
    let body = encode(&families);
    let limits = |series_max| ProtoLimits {
        push: PushLimits {
            series_max,
            ..PushLimits::default()
        },
        ..ProtoLimits::default()
    };
    assert_eq!(decode_delimited(&body, &limits(5)).unwrap(), families);
    let error = decode_delimited(&body, &limits(4)).unwrap_err();
    assert!(
        matches!(
            error,
            ProtoDecodeError::Limit {
                exceeded: LimitExceeded::SeriesPerPush { max: 4 },
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn truncated_input_is_rejected_at_every_cut() {
    let families = vec![
        family(
            "a",
            MetricType::Gauge,
            vec![metric(&[("k", "v")], Value::Gauge(1.0))],
        ),
        // Long enough for a two-byte length prefix.
        MetricFamily {
            help: Some("h".repeat(200)),
            ..family("b", MetricType::Untyped, vec![])
        },
    ];
    let body = encode(&families);
    let first_end = encode(&families[..1]).len();
    for cut in 0..body.len() {
        let result = decode(&body[..cut]);
        match cut {
            0 => assert_eq!(result, Ok(vec![])),
            _ if cut == first_end => assert_eq!(result, Ok(families[..1].to_vec())),
            _ if cut == first_end + 1 => {
                assert_eq!(
                    result,
                    Err(ProtoDecodeError::TruncatedLength { offset: first_end })
                )
            }
            _ => assert!(
                matches!(result, Err(ProtoDecodeError::TruncatedMessage { .. })),
                "cut {cut}: {result:?}"
            ),
        }
    }
    assert_eq!(decode(&body), Ok(families));
}

#[test]
fn bad_varints_are_rejected() {
    let eleven = [0xff; 11];
    assert_eq!(
        decode(&eleven),
        Err(ProtoDecodeError::InvalidLength { offset: 0 })
    );
    let tenth_too_big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
    let error = decode(&tenth_too_big).unwrap_err();
    assert_eq!(error, ProtoDecodeError::InvalidLength { offset: 0 });
    assert_eq!(
        error.to_string(),
        "invalid length prefix at byte 0: varint overflows a 64-bit integer"
    );
    let body = [0x00, 0x80, 0x80];
    let error = decode(&body).unwrap_err();
    assert_eq!(error, ProtoDecodeError::TruncatedLength { offset: 1 });
    assert_eq!(
        error.to_string(),
        "unexpected EOF in the length prefix at byte 1"
    );
    // A bad varint inside a message.
    let inside = [0x02, 0x18, 0x80];
    assert!(matches!(
        decode(&inside),
        Err(ProtoDecodeError::InvalidMessage { .. })
    ));
}

// ---- roundtrip property --------------------------------------------------------------

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter)
}

fn float() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("NaN never equals itself", |v| !v.is_nan())
}

fn labels() -> impl Strategy<Value = Vec<Label>> {
    prop::collection::vec((text(), text()).prop_map(|(n, v)| Label::new(n, v)), 0..3)
}

fn timestamp_strategy() -> impl Strategy<Value = Option<Timestamp>> {
    prop::option::of((any::<i64>(), any::<i32>()).prop_map(|(s, n)| timestamp(s, n)))
}

fn exemplar() -> impl Strategy<Value = Exemplar> {
    (labels(), float(), timestamp_strategy()).prop_map(|(labels, value, timestamp)| Exemplar {
        labels,
        value,
        timestamp,
    })
}

fn spans() -> impl Strategy<Value = Vec<BucketSpan>> {
    prop::collection::vec(
        (any::<i32>(), any::<u32>()).prop_map(|(offset, length)| BucketSpan { offset, length }),
        0..3,
    )
}

fn histogram() -> impl Strategy<Value = Histogram> {
    let bucket = (any::<u64>(), float(), float(), prop::option::of(exemplar())).prop_map(
        |(cumulative_count, cumulative_count_float, upper_bound, exemplar)| Bucket {
            cumulative_count,
            cumulative_count_float,
            upper_bound,
            exemplar,
        },
    );
    let classic = (
        any::<u64>(),
        float(),
        float(),
        prop::collection::vec(bucket, 0..3),
        timestamp_strategy(),
    );
    let zero = (any::<i32>(), float(), any::<u64>(), float());
    let negative = (
        spans(),
        prop::collection::vec(any::<i64>(), 0..4),
        prop::collection::vec(float(), 0..4),
    );
    let positive = (
        spans(),
        prop::collection::vec(any::<i64>(), 0..4),
        prop::collection::vec(float(), 0..4),
    );
    let exemplars = prop::collection::vec(exemplar(), 0..2);
    (classic, zero, negative, positive, exemplars).prop_map(
        |(
            (sample_count, sample_count_float, sample_sum, buckets, created),
            (schema, zero_threshold, zero_count, zero_count_float),
            (negative_spans, negative_deltas, negative_counts),
            (positive_spans, positive_deltas, positive_counts),
            exemplars,
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
            negative_spans,
            negative_deltas,
            negative_counts,
            positive_spans,
            positive_deltas,
            positive_counts,
            exemplars,
        },
    )
}

fn value() -> impl Strategy<Value = Value> {
    let counter = (float(), timestamp_strategy(), prop::option::of(exemplar())).prop_map(
        |(value, created, exemplar)| Counter {
            value,
            created,
            exemplar: exemplar.map(Box::new),
        },
    );
    let quantile = (float(), float()).prop_map(|(quantile, value)| Quantile { quantile, value });
    let summary = (
        any::<u64>(),
        float(),
        prop::collection::vec(quantile, 0..3),
        timestamp_strategy(),
    )
        .prop_map(|(sample_count, sample_sum, quantiles, created)| Summary {
            sample_count,
            sample_sum,
            quantiles,
            created,
        });
    prop_oneof![
        Just(Value::Unset),
        float().prop_map(Value::Gauge),
        float().prop_map(Value::Untyped),
        counter.prop_map(Value::Counter),
        summary.prop_map(|s| Value::Summary(Box::new(s))),
        histogram().prop_map(|h| Value::Histogram(Box::new(h))),
    ]
}

fn metric_family() -> impl Strategy<Value = MetricFamily> {
    let name = prop_oneof![Just(String::new()), Just("a".to_owned()), text()];
    let metric = (labels(), value(), prop::option::of(any::<i64>())).prop_map(
        |(labels, value, timestamp_ms)| Metric {
            labels,
            value,
            timestamp_ms,
        },
    );
    (
        name,
        prop::option::of(text()),
        prop::sample::select(MetricType::ALL.to_vec()),
        prop::option::of(text()),
        prop::collection::vec(metric, 0..3),
    )
        .prop_map(|(name, help, metric_type, unit, metrics)| MetricFamily {
            name,
            help,
            metric_type,
            unit,
            metrics,
        })
}

/// The obvious model of last-wins: replace in place, else append.
fn last_wins(families: &[MetricFamily]) -> Vec<MetricFamily> {
    let mut out: Vec<MetricFamily> = Vec::new();
    for family in families {
        match out.iter_mut().find(|f| f.name == family.name) {
            Some(slot) => *slot = family.clone(),
            None => out.push(family.clone()),
        }
    }
    out
}

proptest! {
    #[test]
    fn encoded_families_decode_to_themselves(families in prop::collection::vec(metric_family(), 0..4)) {
        let body = encode(&families);
        prop_assert_eq!(decode(&body).unwrap(), last_wins(&families));
    }

    #[test]
    fn reencoding_is_byte_stable_even_with_nan(bits in any::<u64>(), family in metric_family()) {
        // NaN payloads and -0.0 must survive bit for bit.
        let mut family = family;
        family.metrics.push(metric(&[], Value::Gauge(f64::from_bits(bits))));
        if let Some(Metric { value: Value::Histogram(h), .. }) = family.metrics.first_mut() {
            h.zero_threshold = f64::from_bits(bits);
            h.sample_count_float = -0.0;
        }
        let body = encode(std::slice::from_ref(&family));
        prop_assert_eq!(encode(&decode(&body).unwrap()), body);
    }

    #[test]
    fn arbitrary_bytes_decode_or_fail_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        // Whatever decodes must re-encode to something that decodes the same way.
        if let Ok(families) = decode(&bytes) {
            let body = encode(&families);
            prop_assert_eq!(encode(&decode(&body).unwrap()), body);
        }
    }
}

/// A family encoded in parts (head, metric fields, tail) is the family encoded whole.
#[test]
fn encoding_in_parts_gives_the_same_bytes_as_encoding_whole() {
    let mut families = decode(&read_shared("testdata/expfmt/protobuf")).unwrap();
    families[0].unit = Some("bytes".to_owned());
    for family in &families {
        let mut whole = Vec::new();
        encode_delimited(&mut whole, family);
        let head = MetricFamily {
            metrics: Vec::new(),
            ..family.clone()
        };
        let mut fields = Vec::new();
        for metric in &family.metrics {
            cairn_expfmt::encode_metric_field(&mut fields, metric);
        }
        let mut parts = Vec::new();
        let Ok(()) =
            cairn_expfmt::encode_delimited_in_parts(&mut parts, &head, &fields, |out, m| {
                out.extend_from_slice(m);
                Ok::<(), std::convert::Infallible>(())
            });
        assert_eq!(parts, whole, "{}", family.name);
    }
}

proptest! {
    /// A sample's metric field written from label pairs is the field written from the
    /// same counter, gauge or untyped metric, whatever the labels' lengths (one-byte and
    /// longer varints) and the value.
    #[test]
    fn a_sample_field_from_pairs_is_the_metrics_field(
        labels in prop::collection::vec(("[a-z_]{0,3}", "(.{0,4}|x{120,200})"), 0..4),
        value in prop_oneof![any::<f64>(), Just(0.0), Just(-0.0), Just(f64::NAN)],
        kind in 0..3usize,
    ) {
        let (_, sample_kind, metric) = crate::plain_metric(kind, &labels, value);
        let mut expected = Vec::new();
        cairn_expfmt::encode_metric_field(&mut expected, &metric);
        let pairs: Vec<(&str, &str)> = labels.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let mut got = Vec::new();
        cairn_expfmt::encode_sample_field(&mut got, sample_kind, &pairs, value);
        prop_assert_eq!(got, expected);
    }
}
