//! `report` and `backfill`, run as the real binary against the simulator over loopback:
//! the report equals the API's aggregates bucket by bucket, the backfill loads into a
//! real Prometheus (through the real promtool) and answers with the API's values at
//! past instants, faults are survived, failures leave no file, bad input exits 2.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::{Value, json};

use common::prometheus::Prometheus;
use common::{ExporterRun, aggregates, simulator};
use genesys_cloud_exporter::genesys::sources::CONVERSATIONS;
use genesys_cloud_exporter::simulator::{
    FaultKind, FaultRule, Simulator, SimulatorConfig, Trigger,
};

/// Runs `args` (a subcommand and its flags) against `sim` with the config `yaml`.
fn run(sim: &Simulator, dir: &Path, yaml: &str, args: &[&str]) -> (ExitStatus, String) {
    ExporterRun::against(sim)
        .config(dir, yaml)
        .subcommand(args)
        .run_to_exit()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The end of a range of whole `step`s that completed at least an hour ago.
fn range_end(step: TimeDelta) -> DateTime<Utc> {
    (Utc::now() - TimeDelta::hours(1))
        .duration_trunc(step)
        .unwrap()
}

/// The simulator's stats, by (bucket start, queue id, media type) and metric.
type Expected = HashMap<(DateTime<Utc>, String, String), HashMap<String, Value>>;

async fn expected(
    sim: &Simulator,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    granularity: &str,
    metrics: &[&str],
) -> Expected {
    let api = aggregates(
        sim,
        &json!({"interval": format!("{}/{}", rfc3339(from), rfc3339(to)),
            "granularity": granularity, "timeZone": "UTC",
            "groupBy": ["queueId", "mediaType"], "metrics": metrics}),
    )
    .await;
    let mut expected = Expected::new();
    for result in api["results"]
        .as_array()
        .expect("the simulator has traffic")
    {
        let group = |d: &str| result["group"][d].as_str().unwrap_or("").to_string();
        for bucket in result["data"].as_array().unwrap() {
            let start: DateTime<Utc> = bucket["interval"]
                .as_str()
                .unwrap()
                .split('/')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let stats = bucket["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    (
                        m["metric"].as_str().unwrap().to_string(),
                        m["stats"].clone(),
                    )
                })
                .collect();
            expected.insert((start, group("queueId"), group("mediaType")), stats);
        }
    }
    expected
}

/// Reads RFC 4180 text: records of fields, quotes undone; every record must end in CRLF.
fn read_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => record.push(std::mem::take(&mut field)),
            ('\r', false) => {
                assert_eq!(chars.next(), Some('\n'), "CR without LF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            ('\n', false) => panic!("a line ends without CR"),
            (c, _) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "the last record has no CRLF"
    );
    records
}

