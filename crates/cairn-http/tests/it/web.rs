//! `--web.config.file`: what a configuration file is refused for, basic auth, the rate
//! limit and extra headers in front of the routes, and TLS with client certificates on a
//! real socket (certificates in tests/data/web, made by scripts/make-web-test-certs.sh).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use cairn_http::server::{ServeOptions, Server};
use cairn_http::web::{WebConfig, guard};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Reply, app, send};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/web")
        .join(name)
}

/// A web configuration file in a temporary directory, beside copies of the test
/// certificates, so that relative paths resolve to them.
struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "ca.crt",
            "other-ca.crt",
            "server.crt",
            "server.key",
            "client.crt",
            "client.key",
        ] {
            std::fs::copy(data(name), dir.path().join(name)).unwrap();
        }
        Dir { dir }
    }

    fn write(&self, yaml: &str) -> PathBuf {
        let path = self.dir.path().join("web.yml");
        std::fs::write(&path, yaml).unwrap();
        path
    }

    fn load(&self, yaml: &str) -> Result<WebConfig, String> {
        WebConfig::load(self.write(yaml)).map_err(|err| err.to_string())
    }
}

/// A bcrypt hash, cheap to check (cost 4).
fn hash(password: &str) -> String {
    bcrypt::hash(password, 4).unwrap()
}

fn basic(user: &str, password: &str) -> String {
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}").as_bytes());
    format!("Basic {encoded}")
}

async fn request(app: &axum::Router, method: &str, path: &str, auth: Option<&str>) -> Reply {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(auth) = auth {
        builder = builder.header(header::AUTHORIZATION, auth);
    }
    let body = if method == "GET" { "" } else { "pushed 1\n" };
    send(app, builder.body(Body::from(body)).unwrap()).await
}

#[test]
fn a_bad_file_is_refused_naming_the_file_and_the_problem() {
    let dir = Dir::new();
    let cases = [
        ("unknown_key: 1\n", "unknown_key"),
        ("tls_server_config:\n  cert_fle: server.crt\n", "cert_fle"),
        (
            "basic_auth_users:\n  alice: plaintext\n",
            "the hash of user \"alice\" is not a bcrypt hash",
        ),
        (
            "http_server_config:\n  headers:\n    Server: cairn\n",
            "header \"Server\" cannot be set",
        ),
        (
            "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
            "X-Frame-Options must be one of",
        ),
        (
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n",
            "cannot read cert_file",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n",
            "missing one of key or key_file",
        ),
        (
            "tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n",
            "holds no PEM certificate",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n",
            "server.crt and key_file client.key",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n",
            "does not ask for client certificates",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: Sometimes\n",
            "unknown \"Sometimes\"",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n",
            "needs client_ca_file or client_ca",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS14\n",
            "unknown TLS version \"TLS14\"",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  max_version: TLS11\n",
            "TLS 1.0 and 1.1 are not supported",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_NOPE]\n",
            "unknown cipher \"TLS_NOPE\"",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  curve_preferences: [Curve25]\n",
            "unknown curve \"Curve25\"",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n",
            "cipher_suites: none of those listed is offered",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  curve_preferences: [CurveP521]\n",
            "curve_preferences: none of those listed is offered",
        ),
        ("rate_limit:\n  interval: soon\n", "rate_limit.interval"),
        ("- a list\n", "invalid type"),
    ];
    for (yaml, needle) in cases {
        let err = dir.load(yaml).unwrap_err();
        assert!(err.contains("web.yml"), "{yaml:?}: {err}");
        assert!(err.contains(needle), "{yaml:?}: {err}");
    }
    let missing = WebConfig::load(dir.dir.path().join("absent.yml")).unwrap_err();
    assert!(missing.to_string().contains("absent.yml"), "{missing}");
}

