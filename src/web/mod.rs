//! Protecting the HTTP side: the `--web.config.file` (TLS, client certificates, basic
//! authentication) and the connection limits that keep one misbehaving client from
//! starving the scrapes of others.
//!
//! [`config`] reads and checks the file, [`tls`] turns its TLS part into a rustls server
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

pub use config::{WebConfig, WebConfigError};
pub use listener::{Limits, ListenAddress, bind};
pub use live::LiveWebConfig;
