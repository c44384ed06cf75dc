//! The exporter end to end over real loopback HTTP: the binary polls the simulator and
//! serves what it got.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{ExporterRun, aggregates, simulator};
use genesys_cloud_exporter::simulator::SimulatorConfig;

const QUEUES_QUERY: &str = r#"
queries:
  - name: queues
    granularity: PT30M
    time_zone: UTC
    settle_delay: 5s
    group_by: [queueId, mediaType]
    metrics: [nOffered, nConnected, tHandle, tAnswered, tAbandon, oServiceLevel]
"#;

/// The headline promise: what /metrics shows is what the API said for the most recent
/// completed interval, with milliseconds turned into seconds and queue names resolved.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_equal_the_api_stats_of_the_last_completed_interval() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let exporter = ExporterRun::against(&sim)
        .config(dir.path(), QUEUES_QUERY)
        .start();
    exporter.wait_ready().await;
    let metrics = exporter.scrape().await;

    let start = metrics.value(
        "genesys_conversation_interval_start_timestamp_seconds",
        &[("query", "queues")],
    );
    let end = metrics.value(
        "genesys_conversation_interval_end_timestamp_seconds",
        &[("query", "queues")],
    );
    assert_eq!(end - start, 1800.0);
    let start = chrono::DateTime::from_timestamp(start as i64, 0).unwrap();
    let end = chrono::DateTime::from_timestamp(end as i64, 0).unwrap();
    // The most recent completed interval: ended at least the settle delay ago, and the
    // next one has not completed yet.
    let now = chrono::Utc::now();
    assert!(end + chrono::TimeDelta::seconds(5) <= now);
    assert!(
        end + chrono::TimeDelta::minutes(30) + chrono::TimeDelta::seconds(5)
            > now - chrono::TimeDelta::seconds(60)
    );

    let interval = format!(
        "{}/{}",
        start.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        end.format("%Y-%m-%dT%H:%M:%S%.3fZ")
    );
    let api = aggregates(
        &sim,
        &serde_json::json!({"interval": interval, "granularity": "PT30M", "timeZone": "UTC",
            "groupBy": ["queueId", "mediaType"],
            "metrics": ["nOffered", "nConnected", "tHandle", "tAnswered", "tAbandon", "oServiceLevel"]}),
    )
    .await;
    let names: HashMap<String, String> = sim.queues().into_iter().map(|q| (q.id, q.name)).collect();
    let results = api["results"]
        .as_array()
        .expect("the simulator has traffic");
    let mut compared = 0;
    for result in results {
        let queue = result["group"]["queueId"].as_str().unwrap_or("");
        let media = result["group"]["mediaType"].as_str().unwrap_or("");
        let labels = [
            ("query", "queues"),
            ("interval", "PT30M"),
            ("queue_id", queue),
            ("media_type", media),
            (
                "queue_name",
                names.get(queue).map(String::as_str).unwrap_or(""),
            ),
        ];
        for metric in result["data"][0]["metrics"].as_array().unwrap() {
            let stats = &metric["stats"];
            let stat = |name: &str| stats[name].as_f64().unwrap();
            match metric["metric"].as_str().unwrap() {
                "nOffered" => {
                    assert_eq!(
                        metrics.value("genesys_conversation_offered", &labels),
                        stat("count")
                    );
                }
                "tHandle" => {
                    let sum = metrics.value("genesys_conversation_handle_seconds_sum", &labels);
                    assert!(
                        (sum - stat("sum") / 1000.0).abs() < 1e-9,
                        "{sum} vs {}",
                        stat("sum")
                    );
                    assert_eq!(
                        metrics.value("genesys_conversation_handle_seconds_count", &labels),
                        stat("count")
                    );
                    let max = metrics.value("genesys_conversation_handle_seconds_max", &labels);
                    assert!((max - stat("max") / 1000.0).abs() < 1e-9);
                }
                "tAbandon" => {
                    assert_eq!(
                        metrics.value("genesys_conversation_abandon_seconds_count", &labels),
                        stat("count")
                    );
                }
                "oServiceLevel" => {
                    assert_eq!(
                        metrics.value("genesys_conversation_service_level_ratio", &labels),
                        stat("ratio")
                    );
                    assert_eq!(
                        metrics.value("genesys_conversation_service_level_target", &labels),
                        stat("target")
                    );
                }
                _ => continue,
            }
            compared += 1;
        }
    }
    assert!(compared > 10, "only {compared} stats compared");
    assert_eq!(
        metrics.value("genesys_exporter_query_up", &[("query", "queues")]),
        1.0
    );
}

