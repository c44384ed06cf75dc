//! The live poll reads its answers as they stream in and maps them group by group
//! (issue 25): the real binary against the simulator over loopback exports exactly the
//! series of the whole answers mapped at once, for a query split into several requests
//! whose first answer breaks off mid-body (retried, the broken attempt's groups
//! forgotten) and a query by user (the groups of users without a name held until the
//! poll has looked them up); an answer over the size limit fails the poll, names the
//! limit and publishes nothing (tests/faults.rs: the last good values stay; and
//! tests/streaming.rs: a body without a length is refused as it streams in).

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::{ExporterRun, Metrics, simulator, source_aggregates};
use genesys_cloud_exporter::config::{Config, QueryConfig};
use genesys_cloud_exporter::exposition;
use genesys_cloud_exporter::genesys::bodies::AggregateResponse;
use genesys_cloud_exporter::genesys::names::Names;
use genesys_cloud_exporter::interval::Interval;
use genesys_cloud_exporter::mapping::{GroupMemory, add_data_until, map_response};
use genesys_cloud_exporter::simulator::{
    FaultKind, FaultRule, Simulator, SimulatorConfig, Trigger,
};

const AGGREGATES: &str = "/api/v2/analytics/conversations/aggregates/query";
const USERS: &str = "/api/v2/users";

/// The queues query split into requests of 3 queue predicates (3 requests for the
/// simulator's 8 queues), with counts, timers, ratios and a named qualifier's
/// zero-fill in the users query.
fn config(queue_ids: &[String]) -> String {
    let predicates: Vec<String> = queue_ids
        .iter()
        .map(|id| {
            format!("{{type: dimension, dimension: queueId, operator: matches, value: '{id}'}}")
        })
        .collect();
    format!(
        "queries:\n  - name: queues\n    granularity: PT30M\n    settle_delay: 5s\n    \
         group_by: [queueId, mediaType]\n    \
         metrics: [nOffered, nConnected, tHandle, tAnswered, tAbandon, oServiceLevel]\n    \
         max_predicates_per_request: 3\n    filter: {{type: or, predicates: [{}]}}\n  \
         - name: agents\n    source: users\n    granularity: PT30M\n    settle_delay: 5s\n    \
         group_by: [userId]\n    metrics: [tAgentRoutingStatus, tSystemPresence]\n",
        predicates.join(", ")
    )
}

/// The exposition lines (help, type, samples) of the families whose names start with
/// `prefix`.
fn lines_of<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|line| {
            let name = line
                .strip_prefix("# HELP ")
                .or_else(|| line.strip_prefix("# TYPE "))
                .unwrap_or(line);
            name.starts_with(prefix)
        })
        .collect()
}

/// The interval `query` exported, read from its interval bounds.
fn exported_interval(metrics: &Metrics, query: &QueryConfig) -> Interval {
    let prefix = query.source.prefix();
    let at = |suffix: &str| {
        let value = metrics.value(&format!("{prefix}{suffix}"), &[("query", &query.name)]);
        chrono::DateTime::from_timestamp(value as i64, 0).unwrap()
    };
    Interval {
        start: at("interval_start_timestamp_seconds"),
        end: at("interval_end_timestamp_seconds"),
    }
}

/// What a first poll of `query` for `interval` exports, from the whole answers mapped
/// at once.
async fn whole_answers_mapped(
    sim: &Simulator,
    query: &QueryConfig,
    interval: &Interval,
    names: &Names,
) -> String {
    let mut response = AggregateResponse::default();
    for request in query.requests(interval) {
        let body = serde_json::to_value(&request).unwrap();
        let answer = source_aggregates(sim, query.source, &body).await;
        let answer: AggregateResponse = serde_json::from_value(answer).unwrap();
        response.results.extend(answer.results);
    }
    assert!(response.results.len() > 3, "too little traffic to compare");
    let mut mapped = map_response(
        query,
        interval,
        &response,
        names,
        &mut GroupMemory::default(),
    );
    add_data_until(&mut mapped.series, query, interval.end);
    let mut out = Vec::new();
    exposition::write(&[Arc::new(mapped.series)], &mut out);
    String::from_utf8(out).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn streamed_polls_export_the_series_of_the_whole_answers() {
    // Busy at every hour: every queue and user has data in any half hour.
    let sim = simulator(SimulatorConfig {
        busy_all_day: true,
        ..SimulatorConfig::default()
    })
    .await;
    let queue_ids: Vec<String> = sim.queues().into_iter().map(|q| q.id).collect();
    let yaml = config(&queue_ids);
    // The first answer breaks off after its first half: the poll sends it again and
    // forgets what it had mapped of it.
    sim.add_fault(FaultRule {
        path_prefix: AGGREGATES.into(),
        kind: FaultKind::ResetMidBody,
        trigger: Trigger::Count(1),
    });
    let dir = tempfile::tempdir().unwrap();
    let exporter = ExporterRun::against(&sim)
        .config(dir.path(), &yaml)
        .arg("--genesys.requests-per-minute", "300")
        .start();
    exporter.wait_ready().await;
    let metrics = exporter
        .scrape_until(|m| {
            ["queues", "agents"].iter().all(|query| {
                m.find("genesys_exporter_query_up", &[("query", query)])
                    .iter()
                    .any(|s| s.value == 1.0)
            })
        })
        .await;

    let config = Config::from_yaml(&yaml, "test").unwrap();
    let names = Names::from_tables([
        (
            "queueId",
            sim.queues().into_iter().map(|q| (q.id, q.name)).collect(),
        ),
        (
            "userId",
            sim.listing(USERS)
                .into_iter()
                .collect::<HashMap<String, String>>(),
        ),
    ]);
    for query in &config.queries {
        let interval = exported_interval(&metrics, query);
        let expected = whole_answers_mapped(&sim, query, &interval, &names).await;
        let prefix = query.source.prefix();
        assert_eq!(
            lines_of(&metrics.text, &prefix),
            lines_of(&expected, &prefix),
            "query {}",
            query.name
        );
        assert!(
            metrics
                .find(
                    "genesys_exporter_response_warnings_total",
                    &[("query", &query.name)]
                )
                .iter()
                .all(|s| s.value == 0.0),
            "{}",
            metrics.text
        );
    }
    // The broken answer was sent again: 3 shares, one of them twice.
    let aggregates: Vec<u16> = sim
        .requests()
        .iter()
        .filter(|r| r.path == AGGREGATES)
        .map(|r| r.status)
        .collect();
    assert!(aggregates.len() >= 4, "{aggregates:?}");
    assert!(
        metrics.text.contains("user_name=\"") && !metrics.text.contains("user_name=\"\""),
        "every user named in the poll that first saw them"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_over_the_size_limit_fails_the_poll_and_publishes_no_group() {
    let sim = simulator(SimulatorConfig {
        busy_all_day: true,
        ..SimulatorConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let exporter = ExporterRun::against(&sim)
        .config(
            dir.path(),
            "queries:\n  - {name: queues, granularity: PT30M, settle_delay: 5s, \
             group_by: [queueId, mediaType], metrics: [nOffered, tHandle]}\n",
        )
        .arg("--genesys.max-response-size", "4KiB")
        .start();
    exporter.wait_ready().await;
    exporter.wait_for_log("4096 byte limit").await;
    let metrics = exporter.scrape().await;
    assert_eq!(
        metrics.value("genesys_exporter_query_up", &[("query", "queues")]),
        0.0
    );
    assert!(
        metrics.find("genesys_conversation_offered", &[]).is_empty(),
        "{}",
        metrics.text
    );
}
