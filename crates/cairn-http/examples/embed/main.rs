//! cairn's Pushgateway embedded in another axum program: the gateway's routes under
//! `/pushgateway`, the program's own routes beside them, one shared store.
//!
//! ```sh
//! cargo run -p cairn-http --example embed -- 127.0.0.1:9100   # or CAIRN_EMBED_ADDR=...
//! echo "rows_copied 1234" | curl --data-binary @- http://127.0.0.1:9100/pushgateway/metrics/job/nightly
//! curl http://127.0.0.1:9100/pushgateway/metrics
//! curl http://127.0.0.1:9100/app/stats
//! ```

use std::sync::Arc;

use cairn::{Store, StoreConfig};

mod app;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("CAIRN_EMBED_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:9100".to_owned());
    let store = Arc::new(Store::new(StoreConfig::default()));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "listening on http://{}{}/",
        listener.local_addr()?,
        app::GATEWAY_PREFIX
    );
    axum::serve(listener, app::app(store))
        .with_graceful_shutdown(ctrl_c())
        .await
}

/// Resolves on Ctrl-C; never, if the signal cannot be listened for.
async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
