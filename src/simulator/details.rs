//! `POST /api/v2/analytics/conversations/details/query`: the world's conversations one by
//! one (`AnalyticsConversationQueryResponse`), with their participants, sessions, segments
//! and, for calls, the voice quality of [`crate::world::voice`].
//!
//! Which conversations: those with activity in the interval, as Genesys selects them: they
//! started before its end and had not ended before its start (a call that started earlier
//! and is still going comes back too, without `conversationEnd`), and they started on a
//! (UTC) day the interval touches, as the SDK documents `interval`. A conversation ends
//! when its last measurement posts (see [`Conversation::end_ms`]), so the voice
//! conversations that end in an interval are exactly those the aggregates count for it
//! (`tHandle` plus `tAbandon`, per queue). Nothing after the simulator's clock shows: a
//! segment still open has no `segmentEnd`, and a call's media stats come when the
//! customer's side ends.
//!
//! Validation is Genesys' (SDK `ConversationQuery`, `PagingSpec`): `interval` required,
//! `order` and `orderBy` from their enums, `paging.pageSize` 1 to 100 (default 25),
//! `paging.pageNumber` from 1, no page past the first 10,000 results (`totalHits` still
//! counts them all, so a client knows to split the interval), filters as in [`filter`].
//! Evaluation, survey and resolution filters match nothing (the model has none of those),
//! `aggregations` are not answered. A refusal is a 400 naming its field.

use std::cmp::Reverse;

use serde_json::{Map, Value, json};

use super::agent_counts::Refusal;
use super::period;
use crate::world::catalog::Dim;
use crate::world::voice::{self, VoiceQuality};
use crate::world::{Conversation, MAX_SPAN_MS, Outcome, World, hash, stable_uuid};

mod filter;

use filter::{Filter, Level};

/// The largest `paging.pageSize` Genesys accepts for details.
pub(crate) const MAX_PAGE_SIZE: u64 = 100;
/// `paging.pageSize` when the request gives none (SDK `ConversationQuery.paging`).
const DEFAULT_PAGE_SIZE: u64 = 25;
/// The most results a query can page through.
pub(crate) const MAX_RESULTS: u64 = 10_000;
const DAY_MS: i64 = 86_400_000;
const TAG_PARTICIPANT: u64 = 2602;

/// What the results are sorted by (`orderBy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OrderBy {
    ConversationStart,
    ConversationEnd,
    SegmentStart,
    SegmentEnd,
}

/// A validated details query.
#[derive(Debug)]
pub(crate) struct DetailsQuery {
    start_ms: i64,
    end_ms: i64,
    descending: bool,
    order_by: OrderBy,
    page_size: u64,
    page_number: u64,
    conversation_filters: Vec<Filter>,
    segment_filters: Vec<Filter>,
    /// Evaluation, survey or resolution filters were given: nothing matches them.
    matches_nothing: bool,
}

fn refuse(field: impl Into<String>, message: impl Into<String>) -> Refusal {
    Refusal {
        field: field.into(),
        message: message.into(),
    }
}

/// Parses and validates a request body.
pub(crate) fn parse_query(body: &[u8]) -> Result<DetailsQuery, Refusal> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| refuse("body", format!("malformed JSON request body: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(refuse(
            "body",
            "the request body must be a ConversationQuery object",
        ));
    };
    let field = |name: &str| fields.get(name).filter(|v| !v.is_null());
    let (start_ms, end_ms) = match field("interval") {
        None => return Err(refuse("interval", "interval is required")),
        Some(Value::String(s)) => period::parse_interval(s).map_err(|m| refuse("interval", m))?,
        Some(_) => {
            return Err(refuse(
                "interval",
                "interval must be a string such as 'start/end'",
            ));
        }
    };
    let descending = match field("order") {
        None => false,
        Some(Value::String(s)) if s == "asc" || s == "unordered" => false,
        Some(Value::String(s)) if s == "desc" => true,
        Some(other) => {
            return Err(refuse(
                "order",
                format!("order must be one of asc, desc, unordered, not {other}"),
            ));
        }
    };
    let order_by = match field("orderBy").map(|v| v.as_str()) {
        None => OrderBy::ConversationStart,
        Some(Some("conversationStart")) => OrderBy::ConversationStart,
        Some(Some("conversationEnd")) => OrderBy::ConversationEnd,
        Some(Some("segmentStart")) => OrderBy::SegmentStart,
        Some(Some("segmentEnd")) => OrderBy::SegmentEnd,
        Some(_) => {
            return Err(refuse(
                "orderBy",
                "orderBy must be one of conversationStart, conversationEnd, segmentStart, segmentEnd",
            ));
        }
    };
    let (page_size, page_number) = paging(field("paging"))?;
    let others = ["evaluationFilters", "surveyFilters", "resolutionFilters"];
    Ok(DetailsQuery {
        start_ms,
        end_ms,
        descending,
        order_by,
        page_size,
        page_number,
        conversation_filters: filter::parse_list(
            field("conversationFilters"),
            "conversationFilters",
            Level::Conversation,
        )?,
        segment_filters: filter::parse_list(
            field("segmentFilters"),
            "segmentFilters",
            Level::Segment,
        )?,
        matches_nothing: others.iter().any(|name| {
            field(name)
                .and_then(Value::as_array)
                .is_some_and(|l| !l.is_empty())
        }),
    })
}

