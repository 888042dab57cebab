//! `GET <telemetry path>`: the exposition of every stored group, negotiated by `Accept` and
//! `Accept-Encoding`.
//!
//! `Accept` is read as prometheus/common's `expfmt.Negotiate` (v0.69) reads it: clauses in
//! goautoneg's order (quality first, concrete types before wildcards, otherwise as given),
//! the first clause cairn can serve wins, and the `escaping=` parameter of that clause or
//! of any clause before it (the last valid one) chooses how names that are not legacy
//! names are escaped; the response's Content-Type names the scheme. Types and parameters
//! are matched case-sensitively, as there. Protobuf's `encoding=text` and
//! `encoding=compact-text` are not served (cairn has no encoder for them), and OpenMetrics
//! is offered, which the reference does not do.

use std::io::{self, Write};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn::{Exposition, MetricFamily, NameScheme, ScrapeFormat, Store};
use cairn_expfmt::is_legacy_metric_name;
use flate2::Compression;
use flate2::write::GzEncoder;
use http_body_util::channel::{Channel, Sender};
use tokio::runtime::Handle;

use crate::error::HttpError;
use crate::escape::{Escaping, escape_protobuf, escape_text};

const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
const PROTOBUF_CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";
const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Bytes of exposition (before compression) per piece of the response body.
const CHUNK_BYTES: usize = 256 << 10;
/// Pieces in flight between the writer and the connection: what one scrape holds at most
/// besides the exposition itself.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Renders the store in the format `Accept` asks for, gzipped if `Accept-Encoding` allows.
///
/// The store's lock is held only while the exposition is taken ([`Store::exposition`]);
/// it is written out on the blocking pool a piece at a time, each piece sent (and
/// compressed) as it is made, so that neither the store nor an async worker waits for a
/// large scrape and memory holds a few pieces, not the whole body.
pub(crate) fn scrape(
    store: &Store,
    own: &[MetricFamily],
    headers: &HeaderMap,
) -> Result<Response, HttpError> {
    let Negotiated { format, escaping } = negotiate(header_str(headers, header::ACCEPT));
    let exposition = store
        .exposition(own)
        .map_err(|e| HttpError::Scrape(e.to_string()))?;
    let escape =
        (escaping != Escaping::AllowUtf8 && may_hold_utf8_names(store)).then_some(escaping);
    let gzip = accepts_gzip(header_str(headers, header::ACCEPT_ENCODING));
    let (tx, body) = Channel::<Bytes, io::Error>::new(CHUNKS_IN_FLIGHT);
    let out = BodyWriter {
        tx: Some(tx),
        runtime: Handle::current(),
    };
    tokio::task::spawn_blocking(move || write_body(&exposition, format, escape, gzip, out));
    let media_type = match format {
        ScrapeFormat::Text => TEXT_CONTENT_TYPE,
        ScrapeFormat::Protobuf => PROTOBUF_CONTENT_TYPE,
        ScrapeFormat::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
    };
    let content_type = format!("{media_type}; escaping={}", escaping.as_str());
    let mut response = (StatusCode::OK, Body::new(body)).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).map_err(|e| HttpError::Scrape(e.to_string()))?,
    );
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(response)
}

/// Writes the response body: the exposition in pieces, escaped when `escape` says so
/// (which needs it whole) and compressed as asked. Stops when the client has gone.
fn write_body(
    exposition: &Exposition,
    format: ScrapeFormat,
    escape: Option<Escaping>,
    gzip: bool,
    mut out: BodyWriter,
) {
    let mut buf = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 8);
    let written = match (escape, gzip) {
        (Some(escaping), _) => {
            exposition.write(format, &mut buf);
            let escaped = match format {
                ScrapeFormat::Text | ScrapeFormat::OpenMetrics => escape_text(&buf, escaping),
                ScrapeFormat::Protobuf => escape_protobuf(&buf, escaping),
            };
            let whole = escaped.unwrap_or(buf);
            if gzip {
                let mut gz =
                    GzEncoder::new(Vec::with_capacity(whole.len() / 8), Compression::fast());
                gz.write_all(&whole)
                    .and_then(|()| gz.finish())
                    .and_then(|compressed| out.send(compressed))
            } else {
                out.send(whole)
            }
        }
        (None, true) => {
            let mut gz = GzEncoder::new(Vec::with_capacity(CHUNK_BYTES / 4), Compression::fast());
            exposition
                .write_chunked(format, &mut buf, CHUNK_BYTES, |piece| {
                    gz.write_all(piece)?;
                    piece.clear();
                    if gz.get_ref().len() >= CHUNK_BYTES / 4 {
                        let compressed =
                            std::mem::replace(gz.get_mut(), Vec::with_capacity(CHUNK_BYTES / 4));
                        out.send(compressed)?;
                    }
                    Ok(())
                })
                .and_then(|()| gz.write_all(&buf))
                .and_then(|()| gz.finish())
                .and_then(|rest| out.send(rest))
        }
        (None, false) => exposition
            .write_chunked(format, &mut buf, CHUNK_BYTES, |piece| {
                let next = Vec::with_capacity(piece.capacity());
                out.send(std::mem::replace(piece, next))
            })
            .and_then(|()| out.send(buf)),
    };
    match written {
        Ok(()) => out.finish(),
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {}
        Err(err) => tracing::error!(err = %err, "writing a scrape"),
    }
}

