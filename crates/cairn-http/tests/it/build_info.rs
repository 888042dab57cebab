//! Build information in `/api/v1/status` and `pushgateway_build_info`.

use serde_json::Value as Json;

use crate::{app, call, scrape};

#[tokio::test]
async fn status_and_build_info_metric_carry_the_same_build_information() {
    let app = app();
    let reply = call(&app, "GET", "/api/v1/status", "").await;
    let json: Json = serde_json::from_slice(&reply.body).unwrap();
    let info = &json["data"]["build_information"];
    let field = |name: &str| info[name].as_str().unwrap_or_default().to_owned();
    assert_eq!(field("version"), env!("CARGO_PKG_VERSION"));
    for name in ["revision", "branch", "buildUser", "buildDate", "goVersion"] {
        assert!(!field(name).is_empty(), "{name} is empty: {info}");
    }
    assert!(field("goVersion").starts_with("rustc "), "{info}");
    assert_eq!(info.as_object().unwrap().len(), 6, "{info}");

    let text = scrape(&app).await;
    let expected = format!(
        "pushgateway_build_info{{branch=\"{}\",goarch=\"{}\",goos=\"{}\",goversion=\"{}\",revision=\"{}\",tags=\"\",version=\"{}\"}} 1\n",
        field("branch"),
        std::env::consts::ARCH,
        std::env::consts::OS,
        field("goVersion"),
        field("revision"),
        field("version"),
    );
    assert!(text.contains(&expected), "{expected}\n{text}");
}