/// `paging {pageSize, pageNumber}`, checked against the page size maximum and the cap.
fn paging(value: Option<&Value>) -> Result<(u64, u64), Refusal> {
    let paging = match value {
        None => return Ok((DEFAULT_PAGE_SIZE, 1)),
        Some(Value::Object(paging)) => paging,
        Some(_) => {
            return Err(refuse(
                "paging",
                "paging must be an object {pageSize, pageNumber}",
            ));
        }
    };
    let number = |name: &str, default: u64| match paging.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
            refuse(
                format!("paging.{name}"),
                format!("paging.{name} must be a whole number of at least 1, not {v}"),
            )
        }),
    };
    let size = number("pageSize", DEFAULT_PAGE_SIZE)?;
    if size > MAX_PAGE_SIZE {
        return Err(refuse(
            "paging.pageSize",
            format!("paging.pageSize {size} is over the maximum of {MAX_PAGE_SIZE}"),
        ));
    }
    let page = number("pageNumber", 1)?;
    if page.saturating_mul(size) > MAX_RESULTS {
        return Err(refuse(
            "paging.pageNumber",
            format!(
                "page {page} of {size} passes the first {MAX_RESULTS} results, the most a query \
                 can page through: narrow the interval"
            ),
        ));
    }
    Ok((size, page))
}

/// Answers `query` at `now_ms`: `{conversations, totalHits}`, no `conversations` on an
/// empty page.
pub(crate) fn run(world: &World, query: &DetailsQuery, now_ms: i64) -> Value {
    let first_day = query.start_ms.div_euclid(DAY_MS) * DAY_MS;
    let mut hits: Vec<(i64, String, Conversation)> = Vec::new();
    if !query.matches_nothing {
        let arrivals_until = query.end_ms.min(now_ms.saturating_add(1));
        world.for_each_conversation(
            (query.start_ms - MAX_SPAN_MS).max(first_day),
            arrivals_until,
            // A session's media type is its conversation's: skip the cells a filter rules out.
            |_, media| {
                let name = media.name();
                !query
                    .segment_filters
                    .iter()
                    .any(|f| f.rules_out("mediaType", name))
            },
            |c| {
                if c.end_ms().min(now_ms) < query.start_ms {
                    return;
                }
                let filtered =
                    !query.conversation_filters.is_empty() || !query.segment_filters.is_empty();
                if !filtered || selected(query, &conversation(world, c, now_ms)) {
                    hits.push((
                        sort_key(query.order_by, c, now_ms),
                        world.conversation_id(c),
                        c.clone(),
                    ));
                }
            },
        );
    }
    if query.descending {
        hits.sort_by(|a, b| (Reverse(a.0), &a.1).cmp(&(Reverse(b.0), &b.1)));
    } else {
        hits.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    }
    let total = hits.len();
    let skip = ((query.page_number - 1) * query.page_size) as usize;
    let page: Vec<Value> = hits
        .iter()
        .skip(skip)
        .take(query.page_size as usize)
        .map(|(_, _, c)| conversation(world, c, now_ms))
        .collect();
    if page.is_empty() {
        json!({ "totalHits": total })
    } else {
        json!({ "conversations": page, "totalHits": total })
    }
}

