//! Pushed queue observations end to end (docs/push.md): the binary subscribes to the
//! simulator's Notifications API over real HTTP and a real WebSocket on loopback, and its
//! `genesys_queue_*` gauges follow the simulator's world, after every fault the
//! simulator can inject, with no scrape failing.
//!
//! The simulator's clock is frozen and moved by the test: at each new instant the values
//! of the REST query change, and the test waits until `/metrics` shows the new ones. The
//! reconcile period is long where only push can bring them, and short where a fault
//! drops events, which only the reconcile poll can repair.

mod common;

use std::time::Duration;

use common::{Exporter, ExporterRun, Metrics, config_check, observations, simulator};
use genesys_cloud_exporter::simulator::{Simulator, SimulatorConfig};
use serde_json::{Value, json};

/// Busy weekday minutes, in the past, a minute apart: the counts differ between them.
const INSTANTS: [&str; 8] = [
    "2026-11-24T10:30:00Z",
    "2026-11-24T10:31:00Z",
    "2026-11-24T10:32:00Z",
    "2026-11-24T10:33:00Z",
    "2026-11-24T10:34:00Z",
    "2026-11-24T10:35:00Z",
    "2026-11-24T10:36:00Z",
    "2026-11-24T10:37:00Z",
];

const METRICS: [&str; 4] = ["oWaiting", "oInteracting", "oOnQueueUsers", "oMemberUsers"];

fn config(transport: &str, reconcile: &str) -> String {
    format!(
        "observations:\n  - name: live\n    refresh: 10s\n    metrics: [{}]\n    transport: {transport}\n    reconcile: {reconcile}\n",
        METRICS.join(", ")
    )
}

async fn push_simulator() -> Simulator {
    let sim = simulator(SimulatorConfig {
        heartbeat_interval: Duration::from_millis(500),
        push_period: Duration::from_millis(200),
        ..SimulatorConfig::default()
    })
    .await;
    sim.freeze_clock(INSTANTS[0].parse().unwrap());
    sim
}

fn start(sim: &Simulator, yaml: &str, dir: &tempfile::TempDir) -> Exporter {
    ExporterRun::against(sim)
        .arg("--push.heartbeat-interval", "500ms")
        .arg("--push.heartbeat-misses", "3")
        .arg("--poll.retry-delay", "1s")
        .config(dir.path(), yaml)
        .start()
}

/// One series: family, labels, value.
type Series = (String, Vec<(String, String)>, f64);

/// The series the REST query gives now.
async fn expected(sim: &Simulator) -> Vec<Series> {
    let queues: Vec<String> = sim.queues().into_iter().map(|q| q.id).collect();
    let predicates: Vec<Value> = queues
        .iter()
        .map(|id| json!({"type": "dimension", "dimension": "queueId", "operator": "matches", "value": id}))
        .collect();
    let api = observations(
        sim,
        &json!({"filter": {"type": "or", "predicates": predicates}, "metrics": METRICS}),
    )
    .await;
    let mut series = Vec::new();
    for result in api["results"].as_array().expect("results") {
        let queue = result["group"]["queueId"].as_str().expect("queue");
        for entry in result["data"].as_array().expect("data") {
            let family = match entry["metric"].as_str().expect("metric") {
                "oWaiting" => "genesys_queue_waiting",
                "oInteracting" => "genesys_queue_interacting",
                "oOnQueueUsers" => "genesys_queue_on_queue_users",
                "oMemberUsers" => "genesys_queue_member_users",
                other => panic!("unexpected metric {other}"),
            };
            let mut labels = vec![
                ("query".to_string(), "live".to_string()),
                ("queue_id".to_string(), queue.to_string()),
            ];
            if let Some(media) = result["group"]["mediaType"].as_str() {
                labels.push(("media_type".into(), media.into()));
            }
            if let Some(status) = entry["qualifier"].as_str() {
                labels.push(("routing_status".into(), status.into()));
            }
            let count = entry["stats"]["count"].as_f64().expect("count");
            series.push((family.to_string(), labels, count));
        }
    }
    assert!(series.len() > 20, "too few series to compare: {series:?}");
    series
}