/// The sending end of a streamed response body, for a thread outside the runtime. A body
/// dropped before [`BodyWriter::finish`] (an error, a panic) is ended with an error, so
/// that the client sees a broken response rather than a short exposition that looks
/// whole.
struct BodyWriter {
    tx: Option<Sender<Bytes, io::Error>>,
    runtime: Handle,
}

impl BodyWriter {
    /// Sends one piece, waiting while the connection is behind; `BrokenPipe` when the
    /// client has gone.
    fn send(&mut self, piece: Vec<u8>) -> io::Result<()> {
        if piece.is_empty() {
            return Ok(());
        }
        let tx = self.tx.as_mut().ok_or(io::ErrorKind::BrokenPipe)?;
        self.runtime
            .block_on(tx.send_data(Bytes::from(piece)))
            .map_err(|_| io::ErrorKind::BrokenPipe.into())
    }

    /// Ends the body normally.
    fn finish(mut self) {
        self.tx = None;
    }
}

impl Drop for BodyWriter {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            tx.abort(io::Error::other("the scrape was not written to its end"));
        }
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Whether the exposition may hold a name that is not a legacy name: any name under the
/// UTF-8 scheme; under the legacy scheme only a family name, as protobuf pushes are not
/// name-checked (label names are, and the gateway's own families are legacy). This spares
/// the default setup any pass over the rendered exposition.
fn may_hold_utf8_names(store: &Store) -> bool {
    store.config().name_scheme == NameScheme::Utf8
        || store.any_family_name(|name| !is_legacy_metric_name(name))
}

/// One clause of an `Accept` header as goautoneg reads it: type and subtype trimmed of
/// spaces, parameters by name (spaces trimmed, nothing lowercased or unquoted), quality
/// `q` (1 when absent, 0 when unreadable).
#[derive(Debug)]
struct Clause<'a> {
    media_type: &'a str,
    subtype: &'a str,
    q: f64,
    params: Vec<(&'a str, &'a str)>,
}

impl<'a> Clause<'a> {
    fn param(&self, name: &str) -> Option<&'a str> {
        // A repeated parameter: the last one wins, as in goautoneg's map.
        self.params
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|&(_, v)| v)
    }

    /// goautoneg's `Less`: higher quality, or a concrete type where the other is `*`, or a
    /// concrete subtype where the other is `*` (each test alone, so a concrete type goes
    /// before a wildcard of higher quality).
    fn before(&self, other: &Clause<'_>) -> bool {
        self.q > other.q
            || (self.media_type != "*" && other.media_type == "*")
            || (self.subtype != "*" && other.subtype == "*")
    }
}

/// The clauses of `accept` in the order goautoneg hands them out: an insertion sort by
/// [`Clause::before`], which keeps the given order among equals (Go's `sort.Sort` is an
/// insertion sort for the dozen clauses a real header has).
fn parse_accept(accept: &str) -> Vec<Clause<'_>> {
    let mut clauses: Vec<Clause<'_>> = Vec::new();
    for part in accept.split(',') {
        let mut pieces = part.trim_matches(' ').split(';');
        let range = pieces.next().unwrap_or("");
        let mut types = range.split('/');
        let media_type = types.next().unwrap_or("").trim_matches(' ');
        let subtype = match (types.next(), types.next()) {
            (None, _) if media_type == "*" => "*",
            (Some(subtype), None) => subtype.trim_matches(' '),
            _ => continue,
        };
        let mut clause = Clause {
            media_type,
            subtype,
            q: 1.0,
            params: Vec::new(),
        };
        for param in pieces {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            let name = name.trim_matches(' ');
            if name == "q" {
                clause.q = value.parse().unwrap_or(0.0);
            } else {
                clause.params.push((name, value.trim_matches(' ')));
            }
        }
        clauses.push(clause);
    }
    for i in 1..clauses.len() {
        let mut j = i;
        while j > 0 && clauses[j].before(&clauses[j - 1]) {
            clauses.swap(j, j - 1);
            j -= 1;
        }
    }
    clauses
}

