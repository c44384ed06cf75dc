//! The Notifications API: channels, subscriptions and the WebSocket that pushes topic
//! events (docs/push.md).
//!
//! A channel is created (`POST /api/v2/notifications/channels`, endpoint label
//! `notification_channels`) and its topics subscribed (`PUT .../subscriptions`,
//! `notification_subscriptions`), both through [`GenesysClient::send`] like every API
//! call: the one budget, token and retries. The socket is opened at the channel's
//! `connectUri` exactly as given: `wss://` over the project's rustls (ring, the native
//! roots reqwest uses) and `tokio_tungstenite::client_async`, `ws://` over plain TCP (a
//! simulator on loopback). No framing is written by hand.
//!
//! One [`ChannelRunner`] keeps one channel alive for a share of a set's topics (at most
//! [`MAX_TOPICS_PER_CHANNEL`]): frames are read leniently (a bad one is counted and
//! skipped); no heartbeat for `heartbeat_misses` intervals means the socket is dead;
//! `socket_closing` and `no_longer_subscribed` open a new channel and subscribe it before
//! the old one is let go; the subscription is renewed before the channel `expires`; a
//! lost socket is reopened with backoff. What it sees goes to the set as [`ChannelNews`]:
//! `Up` after every (re)connect (the set then seeds its state by REST, since nothing
//! missed is replayed), `Down` when the socket is lost, and the events.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::bodies::null_as_default;
use super::channel_budget::ChannelSlot;
use super::{ApiError, GenesysClient, Whole, documented};
use crate::telemetry::Telemetry;

/// Topics one channel takes (Genesys' documented limit).
pub const MAX_TOPICS_PER_CHANNEL: usize = 1_000;
pub use super::channel_budget::MAX_CHANNELS;
/// Path of the channels.
pub const CHANNELS_PATH: &str = "/api/v2/notifications/channels";
/// Path of a channel's subscriptions, `{}` the channel's id.
pub const SUBSCRIPTIONS_PATH: &str = "/api/v2/notifications/channels/{}/subscriptions";
/// Genesys sends a heartbeat on every socket this often.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);
/// The permission the queue observation topics need.
pub const QUEUE_TOPIC_PERMISSION: &str = "analytics:queueObservation:view";
/// Opening a socket (TCP, TLS, the upgrade) takes at most this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// The subscription is renewed this long before the channel expires.
const RENEW_AHEAD: Duration = Duration::from_secs(3600);
/// A handover waits this long at most for the spare slot another handover holds
/// (maintenance closes every socket within the same minute); after that it lets the old
/// channel go before opening the new one.
const HANDOVER_WAIT: Duration = Duration::from_secs(20);
/// Letting a channel go (its subscriptions deleted, its socket closed) takes at most this.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(15);

/// The topic of one queue's observations.
pub fn queue_topic(queue_id: &str) -> String {
    format!("v2.analytics.queues.{queue_id}.observations")
}

/// How the push side waits: heartbeats and reconnects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushSettings {
    /// The heartbeat interval Genesys keeps (30 s; tests shorten the simulator's).
    pub heartbeat_interval: Duration,
    /// Heartbeat intervals without one after which the socket is taken for dead.
    pub heartbeat_misses: u32,
    /// First wait before reopening a lost socket; doubled per failure, with jitter.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

impl Default for PushSettings {
    fn default() -> Self {
        PushSettings {
            heartbeat_interval: HEARTBEAT_INTERVAL,
            heartbeat_misses: 3,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }
}

impl PushSettings {
    /// Silence longer than this means the socket is dead.
    pub fn dead_after(&self) -> Duration {
        self.heartbeat_interval
            .saturating_mul(self.heartbeat_misses.max(1))
    }

