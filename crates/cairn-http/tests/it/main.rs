//! Integration tests of the HTTP gateway: requests driven through the router with
//! `tower::ServiceExt::oneshot`, no sockets.

use std::io::Write;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cairn::{Consistency, NameScheme, Store, StoreConfig};
use cairn_http::{GatewayConfig, router};
use flate2::Compression;
use flate2::write::GzEncoder;
use http_body_util::BodyExt;
use serde_json::Value as Json;
use tower::ServiceExt;

mod bodies;
mod build_info;
mod embed;
mod escaping;
mod limits;
mod persistence;
mod streaming;
mod ui;
mod web;

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

fn app_with(config: GatewayConfig) -> Router {
    let store = Store::new(StoreConfig {
        consistency: config.consistency,
        name_scheme: config.name_scheme,
        ..StoreConfig::default()
    });
    router(Arc::new(store), config)
}

fn app() -> Router {
    app_with(GatewayConfig::default())
}

async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

async fn call(app: &Router, method: &str, path: &str, body: &str) -> Reply {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::from(body.to_owned()))
        .unwrap();
    send(app, request).await
}

async fn scrape(app: &Router) -> String {
    let reply = call(app, "GET", "/metrics", "").await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.text()
}

/// A text scrape without the gateway's own families.
fn stored_only(text: &str) -> String {
    let own = |line: &str| {
        let name = line
            .strip_prefix("# HELP ")
            .or_else(|| line.strip_prefix("# TYPE "))
            .unwrap_or(line);
        name.starts_with("pushgateway_") || name.starts_with("process_")
    };
    text.lines()
        .filter(|l| !own(l))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn push_scrape_and_delete_a_group() {
    let app = app();
    let reply = call(&app, "PUT", "/metrics/job/nightly/instance/db1", "rows 7\n").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.is_empty());

    let reply = call(&app, "GET", "/metrics", "").await;
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8; escaping=underscores")
    );
    let text = reply.text();
    assert!(
        text.contains("rows{instance=\"db1\",job=\"nightly\"} 7\n"),
        "{text}"
    );
    assert!(text.contains("# TYPE push_time_seconds gauge\n"));

    let reply = call(&app, "DELETE", "/metrics/job/nightly/instance/db1", "").await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert!(!scrape(&app).await.contains("rows"));

    let reply = call(&app, "DELETE", "/metrics/job/missing", "").await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn post_merges_and_put_replaces() {
    let app = app();
    call(&app, "PUT", "/metrics/job/j", "a 1\nb 2\n").await;
    call(&app, "POST", "/metrics/job/j", "a 3\n").await;
    let text = scrape(&app).await;
    assert!(text.contains("a{instance=\"\",job=\"j\"} 3\n"), "{text}");
    assert!(text.contains("b{instance=\"\",job=\"j\"} 2\n"), "{text}");
    call(&app, "PUT", "/metrics/job/j", "a 4\n").await;
    let text = scrape(&app).await;
    assert!(!text.contains("\nb{"), "{text}");
}

#[tokio::test]
async fn bad_push_path_is_a_400_with_the_reason() {
    let app = app();
    let reply = call(&app, "PUT", "/metrics/job/j/v/a%2Fb", "m 1\n").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.text(),
        "odd number of components in label string \"/v/a/b\"\n"
    );
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));

    let reply = call(&app, "PUT", "/metrics/job/j/__x/1", "m 1\n").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.text(), "improper label name \"__x\"\n");

    let reply = call(&app, "DELETE", "/metrics/job@base64/=", "").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.text(), "job name is required\n");
}

#[tokio::test]
async fn base64_job_and_escaped_values_form_the_grouping_key() {
    let app = app();
    // "a/b" in URL-safe base64.
    let reply = call(&app, "PUT", "/metrics/job@base64/YS9i/path/%2Fvar", "m 1\n").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = call(&app, "PUT", "/metrics/job@base64/YS9i/v/x%20y", "m 1\n").await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = scrape(&app).await;
    assert!(
        text.contains("m{instance=\"\",job=\"a/b\",v=\"x y\"} 1\n"),
        "{text}"
    );
}

#[tokio::test]
async fn parse_error_is_a_400_with_the_parser_message() {
    let app = app();
    let reply = call(&app, "PUT", "/metrics/job/j", "blablabla\n").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply
            .text()
            .starts_with("text format parsing error in line 1:"),
        "{}",
        reply.text()
    );
    assert_eq!(
        call(&app, "GET", "/api/v1/metrics", "").await.text(),
        r#"{"data":[],"status":"success"}"#
    );
}

