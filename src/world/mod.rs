//! The simulator's synthetic org: deterministic conversations, agents over the day, and
//! the catalogue of what it models; the API stand-in ([`crate::simulator`]) answers from it.
//!
//! Deterministic synthetic conversations.
//!
//! Traffic is a pure function of `(seed, time)`: nothing is stored, every query
//! regenerates the conversations it needs from hashes. That makes answers repeatable
//! (the same interval always gives the same numbers) and additive (finer buckets sum
//! to coarser ones), which is what an exporter's tests need to assert on.
//!
//! Model: for every queue × media type × minute, a hash-seeded Poisson draw gives the
//! number of conversations arriving in that minute, with a daily pattern (busy in
//! business hours, quiet at night and at weekends). Each conversation's attributes
//! come from a small random stream seeded by `(seed, queue, media, minute, index)`.
//! Its measurements post the way Genesys posts them: counts when the thing happens,
//! timers in the interval where the measured thing ended.
//!
//! Here the constants of the model; beside it [`random`] (the hashes and random streams),
//! [`media`] (how each media type behaves), [`conversation`] (one conversation and the
//! measurements it posts) and [`org`] (the org, and the conversations of a window).
//! What the measurements are named lives in [`catalog`]; agents over the day in [`agents`];
//! the calls' voice quality in [`voice`].

pub(crate) mod agents;
pub(crate) mod catalog;
mod conversation;
mod media;
mod org;
mod random;
#[cfg(test)]
mod tests;
pub(crate) mod trunks;
pub(crate) mod voice;

pub(crate) use conversation::{Conversation, Event, Outcome};
pub(crate) use media::Media;
pub(crate) use org::{Org, World};
pub(crate) use random::{hash, poisson, stable_uuid, unit, uuid_from_bits};

/// No conversation lasts longer than this from arrival to the end of after-call work,
/// so a query only needs arrivals from `bucket start - MAX_SPAN_MS` onwards.
pub(crate) const MAX_SPAN_MS: i64 = 3 * 3_600_000;
/// Answered within this counts towards the service level (`oServiceLevel`).
pub(crate) const SERVICE_LEVEL_MS: i64 = 20_000;
/// The Genesys service-level target reported with `oServiceLevel`.
pub(crate) const SERVICE_LEVEL_TARGET: f64 = 0.8;
/// Abandons quicker than this are short abandons (`tShortAbandon`).
pub(crate) const SHORT_ABANDON_MS: i64 = 10_000;
/// Size of the org's agent pool unless [`Org::users`] says otherwise.
pub(crate) const AGENT_POOL: usize = 40;
/// Number of wrap-up codes in the org.
pub(crate) const WRAP_UP_CODES: usize = 8;
/// Number of divisions; queue `q` is in division `q % DIVISIONS`, and so are its
/// conversations.
pub(crate) const DIVISIONS: usize = 3;
/// The org's home division, the first.
pub(crate) const HOME_DIVISION_ID: &str = "00000000-0000-4000-8000-000000000001";