/// Queue names come from every page of the queue list, not only the first.
#[tokio::test(flavor = "multi_thread")]
async fn queue_names_come_from_every_page() {
    let sim = simulator(SimulatorConfig {
        queue_count: 1_200,
        media_type_count: 1,
        ..SimulatorConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let exporter = ExporterRun::against(&sim)
        .config(dir.path(), QUEUES_QUERY)
        .start();
    exporter.wait_ready().await;
    let metrics = exporter.scrape().await;
    let names: HashMap<String, String> = sim.queues().into_iter().map(|q| (q.id, q.name)).collect();
    let offered = metrics.find("genesys_conversation_offered", &[("query", "queues")]);
    assert!(!offered.is_empty());
    let mut last_page_queues = 0;
    for sample in offered {
        let id = &sample.labels["queue_id"];
        assert_eq!(&sample.labels["queue_name"], &names[id], "queue {id}");
        let position = sim.queues().iter().position(|q| &q.id == id).unwrap();
        if position >= 1_000 {
            last_page_queues += 1;
        }
    }
    assert!(
        last_page_queues > 0,
        "no queue from the third page had traffic"
    );
    let queue_requests = sim
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v2/routing/queues")
        .count();
    assert_eq!(queue_requests, 3, "1,200 queues at 500 a page");
    // However many queues, one poll of one query is one aggregates request.
    let aggregate_requests = sim
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v2/analytics/conversations/aggregates/query")
        .count();
    assert_eq!(aggregate_requests, 1, "one query, polled once");
}

/// A query the API refuses (400) is marked failed with Genesys' message; the others keep working.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_query_leaves_the_others_up() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = r#"
queries:
  - name: good
    granularity: PT15M
    settle_delay: 5s
    group_by: [mediaType]
    metrics: [nOffered]
  - name: bad
    granularity: PT15M
    settle_delay: 5s
    group_by: [mediaType]
    metrics: [nOffered, nNoSuchMetric]
"#;
    let exporter = ExporterRun::against(&sim)
        .config(dir.path(), config)
        .start();
    exporter.wait_ready().await;
    let metrics = exporter.scrape().await;
    assert_eq!(
        metrics.value("genesys_exporter_query_up", &[("query", "good")]),
        1.0
    );
    assert_eq!(
        metrics.value("genesys_exporter_query_up", &[("query", "bad")]),
        0.0
    );
    assert!(
        !metrics
            .find("genesys_conversation_offered", &[("query", "good")])
            .is_empty()
    );
    assert!(
        metrics
            .find("genesys_conversation_offered", &[("query", "bad")])
            .is_empty()
    );
    assert!(
        !metrics
            .find(
                "genesys_exporter_api_requests_total",
                &[("endpoint", "aggregates"), ("code", "400")]
            )
            .is_empty(),
        "{}",
        metrics.text
    );
    // Not retried: one request for the bad query.
    let bad_requests = sim.requests().iter().filter(|r| r.status == 400).count();
    assert_eq!(bad_requests, 1);
    // The log and the landing page name the problem with Genesys' message.
    let page = reqwest::get(exporter.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("nNoSuchMetric"), "{page}");
    assert!(
        exporter.logs().contains("nNoSuchMetric"),
        "{}",
        exporter.logs()
    );
}

/// Demo mode needs no credentials and serves simulated data; the page says so.
#[tokio::test(flavor = "multi_thread")]
async fn demo_mode_serves_data_without_credentials() {
    let started = std::time::Instant::now();
    let exporter = ExporterRun::demo().start();
    exporter.wait_ready().await;
    let metrics = exporter.scrape().await;
    let handled = metrics.find(
        "genesys_conversation_handle_seconds_count",
        &[("query", "queues")],
    );
    assert!(handled.iter().any(|s| s.value > 0.0), "{}", metrics.text);
    assert!(handled.iter().all(|s| !s.labels["queue_name"].is_empty()));
    assert!(started.elapsed() < Duration::from_secs(10));
    let page = reqwest::get(exporter.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Demo mode"), "{page}");
    assert!(page.contains("queues") && page.contains("PT30M"), "{page}");
    assert_eq!(exporter.terminate().code(), Some(0));
}

/// Without credentials and without --demo: exit status 2 and a message that helps.
#[test]
fn missing_credentials_stop_start_up_with_status_2() {
    let (status, stderr) = ExporterRun {
        args: vec![],
        env: vec![],
    }
    .run_to_exit();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("GENESYS_CLIENT_ID") && stderr.contains("GENESYS_CLIENT_SECRET"),
        "{stderr}"
    );
    assert!(stderr.contains("--demo"), "{stderr}");
}

/// An invalid config stops start-up with status 2 and names the file, query and field.
#[test]
fn invalid_config_stops_start_up_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let run = ExporterRun::demo().config(
        dir.path(),
        "queries:\n  - name: broken\n    granularity: PT7M\n    metrics: [nOffered]\n",
    );
    let (status, stderr) = run.run_to_exit();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("config.yaml")
            && stderr.contains("broken")
            && stderr.contains("granularity"),
        "{stderr}"
    );
}

