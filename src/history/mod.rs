//! History: the interval report over a date range (`report`) and the backfill of past
//! intervals into Prometheus' storage (`backfill`).
//!
//! Both read the exporter's config and flags and use the same [`GenesysClient`]; one
//! fetch loop ([`fetch`]) walks a query's range ([`range`]) request by request and
//! maps each bucket as a live poll would, and a writer streams it out: [`report`]
//! (table, CSV, JSON Lines) or [`openmetrics`] (timestamped samples for promtool).
//! File outputs appear only when complete ([`output`]). See docs/history.md.

pub mod fetch;
pub mod openmetrics;
pub mod output;
pub mod progress;
pub mod range;
pub mod report;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use clap::Args;

use crate::config::{Config, QueryConfig};
use crate::genesys::GenesysClient;
use crate::genesys::queues::QueueNames;

use fetch::{BucketSink, FetchError, fetch_range};
use openmetrics::OpenMetricsWriter;
use output::AtomicFile;
use progress::Progress;
use range::{Range, parse_time};
use report::{Columns, Format, ReportWriter};

/// Shortest `--sample-interval`: finer than any sensible scrape interval.
pub const MIN_SAMPLE_INTERVAL: Duration = Duration::from_secs(15);

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
}

/// Flags of `backfill`.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    #[command(flatten)]
    pub range: RangeArgs,
    /// OpenMetrics file to write, for `promtool tsdb create-blocks-from openmetrics FILE DATA_DIR`.
    #[arg(long = "output", value_name = "FILE.om", required = true)]
    pub output: PathBuf,
    /// Time between two samples of a series (15s up to the query's granularity); the file grows in proportion to 1 / interval.
    #[arg(long = "sample-interval", default_value = "1m", value_parser = parse_sample_interval)]
    pub sample_interval: Duration,
    /// The `job` label of every series: the job name Prometheus scrapes the exporter as.
    #[arg(long = "label.job", default_value = "genesys-cloud-exporter")]
    pub job: String,
    /// The `instance` label of every series: the scraped exporter's host:port.
    #[arg(long = "label.instance", default_value = "genesys-cloud-exporter:9471")]
    pub instance: String,
}

fn parse_sample_interval(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim()).map_err(|err| err.to_string())?;
    if duration < MIN_SAMPLE_INTERVAL {
        return Err(format!("{text:?} is under the minimum of 15s"));
    }
    Ok(duration)
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
}

/// A query and the buckets of its range.
struct Planned<'a> {
    query: &'a QueryConfig,
    range: Range,
}

/// The queries asked for (all without `--query`), each with its range, and the plan
/// logged: buckets, requests, time at the budget.
fn plan<'a>(
    config: &'a Config,
    args: &RangeArgs,
    now: DateTime<Utc>,
    requests_per_minute: u32,
) -> Result<Vec<Planned<'a>>, HistoryError> {
    for name in &args.queries {
        if !config.queries.iter().any(|q| q.name == *name) {
            let known: Vec<&str> = config.queries.iter().map(|q| q.name.as_str()).collect();
            return Err(HistoryError::BadInput(format!(
                "--query {name:?}: no such query in the config (queries: {})",
                known.join(", ")
            )));
        }
    }
    let bad = |err: range::RangeError| HistoryError::BadInput(err.to_string());
    let mut planned = Vec::new();
    for query in &config.queries {
        if !args.queries.is_empty() && !args.queries.contains(&query.name) {
            continue;
        }
        let from = parse_time("--from", &args.from, query.time_zone, now).map_err(bad)?;
        let to = parse_time("--to", &args.to, query.time_zone, now).map_err(bad)?;
        let range = Range::new(
            &query.name,
            from,
            to,
            query.granularity,
            query.time_zone,
            query.settle_delay,
            now,
        )
        .map_err(bad)?;
        planned.push(Planned { query, range });
    }
    let mut total = 0;
    for Planned { query, range } in &planned {
        let shares = query.filter.as_ref().map_or(1, |f| f.requests().len());
        let requests = range.fewest_requests() * shares;
        total += requests;
        tracing::info!(
            query = %query.name,
            first = %range.buckets[0].start,
            last = %range.buckets[range.buckets.len() - 1].start,
            buckets = range.buckets.len(),
            requests,
            buckets_per_request_at_most = range.request_at(0, usize::MAX).len(),
            filter_shares = shares,
            "plan"
        );
    }
    let minutes = total as f64 / f64::from(requests_per_minute);
    tracing::info!(
        requests = total,
        requests_per_minute,
        estimated = %humantime::format_duration(Duration::from_secs((minutes * 60.0).ceil() as u64)),
        "plan: at least this many requests (more for an org whose responses are large), estimated time at the budget"
    );
    Ok(planned)
}

