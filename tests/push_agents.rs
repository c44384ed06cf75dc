//! Pushed agent activity end to end (docs/push.md, "Agents"): the binary reads the
//! simulator's users listing with their state, subscribes every agent's
//! `v2.users.{id}.activity` over real HTTP and a real WebSocket on loopback, and its
//! `genesys_agents_*` counts equal what the simulator's agent state counts answer at
//! the same instant: the series a polled agents set exports.
//!
//! The simulator's clock is frozen and moved by the test a minute at a time, which
//! changes agents' routing statuses; the test waits until `/metrics` shows the new
//! counts. With `per_queue`, the counts per queue equal what the simulator's own
//! members endpoint and users listing say of each queue's joined members.

mod common;

use std::time::Duration;

use common::{Exporter, ExporterRun, Metrics, config_check, simulator, token};
use genesys_cloud_exporter::genesys::agents::{ROUTING_STATUSES, SYSTEM_PRESENCES};
use genesys_cloud_exporter::simulator::{
    FaultKind, FaultRule, Simulator, SimulatorConfig, Trigger,
};
use serde_json::{Value, json};

/// Busy weekday minutes, in the past, a minute apart: routing statuses differ between
/// them.
const INSTANTS: [&str; 4] = [
    "2026-11-24T10:30:00Z",
    "2026-11-24T10:31:00Z",
    "2026-11-24T10:32:00Z",
    "2026-11-24T10:33:00Z",
];

