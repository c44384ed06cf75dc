//! A built-in simulator of the Genesys Cloud API.
//!
//! The exporter cannot be developed or tested against a real Genesys org (it costs
//! money, needs credentials and its data is not repeatable), so this module serves a
//! faithful stand-in over plain HTTP on loopback: the client-credentials login, the
//! conversation-aggregates query and its asynchronous jobs, the queue observations query, the conversation details
//! query, the listings of queues,
//! users, wrap-up codes, divisions, skills, languages, teams and campaigns, per-token
//! rate limits and the
//! Genesys error bodies. Its traffic is synthetic but deterministic, so tests can
//! assert on exact numbers, and it can inject faults to exercise retry paths.
//!
//! Login and API share one base URL ([`Simulator::base_url`]).

mod agent_counts;
mod aggregate;
mod auth;
mod codec;
mod details;
mod directory;
mod faults;
mod jobs;
mod listings;
mod members;
mod notifications;
mod observations;
mod period;
mod queues;
mod ratelimit;
mod respond;
mod routes;
mod sources;
mod trunks;
mod users;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::world::World;
use crate::world::trunks::Trunks;
use auth::{TokenStore, lock};
use directory::Directory;
use faults::Faults;
pub use faults::{Fault, FaultKind, FaultRule, Trigger};
pub use jobs::JobOutcome;
pub use listings::PageSizeLimit;
pub use notifications::{MAX_CHANNELS, MAX_TOPICS_PER_CHANNEL, Notifications};
use ratelimit::RateLimiter;

/// How long [`Simulator::shutdown`] lets open connections finish before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How many requests [`Simulator::requests`] remembers; older ones are dropped so a
/// long-running demo does not grow without bound.
const MAX_RECORDED: usize = 100_000;

/// Settings of a simulated Genesys org.
///
/// The defaults give a small, busy org that needs no setup: a client can log in with
/// `demo-client` / `demo-secret` and query eight queues of traffic.
#[derive(Clone)]
pub struct SimulatorConfig {
    /// OAuth client id the token endpoint accepts.
    pub client_id: String,
    /// OAuth client secret the token endpoint accepts (never printed by `Debug`).
    pub client_secret: String,
    /// Lifetime of issued tokens (`expires_in`); short values exercise re-login.
    pub token_lifetime: Duration,
    /// Per-token requests per minute before API calls get 429, like the Genesys
    /// platform limit.
    pub requests_per_minute: u32,
    /// Number of queues in the org (each with its own traffic).
    pub queue_count: usize,
    /// Number of agents (`userId` values); each queue is staffed by a dozen of them.
    pub user_count: usize,
    /// How many media types the org serves, 1 to 5 (voice, chat, email, message,
    /// callback, in that order).
    pub media_type_count: usize,
    /// Peak traffic at every hour of every day, so that a benchmark gets the same number
    /// of series whenever it runs (normally nights and weekends are quiet).
    pub busy_all_day: bool,
    /// Seed of the synthetic traffic and ids: same seed, same numbers.
    pub seed: u64,
    /// What the queue listing does with a `pageSize` over its largest (default: 400
    /// over 500).
    pub queue_page_limit: PageSizeLimit,
    /// The same for the other listings (users, wrap-up codes, divisions, skills,
    /// languages, teams); outbound campaigns always serve at most 100.
    pub listing_page_limit: PageSizeLimit,
    /// Most predicates an aggregates filter may carry (all levels together) before the
    /// query is a 400; `None` lifts the cap. Genesys publishes no cap for this endpoint
    /// but documents 100 for its sibling, so the default is 100 (see
    /// [`DEFAULT_MAX_PREDICATES`]).
    pub max_predicates: Option<usize>,
    /// Number of trunks (4 by default, on two Edges; the second drops for a few minutes
    /// every hour).
    pub trunk_count: usize,
    /// How often each Notifications API socket gets a `channel.metadata` heartbeat
    /// (Genesys: every 30 s; tests shorten it).
    pub heartbeat_interval: Duration,
    /// How often the Notifications API looks at the world for changes of the subscribed
    /// topics (1 s: Genesys publishes a queue's observations at most once a second).
    pub push_period: Duration,
    /// How long an asynchronous aggregate job takes: `QUEUED` for the first half,
    /// `PENDING` for the second, then `FULFILLED` (2 s by default; tests shorten it).
    pub job_delay: Duration,
}

/// The simulator's default cap on predicates in one aggregates filter.
pub const DEFAULT_MAX_PREDICATES: usize = 100;

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            client_id: "demo-client".to_string(),
            client_secret: "demo-secret".to_string(),
            token_lifetime: Duration::from_secs(86_400),
            requests_per_minute: 300,
            queue_count: 8,
            user_count: crate::world::AGENT_POOL,
            media_type_count: 5,
            busy_all_day: false,
            seed: 1,
            queue_page_limit: PageSizeLimit::default(),
            listing_page_limit: PageSizeLimit::default(),
            max_predicates: Some(DEFAULT_MAX_PREDICATES),
            trunk_count: 4,
            heartbeat_interval: Duration::from_secs(30),
            push_period: Duration::from_secs(1),
            job_delay: Duration::from_secs(2),
        }
    }
}