    /// The wait before reconnect attempt `failures` (0 for the first): doubling, with
    /// jitter, capped.
    fn backoff(&self, failures: u32) -> Duration {
        let ceiling = self
            .backoff_initial
            .saturating_mul(2u32.saturating_pow(failures.min(16)))
            .min(self.backoff_max);
        ceiling.mul_f64(rand::random_range(0.5..=1.0))
    }
}

/// `Channel`: what `POST .../channels` answers.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub connect_uri: String,
    /// ISO-8601; absent or unreadable means "renew at the usual 24 h".
    #[serde(default)]
    pub expires: Option<String>,
}

impl Channel {
    /// When the channel ends, read leniently.
    fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires
            .as_deref()
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|at| at.with_timezone(&Utc))
    }
}

/// `ChannelTopicEntityListing`: what a subscription answers.
#[derive(Debug, Default, Deserialize)]
pub struct ChannelTopics {
    #[serde(default, deserialize_with = "null_as_default")]
    pub entities: Vec<ChannelTopic>,
}

/// `ChannelTopic`: one topic and whether it was permitted.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelTopic {
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub rejection_reason: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub missing_permissions: Vec<String>,
}

impl ChannelTopic {
    fn rejected(&self) -> bool {
        self.state.as_deref() == Some("Rejected")
    }
}

impl GenesysClient {
    /// Creates a channel.
    pub async fn create_channel(&self) -> Result<Channel, ApiError> {
        const ENDPOINT: &str = "notification_channels";
        let url = self.endpoints.api(CHANNELS_PATH);
        let delivered = self
            .send(ENDPOINT, |http| http.post(url.clone()), &mut Whole)
            .await?;
        let channel: Channel = documented(ENDPOINT, &delivered.value)?;
        if channel.id.is_empty() || channel.connect_uri.is_empty() {
            return Err(ApiError::BadResponse {
                endpoint: ENDPOINT,
                message: "the channel has no id or no connectUri".into(),
            });
        }
        Ok(channel)
    }

    /// Sets a channel's topics to `topics` (`PUT`, which replaces, and renews the
    /// channel's lifetime).
    pub async fn subscribe(
        &self,
        channel: &str,
        topics: &[String],
    ) -> Result<ChannelTopics, ApiError> {
        const ENDPOINT: &str = "notification_subscriptions";
        let url = self
            .endpoints
            .api(&SUBSCRIPTIONS_PATH.replace("{}", channel));
        let body: Vec<serde_json::Value> = topics
            .iter()
            .map(|topic| serde_json::json!({ "id": topic }))
            .collect();
        let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let delivered = self
            .send(
                ENDPOINT,
                |http| {
                    http.put(url.clone())
                        .header("content-type", "application/json")
                        .body(body.clone())
                },
                &mut Whole,
            )
            .await?;
        documented(ENDPOINT, &delivered.value)
    }

    /// Removes every subscription of a channel (`DELETE .../subscriptions`): a channel
    /// let go pushes nothing more, and without a connection it is the first Genesys
    /// removes when the client needs room. (There is no `DELETE` of a channel.)
    pub async fn unsubscribe_all(&self, channel: &str) -> Result<(), ApiError> {
        const ENDPOINT: &str = "notification_subscriptions";
        let url = self
            .endpoints
            .api(&SUBSCRIPTIONS_PATH.replace("{}", channel));
        self.send(ENDPOINT, |http| http.delete(url.clone()), &mut Whole)
            .await?;
        Ok(())
    }
}

