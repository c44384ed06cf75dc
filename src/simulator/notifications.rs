//! The Notifications API: channels, subscriptions and the WebSocket that pushes events.
//!
//! `POST /api/v2/notifications/channels` makes a channel (`{id, connectUri, expires}`);
//! `PUT`/`POST`/`GET`/`DELETE .../channels/{id}/subscriptions` replace, add to, list and
//! clear its topics, each answered `Permitted` or `Rejected` (with
//! `missingPermissions`); the WebSocket at `connectUri` (`ws://{simulator}/channels/{id}`,
//! [`socket`]) carries heartbeats, `pong`s and the events [`publish`] makes from the
//! world: queue observations (`v2.analytics.queues.{id}.observations`) whose values are
//! exactly what the observations query answers at that instant, and agent activity
//! (`v2.users.{id}.activity`).
//!
//! How strict, and on what evidence: the SDK (purecloudplatformclientv2 269) gives the
//! shapes (`Channel {id, connectUri, expires}`, `ChannelTopic {id, state: Permitted |
//! Rejected, rejectionReason, missingPermissions, selfUri}`,
//! `StatEventQueueTopicStatsNotification {group, data: [{interval, metrics: [{metric,
//! qualifier, stats}]}]}` with `stats` a map of numbers,
//! `AgentActivityChangedTopicAgentActivity`) and the endpoints (channels POST/GET with
//! `includechannels` = `token` (default) or `oauthclient`, HEAD of one channel,
//! subscriptions PUT/POST/GET/DELETE). Genesys' developer documentation gives the
//! limits: 1,000 topics a channel (more is a 400), 20 channels per user and app (a new
//! one replaces the least recently used, those without a connection first), one
//! WebSocket per channel (a second one disconnects the first), 24 h lifetime extended by
//! subscribing, heartbeats every 30 s, `v2.system.socket_closing` about a minute before
//! a maintenance close, `v2.system.no_longer_subscribed.{channelId}` when a channel loses
//! its subscriptions. The simulator serves one OAuth client, so its channel limit
//! ([`MAX_CHANNELS`], lowered by [`Notifications::limit_channels`]) is that client's.
//! Not verified, so chosen plainly here: the close codes (1000 when
//! a channel is replaced, expires or gets a second connection; 1001 for going away),
//! the `eventBody` of `no_longer_subscribed` (a `message`), that its socket stays open,
//! the `rejectionReason` wording, that a topic of a kind or id the org does not have is
//! `Rejected` rather than a 400, the error codes of the 400 and 404 answers, and the
//! `interval` of a pushed observation (from the previous look to this one), the
//! permission the agent activity topic needs (the simulator grants it unless
//! [`Notifications::reject_topics`] says otherwise), whether `PUT`/`POST` without the
//! SDK's `ignoreErrors=true` fail on a rejected topic (the SDK's parameter suggests so;
//! here they answer 200 with the topic `Rejected`), and `startTime`/`modifiedDate` of an
//! activity (the look that saw the change).

mod publish;
mod socket;

pub(super) use publish::run as publish_changes;
pub(super) use socket::connect;

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use hyper::StatusCode;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::auth::lock;
use super::codec;
use crate::world::World;
use crate::world::catalog::Dim;

/// Where channels are made and listed.
pub(super) const CHANNELS_PATH: &str = "/api/v2/notifications/channels";
/// The path of a channel's WebSocket, before its id.
pub(super) const SOCKET_PREFIX: &str = "/channels/";
/// Topics one channel may subscribe to (Genesys' documented limit).
pub const MAX_TOPICS_PER_CHANNEL: usize = 1_000;
/// Channels one OAuth client may hold; a new one replaces the least recently used.
pub const MAX_CHANNELS: usize = 20;
/// How long a channel lives after it was made or last subscribed.
const CHANNEL_LIFETIME_SECS: i64 = 24 * 3_600;

/// A topic the simulator publishes, by the index of its queue or agent in the world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Topic {
    QueueObservations(u32),
    UserActivity(u32),
}

