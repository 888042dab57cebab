//! `GET <telemetry path>`: the exposition of every stored group, negotiated by `Accept` and
//! `Accept-Encoding`.

use std::io::Write;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn::{MetricFamily, ScrapeFormat, Store};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::error::HttpError;

const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores";
const PROTOBUF_CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";
const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Renders the store in the format `Accept` asks for, gzipped if `Accept-Encoding` allows.
pub(crate) fn scrape(
    store: &Store,
    own: &[MetricFamily],
    headers: &HeaderMap,
) -> Result<Response, HttpError> {
    let format = negotiate_format(header_str(headers, header::ACCEPT));
    let mut out = Vec::new();
    store
        .render_with_own(format, own, &mut out)
        .map_err(|e| HttpError::Scrape(e.to_string()))?;
    let content_type = match format {
        ScrapeFormat::Text => TEXT_CONTENT_TYPE,
        ScrapeFormat::Protobuf => PROTOBUF_CONTENT_TYPE,
        ScrapeFormat::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
    };
    let gzip = accepts_gzip(header_str(headers, header::ACCEPT_ENCODING));
    if gzip {
        let mut encoder = GzEncoder::new(Vec::with_capacity(out.len() / 4), Compression::fast());
        // Writing into a Vec cannot fail.
        let compressed = encoder
            .write_all(&out)
            .and_then(|()| encoder.finish())
            .map_err(|e| HttpError::Scrape(e.to_string()))?;
        out = compressed;
    }
    let mut response = (StatusCode::OK, out).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(response)
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// One entry of an `Accept`-like list: the media type (lowercased), its parameters
/// (names lowercased) and its quality.
fn entries(list: &str) -> impl Iterator<Item = (String, Vec<(String, String)>, f64)> + '_ {
    list.split(',').filter_map(|entry| {
        let mut parts = entry.split(';');
        let media = parts.next()?.trim().to_ascii_lowercase();
        if media.is_empty() {
            return None;
        }
        let mut q = 1.0;
        let mut params = Vec::new();
        for param in parts {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim().trim_matches('"').to_owned();
            if name == "q" {
                q = value.parse().unwrap_or(0.0);
            } else {
                params.push((name, value));
            }
        }
        Some((media, params, q))
    })
}

/// The format of the best-quality `Accept` entry cairn can serve; text when none.
fn negotiate_format(accept: &str) -> ScrapeFormat {
    let mut best = (ScrapeFormat::Text, 0.0);
    for (media, params, q) in entries(accept) {
        let format = match media.as_str() {
            "application/vnd.google.protobuf" => {
                let has = |n: &str, v: &str| params.iter().any(|(pn, pv)| pn == n && pv == v);
                if has("proto", "io.prometheus.client.MetricFamily") && has("encoding", "delimited")
                {
                    ScrapeFormat::Protobuf
                } else {
                    continue;
                }
            }
            "application/openmetrics-text" => ScrapeFormat::OpenMetrics,
            "text/plain" | "text/*" | "*/*" => ScrapeFormat::Text,
            _ => continue,
        };
        if q > best.1 {
            best = (format, q);
        }
    }
    best.0
}

/// Whether `Accept-Encoding` lists gzip with a non-zero quality.
fn accepts_gzip(accept_encoding: &str) -> bool {
    entries(accept_encoding).any(|(coding, _, q)| coding == "gzip" && q > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_the_best_supported_format() {
        assert_eq!(negotiate_format(""), ScrapeFormat::Text);
        assert_eq!(
            negotiate_format(
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.1"
            ),
            ScrapeFormat::Protobuf
        );
        assert_eq!(
            negotiate_format("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"),
            ScrapeFormat::OpenMetrics
        );
        assert!(accepts_gzip("deflate, gzip;q=1.0"));
        assert!(!accepts_gzip("gzip;q=0"));
    }
}
