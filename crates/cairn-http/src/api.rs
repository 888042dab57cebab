//! The JSON API under `/api/v1`: `metrics` (every group with its families) and `status`
//! (build information, flags, start time), with the reference's CORS headers.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;

use cairn::{Group, Store, StoredFamily};
use cairn_expfmt::{Histogram, Label, Metric, MetricType, Value, write_float};
use serde_json::{Map, Value as Json, json};

use crate::time::rfc3339_nano;
use crate::{GatewayConfig, build_info};

/// The headers every API response carries.
fn cors_headers(headers: &mut HeaderMap) {
    let pairs = [
        (
            "access-control-allow-headers",
            "Accept, Authorization, Content-Type, Origin",
        ),
        ("access-control-allow-methods", "GET, POST, DELETE, OPTIONS"),
        ("access-control-allow-origin", "*"),
        ("access-control-expose-headers", "Date"),
        ("cache-control", "no-cache, no-store, must-revalidate"),
    ];
    for (name, value) in pairs {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// An API response without a body (OPTIONS, wipe).
pub(crate) fn empty(status: StatusCode) -> Response {
    let mut response = status.into_response();
    cors_headers(response.headers_mut());
    response
}

/// A `{"status":"success","data":...}` response, serialised as Go's `json.Marshal` does:
/// keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped.
fn success(data: Json) -> Response {
    let envelope = json!({ "status": "success", "data": data });
    json_response(go_escape(envelope.to_string().into_bytes()))
}

/// A 200 with a serialised JSON body, its content type and the CORS headers.
fn json_response(body: Vec<u8>) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    cors_headers(headers);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Escapes `<`, `>`, `&`, U+2028 and U+2029 in serialised JSON as Go's encoder does. Those
/// can only occur inside JSON strings, so escaping them in the serialised text is the same
/// as escaping them in every string.
fn go_escape(raw: Vec<u8>) -> Vec<u8> {
    let special = |i: usize| match raw[i] {
        b'<' | b'>' | b'&' => true,
        // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8.
        0xE2 => raw.get(i + 1) == Some(&0x80) && matches!(raw.get(i + 2), Some(0xA8 | 0xA9)),
        _ => false,
    };
    let Some(first) = (0..raw.len()).find(|&i| special(i)) else {
        return raw;
    };
    let mut out = Vec::with_capacity(raw.len() + 64);
    out.extend_from_slice(&raw[..first]);
    let mut i = first;
    while i < raw.len() {
        if !special(i) {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        let (escape, width): (&[u8], usize) = match raw[i] {
            b'<' => (b"\\u003c", 1),
            b'>' => (b"\\u003e", 1),
            b'&' => (b"\\u0026", 1),
            _ if raw[i + 2] == 0xA8 => (b"\\u2028", 3),
            _ => (b"\\u2029", 3),
        };
        out.extend_from_slice(escape);
        i += width;
    }
    out
}

/// `GET /api/v1/status`.
pub(crate) fn status(config: &GatewayConfig) -> Response {
    let flags: Map<String, Json> = config
        .flags
        .iter()
        .map(|(k, v)| (k.clone(), Json::String(v.clone())))
        .collect();
    success(json!({
        "build_information": {
            "branch": build_info::BRANCH,
            "buildDate": build_info::BUILD_DATE,
            "buildUser": build_info::BUILD_USER,
            "goVersion": build_info::RUST_VERSION,
            "revision": build_info::REVISION,
            "version": build_info::VERSION,
        },
        "flags": flags,
        "start_time": rfc3339_nano(config.start_time),
    }))
}

/// `GET /api/v1/metrics`, written straight into the body: with thousands of groups,
/// building a `serde_json::Value` first cost more than the rest together. The bytes are
/// those `serde_json` writes for the same data (the test module keeps that as its oracle):
/// keys in byte order, a family named `labels` or `last_push_successful` in their place,
/// as in the reference (its families are inserted after them).
pub(crate) fn metrics(store: &Store) -> Response {
    json_response(metrics_body(store))
}

fn metrics_body(store: &Store) -> Vec<u8> {
    let groups = store.groups();
    let mut out = Vec::with_capacity(64 + groups.len() * 512);
    out.extend_from_slice(b"{\"data\":[");
    for (i, group) in groups.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_group(&mut out, group);
    }
    out.extend_from_slice(b"],\"status\":\"success\"}");
    go_escape(out)
}

/// One field of a group's object.
enum GroupField<'a> {
    Labels(&'a [Label]),
    LastPushSuccessful(bool),
    Family(&'a StoredFamily),
}

fn write_group(out: &mut Vec<u8>, group: &Group) {
    let mut fields = BTreeMap::new();
    fields.insert("labels", GroupField::Labels(group.key().labels()));
    fields.insert(
        "last_push_successful",
        GroupField::LastPushSuccessful(group.last_push_successful()),
    );
    for family in group.families() {
        fields.insert(family.name(), GroupField::Family(family));
    }
    out.push(b'{');
    for (i, (name, field)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_key(out, name);
        match field {
            GroupField::Labels(labels) => write_labels(out, labels),
            GroupField::LastPushSuccessful(true) => out.extend_from_slice(b"true"),
            GroupField::LastPushSuccessful(false) => out.extend_from_slice(b"false"),
            GroupField::Family(family) => write_family(out, family),
        }
    }
    out.push(b'}');
}

fn write_family(out: &mut Vec<u8>, stored: &StoredFamily) {
    let family = stored.family();
    out.push(b'{');
    if let Some(help) = family.help.as_deref().filter(|h| !h.is_empty()) {
        write_key(out, "help");
        write_str(out, help);
        out.push(b',');
    }
    write_key(out, "metrics");
    out.push(b'[');
    for (i, metric) in family.metrics.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_metric(out, family.metric_type, metric);
    }
    out.extend_from_slice(b"],");
    write_key(out, "time_stamp");
    write_str(out, &rfc3339_nano(stored.pushed_at()));
    out.push(b',');
    write_key(out, "type");
    write_str(out, family.metric_type.proto_name());
    out.push(b'}');
}

fn write_metric(out: &mut Vec<u8>, metric_type: MetricType, metric: &Metric) {
    out.push(b'{');
    match (metric_type, &metric.value) {
        (MetricType::Summary, Value::Summary(summary)) => {
            write_key(out, "count");
            write_integer_str(out, summary.sample_count);
            out.push(b',');
            write_key(out, "labels");
            write_labels(out, &metric.labels);
            out.push(b',');
            write_key(out, "quantiles");
            let quantiles = summary
                .quantiles
                .iter()
                .map(|q| (float_string(q.quantile), Count::Float(q.value)));
            write_number_map(out, quantiles);
            out.push(b',');
            write_key(out, "sum");
            write_float_str(out, summary.sample_sum);
        }
        (MetricType::Histogram, Value::Histogram(histogram)) => {
            write_key(out, "buckets");
            if !histogram.positive_spans.is_empty() || !histogram.negative_spans.is_empty() {
                write_native_buckets(out, histogram);
            } else {
                let buckets = histogram.buckets.iter().map(|b| {
                    let count = if b.cumulative_count_float > 0.0 {
                        Count::Float(b.cumulative_count_float)
                    } else {
                        Count::Integer(b.cumulative_count)
                    };
                    (float_string(b.upper_bound), count)
                });
                write_number_map(out, buckets);
            }
            out.push(b',');
            write_key(out, "count");
            if histogram.sample_count_float > 0.0 {
                write_float_str(out, histogram.sample_count_float);
            } else {
                write_integer_str(out, histogram.sample_count);
            }
            out.push(b',');
            write_key(out, "labels");
            write_labels(out, &metric.labels);
            out.push(b',');
            write_key(out, "sum");
            write_float_str(out, histogram.sample_sum);
        }
        (MetricType::Summary | MetricType::Histogram, _) => {
            write_key(out, "labels");
            write_labels(out, &metric.labels);
        }
        (_, value) => {
            write_key(out, "labels");
            write_labels(out, &metric.labels);
            out.push(b',');
            write_key(out, "value");
            write_float_str(out, plain_value(metric_type, value));
        }
    }
    out.push(b'}');
}

/// The value of a counter, gauge or untyped series; 0 for any other type, as the
/// reference's `getValue` falls through.
fn plain_value(metric_type: MetricType, value: &Value) -> f64 {
    match (metric_type, value) {
        (MetricType::Counter | MetricType::Gauge | MetricType::Untyped, v) => match v {
            Value::Counter(c) => c.value,
            Value::Gauge(v) | Value::Untyped(v) => *v,
            _ => 0.0,
        },
        _ => 0.0,
    }
}

/// A count in a bucket or quantile map: Go's `fmt.Sprint` of a float or of an integer.
enum Count {
    Float(f64),
    Integer(u64),
}

/// A JSON object of number strings keyed by number strings, keys in byte order, a later
/// duplicate key winning (as a map insert does).
fn write_number_map(out: &mut Vec<u8>, entries: impl Iterator<Item = (String, Count)>) {
    let sorted: BTreeMap<String, Count> = entries.collect();
    out.push(b'{');
    for (i, (key, count)) in sorted.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_key(out, key);
        match *count {
            Count::Float(v) => write_float_str(out, v),
            Count::Integer(n) => write_integer_str(out, n),
        }
    }
    out.push(b'}');
}

/// A label set as a JSON object, names in byte order (a later duplicate name winning).
fn write_labels(out: &mut Vec<u8>, labels: &[Label]) {
    out.push(b'{');
    if labels.windows(2).all(|w| w[0].name < w[1].name) {
        for (i, label) in labels.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_key(out, &label.name);
            write_str(out, &label.value);
        }
    } else {
        let sorted: BTreeMap<&str, &str> = labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        for (i, (name, value)) in sorted.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_key(out, name);
            write_str(out, value);
        }
    }
    out.push(b'}');
}

