//! Every error a client can see, mapped to a status and a one-line body in one place.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn::{Limit, LimitExceeded};

/// Every limit a request can exceed, as `pushgateway_limit_rejections_total` labels them:
/// each is the name of its flag, `--push.max-<name with - for _>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RequestLimit {
    /// `--push.max-body-bytes`.
    BodyBytes,
    /// `--push.max-decompressed-bytes`.
    DecompressedBytes,
    /// One of the store's per-push caps (`--push.max-series-per-push`, ...).
    Push(Limit),
    /// `--push.max-series`.
    Series,
}

impl RequestLimit {
    /// Every limit, in the order the metric lists them.
    pub(crate) const ALL: [RequestLimit; 9] = [
        RequestLimit::BodyBytes,
        RequestLimit::DecompressedBytes,
        RequestLimit::Push(Limit::SeriesPerPush),
        RequestLimit::Push(Limit::LabelsPerSeries),
        RequestLimit::Push(Limit::MetricNameBytes),
        RequestLimit::Push(Limit::LabelNameBytes),
        RequestLimit::Push(Limit::LabelValueBytes),
        RequestLimit::Push(Limit::GroupingBytes),
        RequestLimit::Series,
    ];

    /// The metric's `limit` label value.
    pub(crate) fn label(self) -> &'static str {
        match self {
            RequestLimit::BodyBytes => "body_bytes",
            RequestLimit::DecompressedBytes => "decompressed_bytes",
            RequestLimit::Push(limit) => limit.as_str(),
            RequestLimit::Series => "series",
        }
    }

    /// The flag that sets it.
    pub(crate) fn flag(self) -> &'static str {
        match self {
            RequestLimit::BodyBytes => "--push.max-body-bytes",
            RequestLimit::DecompressedBytes => "--push.max-decompressed-bytes",
            RequestLimit::Push(Limit::SeriesPerPush) => "--push.max-series-per-push",
            RequestLimit::Push(Limit::LabelsPerSeries) => "--push.max-labels-per-series",
            RequestLimit::Push(Limit::MetricNameBytes) => "--push.max-metric-name-bytes",
            RequestLimit::Push(Limit::LabelNameBytes) => "--push.max-label-name-bytes",
            RequestLimit::Push(Limit::LabelValueBytes) => "--push.max-label-value-bytes",
            RequestLimit::Push(Limit::GroupingBytes) => "--push.max-grouping-bytes",
            RequestLimit::Series => "--push.max-series",
        }
    }
}

/// Why a request failed.
#[derive(Debug)]
pub(crate) enum HttpError {
    /// The request is malformed (URL, encoding or body); the message is the reason.
    BadRequest(String),
    /// The body as received is larger than its cap (`--push.max-body-bytes`).
    BodyTooLarge { body_bytes_max: usize },
    /// The body decompresses to more than its cap (`--push.max-decompressed-bytes`).
    DecompressedTooLarge { decompressed_bytes_max: usize },
    /// The push exceeds one of the store's per-push caps; `place` says where in the body
    /// (`line 3: `), or is empty.
    PushLimit {
        exceeded: LimitExceeded,
        place: String,
    },
    /// The push would take the store over its series cap (`--push.max-series`).
    StoreFull {
        series_after: usize,
        series_max: usize,
    },
    /// The push is too large to be logged; the message says how large.
    RecordTooLarge(String),
    /// The body did not arrive in time (`--web.body-timeout`).
    BodyTimeout { body_timeout: std::time::Duration },
    /// The store cannot be exposed (unchecked mode only).
    Scrape(String),
    /// The change could not be made durable (persistence is failing); it was not
    /// acknowledged.
    Unavailable(String),
}

impl HttpError {
    /// The limit this error is the refusal of, if it is one.
    pub(crate) fn limit(&self) -> Option<RequestLimit> {
        match self {
            HttpError::BodyTooLarge { .. } => Some(RequestLimit::BodyBytes),
            HttpError::DecompressedTooLarge { .. } => Some(RequestLimit::DecompressedBytes),
            HttpError::PushLimit { exceeded, .. } => Some(RequestLimit::Push(exceeded.limit())),
            HttpError::StoreFull { .. } => Some(RequestLimit::Series),
            _ => None,
        }
    }
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
            HttpError::BodyTimeout { body_timeout } => text_error(
                StatusCode::REQUEST_TIMEOUT,
                &format!(
                    "request body not received within {} (--web.body-timeout)",
                    crate::go_duration::format(body_timeout)
                ),
            ),
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
            // Limits are 413: the request is well-formed, but more than the gateway was
            // configured to take. The body names the flag and its value.
            HttpError::PushLimit { exceeded, place } => text_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "{place}{}, more than {}={}",
                    exceeded.found(),
                    RequestLimit::Push(exceeded.limit()).flag(),
                    exceeded.max()
                ),
            ),
            HttpError::StoreFull {
                series_after,
                series_max,
            } => text_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "push would make the store hold {series_after} series, more than {}={series_max}",
                    RequestLimit::Series.flag()
                ),
            ),
            HttpError::RecordTooLarge(message) => {
                text_error(StatusCode::PAYLOAD_TOO_LARGE, &message)
            }
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
