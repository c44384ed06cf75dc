//! History: the interval report over a date range (`report`) and the backfill of past
//! intervals into Prometheus' storage (`backfill`).
//!
//! Both read the exporter's config and flags and use the same [`GenesysClient`]; one
//! fetch loop ([`fetch`]) walks a query's range ([`range`]) request by request and
//! maps each bucket as a live poll would, and a writer streams it out: [`report`]
//! (table, CSV, JSON Lines) or [`openmetrics`] (timestamped samples for promtool).
//! File outputs appear only when complete ([`output`]). See docs/history.md.

pub mod columns;
pub mod fetch;
pub mod jobs;
pub mod openmetrics;
pub mod output;
pub mod progress;
pub mod range;
pub mod report;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use clap::Args;

use crate::config::{self, Config, QueryConfig, VoiceSetConfig};
use crate::genesys::GenesysClient;
use crate::genesys::jobs::JobTiming;
use crate::genesys::names::NameDirectory;

use columns::{Columns, Selection};
use fetch::{BucketSink, Entry, FetchError, RangeFetch};
use jobs::{Api, JobChoice};
use openmetrics::{Finished, OpenMetricsWriter};
use output::{AtomicFile, DayFiles};
use progress::Progress;
use range::{Range, RangeError, next_utc_midnight, parse_time};
use report::{Format, ReportWriter};

/// Shortest `--sample-interval`: finer than any sensible scrape interval.
pub const MIN_SAMPLE_INTERVAL: Duration = Duration::from_secs(15);

/// How far under `--lookback` the default `--sample-interval` stays. At exactly the
/// lookback a sample leaves Prometheus' window (open at its far end since Prometheus 3)
/// the instant the next is due, so a timestamp read a millisecond early (promtool
/// truncates float seconds to milliseconds) leaves an instant unanswered. Whole seconds
/// keep every timestamp whole, and at 15 s the default (4m45s) still gives a half-hour
/// bucket the 7 samples any spacing from 4m18s to just under 5m gives it. See
/// docs/history.md.
pub const LOOKBACK_MARGIN: Duration = Duration::from_secs(15);

/// Default `--max-buckets`: more than a year of half-hours (17,520) or a quarter of
/// 5-minute buckets (25,920), and at most a few hours of requests even for an org whose
/// responses are large. A range over it is most likely a typo (`0001-01-01`).
pub const DEFAULT_MAX_BUCKETS: u64 = 50_000;

/// The range flags of both subcommands.
#[derive(Debug, Args)]
pub struct RangeArgs {
    /// Query of the config to fetch; repeat for several; none for every query.
    #[arg(long = "query", value_name = "NAME")]
    pub queries: Vec<String>,
    /// First bucket: an RFC 3339 instant, a local date or time in the query's time zone (2026-11-01, 2026-11-01T08:00), or relative to now (-24h, -7d).
    #[arg(long = "from", value_name = "FROM", allow_hyphen_values = true)]
    pub from: String,
    /// End of the range (its bucket is left out), in the same forms; only completed buckets are fetched.
    #[arg(
        long = "to",
        value_name = "TO",
        default_value = "now",
        allow_hyphen_values = true
    )]
    pub to: String,
    /// Most buckets a run fetches (over all its queries); a larger range is refused before the first request.
    #[arg(long = "max-buckets", value_name = "N", default_value_t = DEFAULT_MAX_BUCKETS)]
    pub max_buckets: u64,
}

/// Flags of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub range: RangeArgs,
    /// Output format; the default is table on a terminal, csv otherwise.
    #[arg(id = "report_format", long = "format", value_enum)]
    pub format: Option<Format>,
    /// File to write (complete or not at all); standard output without it.
    #[arg(long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Columns to show, comma-separated, or `all`; by default a table shows interval, names, counts, averages and service levels, CSV and JSON Lines every column.
    #[arg(long = "columns", value_name = "NAMES")]
    pub columns: Option<String>,
}