/// A JSON string, escaped by `serde_json`.
fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail, and a &str always serialises.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn write_key(out: &mut Vec<u8>, key: &str) {
    write_str(out, key);
    out.push(b':');
}

/// A float as a JSON string, as Go's `fmt.Sprint` writes a float64 (never needs escaping).
fn write_float_str(out: &mut Vec<u8>, v: f64) {
    out.push(b'"');
    write_float(out, v);
    out.push(b'"');
}

/// An integer as a JSON string.
fn write_integer_str(out: &mut Vec<u8>, n: u64) {
    out.push(b'"');
    out.extend_from_slice(n.to_string().as_bytes());
    out.push(b'"');
}

/// Native buckets as `[boundary code, lower, upper, count]`, non-empty ones only, from the
/// most negative through the zero bucket to the most positive.
fn write_native_buckets(out: &mut Vec<u8>, h: &Histogram) {
    out.push(b'[');
    for (i, (code, lower, upper, count)) in native_buckets(h).into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        out.extend_from_slice(code.to_string().as_bytes());
        for v in [lower, upper, count] {
            out.push(b',');
            write_float_str(out, v);
        }
        out.push(b']');
    }
    out.push(b']');
}

fn float_string(v: f64) -> String {
    let mut out = Vec::new();
    write_float(&mut out, v);
    String::from_utf8_lossy(&out).into_owned()
}

