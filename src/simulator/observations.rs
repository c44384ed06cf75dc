//! `POST /api/v2/analytics/queues/observations/query`: what is happening now, per queue.
//!
//! The answer is a `QueueObservationQueryResponse`: conversations waiting, alerting and
//! interacting grouped by `{queueId, mediaType}`, agents by `{queueId}` counted by
//! routing status and presence, and `systemToOrganizationMappings` to read presence
//! qualifiers. The conversations are the very ones the aggregates endpoint counts once
//! they post (the same traffic model at the same instant), and the agents' states come
//! from [`super::agents`].
//!
//! Validation is as strict as Genesys': metrics outside the observation enum, filters on
//! any dimension other than `queueId` and `mediaType`, a filter without a `queueId`
//! predicate and more than 100 `queueId` predicates are 400s.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::genesys::catalog::OBSERVATION_METRICS;
use crate::world::agents::{self, RoutingStatus, SystemPresence};
use crate::world::catalog::Dim;
use crate::world::{Conversation, MAX_SPAN_MS, Media, Outcome, World};

/// Queue ids one request may name (the practical cap of the real API).
pub(crate) const MAX_QUEUE_PREDICATES: usize = 100;
/// `observations[]` lists at most this many conversations (the oldest first); a longer
/// list is cut and marked `truncated`.
pub(crate) const MAX_OBSERVATIONS: usize = 100;
/// Metrics that may have `detailMetrics`: the conversation counts.
const DETAIL_METRICS: [&str; 3] = ["oWaiting", "oAlerting", "oInteracting"];

/// A validated observation query.
#[derive(Debug)]
pub(crate) struct ObservationQuery {
    filter: Node,
    /// Requested metrics, deduplicated, in request order.
    metrics: Vec<&'static str>,
    /// Metrics whose conversations are listed in `observations[]`.
    detail: Vec<&'static str>,
}

/// A filter node: `and`/`or` over predicates and nested nodes.
#[derive(Debug)]
struct Node {
    any: bool,
    predicates: Vec<Predicate>,
    clauses: Vec<Node>,
}

#[derive(Debug)]
enum Predicate {
    /// `queueId matches`: the queue's code, `None` when the org has no such queue.
    Queue(Option<u32>),
    /// `mediaType matches`: `None` for a media type the model lacks.
    Media(Option<Media>),
    /// `exists` on either dimension (always true here); `notExists` (never).
    Exists(bool),
}

impl Node {
    fn eval(&self, queue: u32, media: Option<Media>) -> bool {
        let mut results = self
            .predicates
            .iter()
            .map(|p| match p {
                Predicate::Queue(want) => *want == Some(queue),
                // A user metric has no media type: a media predicate does not narrow it.
                Predicate::Media(want) => media.is_none() || *want == media,
                Predicate::Exists(exists) => *exists,
            })
            .chain(self.clauses.iter().map(|c| c.eval(queue, media)));
        if self.any {
            results.any(|r| r)
        } else {
            results.all(|r| r)
        }
    }

    /// Every queue a `queueId matches` predicate names, and how many such predicates.
    fn queues(&self, into: &mut Vec<u32>) -> usize {
        let mut count = 0;
        for p in &self.predicates {
            if let Predicate::Queue(want) = p {
                count += 1;
                into.extend(want);
            }
        }
        count + self.clauses.iter().map(|c| c.queues(into)).sum::<usize>()
    }
}

/// Parses and validates a request body; the error is the message of the 400.
pub(crate) fn parse_query(body: &[u8], world: &World) -> Result<ObservationQuery, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("malformed JSON request body: {e}"))?;
    let Value::Object(obj) = value else {
        return Err("the request body must be a JSON object (QueueObservationQuery)".into());
    };
    let field = |name: &str| obj.get(name).filter(|v| !v.is_null());
    let filter = match field("filter") {
        None => return Err("filter is required and must name at least one queueId".into()),
        Some(v) => parse_node(v, world, true)?,
    };
    let mut named = Vec::new();
    let queue_predicates = filter.queues(&mut named);
    if queue_predicates == 0 {
        return Err("the filter must contain at least one queueId predicate".into());
    }
    if queue_predicates > MAX_QUEUE_PREDICATES {
        return Err(format!(
            "the filter has {queue_predicates} queueId predicates; at most \
             {MAX_QUEUE_PREDICATES} are allowed"
        ));
    }
    let metrics = match field("metrics") {
        None => return Err("metrics is required".into()),
        Some(v) => metric_list(v, "metrics")?,
    };
    if metrics.is_empty() {
        return Err("metrics must name at least one metric".into());
    }
    let detail = match field("detailMetrics") {
        None => Vec::new(),
        Some(v) => metric_list(v, "detailMetrics")?,
    };
    if let Some(bad) = detail.iter().find(|m| !DETAIL_METRICS.contains(m)) {
        return Err(format!(
            "detailMetrics: '{bad}' has no details; only {} do",
            DETAIL_METRICS.join(", ")
        ));
    }
    Ok(ObservationQuery {
        filter,
        metrics,
        detail,
    })
}

