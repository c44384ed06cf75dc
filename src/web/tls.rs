//! `tls_server_config` to a rustls server config: certificate chain, key, protocol
//! versions, cipher suites, key-exchange groups and client-certificate verification.
//!
//! The crypto provider is ring, the one reqwest's rustls already uses for the Genesys
//! API, passed explicitly so the process has exactly one provider and no process-wide
//! default to race over. Go's names for cipher suites and curves are mapped to the ones
//! ring implements; the others are refused by name.
//!
//! Every file is read once per build into [`TlsMaterial`], which is also what
//! certificate rotation compares against: a rebuild happens exactly when a file's
//! contents differ from those the config in force was built from.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::version::{TLS12, TLS13};
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
    SupportedProtocolVersion,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use std::fmt;

use serde::Deserialize;

use super::WebConfigError;

/// `tls_server_config` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Inline PEM, instead of `cert_file`.
    pub cert: Option<String>,
    /// Inline PEM, instead of `key_file`; never shown by `Debug`.
    pub key: Option<InlineKey>,
    /// Inline PEM, instead of `client_ca_file`.
    pub client_ca: Option<String>,
    pub client_auth_type: Option<String>,
    pub client_ca_file: Option<PathBuf>,
    pub client_allowed_sans: Option<Vec<String>>,
    pub min_version: Option<String>,
    pub max_version: Option<String>,
    pub cipher_suites: Option<Vec<String>>,
    pub curve_preferences: Option<Vec<String>>,
    /// Accepted and ignored, as Go has done since 1.17 (it has no effect there either).
    #[serde(rename = "prefer_server_cipher_suites")]
    _prefer_server_cipher_suites: Option<bool>,
}

/// A private key written into the web config.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub(super) struct InlineKey(pub String);

impl fmt::Debug for InlineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A built server config and a line describing it for the start-up log.
pub(super) struct BuiltTls {
    pub config: ServerConfig,
    pub summary: String,
    /// The files it was built from, with the contents read.
    pub material: TlsMaterial,
}

/// The certificate, key and client-CA files a TLS config was built from, with their
/// contents at the time (`None`: unreadable). Inline PEM in the web config has no file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct TlsMaterial {
    files: Vec<(PathBuf, Option<Vec<u8>>)>,
}

impl TlsMaterial {
    /// The files again, as they are on disk now.
    pub fn reread(&self) -> TlsMaterial {
        TlsMaterial {
            files: self
                .files
                .iter()
                .map(|(path, _)| (path.clone(), std::fs::read(path).ok()))
                .collect(),
        }
    }

    fn read(&mut self, path: PathBuf) -> Result<Vec<u8>, String> {
        let read = std::fs::read(&path);
        self.files.push((path.clone(), read.as_ref().ok().cloned()));
        read.map_err(|e| format!("cannot read {}: {e}", path.display()))
    }
}

/// Builds the server config; errors name `tls_server_config.<field>`. `http2` decides
/// whether ALPN offers `h2`.
pub(super) fn server_config(
    raw: &RawTls,
    origin: &str,
    base: &Path,
    http2: bool,
) -> Result<BuiltTls, WebConfigError> {
    let check = Check { origin, base };
    let mut material = TlsMaterial::default();
    let (min, max) = check.versions(raw)?;
    let provider = Arc::new(check.provider(raw)?);
    let supported: Vec<&'static SupportedProtocolVersion> =
        [(Version::Tls12, &TLS12), (Version::Tls13, &TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, supported)| supported)
            .collect();
    let client_auth = check.client_auth(raw)?;
    let verifier = check.client_verifier(client_auth, raw, &provider, &mut material)?;
    let (chain, key) = check.chain_and_key(raw, &mut material)?;

    let builder = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&supported)
        .map_err(|e| check.error("min_version", format!("no usable protocol version: {e}")))?;
    let builder = match verifier {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let key_field = if raw.key.is_some() { "key" } else { "key_file" };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        check.error(
            key_field,
            format!("does not fit the server certificate: {e}"),
        )
    })?;
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    let versions = if min == max {
        min.name().to_string()
    } else {
        format!("{}-{}", min.name(), max.name())
    };
    let sans = match &raw.client_allowed_sans {
        Some(sans) => format!(", client SANs allowed: {}", sans.join(" ")),
        None => String::new(),
    };
    Ok(BuiltTls {
        config,
        summary: format!("TLS {versions}, client certificates: {client_auth:?}{sans}"),
        material,
    })
}

