//! The asynchronous aggregate jobs of every source Genesys has them for
//! (`POST /api/v2/analytics/{source}/aggregates/jobs`, then `GET .../jobs/{jobId}` until
//! `FULFILLED`, then `GET .../jobs/{jobId}/results?cursor=` page by page, `DELETE` to
//! cancel), as the SDK's `…AsyncAggregationQuery`, `AsyncQueryResponse`,
//! `AsyncQueryStatus` and `…AsyncAggregateQueryResponse` describe them.
//!
//! A job's body is the synchronous query's, read by the same parser (so refused for the
//! same reasons, naming the same fields), plus `pageSize` and `queryType`. Its results
//! are exactly what the synchronous query answers for that body at the instant the job
//! was submitted, cut into pages of `pageSize` results; a cursor names the next page and
//! the last page has none. The answer is never held whole (a month of 1,000 queues is
//! gigabytes): a page is computed alone ([`sources::for_each_result`]), the first from
//! the submission on, each next one while the previous is being read, so at most two
//! pages are held. A job is `QUEUED` for the first half of
//! [`super::SimulatorConfig::job_delay`], `PENDING` for the second (and for as long as
//! its first page takes to compute), then `FULFILLED`
//! (or what [`JobOutcome`] says). The SDK states no page size limit: the simulator's
//! default and largest are [`DEFAULT_PAGE_SIZE`] and [`MAX_PAGE_SIZE`] (docs/history.md).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use hyper::StatusCode;
use serde_json::{Value, json};

use super::aggregate::{self, AggregateQuery, QueryError};
use super::auth::lock;
use super::respond::{self, Body};
use super::sources::Position;
use super::{Shared, codec, sources};
use crate::genesys::sources::Source;

/// Results a page holds when the body names no `pageSize`.
pub(crate) const DEFAULT_PAGE_SIZE: u64 = 100;
/// The largest `pageSize` the simulator takes.
pub(crate) const MAX_PAGE_SIZE: u64 = 1_000;
/// How long a fulfilled job's results stay (its `expirationDate`).
const RESULTS_LIFETIME: TimeDelta = TimeDelta::days(1);
/// The SDK's `queryType` values; the simulator answers `groupBy` only.
const QUERY_TYPES: [&str; 3] = ["groupBy", "topN", "bottomN"];

/// What becomes of the jobs submitted from now on ([`super::Simulator::set_job_outcome`]):
/// tests make a job fail or expire with it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum JobOutcome {
    /// `FULFILLED` after the delay, results served.
    #[default]
    Fulfilled,
    /// `FAILED` after the delay, with this `errorMessage`.
    Failed(String),
    /// `EXPIRED` after the delay: the results are gone before anyone read them.
    Expired,
}

/// A job's state as `AsyncQueryStatus.state` spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Queued,
    Pending,
    Fulfilled,
    Failed,
    Cancelled,
    Expired,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Queued => "QUEUED",
            State::Pending => "PENDING",
            State::Fulfilled => "FULFILLED",
            State::Failed => "FAILED",
            State::Cancelled => "CANCELLED",
            State::Expired => "EXPIRED",
        }
    }
}

struct Job {
    source: &'static str,
    outcome: JobOutcome,
    /// When it arrived, by the host's clock (the delay) and by the simulator's (the
    /// dates it reports, and the instant its results are computed at).
    arrived: Instant,
    submitted: DateTime<Utc>,
    cancelled: Option<DateTime<Utc>>,
    /// Expired by [`Jobs::expire_all`].
    expired: bool,
    /// The results, page by page, of a job that is to be fulfilled.
    pages: Option<Arc<Pages>>,
}

/// A page of results as the results request answers it, and where the next starts
/// (none on the last page).
struct Page {
    body: String,
    next: Option<Position>,
}

/// A fulfilled job's results, computed a page at a time when asked for or just before:
/// the first page from the submission on, the next one when a page is served (while its
/// reader reads it), so that the answer's size never sits in memory, and a reader
/// following the cursors rarely waits.
struct Pages {
    query: AggregateQuery,
    /// The simulator's clock at the submission: the instant the results are of.
    now_ms: i64,
    size: usize,
    /// Where each page that a cursor of this job names starts (the first page's too),
    /// by its first result's index: a cursor is that index, so a page asked again
    /// (a retry) is computed again from the same place.
    starts: Mutex<HashMap<usize, Position>>,
    /// Pages computed, or being computed (their lock held meanwhile), before anyone
    /// asked; a page leaves when served.
    ahead: Mutex<HashMap<usize, Arc<tokio::sync::Mutex<Option<Page>>>>>,
    /// The first page is computed: the job is `PENDING` until then.
    first_computed: AtomicBool,
}

