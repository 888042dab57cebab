//! The limits over HTTP: 413 with the flag and its value, the refusal counted in
//! `pushgateway_limit_rejections_total`, and the stored data untouched.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cairn::{Consistency, PushLimits, Store, StoreConfig};
use cairn_expfmt::{NameScheme, encode_delimited, parse_text};
use cairn_http::{GatewayConfig, router};

use crate::{app, app_with, call, gzip, scrape, send, stored_only};

const PROTOBUF: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

fn tight_limits() -> PushLimits {
    PushLimits {
        series_max: 3,
        labels_per_series_max: 2,
        metric_name_bytes_max: 8,
        label_name_bytes_max: 4,
        label_value_bytes_max: 5,
        grouping_bytes_max: usize::MAX,
    }
}

fn app_with_store(store: StoreConfig) -> Router {
    let config = GatewayConfig {
        consistency: store.consistency,
        ..GatewayConfig::default()
    };
    router(Arc::new(Store::new(store)), config)
}

fn tight_app() -> Router {
    app_with_store(StoreConfig {
        push_limits: tight_limits(),
        ..StoreConfig::default()
    })
}

/// The value of `pushgateway_limit_rejections_total{limit="<limit>"}` in a scrape.
fn rejections(scrape: &str, limit: &str) -> f64 {
    let prefix = format!("pushgateway_limit_rejections_total{{limit=\"{limit}\"}} ");
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in\n{scrape}"))
        .parse()
        .unwrap()
}

fn protobuf(text: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for family in parse_text(text.as_bytes(), NameScheme::Legacy).unwrap() {
        encode_delimited(&mut body, &family);
    }
    body
}

#[tokio::test]
async fn every_limit_is_counted_from_zero() {
    let text = scrape(&app()).await;
    assert!(text.contains("# TYPE pushgateway_limit_rejections_total counter\n"));
    for limit in [
        "body_bytes",
        "decompressed_bytes",
        "series_per_push",
        "labels_per_series",
        "metric_name_bytes",
        "label_name_bytes",
        "label_value_bytes",
        "series",
    ] {
        assert_eq!(rejections(&text, limit), 0.0, "{limit}");
    }
}

#[tokio::test]
async fn each_push_limit_is_413_naming_flag_and_value_and_stores_nothing() {
    let app = tight_app();
    let reply = call(&app, "PUT", "/metrics/job/j", "keep{a=\"1\"} 1\n").await;
    assert_eq!(reply.status, StatusCode::OK);
    let before = stored_only(&scrape(&app).await);
    for (body, limit, message) in [
        (
            "a 1\nb 1\nc 1\nd 1\n",
            "series_per_push",
            "line 4: push has more than 3 series, more than --push.max-series-per-push=3",
        ),
        (
            "m{a=\"1\",b=\"2\",c=\"3\"} 1\n",
            "labels_per_series",
            "line 1: series of metric \"m\" has 3 labels, more than --push.max-labels-per-series=2",
        ),
        (
            "abcdefghi 1\n",
            "metric_name_bytes",
            "line 1: metric name \"abcdefghi\" is 9 bytes long, more than --push.max-metric-name-bytes=8",
        ),
        (
            "m{abcde=\"1\"} 1\n",
            "label_name_bytes",
            "line 1: label name \"abcde\" of metric \"m\" is 5 bytes long, more than --push.max-label-name-bytes=4",
        ),
        (
            "m{a=\"123456\"} 1\n",
            "label_value_bytes",
            "line 1: value of label \"a\" of metric \"m\" is 6 bytes long, more than --push.max-label-value-bytes=5",
        ),
    ] {
        let counted = rejections(&scrape(&app).await, limit);
        let reply = call(&app, "POST", "/metrics/job/j", body).await;
        assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(reply.text(), format!("{message}\n"));
        let text = scrape(&app).await;
        assert_eq!(rejections(&text, limit), counted + 1.0, "{limit}");
        // Not even the group's failure time moved.
        assert_eq!(stored_only(&text), before, "{body}");

        // The same body as protobuf: the same limit, placed by byte.
        let reply = send(
            &app,
            Request::post("/metrics/job/j")
                .header(header::CONTENT_TYPE, PROTOBUF)
                .body(Body::from(protobuf(body)))
                .unwrap(),
        )
        .await;
        assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert!(
            reply.text().starts_with("metric family at byte "),
            "{}",
            reply.text()
        );
        let text = scrape(&app).await;
        assert_eq!(rejections(&text, limit), counted + 2.0, "{limit}");
        assert_eq!(stored_only(&text), before, "{body}");
    }
    // At the limits, everything is taken.
    let reply = call(
        &app,
        "POST",
        "/metrics/job/j",
        "abcdefgh{abcd=\"12345\",b=\"\"} 1\nb 1\nc 1\n",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn store_series_cap_is_413_in_both_modes_and_counts_what_put_replaces() {
    for consistency in [Consistency::Checked, Consistency::Unchecked] {
        let app = app_with_store(StoreConfig {
            consistency,
            series_max: 6,
            ..StoreConfig::default()
        });
        let ok = if consistency == Consistency::Checked {
            StatusCode::OK
        } else {
            StatusCode::ACCEPTED
        };
        // 4 series and 2 timestamps: full.
        let reply = call(
            &app,
            "PUT",
            "/metrics/job/a",
            "m{i=\"1\"} 1\nm{i=\"2\"} 1\nn 1\no 1\n",
        )
        .await;
        assert_eq!(reply.status, ok);
        let before = stored_only(&scrape(&app).await);
        let reply = call(&app, "PUT", "/metrics/job/b", "x 1\n").await;
        assert_eq!(
            reply.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{consistency:?}"
        );
        assert_eq!(
            reply.text(),
            "push would make the store hold 9 series, more than --push.max-series=6\n"
        );
        let text = scrape(&app).await;
        assert_eq!(rejections(&text, "series"), 1.0);
        assert_eq!(stored_only(&text), before);
        // A replacement of the same size fits.
        let reply = call(&app, "PUT", "/metrics/job/a", "p 1\nq 1\nr 1\ns 1\n").await;
        assert_eq!(reply.status, ok, "{}", reply.text());
    }
}

#[tokio::test]
async fn body_caps_are_counted() {
    let app = app_with(GatewayConfig {
        body_bytes_max: 64,
        decompressed_bytes_max: 128,
        ..GatewayConfig::default()
    });
    let reply = call(&app, "PUT", "/metrics/job/a", &"#".repeat(65)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let bomb = gzip(&[b'\n'; 4096]);
    assert!(bomb.len() <= 64);
    let reply = send(
        &app,
        Request::put("/metrics/job/a")
            .header(header::CONTENT_ENCODING, "gzip")
            .body(Body::from(bomb))
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let text = scrape(&app).await;
    assert_eq!(rejections(&text, "body_bytes"), 1.0);
    assert_eq!(rejections(&text, "decompressed_bytes"), 1.0);
}

#[tokio::test]
async fn default_limits_take_a_wide_real_push() {
    // 100 labels, 4 KiB values, 200-byte names: well inside the defaults.
    let labels: Vec<String> = (0..100)
        .map(|i| format!("label_{i}=\"{}\"", "v".repeat(4096)))
        .collect();
    let name = format!("m_{}", "n".repeat(198));
    let body = format!("{name}{{{}}} 1\n", labels.join(","));
    let app = app_with_store(StoreConfig::default());
    let reply = call(&app, "PUT", "/metrics/job/wide", &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}
