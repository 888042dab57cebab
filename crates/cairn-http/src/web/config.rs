//! The web configuration file (`--web.config.file`) in the YAML format Prometheus exporters
//! share: TLS (`tls_server_config`), HTTP/2 and extra headers (`http_server_config`),
//! basic-auth users (`basic_auth_users`) and a rate limit (`rate_limit`).
//!
//! Reading is strict, as the reference's is: an unknown key, an unreadable certificate, a
//! hash that is not bcrypt or a header that may not be set is an error naming the file and
//! the problem. Relative file paths are taken from the configuration file's directory.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use serde::Deserialize;

use super::tls;

/// The file as written: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV {
    tls_server_config: Option<TlsFile>,
    http_server_config: Option<HttpFile>,
    rate_limit: Option<RateLimitFile>,
    basic_auth_users: Option<BTreeMap<String, String>>,
}

/// `tls_server_config`, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsFile {
    pub(crate) cert: Option<String>,
    pub(crate) key: Option<String>,
    pub(crate) client_ca: Option<String>,
    pub(crate) cert_file: Option<String>,
    pub(crate) key_file: Option<String>,
    pub(crate) client_auth_type: Option<String>,
    pub(crate) client_ca_file: Option<String>,
    pub(crate) cipher_suites: Option<Vec<String>>,
    pub(crate) curve_preferences: Option<Vec<String>>,
    pub(crate) min_version: Option<String>,
    pub(crate) max_version: Option<String>,
    /// Accepted for compatibility; the server's order is always preferred.
    #[allow(dead_code)]
    pub(crate) prefer_server_cipher_suites: Option<bool>,
    pub(crate) client_allowed_sans: Option<Vec<String>>,
}

impl TlsFile {
    /// Whether any key that turns TLS on is set (the cipher and version keys alone do not).
    fn is_enabled(&self) -> bool {
        [
            &self.cert,
            &self.key,
            &self.client_ca,
            &self.cert_file,
            &self.key_file,
            &self.client_ca_file,
            &self.client_auth_type,
        ]
        .iter()
        .any(|value| value.as_deref().is_some_and(|v| !v.is_empty()))
    }
}

/// `http_server_config`, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

/// `rate_limit`, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitFile {
    burst: Option<u32>,
    interval: Option<GoDuration>,
}

/// A Go `time.Duration` in YAML: a string such as `1s`, or an integer of nanoseconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum GoDuration {
    Text(String),
    Nanos(u64),
}

/// The headers an operator may add, with the values allowed where only some make sense.
const SETTABLE_HEADERS: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

/// A request rate limit: one request per `interval` on average, `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Time over which one request's allowance comes back.
    pub interval: Duration,
    /// Requests allowed at once; zero allows none.
    pub burst: u32,
}

/// A web configuration file, read and checked: what the server and the guard apply.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// The TLS server configuration; `None` serves plain HTTP.
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
    /// Whether HTTP/2 is offered over TLS (`http_server_config.http2`, default true).
    pub(crate) http2: bool,
    /// Headers added to every response.
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// Basic-auth users; `None` when the file names none (no authentication).
    pub(crate) users: Option<Arc<Users>>,
    /// The request rate limit, if any.
    pub(crate) rate_limit: Option<RateLimit>,
    /// Every file read to build these settings (the configuration file first), so that a
    /// change to any of them is noticed.
    pub(crate) files: Vec<PathBuf>,
}

/// Basic-auth users and their bcrypt hashes.
#[derive(Debug)]
pub(crate) struct Users {
    pub(crate) hashes: BTreeMap<String, String>,
    /// A hash of the highest cost among the users', checked for unknown users so that
    /// they take as long as known ones.
    pub(crate) decoy: String,
}

/// Why a web configuration file cannot be used.
#[derive(Debug)]
pub struct WebConfigError {
    /// The configuration file.
    pub file: PathBuf,
    /// What is wrong, naming the key or the file it refers to.
    pub problem: String,
}

impl fmt::Display for WebConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "web configuration file {}: {}",
            self.file.display(),
            self.problem
        )
    }
}

impl std::error::Error for WebConfigError {}

