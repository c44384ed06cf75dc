//! OAuth client-credentials: where the credentials come from, and the cached access token.
//!
//! Credentials come from environment variables or from files (mounted Kubernetes secrets),
//! never from flag values, and nothing here prints them: [`Secret`]'s `Debug` and
//! `Display` are redacted. Files are read again at each token renewal, so a rotated
//! secret is picked up without a restart.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::ApiError;
use super::bodies::{TokenErrorBody, TokenResponse};
use crate::telemetry::Telemetry;

/// Renew this long before the server says a token expires, as the official SDKs do.
const RENEWAL_MARGIN: Duration = Duration::from_secs(60);
/// A token answer is a few hundred bytes; anything past this is refused unread.
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// A string that must never reach a log, a metric or an error message.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where one credential comes from.
#[derive(Clone, Debug)]
pub enum CredentialSource {
    /// Read once from an environment variable.
    Value(Secret),
    /// Read from a file at every renewal (trailing newline trimmed).
    File(PathBuf),
}

impl CredentialSource {
    /// The current value; `what` names the credential in errors.
    pub fn read(&self, what: &str) -> Result<Secret, ApiError> {
        match self {
            CredentialSource::Value(secret) => Ok(secret.clone()),
            CredentialSource::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|err| ApiError::Credentials {
                    message: format!("cannot read the {what} file {}: {err}", path.display()),
                })?;
                let value = text.trim_end_matches(['\r', '\n']);
                if value.is_empty() {
                    return Err(ApiError::Credentials {
                        message: format!("the {what} file {} is empty", path.display()),
                    });
                }
                Ok(Secret::new(value))
            }
        }
    }
}

/// The OAuth client's id and secret.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub client_id: CredentialSource,
    pub client_secret: CredentialSource,
}

/// An access token and when to stop using it.
#[derive(Clone, Debug)]
pub struct AccessToken {
    pub value: Secret,
    renew_at: Instant,
}

/// Hands out a valid access token, obtaining a new one when the cached one is near
/// expiry or was rejected. Concurrent callers share one renewal.
#[derive(Debug)]
pub struct TokenProvider {
    http: reqwest::Client,
    token_url: Url,
    credentials: Credentials,
    cached: Mutex<Option<AccessToken>>,
    telemetry: Arc<Telemetry>,
}

impl TokenProvider {
    pub fn new(
        http: reqwest::Client,
        token_url: Url,
        credentials: Credentials,
        telemetry: Arc<Telemetry>,
    ) -> TokenProvider {
        TokenProvider {
            http,
            token_url,
            credentials,
            cached: Mutex::new(None),
            telemetry,
        }
    }

    /// A token that is valid for at least the renewal margin.
    pub async fn token(&self) -> Result<AccessToken, ApiError> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.clone());
        }
        let token = self.request_token().await?;
        *cached = Some(token.clone());
        Ok(token)
    }

    /// Forgets `rejected` after the API answered 401 with it, unless another caller has
    /// already replaced it.
    pub async fn invalidate(&self, rejected: &AccessToken) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|t| t.value == rejected.value) {
            *cached = None;
        }
    }

    async fn request_token(&self) -> Result<AccessToken, ApiError> {
        let client_id = self.credentials.client_id.read("client id")?;
        let client_secret = self.credentials.client_secret.read("client secret")?;
        let started = Instant::now();
        let response = self
            .http
            .post(self.token_url.clone())
            .basic_auth(client_id.expose(), Some(client_secret.expose()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(err) => {
                self.telemetry.observe_api_request(
                    "token",
                    "error",
                    started.elapsed().as_secs_f64(),
                );
                return Err(ApiError::Transport {
                    endpoint: "token",
                    message: super::describe_transport_error(&err),
                });
            }
        };
        let status = response.status();
        let body = super::read_limited(response, MAX_TOKEN_RESPONSE_BYTES).await;
        self.telemetry.observe_api_request(
            "token",
            status.as_str(),
            started.elapsed().as_secs_f64(),
        );
        let body = body
            .map_err(|err| ApiError::Transport {
                endpoint: "token",
                message: super::describe_transport_error(&err),
            })?
            .ok_or_else(|| ApiError::BadResponse {
                endpoint: "token",
                message: format!(
                    "token response larger than the {MAX_TOKEN_RESPONSE_BYTES} byte limit; refused"
                ),
            })?;
        if status != StatusCode::OK {
            let error: TokenErrorBody = serde_json::from_slice(&body).unwrap_or_default();
            let description = error
                .error_description
                .or(error.description)
                .unwrap_or_else(|| "no description".to_string());
            let message = format!(
                "token request refused with HTTP {}: {} ({description})",
                status.as_u16(),
                error.error.as_deref().unwrap_or("no error code"),
            );
            tracing::error!(status = status.as_u16(), %message, "cannot obtain an access token");
            return Err(if status.is_server_error() {
                ApiError::Server {
                    endpoint: "token",
                    status: status.as_u16(),
                    message,
                }
            } else {
                ApiError::Credentials { message }
            });
        }
        let token: TokenResponse =
            serde_json::from_slice(&body).map_err(|err| ApiError::BadResponse {
                endpoint: "token",
                message: format!("token response is not the documented JSON: {err}"),
            })?;
        let lifetime = Duration::from_secs(token.expires_in);
        self.telemetry.count_token_renewal();
        tracing::info!(
            expires_in_seconds = token.expires_in,
            "obtained an access token"
        );
        Ok(AccessToken {
            value: Secret::new(token.access_token),
            renew_at: started + lifetime.saturating_sub(RENEWAL_MARGIN),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let credentials = Credentials {
            client_id: CredentialSource::Value(Secret::new("the-id")),
            client_secret: CredentialSource::Value(Secret::new("hunter2")),
        };
        let text = format!("{credentials:?} {:?}", Secret::new("abc"));
        assert!(!text.contains("hunter2") && !text.contains("the-id") && !text.contains("abc"));
        assert!(text.contains("redacted"));
    }

    #[test]
    fn credential_files_are_trimmed_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "s3cret\n").unwrap();
        let source = CredentialSource::File(path.clone());
        assert_eq!(source.read("client secret").unwrap().expose(), "s3cret");

        std::fs::write(&path, "\n").unwrap();
        let err = source.read("client secret").unwrap_err().to_string();
        assert!(
            err.contains("empty") && err.contains("client secret"),
            "{err}"
        );

        let missing = CredentialSource::File(dir.path().join("nope"));
        let err = missing.read("client id").unwrap_err().to_string();
        assert!(err.contains("nope") && err.contains("client id"), "{err}");
    }
}