impl std::fmt::Debug for SimulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("token_lifetime", &self.token_lifetime)
            .field("requests_per_minute", &self.requests_per_minute)
            .field("queue_count", &self.queue_count)
            .field("user_count", &self.user_count)
            .field("media_type_count", &self.media_type_count)
            .field("busy_all_day", &self.busy_all_day)
            .field("seed", &self.seed)
            .field("queue_page_limit", &self.queue_page_limit)
            .field("listing_page_limit", &self.listing_page_limit)
            .field("max_predicates", &self.max_predicates)
            .field("trunk_count", &self.trunk_count)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("push_period", &self.push_period)
            .field("job_delay", &self.job_delay)
            .finish()
    }
}

/// A routing queue of the simulated org, as `GET /api/v2/routing/queues` lists it.
/// Its `id` is the `queueId` in aggregate results, so tests can match the two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queue {
    /// Deterministic UUID-shaped id (depends on the seed and the queue's position).
    pub id: String,
    /// Human-readable name ("Billing", "Technical Support", ...).
    pub name: String,
    /// The division the queue, and so each of its conversations (`divisionId`), is in.
    pub division_id: String,
    pub division_name: String,
}

/// One request the simulator answered, so tests can assert on what a client did
/// (how often it logged in, whether it backed off after a 429, ...).
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// When the request arrived.
    pub at: Instant,
    /// When its answer was ready to send, after any injected delay: where a 429's
    /// `Retry-After` starts to count for the client that gets it.
    pub answered: Instant,
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Request path without the query string.
    pub path: String,
    /// Status code of the answer.
    pub status: u16,
    /// For an aggregates request, what its body asked for (`None` when the body was
    /// not a JSON object).
    pub query: Option<SentQuery>,
}

/// The fields of an aggregates request body that say which time it covers, as sent:
/// so tests can check the interval, granularity and time zone on the wire and count
/// requests per interval. Absent fields are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct SentQuery {
    pub interval: Option<String>,
    pub granularity: Option<String>,
    #[serde(rename = "timeZone")]
    pub time_zone: Option<String>,
}

/// State shared by the handle and the request handlers.
struct Shared {
    config: SimulatorConfig,
    world: World,
    queues: Vec<Queue>,
    directory: Directory,
    trunks: Trunks,
    tokens: TokenStore,
    limiter: RateLimiter,
    faults: Faults,
    notifications: Notifications,
    jobs: jobs::Jobs,
    log: Mutex<VecDeque<RecordedRequest>>,
    /// The secret the token endpoint accepts now: `config.client_secret` until
    /// [`Simulator::rotate_client_secret`].
    client_secret: Mutex<String>,
}

impl Shared {
    fn record(&self, request: RecordedRequest) {
        let mut log = lock(&self.log);
        if log.len() >= MAX_RECORDED {
            log.pop_front();
        }
        log.push_back(request);
    }
}

