//! Push (PUT replace, POST merge) and delete of a group, keyed by the URL's path.

use std::time::SystemTime;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cairn::persist::PersistError;
use cairn::{Consistency, Durable, GroupingKey, PushError, PushMode, Store};

use crate::GatewayConfig;
use crate::body::{ContentEncoding, parse_body, read_body};
use crate::error::HttpError;

/// Decodes `%XX` escapes into bytes, as Go does before routing (so `%2F` becomes a path
/// separator). A `%` not followed by two hex digits is kept as it is.
pub(crate) fn percent_decode(path: &str) -> Vec<u8> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The grouping key of a push or delete URL: the decoded path after `<prefix>/metrics/`.
fn grouping_key(path: &str, config: &GatewayConfig) -> Result<GroupingKey, HttpError> {
    let decoded = percent_decode(path);
    let tail = decoded
        .strip_prefix(config.route_prefix.as_bytes())
        .and_then(|rest| rest.strip_prefix(b"/metrics/"))
        .unwrap_or(&decoded);
    GroupingKey::from_path(tail, config.name_scheme)
        .map_err(|e| HttpError::BadRequest(e.to_string()))
}

/// Waits until a change is durable (the write-ahead log's fsync, for a persistent store)
/// without holding an async worker or a thread: the log's syncer completes a channel.
pub(crate) async fn acknowledged(durable: Durable) -> Result<(), PersistError> {
    let (done, acknowledged) = tokio::sync::oneshot::channel();
    durable.then(move |result| {
        let _ = done.send(result);
    });
    acknowledged.await.unwrap_or_else(|_| {
        Err(PersistError::LogBroken {
            reason: "the store was closed".to_owned(),
        })
    })
}

/// Bodies up to this size are parsed on the async worker (a few milliseconds at most);
/// larger ones on the blocking pool, so that other requests are not held up behind them.
const INLINE_PARSE_BYTES_MAX: usize = 256 << 10;

/// PUT or POST: parses the body and pushes it to the URL's group.
pub(crate) async fn push(
    store: &Store,
    config: &GatewayConfig,
    mode: PushMode,
    path: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    let bytes = read_body(body, ContentEncoding::of(headers), config.body_limits()).await?;
    let key = grouping_key(path, config)?;
    let (scheme, limits) = (config.name_scheme, store.config().push_limits);
    let families = if bytes.len() <= INLINE_PARSE_BYTES_MAX {
        parse_body(headers, &bytes, scheme, &limits)?
    } else {
        let headers = headers.clone();
        tokio::task::spawn_blocking(move || parse_body(&headers, &bytes, scheme, &limits))
            .await
            .map_err(|err| HttpError::BadRequest(format!("parsing the body: {err}")))??
    };
    let result = match store.push_deferred(key, mode, families, SystemTime::now()) {
        Ok(durable) => acknowledged(durable).await.map_err(PushError::NotDurable),
        Err(err) => Err(err),
    };
    match result {
        Ok(()) => {}
        Err(PushError::NotDurable(err)) => {
            tracing::error!(method = ?mode, path, err = %err, "push not persisted");
            return Err(HttpError::Unavailable(err.to_string()));
        }
        // Limits are answered in both modes: nothing was stored, and the client must know.
        Err(PushError::LimitExceeded(exceeded)) => {
            tracing::warn!(method = ?mode, path, err = %exceeded, "push over a limit");
            return Err(HttpError::PushLimit {
                exceeded,
                place: String::new(),
            });
        }
        Err(
            err @ PushError::StoreFull {
                series_after,
                series_max,
            },
        ) => {
            tracing::warn!(method = ?mode, path, err = %err, "push over the store's series cap");
            return Err(HttpError::StoreFull {
                series_after,
                series_max,
            });
        }
        Err(err @ PushError::RecordTooLarge { .. }) => {
            tracing::warn!(method = ?mode, path, err = %err, "push too large to log");
            return Err(HttpError::RecordTooLarge(err.to_string()));
        }
        Err(err) => {
            tracing::error!(method = ?mode, path, err = %err, "push rejected");
            return match config.consistency {
                Consistency::Checked => Err(HttpError::BadRequest(err.to_string())),
                // Unchecked pushes are acknowledged before they are applied in the
                // reference, so a rejection (timestamps) is not reported to the client.
                Consistency::Unchecked => Ok(StatusCode::ACCEPTED.into_response()),
            };
        }
    }
    Ok(match config.consistency {
        Consistency::Checked => StatusCode::OK.into_response(),
        Consistency::Unchecked => StatusCode::ACCEPTED.into_response(),
    })
}

/// DELETE: removes the URL's group; a missing group is not an error.
pub(crate) async fn delete(
    store: &Store,
    config: &GatewayConfig,
    path: &str,
) -> Result<Response, HttpError> {
    let key = grouping_key(path, config)?;
    let result = match store.delete_deferred(&key) {
        Ok((_, durable)) => acknowledged(durable).await,
        Err(err) => Err(err),
    };
    result.map_err(|err| {
        tracing::error!(path, err = %err, "delete not persisted");
        HttpError::Unavailable(err.to_string())
    })?;
    Ok(StatusCode::ACCEPTED.into_response())
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn percent_decoding_turns_escaped_slashes_into_separators() {
        assert_eq!(percent_decode("/a%2Fb"), b"/a/b");
        assert_eq!(percent_decode("%CE%A0"), "Π".as_bytes());
        assert_eq!(percent_decode("100%"), b"100%");
        assert_eq!(percent_decode("%zz%4"), b"%zz%4");
    }
}
