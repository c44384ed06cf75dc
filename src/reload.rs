//! Reloading `--config.file` and `--web.config.file` without a restart, on SIGHUP or
//! `POST /-/reload` (with `--web.enable-lifecycle`), as Prometheus does.
//!
//! A reload validates both files in full before anything changes, the request plan
//! included (a config over the budget is refused whole); an invalid one is refused
//! whole, logged, reported by `/-/reload` (400) and by
//! `genesys_exporter_config_last_reload_successful` 0, and the running config keeps
//! serving. Names are unique across queries and observation sets within the file (the
//! validation refuses a clash, naming both), and nothing outside the file keeps running,
//! so no two entries ever share a `query` label. A valid config is applied entry by
//! entry, queries and observation sets alike ([`Pollers::apply`]): one whose definition
//! is unchanged keeps running untouched (its data, schedule and group memory, and no
//! request is repeated); a changed one is restarted with its new definition (its last
//! series stay exported until its first poll replaces them, unless it changed kind); a
//! removed one stops and its series, conversation and per-query self-metrics alike, are
//! gone from the next scrape; an added one polls at once (once the names new to it have
//! arrived, which it waits for on its own task), through the same API budget as every
//! other. Scrapes only ever read the snapshot, so a reload never interrupts one.
//!
//! One task applies reloads, one at a time; requests that arrive meanwhile are served by
//! the next reload, which reads the files as they are then, so a burst of SIGHUPs ends
//! in the last config.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::config::{
    self, AgentSetConfig, Config, ObservationConfig, QueryConfig, TrunkSetConfig, VoiceSetConfig,
};
use crate::schedule::{
    AgentsPoller, ObservationPoller, PollContext, Poller, PushAgentsPoller, PushPoller,
    TrunksPoller, VoicePoller,
};
use crate::web::{LiveWebConfig, WebConfig};

/// How long the pollers a start or reload adds wait for the first names of a dimension
/// new to them before polling without them.
const FIRST_NAMES_TIMEOUT: Duration = Duration::from_secs(30);

/// Reload requests waiting; past this a SIGHUP is dropped, since a waiting reload will
/// read the files anyway.
const QUEUED_REQUESTS: usize = 16;

/// The running pollers, queries and observation sets alike, by name (names are unique
/// across both), and the names refresher.
#[derive(Debug)]
pub struct Pollers {
    context: PollContext,
    names_refresh: Duration,
    running: BTreeMap<String, Running>,
    /// The first reads of names still under way, start-up's and reloads': a poller
    /// started meanwhile that needs one of their dimensions waits for them too.
    reading: Vec<Reading>,
    names: Option<JoinHandle<()>>,
}

/// A first read of names: the dimensions it reads, the gate that opens once it ends,
/// and its task (none for start-up's read, which runs on the refresher's task).
#[derive(Debug)]
struct Reading {
    dimensions: Vec<&'static str>,
    gate: NamesGate,
    task: Option<JoinHandle<()>>,
}

/// What runs under one name.
#[derive(Clone, Debug, PartialEq)]
enum Definition {
    Query(QueryConfig),
    Observations(ObservationConfig),
    Agents(AgentSetConfig),
    Trunks(TrunkSetConfig),
    Voice(VoiceSetConfig),
}

#[derive(Debug)]
struct Running {
    definition: Definition,
    active: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

/// Open once the first names a start or reload asked for have arrived (or
/// [`FIRST_NAMES_TIMEOUT`] has passed): a poller started meanwhile whose dimensions are
/// among them waits for it before its first poll, so that its first series have names,
/// and nothing else waits for it.
type NamesGate = watch::Receiver<bool>;

/// What a reload did, for the log and the `/-/reload` answer: queries and observation
/// sets together.
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
            "{} unchanged, {} changed, {} added, {} removed (queries and observation sets)",
            self.unchanged, self.changed, self.added, self.removed
        )
    }
}

impl Definition {
    fn name(&self) -> &str {
        match self {
            Definition::Query(query) => &query.name,
            Definition::Observations(set) => &set.name,
            Definition::Agents(set) => &set.name,
            Definition::Trunks(set) => &set.name,
            Definition::Voice(set) => &set.name,
        }
    }