/// What a socket task is told to do.
#[derive(Debug)]
enum Outgoing {
    /// Send this text frame.
    Frame(Utf8Bytes),
    /// Send a close frame with this code and reason, then end.
    Close(u16, &'static str),
    /// Send `v2.system.socket_closing`, then close with 1001 after this long.
    Closing(Duration),
}

/// The connected WebSocket of a channel: the serial tells a stale socket from its
/// successor when both end at once.
#[derive(Debug)]
struct Link {
    serial: u64,
    tx: mpsc::UnboundedSender<Outgoing>,
}

#[derive(Debug)]
struct Channel {
    id: String,
    /// The token that made it: `GET .../channels` lists the caller's own by default.
    token: String,
    topics: BTreeSet<String>,
    expires: DateTime<Utc>,
    last_used: Instant,
    link: Option<Link>,
}

impl Channel {
    fn close(&mut self, code: u16, reason: &'static str) {
        if let Some(link) = self.link.take() {
            let _ = link.tx.send(Outgoing::Close(code, reason));
        }
    }

    fn json(&self, base: &str) -> Value {
        json!({
            "id": self.id,
            "connectUri": format!("{base}{SOCKET_PREFIX}{}", self.id),
            "expires": iso(self.expires),
        })
    }
}

#[derive(Debug, Default)]
struct State {
    channels: Vec<Channel>,
    /// `reject_topics`: topic prefix and the permission its subscriptions lack.
    rejections: Vec<(String, String)>,
    drop_until: Option<Instant>,
    last_change: HashMap<String, (DateTime<Utc>, Instant)>,
    next_serial: u64,
    /// `limit_channels`: the client's channel limit, [`MAX_CHANNELS`] unless a test
    /// lowers it.
    channel_limit: Option<usize>,
}

impl State {
    /// Forgets the channels whose lifetime is over at `now`, closing their sockets.
    fn sweep(&mut self, now: DateTime<Utc>) {
        self.channels.retain_mut(|channel| {
            let alive = channel.expires > now;
            if !alive {
                channel.close(1000, "channel expired");
            }
            alive
        });
    }

    fn channel(&mut self, id: &str, now: DateTime<Utc>) -> Result<&mut Channel, Refusal> {
        self.sweep(now);
        self.channels
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| Refusal::not_found(id))
    }
}

/// Why a Notifications request is refused: the status, code and message of its
/// Genesys error body.
#[derive(Debug)]
pub(super) struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    fn not_found(id: &str) -> Refusal {
        Refusal {
            status: StatusCode::NOT_FOUND,
            code: "not.found",
            message: format!("Channel {id} not found"),
        }
    }

    fn bad_request(message: String) -> Refusal {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            code: "bad.request",
            message,
        }
    }
}

/// How a subscriptions request changes a channel's topics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Subscribe {
    /// `PUT`: the body becomes the channel's topics.
    Replace,
    /// `POST`: the body's topics are added.
    Add,
}

/// The simulator's Notifications API: its channels, and the knobs tests turn
/// ([`super::Simulator::notifications`]).
pub struct Notifications {
    /// `ws://{host:port}`, the start of every `connectUri`.
    base: String,
    heartbeat_interval: Duration,
    push_period: Duration,
    /// Topic ids to world indexes: queue ids through the world, agent ids here.
    agents: HashMap<String, u32>,
    state: Mutex<State>,
    published: AtomicU64,
    /// Channels removed to make room while a socket was connected to them.
    evicted_connected: AtomicU64,
    heartbeats_stopped: AtomicBool,
    /// Turns true when the simulator stops: every socket closes.
    stopped: watch::Receiver<bool>,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications")
            .field("base", &self.base)
            .field("channels_open", &self.channels_open())
            .field("published", &self.published())
            .finish_non_exhaustive()
    }
}

impl Notifications {
    pub(super) fn new(
        base: String,
        world: &World,
        heartbeat_interval: Duration,
        push_period: Duration,
        stopped: watch::Receiver<bool>,
    ) -> Notifications {
        let agents = world
            .agent_ids()
            .iter()
            .enumerate()
            .map(|(index, id)| (id.clone(), index as u32))
            .collect();
        Notifications {
            base,
            heartbeat_interval,
            push_period,
            agents,
            state: Mutex::new(State::default()),
            published: AtomicU64::new(0),
            evicted_connected: AtomicU64::new(0),
            heartbeats_stopped: AtomicBool::new(false),
            stopped,
        }
    }

    // ---- the knobs ----

    /// Closes every open socket with 1001 (going away), as a restart of the
    /// notification service does; the channels stay and can be connected again.
    pub fn close_sockets(&self) {
        self.close_sockets_with(1001);
    }

    /// Closes every open socket with close code `code` (Genesys does not document which
    /// codes it sends when, so a client must take any alike); the channels stay.
    pub fn close_sockets_with(&self, code: u16) {
        for channel in &mut lock(&self.state).channels {
            channel.close(code, "closed");
        }
    }