/// The upper bound of native bucket `index` at `schema`, as Prometheus' `getBound`.
fn native_bound(index: i32, schema: i32) -> f64 {
    if schema < 0 {
        let exp = i64::from(index) << (-schema).min(62);
        return 2f64.powi(i32::try_from(exp.clamp(-2000, 2000)).unwrap_or(0));
    }
    let schema = schema.min(30);
    let frac_index = index & ((1 << schema) - 1);
    let frac = 2f64.powf(f64::from(frac_index) / f64::from(1 << schema)) / 2.0;
    let exp = (index >> schema) + 1;
    frac * 2f64.powi(exp)
}

/// Absolute bucket counts with their indexes, from spans and deltas (or float counts).
/// Spans longer than the counts given end where the counts do: a span's length comes from
/// the push, and one of 2^32 buckets must not make a list of that many.
fn expand(spans: &[cairn_expfmt::BucketSpan], deltas: &[i64], counts: &[f64]) -> Vec<(i32, f64)> {
    let given = if counts.is_empty() {
        deltas.len()
    } else {
        counts.len()
    };
    let mut out = Vec::with_capacity(given);
    let mut index = 0i32;
    let mut position = 0usize;
    let mut running = 0i64;
    for (n, span) in spans.iter().enumerate() {
        index = if n == 0 {
            span.offset
        } else {
            index.saturating_add(span.offset)
        };
        for _ in 0..span.length {
            if position == given {
                return out;
            }
            let count = if counts.is_empty() {
                running = running.saturating_add(deltas.get(position).copied().unwrap_or(0));
                running as f64
            } else {
                counts.get(position).copied().unwrap_or(0.0)
            };
            out.push((index, count));
            index = index.saturating_add(1);
            position += 1;
        }
    }
    out
}

