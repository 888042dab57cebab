//! The embedding program's router: its own routes beside the gateway's, over one store.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use cairn::Store;
use cairn_http::GatewayConfig;
use serde_json::{Value, json};

/// Where the gateway's routes live.
pub(crate) const GATEWAY_PREFIX: &str = "/pushgateway";

/// The program's routes (`/`, `/app/stats`) and the gateway's under [`GATEWAY_PREFIX`].
pub(crate) fn app(store: Arc<Store>) -> Router {
    // The gateway's own route prefix rather than `Router::nest`: a nested router sees paths
    // without the prefix, so the gateway's redirects (`/metrics/` to `/metrics`, unclean
    // paths) would point outside it.
    let config = GatewayConfig {
        route_prefix: GATEWAY_PREFIX.to_owned(),
        // The gateway checks names as the store does.
        name_scheme: store.config().name_scheme,
        consistency: store.config().consistency,
        ..GatewayConfig::default()
    };
    let own = Router::new()
        .route("/", get(hello))
        .route("/app/stats", get(stats))
        .with_state(store.clone());
    // The gateway's router brings the fallback (its 404) for the whole program: axum does
    // not merge two routers that both have one, so `own` has none.
    own.merge(cairn_http::router(store, config))
}

async fn hello() -> &'static str {
    "hello from the embedding program\n"
}

/// What the shared store holds right now.
async fn stats(State(store): State<Arc<Store>>) -> Json<Value> {
    Json(json!({
        "groups": store.group_count(),
        "series": store.series_count(),
    }))
}
