//! Push bodies: reading under a size cap, gzip, and choosing the parser by Content-Type.

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use cairn::{MetricFamily, NameScheme};
use cairn_expfmt::{ProtoLimits, decode_delimited, parse_text};
use flate2::read::GzDecoder;

use crate::error::HttpError;

/// Reads the whole body, refusing more than `body_bytes_max` bytes.
pub(crate) async fn read_capped(body: Body, body_bytes_max: usize) -> Result<Bytes, HttpError> {
    match axum::body::to_bytes(body, body_bytes_max).await {
        Ok(bytes) => Ok(bytes),
        Err(err) => {
            // `to_bytes` reports the cap as a `LengthLimitError` somewhere in the chain.
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
            while let Some(e) = source {
                if e.is::<http_body_util::LengthLimitError>() {
                    return Err(HttpError::TooLarge { body_bytes_max });
                }
                source = e.source();
            }
            Err(HttpError::BadRequest(err.to_string()))
        }
    }
}

/// Whether `Content-Encoding` asks for gzip (case-insensitive, as the reference's HEAD).
pub(crate) fn is_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"))
}

/// Decompresses a gzip body, refusing more than `body_bytes_max` decompressed bytes.
pub(crate) fn gunzip(compressed: &[u8], body_bytes_max: usize) -> Result<Vec<u8>, HttpError> {
    if compressed.is_empty() {
        // Go's gzip.NewReader on an empty body.
        return Err(HttpError::BadRequest("EOF".to_owned()));
    }
    let mut out = Vec::new();
    let limit = u64::try_from(body_bytes_max).unwrap_or(u64::MAX);
    let mut reader = GzDecoder::new(compressed).take(limit.saturating_add(1));
    match reader.read_to_end(&mut out) {
        Ok(_) if out.len() > body_bytes_max => Err(HttpError::TooLarge { body_bytes_max }),
        Ok(_) => Ok(out),
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(HttpError::BadRequest("unexpected EOF".to_owned()))
        }
        Err(err) if err.kind() == std::io::ErrorKind::InvalidInput => {
            Err(HttpError::BadRequest("gzip: invalid header".to_owned()))
        }
        Err(err) => Err(HttpError::BadRequest(format!("gzip: {err}"))),
    }
}

/// Whether the Content-Type selects protobuf delimited: media type
/// `application/vnd.google.protobuf` with `proto=io.prometheus.client.MetricFamily` and
/// `encoding=delimited`, names case-insensitive, parameters in any order.
pub(crate) fn is_protobuf_delimited(content_type: &str) -> bool {
    let mut parts = content_type.split(';');
    let media = parts.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/vnd.google.protobuf") {
        return false;
    }
    let (mut proto, mut delimited) = (false, false);
    for param in parts {
        let Some((name, value)) = param.split_once('=') else {
            // Go's mime.ParseMediaType fails on a parameter without `=`.
            if param.trim().is_empty() {
                continue;
            }
            return false;
        };
        let value = value.trim().trim_matches('"');
        match name.trim().to_ascii_lowercase().as_str() {
            "proto" => proto = value == "io.prometheus.client.MetricFamily",
            "encoding" => delimited = value == "delimited",
            _ => {}
        }
    }
    proto && delimited
}

/// Parses a push body by its Content-Type: protobuf delimited or else text 0.0.4.
pub(crate) fn parse_body(
    headers: &HeaderMap,
    body: &[u8],
    scheme: NameScheme,
) -> Result<Vec<MetricFamily>, HttpError> {
    let protobuf = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_protobuf_delimited);
    if protobuf {
        decode_delimited(body, &ProtoLimits::default())
            .map_err(|e| HttpError::BadRequest(e.to_string()))
    } else {
        parse_text(body, scheme).map_err(|e| HttpError::BadRequest(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::is_protobuf_delimited;

    #[test]
    fn protobuf_needs_both_parameters_in_any_order_and_case() {
        assert!(is_protobuf_delimited(
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
        ));
        assert!(is_protobuf_delimited(
            "Application/Vnd.Google.Protobuf;ENCODING=delimited;Proto=io.prometheus.client.MetricFamily"
        ));
        assert!(!is_protobuf_delimited(
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily"
        ));
        assert!(!is_protobuf_delimited("text/plain"));
    }
}