fn metric_list(value: &Value, field: &str) -> Result<Vec<&'static str>, String> {
    let Value::Array(items) = value else {
        return Err(format!("{field} must be an array of strings"));
    };
    let mut out = Vec::new();
    for item in items {
        let Some(name) = item.as_str() else {
            return Err(format!("{field} must be an array of strings"));
        };
        let Some(known) = OBSERVATION_METRICS.iter().find(|m| **m == name) else {
            return Err(format!(
                "unknown metric '{name}' in {field}; queue observations take {}",
                OBSERVATION_METRICS.join(", ")
            ));
        };
        if !out.contains(known) {
            out.push(*known);
        }
    }
    Ok(out)
}

fn parse_node(value: &Value, world: &World, top: bool) -> Result<Node, String> {
    let (any, predicate_values, clause_values) = clause_fields(value)?;
    let predicates = predicate_values
        .iter()
        .map(|p| parse_predicate(p, world))
        .collect::<Result<Vec<_>, _>>()?;
    if !top && !clause_values.is_empty() {
        return Err("a filter clause holds predicates only, not clauses".into());
    }
    let clauses = clause_values
        .iter()
        .map(|c| parse_node(c, world, false))
        .collect::<Result<Vec<_>, _>>()?;
    if predicates.is_empty() && clauses.is_empty() {
        return Err("filter needs at least one predicate or clause".into());
    }
    Ok(Node {
        any,
        predicates,
        clauses,
    })
}

fn parse_predicate(value: &Value, world: &World) -> Result<Predicate, String> {
    let (dimension, operator, value) = predicate_fields(value)?;
    if dimension != "queueId" && dimension != "mediaType" {
        return Err(format!(
            "invalid dimension '{dimension}' for queue observations; the filter may use \
             queueId and mediaType only"
        ));
    }
    Ok(match (operator, value) {
        (Operator::Exists, _) => Predicate::Exists(true),
        (Operator::NotExists, _) => Predicate::Exists(false),
        (Operator::Matches, value) if dimension == "queueId" => {
            Predicate::Queue(value.and_then(|v| world.dim_code(Dim::QueueId, v)))
        }
        (Operator::Matches, value) => {
            Predicate::Media(Media::ALL.into_iter().find(|m| Some(m.name()) == value))
        }
    })
}

/// The operator of a `dimension` predicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    Matches,
    Exists,
    NotExists,
}

/// Whether a filter node is an `or` (else `and`), and its predicates and clauses, as
/// Genesys reads them; the error is the 400's message.
fn clause_fields(value: &Value) -> Result<(bool, &[Value], &[Value]), String> {
    let Value::Object(obj) = value else {
        return Err("filter (and each clause) must be an object".into());
    };
    let any = match obj.get("type").and_then(Value::as_str) {
        Some("and") => false,
        Some("or") => true,
        Some(other) => {
            return Err(format!(
                "invalid filter type '{other}': must be 'and' or 'or'"
            ));
        }
        None => return Err("filter type is required ('and' or 'or')".into()),
    };
    let list = |name: &str| -> Result<&[Value], String> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(items)) => Ok(items.as_slice()),
            Some(_) => Err(format!("filter {name} must be an array")),
        }
    };
    Ok((any, list("predicates")?, list("clauses")?))
}