/// Whether every expected series reads its value on `/metrics`.
fn shows(metrics: &Metrics, expected: &[Series]) -> bool {
    expected.iter().all(|(family, labels, value)| {
        let labels: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let found = metrics.find(family, &labels);
        found.len() == 1 && found[0].value == *value
    })
}

/// A scrape that must succeed.
async fn scrape(exporter: &Exporter) -> Metrics {
    let response = reqwest::get(exporter.url("/metrics"))
        .await
        .expect("scrape answered");
    assert_eq!(response.status(), 200, "a scrape failed");
    Metrics::parse(&response.text().await.expect("body"))
}

/// Scrapes (each must succeed) until `/metrics` shows what the simulator's REST query
/// answers now; the deadline only stops a broken run from hanging.
async fn converges(exporter: &Exporter, sim: &Simulator, what: &str) -> Metrics {
    let expected = expected(sim).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let metrics = scrape(exporter).await;
        if shows(&metrics, &expected) {
            return metrics;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: /metrics never showed the simulator's values; logs:\n{}",
            exporter.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn value(metrics: &Metrics, name: &str, labels: &[(&str, &str)]) -> f64 {
    metrics.find(name, labels).iter().map(|s| s.value).sum()
}

/// The headline: with a reconcile far away, new values reach `/metrics` by push alone,
/// equal to the REST query's, with the self-metrics saying so.
#[tokio::test(flavor = "multi_thread")]
async fn pushed_values_equal_the_rest_querys() {
    let sim = push_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let exporter = start(&sim, &config("push", "1h"), &dir);
    exporter.wait_ready().await;
    converges(&exporter, &sim, "seed").await;
    exporter
        .scrape_until(|m| value(m, "genesys_exporter_push_up", &[("query", "live")]) == 1.0)
        .await;
    for instant in &INSTANTS[1..3] {
        converges_by_push(&exporter, &sim, instant, instant).await;
    }
    let metrics = scrape(&exporter).await;
    assert!(value(&metrics, "genesys_exporter_push_channels", &[]) >= 1.0);
    assert!(
        value(
            &metrics,
            "genesys_exporter_push_events_total",
            &[("kind", "queue_observations")]
        ) > 0.0
    );
    assert!(
        value(
            &metrics,
            "genesys_exporter_push_topics",
            &[("state", "permitted")]
        ) > 0.0
    );
    assert!(
        value(
            &metrics,
            "genesys_exporter_api_requests_total",
            &[("endpoint", "notification_channels")]
        ) >= 1.0
    );
    let page = exporter.page("/").await;
    assert!(page.contains("Push (Notifications API)"), "{page}");
    assert!(page.contains("observations pushed"), "{page}");
}

fn polls(metrics: &Metrics) -> f64 {
    value(
        metrics,
        "genesys_exporter_api_requests_total",
        &[("endpoint", "observations")],
    )
}

/// Waits until the set has reconnected since `polls` observations requests were made:
/// a seed read was made after them (every connect seeds) and the pushed state is trusted
/// again. A runner that never reconnects never seeds, and this fails.
async fn reconnected(exporter: &Exporter, polls_before: f64) {
    exporter
        .scrape_until(|m| {
            polls(m) > polls_before
                && value(m, "genesys_exporter_push_up", &[("query", "live")]) == 1.0
        })
        .await;
}

/// Moves the simulator's clock to `instant` and requires `/metrics` to show the new
/// values with no REST read made meanwhile: they came by push.
async fn converges_by_push(exporter: &Exporter, sim: &Simulator, instant: &str, what: &str) {
    let before = polls(&scrape(exporter).await);
    sim.freeze_clock(instant.parse().unwrap());
    let metrics = converges(exporter, sim, what).await;
    assert_eq!(
        polls(&metrics),
        before,
        "{what}: a REST read brought the values, not push: {}",
        metrics.text
    );
}

/// After every fault the runner reconnects, seeds, and new values come by push again:
/// the reconcile is an hour away, so only a working reconnect can bring them. No scrape
/// fails meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn push_resumes_after_every_fault() {
    let sim = push_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let exporter = start(&sim, &config("push", "1h"), &dir);
    exporter.wait_ready().await;
    converges(&exporter, &sim, "seed").await;
    reconnected(&exporter, 0.0).await;
    let notifications = sim.notifications();
    let mut instants = INSTANTS[1..].iter();

    let before = polls(&scrape(&exporter).await);
    notifications.close_sockets();
    reconnected(&exporter, before).await;
    converges_by_push(&exporter, &sim, instants.next().unwrap(), "close_sockets").await;

    let before = polls(&scrape(&exporter).await);
    notifications.socket_closing(Duration::from_millis(500));
    reconnected(&exporter, before).await;
    converges_by_push(&exporter, &sim, instants.next().unwrap(), "socket_closing").await;

    let before = polls(&scrape(&exporter).await);
    notifications.expire_channels();
    reconnected(&exporter, before).await;
    converges_by_push(&exporter, &sim, instants.next().unwrap(), "expire_channels").await;

    let before = polls(&scrape(&exporter).await);
    notifications.stop_heartbeats(true);
    exporter.wait_for_log("reason=heartbeat_missed").await;
    notifications.stop_heartbeats(false);
    reconnected(&exporter, before).await;
    converges_by_push(&exporter, &sim, instants.next().unwrap(), "stop_heartbeats").await;

    // The channel loses its subscriptions: a new one is subscribed before it goes.
    let before = polls(&scrape(&exporter).await);
    notifications.no_longer_subscribed();
    reconnected(&exporter, before).await;
    converges_by_push(
        &exporter,
        &sim,
        instants.next().unwrap(),
        "no_longer_subscribed",
    )
    .await;

    // Genesys documents no close codes: any is a lost socket, reopened.
    let before = polls(&scrape(&exporter).await);
    notifications.close_sockets_with(4000);
    reconnected(&exporter, before).await;
    converges_by_push(&exporter, &sim, instants.next().unwrap(), "close code 4000").await;

    let metrics = scrape(&exporter).await;
    assert_eq!(
        notifications.evicted_connected(),
        0,
        "a channel in use was evicted"
    );
    for reason in [
        "closed",
        "socket_closing",
        "heartbeat_missed",
        "no_longer_subscribed",
    ] {
        assert!(
            value(
                &metrics,
                "genesys_exporter_push_reconnects_total",
                &[("reason", reason)]
            ) > 0.0,
            "{reason}: {}",
            metrics.text
        );
    }
}

/// Events lost on the way are not replayed: the reconcile poll finds the differences,
/// counts them and puts the values right.
#[tokio::test(flavor = "multi_thread")]
async fn the_reconcile_repairs_dropped_events() {
    let sim = push_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let exporter = start(&sim, &config("push", "10s"), &dir);
    exporter.wait_ready().await;
    converges(&exporter, &sim, "seed").await;
    let differences = |metrics: &Metrics| {
        value(
            metrics,
            "genesys_exporter_push_reconcile_differences_total",
            &[("query", "live")],
        )
    };
    let before = differences(&scrape(&exporter).await);
    sim.notifications().drop_events_for(Duration::from_secs(60));
    sim.freeze_clock(INSTANTS[1].parse().unwrap());
    let metrics = converges(&exporter, &sim, "drop_events_for").await;
    assert!(
        differences(&metrics) > before,
        "the reconcile poll found no difference: {}",
        metrics.text
    );
}

/// A topic Genesys rejects is counted and logged once with the permission to grant;
/// the set's values still come, by REST.
#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_topic_is_counted_and_logged() {
    let sim = push_simulator().await;
    sim.notifications()
        .reject_topics("v2.analytics.queues.", "analytics:queueObservation:view");
    let dir = tempfile::tempdir().unwrap();
    let exporter = start(&sim, &config("auto", "1h"), &dir);
    exporter.wait_ready().await;
    let metrics = exporter
        .scrape_until(|m| value(m, "genesys_exporter_push_topics", &[("state", "rejected")]) > 0.0)
        .await;
    assert_eq!(
        value(
            &metrics,
            "genesys_exporter_push_topics",
            &[("state", "permitted")]
        ),
        0.0
    );
    exporter
        .wait_for_log("analytics:queueObservation:view")
        .await;
    converges(&exporter, &sim, "rejected topics, polled").await;
    let logs = exporter.logs();
    let topic = sim.queues()[0].id.clone();
    assert_eq!(
        logs.lines()
            .filter(|l| l.contains("rejected a push topic") && l.contains(&topic))
            .count(),
        1,
        "{logs}"
    );
}