/// The sort key of `orderBy`; a conversation still going sorts after every ended one.
fn sort_key(order_by: OrderBy, c: &Conversation, now_ms: i64) -> i64 {
    let end = if c.end_ms() <= now_ms {
        c.end_ms()
    } else {
        i64::MAX
    };
    match order_by {
        OrderBy::ConversationStart | OrderBy::SegmentStart => c.arrival_ms,
        OrderBy::ConversationEnd | OrderBy::SegmentEnd => end,
    }
}

/// Whether the conversation as shown passes every conversation filter, and every segment
/// filter on at least one of its segments.
fn selected(query: &DetailsQuery, shown: &Value) -> bool {
    let top = |name: &str| match name {
        "divisionId" => shown["divisionIds"][0].as_str().map(str::to_string),
        _ => text(&shown[name]),
    };
    if !query.conversation_filters.iter().all(|f| f.holds(&top)) {
        return false;
    }
    query.segment_filters.iter().all(|f| {
        segments(shown).any(|(participant, session, segment)| {
            f.holds(&|name| {
                [segment, session, participant]
                    .iter()
                    .find_map(|level| text(&level[name]))
            })
        })
    })
}

/// A shown value as a filter compares it.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Every segment of a shown conversation with its participant and session.
fn segments(shown: &Value) -> impl Iterator<Item = (&Value, &Value, &Value)> {
    list(&shown["participants"]).iter().flat_map(|p| {
        list(&p["sessions"])
            .iter()
            .flat_map(move |s| list(&s["segments"]).iter().map(move |g| (p, s, g)))
    })
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

/// One segment of a session: its type, span and extra fields.
struct Segment {
    kind: &'static str,
    from: i64,
    to: i64,
    extra: Vec<(&'static str, String)>,
}

/// A segment of `kind` over `[from, to)`, with `queueId` when it belongs to a queue.
fn segment(kind: &'static str, from: i64, to: i64, queue_id: Option<&str>) -> Segment {
    Segment {
        kind,
        from,
        to,
        extra: queue_id
            .map(|q| ("queueId", q.to_string()))
            .into_iter()
            .collect(),
    }
}

/// The segments of the customer, the queue (`acd`) and the agent, by the outcome.
fn timeline(world: &World, c: &Conversation) -> [Vec<Segment>; 3] {
    let t0 = c.arrival_ms;
    let queue = world.queue_ids().get(c.queue as usize).map(String::as_str);
    let wrap_up = c
        .wrap_up
        .and_then(|w| world.wrap_up_ids().get(w as usize))
        .map(String::as_str);
    let hung_up = c.customer_end_ms();
    match c.outcome {
        Outcome::Abandoned { wait } => [
            vec![segment("interact", t0, hung_up, None)],
            vec![segment("interact", t0, t0 + wait, queue)],
            Vec::new(),
        ],
        Outcome::Answered {
            wait,
            alert,
            talk,
            held,
            acw,
            ..
        } => {
            let answered = t0 + wait + alert;
            let mut agent = vec![segment("alert", t0 + wait, answered, queue)];
            agent.extend(handling(answered, talk, held, acw, queue, wrap_up));
            [
                vec![segment("interact", t0, hung_up, None)],
                vec![segment("interact", t0, answered, queue)],
                agent,
            ]
        }
        Outcome::Outbound {
            dial,
            talk,
            held,
            acw,
        } => {
            let mut agent = Vec::new();
            if dial > 0 {
                agent.push(segment("dialing", t0, t0 + dial, queue));
            }
            agent.extend(handling(t0 + dial, talk, held, acw, queue, wrap_up));
            [
                vec![segment("interact", t0 + dial, hung_up, None)],
                Vec::new(),
                agent,
            ]
        }
    }
}

/// The agent's talk, hold and after-call work from `connected`.
fn handling(
    connected: i64,
    talk: i64,
    held: i64,
    acw: i64,
    queue: Option<&str>,
    wrap_up: Option<&str>,
) -> Vec<Segment> {
    let talked = connected + talk;
    let mut out = vec![segment("interact", connected, talked, queue)];
    if held > 0 {
        out.push(segment("hold", talked, talked + held, queue));
    }
    if acw > 0 {
        let mut wrapup = segment("wrapup", talked + held, talked + held + acw, queue);
        wrapup
            .extra
            .extend(wrap_up.map(|w| ("wrapUpCode", w.to_string())));
        out.push(wrapup);
    }
    out
}

/// `c` as an `AnalyticsConversationWithoutAttributes` at `now_ms`.
fn conversation(world: &World, c: &Conversation, now_ms: i64) -> Value {
    let direction = world.dim_label(Dim::Direction, c.direction as u32);
    let quality = voice::quality(world, c).filter(|_| c.customer_end_ms() <= now_ms);
    let [customer, acd, agent] = timeline(world, c);
    let customer_purpose = match c.outcome {
        Outcome::Outbound { .. } => "external",
        _ => "customer",
    };
    let mut customer_session = Map::new();
    if let Some(q) = &quality {
        customer_session.insert("edgeId".into(), json!(q.edge_id));
        customer_session.insert("mediaEndpointStats".into(), json!([endpoint_stats(q, c)]));
    }
    let user = c
        .agent
        .and_then(|a| world.agent_ids().get(a as usize))
        .map(String::as_str);
    let parties = [
        (customer_purpose, None, customer_session, customer),
        ("acd", None, Map::new(), acd),
        ("agent", user, Map::new(), agent),
    ];
    let mut participants = Vec::new();
    for (index, (purpose, user, mut session, segments)) in parties.into_iter().enumerate() {
        let shown: Vec<Value> = segments
            .iter()
            .filter(|s| s.from <= now_ms)
            .map(|s| segment_json(s, now_ms))
            .collect();
        if shown.is_empty() {
            continue;
        }
        let key = hash(&[
            u64::from(c.queue),
            c.media as u64,
            c.arrival_ms as u64,
            index as u64,
        ]);
        let id = |n: u64| stable_uuid(world.seed(), TAG_PARTICIPANT, hash(&[key, n]));
        session.insert("sessionId".into(), json!(id(1)));
        session.insert("mediaType".into(), json!(c.media.name()));
        session.insert("direction".into(), json!(direction));
        session.insert("segments".into(), Value::Array(shown));
        let mut p = Map::new();
        p.insert("participantId".into(), json!(id(0)));
        p.insert("purpose".into(), json!(purpose));
        if let Some(user) = user {
            p.insert("userId".into(), json!(user));
        }
        p.insert("sessions".into(), json!([session]));
        participants.push(Value::Object(p));
    }

    let mut out = Map::new();
    out.insert("conversationId".into(), json!(world.conversation_id(c)));
    out.insert(
        "conversationStart".into(),
        json!(period::format_ms(c.arrival_ms)),
    );
    if c.end_ms() <= now_ms {
        out.insert(
            "conversationEnd".into(),
            json!(period::format_ms(c.end_ms())),
        );
    }
    if let Some(q) = &quality {
        out.insert("mediaStatsMinConversationMos".into(), json!(q.mos));
        out.insert("mediaStatsMinConversationRFactor".into(), json!(q.r_factor));
    }
    let origin = world.dim_label(Dim::OriginatingDirection, c.originating_direction as u32);
    out.insert("originatingDirection".into(), json!(origin));
    let division = world
        .division_ids()
        .get(World::division_of(c.queue as usize));
    out.insert("divisionIds".into(), json!([division]));
    out.insert("participants".into(), Value::Array(participants));
    Value::Object(out)
}

fn segment_json(s: &Segment, now_ms: i64) -> Value {
    let mut out = Map::new();
    out.insert("segmentStart".into(), json!(period::format_ms(s.from)));
    if s.to <= now_ms {
        out.insert("segmentEnd".into(), json!(period::format_ms(s.to)));
    }
    out.insert("segmentType".into(), json!(s.kind));
    for (name, value) in &s.extra {
        out.insert((*name).into(), json!(value));
    }
    Value::Object(out)
}

/// The customer session's `mediaEndpointStats` entry.
fn endpoint_stats(q: &VoiceQuality, c: &Conversation) -> Value {
    json!({
        "codecs": [q.codec],
        "minMos": q.mos,
        "minRFactor": q.r_factor,
        "maxLatencyMs": q.max_latency_ms,
        "receivedPackets": q.received_packets,
        "discardedPackets": q.discarded_packets,
        "invalidPackets": q.invalid_packets,
        "duplicatePackets": q.duplicate_packets,
        "overrunPackets": q.overrun_packets,
        "underrunPackets": q.underrun_packets,
        "eventTime": period::format_ms(c.customer_end_ms()),
    })
}
