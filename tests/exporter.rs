//! The exporter end to end over real loopback HTTP: the binary polls the simulator and
//! serves what it got.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{ExporterRun, aggregates, simulator};
use genesys_cloud_exporter::config::filter::{DEFAULT_MAX_PREDICATES, MAX_REQUEST_BYTES};
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
    // The landing page says how many queues the client sees (all 1,200 here: the
    // simulated client sees every division).
    let page = exporter.page("/").await;
    assert!(
        page.contains("Queues the OAuth client can see: 1200."),
        "{page}"
    );
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
    allow_unlisted: [nNoSuchMetric]
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
    let page = exporter.page("/").await;
    assert!(page.contains("nNoSuchMetric"), "{page}");
    // Sent because the query said so, with a warning at start-up, once.
    let logs = exporter.logs();
    let unchecked: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("is not in the catalogue of names Genesys accepts"))
        .collect();
    assert_eq!(unchecked.len(), 1, "{logs}");
    assert!(
        unchecked[0].contains("nNoSuchMetric") && unchecked[0].contains("query=bad"),
        "{logs}"
    );
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
    let page = exporter.page("/").await;
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

const AGGREGATES_PATH: &str = "/api/v2/analytics/conversations/aggregates/query";

/// A query over `ids`, one `matches` predicate per queue in an `or` list, grouped by
/// queue, with the stats whose merge could go wrong: counts, min and max, ratios.
fn split_query(name: &str, ids: &[String]) -> String {
    let mut text = format!(
        "  - name: {name}\n    granularity: PT30M\n    settle_delay: 5s\n    group_by: [queueId]\n    metrics: [nOffered, tHandle, oServiceLevel]\n"
    );
    if !ids.is_empty() {
        let predicates: Vec<String> = ids
            .iter()
            .map(|id| {
                format!("{{type: dimension, dimension: queueId, operator: matches, value: '{id}'}}")
            })
            .collect();
        text.push_str(&format!(
            "    filter: {{type: or, predicates: [{}]}}\n",
            predicates.join(", ")
        ));
    }
    text
}

/// What the exporter says one poll of `query` sends.
fn requests_per_poll(metrics: &common::Metrics, query: &str) -> f64 {
    metrics.value(
        "genesys_exporter_query_requests_per_poll",
        &[("query", query)],
    )
}

/// The status of every aggregates request the simulator answered, in order.
fn aggregates_statuses(sim: &genesys_cloud_exporter::simulator::Simulator) -> Vec<u16> {
    sim.requests()
        .iter()
        .filter(|r| r.path == AGGREGATES_PATH)
        .map(|r| r.status)
        .collect()
}

/// A series without its `query` label: name, the other labels, value.
type Series = (String, Vec<(String, String)>, f64);