/// A reload that makes a pushed set polled removes its push series and its line on the
/// landing page: it no longer passes for pushed.
#[tokio::test(flavor = "multi_thread")]
async fn a_set_reloaded_to_poll_is_no_longer_pushed() {
    let sim = push_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let mut run = ExporterRun::against(&sim)
        .arg("--push.heartbeat-interval", "500ms")
        .config(dir.path(), &config("push", "1h"));
    run.args.push("--web.enable-lifecycle".into());
    let exporter = run.start();
    exporter.wait_ready().await;
    reconnected(&exporter, 0.0).await;
    let polled = format!(
        "observations:\n  - name: live\n    refresh: 10s\n    metrics: [{}]\n",
        METRICS.join(", ")
    );
    std::fs::write(dir.path().join("config.yaml"), polled).unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let response = client
        .post(exporter.url("/-/reload"))
        .send()
        .await
        .expect("an answer to /-/reload");
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    exporter
        .scrape_until(|m| {
            m.find("genesys_exporter_push_up", &[("query", "live")])
                .is_empty()
        })
        .await;
    let page = exporter.page("/").await;
    assert!(!page.contains("Push (Notifications API)"), "{page}");
    converges(&exporter, &sim, "polled").await;
}

/// An event whose body is not the documented one is skipped and counted once, as
/// `malformed`, not also under its topic's kind.
#[tokio::test(flavor = "multi_thread")]
async fn a_bad_event_body_is_counted_once() {
    let sim = push_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let exporter = start(&sim, &config("push", "1h"), &dir);
    exporter.wait_ready().await;
    reconnected(&exporter, 0.0).await;
    // The clock is frozen, so the simulator sends no events of its own now.
    let kind = |metrics: &Metrics, kind: &str| {
        value(
            metrics,
            "genesys_exporter_push_events_total",
            &[("kind", kind)],
        )
    };
    let before = scrape(&exporter).await;
    let topic = format!("v2.analytics.queues.{}.observations", sim.queues()[0].id);
    sim.notifications()
        .send_event(&topic, json!({"group": "not an object", "data": 1}));
    let after = exporter
        .scrape_until(|m| kind(m, "malformed") > kind(&before, "malformed"))
        .await;
    assert_eq!(kind(&after, "malformed"), kind(&before, "malformed") + 1.0);
    assert_eq!(
        kind(&after, "queue_observations"),
        kind(&before, "queue_observations"),
        "{}",
        after.text
    );
}

