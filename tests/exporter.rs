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
    // Busy at every hour: a night's half hour has too few conversations to compare.
    let sim = simulator(SimulatorConfig {
        busy_all_day: true,
        ..SimulatorConfig::default()
    })
    .await;
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
    // However many queues, one poll of one query is one aggregates request: counted for
    // the interval exported, as a poll of the next one may come while the test runs.
    let start = metrics.value(
        "genesys_conversation_interval_start_timestamp_seconds",
        &[("query", "queues")],
    );
    assert_eq!(
        statuses_by_interval(&sim)[&(start as i64)],
        [200],
        "one query, polled once"
    );
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
    // A failed poll is repeated only at the next interval's poll, so that every
    // interval has one poll of each query.
    let exporter = ExporterRun::against(&sim)
        .config(dir.path(), config)
        .arg("--poll.retry-delay", "1h")
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
    // Not retried: the bad query's one request in each interval polled, beside the good
    // query's one.
    let by_interval = statuses_by_interval(&sim);
    assert!(!by_interval.is_empty());
    for (start, mut statuses) in by_interval {
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400], "interval starting {start}");
    }
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

/// Demo mode needs no credentials and serves simulated data; the page says so. (How
/// quickly the first values come is measured in BENCHMARKS.md, not here.)
#[tokio::test(flavor = "multi_thread")]
async fn demo_mode_serves_data_without_credentials() {
    let exporter = ExporterRun::demo().start();
    exporter.wait_ready().await;
    let metrics = exporter.scrape().await;
    let handled = metrics.find(
        "genesys_conversation_handle_seconds_count",
        &[("query", "queues")],
    );
    assert!(handled.iter().any(|s| s.value > 0.0), "{}", metrics.text);
    assert!(handled.iter().all(|s| !s.labels["queue_name"].is_empty()));
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
    let unzipped = String::from_utf8(one_gzip_member(&bytes)).unwrap();
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
    // Every entry's series (the demo runs queries and observation sets, published apart
    // and joined): the same families, headers and series in the same order in both
    // bodies (values aside: an observation set may refresh between the two scrapes).
    let series_shape = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.contains("genesys_") && !l.contains("genesys_exporter_"))
            .map(|l| {
                if l.starts_with('#') {
                    l.to_string()
                } else {
                    l.rsplit_once(' ')
                        .map_or(l, |(series, _)| series)
                        .to_string()
                }
            })
            .collect()
    };
    let shape = series_shape(&plain_text);
    assert_eq!(series_shape(&unzipped), shape);
    assert!(
        shape.iter().any(|l| l.starts_with("genesys_queue_")),
        "{plain_text}"
    );
    // A family is one block: its header once, its series right after it.
    let mut families_seen = std::collections::HashSet::new();
    let mut current = "";
    for line in &shape {
        if let Some(family) = line.strip_prefix("# TYPE ") {
            current = family.trim_end_matches(" gauge");
            assert!(families_seen.insert(current), "{current} written twice");
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap_or(line);
            assert_eq!(name, current, "{line} outside its family's block");
        }
    }

    let missing = http.get(exporter.url("/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let post = http.post(exporter.url("/metrics")).send().await.unwrap();
    assert_eq!(post.status(), 405);
}

/// A gzip body that must be one member, as curl's `--compressed` reads it: decoded by
/// a reader that stops at the first member's trailer (a buffered reader over the bytes
/// takes no more than it uses), nothing may follow that trailer, and the trailer's
/// CRC-32 and length are those of everything decoded.
fn one_gzip_member(body: &[u8]) -> Vec<u8> {
    let mut decoder = flate2::bufread::GzDecoder::new(body);
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut decoder, &mut text).unwrap();
    let after_trailer = decoder.into_inner();
    assert!(
        after_trailer.is_empty(),
        "{} bytes after the first member's trailer",
        after_trailer.len()
    );
    let trailer = &body[body.len() - 8..];
    assert_eq!(trailer[..4], crc32fast::hash(&text).to_le_bytes());
    assert_eq!(trailer[4..], (text.len() as u32).to_le_bytes());
    text
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

/// The statuses of the aggregates requests the simulator read, in order, by the start of
/// the interval they asked for (Unix seconds).
fn statuses_by_interval(
    sim: &genesys_cloud_exporter::simulator::Simulator,
) -> std::collections::BTreeMap<i64, Vec<u16>> {
    let mut by_interval = std::collections::BTreeMap::<i64, Vec<u16>>::new();
    for request in sim.requests() {
        let Some(interval) = request.query.and_then(|q| q.interval) else {
            continue;
        };
        let start = interval.split('/').next().unwrap_or_default();
        let start = chrono::DateTime::parse_from_rfc3339(start)
            .unwrap_or_else(|err| panic!("interval {interval:?}: {err}"));
        by_interval
            .entry(start.timestamp())
            .or_default()
            .push(request.status);
    }
    by_interval
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
    // For the interval exported: the filtered query's 3 requests and the other's 1
    // (counted per interval, as the next interval's poll may come meanwhile).
    let shown = metrics.value(start, &[("query", "filtered")]) as i64;
    assert_eq!(statuses_by_interval(&sim)[&shown], [200; 4]);

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
    // The failed poll is repeated only with the next interval's.
    let exporter = ExporterRun::against(&sim)
        .config(
            dir.path(),
            &format!("queries:\n{}", split_query("filtered", &ids)),
        )
        .arg("--poll.retry-delay", "1h")
        .start();
    exporter.wait_ready().await;
    let metrics = exporter.scrape().await;
    assert_eq!(
        metrics.value("genesys_exporter_query_up", &[("query", "filtered")]),
        0.0
    );
    assert_eq!(requests_per_poll(&metrics, "filtered"), 3.0);
    let by_interval = statuses_by_interval(&sim);
    let first = by_interval.keys().next().expect("no aggregates request");
    assert_eq!(
        by_interval[first],
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

/// The 25-hour day (Berlin leaves summer time on 25 October 2026) and the hour that
/// follows the changeover: the simulator's clock is set just after each, so the
/// exporter, which chooses intervals by the API's clock, polls exactly that interval.
/// The request names the query's time zone and the interval in UTC, and what is exported
/// is what the API answers for that same request.
#[tokio::test(flavor = "multi_thread")]
async fn a_berlin_query_across_the_dst_change_is_asked_and_exported_as_the_api_answers() {
    for (granularity, api_now, start, end) in [
        // Local midnight to midnight: 00:00 CEST to 00:00 CET, 25 hours.
        (
            "P1D",
            "2026-10-25T23:30:00Z",
            "2026-10-24T22:00:00.000Z",
            "2026-10-25T23:00:00.000Z",
        ),
        // The second 02:00-03:00 local hour, in CET, right after the clocks went back.
        (
            "PT1H",
            "2026-10-25T02:10:00Z",
            "2026-10-25T01:00:00.000Z",
            "2026-10-25T02:00:00.000Z",
        ),
    ] {
        let sim = simulator(SimulatorConfig {
            busy_all_day: true,
            ..SimulatorConfig::default()
        })
        .await;
        let api_now: chrono::DateTime<chrono::Utc> = api_now.parse().unwrap();
        sim.set_clock_skew(api_now - chrono::Utc::now());
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "queries:\n  - name: berlin\n    granularity: {granularity}\n    time_zone: Europe/Berlin\n    settle_delay: 5s\n    group_by: [queueId]\n    metrics: [nOffered, tHandle]\n"
        );
        let exporter = ExporterRun::against(&sim)
            .config(dir.path(), &config)
            .start();
        exporter.wait_ready().await;
        let metrics = exporter.scrape().await;

        let interval = format!("{start}/{end}");
        let sent: Vec<_> = sim.requests().into_iter().filter_map(|r| r.query).collect();
        assert_eq!(
            sent,
            [genesys_cloud_exporter::simulator::SentQuery {
                interval: Some(interval.clone()),
                granularity: Some(granularity.into()),
                time_zone: Some("Europe/Berlin".into()),
            }],
            "{granularity}: {}",
            exporter.logs()
        );
        let at = |name| metrics.value(name, &[("query", "berlin")]);
        let seconds = |text: &str| {
            text.parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap()
                .timestamp() as f64
        };
        assert_eq!(
            at("genesys_conversation_interval_start_timestamp_seconds"),
            seconds(start)
        );
        assert_eq!(
            at("genesys_conversation_interval_end_timestamp_seconds"),
            seconds(end)
        );

        let api = aggregates(
            &sim,
            &serde_json::json!({"interval": interval, "granularity": granularity,
                "timeZone": "Europe/Berlin", "groupBy": ["queueId"],
                "metrics": ["nOffered", "tHandle"]}),
        )
        .await;
        let names: HashMap<String, String> =
            sim.queues().into_iter().map(|q| (q.id, q.name)).collect();
        let results = api["results"].as_array().expect("busy all day");
        let mut compared = 0;
        for result in results {
            let queue = result["group"]["queueId"].as_str().unwrap();
            // One bucket, the whole local day or hour.
            let buckets = result["data"].as_array().unwrap();
            assert_eq!(buckets.len(), 1);
            assert_eq!(buckets[0]["interval"], interval.as_str());
            let labels = [
                ("query", "berlin"),
                ("interval", granularity),
                ("queue_id", queue),
                ("queue_name", names[queue].as_str()),
            ];
            for metric in buckets[0]["metrics"].as_array().unwrap() {
                let stats = &metric["stats"];
                match metric["metric"].as_str().unwrap() {
                    "nOffered" => assert_eq!(
                        metrics.value("genesys_conversation_offered", &labels),
                        stats["count"].as_f64().unwrap()
                    ),
                    "tHandle" => {
                        assert_eq!(
                            metrics.value("genesys_conversation_handle_seconds_count", &labels),
                            stats["count"].as_f64().unwrap()
                        );
                        let sum = metrics.value("genesys_conversation_handle_seconds_sum", &labels);
                        let want = stats["sum"].as_f64().unwrap() / 1000.0;
                        assert!((sum - want).abs() < 1e-9, "{sum} vs {want}");
                    }
                    other => panic!("unasked metric {other}"),
                }
                compared += 1;
            }
        }
        assert!(
            compared >= 8,
            "{granularity}: only {compared} stats compared"
        );
    }
}