#[test]
fn files_the_reference_accepts_load() {
    let dir = Dir::new();
    for yaml in [
        "",
        "# only a comment\n",
        "tls_server_config:\nbasic_auth_users:\n",
        "http_server_config:\n  http2: false\n",
        // Go's CBC suites are accepted (and not offered) as long as one listed suite is.
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS10\n  \
         cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, TLS_AES_128_GCM_SHA256]\n  \
         curve_preferences: [CurveP521, CurveP256, X25519]\n  prefer_server_cipher_suites: true\n",
        "rate_limit:\n  interval: 0s\n  burst: 0\n",
    ] {
        let web = dir
            .load(yaml)
            .unwrap_or_else(|err| panic!("{yaml:?}: {err}"));
        let settings = web.current();
        assert_eq!(settings.is_tls(), yaml.contains("cert_file"), "{yaml:?}");
        assert!(!settings.requires_auth(), "{yaml:?}");
        assert_eq!(settings.rate_limit(), None, "{yaml:?}");
    }
}

#[tokio::test]
async fn basic_auth_guards_every_route_and_a_refused_push_stores_nothing() {
    let dir = Dir::new();
    let web = Arc::new(
        dir.load(&format!(
            "basic_auth_users:\n  alice: {}\n  bob: {}\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n",
            hash("wonderland"),
            hash("builder")
        ))
        .unwrap(),
    );
    assert!(web.current().requires_auth());
    let app = guard(app(), web);
    let alice = basic("alice", "wonderland");
    for (path, auth) in [
        ("/metrics/job/nightly", None),
        ("/metrics/job/nightly", Some(basic("alice", "builder"))),
        ("/metrics/job/nightly", Some(basic("mallory", "wonderland"))),
        ("/metrics/job/nightly", Some(basic("alice", ""))),
        ("/metrics/job/nightly", Some("Bearer abc".to_owned())),
        ("/metrics/job/nightly", Some("Basic !!!".to_owned())),
    ] {
        let reply = request(&app, "PUT", path, auth.as_deref()).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(reply.header("www-authenticate"), Some("Basic"));
        assert_eq!(reply.text(), "Unauthorized\n");
        assert_eq!(reply.header("x-frame-options"), Some("deny"));
    }
    for path in ["/-/healthy", "/metrics", "/api/v1/status", "/nowhere"] {
        let reply = request(&app, "GET", path, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let scraped = request(&app, "GET", "/metrics", Some(&alice)).await;
    assert_eq!(scraped.status, StatusCode::OK);
    assert!(!scraped.text().contains("nightly"), "{}", scraped.text());

    // The right password, twice: the second check comes from the cache.
    for _ in 0..2 {
        let pushed = request(&app, "PUT", "/metrics/job/nightly", Some(&alice)).await;
        assert_eq!(pushed.status, StatusCode::OK);
        assert_eq!(pushed.header("x-frame-options"), Some("deny"));
    }
    let bob = request(&app, "GET", "/metrics", Some(&basic("bob", "builder"))).await;
    assert!(
        bob.text()
            .contains("pushed{instance=\"\",job=\"nightly\"} 1"),
        "{}",
        bob.text()
    );
    // A cached success does not survive a wrong password for the same user.
    let wrong = request(&app, "GET", "/metrics", Some(&basic("alice", "wonderlan"))).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_reloaded_file_changes_the_users() {
    let dir = Dir::new();
    let path = dir.write(&format!("basic_auth_users:\n  alice: {}\n", hash("one")));
    let web = Arc::new(WebConfig::load(&path).unwrap());
    let app = guard(app(), web.clone());
    let get = |password: &'static str| {
        let app = app.clone();
        async move {
            request(&app, "GET", "/-/healthy", Some(&basic("alice", password)))
                .await
                .status
        }
    };
    assert_eq!(get("one").await, StatusCode::OK);
    std::fs::write(
        &path,
        format!("basic_auth_users:\n  alice: {}\n", hash("two")),
    )
    .unwrap();
    web.reload().unwrap();
    assert_eq!(get("one").await, StatusCode::UNAUTHORIZED);
    assert_eq!(get("two").await, StatusCode::OK);
    // A broken file is refused and the settings in force stay.
    std::fs::write(&path, "basic_auth_users: [").unwrap();
    assert!(web.reload().is_err());
    assert_eq!(get("two").await, StatusCode::OK);
}

#[tokio::test]
async fn over_the_rate_limit_is_a_429() {
    let dir = Dir::new();
    let web = Arc::new(
        dir.load("rate_limit:\n  interval: 1h\n  burst: 2\n")
            .unwrap(),
    );
    let app = guard(app(), web);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(request(&app, "PUT", "/metrics/job/limited", None).await);
    }
    assert_eq!(statuses[0].status, StatusCode::OK);
    assert_eq!(statuses[1].status, StatusCode::OK);
    assert_eq!(statuses[2].status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(statuses[2].text(), "Too Many Requests\n");
}

/// A TLS client trusting the test CA, with an optional client certificate.
fn client_config(client: Option<&str>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(data("ca.crt")).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match client {
        Some(name) => builder
            .with_client_auth_cert(
                CertificateDer::pem_file_iter(data(&format!("{name}.crt")))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect(),
                PrivateKeyDer::from_pem_file(data(&format!("{name}.key"))).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    })
}

/// `GET /-/healthy` over TLS: the status line, or the error.
async fn tls_get(addr: std::net::SocketAddr, client: Option<&str>) -> Result<String, String> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(client_config(client));
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|err| err.to_string())?;
    tls.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|err| err.to_string())?;
    let mut reply = Vec::new();
    tls.read_to_end(&mut reply)
        .await
        .map_err(|err| err.to_string())?;
    let reply = String::from_utf8_lossy(&reply).into_owned();
    Ok(reply.lines().next().unwrap_or("").to_owned())
}