/// The dimension, operator and (for `matches`) value of a `dimension` predicate, as
/// Genesys reads them; the error is the 400's message.
fn predicate_fields(value: &Value) -> Result<(&str, Operator, Option<&str>), String> {
    let Value::Object(obj) = value else {
        return Err("each filter predicate must be an object".into());
    };
    let text = |name: &str| obj.get(name).filter(|v| !v.is_null());
    match text("type") {
        None => {}
        Some(Value::String(t)) if t == "dimension" => {}
        Some(other) => {
            return Err(format!(
                "unsupported predicate type {other}: the simulator supports 'dimension' predicates"
            ));
        }
    }
    let name = match text("dimension") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err("predicate dimension must be a string".into()),
        None => return Err("predicate dimension is required".into()),
    };
    let operator = match text("operator") {
        None => Operator::Matches,
        Some(Value::String(s)) if s == "matches" => Operator::Matches,
        Some(Value::String(s)) if s == "exists" => Operator::Exists,
        Some(Value::String(s)) if s == "notExists" => Operator::NotExists,
        Some(other) => {
            return Err(format!(
                "invalid predicate operator {other}: must be 'matches', 'exists' or 'notExists'"
            ));
        }
    };
    let value = match (operator, text("value")) {
        (Operator::Matches, Some(Value::String(v))) => Some(v.as_str()),
        (Operator::Matches, Some(_)) => {
            return Err(format!("predicate value for '{name}' must be a string"));
        }
        (Operator::Matches, None) => {
            return Err(format!(
                "predicate on '{name}' with operator 'matches' needs a value"
            ));
        }
        _ => None,
    };
    Ok((name, operator, value))
}

/// Which state a conversation is in at an instant, and since when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConversationState {
    Waiting,
    Alerting,
    Interacting,
}

impl ConversationState {
    fn metric(self) -> &'static str {
        match self {
            ConversationState::Waiting => "oWaiting",
            ConversationState::Alerting => "oAlerting",
            ConversationState::Interacting => "oInteracting",
        }
    }
}

/// The state of `conversation` at `now_ms` and when it entered it; `None` before it
/// arrives and once the agent has finished with it (after-call work included).
pub(crate) fn conversation_state(
    conversation: &Conversation,
    now_ms: i64,
) -> Option<(ConversationState, i64)> {
    let t0 = conversation.arrival_ms;
    if now_ms < t0 {
        return None;
    }
    let (state, since, until) = match conversation.outcome {
        Outcome::Abandoned { wait } => (ConversationState::Waiting, t0, t0 + wait),
        Outcome::Answered {
            wait,
            alert,
            talk,
            held,
            acw,
            ..
        } => {
            let alerted = t0 + wait;
            let answered = alerted + alert;
            if now_ms < alerted {
                (ConversationState::Waiting, t0, alerted)
            } else if now_ms < answered {
                (ConversationState::Alerting, alerted, answered)
            } else {
                let finished = answered + talk + held + acw;
                (ConversationState::Interacting, answered, finished)
            }
        }
        Outcome::Outbound {
            dial,
            talk,
            held,
            acw,
        } => (
            ConversationState::Interacting,
            t0,
            t0 + dial + talk + held + acw,
        ),
    };
    (now_ms < until).then_some((state, since))
}

/// One conversation in a state, and its entry of `observations[]` when asked for.
struct InState {
    since_ms: i64,
    value: Option<Value>,
}

/// Answers `query` at `now_ms` (the simulator's clock).
pub(crate) fn run(world: &World, query: &ObservationQuery, now_ms: i64) -> Value {
    let mut queues = Vec::new();
    query.filter.queues(&mut queues);
    queues.sort_unstable();
    queues.dedup();
    let queues: Vec<u32> = queues
        .into_iter()
        .filter(|&q| query.filter.eval(q, None))
        .collect();
    let wanted: HashSet<u32> = queues.iter().copied().collect();
    let conversations = |f: &mut dyn FnMut(&Conversation)| {
        world.for_each_conversation(
            now_ms - MAX_SPAN_MS,
            now_ms + 1,
            |q, m| wanted.contains(&q) && query.filter.eval(q, Some(m)),
            f,
        );
    };
    let observed = Observed {
        queues: &queues,
        metrics: &query.metrics,
        detail: &query.detail,
        now_ms,
    };
    let results = observed.results(world, conversations);
    let mut answer = Map::new();
    answer.insert(
        "systemToOrganizationMappings".into(),
        agents::system_to_organization_mappings(world),
    );
    if !results.is_empty() {
        answer.insert("results".into(), Value::Array(results));
    }
    Value::Object(answer)
}