/// Two sets over `queues: all` at 1,001 queues need 2 channels each; with a budget of 4
/// (3 for the sets, 1 the handover spare) and the simulator's client allowed 4, the
/// second set to connect gets 1: it logs an error and is polled, and nothing is
/// evicted. Then every channel is told it is no longer subscribed: the handovers take
/// the spare one at a time, and the simulator never removes a connected channel.
#[tokio::test(flavor = "multi_thread")]
async fn pushed_sets_share_one_channel_budget() {
    let (sim, exporter, _dir) = two_sets_over_all("4").await;
    let notifications = sim.notifications();
    let settled = exporter
        .scrape_until(|m| {
            value(m, "genesys_exporter_push_channel_slots", &[]) == 3.0
                && value(m, "genesys_exporter_push_channels", &[]) == 3.0
        })
        .await;
    assert_eq!(
        value(&settled, "genesys_exporter_push_channel_limit", &[]),
        4.0
    );
    exporter
        .wait_for_log("need more notification channels than the budget has")
        .await;
    let up = |m: &Metrics, set: &str| value(m, "genesys_exporter_push_up", &[("query", set)]);
    let settled = exporter
        .scrape_until(|m| up(m, "a") + up(m, "b") == 1.0)
        .await;
    assert_eq!(notifications.channels_open(), 3);

    let handovers = |m: &Metrics| {
        value(
            m,
            "genesys_exporter_push_reconnects_total",
            &[("reason", "no_longer_subscribed")],
        )
    };
    let before = handovers(&settled);
    notifications.no_longer_subscribed();
    exporter
        .scrape_until(|m| {
            handovers(m) >= before + 3.0
                && value(m, "genesys_exporter_push_channel_slots", &[]) == 3.0
                && value(m, "genesys_exporter_push_channels", &[]) == 3.0
                && up(m, "a") + up(m, "b") == 1.0
        })
        .await;
    assert_eq!(notifications.channels_open(), 3);
    assert_eq!(
        notifications.evicted_connected(),
        0,
        "a channel in use was evicted; logs:\n{}",
        exporter.logs()
    );
}