/// Native buckets as (boundary code, lower, upper, count), non-empty ones only, from the
/// most negative through the zero bucket to the most positive. The code says which ends
/// are open: 0 (l,u], 1 [l,u), 3 [l,u] (the zero bucket).
fn native_buckets(h: &Histogram) -> Vec<(u8, f64, f64, f64)> {
    let mut out = Vec::new();
    let negative = expand(&h.negative_spans, &h.negative_deltas, &h.negative_counts);
    for &(index, count) in negative.iter().rev() {
        if count != 0.0 {
            let lower = -native_bound(index, h.schema);
            let upper = -native_bound(index - 1, h.schema);
            out.push((1, lower, upper, count));
        }
    }
    let zero = if h.zero_count_float > 0.0 {
        h.zero_count_float
    } else {
        h.zero_count as f64
    };
    if zero != 0.0 {
        out.push((3, -h.zero_threshold, h.zero_threshold, zero));
    }
    let positive = expand(&h.positive_spans, &h.positive_deltas, &h.positive_counts);
    for &(index, count) in &positive {
        if count != 0.0 {
            let lower = native_bound(index - 1, h.schema);
            let upper = native_bound(index, h.schema);
            out.push((0, lower, upper, count));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use cairn::{GroupingKey, MetricFamily, MetricType, NameScheme, PushMode, Store, StoreConfig};
    use cairn_expfmt::{BucketSpan, Histogram, Value, parse_text};
    use serde_json::{Value as Json, json};

    use super::{expand, go_escape, metrics_body, write_native_buckets};

    #[test]
    fn spans_longer_than_the_counts_end_with_them() {
        let span = |offset, length| BucketSpan { offset, length };
        let spans = [span(0, u32::MAX), span(5, u32::MAX)];
        assert_eq!(expand(&spans, &[2, 1], &[]), [(0, 2.0), (1, 3.0)]);
        assert_eq!(expand(&spans, &[], &[4.0]), [(0, 4.0)]);
        assert_eq!(expand(&spans, &[], &[]), []);
        // Counts past the spans are not shown.
        assert_eq!(expand(&[span(-1, 1)], &[2, 1], &[]), [(-1, 2.0)]);
    }

    fn native_histogram() -> Histogram {
        Histogram {
            schema: 0,
            zero_threshold: 0.001,
            zero_count: 1,
            negative_spans: vec![BucketSpan {
                offset: 1,
                length: 2,
            }],
            negative_deltas: vec![1, 1],
            positive_spans: vec![BucketSpan {
                offset: 0,
                length: 3,
            }],
            positive_deltas: vec![3, -3, 1],
            sample_count: 8,
            sample_sum: 1.5,
            ..Histogram::default()
        }
    }

    #[test]
    fn native_buckets_run_from_most_negative_through_zero_to_positive() {
        let mut out = Vec::new();
        write_native_buckets(&mut out, &native_histogram());
        let written: Json = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            written,
            json!([
                [1, "-4", "-2", "2"],
                [1, "-2", "-1", "1"],
                [3, "-0.001", "0.001", "1"],
                [0, "0.5", "1", "3"],
                [0, "2", "4", "1"],
            ])
        );
    }

    #[test]
    fn go_escape_escapes_html_characters_and_line_separators() {
        let raw = "{\"a\":\"<b> & \u{2028}\u{2029} \u{2027} é\"}";
        let escaped = String::from_utf8(go_escape(raw.as_bytes().to_vec())).unwrap();
        assert_eq!(
            escaped,
            "{\"a\":\"\\u003cb\\u003e \\u0026 \\u2028\\u2029 \u{2027} é\"}"
        );
    }

    const TEXT: &str = "\
# HELP requests_total Requests <served> & \"answered\" \u{2028}here.
# TYPE requests_total counter
requests_total{code=\"200\",path=\"/a\\\\b\"} 1027
requests_total{code=\"500\",path=\"/\u{e9}\"} 3
# TYPE temperature gauge
temperature{room=\"k\u{fc}che\"} -Inf
temperature{room=\"hall\"} NaN
plain 1e-07
# HELP latency_seconds Latency.
# TYPE latency_seconds summary
latency_seconds{quantile=\"0.5\"} 0.25
latency_seconds{quantile=\"0.99\"} 1.5
latency_seconds{quantile=\"0.1\"} 0.01
latency_seconds_sum 1234.5
latency_seconds_count 9007199254740993
# TYPE size_bytes histogram
size_bytes_bucket{le=\"100\"} 3
size_bytes_bucket{le=\"1000\"} 7
size_bytes_bucket{le=\"25\"} 1
size_bytes_bucket{le=\"+Inf\"} 9
size_bytes_sum 4321
size_bytes_count 9
";

    fn store_with_every_kind_of_family() -> Store {
        let store = Store::new(StoreConfig::default());
        let at = |secs| SystemTime::UNIX_EPOCH + Duration::from_nanos(secs);
        let key = |path: &str| GroupingKey::from_path(path.as_bytes(), NameScheme::Legacy).unwrap();
        let families = parse_text(TEXT.as_bytes(), NameScheme::Legacy).unwrap();
        store
            .push(
                key("job/a/instance/x<y>"),
                PushMode::Replace,
                families,
                at(1_700_000_000_123_456_789),
            )
            .unwrap();
        // A family named as a fixed key of the group object takes its place.
        let families =
            parse_text(b"labels 1\nlast_push_successful 2\n", NameScheme::Legacy).unwrap();
        store
            .push(
                key("job/b"),
                PushMode::Replace,
                families,
                at(1_700_000_001_000_000_000),
            )
            .unwrap();
        // A native histogram, and one with float counts.
        let mut native = parse_text(b"# TYPE native histogram\nnative_bucket{le=\"+Inf\"} 8\nnative_sum 1.5\nnative_count 8\n# TYPE floats histogram\nfloats_bucket{le=\"1\"} 0\nfloats_sum 0\nfloats_count 0\n", NameScheme::Legacy).unwrap();
        native[0].metrics[0].value = Value::Histogram(Box::new(native_histogram()));
        if let Value::Histogram(h) = &mut native[1].metrics[0].value {
            h.sample_count_float = 2.5;
            h.buckets[0].cumulative_count_float = 1.25;
        }
        store
            .push(
                key("job/c"),
                PushMode::Replace,
                native,
                at(1_700_000_002_000_000_000),
            )
            .unwrap();
        // A failed push: `plain` is untyped in group a.
        let conflicting = vec![MetricFamily {
            name: "plain".to_owned(),
            help: None,
            metric_type: MetricType::Gauge,
            unit: None,
            metrics: parse_text(b"plain 1\n", NameScheme::Legacy)
                .unwrap()
                .remove(0)
                .metrics,
        }];
        assert!(
            store
                .push(
                    key("job/c"),
                    PushMode::Merge,
                    conflicting,
                    at(1_700_000_003_000_000_000)
                )
                .is_err()
        );
        store
    }

    #[test]
    fn metrics_body_is_what_serde_json_writes_for_the_same_values() {
        let store = store_with_every_kind_of_family();
        let oracle = json!({
            "status": "success",
            "data": store.groups().iter().map(|g| oracle::group_json(g)).collect::<Vec<_>>(),
        });
        let expected = String::from_utf8(go_escape(oracle.to_string().into_bytes())).unwrap();
        let written = String::from_utf8(metrics_body(&store)).unwrap();
        assert_eq!(written, expected);
        // And the cases are all there.
        for needle in [
            "\\u003cserved\\u003e \\u0026",
            "\\u2028",
            "\"labels\":{\"metrics\"",
            "[1,\"-4\",\"-2\",\"2\"]",
            "\"1.25\"",
            "\"last_push_successful\":false",
            "\"count\":\"9007199254740992\"",
        ] {
            assert!(written.contains(needle), "{needle} in {written}");
        }
        let parsed: Json = serde_json::from_str(&written).unwrap();
        assert_eq!(parsed["data"].as_array().unwrap().len(), 3);
    }

    /// The gateway's first JSON writer, through `serde_json::Value`: obviously right, and
    /// too slow for thousands of groups. The streamed writer must write the same bytes.
    mod oracle {
        use cairn::{Group, StoredFamily};
        use cairn_expfmt::{Histogram, Label, Metric, MetricType, Value, write_float};
        use serde_json::{Map, Value as Json, json};

        use crate::time::rfc3339_nano;

        pub(super) fn group_json(group: &Group) -> Json {
            let mut object = Map::new();
            object.insert("labels".to_owned(), labels_json(group.key().labels()));
            object.insert(
                "last_push_successful".to_owned(),
                Json::Bool(group.last_push_successful()),
            );
            for family in group.families() {
                object.insert(family.name().to_owned(), family_json(family));
            }
            Json::Object(object)
        }

        fn family_json(stored: &StoredFamily) -> Json {
            let family = stored.family();
            let mut object = Map::new();
            object.insert(
                "time_stamp".to_owned(),
                Json::String(rfc3339_nano(stored.pushed_at())),
            );
            object.insert(
                "type".to_owned(),
                Json::String(family.metric_type.proto_name().to_owned()),
            );
            if let Some(help) = family.help.as_deref().filter(|h| !h.is_empty()) {
                object.insert("help".to_owned(), Json::String(help.to_owned()));
            }
            let metrics = family
                .metrics
                .iter()
                .map(|m| metric_json(family.metric_type, m))
                .collect();
            object.insert("metrics".to_owned(), Json::Array(metrics));
            Json::Object(object)
        }

        fn labels_json(labels: &[Label]) -> Json {
            Json::Object(
                labels
                    .iter()
                    .map(|l| (l.name.clone(), Json::String(l.value.clone())))
                    .collect(),
            )
        }

        fn float(v: f64) -> Json {
            Json::String(float_string(v))
        }

        fn float_string(v: f64) -> String {
            let mut out = Vec::new();
            write_float(&mut out, v);
            String::from_utf8_lossy(&out).into_owned()
        }

        fn metric_json(metric_type: MetricType, metric: &Metric) -> Json {
            let mut object = Map::new();
            object.insert("labels".to_owned(), labels_json(&metric.labels));
            match (metric_type, &metric.value) {
                (MetricType::Summary, Value::Summary(summary)) => {
                    let quantiles: Map<String, Json> = summary
                        .quantiles
                        .iter()
                        .map(|q| (float_string(q.quantile), float(q.value)))
                        .collect();
                    object.insert("quantiles".to_owned(), Json::Object(quantiles));
                    object.insert(
                        "count".to_owned(),
                        Json::String(summary.sample_count.to_string()),
                    );
                    object.insert("sum".to_owned(), float(summary.sample_sum));
                }
                (MetricType::Histogram, Value::Histogram(histogram)) => {
                    let native = !histogram.positive_spans.is_empty()
                        || !histogram.negative_spans.is_empty();
                    let buckets = if native {
                        native_buckets(histogram)
                    } else {
                        classic_buckets(histogram)
                    };
                    object.insert("buckets".to_owned(), buckets);
                    let count = if histogram.sample_count_float > 0.0 {
                        float(histogram.sample_count_float)
                    } else {
                        Json::String(histogram.sample_count.to_string())
                    };
                    object.insert("count".to_owned(), count);
                    object.insert("sum".to_owned(), float(histogram.sample_sum));
                }
                (MetricType::Summary | MetricType::Histogram, _) => {}
                (_, value) => {
                    let v = match (metric_type, value) {
                        (MetricType::Counter | MetricType::Gauge | MetricType::Untyped, v) => {
                            match v {
                                Value::Counter(c) => c.value,
                                Value::Gauge(v) | Value::Untyped(v) => *v,
                                _ => 0.0,
                            }
                        }
                        _ => 0.0,
                    };
                    object.insert("value".to_owned(), float(v));
                }
            }
            Json::Object(object)
        }

        fn classic_buckets(histogram: &Histogram) -> Json {
            let buckets: Map<String, Json> = histogram
                .buckets
                .iter()
                .map(|b| {
                    let count = if b.cumulative_count_float > 0.0 {
                        float(b.cumulative_count_float)
                    } else {
                        Json::String(b.cumulative_count.to_string())
                    };
                    (float_string(b.upper_bound), count)
                })
                .collect();
            Json::Object(buckets)
        }

        fn native_buckets(histogram: &Histogram) -> Json {
            Json::Array(
                super::super::native_buckets(histogram)
                    .into_iter()
                    .map(|(code, lower, upper, count)| {
                        json!([code, float(lower), float(upper), float(count)])
                    })
                    .collect(),
            )
        }
    }
}
