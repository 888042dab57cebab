//! The web page for people (`/` and `/status`) and its assets (`/static/<name>`), embedded
//! in the binary. The page is static: its script reads `api/v1/metrics` and `api/v1/status`
//! with relative URLs, so it works under any route prefix and behind a proxy or auth layer.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::text_error;

/// One embedded file.
struct Asset {
    /// The name under `/static/`, or `index.html` for the page.
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
    /// FNV-1a of the bytes, the `ETag`: a browser revalidates and gets 304 until the
    /// binary ships different bytes.
    hash: u64,
}

const fn asset(name: &'static str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
    Asset {
        name,
        content_type,
        bytes,
        hash: fnv1a(bytes),
    }
}

const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const PAGE: Asset = asset(
    "index.html",
    "text/html; charset=utf-8",
    include_bytes!("../ui/index.html"),
);

const STATIC: &[Asset] = &[
    asset(
        "app.js",
        "application/javascript",
        include_bytes!("../ui/app.js"),
    ),
    asset("app.css", "text/css", include_bytes!("../ui/app.css")),
    asset(
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../ui/favicon.svg"),
    ),
];

/// The page, the same for `/` and `/status` (its script picks the tab from the path).
pub(crate) fn page(request_headers: &HeaderMap) -> Response {
    let mut response = serve(&PAGE, request_headers);
    // Everything the page loads comes from the gateway itself: no inline script, no CDN.
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'"),
    );
    response
}

/// `/static/<name>`: an embedded asset, or 404.
pub(crate) fn static_file(name: &str, request_headers: &HeaderMap) -> Response {
    match STATIC.iter().find(|a| a.name == name) {
        Some(asset) => serve(asset, request_headers),
        None => text_error(StatusCode::NOT_FOUND, "404 page not found"),
    }
}

fn serve(asset: &Asset, request_headers: &HeaderMap) -> Response {
    let etag = format!("\"{:016x}\"", asset.hash);
    let fresh = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, asset.bytes).into_response()
    };
    let headers = response.headers_mut();
    if !fresh {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
    }
    // Revalidate every time: the 304 is cheap, and a new binary's assets show at once.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}
