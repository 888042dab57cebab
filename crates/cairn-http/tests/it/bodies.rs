//! Push bodies: snappy and gzip decoding, and the raw and decompressed size caps.

use std::io::Write;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cairn_http::GatewayConfig;

use crate::{app, app_with, gzip, scrape, send, stored_only};

fn snappy(data: &[u8]) -> Vec<u8> {
    let mut encoder = snap::write::FrameEncoder::new(Vec::new());
    encoder.write_all(data).unwrap();
    encoder.into_inner().unwrap()
}

fn encoded_push(path: &str, encoding: &str, body: Vec<u8>) -> Request<Body> {
    Request::put(path)
        .header(header::CONTENT_ENCODING, encoding)
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn snappy_framed_body_is_decompressed_in_any_case() {
    let app = app();
    for (job, encoding) in [("s1", "snappy"), ("s2", "SNAPPY"), ("s3", "Snappy")] {
        let body = snappy(format!("snapped{{via=\"{encoding}\"}} 7\n").as_bytes());
        let reply = send(
            &app,
            encoded_push(&format!("/metrics/job/{job}"), encoding, body),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let text = scrape(&app).await;
    assert!(
        text.contains("snapped{instance=\"\",job=\"s2\",via=\"SNAPPY\"} 7\n"),
        "{text}"
    );
    assert_eq!(text.matches("snapped{").count(), 3, "{text}");
}

#[tokio::test]
async fn empty_snappy_body_is_an_empty_push() {
    let app = app();
    let reply = send(&app, encoded_push("/metrics/job/e", "snappy", Vec::new())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(
        scrape(&app)
            .await
            .contains("push_time_seconds{instance=\"\",job=\"e\"}")
    );
}

#[tokio::test]
async fn corrupt_snappy_body_is_a_400_and_stores_nothing() {
    let app = app();
    let mut truncated = snappy(b"m 1\n");
    truncated.truncate(truncated.len() - 2);
    for body in [
        b"m 1\n".to_vec(),
        // The raw block format, which the reference does not accept either.
        snap::raw::Encoder::new().compress_vec(b"m 1\n").unwrap(),
        truncated,
    ] {
        let reply = send(&app, encoded_push("/metrics/job/c", "snappy", body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
        let text = reply.text();
        assert!(text.starts_with("snappy: "), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
    }
    assert_eq!(stored_only(&scrape(&app).await), "");
}

#[tokio::test]
async fn unknown_content_encoding_is_ignored() {
    let app = app();
    for encoding in ["br", "identity", "gzip, snappy"] {
        let reply = send(
            &app,
            encoded_push("/metrics/job/u", encoding, b"plain 1\n".to_vec()),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{encoding}: {}", reply.text());
    }
    assert!(
        scrape(&app)
            .await
            .contains("plain{instance=\"\",job=\"u\"} 1\n")
    );
}

#[tokio::test]
async fn concatenated_gzip_members_are_read_as_one_body() {
    let app = app();
    let mut body = gzip(b"first 1\n");
    body.extend(gzip(b"second 2\n"));
    let reply = send(&app, encoded_push("/metrics/job/g", "gzip", body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let text = scrape(&app).await;
    assert!(
        text.contains("first{instance=\"\",job=\"g\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("second{instance=\"\",job=\"g\"} 2\n"),
        "{text}"
    );
}

/// A gateway whose decompressed cap is 1 MiB, with the default raw cap.
fn small_decompressed_cap() -> axum::Router {
    app_with(GatewayConfig {
        decompressed_bytes_max: 1 << 20,
        ..GatewayConfig::default()
    })
}

/// A valid text body of `len` bytes: one sample, then comment lines.
fn text_body(len: usize) -> Vec<u8> {
    let mut body = b"bomb 1\n".to_vec();
    while body.len() < len {
        body.extend_from_slice(b"# padding padding padding padding padding padding padding\n");
    }
    body.truncate(len - 1);
    body.push(b'\n');
    body
}

#[tokio::test]
async fn gzip_and_snappy_bombs_over_the_decompressed_cap_are_413_and_store_nothing() {
    let app = small_decompressed_cap();
    // 64 MiB of zeros: about 64 KiB of gzip and 3 MiB of snappy, both well under the raw
    // cap; decompression must stop at the 1 MiB cap instead of expanding it all.
    let zeros = vec![0u8; 64 << 20];
    for (encoding, body) in [("gzip", gzip(&zeros)), ("snappy", snappy(&zeros))] {
        assert!(body.len() < GatewayConfig::BODY_BYTES_MAX_DEFAULT);
        let reply = send(&app, encoded_push("/metrics/job/bomb", encoding, body)).await;
        assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{encoding}");
        assert_eq!(
            reply.text(),
            "decompressed request body exceeds the limit of 1048576 bytes (--push.max-decompressed-bytes)\n"
        );
        assert_eq!(
            reply.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
    }
    assert_eq!(stored_only(&scrape(&app).await), "");
}

#[tokio::test]
async fn decompressed_cap_is_inclusive() {
    let app = small_decompressed_cap();
    for (job, encoding, body) in [
        ("at_gzip", "gzip", gzip(&text_body(1 << 20))),
        ("at_snappy", "snappy", snappy(&text_body(1 << 20))),
    ] {
        let reply = send(
            &app,
            encoded_push(&format!("/metrics/job/{job}"), encoding, body),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{job}: {}", reply.text());
    }
    for (encoding, body) in [
        ("gzip", gzip(&text_body((1 << 20) + 1))),
        ("snappy", snappy(&text_body((1 << 20) + 1))),
    ] {
        let reply = send(&app, encoded_push("/metrics/job/over", encoding, body)).await;
        assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{encoding}");
    }
    let text = scrape(&app).await;
    assert!(
        text.contains("bomb{instance=\"\",job=\"at_gzip\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("bomb{instance=\"\",job=\"at_snappy\"} 1\n"),
        "{text}"
    );
    assert!(!text.contains("job=\"over\""), "{text}");
}

#[tokio::test]
async fn raw_body_over_the_cap_is_413_naming_the_flag_and_stores_nothing() {
    let app = app_with(GatewayConfig {
        body_bytes_max: 1024,
        ..GatewayConfig::default()
    });
    let reply = send(
        &app,
        Request::put("/metrics/job/big")
            .body(Body::from(text_body(1025)))
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        reply.text(),
        "request body exceeds the limit of 1024 bytes (--push.max-body-bytes)\n"
    );
    // The raw cap applies before decompression: a compressed body over it is refused
    // however small it would expand to.
    let incompressible: Vec<u8> = (0..4096u32)
        .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
        .collect();
    let reply = send(
        &app,
        encoded_push("/metrics/job/big", "snappy", snappy(&incompressible)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reply.text().contains("--push.max-body-bytes"));
    assert_eq!(stored_only(&scrape(&app).await), "");

    let reply = send(
        &app,
        Request::put("/metrics/job/fits")
            .body(Body::from(text_body(1024)))
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn default_caps_are_64_and_256_mib() {
    let config = GatewayConfig::default();
    assert_eq!(config.body_bytes_max, 67_108_864);
    assert_eq!(config.decompressed_bytes_max, 268_435_456);
}

#[tokio::test]
async fn a_body_slower_than_the_body_timeout_is_a_408_and_stores_nothing() {
    let app = app_with(GatewayConfig {
        body_timeout: std::time::Duration::from_millis(200),
        ..GatewayConfig::default()
    });
    let (mut sender, body) =
        http_body_util::channel::Channel::<axum::body::Bytes, std::convert::Infallible>::new(1);
    // One line arrives, then nothing: the sender stays open, as a trickling client's would.
    sender
        .send_data(axum::body::Bytes::from_static(b"slow_metric 1\n"))
        .await
        .unwrap();
    let request = Request::put("/metrics/job/slow")
        .body(Body::new(body))
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(
        reply.status,
        StatusCode::REQUEST_TIMEOUT,
        "{}",
        reply.text()
    );
    assert_eq!(
        reply.text(),
        "request body not received within 200ms (--web.body-timeout)\n"
    );
    drop(sender);
    assert!(!scrape(&app).await.contains("slow"));
}

/// A body that declares 1,000 bytes (as `Content-Length` makes hyper's do) and never sends
/// any.
struct DeclaredOnly;

impl axum::body::HttpBody for DeclaredOnly {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Pending
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(1000)
    }
}

#[tokio::test]
async fn a_declared_length_over_the_cap_is_refused_before_reading() {
    let app = app_with(GatewayConfig {
        body_bytes_max: 10,
        ..GatewayConfig::default()
    });
    let request = Request::put("/metrics/job/declared")
        .body(Body::new(DeclaredOnly))
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text()
    );
}
