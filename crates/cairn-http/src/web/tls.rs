//! A rustls server configuration from `tls_server_config`: certificate and key (files or
//! inline PEM), client certificates per `client_auth_type`, allowed client SANs, TLS
//! versions, cipher suites and curves by their Go names.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, SupportedKxGroup, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
    SupportedCipherSuite, SupportedProtocolVersion,
};

use super::config::TlsFile;

/// Builds the server configuration, adding each file it reads to `files`.
pub(crate) fn server_config(
    t: &TlsFile,
    dir: &Path,
    http2: bool,
    files: &mut Vec<std::path::PathBuf>,
) -> Result<Arc<ServerConfig>, String> {
    let mut read = |key: &str,
                    name: &Option<String>,
                    inline: &Option<String>|
     -> Result<Option<(Vec<u8>, String)>, String> {
        match (name.as_deref().filter(|n| !n.is_empty()), inline) {
            (Some(name), _) => {
                let path = dir.join(name);
                let bytes = std::fs::read(&path)
                    .map_err(|err| format!("cannot read {key} {}: {err}", path.display()))?;
                files.push(path);
                Ok(Some((bytes, format!("{key} {name}"))))
            }
            (None, Some(text)) if !text.is_empty() => {
                let inline_key = key.trim_end_matches("_file");
                Ok(Some((text.clone().into_bytes(), inline_key.to_owned())))
            }
            _ => Ok(None),
        }
    };
    let (cert_pem, cert_from) = read("cert_file", &t.cert_file, &t.cert)?
        .ok_or("tls_server_config: missing one of cert or cert_file")?;
    let (key_pem, key_from) = read("key_file", &t.key_file, &t.key)?
        .ok_or("tls_server_config: missing one of key or key_file")?;
    let ca = read("client_ca_file", &t.client_ca_file, &t.client_ca)?;

    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("{cert_from}: not a PEM certificate ({err})"))?;
    if chain.is_empty() {
        return Err(format!("{cert_from}: holds no PEM certificate"));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|err| format!("{key_from}: no PEM private key ({err})"))?;

    let versions = versions(t)?;
    let provider = Arc::new(provider(t)?);
    let verifier = client_verifier(t, ca, provider.clone())?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|err| format!("tls_server_config: {err}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|err| format!("{cert_from} and {key_from}: {err}"))?;
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

/// The TLS versions between `min_version` (default TLS12) and `max_version` (default TLS13).
/// TLS 1.0 and 1.1 are obsolete and not offered: a minimum below 1.2 means 1.2.
fn versions(t: &TlsFile) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    let rank = |key: &str, value: &Option<String>, default: u8| match value.as_deref() {
        None | Some("") => Ok(default),
        Some("TLS10") => Ok(10),
        Some("TLS11") => Ok(11),
        Some("TLS12") => Ok(12),
        Some("TLS13") => Ok(13),
        Some(other) => Err(format!(
            "tls_server_config.{key}: unknown TLS version {other:?} (TLS10, TLS11, TLS12, TLS13)"
        )),
    };
    let min = rank("min_version", &t.min_version, 12)?;
    let max = rank("max_version", &t.max_version, 13)?;
    if max < 12 {
        return Err(
            "tls_server_config.max_version: TLS 1.0 and 1.1 are not supported; use TLS12 or TLS13"
                .to_owned(),
        );
    }
    if min > max {
        return Err("tls_server_config: min_version is above max_version".to_owned());
    }
    let mut versions = Vec::new();
    if min <= 12 {
        versions.push(&rustls::version::TLS12);
    }
    if max >= 13 {
        versions.push(&rustls::version::TLS13);
    }
    Ok(versions)
}

