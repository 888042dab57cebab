//! Large scrapes are streamed in pieces: the bytes are the engine's exposition, gzipped
//! or not, and a client that goes away mid-scrape leaves the gateway serving.

use std::io::Read;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cairn::{GroupingKey, NameScheme, PushMode, ScrapeFormat, Store, StoreConfig};
use cairn_http::{GatewayConfig, router};
use flate2::read::GzDecoder;
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::{call, send, stored_only};

/// A store of 40 groups x 1,500 series: a text exposition of about 3.5 MB, many pieces.
fn big_store() -> Arc<Store> {
    let store = Arc::new(Store::new(StoreConfig::default()));
    for g in 0..40 {
        let mut text = String::from("# TYPE big gauge\n");
        for i in 0..1500 {
            text.push_str(&format!(
                "big{{idx=\"{i}\",pad=\"{}\"}} {g}.5\n",
                "x".repeat(20)
            ));
        }
        let families = cairn::parse_text(text.as_bytes(), NameScheme::Legacy).unwrap();
        let key = GroupingKey::from_path(
            format!("job/j/instance/i{g}").as_bytes(),
            NameScheme::Legacy,
        )
        .unwrap();
        store
            .push(key, PushMode::Replace, families, SystemTime::now())
            .unwrap();
    }
    store
}

fn get(encoding: &str) -> Request<Body> {
    Request::get("/metrics")
        .header(header::ACCEPT_ENCODING, encoding)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_scrape_is_the_engines_exposition_plain_and_gzipped() {
    let store = big_store();
    let app = router(store.clone(), GatewayConfig::default());
    let mut expected = Vec::new();
    store.render(ScrapeFormat::Text, &mut expected).unwrap();
    assert!(expected.len() > 3_000_000, "{} bytes", expected.len());
    let expected = String::from_utf8(expected).unwrap();

    let plain = send(&app, get("identity")).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(stored_only(&plain.text()), expected);

    let gzipped = send(&app, get("gzip")).await;
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    assert!(gzipped.body.len() < expected.len() / 10);
    let mut text = String::new();
    GzDecoder::new(gzipped.body.as_slice())
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(stored_only(&text), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_leaving_mid_scrape_leaves_the_gateway_serving() {
    let store = big_store();
    let app = router(store.clone(), GatewayConfig::default());
    for encoding in ["identity", "gzip"] {
        let response = app.clone().oneshot(get(encoding)).await.unwrap();
        let mut body = response.into_body();
        let first = body.frame().await.unwrap().unwrap();
        assert!(!first.into_data().unwrap().is_empty());
        drop(body);
    }
    let reply = call(&app, "PUT", "/metrics/job/after", "after 1\n").await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = call(&app, "GET", "/metrics", "").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .text()
            .contains("after{instance=\"\",job=\"after\"} 1\n")
    );
    assert!(reply.text().contains("big{idx=\"999\""));
}
