//! The publisher: every `push_period` it looks at the world at the simulator's clock and
//! publishes what changed for the subscribed topics.
//!
//! A queue observations event is one group of the observations query's answer for that
//! queue (`{queueId, mediaType}` for conversation counts, `{queueId}` for member counts),
//! computed by the very code that answers the query ([`Observed::results`]), so a pushed
//! value is what a query at that instant returns. An event carries the group's entries
//! as the query does (absent means 0), plus a count of 0 for every entry its previous
//! event had that is now gone, so a client may either replace the group or apply the
//! entries. A topic newly subscribed gets its groups at the next look.
//!
//! Cheap at a thousand queues once a second: the conversations that can be in a state
//! (those arrived in the last [`MAX_SPAN_MS`]) are generated once per minute of arrival
//! and kept, instead of generated again at every look.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::super::Shared;
use super::super::directory::system_presence_spelling;
use super::super::members::queues_of_agents;
use super::super::observations::Observed;
use super::{Topic, iso};
use crate::genesys::catalog::OBSERVATION_METRICS;
use crate::world::agents::{self, AgentState};
use crate::world::{Conversation, MAX_SPAN_MS, Media, World};

const MINUTE_MS: i64 = 60_000;

/// Looks at the world every `push_period` until the simulator stops.
pub(in crate::simulator) async fn run(shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    let period = shared.notifications.push_period;
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut looker = Looker::default();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stopped.changed() => break,
        }
        let now = shared.faults.now();
        let wanted = shared.notifications.wanted(&shared.world, now);
        if wanted.is_empty() {
            looker = Looker::default();
            continue;
        }
        let worker = Arc::clone(&shared);
        let period = TimeDelta::from_std(period).unwrap_or_default();
        let looked = tokio::task::spawn_blocking(move || {
            let events = looker.look(&worker.world, &wanted, now, period);
            (looker, events)
        })
        .await;
        match looked {
            Ok((kept, events)) => {
                looker = kept;
                shared.notifications.deliver(events, now);
            }
            Err(error) => {
                tracing::warn!(%error, "simulator notifications look failed");
                looker = Looker::default();
            }
        }
    }
}

/// A group of the observations answer: its queue, and its media type for conversation
/// counts.
type GroupKey = (u32, Option<Media>);

/// What the publisher remembers between looks.
#[derive(Default)]
struct Looker {
    /// The queues whose conversations `minutes` holds.
    queues: Vec<u32>,
    /// Conversations of those queues by minute of arrival.
    minutes: BTreeMap<i64, Vec<Conversation>>,
    /// Each group's entries at the last look (`metric`, `qualifier`, `stats`).
    groups: HashMap<GroupKey, Vec<Value>>,
    /// Each watched agent's state at the last look, and since when (the look that saw
    /// it change).
    agents: HashMap<u32, Activity>,
}

/// An agent's state as its activity topic tells it.
#[derive(Clone, Copy)]
struct Activity {
    state: AgentState,
    routing_since: DateTime<Utc>,
    presence_since: DateTime<Utc>,
}

impl Looker {
    /// The events of what changed since the last look: `(topic, eventBody)`.
    fn look(
        &mut self,
        world: &World,
        wanted: &BTreeSet<Topic>,
        now: DateTime<Utc>,
        period: TimeDelta,
    ) -> Vec<(String, Value)> {
        let queues: Vec<u32> = wanted
            .iter()
            .filter_map(|topic| match topic {
                Topic::QueueObservations(queue) => Some(*queue),
                Topic::UserActivity(_) => None,
            })
            .collect();
        let interval = format!("{}/{}", iso(now - period), iso(now));
        let mut events = self.queue_events(world, &queues, now.timestamp_millis(), &interval);
        let agents: Vec<u32> = wanted
            .iter()
            .filter_map(|topic| match topic {
                Topic::UserActivity(agent) => Some(*agent),
                Topic::QueueObservations(_) => None,
            })
            .collect();
        events.extend(self.agent_events(world, &agents, now));
        events
    }

    /// `v2.users.{id}.activity` of every watched agent whose routing status or presence
    /// changed (every one at its first look).
    fn agent_events(
        &mut self,
        world: &World,
        agents: &[u32],
        now: DateTime<Utc>,
    ) -> Vec<(String, Value)> {
        let wanted: BTreeSet<u32> = agents.iter().copied().collect();
        self.agents.retain(|agent, _| wanted.contains(agent));
        let mut memberships: Option<HashMap<u32, Vec<&str>>> = None;
        let mut events = Vec::new();
        for &agent in agents {
            let state = agents::state(world, agent, now.timestamp_millis());
            let before = self.agents.get(&agent).copied();
            if before.is_some_and(|b| b.state == state) {
                continue;
            }
            let activity = Activity {
                state,
                routing_since: match before {
                    Some(b) if b.state.routing == state.routing => b.routing_since,
                    _ => now,
                },
                presence_since: match before {
                    Some(b) if b.state.presence == state.presence => b.presence_since,
                    _ => now,
                },
            };
            self.agents.insert(agent, activity);
            let queues = memberships.get_or_insert_with(|| queues_of_agents(world));
            let id = &world.agent_ids()[agent as usize];
            let active: &[&str] = queues.get(&agent).map(Vec::as_slice).unwrap_or(&[]);
            events.push((
                format!("v2.users.{id}.activity"),
                json!({
                    "id": id,
                    "routingStatus": {
                        "status": state.routing.name(),
                        "startTime": iso(activity.routing_since),
                    },
                    "presence": {
                        "presenceDefinition": {
                            "id": state.presence.org_id(world),
                            "systemPresence": system_presence_spelling(state.presence),
                        },
                        "modifiedDate": iso(activity.presence_since),
                    },
                    "outOfOffice": {"active": agents::out_of_office(agent, &state)},
                    "activeQueueIds": active,
                }),
            ));
        }
        events
    }

