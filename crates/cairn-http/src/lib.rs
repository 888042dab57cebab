//! cairn's HTTP front end: the Prometheus Pushgateway's routes as an [`axum::Router`] over a
//! shared [`cairn::Store`].
//!
//! [`router`] is a thin layer: it reads grouping keys from push URLs, decodes bodies (text
//! 0.0.4 or protobuf delimited, optionally gzip- or snappy-compressed, under the size caps
//! of [`GatewayConfig`] and the store's per-push limits, answering 413 to a body over one),
//! hands them to the store, and renders scrapes (escaping UTF-8 names as the scraper's
//! `Accept` asks) and the JSON API. It can be served on its own (the
//! `cairn` binary does) or merged into another axum program with a `route_prefix` (see
//! `examples/embed`; the tokio runtime needs its timer, as request bodies have a time
//! limit). It also serves a web page for people at `/` and `/status`, with its
//! assets embedded, that reads the JSON API. With a persistent store
//! ([`cairn::Store::open`]) every change is acknowledged only once it is durable, and a
//! failing disk answers 503. [`server::Server`] serves a router with TLS and connection
//! limits, and [`web`] reads `--web.config.file` (TLS, basic auth, headers, rate limit).
//!
//! ```
//! use std::sync::Arc;
//! use axum::body::Body;
//! use axum::http::{Request, StatusCode};
//! use cairn::{Store, StoreConfig};
//! use cairn_http::{GatewayConfig, router};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let app = router(Arc::new(Store::new(StoreConfig::default())), GatewayConfig::default());
//! let push = Request::put("/metrics/job/nightly")
//!     .body(Body::from("rows_copied 1234\n"))
//!     .unwrap();
//! let response = app.oneshot(push).await.unwrap();
//! assert_eq!(response.status(), StatusCode::OK);
//! # });
//! ```

#![forbid(unsafe_code)]

mod api;
mod body;
mod build_info;
mod config;
mod error;
mod escape;
pub mod go_duration;
mod own;
mod path;
mod push;
mod routes;
mod scrape;
pub mod server;
mod time;
mod ui;
pub mod web;

pub use config::{GatewayConfig, QuitSignal};
pub use routes::router;
pub use time::rfc3339_nano;