const HOURLY: &str = "queries:\n  - name: hourly\n    granularity: PT1H\n    group_by: [queueId, mediaType]\n    metrics: [nOffered, tHandle, oServiceLevel]\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_csv_report_over_two_days_equals_the_api_per_bucket_and_group() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let to = range_end(TimeDelta::hours(1));
    let from = to - TimeDelta::days(2);
    let output = dir.path().join("report.csv");
    let (status, logs) = run(
        &sim,
        dir.path(),
        HOURLY,
        &[
            "report",
            "--from",
            &rfc3339(from),
            "--to",
            &rfc3339(to),
            "--format",
            "csv",
            "--output",
            &output.to_string_lossy(),
        ],
    );
    assert!(status.success(), "{logs}");
    assert!(
        logs.contains("message=plan") && logs.contains("buckets=48"),
        "{logs}"
    );

    let records = read_csv(&std::fs::read_to_string(&output).unwrap());
    assert_eq!(
        records[0].join(","),
        "interval_start,interval_end,queue_id,queue_name,media_type,offered,\
         handle_seconds_sum,handle_seconds_count,handle_seconds_max,handle_seconds_min,\
         handle_seconds_p95,handle_seconds_p99,service_level_ratio,service_level_numerator,\
         service_level_denominator,service_level_target,handle_seconds_avg"
    );
    let expected = expected(
        &sim,
        from,
        to,
        "PT1H",
        &["nOffered", "tHandle", "oServiceLevel"],
    )
    .await;
    let names: HashMap<String, String> = sim.queues().into_iter().map(|q| (q.id, q.name)).collect();
    let number = |text: &str| -> Option<f64> { (!text.is_empty()).then(|| text.parse().unwrap()) };
    let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        (a, b) => a == b,
    };
    let mut seen = 0;
    let mut starts = std::collections::BTreeSet::new();
    for row in &records[1..] {
        let start: DateTime<Utc> = row[0].parse().unwrap();
        let end: DateTime<Utc> = row[1].parse().unwrap();
        assert_eq!(end - start, TimeDelta::hours(1));
        assert!(start >= from && end <= to, "{row:?}");
        starts.insert(start);
        assert_eq!(row[3], names[&row[2]], "{row:?}");
        let cell = |i: usize| number(&row[i]);
        match expected.get(&(start, row[2].clone(), row[4].clone())) {
            Some(stats) => {
                seen += 1;
                let stat =
                    |metric: &str, stat: &str| stats.get(metric).map(|s| s[stat].as_f64().unwrap());
                assert_eq!(
                    cell(5),
                    Some(stat("nOffered", "count").unwrap_or(0.0)),
                    "{row:?}"
                );
                let handle_count = stat("tHandle", "count");
                assert_eq!(cell(7), Some(handle_count.unwrap_or(0.0)), "{row:?}");
                let handle_sum = stat("tHandle", "sum").map(|ms| ms / 1000.0);
                assert!(close(cell(6), Some(handle_sum.unwrap_or(0.0))), "{row:?}");
                assert!(
                    close(cell(8), stat("tHandle", "max").map(|ms| ms / 1000.0)),
                    "{row:?}"
                );
                assert!(close(cell(12), stat("oServiceLevel", "ratio")), "{row:?}");
                assert_eq!(cell(15), stat("oServiceLevel", "target"), "{row:?}");
                let average = handle_sum.zip(handle_count).map(|(s, c)| s / c);
                assert!(close(cell(16), average), "{row:?}");
            }
            // A group that had data in the last 24 hours reads zero, as on /metrics.
            None => {
                assert_eq!(
                    (cell(5), cell(6), cell(7), cell(16)),
                    (Some(0.0), Some(0.0), Some(0.0), None),
                    "{row:?}"
                );
            }
        }
    }
    assert_eq!(
        seen,
        expected.len(),
        "every group and bucket of the API is a row"
    );
    assert_eq!(starts.len(), 48);
}

const HALF_HOURLY: &str = "queries:\n  - name: history\n    granularity: PT30M\n    group_by: [queueId, mediaType]\n    metrics: [nOffered, tHandle]\n";

/// The value of an instant-vector sample, and the (queue id, media type) it is for.
fn sample(series: &Value) -> ((String, String), f64) {
    let label = |name: &str| series["metric"][name].as_str().unwrap_or("").to_string();
    let value = series["value"][1].as_str().unwrap().parse().unwrap();
    ((label("queue_id"), label("media_type")), value)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backfill_over_three_days_answers_in_prometheus_with_the_api_values() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let to = range_end(TimeDelta::minutes(30));
    let from = to - TimeDelta::days(3);
    let output = dir.path().join("history.om");
    let (status, logs) = run(
        &sim,
        dir.path(),
        HALF_HOURLY,
        &[
            "backfill",
            "--from",
            &rfc3339(from),
            "--to",
            &rfc3339(to),
            "--sample-interval",
            "5m",
            "--label.job",
            "genesys",
            "--label.instance",
            "exporter:9471",
            "--output",
            &output.to_string_lossy(),
        ],
    );
    assert!(status.success(), "{logs}");
    let expected = expected(&sim, from, to, "PT30M", &["nOffered", "tHandle"]).await;
    let prometheus = Prometheus::on_backfill(dir.path(), &output);

    let settle = TimeDelta::seconds(90);
    let mut compared = 0;
    for bucket in [0, 7, 40, 77, 100, 143] {
        let start = from + TimeDelta::minutes(30 * bucket);
        let end = start + TimeDelta::minutes(30);
        // Ten minutes after the bucket's values arrived: what /metrics showed then.
        let at = (end + settle + TimeDelta::minutes(10)).timestamp() as f64;
        prometheus
            .wait_for_at("genesys_conversation_offered", at, Duration::from_secs(60))
            .await;
        let offered = prometheus
            .query_at("genesys_conversation_offered", at)
            .await;
        assert!(!offered.is_empty());
        for series in &offered {
            assert_eq!(series["metric"]["job"], "genesys");
            assert_eq!(series["metric"]["instance"], "exporter:9471");
            assert_eq!(series["metric"]["query"], "history");
            assert_eq!(series["metric"]["interval"], "PT30M");
            let (group, value) = sample(series);
            let api = expected
                .get(&(start, group.0.clone(), group.1.clone()))
                .and_then(|stats| stats.get("nOffered"))
                .map_or(0.0, |stats| stats["count"].as_f64().unwrap());
            assert_eq!(value, api, "offered of {group:?} in {start}");
            compared += 1;
        }
        let groups_with_data = expected.keys().filter(|(s, _, _)| *s == start).count();
        assert!(
            offered.len() >= groups_with_data,
            "{start}: {} series, {groups_with_data} groups",
            offered.len()
        );

        let aht = prometheus
            .query_at(
                "genesys_conversation_handle_seconds_sum / genesys_conversation_handle_seconds_count",
                at,
            )
            .await;
        for series in &aht {
            let (group, value) = sample(series);
            // 0 / 0 for a zero-filled group, as on live data.
            if value.is_nan() {
                let stats = expected.get(&(start, group.0.clone(), group.1.clone()));
                assert!(
                    stats.is_none_or(|s| !s.contains_key("tHandle")),
                    "{group:?}"
                );
                continue;
            }
            let stats = &expected[&(start, group.0.clone(), group.1.clone())]["tHandle"];
            let api = stats["sum"].as_f64().unwrap() / 1000.0 / stats["count"].as_f64().unwrap();
            assert!(
                (value - api).abs() < 1e-9 * api,
                "AHT of {group:?} in {start}: {value} vs {api}"
            );
            compared += 1;
        }
        let timed = expected
            .iter()
            .filter(|((s, _, _), stats)| *s == start && stats.contains_key("tHandle"))
            .count();
        let answered = aht.iter().filter(|s| !sample(s).1.is_nan()).count();
        assert_eq!(
            answered, timed,
            "{start}: one AHT per group with handle times"
        );
    }
    assert!(compared > 100, "only {compared} values compared");
}