/// One frame off the socket, as far as the exporter cares.
#[derive(Debug)]
pub enum Frame {
    Heartbeat,
    Pong,
    /// The socket closes in about a minute.
    SocketClosing,
    /// The channel lost its subscriptions.
    NoLongerSubscribed,
    /// A topic event: its topic and its `eventBody`, read by whoever knows the topic.
    Event {
        topic: String,
        body: Box<RawValue>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFrame {
    #[serde(default)]
    topic_name: Option<String>,
    #[serde(default)]
    event_body: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct MetadataBody {
    #[serde(default)]
    message: Option<String>,
}

/// Reads one text frame; an error says what was wrong with it.
pub fn decode_frame(text: &str) -> Result<Frame, String> {
    let raw: RawFrame =
        serde_json::from_str(text).map_err(|err| format!("not a notification frame: {err}"))?;
    let Some(topic) = raw.topic_name else {
        return Err("a frame without topicName".into());
    };
    if topic == "channel.metadata" {
        let message = raw
            .event_body
            .and_then(|body| serde_json::from_str::<MetadataBody>(body.get()).ok())
            .and_then(|body| body.message);
        return match message.as_deref() {
            Some("WebSocket Heartbeat") => Ok(Frame::Heartbeat),
            Some("pong") => Ok(Frame::Pong),
            other => Err(format!("channel.metadata with message {other:?}")),
        };
    }
    if topic == "v2.system.socket_closing" {
        return Ok(Frame::SocketClosing);
    }
    if topic.starts_with("v2.system.no_longer_subscribed") {
        return Ok(Frame::NoLongerSubscribed);
    }
    let Some(body) = raw.event_body else {
        return Err(format!("an event of {topic} without eventBody"));
    };
    Ok(Frame::Event { topic, body })
}

/// The `kind` label of an event's topic.
pub fn topic_kind(topic: &str) -> &'static str {
    let parts: Vec<&str> = topic.split('.').collect();
    match parts.as_slice() {
        ["v2", "analytics", "queues", _, "observations"] => "queue_observations",
        ["v2", "users", _, "activity"] => "user_activity",
        _ => "other",
    }
}

/// Splits `topics` into the shares of one channel each.
pub fn shard(topics: &[String]) -> Vec<Vec<String>> {
    topics
        .chunks(MAX_TOPICS_PER_CHANNEL)
        .map(<[String]>::to_vec)
        .collect()
}

/// A byte stream of either kind under the WebSocket.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

type Socket = WebSocketStream<Box<dyn Io>>;

/// The rustls client config of `wss://`, made once: ring, and the native roots as
/// reqwest's `rustls-tls-native-roots` uses them.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(format!(
                    "no trusted root certificates found on this host ({} errors reading them)",
                    found.errors.len()
                ));
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|err| format!("TLS set-up: {err}"))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
}

