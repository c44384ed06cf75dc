//! Queue observations end to end: the binary observes the simulator's queues and serves
//! `genesys_queue_*` gauges equal to what the API answers.

mod common;

use std::collections::HashMap;

use common::{ExporterRun, observations, simulator};
use genesys_cloud_exporter::simulator::{Fault, Simulator, SimulatorConfig};
use serde_json::{Value, json};

/// A busy weekday morning, in the past: with the simulator's clock stopped there, every
/// answer is the same and the test can ask what the exporter asked.
const FROZEN_AT: &str = "2026-11-24T10:30:00Z";

const LIVE: &str = r#"
observations:
  - name: live
    refresh: 10s
    metrics: [oWaiting, oInteracting, oAlerting, oOnQueueUsers, oOffQueueUsers,
              oMemberUsers, oActiveUsers, oUserRoutingStatuses, oUserPresences]
    detail_metrics: [oWaiting]
    max_queues_per_request: 3
    presence_ids: true
"#;

async fn observe_directly(sim: &Simulator, queues: &[String]) -> Value {
    let predicates: Vec<Value> = queues
        .iter()
        .map(|id| json!({"type": "dimension", "dimension": "queueId", "operator": "matches", "value": id}))
        .collect();
    let body = json!({
        "filter": {"type": "or", "predicates": predicates},
        "metrics": ["oWaiting", "oInteracting", "oAlerting", "oOnQueueUsers", "oOffQueueUsers",
                    "oMemberUsers", "oActiveUsers", "oUserRoutingStatuses", "oUserPresences"],
        "detailMetrics": ["oWaiting"],
    });
    observations(sim, &body).await
}

/// The headline promise: every gauge is the API's stat for the same request.
#[tokio::test(flavor = "multi_thread")]
async fn observation_gauges_equal_the_simulators_answer_stat_by_stat() {
    let sim = simulator(SimulatorConfig::default()).await;
    let frozen: chrono::DateTime<chrono::Utc> = FROZEN_AT.parse().unwrap();
    sim.freeze_clock(frozen);
    let dir = tempfile::tempdir().unwrap();
    let exporter = ExporterRun::against(&sim).config(dir.path(), LIVE).start();
    exporter.wait_ready().await;
    let metrics = exporter
        .scrape_until(|m| {
            !m.find("genesys_queue_member_users", &[("query", "live")])
                .is_empty()
        })
        .await;

    let queues: Vec<String> = sim.queues().into_iter().map(|q| q.id).collect();
    let names: HashMap<String, String> = sim.queues().into_iter().map(|q| (q.id, q.name)).collect();
    let api = observe_directly(&sim, &queues).await;
    let presences: HashMap<String, String> = api["systemToOrganizationMappings"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(system, ids)| (ids[0].as_str().unwrap().to_string(), system.clone()))
        .collect();
    let mut compared = 0;
    for result in api["results"].as_array().unwrap() {
        let queue = result["group"]["queueId"].as_str().unwrap();
        let base = [
            ("query", "live"),
            ("queue_id", queue),
            ("queue_name", names[queue].as_str()),
        ];
        for entry in result["data"].as_array().unwrap() {
            let count = entry["stats"]["count"].as_f64().unwrap();
            let metric = entry["metric"].as_str().unwrap();
            let mut labels: Vec<(&str, &str)> = base.to_vec();
            if let Some(media) = result["group"]["mediaType"].as_str() {
                labels.push(("media_type", media));
            }
            let qualifier = entry["qualifier"].as_str();
            let family = match metric {
                "oWaiting" => "genesys_queue_waiting",
                "oInteracting" => "genesys_queue_interacting",
                "oAlerting" => "genesys_queue_alerting",
                "oOnQueueUsers" => "genesys_queue_on_queue_users",
                "oOffQueueUsers" => "genesys_queue_off_queue_users",
                "oMemberUsers" => "genesys_queue_member_users",
                "oActiveUsers" => "genesys_queue_active_users",
                "oUserRoutingStatuses" => "genesys_queue_user_routing_statuses",
                "oUserPresences" => "genesys_queue_user_presences",
                other => panic!("unexpected metric {other}"),
            };
            match (metric, qualifier) {
                ("oUserPresences", Some(id)) => {
                    labels.push(("presence_id", id));
                    labels.push(("system_presence", presences[id].as_str()));
                }
                (_, Some(status)) => labels.push(("routing_status", status)),
                _ => {}
            }
            assert_eq!(metrics.value(family, &labels), count, "{family}{labels:?}");
            compared += 1;
            if metric == "oWaiting" {
                let earliest = entry["observations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| {
                        o["observationDate"]
                            .as_str()
                            .unwrap()
                            .parse::<chrono::DateTime<chrono::Utc>>()
                            .unwrap()
                    })
                    .min()
                    .unwrap();
                let expected = (frozen - earliest).num_milliseconds() as f64 / 1000.0;
                let oldest = metrics.value("genesys_queue_oldest_waiting_seconds", &labels);
                // Genesys' clock as the exporter reads it: the frozen `Date` plus the
                // time since that answer, within a few seconds.
                assert!((oldest - expected).abs() < 5.0, "{oldest} vs {expected}");
            }
        }
    }
    assert!(compared > 50, "only {compared} stats compared");
    // Zero-fill: a queue and media type with nobody waiting reads 0.
    let zeros = metrics
        .find("genesys_queue_waiting", &[("query", "live")])
        .iter()
        .filter(|s| s.value == 0.0)
        .count();
    assert!(zeros > 0);
    let observed = metrics.value(
        "genesys_queue_observation_timestamp_seconds",
        &[("query", "live")],
    );
    assert!(
        (observed - frozen.timestamp() as f64).abs() < 5.0,
        "{observed}"
    );
    assert_eq!(
        metrics.value("genesys_exporter_query_up", &[("query", "live")]),
        1.0
    );
    // Eight queues at three a request.
    assert_eq!(
        metrics.value(
            "genesys_exporter_query_requests_per_poll",
            &[("query", "live")]
        ),
        3.0
    );
    assert!(!metrics.text.contains("conversation_id"));
    let landing = reqwest::get(exporter.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        landing.contains("live") && landing.contains("observations every 10s"),
        "{landing}"
    );
}

