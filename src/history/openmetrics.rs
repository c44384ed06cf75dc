//! The backfill file: OpenMetrics text with timestamps, as `promtool tsdb
//! create-blocks-from openmetrics` reads it.
//!
//! The live exporter shows the values of bucket `[s, e)` from `e + settle delay`, when
//! it polls the bucket, until the next bucket's values arrive at `next_e + settle
//! delay`; Prometheus stores whatever it scraped in that span. So each bucket's series
//! are written at every sample interval across that span (never past now), with the
//! live names and labels, plus the `job` and `instance` labels Prometheus would have
//! added when scraping, and `genesys_exporter_build_info` (which the dashboards' `job`
//! and `instance` variables read).
//!
//! Samples of one series are written in time order, bucket after bucket. The families
//! of successive buckets follow one another, so one family's lines are not contiguous
//! as OpenMetrics asks of a scrape; promtool reads them regardless.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::config::QueryConfig;
use crate::exposition::format_value;
use crate::interval::Interval;
use crate::series::QuerySeries;
use crate::series::{Labels, push_escaped};

use super::fetch::{BucketSink, Entry};
use super::output::{AtomicFile, DayFiles};

/// One OpenMetrics file being written, with the families it has described. Unsized in
/// its writer so that one file and a day's file are written by the same code.
struct Part<W: ?Sized> {
    /// Families whose `# HELP` and `# TYPE` are written.
    described: HashSet<String>,
    out: W,
}

impl<W: Write> Part<W> {
    fn new(out: W) -> Part<W> {
        Part {
            described: HashSet::new(),
            out,
        }
    }

