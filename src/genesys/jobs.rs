//! Asynchronous aggregate jobs: the query submitted (`POST
//! /api/v2/analytics/{segment}/aggregates/jobs`, the synchronous body plus `pageSize` and
//! `queryType`), its status read with a backoff until `FULFILLED`, then its results read
//! page by page by cursor, each result handed on as it is parsed off the wire (no page,
//! and so no job, is ever held whole). Every request goes through
//! [`GenesysClient::send`] (budget, token, retries) under the source's jobs endpoint
//! label ([`Source::jobs_endpoint`]).
//!
//! Each status read costs a request from the same budget as everything else, so the
//! waits double from [`JobTiming::first_poll`] up to [`JobTiming::longest_poll`]: a job
//! done within the first wait costs one status read, one done within a minute at most
//! five. A job not done after [`JobTiming::give_up_after`], or whose results could not
//! be read to the end, is deleted (`DELETE .../jobs/{jobId}`), so it does not run on for
//! nothing.

use std::collections::HashSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::bodies::{AggregateQuery, AggregateResult};
use super::sources::Source;
use super::{ApiError, GenesysClient, Streamed, Whole, documented};

/// Results a page of a job's answer is asked to hold. The SDK states no default or
/// largest `pageSize`; a refusal says so by name (docs/history.md). Pages are read as
/// they stream in, so their size costs requests, not memory.
pub const JOB_PAGE_SIZE: u32 = 1_000;

/// How often a job's status is read, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobTiming {
    /// The wait before the first status read; each later wait doubles.
    pub first_poll: Duration,
    /// The longest wait between two status reads.
    pub longest_poll: Duration,
    /// A job not done after this long is deleted and the run fails.
    pub give_up_after: Duration,
}

impl Default for JobTiming {
    fn default() -> Self {
        JobTiming {
            first_poll: Duration::from_secs(2),
            longest_poll: Duration::from_secs(30),
            give_up_after: Duration::from_secs(30 * 60),
        }
    }
}

/// Why a job gave no results.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A request failed: a refused body (a 400 naming the field), the permission, the
    /// network after its retries.
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("{endpoint}: source {segment} has no asynchronous aggregate jobs")]
    NoJobs {
        endpoint: &'static str,
        segment: &'static str,
    },
    #[error("{endpoint}: job {job} FAILED: {message}")]
    Failed {
        endpoint: &'static str,
        job: String,
        message: String,
    },
    #[error("{endpoint}: job {job} EXPIRED: its results are gone before they were read")]
    Expired { endpoint: &'static str, job: String },
    #[error("{endpoint}: job {job} was CANCELLED (deleted by someone else)")]
    Cancelled { endpoint: &'static str, job: String },
    #[error(
        "{endpoint}: job {job} was not done after {} s ({polls} status reads); it was deleted",
        waited.as_secs()
    )]
    TimedOut {
        endpoint: &'static str,
        job: String,
        waited: Duration,
        polls: u32,
    },
}

/// What a job cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobCost {
    /// Every request: the submission, the status reads, the result pages, a deletion.
    pub requests: u32,
    /// The status reads among them.
    pub polls: u32,
    /// The result pages among them.
    pub pages: u32,
    /// From the submission to the job's end (its last page, or the failure).
    pub waited: Duration,
}

/// The body of a job: the synchronous query's, plus the job's own fields.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JobQuery<'a> {
    #[serde(flatten)]
    query: &'a AggregateQuery<'a>,
    page_size: u32,
    query_type: &'static str,
}

/// `AsyncQueryResponse`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Submitted {
    job_id: Option<String>,
}

/// `AsyncQueryStatus`, the fields read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    state: Option<String>,
    error_message: Option<String>,
}

/// How a job ended, when not with its results.
enum Ending {
    Failed(String),
    Expired,
    Cancelled,
}