/// Opens the WebSocket at `uri` exactly: `ws://` plain, `wss://` over rustls.
async fn connect(uri: &str) -> Result<Socket, String> {
    let opening = async {
        let url = reqwest::Url::parse(uri).map_err(|err| format!("{uri:?}: {err}"))?;
        let host = url
            .host_str()
            .ok_or_else(|| format!("{uri:?} has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| format!("{uri:?} has no port"))?;
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|err| format!("cannot connect to {host}:{port}: {err}"))?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Io> = match url.scheme() {
            "ws" => Box::new(tcp),
            "wss" => {
                let name = rustls_pki_types::ServerName::try_from(host.clone())
                    .map_err(|err| format!("{host:?}: {err}"))?;
                let tls = tokio_rustls::TlsConnector::from(tls_config()?)
                    .connect(name, tcp)
                    .await
                    .map_err(|err| format!("TLS with {host}: {err}"))?;
                Box::new(tls)
            }
            other => return Err(format!("{uri:?}: scheme {other:?} is neither ws nor wss")),
        };
        let (socket, _) = tokio_tungstenite::client_async(uri, stream)
            .await
            .map_err(|err| format!("WebSocket upgrade at {uri}: {err}"))?;
        Ok(socket)
    };
    timeout(CONNECT_TIMEOUT, opening)
        .await
        .map_err(|_| format!("opening {uri} took longer than {CONNECT_TIMEOUT:?}"))?
}

/// What a channel runner tells its set.
#[derive(Debug)]
pub enum ChannelNews {
    /// A shard is (again) connected and subscribed: events flow from now on, and
    /// whatever happened before is not replayed. `complete`: every topic was permitted
    /// (a rejected one is not pushed, so the set cannot trust push alone).
    Up { shard: usize, complete: bool },
    /// Shard `0` lost its socket; events are missed until it is `Up` again.
    Down(usize),
    /// A topic event, not yet counted in `genesys_exporter_push_events_total`: the set
    /// counts it once it has read the body (its topic's kind, or `malformed`).
    Event { topic: String, body: Box<RawValue> },
}

/// A channel in use, its socket and the slot of the client's channel budget it was
/// created under. Counted in `genesys_exporter_push_channels` while it lives.
struct Session {
    channel: Channel,
    /// `None` once the channel is let go or its socket lost.
    socket: Option<Socket>,
    /// Given back once the channel is let go (or handed on with it).
    slot: Option<ChannelSlot>,
    client: Arc<GenesysClient>,
    telemetry: Arc<Telemetry>,
    /// When the socket was opened: a session that ends sooner than a dead socket is
    /// noticed is no proof the channel works.
    opened: Instant,
    /// Whether a heartbeat or an event came: the session worked, so the reconnect
    /// backoff starts again.
    heard: bool,
}

impl Session {
    fn new(
        channel: Channel,
        socket: Socket,
        slot: ChannelSlot,
        client: &Arc<GenesysClient>,
    ) -> Session {
        let telemetry = client.telemetry();
        telemetry.add_push_channels(1);
        Session {
            channel,
            socket: Some(socket),
            slot: Some(slot),
            client: Arc::clone(client),
            telemetry,
            opened: Instant::now(),
            heard: false,
        }
    }

    /// Lets the channel go (subscriptions deleted, socket closed) and gives its slot
    /// to the caller, to hand back or use again.
    async fn let_go(mut self) -> Option<ChannelSlot> {
        if let Some(socket) = self.socket.take() {
            release(&self.client, &self.channel.id, socket).await;
        }
        self.slot.take()
    }

    /// The socket is gone: the channel (which keeps its subscriptions) and the slot
    /// are kept to reconnect.
    fn lost(mut self) -> (Channel, Option<ChannelSlot>) {
        self.socket = None;
        (self.channel.clone(), self.slot.take())
    }
}

impl Drop for Session {
    /// A session dropped with its socket open (its set let the runner go) lets its
    /// channel go on a task of its own, which gives the slot back only once done: until
    /// then the channel is connected, and a channel created meanwhile past the budget
    /// could make Genesys remove a connected one.
    fn drop(&mut self) {
        self.telemetry.add_push_channels(-1);
        if let Some(socket) = self.socket.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let client = Arc::clone(&self.client);
            let id = self.channel.id.clone();
            let slot = self.slot.take();
            runtime.spawn(async move {
                release(&client, &id, socket).await;
                drop(slot);
            });
        }
    }
}

/// Lets a channel go: its subscriptions deleted (so it pushes nothing more), then its
/// socket closed, waiting for the far end to end it. A failure is only logged: the channel expires, and without a
/// connection it is the first Genesys removes when the client needs room.
async fn release(client: &GenesysClient, channel: &str, mut socket: Socket) {
    match timeout(RELEASE_TIMEOUT, client.unsubscribe_all(channel)).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            tracing::debug!(%channel, error = %err, "could not delete the subscriptions of a channel let go")
        }
        Err(_) => {
            tracing::debug!(%channel, "deleting the subscriptions of a channel let go took too long")
        }
    }
    // Closed once the far end has seen the close (the socket ends): only then is the
    // channel without a connection, the first Genesys removes when room is needed.
    let closed = async {
        let _ = socket.close(None).await;
        while let Some(Ok(_)) = socket.next().await {}
    };
    let _ = timeout(RELEASE_TIMEOUT, closed).await;
}

