//! The users source: each user's time by routing status, system presence and
//! organization presence (`tAgentRoutingStatus`, `tSystemPresence`,
//! `tOrganizationPresence`, qualified by the status, the presence or the presence id;
//! stats `{sum}` in ms).
//!
//! What agrees, exactly:
//! - Per user, bucket and metric the qualifiers' sums add up to the bucket's length (to
//!   now, in the bucket under way): every moment of a user is in one state of each kind.
//!   Every user of the org is answered, logged in or not.
//! - INTERACTING is exactly the time the user was busy with conversations the
//!   conversations source lists under their `userId`: from alerting (or dialling) to the
//!   end of after-call work ([`Conversation::handling`]), overlaps merged. During it the
//!   user is ON_QUEUE (and in the org's on-queue presence). A user who handled nothing
//!   has no INTERACTING time.
//! - The rest of the time follows [`agents::state`], the model queue observations count
//!   from, minute by minute, except that its INTERACTING minutes (which no conversation
//!   backs) are IDLE here.
//!
//! [`Conversation::handling`]: crate::world::Conversation::handling

use super::{Stat, Tally};
use crate::world::agents::{self, RoutingStatus, SystemPresence};
use crate::world::{MAX_SPAN_MS, World};

const MINUTE_MS: i64 = 60_000;

/// Routing statuses in `RoutingStatus` declaration order, as its discriminants index them.
const ROUTING_STATUSES: [RoutingStatus; 5] = [
    RoutingStatus::OffQueue,
    RoutingStatus::Idle,
    RoutingStatus::Interacting,
    RoutingStatus::NotResponding,
    RoutingStatus::Communicating,
];

/// A user's time in one bucket, ms per routing status and per system presence (the org
/// has one organization presence per system presence).
#[derive(Default)]
struct Split {
    routing: [i64; ROUTING_STATUSES.len()],
    presence: [i64; SystemPresence::ALL.len()],
}

pub(super) fn measure(world: &World, tally: &mut Tally<'_>) {
    tally.timers_as_sums();
    let (start, span_end) = tally.span();
    let end = span_end.min(tally.now_ms());
    if end <= start {
        return;
    }
    let users: Vec<usize> = world
        .agent_ids()
        .iter()
        .enumerate()
        .filter(|(_, id)| tally.keeps(&|d: &str| (d == "userId").then_some(id.as_str())))
        .map(|(i, _)| i)
        .collect();
    let busy = busy_spans(world, start, end);
    let bounds = tally.query().bounds.clone();
    for user in users {
        let id = world.agent_ids()[user].as_str();
        let value_of = |d: &str| (d == "userId").then_some(id);
        let mut cursor = 0;
        for bucket in 0..bounds.len().saturating_sub(1) {
            let (from, to) = (bounds[bucket].max(start), bounds[bucket + 1].min(end));
            if from >= to {
                continue;
            }
            let split = split(world, user as u32, &busy[user], &mut cursor, from, to);
            let metrics = [
                ("tAgentRoutingStatus", qualified_routing(&split)),
                (
                    "tSystemPresence",
                    qualified_presence(&split, |p| p.name().into()),
                ),
                (
                    "tOrganizationPresence",
                    qualified_presence(&split, |p| p.org_id(world)),
                ),
            ];
            for (metric, times) in metrics {
                for (qualifier, ms) in times {
                    tally.add(bucket, metric, Some(&qualifier), &value_of, Stat::timer(ms));
                }
            }
        }
    }
}

fn qualified_routing(split: &Split) -> Vec<(String, i64)> {
    ROUTING_STATUSES
        .iter()
        .zip(split.routing)
        .filter(|(_, ms)| *ms > 0)
        .map(|(status, ms)| (status.name().to_string(), ms))
        .collect()
}

fn qualified_presence(
    split: &Split,
    name: impl Fn(SystemPresence) -> String,
) -> Vec<(String, i64)> {
    SystemPresence::ALL
        .into_iter()
        .zip(split.presence)
        .filter(|(_, ms)| *ms > 0)
        .map(|(presence, ms)| (name(presence), ms))
        .collect()
}

/// Per user (pool index), the merged spans in which they were busy with conversations,
/// sorted, as far as they touch `[start, end)`.
fn busy_spans(world: &World, start: i64, end: i64) -> Vec<Vec<(i64, i64)>> {
    let mut spans = vec![Vec::new(); world.agent_ids().len()];
    world.for_each_conversation(
        start - MAX_SPAN_MS,
        end,
        |_, _| true,
        |conversation| {
            if let Some((agent, from, to)) = conversation.handling()
                && to > start
                && from < end
                && let Some(user) = spans.get_mut(agent as usize)
            {
                user.push((from, to));
            }
        },
    );
    for user in &mut spans {
        user.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(user.len());
        for &(from, to) in user.iter() {
            match merged.last_mut() {
                Some(last) if from <= last.1 => last.1 = last.1.max(to),
                _ => merged.push((from, to)),
            }
        }
        *user = merged;
    }
    spans
}

/// How `user` spent `[from, to)`, minute by minute; `cursor` walks `busy` forward.
fn split(
    world: &World,
    user: u32,
    busy: &[(i64, i64)],
    cursor: &mut usize,
    from: i64,
    to: i64,
) -> Split {
    let mut split = Split::default();
    let mut at = from;
    while at < to {
        let next = ((at.div_euclid(MINUTE_MS) + 1) * MINUTE_MS).min(to);
        let interacting = busy_within(busy, cursor, at, next);
        let rest = next - at - interacting;
        let state = agents::state(world, user, at);
        let routing = match state.routing {
            RoutingStatus::Interacting => RoutingStatus::Idle,
            other => other,
        };
        split.routing[RoutingStatus::Interacting as usize] += interacting;
        split.presence[SystemPresence::OnQueue as usize] += interacting;
        split.routing[routing as usize] += rest;
        split.presence[state.presence as usize] += rest;
        at = next;
    }
    split
}

/// The time of `[from, to)` inside the sorted, disjoint `busy` spans; `cursor` skips
/// the spans that ended before `from` (calls come with `from` increasing).
fn busy_within(busy: &[(i64, i64)], cursor: &mut usize, from: i64, to: i64) -> i64 {
    while busy.get(*cursor).is_some_and(|&(_, end)| end <= from) {
        *cursor += 1;
    }
    busy[*cursor..]
        .iter()
        .take_while(|&&(start, _)| start < to)
        .map(|&(start, end)| end.min(to) - start.max(from))
        .sum()
}
