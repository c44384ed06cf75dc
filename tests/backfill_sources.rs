//! `backfill` of every analytics source, through the real binary, the real promtool and
//! a real Prometheus: the demo's query of each source (users, flows, bots, data actions,
//! surveys, evaluations, transcripts, flow executions, rate limits) backfilled from the
//! simulator answers in Prometheus, at a past instant, with the API's values for that
//! bucket.

mod common;

use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::{Value, json};

use common::prometheus::Prometheus;
use common::{ExporterRun, simulator, source_aggregates};
use genesys_cloud_exporter::config::{Config, QueryConfig};
use genesys_cloud_exporter::genesys::sources::CONVERSATIONS;
use genesys_cloud_exporter::mapping::series_base;
use genesys_cloud_exporter::simulator::{Simulator, SimulatorConfig};

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The family of `metric`'s first stat in Prometheus and how the API's stats of one
/// group give its value: counts as they are, timers' sums in seconds, observations'
/// sums as they are.
fn family_and_value(query: &QueryConfig, metric: &str) -> (String, fn(&Value) -> f64) {
    let (kind, base) = series_base(query.source, metric);
    let prefix = query.source.prefix();
    match kind {
        'n' => (format!("{prefix}{base}"), |s| {
            s["count"].as_f64().unwrap_or(0.0)
        }),
        't' => (format!("{prefix}{base}_seconds_sum"), |s| {
            s["sum"].as_f64().unwrap_or(0.0) / 1000.0
        }),
        _ => (format!("{prefix}{base}_sum"), |s| {
            s["sum"].as_f64().unwrap_or(0.0)
        }),
    }
}

/// The sum over every group and qualifier of `metric` in the bucket starting at `start`,
/// as the simulator answers `query` for it.
async fn api_sum(
    sim: &Simulator,
    query: &QueryConfig,
    metric: &str,
    start: DateTime<Utc>,
    value: fn(&Value) -> f64,
) -> f64 {
    let end = start + TimeDelta::minutes(30);
    let answer = source_aggregates(
        sim,
        query.source,
        &json!({"interval": format!("{}/{}", rfc3339(start), rfc3339(end)),
            "granularity": "PT30M", "timeZone": "UTC",
            "groupBy": query.group_by, "metrics": [metric]}),
    )
    .await;
    let mut sum = 0.0;
    for result in answer["results"].as_array().into_iter().flatten() {
        for bucket in result["data"].as_array().into_iter().flatten() {
            for measured in bucket["metrics"].as_array().into_iter().flatten() {
                sum += value(&measured["stats"]);
            }
        }
    }
    sum
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sources_backfill_answers_in_prometheus_with_the_api_values() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::demo();
    config.queries.retain(|q| q.source != CONVERSATIONS);
    config.observations.clear();
    config.agents.clear();
    config.voice_quality.clear();
    assert_eq!(
        config.queries.len(),
        9,
        "the demo has a query of every source"
    );
    let yaml = config.to_yaml().expect("the demo config as YAML");

    let to = (Utc::now() - TimeDelta::hours(1))
        .duration_trunc(TimeDelta::minutes(30))
        .unwrap();
    let from = to - TimeDelta::hours(3);
    let output = dir.path().join("sources.om");
    let (status, logs) = ExporterRun::against(&sim)
        .config(dir.path(), &yaml)
        .subcommand(&[
            "backfill",
            "--from",
            &rfc3339(from),
            "--to",
            &rfc3339(to),
            "--sample-interval",
            "5m",
            "--output",
            &output.to_string_lossy(),
        ])
        .run_to_exit();
    assert!(status.success(), "{logs}");
    let prometheus = Prometheus::on_backfill(dir.path(), &output);

    let mut compared_with_data = 0;
    for query in &config.queries {
        for bucket in [1, 4] {
            let start = from + TimeDelta::minutes(30 * bucket);
            let end = start + TimeDelta::minutes(30);
            // Ten minutes after the bucket's values arrived: what /metrics showed then.
            let at =
                (end + TimeDelta::from_std(query.settle_delay).unwrap() + TimeDelta::minutes(10))
                    .timestamp() as f64;
            for metric in &query.metrics {
                let (family, value) = family_and_value(query, metric);
                let api = api_sum(&sim, query, metric, start, value).await;
                let promql = format!("sum({family}{{query=\"{}\"}})", query.name);
                if api > 0.0 {
                    prometheus
                        .wait_for_at(&promql, at, Duration::from_secs(60))
                        .await;
                }
                let answer = prometheus.query_at(&promql, at).await;
                let exported = answer.first().map_or(0.0, |series| {
                    series["value"][1].as_str().unwrap().parse().unwrap()
                });
                assert!(
                    (exported - api).abs() <= 1e-9 * api.abs().max(1.0),
                    "{} {metric} in {start}: Prometheus {exported}, API {api}",
                    query.name
                );
                if api > 0.0 {
                    compared_with_data += 1;
                }
            }
        }
    }
    // Most metrics of the demo's queries have data in a daytime or night half hour.
    assert!(compared_with_data >= 20, "{compared_with_data} with data");
}
