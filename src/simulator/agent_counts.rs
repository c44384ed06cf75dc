//! `POST /api/v2/analytics/agents/status/counts`: the org's agents counted now.
//!
//! The counts come from the same agents as the queue observations
//! ([`super::agents::state`] at the simulator's clock), so a set filtered to one queue
//! counts exactly that queue's members by routing status and presence, as
//! `oUserRoutingStatuses` and `oUserPresences` do. Every agent of the pool is counted,
//! offline ones included.
//!
//! Validation is Genesys' (SDK 269), no stricter: `groupBy` values (repeated or
//! comma-separated) from `segmentType`, `presence`, `routingStatus`, `isOutOfOffice`;
//! filters of type `and`/`or` whose predicates name a dimension of the filter's enum and
//! give a string value. A refusal is a 400 naming the field. Without `groupBy` only
//! `segmentCounts` come back. The model's choices where Genesys documents none: with any
//! `groupBy`, adherence and activity categories come back too (the org has no schedules:
//! everyone is `Unscheduled`; the actual category follows the presence); predicates on
//! dimensions the model does not hold (skills, teams, managers, ...) match nobody, and
//! a session filter keeps the agents who are in a session; agents are in the home
//! division; an offline agent whose pool index is a multiple of 7 is out of office.

use serde_json::{Map, Value, json};

use super::codec;
use crate::genesys::agents::{GROUPINGS, SESSION_FILTER_DIMENSIONS, USER_FILTER_DIMENSIONS};
use crate::world::agents::{self, AgentState, RoutingStatus, SystemPresence};
use crate::world::{HOME_DIVISION_ID, World};

/// A refusal: the field and why.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub field: String,
    pub message: String,
}

fn refuse(field: impl Into<String>, message: impl Into<String>) -> Refusal {
    Refusal {
        field: field.into(),
        message: message.into(),
    }
}

/// A filter: `and`/`or` over its predicates and clauses (one level of clauses).
#[derive(Debug)]
struct Filter {
    all: bool,
    predicates: Vec<(String, String)>,
    clauses: Vec<Filter>,
}

/// The answer to one request: `query` is the query string, `body` the JSON body.
pub(crate) fn answer(
    world: &World,
    query: Option<&str>,
    body: &[u8],
    now_ms: i64,
) -> Result<Value, Refusal> {
    let groupings = group_by(query)?;
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .map_err(|err| refuse("body", format!("The body is not valid JSON: {err}")))?
    };
    let (user, session) = match &body {
        Value::Null => (None, None),
        Value::Object(fields) => (
            filter(fields, "userFilter", &USER_FILTER_DIMENSIONS)?,
            filter(fields, "sessionFilter", &SESSION_FILTER_DIMENSIONS)?,
        ),
        _ => {
            return Err(refuse(
                "body",
                "The body must be an AgentStateCountsRequest object",
            ));
        }
    };
    let counted: Vec<(u32, AgentState)> = (0..world.agent_ids().len() as u32)
        .map(|agent| (agent, agents::state(world, agent, now_ms)))
        .filter(|(agent, state)| {
            user.as_ref()
                .is_none_or(|f| matches(f, &|d, v| user_predicate(world, *agent, state, d, v)))
        })
        .filter(|(_, state)| session.is_none() || segment(state).is_some())
        .collect();
    let mut out = Map::new();
    let asked = |g: &str| groupings.iter().any(|x| x == g);
    if groupings.is_empty() || asked("segmentType") {
        let segments = tally(counted.iter().filter_map(|(_, s)| segment(s)));
        out.insert("segmentCounts".into(), entries(segments, "segmentType"));
    }
    if asked("presence") {
        let mut presences: Vec<((&str, String), usize)> = Vec::new();
        for presence in SystemPresence::ALL {
            let n = counted
                .iter()
                .filter(|(_, s)| s.presence == presence)
                .count();
            if n > 0 {
                presences.push(((presence.name(), presence.org_id(world)), n));
            }
        }
        let list = presences
            .into_iter()
            .map(|((system, id), n)| {
                json!({"systemPresence": system, "organizationPresenceId": id, "count": n})
            })
            .collect();
        out.insert("presenceCounts".into(), Value::Array(list));
    }
    if asked("routingStatus") {
        let statuses = tally(counted.iter().map(|(_, s)| s.routing.name()));
        out.insert(
            "routingStatusCounts".into(),
            entries(statuses, "routingStatus"),
        );
    }
    if asked("isOutOfOffice") {
        let list = [true, false]
            .into_iter()
            .map(|flag| {
                let n = counted
                    .iter()
                    .filter(|(a, s)| agents::out_of_office(*a, s) == flag)
                    .count();
                (flag, n)
            })
            .filter(|(_, n)| *n > 0)
            .map(|(flag, n)| json!({"isOutOfOffice": flag, "count": n}))
            .collect();
        out.insert("isOutOfOfficeCounts".into(), Value::Array(list));
    }
    if !groupings.is_empty() {
        let everyone = tally(counted.iter().map(|_| "Unscheduled"));
        out.insert(
            "adherenceStateCounts".into(),
            entries(everyone.clone(), "adherenceState"),
        );
        out.insert(
            "scheduledActivityCategoryCounts".into(),
            entries(everyone, "activityCategory"),
        );
        let actual = tally(counted.iter().map(|(_, s)| activity(s.presence)));
        out.insert(
            "actualActivityCategoryCounts".into(),
            entries(actual, "activityCategory"),
        );
    }
    Ok(Value::Object(out))
}

