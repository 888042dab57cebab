//! The text parser under `PushLimits`: each cap at its boundary, the error's line and
//! wording, and the same bodies through the protobuf decoder.

use cairn_expfmt::{
    Limit, LimitExceeded, NameScheme, ProtoDecodeError, ProtoLimits, PushLimits, decode_delimited,
    encode_delimited, parse_text, parse_text_with_limits,
};

fn tight() -> PushLimits {
    PushLimits {
        series_max: 3,
        labels_per_series_max: 2,
        metric_name_bytes_max: 8,
        label_name_bytes_max: 3,
        label_value_bytes_max: 4,
        grouping_bytes_max: usize::MAX,
    }
}

/// The cap `body` exceeds under [`tight`], and the line where the parser noticed.
fn exceeded(body: &str) -> (LimitExceeded, usize) {
    let error = parse_text_with_limits(body.as_bytes(), NameScheme::Legacy, &tight())
        .expect_err("a cap is exceeded");
    let limit = error.limit.clone().expect("the error is a limit");
    assert_eq!(
        error.to_string(),
        format!("text format parsing error in line {}: {limit}", error.line)
    );
    (limit, error.line)
}

fn accepted(body: &str) -> usize {
    let families = parse_text_with_limits(body.as_bytes(), NameScheme::Legacy, &tight())
        .expect("within the caps");
    families.iter().map(|f| f.metrics.len()).sum()
}

#[test]
fn series_cap_is_inclusive_and_stops_at_the_first_series_over() {
    assert_eq!(accepted("a 1\nb 2\nc 3\n"), 3);
    let (limit, line) = exceeded("a 1\nb 2\nc 3\nd 4\ne 5\n");
    assert_eq!(limit, LimitExceeded::SeriesPerPush { max: 3 });
    assert_eq!(line, 4);
    assert_eq!(
        limit.to_string(),
        "push has more than 3 series, more than the limit of 3"
    );
}

#[test]
fn a_summary_or_histogram_series_counts_once_whatever_its_lines() {
    let body = "# TYPE s summary\n\
                s{quantile=\"0.5\"} 1\ns{quantile=\"0.9\"} 2\ns_sum 3\ns_count 4\n\
                # TYPE h histogram\n\
                h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n\
                g 1\n";
    assert_eq!(accepted(body), 3);
    let (limit, _) = exceeded(&format!("{body}s{{a=\"x\"}} 1\n"));
    assert_eq!(limit.limit(), Limit::SeriesPerPush);
}

#[test]
fn label_cap_is_inclusive_and_counts_every_label_of_the_series() {
    // `le` is part of a histogram's value, not a label.
    assert_eq!(
        accepted(
            "# TYPE h histogram\nh_bucket{a=\"1\",b=\"2\",le=\"1\"} 1\nx{a=\"1\",b=\"2\"} 1\n"
        ),
        2
    );
    let many: Vec<String> = (0..10_000).map(|i| format!("l{i}=\"\"")).collect();
    let limits = PushLimits {
        labels_per_series_max: 2,
        ..PushLimits::default()
    };
    let body = format!("ok 1\nwide{{{}}} 1\n", many.join(","));
    let error = parse_text_with_limits(body.as_bytes(), NameScheme::Legacy, &limits).unwrap_err();
    let (limit, line) = (error.limit.unwrap(), error.line);
    assert_eq!(
        limit,
        LimitExceeded::LabelsPerSeries {
            metric: "wide".into(),
            labels: 10_000,
            max: 2
        }
    );
    assert_eq!(line, 2);
}