/// Why a session's reading ended.
enum Ending {
    /// Open a new channel before letting this one go.
    Handover(&'static str),
    /// The socket is gone (or dead): reconnect.
    Lost(&'static str),
    /// The set is gone.
    Stop,
}

/// Keeps one channel of one set's topics alive; see the module documentation.
pub struct ChannelRunner {
    client: Arc<GenesysClient>,
    telemetry: Arc<Telemetry>,
    /// The set's name, for the log.
    set: String,
    shard: usize,
    topics: Vec<String>,
    settings: PushSettings,
    news: mpsc::UnboundedSender<ChannelNews>,
    /// The slot its set took for it ([`ChannelRunner::with_slot`]); without one, the
    /// runner waits for one before creating a channel.
    slot: Option<ChannelSlot>,
    /// Rejected topics already logged (each is logged once).
    logged: HashSet<String>,
    /// What this runner adds to `genesys_exporter_push_topics`: (permitted, rejected).
    counted: (i64, i64),
}

impl ChannelRunner {
    pub fn new(
        client: Arc<GenesysClient>,
        set: &str,
        shard: usize,
        topics: Vec<String>,
        settings: PushSettings,
        news: mpsc::UnboundedSender<ChannelNews>,
    ) -> ChannelRunner {
        ChannelRunner {
            telemetry: client.telemetry(),
            client,
            set: set.to_string(),
            shard,
            topics,
            settings,
            news,
            slot: None,
            logged: HashSet::new(),
            counted: (0, 0),
        }
    }

    /// The runner's channel is created under `slot`, which its set took from the
    /// client's [`ChannelBudget`](super::channel_budget::ChannelBudget) (and knows what
    /// to poll for the shards it could not take one for).
    pub fn with_slot(mut self, slot: ChannelSlot) -> ChannelRunner {
        self.slot = Some(slot);
        self
    }

    /// The slot the set gave, else one from the budget: at once if one is free, else
    /// (logged as an error, the shard `Down`) once another channel is let go. `None`
    /// when the set is gone.
    async fn take_slot(&mut self) -> Option<ChannelSlot> {
        if let Some(slot) = self.slot.take() {
            return Some(slot);
        }
        let budget = self.client.channel_budget();
        if let Some(slot) = budget.try_slot() {
            return Some(slot);
        }
        tracing::error!(query = %self.set, shard = self.shard, limit = budget.limit(), "every notification channel of the budget is in use (one is the handover spare); this share of topics waits for one, and is not pushed meanwhile");
        self.news.send(ChannelNews::Down(self.shard)).ok()?;
        Some(budget.slot().await)
    }

    /// Runs until the set drops its end of the news (or the task is aborted).
    pub async fn run(mut self) {
        let Some(slot) = self.take_slot().await else {
            return;
        };
        // The runner's own slot while no session holds it.
        let mut own = Some(slot);
        let mut failures = 0u32;
        let mut next: Option<Session> = None;
        loop {
            let mut session = match next.take() {
                Some(session) => session,
                None => {
                    let Some(slot) = own.take() else {
                        return;
                    };
                    match self.open(slot).await {
                        Ok(session) => session,
                        Err((err, slot)) => {
                            own = Some(slot);
                            tracing::warn!(query = %self.set, shard = self.shard, error = %err, "cannot open a notification channel; retrying");
                            sleep(self.settings.backoff(failures)).await;
                            failures = failures.saturating_add(1);
                            continue;
                        }
                    }
                }
            };
            let complete = self.counted.1 == 0;
            if self
                .news
                .send(ChannelNews::Up {
                    shard: self.shard,
                    complete,
                })
                .is_err()
            {
                return;
            }
            tracing::info!(query = %self.set, shard = self.shard, channel = %session.channel.id, topics = self.topics.len(), "push channel connected");
            let ending = self.read(&mut session).await;
            if session.heard {
                failures = 0;
            }
            match ending {
                Ending::Stop => return,
                Ending::Handover(reason) => {
                    self.telemetry.count_push_reconnect(reason);
                    tracing::info!(query = %self.set, shard = self.shard, reason, "replacing the push channel before it goes");
                    if session.opened.elapsed() < self.settings.dead_after() {
                        // A channel told to go this soon may be told so again at once:
                        // back off rather than create and subscribe channels in a loop.
                        sleep(self.settings.backoff(failures)).await;
                        failures = failures.saturating_add(1);
                    }
                    match self.hand_over(session).await {
                        Ok(new) => next = Some(new),
                        Err(slot) => {
                            own = slot;
                            if self.news.send(ChannelNews::Down(self.shard)).is_err() {
                                return;
                            }
                        }
                    }
                }
                Ending::Lost(reason) => {
                    self.telemetry.count_push_reconnect(reason);
                    tracing::warn!(query = %self.set, shard = self.shard, reason, "push socket lost; reconnecting (polled values fill in meanwhile where configured)");
                    if self.news.send(ChannelNews::Down(self.shard)).is_err() {
                        return;
                    }
                    let (channel, slot) = session.lost();
                    sleep(self.settings.backoff(failures)).await;
                    failures = failures.saturating_add(1);
                    // The channel and its subscriptions may still be there: reopen its
                    // socket (under the same slot), else a new channel next time round.
                    match (connect(&channel.connect_uri).await, slot) {
                        (Ok(socket), Some(slot)) => {
                            next = Some(Session::new(channel, socket, slot, &self.client));
                        }
                        (_, slot) => own = slot,
                    }
                }
            }
        }
    }

    /// Replaces `old`'s channel by a new one, subscribed and connected, under the
    /// budget's handover spare, and only then lets the old one go; the new channel
    /// keeps the old one's slot and the spare goes back. When the spare stays busy (or
    /// the new channel cannot be opened) the old channel is let go first, and its slot
    /// comes back as the error, to open the next channel under.
    async fn hand_over(&mut self, old: Session) -> Result<Session, Option<ChannelSlot>> {
        let Some(spare) = self.client.channel_budget().spare(HANDOVER_WAIT).await else {
            tracing::warn!(query = %self.set, shard = self.shard, "the handover spare of the channel budget stayed busy; letting the old channel go before opening the new one");
            return Err(old.let_go().await);
        };
        match self.open(spare).await {
            Ok(mut new) => {
                if let Some(slot) = old.let_go().await {
                    // The spare (now the new session's) goes back as this is dropped.
                    let _spare = new.slot.replace(slot);
                }
                Ok(new)
            }
            Err((err, spare)) => {
                // The spare goes back before the old channel is let go, which can take
                // a while: other handovers wait for it.
                drop(spare);
                tracing::warn!(query = %self.set, shard = self.shard, error = %err, "cannot open the replacement channel; retrying");
                Err(old.let_go().await)
            }
        }
    }

    /// A new channel under `slot`, subscribed, its socket open; the slot comes back
    /// with the error.
    async fn open(&mut self, slot: ChannelSlot) -> Result<Session, (String, ChannelSlot)> {
        let channel = match self.client.create_channel().await {
            Ok(channel) => channel,
            Err(err) => return Err((err.to_string(), slot)),
        };
        if let Err(err) = self.subscribe(&channel.id).await {
            return Err((err, slot));
        }
        match connect(&channel.connect_uri).await {
            Ok(socket) => Ok(Session::new(channel, socket, slot, &self.client)),
            Err(err) => Err((err, slot)),
        }
    }

    /// Subscribes the topics; counts and logs (once each) the rejected ones.
    async fn subscribe(&mut self, channel: &str) -> Result<(), String> {
        let answer = self
            .client
            .subscribe(channel, &self.topics)
            .await
            .map_err(|err| err.to_string())?;
        let mut rejected = 0i64;
        for topic in answer.entities.iter().filter(|t| t.rejected()) {
            rejected += 1;
            if self.logged.insert(topic.id.clone()) {
                let grant = if topic.missing_permissions.is_empty() {
                    QUEUE_TOPIC_PERMISSION.to_string()
                } else {
                    topic.missing_permissions.join(", ")
                };
                tracing::error!(query = %self.set, topic = %topic.id, reason = topic.rejection_reason.as_deref().unwrap_or("none given"), grant = %grant, "Genesys rejected a push topic: grant the OAuth client's role the permission named; its values come from the reconcile polls only");
            }
        }
        let permitted = i64::try_from(answer.entities.len()).unwrap_or(i64::MAX) - rejected;
        self.telemetry
            .add_push_topics(permitted - self.counted.0, rejected - self.counted.1);
        self.counted = (permitted, rejected);
        Ok(())
    }

    /// Reads frames until the session ends.
    async fn read(&mut self, session: &mut Session) -> Ending {
        let dead_after = self.settings.dead_after();
        let mut alive_until = Instant::now() + dead_after;
        let mut renew_at = renewal(&session.channel);
        loop {
            tokio::select! {
                biased;
                frame = next_frame(&mut session.socket) => {
                    let text = match frame {
                        None | Some(Ok(Message::Close(_))) => return Ending::Lost("closed"),
                        Some(Err(_)) => return Ending::Lost("error"),
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(_)) => continue,
                    };
                    match decode_frame(text.as_str()) {
                        Ok(Frame::Heartbeat) | Ok(Frame::Pong) => {
                            session.heard = true;
                            self.telemetry.observe_push_heartbeat();
                            alive_until = Instant::now() + dead_after;
                        }
                        Ok(Frame::SocketClosing) => {
                            self.telemetry.count_push_event("socket_closing");
                            return Ending::Handover("socket_closing");
                        }
                        Ok(Frame::NoLongerSubscribed) => {
                            self.telemetry.count_push_event("no_longer_subscribed");
                            return Ending::Handover("no_longer_subscribed");
                        }
                        Ok(Frame::Event { topic, body }) => {
                            // Counted by the set, which reads the body: under its
                            // topic's kind, or as `malformed`, once.
                            session.heard = true;
                            if self.news.send(ChannelNews::Event { topic, body }).is_err() {
                                return Ending::Stop;
                            }
                        }
                        Err(err) => {
                            self.telemetry.count_push_event("malformed");
                            tracing::debug!(query = %self.set, error = %err, "skipped a notification frame");
                        }
                    }
                }
                () = sleep_until(alive_until) => return Ending::Lost("heartbeat_missed"),
                () = sleep_until(renew_at) => {
                    let id = session.channel.id.clone();
                    if let Err(err) = self.subscribe(&id).await {
                        tracing::warn!(query = %self.set, error = %err, "renewing the push channel failed");
                        return Ending::Lost("renewal_failed");
                    }
                    self.telemetry.count_push_event("renewed");
                    // The renewal moved `expires` a lifetime on; the answer does not say
                    // to when, so the next renewal is a lifetime less the margin away.
                    renew_at = Instant::now() + Duration::from_secs(86_400) - RENEW_AHEAD;
                }
            }
        }
    }
}

impl Drop for ChannelRunner {
    fn drop(&mut self) {
        self.telemetry
            .add_push_topics(-self.counted.0, -self.counted.1);
    }
}

/// The next frame of a session's socket; none once it is gone.
async fn next_frame(
    socket: &mut Option<Socket>,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    match socket {
        Some(socket) => socket.next().await,
        None => None,
    }
}

/// When to renew a channel: [`RENEW_AHEAD`] before it expires, or half-way when it has
/// less than twice that left; a day less the margin when `expires` is unreadable.
fn renewal(channel: &Channel) -> Instant {
    let left = channel
        .expires_at()
        .map(|at| (at - Utc::now()).to_std().unwrap_or(Duration::ZERO))
        .unwrap_or(Duration::from_secs(86_400));
    let wait = if left > RENEW_AHEAD * 2 {
        left - RENEW_AHEAD
    } else {
        left / 2
    };
    Instant::now() + wait
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_of_every_kind_are_read() {
        let heartbeat =
            r#"{"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}"#;
        assert!(matches!(decode_frame(heartbeat), Ok(Frame::Heartbeat)));
        let pong = r#"{"topicName":"channel.metadata","eventBody":{"message":"pong"}}"#;
        assert!(matches!(decode_frame(pong), Ok(Frame::Pong)));
        let closing = r#"{"topicName": "v2.system.socket_closing", "eventBody": {}}"#;
        assert!(matches!(decode_frame(closing), Ok(Frame::SocketClosing)));
        let gone = r#"{"topicName": "v2.system.no_longer_subscribed.abc", "eventBody": {}}"#;
        assert!(matches!(decode_frame(gone), Ok(Frame::NoLongerSubscribed)));
        let event = r#"{"topicName": "v2.analytics.queues.q1.observations", "version": "2",
            "eventBody": {"group": {"queueId": "q1", "mediaType": "voice"}, "data": []},
            "metadata": {"CorrelationId": "c"}, "future": 1}"#;
        let Ok(Frame::Event { topic, body }) = decode_frame(event) else {
            panic!("not an event");
        };
        assert_eq!(topic, "v2.analytics.queues.q1.observations");
        assert!(body.get().contains("\"queueId\": \"q1\""));
        assert_eq!(topic_kind(&topic), "queue_observations");
        assert_eq!(topic_kind("v2.users.u.activity"), "user_activity");
        assert_eq!(topic_kind("v2.users.u.presence"), "other");
    }

