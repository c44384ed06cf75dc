//! Every source, end to end, through the real binary: the example query of each source
//! in docs/sources.md, run against a loopback stand-in that answers each aggregates path
//! as Genesys does (one group, every stat of the metric's kind, users' timers with their
//! sum only and their qualifiers), shows on `/metrics`, in `report` and in `backfill`
//! the values the stand-in answered, under the names and labels the docs give.
//!
//! The stand-in rather than the built-in simulator: the simulator answers conversations
//! only until its rules for the other sources land.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use serde_json::{Value, json};

use common::{ExporterRun, Metrics};
use genesys_cloud_exporter::config::{Config, QueryConfig};
use genesys_cloud_exporter::conventions::snake_case;
use genesys_cloud_exporter::genesys::sources::{SOURCES, Source};
use genesys_cloud_exporter::mapping::series_base;

/// The organization presence the stand-in lists (id, name): the qualifier of its
/// `tOrganizationPresence`.
const PRESENCE: (&str, &str) = ("6a3bd4e9-8d0c-4f2e-9c1e-8c8d3f3b0a11", "On Queue");

/// The qualifier the stand-in sends with each metric that has one in Genesys' answers.
const QUALIFIERS: [(&str, &str); 3] = [
    ("tAgentRoutingStatus", "IDLE"),
    ("tSystemPresence", "AVAILABLE"),
    ("tOrganizationPresence", PRESENCE.0),
];

/// The value the stand-in gives every stat of `metric`: distinct per metric.
fn base_value(metric: &str) -> f64 {
    metric.bytes().map(f64::from).sum::<f64>() / 10.0
}

/// What the stand-in answers for one aggregates request of `segment`: per bucket of the
/// asked interval, one group with every `groupBy` dimension set to `{dimension}-1`, and
/// every metric with the stats of its kind (milliseconds for timers).
fn answer(segment: &str, body: &Value) -> Value {
    let interval = body["interval"].as_str().unwrap_or_default();
    let (start, end) = interval.split_once('/').unwrap_or_default();
    let start: DateTime<Utc> = start.parse().unwrap_or_default();
    let end: DateTime<Utc> = end.parse().unwrap_or_default();
    // PT30M and PT1H are all the examples use; a partial bucket is one bucket.
    let step = match body["granularity"].as_str() {
        Some("PT1H") => TimeDelta::hours(1),
        Some("PT30M") => TimeDelta::minutes(30),
        _ => end - start,
    };
    let mut group = serde_json::Map::new();
    for dimension in body["groupBy"].as_array().into_iter().flatten() {
        let dimension = dimension.as_str().unwrap_or_default();
        group.insert(dimension.into(), json!(format!("{dimension}-1")));
    }
    let metrics: Vec<Value> = body["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|metric| {
            let v = base_value(metric);
            let stats = match metric.as_bytes()[0] {
                b'n' => json!({"count": v}),
                b't' if segment == "users" => json!({"sum": v * 1000.0}),
                b't' => json!({"sum": v * 1000.0, "count": 3, "max": v * 500.0, "min": 100}),
                _ => json!({"count": 4, "sum": v, "min": 1, "max": v / 2.0}),
            };
            let mut entry = json!({"metric": metric, "stats": stats});
            if let Some((_, qualifier)) = QUALIFIERS.iter().find(|(m, _)| *m == metric) {
                entry["qualifier"] = json!(qualifier);
            }
            entry
        })
        .collect();
    let mut data = Vec::new();
    let mut at = start;
    while at < end {
        let until = (at + step).min(end);
        let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        data.push(json!({"interval": format!("{}/{}", fmt(at), fmt(until)), "metrics": metrics}));
        at = until;
    }
    json!({"results": [{"group": group, "data": data}]})
}

/// A loopback Genesys: a token for any client, each source's aggregates answered by
/// [`answer`], empty listings; every request's path kept.
struct StandIn {
    base: String,
    paths: Arc<Mutex<Vec<String>>>,
}