/// What one observation is asked: its queues (ascending), metrics, detail metrics and
/// instant. The query endpoint and the Notifications API's queue topic
/// ([`super::notifications`]) both answer through [`Observed::results`], so a pushed
/// event says exactly what the query would.
pub(crate) struct Observed<'a> {
    pub queues: &'a [u32],
    pub metrics: &'a [&'static str],
    pub detail: &'a [&'static str],
    pub now_ms: i64,
}

impl Observed<'_> {
    /// The answer's `results`: a `{queueId, mediaType}` group per cell with
    /// conversations in a requested state, then a `{queueId}` group of member counts per
    /// queue. `conversations` calls its argument with every conversation that may be in
    /// a state at `now_ms` in the wanted queues and media types (those arrived in the
    /// last [`MAX_SPAN_MS`]).
    pub(crate) fn results(
        &self,
        world: &World,
        conversations: impl FnOnce(&mut dyn FnMut(&Conversation)),
    ) -> Vec<Value> {
        let now_ms = self.now_ms;
        let conversation_metrics: Vec<ConversationState> = [
            ConversationState::Waiting,
            ConversationState::Alerting,
            ConversationState::Interacting,
        ]
        .into_iter()
        .filter(|s| self.metrics.contains(&s.metric()))
        .collect();

        // (queue, media) -> state -> conversations in it.
        let mut cells: BTreeMap<(u32, usize), BTreeMap<usize, Vec<InState>>> = BTreeMap::new();
        if !conversation_metrics.is_empty() {
            conversations(&mut |c: &Conversation| {
                let Some((state, since)) = conversation_state(c, now_ms) else {
                    return;
                };
                let Some(slot) = conversation_metrics.iter().position(|s| *s == state) else {
                    return;
                };
                let detailed = self.detail.contains(&state.metric());
                let value = detailed.then(|| observation_value(world, c, since, state));
                cells
                    .entry((c.queue, c.media as usize))
                    .or_default()
                    .entry(slot)
                    .or_default()
                    .push(InState {
                        since_ms: since,
                        value,
                    });
            });
        }

        let mut results = Vec::new();
        for ((queue, media), states) in cells {
            let mut data = Vec::new();
            for (slot, mut observed) in states {
                let state = conversation_metrics[slot];
                let mut entry = Map::new();
                entry.insert("metric".into(), json!(state.metric()));
                entry.insert("stats".into(), json!({"count": observed.len()}));
                if self.detail.contains(&state.metric()) {
                    observed.sort_by_key(|o| o.since_ms);
                    let truncated = observed.len() > MAX_OBSERVATIONS;
                    observed.truncate(MAX_OBSERVATIONS);
                    entry.insert("truncated".into(), json!(truncated));
                    entry.insert(
                        "observations".into(),
                        observed.into_iter().filter_map(|o| o.value).collect(),
                    );
                }
                data.push(Value::Object(entry));
            }
            results.push(json!({
                "group": {"queueId": world.queue_ids()[queue as usize], "mediaType": Media::ALL[media].name()},
                "data": data,
            }));
        }
        for &queue in self.queues {
            let data = user_metrics(world, queue, self.metrics, now_ms);
            if !data.is_empty() {
                results.push(json!({
                    "group": {"queueId": world.queue_ids()[queue as usize]},
                    "data": data,
                }));
            }
        }
        results
    }
}