fn config(reconcile: &str, extra: &str) -> String {
    format!(
        "observations:\n  - name: agents\n    source: agents\n    refresh: 10s\n    transport: push\n    reconcile: {reconcile}\n{extra}"
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

/// The exporter started on `yaml`, once ready and its pushed state trusted.
async fn pushing(sim: &Simulator, yaml: &str, dir: &tempfile::TempDir) -> Exporter {
    let exporter = start(sim, yaml, dir);
    exporter.wait_ready().await;
    exporter
        .scrape_until(|m| value(m, "genesys_exporter_push_up", &[("query", "agents")]) == 1.0)
        .await;
    exporter
}

/// A call to the simulator with the exporter's credentials.
async fn ask(sim: &Simulator, request: reqwest::RequestBuilder) -> Value {
    let response = request
        .bearer_auth(token(sim).await)
        .send()
        .await
        .expect("the simulator answered");
    assert_eq!(response.status(), 200);
    response.json().await.expect("a JSON answer")
}

/// One series: family, labels, value.
type Series = (&'static str, Vec<(&'static str, String)>, f64);

/// The series a polled agents set exports for what the agent state counts answer now.
async fn expected(sim: &Simulator) -> Vec<Series> {
    let url = format!(
        "{}/api/v2/analytics/agents/status/counts?groupBy=presence&groupBy=routingStatus&groupBy=isOutOfOffice",
        sim.base_url()
    );
    let counts = ask(sim, reqwest::Client::new().post(url).json(&json!({}))).await;
    let mut series = Vec::new();
    let text = |entry: &Value, key: &str| match &entry[key] {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let count = |entry: &Value| entry["count"].as_f64().expect("a count");
    for entry in counts["routingStatusCounts"].as_array().expect("routing") {
        let labels = vec![("routing_status", text(entry, "routingStatus"))];
        series.push(("genesys_agents_routing_status", labels, count(entry)));
    }
    for entry in counts["isOutOfOfficeCounts"].as_array().expect("ooo") {
        let labels = vec![("out_of_office", text(entry, "isOutOfOffice"))];
        series.push(("genesys_agents_out_of_office", labels, count(entry)));
    }
    for entry in counts["presenceCounts"].as_array().expect("presence") {
        let labels = vec![
            ("presence_id", text(entry, "organizationPresenceId")),
            ("system_presence", text(entry, "systemPresence")),
        ];
        series.push(("genesys_agents_presence", labels, count(entry)));
    }
    assert!(series.len() > 6, "too few counts to compare: {counts}");
    series
}

fn shows(metrics: &Metrics, expected: &[Series]) -> bool {
    expected.iter().all(|(family, labels, value)| {
        let mut labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        labels.push(("query", "agents"));
        let found = metrics.find(family, &labels);
        found.len() == 1 && found[0].value == *value
    })
}

/// Scrapes until `/metrics` shows the simulator's counts now.
async fn converges(exporter: &Exporter, sim: &Simulator) -> Metrics {
    let expected = expected(sim).await;
    exporter.scrape_until(|m| shows(m, &expected)).await
}

fn value(metrics: &Metrics, name: &str, labels: &[(&str, &str)]) -> f64 {
    metrics.find(name, labels).iter().map(|s| s.value).sum()
}

/// Requests of a REST read under `endpoint`: `user_states` (the users listing with
/// state), `queue_members` (a queue's members).
fn reads(metrics: &Metrics, endpoint: &str) -> f64 {
    value(
        metrics,
        "genesys_exporter_api_requests_total",
        &[("endpoint", endpoint)],
    )
}

/// The headline: the pushed counts equal the REST counts, and a change in the world
/// reaches `/metrics` by push alone (no listing read meanwhile); per-agent series carry
/// the agent's name.
#[tokio::test(flavor = "multi_thread")]
async fn pushed_agent_counts_equal_the_rest_counts() {
    let run = async {
        let sim = push_simulator().await;
        let dir = tempfile::tempdir().unwrap();
        let exporter = pushing(&sim, &config("1h", "    per_agent: true\n"), &dir).await;
        converges(&exporter, &sim).await;
        for instant in &INSTANTS[1..] {
            let before = reads(&exporter.scrape().await, "user_states");
            sim.freeze_clock(instant.parse().unwrap());
            let metrics = converges(&exporter, &sim).await;
            assert_eq!(
                reads(&metrics, "user_states"),
                before,
                "{instant}: a listing read brought the counts, not push"
            );
        }
        let metrics = exporter.scrape().await;
        assert!(
            value(
                &metrics,
                "genesys_exporter_push_events_total",
                &[("kind", "user_activity")]
            ) > 0.0
        );
        // Per agent: the listing's first user, by name, in the routing status the
        // listing says now.
        let url = format!(
            "{}/api/v2/users?pageSize=1&expand=routingStatus",
            sim.base_url()
        );
        let listing = ask(&sim, reqwest::Client::new().get(url)).await;
        let user = &listing["entities"][0];
        let (id, name) = (user["id"].as_str().unwrap(), user["name"].as_str().unwrap());
        let status = user["routingStatus"]["status"].as_str().unwrap();
        let labels = [
            ("query", "agents"),
            ("user_id", id),
            ("user_name", name),
            ("routing_status", status),
        ];
        assert_eq!(
            value(&metrics, "genesys_agent_routing_status", &labels),
            1.0,
            "{}",
            metrics.text
        );
        let page = exporter.page("/").await;
        assert!(page.contains("agents pushed"), "{page}");
    };
    tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("the test finished in time");
}

/// Every page of a numbered listing at `path` (with `query`), followed by `nextUri`.
async fn entities(sim: &Simulator, path: &str, query: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for number in 1.. {
        let url = format!("{}{path}?{query}&pageNumber={number}", sim.base_url());
        let page = ask(sim, reqwest::Client::new().get(url)).await;
        all.extend(
            page["entities"]
                .as_array()
                .expect("entities")
                .iter()
                .cloned(),
        );
        if page.get("nextUri").is_none() {
            return all;
        }
    }
    unreachable!()
}

/// `OnQueue` as the counts spell it, `ON_QUEUE`.
fn counts_spelling(presence: &str) -> String {
    let mut spelt = String::new();
    for (i, c) in presence.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            spelt.push('_');
        }
        spelt.push(c.to_ascii_uppercase());
    }
    spelt
}

