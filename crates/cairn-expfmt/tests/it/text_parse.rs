//! Tests of the text format parser: input files whose dumps must equal what the reference's
//! Go parser gives for them, the bodies of the conformance cases, and error messages.
//!
//! The expected dumps under `tests/data/text/` are made by the reference, not by us:
//! `scripts/refresh-expfmt-expect.sh` runs goexpfmt (`../shared/goexpfmt`) on every input.
//! With `GOEXPFMT=/path/to/goexpfmt`, the data test also compares with it live.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_expfmt::{MetricFamily, MetricType, NameScheme, TextParseError, Value, parse_text};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/text");
/// `shared/` beside the workspace root.
const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

fn parse(input: &str) -> Result<Vec<MetricFamily>, TextParseError> {
    parse_text(input.as_bytes(), NameScheme::Legacy)
}

fn error_of(input: &str) -> String {
    match parse(input) {
        Ok(families) => panic!("{input:?} was accepted: {families:?}"),
        Err(error) => error.to_string(),
    }
}

fn error_of_utf8(input: &str) -> String {
    match parse_text(input.as_bytes(), NameScheme::Utf8) {
        Ok(families) => panic!("{input:?} was accepted: {families:?}"),
        Err(error) => error.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// The dump: what goexpfmt prints, byte for byte.

/// The parse result as goexpfmt prints it: one JSON object per family, sorted by name, or
/// `error: ...`.
fn dump(result: &Result<Vec<MetricFamily>, TextParseError>) -> String {
    let families = match result {
        Ok(families) => families,
        Err(error) => return format!("error: {error}\n"),
    };
    let mut sorted: Vec<&MetricFamily> = families.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = String::new();
    for family in sorted {
        out.push_str("{\"name\":");
        out.push_str(&json_string(&family.name));
        if let Some(help) = &family.help {
            out.push_str(",\"help\":");
            out.push_str(&json_string(help));
        }
        let _ = write!(
            out,
            ",\"type\":\"{}\",\"series\":[",
            family.metric_type.proto_name()
        );
        for (i, metric) in family.metrics.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let labels: BTreeMap<&str, &str> = metric
                .labels
                .iter()
                .map(|l| (l.name.as_str(), l.value.as_str()))
                .collect();
            out.push_str("{\"labels\":");
            json_object(
                &mut out,
                labels.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            );
            out.push_str(",\"value\":");
            json_object(&mut out, value_fields(&metric.value).into_iter());
            if let Some(timestamp) = metric.timestamp_ms {
                let _ = write!(out, ",\"timestamp_ms\":{timestamp}");
            }
            out.push('}');
        }
        out.push_str("]}\n");
    }
    out
}

fn value_fields(value: &Value) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    match value {
        Value::Counter(counter) => {
            fields.insert("value".to_owned(), go_number(counter.value));
        }
        Value::Gauge(value) | Value::Untyped(value) => {
            fields.insert("value".to_owned(), go_number(*value));
        }
        Value::Summary(summary) => {
            fields.insert("count".to_owned(), summary.sample_count.to_string());
            fields.insert("sum".to_owned(), go_number(summary.sample_sum));
            for q in &summary.quantiles {
                fields.insert(format!("q{}", go_number(q.quantile)), go_number(q.value));
            }
        }
        Value::Histogram(histogram) => {
            fields.insert("count".to_owned(), histogram.sample_count.to_string());
            fields.insert("sum".to_owned(), go_number(histogram.sample_sum));
            for b in &histogram.buckets {
                fields.insert(
                    format!("le{}", go_number(b.upper_bound)),
                    b.cumulative_count.to_string(),
                );
            }
        }
        Value::Unset => {}
    }
    fields
}

fn json_object(out: &mut String, fields: impl Iterator<Item = (String, String)>) {
    out.push('{');
    for (i, (key, value)) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&json_string(&key));
        out.push(':');
        out.push_str(&json_string(&value));
    }
    out.push('}');
}

