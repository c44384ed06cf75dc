//! A voice quality set's poll: the interval poller's loop (the same interval maths,
//! settle delay and retries as a query's), whose each poll reads the voice
//! conversations of the interval from the details query, page by page (see
//! [`crate::genesys::details`]), and maps them with [`crate::mapping::voice`].
//!
//! Each poll tells the request plan how many requests the next one will take: as many
//! as this one took, its `totalHits` in pages (and the first pages of the pieces of a
//! split interval); the traffic of one interval is the best guess of the next's.

use std::sync::{Arc, Mutex};

use super::execute::{Collect, Describes, Fetched, Mapped};
use super::{IntervalPoller, PollContext, Scheduled, Timing};
use crate::config::{Period, VoiceSetConfig};
use crate::genesys::ApiError;
use crate::genesys::details;
use crate::interval::Interval;
use crate::mapping::GroupMemory;
use crate::mapping::voice::map_voice;

/// One voice quality set's poll loop.
pub type VoicePoller = IntervalPoller<VoicePoll>;

impl VoicePoller {
    /// A poller of `set`, registered with the telemetry under its name (at one
    /// request a poll until its first poll says how many pages it takes).
    pub fn new(set: VoiceSetConfig, context: PollContext) -> VoicePoller {
        context.telemetry.register_query(&set.name);
        describe(&set, &context, 1);
        IntervalPoller::with(
            VoicePoll {
                set: Arc::new(set),
                memory: Arc::default(),
            },
            context,
        )
    }
}

/// Exports the set's schedule and its requests a poll (`query_requests_per_poll`).
fn describe(set: &VoiceSetConfig, context: &PollContext, requests: usize) {
    context.telemetry.describe_query(
        &set.name,
        set.granularity.nominal_length(),
        set.settle_delay,
        requests,
    );
}

/// A voice quality set's requests and mapping, and its group memory.
#[derive(Debug)]
pub struct VoicePoll {
    set: Arc<VoiceSetConfig>,
    /// Taken by each poll's mapping only: polls of a set never overlap.
    memory: Arc<Mutex<GroupMemory>>,
}

impl Scheduled for VoicePoll {
    fn timing(&self) -> Timing {
        Timing {
            granularity: self.set.granularity,
            time_zone: self.set.time_zone,
            settle_delay: self.set.settle_delay,
            refresh: None,
            period: Period::Completed,
        }
    }
}

impl Collect for VoicePoll {
    type Target = Interval;

    fn name(&self) -> &str {
        &self.set.name
    }

    fn endpoint(&self) -> &'static str {
        details::ENDPOINT
    }

    /// Every page of the interval's voice conversations, one request after the other.
    async fn fetch(&self, interval: &Interval, context: &PollContext) -> Result<Fetched, ApiError> {
        let interval = *interval;
        let answer = context
            .client
            .voice_conversations(&interval, self.set.page_size)
            .await?;
        context
            .planner
            .read_pages(&self.set.name, answer.requests, &context.telemetry);
        describe(&self.set, context, answer.requests);
        // Conversations past the result cap of a minute too busy to split further.
        let unreachable = answer.unreachable;
        let set = Arc::clone(&self.set);
        let names = context.names.current();
        let memory = Arc::clone(&self.memory);
        Ok(Fetched {
            budget_wait: answer.budget_wait,
            requests: answer.requests,
            describes: Describes::Interval(interval),
            map: Box::new(move || {
                let mut memory = memory.lock().unwrap_or_else(|p| p.into_inner());
                let mapped = map_voice(&set, &interval, &answer.conversations, &names, &mut memory);
                Mapped {
                    series: mapped.series,
                    warnings: mapped.warnings + unreachable,
                }
            }),
        })
    }

    fn log_failure(&self, interval: &Interval, err: &ApiError) {
        tracing::error!(query = %self.set.name, interval = %interval.to_iso8601(), error = %err, "voice quality poll failed; the last good values stay exported");
    }

    fn log_success(&self, interval: &Interval, samples: usize, requests: usize) {
        tracing::info!(query = %self.set.name, interval = %interval.to_iso8601(), samples, requests, "voice quality poll succeeded");
    }
}
