//! The embedding example's router (`examples/embed/app.rs`), driven in-process: what is
//! pushed under the mounted prefix shows in the gateway's scrape and in the program's own
//! route, and the gateway's redirects and 404s stay under the prefix.

#[path = "../../examples/embed/app.rs"]
mod app;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use cairn::{Store, StoreConfig};
use serde_json::Value as Json;

use crate::call;

async fn stats(app: &Router) -> Json {
    let reply = call(app, "GET", "/app/stats", "").await;
    assert_eq!(reply.status, StatusCode::OK);
    serde_json::from_str(&reply.text()).unwrap()
}

fn example_app() -> Router {
    app::app(Arc::new(Store::new(StoreConfig::default())))
}

#[tokio::test]
async fn push_under_prefix_shows_in_scrape_and_app_stats() {
    let app = example_app();
    assert_eq!(
        stats(&app).await,
        serde_json::json!({"groups": 0, "series": 0})
    );

    let push = call(
        &app,
        "PUT",
        "/pushgateway/metrics/job/nightly/instance/db1",
        "rows_copied 1234\nrows_skipped 3\n",
    )
    .await;
    assert_eq!(push.status, StatusCode::OK, "{}", push.text());

    let scrape = call(&app, "GET", "/pushgateway/metrics", "").await;
    assert_eq!(scrape.status, StatusCode::OK);
    assert!(
        scrape
            .text()
            .contains("rows_copied{instance=\"db1\",job=\"nightly\"} 1234\n"),
        "{}",
        scrape.text()
    );
    // Two pushed series and the group's two timestamp gauges.
    assert_eq!(
        stats(&app).await,
        serde_json::json!({"groups": 1, "series": 4})
    );

    let delete = call(
        &app,
        "DELETE",
        "/pushgateway/metrics/job/nightly/instance/db1",
        "",
    )
    .await;
    assert_eq!(delete.status, StatusCode::ACCEPTED);
    assert_eq!(
        stats(&app).await,
        serde_json::json!({"groups": 0, "series": 0})
    );
}

#[tokio::test]
async fn program_routes_sit_beside_the_gateway() {
    let app = example_app();
    let hello = call(&app, "GET", "/", "").await;
    assert_eq!(hello.status, StatusCode::OK);
    assert!(hello.text().starts_with("hello"));
    let ready = call(&app, "GET", "/pushgateway/-/ready", "").await;
    assert_eq!(
        (ready.status, ready.text().as_str()),
        (StatusCode::OK, "OK")
    );
    // The gateway is only under its prefix.
    let unprefixed = call(&app, "GET", "/metrics", "").await;
    assert_eq!(unprefixed.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn gateway_redirects_keep_the_prefix() {
    let app = example_app();
    let slash = call(&app, "GET", "/pushgateway/metrics/", "").await;
    assert_eq!(slash.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(slash.header("location"), Some("/pushgateway/metrics"));

    let unclean = call(&app, "PUT", "/pushgateway/metrics/job/j//a/b", "x 1\n").await;
    assert_eq!(unclean.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        unclean.header("location"),
        Some("/pushgateway/metrics/job/j/a/b")
    );

    let api = call(&app, "GET", "/pushgateway/api/v1", "").await;
    assert_eq!(api.header("location"), Some("/pushgateway/api/v1/"));

    let unknown = call(&app, "GET", "/pushgateway/nothing", "").await;
    assert_eq!(
        (unknown.status, unknown.text().as_str()),
        (StatusCode::NOT_FOUND, "404 page not found\n")
    );
}
