//! The one fetch loop of `report` and `backfill`: a query's range, request by request,
//! through the same client as the live exporter (budget, token, retries, size limit)
//! and the same filter split, each bucket mapped by [`crate::mapping`] exactly as a
//! live poll would map it, and handed to a writer. A fetch can stop at an instant and
//! go on, so that several queries are walked side by side a day at a time when the
//! writer closes a file per day.
//!
//! The answers are handed on group by group as they stream in, each request as long
//! as the API allows ([`super::range::MAX_REQUEST_SPAN`]), so no answer is held whole
//! and the memory is flat whatever the range: each group's buckets in time order, the
//! groups of a request one after the other.
//!
//! A voice quality set is fetched bucket by bucket: every page of each bucket's voice
//! conversations, mapped by [`crate::mapping::voice`] as a live poll of that bucket.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::config::{QueryConfig, VoiceSetConfig};
use crate::genesys::bodies::{AggregateBucket, AggregateResponse, AggregateResult};
use crate::genesys::jobs::JobError;
use crate::genesys::names::NameDirectory;
use crate::genesys::{ApiError, GenesysClient};
use crate::interval::{Granularity, Interval};
use crate::mapping::voice::map_voice;
use crate::mapping::{GroupMapping, GroupMemory, group_key, map_response};
use crate::series::QuerySeries;

use super::jobs::JobChoice;
use super::progress::Progress;
use super::range::Range;

/// What a run fetches: a query, or a voice quality set.
#[derive(Clone, Copy, Debug)]
pub enum Entry<'a> {
    Query(&'a QueryConfig),
    Voice(&'a VoiceSetConfig),
}

impl Entry<'_> {
    /// The `query` label.
    pub fn name(&self) -> &str {
        match self {
            Entry::Query(query) => &query.name,
            Entry::Voice(set) => &set.name,
        }
    }

    pub fn granularity(&self) -> Granularity {
        match self {
            Entry::Query(query) => query.granularity,
            Entry::Voice(set) => set.granularity,
        }
    }

    pub fn time_zone(&self) -> Tz {
        match self {
            Entry::Query(query) => query.time_zone,
            Entry::Voice(set) => set.time_zone,
        }
    }

    pub fn settle_delay(&self) -> Duration {
        match self {
            Entry::Query(query) => query.settle_delay,
            Entry::Voice(set) => set.settle_delay,
        }
    }
}

/// Where the mapped buckets go: a report or an OpenMetrics file.
pub trait BucketSink {
    /// Takes the series of `entry` for `bucket`, as the live exporter would have
    /// exported them after polling it: a voice quality set's buckets, in time order,
    /// and a query's own series (the interval bounds), once per bucket after its
    /// groups' ([`BucketSink::group`]).
    fn bucket(
        &mut self,
        entry: &Entry<'_>,
        bucket: &Interval,
        series: &QuerySeries,
    ) -> std::io::Result<()>;

    /// One group's series of `query` for `bucket`, without the query's own series (the
    /// interval bounds). Each group's buckets come in time order, group after group,
    /// in any order of groups.
    fn group(
        &mut self,
        query: &QueryConfig,
        bucket: &Interval,
        series: &QuerySeries,
    ) -> std::io::Result<()> {
        self.bucket(&Entry::Query(query), bucket, series)
    }

    /// No bucket that starts before `instant` is left to come, from any query: output
    /// that only holds times before it is complete.
    fn complete_before(&mut self, _instant: DateTime<Utc>) -> std::io::Result<()> {
        Ok(())
    }
}

/// Why a range could not be fetched and written.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("query {query}: the request for {interval} failed: {source}")]
    Api {
        query: String,
        /// The request's interval, as sent.
        interval: Interval,
        source: ApiError,
    },
    #[error("query {query}: the asynchronous job for {interval} failed: {source}")]
    Job {
        query: String,
        /// The job's interval, as sent.
        interval: Interval,
        source: JobError,
    },
    #[error("cannot write the output: {0}")]
    Write(#[from] std::io::Error),
}

/// The fetch of one entry's range, walked request by request; it can stop at any
/// instant and go on later ([`RangeFetch::fetch_before`]), keeping what a live poller
/// keeps between polls (the groups seen, for zero-fill) and the request size, so that
/// several entries can be walked side by side, a day at a time.
pub struct RangeFetch<'a> {
    entry: Entry<'a>,
    range: &'a Range,
    memory: GroupMemory,
    /// Each group's own memory, for answers handed on group by group.
    groups: HashMap<Vec<String>, GroupMemory>,
    /// The start of the next bucket to fetch.
    next: DateTime<Utc>,
    skipped: u64,
    /// Synchronous requests or asynchronous jobs, for answers handed on group by group.
    jobs: JobChoice,
}

