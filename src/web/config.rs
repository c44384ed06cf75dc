//! `--web.config.file`: TLS, basic authentication and response headers in the
//! Prometheus exporter-toolkit format, so that a file written for node_exporter or any
//! other Go exporter works here.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: /etc/exporter/tls.crt     # or `cert:` with the PEM inline
//!   key_file: /etc/exporter/tls.key      # or `key:`
//!   min_version: TLS12                   # or TLS13; TLS10/TLS11 are refused (rustls has neither)
//!   client_auth_type: RequireAndVerifyClientCert
//!   client_ca_file: /etc/exporter/clients-ca.crt   # or `client_ca:`
//!   client_allowed_sans: [prometheus.monitoring.svc]
//!   cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]
//!   curve_preferences: [X25519, CurveP256]
//! http_server_config:
//!   http2: true
//!   headers: {X-Content-Type-Options: nosniff}
//! basic_auth_users:
//!   prometheus: $2y$10$...               # bcrypt hash (htpasswd -nBC 10 prometheus)
//! ```
//!
//! The file is read and checked in full before it is used: certificates and keys are
//! loaded, the hashes parsed, and anything wrong stops start-up with exit status 2 (or
//! refuses a reload) with a message naming the file and the field. It is re-read on
//! reload (SIGHUP, `POST /-/reload`), not per request as exporter-toolkit does, so a
//! half-written file never takes effect; the certificate files themselves are watched
//! ([`super::live`]) so that a renewed certificate is served without a reload.
//!
//! Values rustls cannot honour (`TLS11`, CBC cipher suites, `CurveP521`, ...) and
//! `rate_limit` are refused by name rather than ignored, so nobody believes they are in
//! force.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use hyper::header::{HeaderName, HeaderValue};

use super::WebConfigError;
use super::basic_auth::BasicAuth;
use super::tls::{self, RawTls, TlsMaterial};

/// Largest web config file read; a real one is a few hundred bytes.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The checked web config: what the server enforces.
#[derive(Clone)]
pub struct WebConfig {
    /// Present when `tls_server_config` is: every connection must speak TLS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Present when `basic_auth_users` is: every path but the probes
    /// (`/-/healthy`, `/-/ready`) and `basic_auth_excluded_paths` needs a user.
    pub basic_auth: Option<Arc<BasicAuth>>,
    /// Paths served without basic auth besides the probes (`basic_auth_excluded_paths`).
    pub auth_excluded_paths: Vec<String>,
    /// One line for the log: TLS versions and client-certificate mode.
    pub tls_summary: Option<String>,
    /// `http_server_config.http2` (default true): HTTP/2 is offered.
    pub http2: bool,
    /// `http_server_config.headers`: added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// What `tls` was built from, to build it again when the certificate files change.
    tls_source: Option<TlsSource>,
}

/// The TLS part as written, where it was read, and the file contents it was built from.
#[derive(Clone, Debug)]
struct TlsSource {
    raw: RawTls,
    origin: String,
    base: PathBuf,
    material: TlsMaterial,
}

impl fmt::Debug for WebConfig {
    /// Shows the policy only: no key material, no hashes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls_summary)
            .field("basic_auth", &self.basic_auth)
            .field("http2", &self.http2)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// The file as written; `deny_unknown_fields` turns a typo into an error naming the key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebConfig {
    tls_server_config: Option<RawTls>,
    http_server_config: Option<RawHttp>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    basic_auth_excluded_paths: Option<Vec<String>>,
    /// exporter-toolkit key this exporter does not implement: refused by name.
    rate_limit: Option<serde_yaml_ng::Value>,
}

/// `http_server_config` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    http2: Option<bool>,
    headers: Option<RawHeaders>,
}

/// The response headers exporter-toolkit allows, and no others.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeaders {
    #[serde(rename = "Content-Security-Policy")]
    content_security_policy: Option<String>,
    #[serde(rename = "X-Frame-Options")]
    x_frame_options: Option<String>,
    #[serde(rename = "X-Content-Type-Options")]
    x_content_type_options: Option<String>,
    #[serde(rename = "X-XSS-Protection")]
    x_xss_protection: Option<String>,
    #[serde(rename = "Strict-Transport-Security")]
    strict_transport_security: Option<String>,
}