/// Flags of `backfill`.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    #[command(flatten)]
    pub range: RangeArgs,
    /// OpenMetrics file to write, for `promtool tsdb create-blocks-from openmetrics FILE DATA_DIR`.
    #[arg(
        long = "output",
        value_name = "FILE.om",
        required_unless_present = "output_dir",
        conflicts_with = "output_dir"
    )]
    pub output: Option<PathBuf>,
    /// Directory to write one OpenMetrics file per UTC day into (YYYY-MM-DD.om), each renamed into place as soon as its day is complete, for promtool to take as they come.
    #[arg(long = "output-dir", value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Prometheus' lookback (its --query.lookback-delta): how long after a sample an instant query still answers with it. Sets the default --sample-interval.
    #[arg(long = "lookback", default_value = "5m", value_parser = parse_lookback)]
    pub lookback: Duration,
    /// Time between two samples of a series (15s up to the query's granularity); by default --lookback less 15s (4m45s), the sparsest spacing that answers every instant. The file grows in proportion to 1 / interval.
    #[arg(long = "sample-interval", value_parser = parse_sample_interval)]
    pub sample_interval: Option<Duration>,
    /// The `job` label of every series: the job name Prometheus scrapes the exporter as.
    #[arg(long = "label.job", default_value = "genesys-cloud-exporter")]
    pub job: String,
    /// The `instance` label of every series: the scraped exporter's host:port.
    #[arg(long = "label.instance", default_value = "genesys-cloud-exporter:9471")]
    pub instance: String,
    /// How the answers are read: synchronous requests of 7 days (sync), asynchronous jobs of up to 31 days (jobs), or jobs only where they take fewer requests (auto; see docs/history.md).
    #[arg(long = "api", value_enum, default_value_t = Api::Auto)]
    pub api: Api,
    /// The wait before a job's first status read; each later wait doubles, up to 30s. Every status read is a request from the budget.
    #[arg(long = "job-poll", default_value = "2s", value_parser = parse_job_poll)]
    pub job_poll: Duration,
}

fn parse_job_poll(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim()).map_err(|err| err.to_string())?;
    if duration.is_zero() || duration > Duration::from_secs(30) {
        return Err(format!("{text:?} is not between 1ms and 30s"));
    }
    Ok(duration)
}

fn parse_sample_interval(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim()).map_err(|err| err.to_string())?;
    if duration < MIN_SAMPLE_INTERVAL {
        return Err(format!("{text:?} is under the minimum of 15s"));
    }
    Ok(duration)
}

fn parse_lookback(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim()).map_err(|err| err.to_string())?;
    if duration < MIN_SAMPLE_INTERVAL + LOOKBACK_MARGIN {
        return Err(format!(
            "{text:?} is under the minimum of 30s (the shortest sample interval, 15s, plus the 15s margin)"
        ));
    }
    Ok(duration)
}

/// The sample interval of a backfill: `--sample-interval` as given (with a warning when
/// it is not under the lookback: instants that far from every sample answer nothing),
/// or by default [`LOOKBACK_MARGIN`] under the lookback, and never over the finest
/// granularity of the queries.
fn sample_interval(args: &BackfillArgs, planned: &[Planned<'_>]) -> Result<Duration, HistoryError> {
    for Planned { query, .. } in planned {
        if let Some(interval) = args.sample_interval
            && interval > query.granularity().nominal_length()
        {
            return Err(HistoryError::BadInput(format!(
                "--sample-interval {} is over the granularity {} of query {}",
                humantime::format_duration(interval),
                query.granularity(),
                query.name()
            )));
        }
    }
    let Some(interval) = args.sample_interval else {
        let finest = planned
            .iter()
            .map(|p| p.query.granularity().nominal_length())
            .min()
            .unwrap_or(Duration::MAX);
        return Ok(args.lookback.saturating_sub(LOOKBACK_MARGIN).min(finest));
    };
    if interval >= args.lookback {
        tracing::warn!(
            sample_interval = %humantime::format_duration(interval),
            lookback = %humantime::format_duration(args.lookback),
            "--sample-interval is not under --lookback: some instants between two samples will answer nothing"
        );
    }
    Ok(interval)
}

/// Why a run stopped: bad input (exit status 2) or a failure to fetch or write (1).
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// A flag, or the range it gives, is wrong; the message names the flag.
    #[error("{0}")]
    BadInput(String),
    /// The API failed after its retries, or the output could not be written.
    #[error("{0}")]
    Runtime(String),
    /// The reader of the output went away (`report ... | head`): nothing more is worth
    /// fetching, and for standard output that is how a pipeline ends, not a failure.
    #[error("the output was closed by its reader")]
    OutputClosed,
}

