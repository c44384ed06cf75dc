//! Reloading `--config.file` and `--web.config.file` without a restart, on SIGHUP or
//! `POST /-/reload` (with `--web.enable-lifecycle`), as Prometheus does.
//!
//! A reload validates both files in full before anything changes; an invalid one is
//! refused whole, logged, reported by `/-/reload` (400) and by
//! `genesys_exporter_config_last_reload_successful` 0, and the running config keeps
//! serving. A valid one is applied query by query ([`Pollers::apply`]): a query whose
//! definition is unchanged keeps running untouched (its data, schedule and group memory,
//! and no request is repeated); a changed one is restarted with its new definition (its
//! last series stay exported until its first poll replaces them); a removed one stops
//! and its series, conversation and per-query self-metrics alike, are gone from the next
//! scrape; an added one polls at once, through the same API budget as every other.
//! Scrapes only ever read the snapshot, so a reload never interrupts one.
//!
//! One task applies reloads, one at a time; requests that arrive meanwhile are served by
//! the next reload, which reads the files as they are then, so a burst of SIGHUPs ends
//! in the last config.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::{self, Config, ObservationConfig, QueryConfig};
use crate::schedule::{ObservationPoller, PollContext, Poller};
use crate::web::{LiveWebConfig, WebConfig};

/// How long a reload (or start-up) waits for the first names of a dimension new to it
/// before polling without them.
const FIRST_NAMES_TIMEOUT: Duration = Duration::from_secs(30);

/// Reload requests waiting; past this a SIGHUP is dropped, since a waiting reload will
/// read the files anyway.
const QUEUED_REQUESTS: usize = 16;

/// The running pollers, by query name, the observation pollers and the names refresher.
///
/// Observation sets are started once, with the config of start-up: a reload keeps them
/// running as they are (and the request plan with them), and warns when the file asks
/// for different ones, which take a restart.
#[derive(Debug)]
pub struct Pollers {
    context: PollContext,
    names_refresh: Duration,
    running: BTreeMap<String, Running>,
    observations: Vec<ObservationConfig>,
    observation_tasks: Vec<JoinHandle<()>>,
    names: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Running {
    query: QueryConfig,
    active: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

/// What a reload did, for the log and the `/-/reload` answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub unchanged: usize,
    pub changed: usize,
    pub added: usize,
    pub removed: usize,
}

impl std::fmt::Display for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} queries unchanged, {} changed, {} added, {} removed",
            self.unchanged, self.changed, self.added, self.removed
        )
    }
}

impl Pollers {
    /// Starts a poller per query and per observation set (after the first names, when a
    /// query groups by a named dimension or queues are observed).
    pub async fn start(
        context: PollContext,
        names_refresh: Duration,
        queries: Vec<QueryConfig>,
        observations: Vec<ObservationConfig>,
    ) -> Pollers {
        let mut pollers = Pollers {
            context,
            names_refresh,
            running: BTreeMap::new(),
            observations,
            observation_tasks: Vec::new(),
            names: None,
        };
        pollers.apply(queries).await;
        pollers.observation_tasks = pollers
            .observations
            .iter()
            .map(|o| tokio::spawn(ObservationPoller::new(o.clone(), pollers.context.clone()).run()))
            .collect();
        pollers
    }

    /// Warns when a reloaded config asks for other observation sets than the running
    /// ones: those are applied at the next restart.
    fn note_observations(&self, wanted: &[ObservationConfig]) {
        if wanted != self.observations.as_slice() {
            tracing::warn!(
                "the reloaded config changes `observations`; observation sets are not \
                 reloaded yet and keep running as started: restart the exporter to apply them"
            );
        }
    }

    /// Makes the running pollers match `queries` (see the module documentation).
    pub async fn apply(&mut self, queries: Vec<QueryConfig>) -> Changes {
        let mut changes = Changes::default();
        let wanted: BTreeMap<&str, &QueryConfig> =
            queries.iter().map(|q| (q.name.as_str(), q)).collect();
        let mut retired = Vec::new();
        for (name, running) in &self.running {
            match wanted.get(name.as_str()) {
                Some(query) if **query == running.query => changes.unchanged += 1,
                Some(_) => {
                    changes.changed += 1;
                    retired.push(name.clone());
                }
                None => {
                    changes.removed += 1;
                    retired.push(name.clone());
                }
            }
        }
        for name in &retired {
            if let Some(running) = self.running.remove(name) {
                running.stop().await;
            }
        }
        let store = &self.context.store;
        store.reconfigure(config::served_entries(&queries, &self.observations));
        for name in retired.iter().filter(|n| !wanted.contains_key(n.as_str())) {
            self.context.telemetry.forget_query(name);
            tracing::info!(query = %name, "query removed; its series are gone");
        }
        self.ensure_names(&queries).await;
        for query in queries {
            if self.running.contains_key(&query.name) {
                continue;
            }
            if !retired.contains(&query.name) {
                changes.added += 1;
            }
            let poller = Poller::new(query.clone(), self.context.clone());
            let active = poller.active();
            let name = query.name.clone();
            self.running.insert(
                name,
                Running {
                    query,
                    active,
                    task: tokio::spawn(poller.run()),
                },
            );
        }
        changes
    }