    #[test]
    fn bad_frames_are_errors_not_panics() {
        for text in [
            "",
            "not json",
            "[]",
            "{}",
            r#"{"topicName": 3}"#,
            r#"{"topicName": "channel.metadata", "eventBody": {"message": "?"}}"#,
            r#"{"topicName": "channel.metadata"}"#,
            r#"{"topicName": "v2.analytics.queues.q.observations"}"#,
        ] {
            assert!(decode_frame(text).is_err(), "{text}");
        }
    }

    #[test]
    fn topics_are_sharded_a_thousand_a_channel() {
        let topics: Vec<String> = (0..2_500).map(|i| queue_topic(&i.to_string())).collect();
        let shards = shard(&topics);
        assert_eq!(
            shards.iter().map(Vec::len).collect::<Vec<_>>(),
            [1000, 1000, 500]
        );
        assert_eq!(shards[2][499], "v2.analytics.queues.2499.observations");
        assert!(shard(&[]).is_empty());
    }

    #[test]
    fn channels_and_subscriptions_are_read_leniently() {
        let channel: Channel = serde_json::from_str(
            r#"{"id": "c", "connectUri": "ws://127.0.0.1:1/channels/c", "expires": "2026-12-08T02:00:00.000Z", "x": 1}"#,
        )
        .unwrap();
        assert_eq!(channel.connect_uri, "ws://127.0.0.1:1/channels/c");
        assert!(channel.expires_at().is_some());
        let topics: ChannelTopics = serde_json::from_str(
            r#"{"entities": [{"id": "a", "state": "Permitted"},
                {"id": "b", "state": "Rejected", "rejectionReason": "x", "missingPermissions": ["analytics:queueObservation:view"]},
                {"id": "c", "missingPermissions": null}]}"#,
        )
        .unwrap();
        let rejected: Vec<&str> = topics
            .entities
            .iter()
            .filter(|t| t.rejected())
            .map(|t| t.id.as_str())
            .collect();
        assert_eq!(rejected, ["b"]);
    }

    #[test]
    fn renewal_comes_before_expiry() {
        let channel = |expires: DateTime<Utc>| Channel {
            id: "c".into(),
            connect_uri: "ws://x/".into(),
            expires: Some(expires.to_rfc3339()),
        };
        let now = Instant::now();
        let day = renewal(&channel(Utc::now() + chrono::TimeDelta::hours(24)));
        assert!(
            day > now + Duration::from_secs(22 * 3600)
                && day < now + Duration::from_secs(23 * 3600 + 1)
        );
        let soon = renewal(&channel(Utc::now() + chrono::TimeDelta::minutes(10)));
        assert!(soon < now + Duration::from_secs(301));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let settings = PushSettings::default();
        assert!(settings.backoff(0) <= Duration::from_secs(1));
        assert!(settings.backoff(3) >= Duration::from_secs(4));
        assert!(settings.backoff(30) <= Duration::from_secs(60));
        assert_eq!(settings.dead_after(), Duration::from_secs(90));
    }
}