/// The error of writing the output: [`HistoryError::OutputClosed`] for a reader that
/// went away, otherwise `context` and the cause.
fn write_error(context: &str, err: std::io::Error) -> HistoryError {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        HistoryError::OutputClosed
    } else {
        HistoryError::Runtime(format!("{context}: {err}"))
    }
}

/// A query or voice quality set and the buckets of its range.
struct Planned<'a> {
    query: Entry<'a>,
    range: Range,
    /// Whether requests also end at every UTC midnight (a file per day).
    by_day: bool,
}

impl Planned<'_> {
    /// Requests a bucket takes at least: a query's filter shares (its buckets grouped
    /// in requests of up to 7 days), or a voice quality set's first page of each bucket.
    fn shares(&self) -> usize {
        match self.query {
            Entry::Query(query) => query.filter.as_ref().map_or(1, |f| f.requests().len()),
            Entry::Voice(_) => 1,
        }
    }

    /// The requests the run sends for the range: a query's of 7 days (cut at every
    /// UTC midnight for a file per day) times its filter shares; a voice quality set's
    /// first page of every bucket.
    fn requests(&self) -> usize {
        match self.query {
            Entry::Query(_) => self.range.requests(self.by_day) * self.shares(),
            Entry::Voice(_) => self.range.bucket_count(),
        }
    }

    /// [`Planned::requests`] by arithmetic, before the buckets are walked.
    fn estimated_requests(&self) -> u64 {
        match self.query {
            Entry::Query(_) => self.range.estimated_requests(self.by_day) * self.shares() as u64,
            Entry::Voice(_) => self.range.estimated_len(),
        }
    }
}

/// The queries asked for, each with its range, and the plan logged: buckets, requests
/// (those a file per day, `by_day`, cuts at every UTC midnight included), time at the
/// budget. Without `--query`, every query with a completed bucket in the range; those
/// without one are named on standard error. A range of more buckets than
/// `--max-buckets` is refused before a single bucket is walked.
fn plan<'a>(
    config: &'a Config,
    args: &RangeArgs,
    now: DateTime<Utc>,
    requests_per_minute: u32,
    by_day: bool,
) -> Result<Vec<Planned<'a>>, HistoryError> {
    let entries: Vec<Entry<'a>> = config
        .queries
        .iter()
        .map(Entry::Query)
        .chain(config.voice_quality.iter().map(Entry::Voice))
        .collect();
    for name in &args.queries {
        if !entries.iter().any(|e| e.name() == name) {
            let known: Vec<&str> = entries.iter().map(|e| e.name()).collect();
            return Err(HistoryError::BadInput(format!(
                "--query {name:?}: no such query in the config (queries: {})",
                known.join(", ")
            )));
        }
    }
    let bad = |err: range::RangeError| HistoryError::BadInput(err.to_string());
    let mut planned = Vec::new();
    let mut skipped = Vec::new();
    for query in entries {
        let name = query.name();
        if !args.queries.is_empty() && !args.queries.iter().any(|n| n == name) {
            continue;
        }
        let from = parse_time("--from", &args.from, query.time_zone(), now).map_err(bad)?;
        let to = parse_time("--to", &args.to, query.time_zone(), now).map_err(bad)?;
        match Range::new(
            name,
            from,
            to,
            query.granularity(),
            query.time_zone(),
            query.settle_delay(),
            now,
        ) {
            Ok(range) => planned.push(Planned {
                query,
                range,
                by_day,
            }),
            Err(err @ (RangeError::Future { .. } | RangeError::Empty { .. }))
                if args.queries.is_empty() =>
            {
                tracing::warn!(query = %name, reason = %err, "query skipped: no completed bucket in the range");
                skipped.push(err.to_string());
            }
            Err(err) => return Err(bad(err)),
        }
    }
    if planned.is_empty() {
        return Err(HistoryError::BadInput(format!(
            "no query has a completed bucket in the range: {}",
            skipped.join("; ")
        )));
    }
    check_limit(&planned, args, requests_per_minute)?;
    let mut total = 0;
    for planned in &planned {
        let range = &planned.range;
        let requests = planned.requests();
        total += requests;
        tracing::info!(
            query = %planned.query.name(),
            first = %range.first(),
            last = %range.last(),
            buckets = range.bucket_count(),
            requests,
            buckets_per_request_at_most = range.request_at(range.first(), usize::MAX).len(),
            cut_at_utc_midnight = by_day,
            filter_shares = planned.shares(),
            "plan"
        );
    }
    tracing::info!(
        requests = total,
        requests_per_minute,
        estimated = %at_budget(total as u64, requests_per_minute),
        "plan: requests (and a page per 100 voice calls of a bucket past the first), estimated time at the budget"
    );
    Ok(planned)
}