/// The `request` counts of the "poll succeeded" log lines of `query`.
fn successful_polls(logs: &str, query: &str) -> Vec<String> {
    logs.lines()
        .filter(|l| l.contains("poll succeeded") && l.contains(&format!("query={query} ")))
        .map(|l| {
            l.split_whitespace()
                .find_map(|part| part.strip_prefix("requests="))
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

/// A filter over 250 queues fits in one request body (about 25 KB of JSON) but not in
/// the 100 predicates one request carries, which the simulator enforces as Genesys may:
/// each poll sends it in the fewest requests that carry it, and what is exported is
/// exactly what a query without the filter exports for the same queues.
#[tokio::test(flavor = "multi_thread")]
async fn a_filter_over_250_queues_is_split_by_the_predicate_cap_and_exports_the_same_series() {
    const QUEUES: usize = 250;
    let sim = simulator(SimulatorConfig {
        queue_count: QUEUES,
        media_type_count: 1,
        busy_all_day: true,
        ..SimulatorConfig::default()
    })
    .await;
    let ids: Vec<String> = sim.queues().into_iter().map(|q| q.id).collect();
    // The fewest requests that could carry the filter: 100 predicates each, and bytes
    // to spare.
    let list = serde_json::json!(
        ids.iter()
            .map(|id| serde_json::json!({"type": "dimension", "dimension": "queueId", "operator": "matches", "value": id}))
            .collect::<Vec<_>>()
    );
    assert!(serde_json::to_vec(&list).unwrap().len() < MAX_REQUEST_BYTES / 10);
    let fewest = QUEUES.div_ceil(DEFAULT_MAX_PREDICATES);
    assert_eq!(fewest, 3);
    let config = format!(
        "queries:\n{}{}",
        split_query("filtered", &ids),
        split_query("unfiltered", &[])
    );
    let dir = tempfile::tempdir().unwrap();
    // A page of queue names and 4 aggregates requests: a budget that lets them through
    // before the readiness check gives up.
    let exporter = ExporterRun::against(&sim)
        .config(dir.path(), &config)
        .arg("--genesys.requests-per-minute", "300")
        .start();
    exporter.wait_ready().await;

    // Both queries must describe the same interval (a poll may fall either side of an
    // interval's end): wait for the later one's next poll if they do not.
    let start = "genesys_conversation_interval_start_timestamp_seconds";
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let metrics = loop {
        let metrics = exporter.scrape().await;
        let at = |query| {
            metrics
                .find(start, &[("query", query)])
                .first()
                .map(|s| s.value)
        };
        if at("filtered").is_some() && at("filtered") == at("unfiltered") {
            break metrics;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the queries never showed one interval: {}",
            exporter.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(requests_per_poll(&metrics, "filtered"), 3.0);
    assert_eq!(requests_per_poll(&metrics, "unfiltered"), 1.0);
    // Every poll of the filtered query sent exactly the fewest requests, and the
    // simulator (which refuses bodies over 512 KiB with 413) answered every one.
    let logs = exporter.logs();
    let filtered_polls = successful_polls(&logs, "filtered");
    let unfiltered_polls = successful_polls(&logs, "unfiltered");
    assert!(!filtered_polls.is_empty(), "{logs}");
    assert!(
        filtered_polls.iter().all(|n| n == "3"),
        "{filtered_polls:?}"
    );
    assert!(
        unfiltered_polls.iter().all(|n| n == "1"),
        "{unfiltered_polls:?}"
    );
    let aggregates = aggregates_statuses(&sim);
    assert_eq!(
        aggregates.len(),
        3 * filtered_polls.len() + unfiltered_polls.len()
    );
    assert!(aggregates.iter().all(|&s| s == 200), "{aggregates:?}");

    // The same series with the same values, the `query` label aside.
    let conversation = |query: &str| {
        let mut series: Vec<Series> = metrics
            .samples
            .iter()
            .filter(|s| s.name.starts_with("genesys_conversation_"))
            .filter(|s| s.labels.get("query").map(String::as_str) == Some(query))
            .map(|s| {
                let labels = s
                    .labels
                    .iter()
                    .filter(|(k, _)| k.as_str() != "query")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                (s.name.clone(), labels, s.value)
            })
            .collect();
        series.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        series
    };
    let filtered = conversation("filtered");
    let unfiltered = conversation("unfiltered");
    let queues_with_data = metrics
        .find("genesys_conversation_offered", &[("query", "filtered")])
        .len();
    assert!(queues_with_data > QUEUES / 2, "{queues_with_data} queues");
    for kind in [
        "handle_seconds_min",
        "handle_seconds_max",
        "service_level_ratio",
    ] {
        assert!(
            filtered.iter().any(|(n, _, _)| n.ends_with(kind)),
            "no {kind}"
        );
    }
    assert_eq!(filtered.len(), unfiltered.len());
    for (f, u) in filtered.iter().zip(&unfiltered) {
        assert_eq!(f, u);
    }
}

/// When one request of a split poll fails, the poll fails whole: nothing of the
/// requests that succeeded is published, and the requests after it are not sent.
#[tokio::test(flavor = "multi_thread")]
async fn a_split_poll_with_a_failed_request_publishes_nothing() {
    use genesys_cloud_exporter::simulator::{FaultKind, FaultRule, Trigger};
    let sim = simulator(SimulatorConfig::default()).await;
    // The org's 8 queues first, then ids it does not have, enough for three requests of
    // 100 predicates.
    let mut ids: Vec<String> = sim.queues().into_iter().map(|q| q.id).collect();
    ids.extend((0..242).map(|i| format!("{i:08x}-0000-4000-8000-000000000000")));
    // The first request is answered, the second refused (400, not retried).
    let rule = |kind, count| FaultRule {
        path_prefix: AGGREGATES_PATH.into(),
        kind,
        trigger: Trigger::Count(count),
    };
    sim.add_fault(rule(FaultKind::Delay(Duration::ZERO), 1));
    sim.add_fault(rule(
        FaultKind::Status {
            status: 400,
            retry_after: None,
        },
        1,
    ));
    let dir = tempfile::tempdir().unwrap();
    let exporter = ExporterRun::against(&sim)
        .config(
            dir.path(),
            &format!("queries:\n{}", split_query("filtered", &ids)),
        )
        .start();
    exporter.wait_ready().await;
    let metrics = exporter.scrape().await;
    assert_eq!(
        metrics.value("genesys_exporter_query_up", &[("query", "filtered")]),
        0.0
    );
    assert_eq!(requests_per_poll(&metrics, "filtered"), 3.0);
    assert_eq!(
        aggregates_statuses(&sim),
        [200, 400],
        "the third request is not sent"
    );
    // The first request's answer had the org's queues; none of it is exported.
    let published: Vec<_> = metrics
        .samples
        .iter()
        .filter(|s| s.name.starts_with("genesys_conversation_"))
        .collect();
    assert!(published.is_empty(), "{published:?}");
}
