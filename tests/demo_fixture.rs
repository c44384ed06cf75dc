//! The demo's `/metrics` body, held against fixtures recorded before a refactoring, so
//! that moving code around cannot change what the exporter exports.
//!
//! Two halves, because the demo's body is partly a function of the time it runs at:
//! - the conversation families of the demo's query, for a fixed interval, through the
//!   real simulator, client, mapping and snapshot: byte for byte;
//! - the body of the real binary in demo mode, every line of it, with what the clock
//!   decides masked (sample values, the build's revision) and the conversation samples,
//!   whose label sets follow the time of day, left to the first half.
//!
//! `GENESYS_EXPORTER_RECORD_FIXTURES=1 cargo test --test demo_fixture` records them
//! again, for a change that means to change the output.

mod common;

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use common::ExporterRun;
use genesys_cloud_exporter::config::Config;
use genesys_cloud_exporter::genesys::auth::{CredentialSource, Credentials, Secret};
use genesys_cloud_exporter::genesys::bodies::AggregateResponse;
use genesys_cloud_exporter::genesys::names::NameDirectory;
use genesys_cloud_exporter::genesys::region::Endpoints;
use genesys_cloud_exporter::genesys::sources::SOURCES;
use genesys_cloud_exporter::genesys::{ClientSettings, GenesysClient};
use genesys_cloud_exporter::interval::latest_completed;
use genesys_cloud_exporter::mapping::{GroupMemory, map_response};
use genesys_cloud_exporter::simulator::{Simulator, SimulatorConfig};
use genesys_cloud_exporter::snapshot::SnapshotStore;
use genesys_cloud_exporter::telemetry::Telemetry;

/// A weekday afternoon, so every queue and media type of the demo org has traffic.
const FIXED_NOW: &str = "2026-11-25T14:05:00Z";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Compares `actual` with the fixture, or records it when asked to.
fn assert_matches_fixture(name: &str, actual: &str) {
    let path = fixture(name);
    if std::env::var_os("GENESYS_EXPORTER_RECORD_FIXTURES").is_some() {
        std::fs::create_dir_all(path.parent().expect("fixture directory")).unwrap();
        std::fs::write(&path, actual).expect("fixture written");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|err| {
        panic!(
            "cannot read {}: {err}; record it with GENESYS_EXPORTER_RECORD_FIXTURES=1",
            path.display()
        )
    });
    if expected != actual {
        let first_difference = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .find(|(_, (e, a))| e != a)
            .map(|(i, (e, a))| format!("line {}:\n  expected: {e}\n  actual:   {a}", i + 1))
            .unwrap_or_else(|| {
                format!(
                    "one is a prefix of the other ({} vs {} lines)",
                    expected.lines().count(),
                    actual.lines().count()
                )
            });
        panic!("{name} differs from its fixture; {first_difference}");
    }
}

/// The demo's built-in query, polled for a fixed interval: the conversation families,
/// exactly as the snapshot encodes them.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_query_encodes_as_recorded_for_a_fixed_interval() {
    let simulator = Simulator::start(SimulatorConfig::default(), ([127, 0, 0, 1], 0).into())
        .await
        .expect("simulator starts");
    let defaults = SimulatorConfig::default();
    let base = simulator.base_url();
    let endpoints = Endpoints::resolve("us_east_1", Some(&base), Some(&base)).unwrap();
    let credentials = Credentials {
        client_id: CredentialSource::Value(Secret::new(defaults.client_id)),
        client_secret: CredentialSource::Value(Secret::new(defaults.client_secret.clone())),
    };
    let settings = ClientSettings::new(endpoints, credentials, NonZeroU32::new(600).unwrap());
    let telemetry = Arc::new(Telemetry::new(600));
    let client = GenesysClient::new(settings, Arc::clone(&telemetry)).unwrap();
    let config = Config::builtin_default();
    let names = NameDirectory::new(
        config
            .queries
            .iter()
            .flat_map(|q| q.group_by.iter().map(String::as_str)),
        telemetry,
    );
    names.refresh(&client).await.expect("queue names");

    let now: DateTime<Utc> = FIXED_NOW.parse().unwrap();
    let store = SnapshotStore::new(
        config
            .queries
            .iter()
            .map(|q| (q.name.as_str(), q.granularity.to_string())),
    );
    for query in &config.queries {
        let interval =
            latest_completed(now, query.granularity, query.time_zone, query.settle_delay);
        let mut response = AggregateResponse::default();
        for request in query.requests(&interval) {
            let delivered = client
                .query_aggregates(query.source, &request)
                .await
                .expect("query");
            response.results.extend(delivered.value.results);
        }
        let mapped = map_response(
            query,
            &interval,
            &response,
            &names.current(),
            &mut GroupMemory::default(),
        );
        assert_eq!(mapped.warnings, 0);
        store.publish(&query.name, mapped.series);
    }
    let body = String::from_utf8(store.exposition().plain.concat()).expect("UTF-8");
    assert!(
        body.contains("genesys_conversation_offered{"),
        "the fixed interval has traffic: {body}"
    );
    simulator.shutdown().await;
    assert_matches_fixture("demo_conversations.prom", &body);
}