    /// Writes `# EOF` and returns the writer.
    fn finish(mut self) -> std::io::Result<W> {
        self.out.write_all(b"# EOF\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write + ?Sized> Part<W> {
    fn describe(&mut self, name: &str, help: &str) -> std::io::Result<()> {
        if !self.described.contains(name) {
            self.described.insert(name.to_string());
            let mut escaped = String::new();
            push_escaped(&mut escaped, help, &['\\', '\n', '"']);
            write!(self.out, "# HELP {name} {escaped}\n# TYPE {name} gauge\n")?;
        }
        Ok(())
    }
}

/// Where the samples go: one output, or a file per UTC day of their timestamps.
enum Parts<W> {
    One(Part<W>),
    ByDay {
        files: DayFiles,
        /// The days with samples whose file is not yet complete.
        open: BTreeMap<NaiveDate, Part<AtomicFile>>,
        committed: usize,
    },
}

/// What [`OpenMetricsWriter::finish`] leaves: the one output, for the caller to commit,
/// or how many day files were committed.
pub enum Finished<W> {
    One(W),
    Days(usize),
}

/// Writes buckets as timestamped OpenMetrics samples.
pub struct OpenMetricsWriter<W: Write> {
    parts: Parts<W>,
    step: TimeDelta,
    now: DateTime<Utc>,
    /// `,job="…",instance="…"}`: appended to each rendered label set in place of its `}`.
    target_labels: String,
    /// Whether this writer writes `genesys_exporter_build_info` (for the first query
    /// only: a second query's range would take its timestamps back in time).
    build_info_query: Option<String>,
    samples: u64,
    /// A family's lines, put together and written at once: a write per piece of a
    /// line, through the output's `dyn Write`, cost more than the copying.
    lines: Vec<u8>,
}

impl<W: Write> OpenMetricsWriter<W> {
    /// Samples every `step` up to `now`, labelled `job` and `instance`, into `out`.
    pub fn new(out: W, step: TimeDelta, now: DateTime<Utc>, job: &str, instance: &str) -> Self {
        Self::with_parts(Parts::One(Part::new(out)), step, now, job, instance)
    }

    fn with_parts(
        parts: Parts<W>,
        step: TimeDelta,
        now: DateTime<Utc>,
        job: &str,
        instance: &str,
    ) -> Self {
        let target = Labels::new(
            Arc::from(["job".to_string(), "instance".to_string()]),
            vec![job.to_string(), instance.to_string()],
        );
        OpenMetricsWriter {
            parts,
            step,
            now,
            target_labels: format!(",{}", &target.rendered()[1..]),
            build_info_query: None,
            samples: 0,
            lines: Vec::new(),
        }
    }

    /// Samples written so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Ends the output: `# EOF` written, and the day files all committed.
    pub fn finish(self) -> std::io::Result<Finished<W>> {
        match self.parts {
            Parts::One(part) => Ok(Finished::One(part.finish()?)),
            Parts::ByDay {
                open,
                mut committed,
                ..
            } => {
                for part in open.into_values() {
                    commit(part)?;
                    committed += 1;
                }
                Ok(Finished::Days(committed))
            }
        }
    }
}

impl OpenMetricsWriter<AtomicFile> {
    /// Like [`OpenMetricsWriter::new`], into one file per UTC day in `files`, each
    /// committed as soon as no later bucket can add to it.
    pub fn by_day(
        files: DayFiles,
        step: TimeDelta,
        now: DateTime<Utc>,
        job: &str,
        instance: &str,
    ) -> Self {
        let parts = Parts::ByDay {
            files,
            open: BTreeMap::new(),
            committed: 0,
        };
        Self::with_parts(parts, step, now, job, instance)
    }
}

/// Ends a day's file and renames it into place.
fn commit(part: Part<AtomicFile>) -> std::io::Result<()> {
    let file = part.finish()?;
    let target = file.target().display().to_string();
    file.commit()?;
    tracing::info!(file = %target, "day written");
    Ok(())
}

impl<W: Write> Parts<W> {
    /// The part the samples at `times` (sorted) go to, and how many of them: all of them
    /// for one output, those of the first one's day for day files.
    fn next(&mut self, times: &[i64]) -> std::io::Result<(&mut Part<dyn Write + '_>, usize)> {
        match self {
            Parts::One(part) => Ok((part as &mut Part<dyn Write>, times.len())),
            Parts::ByDay { files, open, .. } => {
                let day = utc_day(times[0]);
                let count = times.iter().take_while(|t| utc_day(**t) == day).count();
                let part = match open.entry(day) {
                    std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
                    std::collections::btree_map::Entry::Vacant(entry) => {
                        entry.insert(Part::new(files.open(day)?))
                    }
                };
                Ok((part as &mut Part<dyn Write>, count))
            }
        }
    }
}

/// The UTC day of a timestamp in milliseconds.
fn utc_day(ms: i64) -> NaiveDate {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
        .date_naive()
}

/// The instants at which the values of `bucket` were on `/metrics`: every `step` from
/// its end plus the settle delay until the next bucket's arrival, and not past `now`.
pub fn sample_times(
    query: &Entry<'_>,
    bucket: &Interval,
    step: TimeDelta,
    now: DateTime<Utc>,
) -> Vec<i64> {
    let settle = TimeDelta::from_std(query.settle_delay()).unwrap_or(TimeDelta::zero());
    let next_end = query
        .granularity()
        .next_bucket_start(bucket.end, query.time_zone());
    let first = bucket.end + settle;
    let until = (next_end + settle).min(now + TimeDelta::milliseconds(1));
    let step_ms = step.num_milliseconds().max(1);
    let mut times = Vec::new();
    let mut at = first.timestamp_millis();
    while at < until.timestamp_millis() {
        times.push(at);
        at += step_ms;
    }
    times
}

/// A timestamp in seconds as OpenMetrics writes it: whole, or with milliseconds.
fn timestamp(ms: i64) -> String {
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
    }
}

impl<W: Write> OpenMetricsWriter<W> {
    /// Writes `series` of `bucket` at its sample times; `whole` for every series of the
    /// bucket and `genesys_exporter_build_info`, otherwise one group's series only.
    fn write(
        &mut self,
        query: &Entry<'_>,
        bucket: &Interval,
        series: &QuerySeries,
        whole: bool,
    ) -> std::io::Result<()> {
        let times = sample_times(query, bucket, self.step, self.now);
        let first_query = self
            .build_info_query
            .get_or_insert_with(|| query.name().to_string());
        let build_info = (whole && *first_query == query.name()).then(|| {
            let (names, values): (Vec<_>, Vec<_>) = crate::telemetry::build_info_labels()
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .unzip();
            Labels::new(Arc::from(names), values)
        });
        let mut rest = &times[..];
        while !rest.is_empty() {
            let (part, count) = self.parts.next(rest)?;
            let stamps: Vec<String> = rest[..count].iter().copied().map(timestamp).collect();
            rest = &rest[count..];
            self.samples += write_samples(
                part,
                series,
                whole,
                build_info.as_ref(),
                &self.target_labels,
                &stamps,
                &mut self.lines,
            )?;
        }
        Ok(())
    }
}

impl<W: Write> BucketSink for OpenMetricsWriter<W> {
    fn bucket(
        &mut self,
        entry: &Entry<'_>,
        bucket: &Interval,
        series: &QuerySeries,
    ) -> std::io::Result<()> {
        self.write(entry, bucket, series, true)
    }