impl GenesysClient {
    /// Runs `query` of `source` as an asynchronous job and hands each result of its
    /// answer to `on_result` (false stops), page after page as they stream in. The
    /// results are those of the synchronous query of the same body; the returned cost
    /// says how many requests the job took and how long it ran.
    pub async fn run_aggregate_job(
        &self,
        source: &'static Source,
        query: &AggregateQuery<'_>,
        timing: &JobTiming,
        on_result: &mut dyn FnMut(AggregateResult) -> bool,
    ) -> Result<JobCost, JobError> {
        let endpoint = source.jobs_endpoint.ok_or(JobError::NoJobs {
            endpoint: source.endpoint,
            segment: source.segment,
        })?;
        let started = Instant::now();
        let mut cost = JobCost::default();
        let body = JobQuery {
            query,
            page_size: JOB_PAGE_SIZE,
            query_type: "groupBy",
        };
        let submitted = self
            .post_json(endpoint, &source.jobs_path(), &[], &body, &mut Whole)
            .await;
        cost.requests += 1;
        let submitted: Submitted = documented(endpoint, &submitted?.value)?;
        let job = submitted
            .job_id
            .filter(|id| {
                !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            .ok_or_else(|| ApiError::BadResponse {
                endpoint,
                message: "the job was accepted without a usable jobId".into(),
            })?;
        let path = source.job_path(&job);
        let outcome = match self.wait_for(endpoint, &path, timing, &mut cost).await {
            Ok(None) => {
                let results = source.job_results_path(&job);
                self.read_pages(endpoint, &results, &mut cost, on_result)
                    .await
            }
            Ok(Some(Ending::Failed(message))) => Err(JobError::Failed {
                endpoint,
                job: job.clone(),
                message,
            }),
            Ok(Some(Ending::Expired)) => Err(JobError::Expired {
                endpoint,
                job: job.clone(),
            }),
            Ok(Some(Ending::Cancelled)) => Err(JobError::Cancelled {
                endpoint,
                job: job.clone(),
            }),
            Err(err) => Err(err),
        };
        cost.waited = started.elapsed();
        match outcome {
            Ok(()) => Ok(cost),
            Err(JobError::TimedOut { waited, polls, .. }) => {
                self.delete_job(endpoint, &path, &mut cost).await;
                Err(JobError::TimedOut {
                    endpoint,
                    job,
                    waited,
                    polls,
                })
            }
            Err(JobError::Api(err)) => {
                let unread = cost.pages > 0 || !err.is_permanent();
                let err = self.explain(endpoint, &path, &job, err, &mut cost).await;
                if unread && matches!(err, JobError::Api(_)) {
                    // The results were not read to the end: the job would only run on.
                    self.delete_job(endpoint, &path, &mut cost).await;
                }
                Err(err)
            }
            Err(other) => Err(other),
        }
    }

    /// Reads the status at `path` after waits that double, until the job is done:
    /// `None` once `FULFILLED`, else how it ended.
    async fn wait_for(
        &self,
        endpoint: &'static str,
        path: &str,
        timing: &JobTiming,
        cost: &mut JobCost,
    ) -> Result<Option<Ending>, JobError> {
        let started = Instant::now();
        let mut wait = timing.first_poll;
        loop {
            tokio::time::sleep(wait).await;
            let status = self.job_status(endpoint, path, cost).await?;
            match status.state.as_deref() {
                Some("FULFILLED") => return Ok(None),
                Some("FAILED") => {
                    let message = status
                        .error_message
                        .unwrap_or_else(|| "Genesys gave no errorMessage".into());
                    return Ok(Some(Ending::Failed(message)));
                }
                Some("EXPIRED") => return Ok(Some(Ending::Expired)),
                Some("CANCELLED") => return Ok(Some(Ending::Cancelled)),
                // QUEUED, PENDING, or a state this version does not know: still running.
                _ => {}
            }
            let waited = started.elapsed();
            if waited >= timing.give_up_after {
                return Err(JobError::TimedOut {
                    endpoint,
                    job: String::new(),
                    waited,
                    polls: cost.polls,
                });
            }
            wait = (wait * 2)
                .min(timing.longest_poll)
                .min(timing.give_up_after - waited)
                .max(Duration::from_millis(1));
        }
    }

    async fn job_status(
        &self,
        endpoint: &'static str,
        path: &str,
        cost: &mut JobCost,
    ) -> Result<Status, JobError> {
        let url = self.endpoints.api(path);
        cost.requests += 1;
        cost.polls += 1;
        let answer = self
            .send(endpoint, |http| http.get(url.clone()), &mut Whole)
            .await?;
        Ok(documented(endpoint, &answer.value)?)
    }

    /// Every page of the results at `path`, each result handed on as it is parsed.
    async fn read_pages(
        &self,
        endpoint: &'static str,
        path: &str,
        cost: &mut JobCost,
        on_result: &mut dyn FnMut(AggregateResult) -> bool,
    ) -> Result<(), JobError> {
        let url = self.endpoints.api(path);
        let mut cursor: Option<String> = None;
        let mut seen = HashSet::new();
        loop {
            let mut page = Streamed {
                on_result: &mut *on_result,
                handed_on: false,
            };
            let parameters: Vec<(&str, &str)> =
                cursor.iter().map(|c| ("cursor", c.as_str())).collect();
            cost.requests += 1;
            cost.pages += 1;
            let answer = self
                .send(
                    endpoint,
                    |http| http.get(url.clone()).query(&parameters),
                    &mut page,
                )
                .await?;
            match next_cursor(endpoint, &mut seen, answer.value.cursor)? {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Cancels the job at `path`, as far as it goes: a failure is logged, the run's
    /// error is the one that made it give up.
    async fn delete_job(&self, endpoint: &'static str, path: &str, cost: &mut JobCost) {
        let url = self.endpoints.api(path);
        cost.requests += 1;
        match self
            .send(endpoint, |http| http.delete(url.clone()), &mut Whole)
            .await
        {
            Ok(_) => tracing::info!(endpoint, path, "asynchronous job deleted"),
            Err(err) => {
                tracing::warn!(endpoint, path, error = %err, "could not delete the asynchronous job")
            }
        }
    }

    /// The error of a request that failed once the job ran: when Genesys refused to
    /// serve a page (a 4xx), the status says whether the job expired meanwhile.
    async fn explain(
        &self,
        endpoint: &'static str,
        path: &str,
        job: &str,
        err: ApiError,
        cost: &mut JobCost,
    ) -> JobError {
        if cost.pages == 0 || !err.is_permanent() {
            return JobError::Api(err);
        }
        match self.job_status(endpoint, path, cost).await {
            Ok(Status {
                state: Some(state), ..
            }) if state == "EXPIRED" => JobError::Expired {
                endpoint,
                job: job.to_string(),
            },
            _ => JobError::Api(err),
        }
    }
}

/// The cursor of the page after the one whose answer carried `next` (none, or empty:
/// that was the last page). A cursor already followed would read the same pages again
/// for ever, so it is an error naming it.
fn next_cursor(
    endpoint: &'static str,
    seen: &mut HashSet<String>,
    next: Option<String>,
) -> Result<Option<String>, ApiError> {
    match next {
        Some(next) if !next.is_empty() => {
            if seen.insert(next.clone()) {
                Ok(Some(next))
            } else {
                Err(ApiError::BadResponse {
                    endpoint,
                    message: format!(
                        "the results page cursor {next:?} came back again; it would read the same pages for ever"
                    ),
                })
            }
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_cursor_is_an_error_not_a_loop() {
        let mut seen = HashSet::new();
        let endpoint = "conversation_jobs";
        assert_eq!(
            next_cursor(endpoint, &mut seen, Some("a".into())).unwrap(),
            Some("a".to_string())
        );
        assert_eq!(
            next_cursor(endpoint, &mut seen, Some("b".into())).unwrap(),
            Some("b".to_string())
        );
        let err = next_cursor(endpoint, &mut seen, Some("a".into())).unwrap_err();
        assert!(
            matches!(&err, ApiError::BadResponse { message, .. } if message.contains("\"a\"")),
            "{err}"
        );
        assert_eq!(
            next_cursor(endpoint, &mut seen, Some(String::new())).unwrap(),
            None
        );
        assert_eq!(next_cursor(endpoint, &mut seen, None).unwrap(), None);
    }

    #[test]
    fn the_job_body_is_the_query_with_page_size_and_query_type() {
        let group_by = vec!["queueId".to_string()];
        let metrics = vec!["nOffered".to_string()];
        let query = AggregateQuery {
            interval: "2026-11-01T00:00:00Z/2026-12-01T00:00:00Z".into(),
            granularity: "PT30M".into(),
            time_zone: "UTC",
            group_by: &group_by,
            metrics: &metrics,
            filter: None,
        };
        let body = serde_json::to_value(JobQuery {
            query: &query,
            page_size: 1_000,
            query_type: "groupBy",
        })
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "interval": "2026-11-01T00:00:00Z/2026-12-01T00:00:00Z",
                "granularity": "PT30M", "timeZone": "UTC", "groupBy": ["queueId"],
                "metrics": ["nOffered"], "pageSize": 1000, "queryType": "groupBy"})
        );
    }
}