/// How the server treats client certificates (exporter-toolkit's `client_auth_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientAuth {
    NoClientCert,
    /// Asks for a certificate, verifies none, requires none (Go's `RequestClientCert`).
    RequestClientCert,
    /// Requires a certificate but does not verify it (Go's `RequireAnyClientCert`).
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Version {
    Tls12,
    Tls13,
}

impl Version {
    fn name(self) -> &'static str {
        match self {
            Version::Tls12 => "1.2",
            Version::Tls13 => "1.3",
        }
    }
}

/// The file being checked: for error messages and relative paths.
struct Check<'a> {
    origin: &'a str,
    base: &'a Path,
}

impl Check<'_> {
    fn error(&self, field: &str, message: impl Into<String>) -> WebConfigError {
        WebConfigError::field(self.origin, &format!("tls_server_config.{field}"), message)
    }

    /// ring's provider, narrowed to `cipher_suites` and ordered by `curve_preferences`
    /// when given. Go applies `cipher_suites` to TLS 1.2 and below only, and so does this:
    /// TLS 1.3 names are accepted and every TLS 1.3 suite stays on.
    fn provider(&self, raw: &RawTls) -> Result<CryptoProvider, WebConfigError> {
        let mut provider = rustls::crypto::ring::default_provider();
        if let Some(names) = &raw.cipher_suites {
            let mut tls12 = Vec::new();
            for name in names {
                let wanted = go_cipher_suite_alias(name);
                let found = provider
                    .cipher_suites
                    .iter()
                    .find(|suite| format!("{:?}", suite.suite()) == wanted);
                match found {
                    Some(suite) if suite.tls13().is_none() => tls12.push(*suite),
                    Some(_) => {}
                    None if GO_CIPHER_SUITES.contains(&name.as_str()) => {
                        return Err(self.error(
                            "cipher_suites",
                            format!(
                                "{name} is not offered by rustls, which implements only ECDHE key exchange \
                                 with AES-GCM or ChaCha20-Poly1305; remove it"
                            ),
                        ));
                    }
                    None => {
                        return Err(self.error(
                            "cipher_suites",
                            format!("unknown cipher suite {name:?}; use Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
                        ));
                    }
                }
            }
            provider
                .cipher_suites
                .retain(|suite| suite.tls13().is_some());
            provider.cipher_suites.extend(tls12);
        }
        if let Some(names) = &raw.curve_preferences {
            use rustls::crypto::ring::kx_group;
            let mut groups = Vec::new();
            for name in names {
                let group = match name.as_str() {
                    "X25519" => kx_group::X25519,
                    "CurveP256" => kx_group::SECP256R1,
                    "CurveP384" => kx_group::SECP384R1,
                    "CurveP521" | "X25519MLKEM768" => {
                        return Err(self.error(
                            "curve_preferences",
                            format!(
                                "{name} is not offered by the crypto provider (ring has X25519, CurveP256 \
                                 and CurveP384); remove it"
                            ),
                        ));
                    }
                    other => {
                        return Err(self.error(
                            "curve_preferences",
                            format!(
                                "unknown curve {other:?}; expected X25519, CurveP256 or CurveP384"
                            ),
                        ));
                    }
                };
                if !groups
                    .iter()
                    .any(|g: &&'static dyn rustls::crypto::SupportedKxGroup| {
                        g.name() == group.name()
                    })
                {
                    groups.push(group);
                }
            }
            if groups.is_empty() {
                return Err(self.error(
                    "curve_preferences",
                    "is empty; list curves or remove the key",
                ));
            }
            provider.kx_groups = groups;
        }
        Ok(provider)
    }

    /// `min_version` (default TLS 1.2) and `max_version` (default TLS 1.3).
    fn versions(&self, raw: &RawTls) -> Result<(Version, Version), WebConfigError> {
        let parse = |value: Option<&str>, field: &str, default: Version| {
            match value {
            None => Ok(default),
            Some("TLS12") => Ok(Version::Tls12),
            Some("TLS13") => Ok(Version::Tls13),
            Some(old @ ("TLS10" | "TLS11")) => Err(self.error(
                field,
                format!("{old} is not supported (rustls implements TLS 1.2 and 1.3 only); use TLS12 or TLS13"),
            )),
            Some(other) => Err(self.error(field, format!("unknown value {other:?}; expected TLS12 or TLS13"))),
        }
        };
        let min = parse(raw.min_version.as_deref(), "min_version", Version::Tls12)?;
        let max = parse(raw.max_version.as_deref(), "max_version", Version::Tls13)?;
        if min > max {
            return Err(self.error("max_version", "is below min_version"));
        }
        Ok((min, max))
    }

    fn client_auth(&self, raw: &RawTls) -> Result<ClientAuth, WebConfigError> {
        let has_ca = raw.client_ca_file.is_some() || raw.client_ca.is_some();
        let mode = match raw.client_auth_type.as_deref() {
            // As in exporter-toolkit: a CA alone means client certificates are required.
            None if has_ca => ClientAuth::RequireAndVerifyClientCert,
            None | Some("NoClientCert") => ClientAuth::NoClientCert,
            Some("RequestClientCert") => ClientAuth::RequestClientCert,
            Some("RequireAnyClientCert") => ClientAuth::RequireAnyClientCert,
            Some("VerifyClientCertIfGiven") => ClientAuth::VerifyClientCertIfGiven,
            Some("RequireAndVerifyClientCert") => ClientAuth::RequireAndVerifyClientCert,
            Some(other) => {
                return Err(self.error(
                    "client_auth_type",
                    format!(
                        "unknown value {other:?}; expected NoClientCert, RequestClientCert, \
                         RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
                    ),
                ));
            }
        };
        if raw.client_allowed_sans.is_some()
            && !matches!(
                mode,
                ClientAuth::RequireAnyClientCert | ClientAuth::RequireAndVerifyClientCert
            )
        {
            return Err(self.error(
                "client_allowed_sans",
                format!(
                    "needs client_auth_type RequireAndVerifyClientCert (or RequireAnyClientCert): with \
                     {mode:?} a client may send no certificate, leaving no SAN to match"
                ),
            ));
        }
        Ok(mode)
    }

    /// The verifier of client certificates for `mode`, if any are asked for, narrowed to
    /// `client_allowed_sans` when given.
    fn client_verifier(
        &self,
        mode: ClientAuth,
        raw: &RawTls,
        provider: &Arc<CryptoProvider>,
        material: &mut TlsMaterial,
    ) -> Result<Option<Arc<dyn ClientCertVerifier>>, WebConfigError> {
        let ca_field = if raw.client_ca.is_some() {
            "client_ca"
        } else {
            "client_ca_file"
        };
        let ca_pem = self.pem(
            (raw.client_ca.as_deref(), "client_ca"),
            (raw.client_ca_file.as_deref(), "client_ca_file"),
            material,
        )?;
        let verifier: Arc<dyn ClientCertVerifier> = match (mode, ca_pem) {
            (ClientAuth::NoClientCert, None) => return Ok(None),
            (ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert, None) => {
                Arc::new(AnyClientCert {
                    mandatory: mode == ClientAuth::RequireAnyClientCert,
                    algorithms: provider.signature_verification_algorithms,
                })
            }
            (
                ClientAuth::NoClientCert
                | ClientAuth::RequestClientCert
                | ClientAuth::RequireAnyClientCert,
                Some(_),
            ) => {
                return Err(self.error(
                    ca_field,
                    format!(
                        "is only used with client_auth_type VerifyClientCertIfGiven or \
                         RequireAndVerifyClientCert, not {mode:?}; set one or remove {ca_field}"
                    ),
                ));
            }
            (_, None) => {
                return Err(self.error(
                    "client_ca_file",
                    "is required to verify client certificates; name the PEM file of the CA that \
                     signs them (or give it inline as client_ca)",
                ));
            }
            (_, Some(pem)) => {
                let mut roots = RootCertStore::empty();
                for cert in certificates(&pem).map_err(|m| self.error(ca_field, m))? {
                    roots.add(cert).map_err(|e| {
                        self.error(ca_field, format!("not a usable CA certificate: {e}"))
                    })?;
                }
                let builder = WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    Arc::clone(provider),
                );
                let builder = if mode == ClientAuth::VerifyClientCertIfGiven {
                    builder.allow_unauthenticated()
                } else {
                    builder
                };
                builder
                    .build()
                    .map_err(|e| self.error(ca_field, e.to_string()))?
            }
        };
        match &raw.client_allowed_sans {
            None => Ok(Some(verifier)),
            Some(sans) => {
                let mut allowed = Vec::new();
                for san in sans {
                    let name = ServerName::try_from(san.clone()).map_err(|_| {
                        self.error(
                            "client_allowed_sans",
                            format!(
                                "{san:?} is not a DNS name or IP address; only those SANs are matched \
                                 here (e-mail and URI SANs are not)"
                            ),
                        )
                    })?;
                    allowed.push(name);
                }
                Ok(Some(Arc::new(AllowedSans {
                    inner: verifier,
                    allowed,
                })))
            }
        }
    }

    /// The server's certificate chain and private key, from files or inline PEM.
    fn chain_and_key(
        &self,
        raw: &RawTls,
        material: &mut TlsMaterial,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), WebConfigError> {
        let cert = self
            .pem(
                (raw.cert.as_deref(), "cert"),
                (raw.cert_file.as_deref(), "cert_file"),
                material,
            )?
            .ok_or_else(|| {
                self.error(
                    "cert_file",
                    "is required: the PEM file of the server certificate and its chain (or inline PEM in cert)",
                )
            })?;
        let key = self
            .pem(
                (raw.key.as_ref().map(|k| k.0.as_str()), "key"),
                (raw.key_file.as_deref(), "key_file"),
                material,
            )?
            .ok_or_else(|| {
                self.error(
                    "key_file",
                    "is required: the PEM file of the server's private key (or inline PEM in key)",
                )
            })?;
        let cert_field = if raw.cert.is_some() {
            "cert"
        } else {
            "cert_file"
        };
        let key_field = if raw.key.is_some() { "key" } else { "key_file" };
        let chain = certificates(&cert).map_err(|m| self.error(cert_field, m))?;
        let key = PrivateKeyDer::from_pem_slice(&key)
            .map_err(|e| self.error(key_field, format!("no usable PEM private key ({e})")))?;
        Ok((chain, key))
    }

    /// PEM given inline or in a file (not both); a file is read into `material`.
    fn pem(
        &self,
        (inline, inline_field): (Option<&str>, &str),
        (file, file_field): (Option<&Path>, &str),
        material: &mut TlsMaterial,
    ) -> Result<Option<Vec<u8>>, WebConfigError> {
        match (inline, file) {
            (Some(_), Some(_)) => Err(self.error(
                inline_field,
                format!("set {inline_field} or {file_field}, not both"),
            )),
            (Some(text), None) if text.trim().is_empty() => {
                Err(self.error(inline_field, "is empty; give PEM text or remove the key"))
            }
            (Some(text), None) => Ok(Some(text.as_bytes().to_vec())),
            (None, Some(path)) if path.as_os_str().is_empty() => {
                Err(self.error(file_field, "is empty; name a PEM file or remove the key"))
            }
            (None, Some(path)) => material
                .read(self.resolve(path))
                .map(Some)
                .map_err(|m| self.error(file_field, m)),
            (None, None) => Ok(None),
        }
    }

    /// Relative paths are relative to the web config file, as in exporter-toolkit.
    fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base.join(path)
        }
    }
}

