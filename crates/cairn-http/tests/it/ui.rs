//! The web page (`/`, `/status`) and its embedded assets (`/static/<name>`), with and
//! without a route prefix.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cairn_http::GatewayConfig;

use crate::{app, app_with, call, scrape, send};

const ASSETS: [(&str, &str); 3] = [
    ("app.js", "application/javascript"),
    ("app.css", "text/css"),
    ("favicon.svg", "image/svg+xml"),
];

/// The `src` and `href` attribute values of an HTML page.
fn linked_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attribute) {
            let value = &rest[start + attribute.len()..];
            let end = value.find('"').unwrap();
            urls.push(value[..end].to_owned());
            rest = &value[end..];
        }
    }
    urls
}

#[tokio::test]
async fn page_is_served_at_the_root_and_at_status() {
    let app = app();
    let root = call(&app, "GET", "/", "").await;
    assert_eq!(root.status, StatusCode::OK);
    assert_eq!(
        root.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        root.header("content-security-policy"),
        Some("default-src 'self'")
    );
    assert!(root.text().contains("<script src=\"static/app.js\""));
    let status = call(&app, "GET", "/status", "").await;
    assert_eq!(status.status, StatusCode::OK);
    assert_eq!(status.body, root.body);
}

#[tokio::test]
async fn page_links_only_relative_urls_of_embedded_assets() {
    let app = app();
    let page = call(&app, "GET", "/", "").await.text();
    let urls = linked_urls(&page);
    assert!(urls.len() >= 4, "{urls:?}");
    for url in &urls {
        // Relative: resolved against the page, so it stays under the route prefix.
        assert!(!url.contains(':') && !url.starts_with('/'), "{url}");
        if let Some(name) = url.strip_prefix("static/") {
            assert!(
                ASSETS.iter().any(|(a, _)| *a == name),
                "{url} is not embedded"
            );
        }
    }
    // The script fetches and deletes with relative URLs too: nothing absolute in it.
    let script = call(&app, "GET", "/static/app.js", "").await.text();
    for needle in ["http:", "https:", "fetch('/", "fetch(\"/", "'//"] {
        assert!(!script.contains(needle), "app.js contains {needle:?}");
    }
}

#[tokio::test]
async fn assets_have_their_content_types_and_missing_ones_are_404() {
    let app = app();
    for (name, content_type) in ASSETS {
        let reply = call(&app, "GET", &format!("/static/{name}"), "").await;
        assert_eq!(reply.status, StatusCode::OK, "{name}");
        assert_eq!(reply.header("content-type"), Some(content_type), "{name}");
        assert!(!reply.body.is_empty(), "{name}");
    }
    for missing in ["/static/nothing.js", "/static/", "/static"] {
        let reply = call(&app, "GET", missing, "").await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{missing}");
    }
    let reply = call(&app, "GET", "/static/../static/app.js", "").await;
    assert_eq!(reply.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(reply.header("location"), Some("/static/app.js"));
}

#[tokio::test]
async fn assets_revalidate_with_their_etag() {
    let app = app();
    let first = call(&app, "GET", "/static/app.js", "").await;
    assert_eq!(first.header("cache-control"), Some("no-cache"));
    let etag = first.header("etag").unwrap().to_owned();
    let request = |tag: &str| {
        Request::get("/static/app.js")
            .header(header::IF_NONE_MATCH, tag)
            .body(Body::empty())
            .unwrap()
    };
    let again = send(&app, request(&etag)).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    let stale = send(&app, request("\"0000000000000000\"")).await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.body, first.body);
    // Different files, different tags.
    let css = call(&app, "GET", "/static/app.css", "").await;
    assert_ne!(css.header("etag"), Some(etag.as_str()));
}

#[tokio::test]
async fn page_and_assets_answer_get_only() {
    let app = app();
    for path in ["/", "/status", "/static/app.js"] {
        let reply = call(&app, "POST", path, "").await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(reply.header("allow"), Some("GET, OPTIONS"), "{path}");
        let reply = call(&app, "OPTIONS", path, "").await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
    }
    let reply = call(&app, "GET", "/status/", "").await;
    assert_eq!(reply.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(reply.header("location"), Some("/status"));
}

#[tokio::test]
async fn page_moves_under_the_prefix() {
    let app = app_with(GatewayConfig {
        route_prefix: GatewayConfig::normalize_prefix("/pg"),
        ..GatewayConfig::default()
    });
    for path in ["/pg/", "/pg/status", "/pg/static/app.js"] {
        assert_eq!(
            call(&app, "GET", path, "").await.status,
            StatusCode::OK,
            "{path}"
        );
    }
    for path in ["/", "/status", "/static/app.js"] {
        let reply = call(&app, "GET", path, "").await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
    }
    let reply = call(&app, "GET", "/pg", "").await;
    assert_eq!(reply.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(reply.header("location"), Some("/pg/"));
    let reply = call(&app, "GET", "/pg?q=backup", "").await;
    assert_eq!(reply.header("location"), Some("/pg/?q=backup"));
    let reply = call(&app, "POST", "/pg", "").await;
    assert_eq!(reply.status, StatusCode::TEMPORARY_REDIRECT);
}

#[tokio::test]
async fn page_requests_are_counted_under_status_and_static() {
    let app = app();
    call(&app, "GET", "/", "").await;
    call(&app, "GET", "/static/app.css", "").await;
    let text = scrape(&app).await;
    for handler in ["status", "static"] {
        let line = format!(
            "pushgateway_http_requests_total{{code=\"200\",handler=\"{handler}\",method=\"get\"}} 1\n"
        );
        assert!(text.contains(&line), "{line}\n{text}");
    }
}