#[tokio::test]
async fn inconsistent_push_is_a_400_and_unchecked_mode_answers_202() {
    let app = app();
    call(&app, "PUT", "/metrics/job/a", "# TYPE x counter\nx 1\n").await;
    let reply = call(&app, "PUT", "/metrics/job/b", "# TYPE x gauge\nx 1\n").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply
            .text()
            .starts_with("pushed metrics are invalid or inconsistent with existing metrics: "),
        "{}",
        reply.text()
    );

    let unchecked = app_with(GatewayConfig {
        consistency: Consistency::Unchecked,
        ..GatewayConfig::default()
    });
    call(
        &unchecked,
        "PUT",
        "/metrics/job/a",
        "# TYPE x counter\nx 1\n",
    )
    .await;
    let reply = call(&unchecked, "PUT", "/metrics/job/b", "# TYPE x gauge\nx 1\n").await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let reply = call(&unchecked, "GET", "/metrics", "").await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        reply
            .text()
            .starts_with("An error has occurred while serving metrics:\n\n"),
        "{}",
        reply.text()
    );
}

#[tokio::test]
async fn gzip_body_is_decompressed_and_bad_gzip_is_a_400() {
    let app = app();
    let request = Request::put("/metrics/job/z")
        .header(header::CONTENT_ENCODING, "GZIP")
        .body(Body::from(gzip(b"zipped 42\n")))
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(
        scrape(&app)
            .await
            .contains("zipped{instance=\"\",job=\"z\"} 42\n")
    );

    let request = Request::put("/metrics/job/z")
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from("hello"))
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let app = app_with(GatewayConfig {
        body_bytes_max: 16,
        ..GatewayConfig::default()
    });
    let reply = call(
        &app,
        "PUT",
        "/metrics/job/j",
        "a_rather_long_metric_name 1\n",
    )
    .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let request = Request::put("/metrics/job/z")
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from(gzip(&[b'#'; 4096])))
        .unwrap();
    assert_eq!(
        send(&app, request).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

#[tokio::test]
async fn protobuf_body_is_decoded_and_scraped_back_as_protobuf() {
    let app = app();
    let families = cairn::parse_text(
        b"# HELP pb_total Things.\n# TYPE pb_total counter\npb_total 5\n",
        NameScheme::Legacy,
    )
    .unwrap();
    let mut body = Vec::new();
    for family in &families {
        cairn_expfmt::encode_delimited(&mut body, family);
    }
    let request = Request::post("/metrics/job/pb")
        .header(
            header::CONTENT_TYPE,
            "application/vnd.google.protobuf; encoding=delimited; proto=io.prometheus.client.MetricFamily",
        )
        .body(Body::from(body.clone()))
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(
        scrape(&app)
            .await
            .contains("pb_total{instance=\"\",job=\"pb\"} 5\n")
    );

    // The same bytes as text are a parse error: only the full content type selects protobuf.
    let request = Request::post("/metrics/job/pb")
        .header(header::CONTENT_TYPE, "application/vnd.google.protobuf")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::BAD_REQUEST);

    let request = Request::get("/metrics")
        .header(
            header::ACCEPT,
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
        )
        .body(Body::empty())
        .unwrap();
    let reply = send(&app, request).await;
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/vnd.google.protobuf;")
    );
    let decoded = cairn_expfmt::decode_delimited(&reply.body, &Default::default()).unwrap();
    assert!(decoded.iter().any(|f| f.name == "pb_total"));
}

#[tokio::test]
async fn scrape_negotiates_openmetrics_and_gzip() {
    let app = app();
    call(&app, "PUT", "/metrics/job/j", "m 1\n").await;
    let request = Request::get("/metrics")
        .header(
            header::ACCEPT,
            "application/openmetrics-text; version=1.0.0",
        )
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(
        reply.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores")
    );
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&reply.body[..]),
        &mut text,
    )
    .unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[tokio::test]