/// A running simulator. Dropping it stops the server; [`Simulator::shutdown`] stops
/// it gracefully.
pub struct Simulator {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    stop: Option<watch::Sender<bool>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("local_addr", &self.local_addr)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Binds `listen` (e.g. `127.0.0.1:0` for a free port) and serves in a background
    /// tokio task, so a test can start one per case and run them in parallel.
    pub async fn start(config: SimulatorConfig, listen: SocketAddr) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(listen).await?;
        let local_addr = listener.local_addr()?;
        let world = World::with_org(
            config.seed,
            crate::world::Org {
                queues: config.queue_count,
                users: config.user_count,
                media_types: config.media_type_count,
                busy_all_day: config.busy_all_day,
            },
        );
        let directory = Directory::build(&world, config.seed);
        let (stop, stopped) = watch::channel(false);
        let notifications = Notifications::new(
            format!("ws://{local_addr}"),
            &world,
            config.heartbeat_interval,
            config.push_period,
            stopped.clone(),
        );
        let shared = Arc::new(Shared {
            queues: queues::build(world.queue_ids(), &directory),
            directory,
            trunks: Trunks::new(config.seed, config.trunk_count),
            world,
            tokens: TokenStore::new(config.token_lifetime),
            limiter: RateLimiter::new(config.requests_per_minute),
            faults: Faults::new(config.seed),
            notifications,
            jobs: jobs::Jobs::default(),
            log: Mutex::new(VecDeque::new()),
            client_secret: Mutex::new(config.client_secret.clone()),
            config,
        });
        tokio::spawn(notifications::publish_changes(
            Arc::clone(&shared),
            stopped.clone(),
        ));
        let task = tokio::spawn(serve(listener, Arc::clone(&shared), stopped));
        tracing::info!(%local_addr, config = ?shared.config, "Genesys Cloud simulator listening");
        Ok(Simulator {
            shared,
            local_addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address actually bound (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Base URL of both login and API, e.g. `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The org's queues, in listing order, so tests know the expected ids and names.
    pub fn queues(&self) -> Vec<Queue> {
        self.shared.queues.clone()
    }

    /// The `(id, name)` pairs the listing at `path` serves (`/api/v2/users`,
    /// `/api/v2/routing/wrapupcodes`, `/api/v2/teams`, ...), in listing order; empty for
    /// a path that is no listing. The queues are [`Simulator::queues`].
    pub fn listing(&self, path: &str) -> Vec<(String, String)> {
        self.shared
            .directory
            .entries(path)
            .iter()
            .map(|named| (named.id.clone(), named.name.clone()))
            .collect()
    }

    /// Every request served so far, in the order they were answered, including the
    /// token endpoint (the most recent 100 000 in a very long run).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).iter().cloned().collect()
    }

    /// How many tokens the token endpoint has issued, to check a client reuses them.
    pub fn tokens_issued(&self) -> usize {
        self.shared.tokens.issued()
    }

    /// Revokes every token issued so far (they answer 401 from now on), to exercise
    /// a client's re-login on 401. Tokens issued later work normally.
    pub fn revoke_tokens(&self) {
        self.shared.tokens.revoke_all();
        tracing::debug!("simulator revoked all tokens");
    }

    /// Every access token issued and still remembered (all of them unless thousands
    /// were), so tests can check that none leaks into a client's logs or output.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.tokens.all()
    }

    /// Makes the token endpoint accept `secret` instead of the configured one, as when an
    /// admin rotates the OAuth client's secret; tokens already issued stay valid.
    pub fn rotate_client_secret(&self, secret: &str) {
        *lock(&self.shared.client_secret) = secret.to_string();
        tracing::debug!("simulator client secret rotated");
    }

    /// The Notifications API's channels and the knobs that break its sockets and
    /// events (see [`Notifications`]).
    pub fn notifications(&self) -> &Notifications {
        &self.shared.notifications
    }

    /// Queues a fault; faults apply in the order injected. Shorthand for
    /// [`Simulator::add_fault`] with a counted status fault.
    pub fn inject_fault(&self, fault: Fault) {
        self.add_fault(fault.into());
    }

    /// Adds a fault rule (see [`FaultRule`]); rules are checked in the order added and
    /// the first that fires shapes the answer.
    pub fn add_fault(&self, rule: FaultRule) {
        tracing::debug!(?rule, "simulator fault added");
        self.shared.faults.add(rule);
    }

    /// Removes every fault rule: the simulator answers normally again.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
        tracing::debug!("simulator faults cleared");
    }

    /// Moves the simulator's clock by `skew` against the host's: its `Date` headers and
    /// what "now" means for its traffic (positive: the API is ahead).
    pub fn set_clock_skew(&self, skew: chrono::TimeDelta) {
        self.shared.faults.set_skew(skew);
    }

    /// Stops the simulator's clock at `at` (its `Date` headers and its traffic's now),
    /// so that the same question always gets the same answer.
    pub fn freeze_clock(&self, at: chrono::DateTime<chrono::Utc>) {
        self.shared.faults.freeze_at(at);
    }

    /// What becomes of the asynchronous aggregate jobs submitted from now on: fulfilled
    /// (the default), failed with a message, or expired before their results are read.
    pub fn set_job_outcome(&self, outcome: JobOutcome) {
        self.shared.jobs.set_outcome(outcome);
    }

    /// Every asynchronous aggregate job submitted so far is `EXPIRED` from now on (its
    /// results gone), as when a client reads them too late.
    pub fn expire_jobs(&self) {
        self.shared.jobs.expire_all();
    }

    /// How many asynchronous aggregate jobs were submitted.
    pub fn jobs_submitted(&self) -> usize {
        self.shared.jobs.count()
    }

    /// Stops accepting connections, lets open ones finish (up to a few seconds) and
    /// waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(mut task) = self.task.take() {
            // The server task itself bounds the grace period; this is a backstop.
            if tokio::time::timeout(SHUTDOWN_GRACE * 2, &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
        tracing::info!(local_addr = %self.local_addr, "Genesys Cloud simulator stopped");
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        // Aborting the server task drops its connection set, which aborts every
        // connection task too.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Accept loop: one task per connection (HTTP/1.1 or HTTP/2), all in a `JoinSet`
/// owned here so that aborting this task ends them too.
async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let shared = Arc::clone(&shared);
                    let stopped = stopped.clone();
                    connections.spawn(serve_connection(stream, peer, shared, stopped));
                }
                Err(error) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "simulator accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = stopped.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::debug!("simulator connections did not close in time; aborting them");
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    let service = service_fn(move |request| routes::handle(Arc::clone(&shared), request));
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = stopped.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "simulator connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_secret() {
        let config = SimulatorConfig {
            client_secret: "hunter2".into(),
            ..SimulatorConfig::default()
        };
        let text = format!("{config:?}");
        assert!(!text.contains("hunter2"));
        assert!(text.contains("<redacted>"));
        assert!(text.contains("demo-client"));
    }
}
