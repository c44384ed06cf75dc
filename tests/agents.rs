//! Agents now end to end: an observation set with `source: agents` counts the org's
//! agents with one `POST /api/v2/analytics/agents/status/counts` a refresh, and the binary
//! serves `genesys_agents_*` gauges equal to what the API answers; the simulator's counts
//! agree with its queue observations; the set is validated, planned and reloaded like a
//! queue set.

mod common;

use common::{ExporterRun, Metrics, simulator, token};
use genesys_cloud_exporter::simulator::{Simulator, SimulatorConfig};
use serde_json::{Value, json};

/// A busy weekday morning, in the past: with the simulator's clock stopped there, every
/// answer is the same and the test can ask what the exporter asked.
const FROZEN_AT: &str = "2026-11-24T10:30:00Z";

const COUNTS: &str = "/api/v2/analytics/agents/status/counts";

/// Asks the simulator for agent counts: status and body.
async fn counts(sim: &Simulator, query: &str, body: &Value) -> (u16, Value) {
    let token = token(sim).await;
    let response = reqwest::Client::new()
        .post(format!("{}{COUNTS}{query}", sim.base_url()))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The headline promise: `{name, source: agents}` alone serves every grouping's counts,
/// each equal to the simulator's answer to the same request, and every known value of
/// each grouping (0 where Genesys left it out).
#[tokio::test(flavor = "multi_thread")]
async fn agents_gauges_equal_the_simulators_counts_grouping_by_grouping() {
    let sim = simulator(SimulatorConfig::default()).await;
    sim.freeze_clock(FROZEN_AT.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let exporter = ExporterRun::against(&sim)
        .config(
            dir.path(),
            "observations:\n  - {name: agents_now, source: agents, refresh: 10s}\n",
        )
        .start();
    exporter.wait_ready().await;
    let metrics = exporter
        .scrape_until(|m| {
            !m.find("genesys_agents_routing_status", &[("query", "agents_now")])
                .is_empty()
        })
        .await;
    let sent: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path == COUNTS)
        .collect();
    assert!(!sent.is_empty());
    assert!(sent.iter().all(|r| r.status == 200), "{sent:?}");

    let (status, api) = counts(
        &sim,
        "?groupBy=segmentType&groupBy=presence&groupBy=routingStatus&groupBy=isOutOfOffice",
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{api}");
    let query = ("query", "agents_now");
    let mut compared = 0;
    for entry in api["routingStatusCounts"].as_array().unwrap() {
        let status = entry["routingStatus"].as_str().unwrap();
        assert_eq!(
            metrics.value(
                "genesys_agents_routing_status",
                &[query, ("routing_status", status)]
            ),
            entry["count"].as_f64().unwrap(),
            "{status}"
        );
        compared += 1;
    }
    let mut per_system = std::collections::HashMap::<String, f64>::new();
    for entry in api["presenceCounts"].as_array().unwrap() {
        let system = entry["systemPresence"].as_str().unwrap();
        let id = entry["organizationPresenceId"].as_str().unwrap();
        let count = entry["count"].as_f64().unwrap();
        assert_eq!(
            metrics.value(
                "genesys_agents_presence",
                &[query, ("presence_id", id), ("system_presence", system)]
            ),
            count,
            "{id}"
        );
        *per_system.entry(system.to_string()).or_default() += count;
        compared += 1;
    }
    for (system, count) in &per_system {
        assert_eq!(
            metrics.value(
                "genesys_agents_system_presence",
                &[query, ("system_presence", system)]
            ),
            *count,
            "{system}"
        );
    }
    for entry in api["isOutOfOfficeCounts"].as_array().unwrap() {
        let out = entry["isOutOfOffice"].as_bool().unwrap().to_string();
        assert_eq!(
            metrics.value(
                "genesys_agents_out_of_office",
                &[query, ("out_of_office", &out)]
            ),
            entry["count"].as_f64().unwrap()
        );
        compared += 1;
    }
    for entry in api["segmentCounts"].as_array().unwrap() {
        let segment = entry["segmentType"].as_str().unwrap();
        assert_eq!(
            metrics.value(
                "genesys_agents_segment_type",
                &[query, ("segment_type", segment)]
            ),
            entry["count"].as_f64().unwrap()
        );
        compared += 1;
    }
    for (key, family, label, value_key) in [
        (
            "adherenceStateCounts",
            "genesys_agents_adherence_state",
            "adherence_state",
            "adherenceState",
        ),
        (
            "scheduledActivityCategoryCounts",
            "genesys_agents_scheduled_activity_category",
            "activity_category",
            "activityCategory",
        ),
        (
            "actualActivityCategoryCounts",
            "genesys_agents_actual_activity_category",
            "activity_category",
            "activityCategory",
        ),
    ] {
        for entry in api[key].as_array().unwrap() {
            let value = entry[value_key].as_str().unwrap();
            assert_eq!(
                metrics.value(family, &[query, (label, value)]),
                entry["count"].as_f64().unwrap(),
                "{family} {value}"
            );
            compared += 1;
        }
    }
    assert!(compared > 20, "only {compared} counts compared");
    // Zero-filled: every routing status and system presence has its series.
    for status in [
        "OFF_QUEUE",
        "IDLE",
        "INTERACTING",
        "NOT_RESPONDING",
        "COMMUNICATING",
        "UNKNOWN",
    ] {
        assert_eq!(
            metrics
                .find(
                    "genesys_agents_routing_status",
                    &[query, ("routing_status", status)]
                )
                .len(),
            1,
            "{status}"
        );
    }
    assert_eq!(
        metrics.value(
            "genesys_agents_system_presence",
            &[query, ("system_presence", "UNKNOWN")]
        ),
        0.0
    );
    // The set's self-metrics, as for a queue set.
    assert_eq!(
        metrics.value("genesys_exporter_query_up", &[query]),
        1.0,
        "{}",
        exporter.logs()
    );
    let landing = exporter.page("/").await;
    assert!(landing.contains("agents_now"), "{landing}");
}

/// A set narrowed to one queue counts that queue's members: its counts by routing
/// status equal the queue observations' `oUserRoutingStatuses` of the same queue at the
/// same moment, and its agents on queue the queue's `oOnQueueUsers`.
#[tokio::test(flavor = "multi_thread")]
async fn a_queue_filtered_set_agrees_with_the_queue_observations_on_queue_users() {
    let sim = simulator(SimulatorConfig::default()).await;
    sim.freeze_clock(FROZEN_AT.parse().unwrap());
    let queue = sim.queues()[0].id.clone();
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "observations:\n  - {{name: one_queue, source: agents, refresh: 10s, group_by: [routingStatus], queues: [{queue}]}}\n  - {{name: live, refresh: 10s, queues: [{queue}], metrics: [oOnQueueUsers, oUserRoutingStatuses]}}\n"
    );
    let exporter = ExporterRun::against(&sim).config(dir.path(), &yaml).start();
    exporter.wait_ready().await;
    let metrics = exporter
        .scrape_until(|m| {
            !m.find("genesys_agents_routing_status", &[("query", "one_queue")])
                .is_empty()
                && !m
                    .find("genesys_queue_user_routing_statuses", &[("query", "live")])
                    .is_empty()
        })
        .await;
    let mut on_queue = 0.0;
    let mut total = 0.0;
    for status in [
        "OFF_QUEUE",
        "IDLE",
        "INTERACTING",
        "NOT_RESPONDING",
        "COMMUNICATING",
    ] {
        let agents = metrics.value(
            "genesys_agents_routing_status",
            &[("query", "one_queue"), ("routing_status", status)],
        );
        let members = metrics.value(
            "genesys_queue_user_routing_statuses",
            &[
                ("query", "live"),
                ("queue_id", &queue),
                ("routing_status", status),
            ],
        );
        assert_eq!(agents, members, "{status}");
        if status != "OFF_QUEUE" {
            on_queue += agents;
            assert_eq!(
                metrics.value(
                    "genesys_queue_on_queue_users",
                    &[
                        ("query", "live"),
                        ("queue_id", &queue),
                        ("routing_status", status)
                    ],
                ),
                agents,
                "{status}"
            );
        }
        total += agents;
    }
    assert!(on_queue > 0.0, "nobody on queue at a busy hour");
    assert!(total > on_queue);
    // Only the grouping asked for: no presence series.
    assert!(
        metrics
            .find("genesys_agents_system_presence", &[("query", "one_queue")])
            .is_empty()
    );
    let sent = sim
        .requests()
        .into_iter()
        .filter(|r| r.path == COUNTS)
        .count();
    assert!(sent >= 1);
}

/// The simulator refuses what Genesys refuses, naming the field: an unknown `groupBy`
/// value, an unknown filter dimension, a filter type that is neither `and` nor `or`;
/// an empty body counts the whole org by segment type only.
#[tokio::test(flavor = "multi_thread")]
async fn the_simulator_refuses_bad_counts_requests_naming_the_field() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (status, body) = counts(&sim, "?groupBy=routingStatus,colour", &json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("groupBy"), "{body}");
    let (status, body) = counts(
        &sim,
        "?groupBy=routingStatus",
        &json!({"userFilter": {"type": "or", "predicates": [{"dimension": "queueID", "value": "x"}]}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string()
            .contains("userFilter.predicates[0].dimension"),
        "{body}"
    );
    let (status, body) = counts(
        &sim,
        "",
        &json!({"userFilter": {"type": "xor", "predicates": []}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("userFilter.type"), "{body}");
    let (status, body) = counts(&sim, "", &json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["segmentCounts"].is_array(), "{body}");
    assert!(body.get("routingStatusCounts").is_none(), "{body}");
    // Comma-separated and repeated lists are the same request.
    let (_, repeated) = counts(&sim, "?groupBy=routingStatus&groupBy=presence", &json!({})).await;
    let (_, commas) = counts(&sim, "?groupBy=routingStatus,presence", &json!({})).await;
    assert_eq!(repeated, commas);
}

/// An agents set is validated like a queue set (exit 2 naming file, set and field, with
/// a suggestion), keys of the other kind are refused by name, and the plan prices it at
/// one request a refresh whatever the org's size.
#[test]
fn agents_sets_are_checked_and_planned_at_one_request_a_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let refused = [
        (
            "observations:\n  - {name: a, source: agents, metrics: [oWaiting]}\n",
            "metrics",
            "source: agents",
        ),
        (
            "observations:\n  - {name: a, source: agents, presence_ids: true}\n",
            "presence_ids",
            "queue observation",
        ),
        (
            "observations:\n  - {name: q, metrics: [oWaiting], group_by: [presence]}\n",
            "group_by",
            "source: agents",
        ),
        (
            "observations:\n  - {name: q, metrics: [oWaiting], teams: [0b7c5e6a-2f1d-4c3b-9a8e-1f2d3c4b5a69]}\n",
            "teams",
            "source: agents",
        ),
        (
            "observations:\n  - {name: a, source: agents, group_by: [routingStatuses]}\n",
            "group_by[0]",
            "did you mean \"routingStatus\"",
        ),
        (
            "observations:\n  - {name: a, source: agent}\n",
            "source",
            "did you mean \"agents\"",
        ),
        (
            "observations:\n  - {name: a, source: agents, divisions: [home]}\n",
            "divisions[0]",
            "UUID",
        ),
        (
            "observations:\n  - {name: a, source: agents, queues: all, group_by: []}\n",
            "group_by",
            "empty",
        ),
    ];
    for (yaml, field, hint) in refused {
        let (status, text) = common::config_check(dir.path(), yaml, &[]);
        // The log line escapes the message's quotes.
        let text = text.replace("\\\"", "\"");
        assert_eq!(status, 2, "{yaml}: {text}");
        assert!(text.contains("config.yaml"), "{text}");
        assert!(
            text.contains(&format!("field {field}")) || text.contains(&format!("`{field}`")),
            "{yaml}: {text}"
        );
        assert!(text.contains(hint), "{yaml}: {text}");
        assert!(
            ["observation \"a\"", "observation \"q\""]
                .iter()
                .any(|n| text.contains(n)),
            "{text}"
        );
    }
    let (status, text) = common::config_check(
        dir.path(),
        "observations:\n  - {name: agents_now, source: agents, refresh: 15s}\n  - {name: live, metrics: [oWaiting]}\n",
        &[],
    );
    assert_eq!(status, 0, "{text}");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("agents_now"))
        .unwrap_or_else(|| panic!("no plan line for agents_now: {text}"));
    let columns: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(columns[1], "1", "{line}");
    assert_eq!(columns[4], "4.0", "{line}");
    assert!(line.ends_with("(observations)"), "{line}");
}

/// Agents sets reload like queue sets: an unchanged one keeps running untouched, a
/// changed one restarts with its new definition, a removed one's series go, an added one
/// starts.
#[tokio::test(flavor = "multi_thread")]
async fn agents_sets_are_added_changed_and_removed_by_a_reload() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    let write = |sets: &str| {
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, format!("observations:\n{sets}")).unwrap();
        std::fs::rename(&temporary, &path).unwrap();
    };
    let stays = "  - {name: stays, source: agents, refresh: 10m, group_by: [routingStatus]}\n";
    write(&format!(
        "{stays}  - {{name: changes, source: agents, refresh: 10s, group_by: [routingStatus]}}\n  - {{name: goes, source: agents, refresh: 10s}}\n"
    ));
    let mut run = ExporterRun::against(&sim).arg("--config.file", path.to_string_lossy());
    run.args.push("--web.enable-lifecycle".into());
    let exporter = run.start();
    exporter.wait_ready().await;
    let before = exporter
        .scrape_until(|m| {
            ["stays", "changes", "goes"].iter().all(|q| {
                !m.find("genesys_agents_routing_status", &[("query", q)])
                    .is_empty()
            })
        })
        .await;
    let success = |m: &Metrics, q: &str| {
        m.value(
            "genesys_exporter_query_last_success_timestamp_seconds",
            &[("query", q)],
        )
    };
    let stays_at = success(&before, "stays");
    write(&format!(
        "{stays}  - {{name: changes, source: agents, refresh: 10s, group_by: [presence]}}\n  - {{name: arrives, source: agents, refresh: 10s, group_by: [isOutOfOffice]}}\n"
    ));
    let response = reqwest::Client::new()
        .post(exporter.url("/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        "Reloaded: 1 unchanged, 1 changed, 1 added, 1 removed (queries and observation sets).\n"
    );
    let after = exporter
        .scrape_until(|m| {
            !m.find("genesys_agents_system_presence", &[("query", "changes")])
                .is_empty()
                && !m
                    .find("genesys_agents_out_of_office", &[("query", "arrives")])
                    .is_empty()
        })
        .await;
    assert!(
        after
            .find("genesys_agents_routing_status", &[("query", "goes")])
            .is_empty(),
        "the removed set's series stay"
    );
    assert!(
        after
            .find("genesys_exporter_query_up", &[("query", "goes")])
            .is_empty(),
        "the removed set's self-metrics stay"
    );
    assert_eq!(
        success(&after, "stays"),
        stays_at,
        "the unchanged set restarted"
    );
    assert!(
        !after
            .find("genesys_agents_routing_status", &[("query", "stays")])
            .is_empty()
    );
}