impl WebConfig {
    /// Reads and checks the file at `path`, loading certificates and keys.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let origin = path.display().to_string();
        let whole = |message: String| WebConfigError {
            origin: origin.clone(),
            location: None,
            field: None,
            message,
        };
        let file = std::fs::File::open(path).map_err(|err| whole(format!("cannot read: {err}")))?;
        let mut text = String::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|err| whole(format!("cannot read: {err}")))?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(whole(format!(
                "larger than {MAX_FILE_BYTES} bytes; is this the right file?"
            )));
        }
        // Relative certificate paths are relative to the config file, as in exporter-toolkit.
        let base = path.parent().unwrap_or(Path::new("."));
        WebConfig::from_yaml(&text, &origin, base)
    }

    /// Parses and checks config text; `origin` names the file in messages and relative
    /// paths in it are resolved against `base`.
    pub fn from_yaml(text: &str, origin: &str, base: &Path) -> Result<WebConfig, WebConfigError> {
        let raw: Option<RawWebConfig> =
            serde_yaml_ng::from_str(text).map_err(|err| yaml_error(origin, &err))?;
        let Some(raw) = raw else {
            return Err(empty(origin));
        };
        if raw.rate_limit.is_some() {
            return Err(WebConfigError::field(
                origin,
                "rate_limit",
                "part of the exporter-toolkit format but not supported by this exporter \
                 (--web.max-connections bounds what clients can hold); remove it",
            ));
        }
        if raw.tls_server_config.is_none()
            && raw.basic_auth_users.is_none()
            && raw.http_server_config.is_none()
        {
            return Err(empty(origin));
        }
        let http2 = raw
            .http_server_config
            .as_ref()
            .and_then(|h| h.http2)
            .unwrap_or(true);
        let headers = match raw.http_server_config.and_then(|h| h.headers) {
            Some(headers) => response_headers(headers, origin)?,
            None => Vec::new(),
        };
        let (tls, tls_summary, tls_source) = match raw.tls_server_config {
            Some(raw_tls) => {
                let built = tls::server_config(&raw_tls, origin, base, http2)?;
                let source = TlsSource {
                    raw: raw_tls,
                    origin: origin.to_string(),
                    base: base.to_path_buf(),
                    material: built.material,
                };
                (
                    Some(Arc::new(built.config)),
                    Some(built.summary),
                    Some(source),
                )
            }
            None => (None, None, None),
        };
        let basic_auth = match raw.basic_auth_users {
            Some(users) => Some(Arc::new(BasicAuth::new(users, origin)?)),
            None => None,
        };
        let auth_excluded_paths = raw.basic_auth_excluded_paths.unwrap_or_default();
        if let Some(bad) = auth_excluded_paths.iter().find(|p| !p.starts_with('/')) {
            return Err(WebConfigError::field(
                origin,
                "basic_auth_excluded_paths",
                format!("{bad:?} is not a path; paths start with '/'"),
            ));
        }
        Ok(WebConfig {
            tls,
            basic_auth,
            auth_excluded_paths,
            tls_summary,
            http2,
            headers,
            tls_source,
        })
    }

    /// The same config with its TLS part built again, if a certificate, key or client CA
    /// file now reads differently from what the TLS in force was built from: `None` when
    /// nothing changed, else the rebuilt config or why it cannot be built (the caller
    /// keeps the old one).
    pub fn with_rotated_certificates(&self) -> Option<Result<WebConfig, WebConfigError>> {
        let source = self.tls_source.as_ref()?;
        if source.material.reread() == source.material {
            return None;
        }
        Some(
            tls::server_config(&source.raw, &source.origin, &source.base, self.http2).map(
                |built| WebConfig {
                    tls: Some(Arc::new(built.config)),
                    tls_summary: Some(built.summary),
                    tls_source: Some(TlsSource {
                        material: built.material,
                        ..source.clone()
                    }),
                    ..self.clone()
                },
            ),
        )
    }

    /// The certificate files as they read now, to tell one failed rotation from the next.
    pub(super) fn certificate_files_now(&self) -> Option<TlsMaterial> {
        self.tls_source.as_ref().map(|s| s.material.reread())
    }
}