impl Pages {
    /// Where the page starting at result `index` starts, if this job gave its cursor.
    fn start(&self, index: usize) -> Option<Position> {
        if index == 0 {
            return Some(Position::default());
        }
        lock(&self.starts).get(&index).copied()
    }

    /// The page at `from`: the one computed ahead (waiting for its computation to end),
    /// or computed now.
    async fn take(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        from: Position,
    ) -> Result<Page, tokio::task::JoinError> {
        let ahead = lock(&self.ahead).remove(&from.index);
        if let Some(slot) = ahead
            && let Some(page) = slot.lock().await.take()
        {
            return Ok(page);
        }
        self.compute(shared, from).await
    }

    /// Starts computing the page at `from` before it is asked for, unless it is already.
    fn compute_ahead(self: &Arc<Self>, shared: &Arc<Shared>, from: Position) {
        let slot = Arc::new(tokio::sync::Mutex::new(None));
        // A new lock: nobody holds it yet.
        let Ok(mut held) = Arc::clone(&slot).try_lock_owned() else {
            return;
        };
        {
            let mut ahead = lock(&self.ahead);
            if ahead.contains_key(&from.index) {
                return;
            }
            ahead.insert(from.index, slot);
        }
        let pages = Arc::clone(self);
        let shared = Arc::clone(shared);
        tokio::spawn(async move {
            match pages.compute(&shared, from).await {
                Ok(page) => *held = Some(page),
                Err(error) => tracing::warn!(%error, "simulator job page computation failed"),
            }
            if from.index == 0 {
                pages.first_computed.store(true, Ordering::Release);
            }
        });
    }

    /// Computes the page at `from` off the async workers (generating traffic is CPU
    /// work), and notes where the next starts, for its cursor.
    async fn compute(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        from: Position,
    ) -> Result<Page, tokio::task::JoinError> {
        let pages = Arc::clone(self);
        let shared = Arc::clone(shared);
        let page = tokio::task::spawn_blocking(move || {
            let (mut body, _, next) =
                sources::results_text(&shared.world, &pages.query, pages.now_ms, from, pages.size);
            if let Some(next) = next {
                body.push_str(&format!(",\"cursor\":\"{}\"", cursor_text(next.index)));
            }
            body.push('}');
            body.shrink_to_fit();
            Page { body, next }
        })
        .await?;
        if let Some(next) = page.next {
            lock(&self.starts).insert(next.index, next);
        }
        Ok(page)
    }

    fn computing_first(&self) -> bool {
        !self.first_computed.load(Ordering::Acquire)
    }
}

/// Every job submitted, and the outcome of the next ones.
#[derive(Default)]
pub(crate) struct Jobs {
    jobs: Mutex<HashMap<String, Job>>,
    outcome: Mutex<JobOutcome>,
}

impl Jobs {
    pub(crate) fn set_outcome(&self, outcome: JobOutcome) {
        *lock(&self.outcome) = outcome;
    }

    /// Every job submitted so far is `EXPIRED` from now on.
    pub(crate) fn expire_all(&self) {
        for job in lock(&self.jobs).values_mut() {
            job.expired = true;
        }
    }

    /// How many jobs were submitted (and not forgotten).
    pub(crate) fn count(&self) -> usize {
        lock(&self.jobs).len()
    }
}

/// The jobs paths of a source that has them: `Some((source, rest))` with `rest` empty
/// for the submission, `/{jobId}` or `/{jobId}/results`.
pub(crate) fn route(path: &str) -> Option<(&'static Source, &str)> {
    let (segment, rest) = path
        .strip_prefix("/api/v2/analytics/")?
        .split_once("/aggregates/jobs")?;
    let source = crate::genesys::sources::source(segment)?;
    source.jobs_endpoint?;
    let well_formed = rest.is_empty()
        || rest
            .strip_prefix('/')
            .map(|id| id.strip_suffix("/results").unwrap_or(id))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'));
    well_formed.then_some((source, rest))
}

/// `POST .../aggregates/jobs`: the body checked as the synchronous query's plus
/// `pageSize` and `queryType`; 202 with the `jobId`.
pub(crate) fn submit(
    shared: &Arc<Shared>,
    source: &'static Source,
    body: &[u8],
    context_id: &str,
) -> hyper::Response<Body> {
    let limits = aggregate::QueryLimits {
        max_predicates: shared.config.max_predicates,
    };
    let checked = aggregate::parse_query(body, &shared.world, limits, source)
        .and_then(|query| Ok((query, job_fields(body)?)));
    let (query, page_size) = match checked {
        Ok(checked) => checked,
        Err(error) => return respond::invalid_field(&error.field, &error.message, context_id),
    };
    let id = codec::random_uuid();
    let submitted = shared.faults.now();
    let outcome = lock(&shared.jobs.outcome).clone();
    let pages = (outcome == JobOutcome::Fulfilled).then(|| {
        let pages = Arc::new(Pages {
            query,
            now_ms: submitted.timestamp_millis(),
            size: page_size,
            starts: Mutex::default(),
            ahead: Mutex::default(),
            first_computed: AtomicBool::new(false),
        });
        // Computed while the job is queued and pending, as Genesys does: a page of a
        // month of a large org takes a minute, about what a client waits for one answer.
        pages.compute_ahead(shared, Position::default());
        pages
    });
    let job = Job {
        source: source.segment,
        outcome,
        arrived: Instant::now(),
        submitted,
        cancelled: None,
        expired: false,
        pages,
    };
    lock(&shared.jobs.jobs).insert(id.clone(), job);
    respond::json_response(StatusCode::ACCEPTED, &json!({ "jobId": id }))
}