/// What a scrape is answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Negotiated {
    format: ScrapeFormat,
    escaping: Escaping,
}

/// The format and escaping scheme for `accept`, as `expfmt.Negotiate` chooses them: text
/// and the default escaping when nothing matches.
fn negotiate(accept: &str) -> Negotiated {
    let mut escaping = Escaping::DEFAULT;
    for clause in parse_accept(accept) {
        // Read before matching, so the parameter of a clause that is not served still
        // counts for a later one.
        if let Some(scheme) = clause.param("escaping").and_then(Escaping::from_param) {
            escaping = scheme;
        }
        let version = clause.param("version").unwrap_or("");
        let format = match (clause.media_type, clause.subtype) {
            ("application", "vnd.google.protobuf")
                if clause.param("proto") == Some("io.prometheus.client.MetricFamily")
                    && clause.param("encoding") == Some("delimited") =>
            {
                ScrapeFormat::Protobuf
            }
            ("text", "plain") if matches!(version, "" | "0.0.4") => ScrapeFormat::Text,
            ("application", "openmetrics-text") if matches!(version, "" | "0.0.1" | "1.0.0") => {
                ScrapeFormat::OpenMetrics
            }
            _ => continue,
        };
        return Negotiated { format, escaping };
    }
    Negotiated {
        format: ScrapeFormat::Text,
        escaping,
    }
}

/// Whether `Accept-Encoding` lists gzip with a non-zero quality.
fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|coding| {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim() == "q")
            .map_or(1.0, |(_, v)| v.trim().parse::<f64>().unwrap_or(0.0));
        name.eq_ignore_ascii_case("gzip") && q > 0.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiated(accept: &str) -> (ScrapeFormat, &'static str) {
        let n = negotiate(accept);
        (n.format, n.escaping.as_str())
    }

    #[test]
    fn accept_picks_the_best_supported_format() {
        assert_eq!(negotiated(""), (ScrapeFormat::Text, "underscores"));
        assert_eq!(
            negotiated(
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.1"
            ),
            (ScrapeFormat::Protobuf, "underscores")
        );
        assert_eq!(
            negotiated("application/openmetrics-text;version=1.0.0,text/plain;q=0.5").0,
            ScrapeFormat::OpenMetrics
        );
        assert_eq!(
            negotiated("text/plain;q=0.5,application/openmetrics-text;version=1.0.0").0,
            ScrapeFormat::OpenMetrics
        );
        // Unknown versions, encodings and types fall through to text.
        assert_eq!(negotiated("text/plain;version=1.0.0").0, ScrapeFormat::Text);
        assert_eq!(
            negotiated(
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text,application/openmetrics-text;q=0.1"
            )
            .0,
            ScrapeFormat::OpenMetrics
        );
        assert!(accepts_gzip("deflate, gzip;q=1.0"));
        assert!(!accepts_gzip("gzip;q=0"));
    }

    #[test]
    fn escaping_comes_from_the_matched_clause_or_an_earlier_one() {
        // What Prometheus 3 sends.
        assert_eq!(
            negotiated(
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.2"
            ),
            (ScrapeFormat::Protobuf, "allow-utf-8")
        );
        assert_eq!(
            negotiated("text/plain;version=0.0.4;escaping=values"),
            (ScrapeFormat::Text, "values")
        );
        // A clause that is not served still sets the scheme for the one that is.
        assert_eq!(
            negotiated("application/json;escaping=dots,text/plain"),
            (ScrapeFormat::Text, "dots")
        );
        // The matched clause's own parameter comes last, so it wins.
        assert_eq!(
            negotiated("application/json;escaping=dots,text/plain;escaping=values"),
            (ScrapeFormat::Text, "values")
        );
        // Nothing served: text, with the last valid scheme seen.
        assert_eq!(
            negotiated("*/*;escaping=allow-utf-8"),
            (ScrapeFormat::Text, "allow-utf-8")
        );
        // Unknown values are ignored.
        assert_eq!(
            negotiated("text/plain;escaping=UTF-8"),
            (ScrapeFormat::Text, "underscores")
        );
    }

    #[test]
    fn clauses_are_ordered_by_quality_then_concreteness() {
        let order: Vec<String> = parse_accept("*/*;q=0.9, text/*, a/b;q=0.2, c/d, junk, e")
            .iter()
            .map(|c| format!("{}/{}", c.media_type, c.subtype))
            .collect();
        // goautoneg's comparison puts a concrete type before a wildcard whatever their
        // qualities, so `a/b;q=0.2` ends up before `text/*` and `*/*`.
        assert_eq!(order, ["c/d", "a/b", "text/*", "*/*"]);
    }
}