/// The sample lines of an OpenMetrics text (not its `#` lines).
fn sample_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|line| !line.starts_with('#'))
}

/// The Unix time in seconds of a sample line.
fn timestamp_of(line: &str) -> f64 {
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// The UTC day of a sample line's timestamp.
fn day_of(line: &str) -> chrono::NaiveDate {
    DateTime::from_timestamp(timestamp_of(line).floor() as i64, 0)
        .unwrap()
        .date_naive()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backfill_by_day_writes_each_day_whole_and_answers_every_instant() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let to = range_end(TimeDelta::minutes(30));
    let from = to - TimeDelta::days(2);
    let days = dir.path().join("days");
    std::fs::create_dir(&days).unwrap();
    let whole = dir.path().join("whole.om");
    let (from_text, to_text) = (rfc3339(from), rfc3339(to));
    let range = ["backfill", "--from", &from_text, "--to", &to_text];
    // The default sample interval, once by day and once in one file.
    for output in [
        ["--output-dir", &*days.to_string_lossy()],
        ["--output", &*whole.to_string_lossy()],
    ] {
        let (status, logs) = run(
            &sim,
            dir.path(),
            HALF_HOURLY,
            &[&range[..], &output].concat(),
        );
        assert!(status.success(), "{logs}");
    }
    let whole_text = std::fs::read_to_string(&whole).unwrap();

    // A file for every UTC day the samples fall on, and nothing else.
    let expected_days: std::collections::BTreeSet<chrono::NaiveDate> =
        sample_lines(&whole_text).map(day_of).collect();
    assert!(expected_days.len() >= 3, "{expected_days:?}");
    let mut files: Vec<String> = std::fs::read_dir(&days)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let expected_files: Vec<String> = expected_days.iter().map(|d| format!("{d}.om")).collect();
    assert_eq!(files, expected_files);
    // Each whole: its day's samples, every one of them, and one `# EOF` at the end.
    let mut by_day = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(days.join(file)).unwrap();
        assert!(text.ends_with("# EOF\n"), "{file} is not complete");
        assert_eq!(text.matches("# EOF").count(), 1, "{file}");
        for line in sample_lines(&text) {
            assert_eq!(format!("{}.om", day_of(line)), *file, "{line}");
            by_day.push(line.to_string());
        }
    }
    let mut in_one: Vec<String> = sample_lines(&whole_text).map(str::to_string).collect();
    by_day.sort();
    in_one.sort();
    assert!(
        by_day == in_one,
        "{} samples in the day files, {} in one file",
        by_day.len(),
        in_one.len()
    );

    // Loaded one by one, they answer at every instant from the first bucket's arrival
    // to the last sample: no two samples are farther apart than the lookback.
    let paths: Vec<std::path::PathBuf> = files.iter().map(|f| days.join(f)).collect();
    let refs: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
    let prometheus = Prometheus::on_backfills(dir.path(), &refs);
    let query = "count(genesys_conversation_interval_start_timestamp_seconds)";
    let first = (from + TimeDelta::minutes(30) + TimeDelta::seconds(90)).timestamp();
    let last = in_one.iter().map(|l| timestamp_of(l)).fold(0.0, f64::max) as i64;
    prometheus
        .wait_for_at(query, first as f64, Duration::from_secs(60))
        .await;
    let step = 10;
    let mut start = first;
    while start <= last {
        let end = (start + 86_400).min(last);
        let data = prometheus
            .api(
                "query_range",
                &[
                    ("query", query.to_string()),
                    ("start", start.to_string()),
                    ("end", end.to_string()),
                    ("step", step.to_string()),
                ],
            )
            .await
            .unwrap();
        let answered: std::collections::BTreeSet<i64> = data["result"][0]["values"]
            .as_array()
            .map(|values| {
                values
                    .iter()
                    .filter(|v| v[1] == "1")
                    .map(|v| v[0].as_f64().unwrap() as i64)
                    .collect()
            })
            .unwrap_or_default();
        let unanswered: Vec<i64> = (start..=end)
            .step_by(step)
            .filter(|t| !answered.contains(t))
            .collect();
        assert!(
            unanswered.is_empty(),
            "{} instants without one sample, the first at {:?}",
            unanswered.len(),
            DateTime::from_timestamp(unanswered[0], 0)
        );
        start = end + step as i64;
    }
}