/// A JSON string as Go's `encoding/json` writes it (Go 1.19, HTML escaping on).
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// goexpfmt's number format: `NaN`, `+Inf`, `-Inf`, else Go's
/// `strconv.FormatFloat(v, 'g', -1, 64)` (shortest digits; exponent form below 1e-4 and
/// from 1e6 on).
fn go_number(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap();
    let exponent: i32 = exponent.parse().unwrap();
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: Vec<u8> = mantissa.bytes().filter(|b| *b != b'.').collect();
    let mut out = sign.to_owned();
    if !(-4..6).contains(&exponent) {
        out.push(char::from(digits[0]));
        if digits.len() > 1 {
            out.push('.');
            out.extend(digits[1..].iter().map(|&d| char::from(d)));
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exponent < 0 { '-' } else { '+' },
            exponent.abs()
        );
        return out;
    }
    let point = exponent + 1; // digits before the decimal point
    let digit = |i: i32| -> char {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i))
            .map_or('0', |&d| char::from(d))
    };
    if point > 0 {
        (0..point).for_each(|i| out.push(digit(i)));
    } else {
        out.push('0');
    }
    let fraction_len = i32::try_from(digits.len()).unwrap() - point;
    if fraction_len > 0 {
        out.push('.');
        (point..point + fraction_len).for_each(|i| out.push(digit(i)));
    }
    out
}

#[test]
fn go_number_formats_like_go() {
    let cases = [
        (1.0, "1"),
        (-3000.0, "-3000"),
        (0.23, "0.23"),
        (1756047.3, "1.7560473e+06"),
        (100000.0, "100000"),
        (1e6, "1e+06"),
        (0.0001, "0.0001"),
        (0.00001234, "1.234e-05"),
        (123456789.0, "1.23456789e+08"),
        (1e100, "1e+100"),
        (-0.0, "-0"),
        (5e-324, "5e-324"),
    ];
    for (value, expected) in cases {
        assert_eq!(go_number(value), expected, "{value:e}");
    }
}

#[test]
fn json_string_escapes_like_go() {
    assert_eq!(
        json_string("a\"b\\c\nd<&>\u{1}\u{7f}é"),
        "\"a\\\"b\\\\c\\nd\\u003c\\u0026\\u003e\\u0001\u{7f}é\""
    );
}

// ---------------------------------------------------------------------------------------
// Data files.

/// An input and the file holding the reference's dump of it.
struct DataCase {
    input: PathBuf,
    expected: PathBuf,
}

/// Every input: ours (`tests/data/text/*.prom`), the reference's fuzz corpus and example,
/// and the benchmark body. The names must match `scripts/refresh-expfmt-expect.sh`.
fn data_cases() -> Vec<DataCase> {
    let data = Path::new(DATA);
    let shared = Path::new(SHARED);
    let mut cases = Vec::new();
    for input in sorted_files(data) {
        if input.extension().is_some_and(|e| e == "prom") {
            cases.push(DataCase {
                expected: input.with_extension("expected"),
                input,
            });
        }
    }
    for input in sorted_files(&shared.join("testdata/expfmt/corpus")) {
        let name = input.file_name().unwrap().to_string_lossy();
        cases.push(DataCase {
            expected: data.join(format!("shared_corpus_{name}.expected")),
            input,
        });
    }
    cases.push(DataCase {
        input: shared.join("testdata/expfmt/text"),
        expected: data.join("shared_text.expected"),
    });
    cases.push(DataCase {
        input: shared.join("bench/data/mixed.prom"),
        expected: data.join("shared_mixed.expected"),
    });
    cases
}

fn sorted_files(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries.map(|entry| entry.unwrap().path()).collect();
    files.retain(|path| path.is_file());
    files.sort();
    files
}

/// Where two dumps first differ, for the failure message.
fn first_difference(expected: &str, got: &str) -> String {
    let line = expected.lines().zip(got.lines()).position(|(e, g)| e != g);
    let line = line.unwrap_or_else(|| expected.lines().count().min(got.lines().count()));
    let cut = |text: &str| -> String {
        let line = text.lines().nth(line).unwrap_or("<end>");
        line.chars().take(300).collect()
    };
    format!(
        "line {}:\n    expected {}\n    got      {}",
        line + 1,
        cut(expected),
        cut(got)
    )
}