    /// Samples need only rise in time series by series, so groups can come in any order.
    fn group(
        &mut self,
        query: &QueryConfig,
        bucket: &Interval,
        series: &QuerySeries,
    ) -> std::io::Result<()> {
        self.write(&Entry::Query(query), bucket, series, false)
    }

    /// Commits the day files whose day ends by `instant`, in day order.
    fn complete_before(&mut self, instant: DateTime<Utc>) -> std::io::Result<()> {
        let Parts::ByDay {
            open, committed, ..
        } = &mut self.parts
        else {
            return Ok(());
        };
        while let Some(entry) = open.first_entry() {
            let day_end = entry
                .key()
                .succ_opt()
                .map(|day| day.and_time(chrono::NaiveTime::MIN).and_utc());
            if day_end.is_none_or(|end| end > instant) {
                break;
            }
            commit(entry.remove())?;
            *committed += 1;
        }
        Ok(())
    }
}

/// Writes the series of `series` (all of them when `whole`, else all but the query's
/// own interval bounds) and `build_info`, when given, at each of `times` into `part`,
/// each family's lines put together in `lines` first; returns the samples written.
fn write_samples(
    part: &mut Part<dyn Write + '_>,
    series: &QuerySeries,
    whole: bool,
    build_info: Option<&Labels>,
    target_labels: &str,
    times: &[String],
    lines: &mut Vec<u8>,
) -> std::io::Result<u64> {
    let mut number = dtoa::Buffer::new();
    let mut samples = 0;
    let own = |name: &str| {
        name.ends_with("_interval_start_timestamp_seconds")
            || name.ends_with("_interval_end_timestamp_seconds")
    };
    for family in series.families.iter().filter(|f| whole || !own(&f.name)) {
        part.describe(&family.name, &family.help)?;
        lines.clear();
        for sample in &family.samples {
            let rendered = sample.labels.rendered();
            let labels = &rendered[..rendered.len().saturating_sub(1)];
            let value = format_value(&mut number, sample.value);
            for time in times {
                // name{labels,job,instance} value timestamp
                for part_text in [
                    &family.name,
                    labels,
                    target_labels,
                    " ",
                    value,
                    " ",
                    time,
                    "\n",
                ] {
                    lines.extend_from_slice(part_text.as_bytes());
                }
            }
            samples += times.len() as u64;
        }
        part.out.write_all(lines)?;
    }
    if let Some(build) = build_info {
        let name = "genesys_exporter_build_info";
        part.describe(name, crate::telemetry::BUILD_INFO_HELP)?;
        let rendered = build.rendered();
        let labels = &rendered[..rendered.len() - 1];
        for time in times {
            for part_text in [name, labels, target_labels, " 1 ", time, "\n"] {
                part.out.write_all(part_text.as_bytes())?;
            }
        }
        samples += times.len() as u64;
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::QueryConfig;
    use crate::genesys::bodies::AggregateResponse;
    use crate::genesys::names::Names;
    use crate::interval::Granularity;
    use crate::mapping::{GroupMemory, map_response};
    use std::collections::HashMap;
    use std::time::Duration;

    fn query() -> QueryConfig {
        QueryConfig {
            name: "queues".into(),
            source: crate::genesys::sources::CONVERSATIONS,
            granularity: Granularity::Minutes(30),
            time_zone: chrono_tz::UTC,
            settle_delay: Duration::from_secs(90),
            refresh: None,
            group_by: vec!["queueId".into()],
            metrics: vec!["nOffered".into()],
            filter: None,
            period: Default::default(),
            max_predicates_per_request: crate::config::filter::DEFAULT_MAX_PREDICATES,
            allow_unlisted: Vec::new(),
        }
    }

    #[test]
    fn a_bucket_is_sampled_from_its_arrival_to_the_next_arrival() {
        let bucket: Interval = "2026-11-25T12:00:00Z/2026-11-25T12:30:00Z".parse().unwrap();
        let now: DateTime<Utc> = "2026-11-26T00:00:00Z".parse().unwrap();
        let times = sample_times(&Entry::Query(&query()), &bucket, TimeDelta::minutes(1), now);
        let arrival = "2026-11-25T12:31:30Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(times.len(), 30);
        assert_eq!(times[0], arrival.timestamp_millis());
        assert_eq!(times[29], arrival.timestamp_millis() + 29 * 60_000);
        // Never past now.
        let soon = arrival + TimeDelta::minutes(5);
        assert_eq!(
            sample_times(
                &Entry::Query(&query()),
                &bucket,
                TimeDelta::minutes(1),
                soon
            )
            .len(),
            6
        );
        assert_eq!(timestamp(1_700_000_000_000), "1700000000");
        assert_eq!(timestamp(1_700_000_000_250), "1700000000.250");
    }

    #[test]
    fn samples_carry_the_live_labels_and_the_target_labels() {
        let query = query();
        let bucket: Interval = "2026-11-25T12:00:00Z/2026-11-25T12:30:00Z".parse().unwrap();
        let response: AggregateResponse = serde_json::from_value(serde_json::json!({"results": [
            {"group": {"queueId": "q1"}, "data": [
                {"interval": "2026-11-25T12:00:00.000Z/2026-11-25T12:30:00.000Z",
                 "metrics": [{"metric": "nOffered", "stats": {"count": 7}}]}]}]}))
        .unwrap();
        let names = Names::from_tables([(
            "queueId",
            HashMap::from([("q1".to_string(), "Billing".to_string())]),
        )]);
        let mapped = map_response(
            &query,
            &bucket,
            &response,
            &names,
            &mut GroupMemory::default(),
        );
        let now: DateTime<Utc> = "2026-11-26T00:00:00Z".parse().unwrap();
        let mut writer = OpenMetricsWriter::new(
            Vec::new(),
            TimeDelta::minutes(15),
            now,
            "genesys",
            "host:9471",
        );
        writer
            .bucket(&Entry::Query(&query), &bucket, &mapped.series)
            .unwrap();
        let Finished::One(out) = writer.finish().unwrap() else {
            panic!("one output")
        };
        let text = String::from_utf8(out).unwrap();
        let at = "2026-11-25T12:31:30Z"
            .parse::<DateTime<Utc>>()
            .unwrap()
            .timestamp();
        assert!(
            text.contains(&format!(
                "genesys_conversation_offered{{query=\"queues\",interval=\"PT30M\",queue_id=\"q1\",queue_name=\"Billing\",job=\"genesys\",instance=\"host:9471\"}} 7.0 {at}\n"
            )),
            "{text}"
        );
        assert_eq!(
            text.matches("# TYPE genesys_conversation_offered gauge")
                .count(),
            1
        );
        assert_eq!(text.matches("genesys_exporter_build_info{").count(), 2);
        assert!(text.ends_with("# EOF\n"));
    }

    /// The sample times of `buckets` consecutive buckets of `query` from `start`.
    fn samples_of(query: &QueryConfig, start: &str, buckets: usize, step: TimeDelta) -> Vec<i64> {
        let now: DateTime<Utc> = "2027-01-01T00:00:00Z".parse().unwrap();
        let mut at = query
            .granularity
            .bucket_start(start.parse().unwrap(), query.time_zone);
        let mut times = Vec::new();
        for _ in 0..buckets {
            let end = query.granularity.next_bucket_start(at, query.time_zone);
            times.extend(sample_times(
                &Entry::Query(query),
                &Interval { start: at, end },
                step,
                now,
            ));
            at = end;
        }
        times
    }

    /// The longest time between two samples: an instant just before a sample is
    /// answered only if the sample before it is less than the lookback back.
    fn widest_gap(times: &[i64]) -> i64 {
        times.windows(2).map(|w| w[1] - w[0]).max().unwrap()
    }

    #[test]
    fn the_default_spacing_answers_every_instant_at_every_granularity() {
        let lookback = TimeDelta::minutes(5);
        let step =
            TimeDelta::from_std(Duration::from_secs(300) - super::super::LOOKBACK_MARGIN).unwrap();
        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        for (granularity, zone, buckets) in [
            (Granularity::Minutes(5), chrono_tz::UTC, 600),
            (Granularity::Minutes(15), chrono_tz::UTC, 300),
            (Granularity::Minutes(30), berlin, 200),
            (Granularity::Minutes(60), berlin, 100),
            (Granularity::Day, berlin, 4),
        ] {
            let query = QueryConfig {
                granularity,
                time_zone: zone,
                ..query()
            };
            // Over the autumn DST change in Berlin.
            let times = samples_of(&query, "2026-10-24T20:00:00Z", buckets, step);
            assert!(
                times.windows(2).all(|w| w[0] < w[1]),
                "{granularity}: in order"
            );
            let gap = widest_gap(&times);
            assert!(
                gap < lookback.num_milliseconds(),
                "{granularity}: {gap} ms between two samples"
            );
        }
        // Without the margin, a half-hour's last sample is a whole lookback before the
        // next bucket's first: no slack for a timestamp read a millisecond early.
        let times = samples_of(&query(), "2026-11-25T00:00:00Z", 4, lookback);
        assert_eq!(widest_gap(&times), lookback.num_milliseconds());
    }

    #[test]
    fn day_files_are_split_at_utc_midnight_and_committed_when_complete() {
        let dir = tempfile::tempdir().unwrap();
        let query = query();
        let names = Names::from_tables([(
            "queueId",
            HashMap::from([("q1".to_string(), "Billing".to_string())]),
        )]);
        let now: DateTime<Utc> = "2026-11-27T00:00:00Z".parse().unwrap();
        let mut writer = OpenMetricsWriter::by_day(
            DayFiles::create(dir.path()).unwrap(),
            TimeDelta::seconds(285),
            now,
            "genesys",
            "host:9471",
        );
        let mut memory = GroupMemory::default();
        for (bucket, count) in [
            ("2026-11-25T23:00:00Z/2026-11-25T23:30:00Z", 7),
            ("2026-11-25T23:30:00Z/2026-11-26T00:00:00Z", 8),
        ] {
            let bucket: Interval = bucket.parse().unwrap();
            let response: AggregateResponse =
                serde_json::from_value(serde_json::json!({"results": [
                {"group": {"queueId": "q1"}, "data": [
                    {"interval": bucket.to_string(),
                     "metrics": [{"metric": "nOffered", "stats": {"count": count}}]}]}]}))
                .unwrap();
            let mapped = map_response(&query, &bucket, &response, &names, &mut memory);
            writer
                .bucket(&Entry::Query(&query), &bucket, &mapped.series)
                .unwrap();
        }
        let listed = || {
            let mut names: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| !name.starts_with('.'))
                .collect();
            names.sort();
            names
        };
        assert!(listed().is_empty(), "nothing is complete yet");
        writer
            .complete_before("2026-11-26T00:00:00Z".parse().unwrap())
            .unwrap();
        assert_eq!(listed(), ["2026-11-25.om"]);
        let first = std::fs::read_to_string(dir.path().join("2026-11-25.om")).unwrap();
        let offered = |text: &str| {
            text.lines()
                .filter(|l| l.starts_with("genesys_conversation_offered{"))
                .map(|l| l.rsplit(' ').next().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        // 23:31:30 to 23:55:15 every 4m45s; 00:00:00 is the next day's.
        let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap().timestamp().to_string();
        assert_eq!(offered(&first).len(), 6);
        assert_eq!(offered(&first)[0], at("2026-11-25T23:31:30Z"));
        assert!(first.contains("# TYPE genesys_conversation_offered gauge\n"));
        assert!(first.ends_with("# EOF\n"));
        let Finished::Days(days) = writer.finish().unwrap() else {
            panic!("day files")
        };
        assert_eq!(days, 2);
        assert_eq!(listed(), ["2026-11-25.om", "2026-11-26.om"]);
        let second = std::fs::read_to_string(dir.path().join("2026-11-26.om")).unwrap();
        assert_eq!(offered(&second)[0], at("2026-11-26T00:00:00Z"));
        assert_eq!(offered(&second)[1], at("2026-11-26T00:01:30Z"));
        assert!(second.contains("# TYPE genesys_conversation_offered gauge\n"));
        assert!(second.ends_with("# EOF\n"));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temporary file left"
        );
    }
}
