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

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::exposition::format_value;
use crate::interval::Interval;
use crate::series::QuerySeries;
use crate::series::{Labels, push_escaped};

use super::fetch::{BucketSink, Entry};

/// Writes buckets as timestamped OpenMetrics samples.
pub struct OpenMetricsWriter<W: Write> {
    out: W,
    step: TimeDelta,
    now: DateTime<Utc>,
    /// `,job="…",instance="…"}`: appended to each rendered label set in place of its `}`.
    target_labels: String,
    /// Families whose `# HELP` and `# TYPE` are written.
    described: HashSet<String>,
    /// Whether this writer writes `genesys_exporter_build_info` (for the first query
    /// only: a second query's range would take its timestamps back in time).
    build_info_query: Option<String>,
    samples: u64,
}

impl<W: Write> OpenMetricsWriter<W> {
    /// Samples every `step` up to `now`, labelled `job` and `instance`.
    pub fn new(out: W, step: TimeDelta, now: DateTime<Utc>, job: &str, instance: &str) -> Self {
        let target = Labels::new(
            Arc::from(["job".to_string(), "instance".to_string()]),
            vec![job.to_string(), instance.to_string()],
        );
        OpenMetricsWriter {
            out,
            step,
            now,
            target_labels: format!(",{}", &target.rendered()[1..]),
            described: HashSet::new(),
            build_info_query: None,
            samples: 0,
        }
    }

    /// Samples written so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Writes `# EOF` and returns the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.write_all(b"# EOF\n")?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn describe(&mut self, name: &str, help: &str) -> std::io::Result<()> {
        if self.described.insert(name.to_string()) {
            let mut escaped = String::new();
            push_escaped(&mut escaped, help, &['\\', '\n', '"']);
            write!(self.out, "# HELP {name} {escaped}\n# TYPE {name} gauge\n")?;
        }
        Ok(())
    }
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

impl<W: Write> BucketSink for OpenMetricsWriter<W> {
    fn bucket(
        &mut self,
        query: &Entry<'_>,
        bucket: &Interval,
        series: &QuerySeries,
    ) -> std::io::Result<()> {
        let times: Vec<String> = sample_times(query, bucket, self.step, self.now)
            .into_iter()
            .map(timestamp)
            .collect();
        if times.is_empty() {
            return Ok(());
        }
        let mut number = dtoa::Buffer::new();
        let target_labels = std::mem::take(&mut self.target_labels);
        for family in &series.families {
            self.describe(&family.name, &family.help)?;
            for sample in &family.samples {
                let rendered = sample.labels.rendered();
                let labels = &rendered[..rendered.len().saturating_sub(1)];
                let value = format_value(&mut number, sample.value);
                for time in &times {
                    // name{labels,job,instance} value timestamp
                    for part in [
                        &family.name,
                        labels,
                        &target_labels,
                        " ",
                        value,
                        " ",
                        time,
                        "\n",
                    ] {
                        self.out.write_all(part.as_bytes())?;
                    }
                }
                self.samples += times.len() as u64;
            }
        }
        let first_query = self
            .build_info_query
            .get_or_insert_with(|| query.name().to_string());
        if first_query == query.name() {
            let (names, values): (Vec<_>, Vec<_>) = crate::telemetry::build_info_labels()
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .unzip();
            let build = Labels::new(Arc::from(names), values);
            let name = "genesys_exporter_build_info";
            self.describe(name, crate::telemetry::BUILD_INFO_HELP)?;
            let rendered = build.rendered();
            let labels = &rendered[..rendered.len() - 1];
            for time in &times {
                for part in [name, labels, &target_labels, " 1 ", time, "\n"] {
                    self.out.write_all(part.as_bytes())?;
                }
            }
            self.samples += times.len() as u64;
        }
        self.target_labels = target_labels;
        Ok(())
    }
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
        let text = String::from_utf8(writer.finish().unwrap()).unwrap();
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
}