#[test]
fn name_and_value_caps_are_inclusive() {
    assert_eq!(accepted("abcdefgh{abc=\"wxyz\"} 1\n"), 1);
    let (limit, _) = exceeded("abcdefghi 1\n");
    assert_eq!(
        limit,
        LimitExceeded::MetricNameBytes {
            name: "abcdefghi".into(),
            bytes: 9,
            max: 8
        }
    );
    // Names in HELP and TYPE lines are metric names too.
    assert_eq!(
        exceeded("# HELP abcdefghi text\n").0.limit(),
        Limit::MetricNameBytes
    );
    let (limit, _) = exceeded("m{abcd=\"\"} 1\n");
    assert_eq!(
        limit,
        LimitExceeded::LabelNameBytes {
            metric: "m".into(),
            name: "abcd".into(),
            bytes: 4,
            max: 3
        }
    );
    // Escapes count as what they stand for: `\n` is one byte.
    assert_eq!(accepted("m{a=\"a\\nbc\"} 1\n"), 1);
    let (limit, _) = exceeded("m{a=\"vwxyz\"} 1\n");
    assert_eq!(
        limit,
        LimitExceeded::LabelValueBytes {
            metric: "m".into(),
            label: "a".into(),
            bytes: 5,
            max: 4
        }
    );
}

#[test]
fn utf8_names_inside_braces_are_capped_too() {
    let parse = |body: &str| parse_text_with_limits(body.as_bytes(), NameScheme::Utf8, &tight());
    assert!(parse("{\"a.b\",c=\"d\"} 1\n").is_ok());
    let error = parse("{\"a.bcdefgh\",c=\"d\"} 1\n").unwrap_err();
    assert_eq!(error.limit.map(|l| l.limit()), Some(Limit::MetricNameBytes));
}

#[test]
fn a_long_name_is_cut_in_the_error() {
    let name = "n".repeat(100_000);
    let (limit, _) = exceeded(&format!("{name} 1\n"));
    let text = limit.to_string();
    assert!(text.len() < 200, "{text}");
    assert!(text.contains("is 100000 bytes long"), "{text}");
}

#[test]
fn parse_text_has_no_caps_and_syntax_errors_are_not_limits() {
    let many: Vec<String> = (0..300).map(|i| format!("l{i}=\"\"")).collect();
    let body = format!("wide{{{}}} 1\n", many.join(","));
    assert_eq!(
        parse_text(body.as_bytes(), NameScheme::Legacy).unwrap()[0].metrics[0]
            .labels
            .len(),
        300
    );
    let error = parse_text_with_limits(b"a{b=} 1\n", NameScheme::Legacy, &tight()).unwrap_err();
    assert_eq!(error.limit, None);
}

#[test]
fn protobuf_bodies_meet_the_same_caps() {
    let proto = |text: &str| {
        let mut body = Vec::new();
        for family in parse_text(text.as_bytes(), NameScheme::Legacy).unwrap() {
            encode_delimited(&mut body, &family);
        }
        let limits = ProtoLimits {
            push: tight(),
            ..ProtoLimits::default()
        };
        match decode_delimited(&body, &limits) {
            Ok(_) => None,
            Err(ProtoDecodeError::Limit { exceeded, .. }) => Some(exceeded.limit()),
            Err(other) => panic!("{other}"),
        }
    };
    for (text, limit) in [
        ("abcdefgh{abc=\"wxyz\",b=\"\"} 1\nb 1\nc 1\n", None),
        ("a 1\nb 1\nc 1\nd 1\n", Some(Limit::SeriesPerPush)),
        ("a{a=\"\",b=\"\",c=\"\"} 1\n", Some(Limit::LabelsPerSeries)),
        ("abcdefghi 1\n", Some(Limit::MetricNameBytes)),
        ("a{abcd=\"\"} 1\n", Some(Limit::LabelNameBytes)),
        ("a{a=\"vwxyz\"} 1\n", Some(Limit::LabelValueBytes)),
    ] {
        assert_eq!(proto(text), limit, "{text}");
        let parsed = parse_text_with_limits(text.as_bytes(), NameScheme::Legacy, &tight());
        assert_eq!(
            parsed.err().and_then(|e| e.limit).map(|l| l.limit()),
            limit,
            "{text}"
        );
    }
}
