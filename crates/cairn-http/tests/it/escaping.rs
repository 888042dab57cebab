//! `escaping=` in the scrape's `Accept`: names that are not legacy names are exposed as
//! the scheme says, and the Content-Type names the scheme.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cairn::NameScheme;
use cairn_http::GatewayConfig;

use crate::{Reply, app, app_with, call, send, stored_only};

const PROTOBUF: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

async fn utf8_app() -> Router {
    let app = app_with(GatewayConfig {
        name_scheme: NameScheme::Utf8,
        ..GatewayConfig::default()
    });
    let body = concat!(
        "# HELP \"my.metric\" A dotted name.\n",
        "# TYPE \"my.metric\" summary\n",
        "{\"my.metric\",\"dotted.label\"=\"v\",quantile=\"0.5\"} 1\n",
        "{\"my.metric_sum\",\"dotted.label\"=\"v\"} 2\n",
        "{\"my.metric_count\",\"dotted.label\"=\"v\"} 3\n",
        "plain_gauge{\"ünï\"=\"x\"} 4\n",
    );
    let reply = call(&app, "PUT", "/metrics/job/j", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    app
}

async fn scrape_with(app: &Router, accept: &str) -> Reply {
    let request = Request::get("/metrics")
        .header(header::ACCEPT, accept)
        .body(Body::empty())
        .unwrap();
    let reply = send(app, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply
}

#[tokio::test]
async fn default_scrape_escapes_utf8_names_with_underscores() {
    let app = utf8_app().await;
    let reply = call(&app, "GET", "/metrics", "").await;
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8; escaping=underscores")
    );
    let stored = stored_only(&reply.text());
    let pushed = &stored[..stored.find("# HELP push_failure_time_seconds").unwrap()];
    assert_eq!(
        pushed,
        concat!(
            "# HELP my_metric A dotted name.\n",
            "# TYPE my_metric summary\n",
            "my_metric{dotted_label=\"v\",instance=\"\",job=\"j\",quantile=\"0.5\"} 1\n",
            "my_metric_sum{dotted_label=\"v\",instance=\"\",job=\"j\"} 2\n",
            "my_metric_count{dotted_label=\"v\",instance=\"\",job=\"j\"} 3\n",
            "# TYPE plain_gauge untyped\n",
            // One `_` per character, not per byte.
            "plain_gauge{instance=\"\",job=\"j\",_n_=\"x\"} 4\n",
        )
    );
}

#[tokio::test]
async fn allow_utf8_keeps_names_quoted() {
    let app = utf8_app().await;
    let reply = scrape_with(&app, "text/plain;version=0.0.4;escaping=allow-utf-8").await;
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8")
    );
    let text = reply.text();
    assert!(text.contains("# TYPE \"my.metric\" summary\n"), "{text}");
    assert!(
        text.contains("{\"my.metric_sum\",\"dotted.label\"=\"v\",instance=\"\",job=\"j\"} 2\n"),
        "{text}"
    );
}

#[tokio::test]
async fn values_escaping_can_be_undone() {
    let app = utf8_app().await;
    let reply = scrape_with(&app, "text/plain;escaping=values").await;
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8; escaping=values")
    );
    let text = reply.text();
    assert!(
        text.contains("# HELP U__my_2e_metric A dotted name.\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "U__my_2e_metric_count{U__dotted_2e_label=\"v\",instance=\"\",job=\"j\"} 3\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("plain_gauge{instance=\"\",job=\"j\",U___fc_n_ef_=\"x\"} 4\n"),
        "{text}"
    );
}

#[tokio::test]
async fn dots_escaping_spells_out_dots() {
    let app = utf8_app().await;
    let reply = scrape_with(&app, "text/plain;escaping=dots").await;
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8; escaping=dots")
    );
    let text = reply.text();
    assert!(
        text.contains(
            "my_dot_metric{dotted_dot_label=\"v\",instance=\"\",job=\"j\",quantile=\"0.5\"} 1\n"
        ),
        "{text}"
    );
    // Legacy names are left alone, underscores included.
    assert!(text.contains("# TYPE push_time_seconds gauge\n"), "{text}");
}

