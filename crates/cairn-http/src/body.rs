//! Push bodies: reading under the raw size cap, decompressing (gzip, snappy) under the
//! decompressed size cap, and choosing the parser by Content-Type.

use std::io::Read;

use std::time::Duration;

use axum::body::HttpBody;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use bytes::BytesMut;
use cairn::{MetricFamily, NameScheme, PushLimits};
use cairn_expfmt::{ProtoDecodeError, ProtoLimits, decode_delimited, parse_text_with_limits};
use flate2::read::MultiGzDecoder;
use http_body_util::BodyExt;

use crate::error::HttpError;

/// How a request body is compressed, by its `Content-Encoding` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ContentEncoding {
    /// No header, or a value the reference does not know: the body is used as it is.
    Identity,
    /// `gzip`, any case; several concatenated members are read as one stream, as Go's
    /// `gzip.Reader` does.
    Gzip,
    /// `snappy`, any case: the snappy framing (stream) format, not the raw block format.
    Snappy,
}

impl ContentEncoding {
    /// The encoding `headers` declare. Unknown values are ignored, as the reference does.
    pub(crate) fn of(headers: &HeaderMap) -> ContentEncoding {
        let value = headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .unwrap_or("");
        if value.eq_ignore_ascii_case("gzip") {
            ContentEncoding::Gzip
        } else if value.eq_ignore_ascii_case("snappy") {
            ContentEncoding::Snappy
        } else {
            ContentEncoding::Identity
        }
    }
}

/// The bounds on one request body: size as received, size decompressed, and time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyLimits {
    /// Largest body as received (`--push.max-body-bytes`).
    pub(crate) body_bytes_max: usize,
    /// Largest body after gzip or snappy decompression (`--push.max-decompressed-bytes`).
    pub(crate) decompressed_bytes_max: usize,
    /// Longest time the whole body may take to arrive (`--web.body-timeout`).
    pub(crate) body_timeout: Duration,
}

/// Compressed bodies up to this size are inflated on the async worker; larger ones on the
/// blocking pool, so that a big (or hostile) body never stalls other requests.
const INLINE_INFLATE_BYTES_MAX: usize = 64 << 10;

/// Reads the whole body under the raw cap and time limit, and decompresses it under the
/// decompressed cap.
pub(crate) async fn read_body(
    body: Body,
    encoding: ContentEncoding,
    limits: BodyLimits,
) -> Result<Bytes, HttpError> {
    let raw = tokio::time::timeout(
        limits.body_timeout,
        read_capped(body, limits.body_bytes_max),
    )
    .await
    .map_err(|_| HttpError::BodyTimeout {
        body_timeout: limits.body_timeout,
    })??;
    let max = limits.decompressed_bytes_max;
    let inflate = move |raw: Bytes| match encoding {
        ContentEncoding::Identity => Ok(raw),
        ContentEncoding::Gzip => gunzip(&raw, max).map(Bytes::from),
        ContentEncoding::Snappy => unsnap(&raw, max).map(Bytes::from),
    };
    if encoding == ContentEncoding::Identity || raw.len() <= INLINE_INFLATE_BYTES_MAX {
        inflate(raw)
    } else {
        tokio::task::spawn_blocking(move || inflate(raw))
            .await
            .map_err(|err| HttpError::BadRequest(format!("decompressing the body: {err}")))?
    }
}

