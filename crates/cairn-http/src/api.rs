//! The JSON API under `/api/v1`: `metrics` (every group with its families) and `status`
//! (build information, flags, start time), with the reference's CORS headers.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
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
    let raw = envelope.to_string();
    // Those characters can only occur inside JSON strings, so escaping them in the
    // serialised text is the same as escaping them in every string.
    let mut body = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '<' => body.push_str("\\u003c"),
            '>' => body.push_str("\\u003e"),
            '&' => body.push_str("\\u0026"),
            '\u{2028}' => body.push_str("\\u2028"),
            '\u{2029}' => body.push_str("\\u2029"),
            c => body.push(c),
        }
    }
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    cors_headers(headers);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
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

/// `GET /api/v1/metrics`.
pub(crate) fn metrics(store: &Store) -> Response {
    let groups: Vec<Json> = store.groups().iter().map(|g| group_json(g)).collect();
    success(Json::Array(groups))
}

fn group_json(group: &Group) -> Json {
    let mut object = Map::new();
    // A family named `labels` or `last_push_successful` overwrites these, as in the
    // reference (its families are inserted after them).
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

/// A float as Go's `fmt.Sprint` writes a float64.
fn float(v: f64) -> Json {
    let mut out = Vec::new();
    write_float(&mut out, v);
    Json::String(String::from_utf8_lossy(&out).into_owned())
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
            let native =
                !histogram.positive_spans.is_empty() || !histogram.negative_spans.is_empty();
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
                (MetricType::Counter | MetricType::Gauge | MetricType::Untyped, v) => match v {
                    Value::Counter(c) => c.value,
                    Value::Gauge(v) | Value::Untyped(v) => *v,
                    _ => 0.0,
                },
                _ => 0.0,
            };
            object.insert("value".to_owned(), float(v));
        }
    }
    Json::Object(object)
}

fn float_string(v: f64) -> String {
    let mut out = Vec::new();
    write_float(&mut out, v);
    String::from_utf8_lossy(&out).into_owned()
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
fn expand(spans: &[cairn_expfmt::BucketSpan], deltas: &[i64], counts: &[f64]) -> Vec<(i32, f64)> {
    let mut out = Vec::new();
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

/// Native buckets as `[boundary code, lower, upper, count]`, non-empty ones only, from the
/// most negative through the zero bucket to the most positive.
fn native_buckets(h: &Histogram) -> Json {
    let mut out = Vec::new();
    let negative = expand(&h.negative_spans, &h.negative_deltas, &h.negative_counts);
    for &(index, count) in negative.iter().rev() {
        if count != 0.0 {
            let lower = -native_bound(index, h.schema);
            let upper = -native_bound(index - 1, h.schema);
            out.push(json!([1, float(lower), float(upper), float(count)]));
        }
    }
    let zero = if h.zero_count_float > 0.0 {
        h.zero_count_float
    } else {
        h.zero_count as f64
    };
    if zero != 0.0 {
        out.push(json!([
            3,
            float(-h.zero_threshold),
            float(h.zero_threshold),
            float(zero)
        ]));
    }
    let positive = expand(&h.positive_spans, &h.positive_deltas, &h.positive_counts);
    for &(index, count) in &positive {
        if count != 0.0 {
            let lower = native_bound(index - 1, h.schema);
            let upper = native_bound(index, h.schema);
            out.push(json!([0, float(lower), float(upper), float(count)]));
        }
    }
    Json::Array(out)
}

#[cfg(test)]
mod tests {
    use cairn_expfmt::{BucketSpan, Histogram};
    use serde_json::json;

    use super::native_buckets;

    #[test]
    fn native_buckets_run_from_most_negative_through_zero_to_positive() {
        let histogram = Histogram {
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
            ..Histogram::default()
        };
        assert_eq!(
            native_buckets(&histogram),
            json!([
                [1, "-4", "-2", "2"],
                [1, "-2", "-1", "1"],
                [3, "-0.001", "0.001", "1"],
                [0, "0.5", "1", "3"],
                [0, "2", "4", "1"],
            ])
        );
    }
}