    /// "query" or "observation set", for the log.
    fn kind(&self) -> &'static str {
        match self {
            Definition::Query(_) => "query",
            Definition::Observations(_) => "observation set",
            Definition::Agents(_) => "agents set",
            Definition::Trunks(_) => "trunk set",
            Definition::Voice(_) => "voice quality set",
        }
    }

    /// The dimensions whose names label its series: a query's `group_by`, the queues
    /// of an observation set, the presences of an agents set (as
    /// [`config::named_dimensions`] counts them).
    fn named_dimensions(&self) -> Vec<&str> {
        use std::slice::from_ref as one;
        match self {
            Definition::Query(query) => {
                config::named_dimensions(one(query), &[], &[], &[]).collect()
            }
            Definition::Observations(set) => {
                config::named_dimensions(&[], one(set), &[], &[]).collect()
            }
            Definition::Agents(set) => config::named_dimensions(&[], &[], one(set), &[]).collect(),
            Definition::Voice(set) => config::named_dimensions(&[], &[], &[], one(set)).collect(),
            // Trunk series carry the listing's own names.
            Definition::Trunks(_) => Vec::new(),
        }
    }

    /// Starts its poller, which polls first once every one of `gates` opens: every
    /// kind alike, as a [`crate::schedule::Task`].
    fn start(self, context: &PollContext, gates: Vec<NamesGate>) -> Running {
        let context = context.clone();
        let poller = match &self {
            Definition::Query(query) => Poller::new(query.clone(), context).into_task(),
            // A set whose transport changes is a changed definition: restarted.
            Definition::Observations(set) if set.transport.is_pushed() => {
                PushPoller::new(set.clone(), context).into_task()
            }
            Definition::Observations(set) => {
                ObservationPoller::new(set.clone(), context).into_task()
            }
            Definition::Agents(set) if set.transport.is_pushed() => {
                PushAgentsPoller::new(set.clone(), context).into_task()
            }
            Definition::Agents(set) => AgentsPoller::new(set.clone(), context).into_task(),
            Definition::Trunks(set) => TrunksPoller::new(set.clone(), context).into_task(),
            Definition::Voice(set) => VoicePoller::new(set.clone(), context).into_task(),
        };
        Running {
            definition: self,
            active: poller.active,
            task: tokio::spawn(after(gates, poller.run)),
        }
    }
}

/// Runs `poll` once every one of `gates` opens (or its sender is gone).
async fn after(gates: Vec<NamesGate>, poll: impl Future<Output = ()>) {
    for mut gate in gates {
        let _ = gate.wait_for(|open| *open).await;
    }
    poll.await;
}

impl Pollers {
    /// Starts a poller per entry of `config`, every kind (queries, observation sets,
    /// trunk and voice quality sets). When an entry needs names (a query grouped by a
    /// named dimension, observed queues), its poller first waits (a while) for the first
    /// names, on its own task: this returns at once.
    pub async fn start(context: PollContext, names_refresh: Duration, config: Config) -> Pollers {
        let mut pollers = Pollers {
            context,
            names_refresh,
            running: BTreeMap::new(),
            reading: Vec::new(),
            names: None,
        };
        pollers.apply(config).await;
        pollers
    }

