//! A pushed agents set's state (every agent's routing status, presence and out of
//! office) and its series: the polled set's `genesys_agents_*` counts, exactly, and
//! with `per_agent` one series an agent and family.
//!
//! Pure: the listing seeds the state, each activity event replaces its agent's fields
//! (an event tells the new state, whole), and the counts are made in the agent state
//! counts' shape ([`AgentCountsResponse`]) and mapped by [`map_agent_counts`], so the
//! names, labels and zero-fill cannot differ from a polled set's. An agent without a
//! routing status counts as `UNKNOWN`, as the counts endpoint's enum has it.
//!
//! Per queue (`per_queue`), each agent's queues among those: the queues' joined members
//! at each REST read, then each event's `activeQueueIds`, which replaces the agent's
//! queues (an event without the field leaves them); the agents active on each queue are
//! counted as the org's are, into [`map_queue_agent_counts`]'s families.
//!
//! Per agent (`per_agent: true`), labelled `user_id` and `user_name` (the listing's
//! name): `genesys_agent_routing_status{routing_status}` and
//! `genesys_agent_presence{presence_id, presence_name, system_presence}`, 1 for the
//! state the agent is in (no series for the others: five statuses and dozens of
//! presences an agent would be too many), and `genesys_agent_out_of_office` 1 or 0.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Value, json};

use super::agents::{QueueCounts, map_agent_counts, map_queue_agent_counts};
use super::observations::MappedObservations;
use super::{Family, LabelSet, Labels, Sample};
use crate::config::AgentSetConfig;
use crate::genesys::agents::{AgentCountsResponse, Count};
use crate::genesys::user_states::{UserState, counts_spelling};

/// A count entry's grouping fields (`routingStatus`, ...) and their values.
type Fields = Vec<(&'static str, Value)>;
/// An agent's per-agent labels past `user_name`, and the series' value.
type Row = (Vec<String>, f64);

/// The names a pushed agents set's series carry: organization presences' and queues'.
#[derive(Debug, Default)]
pub struct Names {
    pub presences: Arc<HashMap<String, String>>,
    pub queues: Arc<HashMap<String, String>>,
}

/// What counts an agent as having no routing status.
const UNKNOWN: &str = "UNKNOWN";

/// One agent's state now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentNow {
    /// The listing's name (`user_name`).
    pub name: String,
    /// As the counts spell it; `None` when neither listing nor events told one.
    pub routing_status: Option<String>,
    /// As the counts spell it (`ON_QUEUE`).
    pub system_presence: Option<String>,
    /// The organization presence id.
    pub presence_id: Option<String>,
    pub out_of_office: bool,
    /// The queues of the set's `per_queue` the agent is active on.
    pub queues: BTreeSet<String>,
}

impl AgentNow {
    /// Replaces the fields `user` tells, its active queues among `watched`; true if any
    /// changed.
    fn take(&mut self, user: UserState, watched: &[String]) -> bool {
        let before = self.clone();
        if let Some(name) = user.name.filter(|n| !n.is_empty()) {
            self.name = name;
        }
        if let Some(status) = user.routing_status.and_then(|r| r.status) {
            self.routing_status = Some(status);
        }
        if let Some(definition) = user.presence.and_then(|p| p.presence_definition) {
            self.system_presence = definition.system_presence.as_deref().map(counts_spelling);
            self.presence_id = definition.id;
        }
        if let Some(active) = user.out_of_office.and_then(|o| o.active) {
            self.out_of_office = active;
        }
        if let Some(queues) = user.active_queue_ids {
            self.queues = queues
                .into_iter()
                .filter(|queue| watched.contains(queue))
                .collect();
        }
        *self != before
    }
}

/// The state of every agent of a pushed set, by user id.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AgentStates {
    pub agents: BTreeMap<String, AgentNow>,
    /// A listing has been adopted: until then there is nothing whole to publish.
    pub seeded: bool,
    /// The queues counted per queue (`per_queue`), in the set's order.
    pub queues: Vec<String>,
}

