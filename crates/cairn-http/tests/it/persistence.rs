//! A persistent store behind the gateway: changes are acknowledged only when durable, a
//! failing disk gives 503 and changes nothing acknowledged, and the failure shows in the
//! gateway's own metrics.

use std::path::PathBuf;
use std::sync::Arc;

use axum::http::StatusCode;
use cairn::persist::{CrashKeeps, FaultFs, PersistOptions, Unreadable};
use cairn::{Store, StoreConfig};
use cairn_http::{GatewayConfig, router};

use crate::{call, scrape, stored_only};

fn persistent(fs: &FaultFs) -> (Arc<Store>, axum::Router) {
    let options = PersistOptions {
        path: PathBuf::from("/data/pg.data"),
        fs: Arc::new(fs.clone()),
        unreadable: Unreadable::Refuse,
    };
    let store = Arc::new(Store::open(StoreConfig::default(), options).unwrap().0);
    let config = GatewayConfig {
        enable_admin_api: true,
        ..GatewayConfig::default()
    };
    (store.clone(), router(store, config))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_pushes_survive_a_crash() {
    let fs = FaultFs::new();
    let (_, app) = persistent(&fs);
    assert_eq!(
        call(&app, "PUT", "/metrics/job/a", "m 1\n").await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, "POST", "/metrics/job/b", "n 2\n").await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, "DELETE", "/metrics/job/b", "").await.status,
        StatusCode::ACCEPTED
    );
    let expected = stored_only(&scrape(&app).await);
    assert!(
        expected.contains("m{instance=\"\",job=\"a\"} 1\n"),
        "{expected}"
    );
    drop(app);
    fs.crash(CrashKeeps::Nothing);
    let (_, app) = persistent(&fs);
    assert_eq!(stored_only(&scrape(&app).await), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_disk_refuses_changes_with_503_until_a_snapshot_recovers() {
    let fs = FaultFs::new();
    let (store, app) = persistent(&fs);
    assert_eq!(
        call(&app, "PUT", "/metrics/job/a", "m 1\n").await.status,
        StatusCode::OK
    );
    fs.fail_from(0);
    let reply = call(&app, "PUT", "/metrics/job/a", "m 2\n").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        reply.text().contains("persistence is failing"),
        "{}",
        reply.text()
    );
    assert_eq!(reply.text().lines().count(), 1);
    for (method, path) in [("DELETE", "/metrics/job/a"), ("PUT", "/api/v1/admin/wipe")] {
        let reply = call(&app, method, path, "").await;
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {path}"
        );
    }
    let text = scrape(&app).await;
    assert!(
        text.contains("pushgateway_persistence_failing 1\n"),
        "{text}"
    );
    assert!(
        text.contains("pushgateway_persistence_write_errors_total 1\n"),
        "{text}"
    );

    fs.heal();
    store.snapshot().unwrap();
    let text = scrape(&app).await;
    assert!(
        text.contains("pushgateway_persistence_failing 0\n"),
        "{text}"
    );
    assert_eq!(
        call(&app, "PUT", "/metrics/job/a", "m 3\n").await.status,
        StatusCode::OK
    );
    let expected = stored_only(&scrape(&app).await);
    assert!(
        expected.contains("m{instance=\"\",job=\"a\"} 3\n"),
        "{expected}"
    );
    drop((store, app));
    fs.crash(CrashKeeps::Nothing);
    let (_, app) = persistent(&fs);
    assert_eq!(stored_only(&scrape(&app).await), expected);
}
