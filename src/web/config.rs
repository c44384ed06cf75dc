//! `--web.config.file`: TLS and basic authentication in the Prometheus exporter-toolkit
//! format, so that a file written for node_exporter or any other Go exporter works here.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: /etc/exporter/tls.crt
//!   key_file: /etc/exporter/tls.key
//!   min_version: TLS12                   # or TLS13; TLS10/TLS11 are refused (rustls has neither)
//!   client_auth_type: RequireAndVerifyClientCert   # or VerifyClientCertIfGiven, NoClientCert
//!   client_ca_file: /etc/exporter/clients-ca.crt
//! basic_auth_users:
//!   prometheus: $2y$10$...               # bcrypt hash (htpasswd -nBC 10 prometheus)
//! ```
//!
//! The file is read and checked once, at start-up: certificates and keys are loaded, the
//! hashes parsed, and anything wrong stops the exporter with exit status 2 and a message
//! naming the file and the field. Unlike exporter-toolkit, which re-reads the file on every
//! request, a change needs a restart: a running exporter then never switches from
//! protected to unprotected, or to a half-written certificate, behind its operator's back.
//!
//! Keys of the exporter-toolkit format that rustls cannot honour (`cipher_suites`,
//! `curve_preferences`, `RequestClientCert`, ...) are refused by name rather than ignored,
//! so nobody believes they are in force.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::WebConfigError;
use super::basic_auth::BasicAuth;
use super::tls::{self, RawTls};

/// Largest web config file read; a real one is a few hundred bytes.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The checked web config: what the server enforces.
#[derive(Clone)]
pub struct WebConfig {
    /// Present when `tls_server_config` is: every connection must speak TLS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Present when `basic_auth_users` is: every path but `/-/healthy` needs a user.
    pub basic_auth: Option<Arc<BasicAuth>>,
    /// One line for the start-up log: TLS versions and client-certificate mode.
    pub tls_summary: Option<String>,
}

impl fmt::Debug for WebConfig {
    /// Shows the policy only: no key material, no hashes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls_summary)
            .field("basic_auth", &self.basic_auth)
            .finish()
    }
}

/// The file as written; `deny_unknown_fields` turns a typo into an error naming the key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebConfig {
    tls_server_config: Option<RawTls>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    /// exporter-toolkit keys this exporter does not implement: refused by name.
    http_server_config: Option<serde_yaml_ng::Value>,
    rate_limit: Option<serde_yaml_ng::Value>,
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
        for (field, value) in [
            ("http_server_config", &raw.http_server_config),
            ("rate_limit", &raw.rate_limit),
        ] {
            if value.is_some() {
                return Err(WebConfigError::field(
                    origin,
                    field,
                    "part of the exporter-toolkit format but not supported by this exporter; remove it",
                ));
            }
        }
        if raw.tls_server_config.is_none() && raw.basic_auth_users.is_none() {
            return Err(empty(origin));
        }
        let (tls, tls_summary) = match &raw.tls_server_config {
            Some(raw_tls) => {
                let built = tls::server_config(raw_tls, origin, base)?;
                (Some(Arc::new(built.config)), Some(built.summary))
            }
            None => (None, None),
        };
        let basic_auth = match raw.basic_auth_users {
            Some(users) => Some(Arc::new(BasicAuth::new(users, origin)?)),
            None => None,
        };
        Ok(WebConfig {
            tls,
            basic_auth,
            tls_summary,
        })
    }
}

fn empty(origin: &str) -> WebConfigError {
    WebConfigError {
        origin: origin.to_string(),
        location: None,
        field: None,
        message: "sets nothing; expected `tls_server_config` and/or `basic_auth_users`".into(),
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
        let text = error("http_server_config: {http2: false}\n");
        assert!(text.contains("field `http_server_config`: "), "{text}");
        assert!(text.contains("not supported"), "{text}");
    }

    #[test]
    fn a_full_config_loads_with_relative_paths_and_debug_shows_no_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
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

    #[test]
    fn wrong_types_name_the_field() {
        let text = error("basic_auth_users: [alice]\n");
        assert!(text.contains("basic_auth_users"), "{text}");
        let text = error("tls_server_config: {min_version: [TLS12]}\n");
        assert!(text.contains("tls_server_config.min_version"), "{text}");
    }
}