impl AgentStates {
    /// The state a listing describes (users without an id were skipped by the reader).
    pub fn from_users(users: Vec<UserState>) -> AgentStates {
        let mut agents = BTreeMap::new();
        for mut user in users {
            let Some(id) = user.id.take() else {
                continue;
            };
            let mut now = AgentNow::default();
            now.take(user, &[]);
            agents.insert(id, now);
        }
        AgentStates {
            agents,
            seeded: true,
            queues: Vec::new(),
        }
    }

    /// The state with each queue's joined members (`(queue id, member ids)`, the set's
    /// `per_queue` in order) as the agents' active queues; members the listing did not
    /// have are not counted.
    pub fn with_members(mut self, members: Vec<(String, Vec<String>)>) -> AgentStates {
        for (queue, ids) in &members {
            for id in ids {
                if let Some(agent) = self.agents.get_mut(id) {
                    agent.queues.insert(queue.clone());
                }
            }
        }
        self.queues = members.into_iter().map(|(queue, _)| queue).collect();
        self
    }

    /// The agents' ids, the topics to subscribe.
    pub fn ids(&self) -> Vec<String> {
        self.agents.keys().cloned().collect()
    }

    /// Applies one activity event; false if it changed nothing (an agent the listing
    /// did not have, a state already known).
    pub fn apply(&mut self, mut event: UserState) -> bool {
        let Some(id) = event.id.take() else {
            return false;
        };
        // Events carry no name: the listing's stays.
        event.name = None;
        let watched = &self.queues;
        self.agents
            .get_mut(&id)
            .is_some_and(|agent| agent.take(event, watched))
    }

    /// The counts of every agent by the set's groupings, in the agent state counts'
    /// shape.
    pub fn counts(&self, config: &AgentSetConfig) -> AgentCountsResponse {
        counts_of(&self.agents.values().collect::<Vec<_>>(), config)
    }

    /// Every exported value by series (family, labels), for counting the differences a
    /// reconcile read finds: the counts, each queue's when the set has `per_queue`, and
    /// each agent's when the set has per-agent series.
    pub fn values(&self, config: &AgentSetConfig) -> BTreeMap<(String, Vec<String>), f64> {
        let mapped = self.map(config, &Names::default());
        mapped
            .series
            .families
            .into_iter()
            .flat_map(|family| {
                let name = family.name;
                family.samples.into_iter().map(move |sample| {
                    let labels = sample
                        .labels
                        .pairs()
                        .map(|(_, value)| value.to_string())
                        .collect();
                    ((name.to_string(), labels), sample.value)
                })
            })
            .collect()
    }

    /// The set's series: the polled set's counts, the per-queue families when the set
    /// has queues, and the per-agent families when asked.
    pub fn map(&self, config: &AgentSetConfig, names: &Names) -> MappedObservations {
        let mut mapped = map_agent_counts(config, &self.counts(config), &names.presences);
        if !self.queues.is_empty() {
            let (families, warnings) =
                map_queue_agent_counts(&config.name, &self.per_queue(config, &names.queues));
            mapped.series.families.extend(families);
            mapped.warnings += warnings;
        }
        if config.per_agent {
            mapped
                .series
                .families
                .extend(self.per_agent(config, &names.presences));
        }
        mapped.series.families.sort_by(|a, b| a.name.cmp(&b.name));
        mapped
    }

