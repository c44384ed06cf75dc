//! The flows and flow executions sources: the org's inbound call flows, what enters them,
//! how they end, and the outcomes they record.
//!
//! What agrees, exactly:
//! - Every inbound voice conversation of the traffic passes through one flow first (queue
//!   `q`'s through flow `q % ROUTING_FLOWS`), entering it up to two minutes before the
//!   queue offers it and leaving it by exit to that queue at the moment the queue counts
//!   it offered (`nOffered`). So per bucket, the flows' exits (`tFlowExit`'s count) are
//!   the inbound voice conversations the queues were offered.
//! - The other runs of a flow end in it by disconnect (`tFlowDisconnect`): callers who
//!   hang up in the menu, the after-hours flow. `tFlow` counts both ends; `nFlow` counts
//!   entries, when they enter.
//! - `nFlowExecutions` (flow executions source) counts the same entries as `nFlow`, flow by
//!   flow and bucket by bucket.
//! - Outcomes (`nFlowOutcome`, `nFlowOutcomeFailed`, `tFlowOutcome`) post when their run
//!   ends and carry `flowOutcomeId` and `flowOutcomeValue`; the flow metrics do not, so
//!   grouped by `flowOutcomeId` their groups lack it.

use super::{Stat, Tally};
use crate::world::{HOME_DIVISION_ID, Media, Outcome, World, hash, poisson, stable_uuid, unit};

// Hash domain tags (the traffic model uses 1 to 8, the directory 12 to 15).
const TAG_FLOW: u64 = 16;
const TAG_FLOW_OUTCOME: u64 = 17;
const TAG_FLOW_RUN: u64 = 18;
const TAG_FLOW_DISCONNECT: u64 = 19;

const MINUTE_MS: i64 = 60_000;
/// The longest a run stays in a flow, ms.
const MAX_FLOW_MS: i64 = 3 * MINUTE_MS;

/// The org's inbound call flows, as its Architect lists them.
pub(crate) const FLOW_NAMES: &[&str] = &[
    "Main IVR",
    "Support – après-vente",
    "Billing \"Pay by phone\"",
    "Ventes Île-de-France",
    "After hours",
];
/// The first flows route to queues; the others only ever end in the flow.
const ROUTING_FLOWS: usize = 4;

/// The org's flow outcomes.
pub(crate) const OUTCOME_NAMES: &[&str] = &[
    "Caller authenticated",
    "Account lookup \"CRM\"",
    "Langue choisie",
    "Self-service payment",
    "Callback requested",
];

/// Per flow, the outcomes its runs may record: (outcome, chance a run records it,
/// chance a recorded one fails).
const FLOW_OUTCOMES: [&[(usize, f64, f64)]; 5] = [
    &[(2, 0.9, 0.02), (0, 0.6, 0.1), (1, 0.5, 0.12)],
    &[(0, 0.7, 0.08), (1, 0.6, 0.15)],
    &[(0, 0.8, 0.1), (3, 0.4, 0.2)],
    &[(2, 0.95, 0.01), (4, 0.2, 0.05)],
    &[(1, 0.7, 0.12), (4, 0.5, 0.1)],
];

/// Per flow, runs a minute at a weekday peak that end in the flow.
const DISCONNECTS_PER_MINUTE: [f64; 5] = [0.5, 0.3, 0.3, 0.2, 0.3];

/// The ids of the org's flows, in [`FLOW_NAMES`] order.
pub(crate) fn flow_ids(seed: u64) -> Vec<String> {
    ids(seed, TAG_FLOW, FLOW_NAMES.len())
}

/// The ids of the org's flow outcomes, in [`OUTCOME_NAMES`] order.
pub(crate) fn outcome_ids(seed: u64) -> Vec<String> {
    ids(seed, TAG_FLOW_OUTCOME, OUTCOME_NAMES.len())
}

fn ids(seed: u64, tag: u64, count: usize) -> Vec<String> {
    (0..count as u64)
        .map(|i| stable_uuid(seed, tag, i))
        .collect()
}

/// One pass of a call through a flow.
struct Run {
    flow: usize,
    entered: i64,
    ended: i64,
    /// The queue it left to (its code); `None`: it ended in the flow.
    exit: Option<u32>,
    /// Draws of its outcomes.
    key: u64,
}

/// A run's dimension values (and, for its outcomes, the outcome's).
#[derive(Clone, Copy)]
struct Values<'a> {
    flow_id: &'a str,
    flow_name: &'a str,
    queue_id: Option<&'a str>,
    outcome: Option<(&'a str, &'a str)>,
}