/// An observation set refused with a 400 is down; queries keep their data.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_observation_is_down_and_the_query_stays_up() {
    let sim = simulator(SimulatorConfig::default()).await;
    sim.inject_fault(Fault {
        path_prefix: "/api/v2/analytics/queues/observations".into(),
        status: 400,
        retry_after: None,
        count: 1000,
    });
    let dir = tempfile::tempdir().unwrap();
    let config = r#"
queries:
  - {name: queues, granularity: PT30M, settle_delay: 5s, group_by: [queueId], metrics: [nOffered]}
observations:
  - {name: live, metrics: [oWaiting]}
"#;
    let exporter = ExporterRun::against(&sim)
        .config(dir.path(), config)
        .start();
    exporter.wait_ready().await;
    let metrics = exporter.scrape().await;
    assert_eq!(
        metrics.value("genesys_exporter_query_up", &[("query", "queues")]),
        1.0
    );
    assert_eq!(
        metrics.value("genesys_exporter_query_up", &[("query", "live")]),
        0.0
    );
    assert!(metrics.find("genesys_queue_waiting", &[]).is_empty());
    assert!(exporter.logs().contains("observation refresh failed"));
    // One refused request, not retried.
    let refused = sim
        .requests()
        .iter()
        .filter(|r| r.path.contains("observations") && r.status == 400)
        .count();
    assert_eq!(refused, 1);
}

