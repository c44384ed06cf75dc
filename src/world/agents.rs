//! The simulated agents' presences and routing statuses over the day.
//!
//! Like the traffic, an agent's state is a pure function of `(seed, agent, time)`: more
//! agents are logged in and on queue in business hours (a night shift of two at every
//! hour), and those on queue are more
//! often interacting when the org is busy. Queue observations (`oUserPresences`,
//! `oUserRoutingStatuses`, ...) count the members of a queue by these states.

use serde_json::{Map, Value, json};

use super::{World, hash, stable_uuid};

const TAG_PRESENCE_SLOT: u64 = 100;
const TAG_ROUTING_MINUTE: u64 = 101;
const TAG_ORG_PRESENCE: u64 = 102;
/// An agent changes presence at most this often (ms): breaks, meetings, logging off.
const PRESENCE_SLOT_MS: i64 = 15 * 60_000;
const MINUTE_MS: i64 = 60_000;
/// The night shift: this many agents (the first of the pool) are on queue at every hour,
/// so that the org answers at 3 a.m. on a Sunday too, as a contact center does, and the
/// demo's panels of agents on queue have data whenever they are opened.
const NIGHT_SHIFT: u32 = 2;

/// Genesys system presences, in the order the simulator's org presence ids are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SystemPresence {
    Available,
    Away,
    Busy,
    Offline,
    Idle,
    OnQueue,
    Meal,
    Training,
    Meeting,
    Break,
}

impl SystemPresence {
    pub(crate) const ALL: [SystemPresence; 10] = [
        SystemPresence::Available,
        SystemPresence::Away,
        SystemPresence::Busy,
        SystemPresence::Offline,
        SystemPresence::Idle,
        SystemPresence::OnQueue,
        SystemPresence::Meal,
        SystemPresence::Training,
        SystemPresence::Meeting,
        SystemPresence::Break,
    ];

    /// The name in `systemToOrganizationMappings`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            SystemPresence::Available => "AVAILABLE",
            SystemPresence::Away => "AWAY",
            SystemPresence::Busy => "BUSY",
            SystemPresence::Offline => "OFFLINE",
            SystemPresence::Idle => "IDLE",
            SystemPresence::OnQueue => "ON_QUEUE",
            SystemPresence::Meal => "MEAL",
            SystemPresence::Training => "TRAINING",
            SystemPresence::Meeting => "MEETING",
            SystemPresence::Break => "BREAK",
        }
    }

    /// The organization presence id the org uses for this system presence (one each).
    pub(crate) fn org_id(self, world: &World) -> String {
        stable_uuid(world.seed(), TAG_ORG_PRESENCE, self as u64)
    }
}

/// Routing statuses, the qualifiers of `oOnQueueUsers` and `oUserRoutingStatuses`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RoutingStatus {
    OffQueue,
    Idle,
    Interacting,
    NotResponding,
    Communicating,
}

impl RoutingStatus {
    pub(crate) fn name(self) -> &'static str {
        match self {
            RoutingStatus::OffQueue => "OFF_QUEUE",
            RoutingStatus::Idle => "IDLE",
            RoutingStatus::Interacting => "INTERACTING",
            RoutingStatus::NotResponding => "NOT_RESPONDING",
            RoutingStatus::Communicating => "COMMUNICATING",
        }
    }
}

/// One agent's state at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AgentState {
    pub presence: SystemPresence,
    pub routing: RoutingStatus,
}

fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The state of agent `agent` (pool index) at `at_ms`.
pub(crate) fn state(world: &World, agent: u32, at_ms: i64) -> AgentState {
    let minute = at_ms.div_euclid(MINUTE_MS);
    let load = world.load_at(minute);
    let slot = at_ms.div_euclid(PRESENCE_SLOT_MS);
    let draw = hash(&[
        world.seed(),
        TAG_PRESENCE_SLOT,
        u64::from(agent),
        slot as u64,
    ]);
    let logged_in = unit(draw) < 0.1 + 0.85 * load;
    let presence = if agent < NIGHT_SHIFT {
        SystemPresence::OnQueue
    } else if !logged_in {
        SystemPresence::Offline
    } else {
        let choice = unit(hash(&[draw, 1]));
        if choice < 0.72 {
            SystemPresence::OnQueue
        } else {
            const OFF_QUEUE: [SystemPresence; 8] = [
                SystemPresence::Available,
                SystemPresence::Away,
                SystemPresence::Busy,
                SystemPresence::Idle,
                SystemPresence::Meal,
                SystemPresence::Training,
                SystemPresence::Meeting,
                SystemPresence::Break,
            ];
            let index = (((choice - 0.72) / 0.28) * OFF_QUEUE.len() as f64) as usize;
            OFF_QUEUE[index.min(OFF_QUEUE.len() - 1)]
        }
    };
    let routing = if presence != SystemPresence::OnQueue {
        RoutingStatus::OffQueue
    } else {
        let u = unit(hash(&[
            world.seed(),
            TAG_ROUTING_MINUTE,
            u64::from(agent),
            minute as u64,
        ]));
        let interacting = 0.2 + 0.6 * load;
        if u < interacting {
            RoutingStatus::Interacting
        } else if u < interacting + 0.05 {
            RoutingStatus::Communicating
        } else if u < interacting + 0.08 {
            RoutingStatus::NotResponding
        } else {
            RoutingStatus::Idle
        }
    };
    AgentState { presence, routing }
}

/// Whether agent `agent` in `state` is out of office: one offline agent in seven.
pub(crate) fn out_of_office(agent: u32, state: &AgentState) -> bool {
    state.presence == SystemPresence::Offline && agent.is_multiple_of(7)
}

/// `systemToOrganizationMappings` of the answers that name organization presences:
/// each system presence with the org's presence id for it.
pub(crate) fn system_to_organization_mappings(world: &World) -> Value {
    SystemPresence::ALL
        .into_iter()
        .map(|p| (p.name().to_string(), json!([p.org_id(world)])))
        .collect::<Map<String, Value>>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;

    fn count_at(world: &World, at_ms: i64, wanted: impl Fn(AgentState) -> bool) -> usize {
        (0..world.agent_ids().len() as u32)
            .filter(|&a| wanted(state(world, a, at_ms)))
            .count()
    }

    #[test]
    fn more_agents_are_on_queue_in_business_hours_than_at_night() {
        let world = World::new(7, 4);
        // Wednesday 2026-11-25.
        let night = 1_795_570_200_000; // 01:30 UTC
        let day = night + 12 * 3_600_000; // 13:30 UTC
        let on_queue = |s: AgentState| s.presence == SystemPresence::OnQueue;
        assert!(count_at(&world, day, on_queue) > count_at(&world, night, on_queue));
    }

    #[test]
    fn only_agents_on_queue_have_an_on_queue_routing_status() {
        let world = World::new(3, 4);
        for minute in 0..600 {
            for agent in 0..world.agent_ids().len() as u32 {
                let s = state(&world, agent, 1_795_570_200_000 + minute * 60_000);
                assert_eq!(
                    s.presence == SystemPresence::OnQueue,
                    s.routing != RoutingStatus::OffQueue,
                    "{s:?}"
                );
            }
        }
    }

    #[test]
    fn somebody_is_on_queue_at_every_hour_of_the_week() {
        let world = World::new(5, 40);
        // Monday 2026-11-30 00:00 UTC, every quarter hour for a week.
        let monday = 1_796_083_200_000;
        for slot in 0..7 * 96 {
            let at = monday + slot * PRESENCE_SLOT_MS;
            let on_queue = (0..40)
                .filter(|&agent| state(&world, agent, at).presence == SystemPresence::OnQueue)
                .count();
            assert!(
                on_queue >= NIGHT_SHIFT as usize,
                "{on_queue} on queue at {at}"
            );
        }
    }

    #[test]
    fn states_change_over_the_day_and_repeat_for_a_seed() {
        let world = World::new(5, 4);
        let start = 1_795_570_200_000;
        let states: Vec<AgentState> = (0..96)
            .map(|slot| state(&world, 3, start + slot * PRESENCE_SLOT_MS))
            .collect();
        assert!(states.iter().any(|s| s.presence != states[0].presence));
        let again: Vec<AgentState> = (0..96)
            .map(|slot| state(&world, 3, start + slot * PRESENCE_SLOT_MS))
            .collect();
        assert_eq!(states, again);
    }
}