    /// Each queue's agents counted, with the queue's name.
    fn per_queue<'a>(
        &'a self,
        config: &AgentSetConfig,
        queue_names: &'a HashMap<String, String>,
    ) -> Vec<QueueCounts<'a>> {
        self.queues
            .iter()
            .map(|queue| {
                let active: Vec<&AgentNow> = self
                    .agents
                    .values()
                    .filter(|agent| agent.queues.contains(queue))
                    .collect();
                QueueCounts {
                    id: queue,
                    name: queue_names.get(queue).map_or("", String::as_str),
                    counts: counts_of(&active, config),
                }
            })
            .collect()
    }

    /// `genesys_agent_*`: one series an agent and family, for the groupings asked.
    fn per_agent(&self, config: &AgentSetConfig, names: &HashMap<String, String>) -> Vec<Family> {
        let asked = |grouping: &str| config.group_by.iter().any(|g| g == grouping);
        let family = |name: &str, help: &str, labels: &[&str], rows: Vec<Row>| {
            let names: Arc<[String]> = ["query", "user_id", "user_name"]
                .iter()
                .chain(labels)
                .map(|l| l.to_string())
                .collect();
            let samples = rows
                .into_iter()
                .map(|(values, value)| Sample {
                    labels: LabelSet::new(Labels::new(Arc::clone(&names), values)),
                    value,
                })
                .collect();
            Family {
                name: name.into(),
                help: help.into(),
                samples,
            }
        };
        let rows = |extra: fn(&AgentNow, &HashMap<String, String>) -> Row| {
            self.agents
                .iter()
                .map(|(id, agent)| {
                    let (labels, value) = extra(agent, names);
                    let mut values = vec![config.name.clone(), id.clone(), agent.name.clone()];
                    values.extend(labels);
                    (values, value)
                })
                .collect::<Vec<_>>()
        };
        let mut families = Vec::new();
        if asked("routingStatus") {
            families.push(family(
                "genesys_agent_routing_status",
                "The routing status an agent is in now, 1 (pushed agent activity)",
                &["routing_status"],
                rows(|a, _| {
                    let status = a.routing_status.as_deref().unwrap_or(UNKNOWN);
                    (vec![status.to_string()], 1.0)
                }),
            ));
        }
        if asked("presence") {
            families.push(family(
                "genesys_agent_presence",
                "The organization presence an agent is in now, 1 (pushed agent activity)",
                &["presence_id", "presence_name", "system_presence"],
                rows(|a, names| {
                    let id = a.presence_id.clone().unwrap_or_default();
                    let name = names.get(&id).cloned().unwrap_or_default();
                    let system = a.system_presence.clone().unwrap_or_default();
                    (vec![id, name, system], 1.0)
                }),
            ));
        }
        if asked("isOutOfOffice") {
            families.push(family(
                "genesys_agent_out_of_office",
                "Whether an agent is out of office now, 1 or 0 (pushed agent activity)",
                &[],
                rows(|a, _| (Vec::new(), f64::from(u8::from(a.out_of_office)))),
            ));
        }
        families
    }
}

/// The counts of `agents` by the set's groupings, in the agent state counts' shape.
fn counts_of(agents: &[&AgentNow], config: &AgentSetConfig) -> AgentCountsResponse {
    let asked = |grouping: &str| config.group_by.iter().any(|g| g == grouping);
    let tally = |key: fn(&AgentNow) -> Fields| -> Vec<Count> {
        let mut counted: BTreeMap<String, (Fields, u64)> = BTreeMap::new();
        for agent in agents {
            let fields = key(agent);
            let entry = counted
                .entry(json!(fields).to_string())
                .or_insert((fields, 0));
            entry.1 += 1;
        }
        counted
            .into_values()
            .map(|(fields, count)| count_entry(fields, count))
            .collect()
    };
    AgentCountsResponse {
        routing_status_counts: asked("routingStatus").then(|| {
            tally(|a| {
                let status = a.routing_status.as_deref().unwrap_or(UNKNOWN);
                vec![("routingStatus", json!(status))]
            })
        }),
        presence_counts: asked("presence").then(|| {
            tally(|a| {
                vec![
                    ("systemPresence", json!(a.system_presence)),
                    ("organizationPresenceId", json!(a.presence_id)),
                ]
            })
        }),
        is_out_of_office_counts: asked("isOutOfOffice")
            .then(|| tally(|a| vec![("isOutOfOffice", json!(a.out_of_office))])),
        ..AgentCountsResponse::default()
    }
}