fn observation_value(
    world: &World,
    conversation: &Conversation,
    since_ms: i64,
    state: ConversationState,
) -> Value {
    let date = DateTime::<Utc>::from_timestamp_millis(since_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let id = world.conversation_id(conversation);
    let mut value = json!({
        "observationDate": date,
        "conversationId": id,
        "sessionId": id,
        "direction": if matches!(conversation.outcome, Outcome::Outbound { .. }) { "outbound" } else { "inbound" },
        "routingPriority": 0,
        "requestedRoutingSkillIds": [],
    });
    if state != ConversationState::Waiting
        && let (Some(agent), Some(object)) = (conversation.agent, value.as_object_mut())
    {
        object.insert(
            "userId".into(),
            json!(world.agent_ids()[agent as usize].clone()),
        );
    }
    value
}

/// The `{queueId}` group's entries: member counts by state, leaving out zero counts of
/// qualified metrics (absent means 0, as in Genesys' answers).
fn user_metrics(world: &World, queue: u32, metrics: &[&str], now_ms: i64) -> Vec<Value> {
    let members = world.queue_members(queue);
    let states: Vec<agents::AgentState> = members
        .iter()
        .map(|&a| agents::state(world, a, now_ms))
        .collect();
    let count =
        |wanted: &dyn Fn(&agents::AgentState) -> bool| states.iter().filter(|s| wanted(s)).count();
    let mut data = Vec::new();
    let plain = |data: &mut Vec<Value>, metric: &str, n: usize| {
        data.push(json!({"metric": metric, "stats": {"count": n}}));
    };
    let qualified = |data: &mut Vec<Value>, metric: &str, qualifier: &str, n: usize| {
        if n > 0 {
            data.push(json!({"metric": metric, "qualifier": qualifier, "stats": {"count": n}}));
        }
    };
    const ON_QUEUE: [RoutingStatus; 4] = [
        RoutingStatus::Idle,
        RoutingStatus::Interacting,
        RoutingStatus::NotResponding,
        RoutingStatus::Communicating,
    ];
    for &metric in metrics {
        match metric {
            "oMemberUsers" => plain(&mut data, metric, members.len()),
            "oActiveUsers" => plain(
                &mut data,
                metric,
                count(&|s| s.presence != SystemPresence::Offline),
            ),
            "oOffQueueUsers" => plain(
                &mut data,
                metric,
                count(&|s| {
                    s.presence != SystemPresence::Offline && s.routing == RoutingStatus::OffQueue
                }),
            ),
            "oOnQueueUsers" => {
                for status in ON_QUEUE {
                    qualified(
                        &mut data,
                        metric,
                        status.name(),
                        count(&|s| s.routing == status),
                    );
                }
            }
            "oUserRoutingStatuses" => {
                for status in std::iter::once(RoutingStatus::OffQueue).chain(ON_QUEUE) {
                    qualified(
                        &mut data,
                        metric,
                        status.name(),
                        count(&|s| s.routing == status),
                    );
                }
            }
            "oUserPresences" => {
                for presence in SystemPresence::ALL {
                    let n = count(&|s| s.presence == presence);
                    qualified(&mut data, metric, &presence.org_id(world), n);
                }
            }
            _ => {}
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        World::new(11, 12)
    }

    fn body(world: &World, queues: usize, extra: Value) -> Vec<u8> {
        let predicates: Vec<Value> = world.queue_ids()[..queues]
            .iter()
            .map(|id| json!({"type": "dimension", "dimension": "queueId", "operator": "matches", "value": id}))
            .collect();
        let mut request = json!({
            "filter": {"type": "or", "predicates": predicates},
            "metrics": OBSERVATION_METRICS,
            "detailMetrics": ["oWaiting", "oInteracting"],
        });
        if let (Some(object), Value::Object(more)) = (request.as_object_mut(), extra) {
            object.extend(more);
        }
        serde_json::to_vec(&request).unwrap()
    }

    const NOON: i64 = 1_795_570_200_000 + 10 * 3_600_000 + 30 * 60_000; // Wed 12:00 UTC

    #[test]
    fn refuses_what_genesys_refuses() {
        let w = world();
        let big = World::new(1, 101);
        let too_many = parse_query(&body(&big, 101, json!({})), &big).unwrap_err();
        assert!(too_many.contains("101 queueId predicates"), "{too_many}");
        assert!(parse_query(&body(&big, 100, json!({})), &big).is_ok());
        let unknown = parse_query(&body(&w, 2, json!({"metrics": ["nOffered"]})), &w).unwrap_err();
        assert!(unknown.contains("unknown metric 'nOffered'"), "{unknown}");
        let detail =
            parse_query(&body(&w, 2, json!({"detailMetrics": ["oMemberUsers"]})), &w).unwrap_err();
        assert!(detail.contains("oMemberUsers"), "{detail}");
        let other = json!({"filter": {"type": "and", "predicates": [
            {"type": "dimension", "dimension": "queueId", "value": w.queue_ids()[0]},
            {"type": "dimension", "dimension": "direction", "value": "inbound"}]}});
        let dimension = parse_query(&body(&w, 1, other), &w).unwrap_err();
        assert!(dimension.contains("'direction'"), "{dimension}");
        let no_queue = json!({"filter": {"type": "or", "predicates": [
            {"type": "dimension", "dimension": "mediaType", "value": "voice"}]}});
        let missing = parse_query(&body(&w, 1, no_queue), &w).unwrap_err();
        assert!(missing.contains("queueId"), "{missing}");
    }

    #[test]
    fn groups_counts_and_observations_follow_the_documented_shape() {
        let w = world();
        let query = parse_query(&body(&w, 12, json!({})), &w).unwrap();
        let answer = run(&w, &query, NOON);
        let mappings = answer["systemToOrganizationMappings"].as_object().unwrap();
        assert_eq!(mappings.len(), 10);
        let results = answer["results"].as_array().unwrap();
        let mut waiting_seen = false;
        for result in results {
            let group = result["group"].as_object().unwrap();
            for entry in result["data"].as_array().unwrap() {
                let metric = entry["metric"].as_str().unwrap();
                let count = entry["stats"]["count"].as_u64().unwrap();
                if ["oWaiting", "oAlerting", "oInteracting"].contains(&metric) {
                    assert_eq!(group.len(), 2, "{group:?}");
                    assert!(count > 0);
                } else {
                    assert_eq!(group.len(), 1, "{group:?}");
                }
                if metric == "oWaiting" {
                    waiting_seen = true;
                    let listed = entry["observations"].as_array().unwrap();
                    assert_eq!(listed.len() as u64, count.min(MAX_OBSERVATIONS as u64));
                    assert_eq!(entry["truncated"], json!(count > MAX_OBSERVATIONS as u64));
                    for o in listed {
                        let at: DateTime<Utc> =
                            o["observationDate"].as_str().unwrap().parse().unwrap();
                        assert!(at.timestamp_millis() <= NOON);
                    }
                }
                if metric == "oAlerting" {
                    assert!(entry.get("observations").is_none());
                }
                if metric == "oUserPresences" {
                    let id = entry["qualifier"].as_str().unwrap();
                    assert!(mappings.values().any(|ids| ids[0] == id));
                }
            }
        }
        assert!(waiting_seen, "a busy noon has someone waiting somewhere");
    }

    #[test]
    fn a_media_type_predicate_narrows_conversations_but_not_agents() {
        let w = world();
        let ids = &w.queue_ids()[..4];
        let queues: Vec<Value> = ids
            .iter()
            .map(|id| json!({"type": "dimension", "dimension": "queueId", "value": id}))
            .collect();
        let request = json!({
            "filter": {"type": "and", "clauses": [
                {"type": "or", "predicates": queues},
                {"type": "or", "predicates": [{"type": "dimension", "dimension": "mediaType", "value": "voice"}]}]},
            "metrics": ["oInteracting", "oMemberUsers"],
        });
        let query = parse_query(&serde_json::to_vec(&request).unwrap(), &w).unwrap();
        let answer = run(&w, &query, NOON);
        let results = answer["results"].as_array().unwrap();
        let members = results
            .iter()
            .filter(|r| r["group"].get("mediaType").is_none())
            .count();
        assert_eq!(members, 4);
        for r in results {
            if let Some(media) = r["group"].get("mediaType") {
                assert_eq!(media, "voice");
            }
        }
    }

    #[test]
    fn waiting_conversations_are_ones_the_aggregates_count_as_offered() {
        // Every conversation waiting at noon arrived before noon and was (or will be)
        // offered: its nOffered posts at arrival, so an aggregates query up to noon
        // counts it.
        let w = world();
        let mut waiting = 0;
        let mut offered_before = 0;
        w.for_each_conversation(
            NOON - MAX_SPAN_MS,
            NOON + 1,
            |_, _| true,
            |c| {
                if c.arrival_ms <= NOON
                    && let Some((ConversationState::Waiting, since)) = conversation_state(c, NOON)
                {
                    assert_eq!(since, c.arrival_ms);
                    waiting += 1;
                    let mut offered = false;
                    c.for_each_event(|e| {
                        offered |=
                            e.metric == crate::world::catalog::Metric::NOffered && e.at_ms <= NOON
                    });
                    offered_before += usize::from(offered);
                }
            },
        );
        assert!(waiting > 0);
        assert_eq!(waiting, offered_before);
    }
}