/// Statuses of the aggregates requests the simulator answered, in order.
fn aggregates_statuses(sim: &Simulator) -> Vec<u16> {
    sim.requests()
        .iter()
        .filter(|r| r.path == CONVERSATIONS.aggregates_path())
        .map(|r| r.status)
        .collect()
}

/// Lets the first aggregates request through untouched (after a short delay, so a test
/// can act while the run is under way), then applies `then`.
fn after_the_first_request(sim: &Simulator, then: Vec<FaultRule>) {
    sim.add_fault(FaultRule {
        path_prefix: CONVERSATIONS.aggregates_path(),
        kind: FaultKind::Delay(Duration::from_millis(1)),
        trigger: Trigger::Count(1),
    });
    for rule in then {
        sim.add_fault(rule);
    }
}

fn status(status: u16, retry_after: Option<u64>, trigger: Trigger) -> FaultRule {
    FaultRule {
        path_prefix: CONVERSATIONS.aggregates_path(),
        kind: FaultKind::Status {
            status,
            retry_after,
        },
        trigger,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_503_burst_and_a_429_mid_backfill_are_survived_within_the_budget() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    after_the_first_request(
        &sim,
        vec![
            status(503, None, Trigger::Count(2)),
            status(429, Some(1), Trigger::Count(1)),
        ],
    );
    let to = range_end(TimeDelta::hours(1));
    // Ten days: two requests (a backfill request spans up to 7 days).
    let from = to - TimeDelta::days(10);
    let output = dir.path().join("history.om");
    let budget = 30;
    let (status, logs) = run(
        &sim,
        dir.path(),
        HOURLY,
        &[
            "backfill",
            "--from",
            &rfc3339(from),
            "--to",
            &rfc3339(to),
            "--sample-interval",
            "30m",
            "--genesys.requests-per-minute",
            &budget.to_string(),
            "--output",
            &output.to_string_lossy(),
        ],
    );
    assert!(status.success(), "{logs}");
    let statuses = aggregates_statuses(&sim);
    // Two 503s and a 429: three retries, the client's limit for one request.
    assert_eq!(statuses[..5], [200, 503, 503, 429, 200], "{statuses:?}");
    // Every bucket is in the file.
    let text = std::fs::read_to_string(&output).unwrap();
    let starts: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("genesys_conversation_interval_start_timestamp_seconds{"))
        .filter_map(|l| l.split(' ').nth(1))
        .collect();
    assert_eq!(starts.len(), 240, "{starts:?}");
    assert!(text.ends_with("# EOF\n"));
    // No 60-second window held more API requests than the budget.
    let api: Vec<std::time::Instant> = sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .map(|r| r.at)
        .collect();
    for (i, first) in api.iter().enumerate() {
        let within = api[i..]
            .iter()
            .take_while(|t| t.duration_since(*first) < Duration::from_secs(60))
            .count();
        assert!(within <= budget, "{within} requests within a minute");
    }
}