/// The control of the test above: an exporter told it may hold more channels than the
/// client has (5 against 4) does make the simulator evict a connected channel at the
/// first handover, so `evicted_connected` catches an eviction of ours.
#[tokio::test(flavor = "multi_thread")]
async fn a_budget_past_the_clients_limit_evicts_a_channel_in_use() {
    let (sim, exporter, _dir) = two_sets_over_all("5").await;
    let notifications = sim.notifications();
    exporter
        .scrape_until(|m| value(m, "genesys_exporter_push_channels", &[]) == 4.0)
        .await;
    notifications.no_longer_subscribed();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while notifications.evicted_connected() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no eviction; logs:\n{}",
            exporter.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The simulator at 1,001 queues, its client allowed 4 channels, and the exporter with
/// `--push.max-channels max_channels` pushing two sets over `queues: all`.
async fn two_sets_over_all(max_channels: &str) -> (Simulator, Exporter, tempfile::TempDir) {
    let sim = simulator(SimulatorConfig {
        heartbeat_interval: Duration::from_millis(500),
        push_period: Duration::from_millis(200),
        queue_count: 1_001,
        ..SimulatorConfig::default()
    })
    .await;
    sim.freeze_clock(INSTANTS[0].parse().unwrap());
    sim.notifications().limit_channels(4);
    let dir = tempfile::tempdir().unwrap();
    let yaml = "observations:\n  - {name: a, metrics: [oWaiting], transport: push, reconcile: 1h}\n  - {name: b, metrics: [oWaiting], transport: push, reconcile: 1h}\n";
    let exporter = ExporterRun::against(&sim)
        .arg("--push.heartbeat-interval", "500ms")
        .arg("--push.max-channels", max_channels)
        .arg("--genesys.requests-per-minute", "3000")
        .arg("--poll.retry-delay", "1s")
        .config(dir.path(), yaml)
        .start();
    exporter.wait_ready().await;
    (sim, exporter, dir)
}

/// `--push.max-channels` lowers the budget start-up checks the pushed sets against
/// (less the handover spare); the error names every pushed set and what it needs.
#[test]
fn start_up_refuses_pushed_sets_past_the_channel_budget() {
    let ids = |n: usize, from: usize| {
        (from..from + n)
            .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let yaml = format!(
        "observations:\n  - {{name: a, metrics: [oWaiting], transport: push, queues: [{}]}}\n  - {{name: b, metrics: [oWaiting], transport: auto, queues: [{}]}}\n",
        ids(1_001, 0),
        ids(10, 1_001)
    );
    let dir = tempfile::tempdir().unwrap();
    let (status, text) = config_check(dir.path(), &yaml, &["--push.max-channels", "3"]);
    assert_eq!(status, 2, "{text}");
    assert!(
        text.contains("need 3 notification channels together")
            && text.contains("more than the 2 they may hold"),
        "{text}"
    );
    let (status, text) = config_check(dir.path(), &yaml, &["--push.max-channels", "4"]);
    assert_eq!(status, 0, "{text}");
}