async fn json_api_lists_groups_with_their_families() {
    let app = app();
    let body = "# HELP s A summary.\n# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 3\ns_count 2\n\
                # TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1.5\nh_count 2\n\
                g 1e+06\n";
    let reply = call(&app, "PUT", "/metrics/job/j/instance/i", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());

    let reply = call(&app, "GET", "/api/v1/metrics", "").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let json: Json = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(json["status"], "success");
    let group = &json["data"][0];
    assert_eq!(
        group["labels"],
        serde_json::json!({"job": "j", "instance": "i"})
    );
    assert_eq!(group["last_push_successful"], true);

    let summary = &group["s"];
    assert_eq!(summary["type"], "SUMMARY");
    assert_eq!(summary["help"], "A summary.");
    assert!(summary["time_stamp"].as_str().unwrap().ends_with('Z'));
    let metric = &summary["metrics"][0];
    assert_eq!(metric["quantiles"], serde_json::json!({"0.5": "1"}));
    assert_eq!(metric["count"], "2");
    assert_eq!(metric["sum"], "3");

    let histogram = &group["h"]["metrics"][0];
    assert_eq!(
        histogram["buckets"],
        serde_json::json!({"1": "1", "+Inf": "2"})
    );
    assert_eq!(histogram["count"], "2");
    assert_eq!(histogram["sum"], "1.5");

    let gauge = &group["g"];
    assert_eq!(gauge["type"], "UNTYPED");
    assert!(gauge.get("help").is_none());
    assert_eq!(gauge["metrics"][0]["value"], "1e+06");
    assert_eq!(
        gauge["metrics"][0]["labels"],
        serde_json::json!({"instance": "i", "job": "j"})
    );
    assert_eq!(group["push_time_seconds"]["type"], "GAUGE");
}

#[tokio::test]
async fn status_api_and_options_carry_cors_headers() {
    let mut config = GatewayConfig::default();
    config
        .flags
        .insert("web.enable-lifecycle".to_owned(), "false".to_owned());
    let app = app_with(config);
    let reply = call(&app, "GET", "/api/v1/status", "").await;
    let json: Json = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(json["data"]["flags"]["web.enable-lifecycle"], "false");
    assert!(json["data"]["build_information"]["version"].is_string());
    assert!(json["data"]["start_time"].is_string());
    assert_eq!(
        reply.header("cache-control"),
        Some("no-cache, no-store, must-revalidate")
    );

    let reply = call(&app, "OPTIONS", "/api/v1/anything/at/all", "").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.is_empty());
    assert_eq!(
        reply.header("access-control-allow-methods"),
        Some("GET, POST, DELETE, OPTIONS")
    );
}

#[tokio::test]
async fn wipe_needs_the_admin_flag() {
    let app = app();
    call(&app, "PUT", "/metrics/job/j", "m 1\n").await;
    let reply = call(&app, "PUT", "/api/v1/admin/wipe", "").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(scrape(&app).await.contains("m{"));

    let admin = app_with(GatewayConfig {
        enable_admin_api: true,
        ..GatewayConfig::default()
    });
    call(&admin, "PUT", "/metrics/job/j", "m 1\n").await;
    let reply = call(&admin, "PUT", "/api/v1/admin/wipe", "").await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(stored_only(&scrape(&admin).await), "");
}

#[tokio::test]
async fn health_quit_and_unknown_paths() {
    let app = app();
    let reply = call(&app, "GET", "/-/healthy", "").await;
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (StatusCode::OK, "OK")
    );
    let reply = call(&app, "GET", "/-/ready", "").await;
    assert_eq!(reply.status, StatusCode::OK);

    let reply = call(&app, "PUT", "/-/quit", "").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.text(), "Lifecycle API is not enabled.");

    let reply = call(&app, "GET", "/nothing", "").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.text(), "404 page not found\n");

    let reply = call(&app, "GET", "/metrics/job/x", "").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.text(), "Method Not Allowed\n");
    assert_eq!(reply.header("allow"), Some("DELETE, OPTIONS, POST, PUT"));

    let reply = call(&app, "POST", "/api/v1/status", "").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header("allow"), Some("GET, OPTIONS"));
}

#[tokio::test]
async fn quit_fires_the_signal_when_lifecycle_is_enabled() {
    let config = GatewayConfig {
        enable_lifecycle: true,
        ..GatewayConfig::default()
    };
    let quit = config.quit.clone();
    let app = app_with(config);
    assert!(!quit.is_fired());
    let reply = call(&app, "POST", "/-/quit", "").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "Requesting termination... Goodbye!");
    assert!(quit.is_fired());
    quit.fired().await;
}

