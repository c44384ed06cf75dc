//! One synthetic conversation, what happened to it, and the measurements it posts, at the
//! times Genesys posts them.

use super::World;
use super::catalog::{DimValues, Metric};
use super::media::Media;
use super::{SERVICE_LEVEL_MS, SHORT_ABANDON_MS};

/// Conversation direction (`direction` / `originatingDirection`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub(super) const ALL: [Direction; 2] = [Direction::Inbound, Direction::Outbound];
    pub(super) fn name(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// The participant a measurement belongs to (`purpose`): queue measurements are
/// `acd`, agent measurements `agent`, conversation counts `customer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    Customer,
    Acd,
    Agent,
}

impl Purpose {
    pub(super) const ALL: [Purpose; 3] = [Purpose::Customer, Purpose::Acd, Purpose::Agent];
    pub(super) fn name(self) -> &'static str {
        match self {
            Purpose::Customer => "customer",
            Purpose::Acd => "acd",
            Purpose::Agent => "agent",
        }
    }
}

/// One measurement posted by a conversation: `value` is 1 for counts, milliseconds
/// for timers, 1 (met) / 0 (missed) for the service level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    pub at_ms: i64,
    pub metric: Metric,
    pub value: i64,
    pub purpose: Purpose,
}

/// How a transferred conversation was transferred.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transfer {
    Blind,
    Consult,
}

/// What happened to a conversation. Durations in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Outcome {
    /// The customer hung up while queued, `wait` after arriving.
    Abandoned { wait: i64 },
    /// Queued for `wait`, alerted an agent for `alert`, then handled.
    Answered {
        wait: i64,
        alert: i64,
        talk: i64,
        held: i64,
        acw: i64,
        transfer: Option<Transfer>,
    },
    /// Agent-initiated on behalf of the queue: dialled for `dial` (0 unless voice),
    /// then handled.
    Outbound {
        dial: i64,
        talk: i64,
        held: i64,
        acw: i64,
    },
}

/// One synthetic conversation as seen by one queue.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Conversation {
    pub queue: u32,
    pub media: Media,
    pub arrival_ms: i64,
    pub direction: Direction,
    pub originating_direction: Direction,
    /// Index into the agent pool; `None` when no agent handled it.
    pub agent: Option<u32>,
    pub wrap_up: Option<u32>,
    pub outcome: Outcome,
}

impl Conversation {
    /// Calls `f` with every measurement this conversation posts, at the time it posts.
    pub(crate) fn for_each_event(&self, mut f: impl FnMut(Event)) {
        let t0 = self.arrival_ms;
        let mut post = |at_ms, metric, value, purpose| {
            f(Event {
                at_ms,
                metric,
                value,
                purpose,
            })
        };
        post(t0, Metric::NConversations, 1, Purpose::Customer);
        match self.outcome {
            Outcome::Abandoned { wait } => {
                let at = t0 + wait;
                post(t0, Metric::NOffered, 1, Purpose::Acd);
                post(at, Metric::TAbandon, wait, Purpose::Acd);
                post(at, Metric::TAcd, wait, Purpose::Acd);
                if wait < SHORT_ABANDON_MS {
                    post(at, Metric::TShortAbandon, wait, Purpose::Acd);
                } else {
                    post(at, Metric::OServiceLevel, 0, Purpose::Acd);
                    if wait > SERVICE_LEVEL_MS {
                        post(at, Metric::NOverSla, 1, Purpose::Acd);
                    }
                }
            }
            Outcome::Answered {
                wait,
                alert,
                talk,
                held,
                acw,
                transfer,
            } => {
                let answered = t0 + wait + alert;
                let to_answer = wait + alert;
                post(t0, Metric::NOffered, 1, Purpose::Acd);
                post(answered, Metric::TWait, wait, Purpose::Acd);
                post(answered, Metric::TAcd, to_answer, Purpose::Acd);
                post(answered, Metric::TAnswered, to_answer, Purpose::Acd);
                let met = to_answer <= SERVICE_LEVEL_MS;
                post(
                    answered,
                    Metric::OServiceLevel,
                    i64::from(met),
                    Purpose::Acd,
                );
                if !met {
                    post(answered, Metric::NOverSla, 1, Purpose::Acd);
                }
                post(answered, Metric::TAlert, alert, Purpose::Agent);
                post(answered, Metric::NConnected, 1, Purpose::Agent);
                let disconnected = answered + talk + held;
                if let Some(kind) = transfer {
                    post(disconnected, Metric::NTransferred, 1, Purpose::Agent);
                    let metric = match kind {
                        Transfer::Blind => Metric::NBlindTransferred,
                        Transfer::Consult => Metric::NConsultTransferred,
                    };
                    post(disconnected, metric, 1, Purpose::Agent);
                }
                Self::post_handling(disconnected, talk, held, acw, &mut post);
            }
            Outcome::Outbound {
                dial,
                talk,
                held,
                acw,
            } => {
                let connected = t0 + dial;
                post(t0, Metric::NOutbound, 1, Purpose::Agent);
                if dial > 0 {
                    post(connected, Metric::TDialing, dial, Purpose::Agent);
                }
                post(connected, Metric::NConnected, 1, Purpose::Agent);
                Self::post_handling(connected + talk + held, talk, held, acw, &mut post);
            }
        }
    }