/// Refuses a run of more buckets than `--max-buckets`, counted by arithmetic, with what
/// it would take and how to go on.
fn check_limit(
    planned: &[Planned<'_>],
    args: &RangeArgs,
    requests_per_minute: u32,
) -> Result<(), HistoryError> {
    let buckets: u64 = planned.iter().map(|p| p.range.estimated_len()).sum();
    if buckets <= args.max_buckets {
        return Ok(());
    }
    let requests: u64 = planned.iter().map(Planned::estimated_requests).sum();
    let per_query: Vec<String> = planned
        .iter()
        .map(|p| {
            format!(
                "{} {} {}",
                p.query.name(),
                thousands(p.range.estimated_len()),
                p.query.granularity()
            )
        })
        .collect();
    Err(HistoryError::BadInput(format!(
        "--from {} --to {} holds about {} buckets ({}), more than --max-buckets {}: at least {} requests, {} at {requests_per_minute} requests a minute. \
         Narrow the range (--from, --to), pick fewer queries (--query), or raise the limit (--max-buckets {buckets}) to fetch them all",
        args.from,
        args.to,
        thousands(buckets),
        per_query.join(", "),
        args.max_buckets,
        thousands(requests),
        at_budget(requests, requests_per_minute),
    )))
}

/// The time `requests` take at `requests_per_minute`.
fn at_budget(requests: u64, requests_per_minute: u32) -> String {
    let seconds = (requests as f64 * 60.0 / f64::from(requests_per_minute.max(1))).ceil();
    humantime::format_duration(Duration::from_secs(seconds as u64)).to_string()
}

/// A count with thousands separators: `35,517,872`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The names the planned queries need, by the live exporter's one rule
/// (`config::named_dimensions`: the dimensions they group by and named qualifiers such as
/// organization presences): without them the series would not carry the `queue_name`,
/// `presence_name`, ... the live ones carry, so failing to list them fails the run.
/// The user list is read whole up front (a page per 500 users), since each group is
/// mapped as it streams in, before any lookup of the users an answer brings could be.
async fn names(
    client: &GenesysClient,
    planned: &[Planned<'_>],
) -> Result<NameDirectory, HistoryError> {
    let queries: Vec<QueryConfig> = planned
        .iter()
        .filter_map(|p| query_of(p).cloned())
        .collect();
    let voice: Vec<VoiceSetConfig> = planned
        .iter()
        .filter_map(|p| voice_of(p).cloned())
        .collect();
    let names = NameDirectory::new(
        config::named_dimensions(&queries, &[], &[], &voice),
        client.telemetry(),
    );
    if queries
        .iter()
        .any(|q| q.group_by.iter().any(|d| d == "userId"))
    {
        names.page_users();
    }
    names
        .refresh(client)
        .await
        .map_err(|err| HistoryError::Runtime(format!("cannot list the names: {err}")))?;
    Ok(names)
}

/// The query a planned entry is, if it is one.
fn query_of<'a>(planned: &Planned<'a>) -> Option<&'a QueryConfig> {
    match planned.query {
        Entry::Query(query) => Some(query),
        Entry::Voice(_) => None,
    }
}

/// The voice quality set a planned entry is, if it is one.
fn voice_of<'a>(planned: &Planned<'a>) -> Option<&'a VoiceSetConfig> {
    match planned.query {
        Entry::Voice(set) => Some(set),
        Entry::Query(_) => None,
    }
}