/// Reads the whole body, refusing more than `body_bytes_max` bytes: at once when the
/// declared `Content-Length` is larger, else as soon as the bytes read pass the cap. A
/// body with a declared length is read into one buffer of that size.
async fn read_capped(body: Body, body_bytes_max: usize) -> Result<Bytes, HttpError> {
    let too_large = || HttpError::BodyTooLarge { body_bytes_max };
    let declared = body.size_hint().exact();
    if declared.is_some_and(|n| n > body_bytes_max as u64) {
        return Err(too_large());
    }
    let mut body = body;
    // A body that arrives in one frame is used as it is; otherwise the frames are copied
    // into one buffer, sized from the declared length when there is one.
    let mut first: Option<Bytes> = None;
    let mut buffer = BytesMut::new();
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| HttpError::BadRequest(err.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        len += data.len();
        if len > body_bytes_max {
            return Err(too_large());
        }
        match first.take() {
            None if buffer.is_empty() => first = Some(data),
            None => buffer.extend_from_slice(&data),
            Some(head) => {
                buffer.reserve(declared.map_or(len, |n| n as usize).max(len));
                buffer.extend_from_slice(&head);
                buffer.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| buffer.freeze()))
}

/// Decompresses a gzip body, refusing more than `decompressed_bytes_max` bytes of output.
fn gunzip(compressed: &[u8], decompressed_bytes_max: usize) -> Result<Vec<u8>, HttpError> {
    if compressed.is_empty() {
        // Go's gzip.NewReader on an empty body.
        return Err(HttpError::BadRequest("EOF".to_owned()));
    }
    inflate(MultiGzDecoder::new(compressed), decompressed_bytes_max).map_err(|err| match err {
        Inflate::TooLarge => HttpError::DecompressedTooLarge {
            decompressed_bytes_max,
        },
        Inflate::Io(err) => HttpError::BadRequest(match err.kind() {
            std::io::ErrorKind::UnexpectedEof => "unexpected EOF".to_owned(),
            std::io::ErrorKind::InvalidInput => "gzip: invalid header".to_owned(),
            _ => format!("gzip: {err}"),
        }),
    })
}

/// Decompresses a snappy-framed body, refusing more than `decompressed_bytes_max` bytes of
/// output. An empty body is an empty stream, as for Go's `snappy.NewReader`.
fn unsnap(compressed: &[u8], decompressed_bytes_max: usize) -> Result<Vec<u8>, HttpError> {
    let decoder = snap::read::FrameDecoder::new(compressed);
    inflate(decoder, decompressed_bytes_max).map_err(|err| match err {
        Inflate::TooLarge => HttpError::DecompressedTooLarge {
            decompressed_bytes_max,
        },
        Inflate::Io(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => {
            HttpError::BadRequest("snappy: unexpected EOF".to_owned())
        }
        // snap's errors already start with `snappy: `.
        Inflate::Io(err) => HttpError::BadRequest(err.to_string()),
    })
}

enum Inflate {
    TooLarge,
    Io(std::io::Error),
}

/// Reads `decoder` to its end, but never more than `max + 1` bytes: one byte past the cap
/// proves the body too large without holding more of it, which is what stops a small
/// compressed body from expanding without bound. The output is gathered in chunks and
/// joined once at the end, so memory never holds a doubling buffer's old and new copies:
/// a body that hits the cap costs at most the cap.
fn inflate(mut decoder: impl Read, max: usize) -> Result<Vec<u8>, Inflate> {
    const CHUNK_BYTES: usize = 1 << 20;
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut total = 0usize;
    loop {
        let want = (max - total).saturating_add(1).min(CHUNK_BYTES);
        let mut chunk = Vec::with_capacity(want);
        let n = (&mut decoder)
            .take(want as u64)
            .read_to_end(&mut chunk)
            .map_err(Inflate::Io)?;
        total += n;
        if total > max {
            return Err(Inflate::TooLarge);
        }
        chunks.push(chunk);
        if n < want {
            break;
        }
    }
    if chunks.len() == 1 {
        return Ok(chunks.pop().unwrap_or_default());
    }
    let mut out = Vec::with_capacity(total);
    for chunk in chunks {
        out.extend_from_slice(&chunk);
    }
    Ok(out)
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

/// Parses a push body by its Content-Type: protobuf delimited or else text 0.0.4, under
/// the store's per-push caps, so that a body over one fails before it is built.
pub(crate) fn parse_body(
    headers: &HeaderMap,
    body: &[u8],
    scheme: NameScheme,
    limits: &PushLimits,
) -> Result<Vec<MetricFamily>, HttpError> {
    let protobuf = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_protobuf_delimited);
    if protobuf {
        let limits = ProtoLimits {
            push: *limits,
            ..ProtoLimits::default()
        };
        decode_delimited(body, &limits).map_err(|e| match e {
            ProtoDecodeError::Limit { offset, exceeded } => HttpError::PushLimit {
                exceeded,
                place: format!("metric family at byte {offset}: "),
            },
            e => HttpError::BadRequest(e.to_string()),
        })
    } else {
        parse_text_with_limits(body, scheme, limits).map_err(|e| match e.limit {
            Some(exceeded) => HttpError::PushLimit {
                exceeded,
                place: format!("line {}: ", e.line),
            },
            None => HttpError::BadRequest(e.to_string()),
        })
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