/// The real binary in demo mode: every family, its HELP and TYPE, and every sample of
/// the exporter's own metrics with its labels, in a stable order.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_body_has_the_recorded_shape() {
    let exporter = ExporterRun::demo().start();
    exporter.wait_ready().await;
    // Ready does not wait for the pushed sets: their subscription request and first
    // frame (series of the recorded shape) follow the start by a moment.
    let body = exporter
        .scrape_until(|metrics| {
            metrics
                .text
                .contains("endpoint=\"notification_subscriptions\",code=\"200\"")
                && metrics.text.contains("genesys_exporter_push_events_total{")
        })
        .await
        .text;
    assert_eq!(exporter.terminate().code(), Some(0));
    assert_matches_fixture("demo_body_masked.prom", &mask(&body));
}

/// What of an exposition does not depend on when it was taken: comments as they are,
/// samples with their values (and the build's revision, branch, toolchain and target) masked, sorted within their
/// family (families keep their order, series within a family follow a hash map's),
/// the samples of every aggregates source, of voice quality and of agents by
/// organization presence dropped (their label sets follow the time of day: the groups
/// with traffic in the interval polled, the presences somebody is in), the push frames by
/// kind too (which kinds arrived follows how long the demo ran), and so are the
/// HELP and TYPE of those sources' families of a longest, shortest or percentile, which
/// exist only while the interval holds a measurement (an abandon at night may not).
fn mask(body: &str) -> String {
    let mut aggregate_prefixes: Vec<String> = SOURCES.iter().map(|s| s.prefix()).collect();
    aggregate_prefixes.push("genesys_voice_".into());
    let measured_only = |line: &str| {
        let name = line.split(' ').nth(2).unwrap_or("");
        name == "genesys_voice_max_latency_seconds"
            || aggregate_prefixes
                .iter()
                .any(|p| name.starts_with(p.as_str()))
                && ["_max", "_min", "_p95", "_p99"]
                    .iter()
                    .any(|stat| name.ends_with(stat))
    };
    let mut out = String::new();
    let mut samples: Vec<String> = Vec::new();
    let flush = |samples: &mut Vec<String>, out: &mut String| {
        samples.sort();
        for sample in samples.drain(..) {
            out.push_str(&sample);
            out.push('\n');
        }
    };
    for line in body.lines() {
        if line.starts_with('#') {
            flush(&mut samples, &mut out);
            if measured_only(line) {
                continue;
            }
            out.push_str(line);
            out.push('\n');
            continue;
        }
        // Which kinds of push frames have arrived yet (events, a heartbeat every 30 s)
        // follows how long the demo ran before the scrape.
        let time_of_day = line.starts_with("genesys_agents_presence{")
            || line.starts_with("genesys_exporter_push_events_total{")
            || aggregate_prefixes
                .iter()
                .any(|p| line.starts_with(p.as_str()));
        if time_of_day {
            continue;
        }
        let series = line.rsplit_once(' ').map_or(line, |(series, _)| series);
        let mut series = series.to_string();
        for label in BUILD_LABELS {
            series = mask_label(&series, label);
        }
        samples.push(format!("{series} <value>"));
    }
    flush(&mut samples, &mut out);
    out
}

/// The labels of `build_info` that follow the checkout and the toolchain, not the code.
const BUILD_LABELS: [&str; 4] = ["revision", "branch", "rustversion", "target"];

/// `series` with the value of `label` replaced by `<masked>`, if it has that label.
fn mask_label(series: &str, label: &str) -> String {
    let key = format!("{label}=\"");
    let at = series
        .find(&format!(",{key}"))
        .map(|at| at + 1)
        .or_else(|| series.find(&format!("{{{key}")).map(|at| at + 1));
    match at {
        Some(at) => {
            let rest = &series[at + key.len()..];
            let end = rest.find('"').expect("closing quote");
            format!("{}{key}<masked>{}", &series[..at], &rest[end..])
        }
        None => series.to_string(),
    }
}

/// The masking itself: values and build details go, everything else stays.
#[test]
fn masking_keeps_names_and_labels_and_drops_values() {
    let body = "# TYPE a gauge\na{x=\"2\"} 3.5\na{x=\"1\"} 1\n\
                # TYPE genesys_conversation_offered gauge\n\
                genesys_conversation_offered{q=\"x\"} 4\n\
                # TYPE genesys_conversation_abandon_seconds_max gauge\n\
                genesys_conversation_abandon_seconds_max{q=\"x\"} 4\n\
                b{version=\"1\",revision=\"abc\",branch=\"x\",rustversion=\"1.0\",target=\"t\"} 1\n";
    assert_eq!(
        mask(body),
        "# TYPE a gauge\na{x=\"1\"} <value>\na{x=\"2\"} <value>\n\
         # TYPE genesys_conversation_offered gauge\n\
         b{version=\"1\",revision=\"<masked>\",branch=\"<masked>\",rustversion=\"<masked>\",target=\"<masked>\"} <value>\n"
    );
}
