//! The routing table: every route under the prefix, wrong methods answered with 405 and an
//! `Allow` header, unknown paths with 404, as the reference's httprouter does.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use cairn::{PushMode, Store};

use crate::body::{ContentEncoding, read_body};
use crate::error::{HttpError, text_error};
use crate::own::{self, OwnMetrics};
use crate::{GatewayConfig, api, path, push, scrape, ui};

/// What every handler shares.
#[derive(Debug)]
struct Gateway {
    store: Arc<Store>,
    config: GatewayConfig,
    metrics: OwnMetrics,
}

type Shared = State<Arc<Gateway>>;

/// The Pushgateway's routes over `store`, under `config.route_prefix`.
///
/// The router has its own fallback (404 `404 page not found`), so merge it into another
/// router that has none. To serve it under a path, set `config.route_prefix` and merge;
/// `Router::nest` would hide the prefix from the gateway's redirects.
pub fn router(store: Arc<Store>, config: GatewayConfig) -> Router {
    let p = config.route_prefix.clone();
    let scrape_path = config.scrape_path();
    let admin = config.enable_admin_api;
    store.set_own_families(own::declarations());
    let state = Arc::new(Gateway {
        store,
        config,
        metrics: OwnMetrics::default(),
    });
    let mut router = Router::new()
        .route(&format!("{p}/metrics/job/{{*rest}}"), any(push_route))
        .route(
            &format!("{p}/metrics/job@base64/{{*rest}}"),
            any(push_route),
        )
        .route(&scrape_path, any(scrape_route))
        .route(&format!("{p}/-/healthy"), any(health_route))
        .route(&format!("{p}/-/ready"), any(health_route))
        .route(&format!("{p}/-/quit"), any(quit_route))
        .route(&format!("{p}/api/v1/metrics"), any(api_metrics_route))
        .route(&format!("{p}/api/v1/status"), any(api_status_route))
        .route(&format!("{p}/"), any(page_route))
        .route(&format!("{p}/status"), any(page_route))
        .route(&format!("{p}/static/{{*name}}"), any(static_route));
    if !p.is_empty() {
        // The reference's GET stub for `/-/quit` is never prefixed.
        router = router.route("/-/quit", any(quit_stub_route));
    }
    if admin {
        router = router.route(&format!("{p}/api/v1/admin/wipe"), any(wipe_route));
    }
    router.fallback(fallback).with_state(state)
}

