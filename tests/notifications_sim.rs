//! The simulator's Notifications API, held to Genesys' shapes and limits with a real
//! WebSocket client over loopback: channels, subscriptions, heartbeats, pongs, and queue
//! observation events whose values are what the observations query answers at the same
//! instant.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use common::{simulator, token};
use genesys_cloud_exporter::simulator::{Simulator, SimulatorConfig};

const CHANNELS: &str = "/api/v2/notifications/channels";

/// A weekday noon, busy: every queue has conversations and agents in several states.
fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

async fn quick_simulator() -> Simulator {
    simulator(SimulatorConfig {
        heartbeat_interval: Duration::from_millis(200),
        push_period: Duration::from_millis(100),
        busy_all_day: true,
        ..SimulatorConfig::default()
    })
    .await
}

/// The REST side, with one token.
struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn new(sim: &Simulator) -> Api {
        Api {
            base: sim.base_url(),
            token: token(sim).await,
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("simulator answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn create_channel(&self) -> Value {
        let (status, channel) = self.call(reqwest::Method::POST, CHANNELS, None).await;
        assert_eq!(status, 200, "{channel}");
        channel
    }

    async fn subscribe(&self, id: &str, topics: &[String]) -> (u16, Value) {
        let body: Vec<Value> = topics.iter().map(|t| json!({"id": t})).collect();
        let path = format!("{CHANNELS}/{id}/subscriptions");
        self.call(reqwest::Method::PUT, &path, Some(json!(body)))
            .await
    }
}

type Socket = WebSocketStream<TcpStream>;

/// Opens the WebSocket at `connect_uri`, exactly as given.
async fn connect(connect_uri: &str) -> Socket {
    let host = connect_uri
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .expect("a ws:// connectUri");
    let stream = TcpStream::connect(host).await.expect("connects");
    let (socket, response) = tokio_tungstenite::client_async(connect_uri, stream)
        .await
        .expect("WebSocket handshake");
    assert_eq!(response.status(), 101);
    socket
}

/// The next JSON text frame.
async fn next_frame(socket: &mut Socket) -> Value {
    loop {
        match socket.next().await.expect("socket open").expect("frame") {
            Message::Text(text) => return serde_json::from_str(text.as_str()).expect("JSON"),
            Message::Close(frame) => panic!("socket closed: {frame:?}"),
            _ => {}
        }
    }
}

/// The next frame of a topic other than `channel.metadata`.
async fn next_event(socket: &mut Socket) -> Value {
    loop {
        let frame = next_frame(socket).await;
        if frame["topicName"] != "channel.metadata" {
            return frame;
        }
    }
}

fn queue_topic(queue_id: &str) -> String {
    format!("v2.analytics.queues.{queue_id}.observations")
}

/// Groups of observations by `(queueId, mediaType)`, each a map of
/// `(metric, qualifier)` to count, zeros left out (absent means 0).
type Groups = BTreeMap<(String, String), BTreeMap<(String, String), u64>>;

fn apply(groups: &mut Groups, group: &Value, entries: &[Value]) {
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let key = (text(&group["queueId"]), text(&group["mediaType"]));
    let state = groups.entry(key).or_default();
    for entry in entries {
        let id = (text(&entry["metric"]), text(&entry["qualifier"]));
        match entry["stats"]["count"].as_f64().expect("a count") as u64 {
            0 => state.remove(&id),
            count => state.insert(id, count),
        };
    }
}

/// What the observations query answers for `queues` now, as [`Groups`].
async fn queried(sim: &Simulator, queues: &[&str]) -> Groups {
    let predicates: Vec<Value> = queues
        .iter()
        .map(|id| json!({"type": "dimension", "dimension": "queueId", "operator": "matches", "value": id}))
        .collect();
    let answer = common::observations(
        sim,
        &json!({
            "filter": {"type": "or", "predicates": predicates},
            "metrics": ["oWaiting", "oInteracting", "oAlerting", "oOnQueueUsers", "oOffQueueUsers",
                        "oMemberUsers", "oActiveUsers", "oUserRoutingStatuses", "oUserPresences"],
        }),
    )
    .await;
    let mut groups = Groups::new();
    for result in answer["results"].as_array().expect("results") {
        apply(
            &mut groups,
            &result["group"],
            result["data"].as_array().unwrap(),
        );
    }
    groups.retain(|_, entries| !entries.is_empty());
    groups
}

/// Reads observation events until `sim` has published `total` events, applying them.
async fn read_events(
    sim: &Simulator,
    socket: &mut Socket,
    groups: &mut Groups,
    received: &mut u64,
) {
    loop {
        let event = next_event(socket).await;
        assert_eq!(event["version"], "2");
        assert!(event["metadata"]["CorrelationId"].is_string(), "{event}");
        let body = &event["eventBody"];
        let queue = body["group"]["queueId"].as_str().expect("queueId");
        assert_eq!(event["topicName"], queue_topic(queue));
        let data = body["data"].as_array().expect("data");
        assert_eq!(data.len(), 1, "{body}");
        assert!(
            data[0]["interval"]
                .as_str()
                .is_some_and(|i| i.contains('/'))
        );
        apply(
            groups,
            &body["group"],
            data[0]["metrics"].as_array().unwrap(),
        );
        *received += 1;
        // Every event of one look is handed over at once: once one is here, the count
        // includes all of its look's.
        if *received == sim.notifications().published() {
            break;
        }
    }
    groups.retain(|_, entries| !entries.is_empty());
}

#[tokio::test]
async fn a_channel_pushes_heartbeats_pongs_and_what_the_observations_query_answers() {
    let sim = quick_simulator().await;
    sim.freeze_clock(noon());
    let api = Api::new(&sim).await;
    let channel = api.create_channel().await;
    let id = channel["id"].as_str().expect("id");
    let uri = channel["connectUri"].as_str().expect("connectUri");
    assert_eq!(uri, format!("ws://{}/channels/{id}", sim.local_addr()));
    let expires: DateTime<Utc> = channel["expires"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires, noon() + chrono::TimeDelta::hours(24));

    let mut socket = connect(uri).await;
    // Heartbeats come on their own; a ping is answered with a pong.
    loop {
        let frame = next_frame(&mut socket).await;
        if frame["eventBody"]["message"] == "WebSocket Heartbeat" {
            assert_eq!(frame["topicName"], "channel.metadata");
            break;
        }
    }
    socket
        .send(Message::text(r#"{"message":"ping"}"#))
        .await
        .unwrap();
    while next_frame(&mut socket).await["eventBody"]["message"] != "pong" {}

    let queues: Vec<String> = sim.queues()[..2].iter().map(|q| q.id.clone()).collect();
    let mut topics: Vec<String> = queues.iter().map(|q| queue_topic(q)).collect();
    topics.push(queue_topic("00000000-0000-4000-8000-00000000dead"));
    let (status, listing) = api.subscribe(id, &topics).await;
    assert_eq!(status, 200, "{listing}");
    let states: Vec<&str> = listing["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["Permitted", "Permitted", "Rejected"]);

    // The first look sends every group of the new topics: the query's answer.
    let ids: Vec<&str> = queues.iter().map(String::as_str).collect();
    let mut pushed = Groups::new();
    let mut received = 0;
    read_events(&sim, &mut socket, &mut pushed, &mut received).await;
    assert!(
        pushed.len() > 2,
        "conversation groups at a busy noon: {pushed:?}"
    );
    assert_eq!(pushed, queried(&sim, &ids).await);

    // Five minutes on, what changed is pushed, and again adds up to the query's answer.
    sim.freeze_clock(noon() + chrono::TimeDelta::minutes(5));
    read_events(&sim, &mut socket, &mut pushed, &mut received).await;
    assert_eq!(pushed, queried(&sim, &ids).await);
    let changed_at: Vec<DateTime<Utc>> = topics[..2]
        .iter()
        .filter_map(|topic| sim.notifications().last_change(topic))
        .map(|(at, _)| at)
        .collect();
    assert!(changed_at.contains(&(noon() + chrono::TimeDelta::minutes(5))));
}

#[tokio::test]
async fn channels_and_subscriptions_keep_to_genesys_shapes_and_limits() {
    let sim = quick_simulator().await;
    let api = Api::new(&sim).await;
    let channel = api.create_channel().await;
    let id = channel["id"].as_str().unwrap();
    let queue = |i: usize| queue_topic(&sim.queues()[i].id);

    // A token is needed, and channel requests count against the rate limit.
    let anonymous = reqwest::Client::new()
        .post(format!("{}{CHANNELS}", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let counted = api
        .http
        .head(format!("{}{CHANNELS}/{id}", sim.base_url()))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(counted.status(), 200);
    assert!(counted.headers().contains_key("inin-ratelimit-count"));

    // PUT replaces, POST adds, GET lists, DELETE clears.
    assert_eq!(api.subscribe(id, &[queue(0), queue(1)]).await.0, 200);
    let path = format!("{CHANNELS}/{id}/subscriptions");
    let added = api
        .call(
            reqwest::Method::POST,
            &path,
            Some(json!([{"id": queue(2)}])),
        )
        .await;
    assert_eq!(added.0, 200, "{}", added.1);
    let (_, listed) = api.call(reqwest::Method::GET, &path, None).await;
    let mut names: Vec<String> = listed["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    let mut expected = vec![queue(0), queue(1), queue(2)];
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(api.subscribe(id, &[queue(3)]).await.0, 200);
    let (_, listed) = api.call(reqwest::Method::GET, &path, None).await;
    assert_eq!(listed["entities"].as_array().unwrap().len(), 1);
    let (deleted, _) = api.call(reqwest::Method::DELETE, &path, None).await;
    assert!((200..300).contains(&deleted));
    let (_, listed) = api.call(reqwest::Method::GET, &path, None).await;
    assert_eq!(listed["entities"], json!([]));

    // More than 1,000 topics on a channel is a 400 naming the limit.
    let big = simulator(SimulatorConfig {
        queue_count: 1_001,
        ..SimulatorConfig::default()
    })
    .await;
    let big_api = Api::new(&big).await;
    let big_channel = big_api.create_channel().await;
    let big_id = big_channel["id"].as_str().unwrap();
    let all: Vec<String> = big.queues().iter().map(|q| queue_topic(&q.id)).collect();
    let (status, refusal) = big_api.subscribe(big_id, &all).await;
    assert_eq!(status, 400, "{refusal}");
    assert!(
        refusal["message"].as_str().unwrap().contains("1000"),
        "{refusal}"
    );
    assert_eq!(big_api.subscribe(big_id, &all[..1_000]).await.0, 200);

    // A channel that does not exist: 404 everywhere, and no socket.
    let missing = format!("{CHANNELS}/00000000-0000-4000-8000-000000000000/subscriptions");
    assert_eq!(api.call(reqwest::Method::GET, &missing, None).await.0, 404);
    let (_, all_channels) = api.call(reqwest::Method::GET, CHANNELS, None).await;
    assert_eq!(all_channels["entities"][0]["id"], id);
    let stream = TcpStream::connect(sim.local_addr()).await.unwrap();
    let uri = format!("ws://{}/channels/nope", sim.local_addr());
    assert!(tokio_tungstenite::client_async(uri, stream).await.is_err());
}

/// The close frame's code, once the socket closes (frames before it skipped).
async fn close_code(socket: &mut Socket) -> u16 {
    loop {
        match socket.next().await {
            Some(Ok(Message::Close(frame))) => return frame.map_or(0, |f| u16::from(f.code)),
            Some(Ok(_)) => {}
            other => panic!("socket ended without a close frame: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_knobs_break_sockets_channels_and_subscriptions_as_asked() {
    let sim = quick_simulator().await;
    let api = Api::new(&sim).await;
    let knobs = sim.notifications();
    let channel = api.create_channel().await;
    let id = channel["id"].as_str().unwrap();
    let uri = channel["connectUri"].as_str().unwrap();

    // close_sockets: 1001; the channel stays and takes a new socket.
    let mut socket = connect(uri).await;
    assert_eq!(knobs.channels_open(), 1);
    knobs.close_sockets();
    assert_eq!(close_code(&mut socket).await, 1001);
    let mut socket = connect(uri).await;

    // A second connection to the channel closes the first.
    let mut second = connect(uri).await;
    assert_eq!(close_code(&mut socket).await, 1000);

    // socket_closing: the warning, then 1001 after the grace.
    knobs.socket_closing(Duration::from_millis(50));
    assert_eq!(
        next_event(&mut second).await["topicName"],
        "v2.system.socket_closing"
    );
    assert_eq!(close_code(&mut second).await, 1001);

    // Heartbeats stop and start again.
    let mut socket = connect(uri).await;
    knobs.stop_heartbeats(true);
    knobs.stop_heartbeats(false);
    while next_frame(&mut socket).await["eventBody"]["message"] != "WebSocket Heartbeat" {}

    // reject_topics: Rejected, naming the permission to grant.
    knobs.reject_topics("v2.analytics.queues.", "analytics:queueObservation:view");
    let (status, listing) = api.subscribe(id, &[queue_topic(&sim.queues()[0].id)]).await;
    assert_eq!(status, 200);
    assert_eq!(listing["entities"][0]["state"], "Rejected");
    assert_eq!(
        listing["entities"][0]["missingPermissions"],
        json!(["analytics:queueObservation:view"])
    );

    // expire_channels: the socket closes and the channel is gone.
    knobs.expire_channels();
    assert_eq!(close_code(&mut socket).await, 1000);
    let head = api
        .http
        .head(format!("{}{CHANNELS}/{id}", sim.base_url()))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 404);
}

#[tokio::test]
async fn a_twenty_first_channel_replaces_the_least_recently_used() {
    let sim = quick_simulator().await;
    let api = Api::new(&sim).await;
    let first = api.create_channel().await;
    let mut socket = connect(first["connectUri"].as_str().unwrap()).await;
    let mut ids = vec![first["id"].as_str().unwrap().to_string()];
    for _ in 1..20 {
        ids.push(
            api.create_channel().await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // Channels without a connection go first: the second one, not the connected first.
    api.create_channel().await;
    let (_, listed) = api.call(reqwest::Method::GET, CHANNELS, None).await;
    let listed: Vec<&str> = listed["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 20);
    assert!(listed.contains(&ids[0].as_str()));
    assert!(!listed.contains(&ids[1].as_str()));
    // When every channel is connected, the least recently used one goes, socket and all.
    let mut others = Vec::new();
    for id in &listed[1..] {
        others.push(connect(&format!("ws://{}/channels/{id}", sim.local_addr())).await);
    }
    api.create_channel().await;
    assert_eq!(close_code(&mut socket).await, 1000);
}

#[tokio::test]
async fn agent_activity_is_pushed_when_an_agent_changes() {
    let sim = quick_simulator().await;
    sim.freeze_clock(noon());
    let api = Api::new(&sim).await;
    let channel = api.create_channel().await;
    let mut socket = connect(channel["connectUri"].as_str().unwrap()).await;
    let users = sim.listing("/api/v2/users");
    let topics: Vec<String> = users[..10]
        .iter()
        .map(|(id, _)| format!("v2.users.{id}.activity"))
        .collect();
    let (status, listing) = api
        .subscribe(channel["id"].as_str().unwrap(), &topics)
        .await;
    assert_eq!(status, 200, "{listing}");
    let presences = sim.listing("/api/v2/presence/definitions");
    let statuses = [
        "OFF_QUEUE",
        "IDLE",
        "INTERACTING",
        "NOT_RESPONDING",
        "COMMUNICATING",
    ];
    // Every agent's activity at the first look, then a change an hour later.
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 10 {
        let event = next_event(&mut socket).await;
        let body = &event["eventBody"];
        assert_eq!(
            event["topicName"],
            format!("v2.users.{}.activity", body["id"].as_str().unwrap())
        );
        assert!(
            statuses.contains(&body["routingStatus"]["status"].as_str().unwrap()),
            "{body}"
        );
        let presence = body["presence"]["presenceDefinition"]["id"]
            .as_str()
            .unwrap();
        assert!(presences.iter().any(|(id, _)| id == presence), "{body}");
        assert!(body["activeQueueIds"].is_array());
        seen.insert(body["id"].as_str().unwrap().to_string());
    }
    let later = noon() + chrono::TimeDelta::hours(1);
    sim.freeze_clock(later);
    let event = next_event(&mut socket).await;
    let changed: Vec<DateTime<Utc>> = ["routingStatus", "presence"]
        .iter()
        .zip(["startTime", "modifiedDate"])
        .map(|(part, field)| {
            event["eventBody"][part][field]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(changed.contains(&later), "{event}");
}