impl<'a> RangeFetch<'a> {
    /// A fetch of `range` for `entry`, nothing fetched yet.
    pub fn new(entry: Entry<'a>, range: &'a Range) -> RangeFetch<'a> {
        RangeFetch {
            entry,
            range,
            memory: GroupMemory::default(),
            groups: HashMap::new(),
            next: range.first(),
            skipped: 0,
            jobs: JobChoice::default(),
        }
    }

    /// The same fetch, reading answers handed on group by group as `jobs` chooses
    /// (synchronous requests or asynchronous jobs, see [`super::jobs`]).
    pub fn with_jobs(self, jobs: JobChoice) -> RangeFetch<'a> {
        RangeFetch { jobs, ..self }
    }

    /// Fetches the buckets that start before `until` and hands each, mapped, to `sink`.
    pub async fn fetch_before(
        &mut self,
        client: &GenesysClient,
        names: &NameDirectory,
        until: DateTime<Utc>,
        sink: &mut dyn BucketSink,
        progress: &Progress,
    ) -> Result<(), FetchError> {
        let query = match self.entry {
            Entry::Query(query) => query,
            Entry::Voice(set) => {
                return self
                    .voice_before(set, client, names, until, sink, progress)
                    .await;
            }
        };
        self.stream_before(query, client, names, until, sink, progress)
            .await
    }

    /// [`RangeFetch::fetch_before`] of a query with the answers handed on group by group
    /// as they stream in: each request spans as many buckets as the API allows (7
    /// days), each group is mapped bucket by bucket with its own memory (zero-fill as
    /// live), and nothing of an answer is held but the group at hand.
    async fn stream_before(
        &mut self,
        query: &QueryConfig,
        client: &GenesysClient,
        names: &NameDirectory,
        until: DateTime<Utc>,
        sink: &mut dyn BucketSink,
        progress: &Progress,
    ) -> Result<(), FetchError> {
        let empty = AggregateResponse::default();
        loop {
            let job = self.jobs.window(query, self.range, self.next, until);
            let mut buckets = match &job {
                Some(buckets) => buckets.clone(),
                None => self.range.request_at(self.next, usize::MAX),
            };
            buckets.retain(|bucket| bucket.start < until);
            let Some(last) = buckets.last() else {
                break;
            };
            self.next = last.end;
            let interval = Interval {
                start: buckets[0].start,
                end: last.end,
            };
            let current = names.current();
            let mut groups = GroupWriter {
                query,
                mapping: GroupMapping::new(query, buckets[0], &current, 1),
                buckets: &buckets,
                by_start: buckets
                    .iter()
                    .enumerate()
                    .map(|(index, bucket)| (bucket.start, index))
                    .collect(),
                memories: &mut self.groups,
                seen: HashSet::new(),
                skipped: 0,
                sink: &mut *sink,
                failed: None,
            };
            for request in query.requests(&interval) {
                let mut results = 0;
                let mut write = |result| {
                    results += 1;
                    groups.write(result)
                };
                let requests = if job.is_some() {
                    run_job(
                        &mut self.jobs,
                        query,
                        client,
                        &request,
                        interval,
                        &mut write,
                    )
                    .await
                } else {
                    client
                        .stream_aggregates(query.source, &request, &mut write)
                        .await
                        .map(|_| 1)
                        .map_err(|source| FetchError::Api {
                            query: query.name.clone(),
                            interval,
                            source,
                        })
                };
                if let Some(err) = groups.failed.take() {
                    return Err(FetchError::Write(err));
                }
                (0..requests?).for_each(|_| progress.request());
                self.jobs.saw_groups(results);
            }
            groups.quiet()?;
            self.skipped += groups.skipped;
            // The query's own series (the interval bounds), once a bucket.
            for bucket in &buckets {
                let mapped =
                    map_response(query, bucket, &empty, &current, &mut GroupMemory::default());
                sink.bucket(&self.entry, bucket, &mapped.series)?;
            }
            progress.buckets(buckets.len());
        }
        Ok(())
    }

    /// A voice quality set's buckets before `until`, one after the other: every page
    /// of each bucket's voice conversations, mapped as a live poll of that bucket.
    async fn voice_before(
        &mut self,
        set: &VoiceSetConfig,
        client: &GenesysClient,
        names: &NameDirectory,
        until: DateTime<Utc>,
        sink: &mut dyn BucketSink,
        progress: &Progress,
    ) -> Result<(), FetchError> {
        while let Some(bucket) = self.range.request_at(self.next, 1).pop() {
            if bucket.start >= until {
                break;
            }
            self.next = bucket.end;
            let answer = client
                .voice_conversations(&bucket, set.page_size)
                .await
                .map_err(|source| FetchError::Api {
                    query: set.name.clone(),
                    interval: bucket,
                    source,
                })?;
            for _ in 0..answer.requests {
                progress.request();
            }
            let mapped = map_voice(
                set,
                &bucket,
                &answer.conversations,
                &names.current(),
                &mut self.memory,
            );
            self.skipped += mapped.warnings + answer.unreachable;
            sink.bucket(&self.entry, &bucket, &mapped.series)?;
            progress.buckets(1);
        }
        Ok(())
    }

    /// Whether every bucket of the range has been fetched.
    pub fn done(&self) -> bool {
        self.range.request_at(self.next, 1).is_empty()
    }

    /// Says, once the range is done, what parts of the answers were skipped.
    pub fn finish(self) {
        if self.skipped > 0 {
            tracing::warn!(query = %self.entry.name(), skipped = self.skipped, "parts of the answers were skipped (unreadable stats or ends, buckets outside the request, repeated entries, conversations past the result cap)");
        }
    }
}

