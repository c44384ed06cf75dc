//! The one poll wrapper: every kind of poll (a query, a queue set, an agents set) is only
//! what it asks the API and how its answer maps ([`Collect`]); [`execute`] does the rest
//! alike for all: the time the poll took, its success, the mapping on a blocking thread,
//! publishing, the telemetry and the status. (prometheus/node_exporter's `execute()`
//! wraps its collectors the same way.)

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::PollContext;
use crate::genesys::ApiError;
use crate::interval::Interval;
use crate::series::QuerySeries;

/// A poll that waited longer than this for the API budget counts as delayed.
const DELAYED_AFTER: Duration = Duration::from_millis(250);

/// What one poll fetched, ready to be mapped.
pub struct Fetched {
    /// Time spent waiting for the API budget, over every request.
    pub budget_wait: Duration,
    /// Requests the poll sent.
    pub requests: usize,
    /// What the values describe, for the status.
    pub describes: Describes,
    /// The mapping of the answer (moved in): CPU work proportional to the series, run
    /// off the async workers so that scrapes stay quick.
    pub map: Box<dyn FnOnce() -> Mapped + Send>,
}

/// What a poll's values describe.
#[derive(Clone, Copy, Debug)]
pub enum Describes {
    /// A query's interval.
    Interval(Interval),
    /// A set's moment of observation, by Genesys' clock.
    ObservedAt(DateTime<Utc>),
}

/// A poll's series, and the parts of the answer that were skipped.
pub struct Mapped {
    pub series: QuerySeries,
    pub warnings: u64,
}

/// One kind of poll: only its requests and its mapping.
pub trait Collect: Sync {
    /// What one poll is about: a query's interval, a set's refresh (and queues).
    type Target: Send + Sync;

    /// The `query` label: the query's or set's name.
    fn name(&self) -> &str;

    /// The endpoint named when the mapping fails.
    fn endpoint(&self) -> &'static str;

    /// Sends the poll's requests, one after the other through the client (budget,
    /// token, retries); any failure fails the poll, and nothing is published.
    fn fetch(
        &self,
        target: &Self::Target,
        context: &PollContext,
    ) -> impl Future<Output = Result<Fetched, ApiError>> + Send;

    /// Logs a failed poll (the last good series stay exported).
    fn log_failure(&self, target: &Self::Target, err: &ApiError);

    /// Logs a successful poll.
    fn log_success(&self, target: &Self::Target, samples: usize, requests: usize);
}

/// Runs one poll of `collector` for `target` and records how it went: on success the
/// series are published (unless `active` was cleared meanwhile), `query_up` is 1 and the
/// status says what the values describe; on failure the last good series stay, and the
/// telemetry and status say so.
pub(super) async fn execute<C: Collect>(
    collector: &C,
    target: &C::Target,
    context: &PollContext,
    active: &Arc<AtomicBool>,
) -> Result<(), ApiError> {
    let started = Instant::now();
    let name = collector.name();
    let failed = |err: ApiError| {
        collector.log_failure(target, &err);
        record_failed_poll(context, name, started, err)
    };
    let fetched = match collector.fetch(target, context).await {
        Ok(fetched) => fetched,
        Err(err) => return Err(failed(err)),
    };
    let telemetry = &context.telemetry;
    if fetched.budget_wait > DELAYED_AFTER {
        telemetry.count_delayed_poll(name);
        tracing::info!(query = %name, waited_seconds = fetched.budget_wait.as_secs_f64(), "poll waited for the API budget");
    }
    let store = Arc::clone(&context.store);
    let publish_as = name.to_string();
    let still_active = Arc::clone(active);
    let map = fetched.map;
    let outcome = tokio::task::spawn_blocking(move || {
        let mapped = map();
        let samples = mapped.series.sample_count();
        store.publish_while(&publish_as, mapped.series, &still_active);
        (mapped.warnings, samples)
    })
    .await;
    let (warnings, samples) = match outcome {
        Ok(outcome) => outcome,
        // Only a panic in mapping gets here; report it as a failed poll.
        Err(join_error) => {
            return Err(failed(ApiError::BadResponse {
                endpoint: collector.endpoint(),
                message: format!("mapping the response failed: {join_error}"),
            }));
        }
    };
    if warnings > 0 {
        telemetry.count_response_warnings(name, warnings);
        tracing::warn!(query = %name, skipped = warnings, "parts of the response were not usable and were skipped");
    }
    let finished = Utc::now();
    telemetry.observe_poll(
        name,
        Some(finished.timestamp_millis() as f64 / 1000.0),
        started.elapsed().as_secs_f64(),
    );
    context.store.update_status(name, |s| {
        s.attempted = true;
        s.last_success = Some(finished);
        s.last_error = None;
        match fetched.describes {
            Describes::Interval(interval) => s.interval = Some(interval),
            Describes::ObservedAt(at) => s.observed_at = Some(at),
        }
        s.samples = samples;
    });
    collector.log_success(target, samples, fetched.requests);
    Ok(())
}

/// Records a failed poll of `name` in the telemetry and its status, and hands the
/// error back.
fn record_failed_poll(
    context: &PollContext,
    name: &str,
    started: Instant,
    err: ApiError,
) -> ApiError {
    context
        .telemetry
        .observe_poll(name, None, started.elapsed().as_secs_f64());
    context.store.update_status(name, |s| {
        s.attempted = true;
        s.last_error = Some(err.to_string());
    });
    err
}