/// Every certificate in PEM text; at least one.
fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err("no PEM CERTIFICATE in it".to_string());
    }
    Ok(certs)
}

/// Go's alias names for the ChaCha20 suites, to the IANA names rustls uses; TLS 1.3
/// suites are `TLS_...` in Go and `TLS13_...` in rustls.
fn go_cipher_suite_alias(name: &str) -> String {
    match name {
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" => {
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256".to_string()
        }
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305" => {
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256".to_string()
        }
        "TLS_AES_128_GCM_SHA256" | "TLS_AES_256_GCM_SHA384" | "TLS_CHACHA20_POLY1305_SHA256" => {
            name.replacen("TLS_", "TLS13_", 1)
        }
        other => other.to_string(),
    }
}

/// Cipher suites Go knows (crypto/tls `CipherSuites` and `InsecureCipherSuites`) that ring
/// does not implement: refused as "not offered" rather than "unknown".
const GO_CIPHER_SUITES: &[&str] = &[
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
];

/// `RequestClientCert` / `RequireAnyClientCert`: a client certificate is asked for
/// (and, when `mandatory`, required) and its handshake signature checked, but it is not
/// verified against any CA, exactly as in Go. Only useful with `client_allowed_sans` or
/// when something else authenticates; the docs say so.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
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
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `client_allowed_sans`: after `inner` accepted the certificate, one of its DNS or IP
/// subject alternative names must match an allowed entry (webpki's name matching, so a
/// `*.example.com` certificate matches `a.example.com`).
#[derive(Debug)]
struct AllowedSans {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<ServerName<'static>>,
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
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|e| rustls::Error::General(format!("unreadable client certificate: {e}")))?;
        if self
            .allowed
            .iter()
            .any(|name| cert.verify_is_valid_for_subject_name(name).is_ok())
        {
            Ok(verified)
        } else {
            tracing::debug!("client certificate has none of the allowed SANs");
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName,
            ))
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