/// `http_server_config.headers`, checked as exporter-toolkit checks them; an empty value
/// means the header is not sent.
fn response_headers(
    raw: RawHeaders,
    origin: &str,
) -> Result<Vec<(HeaderName, HeaderValue)>, WebConfigError> {
    let field = |name: &str| format!("http_server_config.headers.{name}");
    let mut headers = Vec::new();
    for (name, value, allowed) in [
        ("Content-Security-Policy", raw.content_security_policy, None),
        (
            "X-Frame-Options",
            raw.x_frame_options,
            Some(&["deny", "sameorigin"][..]),
        ),
        (
            "X-Content-Type-Options",
            raw.x_content_type_options,
            Some(&["nosniff"][..]),
        ),
        ("X-XSS-Protection", raw.x_xss_protection, None),
        (
            "Strict-Transport-Security",
            raw.strict_transport_security,
            None,
        ),
    ] {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            continue;
        };
        if let Some(allowed) = allowed
            && !allowed.iter().any(|a| a.eq_ignore_ascii_case(&value))
        {
            return Err(WebConfigError::field(
                origin,
                &field(name),
                format!("{value:?} is not allowed; use {}", allowed.join(" or ")),
            ));
        }
        let value = HeaderValue::from_str(&value)
            .map_err(|_| WebConfigError::field(origin, &field(name), "not a valid header value"))?;
        let name = HeaderName::try_from(name.to_ascii_lowercase())
            .map_err(|_| WebConfigError::field(origin, &field(name), "not a header name"))?;
        headers.push((name, value));
    }
    Ok(headers)
}

fn empty(origin: &str) -> WebConfigError {
    WebConfigError {
        origin: origin.to_string(),
        location: None,
        field: None,
        message: "sets nothing; expected `tls_server_config`, `http_server_config` and/or \
                  `basic_auth_users`"
            .into(),
    }
}