/// The `groupBy` values of the query string, in order, each once.
fn group_by(query: Option<&str>) -> Result<Vec<String>, Refusal> {
    let mut out: Vec<String> = Vec::new();
    let pairs = codec::form_pairs(query.unwrap_or(""));
    for value in pairs
        .iter()
        .filter(|(key, _)| key == "groupBy")
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim)
    {
        if !GROUPINGS.contains(&value) {
            return Err(refuse(
                "groupBy",
                format!(
                    "groupBy value {value:?} is not valid; valid values: {}",
                    GROUPINGS.join(", ")
                ),
            ));
        }
        if !out.iter().any(|v| v == value) {
            out.push(value.to_string());
        }
    }
    Ok(out)
}

/// The filter under `key`, validated against `dimensions`.
fn filter(
    fields: &Map<String, Value>,
    key: &str,
    dimensions: &[&str],
) -> Result<Option<Filter>, Refusal> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => parse_filter(value, key, dimensions, true).map(Some),
    }
}

fn parse_filter(
    value: &Value,
    at: &str,
    dimensions: &[&str],
    top: bool,
) -> Result<Filter, Refusal> {
    let Value::Object(fields) = value else {
        return Err(refuse(
            at,
            "must be an object with type, clauses and predicates",
        ));
    };
    let all = match fields.get("type").and_then(Value::as_str) {
        Some("and") => true,
        Some("or") => false,
        _ => return Err(refuse(format!("{at}.type"), "type must be `and` or `or`")),
    };
    let list = |key: &str| -> Result<&[Value], Refusal> {
        match fields.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(refuse(format!("{at}.{key}"), "must be a list")),
        }
    };
    let mut predicates = Vec::new();
    for (i, predicate) in list("predicates")?.iter().enumerate() {
        let field = format!("{at}.predicates[{i}]");
        let dimension = predicate.get("dimension").and_then(Value::as_str);
        let Some(dimension) = dimension.filter(|d| dimensions.contains(d)) else {
            return Err(refuse(
                format!("{field}.dimension"),
                format!("dimension must be one of {}", dimensions.join(", ")),
            ));
        };
        let Some(value) = predicate.get("value").and_then(Value::as_str) else {
            return Err(refuse(format!("{field}.value"), "value must be a string"));
        };
        predicates.push((dimension.to_string(), value.to_string()));
    }
    let mut clauses = Vec::new();
    for (i, clause) in list("clauses")?.iter().enumerate() {
        let field = format!("{at}.clauses[{i}]");
        if !top {
            return Err(refuse(field, "a clause cannot hold clauses"));
        }
        clauses.push(parse_filter(clause, &field, dimensions, false)?);
    }
    Ok(Filter {
        all,
        predicates,
        clauses,
    })
}

/// Whether `filter` holds, with `predicate` deciding each predicate.
fn matches(filter: &Filter, predicate: &dyn Fn(&str, &str) -> bool) -> bool {
    let mut results = filter
        .predicates
        .iter()
        .map(|(d, v)| predicate(d, v))
        .chain(filter.clauses.iter().map(|c| matches(c, predicate)));
    if filter.all {
        results.all(|r| r)
    } else {
        results.any(|r| r)
    }
}