impl WebSettings {
    /// Reads and checks the file at `path`, loading the certificates it names.
    pub fn load(path: &Path) -> Result<WebSettings, WebConfigError> {
        let error = |problem: String| WebConfigError {
            file: path.to_owned(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|err| error(format!("{err}")))?;
        let file: FileV = if text
            .lines()
            .all(|line| line.trim().is_empty() || line.trim_start().starts_with('#'))
        {
            FileV::default()
        } else {
            serde_yaml_ng::from_str::<Option<FileV>>(&text)
                .map_err(|err| error(format!("{err}")))?
                .unwrap_or_default()
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut files = vec![path.to_owned()];
        let http = file.http_server_config.unwrap_or_default();
        let http2 = http.http2.unwrap_or(true);
        let headers = check_headers(http.headers.unwrap_or_default()).map_err(error)?;
        let tls_file = file.tls_server_config.unwrap_or_default();
        let tls = if tls_file.is_enabled() {
            Some(tls::server_config(&tls_file, dir, http2, &mut files).map_err(error)?)
        } else {
            None
        };
        let users = match file.basic_auth_users {
            Some(hashes) if !hashes.is_empty() => {
                Some(Arc::new(check_users(hashes).map_err(error)?))
            }
            _ => None,
        };
        let rate_limit = match file.rate_limit {
            Some(RateLimitFile {
                burst,
                interval: Some(interval),
            }) => {
                let interval = match interval {
                    GoDuration::Nanos(nanos) => Duration::from_nanos(nanos),
                    GoDuration::Text(text) => crate::go_duration::parse(&text)
                        .map_err(|err| error(format!("rate_limit.interval: {err}")))?,
                };
                (!interval.is_zero()).then_some(RateLimit {
                    interval,
                    burst: burst.unwrap_or(0),
                })
            }
            _ => None,
        };
        Ok(WebSettings {
            tls,
            http2,
            headers,
            users,
            rate_limit,
            files,
        })
    }

    /// Whether the server speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Whether HTTP/2 is offered over TLS.
    pub fn http2(&self) -> bool {
        self.http2
    }

    /// Whether requests need basic auth.
    pub fn requires_auth(&self) -> bool {
        self.users.is_some()
    }

    /// The request rate limit, if any.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }
}

/// Checks that each header may be set, and to the value given.
fn check_headers(
    headers: BTreeMap<String, String>,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    headers
        .into_iter()
        .map(|(name, value)| {
            let Some((_, allowed)) = SETTABLE_HEADERS.iter().find(|(n, _)| *n == name) else {
                return Err(format!(
                    "http_server_config.headers: header {name:?} cannot be set; these can: {}",
                    SETTABLE_HEADERS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            };
            if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
                return Err(format!(
                    "http_server_config.headers: {name} must be one of {allowed:?}, not {value:?}"
                ));
            }
            let value = HeaderValue::from_str(&value).map_err(|_| {
                format!("http_server_config.headers: {name}: invalid value {value:?}")
            })?;
            Ok((
                HeaderName::from_bytes(name.as_bytes()).expect("a known header name"),
                value,
            ))
        })
        .collect()
}

/// Checks that every password hash is bcrypt, and makes the decoy hash for unknown users.
fn check_users(hashes: BTreeMap<String, String>) -> Result<Users, String> {
    let mut cost = 4;
    for (user, hash) in &hashes {
        let parts: bcrypt::HashParts = hash.parse().map_err(|err| {
            format!("basic_auth_users: the hash of user {user:?} is not a bcrypt hash ({err})")
        })?;
        cost = cost.max(parts.get_cost());
    }
    // The decoy's password is never asked for; any salt will do.
    let decoy = bcrypt::hash_with_salt(b"cairn: no such user", cost, [7; 16])
        .map_err(|err| format!("basic_auth_users: {err}"))?
        .format_for_version(bcrypt::Version::TwoB);
    Ok(Users { hashes, decoy })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoy_costs_as_much_as_the_dearest_user() {
        let hashes = BTreeMap::from([
            ("cheap".to_owned(), bcrypt::hash("a", 4).unwrap()),
            ("dear".to_owned(), bcrypt::hash("b", 6).unwrap()),
        ]);
        let users = check_users(hashes).unwrap();
        let decoy: bcrypt::HashParts = users.decoy.parse().unwrap();
        assert_eq!(decoy.get_cost(), 6);
        assert!(!bcrypt::verify("a", &users.decoy).unwrap());
    }
}