/// Content negotiation: OpenMetrics for clients that ask for it, text 0.0.4 otherwise,
/// gzip when accepted; and the health endpoints.
#[tokio::test(flavor = "multi_thread")]
async fn serves_openmetrics_text_and_gzip_and_health() {
    let exporter = ExporterRun::demo().start();
    let healthy = reqwest::get(exporter.url("/-/healthy")).await.unwrap();
    assert_eq!(healthy.status(), 200);
    exporter.wait_ready().await;
    let http = reqwest::Client::builder().no_gzip().build().unwrap();

    let plain = http.get(exporter.url("/metrics")).send().await.unwrap();
    assert_eq!(
        plain.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let plain_text = plain.text().await.unwrap();
    assert!(!plain_text.contains("# EOF"));
    assert!(
        plain_text.contains("# TYPE genesys_exporter_api_requests_total counter"),
        "{plain_text}"
    );

    let openmetrics = http
        .get(exporter.url("/metrics"))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert!(
        openmetrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text; version=1.0.0")
    );
    let om_text = openmetrics.text().await.unwrap();
    assert!(om_text.ends_with("# EOF\n"), "{om_text}");
    assert_eq!(om_text.matches("# EOF").count(), 1);
    assert!(om_text.contains("# TYPE genesys_exporter_api_requests counter"));

    let gzipped = http
        .get(exporter.url("/metrics"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    let bytes = gzipped.bytes().await.unwrap();
    let mut unzipped = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::MultiGzDecoder::new(&bytes[..]),
        &mut unzipped,
    )
    .unwrap();
    let conversation_lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("genesys_conversation_"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        conversation_lines(&unzipped),
        conversation_lines(&plain_text)
    );

    let missing = http.get(exporter.url("/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let post = http.post(exporter.url("/metrics")).send().await.unwrap();
    assert_eq!(post.status(), 405);
}

/// `simulate` runs the simulator alone; it speaks the Genesys API with the demo
/// credentials. `--log.format json` writes one JSON object per line.
#[tokio::test(flavor = "multi_thread")]
async fn the_simulate_subcommand_serves_the_api_alone() {
    let (mut child, base) = common::simulate_subcommand(&["--queues", "3"]);
    let token = common::token_at(&base, "demo-client", "demo-secret").await;
    let queues: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/api/v2/routing/queues?pageSize=100"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(queues["total"], 3, "{queues}");
    let _ = child.kill();
    let _ = child.wait();
}

/// Each query's schedule is exported, so that the data-stale alert
/// (deploy/prometheus/alerts.yaml) can judge every query by its own interval.
#[tokio::test(flavor = "multi_thread")]
async fn each_query_exports_its_interval_and_settle_delay() {
    let dir = tempfile::tempdir().unwrap();
    let exporter = ExporterRun::demo()
        .config(
            dir.path(),
            "queries:
  - name: quarter
    granularity: PT15M
    settle_delay: 2m
    group_by: [queueId]
    metrics: [nOffered]
  - name: daily
    granularity: P1D
    time_zone: Europe/London
    settle_delay: 10m
    group_by: [queueId]
    metrics: [nOffered]
",
        )
        .start();
    exporter.wait_ready().await;
    let metrics = exporter.scrape().await;
    let interval = "genesys_exporter_query_interval_seconds";
    let settle = "genesys_exporter_query_settle_delay_seconds";
    assert_eq!(metrics.value(interval, &[("query", "quarter")]), 900.0);
    assert_eq!(metrics.value(settle, &[("query", "quarter")]), 120.0);
    assert_eq!(metrics.value(interval, &[("query", "daily")]), 86400.0);
    assert_eq!(metrics.value(settle, &[("query", "daily")]), 600.0);
}
