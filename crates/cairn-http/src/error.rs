//! Every error a client can see, mapped to a status and a one-line body in one place.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why a request failed.
#[derive(Debug)]
pub(crate) enum HttpError {
    /// The request is malformed (URL, encoding or body); the message is the reason.
    BadRequest(String),
    /// The body as received is larger than its cap (`--push.max-body-bytes`).
    BodyTooLarge { body_bytes_max: usize },
    /// The body decompresses to more than its cap (`--push.max-decompressed-bytes`).
    DecompressedTooLarge { decompressed_bytes_max: usize },
    /// The store cannot be exposed (unchecked mode only).
    Scrape(String),
    /// The change could not be made durable (persistence is failing); it was not
    /// acknowledged.
    Unavailable(String),
}

/// A Go `http.Error` reply: the message plus `\n`, as plain text, not to be sniffed.
pub(crate) fn text_error(status: StatusCode, message: &str) -> Response {
    let mut response = (status, format!("{message}\n")).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        match self {
            HttpError::BadRequest(message) => text_error(StatusCode::BAD_REQUEST, &message),
            HttpError::BodyTooLarge { body_bytes_max } => text_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "request body exceeds the limit of {body_bytes_max} bytes (--push.max-body-bytes)"
                ),
            ),
            HttpError::DecompressedTooLarge {
                decompressed_bytes_max,
            } => text_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "decompressed request body exceeds the limit of {decompressed_bytes_max} bytes (--push.max-decompressed-bytes)"
                ),
            ),
            HttpError::Unavailable(message) => {
                text_error(StatusCode::SERVICE_UNAVAILABLE, &message)
            }
            HttpError::Scrape(message) => text_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("An error has occurred while serving metrics:\n\n{message}"),
            ),
        }
    }
}