    /// Talk and hold post when the customer disconnects; after-call work and the
    /// handle time when the agent finishes wrap-up.
    fn post_handling(
        disconnected: i64,
        talk: i64,
        held: i64,
        acw: i64,
        post: &mut impl FnMut(i64, Metric, i64, Purpose),
    ) {
        post(disconnected, Metric::TTalk, talk, Purpose::Agent);
        post(disconnected, Metric::TTalkComplete, talk, Purpose::Agent);
        if held > 0 {
            post(disconnected, Metric::THeld, held, Purpose::Agent);
            post(disconnected, Metric::THeldComplete, held, Purpose::Agent);
        }
        let finished = disconnected + acw;
        if acw > 0 {
            post(finished, Metric::TAcw, acw, Purpose::Agent);
        }
        post(finished, Metric::THandle, talk + held + acw, Purpose::Agent);
    }

    /// The agent who handled this conversation and when they were busy with it, in ms:
    /// from alerting (or dialling) to the end of after-call work, the span whose end
    /// posts `tHandle`. `None` when nobody handled it.
    pub(crate) fn handling(&self) -> Option<(u32, i64, i64)> {
        let agent = self.agent?;
        let t0 = self.arrival_ms;
        match self.outcome {
            Outcome::Abandoned { .. } => None,
            Outcome::Answered {
                wait,
                alert,
                talk,
                held,
                acw,
                ..
            } => Some((agent, t0 + wait, t0 + wait + alert + talk + held + acw)),
            Outcome::Outbound {
                dial,
                talk,
                held,
                acw,
            } => Some((agent, t0, t0 + dial + talk + held + acw)),
        }
    }

    /// When the customer's side ends (`ms`): they hung up in queue, or the call was
    /// disconnected (talk and hold over).
    pub(crate) fn customer_end_ms(&self) -> i64 {
        let t0 = self.arrival_ms;
        match self.outcome {
            Outcome::Abandoned { wait } => t0 + wait,
            Outcome::Answered {
                wait,
                alert,
                talk,
                held,
                ..
            } => t0 + wait + alert + talk + held,
            Outcome::Outbound {
                dial, talk, held, ..
            } => t0 + dial + talk + held,
        }
    }

    /// When the conversation ends (`conversationEnd`, ms): the last participant is done,
    /// after-call work included. It is when the conversation's last measurement posts
    /// (`tHandle`, or `tAbandon` for an abandon), so the aggregates count each
    /// conversation once, in the interval of its end.
    pub(crate) fn end_ms(&self) -> i64 {
        match self.outcome {
            Outcome::Abandoned { .. } => self.customer_end_ms(),
            Outcome::Answered { acw, .. } | Outcome::Outbound { acw, .. } => {
                self.customer_end_ms() + acw
            }
        }
    }

    /// The dimension values of a measurement of this conversation with `purpose`.
    pub(crate) fn dim_values(&self, purpose: Purpose) -> DimValues {
        [
            Some(self.queue),
            Some(self.media as u32),
            Some(self.direction as u32),
            Some(self.originating_direction as u32),
            self.agent,
            self.wrap_up,
            Some(purpose as u32),
            Some(World::division_of(self.queue as usize) as u32),
        ]
    }

    /// When the last measurement posts (for checking [`MAX_SPAN_MS`]).
    #[cfg(test)]
    pub(super) fn last_event_ms(&self) -> i64 {
        let mut last = self.arrival_ms;
        self.for_each_event(|e| last = last.max(e.at_ms));
        last
    }
}