/// Runs a backfill whose second request fails for good; returns its status and logs,
/// and checks that neither the output nor a temporary file was left behind.
fn failing_backfill(sim: &Simulator, failure: FaultRule) -> (ExitStatus, String) {
    after_the_first_request(sim, vec![failure]);
    let dir = tempfile::tempdir().unwrap();
    let to = range_end(TimeDelta::hours(1));
    let from = to - TimeDelta::days(10);
    let output = dir.path().join("history.om");
    let result = run(
        sim,
        dir.path(),
        HOURLY,
        &[
            "backfill",
            "--from",
            &rfc3339(from),
            "--to",
            &rfc3339(to),
            "--sample-interval",
            "30m",
            "--output",
            &output.to_string_lossy(),
        ],
    );
    assert!(!output.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["config.yaml"], "files left behind");
    result
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_failure_leaves_no_file_and_exits_1_naming_the_range() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (status, logs) = failing_backfill(
        &sim,
        status(503, None, Trigger::for_next(Duration::from_secs(3600))),
    );
    assert_eq!(status.code(), Some(1), "{logs}");
    assert!(logs.contains("query hourly: the request for 20"), "{logs}");
    assert!(logs.contains("HTTP 503"), "{logs}");
    assert!(logs.contains("nothing was written"), "{logs}");
    // The first request, one bucket, then a 503 retried to the end.
    assert!(aggregates_statuses(&sim).len() >= 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_400_names_the_interval_of_the_request() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (status, logs) = failing_backfill(&sim, status(400, None, Trigger::Count(1)));
    assert_eq!(status.code(), Some(1), "{logs}");
    // The second request: the 3 days after the first 7 (a backfill request spans up
    // to 7 days).
    let to = range_end(TimeDelta::hours(1));
    let second = to - TimeDelta::days(3);
    let interval = format!(
        "{}/{}",
        second.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        to.format("%Y-%m-%dT%H:%M:%S%.3fZ")
    );
    assert!(
        logs.contains(&format!("the request for {interval} failed")),
        "{logs}"
    );
    assert!(logs.contains("HTTP 400"), "{logs}");
    assert_eq!(
        aggregates_statuses(&sim),
        [200, 400],
        "a 400 is not retried"
    );
}

#[test]
fn bad_input_exits_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.om").to_string_lossy().into_owned();
    let missing = dir
        .path()
        .join("missing/out.om")
        .to_string_lossy()
        .into_owned();
    let missing_dir = dir.path().join("missing").to_string_lossy().into_owned();
    let cases: [(&[&str], &str); 12] = [
        (&["report", "--from", "-1h", "--to", "-3h"], "--from"),
        (&["report", "--from", "2999-01-01"], "--from"),
        (&["report", "--from", "whenever"], "--from"),
        (&["report", "--from", "-1d", "--query", "nope"], "--query"),
        (&["report", "--from", "-1d", "--format", "xml"], "--format"),
        (&["backfill", "--from", "-1d"], "--output"),
        (
            &[
                "backfill",
                "--from",
                "-1d",
                "--sample-interval",
                "10s",
                "--output",
                &output,
            ],
            "--sample-interval",
        ),
        (
            &[
                "backfill",
                "--from",
                "-1d",
                "--sample-interval",
                "1h",
                "--output",
                &output,
            ],
            "--sample-interval",
        ),
        (
            &["backfill", "--from", "-1d", "--output", &missing],
            "--output",
        ),
        (
            &["backfill", "--from", "-1d", "--output-dir", &missing_dir],
            "--output-dir",
        ),
        (
            &[
                "backfill",
                "--from",
                "-1d",
                "--output",
                &output,
                "--output-dir",
                &missing_dir,
            ],
            "--output-dir",
        ),
        (
            &[
                "backfill",
                "--from",
                "-1d",
                "--lookback",
                "20s",
                "--output",
                &output,
            ],
            "--lookback",
        ),
    ];
    for (args, flag) in cases {
        let (status, logs) = ExporterRun::demo().subcommand(args).run_to_exit();
        assert_eq!(status.code(), Some(2), "{args:?}: {logs}");
        assert!(logs.contains(flag), "{args:?} does not name {flag}: {logs}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// A report grouped by `userId` and `wrapUpCode` carries `user_name` and
/// `wrap_up_code_name` as the live series do, from the same listings.
#[tokio::test(flavor = "multi_thread")]
async fn a_report_by_user_and_wrap_up_code_carries_their_names() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let to = range_end(TimeDelta::hours(1));
    let from = to - TimeDelta::hours(6);
    let output = dir.path().join("agents.csv");
    let (status, logs) = run(
        &sim,
        dir.path(),
        "queries:\n  - name: agents\n    granularity: PT1H\n    group_by: [userId, wrapUpCode]\n    metrics: [nConnected]\n",
        &[
            "report",
            "--from",
            &rfc3339(from),
            "--to",
            &rfc3339(to),
            "--format",
            "csv",
            "--output",
            &output.to_string_lossy(),
        ],
    );
    assert!(status.success(), "{logs}");
    let records = read_csv(&std::fs::read_to_string(&output).unwrap());
    assert_eq!(
        records[0][..6].join(","),
        "interval_start,interval_end,user_id,user_name,wrap_up_code,wrap_up_code_name"
    );
    let users: HashMap<String, String> = sim.listing("/api/v2/users").into_iter().collect();
    let codes: HashMap<String, String> = sim
        .listing("/api/v2/routing/wrapupcodes")
        .into_iter()
        .collect();
    let mut named = 0;
    for row in &records[1..] {
        assert_eq!(
            row[3],
            users.get(&row[2]).cloned().unwrap_or_default(),
            "{row:?}"
        );
        assert_eq!(
            row[5],
            codes.get(&row[4]).cloned().unwrap_or_default(),
            "{row:?}"
        );
        if !row[3].is_empty() && !row[5].is_empty() {
            named += 1;
        }
    }
    assert!(named > 0, "no row with both names");
}

/// Progress goes to standard error: off a terminal as plain log lines (the last one at
/// the last bucket), on a terminal as a bar with buckets done, requests, rate and ETA.
/// The terminal is a real pseudo-terminal, from util-linux `script`.
#[tokio::test(flavor = "multi_thread")]
async fn progress_is_a_log_line_off_a_terminal_and_a_bar_on_one() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let to = range_end(TimeDelta::minutes(30));
    let (from, to) = (rfc3339(to - TimeDelta::days(1)), rfc3339(to));
    let output = dir.path().join("day.om");
    let output = output.to_string_lossy();
    let backfill = [
        "backfill", "--from", &from, "--to", &to, "--output", &output,
    ];

    let (status, logs) = run(&sim, dir.path(), HALF_HOURLY, &backfill);
    assert!(status.success(), "{logs}");
    let last = logs
        .lines()
        .rev()
        .find(|l| l.contains("message=progress"))
        .unwrap_or_else(|| panic!("no progress line: {logs}"));
    assert!(last.contains("buckets=48 of=48 requests="), "{last}");
    assert!(last.contains("eta=0s"), "{last}");

    // The same run on a terminal: `script` gives the binary a pseudo-terminal as its
    // standard streams and copies what it writes to its own standard output.
    let run = ExporterRun::against(&sim)
        .config(dir.path(), HALF_HOURLY)
        .subcommand(&backfill);
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_genesys-cloud-exporter"))
        .chain(run.args.iter().map(String::as_str))
        .map(|arg| format!("'{arg}'"))
        .collect();
    let on_terminal = std::process::Command::new("script")
        .args([
            "--quiet",
            "--return",
            "--command",
            &quoted.join(" "),
            "/dev/null",
        ])
        .envs(run.env.iter().map(|(name, value)| (*name, value)))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("util-linux script runs");
    let screen = String::from_utf8_lossy(&on_terminal.stdout);
    assert!(on_terminal.status.success(), "{screen}");
    assert!(screen.contains("48/48 buckets, "), "{screen}");
    assert!(
        screen.contains(" requests, ") && screen.contains("ETA"),
        "{screen}"
    );
    assert!(!screen.contains("message=progress"), "{screen}");
}

/// The log line that says why the run stopped (all the logs when there is none).
fn exit_error(logs: &str) -> &str {
    logs.lines()
        .find(|l| l.contains("message=exiting"))
        .unwrap_or(logs)
}

/// A `P1D` query in a zone where the local day began about 12 hours ago, so that
/// `--from -2h` holds none of its completed buckets, whatever the time of the run.
fn daily_query(name: &str) -> String {
    use chrono::Timelike;
    let offset = 12 - i64::from(Utc::now().hour());
    let zone = match offset {
        0 => "Etc/UTC".to_string(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    };
    format!(
        "  - name: {name}\n    granularity: P1D\n    time_zone: {zone}\n    period: current\n    refresh: 1m\n    group_by: [queueId]\n    metrics: [nOffered]\n"
    )
}

/// Without `--query`, a query with no completed bucket in the range is skipped, named on
/// standard error with the reason, and the others are reported; a `period: current`
/// query contributes its completed buckets; only when no query has one is it exit 2.
#[tokio::test(flavor = "multi_thread")]
async fn without_query_the_queries_without_a_completed_bucket_are_skipped() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "queries:\n  - name: halfhourly\n    granularity: PT30M\n    group_by: [queueId]\n    metrics: [nOffered]\n{}",
        daily_query("daily")
    );
    let output = dir.path().join("report.csv");
    let output = output.to_string_lossy();
    let report = |from: &str| {
        run(
            &sim,
            dir.path(),
            &yaml,
            &[
                "report", "--from", from, "--format", "csv", "--output", &output,
            ],
        )
    };

    let (status, logs) = report("-2h");
    assert!(status.success(), "{logs}");
    let skipped = logs
        .lines()
        .find(|l| l.contains("query=daily"))
        .unwrap_or_else(|| panic!("the skipped query is not named: {logs}"));
    assert!(
        skipped.contains("query skipped") && skipped.contains("no completed P1D bucket"),
        "{skipped}"
    );
    let records = read_csv(&std::fs::read_to_string(&*output).unwrap());
    assert_eq!(
        records[0][..3].join(","),
        "interval_start,interval_end,queue_id"
    );
    assert!(records.len() > 1, "no row of halfhourly");

    // Over three days the `period: current` query has completed days: both report.
    let (status, logs) = report("-3d");
    assert!(status.success(), "{logs}");
    assert!(!logs.contains("query skipped"), "{logs}");
    let records = read_csv(&std::fs::read_to_string(&*output).unwrap());
    assert_eq!(records[0][0], "query");
    let daily: Vec<&Vec<String>> = records.iter().filter(|r| r[0] == "daily").collect();
    assert!(!daily.is_empty(), "no row of the daily query");
    for row in daily {
        let start: DateTime<Utc> = row[1].parse().unwrap();
        let end: DateTime<Utc> = row[2].parse().unwrap();
        assert_eq!(end - start, TimeDelta::days(1), "{row:?}");
        assert!(end <= Utc::now(), "an incomplete day: {row:?}");
    }

    // No query with a completed bucket: exit 2, naming each query and why.
    std::fs::remove_file(&*output).unwrap();
    let yaml = format!("queries:\n{}{}", daily_query("one"), daily_query("two"));
    let (status, logs) = run(
        &sim,
        dir.path(),
        &yaml,
        &["report", "--from", "-2h", "--output", &output],
    );
    assert_eq!(status.code(), Some(2), "{logs}");
    let error = exit_error(&logs);
    assert!(
        error.contains("query one") && error.contains("query two"),
        "{error}"
    );
    assert!(!Path::new(&*output).exists());
}