impl<'a> Values<'a> {
    fn get(&self, dimension: &str) -> Option<&'a str> {
        match dimension {
            "flowId" => Some(self.flow_id),
            "flowName" => Some(self.flow_name),
            "flowType" => Some("INBOUNDCALL"),
            "flowVersion" => Some("1.0"),
            "mediaType" => Some("voice"),
            "direction" | "originatingDirection" => Some("inbound"),
            "divisionId" => Some(HOME_DIVISION_ID),
            "queueId" => self.queue_id,
            "flowOutcomeId" => self.outcome.map(|(id, _)| id),
            "flowOutcomeValue" => self.outcome.map(|(_, value)| value),
            _ => None,
        }
    }
}

pub(super) fn measure(world: &World, tally: &mut Tally<'_>) {
    let (start, end) = tally.span();
    let end = end.min(tally.now_ms().saturating_add(1));
    if end <= start {
        return;
    }
    let mut runs = Vec::new();
    // Inbound calls: in the flow before the queue, which counts them offered on exit.
    world.for_each_conversation(
        start,
        end + MAX_FLOW_MS,
        |_, media| media == Media::Voice,
        |conversation| {
            if matches!(conversation.outcome, Outcome::Outbound { .. }) {
                return;
            }
            let key = hash(&[
                world.seed(),
                TAG_FLOW_RUN,
                u64::from(conversation.queue),
                conversation.arrival_ms as u64,
            ]);
            let in_flow = 15_000 + (unit(key) * 105_000.0) as i64;
            runs.push(Run {
                flow: conversation.queue as usize % ROUTING_FLOWS,
                entered: conversation.arrival_ms - in_flow,
                ended: conversation.arrival_ms,
                exit: Some(conversation.queue),
                key,
            });
        },
    );
    // Callers who end in the flow.
    for (flow, rate) in DISCONNECTS_PER_MINUTE.into_iter().enumerate() {
        for minute in (start - MAX_FLOW_MS).div_euclid(MINUTE_MS)..=end.div_euclid(MINUTE_MS) {
            let load = world.load_at(minute);
            // The after-hours flow is busiest when the queues are quiet.
            let load = if flow >= ROUTING_FLOWS {
                1.1 - load
            } else {
                load
            };
            let cell = hash(&[
                world.seed(),
                TAG_FLOW_DISCONNECT,
                flow as u64,
                minute as u64,
            ]);
            for index in 0..poisson(rate * load, unit(cell)) {
                let key = hash(&[cell, u64::from(index)]);
                let entered = minute * MINUTE_MS + (unit(key) * MINUTE_MS as f64) as i64;
                let in_flow = 10_000 + (unit(hash(&[key, 1])) * 170_000.0) as i64;
                runs.push(Run {
                    flow,
                    entered,
                    ended: entered + in_flow,
                    exit: None,
                    key,
                });
            }
        }
    }
    let flows = flow_ids(world.seed());
    let outcomes = outcome_ids(world.seed());
    for run in runs {
        post(world, tally, &run, &flows, &outcomes);
    }
}

/// Every measurement of one run.
fn post(world: &World, tally: &mut Tally<'_>, run: &Run, flows: &[String], outcomes: &[String]) {
    let values = Values {
        flow_id: &flows[run.flow],
        flow_name: FLOW_NAMES[run.flow],
        queue_id: run
            .exit
            .and_then(|q| world.queue_ids().get(q as usize))
            .map(String::as_str),
        outcome: None,
    };
    let value_of = |d: &str| values.get(d);
    let in_flow = run.ended - run.entered;
    tally.record(run.entered, "nFlow", None, &value_of, Stat::Count(1));
    tally.record(
        run.entered,
        "nFlowExecutions",
        None,
        &value_of,
        Stat::Count(1),
    );
    tally.record(run.ended, "tFlow", None, &value_of, Stat::timer(in_flow));
    let end = if run.exit.is_some() {
        "tFlowExit"
    } else {
        "tFlowDisconnect"
    };
    tally.record(run.ended, end, None, &value_of, Stat::timer(in_flow));
    for &(outcome, recorded, fails) in FLOW_OUTCOMES[run.flow] {
        let draw = hash(&[run.key, outcome as u64]);
        if unit(draw) >= recorded {
            continue;
        }
        let failed = unit(hash(&[draw, 1])) < fails;
        let took = 1_000 + (unit(hash(&[draw, 2])) * 19_000.0) as i64;
        let with_outcome = Values {
            outcome: Some((
                outcomes[outcome].as_str(),
                if failed { "FAILURE" } else { "SUCCESS" },
            )),
            ..values
        };
        let value_of = |d: &str| with_outcome.get(d);
        tally.record(run.ended, "nFlowOutcome", None, &value_of, Stat::Count(1));
        if failed {
            tally.record(
                run.ended,
                "nFlowOutcomeFailed",
                None,
                &value_of,
                Stat::Count(1),
            );
        }
        tally.record(
            run.ended,
            "tFlowOutcome",
            None,
            &value_of,
            Stat::timer(took),
        );
    }
}