/// TLS 1.2 cipher suites by their Go names. Go's names for TLS 1.3 suites are accepted and,
/// as in Go, do not restrict TLS 1.3; Go's CBC and RSA key-exchange suites are not offered.
const TLS12_SUITES: &[(&str, Option<SupportedCipherSuite>)] = &[
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        Some(ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        Some(ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384),
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        Some(ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        Some(ring::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        Some(ring::cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Some(ring::cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
    ),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", None),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", None),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", None),
    ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", None),
    ("TLS_RSA_WITH_AES_128_CBC_SHA", None),
    ("TLS_RSA_WITH_AES_256_CBC_SHA", None),
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", None),
    ("TLS_RSA_WITH_AES_256_GCM_SHA384", None),
];

/// Go's names of the TLS 1.3 suites.
const TLS13_NAMES: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// Key-exchange groups by their Go names; `CurveP521` is accepted and not offered.
const CURVES: &[(&str, Option<&'static dyn SupportedKxGroup>)] = &[
    ("X25519", Some(ring::kx_group::X25519)),
    ("CurveP256", Some(ring::kx_group::SECP256R1)),
    ("CurveP384", Some(ring::kx_group::SECP384R1)),
    ("CurveP521", None),
];

/// The entries of `table` that `names` (the file's list under `key`) pick: an unknown name
/// is an error, a known one that is not offered is skipped with a warning, and a list that
/// picks nothing offered is an error.
fn pick<T: Copy>(
    key: &str,
    kind: &str,
    names: &[String],
    table: &[(&str, Option<T>)],
    skipped: impl Fn(&str) -> bool,
) -> Result<Vec<T>, String> {
    let mut picked = Vec::new();
    for name in names.iter().filter(|name| !skipped(name)) {
        match table.iter().find(|(n, _)| n == name) {
            Some((_, Some(entry))) => picked.push(*entry),
            Some((_, None)) => {
                tracing::warn!(%name, "tls_server_config.{key}: not offered by cairn")
            }
            None => return Err(format!("tls_server_config.{key}: unknown {kind} {name:?}")),
        }
    }
    if picked.is_empty() {
        let offered: Vec<&str> = table
            .iter()
            .filter(|(_, entry)| entry.is_some())
            .map(|(name, _)| *name)
            .collect();
        return Err(format!(
            "tls_server_config.{key}: none of those listed is offered by cairn (it offers {})",
            offered.join(", ")
        ));
    }
    Ok(picked)
}

/// The crypto provider, restricted to the configured TLS 1.2 suites and curves.
fn provider(t: &TlsFile) -> Result<CryptoProvider, String> {
    let mut provider = ring::default_provider();
    if let Some(names) = t.cipher_suites.as_ref().filter(|n| !n.is_empty()) {
        let tls12 = pick("cipher_suites", "cipher", names, TLS12_SUITES, |name| {
            TLS13_NAMES.contains(&name)
        })?;
        provider
            .cipher_suites
            .retain(|suite| suite.tls13().is_some() || tls12.contains(suite));
    }
    if let Some(names) = t.curve_preferences.as_ref().filter(|n| !n.is_empty()) {
        provider.kx_groups = pick("curve_preferences", "curve", names, CURVES, |_| false)?;
    }
    Ok(provider)
}

/// How client certificates are asked for and checked, per `client_auth_type`.
fn client_verifier(
    t: &TlsFile,
    ca: Option<(Vec<u8>, String)>,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, String> {
    let kind = t.client_auth_type.as_deref().unwrap_or("");
    let roots = match &ca {
        Some((pem, from)) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|err| format!("{from}: not a PEM certificate ({err})"))?;
                roots
                    .add(cert)
                    .map_err(|err| format!("{from}: unusable CA certificate ({err})"))?;
            }
            if roots.is_empty() {
                return Err(format!("{from}: holds no PEM certificate"));
            }
            Some(Arc::new(roots))
        }
        None => None,
    };
    let verified = |optional: bool| -> Result<Arc<dyn ClientCertVerifier>, String> {
        let roots = roots.clone().ok_or_else(|| {
            format!("tls_server_config: client_auth_type {kind} needs client_ca_file or client_ca")
        })?;
        let builder = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
        let builder = if optional {
            builder.allow_unauthenticated()
        } else {
            builder
        };
        builder
            .build()
            .map_err(|err| format!("tls_server_config: {err}"))
    };
    let verifier: Arc<dyn ClientCertVerifier> = match kind {
        "" | "NoClientCert" => {
            if ca.is_some() {
                return Err(
                    "tls_server_config: a client CA is configured but client_auth_type does not \
                     ask for client certificates"
                        .to_owned(),
                );
            }
            return Ok(WebPkiClientVerifier::no_client_auth());
        }
        "RequestClientCert" => Arc::new(AnyCertificate {
            mandatory: false,
            provider: provider.clone(),
        }),
        "RequireAnyClientCert" | "RequireClientCert" => Arc::new(AnyCertificate {
            mandatory: true,
            provider: provider.clone(),
        }),
        "VerifyClientCertIfGiven" => verified(true)?,
        "RequireAndVerifyClientCert" => verified(false)?,
        other => {
            return Err(format!(
                "tls_server_config.client_auth_type: unknown {other:?} (NoClientCert, \
                 RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, \
                 RequireAndVerifyClientCert)"
            ));
        }
    };
    Ok(match &t.client_allowed_sans {
        Some(sans) => Arc::new(AllowedSans {
            inner: verifier,
            sans: sans.clone(),
        }),
        None => verifier,
    })
}

/// Asks for a client certificate and takes any (Go's `RequestClientCert` and
/// `RequireAnyClientCert`); the handshake signature is still checked, so the client holds
/// the certificate's key.
#[derive(Debug)]
struct AnyCertificate {
    mandatory: bool,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AnyCertificate {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Another verifier, then: the client certificate must carry one of the allowed subject
/// alternative names (DNS name, email address, IP address or URI, compared exactly).
#[derive(Debug)]
struct AllowedSans {
    inner: Arc<dyn ClientCertVerifier>,
    sans: Vec<String>,
}

impl ClientCertVerifier for AllowedSans {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let names = subject_alt_names(end_entity).map_err(|err| {
            rustls::Error::General(format!("cannot read the client certificate: {err}"))
        })?;
        if names.iter().any(|name| self.sans.contains(name)) {
            Ok(verified)
        } else {
            Err(rustls::Error::General(format!(
                "the client certificate has none of the allowed SANs (it has {names:?})"
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A certificate's subject alternative names as text: DNS names, email addresses, IP
/// addresses and URIs.
fn subject_alt_names(cert: &CertificateDer<'_>) -> Result<Vec<String>, String> {
    use x509_parser::extensions::GeneralName;
    let (_, parsed) =
        x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|err| err.to_string())?;
    let Some(extension) = parsed
        .subject_alternative_name()
        .map_err(|err| err.to_string())?
    else {
        return Ok(Vec::new());
    };
    Ok(extension
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(n) | GeneralName::RFC822Name(n) | GeneralName::URI(n) => {
                Some((*n).to_owned())
            }
            GeneralName::IPAddress(bytes) => ip_text(bytes),
            _ => None,
        })
        .collect())
}

/// An IP address SAN (4 or 16 bytes) as text; IPv4-mapped IPv6 addresses as IPv4, as Go
/// prints them.
fn ip_text(bytes: &[u8]) -> Option<String> {
    let ip = match bytes.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?),
        16 => {
            let v6 = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?);
            v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
        }
        _ => return None,
    };
    Some(ip.to_string())
}