async fn serve_tls(dir: &Dir, tls: &str) -> std::net::SocketAddr {
    let web = Arc::new(
        dir.load(&format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{tls}"
        ))
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::new(app(), Some(web), ServeOptions::default());
    tokio::spawn(async move { server.serve(listener, std::future::pending()).await });
    addr
}

#[tokio::test]
async fn tls_with_and_without_client_certificates() {
    let dir = Dir::new();
    let ok = Ok("HTTP/1.1 200 OK".to_owned());

    let plain = serve_tls(&dir, "").await;
    assert_eq!(tls_get(plain, None).await, ok);
    let mut tcp = TcpStream::connect(plain).await.unwrap();
    tcp.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    tcp.read_to_string(&mut reply).await.unwrap();
    assert!(
        reply.starts_with("HTTP/1.0 400 Bad Request")
            && reply.contains("Client sent an HTTP request to an HTTPS server."),
        "{reply}"
    );

    let required = serve_tls(
        &dir,
        "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
    )
    .await;
    assert_eq!(tls_get(required, Some("client")).await, ok);
    assert!(tls_get(required, None).await.is_err());
    assert!(tls_get(required, Some("stranger")).await.is_err());

    let if_given = serve_tls(
        &dir,
        "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n",
    )
    .await;
    assert_eq!(tls_get(if_given, None).await, ok);
    assert_eq!(tls_get(if_given, Some("client")).await, ok);
    assert!(tls_get(if_given, Some("stranger")).await.is_err());

    let any = serve_tls(&dir, "  client_auth_type: RequireAnyClientCert\n").await;
    assert_eq!(tls_get(any, Some("stranger")).await, ok);
    assert!(tls_get(any, None).await.is_err());

    for (sans, allowed) in [
        ("[client.example]", true),
        ("[ops@example.com]", true),
        ("[10.0.0.7]", true),
        ("[other.example, 10.0.0.8]", false),
    ] {
        let addr = serve_tls(
            &dir,
            &format!(
                "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: {sans}\n"
            ),
        )
        .await;
        assert_eq!(
            tls_get(addr, Some("client")).await.is_ok(),
            allowed,
            "{sans}"
        );
    }
}