/// A range of more buckets than `--max-buckets` is refused before anything is built or
/// fetched, with the count and how to go on; the flag raises the limit.
#[test]
fn a_range_past_the_bucket_limit_is_refused_and_the_flag_raises_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("report.csv");
    let output = output.to_string_lossy();
    // 2025 years of half-hours: the run must end at once, not start fetching.
    let (status, logs) = ExporterRun::demo()
        .subcommand(&[
            "report",
            "--from",
            "0001-01-01",
            "--query",
            "queues",
            "--output",
            &output,
        ])
        .run_to_exit();
    assert_eq!(status.code(), Some(2), "{logs}");
    let error = exit_error(&logs);
    assert!(
        error.contains("35,5") && error.contains("--max-buckets") && error.contains("--from"),
        "{error}"
    );
    assert!(!logs.contains("message=plan"), "{logs}");

    let small = |max: &str| {
        ExporterRun::demo()
            .subcommand(&[
                "report",
                "--from",
                "-3d",
                "--query",
                "queues",
                "--max-buckets",
                max,
                "--output",
                &output,
            ])
            .run_to_exit()
    };
    let (status, logs) = small("100");
    assert_eq!(status.code(), Some(2), "{logs}");
    assert!(logs.contains("--max-buckets 100"), "{logs}");
    let (status, logs) = small("1000");
    assert!(status.success(), "{logs}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// The lines of a table report written with `extra` flags.
fn table(sim: &Simulator, dir: &Path, extra: &[&str]) -> (ExitStatus, String, Vec<String>) {
    let to = range_end(TimeDelta::hours(1));
    let output = dir.join("report.txt");
    let (from, to, out) = (
        rfc3339(to - TimeDelta::hours(3)),
        rfc3339(to),
        output.to_string_lossy().into_owned(),
    );
    let mut args = vec![
        "report", "--from", &from, "--to", &to, "--format", "table", "--output", &out,
    ];
    args.extend(extra);
    let (status, logs) = run(sim, dir, HOURLY, &args);
    let lines = std::fs::read_to_string(&output)
        .map(|text| text.lines().map(str::to_string).collect())
        .unwrap_or_default();
    let _ = std::fs::remove_file(&output);
    (status, logs, lines)
}

/// The words of a table line: its columns (no cell of these holds a space).
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The table shows what a supervisor reads (the names, counts, averages as mm:ss,
/// service level as a percentage); `--columns` picks others, `all` gives the CSV's.
#[tokio::test(flavor = "multi_thread")]
async fn a_table_shows_the_supervisor_columns_and_columns_picks_others() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();

    let (status, logs, lines) = table(&sim, dir.path(), &[]);
    assert!(status.success(), "{logs}");
    assert_eq!(
        words(&lines[0]),
        [
            "interval_start",
            "queue_name",
            "media_type",
            "offered",
            "handle_seconds_avg",
            "service_level_ratio"
        ]
    );
    let is_minutes = |cell: &str| {
        let parts: Vec<&str> = cell.split(':').collect();
        (2..=3).contains(&parts.len())
            && parts[1..].iter().all(|p| p.len() == 2)
            && parts.iter().all(|p| p.parse::<u32>().is_ok())
    };
    let (mut averages, mut levels) = (0, 0);
    for line in &lines[1..] {
        // A queue name may hold spaces: read the row from its end.
        let cells = words(line);
        let last = cells[cells.len() - 1];
        if last.ends_with('%') {
            let percent: f64 = last.trim_end_matches('%').parse().unwrap();
            assert!((0.0..=100.0).contains(&percent), "{line}");
            levels += 1;
        }
        if cells.iter().any(|cell| is_minutes(cell)) {
            averages += 1;
        }
    }
    assert!(averages > 0 && levels > 0, "{lines:#?}");

    let (status, logs, lines) = table(
        &sim,
        dir.path(),
        &["--columns", "interval_end,queue_id,handle_seconds_max"],
    );
    assert!(status.success(), "{logs}");
    assert_eq!(
        words(&lines[0]),
        ["interval_end", "queue_id", "handle_seconds_max"]
    );

    let (status, logs, lines) = table(&sim, dir.path(), &["--columns", "all"]);
    assert!(status.success(), "{logs}");
    assert_eq!(words(&lines[0]).len(), 17, "{}", lines[0]);

    let (status, logs, lines) = table(&sim, dir.path(), &["--columns", "offered,nope"]);
    assert_eq!(status.code(), Some(2), "{logs}");
    assert!(lines.is_empty());
    let error = exit_error(&logs);
    assert!(
        error.contains("--columns")
            && error.contains("nope")
            && error.contains("handle_seconds_p99"),
        "{error}"
    );
}

/// `report ... | head`: the reader leaving is how a pipeline ends. The report stops
/// fetching and exits 0, saying so in the log, instead of failing with a broken pipe.
#[test]
fn a_report_whose_reader_goes_away_stops_quietly() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(common::binary())
        .args(["report", "--demo", "--from", "-2d", "--format", "csv"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the exporter starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut header = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut header)
        .expect("the report's first line");
    assert!(header.contains("interval_start,"), "{header}");
    // The reader goes away with two days of rows still to write.
    let output = child.wait_with_output().expect("the exporter exits");
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}: {logs}", output.status);
    assert!(
        logs.contains("standard output was closed by its reader"),
        "{logs}"
    );
}