async fn stand_in() -> StandIn {
    let paths = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&paths);
    let base = common::loopback(move |request| {
        let kept = Arc::clone(&kept);
        async move { respond(request, &kept).await }
    })
    .await;
    StandIn { base, paths }
}

async fn respond(
    request: Request<hyper::body::Incoming>,
    paths: &Mutex<Vec<String>>,
) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    paths.lock().unwrap().push(path.clone());
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let answer = if path == "/oauth/token" {
        json!({"access_token": "stand-in", "token_type": "bearer", "expires_in": 86400})
    } else if let Some(segment) = path
        .strip_prefix("/api/v2/analytics/")
        .and_then(|p| p.strip_suffix("/aggregates/query"))
    {
        answer(segment, &serde_json::from_slice(&body).unwrap_or_default())
    } else if path == "/api/v2/presence/definitions" {
        // Unpaged, as Genesys lists organization presences.
        json!({"entities": [{
            "id": PRESENCE.0,
            "name": PRESENCE.1,
            "languageLabels": {"en_US": PRESENCE.1},
            "systemPresence": "OnQueue",
            "primary": true,
            "deactivated": false
        }], "total": 1})
    } else {
        json!({"entities": [], "pageSize": 500, "pageNumber": 1, "pageCount": 1, "total": 0})
    };
    Response::builder()
        .header("content-type", "application/json")
        .header("date", httpdate(Utc::now()))
        .body(Full::new(Bytes::from(answer.to_string())))
        .expect("a response")
}

fn httpdate(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/sources.md")
}

/// The example queries of every source in docs/sources.md, as one config.
fn examples() -> String {
    let text = std::fs::read_to_string(docs()).expect("docs/sources.md");
    let mut config = String::from("queries:\n");
    for block in text.split("```yaml\n").skip(1) {
        let yaml = block.split("```").next().unwrap_or_default();
        config.push_str(yaml.strip_prefix("queries:\n").unwrap_or(yaml));
    }
    config
}

/// One series expected on /metrics: its name, labels it must carry, its value.
type Expected = (String, Vec<(String, String)>, f64);

/// Every series a query's answer from the stand-in shows on /metrics.
fn expected(config: &Config) -> Vec<Expected> {
    let mut out = Vec::new();
    for query in &config.queries {
        let source: &Source = query.source;
        let mut labels = vec![("query".to_string(), query.name.clone())];
        for dimension in &query.group_by {
            labels.push((snake_case(dimension), format!("{dimension}-1")));
        }
        for metric in &query.metrics {
            let mut labels = labels.clone();
            if let Some((_, qualifier)) = QUALIFIERS.iter().find(|(m, _)| m == metric) {
                let label = source.qualifier(metric).map_or("qualifier", |q| q.label);
                labels.push((label.to_string(), qualifier.to_string()));
            }
            let (_, base) = series_base(source, metric);
            let name = format!("{}{base}", source.prefix());
            for (suffix, value) in stats(source, metric) {
                out.push((format!("{name}{suffix}"), labels.clone(), value));
            }
        }
    }
    out
}