/// Runs the fetch loop of every planned query into `sink`: each query's whole range in
/// turn, or with `by_day`, every query's buckets of one UTC day before the next day's,
/// telling the sink as each day is complete.
async fn fetch_all(
    client: &GenesysClient,
    planned: &[Planned<'_>],
    sink: &mut dyn BucketSink,
    by_day: bool,
    jobs: &JobChoice,
) -> Result<u64, HistoryError> {
    let names = names(client, planned).await?;
    let total: usize = planned.iter().map(|p| p.range.bucket_count()).sum();
    let progress = Progress::new(total as u64);
    let failed = |err: FetchError| match err {
        FetchError::Api { .. } | FetchError::Job { .. } => {
            HistoryError::Runtime(format!("{err}; {}", sink_note(by_day)))
        }
        FetchError::Write(err) => write_error("cannot write the output", err),
    };
    let mut fetches: Vec<RangeFetch<'_>> = planned
        .iter()
        .map(|p| RangeFetch::new(p.query, &p.range).with_jobs(jobs.clone()))
        .collect();
    if by_day {
        let first = planned.iter().map(|p| p.range.first()).min();
        let mut until = first.map_or(DateTime::<Utc>::MAX_UTC, next_utc_midnight);
        while fetches.iter().any(|fetch| !fetch.done()) {
            for fetch in &mut fetches {
                fetch
                    .fetch_before(client, &names, until, sink, &progress)
                    .await
                    .map_err(failed)?;
            }
            sink.complete_before(until)
                .map_err(|err| write_error("cannot write the output", err))?;
            until += TimeDelta::days(1);
        }
    } else {
        for fetch in &mut fetches {
            fetch
                .fetch_before(client, &names, DateTime::<Utc>::MAX_UTC, sink, &progress)
                .await
                .map_err(failed)?;
        }
    }
    fetches.into_iter().for_each(RangeFetch::finish);
    progress.finish();
    Ok(progress.requests())
}

/// What a failed run leaves behind, for its error message.
fn sink_note(by_day: bool) -> &'static str {
    if by_day {
        "the days written before it are complete in --output-dir, the others were not written"
    } else {
        "nothing was written to the output"
    }
}

/// `report`: the rows of the range, to `--output` or standard output.
pub async fn report(
    client: &GenesysClient,
    config: &Config,
    args: &ReportArgs,
    requests_per_minute: u32,
) -> Result<(), HistoryError> {
    let now = client.api_now();
    let planned = plan(config, &args.range, now, requests_per_minute, false)?;
    let format = args.format.unwrap_or(
        if args.output.is_none() && std::io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Csv
        },
    );
    let queries: Vec<&QueryConfig> = planned.iter().filter_map(query_of).collect();
    let voice: Vec<&VoiceSetConfig> = planned.iter().filter_map(voice_of).collect();
    let columns = Columns::of(&queries).with_voice(&voice, queries.len());
    let selection =
        Selection::parse(args.columns.as_deref(), &columns).map_err(HistoryError::BadInput)?;
    let cannot_write = |err| write_error("cannot write the report", err);
    match &args.output {
        Some(path) => {
            let file =
                AtomicFile::create(path).map_err(|e| HistoryError::BadInput(e.to_string()))?;
            let mut writer = ReportWriter::new(file, format, columns, selection);
            let requests =
                fetch_all(client, &planned, &mut writer, false, &JobChoice::default()).await?;
            let rows = writer.rows();
            writer
                .finish()
                .map_err(cannot_write)?
                .commit()
                .map_err(cannot_write)?;
            tracing::info!(file = %path.display(), rows, requests, "report written");
        }
        None => {
            let stdout = std::io::stdout().lock();
            let mut writer =
                ReportWriter::new(std::io::BufWriter::new(stdout), format, columns, selection);
            let written = async {
                let requests =
                    fetch_all(client, &planned, &mut writer, false, &JobChoice::default()).await?;
                let rows = writer.rows();
                writer
                    .finish()
                    .map_err(cannot_write)?
                    .flush()
                    .map_err(cannot_write)?;
                tracing::info!(rows, requests, "report written");
                Ok(())
            };
            match written.await {
                // `report | head`: the reader has what it wanted.
                Err(HistoryError::OutputClosed) => {
                    tracing::info!("standard output was closed by its reader; the report stopped");
                }
                other => return other,
            }
        }
    }
    Ok(())
}