#[tokio::test]
async fn protobuf_scrape_escapes_names_unless_utf8_is_allowed() {
    let app = utf8_app().await;
    let reply = scrape_with(&app, PROTOBUF).await;
    assert_eq!(
        reply.header("content-type"),
        Some(&*format!("{PROTOBUF}; escaping=underscores"))
    );
    let families = cairn_expfmt::decode_delimited(&reply.body, &Default::default()).unwrap();
    let family = families.iter().find(|f| f.name == "my_metric").unwrap();
    assert_eq!(family.metrics[0].labels[0].name, "dotted_label");
    assert!(families.iter().all(|f| f.name != "my.metric"));

    let reply = scrape_with(&app, &format!("{PROTOBUF};escaping=allow-utf-8")).await;
    assert_eq!(
        reply.header("content-type"),
        Some(&*format!("{PROTOBUF}; escaping=allow-utf-8"))
    );
    let families = cairn_expfmt::decode_delimited(&reply.body, &Default::default()).unwrap();
    let family = families.iter().find(|f| f.name == "my.metric").unwrap();
    assert_eq!(family.metrics[0].labels[0].name, "dotted.label");
}

#[tokio::test]
async fn openmetrics_scrape_escapes_names_too() {
    let app = utf8_app().await;
    let reply = scrape_with(
        &app,
        "application/openmetrics-text;version=1.0.0;escaping=values",
    )
    .await;
    assert_eq!(
        reply.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=values")
    );
    let text = reply.text();
    assert!(text.contains("# TYPE U__my_2e_metric summary\n"), "{text}");
    assert!(
        text.contains("\nU__my_2e_metric_sum{U__dotted_2e_label=\"v\""),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[tokio::test]
async fn protobuf_pushed_dotted_family_is_escaped_under_the_legacy_scheme() {
    let app = app();
    let mut families =
        cairn::parse_text(b"# TYPE x gauge\nx{a=\"1\"} 5\n", NameScheme::Legacy).unwrap();
    families[0].name = "dotted.family".to_owned();
    let mut body = Vec::new();
    cairn_expfmt::encode_delimited(&mut body, &families[0]);
    let request = Request::put("/metrics/job/pb")
        .header(header::CONTENT_TYPE, PROTOBUF)
        .body(Body::from(body))
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());

    let text = call(&app, "GET", "/metrics", "").await.text();
    assert!(
        text.contains(
            "# TYPE dotted_family gauge\ndotted_family{a=\"1\",instance=\"\",job=\"pb\"} 5\n"
        ),
        "{text}"
    );
    let reply = scrape_with(&app, PROTOBUF).await;
    let families = cairn_expfmt::decode_delimited(&reply.body, &Default::default()).unwrap();
    assert!(families.iter().any(|f| f.name == "dotted_family"));
    let text = scrape_with(&app, "text/plain;escaping=allow-utf-8")
        .await
        .text();
    assert!(text.contains("# TYPE \"dotted.family\" gauge\n"), "{text}");
}

#[tokio::test]
async fn legacy_scrape_is_unchanged_by_any_scheme() {
    let app = app();
    call(&app, "PUT", "/metrics/job/j", "m{l=\"a,\"} 1\n").await;
    let plain = stored_only(&call(&app, "GET", "/metrics", "").await.text());
    for scheme in ["allow-utf-8", "underscores", "dots", "values"] {
        let reply = scrape_with(&app, &format!("text/plain;escaping={scheme}")).await;
        assert_eq!(stored_only(&reply.text()), plain, "{scheme}");
    }
    assert!(
        plain.contains("m{instance=\"\",job=\"j\",l=\"a,\"} 1\n"),
        "{plain}"
    );
}
