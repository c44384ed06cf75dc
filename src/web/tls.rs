//! `tls_server_config` to a rustls server config: certificate chain, key, protocol
//! versions and client-certificate verification.
//!
//! The crypto provider is ring, the one reqwest's rustls already uses for the Genesys
//! API, passed explicitly so the process has exactly one provider and no process-wide
//! default to race over.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::version::{TLS12, TLS13};
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use serde::Deserialize;

use super::WebConfigError;

/// `tls_server_config` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub client_auth_type: Option<String>,
    pub client_ca_file: Option<PathBuf>,
    pub min_version: Option<String>,
    pub max_version: Option<String>,
    // exporter-toolkit keys that rustls cannot honour: refused by name.
    pub cert: Option<serde_yaml_ng::Value>,
    pub key: Option<serde_yaml_ng::Value>,
    pub cipher_suites: Option<serde_yaml_ng::Value>,
    pub curve_preferences: Option<serde_yaml_ng::Value>,
    /// Accepted and ignored, as Go has done since 1.17 (it has no effect there either).
    #[serde(rename = "prefer_server_cipher_suites")]
    _prefer_server_cipher_suites: Option<bool>,
    pub client_allowed_sans: Option<serde_yaml_ng::Value>,
}

/// A built server config and a line describing it for the start-up log.
pub(super) struct BuiltTls {
    pub config: ServerConfig,
    pub summary: String,
}

/// Builds the server config; errors name `tls_server_config.<field>`.
pub(super) fn server_config(
    raw: &RawTls,
    origin: &str,
    base: &Path,
) -> Result<BuiltTls, WebConfigError> {
    let check = Check { origin, base };
    check.refuse_unsupported(raw)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (min, max) = check.versions(raw)?;
    let supported: Vec<&'static SupportedProtocolVersion> =
        [(Version::Tls12, &TLS12), (Version::Tls13, &TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, supported)| supported)
            .collect();
    let client_auth = check.client_auth(raw)?;
    let verifier = check.client_verifier(client_auth, raw.client_ca_file.as_deref(), &provider)?;
    let (chain, key) = check.chain_and_key(raw)?;

    let builder = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&supported)
        .map_err(|e| check.error("min_version", format!("no usable protocol version: {e}")))?;
    let builder = match verifier {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        check.error(
            "key_file",
            format!("does not fit the certificate in cert_file: {e}"),
        )
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let versions = if min == max {
        min.name().to_string()
    } else {
        format!("{}-{}", min.name(), max.name())
    };
    Ok(BuiltTls {
        config,
        summary: format!("TLS {versions}, client certificates: {client_auth:?}"),
    })
}

/// How the server treats client certificates (exporter-toolkit's `client_auth_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientAuth {
    NoClientCert,
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

    /// exporter-toolkit keys that rustls cannot honour: refused, so nobody believes they
    /// are in force. (`prefer_server_cipher_suites` is accepted and ignored, as Go does.)
    fn refuse_unsupported(&self, raw: &RawTls) -> Result<(), WebConfigError> {
        let unsupported = [
            ("cert", raw.cert.is_some(), "use cert_file"),
            ("key", raw.key.is_some(), "use key_file"),
            (
                "cipher_suites",
                raw.cipher_suites.is_some(),
                "rustls offers only modern suites",
            ),
            (
                "curve_preferences",
                raw.curve_preferences.is_some(),
                "rustls picks the key exchange",
            ),
            (
                "client_allowed_sans",
                raw.client_allowed_sans.is_some(),
                "restrict clients through the CA in client_ca_file",
            ),
        ];
        match unsupported.into_iter().find(|(_, set, _)| *set) {
            Some((field, _, instead)) => Err(self.error(
                field,
                format!("not supported by this exporter ({instead}); remove it"),
            )),
            None => Ok(()),
        }
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
        match raw.client_auth_type.as_deref() {
            // As in exporter-toolkit: a CA file alone means client certificates are required.
            None if raw.client_ca_file.is_some() => Ok(ClientAuth::RequireAndVerifyClientCert),
            None | Some("NoClientCert") => Ok(ClientAuth::NoClientCert),
            Some("VerifyClientCertIfGiven") => Ok(ClientAuth::VerifyClientCertIfGiven),
            Some("RequireAndVerifyClientCert") => Ok(ClientAuth::RequireAndVerifyClientCert),
            Some(mode @ ("RequestClientCert" | "RequireAnyClientCert")) => Err(self.error(
                "client_auth_type",
                format!(
                    "{mode} (accepting client certificates without verifying them) is not supported; \
                     use VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file"
                ),
            )),
            Some(other) => Err(self.error(
                "client_auth_type",
                format!(
                    "unknown value {other:?}; expected NoClientCert, VerifyClientCertIfGiven or \
                     RequireAndVerifyClientCert"
                ),
            )),
        }
    }

    /// The verifier of client certificates against `client_ca_file`, if any are wanted.
    fn client_verifier(
        &self,
        mode: ClientAuth,
        ca_file: Option<&Path>,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Option<Arc<dyn ClientCertVerifier>>, WebConfigError> {
        let ca_file = match (mode, ca_file) {
            (ClientAuth::NoClientCert, None) => return Ok(None),
            (ClientAuth::NoClientCert, Some(_)) => {
                return Err(self.error(
                    "client_ca_file",
                    "is only used with client_auth_type VerifyClientCertIfGiven or \
                     RequireAndVerifyClientCert; set one or remove client_ca_file",
                ));
            }
            (_, None) => {
                return Err(self.error(
                    "client_ca_file",
                    "is required to verify client certificates; name the PEM file of the CA that signs them",
                ));
            }
            (_, Some(ca_file)) => self.resolve(ca_file),
        };
        let mut roots = RootCertStore::empty();
        for cert in certificates(&ca_file).map_err(|m| self.error("client_ca_file", m))? {
            roots.add(cert).map_err(|e| {
                self.error(
                    "client_ca_file",
                    format!("{}: not a usable CA certificate: {e}", ca_file.display()),
                )
            })?;
        }
        let builder =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider));
        let builder = if mode == ClientAuth::VerifyClientCertIfGiven {
            builder.allow_unauthenticated()
        } else {
            builder
        };
        builder
            .build()
            .map(Some)
            .map_err(|e| self.error("client_ca_file", format!("{}: {e}", ca_file.display())))
    }

    /// The server's certificate chain (`cert_file`) and private key (`key_file`).
    fn chain_and_key(
        &self,
        raw: &RawTls,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), WebConfigError> {
        let cert_file = raw.cert_file.as_deref().ok_or_else(|| {
            self.error(
                "cert_file",
                "is required: the PEM file of the server certificate (and its chain)",
            )
        })?;
        let key_file = raw.key_file.as_deref().ok_or_else(|| {
            self.error(
                "key_file",
                "is required: the PEM file of the server's private key",
            )
        })?;
        let chain =
            certificates(&self.resolve(cert_file)).map_err(|m| self.error("cert_file", m))?;
        let key_file = self.resolve(key_file);
        let key = PrivateKeyDer::from_pem_file(&key_file).map_err(|e| {
            self.error(
                "key_file",
                format!("{}: no usable PEM private key ({e})", key_file.display()),
            )
        })?;
        Ok((chain, key))
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

/// Every certificate in a PEM file; at least one.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let describe = |e: rustls_pki_types::pem::Error| format!("{}: {e}", path.display());
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(describe)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(describe)?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM CERTIFICATE in it", path.display()));
    }
    Ok(certs)
}