/// A YAML or shape error. serde_yaml_ng already puts the path of the failing field in
/// front of its message (`tls_server_config: unknown field ...`); that becomes the field.
fn yaml_error(origin: &str, error: &serde_yaml_ng::Error) -> WebConfigError {
    let location = error.location().map(|l| (l.line(), l.column()));
    let mut message = error.to_string();
    if let Some((line, column)) = location
        && let Some(stripped) = message.strip_suffix(&format!(" at line {line} column {column}"))
    {
        message = stripped.to_string();
    }
    let mut field = None;
    if let Some((path, rest)) = message.split_once(": ")
        && !path.contains(' ')
    {
        field = Some(path.to_string());
        message = rest.to_string();
    }
    if let Some(key) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(key, _)| key.to_string())
    {
        field = Some(match field {
            Some(parent) => format!("{parent}.{key}"),
            None => key,
        });
        message = format!(
            "unknown key; {}",
            message.split_once(", ").map_or("", |(_, a)| a)
        );
    }
    WebConfigError {
        origin: origin.to_string(),
        location,
        field,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key and a self-signed certificate for `localhost`.
    fn self_signed() -> (rcgen::KeyPair, rcgen::Certificate) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (key, cert)
    }

    fn error(yaml: &str) -> String {
        WebConfig::from_yaml(yaml, "web.yml", Path::new("/nonexistent"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn unknown_keys_are_named_with_their_parent() {
        let text = error("tls_server_config:\n  cert_fil: a.crt\n");
        assert!(text.starts_with("web config file web.yml:2:3: "), "{text}");
        assert!(
            text.contains("field `tls_server_config.cert_fil`: unknown key"),
            "{text}"
        );
        assert!(text.contains("cert_file"), "{text}");

        let text = error("basic_auth_user: {a: b}\n");
        assert!(
            text.contains("field `basic_auth_user`: unknown key"),
            "{text}"
        );
    }

    #[test]
    fn empty_files_and_unsupported_toolkit_keys_are_refused() {
        for yaml in ["", "# nothing\n", "{}\n"] {
            assert!(error(yaml).contains("sets nothing"), "{yaml:?}");
        }
        let text = error("rate_limit: {interval: 1s, burst: 5}\n");
        assert!(text.contains("field `rate_limit`: "), "{text}");
        assert!(text.contains("not supported"), "{text}");
    }

    #[test]
    fn a_full_config_loads_with_relative_paths_and_debug_shows_no_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let (key, cert) = self_signed();
        std::fs::create_dir(dir.path().join("tls")).unwrap();
        std::fs::write(dir.path().join("tls/server.crt"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("tls/server.key"), key.serialize_pem()).unwrap();
        let hash = bcrypt::hash("pw", 4).unwrap();
        let path = dir.path().join("web.yml");
        std::fs::write(
            &path,
            format!(
                "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/server.key\n  \
                 min_version: TLS13\n  prefer_server_cipher_suites: true\n\
                 basic_auth_users:\n  alice: {hash}\n"
            ),
        )
        .unwrap();
        let web = WebConfig::load(&path).unwrap();
        assert!(web.tls.is_some());
        assert_eq!(web.basic_auth.as_ref().map(|a| a.user_count()), Some(1));
        let text = format!("{web:?}");
        assert!(text.contains("TLS 1.3") && text.contains("alice"), "{text}");
        let key_body = key.serialize_pem();
        let key_line = key_body.lines().nth(1).unwrap();
        assert!(!text.contains(key_line) && !text.contains(&hash), "{text}");
    }

    #[test]
    fn a_key_that_does_not_fit_the_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let other_key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.path().join("server.crt"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("other.key"), other_key.serialize_pem()).unwrap();
        let text = WebConfig::from_yaml(
            "tls_server_config: {cert_file: server.crt, key_file: other.key}\n",
            "web.yml",
            dir.path(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            text.contains("field `tls_server_config.key_file`: does not fit"),
            "{text}"
        );
    }

    /// exporter-toolkit's documented example (docs/web-config.yml) and the shapes of its
    /// test configs (web/testdata), each accepted or refused by name as this exporter
    /// documents. Certificates are made here; `client.pem` is a CA.
    #[test]
    fn exporter_toolkit_example_configs() {
        let dir = tempfile::tempdir().unwrap();
        let (key, cert) = self_signed();
        std::fs::write(dir.path().join("server.crt"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), key.serialize_pem()).unwrap();
        std::fs::write(dir.path().join("client.pem"), cert.pem()).unwrap();
        let tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
        let inline = |pem: &str| {
            let lines: String = pem.lines().map(|l| format!("    {l}\n")).collect();
            format!("|\n{lines}")
        };
        let users = "basic_auth_users:\n  alice: $2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze\n  \
                     bob: $2y$10$hLqFl9jSjoAAy95Z/zw8Ye8wkdMBM8c5Bn1ptYqP/AXyV0.oy0S8m\n";
        // (name, YAML, None when accepted or Some(text the refusal contains))
        let cases: Vec<(&str, String, Option<&str>)> = vec![
            (
                "docs/web-config.yml",
                format!("{tls}{users}basic_auth_excluded_paths:\n- /-/healthy\n- /-/ready\n"),
                None,
            ),
            ("users_noTLS", users.to_string(), None),
            ("noAuth", tls.to_string(), None),
            (
                "noHTTP2",
                format!("{tls}http_server_config:\n  http2: false\n"),
                None,
            ),
            (
                "headers",
                "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    \
                 Strict-Transport-Security: max-age=31536000; includeSubDomains\n    \
                 X-Content-Type-Options: nosniff\n    X-XSS-Protection: 1\n    \
                 Content-Security-Policy: \"default-src 'self' *.test.example.net\"\n"
                    .to_string(),
                None,
            ),
            (
                "headers_extra_header",
                "http_server_config:\n  headers:\n    Content-Type: foo\n".to_string(),
                Some("http_server_config.headers.Content-Type"),
            ),
            (
                "headers_frame_options",
                "http_server_config:\n  headers:\n    X-Frame-Options: allow\n".to_string(),
                Some("\"allow\" is not allowed; use deny or sameorigin"),
            ),
            (
                "headers_content_type_options",
                "http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n".to_string(),
                Some("X-Content-Type-Options"),
            ),
            (
                "someCiphers",
                format!(
                    "{tls}  cipher_suites:\n  - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n  \
                     - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n  min_version: TLS12\n  max_version: TLS12\n"
                ),
                None,
            ),
            (
                "allCiphers (CBC and RSA key exchange)",
                format!(
                    "{tls}  cipher_suites:\n  - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n  \
                     - TLS_AES_128_GCM_SHA256\n  - TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA\n"
                ),
                Some("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA is not offered by rustls"),
            ),
            (
                "inventedCiphers",
                format!("{tls}  cipher_suites:\n  - TLS_FOO_BAR\n"),
                Some("unknown cipher suite \"TLS_FOO_BAR\""),
            ),
            (
                "someCurves",
                format!("{tls}  curve_preferences:\n    - CurveP256\n    - X25519\n"),
                None,
            ),
            (
                "allCurves",
                format!(
                    "{tls}  curve_preferences:\n    - CurveP256\n    - CurveP384\n    - CurveP521\n    - X25519\n"
                ),
                Some("CurveP521 is not offered"),
            ),
            (
                "X25519MLKEM768",
                format!("{tls}  curve_preferences: [X25519MLKEM768]\n"),
                Some("X25519MLKEM768 is not offered"),
            ),
            (
                "inventedCurves",
                format!("{tls}  curve_preferences:\n    - CurveP257\n"),
                Some("unknown curve \"CurveP257\""),
            ),
            (
                "wrongTLSVersion",
                format!("{tls}  min_version: TLS111\n"),
                Some("tls_server_config.min_version"),
            ),
            (
                "requireanyclientcert",
                format!("{tls}  client_auth_type: RequireAnyClientCert\n"),
                None,
            ),
            (
                "requireandverifyclientcert",
                format!(
                    "{tls}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: client.pem\n"
                ),
                None,
            ),
            (
                "auth_client_san",
                format!(
                    "{tls}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: client.pem\n  \
                     client_allowed_sans:\n    - one\n    - test3\n    - two\n"
                ),
                None,
            ),
            (
                "auth_client_san_optional_cert",
                format!(
                    "{tls}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: client.pem\n  \
                     client_allowed_sans: [one]\n"
                ),
                Some("client_allowed_sans"),
            ),
            (
                "client_allowed_sans with an e-mail SAN",
                format!(
                    "{tls}  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [a@example.com]\n"
                ),
                Some("\"a@example.com\" is not a DNS name or IP address"),
            ),
            (
                "VerifyClientCertIfGiven without a CA (Go falls back to the system roots)",
                format!("{tls}  client_auth_type: VerifyClientCertIfGiven\n"),
                Some("tls_server_config.client_ca_file"),
            ),
            (
                "tlsInline",
                format!(
                    "tls_server_config:\n  cert: {}  key: {}",
                    inline(&cert.pem()),
                    inline(&key.serialize_pem())
                ),
                None,
            ),
            (
                "cert and cert_file",
                format!("{tls}  cert: {}", inline(&cert.pem())),
                Some("set cert or cert_file, not both"),
            ),
            (
                "certPath_empty",
                "tls_server_config:\n  cert_file: \"\"\n  key_file: server.key\n".to_string(),
                Some("tls_server_config.cert_file"),
            ),
            (
                "rate_limiter",
                "rate_limit:\n  interval: 1s\n  burst: 1\n".to_string(),
                Some("rate_limit"),
            ),
            (
                "junk_key",
                format!("{tls}junk: 1\n"),
                Some("field `junk`: unknown key"),
            ),
        ];
        for (name, yaml, refused) in cases {
            let result = WebConfig::from_yaml(&yaml, "web.yml", dir.path());
            match (result, refused) {
                (Ok(_), None) => {}
                (Err(err), Some(expected)) => {
                    let text = err.to_string();
                    assert!(text.contains(expected), "{name}: {text}");
                }
                (Ok(_), Some(expected)) => panic!("{name}: accepted, expected {expected}"),
                (Err(err), None) => panic!("{name}: refused: {err}"),
            }
        }
    }

    #[test]
    fn inline_keys_are_not_shown_by_debug() {
        let key = rcgen::KeyPair::generate().unwrap();
        let raw: RawTls = serde_yaml_ng::from_str(&format!(
            "key: |\n  {}\n",
            key.serialize_pem().lines().collect::<Vec<_>>().join("\n  ")
        ))
        .unwrap();
        let text = format!("{raw:?}");
        assert!(
            text.contains("<redacted>") && !text.contains("PRIVATE KEY"),
            "{text}"
        );
    }

    #[test]
    fn wrong_types_name_the_field() {
        let text = error("basic_auth_users: [alice]\n");
        assert!(text.contains("basic_auth_users"), "{text}");
        let text = error("tls_server_config: {min_version: [TLS12]}\n");
        assert!(text.contains("tls_server_config.min_version"), "{text}");
    }
}