/// One asynchronous job of `request` (see [`super::jobs`]), its results handed to
/// `write` as its pages stream in; the requests it took.
async fn run_job(
    jobs: &mut JobChoice,
    query: &QueryConfig,
    client: &GenesysClient,
    request: &crate::genesys::bodies::AggregateQuery<'_>,
    interval: Interval,
    write: &mut dyn FnMut(AggregateResult) -> bool,
) -> Result<u32, FetchError> {
    let timing = *jobs.timing();
    let cost = client
        .run_aggregate_job(query.source, request, &timing, write)
        .await
        .map_err(|source| FetchError::Job {
            query: query.name.clone(),
            interval,
            source,
        })?;
    tracing::debug!(query = %query.name, %interval, requests = cost.requests, polls = cost.polls, pages = cost.pages, waited_seconds = cost.waited.as_secs_f64(), "asynchronous job read");
    jobs.job_done(&cost);
    Ok(cost.requests)
}

/// Maps and writes the groups of one request's answer as they arrive.
struct GroupWriter<'a> {
    query: &'a QueryConfig,
    /// The mapping each group's bucket starts from ([`GroupMapping::fresh`]).
    mapping: GroupMapping<&'a QueryConfig>,
    buckets: &'a [Interval],
    by_start: HashMap<DateTime<Utc>, usize>,
    memories: &'a mut HashMap<Vec<String>, GroupMemory>,
    /// The groups of this answer.
    seen: HashSet<Vec<String>>,
    skipped: u64,
    sink: &'a mut dyn BucketSink,
    /// The output's failure, which stops the answer.
    failed: Option<std::io::Error>,
}

impl GroupWriter<'_> {
    /// Writes one group of the answer; false once the output failed.
    fn write(&mut self, result: AggregateResult) -> bool {
        match self.write_group(result) {
            Ok(()) => true,
            Err(err) => {
                self.failed = Some(err);
                false
            }
        }
    }

    fn write_group(&mut self, result: AggregateResult) -> std::io::Result<()> {
        let key = group_key(self.query, &result);
        let mut slots: Vec<Option<AggregateBucket>> = self.buckets.iter().map(|_| None).collect();
        for bucket in result.data {
            let slot = Interval::parse_iso8601(&bucket.interval)
                .ok()
                .and_then(|interval| self.by_start.get(&interval.start).copied());
            match slot {
                Some(slot) if slots[slot].is_none() => slots[slot] = Some(bucket),
                _ => self.skipped += 1,
            }
        }
        let memory = self.memories.entry(key.clone()).or_default();
        // The group with one bucket's data at a time, as a live poll of that bucket
        // would have it; its labels made once for all its buckets.
        let labels = self.mapping.group_labels(&key);
        for (bucket, data) in self.buckets.iter().zip(slots) {
            let mut mapping = self.mapping.fresh(*bucket);
            if let Some(data) = data {
                mapping.add_bucket(key.clone(), &labels, &data);
            }
            let mapped = mapping.finish(memory);
            self.skipped += mapped.warnings;
            self.sink.group(self.query, bucket, &mapped.series)?;
        }
        if !self.seen.insert(key) {
            // A group sent twice (by two filter shares, say) would repeat its samples.
            self.skipped += 1;
        }
        Ok(())
    }

    /// Zero-fills the groups seen in earlier answers and absent from this one, for
    /// the day after they were last seen, as a live poll would.
    fn quiet(&mut self) -> std::io::Result<()> {
        for (_, memory) in self
            .memories
            .iter_mut()
            .filter(|(key, _)| !self.seen.contains(*key))
        {
            for bucket in self.buckets {
                let mapped = self.mapping.fresh(*bucket).finish(memory);
                self.sink.group(self.query, bucket, &mapped.series)?;
            }
        }
        Ok(())
    }
}