    /// Sends `v2.system.no_longer_subscribed.{channelId}` on every open socket, and
    /// those channels lose their topics (as when the token that subscribed them is
    /// revoked); the sockets stay open, carrying nothing more.
    pub fn no_longer_subscribed(&self) {
        for channel in &mut lock(&self.state).channels {
            if let Some(link) = &channel.link {
                let topic = format!("v2.system.no_longer_subscribed.{}", channel.id);
                let frame = event_frame(&topic, json!({"message": "no longer subscribed"}));
                let _ = link.tx.send(Outgoing::Frame(Utf8Bytes::from(frame)));
                channel.topics.clear();
            }
        }
    }

    /// The client may hold `limit` channels from now on (Genesys: [`MAX_CHANNELS`]):
    /// creating one more removes the least recently used, those without a connection
    /// first, as at 20.
    pub fn limit_channels(&self, limit: usize) {
        lock(&self.state).channel_limit = Some(limit.max(1));
    }

    /// Channels removed to make room for a new one while a socket was connected to
    /// them: an exporter that keeps within its channel budget never causes one.
    pub fn evicted_connected(&self) -> u64 {
        self.evicted_connected.load(Ordering::Relaxed)
    }

    /// Sends an event of `topic` with `body` as its `eventBody`, whatever it holds, on
    /// the sockets of the channels subscribed to it: a body not as documented is one
    /// the exporter must skip and count once.
    pub fn send_event(&self, topic: &str, body: Value) {
        let frame = Utf8Bytes::from(event_frame(topic, body));
        for channel in &lock(&self.state).channels {
            if let Some(link) = &channel.link
                && channel.topics.contains(topic)
            {
                let _ = link.tx.send(Outgoing::Frame(frame.clone()));
            }
        }
    }

    /// Sends `v2.system.socket_closing` on every open socket and closes each with 1001
    /// `grace` later, as before a maintenance close (about a minute in production).
    pub fn socket_closing(&self, grace: Duration) {
        for channel in &lock(&self.state).channels {
            if let Some(link) = &channel.link {
                let _ = link.tx.send(Outgoing::Closing(grace));
            }
        }
    }

    /// Every channel expires now: its socket is closed, and it answers 404 afterwards.
    pub fn expire_channels(&self) {
        for mut channel in std::mem::take(&mut lock(&self.state).channels) {
            channel.close(1000, "channel expired");
        }
    }

    /// Stops (or restarts) the heartbeats of every socket, as a connection that died
    /// without closing would look.
    pub fn stop_heartbeats(&self, stopped: bool) {
        self.heartbeats_stopped.store(stopped, Ordering::Relaxed);
    }

    /// Events are silently not sent for `duration` from now (the changes they carried
    /// are lost, as on a real gap); heartbeats go on.
    pub fn drop_events_for(&self, duration: Duration) {
        lock(&self.state).drop_until = Some(Instant::now() + duration);
    }

    /// Subscriptions to topics starting with `prefix` come back `Rejected` with
    /// `missingPermissions: [permission]` from now on (topics already subscribed stay).
    pub fn reject_topics(&self, prefix: &str, permission: &str) {
        lock(&self.state)
            .rejections
            .push((prefix.to_string(), permission.to_string()));
    }

    /// Channels that have a connected socket now.
    pub fn channels_open(&self) -> usize {
        lock(&self.state)
            .channels
            .iter()
            .filter(|c| c.link.is_some())
            .count()
    }

    /// Events sent so far (one per socket it went to; heartbeats, pongs and system
    /// events not counted).
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// When the simulator last published a change of `topic`: its own clock's time of
    /// the look that found it, and the host's instant it was handed to the sockets.
    pub fn last_change(&self, topic: &str) -> Option<(DateTime<Utc>, Instant)> {
        lock(&self.state).last_change.get(topic).copied()
    }

    // ---- the REST side ----

    /// `POST .../channels`: a new channel, replacing the least recently used one (those
    /// without a connection first) when the client already has [`MAX_CHANNELS`].
    pub(super) fn create_channel(&self, token: &str, now: DateTime<Utc>) -> Value {
        let mut state = lock(&self.state);
        state.sweep(now);
        if state.channels.len() >= state.channel_limit.unwrap_or(MAX_CHANNELS) {
            let victim = state
                .channels
                .iter()
                .enumerate()
                .min_by_key(|(_, c)| (c.link.is_some(), c.last_used))
                .map(|(index, _)| index);
            if let Some(index) = victim {
                let mut channel = state.channels.remove(index);
                if channel.link.is_some() {
                    self.evicted_connected.fetch_add(1, Ordering::Relaxed);
                }
                tracing::debug!(channel = %channel.id, connected = channel.link.is_some(), "simulator replaced the least recently used channel");
                channel.close(1000, "channel replaced by a newer one");
            }
        }
        let channel = Channel {
            id: codec::random_uuid(),
            token: token.to_string(),
            topics: BTreeSet::new(),
            expires: now + TimeDelta::seconds(CHANNEL_LIFETIME_SECS),
            last_used: Instant::now(),
            link: None,
        };
        let answer = channel.json(&self.base);
        state.channels.push(channel);
        answer
    }