/// Whether agent `agent` in `state` has `value` in `dimension`.
fn user_predicate(
    world: &World,
    agent: u32,
    state: &AgentState,
    dimension: &str,
    value: &str,
) -> bool {
    match dimension {
        "queueId" | "activeQueueId" => world
            .queue_ids()
            .iter()
            .position(|id| id == value)
            .is_some_and(|queue| world.queue_members(queue as u32).contains(&agent)),
        "userId" => world.agent_ids()[agent as usize] == value,
        "divisionId" => value == HOME_DIVISION_ID,
        "systemPresence" => state.presence.name() == value,
        "organizationPresenceId" => state.presence.org_id(world) == value,
        "routingStatus" => state.routing.name() == value,
        "isOutOfOffice" => agents::out_of_office(agent, state).to_string() == value,
        "online" => (state.presence != SystemPresence::Offline).to_string() == value,
        _ => false,
    }
}

/// The segment an agent's session is in, if they are in one.
fn segment(state: &AgentState) -> Option<&'static str> {
    match state.routing {
        RoutingStatus::Interacting | RoutingStatus::Communicating => Some("interact"),
        RoutingStatus::NotResponding => Some("alert"),
        RoutingStatus::Idle | RoutingStatus::OffQueue => None,
    }
}

fn activity(presence: SystemPresence) -> &'static str {
    match presence {
        SystemPresence::OnQueue => "OnQueueWork",
        SystemPresence::Meal => "Meal",
        SystemPresence::Break => "Break",
        SystemPresence::Training => "Training",
        SystemPresence::Meeting => "Meeting",
        SystemPresence::Offline => "Unavailable",
        _ => "OffQueueWork",
    }
}

/// Counts of each value, in first-seen order.
fn tally<'a>(values: impl Iterator<Item = &'a str>) -> Vec<(&'a str, usize)> {
    let mut out: Vec<(&str, usize)> = Vec::new();
    for value in values {
        match out.iter_mut().find(|(v, _)| *v == value) {
            Some((_, n)) => *n += 1,
            None => out.push((value, 1)),
        }
    }
    out
}

fn entries(counts: Vec<(&str, usize)>, key: &str) -> Value {
    counts
        .into_iter()
        .map(|(value, n)| json!({key: value, "count": n}))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOON: i64 = 1_795_521_600_000; // 2026-11-24T12:00:00Z

    fn total(answer: &Value, key: &str) -> u64 {
        answer[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["count"].as_u64().unwrap())
            .sum()
    }

    #[test]
    fn every_grouping_counts_every_agent_once() {
        let world = World::new(11, 6);
        let all = "groupBy=presence,routingStatus&groupBy=isOutOfOffice";
        let answer = answer(&world, Some(all), b"{}", NOON).unwrap();
        let agents = world.agent_ids().len() as u64;
        for key in [
            "presenceCounts",
            "routingStatusCounts",
            "isOutOfOfficeCounts",
            "adherenceStateCounts",
            "actualActivityCategoryCounts",
        ] {
            assert_eq!(total(&answer, key), agents, "{key}");
        }
        assert!(answer.get("segmentCounts").is_none());
    }

    #[test]
    fn a_queue_filter_counts_the_queues_members() {
        let world = World::new(11, 6);
        let queue = world.queue_ids()[2].clone();
        let body = json!({"userFilter": {"type": "or", "predicates": [{"dimension": "queueId", "value": queue}]}});
        let answer = answer(
            &world,
            Some("groupBy=routingStatus"),
            body.to_string().as_bytes(),
            NOON,
        )
        .unwrap();
        assert_eq!(
            total(&answer, "routingStatusCounts"),
            world.queue_members(2).len() as u64
        );
    }

    #[test]
    fn refusals_name_the_field() {
        let world = World::new(1, 2);
        let refused = |query: &str, body: Value| {
            answer(&world, Some(query), body.to_string().as_bytes(), NOON)
                .unwrap_err()
                .field
        };
        assert_eq!(refused("groupBy=colour", json!({})), "groupBy");
        assert_eq!(
            refused(
                "",
                json!({"sessionFilter": {"type": "and", "clauses": [{"type": "or", "predicates": [{"dimension": "queueId", "value": "x"}]}]}})
            ),
            "sessionFilter.clauses[0].predicates[0].dimension"
        );
        assert_eq!(
            refused(
                "",
                json!({"userFilter": {"type": "or", "predicates": [{"dimension": "userId", "value": 3}]}})
            ),
            "userFilter.predicates[0].value"
        );
    }
}
