//! Path cleaning as Go's `http.ServeMux` does it before routing: `//`, `/./` and `/../`
//! are answered with a 301 to the cleaned path.

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// Go's `path.Clean`, plus ServeMux's rule that a trailing slash is kept.
pub(crate) fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    let mut cleaned = String::with_capacity(p.len());
    for part in &parts {
        cleaned.push('/');
        cleaned.push_str(part);
    }
    // The root, or a kept trailing slash.
    if cleaned.is_empty() || p.ends_with('/') {
        cleaned.push('/');
    }
    cleaned
}

/// The 301 to the cleaned path when `uri`'s path is not clean, keeping the query.
pub(crate) fn redirect_if_unclean(uri: &Uri) -> Option<Response> {
    let path = uri.path();
    let cleaned = clean(path);
    if cleaned == path {
        return None;
    }
    let location = match uri.query() {
        Some(query) => format!("{cleaned}?{query}"),
        None => cleaned,
    };
    Some(redirect(StatusCode::MOVED_PERMANENTLY, &location))
}

/// A redirect with Go's short HTML-free body.
pub(crate) fn redirect(status: StatusCode, location: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn cleans_like_go_servemux() {
        assert_eq!(
            clean("/metrics/job/j/first//second/foobar"),
            "/metrics/job/j/first/second/foobar"
        );
        assert_eq!(clean("/metrics/job//x/y"), "/metrics/job/x/y");
        assert_eq!(clean("/a/./b/../c"), "/a/c");
        assert_eq!(clean("/metrics/job/x/"), "/metrics/job/x/");
        assert_eq!(clean("/.."), "/");
        assert_eq!(clean("/"), "/");
    }
}