    /// `GET .../channels`: the caller's channels, or with `includechannels=oauthclient`
    /// every channel of the client (other tokens' without their ids).
    pub(super) fn list_channels(
        &self,
        token: &str,
        query: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Value, Refusal> {
        let include = codec::form_pairs(query.unwrap_or(""))
            .into_iter()
            .find(|(k, _)| k == "includechannels")
            .map(|(_, v)| v);
        let everyone = match include.as_deref() {
            None | Some("token") => false,
            Some("oauthclient") => true,
            Some(other) => {
                return Err(Refusal::bad_request(format!(
                    "includechannels must be 'token' or 'oauthclient', not '{other}'"
                )));
            }
        };
        let mut state = lock(&self.state);
        state.sweep(now);
        let entities: Vec<Value> = state
            .channels
            .iter()
            .filter(|c| everyone || c.token == token)
            .map(|c| {
                if c.token == token {
                    c.json(&self.base)
                } else {
                    json!({"expires": iso(c.expires)})
                }
            })
            .collect();
        Ok(json!({ "entities": entities }))
    }

    /// `HEAD .../channels/{id}`: whether the channel exists.
    pub(super) fn channel_exists(&self, id: &str, now: DateTime<Utc>) -> bool {
        lock(&self.state).channel(id, now).is_ok()
    }

    /// `PUT`/`POST .../channels/{id}/subscriptions`: reads the body (`[{"id": topic}]`),
    /// judges each topic, changes the channel's topics and extends its life.
    pub(super) fn subscribe(
        &self,
        id: &str,
        how: Subscribe,
        body: &[u8],
        world: &World,
        now: DateTime<Utc>,
    ) -> Result<Value, Refusal> {
        let requested = requested_topics(body)?;
        let mut state = lock(&self.state);
        let rejections = state.rejections.clone();
        let channel = state.channel(id, now)?;
        let mut entities = Vec::with_capacity(requested.len());
        let mut permitted = match how {
            Subscribe::Replace => BTreeSet::new(),
            Subscribe::Add => channel.topics.clone(),
        };
        for name in requested {
            let missing = rejections
                .iter()
                .find(|(prefix, _)| name.starts_with(prefix.as_str()))
                .map(|(_, permission)| permission.clone());
            let entity = match (self.topic(&name, world), missing) {
                (None, _) => json!({
                    "id": name,
                    "state": "Rejected",
                    "rejectionReason": "The topic does not exist in this organization",
                }),
                (Some(_), Some(permission)) => json!({
                    "id": name,
                    "state": "Rejected",
                    "rejectionReason": "Missing permissions",
                    "missingPermissions": [permission],
                }),
                (Some(_), None) => {
                    let entity = json!({"id": name, "state": "Permitted"});
                    permitted.insert(name);
                    entity
                }
            };
            entities.push(entity);
        }
        if permitted.len() > MAX_TOPICS_PER_CHANNEL {
            return Err(Refusal::bad_request(format!(
                "A channel may subscribe to at most {MAX_TOPICS_PER_CHANNEL} topics; this \
                 request would make {}",
                permitted.len()
            )));
        }
        channel.topics = permitted;
        channel.expires = now + TimeDelta::seconds(CHANNEL_LIFETIME_SECS);
        channel.last_used = Instant::now();
        Ok(json!({ "entities": entities }))
    }

    /// `GET .../channels/{id}/subscriptions`: the channel's topics.
    pub(super) fn subscriptions(&self, id: &str, now: DateTime<Utc>) -> Result<Value, Refusal> {
        let mut state = lock(&self.state);
        let channel = state.channel(id, now)?;
        let entities: Vec<Value> = channel
            .topics
            .iter()
            .map(|topic| json!({"id": topic, "state": "Permitted"}))
            .collect();
        Ok(json!({ "entities": entities }))
    }

    /// `DELETE .../channels/{id}/subscriptions`: the channel keeps no topic.
    pub(super) fn unsubscribe_all(&self, id: &str, now: DateTime<Utc>) -> Result<(), Refusal> {
        let mut state = lock(&self.state);
        let channel = state.channel(id, now)?;
        channel.topics.clear();
        channel.last_used = Instant::now();
        Ok(())
    }

    /// The topic `name` stands for, when the org has it.
    pub(super) fn topic(&self, name: &str, world: &World) -> Option<Topic> {
        if let Some(id) = name
            .strip_prefix("v2.analytics.queues.")
            .and_then(|rest| rest.strip_suffix(".observations"))
        {
            return world
                .dim_code(Dim::QueueId, id)
                .map(Topic::QueueObservations);
        }
        let id = name
            .strip_prefix("v2.users.")
            .and_then(|rest| rest.strip_suffix(".activity"))?;
        self.agents.get(id).map(|&agent| Topic::UserActivity(agent))
    }

    // ---- the socket and publisher side ----

    /// Connects a socket to channel `id`: the previous socket, if any, is closed.
    fn attach(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(u64, mpsc::UnboundedReceiver<Outgoing>), Refusal> {
        let mut state = lock(&self.state);
        state.next_serial += 1;
        let serial = state.next_serial;
        let channel = state.channel(id, now)?;
        channel.close(1000, "another connection to this channel");
        let (tx, rx) = mpsc::unbounded_channel();
        channel.link = Some(Link { serial, tx });
        channel.last_used = Instant::now();
        Ok((serial, rx))
    }

    /// The socket `serial` of channel `id` has ended.
    fn detach(&self, id: &str, serial: u64) {
        let mut state = lock(&self.state);
        if let Some(channel) = state.channels.iter_mut().find(|c| c.id == id)
            && channel
                .link
                .as_ref()
                .is_some_and(|link| link.serial == serial)
        {
            channel.link = None;
        }
    }

    /// The topics some channel subscribes to now (expired channels forgotten first).
    fn wanted(&self, world: &World, now: DateTime<Utc>) -> BTreeSet<Topic> {
        let mut state = lock(&self.state);
        state.sweep(now);
        state
            .channels
            .iter()
            .flat_map(|c| c.topics.iter())
            .filter_map(|name| self.topic(name, world))
            .collect()
    }

    /// Hands each `(topic, eventBody)` to the sockets of the channels subscribed to it,
    /// unless events are being dropped; notes when each topic's change was published.
    fn deliver(&self, events: Vec<(String, Value)>, now: DateTime<Utc>) {
        if events.is_empty() {
            return;
        }
        let mut state = lock(&self.state);
        let at = Instant::now();
        if state.drop_until.is_some_and(|until| at < until) {
            return;
        }
        let mut sent = 0;
        for (topic, body) in events {
            let frame = Utf8Bytes::from(event_frame(&topic, body));
            for channel in &state.channels {
                if let Some(link) = &channel.link
                    && channel.topics.contains(&topic)
                    && link.tx.send(Outgoing::Frame(frame.clone())).is_ok()
                {
                    sent += 1;
                }
            }
            state.last_change.insert(topic, (now, at));
        }
        self.published.fetch_add(sent, Ordering::Relaxed);
    }
}

/// A frame of the socket: `{topicName, version, eventBody, metadata: {CorrelationId}}`.
fn event_frame(topic: &str, body: Value) -> String {
    json!({
        "topicName": topic,
        "version": "2",
        "eventBody": body,
        "metadata": {"CorrelationId": codec::random_uuid()},
    })
    .to_string()
}

/// The topics of a subscriptions body, `[{"id": topic}, ...]`, without repeats.
fn requested_topics(body: &[u8]) -> Result<Vec<String>, Refusal> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::bad_request(format!("malformed JSON request body: {e}")))?;
    let Value::Array(items) = value else {
        return Err(Refusal::bad_request(
            "the body must be a JSON array of ChannelTopic objects ([{\"id\": topic}])".into(),
        ));
    };
    let mut seen = BTreeSet::new();
    let mut topics = Vec::with_capacity(items.len());
    for item in items {
        let Some(id) = item.get("id").and_then(Value::as_str) else {
            return Err(Refusal::bad_request(
                "each ChannelTopic needs an \"id\" naming its topic".into(),
            ));
        };
        if seen.insert(id.to_string()) {
            topics.push(id.to_string());
        }
    }
    Ok(topics)
}

/// ISO-8601 UTC with milliseconds, as Genesys writes dates.
fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}