#[test]
fn data_files_parse_as_the_reference_parses_them() {
    let live = std::env::var_os("GOEXPFMT");
    let mut failures = Vec::new();
    let cases = data_cases();
    assert!(
        cases.len() > 40,
        "the inputs were not found: {}",
        cases.len()
    );
    for case in &cases {
        let input = std::fs::read(&case.input).unwrap();
        let got = dump(&parse_text(&input, NameScheme::Legacy));
        let name = case.input.display();
        match std::fs::read_to_string(&case.expected) {
            Ok(expected) if expected == got => {}
            Ok(expected) => failures.push(format!("{name}: {}", first_difference(&expected, &got))),
            Err(e) => failures.push(format!(
                "{name}: {}: {e} (run scripts/refresh-expfmt-expect.sh)",
                case.expected.display()
            )),
        }
        if let Some(goexpfmt) = &live {
            let output = Command::new(goexpfmt)
                .arg("parse")
                .arg(&case.input)
                .output()
                .unwrap();
            let reference = String::from_utf8_lossy(&output.stdout);
            if reference != got {
                failures.push(format!(
                    "{name} (live): {}",
                    first_difference(&reference, &got)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} inputs differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_corpus_error_input_is_rejected() {
    let corpus = Path::new(SHARED).join("testdata/expfmt/corpus");
    let mut seen = 0;
    for input in sorted_files(&corpus) {
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        let result = parse_text(&std::fs::read(&input).unwrap(), NameScheme::Legacy);
        if name.starts_with("from_test_parse_error_") {
            seen += 1;
            assert!(result.is_err(), "{name} was accepted");
        } else {
            assert!(
                result.is_ok(),
                "{name} was rejected: {}",
                result.unwrap_err()
            );
        }
    }
    assert!(seen >= 20, "only {seen} error inputs");
}

// ---------------------------------------------------------------------------------------
// Conformance bodies.

/// The steps of the conformance cases whose 400 comes from the text parser. Every other 400
/// has another cause (grouping key in the URL, consistency check, timestamps, protobuf), so
/// its body must parse.
const CONFORMANCE_PARSE_ERRORS: &[(&str, usize, &str)] = &[
    (
        "007_seed_python_requests.json",
        2,
        "expected float as value, got \"\"",
    ),
    (
        "052_special_values.json",
        2,
        "expected float as value, got \"0x10\"",
    ),
    ("055_invalid_metric_name.json", 0, "invalid metric name"),
    (
        "055_invalid_metric_name.json",
        1,
        "expected float as value, got \"-x\"",
    ),
    (
        "056_missing_trailing_newline.json",
        0,
        "unexpected end of input stream",
    ),
    (
        "057_type_after_samples.json",
        0,
        "second TYPE line for metric name \"m\"",
    ),
];

#[test]
fn conformance_bodies_are_accepted_or_rejected_as_the_reference_did() {
    let cases = Path::new(SHARED).join("conformance/cases");
    let expected_dir = Path::new(SHARED).join("conformance/expected");
    let mut listed_seen = 0;
    let mut accepted = 0;
    for path in sorted_files(&cases) {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let case = json::parse(&std::fs::read_to_string(&path).unwrap());
        let answers = json::parse(&std::fs::read_to_string(expected_dir.join(&file)).unwrap());
        let steps = case.get("steps").unwrap().as_array();
        let answers = answers.as_array();
        assert_eq!(steps.len(), answers.len(), "{file}");
        for (index, (step, answer)) in steps.iter().zip(answers).enumerate() {
            let Some(body) = step.get("body").map(|b| b.as_str().as_bytes().to_vec()) else {
                continue; // no body, or a protobuf one (`body_b64`)
            };
            let protobuf = step.get("headers").is_some_and(|h| {
                h.entries()
                    .iter()
                    .any(|(_, v)| v.as_str().contains("protobuf"))
            });
            if protobuf {
                continue;
            }
            let status = answer.get("status").unwrap().as_f64();
            let result = parse_text(&body, NameScheme::Legacy);
            let listed = CONFORMANCE_PARSE_ERRORS
                .iter()
                .find(|(f, i, _)| *f == file && *i == index);
            match listed {
                Some((_, _, message)) => {
                    listed_seen += 1;
                    assert_eq!(
                        status, 400.0,
                        "{file} step {index} is listed as a parse error"
                    );
                    let error = result.expect_err(&format!("{file} step {index} was accepted"));
                    assert!(
                        error.message.starts_with(message),
                        "{file} step {index}: {error}"
                    );
                }
                None => {
                    accepted += 1;
                    if let Err(error) = result {
                        panic!("{file} step {index} (status {status}) was rejected: {error}");
                    }
                }
            }
        }
    }
    assert_eq!(listed_seen, CONFORMANCE_PARSE_ERRORS.len());
    assert!(accepted > 50, "only {accepted} bodies accepted");
}

/// Just enough JSON for the conformance files.
mod json {
    #[derive(Debug)]
    pub(super) enum Json {
        Null,
        /// `true` or `false`: the tests never need which.
        Bool,
        Number(f64),
        String(String),
        Array(Vec<Json>),
        Object(Vec<(String, Json)>),
    }

    impl Json {
        pub(super) fn get(&self, key: &str) -> Option<&Json> {
            self.entries()
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
        }

        pub(super) fn entries(&self) -> &[(String, Json)] {
            match self {
                Json::Object(entries) => entries,
                _ => &[],
            }
        }

        pub(super) fn as_array(&self) -> &[Json] {
            match self {
                Json::Array(items) => items,
                other => panic!("not an array: {other:?}"),
            }
        }

        pub(super) fn as_str(&self) -> &str {
            match self {
                Json::String(text) => text,
                other => panic!("not a string: {other:?}"),
            }
        }

        pub(super) fn as_f64(&self) -> f64 {
            match self {
                Json::Number(number) => *number,
                other => panic!("not a number: {other:?}"),
            }
        }
    }

    pub(super) fn parse(text: &str) -> Json {
        let mut parser = Parser {
            chars: text.chars().collect(),
            pos: 0,
        };
        let value = parser.value();
        parser.blanks();
        assert_eq!(parser.pos, parser.chars.len(), "trailing JSON");
        value
    }

    struct Parser {
        chars: Vec<char>,
        pos: usize,
    }

    impl Parser {
        fn blanks(&mut self) {
            while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
                self.pos += 1;
            }
        }

        fn next(&mut self) -> char {
            let c = self.chars[self.pos];
            self.pos += 1;
            c
        }

        fn hex4(&mut self) -> u32 {
            let hex: String = (0..4).map(|_| self.next()).collect();
            u32::from_str_radix(&hex, 16).unwrap()
        }

        fn literal(&mut self, word: &str, value: Json) -> Json {
            for expected in word.chars() {
                assert_eq!(self.next(), expected);
            }
            value
        }

        fn value(&mut self) -> Json {
            self.blanks();
            match self.chars[self.pos] {
                '{' => {
                    self.pos += 1;
                    let mut entries = Vec::new();
                    loop {
                        self.blanks();
                        if self.chars[self.pos] == '}' {
                            self.pos += 1;
                            return Json::Object(entries);
                        }
                        let Json::String(key) = self.value() else {
                            panic!("object key")
                        };
                        self.blanks();
                        assert_eq!(self.next(), ':');
                        entries.push((key, self.value()));
                        self.blanks();
                        if self.chars[self.pos] == ',' {
                            self.pos += 1;
                        }
                    }
                }
                '[' => {
                    self.pos += 1;
                    let mut items = Vec::new();
                    loop {
                        self.blanks();
                        if self.chars[self.pos] == ']' {
                            self.pos += 1;
                            return Json::Array(items);
                        }
                        items.push(self.value());
                        self.blanks();
                        if self.chars[self.pos] == ',' {
                            self.pos += 1;
                        }
                    }
                }
                '"' => {
                    self.pos += 1;
                    let mut text = String::new();
                    loop {
                        match self.next() {
                            '"' => return Json::String(text),
                            '\\' => match self.next() {
                                'n' => text.push('\n'),
                                't' => text.push('\t'),
                                'r' => text.push('\r'),
                                'b' => text.push('\u{8}'),
                                'f' => text.push('\u{c}'),
                                'u' => {
                                    let mut unit = self.hex4();
                                    if (0xD800..0xDC00).contains(&unit) {
                                        assert_eq!((self.next(), self.next()), ('\\', 'u'));
                                        unit = 0x10000
                                            + ((unit - 0xD800) << 10)
                                            + (self.hex4() - 0xDC00);
                                    }
                                    text.push(char::from_u32(unit).unwrap());
                                }
                                other => text.push(other),
                            },
                            c => text.push(c),
                        }
                    }
                }
                't' => self.literal("true", Json::Bool),
                'f' => self.literal("false", Json::Bool),
                'n' => self.literal("null", Json::Null),
                // Python's json module writes these for non-finite floats.
                'N' => self.literal("NaN", Json::Number(f64::NAN)),
                'I' => self.literal("Infinity", Json::Number(f64::INFINITY)),
                '-' if self.chars.get(self.pos + 1) == Some(&'I') => {
                    self.literal("-Infinity", Json::Number(f64::NEG_INFINITY))
                }
                _ => {
                    let start = self.pos;
                    while self
                        .chars
                        .get(self.pos)
                        .is_some_and(|c| "+-.eE0123456789".contains(*c))
                    {
                        self.pos += 1;
                    }
                    let number: String = self.chars[start..self.pos].iter().collect();
                    Json::Number(number.parse().unwrap())
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Behaviour, error messages and line numbers.

#[test]
fn families_come_in_order_of_first_appearance() {
    let families = parse("# HELP b B.\nc 1\nb 2\na 3\nc 4\n").unwrap();
    let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["b", "c", "a"]);
    assert_eq!(families[1].metrics.len(), 2);
}

#[test]
fn families_without_samples_are_dropped() {
    let families = parse("# HELP a A.\n# TYPE b gauge\nc 1\n").unwrap();
    assert_eq!(families.len(), 1);
    assert_eq!(families[0].name, "c");
    assert_eq!(families[0].metric_type, MetricType::Untyped);
}

#[test]
fn empty_body_gives_no_families() {
    assert_eq!(parse("").unwrap(), Vec::new());
    assert_eq!(parse("\n\n  \t\n").unwrap(), Vec::new());
}

#[test]
fn missing_trailing_newline_is_an_unexpected_end_of_input_on_the_last_line() {
    assert_eq!(
        error_of("a 1\nb 2"),
        "text format parsing error in line 2: unexpected end of input stream"
    );
    assert_eq!(
        error_of("a 1\n# comment"),
        "text format parsing error in line 2: unexpected end of input stream"
    );
    assert_eq!(
        error_of("a{b=\"c"),
        "text format parsing error in line 1: unexpected end of input stream"
    );
}

#[test]
fn blanks_after_the_last_newline_are_not_a_line() {
    assert_eq!(parse("a 1\n \t ").unwrap().len(), 1);
}

#[test]
fn an_error_found_before_the_end_of_input_wins() {
    assert_eq!(
        error_of("a{b=\"c\"x"),
        "text format parsing error in line 1: unexpected end of label value \"c\""
    );
    assert_eq!(
        error_of("# TYPE s summary\ns{quantile=\"x\""),
        "text format parsing error in line 2: expected float as value for 'quantile' label, got \"x\""
    );
}

#[test]
fn line_numbers_count_blank_and_comment_lines() {
    assert_eq!(
        error_of("\n# a comment\n\n  \nm 1\nm x\n"),
        "text format parsing error in line 6: expected float as value, got \"x\""
    );
}

#[test]
fn carriage_returns_are_part_of_the_value() {
    assert_eq!(
        error_of("m 1\r\n"),
        "text format parsing error in line 1: expected float as value, got \"1\\r\""
    );
    assert_eq!(
        error_of("# TYPE m gauge\r\n"),
        "text format parsing error in line 1: unknown metric type \"gauge\\r\""
    );
}

#[test]
fn a_blank_after_the_value_or_timestamp_is_an_error() {
    assert_eq!(
        error_of("m 1 \n"),
        "text format parsing error in line 1: expected integer as timestamp, got \"\""
    );
    assert_eq!(
        error_of("m 1 2 \n"),
        "text format parsing error in line 1: spurious string after timestamp: \" \""
    );
    assert_eq!(
        error_of("m 1 2 \\\\x\n"),
        "text format parsing error in line 1: spurious string after timestamp: \" x\""
    );
}

#[test]
fn timestamps_are_optional_integers() {
    let families = parse("a 1 -2\nb 1\nc 1 +5\n").unwrap();
    let stamps: Vec<Option<i64>> = families.iter().map(|f| f.metrics[0].timestamp_ms).collect();
    assert_eq!(stamps, [Some(-2), None, Some(5)]);
    assert_eq!(
        error_of("a 1 1.5\n"),
        "text format parsing error in line 1: expected integer as timestamp, got \"1.5\""
    );
}

#[test]
fn type_after_samples_is_rejected() {
    assert_eq!(
        error_of("m 1\n# TYPE m gauge\n"),
        "text format parsing error in line 2: second TYPE line for metric name \"m\", or TYPE reported after samples"
    );
}

#[test]
fn help_and_type_lines_for_a_suffixed_name_refer_to_the_summary() {
    assert_eq!(
        error_of("# TYPE s summary\n# HELP s S.\n# HELP s_count C.\n"),
        "text format parsing error in line 3: second HELP line for metric name \"s\""
    );
    let families = parse("# TYPE s summary\n# HELP s_sum Sum.\ns_sum 3\n").unwrap();
    assert_eq!(families[0].name, "s");
    assert_eq!(families[0].help.as_deref(), Some("Sum."));
}

#[test]
fn sum_and_count_lines_fold_into_the_series_with_the_same_labels() {
    let body = "# TYPE h histogram\nh_bucket{a=\"1\",le=\"1\"} 2\nh_bucket{le=\"+Inf\",a=\"1\"} 3\n\
                h_sum{a=\"1\"} 4.5\nh_count{a=\"1\"} 3\nh_count{a=\"2\"} 7\n";
    let families = parse(body).unwrap();
    assert_eq!(families.len(), 1);
    let metrics = &families[0].metrics;
    assert_eq!(metrics.len(), 2);
    let Value::Histogram(histogram) = &metrics[0].value else {
        panic!("{:?}", metrics[0].value)
    };
    assert_eq!(histogram.buckets.len(), 2);
    assert_eq!(histogram.buckets[1].upper_bound, f64::INFINITY);
    assert_eq!((histogram.sample_count, histogram.sample_sum), (3, 4.5));
}

#[test]
fn sum_lines_before_the_summary_type_are_their_own_family() {
    let families = parse("x_sum 1\n# TYPE x summary\nx_sum 2\nx{quantile=\"0.5\"} 3\n").unwrap();
    let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["x_sum", "x"]);
    assert_eq!(families[0].metrics.len(), 2);
}

#[test]
fn a_nan_quantile_or_bucket_is_dropped() {
    let families = parse("# TYPE s summary\ns{quantile=\"NaN\"} 1\ns_count 2\n").unwrap();
    let Value::Summary(summary) = &families[0].metrics[0].value else {
        panic!()
    };
    assert!(summary.quantiles.is_empty());
    assert_eq!(summary.sample_count, 2);
}

#[test]
fn quantile_and_le_must_be_floats_only_for_their_type() {
    assert_eq!(
        error_of("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n"),
        "text format parsing error in line 2: expected float as value for 'le' label, got \"x\""
    );
    let families = parse("h_bucket{le=\"x\"} 1\nc{quantile=\"y\"} 1\n").unwrap();
    assert_eq!(families[0].metrics[0].labels[0].value, "x");
}

#[test]
fn counts_convert_as_go_does_on_amd64() {
    let families =
        parse("# TYPE h histogram\nh_count -1\n# TYPE i histogram\ni_count NaN\n").unwrap();
    let counts: Vec<u64> = families
        .iter()
        .map(|f| match &f.metrics[0].value {
            Value::Histogram(h) => h.sample_count,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(counts, [u64::MAX, 1 << 63]);
}

#[test]
fn gauge_histogram_samples_carry_no_value() {
    let families =
        parse("# TYPE g gauge_histogram\ng_bucket{le=\"1\"} 1\ng{le=\"1\"} 2 7\n").unwrap();
    let g = families.iter().find(|f| f.name == "g").unwrap();
    assert_eq!(g.metric_type, MetricType::GaugeHistogram);
    assert_eq!(g.metrics[0].value, Value::Unset);
    assert_eq!(g.metrics[0].labels[0].name, "le");
    assert_eq!(g.metrics[0].timestamp_ms, Some(7));
    assert!(families.iter().any(|f| f.name == "g_bucket"));
}

#[test]
fn type_keywords_are_case_insensitive_and_ignore_backslashes() {
    let families =
        parse("# TYPE a COUNTER\n# TYPE b gau\\ge\n# TYPE c ſummary\na 1\nb 1\nc 1\n").unwrap();
    let types: Vec<MetricType> = families.iter().map(|f| f.metric_type).collect();
    assert_eq!(
        types,
        [MetricType::Counter, MetricType::Gauge, MetricType::Summary]
    );
    assert_eq!(
        error_of("# TYPE a ga\\uge2\n"),
        "text format parsing error in line 1: unknown metric type \"gauge2\""
    );
}

#[test]
fn duplicate_label_names_are_rejected_but_not_repeated_quantiles() {
    assert_eq!(
        error_of("lb{a=\"1\",a=\"2\"} 1\n"),
        "text format parsing error in line 1: duplicate label names for metric \"lb\""
    );
    let families = parse("# TYPE s summary\ns{quantile=\"0.1\",quantile=\"0.9\"} 1\n").unwrap();
    let Value::Summary(summary) = &families[0].metrics[0].value else {
        panic!()
    };
    assert_eq!(summary.quantiles[0].quantile, 0.9);
}

#[test]
fn label_errors_name_the_family_and_quote_the_input() {
    assert_eq!(
        error_of("# TYPE s summary\ns_sum{1=\"x\"} 1\n"),
        "text format parsing error in line 2: invalid label name for metric \"s\""
    );
    assert_eq!(
        error_of("m{__name__=\"x\"} 1\n"),
        "text format parsing error in line 1: label name \"__name__\" is reserved"
    );
    assert_eq!(
        error_of("m{a\n"),
        "text format parsing error in line 1: expected '=' after label name, found '\\n'"
    );
    assert_eq!(
        error_of("m{a=\n"),
        "text format parsing error in line 1: expected '\"' at start of label value, found '\\n'"
    );
    assert_eq!(
        error_of("m{a=\"\\t\"} 1\n"),
        "text format parsing error in line 1: invalid escape sequence '\\t'"
    );
    assert_eq!(
        error_of("m{a=\"x\\\"y\nz\"} 1\n"),
        "text format parsing error in line 1: label value \"x\\\"y\" contains unescaped new-line"
    );
    assert_eq!(
        error_of("m{a=\"\u{a0}é\" x} 1\n"),
        "text format parsing error in line 1: unexpected end of label value \"\\u00a0é\""
    );
}

#[test]
fn label_values_must_be_utf8() {
    let error = parse_text(b"m{a=\"\\\\\xff\"} 1\n", NameScheme::Legacy).unwrap_err();
    assert_eq!(
        error.to_string(),
        "text format parsing error in line 1: invalid label value \"\\\\\\xff\""
    );
}

#[test]
fn help_text_must_be_utf8_unlike_in_the_reference() {
    let error = parse_text(b"# HELP m a\xffb\nm 1\n", NameScheme::Legacy).unwrap_err();
    assert_eq!(error.line, 1);
    assert_eq!(error.message, "help text \"a\\xffb\" is not valid UTF-8");
}

#[test]
fn help_escapes_are_backslash_and_newline_only() {
    let families = parse("# HELP m a\\\\b\\nc \nm 1\n").unwrap();
    assert_eq!(families[0].help.as_deref(), Some("a\\b\nc "));
    assert_eq!(
        error_of("# HELP m \\\"\n"),
        "text format parsing error in line 1: invalid escape sequence '\\\"'"
    );
    assert_eq!(
        error_of("# HELP m x\\\n"),
        "text format parsing error in line 1: invalid escape sequence '\\\n'"
    );
}

#[test]
fn invalid_metric_names_are_rejected() {
    assert_eq!(
        error_of("1m 1\n"),
        "text format parsing error in line 1: invalid metric name"
    );
    assert_eq!(
        error_of("{a=\"b\"} 1\n"),
        "text format parsing error in line 1: invalid metric name"
    );
    assert_eq!(
        error_of("# TYPE m-x gauge\n"),
        "text format parsing error in line 1: invalid metric name in comment"
    );
    assert_eq!(
        error_of("m-x 1\n"),
        "text format parsing error in line 1: expected float as value, got \"-x\""
    );
}

#[test]
fn values_follow_go_float_syntax() {
    let families = parse("a +Inf\nb -inf\nc NaN\nd 1e-400\ne .5\nf 5.\n").unwrap();
    let values: Vec<f64> = families
        .iter()
        .map(|f| match f.metrics[0].value {
            Value::Untyped(v) => v,
            ref other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(values[..2], [f64::INFINITY, f64::NEG_INFINITY]);
    assert!(values[2].is_nan());
    assert_eq!(values[3..], [0.0, 0.5, 5.0]);
    for bad in ["1e400", "0x1p-3", "1_000", "-nan", "0x10"] {
        assert_eq!(
            error_of(&format!("m {bad}\n")),
            format!("text format parsing error in line 1: expected float as value, got \"{bad}\"")
        );
    }
}

// ---------------------------------------------------------------------------------------
// The UTF-8 name scheme (`--push.enable-utf8-names`): quoted names, as in newer references.

fn parse_utf8(input: &str) -> Vec<MetricFamily> {
    parse_text(input.as_bytes(), NameScheme::Utf8).unwrap_or_else(|e| panic!("{input:?}: {e}"))
}

#[test]
fn utf8_scheme_accepts_a_quoted_metric_name_inside_the_braces() {
    let families = parse_utf8(
        "# HELP \"my.metric\" Help.\n# TYPE \"my.metric\" counter\n{\"my.metric\",\"dotted.label\"=\"v\"} 1\n",
    );
    assert_eq!(families.len(), 1);
    assert_eq!(families[0].name, "my.metric");
    assert_eq!(families[0].help.as_deref(), Some("Help."));
    assert_eq!(families[0].metric_type, MetricType::Counter);
    assert_eq!(families[0].metrics[0].labels[0].name, "dotted.label");
}

#[test]
fn utf8_scheme_accepts_quoted_label_names_after_an_unquoted_metric_name() {
    let families = parse_utf8("my_metric{\"a.b\"=\"v\", c=\"d\"} 1\n");
    let names: Vec<&str> = families[0].metrics[0]
        .labels
        .iter()
        .map(|l| l.name.as_str())
        .collect();
    assert_eq!(names, ["a.b", "c"]);
}

#[test]
fn utf8_scheme_accepts_the_metric_name_after_labels_and_escapes_in_names() {
    let families =
        parse_utf8("{a=\"v\", \"my.metric\"} 1\n{\"x\\\"y\\n\",\"l\\\\\"=\"v\"} 2 5\n{\"z\"} 3\n");
    let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["my.metric", "x\"y\n", "z"]);
    assert_eq!(families[0].metrics[0].labels[0].name, "a");
    assert_eq!(families[1].metrics[0].labels[0].name, "l\\");
    assert_eq!(families[1].metrics[0].timestamp_ms, Some(5));
}

#[test]
fn utf8_scheme_folds_quoted_histogram_lines() {
    let families = parse_utf8(
        "# TYPE \"h.x\" histogram\n{\"h.x_bucket\",le=\"1\"} 1\n{le=\"+Inf\",\"h.x_bucket\"} 2\n{\"h.x_count\"} 2\n",
    );
    assert_eq!(families.len(), 1);
    let Value::Histogram(histogram) = &families[0].metrics[0].value else {
        panic!()
    };
    assert_eq!(histogram.buckets.len(), 2);
    assert_eq!(histogram.sample_count, 2);
}

#[test]
fn utf8_scheme_still_parses_legacy_bodies_the_same() {
    let body = std::fs::read(Path::new(SHARED).join("testdata/expfmt/text")).unwrap();
    assert_eq!(
        parse_text(&body, NameScheme::Utf8),
        parse_text(&body, NameScheme::Legacy)
    );
}

#[test]
fn utf8_scheme_rejects_malformed_quoted_names() {
    let line1 = "text format parsing error in line 1: ";
    assert_eq!(
        error_of_utf8("{\"one.name\",\"another.name\"} 1\n"),
        format!("{line1}multiple metric names")
    );
    assert_eq!(
        error_of_utf8("{\"m.n\".label=\"x\"} 1\n"),
        format!("{line1}unexpected end of metric name")
    );
    assert_eq!(
        error_of_utf8("{\"a\\tb\"} 1\n"),
        format!("{line1}invalid escape sequence '\\t'")
    );
    assert_eq!(
        error_of_utf8("{label=\"x\"} 1\n"),
        format!("{line1}invalid metric name")
    );
    assert_eq!(
        error_of_utf8("{\"\"} 1\n"),
        format!("{line1}invalid metric name")
    );
    assert_eq!(
        error_of_utf8("\n# TYPE \"metric\nname\" counter\n"),
        "text format parsing error in line 2: metric name \"metric\" contains unescaped new-line"
    );
    assert_eq!(
        error_of_utf8("{\"m\",\"new\nline\"=\"x\"} 1\n"),
        format!("{line1}label name \"new\" contains unescaped new-line")
    );
}

#[test]
fn legacy_scheme_rejects_quoted_names() {
    assert_eq!(
        error_of("{\"my.metric\"} 1\n"),
        "text format parsing error in line 1: invalid metric name"
    );
    assert_eq!(
        error_of("m{\"a.b\"=\"v\"} 1\n"),
        "text format parsing error in line 1: invalid label name for metric \"m\""
    );
}

#[test]
fn many_labels_on_one_line_are_checked_for_duplicates() {
    let labels: Vec<String> = (0..20_000).map(|i| format!("l{i}=\"v\"")).collect();
    let body = format!("m{{{}}} 1\n", labels.join(","));
    assert_eq!(parse(&body).unwrap()[0].metrics[0].labels.len(), 20_000);
    let body = format!("m{{{},l19999=\"w\"}} 1\n", labels.join(","));
    assert_eq!(
        error_of(&body),
        "text format parsing error in line 1: duplicate label names for metric \"m\""
    );
}