    /// Makes the running pollers match `config`'s entries, every kind (see the module
    /// documentation). A name that changes kind (a query where an observation set
    /// was, or back) is a changed entry whose old series and self-metrics go at once,
    /// since the new ones are of another kind: its `query_up` is 0 until it first polls.
    pub async fn apply(&mut self, config: Config) -> Changes {
        let store = Arc::clone(&self.context.store);
        let wanted: Vec<Definition> = config
            .queries
            .iter()
            .cloned()
            .map(Definition::Query)
            .chain(
                config
                    .observations
                    .iter()
                    .cloned()
                    .map(Definition::Observations),
            )
            .chain(config.agents.iter().cloned().map(Definition::Agents))
            .chain(config.trunks.iter().cloned().map(Definition::Trunks))
            .chain(config.voice_quality.iter().cloned().map(Definition::Voice))
            .collect();
        let by_name: BTreeMap<&str, &Definition> = wanted.iter().map(|d| (d.name(), d)).collect();
        let mut changes = Changes::default();
        let mut retired = Vec::new();
        let mut other_kind = BTreeSet::new();
        for (name, running) in &self.running {
            match by_name.get(name.as_str()) {
                Some(definition) if **definition == running.definition => {
                    changes.unchanged += 1;
                }
                Some(definition) => {
                    changes.changed += 1;
                    if definition.kind() != running.definition.kind() {
                        other_kind.insert(name.clone());
                    }
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
            if other_kind.contains(name) {
                // The new entry's poller registers the name afresh (up 0) when it starts.
                self.context.telemetry.forget_polls(name);
            }
        }
        if !other_kind.is_empty() {
            store.reconfigure(
                config::served_entries(&config).filter(|(name, _)| !other_kind.contains(*name)),
            );
        }
        store.reconfigure(config::served_entries(&config));
        for name in retired.iter().filter(|n| !by_name.contains_key(n.as_str())) {
            self.context.telemetry.forget_query(name);
            tracing::info!(query = %name, "removed; its series are gone");
        }
        self.ensure_names(&config);
        for definition in wanted {
            let name = definition.name().to_string();
            if self.running.contains_key(&name) {
                continue;
            }
            if !retired.contains(&name) {
                changes.added += 1;
            }
            let gates = self.gates_for(&definition);
            let running = definition.start(&self.context, gates);
            self.running.insert(name, running);
        }
        changes
    }

    /// The gates of the first reads under way whose dimensions `definition` needs:
    /// what its poller waits for before its first poll (nothing, mostly).
    fn gates_for(&self, definition: &Definition) -> Vec<NamesGate> {
        let needs = definition.named_dimensions();
        self.reading
            .iter()
            .filter(|reading| reading.dimensions.iter().any(|d| needs.contains(d)))
            .map(|reading| reading.gate.clone())
            .collect()
    }

    /// Starts reading the listings of the named dimensions that `queries` group by and
    /// nothing did before (and the queues while queues are observed: their names label
    /// the series, and `queues: all` is the list they come with), and the refresher once
    /// some dimension is in use. The read joins [`Pollers::reading`] until it ends: only
    /// the pollers started meanwhile that need its dimensions wait for it, so a reload
    /// answers, and every other poller polls on, while a slow listing is read. The
    /// directory is shared by every poller, so a dimension added here names the series
    /// of every query.
    fn ensure_names(&mut self, config: &Config) {
        self.reading.retain(|reading| !*reading.gate.borrow());
        let names = Arc::clone(&self.context.names);
        let added = names.set_dimensions(config::named_dimensions(
            &config.queries,
            &config.observations,
            &config.agents,
            &config.voice_quality,
        ));
        if added.is_empty() && (self.names.is_some() || names.is_empty()) {
            return;
        }
        let (opened, gate) = watch::channel(false);
        let client = Arc::clone(&self.context.client);
        // At start-up the directory may have been built with its dimensions already.
        let first = if self.names.is_some() {
            added
        } else {
            names.dimensions()
        };
        let dimensions = first.clone();
        let read = async move {
            if tokio::time::timeout(
                FIRST_NAMES_TIMEOUT,
                names.refresh_dimensions(&client, &first),
            )
            .await
            .is_err()
            {
                tracing::warn!(dimensions = ?first, "names are slow to arrive; polling without them for now");
            }
            let _ = opened.send(true);
            (names, client)
        };
        let task = if self.names.is_none() {
            let period = self.names_refresh;
            self.names = Some(tokio::spawn(async move {
                let (names, client) = read.await;
                names.keep_fresh(client, period).await;
            }));
            None
        } else {
            Some(tokio::spawn(async move {
                read.await;
            }))
        };
        self.reading.push(Reading {
            dimensions,
            gate,
            task,
        });
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
        let reads = self
            .reading
            .iter()
            .filter_map(|reading| reading.task.as_ref());
        for task in reads.chain(&self.names) {
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
    /// `start`, which makes the reloader and starts its pollers ([`Pollers::start`]),
    /// then applies reloads; a reload asked for meanwhile waits its turn. So the caller
    /// can serve at once, whatever `start` waits on: nothing on the way to serving
    /// waits on Genesys. Abort the task to stop it and its pollers.
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
        config.log_allow_unlisted_notes();
        let context = &self.pollers.context;
        config::check_channel_budget(
            &config::channel_needs(&config.observations, &config.agents),
            context.client.channel_budget().for_sets(),
        )?;
        context
            .planner
            .replan(&config, &context.telemetry)
            .map_err(|err| err.to_string())?;
        let changes = self.pollers.apply(config).await;
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