/// The per-queue series the simulator's truth makes now: each queue's joined members
/// (its members endpoint, with their routing status) by routing status and, from the
/// users listing, by system presence, every value of the SDK's enums (the org-wide
/// families' zero-fill) included.
async fn queue_expected(sim: &Simulator, queues: &[(String, String)]) -> Vec<Series> {
    let users = entities(sim, "/api/v2/users", "pageSize=500&expand=presence").await;
    let presence_of = |id: &str| {
        users
            .iter()
            .find(|u| u["id"] == id)
            .and_then(|u| u["presence"]["presenceDefinition"]["systemPresence"].as_str())
            .map_or("UNKNOWN".to_string(), counts_spelling)
    };
    let mut series = Vec::new();
    for (id, name) in queues {
        let path = format!("/api/v2/routing/queues/{id}/members");
        let members = entities(sim, &path, "pageSize=100&joined=true&expand=routingStatus").await;
        assert!(!members.is_empty(), "queue {id} has no joined members");
        let labels = |label: &'static str, value: &str| {
            vec![
                ("queue_id", id.clone()),
                ("queue_name", name.clone()),
                (label, value.to_string()),
            ]
        };
        for status in ROUTING_STATUSES {
            let count = members
                .iter()
                .filter(|m| m["routingStatus"]["status"].as_str().unwrap_or("UNKNOWN") == status)
                .count();
            let labels = labels("routing_status", status);
            series.push(("genesys_agents_queue_routing_status", labels, count as f64));
        }
        for presence in SYSTEM_PRESENCES {
            let count = members
                .iter()
                .filter(|m| presence_of(m["id"].as_str().unwrap_or_default()) == presence)
                .count();
            let labels = labels("system_presence", presence);
            series.push(("genesys_agents_queue_system_presence", labels, count as f64));
        }
    }
    series
}

/// Per queue (`per_queue`): each queue's agents by routing status and presence equal
/// the simulator's joined members in those states, named as the queue listing names
/// the queue, and follow the agents' activity by push alone.
#[tokio::test(flavor = "multi_thread")]
async fn pushed_counts_per_queue_equal_each_queues_joined_members() {
    let run = async {
        let sim = push_simulator().await;
        let listing = entities(&sim, "/api/v2/routing/queues", "pageSize=100").await;
        let queues: Vec<(String, String)> = listing
            .iter()
            .take(3)
            .map(|q| {
                (
                    q["id"].as_str().unwrap().into(),
                    q["name"].as_str().unwrap().into(),
                )
            })
            .collect();
        let ids: Vec<&str> = queues.iter().map(|(id, _)| id.as_str()).collect();
        let dir = tempfile::tempdir().unwrap();
        let extra = format!("    per_queue: [{}]\n", ids.join(", "));
        let exporter = pushing(&sim, &config("1h", &extra), &dir).await;
        let mut changed = 0;
        let mut last: Option<Vec<Series>> = None;
        for instant in INSTANTS {
            sim.freeze_clock(instant.parse().unwrap());
            let before = exporter.scrape().await;
            let mut expected = queue_expected(&sim, &queues).await;
            if last.as_ref().is_some_and(|last| *last != expected) {
                changed += 1;
            }
            last = Some(expected.clone());
            expected.extend(self::expected(&sim).await);
            let metrics = exporter.scrape_until(|m| shows(m, &expected)).await;
            if instant != INSTANTS[0] {
                assert_eq!(
                    (
                        reads(&metrics, "user_states"),
                        reads(&metrics, "queue_members")
                    ),
                    (
                        reads(&before, "user_states"),
                        reads(&before, "queue_members")
                    ),
                    "{instant}: a REST read brought the counts, not push"
                );
            }
        }
        assert!(
            changed > 0,
            "the queues' counts never changed: the test proves nothing"
        );
        let metrics = exporter.scrape().await;
        // Every REST read (one users page: 40 agents) read one members page a queue (12
        // members each).
        assert!(reads(&metrics, "user_states") > 0.0);
        assert_eq!(
            reads(&metrics, "queue_members"),
            reads(&metrics, "user_states") * queues.len() as f64,
            "{}",
            metrics.text
        );
    };
    tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("the test finished in time");
}