/// The plan of a backfill's reading, logged before the run: per query, synchronous
/// requests or jobs and what each costs.
fn plan_jobs(planned: &[Planned<'_>], api: Api, by_day: bool, requests_per_minute: u32) {
    for planned in planned {
        let Some(query) = query_of(planned) else {
            continue;
        };
        let sync = planned.requests();
        let has_jobs = query.source.jobs_endpoint.is_some();
        // By day a window ends at each UTC midnight, as the requests do.
        let windows = if by_day {
            planned.range.requests(true)
        } else {
            jobs::job_windows(&planned.range)
        } * planned.shares();
        let (reading, note) = match (api, has_jobs, by_day) {
            (Api::Sync, ..) => ("sync", "synchronous requests of up to 7 days"),
            (_, false, _) => ("sync", "the source has no asynchronous jobs"),
            (Api::Jobs, true, false) => ("jobs", "a job per 31 days"),
            (Api::Jobs, true, true) => ("jobs", "a job per UTC day (--output-dir)"),
            (Api::Auto, true, true) => (
                "sync",
                "--output-dir reads a day at a time, where a job never saves requests",
            ),
            (Api::Auto, true, false) => (
                "auto",
                "the first 7 days synchronously, then a job per 31 days wherever the groups seen make it cheaper",
            ),
        };
        tracing::info!(
            query = %planned.query.name(),
            api = %api.name(),
            reading = %reading,
            sync_requests = sync,
            sync_at_budget = %at_budget(sync as u64, requests_per_minute),
            job_windows = windows,
            job_requests_at_least = windows * jobs::job_requests(0, 1),
            "plan: {note}; a job also waits while Genesys computes it, and costs a request per status read and per 1,000 groups"
        );
    }
}

/// `backfill`: the range as timestamped OpenMetrics in `--output`, or in one file per
/// UTC day in `--output-dir`.
pub async fn backfill(
    client: &GenesysClient,
    config: &Config,
    args: &BackfillArgs,
    requests_per_minute: u32,
) -> Result<(), HistoryError> {
    let now = client.api_now();
    let by_day = args.output_dir.is_some();
    let planned = plan(config, &args.range, now, requests_per_minute, by_day)?;
    let interval = sample_interval(args, &planned)?;
    let step = TimeDelta::from_std(interval)
        .map_err(|err| HistoryError::BadInput(format!("--sample-interval: {err}")))?;
    tracing::info!(
        sample_interval_seconds = interval.as_secs_f64(),
        lookback_seconds = args.lookback.as_secs_f64(),
        "sampling"
    );
    let bad = |e: output::OutputError| HistoryError::BadInput(e.to_string());
    let (mut writer, shown) = match (&args.output, &args.output_dir) {
        (_, Some(dir)) => {
            let days = DayFiles::create(dir).map_err(bad)?;
            let writer = OpenMetricsWriter::by_day(days, step, now, &args.job, &args.instance);
            (writer, dir.display().to_string())
        }
        (Some(path), None) => {
            let file = AtomicFile::create(path).map_err(bad)?;
            let writer = OpenMetricsWriter::new(file, step, now, &args.job, &args.instance);
            (writer, path.display().to_string())
        }
        (None, None) => {
            return Err(HistoryError::BadInput(
                "backfill needs --output FILE.om or --output-dir DIR".into(),
            ));
        }
    };
    plan_jobs(&planned, args.api, by_day, requests_per_minute);
    let timing = JobTiming {
        first_poll: args.job_poll,
        ..JobTiming::default()
    };
    let jobs = JobChoice::new(args.api, timing);
    let requests = fetch_all(client, &planned, &mut writer, by_day, &jobs).await?;
    let samples = writer.samples();
    let write_error =
        |err: std::io::Error| HistoryError::Runtime(format!("cannot write {shown}: {err}"));
    let files = match writer.finish().map_err(write_error)? {
        Finished::One(file) => {
            file.commit().map_err(write_error)?;
            1
        }
        Finished::Days(days) => days,
    };
    tracing::info!(output = %shown, files, samples, requests, "backfill written; load it with promtool tsdb create-blocks-from openmetrics");
    Ok(())
}
