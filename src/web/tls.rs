//! `tls_server_config` to a rustls server config: certificate chain, key, protocol
//! versions and client-certificate verification.
//!
//! The crypto provider is ring, the one reqwest's rustls already uses for the Genesys
//! API, passed explicitly so the process has exactly one provider and no process-wide
//! default to race over.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::version::{TLS12, TLS13};
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::config::{RawTls, WebConfigError};

/// A built server config and a line describing it for the start-up log.
pub(super) struct BuiltTls {
    pub config: ServerConfig,
    pub summary: String,
}

/// How the server treats client certificates (exporter-toolkit's `client_auth_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientAuth {
    NoClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

const FIELD: &str = "tls_server_config";

pub(super) fn server_config(
    raw: &RawTls,
    origin: &str,
    base: &Path,
) -> Result<BuiltTls, WebConfigError> {
    let err = |field: &str, message: String| {
        WebConfigError::field(origin, &format!("{FIELD}.{field}"), message)
    };
    for (field, value, instead) in [
        ("cert", &raw.cert, "use cert_file"),
        ("key", &raw.key, "use key_file"),
        (
            "cipher_suites",
            &raw.cipher_suites,
            "rustls offers only modern suites and picks among them itself",
        ),
        (
            "curve_preferences",
            &raw.curve_preferences,
            "rustls picks the key exchange itself",
        ),
        (
            "prefer_server_cipher_suites",
            &raw.prefer_server_cipher_suites,
            "rustls always prefers the server's order",
        ),
        (
            "client_allowed_sans",
            &raw.client_allowed_sans,
            "restrict clients through the CA in client_ca_file",
        ),
    ] {
        if value.is_some() {
            return Err(err(
                field,
                format!("not supported by this exporter ({instead}); remove it"),
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());

    let min = version(raw.min_version.as_deref(), "min_version", &err)?.unwrap_or(Version::Tls12);
    let max = version(raw.max_version.as_deref(), "max_version", &err)?.unwrap_or(Version::Tls13);
    if min > max {
        return Err(err("max_version", "is below min_version".into()));
    }
    let versions: Vec<&'static SupportedProtocolVersion> =
        [(Version::Tls12, &TLS12), (Version::Tls13, &TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, supported)| supported)
            .collect();

    let client_auth = match raw.client_auth_type.as_deref() {
        // As in exporter-toolkit: a CA file alone means client certificates are required.
        None if raw.client_ca_file.is_some() => ClientAuth::RequireAndVerifyClientCert,
        None | Some("NoClientCert") => ClientAuth::NoClientCert,
        Some("VerifyClientCertIfGiven") => ClientAuth::VerifyClientCertIfGiven,
        Some("RequireAndVerifyClientCert") => ClientAuth::RequireAndVerifyClientCert,
        Some(mode @ ("RequestClientCert" | "RequireAnyClientCert")) => {
            return Err(err(
                "client_auth_type",
                format!(
                    "{mode} (accepting client certificates without verifying them) is not supported; \
                     use VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file"
                ),
            ));
        }
        Some(other) => {
            return Err(err(
                "client_auth_type",
                format!(
                    "unknown value {other:?}; expected NoClientCert, VerifyClientCertIfGiven or \
                     RequireAndVerifyClientCert"
                ),
            ));
        }
    };

    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| err("min_version", format!("no usable protocol version: {e}")))?;
    let builder = match (client_auth, &raw.client_ca_file) {
        (ClientAuth::NoClientCert, None) => builder.with_no_client_auth(),
        (ClientAuth::NoClientCert, Some(_)) => {
            return Err(err(
                "client_ca_file",
                "is only used with client_auth_type VerifyClientCertIfGiven or \
                 RequireAndVerifyClientCert; set one or remove client_ca_file"
                    .into(),
            ));
        }
        (_, None) => {
            return Err(err(
                "client_ca_file",
                "is required to verify client certificates; name the PEM file of the CA that signs them".into(),
            ));
        }
        (mode, Some(ca_file)) => {
            let ca_path = resolve(base, ca_file);
            let mut roots = RootCertStore::empty();
            for cert in certificates(&ca_path).map_err(|m| err("client_ca_file", m))? {
                roots.add(cert).map_err(|e| {
                    err(
                        "client_ca_file",
                        format!("{}: not a usable CA certificate: {e}", ca_path.display()),
                    )
                })?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
            let verifier = if mode == ClientAuth::VerifyClientCertIfGiven {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| err("client_ca_file", format!("{}: {e}", ca_path.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
    };

    let cert_path = resolve(
        base,
        raw.cert_file.as_ref().ok_or_else(|| {
            err(
                "cert_file",
                "is required: the PEM file of the server certificate (and its chain)".into(),
            )
        })?,
    );
    let key_path = resolve(
        base,
        raw.key_file.as_ref().ok_or_else(|| {
            err(
                "key_file",
                "is required: the PEM file of the server's private key".into(),
            )
        })?,
    );
    let chain = certificates(&cert_path).map_err(|m| err("cert_file", m))?;
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| {
        err(
            "key_file",
            format!("{}: no usable PEM private key ({e})", key_path.display()),
        )
    })?;
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        err(
            "key_file",
            format!(
                "{} does not fit {}: {e}",
                key_path.display(),
                cert_path.display()
            ),
        )
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let summary = format!(
        "TLS {}{}, client certificates: {client_auth:?}",
        min.name(),
        if min == max {
            String::new()
        } else {
            format!("-{}", max.name())
        },
    );
    Ok(BuiltTls { config, summary })
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

fn version(
    value: Option<&str>,
    field: &str,
    err: &impl Fn(&str, String) -> WebConfigError,
) -> Result<Option<Version>, WebConfigError> {
    match value {
        None => Ok(None),
        Some("TLS12") => Ok(Some(Version::Tls12)),
        Some("TLS13") => Ok(Some(Version::Tls13)),
        Some(old @ ("TLS10" | "TLS11")) => Err(err(
            field,
            format!(
                "{old} is not supported (rustls implements TLS 1.2 and 1.3 only); use TLS12 or TLS13"
            ),
        )),
        Some(other) => Err(err(
            field,
            format!("unknown value {other:?}; expected TLS12 or TLS13"),
        )),
    }
}

fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
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
