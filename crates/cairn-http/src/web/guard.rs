//! The request guard: rate limit (429), basic auth (401) and the configured extra headers,
//! in front of every route.
//!
//! bcrypt is slow on purpose (tens of milliseconds), so verdicts are cached: the key is an
//! HMAC, under a key made at start-up, of the user, the stored hash and the password given,
//! so the cache never holds a password and a changed hash misses it. A user not in the
//! file is checked against a decoy hash of the same cost, so that an unknown user takes as
//! long as a known one with a wrong password. One bcrypt runs at a time, on a blocking
//! thread: guessing passwords can keep one core busy, never the async runtime.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use http_body_util::BodyExt;
use ring::hmac;
use tokio::sync::Semaphore;

use super::config::Users;
use super::{RateLimit, WebConfig};
use crate::error::text_error;

/// How many verdicts are kept; beyond it, an eighth of them are dropped.
const VERDICTS_MAX: usize = 1024;

/// bcrypt only reads the first 72 bytes of a password; a longer one is refused rather than
/// matched on its prefix.
const PASSWORD_BYTES_MAX: usize = 72;

/// Adds the guard of `web` in front of every route of `router`, the fallback included.
pub fn guard(router: Router, web: Arc<WebConfig>) -> Router {
    let state = Arc::new(Guard::new(web));
    router.layer(axum::middleware::from_fn_with_state(state, check))
}

#[derive(Debug)]
struct Guard {
    web: Arc<WebConfig>,
    key: hmac::Key,
    verdicts: Mutex<HashMap<[u8; 32], bool>>,
    bcrypt: Semaphore,
    bucket: Mutex<Bucket>,
}

/// A token bucket: `burst` tokens, one coming back every `interval`.
#[derive(Debug)]
struct Bucket {
    limit: Option<RateLimit>,
    tokens: f64,
    last: Instant,
}

impl Guard {
    fn new(web: Arc<WebConfig>) -> Guard {
        let rng = ring::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .expect("the operating system's random source works");
        Guard {
            web,
            key,
            verdicts: Mutex::new(HashMap::new()),
            bcrypt: Semaphore::new(1),
            bucket: Mutex::new(Bucket {
                limit: None,
                tokens: 0.0,
                last: Instant::now(),
            }),
        }
    }

    /// Takes a token if one is there.
    fn allow(&self, limit: RateLimit) -> bool {
        let mut bucket = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if bucket.limit != Some(limit) {
            // New or changed settings start with a full bucket.
            *bucket = Bucket {
                limit: Some(limit),
                tokens: f64::from(limit.burst),
                last: now,
            };
        }
        let refill = now.duration_since(bucket.last).as_secs_f64() / limit.interval.as_secs_f64();
        bucket.tokens = (bucket.tokens + refill).min(f64::from(limit.burst));
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether `user` and `password` are a known user and the right password.
    async fn verify(&self, users: &Users, user: &[u8], password: &[u8]) -> bool {
        let known = std::str::from_utf8(user)
            .ok()
            .and_then(|user| users.hashes.get(user));
        let hash = known.unwrap_or(&users.decoy);
        let mut mac = hmac::Context::with_key(&self.key);
        for part in [user, hash.as_bytes(), password] {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        let mut tag = [0u8; 32];
        tag.copy_from_slice(mac.sign().as_ref());
        let cached = || self.verdicts().get(&tag).copied();
        if let Some(matched) = cached() {
            return matched && known.is_some();
        }
        let matched = {
            let _turn = self.bcrypt.acquire().await;
            // Requests with the same credentials that arrive together wait here for the
            // first one's check instead of each paying for bcrypt.
            if let Some(matched) = cached() {
                return matched && known.is_some();
            }
            let (password, hash) = (password.to_vec(), hash.clone());
            tokio::task::spawn_blocking(move || {
                password.len() <= PASSWORD_BYTES_MAX
                    && bcrypt::verify(&password, &hash).unwrap_or(false)
            })
            .await
            .unwrap_or(false)
        };
        let mut verdicts = self.verdicts();
        if verdicts.len() >= VERDICTS_MAX {
            let mut n = 0usize;
            verdicts.retain(|_, _| {
                n += 1;
                n % 8 != 0
            });
        }
        verdicts.insert(tag, matched);
        matched && known.is_some()
    }

    fn verdicts(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], bool>> {
        self.verdicts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The user and password of a `Basic` `Authorization` header.
fn credentials(request: &Request) -> Option<(Vec<u8>, Vec<u8>)> {
    let value = request.headers().get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, encoded) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"basic ") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

/// Reads and drops what is left of a refused request's body, up to a small bound, so
/// that the refusal reaches the client as a response: answering before the body is read
/// makes HTTP/2 reset the stream, which some clients (curl 7.88) report as a framing
/// error instead of the status, and makes HTTP/1.1 close the connection.
async fn drain(request: Request) {
    const DRAIN_BYTES_MAX: usize = 1 << 20;
    const DRAIN_TIME_MAX: Duration = Duration::from_secs(1);
    let body = http_body_util::Limited::new(request.into_body(), DRAIN_BYTES_MAX);
    let _ = tokio::time::timeout(DRAIN_TIME_MAX, body.collect()).await;
}

async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let settings = guard.web.current();
    if let Some(limit) = settings.rate_limit {
        if !guard.allow(limit) {
            drain(request).await;
            return text_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
        }
    }
    let allowed = match &settings.users {
        None => true,
        Some(users) => match credentials(&request) {
            Some((user, password)) => guard.verify(users, &user, &password).await,
            None => false,
        },
    };
    let mut response = if allowed {
        next.run(request).await
    } else {
        drain(request).await;
        let mut response = text_error(StatusCode::UNAUTHORIZED, "Unauthorized");
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
        response
    };
    let headers = response.headers_mut();
    for (name, value) in &settings.headers {
        headers.insert(name.clone(), value.clone());
    }
    response
}
