//! Protecting the HTTP side: the `--web.config.file` (TLS, client certificates, basic
//! authentication) and the connection limits that keep one misbehaving client from
//! starving the scrapes of others.
//!
//! [`config`] reads and checks the file (its errors are a [`WebConfigError`], here so that
//! every part of the file reports the same way), [`tls`] turns its TLS part into a rustls server
//! config, [`basic_auth`] checks `Authorization` headers, and [`listener`] accepts and
//! serves connections within the limits, with [`idle`] closing those on which nothing
//! moves. The routes themselves live in
//! [`crate::server`].

pub mod basic_auth;
pub mod config;
mod idle;
pub mod listener;
pub mod live;
mod tls;

pub use config::WebConfig;
pub use listener::{Limits, ListenAddress, bind};
pub use live::LiveWebConfig;

/// Why the web config cannot be used. The message names the file, the position when the
/// YAML parser knows it, and the field, e.g.
/// ``web.yml: field `tls_server_config.key_file`: cannot read /x.key: No such file``.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.render())]
pub struct WebConfigError {
    /// The file as given on the command line.
    pub origin: String,
    /// 1-based line and column, for YAML errors.
    pub location: Option<(usize, usize)>,
    /// Dotted path of the field concerned, when there is one.
    pub field: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl WebConfigError {
    pub(crate) fn field(origin: &str, field: &str, message: impl Into<String>) -> Self {
        WebConfigError {
            origin: origin.to_string(),
            location: None,
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    fn render(&self) -> String {
        let mut out = format!("web config file {}", self.origin);
        if let Some((line, column)) = self.location {
            out.push_str(&format!(":{line}:{column}"));
        }
        out.push_str(": ");
        if let Some(field) = &self.field {
            out.push_str(&format!("field `{field}`: "));
        }
        out.push_str(&self.message.replace(['\n', '\r'], " "));
        out
    }
}