    fn queue_events(
        &mut self,
        world: &World,
        queues: &[u32],
        now_ms: i64,
        interval: &str,
    ) -> Vec<(String, Value)> {
        if queues.is_empty() {
            *self = Looker {
                agents: std::mem::take(&mut self.agents),
                ..Looker::default()
            };
            return Vec::new();
        }
        self.keep_conversations(world, queues, now_ms);
        let observed = Observed {
            queues,
            metrics: OBSERVATION_METRICS,
            detail: &[],
            now_ms,
        };
        let minutes = &self.minutes;
        let results = observed.results(world, |f| {
            for conversation in minutes.values().flatten() {
                if (now_ms - MAX_SPAN_MS..=now_ms).contains(&conversation.arrival_ms) {
                    f(conversation);
                }
            }
        });
        let mut current: HashMap<GroupKey, (Value, Vec<Value>)> = HashMap::new();
        for result in results {
            let group = result.get("group").cloned().unwrap_or(Value::Null);
            let Some(key) = group_key(world, &group) else {
                continue;
            };
            let data = match result.get("data") {
                Some(Value::Array(data)) => data.clone(),
                _ => Vec::new(),
            };
            current.insert(key, (group, data));
        }

        let mut events = Vec::new();
        let topic = |queue: u32| {
            format!(
                "v2.analytics.queues.{}.observations",
                world.queue_ids()[queue as usize]
            )
        };
        // Groups gone since the last look: their entries fall to 0.
        let wanted: BTreeSet<u32> = queues.iter().copied().collect();
        self.groups.retain(|key, _| wanted.contains(&key.0));
        let gone: Vec<GroupKey> = self
            .groups
            .keys()
            .filter(|key| !current.contains_key(key))
            .copied()
            .collect();
        for key in gone {
            let before = self.groups.remove(&key).unwrap_or_default();
            let metrics = zeroed(&before, &[]);
            events.push((topic(key.0), event_body(world, key, metrics, interval)));
        }
        for (key, (_, data)) in current {
            let before = self.groups.get(&key);
            if before == Some(&data) {
                continue;
            }
            let metrics = zeroed(before.map(Vec::as_slice).unwrap_or(&[]), &data);
            events.push((topic(key.0), event_body(world, key, metrics, interval)));
            self.groups.insert(key, data);
        }
        events
    }

    /// Keeps the conversations of `queues` that arrived in the last [`MAX_SPAN_MS`],
    /// generating only the minutes not already kept.
    fn keep_conversations(&mut self, world: &World, queues: &[u32], now_ms: i64) {
        if self.queues != queues {
            self.queues = queues.to_vec();
            self.minutes.clear();
        }
        let first = (now_ms - MAX_SPAN_MS).div_euclid(MINUTE_MS);
        let last = now_ms.div_euclid(MINUTE_MS);
        self.minutes
            .retain(|minute, _| (first..=last).contains(minute));
        let mut member = vec![false; world.queue_ids().len()];
        for &queue in queues {
            member[queue as usize] = true;
        }
        for minute in first..=last {
            if self.minutes.contains_key(&minute) {
                continue;
            }
            let mut arrived = Vec::new();
            world.for_each_conversation(
                minute * MINUTE_MS,
                (minute + 1) * MINUTE_MS,
                |queue, _| member[queue as usize],
                |conversation| arrived.push(conversation.clone()),
            );
            self.minutes.insert(minute, arrived);
        }
    }
}

/// The key of a result's `group`, `None` for one the world does not know.
fn group_key(world: &World, group: &Value) -> Option<GroupKey> {
    let queue = group.get("queueId").and_then(Value::as_str)?;
    let queue = world.dim_code(crate::world::catalog::Dim::QueueId, queue)?;
    let media = match group.get("mediaType").and_then(Value::as_str) {
        None => None,
        Some(name) => Some(Media::ALL.into_iter().find(|m| m.name() == name)?),
    };
    Some((queue, media))
}

/// `now`'s entries, then a count of 0 for each entry of `before` (by metric and
/// qualifier) that `now` no longer has.
fn zeroed(before: &[Value], now: &[Value]) -> Vec<Value> {
    let id = |entry: &Value| {
        let text = |field| entry.get(field).and_then(Value::as_str).map(str::to_string);
        (text("metric"), text("qualifier"))
    };
    let present: BTreeSet<_> = now.iter().map(id).collect();
    let mut metrics = now.to_vec();
    for entry in before {
        if !present.contains(&id(entry)) {
            let mut zero = entry.clone();
            zero["stats"] = json!({"count": 0});
            metrics.push(zero);
        }
    }
    metrics
}

/// `StatEventQueueTopicStatsNotification`: the group, and one interval of metrics.
fn event_body(world: &World, key: GroupKey, metrics: Vec<Value>, interval: &str) -> Value {
    let mut group = json!({"queueId": world.queue_ids()[key.0 as usize]});
    if let Some(media) = key.1 {
        group["mediaType"] = json!(media.name());
    }
    json!({
        "group": group,
        "data": [{"interval": interval, "metrics": metrics}],
    })
}