/// One count entry with its grouping's fields.
fn count_entry(fields: Fields, count: u64) -> Count {
    let mut object: serde_json::Map<String, Value> = fields
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect();
    object.insert("count".into(), json!(count));
    serde_json::from_value(Value::Object(object)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config(extra: &str) -> AgentSetConfig {
        Config::from_yaml(
            &format!("observations:\n  - {{name: now, source: agents, transport: push{extra}}}\n"),
            "test.yaml",
        )
        .unwrap()
        .agents
        .remove(0)
    }

    fn user(json: &str) -> UserState {
        serde_json::from_str(json).unwrap()
    }

    fn seeded() -> AgentStates {
        AgentStates::from_users(vec![
            user(
                r#"{"id": "u1", "name": "Ann", "routingStatus": {"status": "IDLE"},
                    "presence": {"presenceDefinition": {"id": "p-q", "systemPresence": "On Queue"}},
                    "outOfOffice": {"active": false}}"#,
            ),
            user(
                r#"{"id": "u2", "name": "Bo", "routingStatus": {"status": "OFF_QUEUE"},
                    "presence": {"presenceDefinition": {"id": "p-off", "systemPresence": "Offline"}},
                    "outOfOffice": {"active": true}}"#,
            ),
            user(r#"{"id": "u3", "name": "Cy"}"#),
        ])
    }

    fn value(mapped: &MappedObservations, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let family = mapped.series.families.iter().find(|f| *f.name == *family)?;
        family
            .samples
            .iter()
            .find(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.pairs().any(|(n, x)| n == *k && x == *v))
            })
            .map(|s| s.value)
    }

    #[test]
    fn the_state_counts_as_the_counts_endpoint_answers() {
        let config = config("");
        let state = seeded();
        let mapped = state.map(&config, &Names::default());
        let routing = |status| {
            value(
                &mapped,
                "genesys_agents_routing_status",
                &[("routing_status", status)],
            )
        };
        assert_eq!(routing("IDLE"), Some(1.0));
        assert_eq!(routing("OFF_QUEUE"), Some(1.0));
        assert_eq!(routing("UNKNOWN"), Some(1.0));
        assert_eq!(routing("INTERACTING"), Some(0.0));
        assert_eq!(
            value(
                &mapped,
                "genesys_agents_system_presence",
                &[("system_presence", "ON_QUEUE")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &mapped,
                "genesys_agents_presence",
                &[("presence_id", "p-off"), ("system_presence", "OFFLINE")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &mapped,
                "genesys_agents_out_of_office",
                &[("out_of_office", "true")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &mapped,
                "genesys_agents_out_of_office",
                &[("out_of_office", "false")]
            ),
            Some(2.0)
        );
        // The same series as the polled set's mapping of the same counts, and no
        // per-agent ones unless asked.
        let answer: AgentCountsResponse = serde_json::from_str(
            r#"{"routingStatusCounts": [{"routingStatus": "IDLE", "count": 1},
                  {"routingStatus": "OFF_QUEUE", "count": 1}, {"routingStatus": "UNKNOWN", "count": 1}],
                "presenceCounts": [{"systemPresence": "ON_QUEUE", "organizationPresenceId": "p-q", "count": 1},
                  {"systemPresence": "OFFLINE", "organizationPresenceId": "p-off", "count": 1}],
                "isOutOfOfficeCounts": [{"isOutOfOffice": true, "count": 1}, {"isOutOfOffice": false, "count": 2}]}"#,
        )
        .unwrap();
        let polled = map_agent_counts(&config, &answer, &HashMap::new());
        assert_eq!(polled.series, mapped.series);
        // The agent without a presence is a skipped entry, as a polled answer's would be.
        assert_eq!(mapped.warnings, polled.warnings + 1);
    }

    #[test]
    fn an_event_replaces_what_it_tells_of_its_agent_only() {
        let config = config("");
        let mut state = seeded();
        let before = state.values(&config);
        assert!(!state.apply(user(
            r#"{"id": "u1", "routingStatus": {"status": "IDLE"}, "presence": {"presenceDefinition": {"id": "p-q", "systemPresence": "ON_QUEUE"}}}"#
        )));
        assert!(!state.apply(user(
            r#"{"id": "stranger", "routingStatus": {"status": "IDLE"}}"#
        )));
        assert_eq!(state.values(&config), before);
        assert!(state.apply(user(
            r#"{"id": "u1", "routingStatus": {"status": "INTERACTING"}, "outOfOffice": {"active": false}, "activeQueueIds": []}"#
        )));
        let after = state.values(&config);
        let key = |status: &str| {
            (
                "genesys_agents_routing_status".to_string(),
                vec!["now".to_string(), status.to_string()],
            )
        };
        assert_eq!(after[&key("IDLE")], 0.0);
        assert_eq!(after[&key("INTERACTING")], 1.0);
        assert_eq!(state.agents["u1"].name, "Ann");
        assert_eq!(
            state.agents["u1"].system_presence.as_deref(),
            Some("ON_QUEUE")
        );
        let differing = before
            .iter()
            .filter(|(key, value)| after.get(*key) != Some(value))
            .count();
        assert_eq!(differing, 2);
    }

    const Q1: &str = "0b7c5e6a-2f1d-4c3b-9a8e-1f2d3c4b5a69";
    const Q2: &str = "1c8d6f7b-3a2e-4d4c-8b9f-2a3e4d5c6b70";

    /// The seeded agents, u1 and u2 joined to Q1, u2 to Q2 (and a stranger to the
    /// listing on Q2, who is not counted).
    fn with_queues() -> (AgentSetConfig, AgentStates) {
        let config = config(&format!(", per_queue: [{Q1}, {Q2}]"));
        let state = seeded().with_members(vec![
            (Q1.to_string(), vec!["u1".to_string(), "u2".to_string()]),
            (
                Q2.to_string(),
                vec!["u2".to_string(), "stranger".to_string()],
            ),
        ]);
        (config, state)
    }

    fn on_queue(state: &AgentStates, config: &AgentSetConfig, queue: &str, status: &str) -> f64 {
        let names = Names {
            queues: Arc::new(HashMap::from([(Q1.to_string(), "Billing".to_string())])),
            ..Names::default()
        };
        let mapped = state.map(config, &names);
        let name = if queue == Q1 { "Billing" } else { "" };
        value(
            &mapped,
            "genesys_agents_queue_routing_status",
            &[
                ("queue_id", queue),
                ("queue_name", name),
                ("routing_status", status),
            ],
        )
        .unwrap_or(f64::NAN)
    }

    #[test]
    fn each_queue_counts_its_joined_members_zero_filled_and_named() {
        let (config, state) = with_queues();
        assert_eq!(on_queue(&state, &config, Q1, "IDLE"), 1.0);
        assert_eq!(on_queue(&state, &config, Q1, "OFF_QUEUE"), 1.0);
        assert_eq!(on_queue(&state, &config, Q1, "INTERACTING"), 0.0);
        assert_eq!(on_queue(&state, &config, Q2, "OFF_QUEUE"), 1.0);
        assert_eq!(on_queue(&state, &config, Q2, "IDLE"), 0.0);
        let mapped = state.map(&config, &Names::default());
        let presence = |queue, presence| {
            value(
                &mapped,
                "genesys_agents_queue_system_presence",
                &[("queue_id", queue), ("system_presence", presence)],
            )
        };
        assert_eq!(presence(Q1, "ON_QUEUE"), Some(1.0));
        assert_eq!(presence(Q2, "OFFLINE"), Some(1.0));
        assert_eq!(presence(Q2, "ON_QUEUE"), Some(0.0));
        // Zero-filled as the org-wide families: every status, every queue.
        let family = |name: &str| {
            mapped
                .series
                .families
                .iter()
                .find(|f| *f.name == *name)
                .map(|f| f.samples.len())
        };
        assert_eq!(
            family("genesys_agents_queue_routing_status"),
            family("genesys_agents_routing_status").map(|n| 2 * n)
        );
        assert_eq!(
            family("genesys_agents_queue_system_presence"),
            family("genesys_agents_system_presence").map(|n| 2 * n)
        );
        // Without `per_queue`, no per-queue family; the org-wide ones are unchanged.
        let plain = seeded().map(&self::config(""), &Names::default());
        assert!(family_names(&plain).iter().all(|n| !n.contains("queue")));
        let org_wide = |m: &MappedObservations| {
            m.series
                .families
                .iter()
                .filter(|f| !f.name.contains("queue"))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(org_wide(&plain), org_wide(&mapped));
        // Only the groupings asked for.
        let routing_only = self::config(&format!(", per_queue: [{Q1}], group_by: [routingStatus]"));
        let names = family_names(&state.map(&routing_only, &Names::default()));
        assert!(names.contains(&"genesys_agents_queue_routing_status".to_string()));
        assert!(!names.contains(&"genesys_agents_queue_system_presence".to_string()));
    }

    fn family_names(mapped: &MappedObservations) -> Vec<String> {
        mapped
            .series
            .families
            .iter()
            .map(|f| f.name.to_string())
            .collect()
    }

    #[test]
    fn active_queue_ids_replace_an_agents_queues_and_absence_keeps_them() {
        let (config, mut state) = with_queues();
        // The event moves u1 from Q1 to Q2 (an unwatched queue is ignored) and makes
        // it INTERACTING.
        assert!(state.apply(user(&format!(
            r#"{{"id": "u1", "routingStatus": {{"status": "INTERACTING"}}, "activeQueueIds": ["{Q2}", "elsewhere"]}}"#
        ))));
        assert_eq!(on_queue(&state, &config, Q1, "IDLE"), 0.0);
        assert_eq!(on_queue(&state, &config, Q1, "INTERACTING"), 0.0);
        assert_eq!(on_queue(&state, &config, Q2, "INTERACTING"), 1.0);
        assert_eq!(state.agents["u1"].queues, BTreeSet::from([Q2.to_string()]));
        // Without the field, the queues stay; a change of queues alone is a change.
        assert!(state.apply(user(r#"{"id": "u1", "routingStatus": {"status": "IDLE"}}"#)));
        assert_eq!(on_queue(&state, &config, Q2, "IDLE"), 1.0);
        assert!(state.apply(user(r#"{"id": "u1", "activeQueueIds": []}"#)));
        assert_eq!(on_queue(&state, &config, Q2, "IDLE"), 0.0);
        assert!(!state.apply(user(r#"{"id": "u1", "activeQueueIds": ["elsewhere"]}"#)));
        // A reconcile that reads the seed again finds the per-queue series that differ.
        let (_, read) = with_queues();
        let (now, then) = (state.values(&config), read.values(&config));
        let differing: Vec<_> = then
            .iter()
            .filter(|(key, value)| now.get(*key) != Some(value))
            .map(|((family, _), _)| family.as_str())
            .collect();
        assert!(
            differing.contains(&"genesys_agents_queue_routing_status")
                && differing.contains(&"genesys_agents_queue_system_presence"),
            "{differing:?}"
        );
    }

    #[test]
    fn per_agent_series_carry_the_user_name_and_the_state_asked_for() {
        let config = config(", per_agent: true, group_by: [routingStatus, isOutOfOffice]");
        let mapped = seeded().map(&config, &Names::default());
        assert_eq!(
            value(
                &mapped,
                "genesys_agent_routing_status",
                &[
                    ("user_id", "u1"),
                    ("user_name", "Ann"),
                    ("routing_status", "IDLE")
                ]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &mapped,
                "genesys_agent_out_of_office",
                &[("user_name", "Bo")]
            ),
            Some(1.0)
        );
        assert!(value(&mapped, "genesys_agent_presence", &[]).is_none());
        let names: Vec<&str> = mapped.series.families.iter().map(|f| &*f.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }
}