/// The total of requests the plan logs before the first one.
fn planned_requests(logs: &str) -> usize {
    let line = logs
        .lines()
        .find(|l| l.contains("estimated time at the budget"))
        .unwrap_or_else(|| panic!("no plan total: {logs}"));
    line.split_whitespace()
        .find_map(|word| word.strip_prefix("requests="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no requests in {line}"))
}

/// The plan says how many aggregates requests a run sends, and the run sends that many:
/// a report of 10 days takes 2 (7 days a request, streamed as a backfill is), a backfill
/// by day one per UTC day the range touches.
#[tokio::test(flavor = "multi_thread")]
async fn the_plan_counts_the_requests_report_and_backfill_send() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let to = range_end(TimeDelta::hours(1));
    let from = to - TimeDelta::days(10);
    let output = dir.path().join("report.csv");
    let (status, logs) = run(
        &sim,
        dir.path(),
        HOURLY,
        &[
            "report",
            "--from",
            &rfc3339(from),
            "--to",
            &rfc3339(to),
            "--format",
            "csv",
            "--output",
            &output.to_string_lossy(),
        ],
    );
    assert!(status.success(), "{logs}");
    assert_eq!(planned_requests(&logs), 2, "{logs}");
    assert_eq!(aggregates_statuses(&sim), [200, 200]);
    let records = read_csv(&std::fs::read_to_string(&output).unwrap());
    let starts: std::collections::BTreeSet<&str> =
        records[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(starts.len(), 240, "every bucket has rows");

    // By day, from a time that is not midnight.
    let from = to - TimeDelta::days(3) + TimeDelta::hours(5);
    let days = ((to - TimeDelta::hours(1)).date_naive() - from.date_naive()).num_days() + 1;
    let out = dir.path().join("days");
    std::fs::create_dir(&out).unwrap();
    let (status, logs) = run(
        &sim,
        dir.path(),
        HOURLY,
        &[
            "backfill",
            "--from",
            &rfc3339(from),
            "--to",
            &rfc3339(to),
            "--output-dir",
            &out.to_string_lossy(),
        ],
    );
    assert!(status.success(), "{logs}");
    assert_eq!(planned_requests(&logs), days as usize, "{logs}");
    assert_eq!(aggregates_statuses(&sim).len(), 2 + days as usize);
}