/// 405 with the sorted `Allow` list of the route, OPTIONS included.
fn method_not_allowed(allow: &'static str) -> Response {
    let mut response = text_error(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// The automatic OPTIONS answer of main-router paths: 200, empty, `Allow`.
fn options(allow: &'static str) -> Response {
    let mut response = StatusCode::OK.into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

async fn push_route(State(gw): Shared, request: Request) -> Response {
    const ALLOW: &str = "DELETE, OPTIONS, POST, PUT";
    let (parts, body) = request.into_parts();
    if let Some(redirect) = path::redirect_if_unclean(&parts.uri) {
        return redirect;
    }
    let path = parts.uri.path();
    let (mode, method) = match parts.method {
        Method::PUT => (PushMode::Replace, "put"),
        Method::POST => (PushMode::Merge, "post"),
        Method::DELETE => {
            let response = push::delete(&gw.store, &gw.config, path)
                .await
                .unwrap_or_else(IntoResponse::into_response);
            gw.metrics
                .count_request(response.status().as_u16(), "delete", "DELETE");
            return response;
        }
        Method::OPTIONS => return options(ALLOW),
        _ => return method_not_allowed(ALLOW),
    };
    let started = Instant::now();
    let size_bytes = request_size_bytes(&parts);
    let result = push::push(&gw.store, &gw.config, mode, path, &parts.headers, body).await;
    if let Some(limit) = result.as_ref().err().and_then(HttpError::limit) {
        gw.metrics.count_limit_rejection(limit);
    }
    let response = result.unwrap_or_else(IntoResponse::into_response);
    gw.metrics
        .observe_push(method, started.elapsed().as_secs_f64(), size_bytes);
    gw.metrics
        .count_request(response.status().as_u16(), "push", parts.method.as_str());
    response
}

/// promhttp's approximate request size: URL, method, protocol, header names and values
/// (the Host header among them) and the declared Content-Length.
fn request_size_bytes(parts: &axum::http::request::Parts) -> f64 {
    let headers: usize = parts
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    let content_length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let protocol = format!("{:?}", parts.version).len();
    (parts.uri.to_string().len()
        + parts.method.as_str().len()
        + protocol
        + headers
        + content_length) as f64
}

/// Counts `response` under `handler` and passes it on.
fn counted(gw: &Gateway, handler: &'static str, method: &Method, response: Response) -> Response {
    gw.metrics
        .count_request(response.status().as_u16(), handler, method.as_str());
    response
}

/// The reference decodes `Content-Encoding: gzip` on every main-router request, so a GET
/// with a header but no gzip body is a 400 there too (snappy is decoded lazily and cannot
/// fail before the body is read, so only gzip is checked).
async fn bad_gzip(gw: &Gateway, request: Request) -> Result<Request, Response> {
    let encoding = ContentEncoding::of(request.headers());
    if encoding != ContentEncoding::Gzip {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    match read_body(body, encoding, gw.config.body_limits()).await {
        Ok(bytes) => Ok(Request::from_parts(parts, Body::from(bytes))),
        Err(err) => {
            if let Some(limit) = err.limit() {
                gw.metrics.count_limit_rejection(limit);
            }
            Err(err.into_response())
        }
    }
}

async fn scrape_route(State(gw): Shared, request: Request) -> Response {
    const ALLOW: &str = "GET, OPTIONS";
    let request = match bad_gzip(&gw, request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    match *request.method() {
        Method::GET => scrape::scrape(
            &gw.store,
            &gw.metrics.families(&gw.store),
            request.headers(),
        )
        .unwrap_or_else(IntoResponse::into_response),
        Method::OPTIONS => options(ALLOW),
        _ => method_not_allowed(ALLOW),
    }
}

async fn health_route(State(gw): Shared, request: Request) -> Response {
    const ALLOW: &str = "GET, OPTIONS";
    let request = match bad_gzip(&gw, request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let handler = if request.uri().path().ends_with("/-/ready") {
        "ready"
    } else {
        "healthy"
    };
    match *request.method() {
        Method::GET => counted(&gw, handler, request.method(), "OK".into_response()),
        Method::OPTIONS => options(ALLOW),
        _ => method_not_allowed(ALLOW),
    }
}

async fn quit_route(State(gw): Shared, request: Request) -> Response {
    let unprefixed = gw.config.route_prefix.is_empty();
    match *request.method() {
        Method::PUT | Method::POST => {
            if gw.config.enable_lifecycle {
                tracing::warn!("received termination request via web service, exiting gracefully");
                gw.config.quit.fire();
                "Requesting termination... Goodbye!".into_response()
            } else {
                (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.").into_response()
            }
        }
        Method::GET if unprefixed => quit_stub(),
        Method::OPTIONS if unprefixed => options("GET, OPTIONS, POST, PUT"),
        Method::OPTIONS => options("OPTIONS, POST, PUT"),
        _ if unprefixed => method_not_allowed("GET, OPTIONS, POST, PUT"),
        _ => method_not_allowed("OPTIONS, POST, PUT"),
    }
}

fn quit_stub() -> Response {
    text_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "Only POST or PUT requests allowed.",
    )
}

async fn quit_stub_route(request: Request) -> Response {
    match *request.method() {
        Method::GET => quit_stub(),
        Method::OPTIONS => options("GET, OPTIONS"),
        _ => method_not_allowed("GET, OPTIONS"),
    }
}

async fn api_metrics_route(State(gw): Shared, request: Request) -> Response {
    api_get(&gw, "api/v1/metrics", request.method(), || {
        api::metrics(&gw.store)
    })
}

async fn api_status_route(State(gw): Shared, request: Request) -> Response {
    api_get(&gw, "api/v1/status", request.method(), || {
        api::status(&gw.config)
    })
}

/// A read-only API endpoint: GET answers with `get` (counted under `handler`), OPTIONS is
/// the API's CORS preflight, anything else a 405 with the API's headers.
fn api_get(
    gw: &Gateway,
    handler: &'static str,
    method: &Method,
    get: impl FnOnce() -> Response,
) -> Response {
    match *method {
        Method::GET => counted(gw, handler, method, get()),
        Method::OPTIONS => counted(gw, "api/v1/options", method, api::empty(StatusCode::OK)),
        _ => api_method_not_allowed("GET, OPTIONS"),
    }
}

/// The web page, at `P/` and `P/status`.
async fn page_route(State(gw): Shared, request: Request) -> Response {
    const ALLOW: &str = "GET, OPTIONS";
    if let Some(redirect) = path::redirect_if_unclean(request.uri()) {
        return redirect;
    }
    match *request.method() {
        Method::GET => counted(&gw, "status", request.method(), ui::page(request.headers())),
        Method::OPTIONS => options(ALLOW),
        _ => method_not_allowed(ALLOW),
    }
}

/// The page's embedded assets, at `P/static/<name>`.
async fn static_route(State(gw): Shared, request: Request) -> Response {
    const ALLOW: &str = "GET, OPTIONS";
    if let Some(redirect) = path::redirect_if_unclean(request.uri()) {
        return redirect;
    }
    match *request.method() {
        Method::GET => {
            let prefix = format!("{}/static/", gw.config.route_prefix);
            let name = request.uri().path().strip_prefix(&prefix).unwrap_or("");
            let response = ui::static_file(name, request.headers());
            counted(&gw, "static", request.method(), response)
        }
        Method::OPTIONS => options(ALLOW),
        _ => method_not_allowed(ALLOW),
    }
}

async fn wipe_route(State(gw): Shared, request: Request) -> Response {
    match *request.method() {
        Method::PUT => {
            let wiped = match gw.store.wipe_deferred() {
                Ok((wiped, durable)) => push::acknowledged(durable).await.map(|()| wiped),
                Err(err) => Err(err),
            };
            let response = match wiped {
                Ok(wiped) => {
                    tracing::info!(groups = wiped, "wiped the store via the admin API");
                    api::empty(StatusCode::ACCEPTED)
                }
                Err(err) => {
                    tracing::error!(err = %err, "wipe not persisted");
                    HttpError::Unavailable(err.to_string()).into_response()
                }
            };
            counted(&gw, "wipe", request.method(), response)
        }
        Method::OPTIONS => counted(
            &gw,
            "api/v1/options",
            request.method(),
            api::empty(StatusCode::OK),
        ),
        _ => api_method_not_allowed("OPTIONS, PUT"),
    }
}

fn api_method_not_allowed(allow: &'static str) -> Response {
    let mut response = method_not_allowed(allow);
    let cors = api::empty(StatusCode::OK);
    for (name, value) in cors.headers() {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// Unknown paths: 404, except OPTIONS anywhere under the API, which the reference's
/// catch-all answers with 200, unclean paths (301 to the cleaned one), `/api/v1` (301 to
/// `/api/v1/`), the prefix itself (to the page at the prefix and `/`) and a trailing slash
/// on a fixed route (without it). Trailing-slash redirects are 301 for GET, else 307.
async fn fallback(State(gw): Shared, request: Request<Body>) -> Response {
    let prefix = &gw.config.route_prefix;
    let api_root = format!("{prefix}/api/v1/");
    let uri = request.uri();
    if request.method() == Method::OPTIONS && uri.path().starts_with(&api_root) {
        return counted(
            &gw,
            "api/v1/options",
            request.method(),
            api::empty(StatusCode::OK),
        );
    }
    if let Some(redirect) = path::redirect_if_unclean(uri) {
        return redirect;
    }
    if uri.path() == &api_root[..api_root.len() - 1] {
        return path::redirect(StatusCode::MOVED_PERMANENTLY, &api_root);
    }
    let status = if request.method() == Method::GET {
        StatusCode::MOVED_PERMANENTLY
    } else {
        StatusCode::TEMPORARY_REDIRECT
    };
    if !prefix.is_empty() && uri.path() == prefix {
        let location = match uri.query() {
            Some(query) => format!("{prefix}/?{query}"),
            None => format!("{prefix}/"),
        };
        return path::redirect(status, &location);
    }
    if let Some(trimmed) = uri.path().strip_suffix('/') {
        let fixed = [
            gw.config.scrape_path(),
            format!("{prefix}/-/healthy"),
            format!("{prefix}/-/ready"),
            format!("{prefix}/-/quit"),
            format!("{prefix}/status"),
            format!("{prefix}/metrics/job"),
            format!("{prefix}/metrics/job@base64"),
        ];
        if fixed.iter().any(|f| f == trimmed) {
            return path::redirect(status, trimmed);
        }
    }
    text_error(StatusCode::NOT_FOUND, "404 page not found")
}