/// `pageSize` (a positive whole number up to [`MAX_PAGE_SIZE`]) and `queryType`.
fn job_fields(body: &[u8]) -> Result<usize, QueryError> {
    let refuse = |field: &str, message: String| QueryError {
        field: field.into(),
        message,
    };
    // The parser has read the body as a JSON object already.
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let page_size = match value.get("pageSize").filter(|v| !v.is_null()) {
        None => DEFAULT_PAGE_SIZE,
        Some(size) => size
            .as_u64()
            .filter(|size| (1..=MAX_PAGE_SIZE).contains(size))
            .ok_or_else(|| {
                refuse(
                    "pageSize",
                    format!(
                        "pageSize must be a whole number from 1 to {MAX_PAGE_SIZE}, not {size}"
                    ),
                )
            })?,
    };
    match value.get("queryType").filter(|v| !v.is_null()) {
        None => {}
        Some(Value::String(kind)) if kind == "groupBy" => {}
        Some(Value::String(kind)) if QUERY_TYPES.contains(&kind.as_str()) => {
            return Err(refuse(
                "queryType",
                format!("queryType {kind} is not simulated; the simulator answers groupBy"),
            ));
        }
        Some(other) => {
            return Err(refuse(
                "queryType",
                format!(
                    "queryType must be one of {}, not {other}",
                    QUERY_TYPES.join(", ")
                ),
            ));
        }
    }
    usize::try_from(page_size).map_err(|_| refuse("pageSize", "pageSize is too large".into()))
}

/// `GET` or `DELETE` of `.../jobs/{jobId}` and `GET .../jobs/{jobId}/results`.
pub(crate) async fn serve(
    shared: &Arc<Shared>,
    source: &'static Source,
    method: &hyper::Method,
    rest: &str,
    query_string: Option<&str>,
    context_id: &str,
) -> hyper::Response<Body> {
    let rest = rest.trim_start_matches('/');
    let (id, results) = match rest.strip_suffix("/results") {
        Some(id) => (id, true),
        None => (rest, false),
    };
    let known = lock(&shared.jobs.jobs)
        .get(id)
        .is_some_and(|job| job.source == source.segment);
    if !known {
        let message = format!("No {} aggregates job {id}", source.segment);
        return respond::genesys_error(StatusCode::NOT_FOUND, "not.found", &message, context_id);
    }
    match (method.as_str(), results) {
        ("DELETE", false) => {
            let now = shared.faults.now();
            if let Some(job) = lock(&shared.jobs.jobs).get_mut(id) {
                job.cancelled.get_or_insert(now);
                // Its results can no longer be read: what was computed ahead goes.
                if let Some(pages) = &job.pages {
                    lock(&pages.ahead).clear();
                }
            }
            respond::empty(StatusCode::NO_CONTENT)
        }
        ("GET", false) => match status(shared, id) {
            Some(status) => respond::json_response(StatusCode::OK, &status),
            None => gone(id, context_id),
        },
        ("GET", true) => page(shared, id, query_string, context_id).await,
        _ => respond::genesys_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method.not.allowed",
            &format!("Method {method} is not allowed here"),
            context_id,
        ),
    }
}

fn gone(id: &str, context_id: &str) -> hyper::Response<Body> {
    let message = format!("No aggregates job {id}");
    respond::genesys_error(StatusCode::NOT_FOUND, "not.found", &message, context_id)
}

/// The job's state now, and when it completed (by the simulator's clock).
fn state(job: &Job, delay: std::time::Duration) -> (State, Option<DateTime<Utc>>) {
    let elapsed = job.arrived.elapsed();
    let completed = job.submitted + TimeDelta::from_std(delay).unwrap_or(TimeDelta::MAX / 2);
    if let Some(at) = job.cancelled {
        return (State::Cancelled, Some(at));
    }
    if elapsed < delay / 2 {
        return (State::Queued, None);
    }
    let computing = job
        .pages
        .as_ref()
        .is_some_and(|pages| pages.computing_first());
    if elapsed < delay || (computing && !job.expired) {
        return (State::Pending, None);
    }
    if job.expired {
        return (State::Expired, Some(completed));
    }
    let state = match job.outcome {
        JobOutcome::Fulfilled => State::Fulfilled,
        JobOutcome::Failed(_) => State::Failed,
        JobOutcome::Expired => State::Expired,
    };
    (state, Some(completed))
}