    /// Reads the listings of the named dimensions that `queries` group by and no query
    /// did before (and the queues while queues are observed: their names label the
    /// series, and `queues: all` is the list they come with), waiting (a while) for them
    /// so that the first polls have names, and starts the refresher once some dimension
    /// is in use. The directory is shared by every poller, so a dimension added here
    /// names the series of every query.
    async fn ensure_names(&mut self, queries: &[QueryConfig]) {
        let names = Arc::clone(&self.context.names);
        let added = names.set_dimensions(config::named_dimensions(queries, &self.observations));
        if added.is_empty() && (self.names.is_some() || names.is_empty()) {
            return;
        }
        let client = Arc::clone(&self.context.client);
        // At start-up the directory may have been built with its dimensions already.
        let first = if self.names.is_some() {
            added
        } else {
            names.dimensions()
        };
        if tokio::time::timeout(
            FIRST_NAMES_TIMEOUT,
            names.refresh_dimensions(&client, &first),
        )
        .await
        .is_err()
        {
            tracing::warn!(dimensions = ?first, "names are slow to arrive; polling without them for now");
        }
        if self.names.is_none() {
            self.names = Some(tokio::spawn(names.keep_fresh(client, self.names_refresh)));
        }
    }
}

impl Running {
    /// Stops the poller for good: nothing it was still encoding gets published, and
    /// once this returns it runs no more.
    async fn stop(self) {
        self.active.store(false, Ordering::Release);
        self.task.abort();
        let _ = self.task.await;
    }
}

impl Drop for Pollers {
    /// Dropping the owner stops every task (a dropped `JoinHandle` would not).
    fn drop(&mut self) {
        for running in self.running.values() {
            running.task.abort();
        }
        for task in &self.observation_tasks {
            task.abort();
        }
        if let Some(task) = &self.names {
            task.abort();
        }
    }
}

/// Asks the reloader for a reload.
#[derive(Clone, Debug)]
pub struct ReloadHandle {
    requests: mpsc::Sender<Option<oneshot::Sender<Result<Changes, String>>>>,
}

impl ReloadHandle {
    /// A reload without waiting for it (SIGHUP). When requests are already queued, one
    /// of them reads the files after this call anyway, so dropping this one loses nothing.
    pub fn request(&self) {
        let _ = self.requests.try_send(None);
    }

    /// A reload, and its outcome (`POST /-/reload`).
    pub async fn reload(&self) -> Result<Changes, String> {
        let (reply, outcome) = oneshot::channel();
        self.requests
            .send(Some(reply))
            .await
            .map_err(|_| "the exporter is shutting down".to_string())?;
        outcome
            .await
            .map_err(|_| "the exporter is shutting down".to_string())?
    }
}

/// Owns what a reload changes: the pollers and the web config in force.
#[derive(Debug)]
pub struct Reloader {
    pub config_file: Option<PathBuf>,
    pub web_config_file: Option<PathBuf>,
    pub web: Arc<LiveWebConfig>,
    /// The config without `config_file`, as at start-up.
    pub builtin: Config,
    pub pollers: Pollers,
}

impl Reloader {
    /// Runs the reloader on its own task and returns at once. The task first awaits
    /// `start`, which makes the reloader and starts its pollers ([`Pollers::start`]:
    /// that waits a while for the first names), then applies reloads; a reload asked for
    /// meanwhile waits its turn. So the caller can serve at once: nothing on the way
    /// to serving waits on Genesys. Abort the task to stop it and its pollers.
    pub fn spawn(
        start: impl Future<Output = Reloader> + Send + 'static,
    ) -> (ReloadHandle, JoinHandle<()>) {
        let (requests, receiver) = mpsc::channel(QUEUED_REQUESTS);
        let task = tokio::spawn(async move { start.await.run(receiver).await });
        (ReloadHandle { requests }, task)
    }

    async fn run(
        mut self,
        mut receiver: mpsc::Receiver<Option<oneshot::Sender<Result<Changes, String>>>>,
    ) {
        while let Some(first) = receiver.recv().await {
            // Everything queued so far is answered by this one reload.
            let mut replies: Vec<_> = first.into_iter().collect();
            while let Ok(more) = receiver.try_recv() {
                replies.extend(more);
            }
            let outcome = self.reload().await;
            let telemetry = &self.pollers.context.telemetry;
            telemetry.observe_reload(outcome.is_ok());
            match &outcome {
                Ok(changes) => tracing::info!(%changes, "config reloaded"),
                Err(err) => {
                    tracing::error!(error = %err, "config reload failed; the previous config keeps serving")
                }
            }
            for reply in replies {
                let _ = reply.send(outcome.clone());
            }
        }
    }

    /// Validates both files, then applies them; on any error nothing has changed.
    async fn reload(&mut self) -> Result<Changes, String> {
        let config = match &self.config_file {
            Some(path) => Config::load(path).map_err(|err| err.to_string())?,
            None => self.builtin.clone(),
        };
        let web = match &self.web_config_file {
            Some(path) => Some(WebConfig::load(path).map_err(|err| err.to_string())?),
            None => None,
        };
        self.pollers.note_observations(&config.observations);
        let context = &self.pollers.context;
        context
            .planner
            .replan(&config.queries, &context.telemetry)
            .map_err(|err| err.to_string())?;
        let changes = self.pollers.apply(config.queries).await;
        if let Some(web) = web {
            tracing::info!(
                tls = web.tls_summary.as_deref().unwrap_or("off"),
                basic_auth_users = web.basic_auth.as_ref().map_or(0, |a| a.user_count()),
                "web config reloaded"
            );
            self.web.replace(web);
        }
        Ok(changes)
    }
}