/// Queue names, when a query groups by queue: without them the series would not carry
/// the `queue_name` the live ones carry, so failing to get them fails the run.
async fn queue_names(
    client: &GenesysClient,
    planned: &[Planned<'_>],
) -> Result<Arc<HashMap<String, String>>, HistoryError> {
    let names = QueueNames::default();
    if planned
        .iter()
        .any(|p| p.query.group_by.iter().any(|d| d == "queueId"))
    {
        names
            .refresh(client)
            .await
            .map_err(|err| HistoryError::Runtime(format!("cannot list the queue names: {err}")))?;
    }
    Ok(names.current())
}

/// Runs the fetch loop of every planned query into `sink`.
async fn fetch_all(
    client: &GenesysClient,
    planned: &[Planned<'_>],
    sink: &mut dyn BucketSink,
) -> Result<u64, HistoryError> {
    let names = queue_names(client, planned).await?;
    let total: usize = planned.iter().map(|p| p.range.buckets.len()).sum();
    let progress = Progress::new(total as u64);
    for Planned { query, range } in planned {
        fetch_range(client, query, range, &names, sink, &progress)
            .await
            .map_err(|err| match err {
                FetchError::Api { .. } => {
                    HistoryError::Runtime(format!("{err}; nothing was written to the output"))
                }
                FetchError::Write(_) => HistoryError::Runtime(err.to_string()),
            })?;
    }
    progress.finish();
    Ok(progress.requests())
}

/// `report`: the rows of the range, to `--output` or standard output.
pub async fn report(
    client: &GenesysClient,
    config: &Config,
    args: &ReportArgs,
    requests_per_minute: u32,
) -> Result<(), HistoryError> {
    let now = client.api_now();
    let planned = plan(config, &args.range, now, requests_per_minute)?;
    let format = args.format.unwrap_or(
        if args.output.is_none() && std::io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Csv
        },
    );
    let columns = Columns::of(&planned.iter().map(|p| p.query).collect::<Vec<_>>());
    let write_error =
        |err: std::io::Error| HistoryError::Runtime(format!("cannot write the report: {err}"));
    match &args.output {
        Some(path) => {
            let file =
                AtomicFile::create(path).map_err(|e| HistoryError::BadInput(e.to_string()))?;
            let mut writer = ReportWriter::new(file, format, columns);
            let requests = fetch_all(client, &planned, &mut writer).await?;
            let rows = writer.rows();
            writer
                .finish()
                .map_err(write_error)?
                .commit()
                .map_err(write_error)?;
            tracing::info!(file = %path.display(), rows, requests, "report written");
        }
        None => {
            let stdout = std::io::stdout().lock();
            let mut writer = ReportWriter::new(std::io::BufWriter::new(stdout), format, columns);
            let requests = fetch_all(client, &planned, &mut writer).await?;
            let rows = writer.rows();
            writer
                .finish()
                .map_err(write_error)?
                .flush()
                .map_err(write_error)?;
            tracing::info!(rows, requests, "report written");
        }
    }
    Ok(())
}

/// `backfill`: the range as timestamped OpenMetrics in `--output`.
pub async fn backfill(
    client: &GenesysClient,
    config: &Config,
    args: &BackfillArgs,
    requests_per_minute: u32,
) -> Result<(), HistoryError> {
    let now = client.api_now();
    let planned = plan(config, &args.range, now, requests_per_minute)?;
    for Planned { query, .. } in &planned {
        if args.sample_interval > query.granularity.nominal_length() {
            return Err(HistoryError::BadInput(format!(
                "--sample-interval {} is over the granularity {} of query {}",
                humantime::format_duration(args.sample_interval),
                query.granularity,
                query.name
            )));
        }
    }
    let file =
        AtomicFile::create(&args.output).map_err(|e| HistoryError::BadInput(e.to_string()))?;
    let step = TimeDelta::from_std(args.sample_interval)
        .map_err(|err| HistoryError::BadInput(format!("--sample-interval: {err}")))?;
    let mut writer = OpenMetricsWriter::new(file, step, now, &args.job, &args.instance);
    let requests = fetch_all(client, &planned, &mut writer).await?;
    let samples = writer.samples();
    let write_error = |err: std::io::Error| {
        HistoryError::Runtime(format!("cannot write {}: {err}", args.output.display()))
    };
    writer
        .finish()
        .map_err(write_error)?
        .commit()
        .map_err(write_error)?;
    tracing::info!(file = %args.output.display(), samples, requests, "backfill written; load it with promtool tsdb create-blocks-from openmetrics");
    Ok(())
}