/// 1,000 queues observed every 15 s need 40 requests a minute; with a budget of 30 the
/// plan stretches the refresh, says so, and no 60 s window holds more than 30 requests.
#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_queues_every_15s_stretch_to_fit_a_budget_of_30() {
    let sim = simulator(SimulatorConfig {
        queue_count: 1000,
        ..SimulatorConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config =
        "observations:\n  - {name: live, refresh: 15s, metrics: [oWaiting, oMemberUsers]}\n";
    let exporter = ExporterRun::against(&sim)
        .config(dir.path(), config)
        .arg("--genesys.requests-per-minute", "30")
        .start();
    let metrics = exporter
        .scrape_until(|m| {
            m.find(
                "genesys_exporter_query_effective_refresh_seconds",
                &[("query", "live")],
            )
            .first()
            .is_some_and(|s| s.value > 15.0)
        })
        .await;
    // 10 requests a refresh into 30 - 0.2 (two pages of names every 10 min) a minute.
    assert_eq!(
        metrics.value(
            "genesys_exporter_query_effective_refresh_seconds",
            &[("query", "live")]
        ),
        21.0
    );
    let planned = metrics.value(
        "genesys_exporter_planned_requests_per_minute",
        &[("query", "live")],
    );
    assert!(planned <= 30.0 && planned > 25.0, "{planned}");
    assert!(
        exporter
            .logs()
            .contains("observations stretched to fit the API budget")
    );
    // Wait for more requests than one window may hold, then check every window.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    let api = |sim: &Simulator| -> Vec<std::time::Instant> {
        sim.requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/api/"))
            .map(|r| r.at)
            .collect()
    };
    while api(&sim).len() < 40 {
        assert!(
            std::time::Instant::now() < deadline,
            "too few requests: {}",
            api(&sim).len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let times = api(&sim);
    for (i, start) in times.iter().enumerate() {
        let in_window = times[i..]
            .iter()
            .take_while(|t| t.duration_since(*start) < std::time::Duration::from_secs(60))
            .count();
        assert!(
            in_window <= 30,
            "{in_window} requests in the 60 s from request {i}"
        );
    }
    assert!(sim.requests().iter().all(|r| r.status != 429));
}

/// `--config.check` needs no credentials or network: it prints the static plan and
/// exits 0, or 2 with the error start-up would give.
#[test]
fn config_check_prints_the_static_plan_or_the_reason_it_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let (status, text) = common::config_check(
        dir.path(),
        "queries:\n  - {name: q, granularity: PT30M, refresh: 1m, metrics: [nOffered]}\nobservations:\n  - {name: live, metrics: [oWaiting]}\n",
        &["--genesys.requests-per-minute", "300"],
    );
    assert_eq!(status, 0, "{text}");
    assert!(text.contains("config OK"), "{text}");
    assert!(
        text.contains("live") && text.contains("priced per 100 queues"),
        "{text}"
    );
    let (status, text) = common::config_check(
        dir.path(),
        "queries:\n  - {name: q, granularity: PT30M, refresh: 10s, metrics: [nOffered]}\n",
        &["--genesys.requests-per-minute", "5"],
    );
    assert_eq!(status, 2, "{text}");
    assert!(
        text.contains("over the --genesys.requests-per-minute budget of 5"),
        "{text}"
    );
    let (status, text) = common::config_check(
        dir.path(),
        "observations:\n  - {name: live, metrics: [nOffered]}\n",
        &["--genesys.requests-per-minute", "300"],
    );
    assert_eq!(status, 2, "{text}");
    assert!(text.contains("conversation aggregates metric"), "{text}");
}

/// `period: current` is the day so far: its values are the aggregates from the start of
/// the day to the moment the poll says its data reaches, for the same request.
#[tokio::test(flavor = "multi_thread")]
async fn the_day_so_far_equals_the_aggregates_from_midnight_to_now() {
    let sim = simulator(SimulatorConfig::default()).await;
    let frozen: chrono::DateTime<chrono::Utc> = FROZEN_AT.parse().unwrap();
    sim.freeze_clock(frozen);
    let dir = tempfile::tempdir().unwrap();
    let config = "queries:\n  - {name: today, granularity: P1D, time_zone: Europe/London, period: current, refresh: 10s, group_by: [queueId, mediaType], metrics: [nOffered, tHandle]}\n";
    let exporter = ExporterRun::against(&sim)
        .config(dir.path(), config)
        .start();
    exporter.wait_ready().await;
    let metrics = exporter
        .scrape_until(|m| {
            !m.find(
                "genesys_conversation_data_until_timestamp_seconds",
                &[("query", "today")],
            )
            .is_empty()
        })
        .await;
    let labels = [("query", "today"), ("interval", "P1D")];
    let start = metrics.value(
        "genesys_conversation_interval_start_timestamp_seconds",
        &labels,
    );
    let until = metrics.value("genesys_conversation_data_until_timestamp_seconds", &labels);
    // London midnight on 24 November is 00:00 UTC (GMT); the data reach Genesys' now.
    assert_eq!(
        start,
        "2026-11-24T00:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
            .timestamp() as f64
    );
    assert!((until - frozen.timestamp() as f64).abs() < 5.0, "{until}");
    let until = chrono::DateTime::from_timestamp_millis((until * 1000.0).round() as i64).unwrap();
    let api = common::aggregates(
        &sim,
        &json!({"interval": format!("2026-11-24T00:00:00.000Z/{}", until.format("%Y-%m-%dT%H:%M:%S%.3fZ")),
                "timeZone": "Europe/London", "groupBy": ["queueId", "mediaType"], "metrics": ["nOffered", "tHandle"]}),
    )
    .await;
    let mut compared = 0;
    for result in api["results"].as_array().expect("traffic since midnight") {
        let queue = result["group"]["queueId"].as_str().unwrap();
        let media = result["group"]["mediaType"].as_str().unwrap();
        let group = [
            ("query", "today"),
            ("queue_id", queue),
            ("media_type", media),
        ];
        for metric in result["data"][0]["metrics"].as_array().unwrap() {
            let stats = &metric["stats"];
            match metric["metric"].as_str().unwrap() {
                "nOffered" => assert_eq!(
                    metrics.value("genesys_conversation_offered", &group),
                    stats["count"].as_f64().unwrap()
                ),
                "tHandle" => assert_eq!(
                    metrics.value("genesys_conversation_handle_seconds_count", &group),
                    stats["count"].as_f64().unwrap()
                ),
                _ => continue,
            }
            compared += 1;
        }
    }
    assert!(compared > 10, "only {compared} compared");
}

/// A set of listed queues beside a set of every queue: each is priced at its own size,
/// and the plan is made (and logged) again only when the org's queue count changes, not
/// on every refresh of one set or the other.
#[tokio::test(flavor = "multi_thread")]
async fn a_set_of_listed_queues_beside_all_queues_leaves_the_plan_alone() {
    let sim = simulator(SimulatorConfig::default()).await;
    let queues: Vec<String> = sim.queues().into_iter().map(|q| q.id).collect();
    assert!(queues.len() > 2, "{queues:?}");
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "observations:\n  - {{name: listed, refresh: 10s, queues: [{}, {}], metrics: [oWaiting]}}\n  \
         - {{name: every, refresh: 10s, metrics: [oWaiting]}}\n",
        queues[0], queues[1]
    );
    let exporter = ExporterRun::against(&sim)
        .config(dir.path(), &config)
        .start();
    // Three refreshes of each set (one request each).
    let observed = || {
        sim.requests()
            .iter()
            .filter(|r| r.path.contains("observations") && r.status == 200)
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while observed() < 6 {
        assert!(
            std::time::Instant::now() < deadline,
            "too few refreshes; logs:\n{}",
            exporter.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let logs = exporter.logs();
    // The static plan, then the one for the org's queues: no plan for two queues.
    assert_eq!(logs.matches("request plan").count(), 2, "{logs}");
    let org = format!("requests a minute ({} queues)", queues.len());
    assert_eq!(logs.matches(&org).count(), 1, "{logs}");
    let metrics = exporter.scrape().await;
    let planned = |query: &str| {
        metrics.value(
            "genesys_exporter_planned_requests_per_minute",
            &[("query", query)],
        )
    };
    // One request every 10 s each.
    assert_eq!(planned("listed"), 6.0);
    assert_eq!(planned("every"), 6.0);
}
