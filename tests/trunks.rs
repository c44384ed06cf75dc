//! Trunks end to end: a `trunks:` set lists the trunks and asks their metrics, and the
//! binary serves `genesys_trunk_*` gauges equal to what the API answers (read here over
//! HTTP from the simulator, its clock stopped); more trunks than one metrics batch are
//! paged and batched within the API's limits; bad sets are refused naming file, set and
//! field; a reload adds and removes trunk sets.

mod common;

use common::{Exporter, ExporterRun, Metrics, simulator, token};
use genesys_cloud_exporter::simulator::{Simulator, SimulatorConfig};
use serde_json::Value;

/// A busy weekday morning, in the past, while the second trunk is down (minutes 20 to
/// 26 of every hour): with the clock stopped, every answer is the same.
const FROZEN_AT: &str = "2026-11-24T10:22:00Z";

const TRUNKS: &str = "/api/v2/telephony/providers/edges/trunks";
const METRICS: &str = "/api/v2/telephony/providers/edges/trunks/metrics";

/// `GET path` from the simulator with a fresh token: status and body.
async fn get(sim: &Simulator, path_and_query: &str) -> (u16, Value) {
    let token = token(sim).await;
    let response = reqwest::Client::new()
        .get(format!("{}{path_and_query}", sim.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Every trunk of the simulator's listing, page by page, and their metrics by id.
async fn simulator_trunks(sim: &Simulator) -> (Vec<Value>, Vec<Value>) {
    let mut trunks = Vec::new();
    for page in 1.. {
        let (status, body) = get(sim, &format!("{TRUNKS}?pageSize=100&pageNumber={page}")).await;
        assert_eq!(status, 200, "{body}");
        trunks.extend(body["entities"].as_array().unwrap().iter().cloned());
        if page >= body["pageCount"].as_u64().unwrap() {
            break;
        }
    }
    let mut metrics = Vec::new();
    for chunk in trunks.chunks(100) {
        let ids: Vec<&str> = chunk.iter().map(|t| t["id"].as_str().unwrap()).collect();
        let (status, body) = get(sim, &format!("{METRICS}?trunkIds={}", ids.join(","))).await;
        assert_eq!(status, 200, "{body}");
        metrics.extend(body.as_array().unwrap().iter().cloned());
    }
    (trunks, metrics)
}

/// The exporter on `yaml`, against `sim`, once the set `name` has published.
async fn exporter_with(
    sim: &Simulator,
    dir: &std::path::Path,
    yaml: &str,
    name: &str,
) -> (Exporter, Metrics) {
    let exporter = ExporterRun::against(sim).config(dir, yaml).start();
    exporter.wait_ready().await;
    let metrics = exporter
        .scrape_until(|m| {
            !m.find("genesys_trunk_connected", &[("query", name)])
                .is_empty()
        })
        .await;
    (exporter, metrics)
}

/// Each trunk's four series equal the listing's and the metrics' answer for it.
fn assert_series_equal_the_answers(
    metrics: &Metrics,
    query: &str,
    trunks: &[Value],
    answers: &[Value],
) {
    assert_eq!(
        metrics
            .find("genesys_trunk_connected", &[("query", query)])
            .len(),
        trunks.len()
    );
    for trunk in trunks {
        let id = trunk["id"].as_str().unwrap();
        let labels = [
            ("query", query),
            ("trunk_id", id),
            ("trunk_name", trunk["name"].as_str().unwrap()),
            ("trunk_type", trunk["trunkType"].as_str().unwrap()),
            ("edge_id", trunk["edge"]["id"].as_str().unwrap()),
        ];
        let flag = |value: &Value| {
            if value.as_bool() == Some(true) {
                1.0
            } else {
                0.0
            }
        };
        assert_eq!(
            metrics.value("genesys_trunk_connected", &labels),
            flag(&trunk["connectedStatus"]["connected"]),
            "{id}"
        );
        assert_eq!(
            metrics.value("genesys_trunk_in_service", &labels),
            flag(&trunk["inService"]),
            "{id}"
        );
        let answer = answers
            .iter()
            .find(|m| m["trunk"]["id"].as_str() == Some(id))
            .unwrap_or_else(|| panic!("no metrics for {id}"));
        for (direction, field) in [
            ("inbound", "inboundCallCount"),
            ("outbound", "outboundCallCount"),
        ] {
            let mut labels = labels.to_vec();
            labels.push(("direction", direction));
            assert_eq!(
                metrics.value("genesys_trunk_calls", &labels),
                answer["calls"][field].as_f64().unwrap(),
                "{id} {direction}"
            );
        }
        assert_eq!(
            metrics.value("genesys_trunk_qos_mismatches", &labels),
            answer["qos"]["mismatchCount"].as_f64().unwrap(),
            "{id}"
        );
    }
}

/// The headline promise: `{name}` alone serves every trunk's series, each equal to the
/// simulator's answer, one disconnected trunk among them; each refresh is one listing
/// page and one metrics request, counted under their endpoint labels.
#[tokio::test(flavor = "multi_thread")]
async fn trunk_series_equal_the_simulators_trunk_answers() {
    let sim = simulator(SimulatorConfig::default()).await;
    sim.freeze_clock(FROZEN_AT.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let (exporter, metrics) =
        exporter_with(&sim, dir.path(), "trunks:\n  - {name: trunks}\n", "trunks").await;
    let (trunks, answers) = simulator_trunks(&sim).await;
    assert_eq!(trunks.len(), 4);
    assert_series_equal_the_answers(&metrics, "trunks", &trunks, &answers);
    // The trunk that drops is down now, and the calls are on the others.
    assert_eq!(
        metrics
            .find("genesys_trunk_connected", &[("query", "trunks")])
            .iter()
            .filter(|s| s.value == 0.0)
            .count(),
        1
    );
    let calls: f64 = metrics
        .find("genesys_trunk_calls", &[("query", "trunks")])
        .iter()
        .map(|s| s.value)
        .sum();
    assert!(calls > 0.0, "a busy morning has calls");
    for endpoint in ["trunks", "trunk_metrics"] {
        assert!(
            metrics.value(
                "genesys_exporter_api_requests_total",
                &[("endpoint", endpoint), ("code", "200")]
            ) >= 1.0,
            "{endpoint}"
        );
    }
    assert_eq!(
        metrics.value("genesys_exporter_query_up", &[("query", "trunks")]),
        1.0
    );
    let landing = exporter.page("/").await;
    assert!(landing.contains("trunks every 30s"), "{landing}");
}

/// 250 trunks: the listing is read in pages of 100 and the metrics in batches of 100
/// ids (the simulator refuses more with a 400, as Genesys does), and every trunk's
/// series still equal the answers.
#[tokio::test(flavor = "multi_thread")]
async fn more_trunks_than_one_batch_are_paged_and_batched() {
    let sim = simulator(SimulatorConfig {
        trunk_count: 250,
        ..SimulatorConfig::default()
    })
    .await;
    sim.freeze_clock(FROZEN_AT.parse().unwrap());
    // One metrics request with every id is refused.
    let (trunks, answers) = simulator_trunks(&sim).await;
    let every: Vec<&str> = trunks.iter().map(|t| t["id"].as_str().unwrap()).collect();
    let (status, body) = get(&sim, &format!("{METRICS}?trunkIds={}", every.join(","))).await;
    assert_eq!(status, 400, "{body}");
    let before = sim.requests().len();
    let dir = tempfile::tempdir().unwrap();
    let (_exporter, metrics) = exporter_with(
        &sim,
        dir.path(),
        "trunks:\n  - {name: many, refresh: 10m}\n",
        "many",
    )
    .await;
    let sent: Vec<_> = sim.requests()[before..]
        .iter()
        .filter(|r| r.path == TRUNKS || r.path == METRICS)
        .cloned()
        .collect();
    assert!(sent.iter().all(|r| r.status == 200), "{sent:?}");
    let count = |path: &str| sent.iter().filter(|r| r.path == path).count();
    assert_eq!((count(TRUNKS), count(METRICS)), (3, 3), "{sent:?}");
    assert_series_equal_the_answers(&metrics, "many", &trunks, &answers);
    assert_eq!(
        metrics.value(
            "genesys_exporter_query_requests_per_poll",
            &[("query", "many")]
        ),
        6.0
    );
}

/// Bad trunk sets exit 2 naming the file, the set and the field; a good one is priced
/// in the plan (before the listing: one page and one metrics batch a refresh).
#[test]
fn bad_trunk_sets_are_refused_naming_file_set_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let refused = [
        (
            "trunks:\n  - {name: t, refresh: 5s}\n",
            "trunk set \"t\"",
            "refresh",
            "10s minimum",
        ),
        (
            "trunks:\n  - {name: t, refresh: soon}\n",
            "trunk set \"t\"",
            "refresh",
            "not a duration",
        ),
        (
            "trunks:\n  - {refresh: 30s}\n",
            "trunks[0]",
            "name",
            "missing",
        ),
        (
            "trunks:\n  - {name: t, edge: e1}\n",
            "trunks[0]",
            "edge",
            "unknown key",
        ),
        (
            "observations:\n  - {name: t, source: agents}\ntrunks:\n  - {name: t}\n",
            "trunks[0]",
            "name",
            "already the name of observations[0]",
        ),
    ];
    for (yaml, set, field, hint) in refused {
        let (status, text) = common::config_check(dir.path(), yaml, &[]);
        let text = text.replace("\\\"", "\"");
        assert_eq!(status, 2, "{yaml}: {text}");
        assert!(text.contains("config.yaml"), "{text}");
        assert!(text.contains(set), "{yaml}: {text}");
        assert!(text.contains(field), "{yaml}: {text}");
        assert!(text.contains(hint), "{yaml}: {text}");
    }
    let (status, text) = common::config_check(
        dir.path(),
        "trunks:\n  - {name: trunks, refresh: 15s}\n",
        &[],
    );
    assert_eq!(status, 0, "{text}");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("trunks"))
        .unwrap_or_else(|| panic!("no plan line for trunks: {text}"));
    let columns: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(columns[1], "2", "{line}");
    assert_eq!(columns[4], "8.0", "{line}");
    assert!(line.ends_with("(observations)"), "{line}");
}

/// Trunk sets reload like the other sets: an added one starts, a removed one's series
/// and self-metrics go, an unchanged one keeps running untouched.
#[tokio::test(flavor = "multi_thread")]
async fn a_reload_adds_and_removes_trunk_sets() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    let write = |sets: &str| {
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, format!("trunks:\n{sets}")).unwrap();
        std::fs::rename(&temporary, &path).unwrap();
    };
    write("  - {name: stays, refresh: 10m}\n  - {name: goes, refresh: 10m}\n");
    let mut run = ExporterRun::against(&sim).arg("--config.file", path.to_string_lossy());
    run.args.push("--web.enable-lifecycle".into());
    let exporter = run.start();
    exporter.wait_ready().await;
    let before = exporter
        .scrape_until(|m| {
            ["stays", "goes"]
                .iter()
                .all(|q| !m.find("genesys_trunk_calls", &[("query", q)]).is_empty())
        })
        .await;
    let success = |m: &Metrics, q: &str| {
        m.value(
            "genesys_exporter_query_last_success_timestamp_seconds",
            &[("query", q)],
        )
    };
    let stays_at = success(&before, "stays");
    write("  - {name: stays, refresh: 10m}\n  - {name: arrives, refresh: 10m}\n");
    let response = reqwest::Client::new()
        .post(exporter.url("/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        "Reloaded: 1 unchanged, 0 changed, 1 added, 1 removed (queries and observation sets).\n"
    );
    let after = exporter
        .scrape_until(|m| {
            !m.find("genesys_trunk_connected", &[("query", "arrives")])
                .is_empty()
        })
        .await;
    assert!(
        after
            .find("genesys_trunk_connected", &[("query", "goes")])
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
}