/// A queue of `per_queue` that Genesys does not know (deleted since the config was
/// written: the members listing answers 404) counts no agents, and one whose members
/// the client may not read (403) only the agents whose activity names it; neither
/// stops anything: the set is pushed, and the org's counts and the other queues' are
/// exported.
#[tokio::test(flavor = "multi_thread")]
async fn a_queue_unknown_or_forbidden_counts_no_agents_and_stops_nothing() {
    let run = async {
        let sim = push_simulator().await;
        let listing = entities(&sim, "/api/v2/routing/queues", "pageSize=100").await;
        let known = listing[0]["id"].as_str().unwrap().to_string();
        let forbidden = listing[1]["id"].as_str().unwrap().to_string();
        let unknown = "00000000-0000-4000-8000-00000000dead";
        sim.add_fault(FaultRule {
            path_prefix: format!("/api/v2/routing/queues/{forbidden}/members"),
            kind: FaultKind::Status {
                status: 403,
                retry_after: None,
            },
            trigger: Trigger::for_next(Duration::from_secs(3600)),
        });
        let dir = tempfile::tempdir().unwrap();
        let extra = format!("    per_queue: [{known}, {forbidden}, {unknown}]\n");
        let exporter = pushing(&sim, &config("1h", &extra), &dir).await;
        let metrics = exporter
            .scrape_until(|m| {
                !m.find(
                    "genesys_agents_queue_routing_status",
                    &[("queue_id", unknown)],
                )
                .is_empty()
            })
            .await;
        let of = |queue: &str| {
            metrics
                .find(
                    "genesys_agents_queue_routing_status",
                    &[("queue_id", queue)],
                )
                .iter()
                .map(|s| s.value)
                .sum::<f64>()
        };
        assert_eq!(of(unknown), 0.0, "{}", metrics.text);
        assert!(
            !metrics
                .find(
                    "genesys_agents_queue_routing_status",
                    &[("queue_id", &forbidden)]
                )
                .is_empty(),
            "the forbidden queue is exported: {}",
            metrics.text
        );
        assert!(
            value(
                &metrics,
                "genesys_exporter_api_requests_total",
                &[("endpoint", "queue_members"), ("code", "403")]
            ) >= 1.0,
            "its members were refused: {}",
            metrics.text
        );
        assert!(
            of(&known) > 0.0,
            "the known queue counts its agents: {}",
            metrics.text
        );
        assert!(value(&metrics, "genesys_agents_routing_status", &[]) > 0.0);
    };
    tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the test finished in time");
}

/// Events lost on the way are not replayed: the reconcile read finds the differences,
/// counts them and puts the counts right.
#[tokio::test(flavor = "multi_thread")]
async fn the_reconcile_repairs_dropped_agent_events() {
    let run = async {
        let sim = push_simulator().await;
        let dir = tempfile::tempdir().unwrap();
        let exporter = pushing(&sim, &config("10s", ""), &dir).await;
        converges(&exporter, &sim).await;
        let differences = |metrics: &Metrics| {
            value(
                metrics,
                "genesys_exporter_push_reconcile_differences_total",
                &[("query", "agents")],
            )
        };
        let before = differences(&exporter.scrape().await);
        sim.notifications().drop_events_for(Duration::from_secs(60));
        sim.freeze_clock(INSTANTS[1].parse().unwrap());
        let metrics = converges(&exporter, &sim).await;
        assert!(
            differences(&metrics) > before,
            "the reconcile read found no difference: {}",
            metrics.text
        );
    };
    tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("the test finished in time");
}

/// What a pushed set cannot count is refused at start-up, naming the key.
#[test]
fn a_pushed_set_refuses_what_activity_cannot_tell() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, words) in [
        (
            "    group_by: [routingStatus, segmentType]\n",
            &["group_by[1]", "segmentType"][..],
        ),
        (
            "    queues: [0b7c5e6a-2f1d-4c3b-9a8e-1f2d3c4b5a69]\n",
            &["queues", "pushed agents set"],
        ),
    ] {
        let (status, text) = config_check(dir.path(), &config("5m", extra), &[]);
        assert_eq!(status, 2, "{text}");
        assert!(words.iter().all(|w| text.contains(w)), "{text}");
    }
    for key in [
        "per_agent: true",
        "per_queue: [0b7c5e6a-2f1d-4c3b-9a8e-1f2d3c4b5a69]",
    ] {
        let polled = format!("observations:\n  - {{name: agents, source: agents, {key}}}\n");
        let (status, text) = config_check(dir.path(), &polled, &[]);
        assert_eq!(status, 2, "{text}");
        assert!(text.contains(&key[..9]), "{text}");
    }
}