/// The `AsyncQueryStatus` of job `id`.
fn status(shared: &Shared, id: &str) -> Option<Value> {
    let jobs = lock(&shared.jobs.jobs);
    let job = jobs.get(id)?;
    let (state, completed) = state(job, shared.config.job_delay);
    let date = |at: DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut status = json!({
        "state": state.name(),
        "submissionDate": date(job.submitted),
    });
    if let Some(at) = completed {
        status["completionDate"] = json!(date(at));
        status["expirationDate"] = json!(date(at + RESULTS_LIFETIME));
    }
    if let (State::Failed, JobOutcome::Failed(message)) = (state, &job.outcome) {
        status["errorMessage"] = json!(message);
    }
    Some(status)
}

/// One page of a fulfilled job's results, from `cursor` on (a cursor this job gave).
async fn page(
    shared: &Arc<Shared>,
    id: &str,
    query_string: Option<&str>,
    context_id: &str,
) -> hyper::Response<Body> {
    let cursor = codec::form_pairs(query_string.unwrap_or(""))
        .into_iter()
        .find(|(key, _)| key == "cursor")
        .map(|(_, value)| value);
    let pages = {
        let jobs = lock(&shared.jobs.jobs);
        let Some(job) = jobs.get(id) else {
            return gone(id, context_id);
        };
        let (state, _) = state(job, shared.config.job_delay);
        match (state, &job.pages) {
            (State::Fulfilled, Some(pages)) => Arc::clone(pages),
            _ => {
                let message = format!(
                    "The results of job {id} cannot be read: the job is {}",
                    state.name()
                );
                return respond::genesys_error(
                    StatusCode::BAD_REQUEST,
                    "bad.request",
                    &message,
                    context_id,
                );
            }
        }
    };
    let start = match cursor.as_deref().map(parse_cursor) {
        None => Some(Position::default()),
        Some(index) => index.and_then(|index| pages.start(index)),
    };
    let Some(start) = start else {
        return respond::invalid_field(
            "cursor",
            "cursor is not one this job's results gave",
            context_id,
        );
    };
    match pages.take(shared, start).await {
        Ok(page) => {
            if let Some(next) = page.next {
                pages.compute_ahead(shared, next);
            }
            respond::json_text(StatusCode::OK, page.body)
        }
        Err(error) => {
            tracing::warn!(%error, "simulator job page computation failed");
            respond::genesys_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal.server.error",
                "The job's results could not be computed",
                context_id,
            )
        }
    }
}

/// The opaque cursor of the page starting at result `start`.
fn cursor_text(start: usize) -> String {
    codec::hex(format!("results:{start}").as_bytes())
}

fn parse_cursor(text: &str) -> Option<usize> {
    let bytes = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("results:")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_paths_of_sources_with_jobs_only() {
        let (source, rest) = route("/api/v2/analytics/conversations/aggregates/jobs").unwrap();
        assert_eq!((source.segment, rest), ("conversations", ""));
        let (_, rest) = route("/api/v2/analytics/users/aggregates/jobs/abc/results").unwrap();
        assert_eq!(rest, "/abc/results");
        assert!(route("/api/v2/analytics/ratelimits/aggregates/jobs").is_none());
        assert!(route("/api/v2/analytics/users/aggregates/jobs/a/b/results").is_none());
        assert!(route("/api/v2/analytics/users/aggregates/jobs/").is_none());
        assert!(route("/api/v2/analytics/nosuch/aggregates/jobs").is_none());
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        assert_eq!(parse_cursor(&cursor_text(1_000)), Some(1_000));
        assert_eq!(parse_cursor("zz"), None);
        assert_eq!(parse_cursor("abc"), None);
        assert_eq!(parse_cursor(""), None);
    }

    #[test]
    fn page_size_and_query_type_are_held_to_their_rules() {
        let size = |body: &str| job_fields(body.as_bytes());
        assert_eq!(size(r#"{}"#).unwrap(), 100);
        assert_eq!(
            size(r#"{"pageSize": 1000, "queryType": "groupBy"}"#).unwrap(),
            1_000
        );
        for bad in [
            r#"{"pageSize": 0}"#,
            r#"{"pageSize": 1001}"#,
            r#"{"pageSize": "5"}"#,
        ] {
            assert_eq!(size(bad).unwrap_err().field, "pageSize", "{bad}");
        }
        for bad in [r#"{"queryType": "topN"}"#, r#"{"queryType": "all"}"#] {
            assert_eq!(size(bad).unwrap_err().field, "queryType", "{bad}");
        }
    }
}