#[tokio::test]
async fn routes_move_under_the_prefix() {
    let app = app_with(GatewayConfig {
        route_prefix: GatewayConfig::normalize_prefix("gw/"),
        telemetry_path: "/scrape".to_owned(),
        ..GatewayConfig::default()
    });
    let reply = call(&app, "PUT", "/gw/metrics/job/j/a/b", "m 1\n").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let reply = call(&app, "GET", "/gw/scrape", "").await;
    assert!(
        reply
            .text()
            .contains("m{a=\"b\",instance=\"\",job=\"j\"} 1\n"),
        "{}",
        reply.text()
    );
    assert_eq!(
        call(&app, "GET", "/metrics", "").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, "PUT", "/metrics/job/j", "").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, "GET", "/gw/-/healthy", "").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unclean_and_trailing_slash_paths_are_redirected() {
    let app = app();
    let reply = call(&app, "POST", "/metrics/job/j/first//second/foobar", "m 1\n").await;
    assert_eq!(reply.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        reply.header("location"),
        Some("/metrics/job/j/first/second/foobar")
    );
    let reply = call(&app, "GET", "/metrics/", "").await;
    assert_eq!(reply.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(reply.header("location"), Some("/metrics"));
    let reply = call(&app, "POST", "/metrics/job/", "").await;
    assert_eq!(reply.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(reply.header("location"), Some("/metrics/job"));
    let reply = call(&app, "GET", "/api/v1", "").await;
    assert_eq!(reply.header("location"), Some("/api/v1/"));
    // A trailing slash after the job is an empty label string, not a redirect.
    let reply = call(&app, "PUT", "/metrics/job/x/", "m 1\n").await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = call(&app, "HEAD", "/metrics", "").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header("allow"), Some("GET, OPTIONS"));
}

#[tokio::test]
async fn gzip_content_encoding_is_checked_on_scrapes_and_health_too() {
    let app = app();
    for path in ["/metrics", "/-/healthy"] {
        let request = Request::get(path)
            .header(header::CONTENT_ENCODING, "gzip")
            .body(Body::empty())
            .unwrap();
        let reply = send(&app, request).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.text(), "EOF\n");
    }
}

#[tokio::test]
async fn scrape_shows_build_info_and_process_metrics() {
    let app = app();
    let text = scrape(&app).await;
    assert!(
        text.contains("# TYPE pushgateway_build_info gauge\n"),
        "{text}"
    );
    assert!(text.contains(&format!("version=\"{}\"}} 1\n", env!("CARGO_PKG_VERSION"))));
    assert!(
        text.contains("# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes ")
    );
    for format in [
        "application/openmetrics-text;version=1.0.0",
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
    ] {
        let request = Request::builder()
            .uri("/metrics")
            .header(header::ACCEPT, format)
            .body(Body::empty())
            .unwrap();
        let reply = send(&app, request).await;
        let needle = b"pushgateway_build_info";
        assert!(reply.body.windows(needle.len()).any(|w| w == needle));
    }
}

#[tokio::test]
async fn pushes_are_counted_and_scrapes_are_not() {
    let app = app();
    scrape(&app).await;
    let reply = call(&app, "POST", "/metrics/job/j", "m 1\n").await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = scrape(&app).await;
    assert!(
        text.contains(
            "pushgateway_http_requests_total{code=\"200\",handler=\"push\",method=\"post\"} 1\n"
        ),
        "{text}"
    );
    assert!(!text.contains("method=\"get\""));
    assert!(text.contains("pushgateway_http_push_duration_seconds_count{method=\"post\"} 1\n"));
    assert!(text.contains("pushgateway_http_push_size_bytes{method=\"post\",quantile=\"0.5\"} "));
}

#[tokio::test]
async fn push_of_an_own_family_with_another_type_is_a_400() {
    let app = app();
    let reply = call(
        &app,
        "PUT",
        "/metrics/job/j",
        "# TYPE process_open_fds counter\nprocess_open_fds 1\n",
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text().contains(
        "gathered metric family process_open_fds has type COUNTER but should have GAUGE"
    ));
}

#[tokio::test]
async fn push_of_an_own_family_with_another_help_shows_the_standard_help_once() {
    let app = app();
    let reply = call(
        &app,
        "PUT",
        "/metrics/job/j",
        "# HELP process_open_fds mine\n# TYPE process_open_fds gauge\nprocess_open_fds 1\n",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = scrape(&app).await;
    assert_eq!(text.matches("# HELP process_open_fds").count(), 1, "{text}");
    assert!(text.contains("# HELP process_open_fds Number of open file descriptors.\n"));
    assert!(text.contains("process_open_fds{instance=\"\",job=\"j\"} 1\n"));
    assert!(!text.contains("mine"));
}