/// Every stat the stand-in answers for `metric` of `source`, as the exporter shows it:
/// the series' suffix after the base name, and its value (seconds for timers).
fn stats(source: &Source, metric: &str) -> Vec<(String, f64)> {
    let v = base_value(metric);
    match series_base(source, metric).0 {
        'n' => vec![(String::new(), v)],
        't' if source.segment == "users" => vec![("_seconds_sum".into(), v)],
        't' => vec![
            ("_seconds_sum".into(), v),
            ("_seconds_count".into(), 3.0),
            ("_seconds_max".into(), v / 2.0),
            ("_seconds_min".into(), 0.1),
        ],
        _ => vec![
            ("_count".into(), 4.0),
            ("_sum".into(), v),
            ("_min".into(), 1.0),
            ("_max".into(), v / 2.0),
        ],
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// The docs' examples and a flows query of the day so far (`period: current`).
fn config_of(dir: &Path) -> Config {
    let yaml = format!(
        "{}  - {{name: ivr_today, source: flows, granularity: P1D, period: current, refresh: 10s, group_by: [flowId], metrics: [nFlow, tFlowExit]}}\n",
        examples()
    );
    std::fs::write(dir.join("config.yaml"), &yaml).expect("config written");
    Config::from_yaml(&yaml, "docs/sources.md").unwrap_or_else(|e| panic!("{e}"))
}

/// The docs' example of every source, run together: each source's path is asked, and
/// /metrics shows every stat the stand-in answered, under the documented names, with
/// named qualifiers as their labels and the known routing statuses zero-filled.
#[tokio::test(flavor = "multi_thread")]
async fn every_sources_example_exports_the_apis_answer() {
    let api = stand_in().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_of(dir.path());
    assert_eq!(config.queries.len(), SOURCES.len() + 1);
    let exporter = ExporterRun::against_url(api.base.clone())
        .arg(
            "--config.file",
            dir.path().join("config.yaml").to_string_lossy(),
        )
        .start();
    exporter.wait_ready().await;
    let metrics: Metrics = exporter.scrape().await;
    for (name, labels, value) in expected(&config) {
        let labels: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let found = metrics.find(&name, &labels);
        assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
        assert!(
            close(found[0].value, value),
            "{name} {labels:?}: {} != {value}",
            found[0].value
        );
    }
    // The day so far says how far its values reach.
    let until = metrics.value(
        "genesys_flow_data_until_timestamp_seconds",
        &[("query", "ivr_today"), ("interval", "P1D")],
    );
    assert!(until > 0.0);
    // Users' statuses not in the answer read 0, sums only.
    let interacting = [("query", "agents_time"), ("routing_status", "INTERACTING")];
    let name = "genesys_user_agent_routing_status_seconds_sum";
    assert_eq!(metrics.value(name, &interacting), 0.0);
    assert!(
        metrics
            .find("genesys_user_agent_routing_status_seconds_count", &[])
            .is_empty()
    );
    // Every source's path was asked, and its requests counted under its own label.
    let paths = api.paths.lock().unwrap().clone();
    for source in &SOURCES {
        assert!(
            paths.contains(&source.aggregates_path()),
            "{}: {paths:?}",
            source.segment
        );
        let endpoint = match source.segment {
            "conversations" => "aggregates".to_string(),
            segment => format!("{segment}_aggregates"),
        };
        let requests = metrics.value(
            "genesys_exporter_api_requests_total",
            &[("endpoint", &endpoint), ("code", "200")],
        );
        assert!(requests >= 1.0, "{endpoint}");
    }
    // The landing page says what each query reads.
    let page = exporter.page("/").await;
    assert!(page.contains("<td>ivr</td><td>flows, PT30M</td>"), "{page}");
}

/// `report` and `backfill` of a flows and a users query give the stand-in's values,
/// under the series and column names of those sources.
#[tokio::test(flavor = "multi_thread")]
async fn report_and_backfill_of_other_sources_give_the_apis_answer() {
    let api = stand_in().await;
    let dir = tempfile::tempdir().unwrap();
    config_of(dir.path());
    let to = report_end();
    let run = |args: &[&str]| {
        ExporterRun::against_url(api.base.clone())
            .arg(
                "--config.file",
                dir.path().join("config.yaml").to_string_lossy(),
            )
            .subcommand(args)
            .run_to_exit()
    };
    let csv = dir.path().join("report.csv");
    let (status, logs) = run(&[
        "report",
        "--from",
        "-3h",
        "--to",
        &to,
        "--query",
        "ivr",
        "--format",
        "csv",
        "--output",
        &csv.to_string_lossy(),
    ]);
    assert!(status.success(), "{logs}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows = csv_rows(&text);
    let column = |name: &str| column_of(&rows, name);
    let (count, outcome_failed, exit) = (
        column("count"),
        column("outcome_failed"),
        column("exit_seconds_sum"),
    );
    assert!(rows.len() >= 4, "{text}");
    for row in &rows[1..] {
        assert!(
            close(row[count].parse().unwrap(), base_value("nFlow")),
            "{text}"
        );
        assert!(close(
            row[outcome_failed].parse().unwrap(),
            base_value("nFlowOutcomeFailed")
        ));
        assert!(close(row[exit].parse().unwrap(), base_value("tFlowExit")));
    }

    let om = dir.path().join("users.om");
    let (status, logs) = run(&[
        "backfill",
        "--from",
        "-3h",
        "--to",
        &to,
        "--query",
        "agents_time",
        "--output",
        &om.to_string_lossy(),
    ]);
    assert!(status.success(), "{logs}");
    let text = std::fs::read_to_string(&om).unwrap();
    let idle = format!(
        "genesys_user_agent_routing_status_seconds_sum{{query=\"agents_time\",interval=\"PT30M\",user_id=\"userId-1\",user_name=\"\",routing_status=\"IDLE\",job=\"genesys-cloud-exporter\",instance=\"genesys-cloud-exporter:9471\"}} {} ",
        base_value("tAgentRoutingStatus")
    );
    assert!(
        text.contains(&idle),
        "no {idle} in:\n{}",
        &text[..text.len().min(3000)]
    );
    // The organization presence is named as on /metrics.
    let presence = format!(
        "genesys_user_organization_presence_seconds_sum{{query=\"agents_time\",interval=\"PT30M\",user_id=\"userId-1\",user_name=\"\",presence_id=\"{}\",presence_name=\"{}\",job=",
        PRESENCE.0, PRESENCE.1
    );
    assert!(
        text.contains(&presence),
        "no {presence} in:\n{}",
        &text[..text.len().min(3000)]
    );
}

/// A CSV report's rows, its header first (the stand-in's values hold no commas).
fn csv_rows(text: &str) -> Vec<Vec<&str>> {
    text.lines().map(|l| l.split(',').collect()).collect()
}

/// The position of the column `name` in the header of `rows`.
fn column_of(rows: &[Vec<&str>], name: &str) -> usize {
    rows[0]
        .iter()
        .position(|c| *c == name)
        .unwrap_or_else(|| panic!("no column {name}: {:?}", rows[0]))
}

/// The end of a report's range: the last whole hour before the last one.
fn report_end() -> String {
    (Utc::now() - TimeDelta::hours(1))
        .duration_trunc(TimeDelta::hours(1))
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A report over queries of several sources names the columns of every source but
/// conversations after its domain (`flow_count`, `evaluation_total_score_sum`), so no
/// column holds two sources' metrics, and each query's values land in its own columns.
#[tokio::test(flavor = "multi_thread")]
async fn a_report_over_several_sources_names_each_sources_columns() {
    let api = stand_in().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        "queries:\n\
         \x20 - {name: calls, granularity: PT30M, group_by: [queueId], metrics: [nConversations]}\n\
         \x20 - {name: ivr, source: flows, granularity: PT30M, group_by: [flowId], metrics: [nFlow]}\n\
         \x20 - {name: quality, source: evaluations, granularity: PT30M, group_by: [queueId], metrics: [nEvaluations, oTotalScore]}\n\
         \x20 - {name: nps, source: surveys, granularity: PT30M, group_by: [queueId], metrics: [oSurveyTotalScore]}\n",
    )
    .unwrap();
    let csv = dir.path().join("report.csv");
    let to = report_end();
    let report = |columns: Option<&str>| {
        let mut args = vec![
            "report", "--from", "-2h", "--to", &to, "--format", "csv", "--output",
        ];
        let output = csv.to_string_lossy();
        args.push(&output);
        if let Some(columns) = columns {
            args.extend(["--columns", columns]);
        }
        let (status, logs) = ExporterRun::against_url(api.base.clone())
            .arg("--config.file", config.to_string_lossy())
            .subcommand(&args)
            .run_to_exit();
        assert!(status.success(), "{logs}");
        std::fs::read_to_string(&csv).unwrap()
    };
    let text = report(None);
    let rows = csv_rows(&text);
    let column = |name: &str| column_of(&rows, name);
    // Each query's metric, the column it belongs in.
    let owned = [
        ("calls", "nConversations", column("count")),
        ("ivr", "nFlow", column("flow_count")),
        ("quality", "nEvaluations", column("evaluation_count")),
        (
            "quality",
            "oTotalScore",
            column("evaluation_total_score_sum"),
        ),
        ("nps", "oSurveyTotalScore", column("survey_total_score_sum")),
    ];
    let query = column("query");
    for (name, _, _) in &owned {
        assert!(rows.iter().any(|r| r[query] == *name), "{name}: {text}");
    }
    for row in &rows[1..] {
        for (name, metric, position) in &owned {
            if row[query] == *name {
                assert!(
                    close(row[*position].parse().unwrap(), base_value(metric)),
                    "{text}"
                );
            } else {
                assert_eq!(
                    row[*position], "",
                    "{name} {metric} in another query's row: {text}"
                );
            }
        }
    }
    // `--columns` takes the prefixed names.
    let text = report(Some("query,flow_count,evaluation_total_score_sum"));
    assert_eq!(
        text.lines().next(),
        Some("query,flow_count,evaluation_total_score_sum"),
        "{text}"
    );
}

/// `report` and `backfill` of every source's example in the docs, together, give the
/// stand-in's answer: each stat in its column (the source's domain first but for
/// conversations, the qualifier after the base name) in that query's rows, and each
/// series /metrics would show in the backfill with its value.
#[tokio::test(flavor = "multi_thread")]
async fn report_and_backfill_of_every_sources_example_give_the_apis_answer() {
    let api = stand_in().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_of(dir.path());
    let examples: Vec<&QueryConfig> = config
        .queries
        .iter()
        .filter(|q| q.name != "ivr_today")
        .collect();
    assert_eq!(examples.len(), SOURCES.len());
    let to = report_end();
    let run = |command: &str, output: &Path| {
        let mut args = vec![command.to_string(), "--from".into(), "-2h".into()];
        args.extend(["--to".into(), to.clone()]);
        for query in &examples {
            args.extend(["--query".into(), query.name.clone()]);
        }
        if command == "report" {
            // JSON Lines: a qualifier first seen after the first bucket (another
            // query's) has no column in a CSV header.
            args.extend(["--format".into(), "json".into()]);
        }
        args.extend(["--output".into(), output.to_string_lossy().into_owned()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (status, logs) = ExporterRun::against_url(api.base.clone())
            .arg(
                "--config.file",
                dir.path().join("config.yaml").to_string_lossy(),
            )
            .subcommand(&args)
            .run_to_exit();
        assert!(status.success(), "{command}: {logs}");
        std::fs::read_to_string(output).unwrap()
    };

    let text = run("report", &dir.path().join("report.jsonl"));
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for example in &examples {
        let source = example.source;
        let prefix = match source.segment {
            "conversations" => String::new(),
            _ => format!("{}_", source.domain),
        };
        let ours: Vec<&Value> = rows
            .iter()
            .filter(|r| r["query"] == example.name.as_str())
            .collect();
        assert!(!ours.is_empty(), "{}: {text}", example.name);
        for metric in &example.metrics {
            // The stand-in answers oServiceLevel with the four stats of other
            // o-metrics, not its ratio and parts, which are its report columns; the
            // history tests read those from the simulator.
            if metric == "oServiceLevel" {
                continue;
            }
            let (_, base) = series_base(source, metric);
            let qualifier = QUALIFIERS
                .iter()
                .find(|(m, _)| m == metric)
                .map_or(String::new(), |(_, q)| {
                    format!("_{}", snake_case(q).replace('-', "_"))
                });
            for (suffix, value) in stats(source, metric) {
                let column = format!("{prefix}{base}{qualifier}{suffix}");
                for row in &ours {
                    assert!(
                        close(row[&column].as_f64().unwrap_or(f64::NAN), value),
                        "{} {column}: {row} != {value}",
                        example.name,
                    );
                }
            }
        }
    }

    let text = run("backfill", &dir.path().join("all.om"));
    let expected = expected(&config);
    for (name, labels, value) in expected.iter().filter(|(_, l, _)| l[0].1 != "ivr_today") {
        let found = text.lines().any(|line| {
            let Some((series, rest)) = line.split_once("} ") else {
                return false;
            };
            series.starts_with(&format!("{name}{{"))
                && labels
                    .iter()
                    .all(|(k, v)| series.contains(&format!("{k}=\"{v}\"")))
                && rest
                    .split(' ')
                    .next()
                    .and_then(|v| v.parse().ok())
                    .is_some_and(|v: f64| close(v, *value))
        });
        assert!(found, "no {name} {labels:?} = {value} in the backfill");
    }
}

/// The exporter on `yaml` against `api`, with `/-/reload` enabled.
fn exporter_on(api: &StandIn, path: &Path, yaml: &str) -> common::Exporter {
    std::fs::write(path, yaml).expect("config written");
    let mut run =
        ExporterRun::against_url(api.base.clone()).arg("--config.file", path.to_string_lossy());
    run.args.push("--web.enable-lifecycle".into());
    run.start()
}

/// A reload that turns a conversations query into a flows one restarts its poller: the
/// flows series come, the conversation ones of that query go.
#[tokio::test(flavor = "multi_thread")]
async fn a_reload_changes_a_querys_source() {
    let api = stand_in().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    let exporter = exporter_on(
        &api,
        &path,
        "queries:\n  - {name: q, granularity: PT30M, group_by: [queueId], metrics: [nOffered]}\n",
    );
    exporter.wait_ready().await;
    let q = [("query", "q")];
    assert_eq!(
        exporter
            .scrape()
            .await
            .value("genesys_conversation_offered", &q),
        base_value("nOffered")
    );
    std::fs::write(
        &path,
        "queries:\n  - {name: q, source: flows, granularity: PT30M, group_by: [flowId], metrics: [nFlow]}\n",
    )
    .unwrap();
    let reloaded = reqwest::Client::new()
        .post(exporter.url("/-/reload"))
        .send()
        .await
        .expect("reload answered");
    assert_eq!(reloaded.status(), 200, "{}", exporter.logs());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let metrics = exporter.scrape().await;
        if !metrics.find("genesys_flow_count", &q).is_empty() {
            assert_eq!(metrics.value("genesys_flow_count", &q), base_value("nFlow"));
            assert!(metrics.find("genesys_conversation_offered", &q).is_empty());
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", exporter.logs());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// `--config.check` takes every source's example, and refuses an unknown source with
/// exit status 2, the field, a suggestion and the list.
#[test]
fn config_check_takes_every_sources_example_and_refuses_an_unknown_source() {
    let dir = tempfile::tempdir().unwrap();
    let check = |yaml: &str| common::config_check(dir.path(), yaml, &[]);
    let (status, text) = check(&examples());
    assert_eq!(status, 0, "{text}");
    assert!(
        text.contains(&format!("config OK: {} queries", SOURCES.len())),
        "{text}"
    );
    let (status, text) =
        check("queries:\n  - {name: q, source: flow, granularity: PT30M, metrics: [nFlow]}\n");
    assert_eq!(status, 2, "{text}");
    // The log quotes the message (logfmt), so the quotes in it are escaped.
    let text = text.replace("\\\"", "\"");
    assert!(
        text.contains(
            "query \"q\": field `source`: \"flow\" is not an analytics aggregates source \
             (did you mean \"flows\"?); expected one of conversations, users, flows"
        ),
        "{text}"
    );
}
