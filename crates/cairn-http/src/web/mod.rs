//! `--web.config.file`: TLS, basic auth, extra headers and a rate limit, from the YAML
//! file Prometheus exporters share, applied to every route and re-read when it changes.
//!
//! [`WebConfig`] holds the settings in force. [`WebConfig::watch`] polls the file and every
//! file it names (certificates, keys, client CAs) and swaps in new settings when one
//! changes, so that a renewed certificate or an edited user list applies without a
//! restart; a file that no longer reads is logged and the last good settings stay. The
//! [`guard`] layer applies auth, headers and the rate limit to a router;
//! [`crate::server::Server`] uses the TLS settings for each new connection.

mod config;
mod guard;
mod tls;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

pub use config::{RateLimit, WebConfigError, WebSettings};
pub use guard::guard;

/// The web settings in force, from a file that is watched for changes.
#[derive(Debug)]
pub struct WebConfig {
    path: PathBuf,
    current: watch::Sender<Arc<WebSettings>>,
}

/// What identifies a file's version: modification time and length.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl WebConfig {
    /// Reads and checks the file; any problem stops here, naming the file.
    pub fn load(path: impl Into<PathBuf>) -> Result<WebConfig, WebConfigError> {
        let path = path.into();
        let settings = WebSettings::load(&path)?;
        Ok(WebConfig {
            path,
            current: watch::channel(Arc::new(settings)).0,
        })
    }

    /// The settings in force.
    pub fn current(&self) -> Arc<WebSettings> {
        self.current.borrow().clone()
    }

    /// The configuration file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Re-reads the file now. On success the new settings apply to new connections and
    /// requests; on failure the old ones stay and the error is returned.
    pub fn reload(&self) -> Result<(), WebConfigError> {
        let settings = WebSettings::load(&self.path)?;
        self.current.send_replace(Arc::new(settings));
        Ok(())
    }

    /// Every `every`, re-reads the settings if the configuration file or a file it names
    /// changed. Runs until dropped.
    pub async fn watch(self: Arc<Self>, every: Duration) {
        let stamps = |settings: &WebSettings| -> Vec<Stamp> {
            settings.files.iter().map(|f| stamp(f)).collect()
        };
        let mut seen = stamps(&self.current());
        loop {
            tokio::time::sleep(every).await;
            let settings = self.current();
            let now = stamps(&settings);
            if now == seen {
                continue;
            }
            seen = now;
            let this = self.clone();
            match tokio::task::spawn_blocking(move || this.reload()).await {
                Ok(Ok(())) => {
                    seen = stamps(&self.current());
                    tracing::info!(file = %self.path.display(), "web configuration reloaded");
                }
                Ok(Err(err)) => {
                    tracing::error!(%err, "web configuration not reloaded; the previous one stays in force")
                }
                Err(err) => tracing::error!(%err, "web configuration not reloaded"),
            }
        }
    }
}
