//! The web config in force, swapped whole by a reload or a certificate rotation and read
//! by every connection (TLS, HTTP/2) and request (basic auth, headers).
//!
//! Certificates rotate without a restart: every [`CERTIFICATE_CHECK_PERIOD`] the
//! certificate, key and client-CA files are read again (a few kilobytes) and compared
//! with what the TLS in force was built from. When they differ, TLS is built again; a
//! new connection then gets the new certificate, and open ones keep theirs. A file that
//! cannot be used (half-written, a key that does not fit yet) leaves the last good
//! certificate in force and is logged once per distinct content; the next change is tried
//! again (cert-manager writes the certificate and the key one after the other).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;

use super::config::WebConfig;
use super::tls::TlsMaterial;

/// How often the certificate files are compared with those in force.
pub const CERTIFICATE_CHECK_PERIOD: Duration = Duration::from_secs(3);

/// The web config in force (`None` without `--web.config.file`).
#[derive(Debug, Default)]
pub struct LiveWebConfig {
    current: ArcSwapOption<WebConfig>,
    /// Serializes writers (reload, rotation), so that neither undoes the other.
    writer: Mutex<Option<TlsMaterial>>,
}

impl LiveWebConfig {
    pub fn new(config: Option<WebConfig>) -> LiveWebConfig {
        LiveWebConfig {
            current: ArcSwapOption::new(config.map(Arc::new)),
            writer: Mutex::new(None),
        }
    }

    /// The config in force now; cheap enough for every request.
    pub fn load(&self) -> Option<Arc<WebConfig>> {
        self.current.load_full()
    }

    /// Puts a reloaded (and fully checked) config in force.
    pub fn replace(&self, config: WebConfig) {
        let mut failed = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        *failed = None;
        self.current.store(Some(Arc::new(config)));
    }

    /// Checks the certificate files every [`CERTIFICATE_CHECK_PERIOD`], forever.
    pub async fn rotate_certificates(self: Arc<Self>) {
        let mut ticks = tokio::time::interval(CERTIFICATE_CHECK_PERIOD);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let live = Arc::clone(&self);
            // File reads and key parsing: off the async workers.
            let _ = tokio::task::spawn_blocking(move || live.check_certificates()).await;
        }
    }

    /// One check: rebuild TLS if its files changed, keep the old one if that fails.
    pub fn check_certificates(&self) {
        let mut failed = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let Some(current) = self.current.load_full() else {
            return;
        };
        let now = current.certificate_files_now();
        if now.is_some() && *failed == now {
            return;
        }
        match current.with_rotated_certificates() {
            None => {}
            Some(Ok(rotated)) => {
                tracing::info!(
                    tls = rotated.tls_summary.as_deref().unwrap_or("off"),
                    "TLS certificate files changed; new connections get the new certificate"
                );
                *failed = None;
                self.current.store(Some(Arc::new(rotated)));
            }
            Some(Err(err)) => {
                tracing::error!(error = %err, "TLS certificate files changed but cannot be used; the last good certificate stays in force");
                *failed = now;
            }
        }
    }
}
