//! How `backfill` reads a query's answers: synchronous requests of up to 7 days, each
//! answer streamed ([`crate::genesys::GenesysClient::stream_aggregates`]), or
//! asynchronous aggregate jobs of up to [`JOB_SPAN`] ([`crate::genesys::jobs`]), chosen
//! window by window by what each costs in requests (`--api`).
//!
//! A synchronous request costs one request a 7 days. A job costs its submission, its
//! status reads and a request per page of [`JOB_PAGE_SIZE`] groups, whatever its span;
//! and it makes the run wait while Genesys computes it. So a job saves requests only
//! when a query has few groups (up to 1,000 groups, a 31-day job is 3 requests where 7-day
//! requests take 5); measured in BENCHMARKS.md, rule in docs/history.md. `auto` reads the
//! first window synchronously (which says how many groups the query has) and then takes
//! a job for a window only when the groups seen and the status reads of the last job
//! make it cheaper than that window's synchronous requests.

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::QueryConfig;
use crate::genesys::jobs::{JOB_PAGE_SIZE, JobCost, JobTiming};
use crate::interval::Interval;

use super::range::Range;

/// The longest interval one job is asked for. The SDK states no interval limit for
/// jobs; 31 days is the longest the documented analytics queries take (with a filter),
/// and what the simulator takes.
pub const JOB_SPAN: TimeDelta = TimeDelta::days(31);

/// `--api`: how `backfill` reads the answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Api {
    /// Synchronous requests of up to 7 days, streamed.
    Sync,
    /// Asynchronous jobs of up to 31 days, for every source that has them.
    Jobs,
    /// Jobs for a window only when they take fewer requests than the synchronous way.
    #[default]
    Auto,
}

impl Api {
    pub fn name(self) -> &'static str {
        match self {
            Api::Sync => "sync",
            Api::Jobs => "jobs",
            Api::Auto => "auto",
        }
    }
}

/// The requests a job of `groups` groups is expected to take: the submission, `polls`
/// status reads, a page per [`JOB_PAGE_SIZE`] groups (one at least).
pub fn job_requests(groups: usize, polls: u32) -> usize {
    1 + polls as usize + groups.div_ceil(JOB_PAGE_SIZE as usize).max(1)
}

/// The choice of one query's fetch, and what it learnt on the way: the groups of its
/// answers and the status reads its last job took.
#[derive(Clone, Debug)]
pub struct JobChoice {
    api: Api,
    timing: JobTiming,
    /// The most groups one answer of the query held so far.
    groups: Option<usize>,
    /// The status reads of the last job (one before any).
    polls: u32,
}

impl Default for JobChoice {
    /// Synchronous requests only.
    fn default() -> Self {
        JobChoice::new(Api::Sync, JobTiming::default())
    }
}

impl JobChoice {
    pub fn new(api: Api, timing: JobTiming) -> JobChoice {
        JobChoice {
            api,
            timing,
            groups: None,
            polls: 1,
        }
    }

    pub fn timing(&self) -> &JobTiming {
        &self.timing
    }

    /// The buckets of the next job of `query`, from bucket `next` on and starting before
    /// `until`, when a job is the way to read them; `None` for a synchronous request.
    pub fn window(
        &self,
        query: &QueryConfig,
        range: &Range,
        next: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Option<Vec<Interval>> {
        if self.api == Api::Sync || query.source.jobs_endpoint.is_none() {
            return None;
        }
        let mut buckets = range.span_at(next, usize::MAX, JOB_SPAN);
        buckets.retain(|bucket| bucket.start < until);
        let end = buckets.last()?.end;
        if self.api == Api::Jobs {
            return Some(buckets);
        }
        let groups = self.groups?;
        (job_requests(groups, self.polls) < sync_requests(range, next, end)).then_some(buckets)
    }

    /// One answer held `groups` groups.
    pub fn saw_groups(&mut self, groups: usize) {
        self.groups = Some(self.groups.map_or(groups, |seen| seen.max(groups)));
    }

    /// A job ran at `cost`.
    pub fn job_done(&mut self, cost: &JobCost) {
        self.polls = cost.polls.max(1);
    }
}

/// The synchronous requests (of up to 7 days) from bucket `start` to `end`.
fn sync_requests(range: &Range, start: DateTime<Utc>, end: DateTime<Utc>) -> usize {
    let mut requests = 0;
    let mut next = start;
    while next < end {
        let Some(last) = range.request_at(next, usize::MAX).pop() else {
            break;
        };
        next = last.end;
        requests += 1;
    }
    requests
}

/// What reading a range by jobs costs at least: its windows of [`JOB_SPAN`], each a
/// submission, a status read and a page. For the plan printed before a run.
pub fn job_windows(range: &Range) -> usize {
    range.windows(JOB_SPAN, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interval::Granularity;
    use std::time::Duration;

    fn range(days: i64) -> Range {
        let now: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
        Range::new(
            "q",
            now - TimeDelta::days(days),
            now,
            Granularity::Minutes(30),
            chrono_tz::UTC,
            Duration::ZERO,
            now,
        )
        .unwrap()
    }

    fn query() -> QueryConfig {
        let mut config = crate::config::Config::demo();
        config.queries.swap_remove(0)
    }

    #[test]
    fn a_job_costs_its_submission_status_reads_and_pages() {
        assert_eq!(job_requests(0, 1), 3);
        assert_eq!(job_requests(1_000, 1), 3);
        assert_eq!(job_requests(5_000, 1), 7);
        assert_eq!(job_requests(5_001, 2), 9);
    }

    #[test]
    fn auto_takes_a_job_only_once_it_knows_the_job_is_cheaper() {
        let range = range(365);
        let query = query();
        let next = range.first();
        let until = DateTime::<Utc>::MAX_UTC;
        let mut choice = JobChoice::new(Api::Auto, JobTiming::default());
        // Nothing known yet: synchronous, which tells the groups.
        assert!(choice.window(&query, &range, next, until).is_none());
        // 40 groups: a 31-day job (3 requests) beats five 7-day requests.
        choice.saw_groups(40);
        let job = choice.window(&query, &range, next, until).unwrap();
        assert_eq!(job.len(), 31 * 48);
        // 5,000 groups: 7 requests a job, 5 synchronous.
        choice.saw_groups(5_000);
        assert!(choice.window(&query, &range, next, until).is_none());
        // A window cut to a day (--output-dir) is one synchronous request.
        let mut small = JobChoice::new(Api::Auto, JobTiming::default());
        small.saw_groups(1);
        let day = next + TimeDelta::days(1);
        assert!(small.window(&query, &range, next, day).is_none());
        // --api jobs takes jobs regardless; --api sync never.
        let jobs = JobChoice::new(Api::Jobs, JobTiming::default());
        assert_eq!(jobs.window(&query, &range, next, day).unwrap().len(), 48);
        assert!(
            JobChoice::default()
                .window(&query, &range, next, until)
                .is_none()
        );
    }

    #[test]
    fn a_year_is_twelve_job_windows() {
        assert_eq!(job_windows(&range(365)), 12);
        assert_eq!(job_windows(&range(30)), 1);
        assert_eq!(job_windows(&range(1)), 1);
    }
}
